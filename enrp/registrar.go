package enrp

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Registrar is the sans-I/O core of a pool registrar: the ASAP server side
// (registration, deregistration, handle resolution, endpoint keep-alives,
// unreachable reports) and ENRP peering (presence, handle table transfer,
// handle updates, list exchange, checksum resynchronisation, mentor
// discovery, takeover). Its methods take one input and "now"; Ready returns
// what to do. Not safe for concurrent use.
type Registrar struct {
	cfg Config
	hs  *rserpool.Handlespace
	out Ready

	nextConn  ConnID
	conns     map[ConnID]*conn
	statics   []static
	peers     map[uint32]*peer
	mine      map[elemKey]*home
	serials   map[uint64]elemKey
	serial    uint64
	reports   map[elemKey]map[string]time.Time
	takeovers map[uint32]*takeover
	taken     map[uint32][]elemKey // elements each completed takeover gave us, by target
	armed     map[TimerID]time.Time
	hunting   bool // mentor hunt
	mentor    uint32
	counters  Counters
	scratch   []*rserpool.Element
}

type elemKey struct {
	handle string
	id     uint32
}

// home is an element this registrar is home of.
type home struct {
	serial  uint64
	conn    ConnID // ASAP association keep-alives go on (0: none)
	pending bool   // keep-alive sent, ack awaited
	claim   bool   // taken over: the next keep-alive carries the H flag
}

type conn struct {
	kind     ConnKind
	up       bool
	remote   netip.Addr
	from     sctp.Addr // the remote transport address, as accepted or dialed
	static   int       // index in statics, or -1
	accepted bool      // the peer dialed it
	peer     uint32    // ENRP: the peer's server ID once heard
	res      bucket
	rep      bucket
	// Takeover dials: elements waiting for the association.
	waiting []elemKey
	// Handle table transfer: elements already sent (M flag), and what a
	// resynchronisation collected so far.
	cursor int
}

type static struct {
	addr sctp.Addr
	conn ConnID
}

type peer struct {
	id        uint32
	conn      ConnID
	info      *rserpool.ServerInformation
	suspect   bool
	resync    map[elemKey]bool // elements seen in a resync in progress
	syncing   bool             // full table from the mentor in progress
	retry     bool             // the mentor rejected the table request: ask again on its next presence
	got       int              // elements received in the table transfer so far
	lastHeard time.Time
}

type takeover struct {
	pending map[uint32]bool
}

// bucket is a token bucket.
type bucket struct {
	tokens float64
	last   time.Time
	init   bool
}

