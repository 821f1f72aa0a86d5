package tcap

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// Hand-assembled messages (Q.773 section 4 tags, BER definite lengths).
var (
	dialogueAARQ = []byte{
		0x6b, 0x1e, // dialogue portion, 30 octets
		0x28, 0x1c, // EXTERNAL
		0x06, 0x07, 0x00, 0x11, 0x86, 0x05, 0x01, 0x01, 0x01, // dialogue-as-id OID
		0xa0, 0x11, // single-ASN.1-type
		0x60, 0x0f, // AARQ
		0x80, 0x02, 0x07, 0x80, // protocol version 1
		0xa1, 0x09, 0x06, 0x07, 0x04, 0x00, 0x00, 0x01, 0x00, 0x14, 0x03, // application context
	}
	invokeSRI = []byte{
		0x6c, 0x10, // component portion, 16 octets
		0xa1, 0x0e, // Invoke
		0x02, 0x01, 0x01, // invoke id 1
		0x02, 0x01, 0x2d, // local operation code 45
		0x30, 0x06, 0x80, 0x01, 0xaa, 0x82, 0x01, 0xbb, // parameter SEQUENCE
	}
	beginMsg = append(append([]byte{
		0x62, 0x38, // Begin, 56 octets
		0x48, 0x04, 0x01, 0x02, 0x03, 0x04, // OTID 01020304
	}, dialogueAARQ...), invokeSRI...)
	continueMsg = []byte{
		0x65, 0x1b, // Continue, 27 octets
		0x48, 0x04, 0xaa, 0xbb, 0xcc, 0xdd, // OTID aabbccdd (the responder's)
		0x49, 0x04, 0x01, 0x02, 0x03, 0x04, // DTID 01020304
		0x6c, 0x0d, // component portion
		0xa2, 0x0b, // ReturnResultLast
		0x02, 0x01, 0x01, // invoke id 1
		0x30, 0x06, 0x02, 0x01, 0x2d, 0x04, 0x01, 0xff, // result: opcode 45, parameter
	}
	endMsg = []byte{
		0x64, 0x0d, // End
		0x49, 0x04, 0x01, 0x02, 0x03, 0x04, // DTID
		0x6c, 0x05, 0xa2, 0x03, 0x02, 0x01, 0x01, // ReturnResultLast without result
	}
	pAbortMsg = []byte{
		0x67, 0x09, // Abort
		0x49, 0x04, 0x01, 0x02, 0x03, 0x04, // DTID
		0x4a, 0x01, 0x01, // P-Abort cause: unrecognizedTransactionID
	}
	uniMsg = []byte{
		0x61, 0x0a, // Unidirectional
		0x6c, 0x08, 0xa1, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x05, // Invoke id 0 op 5
	}
)

func TestDecodeGolden(t *testing.T) {
	var m Message
	if err := Decode(beginMsg, &m); err != nil {
		t.Fatal(err)
	}
	if m.Kind != Begin || !m.HasOTID || m.OTID != TID32(0x01020304) || m.HasDTID ||
		!bytes.Equal(m.Dialogue, dialogueAARQ) || !bytes.Equal(m.Components, invokeSRI) {
		t.Fatalf("begin: %+v", m)
	}
	if err := Decode(continueMsg, &m); err != nil {
		t.Fatal(err)
	}
	if m.Kind != Continue || m.OTID.Uint32() != 0xaabbccdd || m.DTID.Uint32() != 0x01020304 || m.Dialogue != nil ||
		len(m.Components) != 15 {
		t.Fatalf("continue: %+v", m)
	}
	if tag, ok := m.OTID.Tag(); !ok || tag != 0xaabb {
		t.Fatalf("tag %x %v", tag, ok)
	}
	if err := Decode(endMsg, &m); err != nil || m.Kind != End || m.HasOTID || m.DTID.Uint32() != 0x01020304 {
		t.Fatalf("end: %v %+v", err, m)
	}
	if err := Decode(pAbortMsg, &m); err != nil || m.Kind != Abort || !m.HasPAbortCause || m.PAbortCause != UnrecognizedTransactionID {
		t.Fatalf("abort: %v %+v", err, m)
	}
	if err := Decode(uniMsg, &m); err != nil || m.Kind != Unidirectional || m.HasOTID || m.HasDTID || len(m.Components) != 10 {
		t.Fatalf("uni: %v %+v", err, m)
	}
	for _, in := range [][]byte{beginMsg, continueMsg, endMsg, pAbortMsg, uniMsg} {
		if err := Decode(in, &m); err != nil {
			t.Fatal(err)
		}
		out, err := m.Append(nil)
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("re-encode %v\n got % x\nwant % x", err, out, in)
		}
	}
}

