package sctp

import (
	"net/netip"
	"testing"
)

// FuzzParseNotification feeds arbitrary bytes to the notification decoder:
// it must never panic, and what it accepts must be self-consistent.
func FuzzParseNotification(f *testing.F) {
	f.Add(fixAssocChange(0, 0, 17, 17))
	f.Add(fixAssocChange(1, 3, 0, 0))
	f.Add(fixPaddrChange(netip.MustParseAddr("10.0.0.2"), 6, 0))
	f.Add(fixPaddrChange(netip.MustParseAddr("2001:db8::2"), 1, 0))
	f.Add(fixSendFailedEvent(1, 3, 1, 3, []byte("data")))
	f.Add(fixSendFailed(1, 3, 0, 11, []byte("data")))
	f.Add(fixShutdown())
	f.Add(fixPDAbort())
	f.Fuzz(func(t *testing.T, b []byte) {
		var n notification
		if err := parseNotification(b, &n); err != nil {
			return
		}
		if n.deliver && (n.ev.Kind < EventCommUp || n.ev.Kind > EventSendFailed) {
			t.Fatalf("delivered event of kind %d", n.ev.Kind)
		}
		if u := n.ev.Unsent; u != nil {
			if n.ev.Kind != EventSendFailed || len(u.Data) > len(b) {
				t.Fatalf("unsent %d bytes from %d input bytes, kind %v", len(u.Data), len(b), n.ev.Kind)
			}
		}
		_ = n.ev.String()
	})
}
