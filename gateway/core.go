package gateway

import (
	"encoding/binary"
	"slices"
	"sort"
	"time"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// Pools is what the core asks of the RSerPool handlespace (the embedded
// registrar's, through enrp.Driver; a plain rserpool.Handlespace in tests).
type Pools interface {
	// Select appends to dst up to k identifiers of elements of pool handle,
	// best first by the pool's policy, and returns dst. It may move the
	// policy's state (round robin position).
	Select(handle []byte, k int, dst []uint32) []uint32
	// Elements appends the identifiers of every element of the pool.
	Elements(handle []byte, dst []uint32) []uint32
}

// ActionKind says what an Action asks of the driver.
type ActionKind uint8

// Actions.
const (
	// SendServer: send Data to the ASP on Assoc alone
	// (m3ua.Server.SendDataTo on the server side).
	SendServer ActionKind = iota + 1
	// SendNetwork: send Data to the network AS Data.RC
	// (m3ua.Server.SendData on the network side).
	SendNetwork
	// CookieEcho: send ASAP Cookie Echo with parameter value Cookie to the
	// ASP on Assoc (PPID 11), on the stream DATA with SLS Data.SLS takes,
	// before the SendServer that follows.
	CookieEcho
	// ReportUnreachable: tell the registrar element ID of pool Handle is
	// unreachable.
	ReportUnreachable
	// Destination: the service's point code PC is Available or not: DAVA
	// or DUNA toward the network (m3ua.Server.SetDestination).
	Destination
	// PoolLevel: service Service now has Live live elements. Settled is
	// false during the start-up grace (limits.startup_grace): the level is
	// for the metrics only, no pool alarm is raised yet. When the grace
	// ends every service's level comes once with Settled set (alarms when
	// below its MinElements), and every later change with it too.
	PoolLevel
	// ASPDown: the ASP with PE identifier ID went down (Raise: it left
	// ASP-ACTIVE or lost its association while its element is in the
	// pool of a service it served) or the condition ended (not Raise: it
	// is ASP-ACTIVE again, or its element left the pools of every service
	// it served, deregistered or removed by the registrars). Cause says
	// which, for the alarm's text.
	ASPDown
)

var actionNames = [...]string{"", "send-server", "send-network", "cookie-echo", "report-unreachable", "destination", "pool-level", "asp-down"}

func (k ActionKind) String() string {
	if int(k) < len(actionNames) {
		return actionNames[k]
	}
	return "action?"
}

// Action is one output of the core. Slices alias the input or the core's
// buffers: they are valid until the next input.
type Action struct {
	Kind      ActionKind
	Assoc     m3ua.AssocID
	Data      m3ua.UserData
	Cookie    []byte
	Handle    []byte
	ID        uint32
	PC        uint32
	Available bool
	Service   int
	Live      int
	Settled   bool
	Raise     bool
	Cause     string
}

// Reason is why the core (or the driver) discarded a message.
type Reason uint8

// Discard reasons.
const (
	ReasonNoRoute         Reason = iota // no routing key matches (network) or no network AS has the DPC (servers)
	ReasonNoElement                     // the service's pool has no live, ASP-ACTIVE element here
	ReasonSCCPUndecodable               // SI 3 whose SCCP part does not decode
	ReasonOwnerGone                     // continuation of a dialogue whose owner is gone, no cookie held
	ReasonCookieMalformed               // a cookie shorter than a transaction id
	ReasonQueueFull                     // the driver's input queue was full
	ReasonSendFailed                    // the M3UA layer refused the send
	ReasonEncode                        // an answer could not be encoded
	ReasonDraining                      // a new dialogue arrived while the gateway drains
	ReasonCookieInactive                // a cookie from an ASP not ASP-ACTIVE for any service here
	NumReasons
)

var reasonNames = [...]string{"no_route", "no_element", "sccp_undecodable", "owner_gone", "cookie_malformed", "queue_full", "send_failed", "encode_failed", "draining", "cookie_inactive"}

func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Counters are the core's counts. They only grow, except DialoguesActive and
// CookiesHeld.
type Counters struct {
	NetworkIn, ServerIn  uint64 // MSUs received from each side
	ToServers, ToNetwork uint64 // MSUs sent to each side
	Discarded            [NumReasons]uint64
	DialoguesStarted     uint64 // network Begins given to an element
	DialoguesFailedOver  uint64 // dialogues moved to a new owner with their cookie
	DialoguesAborted     uint64 // TC-ABORTs sent to the network
	DialoguesActive      int64  // Begins minus Ends and Aborts seen (either side); an estimate
	Resent               uint64 // unsent MSUs routed again
	Selections           uint64 // elements chosen by a pool's policy
	CookiesStored        uint64
	CookiesEvicted       uint64 // pushed out by the bound
	CookiesExpired       uint64 // outlived the cookie lifetime
	CookiesHeld          int
	// Network messages an element was given and had not answered when it
	// failed, routed again: Begins to a new element, continuations to
	// their rendezvous owner with the cookie; or aborted toward the
	// network (TC-ABORT) when neither was possible.
	UnansweredBegins, UnansweredContinuations, UnansweredAborted uint64
}

// server is one ASP association on the server side.
type server struct {
	assoc  m3ua.AssocID
	id     uint32
	hasID  bool
	active []uint32 // routing contexts it is ASP-ACTIVE for
	// failing: its association failed (SCTP handed data back) and its end
	// (ServerLost) is still to come. It is out of selection, but its SLS
	// bindings hold: data for them waits in held, behind what comes back
	// unsent (returned: SCTP's send-failed, the oldest; refused: writes
	// that failed afterwards), so that every SLS stays in order when the
	// whole lot moves to the new binding at ServerLost.
	failing           bool
	left              bool // out of selection (fail), not just holding
	failedAt          time.Time
	returned, refused []m3ua.UserData
	held              []m3ua.UserData
	// sent remembers the last sentRing messages sent by SLS binding (a
	// hash of each and its sequence number), so that what comes back
	// unsent, which SCTP reports per path rather than in sending order,
	// can be put back in order.
	sent [sentRing]sentRec
	seq  uint64
	// unanswered: the network's Begins and Continues given to this element
	// and not answered by it here yet, by the network's transaction id.
	unanswered map[tcap.TID]unanswered
	// oldest is no later than the oldest of unanswered (Tick's shortcut).
	oldest time.Time
}

// unanswered is a network message given to an element: a copy, its service,
// when, and its order among the element's.
type unanswered struct {
	u     m3ua.UserData
	s     *service
	at    time.Time
	seq   uint64
	begin bool
}

const sentRing = 4096

type sentRec struct {
	hash uint64
	seq  uint64
}

func payloadHash(u m3ua.UserData) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset) ^ uint64(u.SLS)
	h *= prime
	for _, b := range u.Payload {
		h ^= uint64(b)
		h *= prime
	}
	return h
}

