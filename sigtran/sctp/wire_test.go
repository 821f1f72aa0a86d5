package sctp

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSndInfoCmsgPutsPPIDInNetworkOrder(t *testing.T) {
	b := make([]byte, sndInfoSpace)
	putSndInfo(b, 9, 0xdeadbeef, true)
	if got := binary.NativeEndian.Uint64(b[0:]); got != uint64(unix.CmsgLen(16)) {
		t.Errorf("cmsg_len %d, want %d", got, unix.CmsgLen(16))
	}
	if lvl, typ := binary.NativeEndian.Uint32(b[8:]), binary.NativeEndian.Uint32(b[12:]); lvl != unix.IPPROTO_SCTP || typ != 2 {
		t.Errorf("cmsg level/type %d/%d, want 132/2 (SCTP_SNDINFO)", lvl, typ)
	}
	d := b[unix.CmsgLen(0):]
	if sid := binary.NativeEndian.Uint16(d[0:]); sid != 9 {
		t.Errorf("snd_sid %d, want 9", sid)
	}
	if fl := binary.NativeEndian.Uint16(d[2:]); fl != 1 {
		t.Errorf("snd_flags %#x, want SCTP_UNORDERED", fl)
	}
	// The kernel copies snd_ppid to the DATA chunk as is: the bytes in
	// memory are the bytes on the wire.
	if !bytes.Equal(d[4:8], []byte{0xde, 0xad, 0xbe, 0xef}) {
		t.Errorf("snd_ppid bytes % x, want de ad be ef", d[4:8])
	}
	putSndInfo(b, 0, 3, false)
	if fl := binary.NativeEndian.Uint16(d[2:]); fl != 0 {
		t.Errorf("ordered message: snd_flags %#x, want 0", fl)
	}
	if !bytes.Equal(d[4:8], []byte{0, 0, 0, 3}) {
		t.Errorf("M3UA PPID bytes % x, want 00 00 00 03", d[4:8])
	}
}

func TestParseRcvInfo(t *testing.T) {
	var ri rcvInfo
	oob := append(fixOtherCmsg(), fixRcvInfoCmsg(11, 1, 11)...)
	if !parseRcvInfo(oob, &ri) {
		t.Fatal("RCVINFO not found after an unrelated cmsg")
	}
	if ri.stream != 11 || ri.ppid != 11 || !ri.unordered {
		t.Errorf("got %+v, want stream 11 ppid 11 unordered", ri)
	}
	if !parseRcvInfo(fixRcvInfoCmsg(3, 0, 0xdeadbeef), &ri) || ri.ppid != 0xdeadbeef || ri.unordered {
		t.Errorf("got %+v, want ppid 0xdeadbeef ordered", ri)
	}
	for _, bad := range [][]byte{nil, {1, 2, 3}, fixOtherCmsg(), fixRcvInfoCmsg(1, 0, 1)[:20]} {
		if parseRcvInfo(bad, &ri) {
			t.Errorf("parseRcvInfo(% x) found info", bad)
		}
	}
	// A length field larger than the buffer is rejected, not followed.
	huge := fixRcvInfoCmsg(1, 0, 1)
	binary.NativeEndian.PutUint64(huge[0:], 1<<40)
	if parseRcvInfo(huge, &ri) {
		t.Error("cmsg with an oversized length accepted")
	}
}

func TestSockaddrRoundTrip(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "10.1.2.3", "::1", "2001:db8::7", "::ffff:192.0.2.9"} {
		ip := netip.MustParseAddr(s)
		b := make([]byte, 128)
		putSockaddr(b, ip, 2905)
		got, port, size, ok := parseSockaddr(b)
		if !ok || got != ip.Unmap() || port != 2905 {
			t.Errorf("%s: got %v port %d ok %v", s, got, port, ok)
		}
		want := 16
		if ip.Unmap().Is6() {
			want = 28
		}
		if size != want {
			t.Errorf("%s: sockaddr size %d, want %d", s, size, want)
		}
		if !bytes.Equal(b[:size], fixSockaddr(ip.Unmap(), 2905)[:size]) {
			t.Errorf("%s: encoding % x differs from the fixture", s, b[:size])
		}
	}
	if _, _, _, ok := parseSockaddr([]byte{0xff, 0xff, 0, 0}); ok {
		t.Error("unknown family accepted")
	}
}

func TestParseGetAddrsMixedFamilies(t *testing.T) {
	b := make([]byte, 8)
	binary.NativeEndian.PutUint32(b[4:], 3)
	b = append(b, fixSockaddr(netip.MustParseAddr("127.0.0.1"), 3868)[:16]...)
	b = append(b, fixSockaddr(netip.MustParseAddr("2001:db8::1"), 3868)[:28]...)
	b = append(b, fixSockaddr(netip.MustParseAddr("127.0.0.2"), 3868)[:16]...)
	a, ok := parseGetAddrs(b)
	if !ok || a.String() != "127.0.0.1+[2001:db8::1]+127.0.0.2:3868" {
		t.Fatalf("got %v ok=%v", a, ok)
	}
	binary.NativeEndian.PutUint32(b[4:], 4) // claims one more than present
	if _, ok := parseGetAddrs(b); ok {
		t.Error("truncated list accepted")
	}
}

