package rserpool

import (
	"encoding/binary"
	"fmt"
)

// Cause is an operation-error cause code (RFC 5352, section 5.4; the same
// codes are used by ENRP). It travels in an Operation Error parameter.
type Cause uint16

// The operation-error causes.
const (
	CauseUnspecified                    Cause = 0x0
	CauseUnrecognizedParameter          Cause = 0x1
	CauseUnrecognizedMessage            Cause = 0x2
	CauseInvalidValues                  Cause = 0x3
	CauseNonUniquePEIdentifier          Cause = 0x4
	CauseInconsistentPoolingPolicy      Cause = 0x5
	CauseLackOfResources                Cause = 0x6
	CauseInconsistentTransportType      Cause = 0x7
	CauseInconsistentDataControlConfig  Cause = 0x8
	CauseUnknownPoolHandle              Cause = 0x9
	CauseRejectedSecurityConsiderations Cause = 0xa
)

var causeNames = [...]string{
	CauseUnspecified:                    "Unspecified Error",
	CauseUnrecognizedParameter:          "Unrecognized Parameter",
	CauseUnrecognizedMessage:            "Unrecognized Message",
	CauseInvalidValues:                  "Invalid Values",
	CauseNonUniquePEIdentifier:          "Non-unique PE Identifier",
	CauseInconsistentPoolingPolicy:      "Inconsistent Pooling Policy",
	CauseLackOfResources:                "Lack of Resources",
	CauseInconsistentTransportType:      "Inconsistent Transport Type",
	CauseInconsistentDataControlConfig:  "Inconsistent Data/Control Configuration",
	CauseUnknownPoolHandle:              "Unknown Pool Handle",
	CauseRejectedSecurityConsiderations: "Rejected due to security considerations",
}

// String returns the cause's name as the RFC spells it.
func (c Cause) String() string {
	if int(c) < len(causeNames) {
		return causeNames[c]
	}
	return fmt.Sprintf("Cause(0x%x)", uint16(c))
}

// ErrorCause is one cause inside an Operation Error parameter: a code and its
// cause-specific information (for example the offending parameter, TLV and
// padding included, for Unrecognized Parameter and Invalid Values).
type ErrorCause struct {
	Code Cause
	Info []byte
}

// wireLen is the cause's encoded length without padding.
func (c ErrorCause) wireLen() int { return 4 + len(c.Info) }

// AppendTo appends the cause (code, length, info, padding) to dst.
func (c ErrorCause) AppendTo(dst []byte) ([]byte, error) {
	n := c.wireLen()
	if n > maxTLVLen {
		return dst, fmt.Errorf("rserpool: error cause info of %d bytes is too long", len(c.Info))
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(c.Code))
	dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	dst = append(dst, c.Info...)
	return appendPad(dst, n), nil
}

// Error is what decoding or a handlespace operation answers when the input
// is not acceptable. Cause is the operation-error cause the RFC prescribes
// for the answer; Info is the cause-specific information to put in it (the
// offending parameter or message, or nil); Silent is set when the RFC wants
// the message discarded without any report (a parameter type whose action
// bits are 00).
type Error struct {
	Cause  Cause
	Info   []byte
	Silent bool
	Reason string
}

func (e *Error) Error() string {
	return "rserpool: " + e.Cause.String() + ": " + e.Reason
}

// ErrorCause returns the cause to send back in an Operation Error.
func (e *Error) ErrorCause() ErrorCause { return ErrorCause{Code: e.Cause, Info: e.Info} }

func errf(c Cause, info []byte, format string, args ...any) *Error {
	return &Error{Cause: c, Info: info, Reason: fmt.Sprintf(format, args...)}
}
