//go:build lab && linux

package netlab

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// netemOn returns the root netem qdiscs of host's veth pair on network n:
// first the host end, then the switch end.
func netemOn(t *testing.T, topo *Topology, host int, n Net) (hostEnd, switchEnd []*netlink.Netem) {
	t.Helper()
	collect := func(h *netlink.Handle, name string) []*netlink.Netem {
		l, err := h.LinkByName(name)
		if err != nil {
			t.Fatalf("link %s: %v", name, err)
		}
		qs, err := h.QdiscList(l)
		if err != nil {
			t.Fatalf("qdiscs of %s: %v", name, err)
		}
		var out []*netlink.Netem
		for _, q := range qs {
			if ne, ok := q.(*netlink.Netem); ok && q.Attrs().Parent == netlink.HANDLE_ROOT {
				out = append(out, ne)
			}
		}
		return out
	}
	topo.mu.Lock()
	defer topo.mu.Unlock()
	return collect(topo.Host(host).nl, n.Iface()), collect(topo.swNL, switchPort(host, n))
}

// minRTT is the smallest of a few echo round trips, each allowed a
// generous timeout because the VM runs under software emulation.
func minRTT(t *testing.T, from *Host, dst netip.AddrPort) time.Duration {
	t.Helper()
	best := time.Duration(-1)
	for range 3 {
		start := time.Now()
		if err := echo(from, dst, 10*time.Second); err != nil {
			t.Fatalf("%s -> %v: %v", from, dst, err)
		}
		if d := time.Since(start); best < 0 || d < best {
			best = d
		}
	}
	return best
}

// TestLabImpairment needs a kernel with sch_netem (the lab VM). It must
// not be skipped there: a missing module is a failure of the lab image.
func TestLabImpairment(t *testing.T) {
	topo := newTopology(t, 2)
	h1, h2 := topo.Host(1), topo.Host(2)
	dstA := echoServer(t, h1, h1.A)
	dstB := echoServer(t, h1, h1.B)
	reachable(t, h2, dstA)
	reachable(t, h2, dstB)

	// Delay: one-way on each end, so a round trip takes at least twice.
	const delay = 100 * time.Millisecond
	if err := topo.SetImpairment(1, NetA, Impairment{Delay: delay}); err != nil {
		t.Fatalf("SetImpairment (the lab kernel must provide sch_netem): %v", err)
	}
	he, se := netemOn(t, topo, 1, NetA)
	if len(he) != 1 || len(se) != 1 {
		t.Fatalf("netem qdiscs: host end %d, switch end %d; want 1 and 1", len(he), len(se))
	}
	if he[0].Latency == 0 || se[0].Latency == 0 || he[0].Loss != 0 {
		t.Fatalf("netem parameters: host end %v, switch end %v", he[0], se[0])
	}
	if rtt := minRTT(t, h2, dstA); rtt < 2*delay {
		t.Fatalf("round trip on A with %v one-way delay took %v, want at least %v", delay, rtt, 2*delay)
	}
	reachable(t, h2, dstB) // the other network is untouched
	if he, se := netemOn(t, topo, 1, NetB); len(he)+len(se) != 0 {
		t.Fatalf("netem found on network B")
	}

	// Replace, not add: total loss on A, B still fine.
	if err := topo.SetImpairment(1, NetA, Impairment{Loss: 100}); err != nil {
		t.Fatal(err)
	}
	if he, se := netemOn(t, topo, 1, NetA); len(he) != 1 || len(se) != 1 || he[0].Loss == 0 || he[0].Latency != 0 {
		t.Fatalf("after replace: host end %v, switch end %v", he, se)
	}
	unreachable(t, h2, dstA)
	reachable(t, h2, dstB)

	// Jitter is accepted together with delay and partial loss.
	if err := topo.SetImpairment(1, NetA, Impairment{Loss: 0.5, Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if he, _ := netemOn(t, topo, 1, NetA); len(he) != 1 || he[0].Jitter == 0 || he[0].Loss == 0 {
		t.Fatalf("jitter and loss not set: %v", he)
	}

	for i := range 2 { // clearing twice is fine
		if err := topo.ClearImpairment(1, NetA); err != nil {
			t.Fatalf("ClearImpairment #%d: %v", i+1, err)
		}
	}
	if he, se := netemOn(t, topo, 1, NetA); len(he)+len(se) != 0 {
		t.Fatalf("netem left after ClearImpairment: %v %v", he, se)
	}
	reachable(t, h2, dstA)
}
