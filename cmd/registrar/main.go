// Command registrar runs a sigpool pool registrar (RSerPool ASAP server
// and ENRP peer) from a YAML configuration file and flags.
//
//	registrar --config /etc/sigpool/registrar.yaml
//	registrar --id 1 --asap 10.99.0.1:3863 --enrp 10.99.0.1:9901 --peer 10.99.0.2:9901
//
// Flags override the file's keys (the schema is File; --check only
// validates); an error names the file, line and key (or the flag). It logs
// (zap, JSON by default) every registration, deregistration, removal, peer
// change, takeover and resynchronisation, and the counters per message type
// and error cause every --stats interval and at exit.
//
// # Operations
//
// The process's managed object is "registrar=<server id>". It raises
// registrar-peer-lost on "registrar=<id>,peer=<peer id>" when an ENRP peer
// stops answering (cleared when it is heard again), takeover-performed when
// it took a dead peer's elements over, and handlespace-checksum-mismatch
// while a resynchronisation with a peer is in progress (enrp.Alarms). The
// association to the i-th configured peer raises association-down and
// path-down on "registrar=<id>,assoc=peer<i>" (see watchedTransport). Each
// pool of the pools key raises pool-empty and pool-below-minimum on
// "registrar=<id>,pool=<handle>" (see Watch).
//
// With mgmt (host:port) or mgmt_socket it serves the management API
// (internal/mgmt): the sigpool_rserpool_* metrics beside the daemon's own on
// /metrics, the handlespace on /api/v1/pools, every SCTP association on
// /api/v1/associations (and sigpool_sctp_* metrics), the alarms, /livez and
// /readyz. SIGHUP re-reads the file: log_level, allow, keepalive,
// keepalive_timeout, max_bad_pe_report, report_window, max_hres_items,
// resolution_rate, resolution_burst, report_rate, report_burst and pools take
// effect (the allow-list for the next registrations, the keep-alive timers
// from the next one armed, the rate limits from the next message); a change
// to any other key refuses the whole reload, naming the key (alarm
// config-reload-refused), and the registrar runs on. SIGTERM stops it: its
// associations close, and its peers take its elements over.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/internal/config"
	"github.com/sigpool/sigpool/internal/daemon"
	"github.com/sigpool/sigpool/internal/mgmt"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil))
}

// env is what tests replace: the transport, the signals, and a look at
// the running registrar.
type env struct {
	transport sctp.Transport
	signals   <-chan os.Signal
	started   func(*enrp.Driver, *daemon.Daemon)
}

// run is main without the process: it returns the exit status, 2 for a
// configuration refused, 1 for a failure to run.
func run(args []string, stdout, stderr io.Writer, e *env) int {
	status := 0
	cmd := command(func(f File, reload func() (File, error)) error {
		if err := start(f, reload, stderr, e); err != nil {
			status = 1
			return err
		}
		return nil
	})
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(stderr, "registrar:", err)
		if status == 0 {
			status = 2
		}
	}
	return status
}

// command parses the file and flags and hands the merged, validated
// configuration to runner, with a function that reads it again (SIGHUP).
func command(runner func(f File, reload func() (File, error)) error) *cobra.Command {
	var path string
	var check bool
	cmd := &cobra.Command{
		Use:           "registrar",
		Short:         "sigpool pool registrar (RSerPool ASAP server, ENRP peer)",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
	}
	fl := cmd.Flags()
	fl.StringVar(&path, "config", "", "YAML configuration file")
	fl.BoolVar(&check, "check", false, "validate the configuration and exit")
	o := config.NewOverrides(fl)
	o.String("id", "server_id", "server identifier (non-zero, unique in the operation scope)")
	o.String("asap", "asap", "ASAP listen address IP[+IP…]:port (default 0.0.0.0:3863)")
	o.String("enrp", "enrp", "ENRP listen address IP[+IP…]:port")
	o.Strings("peer", "peers", "static peer registrar ENRP address (repeatable)")
	o.Strings("allow", "allow", "network allowed to register (repeatable; default: any)")
	o.String("tuning", "tuning", "SCTP tuning: telecom or rfc")
	o.String("log-level", "log_level", "debug, info, warn, error")
	o.String("log-format", "log_format", "json or console")
	o.String("stats", "stats", "log the counters at this interval (0: only at exit)")
	o.String("mgmt", "mgmt", "management listener host:port (/metrics, /livez, /api/v1/pools, alarms); empty: none")
	o.String("mgmt-socket", "mgmt_socket", "management Unix socket")
	o.String("alarm-history", "history", "alarm history file (default: in memory)")
	o.String("keepalive", "keepalive", "endpoint keep-alive interval (default 1s)")
	o.String("keepalive-timeout", "keepalive_timeout", "endpoint keep-alive timeout (default 1s)")
	o.String("max-bad-pe-report", "max_bad_pe_report", "different pool users whose reports remove an element (default 3)")
	o.String("report-window", "report_window", "window of the unreachable reports (default 10s)")
	o.String("max-hres-items", "max_hres_items", "elements per handle resolution (default 3)")
	o.String("peer-heartbeat", "peer_heartbeat", "ENRP peer heartbeat cycle (default 250ms)")
	o.String("max-time-last-heard", "max_time_last_heard", "default 600ms")
	o.String("max-time-no-response", "max_time_no_response", "default 300ms")
	o.String("takeover-expiry", "takeover_expiry", "default 500ms")
	o.String("resolution-rate", "resolution_rate", "handle resolutions per second and association (default 1000)")
	o.String("resolution-burst", "resolution_burst", "handle resolution burst per association (default 200)")
	o.String("report-rate", "report_rate", "endpoint-unreachable reports per second and association (default 10)")
	o.String("report-burst", "report_burst", "endpoint-unreachable report burst per association (default 10)")
	o.String("startup-grace", "startup_grace", "no pool alarm this long after the start (default 5s)")
	o.String("tag-bits", "tag_bits", "low PE identifier bits unique per pool (0: off; the gateway uses 16)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var f File
		if err := config.Load(path, &f, o); err != nil {
			return err
		}
		if check {
			fmt.Fprintln(cmd.OutOrStdout(), "configuration OK")
			return nil
		}
		reload := func() (File, error) {
			var nf File
			if path == "" {
				return nf, errors.New("no configuration file to reload (started with flags only)")
			}
			err := config.Load(path, &nf, o)
			return nf, err
		}
		return runner(f, reload)
	}
	return cmd
}

