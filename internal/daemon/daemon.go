// Package daemon is the runtime sigpool's daemons (sgw, aspd, registrar)
// share, so that they log, alarm, export metrics, answer the management
// API, reload and stop the same way:
//
//   - a zap logger (JSON for journald, or console for a terminal) whose
//     level is an AtomicLevel the management API changes at run time
//     (GET/PUT /api/v1/log/level);
//   - an alarms.Manager on the process's own managed object
//     ("<program>=<instance>"), its history in a file (in memory when no
//     path is given), and a Prometheus registry holding the metrics.Set,
//     the alarm collector, the SCTP association collector and the Go and
//     process collectors;
//   - the management listener (internal/mgmt: /metrics, /livez, /readyz,
//     pprof, the alarm API, the providers the daemon gives) on TCP, a Unix
//     socket, or both;
//   - signals: SIGHUP calls Reload; a refused reload raises the
//     config-reload-refused alarm (the reason in its text) and the daemon
//     keeps running on its previous configuration; an accepted one clears
//     the alarm. SIGTERM or SIGINT (or the end of Run's context) calls
//     Drain, bounded by DrainTimeout, then stops Main and returns nil, so
//     the program exits 0; a second SIGTERM cuts the drain short;
//   - systemd notification: READY=1 once running, RELOADING=1 (with
//     MONOTONIC_USEC) around a reload, STOPPING=1 when the drain starts.
//
// The daemon is made in two steps because its components need the logger,
// the alarm manager and the metrics before they can start: New opens what
// the runtime owns, the program builds its components on it, and Run hands
// over its hooks and returns when the daemon has stopped:
//
//	d, err := daemon.New(daemon.Options{Name: "registrar", Instance: "7", LogLevel: cfg.LogLevel,
//		MgmtAddr: cfg.Mgmt, MgmtSocket: cfg.MgmtSocket, History: cfg.AlarmHistory, DrainTimeout: cfg.Drain})
//	if err != nil { ... }
//	reg, err := enrp.NewDriver(dc, ec) // built with d.Log, d.Alarms, d.Metrics
//	return d.Run(context.Background(), daemon.Hooks{
//		Main:   func(ctx context.Context) error { reg.Start(); <-ctx.Done(); reg.Close(false); return nil },
//		Reload: func(ctx context.Context) error { var n File; return config.Load(path, &n, overrides) /* then apply */ },
//		Pools:  mgmt.RegistrarPools(reg, pools), // GET /api/v1/pools, sgwctl pools
//	})
//
// The gateway gives mgmt.M3UASides over its two m3ua.Server (network side
// and application servers) as Hooks.ASPs for sgwctl asps and ases.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/alarms/metrics"
	"github.com/sigpool/sigpool/internal/mgmt"
)

// DefaultDrainTimeout bounds Drain when Options.DrainTimeout is zero.
const DefaultDrainTimeout = 5 * time.Second

// Options configure what New opens. Only Name is required.
type Options struct {
	// Name is the program ("sgw", "aspd", "registrar"), Instance this
	// instance (a gateway id, a host name; default the host name). The
	// process's managed object is "<Name>=<Instance>".
	Name     string
	Instance string

	// LogLevel is debug, info (default), warn or error; LogFormat json
	// (default) or console; LogOutput defaults to standard error.
	LogLevel  string
	LogFormat string
	LogOutput io.Writer

	// History is the alarm history file; empty keeps the history in
	// memory only. HistoryBytes bounds it (default
	// alarms.DefaultHistoryBytes).
	History      string
	HistoryBytes int64
	// Clock drives the alarm manager; default alarms.SystemClock.
	Clock alarms.Clock

	// MgmtAddr (TCP host:port) and MgmtSocket (a Unix socket path) are
	// the management listeners; both empty: no management listener.
	MgmtAddr   string
	MgmtSocket string

	// DrainTimeout bounds Hooks.Drain; StopTimeout bounds how long Run
	// waits for Hooks.Main to return once its context is cancelled.
	// Defaults DefaultDrainTimeout and 5s.
	DrainTimeout time.Duration
	StopTimeout  time.Duration

	// Signals replaces the process's signals (tests): Run reads
	// syscall.SIGHUP, SIGTERM and SIGINT from it instead.
	Signals <-chan os.Signal
}

