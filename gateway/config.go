package gateway

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sigpool/sigpool/internal/config"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Config is the gateway's configuration file (YAML), as cmd/sgw reads it.
// Field names are the YAML keys; see examples/sgw-rack1.yaml.
type Config struct {
	// GatewayID names this gateway; it is also the embedded registrar's
	// ENRP server ID, so it must be non-zero and unique in the cluster.
	GatewayID uint32 `yaml:"gateway_id"`
	LogLevel  string `yaml:"log_level"` // debug, info (default), warn, error
	// Mgmt is the management listener (metrics, alarms), host:port; empty:
	// none.
	Mgmt string `yaml:"mgmt"`
	// Tuning is the SCTP timer profile: telecom (default) or rfc.
	Tuning string `yaml:"tuning"`

	Network   NetworkSide     `yaml:"network"`
	Servers   ServerSide      `yaml:"servers"`
	Registrar RegistrarConfig `yaml:"registrar"`
	Services  []Service       `yaml:"services"`
	Limits    Limits          `yaml:"limits"`
}

// NetworkSide is the M3UA SGP the SS7 network nodes (STPs, SEPs) connect to.
type NetworkSide struct {
	// Listen is the SCTP address, "ip1+ip2:port" (multihomed), port 2905
	// by convention.
	Listen string `yaml:"listen"`
	// NetworkAppearance, when set, is the NA of this SGP.
	NetworkAppearance *uint32 `yaml:"network_appearance"`
	// Beat is the M3UA BEAT interval toward network nodes; 0: off (SCTP
	// heartbeats detect dead peers).
	Beat time.Duration `yaml:"beat"`
	// ASes are the network application servers: traffic from the
	// application servers to one of Their point codes goes to them.
	ASes []NetworkAS `yaml:"ases"`
}

// NetworkAS is one group of network nodes served as an M3UA AS.
type NetworkAS struct {
	Name string `yaml:"name"`
	RC   uint32 `yaml:"rc"`
	// PointCodes are the destinations reached through this AS (the nodes'
	// own point codes, or everything behind an STP).
	PointCodes []uint32 `yaml:"point_codes"`
	// Mode is the traffic mode: loadshare (default) or override.
	Mode string `yaml:"mode"`
}

// ServerSide is the M3UA SGP the application server processes connect to.
type ServerSide struct {
	Listen string        `yaml:"listen"` // port 2906 by convention
	Beat   time.Duration `yaml:"beat"`
}

// RegistrarConfig configures the embedded registrar (ASAP + ENRP). Zero
// timers take enrp's defaults.
type RegistrarConfig struct {
	ASAP             string        `yaml:"asap"`  // port 3863 by convention
	ENRP             string        `yaml:"enrp"`  // port 9901 by convention
	Peers            []string      `yaml:"peers"` // the other gateways' ENRP addresses
	Allow            []string      `yaml:"allow"` // networks elements may register from
	KeepAlive        time.Duration `yaml:"keepalive"`
	KeepAliveTimeout time.Duration `yaml:"keepalive_timeout"`
	MaxBadPEReport   int           `yaml:"max_bad_pe_report"`
}

// Service is one service application server: its routing key on the network
// side, its routing context on the server side, and the RSerPool pool whose
// elements are its ASPs.
type Service struct {
	Name string `yaml:"name"`
	// RC is the routing context of the service AS: the application servers
	// activate it, and DATA to them carries it.
	RC uint32 `yaml:"rc"`
	// Pool is the RSerPool pool handle the application servers register
	// under.
	Pool string `yaml:"pool"`
	// Key is the routing key network traffic is matched against.
	Key RoutingKey `yaml:"key"`
	// MinElements raises an alarm while the pool has fewer live elements
	// (default 1: the alarm of an empty pool only).
	MinElements int `yaml:"min_elements"`
}

