package rserpool

import (
	"encoding/binary"
	"fmt"
)

// MessageType is the type of an ASAP message (RFC 5352, section 2.2).
type MessageType uint8

// ASAP message types.
const (
	MsgRegistration             MessageType = 0x01
	MsgDeregistration           MessageType = 0x02
	MsgRegistrationResponse     MessageType = 0x03
	MsgDeregistrationResponse   MessageType = 0x04
	MsgHandleResolution         MessageType = 0x05
	MsgHandleResolutionResponse MessageType = 0x06
	MsgEndpointKeepAlive        MessageType = 0x07
	MsgEndpointKeepAliveAck     MessageType = 0x08
	MsgEndpointUnreachable      MessageType = 0x09
	MsgServerAnnounce           MessageType = 0x0a
	MsgCookie                   MessageType = 0x0b
	MsgCookieEcho               MessageType = 0x0c
	MsgBusinessCard             MessageType = 0x0d
	MsgError                    MessageType = 0x0e
)

// PPID is the SCTP payload protocol identifier of ASAP; Port its
// registered SCTP (and UDP, TCP) port.
const (
	PPID = 11
	Port = 3863
)

const (
	msgHeaderLen = 4
	// flagReject is the R bit of ASAP_REGISTRATION_RESPONSE.
	flagReject = 0x01
	// flagHome is the H bit of ASAP_ENDPOINT_KEEP_ALIVE.
	flagHome = 0x01
)

var msgNames = [...]string{
	MsgRegistration:             "ASAP_REGISTRATION",
	MsgDeregistration:           "ASAP_DEREGISTRATION",
	MsgRegistrationResponse:     "ASAP_REGISTRATION_RESPONSE",
	MsgDeregistrationResponse:   "ASAP_DEREGISTRATION_RESPONSE",
	MsgHandleResolution:         "ASAP_HANDLE_RESOLUTION",
	MsgHandleResolutionResponse: "ASAP_HANDLE_RESOLUTION_RESPONSE",
	MsgEndpointKeepAlive:        "ASAP_ENDPOINT_KEEP_ALIVE",
	MsgEndpointKeepAliveAck:     "ASAP_ENDPOINT_KEEP_ALIVE_ACK",
	MsgEndpointUnreachable:      "ASAP_ENDPOINT_UNREACHABLE",
	MsgServerAnnounce:           "ASAP_SERVER_ANNOUNCE",
	MsgCookie:                   "ASAP_COOKIE",
	MsgCookieEcho:               "ASAP_COOKIE_ECHO",
	MsgBusinessCard:             "ASAP_BUSINESS_CARD",
	MsgError:                    "ASAP_ERROR",
}

func (t MessageType) String() string {
	if int(t) < len(msgNames) && msgNames[t] != "" {
		return msgNames[t]
	}
	return fmt.Sprintf("MessageType(0x%02x)", uint8(t))
}

// Message is one ASAP message. Each message type is its own struct; all
// append themselves to a caller's buffer.
type Message interface {
	Type() MessageType
	AppendTo(dst []byte) ([]byte, error)
}

// Marshal returns m's encoding in a new buffer.
func Marshal(m Message) ([]byte, error) { return m.AppendTo(nil) }

// Registration is ASAP_REGISTRATION: a PE registers (or re-registers) into
// a pool.
type Registration struct {
	PoolHandle []byte
	Element    PoolElement
}

// Deregistration is ASAP_DEREGISTRATION.
type Deregistration struct {
	PoolHandle []byte
	ID         uint32
}

// RegistrationResponse is ASAP_REGISTRATION_RESPONSE. Reject is the R flag;
// Causes, when present, travel in an Operation Error parameter.
type RegistrationResponse struct {
	Reject     bool
	PoolHandle []byte
	ID         uint32
	Causes     []ErrorCause
}

// DeregistrationResponse is ASAP_DEREGISTRATION_RESPONSE (no flag defined).
type DeregistrationResponse struct {
	PoolHandle []byte
	ID         uint32
	Causes     []ErrorCause
}

// HandleResolution is ASAP_HANDLE_RESOLUTION. Items, when HasItems is set,
// is rsplib's Handle Resolution Option: how many PE identities the pool
// user wants (its MaxHResItems).
type HandleResolution struct {
	PoolHandle []byte
	HasItems   bool
	Items      uint32
}

