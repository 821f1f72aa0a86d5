package sccp

import (
	"bytes"
	"testing"
)

func seeds(f *testing.F) {
	for _, s := range [][]byte{udtHLR, xudtSSN, udtsCause} {
		f.Add(s)
	}
}

// FuzzDecode: Decode never panics, and what it accepts re-encodes to the
// same octets (the codec has one encoding per message).
func FuzzDecode(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := Decode(b, &m); err != nil {
			return
		}
		out, err := m.Append(nil)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v (%+v)", err, m)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs\n in % x\nout % x", b, out)
		}
	})
}

// FuzzRoundTrip builds a message from fuzzed fields; whatever Append accepts
// decodes back to the same fields.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint8(0x09), uint8(1), true, uint8(0), uint8(15), uint8(0x12), uint16(0), uint8(6), []byte{0, 0x12, 4, 0x19}, uint8(0x43), uint16(42), uint8(8), []byte(nil), []byte{0x62, 0}, []byte(nil))
	f.Add(uint8(0x11), uint8(0), false, uint8(0), uint8(7), uint8(0x42), uint16(0), uint8(146), []byte(nil), uint8(0x43), uint16(1), uint8(8), []byte(nil), []byte{1}, []byte{0x12, 1, 3})
	f.Fuzz(func(t *testing.T, typ, class uint8, roe bool, cause, hops, ai1 uint8, pc1 uint16, ssn1 uint8, gt1 []byte,
		ai2 uint8, pc2 uint16, ssn2 uint8, gt2 []byte, data, opt []byte) {
		mk := func(ai uint8, pc uint16, ssn uint8, gt []byte) Address {
			a := Address{RouteOnSSN: ai&aiRouteSSN != 0, HasPC: ai&aiPC != 0, PC: pc, HasSSN: ai&aiSSN != 0, SSN: ssn,
				GTI: (ai & aiGTIMask) >> aiGTIShift, GT: gt}
			if !a.HasPC { // fields without their flag are not encoded
				a.PC = 0
			}
			if !a.HasSSN {
				a.SSN = 0
			}
			return a
		}
		m := Message{Type: MessageType(typ), Class: class, ReturnOnError: roe, Cause: cause, HopCounter: hops,
			Called: mk(ai1, pc1, ssn1, gt1), Calling: mk(ai2, pc2, ssn2, gt2), Data: data, Optional: opt}
		if m.Type == UDTS || m.Type == XUDTS {
			m.Class, m.ReturnOnError = 0, false
		} else {
			m.Cause = 0
		}
		if m.Type == UDT || m.Type == UDTS {
			m.HopCounter = 0
		}
		b, err := m.Append(nil)
		if err != nil {
			return
		}
		n, _ := m.Len()
		if n != len(b) {
			t.Fatalf("Len %d, wrote %d", n, len(b))
		}
		var back Message
		if err := Decode(b, &back); err != nil {
			t.Fatalf("Append wrote what Decode rejects: %v\n% x", err, b)
		}
		if back.Type != m.Type || back.Class != m.Class || back.ReturnOnError != m.ReturnOnError || back.Cause != m.Cause ||
			back.HopCounter != m.HopCounter || !addrEqual(back.Called, m.Called) || !addrEqual(back.Calling, m.Calling) ||
			!bytes.Equal(back.Data, m.Data) || !bytes.Equal(back.Optional, m.Optional) {
			t.Fatalf("round trip differs\n in %+v\nout %+v", m, back)
		}
	})
}