// HoldMax bounds how long a failing element's SLS bindings hold when its
// association's end does not come (it left ASP-ACTIVE with the association
// up, or the end is slow to be reported).
const HoldMax = 2 * time.Second

// MaxHeld bounds the data a failing element's SLS bindings hold until its
// association's end; beyond it data is discarded (queue_full).
const MaxHeld = 8192

type service struct {
	idx     int
	cfg     Service
	handle  []byte
	score   int
	byID    map[uint32]*server // ASP-ACTIVE here, by PE identifier
	byTag   map[uint16]*server
	ids     []uint32 // keys of byID, sorted
	members map[uint32]struct{}
	sls     [256]*server
	live    int
	// whole: the pool's elements and those ASP-ACTIVE here were once the
	// same set (or the start-up grace is over); until then its point code
	// waits.
	whole bool
}

// Core is the gateway's sans-I/O router. Inputs are its methods; Ready returns
// the actions they produced. Not safe for concurrent use.
type Core struct {
	pools    Pools
	services []*service
	byRC     map[uint32]*service
	byKey    []*service // by decreasing specificity
	netRC    map[uint32]uint32
	servers  map[m3ua.AssocID]*server
	cookies  cookieStore
	ctr      Counters
	draining bool
	// dest is what the network was last told of each service point code
	// (DAVA true, DUNA false).
	dest map[uint32]bool
	// grace is limits.startup_grace; graceEnd is set by the first Refresh
	// or Tick; settled once it has passed.
	grace    time.Duration
	graceEnd time.Time
	settled  bool
	// upASP is every ASP-ACTIVE ASP with an identifier, by association,
	// with the services it serves; downASP is every ASP whose asp-down is
	// raised, by PE identifier, with the services it served then.
	upASP   map[m3ua.AssocID]aspRec
	downASP map[uint32][]int
	// maxUnanswered and unansweredLife are limits.unanswered and
	// limits.unanswered_lifetime.
	maxUnanswered  int
	unansweredLife time.Duration
	// rerouted: network transaction ids of unanswered messages routed
	// again after their element's end, for the lifetime: SCTP may still
	// hand the same message back afterwards, and it must not go twice.
	rerouted map[tcap.TID]time.Time

	actions []Action
	bufs    [][]byte
	scratch []uint32
	live    []uint32
	sccpMsg sccp.Message
	tcapMsg tcap.Message
}

// NewCore returns a core for a validated configuration.
func NewCore(cfg *Config, pools Pools) *Core {
	c := &Core{
		pools:   pools,
		byRC:    map[uint32]*service{},
		netRC:   map[uint32]uint32{},
		servers: map[m3ua.AssocID]*server{},
		dest:    map[uint32]bool{},
		grace:   cfg.Limits.StartupGrace,
		upASP:   map[m3ua.AssocID]aspRec{},
		downASP: map[uint32][]int{},

		maxUnanswered:  cfg.Limits.Unanswered,
		unansweredLife: cfg.Limits.UnansweredLifetime,
		rerouted:       map[tcap.TID]time.Time{},
	}
	c.cookies.init(cfg.Limits.Cookies, cfg.Limits.CookieLifetime)
	for _, as := range cfg.Network.ASes {
		for _, pc := range as.PointCodes {
			c.netRC[pc] = as.RC
		}
	}
	for i, sc := range cfg.Services {
		s := &service{
			idx: i, cfg: sc, handle: []byte(sc.Pool),
			byID: map[uint32]*server{}, byTag: map[uint16]*server{}, members: map[uint32]struct{}{},
		}
		if sc.Key.SSN != 0 {
			s.score += 8
		}
		if sc.Key.SI != 0 {
			s.score += 4
		}
		if len(sc.Key.OPCs) > 0 {
			s.score += 2
		}
		if len(sc.Key.RCs) > 0 {
			s.score++
		}
		c.services = append(c.services, s)
		c.byRC[sc.RC] = s
	}
	c.byKey = slices.Clone(c.services)
	sort.SliceStable(c.byKey, func(i, j int) bool { return c.byKey[i].score > c.byKey[j].score })
	return c
}

// Ready returns the actions produced since the last call; they are valid
// until the next input.
func (c *Core) Ready() []Action {
	a := c.actions
	c.actions = c.actions[:0]
	return a
}

