//go:build lab && linux

package m3ua

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// The drivers over kernel SCTP in the lab: an SGP on host 1 and two ASPs on
// hosts 2 and 3 of a netlab topology, every host on networks A and B, every
// association multihomed over both. The tests assert behaviour (states,
// every DATA delivered once, in order per SLS), never timings: the lab host
// is shared.

type labNet struct {
	topo *netlab.Topology
	sgp  *netlab.Host
	asps []*netlab.Host
}

func newLabNet(t *testing.T) *labNet {
	t.Helper()
	topo, err := netlab.New(3)
	if err != nil {
		t.Fatalf("netlab.New(3): %v (the lab tests need root, network namespaces, veth, bridges and sctp.ko: run them with bin/siglab test)", err)
	}
	t.Cleanup(func() { topo.Close() })
	return &labNet{topo: topo, sgp: topo.Host(1), asps: []*netlab.Host{topo.Host(2), topo.Host(3)}}
}

func (n *labNet) server(t *testing.T, port uint16, cfg ServerConfig) *Server {
	t.Helper()
	ln, err := labsctp.Transport{Host: n.sgp}.Listen(labsctp.Addr(n.sgp, port))
	if err != nil {
		t.Fatalf("SGP listen on %s: %v (is sctp.ko loaded?)", labsctp.Addr(n.sgp, port), err)
	}
	srv := NewServer(cfg)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return srv
}

func (n *labNet) client(t *testing.T, i int, port uint16, asp ASPConfig, h Handlers) *Client {
	t.Helper()
	host := n.asps[i]
	return startClient(t, ClientConfig{
		ASP: asp, Transport: labsctp.Transport{Host: host}, Local: labsctp.Addr(host, 0),
		SGPs: []sctp.Addr{labsctp.Addr(n.sgp, port)}, Handlers: h,
		Backoff: Backoff{Initial: 50 * time.Millisecond, Max: time.Second},
	})
}

