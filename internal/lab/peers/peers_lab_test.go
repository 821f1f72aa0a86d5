//go:build lab && linux

//siglab:peers

package peers_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/lab/peers"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// newTopology builds a topology for a test that needs the peers image,
// failing at once, and saying why, when the image is not attached.
func newTopology(t *testing.T, hosts int) *netlab.Topology {
	t.Helper()
	if err := peers.Available(); err != nil {
		t.Fatal(err)
	}
	topo, err := netlab.New(hosts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { topo.Close() })
	return topo
}

// decode runs tshark over a capture and fails the test on error.
func decode(t *testing.T, file string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := peers.Decode(ctx, file, args...)
	if err != nil {
		t.Fatalf("decoding %s: %v", file, err)
	}
	return out
}

// checkWellFormed fails when tshark finds a malformed packet or an error in
// the capture.
func checkWellFormed(t *testing.T, file string) {
	t.Helper()
	if bad := decode(t, file, "-Y", "_ws.malformed || _ws.expert.severity == error"); strings.TrimSpace(bad) != "" {
		t.Errorf("tshark finds malformed packets or errors in %s:\n%s", file, bad)
	}
}

// osmoSTPConfig is a minimal osmo-stp configuration: one M3UA ASP (the
// peer at remoteIP, SCTP port 2905 on both sides: osmo-stp 1.6 matches an
// incoming association on local and remote port), as an SG, in AS as0
// with routing context 23.
func osmoSTPConfig(localIP, remoteIP netip.Addr) string {
	return fmt.Sprintf(`log stderr
 logging filter all 1
 logging color 0
 logging print category 1
 logging level lss7 info
cs7 instance 0
 asp asp0 2905 2905 m3ua
  remote-ip %s
  role sg
  sctp-role server
 as as0 m3ua
  asp asp0
  routing-key 23 0.2.7
 route-table system
  update route 0.2.7 0.2.7 linkset as0
 listen m3ua 2905
  local-ip %s
`, remoteIP, localIP)
}

