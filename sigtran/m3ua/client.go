package m3ua

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Backoff is how a client waits between two attempts to reach an SGP: an
// exponential delay from Initial, times Multiplier per failed attempt, at
// most Max, each spread by ±Jitter (a fraction) so that many ASPs that
// lost the same SGP do not come back in step. MaxAttempts, when positive,
// bounds the consecutive failed attempts before the client gives up on
// that SGP (LinkGaveUp).
type Backoff struct {
	Initial     time.Duration // default 100 ms
	Max         time.Duration // default 5 s
	Multiplier  float64       // default 2
	Jitter      float64       // default 0.2
	MaxAttempts int
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 5 * time.Second
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Multiplier < 1 {
		b.Multiplier = 2
	}
	if b.Jitter <= 0 || b.Jitter >= 1 {
		b.Jitter = 0.2
	}
	return b
}

// Delay is the wait before attempt n+1 after n consecutive failures
// (n >= 1), with r in [0, 1) drawing the jitter. It never exceeds Max.
func (b Backoff) Delay(n int, r float64) time.Duration {
	b = b.withDefaults()
	d := float64(b.Initial)
	for i := 1; i < n && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	d = min(d, float64(b.Max))
	d *= 1 - b.Jitter + 2*b.Jitter*r
	return min(time.Duration(d), b.Max)
}

// ClientConfig configures a Client.
type ClientConfig struct {
	// ASP configures the ASP machine of each SGP association; keep
	// AutoActivate set for an ASP that goes active by itself.
	ASP       ASPConfig
	Transport sctp.Transport
	// Local is the local address (several IPs: multihomed); no IP lets
	// the transport choose.
	Local sctp.Addr
	// SGPs are the SGPs to keep an association with, one each.
	SGPs        []sctp.Addr
	Handlers    Handlers
	Backoff     Backoff
	DialTimeout time.Duration // per attempt; default 5 s
	SendTimeout time.Duration // default DefaultSendTimeout
	// IPSP, when set, makes each association an IPSP one (see IPSP): ASP
	// above is the requesting half, IPSP.SGP the answering half (double
	// exchange); IPSP.ASP is not used. A client IPSP must request: double
	// exchange, or single exchange with Initiator.
	IPSP *IPSPConfig
}

// LinkGaveUp: the client stopped trying to reach SGP Link after
// Backoff.MaxAttempts failures; Err is the last one.
type LinkGaveUp struct {
	Assoc AssocID
	Err   error
}

func (LinkGaveUp) isEvent() {}

// Client is the ASP side of M3UA over SCTP: it keeps one association to
// each configured SGP, each with its own ASP machine and reader goroutine,
// dials again with backoff when one is lost, and brings the ASP up (and
// active, with AutoActivate) on each. The AssocID of the association to
// SGPs[i] is i+1, across reconnections.
type Client struct {
	cfg   ClientConfig
	links []*link
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup

	smu     sync.Mutex
	changed chan struct{} // closed and replaced when a link's state changes

	dmu sync.Mutex // one Deregister at a time
}

type link struct {
	engine
	c      *Client
	id     AssocID
	remote sctp.Addr
	asp    *ASP
	ipsp   *IPSP // nil unless ClientConfig.IPSP; then asp is its requesting half
	auto   bool  // AutoActivate as configured; cleared by Deactivate

	// Under mu:
	assoc    sctp.Association
	state    ASPState
	stopping bool
	// dereg, while Deregister waits for this association's DEREG RSP,
	// gets its results; it is closed if the association ends first.
	dereg chan []DeregResult
}

// ErrNoActiveSGP is what Client.SendData returns when no association is
// ASP-ACTIVE.
var ErrNoActiveSGP = errors.New("m3ua: no SGP association is ASP-ACTIVE")

