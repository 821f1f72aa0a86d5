package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/sigpool/sigpool/internal/config"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/spf13/cobra"
)

const scriptHelp = `The dialogue script (what cmd/aspd answers):

  network                                   service (aspd)
  Begin  OTID=n, Invoke op 100 [steps,0]  →
                                          ←  Continue OTID=s DTID=n   (steps > 0)
  Continue OTID=n DTID=s, Invoke [steps,1] →
                                          ←  Continue ...
  ... steps network Continues in all ...
                                          ←  End DTID=n               (after the last one;
                                                                       at once when steps = 0)

Every network message carries one Invoke, operation code 100 (local), whose
parameter is an OCTET STRING of two octets: the dialogue's number of network
Continues (--steps) and the number of this message (0 for the Begin). A
server may follow it or its own configuration; sigload answers every server
Continue with a Continue, completes a dialogue on End, and counts dialogues
whose number of rounds differs from --steps as step mismatches. cmd/aspd
sends its own service.steps Continues: give sigload the same --steps, or set
aspd's service.follow_network to follow the Invoke.

SCCP: UDT (XUDT with --xudt), class 1, return on error; called party =
route on SSN, --dpc and --called-ssn; calling party = route on SSN, --opc and
--ssn. Answers to server Continues swap the server's addresses. MTP3: SI 3,
--ni, OPC --opc, DPC --dpc (a Continue goes to the OPC of the message it
answers), SLS = dialogue number mod --sls-spread for the whole dialogue.

A dialogue ends in exactly one of: completed (End received), aborted (Abort
received, by cause; or our message returned in a UDTS/XUDTS), lost (no End or
Abort within --timeout of its Begin; sigload then sends a user Abort to the
server if it had answered), not sent (no gateway association ASP-ACTIVE, or a
message handed back by SCTP more than 3 times; one handed back is sent again
through another gateway).`

