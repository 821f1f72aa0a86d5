package m3ua

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// Defaults of the SGP. RFC 4666 leaves T(r) to configuration; sigpool holds
// an AS pending, queueing its traffic, for at most 2 s, well inside the
// failover budget of the gateway.
const (
	DefaultRecovery   = 2 * time.Second
	DefaultQueueLimit = 256
)

// ASConfig is one statically configured application server.
type ASConfig struct {
	RC   uint32
	Mode TrafficMode // Override, Loadshare or Broadcast
	// MinActive is n of RFC 4666: in loadshare and broadcast, fewer active
	// ASPs than this sends "Insufficient ASP resources active in AS" to the
	// inactive ones. Default 1.
	MinActive  int
	Recovery   time.Duration // T(r); default DefaultRecovery
	QueueLimit int           // DATA held while AS-PENDING; default DefaultQueueLimit
	// Key is the AS's routing key, for matching registration requests
	// (RKM); nil: the AS is only reachable by its routing context.
	Key *RoutingKey
	// ASPIDs, when not empty, are the ASP Identifiers of the only ASPs
	// that may serve the AS: another ASP (or one that gave no identifier
	// in ASPUP) is not told about it, cannot activate for it, and gets
	// "Permission Denied" when it registers its key or deregisters it
	// (RFC 4666 3.6.2, 3.6.4). Empty: every ASP may serve it.
	ASPIDs []uint32
}

// SGPConfig configures an SGP.
type SGPConfig struct {
	ASes []ASConfig
	// RequireASPID refuses ASPUP without ASP Identifier ("ASP Identifier
	// Required").
	RequireASPID bool
	Beat         BeatConfig
	// Registration is the dynamic registration (RKM) policy.
	Registration RegistrationPolicy
	// DynamicRCBase is the first routing context allocated to dynamically
	// registered ASes (default DefaultDynamicRCBase); MaxDynamic bounds
	// how many may exist at once (default DefaultMaxDynamic).
	DynamicRCBase uint32
	MaxDynamic    int
	// NA, when HasNA, is the network appearance of this SGP: a routing
	// key registered with another one is refused.
	NA    uint32
	HasNA bool
	// DPCs, when not empty, are the destination point codes the SGP
	// serves to ASPs: a routing key registered for another DPC gets
	// "Invalid DPC" (RFC 4666 3.6.2). Empty: any DPC.
	DPCs []uint32
}

type sgpPeer struct {
	assoc   AssocID
	streams uint16
	up      bool
	blocked bool
	aspID   uint32
	hasID   bool
	active  map[uint32]bool // RC → active in that AS
}

func (p *sgpPeer) state() ASPState {
	switch {
	case !p.up:
		return ASPDown
	case len(p.active) > 0:
		return ASPActive
	}
	return ASPInactive
}

type appServer struct {
	cfg    ASConfig
	state  ASState
	active []AssocID // in activation order
	queue  []UserData
	// dynamic ASes exist because an ASP registered them; owners are the
	// ASPs whose registration holds (the only ones a dynamic AS serves).
	dynamic bool
	owners  map[AssocID]bool
}

// SGP is the signalling gateway side of M3UA for many ASP associations: it
// answers ASPSM and ASPTM, keeps each AS's state, routes DATA to the active
// ASPs by traffic mode, and queues while an AS is pending. Every AS in the
// configuration may be served by every ASP. Not safe for concurrent use.
type SGP struct {
	core
	cfg   SGPConfig
	peers map[AssocID]*sgpPeer
	ases  map[uint32]*appServer
	rcs   []uint32 // routing contexts, static ones in configuration order, then dynamic ones
	dests map[uint32]*destInfo
}

