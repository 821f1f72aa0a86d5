package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sigpool/sigpool/asp"
	"github.com/sigpool/sigpool/internal/config"
	"github.com/sigpool/sigpool/internal/daemon"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// File is aspd's configuration file (YAML). Every key is optional except
// gateways, registrars, local and pool; flags override keys (see command).
type File struct {
	// Instance names this process in alarms and logs (default: the host
	// name).
	Instance  string `yaml:"instance"`
	LogLevel  string `yaml:"log_level"`  // debug, info (default), warn, error
	LogFormat string `yaml:"log_format"` // json (default) or console
	// Mgmt is the management listener (TCP host:port): /metrics, /livez,
	// /readyz, the alarm API. MgmtSocket is a Unix socket for the same.
	Mgmt       string `yaml:"mgmt"`
	MgmtSocket string `yaml:"mgmt_socket"`
	History    string `yaml:"history"` // alarm history file; empty: in memory

	// Local is this host's addresses, one per signalling network
	// ("10.1.0.11+10.2.0.11", a port optional).
	Local      string        `yaml:"local"`
	Gateways   []config.Addr `yaml:"gateways"`   // every gateway's M3UA server side (port 2906)
	Registrars []config.Addr `yaml:"registrars"` // every gateway's registrar (port 3863)
	Tuning     string        `yaml:"tuning"`     // SCTP timers: telecom (default) or rfc
	Beat       time.Duration `yaml:"beat"`       // M3UA BEAT interval; 0: off

	Pool     string  `yaml:"pool"`      // pool handle
	Policy   string  `yaml:"policy"`    // least_used (default), ...
	Capacity int     `yaml:"capacity"`  // dialogues at 100 % load (default 1000)
	LoadStep float64 `yaml:"load_step"` // percent (default 5)
	PEID     uint32  `yaml:"pe_id"`     // 0: random
	// RC is the routing context of the service AS; absent: activate what
	// the gateway configured for this ASP.
	RC *uint32 `yaml:"rc"`

	DialogueTimeout time.Duration `yaml:"dialogue_timeout"` // idle dialogue given up (default 30s)
	Service         Service       `yaml:"service"`
	// Drain bounds the graceful stop (SIGTERM): how long dialogues in
	// progress may take to finish (default 5s).
	Drain time.Duration `yaml:"drain"`
}

// Service is the reference responder's script.
type Service struct {
	// Time is how long each answer takes (service time).
	Time time.Duration `yaml:"time"`
	// Steps is how many Continues the server sends before its End: 0 ends
	// the dialogue at once on the Begin.
	Steps int `yaml:"steps"`
	// FollowNetwork takes the steps of each dialogue from its Begin when
	// it carries cmd/sigload's Invoke (operation 100, parameter {steps,
	// 0}) instead of Steps.
	FollowNetwork bool `yaml:"follow_network"`
}

var policies = map[string]rserpool.PolicyType{
	"round_robin":                 rserpool.RoundRobin,
	"weighted_round_robin":        rserpool.WeightedRoundRobin,
	"random":                      rserpool.Random,
	"weighted_random":             rserpool.WeightedRandom,
	"priority":                    rserpool.Priority,
	"least_used":                  rserpool.LeastUsed,
	"least_used_degradation":      rserpool.LeastUsedWithDegradation,
	"priority_least_used":         rserpool.PriorityLeastUsed,
	"randomized_least_used":       rserpool.RandomizedLeastUsed,
	"least_used_with_degradation": rserpool.LeastUsedWithDegradation,
}

func policyOf(s string) (rserpool.PolicyType, bool) {
	if s == "" {
		return rserpool.LeastUsed, true
	}
	p, ok := policies[strings.ReplaceAll(strings.ToLower(s), "-", "_")]
	return p, ok
}

func localAddr(s string) (sctp.Addr, error) {
	a, err := config.ParseAddr(s, false)
	if err != nil {
		if b, err2 := config.ParseAddr(s+":0", false); err2 == nil {
			return b, nil
		}
	}
	return a, err
}

