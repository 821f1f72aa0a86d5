package main

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/internal/config"
	"github.com/sigpool/sigpool/internal/daemon"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// File is the configuration file's schema. Every key is optional but
// server_id; flags override keys (see command). Keys marked "reload" take
// effect on SIGHUP; a change to any other key is refused until a restart.
type File struct {
	ServerID uint32   `yaml:"server_id"` // non-zero, unique in the operation scope
	ASAP     addr     `yaml:"asap"`      // listen address, ip[+ip…]:port (default 0.0.0.0:3863)
	ENRP     addr     `yaml:"enrp"`      // ENRP listen address; absent: no ENRP listener
	Peers    []addr   `yaml:"peers"`     // static peer registrars' ENRP addresses
	Allow    []string `yaml:"allow"`     // reload: networks allowed to register (default any)
	Tuning   string   `yaml:"tuning"`    // SCTP tuning: telecom (default) or rfc

	LogLevel  string        `yaml:"log_level"`  // reload: debug, info (default), warn, error
	LogFormat string        `yaml:"log_format"` // json (default) or console
	Stats     time.Duration `yaml:"stats"`      // log the counters at this interval (0: only at exit)
	// Mgmt is the management listener (host:port): /metrics, /livez,
	// /readyz, /api/v1/pools, the alarm API. MgmtSocket is a Unix socket
	// for the same. Both empty: none.
	Mgmt       string `yaml:"mgmt"`
	MgmtSocket string `yaml:"mgmt_socket"`
	History    string `yaml:"history"` // alarm history file; empty: in memory

	KeepAlive         time.Duration `yaml:"keepalive"`         // reload
	KeepAliveTimeout  time.Duration `yaml:"keepalive_timeout"` // reload
	MaxBadPEReport    int           `yaml:"max_bad_pe_report"` // reload
	ReportWindow      time.Duration `yaml:"report_window"`     // reload
	MaxHResItems      int           `yaml:"max_hres_items"`    // reload
	PeerHeartbeat     time.Duration `yaml:"peer_heartbeat"`
	MaxTimeLastHeard  time.Duration `yaml:"max_time_last_heard"`
	MaxTimeNoResponse time.Duration `yaml:"max_time_no_response"`
	TakeoverExpiry    time.Duration `yaml:"takeover_expiry"`
	// Handle resolutions per second and burst per association (reload).
	ResolutionRate  int `yaml:"resolution_rate"`
	ResolutionBurst int `yaml:"resolution_burst"`
	// Endpoint-unreachable reports per second and burst per association
	// (reload).
	ReportRate  int `yaml:"report_rate"`
	ReportBurst int `yaml:"report_burst"`
	// TagBits: PE identifiers' low TagBits bits unique per pool (0: off).
	TagBits int `yaml:"tag_bits"`

	// Pools are watched for pool-empty and pool-below-minimum (reload);
	// none until StartupGrace (default 5s) has passed since the start.
	Pools        []Watch       `yaml:"pools"`
	StartupGrace time.Duration `yaml:"startup_grace"`
}

// addr is a config.Addr that keeps its syntax error for Validate instead
// of stopping the decoding there: config.Load stops at the first error an
// UnmarshalYAML returns, and an operator fixing a file wants every bad key
// of it at once (a malformed peer address beside a bad tuning and allow).
type addr struct {
	config.Addr
	bad string // why the text is no address; empty when it parsed
}

func (a *addr) UnmarshalYAML(n *yaml.Node) error {
	if err := a.Addr.UnmarshalYAML(n); err != nil {
		a.Addr = config.Addr{}
		a.bad = err.Error()
		var fe *config.FieldError
		if errors.As(err, &fe) {
			a.bad = fe.Msg
		}
	}
	return nil
}

// check reports a malformed or incomplete address about field.
func (a addr) check(field string) error {
	switch {
	case a.bad != "":
		return config.Errorf(field, "%s", a.bad)
	case a.Port == 0 || len(a.IPs) == 0:
		return config.Errorf(field, "%v: an address and a port are required", a.Addr.Addr)
	}
	return nil
}

// reloadable are the keys a SIGHUP applies.
var reloadable = map[string]bool{
	"allow": true, "log_level": true, "keepalive": true, "keepalive_timeout": true,
	"max_bad_pe_report": true, "report_window": true, "max_hres_items": true,
	"resolution_rate": true, "resolution_burst": true, "report_rate": true, "report_burst": true,
	"pools": true,
}

