// Command registrar runs a sigpool pool registrar (RSerPool ASAP server
// and ENRP peer) from a YAML configuration file and flags.
//
//	registrar --config /etc/sigpool/registrar.yaml
//	registrar --id 1 --asap 10.99.0.1:3863 --enrp 10.99.0.1:9901 --peer 10.99.0.2:9901
//
// Flags given on the command line override the file. It logs (zap, JSON)
// every registration, deregistration, removal, peer change, takeover and
// resynchronisation, and the counters per message type and error cause
// every --stats interval and at exit. With --mgmt host:port it serves the
// management API (internal/mgmt): the sigpool_rserpool_* metrics on
// /metrics, the handlespace on /api/v1/pools, /livez and /readyz.
package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/yaml.v3"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/internal/mgmt"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// File is the configuration file's schema.
type File struct {
	ServerID uint32        `yaml:"server_id"`
	ASAP     string        `yaml:"asap"` // listen address, IP[+IP…]:port
	ENRP     string        `yaml:"enrp"`
	Peers    []string      `yaml:"peers"`
	Allow    []string      `yaml:"allow"`
	Tuning   string        `yaml:"tuning"` // SCTP tuning: telecom (default) or rfc
	LogLevel string        `yaml:"log_level"`
	Stats    time.Duration `yaml:"stats"`
	// Mgmt is the management listener (host:port): /metrics, /livez,
	// /readyz, /api/v1/pools. Empty: none.
	Mgmt string `yaml:"mgmt"`

	KeepAlive         time.Duration `yaml:"keepalive"`
	KeepAliveTimeout  time.Duration `yaml:"keepalive_timeout"`
	MaxBadPEReport    int           `yaml:"max_bad_pe_report"`
	ReportWindow      time.Duration `yaml:"report_window"`
	MaxHResItems      int           `yaml:"max_hres_items"`
	PeerHeartbeat     time.Duration `yaml:"peer_heartbeat"`
	MaxTimeLastHeard  time.Duration `yaml:"max_time_last_heard"`
	MaxTimeNoResponse time.Duration `yaml:"max_time_no_response"`
	TakeoverExpiry    time.Duration `yaml:"takeover_expiry"`
	// Handle resolutions per second and burst per association.
	ResolutionRate  int `yaml:"resolution_rate"`
	ResolutionBurst int `yaml:"resolution_burst"`
	// TagBits: PE identifiers' low TagBits bits unique per pool (0: off).
	TagBits int `yaml:"tag_bits"`
}

// load reads a configuration file.
func load(path string) (File, error) {
	var f File
	b, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// settings turns the file into the driver's and the core's configuration.
func settings(f File) (enrp.DriverConfig, enrp.Config, error) {
	var dc enrp.DriverConfig
	cfg := enrp.Config{
		ServerID: f.ServerID, KeepAlive: f.KeepAlive, KeepAliveTimeout: f.KeepAliveTimeout,
		MaxBadPEReport: f.MaxBadPEReport, ReportWindow: f.ReportWindow, MaxHResItems: f.MaxHResItems,
		PeerHeartbeat: f.PeerHeartbeat, MaxTimeLastHeard: f.MaxTimeLastHeard,
		MaxTimeNoResponse: f.MaxTimeNoResponse, TakeoverExpiry: f.TakeoverExpiry,
		ResolutionRate: f.ResolutionRate, ResolutionBurst: f.ResolutionBurst, TagBits: f.TagBits,
	}
	if f.TagBits < 0 || f.TagBits > 32 {
		return dc, cfg, fmt.Errorf("tag_bits %d: 0 to 32", f.TagBits)
	}
	if f.ServerID == 0 {
		return dc, cfg, fmt.Errorf("server_id (--id) must be set and non-zero")
	}
	if f.ASAP == "" {
		f.ASAP = fmt.Sprintf("0.0.0.0:%d", rserpool.Port)
	}
	a, err := sctp.ParseAddr(f.ASAP)
	if err != nil {
		return dc, cfg, fmt.Errorf("asap: %w", err)
	}
	dc.ASAPAddr = a
	cfg.ASAPTransport = rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: a.Port, Addrs: a.IPs}
	if f.ENRP != "" {
		e, err := sctp.ParseAddr(f.ENRP)
		if err != nil {
			return dc, cfg, fmt.Errorf("enrp: %w", err)
		}
		dc.ENRPAddr = e
		cfg.ENRPTransport = rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: e.Port, Addrs: e.IPs}
		dc.LocalAddr = sctp.Addr{IPs: e.IPs}
	}
	for _, p := range f.Peers {
		pa, err := sctp.ParseAddr(p)
		if err != nil {
			return dc, cfg, fmt.Errorf("peer %q: %w", p, err)
		}
		cfg.Peers = append(cfg.Peers, pa)
	}
	for _, s := range f.Allow {
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			return dc, cfg, fmt.Errorf("allow %q: %w", s, err)
		}
		cfg.Allow = append(cfg.Allow, pf)
	}
	tuning := sctp.Telecom
	switch f.Tuning {
	case "", "telecom":
	case "rfc":
		tuning = sctp.RFC
	default:
		return dc, cfg, fmt.Errorf("tuning %q: telecom or rfc", f.Tuning)
	}
	dc.Transport = sctp.Kernel{Config: sctp.Config{Tuning: tuning}}
	return dc, cfg, nil
}

