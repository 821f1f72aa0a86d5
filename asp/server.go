package asp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// Counters are the server's counters (monotonic) and its active dialogues.
type Counters struct {
	Begins, Continues, Ends, Aborts, Unidirectional uint64 // TCAP received
	SCCP, MTP3                                      uint64 // handed up raw
	Sent, SendFailed                                uint64 // TCAP messages sent / that failed
	SentIngress, SentOther                          uint64 // of Sent: through the association the request came in on / another chosen by SLS
	Refused                                         uint64 // Begins refused (draining, no transaction id)
	UnknownTID, ForeignTID                          uint64 // continuations for no dialogue here: own tag / another tag
	Undecodable                                     uint64 // SCCP or TCAP that did not decode
	TimedOut                                        uint64 // dialogues given up idle
	CookiesSent, CookiesFailed                      uint64 // ASAP cookies, per gateway
	Adopted, DuplicateEchoes, BadEchoes             uint64 // cookie echoes
	Redraws                                         uint64 // new PE identifiers after a non-unique refusal
	Rerouted, Lost                                  uint64 // DATA handed back unsent: sent again through another gateway / not
	Active                                          int    // dialogues held now
}

type counters struct {
	begins, continues, ends, aborts, unidirectional atomic.Uint64
	sccp, mtp3                                      atomic.Uint64
	sent, sendFailed                                atomic.Uint64
	sentIngress, sentOther                          atomic.Uint64
	refused, unknownTID, foreignTID, undecodable    atomic.Uint64
	timedOut, cookiesSent, cookiesFailed            atomic.Uint64
	adopted, dupEchoes, badEchoes, redraws          atomic.Uint64
	rerouted, lost                                  atomic.Uint64
}

// Server is one application server process: an M3UA ASP with one
// association to every gateway (ASP Identifier = its PE identifier, active
// by itself) and one RSerPool pool element registered with the gateways'
// registrars, whose load is its active dialogues over its capacity. It
// allocates transaction ids under its tag, hands TCAP dialogues to the
// Handler, checkpoints them to every gateway, and adopts dialogues handed
// over to it.
type Server struct {
	cfg Config
	h   Handler
	log *zap.Logger
	c   counters

	mu       sync.Mutex
	peid     uint32
	tids     TIDs
	dlgs     map[uint32]*Dialogue
	gen      int
	client   *m3ua.Client
	pe       *rserpool.PEDriver
	active   []bool   // per gateway: ASP-ACTIVE
	streams  []uint16 // per gateway: outbound streams
	draining bool
	closed   bool

	registered atomic.Bool
	curGen     atomic.Int64 // s.gen, for the PE driver's events
	load       atomic.Uint32
	loadQ      uint32 // the load's quantum: one LoadStep, in rserpool's scale
	loadSent   int64  // the last load pushed (-1: none yet), under mu
	loadKick   chan struct{}
	redraw     chan uint32 // the refused PE identifier
	unsent     chan m3ua.DataUnsent
	quit       chan struct{}
	wg         sync.WaitGroup
	nowFn      func() time.Time
}

// New checks cfg and returns a server; Start starts it.
func New(cfg Config, h Handler) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("asp: a Handler is required")
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg: cfg, h: h, log: cfg.Logger,
		dlgs:     make(map[uint32]*Dialogue),
		active:   make([]bool, len(cfg.Gateways)),
		streams:  make([]uint16, len(cfg.Gateways)),
		loadKick: make(chan struct{}, 1),
		redraw:   make(chan uint32, 1),
		unsent:   make(chan m3ua.DataUnsent, unsentQueue),
		quit:     make(chan struct{}),
		nowFn:    time.Now,
		loadSent: -1,
	}
	s.loadQ = max(rserpool.LoadPercent(cfg.LoadStep), 1)
	s.peid = cfg.PEID
	for s.peid == 0 {
		s.peid = cfg.Rand.Uint32()
	}
	s.tids = NewTIDs(Tag(s.peid), uint16(cfg.Rand.Uint32()))
	return s, nil
}