// exchange sends total DATA each way (SGP → AS rc, and from each sending
// ASP), cutting network A of host cutHost when a third has been sent, and
// checks every message arrived once, in order per SLS.
func exchange(t *testing.T, n *labNet, srv *Server, srvSink *sink, rc uint32, senders []*Client, aspSinks []*sink, cutHost int) {
	t.Helper()
	// A signalling stream paced at about one message per millisecond each
	// way (as internal/lab/failover does): a burst as fast as the emulated
	// VM can go makes RTTs exceed the telecom profile's RTO.max on the
	// surviving path too, which tests the emulator, not M3UA.
	const total = 1500
	var wg sync.WaitGroup
	var cut sync.Once
	doCut := func() {
		cut.Do(func() {
			if err := n.topo.LinkDown(cutHost, netlab.NetA); err != nil {
				t.Errorf("LinkDown(%d, A): %v", cutHost, err)
			}
		})
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for seq := range total {
			if seq == total/3 {
				doCut()
			}
			srv.SendData(UserData{RC: rc, OPC: 200, DPC: 100, SI: 3, NI: 2, SLS: uint8(seq % 32), Payload: payload(100, uint32(seq))})
			time.Sleep(time.Millisecond)
		}
	}()
	for i, c := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range total {
				if seq == total/3 {
					doCut()
				}
				u := UserData{RC: rc, HasRC: true, OPC: 100, DPC: 200, SI: 3, NI: 2, SLS: uint8(seq % 32), Payload: payload(uint32(i), uint32(seq))}
				if err := c.SendData(u); err != nil {
					t.Errorf("ASP %d seq %d: %v", i, seq, err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		report := func(who string, s *sink) {
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Logf("%s: %d DATA", who, len(s.data))
			for _, e := range s.events {
				switch e.(type) {
				case DataReceived:
				default:
					t.Logf("%s: %T %+v", who, e, e)
				}
			}
		}
		report("SGP", srvSink)
		dc := srv.DriverCounters()
		t.Logf("SGP counters %+v; driver: send errors %d, timeouts %d, unsent %d, no assoc %d", srv.Counters(),
			dc.SendErrors.Load(), dc.SendTimeouts.Load(), dc.Unsent.Load(), dc.NoAssoc.Load())
		for i, s := range aspSinks {
			report(fmt.Sprintf("ASP %d", i+1), s)
		}
		for i, c := range senders {
			dc := c.DriverCounters(0)
			t.Logf("sender %d: states %v counters %+v; driver: send errors %d, timeouts %d, unsent %d, no assoc %d", i, c.States(), c.Counters(),
				dc.SendErrors.Load(), dc.SendTimeouts.Load(), dc.Unsent.Load(), dc.NoAssoc.Load())
		}
	})
	srvSink.waitFor(t, "every DATA at the SGP", func() bool { return len(srvSink.data) >= total*len(senders) })
	var all []UserData
	deadline := time.Now().Add(waitLong)
	for {
		all = all[:0]
		for _, s := range aspSinks {
			s.mu.Lock()
			all = append(all, s.data...)
			s.mu.Unlock()
		}
		if len(all) >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	srvSink.mu.Lock()
	checkOrder(t, srvSink.data, len(senders), total)
	srvSink.mu.Unlock()
	// The SGP's stream: sender id 100.
	for i := range all {
		all[i].Payload = append([]byte(nil), all[i].Payload...)
		all[i].Payload[3] = 0
	}
	checkOrder(t, all, 1, total)
}

// sawPathFailure waits until one of sinks reported the path to addr
// unreachable or potentially failed: proof that the cut hit traffic.
func sawPathFailure(t *testing.T, addr netip.Addr, sinks ...*sink) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		for _, s := range sinks {
			s.mu.Lock()
			for _, e := range s.events {
				if p, ok := e.(PathChanged); ok && p.Event.Addr == addr &&
					(p.Event.Kind == sctp.EventAddrUnreachable || p.Event.Kind == sctp.EventAddrPotentiallyFailed) {
					s.mu.Unlock()
					t.Logf("path failure reported: %v", p.Event)
					return
				}
			}
			s.mu.Unlock()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no side reported the path to %s unreachable after the cut", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLabM3UAOverride: both ASPs come up (ASPUP, ASPAC) in an override AS;
// the second takes over and the first is told; DATA flows both ways with
// the active ASP while network A of that ASP's host is cut mid-stream.
func TestLabM3UAOverride(t *testing.T) {
	n := newLabNet(t)
	srvSink := newSink()
	srv := n.server(t, 2905, ServerConfig{SGP: SGPConfig{ASes: []ASConfig{{RC: 1, Mode: Override}}}, Handlers: srvSink.handlers()})
	sinks := []*sink{newSink(), newSink()}
	asp := ASPConfig{RCs: []uint32{1}, Mode: Override, AutoActivate: true}
	c1 := n.client(t, 0, 2905, asp, sinks[0].handlers())
	waitActive(t, c1, 1)
	c2 := n.client(t, 1, 2905, asp, sinks[1].handlers())
	waitActive(t, c2, 1)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := c1.Wait(ctx, func(st []ASPState) bool { return st[0] == ASPInactive }); err != nil {
		t.Fatalf("the first ASP did not go inactive when the second took over: %v", c1.States())
	}
	sinks[0].mu.Lock()
	alternate := false
	for _, e := range sinks[0].events {
		if nt, ok := e.(NotifyReceived); ok && nt.StatusType == StatusTypeOther && nt.StatusInfo == StatusAlternateASPActive {
			alternate = true
		}
	}
	sinks[0].mu.Unlock()
	if !alternate {
		t.Errorf("the first ASP got no NTFY Alternate ASP Active")
	}
	if st := srv.ASState(1); st != ASActive {
		t.Fatalf("AS %v", st)
	}
	exchange(t, n, srv, srvSink, 1, []*Client{c2}, sinks, 3)
	sawPathFailure(t, n.asps[1].Addr(netlab.NetA), srvSink)
	sinks[0].mu.Lock()
	defer sinks[0].mu.Unlock()
	if len(sinks[0].data) != 0 {
		t.Errorf("the standby ASP got %d DATA", len(sinks[0].data))
	}
}

// TestLabM3UALoadshare: both ASPs active in a loadshare AS; the SGP spreads
// DATA over them by SLS; both send; network A of the SGP's host is cut
// mid-stream, so both associations move to network B.
func TestLabM3UALoadshare(t *testing.T) {
	n := newLabNet(t)
	srvSink := newSink()
	srv := n.server(t, 2906, ServerConfig{SGP: SGPConfig{ASes: []ASConfig{{RC: 2, Mode: Loadshare}}}, Handlers: srvSink.handlers()})
	sinks := []*sink{newSink(), newSink()}
	asp := ASPConfig{RCs: []uint32{2}, Mode: Loadshare, AutoActivate: true}
	c1 := n.client(t, 0, 2906, asp, sinks[0].handlers())
	c2 := n.client(t, 1, 2906, asp, sinks[1].handlers())
	waitActive(t, c1, 1)
	waitActive(t, c2, 1)
	exchange(t, n, srv, srvSink, 2, []*Client{c1, c2}, sinks, 1)
	sawPathFailure(t, n.sgp.Addr(netlab.NetA), sinks...)
	for i, s := range sinks {
		s.mu.Lock()
		if len(s.data) == 0 {
			t.Errorf("ASP %d got no DATA: loadshare did not share", i+1)
		}
		s.mu.Unlock()
	}
	if got := fmt.Sprint(c1.States(), c2.States()); got != "[ASP-ACTIVE] [ASP-ACTIVE]" {
		t.Errorf("after the cut: %s", got)
	}
}
