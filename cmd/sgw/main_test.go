package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sigpool/sigpool/gateway"
)

func write(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "sgw.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const cfg = `gateway_id: 1
network:
  listen: 10.1.0.1:2905
  ases: [{name: stp, rc: 100, point_codes: [1001]}]
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

func TestBadConfigRefusedWithLine(t *testing.T) {
	p := write(t, strings.Replace(cfg, "si: 3, ssn: 6", "si: 5, ssn: 6", 1))
	var out, errb bytes.Buffer
	if st := run([]string{"--config", p, "--check"}, &out, &errb); st != 2 {
		t.Fatalf("status %d, stderr %q", st, errb.String())
	}
	want := p + ":13: services[0].key.ssn: a subsystem number needs si: 3"
	if !strings.Contains(errb.String(), want) {
		t.Fatalf("stderr %q, want %q", errb.String(), want)
	}
	p2 := write(t, strings.Replace(cfg, "  rc: 200", "  rc: 200\n    policy: lest-used", 1))
	errb.Reset()
	if st := run([]string{"--config", p2, "--check"}, &out, &errb); st != 2 || !strings.Contains(errb.String(), p2+`:12: services[0].policy: unknown field "policy"`) {
		t.Fatalf("unknown key: status %d, stderr %q", st, errb.String())
	}
}

func TestCheckAcceptsExamplesAndFlagsOverride(t *testing.T) {
	for _, f := range []string{"sgw-rack1.yaml", "sgw-rack2.yaml"} {
		var out, errb bytes.Buffer
		p := filepath.Join("..", "..", "examples", f)
		if st := run([]string{"--config", p, "--check"}, &out, &errb); st != 0 || !strings.Contains(out.String(), "ok") {
			t.Fatalf("%s: status %d, %q %q", f, st, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if st := run([]string{"--config", write(t, cfg), "--check", "--log-level", "loud"}, &out, &errb); st != 2 ||
		!strings.Contains(errb.String(), `flag --log-level: log_level: "loud"`) {
		t.Fatalf("bad --log-level: status %d, stderr %q", st, errb.String())
	}
	errb.Reset()
	if st := run([]string{"--config", write(t, cfg), "--check", "--mgmt", "nowhere"}, &out, &errb); st != 2 ||
		!strings.Contains(errb.String(), `flag --mgmt: mgmt: "nowhere"`) {
		t.Fatalf("bad --mgmt: status %d, stderr %q", st, errb.String())
	}
	errb.Reset()
	if st := run([]string{"--config", write(t, cfg), "--check", "--mgmt", "127.0.0.1:9464", "--log-level", "debug"}, &out, &errb); st != 0 {
		t.Fatalf("good flags: status %d, stderr %q", st, errb.String())
	}
	if st := run([]string{"--check"}, &out, &errb); st != 2 {
		t.Fatalf("no --config: status %d", st)
	}
}

func TestReloadRefusesWhatNeedsARestart(t *testing.T) {
	a, err := gateway.ParseConfig("a", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := gateway.ParseConfig("b", []byte(strings.Replace(cfg, "gateway_id: 1", "gateway_id: 1\nlog_level: debug", 1)))
	if err := reloadable(a, b); err != nil {
		t.Fatalf("log level change refused: %v", err)
	}
	c, _ := gateway.ParseConfig("c", []byte(strings.Replace(cfg, "dpc: 2001", "dpc: 2002", 1)))
	if err := reloadable(a, c); err == nil || !strings.Contains(err.Error(), "services") {
		t.Fatalf("service change: %v", err)
	}
}

// Flags the user set replace the file's values; those left unset do not.
func TestFlagsOverrideFile(t *testing.T) {
	p := write(t, strings.Replace(cfg, "gateway_id: 1", "gateway_id: 1\nmgmt: 10.9.9.9:1\nlog_level: warn", 1))
	var got *gateway.Config
	cmd := command(func(cmd *cobra.Command, f flags) error {
		var err error
		got, err = load(cmd, f)
		return err
	})
	cmd.SetArgs([]string{"--config", p, "--mgmt", "127.0.0.1:9464"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Mgmt != "127.0.0.1:9464" || got.LogLevel != "warn" {
		t.Fatalf("mgmt %q log_level %q: want the flag's mgmt and the file's level", got.Mgmt, got.LogLevel)
	}
}