func (s *Server) now() time.Time { return s.nowFn() }

// Start dials the gateways and starts the registration.
func (s *Server) Start() error {
	s.mu.Lock()
	if s.client != nil || s.closed {
		s.mu.Unlock()
		return errors.New("asp: server already started")
	}
	gen, id := s.gen, s.peid
	s.mu.Unlock()
	if err := s.startLinks(gen, id); err != nil {
		return err
	}
	s.wg.Add(3)
	go s.loadLoop()
	go s.redrawLoop()
	go s.unsentLoop()
	return nil
}

// startLinks starts the M3UA client and the PE driver of generation gen
// with PE identifier id.
func (s *Server) startLinks(gen int, id uint32) error {
	cfg := s.cfg
	asp := m3ua.ASPConfig{ASPID: id, HasASPID: true, AutoActivate: true, Beat: cfg.Beat}
	if cfg.HasRC {
		asp.RCs = []uint32{cfg.RC}
	}
	if cfg.Key != nil {
		asp.Register = []m3ua.RoutingKey{*cfg.Key}
	}
	client, err := m3ua.StartClient(m3ua.ClientConfig{
		ASP:       asp,
		Transport: cfg.Transport,
		Local:     cfg.Local,
		SGPs:      cfg.Gateways,
		Handlers: m3ua.Handlers{
			Data:  s.onData,
			Event: func(e m3ua.Event) { s.onM3UAEvent(gen, e) },
			Other: s.onOther,
		},
	})
	if err != nil {
		return fmt.Errorf("asp: M3UA client: %w", err)
	}
	pc := cfg.PE
	pc.PoolHandle = cfg.PoolHandle
	pc.Element = rserpool.PoolElement{
		ID: id,
		UserTransport: rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: cfg.Local.Port,
			Use: rserpool.DataPlusControl, Addrs: cfg.Local.IPs},
		Policy: rserpool.Policy{Type: cfg.Policy, Load: s.load.Load()},
	}
	// The load is registered in whole steps (updateLoad), and a change of
	// one step at once: the PE registers changes above its LoadStep, so
	// it gets one unit less (and never 0, the PE's "default").
	pc.LoadStep = max(s.loadQ-1, 1)
	pc.Hunt.Registrars = cfg.Registrars
	pe := rserpool.NewPEDriver(rserpool.DriverConfig{
		Transport: cfg.Transport,
		LocalAddr: sctp.Addr{IPs: cfg.Local.IPs},
		OnEvent:   func(e rserpool.Event) { s.onPEEvent(gen, id, e) },
	}, pc, nil)
	s.mu.Lock()
	if s.closed || s.gen != gen {
		s.mu.Unlock()
		client.Close()
		pe.Close()
		return errors.New("asp: server closed")
	}
	s.client, s.pe = client, pe
	s.mu.Unlock()
	pe.Start()
	s.log.Info("pool element starting", zap.Uint32("pe_id", id), zap.Uint16("tag", Tag(id)),
		zap.ByteString("pool", cfg.PoolHandle))
	return nil
}

