package rserpool

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ParamType is the 16-bit type of an RFC 5354 parameter. Its two most
// significant bits tell a receiver what to do when it does not recognize
// the type (see Action).
type ParamType uint16

// Parameter types (RFC 5354, section 2.2) and rsplib's Handle Resolution
// Option (draft-dreibholz-rserpool-asap-hropt), whose type carries the
// "skip" action bits so that registrars that do not know it ignore it.
const (
	ParamIPv4Address            ParamType = 0x0001
	ParamIPv6Address            ParamType = 0x0002
	ParamSCTPTransport          ParamType = 0x0004
	ParamTCPTransport           ParamType = 0x0005
	ParamUDPTransport           ParamType = 0x0006
	ParamPolicy                 ParamType = 0x0008
	ParamPoolHandle             ParamType = 0x0009
	ParamPoolElement            ParamType = 0x000a
	ParamServerInformation      ParamType = 0x000b
	ParamOperationError         ParamType = 0x000c
	ParamCookie                 ParamType = 0x000d
	ParamPEIdentifier           ParamType = 0x000e
	ParamPEChecksum             ParamType = 0x000f
	ParamHandleResolutionOption ParamType = 0x803f
	maxTLVLen                             = 0xffff
	tlvHeaderLen                          = 4
)

var paramNames = map[ParamType]string{
	ParamIPv4Address:            "IPv4 Address",
	ParamIPv6Address:            "IPv6 Address",
	ParamSCTPTransport:          "SCTP Transport",
	ParamTCPTransport:           "TCP Transport",
	ParamUDPTransport:           "UDP Transport",
	ParamPolicy:                 "Pool Member Selection Policy",
	ParamPoolHandle:             "Pool Handle",
	ParamPoolElement:            "Pool Element",
	ParamServerInformation:      "Server Information",
	ParamOperationError:         "Operation Error",
	ParamCookie:                 "Cookie",
	ParamPEIdentifier:           "PE Identifier",
	ParamPEChecksum:             "PE Checksum",
	ParamHandleResolutionOption: "Handle Resolution Option",
}

func (t ParamType) String() string {
	if s, ok := paramNames[t]; ok {
		return s
	}
	return fmt.Sprintf("ParamType(0x%04x)", uint16(t))
}

// UnrecognizedAction is what RFC 5354 (section 2.1) asks of a receiver that
// does not recognize a parameter type, encoded in the type's two high bits.
type UnrecognizedAction uint8

const (
	// ActionStop (00): stop processing the message and discard it silently.
	ActionStop UnrecognizedAction = 0
	// ActionStopReport (01): stop, discard the message, and report the
	// parameter in an Unrecognized Parameter cause.
	ActionStopReport UnrecognizedAction = 1
	// ActionSkip (10): skip the parameter and go on with the message.
	ActionSkip UnrecognizedAction = 2
	// ActionSkipReport (11): skip it, go on, and report it in an
	// Unrecognized Parameter cause.
	ActionSkipReport UnrecognizedAction = 3
)

// Action returns the unrecognized-parameter action encoded in t.
func (t ParamType) Action() UnrecognizedAction { return UnrecognizedAction(t >> 14) }

// Skip reports whether processing goes on past the parameter.
func (a UnrecognizedAction) Skip() bool { return a&2 != 0 }

// Report reports whether the parameter is to be reported to the sender.
func (a UnrecognizedAction) Report() bool { return a&1 != 0 }

// RawParam is one parameter as found in the input: its type, its value and
// the whole TLV (type, length and value, without padding), which is what an
// Unrecognized Parameter or Invalid Values cause carries back. Value is a
// subslice of TLV.
type RawParam struct {
	Type  ParamType
	Value []byte
	TLV   []byte
}

// padLen returns n rounded up to a multiple of 4.
func padLen(n int) int { return (n + 3) &^ 3 }

func appendPad(dst []byte, n int) []byte {
	for ; n&3 != 0; n++ {
		dst = append(dst, 0)
	}
	return dst
}

// beginTLV appends a parameter header with a length to be patched by endTLV.
func beginTLV(dst []byte, t ParamType) ([]byte, int) {
	start := len(dst)
	dst = binary.BigEndian.AppendUint16(dst, uint16(t))
	return append(dst, 0, 0), start
}

