package enrp

import (
	"encoding/binary"
	"fmt"

	"github.com/sigpool/sigpool/rserpool"
)

// PPID is the SCTP payload protocol identifier of ENRP; Port its registered
// SCTP port.
const (
	PPID = 12
	Port = 9901
)

// MessageType is the type of an ENRP message (RFC 5353, section 2).
type MessageType uint8

// ENRP message types.
const (
	MsgPresence            MessageType = 0x01
	MsgHandleTableRequest  MessageType = 0x02
	MsgHandleTableResponse MessageType = 0x03
	MsgHandleUpdate        MessageType = 0x04
	MsgListRequest         MessageType = 0x05
	MsgListResponse        MessageType = 0x06
	MsgInitTakeover        MessageType = 0x07
	MsgInitTakeoverAck     MessageType = 0x08
	MsgTakeoverServer      MessageType = 0x09
	MsgError               MessageType = 0x0a
)

var msgNames = [...]string{
	MsgPresence:            "ENRP_PRESENCE",
	MsgHandleTableRequest:  "ENRP_HANDLE_TABLE_REQUEST",
	MsgHandleTableResponse: "ENRP_HANDLE_TABLE_RESPONSE",
	MsgHandleUpdate:        "ENRP_HANDLE_UPDATE",
	MsgListRequest:         "ENRP_LIST_REQUEST",
	MsgListResponse:        "ENRP_LIST_RESPONSE",
	MsgInitTakeover:        "ENRP_INIT_TAKEOVER",
	MsgInitTakeoverAck:     "ENRP_INIT_TAKEOVER_ACK",
	MsgTakeoverServer:      "ENRP_TAKEOVER_SERVER",
	MsgError:               "ENRP_ERROR",
}

func (t MessageType) String() string {
	if int(t) < len(msgNames) && msgNames[t] != "" {
		return msgNames[t]
	}
	return fmt.Sprintf("MessageType(0x%02x)", uint8(t))
}

// Flag bits (RFC 5353, section 2).
const (
	flagReplyRequired   = 0x01 // R of ENRP_PRESENCE
	flagOwnChildrenOnly = 0x01 // W of ENRP_HANDLE_TABLE_REQUEST
	flagReject          = 0x01 // R of ENRP_HANDLE_TABLE_RESPONSE and ENRP_LIST_RESPONSE
	flagMore            = 0x02 // M of ENRP_HANDLE_TABLE_RESPONSE
	flagTakeoverSuggest = 0x01 // T of ENRP_HANDLE_UPDATE
)

// headerLen is the common header: type, flags, length, sending server's
// ID, receiving server's ID.
const headerLen = 12

// MaxMessage is the largest ENRP message: the 16-bit length field bounds it.
const MaxMessage = 0xffff

// Message is one ENRP message. Every message carries the sending and the
// receiving server's identifier (0 for the receiver when it is not known
// yet, as in announces and a starting registrar's first requests).
type Message interface {
	Type() MessageType
	IDs() (sender, receiver uint32)
	AppendTo(dst []byte) ([]byte, error)
}

// Servers is the header part every message has.
type Servers struct {
	Sender   uint32
	Receiver uint32
}

// IDs returns the sending and the receiving server's identifier.
func (s Servers) IDs() (uint32, uint32) { return s.Sender, s.Receiver }

// Presence is ENRP_PRESENCE: a registrar's heartbeat, with the checksum of
// the elements it is home of and, optionally, its server information.
// ReplyRequired is the R flag: the receiver answers with its own presence.
type Presence struct {
	Servers
	ReplyRequired bool
	Checksum      uint16
	Info          *rserpool.ServerInformation
}

// HandleTableRequest is ENRP_HANDLE_TABLE_REQUEST. OwnChildrenOnly is the W
// flag: only the elements the receiver is home of are wanted (a
// resynchronisation after a checksum mismatch).
type HandleTableRequest struct {
	Servers
	OwnChildrenOnly bool
}

// PoolEntry is one pool of a handle table response: its handle and elements.
type PoolEntry struct {
	Handle   []byte
	Elements []rserpool.PoolElement
}

