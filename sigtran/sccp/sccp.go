package sccp

import (
	"errors"
	"fmt"
)

// MessageType is the SCCP message type code (Q.713 table 1).
type MessageType uint8

// The connectionless message types this package handles.
const (
	UDT   MessageType = 0x09 // unitdata
	UDTS  MessageType = 0x0a // unitdata service
	XUDT  MessageType = 0x11 // extended unitdata
	XUDTS MessageType = 0x12 // extended unitdata service
)

func (t MessageType) String() string {
	switch t {
	case UDT:
		return "UDT"
	case UDTS:
		return "UDTS"
	case XUDT:
		return "XUDT"
	case XUDTS:
		return "XUDTS"
	}
	return fmt.Sprintf("MessageType(0x%02x)", uint8(t))
}

// Global title indicator values (Q.713 3.4.1), ITU format.
const (
	GTINone    uint8 = 0 // no global title
	GTINAI     uint8 = 1 // nature of address indicator only
	GTITT      uint8 = 2 // translation type only
	GTITTNPES  uint8 = 3 // translation type, numbering plan, encoding scheme
	GTITTNPENA uint8 = 4 // translation type, numbering plan, encoding scheme, nature of address
)

// Common subsystem numbers (Q.713 3.4.2.2).
const (
	SSNUnknown uint8 = 0
	SSNManage  uint8 = 1 // SCCP management
	SSNHLR     uint8 = 6
	SSNVLR     uint8 = 7
	SSNMSC     uint8 = 8
	SSNGMLC    uint8 = 145
	SSNSGSN    uint8 = 149
)

// Return causes of UDTS/XUDTS (Q.713 3.12), the ones a gateway uses.
const (
	CauseNoTranslationForNature  uint8 = 0x00
	CauseNoTranslationForAddress uint8 = 0x01
	CauseSubsystemCongestion     uint8 = 0x02
	CauseSubsystemFailure        uint8 = 0x03
	CauseUnequippedUser          uint8 = 0x04
	CauseMTPFailure              uint8 = 0x05
	CauseNetworkCongestion       uint8 = 0x06
	CauseUnqualified             uint8 = 0x07
	CauseErrorInTransport        uint8 = 0x08
	CauseErrorInLocalProcessing  uint8 = 0x09
	CauseNoReassembly            uint8 = 0x0a
	CauseSCCPFailure             uint8 = 0x0b
	CauseHopCounterViolation     uint8 = 0x0c
)

// DefaultHopCounter is the hop counter Reply and new XUDTs start with (Q.713
// 3.18 allows at most 15).
const DefaultHopCounter uint8 = 15

// MaxPC is the largest 14-bit ITU point code.
const MaxPC uint16 = 1<<14 - 1

// Errors that Decode and Append wrap; test with errors.Is.
var (
	ErrShort        = errors.New("sccp: message too short")
	ErrType         = errors.New("sccp: unsupported message type")
	ErrClass        = errors.New("sccp: invalid protocol class")
	ErrHopCounter   = errors.New("sccp: hop counter out of range 1..15")
	ErrPointer      = errors.New("sccp: inconsistent pointer")
	ErrLength       = errors.New("sccp: parameter length out of range")
	ErrTrailing     = errors.New("sccp: trailing octets after the last parameter")
	ErrAddress      = errors.New("sccp: malformed party address")
	ErrOptional     = errors.New("sccp: malformed optional part")
	ErrPointCode    = errors.New("sccp: point code exceeds 14 bits")
	ErrEmptyData    = errors.New("sccp: empty user data")
	ErrTooLong      = errors.New("sccp: message does not fit one-octet pointers")
	ErrUnsupportedF = errors.New("sccp: unsupported address format")
)