// NewSGP returns an SGP with the given static configuration.
func NewSGP(cfg SGPConfig) *SGP {
	if cfg.DynamicRCBase == 0 {
		cfg.DynamicRCBase = DefaultDynamicRCBase
	}
	if cfg.MaxDynamic <= 0 {
		cfg.MaxDynamic = DefaultMaxDynamic
	}
	s := &SGP{core: newCore(cfg.Beat), cfg: cfg, peers: map[AssocID]*sgpPeer{}, ases: map[uint32]*appServer{}, dests: map[uint32]*destInfo{}}
	for _, a := range cfg.ASes {
		if a.MinActive < 1 {
			a.MinActive = 1
		}
		if a.Recovery <= 0 {
			a.Recovery = DefaultRecovery
		}
		if a.QueueLimit <= 0 {
			a.QueueLimit = DefaultQueueLimit
		}
		if !a.Mode.valid() {
			a.Mode = Override
		}
		s.ases[a.RC] = &appServer{cfg: a, owners: map[AssocID]bool{}}
		s.rcs = append(s.rcs, a.RC)
	}
	return s
}

// serves reports whether AS as may be served by the ASP p: every static
// AS may, unless it names the ASPs allowed (ASConfig.ASPIDs), a dynamic one
// only by the ASPs that registered it.
func (s *SGP) serves(p *sgpPeer, as *appServer) bool {
	if as.dynamic {
		return as.owners[p.assoc]
	}
	return s.allowed(p, as)
}

// allowed reports whether the ASP p is one of those AS as names, if it
// names any.
func (s *SGP) allowed(p *sgpPeer, as *appServer) bool {
	return len(as.cfg.ASPIDs) == 0 || p.hasID && slices.Contains(as.cfg.ASPIDs, p.aspID)
}

// ASState returns the state of the AS with routing context rc.
func (s *SGP) ASState(rc uint32) ASState {
	if as := s.ases[rc]; as != nil {
		return as.state
	}
	return ASDown
}

// ASPState returns the state of the ASP on association a.
func (s *SGP) ASPState(a AssocID) ASPState {
	if p := s.peers[a]; p != nil {
		return p.state()
	}
	return ASPDown
}

// AssocUp: association a is established with streams outbound streams.
func (s *SGP) AssocUp(now time.Time, a AssocID, streams uint16) {
	if p := s.peers[a]; p != nil {
		p.streams = streams
		return
	}
	s.peers[a] = &sgpPeer{assoc: a, streams: streams, active: map[uint32]bool{}}
}

// AssocDown: association a is gone. Its ASP is ASP-DOWN.
func (s *SGP) AssocDown(now time.Time, a AssocID) {
	p := s.peers[a]
	if p == nil {
		return
	}
	s.failed(p)
	s.aspDown(now, p)
	delete(s.peers, a)
	// Registrations live as long as the association (RFC 4666 4.4.2).
	for _, rc := range slices.Clone(s.rcs) {
		if as := s.ases[rc]; as.owners[a] {
			delete(as.owners, a)
			if as.dynamic && len(as.owners) == 0 {
				s.removeAS(now, as, a, true)
			}
		}
	}
}

// failed tells the ASPs of every AS the ASP p was ASP-ACTIVE in, when its
// association is lost, that it failed: NTFY "ASP Failure" (RFC 4666 3.8.2,
// status type Other, information 3), with p's ASP Identifier when it has
// one. The standby ASPs of an override AS learn this way that the active
// one is gone (they also hear AS-PENDING, which follows), and the other
// ASPs of a loadshare or broadcast AS that they now carry its share; so it
// goes, in every traffic mode, to each other ASP that is up and may serve
// the AS, active or not. An ASP that only leaves by ASPIA or ASPDN has not
// failed, and an ASP that was not active in the AS carried none of its
// traffic: neither is reported.
func (s *SGP) failed(p *sgpPeer) {
	if !p.up {
		return
	}
	for _, rc := range slices.Sorted(maps.Keys(p.active)) {
		as := s.ases[rc]
		for _, a := range s.sortedPeers() {
			if q := s.peers[a]; q != p && q.up && s.serves(q, as) {
				s.send(a, 0, otherNotify(StatusASPFailure, rc, p))
			}
		}
	}
}

