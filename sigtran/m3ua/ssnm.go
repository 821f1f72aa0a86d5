package m3ua

import (
	"encoding/binary"
	"maps"
	"slices"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// Signalling network management (SSNM, RFC 4666 sections 3.4 and 4.5). The
// SGP learns the status of SS7 destinations from the layer above (MTP3's
// pause, resume, status and restart indications, or the gateway's own
// view) and tells its active ASPs: DUNA, DAVA, DRST, SCON and DUPU. An
// ASP that becomes active later is sent, unasked, the destinations that
// are not available or are congested (tellState). It answers DAUD with
// what it knows. The ASP keeps its view of the SS7
// destinations from those messages and raises an event for every change.

// DestStatus is the reachability of an SS7 destination.
type DestStatus uint8

// Destination states. DestUnknown is what an SGP that was never told
// anything about a point code knows; an ASP assumes an unknown destination
// available (RFC 4666 4.5: it is reachable until an SGP says otherwise).
const (
	DestUnknown DestStatus = iota
	DestAvailable
	DestUnavailable
	DestRestricted
)

func (s DestStatus) String() string {
	switch s {
	case DestAvailable:
		return "available"
	case DestUnavailable:
		return "unavailable"
	case DestRestricted:
		return "restricted"
	}
	return "unknown"
}

// PointCode helpers: an Affected Point Code is a mask (the number of
// wildcarded low-order bits) in the top byte and a 24-bit point code.

// APC builds an affected point code with a mask.
func APC(pc uint32, mask uint8) uint32 { return uint32(mask)<<24 | pc&0xffffff }

// covers reports whether the (masked) affected point code apc covers pc.
func covers(apc, pc uint32) bool {
	m := min(uint(apc>>24), 24)
	return (apc&0xffffff)>>m == (pc&0xffffff)>>m
}

// destInfo is what an SGP or an ASP knows about one destination.
type destInfo struct {
	status     DestStatus
	congestion uint8 // 0: not congested
}

// DestinationChanged: the SGP reported (DUNA, DAVA, DRST) the status of
// the destinations APCs (masked point codes) on association Assoc.
type DestinationChanged struct {
	Assoc  AssocID
	APCs   []uint32
	Status DestStatus
	RCs    []uint32
}

// CongestionChanged: the SGP reported (SCON) congestion towards APC at
// Level (0: none, 1-3 with national congestion levels). Concerned, when
// not zero, is the concerned destination.
type CongestionChanged struct {
	Assoc     AssocID
	APCs      []uint32
	Level     uint8
	Concerned uint32
}

// UserPartUnavailable: the SGP reported (DUPU) that MTP3 user User (a
// service indicator) is unavailable at APC, with Cause (0 unknown, 1
// unequipped remote user, 2 inaccessible remote user).
type UserPartUnavailable struct {
	Assoc AssocID
	APCs  []uint32
	User  uint16
	Cause uint16
}

// AuditReceived: an ASP audited (DAUD) destinations. For logs; the SGP
// answered already.
type AuditReceived struct {
	Assoc AssocID
	APCs  []uint32
}

func (DestinationChanged) isEvent()  {}
func (CongestionChanged) isEvent()   {}
func (UserPartUnavailable) isEvent() {}
func (AuditReceived) isEvent()       {}

// User/Cause causes (RFC 4666 3.4.5).
const (
	CauseUnknown            uint16 = 0
	CauseUnequippedRemote   uint16 = 1
	CauseInaccessibleRemote uint16 = 2
)

func apcParam(apcs ...uint32) *params.Param { return params.NewAffectedPointCode(apcs...) }

func u32Param(tag uint16, v uint32) *params.Param {
	return params.NewParam(int(tag), binary.BigEndian.AppendUint32(nil, v))
}

// ssnmTargets returns, in order, the ASPs that hear about destination
// status: those that are ASP-ACTIVE (RFC 4666 4.5.1: the concerned ASPs),
// with the routing contexts they are active in.
func (s *SGP) ssnmTargets() []*sgpPeer {
	var out []*sgpPeer
	for _, a := range s.sortedPeers() {
		if p := s.peers[a]; p.up && len(p.active) > 0 {
			out = append(out, p)
		}
	}
	return out
}

func activeRCs(p *sgpPeer) *params.Param {
	return params.NewRoutingContext(slices.Sorted(maps.Keys(p.active))...)
}

func statusMessage(st DestStatus, rc, apc *params.Param) messages.M3UA {
	switch st {
	case DestUnavailable:
		return messages.NewDestinationUnavailable(nil, rc, apc, nil)
	case DestRestricted:
		return messages.NewDestinationRestricted(nil, rc, apc, nil)
	}
	return messages.NewDestinationAvailable(nil, rc, apc, nil)
}

// SetDestination: the layer above learnt that destination pc (a 24-bit
// point code) is now st (available, unavailable or restricted). When that
// changes what the SGP knew, every active ASP gets DUNA, DAVA or DRST.
func (s *SGP) SetDestination(now time.Time, pc uint32, st DestStatus) {
	pc &= 0xffffff
	d := s.dests[pc]
	if d == nil {
		d = &destInfo{}
		s.dests[pc] = d
	}
	if st == DestUnknown || d.status == st {
		return
	}
	d.status = st
	if st == DestUnavailable {
		d.congestion = 0
	}
	for _, p := range s.ssnmTargets() {
		s.send(p.assoc, 0, statusMessage(st, activeRCs(p), apcParam(pc)))
	}
}

// SetCongestion: the layer above learnt that destination pc is congested
// at level (0 when the congestion ended). Every active ASP gets SCON.
func (s *SGP) SetCongestion(now time.Time, pc uint32, level uint8) {
	pc &= 0xffffff
	d := s.dests[pc]
	if d == nil {
		d = &destInfo{status: DestAvailable}
		s.dests[pc] = d
	}
	if d.congestion == level {
		return
	}
	d.congestion = level
	for _, p := range s.ssnmTargets() {
		s.send(p.assoc, 0, messages.NewSignallingCongestion(nil, activeRCs(p), apcParam(pc), nil,
			params.NewCongestionIndications(level), nil))
	}
}

// ReportUserPartUnavailable: MTP3 user user (a service indicator) at
// destination pc is unavailable for cause. Every active ASP gets DUPU.
// Nothing is remembered: an MTP3 user part comes back without notice.
func (s *SGP) ReportUserPartUnavailable(now time.Time, pc uint32, user uint8, cause uint16) {
	for _, p := range s.ssnmTargets() {
		s.send(p.assoc, 0, messages.NewDestinationUserPartUnavailable(nil, activeRCs(p), apcParam(pc&0xffffff),
			u32Param(params.UserCause, uint32(cause)<<16|uint32(user)), nil))
	}
}

// tellState brings an ASP that has just become active in the ASes rcs up to
// date with the destinations whose state is not the default (available,
// uncongested): DUNA for the unavailable ones, DRST for the restricted
// ones, then SCON per congestion level, each carrying rcs.
//
// RFC 4666 4.5.1 has the SGP inform the concerned ASPs (the active ones)
// when a destination's status changes, and 4.5.3 lets an ASP that becomes
// active audit (DAUD) to learn what it missed. An ASP that does not audit
// would route towards a destination the SGP declared unavailable before
// it was active; this sends it what an audit of every known destination
// would report that differs from the default, unasked, so every active
// ASP holds the same view whenever it became active. Point codes share one
// message as far as the Affected Point Code parameter and the SCTP message
// size allow (RFC 4666 3.4.1: the parameter lists several point codes).
func (s *SGP) tellState(p *sgpPeer, rcs []uint32) {
	if len(s.dests) == 0 {
		return
	}
	var unavailable, restricted []uint32
	congested := map[uint8][]uint32{}
	for _, pc := range slices.Sorted(maps.Keys(s.dests)) {
		d := s.dests[pc]
		switch d.status {
		case DestUnavailable:
			unavailable = append(unavailable, pc)
		case DestRestricted:
			restricted = append(restricted, pc)
		}
		if d.congestion > 0 && d.status != DestUnavailable {
			congested[d.congestion] = append(congested[d.congestion], pc)
		}
	}
	per := ssnmAPCsPerMessage(len(rcs))
	rc := func() *params.Param { return params.NewRoutingContext(rcs...) }
	for _, batch := range chunks(unavailable, per) {
		s.send(p.assoc, 0, statusMessage(DestUnavailable, rc(), apcParam(batch...)))
	}
	for _, batch := range chunks(restricted, per) {
		s.send(p.assoc, 0, statusMessage(DestRestricted, rc(), apcParam(batch...)))
	}
	for _, level := range slices.Sorted(maps.Keys(congested)) {
		for _, batch := range chunks(congested[level], per) {
			s.send(p.assoc, 0, messages.NewSignallingCongestion(nil, rc(), apcParam(batch...), nil,
				params.NewCongestionIndications(level), nil))
		}
	}
}

// ssnmAPCsPerMessage is how many affected point codes one SSNM message
// with nrc routing contexts carries: the Affected Point Code parameter's
// 16-bit length bounds it, and so does the largest message the SCTP layer
// carries whole (common header 8, Routing Context 4+4*nrc, Congestion
// Indications 8, the APC parameter's own header 4).
func ssnmAPCsPerMessage(nrc int) int {
	room := (sctp.MaxMessage - 8 - (4 + 4*nrc) - 8 - 4) / 4
	return max(1, min(room, (0xffff-4)/4))
}

// chunks splits xs into runs of at most n.
func chunks(xs []uint32, n int) [][]uint32 {
	var out [][]uint32
	for len(xs) > 0 {
		k := min(n, len(xs))
		out = append(out, xs[:k])
		xs = xs[k:]
	}
	return out
}

// Destination returns what the SGP knows of destination pc.
func (s *SGP) Destination(pc uint32) (DestStatus, uint8) {
	if d := s.dests[pc&0xffffff]; d != nil {
		return d.status, d.congestion
	}
	return DestUnknown, 0
}

// audit answers a DAUD (RFC 4666 4.5.3): per audited point code (or, with
// a mask, per known point code it covers), DAVA, DUNA or DRST, and SCON
// when congested. Point codes the SGP knows nothing of get ERR
// "Destination Status Unknown" carrying them.
func (s *SGP) audit(p *sgpPeer, m *messages.DestinationStateAudit) *ProtocolError {
	if !p.up {
		return perr(ErrUnexpectedMessage, "DAUD while ASP-DOWN")
	}
	if pe := s.checkNA(m.NetworkAppearance); pe != nil {
		return pe
	}
	apcs := uint32s(m.AffectedPointCode)
	s.event(AuditReceived{Assoc: p.assoc, APCs: apcs})
	var rc *params.Param
	if m.RoutingContext != nil {
		rc = params.NewRoutingContext(uint32s(m.RoutingContext)...)
	}
	byStatus := map[DestStatus][]uint32{}
	var congested []uint32
	var unknown []uint32
	for _, apc := range apcs {
		found := false
		if apc>>24 == 0 {
			if d := s.dests[apc]; d != nil && d.status != DestUnknown {
				byStatus[d.status] = append(byStatus[d.status], apc)
				if d.congestion > 0 {
					congested = append(congested, apc)
				}
				found = true
			}
		} else {
			for _, pc := range slices.Sorted(maps.Keys(s.dests)) {
				if d := s.dests[pc]; d.status != DestUnknown && covers(apc, pc) {
					byStatus[d.status] = append(byStatus[d.status], pc)
					if d.congestion > 0 {
						congested = append(congested, pc)
					}
					found = true
				}
			}
		}
		if !found {
			unknown = append(unknown, apc)
		}
	}
	for _, st := range []DestStatus{DestAvailable, DestRestricted, DestUnavailable} {
		if pcs := byStatus[st]; len(pcs) > 0 {
			s.send(p.assoc, 0, statusMessage(st, rc, apcParam(pcs...)))
		}
	}
	for _, pc := range congested {
		s.send(p.assoc, 0, messages.NewSignallingCongestion(nil, rc, apcParam(pc), nil,
			params.NewCongestionIndications(s.dests[pc].congestion), nil))
	}
	if len(unknown) > 0 {
		pe := perr(ErrDestinationStatusUnknown, "DAUD for point codes the SGP has no status of")
		pe.RoutingContexts = uint32s(m.RoutingContext)
		pe.AffectedPointCodes = unknown
		return pe
	}
	return nil
}

// ssnm handles SSNM at the ASP: it updates the view of the SS7
// destinations and raises events.
func (s *ASP) ssnm(m messages.M3UA) *ProtocolError {
	if s.state == ASPDown {
		return perr(ErrUnexpectedMessage, "%s while ASP-DOWN", MessageName(m.MessageClass(), m.MessageType()))
	}
	a := s.assoc
	if pe := s.checkSSNMRC(m); pe != nil {
		return pe
	}
	switch m := m.(type) {
	case *messages.DestinationUnavailable:
		s.setDests(uint32s(m.AffectedPointCode), DestUnavailable, m.RoutingContext)
	case *messages.DestinationAvailable:
		s.setDests(uint32s(m.AffectedPointCode), DestAvailable, m.RoutingContext)
	case *messages.DestinationRestricted:
		s.setDests(uint32s(m.AffectedPointCode), DestRestricted, m.RoutingContext)
	case *messages.SignallingCongestion:
		apcs := uint32s(m.AffectedPointCode)
		level := uint8(0)
		if v, ok := uint32Of(m.CongestionIndications); ok {
			level = uint8(v)
		}
		concerned, _ := uint32Of(m.ConcernedDestination)
		for _, apc := range apcs {
			d := s.dest(apc)
			d.congestion = level
		}
		s.event(CongestionChanged{Assoc: a, APCs: apcs, Level: level, Concerned: concerned})
	case *messages.DestinationUserPartUnavailable:
		uc, _ := uint32Of(m.UserCause)
		s.event(UserPartUnavailable{Assoc: a, APCs: uint32s(m.AffectedPointCode), User: uint16(uc), Cause: uint16(uc >> 16)})
	default: // DAUD: only an SGP answers it
		return perr(ErrUnexpectedMessage, "%s at the ASP", MessageName(m.MessageClass(), m.MessageType()))
	}
	return nil
}

func (s *ASP) dest(apc uint32) *destInfo {
	d := s.dests[apc]
	if d == nil {
		d = &destInfo{status: DestAvailable}
		s.dests[apc] = d
	}
	return d
}

func (s *ASP) setDests(apcs []uint32, st DestStatus, rc *params.Param) {
	for _, apc := range apcs {
		if apc>>24 != 0 {
			// A wildcard replaces what was known of the point codes it covers.
			for k := range s.dests {
				if k>>24 == 0 && covers(apc, k) {
					delete(s.dests, k)
				}
			}
		}
		d := s.dest(apc)
		d.status = st
		if st == DestUnavailable {
			d.congestion = 0
		}
	}
	s.event(DestinationChanged{Assoc: s.assoc, APCs: apcs, Status: st, RCs: uint32s(rc)})
}

// Reachable returns the ASP's view of destination pc: its status (never
// DestUnknown: an SGP that said nothing leaves it available) and its
// congestion level. An exact report wins over a wildcard one.
func (s *ASP) Reachable(pc uint32) (DestStatus, uint8) {
	pc &= 0xffffff
	if d := s.dests[pc]; d != nil {
		return d.status, d.congestion
	}
	best := -1
	var out *destInfo
	for k, d := range s.dests {
		if m := int(k >> 24); k>>24 != 0 && covers(k, pc) && (best < 0 || m < best) {
			best, out = m, d
		}
	}
	if out != nil {
		return out.status, out.congestion
	}
	return DestAvailable, 0
}

// Audit sends DAUD for the affected point codes apcs (see APC for masks),
// with the configured routing contexts. The SGP answers with DAVA, DUNA,
// DRST, SCON or ERR "Destination Status Unknown", which the ASP handles as
// any other SSNM.
func (s *ASP) Audit(now time.Time, apcs ...uint32) {
	if !s.up || s.state == ASPDown || len(apcs) == 0 {
		return
	}
	var rc *params.Param
	if len(s.cfg.RCs) > 0 {
		rc = params.NewRoutingContext(s.cfg.RCs...)
	}
	s.send(s.assoc, 0, messages.NewDestinationStateAudit(nil, rc, apcParam(apcs...), nil))
}

// checkSSNMRC refuses SSNM naming a routing context this ASP does not
// serve, with ERR Invalid Routing Context naming them (RFC 4666 3.8.1). An
// ASP configured without routing contexts takes any.
func (s *ASP) checkSSNMRC(m messages.M3UA) *ProtocolError {
	if len(s.cfg.RCs) == 0 {
		return nil
	}
	var rcp *params.Param
	switch m := m.(type) {
	case *messages.DestinationUnavailable:
		rcp = m.RoutingContext
	case *messages.DestinationAvailable:
		rcp = m.RoutingContext
	case *messages.DestinationRestricted:
		rcp = m.RoutingContext
	case *messages.SignallingCongestion:
		rcp = m.RoutingContext
	case *messages.DestinationUserPartUnavailable:
		rcp = m.RoutingContext
	}
	var bad []uint32
	for _, rc := range uint32s(rcp) {
		if !slices.Contains(s.cfg.RCs, rc) {
			bad = append(bad, rc)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	pe := perr(ErrInvalidRoutingContext, "%s for routing contexts %v", MessageName(m.MessageClass(), m.MessageType()), bad)
	pe.RoutingContexts = bad
	return pe
}
