//go:build lab

package system

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLabSystemFaults runs the whole system through its three faults, on a
// shorter schedule than the demo, and holds it to the targets: at least
// 99.9 % of the dialogues complete, none is lost without an abort, each
// fault recovers in under 500 ms, and the gateways' management APIs show
// alarms raised during the faults and all of them cleared after the
// repairs.
func TestLabSystemFaults(t *testing.T) {
	o := Options{
		Warmup: 6 * time.Second, Gap: 10 * time.Second, Heal: 4 * time.Second, Tail: 8 * time.Second,
		Out: os.Stdout, Dir: runDir(t),
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Offered == 0 || s.Completed == 0 {
		t.Fatalf("sigload offered %d and completed %d dialogues; the system carried no traffic", s.Offered, s.Completed)
	}
	if s.Lost != 0 {
		t.Errorf("%d dialogues lost without an abort; want none", s.Lost)
	}
	if r := res.CompletedRatio(); r < 0.999 {
		t.Errorf("%d of %d dialogues completed (%.3f%%); want at least 99.9%%", s.Completed, s.Offered, 100*r)
	}
	// A recovery under 500 ms can only be shown by samples well under
	// 500 ms apart.
	if iv := SampleInterval(res.Samples); iv > 250*time.Millisecond {
		t.Errorf("sigload reported its counters every %s: recovery times under 500 ms cannot be established at that resolution (sigload needs a progress interval of 100 ms or less)", iv)
	}
	for _, f := range res.Faults {
		switch {
		case f.Err != nil:
			t.Errorf("%s: %v", f.Name, f.Err)
		case f.Recovery == NotRecovered || f.Recovery >= 500*time.Millisecond:
			t.Errorf("%s: recovery %v; want under 500 ms (%s)", f.Name, f.Recovery, res.Definition)
		}
	}
	// Each fault must show in the alarms of some daemon: something raised
	// between the fault and its repair (plus a second), and cleared by the
	// end (or gone with a daemon that was restarted).
	for _, f := range res.Faults {
		rc := RaisedAndCleared(res.Alarms, f.At, f.HealedAt+time.Second)
		if len(rc) == 0 {
			t.Errorf("%s: no alarm raised by any daemon between %s and %s", f.Name, f.At, f.HealedAt+time.Second)
		}
		for k, cleared := range rc {
			if !cleared {
				t.Errorf("%s: alarm %s raised but never cleared", f.Name, k)
			}
		}
	}
	if len(res.StillActive) > 0 {
		t.Errorf("alarms still active after every repair: %s", strings.Join(res.StillActive, "; "))
	}
}

// runDir is where the run's configurations and logs go: the repository's
// .labwork/system-test/<test> (ignored by git; the guest shares the
// repository, so the daemons' logs can be read after a failed run), or a
// temporary folder outside a repository.
func runDir(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		return t.TempDir()
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			dir := filepath.Join(d, ".labwork", "system-test", t.Name())
			if err := os.RemoveAll(dir); err != nil {
				return t.TempDir()
			}
			t.Logf("configurations and logs in %s (the repository's .labwork on the host)", dir)
			return dir
		}
		if filepath.Dir(d) == d {
			return t.TempDir()
		}
	}
}
