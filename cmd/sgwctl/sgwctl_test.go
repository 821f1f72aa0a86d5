package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/alarms/metrics"
	"github.com/sigpool/sigpool/internal/mgmt"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

type fakeClock struct{ *sctptest.FakeClock }

func (c fakeClock) AfterFunc(d time.Duration, f func()) alarms.Timer {
	return c.FakeClock.AfterFunc(d, f)
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type pools []mgmt.Pool

func (p pools) Pools(context.Context) ([]mgmt.Pool, error) { return p, nil }

type asps struct{}

func (asps) ASPs(context.Context) ([]mgmt.ASP, error) {
	return []mgmt.ASP{{ID: "asp1", Association: "asp1", State: "ASP-ACTIVE", Servers: []string{"hlr"}}}, nil
}
func (asps) ApplicationServers(context.Context) ([]mgmt.AS, error) {
	return []mgmt.AS{{Name: "hlr", State: "AS-ACTIVE", TrafficMode: "loadshare", RoutingContext: 10, ASPs: []string{"asp1"}}}, nil
}

// daemon is a management server on a Unix socket with a real alarm
// manager, as a daemon runs it.
type daemon struct {
	socket string
	m      *alarms.Manager
	clk    fakeClock
	level  zap.AtomicLevel
	ops    *operations
}

func startDaemon(t *testing.T) *daemon {
	t.Helper()
	d := &daemon{socket: filepath.Join(t.TempDir(), "sgw.sock"), clk: fakeClock{sctptest.NewFakeClock(t0)}, level: zap.NewAtomicLevel()}
	d.ops = &operations{clk: d.clk, blocked: map[string]*mgmt.Block{}, dialogues: 42}
	m, err := alarms.NewManager(alarms.Config{Clock: d.clk, SystemID: "sg1"})
	if err != nil {
		t.Fatal(err)
	}
	d.m = m
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewAlarmCollector(m, nil))
	a, _ := sctptest.Pair()
	assocs := metrics.NewAssociations()
	assocs.Add("stp1", a)
	srv := mgmt.New(mgmt.Config{
		System: "sgw=sg1", Alarms: m, Gatherer: reg, Level: &d.level,
		Pools: pools{{Handle: "hlr", Policy: "least-used", MinElements: 2, Elements: []mgmt.Element{
			{ID: "0x1", Address: "10.0.1.5+10.0.2.5:2905", State: "registered", Load: 1200, Registrar: "pr1"},
		}}},
		Associations: mgmt.AssociationsOf(assocs),
		ASPs:         asps{},
		ASPControl:   d.ops,
		Drainer:      d.ops,
	})
	srv.AddReadyCheck("traffic", func(context.Context) error { return nil })
	ls, err := mgmt.Listen("", d.socket)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ls...); close(done) }()
	t.Cleanup(func() { cancel(); <-done; m.Close(); a.Abort() })
	return d
}

// run runs sgwctl with args against the daemon and returns its output.
func (d *daemon) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return d.runCtx(context.Background(), t, args...)
}

func (d *daemon) runCtx(ctx context.Context, t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRoot(&out, &errOut)
	root.SetArgs(append([]string{"--socket", d.socket, "--user", "alice"}, args...))
	err := root.ExecuteContext(ctx)
	return out.String() + errOut.String(), err
}

