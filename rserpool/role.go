package rserpool

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// What the pool element (PE) and pool user (PU) cores share: the names of
// associations and sessions, the outputs they hand their driver, the timers
// and the registrar hunt.
//
// The cores follow the sans-I/O model of the whole project: a core is a
// plain struct; its methods take an input (a decoded message, a timer that
// fired, an association event) with the current time, and queue outputs
// that the driver collects with Ready and carries out in order.

// AssocID names an association between a PE or PU and a registrar. The
// core chooses the values: it hands out one with each Dial, and one when
// the driver reports an association a registrar opened towards the PE
// (PE.RegistrarAccepted).
type AssocID uint32

// SessionID names a session between a PU and a PE: one association that
// carries the application's traffic and the ASAP session-layer messages
// (cookie, cookie echo, business card) side by side. The application (the
// driver's caller) chooses the values; 0 is not a session.
type SessionID uint64

// Send is a message to send: to a registrar (Assoc set) or on a session
// (Session set), always on stream 0 with PPID 11.
type Send struct {
	Assoc   AssocID
	Session SessionID
	Msg     Message
}

func (s Send) String() string {
	if s.Session != 0 {
		return fmt.Sprintf("session %d: %v", s.Session, s.Msg.Type())
	}
	return fmt.Sprintf("assoc %d: %v", s.Assoc, s.Msg.Type())
}

// Dial asks the driver to set up an association to a registrar. The driver
// reports the outcome with RegistrarUp (or RegistrarDown, for a failure)
// under the same ID; the core bounds the attempt with the hunt timer (T5)
// and asks for a Close of the ID when it gives up on it.
type Dial struct {
	Assoc AssocID
	Addr  sctp.Addr
}

// TimerKind says which timer a TimerID names.
type TimerKind uint8

// Timers (RFC 5352, section 5, names them T1 to T7; sigpool uses the
// ones a PE and a PU run).
const (
	// TimerRequest is T1-ENRPrequest: how long a PU waits for a handle
	// resolution response. Key: the request's sequence number.
	TimerRequest TimerKind = iota + 1
	// TimerRegistration is T2-registration: how long a PE waits for a
	// registration response.
	TimerRegistration
	// TimerDeregistration is T3-deregistration.
	TimerDeregistration
	// TimerReregistration is T4-reregistration: the PE's re-registration
	// interval.
	TimerReregistration
	// TimerHunt is T5-serverHunt: the bound on one attempt to reach a
	// registrar, and the back-off before the next round of attempts.
	TimerHunt
	// TimerAnnounce forgets registrars learned from server announces
	// that were not heard again in time. Key: the registrar's server ID.
	TimerAnnounce
)

var timerNames = [...]string{
	TimerRequest:        "T1-request",
	TimerRegistration:   "T2-registration",
	TimerDeregistration: "T3-deregistration",
	TimerReregistration: "T4-reregistration",
	TimerHunt:           "T5-hunt",
	TimerAnnounce:       "announce-expiry",
}

func (k TimerKind) String() string {
	if int(k) < len(timerNames) && timerNames[k] != "" {
		return timerNames[k]
	}
	return fmt.Sprintf("timer(%d)", uint8(k))
}

// TimerID names one timer.
type TimerID struct {
	Kind TimerKind
	Key  uint64
}

func (id TimerID) String() string {
	if id.Key != 0 {
		return fmt.Sprintf("%v/%d", id.Kind, id.Key)
	}
	return id.Kind.String()
}

// TimerOp arms a timer to fire at At, or stops it. Arming an armed timer
// moves it. The driver calls the core's Timer method when an armed timer
// fires; a core ignores a timer it no longer has armed, or that is not due
// yet, so late or duplicate firings are harmless.
type TimerOp struct {
	ID   TimerID
	Stop bool
	At   time.Time
}

// Event is something the layer above learns from a core.
type Event interface{ isEvent() }

// RegistrarConnected: an association to a registrar is up and in use.
type RegistrarConnected struct {
	Assoc AssocID
	Addr  sctp.Addr
}

