package enrp

import (
	"context"
	"sync"
	"time"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// DriverConfig is what the driver needs besides the core's configuration.
type DriverConfig struct {
	// Transport opens and accepts associations (sctp.Kernel in production,
	// an sctptest.Network in tests).
	Transport sctp.Transport
	// ASAPAddr and ENRPAddr are the addresses to listen on (ports 3863 and
	// 9901 by convention); a zero ENRPAddr: no ENRP listener.
	ASAPAddr, ENRPAddr sctp.Addr
	// LocalAddr is the address associations are dialed from; zero: any.
	LocalAddr sctp.Addr
	// OnEvent receives the core's events from the loop goroutine; it must
	// not block or wait for the driver.
	OnEvent func(Event)
	// SendTimeout bounds one send; an association blocked that long is
	// aborted. DialTimeout bounds one dial. Defaults 1 s.
	SendTimeout time.Duration
	DialTimeout time.Duration
}

// Driver runs a Registrar over SCTP: one loop goroutine owns the core and
// the real clock, one reader goroutine per association, one accept
// goroutine per listener, and short-lived dial goroutines.
type Driver struct {
	cfg  DriverConfig
	core *Registrar
	lns  []sctp.Listener

	in     chan func(time.Time)
	done   chan struct{}
	closed sync.Once
	wg     sync.WaitGroup

	// Owned by the loop.
	timers  map[TimerID]*time.Timer
	assocs  map[ConnID]*link
	dialing map[ConnID]context.CancelFunc
	closing bool // Close ran on the loop: attach nothing more
}

// NewDriver listens on the configured addresses and returns a driver; Start
// starts it.
func NewDriver(dc DriverConfig, cfg Config) (*Driver, error) {
	if dc.SendTimeout <= 0 {
		dc.SendTimeout = time.Second
	}
	if dc.DialTimeout <= 0 {
		dc.DialTimeout = time.Second
	}
	if dc.OnEvent == nil {
		dc.OnEvent = func(Event) {}
	}
	d := &Driver{cfg: dc, core: New(cfg), in: make(chan func(time.Time), 256), done: make(chan struct{}),
		timers: map[TimerID]*time.Timer{}, assocs: map[ConnID]*link{}, dialing: map[ConnID]context.CancelFunc{}}
	asap, err := dc.Transport.Listen(dc.ASAPAddr)
	if err != nil {
		return nil, err
	}
	d.lns = append(d.lns, asap)
	if dc.ENRPAddr.Port != 0 {
		enrp, err := dc.Transport.Listen(dc.ENRPAddr)
		if err != nil {
			asap.Close()
			return nil, err
		}
		d.lns = append(d.lns, enrp)
	}
	return d, nil
}

// ASAPAddr returns the address the ASAP listener is bound to.
func (d *Driver) ASAPAddr() sctp.Addr { return d.lns[0].Addr() }

// Start starts the loop, the accept goroutines and the core.
func (d *Driver) Start() {
	d.wg.Add(1)
	go d.loop()
	for i, ln := range d.lns {
		kind := ASAP
		if i == 1 {
			kind = ENRP
		}
		d.wg.Add(1)
		go d.accept(ln, kind)
	}
	d.post(func(now time.Time) { d.core.Start(now) })
}

// Do runs f on the loop goroutine with the core, and waits: for reading
// state (checksums, counters, the handlespace) safely. False once closed.
func (d *Driver) Do(f func(r *Registrar)) bool {
	ch := make(chan struct{})
	if !d.post(func(time.Time) { f(d.core); close(ch) }) {
		return false
	}
	select {
	case <-ch:
		return true
	case <-d.done:
		return false
	}
}

// Close stops the driver at once: listeners and associations are closed
// (aborted when abort is set, as a crash would), timers stopped, and the
// goroutines waited for.
func (d *Driver) Close(abort bool) {
	d.closed.Do(func() {
		ch := make(chan struct{})
		if d.post(func(time.Time) {
			d.closing = true
			for c, l := range d.assocs {
				if abort {
					l.as.Abort()
				} else {
					l.as.Close()
				}
				close(l.q)
				delete(d.assocs, c)
			}
			for _, c := range d.dialing {
				c()
			}
			for _, t := range d.timers {
				t.Stop()
			}
			close(ch)
		}) {
			<-ch
		}
		close(d.done)
		for _, ln := range d.lns {
			ln.Close()
		}
	})
	d.wg.Wait()
}

func (d *Driver) post(f func(time.Time)) bool {
	select {
	case <-d.done:
		return false
	default:
	}
	select {
	case d.in <- f:
		return true
	case <-d.done:
		return false
	}
}

func (d *Driver) loop() {
	defer d.wg.Done()
	for {
		select {
		case f := <-d.in:
			f(time.Now())
			d.apply(d.core.Ready())
		case <-d.done:
			return
		}
	}
}

func (d *Driver) apply(r Ready) {
	for _, s := range r.Sends {
		d.send(s)
	}
	for _, c := range r.Closes {
		if l := d.assocs[c]; l != nil {
			delete(d.assocs, c)
			close(l.q) // the writer closes the association once its queue is sent
		}
		if cancel := d.dialing[c]; cancel != nil {
			delete(d.dialing, c)
			cancel()
		}
	}
	for _, dl := range r.Dials {
		d.dial(dl)
	}
	for _, t := range r.Timers {
		if old := d.timers[t.ID]; old != nil {
			old.Stop()
			delete(d.timers, t.ID)
		}
		if t.Stop {
			continue
		}
		id := t.ID
		d.timers[id] = time.AfterFunc(time.Until(t.At), func() {
			d.post(func(now time.Time) {
				if now.Before(t.At) {
					now = t.At // the core ignores timers that are not due
				}
				d.core.Timer(now, id)
			})
		})
	}
	for _, e := range r.Events {
		d.cfg.OnEvent(e)
	}
}

// link is an association with its writer: the loop never blocks on a
// send; a peer that does not take its messages fills the queue and is
// aborted.
type link struct {
	as sctp.Association
	q  chan sctp.Message
}

const sendQueue = 1024

// attach starts the reader and the writer of association c (on the loop).
func (d *Driver) attach(c ConnID, as sctp.Association) {
	if d.closing {
		as.Abort()
		return
	}
	l := &link{as: as, q: make(chan sctp.Message, sendQueue)}
	d.assocs[c] = l
	d.read(c, as)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for m := range l.q {
			as.SetWriteDeadline(time.Now().Add(d.cfg.SendTimeout))
			if err := as.Send(m); err != nil {
				as.Abort()
				d.post(func(now time.Time) {
					if d.assocs[c] == l {
						delete(d.assocs, c)
						d.core.Down(now, c)
					}
				})
				return // senders never block on q: it needs no reader
			}
		}
		as.Close()
	}()
}

