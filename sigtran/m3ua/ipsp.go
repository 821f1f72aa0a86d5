package m3ua

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wmnsk/go-m3ua/messages"
)

// IP server processes (RFC 4666 1.3.2.5, 4.3.3 and 5.5): two IPSPs exchange
// MTP3 user data directly, with no SGP between them, and keep ASP states on
// the association between them.
//
//   - Single exchange: only one IPSP (the initiator, usually the one that
//     dialled) sends ASPUP, ASPAC, ASPIA and ASPDN; the other only answers.
//     Both ends then hold the same state, and DATA flows both ways while the
//     initiator is ASP-ACTIVE.
//   - Double exchange: both IPSPs send ASPUP/ASPAC and each answers the
//     other, so each end has two independent states: its own, as the peer
//     sees it, and the peer's. An IPSP sends DATA for an AS when the peer is
//     ASP-ACTIVE for it, and takes DATA when it is ASP-ACTIVE itself.
//
// An IPSP machine is made of the two machines this package has: an SGP for
// the answering half (the peer's ASPUP/ASPAC, the ASes the peer may serve)
// and one ASP per association for the requesting half. Received messages go
// to the half they concern: requests (ASPUP, ASPDN, ASPAC, ASPIA, BEAT,
// DAUD, REG/DEREG REQ) to the answering half, answers (acks, NTFY, ERR,
// SSNM other than DAUD, REG/DEREG RSP) to the requesting half. A half that
// the configuration does not have answers with ERR "Unexpected Message".

// IPSPExchange says how two IPSPs bring an association up (RFC 4666 4.3.3).
type IPSPExchange uint8

// IPSP exchanges.
const (
	SingleExchange IPSPExchange = iota + 1
	DoubleExchange
)

func (x IPSPExchange) String() string {
	switch x {
	case SingleExchange:
		return "single exchange"
	case DoubleExchange:
		return "double exchange"
	}
	return fmt.Sprintf("exchange(%d)", uint8(x))
}

// IPSPConfig configures an IPSP.
type IPSPConfig struct {
	Exchange IPSPExchange
	// Initiator, in single exchange, makes this IPSP the one that sends
	// ASPUP and ASPAC; the other only answers. Ignored in double exchange,
	// where both do.
	Initiator bool
	// ASP is this IPSP's requesting half (ASP Identifier, routing contexts
	// to activate, AutoActivate, T(ack), BEAT). Server takes it from here;
	// Client from ClientConfig.ASP.
	ASP ASPConfig
	// SGP is the answering half: the ASes the peer may activate, with their
	// traffic modes. Client takes it from here; Server from ServerConfig.SGP.
	// Its Beat is used only when the IPSP does not request (BEAT ACKs go
	// to the requesting half).
	SGP SGPConfig
}

// requests reports whether this IPSP sends ASPUP/ASPAC (has a requesting
// half), answers reports whether it answers them.
func (c IPSPConfig) requests() bool { return c.Exchange == DoubleExchange || c.Initiator }
func (c IPSPConfig) answers() bool  { return c.Exchange == DoubleExchange || !c.Initiator }

// IPSP is the IPSP role over any number of associations: an SGP answering
// the peers and, per association, an ASP asking them (see above). Not safe
// for concurrent use.
type IPSP struct {
	cfg   IPSPConfig
	resp  *SGP
	local map[AssocID]*ASP
	// gone collects the outputs of the ASPs of associations that ended,
	// goneCounters their counters.
	gone         Ready
	goneCounters Counters
	spare        Ready // the arrays of the Ready returned before (see core.Ready)
}

// NewIPSP returns an IPSP.
func NewIPSP(cfg IPSPConfig) *IPSP {
	if cfg.Exchange != DoubleExchange {
		cfg.Exchange = SingleExchange
	}
	if cfg.requests() {
		// One end of an association sends BEAT once: the requesting
		// half (ASP.Beat), which also gets the BEAT ACKs.
		cfg.SGP.Beat = BeatConfig{}
	}
	return &IPSP{cfg: cfg, resp: NewSGP(cfg.SGP), local: map[AssocID]*ASP{}}
}

// Config returns the configuration.
func (p *IPSP) Config() IPSPConfig { return p.cfg }

