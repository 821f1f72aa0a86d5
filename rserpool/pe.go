package rserpool

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// PEConfig configures a pool element. Zero durations and counts take the
// defaults in the table of doc.go.
type PEConfig struct {
	// PoolHandle is the pool to register in.
	PoolHandle []byte
	// Element is what is registered: the PE identifier (0: take the one
	// the registrar answers with), the user transport the pool users reach
	// the PE on, the policy with its values, and optionally the ASAP
	// transport registrars reach the PE on. HomeRegistrar and
	// RegistrationLife are filled in by the core.
	Element PoolElement
	// Registration (T2) bounds the wait for a registration response;
	// Deregistration (T3) the wait for a deregistration response.
	Registration   time.Duration
	Deregistration time.Duration
	// Retries (MAX-REQUEST-RETRANSMIT) is how often a request is resent
	// before the registrar is given up (registration) or the request is
	// (deregistration). -1 means never resend.
	Retries int
	// Reregistration (T4) is the re-registration interval.
	Reregistration time.Duration
	// Life is the registration life announced to the registrar; default
	// three re-registration intervals, so that a registrar drops the PE
	// only after it missed that many re-registrations.
	Life time.Duration
	// LoadStep: under an adaptive policy, a load change by more than
	// LoadStep since the last registration is registered at once rather
	// than at the next T4. 0 means the default; MaxLoad turns it off.
	LoadStep uint32
	// Hunt configures the registrar hunt.
	Hunt HuntConfig
}

// Defaults of the PE; see the table in doc.go.
const (
	DefaultRegistration   = 500 * time.Millisecond
	DefaultDeregistration = 500 * time.Millisecond
	DefaultRetries        = 2
	DefaultReregistration = 5 * time.Second
	DefaultLoadStep       = MaxLoad / 20 // 5 %
)

func (c *PEConfig) defaults() {
	def(&c.Registration, DefaultRegistration)
	def(&c.Deregistration, DefaultDeregistration)
	def(&c.Reregistration, DefaultReregistration)
	def(&c.Life, 3*c.Reregistration)
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	} else if c.Retries < 0 {
		c.Retries = 0
	}
	if c.LoadStep == 0 {
		c.LoadStep = DefaultLoadStep
	}
	c.Hunt.defaults()
}

// PEState is the registration state of a pool element.
type PEState uint8

const (
	PEIdle          PEState = iota // not started
	PEHunting                      // no registrar association yet
	PERegistering                  // registration sent, waiting (T2)
	PERegistered                   // registered (T4 armed)
	PEDeregistering                // deregistration sent, waiting (T3)
	PEStopped                      // deregistered, or stopped
)

func (s PEState) String() string {
	return [...]string{"idle", "hunting", "registering", "registered", "deregistering", "stopped"}[s]
}

// Registered (PE): the registrar accepted the registration (or a
// re-registration: Initial is false).
type Registered struct {
	Assoc   AssocID
	ID      uint32
	Initial bool
}

// RegistrationRejected (PE): the registrar refused the registration. The
// core tries again after the re-registration interval.
type RegistrationRejected struct {
	Assoc  AssocID
	Causes []ErrorCause
}

// Deregistered (PE): the deregistration is done (answered, timed out, or
// without a registrar); the PE is stopped.
type Deregistered struct{ Answered bool }

// HomeChanged (PE): a registrar claimed the PE with the H flag of an
// endpoint keep-alive and is now its home registrar.
type HomeChanged struct {
	Assoc    AssocID
	ServerID uint32
}

func (Registered) isEvent()           {}
func (RegistrationRejected) isEvent() {}
func (Deregistered) isEvent()         {}
func (HomeChanged) isEvent()          {}

// PE is the sans-I/O core of a pool element: registration with its home
// registrar, re-registration, deregistration, endpoint keep-alives, the
// registrar hunt, and the session side (cookies to its pool users, cookie
// echoes and business cards from them). Not safe for concurrent use.
type PE struct {
	base
	cfg      PEConfig
	state    PEState
	id       uint32
	home     uint32 // home registrar's server ID, when known
	attempts int    // sends of the current request
	once     bool   // registered at least once
	sentLoad uint32 // load in the last registration sent
	dirty    bool   // load moved past the step while a request was pending
}

