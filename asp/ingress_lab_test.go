//go:build lab && linux

package asp

import (
	"testing"
	"time"

	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// TestLabAnswersFollowTheRequest: one application server (host 3) with a
// multihomed association to two stand-in gateways (hosts 1 and 2) over
// kernel SCTP. Requests through gateway 2 are answered through gateway 2
// for every SLS. Then host 2 is cut off from both networks: its
// association stays ASP-ACTIVE at the server (RFC 4960 timers take far
// longer than the test to declare it dead), which is how a SIGKILLed
// gateway's association looks while its kernel still acknowledges. The
// requests that now come through gateway 1 are all answered through
// gateway 1; chosen by SLS, half of them would have gone into host 2.
func TestLabAnswersFollowTheRequest(t *testing.T) {
	topo, err := netlab.New(3)
	if err != nil {
		t.Fatalf("netlab.New(3): %v (the lab tests need root, network namespaces, veth, bridges and sctp.ko: run them with siglab test)", err)
	}
	t.Cleanup(func() { topo.Close() })
	out := newSink()
	var gws []*standIn
	for i := range 2 {
		h := topo.Host(1 + i)
		tr := labsctp.Transport{Host: h, Kernel: labKernel}
		if i == 0 {
			reg, err := enrp.NewDriver(enrp.DriverConfig{Transport: tr, ASAPAddr: labsctp.Addr(h, rserpool.Port),
				LocalAddr: labsctp.Addr(h, 0)}, enrp.Config{ServerID: 1, TagBits: 16})
			if err != nil {
				t.Fatal(err)
			}
			reg.Start()
			t.Cleanup(func() { reg.Close(true) })
		}
		g := newStandIn(t, i, tr, labsctp.Addr(h, 2906), out)
		t.Cleanup(g.close)
		gws = append(gws, g)
	}
	h := topo.Host(3)
	cfg := Config{
		Transport:       labsctp.Transport{Host: h, Kernel: labKernel},
		Local:           labsctp.Addr(h, 0),
		Gateways:        []sctp.Addr{labsctp.Addr(topo.Host(1), 2906), labsctp.Addr(topo.Host(2), 2906)},
		Registrars:      []sctp.Addr{labsctp.Addr(topo.Host(1), rserpool.Port)},
		PoolHandle:      pool,
		Capacity:        100,
		PEID:            0x0001_0b03,
		RC:              serviceRC,
		HasRC:           true,
		DialogueTimeout: time.Minute,
	}
	s := startServer(t, cfg, &scripted{answer: true})
	eventually(t, "server ASP-ACTIVE at both gateways and registered", func() bool { return s.Ready() && s.ActiveGateways() == 2 })
	a1, a2 := gws[0].assocOf(s.PEID()), gws[1].assocOf(s.PEID())

	const n = 16
	for sls := range uint8(n) {
		otid := 0x2000 + uint32(sls)
		gws[1].send(a2, sls, netBegin(otid))
		r := out.nextData(t)
		if r.tcap.Kind != tcap.Continue || r.tcap.DTID.Uint32() != otid {
			t.Fatalf("SLS %d: %+v, want Continue to %#x", sls, r.tcap, otid)
		}
		if r.gw != 1 {
			t.Fatalf("SLS %d: request through gateway 2 answered through gateway %d", sls, r.gw+1)
		}
		checkAddressed(t, r, sls)
	}

	if err := topo.Isolate(2); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for sls := range uint8(n) {
		gws[0].send(a1, sls, netBegin(0x3000+uint32(sls)))
	}
	got := map[uint32]bool{}
	for len(got) < n {
		r := out.nextData(t)
		if r.gw != 0 {
			t.Fatalf("answer %+v through gateway %d, want gateway 1", r.tcap, r.gw+1)
		}
		if d := r.tcap.DTID.Uint32(); r.tcap.Kind != tcap.Continue || d < 0x3000 || d >= 0x3000+n {
			t.Fatalf("answer %+v, want a Continue to one of 0x3000..0x%x", r.tcap, 0x3000+n-1)
		}
		got[r.tcap.DTID.Uint32()] = true
	}
	t.Logf("%d requests through gateway 1 answered through it %v after host 2 was isolated", n, time.Since(t0))
	if g := s.ActiveGateways(); g != 2 {
		t.Fatalf("the server holds %d gateways ASP-ACTIVE, want 2 (the isolated one not yet declared dead): the test did not exercise the case", g)
	}
	eventually(t, "counters", func() bool { return s.Counters().Sent == 2*n })
	if c := s.Counters(); c.SentIngress != 2*n || c.SentOther != 0 || c.Lost != 0 {
		t.Fatalf("counters %+v, want %d sent through the ingress association, none otherwise, none lost", c, 2*n)
	}
}
