package alarms

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

// fakeClock adapts sctptest's manual clock to Clock.
type fakeClock struct{ *sctptest.FakeClock }

func (c fakeClock) AfterFunc(d time.Duration, f func()) Timer { return c.FakeClock.AfterFunc(d, f) }

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestManager(t *testing.T, cfg Config) (*Manager, fakeClock) {
	t.Helper()
	clk := fakeClock{sctptest.NewFakeClock(t0)}
	if cfg.Clock == nil {
		cfg.Clock = clk
	} else {
		clk = cfg.Clock.(fakeClock)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, clk
}

// drain returns the notification types waiting on s.
func drain(s *Subscription) []string {
	var out []string
	for {
		select {
		case n, ok := <-s.C:
			if !ok {
				return append(out, "closed")
			}
			out = append(out, string(n.Type)+" "+n.Alarm.Name+" "+n.Alarm.Object)
		default:
			return out
		}
	}
}

func mustRaise(t *testing.T, m *Manager, r Report) {
	t.Helper()
	if err := m.Raise(r); err != nil {
		t.Fatal(err)
	}
}

func mustClear(t *testing.T, m *Manager, d *Definition, dn string) {
	t.Helper()
	if err := m.Clear(d, dn); err != nil {
		t.Fatal(err)
	}
}

func active(m *Manager) []Alarm { return m.Alarms(Filter{Shelved: true}) }

func TestInventoryValid(t *testing.T) {
	if err := Validate(Inventory); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"association-down", "path-down", "asp-down", "as-pending", "as-down",
		"pool-below-minimum", "pool-empty", "registrar-peer-lost", "takeover-performed",
		"handlespace-checksum-mismatch", "messages-discarded", "config-reload-refused"} {
		if _, ok := Lookup(name); !ok {
			t.Errorf("inventory lacks %s", name)
		}
	}
	bad := []*Definition{{Name: "x", EventType: CommunicationsAlarm, ProbableCause: "p", SpecificProblem: "s", Severity: Cleared, Object: "a=b", ObjectClass: "C", Meaning: "m", Repair: "r"}}
	if Validate(bad) == nil {
		t.Error("a definition raised as CLEARED was accepted")
	}
}

