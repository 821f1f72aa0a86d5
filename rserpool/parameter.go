package rserpool

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Parameter is any one decoded parameter, for code that walks parameters
// generically (ENRP messages, diagnostics, fuzzing). Type says which field
// holds the value:
//
//	IPv4/IPv6 Address             Addr
//	SCTP/TCP/UDP Transport        Transport
//	Policy                        Policy
//	Pool Handle, Cookie           Bytes
//	Pool Element                  Element
//	Server Information            Server
//	Operation Error               Causes
//	PE Identifier, Handle Resolution Option   Uint32
//	PE Checksum                   Checksum
type Parameter struct {
	Type      ParamType
	Addr      netip.Addr
	Transport Transport
	Policy    Policy
	Bytes     []byte
	Element   PoolElement
	Server    ServerInformation
	Causes    []ErrorCause
	Uint32    uint32
	Checksum  uint16
}

// AppendTo appends the parameter to dst.
func (p *Parameter) AppendTo(dst []byte) ([]byte, error) {
	switch p.Type {
	case ParamIPv4Address, ParamIPv6Address:
		if p.Addr.Is4() != (p.Type == ParamIPv4Address) {
			return dst, fmt.Errorf("rserpool: %v holding %v", p.Type, p.Addr)
		}
		return appendAddress(dst, p.Addr)
	case ParamSCTPTransport, ParamTCPTransport, ParamUDPTransport:
		if p.Transport.Kind != p.Type {
			return dst, fmt.Errorf("rserpool: %v holding a %v", p.Type, p.Transport.Kind)
		}
		return p.Transport.AppendTo(dst)
	case ParamPolicy:
		return p.Policy.AppendTo(dst)
	case ParamPoolHandle:
		return AppendPoolHandle(dst, p.Bytes)
	case ParamCookie:
		return AppendCookie(dst, p.Bytes)
	case ParamPoolElement:
		return p.Element.AppendTo(dst)
	case ParamServerInformation:
		return p.Server.AppendTo(dst)
	case ParamOperationError:
		return AppendOperationError(dst, p.Causes)
	case ParamPEIdentifier:
		return AppendPEIdentifier(dst, p.Uint32), nil
	case ParamPEChecksum:
		return AppendPEChecksum(dst, p.Checksum), nil
	case ParamHandleResolutionOption:
		return AppendHandleResolutionOption(dst, p.Uint32), nil
	}
	return dst, fmt.Errorf("rserpool: cannot encode %v", p.Type)
}

// DecodeParameter decodes the first parameter of b and returns it with the
// rest of b (after its padding). Unrecognized parameters nested inside it
// whose action bits say "skip and report" are returned in report; the
// caller answers them with Unrecognized Parameter causes. An unrecognized
// top-level parameter is handled like a nested one: with skip bits it comes
// back with Type set and nothing else (and in report if the bits ask).
func DecodeParameter(b []byte) (p Parameter, rest []byte, report []RawParam, err error) {
	var d decoder
	raw, rest, e := nextParam(b)
	if e != nil {
		return p, nil, nil, e
	}
	if !known(raw.Type) && raw.Type != ParamHandleResolutionOption {
		if e := d.unknown(raw); e != nil {
			return p, nil, nil, e
		}
		return Parameter{Type: raw.Type}, rest, d.report, nil
	}
	p, e = d.parameter(raw)
	if e != nil {
		return p, nil, nil, e
	}
	return p, rest, d.report, nil
}

// parameter decodes a parameter of a recognized type.
func (d *decoder) parameter(raw RawParam) (Parameter, *Error) {
	p := Parameter{Type: raw.Type}
	var e *Error
	switch raw.Type {
	case ParamIPv4Address, ParamIPv6Address:
		p.Addr, e = decodeAddress(raw)
	case ParamSCTPTransport, ParamTCPTransport, ParamUDPTransport:
		p.Transport, e = d.transport(raw)
	case ParamPolicy:
		p.Policy, e = decodePolicy(raw)
	case ParamPoolHandle, ParamCookie:
		p.Bytes = clone(raw.Value)
		if p.Bytes == nil {
			p.Bytes = []byte{}
		}
	case ParamPoolElement:
		p.Element, e = d.poolElement(raw)
	case ParamServerInformation:
		p.Server, e = d.serverInformation(raw)
	case ParamOperationError:
		p.Causes, e = decodeOperationError(raw)
	case ParamPEIdentifier, ParamHandleResolutionOption:
		p.Uint32, e = u32(raw)
	case ParamPEChecksum:
		p.Checksum, e = decodePEChecksum(raw)
	default:
		e = invalid(raw, "cannot decode %v", raw.Type)
	}
	return p, e
}

// MessageLength returns the length of the ASAP message at the start of b as
// its header says, for framing on byte-stream transports; ok is false when
// b holds less than a header.
func MessageLength(b []byte) (n int, ok bool) {
	if len(b) < msgHeaderLen {
		return 0, false
	}
	return int(binary.BigEndian.Uint16(b[2:])), true
}