// otherNotify is a NTFY of status type Other about the ASP p in the AS rc,
// carrying p's ASP Identifier when it has one.
func otherNotify(info uint16, rc uint32, p *sgpPeer) *messages.Notify {
	var id *params.Param
	if p.hasID {
		id = params.NewAspIdentifier(p.aspID)
	}
	return messages.NewNotify(statusParam(StatusTypeOther, info), id, params.NewRoutingContext(rc), nil)
}

// TakeDown takes the ASP on association a down for management reasons: an
// unsolicited ASPDN ACK, which the ASP must take as ASP-DOWN (RFC 4666
// 4.3.4.2). The driver then shuts the association down.
func (s *SGP) TakeDown(now time.Time, a AssocID) {
	if p := s.peers[a]; p != nil && p.up {
		s.send(a, 0, messages.NewAspDownAck(nil))
		s.aspDown(now, p)
	}
}

// Block refuses ASPUP and ASPAC from association a with "Refused -
// Management Blocking" until Unblock. An ASP already up stays up.
func (s *SGP) Block(a AssocID) {
	if p := s.peers[a]; p != nil {
		p.blocked = true
	}
}

// Unblock undoes Block.
func (s *SGP) Unblock(a AssocID) {
	if p := s.peers[a]; p != nil {
		p.blocked = false
	}
}

// Timer: the timer id fired at now.
func (s *SGP) Timer(now time.Time, id TimerID) {
	if !s.fired(now, id) {
		return
	}
	if s.beatTimer(now, id) {
		return
	}
	if id.Kind == TimerRecovery {
		as := s.ases[id.RC]
		if as == nil || as.state != ASPending {
			return
		}
		s.counters.RecoveryDrops += uint64(len(as.queue))
		as.queue = nil
		s.setAS(now, as, s.idleState(as))
	}
}

// idleState is the state of an AS with no active ASP that is not pending:
// AS-INACTIVE if an ASP that may serve it is up, AS-DOWN otherwise.
func (s *SGP) idleState(as *appServer) ASState {
	for _, p := range s.peers {
		if p.up && s.serves(p, as) {
			return ASInactive
		}
	}
	return ASDown
}

