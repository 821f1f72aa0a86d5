package m3ua

import "fmt"

// ErrorCode is the value of the Error Code parameter of an ERR message
// (RFC 4666 section 3.8.1). Codes the RFC marks "not used in M3UA" (0x02,
// 0x08, 0x0a-0x0c, 0x10, 0x17, 0x18) have no constant here.
type ErrorCode uint32

// The error codes of RFC 4666 section 3.8.1.
const (
	ErrInvalidVersion            ErrorCode = 0x01
	ErrUnsupportedMessageClass   ErrorCode = 0x03
	ErrUnsupportedMessageType    ErrorCode = 0x04
	ErrUnsupportedTrafficMode    ErrorCode = 0x05
	ErrUnexpectedMessage         ErrorCode = 0x06
	ErrProtocolError             ErrorCode = 0x07
	ErrInvalidStreamIdentifier   ErrorCode = 0x09
	ErrRefusedManagementBlocking ErrorCode = 0x0d
	ErrASPIdentifierRequired     ErrorCode = 0x0e
	ErrInvalidASPIdentifier      ErrorCode = 0x0f
	ErrInvalidParameterValue     ErrorCode = 0x11
	ErrParameterFieldError       ErrorCode = 0x12
	ErrUnexpectedParameter       ErrorCode = 0x13
	ErrDestinationStatusUnknown  ErrorCode = 0x14
	ErrInvalidNetworkAppearance  ErrorCode = 0x15
	ErrMissingParameter          ErrorCode = 0x16
	ErrInvalidRoutingContext     ErrorCode = 0x19
	ErrNoConfiguredASForASP      ErrorCode = 0x1a
)

var errorCodeNames = map[ErrorCode]string{
	ErrInvalidVersion:            "Invalid Version",
	ErrUnsupportedMessageClass:   "Unsupported Message Class",
	ErrUnsupportedMessageType:    "Unsupported Message Type",
	ErrUnsupportedTrafficMode:    "Unsupported Traffic Mode Type",
	ErrUnexpectedMessage:         "Unexpected Message",
	ErrProtocolError:             "Protocol Error",
	ErrInvalidStreamIdentifier:   "Invalid Stream Identifier",
	ErrRefusedManagementBlocking: "Refused - Management Blocking",
	ErrASPIdentifierRequired:     "ASP Identifier Required",
	ErrInvalidASPIdentifier:      "Invalid ASP Identifier",
	ErrInvalidParameterValue:     "Invalid Parameter Value",
	ErrParameterFieldError:       "Parameter Field Error",
	ErrUnexpectedParameter:       "Unexpected Parameter",
	ErrDestinationStatusUnknown:  "Destination Status Unknown",
	ErrInvalidNetworkAppearance:  "Invalid Network Appearance",
	ErrMissingParameter:          "Missing Parameter",
	ErrInvalidRoutingContext:     "Invalid Routing Context",
	ErrNoConfiguredASForASP:      "No Configured AS for ASP",
}

func (c ErrorCode) String() string {
	if n, ok := errorCodeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("error code %#x", uint32(c))
}

// ProtocolError is why a received message is refused: the error code to put
// in the ERR sent back, and a reason for logs (never sent to the peer).
type ProtocolError struct {
	Code   ErrorCode
	Reason string
	// RoutingContexts, when set, are the offending routing contexts; the
	// ERR carries them (RFC 4666 3.8.1, Invalid Routing Context).
	RoutingContexts []uint32
	// AffectedPointCodes, when set, are the point codes an ERR
	// "Destination Status Unknown" names (RFC 4666 3.8.1).
	AffectedPointCodes []uint32
}

func (e *ProtocolError) Error() string {
	if e.Reason == "" {
		return "m3ua: " + e.Code.String()
	}
	return "m3ua: " + e.Code.String() + ": " + e.Reason
}

func perr(code ErrorCode, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Reason: fmt.Sprintf(format, args...)}
}
