package metrics

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

type fakeClock struct{ *sctptest.FakeClock }

func (c fakeClock) AfterFunc(d time.Duration, f func()) alarms.Timer {
	return c.FakeClock.AfterFunc(d, f)
}

// everything returns a registry with every family populated with one
// series, so that Gather (and promlint) sees them all.
func everything(t *testing.T) (*prometheus.Registry, *alarms.Manager) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	s := New()
	if err := s.Register(reg); err != nil {
		t.Fatal(err)
	}
	s.SCTPEvents.WithLabelValues("asp3", "addr-unreachable").Inc()
	s.M3UAMessages.WithLabelValues("in", "TRANSFER", "DATA").Inc()
	s.M3UAErrors.WithLabelValues("out", "INVALID_ROUTING_CONTEXT").Inc()
	s.M3UAASPs.WithLabelValues("ASP-ACTIVE").Set(2)
	s.M3UAASes.WithLabelValues("AS-ACTIVE").Set(1)
	s.Registrations.WithLabelValues("ok").Inc()
	s.HandleResolutions.WithLabelValues("ok").Inc()
	s.KeepAliveTimeouts.Inc()
	s.UnreachableReports.WithLabelValues("sent").Inc()
	s.Takeovers.Inc()
	s.HandlespacePools.Set(1)
	s.HandlespaceElements.Set(3)
	s.PoolElements.WithLabelValues("hlr").Set(3)
	s.HandlespaceMismatches.Inc()
	s.MSUs.WithLabelValues("in").Inc()
	s.MSUsDiscarded.WithLabelValues("no-route").Inc()
	s.DialoguesActive.Set(1)
	s.DialoguesStarted.Inc()
	s.DialoguesFailover.Inc()
	s.SelectionDuration.Observe(3e-6)
	s.QueueDepth.WithLabelValues("pool-hlr").Set(0)

	assocs := NewAssociations()
	a, _ := sctptest.Pair()
	t.Cleanup(func() { a.Abort() })
	assocs.Add("asp3", a)
	reg.MustRegister(assocs)

	m, err := alarms.NewManager(alarms.Config{Clock: fakeClock{sctptest.NewFakeClock(time.Unix(0, 0))}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	reg.MustRegister(NewAlarmCollector(m, nil))
	return reg, m
}

func TestPromlint(t *testing.T) {
	reg, _ := everything(t)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	// Every family was gathered (none left without a series).
	gathered := map[string]bool{}
	for _, mf := range mfs {
		gathered[mf.GetName()] = true
	}
	for _, n := range Names() {
		if !gathered[n] {
			t.Errorf("%s not gathered", n)
		}
		if !strings.HasPrefix(n, "sigpool_") {
			t.Errorf("%s: not sigpool_", n)
		}
	}
}

// Labels come from small fixed sets or from the configuration; a label
// holding a peer-supplied or per-message value would make the number of
// series unbounded.
func TestLabelsAreBounded(t *testing.T) {
	bounded := map[string]bool{
		"association": true, "address": true, "state": true, "direction": true, "class": true, "type": true,
		"code": true, "result": true, "pool": true, "reason": true, "queue": true, "alarm": true,
		"severity": true, "shelved": true, "event": true,
	}
	reg, _ := everything(t)
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if !bounded[lp.GetName()] {
					t.Errorf("%s: label %q is not in the bounded set", mf.GetName(), lp.GetName())
				}
			}
		}
	}
}