// SGP returns the answering half: the peers' ASP states, the ASes' states,
// destination reports to send (SetDestination...).
func (p *IPSP) SGP() *SGP { return p.resp }

// Local returns the requesting half on association a: this IPSP's own
// state at that peer; nil when the IPSP does not request, or a is unknown.
func (p *IPSP) Local(a AssocID) *ASP { return p.local[a] }

// AssocUp: association a is established. An IPSP that requests sends ASPUP.
func (p *IPSP) AssocUp(now time.Time, a AssocID, streams uint16) {
	if p.cfg.answers() {
		p.resp.AssocUp(now, a, streams)
	}
	if l := p.ensureLocal(a); l != nil {
		if l.up {
			l.streams = streams
			return
		}
		l.AssocUp(now, a, streams)
	}
}

// AssocDown: association a is gone.
func (p *IPSP) AssocDown(now time.Time, a AssocID) {
	if p.cfg.answers() {
		p.resp.AssocDown(now, a)
	}
	if l := p.local[a]; l != nil {
		// Keep the order: what the answering half queued first.
		p.keep(p.resp.Ready())
		l.AssocDown(now)
		p.keep(l.Ready())
		p.goneCounters = p.goneCounters.add(l.Counters())
		delete(p.local, a)
	}
}

func (p *IPSP) keep(r Ready) {
	p.gone.Sends = append(p.gone.Sends, r.Sends...)
	p.gone.Timers = append(p.gone.Timers, r.Timers...)
	p.gone.Events = append(p.gone.Events, r.Events...)
}

// toAnswerer reports whether a message of class and type is a request for
// the answering half.
func toAnswerer(class, typ uint8) bool {
	switch class {
	case ClassASPSM:
		return typ == messages.MsgTypeAspUp || typ == messages.MsgTypeAspDown || typ == messages.MsgTypeHeartbeat
	case ClassASPTM:
		return typ == messages.MsgTypeAspActive || typ == messages.MsgTypeAspInactive
	case ClassSSNM:
		return typ == messages.MsgTypeDestinationStateAudit
	case ClassRKM:
		return typ == messages.MsgTypeRegistrationRequest || typ == messages.MsgTypeDeregistrationRequest
	}
	return false
}

// Receive: bytes b arrived on association a, stream stream.
func (p *IPSP) Receive(now time.Time, a AssocID, stream uint16, b []byte) {
	l := p.local[a]
	answerer := p.cfg.answers()
	var class, typ uint8
	if len(b) >= HeaderLen {
		class, typ = b[2], b[3]
	}
	switch {
	case class == ClassTransfer:
		// DATA is taken by the half whose ASP-ACTIVE state lets it in: the
		// requesting half's own state when there is one, else the
		// answering half's view of the peer (single exchange, answering).
		if l != nil {
			l.Receive(now, stream, b)
		} else {
			p.resp.Receive(now, a, stream, b)
		}
	case toAnswerer(class, typ):
		switch {
		case answerer:
			p.resp.Receive(now, a, stream, b)
		case l == nil:
		case class == ClassASPSM && typ == messages.MsgTypeHeartbeat:
			// Every end answers BEAT, whatever its role (RFC 4666 4.3.4.6).
			l.Receive(now, stream, b)
		default:
			p.unexpected(l, a, stream, b, class, typ)
		}
	case l != nil:
		l.Receive(now, stream, b)
	default:
		// No requesting half: the SGP checks the message and answers acks
		// it never asked for with ERR Unexpected Message.
		p.resp.Receive(now, a, stream, b)
	}
}

// unexpected answers a request this IPSP does not take (single exchange,
// initiator): ERR Unexpected Message, after checking the message.
func (p *IPSP) unexpected(l *ASP, a AssocID, stream uint16, b []byte, class, typ uint8) {
	if !l.up {
		l.counters.Ignored++
		return
	}
	if _, err := Decode(b); err != nil {
		l.refuse(a, stream, b, err.(*ProtocolError))
		return
	}
	l.counters.Received++
	l.refuse(a, stream, b, perr(ErrUnexpectedMessage, "%s at a single-exchange IPSP that initiates", MessageName(class, typ)))
}

