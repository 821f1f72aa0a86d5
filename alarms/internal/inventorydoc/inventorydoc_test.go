package inventorydoc

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sigpool/sigpool/alarms"
)

// The generated files must match the inventory: run `go generate ./alarms`
// after changing it.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	for path, want := range map[string][]byte{
		"../../../docs/alarms.md":                                  Markdown(alarms.Inventory),
		"../../../deploy/prometheus/sigpool-alarms.rules.yml":      Rules(alarms.Inventory),
		"../../../deploy/prometheus/tests/sigpool-alarms.test.yml": RulesTest(alarms.Inventory),
	} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./alarms", strings.TrimPrefix(path, "../../../"))
		}
	}
}

func TestMarkdownHasEveryAlarm(t *testing.T) {
	md := string(Markdown(alarms.Inventory))
	for _, d := range alarms.Inventory {
		for _, s := range []string{"\n## " + d.Name + "\n", d.Meaning, d.Repair, d.Severity.Label(), AlertName(d)} {
			if !strings.Contains(md, s) {
				t.Errorf("%s: docs lack %q", d.Name, s)
			}
		}
	}
}

func TestRulesParse(t *testing.T) {
	var doc struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(Rules(alarms.Inventory), &doc); err != nil {
		t.Fatal(err)
	}
	rules := doc.Groups[0].Rules
	if len(rules) != len(alarms.Inventory) {
		t.Fatalf("%d rules for %d alarms", len(rules), len(alarms.Inventory))
	}
	for i, d := range alarms.Inventory {
		r := rules[i]
		if r.Alert != AlertName(d) || !strings.Contains(r.Expr, `alarm="`+d.Name+`"`) || r.Annotations["description"] != d.Meaning {
			t.Errorf("rule %d = %+v", i, r)
		}
	}
	if AlertName(alarms.AssociationDown) != "SigpoolAssociationDown" {
		t.Error(AlertName(alarms.AssociationDown))
	}
}
