package system

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sigpool/sigpool/gateway"
)

// The system's layout: netlab host indexes (host i has 10.1.0.i on network
// A and 10.2.0.i on network B) and the numbers every daemon agrees on.
const (
	hostGW1  = 1
	hostGW2  = 2
	hostASP1 = 3 // asp1..asp3 are hosts 3..5
	hostNet  = 6
	numHosts = 6

	aspHosts   = 3
	aspPerHost = 2

	portNetwork = 2905 // gateways' SGP for the network nodes
	portServers = 2906 // gateways' SGP for the application servers
	portASAP    = 3863
	portENRP    = 9901
	portMgmt    = 9100 // every daemon's management API, on its host's loopback

	networkRC  = 100
	serviceRC  = 200
	poolHandle = "hlr.sigpool"
	serviceDPC = 2001 // the HLR service's point code
	serviceSI  = 3    // SCCP
	serviceSSN = 6    // HLR
	networkOPC = 1001 // sigload's own point code
)

// addrs is host i's multihomed address list "10.1.0.i+10.2.0.i".
func addrs(host int) string { return fmt.Sprintf("10.1.0.%d+10.2.0.%d", host, host) }

// endpoint is host i's multihomed SCTP address with a port.
func endpoint(host, port int) string { return fmt.Sprintf("%s:%d", addrs(host), port) }

// mgmtAddr is the management listener of the n-th daemon (0-based) of a
// host, on its loopback: reachable from the harness through the host's
// namespace whatever happens to networks A and B.
func mgmtAddr(n int) string { return fmt.Sprintf("127.0.0.1:%d", portMgmt+n) }

// gatewayHosts are the gateways' host indexes, gw1 first.
var gatewayHosts = []int{hostGW1, hostGW2}

// GatewayConfig is the configuration of gateway n (1 or 2): network side on
// 2905, servers on 2906, the embedded registrar peering with the other
// gateway, one service (the HLR pool) every aspd serves.
func GatewayConfig(n int) gateway.Config {
	self := gatewayHosts[n-1]
	var peers []string
	for _, h := range gatewayHosts {
		if h != self {
			peers = append(peers, endpoint(h, portENRP))
		}
	}
	return gateway.Config{
		GatewayID: uint32(n),
		LogLevel:  "info",
		Mgmt:      mgmtAddr(0),
		Tuning:    "telecom",
		Network: gateway.NetworkSide{
			Listen: endpoint(self, portNetwork),
			ASes: []gateway.NetworkAS{{
				Name:       "sigload",
				RC:         networkRC,
				Mode:       "loadshare",
				PointCodes: []uint32{networkOPC},
			}},
		},
		Servers: gateway.ServerSide{Listen: endpoint(self, portServers)},
		Registrar: gateway.RegistrarConfig{
			ASAP:             endpoint(self, portASAP),
			ENRP:             endpoint(self, portENRP),
			Peers:            peers,
			Allow:            []string{"10.1.0.0/24", "10.2.0.0/24"},
			KeepAlive:        time.Second,
			KeepAliveTimeout: time.Second,
		},
		Services: []gateway.Service{{
			Name:        "hlr",
			RC:          serviceRC,
			Pool:        poolHandle,
			Key:         gateway.RoutingKey{DPC: serviceDPC, SI: serviceSI, SSN: serviceSSN},
			MinElements: aspHosts*aspPerHost - 1,
		}},
		Limits: gateway.Limits{Queue: 4096, Cookies: 100000, CookieLifetime: 5 * time.Minute, Drain: 2 * time.Second},
	}
}

// GatewayYAML is GatewayConfig(n) as the file sgw reads.
func GatewayYAML(n int) ([]byte, error) {
	c := GatewayConfig(n)
	return yaml.Marshal(&c)
}

// aspdConfig is the part of cmd/aspd's configuration file the scenario
// sets (cmd/aspd/testdata/aspd.yaml documents every key).
type aspdConfig struct {
	Instance        string        `yaml:"instance"`
	LogLevel        string        `yaml:"log_level"`
	LogFormat       string        `yaml:"log_format"`
	Mgmt            string        `yaml:"mgmt"`
	Local           string        `yaml:"local"`
	Gateways        []string      `yaml:"gateways"`
	Registrars      []string      `yaml:"registrars"`
	Tuning          string        `yaml:"tuning"`
	Pool            string        `yaml:"pool"`
	RC              uint32        `yaml:"rc"`
	Policy          string        `yaml:"policy"`
	Capacity        int           `yaml:"capacity"`
	DialogueTimeout time.Duration `yaml:"dialogue_timeout"`
	Service         aspdService   `yaml:"service"`
	Drain           time.Duration `yaml:"drain"`
}

type aspdService struct {
	Time          time.Duration `yaml:"time"`
	Steps         int           `yaml:"steps"`
	FollowNetwork bool          `yaml:"follow_network"`
}

// AspdYAML is the configuration file of the k-th aspd (0-based) on host
// h: it dials both gateways and registers with both registrars, in the
// HLR pool, and follows the dialogue script sigload sends.
func AspdYAML(h, k int) ([]byte, error) {
	c := aspdConfig{
		Instance:  fmt.Sprintf("asp%d%c", h-hostASP1+1, 'a'+k),
		LogLevel:  "info",
		LogFormat: "console",
		Local:     addrs(h),
		Mgmt:      mgmtAddr(k),
		Tuning:    "telecom",
		Pool:      poolHandle,
		RC:        serviceRC,
		Policy:    "least_used",
		Capacity:  10000,
		// An idle dialogue is given up, and aborted toward the network,
		// after 3 s: within sigload's 5 s, so that a dialogue whose
		// Continue died inside the killed gateway ends with an abort
		// rather than silence (the network's next message takes tens of
		// milliseconds here, a few hundred in a stall of the VM).
		DialogueTimeout: 3 * time.Second,
		Service:         aspdService{Time: 5 * time.Millisecond, Steps: 1, FollowNetwork: true},
		Drain:           time.Second,
	}
	for _, g := range gatewayHosts {
		c.Gateways = append(c.Gateways, endpoint(g, portServers))
		c.Registrars = append(c.Registrars, endpoint(g, portASAP))
	}
	return yaml.Marshal(&c)
}

// progressInterval is how often sigload prints its counters in the scenario.
const progressInterval = 100 * time.Millisecond

// sigloadArgs is sigload's command line: an SS7 node with point code
// networkOPC on the network host, toward the HLR at serviceDPC through both
// gateways, rate dialogues per second for d.
func sigloadArgs(rate int, d time.Duration, summary string) []string {
	gws := ""
	for i, g := range gatewayHosts {
		if i > 0 {
			gws += ","
		}
		gws += endpoint(g, portNetwork)
	}
	return []string{
		"--gateway", gws,
		"--local", addrs(hostNet) + ":0", // sigload wants a port; 0: any
		"--opc", fmt.Sprint(networkOPC),
		"--dpc", fmt.Sprint(serviceDPC),
		"--rc", fmt.Sprint(networkRC),
		"--rate", fmt.Sprint(rate),
		"--duration", d.String(),
		"--json", summary,
		// Counters every 100 ms: a recovery under 500 ms can only be shown
		// by samples well under 500 ms apart.
		"--progress", progressInterval.String(),
		// Every dialogue's outcome and messages: recovery is measured per
		// dialogue, and a loss is traced to the gateway its message went to.
		"--per-dialogue",
	}
}