// HandleTableResponse is ENRP_HANDLE_TABLE_RESPONSE. More is the M flag:
// the table did not fit, ask again for the rest; Reject the R flag.
type HandleTableResponse struct {
	Servers
	More   bool
	Reject bool
	Pools  []PoolEntry
}

// UpdateAction says what an ENRP_HANDLE_UPDATE does.
type UpdateAction uint16

// Update actions.
const (
	AddPE UpdateAction = 0
	DelPE UpdateAction = 1
)

func (a UpdateAction) String() string {
	switch a {
	case AddPE:
		return "ADD_PE"
	case DelPE:
		return "DEL_PE"
	}
	return fmt.Sprintf("UpdateAction(%d)", uint16(a))
}

// HandleUpdate is ENRP_HANDLE_UPDATE: one element added (or updated) or
// deleted by its home registrar. TakeoverSuggested is the T flag.
type HandleUpdate struct {
	Servers
	TakeoverSuggested bool
	Action            UpdateAction
	PoolHandle        []byte
	Element           rserpool.PoolElement
}

// ListRequest is ENRP_LIST_REQUEST.
type ListRequest struct{ Servers }

// ListResponse is ENRP_LIST_RESPONSE: the registrars the sender knows.
type ListResponse struct {
	Servers
	Reject     bool
	Registrars []rserpool.ServerInformation
}

// InitTakeover is ENRP_INIT_TAKEOVER: the sender wants to take over the
// elements of Target, which it believes dead.
type InitTakeover struct {
	Servers
	Target uint32
}

// InitTakeoverAck is ENRP_INIT_TAKEOVER_ACK: the sender agrees.
type InitTakeoverAck struct {
	Servers
	Target uint32
}

// TakeoverServer is ENRP_TAKEOVER_SERVER: the sender has taken Target's
// elements over.
type TakeoverServer struct {
	Servers
	Target uint32
}

// ErrorMessage is ENRP_ERROR: an Operation Error for a message that could
// not be processed.
type ErrorMessage struct {
	Servers
	Causes []rserpool.ErrorCause
}

func (*Presence) Type() MessageType            { return MsgPresence }
func (*HandleTableRequest) Type() MessageType  { return MsgHandleTableRequest }
func (*HandleTableResponse) Type() MessageType { return MsgHandleTableResponse }
func (*HandleUpdate) Type() MessageType        { return MsgHandleUpdate }
func (*ListRequest) Type() MessageType         { return MsgListRequest }
func (*ListResponse) Type() MessageType        { return MsgListResponse }
func (*InitTakeover) Type() MessageType        { return MsgInitTakeover }
func (*InitTakeoverAck) Type() MessageType     { return MsgInitTakeoverAck }
func (*TakeoverServer) Type() MessageType      { return MsgTakeoverServer }
func (*ErrorMessage) Type() MessageType        { return MsgError }

// Marshal returns m's encoding in a new buffer.
func Marshal(m Message) ([]byte, error) { return m.AppendTo(nil) }

// ---------------------------------------------------------------- encoding

type enc struct {
	dst   []byte
	start int
	err   error
}

func begin(dst []byte, t MessageType, flags uint8, s Servers) enc {
	e := enc{dst: append(dst, byte(t), flags, 0, 0), start: len(dst)}
	e.u32(s.Sender)
	e.u32(s.Receiver)
	return e
}

func (e *enc) u32(v uint32) { e.dst = binary.BigEndian.AppendUint32(e.dst, v) }
func (e *enc) do(f func([]byte) ([]byte, error)) {
	if e.err == nil {
		e.dst, e.err = f(e.dst)
	}
}

func (e *enc) end() ([]byte, error) {
	if e.err != nil {
		return e.dst[:e.start], e.err
	}
	n := len(e.dst) - e.start
	if n > MaxMessage {
		return e.dst[:e.start], fmt.Errorf("enrp: %v of %d bytes is too long", MessageType(e.dst[e.start]), n)
	}
	binary.BigEndian.PutUint16(e.dst[e.start+2:], uint16(n))
	return e.dst, nil
}

func flag(b bool, f uint8) uint8 {
	if b {
		return f
	}
	return 0
}

