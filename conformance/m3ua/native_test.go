package m3ua_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

// TestConformance runs the whole suite over the in-memory SCTP of
// sctptest: fast, for iterating. The run that counts is TestLabConformance
// over kernel SCTP.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("the conformance suite takes a while")
	}
	n := sctptest.NewNetwork()
	e := &env{
		name: "sctptest", sgpT: n, aspT: n,
		sgpIP: []netip.Addr{netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.2.0.1")},
		aspIP: []netip.Addr{netip.MustParseAddr("10.1.0.2"), netip.MustParseAddr("10.2.0.2")},
		wait:  3 * time.Second, quiet: 150 * time.Millisecond,
	}
	e.ack = 300 * time.Millisecond
	e.port.Store(3000)
	runSuite(t, e, suite())
}