// RegistrarLost: the registrar association in use is gone (or was given
// up); the core hunts for another.
type RegistrarLost struct{ Assoc AssocID }

// ErrorReceived: a peer sent an ASAP_ERROR.
type ErrorReceived struct {
	Assoc   AssocID
	Session SessionID
	Causes  []ErrorCause
}

// Refused: a message could not be processed and was answered with an
// ASAP_ERROR (Err.Silent: dropped without an answer). For logs and
// counters.
type Refused struct {
	Assoc   AssocID
	Session SessionID
	Err     *Error
}

// CookieReceived (PU): the PE of a session sent a state cookie; the core
// keeps the latest one to echo on failover.
type CookieReceived struct {
	Session SessionID
	Cookie  []byte
}

// CookieEchoReceived (PE): a pool user that failed over to this PE echoed
// the state cookie an earlier PE gave it; the application restores the
// session's state from it.
type CookieEchoReceived struct {
	Session SessionID
	Cookie  []byte
}

// BusinessCardReceived: the peer of a session sent its business card: the
// pool it belongs to and the elements to fail over to.
type BusinessCardReceived struct {
	Session    SessionID
	PoolHandle []byte
	Elements   []PoolElement
}

func (RegistrarConnected) isEvent()   {}
func (RegistrarLost) isEvent()        {}
func (ErrorReceived) isEvent()        {}
func (Refused) isEvent()              {}
func (CookieReceived) isEvent()       {}
func (CookieEchoReceived) isEvent()   {}
func (BusinessCardReceived) isEvent() {}

// Ready is what a core asks its driver to do, in order: set up and close
// registrar associations, send messages, arm and stop timers, and pass
// events up.
type Ready struct {
	Dials  []Dial
	Closes []AssocID
	Sends  []Send
	Timers []TimerOp
	Events []Event
}

// Empty reports whether there is nothing to do.
func (r *Ready) Empty() bool {
	return len(r.Dials) == 0 && len(r.Closes) == 0 && len(r.Sends) == 0 && len(r.Timers) == 0 && len(r.Events) == 0
}

// Counters count what an operator graphs. They only grow.
type Counters struct {
	Received       uint64 // ASAP messages handled
	Refused        uint64 // messages answered with an ASAP_ERROR (or dropped silently)
	Ignored        uint64 // messages that do not apply (wrong role, stale, unknown session)
	Dials          uint64 // registrar association attempts
	HuntFailures   uint64 // attempts that failed or timed out
	Retransmits    uint64 // requests resent on T1, T2 or T3
	Registrations  uint64 // registrations and re-registrations sent (PE)
	Resolutions    uint64 // handle resolutions sent (PU)
	CacheHits      uint64 // selections answered from the cache (PU)
	Unreachables   uint64 // ENDPOINT_UNREACHABLE reports sent (PU)
	KeepAlives     uint64 // endpoint keep-alives answered (PE)
	CookiesSent    uint64
	CookiesEchoed  uint64
	ResolutionFail uint64 // handle resolutions that failed (PU)
}

// HuntConfig configures the registrar hunt (RFC 5352, section 3.6) that PE
// and PU share: the static list of registrars, tried in turn; the
// registrars heard in server announces (when enabled), tried first; one
// attempt bounded by Timeout (T5); after a whole round without success, a
// pause that starts at BackoffMin and doubles up to BackoffMax.
type HuntConfig struct {
	// Registrars is the static list of registrar addresses (port 3863).
	Registrars []sctp.Addr
	// Announces enables registrars learned from ASAP_SERVER_ANNOUNCE
	// (multicast). Off by default: a telecom network configures its
	// registrars.
	Announces bool
	// AnnounceTimeout is how long an announced registrar stays a
	// candidate after its last announce.
	AnnounceTimeout time.Duration
	// Timeout (T5) bounds one association attempt.
	Timeout    time.Duration
	BackoffMin time.Duration
	BackoffMax time.Duration
}

