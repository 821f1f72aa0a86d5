//go:build lab

package system

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/internal/mgmt"
)

// The harness test runs the scenario with stand-ins for the daemons: the
// test binary itself, linked as sgw, aspd and sigload, so that the
// harness's own machinery (topology, configuration files, process start,
// readiness through each host's namespace, the fault schedule with its
// kills and restarts, progress parsing, the summary, alarms) is checked in
// the VM whatever state the real daemons are in. The stand-ins make no
// claim about the system: TestLabSystemFaults runs the real ones.

const fakeEnv = "SIGPOOL_SYSTEM_FAKE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeEnv) != "" {
		os.Exit(runFake(filepath.Base(os.Args[0]), os.Args[1:]))
	}
	os.Exit(m.Run())
}

func runFake(name string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var err error
	switch name {
	case "sgw":
		err = fakeSGW(ctx, args)
	case "aspd":
		err = fakeAspd(ctx, args)
	case "sigload":
		err = fakeSigload(ctx, args)
	default:
		err = fmt.Errorf("no stand-in called %q", name)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 1
	}
	return 0
}

type fakeASPs int

func (n fakeASPs) ASPs(context.Context) ([]mgmt.ASP, error) {
	var out []mgmt.ASP
	for i := 0; i < int(n); i++ {
		out = append(out, mgmt.ASP{ID: fmt.Sprint(i + 1), State: "ACTIVE"})
	}
	return out, nil
}
func (fakeASPs) ApplicationServers(context.Context) ([]mgmt.AS, error) { return nil, nil }

// serveFake serves a management API on addr with a manager whose
// association-down alarm clears at once; raised, if set, is raised 2 s
// after the start and cleared 2 s later, so each start of the stand-in
// shows one raise and one clear.
func serveFake(ctx context.Context, addr, self, raised string) error {
	m, err := alarms.NewManager(alarms.Config{SystemID: self, Inventory: []*alarms.Definition{quickDown}})
	if err != nil {
		return err
	}
	defer m.Close()
	srv := mgmt.New(mgmt.Config{Alarms: m, ASPs: fakeASPs(aspHosts * aspPerHost)})
	srv.AddReadyCheck("stand-in", func(context.Context) error { return nil })
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if raised != "" {
		go func() {
			time.Sleep(2 * time.Second)
			m.Raise(alarms.Report{Def: quickDown, Object: raised})
			time.Sleep(2 * time.Second)
			m.Clear(quickDown, raised)
		}()
	}
	return srv.Serve(ctx, ln)
}