func (b *bucket) take(now time.Time, rate, burst int) bool {
	if !b.init {
		b.tokens, b.last, b.init = float64(burst), now, true
	}
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens = min(float64(burst), b.tokens+dt.Seconds()*float64(rate))
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// New returns a registrar core.
func New(cfg Config) *Registrar {
	cfg.defaults()
	return &Registrar{
		cfg:       cfg,
		hs:        rserpool.NewHandlespace(cfg.Rand),
		conns:     map[ConnID]*conn{},
		peers:     map[uint32]*peer{},
		mine:      map[elemKey]*home{},
		serials:   map[uint64]elemKey{},
		reports:   map[elemKey]map[string]time.Time{},
		takeovers: map[uint32]*takeover{},
		taken:     map[uint32][]elemKey{},
		armed:     map[TimerID]time.Time{},
	}
}

// ServerID returns the registrar's identifier.
func (r *Registrar) ServerID() uint32 { return r.cfg.ServerID }

// Handlespace returns the handlespace (read it only between inputs).
func (r *Registrar) Handlespace() *rserpool.Handlespace { return r.hs }

// Checksum returns the PE checksum over the elements whose home is
// registrar id.
func (r *Registrar) Checksum(id uint32) uint16 { return r.hs.Checksum(id) }

// Counters returns a copy of the counters.
func (r *Registrar) Counters() Counters { return r.counters }

// Peers returns the server IDs of the live peers, in order.
func (r *Registrar) Peers() []uint32 {
	var ids []uint32
	for id := range r.peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Ready returns the outputs queued since the last call, and clears them.
func (r *Registrar) Ready() Ready {
	out := r.out
	r.out = Ready{}
	return out
}

// ---------------------------------------------------------------- outputs

func (r *Registrar) arm(id TimerID, at time.Time) {
	r.armed[id] = at
	r.out.Timers = append(r.out.Timers, TimerOp{ID: id, At: at})
}

func (r *Registrar) stop(id TimerID) {
	if _, ok := r.armed[id]; ok {
		delete(r.armed, id)
		r.out.Timers = append(r.out.Timers, TimerOp{ID: id, Stop: true})
	}
}

func (r *Registrar) emit(e Event) { r.out.Events = append(r.out.Events, e) }

func (r *Registrar) sendASAP(c ConnID, m rserpool.Message) {
	r.counters.ASAPOut[m.Type()&15]++
	r.out.Sends = append(r.out.Sends, Send{Conn: c, ASAP: m})
}

func (r *Registrar) sendENRP(c ConnID, m Message) {
	r.counters.ENRPOut[m.Type()&15]++
	r.out.Sends = append(r.out.Sends, Send{Conn: c, ENRP: m})
}

func (r *Registrar) dial(kind ConnKind, addr sctp.Addr, static int) ConnID {
	r.nextConn++
	id := r.nextConn
	r.conns[id] = &conn{kind: kind, static: static, remote: first(addr.IPs), from: addr}
	r.out.Dials = append(r.out.Dials, Dial{Conn: id, Kind: kind, Addr: addr})
	return id
}

func first(ips []netip.Addr) netip.Addr {
	if len(ips) == 0 {
		return netip.Addr{}
	}
	return ips[0]
}

func (r *Registrar) servers(to uint32) Servers {
	return Servers{Sender: r.cfg.ServerID, Receiver: to}
}

func (r *Registrar) info() *rserpool.ServerInformation {
	if len(r.cfg.ENRPTransport.Addrs) == 0 {
		return nil
	}
	return &rserpool.ServerInformation{ServerID: r.cfg.ServerID, Transport: r.cfg.ENRPTransport}
}

func (r *Registrar) presence(to uint32, reply bool) *Presence {
	return &Presence{Servers: r.servers(to), ReplyRequired: reply,
		Checksum: r.hs.Checksum(r.cfg.ServerID), Info: r.info()}
}

// livePeers returns the peers with an association up, by server ID.
func (r *Registrar) livePeers() []*peer {
	var ps []*peer
	for _, p := range r.peers {
		if c := r.conns[p.conn]; c != nil && c.up {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b *peer) int { return cmp.Compare(a.id, b.id) })
	return ps
}

// toPeers sends one message per live peer, built by mk.
func (r *Registrar) toPeers(except uint32, mk func(to uint32) Message) {
	for _, p := range r.livePeers() {
		if p.id != except {
			r.sendENRP(p.conn, mk(p.id))
		}
	}
}

func (r *Registrar) update(action UpdateAction, e *rserpool.Element) {
	pe := e.PoolElement()
	h := e.Pool().Handle()
	r.toPeers(0, func(to uint32) Message {
		return &HandleUpdate{Servers: r.servers(to), Action: action, PoolHandle: h, Element: pe}
	})
}

func (r *Registrar) rearmExpiry() {
	id := TimerID{Kind: TimerExpiry}
	if t, ok := r.hs.NextExpiry(); ok {
		if at, armed := r.armed[id]; !armed || !at.Equal(t) {
			r.arm(id, t)
		}
	} else {
		r.stop(id)
	}
}

// ---------------------------------------------------------------- lifecycle

// Start dials the static peers and starts the mentor hunt and the
// heartbeat cycle.
func (r *Registrar) Start(now time.Time) {
	for i, a := range r.cfg.Peers {
		r.statics = append(r.statics, static{addr: a})
		r.statics[i].conn = r.dial(ENRP, a, i)
	}
	if len(r.statics) > 0 {
		r.hunting = true
		r.arm(TimerID{Kind: TimerMentor}, now.Add(r.cfg.MentorHunt))
	}
	r.arm(TimerID{Kind: TimerHeartbeat}, now.Add(r.cfg.PeerHeartbeat))
}

// Accepted: the driver accepted an association of the given kind from
// remote. The returned ID names it from now on.
func (r *Registrar) Accepted(now time.Time, kind ConnKind, remote sctp.Addr) ConnID {
	r.nextConn++
	id := r.nextConn
	r.conns[id] = &conn{kind: kind, up: true, static: -1, accepted: true, remote: first(remote.IPs), from: remote}
	return id
}

// Up: the association c (from a Dial) is established.
func (r *Registrar) Up(now time.Time, c ConnID) {
	cn := r.conns[c]
	if cn == nil || cn.up {
		return
	}
	cn.up = true
	switch cn.kind {
	case ENRP:
		// Say who we are and ask for theirs.
		r.sendENRP(c, r.presence(0, true))
	case ASAP:
		for _, k := range cn.waiting {
			if h := r.mine[k]; h != nil && h.conn == c {
				r.keepAlive(now, k, h)
			}
		}
		cn.waiting = nil
	}
}

// Down: association c ended, or could not be set up.
func (r *Registrar) Down(now time.Time, c ConnID) {
	cn := r.conns[c]
	if cn == nil {
		return
	}
	delete(r.conns, c)
	switch cn.kind {
	case ASAP:
		var lost []elemKey
		for k, h := range r.mine {
			if h.conn == c {
				lost = append(lost, k)
			}
		}
		sortKeys(lost)
		for _, k := range lost {
			if !cn.up && !cn.accepted {
				// A takeover could not reach the element's ASAP
				// transport (an element that gave none has the address
				// it registered from, where it may not listen): it
				// keeps its lifetime, as one without a transport does,
				// and re-registers with a live registrar.
				r.forget(k, r.mine[k])
				continue
			}
			r.remove(now, k, RemovedConnLost)
		}
	case ENRP:
		if p := r.peers[cn.peer]; p != nil && p.conn == c {
			// Nothing can be heard on it any more: the peer has
			// max-time-no-response to show up on another association.
			p.suspect = true
			r.stop(TimerID{Kind: TimerLastHeard, Key: uint64(p.id)})
			if _, ok := r.armed[TimerID{Kind: TimerNoResponse, Key: uint64(p.id)}]; !ok {
				r.arm(TimerID{Kind: TimerNoResponse, Key: uint64(p.id)}, now.Add(r.cfg.MaxTimeNoResponse))
			}
		}
		if cn.static >= 0 {
			r.arm(TimerID{Kind: TimerRedial, Key: uint64(cn.static)}, now.Add(r.cfg.Redial))
		}
	}
}

func sortKeys(ks []elemKey) {
	slices.SortFunc(ks, func(a, b elemKey) int {
		if c := cmp.Compare(a.handle, b.handle); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
}

// Timer: the timer id fired.
func (r *Registrar) Timer(now time.Time, id TimerID) {
	at, ok := r.armed[id]
	if !ok || now.Before(at) {
		return
	}
	delete(r.armed, id)
	switch id.Kind {
	case TimerKeepAlive:
		if k, ok := r.serials[id.Key]; ok {
			r.keepAlive(now, k, r.mine[k])
		}
	case TimerKeepAliveTimeout:
		if k, ok := r.serials[id.Key]; ok {
			r.remove(now, k, RemovedKeepAlive)
		}
	case TimerHeartbeat:
		for _, p := range r.livePeers() {
			r.sendENRP(p.conn, r.presence(p.id, false))
		}
		for _, s := range r.statics {
			// Not identified yet, or declared dead while the association
			// stayed up (a partition): ask whoever is there to answer.
			if c := r.conns[s.conn]; c != nil && c.up && (c.peer == 0 || r.peers[c.peer] == nil) {
				r.sendENRP(s.conn, r.presence(0, true))
			}
		}
		r.arm(id, now.Add(r.cfg.PeerHeartbeat))
	case TimerLastHeard:
		p := r.peers[uint32(id.Key)]
		if p == nil {
			return
		}
		p.suspect = true
		if c := r.conns[p.conn]; c != nil && c.up {
			r.sendENRP(p.conn, r.presence(p.id, true))
		}
		r.arm(TimerID{Kind: TimerNoResponse, Key: id.Key}, now.Add(r.cfg.MaxTimeNoResponse))
	case TimerNoResponse:
		if p := r.peers[uint32(id.Key)]; p != nil {
			r.peerDead(now, p)
		}
	case TimerTakeover:
		if _, ok := r.takeovers[uint32(id.Key)]; ok {
			r.finishTakeover(now, uint32(id.Key))
		}
	case TimerExpiry:
		r.scratch = r.hs.Expire(now, r.scratch[:0])
		for _, e := range r.scratch {
			k := elemKey{string(e.Pool().Handle()), e.ID()}
			if h := r.mine[k]; h != nil {
				r.forget(k, h)
				r.update(DelPE, e)
			}
			r.counters.Removed[RemovedExpired]++
			r.emit(Removed{Handle: e.Pool().Handle(), ID: e.ID(), Home: e.Home(), Reason: RemovedExpired})
			delete(r.reports, k)
		}
		r.rearmExpiry()
	case TimerMentor:
		r.hunting = false
	case TimerRedial:
		if i := int(id.Key); i < len(r.statics) {
			if _, ok := r.conns[r.statics[i].conn]; !ok {
				r.statics[i].conn = r.dial(ENRP, r.statics[i].addr, i)
			}
		}
	}
}

// ---------------------------------------------------------------- elements

// adopt makes this registrar monitor element k over association c.
func (r *Registrar) adopt(now time.Time, k elemKey, c ConnID, claim bool) *home {
	return r.adoptArm(now, k, c, claim, true)
}

func (r *Registrar) adoptArm(now time.Time, k elemKey, c ConnID, claim, arm bool) *home {
	h := r.mine[k]
	if h == nil {
		r.serial++
		h = &home{serial: r.serial}
		r.mine[k] = h
		r.serials[h.serial] = k
	}
	h.conn, h.claim = c, claim
	if arm && !h.pending {
		r.arm(TimerID{Kind: TimerKeepAlive, Key: h.serial}, now.Add(r.cfg.KeepAlive))
	}
	return h
}

// forget stops monitoring element k (it left, or another registrar is its
// home now).
func (r *Registrar) forget(k elemKey, h *home) {
	r.stop(TimerID{Kind: TimerKeepAlive, Key: h.serial})
	r.stop(TimerID{Kind: TimerKeepAliveTimeout, Key: h.serial})
	delete(r.serials, h.serial)
	delete(r.mine, k)
}

func (r *Registrar) keepAlive(now time.Time, k elemKey, h *home) {
	if h == nil {
		return
	}
	c := r.conns[h.conn]
	if c != nil && c.up {
		r.sendASAP(h.conn, &rserpool.EndpointKeepAlive{Home: h.claim, ServerID: r.cfg.ServerID,
			PoolHandle: []byte(k.handle), HasID: true, ID: k.id})
	}
	h.pending = true
	r.arm(TimerID{Kind: TimerKeepAliveTimeout, Key: h.serial}, now.Add(r.cfg.KeepAliveTimeout))
}

// remove takes element k out of the handlespace without a
// deregistration, and tells the peers.
func (r *Registrar) remove(now time.Time, k elemKey, why RemoveReason) {
	if h := r.mine[k]; h != nil {
		r.forget(k, h)
	}
	delete(r.reports, k)
	e := r.hs.Find([]byte(k.handle), k.id)
	if e == nil {
		return
	}
	r.update(DelPE, e)
	home := e.Home()
	r.hs.Deregister([]byte(k.handle), k.id)
	r.counters.Removed[why]++
	r.emit(Removed{Handle: []byte(k.handle), ID: k.id, Home: home, Reason: why})
	r.rearmExpiry()
}

// ---------------------------------------------------------------- ASAP

// ASAPBytes decodes and handles an ASAP message from association c;
// undecodable messages are answered with an ASAP_ERROR.
func (r *Registrar) ASAPBytes(now time.Time, c ConnID, b []byte) {
	m, report, err := rserpool.DecodeMessage(b)
	if err != nil {
		r.counters.Undecodable++
		e, _ := err.(*rserpool.Error)
		if e == nil {
			e = &rserpool.Error{Cause: rserpool.CauseUnspecified, Reason: err.Error()}
		}
		r.refuseASAP(c, e)
		return
	}
	if len(report) > 0 {
		causes := make([]rserpool.ErrorCause, len(report))
		for i, p := range report {
			causes[i] = rserpool.ErrorCause{Code: rserpool.CauseUnrecognizedParameter, Info: p.TLV}
		}
		r.counters.Causes[rserpool.CauseUnrecognizedParameter]++
		r.sendASAP(c, &rserpool.ErrorMessage{Causes: causes})
	}
	r.ASAPMessage(now, c, m)
}

func (r *Registrar) refuseASAP(c ConnID, e *rserpool.Error) {
	r.emit(Refused{Conn: c, Err: e})
	if !e.Silent {
		r.counters.Causes[e.Cause&15]++
		r.sendASAP(c, &rserpool.ErrorMessage{Causes: []rserpool.ErrorCause{e.ErrorCause()}})
	}
}

// ASAPMessage handles an ASAP message from association c.
func (r *Registrar) ASAPMessage(now time.Time, c ConnID, m rserpool.Message) {
	cn := r.conns[c]
	if cn == nil {
		return
	}
	r.counters.ASAPIn[m.Type()&15]++
	switch m := m.(type) {
	case *rserpool.Registration:
		r.register(now, c, cn, m)
	case *rserpool.Deregistration:
		k := elemKey{string(m.PoolHandle), m.ID}
		if e := r.hs.Find(m.PoolHandle, m.ID); e != nil {
			if h := r.mine[k]; h != nil {
				r.forget(k, h)
			}
			delete(r.reports, k)
			r.update(DelPE, e)
			r.hs.Deregister(m.PoolHandle, m.ID)
			r.rearmExpiry()
			r.emit(Deregistered{Handle: m.PoolHandle, ID: m.ID})
		}
		r.sendASAP(c, &rserpool.DeregistrationResponse{PoolHandle: m.PoolHandle, ID: m.ID})
	case *rserpool.HandleResolution:
		if !cn.res.take(now, r.cfg.ResolutionRate, r.cfg.ResolutionBurst) {
			r.counters.RateLimited++
			r.emit(RateLimited{Conn: c, Type: m.Type()})
			return
		}
		r.resolve(c, m)
	case *rserpool.EndpointKeepAliveAck:
		k := elemKey{string(m.PoolHandle), m.ID}
		if h := r.mine[k]; h != nil && h.pending {
			h.pending, h.claim = false, false
			if h.conn != c { // the element answered on another association
				h.conn = c
			}
			r.stop(TimerID{Kind: TimerKeepAliveTimeout, Key: h.serial})
			r.arm(TimerID{Kind: TimerKeepAlive, Key: h.serial}, now.Add(r.cfg.KeepAlive))
		}
	case *rserpool.EndpointUnreachable:
		if !cn.rep.take(now, r.cfg.ReportRate, r.cfg.ReportBurst) {
			r.counters.RateLimited++
			r.emit(RateLimited{Conn: c, Type: m.Type()})
			return
		}
		r.reported(now, c, cn, m)
	case *rserpool.ErrorMessage:
		// Nothing to answer; counted.
	default:
		r.refuseASAP(c, &rserpool.Error{Cause: rserpool.CauseUnrecognizedMessage, Reason: "not for a registrar: " + m.Type().String()})
	}
}

func (r *Registrar) allowed(a netip.Addr) bool {
	if len(r.cfg.Allow) == 0 {
		return true
	}
	for _, p := range r.cfg.Allow {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

func (r *Registrar) register(now time.Time, c ConnID, cn *conn, m *rserpool.Registration) {
	reject := func(e *rserpool.Error) {
		r.counters.Causes[e.Cause&15]++
		r.emit(Refused{Conn: c, Err: e})
		r.sendASAP(c, &rserpool.RegistrationResponse{Reject: true, PoolHandle: m.PoolHandle, ID: m.Element.ID,
			Causes: []rserpool.ErrorCause{e.ErrorCause()}})
	}
	if !r.allowed(cn.remote) {
		reject(&rserpool.Error{Cause: rserpool.CauseRejectedSecurityConsiderations,
			Reason: "registration from " + cn.remote.String() + ", outside the allowed networks"})
		return
	}
	pe := m.Element
	if pe.ID == 0 {
		for tries := 0; pe.ID == 0 || r.hs.Find(m.PoolHandle, pe.ID) != nil || (tries < 64 && r.tagTaken(m.PoolHandle, pe.ID) != 0); tries++ {
			pe.ID = r.cfg.Rand.Uint32()
		}
	}
	if other := r.tagTaken(m.PoolHandle, pe.ID); other != 0 {
		r.counters.TagConflicts++
		reject(&rserpool.Error{Cause: rserpool.CauseNonUniquePEIdentifier,
			Reason: fmt.Sprintf("tag 0x%x of PE identifier 0x%08x in use by element 0x%08x", pe.ID&r.tagMask(), pe.ID, other)})
		return
	}
	k := elemKey{string(m.PoolHandle), pe.ID}
	if old := r.mine[k]; old != nil && old.conn != c {
		if oc := r.conns[old.conn]; oc != nil && oc.up && oc.kind == ASAP && !old.claim {
			reject(&rserpool.Error{Cause: rserpool.CauseNonUniquePEIdentifier,
				Reason: "PE identifier in use by an element registered on another association"})
			return
		}
	}
	pe.HomeRegistrar = r.cfg.ServerID
	if pe.ASAPTransport == nil && len(cn.from.IPs) > 0 && cn.from.Port != 0 {
		// Without an ASAP transport of its own, the element is reached
		// where it registered from (as rsplib does, whose registrars
		// refuse an element without one in ENRP messages).
		pe.ASAPTransport = &rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: cn.from.Port,
			Addrs: slices.Clone(cn.from.IPs)}
	}
	_, created, err := r.hs.Register(m.PoolHandle, pe, now)
	if err != nil {
		e, _ := err.(*rserpool.Error)
		if e == nil {
			e = &rserpool.Error{Cause: rserpool.CauseUnspecified, Reason: err.Error()}
		}
		reject(e)
		return
	}
	r.adopt(now, k, c, false)
	r.rearmExpiry()
	r.counters.Registrations++
	r.sendASAP(c, &rserpool.RegistrationResponse{PoolHandle: m.PoolHandle, ID: pe.ID})
	e := r.hs.Find(m.PoolHandle, pe.ID)
	r.update(AddPE, e)
	r.emit(Registered{Conn: c, Handle: m.PoolHandle, ID: pe.ID, Home: r.cfg.ServerID, Initial: created, Element: e.PoolElement()})
}

func (r *Registrar) tagMask() uint32 {
	if r.cfg.TagBits >= 32 {
		return ^uint32(0)
	}
	return 1<<uint(r.cfg.TagBits) - 1
}

// tagTaken returns the identifier of another live element of the pool
// whose tag (the low TagBits bits) equals id's, or 0 when there is none or
// tags are off.
func (r *Registrar) tagTaken(handle []byte, id uint32) uint32 {
	if r.cfg.TagBits <= 0 {
		return 0
	}
	p := r.hs.Pool(handle)
	if p == nil {
		return 0
	}
	mask := r.tagMask()
	r.scratch = p.AppendElements(r.scratch[:0])
	for _, e := range r.scratch {
		if e.ID() != id && (e.ID()^id)&mask == 0 {
			return e.ID()
		}
	}
	return 0
}

func (r *Registrar) resolve(c ConnID, m *rserpool.HandleResolution) {
	n := r.cfg.MaxHResItems
	if m.HasItems && m.Items > 0 {
		n = int(min(m.Items, uint32(r.cfg.MaxHResLimit)))
	}
	var err error
	r.scratch, err = r.hs.Select(m.PoolHandle, n, r.scratch[:0])
	if err != nil {
		e, _ := err.(*rserpool.Error)
		if e == nil {
			e = &rserpool.Error{Cause: rserpool.CauseUnknownPoolHandle}
		}
		r.counters.Causes[e.Cause&15]++
		r.sendASAP(c, &rserpool.HandleResolutionResponse{PoolHandle: m.PoolHandle,
			Causes: []rserpool.ErrorCause{{Code: e.Cause}}})
		return
	}
	r.counters.Resolutions++
	resp := &rserpool.HandleResolutionResponse{PoolHandle: m.PoolHandle}
	if p := r.hs.Pool(m.PoolHandle); p != nil {
		resp.Policy = &rserpool.Policy{Type: p.Policy()}
	}
	for _, e := range r.scratch {
		resp.Elements = append(resp.Elements, e.PoolElement())
	}
	r.sendASAP(c, resp)
}

func (r *Registrar) reported(now time.Time, c ConnID, cn *conn, m *rserpool.EndpointUnreachable) {
	who := cn.remote.String()
	if !cn.remote.IsValid() {
		who = "conn:" + strconv.FormatUint(uint64(c), 10)
	}
	r.report(now, c, who, m.PoolHandle, m.ID)
}

// report counts pool user who's report that element id of handle is
// unreachable; c is its association (0: in-process).
func (r *Registrar) report(now time.Time, c ConnID, who string, handle []byte, id uint32) {
	k := elemKey{string(handle), id}
	if r.hs.Find(handle, id) == nil {
		return
	}
	rs := r.reports[k]
	if rs == nil {
		rs = map[string]time.Time{}
		r.reports[k] = rs
	}
	for w, t := range rs {
		if now.Sub(t) >= r.cfg.ReportWindow {
			delete(rs, w)
		}
	}
	if _, seen := rs[who]; !seen {
		rs[who] = now // counts once per pool user within the window
	}
	r.counters.Reports++
	r.emit(Reported{Conn: c, Handle: handle, ID: id, Count: len(rs)})
	if len(rs) >= r.cfg.MaxBadPEReport {
		r.remove(now, k, RemovedReports)
	}
}

// ---------------------------------------------------------------- ENRP

// ENRPBytes decodes and handles an ENRP message from association c;
// undecodable messages are answered with an ENRP_ERROR.
func (r *Registrar) ENRPBytes(now time.Time, c ConnID, b []byte) {
	m, report, err := Decode(b)
	if err != nil {
		r.counters.Undecodable++
		e, _ := err.(*rserpool.Error)
		if e == nil {
			e = &rserpool.Error{Cause: rserpool.CauseUnspecified, Reason: err.Error()}
		}
		r.emit(Refused{Conn: c, Err: e})
		if !e.Silent {
			var to uint32
			if cn := r.conns[c]; cn != nil {
				to = cn.peer
			}
			if to == 0 && len(b) >= 8 {
				to = binary.BigEndian.Uint32(b[4:])
			}
			r.counters.Causes[e.Cause&15]++
			r.sendENRP(c, &ErrorMessage{Servers: r.servers(to), Causes: []rserpool.ErrorCause{e.ErrorCause()}})
		}
		return
	}
	if len(report) > 0 {
		causes := make([]rserpool.ErrorCause, len(report))
		for i, p := range report {
			causes[i] = rserpool.ErrorCause{Code: rserpool.CauseUnrecognizedParameter, Info: p.TLV}
		}
		s, _ := m.IDs()
		r.counters.Causes[rserpool.CauseUnrecognizedParameter]++
		r.sendENRP(c, &ErrorMessage{Servers: r.servers(s), Causes: causes})
	}
	r.ENRPMessage(now, c, m)
}

// heard notes that peer id spoke on association c.
func (r *Registrar) heard(now time.Time, c ConnID, cn *conn, id uint32) *peer {
	cn.peer = id
	p := r.peers[id]
	if p == nil {
		p = &peer{id: id, conn: c}
		r.peers[id] = p
		r.emit(PeerUp{ServerID: id, Conn: c})
	}
	// Talk on the association the peer dialed when there is one: its
	// local port is the peer's ENRP port, which rsplib requires of the
	// association a presence arrives on (ours are dialed from any port).
	if pc := r.conns[p.conn]; pc == nil || !pc.up || (cn.accepted && !pc.accepted) {
		p.conn = c
	}
	p.lastHeard = now
	p.suspect = false
	r.stop(TimerID{Kind: TimerNoResponse, Key: uint64(id)})
	r.arm(TimerID{Kind: TimerLastHeard, Key: uint64(id)}, now.Add(r.cfg.MaxTimeLastHeard))
	return p
}

// ENRPMessage handles an ENRP message from association c.
func (r *Registrar) ENRPMessage(now time.Time, c ConnID, m Message) {
	cn := r.conns[c]
	if cn == nil {
		return
	}
	r.counters.ENRPIn[m.Type()&15]++
	sender, receiver := m.IDs()
	if sender == 0 || sender == r.cfg.ServerID || (receiver != 0 && receiver != r.cfg.ServerID) {
		return // not from a peer, or not for us (RFC 5353: silently discarded)
	}
	p := r.heard(now, c, cn, sender)
	switch m := m.(type) {
	case *Presence:
		if m.Info != nil {
			info := *m.Info
			p.info = &info
		}
		if m.ReplyRequired {
			r.sendENRP(c, r.presence(sender, false))
		}
		if p.retry {
			p.retry, p.syncing = false, true
			r.sendENRP(c, &HandleTableRequest{Servers: r.servers(sender)})
			return
		}
		if r.hunting && r.mentor == 0 {
			r.mentor = sender
			r.hunting = false
			r.stop(TimerID{Kind: TimerMentor})
			r.emit(MentorFound{ServerID: sender})
			p.syncing = true
			r.sendENRP(c, &HandleTableRequest{Servers: r.servers(sender)})
			r.sendENRP(c, &ListRequest{Servers: r.servers(sender)})
			return
		}
		ours := r.hs.Checksum(sender)
		if ours != m.Checksum {
			r.counters.ChecksumMismatches++
		}
		if ours != m.Checksum && p.resync == nil && !p.syncing {
			r.counters.Resyncs++
			p.resync = map[elemKey]bool{}
			r.emit(ResyncStarted{ServerID: sender, Theirs: m.Checksum, Our: ours})
			r.sendENRP(c, &HandleTableRequest{Servers: r.servers(sender), OwnChildrenOnly: true})
		}
	case *HandleTableRequest:
		r.tableResponse(c, cn, sender, m.OwnChildrenOnly)
	case *HandleTableResponse:
		r.tableReceived(now, c, p, m)
	case *HandleUpdate:
		r.handleUpdate(now, m)
	case *ListRequest:
		resp := &ListResponse{Servers: r.servers(sender)}
		if i := r.info(); i != nil {
			resp.Registrars = append(resp.Registrars, *i)
		}
		for _, q := range r.livePeers() {
			if q.info != nil && q.id != sender {
				resp.Registrars = append(resp.Registrars, *q.info)
			}
		}
		r.sendENRP(c, resp)
	case *ListResponse:
		for _, s := range m.Registrars {
			if s.ServerID == r.cfg.ServerID || r.peers[s.ServerID] != nil || len(s.Transport.Addrs) == 0 {
				continue
			}
			id := r.dial(ENRP, sctp.Addr{IPs: s.Transport.Addrs, Port: s.Transport.Port}, -1)
			r.peers[s.ServerID] = &peer{id: s.ServerID, conn: id, info: &s}
			r.arm(TimerID{Kind: TimerLastHeard, Key: uint64(s.ServerID)}, now.Add(r.cfg.MaxTimeLastHeard))
		}
	case *InitTakeover:
		switch {
		case m.Target == r.cfg.ServerID:
			// We are alive: say so to everyone.
			r.toPeers(0, func(to uint32) Message { return r.presence(to, false) })
		case r.takeovers[m.Target] != nil && r.cfg.ServerID > sender:
			// Both want it; the higher server ID wins: ignore theirs.
		default:
			if r.takeovers[m.Target] != nil {
				delete(r.takeovers, m.Target)
				r.stop(TimerID{Kind: TimerTakeover, Key: uint64(m.Target)})
			}
			r.sendENRP(c, &InitTakeoverAck{Servers: r.servers(sender), Target: m.Target})
		}
	case *InitTakeoverAck:
		if t := r.takeovers[m.Target]; t != nil {
			delete(t.pending, sender)
			if len(t.pending) == 0 {
				r.finishTakeover(now, m.Target)
			}
		}
	case *TakeoverServer:
		r.takenOver(m.Target, sender)
	case *ErrorMessage:
		// Counted; nothing to answer.
	}
}

// tableResponse answers a handle table request: all elements (or only
// this registrar's), TableElements at a time, continuing where the last
// response with the M flag stopped.
func (r *Registrar) tableResponse(c ConnID, cn *conn, to uint32, own bool) {
	var all []*rserpool.Element
	if own {
		all = r.hs.AppendOwned(r.cfg.ServerID, nil)
	} else {
		homes := map[uint32]bool{r.cfg.ServerID: true}
		for id := range r.peers {
			homes[id] = true
		}
		for id := range r.takeovers {
			homes[id] = true
		}
		for id := range homes {
			all = r.hs.AppendOwned(id, all)
		}
	}
	slices.SortFunc(all, func(a, b *rserpool.Element) int {
		if c := cmp.Compare(string(a.Pool().Handle()), string(b.Pool().Handle())); c != 0 {
			return c
		}
		return cmp.Compare(a.ID(), b.ID())
	})
	start := min(cn.cursor, len(all))
	end := min(start+r.cfg.TableElements, len(all))
	resp := &HandleTableResponse{Servers: r.servers(to), More: end < len(all)}
	for _, e := range all[start:end] {
		h := e.Pool().Handle()
		if n := len(resp.Pools); n == 0 || string(resp.Pools[n-1].Handle) != string(h) {
			resp.Pools = append(resp.Pools, PoolEntry{Handle: h})
		}
		n := len(resp.Pools)
		resp.Pools[n-1].Elements = append(resp.Pools[n-1].Elements, e.PoolElement())
	}
	if resp.More {
		cn.cursor = end
	} else {
		cn.cursor = 0
	}
	r.sendENRP(c, resp)
}

func (r *Registrar) tableReceived(now time.Time, c ConnID, p *peer, m *HandleTableResponse) {
	if m.Reject {
		// A peer that does not know us yet rejects; the mentor is asked
		// again on its next presence, a resync on the next mismatch.
		p.retry = p.syncing
		p.syncing, p.resync, p.got = false, nil, 0
		return
	}
	for _, pool := range m.Pools {
		for _, pe := range pool.Elements {
			if pe.HomeRegistrar == r.cfg.ServerID {
				continue // ours: we know better
			}
			if p.resync != nil {
				if pe.HomeRegistrar != p.id {
					continue
				}
				p.resync[elemKey{string(pool.Handle), pe.ID}] = true
			}
			r.learn(now, pool.Handle, pe)
			p.got++
		}
	}
	if m.More {
		r.sendENRP(c, &HandleTableRequest{Servers: r.servers(p.id), OwnChildrenOnly: p.resync != nil})
		return
	}
	resync := p.resync != nil
	if resync {
		// Elements the peer no longer has are dropped.
		stale := r.hs.AppendOwned(p.id, nil)
		for _, e := range stale {
			if !p.resync[elemKey{string(e.Pool().Handle()), e.ID()}] {
				r.hs.Deregister(e.Pool().Handle(), e.ID())
				r.counters.Removed[RemovedResync]++
				r.emit(Removed{Handle: e.Pool().Handle(), ID: e.ID(), Home: p.id, Reason: RemovedResync})
			}
		}
		p.resync = nil
		r.rearmExpiry()
	}
	p.syncing = false
	r.emit(Synchronized{ServerID: p.id, Elements: p.got, Resync: resync})
	p.got = 0
}

// learn puts an element heard from a peer into the handlespace.
func (r *Registrar) learn(now time.Time, handle []byte, pe rserpool.PoolElement) {
	k := elemKey{string(handle), pe.ID}
	if h := r.mine[k]; h != nil && pe.HomeRegistrar != r.cfg.ServerID {
		r.forget(k, h) // it re-registered elsewhere
	}
	if e, created, err := r.hs.Register(handle, pe, now); err == nil {
		r.rearmExpiry()
		r.emit(Registered{Handle: e.Pool().Handle(), ID: pe.ID, Home: pe.HomeRegistrar, Initial: created, Element: e.PoolElement()})
		r.tagRace(now, handle, pe.ID)
	}
}

// tagRace settles two elements of one pool with the same tag, registered
// at the same time with two registrars (each refuses a registration whose
// tag it already knows, but neither knew the other's yet): the higher PE
// identifier gives way. Its home registrar removes it, which every
// registrar applying the same rule agrees with; the element learns it at
// its next re-registration, refused with Non-unique PE Identifier, and
// draws another identifier.
func (r *Registrar) tagRace(now time.Time, handle []byte, id uint32) {
	other := r.tagTaken(handle, id)
	if other == 0 {
		return
	}
	loser := max(id, other)
	k := elemKey{string(handle), loser}
	if r.mine[k] == nil {
		return // the loser's home removes it
	}
	r.counters.TagConflicts++
	r.remove(now, k, RemovedTagConflict)
}

func (r *Registrar) handleUpdate(now time.Time, m *HandleUpdate) {
	switch m.Action {
	case AddPE:
		if m.Element.HomeRegistrar == r.cfg.ServerID {
			return
		}
		r.learn(now, m.PoolHandle, m.Element)
	case DelPE:
		k := elemKey{string(m.PoolHandle), m.Element.ID}
		if e := r.hs.Find(m.PoolHandle, m.Element.ID); e != nil && e.Home() != r.cfg.ServerID {
			home := e.Home()
			r.hs.Deregister(m.PoolHandle, m.Element.ID)
			delete(r.reports, k)
			r.rearmExpiry()
			r.counters.Removed[RemovedByPeer]++
			r.emit(Removed{Handle: m.PoolHandle, ID: m.Element.ID, Home: home, Reason: RemovedByPeer})
		}
	}
}

// ---------------------------------------------------------------- takeover

func (r *Registrar) peerDead(now time.Time, p *peer) {
	delete(r.peers, p.id)
	r.stop(TimerID{Kind: TimerLastHeard, Key: uint64(p.id)})
	r.stop(TimerID{Kind: TimerNoResponse, Key: uint64(p.id)})
	r.counters.PeersDead++
	r.emit(PeerDead{ServerID: p.id})
	if c := r.conns[p.conn]; c != nil && c.static < 0 {
		delete(r.conns, p.conn)
		r.out.Closes = append(r.out.Closes, p.conn)
	}
	if r.hs.Owned(p.id) == 0 || r.takeovers[p.id] != nil {
		return
	}
	t := &takeover{pending: map[uint32]bool{}}
	r.takeovers[p.id] = t
	r.emit(TakeoverStarted{Target: p.id})
	for _, q := range r.livePeers() {
		t.pending[q.id] = true
		r.sendENRP(q.conn, &InitTakeover{Servers: r.servers(q.id), Target: p.id})
	}
	if len(t.pending) == 0 {
		r.finishTakeover(now, p.id)
		return
	}
	r.arm(TimerID{Kind: TimerTakeover, Key: uint64(p.id)}, now.Add(r.cfg.TakeoverExpiry))
}

func (r *Registrar) finishTakeover(now time.Time, target uint32) {
	delete(r.takeovers, target)
	r.stop(TimerID{Kind: TimerTakeover, Key: uint64(target)})
	r.counters.Takeovers++
	r.toPeers(target, func(to uint32) Message {
		return &TakeoverServer{Servers: r.servers(to), Target: target}
	})
	els := r.hs.AppendOwned(target, nil)
	slices.SortFunc(els, func(a, b *rserpool.Element) int {
		if c := cmp.Compare(string(a.Pool().Handle()), string(b.Pool().Handle())); c != 0 {
			return c
		}
		return cmp.Compare(a.ID(), b.ID())
	})
	dials := map[string]ConnID{}
	for _, e := range els {
		r.hs.SetHome(e, r.cfg.ServerID)
		k := elemKey{string(e.Pool().Handle()), e.ID()}
		r.taken[target] = append(r.taken[target], k)
		pe := e.PoolElement()
		if pe.ASAPTransport == nil || len(pe.ASAPTransport.Addrs) == 0 {
			// No way to reach its ASAP endpoint: it keeps its
			// lifetime and re-registers with a live registrar.
			continue
		}
		addr := sctp.Addr{IPs: pe.ASAPTransport.Addrs, Port: pe.ASAPTransport.Port}
		c, ok := dials[addr.String()]
		if !ok {
			c = r.dial(ASAP, addr, -1)
			dials[addr.String()] = c
		}
		h := r.adoptArm(now, k, c, true, false)
		r.stop(TimerID{Kind: TimerKeepAlive, Key: h.serial})
		r.conns[c].waiting = append(r.conns[c].waiting, k)
		// Bound the wait for the association and the ack.
		h.pending = true
		r.arm(TimerID{Kind: TimerKeepAliveTimeout, Key: h.serial}, now.Add(r.cfg.KeepAlive+r.cfg.KeepAliveTimeout))
	}
	r.emit(TakeoverDone{Target: target, Winner: r.cfg.ServerID, Elements: len(els)})
}

// takenOver: winner took target's elements over.
func (r *Registrar) takenOver(target, winner uint32) {
	if target == r.cfg.ServerID {
		return // we are alive; the checksums will put things right
	}
	if r.takeovers[target] != nil {
		delete(r.takeovers, target)
		r.stop(TimerID{Kind: TimerTakeover, Key: uint64(target)})
	}
	if p := r.peers[target]; p != nil {
		delete(r.peers, target)
		r.stop(TimerID{Kind: TimerLastHeard, Key: uint64(target)})
		r.stop(TimerID{Kind: TimerNoResponse, Key: uint64(target)})
	}
	els := r.hs.AppendOwned(target, nil)
	for _, e := range els {
		r.hs.SetHome(e, winner)
	}
	n := len(els)
	// Both completed the takeover (the expiry ended a wait before the
	// other's request arrived): the higher server ID keeps the elements.
	if mine := r.taken[target]; len(mine) > 0 && winner > r.cfg.ServerID {
		for _, k := range mine {
			e := r.hs.Find([]byte(k.handle), k.id)
			if e == nil || e.Home() != r.cfg.ServerID {
				continue
			}
			if h := r.mine[k]; h != nil {
				r.forget(k, h)
			}
			r.hs.SetHome(e, winner)
			n++
		}
		delete(r.taken, target)
	} else if len(r.taken[target]) > 0 {
		return // we keep them; the other side yields on our takeover server
	}
	r.emit(TakeoverDone{Target: target, Winner: winner, Elements: n})
}
