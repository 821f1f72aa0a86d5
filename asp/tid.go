package asp

import "errors"

// ErrNoTID is returned when every transaction id of the server's tag is in
// use (65536 dialogues of its own at once).
var ErrNoTID = errors.New("asp: no free transaction id under this tag")

// Tag returns the tag of a PE identifier: its low 16 bits, the first two
// octets of every transaction id the element allocates (docs/gateway.md).
func Tag(peID uint32) uint16 { return uint16(peID) }

// TagOf returns the tag of a 4-octet transaction id.
func TagOf(tid uint32) uint16 { return uint16(tid >> 16) }

// TIDs allocates 4-octet transaction ids: the first two octets are the tag,
// the last two a counter that skips the ids still in use. It holds no lock
// and no clock; the caller says what is in use.
type TIDs struct {
	tag  uint16
	next uint16
}

// NewTIDs returns an allocator for tag, counting from start (a random start
// keeps a restarted server from reusing the ids of its last life first).
func NewTIDs(tag uint16, start uint16) TIDs { return TIDs{tag: tag, next: start} }

// Tag returns the allocator's tag.
func (t *TIDs) Tag() uint16 { return t.tag }

// SetTag changes the tag (after a new PE identifier was drawn); the counter
// goes on.
func (t *TIDs) SetTag(tag uint16) { t.tag = tag }

// Next returns the next transaction id whose counter is free by inUse, or
// ErrNoTID after trying all 65536.
func (t *TIDs) Next(inUse func(tid uint32) bool) (uint32, error) {
	for i := 0; i < 1<<16; i++ {
		tid := uint32(t.tag)<<16 | uint32(t.next)
		t.next++
		if inUse == nil || !inUse(tid) {
			return tid, nil
		}
	}
	return 0, ErrNoTID
}
