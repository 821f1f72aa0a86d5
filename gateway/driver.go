package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Alarms is where the gateway reports conditions (an *alarms.Manager).
type Alarms interface {
	Raise(r alarms.Report) error
	Clear(def *alarms.Definition, object string) error
}

// Options are what a Gateway needs besides its Config.
type Options struct {
	// Transport opens the associations: sctp.Kernel in production, an
	// sctptest.Network in tests.
	Transport sctp.Transport
	Log       *zap.Logger
	// Alarms, when set, hears of empty and short pools, of ASPs down and
	// of the embedded registrar's peers (enrp.Alarms).
	Alarms Alarms
	// Registerer, when set, gets the gateway's metrics (sigpool_gateway_…),
	// its registrar's (sigpool_rserpool_…) and both M3UA sides'
	// (sigpool_m3ua_…{side="network"|"servers"}).
	Registerer prometheus.Registerer
	// RefreshInterval is how often pool membership is read again besides
	// on registrar events, and cookies expire (default 200 ms).
	RefreshInterval time.Duration
	// QueueWait bounds how long a reader waits on a full input queue before
	// the message is discarded (queue_full); default 500 ms.
	QueueWait time.Duration
}

type inputKind uint8

const (
	inNetData inputKind = iota + 1
	inSrvData
	inSrvState
	inSrvLost
	inSrvUnsent
	inNetUnsent
	inCookie
	inStreams
	inDrain
)

type input struct {
	kind    inputKind
	assoc   m3ua.AssocID
	u       m3ua.UserData
	id      uint32
	hasID   bool
	active  []uint32
	cookie  []byte
	streams uint16
	at      time.Time
}

// Gateway runs a Core over two M3UA SGPs (network side, server side) and an
// embedded registrar: readers feed one loop goroutine through a bounded
// queue; the loop owns the core and carries out its actions.
type Gateway struct {
	cfg  *Config
	opts Options
	log  *zap.Logger

	net, srv *m3ua.Server
	reg      *enrp.Driver
	core     *Core

	q     *inputQueue
	poke  chan struct{}
	stop  chan struct{}
	wg    sync.WaitGroup
	lns   []sctp.Listener
	close sync.Once

	// loop-only state
	streams map[m3ua.AssocID]uint16

	mu        sync.Mutex
	snap      Counters
	live      []int
	selection prometheus.Histogram
	echoBuf   []byte
	draining  atomic.Bool

	// netActive: the network ASes (RCs) each network association is
	// ASP-ACTIVE for; netPCs: what the servers were last told of each
	// network point code.
	netMu     sync.Mutex
	netActive map[m3ua.AssocID][]uint32
	netPCs    map[uint32]bool
}

