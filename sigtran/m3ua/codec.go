package m3ua

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// Version is the only M3UA protocol version (RFC 4666 section 3.1.1).
const Version = 1

// HeaderLen is the length of the common header.
const HeaderLen = 8

// Message classes (RFC 4666 section 3.1.2), re-exported for readability.
const (
	ClassMGMT     = messages.MsgClassManagement
	ClassTransfer = messages.MsgClassTransfer
	ClassSSNM     = messages.MsgClassSSNM
	ClassASPSM    = messages.MsgClassASPSM
	ClassASPTM    = messages.MsgClassASPTM
	ClassRKM      = messages.MsgClassRKM
)

// presence says whether a parameter must appear in a message.
type presence uint8

const (
	optional presence = iota
	mandatory
	// conditional parameters are optional for the decoder; the state
	// machines decide whether the condition holds.
	conditional
)

type rule struct {
	tag    uint16
	need   presence
	repeat bool // may appear more than once
	// lenOnly: the decoder checks the value's length alone and the state
	// machine judges the value (a Traffic Mode Type inside a Routing Key,
	// which REG RSP refuses with a registration status, not ERR).
	lenOnly bool
}

type msgSpec struct {
	name  string
	rules []rule
}

var (
	ruleNA   = rule{tag: params.NetworkAppearance, need: optional}
	ruleRC   = rule{tag: params.RoutingContext, need: conditional}
	ruleInfo = rule{tag: params.InfoString, need: optional}
	ruleAPC  = rule{tag: params.AffectedPointCode, need: mandatory}
)

// specs lists, per message class and type, the parameters RFC 4666 section 3
// allows, and which of them are mandatory.
var specs = map[uint16]*msgSpec{
	key(ClassMGMT, 0): {"ERR", []rule{
		{tag: params.ErrorCode, need: mandatory}, ruleRC, ruleNA,
		{tag: params.AffectedPointCode, need: conditional},
		{tag: params.DiagnosticInformation, need: conditional}}},
	key(ClassMGMT, 1): {"NTFY", []rule{
		{tag: params.Status, need: mandatory},
		{tag: params.AspIdentifier, need: conditional}, ruleRC, ruleInfo}},
	key(ClassTransfer, 1): {"DATA", []rule{
		ruleNA, ruleRC, {tag: params.ProtocolData, need: mandatory},
		{tag: params.CorrelationID, need: optional}}},
	key(ClassSSNM, 1): {"DUNA", []rule{ruleNA, ruleRC, ruleAPC, ruleInfo}},
	key(ClassSSNM, 2): {"DAVA", []rule{ruleNA, ruleRC, ruleAPC, ruleInfo}},
	key(ClassSSNM, 3): {"DAUD", []rule{ruleNA, ruleRC, ruleAPC, ruleInfo}},
	key(ClassSSNM, 4): {"SCON", []rule{ruleNA, ruleRC, ruleAPC,
		{tag: params.ConcernedDestination, need: optional},
		{tag: params.CongestionIndications, need: optional}, ruleInfo}},
	key(ClassSSNM, 5): {"DUPU", []rule{ruleNA, ruleRC, ruleAPC,
		{tag: params.UserCause, need: mandatory}, ruleInfo}},
	key(ClassSSNM, 6): {"DRST", []rule{ruleNA, ruleRC, ruleAPC, ruleInfo}},
	key(ClassASPSM, 1): {"ASPUP", []rule{
		{tag: params.AspIdentifier, need: optional}, ruleInfo}},
	key(ClassASPSM, 2): {"ASPDN", []rule{ruleInfo}},
	key(ClassASPSM, 3): {"BEAT", []rule{{tag: params.HeartbeatData, need: optional}}},
	key(ClassASPSM, 4): {"ASPUP ACK", []rule{
		{tag: params.AspIdentifier, need: optional}, ruleInfo}},
	key(ClassASPSM, 5): {"ASPDN ACK", []rule{ruleInfo}},
	key(ClassASPSM, 6): {"BEAT ACK", []rule{{tag: params.HeartbeatData, need: optional}}},
	key(ClassASPTM, 1): {"ASPAC", []rule{
		{tag: params.TrafficModeType, need: optional}, {tag: params.RoutingContext, need: optional}, ruleInfo}},
	key(ClassASPTM, 2): {"ASPIA", []rule{{tag: params.RoutingContext, need: optional}, ruleInfo}},
	key(ClassASPTM, 3): {"ASPAC ACK", []rule{
		{tag: params.TrafficModeType, need: optional}, {tag: params.RoutingContext, need: optional}, ruleInfo}},
	key(ClassASPTM, 4): {"ASPIA ACK", []rule{{tag: params.RoutingContext, need: optional}, ruleInfo}},
	key(ClassRKM, 1):   {"REG REQ", []rule{{tag: params.RoutingKey, need: mandatory, repeat: true}}},
	key(ClassRKM, 2):   {"REG RSP", []rule{{tag: params.RegistrationResult, need: mandatory, repeat: true}}},
	key(ClassRKM, 3):   {"DEREG REQ", []rule{{tag: params.RoutingContext, need: mandatory}}},
	key(ClassRKM, 4):   {"DEREG RSP", []rule{{tag: params.DeregistrationResult, need: mandatory, repeat: true}}},
}

