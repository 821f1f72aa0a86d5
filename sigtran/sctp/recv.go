package sctp

import (
	"io"

	"golang.org/x/sys/unix"
)

// pieceReader performs one recvmsg: it fills p, and returns the byte count,
// the msg_flags and the control data received.
type pieceReader interface {
	readPiece(p []byte) (n, flags int, oob []byte, err error)
}

// msgEOR is set by the kernel on the last piece of a record.
const msgEOR = unix.MSG_EOR

// receiver assembles whole messages and notifications from recvmsg pieces.
// Its buffers are reused across calls: receiving a message does not
// allocate; notifications allocate their Event.
type receiver struct {
	nbuf    []byte   // notification being assembled
	scratch []byte   // where the rest of a too-long message is read and dropped
	pending []*Event // notifications that arrived while a message was assembled
	// shutdownSeen: an EventShutdown was reported; the SHUTDOWN_COMP that
	// follows the peer's SHUTDOWN is not reported again.
	shutdownSeen bool
	note         notification
}

func (r *receiver) scratchBuf() []byte {
	if r.scratch == nil {
		r.scratch = make([]byte, 4096)
	}
	return r.scratch
}

// next returns the next whole message (its Data aliasing buf) or event.
func (r *receiver) next(buf []byte, src pieceReader) (Message, *Event, error) {
	if len(r.pending) > 0 {
		ev := r.pending[0]
		r.pending[0] = nil
		r.pending = r.pending[1:]
		return Message{}, ev, nil
	}
	var (
		n        int  // data bytes assembled in buf
		discard  bool // the message did not fit in buf; reading its rest into scratch
		inNotif  bool // a notification is being assembled in nbuf
		info     rcvInfo
		haveInfo bool
	)
	for {
		var p []byte
		switch {
		case inNotif:
			if cap(r.nbuf)-len(r.nbuf) < 256 {
				grown := make([]byte, len(r.nbuf), 2*cap(r.nbuf)+256)
				copy(grown, r.nbuf)
				r.nbuf = grown
			}
			p = r.nbuf[len(r.nbuf):cap(r.nbuf)]
		case discard || n >= len(buf):
			discard = true
			p = r.scratchBuf()
		default:
			p = buf[n:]
		}
		rn, flags, oob, err := src.readPiece(p)
		if err != nil {
			return Message{}, nil, err
		}
		if flags&msgNotification != 0 {
			if inNotif {
				r.nbuf = r.nbuf[:len(r.nbuf)+rn]
			} else {
				// The first piece landed in buf or scratch: move it.
				inNotif = true
				r.nbuf = append(r.nbuf[:0], p[:rn]...)
			}
			if flags&msgEOR == 0 {
				continue
			}
			inNotif = false
			if parseNotification(r.nbuf, &r.note) != nil {
				continue // nothing sensible to report
			}
			if r.note.pdAborted {
				// The partly delivered message will not be completed.
				n, discard, haveInfo = 0, false, false
				continue
			}
			if !r.note.deliver {
				continue
			}
			if r.note.ev.Kind == EventShutdown {
				if r.shutdownSeen && r.note.shutdownComp {
					continue
				}
				r.shutdownSeen = true
			}
			ev := new(Event)
			*ev = r.note.ev
			if n > 0 || discard {
				// Report it after the message being assembled.
				r.pending = append(r.pending, ev)
				continue
			}
			return Message{}, ev, nil
		}
		if inNotif {
			// Data while a notification was incomplete: the kernel does not
			// do this. Drop the notification, and this data with it.
			inNotif, discard = false, true
			continue
		}
		if rn == 0 && flags&msgEOR == 0 {
			// A zero-length read that is no notification: the association
			// is shut down (SCTP has no empty messages).
			return Message{}, nil, io.EOF
		}
		if !haveInfo {
			haveInfo = parseRcvInfo(oob, &info)
		}
		if !discard {
			n += rn
		}
		if flags&msgEOR != 0 {
			if discard {
				return Message{}, nil, ErrMessageTooLong
			}
			return Message{Stream: info.stream, PPID: info.ppid, Unordered: info.unordered, Data: buf[:n]}, nil, nil
		}
	}
}
