//go:build lab && linux

//siglab:peers

package enrp

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/lab/peers"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Interoperability with rsplib 3.4.4 (Debian's rsplib-registrar and
// rsplib-tools) in the lab VM, with tshark checking every captured frame.

func peersTopology(t *testing.T, n int) *netlab.Topology {
	t.Helper()
	if err := peers.Available(); err != nil {
		t.Fatal(err)
	}
	return labTopology(t, n)
}

func decodeCapture(t *testing.T, file string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := peers.Decode(ctx, file, args...)
	if err != nil {
		t.Fatalf("decoding %s: %v", file, err)
	}
	return out
}

// checkFrames fails when tshark finds a malformed frame or an error, or
// none of the wanted message types of the protocol (asap or enrp).
func checkFrames(t *testing.T, file, proto string, want ...string) {
	t.Helper()
	if bad := decodeCapture(t, file, "-Y", "_ws.malformed || _ws.expert.severity == error"); strings.TrimSpace(bad) != "" {
		t.Errorf("tshark finds malformed frames or errors in %s:\n%s", file, bad)
	}
	types := strings.Fields(decodeCapture(t, file, "-Y", proto, "-T", "fields", "-e", proto+".message_type"))
	for _, w := range want {
		if !slices.Contains(types, w) {
			t.Errorf("tshark finds no %s message of type %s in %s; it finds %q", proto, w, file, types)
		}
	}
	if t.Failed() {
		t.Logf("tshark's summary of %s:\n%s", file, decodeCapture(t, file))
	}
}

func elementsOf(d *Driver, handle string) []rserpool.PoolElement {
	var out []rserpool.PoolElement
	d.Do(func(r *Registrar) {
		if p := r.Handlespace().Pool([]byte(handle)); p != nil {
			for _, e := range p.Select(p.Len(), nil) {
				out = append(out, e.PoolElement())
			}
		}
	})
	return out
}

// TestLabRspserverRegistersWithUs: rsplib's rspserver registers with our
// registrar, answers its endpoint keep-alives (it stays registered for
// several keep-alive timeouts), and a pool user resolving the pool through
// our registrar reaches it: the echo server sends back what it gets.
// tshark decodes every ASAP frame.
func TestLabRspserverRegistersWithUs(t *testing.T) {
	topo := peersTopology(t, 3)
	regHost, peHost, puHost := topo.Host(1), topo.Host(2), topo.Host(3)
	capture, err := peers.StartCapture(regHost, netlab.IfaceA, "asap-our-registrar", "-f", "sctp")
	if err != nil {
		t.Fatal(err)
	}
	asapAddr := sctp.Addr{IPs: []netip.Addr{regHost.A}, Port: rserpool.Port}
	d, err := NewDriver(DriverConfig{Transport: labsctp.Transport{Host: regHost, Kernel: labKernel}, ASAPAddr: asapAddr},
		Config{ServerID: 0x51}) // no ENRP
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	t.Cleanup(func() { d.Close(false) })

	pe, err := peers.Start(peHost, "rspserver", "-echo", "-registrar="+netip.AddrPortFrom(regHost.A, rserpool.Port).String(),
		"-poolhandle=EchoPool", "-loglevel=3", "-logcolor=off")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for len(elementsOf(d, "EchoPool")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("rspserver did not register with our registrar; its output:\n%s", pe.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("rspserver registered: %+v", elementsOf(d, "EchoPool")[0])
	// Several keep-alive timeouts (1 s + 1 s) later it is still there.
	time.Sleep(5 * time.Second)
	els := elementsOf(d, "EchoPool")
	if len(els) != 1 {
		var c Counters
		d.Do(func(r *Registrar) { c = r.Counters() })
		t.Fatalf("rspserver's element is gone after 5 s (counters %+v); its output:\n%s", c, pe.Output())
	}

	// A pool user on host 3 resolves the pool through our registrar and
	// talks to the element it gets.
	ev := &events{}
	pu := rserpool.NewPUDriver(rserpool.DriverConfig{Transport: labsctp.Transport{Host: puHost, Kernel: labKernel}, OnEvent: func(e rserpool.Event) { ev.add(e) }},
		rserpool.PUConfig{Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{asapAddr}}})
	pu.Start()
	t.Cleanup(pu.Close)
	pu.Resolve([]byte("EchoPool"), 1)
	var sel rserpool.Selected
	labEventually(t, "the pool user's selection", func() bool {
		return ev.find(func(x any) bool {
			s, ok := x.(rserpool.Selected)
			if ok {
				sel = s
			}
			return ok
		})
	})
	ut := sel.Element.UserTransport
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	as, err := labsctp.Transport{Host: puHost, Kernel: labKernel}.Dial(ctx, sctp.Addr{}, sctp.Addr{IPs: ut.Addrs, Port: ut.Port})
	if err != nil {
		t.Fatalf("dialing the selected element at %v:%d: %v", ut.Addrs, ut.Port, err)
	}
	defer as.Close()
	if err := as.Send(sctp.Message{PPID: 0, Data: []byte("hello sigpool\n")}); err != nil {
		t.Fatal(err)
	}
	as.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 4096)
	for {
		m, e, err := as.Recv(buf)
		if err != nil {
			t.Fatalf("waiting for the echo: %v; rspserver's output:\n%s", err, pe.Output())
		}
		if e != nil || m.PPID == rserpool.PPID {
			continue // events, ASAP session messages (cookies)
		}
		if !strings.Contains(string(m.Data), "hello sigpool") {
			t.Fatalf("the element answered % q", m.Data)
		}
		break
	}
	t.Logf("the element selected through our registrar echoed")
	if err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	// Registration, registration response, handle resolution and its
	// response, keep-alive and its ack.
	checkFrames(t, capture.File, "asap", "1", "3", "5", "6", "7", "8")
}

