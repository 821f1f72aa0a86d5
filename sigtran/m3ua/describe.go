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
			sb.WriteString("apc=" + list())
		case params.ProtocolData:
			if len(v) >= 12 {
				fmt.Fprintf(sb, "opc=%d dpc=%d si=%d ni=%d mp=%d sls=%d data=%x",
					binary.BigEndian.Uint32(v[0:]), binary.BigEndian.Uint32(v[4:]), v[8], v[9], v[10], v[11], v[12:])
			}
		case params.RoutingKey, params.RegistrationResult, params.DeregistrationResult:
			fmt.Fprintf(sb, "%#04x{", tag)
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