// endTLV patches the length of the parameter begun at start and pads it.
func endTLV(dst []byte, start int) ([]byte, error) {
	n := len(dst) - start
	if n > maxTLVLen {
		return dst[:start], fmt.Errorf("rserpool: %v parameter of %d bytes is too long",
			ParamType(binary.BigEndian.Uint16(dst[start:])), n)
	}
	binary.BigEndian.PutUint16(dst[start+2:], uint16(n))
	return appendPad(dst, n), nil
}

// nextParam splits the first parameter off b. The padding of a parameter
// that ends the buffer may be missing (or short); anywhere else it must be
// there. Padding bytes are not inspected (RFC 5354: the receiver ignores
// them).
func nextParam(b []byte) (RawParam, []byte, *Error) {
	if len(b) < tlvHeaderLen {
		return RawParam{}, nil, errf(CauseInvalidValues, nil, "truncated parameter header (%d bytes)", len(b))
	}
	t := ParamType(binary.BigEndian.Uint16(b))
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n < tlvHeaderLen {
		return RawParam{}, nil, errf(CauseInvalidValues, nil, "parameter 0x%04x has length %d < 4", uint16(t), n)
	}
	if n > len(b) {
		return RawParam{}, nil, errf(CauseInvalidValues, nil, "parameter 0x%04x of length %d overruns its %d bytes", uint16(t), n, len(b))
	}
	p := RawParam{Type: t, Value: b[tlvHeaderLen:n:n], TLV: b[:n:n]}
	return p, b[min(padLen(n), len(b)):], nil
}

// MaxReported bounds the unrecognized "skip and report" parameters a
// decoder returns for one message; further ones are skipped silently (one
// Operation Error could not carry many more in any case).
const MaxReported = 16

// decoder carries, through one message, the parameters of unrecognized
// type whose action bits ask for a report.
type decoder struct {
	report []RawParam
}