// Validate checks the file; each problem names its key.
func (f *File) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, config.Errorf(field, format, a...)) }
	if _, err := daemon.ParseLevel(f.LogLevel); f.LogLevel != "" && err != nil {
		bad("log_level", "%v", err)
	}
	switch f.LogFormat {
	case "", "json", "console":
	default:
		bad("log_format", "%q: json or console", f.LogFormat)
	}
	if f.Local == "" {
		bad("local", "required: this host's addresses, one per network")
	} else if a, err := localAddr(f.Local); err != nil {
		bad("local", "%v", err)
	} else if len(a.IPs) == 0 || a.IPs[0].IsUnspecified() {
		bad("local", "%q: give the host's addresses (they are registered as the element's transport)", f.Local)
	}
	if len(f.Gateways) == 0 {
		bad("gateways", "at least one gateway address ip[+ip…]:port")
	}
	for i, g := range f.Gateways {
		if g.Port == 0 || len(g.IPs) == 0 {
			bad(fmt.Sprintf("gateways[%d]", i), "%v: an address and a port are required", g.Addr)
		}
	}
	if len(f.Registrars) == 0 {
		bad("registrars", "at least one registrar address ip[+ip…]:port")
	}
	for i, r := range f.Registrars {
		if r.Port == 0 || len(r.IPs) == 0 {
			bad(fmt.Sprintf("registrars[%d]", i), "%v: an address and a port are required", r.Addr)
		}
	}
	switch f.Tuning {
	case "", "telecom", "rfc":
	default:
		bad("tuning", "%q: telecom or rfc", f.Tuning)
	}
	if f.Beat < 0 {
		bad("beat", "negative")
	}
	if f.Pool == "" {
		bad("pool", "required: the pool handle of the service")
	}
	if _, ok := policyOf(f.Policy); !ok {
		bad("policy", "unknown policy %q (least_used, randomized_least_used, least_used_degradation, priority_least_used, round_robin, weighted_round_robin, random, weighted_random, priority)", f.Policy)
	}
	if f.Capacity < 0 || f.Capacity > 1<<16 {
		bad("capacity", "%d: between 1 and 65536 dialogues (0: default %d)", f.Capacity, asp.DefaultCapacity)
	}
	if f.LoadStep < 0 || f.LoadStep > 100 {
		bad("load_step", "%v: a percentage", f.LoadStep)
	}
	if f.DialogueTimeout < 0 {
		bad("dialogue_timeout", "negative")
	}
	if f.Service.Time < 0 {
		bad("service.time", "negative")
	}
	if f.Service.Steps < 0 || f.Service.Steps > maxSteps {
		bad("service.steps", "%d: between 0 and 65536", f.Service.Steps)
	}
	if f.DialogueTimeout > 0 && f.Service.Time >= f.DialogueTimeout {
		bad("service.time", "%v is not shorter than dialogue_timeout %v: every dialogue would time out", f.Service.Time, f.DialogueTimeout)
	}
	if f.Drain < 0 {
		bad("drain", "negative")
	}
	return errors.Join(errs...)
}

// serverConfig turns a valid file into the server's configuration.
func (f *File) serverConfig() asp.Config {
	local, _ := localAddr(f.Local)
	policy, _ := policyOf(f.Policy)
	tuning := sctp.Telecom
	if f.Tuning == "rfc" {
		tuning = sctp.RFC
	}
	c := asp.Config{
		Transport:       sctp.Kernel{Config: sctp.Config{Tuning: tuning}},
		Local:           local,
		PoolHandle:      []byte(f.Pool),
		Policy:          policy,
		Capacity:        f.Capacity,
		LoadStep:        f.LoadStep,
		PEID:            f.PEID,
		DialogueTimeout: f.DialogueTimeout,
	}
	c.Beat.Interval = f.Beat
	for _, g := range f.Gateways {
		c.Gateways = append(c.Gateways, g.Addr)
	}
	for _, r := range f.Registrars {
		c.Registrars = append(c.Registrars, r.Addr)
	}
	if f.RC != nil {
		c.RC, c.HasRC = *f.RC, true
	}
	return c
}

// restartOnly lists what a reload cannot change: everything but the log
// level and the service script.
func restartOnly(old, new File) []string {
	var diff []string
	o, n := old, new
	o.LogLevel, n.LogLevel = "", ""
	o.Service, n.Service = Service{}, Service{}
	o.Drain, n.Drain = 0, 0
	a, errA := yaml.Marshal(&o)
	b, errB := yaml.Marshal(&n)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		diff = append(diff, "only log_level, service and drain change on reload; restart aspd for the rest")
	}
	return diff
}
