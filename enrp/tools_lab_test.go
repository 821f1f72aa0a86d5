//go:build lab && linux

//siglab:peers

package enrp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/lab/peers"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// TestLabRsplibToolsThroughUs: rsplib's own programs use our registrar
// (host 1) as theirs. rspserver (host 2) registers an echo element;
// rspterminal (host 3) resolves the pool through our registrar and gets
// its line echoed by that element; hsdump (host 3), posing as a peer
// registrar, reads our handlespace over ENRP and prints the element.
// tshark decodes every ASAP and ENRP frame our registrar exchanged.
func TestLabRsplibToolsThroughUs(t *testing.T) {
	topo := peersTopology(t, 3)
	regHost, peHost, toolHost := topo.Host(1), topo.Host(2), topo.Host(3)
	capture, err := peers.StartCapture(regHost, netlab.IfaceA, "rsplib-tools-through-us", "-f", "sctp")
	if err != nil {
		t.Fatal(err)
	}
	asapAddr := sctp.Addr{IPs: []netip.Addr{regHost.A}, Port: rserpool.Port}
	enrpAddr := sctp.Addr{IPs: []netip.Addr{regHost.A}, Port: Port}
	ev := &events{}
	d, err := NewDriver(DriverConfig{Transport: labsctp.Transport{Host: regHost, Kernel: labKernel}, ASAPAddr: asapAddr, ENRPAddr: enrpAddr,
		LocalAddr: sctp.Addr{IPs: []netip.Addr{regHost.A}}, OnEvent: func(e Event) { ev.add(e) }},
		Config{ServerID: 0x51, ENRPTransport: tr(enrpAddr), ASAPTransport: tr(asapAddr)})
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	t.Cleanup(func() { d.Close(false) })
	ourASAP := netip.AddrPortFrom(regHost.A, rserpool.Port).String()

	rs, err := peers.Start(peHost, "rspserver", "-echo", "-registrar="+ourASAP, "-poolhandle=EchoPool", "-loglevel=3", "-logcolor=off")
	if err != nil {
		t.Fatal(err)
	}
	var pe rserpool.PoolElement
	if !waitFor(2*time.Minute, func() bool {
		els := elementsOf(d, "EchoPool")
		if len(els) == 1 {
			pe = els[0]
		}
		return len(els) == 1
	}) {
		t.Fatalf("rspserver did not register with our registrar; its output:\n%s", rs.Output())
	}
	t.Logf("rspserver registered element %d (0x%08x)", pe.ID, pe.ID)

	// rspterminal sends its standard input to the element it gets from
	// our registrar and prints what comes back; it does not exit at the
	// end of its input, so the shell keeps the input open and the test
	// kills it.
	const line = "hello-from-rspterminal-through-sigpool"
	term, err := peers.Start(toolHost, "sh", "-c",
		"(echo "+line+"; sleep 600) | exec rspterminal -registrar="+ourASAP+" -poolhandle=EchoPool -loglevel=3 -logcolor=off")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Kill() })
	if err := peers.WaitOutput(term, line, 90*time.Second); err != nil {
		t.Fatalf("no echo through rspterminal: %v\nrspserver's output:\n%s", err, rs.Output())
	}
	term.Kill()
	var c Counters
	d.Do(func(r *Registrar) { c = r.Counters() })
	if c.Resolutions == 0 {
		t.Errorf("the echo came back but our registrar resolved nothing: counters %+v", c)
	}
	t.Logf("rspterminal's line came back from the element it resolved through our registrar (%d resolutions here)", c.Resolutions)

	// hsdump asks our registrar for its handle table over ENRP.
	dump, err := peers.Start(toolHost, "hsdump", netip.AddrPortFrom(regHost.A, Port).String(), "-loglevel=3", "-logcolor=off")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dump.Kill() })
	if err := peers.WaitOutput(dump, "EchoPool", 90*time.Second); err != nil {
		t.Fatalf("hsdump does not show our handlespace: %v", err)
	}
	// Let it print the whole element before reading.
	time.Sleep(2 * time.Second)
	out := dump.Output()
	dump.Kill()
	hex := fmt.Sprintf("%08x", pe.ID)
	if !strings.Contains(strings.ToLower(out), hex) && !strings.Contains(out, fmt.Sprint(pe.ID)) {
		t.Errorf("hsdump's dump of our handlespace does not name element %d (0x%s):\n%s", pe.ID, hex, out)
	}
	t.Logf("hsdump's dump of our handlespace:\n%s", out)

	if err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	// Registration and response, handle resolution and response,
	// keep-alive and ack; hsdump's handle table request and our response.
	checkFrames(t, capture.File, "asap", "1", "3", "5", "6", "7", "8")
	checkFrames(t, capture.File, "enrp", "2", "3")
}
