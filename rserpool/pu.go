package rserpool

import (
	"cmp"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// PUConfig configures a pool user. Zero durations and counts take the
// defaults in the table of doc.go.
type PUConfig struct {
	// Request (T1) bounds the wait for a handle resolution response.
	Request time.Duration
	// Retries (MAX-REQUEST-RETRANSMIT) is how often a handle resolution
	// is resent before it fails. -1 means never resend.
	Retries int
	// MaxHResItems is how many elements a handle resolution asks for, in
	// rsplib's Handle Resolution Option.
	MaxHResItems uint32
	// StaleCache is the stale cache value: how long the elements of a
	// handle resolution response answer further selections from the
	// cache. 0 turns the cache off: every selection asks the registrar.
	StaleCache time.Duration
	// FailedHold is how long an element reported unreachable is kept out
	// of this pool user's selections, even if a registrar still lists it
	// (a registrar removes it only after its keep-alive timeout or
	// MAX-BAD-PE-REPORT reports).
	FailedHold time.Duration
	// MaxQueuedReports bounds the ENDPOINT_UNREACHABLE reports kept while
	// no registrar is reachable; older ones are dropped.
	MaxQueuedReports int
	// Rand drives the randomized pool policies of the cache; nil means a
	// fixed seed.
	Rand *rand.Rand
	// Hunt configures the registrar hunt.
	Hunt HuntConfig
}

// Defaults of the PU; see the table in doc.go.
const (
	DefaultRequest          = 250 * time.Millisecond
	DefaultMaxHResItems     = 3
	DefaultStaleCache       = 0
	DefaultFailedHold       = 5 * time.Second
	DefaultMaxQueuedReports = 64
)

func (c *PUConfig) defaults() {
	def(&c.Request, DefaultRequest)
	def(&c.FailedHold, DefaultFailedHold)
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	} else if c.Retries < 0 {
		c.Retries = 0
	}
	if c.MaxHResItems == 0 {
		c.MaxHResItems = DefaultMaxHResItems
	}
	if c.StaleCache < 0 {
		c.StaleCache = 0
	}
	if c.MaxQueuedReports <= 0 {
		c.MaxQueuedReports = DefaultMaxQueuedReports
	}
	if c.Rand == nil {
		c.Rand = rand.New(rand.NewPCG(0x5ec, 0x9001))
	}
	c.Hunt.defaults()
}

// Selected (PU): an element was selected for a Resolve (Tag) or for the
// failover of a session (Session set). FromCard says the element came
// from the failed element's business card rather than from a selection.
type Selected struct {
	Tag      uint64
	Session  SessionID
	Handle   []byte
	Element  PoolElement
	FromCard bool
}

// ResolutionFailed (PU): no element could be selected for a Resolve (Tag)
// or a session's failover (Session): the registrar answered with Causes
// (Unknown Pool Handle), listed no usable element, or did not answer in
// time (Causes empty, Timeout set).
type ResolutionFailed struct {
	Tag     uint64
	Session SessionID
	Handle  []byte
	Causes  []ErrorCause
	Timeout bool
}

func (Selected) isEvent()         {}
func (ResolutionFailed) isEvent() {}

type waiter struct {
	tag     uint64
	session SessionID
}

// request is a handle resolution under way for one pool handle.
type request struct {
	seq      uint64
	handle   []byte
	expiries int // T1 expiries so far
	waiters  []waiter
}

type puSession struct {
	handle  []byte
	id      uint32 // current element
	up      bool
	ups     int
	cookie  []byte
	card    []PoolElement
	avoid   []uint32 // elements this session failed on
	pending bool     // failover selection under way
}

type failedKey struct {
	handle string
	id     uint32
}

// PU is the sans-I/O core of a pool user: handle resolution through its
// registrar (asking for MaxHResItems elements), a cache with a stale cache
// value, selection by the pool's policy, ENDPOINT_UNREACHABLE reports,
// the latest state cookie of each session echoed to the element it fails
// over to, and the registrar hunt. Not safe for concurrent use.
type PU struct {
	base
	cfg      PUConfig
	started  bool
	cache    *Handlespace
	requests map[string]*request
	seq      uint64
	sessions map[SessionID]*puSession
	failed   map[failedKey]time.Time
	reports  []EndpointUnreachable
}

