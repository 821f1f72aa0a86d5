//go:build lab && linux

package enrp

import (
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// The registrar cluster over kernel SCTP in the lab:
//
//	bin/siglab test ./enrp -- -test.run '^TestLab' -test.v
//
// Three netlab hosts, each on networks A and B, each running one of our
// registrars (multihomed ENRP and ASAP endpoints) and one pool element that
// registers with the registrar of its own host. The tests never skip:
// without root, namespaces or sctp.ko they fail saying so.

func labTopology(t *testing.T, n int) *netlab.Topology {
	t.Helper()
	topo, err := netlab.New(n)
	if err != nil {
		t.Fatalf("netlab.New(%d): %v (the lab tests need root, network namespaces, veth, bridges and sctp.ko: run them with bin/siglab test)", n, err)
	}
	t.Cleanup(func() { topo.Close() })
	return topo
}

// labKernel: RFC 4960's SCTP timers, as the software-emulated VM can stall
// longer than the telecom profile's 150 ms RTO.max; the registrars' own
// timers keep their telecom defaults.
var labKernel = sctp.Kernel{Config: sctp.Config{Tuning: sctp.RFC}}

// TestLabClusterTakeover: three registrars converge (equal checksums for
// every home, every element everywhere); registrar 1 crashes (its
// associations aborted, as when the process is killed); its element is
// taken over by a survivor, which both survivors agree on, and the element
// itself accepts the new home. The time from the crash to a live home
// again is printed and must stay within the 2 s bound.
// labCluster starts one registrar and one pool element (registered with
// the registrar of its host, reachable for takeovers on port 3864) on each
// of the topology's first n hosts; registrar i dials registrars 1..i-1.
func labCluster(t *testing.T, topo *netlab.Topology, n int) (ids []uint32, regs map[uint32]*Driver, pes map[uint32]*events) {
	t.Helper()
	for i := 1; i <= n; i++ {
		ids = append(ids, uint32(i))
	}
	regs = map[uint32]*Driver{}
	for _, id := range ids {
		h := topo.Host(int(id))
		var peers []sctp.Addr
		for _, p := range ids {
			if p < id {
				peers = append(peers, labsctp.Addr(topo.Host(int(p)), Port))
			}
		}
		d, err := NewDriver(DriverConfig{Transport: labsctp.Transport{Host: h, Kernel: labKernel},
			ASAPAddr: labsctp.Addr(h, rserpool.Port), ENRPAddr: labsctp.Addr(h, Port), LocalAddr: labsctp.Addr(h, 0)},
			Config{ServerID: id, ENRPTransport: tr(labsctp.Addr(h, Port)), Peers: peers, MentorHunt: time.Second})
		if err != nil {
			t.Fatalf("registrar %d on %v: %v", id, h, err)
		}
		id := id
		t0 := time.Now()
		d.cfg.OnEvent = func(e Event) {
			switch e.(type) {
			case PeerUp, PeerDead, TakeoverDone, ResyncStarted, Synchronized, Removed, MentorFound:
				t.Logf("%7.3fs registrar %d: %s", time.Since(t0).Seconds(), id, fmtEvent(e))
			}
		}
		d.Start()
		regs[id] = d
		t.Cleanup(func() { d.Close(false) })
	}
	pes = map[uint32]*events{}
	for _, id := range ids {
		h := topo.Host(int(id))
		ev := &events{}
		pes[id] = ev
		nt := labsctp.Transport{Host: h, Kernel: labKernel}
		peASAP := labsctp.Addr(h, 3864)
		ln, err := nt.Listen(peASAP)
		if err != nil {
			t.Fatal(err)
		}
		asapT := tr(peASAP)
		pe := rserpool.NewPEDriver(rserpool.DriverConfig{Transport: nt, OnEvent: func(e rserpool.Event) { ev.add(e) }},
			rserpool.PEConfig{
				PoolHandle: []byte("AS-lab"),
				Element: rserpool.PoolElement{ID: 100 + id, UserTransport: tr(labsctp.Addr(h, 2905)),
					Policy: rserpool.Policy{Type: rserpool.RoundRobin}, ASAPTransport: &asapT},
				Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{labsctp.Addr(h, rserpool.Port)}},
			}, ln)
		pe.Start()
		t.Cleanup(pe.Close)
	}
	return ids, regs, pes
}

// converged reports whether the live registrars agree: the same checksum
// for every home and the same home for every element, want elements each.
func converged(regs map[uint32]*Driver, ids, live []uint32, want int) bool {
	var first view
	for i, id := range live {
		v, ok := snapshot(regs[id], ids)
		if !ok || len(v.homes) != want {
			return false
		}
		if i == 0 {
			first = v
			continue
		}
		for k, s := range first.sums {
			if v.sums[k] != s {
				return false
			}
		}
		for k, h := range first.homes {
			if v.homes[k] != h {
				return false
			}
		}
	}
	return true
}

