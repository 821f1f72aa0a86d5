package m3ua

import (
	"slices"
	"time"

	"github.com/wmnsk/go-m3ua/messages/params"
)

// RegistrationPolicy says what an SGP does with routing key registrations
// (RFC 4666 4.4).
type RegistrationPolicy uint8

// Registration policies.
const (
	// StaticOnly accepts a registration only for a routing key (or routing
	// context) the configuration has; any other gets "Routing Key not
	// Currently Provisioned" (RFC 4666 3.6.2 status 7: the SGP does not
	// create ASes on request, and nothing configured matches).
	StaticOnly RegistrationPolicy = iota
	// DynamicPermitted also creates an AS for a routing key nobody
	// configured, with a routing context the SGP allocates.
	DynamicPermitted
)

func (p RegistrationPolicy) String() string {
	if p == DynamicPermitted {
		return "dynamic"
	}
	return "static"
}

// Defaults for dynamic registration.
const (
	DefaultDynamicRCBase = 1000
	DefaultMaxDynamic    = 256
)

// ASRegistered: the ASP on Assoc registered routing key Key; the AS has
// routing context RC. Created is true when the SGP made the AS for it.
type ASRegistered struct {
	Assoc   AssocID
	RC      uint32
	Key     RoutingKey
	Created bool
}

// ASDeregistered: the ASP on Assoc deregistered routing context RC (or its
// association went). Removed is true when the AS, a dynamic one with no
// ASP left, is gone.
type ASDeregistered struct {
	Assoc   AssocID
	RC      uint32
	Removed bool
}

func (ASRegistered) isEvent()   {}
func (ASDeregistered) isEvent() {}

// sameKey reports whether two routing keys select the same traffic: the
// same DPC (and mask), network appearance, service indicators and OPCs.
// The local identifier, routing context and traffic mode do not count.
func sameKey(a, b *RoutingKey) bool {
	if a.DPC != b.DPC || a.HasNA != b.HasNA || (a.HasNA && a.NA != b.NA) {
		return false
	}
	si := func(x []uint8) []uint8 { return slices.Compact(slices.Sorted(slices.Values(x))) }
	opc := func(x []uint32) []uint32 { return slices.Compact(slices.Sorted(slices.Values(x))) }
	return slices.Equal(si(a.SIs), si(b.SIs)) && slices.Equal(opc(a.OPCs), opc(b.OPCs))
}

// register answers REG REQ with one result per routing key, in order.
func (s *SGP) register(now time.Time, p *sgpPeer, m *RegReq) *ProtocolError {
	if !p.up {
		return perr(ErrUnexpectedMessage, "REG REQ while ASP-DOWN")
	}
	rsp := &RegRsp{}
	var created []*appServer
	for i := range m.Keys {
		k := &m.Keys[i]
		rc, st, as := s.registerKey(now, p, k)
		rsp.Results = append(rsp.Results, RegResult{LocalRKID: k.LocalRKID, Status: st, RC: rc})
		if as != nil {
			fresh := as.dynamic && len(as.owners) == 0
			as.owners[p.assoc] = true
			if fresh {
				created = append(created, as)
			}
			s.event(ASRegistered{Assoc: p.assoc, RC: rc, Key: *k, Created: fresh})
		}
	}
	s.send(p.assoc, 0, rsp)
	// After the response, as osmo-stp and RFC 4666 4.4.1 order it: the new
	// AS has an ASP up, so it is AS-INACTIVE (and the ASP hears NTFY).
	for _, as := range created {
		s.setAS(now, as, ASInactive)
	}
	return nil
}