// NewPU returns a pool user core.
func NewPU(cfg PUConfig) *PU {
	cfg.defaults()
	return &PU{
		base:     newBase(cfg.Hunt),
		cfg:      cfg,
		cache:    NewHandlespace(cfg.Rand),
		requests: map[string]*request{},
		sessions: map[SessionID]*puSession{},
		failed:   map[failedKey]time.Time{},
	}
}

// Cache returns the pool user's cache (read it, do not change it).
func (u *PU) Cache() *Handlespace { return u.cache }

// Start starts the registrar hunt.
func (u *PU) Start(now time.Time) {
	if u.started {
		return
	}
	u.started = true
	u.startHunt(now)
}

// Stop closes the registrar association and fails what is pending.
func (u *PU) Stop(now time.Time) {
	if !u.started {
		return
	}
	u.started = false
	u.stopLink()
	for _, r := range u.sorted() {
		u.fail(r, nil, true)
	}
	for id := range u.armed {
		u.stop(id)
	}
}

// RegistrarUp: the association a (from a Dial) is established; pending
// requests and queued reports go out on it.
func (u *PU) RegistrarUp(now time.Time, a AssocID) {
	if !u.started {
		u.close(a)
		return
	}
	if !u.linkUp(now, a) {
		return
	}
	for _, r := range u.sorted() {
		u.sendRequest(r)
	}
	for i := range u.reports {
		u.toRegistrar(&u.reports[i])
		u.counters.Unreachables++
	}
	u.reports = nil
}

// sorted returns the pending requests in the order they were made.
func (u *PU) sorted() []*request {
	rs := make([]*request, 0, len(u.requests))
	for _, r := range u.requests {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *request) int { return cmp.Compare(a.seq, b.seq) })
	return rs
}

// RegistrarDown: association a ended, or could not be set up. Pending
// requests wait for the next registrar (within T1 and its retries).
func (u *PU) RegistrarDown(now time.Time, a AssocID) {
	if !u.started {
		return
	}
	u.linkDown(now, a)
}

// Announce: an ASAP_SERVER_ANNOUNCE arrived from src, the datagram's
// source address and port (ignored unless
// announces are enabled).
func (u *PU) Announce(now time.Time, m *ServerAnnounce, src netip.AddrPort) {
	if u.started {
		u.announce(now, m, src)
	}
}

// Resolve asks for one element of the pool handle. The answer is a
// Selected or ResolutionFailed event with the same tag: at once when the
// cache holds the pool, otherwise when the registrar has answered.
func (u *PU) Resolve(now time.Time, handle []byte, tag uint64) {
	u.resolve(now, handle, waiter{tag: tag})
}

func (u *PU) resolve(now time.Time, handle []byte, w waiter) {
	u.cache.Expire(now, nil)
	if u.cache.Pool(handle) != nil {
		if u.pick(now, handle, w) {
			u.counters.CacheHits++
			return
		}
	}
	r := u.requests[string(handle)]
	if r != nil {
		r.waiters = append(r.waiters, w)
		return
	}
	u.seq++
	r = &request{seq: u.seq, handle: clone(handle), waiters: []waiter{w}}
	u.requests[string(handle)] = r
	u.sendRequest(r)
	u.arm(TimerID{Kind: TimerRequest, Key: r.seq}, now.Add(u.cfg.Request))
}

func (u *PU) sendRequest(r *request) bool {
	if u.toRegistrar(&HandleResolution{PoolHandle: r.handle, HasItems: true, Items: u.cfg.MaxHResItems}) {
		u.counters.Resolutions++
		return true
	}
	return false
}

// pick selects an element from the cache for w and reports it; false if
// the cache has no usable element.
func (u *PU) pick(now time.Time, handle []byte, w waiter) bool {
	p := u.cache.Pool(handle)
	if p == nil {
		return false
	}
	var avoid []uint32
	if s := u.sessions[w.session]; w.session != 0 && s != nil {
		avoid = s.avoid
	}
	for _, e := range p.Select(p.Len(), nil) {
		if slices.Contains(avoid, e.ID()) || u.held(now, handle, e.ID()) {
			continue
		}
		u.selected(w, handle, e.PoolElement(), false)
		return true
	}
	return false
}

func (u *PU) held(now time.Time, handle []byte, id uint32) bool {
	k := failedKey{string(handle), id}
	until, ok := u.failed[k]
	if ok && !now.Before(until) {
		delete(u.failed, k)
		return false
	}
	return ok
}