// HandleResolutionResponse is ASAP_HANDLE_RESOLUTION_RESPONSE: the selected
// elements and, optionally, the pool's overall policy; or Causes (Unknown
// Pool Handle) in an Operation Error.
type HandleResolutionResponse struct {
	PoolHandle []byte
	Policy     *Policy
	Elements   []PoolElement
	Causes     []ErrorCause
}

// EndpointKeepAlive is ASAP_ENDPOINT_KEEP_ALIVE from a registrar to a PE.
// Home is the H flag: the sender asks to become the PE's home registrar.
// ID, when HasID is set, is a PE Identifier parameter after the pool handle.
type EndpointKeepAlive struct {
	Home       bool
	ServerID   uint32
	PoolHandle []byte
	HasID      bool
	ID         uint32
}

// EndpointKeepAliveAck is ASAP_ENDPOINT_KEEP_ALIVE_ACK.
type EndpointKeepAliveAck struct {
	PoolHandle []byte
	ID         uint32
}

// EndpointUnreachable is ASAP_ENDPOINT_UNREACHABLE, a pool user's failure
// report.
type EndpointUnreachable struct {
	PoolHandle []byte
	ID         uint32
}

// ServerAnnounce is ASAP_SERVER_ANNOUNCE: a registrar's identifier and the
// transports it serves ASAP on (none: the sender's address).
type ServerAnnounce struct {
	ServerID   uint32
	Transports []Transport
}

// Cookie is ASAP_COOKIE, from a PE to its pool user.
type Cookie struct{ Cookie []byte }

// CookieEcho is ASAP_COOKIE_ECHO, from a pool user to the PE it failed over to.
type CookieEcho struct{ Cookie []byte }

// BusinessCard is ASAP_BUSINESS_CARD: the pool the sender belongs to and the
// elements to fail over to.
type BusinessCard struct {
	PoolHandle []byte
	Elements   []PoolElement
}

// ErrorMessage is ASAP_ERROR: an Operation Error sent back for a message
// that could not be processed.
type ErrorMessage struct{ Causes []ErrorCause }

func (*Registration) Type() MessageType             { return MsgRegistration }
func (*Deregistration) Type() MessageType           { return MsgDeregistration }
func (*RegistrationResponse) Type() MessageType     { return MsgRegistrationResponse }
func (*DeregistrationResponse) Type() MessageType   { return MsgDeregistrationResponse }
func (*HandleResolution) Type() MessageType         { return MsgHandleResolution }
func (*HandleResolutionResponse) Type() MessageType { return MsgHandleResolutionResponse }
func (*EndpointKeepAlive) Type() MessageType        { return MsgEndpointKeepAlive }
func (*EndpointKeepAliveAck) Type() MessageType     { return MsgEndpointKeepAliveAck }
func (*EndpointUnreachable) Type() MessageType      { return MsgEndpointUnreachable }
func (*ServerAnnounce) Type() MessageType           { return MsgServerAnnounce }
func (*Cookie) Type() MessageType                   { return MsgCookie }
func (*CookieEcho) Type() MessageType               { return MsgCookieEcho }
func (*BusinessCard) Type() MessageType             { return MsgBusinessCard }
func (*ErrorMessage) Type() MessageType             { return MsgError }

// ---------------------------------------------------------------- encoding

// enc builds one message in dst; the first error sticks and the message is
// then cut off dst.
type enc struct {
	dst   []byte
	start int
	err   error
}

func begin(dst []byte, t MessageType, flags uint8) enc {
	return enc{dst: append(dst, byte(t), flags, 0, 0), start: len(dst)}
}

func (e *enc) do(f func([]byte) ([]byte, error)) {
	if e.err == nil {
		e.dst, e.err = f(e.dst)
	}
}

func (e *enc) u32(v uint32) { e.dst = binary.BigEndian.AppendUint32(e.dst, v) }
func (e *enc) handle(h []byte) {
	e.do(func(b []byte) ([]byte, error) { return AppendPoolHandle(b, h) })
}
func (e *enc) id(v uint32) { e.dst = AppendPEIdentifier(e.dst, v) }
func (e *enc) causes(c []ErrorCause) {
	if len(c) > 0 {
		e.do(func(b []byte) ([]byte, error) { return AppendOperationError(b, c) })
	}
}
func (e *enc) elements(pes []PoolElement) {
	for i := range pes {
		e.do(pes[i].AppendTo)
	}
}