// Parameters nested in the RKM parameters (RFC 4666 sections 3.6.1-3.6.4).
var (
	routingKeyRules = []rule{
		{tag: params.LocalRoutingKeyIdentifier, need: mandatory},
		{tag: params.RoutingContext, need: optional},
		{tag: params.TrafficModeType, need: optional, lenOnly: true},
		{tag: params.DestinationPointCode, need: mandatory},
		{tag: params.NetworkAppearance, need: optional},
		{tag: params.ServiceIndicators, need: optional},
		{tag: params.OriginatingPointCodeList, need: optional},
	}
	regResultRules = []rule{
		{tag: params.LocalRoutingKeyIdentifier, need: mandatory},
		{tag: params.RegistrationStatus, need: mandatory},
		{tag: params.RoutingContext, need: mandatory},
	}
	deregResultRules = []rule{
		{tag: params.RoutingContext, need: mandatory},
		{tag: params.DeregistrationStatus, need: mandatory},
	}
)

func key(class, typ uint8) uint16 { return uint16(class)<<8 | uint16(typ) }

// MessageName is the RFC 4666 abbreviation of a message class and type
// ("ASPUP ACK"), or "class C type T" when there is none.
func MessageName(class, typ uint8) string {
	if s := specs[key(class, typ)]; s != nil {
		return s.name
	}
	return fmt.Sprintf("class %d type %d", class, typ)
}

// Decode decodes one M3UA message (exactly one SCTP user message) and checks
// it against RFC 4666. On success the result is one of go-m3ua's message
// types (*messages.Data, *messages.AspUp, ...) or, for RKM, *RegReq,
// *RegRsp, *DeregReq or *DeregRsp; parameter values alias b. On failure the
// error is a *ProtocolError naming the error code to answer with. Decode
// never panics and allocates in proportion to len(b) at most.
func Decode(b []byte) (messages.M3UA, error) {
	class, typ, pe := CheckMessage(b)
	if pe != nil {
		return nil, pe
	}
	if class == ClassRKM {
		return decodeRKM(typ, b)
	}
	m, err := messages.Parse(b)
	if err != nil {
		// Validation above makes this unreachable; stay safe anyway.
		return nil, perr(ErrProtocolError, "%s: %v", MessageName(class, typ), err)
	}
	return m, nil
}

// CheckMessage validates b without building a message: the common header,
// the framing of every parameter, the parameters allowed and required for
// the message type, and each parameter's length and value. It returns the
// message class and type.
func CheckMessage(b []byte) (class, typ uint8, pe *ProtocolError) {
	if len(b) < HeaderLen {
		return 0, 0, perr(ErrProtocolError, "message of %d bytes is shorter than the common header", len(b))
	}
	if b[0] != Version {
		return 0, 0, perr(ErrInvalidVersion, "version %d", b[0])
	}
	// b[1] is reserved: senders set it to zero, receivers ignore it.
	class, typ = b[2], b[3]
	if l := binary.BigEndian.Uint32(b[4:8]); uint64(l) != uint64(len(b)) {
		return class, typ, perr(ErrProtocolError, "message length field %d, message has %d bytes", l, len(b))
	}
	spec := specs[key(class, typ)]
	if spec == nil {
		switch class {
		case ClassMGMT, ClassTransfer, ClassSSNM, ClassASPSM, ClassASPTM, ClassRKM:
			return class, typ, perr(ErrUnsupportedMessageType, "class %d type %d", class, typ)
		}
		return class, typ, perr(ErrUnsupportedMessageClass, "class %d", class)
	}
	return class, typ, checkParams(spec.name, b[HeaderLen:], spec.rules)
}

