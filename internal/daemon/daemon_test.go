package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/internal/config"
)

// The test binary doubles as a tiny daemon (re-exec pattern): with
// DAEMON_TEST_CHILD set, TestMain runs child() instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("DAEMON_TEST_CHILD") != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// childConfig is the tiny daemon's file.
type childConfig struct {
	Mode  string        `yaml:"mode"`
	Drain time.Duration `yaml:"drain"`
}

func (c *childConfig) Validate() error {
	if c.Mode != "a" && c.Mode != "b" {
		return config.Errorf("mode", "unknown mode %q (want a or b)", c.Mode)
	}
	return nil
}

// child runs a daemon whose Reload re-reads $CHILD_CONFIG and whose Drain
// takes the file's drain time (or blocks when it is negative), writing what
// happened to $CHILD_MARK.
func child() int {
	path := os.Getenv("CHILD_CONFIG")
	var mu sync.Mutex
	var cfg childConfig
	if err := config.Load(path, &cfg, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	d, err := New(Options{Name: "testd", Instance: "t1", MgmtSocket: os.Getenv("CHILD_SOCKET"),
		History: os.Getenv("CHILD_HISTORY"), DrainTimeout: 500 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	mark := func(s string) {
		f, err := os.OpenFile(os.Getenv("CHILD_MARK"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintln(f, s)
			f.Close()
		}
	}
	err = d.Run(context.Background(), Hooks{
		Main: func(ctx context.Context) error {
			<-ctx.Done()
			mark("main stopped")
			return nil
		},
		Reload: func(context.Context) error {
			var n childConfig
			if err := config.Load(path, &n, nil); err != nil {
				return err
			}
			mu.Lock()
			cfg = n
			mu.Unlock()
			mark("mode " + n.Mode)
			return nil
		},
		Drain: func(ctx context.Context) error {
			mu.Lock()
			dt := cfg.Drain
			mu.Unlock()
			if dt < 0 {
				<-ctx.Done()
				mark("drain cut")
				return ctx.Err()
			}
			time.Sleep(dt)
			mark("drained")
			return nil
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type proc struct {
	t                     *testing.T
	cmd                   *exec.Cmd
	dir, cfg, sock, marks string
	stderr                bytes.Buffer
	client                *http.Client
}

func startChild(t *testing.T, conf string, env ...string) *proc {
	t.Helper()
	// Unix socket paths are short (108 bytes): use a short temp dir.
	dir, err := os.MkdirTemp("", "dmn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &proc{t: t, dir: dir, cfg: filepath.Join(dir, "c.yaml"), sock: filepath.Join(dir, "m.sock"), marks: filepath.Join(dir, "marks")}
	p.write(conf)
	p.cmd = exec.Command(os.Args[0], "-test.run=^$")
	p.cmd.Env = append(os.Environ(), "DAEMON_TEST_CHILD=1", "CHILD_CONFIG="+p.cfg, "CHILD_SOCKET="+p.sock,
		"CHILD_MARK="+p.marks, "CHILD_HISTORY="+filepath.Join(dir, "history"))
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stderr = &p.stderr
	p.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", p.sock)
		}}}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	p.eventually("management listener up", func() bool {
		code, _ := p.get("/livez")
		return code == 200
	})
	return p
}

func (p *proc) write(conf string) {
	if err := os.WriteFile(p.cfg, []byte(conf), 0o600); err != nil {
		p.t.Fatal(err)
	}
}

func (p *proc) get(path string) (int, []byte) {
	r, err := p.client.Get("http://daemon" + path)
	if err != nil {
		return 0, nil
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, b
}

func (p *proc) signal(s os.Signal) {
	if err := p.cmd.Process.Signal(s); err != nil {
		p.t.Fatal(err)
	}
}

// eventually polls cond for up to 20 s (the machine is shared; this is a
// bound on a hang, not a speed requirement).
func (p *proc) eventually(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: not within 20s; child stderr:\n%s", what, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) reloadAlarms() []alarms.Alarm {
	code, b := p.get("/api/fm/v1/alarms?alarmName=config-reload-refused")
	if code != 200 {
		return nil
	}
	var m map[string]alarms.Alarm
	if err := json.Unmarshal(b, &m); err != nil {
		p.t.Fatalf("alarm list %s: %v", b, err)
	}
	var out []alarms.Alarm
	for _, a := range m {
		out = append(out, a)
	}
	return out
}

func (p *proc) marked() string {
	b, _ := os.ReadFile(p.marks)
	return string(b)
}

func (p *proc) wait() int {
	p.t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			p.t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		p.t.Fatalf("child did not exit; stderr:\n%s", p.stderr.String())
		return -1
	}
}

func TestProcessReloadAndTerm(t *testing.T) {
	p := startChild(t, "mode: a\ndrain: 10ms\n")
	if code, body := p.get("/readyz"); code != 200 {
		t.Fatalf("readyz %d %s", code, body)
	}

	// A bad file: the reload is refused, the alarm raised with the reason
	// (file, line, field), and the old configuration kept.
	p.write("mode: a\ndrain: 10ms\nmode2: c\n")
	p.signal(syscall.SIGHUP)
	p.eventually("config-reload-refused raised", func() bool { return len(p.reloadAlarms()) == 1 })
	a := p.reloadAlarms()[0]
	if a.Object != "testd=t1" || !strings.Contains(a.AdditionalText, "c.yaml:3: mode2: unknown field") {
		t.Fatalf("alarm %+v", a)
	}
	if strings.Contains(p.marked(), "mode") {
		t.Fatalf("refused reload applied: %q", p.marked())
	}
	// Another bad one (a Validate error) updates the same alarm.
	p.write("mode: c\n")
	p.signal(syscall.SIGHUP)
	p.eventually("alarm text updated", func() bool {
		l := p.reloadAlarms()
		return len(l) == 1 && strings.Contains(l[0].AdditionalText, `c.yaml:1: mode: unknown mode "c"`)
	})

	// A good file: applied, alarm cleared.
	p.write("mode: b\ndrain: 10ms\n")
	p.signal(syscall.SIGHUP)
	p.eventually("alarm cleared", func() bool { return len(p.reloadAlarms()) == 0 })
	if !strings.Contains(p.marked(), "mode b") {
		t.Fatalf("reload not applied: %q", p.marked())
	}
	code, b := p.get("/api/fm/v1/alarms?alarmName=config-reload-refused&cleared=true")
	if code != 200 || !strings.Contains(string(b), "alarmClearedTime") {
		t.Fatalf("cleared alarm not in history: %d %s", code, b)
	}

	// SIGTERM: drain, then Main stopped, exit 0.
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.stderr.String())
	}
	if m := p.marked(); !strings.Contains(m, "drained\nmain stopped\n") {
		t.Fatalf("marks %q: want drain before main stopped", m)
	}
	if _, err := os.Stat(p.sock); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
	// The alarm history survived in the file.
	h, err := os.ReadFile(filepath.Join(p.dir, "history"))
	if err != nil || !strings.Contains(string(h), "config-reload-refused") {
		t.Fatalf("history %q %v", h, err)
	}
}

func TestProcessDrainBound(t *testing.T) {
	// A drain that never ends is cut at DrainTimeout; the exit is still 0.
	p := startChild(t, "mode: a\ndrain: -1s\n")
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.stderr.String())
	}
	if m := p.marked(); !strings.Contains(m, "drain cut\nmain stopped\n") {
		t.Fatalf("marks %q", m)
	}
	if !strings.Contains(p.stderr.String(), "drain did not finish within its bound") {
		t.Fatalf("no log of the bound:\n%s", p.stderr.String())
	}
}

func TestProcessSystemdNotify(t *testing.T) {
	dir, err := os.MkdirTemp("", "ntf")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sockPath := filepath.Join(dir, "n.sock")
	ns, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	msgs := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ns.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	next := func() string {
		select {
		case m := <-msgs:
			return m
		case <-time.After(20 * time.Second):
			t.Fatal("no notification")
			return ""
		}
	}
	p := startChild(t, "mode: a\n", "NOTIFY_SOCKET="+sockPath)
	if m := next(); !strings.HasPrefix(m, "READY=1") {
		t.Fatalf("first %q", m)
	}
	p.signal(syscall.SIGHUP)
	if m := next(); !strings.HasPrefix(m, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Fatalf("reload %q", m)
	}
	if m := next(); !strings.HasPrefix(m, "READY=1") {
		t.Fatalf("after reload %q", m)
	}
	p.signal(syscall.SIGINT)
	if m := next(); !strings.HasPrefix(m, "STOPPING=1") {
		t.Fatalf("stop %q", m)
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