// Validate checks the file; each problem names its key.
func (f *File) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, config.Errorf(field, format, a...)) }
	if f.ServerID == 0 {
		bad("server_id", "required: a non-zero identifier, unique in the operation scope")
	}
	if f.ASAP.IsZero() && f.ASAP.bad == "" {
		f.ASAP.Addr = config.Addr{Addr: sctp.Addr{IPs: []netip.Addr{netip.IPv4Unspecified()}, Port: rserpool.Port}}
	} else if err := f.ASAP.check("asap"); err != nil {
		errs = append(errs, err)
	}
	if !f.ENRP.IsZero() || f.ENRP.bad != "" {
		if err := f.ENRP.check("enrp"); err != nil {
			errs = append(errs, err)
		}
	}
	for i, p := range f.Peers {
		if err := p.check(fmt.Sprintf("peers[%d]", i)); err != nil {
			errs = append(errs, err)
		}
	}
	for i, s := range f.Allow {
		if _, err := netip.ParsePrefix(s); err != nil {
			bad(fmt.Sprintf("allow[%d]", i), "%q: a network such as 10.1.0.0/16", s)
		}
	}
	switch f.Tuning {
	case "", "telecom", "rfc":
	default:
		bad("tuning", "%q: telecom or rfc", f.Tuning)
	}
	if _, err := daemon.ParseLevel(f.LogLevel); err != nil {
		bad("log_level", "%q: debug, info, warn or error", f.LogLevel)
	}
	switch f.LogFormat {
	case "", "json", "console":
	default:
		bad("log_format", "%q: json or console", f.LogFormat)
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"stats", f.Stats}, {"keepalive", f.KeepAlive}, {"keepalive_timeout", f.KeepAliveTimeout},
		{"report_window", f.ReportWindow}, {"peer_heartbeat", f.PeerHeartbeat},
		{"max_time_last_heard", f.MaxTimeLastHeard}, {"max_time_no_response", f.MaxTimeNoResponse},
		{"takeover_expiry", f.TakeoverExpiry}, {"startup_grace", f.StartupGrace}} {
		if d.v < 0 {
			bad(d.field, "%v: negative", d.v)
		}
	}
	for _, n := range []struct {
		field string
		v     int
	}{{"max_bad_pe_report", f.MaxBadPEReport}, {"max_hres_items", f.MaxHResItems},
		{"resolution_rate", f.ResolutionRate}, {"resolution_burst", f.ResolutionBurst},
		{"report_rate", f.ReportRate}, {"report_burst", f.ReportBurst}} {
		if n.v < 0 {
			bad(n.field, "%d: negative (0 takes the default)", n.v)
		}
	}
	seen := map[string]bool{}
	for i, p := range f.Pools {
		switch {
		case p.Handle == "":
			bad(fmt.Sprintf("pools[%d].handle", i), "required: the pool handle")
		case seen[p.Handle]:
			bad(fmt.Sprintf("pools[%d].handle", i), "%q: watched twice", p.Handle)
		}
		seen[p.Handle] = true
		if p.MinElements < 0 {
			bad(fmt.Sprintf("pools[%d].min_elements", i), "%d: negative", p.MinElements)
		}
	}
	if f.TagBits < 0 || f.TagBits > 32 {
		bad("tag_bits", "%d: 0 to 32", f.TagBits)
	}
	return errors.Join(errs...)
}

// settings turns a valid file into the driver's and the core's
// configuration.
func settings(f File) (enrp.DriverConfig, enrp.Config) {
	var dc enrp.DriverConfig
	cfg := enrp.Config{
		ServerID: f.ServerID, KeepAlive: f.KeepAlive, KeepAliveTimeout: f.KeepAliveTimeout,
		MaxBadPEReport: f.MaxBadPEReport, ReportWindow: f.ReportWindow, MaxHResItems: f.MaxHResItems,
		PeerHeartbeat: f.PeerHeartbeat, MaxTimeLastHeard: f.MaxTimeLastHeard,
		MaxTimeNoResponse: f.MaxTimeNoResponse, TakeoverExpiry: f.TakeoverExpiry,
		ResolutionRate: f.ResolutionRate, ResolutionBurst: f.ResolutionBurst, TagBits: f.TagBits,
		ReportRate: f.ReportRate, ReportBurst: f.ReportBurst, Allow: allowList(f.Allow),
	}
	dc.ASAPAddr = f.ASAP.Addr.Addr
	cfg.ASAPTransport = rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: f.ASAP.Port, Addrs: f.ASAP.IPs}
	if !f.ENRP.IsZero() {
		dc.ENRPAddr = f.ENRP.Addr.Addr
		cfg.ENRPTransport = rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: f.ENRP.Port, Addrs: f.ENRP.IPs}
		dc.LocalAddr = sctp.Addr{IPs: f.ENRP.IPs}
	}
	for _, p := range f.Peers {
		cfg.Peers = append(cfg.Peers, p.Addr.Addr)
	}
	tuning := sctp.Telecom
	if f.Tuning == "rfc" {
		tuning = sctp.RFC
	}
	dc.Transport = sctp.Kernel{Config: sctp.Config{Tuning: tuning}}
	return dc, cfg
}

func allowList(ss []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// tunables are the reloadable settings of a valid file, for the core.
func (f *File) tunables() enrp.Tunables {
	return enrp.Tunables{KeepAlive: f.KeepAlive, KeepAliveTimeout: f.KeepAliveTimeout,
		MaxBadPEReport: f.MaxBadPEReport, ReportWindow: f.ReportWindow, MaxHResItems: f.MaxHResItems,
		ResolutionRate: f.ResolutionRate, ResolutionBurst: f.ResolutionBurst,
		ReportRate: f.ReportRate, ReportBurst: f.ReportBurst, Allow: allowList(f.Allow)}
}

// restartOnly returns an error naming every key whose value differs
// between old and new and that a reload cannot apply; nil when the
// difference is only in reloadable keys.
func restartOnly(old, new File) error {
	var errs []error
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(new)
	t := ov.Type()
	for i := 0; i < t.NumField(); i++ {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if reloadable[key] {
			continue
		}
		a, b := ov.Field(i).Interface(), nv.Field(i).Interface()
		if !reflect.DeepEqual(a, b) {
			errs = append(errs, config.Errorf(key, "changed from %s to %s: applies only on a restart (reload changes %s)",
				show(a), show(b), reloadKeys()))
		}
	}
	return errors.Join(errs...)
}

func show(v any) string {
	switch v := v.(type) {
	case addr:
		if v.IsZero() {
			return "(none)"
		}
		return v.Addr.Addr.String()
	case []addr:
		s := make([]string, len(v))
		for i, a := range v {
			s[i] = a.Addr.Addr.String()
		}
		return "[" + strings.Join(s, ", ") + "]"
	case string:
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprint(v)
}

func reloadKeys() string {
	var keys []string
	t := reflect.TypeOf(File{})
	for i := 0; i < t.NumField(); i++ {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if reloadable[key] {
			keys = append(keys, key)
		}
	}
	return strings.Join(keys, ", ")
}
