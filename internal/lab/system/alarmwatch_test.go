package system

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/internal/mgmt"
)

// quickDown is alarms.AssociationDown without its clear hold, so a test
// sees the clear at once.
var quickDown = func() *alarms.Definition {
	d := *alarms.AssociationDown
	d.Debounce = alarms.Debounce{}
	return &d
}()

func newAPI(t *testing.T) (*alarms.Manager, *httptest.Server) {
	t.Helper()
	inv := []*alarms.Definition{quickDown}
	m, err := alarms.NewManager(alarms.Config{SystemID: "test", Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	srv := httptest.NewServer(mgmt.New(mgmt.Config{Alarms: m, Heartbeat: 50 * time.Millisecond}).Handler())
	t.Cleanup(srv.Close)
	return m, srv
}

func waitEvents(t *testing.T, l *AlarmLog, n int) []AlarmEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ev := l.Events(); len(ev) >= n {
			return ev
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("want %d alarm events; got %v", n, l.Events())
	return nil
}

func TestAlarmWatcherRaiseAndClear(t *testing.T) {
	m, srv := newAPI(t)
	// One alarm is active before the watcher connects: it must show as
	// "active" from the list.
	if err := m.Raise(alarms.Report{Def: quickDown, Object: "sgw=gw1,assoc=old", AdditionalText: "before"}); err != nil {
		t.Fatal(err)
	}
	var printed strings.Builder
	log := NewAlarmLog(&printed)
	w := &AlarmWatcher{Source: "gw1", Base: srv.URL, Start: time.Now(), Emit: log.Add}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	ev := waitEvents(t, log, 1)
	if ev[0].Kind != "active" || ev[0].Object != "sgw=gw1,assoc=old" {
		t.Fatalf("first event %+v; want the active alarm on assoc=old", ev[0])
	}
	if err := m.Raise(alarms.Report{Def: quickDown, Object: "sgw=gw1,assoc=asp1"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Clear(quickDown, "sgw=gw1,assoc=asp1"); err != nil {
		t.Fatal(err)
	}
	ev = waitEvents(t, log, 3)
	if ev[1].Kind != "raised" || ev[2].Kind != "cleared" || ev[1].Object != "sgw=gw1,assoc=asp1" || ev[2].Object != ev[1].Object {
		t.Fatalf("events %+v; want raised then cleared on assoc=asp1", ev)
	}
	if ev[1].Name != "association-down" || ev[1].Severity != "MAJOR" || ev[1].Source != "gw1" {
		t.Errorf("raised event %+v: want association-down, MAJOR, from gw1", ev[1])
	}
	rc := RaisedAndCleared(ev, 0, time.Hour)
	if len(rc) != 1 || !rc["gw1 association-down sgw=gw1,assoc=asp1"] {
		t.Errorf("raised and cleared %v; want assoc=asp1 raised and cleared", rc)
	}
	if !strings.Contains(printed.String(), "ALARM cleared") {
		t.Errorf("printed lines %q lack the clear", printed.String())
	}
}

func TestAlarmWatcherReconnects(t *testing.T) {
	m, srv := newAPI(t)
	log := NewAlarmLog(nil)
	w := &AlarmWatcher{Source: "gw2", Base: srv.URL, Start: time.Now(), Emit: log.Add, Retry: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for w.Connections() < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Drop every open stream: the watcher must come back and list again.
	srv.CloseClientConnections()
	if err := m.Raise(alarms.Report{Def: quickDown, Object: "sgw=gw2,assoc=x"}); err != nil {
		t.Fatal(err)
	}
	ev := waitEvents(t, log, 1)
	for time.Now().Before(deadline) && w.Connections() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	if w.Connections() < 2 {
		t.Fatalf("watcher connected %d times after its stream was cut; want a reconnection", w.Connections())
	}
	if ev[0].Object != "sgw=gw2,assoc=x" || (ev[0].Kind != "raised" && ev[0].Kind != "active") {
		t.Errorf("event %+v; want the alarm on assoc=x, raised or listed", ev[0])
	}
}

func TestReadSSE(t *testing.T) {
	in := ": subscribed\n\nid: 1\nevent: notifyNewAlarm\ndata: {\"a\":\ndata: 1}\n\n: keep-alive\n\nevent: error\ndata: x\n\n"
	var got []string
	err := readSSE(strings.NewReader(in), func(ev, data string) error {
		got = append(got, ev+"|"+data)
		return nil
	})
	if err == nil {
		t.Error("readSSE returned nil at the end of the stream; want io.EOF")
	}
	want := []string{"notifyNewAlarm|{\"a\":\n1}", "error|x"}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("events %q; want %q", got, want)
	}
}

func TestAlarmTimeline(t *testing.T) {
	ev := []AlarmEvent{
		{At: 1 * time.Second, Source: "gw1", Kind: "raised", Name: "path-down", Object: "p", Severity: "MINOR"},
		{At: 9 * time.Second, Source: "gw1", Kind: "raised", Name: "association-down", Object: "a", Severity: "MAJOR"},
		{At: 9500 * time.Millisecond, Source: "gw2", Kind: "raised", Name: "asp-down", Object: "b", Severity: "MAJOR"},
		{At: 21 * time.Second, Source: "gw1", Kind: "cleared", Name: "association-down", Object: "a", Severity: "MAJOR"},
	}
	got := AlarmTimeline(ev, 8*time.Second, 20*time.Second)
	if len(got) != 2 {
		t.Fatalf("timeline %q; want the two alarms raised in [8s, 20s)", got)
	}
	if got[0] != "gw1 MAJOR    association-down on a: raised +1.000s, cleared +13.000s" {
		t.Errorf("first line %q", got[0])
	}
	if !strings.HasSuffix(got[1], "not cleared") {
		t.Errorf("second line %q; want not cleared", got[1])
	}
	if none := AlarmTimeline(ev, 30*time.Second, 40*time.Second); len(none) != 1 || none[0] != "no alarm raised" {
		t.Errorf("empty window gives %q", none)
	}
}

// A daemon that restarts loses its alarms: the watcher, listing again on
// reconnection, reports those it had seen active as gone.
func TestAlarmWatcherGoneAfterRestart(t *testing.T) {
	m1, err := alarms.NewManager(alarms.Config{SystemID: "a", Inventory: []*alarms.Definition{quickDown}})
	if err != nil {
		t.Fatal(err)
	}
	defer m1.Close()
	m2, err := alarms.NewManager(alarms.Config{SystemID: "b", Inventory: []*alarms.Definition{quickDown}})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	var cur atomic.Pointer[http.Handler]
	h1 := mgmt.New(mgmt.Config{Alarms: m1, Heartbeat: 50 * time.Millisecond}).Handler()
	h2 := mgmt.New(mgmt.Config{Alarms: m2, Heartbeat: 50 * time.Millisecond}).Handler()
	cur.Store(&h1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*cur.Load()).ServeHTTP(w, r) }))
	defer srv.Close()
	m1.Raise(alarms.Report{Def: quickDown, Object: "sgw=gw2,assoc=x"})

	log := NewAlarmLog(nil)
	w := &AlarmWatcher{Source: "gw2", Base: srv.URL, Start: time.Now(), Emit: log.Add, Retry: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitEvents(t, log, 1)
	cur.Store(&h2) // the "restarted" daemon holds no alarm
	srv.CloseClientConnections()
	ev := waitEvents(t, log, 2)
	if ev[1].Kind != "gone" || ev[1].Object != "sgw=gw2,assoc=x" {
		t.Fatalf("events %+v; want the alarm gone after the restart", ev)
	}
	if rc := RaisedAndCleared([]AlarmEvent{{Kind: "raised", Source: "gw2", Name: "n", Object: "o"}, {Kind: "gone", Source: "gw2", Name: "n", Object: "o"}}, 0, time.Hour); !rc["gw2 n o"] {
		t.Errorf("an alarm gone with its daemon counts as not cleared: %v", rc)
	}
}