// Daemon is the runtime of one process. Its exported fields are ready
// after New for the program to build its components on.
type Daemon struct {
	Name, Instance string
	// Self is the process's managed object, "<Name>=<Instance>"; the
	// manager raises its own alarms (and config-reload-refused) there.
	Self  string
	Log   *zap.Logger
	Level zap.AtomicLevel

	Alarms       *alarms.Manager
	Metrics      *metrics.Set
	Associations *metrics.Associations
	// Registry holds every collector; register the program's own here.
	// Run adds the families of Metrics that the program did not register
	// itself: a program's own collector of the same name wins (and the
	// Metrics field of that name is then not exported).
	Registry *prometheus.Registry

	opts      Options
	history   *alarms.HistoryFile
	listeners []net.Listener
	draining  chan struct{}
	drainOnce sync.Once
	closeOnce sync.Once
	sigCh     chan os.Signal // the process's signals, caught from New on
}

// New sets up logging, alarms, metrics and the management listeners.
// Close releases them; Run closes them when it returns.
func New(o Options) (*Daemon, error) {
	if o.Name == "" {
		return nil, errors.New("daemon: Options.Name is required")
	}
	if o.Instance == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		o.Instance = h
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 5 * time.Second
	}
	if strings.ContainsAny(o.Name+o.Instance, ",=") {
		return nil, fmt.Errorf("daemon: name %q and instance %q must not contain ',' or '='", o.Name, o.Instance)
	}
	d := &Daemon{Name: o.Name, Instance: o.Instance, Self: alarms.NormalizeDN(o.Name + "=" + o.Instance), opts: o, draining: make(chan struct{})}
	if !alarms.ValidDN(d.Self) {
		return nil, fmt.Errorf("daemon: %q is not a valid managed object name (instance %q)", d.Self, o.Instance)
	}
	level, err := ParseLevel(o.LogLevel)
	if err != nil {
		return nil, err
	}
	d.Level = zap.NewAtomicLevelAt(level)
	if d.Log, err = NewLogger(o.LogFormat, d.Level, o.LogOutput); err != nil {
		return nil, err
	}
	d.Log = d.Log.With(zap.String("program", o.Name), zap.String("instance", o.Instance))

	var store alarms.Store
	if o.History != "" {
		max := o.HistoryBytes
		if max <= 0 {
			max = alarms.DefaultHistoryBytes
		}
		if d.history, err = alarms.OpenHistory(o.History, max); err != nil {
			return nil, fmt.Errorf("daemon: alarm history: %w", err)
		}
		store = d.history
	}
	d.Alarms, err = alarms.NewManager(alarms.Config{
		Clock: o.Clock, Log: d.Log.Named("alarms"), Store: store, Self: d.Self, SystemID: d.Self,
	})
	if err != nil {
		d.closeHistory()
		return nil, fmt.Errorf("daemon: %w", err)
	}

	d.Registry = prometheus.NewRegistry()
	d.Metrics = metrics.New()
	d.Associations = metrics.NewAssociations()
	for _, c := range []prometheus.Collector{
		metrics.NewAlarmCollector(d.Alarms, alarms.Inventory), d.Associations,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := d.Registry.Register(c); err != nil {
			d.Close()
			return nil, fmt.Errorf("daemon: metrics: %w", err)
		}
	}

	if o.MgmtAddr != "" || o.MgmtSocket != "" {
		if d.listeners, err = mgmt.Listen(o.MgmtAddr, o.MgmtSocket); err != nil {
			d.Close()
			return nil, err
		}
	}
	if o.Signals == nil {
		// From here on, a SIGHUP or SIGTERM that arrives while the
		// program builds its components waits for Run instead of killing
		// the process (SIGHUP's default action).
		d.sigCh = make(chan os.Signal, 4)
		signal.Notify(d.sigCh, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	}
	return d, nil
}

// ParseLevel reads a log level name; empty is info.
func ParseLevel(s string) (zapcore.Level, error) {
	l := zapcore.InfoLevel
	if s == "" {
		return l, nil
	}
	if err := l.UnmarshalText([]byte(strings.ToLower(s))); err != nil {
		return l, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// NewLogger builds a zap logger: format "json" (default; for journald and
// log shippers) or "console", at level, written to out (default standard
// error). Times are ISO 8601.
func NewLogger(format string, level zap.AtomicLevel, out io.Writer) (*zap.Logger, error) {
	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch format {
	case "", "json":
		enc = zapcore.NewJSONEncoder(ec)
	case "console":
		ec.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, fmt.Errorf("log format %q: want json or console", format)
	}
	if out == nil {
		out = os.Stderr
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(out)), level), zap.ErrorOutput(zapcore.Lock(zapcore.AddSync(os.Stderr)))), nil
}

