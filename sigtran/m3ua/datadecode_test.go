package m3ua

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/wmnsk/go-m3ua/messages"
)

// dataSeeds are DATA messages, valid and broken, for the tests and fuzzing.
func dataSeeds(tb testing.TB) [][]byte {
	var out [][]byte
	for _, u := range []UserData{
		{RC: 1, HasRC: true, OPC: 1234, DPC: 4321, SI: 3, NI: 2, SLS: 11, Payload: []byte{1, 2, 3, 4, 5}},
		{OPC: 1, DPC: 2, SI: 5, Payload: nil},
		{RC: 7, HasRC: true, OPC: 0xffffff, DPC: 0, SI: 3, MP: 1, SLS: 15, Payload: make([]byte, 100)},
	} {
		b, err := AppendData(nil, u)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	for _, h := range []string{
		// NA, two routing contexts, Protocol Data, Correlation ID
		"01000101 00000038 02000008 00000005 0006000c 00000001 00000002 02100014 00000001 00000002 03020000 aabbcc00 00130008 00000009",
		// routing context repeated
		"01000101 00000028 00060008 00000001 00060008 00000002 02100010 00000001 00000002 03020000",
		// Protocol Data label cut short
		"01000101 00000018 0210000f 00000001 00000002 030200 00",
		// Protocol Data missing
		"01000101 00000010 00060008 00000001",
		// unpadded last parameter
		"01000101 0000001b 02100013 00000001 00000002 03020000 aabbcc",
		// version 2
		"02000101 00000018 02100010 00000001 00000002 03020000",
	} {
		out = append(out, unhex(tb, h))
	}
	return out
}

// checkDecodeDataAgrees fails t unless DecodeData on b agrees with Decode
// then UserDataOf: the same acceptance, error code and user data, the
// payload aliasing b.
func checkDecodeDataAgrees(t *testing.T, b []byte) {
	t.Helper()
	var u UserData
	isData, pe := DecodeData(b, &u)
	var x dataExtra
	decodeData(b, &UserData{}, &x)
	na, hasNA := x.na, x.hasNA
	m, err := Decode(b)
	d, decodedData := m.(*messages.Data)
	if !isData {
		if pe != nil {
			t.Fatalf("not DATA, yet error %v", pe)
		}
		if decodedData {
			t.Fatalf("DecodeData says not DATA, Decode gives DATA for %x", b)
		}
		if len(b) >= HeaderLen && b[2] == ClassTransfer && b[3] == messages.MsgTypePayloadData {
			t.Fatalf("DATA header not taken: %x", b)
		}
		return
	}
	if err != nil {
		want := err.(*ProtocolError).Code
		if pe == nil {
			t.Fatalf("Decode refuses %x with %v, DecodeData accepts", b, err)
		}
		if pe.Code != want {
			t.Fatalf("Decode refuses %x with %v, DecodeData with %v", b, want, pe.Code)
		}
		return
	}
	if !decodedData {
		t.Fatalf("DecodeData says DATA, Decode gives %T for %x", m, b)
	}
	wu, wpe := UserDataOf(d)
	switch {
	case wpe != nil && pe == nil:
		t.Fatalf("UserDataOf refuses %x with %v, DecodeData accepts", b, wpe)
	case wpe == nil && pe != nil:
		t.Fatalf("UserDataOf accepts %x, DecodeData refuses with %v", b, pe)
	case wpe != nil:
		if wpe.Code != pe.Code {
			t.Fatalf("UserDataOf refuses %x with %v, DecodeData with %v", b, wpe.Code, pe.Code)
		}
		return
	}
	if u.RC != wu.RC || u.HasRC != wu.HasRC || u.OPC != wu.OPC || u.DPC != wu.DPC ||
		u.SI != wu.SI || u.NI != wu.NI || u.MP != wu.MP || u.SLS != wu.SLS || !bytes.Equal(u.Payload, wu.Payload) {
		t.Fatalf("fields differ for %x:\nDecodeData %v\n    Decode %v", b, u, wu)
	}
	if len(u.Payload) > 0 && unsafe.SliceData(u.Payload) != unsafe.SliceData(wu.Payload) {
		t.Fatalf("payload does not alias the message")
	}
	wna, whasNA := uint32Of(d.NetworkAppearance)
	if na != wna || hasNA != whasNA {
		t.Fatalf("network appearance %d/%v, Decode %d/%v", na, hasNA, wna, whasNA)
	}
}

func TestDecodeDataAgrees(t *testing.T) {
	seeds := dataSeeds(t)
	for _, b := range seeds {
		checkDecodeDataAgrees(t, b)
	}
	// The seeds cover acceptance and each refusal the test expects.
	want := []struct {
		ok   bool
		code ErrorCode
	}{{true, 0}, {true, 0}, {true, 0},
		{false, ErrInvalidParameterValue}, {false, ErrUnexpectedParameter}, {false, ErrParameterFieldError},
		{false, ErrMissingParameter}, {false, ErrParameterFieldError}, {false, ErrInvalidVersion}}
	for i, b := range seeds {
		var u UserData
		isData, pe := DecodeData(b, &u)
		if !isData {
			t.Fatalf("seed %d: not DATA", i)
		}
		if w := want[i]; (pe == nil) != w.ok || (pe != nil && pe.Code != w.code) {
			t.Fatalf("seed %d: got %v, want ok=%v code %v", i, pe, w.ok, w.code)
		}
	}
	// Other messages are left to Decode.
	for _, b := range [][]byte{buildMessage(t, "ASPUP"), {1, 0, 1}, nil} {
		var u UserData
		if isData, pe := DecodeData(b, &u); isData || pe != nil {
			t.Fatalf("%x: isData %v, %v", b, isData, pe)
		}
	}
	var u UserData
	if _, pe := DecodeData(seeds[0], &u); pe != nil || u.RC != 1 || !u.HasRC || u.OPC != 1234 || u.DPC != 4321 || u.SI != 3 || u.NI != 2 || u.SLS != 11 || !bytes.Equal(u.Payload, []byte{1, 2, 3, 4, 5}) {
		t.Fatalf("decoded %v, %v", u, pe)
	}
	var x dataExtra
	_, pe := decodeData(seeds[3], &u, &x)
	if pe != nil || x.rcError() == nil || !x.hasNA || x.na != 5 {
		t.Fatalf("NA %d/%v, %v, %v", x.na, x.hasNA, pe, x.rcError())
	}
}

// TestDecodeDataAllocs: a valid DATA decodes without allocating.
func TestDecodeDataAllocs(t *testing.T) {
	b, err := AppendData(nil, benchData())
	if err != nil {
		t.Fatal(err)
	}
	var u UserData
	n := testing.AllocsPerRun(100, func() {
		if _, pe := DecodeData(b, &u); pe != nil {
			t.Fatal(pe)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per DecodeData", n)
	}
}

// FuzzDecodeDataDifferential: on any input, DecodeData and the strict
// Decode followed by UserDataOf accept and refuse the same messages with
// the same error code, and give the same user data.
func FuzzDecodeDataDifferential(f *testing.F) {
	for _, b := range dataSeeds(f) {
		f.Add(b)
	}
	addGoldenSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		// Steer towards DATA half the time: the header is what lets it in.
		if len(b) >= HeaderLen && b[1]&1 == 1 {
			b = bytes.Clone(b)
			b[2], b[3] = ClassTransfer, messages.MsgTypePayloadData
			binary.BigEndian.PutUint32(b[4:], uint32(len(b)))
		}
		checkDecodeDataAgrees(t, b)
	})
}

func BenchmarkDecodeDataFast(b *testing.B) {
	msg, err := AppendData(nil, benchData())
	if err != nil {
		b.Fatal(err)
	}
	var u UserData
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, pe := DecodeData(msg, &u); pe != nil {
			b.Fatal(pe)
		}
	}
}
