package enrp

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sigpool/sigpool/rserpool"
)

// FuzzDecodeENRP: decoding never panics; what decodes re-encodes, and the
// re-encoding decodes to the same message; every error is an
// *rserpool.Error with a defined cause.
func FuzzDecodeENRP(f *testing.F) {
	for _, g := range goldens {
		f.Add(g.wire)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, report, err := Decode(b)
		if err != nil {
			var e *rserpool.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v", err, err)
			}
			if e.Cause > rserpool.CauseRejectedSecurityConsiderations {
				t.Fatalf("cause %v", e.Cause)
			}
			return
		}
		if len(report) > rserpool.MaxReported {
			t.Fatalf("%d reported", len(report))
		}
		out, err := m.AppendTo(nil)
		if err != nil {
			if len(b) > MaxMessage-64 {
				return // re-padding may push a near-maximal message over 64 KiB
			}
			t.Fatalf("re-encoding %#v: %v", m, err)
		}
		back, _, err := Decode(out)
		if err != nil {
			t.Fatalf("re-decoding % x: %v", out, err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip\n got %#v\nwant %#v", back, m)
		}
	})
}
