package asp

import (
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// The answers of a dialogue go back through the gateway association its
// network message came in on, whatever the SLS (Client.SendData alone would
// spread them over both gateways by SLS); the cookies still go to every
// gateway. A continuation through the other gateway moves the dialogue's
// answers there.
func TestServerAnswersThroughIngress(t *testing.T) {
	b := newBench(t, 2)
	s := startServer(t, b.config("10.0.0.11", 0x0001_0051), &scripted{answer: true})
	eventually(t, "ready on both gateways", func() bool { return s.Ready() && s.ActiveGateways() == 2 })
	a0, a1 := b.gws[0].assocOf(s.PEID()), b.gws[1].assocOf(s.PEID())

	const n = 16
	tids := map[uint8]uint32{} // SLS → our transaction id
	for sls := range uint8(n) {
		b.gws[1].send(a1, sls, netBegin(0x100+uint32(sls)))
		r := b.sink.nextData(t)
		if r.tcap.Kind != tcap.Continue || r.tcap.DTID.Uint32() != 0x100+uint32(sls) {
			t.Fatalf("SLS %d: reply %+v, want Continue to %#x", sls, r.tcap, 0x100+uint32(sls))
		}
		if r.gw != 1 {
			t.Fatalf("SLS %d: Begin came through gateway 1, its answer went through gateway %d", sls, r.gw)
		}
		checkAddressed(t, r, sls)
		tids[sls] = r.tcap.OTID.Uint32()
	}
	perGW := map[int]int{}
	for _, c := range b.sink.nextCookies(t, 2*n) {
		perGW[c.gw]++
	}
	if perGW[0] != n || perGW[1] != n {
		t.Fatalf("checkpoints per gateway %v, want %d at each", perGW, n)
	}

	// The network continues every dialogue through gateway 0: the End goes
	// back through gateway 0.
	for sls := range uint8(n) {
		b.gws[0].send(a0, sls, netContinue(0x100+uint32(sls), tids[sls]))
		r := b.sink.nextData(t)
		if r.tcap.Kind != tcap.End || r.tcap.DTID.Uint32() != 0x100+uint32(sls) {
			t.Fatalf("SLS %d: reply %+v, want End", sls, r.tcap)
		}
		if r.gw != 0 {
			t.Fatalf("SLS %d: Continue came through gateway 0, the End went through gateway %d", sls, r.gw)
		}
	}
	// A P-Abort for an unknown transaction id goes back the same way.
	b.gws[1].send(a1, 2, netContinue(0x77, uint32(Tag(s.PEID()))<<16|0xfffe))
	if r := b.sink.nextData(t); r.tcap.Kind != tcap.Abort || !r.tcap.HasPAbortCause || r.gw != 1 {
		t.Fatalf("P-Abort %+v through gateway %d, want an Abort with a P-Abort cause through gateway 1", r.tcap, r.gw)
	}
	eventually(t, "counters", func() bool { c := s.Counters(); return c.Sent == 2*n+1 })
	if c := s.Counters(); c.SentIngress != 2*n+1 || c.SentOther != 0 {
		t.Fatalf("sent through the ingress association %d, another %d; want %d and 0", c.SentIngress, c.SentOther, 2*n+1)
	}
}

// When the association a request came in on is no longer usable, the
// answer goes through another gateway: gateway 1 declared the network's
// point code unavailable (DUNA) while its association stays ASP-ACTIVE,
// then gateway 1 is gone altogether.
func TestServerAnswersThroughAnotherGatewayWhenIngressUnusable(t *testing.T) {
	b := newBench(t, 2)
	h := &held{release: make(chan struct{})}
	s := startServer(t, b.config("10.0.0.11", 0x0001_0052), h)
	eventually(t, "ready on both gateways", func() bool { return s.Ready() && s.ActiveGateways() == 2 })
	a1 := b.gws[1].assocOf(s.PEID())

	// DUNA from gateway 1 for the network's point code.
	before := s.Client().Counters()[1].Received
	b.gws[1].srv.SetDestination(networkPC, m3ua.DestUnavailable)
	eventually(t, "DUNA received from gateway 1", func() bool { return s.Client().Counters()[1].Received > before })
	const n = 8
	for sls := range uint8(n) {
		b.gws[1].send(a1, sls, netBegin(0x200+uint32(sls)))
	}
	eventually(t, "dialogues held", func() bool { return s.Owed() == n })
	if s.Client().States()[1] != m3ua.ASPActive {
		t.Fatalf("gateway 1's association is %v, want still ASP-ACTIVE", s.Client().States()[1])
	}
	close(h.release)
	for range n {
		r := b.sink.nextData(t)
		if r.gw != 0 {
			t.Fatalf("answer to %#x went through gateway %d, which declared the network unavailable", r.tcap.DTID.Uint32(), r.gw)
		}
	}
	// The counters move just after the messages leave.
	eventually(t, "counters", func() bool { return s.Counters().Sent == n })
	if c := s.Counters(); c.SentOther != n || c.SentIngress != 0 {
		t.Fatalf("sent through another gateway %d, the ingress one %d; want %d and 0", c.SentOther, c.SentIngress, n)
	}

	// Gateway 1 available again, then gone: requests that came through it
	// are answered through gateway 0.
	b.gws[1].srv.SetDestination(networkPC, m3ua.DestAvailable)
	h2 := &held{release: make(chan struct{})}
	s2 := startServer(t, b.config("10.0.0.12", 0x0001_0053), h2)
	eventually(t, "second server ready on both gateways", func() bool { return s2.Ready() && s2.ActiveGateways() == 2 })
	a1 = b.gws[1].assocOf(s2.PEID())
	for sls := range uint8(n) {
		b.gws[1].send(a1, sls, netBegin(0x300+uint32(sls)))
	}
	eventually(t, "dialogues held", func() bool { return s2.Owed() == n })
	b.gws[1].close()
	eventually(t, "gateway 1's association lost", func() bool { return s2.ActiveGateways() == 1 })
	close(h2.release)
	for range n {
		r := b.sink.nextData(t)
		if r.gw != 0 {
			t.Fatalf("answer to %#x went through gateway %d, which is gone", r.tcap.DTID.Uint32(), r.gw)
		}
		if d := r.tcap.DTID.Uint32(); d < 0x300 || d >= 0x300+n {
			t.Fatalf("answer to %#x, want one of the second server's dialogues", d)
		}
	}
	eventually(t, "counters", func() bool { return s2.Counters().Sent == n })
	if c := s2.Counters(); c.SentOther != n || c.SentIngress != 0 || c.Lost != 0 {
		t.Fatalf("sent through another gateway %d, the ingress one %d, lost %d; want %d, 0, 0", c.SentOther, c.SentIngress, c.Lost, n)
	}
}

// A dialogue given up idle is aborted through the association its last
// network message came in on.
func TestServerTimeoutAbortThroughIngress(t *testing.T) {
	b := newBench(t, 2)
	cfg := b.config("10.0.0.11", 0x0001_0054)
	cfg.DialogueTimeout = 200 * time.Millisecond
	s := startServer(t, cfg, &scripted{})
	eventually(t, "ready on both gateways", func() bool { return s.Ready() && s.ActiveGateways() == 2 })
	a1 := b.gws[1].assocOf(s.PEID())
	const n = 8
	for sls := range uint8(n) {
		b.gws[1].send(a1, sls, netBegin(0x400+uint32(sls)))
	}
	for range n {
		r := b.sink.nextData(t)
		if r.tcap.Kind != tcap.Abort || r.tcap.HasPAbortCause {
			t.Fatalf("reply %+v, want a user Abort", r.tcap)
		}
		if r.gw != 1 {
			t.Fatalf("abort of %#x went through gateway %d, its Begin came through gateway 1", r.tcap.DTID.Uint32(), r.gw)
		}
	}
}