func (m *Presence) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgPresence, flag(m.ReplyRequired, flagReplyRequired), m.Servers)
	e.dst = rserpool.AppendPEChecksum(e.dst, m.Checksum)
	if m.Info != nil {
		e.do(m.Info.AppendTo)
	}
	return e.end()
}

func (m *HandleTableRequest) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgHandleTableRequest, flag(m.OwnChildrenOnly, flagOwnChildrenOnly), m.Servers)
	return e.end()
}

func (m *HandleTableResponse) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgHandleTableResponse, flag(m.More, flagMore)|flag(m.Reject, flagReject), m.Servers)
	for i := range m.Pools {
		p := &m.Pools[i]
		if len(p.Elements) == 0 {
			e.err = fmt.Errorf("enrp: pool %q without elements in a handle table response", p.Handle)
			break
		}
		e.do(func(b []byte) ([]byte, error) { return rserpool.AppendPoolHandle(b, p.Handle) })
		for j := range p.Elements {
			e.do(p.Elements[j].AppendTo)
		}
	}
	return e.end()
}

func (m *HandleUpdate) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgHandleUpdate, flag(m.TakeoverSuggested, flagTakeoverSuggest), m.Servers)
	e.dst = binary.BigEndian.AppendUint16(e.dst, uint16(m.Action))
	e.dst = append(e.dst, 0, 0) // reserved
	e.do(func(b []byte) ([]byte, error) { return rserpool.AppendPoolHandle(b, m.PoolHandle) })
	e.do(m.Element.AppendTo)
	return e.end()
}

func (m *ListRequest) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgListRequest, 0, m.Servers)
	return e.end()
}

func (m *ListResponse) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgListResponse, flag(m.Reject, flagReject), m.Servers)
	for i := range m.Registrars {
		e.do(m.Registrars[i].AppendTo)
	}
	return e.end()
}

func (m *InitTakeover) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgInitTakeover, 0, m.Servers)
	e.u32(m.Target)
	return e.end()
}

func (m *InitTakeoverAck) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgInitTakeoverAck, 0, m.Servers)
	e.u32(m.Target)
	return e.end()
}

func (m *TakeoverServer) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgTakeoverServer, 0, m.Servers)
	e.u32(m.Target)
	return e.end()
}

func (m *ErrorMessage) AppendTo(dst []byte) ([]byte, error) {
	e := begin(dst, MsgError, 0, m.Servers)
	if len(m.Causes) == 0 {
		e.err = fmt.Errorf("enrp: ENRP_ERROR without cause")
	}
	e.do(func(b []byte) ([]byte, error) { return rserpool.AppendOperationError(b, m.Causes) })
	return e.end()
}

// ---------------------------------------------------------------- decoding

func errf(c rserpool.Cause, info []byte, format string, args ...any) *rserpool.Error {
	return &rserpool.Error{Cause: c, Info: info, Reason: "enrp: " + fmt.Sprintf(format, args...)}
}

// allowed lists, per message type, the parameter types it may carry.
var allowed = [...][]rserpool.ParamType{
	MsgPresence:            {rserpool.ParamPEChecksum, rserpool.ParamServerInformation},
	MsgHandleTableRequest:  {},
	MsgHandleTableResponse: {rserpool.ParamPoolHandle, rserpool.ParamPoolElement},
	MsgHandleUpdate:        {rserpool.ParamPoolHandle, rserpool.ParamPoolElement},
	MsgListRequest:         {},
	MsgListResponse:        {rserpool.ParamServerInformation},
	MsgInitTakeover:        {},
	MsgInitTakeoverAck:     {},
	MsgTakeoverServer:      {},
	MsgError:               {rserpool.ParamOperationError},
}

// MessageLength returns the length of the ENRP message at the start of b as
// its header says; ok is false when b holds less than the length field.
func MessageLength(b []byte) (n int, ok bool) {
	if len(b) < 4 {
		return 0, false
	}
	return int(binary.BigEndian.Uint16(b[2:])), true
}

