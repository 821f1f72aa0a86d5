package tcap

import (
	"errors"
	"fmt"
)

// Kind is a TCAP message type, by its tag (Q.773).
type Kind uint8

// The message types of the ITU-T transaction portion.
const (
	Unidirectional Kind = 0x61
	Begin          Kind = 0x62
	End            Kind = 0x64
	Continue       Kind = 0x65
	Abort          Kind = 0x67
)

func (k Kind) String() string {
	switch k {
	case Unidirectional:
		return "Unidirectional"
	case Begin:
		return "Begin"
	case End:
		return "End"
	case Continue:
		return "Continue"
	case Abort:
		return "Abort"
	}
	return fmt.Sprintf("Kind(0x%02x)", uint8(k))
}

// Tags of the transaction portion's elements.
const (
	TagOTID        = 0x48
	TagDTID        = 0x49
	TagPAbortCause = 0x4a
	TagDialogue    = 0x6b
	TagComponents  = 0x6c
	TagInteger     = 0x02
	TagOID         = 0x06
	TagNull        = 0x05
	TagSequence    = 0x30
	TagLinkedID    = 0x80
	maxTIDLen      = 4
	minTIDLen      = 1
	pAbortCauseLen = 1
)

// P-Abort causes (Q.773).
const (
	UnrecognizedMessageType          uint8 = 0
	UnrecognizedTransactionID        uint8 = 1
	BadlyFormattedTransactionPortion uint8 = 2
	IncorrectTransactionPortion      uint8 = 3
	ResourceLimitation               uint8 = 4
)

// Errors that Decode and Append wrap; test with errors.Is. Each names the
// P-Abort cause of the fault (PAbortCauseOf).
var (
	ErrUnrecognizedType = errors.New("tcap: unrecognized message type")
	ErrBadlyFormatted   = errors.New("tcap: badly formatted transaction portion")
	ErrIncorrect        = errors.New("tcap: incorrect transaction portion")
)

// PAbortCauseOf returns the P-Abort cause that answers a message Decode
// rejected with err, and false if err is not one of this package's.
func PAbortCauseOf(err error) (uint8, bool) {
	switch {
	case errors.Is(err, ErrUnrecognizedType):
		return UnrecognizedMessageType, true
	case errors.Is(err, ErrBadlyFormatted):
		return BadlyFormattedTransactionPortion, true
	case errors.Is(err, ErrIncorrect):
		return IncorrectTransactionPortion, true
	}
	return 0, false
}

// TID is a transaction id of 1 to 4 octets. The zero TID is empty (Len 0)
// and is not valid on the wire. TIDs compare with ==.
type TID struct {
	n uint8
	b [maxTIDLen]byte
}

// MakeTID returns the TID of the octets b (1..4).
func MakeTID(b []byte) (TID, error) {
	if len(b) < minTIDLen || len(b) > maxTIDLen {
		return TID{}, fmt.Errorf("%w: transaction id of %d octets", ErrBadlyFormatted, len(b))
	}
	var t TID
	t.n = uint8(copy(t.b[:], b))
	return t, nil
}

// TID32 returns the 4-octet TID of v, big-endian.
func TID32(v uint32) TID {
	return TID{n: 4, b: [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}}
}

// Len is the number of octets of t.
func (t TID) Len() int { return int(t.n) }

// Bytes returns a copy of t's octets.
func (t TID) Bytes() []byte { return append([]byte(nil), t.b[:t.n]...) }

// Array returns t's octets, left-aligned, and their number, without
// allocating.
func (t TID) Array() ([4]byte, int) { return t.b, int(t.n) }

// Uint32 is the numeric value of t's octets, big-endian (a 2-octet TID 01 02
// is 0x0102).
func (t TID) Uint32() uint32 {
	var v uint32
	for _, c := range t.b[:t.n] {
		v = v<<8 | uint32(c)
	}
	return v
}

// Tag is the first two octets of a 4-octet TID as a number: the owner tag of
// docs/gateway.md. It is false for shorter TIDs.
func (t TID) Tag() (uint16, bool) {
	if t.n != 4 {
		return 0, false
	}
	return uint16(t.b[0])<<8 | uint16(t.b[1]), true
}

func (t TID) String() string { return fmt.Sprintf("%x", t.b[:t.n]) }

