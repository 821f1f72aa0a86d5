//go:build lab && linux

//siglab:peers

package rserpool

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/lab/peers"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Interoperability with rsplib 3.4.4 (rspregistrar, rspserver,
// rspterminal) in the lab VM, with tshark decoding the captures on the
// host:
//
//	bin/siglab test ./rserpool -- -test.run '^TestLabRsplib' -test.v
//
// With -update-golden, TestLabRsplibInterop also rewrites
// testdata/golden from its capture: one .bin file per ASAP message rsplib
// sent, and tshark's decode of its frame beside it (.tshark.txt), which
// TestGoldenRsplib checks our codec against without the lab.

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from the rsplib capture")

func peersTopology(t *testing.T, hosts int) *netlab.Topology {
	t.Helper()
	if err := peers.Available(); err != nil {
		t.Fatal(err)
	}
	waitLimit = 90 * time.Second
	topo, err := netlab.New(hosts)
	if err != nil {
		t.Fatalf("netlab.New(%d): %v (run the lab tests with bin/siglab test)", hosts, err)
	}
	t.Cleanup(func() { topo.Close() })
	return topo
}

func tsharkDecode(t *testing.T, file string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := peers.Decode(ctx, file, args...)
	if err != nil {
		t.Fatalf("decoding %s: %v", file, err)
	}
	return out
}

// checkASAPFrames fails when tshark finds a malformed frame or an error in
// the capture, or misses one of the wanted ASAP message types.
func checkASAPFrames(t *testing.T, file string, want ...string) {
	t.Helper()
	if bad := tsharkDecode(t, file, "-Y", "_ws.malformed || _ws.expert.severity == error"); strings.TrimSpace(bad) != "" {
		t.Errorf("tshark finds malformed frames or errors in %s:\n%s", file, bad)
	} else {
		t.Logf("tshark finds no malformed frame and no error in %s", file)
	}
	types := strings.FieldsFunc(tsharkDecode(t, file, "-Y", "asap", "-T", "fields", "-e", "asap.message_type"),
		func(r rune) bool { return r == ',' || r == '\n' || r == ' ' })
	for _, w := range want {
		if !slices.Contains(types, w) {
			t.Errorf("tshark finds no ASAP message of type %s in %s; it finds %q", w, file, types)
		}
	}
	if t.Failed() {
		t.Logf("tshark's summary of %s:\n%s", file, tsharkDecode(t, file))
	}
}

// capturedASAP is one ASAP message found in a capture.
type capturedASAP struct {
	frame    int // tshark's frame number
	src, dst netip.AddrPort
	chunks   int // ASAP DATA chunks in the frame
	data     []byte
	name     string // golden file name
}

// readASAP reads a pcap file (Ethernet or Linux cooked, IPv4) and returns
// the payload of every SCTP DATA chunk with PPID 11 and of every UDP
// datagram to or from port 3863, in frame order.
func readASAP(file string) ([]capturedASAP, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, errors.New("short pcap file")
	}
	var order binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%s is not a pcap file", file)
	}
	link := order.Uint32(b[20:])
	var out []capturedASAP
	frame := 0
	for p := b[24:]; len(p) >= 16; {
		n := int(order.Uint32(p[8:]))
		if len(p) < 16+n {
			break
		}
		pkt := p[16 : 16+n]
		p = p[16+n:]
		frame++
		switch link {
		case 1: // Ethernet
			if len(pkt) < 14 || binary.BigEndian.Uint16(pkt[12:]) != 0x0800 {
				continue
			}
			pkt = pkt[14:]
		case 113: // Linux cooked
			if len(pkt) < 16 || binary.BigEndian.Uint16(pkt[14:]) != 0x0800 {
				continue
			}
			pkt = pkt[16:]
		default:
			return nil, fmt.Errorf("link type %d", link)
		}
		if len(pkt) < 20 || pkt[0]>>4 != 4 || (pkt[9] != 132 && pkt[9] != 17) {
			continue
		}
		ihl := int(pkt[0]&15) * 4
		src, _ := netip.AddrFromSlice(pkt[12:16])
		dst, _ := netip.AddrFromSlice(pkt[16:20])
		s := pkt[ihl:min(int(binary.BigEndian.Uint16(pkt[2:])), len(pkt))]
		if pkt[9] == 17 { // UDP: announces to or from port 3863
			if len(s) >= 8 && (binary.BigEndian.Uint16(s) == Port || binary.BigEndian.Uint16(s[2:]) == Port) {
				out = append(out, capturedASAP{frame: frame, chunks: 1, data: bytes.Clone(s[8:]),
					src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(s)), dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(s[2:]))})
			}
			continue
		}
		if len(s) < 12 {
			continue
		}
		sp, dp := binary.BigEndian.Uint16(s), binary.BigEndian.Uint16(s[2:])
		var found []capturedASAP
		for c := s[12:]; len(c) >= 4; {
			l := int(binary.BigEndian.Uint16(c[2:]))
			if l < 4 || l > len(c) {
				break
			}
			if c[0] == 0 && l >= 16 && binary.BigEndian.Uint32(c[12:]) == PPID {
				found = append(found, capturedASAP{frame: frame, src: netip.AddrPortFrom(src, sp), dst: netip.AddrPortFrom(dst, dp),
					data: bytes.Clone(c[16:l])})
			}
			c = c[min(padLen(l), len(c)):]
		}
		for i := range found {
			found[i].chunks = len(found)
		}
		out = append(out, found...)
	}
	return out, nil
}