func (s *Server) onM3UAEvent(gen int, e m3ua.Event) {
	if e, ok := e.(m3ua.DataUnsent); ok {
		// Not delivered to that gateway: another one takes it (off this
		// goroutine, which is the driver's).
		select {
		case s.unsent <- e:
		default:
			s.c.lost.Add(1)
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.gen {
		return
	}
	switch e := e.(type) {
	case m3ua.AssocEstablished:
		if i := int(e.Assoc) - 1; i >= 0 && i < len(s.streams) {
			s.streams[i] = e.OutStreams
		}
		s.log.Info("gateway association up", zap.Int("gateway", int(e.Assoc)-1), zap.Stringer("peer", e.Peer))
	case m3ua.AssocEnded:
		if i := int(e.Assoc) - 1; i >= 0 && i < len(s.active) {
			s.active[i] = false
		}
		s.log.Warn("gateway association lost", zap.Int("gateway", int(e.Assoc)-1), zap.Error(e.Err))
	case m3ua.ASPStateChanged:
		if i := int(e.Assoc) - 1; i >= 0 && i < len(s.active) {
			s.active[i] = e.To == m3ua.ASPActive
		}
		s.log.Info("ASP state", zap.Int("gateway", int(e.Assoc)-1), zap.Stringer("from", e.From), zap.Stringer("to", e.To))
	}
}

// onPEEvent runs on the PE driver's loop: it must not block nor take s.mu.
func (s *Server) onPEEvent(gen int, id uint32, e rserpool.Event) {
	if int64(gen) != s.curGen.Load() {
		return // a driver replaced after a new identifier was drawn
	}
	switch e := e.(type) {
	case rserpool.Registered:
		s.registered.Store(true)
		if e.Initial {
			s.log.Info("registered", zap.Uint32("pe_id", e.ID))
		}
	case rserpool.RegistrarLost:
		s.registered.Store(false)
		s.log.Warn("registrar lost")
	case rserpool.Deregistered:
		s.registered.Store(false)
	case rserpool.RegistrationRejected:
		s.registered.Store(false)
		for _, c := range e.Causes {
			if c.Code == rserpool.CauseNonUniquePEIdentifier {
				s.log.Warn("PE identifier refused as non-unique; drawing another", zap.Uint32("pe_id", id))
				select {
				case s.redraw <- id:
				default:
				}
				return
			}
		}
		s.log.Warn("registration refused", zap.Any("causes", e.Causes))
	}
}

// redrawLoop restarts the M3UA client and the PE driver with a new random
// PE identifier (another tag) after a non-unique refusal.
func (s *Server) redrawLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.quit:
			return
		case refused := <-s.redraw:
			s.mu.Lock()
			if s.closed || s.draining || refused != s.peid {
				s.mu.Unlock()
				continue
			}
			old := s.peid
			for s.peid == 0 || Tag(s.peid) == Tag(old) {
				s.peid = s.cfg.Rand.Uint32()
			}
			s.tids.SetTag(Tag(s.peid))
			s.gen++
			s.curGen.Store(int64(s.gen))
			gen, id := s.gen, s.peid
			client, pe := s.client, s.pe
			s.client, s.pe = nil, nil
			clear(s.active)
			s.registered.Store(false)
			s.mu.Unlock()
			s.c.redraws.Add(1)
			s.log.Info("new PE identifier", zap.Uint32("old", old), zap.Uint32("pe_id", id))
			if pe != nil {
				pe.Close()
			}
			if client != nil {
				client.Close()
			}
			if err := s.startLinks(gen, id); err != nil {
				s.log.Error("restart after a new PE identifier", zap.Error(err))
			}
		}
	}
}

// unsentQueue bounds the DATA waiting to be sent again.
const unsentQueue = 1024

// unsentLoop sends again the DATA a gateway association handed back
// undelivered, through another gateway association that is usable for its
// destination (the SLS picks among them, see resend); with none left it is
// lost (counted).
func (s *Server) unsentLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.quit:
			return
		case e := <-s.unsent:
			s.mu.Lock()
			client := s.client
			s.mu.Unlock()
			if client == nil || resend(client, len(s.cfg.Gateways), e.Assoc, e.Data) != nil {
				s.c.lost.Add(1)
				continue
			}
			s.c.rerouted.Add(1)
		}
	}
}

// resend sends u through one of the n gateway associations other than
// failed (the one that handed it back, which may still look ASP-ACTIVE for
// a moment), trying them in turn from the one u's SLS picks; when none of
// them is usable it leaves the choice to Client.SendData.
func resend(client *m3ua.Client, n int, failed m3ua.AssocID, u m3ua.UserData) error {
	for k := range n {
		a := m3ua.AssocID((int(u.SLS)+k)%n + 1)
		if a == failed {
			continue
		}
		if client.SendDataTo(a, u) == nil {
			return nil
		}
	}
	return client.SendData(u)
}

