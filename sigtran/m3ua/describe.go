package m3ua

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// Describe renders a message on one line, the way transcripts and logs show
// it: "NTFY AS-ACTIVE rc=1", "ERR InvalidStreamIdentifier(0x09) diag=...".
// It describes the encoded form, so what it shows is what goes on the wire.
func Describe(m messages.M3UA) string {
	b, err := Encode(m)
	if err != nil {
		return fmt.Sprintf("unencodable %T: %v", m, err)
	}
	return DescribeBytes(b)
}

// DescribeBytes renders an encoded message; see Describe.
func DescribeBytes(b []byte) string {
	if len(b) < HeaderLen {
		return fmt.Sprintf("short message %x", b)
	}
	var sb strings.Builder
	sb.WriteString(MessageName(b[2], b[3]))
	describeParams(&sb, b[HeaderLen:])
	return sb.String()
}

func describeParams(sb *strings.Builder, b []byte) {
	for len(b) > 0 {
		tag, v, rest, pe := nextParam(b)
		if pe != nil {
			fmt.Fprintf(sb, " malformed=%x", b)
			return
		}
		b = rest
		sb.WriteByte(' ')
		u32 := func() uint32 {
			if len(v) < 4 {
				return 0
			}
			return binary.BigEndian.Uint32(v)
		}
		list := func() string {
			var parts []string
			for i := 0; i+4 <= len(v); i += 4 {
				parts = append(parts, fmt.Sprint(binary.BigEndian.Uint32(v[i:])))
			}
			return strings.Join(parts, ",")
		}
		switch tag {
		case params.RoutingContext:
			sb.WriteString("rc=" + list())
		case params.AspIdentifier:
			fmt.Fprintf(sb, "aspid=%d", u32())
		case params.TrafficModeType:
			fmt.Fprintf(sb, "mode=%v", TrafficMode(u32()))
		case params.ErrorCode:
			c := ErrorCode(u32())
			fmt.Fprintf(sb, "%s(%#02x)", strings.NewReplacer(" ", "", "-", "").Replace(c.String()), uint32(c))
		case params.Status:
			sb.WriteString(statusName(uint16(u32()>>16), uint16(u32())))
		case params.DiagnosticInformation:
			fmt.Fprintf(sb, "diag=%x", v)
		case params.HeartbeatData:
			fmt.Fprintf(sb, "beat=%x", v)
		case params.InfoString:
			fmt.Fprintf(sb, "info=%q", v)
		case params.AffectedPointCode:
			var pcs []uint32
			for i := 0; i+4 <= len(v); i += 4 {
				pcs = append(pcs, binary.BigEndian.Uint32(v[i:]))
			}
			sb.WriteString("apc=" + APCString(pcs...))
		case params.ProtocolData:
			if len(v) >= 12 {
				fmt.Fprintf(sb, "opc=%d dpc=%d si=%d ni=%d mp=%d sls=%d data=%x",
					binary.BigEndian.Uint32(v[0:]), binary.BigEndian.Uint32(v[4:]), v[8], v[9], v[10], v[11], v[12:])
			}
		case params.NetworkAppearance:
			fmt.Fprintf(sb, "na=%d", u32())
		case params.UserCause:
			fmt.Fprintf(sb, "user=%d cause=%d", u32()&0xffff, u32()>>16)
		case params.CongestionIndications:
			fmt.Fprintf(sb, "level=%d", u32()&0xff)
		case params.ConcernedDestination:
			fmt.Fprintf(sb, "concerned=%d", u32()&0xffffff)
		case params.LocalRoutingKeyIdentifier:
			fmt.Fprintf(sb, "lrk=%d", u32())
		case params.DestinationPointCode:
			fmt.Fprintf(sb, "dpc=%d", u32())
		case params.ServiceIndicators:
			fmt.Fprintf(sb, "si=%x", v)
		case params.OriginatingPointCodeList:
			sb.WriteString("opc=" + list())
		case params.RegistrationStatus:
			sb.WriteString("status=" + RegStatusName(u32()))
		case params.DeregistrationStatus:
			sb.WriteString("status=" + DeregStatusName(u32()))
		case params.RoutingKey, params.RegistrationResult, params.DeregistrationResult:
			sb.WriteString(map[uint16]string{params.RoutingKey: "key", params.RegistrationResult: "result", params.DeregistrationResult: "result"}[tag] + "{")
			var inner strings.Builder
			describeParams(&inner, v)
			sb.WriteString(strings.TrimSpace(inner.String()) + "}")
		default:
			fmt.Fprintf(sb, "%#04x=%x", tag, v)
		}
	}
}

func statusName(typ, info uint16) string {
	switch {
	case typ == StatusTypeASStateChange && info == StatusASInactive:
		return "AS-INACTIVE"
	case typ == StatusTypeASStateChange && info == StatusASActive:
		return "AS-ACTIVE"
	case typ == StatusTypeASStateChange && info == StatusASPending:
		return "AS-PENDING"
	case typ == StatusTypeOther && info == StatusInsufficientASPResources:
		return "Insufficient-ASP-Resources"
	case typ == StatusTypeOther && info == StatusAlternateASPActive:
		return "Alternate-ASP-Active"
	case typ == StatusTypeOther && info == StatusASPFailure:
		return "ASP-Failure"
	}
	return fmt.Sprintf("status=%d/%d", typ, info)
}

var regStatusNames = [...]string{
	"Successfully-Registered", "Unknown", "Invalid-DPC", "Invalid-Network-Appearance",
	"Invalid-Routing-Key", "Permission-Denied", "Cannot-Support-Unique-Routing",
	"Routing-Key-Not-Currently-Provisioned", "Insufficient-Resources",
	"Unsupported-RK-Parameter-Field", "Unsupported-Traffic-Handling-Mode",
	"Routing-Key-Change-Refused", "Routing-Key-Already-Registered",
}

var deregStatusNames = [...]string{
	"Successfully-Deregistered", "Unknown", "Invalid-Routing-Context",
	"Permission-Denied", "Not-Registered", "ASP-Currently-Active",
}

// RegStatusName names a Registration Status value (RFC 4666 3.6.2).
func RegStatusName(v uint32) string {
	if v < uint32(len(regStatusNames)) {
		return regStatusNames[v]
	}
	return fmt.Sprintf("reg-status(%d)", v)
}

// DeregStatusName names a Deregistration Status value (RFC 4666 3.6.4).
func DeregStatusName(v uint32) string {
	if v < uint32(len(deregStatusNames)) {
		return deregStatusNames[v]
	}
	return fmt.Sprintf("dereg-status(%d)", v)
}

// APCString formats affected point codes, "100" or "256/8" for a point
// code with its low 8 bits wildcarded, separated by commas.
func APCString(apcs ...uint32) string {
	parts := make([]string, len(apcs))
	for i, a := range apcs {
		parts[i] = fmt.Sprint(a & 0xffffff)
		if a>>24 != 0 {
			parts[i] += fmt.Sprintf("/%d", a>>24)
		}
	}
	return strings.Join(parts, ",")
}