// Addrs returns the management listeners' addresses (the TCP port chosen
// when MgmtAddr ends in ":0").
func (d *Daemon) Addrs() []net.Addr {
	out := make([]net.Addr, len(d.listeners))
	for i, l := range d.listeners {
		out[i] = l.Addr()
	}
	return out
}

// Draining is closed when the daemon starts to stop (signal or end of
// Run's context), before Drain is called.
func (d *Daemon) Draining() <-chan struct{} { return d.draining }

// Hooks are the program's part of Run. All are optional.
type Hooks struct {
	// Main runs the program's work until its context is cancelled (after
	// the drain). An error from it stops the daemon at once, without a
	// drain, and Run returns it.
	Main func(ctx context.Context) error
	// Ready reports whether the daemon can take traffic (/readyz,
	// /api/v1/status); nil is always ready. While stopping the daemon is
	// never ready.
	Ready func(ctx context.Context) error
	// Reload re-reads the configuration on SIGHUP and applies it, or
	// refuses it whole and returns why; then the daemon keeps its previous
	// configuration and raises config-reload-refused.
	Reload func(ctx context.Context) error
	// Drain moves traffic away before the daemon stops; its context ends
	// after DrainTimeout or at a second SIGTERM.
	Drain func(ctx context.Context) error

	// The management API's views and commands (see internal/mgmt).
	Pools      mgmt.PoolProvider
	ASPs       mgmt.ASPProvider
	ASPControl mgmt.ASPControl
	Drainer    mgmt.Drainer
	// Associations defaults to the daemon's metrics.Associations.
	Associations mgmt.AssociationProvider
}

// Run serves the management API, handles the signals and runs h.Main until
// the daemon is told to stop (SIGTERM, SIGINT, or ctx ending), drains and
// returns nil; or until Main fails, returning its error. It closes the
// daemon when it returns.
func (d *Daemon) Run(ctx context.Context, h Hooks) error {
	defer d.Close()
	sigs := d.opts.Signals
	if d.sigCh != nil {
		defer signal.Stop(d.sigCh)
		sigs = d.sigCh
	}

	d.registerSet()

	srvCtx, stopSrv := context.WithCancel(context.Background())
	defer stopSrv()
	srvDone := make(chan error, 1)
	if len(d.listeners) > 0 {
		ap := h.Associations
		if ap == nil {
			ap = mgmt.AssociationsOf(d.Associations)
		}
		srv := mgmt.New(mgmt.Config{
			System: d.Self, Alarms: d.Alarms, Gatherer: d.Registry, Level: &d.Level, Log: d.Log.Named("mgmt"),
			Pools: h.Pools, Associations: ap, ASPs: h.ASPs, ASPControl: h.ASPControl, Drainer: h.Drainer,
		})
		srv.AddReadyCheck(d.Name, func(ctx context.Context) error {
			select {
			case <-d.draining:
				return errors.New("stopping")
			default:
			}
			if h.Ready != nil {
				return h.Ready(ctx)
			}
			return nil
		})
		go func() { srvDone <- srv.Serve(srvCtx, d.listeners...) }()
		for _, a := range d.Addrs() {
			d.Log.Info("management listener", zap.String("addr", a.String()), zap.String("net", a.Network()))
		}
	} else {
		srvDone <- nil
	}

	mainCtx, stopMain := context.WithCancel(context.Background())
	defer stopMain()
	mainDone := make(chan error, 1)
	if h.Main != nil {
		go func() { mainDone <- h.Main(mainCtx) }()
	}
	d.notify("READY=1", "STATUS=running")
	d.Log.Info("started")

	var mainErr error
	mainEnded := false
loop:
	for {
		select {
		case s := <-sigs:
			switch s {
			case syscall.SIGHUP:
				d.reload(ctx, h.Reload)
				continue
			default:
				d.Log.Info("stopping", zap.String("signal", s.String()))
			}
		case <-ctx.Done():
			d.Log.Info("stopping", zap.String("reason", "context ended"))
		case mainErr = <-mainDone:
			mainEnded = true
			if mainErr == nil {
				d.Log.Info("stopping", zap.String("reason", "main returned"))
			} else {
				d.Log.Error("stopping", zap.String("reason", "main failed"), zap.Error(mainErr))
			}
		}
		break loop
	}

	d.drainOnce.Do(func() { close(d.draining) })
	d.notify("STOPPING=1", "STATUS=draining")
	if h.Drain != nil && mainErr == nil {
		d.drain(sigs, h.Drain)
	}
	stopMain()
	if h.Main != nil && !mainEnded {
		select {
		case mainErr = <-mainDone:
		case <-time.After(d.opts.StopTimeout):
			d.Log.Error("main did not return after its context ended", zap.Duration("bound", d.opts.StopTimeout))
		}
	}
	stopSrv()
	if err := <-srvDone; err != nil {
		d.Log.Warn("management listener", zap.Error(err))
	}
	if mainErr != nil {
		return mainErr
	}
	d.Log.Info("stopped")
	return nil
}

