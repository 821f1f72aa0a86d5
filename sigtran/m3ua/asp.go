package m3ua

import (
	"maps"
	"slices"
	"time"

	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// DefaultAck is the default T(ack). RFC 4666 suggests 2 s; sigpool resends
// after 1 s so that a lost ASPAC costs at most a second of traffic.
const DefaultAck = time.Second

// ASPConfig configures the ASP side of one association to an SGP.
type ASPConfig struct {
	ASPID    uint32
	HasASPID bool
	// RCs are the routing contexts to activate; empty sends ASPAC without
	// Routing Context (all ASes the SGP has configured for this ASP).
	RCs []uint32
	// Mode is the Traffic Mode Type to ask for; zero sends none.
	Mode TrafficMode
	// AutoActivate sends ASPAC as soon as the ASP is up (and, with
	// Register, once the SGP answered the registration).
	AutoActivate bool
	// Register lists routing keys to register (REG REQ) as soon as the ASP
	// is up; the routing contexts the SGP grants join RCs.
	Register []RoutingKey
	Ack      time.Duration // T(ack); default DefaultAck
	Beat     BeatConfig
}

// ASP is the application server process side of one association to an SGP
// (or to an IPSP in client role). It brings the ASP up and active,
// retransmits on T(ack), follows the SGP's acks, NTFYs and ERRs, and
// carries DATA. The driver keeps one ASP per SGP association. Not safe for
// concurrent use.
type ASP struct {
	core
	cfg     ASPConfig
	assoc   AssocID
	streams uint16
	up      bool // association up
	state   ASPState
	pending messages.M3UA // request awaiting its ack, resent on T(ack)
	// registering: REG REQ of cfg.Register sent, REG RSP not yet in.
	registering bool
	dests       map[uint32]*destInfo // the SGP's reports, by masked point code
	asView      map[uint32]ASState   // the ASes' states, as the SGP reported them
	baseRCs     []uint32             // the configured RCs, before registration added any
}

// Registered: the SGP answered a REG REQ. Successful results' routing
// contexts now belong to the ASP's routing contexts (RCs).
type Registered struct {
	Assoc   AssocID
	Results []RegResult
}

// Deregistered: the SGP answered a DEREG REQ.
type Deregistered struct {
	Assoc   AssocID
	Results []DeregResult
}

func (Registered) isEvent()   {}
func (Deregistered) isEvent() {}

// NewASP returns an ASP for one association.
func NewASP(cfg ASPConfig) *ASP {
	if cfg.Ack <= 0 {
		cfg.Ack = DefaultAck
	}
	cfg.RCs = slices.Clone(cfg.RCs)
	return &ASP{core: newCore(cfg.Beat), cfg: cfg, dests: map[uint32]*destInfo{}, asView: map[uint32]ASState{}, baseRCs: slices.Clone(cfg.RCs)}
}

// ASStates returns the ASP's view of the ASes it serves, by routing
// context: what the SGP's NTFYs and ASPAC ACKs said since the association
// came up. An AS the SGP said nothing about is absent.
func (s *ASP) ASStates() map[uint32]ASState { return maps.Clone(s.asView) }

// viewAS records that the SGP reported AS rc in state to.
func (s *ASP) viewAS(rc uint32, to ASState) {
	if from := s.asView[rc]; from != to {
		s.asView[rc] = to
		s.event(ASStateChanged{Assoc: s.assoc, RC: rc, From: from, To: to})
	}
}

// RCs returns the routing contexts the ASP activates: the configured ones
// and those granted by registration.
func (s *ASP) RCs() []uint32 { return slices.Clone(s.cfg.RCs) }

// Register sends REG REQ for keys. The answer raises Registered.
func (s *ASP) Register(now time.Time, keys ...RoutingKey) {
	if !s.up || s.state == ASPDown || len(keys) == 0 {
		return
	}
	s.send(s.assoc, 0, &RegReq{Keys: slices.Clone(keys)})
}

// Deregister sends DEREG REQ for rcs. The answer raises Deregistered.
func (s *ASP) Deregister(now time.Time, rcs ...uint32) {
	if !s.up || s.state == ASPDown || len(rcs) == 0 {
		return
	}
	s.send(s.assoc, 0, &DeregReq{RCs: slices.Clone(rcs)})
}

// State returns the ASP state.
func (s *ASP) State() ASPState { return s.state }

// AssocUp: the association a to the SGP is established; send ASPUP.
func (s *ASP) AssocUp(now time.Time, a AssocID, streams uint16) {
	s.assoc, s.streams, s.up = a, streams, true
	var id *params.Param
	if s.cfg.HasASPID {
		id = params.NewAspIdentifier(s.cfg.ASPID)
	}
	s.request(now, messages.NewAspUp(id, nil))
}

// AssocDown: the association is gone; the ASP is down and every timer stops.
func (s *ASP) AssocDown(now time.Time) {
	if !s.up {
		return
	}
	s.up = false
	s.pending = nil
	s.registering = false
	clear(s.dests) // a new association starts with every destination available
	for _, rc := range slices.Sorted(maps.Keys(s.asView)) {
		s.event(ASStateChanged{Assoc: s.assoc, RC: rc, From: s.asView[rc], To: ASDown})
	}
	clear(s.asView)
	if len(s.cfg.Register) > 0 {
		// Registrations end with the association; the next one registers
		// again and may be granted other routing contexts.
		s.cfg.RCs = slices.Clone(s.baseRCs)
	}
	s.stop(TimerID{Kind: TimerAck, Assoc: s.assoc})
	s.stopBeat(s.assoc)
	s.setState(ASPDown)
}

// Activate sends ASPAC for the configured routing contexts.
func (s *ASP) Activate(now time.Time) {
	if !s.up || s.state == ASPDown {
		return
	}
	var tmt, rc *params.Param
	if s.cfg.Mode != 0 {
		tmt = params.NewTrafficModeType(uint32(s.cfg.Mode))
	}
	if len(s.cfg.RCs) > 0 {
		rc = params.NewRoutingContext(s.cfg.RCs...)
	}
	s.request(now, messages.NewAspActive(tmt, rc, nil))
}

// Deactivate sends ASPIA for the configured routing contexts.
func (s *ASP) Deactivate(now time.Time) {
	if !s.up || s.state != ASPActive {
		return
	}
	var rc *params.Param
	if len(s.cfg.RCs) > 0 {
		rc = params.NewRoutingContext(s.cfg.RCs...)
	}
	s.request(now, messages.NewAspInactive(rc, nil))
}

// Down sends ASPDN; graceful shutdown is Deactivate, Down, then the driver
// shuts the association down once State is ASP-DOWN.
func (s *ASP) Down(now time.Time) {
	if !s.up {
		return
	}
	s.request(now, messages.NewAspDown(nil))
}

func (s *ASP) request(now time.Time, m messages.M3UA) {
	s.pending = m
	s.send(s.assoc, 0, m)
	s.arm(TimerID{Kind: TimerAck, Assoc: s.assoc}, now.Add(s.cfg.Ack))
}

func (s *ASP) settle() {
	s.pending = nil
	s.stop(TimerID{Kind: TimerAck, Assoc: s.assoc})
}

func (s *ASP) pendingIs(class, typ uint8) bool {
	return s.pending != nil && s.pending.MessageClass() == class && s.pending.MessageType() == typ
}

func (s *ASP) setState(to ASPState) {
	if s.state != to {
		ev := ASPStateChanged{Assoc: s.assoc, From: s.state, To: to, ASPID: s.cfg.ASPID, HasASPID: s.cfg.HasASPID, Local: true}
		if to == ASPActive {
			ev.Active = s.RCs()
		}
		s.event(ev)
		s.state = to
	}
}

// Timer: the timer id fired at now.
func (s *ASP) Timer(now time.Time, id TimerID) {
	if !s.fired(now, id) || s.beatTimer(now, id) {
		return
	}
	if id.Kind == TimerAck && s.pending != nil {
		s.counters.Retransmits++
		s.request(now, s.pending)
	}
}

// SendData sends MTP3 user data to the SGP on the stream of u.SLS. It is
// dropped and counted unless the ASP is active.
func (s *ASP) SendData(now time.Time, u UserData) {
	st := DataStream(u.SLS, s.streams)
	if s.state != ASPActive || st == 0 {
		s.counters.NoRoute++
		return
	}
	s.sendData(s.assoc, st, u)
}

// data handles DATA from the SGP.
func (s *ASP) data(a AssocID, u UserData, x *dataExtra) *ProtocolError {
	if s.state != ASPActive {
		return perr(ErrUnexpectedMessage, "DATA while %v", s.state)
	}
	if pe := x.rcError(); pe != nil {
		return pe
	}
	if u.HasRC && len(s.cfg.RCs) > 0 && !slices.Contains(s.cfg.RCs, u.RC) {
		// RFC 4666 3.8.1: a routing context this ASP does not serve.
		pe := perr(ErrInvalidRoutingContext, "DATA for routing context %d", u.RC)
		pe.RoutingContexts = []uint32{u.RC}
		return pe
	}
	s.counters.DataIn++
	s.event(DataReceived{Assoc: a, Data: u})
	return nil
}

// Receive: bytes b arrived on stream stream.
func (s *ASP) Receive(now time.Time, stream uint16, b []byte) {
	a := s.assoc
	if !s.up {
		s.counters.Ignored++
		return
	}
	if isDataHeader(b) {
		// DATA, the bulk of the traffic, decodes without allocating.
		var u UserData
		var x dataExtra
		_, pe := decodeData(b, &u, &x)
		if pe == nil {
			s.counters.Received++
			pe = checkStream(ClassTransfer, messages.MsgTypePayloadData, stream)
			if pe == nil {
				pe = s.data(a, u, &x)
			}
		}
		if pe != nil {
			s.refuse(a, stream, b, pe)
		}
		return
	}
	m, err := Decode(b)
	if err != nil {
		s.refuse(a, stream, b, err.(*ProtocolError))
		return
	}
	s.counters.Received++
	if pe := checkStream(m.MessageClass(), m.MessageType(), stream); pe != nil {
		s.refuse(a, stream, b, pe)
		return
	}
	switch m := m.(type) {
	case *messages.AspUpAck:
		if !s.pendingIs(ClassASPSM, messages.MsgTypeAspUp) {
			s.counters.Ignored++
			return
		}
		s.settle()
		s.setState(ASPInactive)
		s.startBeat(now, a)
		if len(s.cfg.Register) > 0 {
			s.registering = true
			s.Register(now, s.cfg.Register...)
		} else if s.cfg.AutoActivate {
			s.Activate(now)
		}
	case *messages.AspActiveAck:
		if !s.pendingIs(ClassASPTM, messages.MsgTypeAspActive) {
			s.counters.Ignored++
			return
		}
		s.settle()
		s.setState(ASPActive)
		// Active in them, the ASes are AS-ACTIVE (the NTFY says so too).
		rcs := uint32s(m.RoutingContext)
		if len(rcs) == 0 {
			rcs = s.cfg.RCs
		}
		for _, rc := range rcs {
			s.viewAS(rc, ASActive)
		}
	case *messages.AspInactiveAck:
		if !s.pendingIs(ClassASPTM, messages.MsgTypeAspInactive) {
			s.counters.Ignored++
			return
		}
		s.settle()
		s.setState(ASPInactive)
	case *messages.AspDownAck:
		// Solicited, or the SGP taking the ASP down on its own.
		s.settle()
		s.stopBeat(a)
		s.setState(ASPDown)
	case *messages.Heartbeat:
		s.answerBeat(a, m)
	case *messages.HeartbeatAck:
		s.beatAck(now, a, m)
	case *messages.Notify:
		st, _ := uint32Of(m.Status)
		typ, info := uint16(st>>16), uint16(st)
		s.event(NotifyReceived{Assoc: a, StatusType: typ, StatusInfo: info, RCs: uint32s(m.RoutingContext)})
		if to, ok := asStateOf(typ, info); ok {
			rcs := uint32s(m.RoutingContext)
			if len(rcs) == 0 {
				rcs = s.cfg.RCs // no Routing Context: the ASes of this ASP
			}
			for _, rc := range rcs {
				s.viewAS(rc, to)
			}
		}
		if typ == StatusTypeOther && info == StatusAlternateASPActive && s.state == ASPActive {
			// Another ASP took over (override): this one is now inactive.
			s.setState(ASPInactive)
		}
	case *messages.Error:
		s.counters.ErrorsReceived++
		code, _ := uint32Of(m.ErrorCode)
		s.event(ErrorReceived{Assoc: a, Code: ErrorCode(code)})
		switch ErrorCode(code) {
		case ErrRefusedManagementBlocking, ErrASPIdentifierRequired, ErrInvalidASPIdentifier,
			ErrUnsupportedTrafficMode, ErrInvalidRoutingContext, ErrNoConfiguredASForASP:
			// The SGP refused the pending request: resending will not help.
			s.settle()
		}
	case *messages.DestinationUnavailable, *messages.DestinationAvailable, *messages.DestinationStateAudit,
		*messages.SignallingCongestion, *messages.DestinationUserPartUnavailable, *messages.DestinationRestricted:
		if pe := s.ssnm(m); pe != nil {
			s.refuse(a, stream, b, pe)
		}
	case *RegRsp:
		if s.state == ASPDown {
			s.refuse(a, stream, b, perr(ErrUnexpectedMessage, "REG RSP while ASP-DOWN"))
			return
		}
		for _, r := range m.Results {
			if (r.Status == params.SuccessfullyRegistered || r.Status == params.RoutingKeyAlreadyRegistered) && !slices.Contains(s.cfg.RCs, r.RC) {
				s.cfg.RCs = append(s.cfg.RCs, r.RC)
			}
		}
		s.event(Registered{Assoc: a, Results: slices.Clone(m.Results)})
		if s.registering {
			s.registering = false
			if s.cfg.AutoActivate && len(s.cfg.RCs) > 0 && s.state == ASPInactive {
				s.Activate(now)
			}
		}
	case *DeregRsp:
		if s.state == ASPDown {
			s.refuse(a, stream, b, perr(ErrUnexpectedMessage, "DEREG RSP while ASP-DOWN"))
			return
		}
		for _, r := range m.Results {
			if r.Status == params.SuccessfullyDeregistered {
				s.cfg.RCs = slices.DeleteFunc(s.cfg.RCs, func(rc uint32) bool { return rc == r.RC })
			}
		}
		s.event(Deregistered{Assoc: a, Results: slices.Clone(m.Results)})
	default:
		s.refuse(a, stream, b, perr(ErrUnexpectedMessage, "%s at the ASP", MessageName(m.MessageClass(), m.MessageType())))
	}
}

// asStateOf maps an NTFY AS-state-change status to the AS state.
func asStateOf(typ, info uint16) (ASState, bool) {
	if typ != StatusTypeASStateChange {
		return 0, false
	}
	switch info {
	case StatusASInactive:
		return ASInactive, true
	case StatusASActive:
		return ASActive, true
	case StatusASPending:
		return ASPending, true
	}
	return 0, false
}
