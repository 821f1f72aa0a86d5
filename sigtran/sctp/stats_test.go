package sctp

import (
	"net/netip"
	"testing"
	"time"
)

// fixAssocStats builds a struct sctp_assoc_stats with distinct values per
// field, as the kernel fills it.
func fixAssocStats(maxRTOms uint64, peer netip.Addr) []byte {
	b := make([]byte, sizeAssocStats)
	putSockaddr(b[offASObsRTOAddr:], peer, 2905)
	ne.PutUint64(b[offASMaxRTO:], maxRTOms)
	for i, off := range []int{offASISacks, offASOSacks, offASOPackets, offASIPackets, offASRtxChunks, offASOutOfSeq,
		offASIDupChunks, offASGapCnt, offASOUOChunks, offASIUOChunks, offASOOChunks, offASIOChunks, offASOCtrl, offASICtrl} {
		ne.PutUint64(b[off:], uint64(100+i))
	}
	return b
}

func TestParseAssocStats(t *testing.T) {
	peer := netip.MustParseAddr("10.2.0.2")
	st, ok := parseAssocStats(fixAssocStats(400, peer))
	if !ok {
		t.Fatal("refused")
	}
	want := Stats{
		SACKsIn: 100, SACKsOut: 101, PacketsOut: 102, PacketsIn: 103, RetransmittedChunks: 104,
		OutOfSequenceTSNs: 105, DuplicateChunksIn: 106, GapAcksIn: 107, UnorderedOut: 108, UnorderedIn: 109,
		DataChunksOut: 108 + 110, DataChunksIn: 109 + 111, ControlChunksOut: 112, ControlChunksIn: 113,
		MaxRTO: 400 * time.Millisecond, MaxRTOPeer: peer,
	}
	if st != want {
		t.Fatalf("got  %+v\nwant %+v", st, want)
	}
	// No RTO observed: no peer either.
	st, _ = parseAssocStats(fixAssocStats(0, peer))
	if st.MaxRTO != 0 || st.MaxRTOPeer.IsValid() {
		t.Fatalf("no observation: %+v", st)
	}
	if _, ok := parseAssocStats(make([]byte, sizeAssocStats-1)); ok {
		t.Fatal("short structure accepted")
	}
}

// FuzzParseAssocStats: any bytes are refused or decoded, never a panic.
func FuzzParseAssocStats(f *testing.F) {
	f.Add(fixAssocStats(400, netip.MustParseAddr("10.2.0.2")))
	f.Add(fixAssocStats(^uint64(0), netip.MustParseAddr("2001:db8::2")))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, ok := parseAssocStats(b)
		if !ok {
			if len(b) >= sizeAssocStats {
				t.Fatalf("refused %d bytes", len(b))
			}
			return
		}
		if st.MaxRTO < 0 || st.RetransmittedChunks != ne.Uint64(b[offASRtxChunks:]) {
			t.Fatalf("inconsistent %+v", st)
		}
	})
}
