package gateway

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

// alarmLog records the gateway's alarm reports.
type alarmLog struct {
	mu      sync.Mutex
	raised  map[string]time.Time // "name object" → first raise
	texts   map[string]string
	cleared map[string]int // "name object" → clears of a raised alarm
}

func newAlarmLog() *alarmLog {
	return &alarmLog{raised: map[string]time.Time{}, texts: map[string]string{}, cleared: map[string]int{}}
}

func (l *alarmLog) Raise(r alarms.Report) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := r.Def.Name + " " + r.Object
	if _, ok := l.raised[k]; !ok {
		l.raised[k] = time.Now()
	}
	l.texts[k] = r.AdditionalText
	return nil
}

func (l *alarmLog) Clear(def *alarms.Definition, object string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := def.Name + " " + object
	if _, ok := l.raised[k]; ok {
		l.cleared[k]++
	}
	delete(l.raised, k)
	return nil
}

func (l *alarmLog) get(k string) (time.Time, string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.raised[k]
	return at, l.texts[k], ok
}

// A pool that never gets an element raises pool-empty and
// pool-below-minimum once the start-up grace is over, though its live count
// never changed; not before the grace.
func TestPoolAlarmsAfterStartupGrace(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.StartupGrace = 300 * time.Millisecond
	log := newAlarmLog()
	g, err := New(cfg, Options{Transport: sctptest.NewNetwork(), Alarms: log, RefreshInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, name := range []string{"pool-empty", "pool-below-minimum"} {
		k := name + " sgw=1,pool=hlr"
		waitFor(t, k, func() bool { _, _, ok := log.get(k); return ok })
		at, text, _ := log.get(k)
		if at.Sub(start) < cfg.Limits.StartupGrace {
			t.Errorf("%s raised %v after start, within the grace of %v", k, at.Sub(start), cfg.Limits.StartupGrace)
		}
		if name == "pool-below-minimum" && text != "service hlr: 0 live of 2" {
			t.Errorf("%s: text %q", k, text)
		}
	}
}

// One element of a pool that needs two: below minimum after the grace, not
// empty; a second one clears it.
func TestPoolBelowMinimumAfterStartupGrace(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.StartupGrace = 200 * time.Millisecond
	log := newAlarmLog()
	tr := sctptest.NewNetwork()
	g, err := New(cfg, Options{Transport: tr, Alarms: log, RefreshInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	startServer(t, tr, g, "10.0.0.11", 0x5eed0011, &app{})
	waitFor(t, "a live element", func() bool { return g.Live()[0] == 1 })
	k := "pool-below-minimum sgw=1,pool=hlr"
	waitFor(t, k, func() bool { _, _, ok := log.get(k); return ok })
	if _, _, ok := log.get("pool-empty sgw=1,pool=hlr"); ok {
		t.Fatal("pool-empty raised with a live element")
	}
	startServer(t, tr, g, "10.0.0.12", 0x5eed0012, &app{})
	waitFor(t, k+" cleared", func() bool { _, _, ok := log.get(k); return !ok })
}

// clearedBy waits for the log line of asp-down's clear for object and
// returns its cause.
func clearedBy(t *testing.T, logs *observer.ObservedLogs, object string) string {
	t.Helper()
	var cause string
	waitFor(t, "asp-down cleared log of "+object, func() bool {
		for _, e := range logs.FilterMessage("asp-down cleared").All() {
			m := e.ContextMap()
			if m["object"] == object {
				cause, _ = m["cause"].(string)
				return true
			}
		}
		return false
	})
	return cause
}

// startAlarmed starts a gateway reporting to an alarmLog, with one ASP-ACTIVE
// element 0x5eed0011 of hlr.
func startAlarmed(t *testing.T, cfg *Config) (*Gateway, *alarmLog, *observer.ObservedLogs, *sctptest.Network) {
	log := newAlarmLog()
	core, logs := observer.New(zap.InfoLevel)
	tr := sctptest.NewNetwork()
	g, err := New(cfg, Options{Transport: tr, Alarms: log, Log: zap.New(core), RefreshInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g, log, logs, tr
}

const aspDownKey = "asp-down sgw=1,asp=1592590353" // PE identifier 0x5eed0011

// An ASP that leaves ASP-ACTIVE with its element still registered raises
// asp-down; it clears when the ASP is ASP-ACTIVE again.
func TestASPDownClearsWhenActiveAgain(t *testing.T) {
	g, log, logs, tr := startAlarmed(t, testConfig(t))
	s := startServer(t, tr, g, "10.0.0.11", 0x5eed0011, &app{})
	waitFor(t, "a live element", func() bool { return g.Live()[0] == 1 })
	k := aspDownKey
	if _, _, ok := log.get(k); ok {
		t.Fatal("asp-down raised for an active ASP")
	}
	s.Client().Deactivate()
	waitFor(t, k, func() bool { _, _, ok := log.get(k); return ok })
	if _, text, _ := log.get(k); text != "left ASP-ACTIVE; clears when the ASP is ASP-ACTIVE again or its pool element 0x5eed0011 leaves the handlespace" {
		t.Errorf("text %q", text)
	}
	s.Client().Activate()
	waitFor(t, k+" cleared", func() bool { _, _, ok := log.get(k); return !ok })
	if c := clearedBy(t, logs, "sgw=1,asp=1592590353"); c != "ASP-ACTIVE again" {
		t.Errorf("cleared because %q", c)
	}
}

// An ASP whose M3UA association is lost while its element stays registered
// raises asp-down; when the registrar removes the element (here its ASAP
// association ends; a restarted process registers under a new identifier)
// the alarm clears though the ASP never comes back.
func TestASPDownClearsWhenElementLeaves(t *testing.T) {
	g, log, logs, tr := startAlarmed(t, testConfig(t))
	s := startServer(t, tr, g, "10.0.0.11", 0x5eed0011, &app{})
	waitFor(t, "a live element", func() bool { return g.Live()[0] == 1 })
	k := aspDownKey
	if err := s.Client().Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, k, func() bool { _, _, ok := log.get(k); return ok })
	if _, text, _ := log.get(k); text != "association lost; clears when the ASP is ASP-ACTIVE again or its pool element 0x5eed0011 leaves the handlespace" {
		t.Errorf("text %q", text)
	}
	if n := len(g.Registrar().Elements([]byte("hlr"))); n != 1 {
		t.Fatalf("%d elements in the pool, want the down one still registered", n)
	}
	s.Close()
	waitFor(t, k+" cleared", func() bool { _, _, ok := log.get(k); return !ok })
	if c := clearedBy(t, logs, "sgw=1,asp=1592590353"); c != "element left the handlespace" {
		t.Errorf("cleared because %q", c)
	}
	if n := len(g.Registrar().Elements([]byte("hlr"))); n != 0 {
		t.Errorf("%d elements still in the pool", n)
	}
}

// A process killed outright (every association aborted, no deregistration):
// whatever the order in which the gateway hears of its M3UA association and
// of its element's removal, asp-down is raised (a failure) and not left
// raised.
func TestASPDownAfterKill(t *testing.T) {
	g, log, _, tr := startAlarmed(t, testConfig(t))
	s := startServer(t, tr, g, "10.0.0.11", 0x5eed0011, &app{})
	waitFor(t, "a live element", func() bool { return g.Live()[0] == 1 })
	s.Close()
	waitFor(t, "the element's removal", func() bool { return len(g.Registrar().Elements([]byte("hlr"))) == 0 && g.Live()[0] == 0 })
	waitFor(t, "asp-down raised and cleared", func() bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		return log.cleared[aspDownKey] == 1
	})
	time.Sleep(100 * time.Millisecond) // a few refreshes
	if _, text, ok := log.get(aspDownKey); ok {
		t.Fatalf("asp-down left raised: %s", text)
	}
}

// The embedded registrar's peer alarms reach the gateway's alarms, on the
// gateway's object: a peer gateway gone raises registrar-peer-lost, its
// return clears it.
func TestRegistrarPeerLostRaisedAndCleared(t *testing.T) {
	tr := sctptest.NewNetwork()
	conf := func(id int, peer string) *Config {
		doc := fmt.Sprintf(`gateway_id: %d
network: {listen: "10.0.0.%d:2905", ases: [{name: stp, rc: 100, point_codes: [1001]}]}
servers: {listen: "10.0.0.%d:2906"}
registrar: {asap: "10.0.0.%d:3863", enrp: "10.0.0.%d:9901"%s}
services:
  - {name: hlr, rc: 200, pool: hlr, key: {dpc: 2001, si: 3, ssn: 6}}
`, id, id, id, id, id, peer)
		c, err := ParseConfig("t.yaml", []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	log := newAlarmLog()
	g1, err := New(conf(1, ""), Options{Transport: tr, Alarms: log, RefreshInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := g1.Start(); err != nil {
		t.Fatal(err)
	}
	defer g1.Close()
	start2 := func() *Gateway {
		g2, err := New(conf(2, `, peers: ["10.0.0.1:9901"]`), Options{Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		if err := g2.Start(); err != nil {
			t.Fatal(err)
		}
		return g2
	}
	g2 := start2()
	peers := func() (n int) {
		g1.Registrar().Do(func(r *enrp.Registrar) { n = len(r.Peers()) })
		return n
	}
	waitFor(t, "peer 2 known to 1", func() bool { return peers() == 1 })
	g2.Close()
	k := "registrar-peer-lost sgw=1,peer=2"
	waitFor(t, k, func() bool { _, _, ok := log.get(k); return ok })
	g2 = start2()
	defer g2.Close()
	waitFor(t, k+" cleared", func() bool { _, _, ok := log.get(k); return !ok })
}