// TestLabOsmoSTPAcceptsM3UA starts osmo-stp in one host, associates with
// it over kernel SCTP from another host, sends M3UA ASP Up and expects ASP
// Up Ack, and checks that tshark decodes the captured exchange as M3UA.
func TestLabOsmoSTPAcceptsM3UA(t *testing.T) {
	topo := newTopology(t, 2)
	stp, asp := topo.Host(1), topo.Host(2)
	cfg := filepath.Join(t.TempDir(), "osmo-stp.cfg")
	if err := os.WriteFile(cfg, []byte(osmoSTPConfig(stp.A, asp.A)), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p, err := peers.Start(stp, "osmo-stp", "-c", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := peers.WaitSCTPListening(stp, 2905, p, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("osmo-stp listens on SCTP port 2905 %s after its start", time.Since(start).Round(time.Millisecond))

	capture, err := peers.StartCapture(asp, netlab.IfaceA, "m3ua-aspup", "-f", "sctp")
	if err != nil {
		t.Fatal(err)
	}
	var c *sctp.Conn
	err = asp.Do(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err = sctp.Dial(ctx, sctp.Config{},
			sctp.Addr{IPs: []netip.Addr{asp.A}, Port: 2905},
			sctp.Addr{IPs: []netip.Addr{stp.A}, Port: 2905})
		return err
	})
	if err != nil {
		t.Fatalf("associating with osmo-stp: %v\nosmo-stp's output:\n%s", err, p.Output())
	}
	defer c.Close()
	// M3UA ASP Up: version 1, class ASPSM (3), type ASPUP (1), length 8.
	if err := c.Send(sctp.Message{Stream: 0, PPID: 3, Data: []byte{1, 0, 3, 1, 0, 0, 0, 8}}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 4096)
	for {
		m, ev, err := c.Recv(buf)
		if err != nil {
			t.Fatalf("waiting for ASP Up Ack: %v\nosmo-stp's output:\n%s", err, p.Output())
		}
		if ev != nil {
			continue
		}
		if m.PPID != 3 || len(m.Data) < 8 || m.Data[0] != 1 {
			t.Fatalf("osmo-stp sent something that is not M3UA: PPID %d, % x", m.PPID, m.Data)
		}
		if m.Data[2] == 3 && m.Data[3] == 4 { // ASPSM, ASPUP ACK
			break
		}
		t.Logf("osmo-stp sent M3UA class %d type %d before the ASP Up Ack", m.Data[2], m.Data[3])
	}
	t.Logf("osmo-stp answered ASP Up with ASP Up Ack")
	c.Close()
	if err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	// class,type of every M3UA message tshark finds: ASPSM ASPUP (3,1)
	// and ASPUP ACK (3,4) must be among them.
	msgs := decode(t, capture.File, "-Y", "m3ua", "-T", "fields", "-E", "separator=,", "-e", "m3ua.message_class", "-e", "m3ua.message_type")
	for _, want := range []string{"3,1", "3,4"} {
		if !slices.Contains(strings.Fields(msgs), want) {
			t.Errorf("tshark finds no M3UA message of class,type %s in %s; it finds: %q", want, capture.File, strings.Fields(msgs))
		}
	}
	checkWellFormed(t, capture.File)
	if t.Failed() {
		t.Logf("tshark's summary of %s:\n%s", capture.File, decode(t, capture.File))
	}
}

// TestLabRSerPoolRegistration starts rspregistrar in one host and an
// rspserver pool element in another, waits for the registration, and
// checks that tshark decodes the captured ASAP exchange.
func TestLabRSerPoolRegistration(t *testing.T) {
	topo := newTopology(t, 2)
	regHost, peHost := topo.Host(1), topo.Host(2)
	capture, err := peers.StartCapture(regHost, netlab.IfaceA, "asap-registration", "-f", "sctp")
	if err != nil {
		t.Fatal(err)
	}
	asap := netip.AddrPortFrom(regHost.A, 3863).String()
	start := time.Now()
	reg, err := peers.Start(regHost, "rspregistrar",
		"-asap="+asap, "-enrp="+netip.AddrPortFrom(regHost.A, 9901).String(),
		"-loglevel=4", "-logcolor=off")
	if err != nil {
		t.Fatal(err)
	}
	if err := peers.WaitSCTPListening(regHost, 3863, reg, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("rspregistrar listens on SCTP port 3863 %s after its start", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	pe, err := peers.Start(peHost, "rspserver", "-echo", "-registrar="+asap, "-poolhandle=EchoPool", "-loglevel=3", "-logcolor=off")
	if err != nil {
		t.Fatal(err)
	}
	if err := peers.WaitOutput(reg, "Successfully registered EchoPool/", 2*time.Minute); err != nil {
		t.Fatalf("%v\nrspserver's output:\n%s", err, pe.Output())
	}
	t.Logf("rspserver registered with rspregistrar %s after its start", time.Since(start).Round(time.Millisecond))
	if err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	// Registration (1) with pool handle EchoPool, Registration Response (3).
	msgs := decode(t, capture.File, "-Y", "asap", "-T", "fields", "-e", "asap.message_type")
	for _, want := range []string{"1", "3"} {
		if !slices.Contains(strings.Fields(msgs), want) {
			t.Errorf("tshark finds no ASAP message of type %s in %s; it finds: %q", want, capture.File, strings.Fields(msgs))
		}
	}
	if text := decode(t, capture.File, "-V", "-Y", "asap.message_type == 1"); !strings.Contains(text, "Pool Handle: 4563686f506f6f6c (EchoPool)") {
		t.Errorf("tshark's decode of the ASAP Registration in %s names no pool handle EchoPool:\n%s", capture.File, text)
	}
	checkWellFormed(t, capture.File)
	if t.Failed() {
		t.Logf("tshark's summary of %s:\n%s", capture.File, decode(t, capture.File))
	}
}
