package rserpool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Drivers: the I/O edge of the PE and PU cores. A driver owns the
// goroutines, the associations and the real clock:
//
//   - one loop goroutine owns the core: every input (a message, a timer, an
//     association coming up or going down, a call of the application) is a
//     closure posted to it, run with time.Now(), and followed by carrying
//     out the core's Ready in order (sends, closes, dials, timers, events);
//   - one reader goroutine per association (registrar or session), and no
//     other; dials run in short-lived goroutines bounded by T5.
//
// # Sharing an association with another protocol
//
// Between a pool user and a pool element, ASAP's session layer (PPID 11:
// cookie, cookie echo, business card) rides on the association that
// carries the application's own traffic, M3UA (PPID 3) in sigpool. The
// seam is SessionHandler: the driver's reader of the association hands
// every message whose PPID is not 11, every association event and the end
// of the association to the handler, and keeps PPID 11 for the core. The
// other protocol sends on the association directly (sctp.Association
// allows any number of concurrent senders), so it never waits for the
// driver. Where the other protocol's driver owns the reader instead, it
// attaches the association with AttachSession and hands PPID 11 messages
// over with DeliverSession.

// SessionHandler receives from a session's association what is not ASAP.
// Its methods are called from the association's reader goroutine, one at a
// time and in arrival order; they should not block for long (the reader
// waits).
type SessionHandler interface {
	// Data is called for a message whose PPID is not ASAP's. m.Data is
	// valid only during the call.
	Data(m sctp.Message)
	// Event is called for association notifications.
	Event(ev sctp.Event)
	// Closed is called once, when the association has ended or failed;
	// err says how (io.EOF after a graceful shutdown).
	Closed(err error)
}

// DriverConfig is what both drivers need besides their core's
// configuration.
type DriverConfig struct {
	// Transport opens the registrar associations (sctp.Kernel in
	// production, an sctptest.Network in tests).
	Transport sctp.Transport
	// LocalAddr is the local address registrar associations are dialed
	// from; zero: any.
	LocalAddr sctp.Addr
	// OnEvent receives the core's events, from the driver's loop
	// goroutine. It must not block, and must not wait for the driver.
	OnEvent func(Event)
	// SendTimeout bounds one send to a registrar; an association that
	// stays blocked that long is aborted. Default 1 s.
	SendTimeout time.Duration
}

// DefaultSendTimeout bounds a blocked send to a registrar.
const DefaultSendTimeout = time.Second

// roleCore is what the engine needs of a core.
type roleCore interface {
	Ready() Ready
	Counters() Counters
	Timer(now time.Time, id TimerID)
	RegistrarUp(now time.Time, a AssocID)
	RegistrarDown(now time.Time, a AssocID)
	FromRegistrarBytes(now time.Time, a AssocID, b []byte)
	FromSessionBytes(now time.Time, s SessionID, b []byte)
	Announce(now time.Time, m *ServerAnnounce, src netip.AddrPort)
}

type session struct {
	assoc sctp.Association
	gen   uint64 // which AddSession this is, to ignore stale readers
}

// engine is the driver machinery both roles share.
type engine struct {
	cfg     DriverConfig
	core    roleCore
	huntTO  time.Duration
	in      chan func(time.Time)
	done    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup
	buf     []byte

	// Owned by the loop goroutine.
	timers   map[TimerID]*time.Timer
	regs     map[AssocID]sctp.Association
	dialing  map[AssocID]context.CancelFunc
	sessions map[SessionID]*session
	gen      uint64
	closing  bool // set by close: start nothing more
	// onSessionEnd tells the role a session's association ended (loop).
	onSessionEnd func(now time.Time, id SessionID, err error)
	// The announce sockets, closed by close (under amu).
	amu           sync.Mutex
	aclosed       bool
	announceConns []net.PacketConn
}

func newEngine(cfg DriverConfig, core roleCore, huntTimeout time.Duration) *engine {
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultSendTimeout
	}
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(Event) {}
	}
	return &engine{
		cfg: cfg, core: core, huntTO: huntTimeout,
		in:       make(chan func(time.Time), 64),
		done:     make(chan struct{}),
		timers:   map[TimerID]*time.Timer{},
		regs:     map[AssocID]sctp.Association{},
		dialing:  map[AssocID]context.CancelFunc{},
		sessions: map[SessionID]*session{},
	}
}

