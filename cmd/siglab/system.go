package main

import (
	"context"
	"fmt"
	"os"

	"github.com/sigpool/sigpool/internal/lab/system"
)

// runSystem runs the whole-system scenario here (in the lab VM: root and
// kernel SCTP) and says whether it met its targets (system.Result.Targets:
// at least 99.9 % of the dialogues completed, none lost without an abort,
// every fault recovered in under 500 ms, every fault's alarms raised and
// cleared, none left active). The run's report lists each target with its
// measured figure and PASS or FAIL.
func runSystem(ctx context.Context, o system.Options) error {
	o.Out = os.Stdout
	res, err := system.Run(ctx, o)
	if err != nil {
		return err
	}
	ts := res.Targets()
	var misses []string
	for _, t := range ts {
		if !t.Pass {
			misses = append(misses, fmt.Sprintf("%s: %s", t.Name, t.Measured))
		}
	}
	if len(misses) == 0 {
		fmt.Printf("\nRESULT: every target met (%d of %d)\n", len(ts), len(ts))
		return nil
	}
	fmt.Printf("\nRESULT: %d of %d targets missed:\n", len(misses), len(ts))
	for _, m := range misses {
		fmt.Println("  -", m)
	}
	return fmt.Errorf("the system missed %d of its %d targets", len(misses), len(ts))
}