// New builds a gateway for a validated configuration; Start starts it.
func New(cfg *Config, opts Options) (*Gateway, error) {
	if opts.Transport == nil {
		return nil, errors.New("gateway: no transport")
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = 200 * time.Millisecond
	}
	if opts.QueueWait <= 0 {
		opts.QueueWait = 500 * time.Millisecond
	}
	g := &Gateway{
		cfg: cfg, opts: opts, log: opts.Log,
		q:         newInputQueue(cfg.Limits.Queue),
		poke:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		streams:   map[m3ua.AssocID]uint16{},
		live:      make([]int, len(cfg.Services)),
		netActive: map[m3ua.AssocID][]uint32{},
		netPCs:    map[uint32]bool{},
		selection: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sigpool_gateway_selection_duration_seconds",
			Help:    "Time to select a pool element by policy from the registrar's handlespace.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
		}),
	}
	rc, dc, err := g.registrarConfig()
	if err != nil {
		return nil, err
	}
	dc.OnEvent = g.registrarEvent
	if g.reg, err = enrp.NewDriver(dc, rc); err != nil {
		return nil, fmt.Errorf("gateway: registrar: %w", err)
	}
	var netASes []m3ua.ASConfig
	for _, as := range cfg.Network.ASes {
		mode := m3ua.Loadshare
		if as.Mode == "override" {
			mode = m3ua.Override
		}
		netASes = append(netASes, m3ua.ASConfig{RC: as.RC, Mode: mode})
	}
	nc := m3ua.SGPConfig{ASes: netASes, Beat: m3ua.BeatConfig{Interval: cfg.Network.Beat}}
	if cfg.Network.NetworkAppearance != nil {
		nc.NA, nc.HasNA = *cfg.Network.NetworkAppearance, true
	}
	g.net = m3ua.NewServer(m3ua.ServerConfig{SGP: nc, Handlers: m3ua.Handlers{Data: g.netData, Event: g.netEvent}})
	var srvASes []m3ua.ASConfig
	for _, s := range cfg.Services {
		srvASes = append(srvASes, m3ua.ASConfig{RC: s.RC, Mode: m3ua.Loadshare})
	}
	g.srv = m3ua.NewServer(m3ua.ServerConfig{
		SGP:      m3ua.SGPConfig{ASes: srvASes, RequireASPID: true, Beat: m3ua.BeatConfig{Interval: cfg.Servers.Beat}},
		Handlers: m3ua.Handlers{Data: g.srvData, Event: g.srvEvent, Other: g.srvOther},
	})
	g.core = NewCore(cfg, registrarPools{d: g.reg, hist: g.selection})
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{collector{g}, enrp.NewCollector(g.reg),
			prometheus.WrapCollectorWith(prometheus.Labels{"side": "network"}, m3ua.NewServerCollector(g.net)),
			prometheus.WrapCollectorWith(prometheus.Labels{"side": "servers"}, m3ua.NewServerCollector(g.srv)),
		} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("gateway: metrics: %w", err)
			}
		}
	}
	return g, nil
}

func (g *Gateway) registrarConfig() (enrp.Config, enrp.DriverConfig, error) {
	r := g.cfg.Registrar
	rc := enrp.Config{
		ServerID: g.cfg.GatewayID, TagBits: 16,
		KeepAlive: r.KeepAlive, KeepAliveTimeout: r.KeepAliveTimeout, MaxBadPEReport: r.MaxBadPEReport,
	}
	dc := enrp.DriverConfig{Transport: g.opts.Transport}
	a, err := sctp.ParseAddr(r.ASAP)
	if err != nil {
		return rc, dc, err
	}
	dc.ASAPAddr = a
	rc.ASAPTransport = rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: a.Port, Addrs: a.IPs}
	if r.ENRP != "" {
		e, err := sctp.ParseAddr(r.ENRP)
		if err != nil {
			return rc, dc, err
		}
		dc.ENRPAddr = e
		dc.LocalAddr = sctp.Addr{IPs: e.IPs}
		rc.ENRPTransport = rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: e.Port, Addrs: e.IPs}
	}
	for _, p := range r.Peers {
		pa, err := sctp.ParseAddr(p)
		if err != nil {
			return rc, dc, err
		}
		rc.Peers = append(rc.Peers, pa)
	}
	for _, s := range r.Allow {
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			return rc, dc, err
		}
		rc.Allow = append(rc.Allow, pf)
	}
	return rc, dc, nil
}

// Start listens on both sides and starts the registrar and the loop.
func (g *Gateway) Start() error {
	for _, side := range []struct {
		addr string
		s    *m3ua.Server
	}{{g.cfg.Network.Listen, g.net}, {g.cfg.Servers.Listen, g.srv}} {
		a, err := sctp.ParseAddr(side.addr)
		if err != nil {
			return err
		}
		ln, err := g.opts.Transport.Listen(a)
		if err != nil {
			g.closeListeners()
			return fmt.Errorf("gateway: listen %s: %w", side.addr, err)
		}
		g.lns = append(g.lns, ln)
		s := side.s
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			if err := s.Serve(ln); err != nil && !errors.Is(err, m3ua.ErrServerClosed) {
				g.log.Warn("serve ended", zap.Error(err))
			}
		}()
	}
	// No network AS is active yet: the servers hear that the network's
	// point codes are unavailable here (as they become ASP-ACTIVE).
	g.netMu.Lock()
	g.tellNetworkPCs()
	g.netMu.Unlock()
	g.reg.Start()
	g.wg.Add(1)
	go g.loop()
	return nil
}