func (e *engine) start() {
	e.wg.Add(1)
	go e.loop()
}

func (e *engine) loop() {
	defer e.wg.Done()
	for {
		select {
		case f := <-e.in:
			f(time.Now())
			e.apply(e.core.Ready())
		case <-e.done:
			return
		}
	}
}

// post runs f on the loop; false once the driver is closed.
func (e *engine) post(f func(now time.Time)) bool {
	select {
	case e.in <- f:
		return true
	case <-e.done:
		return false
	}
}

// call runs f on the loop and waits for it.
func (e *engine) call(f func(now time.Time)) bool {
	ch := make(chan struct{})
	if !e.post(func(now time.Time) { f(now); close(ch) }) {
		return false
	}
	select {
	case <-ch:
		return true
	case <-e.done:
		return false
	}
}

// apply carries out a Ready: sends first (so that a message queued before
// a close goes out), then closes, dials, timers and events.
func (e *engine) apply(r Ready) {
	if e.closing {
		return
	}
	for _, s := range r.Sends {
		e.send(s)
	}
	for _, a := range r.Closes {
		if as := e.regs[a]; as != nil {
			delete(e.regs, a)
			as.Close()
		}
		if cancel := e.dialing[a]; cancel != nil {
			delete(e.dialing, a)
			cancel()
		}
	}
	for _, d := range r.Dials {
		e.dial(d)
	}
	for _, t := range r.Timers {
		if old := e.timers[t.ID]; old != nil {
			old.Stop()
			delete(e.timers, t.ID)
		}
		if t.Stop {
			continue
		}
		id := t.ID
		e.timers[id] = time.AfterFunc(time.Until(t.At), func() {
			e.post(func(now time.Time) {
				delete(e.timers, id)
				// The core checks that the timer is still armed and due.
				e.core.Timer(now, id)
			})
		})
	}
	for _, ev := range r.Events {
		e.cfg.OnEvent(ev)
	}
}

func (e *engine) send(s Send) {
	var err error
	e.buf, err = s.Msg.AppendTo(e.buf[:0])
	if err != nil {
		return // the cores only build encodable messages; see the fuzz tests
	}
	m := sctp.Message{Stream: 0, PPID: PPID, Data: e.buf}
	if s.Session != 0 {
		if ss := e.sessions[s.Session]; ss != nil {
			ss.assoc.Send(m) // its owner learns of failures from the reader
		}
		return
	}
	as := e.regs[s.Assoc]
	if as == nil {
		return
	}
	as.SetWriteDeadline(time.Now().Add(e.cfg.SendTimeout))
	if err := as.Send(m); err != nil {
		// The reader sees the end and reports it.
		as.Abort()
	}
}

func (e *engine) dial(d Dial) {
	ctx, cancel := context.WithTimeout(context.Background(), e.huntTO)
	e.dialing[d.Assoc] = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		as, err := e.cfg.Transport.Dial(ctx, e.cfg.LocalAddr, d.Addr)
		ran := make(chan struct{})
		ok := e.post(func(now time.Time) {
			defer close(ran)
			_, wanted := e.dialing[d.Assoc]
			delete(e.dialing, d.Assoc)
			cancel()
			switch {
			case err != nil:
				e.core.RegistrarDown(now, d.Assoc)
			case !wanted || e.closing:
				as.Abort()
			default:
				e.regs[d.Assoc] = as
				e.readRegistrar(d.Assoc, as)
				e.core.RegistrarUp(now, d.Assoc)
			}
		})
		if ok {
			select {
			case <-ran:
				return
			case <-e.done:
			}
		}
		// The loop is gone (or going): the association is nobody's.
		cancel()
		if err == nil {
			as.Abort()
		}
	}()
}

