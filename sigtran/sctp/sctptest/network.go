package sctptest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Network is an in-memory IP network of SCTP endpoints: listeners bound to
// addresses and associations dialed to them. Several associations may share
// a host address; Network.FailPath takes such an address down for all of
// them at once, like a link failure on that host.
//
// The zero value is not usable; call NewNetwork.
type Network struct {
	cfg config

	mu        sync.Mutex
	listeners []*Listener
	links     map[*link]struct{}
	down      map[netip.Addr]bool
	nextPort  uint16
	nlinks    uint64
}

// NewNetwork returns an empty network. The options (clock, seed, loss,
// delay, receive buffer, dead-peer time, tuning) apply to every association
// made on it; WithAddrs and the second tuning of WithTunings are ignored.
func NewNetwork(opts ...Option) *Network {
	return &Network{
		cfg:      newConfig(opts),
		links:    make(map[*link]struct{}),
		down:     make(map[netip.Addr]bool),
		nextPort: 49152,
	}
}

// Listener is an in-memory listener. It implements sctp.Listener.
type Listener struct {
	n        *Network
	addr     sctp.Addr
	tuning   sctp.Tuning
	wildcard bool

	mu      sync.Mutex
	closed  bool
	backlog []*Assoc
	ch      chan struct{}
}

var _ sctp.Listener = (*Listener)(nil)
var _ sctp.Transport = (*Network)(nil)

// Listen binds a listener to addr with the network's tuning. An address with
// no IP (or an unspecified one) accepts associations to any IP at its port;
// port 0 picks a free port.
func (n *Network) Listen(addr sctp.Addr) (sctp.Listener, error) {
	return n.ListenConfig(addr, sctp.Config{})
}

// ListenConfig is Listen with the endpoint's own tuning; a zero Tuning means
// the network's.
func (n *Network) ListenConfig(addr sctp.Addr, cfg sctp.Config) (sctp.Listener, error) {
	addr = normAddr(addr)
	ln := &Listener{n: n, tuning: n.tuning(cfg), ch: make(chan struct{})}
	for _, ip := range addr.IPs {
		if ip.IsUnspecified() {
			ln.wildcard = true
		}
	}
	if ln.wildcard || len(addr.IPs) == 0 {
		ln.wildcard = true
		addr.IPs = nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if addr.Port == 0 {
		addr.Port = n.ephemeralPort()
	}
	ln.addr = addr
	for _, o := range n.listeners {
		if o.addr.Port == addr.Port && (o.wildcard || ln.wildcard || overlap(o.addr.IPs, addr.IPs)) {
			return nil, fmt.Errorf("sctptest: listen %s: %w", addr, syscall.EADDRINUSE)
		}
	}
	n.listeners = append(n.listeners, ln)
	return ln, nil
}

// Accept implements sctp.Listener. The association is already established
// (EventCommUp is waiting in it), as with the kernel's backlog.
func (ln *Listener) Accept() (sctp.Association, error) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	for {
		if ln.closed {
			return nil, sctp.ErrClosed
		}
		if len(ln.backlog) > 0 {
			a := ln.backlog[0]
			ln.backlog[0] = nil
			ln.backlog = ln.backlog[1:]
			return a, nil
		}
		ch := ln.ch
		ln.mu.Unlock()
		<-ch
		ln.mu.Lock()
	}
}

// Close implements sctp.Listener: it unblocks Accept and aborts the
// associations not yet accepted. Accepted associations are not affected.
// Closing again does nothing.
func (ln *Listener) Close() error {
	ln.mu.Lock()
	if ln.closed {
		ln.mu.Unlock()
		return nil
	}
	ln.closed = true
	close(ln.ch)
	backlog := ln.backlog
	ln.backlog = nil
	ln.mu.Unlock()

	ln.n.mu.Lock()
	ln.n.listeners = slices.DeleteFunc(ln.n.listeners, func(o *Listener) bool { return o == ln })
	ln.n.mu.Unlock()
	for _, a := range backlog {
		a.Abort()
	}
	return nil
}