// Message is a TCAP message's transaction portion.
type Message struct {
	Kind             Kind
	OTID, DTID       TID
	HasOTID, HasDTID bool
	// Dialogue is the whole dialogue portion element (tag 0x6b, length,
	// contents) when present, except in an Abort; aliases the input.
	Dialogue []byte
	// Components is the whole component portion element (tag 0x6c) when
	// present; aliases the input. Iterate it with NextComponent.
	Components     []byte
	PAbortCause    uint8
	HasPAbortCause bool
	// UAbort is the dialogue portion element (tag 0x6b) of an Abort from the
	// TC user; aliases the input.
	UAbort []byte
}

// the elements each kind may carry, as bits, and which it must
const (
	elOTID = 1 << iota
	elDTID
	elDialogue
	elComponents
	elPAbort
	elUAbort
)

func elements(k Kind) (allowed, required int, ok bool) {
	switch k {
	case Unidirectional:
		return elDialogue | elComponents, elComponents, true
	case Begin:
		return elOTID | elDialogue | elComponents, elOTID, true
	case End:
		return elDTID | elDialogue | elComponents, elDTID, true
	case Continue:
		return elOTID | elDTID | elDialogue | elComponents, elOTID | elDTID, true
	case Abort:
		return elDTID | elPAbort | elUAbort, elDTID, true
	}
	return 0, 0, false
}

// order of the elements inside a message; an element's rank must grow
func rank(tag byte) (int, int) {
	switch tag {
	case TagOTID:
		return 1, elOTID
	case TagDTID:
		return 2, elDTID
	case TagPAbortCause:
		return 3, elPAbort
	case TagDialogue:
		return 3, elDialogue
	case TagComponents:
		return 4, elComponents
	}
	return 0, 0
}

// Decode decodes a TCAP message from b into m without allocating; m's slices
// alias b. On error m's contents are unspecified.
func Decode(b []byte, m *Message) error {
	*m = Message{}
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", ErrBadlyFormatted)
	}
	k := Kind(b[0])
	allowed, required, ok := elements(k)
	if !ok {
		return fmt.Errorf("%w: tag 0x%02x", ErrUnrecognizedType, b[0])
	}
	_, body, rest, err := readTLV(b)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %d octets after the message", ErrBadlyFormatted, len(rest))
	}
	m.Kind = k
	seen, last := 0, 0
	for len(body) != 0 {
		tag, content, next, err := readTLV(body)
		if err != nil {
			return err
		}
		whole := body[:len(body)-len(next)]
		body = next
		r, el := rank(tag[0])
		if len(tag) != 1 || r == 0 {
			return fmt.Errorf("%w: element 0x%02x in a %s", ErrIncorrect, tag[0], k)
		}
		if k == Abort && el == elDialogue {
			el = elUAbort
		}
		if el&allowed == 0 {
			return fmt.Errorf("%w: element 0x%02x not allowed in a %s", ErrIncorrect, tag[0], k)
		}
		if r <= last {
			return fmt.Errorf("%w: element 0x%02x out of order or repeated in a %s", ErrIncorrect, tag[0], k)
		}
		last = r
		seen |= el
		switch el {
		case elOTID, elDTID:
			if len(content) < minTIDLen || len(content) > maxTIDLen {
				return fmt.Errorf("%w: transaction id of %d octets", ErrBadlyFormatted, len(content))
			}
			var t TID
			t.n = uint8(copy(t.b[:], content))
			if el == elOTID {
				m.OTID, m.HasOTID = t, true
			} else {
				m.DTID, m.HasDTID = t, true
			}
		case elPAbort:
			if len(content) != pAbortCauseLen {
				return fmt.Errorf("%w: P-Abort cause of %d octets", ErrBadlyFormatted, len(content))
			}
			m.PAbortCause, m.HasPAbortCause = content[0], true
		case elDialogue:
			m.Dialogue = whole
		case elUAbort:
			m.UAbort = whole
		case elComponents:
			m.Components = whole
		}
	}
	if missing := required &^ seen; missing != 0 {
		return fmt.Errorf("%w: %s without %s", ErrIncorrect, k, elementName(missing))
	}
	return nil
}