// RoutingKey matches MTP3 user data from the network. DPC is required; a
// zero SI or SSN and empty lists match anything. SSN needs SI 3 (SCCP).
type RoutingKey struct {
	DPC  uint32   `yaml:"dpc"`
	SI   uint8    `yaml:"si"`
	SSN  uint8    `yaml:"ssn"`
	OPCs []uint32 `yaml:"opcs"`
	// RCs are the routing contexts (network ASes) the data may come in on.
	RCs []uint32 `yaml:"rcs"`
}

// Limits bounds the gateway's memory and its shutdown.
type Limits struct {
	// Queue is the depth of the gateway's input queue (messages); a full
	// queue pushes back on the readers. Default 4096.
	Queue int `yaml:"queue"`
	// Cookies bounds the dialogue state cookies kept (default 100000);
	// CookieLifetime is how long one is kept after its last update
	// (default 5 min).
	Cookies        int           `yaml:"cookies"`
	CookieLifetime time.Duration `yaml:"cookie_lifetime"`
	// Drain bounds the graceful shutdown (SIGTERM): how long dialogues may
	// still finish after the gateway stopped taking new ones. Default 5 s.
	Drain time.Duration `yaml:"drain"`
	// StartupGrace is how long after start the pool alarms (pool-empty,
	// pool-below-minimum) wait for the elements to register and go
	// ASP-ACTIVE; at its end every pool short of its min_elements raises
	// them, whether or not its count changed. Default 5 s (0 takes the
	// default; give 1ms for almost none).
	StartupGrace time.Duration `yaml:"startup_grace"`
	// Unanswered bounds the network messages (Begins, Continues) each
	// element was given and has not answered through this gateway, kept to
	// route them again if it fails (default 4096; beyond it a message is
	// not kept). UnansweredLifetime is how long one is kept (default 3 s):
	// an element failing later than that after a message no longer has it
	// routed again.
	Unanswered         int           `yaml:"unanswered"`
	UnansweredLifetime time.Duration `yaml:"unanswered_lifetime"`
}

// Defaults of Limits.
const (
	DefaultQueue          = 4096
	DefaultCookies        = 100000
	DefaultCookieLifetime = 5 * time.Minute
	DefaultDrain          = 5 * time.Second
	DefaultStartupGrace   = 5 * time.Second
	DefaultUnanswered     = 4096
	DefaultUnansweredLife = 3 * time.Second
)

// FieldError is one problem of a configuration: the field (a YAML path such
// as "services[1].key.ssn") and where it comes from (a line of the file, or
// the flag that set it). It is internal/config's, shared by every daemon.
type FieldError = config.FieldError

// LoadConfig reads and validates a configuration file. Unknown keys, wrong
// types and invalid values are refused with an error naming the file, the
// line and the field ("sgw.yaml:12: limits.cookeis: unknown field ...").
func LoadConfig(path string) (*Config, error) {
	return LoadConfigWith(path, nil)
}

// LoadConfigWith is LoadConfig with command-line flags over the file (o may
// be nil): a flag the user set replaces its field before decoding, and an
// error about that field names the flag.
func LoadConfigWith(path string, o *config.Overrides) (*Config, error) {
	var c Config
	if err := config.Load(path, &c, o); err != nil {
		return nil, err
	}
	return &c, nil
}

// ParseConfig parses and validates the contents of the file named name.
func ParseConfig(name string, b []byte) (*Config, error) {
	var c Config
	if err := config.Parse(name, b, &c, nil); err != nil {
		return nil, err
	}
	return &c, nil
}

func ferr(field, format string, args ...any) error {
	return config.Errorf(field, format, args...)
}

// MaxPointCode is the largest ITU point code (14 bits).
const MaxPointCode = 1<<14 - 1

