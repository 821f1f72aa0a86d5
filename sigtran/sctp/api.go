package sctp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// MaxMessage is the largest user message the layer promises to carry whole.
const MaxMessage = 64 * 1024

// Addr is an SCTP transport address: one port and one or more IP addresses
// (more than one when the endpoint is multihomed). The first IP is the
// preferred one (the primary path when dialing).
type Addr struct {
	IPs  []netip.Addr
	Port uint16
}

// String formats the address as "ip1+ip2:port" ("[v6a]+[v6b]:port" for IPv6).
func (a Addr) String() string {
	var b strings.Builder
	for i, ip := range a.IPs {
		if i > 0 {
			b.WriteByte('+')
		}
		if ip.Is6() && !ip.Is4In6() {
			b.WriteByte('[')
			b.WriteString(ip.String())
			b.WriteByte(']')
		} else {
			b.WriteString(ip.String())
		}
	}
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(int(a.Port)))
	return b.String()
}

// ParseAddr parses "ip1+ip2+...:port", the form String produces. IPv6
// addresses are written in brackets.
func ParseAddr(s string) (Addr, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return Addr{}, fmt.Errorf("sctp: address %q: missing port (want ip[+ip...]:port)", s)
	}
	port, err := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil {
		return Addr{}, fmt.Errorf("sctp: address %q: bad port: %w", s, err)
	}
	a := Addr{Port: uint16(port)}
	if s[:i] == "" {
		return Addr{}, fmt.Errorf("sctp: address %q: no IP address", s)
	}
	for _, part := range strings.Split(s[:i], "+") {
		part = strings.TrimSuffix(strings.TrimPrefix(part, "["), "]")
		ip, err := netip.ParseAddr(part)
		if err != nil {
			return Addr{}, fmt.Errorf("sctp: address %q: %w", s, err)
		}
		a.IPs = append(a.IPs, ip.Unmap())
	}
	return a, nil
}

// Message is one whole SCTP user message.
type Message struct {
	Stream    uint16
	PPID      uint32 // host order here; the layer puts it on the wire in network order
	Unordered bool
	Data      []byte
}

// EventKind says what an Event reports.
type EventKind uint8

// The events an association reports. Notifications never surface as user data.
const (
	EventCommUp                EventKind = iota + 1 // association established
	EventCommLost                                   // association lost (peer dead, ABORT received, retransmissions exhausted)
	EventRestart                                    // peer restarted (new INIT on a live association)
	EventShutdown                                   // peer shut the association down gracefully
	EventCantStart                                  // association could not be set up
	EventAddrAvailable                              // a peer address became reachable
	EventAddrUnreachable                            // a peer address became unreachable (path failure)
	EventAddrMadePrimary                            // a peer address was made the primary path
	EventAddrAdded                                  // a peer address was added (ASCONF)
	EventAddrRemoved                                // a peer address was removed (ASCONF)
	EventAddrPotentiallyFailed                      // a peer address entered the potentially-failed state (RFC 7829)
	EventSendFailed                                 // a message could not be delivered; Unsent carries it
)

var eventNames = [...]string{
	EventCommUp:                "comm-up",
	EventCommLost:              "comm-lost",
	EventRestart:               "restart",
	EventShutdown:              "shutdown",
	EventCantStart:             "cant-start",
	EventAddrAvailable:         "addr-available",
	EventAddrUnreachable:       "addr-unreachable",
	EventAddrMadePrimary:       "addr-made-primary",
	EventAddrAdded:             "addr-added",
	EventAddrRemoved:           "addr-removed",
	EventAddrPotentiallyFailed: "addr-potentially-failed",
	EventSendFailed:            "send-failed",
}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// Event is a typed association notification.
type Event struct {
	Kind EventKind
	// Addr is the peer address concerned, for the address events.
	Addr netip.Addr
	// Error is the code the kernel attached, or 0: on comm-lost and
	// cant-start the SCTP error cause of the ABORT, on send-failed the
	// kernel's reason, on address events the kernel's reason (Linux: the
	// heartbeat result).
	Error uint32
	// InStreams and OutStreams are the negotiated stream counts, on comm-up
	// and restart.
	InStreams, OutStreams uint16
	// Unsent is the message that was not delivered, on send-failed. Its Data
	// is owned by the event.
	Unsent *Message
}