// NewPE returns a pool element core.
func NewPE(cfg PEConfig) *PE {
	cfg.defaults()
	cfg.PoolHandle = clone(cfg.PoolHandle)
	cfg.Element.Policy = cfg.Element.Policy.Normalize()
	return &PE{base: newBase(cfg.Hunt), cfg: cfg, id: cfg.Element.ID}
}

// State returns the registration state.
func (p *PE) State() PEState { return p.state }

// ID returns the PE identifier (0 until a registrar assigned one, if the
// configuration left it 0).
func (p *PE) ID() uint32 { return p.id }

// Home returns the home registrar's server ID (0 while unknown).
func (p *PE) Home() uint32 { return p.home }

// Start starts the registrar hunt; registration follows at once on the
// first association.
func (p *PE) Start(now time.Time) {
	if p.state != PEIdle {
		return
	}
	p.state = PEHunting
	p.startHunt(now)
}

// RegistrarUp: the association a (from a Dial) is established.
func (p *PE) RegistrarUp(now time.Time, a AssocID) {
	if p.state == PEStopped || p.state == PEIdle {
		p.close(a)
		return
	}
	if p.linkUp(now, a) {
		p.home = 0
		p.register(now, true)
	}
}

// RegistrarDown: association a ended, or could not be set up.
func (p *PE) RegistrarDown(now time.Time, a AssocID) {
	inUse := p.base.state != linkIdle && a == p.assoc && !p.others[a]
	if !inUse || p.state == PEStopped || p.state == PEIdle {
		p.linkDown(now, a)
		return
	}
	if p.state == PEDeregistering {
		p.base.state = linkIdle // nothing left to close
		p.finish(false)
		return
	}
	p.stop(TimerID{Kind: TimerRegistration})
	p.stop(TimerID{Kind: TimerReregistration})
	p.linkDown(now, a)
	p.state = PEHunting
}

// RegistrarAccepted: a registrar opened an association to the PE's ASAP
// transport (to take it over). The returned ID names it from now on.
func (p *PE) RegistrarAccepted(now time.Time) AssocID { return p.accepted() }

// Announce: an ASAP_SERVER_ANNOUNCE arrived from src, the datagram's
// source address and port (ignored unless
// announces are enabled).
func (p *PE) Announce(now time.Time, m *ServerAnnounce, src netip.AddrPort) {
	if p.state == PEStopped {
		return
	}
	p.announce(now, m, src)
}

// SetLoad sets the load the PE registers with (adaptive policies). A
// change by more than the configured step is registered at once.
func (p *PE) SetLoad(now time.Time, load uint32) {
	p.cfg.Element.Policy.Load = load
	if !p.cfg.Element.Policy.Type.Adaptive() || p.cfg.LoadStep == MaxLoad {
		return
	}
	d := load - p.sentLoad
	if load < p.sentLoad {
		d = p.sentLoad - load
	}
	if d <= p.cfg.LoadStep {
		return
	}
	switch p.state {
	case PERegistered:
		p.register(now, true)
	case PERegistering:
		p.dirty = true
	}
}

// Stop deregisters the PE (shutdown) and then closes the registrar
// association; Deregistered follows.
func (p *PE) Stop(now time.Time) {
	switch p.state {
	case PEStopped, PEDeregistering:
		return
	case PERegistered, PERegistering:
		if p.id == 0 {
			break // no identifier yet: nothing the registrar could name
		}
		// Even a registration not answered yet may have been taken:
		// undo it rather than leave it to its lifetime.
		p.stop(TimerID{Kind: TimerRegistration})
		p.stop(TimerID{Kind: TimerReregistration})
		p.state = PEDeregistering
		p.attempts = 0
		p.deregister(now)
		return
	}
	p.finish(false)
}

