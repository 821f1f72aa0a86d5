//go:build lab && linux

//siglab:peers

package enrp

import (
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/lab/peers"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Takeover between our registrar and rsplib's rspregistrar when the
// process of either is killed (SIGKILL: no SHUTDOWN, no deregistration;
// the kernel aborts its associations).

// waitFor polls f every 100 ms until it holds or limit passes.
func waitFor(limit time.Duration, f func() bool) bool {
	deadline := time.Now().Add(limit)
	for !f() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// TestLabRspregistrarKilledWeTakeOver: rspregistrar (host 2) and our
// registrar (host 1, in this process) peer over ENRP; rspserver (host 3)
// registers with rspregistrar and our registrar learns its element.
// rspregistrar is killed: our registrar declares it dead, takes its
// element over, claims it with an endpoint keep-alive with the H flag on
// an association to the element's ASAP transport, and the element answers
// it and the keep-alives that follow. tshark decodes every ASAP and ENRP
// frame.
func TestLabRspregistrarKilledWeTakeOver(t *testing.T) {
	topo := peersTopology(t, 3)
	ourHost, rspHost, peHost := topo.Host(1), topo.Host(2), topo.Host(3)
	capture, err := peers.StartCapture(ourHost, netlab.IfaceA, "takeover-of-rspregistrar", "-f", "sctp")
	if err != nil {
		t.Fatal(err)
	}
	ourENRP := sctp.Addr{IPs: []netip.Addr{ourHost.A}, Port: Port}
	ourASAP := sctp.Addr{IPs: []netip.Addr{ourHost.A}, Port: rserpool.Port}
	rspENRP := netip.AddrPortFrom(rspHost.A, Port).String()
	rspASAP := netip.AddrPortFrom(rspHost.A, rserpool.Port).String()
	reg, err := peers.Start(rspHost, "rspregistrar", "-asap="+rspASAP, "-enrp="+rspENRP,
		"-peer="+netip.AddrPortFrom(ourHost.A, Port).String(), "-loglevel=3", "-logcolor=off")
	if err != nil {
		t.Fatal(err)
	}
	if err := peers.WaitSCTPListening(rspHost, Port, reg, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	d, err := NewDriver(DriverConfig{Transport: labsctp.Transport{Host: ourHost, Kernel: labKernel}, ASAPAddr: ourASAP, ENRPAddr: ourENRP,
		LocalAddr: sctp.Addr{IPs: []netip.Addr{ourHost.A}}, OnEvent: func(e Event) { ev.add(e) }},
		Config{ServerID: 0x51, ENRPTransport: tr(ourENRP), ASAPTransport: tr(ourASAP),
			Peers: []sctp.Addr{{IPs: []netip.Addr{rspHost.A}, Port: Port}},
			// rsplib's heartbeat cycle is 2.444 s.
			MaxTimeLastHeard: 5 * time.Second, MaxTimeNoResponse: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	t.Cleanup(func() { d.Close(false) })
	if !waitFor(90*time.Second, func() bool { return ev.find(func(x any) bool { _, ok := x.(PeerUp); return ok }) }) {
		t.Fatalf("rspregistrar never heard over ENRP; its output:\n%s", reg.Output())
	}

	rs, err := peers.Start(peHost, "rspserver", "-echo", "-registrar="+rspASAP, "-poolhandle=RspPool", "-loglevel=3", "-logcolor=off")
	if err != nil {
		t.Fatal(err)
	}
	var pe rserpool.PoolElement
	if !waitFor(2*time.Minute, func() bool {
		els := elementsOf(d, "RspPool")
		if len(els) == 1 && els[0].HomeRegistrar != 0x51 {
			pe = els[0]
			return true
		}
		return false
	}) {
		t.Fatalf("our registrar did not learn rspserver's element; rspregistrar:\n%s\nrspserver:\n%s", reg.Output(), rs.Output())
	}
	rspID := pe.HomeRegistrar
	t.Logf("rspserver's element %d (home 0x%x, ASAP transport %v) is in our handlespace", pe.ID, rspID, pe.ASAPTransport)

	killed := time.Now()
	if err := reg.Kill(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(90*time.Second, func() bool {
		return ev.find(func(x any) bool { e, ok := x.(TakeoverDone); return ok && e.Target == rspID && e.Winner == 0x51 })
	}) {
		t.Fatalf("no takeover of rspregistrar 0x%x; events %v", rspID, ev.all)
	}
	took := time.Since(killed)
	// The element answers the keep-alive with the H flag (else it would
	// leave after keep-alive + timeout, 2 s) and the ones after it.
	var acks uint64
	if !waitFor(60*time.Second, func() bool {
		d.Do(func(r *Registrar) { acks = r.Counters().ASAPIn[rserpool.MsgEndpointKeepAliveAck] })
		return acks >= 3
	}) {
		t.Fatalf("rspserver acknowledged %d keep-alives after the takeover; events %v\nrspserver:\n%s", acks, ev.all, rs.Output())
	}
	els := elementsOf(d, "RspPool")
	if len(els) != 1 || els[0].ID != pe.ID || els[0].HomeRegistrar != 0x51 {
		t.Fatalf("after the takeover our handlespace holds %+v", els)
	}
	if ev.find(func(x any) bool { _, ok := x.(Removed); return ok }) {
		t.Errorf("an element was removed: %v", ev.all)
	}
	t.Logf("rspregistrar killed: its element taken over after %v; %d keep-alives acknowledged since",
		took.Round(time.Millisecond), acks)
	if err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	checkFrames(t, capture.File, "enrp", "1", "4") // presence; the element came in a handle update
	checkFrames(t, capture.File, "asap", "7", "8")
}

// registrarBinary is cmd/registrar as siglab built it (on PATH in the VM).
func registrarBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("registrar")
	if err != nil {
		t.Fatalf("cmd/registrar is not on PATH (siglab test puts the project's binaries there): %v", err)
	}
	return p
}

// TestLabOurRegistrarKilledRspregistrarTakesOver: our registrar runs as the
// cmd/registrar program on host 1 and peers with rspregistrar on host 2;
// our pool element (host 3) registers with ours, and rspregistrar learns
// it (our pool user resolves it there). Our registrar's process is
// killed: rspregistrar takes the element over, claims it with the H flag
// (the element accepts its new home), and still resolves it after several
// of its keep-alive cycles. tshark decodes every ASAP frame the element
// saw.
//
// rsplib 3.4.4 completes a takeover only on the last Init Takeover Ack:
// when its takeover expiry runs out it drops the takeover instead (and
// with no other peer, no ack ever comes). So a third registrar is in the
// operation scope, one of ours in this process on host 4, with timers
// slow enough that it acknowledges rspregistrar's takeover instead of
// starting its own; it must then agree that rspregistrar is the
// element's home.
func TestLabOurRegistrarKilledRspregistrarTakesOver(t *testing.T) {
	topo := peersTopology(t, 4)
	ourHost, rspHost, peHost, thirdHost := topo.Host(1), topo.Host(2), topo.Host(3), topo.Host(4)
	capture, err := peers.StartCapture(peHost, netlab.IfaceA, "takeover-by-rspregistrar", "-f", "sctp")
	if err != nil {
		t.Fatal(err)
	}
	ourENRP := netip.AddrPortFrom(ourHost.A, Port).String()
	ourASAP := sctp.Addr{IPs: []netip.Addr{ourHost.A}, Port: rserpool.Port}
	rspENRP := netip.AddrPortFrom(rspHost.A, Port).String()
	rspASAP := sctp.Addr{IPs: []netip.Addr{rspHost.A}, Port: rserpool.Port}
	reg, err := peers.Start(rspHost, "rspregistrar", "-asap="+rspASAP.String(), "-enrp="+rspENRP,
		"-peer="+ourENRP, "-peer="+netip.AddrPortFrom(topo.Host(4).A, Port).String(), "-loglevel=3", "-logcolor=off")
	if err != nil {
		t.Fatal(err)
	}
	if err := peers.WaitSCTPListening(rspHost, Port, reg, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	ours, err := ourHost.Start(registrarBinary(t), "--id", "81", "--asap", ourASAP.String(), "--enrp", ourENRP,
		"--peer", rspENRP, "--max-time-last-heard", "5s", "--max-time-no-response", "2s", "--tuning", "rfc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ours.Kill() })
	thirdENRP := sctp.Addr{IPs: []netip.Addr{thirdHost.A}, Port: Port}
	thirdEv := &events{}
	third, err := NewDriver(DriverConfig{Transport: labsctp.Transport{Host: thirdHost, Kernel: labKernel},
		ASAPAddr: sctp.Addr{IPs: []netip.Addr{thirdHost.A}, Port: rserpool.Port}, ENRPAddr: thirdENRP,
		LocalAddr: sctp.Addr{IPs: []netip.Addr{thirdHost.A}}, OnEvent: func(e Event) { thirdEv.add(e) }},
		Config{ServerID: 0x52, ENRPTransport: tr(thirdENRP),
			Peers:            []sctp.Addr{{IPs: []netip.Addr{rspHost.A}, Port: Port}, {IPs: []netip.Addr{ourHost.A}, Port: Port}},
			MaxTimeLastHeard: time.Minute, MaxTimeNoResponse: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	third.Start()
	t.Cleanup(func() { third.Close(false) })

	ev := &events{}
	nt := labsctp.Transport{Host: peHost, Kernel: labKernel}
	peASAP := sctp.Addr{IPs: []netip.Addr{peHost.A}, Port: 3864}
	ln, err := nt.Listen(peASAP)
	if err != nil {
		t.Fatal(err)
	}
	asapT := tr(peASAP)
	pe := rserpool.NewPEDriver(rserpool.DriverConfig{Transport: nt, OnEvent: func(e rserpool.Event) { ev.add(e) }}, rserpool.PEConfig{
		PoolHandle: []byte("OurPool"),
		Element: rserpool.PoolElement{ID: 4243, UserTransport: tr(sctp.Addr{IPs: []netip.Addr{peHost.A}, Port: 2905}),
			Policy: rserpool.Policy{Type: rserpool.RoundRobin}, ASAPTransport: &asapT},
		Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{ourASAP}},
	}, ln)
	pe.Start()
	t.Cleanup(pe.Close)

	// rspregistrar resolves the element, which it learned from ours.
	resolvedAtRsp := func(what string) {
		t.Helper()
		pev := &events{}
		pu := rserpool.NewPUDriver(rserpool.DriverConfig{Transport: labsctp.Transport{Host: peHost, Kernel: labKernel}, OnEvent: func(e rserpool.Event) { pev.add(e) }},
			rserpool.PUConfig{Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{rspASAP}}})
		pu.Start()
		defer pu.Close()
		found := false
		for i := uint64(1); i < 400 && !found; i++ {
			pu.Resolve([]byte("OurPool"), i)
			time.Sleep(250 * time.Millisecond)
			found = pev.find(func(x any) bool { s, ok := x.(rserpool.Selected); return ok && s.Element.ID == 4243 })
		}
		if !found {
			t.Fatalf("%s: rspregistrar does not resolve OurPool to element 4243; its output:\n%s\nour registrar's:\n%s",
				what, reg.Output(), ours.Output())
		}
	}
	resolvedAtRsp("before the kill")
	t.Logf("rspregistrar resolves our element 4243 (registered with our registrar)")

	killed := time.Now()
	if err := ours.Kill(); err != nil {
		t.Fatal(err)
	}
	var home uint32
	if !waitFor(2*time.Minute, func() bool {
		return ev.find(func(x any) bool {
			h, ok := x.(rserpool.HomeChanged)
			if ok && h.ServerID != 81 {
				home = h.ServerID
			}
			return ok && h.ServerID != 81
		})
	}) {
		t.Fatalf("rspregistrar never claimed element 4243; its output:\n%s", reg.Output())
	}
	t.Logf("our registrar killed: rspregistrar 0x%x claimed the element after %v", home, time.Since(killed).Round(time.Millisecond))
	if !waitFor(30*time.Second, func() bool {
		els := elementsOf(third, "OurPool")
		return len(els) == 1 && els[0].HomeRegistrar == home
	}) {
		t.Errorf("the third registrar does not see rspregistrar 0x%x as the element's home: %+v; its events %v",
			home, elementsOf(third, "OurPool"), thirdEv.all)
	}
	// Two of rsplib's keep-alive cycles (5 s + 5 s timeout) later it is
	// still there.
	time.Sleep(12 * time.Second)
	resolvedAtRsp("12 s after the takeover")
	if err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	checkFrames(t, capture.File, "asap", "1", "3", "7", "8")
}
