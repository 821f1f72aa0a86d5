//go:build lab && linux

package asp

import (
	"testing"
	"time"

	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// Two application servers over kernel SCTP in the lab:
//
//	siglab test ./asp -- -test.run '^TestLab' -test.v
//
// Host 1 is a stand-in gateway (an M3UA SGP and a registrar in this
// process); hosts 2 and 3 each run one Server, every association
// multihomed over networks A and B. The test never skips: without root,
// namespaces or sctp.ko it fails saying so.

// labKernel: RFC 4960's SCTP timers, as the software-emulated VM can stall
// longer than the telecom profile's RTO.max.
var labKernel = sctp.Kernel{Config: sctp.Config{Tuning: sctp.RFC}}

// TestLabHandOver: dialogues complete on both servers; then host 2 is
// isolated in the middle of a dialogue, and the stand-in hands that
// dialogue to the server of host 3 with the cookie host 2 checkpointed it
// with (Cookie Echo, then the network's Continue): host 3 resumes it from
// that state, under its old transaction id.
func TestLabHandOver(t *testing.T) {
	topo, err := netlab.New(3)
	if err != nil {
		t.Fatalf("netlab.New(3): %v (the lab tests need root, network namespaces, veth, bridges and sctp.ko: run them with siglab test)", err)
	}
	t.Cleanup(func() { topo.Close() })
	gwHost := topo.Host(1)
	gwTr := labsctp.Transport{Host: gwHost, Kernel: labKernel}

	reg, err := enrp.NewDriver(enrp.DriverConfig{Transport: gwTr, ASAPAddr: labsctp.Addr(gwHost, rserpool.Port),
		LocalAddr: labsctp.Addr(gwHost, 0)}, enrp.Config{ServerID: 1, TagBits: 16})
	if err != nil {
		t.Fatal(err)
	}
	reg.Start()
	t.Cleanup(func() { reg.Close(true) })
	out := newSink()
	gw := newStandIn(t, 0, gwTr, labsctp.Addr(gwHost, 2906), out)
	t.Cleanup(gw.close)

	handlers := []*scripted{{answer: true}, {answer: true}}
	var servers []*Server
	for i, id := range []uint32{0x0001_0a02, 0x0001_0a03} {
		h := topo.Host(2 + i)
		cfg := Config{
			Transport:  labsctp.Transport{Host: h, Kernel: labKernel},
			Local:      labsctp.Addr(h, 0),
			Gateways:   []sctp.Addr{labsctp.Addr(gwHost, 2906)},
			Registrars: []sctp.Addr{labsctp.Addr(gwHost, rserpool.Port)},
			PoolHandle: pool,
			Capacity:   100,
			PEID:       id,
			RC:         serviceRC, HasRC: true,
			DialogueTimeout: time.Minute,
		}
		if len(cfg.Local.IPs) != 2 {
			t.Fatalf("host %v has %d addresses, want one per network", h, len(cfg.Local.IPs))
		}
		s := startServer(t, cfg, handlers[i])
		servers = append(servers, s)
	}
	for i, s := range servers {
		eventually(t, "server ready", s.Ready)
		t.Logf("server %d on %v: PE %#x, ASP-ACTIVE and registered", i, topo.Host(2+i), s.PEID())
	}
	a2, a3 := gw.assocOf(servers[0].PEID()), gw.assocOf(servers[1].PEID())

	// Dialogues complete on both: Begin → Continue (checkpoint step=1),
	// Continue → End (empty checkpoint).
	for i, a := range []struct {
		s     *Server
		assoc m3ua.AssocID
	}{{servers[0], a2}, {servers[1], a3}} {
		for k := range 5 {
			otid := uint32(0x1000*(i+1) + k)
			sls := uint8(k)
			gw.send(a.assoc, sls, netBegin(otid))
			r := out.nextData(t)
			if r.tcap.Kind != tcap.Continue || r.tcap.DTID.Uint32() != otid || TagOf(r.tcap.OTID.Uint32()) != Tag(a.s.PEID()) {
				t.Fatalf("server %d: %+v, want Continue to %#x from tag %#x", i, r.tcap, otid, Tag(a.s.PEID()))
			}
			checkAddressed(t, r, sls)
			tid := r.tcap.OTID.Uint32()
			if c := out.nextCookies(t, 1)[0]; c.tid != tid || string(c.state) != "step=1" {
				t.Fatalf("cookie %#x %q", c.tid, c.state)
			}
			gw.send(a.assoc, sls, netContinue(otid, tid))
			if r = out.nextData(t); r.tcap.Kind != tcap.End || r.tcap.DTID.Uint32() != otid {
				t.Fatalf("server %d: %+v, want End to %#x", i, r.tcap, otid)
			}
			if c := out.nextCookies(t, 1)[0]; c.tid != tid || len(c.state) != 0 {
				t.Fatalf("end cookie %#x %q", c.tid, c.state)
			}
		}
	}

	// A dialogue in progress on host 2; its host is cut off from both
	// networks.
	const sls = 3
	gw.send(a2, sls, netBegin(0xfeed))
	r := out.nextData(t)
	tid := r.tcap.OTID.Uint32()
	c := out.nextCookies(t, 1)[0]
	if c.tid != tid || string(c.state) != "step=1" {
		t.Fatalf("cookie %#x %q, want %#x step=1", c.tid, c.state, tid)
	}
	if err := topo.Isolate(2); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	// The stand-in hands it over to host 3: cookie echo, then the network's
	// Continue, on the same stream.
	gw.echo(a3, sls, c.tid, c.state)
	gw.send(a3, sls, netContinue(0xfeed, tid))
	r = out.nextData(t)
	if r.tcap.Kind != tcap.Continue || r.tcap.OTID.Uint32() != tid || r.tcap.DTID.Uint32() != 0xfeed {
		t.Fatalf("after the hand-over: %+v, want Continue from the old id %#x to 0xfeed", r.tcap, tid)
	}
	checkAddressed(t, r, sls)
	t.Logf("dialogue %#x of host 2 continued by host 3 %v after the isolation", tid, time.Since(t0))
	handlers[1].mu.Lock()
	resumes := append([]string(nil), handlers[1].resumes...)
	handlers[1].mu.Unlock()
	if len(resumes) != 1 || resumes[0] != "step=1" {
		t.Fatalf("host 3 resumed %q, want step=1 once", resumes)
	}
	if n := servers[1].Counters().Adopted; n != 1 {
		t.Fatalf("host 3 adopted %d dialogues", n)
	}
	// The network ends it at host 3.
	gw.send(a3, sls, tcap.Message{Kind: tcap.End, DTID: tid32(tid), HasDTID: true})
	if c := out.nextCookies(t, 1)[0]; c.tid != tid || len(c.state) != 0 {
		t.Fatalf("end cookie %#x %q", c.tid, c.state)
	}
	eventually(t, "host 3 holds no dialogue", func() bool { return servers[1].Active() == 0 })
}