// StartClient starts a client: one goroutine per SGP dials and then reads
// its association.
func StartClient(cfg ClientConfig) (*Client, error) {
	if cfg.Transport == nil || len(cfg.SGPs) == 0 {
		return nil, errors.New("m3ua: client needs a transport and at least one SGP")
	}
	if cfg.IPSP != nil && !cfg.IPSP.requests() {
		return nil, errors.New("m3ua: a client IPSP must request (double exchange, or single exchange as initiator)")
	}
	cfg.Backoff = cfg.Backoff.withDefaults()
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	c := &Client{cfg: cfg, changed: make(chan struct{})}
	c.ctx, c.stop = context.WithCancel(context.Background())
	for i, r := range cfg.SGPs {
		l := &link{c: c, id: AssocID(i + 1), remote: r, auto: cfg.ASP.AutoActivate}
		if cfg.IPSP != nil {
			ic := *cfg.IPSP
			ic.ASP = cfg.ASP
			l.ipsp = NewIPSP(ic)
			l.asp = l.ipsp.ensureLocal(l.id)
			l.init(l.ipsp, l.ipsp.Timer, cfg.Handlers, cfg.SendTimeout)
		} else {
			l.asp = NewASP(cfg.ASP)
			l.init(l.asp, l.asp.Timer, cfg.Handlers, cfg.SendTimeout)
		}
		l.onEvent = l.seen
		c.links = append(c.links, l)
	}
	for _, l := range c.links {
		c.wg.Add(1)
		go l.run()
	}
	return c, nil
}

// seen follows the ASP state and hands DEREG RSP results to a waiting
// Deregister; it runs under l.mu for every machine event.
func (l *link) seen(e Event) {
	if d, ok := e.(Deregistered); ok && l.dereg != nil {
		l.dereg <- d.Results
		l.dereg = nil
	}
	if ch, ok := e.(ASPStateChanged); ok && ch.Local {
		l.state = ch.To
		l.c.smu.Lock()
		close(l.c.changed)
		l.c.changed = make(chan struct{})
		l.c.smu.Unlock()
	}
}

func (l *link) run() {
	defer l.c.wg.Done()
	cfg := &l.c.cfg
	failures := 0
	var lastErr error
	for {
		if l.c.ctx.Err() != nil || l.isStopping() {
			return
		}
		if failures > 0 {
			if cfg.Backoff.MaxAttempts > 0 && failures >= cfg.Backoff.MaxAttempts {
				l.step(func(time.Time) { l.emit(LinkGaveUp{Assoc: l.id, Err: lastErr}) })
				return
			}
			select {
			case <-l.c.ctx.Done():
				return
			case <-time.After(cfg.Backoff.Delay(failures, rand.Float64())):
			}
		}
		dctx, cancel := context.WithTimeout(l.c.ctx, cfg.DialTimeout)
		a, err := cfg.Transport.Dial(dctx, cfg.Local, l.remote)
		cancel()
		if err != nil {
			failures++
			lastErr = err
			continue
		}
		reachedUp := l.serve(a)
		if reachedUp {
			failures = 0
		}
		failures++ // wait before dialing again, even after a good association
		lastErr = errors.New("association ended")
	}
}

// serve runs one association; it reports whether the ASP got up on it.
func (l *link) serve(a sctp.Association) (reachedUp bool) {
	_, out := a.Streams()
	l.step(func(now time.Time) {
		if l.stopping {
			a.Abort()
			return
		}
		l.assoc = a
		l.assocs[l.id] = a
		in, out2 := a.Streams()
		l.emit(AssocEstablished{Assoc: l.id, Peer: a.PeerAddr(), InStreams: in, OutStreams: out2})
		if l.ipsp != nil {
			l.asp = l.ipsp.ensureLocal(l.id)
			l.asp.cfg.AutoActivate = l.auto
			l.ipsp.AssocUp(now, l.id, out)
			return
		}
		l.asp.cfg.AutoActivate = l.auto
		l.asp.AssocUp(now, l.id, out)
	})
	err := l.readLoop(l.id, a,
		func(now time.Time, stream uint16, b []byte) {
			if l.ipsp != nil {
				l.ipsp.Receive(now, l.id, stream, b)
			} else {
				l.asp.Receive(now, stream, b)
			}
			if l.asp.State() != ASPDown {
				reachedUp = true
			}
		},
		func(now time.Time, out uint16, restarted bool) {
			switch {
			case restarted && l.ipsp != nil:
				l.ipsp.AssocDown(now, l.id)
				l.asp = l.ipsp.ensureLocal(l.id)
				l.asp.cfg.AutoActivate = l.auto
				l.ipsp.AssocUp(now, l.id, out)
			case restarted:
				l.asp.AssocDown(now)
				l.asp.AssocUp(now, l.id, out)
			case l.ipsp != nil:
				l.ipsp.AssocUp(now, l.id, out) // updates the stream counts
			default:
				l.asp.streams = out
			}
		})
	if errors.Is(err, sctp.ErrClosed) || errors.Is(err, io.EOF) {
		err = nil
	}
	l.step(func(now time.Time) {
		if l.ipsp != nil {
			l.ipsp.AssocDown(now, l.id)
		} else {
			l.asp.AssocDown(now)
		}
		delete(l.assocs, l.id)
		l.assoc = nil
		if l.dereg != nil {
			close(l.dereg) // no DEREG RSP will come on this association
			l.dereg = nil
		}
		l.emit(AssocEnded{Assoc: l.id, Err: err})
	})
	a.Close()
	return reachedUp
}

