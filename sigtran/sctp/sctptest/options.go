package sctptest

import (
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// DefaultRecvBuffer is the default size, in bytes, of each endpoint's receive
// buffer: the user data a sender may have outstanding (in flight or unread)
// towards it before Send blocks.
const DefaultRecvBuffer = 256 * 1024

// Option configures a Pair or a Network.
type Option func(*config)

type config struct {
	clock    Clock
	seed     uint64
	loss     float64
	delay    time.Duration
	rcvbuf   int
	deadPeer time.Duration
	tuningA  sctp.Tuning // Pair: the dialing side; Network: every endpoint
	tuningB  sctp.Tuning // Pair: the accepting side
	addrA    sctp.Addr
	addrB    sctp.Addr
}

func newConfig(opts []Option) config {
	c := config{
		clock:   realClock{},
		seed:    1,
		rcvbuf:  DefaultRecvBuffer,
		tuningA: sctp.Telecom,
		tuningB: sctp.Telecom,
		addrA:   sctp.Addr{IPs: ips("10.0.1.1", "10.0.2.1"), Port: 2905},
		addrB:   sctp.Addr{IPs: ips("10.0.1.2", "10.0.2.2"), Port: 2905},
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithClock makes every delay, timer and deadline use c instead of the real
// clock.
func WithClock(c Clock) Option { return func(cf *config) { cf.clock = c } }

// WithSeed seeds the random number generator that decides packet loss. The
// same seed and the same sequence of calls give the same losses. The default
// seed is 1.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithLoss makes each transmission of a message in either direction be lost
// with probability p (0 <= p < 1). A lost transmission is retransmitted after
// the retransmission timeout, doubling on each further loss, as SCTP does:
// loss delays messages, it never drops them. See Assoc.SetLoss for one
// direction.
func WithLoss(p float64) Option { return func(c *config) { c.loss = p } }

// WithDelay adds a one-way delay d to every message in either direction. See
// Assoc.SetDelay for one direction.
func WithDelay(d time.Duration) Option { return func(c *config) { c.delay = d } }

// WithRecvBuffer sets each endpoint's receive buffer to n bytes (default
// DefaultRecvBuffer). Send blocks while the user data outstanding towards the
// peer would exceed the peer's buffer, and rejects a single message larger
// than it.
func WithRecvBuffer(n int) Option { return func(c *config) { c.rcvbuf = n } }

// WithDeadPeer sets how long all paths of an association must be down before
// both sides declare it lost (EventCommLost). The default is the tuning's
// Bounds().PeerDead (750ms for sctp.Telecom).
func WithDeadPeer(d time.Duration) Option { return func(c *config) { c.deadPeer = d } }

// WithTuning sets the tuning of both endpoints of a Pair, or the default
// tuning of a Network's endpoints. Only the stream counts and the RTO bounds
// matter here; zero fields keep sctp.Telecom's values.
func WithTuning(t sctp.Tuning) Option {
	return func(c *config) { c.tuningA, c.tuningB = t, t }
}

// WithTunings sets the tunings of a Pair's two endpoints separately: a for the
// first association Pair returns, b for the second.
func WithTunings(a, b sctp.Tuning) Option {
	return func(c *config) { c.tuningA, c.tuningB = a, b }
}

// WithAddrs sets the addresses of a Pair's two endpoints. The defaults are
// 10.0.1.1+10.0.2.1:2905 and 10.0.1.2+10.0.2.2:2905: two paths each way.
func WithAddrs(a, b sctp.Addr) Option {
	return func(c *config) { c.addrA, c.addrB = a, b }
}

// effective fills the zero fields of t from sctp.Telecom.
func effective(t sctp.Tuning) sctp.Tuning {
	d := sctp.Telecom
	if t.RTOInitial == 0 {
		t.RTOInitial = d.RTOInitial
	}
	if t.RTOMin == 0 {
		t.RTOMin = d.RTOMin
	}
	if t.RTOMax == 0 {
		t.RTOMax = d.RTOMax
	}
	if t.HeartbeatInterval == 0 {
		t.HeartbeatInterval = d.HeartbeatInterval
	}
	if t.PathMaxRetrans == 0 {
		t.PathMaxRetrans = d.PathMaxRetrans
	}
	if t.AssocMaxRetrans == 0 {
		t.AssocMaxRetrans = d.AssocMaxRetrans
	}
	if t.OutStreams == 0 {
		t.OutStreams = d.OutStreams
	}
	if t.MaxInStreams == 0 {
		t.MaxInStreams = d.MaxInStreams
	}
	return t
}
