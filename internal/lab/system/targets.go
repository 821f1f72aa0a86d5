//go:build linux

package system

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// The scenario's targets (issues 6 and 7).
const (
	// TargetCompleted is the least share of the offered dialogues that
	// must complete.
	TargetCompleted = 0.999
	// TargetRecovery bounds the time traffic takes to come back after
	// each fault.
	TargetRecovery = 500 * time.Millisecond
	// maxResolution is the widest sample interval at which a recovery
	// under TargetRecovery can still be shown.
	maxResolution = 250 * time.Millisecond
)

// Target is one of the scenario's targets, what the run measured for it,
// and whether it was met.
type Target struct {
	Name     string
	Measured string
	Pass     bool
}

// Targets holds the run to every target: completed share, no dialogue
// lost without an abort, recovery under 500 ms per fault (shown by samples
// at most 250 ms apart), every fault's alarms raised and cleared (as the
// daemons' management APIs reported them) and none left active.
func (r *Result) Targets() []Target {
	var ts []Target
	s := r.Summary
	if s == nil {
		return []Target{{Name: "sigload summary", Measured: "none", Pass: false}}
	}
	ratio := r.CompletedRatio()
	ts = append(ts, Target{
		Name:     fmt.Sprintf("dialogues completed >= %.1f%%", 100*TargetCompleted),
		Measured: fmt.Sprintf("%d of %d (%.3f%%)", s.Completed, s.Offered, 100*ratio),
		Pass:     s.Offered > 0 && ratio >= TargetCompleted,
	})
	lost := fmt.Sprintf("%d", s.Lost)
	if len(s.LostTIDs) > 0 {
		ids := s.LostTIDs
		if len(ids) > 5 {
			ids = ids[:5]
		}
		lost += " (otid " + strings.Join(ids, ", ") + ")"
	}
	ts = append(ts, Target{Name: "dialogues lost without an abort = 0", Measured: lost, Pass: s.Lost == 0})
	iv := SampleInterval(r.Samples)
	if len(r.Faults) > 0 {
		ts = append(ts, Target{
			Name:     fmt.Sprintf("sample interval <= %s (to show recoveries)", maxResolution),
			Measured: iv.Round(time.Millisecond).String(),
			Pass:     iv > 0 && iv <= maxResolution,
		})
	}
	for _, f := range r.Faults {
		t := Target{Name: fmt.Sprintf("recovery < %s: %s", TargetRecovery, f.Name)}
		switch {
		case f.Err != nil:
			t.Measured = "n/a: " + f.Err.Error()
		case f.Recovery == NotRecovered:
			t.Measured = "never"
		default:
			t.Measured = f.Recovery.Round(time.Millisecond).String()
			t.Pass = f.Recovery < TargetRecovery
		}
		ts = append(ts, t)
	}
	for _, f := range r.Faults {
		rc := RaisedAndCleared(r.Alarms, f.At, f.HealedAt+time.Second)
		raised, cleared := len(rc), 0
		var open []string
		for k, c := range rc {
			if c {
				cleared++
			} else {
				open = append(open, k)
			}
		}
		sort.Strings(open)
		m := fmt.Sprintf("%d raised, %d cleared", raised, cleared)
		if len(open) > 0 {
			m += "; not cleared: " + strings.Join(open, "; ")
		}
		ts = append(ts, Target{Name: "alarms raised and cleared: " + f.Name, Measured: m, Pass: raised > 0 && cleared == raised})
	}
	still := "none"
	if n := len(r.StillActive); n > 0 {
		still = fmt.Sprintf("%d: %s", n, strings.Join(r.StillActive[:min(n, 3)], "; "))
		if n > 3 {
			still += "; ... (listed above)"
		}
	}
	ts = append(ts, Target{Name: "no alarm active after the repairs", Measured: still, Pass: len(r.StillActive) == 0})
	return ts
}

// Met is true when every target passed.
func Met(ts []Target) bool {
	for _, t := range ts {
		if !t.Pass {
			return false
		}
	}
	return true
}

// WriteTargets prints one line per target: PASS or FAIL, the target, the
// measured figure.
func WriteTargets(w io.Writer, ts []Target) {
	fmt.Fprintf(w, "  targets:\n")
	for _, t := range ts {
		v := "PASS"
		if !t.Pass {
			v = "FAIL"
		}
		fmt.Fprintf(w, "    %s  %-62s %s\n", v, t.Name, t.Measured)
	}
}
