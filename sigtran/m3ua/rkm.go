package m3ua

import (
	"encoding/binary"

	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// Routing key management messages (RFC 4666 section 3.6). go-m3ua names their
// types only; these types carry them, encode with go-m3ua's parameters, and
// satisfy messages.M3UA.

// RoutingKey is the Routing Key parameter (0x0207).
type RoutingKey struct {
	LocalRKID uint32
	RC        uint32 // meaningful when HasRC
	HasRC     bool
	Mode      TrafficMode // 0: not given; an undefined value is the SGP's to refuse
	DPC       uint32      // mask in the top byte, point code in the low 24 bits
	NA        uint32      // meaningful when HasNA
	HasNA     bool
	SIs       []uint8
	OPCs      []uint32

	// modeZero: the key carried a Traffic Mode Type of value 0, which Mode
	// cannot tell from none; it is re-encoded, and the SGP refuses it.
	modeZero bool
}

// badMode reports whether the key asks for a traffic mode RFC 4666 does
// not define.
func (k *RoutingKey) badMode() bool { return k.modeZero || k.Mode != 0 && !k.Mode.valid() }

func (k RoutingKey) param() *params.Param {
	inner := []*params.Param{params.NewLocalRoutingKeyIdentifier(k.LocalRKID)}
	if k.HasRC {
		inner = append(inner, params.NewRoutingContext(k.RC))
	}
	if k.Mode != 0 || k.modeZero {
		inner = append(inner, params.NewTrafficModeType(uint32(k.Mode)))
	}
	// params.NewDestinationPointCode drops the mask byte; keep all 32 bits.
	inner = append(inner, params.NewParam(int(params.DestinationPointCode), binary.BigEndian.AppendUint32(nil, k.DPC)))
	if k.HasNA {
		inner = append(inner, params.NewNetworkAppearance(k.NA))
	}
	if len(k.SIs) > 0 {
		// params.NewServiceIndicators counts padding in the length (and pads
		// a multiple of 4 with 4 more zero bytes); build the TLV directly.
		inner = append(inner, params.NewParam(int(params.ServiceIndicators), append([]byte(nil), k.SIs...)))
	}
	if len(k.OPCs) > 0 {
		inner = append(inner, params.NewOriginatingPointCodeList(k.OPCs...))
	}
	return nested(params.RoutingKey, inner...)
}

// RegResult is the Registration Result parameter (0x0208).
type RegResult struct {
	LocalRKID uint32
	Status    uint32 // params.SuccessfullyRegistered, ...
	RC        uint32
}

// DeregResult is the Deregistration Result parameter (0x0209).
type DeregResult struct {
	RC     uint32
	Status uint32 // params.SuccessfullyDeregistered, ...
}

// RegReq is REG REQ: one or more routing keys to register.
type RegReq struct{ Keys []RoutingKey }

// RegRsp is REG RSP: one result per routing key.
type RegRsp struct{ Results []RegResult }

// DeregReq is DEREG REQ: the routing contexts to deregister.
type DeregReq struct{ RCs []uint32 }

// DeregRsp is DEREG RSP: one result per routing context.
type DeregRsp struct{ Results []DeregResult }

func nested(tag uint16, inner ...*params.Param) *params.Param {
	var data []byte
	for _, p := range inner {
		b := make([]byte, p.MarshalLen())
		_ = p.MarshalTo(b) // cannot fail: b has MarshalLen bytes
		data = append(data, b...)
	}
	return params.NewParam(int(tag), data)
}

func (m *RegReq) params() []*params.Param {
	ps := make([]*params.Param, 0, len(m.Keys))
	for _, k := range m.Keys {
		ps = append(ps, k.param())
	}
	return ps
}

func (m *RegRsp) params() []*params.Param {
	ps := make([]*params.Param, 0, len(m.Results))
	for _, r := range m.Results {
		ps = append(ps, nested(params.RegistrationResult,
			params.NewLocalRoutingKeyIdentifier(r.LocalRKID),
			params.NewRegistrationStatus(r.Status),
			params.NewRoutingContext(r.RC)))
	}
	return ps
}

func (m *DeregReq) params() []*params.Param {
	return []*params.Param{params.NewRoutingContext(m.RCs...)}
}

func (m *DeregRsp) params() []*params.Param {
	ps := make([]*params.Param, 0, len(m.Results))
	for _, r := range m.Results {
		ps = append(ps, nested(params.DeregistrationResult,
			params.NewRoutingContext(r.RC),
			params.NewDeregistrationStatus(r.Status)))
	}
	return ps
}

func paramsLen(ps []*params.Param) int {
	n := HeaderLen
	for _, p := range ps {
		n += p.MarshalLen()
	}
	return n
}

func marshalRKM(b []byte, typ uint8, ps []*params.Param) error {
	n := paramsLen(ps)
	if len(b) < n {
		return messages.ErrTooShortToMarshalBinary
	}
	b[0], b[1], b[2], b[3] = Version, 0, ClassRKM, typ
	binary.BigEndian.PutUint32(b[4:8], uint32(n))
	off := HeaderLen
	for _, p := range ps {
		l := p.MarshalLen()
		clear(b[off : off+l])
		_ = p.MarshalTo(b[off : off+l])
		off += l
	}
	return nil
}

func marshalBinary(m messages.M3UA) ([]byte, error) {
	b := make([]byte, m.MarshalLen())
	return b, m.MarshalTo(b)
}

// The messages.M3UA methods of the four RKM messages.

func (m *RegReq) MarshalBinary() ([]byte, error)   { return marshalBinary(m) }
func (m *RegRsp) MarshalBinary() ([]byte, error)   { return marshalBinary(m) }
func (m *DeregReq) MarshalBinary() ([]byte, error) { return marshalBinary(m) }
func (m *DeregRsp) MarshalBinary() ([]byte, error) { return marshalBinary(m) }

func (m *RegReq) MarshalTo(b []byte) error   { return marshalRKM(b, m.MessageType(), m.params()) }
func (m *RegRsp) MarshalTo(b []byte) error   { return marshalRKM(b, m.MessageType(), m.params()) }
func (m *DeregReq) MarshalTo(b []byte) error { return marshalRKM(b, m.MessageType(), m.params()) }
func (m *DeregRsp) MarshalTo(b []byte) error { return marshalRKM(b, m.MessageType(), m.params()) }

func (m *RegReq) MarshalLen() int   { return paramsLen(m.params()) }
func (m *RegRsp) MarshalLen() int   { return paramsLen(m.params()) }
func (m *DeregReq) MarshalLen() int { return paramsLen(m.params()) }
func (m *DeregRsp) MarshalLen() int { return paramsLen(m.params()) }

func (m *RegReq) UnmarshalBinary(b []byte) error   { return unmarshalRKM(b, m) }
func (m *RegRsp) UnmarshalBinary(b []byte) error   { return unmarshalRKM(b, m) }
func (m *DeregReq) UnmarshalBinary(b []byte) error { return unmarshalRKM(b, m) }
func (m *DeregRsp) UnmarshalBinary(b []byte) error { return unmarshalRKM(b, m) }

func (*RegReq) Version() uint8   { return Version }
func (*RegRsp) Version() uint8   { return Version }
func (*DeregReq) Version() uint8 { return Version }
func (*DeregRsp) Version() uint8 { return Version }

func (*RegReq) MessageClass() uint8   { return ClassRKM }
func (*RegRsp) MessageClass() uint8   { return ClassRKM }
func (*DeregReq) MessageClass() uint8 { return ClassRKM }
func (*DeregRsp) MessageClass() uint8 { return ClassRKM }

func (*RegReq) MessageType() uint8   { return messages.MsgTypeRegistrationRequest }
func (*RegRsp) MessageType() uint8   { return messages.MsgTypeRegistrationResponse }
func (*DeregReq) MessageType() uint8 { return messages.MsgTypeDeregistrationRequest }
func (*DeregRsp) MessageType() uint8 { return messages.MsgTypeDeregistrationResponse }

func (*RegReq) MessageClassName() string   { return messages.MsgClassNameRKM }
func (*RegRsp) MessageClassName() string   { return messages.MsgClassNameRKM }
func (*DeregReq) MessageClassName() string { return messages.MsgClassNameRKM }
func (*DeregRsp) MessageClassName() string { return messages.MsgClassNameRKM }

func (*RegReq) MessageTypeName() string   { return "Registration Request" }
func (*RegRsp) MessageTypeName() string   { return "Registration Response" }
func (*DeregReq) MessageTypeName() string { return "Deregistration Request" }
func (*DeregRsp) MessageTypeName() string { return "Deregistration Response" }

// unmarshalRKM decodes b into m, which must be of the type b's header names.
func unmarshalRKM(b []byte, m messages.M3UA) error {
	got, err := Decode(b)
	if err != nil {
		return err
	}
	switch dst := m.(type) {
	case *RegReq:
		if src, ok := got.(*RegReq); ok {
			*dst = *src
			return nil
		}
	case *RegRsp:
		if src, ok := got.(*RegRsp); ok {
			*dst = *src
			return nil
		}
	case *DeregReq:
		if src, ok := got.(*DeregReq); ok {
			*dst = *src
			return nil
		}
	case *DeregRsp:
		if src, ok := got.(*DeregRsp); ok {
			*dst = *src
			return nil
		}
	}
	return perr(ErrUnexpectedMessage, "%s is not a %s", MessageName(b[2], b[3]), m.MessageTypeName())
}

// decodeRKM builds an RKM message from b, which CheckMessage accepted.
func decodeRKM(typ uint8, b []byte) (messages.M3UA, error) {
	var (
		regReq   RegReq
		regRsp   RegRsp
		deregReq DeregReq
		deregRsp DeregRsp
	)
	for rest := b[HeaderLen:]; len(rest) > 0; {
		tag, val, next, pe := nextParam(rest)
		if pe != nil {
			return nil, pe
		}
		rest = next
		switch tag {
		case params.RoutingKey:
			k, pe := parseRoutingKey(val)
			if pe != nil {
				return nil, pe
			}
			regReq.Keys = append(regReq.Keys, k)
		case params.RegistrationResult:
			var r RegResult
			if pe := eachParam(val, func(tag uint16, v []byte) {
				switch tag {
				case params.LocalRoutingKeyIdentifier:
					r.LocalRKID = binary.BigEndian.Uint32(v)
				case params.RegistrationStatus:
					r.Status = binary.BigEndian.Uint32(v)
				case params.RoutingContext:
					r.RC = binary.BigEndian.Uint32(v) // first value
				}
			}); pe != nil {
				return nil, pe
			}
			regRsp.Results = append(regRsp.Results, r)
		case params.DeregistrationResult:
			var r DeregResult
			if pe := eachParam(val, func(tag uint16, v []byte) {
				switch tag {
				case params.RoutingContext:
					r.RC = binary.BigEndian.Uint32(v)
				case params.DeregistrationStatus:
					r.Status = binary.BigEndian.Uint32(v)
				}
			}); pe != nil {
				return nil, pe
			}
			deregRsp.Results = append(deregRsp.Results, r)
		case params.RoutingContext:
			for i := 0; i+4 <= len(val); i += 4 {
				deregReq.RCs = append(deregReq.RCs, binary.BigEndian.Uint32(val[i:]))
			}
		}
	}
	switch typ {
	case messages.MsgTypeRegistrationRequest:
		return &regReq, nil
	case messages.MsgTypeRegistrationResponse:
		return &regRsp, nil
	case messages.MsgTypeDeregistrationRequest:
		return &deregReq, nil
	default:
		return &deregRsp, nil
	}
}

func eachParam(b []byte, f func(tag uint16, v []byte)) *ProtocolError {
	for len(b) > 0 {
		tag, v, rest, pe := nextParam(b)
		if pe != nil {
			return pe
		}
		f(tag, v)
		b = rest
	}
	return nil
}

// parseRoutingKey reads a Routing Key value that checkParams accepted. A
// multi-valued routing context inside a routing key is refused: a key has
// one.
func parseRoutingKey(b []byte) (RoutingKey, *ProtocolError) {
	var k RoutingKey
	var pe *ProtocolError
	if e := eachParam(b, func(tag uint16, v []byte) {
		switch tag {
		case params.LocalRoutingKeyIdentifier:
			k.LocalRKID = binary.BigEndian.Uint32(v)
		case params.RoutingContext:
			if len(v) != 4 && pe == nil {
				pe = perr(ErrInvalidParameterValue, "routing key with %d routing contexts", len(v)/4)
			}
			k.RC, k.HasRC = binary.BigEndian.Uint32(v), true
		case params.TrafficModeType:
			k.Mode = TrafficMode(binary.BigEndian.Uint32(v))
			k.modeZero = k.Mode == 0
		case params.DestinationPointCode:
			k.DPC = binary.BigEndian.Uint32(v)
		case params.NetworkAppearance:
			k.NA, k.HasNA = binary.BigEndian.Uint32(v), true
		case params.ServiceIndicators:
			k.SIs = append([]uint8(nil), v...)
		case params.OriginatingPointCodeList:
			for i := 0; i+4 <= len(v); i += 4 {
				k.OPCs = append(k.OPCs, binary.BigEndian.Uint32(v[i:]))
			}
		}
	}); e != nil {
		return k, e
	}
	return k, pe
}