func TestUserAbort(t *testing.T) {
	abrt := []byte{0x6b, 0x04, 0x28, 0x02, 0x05, 0x00}
	m := Message{Kind: Abort, DTID: TID32(7), HasDTID: true, UAbort: abrt}
	b, err := m.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{0x67, 0x0c, 0x49, 0x04, 0, 0, 0, 7}, abrt...)
	if !bytes.Equal(b, want) {
		t.Fatalf("% x", b)
	}
	var back Message
	if err := Decode(b, &back); err != nil || !bytes.Equal(back.UAbort, abrt) || back.Dialogue != nil || back.HasPAbortCause {
		t.Fatalf("%v %+v", err, back)
	}
}

func TestLongLength(t *testing.T) {
	param := append([]byte{0x04, 0x81, 150}, make([]byte, 150)...)
	comps, err := AppendComponents(nil, Component{Type: Invoke, InvokeID: 3, HasOpCode: true, OpCode: 59, Param: param})
	if err != nil {
		t.Fatal(err)
	}
	m := Message{Kind: Begin, OTID: TID32(1), HasOTID: true, Components: comps}
	b, err := m.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	// 0x62 0x81 n: the long form with one length octet
	if b[0] != 0x62 || b[1] != 0x81 || int(b[2]) != len(b)-3 {
		t.Fatalf("% x", b[:4])
	}
	if n, _ := m.Len(); n != len(b) {
		t.Fatalf("Len %d != %d", n, len(b))
	}
	var back Message
	if err := Decode(b, &back); err != nil {
		t.Fatal(err)
	}
	c, rest, err := NextComponent(back.Components)
	if err != nil || len(rest) != 0 || c.OpCode != 59 || !bytes.Equal(c.Param, param) {
		t.Fatalf("%v %+v", err, c)
	}
	// non-minimal long form is valid BER and is accepted
	nm := []byte{0x64, 0x81, 0x05, 0x49, 0x82, 0x00, 0x01, 0x09}
	if err := Decode(nm, &back); err != nil || back.DTID.Uint32() != 9 {
		t.Fatalf("%v %+v", err, back)
	}
}

// Indefinite lengths (X.690 8.1.3.6), allowed for constructed elements:
// decoded, and re-encoded with a definite outer length, the portions as
// they came.
func TestIndefiniteLength(t *testing.T) {
	in := []byte{
		0x62, 0x80, // Begin, indefinite length
		0x48, 0x04, 0x01, 0x02, 0x03, 0x04, // OTID
		0x6c, 0x80, // component portion, indefinite length
		0xa1, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x2d, // Invoke id 1 op 45
		0x00, 0x00, // end of the component portion
		0x00, 0x00, // end of the Begin
	}
	var m Message
	if err := Decode(in, &m); err != nil {
		t.Fatal(err)
	}
	if m.Kind != Begin || m.OTID.Uint32() != 0x01020304 || !bytes.Equal(m.Components, in[8:20]) {
		t.Fatalf("%+v", m)
	}
	c, rest, err := NextComponent(m.Components)
	if err != nil || len(rest) != 0 || c.Type != Invoke || c.InvokeID != 1 || c.OpCode != 45 {
		t.Fatalf("%v %+v", err, c)
	}
	out, err := m.Append(nil)
	want := append([]byte{0x62, 0x12}, in[2:20]...)
	if err != nil || !bytes.Equal(out, want) {
		t.Fatalf("%v\n got % x\nwant % x", err, out, want)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Decode(in, &m) }); n != 0 {
		t.Fatalf("Decode allocates %v", n)
	}
}