// Address is a called or calling party address in the ITU format (Q.713
// 3.4): point code, subsystem number and global title, each optional, and the
// routing indicator.
type Address struct {
	RouteOnSSN bool // routing indicator: true = route on SSN (and PC), false = on GT
	HasPC      bool
	PC         uint16 // 14-bit ITU signalling point code
	HasSSN     bool
	SSN        uint8
	GTI        uint8 // global title indicator: 0 none, 1..4
	// GT holds the global title octets after the address indicator, point
	// code and SSN, as on the wire: for GTI 1 the odd/even + nature of address
	// octet, for 2 the translation type, for 3 TT and numbering plan/encoding
	// scheme, for 4 TT, NP/ES and nature of address, then the address signals.
	// Decode makes it alias the input.
	GT []byte
}

// address indicator bits (Q.713 3.4.1)
const (
	aiPC       = 0x01
	aiSSN      = 0x02
	aiGTIShift = 2
	aiGTIMask  = 0x3c
	aiRouteSSN = 0x40
	aiNational = 0x80
)

// gtHeader is the number of octets of a global title before its digits.
func gtHeader(gti uint8) int {
	switch gti {
	case GTINAI, GTITT:
		return 1
	case GTITTNPES:
		return 2
	case GTITTNPENA:
		return 3
	}
	return 0
}

// decodeAddress reads an address from its contents (without length octet).
func decodeAddress(b []byte, a *Address) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", ErrAddress)
	}
	ai := b[0]
	if ai&aiNational != 0 {
		return fmt.Errorf("%w: national (non-ITU) address indicator 0x%02x", ErrUnsupportedF, ai)
	}
	*a = Address{RouteOnSSN: ai&aiRouteSSN != 0, GTI: (ai & aiGTIMask) >> aiGTIShift}
	if a.GTI > GTITTNPENA {
		return fmt.Errorf("%w: global title indicator %d", ErrUnsupportedF, a.GTI)
	}
	p := b[1:]
	if ai&aiPC != 0 {
		if len(p) < 2 {
			return fmt.Errorf("%w: point code truncated", ErrAddress)
		}
		if p[1]&0xc0 != 0 {
			return fmt.Errorf("%w: spare bits of the point code set", ErrAddress)
		}
		a.HasPC, a.PC = true, uint16(p[0])|uint16(p[1])<<8
		p = p[2:]
	}
	if ai&aiSSN != 0 {
		if len(p) < 1 {
			return fmt.Errorf("%w: subsystem number truncated", ErrAddress)
		}
		a.HasSSN, a.SSN = true, p[0]
		p = p[1:]
	}
	if a.GTI == GTINone {
		if len(p) != 0 {
			return fmt.Errorf("%w: %d octets after the address without a global title", ErrAddress, len(p))
		}
		if !a.RouteOnSSN {
			return fmt.Errorf("%w: routing on global title without a global title", ErrAddress)
		}
		if !a.HasPC && !a.HasSSN {
			return fmt.Errorf("%w: neither point code, SSN nor global title", ErrAddress)
		}
		return nil
	}
	if len(p) < gtHeader(a.GTI) {
		return fmt.Errorf("%w: global title of indicator %d shorter than its header", ErrAddress, a.GTI)
	}
	a.GT = p
	return nil
}

// check validates an address before encoding and returns its encoded length
// (without the length octet).
func (a *Address) check() (int, error) {
	n := 1
	if a.HasPC {
		if a.PC > MaxPC {
			return 0, fmt.Errorf("%w: %d", ErrPointCode, a.PC)
		}
		n += 2
	}
	if a.HasSSN {
		n++
	}
	if a.GTI > GTITTNPENA {
		return 0, fmt.Errorf("%w: global title indicator %d", ErrUnsupportedF, a.GTI)
	}
	if a.GTI == GTINone {
		if len(a.GT) != 0 {
			return 0, fmt.Errorf("%w: global title octets without a global title indicator", ErrAddress)
		}
		if !a.RouteOnSSN {
			return 0, fmt.Errorf("%w: routing on global title without a global title", ErrAddress)
		}
		if !a.HasPC && !a.HasSSN {
			return 0, fmt.Errorf("%w: neither point code, SSN nor global title", ErrAddress)
		}
	} else if len(a.GT) < gtHeader(a.GTI) {
		return 0, fmt.Errorf("%w: global title of indicator %d shorter than its header", ErrAddress, a.GTI)
	}
	n += len(a.GT)
	if n > 255 {
		return 0, fmt.Errorf("%w: address of %d octets", ErrLength, n)
	}
	return n, nil
}

