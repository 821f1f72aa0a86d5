// Package inventorydoc renders the alarm inventory into the operator
// documentation (docs/alarms.md) and into the Prometheus alert rules that
// page on the alarms (deploy/prometheus/sigpool-alarms.rules.yml).
// `go generate ./alarms` writes both; its test fails when either file on
// disk differs from what the inventory gives.
package inventorydoc

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/sigpool/sigpool/alarms"
)

const generated = "Generated from alarms/inventory.go by `go generate ./alarms`; do not edit."

// Markdown returns docs/alarms.md.
func Markdown(inv []*alarms.Definition) []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# sigpool alarms\n\n<!-- %s -->\n\n", generated)
	p("Every alarm a sigpool program can raise. Alarms follow ITU-T X.733 and 3GPP TS 28.532: ")
	p("an alarm is identified by its managed object (a distinguished name such as `sgw=sg1,assoc=asp3`), ")
	p("event type, probable cause and specific problem; it carries a perceived severity, an additional text ")
	p("and its raised, changed and cleared times. `sgwctl alarms` lists them; the management API serves them ")
	p("under `/api/fm/v1/alarms`; `sigpool_alarm_active{alarm,severity,shelved}` counts them for Prometheus, ")
	p("and `deploy/prometheus/sigpool-alarms.rules.yml` turns each into an alert of the same severity ")
	p("(critical and major page, minor and warning open a ticket).\n\n")
	p("**Debounce.** A condition must hold for *raise after* before its alarm is raised, and stay away for ")
	p("*clear after* before it clears; a condition that comes back within *clear after* is a flap of the same ")
	p("alarm (its `flapCount` grows), not a new alarm. A condition shorter than *raise after* that appears ")
	p("*flap count* times within *flap window* is raised anyway. **Stateless** alarms report an event: an ")
	p("operator clears them (or they clear after *auto clear*). An operator may clear a stateful alarm only ")
	p("once its condition is gone (or with `--force`); shelving hides the alarms of an object and the objects ")
	p("below it from the active list and from paging for a bounded time, for planned maintenance.\n\n")
	p("**Restart.** History is kept in a bounded file; after a restart the alarms that were active stay active ")
	p("for 30 s by default, waiting for the components to report their condition again (they then keep their identity, ")
	p("acknowledgement and comments), and are cleared if nobody does.\n\n")
	p("| alarm | severity | event type | probable cause | managed object |\n|---|---|---|---|---|\n")
	for _, d := range inv {
		p("| [%s](#%s) | %s | %s | %s | `%s` |\n", d.Name, d.Name, d.Severity.Label(), d.EventType, d.ProbableCause, d.Object)
	}
	for _, d := range inv {
		p("\n## %s\n\n", d.Name)
		p("- **Specific problem:** %s\n", d.SpecificProblem)
		p("- **Perceived severity:** %s\n", d.Severity.Label())
		p("- **Event type / probable cause:** %s / %s\n", d.EventType, d.ProbableCause)
		p("- **Managed object:** %s `%s`\n", d.ObjectClass, d.Object)
		p("- **Raised by:** %s\n", d.RaisedBy)
		if d.Stateless {
			p("- **Clearing:** stateless; cleared by an operator")
			if d.AutoClear > 0 {
				p(", or automatically after %s", dur(d.AutoClear))
			}
			p("\n")
		} else {
			p("- **Debounce:** %s\n", debounce(d.Debounce))
		}
		p("- **Alert:** `%s`\n\n", AlertName(d))
		p("**Meaning.** %s\n\n**Proposed repair action.** %s\n", d.Meaning, d.Repair)
	}
	return b.Bytes()
}

func debounce(d alarms.Debounce) string {
	s := "raise after " + dur(d.RaiseAfter) + ", clear after " + dur(d.ClearAfter)
	if d.FlapCount > 0 {
		s += fmt.Sprintf(", flap count %d within %s", d.FlapCount, dur(d.FlapWindow))
	}
	return s
}