// start runs the registrar f describes until it is told to stop.
func start(f File, reload func() (File, error), logOut io.Writer, e *env) error {
	if e == nil {
		e = &env{}
	}
	id := strconv.FormatUint(uint64(f.ServerID), 10)
	d, err := daemon.New(daemon.Options{
		Name: "registrar", Instance: id,
		LogLevel: f.LogLevel, LogFormat: f.LogFormat, LogOutput: logOut,
		MgmtAddr: f.Mgmt, MgmtSocket: f.MgmtSocket, History: f.History,
		Signals: e.signals,
	})
	if err != nil {
		return err
	}
	dc, cfg := settings(f)
	if e.transport != nil {
		dc.Transport = e.transport
	}
	wt, err := newWatchedTransport(dc.Transport, d, f)
	if err != nil {
		d.Close()
		return err
	}
	dc.Transport = wt
	log := d.Log.With(zap.Uint32("server_id", cfg.ServerID))
	al := enrp.Alarms{Sink: d.Alarms, Object: d.Self, ServerID: cfg.ServerID}
	dc.OnEvent = func(ev enrp.Event) {
		logEvent(log, ev)
		al.Event(ev)
	}
	reg, err := enrp.NewDriver(dc, cfg)
	if err != nil {
		d.Close()
		return err
	}
	d.Registry.MustRegister(enrp.NewCollector(reg))
	pw := newPoolWatcher(reg, d.Alarms, log, d.Self, f)

	var mu sync.Mutex
	var running atomic.Bool
	current := f
	return d.Run(context.Background(), daemon.Hooks{
		Main: func(ctx context.Context) error {
			reg.Start()
			running.Store(true)
			stopWatch, watchDone := make(chan struct{}), make(chan struct{})
			go func() { pw.run(stopWatch); close(watchDone) }()
			log.Info("registrar started", zap.Stringer("asap", dc.ASAPAddr), zap.Stringer("enrp", dc.ENRPAddr),
				zap.Int("peers", len(cfg.Peers)))
			if e.started != nil {
				e.started(reg, d)
			}
			var tick <-chan time.Time
			if f.Stats > 0 {
				t := time.NewTicker(f.Stats)
				defer t.Stop()
				tick = t.C
			}
			for {
				select {
				case <-tick:
					logCounters(log, reg)
				case <-ctx.Done():
					// The watcher first: a closed registrar has no
					// elements, and its pools are not empty for that.
					close(stopWatch)
					<-watchDone
					logCounters(log, reg)
					reg.Close(false)
					wt.stop()
					log.Info("registrar stopped")
					return nil
				}
			}
		},
		Reload: func(context.Context) error {
			nf, err := reload()
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if err := restartOnly(current, nf); err != nil {
				return err
			}
			lvl, _ := daemon.ParseLevel(nf.LogLevel) // validated
			tu := nf.tunables()
			if !reg.Do(func(r *enrp.Registrar) { r.SetTunables(tu) }) {
				return enrp.ErrClosed
			}
			d.Level.SetLevel(lvl)
			pw.set(nf)
			current = nf
			log.Info("configuration reloaded", zap.String("log_level", lvl.String()), zap.Strings("allow", nf.Allow),
				zap.Duration("keepalive", nf.KeepAlive), zap.Duration("keepalive_timeout", nf.KeepAliveTimeout),
				zap.Int("resolution_rate", nf.ResolutionRate), zap.Int("resolution_burst", nf.ResolutionBurst),
				zap.Int("report_rate", nf.ReportRate), zap.Int("report_burst", nf.ReportBurst),
				zap.Int("pools", len(nf.Pools)))
			return nil
		},
		// Ready once the listeners serve; a registrar without any peer
		// still serves its pool elements and users, so peers do not count.
		Ready: func(context.Context) error {
			if !running.Load() {
				return errors.New("registrar not started")
			}
			return nil
		},
		Pools: handlespace{reg},
	})
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

// handlespace lists every pool of the registrar's handlespace for the
// management API, the elements as mgmt.RegistrarPools shows them.
type handlespace struct{ d *enrp.Driver }

func (h handlespace) Pools(ctx context.Context) ([]mgmt.Pool, error) {
	var pools []mgmt.Pool
	if !h.d.Do(func(r *enrp.Registrar) {
		for _, p := range r.Handlespace().AppendPools(nil) {
			pools = append(pools, mgmt.Pool{Handle: string(p.Handle()), Policy: p.Policy().String()})
		}
	}) {
		return nil, enrp.ErrClosed
	}
	return mgmt.RegistrarPools(h.d, pools).Pools(ctx)
}