// Counters returns a copy of the counters.
func (c *Core) Counters() Counters {
	k := c.ctr
	k.CookiesHeld = c.cookies.len()
	return k
}

// Discard counts a message the driver discarded.
func (c *Core) Discard(r Reason) { c.ctr.Discarded[r]++ }

// SetDraining makes the core refuse new dialogues (a Begin from the network
// is answered with a TC-ABORT) while continuations still reach their owners.
func (c *Core) SetDraining(on bool) { c.draining = on }

// Live returns the number of live elements of service i: in the pool and
// ASP-ACTIVE here.
func (c *Core) Live(i int) int { return c.services[i].live }

func (c *Core) emit(a Action) { c.actions = append(c.actions, a) }

// NetworkData: MTP3 user data u arrived from the network on association a.
// u.Payload may alias a buffer the driver reuses after the actions are done.
func (c *Core) NetworkData(now time.Time, a m3ua.AssocID, u m3ua.UserData) {
	c.ctr.NetworkIn++
	var m *sccp.Message
	ssn := uint8(0)
	if u.SI == SISCCP {
		m = &c.sccpMsg
		if err := sccp.Decode(u.Payload, m); err != nil {
			c.ctr.Discarded[ReasonSCCPUndecodable]++
			return
		}
		if m.Called.HasSSN {
			ssn = m.Called.SSN
		}
	}
	s := c.match(u, ssn)
	if s == nil {
		c.ctr.Discarded[ReasonNoRoute]++
		return
	}
	c.route(now, s, u, m, false)
}

func (c *Core) match(u m3ua.UserData, ssn uint8) *service {
	for _, s := range c.byKey {
		k := &s.cfg.Key
		if k.DPC != u.DPC || (k.SI != 0 && k.SI != u.SI) || (k.SSN != 0 && k.SSN != ssn) {
			continue
		}
		if len(k.OPCs) > 0 && !slices.Contains(k.OPCs, u.OPC) {
			continue
		}
		if len(k.RCs) > 0 && (!u.HasRC || !slices.Contains(k.RCs, u.RC)) {
			continue
		}
		return s
	}
	return nil
}

// route sends network data u, matched to service s, to its element. m is the
// decoded SCCP part when u is SCCP. resent marks data routed again.
func (c *Core) route(now time.Time, s *service, u m3ua.UserData, m *sccp.Message, resent bool) {
	u.RC, u.HasRC = s.cfg.RC, true
	if m == nil {
		c.bySLS(s, u)
		return
	}
	t := &c.tcapMsg
	if err := tcap.Decode(m.Data, t); err != nil {
		// Not a TCAP message we understand: keep it in order with its SLS;
		// the element's TCAP layer answers it.
		c.bySLS(s, u)
		return
	}
	if m.Type == sccp.UDTS || m.Type == sccp.XUDTS {
		// A message an element sent, returned: its OTID is the element's.
		if t.HasOTID {
			if tid, ok := tid4(t.OTID); ok {
				c.toOwner(now, s, u, m, t, tid, false)
				return
			}
		}
		c.bySLS(s, u)
		return
	}
	switch t.Kind {
	case tcap.Begin, tcap.Unidirectional:
		if c.draining && !resent {
			c.ctr.Discarded[ReasonDraining]++
			if t.Kind == tcap.Begin {
				c.abort(u, m, t, tcap.ResourceLimitation)
			}
			return
		}
		srv := c.choose(s)
		if srv == nil {
			c.ctr.Discarded[ReasonNoElement]++
			if t.Kind == tcap.Begin {
				c.abort(u, m, t, tcap.ResourceLimitation)
			}
			return
		}
		if t.Kind == tcap.Begin && !resent {
			c.ctr.DialoguesStarted++
			c.ctr.DialoguesActive++
		}
		c.sendServer(srv, u)
		if t.Kind == tcap.Begin {
			c.remember(now, srv, s, u, t)
		}
	default: // Continue, End, Abort
		if t.Kind != tcap.Continue && !resent {
			c.dialogueEnded()
		}
		tid, ok := uint32(0), false
		if t.HasDTID {
			tid, ok = tid4(t.DTID)
		}
		if !ok {
			c.ctr.Discarded[ReasonOwnerGone]++
			if t.Kind == tcap.Continue {
				c.abort(u, m, t, tcap.UnrecognizedTransactionID)
			}
			return
		}
		c.toOwner(now, s, u, m, t, tid, t.Kind == tcap.Continue)
		if t.Kind != tcap.Continue {
			c.cookies.remove(cookieKey(s, tid))
		}
	}
}

// dialogueEnded counts an End or Abort; the estimate never goes below zero
// (dialogues that began before a restart end too).
func (c *Core) dialogueEnded() {
	if c.ctr.DialoguesActive > 0 {
		c.ctr.DialoguesActive--
	}
}

func tid4(t tcap.TID) (uint32, bool) {
	if t.Len() != 4 {
		return 0, false
	}
	return t.Uint32(), true
}