func (g *Gateway) closeListeners() {
	for _, ln := range g.lns {
		ln.Close()
	}
}

// NetworkAddr and ServerAddr return the bound listen addresses.
func (g *Gateway) NetworkAddr() sctp.Addr { return g.lns[0].Addr() }

// ServerAddr returns the address application servers dial.
func (g *Gateway) ServerAddr() sctp.Addr { return g.lns[1].Addr() }

// RegistrarAddr returns the embedded registrar's ASAP address.
func (g *Gateway) RegistrarAddr() sctp.Addr { return g.reg.ASAPAddr() }

// Registrar returns the embedded registrar's driver.
func (g *Gateway) Registrar() *enrp.Driver { return g.reg }

// NetworkServer and ServerSide return the two M3UA servers (for management).
func (g *Gateway) NetworkServer() *m3ua.Server { return g.net }

// ServerSide returns the M3UA server the application servers connect to.
func (g *Gateway) ServerSide() *m3ua.Server { return g.srv }

// Counters returns the core's counters as of the loop's last pass, with the
// driver's queue discards.
func (g *Gateway) Counters() Counters {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := g.snap
	k.Discarded[ReasonQueueFull] += g.q.full.Load()
	return k
}

// Live returns the number of live elements of each service, in
// configuration order.
func (g *Gateway) Live() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.live...)
}

// enqueue hands data to the loop, waiting at most QueueWait when the queue
// is full (the reader, and so SCTP, pushes back on the peer meanwhile).
func (g *Gateway) enqueue(it input) bool {
	return g.q.push(it, false, g.opts.QueueWait, g.stop)
}

// mustEnqueue is for state changes, which are never dropped.
func (g *Gateway) mustEnqueue(it input) {
	g.q.push(it, true, 0, g.stop)
}

func copyData(u m3ua.UserData) m3ua.UserData {
	u.Payload = append([]byte(nil), u.Payload...)
	return u
}

func (g *Gateway) netData(a m3ua.AssocID, u m3ua.UserData) {
	g.enqueue(input{kind: inNetData, assoc: a, u: copyData(u)})
}

func (g *Gateway) srvData(a m3ua.AssocID, u m3ua.UserData) {
	g.enqueue(input{kind: inSrvData, assoc: a, u: copyData(u)})
}

func (g *Gateway) netEvent(e m3ua.Event) {
	switch e := e.(type) {
	case m3ua.DataUnsent:
		g.mustEnqueue(input{kind: inNetUnsent, assoc: e.Assoc, u: e.Data})
	case m3ua.AssocEstablished:
		g.log.Info("network association up", zap.Uint32("assoc", uint32(e.Assoc)), zap.Stringer("peer", e.Peer))
	case m3ua.AssocEnded:
		g.log.Info("network association ended", zap.Uint32("assoc", uint32(e.Assoc)), zap.Error(e.Err))
		g.networkActive(e.Assoc, nil)
	case m3ua.ASPStateChanged:
		g.log.Info("network ASP state", zap.Uint32("assoc", uint32(e.Assoc)), zap.Stringer("from", e.From), zap.Stringer("to", e.To))
		g.networkActive(e.Assoc, e.Active)
	}
}

// networkActive records the network ASes association a is ASP-ACTIVE for
// (none: it left ASP-ACTIVE or ended) and tells the application servers of
// every network point code whose reachability changed: DUNA while no
// network AS that has it is active, DAVA when one is, so that their M3UA
// layer sends answers only through gateways that can deliver them (a
// gateway just restarted, its network side not up yet, has none).
func (g *Gateway) networkActive(a m3ua.AssocID, active []uint32) {
	g.netMu.Lock()
	defer g.netMu.Unlock()
	if len(active) == 0 {
		delete(g.netActive, a)
	} else {
		g.netActive[a] = append([]uint32(nil), active...)
	}
	g.tellNetworkPCs()
}

