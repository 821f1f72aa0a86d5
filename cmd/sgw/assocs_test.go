package main

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

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
