package m3ua

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/wmnsk/go-m3ua/messages"
)

func addGoldenSeeds(f *testing.F) {
	for _, g := range golden {
		f.Add(unhex(f, g.hex))
	}
}

// FuzzDecode: Decode never panics, every error is a *ProtocolError with a
// known code, and what it accepts re-encodes to bytes it accepts again and
// encodes identically (decode∘encode is a fixed point after one round).
func FuzzDecode(f *testing.F) {
	addGoldenSeeds(f)
	for _, m := range []string{
		"DAUD rc=1 apc=100 mask=3", "SCON apc=5 level=3 concerned=9", "DUPU rc=2 apc=5 user=3 cause=2",
		"DRST apc=5,6", "DEREG-REQ rc=1,2", "REG-RSP lrk=1 status=12 rc=7", "DEREG-RSP rc=7 status=5",
		"REG-REQ lrk=1 dpc=300 si=3,4 opc=1,2 na=4 mode=broadcast | lrk=2 dpc=1 rc=9",
	} {
		f.Add(buildMessage(f, m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ProtocolError", err)
			}
			if _, ok := errorCodeNames[pe.Code]; !ok {
				t.Fatalf("unknown error code %v", pe.Code)
			}
			return
		}
		if d, ok := m.(*messages.Data); ok {
			if _, pe := UserDataOf(d); pe != nil && pe.Code != ErrInvalidParameterValue {
				t.Fatalf("UserDataOf: %v", pe)
			}
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("encode of accepted message: %v", err)
		}
		if len(enc) != len(b) {
			t.Fatalf("re-encoded length %d, received %d", len(enc), len(b))
		}
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded message refused: %v\n in %x\nout %x", err, b, enc)
		}
		enc2, err := Encode(m2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("second round differs: %v\n%x\n%x", err, enc, enc2)
		}
	})
}

// FuzzDataRoundTrip: any user data survives encode and decode.
func FuzzDataRoundTrip(f *testing.F) {
	f.Add(uint32(1), true, uint32(1234), uint32(4321), uint8(3), uint8(2), uint8(0), uint8(11), []byte{1, 2, 3})
	f.Add(uint32(0), false, uint32(0), uint32(0), uint8(0), uint8(0), uint8(0), uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, rc uint32, hasRC bool, opc, dpc uint32, si, ni, mp, sls uint8, payload []byte) {
		if len(payload) > 65535-16 {
			return // does not fit a parameter
		}
		u := UserData{RC: rc, HasRC: hasRC, OPC: opc, DPC: dpc, SI: si, NI: ni, MP: mp, SLS: sls, Payload: payload}
		if !hasRC {
			u.RC = 0
		}
		b, err := Encode(NewData(u))
		if err != nil {
			t.Fatal(err)
		}
		// The drivers' direct encoder writes the same bytes.
		if direct, err := AppendData(nil, u); err != nil || !bytes.Equal(direct, b) {
			t.Fatalf("AppendData: %v\n got % x\nwant % x", err, direct, b)
		}
		m, err := Decode(b)
		if err != nil {
			t.Fatalf("%v: %x", err, b)
		}
		got, pe := UserDataOf(m.(*messages.Data))
		if pe != nil {
			t.Fatal(pe)
		}
		if len(got.Payload) == 0 && len(u.Payload) == 0 {
			got.Payload, u.Payload = nil, nil
		}
		if !reflect.DeepEqual(got, u) {
			t.Fatalf("got %+v want %+v", got, u)
		}
	})
}

// FuzzRKMRoundTrip: routing keys survive REG REQ encode and decode.
func FuzzRKMRoundTrip(f *testing.F) {
	f.Add(uint32(5), uint32(0), false, uint8(1), uint32(4321), uint32(0), false, []byte{3, 5}, uint32(1234), uint8(1))
	f.Fuzz(func(t *testing.T, lrk, rc uint32, hasRC bool, mode uint8, dpc, na uint32, hasNA bool, sis []byte, opc uint32, nOPC uint8) {
		if len(sis) > 200 {
			return
		}
		k := RoutingKey{LocalRKID: lrk, DPC: dpc, Mode: TrafficMode(mode % 4)}
		if hasRC {
			k.RC, k.HasRC = rc, true
		}
		if hasNA {
			k.NA, k.HasNA = na, true
		}
		if len(sis) > 0 {
			k.SIs = sis
		}
		for i := uint8(0); i < nOPC%4; i++ {
			k.OPCs = append(k.OPCs, opc+uint32(i))
		}
		want := &RegReq{Keys: []RoutingKey{k, k}}
		b, err := Encode(want)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(b)
		if err != nil {
			t.Fatalf("%v: %x", err, b)
		}
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("got %+v want %+v", m, want)
		}
	})
}