func TestRaiseIsIdempotentAndClearKeepsHistory(t *testing.T) {
	m, clk := newTestManager(t, Config{})
	sub := m.Subscribe(16)
	r := Report{Def: AssociationDown, Object: "sgw=sg1, assoc=asp3", AdditionalText: "comm-lost"}
	mustRaise(t, m, r)
	mustRaise(t, m, r)
	mustRaise(t, m, r)
	got := active(m)
	if len(got) != 1 || got[0].Object != "sgw=sg1,assoc=asp3" || got[0].Severity != Major || got[0].ID != "1" {
		t.Fatalf("active = %+v", got)
	}
	if got[0].ProposedRepairActions != AssociationDown.Repair || got[0].AckState != Unacknowledged || !got[0].RaisedTime.Equal(t0) {
		t.Fatalf("alarm record = %+v", got[0])
	}
	mustClear(t, m, AssociationDown, "sgw=sg1,assoc=asp3")
	clk.Advance(AssociationDown.Debounce.ClearAfter)
	if n := len(active(m)); n != 0 {
		t.Fatalf("%d active after clear", n)
	}
	h := m.Alarms(Filter{Cleared: true})
	if len(h) != 1 || h[0].ClearedTime == nil || !h[0].ClearedTime.Equal(t0.Add(10*time.Second)) || h[0].ClearUserID != "" {
		t.Fatalf("history = %+v", h)
	}
	mustRaise(t, m, r)
	if got := active(m); len(got) != 1 || got[0].ID != "2" {
		t.Fatalf("raised again: %+v", got)
	}
	want := []string{
		"notifyNewAlarm association-down sgw=sg1,assoc=asp3",
		"notifyClearedAlarm association-down sgw=sg1,assoc=asp3",
		"notifyNewAlarm association-down sgw=sg1,assoc=asp3",
	}
	if got := drain(sub); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("notifications:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSeverityChangeNotifies(t *testing.T) {
	m, _ := newTestManager(t, Config{})
	sub := m.Subscribe(16)
	mustRaise(t, m, Report{Def: MessagesDiscarded, Object: "sgw=sg1,queue=pool-hlr", AdditionalText: "10 discarded"})
	mustRaise(t, m, Report{Def: MessagesDiscarded, Object: "sgw=sg1,queue=pool-hlr", Severity: Critical, AdditionalText: "5000 discarded"})
	a := active(m)[0]
	if a.Severity != Critical || a.AdditionalText != "5000 discarded" || a.ChangedTime == nil {
		t.Fatalf("%+v", a)
	}
	if got := drain(sub); len(got) != 2 || !strings.HasPrefix(got[1], "notifyChangedAlarm") {
		t.Fatalf("%v", got)
	}
}

func TestDebounceFlappingIsOneAlarm(t *testing.T) {
	m, clk := newTestManager(t, Config{})
	sub := m.Subscribe(64)
	dn := "sgw=sg1,assoc=asp3,path=10.0.2.2"
	// 20 flaps, each shorter than ClearAfter: one alarm, raised once.
	for i := 0; i < 20; i++ {
		mustRaise(t, m, Report{Def: PathDown, Object: dn})
		clk.Advance(time.Second)
		mustClear(t, m, PathDown, dn)
		clk.Advance(2 * time.Second)
	}
	a := active(m)
	if len(a) != 1 || a[0].FlapCount != 19 {
		t.Fatalf("active = %+v", a)
	}
	if got := drain(sub); len(got) != 1 || !strings.HasPrefix(got[0], "notifyNewAlarm") {
		t.Fatalf("notifications = %v", got)
	}
	clk.Advance(PathDown.Debounce.ClearAfter)
	if len(active(m)) != 0 {
		t.Fatal("not cleared after staying clear for ClearAfter")
	}
	h := m.Alarms(Filter{Cleared: true})
	if len(h) != 1 || h[0].FlapCount != 19 || !h[0].ClearedTime.Equal(t0.Add(20*3*time.Second-2*time.Second+PathDown.Debounce.ClearAfter)) {
		t.Fatalf("history = %+v", h)
	}
	st, _ := m.Stats()
	if st["path-down"].Raised != 1 || st["path-down"].Cleared != 1 || st["path-down"].Flaps != 19 {
		t.Fatalf("stats = %+v", st["path-down"])
	}
}

func TestDebounceRaiseAfterSuppressesTransients(t *testing.T) {
	m, clk := newTestManager(t, Config{})
	dn := "sgw=sg1,pool=hlr"
	d := PoolBelowMinimum.Debounce
	// Shorter than RaiseAfter: nothing.
	mustRaise(t, m, Report{Def: PoolBelowMinimum, Object: dn})
	clk.Advance(d.RaiseAfter - time.Second)
	mustClear(t, m, PoolBelowMinimum, dn)
	clk.Advance(time.Hour) // past the flap window: the onset is forgotten
	if len(active(m)) != 0 {
		t.Fatal("a transient raised an alarm")
	}
	// Held for RaiseAfter: raised at that moment.
	mustRaise(t, m, Report{Def: PoolBelowMinimum, Object: dn})
	clk.Advance(d.RaiseAfter)
	a := active(m)
	if len(a) != 1 || !a[0].RaisedTime.Equal(t0.Add(time.Hour+2*d.RaiseAfter-time.Second)) {
		t.Fatalf("active = %+v", a)
	}
	st, _ := m.Stats()
	if st["pool-below-minimum"].Suppressed != 1 {
		t.Fatalf("stats = %+v", st["pool-below-minimum"])
	}
}

func TestDebounceFlapCountRaisesShortConditions(t *testing.T) {
	m, clk := newTestManager(t, Config{})
	dn := "sgw=sg1,pool=hlr"
	d := PoolBelowMinimum.Debounce
	for i := 1; i < d.FlapCount; i++ {
		mustRaise(t, m, Report{Def: PoolBelowMinimum, Object: dn})
		clk.Advance(time.Second)
		mustClear(t, m, PoolBelowMinimum, dn)
		clk.Advance(10 * time.Second)
	}
	if len(active(m)) != 0 {
		t.Fatal("raised before the flap count")
	}
	mustRaise(t, m, Report{Def: PoolBelowMinimum, Object: dn})
	if a := active(m); len(a) != 1 || !a[0].RaisedTime.Equal(clk.Now()) {
		t.Fatalf("the %d-th appearance within the window did not raise: %+v", d.FlapCount, a)
	}
}

func TestOperatorAckCommentClear(t *testing.T) {
	m, clk := newTestManager(t, Config{SystemID: "sg1"})
	sub := m.Subscribe(16)
	mustRaise(t, m, Report{Def: ASDown, Object: "sgw=sg1,as=hlr"})
	id := active(m)[0].ID
	clk.Advance(time.Minute)
	a, err := m.Acknowledge(id, "alice", "sgwctl")
	if err != nil || a.AckState != Acknowledged || a.AckUserID != "alice" || !a.AckTime.Equal(t0.Add(time.Minute)) {
		t.Fatalf("%+v %v", a, err)
	}
	if n := len(m.Alarms(Filter{AckState: Unacknowledged})); n != 0 {
		t.Fatalf("%d unacknowledged", n)
	}
	if a, _ = m.Unacknowledge(id, "bob", "sgwctl"); a.AckState != Unacknowledged || a.AckUserID != "bob" {
		t.Fatalf("%+v", a)
	}
	if a, _ = m.Comment(id, "bob", "sgwctl", "ticket 4711"); len(a.Comments) != 1 || a.Comments[0].Text != "ticket 4711" {
		t.Fatalf("%+v", a)
	}
	if _, err := m.ClearManually(id, "bob", "sgwctl", false); !errors.Is(err, ErrConditionPresent) {
		t.Fatalf("clear of a present condition: %v", err)
	}
	if a, err = m.ClearManually(id, "bob", "sgwctl", true); err != nil || a.ClearUserID != "bob" || a.Active() {
		t.Fatalf("forced clear: %+v %v", a, err)
	}
	if _, err := m.ClearManually(id, "bob", "sgwctl", true); !errors.Is(err, ErrAlreadyCleared) {
		t.Fatalf("second clear: %v", err)
	}
	if _, err := m.Acknowledge("999", "x", ""); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	want := "notifyNewAlarm notifyAckStateChanged notifyAckStateChanged notifyComments notifyClearedAlarm"
	var got []string
	for _, n := range drain(sub) {
		got = append(got, strings.Fields(n)[0])
	}
	if strings.Join(got, " ") != want {
		t.Fatalf("notifications %v", got)
	}
	// Cleared while the clear hold runs: the operator may clear it.
	mustRaise(t, m, Report{Def: ASDown, Object: "sgw=sg1,as=hlr"})
	mustClear(t, m, ASDown, "sgw=sg1,as=hlr")
	id = active(m)[0].ID
	if _, err := m.ClearManually(id, "bob", "", false); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if n := len(m.Alarms(Filter{Cleared: true})); n != 2 {
		t.Fatalf("history has %d alarms", n)
	}
}

func TestStatelessAutoClear(t *testing.T) {
	m, clk := newTestManager(t, Config{})
	dn := "registrar=pr1,peer=pr2"
	mustRaise(t, m, Report{Def: TakeoverPerformed, Object: dn, AdditionalText: "12 PEs"})
	clk.Advance(TakeoverPerformed.AutoClear - time.Second)
	if len(active(m)) != 1 {
		t.Fatal("gone early")
	}
	clk.Advance(time.Second)
	if len(active(m)) != 0 {
		t.Fatal("not cleared after AutoClear")
	}
	// An operator may clear it at once.
	mustRaise(t, m, Report{Def: TakeoverPerformed, Object: dn})
	if _, err := m.ClearManually(active(m)[0].ID, "alice", "", false); err != nil {
		t.Fatal(err)
	}
}

func TestShelving(t *testing.T) {
	m, clk := newTestManager(t, Config{})
	mustRaise(t, m, Report{Def: AssociationDown, Object: "sgw=sg1,assoc=asp3"})
	sub := m.Subscribe(16)
	if _, err := m.Shelve("sgw=sg1", "alice", "rack A maintenance", t0.Add(8*24*time.Hour)); !errors.Is(err, ErrBadShelf) {
		t.Fatalf("a shelf beyond MaxShelve: %v", err)
	}
	s, err := m.Shelve("sgw=sg1", "alice", "rack A maintenance", t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	mustRaise(t, m, Report{Def: PathDown, Object: "sgw=sg1,assoc=asp4,path=10.0.1.2"})
	mustRaise(t, m, Report{Def: PathDown, Object: "sgw=sg2,assoc=asp4,path=10.0.1.2"})
	if got := m.Alarms(Filter{}); len(got) != 1 || got[0].Object != "sgw=sg2,assoc=asp4,path=10.0.1.2" {
		t.Fatalf("unshelved = %+v", got)
	}
	all := active(m)
	if len(all) != 3 || all[0].Shelved != s.ID || all[1].Shelved != s.ID {
		t.Fatalf("all = %+v", all)
	}
	var shelved int
	for _, c := range m.Summary() {
		if c.Shelved {
			shelved += c.Count
		}
	}
	if shelved != 2 {
		t.Fatalf("summary: %d shelved", shelved)
	}
	clk.Advance(2 * time.Hour)
	if got := m.Alarms(Filter{}); len(got) != 3 {
		t.Fatalf("after expiry: %+v", got)
	}
	if len(m.Shelves()) != 0 {
		t.Fatal("shelf not removed at expiry")
	}
	if got := drain(sub); len(got) != 5 { // 1 shelved + 2 new + 2 unshelved
		t.Fatalf("notifications: %v", got)
	}
}

func TestSlowSubscriberIsClosed(t *testing.T) {
	m, _ := newTestManager(t, Config{})
	slow := m.Subscribe(2)
	fast := m.Subscribe(100)
	for i := 0; i < 5; i++ {
		mustRaise(t, m, Report{Def: ASPDown, Object: "sgw=sg1,asp=" + string(rune('a'+i))})
	}
	if got := drain(slow); len(got) != 3 || got[2] != "closed" {
		t.Fatalf("slow: %v", got)
	}
	if !errors.Is(slow.Err(), ErrSlowSubscriber) {
		t.Fatal(slow.Err())
	}
	if got := drain(fast); len(got) != 5 {
		t.Fatalf("fast: %v", got)
	}
	if _, dropped := m.Stats(); dropped != 1 {
		t.Fatal(dropped)
	}
	fast.Close()
	if fast.Err() != nil {
		t.Fatal(fast.Err())
	}
}

func TestRejectsUnknownDefinitionAndBadDN(t *testing.T) {
	m, _ := newTestManager(t, Config{})
	other := *AssociationDown
	if err := m.Raise(Report{Def: &other, Object: "sgw=sg1"}); err == nil {
		t.Error("a definition outside the inventory was accepted")
	}
	if err := m.Raise(Report{Def: AssociationDown, Object: "asp3"}); err == nil {
		t.Error("a bad DN was accepted")
	}
}

func TestHistorySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alarms.jsonl")
	h, err := OpenHistory(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, clk := newTestManager(t, Config{Store: h})
	mustRaise(t, m, Report{Def: AssociationDown, Object: "sgw=sg1,assoc=asp3"})
	mustRaise(t, m, Report{Def: AssociationDown, Object: "sgw=sg1,assoc=asp4"})
	mustRaise(t, m, Report{Def: TakeoverPerformed, Object: "registrar=pr1,peer=pr2"})
	mustRaise(t, m, Report{Def: PathDown, Object: "sgw=sg1,assoc=asp5,path=10.0.2.2"})
	mustClear(t, m, PathDown, "sgw=sg1,assoc=asp5,path=10.0.2.2")
	clk.Advance(time.Minute)
	id3 := active(m)[0].ID
	m.Acknowledge(id3, "alice", "")
	m.Comment(id3, "alice", "", "known")
	if _, err := m.Shelve("sgw=sg9", "alice", "", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	m.Close()
	h.Close()
	// A crash in the middle of a write leaves a torn line.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"alarm":{"alarmId":"99","alarmNa`)
	f.Close()

	h2, err := OpenHistory(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	m2, clk2 := newTestManager(t, Config{Store: h2, Clock: fakeClock{sctptest.NewFakeClock(t0.Add(time.Hour / 2))}})
	if h2.Torn != 1 {
		t.Fatalf("torn lines = %d", h2.Torn)
	}
	if n := len(m2.Alarms(Filter{Cleared: true})); n != 1 {
		t.Fatalf("history after restart: %d", n)
	}
	if len(m2.Shelves()) != 1 {
		t.Fatal("shelf lost")
	}
	if n := len(active(m2)); n != 3 {
		t.Fatalf("active after restart: %d", n)
	}
	// asp3 is still down and reported again: same alarm, still acknowledged.
	mustRaise(t, m2, Report{Def: AssociationDown, Object: "sgw=sg1,assoc=asp3"})
	clk2.Advance(30 * time.Second)
	got := active(m2)
	if len(got) != 2 {
		t.Fatalf("after the grace: %+v", got)
	}
	if got[0].ID != id3 || got[0].AckState != Acknowledged || len(got[0].Comments) != 1 || !got[0].RaisedTime.Equal(t0) {
		t.Fatalf("carried alarm = %+v", got[0])
	}
	if got[1].Name != "takeover-performed" {
		t.Fatalf("stateless alarm = %+v", got[1])
	}
	// asp4 came back while the process was down: cleared, saying why.
	hist := m2.Alarms(Filter{Cleared: true})
	if len(hist) != 2 || !strings.Contains(hist[1].AdditionalText, "not reported again") {
		t.Fatalf("history = %+v", hist)
	}
	// New alarms continue the numbering.
	mustRaise(t, m2, Report{Def: ASPDown, Object: "sgw=sg1,asp=x"})
	if a := m2.Alarms(Filter{Name: "asp-down"}); a[0].ID != "5" {
		t.Fatalf("id = %s", a[0].ID)
	}
}

func TestHistoryFileStaysBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alarms.jsonl")
	h, err := OpenHistory(path, 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	h.NoSync = true
	defer h.Close()
	m, _ := newTestManager(t, Config{Store: h, HistoryLimit: 50})
	mustRaise(t, m, Report{Def: ASDown, Object: "sgw=sg1,as=keep"})
	for i := 0; i < 500; i++ {
		dn := "sgw=sg1,asp=a" + strings.Repeat("x", i%7)
		mustRaise(t, m, Report{Def: TakeoverPerformed, Object: dn})
		m.ClearManually(m.Alarms(Filter{Name: "takeover-performed"})[0].ID, "op", "", false)
		if h.Size() > h.MaxBytes {
			t.Fatalf("history file %d bytes over its cap %d", h.Size(), h.MaxBytes)
		}
	}
	recs, err := h.Load()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		found = found || (r.Alarm != nil && r.Alarm.Object == "sgw=sg1,as=keep")
	}
	if !found {
		t.Fatal("compaction dropped an active alarm")
	}
}

type failingStore struct{ fail bool }

func (s *failingStore) Load() ([]Record, error) { return nil, nil }
func (s *failingStore) Append(Record, func() []Record) error {
	if s.fail {
		return errors.New("disk full")
	}
	return nil
}

func TestStoreFailureRaisesAlarm(t *testing.T) {
	st := &failingStore{fail: true}
	m, clk := newTestManager(t, Config{Store: st, Self: "sgw=sg1"})
	mustRaise(t, m, Report{Def: ASPDown, Object: "sgw=sg1,asp=a"})
	a := m.Alarms(Filter{Name: HistoryUnwritable.Name})
	if len(a) != 1 || a[0].AdditionalText != "disk full" || a[0].Object != "sgw=sg1" {
		t.Fatalf("%+v", a)
	}
	st.fail = false
	mustRaise(t, m, Report{Def: ASPDown, Object: "sgw=sg1,asp=b"})
	clk.Advance(HistoryUnwritable.Debounce.ClearAfter)
	if a := m.Alarms(Filter{Name: HistoryUnwritable.Name}); len(a) != 0 {
		t.Fatalf("%+v", a)
	}
}