// readRegistrar starts the reader of a registrar association (loop).
func (e *engine) readRegistrar(id AssocID, as sctp.Association) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		buf := make([]byte, sctp.MaxMessage)
		for {
			m, ev, err := as.Recv(buf)
			if err != nil {
				if errors.Is(err, sctp.ErrMessageTooLong) {
					continue
				}
				e.post(func(now time.Time) {
					if e.regs[id] == as {
						delete(e.regs, id)
						as.Abort()
					}
					e.core.RegistrarDown(now, id)
				})
				return
			}
			if ev != nil || m.PPID != PPID {
				continue // events: the end shows as an error next
			}
			data := append([]byte(nil), m.Data...)
			if !e.post(func(now time.Time) { e.core.FromRegistrarBytes(now, id, data) }) {
				return
			}
		}
	}()
}

// addSession registers a session's association and, with a handler,
// starts its reader (loop).
func (e *engine) addSession(id SessionID, as sctp.Association, h SessionHandler) {
	e.gen++
	ss := &session{assoc: as, gen: e.gen}
	e.sessions[id] = ss
	if h == nil {
		return
	}
	// Not in e.wg: the association belongs to the application, and so
	// does the end of its reader.
	go func() {
		err := Demux(as, func(b []byte) bool {
			data := append([]byte(nil), b...)
			return e.post(func(now time.Time) {
				if e.sessions[id] == ss {
					e.core.FromSessionBytes(now, id, data)
				}
			})
		}, h)
		e.post(func(now time.Time) {
			if e.sessions[id] == ss {
				delete(e.sessions, id)
				if e.onSessionEnd != nil {
					e.onSessionEnd(now, id, err)
				}
			}
		})
	}()
}

// Demux reads association as until it ends, handing each ASAP message
// (PPID 11) to asap and everything else to h; asap returning false stops
// the reading. It returns how the association ended (io.EOF after a
// graceful shutdown), after calling h.Closed with the same error. It is
// the reader of a shared association: run it in the association's one
// reader goroutine.
func Demux(as sctp.Association, asap func(b []byte) bool, h SessionHandler) error {
	buf := make([]byte, sctp.MaxMessage)
	var err error
	for {
		m, ev, rerr := as.Recv(buf)
		if rerr != nil {
			if errors.Is(rerr, sctp.ErrMessageTooLong) {
				continue
			}
			err = rerr
			break
		}
		if ev != nil {
			h.Event(*ev)
			continue
		}
		if m.PPID == PPID {
			if !asap(m.Data) {
				err = sctp.ErrClosed
				break
			}
			continue
		}
		h.Data(m)
	}
	if errors.Is(err, sctp.ErrClosed) {
		err = sctp.ErrClosed
	}
	h.Closed(err)
	return err
}

// lostSession reports whether err, the end of a session's association,
// means the element failed (rather than leaving gracefully or being
// closed by this end).
func lostSession(err error) bool {
	return err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, sctp.ErrClosed)
}

// close stops the loop, the timers and the registrar associations, and
// waits for the goroutines the engine started. Session associations belong
// to the application: their readers end when it closes them.
func (e *engine) close(final func(now time.Time)) {
	e.stopped.Do(func() {
		e.call(func(now time.Time) {
			if final != nil {
				final(now)
				e.apply(e.core.Ready())
			}
			e.closing = true
			for _, t := range e.timers {
				t.Stop()
			}
			for id, as := range e.regs {
				as.Close()
				delete(e.regs, id)
			}
			for id, cancel := range e.dialing {
				cancel()
				delete(e.dialing, id)
			}
		})
		e.amu.Lock()
		e.aclosed = true
		for _, c := range e.announceConns {
			c.Close()
		}
		e.announceConns = nil
		e.amu.Unlock()
		close(e.done)
	})
}

// counters fetches the core's counters from the loop.
func (e *engine) counters() Counters {
	var c Counters
	e.call(func(time.Time) { c = e.core.Counters() })
	return c
}

// ---------------------------------------------------------------- announces

// AnnounceConfig says where a driver listens for the registrars'
// ASAP_SERVER_ANNOUNCE datagrams (UDP multicast, RFC 5352 section 3.6).
// A driver listens only when asked (ListenAnnounces), and its core uses
// what it hears only with HuntConfig.Announces set.
type AnnounceConfig struct {
	// Group is the multicast group and port; zero: DefaultAnnounceGroup.
	Group netip.AddrPort
	// Interface names the interface to join the group on; empty: the
	// one the system picks (the route to the group).
	Interface string
	// Listen opens the socket: joined to group on iface, bound to its
	// port. nil: ListenAnnounceGroup. Tests set it to open the socket in
	// another network namespace.
	Listen func(group netip.AddrPort, iface string) (net.PacketConn, error)
}