// toOwner sends u to the element whose tag tid carries, or, that one gone,
// to the rendezvous choice with the dialogue's cookie, or aborts it.
func (c *Core) toOwner(now time.Time, s *service, u m3ua.UserData, m *sccp.Message, t *tcap.Message, tid uint32, abortable bool) {
	if srv := s.byTag[uint16(tid>>16)]; srv != nil && c.isMember(s, srv.id) {
		c.sendServer(srv, u)
		if abortable {
			c.remember(now, srv, s, u, t)
		}
		return
	}
	e := c.cookies.get(cookieKey(s, tid), now)
	if e == nil {
		c.ctr.Discarded[ReasonOwnerGone]++
		if abortable {
			c.abort(u, m, t, tcap.UnrecognizedTransactionID)
		}
		return
	}
	srv := c.rendezvous(s, tid)
	if srv == nil {
		c.ctr.Discarded[ReasonNoElement]++
		if abortable {
			c.abort(u, m, t, tcap.UnrecognizedTransactionID)
		}
		return
	}
	if !e.echoed || e.echoedTo != srv.id {
		e.echoed, e.echoedTo = true, srv.id
		c.ctr.DialoguesFailedOver++
		c.emit(Action{Kind: CookieEcho, Assoc: srv.assoc, Data: u, Cookie: e.value})
	}
	c.sendServer(srv, u)
	if abortable {
		c.remember(now, srv, s, u, t)
	}
}

func (c *Core) isMember(s *service, id uint32) bool {
	_, ok := s.members[id]
	return ok
}

// Rendezvous returns the element of ids with the highest FNV-1a 64 hash of
// the 4 octets of tid followed by the 4 octets of the identifier (both
// big-endian): the new owner of an orphaned dialogue, the same on every
// gateway that sees the same live elements. ok is false when ids is empty.
func Rendezvous(tid uint32, ids []uint32) (id uint32, ok bool) {
	var best uint64
	for _, x := range ids {
		h := rendezvousHash(tid, x)
		if !ok || h > best || (h == best && x < id) {
			best, id, ok = h, x, true
		}
	}
	return id, ok
}

func rendezvousHash(tid, id uint32) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, v := range [2]uint32{tid, id} {
		for sh := 24; sh >= 0; sh -= 8 {
			h ^= uint64(byte(v >> sh))
			h *= prime
		}
	}
	return h
}

func (c *Core) liveIDs(s *service) []uint32 {
	c.live = c.live[:0]
	for _, id := range s.ids {
		if c.isMember(s, id) {
			c.live = append(c.live, id)
		}
	}
	return c.live
}

func (c *Core) rendezvous(s *service, tid uint32) *server {
	id, ok := Rendezvous(tid, c.liveIDs(s))
	if !ok {
		return nil
	}
	return s.byID[id]
}

// choose picks a live element of s by its pool's policy.
func (c *Core) choose(s *service) *server {
	if s.live == 0 {
		return nil
	}
	k := len(s.members)
	if k > 64 {
		k = 64
	}
	c.scratch = c.pools.Select(s.handle, k, c.scratch[:0])
	for _, id := range c.scratch {
		if srv := s.byID[id]; srv != nil {
			c.ctr.Selections++
			return srv
		}
	}
	// None of the policy's first choices is active here: the first live one.
	for _, id := range s.ids {
		if c.isMember(s, id) {
			c.ctr.Selections++
			return s.byID[id]
		}
	}
	return nil
}

// bySLS sends u to the element bound to its SLS, binding one first.
func (c *Core) bySLS(s *service, u m3ua.UserData) {
	srv := s.sls[u.SLS]
	if srv != nil && srv.failing {
		if len(srv.held) >= MaxHeld {
			c.ctr.Discarded[ReasonQueueFull]++
			return
		}
		u.Payload = append([]byte(nil), u.Payload...)
		srv.held = append(srv.held, u)
		return
	}
	if srv == nil {
		srv = c.choose(s)
		if srv == nil {
			c.ctr.Discarded[ReasonNoElement]++
			return
		}
		s.sls[u.SLS] = srv
	}
	srv.seq++
	srv.sent[srv.seq%sentRing] = sentRec{hash: payloadHash(u), seq: srv.seq}
	c.sendServer(srv, u)
}

func (c *Core) sendServer(srv *server, u m3ua.UserData) {
	c.ctr.ToServers++
	c.emit(Action{Kind: SendServer, Assoc: srv.assoc, Data: u})
}

// abort answers the network's transaction in t (from u, m) with a TC-ABORT
// carrying a P-Abort cause.
func (c *Core) abort(u m3ua.UserData, m *sccp.Message, t *tcap.Message, cause uint8) {
	if !t.HasOTID {
		return
	}
	ab := tcap.Message{Kind: tcap.Abort, DTID: t.OTID, HasDTID: true, PAbortCause: cause, HasPAbortCause: true}
	tb, err := ab.Append(make([]byte, 0, 16))
	if err != nil {
		c.ctr.Discarded[ReasonEncode]++
		return
	}
	r := sccp.Reply(m, tb)
	out, err := r.Append(make([]byte, 0, 32+len(m.Called.GT)+len(m.Calling.GT)+len(tb)))
	if err != nil {
		c.ctr.Discarded[ReasonEncode]++
		return
	}
	d := m3ua.UserData{OPC: u.DPC, DPC: u.OPC, SI: u.SI, NI: u.NI, MP: u.MP, SLS: u.SLS, Payload: out}
	rc, ok := c.netRC[d.DPC]
	if !ok {
		rc, ok = c.networkRCOf(u)
	}
	if !ok {
		c.ctr.Discarded[ReasonNoRoute]++
		return
	}
	d.RC, d.HasRC = rc, true
	c.ctr.DialoguesAborted++
	c.ctr.ToNetwork++
	c.emit(Action{Kind: SendNetwork, Data: d})
}

// networkRCOf is the network AS data u came in on, when it said.
func (c *Core) networkRCOf(u m3ua.UserData) (uint32, bool) {
	if !u.HasRC {
		return 0, false
	}
	if _, svc := c.byRC[u.RC]; svc {
		return 0, false
	}
	return u.RC, true
}