func (e *enc) end() ([]byte, error) {
	if e.err != nil {
		return e.dst[:e.start], e.err
	}
	n := len(e.dst) - e.start
	if n > 0xffff {
		return e.dst[:e.start], fmt.Errorf("rserpool: %v of %d bytes is too long", MessageType(e.dst[e.start]), n)
	}
	binary.BigEndian.PutUint16(e.dst[e.start+2:], uint16(n))
	return e.dst, nil
}

func (m *Registration) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgRegistration, 0)
	e.handle(m.PoolHandle)
	e.do(m.Element.AppendTo)
	return e.end()
}

func (m *Deregistration) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgDeregistration, 0)
	e.handle(m.PoolHandle)
	e.id(m.ID)
	return e.end()
}

func (m *RegistrationResponse) AppendTo(dst []byte) ([]byte, error) {
	var flags uint8
	if m.Reject {
		flags = flagReject
	}
	e := begin(dst, MsgRegistrationResponse, flags)
	e.handle(m.PoolHandle)
	e.id(m.ID)
	e.causes(m.Causes)
	return e.end()
}

func (m *DeregistrationResponse) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgDeregistrationResponse, 0)
	e.handle(m.PoolHandle)
	e.id(m.ID)
	e.causes(m.Causes)
	return e.end()
}

func (m *HandleResolution) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgHandleResolution, 0)
	e.handle(m.PoolHandle)
	if m.HasItems {
		e.dst = AppendHandleResolutionOption(e.dst, m.Items)
	}
	return e.end()
}

func (m *HandleResolutionResponse) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgHandleResolutionResponse, 0)
	e.handle(m.PoolHandle)
	if m.Policy != nil {
		e.do(m.Policy.AppendTo)
	}
	e.elements(m.Elements)
	e.causes(m.Causes)
	return e.end()
}

func (m *EndpointKeepAlive) AppendTo(dst []byte) ([]byte, error) {
	var flags uint8
	if m.Home {
		flags = flagHome
	}
	e := begin(dst, MsgEndpointKeepAlive, flags)
	e.u32(m.ServerID)
	e.handle(m.PoolHandle)
	if m.HasID {
		e.id(m.ID)
	}
	return e.end()
}

func (m *EndpointKeepAliveAck) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgEndpointKeepAliveAck, 0)
	e.handle(m.PoolHandle)
	e.id(m.ID)
	return e.end()
}

func (m *EndpointUnreachable) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgEndpointUnreachable, 0)
	e.handle(m.PoolHandle)
	e.id(m.ID)
	return e.end()
}

func (m *ServerAnnounce) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgServerAnnounce, 0)
	e.u32(m.ServerID)
	for i := range m.Transports {
		e.do(m.Transports[i].AppendTo)
	}
	return e.end()
}

func (m *Cookie) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgCookie, 0)
	e.do(func(b []byte) ([]byte, error) { return AppendCookie(b, m.Cookie) })
	return e.end()
}

func (m *CookieEcho) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgCookieEcho, 0)
	e.do(func(b []byte) ([]byte, error) { return AppendCookie(b, m.Cookie) })
	return e.end()
}

func (m *BusinessCard) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgBusinessCard, 0)
	e.handle(m.PoolHandle)
	e.elements(m.Elements)
	return e.end()
}

func (m *ErrorMessage) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgError, 0)
	if len(m.Causes) == 0 {
		e.err = fmt.Errorf("rserpool: ASAP_ERROR without cause")
	}
	e.causes(m.Causes)
	return e.end()
}

// ---------------------------------------------------------------- decoding

// bag holds the parameters of one message by type, in arrival order.
type bag struct {
	handle   [][]byte
	element  []PoolElement
	id       []uint32
	causes   [][]ErrorCause
	policy   []Policy
	cookie   [][]byte
	hropt    []uint32
	transprt []Transport
}

