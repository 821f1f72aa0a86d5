package m3ua_test

import (
	"testing"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// TestMatch checks the helper the suite trusts: a message matches only the
// same class, type and parameter values, in any order, with Diagnostic
// Information and INFO String tolerated in addition.
func TestMatch(t *testing.T) {
	e := func(m messages.M3UA) []byte {
		b, err := m3ua.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want := e(errMsg(m3ua.ErrInvalidRoutingContext, 9))
	for _, c := range []struct {
		name string
		got  []byte
		ok   bool
	}{
		{"same", e(errMsg(m3ua.ErrInvalidRoutingContext, 9)), true},
		{"with diagnostic", e(messages.NewError(params.NewErrorCode(0x19), params.NewRoutingContext(9), nil, nil, params.NewDiagnosticInformation([]byte{1, 2, 3}))), true},
		{"other code", e(errMsg(m3ua.ErrUnexpectedMessage, 9)), false},
		{"other RC", e(errMsg(m3ua.ErrInvalidRoutingContext, 8)), false},
		{"RC missing", e(errMsg(m3ua.ErrInvalidRoutingContext)), false},
		{"extra APC", e(messages.NewError(params.NewErrorCode(0x19), params.NewRoutingContext(9), nil, params.NewAffectedPointCode(1), nil)), false},
		{"other type", e(messages.NewNotify(params.NewStatus(0x10002), nil, params.NewRoutingContext(9), nil)), false},
		{"swapped order", rawMsg(0, 0, rawParam(params.RoutingContext, u32(9)), rawParam(params.ErrorCode, u32(0x19))), true},
	} {
		if err := match(want, c.got); (err == nil) != c.ok {
			t.Errorf("%s: match = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}