// appendAddress appends an address with its length octet; a must be checked.
func (a *Address) appendTo(dst []byte, n int) []byte {
	ai := a.GTI << aiGTIShift
	if a.HasPC {
		ai |= aiPC
	}
	if a.HasSSN {
		ai |= aiSSN
	}
	if a.RouteOnSSN {
		ai |= aiRouteSSN
	}
	dst = append(dst, byte(n), ai)
	if a.HasPC {
		dst = append(dst, byte(a.PC), byte(a.PC>>8))
	}
	if a.HasSSN {
		dst = append(dst, a.SSN)
	}
	return append(dst, a.GT...)
}

// Message is a connectionless SCCP message.
type Message struct {
	Type MessageType
	// Class is the protocol class, 0 or 1 (UDT, XUDT). The return-on-error
	// message handling option is ReturnOnError.
	Class         uint8
	ReturnOnError bool
	Cause         uint8 // return cause (UDTS, XUDTS)
	HopCounter    uint8 // XUDT, XUDTS: 1..15
	Called        Address
	Calling       Address
	Data          []byte // user data (the TCAP message); aliases the input
	// Optional is the XUDT/XUDTS optional part without its final
	// end-of-optional-parameters octet (raw parameters: segmentation,
	// importance); empty when absent. Aliases the input.
	Optional []byte
}

// fixed part lengths: type, class/cause, [hop counter], pointers
func layout(t MessageType) (fixed int, ptrs int, ok bool) {
	switch t {
	case UDT, UDTS:
		return 2, 3, true
	case XUDT, XUDTS:
		return 3, 4, true
	}
	return 0, 0, false
}

// Decode decodes one connectionless SCCP message from b into m. It does not
// allocate; m's slices alias b. On error m's contents are unspecified.
func Decode(b []byte, m *Message) error {
	if len(b) < 1 {
		return fmt.Errorf("%w: empty", ErrShort)
	}
	t := MessageType(b[0])
	fixed, nptr, ok := layout(t)
	if !ok {
		return fmt.Errorf("%w: 0x%02x", ErrType, b[0])
	}
	head := fixed + nptr
	if len(b) < head {
		return fmt.Errorf("%w: %d octets, %s needs %d before its parameters", ErrShort, len(b), t, head)
	}
	*m = Message{Type: t}
	switch t {
	case UDT, XUDT:
		if err := decodeClass(b[1], m); err != nil {
			return err
		}
	default:
		m.Cause = b[1]
	}
	if fixed == 3 {
		m.HopCounter = b[2]
		if m.HopCounter == 0 || m.HopCounter > 15 {
			return fmt.Errorf("%w: %d", ErrHopCounter, m.HopCounter)
		}
	}
	// mandatory variable parts, each must start where the previous ended
	next := head
	var parts [3][]byte
	names := [3]string{"called party address", "calling party address", "data"}
	for i := 0; i < 3; i++ {
		at := fixed + i
		ptr := int(b[at])
		if ptr == 0 {
			return fmt.Errorf("%w: pointer to %s is zero", ErrPointer, names[i])
		}
		start := at + ptr
		if start != next {
			return fmt.Errorf("%w: %s at offset %d, expected %d", ErrPointer, names[i], start, next)
		}
		if start >= len(b) {
			return fmt.Errorf("%w: %s starts past the end (offset %d of %d)", ErrShort, names[i], start, len(b))
		}
		l := int(b[start])
		end := start + 1 + l
		if end > len(b) {
			return fmt.Errorf("%w: %s of %d octets runs past the end", ErrShort, names[i], l)
		}
		parts[i] = b[start+1 : end]
		next = end
	}
	if len(parts[2]) == 0 {
		return ErrEmptyData
	}
	if err := decodeAddress(parts[0], &m.Called); err != nil {
		return fmt.Errorf("called party: %w", err)
	}
	if err := decodeAddress(parts[1], &m.Calling); err != nil {
		return fmt.Errorf("calling party: %w", err)
	}
	m.Data = parts[2]
	if nptr == 4 {
		at := fixed + 3
		ptr := int(b[at])
		if ptr == 0 {
			if next != len(b) {
				return fmt.Errorf("%w: %d octets after the data and no optional part", ErrTrailing, len(b)-next)
			}
			return nil
		}
		start := at + ptr
		if start != next {
			return fmt.Errorf("%w: optional part at offset %d, expected %d", ErrPointer, start, next)
		}
		opt, err := scanOptional(b[start:])
		if err != nil {
			return err
		}
		m.Optional = opt
		return nil
	}
	if next != len(b) {
		return fmt.Errorf("%w: %d octets", ErrTrailing, len(b)-next)
	}
	return nil
}

