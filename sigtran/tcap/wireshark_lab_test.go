//go:build lab && linux

//siglab:peers

package tcap

import (
	"strings"
	"testing"

	"github.com/sigpool/sigpool/internal/lab/labm3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
)

// Wireshark cross-checks the hand-assembled golden TCAP messages: each
// travels as the user data of a UDT in M3UA DATA over kernel SCTP between
// two lab hosts, is captured, and tshark's TCAP dissector must read the
// same kind and transaction ids as Decode, and find nothing malformed. The
// GSM MAP dissector is off: only the transaction portion is checked here.
func TestLabWiresharkGoldens(t *testing.T) {
	var payloads [][]byte
	for _, g := range [][]byte{beginMsg, continueMsg, endMsg, pAbortMsg, uniMsg} {
		u := sccp.Message{Type: sccp.UDT, Class: 0,
			Called:  sccp.Address{RouteOnSSN: true, HasPC: true, PC: 513, HasSSN: true, SSN: 6},
			Calling: sccp.Address{RouteOnSSN: true, HasPC: true, PC: 42, HasSSN: true, SSN: 8}, Data: g}
		b, err := u.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, b)
	}
	capture := labm3ua.CaptureData(t, "tcap-goldens", payloads)
	capture.Disabled = []string{"gsm_map"}
	decode := capture.Decode
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
