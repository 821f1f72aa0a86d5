//go:build lab

package system

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/mgmt"
)

// TestLabAlarmWatcherInNamespace follows a management API that listens on
// a netlab host's loopback, as the daemons of the scenario do: the watcher
// reaches it only through that host's namespace, keeps following it while
// the host's network A is down, and sees a raise and a clear.
func TestLabAlarmWatcherInNamespace(t *testing.T) {
	topo, err := netlab.New(1, netlab.WithPrefix("sysw"))
	if err != nil {
		t.Fatal(err)
	}
	defer topo.Close()
	h := topo.Host(1)
	m, err := alarms.NewManager(alarms.Config{SystemID: "gw1", Inventory: []*alarms.Definition{quickDown}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var ln net.Listener
	if err := h.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", mgmtAddr(0))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mgmt.New(mgmt.Config{Alarms: m}).Handler()}
	go srv.Serve(ln)
	defer srv.Close()

	// The harness's own namespace has no such listener.
	if c, err := net.DialTimeout("tcp", mgmtAddr(0), time.Second); err == nil {
		c.Close()
		t.Fatalf("%s answered outside the host's namespace; the test proves nothing", mgmtAddr(0))
	}
	d := &daemon{name: "gw1", host: h, mgmt: mgmtAddr(0)}
	log := NewAlarmLog(nil)
	w := &AlarmWatcher{Source: "gw1", Base: "http://" + d.mgmt, Dial: d.dial, Start: time.Now(), Emit: log.Add}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(20 * time.Second)
	for w.Connections() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if w.Connections() == 0 {
		t.Fatalf("watcher never connected: %v", w.Err())
	}
	if err := topo.LinkDown(1, netlab.NetA); err != nil {
		t.Fatal(err)
	}
	m.Raise(alarms.Report{Def: quickDown, Object: "sgw=gw1,assoc=x"})
	m.Clear(quickDown, "sgw=gw1,assoc=x")
	ev := waitEvents(t, log, 2)
	if ev[0].Kind != "raised" || ev[1].Kind != "cleared" {
		t.Errorf("events %v; want raised, cleared", ev)
	}
	if err := d.get(ctx, "/livez", nil); err != nil {
		t.Errorf("livez through the namespace: %v", err)
	}
}