// loadLoop pushes the load to the PE driver off the dialogue path.
func (s *Server) loadLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.quit:
			return
		case <-s.loadKick:
			s.mu.Lock()
			pe := s.pe
			s.mu.Unlock()
			if pe != nil {
				pe.SetLoad(s.load.Load())
			}
		}
	}
}

// updateLoad recomputes the load after the dialogue count changed (s.mu
// held) and has it pushed when it moved to another step.
//
// The load is active dialogues over capacity, rounded down to a whole
// number of steps (LoadStep percent). The registrar only learns of a
// change by a step at once, and of anything finer at the next
// re-registration: finer values would make Least Used compare each
// element's load at the instant of its last re-registration (one active
// dialogue or none, when all are nearly idle), and send every new
// dialogue to the element that happened to be idle then (a restarted one
// above all) for up to a re-registration interval. In steps, elements
// within a step of each other tie, and ties go round robin.
func (s *Server) updateLoad() {
	n, capacity := uint64(len(s.dlgs)), uint64(s.cfg.Capacity)
	l := min(n*rserpool.MaxLoad/capacity, rserpool.MaxLoad)
	l -= l % uint64(s.loadQ)
	if int64(l) == s.loadSent {
		return
	}
	s.loadSent = int64(l)
	s.load.Store(uint32(l))
	select {
	case s.loadKick <- struct{}{}:
	default:
	}
}

// Load returns the load last computed (rserpool's scale, MaxLoad = full).
func (s *Server) Load() uint32 { return s.load.Load() }

// PEID returns the current PE identifier (the M3UA ASP Identifier too).
func (s *Server) PEID() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peid
}

// Registered reports whether the pool element is registered.
func (s *Server) Registered() bool { return s.registered.Load() }

// ActiveGateways returns how many gateway associations are ASP-ACTIVE.
func (s *Server) ActiveGateways() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.active {
		if a {
			n++
		}
	}
	return n
}

// Ready reports whether the server takes traffic: ASP-ACTIVE at one gateway
// at least, and registered.
func (s *Server) Ready() bool { return s.ActiveGateways() > 0 && s.Registered() }

// Active returns the number of dialogues held.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.dlgs)
}

// Counters returns a snapshot of the counters.
func (s *Server) Counters() Counters {
	c := &s.c
	return Counters{
		Begins: c.begins.Load(), Continues: c.continues.Load(), Ends: c.ends.Load(), Aborts: c.aborts.Load(),
		Unidirectional: c.unidirectional.Load(), SCCP: c.sccp.Load(), MTP3: c.mtp3.Load(),
		Sent: c.sent.Load(), SendFailed: c.sendFailed.Load(), Refused: c.refused.Load(),
		SentIngress: c.sentIngress.Load(), SentOther: c.sentOther.Load(),
		UnknownTID: c.unknownTID.Load(), ForeignTID: c.foreignTID.Load(), Undecodable: c.undecodable.Load(),
		TimedOut: c.timedOut.Load(), CookiesSent: c.cookiesSent.Load(), CookiesFailed: c.cookiesFailed.Load(),
		Adopted: c.adopted.Load(), DuplicateEchoes: c.dupEchoes.Load(), BadEchoes: c.badEchoes.Load(),
		Redraws: c.redraws.Load(), Rerouted: c.rerouted.Load(), Lost: c.lost.Load(), Active: s.Active(),
	}
}

// Client returns the current M3UA client (it changes when a new PE
// identifier is drawn), for its counters and states.
func (s *Server) Client() *m3ua.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

