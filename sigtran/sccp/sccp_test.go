package sccp

import (
	"bytes"
	"errors"
	"testing"
)

// udtHLR is a UDT as an MSC sends it to an HLR, assembled by hand from
// Q.713 (section 4.10 layout, 3.4 addresses).
var udtHLR = []byte{
	0x09,                         // message type: UDT
	0x81,                         // protocol class 1, return message on error (bit 8)
	0x03,                         // pointer to called party address: 3 octets on (offset 5)
	0x0d,                         // pointer to calling party address: offset 3+13 = 16
	0x19,                         // pointer to data: offset 4+25 = 29
	0x0a,                         // called party address length 10
	0x12,                         // address indicator: route on GT, GTI 4, SSN present, no PC
	0x06,                         // SSN 6 (HLR)
	0x00,                         // translation type 0
	0x12,                         // numbering plan 1 (E.164), encoding scheme 2 (BCD, even)
	0x04,                         // nature of address: international number
	0x19, 0x99, 0x00, 0x00, 0x00, // digits 9199000000 (BCD, low nibble first)
	0x0c,       // calling party address length 12
	0x13,       // address indicator: route on GT, GTI 4, SSN, PC present
	0x2a, 0x00, // point code 42 (14 bits, low octet first)
	0x08,             // SSN 8 (MSC)
	0x00, 0x11, 0x04, // TT 0, NP 1 / ES 1 (BCD, odd), NAI international
	0x19, 0x99, 0x01, 0x01, 0x00, // digits 919910100, odd count: filler nibble
	0x03,             // data length 3
	0x62, 0x01, 0x00, // user data (opaque to SCCP)
}

// xudtSSN is an XUDT routed on SSN with both point codes and an
// importance parameter in its optional part.
var xudtSSN = []byte{
	0x11,       // message type: XUDT
	0x80,       // protocol class 0, return message on error
	0x0f,       // hop counter 15
	0x04,       // pointer to called party: offset 3+4 = 7
	0x08,       // pointer to calling party: offset 4+8 = 12
	0x0c,       // pointer to data: offset 5+12 = 17
	0x0e,       // pointer to optional part: offset 6+14 = 20
	0x04,       // called length 4
	0x43,       // route on SSN, GTI 0, SSN and PC present
	0x01, 0x02, // point code 0x0201 = 513
	0x92,       // SSN 146
	0x04,       // calling length 4
	0x43,       // route on SSN, SSN and PC present
	0x2a, 0x00, // point code 42
	0x08,       // SSN 8
	0x02,       // data length 2
	0x64, 0x00, // user data
	0x12, 0x01, 0x03, // optional: importance (0x12), length 1, value 3
	0x00, // end of optional parameters
}

// udtsCause is a UDTS returning data with cause "subsystem failure".
var udtsCause = []byte{
	0x0a,       // message type: UDTS
	0x03,       // return cause: subsystem failure
	0x03,       // pointer to called: offset 5
	0x05,       // pointer to calling: offset 3+5 = 8
	0x07,       // pointer to data: offset 4+7 = 11
	0x02,       // called length 2
	0x42, 0x08, // route on SSN, SSN 8
	0x02,       // calling length 2
	0x42, 0x06, // route on SSN, SSN 6
	0x01, 0x61, // data length 1, one octet
}

