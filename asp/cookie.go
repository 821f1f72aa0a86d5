package asp

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sigpool/sigpool/rserpool"
)

// ErrCookie is wrapped by the errors of DecodeCookieEcho.
var ErrCookie = errors.New("asp: bad cookie")

// MaxState bounds the state of one checkpoint: an ASAP message's length is
// 16 bits, so with its header, the cookie parameter's header, the
// transaction id and the padding to 4 octets the state fits in 65520.
const MaxState = 65532 - 4 - 4 - 4

// AppendCookie appends the ASAP Cookie message (RFC 5352, PPID 11) that
// checkpoints dialogue tid: its parameter value is the 4-octet transaction id
// followed by state (docs/gateway.md). An empty state says the dialogue is
// over.
func AppendCookie(dst []byte, tid uint32, state []byte) ([]byte, error) {
	if len(state) > MaxState {
		return dst, fmt.Errorf("%w: state of %d octets, at most %d", ErrCookie, len(state), MaxState)
	}
	v := make([]byte, 4, 4+len(state))
	binary.BigEndian.PutUint32(v, tid)
	v = append(v, state...)
	m := rserpool.Cookie{Cookie: v}
	return m.AppendTo(dst)
}

// CookieValue splits a cookie parameter value into the transaction id and
// the state (aliasing v).
func CookieValue(v []byte) (tid uint32, state []byte, err error) {
	if len(v) < 4 {
		return 0, nil, fmt.Errorf("%w: %d octets, the transaction id needs 4", ErrCookie, len(v))
	}
	return binary.BigEndian.Uint32(v), v[4:], nil
}

// DecodeCookieEcho decodes an ASAP message received on a gateway
// association. ok is false (with a nil error) for a well-formed ASAP message
// that is not a Cookie Echo; err is set for one that does not decode, or a
// Cookie Echo whose value is shorter than a transaction id. state aliases b.
func DecodeCookieEcho(b []byte) (tid uint32, state []byte, ok bool, err error) {
	m, _, err := rserpool.DecodeMessage(b)
	if err != nil {
		return 0, nil, false, fmt.Errorf("%w: %v", ErrCookie, err)
	}
	ce, isEcho := m.(*rserpool.CookieEcho)
	if !isEcho {
		return 0, nil, false, nil
	}
	tid, state, err = CookieValue(ce.Cookie)
	if err != nil {
		return 0, nil, false, err
	}
	return tid, state, true, nil
}
