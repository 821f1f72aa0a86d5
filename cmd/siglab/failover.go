package main

import (
	"context"
	"fmt"
	"os"

	"github.com/sigpool/sigpool/internal/lab/failover"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// runFailover runs the link-cut experiment once per profile and prints what
// it measured, so profiles can be compared in one run.
func runFailover(ctx context.Context, profiles []string) error {
	for _, name := range profiles {
		tuning, err := sctp.Profile(name)
		if err != nil {
			return err
		}
		b := tuning.Bounds()
		fmt.Printf("\n=== multihoming failover, SCTP profile %q: RTO %s/%s/%s (initial/min/max), heartbeat %s, path.max.retrans %d\n",
			tuning.Name, tuning.RTOInitial, tuning.RTOMin, tuning.RTOMax, tuning.HeartbeatInterval, tuning.PathMaxRetrans)
		fmt.Printf("    bounds: path switch <= %s, path declared down <= %s, dead peer <= %s\n", b.PathSwitch, b.PathDown, b.PeerDead)
		o := failover.Options{Tuning: tuning, Log: os.Stdout}
		res, err := failover.LinkCut(ctx, o)
		if err != nil {
			return fmt.Errorf("profile %s: %w", name, err)
		}
		res.Report(os.Stdout)
		if res.Lost != 0 || res.Reordered != 0 || res.Duplicate != 0 {
			return fmt.Errorf("profile %s: messages were lost, reordered or duplicated", name)
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
