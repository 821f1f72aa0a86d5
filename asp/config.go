package asp

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Defaults.
const (
	// DefaultCapacity is how many dialogues at once count as full load.
	DefaultCapacity = 1000
	// DefaultLoadStep is the load change (in percent of capacity) that
	// makes the element register its load again at once.
	DefaultLoadStep = 5.0
	// DefaultDialogueTimeout is how long a dialogue may stay without a
	// message in either direction before the server gives it up.
	DefaultDialogueTimeout = 30 * time.Second
	// DefaultSI is the service indicator of SCCP (Q.704 14.2.1).
	DefaultSI = 3
)

// Config configures one application server process: one M3UA ASP with an
// association to every gateway, and one pool element registered with the
// gateways' registrars.
type Config struct {
	// Transport opens the associations (sctp.Kernel{...} in production,
	// an sctptest.Network in tests).
	Transport sctp.Transport
	// Local holds the local addresses (several IPs: multihomed) that every
	// association is dialed from; its IPs are also the user transport the
	// element registers. Port 0: any.
	Local sctp.Addr
	// Gateways are the gateways' M3UA addresses (their server side, port
	// 2906 by convention), each with all its IPs.
	Gateways []sctp.Addr
	// Registrars are the ASAP addresses of the registrars embedded in the
	// gateways (port 3863).
	Registrars []sctp.Addr

	// PoolHandle is the pool of the service's application servers.
	PoolHandle []byte
	// Policy is the pool member selection policy registered; zero: Least
	// Used. Capacity is how many dialogues at once are 100 % load;
	// LoadStep (percent) is the load change registered at once.
	Policy   rserpool.PolicyType
	Capacity int
	LoadStep float64
	// PEID is the pool element identifier to start with; 0 draws a random
	// one. A registrar that refuses it as non-unique (its tag, the low 16
	// bits, is taken in the pool) makes the server draw another.
	PEID uint32

	// RC is the routing context of the service AS the ASP activates; with
	// HasRC false the ASP activates whatever the gateway configured for it.
	RC    uint32
	HasRC bool
	// Key, when set, is registered with RKM (REG REQ) instead of relying
	// on a configured routing context.
	Key *m3ua.RoutingKey
	// Beat is M3UA BEAT towards the gateways (off by default: SCTP's
	// heartbeats watch the paths).
	Beat m3ua.BeatConfig

	// DialogueTimeout is how long a dialogue may stay idle (no message
	// either way) before the server aborts it.
	DialogueTimeout time.Duration

	// PE tunes the pool element (timers, hunt); PoolHandle, Element and
	// LoadStep are filled in from the fields above.
	PE rserpool.PEConfig

	// Logger receives the server's logs; nil: none.
	Logger *zap.Logger
	// Rand draws PE identifiers and the first transaction counter; nil:
	// seeded from the runtime.
	Rand *rand.Rand
}

// Validate checks the configuration and returns every problem found, each
// naming its field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if c.Transport == nil {
		bad("transport", "required")
	}
	if len(c.Local.IPs) == 0 {
		bad("local", "at least one local IP address (registered as the element's user transport)")
	}
	if len(c.Gateways) == 0 {
		bad("gateways", "at least one gateway M3UA address")
	}
	for i, g := range c.Gateways {
		if len(g.IPs) == 0 || g.Port == 0 {
			bad(fmt.Sprintf("gateways[%d]", i), "%v needs an IP and a port", g)
		}
	}
	if len(c.Registrars) == 0 {
		bad("registrars", "at least one registrar ASAP address")
	}
	for i, r := range c.Registrars {
		if len(r.IPs) == 0 || r.Port == 0 {
			bad(fmt.Sprintf("registrars[%d]", i), "%v needs an IP and a port", r)
		}
	}
	if len(c.PoolHandle) == 0 {
		bad("pool", "the pool handle is required")
	}
	if c.Policy != 0 && !c.Policy.Known() {
		bad("policy", "unknown policy %v", c.Policy)
	}
	if c.Capacity < 0 {
		bad("capacity", "%d is negative", c.Capacity)
	}
	if c.Capacity > 1<<16 {
		bad("capacity", "%d exceeds the 65536 transaction ids of one tag", c.Capacity)
	}
	if c.LoadStep < 0 || c.LoadStep > 100 {
		bad("load_step", "%v is not a percentage", c.LoadStep)
	}
	if c.DialogueTimeout < 0 {
		bad("dialogue_timeout", "%v is negative", c.DialogueTimeout)
	}
	if c.Key != nil && c.HasRC {
		bad("rc", "give a routing context or a routing key to register, not both")
	}
	return errors.Join(errs...)
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Policy == 0 {
		c.Policy = rserpool.LeastUsed
	}
	if c.Capacity == 0 {
		c.Capacity = DefaultCapacity
	}
	if c.LoadStep == 0 {
		c.LoadStep = DefaultLoadStep
	}
	if c.DialogueTimeout == 0 {
		c.DialogueTimeout = DefaultDialogueTimeout
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Rand == nil {
		c.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return c
}