// tellNetworkPCs sets each network point code's status on the server side
// from netActive, where it changed. Called with netMu held.
func (g *Gateway) tellNetworkPCs() {
	for _, as := range g.cfg.Network.ASes {
		for _, pc := range as.PointCodes {
			up := false
			for _, o := range g.cfg.Network.ASes {
				if !slices.Contains(o.PointCodes, pc) {
					continue
				}
				for _, rcs := range g.netActive {
					up = up || slices.Contains(rcs, o.RC)
				}
			}
			if was, told := g.netPCs[pc]; told && was == up {
				continue
			}
			g.netPCs[pc] = up
			st := m3ua.DestUnavailable
			if up {
				st = m3ua.DestAvailable
			}
			g.srv.SetDestination(pc, st)
			g.log.Info("network point code toward the servers", zap.Uint32("pc", pc), zap.Bool("available", up))
		}
	}
}

func (g *Gateway) srvEvent(e m3ua.Event) {
	switch e := e.(type) {
	case m3ua.ASPStateChanged:
		var active []uint32
		if e.To == m3ua.ASPActive {
			active = append(active, e.Active...)
		}
		g.mustEnqueue(input{kind: inSrvState, assoc: e.Assoc, id: e.ASPID, hasID: e.HasASPID, active: active})
		g.log.Info("server ASP state", zap.Uint32("assoc", uint32(e.Assoc)), zap.Uint32("asp_id", e.ASPID),
			zap.Stringer("from", e.From), zap.Stringer("to", e.To), zap.Uint32s("active", e.Active))
	case m3ua.AssocEstablished:
		g.mustEnqueue(input{kind: inStreams, assoc: e.Assoc, streams: e.OutStreams})
		g.log.Info("server association up", zap.Uint32("assoc", uint32(e.Assoc)), zap.Stringer("peer", e.Peer))
	case m3ua.AssocEnded:
		g.mustEnqueue(input{kind: inSrvLost, assoc: e.Assoc})
		g.log.Info("server association ended", zap.Uint32("assoc", uint32(e.Assoc)), zap.Error(e.Err))
	case m3ua.DataUnsent:
		// hasID carries "returned by SCTP" (older than any failed write).
		g.mustEnqueue(input{kind: inSrvUnsent, assoc: e.Assoc, u: e.Data, hasID: e.Reason == m3ua.UnsentSendFailed})
	}
}

// srvOther takes the ASAP messages (PPID 11) an application server sends on
// its M3UA association: state cookies.
func (g *Gateway) srvOther(a m3ua.AssocID, _ sctp.Association, m sctp.Message) {
	if m.PPID != rserpool.PPID {
		return
	}
	msg, _, err := rserpool.DecodeMessage(m.Data)
	if err != nil {
		g.log.Debug("undecodable ASAP message from a server", zap.Uint32("assoc", uint32(a)), zap.Error(err))
		return
	}
	if c, ok := msg.(*rserpool.Cookie); ok {
		g.mustEnqueue(input{kind: inCookie, assoc: a, cookie: append([]byte(nil), c.Cookie...)})
	}
}

func (g *Gateway) registrarEvent(e enrp.Event) {
	if g.opts.Alarms != nil {
		// registrar-peer-lost, takeover-performed and
		// handlespace-checksum-mismatch of the embedded registrar, on
		// "sgw=<id>,peer=<peer id>".
		enrp.Alarms{Sink: g.opts.Alarms, Object: fmt.Sprintf("sgw=%d", g.cfg.GatewayID), ServerID: g.cfg.GatewayID}.Event(e)
	}
	switch e.(type) {
	case enrp.Registered, enrp.Deregistered, enrp.Removed, enrp.TakeoverDone, enrp.Synchronized:
		select {
		case g.poke <- struct{}{}:
		default:
		}
	}
}

func (g *Gateway) loop() {
	defer g.wg.Done()
	tick := time.NewTicker(g.opts.RefreshInterval)
	defer tick.Stop()
	g.core.Refresh(time.Now())
	g.execute(time.Now())
	var batch []input
	for {
		select {
		case <-g.q.ready:
			batch = g.q.take(batch[:0])
			now := time.Now()
			for i := range batch {
				g.handle(now, batch[i])
				batch[i] = input{}
			}
		case <-g.poke:
			now := time.Now()
			g.core.Refresh(now)
			g.execute(now)
		case <-tick.C:
			now := time.Now()
			g.core.Refresh(now)
			g.core.Tick(now)
			g.execute(now)
		case <-g.stop:
			return
		}
		g.publish()
	}
}