func (e Event) String() string {
	s := e.Kind.String()
	if e.Addr.IsValid() {
		s += " " + e.Addr.String()
	}
	if e.Error != 0 && (e.Kind == EventCommLost || e.Kind == EventCantStart || e.Kind == EventSendFailed) {
		s += " cause=" + strconv.FormatUint(uint64(e.Error), 10)
	}
	if e.Kind == EventCommUp || e.Kind == EventRestart {
		s += fmt.Sprintf(" streams=%d/%d", e.InStreams, e.OutStreams)
	}
	if e.Unsent != nil {
		s += fmt.Sprintf(" unsent(stream=%d ppid=%d len=%d)", e.Unsent.Stream, e.Unsent.PPID, len(e.Unsent.Data))
	}
	return s
}

// PathState is the state of one path (peer address) of an association.
type PathState uint8

const (
	PathUnconfirmed PathState = iota
	PathActive
	PathInactive
	PathPotentiallyFailed
)

func (s PathState) String() string {
	switch s {
	case PathUnconfirmed:
		return "unconfirmed"
	case PathActive:
		return "active"
	case PathInactive:
		return "inactive"
	case PathPotentiallyFailed:
		return "potentially-failed"
	}
	return "path-state(" + strconv.Itoa(int(s)) + ")"
}

// Path is the status of one peer address.
type Path struct {
	Addr    netip.Addr
	State   PathState
	SRTT    time.Duration
	RTO     time.Duration
	Cwnd    uint32
	MTU     uint32
	Primary bool
}

// Status is an association's state as the stack sees it.
type Status struct {
	State      string // e.g. "established", "shutdown-pending"
	InStreams  uint16
	OutStreams uint16
	Unacked    uint32 // DATA chunks sent but not acknowledged
	Pending    uint32 // DATA chunks waiting to be sent
	Primary    netip.Addr
	Paths      []Path
}

// Association is one SCTP association (one-to-one style). Kernel SCTP
// associations and the in-memory pairs of package sctptest both implement it;
// upper layers see nothing else.
//
// Recv and Send may be called concurrently with each other (one reader, any
// number of writers); Close and the deadline setters unblock them.
//
// How an association ends, as Recv reports it:
//   - this end called Close or Abort: ErrClosed from then on;
//   - the peer shut it down gracefully: what was already received, then
//     EventShutdown once, then io.EOF;
//   - it was lost (the peer aborted, was declared dead, or setup failed):
//     what was already received, then EventCommLost (or EventCantStart),
//     then one EventSendFailed per message that was not delivered, then
//     errors wrapping ErrAssociationLost.
//
// Send fails once the association has ended: ErrClosed after Close or
// Abort, an error wrapping ErrAssociationLost once Recv has reported a
// loss, and another non-nil error (EPIPE) otherwise.
type Association interface {
	// Recv reads the next whole message into buf, or the next event. Exactly
	// one of the results is set: a Message whose Data aliases buf, or an
	// *Event. A message longer than buf is discarded and reported as
	// ErrMessageTooLong; the association stays usable.
	Recv(buf []byte) (Message, *Event, error)
	// Send sends one whole message on its stream with its PPID. It blocks
	// while the send buffer is full, until the write deadline.
	Send(m Message) error
	// SetDeadline, SetReadDeadline and SetWriteDeadline behave as in net.Conn.
	SetDeadline(t time.Time) error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	// Close shuts the association down gracefully (SHUTDOWN) and releases it.
	Close() error
	// Abort ends the association at once (ABORT) and releases it.
	Abort() error
	// LocalAddr and PeerAddr return the bound addresses of both ends.
	LocalAddr() Addr
	PeerAddr() Addr
	// Streams returns the negotiated inbound and outbound stream counts.
	Streams() (in, out uint16)
	// Status reports per-path state, SRTT, RTO, cwnd and the primary path.
	Status() (Status, error)
	// SetPrimary makes the given peer address the primary path.
	SetPrimary(ip netip.Addr) error
}