func (d *daemon) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := d.run(t, args...)
	if err != nil {
		t.Fatalf("sgwctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func expect(t *testing.T, got, want string) {
	t.Helper()
	if strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestStatusAndAlarms(t *testing.T) {
	d := startDaemon(t)
	expect(t, d.mustRun(t, "status"), `
system:  sgw=sg1
ready:   yes (traffic: ok)
alarms:  0 critical, 0 major, 0 minor, 0 warning, 0 indeterminate

no active alarm`)

	d.m.Raise(alarms.Report{Def: alarms.PathDown, Object: "sgw=sg1,assoc=stp1,path=10.0.2.2", AdditionalText: "addr-unreachable"})
	d.clk.Advance(time.Minute)
	d.m.Raise(alarms.Report{Def: alarms.ASDown, Object: "sgw=sg1,as=hlr", AdditionalText: "no ASP active"})
	expect(t, d.mustRun(t, "status"), `
system:  sgw=sg1
ready:   yes (traffic: ok)
alarms:  1 critical, 0 major, 1 minor, 0 warning, 0 indeterminate

ID  SEVERITY  SINCE                 ALARM      OBJECT                            ACK  TEXT
1   MINOR     2025-03-01T12:00:00Z  path-down  sgw=sg1,assoc=stp1,path=10.0.2.2  -    addr-unreachable
2   CRITICAL  2025-03-01T12:01:00Z  as-down    sgw=sg1,as=hlr                    -    no ASP active`)

	// alarms lists the most severe first.
	expect(t, d.mustRun(t, "alarms"), `
ID  SEVERITY  SINCE                 ALARM      OBJECT                            ACK  TEXT
2   CRITICAL  2025-03-01T12:01:00Z  as-down    sgw=sg1,as=hlr                    -    no ASP active
1   MINOR     2025-03-01T12:00:00Z  path-down  sgw=sg1,assoc=stp1,path=10.0.2.2  -    addr-unreachable`)
	expect(t, d.mustRun(t, "alarms", "list", "--severity", "minor"), `
ID  SEVERITY  SINCE                 ALARM      OBJECT                            ACK  TEXT
1   MINOR     2025-03-01T12:00:00Z  path-down  sgw=sg1,assoc=stp1,path=10.0.2.2  -    addr-unreachable`)
	expect(t, d.mustRun(t, "alarms", "--object", "sgw=sg1,as=hlr", "--unacked"), `
ID  SEVERITY  SINCE                 ALARM    OBJECT          ACK  TEXT
2   CRITICAL  2025-03-01T12:01:00Z  as-down  sgw=sg1,as=hlr  -    no ASP active`)

	expect(t, d.mustRun(t, "alarms", "ack", "1", "2"), `
alarm 1 acknowledged: path-down sgw=sg1,assoc=stp1,path=10.0.2.2
alarm 2 acknowledged: as-down sgw=sg1,as=hlr`)
	expect(t, d.mustRun(t, "alarms", "--unacked"), "no alarm")
	expect(t, d.mustRun(t, "alarms", "unack", "2"), "alarm 2 unacknowledged: as-down sgw=sg1,as=hlr")
	expect(t, d.mustRun(t, "alarms", "comment", "1", "fibre", "cut,", "ticket", "7"), "alarm 1: 1 comment(s)")

	out, err := d.run(t, "alarms", "clear", "2")
	if err == nil || !strings.Contains(out, "alarm 2: alarms: the condition is still present") || !strings.Contains(out, "(HTTP 409)") {
		t.Fatalf("clear of a present condition: %v\n%s", err, out)
	}
	d.m.Clear(alarms.PathDown, "sgw=sg1,assoc=stp1,path=10.0.2.2")
	expect(t, d.mustRun(t, "alarms", "clear", "1"), "alarm 1 cleared: path-down sgw=sg1,assoc=stp1,path=10.0.2.2")
	expect(t, d.mustRun(t, "alarms", "--cleared"), `
ID  SEVERITY  RAISED                CLEARED               ALARM      OBJECT                            ACK    TEXT
1   MINOR     2025-03-01T12:00:00Z  2025-03-01T12:01:00Z  path-down  sgw=sg1,assoc=stp1,path=10.0.2.2  alice  addr-unreachable; 1 comment(s), last: fibre cut, ticket 7`)
	expect(t, d.mustRun(t, "alarms", "count"), `
CRITICAL  MAJOR  MINOR  WARNING  INDETERMINATE
1         0      0      0        0`)

	// --json prints what the API returns.
	var m map[string]alarms.Alarm
	if err := json.Unmarshal([]byte(d.mustRun(t, "alarms", "--json")), &m); err != nil || len(m) != 1 || m["2"].AckUserID != "alice" {
		t.Fatalf("%v %+v", err, m)
	}
	if _, err := d.run(t, "alarms", "ack", "99"); err == nil {
		t.Fatal("ack of an unknown alarm succeeded")
	}
}

func TestShelves(t *testing.T) {
	d := startDaemon(t)
	d.m.Raise(alarms.Report{Def: alarms.AssociationDown, Object: "sgw=sg1,assoc=asp3"})
	expect(t, d.mustRun(t, "alarms", "shelve", "sgw=sg1,assoc=asp3", "--for", "2h", "--reason", "ASP host swap"),
		"shelf 1: sgw=sg1,assoc=asp3 until 2025-03-01T14:00:00Z")
	expect(t, d.mustRun(t, "alarms"), "no alarm")
	expect(t, d.mustRun(t, "alarms", "--shelved"), `
ID  SEVERITY  SINCE                 ALARM             OBJECT              ACK  TEXT
1   MAJOR     2025-03-01T12:00:00Z  association-down  sgw=sg1,assoc=asp3  -    shelved by 1`)
	expect(t, d.mustRun(t, "alarms", "shelves"), `
ID  OBJECT              USER   SINCE                 UNTIL                 REASON
1   sgw=sg1,assoc=asp3  alice  2025-03-01T12:00:00Z  2025-03-01T14:00:00Z  ASP host swap`)
	expect(t, d.mustRun(t, "alarms", "unshelve", "1"), "shelf 1 removed")
	expect(t, d.mustRun(t, "alarms", "shelves"), "no shelf")
}

func TestWatch(t *testing.T) {
	d := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a guard against a hang, not an assertion
	defer cancel()
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := d.runCtx(ctx, t, "alarms", "watch", "--count", "3")
		done <- result{out, err}
	}()
	for d.m.Subscribers() == 0 {
		if ctx.Err() != nil {
			t.Fatal("watch never subscribed")
		}
		runtime.Gosched()
	}
	d.m.Raise(alarms.Report{Def: alarms.AssociationDown, Object: "sgw=sg1,assoc=asp3", AdditionalText: "comm-lost"})
	d.m.Acknowledge("1", "bob", "")
	d.m.Clear(alarms.AssociationDown, "sgw=sg1,assoc=asp3")
	d.clk.Advance(alarms.AssociationDown.Debounce.ClearAfter)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err, r.out)
	}
	expect(t, r.out, `
2025-03-01T12:00:00Z notifyNewAlarm         id=1 MAJOR association-down sgw=sg1,assoc=asp3 "comm-lost"
2025-03-01T12:00:00Z notifyAckStateChanged  id=1 MAJOR association-down sgw=sg1,assoc=asp3 ACKNOWLEDGED by bob
2025-03-01T12:00:10Z notifyClearedAlarm     id=1 CLEARED association-down sgw=sg1,assoc=asp3 "comm-lost"`)
}