func fakeSGW(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sgw", flag.ContinueOnError)
	cfg := fs.String("config", "", "")
	addr := fs.String("mgmt", "", "")
	fs.String("log-format", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*cfg)
	if err != nil {
		return err
	}
	var c struct {
		ID uint32 `yaml:"gateway_id"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return err
	}
	self := fmt.Sprintf("sgw=gw%d", c.ID)
	return serveFake(ctx, *addr, self, self+",assoc=started")
}

func fakeAspd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("aspd", flag.ContinueOnError)
	cfg := fs.String("config", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*cfg)
	if err != nil {
		return err
	}
	var c aspdConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		return err
	}
	return serveFake(ctx, c.Mgmt, "aspd", "")
}

// fakeSigload completes every dialogue at the rate (each 2 ms after its
// Begin, alternately through either gateway), with a progress line every
// 100 ms, then writes the summary with every dialogue listed.
func fakeSigload(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sigload", flag.ContinueOnError)
	rate := fs.Int("rate", 0, "")
	dur := fs.Duration("duration", 0, "")
	out := fs.String("json", "", "")
	fs.String("gateway", "", "")
	fs.String("local", "", "")
	fs.Int("opc", 0, "")
	fs.Int("dpc", 0, "")
	fs.Int("rc", 0, "")
	fs.Duration("progress", 0, "")
	perDialogue := fs.Bool("per-dialogue", false, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var n int
	for time.Since(start) < *dur {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		el := time.Since(start).Seconds() // one reading: the VM can stall between two
		n = int(el * float64(*rate))
		fmt.Printf("t=%.3fs offered=%d completed=%d aborted=0 lost=0 in-flight=0\n", el, n, n)
	}
	sum := map[string]any{"offered": n, "completed": n, "aborted": 0, "lost": 0,
		"latency_ms":   map[string]float64{"p50": 2, "p90": 3, "p99": 5, "p999": 9, "max": 12},
		"assoc_events": []map[string]any{{"assoc": 1, "event": "up", "t": -0.1}, {"assoc": 2, "event": "up", "t": -0.1}}}
	if *perDialogue {
		var ds []map[string]any
		for i := range n {
			b := float64(i) / float64(*rate)
			ds = append(ds, map[string]any{"otid": fmt.Sprintf("%08x", i+1), "begin_s": b, "end_s": b + 0.002,
				"outcome": "completed", "sends": []map[string]any{{"assoc": 1 + i%2, "t": b}}})
		}
		sum["dialogues"] = ds
	}
	b, _ := json.Marshal(sum)
	return os.WriteFile(*out, b, 0o644)
}

// TestLabSystemHarness runs the scenario's machinery with the stand-ins.
func TestLabSystemHarness(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, n := range []string{"sgw", "aspd", "sigload"} {
		if err := os.Symlink(self, filepath.Join(bin, n)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(fakeEnv, "1")
	o := Options{
		BinDir: bin, Dir: t.TempDir(), Rate: 200,
		Warmup: 4 * time.Second, Gap: 8 * time.Second, Heal: 3 * time.Second, Tail: 8 * time.Second,
		ClearWait: 10 * time.Second, Out: os.Stdout,
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Completed == 0 || res.Summary.P99 != 5*time.Millisecond {
		t.Errorf("summary %+v; want the stand-in's counts and p99 5 ms", res.Summary)
	}
	if len(res.Samples) < 100 {
		t.Errorf("%d progress samples over %s at 10 a second", len(res.Samples), res.Duration)
	}
	if len(res.Faults) != 3 {
		t.Fatalf("%d faults; want 3", len(res.Faults))
	}
	if uint64(len(res.Dialogues)) != res.Summary.Offered || res.Bound < 1900*time.Microsecond || res.Bound > 2100*time.Microsecond {
		t.Errorf("%d dialogues of %d, bound %s; want all of them, 2ms", len(res.Dialogues), res.Summary.Offered, res.Bound)
	}
	for i, f := range res.Faults {
		want := res.LoadStart + o.Warmup + time.Duration(i)*o.Gap
		if f.At < want || f.At > want+time.Second || f.HealedAt < want+o.Heal {
			t.Errorf("%s at %s, healed at %s; want at %s, healed %s later", f.Name, f.At, f.HealedAt, want, o.Heal)
		}
		// The stand-in load never dips: no dialogue around the fault
		// (one every 5 ms) takes longer than the normal ones.
		if f.Err != nil || f.Recovery < 0 || f.Recovery > 5*time.Millisecond {
			t.Errorf("%s: recovery %s, %v; want at most 5ms with a steady stand-in", f.Name, f.Recovery, f.Err)
			for _, x := range res.Samples {
				if x.At > f.At-time.Second && x.At < f.At+4*time.Second {
					t.Logf("  %s completed %d", x.At, x.Completed)
				}
			}
		}
	}
	// gw2 was killed and restarted: its stand-in raised and cleared its
	// alarm again after the restart, and the watcher saw it.
	restart := res.Faults[2].HealedAt
	rc := RaisedAndCleared(res.Alarms, restart, time.Hour)
	if !rc["gw2 association-down sgw=gw2,assoc=started"] {
		t.Errorf("after gw2's restart the watcher saw %v; want its alarm raised and cleared", rc)
	}
	if len(res.StillActive) != 0 {
		t.Errorf("still active: %v", res.StillActive)
	}
}