// unknown applies the action bits of an unrecognized parameter: it returns
// nil when the parameter is to be skipped (noting it for a report if asked)
// and the error that stops the message otherwise.
func (d *decoder) unknown(p RawParam) *Error {
	a := p.Type.Action()
	if a.Report() {
		if !a.Skip() {
			return errf(CauseUnrecognizedParameter, clone(p.TLV), "unrecognized parameter type 0x%04x", uint16(p.Type))
		}
		if len(d.report) < MaxReported {
			tlv := clone(p.TLV)
			d.report = append(d.report, RawParam{Type: p.Type, Value: tlv[tlvHeaderLen:], TLV: tlv})
		}
		return nil
	}
	if !a.Skip() {
		e := errf(CauseUnrecognizedParameter, clone(p.TLV), "unrecognized parameter type 0x%04x (discard silently)", uint16(p.Type))
		e.Silent = true
		return e
	}
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func invalid(p RawParam, format string, args ...any) *Error {
	return errf(CauseInvalidValues, clone(p.TLV), format, args...)
}

// known reports whether t is a type this package decodes (the Handle
// Resolution Option only where it is expected: see decodeMessage).
func known(t ParamType) bool {
	_, ok := paramNames[t]
	return ok && t != ParamHandleResolutionOption
}

// ---------------------------------------------------------------- addresses

// appendAddress appends an IPv4 or IPv6 Address parameter. IPv4-mapped IPv6
// addresses are sent as IPv6; a zone cannot be sent.
func appendAddress(dst []byte, a netip.Addr) ([]byte, error) {
	switch {
	case !a.IsValid():
		return dst, fmt.Errorf("rserpool: invalid address")
	case a.Zone() != "":
		return dst, fmt.Errorf("rserpool: address %v has a zone", a)
	case a.Is4():
		dst = binary.BigEndian.AppendUint16(dst, uint16(ParamIPv4Address))
		dst = binary.BigEndian.AppendUint16(dst, 8)
		v := a.As4()
		return append(dst, v[:]...), nil
	default:
		dst = binary.BigEndian.AppendUint16(dst, uint16(ParamIPv6Address))
		dst = binary.BigEndian.AppendUint16(dst, 20)
		v := a.As16()
		return append(dst, v[:]...), nil
	}
}

func decodeAddress(p RawParam) (netip.Addr, *Error) {
	switch p.Type {
	case ParamIPv4Address:
		if len(p.Value) != 4 {
			return netip.Addr{}, invalid(p, "IPv4 Address parameter of length %d", len(p.TLV))
		}
		return netip.AddrFrom4([4]byte(p.Value)), nil
	case ParamIPv6Address:
		if len(p.Value) != 16 {
			return netip.Addr{}, invalid(p, "IPv6 Address parameter of length %d", len(p.TLV))
		}
		return netip.AddrFrom16([16]byte(p.Value)), nil
	}
	return netip.Addr{}, invalid(p, "%v where an address is expected", p.Type)
}

// ---------------------------------------------------------------- transports

// TransportUse says what a PE's SCTP or TCP transport carries (RFC 5354,
// section 3.3).
type TransportUse uint16

const (
	// DataOnly: the transport carries application data only.
	DataOnly TransportUse = 0x0000
	// DataPlusControl: it also carries the ASAP session-layer messages
	// (cookie, cookie echo, business card).
	DataPlusControl TransportUse = 0x0001
)

func (u TransportUse) String() string {
	switch u {
	case DataOnly:
		return "data only"
	case DataPlusControl:
		return "data plus control"
	}
	return fmt.Sprintf("TransportUse(0x%04x)", uint16(u))
}

// Transport is an SCTP, TCP or UDP Transport parameter (RFC 5354, sections
// 3.3–3.5): the protocol (Kind), the port, the transport use (SCTP and TCP;
// UDP has a reserved field instead, sent as zero and ignored on input) and
// the addresses: one or more for SCTP, exactly one for TCP and UDP.
type Transport struct {
	Kind  ParamType
	Port  uint16
	Use   TransportUse
	Addrs []netip.Addr
}

// AppendTo appends the transport parameter to dst.
func (t *Transport) AppendTo(dst []byte) ([]byte, error) {
	switch t.Kind {
	case ParamSCTPTransport:
		if len(t.Addrs) == 0 {
			return dst, fmt.Errorf("rserpool: SCTP transport without address")
		}
	case ParamTCPTransport, ParamUDPTransport:
		if len(t.Addrs) != 1 {
			return dst, fmt.Errorf("rserpool: %v with %d addresses, want 1", t.Kind, len(t.Addrs))
		}
	default:
		return dst, fmt.Errorf("rserpool: %v is not a transport", t.Kind)
	}
	use := t.Use
	if t.Kind == ParamUDPTransport {
		use = 0
	} else if use != DataOnly && use != DataPlusControl {
		return dst, fmt.Errorf("rserpool: invalid transport use %v", use)
	}
	orig := len(dst)
	dst, start := beginTLV(dst, t.Kind)
	dst = binary.BigEndian.AppendUint16(dst, t.Port)
	dst = binary.BigEndian.AppendUint16(dst, uint16(use))
	var err error
	for _, a := range t.Addrs {
		if dst, err = appendAddress(dst, a); err != nil {
			return dst[:orig], err
		}
	}
	return endTLV(dst, start)
}

func (d *decoder) transport(p RawParam) (Transport, *Error) {
	t := Transport{Kind: p.Type}
	if len(p.Value) < 4 {
		return t, invalid(p, "%v parameter of length %d", p.Type, len(p.TLV))
	}
	t.Port = binary.BigEndian.Uint16(p.Value)
	use := TransportUse(binary.BigEndian.Uint16(p.Value[2:]))
	if p.Type != ParamUDPTransport {
		if use != DataOnly && use != DataPlusControl {
			return t, invalid(p, "transport use 0x%04x", uint16(use))
		}
		t.Use = use
	}
	b := p.Value[4:]
	for len(b) > 0 {
		q, rest, err := nextParam(b)
		if err != nil {
			return t, err
		}
		b = rest
		if !known(q.Type) {
			if err := d.unknown(q); err != nil {
				return t, err
			}
			continue
		}
		a, err := decodeAddress(q)
		if err != nil {
			return t, err
		}
		t.Addrs = append(t.Addrs, a)
	}
	switch {
	case len(t.Addrs) == 0:
		return t, invalid(p, "%v without address", p.Type)
	case p.Type != ParamSCTPTransport && len(t.Addrs) != 1:
		return t, invalid(p, "%v with %d addresses", p.Type, len(t.Addrs))
	}
	return t, nil
}

func isTransport(t ParamType) bool {
	return t == ParamSCTPTransport || t == ParamTCPTransport || t == ParamUDPTransport
}

// ---------------------------------------------------------------- simple values

// AppendPoolHandle appends a Pool Handle parameter.
func AppendPoolHandle(dst, handle []byte) ([]byte, error) {
	dst, start := beginTLV(dst, ParamPoolHandle)
	dst = append(dst, handle...)
	return endTLV(dst, start)
}

// AppendPEIdentifier appends a PE Identifier parameter.
func AppendPEIdentifier(dst []byte, id uint32) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(ParamPEIdentifier))
	dst = binary.BigEndian.AppendUint16(dst, 8)
	return binary.BigEndian.AppendUint32(dst, id)
}