func TestParseNotification(t *testing.T) {
	v4 := netip.MustParseAddr("10.0.0.2")
	v6 := netip.MustParseAddr("2001:db8::2")
	cases := []struct {
		name string
		b    []byte
		want Event
		// deliver false: parsed but not reported
		deliver, pdAbort, shutdownComp bool
	}{
		{"comm-up", fixAssocChange(0, 0, 17, 16), Event{Kind: EventCommUp, OutStreams: 17, InStreams: 16}, true, false, false},
		{"comm-lost", fixAssocChange(1, 5, 17, 17), Event{Kind: EventCommLost, Error: 5}, true, false, false},
		{"restart", fixAssocChange(2, 0, 4, 5), Event{Kind: EventRestart, OutStreams: 4, InStreams: 5}, true, false, false},
		{"shutdown-comp", fixAssocChange(3, 0, 0, 0), Event{Kind: EventShutdown}, true, false, true},
		{"cant-start", fixAssocChange(4, 1, 0, 0), Event{Kind: EventCantStart, Error: 1}, true, false, false},
		{"unknown assoc state", fixAssocChange(9, 0, 0, 0), Event{}, false, false, false},
		{"available", fixPaddrChange(v4, 0, 2), Event{Kind: EventAddrAvailable, Addr: v4, Error: 2}, true, false, false},
		{"unreachable v6", fixPaddrChange(v6, 1, 0), Event{Kind: EventAddrUnreachable, Addr: v6}, true, false, false},
		{"removed", fixPaddrChange(v4, 2, 0), Event{Kind: EventAddrRemoved, Addr: v4}, true, false, false},
		{"added", fixPaddrChange(v4, 3, 0), Event{Kind: EventAddrAdded, Addr: v4}, true, false, false},
		{"made-prim", fixPaddrChange(v4, 4, 0), Event{Kind: EventAddrMadePrimary, Addr: v4}, true, false, false},
		{"confirmed", fixPaddrChange(v4, 5, 0), Event{Kind: EventAddrAvailable, Addr: v4}, true, false, false},
		{"potentially-failed", fixPaddrChange(v4, 6, 0), Event{Kind: EventAddrPotentiallyFailed, Addr: v4}, true, false, false},
		{"shutdown", fixShutdown(), Event{Kind: EventShutdown}, true, false, false},
		{"pd aborted", fixPDAbort(), Event{}, false, true, false},
		{"remote error ignored", snHeader(make([]byte, 16), 0x8004), Event{}, false, false, false},
		{"sender dry ignored", snHeader(make([]byte, 12), 0x8009), Event{}, false, false, false},
	}
	var n notification
	for _, c := range cases {
		if err := parseNotification(c.b, &n); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if n.deliver != c.deliver || n.pdAborted != c.pdAbort || n.shutdownComp != c.shutdownComp {
			t.Errorf("%s: deliver/pd/shutdownComp %v/%v/%v, want %v/%v/%v", c.name, n.deliver, n.pdAborted, n.shutdownComp, c.deliver, c.pdAbort, c.shutdownComp)
		}
		if c.deliver && n.ev != c.want {
			t.Errorf("%s: got %v (%+v), want %v (%+v)", c.name, n.ev, n.ev, c.want, c.want)
		}
	}
}

func TestParseSendFailedCarriesTheMessage(t *testing.T) {
	data := []byte("an M3UA DATA that never left")
	for name, b := range map[string][]byte{
		"SCTP_SEND_FAILED_EVENT": fixSendFailedEvent(0x11, 7, 1, 3, data),
		"SCTP_SEND_FAILED":       fixSendFailed(0x11, 7, 1, 3, data),
	} {
		var n notification
		if err := parseNotification(b, &n); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		u := n.ev.Unsent
		if !n.deliver || n.ev.Kind != EventSendFailed || n.ev.Error != 0x11 || u == nil {
			t.Fatalf("%s: got %v", name, n.ev)
		}
		if u.Stream != 7 || u.PPID != 3 || !u.Unordered || !bytes.Equal(u.Data, data) {
			t.Errorf("%s: unsent %+v", name, u)
		}
		b[len(b)-1] ^= 0xff
		if u.Data[len(u.Data)-1] != data[len(data)-1] {
			t.Errorf("%s: Unsent.Data aliases the receive buffer", name)
		}
	}
}

func TestParseNotificationRejectsMalformed(t *testing.T) {
	var n notification
	short := fixPaddrChange(netip.MustParseAddr("10.0.0.1"), 0, 0)[:100]
	binary.NativeEndian.PutUint32(short[4:], 100)
	lying := fixAssocChange(0, 0, 1, 1)
	binary.NativeEndian.PutUint32(lying[4:], 4000) // longer than the buffer
	tiny := fixAssocChange(0, 0, 1, 1)
	binary.NativeEndian.PutUint32(tiny[4:], 4) // shorter than a header
	truncAssoc := snHeader(make([]byte, 12), 0x8001)
	badFamily := fixPaddrChange(netip.MustParseAddr("10.0.0.1"), 0, 0)
	binary.NativeEndian.PutUint16(badFamily[8:], 77)
	for name, b := range map[string][]byte{
		"empty": nil, "7 bytes": make([]byte, 7), "short paddr change": short,
		"length beyond buffer": lying, "length below header": tiny, "short assoc change": truncAssoc,
		"unknown address family": badFamily, "short send failed event": snHeader(make([]byte, 20), 0x800d),
	} {
		if err := parseNotification(b, &n); err == nil {
			t.Errorf("%s: accepted as %+v", name, n)
		}
	}
}
