package sctptest

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// causeUserAbort is the SCTP error cause "User-Initiated Abort" (RFC 9260,
// section 3.3.10.12), which the kernel reports with the comm-lost event a
// peer's ABORT produces.
const causeUserAbort = 12

// baseRTT is the round trip of an unloaded signalling LAN; it keeps SRTT
// plausible when no delay is injected.
const baseRTT = 200 * time.Microsecond

// maxLosses bounds the retransmissions drawn for one message, so that a loss
// probability near 1 still terminates.
const maxLosses = 30

// link is the state shared by the two ends of one association. A single
// mutex guards all of it, both ends included.
type link struct {
	mu       sync.Mutex
	net      *Network
	clock    Clock
	rng      *rand.Rand
	ends     [2]*Assoc
	dirs     [2]*dir // dirs[i] carries ends[i]'s messages to ends[1-i]
	down     map[netip.Addr]bool
	deadPeer time.Duration
	deadT    Timer
	deadGen  uint64
	dead     bool // lost: aborted or peer declared dead
	finished bool // timers stopped, removed from the network
}

// dir is one direction of a link.
type dir struct {
	from, to *Assoc
	loss     float64
	delay    time.Duration
	inflight []*pkt // in send order
	bytes    int    // user bytes in flight plus unread at the receiver
	lastAt   []time.Time
	seq      uint64
	timer    Timer
	timerGen uint64
	closing  bool // the sender closed gracefully; SHUTDOWN follows the data
	// counters for Stats
	sent, rtx, delivered, unordered uint64
}

type pkt struct {
	m   sctp.Message
	at  time.Time // when it reaches the receiver, if a path is up
	seq uint64
}

type item struct {
	m  *sctp.Message
	ev *sctp.Event
}

// Assoc is one end of an in-memory association. It implements
// sctp.Association; its extra methods inject faults.
type Assoc struct {
	l       *link
	side    int
	local   sctp.Addr
	peer    sctp.Addr
	in, out uint16
	tuning  sctp.Tuning
	rcvbuf  int
	primary netip.Addr

	rq     []item
	eof    bool  // a terminal event is queued; Recv returns endErr once drained
	endErr error // io.EOF after a shutdown, an *sctp.LostError after comm-lost
	closed bool  // Close or Abort was called
	rdl    time.Time
	wdl    time.Time
	rcvCh  chan struct{} // closed and replaced when a reader should look again
	sndCh  chan struct{} // closed and replaced when a writer should look again
}

var _ sctp.Association = (*Assoc)(nil)

func (e *Assoc) outDir() *dir { return e.l.dirs[e.side] }
func (e *Assoc) inDir() *dir  { return e.l.dirs[1-e.side] }
func (e *Assoc) other() *Assoc {
	return e.l.ends[1-e.side]
}

func (e *Assoc) wakeRecv() {
	close(e.rcvCh)
	e.rcvCh = make(chan struct{})
}

func (e *Assoc) wakeSend() {
	close(e.sndCh)
	e.sndCh = make(chan struct{})
}

// done reports whether the end will never see traffic again.
func (e *Assoc) done() bool { return e.closed || e.eof }

// push queues an item for the reader, unless the end is done.
func (e *Assoc) push(it item) {
	if e.done() {
		return
	}
	e.rq = append(e.rq, it)
	e.wakeRecv()
}

func (e *Assoc) pushEvent(ev sctp.Event) { e.push(item{ev: &ev}) }

// terminate queues ev, then (if returnUnsent) a send-failed event for each
// message still in flight from this end, and marks the end finished: Recv
// returns endErr once the queue is drained.
func (e *Assoc) terminate(ev sctp.Event, returnUnsent bool, endErr error) {
	if e.done() {
		return
	}
	e.pushEvent(ev)
	for _, p := range e.outDir().inflight {
		if !returnUnsent {
			break
		}
		m := p.m
		e.pushEvent(sctp.Event{Kind: sctp.EventSendFailed, Unsent: &m})
	}
	e.eof = true
	e.endErr = endErr
	e.wakeRecv()
	e.wakeSend()
}

// timedOut reports whether deadline dl (zero: none) has passed.
func (l *link) timedOut(dl time.Time) bool {
	return !dl.IsZero() && !l.clock.Now().Before(dl)
}

