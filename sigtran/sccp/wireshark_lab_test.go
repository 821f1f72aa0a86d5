//go:build lab && linux

//siglab:peers

package sccp

import (
	"strings"
	"testing"

	"github.com/sigpool/sigpool/internal/lab/labm3ua"
)

// Wireshark cross-checks the hand-assembled golden messages: they travel in
// M3UA DATA over kernel SCTP between two lab hosts, are captured, and
// tshark's SCCP dissector must read the same fields as Decode. The user
// data of these goldens is not TCAP, so the TCAP dissector is off.
func TestLabWiresharkGoldens(t *testing.T) {
	capture := labm3ua.CaptureData(t, "sccp-goldens", [][]byte{udtHLR, xudtSSN, udtsCause})
	capture.Disabled = []string{"tcap"}
	decode := capture.Decode
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