func patch(b []byte, at int, v ...byte) []byte {
	c := append([]byte(nil), b...)
	copy(c[at:], v)
	return c
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []byte
		cause uint8
	}{
		{"empty", nil, BadlyFormattedTransactionPortion},
		{"unknown type", patch(endMsg, 0, 0x63), UnrecognizedMessageType},
		{"trailing octet", append(append([]byte(nil), endMsg...), 0), BadlyFormattedTransactionPortion},
		{"length too long", patch(endMsg, 1, 0x0e), BadlyFormattedTransactionPortion},
		{"length too short", patch(endMsg, 1, 0x0c), BadlyFormattedTransactionPortion},
		{"indefinite length of a primitive", []byte{0x64, 0x05, 0x49, 0x80, 0x01, 0x00, 0x00}, BadlyFormattedTransactionPortion},
		{"indefinite without end of contents", []byte{0x64, 0x80, 0x49, 0x01, 0x01}, BadlyFormattedTransactionPortion},
		{"end of contents with a length", []byte{0x64, 0x80, 0x49, 0x01, 0x01, 0x00, 0x01, 0x00}, BadlyFormattedTransactionPortion},
		{"octets after end of contents", []byte{0x64, 0x80, 0x49, 0x01, 0x01, 0x00, 0x00, 0x00}, BadlyFormattedTransactionPortion},
		{"indefinite nested too deep", append(append([]byte{0x64, 0x80, 0x49, 0x01, 0x01, 0x6c, 0x80},
			bytes.Repeat([]byte{0xa1, 0x80}, 40)...), bytes.Repeat([]byte{0, 0}, 42)...), BadlyFormattedTransactionPortion},
		{"three length octets", []byte{0x64, 0x83, 0, 0, 3, 0x49, 0x01, 0x01}, BadlyFormattedTransactionPortion},
		{"TID of 5 octets", []byte{0x62, 0x07, 0x48, 0x05, 1, 2, 3, 4, 5}, BadlyFormattedTransactionPortion},
		{"empty TID", []byte{0x62, 0x02, 0x48, 0x00}, BadlyFormattedTransactionPortion},
		{"Begin without OTID", []byte{0x62, 0x02, 0x6c, 0x00}, IncorrectTransactionPortion},
		{"Begin with DTID", []byte{0x62, 0x06, 0x48, 0x01, 0x01, 0x49, 0x01, 0x02}, IncorrectTransactionPortion},
		{"End with OTID", []byte{0x64, 0x06, 0x48, 0x01, 0x01, 0x49, 0x01, 0x02}, IncorrectTransactionPortion},
		{"Continue without DTID", []byte{0x65, 0x03, 0x48, 0x01, 0x01}, IncorrectTransactionPortion},
		{"DTID before OTID", []byte{0x65, 0x06, 0x49, 0x01, 0x01, 0x48, 0x01, 0x02}, IncorrectTransactionPortion},
		{"components before dialogue", []byte{0x64, 0x07, 0x49, 0x01, 0x01, 0x6c, 0x00, 0x6b, 0x00}, IncorrectTransactionPortion},
		{"two component portions", []byte{0x64, 0x07, 0x49, 0x01, 0x01, 0x6c, 0x00, 0x6c, 0x00}, IncorrectTransactionPortion},
		{"unknown element", []byte{0x64, 0x05, 0x49, 0x01, 0x01, 0x04, 0x00}, IncorrectTransactionPortion},
		{"Uni without components", []byte{0x61, 0x00}, IncorrectTransactionPortion},
		{"P-Abort cause in End", []byte{0x64, 0x06, 0x49, 0x01, 0x01, 0x4a, 0x01, 0x00}, IncorrectTransactionPortion},
		{"P-Abort and user abort", []byte{0x67, 0x08, 0x49, 0x01, 0x01, 0x4a, 0x01, 0x00, 0x6b, 0x00}, IncorrectTransactionPortion},
		{"P-Abort cause of 2 octets", []byte{0x67, 0x07, 0x49, 0x01, 0x01, 0x4a, 0x02, 0x00, 0x01}, BadlyFormattedTransactionPortion},
		{"components in Abort", []byte{0x67, 0x05, 0x49, 0x01, 0x01, 0x6c, 0x00}, IncorrectTransactionPortion},
		{"element runs past", []byte{0x64, 0x03, 0x49, 0x04, 0x01}, BadlyFormattedTransactionPortion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			err := Decode(tc.in, &m)
			cause, ok := PAbortCauseOf(err)
			if err == nil || !ok || cause != tc.cause {
				t.Fatalf("got %v (cause %d %v), want cause %d", err, cause, ok, tc.cause)
			}
		})
	}
}

func TestAppendRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Message
		want error
	}{
		{"unknown kind", Message{Kind: 0x60}, ErrUnrecognizedType},
		{"Begin without OTID", Message{Kind: Begin}, ErrIncorrect},
		{"Begin with DTID", Message{Kind: Begin, HasOTID: true, OTID: TID32(1), HasDTID: true, DTID: TID32(2)}, ErrIncorrect},
		{"empty TID", Message{Kind: End, HasDTID: true}, ErrBadlyFormatted},
		{"dialogue in Abort", Message{Kind: Abort, HasDTID: true, DTID: TID32(1), Dialogue: []byte{0x6b, 0}}, ErrIncorrect},
		{"both aborts", Message{Kind: Abort, HasDTID: true, DTID: TID32(1), HasPAbortCause: true, UAbort: []byte{0x6b, 0}}, ErrIncorrect},
		{"components not a TLV", Message{Kind: End, HasDTID: true, DTID: TID32(1), Components: []byte{0x6c, 3}}, ErrBadlyFormatted},
		{"components wrong tag", Message{Kind: End, HasDTID: true, DTID: TID32(1), Components: []byte{0x6b, 0}}, ErrBadlyFormatted},
		{"Uni without components", Message{Kind: Unidirectional}, ErrIncorrect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.m.Append([]byte{1})
			if !errors.Is(err, tc.want) || len(out) != 1 {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTID(t *testing.T) {
	if _, err := MakeTID(nil); err == nil {
		t.Fatal("empty TID accepted")
	}
	if _, err := MakeTID([]byte{1, 2, 3, 4, 5}); err == nil {
		t.Fatal("5-octet TID accepted")
	}
	x, err := MakeTID([]byte{0x01, 0x02})
	if err != nil || x.Len() != 2 || x.Uint32() != 0x0102 || !bytes.Equal(x.Bytes(), []byte{1, 2}) || x.String() != "0102" {
		t.Fatalf("%v %v", err, x)
	}
	if _, ok := x.Tag(); ok {
		t.Fatal("2-octet TID has a tag")
	}
	if y, _ := MakeTID([]byte{0, 0, 1, 2}); y == x || y != TID32(0x0102) {
		t.Fatal("TID equality")
	}
	b := x.Bytes()
	b[0] = 9
	if x.Uint32() != 0x0102 {
		t.Fatal("Bytes aliases the TID")
	}
}

func TestComponents(t *testing.T) {
	var m Message
	if err := Decode(beginMsg, &m); err != nil {
		t.Fatal(err)
	}
	c, rest, err := NextComponent(m.Components)
	if err != nil || c.Type != Invoke || c.InvokeID != 1 || !c.HasOpCode || c.OpCode != 45 ||
		!bytes.Equal(c.Param, invokeSRI[10:]) {
		t.Fatalf("%v %+v", err, c)
	}
	if _, _, err := NextComponent(rest); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	// all kinds, hand bytes, in one portion; contents form without 0x6c
	portion := []byte{
		0xa1, 0x09, 0x02, 0x01, 0x05, 0x80, 0x01, 0x04, 0x02, 0x01, 0x2e, // Invoke id 5 linked 4 op 46
		0xa7, 0x0b, 0x02, 0x01, 0x04, 0x30, 0x06, 0x02, 0x01, 0x2d, 0x04, 0x01, 0x01, // RRNL op 45 param
		0xa3, 0x06, 0x02, 0x01, 0x03, 0x02, 0x01, 0x22, // ReturnError id 3 error 34
		0xa4, 0x05, 0x05, 0x00, 0x80, 0x01, 0x02, // Reject NULL id, general problem 2
		0xa1, 0x0c, 0x02, 0x01, 0xff, 0x06, 0x07, 0x04, 0x00, 0x00, 0x01, 0x00, 0x01, 0x03, // Invoke id -1 global op
		0xa2, 0x03, 0x02, 0x01, 0x02, // RRL id 2 without result
	}
	want := []Component{
		{Type: Invoke, InvokeID: 5, HasLinkedID: true, LinkedID: 4, HasOpCode: true, OpCode: 46},
		{Type: ReturnResultNotLast, InvokeID: 4, HasOpCode: true, OpCode: 45, Param: []byte{0x04, 0x01, 0x01}},
		{Type: ReturnError, InvokeID: 3, HasOpCode: true, OpCode: 34},
		{Type: Reject, NullInvokeID: true, ProblemTag: ProblemGeneral, Problem: 2},
		{Type: Invoke, InvokeID: -1, GlobalCode: []byte{0x04, 0x00, 0x00, 0x01, 0x00, 0x01, 0x03}},
		{Type: ReturnResultLast, InvokeID: 2},
	}
	rest = portion
	for i, w := range want {
		c, rest, err = NextComponent(rest)
		if err != nil || !compEqual(c, w) {
			t.Fatalf("component %d: %v\n got %+v\nwant %+v", i, err, c, w)
		}
	}
	if _, _, err := NextComponent(rest); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	out, err := AppendComponents(nil, want...)
	if err != nil || !bytes.Equal(out[2:], portion) || out[0] != 0x6c || int(out[1]) != len(portion) {
		t.Fatalf("%v\n got % x\nwant % x", err, out, portion)
	}
}

func compEqual(a, b Component) bool {
	return a.Type == b.Type && a.InvokeID == b.InvokeID && a.NullInvokeID == b.NullInvokeID &&
		a.HasLinkedID == b.HasLinkedID && a.LinkedID == b.LinkedID && a.HasOpCode == b.HasOpCode &&
		a.OpCode == b.OpCode && bytes.Equal(a.GlobalCode, b.GlobalCode) && bytes.Equal(a.Param, b.Param) &&
		a.ProblemTag == b.ProblemTag && a.Problem == b.Problem
}

func TestComponentRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"unknown type", []byte{0xa5, 0x03, 0x02, 0x01, 0x01}},
		{"invoke id 2 octets", []byte{0xa2, 0x04, 0x02, 0x02, 0x00, 0x01}},
		{"NULL id outside Reject", []byte{0xa2, 0x02, 0x05, 0x00}},
		{"Invoke without op", []byte{0xa1, 0x03, 0x02, 0x01, 0x01}},
		{"two parameters", []byte{0xa1, 0x0a, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x04, 0x00, 0x04, 0x00}},
		{"non-minimal op code", []byte{0xa1, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x01}},
		{"result not a SEQUENCE", []byte{0xa2, 0x06, 0x02, 0x01, 0x01, 0x31, 0x01, 0x00}},
		{"Reject without problem", []byte{0xa4, 0x03, 0x02, 0x01, 0x01}},
		{"Reject bad problem tag", []byte{0xa4, 0x06, 0x02, 0x01, 0x01, 0x84, 0x01, 0x00}},
		{"truncated", []byte{0xa1, 0x09, 0x02, 0x01}},
		{"portion with trailing", []byte{0x6c, 0x00, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := NextComponent(tc.in); !errors.Is(err, ErrComponent) {
				t.Fatalf("got %v", err)
			}
		})
	}
	for _, c := range []Component{
		{Type: Invoke},
		{Type: 0x99, HasOpCode: true},
		{Type: ReturnResultLast, Param: []byte{4, 0}},
		{Type: Reject},
		{Type: Reject, ProblemTag: ProblemGeneral, HasOpCode: true},
		{Type: Invoke, HasOpCode: true, Param: []byte{4, 5}},
		{Type: ReturnError, NullInvokeID: true, HasOpCode: true},
		{Type: ReturnError, HasLinkedID: true, HasOpCode: true},
		{Type: Invoke, HasOpCode: true, GlobalCode: []byte{1}},
	} {
		if out, err := AppendComponents([]byte{7}, c); !errors.Is(err, ErrComponent) || len(out) != 1 {
			t.Fatalf("%+v accepted: %v", c, err)
		}
	}
}

