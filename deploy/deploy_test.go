// Package deploy holds what an operator installs beside the binaries:
// Prometheus rules and their promtool tests (make rules-test), the Grafana
// dashboard and the systemd units. These tests check them against the
// code: every metric a dashboard or rule names exists, every alarm has its
// alert, every unit has what the daemons rely on.
package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/alarms/metrics"
)

var metricRef = regexp.MustCompile(`\bsigpool_[a-z0-9_]+`)

// known is the set of family names the running daemons export
// (exportedNames), histograms with their _bucket, _sum and _count series.
func known(t *testing.T) map[string]bool {
	t.Helper()
	k := map[string]bool{}
	for n := range exportedNames(t) {
		k[n] = true
		if strings.HasSuffix(n, "_seconds") {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				k[n+s] = true
			}
		}
	}
	return k
}

// checkExpr reports the unknown metric names of expr and returns the
// known ones.
func checkExpr(t *testing.T, where, expr string, k map[string]bool) []string {
	t.Helper()
	refs := metricRef.FindAllString(expr, -1)
	if len(refs) == 0 && !strings.Contains(expr, "up{") {
		t.Errorf("%s: expression names no sigpool metric: %s", where, expr)
	}
	for _, r := range refs {
		if !k[r] {
			t.Errorf("%s: unknown metric %s in %s", where, r, expr)
		}
	}
	return refs
}

type panel struct {
	Title   string  `json:"title"`
	Type    string  `json:"type"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana/sigpool.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string  `json:"title"`
		UID    string  `json:"uid"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("dashboard without title, uid or panels")
	}
	k := known(t)
	used := map[string]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				for _, r := range checkExpr(t, "panel "+p.Title, tg.Expr, k) {
					used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(r, "_bucket"), "_sum"), "_count")] = true
				}
			}
		}
	}
	walk(d.Panels)
	// Every family of the metrics set that a collector exports is shown.
	for _, n := range metrics.Names() {
		if k[n] && !used[n] {
			t.Errorf("metric %s is on no dashboard panel", n)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert  string            `yaml:"alert"`
			Expr   string            `yaml:"expr"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestRules(t *testing.T) {
	files, _ := filepath.Glob("prometheus/*.rules.yml")
	if len(files) < 2 {
		t.Fatalf("rule files: %v", files)
	}
	k := known(t)
	alerts := map[string]string{}
	severities := map[string]bool{"critical": true, "major": true, "minor": true, "warning": true}
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
				checkExpr(t, f+" "+r.Alert, r.Expr, k)
				alerts[r.Alert] = r.Expr
				if sev, ok := r.Labels["severity"]; ok && !severities[sev] {
					t.Errorf("%s: severity %q is not one the alarms use", r.Alert, sev)
				}
				if _, ok := r.Labels["severity"]; !ok && !strings.Contains(r.Expr, "severity") {
					t.Errorf("%s: no severity, neither as a label nor from the alarm", r.Alert)
				}
			}
		}
	}
	// Every alarm of the inventory has an alert on it.
	for _, d := range alarms.Inventory {
		found := false
		for _, expr := range alerts {
			found = found || strings.Contains(expr, `alarm="`+d.Name+`"`)
		}
		if !found {
			t.Errorf("alarm %s has no alert", d.Name)
		}
	}
	tests, _ := filepath.Glob("prometheus/tests/*.test.yml")
	if len(tests) != len(files) {
		t.Errorf("%d rule files, %d promtool test files", len(files), len(tests))
	}
}

func TestSystemdUnits(t *testing.T) {
	for _, d := range []string{"sgw", "registrar", "aspd"} {
		path := "systemd/sigpool-" + d + ".service"
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		kv := map[string]string{}
		section := ""
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(l)
			switch {
			case l == "" || strings.HasPrefix(l, "#"):
			case strings.HasPrefix(l, "["):
				section = l
			default:
				k, v, ok := strings.Cut(l, "=")
				if !ok {
					t.Errorf("%s: bad line %q", path, l)
				}
				kv[section+k] = v
			}
		}
		for k, want := range map[string]string{
			"[Service]Type":           "notify",
			"[Service]User":           "sigpool",
			"[Service]ExecReload":     "/bin/kill -HUP $MAINPID",
			"[Service]StandardOutput": "journal",
			"[Service]StateDirectory": "sigpool/" + d,
			"[Install]WantedBy":       "multi-user.target",
		} {
			if kv[k] != want {
				t.Errorf("%s: %s=%q, want %q", path, k, kv[k], want)
			}
		}
		if !strings.HasPrefix(kv["[Service]ExecStart"], "/usr/bin/"+d+" ") {
			t.Errorf("%s: ExecStart=%q", path, kv["[Service]ExecStart"])
		}
	}
	b, err := os.ReadFile("systemd/sigpool.sysusers.conf")
	if err != nil || !strings.Contains(string(b), "\nu sigpool ") {
		t.Errorf("sysusers: %v %q", err, b)
	}
}