func main() {
	if err := newCommand().Execute(); err != nil {
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	var (
		gateways     []string
		local        string
		opc, dpc, rc uint32
		ssn, cssn    uint8
		ni           uint8
		aspid        uint32
		rate         float64
		duration     time.Duration
		timeout      time.Duration
		startTimeout time.Duration
		steps        int
		spread       int
		tuning       string
		xudt         bool
		jsonPath     string
		quiet        bool
		progress     time.Duration
		perDialogue  bool
		cpuProfile   string
	)
	cmd := &cobra.Command{
		Use:   "sigload --gateway ADDR[,ADDR...] --opc PC --dpc PC [flags]",
		Short: "SS7 network-side load generator: TCAP dialogues through sigpool gateways",
		Long: `sigload is an SS7 signalling end point on the network side of sigpool: an M3UA
ASP with one (multihomed) SCTP association to every gateway. It opens TCAP
dialogues toward a service at a fixed rate, follows each to its end, prints a
progress line every --progress (default 1 s) and a summary at the end (--json writes it for
scripts; see the package documentation for its fields).

Addresses are ip[+ip...]:port, one IP per network for multihoming.

` + scriptHelp,
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := Config{
				Script: Script{OPC: opc, DPC: dpc, RC: rc, NI: ni, SSN: ssn, CalledSSN: cssn, Steps: steps, XUDT: xudt},
				Rate:   rate, Duration: duration, Timeout: timeout, SLSSpread: spread, StartTimeout: startTimeout,
				Progress: progress, PerDialogue: perDialogue,
				Out: cmd.OutOrStdout(), Log: cmd.ErrOrStderr(),
			}
			if quiet {
				cfg.Out = io.Discard
			}
			if cmd.Flags().Changed("aspid") {
				cfg.ASPID, cfg.HasASPID = aspid, true
			}
			if !cmd.Flags().Changed("opc") || !cmd.Flags().Changed("dpc") {
				return fmt.Errorf("--opc and --dpc are required")
			}
			if progress < 10*time.Millisecond {
				return fmt.Errorf("--progress %v: want 10ms or more", progress)
			}
			if spread < 1 || spread > 256 {
				return fmt.Errorf("--sls-spread %d: want 1..256", spread)
			}
			for _, g := range gateways {
				for _, one := range strings.Split(g, ",") {
					if one = strings.TrimSpace(one); one == "" {
						continue
					}
					a, err := config.ParseAddr(one, true)
					if err != nil {
						return fmt.Errorf("--gateway %q: %w", one, err)
					}
					cfg.Gateways = append(cfg.Gateways, a)
				}
			}
			if len(cfg.Gateways) == 0 {
				return fmt.Errorf("--gateway is required")
			}
			if local != "" {
				a, err := config.ParseAddr(local, false)
				if err != nil {
					return fmt.Errorf("--local %q: %w", local, err)
				}
				cfg.Local = a
			}
			tu, err := sctp.Profile(tuning)
			if err != nil {
				return fmt.Errorf("--tuning: %w", err)
			}
			cfg.Transport = sctp.Kernel{Config: sctp.Config{Tuning: tu}}
			if cpuProfile != "" {
				pf, err := os.Create(cpuProfile)
				if err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer pf.Close()
				if err := pprof.StartCPUProfile(pf); err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			s, err := Run(ctx, cfg)
			if err != nil {
				return err
			}
			s.WriteText(cmd.OutOrStdout())
			if jsonPath != "" {
				b, err := json.MarshalIndent(s, "", "  ")
				if err != nil {
					return err
				}
				b = append(b, '\n')
				if jsonPath == "-" {
					_, err = cmd.OutOrStdout().Write(b)
				} else {
					err = os.WriteFile(jsonPath, b, 0o644)
				}
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&gateways, "gateway", nil, "gateway network-side M3UA address ip[+ip...]:port (repeat or comma-separate)")
	f.StringVar(&local, "local", "", "local address ip[+ip...][:port] (multihomed: one IP per network)")
	f.Uint32Var(&opc, "opc", 0, "our point code (14-bit ITU), the calling party's")
	f.Uint32Var(&dpc, "dpc", 0, "the service's point code (14-bit ITU), the called party's")
	f.Uint8Var(&ssn, "ssn", 8, "our subsystem number (calling party)")
	f.Uint8Var(&cssn, "called-ssn", 6, "the service's subsystem number (called party)")
	f.Uint32Var(&rc, "rc", 0, "routing context of our network AS at the gateways (0: none sent)")
	f.Uint8Var(&ni, "ni", 2, "MTP3 network indicator (0 international, 2 national)")
	f.Uint32Var(&aspid, "aspid", 0, "ASP Identifier to send in ASPUP (default: none)")
	f.Float64Var(&rate, "rate", 100, "dialogues offered per second")
	f.DurationVar(&duration, "duration", 10*time.Second, "how long dialogues are offered")
	f.IntVar(&steps, "steps", 1, "network Continues per dialogue (0: Begin answered by End)")
	f.DurationVar(&timeout, "timeout", 5*time.Second, "a dialogue not ended within this of its Begin is lost")
	f.DurationVar(&startTimeout, "start-timeout", 30*time.Second, "wait at most this for every gateway to be ASP-ACTIVE (the load starts if one is)")
	f.IntVar(&spread, "sls-spread", 16, "number of SLS values dialogues are spread over (1..256)")
	f.StringVar(&tuning, "tuning", "telecom", "SCTP tuning profile (telecom or rfc)")
	f.BoolVar(&xudt, "xudt", false, "send XUDT instead of UDT")
	f.StringVar(&jsonPath, "json", "", "write the summary as JSON to this file (- for standard output)")
	f.DurationVar(&progress, "progress", time.Second, "interval of the progress lines (10ms or more)")
	f.BoolVar(&perDialogue, "per-dialogue", false, "list every finished dialogue in the JSON summary (dialogues: otid, begin_s, end_s, outcome, sends)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress lines")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof): the generator's own cost")
	return cmd
}