func decodeClass(c byte, m *Message) error {
	switch c & 0xf0 {
	case 0x00:
	case 0x80:
		m.ReturnOnError = true
	default:
		return fmt.Errorf("%w: spare message handling 0x%x", ErrClass, c>>4)
	}
	m.Class = c & 0x0f
	if m.Class > 1 {
		return fmt.Errorf("%w: class %d in a connectionless message", ErrClass, m.Class)
	}
	return nil
}

// scanOptional checks an optional part that must end exactly with the end
// of optional parameters octet, and returns it without that octet.
func scanOptional(b []byte) ([]byte, error) {
	i := 0
	for {
		if i >= len(b) {
			return nil, fmt.Errorf("%w: no end of optional parameters", ErrOptional)
		}
		if b[i] == 0 {
			if i+1 != len(b) {
				return nil, fmt.Errorf("%w: %d octets after the end of optional parameters", ErrTrailing, len(b)-i-1)
			}
			if i == 0 {
				return nil, fmt.Errorf("%w: empty optional part", ErrOptional)
			}
			return b[:i], nil
		}
		if i+1 >= len(b) {
			return nil, fmt.Errorf("%w: parameter 0x%02x without length", ErrOptional, b[i])
		}
		end := i + 2 + int(b[i+1])
		if end > len(b) {
			return nil, fmt.Errorf("%w: parameter 0x%02x of %d octets runs past the end", ErrOptional, b[i], b[i+1])
		}
		i = end
	}
}

// checkOptional validates Optional before encoding.
func checkOptional(b []byte) error {
	for i := 0; i < len(b); {
		if b[i] == 0 {
			return fmt.Errorf("%w: end of optional parameters inside the part", ErrOptional)
		}
		if i+1 >= len(b) {
			return fmt.Errorf("%w: parameter 0x%02x without length", ErrOptional, b[i])
		}
		end := i + 2 + int(b[i+1])
		if end > len(b) {
			return fmt.Errorf("%w: parameter 0x%02x of %d octets runs past the end", ErrOptional, b[i], b[i+1])
		}
		i = end
	}
	return nil
}

// Len returns the encoded length of m, or an error if it cannot be encoded.
func (m *Message) Len() (int, error) {
	n, _, _, err := m.sizes()
	return n, err
}