// Decode decodes one ENRP message, which must fill b (up to three bytes of
// trailing padding are tolerated). Unrecognized parameters whose action bits
// say "skip and report" come back in report. Any failure is a
// *rserpool.Error naming the cause to answer with in an ENRP_ERROR (or, when
// Silent, none); an unknown message type gives Unrecognized Message carrying
// the message. Reserved flag bits are ignored.
//
// Byte slices in the result are copies: b may be reused at once.
func Decode(b []byte) (m Message, report []rserpool.RawParam, err error) {
	if len(b) < headerLen {
		return nil, nil, errf(rserpool.CauseInvalidValues, nil, "message of %d bytes", len(b))
	}
	t, flags := MessageType(b[0]), b[1]
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n < headerLen || n > len(b) || len(b)-n > 3 {
		return nil, nil, errf(rserpool.CauseInvalidValues, nil, "%v with length %d in %d bytes", t, n, len(b))
	}
	b = b[:n]
	if t == 0 || int(t) >= len(allowed) {
		return nil, nil, errf(rserpool.CauseUnrecognizedMessage, clone(b), "unrecognized message type 0x%02x", uint8(t))
	}
	s := Servers{Sender: binary.BigEndian.Uint32(b[4:]), Receiver: binary.BigEndian.Uint32(b[8:])}
	body := b[headerLen:]
	switch t {
	case MsgInitTakeover, MsgInitTakeoverAck, MsgTakeoverServer:
		if len(body) < 4 {
			return nil, nil, errf(rserpool.CauseInvalidValues, nil, "%v without target server identifier", t)
		}
		target := binary.BigEndian.Uint32(body)
		body = body[4:]
		if len(body) > 0 {
			return nil, nil, errf(rserpool.CauseInvalidValues, nil, "%v with %d bytes after the target", t, len(body))
		}
		switch t {
		case MsgInitTakeover:
			return &InitTakeover{Servers: s, Target: target}, nil, nil
		case MsgInitTakeoverAck:
			return &InitTakeoverAck{Servers: s, Target: target}, nil, nil
		default:
			return &TakeoverServer{Servers: s, Target: target}, nil, nil
		}
	}
	var action UpdateAction
	if t == MsgHandleUpdate {
		if len(body) < 4 {
			return nil, nil, errf(rserpool.CauseInvalidValues, nil, "%v without update action", t)
		}
		action = UpdateAction(binary.BigEndian.Uint16(body))
		if action != AddPE && action != DelPE {
			return nil, nil, errf(rserpool.CauseInvalidValues, nil, "%v with update action %d", t, uint16(action))
		}
		body = body[4:]
	}
	params, report, e := decodeParams(t, body)
	if e != nil {
		return nil, nil, e
	}
	m, e = build(t, flags, s, action, params)
	if e != nil {
		return nil, nil, e
	}
	return m, report, nil
}

func decodeParams(t MessageType, body []byte) ([]rserpool.Parameter, []rserpool.RawParam, *rserpool.Error) {
	var ps []rserpool.Parameter
	var report []rserpool.RawParam
	kinds := allowed[t]
	for len(body) > 0 {
		tlvLen := 0
		if len(body) >= 4 {
			tlvLen = int(binary.BigEndian.Uint16(body[2:]))
		}
		p, rest, rep, err := rserpool.DecodeParameter(body)
		if err != nil {
			if e, ok := err.(*rserpool.Error); ok {
				return nil, nil, e
			}
			return nil, nil, errf(rserpool.CauseInvalidValues, nil, "%v", err)
		}
		for _, r := range rep {
			if len(report) < rserpool.MaxReported {
				report = append(report, r)
			}
		}
		if !contains(kinds, p.Type) {
			if known(p.Type) {
				tlv := body[:min(tlvLen, len(body))]
				return nil, nil, errf(rserpool.CauseInvalidValues, clone(tlv), "%v in %v", p.Type, t)
			}
			body = rest
			continue // an unknown type whose action bits say skip
		}
		body = rest
		ps = append(ps, p)
	}
	return ps, report, nil
}

