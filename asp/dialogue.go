package asp

import (
	"errors"
	"sync"
	"time"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// Errors of a Dialogue's methods.
var (
	// ErrOver: the dialogue has ended (End, Abort or timeout).
	ErrOver = errors.New("asp: dialogue is over")
	// ErrNotAddressed: an adopted dialogue cannot send before the
	// network's first message after the hand-over told it where to.
	ErrNotAddressed = errors.New("asp: adopted dialogue has no addresses yet")
)

// Dialogue is one TCAP dialogue this server owns: started here by a
// network Begin, or adopted from another server through a cookie echo. Its
// methods are safe for concurrent use.
type Dialogue struct {
	s       *Server
	tid     uint32
	adopted bool

	// guarded by s.mu
	over      bool
	addressed bool
	owes      bool         // the network waits for this server's next message
	remote    tcap.TID     // the network's transaction id
	in        sccp.Message // the last SCCP header received (GTs copied, no data)
	u         m3ua.UserData
	via       m3ua.AssocID // the association the network's last message came in on
	last      time.Time
	timer     *time.Timer

	// Value is the application's, to keep its own state; the server does
	// not touch it.
	Value any
	vmu   sync.Mutex
}

// TID returns the dialogue's transaction id here (the OTID this server
// sends): its first two octets are the tag of the server that began it.
func (d *Dialogue) TID() uint32 { return d.tid }

// Adopted reports whether the dialogue was handed over by a cookie echo.
func (d *Dialogue) Adopted() bool { return d.adopted }

// Lock and Unlock guard Value for applications that touch it from several
// goroutines.
func (d *Dialogue) Lock()   { d.vmu.Lock() }
func (d *Dialogue) Unlock() { d.vmu.Unlock() }

// SLS returns the signalling link selection the dialogue's DATA is sent
// with (the one of the network's Begin, for the whole dialogue).
func (d *Dialogue) SLS() uint8 {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	return d.u.SLS
}

// Continue sends a TCAP Continue: dialogue is a dialogue portion TLV (tag
// 0x6b) or nil, components a component portion TLV (tag 0x6c, see
// tcap.AppendComponents) or nil.
func (d *Dialogue) Continue(dialogue, components []byte) error {
	return d.send(tcap.Message{Kind: tcap.Continue, Dialogue: dialogue, Components: components}, false)
}

// End sends a TCAP End and forgets the dialogue (gateways are told with an
// empty checkpoint).
func (d *Dialogue) End(dialogue, components []byte) error {
	return d.send(tcap.Message{Kind: tcap.End, Dialogue: dialogue, Components: components}, true)
}

// Abort sends a TCAP Abort (a user abort; uabort is its dialogue portion
// TLV, or nil for none) and forgets the dialogue.
func (d *Dialogue) Abort(uabort []byte) error {
	return d.send(tcap.Message{Kind: tcap.Abort, UAbort: uabort}, true)
}

// Checkpoint sends state (opaque, at most MaxState octets) as an ASAP
// Cookie to every gateway, so that a gateway can hand the dialogue to
// another server if this one goes. Send it before the message that
// completes the step, so a gateway holds it by the time the network
// answers. It fails when the dialogue is over, or when no gateway could be
// sent the cookie.
func (d *Dialogue) Checkpoint(state []byte) error {
	if len(state) == 0 {
		return errors.New("asp: an empty checkpoint means the dialogue is over; use End or Abort")
	}
	s := d.s
	s.mu.Lock()
	over, sls := d.over, d.u.SLS
	s.mu.Unlock()
	if over {
		return ErrOver
	}
	return s.sendCookie(d.tid, sls, state)
}

// send completes m with the dialogue's transaction ids and addresses and
// sends it; final ends the dialogue.
func (d *Dialogue) send(m tcap.Message, final bool) error {
	s := d.s
	s.mu.Lock()
	if d.over {
		s.mu.Unlock()
		return ErrOver
	}
	if !d.addressed {
		s.mu.Unlock()
		return ErrNotAddressed
	}
	if m.Kind == tcap.Continue {
		m.OTID, m.HasOTID = tcap.TID32(d.tid), true
	}
	m.DTID, m.HasDTID = d.remote, true
	in, u, via := d.in, d.u, d.via
	if final {
		s.forget(d)
	} else {
		d.last = s.now()
		d.owes = false
		d.timer.Reset(s.cfg.DialogueTimeout)
	}
	s.mu.Unlock()
	err := s.sendTCAP(via, &in, u, &m)
	if final {
		s.sendCookie(d.tid, u.SLS, nil)
	}
	return err
}