func TestOpCodeRange(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, -1, -128, -129, 255, 256, 1 << 40, -1 << 63, 1<<63 - 1} {
		b, err := AppendComponents(nil, Component{Type: Invoke, HasOpCode: true, OpCode: v})
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := NextComponent(b)
		if err != nil || c.OpCode != v {
			t.Fatalf("%d: %v %d", v, err, c.OpCode)
		}
	}
}

func TestPAbort(t *testing.T) {
	m := PAbort(TID32(0x01020304), UnrecognizedTransactionID)
	b, err := m.Append(nil)
	if err != nil || !bytes.Equal(b, pAbortMsg) {
		t.Fatalf("%v % x", err, b)
	}
}

func TestAllocs(t *testing.T) {
	var m Message
	for _, in := range [][]byte{beginMsg, continueMsg, endMsg, pAbortMsg, uniMsg} {
		if n := testing.AllocsPerRun(100, func() {
			if err := Decode(in, &m); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Fatalf("Decode allocates %v", n)
		}
	}
	buf := make([]byte, 0, 256)
	if err := Decode(beginMsg, &m); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := m.Append(buf[:0]); err != nil {
			t.Fatal(err)
		}
		rest := m.Components
		for {
			_, r, err := NextComponent(rest)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			rest = r
		}
	}); n != 0 {
		t.Fatalf("Append/NextComponent allocate %v", n)
	}
	cs := []Component{{Type: ReturnResultLast, InvokeID: 1, HasOpCode: true, OpCode: 45, Param: []byte{4, 1, 1}}}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := AppendComponents(buf[:0], cs...); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("AppendComponents allocates %v", n)
	}
}