// Validate checks the configuration and fills in defaults. Its errors are
// *FieldError naming the field.
func (c *Config) Validate() error {
	if c.GatewayID == 0 {
		return ferr("gateway_id", "must be set and non-zero (it is also the registrar's server ID)")
	}
	switch c.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		return ferr("log_level", "%q: debug, info, warn or error", c.LogLevel)
	}
	if c.Mgmt != "" {
		if _, err := netip.ParseAddrPort(c.Mgmt); err != nil {
			if _, _, err2 := splitHostPort(c.Mgmt); err2 != nil {
				return ferr("mgmt", "%q: want host:port", c.Mgmt)
			}
		}
	}
	if _, err := c.SCTPTuning(); err != nil {
		return ferr("tuning", "%v", err)
	}
	if err := checkAddr("network.listen", c.Network.Listen, true); err != nil {
		return err
	}
	if err := checkAddr("servers.listen", c.Servers.Listen, true); err != nil {
		return err
	}
	if err := checkAddr("registrar.asap", c.Registrar.ASAP, true); err != nil {
		return err
	}
	if err := checkAddr("registrar.enrp", c.Registrar.ENRP, false); err != nil {
		return err
	}
	for i, p := range c.Registrar.Peers {
		if err := checkAddr(fmt.Sprintf("registrar.peers[%d]", i), p, true); err != nil {
			return err
		}
	}
	for i, s := range c.Registrar.Allow {
		if _, err := netip.ParsePrefix(s); err != nil {
			return ferr(fmt.Sprintf("registrar.allow[%d]", i), "%q: want a network prefix such as 10.1.0.0/24", s)
		}
	}
	if c.Registrar.MaxBadPEReport < 0 {
		return ferr("registrar.max_bad_pe_report", "must not be negative")
	}
	for _, d := range []struct {
		f string
		v time.Duration
	}{
		{"network.beat", c.Network.Beat}, {"servers.beat", c.Servers.Beat},
		{"registrar.keepalive", c.Registrar.KeepAlive}, {"registrar.keepalive_timeout", c.Registrar.KeepAliveTimeout},
		{"limits.cookie_lifetime", c.Limits.CookieLifetime}, {"limits.drain", c.Limits.Drain},
		{"limits.startup_grace", c.Limits.StartupGrace}, {"limits.unanswered_lifetime", c.Limits.UnansweredLifetime},
	} {
		if d.v < 0 {
			return ferr(d.f, "must not be negative")
		}
	}

	rcs := map[uint32]string{}
	pcs := map[uint32]string{}
	for i, as := range c.Network.ASes {
		f := fmt.Sprintf("network.ases[%d]", i)
		if as.Name == "" {
			return ferr(f+".name", "must be set")
		}
		if as.RC == 0 {
			return ferr(f+".rc", "must be set and non-zero")
		}
		if o, dup := rcs[as.RC]; dup {
			return ferr(f+".rc", "routing context %d is already %s's", as.RC, o)
		}
		rcs[as.RC] = as.Name
		switch as.Mode {
		case "", "loadshare", "override":
		default:
			return ferr(f+".mode", "%q: loadshare or override", as.Mode)
		}
		if len(as.PointCodes) == 0 {
			return ferr(f+".point_codes", "at least one point code")
		}
		for j, pc := range as.PointCodes {
			pf := fmt.Sprintf("%s.point_codes[%d]", f, j)
			if pc > MaxPointCode {
				return ferr(pf, "%d is not a 14-bit ITU point code", pc)
			}
			if o, dup := pcs[pc]; dup {
				return ferr(pf, "point code %d is already reached through %s", pc, o)
			}
			pcs[pc] = as.Name
		}
	}
	if len(c.Services) == 0 {
		return ferr("services", "at least one service")
	}
	pools := map[string]string{}
	keys := map[string]string{}
	for i, s := range c.Services {
		f := fmt.Sprintf("services[%d]", i)
		if s.Name == "" {
			return ferr(f+".name", "must be set")
		}
		if s.RC == 0 {
			return ferr(f+".rc", "must be set and non-zero")
		}
		if o, dup := rcs[s.RC]; dup {
			return ferr(f+".rc", "routing context %d is already %s's", s.RC, o)
		}
		rcs[s.RC] = s.Name
		if s.Pool == "" {
			return ferr(f+".pool", "the pool handle must be set")
		}
		if len(s.Pool) > 32 {
			return ferr(f+".pool", "pool handle %q longer than 32 octets", s.Pool)
		}
		if o, dup := pools[s.Pool]; dup {
			return ferr(f+".pool", "pool %q already serves %s", s.Pool, o)
		}
		pools[s.Pool] = s.Name
		if s.Key.DPC == 0 {
			return ferr(f+".key.dpc", "must be set")
		}
		if s.Key.DPC > MaxPointCode {
			return ferr(f+".key.dpc", "%d is not a 14-bit ITU point code", s.Key.DPC)
		}
		if s.Key.SI > 15 {
			return ferr(f+".key.si", "%d: a service indicator has 4 bits", s.Key.SI)
		}
		if s.Key.SSN != 0 && s.Key.SI != SISCCP {
			return ferr(f+".key.ssn", "a subsystem number needs si: 3 (SCCP)")
		}
		for j, pc := range s.Key.OPCs {
			if pc > MaxPointCode {
				return ferr(fmt.Sprintf("%s.key.opcs[%d]", f, j), "%d is not a 14-bit ITU point code", pc)
			}
		}
		for j, rc := range s.Key.RCs {
			found := false
			for _, as := range c.Network.ASes {
				found = found || as.RC == rc
			}
			if !found {
				return ferr(fmt.Sprintf("%s.key.rcs[%d]", f, j), "routing context %d is no network AS's", rc)
			}
		}
		k := fmt.Sprint(s.Key.DPC, s.Key.SI, s.Key.SSN, s.Key.OPCs, s.Key.RCs)
		if o, dup := keys[k]; dup {
			return ferr(f+".key", "the same routing key as %s", o)
		}
		keys[k] = s.Name
		if s.MinElements < 0 {
			return ferr(f+".min_elements", "must not be negative")
		}
		if s.MinElements == 0 {
			c.Services[i].MinElements = 1
		}
	}
	if c.Limits.Queue < 0 {
		return ferr("limits.queue", "must not be negative")
	}
	if c.Limits.Cookies < 0 {
		return ferr("limits.cookies", "must not be negative")
	}
	if c.Limits.Unanswered < 0 {
		return ferr("limits.unanswered", "must not be negative")
	}
	if c.Limits.Unanswered == 0 {
		c.Limits.Unanswered = DefaultUnanswered
	}
	if c.Limits.UnansweredLifetime == 0 {
		c.Limits.UnansweredLifetime = DefaultUnansweredLife
	}
	if c.Limits.Queue == 0 {
		c.Limits.Queue = DefaultQueue
	}
	if c.Limits.Cookies == 0 {
		c.Limits.Cookies = DefaultCookies
	}
	if c.Limits.CookieLifetime == 0 {
		c.Limits.CookieLifetime = DefaultCookieLifetime
	}
	if c.Limits.Drain == 0 {
		c.Limits.Drain = DefaultDrain
	}
	if c.Limits.StartupGrace == 0 {
		c.Limits.StartupGrace = DefaultStartupGrace
	}
	return nil
}

func splitHostPort(s string) (string, string, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", errors.New("no port")
	}
	if _, err := strconv.ParseUint(s[i+1:], 10, 16); err != nil {
		return "", "", err
	}
	return s[:i], s[i+1:], nil
}

func checkAddr(field, s string, required bool) error {
	if s == "" {
		if required {
			return ferr(field, "must be set (ip1+ip2:port)")
		}
		return nil
	}
	if _, err := sctp.ParseAddr(s); err != nil {
		return ferr(field, "%q: want ip1+ip2:port (%v)", s, err)
	}
	return nil
}

// SCTPTuning returns the SCTP timer profile the configuration names.
func (c *Config) SCTPTuning() (sctp.Tuning, error) {
	switch c.Tuning {
	case "", "telecom":
		return sctp.Telecom, nil
	case "rfc":
		return sctp.RFC, nil
	}
	return sctp.Tuning{}, fmt.Errorf("%q: telecom or rfc", c.Tuning)
}