// nextParam splits the first parameter off b. Every parameter, the last one
// included, must be padded to a multiple of 4 bytes (RFC 4666 section 3.2:
// the message length counts the padding). Padding content is ignored.
func nextParam(b []byte) (tag uint16, val, rest []byte, pe *ProtocolError) {
	if len(b) < 4 {
		return 0, nil, nil, perr(ErrParameterFieldError, "%d trailing bytes are not a parameter", len(b))
	}
	tag = binary.BigEndian.Uint16(b[0:2])
	l := int(binary.BigEndian.Uint16(b[2:4]))
	if l < 4 || l > len(b) {
		return tag, nil, nil, perr(ErrParameterFieldError, "parameter %#04x length %d with %d bytes left", tag, l, len(b))
	}
	padded := (l + 3) &^ 3
	if padded > len(b) {
		return tag, nil, nil, perr(ErrParameterFieldError, "parameter %#04x is not padded", tag)
	}
	return tag, b[4:l], b[padded:], nil
}

// checkParams walks the parameters in b and applies rules: no parameter
// outside rules, no repetition unless allowed, every mandatory one present,
// and each value well formed.
func checkParams(where string, b []byte, rules []rule) *ProtocolError {
	var seen uint32 // bit i: rules[i] seen
	for len(b) > 0 {
		tag, val, rest, pe := nextParam(b)
		if pe != nil {
			return pe
		}
		i := 0
		for i < len(rules) && rules[i].tag != tag {
			i++
		}
		if i == len(rules) {
			return perr(ErrUnexpectedParameter, "%s: parameter %#04x", where, tag)
		}
		if seen&(1<<i) != 0 && !rules[i].repeat {
			return perr(ErrUnexpectedParameter, "%s: parameter %#04x repeated", where, tag)
		}
		seen |= 1 << i
		if rules[i].lenOnly {
			if len(val) != 4 {
				return perr(ErrParameterFieldError, "parameter %#04x has %d value bytes, want 4", tag, len(val))
			}
		} else if pe := checkValue(tag, val); pe != nil {
			return pe
		}
		b = rest
	}
	for i, r := range rules {
		if r.need == mandatory && seen&(1<<i) == 0 {
			return perr(ErrMissingParameter, "%s: parameter %#04x missing", where, r.tag)
		}
	}
	return nil
}

// maxInfoString is the longest INFO String RFC 4666 section 3.8.2 allows.
const maxInfoString = 255

func checkValue(tag uint16, v []byte) *ProtocolError {
	fixed := func(n int) *ProtocolError {
		if len(v) != n {
			return perr(ErrParameterFieldError, "parameter %#04x has %d value bytes, want %d", tag, len(v), n)
		}
		return nil
	}
	list := func() *ProtocolError {
		if len(v) == 0 || len(v)%4 != 0 {
			return perr(ErrParameterFieldError, "parameter %#04x has %d value bytes, want a non-empty multiple of 4", tag, len(v))
		}
		return nil
	}
	switch tag {
	case params.RoutingContext, params.AffectedPointCode, params.OriginatingPointCodeList:
		return list()
	case params.InfoString:
		if len(v) > maxInfoString {
			return perr(ErrParameterFieldError, "INFO String of %d bytes", len(v))
		}
	case params.TrafficModeType:
		if pe := fixed(4); pe != nil {
			return pe
		}
		if m := TrafficMode(binary.BigEndian.Uint32(v)); !m.valid() {
			return perr(ErrUnsupportedTrafficMode, "traffic mode type %d", uint32(m))
		}
	case params.Status:
		if pe := fixed(4); pe != nil {
			return pe
		}
		st, info := binary.BigEndian.Uint16(v[0:2]), binary.BigEndian.Uint16(v[2:4])
		switch {
		case st == StatusTypeASStateChange && info >= 2 && info <= 4:
		case st == StatusTypeOther && info >= 1 && info <= 3:
		default:
			return perr(ErrInvalidParameterValue, "status type %d information %d", st, info)
		}
	case params.ErrorCode, params.AspIdentifier, params.CorrelationID, params.NetworkAppearance,
		params.UserCause, params.CongestionIndications, params.ConcernedDestination,
		params.LocalRoutingKeyIdentifier, params.DestinationPointCode:
		return fixed(4)
	case params.ServiceIndicators:
		if len(v) == 0 {
			return perr(ErrParameterFieldError, "empty Service Indicators")
		}
	case params.ProtocolData:
		if len(v) < 12 {
			return perr(ErrParameterFieldError, "Protocol Data of %d bytes is shorter than its 12-byte label", len(v))
		}
	case params.RegistrationStatus:
		if pe := fixed(4); pe != nil {
			return pe
		}
		if s := binary.BigEndian.Uint32(v); s > params.RoutingKeyAlreadyRegistered {
			return perr(ErrInvalidParameterValue, "registration status %d", s)
		}
	case params.DeregistrationStatus:
		if pe := fixed(4); pe != nil {
			return pe
		}
		if s := binary.BigEndian.Uint32(v); s > params.DeregASPActiveForRoutingContext {
			return perr(ErrInvalidParameterValue, "deregistration status %d", s)
		}
	case params.RoutingKey:
		return checkParams("Routing Key", v, routingKeyRules)
	case params.RegistrationResult:
		return checkParams("Registration Result", v, regResultRules)
	case params.DeregistrationResult:
		return checkParams("Deregistration Result", v, deregResultRules)
	}
	return nil
}