// ServerData: MTP3 user data from the ASP on association a, for the network.
func (c *Core) ServerData(now time.Time, a m3ua.AssocID, u m3ua.UserData) {
	c.ctr.ServerIn++
	rc, ok := c.netRC[u.DPC]
	if !ok {
		c.ctr.Discarded[ReasonNoRoute]++
		return
	}
	if u.SI == SISCCP {
		m := &c.sccpMsg
		if sccp.Decode(u.Payload, m) == nil && tcap.Decode(m.Data, &c.tcapMsg) == nil {
			switch c.tcapMsg.Kind {
			case tcap.Begin:
				c.ctr.DialoguesActive++
			case tcap.End, tcap.Abort:
				c.dialogueEnded()
			}
			if srv := c.servers[a]; srv != nil && c.tcapMsg.HasDTID && len(srv.unanswered) > 0 {
				c.drop(srv, c.tcapMsg.DTID)
			}
		}
	}
	u.RC, u.HasRC = rc, true
	c.ctr.ToNetwork++
	c.emit(Action{Kind: SendNetwork, Data: u})
}

// ServerState: the ASP on association a (ASP Identifier id when hasID) is
// now ASP-ACTIVE for the routing contexts active (none: it left ASP-ACTIVE).
func (c *Core) ServerState(now time.Time, a m3ua.AssocID, id uint32, hasID bool, active []uint32) {
	c.aspState(a, id, hasID, active)
	srv := c.servers[a]
	if srv == nil {
		if len(active) == 0 {
			return
		}
		srv = &server{assoc: a}
		c.servers[a] = srv
	}
	if srv.failing && len(active) > 0 {
		c.release(now, srv)
	}
	if len(active) > 0 {
		srv.left = false
	}
	if srv.hasID && (!hasID || srv.id != id) {
		// Its identity changed: out of every service under the old one.
		c.leave(srv, nil)
	}
	srv.id, srv.hasID = id, hasID
	c.leave(srv, active)
	srv.active = append(srv.active[:0], active...)
	if hasID {
		for _, rc := range active {
			if s := c.byRC[rc]; s != nil {
				c.join(s, srv)
			}
		}
	}
	if len(active) == 0 && !srv.failing {
		delete(c.servers, a)
	}
	c.unansweredAgain(now, srv)
}

// ServerLost: the association a of an ASP is gone. If it was failing, its
// SLS bindings move now, and what came back unsent and what they held is
// routed again, in that order.
func (c *Core) ServerLost(now time.Time, a m3ua.AssocID) {
	if r, ok := c.upASP[a]; ok {
		delete(c.upASP, a)
		c.aspDown(r, "association lost", true)
		c.downLeft() // its element may be gone already
	}
	srv := c.servers[a]
	if srv == nil {
		return
	}
	c.leave(srv, nil)
	delete(c.servers, a)
	if srv.failing {
		c.release(now, srv)
	}
	c.unansweredAgain(now, srv)
}

// fail takes srv out of selection at the first sign its association failed;
// its SLS bindings hold until its end (or HoldMax).
func (c *Core) fail(now time.Time, srv *server) {
	c.holdBindings(now, srv)
	if !srv.left {
		srv.left = true
		c.leave(srv, nil)
	}
}

// holdBindings makes srv's SLS bindings hold their data (an element that left
// the handlespace: its association's failure, and unsent data, may follow).
func (c *Core) holdBindings(now time.Time, srv *server) {
	if !srv.failing {
		srv.failing, srv.failedAt = true, now
	}
}

// release moves a failing element's SLS bindings and routes again what came
// back unsent, in sending order, then what the bindings held.
func (c *Core) release(now time.Time, srv *server) {
	srv.failing = false
	for _, s := range c.services {
		for i := range s.sls {
			if s.sls[i] == srv {
				s.sls[i] = nil
			}
		}
	}
	for _, u := range srv.inSendingOrder() {
		c.reroute(now, u)
	}
	for _, u := range srv.held {
		if s := c.byRC[u.RC]; s != nil {
			c.bySLS(s, u)
		}
	}
	srv.returned, srv.refused, srv.held = nil, nil, nil
}

// inSendingOrder returns what came back unsent from srv in the order it was
// sent: by the sequence number its hash had when sent; messages sent too long
// ago to be remembered (or not sent by SLS binding) first, SCTP's returns
// before failed writes among equals.
func (srv *server) inSendingOrder() []m3ua.UserData {
	all := append(srv.returned, srv.refused...)
	if len(all) < 2 {
		return all
	}
	seqOf := make(map[uint64][]uint64, len(srv.sent))
	for _, r := range srv.sent {
		if r.seq != 0 {
			seqOf[r.hash] = append(seqOf[r.hash], r.seq)
		}
	}
	for h := range seqOf {
		slices.Sort(seqOf[h])
	}
	keys := make([]uint64, len(all))
	for i, u := range all {
		h := payloadHash(u)
		if q := seqOf[h]; len(q) > 0 {
			keys[i] = q[0] // identical messages take their numbers in turn
			seqOf[h] = q[1:]
		}
	}
	idx := make([]int, len(all))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	out := make([]m3ua.UserData, len(all))
	for i, j := range idx {
		out[i] = all[j]
	}
	return out
}

