package rserpool

import (
	"encoding/binary"
	"errors"
	"reflect"
	"runtime"
	"testing"
)

// FuzzDecodeASAP: decoding never panics; what decodes re-encodes, and the
// re-encoding decodes to the same message; every error is an *Error with a
// defined cause.
func FuzzDecodeASAP(f *testing.F) {
	for _, b := range [][]byte{goldenRegistration, goldenHandleResolution, goldenKeepAlive,
		goldenRegRespReject, goldenServerAnnounce, goldenCookie, deregWith("c0 40")} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, report, err := DecodeMessage(b)
		if err != nil {
			checkError(t, err)
			return
		}
		for _, r := range report {
			if r.Type.Action() != ActionSkipReport || len(r.TLV) < 4 {
				t.Fatalf("reported %v", r)
			}
		}
		out, err := m.AppendTo(nil)
		if err != nil {
			if len(b) > 0xffff-64 {
				return // re-padding may push a near-maximal message over 64 KiB
			}
			t.Fatalf("re-encoding %#v: %v", m, err)
		}
		back, _, err := DecodeMessage(out)
		if err != nil {
			t.Fatalf("re-decoding %x: %v", out, err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip\n got %#v\nwant %#v", back, m)
		}
	})
}

// FuzzDecodeParameter: the same properties for one parameter.
func FuzzDecodeParameter(f *testing.F) {
	for _, b := range [][]byte{goldenHandle, goldenRegistration[8:], goldenServerAnnounce[8:],
		goldenRegRespReject[20:], h("00 0f 00 06 ab cd 00 00"), h("80 3f 00 08 00 00 00 03"),
		h("00 02 00 14 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"),
		h("00 0b 00 14 00 00 00 07 00 04 00 0c 0f 17 00 00 00 01 00 08 0a 00 00 01")} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, rest, _, err := DecodeParameter(b)
		if err != nil {
			checkError(t, err)
			return
		}
		if len(rest) > len(b)-4 {
			t.Fatalf("consumed %d of %d bytes", len(b)-len(rest), len(b))
		}
		if !known(p.Type) && p.Type != ParamHandleResolutionOption {
			return // skipped unknown parameter
		}
		out, err := p.AppendTo(nil)
		if err != nil {
			if len(b) > 0xffff-64 {
				return
			}
			t.Fatalf("re-encoding %#v: %v", p, err)
		}
		back, rest, _, err := DecodeParameter(out)
		if err != nil || len(rest) != 0 {
			t.Fatalf("re-decoding %x: %v (%d left)", out, err, len(rest))
		}
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("round trip\n got %#v\nwant %#v", back, p)
		}
	})
}

func checkError(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if e.Cause > CauseRejectedSecurityConsiderations {
		t.Fatalf("undefined cause %v", e.Cause)
	}
	if e.Silent && e.Cause != CauseUnrecognizedParameter {
		t.Fatalf("silent %v", e)
	}
}

// The worst inputs for the decoder's memory: a maximal message made only of
// the smallest parameters it keeps (skip-and-report unknowns, or pool
// elements); what it allocates stays within a fixed multiple of the input.
func TestDecodeMemoryBound(t *testing.T) {
	unknowns := []byte{0x0b, 0, 0, 0, 0x00, 0x0d, 0x00, 0x04} // ASAP_COOKIE, empty cookie
	for len(unknowns) < 0xfff0 {
		unknowns = append(unknowns, 0xc0, 0x01, 0x00, 0x04)
	}
	pe := h("000a 0028 00000001 00000000 00000000 0006 0010 0007 0000 0001 0008 0a000001 0008 0008 00000003")
	bcard := cat(h("0d 00 00 00"), h("00 09 00 05 70 00 00 00"))
	for len(bcard)+len(pe) <= 0xffff {
		bcard = append(bcard, pe...)
	}
	for name, b := range map[string][]byte{"unknowns": unknowns, "pool elements": bcard} {
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m, report, err := DecodeMessage(b)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "unknowns" && len(report) != MaxReported {
			t.Errorf("%d parameters to report, want the first %d", len(report), MaxReported)
		}
		_ = m
		if got := after.TotalAlloc - before.TotalAlloc; got > 16*uint64(len(b)) {
			t.Errorf("%s: %d bytes allocated for %d bytes of input", name, got, len(b))
		} else {
			t.Logf("%s: %d bytes allocated for %d bytes of input", name, got, len(b))
		}
	}
}
