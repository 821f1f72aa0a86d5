package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/sigpool/sigpool/alarms/metrics"
	"github.com/sigpool/sigpool/gateway"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

// recorder is a Registerer that keeps what it is given.
type recorder struct{ cs []prometheus.Collector }

func (r *recorder) Register(c prometheus.Collector) error   { r.cs = append(r.cs, c); return nil }
func (r *recorder) MustRegister(cs ...prometheus.Collector) { r.cs = append(r.cs, cs...) }
func (r *recorder) Unregister(prometheus.Collector) bool    { return false }

// exportedNames returns the family names the running daemons export, from
// the Describe output of the collectors that carry values:
//   - a gateway's (its own, its registrar's enrp.Collector, both M3UA sides'
//     m3ua server collectors), as sgw registers them;
//   - the daemon's (internal/daemon: the alarm collector and the SCTP
//     association collector of alarms/metrics);
//   - metrics.Set's SCTP events counter, which alarms/sctpalarms feeds.
//
// The other families of metrics.Set are left out: the daemon registers
// them, but only where no collector of the program has the name, and
// nothing feeds them, so a dashboard on them stays empty.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	cfg, err := gateway.ParseConfig("sgw.yaml", []byte(`gateway_id: 1
network: {listen: "10.0.0.1:2905", ases: [{name: stp, rc: 100, point_codes: [1001]}]}
servers: {listen: "10.0.0.1:2906"}
registrar: {asap: "10.0.0.1:3863"}
services:
  - {name: hlr, rc: 200, pool: hlr, key: {dpc: 2001, si: 3, ssn: 6}}
`))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	if _, err := gateway.New(cfg, gateway.Options{Transport: sctptest.NewNetwork(), Registerer: rec}); err != nil {
		t.Fatal(err)
	}
	cs := append(rec.cs, &metrics.AlarmCollector{}, metrics.NewAssociations(), metrics.New().SCTPEvents)
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range cs {
			c.Describe(ch)
		}
		close(ch)
	}()
	names := map[string]bool{}
	for d := range ch {
		// A Desc shows its name only in its String form: Desc{fqName: "...", ...}.
		s := d.String()
		i := strings.Index(s, `fqName: "`)
		if i < 0 {
			t.Fatalf("desc without a name: %s", s)
		}
		s = s[i+len(`fqName: "`):]
		names[s[:strings.IndexByte(s, '"')]] = true
	}
	return names
}

// queried returns every sigpool_ series name the rules and the dashboard
// use, with where each is used.
func queried(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	add := func(where, expr string) {
		for _, r := range metricRef.FindAllString(expr, -1) {
			out[r] = append(out[r], where)
		}
	}
	files, _ := filepath.Glob("prometheus/*.rules.yml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rf ruleFile
		if err := yaml.Unmarshal(b, &rf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				add(f+" "+r.Alert, r.Expr)
			}
		}
	}
	b, err := os.ReadFile("grafana/sigpool.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, tg := range p.Targets {
				add("panel "+p.Title, tg.Expr)
			}
		}
	}
	walk(d.Panels)
	return out
}

// seriesOf says whether series name s belongs to an exported family:
// itself, or a histogram's _bucket, _sum or _count (sigpool's histograms
// are all in seconds).
func seriesOf(s string, exported map[string]bool) bool {
	if exported[s] {
		return true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(s, suf); ok && strings.HasSuffix(b, "_seconds") && exported[b] {
			return true
		}
	}
	return false
}

// Every metric a rule or a dashboard panel queries is exported by some
// collector of the running daemons: a renamed metric fails here, not as an
// empty panel or an alert that never fires.
func TestQueriedMetricsAreExported(t *testing.T) {
	exp := exportedNames(t)
	if len(exp) < 40 {
		t.Fatalf("only %d exported families", len(exp))
	}
	q := queried(t)
	if len(q) < 30 {
		t.Fatalf("only %d metrics queried", len(q))
	}
	var names []string
	for n := range q {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !seriesOf(n, exp) {
			t.Errorf("%s is queried (%s) but no collector exports it", n, strings.Join(q[n], "; "))
		}
	}
}

// The test above can fail: a name no collector exports is caught.
func TestSeriesOf(t *testing.T) {
	exp := map[string]bool{"sigpool_x_seconds": true, "sigpool_y_total": true}
	for s, want := range map[string]bool{
		"sigpool_x_seconds": true, "sigpool_x_seconds_bucket": true, "sigpool_x_seconds_count": true,
		"sigpool_y_total": true, "sigpool_y_total_count": false, "sigpool_z_total": false,
		"sigpool_gateway_queue_depth": false,
	} {
		if got := seriesOf(s, exp); got != want {
			t.Errorf("seriesOf(%s) = %v, want %v", s, got, want)
		}
	}
}
