// Command sgw is sigpool's signalling gateway: the M3UA SGP for the SS7
// network nodes and for the application server processes, with the embedded
// RSerPool registrar, routing every new dialogue to the least used element
// of its service's pool (docs/gateway.md).
//
//	sgw --config /etc/sigpool/sgw.yaml [--mgmt ADDR] [--log-level LEVEL] [--check]
//
// The file is validated at start and on SIGHUP; an error names the file, the
// line and the field. Flags override the file. SIGTERM drains (no new
// dialogue, both M3UA sides shut down within limits.drain, the registrar
// leaves the cluster) and exits 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/sigpool/sigpool/gateway"
	"github.com/sigpool/sigpool/internal/config"
	"github.com/sigpool/sigpool/internal/daemon"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// flags are the command line; a flag the user set replaces the file's value.
type flags struct {
	config     string
	over       *config.Overrides
	mgmtSocket string
	logFormat  string
	history    string
	check      bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	status := 0
	cmd := command(func(cmd *cobra.Command, f flags) error {
		cfg, err := load(cmd, f)
		if err != nil {
			status = 2
			return err
		}
		if f.check {
			fmt.Fprintf(stdout, "%s: ok\n", f.config)
			return nil
		}
		if err := serve(cmd, f, cfg); err != nil {
			status = 1
			return err
		}
		return nil
	})
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(stderr, "sgw:", err)
		if status == 0 {
			status = 2
		}
	}
	return status
}

func command(runner func(*cobra.Command, flags) error) *cobra.Command {
	var f flags
	cmd := &cobra.Command{
		Use:           "sgw",
		Short:         "sigpool signalling gateway (M3UA SGP, dialogue-aware pool user, embedded registrar)",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          func(cmd *cobra.Command, _ []string) error { return runner(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "YAML configuration file (required)")
	f.over = config.NewOverrides(fl)
	f.over.String("mgmt", "mgmt", "management listener host:port (metrics, alarms, API); overrides mgmt")
	fl.StringVar(&f.mgmtSocket, "mgmt-socket", "", "management listener on a Unix socket")
	f.over.String("log-level", "log_level", "debug, info, warn or error; overrides log_level")
	fl.StringVar(&f.logFormat, "log-format", "json", "json or console")
	fl.StringVar(&f.history, "alarm-history", "", "alarm history file (default: in memory)")
	fl.BoolVar(&f.check, "check", false, "validate the configuration and exit")
	return cmd
}

// load reads the file, puts the flags over it and validates the result: an
// error names the file, the line and the field, or the flag.
func load(_ *cobra.Command, f flags) (*gateway.Config, error) {
	if f.config == "" {
		return nil, errors.New("--config FILE is required")
	}
	return gateway.LoadConfigWith(f.config, f.over)
}

func serve(cmd *cobra.Command, f flags, cfg *gateway.Config) error {
	d, err := daemon.New(daemon.Options{
		Name: "sgw", Instance: strconv.FormatUint(uint64(cfg.GatewayID), 10),
		LogLevel: cfg.LogLevel, LogFormat: f.logFormat, LogOutput: cmd.ErrOrStderr(),
		History: f.history, MgmtAddr: cfg.Mgmt, MgmtSocket: f.mgmtSocket,
		DrainTimeout: cfg.Limits.Drain,
	})
	if err != nil {
		return err
	}
	tuning, _ := cfg.SCTPTuning()
	tr := newTracked(sctp.Kernel{Config: sctp.Config{Tuning: tuning}}, d.Associations, roles(cfg))
	tr.monitor = pathAlarms(d.Alarms, d.Metrics, d.Log, d.Self)
	g, err := gateway.New(cfg, gateway.Options{
		Transport: tr,
		Log:       d.Log, Alarms: d.Alarms, Registerer: d.Registry,
	})
	if err != nil {
		d.Close()
		return err
	}
	current := cfg
	pools, asps := views(cfg, g)
	return d.Run(context.Background(), daemon.Hooks{
		Pools:   pools,
		ASPs:    asps,
		Drainer: &drainer{g: g},
		Main: func(ctx context.Context) error {
			if err := g.Start(); err != nil {
				return err
			}
			d.Log.Info("sgw running", zap.Uint32("gateway_id", cfg.GatewayID),
				zap.Stringer("network", g.NetworkAddr()), zap.Stringer("servers", g.ServerAddr()),
				zap.Stringer("registrar", g.RegistrarAddr()), zap.Int("services", len(cfg.Services)))
			<-ctx.Done()
			g.Close()
			k := g.Counters()
			d.Log.Info("sgw stopped", zap.Uint64("network_in", k.NetworkIn), zap.Uint64("to_servers", k.ToServers),
				zap.Uint64("dialogues_started", k.DialoguesStarted), zap.Uint64("dialogues_aborted", k.DialoguesAborted))
			return nil
		},
		Drain: func(ctx context.Context) error {
			d.Log.Info("draining")
			return g.Shutdown(ctx)
		},
		Reload: func(ctx context.Context) error {
			next, err := load(cmd, f)
			if err != nil {
				return err
			}
			if err := reloadable(current, next); err != nil {
				return err
			}
			if next.LogLevel != current.LogLevel {
				lvl, err := daemon.ParseLevel(next.LogLevel)
				if err != nil {
					return err
				}
				d.Level.SetLevel(lvl)
			}
			d.Log.Info("configuration reloaded", zap.String("file", f.config))
			current = next
			return nil
		},
	})
}

// reloadable refuses a new configuration that changes what only a restart
// applies: everything but the log level, for now.
func reloadable(cur, next *gateway.Config) error {
	a, b := *cur, *next
	a.LogLevel, b.LogLevel = "", ""
	if reflect.DeepEqual(a, b) {
		return nil
	}
	var changed []string
	v, w := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := 0; i < v.NumField(); i++ {
		if !reflect.DeepEqual(v.Field(i).Interface(), w.Field(i).Interface()) {
			tag := v.Type().Field(i).Tag.Get("yaml")
			changed = append(changed, tag)
		}
	}
	return fmt.Errorf("changes to %v need a restart (a reload applies log_level only)", changed)
}