// Timer: the timer id fired at now. T(r) belongs to the answering half,
// T(ack) to the requesting half of its association, BEAT to the requesting
// half when there is one.
func (p *IPSP) Timer(now time.Time, id TimerID) {
	if id.Kind == TimerRecovery {
		p.resp.Timer(now, id)
		return
	}
	if l := p.local[id.Assoc]; l != nil {
		l.Timer(now, id)
		return
	}
	p.resp.Timer(now, id)
}

// Serving reports whether SendDataTo(a, u) with u.RC = rc would send: the
// peer ASP-ACTIVE for rc when this IPSP answers, this IPSP itself when it
// only initiates.
func (p *IPSP) Serving(a AssocID, rc uint32) bool {
	if p.cfg.answers() {
		return p.resp.Serving(a, rc)
	}
	l := p.local[a]
	return l != nil && l.State() == ASPActive && (len(l.cfg.RCs) == 0 || slices.Contains(l.cfg.RCs, rc))
}

// LocalState returns this IPSP's own state at the peer on association a
// (ASP-DOWN when it has no requesting half there).
func (p *IPSP) LocalState(a AssocID) ASPState {
	if l := p.local[a]; l != nil {
		return l.State()
	}
	return ASPDown
}

// ensureLocal returns the requesting half of association a, made if need
// be (nil when this IPSP does not request): a Client holds it across
// reconnections.
func (p *IPSP) ensureLocal(a AssocID) *ASP {
	if !p.cfg.requests() {
		return nil
	}
	l := p.local[a]
	if l == nil {
		l = NewASP(p.cfg.ASP)
		p.local[a] = l
	}
	return l
}

// SendDataTo sends user data to the peer on association a. It goes by the
// answering half (the peer must be ASP-ACTIVE for u.RC) when this IPSP
// answers, and by the requesting half (this IPSP must be ASP-ACTIVE) in a
// single exchange it initiates. Errors as SGP.SendDataTo.
func (p *IPSP) SendDataTo(now time.Time, a AssocID, u UserData) error {
	if p.cfg.answers() {
		return p.resp.SendDataTo(now, a, u)
	}
	l := p.local[a]
	switch {
	case l == nil:
		return fmt.Errorf("%w: association %d", ErrUnknownAssoc, a)
	case l.State() != ASPActive || (len(l.cfg.RCs) > 0 && !slices.Contains(l.cfg.RCs, u.RC)):
		l.counters.NoRoute++
		return fmt.Errorf("%w: association %d is %v, routing context %d", ErrASPNotActive, a, l.State(), u.RC)
	case DataStream(u.SLS, l.streams) == 0:
		l.counters.NoRoute++
		return fmt.Errorf("%w: association %d", ErrNoDataStream, a)
	}
	u.HasRC = true
	l.SendData(now, u)
	return nil
}

// Ready returns the outputs of both halves queued since the last call, and
// clears them: the answering half's first, then each association's
// requesting half. As with SGP and ASP, the slices stay valid until the
// next call.
func (p *IPSP) Ready() Ready {
	r := p.spare.reuse()
	add := func(x Ready) {
		r.Sends = append(r.Sends, x.Sends...)
		r.Timers = append(r.Timers, x.Timers...)
		r.Events = append(r.Events, x.Events...)
	}
	add(p.gone)
	p.gone = p.gone.reuse()
	add(p.resp.Ready())
	switch len(p.local) {
	case 0:
	case 1:
		for _, l := range p.local {
			add(l.Ready())
		}
	default:
		for _, a := range slices.Sorted(maps.Keys(p.local)) {
			add(p.local[a].Ready())
		}
	}
	p.spare = r
	return r
}

// Counters returns the sum of both halves' counters.
func (p *IPSP) Counters() Counters {
	c := p.resp.Counters().add(p.goneCounters)
	for _, l := range p.local {
		c = c.add(l.Counters())
	}
	return c
}

func (c Counters) add(o Counters) Counters {
	c.Received += o.Received
	c.Refused += o.Refused
	c.ErrorsReceived += o.ErrorsReceived
	c.DataIn += o.DataIn
	c.DataOut += o.DataOut
	c.Queued += o.Queued
	c.QueueOverflow += o.QueueOverflow
	c.RecoveryDrops += o.RecoveryDrops
	c.NoRoute += o.NoRoute
	c.Retransmits += o.Retransmits
	c.BeatTimeouts += o.BeatTimeouts
	c.Ignored += o.Ignored
	return c
}
