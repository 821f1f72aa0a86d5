//go:build lab && linux

//siglab:peers

package tcap

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/lab/peers"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Wireshark cross-checks the hand-assembled golden TCAP messages: each
// travels as the user data of a UDT in M3UA DATA over kernel SCTP between
// two lab hosts, is captured, and tshark's TCAP dissector must read the
// same kind and transaction ids as Decode, and find nothing malformed. The
// GSM MAP dissector is off: only the transaction portion is checked here.
func TestLabWiresharkGoldens(t *testing.T) {
	if err := peers.Available(); err != nil {
		t.Fatal(err)
	}
	topo, err := netlab.New(2)
	if err != nil {
		t.Fatalf("netlab.New(2): %v (run the lab tests with siglab test)", err)
	}
	t.Cleanup(func() { topo.Close() })
	sgp, asp := topo.Host(1), topo.Host(2)
	got := make(chan int, 16)
	srv := m3ua.NewServer(m3ua.ServerConfig{
		SGP:      m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 1, Mode: m3ua.Loadshare}}},
		Handlers: m3ua.Handlers{Data: func(_ m3ua.AssocID, u m3ua.UserData) { got <- len(u.Payload) }},
	})
	ln, err := labsctp.Transport{Host: sgp}.Listen(labsctp.Addr(sgp, 2905))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	capture, err := peers.StartCapture(asp, netlab.IfaceA, "tcap-goldens", "-f", "sctp")
	if err != nil {
		t.Fatal(err)
	}
	c, err := m3ua.StartClient(m3ua.ClientConfig{
		ASP:       m3ua.ASPConfig{RCs: []uint32{1}, AutoActivate: true},
		Transport: labsctp.Transport{Host: asp}, Local: labsctp.Addr(asp, 0),
		SGPs: []sctp.Addr{labsctp.Addr(sgp, 2905)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.WaitActive(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for _, g := range [][]byte{beginMsg, continueMsg, endMsg, pAbortMsg, uniMsg} {
		u := sccp.Message{Type: sccp.UDT, Class: 0,
			Called:  sccp.Address{RouteOnSSN: true, HasPC: true, PC: 513, HasSSN: true, SSN: 6},
			Calling: sccp.Address{RouteOnSSN: true, HasPC: true, PC: 42, HasSSN: true, SSN: 8}, Data: g}
		b, err := u.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SendData(m3ua.UserData{RC: 1, HasRC: true, OPC: 42, DPC: 513, SI: 3, NI: 2, SLS: 1, Payload: b}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatal("DATA not delivered")
		}
	}
	if err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	decode := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := peers.Decode(ctx, capture.File, append([]string{"--disable-protocol", "gsm_map"}, args...)...)
		if err != nil {
			t.Fatalf("tshark: %v\n%s", err, out)
		}
		return out
	}
	verbose := decode("-Y", "tcap", "-V", "-O", "tcap")
	t.Logf("tshark -V:\n%s", verbose)
	// the elements of the goldens, as their comments name them
	for _, want := range []string{
		"unidirectional", "oid: 0.0.17.773.1.1.1 (id-as-dialogue)", "version1: True",
		"application-context-name: 0.4.0.0.1.0.20.3", "Component: invoke (1)", "Component: returnResultLast (2)",
		"invokeID: 1", "invokeID: 0", "localValue: 45", "localValue: 5",
		"p-abortCause: unrecognizedTransactionID (1)",
	} {
		if !strings.Contains(verbose, want) {
			t.Errorf("tshark -V does not say %q", want)
		}
	}
	if bad := decode("-Y", "_ws.malformed || _ws.expert.severity == error"); strings.TrimSpace(bad) != "" {
		t.Fatalf("tshark finds malformed frames or errors:\n%s", bad)
	}
	rows := map[string]bool{}
	out := decode("-Y", "tcap", "-T", "fields", "-E", "separator=|", "-e", "tcap.otid", "-e", "tcap.dtid", "-e", "_ws.col.Info")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			t.Fatalf("tshark line %q", line)
		}
		// the Info column may start with SACK and the like
		info := f[2]
		for _, k := range []string{"Begin", "Continue", "End", "Abort", "Unidirectional", "unidirectional", "begin", "end", "abort"} {
			if strings.Contains(info, k) {
				rows[f[0]+"|"+f[1]+"|"+strings.ToLower(k)] = true
			}
		}
	}
	// what Decode reads from the goldens (TestDecodeGolden)
	for _, want := range []string{
		"01020304||begin",
		"aabbccdd|01020304|continue",
		"|01020304|end",
		"|01020304|abort",
	} {
		if !rows[want] {
			t.Errorf("tshark did not read %q; it read:\n%s", want, out)
		}
	}
}