// Stats are an association's counters since it was established, as the
// kernel keeps them (struct sctp_assoc_stats, SCTP_GET_ASSOC_STATS, Linux
// 3.10 and later). Chunk counts are DATA chunks unless named otherwise.
type Stats struct {
	// RetransmittedChunks counts DATA chunks sent again (timeout or fast
	// retransmission), on any path: a loss indicator of the networks.
	RetransmittedChunks uint64
	PacketsOut          uint64 // SCTP packets sent
	PacketsIn           uint64 // SCTP packets received
	DataChunksOut       uint64 // ordered and unordered
	DataChunksIn        uint64
	UnorderedOut        uint64
	UnorderedIn         uint64
	ControlChunksOut    uint64
	ControlChunksIn     uint64
	SACKsOut            uint64
	SACKsIn             uint64
	GapAcksIn           uint64 // SACKs received with gap ack blocks
	OutOfSequenceTSNs   uint64 // TSNs received above the next expected
	DuplicateChunksIn   uint64
	// MaxRTO is the largest RTO the association used since the previous
	// Stats call (the kernel starts a new observation period at each
	// read), and MaxRTOPeer the peer address it was observed on; zero when
	// no RTO above RTO.Min was seen.
	MaxRTO     time.Duration
	MaxRTOPeer netip.Addr
}

// StatsReader is implemented by associations that keep Stats: kernel
// associations (*Conn) and package sctptest's. It is a separate interface
// so that wrappers of Association need not forward it; ask with
//
//	if sr, ok := as.(sctp.StatsReader); ok { st, err := sr.Stats() }
type StatsReader interface {
	Stats() (Stats, error)
}

// Errors returned by associations.
var (
	ErrMessageTooLong = errors.New("sctp: message longer than the receive buffer")
	ErrClosed         = errors.New("sctp: association closed")
	ErrInvalidStream  = errors.New("sctp: stream id beyond the negotiated outbound streams")
	// ErrAssociationLost is wrapped by the errors Recv and Send return
	// after the association was lost; see Association. The cause the
	// kernel gave (such as syscall.ECONNRESET or syscall.ETIMEDOUT) is
	// wrapped too.
	ErrAssociationLost = errors.New("sctp: association lost")
	ErrNoSCTP          = errors.New("sctp: kernel has no SCTP support (EPROTONOSUPPORT); run under the lab: siglab test / siglab run")
)

// LostError is the error Recv and Send return after the association was
// lost. It matches ErrAssociationLost and unwraps to its cause.
type LostError struct {
	Op    string // "recv" or "send"
	Cause error
}

func (e *LostError) Error() string {
	return "sctp: " + e.Op + ": association lost: " + e.Cause.Error()
}

// Is makes errors.Is(err, ErrAssociationLost) hold.
func (e *LostError) Is(target error) bool { return target == ErrAssociationLost }

// Unwrap returns the cause.
func (e *LostError) Unwrap() error { return e.Cause }

// Tuning is the set of per-endpoint SCTP parameters the layer sets. Zero
// fields keep the kernel's value.
type Tuning struct {
	Name              string
	RTOInitial        time.Duration
	RTOMin            time.Duration
	RTOMax            time.Duration
	HeartbeatInterval time.Duration
	PathMaxRetrans    int
	AssocMaxRetrans   int
	OutStreams        uint16
	MaxInStreams      uint16
	InitMaxAttempts   int
	InitMaxTimeout    time.Duration
	SackDelay         time.Duration
	NoDelay           bool
}