func TestSCTPCollector(t *testing.T) {
	a, _ := sctptest.Pair()
	defer a.Abort()
	assocs := NewAssociations()
	assocs.Add("asp3", a)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(assocs)
	if err := a.FailPath(netip.MustParseAddr("10.0.2.2")); err != nil {
		t.Fatal(err)
	}
	st, _ := a.Status()
	want := map[string]float64{}
	for _, p := range st.Paths {
		want[p.Addr.String()+" "+p.State.String()] = 1
	}
	got := map[string]float64{}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		switch mf.GetName() {
		case "sigpool_sctp_path_state":
			for _, m := range mf.GetMetric() {
				if m.GetGauge().GetValue() == 1 {
					got[label(m, "address")+" "+label(m, "state")] = 1
				}
			}
		case "sigpool_sctp_path_srtt_seconds":
			for _, m := range mf.GetMetric() {
				for _, p := range st.Paths {
					if p.Addr.String() == label(m, "address") && m.GetGauge().GetValue() != p.SRTT.Seconds() {
						t.Errorf("srtt %s = %v, status says %v", p.Addr, m.GetGauge().GetValue(), p.SRTT)
					}
				}
			}
		}
	}
	if len(got) != 2 || len(want) != 2 {
		t.Fatalf("paths: got %v, status %v", got, want)
	}
	for k := range want {
		if got[k] != 1 {
			t.Errorf("path %s missing from %v", k, got)
		}
	}
	// Counters from the association's Stats: messages sent under loss.
	a.SetLoss(0.5)
	for i := 0; i < 40; i++ {
		if err := a.Send(sctp.Message{Stream: 0, PPID: 3, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	sa, err := a.Stats()
	if err != nil || sa.RetransmittedChunks == 0 {
		t.Fatalf("stats %+v %v: no retransmission at 50%% loss", sa, err)
	}
	if v := counterOf(t, reg, "sigpool_sctp_retransmitted_chunks_total", "asp3"); v != float64(sa.RetransmittedChunks) {
		t.Errorf("retransmitted = %v, stats say %d", v, sa.RetransmittedChunks)
	}
	if v := counterOf(t, reg, "sigpool_sctp_data_chunks_total", "asp3", "out"); v != 40 {
		t.Errorf("data chunks out = %v", v)
	}
	if v := testutil.ToFloat64(gaugeOf(t, reg, "sigpool_sctp_associations", "established")); v != 1 {
		t.Errorf("established = %v", v)
	}
	a.Abort()
	if v := testutil.ToFloat64(gaugeOf(t, reg, "sigpool_sctp_associations", "closed")); v != 1 {
		t.Errorf("closed = %v", v)
	}
	assocs.Remove("asp3")
	if n := len(assocs.Snapshot()); n != 0 {
		t.Fatal(n)
	}
}

func TestAlarmActive(t *testing.T) {
	reg, m := everything(t)
	m.Raise(alarms.Report{Def: alarms.ASDown, Object: "sgw=sg1,as=hlr"})
	m.Raise(alarms.Report{Def: alarms.ASDown, Object: "sgw=sg1,as=vlr"})
	m.Raise(alarms.Report{Def: alarms.PathDown, Object: "sgw=sg2,assoc=a,path=10.0.1.1"})
	m.Shelve("sgw=sg2", "op", "", time.Unix(3600, 0))
	expect := `
# HELP sigpool_alarm_active Active alarms, by inventory entry, perceived severity and whether a shelf hides them.
# TYPE sigpool_alarm_active gauge
`
	var lines []string
	for _, d := range alarms.Inventory {
		v := "0"
		switch d {
		case alarms.ASDown:
			v = "2"
		}
		lines = append(lines, `sigpool_alarm_active{alarm="`+d.Name+`",severity="`+d.Severity.Label()+`",shelved="false"} `+v)
	}
	lines = append(lines, `sigpool_alarm_active{alarm="path-down",severity="minor",shelved="true"} 1`)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expect+strings.Join(lines, "\n")+"\n"), "sigpool_alarm_active"); err != nil {
		t.Fatal(err)
	}
}

func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// gaugeOf gathers reg and returns the series of family with the given
// first label value as a collector for testutil.ToFloat64.
func gaugeOf(t *testing.T, reg *prometheus.Registry, family, value string) prometheus.Collector {
	t.Helper()
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == value {
				g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
				g.Set(m.GetGauge().GetValue())
				return g
			}
		}
	}
	t.Fatalf("%s{%s} not found", family, value)
	return nil
}

// counterOf reads one counter series of a gathered family by its label
// values in order.
func counterOf(t *testing.T, reg *prometheus.Registry, name string, values ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(values) {
				continue
			}
			for i, l := range m.GetLabel() {
				if l.GetValue() != values[i] {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, values)
	return 0
}