func BenchmarkDecode(b *testing.B) {
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(beginMsg)))
	for b.Loop() {
		if err := Decode(beginMsg, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeAppend(b *testing.B) {
	var m Message
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(beginMsg)))
	for b.Loop() {
		if err := Decode(beginMsg, &m); err != nil {
			b.Fatal(err)
		}
		var err error
		if buf, err = m.Append(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResponder is what a responder does per Begin: decode, read the
// invoke, answer with a Continue carrying a ReturnResultLast.
func BenchmarkResponder(b *testing.B) {
	var m Message
	buf := make([]byte, 0, 256)
	comps := make([]byte, 0, 64)
	result := []byte{0x04, 0x01, 0x00}
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(beginMsg, &m); err != nil {
			b.Fatal(err)
		}
		c, _, err := NextComponent(m.Components)
		if err != nil {
			b.Fatal(err)
		}
		comps, err = AppendComponents(comps[:0], Component{Type: ReturnResultLast, InvokeID: c.InvokeID, HasOpCode: true, OpCode: c.OpCode, Param: result})
		if err != nil {
			b.Fatal(err)
		}
		out := Message{Kind: Continue, OTID: TID32(0xaabb0001), HasOTID: true, DTID: m.OTID, HasDTID: true, Components: comps}
		if buf, err = out.Append(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