func (p *PE) finish(answered bool) {
	p.stop(TimerID{Kind: TimerRegistration})
	p.stop(TimerID{Kind: TimerReregistration})
	p.stop(TimerID{Kind: TimerDeregistration})
	for id := range p.armed {
		if id.Kind == TimerAnnounce {
			p.stop(id)
		}
	}
	p.stopLink()
	p.state = PEStopped
	p.event(Deregistered{Answered: answered})
}

func (p *PE) element() PoolElement {
	pe := p.cfg.Element
	pe.ID = p.id
	pe.HomeRegistrar = p.home
	pe.RegistrationLife = int32(min(p.cfg.Life.Milliseconds(), 1<<31-1))
	return pe
}

// register sends a (re-)registration; fresh starts a new request (rather
// than resending the current one).
func (p *PE) register(now time.Time, fresh bool) {
	if fresh {
		p.attempts = 0
		p.dirty = false
	}
	p.attempts++
	p.stop(TimerID{Kind: TimerReregistration})
	pe := p.element()
	p.sentLoad = pe.Policy.Load
	if !p.toRegistrar(&Registration{PoolHandle: p.cfg.PoolHandle, Element: pe}) {
		p.state = PEHunting
		return
	}
	p.counters.Registrations++
	p.state = PERegistering
	p.arm(TimerID{Kind: TimerRegistration}, now.Add(p.cfg.Registration))
}

func (p *PE) deregister(now time.Time) {
	p.attempts++
	if !p.toRegistrar(&Deregistration{PoolHandle: p.cfg.PoolHandle, ID: p.id}) {
		p.finish(false)
		return
	}
	p.arm(TimerID{Kind: TimerDeregistration}, now.Add(p.cfg.Deregistration))
}

// Timer: the timer id fired.
func (p *PE) Timer(now time.Time, id TimerID) {
	if !p.fired(now, id) {
		return
	}
	switch id.Kind {
	case TimerHunt:
		p.huntTimer(now)
	case TimerAnnounce:
		p.announceTimer(id)
	case TimerRegistration:
		if p.state != PERegistering {
			return
		}
		if p.attempts <= p.cfg.Retries {
			p.counters.Retransmits++
			p.register(now, false)
			return
		}
		// The registrar does not answer: find another.
		p.state = PEHunting
		p.dropRegistrar(now)
	case TimerReregistration:
		if p.state == PERegistered {
			p.register(now, true)
		}
	case TimerDeregistration:
		if p.state != PEDeregistering {
			return
		}
		if p.attempts <= p.cfg.Retries {
			p.counters.Retransmits++
			p.deregister(now)
			return
		}
		p.finish(false)
	}
}

// FromRegistrarBytes decodes and handles a message that arrived on
// registrar association a; undecodable messages are answered with an
// ASAP_ERROR.
func (p *PE) FromRegistrarBytes(now time.Time, a AssocID, b []byte) {
	if !p.knownRegistrar(a) {
		p.counters.Ignored++
		return
	}
	if m := p.decode(a, 0, b); m != nil {
		p.FromRegistrar(now, a, m)
	}
}

// FromRegistrar handles a message that arrived on registrar association
// a (the one in use, or one a registrar opened, see RegistrarAccepted).
func (p *PE) FromRegistrar(now time.Time, a AssocID, m Message) {
	if !p.knownRegistrar(a) {
		p.counters.Ignored++
		return
	}
	p.counters.Received++
	switch m := m.(type) {
	case *RegistrationResponse:
		p.registrationResponse(now, a, m)
	case *DeregistrationResponse:
		if p.state != PEDeregistering || a != p.assoc || !bytes.Equal(m.PoolHandle, p.cfg.PoolHandle) || m.ID != p.id {
			p.counters.Ignored++
			return
		}
		p.finish(true)
	case *EndpointKeepAlive:
		p.keepAlive(now, a, m)
	case *ErrorMessage:
		p.event(ErrorReceived{Assoc: a, Causes: m.Causes})
	default:
		p.counters.Ignored++
	}
}

func (p *PE) knownRegistrar(a AssocID) bool {
	return p.state != PEStopped && p.state != PEIdle && ((p.base.state == linkUp && a == p.assoc) || p.others[a])
}

