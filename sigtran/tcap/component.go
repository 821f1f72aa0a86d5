package tcap

import (
	"errors"
	"fmt"
	"io"
)

// Component types (Q.773), by tag.
const (
	Invoke              uint8 = 0xa1
	ReturnResultLast    uint8 = 0xa2
	ReturnError         uint8 = 0xa3
	Reject              uint8 = 0xa4
	ReturnResultNotLast uint8 = 0xa7
)

// Reject problem tags (Q.773) carried in Component.ProblemTag.
const (
	ProblemGeneral      uint8 = 0x80
	ProblemInvoke       uint8 = 0x81
	ProblemReturnResult uint8 = 0x82
	ProblemReturnError  uint8 = 0x83
)

// ErrComponent is wrapped by every error of NextComponent and
// AppendComponents: a component that cannot be read is rejected (a TC Reject
// of the component), not the transaction.
var ErrComponent = errors.New("tcap: malformed component")

// Component is one component of a component portion with local operation
// and error codes.
type Component struct {
	Type uint8 // Invoke, ReturnResultLast, ReturnError, Reject, ReturnResultNotLast
	// InvokeID is the invoke id; a Reject may carry NULL instead
	// (NullInvokeID).
	InvokeID     int8
	NullInvokeID bool
	// LinkedID is the linked id of an Invoke, if HasLinkedID.
	LinkedID    int8
	HasLinkedID bool
	// OpCode is the local operation code of an Invoke or a ReturnResult that
	// carries a result, or the local error code of a ReturnError.
	HasOpCode bool
	OpCode    int64
	// GlobalCode is the contents of an OBJECT IDENTIFIER operation or error
	// code (global form), when the code is not local; aliases the input.
	GlobalCode []byte
	// Param is the parameter element (one whole TLV) when present; aliases
	// the input.
	Param []byte
	// ProblemTag (ProblemGeneral..ProblemReturnError) and Problem are a
	// Reject's problem code.
	ProblemTag uint8
	Problem    uint8
}

func compErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrComponent}, a...)...)
}

// NextComponent reads the first component of portion and returns it with the
// components that follow. portion is either the whole component portion
// element (tag 0x6c, as Message.Components holds it) or its contents, or
// what a previous call returned as rest. At the end it returns io.EOF. It
// does not allocate.
func NextComponent(portion []byte) (c Component, rest []byte, err error) {
	if len(portion) != 0 && portion[0] == TagComponents {
		_, content, after, err := readTLV(portion)
		if err != nil {
			return c, nil, fmt.Errorf("%w: %v", ErrComponent, err)
		}
		if len(after) != 0 {
			return c, nil, compErr("%d octets after the component portion", len(after))
		}
		portion = content
	}
	if len(portion) == 0 {
		return c, nil, io.EOF
	}
	tag, body, rest, err := readTLV(portion)
	if err != nil {
		return c, nil, fmt.Errorf("%w: %v", ErrComponent, err)
	}
	if len(tag) != 1 {
		return c, nil, compErr("unknown component tag")
	}
	c.Type = tag[0]
	switch c.Type {
	case Invoke, ReturnResultLast, ReturnResultNotLast, ReturnError, Reject:
	default:
		return c, nil, compErr("unknown component type 0x%02x", c.Type)
	}
	// invoke id: INTEGER of one octet, or NULL in a Reject
	t, v, body, err := readTLV(body)
	if err != nil {
		return c, nil, compErr("invoke id: %v", err)
	}
	switch {
	case len(t) == 1 && t[0] == TagInteger && len(v) == 1:
		c.InvokeID = int8(v[0])
	case len(t) == 1 && t[0] == TagNull && len(v) == 0 && c.Type == Reject:
		c.NullInvokeID = true
	default:
		return c, nil, compErr("invoke id is not a one-octet INTEGER")
	}
	switch c.Type {
	case Invoke:
		if len(body) != 0 && body[0] == TagLinkedID {
			t, v, body, err = readTLV(body)
			if err != nil || len(v) != 1 {
				return c, nil, compErr("linked id is not one octet")
			}
			c.LinkedID, c.HasLinkedID = int8(v[0]), true
		}
		if body, err = c.readCode(body); err != nil {
			return c, nil, err
		}
		if err = c.readParam(body); err != nil {
			return c, nil, err
		}
	case ReturnError:
		if body, err = c.readCode(body); err != nil {
			return c, nil, err
		}
		if err = c.readParam(body); err != nil {
			return c, nil, err
		}
	case ReturnResultLast, ReturnResultNotLast:
		if len(body) == 0 {
			break
		}
		t, v, after, err := readTLV(body)
		if err != nil || len(t) != 1 || t[0] != TagSequence || len(after) != 0 {
			return c, nil, compErr("result is not one SEQUENCE")
		}
		if v, err = c.readCode(v); err != nil {
			return c, nil, err
		}
		if err = c.readParam(v); err != nil {
			return c, nil, err
		}
	case Reject:
		t, v, after, err := readTLV(body)
		if err != nil || len(t) != 1 || t[0] < ProblemGeneral || t[0] > ProblemReturnError || len(v) != 1 || len(after) != 0 {
			return c, nil, compErr("reject problem is not one problem code")
		}
		c.ProblemTag, c.Problem = t[0], v[0]
	}
	return c, rest, nil
}