func elementName(el int) string {
	switch {
	case el&elOTID != 0:
		return "originating transaction id"
	case el&elDTID != 0:
		return "destination transaction id"
	case el&elComponents != 0:
		return "component portion"
	}
	return "a required element"
}

// bodyLen validates m for encoding and returns the length of its contents.
func (m *Message) bodyLen() (int, error) {
	allowed, required, ok := elements(m.Kind)
	if !ok {
		return 0, fmt.Errorf("%w: kind 0x%02x", ErrUnrecognizedType, uint8(m.Kind))
	}
	have := 0
	n := 0
	if m.HasOTID {
		if m.OTID.n < minTIDLen {
			return 0, fmt.Errorf("%w: empty originating transaction id", ErrBadlyFormatted)
		}
		have |= elOTID
		n += 2 + m.OTID.Len()
	}
	if m.HasDTID {
		if m.DTID.n < minTIDLen {
			return 0, fmt.Errorf("%w: empty destination transaction id", ErrBadlyFormatted)
		}
		have |= elDTID
		n += 2 + m.DTID.Len()
	}
	if m.HasPAbortCause {
		have |= elPAbort
		n += 3
	}
	for _, p := range []struct {
		b  []byte
		el int
		t  byte
	}{{m.Dialogue, elDialogue, TagDialogue}, {m.Components, elComponents, TagComponents}, {m.UAbort, elUAbort, TagDialogue}} {
		if p.b == nil {
			continue
		}
		if tag, ok := isSingleTLV(p.b); !ok || tag != p.t {
			return 0, fmt.Errorf("%w: %s is not one element of tag 0x%02x", ErrBadlyFormatted, elName(p.el), p.t)
		}
		have |= p.el
		n += len(p.b)
	}
	if extra := have &^ allowed; extra != 0 {
		return 0, fmt.Errorf("%w: %s cannot carry %s", ErrIncorrect, m.Kind, elName(extra))
	}
	if missing := required &^ have; missing != 0 {
		return 0, fmt.Errorf("%w: %s without %s", ErrIncorrect, m.Kind, elementName(missing))
	}
	if have&elPAbort != 0 && have&elUAbort != 0 {
		return 0, fmt.Errorf("%w: Abort with both a P-Abort cause and a user abort", ErrIncorrect)
	}
	if n > maxLen {
		return 0, fmt.Errorf("%w: message of %d octets", ErrBadlyFormatted, n)
	}
	return n, nil
}

func elName(el int) string {
	switch {
	case el&elOTID != 0:
		return "an originating transaction id"
	case el&elDTID != 0:
		return "a destination transaction id"
	case el&elDialogue != 0:
		return "a dialogue portion"
	case el&elComponents != 0:
		return "a component portion"
	case el&elPAbort != 0:
		return "a P-Abort cause"
	case el&elUAbort != 0:
		return "a user abort"
	}
	return "an element"
}

// Len returns the encoded length of m, or why it cannot be encoded.
func (m *Message) Len() (int, error) {
	n, err := m.bodyLen()
	if err != nil {
		return 0, err
	}
	return 1 + lenLen(n) + n, nil
}

// Append appends the encoding of m to dst; on error dst is returned
// unchanged.
func (m *Message) Append(dst []byte) ([]byte, error) {
	n, err := m.bodyLen()
	if err != nil {
		return dst, err
	}
	dst = appendHeader(dst, byte(m.Kind), n)
	if m.HasOTID {
		dst = append(dst, TagOTID, m.OTID.n)
		dst = append(dst, m.OTID.b[:m.OTID.n]...)
	}
	if m.HasDTID {
		dst = append(dst, TagDTID, m.DTID.n)
		dst = append(dst, m.DTID.b[:m.DTID.n]...)
	}
	if m.HasPAbortCause {
		dst = append(dst, TagPAbortCause, 1, m.PAbortCause)
	}
	dst = append(dst, m.Dialogue...)
	dst = append(dst, m.UAbort...)
	dst = append(dst, m.Components...)
	return dst, nil
}

// PAbort returns the Abort with a P-Abort cause that answers a message whose
// originating transaction id is otid.
func PAbort(otid TID, cause uint8) Message {
	return Message{Kind: Abort, DTID: otid, HasDTID: true, PAbortCause: cause, HasPAbortCause: true}
}
