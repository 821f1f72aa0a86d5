package gateway

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExamplesValidate(t *testing.T) {
	for _, f := range []string{"sgw-rack1.yaml", "sgw-rack2.yaml"} {
		c, err := LoadConfig(filepath.Join("..", "examples", f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if c.Limits.Queue != 4096 || len(c.Services) != 2 || c.Services[0].Pool != "hlr.sigpool" {
			t.Errorf("%s: parsed %+v", f, c)
		}
	}
}

const good = `gateway_id: 1
network:
  listen: 10.1.0.1+10.2.0.1:2905
  ases:
    - name: stp
      rc: 100
      point_codes: [1001]
servers:
  listen: 10.1.0.1:2906
registrar:
  asap: 10.1.0.1:3863
services:
  - name: hlr
    rc: 200
    pool: hlr
    key: {dpc: 2001, si: 3, ssn: 6}
`

func TestConfigErrorsNameFileLineField(t *testing.T) {
	cases := []struct {
		name, old, new, want string
	}{
		{"unknown key", "    rc: 200\n", "    rc: 200\n    colour: red\n", "cfg.yaml:15: services[0].colour: unknown field \"colour\""},
		{"misspelt limit", "services:\n", "limits:\n  cookeis: 10\nservices:\n", "cfg.yaml:13: limits.cookeis: unknown field \"cookeis\""},
		{"bare number duration", "services:\n", "limits: {drain: 5}\nservices:\n", "cfg.yaml:12: limits.drain:"},
		{"negative grace", "services:\n", "limits: {startup_grace: -1s}\nservices:\n", "cfg.yaml:12: limits.startup_grace: must not be negative"},
		{"negative unanswered", "services:\n", "limits: {unanswered: -1}\nservices:\n", "cfg.yaml:12: limits.unanswered: must not be negative"},
		{"negative unanswered lifetime", "services:\n", "limits: {unanswered_lifetime: -3s}\nservices:\n", "cfg.yaml:12: limits.unanswered_lifetime: must not be negative"},
		{"wrong type", "rc: 200", "rc: two", "cfg.yaml:14: services[0].rc:"},
		{"ssn without sccp", "si: 3, ssn: 6", "si: 5, ssn: 6", "cfg.yaml:16: services[0].key.ssn: a subsystem number needs si: 3"},
		{"bad address", "listen: 10.1.0.1:2906", "listen: nowhere", "cfg.yaml:9: servers.listen:"},
		{"point code too big", "[1001]", "[1001, 20000]", "cfg.yaml:7: network.ases[0].point_codes[1]: 20000 is not a 14-bit"},
		{"no gateway id", "gateway_id: 1", "gateway_id: 0", "cfg.yaml:1: gateway_id: must be set"},
		{"duplicate rc", "rc: 200", "rc: 100", "cfg.yaml:14: services[0].rc: routing context 100 is already stp's"},
		{"unknown network rc", "ssn: 6}", "ssn: 6, rcs: [7]}", "cfg.yaml:16: services[0].key.rcs[0]: routing context 7"},
		{"syntax", "  - name: hlr\n", "  - name: [hlr\n", "cfg.yaml:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(good, tc.old, tc.new, 1)
			if src == good {
				t.Fatalf("replacement %q did not apply", tc.old)
			}
			_, err := ParseConfig("cfg.yaml", []byte(src))
			if err == nil {
				t.Fatalf("accepted:\n%s", src)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %q, want prefix %q", err, tc.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Line == 0 {
				t.Fatalf("error %v carries no line", err)
			}
		})
	}
	if _, err := ParseConfig("cfg.yaml", []byte(good)); err != nil {
		t.Fatalf("good config refused: %v", err)
	}
}

// The aspd example must name the pool and routing context a gateway
// example serves, and that gateway's server side and registrar.
func TestAspdExampleMatchesGateways(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "examples", "aspd-hlr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"sgw-rack1.yaml", "sgw-rack2.yaml"} {
		c, err := LoadConfig(filepath.Join("..", "examples", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{c.Servers.Listen, c.Registrar.ASAP, "pool: " + c.Services[0].Pool, fmt.Sprintf("rc: %d", c.Services[0].RC)} {
			if !strings.Contains(string(b), want) {
				t.Errorf("aspd-hlr.yaml does not name %q of %s", want, f)
			}
		}
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "none.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err %v", err)
	}
}