func main() {
	if err := command(start).Execute(); err != nil {
		os.Exit(1)
	}
}

// start runs the registrar the merged configuration describes, until
// SIGINT or SIGTERM.
func start(file File) error {
	log, err := logger(file.LogLevel)
	if err != nil {
		return err
	}
	defer log.Sync()
	dc, cfg, err := settings(file)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, log, dc, cfg, file.Stats, file.Mgmt)
}

// command parses the file and flags and hands the merged configuration to
// runner.
func command(runner func(File) error) *cobra.Command {
	var path string
	var f File
	cmd := &cobra.Command{
		Use:           "registrar",
		Short:         "sigpool pool registrar (RSerPool ASAP server, ENRP peer)",
		SilenceUsage:  true,
		SilenceErrors: false,
		RunE: func(cmd *cobra.Command, _ []string) error {
			file := File{}
			if path != "" {
				var err error
				if file, err = load(path); err != nil {
					return err
				}
			}
			merge(cmd, &file, f)
			return runner(file)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&path, "config", "", "YAML configuration file")
	fl.Uint32Var(&f.ServerID, "id", 0, "server identifier (non-zero, unique in the operation scope)")
	fl.StringVar(&f.ASAP, "asap", "", "ASAP listen address IP[+IP…]:port (default 0.0.0.0:3863)")
	fl.StringVar(&f.ENRP, "enrp", "", "ENRP listen address IP[+IP…]:port")
	fl.StringSliceVar(&f.Peers, "peer", nil, "static peer registrar ENRP address (repeatable)")
	fl.StringSliceVar(&f.Allow, "allow", nil, "network allowed to register (repeatable; default: any)")
	fl.StringVar(&f.Tuning, "tuning", "", "SCTP tuning: telecom or rfc")
	fl.StringVar(&f.LogLevel, "log-level", "", "debug, info, warn, error")
	fl.DurationVar(&f.Stats, "stats", 0, "log the counters at this interval (0: only at exit)")
	fl.StringVar(&f.Mgmt, "mgmt", "", "management listener host:port (/metrics, /livez, /api/v1/pools); empty: none")
	fl.DurationVar(&f.KeepAlive, "keepalive", 0, "endpoint keep-alive interval (default 1s)")
	fl.DurationVar(&f.KeepAliveTimeout, "keepalive-timeout", 0, "endpoint keep-alive timeout (default 1s)")
	fl.IntVar(&f.MaxBadPEReport, "max-bad-pe-report", 0, "different pool users whose reports remove an element (default 3)")
	fl.DurationVar(&f.PeerHeartbeat, "peer-heartbeat", 0, "ENRP peer heartbeat cycle (default 250ms)")
	fl.DurationVar(&f.MaxTimeLastHeard, "max-time-last-heard", 0, "default 600ms")
	fl.DurationVar(&f.MaxTimeNoResponse, "max-time-no-response", 0, "default 300ms")
	fl.DurationVar(&f.TakeoverExpiry, "takeover-expiry", 0, "default 500ms")
	fl.IntVar(&f.ResolutionRate, "resolution-rate", 0, "handle resolutions per second and association (default 1000)")
	fl.IntVar(&f.ResolutionBurst, "resolution-burst", 0, "handle resolution burst per association (default 200)")
	fl.IntVar(&f.TagBits, "tag-bits", 0, "low PE identifier bits unique per pool (0: off; the gateway uses 16)")
	return cmd
}

// merge puts the flags the user set over the file.
func merge(cmd *cobra.Command, file *File, f File) {
	set := func(name string) bool { return cmd.Flags().Changed(name) }
	if set("id") {
		file.ServerID = f.ServerID
	}
	if set("asap") {
		file.ASAP = f.ASAP
	}
	if set("enrp") {
		file.ENRP = f.ENRP
	}
	if set("peer") {
		file.Peers = f.Peers
	}
	if set("allow") {
		file.Allow = f.Allow
	}
	if set("tuning") {
		file.Tuning = f.Tuning
	}
	if set("log-level") {
		file.LogLevel = f.LogLevel
	}
	if set("stats") {
		file.Stats = f.Stats
	}
	if set("mgmt") {
		file.Mgmt = f.Mgmt
	}
	if set("keepalive") {
		file.KeepAlive = f.KeepAlive
	}
	if set("keepalive-timeout") {
		file.KeepAliveTimeout = f.KeepAliveTimeout
	}
	if set("max-bad-pe-report") {
		file.MaxBadPEReport = f.MaxBadPEReport
	}
	if set("peer-heartbeat") {
		file.PeerHeartbeat = f.PeerHeartbeat
	}
	if set("max-time-last-heard") {
		file.MaxTimeLastHeard = f.MaxTimeLastHeard
	}
	if set("max-time-no-response") {
		file.MaxTimeNoResponse = f.MaxTimeNoResponse
	}
	if set("takeover-expiry") {
		file.TakeoverExpiry = f.TakeoverExpiry
	}
	if set("resolution-rate") {
		file.ResolutionRate = f.ResolutionRate
	}
	if set("resolution-burst") {
		file.ResolutionBurst = f.ResolutionBurst
	}
	if set("tag-bits") {
		file.TagBits = f.TagBits
	}
}

func logger(level string) (*zap.Logger, error) {
	lvl := zapcore.InfoLevel
	if level != "" {
		if err := lvl.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("log level %q: %w", level, err)
		}
	}
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(lvl)
	return zc.Build()
}