// registerKey decides one routing key: the routing context and status to
// answer, and the AS the ASP joins on success.
func (s *SGP) registerKey(now time.Time, p *sgpPeer, k *RoutingKey) (uint32, uint32, *appServer) {
	if s.cfg.HasNA && k.HasNA && k.NA != s.cfg.NA {
		return 0, params.InvalidNetworkAppearance, nil
	}
	if k.badMode() {
		// RFC 4666 3.6.2: an undefined Traffic Mode Type in the key.
		return 0, params.UnsupportedTrafficHandlingMode, nil
	}
	if len(s.cfg.DPCs) > 0 && !slices.Contains(s.cfg.DPCs, k.DPC&0xffffff) {
		// RFC 4666 3.6.2 status 2, "Invalid DPC": the SGP does not serve
		// that point code.
		return 0, params.InvalidDPC, nil
	}
	var as *appServer
	if k.HasRC {
		as = s.ases[k.RC]
		if as != nil && as.cfg.Key != nil && !sameKey(as.cfg.Key, k) {
			// The key names an AS whose routing key is another one.
			return 0, params.InvalidRoutingKey, nil
		}
	} else {
		for _, rc := range s.rcs {
			if a := s.ases[rc]; a.cfg.Key != nil && sameKey(a.cfg.Key, k) {
				as = a
				break
			}
		}
	}
	if as != nil {
		if !as.dynamic && !s.allowed(p, as) {
			// RFC 4666 3.6.2 status 5: the key is configured, for other
			// ASPs than this one.
			return 0, params.PermissionDenied, nil
		}
		if k.Mode != 0 && k.Mode != as.cfg.Mode {
			return 0, params.UnsupportedTrafficHandlingMode, nil
		}
		if as.owners[p.assoc] {
			return as.cfg.RC, params.RoutingKeyAlreadyRegistered, nil
		}
		return as.cfg.RC, params.SuccessfullyRegistered, as
	}
	if s.cfg.Registration != DynamicPermitted {
		return 0, params.RoutingKeynotCurrentlyProvisioned, nil
	}
	dynamic := 0
	for _, a := range s.ases {
		if a.dynamic {
			dynamic++
		}
	}
	if dynamic >= s.cfg.MaxDynamic {
		return 0, params.InsufficientResources, nil
	}
	rc := k.RC
	if !k.HasRC {
		for rc = s.cfg.DynamicRCBase; s.ases[rc] != nil; rc++ {
		}
	}
	mode := k.Mode
	if mode == 0 {
		mode = Override
	}
	key := *k
	key.RC, key.HasRC, key.LocalRKID, key.Mode = 0, false, 0, 0
	key.SIs, key.OPCs = slices.Clone(k.SIs), slices.Clone(k.OPCs)
	as = &appServer{
		cfg: ASConfig{RC: rc, Mode: mode, MinActive: 1, Recovery: DefaultRecovery,
			QueueLimit: DefaultQueueLimit, Key: &key},
		dynamic: true,
		owners:  map[AssocID]bool{},
	}
	s.ases[rc] = as
	s.rcs = append(s.rcs, rc)
	return rc, params.SuccessfullyRegistered, as
}

// deregister answers DEREG REQ with one result per routing context.
func (s *SGP) deregister(now time.Time, p *sgpPeer, m *DeregReq) *ProtocolError {
	if !p.up {
		return perr(ErrUnexpectedMessage, "DEREG REQ while ASP-DOWN")
	}
	rsp := &DeregRsp{}
	var gone []*appServer
	for _, rc := range m.RCs {
		as := s.ases[rc]
		var st uint32
		switch {
		case as == nil:
			st = params.DeregInvalidRoutingContext
		case !s.serves(p, as):
			// RFC 4666 3.6.4 status 3, "Permission Denied": the AS exists
			// but is not this ASP's to deregister (a dynamic AS only
			// other ASPs registered, or one limited to other ASPs).
			st = params.DeregPermissionDenied
		case !as.owners[p.assoc]:
			st = params.DeregNotRegistered
		case p.active[rc]:
			st = params.DeregASPActiveForRoutingContext
		default:
			st = params.SuccessfullyDeregistered
			delete(as.owners, p.assoc)
			removed := as.dynamic && len(as.owners) == 0
			if removed {
				gone = append(gone, as)
			}
			s.event(ASDeregistered{Assoc: p.assoc, RC: rc, Removed: removed})
		}
		// RFC 4666 3.6.4: the result carries the routing context asked for.
		rsp.Results = append(rsp.Results, DeregResult{RC: rc, Status: st})
	}
	s.send(p.assoc, 0, rsp)
	for _, as := range gone {
		s.removeAS(now, as, p.assoc, false)
	}
	return nil
}

// removeAS deletes a dynamic AS nobody serves any more; announce raises
// ASDeregistered for it (the association of a went).
func (s *SGP) removeAS(now time.Time, as *appServer, a AssocID, announce bool) {
	rc := as.cfg.RC
	s.stop(TimerID{Kind: TimerRecovery, RC: rc})
	s.counters.RecoveryDrops += uint64(len(as.queue))
	as.queue = nil
	if as.state != ASDown {
		// Nobody serves it, so nobody is told; the layer above hears.
		s.event(ASStateChanged{RC: rc, From: as.state, To: ASDown})
		as.state = ASDown
	}
	delete(s.ases, rc)
	s.rcs = slices.DeleteFunc(s.rcs, func(r uint32) bool { return r == rc })
	if announce {
		s.event(ASDeregistered{Assoc: a, RC: rc, Removed: true})
	}
}