// wait releases l.mu until ch is closed or deadline dl passes, then takes it
// again. The caller re-checks its conditions, the deadline included.
func (l *link) wait(ch chan struct{}, dl time.Time) {
	var tch chan struct{}
	var t Timer
	if !dl.IsZero() {
		tch = make(chan struct{})
		t = l.clock.AfterFunc(dl.Sub(l.clock.Now()), func() { close(tch) })
	}
	l.mu.Unlock()
	select {
	case <-ch:
	case <-tch:
	}
	if t != nil {
		t.Stop()
	}
	l.mu.Lock()
}

// Recv implements sctp.Association. After this end's Close or Abort it
// returns sctp.ErrClosed. After the peer's graceful close or the loss of the
// association it first returns everything already received, then the
// terminal event (EventShutdown, or EventCommLost followed by one
// EventSendFailed per undelivered message), and from then on the error the
// kernel gives: io.EOF after a shutdown, an *sctp.LostError wrapping
// syscall.ECONNRESET after the peer's abort or syscall.ETIMEDOUT after the
// peer was declared dead.
func (e *Assoc) Recv(buf []byte) (sctp.Message, *sctp.Event, error) {
	l := e.l
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if e.closed {
			return sctp.Message{}, nil, sctp.ErrClosed
		}
		if l.timedOut(e.rdl) {
			return sctp.Message{}, nil, os.ErrDeadlineExceeded
		}
		if len(e.rq) > 0 {
			it := e.rq[0]
			e.rq[0] = item{}
			e.rq = e.rq[1:]
			if it.ev != nil {
				return sctp.Message{}, it.ev, nil
			}
			in := e.inDir()
			in.bytes -= len(it.m.Data)
			e.other().wakeSend()
			if len(it.m.Data) > len(buf) {
				return sctp.Message{}, nil, sctp.ErrMessageTooLong
			}
			m := *it.m
			m.Data = buf[:copy(buf, it.m.Data)]
			return m, nil, nil
		}
		if e.eof {
			return sctp.Message{}, nil, e.endErr
		}
		l.wait(e.rcvCh, e.rdl)
	}
}

// Send implements sctp.Association. It copies m.Data. It blocks while the
// user data outstanding towards the peer (in flight or unread there) would
// exceed the peer's receive buffer. As with the kernel, an empty message is
// refused; after this end's Close or Abort Send returns sctp.ErrClosed, and
// after the association ended otherwise an error wrapping syscall.EPIPE
// (and sctp.ErrAssociationLost when it was lost).
func (e *Assoc) Send(m sctp.Message) error {
	l := e.l
	l.mu.Lock()
	defer l.mu.Unlock()
	peer := e.other()
	for {
		if e.closed {
			return sctp.ErrClosed
		}
		if e.eof {
			if errors.Is(e.endErr, sctp.ErrAssociationLost) {
				return &sctp.LostError{Op: "send", Cause: syscall.EPIPE}
			}
			return &net.OpError{Op: "send", Net: "sctp", Err: syscall.EPIPE}
		}
		if m.Stream >= e.out {
			return sctp.ErrInvalidStream
		}
		if len(m.Data) == 0 {
			return errEmpty
		}
		if len(m.Data) > peer.rcvbuf {
			return fmt.Errorf("sctptest: message of %d bytes exceeds the peer's %d-byte receive buffer", len(m.Data), peer.rcvbuf)
		}
		if l.timedOut(e.wdl) {
			return os.ErrDeadlineExceeded
		}
		d := e.outDir()
		if d.bytes+len(m.Data) <= peer.rcvbuf {
			m.Data = slices.Clone(m.Data)
			l.enqueue(d, m)
			return nil
		}
		l.wait(e.sndCh, e.wdl)
	}
}

// rto is the retransmission timeout the sender of d would use.
func (l *link) rto(d *dir) time.Duration {
	t := d.from.tuning
	srtt := d.delay + l.dirs[1-d.from.side].delay + baseRTT
	return min(max(srtt+2*srtt, t.RTOMin), t.RTOMax)
}

func (l *link) enqueue(d *dir, m sctp.Message) {
	now := l.clock.Now()
	at := now.Add(d.delay)
	rto := l.rto(d)
	for k := 0; k < maxLosses && d.loss > 0 && l.rng.Float64() < d.loss; k++ {
		at = at.Add(rto)
		rto = min(2*rto, d.from.tuning.RTOMax)
		d.rtx++
	}
	d.sent++
	if m.Unordered {
		d.unordered++
	}
	if !m.Unordered {
		if at.Before(d.lastAt[m.Stream]) {
			at = d.lastAt[m.Stream]
		}
		d.lastAt[m.Stream] = at
	}
	d.seq++
	d.inflight = append(d.inflight, &pkt{m: m, at: at, seq: d.seq})
	d.bytes += len(m.Data)
	l.pump(d)
}