// Defaults of the registrar side of endpoint monitoring, for package enrp
// (the registrar sends the keep-alives and counts the failure reports);
// kept here beside the PE and PU defaults they work with. See doc.go.
const (
	DefaultEndpointKeepAlive        = time.Second
	DefaultEndpointKeepAliveTimeout = time.Second
	DefaultMaxBadPEReports          = 3
)

// Defaults of the hunt; see the table in doc.go.
const (
	DefaultHuntTimeout     = 500 * time.Millisecond
	DefaultHuntBackoffMin  = 100 * time.Millisecond
	DefaultHuntBackoffMax  = 2 * time.Second
	DefaultAnnounceTimeout = 5 * time.Second
)

func (c *HuntConfig) defaults() {
	def(&c.Timeout, DefaultHuntTimeout)
	def(&c.BackoffMin, DefaultHuntBackoffMin)
	def(&c.BackoffMax, DefaultHuntBackoffMax)
	def(&c.AnnounceTimeout, DefaultAnnounceTimeout)
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
}

func def(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// linkState is the state of a core's link to its registrar.
type linkState uint8

const (
	linkIdle    linkState = iota // not started, or stopped
	linkDialing                  // an attempt is under way (T5 armed)
	linkPause                    // backing off before the next round (T5 armed)
	linkUp                       // associated with a registrar
)

type announced struct {
	id      uint32
	addr    sctp.Addr
	expires time.Time
}

// base holds what both roles share: outputs, armed timers, counters and
// the link to the registrar.
type base struct {
	out      Ready
	armed    map[TimerID]time.Time
	counters Counters

	hunt      HuntConfig
	state     linkState
	nextAssoc AssocID
	assoc     AssocID // the attempt under way (dialing) or the association in use (up)
	addr      sctp.Addr
	next      int // index of the next static candidate
	tried     int // attempts in the current round
	backoff   time.Duration
	announced []announced
	// others are associations a registrar opened towards us and that are
	// not (yet) the one in use.
	others map[AssocID]bool
}

func newBase(h HuntConfig) base {
	h.defaults()
	return base{armed: map[TimerID]time.Time{}, hunt: h, backoff: h.BackoffMin, others: map[AssocID]bool{}}
}

// Ready returns the outputs queued since the last call, and clears them.
func (b *base) Ready() Ready {
	r := b.out
	b.out = Ready{}
	return r
}

// Counters returns a copy of the counters.
func (b *base) Counters() Counters { return b.counters }

// Registrar returns the association to the registrar in use, if any.
func (b *base) Registrar() (AssocID, bool) { return b.assoc, b.state == linkUp }

func (b *base) send(s Send)     { b.out.Sends = append(b.out.Sends, s) }
func (b *base) event(e Event)   { b.out.Events = append(b.out.Events, e) }
func (b *base) close(a AssocID) { b.out.Closes = append(b.out.Closes, a) }

func (b *base) toRegistrar(m Message) bool {
	if b.state != linkUp {
		return false
	}
	b.send(Send{Assoc: b.assoc, Msg: m})
	return true
}

func (b *base) arm(id TimerID, at time.Time) {
	b.armed[id] = at
	b.out.Timers = append(b.out.Timers, TimerOp{ID: id, At: at})
}

func (b *base) stop(id TimerID) {
	if _, ok := b.armed[id]; ok {
		delete(b.armed, id)
		b.out.Timers = append(b.out.Timers, TimerOp{ID: id, Stop: true})
	}
}

// fired reports whether id is armed and due at now, and disarms it.
func (b *base) fired(now time.Time, id TimerID) bool {
	at, ok := b.armed[id]
	if !ok || now.Before(at) {
		return false
	}
	delete(b.armed, id)
	return true
}

// startHunt starts looking for a registrar, at once.
func (b *base) startHunt(now time.Time) {
	if b.state != linkIdle {
		return
	}
	b.tried = 0
	b.dial(now)
}

// candidates returns the registrars to try in one round: announced ones
// first (most recently heard first), then the static list.
func (b *base) candidates() []sctp.Addr {
	c := make([]sctp.Addr, 0, len(b.announced)+len(b.hunt.Registrars))
	for i := len(b.announced) - 1; i >= 0; i-- {
		c = append(c, b.announced[i].addr)
	}
	return append(c, b.hunt.Registrars...)
}

// dial starts the next attempt, or the back-off pause after a round.
func (b *base) dial(now time.Time) {
	cands := b.candidates()
	if len(cands) == 0 || b.tried >= len(cands) {
		// A whole round failed (or nothing to try yet): pause.
		b.state = linkPause
		b.tried = 0
		b.arm(TimerID{Kind: TimerHunt}, now.Add(b.backoff))
		b.backoff = min(2*b.backoff, b.hunt.BackoffMax)
		return
	}
	if b.next >= len(cands) {
		b.next = 0
	}
	addr := cands[b.next]
	b.next++
	b.tried++
	b.nextAssoc++
	b.assoc, b.addr, b.state = b.nextAssoc, addr, linkDialing
	b.counters.Dials++
	b.out.Dials = append(b.out.Dials, Dial{Assoc: b.assoc, Addr: addr})
	b.arm(TimerID{Kind: TimerHunt}, now.Add(b.hunt.Timeout))
}

// huntTimer handles T5: an attempt timed out, or a pause ended.
func (b *base) huntTimer(now time.Time) {
	switch b.state {
	case linkDialing:
		b.counters.HuntFailures++
		b.close(b.assoc)
		b.dial(now)
	case linkPause:
		b.dial(now)
	}
}

// linkUp handles an association that came up; it reports whether it is
// now the registrar association in use (the caller then starts its
// protocol on it).
func (b *base) linkUp(now time.Time, a AssocID) bool {
	if b.state != linkDialing || a != b.assoc {
		if !b.others[a] {
			b.close(a) // a late attempt we gave up on
		}
		return false
	}
	b.stop(TimerID{Kind: TimerHunt})
	b.state = linkUp
	b.backoff = b.hunt.BackoffMin
	b.tried = 0
	b.event(RegistrarConnected{Assoc: a, Addr: b.addr})
	return true
}

// linkDown handles the end (or failed setup) of association a; it reports
// whether that was the association in use or being set up, in which case
// the hunt goes on.
func (b *base) linkDown(now time.Time, a AssocID) bool {
	if b.others[a] {
		delete(b.others, a)
		return false
	}
	if a != b.assoc {
		return false
	}
	switch b.state {
	case linkDialing:
		b.counters.HuntFailures++
		b.stop(TimerID{Kind: TimerHunt})
		b.dial(now)
		return true
	case linkUp:
		b.event(RegistrarLost{Assoc: a})
		b.state = linkIdle
		b.tried = 0
		b.dial(now)
		return true
	}
	return false
}

// dropRegistrar gives up the registrar in use (it does not answer) and
// hunts for another, starting with the next candidate.
func (b *base) dropRegistrar(now time.Time) {
	if b.state != linkUp {
		return
	}
	b.close(b.assoc)
	b.event(RegistrarLost{Assoc: b.assoc})
	b.state = linkIdle
	b.tried = 0
	b.dial(now)
}

// accepted names an association that a registrar opened towards us.
func (b *base) accepted() AssocID {
	b.nextAssoc++
	b.others[b.nextAssoc] = true
	return b.nextAssoc
}

// adopt makes association a (opened by a registrar, see accepted) the one
// in use, closing the previous one.
func (b *base) adopt(now time.Time, a AssocID, addr sctp.Addr) {
	if b.state == linkUp && b.assoc == a {
		return
	}
	switch b.state {
	case linkUp:
		b.close(b.assoc)
		b.event(RegistrarLost{Assoc: b.assoc})
	case linkDialing:
		b.close(b.assoc)
	}
	b.stop(TimerID{Kind: TimerHunt})
	delete(b.others, a)
	b.assoc, b.addr, b.state = a, addr, linkUp
	b.backoff = b.hunt.BackoffMin
	b.tried = 0
	b.event(RegistrarConnected{Assoc: a, Addr: addr})
}

// stopLink closes the registrar association and stops hunting.
func (b *base) stopLink() {
	switch b.state {
	case linkUp, linkDialing:
		b.close(b.assoc)
	}
	b.stop(TimerID{Kind: TimerHunt})
	b.state = linkIdle
}

// maxAnnounced bounds the registrars remembered from announces.
const maxAnnounced = 16

// announce handles an ASAP_SERVER_ANNOUNCE heard from src (the source
// address and port of the datagram). An announce without an SCTP
// transport names the registrar by its source: rsplib's registrars send
// their announces from the port number their ASAP endpoint has (a random
// one when not configured), and take the registrar's port from there
// too; a source port of 0 (unknown) means the registered port, 3863.
func (b *base) announce(now time.Time, m *ServerAnnounce, src netip.AddrPort) {
	if !b.hunt.Announces {
		b.counters.Ignored++
		return
	}
	addr := sctp.Addr{Port: Port}
	for _, t := range m.Transports {
		if t.Kind == ParamSCTPTransport {
			addr = sctp.Addr{Port: t.Port, IPs: append([]netip.Addr(nil), t.Addrs...)}
			break
		}
	}
	if len(addr.IPs) == 0 {
		if !src.Addr().IsValid() {
			b.counters.Ignored++
			return
		}
		addr.IPs = []netip.Addr{src.Addr()}
		if src.Port() != 0 {
			addr.Port = src.Port()
		}
	}
	for i, a := range b.announced {
		if a.id == m.ServerID {
			b.announced = append(b.announced[:i], b.announced[i+1:]...)
			break
		}
	}
	if len(b.announced) >= maxAnnounced {
		b.stop(TimerID{Kind: TimerAnnounce, Key: uint64(b.announced[0].id)})
		b.announced = b.announced[1:]
	}
	exp := now.Add(b.hunt.AnnounceTimeout)
	b.announced = append(b.announced, announced{id: m.ServerID, addr: addr, expires: exp})
	b.arm(TimerID{Kind: TimerAnnounce, Key: uint64(m.ServerID)}, exp)
	b.counters.Received++
	if b.state == linkPause {
		// A registrar just announced itself: try it now.
		b.stop(TimerID{Kind: TimerHunt})
		b.tried = 0
		b.next = 0
		b.dial(now)
	}
}

func (b *base) announceTimer(id TimerID) {
	for i, a := range b.announced {
		if uint64(a.id) == id.Key {
			b.announced = append(b.announced[:i], b.announced[i+1:]...)
			return
		}
	}
}

// refuse answers a message that could not be processed with an ASAP_ERROR
// naming the cause (nothing when the RFC wants it dropped silently).
func (b *base) refuse(a AssocID, s SessionID, err *Error) {
	b.counters.Refused++
	if !err.Silent {
		b.send(Send{Assoc: a, Session: s, Msg: &ErrorMessage{Causes: []ErrorCause{err.ErrorCause()}}})
	}
	b.event(Refused{Assoc: a, Session: s, Err: err})
}

// decode decodes b for a core; failures and skip-and-report parameters are
// answered, and m is nil when there is nothing more to do.
func (b *base) decode(a AssocID, s SessionID, raw []byte) Message {
	m, report, err := DecodeMessage(raw)
	if err != nil {
		e, ok := err.(*Error)
		if !ok {
			e = errf(CauseUnspecified, nil, "%v", err)
		}
		if len(raw) > 0 && MessageType(raw[0]) == MsgError {
			// Never answer an error with an error.
			c := *e
			c.Silent = true
			e = &c
		}
		b.refuse(a, s, e)
		return nil
	}
	if len(report) > 0 {
		causes := make([]ErrorCause, len(report))
		for i, r := range report {
			causes[i] = ErrorCause{Code: CauseUnrecognizedParameter, Info: r.TLV}
		}
		b.send(Send{Assoc: a, Session: s, Msg: &ErrorMessage{Causes: causes}})
	}
	return m
}