// rsplibProcess runs an rsplib program and kills it at the end of the test.
func rsplibStart(t *testing.T, h *netlab.Host, name string, args ...string) *netlab.Process {
	t.Helper()
	p, err := peers.Start(h, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill() })
	return p
}

// TestLabRsplibInterop: rspregistrar on host 1; rspserver (pool EchoPool)
// and our pool element (pool SigPool, Least Used) on host 2 register
// with it; on host 3 rspterminal resolves EchoPool and gets its line
// echoed, and our pool user resolves SigPool there to our element. Our PE
// answers rspregistrar's endpoint keep-alives and deregisters at the end.
// tshark decodes the capture of rspregistrar's interface: no malformed
// frame, every message type of the exchange; and every ASAP message
// rsplib sent decodes with DecodeMessage.
func TestLabRsplibInterop(t *testing.T) {
	topo := peersTopology(t, 3)
	regHost, peHost, puHost := topo.Host(1), topo.Host(2), topo.Host(3)
	capture, err := peers.StartCapture(regHost, netlab.IfaceA, "asap-rsplib", "-f", "sctp")
	if err != nil {
		t.Fatal(err)
	}
	regAddr := netip.AddrPortFrom(regHost.A, Port)
	reg := rsplibStart(t, regHost, "rspregistrar", "-asap="+regAddr.String(),
		"-enrp="+netip.AddrPortFrom(regHost.A, 9901).String(), "-loglevel=4", "-logcolor=off")
	if err := peers.WaitSCTPListening(regHost, Port, reg, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	rs := rsplibStart(t, peHost, "rspserver", "-echo", "-registrar="+regAddr.String(), "-poolhandle=EchoPool",
		"-loglevel=3", "-logcolor=off")
	if err := peers.WaitOutput(reg, "Successfully registered EchoPool/", 2*time.Minute); err != nil {
		t.Fatalf("%v\nrspserver's output:\n%s", err, rs.Output())
	}

	// Our pool element, beside rspserver.
	k := sctp.Kernel{Config: sctp.Config{Tuning: sctp.RFC}}
	regSCTP := sctp.Addr{IPs: []netip.Addr{regHost.A}, Port: Port}
	const ourID = 0x5169a001
	peEv := newEventLog("PE")
	pe := NewPEDriver(DriverConfig{Transport: labsctp.Transport{Host: peHost, Kernel: k}, OnEvent: peEv.on}, PEConfig{
		PoolHandle: []byte("SigPool"),
		Element: PoolElement{ID: ourID,
			UserTransport: userTransport(sctp.Addr{IPs: []netip.Addr{peHost.A, peHost.B}, Port: 2905}),
			Policy:        Policy{Type: LeastUsed, Load: LoadPercent(25)}},
		Registration: 3 * time.Second,
		Hunt:         HuntConfig{Registrars: []sctp.Addr{regSCTP}, Timeout: 5 * time.Second},
	}, nil)
	pe.Start()
	t.Cleanup(pe.Close)
	r := waitEvent[Registered](t, peEv, nil)
	if r.ID != ourID {
		t.Fatalf("registered as 0x%x", r.ID)
	}
	if err := peers.WaitOutput(reg, "Successfully registered SigPool/", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("rspregistrar accepted our element 0x%x in SigPool", r.ID)

	// rspterminal on host 3 resolves EchoPool and gets its line back.
	term := rsplibStart(t, puHost, "sh", "-c",
		"(echo hello-from-rspterminal; sleep 300) | exec rspterminal -registrar="+regAddr.String()+
			" -poolhandle=EchoPool -loglevel=3 -logcolor=off")
	if err := peers.WaitOutput(term, "hello-from-rspterminal", 2*time.Minute); err != nil {
		t.Fatalf("rspterminal got no echo: %v", err)
	}

	// Our pool user on host 3 resolves SigPool at rspregistrar.
	puEv := newEventLog("PU")
	pu := NewPUDriver(DriverConfig{Transport: labsctp.Transport{Host: puHost, Kernel: k}, OnEvent: puEv.on},
		PUConfig{Request: 3 * time.Second, Hunt: HuntConfig{Registrars: []sctp.Addr{regSCTP}, Timeout: 5 * time.Second}})
	pu.Start()
	t.Cleanup(pu.Close)
	pu.Resolve([]byte("SigPool"), 1)
	sel := waitEvent[Selected](t, puEv, nil)
	if sel.Element.ID != ourID || sel.Element.Policy.Type != LeastUsed || sel.Element.UserTransport.Port != 2905 ||
		!slices.Contains(sel.Element.UserTransport.Addrs, peHost.A) {
		t.Fatalf("rspregistrar resolved SigPool to %+v, want our element 0x%x", sel.Element, ourID)
	}
	t.Logf("rspregistrar resolved SigPool to our element: %+v", sel.Element)

	// rspregistrar's endpoint keep-alives (every 5 s by rsplib's default)
	// reach our PE, which answers them.
	deadline := time.Now().Add(time.Minute)
	for pe.Counters().KeepAlives == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no endpoint keep-alive from rspregistrar in a minute; PE counters %+v", pe.Counters())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// (A re-registration may be under way: wait for its answer.)
	for st, _ := pe.State(); st != PERegistered; st, _ = pe.State() {
		if time.Now().After(deadline) {
			t.Fatalf("our PE is %v after the keep-alive", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pe.Stop(ctx); err != nil {
		t.Fatalf("deregistering: %v", err)
	}
	term.Kill()
	if err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	checkASAPFrames(t, capture.File, "1", "2", "3", "4", "5", "6", "7", "8")

	msgs, err := readASAP(capture.File)
	if err != nil {
		t.Fatal(err)
	}
	// What rsplib sent: everything from rspregistrar, and what rspserver
	// and rspterminal sent about EchoPool (our PE and PU use SigPool).
	var golden []capturedASAP
	names := map[string]bool{}
	for _, m := range msgs {
		dm, _, err := DecodeMessage(m.data)
		if err != nil {
			t.Errorf("frame %d from %v: DecodeMessage: %v\n% x", m.frame, m.src, err, m.data)
			continue
		}
		fromReg := m.src == regAddr
		if !fromReg && !bytes.Contains(m.data, []byte("EchoPool")) {
			continue
		}
		again, err := Marshal(dm)
		switch {
		case err != nil:
			t.Errorf("frame %d: re-encoding %v: %v", m.frame, dm.Type(), err)
		case !bytes.Equal(again, m.data):
			t.Logf("frame %d: %v re-encodes differently:\n rsplib % x\n ours   % x", m.frame, dm.Type(), m.data, again)
		}
		name := goldenName(dm, fromReg)
		if m.chunks == 1 && !names[name] {
			names[name] = true
			m.name = name
			golden = append(golden, m)
			t.Logf("frame %d %v -> %v: %s (%d bytes)", m.frame, m.src, m.dst, name, len(m.data))
		}
	}
	if *updateGolden {
		writeGolden(t, capture.File, golden)
	}
}

// goldenName names a golden file after the message, its sender and its
// pool.
func goldenName(m Message, fromReg bool) string {
	who := "rspregistrar"
	if !fromReg {
		who = "rsplib-pe"
		if m.Type() == MsgHandleResolution {
			who = "rsplib-pu"
		}
	}
	name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(m.Type().String(), "ASAP_"), "_", "-"))
	pool := ""
	switch m := m.(type) {
	case *HandleResolutionResponse:
		pool = string(m.PoolHandle)
	case *RegistrationResponse:
		pool = string(m.PoolHandle)
	}
	if pool != "" {
		name += "-" + strings.ToLower(pool)
	}
	return who + "-" + name
}

func writeGolden(t *testing.T, capture string, msgs []capturedASAP) {
	dir := filepath.Join("testdata", "golden")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		name := m.name
		text := tsharkDecode(t, capture, "-Y", fmt.Sprintf("frame.number == %d", m.frame), "-O", "asap")
		if err := os.WriteFile(filepath.Join(dir, name+".bin"), m.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".tshark.txt"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d golden messages to %s", len(msgs), dir)
}

// ipCmd runs the peers image's ip(8) in host h.
func ipCmd(t *testing.T, h *netlab.Host, args ...string) {
	t.Helper()
	p, err := peers.Start(h, "ip", args...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("ip %s in %v: %v\n%s", strings.Join(args, " "), h, err, p.Output())
	}
}

// TestLabRsplibAnnounce: rspregistrar without a fixed ASAP address (it
// binds a random port) announces itself on 239.0.0.50:3863 over network
// A; our PE, with announces on and no registrar configured, joins the
// group through the driver's listener, finds rspregistrar in an announce
// (which has no transport parameter: rspregistrar sends it from its ASAP
// port, and the PE dials that), and registers there. tshark decodes the
// announces.
func TestLabRsplibAnnounce(t *testing.T) {
	topo := peersTopology(t, 2)
	regHost, peHost := topo.Host(1), topo.Host(2)
	for _, h := range []*netlab.Host{regHost, peHost} {
		ipCmd(t, h, "route", "add", "224.0.0.0/4", "dev", netlab.IfaceA)
	}
	capture, err := peers.StartCapture(peHost, netlab.IfaceA, "asap-announce", "-f", "sctp or udp port 3863")
	if err != nil {
		t.Fatal(err)
	}
	reg := rsplibStart(t, regHost, "rspregistrar", "-enrp="+netip.AddrPortFrom(regHost.A, 9901).String(),
		"-asapannounce="+DefaultAnnounceGroup.String(), "-loglevel=4", "-logcolor=off")
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if err := capture.Stop(); err == nil {
			t.Logf("tshark's summary of %s:\n%s", capture.File, tsharkDecode(t, capture.File))
		}
		t.Logf("rspregistrar's output:\n%s", reg.Output())
	})

	k := sctp.Kernel{Config: sctp.Config{Tuning: sctp.RFC}}
	ev := newEventLog("PE")
	const ourID = 0x5169a0a0
	pe := NewPEDriver(DriverConfig{Transport: labsctp.Transport{Host: peHost, Kernel: k}, OnEvent: ev.on}, PEConfig{
		PoolHandle: []byte("SigPool"),
		Element: PoolElement{ID: ourID,
			UserTransport: userTransport(sctp.Addr{IPs: []netip.Addr{peHost.A, peHost.B}, Port: 2905}),
			Policy:        Policy{Type: RoundRobin}},
		Registration: 3 * time.Second,
		Hunt:         HuntConfig{Announces: true, Timeout: 5 * time.Second},
	}, nil)
	err = pe.ListenAnnounces(AnnounceConfig{Interface: netlab.IfaceA,
		Listen: func(g netip.AddrPort, iface string) (c net.PacketConn, err error) {
			err = peHost.Do(func() error {
				c, err = ListenAnnounceGroup(g, iface)
				return err
			})
			return c, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	pe.Start()
	t.Cleanup(pe.Close)
	c := waitEvent[RegistrarConnected](t, ev, nil)
	t.Logf("our PE found rspregistrar at %v through its announce", c.Addr)
	r := waitEvent[Registered](t, ev, nil)
	if r.ID != ourID {
		t.Fatalf("registered as 0x%x", r.ID)
	}
	if err := peers.WaitOutput(reg, "Successfully registered SigPool/", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(c.Addr.IPs, regHost.A) || c.Addr.Port == Port {
		t.Errorf("connected to %v: want rspregistrar's random port at %v", c.Addr, regHost.A)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pe.Stop(ctx); err != nil {
		t.Fatalf("deregistering: %v", err)
	}
	if err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	checkASAPFrames(t, capture.File, "10", "1", "3", "2", "4")
	msgs, err := readASAP(capture.File)
	if err != nil {
		t.Fatal(err)
	}
	var golden []capturedASAP
	for _, m := range msgs {
		dm, _, err := DecodeMessage(m.data)
		if err != nil {
			t.Errorf("frame %d from %v: DecodeMessage: %v\n% x", m.frame, m.src, err, m.data)
			continue
		}
		if sa, ok := dm.(*ServerAnnounce); ok && golden == nil {
			t.Logf("frame %d: rspregistrar's announce: %+v", m.frame, sa)
			again, _ := Marshal(sa)
			if !bytes.Equal(again, m.data) {
				t.Logf("it re-encodes differently:\n rsplib % x\n ours   % x", m.data, again)
			}
			m.name = "rspregistrar-server-announce"
			golden = append(golden, m)
		}
	}
	if golden == nil {
		t.Errorf("no server announce in the capture")
	}
	if *updateGolden {
		writeGolden(t, capture.File, golden)
	}
}
