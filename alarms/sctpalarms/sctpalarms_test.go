package sctpalarms

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/alarms/metrics"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

type fakeClock struct{ *sctptest.FakeClock }

func (c fakeClock) AfterFunc(d time.Duration, f func()) alarms.Timer {
	return c.FakeClock.AfterFunc(d, f)
}

var (
	t0    = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	peerA = netip.MustParseAddr("10.0.1.2") // the peer's first interface in sctptest.Pair
	peerB = netip.MustParseAddr("10.0.2.2")
)

type fixture struct {
	clk fakeClock
	m   *alarms.Manager
	mon *Monitor
	set *metrics.Set
	sub *alarms.Subscription
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clk: fakeClock{sctptest.NewFakeClock(t0)}, set: metrics.New()}
	m, err := alarms.NewManager(alarms.Config{Clock: f.clk, SystemID: "sg1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	f.m = m
	f.sub = m.Subscribe(0)
	f.mon, err = New(Config{Alarms: m, Object: "sgw=sg1, assoc=stp1", Metrics: f.set, Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// pair returns a new association (the gateway's end wrapped with the
// monitor, and the peer's end) on the fixture's clock.
func (f *fixture) pair(t *testing.T) (*sctptest.Assoc, sctp.Association, *sctptest.Assoc) {
	t.Helper()
	a, b := sctptest.Pair(sctptest.WithClock(f.clk.FakeClock))
	t.Cleanup(func() { a.Abort(); b.Abort() })
	return a, Wrap(a, f.mon), b
}

// event reads the next event of w; a message is a failure.
func event(t *testing.T, w sctp.Association, want sctp.EventKind) {
	t.Helper()
	buf := make([]byte, 1024)
	_, ev, err := w.Recv(buf)
	if err != nil || ev == nil || ev.Kind != want {
		t.Fatalf("Recv: %v %v, want event %v", ev, err, want)
	}
}

// active returns the active alarms as "name object: text" lines.
func (f *fixture) active() string {
	var lines []string
	for _, a := range f.m.Alarms(alarms.Filter{}) {
		lines = append(lines, fmt.Sprintf("%s %s %s: %s", a.Severity, a.Name, a.Object, a.AdditionalText))
	}
	return strings.Join(lines, "\n")
}

// notes drains the notifications emitted so far.
func (f *fixture) notes() string {
	var lines []string
	for {
		select {
		case n := <-f.sub.C:
			lines = append(lines, fmt.Sprintf("%s %s %s %s", n.EventTime.Format("15:04:05"), n.Type, n.Alarm.Name, n.Alarm.Object))
		default:
			return strings.Join(lines, "\n")
		}
	}
}

func check(t *testing.T, what, got, want string) {
	t.Helper()
	if strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Fatalf("%s:\n%s\nwant:\n%s", what, got, want)
	}
}

func TestPathDownAndBack(t *testing.T) {
	f := newFixture(t)
	a, w, _ := f.pair(t)
	event(t, w, sctp.EventCommUp)
	check(t, "after comm-up", f.active(), "")

	a.FailPath(peerA)
	event(t, w, sctp.EventAddrUnreachable)
	check(t, "path A cut", f.active(), "MINOR path-down sgw=sg1,assoc=stp1,path=10.0.1.2: peer address unreachable (addr-unreachable)")
	check(t, "notifications", f.notes(), "12:00:00 notifyNewAlarm path-down sgw=sg1,assoc=stp1,path=10.0.1.2")
	if got := f.mon.DownPaths(); len(got) != 1 || got[0] != peerA {
		t.Fatal(got)
	}
	al := f.m.Alarms(alarms.Filter{})[0]
	if al.AdditionalInformation["peerAddress"] != "10.0.1.2" || al.AdditionalInformation["association"] != "stp1" {
		t.Fatalf("%+v", al.AdditionalInformation)
	}

	f.clk.Advance(5 * time.Second)
	a.RestorePath(peerA)
	event(t, w, sctp.EventAddrAvailable)
	// Cleared once the path has been back for the definition's hold.
	f.clk.Advance(alarms.PathDown.Debounce.ClearAfter - time.Nanosecond)
	check(t, "within the clear hold", f.active(), "MINOR path-down sgw=sg1,assoc=stp1,path=10.0.1.2: peer address unreachable (addr-unreachable)")
	f.clk.Advance(time.Nanosecond)
	check(t, "path A back", f.active(), "")
	check(t, "notifications", f.notes(), "12:00:15 notifyClearedAlarm path-down sgw=sg1,assoc=stp1,path=10.0.1.2")

	// A flapping path is one alarm.
	for i := 0; i < 3; i++ {
		a.FailPath(peerB)
		event(t, w, sctp.EventAddrUnreachable)
		f.clk.Advance(time.Second)
		a.RestorePath(peerB)
		event(t, w, sctp.EventAddrAvailable)
		f.clk.Advance(time.Second)
	}
	check(t, "flapping path B", f.notes(), "12:00:15 notifyNewAlarm path-down sgw=sg1,assoc=stp1,path=10.0.2.2")
	if a := f.m.Alarms(alarms.Filter{}); len(a) != 1 || a[0].FlapCount != 2 {
		t.Fatalf("%+v", a)
	}
	f.clk.Advance(time.Minute)
	check(t, "path B stable", f.active(), "")

	for ev, n := range map[string]float64{"comm-up": 1, "addr-unreachable": 4, "addr-available": 4} {
		if got := testutil.ToFloat64(f.set.SCTPEvents.WithLabelValues("stp1", ev)); got != n {
			t.Errorf("sigpool_sctp_events_total{event=%q} = %v, want %v", ev, got, n)
		}
	}
}

func TestAssociationDownAndUp(t *testing.T) {
	f := newFixture(t)
	a, w, b := f.pair(t)
	event(t, w, sctp.EventCommUp)
	a.FailPath(peerB)
	event(t, w, sctp.EventAddrUnreachable)
	f.notes()

	// The peer aborts: association down, and its path alarm goes (after
	// the clear hold) since the association alarm says it all.
	b.Abort()
	event(t, w, sctp.EventCommLost)
	check(t, "after the abort", f.active(), `
MINOR path-down sgw=sg1,assoc=stp1,path=10.0.2.2: peer address unreachable (addr-unreachable)
MAJOR association-down sgw=sg1,assoc=stp1: association lost (comm-lost), error cause 12`)
	f.clk.Advance(alarms.PathDown.Debounce.ClearAfter)
	check(t, "path alarm cleared", f.active(), "MAJOR association-down sgw=sg1,assoc=stp1: association lost (comm-lost), error cause 12")
	check(t, "notifications", f.notes(), `
12:00:00 notifyNewAlarm association-down sgw=sg1,assoc=stp1
12:00:10 notifyClearedAlarm path-down sgw=sg1,assoc=stp1,path=10.0.2.2`)
	if got := f.mon.DownPaths(); len(got) != 0 {
		t.Fatal(got)
	}

	// The daemon re-establishes the association: comm-up clears it.
	f.clk.Advance(time.Minute)
	_, w2, b2 := f.pair(t)
	event(t, w2, sctp.EventCommUp)
	f.clk.Advance(alarms.AssociationDown.Debounce.ClearAfter)
	check(t, "back up", f.active(), "")
	check(t, "notifications", f.notes(), "12:01:20 notifyClearedAlarm association-down sgw=sg1,assoc=stp1")

	// A graceful shutdown by the peer is an association down too.
	b2.Close()
	event(t, w2, sctp.EventShutdown)
	check(t, "after the shutdown", f.active(), "MAJOR association-down sgw=sg1,assoc=stp1: peer shut the association down (shutdown)")

	// Taken out of the configuration: its alarms go.
	f.mon.Stop()
	f.clk.Advance(alarms.AssociationDown.Debounce.ClearAfter)
	check(t, "stopped", f.active(), "")
	if got := testutil.ToFloat64(f.set.SCTPEvents.WithLabelValues("stp1", "comm-lost")); got != 1 {
		t.Fatal(got)
	}
}

// The events the in-memory associations do not produce, and Sync.
func TestObserveAndSync(t *testing.T) {
	f := newFixture(t)
	f.mon.Observe(sctp.Event{Kind: sctp.EventAddrPotentiallyFailed, Addr: netip.MustParseAddr("::ffff:10.0.1.2")})
	check(t, "potentially failed, within the hold", f.active(), "")
	f.clk.Advance(DefaultPFHold)
	check(t, "potentially failed", f.active(),
		"MINOR path-down sgw=sg1,assoc=stp1,path=10.0.1.2: peer address potentially failed: retransmission timeout on this path (addr-potentially-failed), not active again within 1.2s")
	f.mon.Observe(sctp.Event{Kind: sctp.EventAddrUnreachable, Addr: peerA})
	if n := f.m.Alarms(alarms.Filter{}); len(n) != 1 || !strings.Contains(n[0].AdditionalText, "(addr-unreachable)") {
		t.Fatalf("%+v", n)
	}
	f.mon.Observe(sctp.Event{Kind: sctp.EventAddrRemoved, Addr: peerA})
	f.clk.Advance(time.Minute)
	check(t, "address removed", f.active(), "")

	f.mon.Observe(sctp.Event{Kind: sctp.EventCantStart})
	check(t, "cant-start", f.active(), "MAJOR association-down sgw=sg1,assoc=stp1: association could not be set up (cant-start)")
	f.mon.Observe(sctp.Event{Kind: sctp.EventRestart})
	f.clk.Advance(time.Minute)
	check(t, "restart", f.active(), "")
	f.mon.Down("dial 10.0.1.2+10.0.2.2:2905: connection refused")
	check(t, "down", f.active(), "MAJOR association-down sgw=sg1,assoc=stp1: dial 10.0.1.2+10.0.2.2:2905: connection refused")
	f.mon.Observe(sctp.Event{Kind: sctp.EventCommUp})
	f.clk.Advance(time.Minute)

	f.mon.Sync(sctp.Status{Paths: []sctp.Path{{Addr: peerA, State: sctp.PathActive}, {Addr: peerB, State: sctp.PathInactive}}})
	check(t, "sync", f.active(), "MINOR path-down sgw=sg1,assoc=stp1,path=10.0.2.2: peer address unreachable (path inactive)")
	f.mon.Sync(sctp.Status{Paths: []sctp.Path{{Addr: peerA, State: sctp.PathActive}, {Addr: peerB, State: sctp.PathActive}}})
	f.clk.Advance(time.Minute)
	check(t, "sync back", f.active(), "")
	if _, err := New(Config{Alarms: f.m, Object: "stp1"}); err == nil {
		t.Fatal("a bad DN was accepted")
	}
	if _, err := New(Config{Object: "sgw=sg1,assoc=stp1"}); err == nil {
		t.Fatal("no manager accepted")
	}
}

func TestPFHold(t *testing.T) {
	pf := func(ip netip.Addr) sctp.Event { return sctp.Event{Kind: sctp.EventAddrPotentiallyFailed, Addr: ip} }
	back := func(ip netip.Addr) sctp.Event { return sctp.Event{Kind: sctp.EventAddrAvailable, Addr: ip} }
	if DefaultPFHold != sctp.Telecom.Bounds().PathDown || DefaultPFHold <= 0 {
		t.Fatalf("DefaultPFHold %v, telecom PathDown %v", DefaultPFHold, sctp.Telecom.Bounds().PathDown)
	}

	t.Run("brief PF raises nothing", func(t *testing.T) {
		f := newFixture(t)
		// A lossy network: 50 PFs on each path, each active again
		// within the hold. No alarm, no notification.
		for i := 0; i < 50; i++ {
			f.mon.Observe(pf(peerA))
			f.clk.Advance(DefaultPFHold / 3)
			f.mon.Observe(pf(peerB))
			f.clk.Advance(DefaultPFHold / 3)
			if got := f.mon.HeldPaths(); len(got) != 2 {
				t.Fatalf("held %v", got)
			}
			f.mon.Observe(back(peerA))
			f.mon.Observe(back(peerB))
			f.clk.Advance(DefaultPFHold)
		}
		check(t, "alarms", f.active(), "")
		check(t, "notifications", f.notes(), "")
		if st, _ := f.m.Stats(); st["path-down"].Raised != 0 {
			t.Fatalf("stats %+v", st["path-down"])
		}
		if got := f.mon.HeldPaths(); len(got) != 0 {
			t.Fatalf("held %v", got)
		}
	})

	t.Run("PF that lasts raises after the hold", func(t *testing.T) {
		f := newFixture(t)
		f.mon.Observe(pf(peerA))
		f.clk.Advance(DefaultPFHold - time.Millisecond)
		f.mon.Observe(pf(peerA)) // repeated: does not restart the hold
		check(t, "just before", f.active(), "")
		f.clk.Advance(time.Millisecond)
		check(t, "at the end of the hold", f.notes(), "12:00:01 notifyNewAlarm path-down sgw=sg1,assoc=stp1,path=10.0.1.2")
		// It clears as any path-down does.
		f.mon.Observe(back(peerA))
		f.clk.Advance(time.Minute)
		check(t, "back", f.active(), "")
	})

	t.Run("unreachable within the hold raises at once", func(t *testing.T) {
		f := newFixture(t)
		f.mon.Observe(pf(peerB))
		f.clk.Advance(100 * time.Millisecond)
		f.mon.Observe(sctp.Event{Kind: sctp.EventAddrUnreachable, Addr: peerB})
		check(t, "unreachable", f.active(), "MINOR path-down sgw=sg1,assoc=stp1,path=10.0.2.2: peer address unreachable (addr-unreachable)")
		f.clk.Advance(time.Minute)
		if n := f.m.Alarms(alarms.Filter{}); len(n) != 1 || n[0].FlapCount != 0 || !strings.HasSuffix(n[0].AdditionalText, "(addr-unreachable)") {
			t.Fatalf("the expired hold touched the alarm: %+v", n)
		}
		// A PF on a path already down changes nothing.
		f.mon.Observe(pf(peerB))
		if len(f.mon.HeldPaths()) != 0 {
			t.Fatal("hold started on a down path")
		}
	})

	t.Run("association lost within the hold", func(t *testing.T) {
		f := newFixture(t)
		f.mon.Observe(pf(peerA))
		f.mon.Observe(sctp.Event{Kind: sctp.EventCommLost})
		f.clk.Advance(time.Minute)
		check(t, "only association-down", f.active(), "MAJOR association-down sgw=sg1,assoc=stp1: association lost (comm-lost)")
	})

	t.Run("status says active at the end of the hold", func(t *testing.T) {
		clk := fakeClock{sctptest.NewFakeClock(t0)}
		m, err := alarms.NewManager(alarms.Config{Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		state := sctp.PathActive
		mon, err := New(Config{Alarms: m, Object: "sgw=sg1,assoc=stp1", Clock: clk, PFHold: time.Second,
			Status: func() (sctp.Status, error) {
				return sctp.Status{Paths: []sctp.Path{{Addr: peerA, State: state}}}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		mon.Observe(pf(peerA)) // no addr-available event follows
		clk.Advance(time.Second)
		if n := m.Alarms(alarms.Filter{}); len(n) != 0 {
			t.Fatalf("raised although the path is active: %+v", n)
		}
		state = sctp.PathPotentiallyFailed
		mon.Observe(pf(peerA))
		clk.Advance(time.Second)
		if n := m.Alarms(alarms.Filter{}); len(n) != 1 || !strings.Contains(n[0].AdditionalText, "not active again within 1s") {
			t.Fatalf("%+v", n)
		}
	})

	t.Run("no hold", func(t *testing.T) {
		clk := fakeClock{sctptest.NewFakeClock(t0)}
		m, _ := alarms.NewManager(alarms.Config{Clock: clk})
		defer m.Close()
		mon, err := New(Config{Alarms: m, Object: "sgw=sg1,assoc=stp1", Clock: clk, PFHold: -1})
		if err != nil {
			t.Fatal(err)
		}
		mon.Observe(pf(peerA))
		if n := m.Alarms(alarms.Filter{}); len(n) != 1 {
			t.Fatalf("%+v", n)
		}
	})
}