func TestDecodeUDT(t *testing.T) {
	var m Message
	if err := Decode(udtHLR, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != UDT || m.Class != 1 || !m.ReturnOnError {
		t.Fatalf("type/class: %+v", m)
	}
	c := m.Called
	if c.RouteOnSSN || c.HasPC || !c.HasSSN || c.SSN != SSNHLR || c.GTI != 4 ||
		!bytes.Equal(c.GT, []byte{0x00, 0x12, 0x04, 0x19, 0x99, 0x00, 0x00, 0x00}) {
		t.Fatalf("called: %+v", c)
	}
	g := m.Calling
	if g.RouteOnSSN || !g.HasPC || g.PC != 42 || !g.HasSSN || g.SSN != SSNMSC || g.GTI != 4 ||
		!bytes.Equal(g.GT, []byte{0x00, 0x11, 0x04, 0x19, 0x99, 0x01, 0x01, 0x00}) {
		t.Fatalf("calling: %+v", g)
	}
	if !bytes.Equal(m.Data, []byte{0x62, 0x01, 0x00}) {
		t.Fatalf("data % x", m.Data)
	}
	out, err := m.Append(nil)
	if err != nil || !bytes.Equal(out, udtHLR) {
		t.Fatalf("re-encode: %v\n got % x\nwant % x", err, out, udtHLR)
	}
}

func TestDecodeXUDT(t *testing.T) {
	var m Message
	if err := Decode(xudtSSN, &m); err != nil {
		t.Fatal(err)
	}
	want := Address{RouteOnSSN: true, HasPC: true, PC: 513, HasSSN: true, SSN: 146}
	if m.Type != XUDT || m.Class != 0 || !m.ReturnOnError || m.HopCounter != 15 ||
		!addrEqual(m.Called, want) || m.Calling.PC != 42 || m.Calling.SSN != 8 ||
		!bytes.Equal(m.Data, []byte{0x64, 0x00}) || !bytes.Equal(m.Optional, []byte{0x12, 0x01, 0x03}) {
		t.Fatalf("%+v", m)
	}
	out, err := m.Append(nil)
	if err != nil || !bytes.Equal(out, xudtSSN) {
		t.Fatalf("re-encode: %v\n got % x\nwant % x", err, out, xudtSSN)
	}
	// without optional part: pointer 0 and the data ends the message
	m.Optional = nil
	out, err = m.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	if out[6] != 0 || len(out) != len(xudtSSN)-4 {
		t.Fatalf("no optional: % x", out)
	}
	var back Message
	if err := Decode(out, &back); err != nil || back.Optional != nil {
		t.Fatalf("%v %+v", err, back)
	}
}

func TestDecodeUDTS(t *testing.T) {
	var m Message
	if err := Decode(udtsCause, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != UDTS || m.Cause != CauseSubsystemFailure || m.Called.SSN != 8 || m.Calling.SSN != 6 ||
		!bytes.Equal(m.Data, []byte{0x61}) {
		t.Fatalf("%+v", m)
	}
	out, err := m.Append(nil)
	if err != nil || !bytes.Equal(out, udtsCause) {
		t.Fatalf("re-encode: %v % x", err, out)
	}
}

func addrEqual(a, b Address) bool {
	return a.RouteOnSSN == b.RouteOnSSN && a.HasPC == b.HasPC && a.PC == b.PC && a.HasSSN == b.HasSSN &&
		a.SSN == b.SSN && a.GTI == b.GTI && bytes.Equal(a.GT, b.GT)
}

func patch(b []byte, at int, v ...byte) []byte {
	c := append([]byte(nil), b...)
	copy(c[at:], v)
	return c
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"unknown type (CR)", patch(udtHLR, 0, 0x01), ErrType},
		{"LUDT unsupported", patch(udtHLR, 0, 0x13), ErrType},
		{"fixed part cut", udtHLR[:4], ErrShort},
		{"class 2", patch(udtHLR, 1, 0x02), ErrClass},
		{"spare message handling", patch(udtHLR, 1, 0x41), ErrClass},
		{"zero pointer", patch(udtHLR, 2, 0x00), ErrPointer},
		{"pointer into the fixed part", patch(udtHLR, 3, 0x01), ErrPointer},
		{"gap before calling", patch(udtHLR, 3, 0x0e), ErrPointer},
		{"data pointer past the end", patch(udtHLR, 4, 0xf0), ErrPointer},
		{"called length runs over calling", patch(udtHLR, 5, 0x0b), ErrPointer},
		{"data length past the end", patch(udtHLR, 29, 0x04), ErrShort},
		{"trailing garbage", append(append([]byte(nil), udtHLR...), 0xff), ErrTrailing},
		{"cut data", udtHLR[:len(udtHLR)-1], ErrShort},
		{"empty data", patch(udtsCause, 11, 0x00)[:12], ErrEmptyData},
		{"national address indicator", patch(udtHLR, 6, 0x92), ErrUnsupportedF},
		{"GTI 5", patch(udtHLR, 6, 0x16), ErrUnsupportedF},
		{"PC spare bits", patch(udtHLR, 19, 0x40), ErrAddress},
		{"route on GT without GT", patch(udtsCause, 6, 0x02), ErrAddress},
		{"SSN-only address with extra octet", patch(udtsCause, 5, 0x03, 0x42, 0x08, 0x00)[:9], ErrPointer},
		{"neither PC, SSN nor GT", patch(udtsCause, 3, 0x04, 0x06, 0x01, 0x40, 0x02, 0x42, 0x06, 0x01, 0x61)[:12], ErrAddress},
		{"hop counter 0", patch(xudtSSN, 2, 0x00), ErrHopCounter},
		{"hop counter 16", patch(xudtSSN, 2, 0x10), ErrHopCounter},
		{"optional without end", xudtSSN[:len(xudtSSN)-1], ErrOptional},
		{"optional param past end", patch(xudtSSN, 21, 0x05), ErrOptional},
		{"after end of optional", append(append([]byte(nil), xudtSSN...), 0x00), ErrTrailing},
		{"optional pointer with a gap", patch(xudtSSN, 6, 0x0f), ErrPointer},
		{"no optional part but octets after data", patch(xudtSSN, 6, 0x00), ErrTrailing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			err := Decode(tc.in, &m)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestAppendRejects(t *testing.T) {
	ok := Message{Type: UDT, Called: Address{RouteOnSSN: true, HasSSN: true, SSN: 6},
		Calling: Address{RouteOnSSN: true, HasSSN: true, SSN: 8}, Data: []byte{1}}
	if _, err := ok.Append(nil); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 256)
	for _, tc := range []struct {
		name string
		mod  func(*Message)
		want error
	}{
		{"type", func(m *Message) { m.Type = 1 }, ErrType},
		{"class", func(m *Message) { m.Class = 3 }, ErrClass},
		{"pc", func(m *Message) { m.Called.HasPC, m.Called.PC = true, 1<<14 }, ErrPointCode},
		{"empty data", func(m *Message) { m.Data = nil }, ErrEmptyData},
		{"data too long", func(m *Message) { m.Data = big }, ErrLength},
		{"gt without gti", func(m *Message) { m.Called.GT = []byte{1} }, ErrAddress},
		{"gti 4 short gt", func(m *Message) { m.Called.GTI, m.Called.GT = 4, []byte{0, 0x12} }, ErrAddress},
		{"empty address", func(m *Message) { m.Calling = Address{RouteOnSSN: true} }, ErrAddress},
		{"optional in UDT", func(m *Message) { m.Optional = []byte{0x12, 1, 1} }, ErrOptional},
		{"hop counter", func(m *Message) { m.Type = XUDT }, ErrHopCounter},
		{"optional end inside", func(m *Message) { m.Type, m.HopCounter, m.Optional = XUDT, 3, []byte{0} }, ErrOptional},
		{"pointers overflow", func(m *Message) {
			m.Called.GTI, m.Called.GT = 2, big[:200]
			m.Calling.GTI, m.Calling.GT = 2, big[:200]
		}, ErrTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := ok
			tc.mod(&m)
			out, err := m.Append([]byte{0xaa})
			if !errors.Is(err, tc.want) || len(out) != 1 {
				t.Fatalf("got %v (%d octets), want %v", err, len(out), tc.want)
			}
		})
	}
}

func TestReplyAndService(t *testing.T) {
	var in Message
	if err := Decode(udtHLR, &in); err != nil {
		t.Fatal(err)
	}
	r := Reply(&in, []byte{0x64, 0x00})
	if r.Type != UDT || r.Class != 1 || !r.ReturnOnError || !addrEqual(r.Called, in.Calling) || !addrEqual(r.Calling, in.Called) {
		t.Fatalf("%+v", r)
	}
	b, err := r.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	var back Message
	if err := Decode(b, &back); err != nil || back.Calling.SSN != SSNHLR || back.Called.PC != 42 {
		t.Fatalf("%v %+v", err, back)
	}
	var x Message
	if err := Decode(xudtSSN, &x); err != nil {
		t.Fatal(err)
	}
	if r := Reply(&x, []byte{1}); r.Type != XUDT || r.HopCounter != DefaultHopCounter || r.Called.PC != 42 {
		t.Fatalf("%+v", r)
	}
	s := Service(&in, CauseSubsystemFailure)
	if b, err := s.Append(nil); err != nil || b[0] != byte(UDTS) || b[1] != CauseSubsystemFailure {
		t.Fatalf("%v % x", err, b)
	}
	if s := Service(&x, CauseMTPFailure); s.Type != XUDTS || s.HopCounter != 15 {
		t.Fatalf("%+v", s)
	}
}

func TestDecodeAllocs(t *testing.T) {
	var m Message
	for _, in := range [][]byte{udtHLR, xudtSSN, udtsCause} {
		if n := testing.AllocsPerRun(100, func() {
			if err := Decode(in, &m); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Fatalf("Decode allocates %v times", n)
		}
	}
	buf := make([]byte, 0, 300)
	if err := Decode(udtHLR, &m); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := m.Append(buf[:0]); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Append into a large enough buffer allocates %v times", n)
	}
}

func BenchmarkDecode(b *testing.B) {
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(udtHLR)))
	for b.Loop() {
		if err := Decode(udtHLR, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeAppend(b *testing.B) {
	var m Message
	buf := make([]byte, 0, 300)
	b.ReportAllocs()
	b.SetBytes(int64(len(udtHLR)))
	for b.Loop() {
		if err := Decode(udtHLR, &m); err != nil {
			b.Fatal(err)
		}
		var err error
		if buf, err = m.Append(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
