package main

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/alarms/metrics"
	"github.com/sigpool/sigpool/gateway"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

// names lists the association set's names.
func names(set *metrics.Associations) []string {
	var n []string
	for _, s := range set.Snapshot() {
		n = append(n, s.Name)
	}
	return n
}

// waitNames waits until the set holds exactly the names with the prefixes
// given (in name order).
func waitNames(t *testing.T, set *metrics.Associations, prefixes ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := names(set)
		ok := len(n) == len(prefixes)
		for i := 0; ok && i < len(n); i++ {
			ok = strings.HasPrefix(n[i], prefixes[i])
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("associations %q, want prefixes %q", n, prefixes)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The associations the gateway accepts on each side and at its registrar
// join the daemon's set under their role and leave it when they end.
func TestAssociationsJoinAndLeaveTheSet(t *testing.T) {
	c, err := gateway.ParseConfig("t.yaml", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	net := sctptest.NewNetwork()
	set := metrics.NewAssociations()
	g, err := gateway.New(c, gateway.Options{Transport: newTracked(net, set, roles(c))})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	dial := func(ip string, port uint16) sctp.Association {
		t.Helper()
		a, err := net.Dial(context.Background(), sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr(ip)}},
			sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.1.0.1")}, Port: port})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	stp := dial("10.1.0.7", 2905)
	asp := dial("10.1.0.8", 2906)
	pe := dial("10.1.0.9", 3863)
	defer asp.Close()
	defer pe.Close()
	waitNames(t, set, "asap/10.1.0.9:", "network/10.1.0.7:", "servers/10.1.0.8:")
	if err := stp.Close(); err != nil {
		t.Fatal(err)
	}
	waitNames(t, set, "asap/10.1.0.9:", "servers/10.1.0.8:")
	g.Close()
	waitNames(t, set)
}

type fakeClock struct{ *sctptest.FakeClock }

func (c fakeClock) AfterFunc(d time.Duration, f func()) alarms.Timer {
	return c.FakeClock.AfterFunc(d, f)
}

// A path of an association the gateway holds raises path-down on the
// gateway, named after the association, and clears when the path is
// back; the end of the association clears what is left.
func TestAssociationPathAlarms(t *testing.T) {
	c, err := gateway.ParseConfig("t.yaml", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	clk := fakeClock{sctptest.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	am, err := alarms.NewManager(alarms.Config{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer am.Close()
	net := sctptest.NewNetwork()
	tr := newTracked(net, metrics.NewAssociations(), roles(c))
	tr.monitor = pathAlarms(am, metrics.New(), zap.NewNop(), "sgw=1")
	g, err := gateway.New(c, gateway.Options{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	a, b := netip.MustParseAddr("10.1.0.7"), netip.MustParseAddr("10.2.0.7")
	stp, err := net.Dial(context.Background(), sctp.Addr{IPs: []netip.Addr{a, b}},
		sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.1.0.1")}, Port: 2905})
	if err != nil {
		t.Fatal(err)
	}
	obj := "sgw=1,assoc=network/" + stp.LocalAddr().String() + ",path=10.2.0.7"
	// wait polls the active path-down alarms until they are want; with
	// none wanted it moves the alarm clock past the clear hold each time
	// (the event may reach the gateway's reader after a move).
	wait := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			var got []string
			for _, x := range am.Alarms(alarms.Filter{}) {
				if x.Name == "path-down" {
					got = append(got, x.Object)
				}
			}
			if strings.Join(got, " ") == strings.Join(want, " ") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("path-down on %q; want %q", got, want)
			}
			time.Sleep(5 * time.Millisecond)
			if len(want) == 0 {
				clk.Advance(alarms.PathDown.Debounce.ClearAfter)
			}
		}
	}
	net.FailPath(b)
	wait(obj)
	net.RestorePath(b)
	wait()
	// down again, then the association ends: nothing stays raised
	net.FailPath(b)
	wait(obj)
	if err := stp.Close(); err != nil {
		t.Fatal(err)
	}
	wait()
}