// leave takes srv out of every service it is in whose RC is not in keep.
func (c *Core) leave(srv *server, keep []uint32) {
	for _, rc := range srv.active {
		if slices.Contains(keep, rc) {
			continue
		}
		s := c.byRC[rc]
		if s == nil || s.byID[srv.id] != srv {
			continue
		}
		delete(s.byID, srv.id)
		if s.byTag[uint16(srv.id)] == srv {
			delete(s.byTag, uint16(srv.id))
		}
		if i, ok := slices.BinarySearch(s.ids, srv.id); ok {
			s.ids = slices.Delete(s.ids, i, i+1)
		}
		if !srv.failing {
			for i := range s.sls {
				if s.sls[i] == srv {
					s.sls[i] = nil
				}
			}
		}
		c.emit(Action{Kind: ReportUnreachable, Handle: s.handle, ID: srv.id, Service: s.idx})
		c.recount(s)
	}
	if keep == nil {
		srv.active = srv.active[:0]
	}
}

func (c *Core) join(s *service, srv *server) {
	if old := s.byID[srv.id]; old == srv {
		return
	} else if old != nil {
		// Another association claims the same element: the newer wins.
		c.leave(old, removeRC(old.active, s.cfg.RC))
		old.active = removeRC(old.active, s.cfg.RC)
	}
	s.byID[srv.id] = srv
	s.byTag[uint16(srv.id)] = srv
	if i, ok := slices.BinarySearch(s.ids, srv.id); !ok {
		s.ids = slices.Insert(s.ids, i, srv.id)
	}
	c.recount(s)
}

func removeRC(rcs []uint32, rc uint32) []uint32 {
	out := make([]uint32, 0, len(rcs))
	for _, r := range rcs {
		if r != rc {
			out = append(out, r)
		}
	}
	return out
}

// Refresh reads every service's pool membership again (after a handlespace
// change, and periodically): elements that left the pool leave selection and
// their SLS bindings; the network hears of a pool that emptied or filled.
func (c *Core) Refresh(now time.Time) {
	defer c.settle(now)
	for _, s := range c.services {
		c.scratch = c.pools.Elements(s.handle, c.scratch[:0])
		clear(s.members)
		for _, id := range c.scratch {
			s.members[id] = struct{}{}
		}
		for _, srv := range s.sls {
			if srv != nil && !c.isMember(s, srv.id) {
				c.holdBindings(now, srv)
			}
		}
		c.recount(s)
	}
	c.downLeft()
}

// recount updates the live count of s and tells the network and the alarms
// when it changed.
func (c *Core) recount(s *service) {
	n := 0
	for _, id := range s.ids {
		if c.isMember(s, id) {
			n++
		}
	}
	changed := n != s.live
	s.live = n
	if changed {
		c.emit(Action{Kind: PoolLevel, Service: s.idx, Handle: s.handle, Live: n, Settled: c.settled})
	}
	c.destination(s)
}

// destination tells the network whether the point code of s is available:
// while any of its services has a live element (one emptied pool must not
// cut the others' traffic). During the start-up grace a service counts
// only from the moment its pool's elements and the elements ASP-ACTIVE
// here for it have been the same set: a gateway just (re)started must not
// draw continuations it could only abort, while the other gateways reach
// their owners — for an element not yet ASP-ACTIVE here, or for one active
// here that the embedded registrar, still waiting for its peers' table,
// does not list yet.
func (c *Core) destination(s *service) {
	pc := s.cfg.Key.DPC
	avail := false
	for _, o := range c.services {
		if !o.whole && o.live > 0 && o.live == len(o.members) && o.live == len(o.ids) {
			o.whole = true
		}
		avail = avail || (o.cfg.Key.DPC == pc && o.live > 0 && (c.settled || o.whole))
	}
	st, told := c.dest[pc]
	if !told || st != avail {
		c.dest[pc] = avail
		c.emit(Action{Kind: Destination, Service: s.idx, PC: pc, Available: avail})
	}
}

// Cookie: the ASP on association a checkpointed a dialogue: value is the
// 4-octet transaction id then the state (empty: the dialogue is over).
func (c *Core) Cookie(now time.Time, a m3ua.AssocID, value []byte) {
	srv := c.servers[a]
	var s *service
	if srv != nil {
		for _, rc := range srv.active {
			if s = c.byRC[rc]; s != nil {
				break
			}
		}
	}
	if len(value) < 4 {
		c.ctr.Discarded[ReasonCookieMalformed]++
		return
	}
	if s == nil {
		c.ctr.Discarded[ReasonCookieInactive]++
		return
	}
	tid := binary.BigEndian.Uint32(value)
	if len(value) == 4 {
		c.cookies.remove(cookieKey(s, tid))
		return
	}
	c.ctr.CookiesStored++
	c.cookies.put(cookieKey(s, tid), value, now, &c.ctr)
}

func cookieKey(s *service, tid uint32) uint64 { return uint64(s.idx)<<32 | uint64(tid) }

// Unsent: DATA the gateway sent to the ASP on association a did not reach
// it (u.Payload is the driver's copy; returned says SCTP handed it back
// undelivered, as opposed to a write that failed or was dropped later).
// The association is out of selection at once. Its end (ServerLost) follows:
// until then the data waits, with whatever its SLS bindings get meanwhile,
// and then all of it is routed again in order. Unsent data for an
// association already gone is routed again at once.
func (c *Core) Unsent(now time.Time, a m3ua.AssocID, u m3ua.UserData, returned bool) {
	srv := c.servers[a]
	if srv == nil {
		if !c.reroutedAlready(now, u) {
			c.reroute(now, u)
		}
		return
	}
	c.forget(srv, u)
	c.fail(now, srv)
	if len(srv.returned)+len(srv.refused) >= MaxHeld {
		c.reroute(now, u)
		return
	}
	if returned {
		srv.returned = append(srv.returned, u)
	} else {
		srv.refused = append(srv.refused, u)
	}
}