// run runs the registrar until ctx ends, with a management listener on
// mgmtAddr unless it is empty.
func run(ctx context.Context, log *zap.Logger, dc enrp.DriverConfig, cfg enrp.Config, stats time.Duration, mgmtAddr string) error {
	log = log.With(zap.Uint32("server_id", cfg.ServerID))
	dc.OnEvent = func(e enrp.Event) { logEvent(log, e) }
	var ls []net.Listener
	if mgmtAddr != "" {
		var err error
		if ls, err = mgmt.Listen(mgmtAddr, ""); err != nil {
			return fmt.Errorf("management listener: %w", err)
		}
	}
	d, err := enrp.NewDriver(dc, cfg)
	if err != nil {
		for _, l := range ls {
			l.Close()
		}
		return err
	}
	d.Start()
	served := make(chan error, 1)
	if len(ls) > 0 {
		mctx, stop := context.WithCancel(ctx)
		defer func() { stop(); <-served }()
		go func() { served <- serveMgmt(mctx, log, d, cfg.ServerID, ls) }()
		log.Info("management listener", zap.Stringer("addr", ls[0].Addr()))
	} else {
		served <- nil
	}
	log.Info("registrar started", zap.Stringer("asap", dc.ASAPAddr), zap.Stringer("enrp", dc.ENRPAddr),
		zap.Int("peers", len(cfg.Peers)))
	var tick <-chan time.Time
	if stats > 0 {
		t := time.NewTicker(stats)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			logCounters(log, d)
		case <-ctx.Done():
			logCounters(log, d)
			d.Close(false)
			log.Info("registrar stopped")
			return nil
		}
	}
}

func logCounters(log *zap.Logger, d *enrp.Driver) {
	var c enrp.Counters
	var elements int
	d.Do(func(r *enrp.Registrar) { c = r.Counters(); elements = r.Handlespace().Len() })
	log.Info("counters", counterFields(c, elements)...)
}

// counterFields names every non-zero counter: asap_in.ASAP_REGISTRATION,
// enrp_out.ENRP_PRESENCE, cause.Invalid Values, …
func counterFields(c enrp.Counters, elements int) []zap.Field {
	fs := []zap.Field{zap.Int("elements", elements)}
	add := func(prefix string, a [16]uint64, name func(i int) string) {
		for i, n := range a {
			if n > 0 {
				fs = append(fs, zap.Uint64(prefix+"."+name(i), n))
			}
		}
	}
	add("asap_in", c.ASAPIn, func(i int) string { return rserpool.MessageType(i).String() })
	add("asap_out", c.ASAPOut, func(i int) string { return rserpool.MessageType(i).String() })
	add("enrp_in", c.ENRPIn, func(i int) string { return enrp.MessageType(i).String() })
	add("enrp_out", c.ENRPOut, func(i int) string { return enrp.MessageType(i).String() })
	add("cause", c.Causes, func(i int) string { return rserpool.Cause(i).String() })
	fs = append(fs, zap.Uint64("undecodable", c.Undecodable), zap.Uint64("rate_limited", c.RateLimited),
		zap.Uint64("takeovers", c.Takeovers), zap.Uint64("resyncs", c.Resyncs), zap.Uint64("peers_dead", c.PeersDead))
	for i, n := range c.Removed {
		if n > 0 {
			fs = append(fs, zap.Uint64("removed."+enrp.RemoveReason(i).String(), n))
		}
	}
	return fs
}