// delayAll makes every message in flight on d arrive no earlier than t, as
// after a retransmission; per-stream order is kept.
func (l *link) delayAll(d *dir, t time.Time) {
	for _, p := range d.inflight {
		if p.at.Before(t) {
			p.at = t
		}
		if !p.m.Unordered && p.at.After(d.lastAt[p.m.Stream]) {
			d.lastAt[p.m.Stream] = p.at
		}
	}
}

// pump delivers what is due on d and arms the timer for the rest.
func (l *link) pump(d *dir) {
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if l.finished || !l.connected() {
		return
	}
	now := l.clock.Now()
	var due []*pkt
	rest := d.inflight[:0]
	for _, p := range d.inflight {
		if !p.at.After(now) {
			due = append(due, p)
		} else {
			rest = append(rest, p)
		}
	}
	clear(d.inflight[len(rest):])
	d.inflight = rest
	slices.SortStableFunc(due, func(a, b *pkt) int { return a.at.Compare(b.at) })
	for _, p := range due {
		if d.to.done() {
			d.bytes -= len(p.m.Data)
			continue
		}
		m := p.m
		d.delivered++
		d.to.push(item{m: &m})
	}
	if len(d.inflight) == 0 {
		if d.closing && !d.to.done() {
			d.to.terminate(sctp.Event{Kind: sctp.EventShutdown}, false, io.EOF)
			l.finishIfDone()
		}
		return
	}
	next := d.inflight[0].at
	for _, p := range d.inflight[1:] {
		if p.at.Before(next) {
			next = p.at
		}
	}
	d.timerGen++
	gen := d.timerGen
	d.timer = l.clock.AfterFunc(next.Sub(now), func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if d.timerGen == gen {
			d.timer = nil
			l.pump(d)
		}
	})
}

// anyUp reports whether some address in ips is up.
func (l *link) anyUp(ips []netip.Addr) bool {
	for _, ip := range ips {
		if !l.down[ip] {
			return true
		}
	}
	return false
}

// connected reports whether the two ends can exchange packets: each has an
// interface up.
func (l *link) connected() bool {
	return l.anyUp(l.ends[0].local.IPs) && l.anyUp(l.ends[1].local.IPs)
}

// pathUp reports whether e's path to peer address ip is usable: ip is up and
// e has some interface up to send from.
func (e *Assoc) pathUp(ip netip.Addr) bool {
	return !e.l.down[ip] && e.l.anyUp(e.local.IPs)
}

// usedPath is the peer address e sends on: the primary if it is up, else the
// first address that is.
func (e *Assoc) usedPath() netip.Addr {
	if e.pathUp(e.primary) {
		return e.primary
	}
	for _, ip := range e.peer.IPs {
		if e.pathUp(ip) {
			return ip
		}
	}
	return netip.Addr{}
}

// setDown fails or restores interface ip and reports what changed.
func (l *link) setDown(ip netip.Addr, down bool) {
	if l.finished || l.down[ip] == down {
		return
	}
	var before [2][]bool
	var used [2]netip.Addr
	wasUp := l.connected()
	for i, e := range l.ends {
		used[i] = e.usedPath()
		for _, p := range e.peer.IPs {
			before[i] = append(before[i], e.pathUp(p))
		}
	}
	if down {
		l.down[ip] = true
	} else {
		delete(l.down, ip)
	}
	for i, e := range l.ends {
		for j, p := range e.peer.IPs {
			switch now := e.pathUp(p); {
			case before[i][j] && !now:
				e.pushEvent(sctp.Event{Kind: sctp.EventAddrUnreachable, Addr: p})
			case !before[i][j] && now:
				e.pushEvent(sctp.Event{Kind: sctp.EventAddrAvailable, Addr: p})
			}
		}
	}
	now := l.clock.Now()
	isUp := l.connected()
	switch {
	case wasUp && !isUp:
		l.deadGen++
		gen := l.deadGen
		l.deadT = l.clock.AfterFunc(l.deadPeer, func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.deadGen == gen && !l.connected() {
				l.die(0, syscall.ETIMEDOUT)
			}
		})
	case !wasUp && isUp:
		l.deadGen++
		if l.deadT != nil {
			l.deadT.Stop()
			l.deadT = nil
		}
		for _, d := range l.dirs {
			l.delayAll(d, now.Add(l.rto(d)))
		}
	case isUp:
		// Data in flight on a path that just failed is retransmitted on
		// another one after a retransmission timeout.
		for i, e := range l.ends {
			if u := e.usedPath(); u != used[i] && !e.pathUp(used[i]) {
				d := e.outDir()
				l.delayAll(d, now.Add(l.rto(d)))
			}
		}
	}
	for _, d := range l.dirs {
		l.pump(d)
	}
}