func dur(d time.Duration) string {
	switch {
	case d == 0:
		return "0 s (at once)"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return fmt.Sprintf("%g s", d.Seconds())
}

// AlertName is the Prometheus alert of a definition: "association-down"
// gives SigpoolAssociationDown.
func AlertName(d *alarms.Definition) string {
	var b strings.Builder
	b.WriteString("Sigpool")
	for _, part := range strings.Split(d.Name, "-") {
		r := []rune(part)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	return b.String()
}

// Rules returns the Prometheus alerting rules: one alert per definition,
// firing while an unshelved alarm of it is active, with the alarm's
// severity (the inventory's unless a component raised it with another).
func Rules(inv []*alarms.Definition) []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# %s\n", generated)
	p("# One alert per alarm of docs/alarms.md. The alarm manager debounces, so the\n")
	p("# alerts fire at once; severity comes from the alarm (critical and major page,\n")
	p("# minor and warning open a ticket). Shelved alarms do not alert.\n")
	p("groups:\n  - name: sigpool-alarms\n    rules:\n")
	for _, d := range inv {
		p("      - alert: %s\n", AlertName(d))
		p("        expr: sum by (instance, job, alarm, severity) (sigpool_alarm_active{alarm=%q, shelved=\"false\"}) > 0\n", d.Name)
		p("        labels:\n          alarm_class: %s\n", d.ObjectClass)
		p("        annotations:\n")
		p("          summary: %s\n", yamlString(d.SpecificProblem+" on {{ $labels.instance }} ({{ $value }} active)"))
		p("          description: %s\n", yamlString(d.Meaning))
		p("          repair: %s\n", yamlString(d.Repair))
		p("          runbook: %s\n", yamlString("docs/alarms.md#"+d.Name))
	}
	return b.Bytes()
}

// yamlString quotes s as a YAML double-quoted scalar.
func yamlString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// RulesTest returns a promtool rule unit test of Rules: for each
// definition, an unshelved alarm on one instance fires the alert with the
// inventory's severity, and a shelved one on another instance does not.
func RulesTest(inv []*alarms.Definition) []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# %s\n# Run by make rules-test: promtool test rules deploy/prometheus/tests/*.test.yml\n", generated)
	p("rule_files:\n  - ../sigpool-alarms.rules.yml\nevaluation_interval: 1m\ntests:\n")
	for _, d := range inv {
		sev := d.Severity.Label()
		p("  - name: %s\n    interval: 1m\n    input_series:\n", d.Name)
		p("      - series: 'sigpool_alarm_active{instance=\"gw1:9464\", job=\"sigpool\", alarm=\"%s\", severity=\"%s\", shelved=\"false\"}'\n        values: '0 1 1 0'\n", d.Name, sev)
		p("      - series: 'sigpool_alarm_active{instance=\"gw2:9464\", job=\"sigpool\", alarm=\"%s\", severity=\"%s\", shelved=\"true\"}'\n        values: '1 1 1 1'\n", d.Name, sev)
		p("    alert_rule_test:\n")
		p("      - eval_time: 0m\n        alertname: %s\n        exp_alerts: []\n", AlertName(d))
		p("      - eval_time: 2m\n        alertname: %s\n        exp_alerts:\n", AlertName(d))
		p("          - exp_labels:\n              instance: gw1:9464\n              job: sigpool\n              alarm: %s\n              severity: %s\n              alarm_class: %s\n", d.Name, sev, d.ObjectClass)
		p("            exp_annotations:\n")
		p("              summary: %s\n", yamlString(d.SpecificProblem+" on gw1:9464 (1 active)"))
		p("              description: %s\n", yamlString(d.Meaning))
		p("              repair: %s\n", yamlString(d.Repair))
		p("              runbook: %s\n", yamlString("docs/alarms.md#"+d.Name))
		p("      - eval_time: 3m\n        alertname: %s\n        exp_alerts: []\n", AlertName(d))
	}
	return b.Bytes()
}
