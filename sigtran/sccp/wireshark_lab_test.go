//go:build lab && linux

//siglab:peers

package sccp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/lab/peers"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Wireshark cross-checks the hand-assembled golden messages: they travel in
// M3UA DATA over kernel SCTP between two lab hosts, are captured, and
// tshark's SCCP dissector must read the same fields as Decode. The user
// data of these goldens is not TCAP, so the TCAP dissector is off.
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
	capture, err := peers.StartCapture(asp, netlab.IfaceA, "sccp-goldens", "-f", "sctp")
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
	goldens := [][]byte{udtHLR, xudtSSN, udtsCause}
	for _, g := range goldens {
		if err := c.SendData(m3ua.UserData{RC: 1, HasRC: true, OPC: 42, DPC: 513, SI: 3, NI: 2, SLS: 1, Payload: g}); err != nil {
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
		out, err := peers.Decode(ctx, capture.File, append([]string{"--disable-protocol", "tcap"}, args...)...)
		if err != nil {
			t.Fatalf("tshark: %v\n%s", err, out)
		}
		return out
	}
	verbose := decode("-Y", "sccp", "-V", "-O", "sccp")
	t.Logf("tshark -V:\n%s", verbose)
	// the header fields of the goldens, as their comments name them
	for _, want := range []string{
		"Class: 0x1", "Class: 0x0", "Message handling: Return message on error (0x8)",
		"Numbering Plan: ISDN/telephony (0x1)", "Encoding Scheme: BCD, even number of digits (0x2)",
		"Encoding Scheme: BCD, odd number of digits (0x1)", "Nature of Address Indicator: International number (0x04)",
		"Hop Counter: 0x0f", "Importance: 0x3", "Return Cause: Subsystem failure (0x03)",
	} {
		if !strings.Contains(verbose, want) {
			t.Errorf("tshark -V does not say %q", want)
		}
	}
	if bad := decode("-Y", "_ws.malformed || _ws.expert.severity == error"); strings.TrimSpace(bad) != "" {
		t.Fatalf("tshark finds malformed frames or errors:\n%s", bad)
	}
	fields := []string{"sccp.message_type", "sccp.called.ssn", "sccp.calling.ssn", "sccp.called.pc", "sccp.calling.pc",
		"sccp.called.digits", "sccp.calling.digits", "sccp.hops", "sccp.return_cause"}
	args := []string{"-Y", "sccp", "-T", "fields", "-E", "separator=|"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(decode(args...)), "\n") {
		rows[line] = true
	}
	// tshark's reading, field by field, of what Decode reads (TestDecodeUDT,
	// TestDecodeXUDT, TestDecodeUDTS)
	for _, want := range []string{
		"0x09|6|8||42|9199000000|919910100||",
		"0x11|146|8|513|42|||0x0f|",
		"0x0a|8|6||||||0x03",
	} {
		if !rows[want] {
			t.Errorf("tshark did not read %q; it read:\n%s", want, strings.Join(keys(rows), "\n"))
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