// onData is the M3UA DATA handler.
func (s *Server) onData(a m3ua.AssocID, u m3ua.UserData) {
	in := Inbound{Gateway: int(a) - 1, Data: u}
	if u.SI != DefaultSI {
		s.c.mtp3.Add(1)
		s.h.MTP3(&in)
		return
	}
	var sm sccp.Message
	if err := sccp.Decode(u.Payload, &sm); err != nil {
		s.c.undecodable.Add(1)
		s.log.Debug("undecodable SCCP", zap.Error(err))
		return
	}
	if sm.Type != sccp.UDT && sm.Type != sccp.XUDT {
		s.c.sccp.Add(1)
		s.h.SCCP(&in, &sm)
		return
	}
	var tm tcap.Message
	if err := tcap.Decode(sm.Data, &tm); err != nil {
		s.c.undecodable.Add(1)
		s.c.sccp.Add(1)
		s.h.SCCP(&in, &sm)
		return
	}
	switch tm.Kind {
	case tcap.Unidirectional:
		s.c.unidirectional.Add(1)
		s.h.Unidirectional(&in, &tm)
	case tcap.Begin:
		s.begin(a, &sm, u, &tm)
	case tcap.Continue, tcap.End, tcap.Abort:
		s.continuation(a, &sm, u, &tm)
	}
}

func (s *Server) begin(a m3ua.AssocID, sm *sccp.Message, u m3ua.UserData, tm *tcap.Message) {
	s.c.begins.Add(1)
	s.mu.Lock()
	if s.draining || s.closed {
		s.mu.Unlock()
		s.c.refused.Add(1)
		s.pAbort(a, sm, u, tm.OTID, tcap.ResourceLimitation)
		return
	}
	tid, err := s.tids.Next(func(t uint32) bool { return s.dlgs[t] != nil })
	if err != nil {
		s.mu.Unlock()
		s.c.refused.Add(1)
		s.pAbort(a, sm, u, tm.OTID, tcap.ResourceLimitation)
		return
	}
	d := &Dialogue{s: s, tid: tid, owes: true}
	s.address(d, a, sm, u, tm)
	s.hold(d)
	s.mu.Unlock()
	s.h.Begin(d, tm)
}

// address takes the dialogue's addresses and the network's transaction id
// from a message received on association a, which the dialogue's answers
// are sent back through from now on (s.mu held).
func (s *Server) address(d *Dialogue, a m3ua.AssocID, sm *sccp.Message, u m3ua.UserData, tm *tcap.Message) {
	d.via = a
	if tm.HasOTID {
		d.remote = tm.OTID
	}
	if d.addressed {
		return
	}
	d.addressed = true
	d.in = *sm
	d.in.Data, d.in.Optional = nil, nil
	d.in.Called.GT = slices.Clone(sm.Called.GT)
	d.in.Calling.GT = slices.Clone(sm.Calling.GT)
	d.u = u
	d.u.Payload = nil
}

// hold enters d into the table and arms its timer (s.mu held).
func (s *Server) hold(d *Dialogue) {
	d.last = s.now()
	s.dlgs[d.tid] = d
	d.timer = time.AfterFunc(s.cfg.DialogueTimeout, func() { s.expire(d) })
	s.updateLoad()
}

// forget removes d (s.mu held).
func (s *Server) forget(d *Dialogue) {
	d.over = true
	if d.timer != nil {
		d.timer.Stop()
	}
	if s.dlgs[d.tid] == d {
		delete(s.dlgs, d.tid)
		s.updateLoad()
	}
}

func (s *Server) continuation(a m3ua.AssocID, sm *sccp.Message, u m3ua.UserData, tm *tcap.Message) {
	switch tm.Kind {
	case tcap.Continue:
		s.c.continues.Add(1)
	case tcap.End:
		s.c.ends.Add(1)
	case tcap.Abort:
		s.c.aborts.Add(1)
	}
	var d *Dialogue
	s.mu.Lock()
	if tm.DTID.Len() == 4 {
		d = s.dlgs[tm.DTID.Uint32()]
	}
	if d == nil {
		tag := s.tids.Tag()
		s.mu.Unlock()
		if tm.DTID.Len() == 4 && TagOf(tm.DTID.Uint32()) == tag {
			s.c.unknownTID.Add(1)
		} else {
			s.c.foreignTID.Add(1)
		}
		if tm.Kind == tcap.Continue {
			s.pAbort(a, sm, u, tm.OTID, tcap.UnrecognizedTransactionID)
		}
		return
	}
	s.address(d, a, sm, u, tm)
	sls := d.u.SLS
	final := tm.Kind != tcap.Continue
	if final {
		s.forget(d)
	} else {
		d.last = s.now()
		d.owes = true
		d.timer.Reset(s.cfg.DialogueTimeout)
	}
	s.mu.Unlock()
	if final {
		s.sendCookie(d.tid, sls, nil)
	}
	switch tm.Kind {
	case tcap.Continue:
		s.h.Continue(d, tm)
	case tcap.End:
		s.h.End(d, tm)
	case tcap.Abort:
		s.h.Abort(d, tm)
	}
}