// DefaultAnnounceGroup is where rsplib's registrars announce themselves
// to pool elements and pool users (rsplib's default; RFC 5352 leaves the
// group to the configuration).
var DefaultAnnounceGroup = netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 0, 0, 50}), Port)

// ListenAnnounceGroup opens a UDP socket bound to group's port and joined
// to group on the named interface (empty: the system's choice).
func ListenAnnounceGroup(group netip.AddrPort, iface string) (net.PacketConn, error) {
	if !group.Addr().IsMulticast() {
		return nil, fmt.Errorf("rserpool: announce group %v is not a multicast address", group.Addr())
	}
	var ifi *net.Interface
	if iface != "" {
		var err error
		if ifi, err = net.InterfaceByName(iface); err != nil {
			return nil, fmt.Errorf("rserpool: announce interface: %w", err)
		}
	}
	network := "udp4"
	if group.Addr().Is6() {
		network = "udp6"
	}
	return net.ListenMulticastUDP(network, ifi, net.UDPAddrFromAddrPort(group))
}

// maxAnnounce bounds an announce datagram (a server identifier and a few
// transports fit in far less).
const maxAnnounce = 2048

// listenAnnounces opens the announce socket and starts its reader, which
// ends when the driver closes.
func (e *engine) listenAnnounces(cfg AnnounceConfig) error {
	if !cfg.Group.IsValid() {
		cfg.Group = DefaultAnnounceGroup
	}
	if cfg.Listen == nil {
		cfg.Listen = ListenAnnounceGroup
	}
	conn, err := cfg.Listen(cfg.Group, cfg.Interface)
	if err != nil {
		return err
	}
	e.amu.Lock()
	defer e.amu.Unlock()
	if e.aclosed {
		conn.Close()
		return sctp.ErrClosed
	}
	e.announceConns = append(e.announceConns, conn)
	e.wg.Add(1)
	go e.readAnnounces(conn)
	return nil
}

func (e *engine) readAnnounces(conn net.PacketConn) {
	defer e.wg.Done()
	buf := make([]byte, maxAnnounce)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-e.done:
				return
			case <-time.After(10 * time.Millisecond): // transient (e.g. ICMP)
			}
			continue
		}
		var src netip.AddrPort
		if u, ok := from.(*net.UDPAddr); ok {
			src = netip.AddrPortFrom(u.AddrPort().Addr().Unmap(), u.AddrPort().Port())
		}
		e.announce(buf[:n], src)
	}
}

// announce decodes a datagram heard on the announce address (UDP, port
// 3863) and hands an ASAP_SERVER_ANNOUNCE to the core.
func (e *engine) announce(b []byte, src netip.AddrPort) {
	m, _, err := DecodeMessage(b)
	if err != nil {
		return
	}
	sa, ok := m.(*ServerAnnounce)
	if !ok {
		return
	}
	e.post(func(now time.Time) { e.core.Announce(now, sa, src) })
}

// ---------------------------------------------------------------- PE driver

// PEDriver runs a PE core over SCTP.
type PEDriver struct {
	e    *engine
	core *PE
	ln   sctp.Listener
}

// NewPEDriver returns a PE driver. When asap is not nil, registrars may
// open associations to it to take the PE over (its ASAP transport); the
// driver accepts them until Close, and closes it then.
func NewPEDriver(cfg DriverConfig, pe PEConfig, asap sctp.Listener) *PEDriver {
	core := NewPE(pe)
	d := &PEDriver{core: core, ln: asap}
	d.e = newEngine(cfg, core, core.cfg.Hunt.Timeout)
	return d
}

// Start starts the driver: the registrar hunt, then the registration.
func (d *PEDriver) Start() {
	d.e.start()
	if d.ln != nil {
		d.e.wg.Add(1)
		go d.accept()
	}
	d.e.post(func(now time.Time) { d.core.Start(now) })
}