func (g *Gateway) handle(now time.Time, it input) {
	c := g.core
	switch it.kind {
	case inNetData:
		c.NetworkData(now, it.assoc, it.u)
	case inSrvData:
		c.ServerData(now, it.assoc, it.u)
	case inSrvState:
		c.ServerState(now, it.assoc, it.id, it.hasID, it.active)
	case inSrvLost:
		delete(g.streams, it.assoc)
		c.ServerLost(now, it.assoc)
	case inSrvUnsent:
		c.Unsent(now, it.assoc, it.u, it.hasID)
	case inNetUnsent:
		c.NetworkUnsent(now, it.assoc, it.u)
	case inCookie:
		c.Cookie(now, it.assoc, it.cookie)
	case inStreams:
		g.streams[it.assoc] = it.streams
	case inDrain:
		c.SetDraining(it.hasID)
	}
	g.execute(now)
}

type retry struct {
	assoc m3ua.AssocID
	u     m3ua.UserData
}

// execute carries out the core's actions. A send the server side refuses
// because the ASP is no longer active goes back to the core as unsent.
func (g *Gateway) execute(now time.Time) {
	g.q.looping.Store(true)
	defer g.q.looping.Store(false)
	var retries []retry
	for {
		acts := g.core.Ready()
		if len(acts) == 0 {
			return
		}
		retries = retries[:0]
		for i := range acts {
			a := &acts[i]
			switch a.Kind {
			case SendServer:
				if err := g.srv.SendDataTo(a.Assoc, a.Data); err != nil {
					if errors.Is(err, m3ua.ErrASPNotActive) || errors.Is(err, m3ua.ErrUnknownAssoc) {
						retries = append(retries, retry{a.Assoc, a.Data})
					} else {
						g.core.Discard(ReasonSendFailed)
						g.log.Debug("send to server refused", zap.Uint32("assoc", uint32(a.Assoc)), zap.Error(err))
					}
				}
			case SendNetwork:
				g.net.SendData(a.Data)
			case CookieEcho:
				var err error
				g.echoBuf, err = (&rserpool.CookieEcho{Cookie: a.Cookie}).AppendTo(g.echoBuf[:0])
				if err != nil {
					g.core.Discard(ReasonEncode)
					continue
				}
				out := g.streams[a.Assoc]
				st := m3ua.DataStream(a.Data.SLS, out)
				if err := g.srv.SendOther(a.Assoc, sctp.Message{Stream: st, PPID: rserpool.PPID, Data: g.echoBuf}); err != nil {
					g.log.Debug("cookie echo not sent", zap.Uint32("assoc", uint32(a.Assoc)), zap.Error(err))
				}
			case ReportUnreachable:
				g.reg.ReportUnreachable(a.Handle, a.ID)
				g.log.Info("element out of selection", zap.ByteString("pool", a.Handle), zap.Uint32("pe_id", a.ID))
			case Destination:
				st := m3ua.DestUnavailable
				if a.Available {
					st = m3ua.DestAvailable
				}
				g.net.SetDestination(a.PC, st)
				g.log.Info("service point code", zap.Uint32("pc", a.PC), zap.Bool("available", a.Available))
			case PoolLevel:
				g.poolLevel(a.Service, a.Live, a.Settled)
			case ASPDown:
				g.aspDown(a.ID, a.Raise, a.Cause)
			}
		}
		for _, r := range retries {
			g.core.Refused(now, r.assoc, r.u)
		}
	}
}

// poolLevel records a service's live count and, once the start-up grace is
// over (settled), raises or clears its pool alarms.
func (g *Gateway) poolLevel(i, live int, settled bool) {
	s := g.cfg.Services[i]
	obj := fmt.Sprintf("sgw=%d,pool=%s", g.cfg.GatewayID, s.Pool)
	g.mu.Lock()
	g.live[i] = live
	g.mu.Unlock()
	if !settled {
		return
	}
	if live == 0 {
		g.raise(alarms.PoolEmpty, obj, fmt.Sprintf("service %s has no live element", s.Name))
	} else {
		g.clearAlarm(alarms.PoolEmpty, obj)
	}
	if live < s.MinElements {
		g.raise(alarms.PoolBelowMinimum, obj, fmt.Sprintf("service %s: %d live of %d", s.Name, live, s.MinElements))
	} else {
		g.clearAlarm(alarms.PoolBelowMinimum, obj)
	}
}