// logEvent writes one line per event an operator cares about.
func logEvent(log *zap.Logger, e enrp.Event) {
	switch e := e.(type) {
	case enrp.Registered:
		if e.Conn == 0 { // learned from a peer: its home logged the registration
			log.Debug("element learned", zap.ByteString("pool", e.Handle), zap.Uint32("pe", e.ID),
				zap.Uint32("home", e.Home), zap.Bool("initial", e.Initial))
			return
		}
		log.Info("registration", zap.ByteString("pool", e.Handle), zap.Uint32("pe", e.ID),
			zap.Bool("initial", e.Initial), zap.Uint64("assoc", uint64(e.Conn)))
	case enrp.Deregistered:
		log.Info("deregistration", zap.ByteString("pool", e.Handle), zap.Uint32("pe", e.ID))
	case enrp.Removed:
		log.Warn("element removed", zap.ByteString("pool", e.Handle), zap.Uint32("pe", e.ID),
			zap.Uint32("home", e.Home), zap.Stringer("reason", e.Reason))
	case enrp.Refused:
		log.Warn("refused", zap.Uint64("assoc", uint64(e.Conn)), zap.Stringer("cause", e.Err.Cause),
			zap.String("reason", e.Err.Reason))
	case enrp.RateLimited:
		log.Warn("rate limited", zap.Uint64("assoc", uint64(e.Conn)), zap.Stringer("message", e.Type))
	case enrp.Reported:
		log.Info("unreachable report", zap.ByteString("pool", e.Handle), zap.Uint32("pe", e.ID),
			zap.Int("reporters", e.Count), zap.Uint64("assoc", uint64(e.Conn)))
	case enrp.PeerUp:
		log.Info("peer up", zap.Uint32("peer", e.ServerID))
	case enrp.PeerDead:
		log.Warn("peer dead", zap.Uint32("peer", e.ServerID))
	case enrp.MentorFound:
		log.Info("mentor", zap.Uint32("peer", e.ServerID))
	case enrp.Synchronized:
		log.Info("handle table received", zap.Uint32("peer", e.ServerID), zap.Int("elements", e.Elements),
			zap.Bool("resync", e.Resync))
	case enrp.ResyncStarted:
		log.Warn("resynchronisation", zap.Uint32("peer", e.ServerID), zap.Uint16("their_checksum", e.Theirs),
			zap.Uint16("our_checksum", e.Our))
	case enrp.TakeoverStarted:
		log.Warn("takeover started", zap.Uint32("target", e.Target))
	case enrp.TakeoverDone:
		log.Warn("takeover", zap.Uint32("target", e.Target), zap.Uint32("winner", e.Winner),
			zap.Int("elements", e.Elements))
	}
}

// serveMgmt serves the management API (internal/mgmt) on ls until ctx
// ends: the registrar's metrics (enrp.Collector, with the Go and process
// collectors) on /metrics, its handlespace on /api/v1/pools.
func serveMgmt(ctx context.Context, log *zap.Logger, d *enrp.Driver, id uint32, ls []net.Listener) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(enrp.NewCollector(d), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	self := fmt.Sprintf("registrar=%d", id)
	am, err := alarms.NewManager(alarms.Config{Self: self, SystemID: self, Log: log})
	if err != nil {
		return err
	}
	defer am.Close()
	srv := mgmt.New(mgmt.Config{System: self, Alarms: am, Gatherer: reg, Log: log, Pools: pools{d}})
	return srv.Serve(ctx, ls...)
}

// pools lists the handlespace for the management API.
type pools struct{ d *enrp.Driver }

func (p pools) Pools(ctx context.Context) ([]mgmt.Pool, error) {
	var out []mgmt.Pool
	if !p.d.Do(func(r *enrp.Registrar) {
		for _, pl := range r.Handlespace().AppendPools(nil) {
			mp := mgmt.Pool{Handle: string(pl.Handle()), Policy: pl.Policy().String(), Elements: []mgmt.Element{}}
			for _, e := range pl.AppendElements(nil) {
				pe := e.PoolElement()
				addr := ""
				if len(pe.UserTransport.Addrs) > 0 {
					addr = netip.AddrPortFrom(pe.UserTransport.Addrs[0], pe.UserTransport.Port).String()
				}
				mp.Elements = append(mp.Elements, mgmt.Element{ID: fmt.Sprintf("%d", pe.ID), Address: addr,
					State: "registered", Load: pe.Policy.Load, Registrar: fmt.Sprintf("%d", pe.HomeRegistrar)})
			}
			out = append(out, mp)
		}
	}) {
		return nil, enrp.ErrClosed
	}
	return out, nil
}