func (d *PEDriver) accept() {
	defer d.e.wg.Done()
	for {
		as, err := d.ln.Accept()
		if err != nil {
			return
		}
		if !d.e.post(func(now time.Time) {
			if d.e.closing {
				as.Abort()
				return
			}
			id := d.core.RegistrarAccepted(now)
			d.e.regs[id] = as
			d.e.readRegistrar(id, as)
		}) {
			as.Abort()
			return
		}
	}
}

// SetLoad sets the PE's load (adaptive policies re-register at once on a
// change beyond the configured step).
func (d *PEDriver) SetLoad(load uint32) {
	d.e.post(func(now time.Time) { d.core.SetLoad(now, load) })
}

// AddSession attaches the association of a pool user's session: the
// driver reads it, keeps PPID 11 for the core (cookie echoes, business
// cards) and hands the rest to h.
func (d *PEDriver) AddSession(id SessionID, as sctp.Association, h SessionHandler) {
	d.e.post(func(time.Time) { d.e.addSession(id, as, h) })
}

// AttachSession attaches a session's association whose reader belongs to
// another layer; that layer hands PPID 11 messages to DeliverSession.
func (d *PEDriver) AttachSession(id SessionID, as sctp.Association) {
	d.e.post(func(time.Time) { d.e.addSession(id, as, nil) })
}

// DeliverSession hands an ASAP message read from session id's
// association to the core (the data is copied).
func (d *PEDriver) DeliverSession(id SessionID, b []byte) {
	data := append([]byte(nil), b...)
	d.e.post(func(now time.Time) { d.core.FromSessionBytes(now, id, data) })
}

// RemoveSession forgets a session (its association is not closed).
func (d *PEDriver) RemoveSession(id SessionID) {
	d.e.post(func(time.Time) { delete(d.e.sessions, id) })
}

// SendCookie sends a state cookie to the pool user of session id.
func (d *PEDriver) SendCookie(id SessionID, cookie []byte) {
	c := append([]byte(nil), cookie...)
	d.e.post(func(time.Time) { d.core.SendCookie(id, c) })
}

// SendBusinessCard sends the PE's business card on session id.
func (d *PEDriver) SendBusinessCard(id SessionID, elements []PoolElement) {
	d.e.post(func(time.Time) { d.core.SendBusinessCard(id, elements) })
}

// Announce hands a datagram heard on the ASAP announce address from src
// (its source address and port) to the core.
func (d *PEDriver) Announce(b []byte, src netip.AddrPort) { d.e.announce(b, src) }

// ListenAnnounces joins the announce group and hands what it hears to the
// core (which uses it with HuntConfig.Announces) until Close. It may be
// called before or after Start, and again for another group or interface.
// It fails once the driver is closed.
func (d *PEDriver) ListenAnnounces(cfg AnnounceConfig) error { return d.e.listenAnnounces(cfg) }

// State returns the PE's registration state and identifier.
func (d *PEDriver) State() (s PEState, id uint32) {
	d.e.call(func(time.Time) { s, id = d.core.State(), d.core.ID() })
	return s, id
}

// Counters returns the core's counters.
func (d *PEDriver) Counters() Counters { return d.e.counters() }