func TestLabClusterTakeover(t *testing.T) {
	topo := labTopology(t, 3)
	ids, regs, pes := labCluster(t, topo, 3)
	converged := func(live []uint32) bool { return converged(regs, ids, live, 3) }
	start := time.Now()
	labEventually(t, "three registrars to converge", func() bool { return converged(ids) })
	v, _ := snapshot(regs[2], ids)
	t.Logf("converged %v after the start: checksums %v, homes %v", time.Since(start).Round(time.Millisecond), v.sums, v.homes)

	start = time.Now()
	regs[1].Close(true)
	labEventually(t, "element 101 to be taken over by both survivors", func() bool {
		if !converged([]uint32{2, 3}) {
			return false
		}
		v, _ := snapshot(regs[2], ids)
		return v.homes[101] == 2 || v.homes[101] == 3
	})
	taken := time.Since(start)
	labEventually(t, "PE 101 to accept its new home", func() bool {
		return pes[1].find(func(x any) bool { h, ok := x.(rserpool.HomeChanged); return ok && h.ServerID != 1 })
	})
	live := time.Since(start)
	v, _ = snapshot(regs[3], ids)
	t.Logf("registrar 1 crashed: its element taken over by registrar %d after %v, the element's home changed after %v",
		v.homes[101], taken.Round(time.Millisecond), live.Round(time.Millisecond))
	// The bound: a live home again within 2 s on a LAN. Measured
	// in the emulated VM: about 0.55 s (the 300 ms max-time-no-response
	// after the association abort, then one ENRP and one ASAP round trip).
	if live > 2*time.Second {
		t.Errorf("the element had a live home again only after %v", live)
	}
	if len(v.homes) != 3 {
		t.Errorf("a survivor lost an element: %v", v.homes)
	}
}

func labEventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 90 s waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLabPartitionHeal: registrar 3's host is cut off from both networks
// (its processes keep running); the others declare it dead and take its
// element over (then lose it: the element is on the cut-off host too),
// while registrar 3 keeps it. When the host rejoins, the checksums of the
// presences differ, the registrars resynchronise and all handlespaces
// converge again, each element with its own home.
func TestLabPartitionHeal(t *testing.T) {
	topo := labTopology(t, 3)
	ids, regs, _ := labCluster(t, topo, 3)
	labEventually(t, "three registrars to converge", func() bool { return converged(regs, ids, ids, 3) })
	if err := topo.Isolate(3); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	labEventually(t, "registrars 1 and 2 to drop registrar 3", func() bool {
		dropped := true
		for _, id := range []uint32{1, 2} {
			regs[id].Do(func(r *Registrar) {
				for _, p := range r.Peers() {
					if p == 3 {
						dropped = false
					}
				}
			})
		}
		return dropped
	})
	t.Logf("registrar 3 cut off: declared dead after %v", time.Since(start).Round(time.Millisecond))
	time.Sleep(3 * time.Second) // keep-alive bound: the taken-over element is gone
	if err := topo.Rejoin(3); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	labEventually(t, "the three handlespaces to converge after the heal", func() bool {
		if !converged(regs, ids, ids, 3) {
			return false
		}
		v, _ := snapshot(regs[1], ids)
		return v.homes[101] == 1 && v.homes[102] == 2 && v.homes[103] == 3
	})
	v, _ := snapshot(regs[1], ids)
	t.Logf("healed: converged %v after the rejoin, checksums %v", time.Since(start).Round(time.Millisecond), v.sums)
}

// TestLabElementDies: a pool element whose host fails is removed from
// every handlespace within the endpoint keep-alive bound (interval +
// timeout, 2 s by default); the time is printed.
func TestLabElementDies(t *testing.T) {
	topo := labTopology(t, 3)
	ids, regs, _ := labCluster(t, topo, 2)
	// One more element, on host 3, registered with registrar 1.
	h := topo.Host(3)
	nt := labsctp.Transport{Host: h, Kernel: labKernel}
	pe := rserpool.NewPEDriver(rserpool.DriverConfig{Transport: nt}, rserpool.PEConfig{
		PoolHandle: []byte("AS-lab"),
		Element:    rserpool.PoolElement{ID: 300, UserTransport: tr(labsctp.Addr(h, 2905)), Policy: rserpool.Policy{Type: rserpool.RoundRobin}},
		Hunt:       rserpool.HuntConfig{Registrars: []sctp.Addr{labsctp.Addr(topo.Host(1), rserpool.Port)}},
	}, nil)
	pe.Start()
	t.Cleanup(pe.Close)
	labEventually(t, "both registrars to hold three elements", func() bool { return converged(regs, ids, ids, 3) })
	if err := topo.Isolate(3); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	labEventually(t, "element 300 to leave both handlespaces", func() bool {
		gone := true
		for _, id := range ids {
			v, _ := snapshot(regs[id], ids)
			if _, ok := v.homes[300]; ok {
				gone = false
			}
		}
		return gone
	})
	took := time.Since(start)
	t.Logf("element 300's host failed: removed from every handlespace after %v (bound: keep-alive 1 s + timeout 1 s)", took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("removal took %v, beyond the keep-alive bound of 2 s (+1 s for the emulated VM)", took)
	}
}