// sizes validates m and returns its encoded length and those of its
// addresses (without their length octets).
func (m *Message) sizes() (n, lc, lg int, err error) {
	fixed, nptr, ok := layout(m.Type)
	if !ok {
		return 0, 0, 0, fmt.Errorf("%w: 0x%02x", ErrType, uint8(m.Type))
	}
	switch m.Type {
	case UDT, XUDT:
		if m.Class > 1 {
			return 0, 0, 0, fmt.Errorf("%w: class %d in a connectionless message", ErrClass, m.Class)
		}
	}
	if fixed == 3 && (m.HopCounter == 0 || m.HopCounter > 15) {
		return 0, 0, 0, fmt.Errorf("%w: %d", ErrHopCounter, m.HopCounter)
	}
	if nptr == 3 && len(m.Optional) != 0 {
		return 0, 0, 0, fmt.Errorf("%w: %s has no optional part", ErrOptional, m.Type)
	}
	lc, err = m.Called.check()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("called party: %w", err)
	}
	lg, err = m.Calling.check()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("calling party: %w", err)
	}
	if len(m.Data) == 0 {
		return 0, 0, 0, ErrEmptyData
	}
	if len(m.Data) > 255 {
		return 0, 0, 0, fmt.Errorf("%w: data of %d octets", ErrLength, len(m.Data))
	}
	if err := checkOptional(m.Optional); err != nil {
		return 0, 0, 0, err
	}
	head := fixed + nptr
	// the data pointer is the last mandatory one, at fixed+2
	dataPtr := head + 1 + lc + 1 + lg - (fixed + 2)
	if dataPtr > 255 {
		return 0, 0, 0, fmt.Errorf("%w: data pointer %d", ErrTooLong, dataPtr)
	}
	n = head + 1 + lc + 1 + lg + 1 + len(m.Data)
	if len(m.Optional) != 0 {
		if optPtr := n - (fixed + 3); optPtr > 255 {
			return 0, 0, 0, fmt.Errorf("%w: optional part pointer %d", ErrTooLong, optPtr)
		}
		n += len(m.Optional) + 1
	}
	return n, lc, lg, nil
}

// Append appends the encoding of m to dst. It checks m as Decode would check
// the result and returns dst unchanged with an error if m cannot be encoded.
func (m *Message) Append(dst []byte) ([]byte, error) {
	_, lc, lg, err := m.sizes()
	if err != nil {
		return dst, err
	}
	fixed, nptr, _ := layout(m.Type)
	dst = append(dst, byte(m.Type))
	switch m.Type {
	case UDT, XUDT:
		c := m.Class
		if m.ReturnOnError {
			c |= 0x80
		}
		dst = append(dst, c)
	default:
		dst = append(dst, m.Cause)
	}
	if fixed == 3 {
		dst = append(dst, m.HopCounter)
	}
	// pointers are relative to their own octet
	pCalled := nptr
	pCalling := nptr - 1 + 1 + lc
	pData := nptr - 2 + 1 + lc + 1 + lg
	dst = append(dst, byte(pCalled), byte(pCalling), byte(pData))
	if nptr == 4 {
		if len(m.Optional) == 0 {
			dst = append(dst, 0)
		} else {
			dst = append(dst, byte(1+1+lc+1+lg+1+len(m.Data)))
		}
	}
	dst = m.Called.appendTo(dst, lc)
	dst = m.Calling.appendTo(dst, lg)
	dst = append(dst, byte(len(m.Data)))
	dst = append(dst, m.Data...)
	if len(m.Optional) != 0 {
		dst = append(dst, m.Optional...)
		dst = append(dst, 0)
	}
	return dst, nil
}

// Reply returns the message that answers in with data: called and calling
// party addresses swapped, the same protocol class and options. A UDT is
// answered with a UDT, an XUDT with an XUDT starting a fresh hop counter; a
// service message (UDTS, XUDTS) is answered with the unitdata message of its
// kind in class 0.
func Reply(in *Message, data []byte) Message {
	out := Message{
		Type:          in.Type,
		Class:         in.Class,
		ReturnOnError: in.ReturnOnError,
		Called:        in.Calling,
		Calling:       in.Called,
		Data:          data,
	}
	switch in.Type {
	case UDTS:
		out.Type, out.Class, out.ReturnOnError = UDT, 0, false
	case XUDTS:
		out.Type, out.Class, out.ReturnOnError = XUDT, 0, false
	}
	if out.Type == XUDT {
		out.HopCounter = DefaultHopCounter
	}
	return out
}

// Service returns the UDTS or XUDTS that returns in (a UDT or XUDT) to its
// originator with cause: the addresses swapped and the same user data, as
// Q.714 asks of a node that cannot deliver a message with the
// return-on-error option.
func Service(in *Message, cause uint8) Message {
	out := Message{Type: UDTS, Cause: cause, Called: in.Calling, Calling: in.Called, Data: in.Data}
	if in.Type == XUDT || in.Type == XUDTS {
		out.Type, out.HopCounter = XUDTS, DefaultHopCounter
	}
	return out
}
