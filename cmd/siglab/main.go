// Command siglab runs sigpool's binaries and kernel-SCTP tests where the
// kernel has SCTP: in a qemu VM booting a Debian kernel (software emulation
// by default), or natively when the host kernel has SCTP.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigpool/sigpool/internal/lab"
	"github.com/sigpool/sigpool/internal/lab/system"
)

func main() {
	if lab.IsGuestInit() {
		lab.GuestInit() // never returns
	}
	os.Exit(execute())
}

func execute() int {
	var (
		kvm     bool
		peers   bool
		native  bool
		vm      bool
		memory  int
		cpus    int
		timeout time.Duration
		status  int
	)
	newLab := func() (*lab.Lab, error) {
		src, err := lab.FindRepo(".")
		if err != nil {
			return nil, err
		}
		l := lab.NewLab(src)
		l.KVM, l.Memory, l.CPUs, l.Timeout, l.Peers = kvm, memory, cpus, timeout, peers
		if native && vm {
			return nil, fmt.Errorf("--native and --vm exclude each other")
		}
		if native || vm {
			l.Native = &native
		}
		return l, nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root := &cobra.Command{
		Use:           "siglab",
		Short:         "Run sigpool's programs and kernel-SCTP tests in the lab VM",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.BoolVar(&kvm, "kvm", false, "use KVM instead of software emulation (opt-in: KVM guests hang on some hosts)")
	pf.BoolVar(&native, "native", false, "run on the host even if its kernel seems to lack SCTP")
	pf.BoolVar(&vm, "vm", false, "run in the VM even if the host kernel has SCTP")
	pf.IntVar(&memory, "memory", 2048, "VM memory in MiB")
	pf.IntVar(&cpus, "cpus", 2, "VM CPUs")
	pf.DurationVar(&timeout, "timeout", 25*time.Minute, "stop the VM after this long")
	pf.BoolVar(&peers, "peers", false, "attach the third-party peers image (osmo-stp, rsplib, tshark) at /peers, building it once; siglab test does it by itself for packages whose *_lab_test.go has a line "+lab.PeersDirective)

	root.AddCommand(&cobra.Command{
		Use:   "decode CAPTURE [-- TSHARK-ARGS...]",
		Short: "Decode a capture on the host with the peers image's tshark (chroot; e.g. -- -V or -- -T json)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, err := lab.EnsurePeers(ctx, os.Stderr)
			if err != nil {
				return err
			}
			tsharkArgs := args[1:]
			if n := cmd.ArgsLenAtDash(); n >= 0 {
				if n != 1 {
					return fmt.Errorf("decode takes one capture file before --")
				}
			} else if len(args) != 1 {
				return fmt.Errorf("decode takes one capture file; tshark's arguments go after --")
			}
			out, _, err := img.Decode(ctx, args[0], tsharkArgs...)
			fmt.Print(out)
			return err
		},
	}, &cobra.Command{
		Use:   "run -- CMD [ARGS...]",
		Short: "Run a command in the VM with the project's binaries on PATH",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := newLab()
			if err != nil {
				return err
			}
			status, err = l.Run(ctx, args)
			return err
		},
	}, &cobra.Command{
		Use:   "test PKG... [-- TESTFLAGS...]",
		Short: "Compile the packages' tests (tag lab) and run them in one VM boot",
		Long: "Compiles each package's tests with go test -c -tags lab and runs them one after another in a single VM boot,\n" +
			"streaming their output. Flags after -- go to every test binary, e.g. -- -test.run '^TestLab' -test.v.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := newLab()
			if err != nil {
				return err
			}
			pkgs, testArgs := args, []string(nil)
			if n := cmd.ArgsLenAtDash(); n >= 0 {
				pkgs, testArgs = args[:n], args[n:]
			}
			status, err = l.Test(ctx, pkgs, testArgs)
			return err
		},
	}, &cobra.Command{
		Use:   "shell",
		Short: "Open an interactive shell in the VM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := newLab()
			if err != nil {
				return err
			}
			status, err = l.Shell(ctx)
			return err
		},
	}, &cobra.Command{
		Use:   "setup",
		Short: "Install and fetch what the lab needs (qemu, a Debian kernel, busybox; with --peers the peers image), once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := lab.EnsureAssets(ctx, os.Stderr)
			if err != nil {
				return err
			}
			fmt.Printf("lab assets ready in %s: kernel %s, qemu %s\n", a.CacheDir, a.KernelVersion, a.Qemu)
			if peers {
				img, err := lab.EnsurePeers(ctx, os.Stderr)
				if err != nil {
					return err
				}
				fmt.Printf("peers image ready: %s (root directory %s)\n", img.Image, img.Root)
			}
			return nil
		},
	})
	var (
		profiles []string
		runs     int
	)
	failoverCmd := &cobra.Command{
		Use:   "failover",
		Short: "Run the multihoming failover experiment here (needs root and kernel SCTP: the lab VM)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runs < 1 {
				return fmt.Errorf("--runs must be at least 1")
			}
			return runFailover(ctx, profiles, runs)
		},
	}
	failoverCmd.Flags().IntVar(&runs, "runs", 1, "repeat the experiment and print the switchover's min/median/max")
	failoverCmd.Flags().StringSliceVar(&profiles, "profiles", []string{"telecom"}, "SCTP tuning profiles to run, in order (telecom, rfc)")
	var (
		sys          system.Options
		demoFailover bool
	)
	systemCmd := &cobra.Command{
		Use:   "system",
		Short: "Run the whole-system scenario here: gateways, servers, load, three faults (needs root and kernel SCTP: the lab VM)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSystem(ctx, sys)
		},
	}
	sf := systemCmd.Flags()
	sf.IntVar(&sys.Rate, "rate", 0, "dialogues per second sigload offers (0: the scenario's default)")
	sf.DurationVar(&sys.Warmup, "warmup", 0, "load before the first fault (0: default)")
	sf.DurationVar(&sys.Gap, "gap", 0, "time between two faults (0: default)")
	sf.DurationVar(&sys.Heal, "heal", 0, "time from a fault to its repair (0: default)")
	sf.DurationVar(&sys.Tail, "tail", 0, "load after the last fault (0: default)")
	sf.BoolVar(&sys.NoFaults, "no-faults", false, "offer the load without faults (a baseline of what the system sustains)")
	sf.StringVar(&sys.Dir, "dir", "", "folder for the configurations and logs (default: a temporary one, kept if a target is missed)")
	demoCmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole sigpool system live in the lab VM: two gateways, six servers, load, three faults, alarms, a summary",
		Long: "Boots the lab VM and runs 'siglab system' there: two gateways with embedded registrars, three server hosts with two aspd each,\n" +
			"sigload on a network host, every host on networks A and B; an aspd killed, a gateway host losing network A, a gateway killed.\n" +
			"--failover runs the SCTP multihoming experiment instead.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := newLab()
			if err != nil {
				return err
			}
			argv := []string{"siglab", "failover"}
			if !demoFailover {
				// The files and logs stay in the repository's .labwork,
				// which the guest shares, for a look after the run.
				argv = []string{"siglab", "system", "--dir", "/src/.labwork/system-demo"}
				if sys.Rate > 0 {
					argv = append(argv, "--rate", fmt.Sprint(sys.Rate))
				}
			}
			status, err = l.Run(ctx, argv)
			return err
		},
	}
	demoCmd.Flags().BoolVar(&demoFailover, "failover", false, "run the SCTP multihoming failover experiment instead of the system")
	demoCmd.Flags().IntVar(&sys.Rate, "rate", 0, "dialogues per second (0: the scenario's default)")
	root.AddCommand(failoverCmd, systemCmd, demoCmd)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "siglab:", err)
		return 2
	}
	return status
}