// RFC is RFC 4960's (RFC 9260's) recommended protocol parameters (section
// 15/16): the Internet defaults, tuned for wide-area paths.
var RFC = Tuning{
	Name:              "rfc",
	RTOInitial:        3 * time.Second,
	RTOMin:            1 * time.Second,
	RTOMax:            60 * time.Second,
	HeartbeatInterval: 30 * time.Second,
	PathMaxRetrans:    5,
	AssocMaxRetrans:   10,
	OutStreams:        17,
	MaxInStreams:      17,
	InitMaxAttempts:   8,
	InitMaxTimeout:    60 * time.Second,
	SackDelay:         200 * time.Millisecond,
	NoDelay:           false,
}

// Telecom is sigpool's default: timers for a signalling LAN (RTT well under
// 10 ms) so that a dead path or a dead peer is detected well under a second.
// See Tuning.Bounds for what these numbers imply.
var Telecom = Tuning{
	Name:              "telecom",
	RTOInitial:        100 * time.Millisecond,
	RTOMin:            50 * time.Millisecond,
	RTOMax:            150 * time.Millisecond,
	HeartbeatInterval: 100 * time.Millisecond,
	PathMaxRetrans:    2,
	AssocMaxRetrans:   4,
	OutStreams:        17,
	MaxInStreams:      17,
	InitMaxAttempts:   8,
	InitMaxTimeout:    1 * time.Second,
	SackDelay:         10 * time.Millisecond,
	NoDelay:           true,
}

// Profile returns the named tuning profile: "telecom" (the default when name
// is empty) or "rfc".
func Profile(name string) (Tuning, error) {
	switch name {
	case "", "telecom":
		return Telecom, nil
	case "rfc":
		return RFC, nil
	}
	return Tuning{}, fmt.Errorf("sctp: unknown tuning profile %q (known: telecom, rfc)", name)
}

// Bounds are the worst-case failure-detection times a tuning implies, for
// the Linux kernel with potentially-failed handling (threshold 0) as this
// package configures it. See Tuning.Bounds (tuning.go) for the model and
// TUNING.md for the figures of both profiles.
type Bounds struct {
	// PathSwitch is the longest time from a path failure to the first
	// retransmission on an alternate path while data is flowing: one T3-rtx
	// expiry at the largest RTO (the kernel's potentially-failed handling
	// moves traffic after the first expiry).
	PathSwitch time.Duration
	// PathDown is the longest time for a path carrying data to be declared
	// inactive: the first T3-rtx expiry moves it to potentially-failed,
	// after which only heartbeats (sent every RTO, without HB.interval)
	// probe it until Path.Max.Retrans is exceeded.
	PathDown time.Duration
	// PathDownIdle is the same for an idle path, probed by heartbeats: an
	// unanswered heartbeat counts as an error only when the next one is
	// sent, so Path.Max.Retrans+2 heartbeat intervals.
	PathDownIdle time.Duration
	// PeerDead is the longest time to declare an association lost when the
	// peer goes silent while data is flowing: Association.Max.Retrans+1
	// expiries at RTO.Max.
	PeerDead time.Duration
	// PeerDeadIdle is the same for an idle association: the heartbeats of
	// one path alone must exhaust Association.Max.Retrans
	// (Association.Max.Retrans+2 heartbeat intervals).
	PeerDeadIdle time.Duration
}

// Config configures an endpoint (a listener or a dialer).
type Config struct {
	// Tuning is applied to every association of the endpoint. The zero value
	// means Telecom.
	Tuning Tuning
}

// Listener accepts associations. Kernel listeners and the in-memory ones of
// package sctptest both implement it.
type Listener interface {
	// Accept waits for the next association; Close unblocks it.
	Accept() (Association, error)
	Close() error
	Addr() Addr
}

// Transport opens associations. Upper layers take one so the same code runs
// over kernel SCTP (Kernel) and over the in-memory network of package
// sctptest.
type Transport interface {
	Listen(laddr Addr) (Listener, error)
	Dial(ctx context.Context, laddr, raddr Addr) (Association, error)
}