// registerSet registers the families of d.Metrics, leaving out those whose
// names the program registered with collectors of its own.
func (d *Daemon) registerSet() {
	for _, c := range d.Metrics.Collectors() {
		if err := d.Registry.Register(c); err != nil {
			d.Log.Debug("metric family left to the program's own collector", zap.Error(err))
		}
	}
}

// drain runs the program's drain within DrainTimeout; another SIGTERM or
// SIGINT ends it early.
func (d *Daemon) drain(sigs <-chan os.Signal, drain func(context.Context) error) {
	dctx, cancel := context.WithTimeout(context.Background(), d.opts.DrainTimeout)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- drain(dctx) }()
	report := func(err error) {
		switch {
		case errors.Is(dctx.Err(), context.DeadlineExceeded):
			d.Log.Warn("drain did not finish within its bound", zap.Duration("bound", d.opts.DrainTimeout), zap.Error(err))
		case err != nil:
			d.Log.Warn("drain", zap.Error(err), zap.Duration("took", time.Since(start)))
		default:
			d.Log.Info("drained", zap.Duration("took", time.Since(start)))
		}
	}
	for {
		select {
		case err := <-done:
			report(err)
			return
		case <-dctx.Done():
			// The hook should return now; give it a moment, no more.
			select {
			case err := <-done:
				report(err)
			case <-time.After(time.Second):
				d.Log.Warn("drain ignored the end of its context; stopping anyway", zap.Duration("bound", d.opts.DrainTimeout))
			}
			return
		case s := <-sigs:
			if s == syscall.SIGHUP {
				continue
			}
			d.Log.Warn("drain cut short", zap.String("signal", s.String()))
			cancel()
		}
	}
}

// reload runs the program's reload and turns a refusal into the alarm.
func (d *Daemon) reload(ctx context.Context, reload func(context.Context) error) {
	if reload == nil {
		d.Log.Warn("SIGHUP ignored: this program does not reload")
		return
	}
	d.notify("RELOADING=1", monotonicUsec(), "STATUS=reloading")
	d.Log.Info("reloading")
	err := reload(ctx)
	if err != nil {
		d.Log.Error("configuration reload refused; running on the previous configuration", zap.Error(err))
		if rerr := d.Alarms.Raise(alarms.Report{Def: alarms.ConfigReloadRefused, Object: d.Self, AdditionalText: err.Error()}); rerr != nil {
			d.Log.Error("raise alarm", zap.Error(rerr))
		}
	} else {
		d.Log.Info("configuration reloaded")
		if cerr := d.Alarms.Clear(alarms.ConfigReloadRefused, d.Self); cerr != nil {
			d.Log.Error("clear alarm", zap.Error(cerr))
		}
	}
	d.notify("READY=1", "STATUS=running")
}

func (d *Daemon) notify(lines ...string) {
	if err := mgmt.Notify(strings.Join(lines, "\n")); err != nil {
		d.Log.Warn("systemd notify", zap.Error(err))
	}
}

// monotonicUsec is the MONOTONIC_USEC line systemd (Type=notify-reload)
// wants with RELOADING=1.
func monotonicUsec() string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return "MONOTONIC_USEC=0"
	}
	return fmt.Sprintf("MONOTONIC_USEC=%d", ts.Sec*1e6+ts.Nsec/1e3)
}

// Close stops the alarm manager, closes its history and the listeners not
// yet handed to Run, and syncs the log. It is safe to call more than once.
func (d *Daemon) Close() error {
	d.closeOnce.Do(func() {
		if d.sigCh != nil {
			signal.Stop(d.sigCh)
		}
		for _, l := range d.listeners {
			l.Close()
		}
		if d.Alarms != nil {
			d.Alarms.Close()
		}
		d.closeHistory()
		if d.Log != nil {
			d.Log.Sync()
		}
	})
	return nil
}

func (d *Daemon) closeHistory() {
	if d.history != nil {
		d.history.Close()
	}
}