// readCode reads a local (INTEGER) or global (OBJECT IDENTIFIER) code.
func (c *Component) readCode(b []byte) ([]byte, error) {
	t, v, rest, err := readTLV(b)
	if err != nil {
		return nil, compErr("operation or error code: %v", err)
	}
	switch {
	case len(t) == 1 && t[0] == TagInteger:
		n, err := decodeInt(v)
		if err != nil {
			return nil, compErr("operation or error code: %v", err)
		}
		c.OpCode, c.HasOpCode = n, true
	case len(t) == 1 && t[0] == TagOID && len(v) > 0:
		c.GlobalCode = v
	default:
		return nil, compErr("operation or error code is neither INTEGER nor OBJECT IDENTIFIER")
	}
	return rest, nil
}

// readParam takes what is left: nothing, or exactly one element.
func (c *Component) readParam(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, ok := isSingleTLV(b); !ok {
		return compErr("parameter is not one element")
	}
	c.Param = b
	return nil
}

// codeLen is the length of the code element (0 if none).
func (c *Component) codeLen() (int, error) {
	switch {
	case c.HasOpCode && c.GlobalCode != nil:
		return 0, compErr("both a local and a global code")
	case c.HasOpCode:
		return 2 + intLen(c.OpCode), nil
	case c.GlobalCode != nil:
		if len(c.GlobalCode) == 0 || len(c.GlobalCode) > 0x7f {
			return 0, compErr("global code of %d octets", len(c.GlobalCode))
		}
		return 2 + len(c.GlobalCode), nil
	}
	return 0, nil
}

// bodyLen validates c and returns the length of its contents.
func (c *Component) bodyLen() (int, error) {
	n := 3 // invoke id
	if c.NullInvokeID {
		if c.Type != Reject {
			return 0, compErr("NULL invoke id outside a Reject")
		}
		n = 2
	}
	if c.HasLinkedID && c.Type != Invoke {
		return 0, compErr("linked id outside an Invoke")
	}
	if c.Param != nil {
		if _, ok := isSingleTLV(c.Param); !ok {
			return 0, compErr("parameter is not one element")
		}
	}
	code, err := c.codeLen()
	if err != nil {
		return 0, err
	}
	switch c.Type {
	case Invoke, ReturnError:
		if code == 0 {
			return 0, compErr("component 0x%02x without a code", c.Type)
		}
		if c.HasLinkedID {
			n += 3
		}
		n += code + len(c.Param)
	case ReturnResultLast, ReturnResultNotLast:
		if code == 0 {
			if c.Param != nil {
				return 0, compErr("result parameter without an operation code")
			}
			break
		}
		seq := code + len(c.Param)
		n += 1 + lenLen(seq) + seq
	case Reject:
		if code != 0 || c.Param != nil {
			return 0, compErr("Reject with a code or parameter")
		}
		if c.ProblemTag < ProblemGeneral || c.ProblemTag > ProblemReturnError {
			return 0, compErr("Reject problem tag 0x%02x", c.ProblemTag)
		}
		n += 3
	default:
		return 0, compErr("unknown component type 0x%02x", c.Type)
	}
	return n, nil
}

func (c *Component) appendCode(dst []byte) []byte {
	if c.HasOpCode {
		return appendInt(dst, TagInteger, c.OpCode)
	}
	if c.GlobalCode != nil {
		dst = append(dst, TagOID, byte(len(c.GlobalCode)))
		return append(dst, c.GlobalCode...)
	}
	return dst
}

func (c *Component) appendTo(dst []byte, n int) []byte {
	dst = appendHeader(dst, c.Type, n)
	if c.NullInvokeID {
		dst = append(dst, TagNull, 0)
	} else {
		dst = append(dst, TagInteger, 1, byte(c.InvokeID))
	}
	switch c.Type {
	case Invoke, ReturnError:
		if c.HasLinkedID {
			dst = append(dst, TagLinkedID, 1, byte(c.LinkedID))
		}
		dst = c.appendCode(dst)
		dst = append(dst, c.Param...)
	case ReturnResultLast, ReturnResultNotLast:
		code, _ := c.codeLen()
		if code != 0 {
			dst = appendHeader(dst, TagSequence, code+len(c.Param))
			dst = c.appendCode(dst)
			dst = append(dst, c.Param...)
		}
	case Reject:
		dst = append(dst, c.ProblemTag, 1, c.Problem)
	}
	return dst
}

// AppendComponents appends a whole component portion element (tag 0x6c)
// holding cs. On error dst is returned unchanged.
func AppendComponents(dst []byte, cs ...Component) ([]byte, error) {
	total := 0
	for i := range cs {
		n, err := cs[i].bodyLen()
		if err != nil {
			return dst, fmt.Errorf("component %d: %w", i, err)
		}
		total += 1 + lenLen(n) + n
	}
	if total > maxLen {
		return dst, compErr("component portion of %d octets", total)
	}
	dst = appendHeader(dst, TagComponents, total)
	for i := range cs {
		n, _ := cs[i].bodyLen()
		dst = cs[i].appendTo(dst, n)
	}
	return dst, nil
}