// known reports whether t is a parameter type of RFC 5354 (rsplib's
// Handle Resolution Option, which carries skip bits, is skipped in ENRP).
func known(t rserpool.ParamType) bool {
	switch t {
	case rserpool.ParamIPv4Address, rserpool.ParamIPv6Address, rserpool.ParamSCTPTransport,
		rserpool.ParamTCPTransport, rserpool.ParamUDPTransport, rserpool.ParamPolicy,
		rserpool.ParamPoolHandle, rserpool.ParamPoolElement, rserpool.ParamServerInformation,
		rserpool.ParamOperationError, rserpool.ParamCookie, rserpool.ParamPEIdentifier,
		rserpool.ParamPEChecksum:
		return true
	}
	return false
}

func contains(ts []rserpool.ParamType, t rserpool.ParamType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func count(ps []rserpool.Parameter, t rserpool.ParamType) int {
	n := 0
	for i := range ps {
		if ps[i].Type == t {
			n++
		}
	}
	return n
}

func build(t MessageType, flags uint8, s Servers, action UpdateAction, ps []rserpool.Parameter) (Message, *rserpool.Error) {
	switch t {
	case MsgPresence:
		if n := count(ps, rserpool.ParamPEChecksum); n != 1 {
			return nil, errf(rserpool.CauseInvalidValues, nil, "%v with %d PE checksum parameters", t, n)
		}
		if n := count(ps, rserpool.ParamServerInformation); n > 1 {
			return nil, errf(rserpool.CauseInvalidValues, nil, "%v with %d server information parameters", t, n)
		}
		m := &Presence{Servers: s, ReplyRequired: flags&flagReplyRequired != 0}
		for i := range ps {
			switch ps[i].Type {
			case rserpool.ParamPEChecksum:
				m.Checksum = ps[i].Checksum
			case rserpool.ParamServerInformation:
				info := ps[i].Server
				m.Info = &info
			}
		}
		return m, nil
	case MsgHandleTableRequest:
		return &HandleTableRequest{Servers: s, OwnChildrenOnly: flags&flagOwnChildrenOnly != 0}, nil
	case MsgHandleTableResponse:
		m := &HandleTableResponse{Servers: s, More: flags&flagMore != 0, Reject: flags&flagReject != 0}
		for i := range ps {
			switch ps[i].Type {
			case rserpool.ParamPoolHandle:
				if k := len(m.Pools); k > 0 && len(m.Pools[k-1].Elements) == 0 {
					return nil, errf(rserpool.CauseInvalidValues, nil, "%v: pool handle without elements", t)
				}
				m.Pools = append(m.Pools, PoolEntry{Handle: ps[i].Bytes})
			case rserpool.ParamPoolElement:
				k := len(m.Pools)
				if k == 0 {
					return nil, errf(rserpool.CauseInvalidValues, nil, "%v: pool element before any pool handle", t)
				}
				m.Pools[k-1].Elements = append(m.Pools[k-1].Elements, ps[i].Element)
			}
		}
		if k := len(m.Pools); k > 0 && len(m.Pools[k-1].Elements) == 0 {
			return nil, errf(rserpool.CauseInvalidValues, nil, "%v: pool handle without elements", t)
		}
		return m, nil
	case MsgHandleUpdate:
		if len(ps) != 2 || ps[0].Type != rserpool.ParamPoolHandle || ps[1].Type != rserpool.ParamPoolElement {
			return nil, errf(rserpool.CauseInvalidValues, nil, "%v needs a pool handle and a pool element", t)
		}
		return &HandleUpdate{Servers: s, TakeoverSuggested: flags&flagTakeoverSuggest != 0, Action: action,
			PoolHandle: ps[0].Bytes, Element: ps[1].Element}, nil
	case MsgListRequest:
		return &ListRequest{Servers: s}, nil
	case MsgListResponse:
		m := &ListResponse{Servers: s, Reject: flags&flagReject != 0}
		for i := range ps {
			m.Registrars = append(m.Registrars, ps[i].Server)
		}
		return m, nil
	case MsgError:
		if len(ps) != 1 {
			return nil, errf(rserpool.CauseInvalidValues, nil, "%v with %d operation error parameters", t, len(ps))
		}
		return &ErrorMessage{Servers: s, Causes: ps[0].Causes}, nil
	}
	return nil, errf(rserpool.CauseUnrecognizedMessage, nil, "unrecognized message type 0x%02x", uint8(t))
}
