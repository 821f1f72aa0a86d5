package enrp

import (
	"fmt"
	"time"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// ConnID names one association of the registrar: with a pool element or
// pool user (ASAP) or with a peer registrar (ENRP). The core chooses the
// values: one with each Dial, one for each association the driver reports
// accepted.
type ConnID uint64

// ConnKind says what an association carries.
type ConnKind uint8

// Association kinds.
const (
	ASAP ConnKind = iota + 1 // PPID 11, port 3863
	ENRP                     // PPID 12, port 9901
)

func (k ConnKind) String() string {
	switch k {
	case ASAP:
		return "asap"
	case ENRP:
		return "enrp"
	}
	return fmt.Sprintf("ConnKind(%d)", uint8(k))
}

// Dial asks the driver to set up an association; the driver reports the
// outcome with Up or Down under the same ID.
type Dial struct {
	Conn ConnID
	Kind ConnKind
	Addr sctp.Addr
}

// Send is one message to send on stream 0 of association Conn: ASAP (PPID
// 11) or ENRP (PPID 12), whichever is set.
type Send struct {
	Conn ConnID
	ASAP rserpool.Message
	ENRP Message
}

// TimerKind says which timer a TimerID names.
type TimerKind uint8

// Timers.
const (
	// TimerKeepAlive: send the next endpoint keep-alive to an element.
	// Key: the element's serial.
	TimerKeepAlive TimerKind = iota + 1
	// TimerKeepAliveTimeout: the element did not acknowledge in time.
	TimerKeepAliveTimeout
	// TimerHeartbeat: the peer heartbeat cycle (presence to every peer).
	TimerHeartbeat
	// TimerLastHeard: max-time-last-heard ran out for a peer (Key: its
	// server ID); a presence with the R flag goes out.
	TimerLastHeard
	// TimerNoResponse: max-time-no-response ran out: the peer is dead.
	TimerNoResponse
	// TimerTakeover: the takeover expiry of a target (Key: its ID).
	TimerTakeover
	// TimerExpiry: the next registration lifetime runs out.
	TimerExpiry
	// TimerMentor: the mentor hunt is over.
	TimerMentor
	// TimerRedial: dial a static peer again (Key: its index).
	TimerRedial
)

var timerNames = [...]string{"", "keepalive", "keepalive-timeout", "heartbeat", "last-heard",
	"no-response", "takeover", "expiry", "mentor", "redial"}

func (k TimerKind) String() string {
	if int(k) < len(timerNames) && k != 0 {
		return timerNames[k]
	}
	return fmt.Sprintf("TimerKind(%d)", uint8(k))
}

// TimerID names one timer.
type TimerID struct {
	Kind TimerKind
	Key  uint64
}

func (id TimerID) String() string { return fmt.Sprintf("%v/%d", id.Kind, id.Key) }

// TimerOp arms a timer to fire at At, or stops it. Arming an armed timer
// moves it. Late or duplicate firings are harmless: the core ignores a
// timer it has not armed or that is not due.
type TimerOp struct {
	ID   TimerID
	Stop bool
	At   time.Time
}

// Ready is what the core asks its driver to do, in order: dial and close
// associations, send messages, arm and stop timers, and pass events up.
type Ready struct {
	Dials  []Dial
	Closes []ConnID
	Sends  []Send
	Timers []TimerOp
	Events []Event
}

// Empty reports whether there is nothing to do.
func (r *Ready) Empty() bool {
	return len(r.Dials) == 0 && len(r.Closes) == 0 && len(r.Sends) == 0 && len(r.Timers) == 0 && len(r.Events) == 0
}

// Event is something the layer above (logs, metrics, alarms) learns.
type Event interface{ event() }

// Registered: an element registered (Initial) or re-registered here, or,
// with Conn 0, was learned or updated from a peer registrar (a handle
// update or table). Registered, Deregistered and Removed together follow
// every element in and out of the handlespace, for an embedder that keeps
// its own view.
type Registered struct {
	Conn    ConnID
	Handle  []byte
	ID      uint32
	Home    uint32 // its home registrar
	Initial bool
	Element rserpool.PoolElement
}

// Deregistered: an element deregistered here.
type Deregistered struct {
	Handle []byte
	ID     uint32
}

// RemoveReason says why an element left the handlespace without
// deregistering.
type RemoveReason uint8

// Reasons.
const (
	RemovedKeepAlive   RemoveReason = iota + 1 // no keep-alive ack in time
	RemovedConnLost                            // its association ended
	RemovedReports                             // MAX-BAD-PE-REPORT pool users reported it
	RemovedExpired                             // its registration life ran out
	RemovedByPeer                              // its home registrar said it left (handle update)
	RemovedResync                              // its home registrar no longer has it (resynchronisation)
	RemovedTagConflict                         // another registrar took an element with its tag at the same time
)

var removeReasons = [...]string{"", "keep-alive timeout", "association lost", "unreachable reports", "expired",
	"deleted by its home", "resynchronisation", "tag conflict"}

func (r RemoveReason) String() string {
	if int(r) < len(removeReasons) && r != 0 {
		return removeReasons[r]
	}
	return fmt.Sprintf("RemoveReason(%d)", uint8(r))
}

// Removed: an element left the handlespace without deregistering here:
// one this registrar was home of (Home is this registrar), or one of a
// peer's (Home is the peer; RemovedByPeer, RemovedResync, RemovedExpired).
type Removed struct {
	Handle []byte
	ID     uint32
	Home   uint32
	Reason RemoveReason
}

// Refused: a message was answered with an Operation Error (or, Silent,
// dropped), or a registration was rejected.
type Refused struct {
	Conn ConnID
	Err  *rserpool.Error
}

// RateLimited: a handle resolution or report was dropped by the rate limit.
type RateLimited struct {
	Conn ConnID
	Type rserpool.MessageType
}

// Reported: a pool user reported an element unreachable; Count is the
// number of different reporters within the window.
type Reported struct {
	Conn   ConnID
	Handle []byte
	ID     uint32
	Count  int
}

// PeerUp: a peer registrar was heard for the first time (or again after
// it was declared dead).
type PeerUp struct {
	ServerID uint32
	Conn     ConnID
}

// PeerDead: a peer did not answer within max-time-no-response.
type PeerDead struct{ ServerID uint32 }

// MentorFound: the starting registrar takes its handlespace from this peer.
type MentorFound struct{ ServerID uint32 }

// Synchronized: a (mentor's or a resynchronisation's) handle table arrived
// in full.
type Synchronized struct {
	ServerID uint32
	Elements int
	Resync   bool
}

// ResyncStarted: a peer's presence carried a checksum that differs from
// the one computed over its elements here.
type ResyncStarted struct {
	ServerID    uint32
	Theirs, Our uint16
}

// TakeoverStarted: this registrar started to take over Target's elements.
type TakeoverStarted struct{ Target uint32 }

// TakeoverDone: Target's elements now have Winner as their home; Elements
// is how many.
type TakeoverDone struct {
	Target, Winner uint32
	Elements       int
}

func (Registered) event()      {}
func (Deregistered) event()    {}
func (Removed) event()         {}
func (Refused) event()         {}
func (RateLimited) event()     {}
func (Reported) event()        {}
func (PeerUp) event()          {}
func (PeerDead) event()        {}
func (MentorFound) event()     {}
func (Synchronized) event()    {}
func (ResyncStarted) event()   {}
func (TakeoverStarted) event() {}
func (TakeoverDone) event()    {}

// Counters count what an operator graphs. They only grow.
type Counters struct {
	ASAPIn, ASAPOut [16]uint64 // per ASAP message type
	ENRPIn, ENRPOut [16]uint64 // per ENRP message type
	Causes          [16]uint64 // Operation Error causes sent (ASAP and ENRP)
	Undecodable     uint64
	RateLimited     uint64
	Removed         [8]uint64 // per RemoveReason
	Takeovers       uint64    // takeovers this registrar won
	Resyncs         uint64
	PeersDead       uint64
	// Registrations accepted here (initial and re-registrations);
	// Resolutions: handle resolutions answered (ASAP and in-process);
	// Reports: endpoint-unreachable reports taken (ASAP and in-process);
	// TagConflicts: registrations refused because their tag was in use,
	// and elements of this registrar removed because another registrar
	// took one with the same tag at the same time.
	Registrations uint64
	Resolutions   uint64
	Reports       uint64
	TagConflicts  uint64
	// ChecksumMismatches: presences whose checksum differed from ours
	// (each starts a resynchronisation unless one is under way).
	ChecksumMismatches uint64
}