// aspDown raises or clears asp-down for the ASP with PE identifier id. The
// alarm's object names the identifier in decimal; the text says why it was
// raised and what clears it. alarms.Manager.Clear carries no text: the log
// says why it cleared.
func (g *Gateway) aspDown(id uint32, raise bool, cause string) {
	obj := fmt.Sprintf("sgw=%d,asp=%d", g.cfg.GatewayID, id)
	if raise {
		g.log.Warn("asp down", zap.String("object", obj), zap.String("cause", cause))
		g.raise(alarms.ASPDown, obj, fmt.Sprintf("%s; clears when the ASP is ASP-ACTIVE again or its pool element %#x leaves the handlespace", cause, id))
		return
	}
	g.log.Info("asp-down cleared", zap.String("object", obj), zap.String("cause", cause))
	g.clearAlarm(alarms.ASPDown, obj)
}

func (g *Gateway) raise(def *alarms.Definition, obj, text string) {
	if g.opts.Alarms != nil {
		if err := g.opts.Alarms.Raise(alarms.Report{Def: def, Object: obj, AdditionalText: text}); err != nil {
			g.log.Warn("alarm not raised", zap.String("alarm", def.Name), zap.Error(err))
		}
	}
}

func (g *Gateway) clearAlarm(def *alarms.Definition, obj string) {
	if g.opts.Alarms != nil {
		_ = g.opts.Alarms.Clear(def, obj)
	}
}

func (g *Gateway) publish() {
	k := g.core.Counters()
	g.mu.Lock()
	g.snap = k
	g.mu.Unlock()
}

// Drain stops new dialogues: a Begin from the network gets a TC-ABORT
// (resource limitation) while continuations still reach their owners.
func (g *Gateway) Drain() {
	if g.draining.CompareAndSwap(false, true) {
		g.mustEnqueue(input{kind: inDrain, hasID: true})
	}
}

// Undrain takes new dialogues again.
func (g *Gateway) Undrain() {
	if g.draining.CompareAndSwap(true, false) {
		g.mustEnqueue(input{kind: inDrain, hasID: false})
	}
}

// Draining reports whether the gateway refuses new dialogues.
func (g *Gateway) Draining() bool { return g.draining.Load() }

// Shutdown is the graceful stop (SIGTERM): no new dialogue is taken, both
// M3UA sides take their ASPs down and shut their associations down (SCTP
// delivers what was sent) within ctx, and the registrar leaves the cluster,
// whose other registrars take its elements over. Dialogues in progress
// continue through the other gateways: their routing needs no state held
// here.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.Drain()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []*m3ua.Server{g.net, g.srv} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Shutdown(ctx)
		}()
	}
	wg.Wait()
	g.finish(false)
	return errors.Join(errs...)
}

// Close stops everything at once (associations aborted).
func (g *Gateway) Close() {
	g.net.Close()
	g.srv.Close()
	g.finish(true)
}

func (g *Gateway) finish(abort bool) {
	g.close.Do(func() {
		g.closeListeners()
		g.reg.Close(abort)
		close(g.stop)
		g.wg.Wait()
	})
}

// registrarPools answers the core from the embedded registrar.
type registrarPools struct {
	d    *enrp.Driver
	hist prometheus.Histogram
}

func (p registrarPools) Select(handle []byte, k int, dst []uint32) []uint32 {
	t0 := time.Now()
	pes, err := p.d.Select(handle, k)
	p.hist.Observe(time.Since(t0).Seconds())
	if err != nil {
		return dst
	}
	for i := range pes {
		dst = append(dst, pes[i].ID)
	}
	return dst
}

func (p registrarPools) Elements(handle []byte, dst []uint32) []uint32 {
	for _, pe := range p.d.Elements(handle) {
		dst = append(dst, pe.ID)
	}
	return dst
}