// AppendPEChecksum appends a PE Checksum parameter: length 6 (type, length,
// 16-bit checksum) and two bytes of padding.
func AppendPEChecksum(dst []byte, sum uint16) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(ParamPEChecksum))
	dst = binary.BigEndian.AppendUint16(dst, 6)
	dst = binary.BigEndian.AppendUint16(dst, sum)
	return append(dst, 0, 0)
}

// AppendCookie appends a Cookie parameter.
func AppendCookie(dst, cookie []byte) ([]byte, error) {
	dst, start := beginTLV(dst, ParamCookie)
	dst = append(dst, cookie...)
	return endTLV(dst, start)
}

// AppendHandleResolutionOption appends rsplib's Handle Resolution Option:
// type 0x803f, length 8, the number of PE identities the pool user wants.
func AppendHandleResolutionOption(dst []byte, items uint32) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(ParamHandleResolutionOption))
	dst = binary.BigEndian.AppendUint16(dst, 8)
	return binary.BigEndian.AppendUint32(dst, items)
}

func u32(p RawParam) (uint32, *Error) {
	if len(p.Value) != 4 {
		return 0, invalid(p, "%v parameter of length %d, want 8", p.Type, len(p.TLV))
	}
	return binary.BigEndian.Uint32(p.Value), nil
}

func decodePEChecksum(p RawParam) (uint16, *Error) {
	// Length 6 is what RFC 5354 defines; 8 (a 32-bit field whose low
	// half is zero padding written inside the length) is accepted too.
	if len(p.Value) != 2 && len(p.Value) != 4 {
		return 0, invalid(p, "PE Checksum parameter of length %d", len(p.TLV))
	}
	return binary.BigEndian.Uint16(p.Value), nil
}

// ---------------------------------------------------------------- operation error

// AppendOperationError appends an Operation Error parameter holding causes.
func AppendOperationError(dst []byte, causes []ErrorCause) ([]byte, error) {
	if len(causes) == 0 {
		return dst, fmt.Errorf("rserpool: operation error without cause")
	}
	orig := len(dst)
	dst, start := beginTLV(dst, ParamOperationError)
	var err error
	for _, c := range causes {
		if dst, err = c.AppendTo(dst); err != nil {
			return dst[:orig], err
		}
	}
	return endTLV(dst, start)
}

func decodeOperationError(p RawParam) ([]ErrorCause, *Error) {
	var causes []ErrorCause
	b := p.Value
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, invalid(p, "truncated error cause")
		}
		n := int(binary.BigEndian.Uint16(b[2:]))
		if n < 4 || n > len(b) {
			return nil, invalid(p, "error cause of length %d in %d bytes", n, len(b))
		}
		causes = append(causes, ErrorCause{
			Code: Cause(binary.BigEndian.Uint16(b)),
			Info: clone(b[4:n]),
		})
		b = b[min(padLen(n), len(b)):]
	}
	if len(causes) == 0 {
		return nil, invalid(p, "operation error without cause")
	}
	return causes, nil
}

// ---------------------------------------------------------------- pool element

// PoolElement is a Pool Element parameter (RFC 5354, section 3.6): the PE's
// identifier, its home registrar, its registration life in milliseconds,
// the transport its pool users reach it on, its policy information, and
// optionally the transport of its ASAP endpoint.
type PoolElement struct {
	ID               uint32
	HomeRegistrar    uint32
	RegistrationLife int32
	UserTransport    Transport
	Policy           Policy
	ASAPTransport    *Transport
}