// Receive: bytes b arrived on association a, stream stream.
func (s *SGP) Receive(now time.Time, a AssocID, stream uint16, b []byte) {
	p := s.peers[a]
	if p == nil {
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
				pe = s.data(p, u, &x)
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
	var pe *ProtocolError
	switch m := m.(type) {
	case *messages.AspUp:
		pe = s.aspUp(now, p, m)
	case *messages.AspDown:
		s.send(a, 0, messages.NewAspDownAck(nil))
		s.aspDown(now, p)
	case *messages.Heartbeat:
		s.answerBeat(a, m)
	case *messages.HeartbeatAck:
		s.beatAck(now, a, m)
	case *messages.AspActive:
		pe = s.aspActive(now, p, m)
	case *messages.AspInactive:
		pe = s.aspInactive(now, p, m)
	case *messages.Error:
		s.counters.ErrorsReceived++
		code, _ := uint32Of(m.ErrorCode)
		s.event(ErrorReceived{Assoc: a, Code: ErrorCode(code)})
	case *messages.Notify:
		s.notify(a, m)
	case *messages.DestinationStateAudit:
		pe = s.audit(p, m)
	case *RegReq:
		pe = s.register(now, p, m)
	case *DeregReq:
		pe = s.deregister(now, p, m)
	default:
		// Acks, SSNM other than DAUD, and RKM responses are not expected
		// at an SGP.
		pe = perr(ErrUnexpectedMessage, "%s at the SGP", MessageName(m.MessageClass(), m.MessageType()))
	}
	if pe != nil {
		s.refuse(a, stream, b, pe)
	}
}

func (s *SGP) notify(a AssocID, m *messages.Notify) {
	st, _ := uint32Of(m.Status)
	s.event(NotifyReceived{Assoc: a, StatusType: uint16(st >> 16), StatusInfo: uint16(st), RCs: uint32s(m.RoutingContext)})
}

func (s *SGP) aspUp(now time.Time, p *sgpPeer, m *messages.AspUp) *ProtocolError {
	if p.blocked {
		return perr(ErrRefusedManagementBlocking, "ASPUP from a blocked ASP")
	}
	id, hasID := uint32Of(m.AspIdentifier)
	if s.cfg.RequireASPID && !hasID {
		return perr(ErrASPIdentifierRequired, "ASPUP without ASP Identifier")
	}
	var ackID *params.Param
	if hasID {
		ackID = params.NewAspIdentifier(id)
	}
	if p.up {
		s.send(p.assoc, 0, messages.NewAspUpAck(ackID, nil))
		if len(p.active) == 0 {
			return nil // already ASP-INACTIVE: acknowledge, nothing else
		}
		// ASPUP while ASP-ACTIVE: ack, report the unexpected message, and
		// take the ASP out of every AS (RFC 4666 4.3.4.1).
		s.refuse(p.assoc, 0, nil, perr(ErrUnexpectedMessage, "ASPUP while ASP-ACTIVE"))
		s.leave(now, p, slices.Sorted(maps.Keys(p.active)))
		return nil
	}
	p.up, p.aspID, p.hasID = true, id, hasID
	s.send(p.assoc, 0, messages.NewAspUpAck(ackID, nil))
	s.aspEvent(p, ASPDown, ASPInactive, nil)
	s.startBeat(now, p.assoc)
	for _, rc := range s.rcs {
		if as := s.ases[rc]; as.state == ASDown && s.serves(p, as) {
			s.setAS(now, as, ASInactive)
		}
	}
	return nil
}

// aspDown takes p to ASP-DOWN (ASPDN received or association lost).
func (s *SGP) aspDown(now time.Time, p *sgpPeer) {
	if !p.up {
		return
	}
	s.stopBeat(p.assoc)
	from := p.state()
	// Down first: an ASP that is down is told nothing about the ASes.
	p.up = false
	left := slices.Sorted(maps.Keys(p.active))
	s.leave(now, p, left)
	s.aspEvent(p, from, ASPDown, left)
	for _, rc := range s.rcs {
		if as := s.ases[rc]; as.state == ASInactive && s.idleState(as) == ASDown {
			s.setAS(now, as, ASDown)
		}
	}
}

// routingContexts returns the RCs of an ASPTM message from p: those listed,
// or all the ASes p may serve when none is. Unknown ones are an error.
func (s *SGP) routingContexts(p *sgpPeer, rcp *params.Param) ([]uint32, *ProtocolError) {
	if rcp == nil {
		var all []uint32
		for _, rc := range s.rcs {
			if s.serves(p, s.ases[rc]) {
				all = append(all, rc)
			}
		}
		if len(all) == 0 {
			return nil, perr(ErrNoConfiguredASForASP, "no AS configured for the ASP")
		}
		return all, nil
	}
	rcs := uint32s(rcp)
	var bad []uint32
	for _, rc := range rcs {
		if as := s.ases[rc]; as == nil || !s.serves(p, as) {
			bad = append(bad, rc)
		}
	}
	if len(bad) > 0 {
		pe := perr(ErrInvalidRoutingContext, "routing contexts %v not configured", bad)
		pe.RoutingContexts = bad
		return nil, pe
	}
	return rcs, nil
}

func (s *SGP) aspActive(now time.Time, p *sgpPeer, m *messages.AspActive) *ProtocolError {
	if !p.up {
		return perr(ErrUnexpectedMessage, "ASPAC while ASP-DOWN")
	}
	if p.blocked {
		return perr(ErrRefusedManagementBlocking, "ASPAC from a blocked ASP")
	}
	rcs, pe := s.routingContexts(p, m.RoutingContext)
	if pe != nil {
		return pe
	}
	mode, hasMode := uint32Of(m.TrafficModeType)
	if hasMode {
		for _, rc := range rcs {
			if want := s.ases[rc].cfg.Mode; TrafficMode(mode) != want {
				return perr(ErrUnsupportedTrafficMode, "ASPAC asks %v, AS %d is %v", TrafficMode(mode), rc, want)
			}
		}
	}
	before := p.state()
	var tmt *params.Param
	if hasMode {
		tmt = params.NewTrafficModeType(mode)
	}
	var rcp *params.Param
	if m.RoutingContext != nil {
		rcp = params.NewRoutingContext(rcs...)
	}
	s.send(p.assoc, 0, messages.NewAspActiveAck(tmt, rcp, nil))
	var joined []uint32
	for _, rc := range rcs {
		as := s.ases[rc]
		if p.active[rc] {
			continue
		}
		joined = append(joined, rc)
		if as.cfg.Mode == Override {
			// The new ASP takes over; the one it replaces hears why.
			for _, old := range as.active {
				op := s.peers[old]
				delete(op.active, rc)
				// RFC 4666 3.8.2: the NTFY names the ASP now active by
				// its ASP Identifier when that ASP gave one in ASPUP.
				s.send(old, 0, otherNotify(StatusAlternateASPActive, rc, p))
				to := ASPActive
				if len(op.active) == 0 {
					to = ASPInactive
				}
				s.aspEvent(op, ASPActive, to, []uint32{rc})
			}
			as.active = as.active[:0]
		}
		p.active[rc] = true
		as.active = append(as.active, p.assoc)
	}
	if before != ASPActive || len(joined) > 0 {
		s.aspEvent(p, before, ASPActive, joined)
	}
	if len(joined) > 0 {
		s.tellState(p, joined)
	}
	for _, rc := range rcs {
		as := s.ases[rc]
		if as.state != ASActive {
			wasPending := as.state == ASPending
			s.setAS(now, as, ASActive)
			if wasPending {
				s.stop(TimerID{Kind: TimerRecovery, RC: rc})
				q := as.queue
				as.queue = nil
				for _, u := range q {
					s.route(as, u)
				}
			}
		}
	}
	return nil
}

func (s *SGP) aspInactive(now time.Time, p *sgpPeer, m *messages.AspInactive) *ProtocolError {
	if !p.up {
		return perr(ErrUnexpectedMessage, "ASPIA while ASP-DOWN")
	}
	rcs, pe := s.routingContexts(p, m.RoutingContext)
	if pe != nil {
		return pe
	}
	var rcp *params.Param
	if m.RoutingContext != nil {
		rcp = params.NewRoutingContext(rcs...)
	}
	s.send(p.assoc, 0, messages.NewAspInactiveAck(rcp, nil))
	s.leave(now, p, rcs)
	return nil
}

// leave takes p out of the ASes rcs it is active in, and updates them.
func (s *SGP) leave(now time.Time, p *sgpPeer, rcs []uint32) {
	before := p.state()
	var changed []uint32
	for _, rc := range rcs {
		if !p.active[rc] {
			continue
		}
		delete(p.active, rc)
		as := s.ases[rc]
		as.active = slices.DeleteFunc(as.active, func(a AssocID) bool { return a == p.assoc })
		changed = append(changed, rc)
	}
	if before == ASPActive && len(changed) > 0 {
		to := p.state()
		if to == ASPDown {
			to = ASPInactive // aspDown raises ASP-DOWN next
		}
		s.aspEvent(p, ASPActive, to, changed)
	}
	for _, rc := range changed {
		as := s.ases[rc]
		n := len(as.active)
		switch {
		case n == 0:
			s.setAS(now, as, ASPending)
			s.arm(TimerID{Kind: TimerRecovery, RC: rc}, now.Add(as.cfg.Recovery))
		case as.cfg.Mode != Override && n < as.cfg.MinActive:
			// Too few left to share the load: ask the inactive ASPs in.
			for _, a := range s.sortedPeers() {
				if q := s.peers[a]; q.up && !q.active[rc] && q != p && s.serves(q, as) {
					s.send(a, 0, messages.NewNotify(statusParam(StatusTypeOther, StatusInsufficientASPResources), nil, params.NewRoutingContext(rc), nil))
				}
			}
		}
	}
}

// setAS changes an AS's state, raises the event and notifies every ASP that
// is up (RFC 4666 4.3.4.5: NTFY for every AS state change).
func (s *SGP) setAS(now time.Time, as *appServer, to ASState) {
	from := as.state
	if from == to {
		return
	}
	as.state = to
	s.event(ASStateChanged{RC: as.cfg.RC, From: from, To: to})
	if to == ASDown {
		return // nobody left to tell
	}
	for _, a := range s.sortedPeers() {
		if p := s.peers[a]; p.up && s.serves(p, as) {
			s.send(a, 0, messages.NewNotify(statusParam(StatusTypeASStateChange, asStatus(to)), nil, params.NewRoutingContext(as.cfg.RC), nil))
		}
	}
}

// aspEvent raises ASPStateChanged for p with the routing contexts rcs the
// change concerns and those p is active in now.
func (s *SGP) aspEvent(p *sgpPeer, from, to ASPState, rcs []uint32) {
	ev := ASPStateChanged{Assoc: p.assoc, From: from, To: to, ASPID: p.aspID, HasASPID: p.hasID, RCs: rcs}
	if to == ASPActive {
		ev.Active = slices.Sorted(maps.Keys(p.active))
	}
	s.event(ev)
}

// ASPIdentifier returns the ASP Identifier the ASP on association a sent
// in ASPUP; ok is false when it sent none or is not up.
func (s *SGP) ASPIdentifier(a AssocID) (id uint32, ok bool) {
	if p := s.peers[a]; p != nil && p.up && p.hasID {
		return p.aspID, true
	}
	return 0, false
}

// Serving reports whether the ASP on association a is ASP-ACTIVE for the
// AS with routing context rc.
func (s *SGP) Serving(a AssocID, rc uint32) bool {
	p := s.peers[a]
	return p != nil && p.up && p.active[rc]
}

// ActiveRCs returns the routing contexts the ASP on association a is
// ASP-ACTIVE for, sorted.
func (s *SGP) ActiveRCs(a AssocID) []uint32 {
	p := s.peers[a]
	if p == nil || !p.up {
		return nil
	}
	return slices.Sorted(maps.Keys(p.active))
}

func (s *SGP) sortedPeers() []AssocID { return slices.Sorted(maps.Keys(s.peers)) }

// data handles DATA from an ASP: its user data and Network Appearance.
func (s *SGP) data(p *sgpPeer, u UserData, x *dataExtra) *ProtocolError {
	if pe := x.rcError(); pe != nil {
		return pe
	}
	if x.hasNA && s.cfg.HasNA && x.na != s.cfg.NA {
		return perr(ErrInvalidNetworkAppearance, "network appearance %d, the SGP's is %d", x.na, s.cfg.NA)
	}
	if len(p.active) == 0 {
		return perr(ErrUnexpectedMessage, "DATA from an ASP that is not active")
	}
	switch {
	case u.HasRC && !p.active[u.RC]:
		if s.ases[u.RC] == nil {
			pe := perr(ErrInvalidRoutingContext, "DATA for routing context %d", u.RC)
			pe.RoutingContexts = []uint32{u.RC}
			return pe
		}
		return perr(ErrUnexpectedMessage, "DATA for AS %d the ASP is not active in", u.RC)
	case !u.HasRC:
		if len(p.active) > 1 {
			return perr(ErrMissingParameter, "DATA without routing context from an ASP active in %d ASes", len(p.active))
		}
		for rc := range p.active {
			u.RC, u.HasRC = rc, true
		}
	}
	s.counters.DataIn++
	s.event(DataReceived{Assoc: p.assoc, Data: u})
	return nil
}

// SendData sends MTP3 user data from the network to the AS u.RC: to its
// active ASP(s) by traffic mode, on the stream of u.SLS. While the AS is
// pending the data is queued (bounded); otherwise, with no active ASP, it is
// dropped and counted.
func (s *SGP) SendData(now time.Time, u UserData) {
	as := s.ases[u.RC]
	if as == nil {
		s.counters.NoRoute++
		return
	}
	u.HasRC = true
	switch as.state {
	case ASActive:
		s.route(as, u)
	case ASPending:
		if len(as.queue) >= as.cfg.QueueLimit {
			s.counters.QueueOverflow++
			return
		}
		u.Payload = append([]byte(nil), u.Payload...)
		as.queue = append(as.queue, u)
		s.counters.Queued++
	default:
		s.counters.NoRoute++
	}
}

// Errors of SendDataTo. They are wrapped with the association and routing
// context concerned; test them with errors.Is.
var (
	// ErrUnknownAssoc: no association with that AssocID.
	ErrUnknownAssoc = errors.New("m3ua: no such association")
	// ErrASPNotActive: the ASP on the association is not ASP-ACTIVE for
	// the routing context of the data.
	ErrASPNotActive = errors.New("m3ua: ASP not ASP-ACTIVE for the routing context")
	// ErrNoDataStream: the association has no outbound stream besides 0,
	// which DATA never uses.
	ErrNoDataStream = errors.New("m3ua: association has no stream for DATA")
)

// SendDataTo sends MTP3 user data to the ASP on association a alone (not
// to the AS by traffic mode), on the stream of u.SLS. The ASP must be
// ASP-ACTIVE for the AS u.RC; otherwise nothing is sent, NoRoute counts it
// and the error says why. Nothing is queued: an ASP that is not active is
// not about to receive anything.
func (s *SGP) SendDataTo(now time.Time, a AssocID, u UserData) error {
	p := s.peers[a]
	switch {
	case p == nil:
		s.counters.NoRoute++
		return fmt.Errorf("%w: association %d", ErrUnknownAssoc, a)
	case !p.up || !p.active[u.RC]:
		s.counters.NoRoute++
		return fmt.Errorf("%w: association %d is %v, routing context %d", ErrASPNotActive, a, p.state(), u.RC)
	}
	st := DataStream(u.SLS, p.streams)
	if st == 0 {
		s.counters.NoRoute++
		return fmt.Errorf("%w: association %d", ErrNoDataStream, a)
	}
	u.HasRC = true
	s.sendData(a, st, u)
	return nil
}

func (s *SGP) route(as *appServer, u UserData) {
	var targets []AssocID
	switch n := len(as.active); {
	case n == 0:
		s.counters.NoRoute++
		return
	case as.cfg.Mode == Broadcast:
		targets = as.active
	case as.cfg.Mode == Loadshare:
		targets = as.active[int(u.SLS)%n : int(u.SLS)%n+1]
	default:
		targets = as.active[:1]
	}
	for _, a := range targets {
		p := s.peers[a]
		st := DataStream(u.SLS, p.streams)
		if st == 0 {
			s.counters.NoRoute++
			continue
		}
		s.sendData(a, st, u)
	}
}

// checkNA refuses a Network Appearance other than the SGP's own, when it
// has one (RFC 4666 3.8.1: "Invalid Network Appearance" for an
// unconfigured value).
func (s *SGP) checkNA(na *params.Param) *ProtocolError {
	if !s.cfg.HasNA || na == nil {
		return nil
	}
	if v, _ := uint32Of(na); v != s.cfg.NA {
		return perr(ErrInvalidNetworkAppearance, "network appearance %d, the SGP's is %d", v, s.cfg.NA)
	}
	return nil
}