// expire gives up an idle dialogue: Abort to the network, an empty
// checkpoint to the gateways, Handler.Timeout.
func (s *Server) expire(d *Dialogue) {
	s.mu.Lock()
	if d.over {
		s.mu.Unlock()
		return
	}
	if left := d.last.Add(s.cfg.DialogueTimeout).Sub(s.now()); left > 0 {
		d.timer.Reset(left)
		s.mu.Unlock()
		return
	}
	s.forget(d)
	addressed, in, u, remote, via := d.addressed, d.in, d.u, d.remote, d.via
	s.mu.Unlock()
	s.c.timedOut.Add(1)
	if addressed {
		s.sendTCAP(via, &in, u, &tcap.Message{Kind: tcap.Abort, DTID: remote, HasDTID: true})
	}
	s.sendCookie(d.tid, u.SLS, nil)
	s.h.Timeout(d)
}

// pAbort answers a message for no dialogue, received on association a,
// with a TCAP Abort carrying a P-Abort cause, to the sender's transaction
// id.
func (s *Server) pAbort(a m3ua.AssocID, sm *sccp.Message, u m3ua.UserData, otid tcap.TID, cause uint8) {
	m := tcap.Message{Kind: tcap.Abort, DTID: otid, HasDTID: true, PAbortCause: cause, HasPAbortCause: true}
	in := *sm
	s.sendTCAP(a, &in, u, &m)
}

var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// sendTCAP encodes m into an SCCP reply to in and sends it as DATA back to
// the originator of u, with u's SLS: through association via (the one the
// message answered came in on) while it is ASP-ACTIVE and its gateway has
// not declared the destination unavailable, else through the gateway
// Client.SendData picks by SLS. via 0 means no preference.
func (s *Server) sendTCAP(via m3ua.AssocID, in *sccp.Message, u m3ua.UserData, m *tcap.Message) error {
	tb := bufs.Get().(*[]byte)
	sb := bufs.Get().(*[]byte)
	defer bufs.Put(tb)
	defer bufs.Put(sb)
	t, err := m.Append((*tb)[:0])
	if err != nil {
		s.c.sendFailed.Add(1)
		return fmt.Errorf("asp: TCAP: %w", err)
	}
	*tb = t
	reply := sccp.Reply(in, t)
	b, err := reply.Append((*sb)[:0])
	if err != nil {
		s.c.sendFailed.Add(1)
		return fmt.Errorf("asp: SCCP: %w", err)
	}
	*sb = b
	out := m3ua.UserData{RC: u.RC, HasRC: u.HasRC, OPC: u.DPC, DPC: u.OPC, SI: u.SI, NI: u.NI, MP: u.MP, SLS: u.SLS, Payload: b}
	if s.cfg.HasRC {
		out.RC, out.HasRC = s.cfg.RC, true
	}
	s.mu.Lock()
	client := s.client
	s.mu.Unlock()
	if client == nil {
		s.c.sendFailed.Add(1)
		return errors.New("asp: no M3UA client")
	}
	if via != 0 && client.SendDataTo(via, out) == nil {
		s.c.sentIngress.Add(1)
		s.c.sent.Add(1)
		return nil
	}
	if err := client.SendData(out); err != nil {
		s.c.sendFailed.Add(1)
		return err
	}
	s.c.sentOther.Add(1)
	s.c.sent.Add(1)
	return nil
}