func TestLogLevel(t *testing.T) {
	d := startDaemon(t)
	expect(t, d.mustRun(t, "log", "level"), "info")
	expect(t, d.mustRun(t, "log", "level", "debug"), "debug")
	if d.level.Level() != zap.DebugLevel {
		t.Fatal(d.level.Level())
	}
	if _, err := d.run(t, "log", "level", "loud"); err == nil {
		t.Fatal("a bad level was accepted")
	}
}

func TestProviderCommands(t *testing.T) {
	d := startDaemon(t)
	expect(t, d.mustRun(t, "pools"), `
POOL  POLICY      ELEMENTS  MINIMUM
hlr   least-used  1         2`)
	expect(t, d.mustRun(t, "elements", "hlr"), `
ID   ADDRESS                 STATE       LOAD  HOME REGISTRAR
0x1  10.0.1.5+10.0.2.5:2905  registered  1200  pr1`)
	if _, err := d.run(t, "elements", "vlr"); err == nil || err.Error() != `no pool "vlr" (HTTP 404)` {
		t.Fatal(err)
	}
	expect(t, d.mustRun(t, "asps"), `
ASP   STATE       ASSOCIATION  APPLICATION SERVERS
asp1  ASP-ACTIVE  asp1         hlr`)
	expect(t, d.mustRun(t, "ases"), `
AS   STATE      MODE       ROUTING CONTEXT  ASPS
hlr  AS-ACTIVE  loadshare  10               asp1`)
	out := d.mustRun(t, "associations")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ASSOCIATION  STATE") ||
		!strings.Contains(lines[1], "stp1") || !strings.Contains(lines[1], "established") ||
		!strings.Contains(lines[1], "10.0.1.2 (primary)") || !strings.Contains(lines[2], "10.0.2.2") || !strings.Contains(lines[2], "active") {
		t.Fatalf("%s", out)
	}
	var as []mgmt.Association
	if err := json.Unmarshal([]byte(d.mustRun(t, "associations", "--json")), &as); err != nil || len(as[0].Paths) != 2 {
		t.Fatal(err, as)
	}
}

func TestUnreachableDaemon(t *testing.T) {
	var out bytes.Buffer
	root := newRoot(&out, &out)
	root.SetArgs([]string{"--socket", filepath.Join(t.TempDir(), "none.sock"), "status"})
	if err := root.Execute(); err == nil {
		t.Fatal("status against no daemon succeeded")
	}
}

// operations is what the gateway will implement for block/unblock and
// drain: here it records the commands.
type operations struct {
	mu        sync.Mutex
	clk       fakeClock
	blocked   map[string]*mgmt.Block
	drain     mgmt.Drain
	dialogues int
	calls     []string
}

func (o *operations) asp(id string) (mgmt.ASP, error) {
	if id != "asp1" {
		return mgmt.ASP{}, fmt.Errorf("%w: %s", mgmt.ErrUnknownASP, id)
	}
	return mgmt.ASP{ID: id, Association: "asp1", State: "ASP-ACTIVE", Blocked: o.blocked[id]}, nil
}

func (o *operations) BlockASP(_ context.Context, id string, req mgmt.OperatorRequest) (mgmt.ASP, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, "block "+id+" by "+req.UserID+": "+req.Reason)
	if _, err := o.asp(id); err != nil {
		return mgmt.ASP{}, err
	}
	if o.blocked[id] == nil {
		o.blocked[id] = &mgmt.Block{UserID: req.UserID, Reason: req.Reason, Since: o.clk.Now()}
	}
	return o.asp(id)
}

