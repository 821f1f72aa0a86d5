package enrp

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Defaults. sigpool's are chosen for telecom availability: a registrar
// that dies has its elements taken over, and an element that dies is
// removed, within about 2 s on a LAN. The RFCs' and rsplib 3.4.4's values
// are given beside them.
//
//	parameter                   sigpool   rsplib 3.4.4   RFC 5352/5353
//	endpoint keep-alive         1 s       5 s            (implementation)
//	endpoint keep-alive timeout 1 s       5 s            (implementation)
//	MAX-BAD-PE-REPORT           3         3              3
//	bad-report window           10 s      —              —
//	MaxHResItems                3         3              —
//	peer heartbeat cycle        250 ms    2.444 s        30 s
//	max-time-last-heard         600 ms    5 s            61 s
//	max-time-no-response        300 ms    (see above)    5 s
//	takeover expiry             500 ms    5 s            —
//	mentor hunt                 1 s       —              —
//
// Takeover bound: last-heard (0.6 s) + no-response (0.3 s) after the last
// message from the dead peer, then one ENRP round trip for the acks (the
// expiry, 0.5 s, only when a peer does not answer), then one ASAP round trip
// for the keep-alive with the H flag: 0.9–1.7 s. An element's failure is
// noticed within keep-alive + timeout = 2 s (at once when its association
// breaks).
const (
	DefaultKeepAlive         = 1 * time.Second
	DefaultKeepAliveTimeout  = 1 * time.Second
	DefaultMaxBadPEReport    = 3
	DefaultReportWindow      = 10 * time.Second
	DefaultMaxHResItems      = 3
	DefaultMaxHResLimit      = 64
	DefaultPeerHeartbeat     = 250 * time.Millisecond
	DefaultMaxTimeLastHeard  = 600 * time.Millisecond
	DefaultMaxTimeNoResponse = 300 * time.Millisecond
	DefaultTakeoverExpiry    = 500 * time.Millisecond
	DefaultMentorHunt        = 1 * time.Second
	DefaultRedial            = 500 * time.Millisecond
	DefaultTableElements     = 128
	DefaultResolutionRate    = 1000 // per second and association
	DefaultResolutionBurst   = 200
	DefaultReportRate        = 10
	DefaultReportBurst       = 10
)

// Config configures a registrar. Zero values take the defaults above.
type Config struct {
	// ServerID is the registrar's identifier (RFC 5353): non-zero and
	// unique in the operation scope; it also arbitrates takeovers (the
	// higher identifier wins).
	ServerID uint32
	// ENRPTransport is where peers reach this registrar, sent in its
	// presence and list responses; ASAPTransport where pool elements and
	// users do (server announces). Either may be left empty.
	ENRPTransport rserpool.Transport
	ASAPTransport rserpool.Transport
	// Peers is the static list of peer registrars' ENRP addresses.
	Peers []sctp.Addr

	KeepAlive        time.Duration // endpoint keep-alive interval
	KeepAliveTimeout time.Duration // wait for the keep-alive ack
	// MaxBadPEReport: an element reported unreachable by that many
	// different pool users (by address) within ReportWindow is removed.
	// Reports from the same pool user count once per window, so that one
	// pool user cannot impeach an element by itself.
	MaxBadPEReport int
	ReportWindow   time.Duration
	// MaxHResItems is how many elements a handle resolution returns when
	// the pool user does not say (Handle Resolution Option); the option is
	// honoured up to MaxHResLimit.
	MaxHResItems int
	MaxHResLimit int

	PeerHeartbeat     time.Duration
	MaxTimeLastHeard  time.Duration
	MaxTimeNoResponse time.Duration
	TakeoverExpiry    time.Duration
	MentorHunt        time.Duration
	// Redial is the pause before a lost static peer is dialed again.
	Redial time.Duration
	// TableElements bounds the elements of one handle table response;
	// more are sent in further responses (M flag).
	TableElements int

	// Rate limits per ASAP association (token buckets): handle
	// resolutions and endpoint-unreachable reports per second, and bursts.
	ResolutionRate, ResolutionBurst int
	ReportRate, ReportBurst         int

	// Allow, when not empty, lists the networks pool elements may register
	// from; a registration from elsewhere is refused with Rejected due to
	// Security Considerations.
	Allow []netip.Prefix

	// TagBits, when not zero, makes the low TagBits bits of a PE
	// identifier a tag unique within its pool: a registration whose tag
	// equals that of another live element of the pool (another identifier)
	// is refused with Non-unique PE Identifier, and identifiers the
	// registrar draws avoid the tags in use. The gateway sets 16: the tag
	// names a dialogue's owner in its transaction ids (docs/gateway.md).
	TagBits int

	// Rand draws PE identifiers and drives randomized policies; nil: a
	// fixed seed derived from ServerID.
	Rand *rand.Rand
}

func (c *Config) defaults() {
	d := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	i := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	d(&c.KeepAlive, DefaultKeepAlive)
	d(&c.KeepAliveTimeout, DefaultKeepAliveTimeout)
	i(&c.MaxBadPEReport, DefaultMaxBadPEReport)
	d(&c.ReportWindow, DefaultReportWindow)
	i(&c.MaxHResItems, DefaultMaxHResItems)
	i(&c.MaxHResLimit, DefaultMaxHResLimit)
	d(&c.PeerHeartbeat, DefaultPeerHeartbeat)
	d(&c.MaxTimeLastHeard, DefaultMaxTimeLastHeard)
	d(&c.MaxTimeNoResponse, DefaultMaxTimeNoResponse)
	d(&c.TakeoverExpiry, DefaultTakeoverExpiry)
	d(&c.MentorHunt, DefaultMentorHunt)
	d(&c.Redial, DefaultRedial)
	i(&c.TableElements, DefaultTableElements)
	i(&c.ResolutionRate, DefaultResolutionRate)
	i(&c.ResolutionBurst, DefaultResolutionBurst)
	i(&c.ReportRate, DefaultReportRate)
	i(&c.ReportBurst, DefaultReportBurst)
	if c.Rand == nil {
		c.Rand = rand.New(rand.NewPCG(uint64(c.ServerID), 0x5eed))
	}
}