func (u *PU) selected(w waiter, handle []byte, pe PoolElement, card bool) {
	if w.session != 0 {
		s := u.sessions[w.session]
		if s == nil {
			return // closed meanwhile
		}
		s.pending = false
		s.id, s.up = pe.ID, false
	}
	u.event(Selected{Tag: w.tag, Session: w.session, Handle: clone(handle), Element: pe, FromCard: card})
}

func (u *PU) failed1(w waiter, handle []byte, causes []ErrorCause, timeout bool) {
	u.counters.ResolutionFail++
	if w.session != 0 {
		s := u.sessions[w.session]
		if s == nil {
			return
		}
		s.pending = false
	}
	u.event(ResolutionFailed{Tag: w.tag, Session: w.session, Handle: clone(handle), Causes: causes, Timeout: timeout})
}

func (u *PU) fail(r *request, causes []ErrorCause, timeout bool) {
	delete(u.requests, string(r.handle))
	u.stop(TimerID{Kind: TimerRequest, Key: r.seq})
	for _, w := range r.waiters {
		u.failed1(w, r.handle, causes, timeout)
	}
}

// Timer: the timer id fired.
func (u *PU) Timer(now time.Time, id TimerID) {
	if !u.fired(now, id) {
		return
	}
	switch id.Kind {
	case TimerHunt:
		u.huntTimer(now)
	case TimerAnnounce:
		u.announceTimer(id)
	case TimerRequest:
		for _, r := range u.requests {
			if r.seq != id.Key {
				continue
			}
			r.expiries++
			if r.expiries > u.cfg.Retries {
				u.fail(r, nil, true)
				return
			}
			if u.sendRequest(r) {
				u.counters.Retransmits++
			}
			u.arm(id, now.Add(u.cfg.Request))
			return
		}
	}
}

// FromRegistrarBytes decodes and handles a message from registrar
// association a.
func (u *PU) FromRegistrarBytes(now time.Time, a AssocID, b []byte) {
	if !u.started || u.base.state != linkUp || a != u.assoc {
		u.counters.Ignored++
		return
	}
	if m := u.decode(a, 0, b); m != nil {
		u.FromRegistrar(now, a, m)
	}
}

// FromRegistrar handles a message from registrar association a.
func (u *PU) FromRegistrar(now time.Time, a AssocID, m Message) {
	if !u.started || u.base.state != linkUp || a != u.assoc {
		u.counters.Ignored++
		return
	}
	u.counters.Received++
	switch m := m.(type) {
	case *HandleResolutionResponse:
		u.response(now, m)
	case *ErrorMessage:
		u.event(ErrorReceived{Assoc: a, Causes: m.Causes})
	default:
		u.counters.Ignored++
	}
}

func (u *PU) response(now time.Time, m *HandleResolutionResponse) {
	r := u.requests[string(m.PoolHandle)]
	if r == nil {
		u.counters.Ignored++
		return
	}
	if len(m.Causes) > 0 {
		u.fail(r, m.Causes, false)
		return
	}
	u.cache.Expire(now, nil)
	life := int32(min(u.cfg.StaleCache.Milliseconds(), 1<<31-1))
	for _, pe := range m.Elements {
		if u.held(now, m.PoolHandle, pe.ID) {
			continue
		}
		pe.RegistrationLife = life
		if _, _, err := u.cache.Register(m.PoolHandle, pe, now); err != nil {
			if e, ok := err.(*Error); ok && (e.Cause == CauseInconsistentPoolingPolicy ||
				e.Cause == CauseInconsistentTransportType || e.Cause == CauseInconsistentDataControlConfig) {
				// The pool changed: forget what the cache had.
				u.forgetPool(m.PoolHandle)
				u.cache.Register(m.PoolHandle, pe, now)
			}
		}
	}
	delete(u.requests, string(r.handle))
	u.stop(TimerID{Kind: TimerRequest, Key: r.seq})
	for _, w := range r.waiters {
		if !u.pick(now, r.handle, w) {
			u.failed1(w, r.handle, []ErrorCause{{Code: CauseUnknownPoolHandle}}, false)
		}
	}
	u.cache.Expire(now, nil) // with the cache off, the elements go now
}

func (u *PU) forgetPool(handle []byte) {
	p := u.cache.Pool(handle)
	if p == nil {
		return
	}
	var ids []uint32
	for _, e := range p.Select(p.Len(), nil) {
		ids = append(ids, e.ID())
	}
	for _, id := range ids {
		u.cache.Deregister(handle, id)
	}
}

