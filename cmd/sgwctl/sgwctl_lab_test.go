//go:build lab && linux

package main

// End to end in the lab: the sgw binary runs in a netlab host with its
// management listener on network A, and the sgwctl binary, in another
// host, operates it over the network. Run with
//
//	go build -o /tmp/ops/siglab ./cmd/siglab && /tmp/ops/siglab test ./cmd/sgwctl -- -test.run '^TestLab' -test.v
//
// (siglab builds ./cmd/... onto the guest's PATH.)

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/mgmt"
)

func labBin(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH: run under siglab test (it builds ./cmd/... onto the guest's PATH)", name)
	}
	return p
}

// TestLabSgwctlAgainstSgw: sgw on host 1 (multihomed on 10.1.0.1 and
// 10.2.0.1, management on 10.1.0.1:9100, no application server yet),
// sgwctl on host 2: status; a bad file on SIGHUP shows up as
// config-reload-refused, which sgwctl lists, acknowledges, comments and
// clears (refused while the file is bad, then forced); refused again and
// then fixed, it clears by itself; log level, associations, pools, asps;
// SIGTERM ends sgw with status 0.
func TestLabSgwctlAgainstSgw(t *testing.T) {
	topo, err := netlab.New(2)
	if err != nil {
		t.Fatalf("netlab.New(2): %v (run under siglab test)", err)
	}
	t.Cleanup(func() { topo.Close() })
	gw, op := topo.Host(1), topo.Host(2)
	sgwBin, ctlBin := labBin(t, "sgw"), labBin(t, "sgwctl")

	example, err := os.ReadFile("../../examples/sgw-rack1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sgw.yaml")
	if err := os.WriteFile(cfg, example, 0o644); err != nil {
		t.Fatal(err)
	}
	mgmtAddr := gw.Addr(netlab.NetA).String() + ":9100"
	var sgwOut syncBuffer
	sgw := gw.Command(sgwBin, "--config", cfg, "--mgmt", mgmtAddr, "--log-format", "console",
		"--alarm-history", filepath.Join(dir, "alarms.jsonl"))
	sgw.Stdout, sgw.Stderr = &sgwOut, &sgwOut
	if err := sgw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sgw.Kill()
		if t.Failed() {
			t.Logf("sgw output:\n%s", sgwOut.String())
		}
	})

	// ctl runs sgwctl on host 2 and returns its standard output; err is
	// its exit status.
	ctl := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		p := op.Command(ctlBin, append([]string{"--addr", mgmtAddr, "--user", "lab-op", "--timeout", "20s"}, args...)...)
		p.Stdout, p.Stderr = &out, &errOut
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		err := p.Wait()
		if err != nil {
			return out.String() + errOut.String(), err
		}
		return out.String(), nil
	}
	mustCtl := func(args ...string) string {
		t.Helper()
		out, err := ctl(args...)
		if err != nil {
			t.Fatalf("sgwctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	decode := func(what, out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, out)
		}
	}
	// eventually polls; the bound guards against a hang in the emulated
	// VM, it is no speed requirement.
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 90 s", what)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	list := func(args ...string) map[string]alarms.Alarm {
		t.Helper()
		var m map[string]alarms.Alarm
		decode("alarms", mustCtl(append([]string{"--json", "alarms", "list"}, args...)...), &m)
		return m
	}

	eventually("sgw answers sgwctl status", func() bool { _, err := ctl("--json", "status"); return err == nil })
	var st mgmt.Status
	decode("status", mustCtl("--json", "status"), &st)
	t.Logf("status: system %s ready %v checks %v alarms %+v", st.System, st.Ready, st.Checks, st.Alarms)
	if st.System != "sgw=1" {
		t.Fatalf("status system %q, want sgw=1", st.System)
	}

	// Whatever sgw raised on its own (no element registered yet: its
	// pools are empty); logged, the operations below use an alarm the
	// test causes.
	for _, a := range list() {
		t.Logf("active at start: %s %s %s %q", a.Severity, a.Name, a.Object, a.AdditionalText)
	}

	// A bad file on SIGHUP: refused, alarmed with file:line: field, and
	// sgw keeps running on the old configuration.
	bad := strings.Replace(string(example), "  cookies: 100000", "  cookeis: 100000", 1)
	if bad == string(example) {
		t.Fatal("example file changed: no cookies line to break")
	}
	hup := func(content []byte) {
		t.Helper()
		if err := os.WriteFile(cfg, content, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(sgw.Pid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	refusedAlarm := func() (alarms.Alarm, bool) {
		for _, a := range list("--name", "config-reload-refused") {
			return a, true
		}
		return alarms.Alarm{}, false
	}
	hup([]byte(bad))
	var refused alarms.Alarm
	eventually("config-reload-refused", func() bool { var ok bool; refused, ok = refusedAlarm(); return ok })
	t.Logf("reload refused: %s %s %q", refused.ID, refused.Object, refused.AdditionalText)
	if refused.Object != "sgw=1" || !strings.Contains(refused.AdditionalText, "sgw.yaml:") ||
		!strings.Contains(refused.AdditionalText, "cookeis") || refused.AckState != alarms.Unacknowledged {
		t.Fatalf("reload alarm %+v", refused)
	}
	// The table form names it too.
	if out := mustCtl("alarms"); !strings.Contains(out, "config-reload-refused") || !strings.Contains(out, "sgw=1") {
		t.Fatalf("alarm table:\n%s", out)
	}
	if _, err := ctl("--json", "status"); err != nil {
		t.Fatal("sgw stopped answering after a refused reload")
	}

	// Acknowledge, comment.
	var a alarms.Alarm
	decode("ack", mustCtl("--json", "alarms", "ack", refused.ID), &a)
	if a.AckState != alarms.Acknowledged || a.AckUserID != "lab-op" {
		t.Fatalf("after ack: %+v", a)
	}
	if _, ok := list("--acked")[refused.ID]; !ok {
		t.Fatal("acknowledged alarm not in the --acked list")
	}
	decode("comment", mustCtl("--json", "alarms", "comment", refused.ID, "typo", "in", "limits:", "lab"), &a)
	if len(a.Comments) != 1 || a.Comments[0].Text != "typo in limits: lab" || a.Comments[0].UserID != "lab-op" {
		t.Fatalf("after comment: %+v", a.Comments)
	}

	// A clear by hand is refused while the condition is present (the
	// file is still bad), and done with --force.
	if out, err := ctl("alarms", "clear", refused.ID); err == nil {
		t.Fatalf("clear of a present condition accepted:\n%s", out)
	} else {
		t.Logf("clear refused: %s", strings.TrimSpace(out))
	}
	decode("clear --force", mustCtl("--json", "alarms", "clear", "--force", refused.ID), &a)
	if a.ClearedTime == nil || a.ClearUserID != "lab-op" {
		t.Fatalf("after clear --force: %+v", a)
	}
	if c, ok := list("--cleared")[refused.ID]; !ok || c.ClearUserID != "lab-op" || len(c.Comments) != 1 {
		t.Fatalf("force-cleared alarm in the history: %v %+v", ok, c)
	}

	// The fixed file ends the condition; refused again, a new alarm,
	// which the fixed file then clears by itself (no operator in the
	// record).
	hup(example)
	eventually("sgw logs the accepted reload", func() bool { return strings.Contains(sgwOut.String(), "configuration reloaded") })
	hup([]byte(bad))
	var again alarms.Alarm
	eventually("config-reload-refused again", func() bool { var ok bool; again, ok = refusedAlarm(); return ok })
	if again.ID == refused.ID {
		t.Fatalf("the force-cleared alarm came back with its id: %+v", again)
	}
	hup(example)
	eventually("config-reload-refused cleared", func() bool { _, ok := refusedAlarm(); return !ok })
	if c, ok := list("--cleared")[again.ID]; !ok || c.ClearUserID != "" {
		t.Fatalf("system-cleared alarm in the history: %v %+v", ok, c)
	}

	// The runtime log level.
	mustCtl("log", "level", "debug")
	if out := mustCtl("--json", "log", "level"); !strings.Contains(out, `"debug"`) {
		t.Fatalf("log level after set: %s", out)
	}

	// Associations: none dialed in, an empty list.
	var assocs []mgmt.Association
	decode("associations", mustCtl("--json", "associations"), &assocs)
	t.Logf("associations: %d", len(assocs))

	// Pools and ASPs, from the daemon's providers when it has them.
	for _, what := range []string{"pools", "asps"} {
		out, err := ctl("--json", what)
		if err != nil {
			if !strings.Contains(out, "not provided by this daemon") {
				t.Fatalf("sgwctl %s: %v\n%s", what, err, out)
			}
			t.Logf("sgwctl %s: sgw does not provide it: %s", what, strings.TrimSpace(out))
			continue
		}
		switch what {
		case "pools":
			var pools []mgmt.Pool
			decode(what, out, &pools)
			found := false
			for _, p := range pools {
				found = found || p.Handle == "hlr.sigpool"
			}
			if !found {
				t.Fatalf("pools %+v lack hlr.sigpool", pools)
			}
		case "asps":
			var asps []mgmt.ASP
			decode(what, out, &asps)
			if len(asps) != 0 {
				t.Fatalf("ASPs with none connected: %+v", asps)
			}
		}
	}

	// SIGTERM: drain, exit 0.
	if err := syscall.Kill(sgw.Pid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sgw.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sgw exit: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("sgw did not exit within 60 s of SIGTERM")
	}
	if out, err := ctl("status"); err == nil {
		t.Fatalf("sgw still answers after exit:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer the process's output goroutine writes while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