func (d *Driver) send(s Send) {
	l := d.assocs[s.Conn]
	if l == nil {
		return
	}
	var b []byte
	var err error
	ppid := uint32(PPID)
	if s.ASAP != nil {
		ppid = rserpool.PPID
		b, err = s.ASAP.AppendTo(nil)
	} else {
		b, err = s.ENRP.AppendTo(nil)
	}
	if err != nil {
		return
	}
	select {
	case l.q <- sctp.Message{PPID: ppid, Data: b}:
	default: // the peer does not keep up: give it up
		delete(d.assocs, s.Conn)
		close(l.q)
		l.as.Abort()
		c := s.Conn
		go d.post(func(now time.Time) { d.core.Down(now, c) })
	}
}

func (d *Driver) dial(dl Dial) {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.DialTimeout)
	d.dialing[dl.Conn] = cancel
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		as, err := d.cfg.Transport.Dial(ctx, d.cfg.LocalAddr, dl.Addr)
		ok := d.post(func(now time.Time) {
			if d.dialing[dl.Conn] == nil { // cancelled meanwhile
				if as != nil {
					as.Close()
				}
				return
			}
			delete(d.dialing, dl.Conn)
			cancel()
			if err != nil {
				d.core.Down(now, dl.Conn)
				return
			}
			d.attach(dl.Conn, as)
			d.core.Up(now, dl.Conn)
		})
		if !ok && as != nil {
			as.Abort()
		}
	}()
}

func (d *Driver) accept(ln sctp.Listener, kind ConnKind) {
	defer d.wg.Done()
	for {
		as, err := ln.Accept()
		if err != nil {
			select {
			case <-d.done:
				return
			default:
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !d.post(func(now time.Time) {
			id := d.core.Accepted(now, kind, as.PeerAddr())
			d.attach(id, as)
		}) {
			as.Abort()
			return
		}
	}
}

// read starts the reader of association c (called on the loop).
func (d *Driver) read(c ConnID, as sctp.Association) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		buf := make([]byte, 65536)
		for {
			m, _, err := as.Recv(buf)
			if err != nil {
				d.post(func(now time.Time) {
					if l := d.assocs[c]; l != nil && l.as == as {
						delete(d.assocs, c)
						close(l.q)
						d.core.Down(now, c)
					}
				})
				return
			}
			if len(m.Data) == 0 {
				continue // an event
			}
			data := append([]byte(nil), m.Data...)
			switch m.PPID {
			case rserpool.PPID:
				d.post(func(now time.Time) { d.core.ASAPBytes(now, c, data) })
			case PPID:
				d.post(func(now time.Time) { d.core.ENRPBytes(now, c, data) })
			}
		}
	}()
}
