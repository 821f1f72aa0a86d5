package tcap

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func seeds(f *testing.F) {
	for _, s := range [][]byte{beginMsg, continueMsg, endMsg, pAbortMsg, uniMsg,
		{0x67, 0x0c, 0x49, 0x04, 0, 0, 0, 7, 0x6b, 0x04, 0x28, 0x02, 0x05, 0x00},
		{0x64, 0x81, 0x05, 0x49, 0x82, 0x00, 0x01, 0x09},
		{0x62, 0x80, 0x48, 0x01, 0x07, 0x6c, 0x80, 0xa1, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x2d, 0x00, 0x00, 0x00, 0x00}} {
		f.Add(s)
	}
}

// FuzzDecode: Decode never panics; what it accepts encodes, and the
// encoding decodes to the same message (the input may use non-minimal
// lengths, so octets are compared after one round).
func FuzzDecode(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		err := Decode(b, &m)
		if err != nil {
			if _, ok := PAbortCauseOf(err); !ok {
				t.Fatalf("error without a P-Abort cause: %v", err)
			}
			return
		}
		out, err := m.Append(nil)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v", err)
		}
		if len(out) > len(b) {
			t.Fatalf("re-encoding longer than the input: %d > %d", len(out), len(b))
		}
		var back Message
		if err := Decode(out, &back); err != nil {
			t.Fatalf("re-encoding rejected: %v", err)
		}
		if !msgEqual(m, back) {
			t.Fatalf("round trip differs\n%+v\n%+v", m, back)
		}
		// components never panic either, and those that decode re-encode
		rest := m.Components
		for rest != nil {
			c, r, err := NextComponent(rest)
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.Is(err, ErrComponent) {
					t.Fatalf("component error not ErrComponent: %v", err)
				}
				break
			}
			rest = r
			enc, err := AppendComponents(nil, c)
			if err != nil {
				t.Fatalf("decoded component does not encode: %v %+v", err, c)
			}
			c2, _, err := NextComponent(enc)
			if err != nil || !compEqual(c, c2) {
				t.Fatalf("component round trip: %v\n%+v\n%+v", err, c, c2)
			}
		}
	})
}

func msgEqual(a, b Message) bool {
	return a.Kind == b.Kind && a.OTID == b.OTID && a.DTID == b.DTID && a.HasOTID == b.HasOTID && a.HasDTID == b.HasDTID &&
		bytes.Equal(a.Dialogue, b.Dialogue) && bytes.Equal(a.Components, b.Components) &&
		a.PAbortCause == b.PAbortCause && a.HasPAbortCause == b.HasPAbortCause && bytes.Equal(a.UAbort, b.UAbort)
}

// FuzzComponents: NextComponent never panics on any portion.
func FuzzComponents(f *testing.F) {
	f.Add(invokeSRI)
	f.Add([]byte{0xa4, 0x05, 0x05, 0x00, 0x80, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		rest := b
		for i := 0; i < len(b)+1; i++ {
			c, r, err := NextComponent(rest)
			if err != nil {
				return
			}
			if _, err := AppendComponents(nil, c); err != nil {
				t.Fatalf("decoded component does not encode: %v", err)
			}
			rest = r
		}
		t.Fatal("NextComponent does not make progress")
	})
}

// FuzzRoundTrip builds messages from fuzzed fields; what Append accepts
// decodes to the same fields, with exactly Len octets.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint8(0x65), []byte{1, 2, 3, 4}, []byte{5, 6}, true, true, uint8(0), false, []byte(nil), uint8(0xa2), int8(1), int64(45), []byte{4, 1, 0})
	f.Add(uint8(0x67), []byte{}, []byte{5, 6, 7, 8}, false, true, uint8(1), true, []byte(nil), uint8(0), int8(0), int64(0), []byte(nil))
	f.Add(uint8(0x62), []byte{9}, []byte{}, true, false, uint8(0), false, dialogueAARQ, uint8(0xa1), int8(-3), int64(-200), []byte(nil))
	f.Fuzz(func(t *testing.T, kind uint8, otid, dtid []byte, hasO, hasD bool, cause uint8, hasCause bool, dlg []byte,
		ctype uint8, invoke int8, op int64, param []byte) {
		m := Message{Kind: Kind(kind), HasOTID: hasO, HasDTID: hasD, PAbortCause: cause, HasPAbortCause: hasCause}
		if hasO {
			var err error
			if m.OTID, err = MakeTID(otid); err != nil {
				return
			}
		}
		if hasD {
			var err error
			if m.DTID, err = MakeTID(dtid); err != nil {
				return
			}
		}
		if !hasCause {
			m.PAbortCause = 0
		}
		if len(dlg) != 0 {
			if m.Kind == Abort {
				m.UAbort = dlg
			} else {
				m.Dialogue = dlg
			}
		}
		if ctype != 0 {
			c := Component{Type: ctype, InvokeID: invoke, HasOpCode: true, OpCode: op, Param: param}
			comps, err := AppendComponents(nil, c)
			if err != nil {
				return
			}
			got, rest, err := NextComponent(comps)
			if err != nil || len(rest) != 0 || !compEqual(got, c) {
				t.Fatalf("component round trip: %v\n%+v\n%+v", err, c, got)
			}
			m.Components = comps
		}
		b, err := m.Append(nil)
		if err != nil {
			return
		}
		if n, _ := m.Len(); n != len(b) {
			t.Fatalf("Len %d, wrote %d", n, len(b))
		}
		var back Message
		if err := Decode(b, &back); err != nil {
			t.Fatalf("Append wrote what Decode rejects: %v\n% x", err, b)
		}
		if !msgEqual(m, back) {
			t.Fatalf("round trip differs\n%+v\n%+v", m, back)
		}
	})
}