// Encode encodes m after recomputing its length fields. It returns an error,
// never a panic, for a message go-m3ua cannot encode (a nil header, say).
func Encode(m messages.M3UA) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("m3ua: cannot encode %T: %v", m, r)
		}
	}()
	if s, ok := m.(interface{ SetLength() }); ok {
		s.SetLength()
	}
	b = make([]byte, m.MarshalLen())
	if err := m.MarshalTo(b); err != nil {
		return nil, err
	}
	return b, nil
}

// AppendEncode appends the encoding of m to dst and returns the extended
// slice: the send path encodes into a buffer it reuses. Like Encode it
// recomputes lengths first and never panics.
func AppendEncode(dst []byte, m messages.M3UA) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = dst, fmt.Errorf("m3ua: cannot encode %T: %v", m, r)
		}
	}()
	if s, ok := m.(interface{ SetLength() }); ok {
		s.SetLength()
	}
	n := m.MarshalLen()
	off := len(dst)
	dst = slices.Grow(dst, n)[:off+n]
	if err := m.MarshalTo(dst[off:]); err != nil {
		return dst[:off], err
	}
	return dst, nil
}

// Lengths of DATA's fixed parts: the Routing Context parameter with one
// value, and the Protocol Data parameter's header and MTP3 routing label
// (OPC, DPC, SI, NI, MP, SLS).
const (
	dataRCLen    = 8
	dataPDFixed  = 4 + 12
	maxDataBytes = 0xffff - dataPDFixed
)

// ErrPayloadTooLong is what AppendData returns for a payload that does not
// fit the 16-bit length of the Protocol Data parameter.
var ErrPayloadTooLong = errors.New("m3ua: DATA payload longer than 65519 bytes")

// AppendData appends the DATA message for u (Routing Context when u.HasRC,
// then Protocol Data) to dst and returns the extended slice: byte for byte
// what Encode(NewData(u)) gives, written directly. It allocates nothing
// when dst has room for the message, which is how the drivers use it.
func AppendData(dst []byte, u UserData) ([]byte, error) {
	if len(u.Payload) > maxDataBytes {
		return dst, ErrPayloadTooLong
	}
	pdLen := dataPDFixed + len(u.Payload)
	pad := (4 - pdLen%4) % 4
	n := HeaderLen + pdLen + pad
	if u.HasRC {
		n += dataRCLen
	}
	off := len(dst)
	dst = slices.Grow(dst, n)[:off+n]
	b := dst[off:]
	b[0], b[1], b[2], b[3] = Version, 0, ClassTransfer, messages.MsgTypePayloadData
	binary.BigEndian.PutUint32(b[4:], uint32(n))
	p := b[HeaderLen:]
	if u.HasRC {
		binary.BigEndian.PutUint16(p[0:], params.RoutingContext)
		binary.BigEndian.PutUint16(p[2:], dataRCLen)
		binary.BigEndian.PutUint32(p[4:], u.RC)
		p = p[dataRCLen:]
	}
	binary.BigEndian.PutUint16(p[0:], params.ProtocolData)
	binary.BigEndian.PutUint16(p[2:], uint16(pdLen))
	binary.BigEndian.PutUint32(p[4:], u.OPC)
	binary.BigEndian.PutUint32(p[8:], u.DPC)
	p[12], p[13], p[14], p[15] = u.SI, u.NI, u.MP, u.SLS
	copy(p[16:], u.Payload)
	clear(p[pdLen : pdLen+pad])
	return dst, nil
}