func (l *link) isStopping() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopping
}

// States returns the ASP state on each SGP association, in SGPs order.
func (c *Client) States() []ASPState {
	out := make([]ASPState, len(c.links))
	for i, l := range c.links {
		l.mu.Lock()
		out[i] = l.state
		l.mu.Unlock()
	}
	return out
}

// Wait waits until cond holds for the link states (see States), or ctx.
func (c *Client) Wait(ctx context.Context, cond func(states []ASPState) bool) error {
	for {
		c.smu.Lock()
		ch := c.changed
		c.smu.Unlock()
		if cond(c.States()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// WaitActive waits until at least n associations are ASP-ACTIVE.
func (c *Client) WaitActive(ctx context.Context, n int) error {
	return c.Wait(ctx, func(st []ASPState) bool {
		k := 0
		for _, s := range st {
			if s == ASPActive {
				k++
			}
		}
		return k >= n
	})
}

// SendData sends MTP3 user data to an SGP on the stream of u.SLS. With
// several SGP associations ASP-ACTIVE, the SLS picks one, so that one SLS
// stays on one association (and one stream) while the set of active
// associations does not change. An SGP that declared u.DPC unavailable
// (DUNA) is passed over while another active SGP has not (RFC 4666
// 4.5.1: the ASP stops sending to a destination through an SGP that
// reported it unavailable); when every active SGP declared it so, the data
// still goes by SLS and the SGP decides. The payload is copied before
// SendData returns. An IPSP client sends on the associations whose peer
// may take u.RC (IPSP.Serving); it returns what IPSP.SendDataTo returns.
func (c *Client) SendData(u UserData) error {
	var active, usable [8]*link
	act, use := active[:0], usable[:0]
	for _, l := range c.links {
		l.mu.Lock()
		if l.ipsp != nil && l.ipsp.Serving(l.id, u.RC) || l.ipsp == nil && l.state == ASPActive {
			act = append(act, l)
			if l.ipsp != nil {
				use = append(use, l)
			} else if st, _ := l.asp.Reachable(u.DPC); st != DestUnavailable {
				use = append(use, l)
			}
		}
		l.mu.Unlock()
	}
	if len(act) == 0 {
		return ErrNoActiveSGP
	}
	if len(use) > 0 {
		act = use
	}
	return act[int(u.SLS)%len(act)].sendData(u)
}

// ErrNotUsable is what Client.SendDataTo returns when the association is
// not ASP-ACTIVE, or its SGP declared the destination unavailable.
var ErrNotUsable = errors.New("m3ua: association not ASP-ACTIVE or destination unavailable through it")

// SendDataTo sends MTP3 user data on one SGP association (AssocID i+1 is
// SGPs[i]), on the stream of u.SLS: for an ASP that answers through the
// gateway a request came from. It returns ErrNotUsable when that
// association is not ASP-ACTIVE or its SGP declared u.DPC unavailable,
// so that the caller can fall back to SendData.
func (c *Client) SendDataTo(a AssocID, u UserData) error {
	if a < 1 || int(a) > len(c.links) {
		return fmt.Errorf("m3ua: no SGP association %d", a)
	}
	l := c.links[a-1]
	l.mu.Lock()
	ok := l.ipsp != nil && l.ipsp.Serving(l.id, u.RC)
	if l.ipsp == nil && l.state == ASPActive {
		st, _ := l.asp.Reachable(u.DPC)
		ok = st != DestUnavailable
	}
	l.mu.Unlock()
	if !ok {
		return ErrNotUsable
	}
	return l.sendData(u)
}

func (l *link) sendData(u UserData) error {
	var err error
	l.step(func(now time.Time) {
		if l.ipsp != nil {
			err = l.ipsp.SendDataTo(now, l.id, u)
			return
		}
		l.asp.SendData(now, u)
	})
	return err
}

// Deactivate is the administrative block of the ASP: ASPIA on every
// association, and no ASPAC again (not even after a reconnection) until
// Activate.
func (c *Client) Deactivate() {
	for _, l := range c.links {
		l.step(func(now time.Time) {
			l.auto = false
			l.asp.cfg.AutoActivate = false
			l.asp.Deactivate(now)
		})
	}
}

// Activate undoes Deactivate: ASPAC on every association that is up.
func (c *Client) Activate() {
	for _, l := range c.links {
		l.step(func(now time.Time) {
			l.auto = c.cfg.ASP.AutoActivate
			l.asp.cfg.AutoActivate = l.auto
			if l.asp.State() == ASPInactive {
				l.asp.Activate(now)
			}
		})
	}
}

// Audit sends DAUD for apcs on every association that is up.
func (c *Client) Audit(apcs ...uint32) {
	for _, l := range c.links {
		l.step(func(now time.Time) { l.asp.Audit(now, apcs...) })
	}
}

// ErrNoSGPUp is what Client.Deregister returns when no association has
// its ASP up (ASP-INACTIVE or ASP-ACTIVE), so no DEREG REQ could go.
var ErrNoSGPUp = errors.New("m3ua: no SGP association has its ASP up")

// Deregister deregisters the routing contexts rcs (RFC 4666 4.4.3): DEREG
// REQ on every association whose ASP is up, then it waits for each DEREG
// RSP. results[i] are the results SGPs[i] gave, one per routing context,
// or nil where nothing was sent (the ASP was down) or no answer came. A
// result that is not "Successfully Deregistered" is no error: the caller
// reads the status (an ASP must leave the AS with ASPIA first, or it gets
// "ASP Currently Active for Routing Context"). The error is ErrNoSGPUp
// when nothing could be sent, and otherwise says which associations gave
// no answer: ended before it, or ctx done first (it wraps ctx's error).
// Successfully deregistered routing contexts leave those the ASP activates
// (ASP.RCs). Calls are serialised.
func (c *Client) Deregister(ctx context.Context, rcs ...uint32) (results [][]DeregResult, err error) {
	if len(rcs) == 0 {
		return nil, errors.New("m3ua: Deregister needs at least one routing context")
	}
	c.dmu.Lock()
	defer c.dmu.Unlock()
	waits := make([]chan []DeregResult, len(c.links))
	sent := false
	for i, l := range c.links {
		l.step(func(now time.Time) {
			if l.assoc == nil || l.asp.State() == ASPDown {
				return
			}
			ch := make(chan []DeregResult, 1)
			l.dereg, waits[i] = ch, ch
			l.asp.Deregister(now, rcs...)
		})
		sent = sent || waits[i] != nil
	}
	if !sent {
		return nil, ErrNoSGPUp
	}
	results = make([][]DeregResult, len(c.links))
	var errs []error
	for i, ch := range waits {
		if ch == nil {
			continue
		}
		l := c.links[i]
		select {
		case r, ok := <-ch:
			if !ok {
				errs = append(errs, fmt.Errorf("m3ua: association %d ended before its DEREG RSP", l.id))
				continue
			}
			results[i] = r
		case <-ctx.Done():
			l.step(func(time.Time) {
				if l.dereg == ch {
					l.dereg = nil
				}
			})
			select {
			case r, ok := <-ch: // it came after all
				if ok {
					results[i] = r
					continue
				}
			default:
			}
			errs = append(errs, fmt.Errorf("m3ua: association %d: no DEREG RSP: %w", l.id, ctx.Err()))
		}
	}
	return results, errors.Join(errs...)
}

// Reachable returns the view of destination pc: available if any
// ASP-ACTIVE association's SGP has it available (or restricted), and the
// best status otherwise.
func (c *Client) Reachable(pc uint32) DestStatus {
	best := DestUnknown
	rank := map[DestStatus]int{DestUnknown: 0, DestUnavailable: 1, DestRestricted: 2, DestAvailable: 3}
	for _, l := range c.links {
		l.mu.Lock()
		if l.state == ASPActive {
			if st, _ := l.asp.Reachable(pc); rank[st] > rank[best] {
				best = st
			}
		}
		l.mu.Unlock()
	}
	return best
}

// Counters returns the ASP machines' counters, one per SGP.
func (c *Client) Counters() []Counters {
	out := make([]Counters, len(c.links))
	for i, l := range c.links {
		l.mu.Lock()
		if l.ipsp != nil {
			out[i] = l.ipsp.Counters()
		} else {
			out[i] = l.asp.Counters()
		}
		l.mu.Unlock()
	}
	return out
}

// DriverCounters returns the driver counters of the association to
// SGPs[i].
func (c *Client) DriverCounters(i int) *DriverCounters { return &c.links[i].counters }

// Shutdown is the graceful shutdown: on every association, ASPIA (if
// active) and its ack, ASPDN and its ack, then SCTP SHUTDOWN; no more
// reconnection. It waits for all of it, or for ctx, after which it aborts
// what is left.
func (c *Client) Shutdown(ctx context.Context) error {
	var errs []error
	var emu sync.Mutex
	var wg sync.WaitGroup
	for _, l := range c.links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.shutdown(ctx); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	c.stop()
	c.wg.Wait()
	for _, l := range c.links {
		l.mu.Lock()
		l.stopTimers()
		l.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (l *link) shutdown(ctx context.Context) error {
	l.step(func(now time.Time) {
		l.stopping = true
		l.auto = false
		l.asp.cfg.AutoActivate = false
		l.asp.Deactivate(now)
	})
	c := l.c
	wait := func(cond func(ASPState) bool) error {
		return c.Wait(ctx, func(st []ASPState) bool { return cond(st[l.id-1]) })
	}
	err := wait(func(s ASPState) bool { return s != ASPActive })
	if err == nil {
		l.step(func(now time.Time) { l.asp.Down(now) })
		err = wait(func(s ASPState) bool { return s == ASPDown })
	}
	l.flush(ctx)
	l.mu.Lock()
	a := l.assoc
	l.mu.Unlock()
	if a != nil {
		if err != nil {
			a.Abort()
		} else {
			a.Close()
		}
	}
	return err
}

// Close aborts every association and stops the client.
func (c *Client) Close() error {
	c.stop()
	for _, l := range c.links {
		l.mu.Lock()
		l.stopping = true
		if l.assoc != nil {
			l.assoc.Abort()
		}
		l.stopTimers()
		l.mu.Unlock()
	}
	c.wg.Wait()
	return nil
}

// SendOther sends a message that is not M3UA (ASAP, PPID 11) on the
// association to SGPs[sgp], through the same ordered writer as DATA: a
// message sent on stream s before a DATA on stream s arrives before it.
// m.Data is copied before SendOther returns. It fails with ErrNotOther for
// M3UA's PPID, and with ErrUnknownAssoc when sgp is out of range or that
// association is not up.
func (c *Client) SendOther(sgp int, m sctp.Message) error {
	if sgp < 0 || sgp >= len(c.links) {
		return fmt.Errorf("%w: no SGP %d", ErrUnknownAssoc, sgp)
	}
	l := c.links[sgp]
	return l.sendOther(l.id, m)
}

// ASStates returns the ASP's view of its ASes at SGPs[sgp], by routing
// context (see ASP.ASStates): what that SGP's NTFYs and ASPAC ACKs said on
// the current association; empty when it is down or sgp is out of range.
func (c *Client) ASStates(sgp int) map[uint32]ASState {
	if sgp < 0 || sgp >= len(c.links) {
		return nil
	}
	l := c.links[sgp]
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.asp.ASStates()
}