// Stop deregisters the PE and waits until that is done (or ctx ends);
// the driver keeps running until Close.
func (d *PEDriver) Stop(ctx context.Context) error {
	done := make(chan struct{})
	var once sync.Once
	onEvent := d.e.cfg.OnEvent
	d.e.call(func(now time.Time) {
		d.e.cfg.OnEvent = func(ev Event) {
			onEvent(ev)
			if _, ok := ev.(Deregistered); ok {
				once.Do(func() { close(done) })
			}
		}
		d.core.Stop(now)
		if d.core.State() == PEStopped {
			once.Do(func() { close(done) })
		}
	})
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the driver at once (without deregistering: call Stop first
// for that) and waits for its goroutines.
func (d *PEDriver) Close() {
	if d.ln != nil {
		d.ln.Close()
	}
	d.e.close(nil)
	d.e.wg.Wait()
}

// ---------------------------------------------------------------- PU driver

// PUDriver runs a PU core over SCTP.
type PUDriver struct {
	e    *engine
	core *PU
}

// NewPUDriver returns a PU driver.
func NewPUDriver(cfg DriverConfig, pu PUConfig) *PUDriver {
	core := NewPU(pu)
	d := &PUDriver{core: core}
	d.e = newEngine(cfg, core, core.cfg.Hunt.Timeout)
	d.e.onSessionEnd = func(now time.Time, id SessionID, err error) {
		// The element is gone: fail over (reporting it when it was lost
		// rather than shut down gracefully). Closing a session the PU
		// no longer wants is RemoveSession's business.
		if err != nil && !errors.Is(err, sctp.ErrClosed) {
			core.SessionFailed(now, id, lostSession(err))
		}
	}
	return d
}

// Start starts the driver and the registrar hunt.
func (d *PUDriver) Start() {
	d.e.start()
	d.e.post(func(now time.Time) { d.core.Start(now) })
}

// Resolve asks for one element of a pool; a Selected or ResolutionFailed
// event with the same tag answers.
func (d *PUDriver) Resolve(handle []byte, tag uint64) {
	h := append([]byte(nil), handle...)
	d.e.post(func(now time.Time) { d.core.Resolve(now, h, tag) })
}

// AddSession attaches the association of session id, connected to
// element elementID of the pool: the driver reads it, keeps PPID 11 for
// the core and hands the rest to h. On a failover, call it again with the
// same id and the new association: the latest state cookie is echoed on
// it. When the association is lost the driver reports the element and
// fails over by itself (a Selected event for the session follows).
func (d *PUDriver) AddSession(id SessionID, handle []byte, elementID uint32, as sctp.Association, h SessionHandler) {
	hd := append([]byte(nil), handle...)
	d.e.post(func(now time.Time) {
		d.e.addSession(id, as, h)
		d.core.SessionUp(now, id, hd, elementID)
	})
}

// AttachSession is AddSession for an association whose reader belongs to
// another layer; that layer hands PPID 11 messages to DeliverSession and
// reports the element's failure with SessionFailed.
func (d *PUDriver) AttachSession(id SessionID, handle []byte, elementID uint32, as sctp.Association) {
	d.AddSession(id, handle, elementID, as, nil)
}

// DeliverSession hands an ASAP message read from session id's
// association to the core (the data is copied).
func (d *PUDriver) DeliverSession(id SessionID, b []byte) {
	data := append([]byte(nil), b...)
	d.e.post(func(now time.Time) { d.core.FromSessionBytes(now, id, data) })
}

// SessionFailed tells the core the element of session id failed (for
// example the application's own keep-alive timed out): it is reported
// when report is set, and the session fails over.
func (d *PUDriver) SessionFailed(id SessionID, report bool) {
	d.e.post(func(now time.Time) {
		delete(d.e.sessions, id)
		d.core.SessionFailed(now, id, report)
	})
}

// RemoveSession forgets session id (its association is not closed).
func (d *PUDriver) RemoveSession(id SessionID) {
	d.e.post(func(time.Time) {
		delete(d.e.sessions, id)
		d.core.SessionClosed(id)
	})
}

// Cookie returns the latest state cookie of session id.
func (d *PUDriver) Cookie(id SessionID) []byte {
	var c []byte
	d.e.call(func(time.Time) { c = clone(d.core.Cookie(id)) })
	return c
}

// Announce hands a datagram heard on the ASAP announce address from src
// (its source address and port) to the core.
func (d *PUDriver) Announce(b []byte, src netip.AddrPort) { d.e.announce(b, src) }

// ListenAnnounces joins the announce group and hands what it hears to the
// core (which uses it with HuntConfig.Announces) until Close. It may be
// called before or after Start.
func (d *PUDriver) ListenAnnounces(cfg AnnounceConfig) error { return d.e.listenAnnounces(cfg) }

// Counters returns the core's counters.
func (d *PUDriver) Counters() Counters { return d.e.counters() }

// Close stops the driver and waits for its goroutines.
func (d *PUDriver) Close() {
	d.e.close(func(now time.Time) { d.core.Stop(now) })
	d.e.wg.Wait()
}
