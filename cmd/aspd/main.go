// Command aspd is sigpool's reference application server process: one M3UA
// ASP dialing every gateway and one RSerPool pool element of its service's
// pool (package asp), running a scripted TCAP responder.
//
//	aspd --config /etc/sigpool/aspd.yaml
//	aspd --local 10.1.0.11+10.2.0.11 --gateway 10.1.0.1+10.2.0.1:2906 \
//	     --registrar 10.1.0.1+10.2.0.1:3863 --pool hlr.sigpool --rc 200 --steps 2
//
// Flags override the file's keys (--config names the file; --check only
// validates it). The file's schema is File (cmd/aspd/config.go); an example
// is cmd/aspd/testdata/aspd.yaml.
//
// # The dialogue script
//
// The responder plays the server side of the script cmd/sigload plays the
// network side of, with S = service.steps:
//
//	network                          aspd
//	Begin (OTID n)          ──────►
//	                        ◄──────  Continue (OTID a, DTID n)      step 1 of S
//	Continue (DTID a)       ──────►
//	                        ◄──────  Continue                       step 2 of S
//	...
//	Continue (DTID a)       ──────►
//	                        ◄──────  End (DTID n)
//
// S = 0 answers the Begin with an End at once. With service.follow_network
// a Begin carrying cmd/sigload's Invoke (operation 100, parameter OCTET
// STRING {steps, 0}) sets S for its dialogue. Each answer leaves after
// service.time. An Invoke in a network message is answered by a
// ReturnResultLast with its invoke id in the answer; no dialogue portion is
// sent. Before each Continue the responder checkpoints the number of
// Continues sent and S (state: version octet 1, then each number in 4
// octets, big-endian) to every gateway; a dialogue handed over to it goes on
// from there, so the network sees the same script whichever server
// finishes it.
//
// # Operations
//
// The management listener (mgmt, mgmt_socket) serves /metrics (sigpool_aspd_…
// beside the daemon's own), /livez, and /readyz: ready when ASP-ACTIVE at one
// gateway at least and registered in the pool. SIGHUP re-reads the file:
// log_level, service and drain take effect, anything else is refused (alarm
// config-reload-refused) until a restart. SIGTERM drains: new Begins are
// refused (P-Abort, resource limitation), the element deregisters (the
// gateways send new dialogues elsewhere and hand its dialogues' next steps
// over by their checkpoints), the answers still owed go out (for up to
// drain), then the ASP goes down at every gateway (ASPIA, ASPDN, SCTP
// SHUTDOWN) and aspd exits 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/sigpool/sigpool/asp"
	"github.com/sigpool/sigpool/internal/config"
	"github.com/sigpool/sigpool/internal/daemon"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

func main() {
	if err := command(nil).Execute(); err != nil {
		os.Exit(1)
	}
}

// env is what tests replace: the transport and the signals.
type env struct {
	transport sctp.Transport
	signals   <-chan os.Signal
	started   func(*asp.Server, *daemon.Daemon)
}

func command(e *env) *cobra.Command {
	var path string
	var check bool
	cmd := &cobra.Command{
		Use:          "aspd",
		Short:        "sigpool application server process (M3UA ASP + RSerPool pool element, TCAP responder)",
		SilenceUsage: true,
		Args:         cobra.NoArgs,
	}
	fl := cmd.Flags()
	fl.StringVar(&path, "config", "", "YAML configuration file")
	fl.BoolVar(&check, "check", false, "validate the configuration and exit")
	o := config.NewOverrides(fl)
	o.String("instance", "instance", "instance name (default: host name)")
	o.String("log-level", "log_level", "debug, info, warn, error")
	o.String("log-format", "log_format", "json or console")
	o.String("mgmt", "mgmt", "management listener host:port")
	o.String("mgmt-socket", "mgmt_socket", "management Unix socket")
	o.String("local", "local", "local addresses ip[+ip…][:port]")
	o.Strings("gateway", "gateways", "gateway M3UA address ip[+ip…]:port (repeatable)")
	o.Strings("registrar", "registrars", "registrar ASAP address ip[+ip…]:port (repeatable)")
	o.String("tuning", "tuning", "SCTP timers: telecom or rfc")
	o.String("pool", "pool", "pool handle")
	o.String("policy", "policy", "pool policy (default least_used)")
	o.String("capacity", "capacity", "dialogues at full load")
	o.String("load-step", "load_step", "load change (percent) registered at once")
	o.String("pe-id", "pe_id", "PE identifier to start with (0: random)")
	o.String("rc", "rc", "routing context of the service AS")
	o.String("dialogue-timeout", "dialogue_timeout", "idle dialogue given up after")
	o.String("service-time", "service.time", "service time of each answer")
	o.String("steps", "service.steps", "Continues before the End (0: End at once)")
	o.String("follow-network", "service.follow_network", "take each dialogue's steps from sigload's Invoke in its Begin")
	o.String("drain", "drain", "bound of the graceful stop")
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
			err := config.Load(path, &nf, o)
			return nf, err
		}
		return run(cmd.Context(), f, reload, e)
	}
	return cmd
}