// Refused: the server side refused a send to the ASP on association a (it
// is no longer ASP-ACTIVE there, or the association is gone). The M3UA layer
// may know this before its events reach the core, with unsent data still on
// the way: the element fails as with Unsent, and the data is routed again at
// once, behind its SLS binding's hold.
func (c *Core) Refused(now time.Time, a m3ua.AssocID, u m3ua.UserData) {
	if srv := c.servers[a]; srv != nil {
		c.forget(srv, u)
		c.fail(now, srv)
	} else if c.reroutedAlready(now, u) {
		return
	}
	c.reroute(now, u)
}

func (c *Core) reroute(now time.Time, u m3ua.UserData) {
	s := c.byRC[u.RC]
	if s == nil || !u.HasRC {
		c.ctr.Discarded[ReasonNoRoute]++
		return
	}
	c.ctr.Resent++
	var m *sccp.Message
	if u.SI == SISCCP {
		m = &c.sccpMsg
		if sccp.Decode(u.Payload, m) != nil {
			m = nil
		}
	}
	c.route(now, s, u, m, true)
}

// NetworkUnsent: DATA sent toward the network did not reach the node it was
// given to; it goes to the network AS again (another of its ASPs).
func (c *Core) NetworkUnsent(now time.Time, a m3ua.AssocID, u m3ua.UserData) {
	c.ctr.Resent++
	c.ctr.ToNetwork++
	c.emit(Action{Kind: SendNetwork, Data: u})
}

// Tick expires cookies past their lifetime and releases failing elements
// whose end did not come within HoldMax.
func (c *Core) Tick(now time.Time) {
	defer c.settle(now)
	c.cookies.expire(now, &c.ctr)
	for k, at := range c.rerouted {
		if now.Sub(at) > c.unansweredLife {
			delete(c.rerouted, k)
		}
	}
	for _, srv := range c.servers {
		if len(srv.unanswered) == 0 || now.Sub(srv.oldest) <= c.unansweredLife {
			continue
		}
		srv.oldest = now
		for k, e := range srv.unanswered {
			if now.Sub(e.at) > c.unansweredLife {
				c.drop(srv, k)
			} else if e.at.Before(srv.oldest) {
				srv.oldest = e.at
			}
		}
	}
	for a, srv := range c.servers {
		if srv.failing && now.Sub(srv.failedAt) >= HoldMax {
			c.release(now, srv)
			if len(srv.active) == 0 {
				delete(c.servers, a)
			}
		}
	}
}

// settle starts the start-up grace at the first call and, once it has
// passed, gives every service's level with Settled set, so a pool short of
// elements from the start raises its alarm though its count never changed.
func (c *Core) settle(now time.Time) {
	if c.settled {
		return
	}
	if c.graceEnd.IsZero() {
		c.graceEnd = now.Add(c.grace)
	}
	if now.Before(c.graceEnd) {
		return
	}
	c.settled = true
	for _, s := range c.services {
		c.emit(Action{Kind: PoolLevel, Service: s.idx, Handle: s.handle, Live: s.live, Settled: true})
	}
	for _, s := range c.services {
		c.destination(s)
	}
}

// Settled reports whether the start-up grace of the pool alarms is over.
func (c *Core) Settled() bool { return c.settled }

// aspRec is an ASP-ACTIVE ASP: its PE identifier and the services (indices)
// it is active for.
type aspRec struct {
	id       uint32
	services []int
}

// aspState follows the ASPs going ASP-ACTIVE and leaving it for the asp-down
// alarm.
func (c *Core) aspState(a m3ua.AssocID, id uint32, hasID bool, active []uint32) {
	r, was := c.upASP[a]
	if was && (len(active) == 0 || !hasID || r.id != id) {
		delete(c.upASP, a)
		c.aspDown(r, "left ASP-ACTIVE", false)
	}
	if len(active) == 0 || !hasID {
		return
	}
	r = aspRec{id: id}
	for _, rc := range active {
		if s := c.byRC[rc]; s != nil && !slices.Contains(r.services, s.idx) {
			r.services = append(r.services, s.idx)
		}
	}
	c.upASP[a] = r
	if _, down := c.downASP[id]; down {
		delete(c.downASP, id)
		c.emit(Action{Kind: ASPDown, ID: id, Cause: "ASP-ACTIVE again"})
	}
}

// aspDown raises asp-down for an ASP that left ASP-ACTIVE or lost its
// association (lost). An association lost is a failure: raised whatever the
// handlespace says (the registrars may drop the element at the same
// instant; it is then cleared at once, and the alarm manager keeps it for
// its clear hold). An ASP
// that left ASP-ACTIVE with its association up raises nothing when its
// element is in none of the pools of the services it served: it
// deregistered first (an orderly stop) or never registered.
func (c *Core) aspDown(r aspRec, cause string, lost bool) {
	member := false
	for _, i := range r.services {
		member = member || c.isMember(c.services[i], r.id)
	}
	if len(r.services) == 0 || (!member && !lost) {
		return
	}
	// Another association may still be ASP-ACTIVE under the same
	// identifier (a newer one took over): the ASP is not down.
	for _, o := range c.upASP {
		if o.id == r.id {
			return
		}
	}
	svcs, down := c.downASP[r.id]
	for _, i := range r.services {
		if !slices.Contains(svcs, i) {
			svcs = append(svcs, i)
		}
	}
	c.downASP[r.id] = svcs
	if !down {
		c.emit(Action{Kind: ASPDown, ID: r.id, Raise: true, Cause: cause})
	}
}