// die ends the association at once: each end still open gets comm-lost with
// the given error cause and its undelivered messages back, and Recv then
// fails with errno.
func (l *link) die(cause uint32, errno syscall.Errno) {
	if l.dead {
		return
	}
	l.dead = true
	for _, e := range l.ends {
		e.terminate(sctp.Event{Kind: sctp.EventCommLost, Error: cause}, true, &sctp.LostError{Op: "recv", Cause: errno})
	}
	l.finish()
}

// finishIfDone finishes the link when neither end will see traffic again.
func (l *link) finishIfDone() {
	if l.ends[0].done() && l.ends[1].done() {
		l.finish()
	}
}

// finish stops every timer and removes the link from its network. Lock
// order: l.mu before Network.mu, never the reverse.
func (l *link) finish() {
	if l.finished {
		return
	}
	l.finished = true
	l.deadGen++
	if l.deadT != nil {
		l.deadT.Stop()
		l.deadT = nil
	}
	for _, d := range l.dirs {
		d.timerGen++
		if d.timer != nil {
			d.timer.Stop()
			d.timer = nil
		}
		clear(d.inflight)
		d.inflight = nil
	}
	if l.net != nil {
		l.net.forget(l)
	}
}

// Close implements sctp.Association: a graceful shutdown. Messages already
// sent are still delivered, then the peer receives EventShutdown. As with
// kernel SCTP, closing while received messages are still unread aborts the
// association instead (the peer receives EventCommLost). Messages that
// arrive from the peer after Close are discarded. Closing again does
// nothing.
func (e *Assoc) Close() error {
	l := e.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.closed {
		return nil
	}
	unread := slices.ContainsFunc(e.rq, func(it item) bool { return it.m != nil })
	if unread {
		e.abortLocked()
		return nil
	}
	e.release()
	if !l.dead && !l.finished {
		d := e.outDir()
		d.closing = true
		l.pump(d)
	}
	l.finishIfDone()
	return nil
}

// Abort implements sctp.Association: messages in flight from this end are
// dropped and the peer receives EventCommLost (error cause 12, user-initiated
// abort) followed by EventSendFailed for what it had in flight. Aborting a
// closed end does nothing.
func (e *Assoc) Abort() error {
	l := e.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.closed {
		return nil
	}
	e.abortLocked()
	return nil
}

func (e *Assoc) abortLocked() {
	l := e.l
	e.release()
	if l.finished {
		return
	}
	clear(e.outDir().inflight)
	e.outDir().inflight = nil
	l.die(causeUserAbort, syscall.ECONNRESET)
}

// release marks the end closed and wakes its blocked callers.
func (e *Assoc) release() {
	e.closed = true
	clear(e.rq)
	e.rq = nil
	e.wakeRecv()
	e.wakeSend()
}

// SetDeadline implements sctp.Association.
func (e *Assoc) SetDeadline(t time.Time) error {
	return e.setDeadlines(t, true, true)
}

// SetReadDeadline implements sctp.Association.
func (e *Assoc) SetReadDeadline(t time.Time) error {
	return e.setDeadlines(t, true, false)
}

// SetWriteDeadline implements sctp.Association.
func (e *Assoc) SetWriteDeadline(t time.Time) error {
	return e.setDeadlines(t, false, true)
}

func (e *Assoc) setDeadlines(t time.Time, r, w bool) error {
	e.l.mu.Lock()
	defer e.l.mu.Unlock()
	if e.closed {
		return sctp.ErrClosed
	}
	if r {
		e.rdl = t
		e.wakeRecv()
	}
	if w {
		e.wdl = t
		e.wakeSend()
	}
	return nil
}

// LocalAddr implements sctp.Association.
func (e *Assoc) LocalAddr() sctp.Addr { return cloneAddr(e.local) }

// PeerAddr implements sctp.Association.
func (e *Assoc) PeerAddr() sctp.Addr { return cloneAddr(e.peer) }

// Streams implements sctp.Association.
func (e *Assoc) Streams() (in, out uint16) { return e.in, e.out }