// run runs aspd until it is told to stop.
func run(ctx context.Context, f File, reload func() (File, error), e *env) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if e == nil {
		e = &env{}
	}
	d, err := daemon.New(daemon.Options{
		Name: "aspd", Instance: f.Instance,
		LogLevel: f.LogLevel, LogFormat: f.LogFormat,
		MgmtAddr: f.Mgmt, MgmtSocket: f.MgmtSocket, History: f.History,
		DrainTimeout: f.Drain, Signals: e.signals,
	})
	if err != nil {
		return err
	}
	cfg := f.serverConfig()
	if e.transport != nil {
		cfg.Transport = e.transport
	}
	cfg.Logger = d.Log
	mon, err := newMonitored(cfg.Transport, d, &f)
	if err != nil {
		d.Close()
		return err
	}
	cfg.Transport = mon
	resp := newResponder(f.Service, d.Log.Named("responder"))
	s, err := asp.New(cfg, resp)
	if err != nil {
		d.Close()
		return err
	}
	registerMetrics(d.Registry, s, resp)

	var mu sync.Mutex
	current := f
	var drainErr error
	lastDrain := func() error {
		mu.Lock()
		defer mu.Unlock()
		return drainErr
	}
	return d.Run(ctx, daemon.Hooks{
		Main: func(ctx context.Context) error {
			if err := s.Start(); err != nil {
				return err
			}
			d.Log.Info("aspd started", zap.Uint32("pe_id", s.PEID()), zap.String("pool", f.Pool),
				zap.Int("gateways", len(f.Gateways)), zap.Int("steps", f.Service.Steps),
				zap.Duration("service_time", f.Service.Time))
			if e.started != nil {
				e.started(s, d)
			}
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err := s.Shutdown(sctx)
			mon.stop()
			c := s.Counters()
			d.Log.Info("aspd stopped", zap.Uint64("begins", c.Begins), zap.Uint64("completed", resp.completed.Load()),
				zap.Uint64("resumed", resp.resumed.Load()), zap.Uint64("timed_out", c.TimedOut), zap.Int("left", c.Active),
				zap.NamedError("drain", lastDrain()), zap.NamedError("shutdown", err))
			return nil
		},
		Ready: func(context.Context) error {
			if n := s.ActiveGateways(); n == 0 {
				return errors.New("ASP-ACTIVE at no gateway")
			}
			if !s.Registered() {
				return errors.New("not registered in pool " + f.Pool)
			}
			return nil
		},
		Reload: func(context.Context) error {
			if reload == nil {
				return errors.New("no configuration file to reload")
			}
			nf, err := reload()
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := restartOnly(current, nf); len(diff) > 0 {
				return errors.New(diff[0])
			}
			lvl, err := daemon.ParseLevel(nf.LogLevel)
			if err != nil {
				return err
			}
			d.Level.SetLevel(lvl)
			resp.SetScript(nf.Service)
			current = nf
			d.Log.Info("configuration reloaded", zap.Int("steps", nf.Service.Steps), zap.Duration("service_time", nf.Service.Time))
			return nil
		},
		Drain: func(ctx context.Context) error {
			d.Log.Info("draining", zap.Int("dialogues", s.Active()), zap.Int("owed", s.Owed()))
			err := s.Drain(ctx)
			mu.Lock()
			drainErr = err
			mu.Unlock()
			return err
		},
	})
}
