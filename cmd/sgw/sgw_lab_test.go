//go:build lab && linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
)

// The sgw program in the lab (siglab puts the project's commands on PATH):
//
//	siglab test ./cmd/sgw -- -test.run '^TestLab' -test.v
//
// A bad file is refused before anything starts, with file:line:field; a good
// one runs the gateway over kernel SCTP in a netlab host, and SIGTERM drains
// and exits 0.
func TestLabSgwConfigAndDrain(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(cfg, "si: 3, ssn: 6", "si: 5, ssn: 6", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sgw", "--config", bad).CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 {
		t.Fatalf("sgw with a bad file: %v (is sgw on PATH? run under siglab test)\n%s", err, out)
	}
	if want := bad + ":13: services[0].key.ssn:"; !strings.Contains(string(out), want) {
		t.Fatalf("sgw said %q, want %q", out, want)
	}

	topo, err := netlab.New(1)
	if err != nil {
		t.Fatalf("netlab.New: %v (run under siglab test)", err)
	}
	defer topo.Close()
	h := topo.Host(1)
	good := filepath.Join(dir, "sgw.yaml")
	doc := fmt.Sprintf(`gateway_id: 1
tuning: rfc
network: {listen: %q, ases: [{name: stp, rc: 100, point_codes: [1001]}]}
servers: {listen: %q}
registrar: {asap: %q, enrp: %q}
services:
  - {name: hlr, rc: 200, pool: hlr, key: {dpc: 2001, si: 3, ssn: 6}}
limits: {drain: 2s}
`, labsctp.Addr(h, 2905).String(), labsctp.Addr(h, 2906).String(), labsctp.Addr(h, 3863).String(), labsctp.Addr(h, 9901).String())
	if err := os.WriteFile(good, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	p := h.Command("sgw", "--config", good, "--log-format", "console")
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(p.Output(), "sgw running") {
		if time.Now().After(deadline) || !p.Running() {
			t.Fatalf("sgw did not start:\n%s", p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t0 := time.Now()
	if err := syscall.Kill(p.Pid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("sgw after SIGTERM: %v\n%s", err, p.Output())
	}
	t.Logf("sgw drained and exited 0 in %.2fs", time.Since(t0).Seconds())
	for _, want := range []string{"draining", "sgw stopped"} {
		if !strings.Contains(p.Output(), want) {
			t.Fatalf("no %q in the log:\n%s", want, p.Output())
		}
	}
}