// Stats implements sctp.StatsReader with what the simulation knows: every
// message is one DATA chunk in one packet, each loss drawn by SetLoss is
// one retransmitted chunk. SACKs, control chunks and RTO observations are
// not simulated and stay zero.
func (e *Assoc) Stats() (sctp.Stats, error) {
	l := e.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.done() {
		return sctp.Stats{}, sctp.ErrClosed
	}
	out, in := e.outDir(), e.inDir()
	return sctp.Stats{
		RetransmittedChunks: out.rtx,
		DataChunksOut:       out.sent,
		PacketsOut:          out.sent + out.rtx,
		UnorderedOut:        out.unordered,
		DataChunksIn:        in.delivered,
		PacketsIn:           in.delivered,
	}, nil
}

var _ sctp.StatsReader = (*Assoc)(nil)

// Status implements sctp.Association. SRTT is the injected round trip plus
// 200µs; RTO follows from it within the tuning's bounds. Unacked counts the
// messages in flight on a usable path, Pending those held because no path is
// up. It returns sctp.ErrClosed once the association is over.
func (e *Assoc) Status() (sctp.Status, error) {
	l := e.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.done() {
		return sctp.Status{State: "closed"}, sctp.ErrClosed
	}
	d := e.outDir()
	st := sctp.Status{
		State:      "established",
		InStreams:  e.in,
		OutStreams: e.out,
		Primary:    e.primary,
	}
	if l.connected() {
		st.Unacked = uint32(len(d.inflight))
	} else {
		st.Pending = uint32(len(d.inflight))
	}
	if d.closing {
		st.State = "shutdown-pending"
	}
	srtt := d.delay + e.inDir().delay + baseRTT
	for _, ip := range e.peer.IPs {
		p := sctp.Path{
			Addr:    ip,
			State:   sctp.PathActive,
			SRTT:    srtt,
			RTO:     l.rto(d),
			Cwnd:    4380,
			MTU:     1500,
			Primary: ip == e.primary,
		}
		if !e.pathUp(ip) {
			p.State = sctp.PathInactive
			p.RTO = e.tuning.RTOMax
		}
		st.Paths = append(st.Paths, p)
	}
	return st, nil
}

// SetPrimary implements sctp.Association. The address must be one of the
// peer's; this end then receives EventAddrMadePrimary. Traffic uses the
// primary while its path is up and another active path otherwise.
func (e *Assoc) SetPrimary(ip netip.Addr) error {
	l := e.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.done() {
		return sctp.ErrClosed
	}
	if !slices.Contains(e.peer.IPs, ip) {
		return fmt.Errorf("sctptest: set primary: %s is not an address of peer %s", ip, e.peer)
	}
	e.primary = ip
	e.pushEvent(sctp.Event{Kind: sctp.EventAddrMadePrimary, Addr: ip})
	return nil
}

var errEmpty = errors.New("sctptest: empty message (SCTP carries no empty user messages)")

// ErrUnknownAddr is returned by FailPath and RestorePath for an address that
// belongs to neither end.
var ErrUnknownAddr = errors.New("sctptest: address belongs to neither end of the association")

// FailPath takes interface ip (an address of either end) down for this
// association. The end whose peer address it is gets EventAddrUnreachable
// for it at once and sends on another active path; messages in flight on it
// are retransmitted after a retransmission timeout. If an end has no
// interface left, every path of both ends goes down; if that lasts longer
// than the dead-peer time, both ends get EventCommLost and their undelivered
// messages back as EventSendFailed.
func (e *Assoc) FailPath(ip netip.Addr) error { return e.setPath(ip, true) }

// RestorePath brings interface ip back: EventAddrAvailable on the end that
// regains the path, and held messages are retransmitted.
func (e *Assoc) RestorePath(ip netip.Addr) error { return e.setPath(ip, false) }

func (e *Assoc) setPath(ip netip.Addr, down bool) error {
	l := e.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Contains(e.local.IPs, ip) && !slices.Contains(e.peer.IPs, ip) {
		return fmt.Errorf("%w: %s", ErrUnknownAddr, ip)
	}
	if l.finished {
		return sctp.ErrClosed
	}
	l.setDown(ip, down)
	return nil
}

// SetLoss sets the probability that a transmission from this end to its
// peer is lost (and retransmitted later); it applies to messages sent after
// the call.
func (e *Assoc) SetLoss(p float64) {
	e.l.mu.Lock()
	defer e.l.mu.Unlock()
	e.outDir().loss = p
}

// SetDelay sets the one-way delay from this end to its peer for messages
// sent after the call.
func (e *Assoc) SetDelay(d time.Duration) {
	e.l.mu.Lock()
	defer e.l.mu.Unlock()
	e.outDir().delay = d
}

func cloneAddr(a sctp.Addr) sctp.Addr {
	a.IPs = slices.Clone(a.IPs)
	return a
}
