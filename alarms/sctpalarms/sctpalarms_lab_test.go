//go:build lab && linux

package sctpalarms

// Over kernel SCTP in the lab (never skipped; without root, namespaces or
// sctp.ko it fails saying so):
//
//	go build -o bin/siglab ./cmd/siglab && bin/siglab test ./alarms/... -- -test.run '^TestLab' -test.v

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/alarms/metrics"
	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/mgmt"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// getJSON fetches a management API path into out.
func getJSON(t *testing.T, base, path string, out any) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// TestLabPathDownAlarm: a gateway on host 1 accepts a multihomed
// association from host 2 (both on networks A and B). Cutting host 1 off
// network A raises path-down on the path to host 2's address on A, as the
// management API (in-process, over HTTP) shows, with the path inactive in
// the association list; reconnecting it clears the alarm. The association
// itself stays up throughout.
func TestLabPathDownAlarm(t *testing.T) {
	topo, err := netlab.New(2)
	if err != nil {
		t.Fatalf("netlab.New(2): %v (the lab tests need root, network namespaces, veth, bridges and sctp.ko: run them with bin/siglab test)", err)
	}
	t.Cleanup(func() { topo.Close() })
	gw, peer := topo.Host(1), topo.Host(2)

	// Telecom timers, with room for an emulated VM's stalls.
	tuning := sctp.Telecom
	tuning.Name = "lab"
	tuning.RTOMax = 500 * time.Millisecond
	tuning.HeartbeatInterval = 200 * time.Millisecond
	k := sctp.Kernel{Config: sctp.Config{Tuning: tuning}}

	var ln sctp.Listener
	if err := gw.Do(func() (err error) { ln, err = k.Listen(labsctp.Addr(gw, 2905)); return err }); err != nil {
		t.Fatalf("listen on %v: %v (is sctp.ko loaded?)", labsctp.Addr(gw, 2905), err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan sctp.Association, 1)
	go func() {
		a, err := ln.Accept()
		if err != nil {
			t.Errorf("accept: %v", err)
			close(accepted)
			return
		}
		accepted <- a
	}()
	var dialed sctp.Association
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := peer.Do(func() (err error) {
		dialed, err = k.Dial(ctx, labsctp.Addr(peer, 0), labsctp.Addr(gw, 2905))
		return err
	}); err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { dialed.Abort() })
	raw, ok := <-accepted
	if !ok {
		t.FailNow()
	}
	t.Cleanup(func() { raw.Abort() })

	// The gateway's side: alarm manager, monitor, management API.
	m, err := alarms.NewManager(alarms.Config{SystemID: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	set := metrics.New()
	mon, err := New(Config{Alarms: m, Object: "sgw=lab,assoc=h2", Metrics: set})
	if err != nil {
		t.Fatal(err)
	}
	assoc := Wrap(raw, mon)
	assocs := metrics.NewAssociations()
	assocs.Add("h2", assoc)
	reg := prometheus.NewRegistry()
	set.Register(reg)
	srv := mgmt.New(mgmt.Config{System: "sgw=lab", Alarms: m, Gatherer: reg, Associations: mgmt.AssociationsOf(assocs)})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	// The reader the gateway's driver would run; the peer drains too.
	events := make(chan sctp.Event, 64)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, sctp.MaxMessage)
		for {
			_, ev, err := assoc.Recv(buf)
			if err != nil {
				if !errors.Is(err, sctp.ErrClosed) {
					t.Logf("gateway recv: %v", err)
				}
				return
			}
			if ev != nil {
				t.Logf("gateway: event %v", ev)
				select {
				case events <- *ev:
				default:
				}
			}
		}
	}()
	go func() {
		buf := make([]byte, sctp.MaxMessage)
		for {
			if _, _, err := dialed.Recv(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { raw.Abort(); <-readerDone })

	pathObj := "sgw=lab,assoc=h2,path=" + peer.Addr(netlab.NetA).String()
	query := "/api/fm/v1/alarms?alarmName=path-down&baseObjectInstance=" + url.QueryEscape(pathObj)
	// waitFor polls the API until cond holds; the deadline only guards
	// against a hang (the kernel detects a dead path in well under a
	// second, and the alarm clears 10 s after the path is back).
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	pathAlarm := func() *alarms.Alarm {
		var list map[string]alarms.Alarm
		getJSON(t, ts.URL, query, &list)
		for _, a := range list {
			return &a
		}
		return nil
	}
	if a := pathAlarm(); a != nil {
		t.Fatalf("path-down before any fault: %+v", a)
	}

	if err := topo.LinkDown(1, netlab.NetA); err != nil {
		t.Fatal(err)
	}
	t.Logf("network A of host 1 cut")
	waitFor("path-down "+pathObj, func() bool { return pathAlarm() != nil })
	a := pathAlarm()
	t.Logf("raised: %s %s %s %q", a.Severity, a.Name, a.Object, a.AdditionalText)
	if a.Severity != alarms.Minor || a.AdditionalInformation["peerAddress"] != peer.Addr(netlab.NetA).String() {
		t.Fatalf("%+v", a)
	}
	var list []mgmt.Association
	getJSON(t, ts.URL, "/api/v1/associations", &list)
	if len(list) != 1 || list[0].State != "established" {
		t.Fatalf("associations: %+v", list)
	}
	for _, p := range list[0].Paths {
		t.Logf("path %s: %s", p.Address, p.State)
		if p.Address == peer.Addr(netlab.NetA).String() && p.State == "active" {
			t.Errorf("path %s still active with network A cut", p.Address)
		}
	}
	var down map[string]alarms.Alarm
	getJSON(t, ts.URL, "/api/fm/v1/alarms?alarmName=association-down", &down)
	if len(down) != 0 {
		t.Fatalf("association-down with network B up: %+v", down)
	}

	if err := topo.LinkUp(1, netlab.NetA); err != nil {
		t.Fatal(err)
	}
	t.Logf("network A of host 1 reconnected")
	waitFor("path-down to clear", func() bool { return pathAlarm() == nil })
	var cleared map[string]alarms.Alarm
	getJSON(t, ts.URL, query+"&cleared=true", &cleared)
	if len(cleared) != 1 {
		t.Fatalf("history: %+v", cleared)
	}
	for _, c := range cleared {
		t.Logf("cleared: %s %s raised %s cleared %s", c.Name, c.Object, c.RaisedTime.Format(time.RFC3339Nano), c.ClearedTime.Format(time.RFC3339Nano))
	}
}