func (o *operations) UnblockASP(_ context.Context, id string, req mgmt.OperatorRequest) (mgmt.ASP, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, "unblock "+id+" by "+req.UserID)
	delete(o.blocked, id)
	return o.asp(id)
}

func (o *operations) Drain(_ context.Context, req mgmt.OperatorRequest) (mgmt.Drain, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, "drain by "+req.UserID+": "+req.Reason)
	if !o.drain.Draining {
		now := o.clk.Now()
		o.drain = mgmt.Drain{Draining: true, UserID: req.UserID, Reason: req.Reason, Since: &now}
	}
	o.drain.DialoguesLeft = o.dialogues
	return o.drain, nil
}

func (o *operations) Undrain(_ context.Context, req mgmt.OperatorRequest) (mgmt.Drain, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, "undrain by "+req.UserID)
	o.drain = mgmt.Drain{DialoguesLeft: o.dialogues}
	return o.drain, nil
}

func (o *operations) DrainState(context.Context) (mgmt.Drain, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.drain.DialoguesLeft = o.dialogues
	return o.drain, nil
}

func TestBlockUnblockASP(t *testing.T) {
	d := startDaemon(t)
	d.clk.Advance(time.Minute)
	expect(t, d.mustRun(t, "asps", "block", "asp1", "--reason", "host swap"),
		"ASP asp1 blocked: ASP-ACTIVE, blocked by alice since 2025-03-01T12:01:00Z")
	var a mgmt.ASP
	if err := json.Unmarshal([]byte(d.mustRun(t, "asps", "block", "asp1", "--json")), &a); err != nil ||
		a.Blocked == nil || a.Blocked.Reason != "host swap" || !a.Blocked.Since.Equal(t0.Add(time.Minute)) {
		t.Fatalf("%v %+v", err, a)
	}
	if _, err := d.run(t, "asps", "block", "asp9"); err == nil || err.Error() != `ASP "asp9": no such ASP: asp9 (HTTP 404)` {
		t.Fatal(err)
	}
	expect(t, d.mustRun(t, "asps", "unblock", "asp1"), "ASP asp1 unblocked: ASP-ACTIVE")
	if _, err := d.run(t, "asps", "block"); err == nil {
		t.Fatal("block without an ASP accepted")
	}
	d.ops.mu.Lock()
	calls := strings.Join(d.ops.calls, "\n")
	d.ops.mu.Unlock()
	expect(t, calls, `
block asp1 by alice: host swap
block asp1 by alice: 
block asp9 by alice: 
unblock asp1 by alice`)
}

func TestDrain(t *testing.T) {
	d := startDaemon(t)
	expect(t, d.mustRun(t, "drain", "--status"), "not draining: taking traffic")
	expect(t, d.mustRun(t, "drain", "--reason", "kernel upgrade"), "draining since 2025-03-01T12:00:00Z by alice (kernel upgrade): 42 dialogue(s) left")
	d.ops.mu.Lock()
	d.ops.dialogues = 3
	d.ops.mu.Unlock()
	d.clk.Advance(time.Minute)
	expect(t, d.mustRun(t, "drain", "--status"), "draining since 2025-03-01T12:00:00Z by alice (kernel upgrade): 3 dialogue(s) left")
	var st mgmt.Drain
	if err := json.Unmarshal([]byte(d.mustRun(t, "drain", "--status", "--json")), &st); err != nil || !st.Draining || st.DialoguesLeft != 3 {
		t.Fatalf("%v %+v", err, st)
	}
	expect(t, d.mustRun(t, "drain", "--cancel"), "drain cancelled: taking traffic")
	if _, err := d.run(t, "drain", "--status", "--cancel"); err == nil {
		t.Fatal("--status --cancel accepted")
	}
}

// A daemon without the providers (the registrar) says so.
func TestOperatorCommandsNotProvided(t *testing.T) {
	m, err := alarms.NewManager(alarms.Config{Clock: fakeClock{sctptest.NewFakeClock(t0)}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	sock := filepath.Join(t.TempDir(), "pr.sock")
	ls, err := mgmt.Listen("", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { mgmt.New(mgmt.Config{Alarms: m}).Serve(ctx, ls...); close(done) }()
	defer func() { cancel(); <-done }()
	for _, args := range [][]string{{"drain"}, {"drain", "--status"}, {"asps", "block", "asp1"}} {
		var out bytes.Buffer
		root := newRoot(&out, &out)
		root.SetArgs(append([]string{"--socket", sock}, args...))
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "not provided by this daemon (HTTP 404)") {
			t.Errorf("sgwctl %v: %v", args, err)
		}
	}
}