// downLeft ends the asp-down of every ASP whose element left the pools of
// all the services it served (deregistered, or removed by the registrars
// after failure reports or a keep-alive timeout): it is no longer an
// expected member. Smallest identifier first.
func (c *Core) downLeft() {
	if len(c.downASP) == 0 {
		return
	}
	ids := c.scratch[:0]
	for id, svcs := range c.downASP {
		member := false
		for _, i := range svcs {
			member = member || c.isMember(c.services[i], id)
		}
		if !member {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		delete(c.downASP, id)
		c.emit(Action{Kind: ASPDown, ID: id, Cause: "element left the handlespace"})
	}
	c.scratch = ids[:0]
}

// remember keeps network message u (a Begin or Continue, TCAP part t) given
// to srv for service s until srv answers it here, to route it again if srv
// fails first.
func (c *Core) remember(now time.Time, srv *server, s *service, u m3ua.UserData, t *tcap.Message) {
	if !t.HasOTID {
		return
	}
	if srv.unanswered == nil {
		srv.unanswered = map[tcap.TID]unanswered{}
	}
	var buf []byte
	if old, ok := srv.unanswered[t.OTID]; ok {
		buf = old.u.Payload[:0]
	} else if len(srv.unanswered) >= c.maxUnanswered {
		return
	} else if n := len(c.bufs); n > 0 {
		buf, c.bufs = c.bufs[n-1], c.bufs[:n-1]
	}
	if len(srv.unanswered) == 0 {
		srv.oldest = now
	}
	srv.seq++
	u.Payload = append(buf, u.Payload...)
	srv.unanswered[t.OTID] = unanswered{u: u, s: s, at: now, seq: srv.seq, begin: t.Kind == tcap.Begin}
}

// forget drops what srv was given as u: it came back unsent (or the send
// was refused) and is routed again on that account.
func (c *Core) forget(srv *server, u m3ua.UserData) {
	if len(srv.unanswered) == 0 || u.SI != SISCCP {
		return
	}
	m := &c.sccpMsg
	if sccp.Decode(u.Payload, m) != nil || tcap.Decode(m.Data, &c.tcapMsg) != nil || !c.tcapMsg.HasOTID {
		return
	}
	c.drop(srv, c.tcapMsg.OTID)
}

// drop forgets srv's unanswered message of transaction tid, keeping its
// buffer for the next one.
func (c *Core) drop(srv *server, tid tcap.TID) {
	e, ok := srv.unanswered[tid]
	if !ok {
		return
	}
	delete(srv.unanswered, tid)
	if cap(e.u.Payload) <= maxKeptBuf && len(c.bufs) < maxBufs {
		c.bufs = append(c.bufs, e.u.Payload[:0])
	}
}

// Buffers of forgotten unanswered messages kept for reuse: up to maxBufs,
// of at most maxKeptBuf octets.
const (
	maxBufs    = 1024
	maxKeptBuf = 512
)

// unansweredAgain routes again, in the order they were given, the network
// messages srv has not answered and can no longer answer here: all of them
// when its association ended or it left ASP-ACTIVE, those of the services
// it is no longer active for otherwise. Not when its element leaves the
// handlespace with its association up and ASP-ACTIVE: that is an element
// draining (asp.Server.Drain deregisters, then still answers what it was
// given), and routing those again would answer them twice. Those older than
// limits.unanswered_lifetime are dropped. A Begin goes to a newly
// selected element, a continuation to its rendezvous owner with its cookie;
// when neither is possible the network gets a TC-ABORT.
func (c *Core) unansweredAgain(now time.Time, srv *server) {
	if len(srv.unanswered) == 0 {
		return
	}
	var again []unanswered
	for k, e := range srv.unanswered {
		if slices.Contains(srv.active, e.s.cfg.RC) {
			continue
		}
		delete(srv.unanswered, k)
		if now.Sub(e.at) <= c.unansweredLife {
			again = append(again, e)
		}
	}
	sort.Slice(again, func(i, j int) bool { return again[i].seq < again[j].seq })
	for _, e := range again {
		m := &c.sccpMsg
		if sccp.Decode(e.u.Payload, m) != nil {
			continue
		}
		if len(c.rerouted) < maxRerouted && tcap.Decode(m.Data, &c.tcapMsg) == nil && c.tcapMsg.HasOTID {
			c.rerouted[c.tcapMsg.OTID] = now
		}
		aborted := c.ctr.DialoguesAborted
		c.route(now, e.s, e.u, m, true)
		switch {
		case c.ctr.DialoguesAborted != aborted:
			c.ctr.UnansweredAborted++
		case e.begin:
			c.ctr.UnansweredBegins++
		default:
			c.ctr.UnansweredContinuations++
		}
	}
}

// maxRerouted bounds Core.rerouted.
const maxRerouted = 65536

// reroutedAlready says whether u, handed back for an association already
// ended, is a Begin or Continue that was routed again at that end as
// unanswered: it must not be routed a second time.
func (c *Core) reroutedAlready(now time.Time, u m3ua.UserData) bool {
	if len(c.rerouted) == 0 || u.SI != SISCCP {
		return false
	}
	m := &c.sccpMsg
	if sccp.Decode(u.Payload, m) != nil || tcap.Decode(m.Data, &c.tcapMsg) != nil || !c.tcapMsg.HasOTID {
		return false
	}
	at, ok := c.rerouted[c.tcapMsg.OTID]
	return ok && now.Sub(at) <= c.unansweredLife
}