// ---------------------------------------------------------------- sessions

// SessionUp: the application has an association to element id of the
// pool for session s (the first one, or the one it failed over to). If
// an earlier element of the session gave it a state cookie, the cookie is
// echoed to this one.
func (u *PU) SessionUp(now time.Time, s SessionID, handle []byte, id uint32) {
	if s == 0 {
		return
	}
	ss := u.sessions[s]
	if ss == nil {
		ss = &puSession{handle: clone(handle)}
		u.sessions[s] = ss
	}
	ss.id, ss.up, ss.pending = id, true, false
	ss.ups++
	if ss.ups > 1 && ss.cookie != nil {
		u.counters.CookiesEchoed++
		u.send(Send{Session: s, Msg: &CookieEcho{Cookie: ss.cookie}})
	}
}

// SessionFailed: the element of session s failed (its association was
// lost, or the application gave up on it). The element is reported to the
// registrar with ENDPOINT_UNREACHABLE when report is set, dropped from
// the cache, and a new element is chosen: the next one of the failed
// element's business card, if it sent one, otherwise one selected by
// policy. The choice comes as a Selected event for the session; the
// application connects to it and calls SessionUp.
func (u *PU) SessionFailed(now time.Time, s SessionID, report bool) {
	ss := u.sessions[s]
	if ss == nil || ss.pending {
		u.counters.Ignored++
		return
	}
	failed := ss.id
	ss.up = false
	ss.pending = true
	if !slices.Contains(ss.avoid, failed) {
		if len(ss.avoid) >= 16 {
			ss.avoid = ss.avoid[1:]
		}
		ss.avoid = append(ss.avoid, failed)
	}
	if len(u.failed) >= maxFailed {
		for k, until := range u.failed {
			if !now.Before(until) {
				delete(u.failed, k)
			}
		}
	}
	if len(u.failed) < maxFailed {
		u.failed[failedKey{string(ss.handle), failed}] = now.Add(u.cfg.FailedHold)
	}
	u.cache.Deregister(ss.handle, failed)
	if report {
		m := EndpointUnreachable{PoolHandle: ss.handle, ID: failed}
		if u.toRegistrar(&m) {
			u.counters.Unreachables++
		} else {
			if len(u.reports) >= u.cfg.MaxQueuedReports {
				u.reports = u.reports[1:]
			}
			u.reports = append(u.reports, m)
		}
	}
	w := waiter{session: s}
	for _, pe := range ss.card {
		if !slices.Contains(ss.avoid, pe.ID) && !u.held(now, ss.handle, pe.ID) {
			u.selected(w, ss.handle, pe, true)
			return
		}
	}
	u.resolve(now, ss.handle, w)
}

// SessionClosed forgets session s.
func (u *PU) SessionClosed(s SessionID) { delete(u.sessions, s) }

// Cookie returns the latest state cookie of session s.
func (u *PU) Cookie(s SessionID) []byte {
	if ss := u.sessions[s]; ss != nil {
		return ss.cookie
	}
	return nil
}

// FromSessionBytes decodes and handles an ASAP message from session s.
func (u *PU) FromSessionBytes(now time.Time, s SessionID, b []byte) {
	if u.sessions[s] == nil {
		u.counters.Ignored++
		return
	}
	if m := u.decode(0, s, b); m != nil {
		u.FromSession(now, s, m)
	}
}

// maxFailed bounds the elements kept out of selections at one time.
const maxFailed = 4096

// maxCard bounds the elements kept from one business card.
const maxCard = 32

// FromSession handles an ASAP message from the element of session s.
func (u *PU) FromSession(now time.Time, s SessionID, m Message) {
	ss := u.sessions[s]
	if ss == nil {
		u.counters.Ignored++
		return
	}
	u.counters.Received++
	switch m := m.(type) {
	case *Cookie:
		ss.cookie = clone(m.Cookie)
		u.event(CookieReceived{Session: s, Cookie: m.Cookie})
	case *BusinessCard:
		ss.card = slices.Clone(m.Elements[:min(len(m.Elements), maxCard)])
		u.event(BusinessCardReceived{Session: s, PoolHandle: m.PoolHandle, Elements: m.Elements})
	case *ErrorMessage:
		u.event(ErrorReceived{Session: s, Causes: m.Causes})
	default:
		u.counters.Ignored++
	}
}