// sendCookie sends the checkpoint of dialogue tid to every gateway, on the
// stream the dialogue's DATA takes there. It fails only when no gateway
// could be sent it.
func (s *Server) sendCookie(tid uint32, sls uint8, state []byte) error {
	b, err := AppendCookie(nil, tid, state)
	if err != nil {
		return err
	}
	s.mu.Lock()
	client := s.client
	streams := slices.Clone(s.streams)
	s.mu.Unlock()
	if client == nil {
		s.c.cookiesFailed.Add(uint64(len(streams)))
		return errors.New("asp: no M3UA client")
	}
	var errs []error
	for i, n := range streams {
		m := sctp.Message{Stream: m3ua.DataStream(sls, n), PPID: rserpool.PPID, Data: b}
		if err := client.SendOther(i, m); err != nil {
			s.c.cookiesFailed.Add(1)
			errs = append(errs, fmt.Errorf("gateway %d: %w", i, err))
			continue
		}
		s.c.cookiesSent.Add(1)
	}
	if len(errs) == len(streams) {
		return fmt.Errorf("asp: checkpoint reached no gateway: %w", errors.Join(errs...))
	}
	return nil
}

// onOther receives ASAP on a gateway association: a cookie echo hands a
// dialogue over to this server.
func (s *Server) onOther(a m3ua.AssocID, _ sctp.Association, m sctp.Message) {
	if m.PPID != rserpool.PPID {
		return
	}
	tid, state, ok, err := DecodeCookieEcho(m.Data)
	if err != nil || (ok && len(state) == 0) {
		s.c.badEchoes.Add(1)
		s.log.Debug("bad cookie echo", zap.Int("gateway", int(a)-1), zap.Error(err))
		return
	}
	if !ok {
		return
	}
	s.mu.Lock()
	if s.dlgs[tid] != nil {
		s.mu.Unlock()
		s.c.dupEchoes.Add(1)
		return
	}
	if s.closed {
		s.mu.Unlock()
		return
	}
	d := &Dialogue{s: s, tid: tid, adopted: true}
	s.hold(d)
	s.mu.Unlock()
	s.c.adopted.Add(1)
	s.log.Debug("dialogue adopted", zap.Uint32("tid", tid), zap.Int("gateway", int(a)-1))
	s.h.Resume(d, slices.Clone(state))
}

// Drain stops taking new dialogues (a Begin is answered with a P-Abort,
// resource limitation), deregisters the pool element, and waits until no
// dialogue awaits an answer from this server, or ctx is done. Once
// deregistered the element is gone for the gateways: they choose other
// servers for new dialogues and hand the next steps of this one's dialogues
// over by their checkpoints, so a dialogue whose answer went out needs
// nothing more from here. The M3UA associations stay up so that the answers
// in progress still go out; call Shutdown next.
func (s *Server) Drain(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	pe := s.pe
	s.mu.Unlock()
	if pe != nil {
		if err := pe.Stop(ctx); err != nil {
			s.log.Warn("deregistration", zap.Error(err))
		}
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for s.Owed() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("asp: %d dialogues still await an answer: %w", s.Owed(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Owed returns how many dialogues await this server's next message (their
// handler has not answered yet).
func (s *Server) Owed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.dlgs {
		if d.owes {
			n++
		}
	}
	return n
}

// Shutdown takes the ASP out of service gracefully (ASPIA, ASPDN, SCTP
// shutdown on every gateway association, bounded by ctx) and stops the
// server. Dialogues still held are forgotten without a message: their
// last checkpoints let the gateways hand them over.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	client := s.client
	s.mu.Unlock()
	var err error
	if client != nil {
		err = client.Shutdown(ctx)
	}
	s.Close()
	return err
}

// Close stops the server at once: associations aborted, no deregistration.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.gen++
	s.curGen.Store(int64(s.gen))
	client, pe := s.client, s.pe
	s.client, s.pe = nil, nil
	for _, d := range s.dlgs {
		d.over = true
		d.timer.Stop()
	}
	clear(s.dlgs)
	s.mu.Unlock()
	close(s.quit)
	if pe != nil {
		pe.Close()
	}
	if client != nil {
		client.Close()
	}
	s.wg.Wait()
}