// allowed lists, per message type, the parameter types it may carry.
var allowed = map[MessageType][]ParamType{
	MsgRegistration:             {ParamPoolHandle, ParamPoolElement},
	MsgDeregistration:           {ParamPoolHandle, ParamPEIdentifier},
	MsgRegistrationResponse:     {ParamPoolHandle, ParamPEIdentifier, ParamOperationError},
	MsgDeregistrationResponse:   {ParamPoolHandle, ParamPEIdentifier, ParamOperationError},
	MsgHandleResolution:         {ParamPoolHandle, ParamHandleResolutionOption},
	MsgHandleResolutionResponse: {ParamPoolHandle, ParamPolicy, ParamPoolElement, ParamOperationError},
	MsgEndpointKeepAlive:        {ParamPoolHandle, ParamPEIdentifier},
	MsgEndpointKeepAliveAck:     {ParamPoolHandle, ParamPEIdentifier},
	MsgEndpointUnreachable:      {ParamPoolHandle, ParamPEIdentifier},
	MsgServerAnnounce:           {ParamSCTPTransport, ParamTCPTransport, ParamUDPTransport},
	MsgCookie:                   {ParamCookie},
	MsgCookieEcho:               {ParamCookie},
	MsgBusinessCard:             {ParamPoolHandle, ParamPoolElement},
	MsgError:                    {ParamOperationError},
}

// DecodeMessage decodes one ASAP message, which must fill b (up to three
// bytes of trailing padding are tolerated). Unrecognized parameters whose
// action bits say "skip and report" come back in report, for the caller to
// answer with an ASAP_ERROR holding Unrecognized Parameter causes. Any
// failure is an *Error naming the cause to answer with; an unknown message
// type gives Unrecognized Message carrying the message.
//
// Byte slices in the result are copies: b may be reused at once.
func DecodeMessage(b []byte) (m Message, report []RawParam, err error) {
	if len(b) < msgHeaderLen {
		return nil, nil, errf(CauseInvalidValues, nil, "message of %d bytes", len(b))
	}
	t, flags := MessageType(b[0]), b[1]
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n < msgHeaderLen || n > len(b) || len(b)-n > 3 {
		return nil, nil, errf(CauseInvalidValues, nil, "%v with length %d in %d bytes", t, n, len(b))
	}
	b = b[:n]
	kinds, ok := allowed[t]
	if !ok {
		return nil, nil, errf(CauseUnrecognizedMessage, clone(b), "unrecognized message type 0x%02x", uint8(t))
	}
	body := b[msgHeaderLen:]
	var serverID uint32
	if t == MsgEndpointKeepAlive || t == MsgServerAnnounce {
		if len(body) < 4 {
			return nil, nil, errf(CauseInvalidValues, nil, "%v without server identifier", t)
		}
		serverID = binary.BigEndian.Uint32(body)
		body = body[4:]
	}
	var d decoder
	var g bag
	for len(body) > 0 {
		raw, rest, e := nextParam(body)
		if e != nil {
			return nil, nil, e
		}
		body = rest
		if !contains(kinds, raw.Type) {
			if known(raw.Type) {
				return nil, nil, invalid(raw, "%v in %v", raw.Type, t)
			}
			if e := d.unknown(raw); e != nil {
				return nil, nil, e
			}
			continue
		}
		p, e := d.parameter(raw)
		if e != nil {
			return nil, nil, e
		}
		switch p.Type {
		case ParamPoolHandle:
			g.handle = append(g.handle, p.Bytes)
		case ParamPoolElement:
			g.element = append(g.element, p.Element)
		case ParamPEIdentifier:
			g.id = append(g.id, p.Uint32)
		case ParamOperationError:
			g.causes = append(g.causes, p.Causes)
		case ParamPolicy:
			g.policy = append(g.policy, p.Policy)
		case ParamCookie:
			g.cookie = append(g.cookie, p.Bytes)
		case ParamHandleResolutionOption:
			g.hropt = append(g.hropt, p.Uint32)
		default: // transports
			g.transprt = append(g.transprt, p.Transport)
		}
	}
	m, e := g.build(t, flags, serverID)
	if e != nil {
		return nil, nil, e
	}
	return m, d.report, nil
}