func (p *PE) registrationResponse(now time.Time, a AssocID, m *RegistrationResponse) {
	if p.state != PERegistering || a != p.assoc || !bytes.Equal(m.PoolHandle, p.cfg.PoolHandle) ||
		(p.id != 0 && m.ID != p.id) {
		p.counters.Ignored++
		return
	}
	p.stop(TimerID{Kind: TimerRegistration})
	if m.Reject {
		p.state = PERegistered // retry at T4, with the same rules
		p.arm(TimerID{Kind: TimerReregistration}, now.Add(p.cfg.Reregistration))
		p.event(RegistrationRejected{Assoc: a, Causes: m.Causes})
		return
	}
	if p.id == 0 {
		p.id = m.ID
	}
	initial := !p.once
	p.once = true
	p.state = PERegistered
	p.event(Registered{Assoc: a, ID: p.id, Initial: initial})
	if p.dirty {
		p.register(now, true)
		return
	}
	p.arm(TimerID{Kind: TimerReregistration}, now.Add(p.cfg.Reregistration))
}

func (p *PE) keepAlive(now time.Time, a AssocID, m *EndpointKeepAlive) {
	if !bytes.Equal(m.PoolHandle, p.cfg.PoolHandle) || (m.HasID && m.ID != p.id) || p.id == 0 {
		p.counters.Ignored++
		return
	}
	p.counters.KeepAlives++
	p.send(Send{Assoc: a, Msg: &EndpointKeepAliveAck{PoolHandle: p.cfg.PoolHandle, ID: p.id}})
	switch {
	case m.Home && (a != p.assoc || p.base.state != linkUp):
		// A new home registrar (RFC 5352, section 3.5): use it from now
		// on; the registration it took over stands.
		p.adopt(now, a, sctp.Addr{})
		p.home = m.ServerID
		p.event(HomeChanged{Assoc: a, ServerID: m.ServerID})
		if p.state == PERegistering || p.state == PEHunting {
			p.register(now, true)
		}
	case a == p.assoc && p.home != m.ServerID:
		if p.home != 0 || m.Home {
			p.event(HomeChanged{Assoc: a, ServerID: m.ServerID})
		}
		p.home = m.ServerID
	}
}

// ---------------------------------------------------------------- session side

// SendCookie sends a state cookie to the pool user of session s.
func (p *PE) SendCookie(s SessionID, cookie []byte) {
	if s == 0 {
		return
	}
	p.counters.CookiesSent++
	p.send(Send{Session: s, Msg: &Cookie{Cookie: clone(cookie)}})
}

// SendBusinessCard sends the PE's business card on session s: its pool
// and the elements its pool user should fail over to, in order of
// preference.
func (p *PE) SendBusinessCard(s SessionID, elements []PoolElement) {
	if s == 0 {
		return
	}
	p.send(Send{Session: s, Msg: &BusinessCard{PoolHandle: p.cfg.PoolHandle, Elements: elements}})
}

// FromSessionBytes decodes and handles an ASAP message from session s.
func (p *PE) FromSessionBytes(now time.Time, s SessionID, b []byte) {
	if s == 0 {
		p.counters.Ignored++
		return
	}
	if m := p.decode(0, s, b); m != nil {
		p.FromSession(now, s, m)
	}
}

// FromSession handles an ASAP message from the pool user of session s.
func (p *PE) FromSession(now time.Time, s SessionID, m Message) {
	if s == 0 {
		p.counters.Ignored++
		return
	}
	p.counters.Received++
	switch m := m.(type) {
	case *CookieEcho:
		p.counters.CookiesEchoed++
		p.event(CookieEchoReceived{Session: s, Cookie: m.Cookie})
	case *BusinessCard:
		p.event(BusinessCardReceived{Session: s, PoolHandle: m.PoolHandle, Elements: m.Elements})
	case *ErrorMessage:
		p.event(ErrorReceived{Session: s, Causes: m.Causes})
	default:
		p.counters.Ignored++
	}
}
