package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/sigpool/sigpool/internal/lab/failover"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// runFailover runs the link-cut experiment once per profile and prints what
// it measured, so profiles can be compared in one run.
func runFailover(ctx context.Context, profiles []string, runs int) error {
	for _, name := range profiles {
		tuning, err := sctp.Profile(name)
		if err != nil {
			return err
		}
		b := tuning.Bounds()
		fmt.Printf("\n=== multihoming failover, SCTP profile %q: RTO %s/%s/%s (initial/min/max), heartbeat %s, path.max.retrans %d\n",
			tuning.Name, tuning.RTOInitial, tuning.RTOMin, tuning.RTOMax, tuning.HeartbeatInterval, tuning.PathMaxRetrans)
		fmt.Printf("    bounds: path switch <= %s, path declared down <= %s, dead peer <= %s\n", b.PathSwitch, b.PathDown, b.PeerDead)
		var switchovers []time.Duration
		for run := 1; run <= runs; run++ {
			o := failover.Options{Tuning: tuning}
			if run == 1 {
				o.Log = os.Stdout // the first run tells its story; the rest only count
			}
			res, err := failover.LinkCut(ctx, o)
			if err != nil {
				return fmt.Errorf("profile %s: %w", name, err)
			}
			if run == 1 {
				res.Report(os.Stdout)
			}
			if res.Lost != 0 || res.Reordered != 0 || res.Duplicate != 0 || res.Switchover < 0 {
				res.Report(os.Stdout)
				return fmt.Errorf("profile %s, run %d: messages were lost, reordered or duplicated, or none crossed network B", name, run)
			}
			switchovers = append(switchovers, res.Switchover)
		}
		if runs > 1 {
			slices.Sort(switchovers)
			fmt.Printf("switchover over %d runs (profile %s): min %.1f ms, median %.1f ms, max %.1f ms; nothing lost or reordered in any run\n",
				runs, name, ms(switchovers[0]), ms(switchovers[len(switchovers)/2]), ms(switchovers[len(switchovers)-1]))
		}
	}
	fmt.Println("\nfailure-detection bounds the profiles imply (sigtran/sctp/TUNING.md):")
	fmt.Printf("  %-8s %12s %12s %14s %12s %14s\n", "profile", "path switch", "path down", "path down idle", "dead peer", "dead peer idle")
	for _, t := range []sctp.Tuning{sctp.Telecom, sctp.RFC} {
		b := t.Bounds()
		fmt.Printf("  %-8s %12s %12s %14s %12s %14s\n", t.Name, b.PathSwitch, b.PathDown, b.PathDownIdle, b.PeerDead, b.PeerDeadIdle)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