func contains(ts []ParamType, t ParamType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// one checks that a parameter occurs exactly once (or at most once when
// optional); missing or repeated parameters are Invalid Values.
func one(t MessageType, what ParamType, count int, optional bool) *Error {
	if count > 1 || (count == 0 && !optional) {
		return errf(CauseInvalidValues, nil, "%v with %d %v parameters", t, count, what)
	}
	return nil
}

func (g *bag) build(t MessageType, flags uint8, serverID uint32) (Message, *Error) {
	// Every message type's cardinalities; a type the message may not carry
	// never reached the bag.
	type card struct {
		p        ParamType
		n        int
		optional bool
	}
	var checks []card
	switch t {
	case MsgRegistration:
		checks = []card{{ParamPoolHandle, len(g.handle), false}, {ParamPoolElement, len(g.element), false}}
	case MsgDeregistration, MsgEndpointKeepAliveAck, MsgEndpointUnreachable:
		checks = []card{{ParamPoolHandle, len(g.handle), false}, {ParamPEIdentifier, len(g.id), false}}
	case MsgRegistrationResponse, MsgDeregistrationResponse:
		checks = []card{{ParamPoolHandle, len(g.handle), false}, {ParamPEIdentifier, len(g.id), false},
			{ParamOperationError, len(g.causes), true}}
	case MsgHandleResolution:
		checks = []card{{ParamPoolHandle, len(g.handle), false}, {ParamHandleResolutionOption, len(g.hropt), true}}
	case MsgHandleResolutionResponse:
		checks = []card{{ParamPoolHandle, len(g.handle), false}, {ParamPolicy, len(g.policy), true},
			{ParamOperationError, len(g.causes), true}}
	case MsgEndpointKeepAlive:
		checks = []card{{ParamPoolHandle, len(g.handle), false}, {ParamPEIdentifier, len(g.id), true}}
	case MsgCookie, MsgCookieEcho:
		checks = []card{{ParamCookie, len(g.cookie), false}}
	case MsgBusinessCard:
		checks = []card{{ParamPoolHandle, len(g.handle), false}}
	case MsgError:
		checks = []card{{ParamOperationError, len(g.causes), false}}
	}
	for _, c := range checks {
		if e := one(t, c.p, c.n, c.optional); e != nil {
			return nil, e
		}
	}
	first := func(x [][]byte) []byte {
		if len(x) == 0 {
			return nil
		}
		return x[0]
	}
	var causes []ErrorCause
	if len(g.causes) > 0 {
		causes = g.causes[0]
	}
	var id uint32
	if len(g.id) > 0 {
		id = g.id[0]
	}
	h := first(g.handle)
	switch t {
	case MsgRegistration:
		return &Registration{PoolHandle: h, Element: g.element[0]}, nil
	case MsgDeregistration:
		return &Deregistration{PoolHandle: h, ID: id}, nil
	case MsgRegistrationResponse:
		return &RegistrationResponse{Reject: flags&flagReject != 0, PoolHandle: h, ID: id, Causes: causes}, nil
	case MsgDeregistrationResponse:
		return &DeregistrationResponse{PoolHandle: h, ID: id, Causes: causes}, nil
	case MsgHandleResolution:
		m := &HandleResolution{PoolHandle: h}
		if len(g.hropt) > 0 {
			m.HasItems, m.Items = true, g.hropt[0]
		}
		return m, nil
	case MsgHandleResolutionResponse:
		m := &HandleResolutionResponse{PoolHandle: h, Elements: g.element, Causes: causes}
		if len(g.policy) > 0 {
			m.Policy = &g.policy[0]
		}
		return m, nil
	case MsgEndpointKeepAlive:
		return &EndpointKeepAlive{Home: flags&flagHome != 0, ServerID: serverID, PoolHandle: h, HasID: len(g.id) > 0, ID: id}, nil
	case MsgEndpointKeepAliveAck:
		return &EndpointKeepAliveAck{PoolHandle: h, ID: id}, nil
	case MsgEndpointUnreachable:
		return &EndpointUnreachable{PoolHandle: h, ID: id}, nil
	case MsgServerAnnounce:
		return &ServerAnnounce{ServerID: serverID, Transports: g.transprt}, nil
	case MsgCookie:
		return &Cookie{Cookie: g.cookie[0]}, nil
	case MsgCookieEcho:
		return &CookieEcho{Cookie: g.cookie[0]}, nil
	case MsgBusinessCard:
		return &BusinessCard{PoolHandle: h, Elements: g.element}, nil
	case MsgError:
		return &ErrorMessage{Causes: causes}, nil
	}
	return nil, errf(CauseUnrecognizedMessage, nil, "unrecognized message type 0x%02x", uint8(t))
}
