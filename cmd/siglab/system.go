package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/sigpool/sigpool/internal/lab/system"
)

// runSystem runs the whole-system scenario here (in the lab VM: root and
// kernel SCTP) and says whether it met its targets: at least 99.9 % of the
// dialogues completed, none lost without an abort, every fault recovered
// in under 500 ms, and every alarm raised during the run cleared again.
func runSystem(ctx context.Context, o system.Options) error {
	o.Out = os.Stdout
	res, err := system.Run(ctx, o)
	if err != nil {
		return err
	}
	var misses []string
	if res.Summary.Lost != 0 {
		misses = append(misses, fmt.Sprintf("%d dialogues lost without an abort", res.Summary.Lost))
	}
	if r := res.CompletedRatio(); r < 0.999 {
		misses = append(misses, fmt.Sprintf("%.3f%% of the dialogues completed (target 99.9%%)", 100*r))
	}
	if iv := system.SampleInterval(res.Samples); iv > 250*time.Millisecond && len(res.Faults) > 0 {
		misses = append(misses, fmt.Sprintf("sigload reported every %s: recovery times under 500 ms cannot be established at that resolution", iv.Round(time.Millisecond)))
	}
	for _, f := range res.Faults {
		switch {
		case f.Err != nil:
			misses = append(misses, fmt.Sprintf("%s: no recovery time: %v", f.Name, f.Err))
		case f.Recovery == system.NotRecovered:
			misses = append(misses, f.Name+": traffic never came back to the pre-fault rate")
		case f.Recovery >= 500*time.Millisecond:
			misses = append(misses, fmt.Sprintf("%s: recovery %s (target < 500 ms)", f.Name, f.Recovery.Round(time.Millisecond)))
		}
	}
	if len(res.StillActive) > 0 {
		misses = append(misses, fmt.Sprintf("%d alarms still active after the repairs", len(res.StillActive)))
	}
	if len(misses) == 0 {
		fmt.Println("\nRESULT: every target met")
		return nil
	}
	fmt.Println("\nRESULT: targets missed:")
	for _, m := range misses {
		fmt.Println("  -", m)
	}
	return fmt.Errorf("the system missed %d of its targets", len(misses))
}