// Addr implements sctp.Listener.
func (ln *Listener) Addr() sctp.Addr { return cloneAddr(ln.addr) }

// Dial establishes an association from laddr to the listener at raddr with
// the network's tuning. An laddr without IPs uses 127.0.0.1; port 0 picks a
// free port. The first IP of raddr becomes the primary path. Dial fails at
// once with ECONNREFUSED when nothing listens at raddr, and with ETIMEDOUT
// when no path between the two is up.
func (n *Network) Dial(ctx context.Context, laddr, raddr sctp.Addr) (sctp.Association, error) {
	return n.DialConfig(ctx, laddr, raddr, sctp.Config{})
}

// DialConfig is Dial with the endpoint's own tuning; a zero Tuning means the
// network's.
func (n *Network) DialConfig(ctx context.Context, laddr, raddr sctp.Addr, cfg sctp.Config) (sctp.Association, error) {
	a, err := n.dial(ctx, laddr, raddr, n.tuning(cfg))
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (n *Network) dial(ctx context.Context, laddr, raddr sctp.Addr, tuning sctp.Tuning) (*Assoc, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	laddr, raddr = normAddr(laddr), normAddr(raddr)
	if len(raddr.IPs) == 0 {
		return nil, fmt.Errorf("sctptest: dial %s: no IP address", raddr)
	}
	if len(laddr.IPs) == 0 {
		laddr.IPs = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var ln *Listener
	for _, o := range n.listeners {
		if o.addr.Port == raddr.Port && (o.wildcard || overlap(o.addr.IPs, raddr.IPs)) {
			ln = o
			break
		}
	}
	if ln == nil {
		return nil, fmt.Errorf("sctptest: dial %s: %w", raddr, syscall.ECONNREFUSED)
	}
	if laddr.Port == 0 {
		laddr.Port = n.ephemeralPort()
	}
	// The peer's addresses: the listener's, the dialed one first.
	peer := sctp.Addr{Port: raddr.Port}
	if ln.wildcard {
		peer.IPs = raddr.IPs
	} else {
		first := raddr.IPs[slices.IndexFunc(raddr.IPs, func(ip netip.Addr) bool { return slices.Contains(ln.addr.IPs, ip) })]
		peer.IPs = append([]netip.Addr{first}, slices.DeleteFunc(slices.Clone(ln.addr.IPs), func(ip netip.Addr) bool { return ip == first })...)
	}
	up := func(ips []netip.Addr) bool {
		return slices.ContainsFunc(ips, func(ip netip.Addr) bool { return !n.down[ip] })
	}
	if !up(laddr.IPs) || !up(peer.IPs) {
		return nil, fmt.Errorf("sctptest: dial %s: no path up: %w", raddr, syscall.ETIMEDOUT)
	}
	n.nlinks++
	l := newLink(n, n.cfg, laddr, peer, tuning, ln.tuning, n.nlinks)
	for ip := range n.down {
		l.down[ip] = true
	}
	ln.mu.Lock()
	if ln.closed {
		ln.mu.Unlock()
		return nil, fmt.Errorf("sctptest: dial %s: %w", raddr, syscall.ECONNREFUSED)
	}
	ln.backlog = append(ln.backlog, l.ends[1])
	close(ln.ch)
	ln.ch = make(chan struct{})
	ln.mu.Unlock()
	n.links[l] = struct{}{}
	return l.ends[0], nil
}

// FailPath takes host address ip down for every association that uses it,
// now and later (see Assoc.FailPath for what the associations report).
func (n *Network) FailPath(ip netip.Addr) { n.setPath(ip, true) }

// RestorePath brings host address ip back up.
func (n *Network) RestorePath(ip netip.Addr) { n.setPath(ip, false) }

func (n *Network) setPath(ip netip.Addr, down bool) {
	ip = ip.Unmap()
	n.mu.Lock()
	if down {
		n.down[ip] = true
	} else {
		delete(n.down, ip)
	}
	links := make([]*link, 0, len(n.links))
	for l := range n.links {
		links = append(links, l)
	}
	n.mu.Unlock()
	for _, l := range links {
		l.mu.Lock()
		if l.uses(ip) {
			l.setDown(ip, down)
		}
		l.mu.Unlock()
	}
}

// forget removes a finished link. The caller holds l.mu.
func (n *Network) forget(l *link) {
	n.mu.Lock()
	delete(n.links, l)
	n.mu.Unlock()
}

func (n *Network) tuning(cfg sctp.Config) sctp.Tuning {
	if cfg.Tuning == (sctp.Tuning{}) {
		return effective(n.cfg.tuningA)
	}
	return effective(cfg.Tuning)
}

// ephemeralPort returns a port no listener uses. The caller holds n.mu.
func (n *Network) ephemeralPort() uint16 {
	for {
		p := n.nextPort
		n.nextPort++
		if n.nextPort == 0 {
			n.nextPort = 49152
		}
		if !slices.ContainsFunc(n.listeners, func(l *Listener) bool { return l.addr.Port == p }) {
			return p
		}
	}
}

// newLink builds an established association between a (the dialer, at
// aAddr) and b (at bAddr), both with EventCommUp queued.
func newLink(n *Network, cfg config, aAddr, bAddr sctp.Addr, ta, tb sctp.Tuning, stream uint64) *link {
	l := &link{
		net:      n,
		clock:    cfg.clock,
		rng:      rand.New(rand.NewPCG(cfg.seed, stream)),
		down:     make(map[netip.Addr]bool),
		deadPeer: cfg.deadPeer,
	}
	if l.deadPeer <= 0 {
		l.deadPeer = ta.Bounds().PeerDead
	}
	aOut := min(ta.OutStreams, tb.MaxInStreams)
	bOut := min(tb.OutStreams, ta.MaxInStreams)
	a := &Assoc{l: l, side: 0, local: aAddr, peer: bAddr, in: bOut, out: aOut, tuning: ta, rcvbuf: cfg.rcvbuf}
	b := &Assoc{l: l, side: 1, local: bAddr, peer: aAddr, in: aOut, out: bOut, tuning: tb, rcvbuf: cfg.rcvbuf}
	l.ends = [2]*Assoc{a, b}
	for i, e := range l.ends {
		e.primary = e.peer.IPs[0]
		e.rcvCh = make(chan struct{})
		e.sndCh = make(chan struct{})
		l.dirs[i] = &dir{from: e, to: l.ends[1-i], loss: cfg.loss, delay: cfg.delay, lastAt: make([]time.Time, e.out)}
		e.pushEvent(sctp.Event{Kind: sctp.EventCommUp, InStreams: e.in, OutStreams: e.out})
	}
	return l
}

// uses reports whether ip is an address of either end.
func (l *link) uses(ip netip.Addr) bool {
	return slices.Contains(l.ends[0].local.IPs, ip) || slices.Contains(l.ends[0].peer.IPs, ip)
}

// Pair returns the two ends of a new established association, each with
// EventCommUp waiting. The first end dialed the second. Both are *Assoc, so
// that a test can inject faults; they implement sctp.Association.
//
// Pair panics if the options describe an impossible association (an
// address without IPs, or every path down).
func Pair(opts ...Option) (a, b *Assoc) {
	n := NewNetwork(opts...)
	cfg := n.cfg
	ln, err := n.ListenConfig(cfg.addrB, sctp.Config{Tuning: effective(cfg.tuningB)})
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	a, err = n.dial(context.Background(), cfg.addrA, cfg.addrB, effective(cfg.tuningA))
	if err != nil {
		panic(err)
	}
	bb, err := ln.Accept()
	if err != nil {
		panic(err)
	}
	return a, bb.(*Assoc)
}

func normAddr(a sctp.Addr) sctp.Addr {
	a.IPs = slices.Clone(a.IPs)
	for i, ip := range a.IPs {
		a.IPs[i] = ip.Unmap()
	}
	return a
}

func overlap(x, y []netip.Addr) bool {
	return slices.ContainsFunc(x, func(ip netip.Addr) bool { return slices.Contains(y, ip) })
}

// ips parses addresses; for package defaults and tests only.
func ips(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}
