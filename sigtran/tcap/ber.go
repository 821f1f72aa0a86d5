package tcap

import "fmt"

// maxLen is the longest content a length field may announce: two long-form
// octets, far more than any SCCP message carries.
const maxLen = 0xffff

// readTLV splits b into the first element's tag octets, its contents and
// what follows. Tags may be of several octets (the low five bits of the
// first all ones); lengths are definite, short or long form with at most
// two octets, or indefinite for a constructed element: its contents then
// end at the end-of-contents octets 00 00, which are part of the element
// but not of the contents returned.
func readTLV(b []byte) (tag []byte, content, rest []byte, err error) {
	return readTLVDepth(b, 0)
}

// maxDepth bounds the nesting of elements of indefinite length.
const maxDepth = 32

func readTLVDepth(b []byte, depth int) (tag []byte, content, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: missing element", ErrBadlyFormatted)
	}
	i := 1
	if b[0]&0x1f == 0x1f {
		for {
			if i >= len(b) {
				return nil, nil, nil, fmt.Errorf("%w: tag truncated", ErrBadlyFormatted)
			}
			if i > 4 {
				return nil, nil, nil, fmt.Errorf("%w: tag longer than 5 octets", ErrBadlyFormatted)
			}
			c := b[i]
			i++
			if c&0x80 == 0 {
				break
			}
		}
	}
	tag = b[:i]
	if i >= len(b) {
		return nil, nil, nil, fmt.Errorf("%w: length of element 0x%02x missing", ErrBadlyFormatted, b[0])
	}
	l := int(b[i])
	i++
	if l&0x80 != 0 {
		n := l & 0x7f
		switch n {
		case 0:
			return indefinite(b, tag, i, depth)
		case 1, 2:
		default:
			return nil, nil, nil, fmt.Errorf("%w: length of %d octets in element 0x%02x", ErrBadlyFormatted, n, b[0])
		}
		if i+n > len(b) {
			return nil, nil, nil, fmt.Errorf("%w: length of element 0x%02x truncated", ErrBadlyFormatted, b[0])
		}
		l = 0
		for _, c := range b[i : i+n] {
			l = l<<8 | int(c)
		}
		i += n
	}
	if l > len(b)-i {
		return nil, nil, nil, fmt.Errorf("%w: element 0x%02x of %d octets, %d left", ErrBadlyFormatted, b[0], l, len(b)-i)
	}
	return tag, b[i : i+l], b[i+l:], nil
}

// isSingleTLV reports whether b is exactly one well-formed element, and
// returns its first tag octet.
func isSingleTLV(b []byte) (byte, bool) {
	_, _, rest, err := readTLV(b)
	if err != nil || len(rest) != 0 {
		return 0, false
	}
	return b[0], true
}

// lenLen is the number of octets the minimal definite length of n takes.
func lenLen(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n <= 0xff:
		return 2
	default:
		return 3
	}
}

// appendHeader appends a one-octet tag and the minimal definite length.
func appendHeader(dst []byte, tag byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, tag, byte(n))
	case n <= 0xff:
		return append(dst, tag, 0x81, byte(n))
	default:
		return append(dst, tag, 0x82, byte(n>>8), byte(n))
	}
}

// decodeInt decodes a BER INTEGER's contents of 1..8 octets, minimal.
func decodeInt(c []byte) (int64, error) {
	if len(c) == 0 || len(c) > 8 {
		return 0, fmt.Errorf("integer of %d octets", len(c))
	}
	if len(c) > 1 && ((c[0] == 0 && c[1]&0x80 == 0) || (c[0] == 0xff && c[1]&0x80 != 0)) {
		return 0, fmt.Errorf("integer not minimally encoded")
	}
	v := int64(int8(c[0]))
	for _, x := range c[1:] {
		v = v<<8 | int64(x)
	}
	return v, nil
}

// intLen is the number of octets of v's minimal two's complement encoding.
func intLen(v int64) int {
	n := 1
	for v > 127 || v < -128 {
		v >>= 8
		n++
	}
	return n
}

func appendInt(dst []byte, tag byte, v int64) []byte {
	n := intLen(v)
	dst = append(dst, tag, byte(n))
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// indefinite reads the contents of a constructed element of indefinite
// length whose contents start at b[i]: whole elements up to the
// end-of-contents octets.
func indefinite(b, tag []byte, i, depth int) ([]byte, []byte, []byte, error) {
	if b[0]&0x20 == 0 {
		return nil, nil, nil, fmt.Errorf("%w: indefinite length in primitive element 0x%02x", ErrBadlyFormatted, b[0])
	}
	if depth >= maxDepth {
		return nil, nil, nil, fmt.Errorf("%w: elements of indefinite length nested deeper than %d", ErrBadlyFormatted, maxDepth)
	}
	pos := i
	for {
		if pos+2 > len(b) {
			return nil, nil, nil, fmt.Errorf("%w: element 0x%02x of indefinite length without end of contents", ErrBadlyFormatted, b[0])
		}
		if b[pos] == 0 {
			if b[pos+1] != 0 {
				return nil, nil, nil, fmt.Errorf("%w: end of contents with length %d", ErrBadlyFormatted, b[pos+1])
			}
			return tag, b[i:pos], b[pos+2:], nil
		}
		_, _, r, err := readTLVDepth(b[pos:], depth+1)
		if err != nil {
			return nil, nil, nil, err
		}
		pos = len(b) - len(r)
	}
}