// AppendTo appends the Pool Element parameter to dst.
func (pe *PoolElement) AppendTo(dst []byte) ([]byte, error) {
	orig := len(dst)
	dst, start := beginTLV(dst, ParamPoolElement)
	dst = binary.BigEndian.AppendUint32(dst, pe.ID)
	dst = binary.BigEndian.AppendUint32(dst, pe.HomeRegistrar)
	dst = binary.BigEndian.AppendUint32(dst, uint32(pe.RegistrationLife))
	var err error
	if dst, err = pe.UserTransport.AppendTo(dst); err != nil {
		return dst[:orig], err
	}
	if dst, err = pe.Policy.AppendTo(dst); err != nil {
		return dst[:orig], err
	}
	if pe.ASAPTransport != nil {
		if pe.ASAPTransport.Kind != ParamSCTPTransport {
			return dst[:orig], fmt.Errorf("rserpool: ASAP transport must be SCTP, not %v", pe.ASAPTransport.Kind)
		}
		if dst, err = pe.ASAPTransport.AppendTo(dst); err != nil {
			return dst[:orig], err
		}
	}
	return endTLV(dst, start)
}

func (d *decoder) poolElement(p RawParam) (PoolElement, *Error) {
	var pe PoolElement
	if len(p.Value) < 12 {
		return pe, invalid(p, "Pool Element parameter of length %d", len(p.TLV))
	}
	pe.ID = binary.BigEndian.Uint32(p.Value)
	pe.HomeRegistrar = binary.BigEndian.Uint32(p.Value[4:])
	pe.RegistrationLife = int32(binary.BigEndian.Uint32(p.Value[8:]))
	b := p.Value[12:]
	// Order as in the RFC's figure: user transport, policy, then the
	// optional ASAP transport.
	step := 0
	for len(b) > 0 {
		q, rest, err := nextParam(b)
		if err != nil {
			return pe, err
		}
		b = rest
		if !known(q.Type) {
			if err := d.unknown(q); err != nil {
				return pe, err
			}
			continue
		}
		switch {
		case step == 0 && isTransport(q.Type):
			if pe.UserTransport, err = d.transport(q); err != nil {
				return pe, err
			}
		case step == 1 && q.Type == ParamPolicy:
			if pe.Policy, err = decodePolicy(q); err != nil {
				return pe, err
			}
		case step == 2 && q.Type == ParamSCTPTransport:
			t, err := d.transport(q)
			if err != nil {
				return pe, err
			}
			pe.ASAPTransport = &t
		default:
			return pe, invalid(p, "unexpected %v in Pool Element", q.Type)
		}
		step++
	}
	if step < 2 {
		return pe, invalid(p, "Pool Element without user transport or policy")
	}
	return pe, nil
}

// ---------------------------------------------------------------- server information

// ServerInformation is a Server Information parameter (RFC 5354, section
// 3.7): a registrar's identifier and its SCTP transport.
type ServerInformation struct {
	ServerID  uint32
	Transport Transport
}

// AppendTo appends the Server Information parameter to dst.
func (s *ServerInformation) AppendTo(dst []byte) ([]byte, error) {
	if s.Transport.Kind != ParamSCTPTransport {
		return dst, fmt.Errorf("rserpool: server transport must be SCTP, not %v", s.Transport.Kind)
	}
	orig := len(dst)
	dst, start := beginTLV(dst, ParamServerInformation)
	dst = binary.BigEndian.AppendUint32(dst, s.ServerID)
	var err error
	if dst, err = s.Transport.AppendTo(dst); err != nil {
		return dst[:orig], err
	}
	return endTLV(dst, start)
}

func (d *decoder) serverInformation(p RawParam) (ServerInformation, *Error) {
	var s ServerInformation
	if len(p.Value) < 4 {
		return s, invalid(p, "Server Information parameter of length %d", len(p.TLV))
	}
	s.ServerID = binary.BigEndian.Uint32(p.Value)
	b := p.Value[4:]
	got := false
	for len(b) > 0 {
		q, rest, err := nextParam(b)
		if err != nil {
			return s, err
		}
		b = rest
		if !known(q.Type) {
			if err := d.unknown(q); err != nil {
				return s, err
			}
			continue
		}
		if got || q.Type != ParamSCTPTransport {
			return s, invalid(p, "unexpected %v in Server Information", q.Type)
		}
		if s.Transport, err = d.transport(q); err != nil {
			return s, err
		}
		got = true
	}
	if !got {
		return s, invalid(p, "Server Information without transport")
	}
	return s, nil
}
