//go:build lab

package failover

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// TestLabLinkCut is the multihoming acceptance test: network A is cut at
// the sender mid-stream; nothing may be lost, duplicated or reordered, the
// stream must resume over network B in under a second with the telecom
// profile, and the sender must report the path to A unreachable.
func TestLabLinkCut(t *testing.T) {
	res, err := LinkCut(context.Background(), Options{Tuning: sctp.Telecom, Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	res.Report(os.Stdout)
	if res.Sent == 0 || res.Lost != 0 || res.Duplicate != 0 || res.Reordered != 0 {
		t.Errorf("sent %d: lost %d, duplicated %d, reordered %d; want none", res.Sent, res.Lost, res.Duplicate, res.Reordered)
	}
	if res.Switchover < 0 {
		t.Fatalf("no message sent after the cut was delivered")
	}
	if res.Switchover >= time.Second {
		t.Errorf("switchover took %s; the telecom profile must switch in under 1 s", res.Switchover)
	}
	peerA := res.PeerA
	unreachable := false
	for _, e := range res.Events {
		if e.At >= 0 && e.Event.Addr == peerA && (e.Event.Kind == sctp.EventAddrUnreachable || e.Event.Kind == sctp.EventAddrPotentiallyFailed) {
			unreachable = true
		}
	}
	if !unreachable {
		t.Errorf("the sender never reported %s unreachable or potentially failed after the cut; events: %v", peerA, res.Events)
	}
}

// TestLabPeerDeath isolates the receiving host mid-stream: the sender must
// report the association lost within the bound the telecom profile implies.
func TestLabPeerDeath(t *testing.T) {
	o := Options{Tuning: sctp.Telecom, Log: testLog{t}, After: 3 * time.Second}
	res, err := PeerDeath(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	res.Report(os.Stdout)
	if res.Unaccounted != 0 {
		t.Errorf("%d of %d messages were neither delivered nor handed back in a send-failed event", res.Unaccounted, res.Sent)
	}
	bound := sctp.Telecom.Bounds().PeerDead
	if res.PeerLost <= 0 || res.PeerLost > bound {
		t.Errorf("dead peer reported lost after %s; the telecom profile's bound is %s", res.PeerLost, bound)
	}
}

// TestLabPeerDeathIdle is the same with no traffic after the isolation:
// only heartbeats can find the dead peer, within the idle bound.
func TestLabPeerDeathIdle(t *testing.T) {
	o := Options{Tuning: sctp.Telecom, Log: testLog{t}, Idle: true}
	res, err := PeerDeath(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	res.Report(os.Stdout)
	if res.Unaccounted != 0 {
		t.Errorf("%d of %d messages were neither delivered nor handed back in a send-failed event", res.Unaccounted, res.Sent)
	}
	bound := sctp.Telecom.Bounds().PeerDeadIdle
	if res.PeerLost <= 0 || res.PeerLost > bound {
		t.Errorf("idle dead peer reported lost after %s; the telecom profile's idle bound is %s", res.PeerLost, bound)
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