// TestLabPeeringWithRspregistrar: our registrar and rsplib's rspregistrar
// peer over ENRP. An rspserver registers with rspregistrar, our pool
// element with ours; each registrar learns the other's element: our
// handlespace holds the rspserver's, and our pool user resolves our
// element at rspregistrar. tshark decodes every ENRP frame.
func TestLabPeeringWithRspregistrar(t *testing.T) {
	topo := peersTopology(t, 3)
	ourHost, peHost, rspHost := topo.Host(1), topo.Host(2), topo.Host(3)
	capture, err := peers.StartCapture(ourHost, netlab.IfaceA, "enrp-peering", "-f", "sctp")
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
	// rsplib's peer heartbeat is 2.444 s: our last-heard and no-response
	// bounds must leave it room in a mixed cluster.
	d, err := NewDriver(DriverConfig{Transport: labsctp.Transport{Host: ourHost, Kernel: labKernel}, ASAPAddr: ourASAP, ENRPAddr: ourENRP,
		LocalAddr: sctp.Addr{IPs: []netip.Addr{ourHost.A}}},
		Config{ServerID: 0x51, ENRPTransport: tr(ourENRP), ASAPTransport: tr(ourASAP),
			Peers:            []sctp.Addr{{IPs: []netip.Addr{rspHost.A}, Port: Port}},
			MaxTimeLastHeard: 5 * time.Second, MaxTimeNoResponse: 2 * time.Second,
			// rspregistrar answers on the association it dials itself,
			// seconds later: wait for it as mentor, so that the initial
			// handle table transfer is exercised.
			MentorHunt: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var peerUp, dead, mentor events
	d.cfg.OnEvent = func(e Event) {
		switch e.(type) {
		case PeerUp:
			peerUp.add(e)
		case PeerDead:
			dead.add(e)
		case MentorFound, Synchronized:
			mentor.add(e)
		}
	}
	d.Start()
	t.Cleanup(func() { d.Close(false) })
	labEventually(t, "rspregistrar to be heard over ENRP", func() bool { return peerUp.find(func(any) bool { return true }) })
	deadline0 := time.Now().Add(90 * time.Second)
	for !mentor.find(func(x any) bool { _, ok := x.(Synchronized); return ok }) {
		if time.Now().After(deadline0) {
			var c Counters
			d.Do(func(r *Registrar) { c = r.Counters() })
			capture.Stop()
			t.Fatalf("no handle table from rspregistrar (our mentor); events %v; ENRP in %v out %v; frames:\n%s\nrspregistrar's output:\n%s",
				mentor.all, c.ENRPIn, c.ENRPOut, decodeCapture(t, capture.File, "-Y", "enrp && !(enrp.message_type == 1)", "-V"), reg.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}

	rs, err := peers.Start(peHost, "rspserver", "-echo", "-registrar="+rspASAP, "-poolhandle=RspPool", "-loglevel=3", "-logcolor=off")
	if err != nil {
		t.Fatal(err)
	}
	peASAP := sctp.Addr{IPs: []netip.Addr{peHost.A}, Port: 3864}
	nt := labsctp.Transport{Host: peHost, Kernel: labKernel}
	ln, err := nt.Listen(peASAP)
	if err != nil {
		t.Fatal(err)
	}
	asapT := tr(peASAP)
	pe := rserpool.NewPEDriver(rserpool.DriverConfig{Transport: nt}, rserpool.PEConfig{
		PoolHandle: []byte("OurPool"),
		Element: rserpool.PoolElement{ID: 4242, UserTransport: tr(sctp.Addr{IPs: []netip.Addr{peHost.A}, Port: 2905}),
			Policy: rserpool.Policy{Type: rserpool.RoundRobin}, ASAPTransport: &asapT},
		Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{ourASAP}},
	}, ln)
	pe.Start()
	t.Cleanup(pe.Close)

	deadline := time.Now().Add(2 * time.Minute)
	for {
		els := elementsOf(d, "RspPool")
		if len(els) == 1 && els[0].HomeRegistrar != 0x51 {
			t.Logf("our registrar learned rspserver's element %d, home 0x%x", els[0].ID, els[0].HomeRegistrar)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("our registrar did not learn rspserver's element; rspregistrar's output:\n%s\nrspserver's:\n%s", reg.Output(), rs.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	ev := &events{}
	pu := rserpool.NewPUDriver(rserpool.DriverConfig{Transport: labsctp.Transport{Host: peHost, Kernel: labKernel}, OnEvent: func(e rserpool.Event) { ev.add(e) }},
		rserpool.PUConfig{Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{{IPs: []netip.Addr{rspHost.A}, Port: rserpool.Port}}}})
	pu.Start()
	t.Cleanup(pu.Close)
	found := false
	for i := uint64(1); i < 200 && !found; i++ {
		pu.Resolve([]byte("OurPool"), i)
		time.Sleep(250 * time.Millisecond)
		found = ev.find(func(x any) bool { s, ok := x.(rserpool.Selected); return ok && s.Element.ID == 4242 })
	}
	if !found {
		t.Fatalf("rspregistrar never resolved OurPool to our element; its output:\n%s", reg.Output())
	}
	t.Logf("rspregistrar resolves OurPool to our element 4242")
	if dead.find(func(any) bool { return true }) {
		t.Errorf("our registrar declared rspregistrar dead")
	}
	if err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	// Presence, handle table request and response (the mentor's table),
	// handle update, list request and response.
	checkFrames(t, capture.File, "enrp", "1", "2", "3", "4", "5", "6")
}
