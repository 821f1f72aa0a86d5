package mgmt

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/alarms/metrics"
	"github.com/sigpool/sigpool/alarms/sctpalarms"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

// The built-in page in headless Chromium (Debian's chromium package),
// driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
// JSON messages separated by NUL bytes on file descriptors 3 and 4), so
// the test needs no Go dependency and no debugging port.

func TestPageServesEmbeddedFiles(t *testing.T) {
	f := newFixture(t)
	code, body := f.do(t, "GET", "/", "")
	if code != 200 || !strings.Contains(body, `<script src="/ui/app.js"`) {
		t.Fatal(code, body)
	}
	for _, p := range []string{"/ui/app.js", "/ui/style.css"} {
		if code, body := f.do(t, "GET", p, ""); code != 200 || len(body) < 500 {
			t.Fatal(p, code, len(body))
		}
	}
	// Nothing is fetched from elsewhere.
	for _, name := range []string{"ui/index.html", "ui/app.js", "ui/style.css"} {
		b, _ := uiFiles.ReadFile(name)
		if s := string(b); strings.Contains(s, "http://") || strings.Contains(s, "https://") || strings.Contains(s, "//cdn") {
			t.Errorf("%s refers to another site", name)
		}
	}
	if code, _ := f.do(t, "GET", "/ui/missing.js", ""); code != 404 {
		t.Fatal(code)
	}
}

// findChromium returns the browser to run, or fails saying what to install.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("headless Chromium not found: install Debian's chromium package (sudo apt-get install chromium; `make host-deps` does it when run as root)")
	return ""
}

type cdpMessage struct {
	ID     int             `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
	SessionID string `json:"sessionId,omitempty"`
}

// browser is a headless Chromium with one page, driven over the pipe.
type browser struct {
	t       *testing.T
	cmd     *exec.Cmd
	out     *os.File // our end of the browser's fd 3
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpMessage
	session string
	done    chan struct{}
}

func startBrowser(t *testing.T, url string) *browser {
	t.Helper()
	bin := findChromium(t)
	toBrowser, browserIn, err := os.Pipe() // browser reads fd 3
	if err != nil {
		t.Fatal(err)
	}
	browserOut, fromBrowser, err := os.Pipe() // browser writes fd 4
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--hide-scrollbars", "--window-size=1280,900", "--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	toBrowser.Close()
	fromBrowser.Close()
	b := &browser{t: t, cmd: cmd, out: browserIn, waiting: map[int]chan cdpMessage{}, done: make(chan struct{})}
	t.Cleanup(func() {
		browserIn.Close()
		cmd.Process.Kill()
		cmd.Wait()
		<-b.done
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", stderr.String())
		}
	})
	go b.read(bufio.NewReader(browserOut))

	var target struct{ TargetID string }
	b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct{ SessionID string }
	b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	b.session = att.SessionID
	b.call(b.session, "Runtime.enable", nil, nil)
	b.call(b.session, "Page.enable", nil, nil)
	b.call(b.session, "Page.navigate", map[string]any{"url": url}, nil)
	return b
}

func (b *browser) read(r *bufio.Reader) {
	defer close(b.done)
	for {
		frame, err := r.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			for id, ch := range b.waiting {
				close(ch)
				delete(b.waiting, id)
			}
			b.mu.Unlock()
			return
		}
		var m cdpMessage
		if json.Unmarshal(frame[:len(frame)-1], &m) != nil {
			continue
		}
		switch m.Method {
		case "Runtime.exceptionThrown":
			b.t.Errorf("page: uncaught exception: %s", m.Params)
		case "Runtime.consoleAPICalled":
			b.t.Logf("page console: %s", m.Params)
		}
		if m.ID == 0 {
			continue
		}
		b.mu.Lock()
		ch := b.waiting[m.ID]
		delete(b.waiting, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

// call sends one command and decodes its result into out.
func (b *browser) call(session, method string, params any, out any) {
	b.t.Helper()
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMessage, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	frame, _ := json.Marshal(msg)
	if _, err := b.out.Write(append(frame, 0)); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			b.t.Fatalf("%s: the browser went away", method)
		}
		if m.Error != nil {
			b.t.Fatalf("%s: %s", method, m.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				b.t.Fatalf("%s: %v", method, err)
			}
		}
	case <-time.After(time.Minute): // a guard against a hung browser, not an assertion
		b.t.Fatalf("%s: no answer from the browser", method)
	}
}

// eval evaluates a JavaScript expression in the page into out.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails json.RawMessage `json:"exceptionDetails"`
	}
	b.call(b.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if res.ExceptionDetails != nil {
		b.t.Fatalf("%s: %s", expr, res.ExceptionDetails)
	}
	if err := json.Unmarshal(res.Result.Value, out); err != nil {
		b.t.Fatalf("%s: %s: %v", expr, res.Result.Value, err)
	}
}

// waitFor evaluates expr until it is true.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a guard, not an assertion
	defer cancel()
	for {
		var ok bool
		b.eval(expr, &ok)
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			var dom string
			b.eval("document.body.innerText", &dom)
			b.t.Fatalf("the page never showed %s; it shows:\n%s", what, dom)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// screenshot writes a PNG of the page into dir and returns its path.
func (b *browser) screenshot(dir, name string) string {
	b.t.Helper()
	var res struct{ Data string }
	b.call(b.session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &res)
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil || len(png) < 8 || string(png[1:4]) != "PNG" {
		b.t.Fatalf("screenshot: %v (%d bytes)", err, len(png))
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
	return p
}

// artifactDir is .labwork/artifacts/<name> at the top of the module, kept
// after the test for a person to look at.
func artifactDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
	out := filepath.Join(dir, ".labwork", "artifacts", name)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPageInChromium: the page of a gateway with two pools and an
// association that lost a path shows the alarms by severity, the pools
// with their elements and loads and the association's paths; when an
// alarm clears, the page drops it without a reload (notification stream).
func TestPageInChromium(t *testing.T) {
	clk := fakeClock{sctptest.NewFakeClock(t0)}
	m, err := alarms.NewManager(alarms.Config{Clock: clk, SystemID: "sg1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	mon, err := sctpalarms.New(sctpalarms.Config{Alarms: m, Object: "sgw=sg1,assoc=stp1"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := sctptest.Pair(sctptest.WithClock(clk.FakeClock))
	t.Cleanup(func() { a.Abort(); b.Abort() })
	stp1 := sctpalarms.Wrap(a, mon)
	assocs := metrics.NewAssociations()
	assocs.Add("stp1", stp1)
	buf := make([]byte, 256)
	a.FailPath(netip.MustParseAddr("10.0.2.2"))
	for _, want := range []sctp.EventKind{sctp.EventCommUp, sctp.EventAddrUnreachable} {
		if _, ev, err := stp1.Recv(buf); err != nil || ev == nil || ev.Kind != want {
			t.Fatalf("%v %v, want %v", ev, err, want)
		}
	}
	m.Raise(alarms.Report{Def: alarms.ASDown, Object: "sgw=sg1,as=hlr", AdditionalText: "no ASP active"})

	srv := New(Config{
		System: "sgw=sg1", Alarms: m, Gatherer: prometheus.NewRegistry(),
		Pools: fakePools{
			{Handle: "hlr", Policy: "least-used", MinElements: 2, Elements: []Element{
				{ID: "0x1a2b", Address: "10.0.1.5+10.0.2.5:2905", State: "registered", Load: 0x40000000, Registrar: "pr1"},
				{ID: "0x3c4d", Address: "10.0.1.6+10.0.2.6:2905", State: "registered", Load: 0xc0000000, Registrar: "pr2"},
			}},
			{Handle: "vlr", Policy: "round-robin", Elements: []Element{
				{ID: "0x5e6f", Address: "10.0.1.7+10.0.2.7:2905", State: "registered", Registrar: "pr1"},
			}},
		},
		Associations: AssociationsOf(assocs),
	})
	srv.AddReadyCheck("traffic", func(context.Context) error { return errors.New("AS hlr down") })
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Start()
	t.Cleanup(func() { ts.CloseClientConnections(); ts.Close() })
	br := startBrowser(t, ts.URL+"/")
	dir := artifactDir(t, "mgmt-ui")

	br.waitFor("the alarms, pools and paths", `document.querySelectorAll("tr.alarm").length === 2 &&
		document.querySelectorAll("tr.element").length === 3 &&
		document.querySelector('tr.path[data-path="10.0.2.2"][data-state="inactive"]') !== null &&
		document.getElementById("live").textContent === "live"`)
	var rows [][]string
	br.eval(`[...document.querySelectorAll("tr.alarm")].map(r => [r.dataset.severity, r.dataset.alarmName, r.dataset.object, r.cells[4].textContent])`, &rows)
	want := [][]string{
		{"CRITICAL", "as-down", "sgw=sg1,as=hlr", "no ASP active"},
		{"MINOR", "path-down", "sgw=sg1,assoc=stp1,path=10.0.2.2", "peer address unreachable (addr-unreachable)"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Fatalf("alarm rows %q, want %q", rows, want)
	}
	var facts struct {
		System, Ready, Counts, Loads, Paths string
	}
	br.eval(`({
		System: document.getElementById("system").textContent,
		Ready: document.getElementById("ready").textContent,
		Counts: [...document.querySelectorAll("#counts span")].map(s => s.textContent).join(", "),
		Loads: [...document.querySelectorAll("tr.element")].map(r => r.dataset.element + " " + r.cells[3].textContent).join(", "),
		Paths: [...document.querySelectorAll("tr.path")].map(r => r.dataset.association + " " + r.dataset.path + " " + r.dataset.state).join(", "),
	})`, &facts)
	for _, c := range [][2]string{
		{facts.System, "sgw=sg1"},
		{facts.Ready, "not ready"},
		{facts.Counts, "critical 1, major 0, minor 1, warning 0, indeterminate 0"},
		{facts.Loads, "0x1a2b 25.0 %, 0x3c4d 75.0 %, 0x5e6f 0.0 %"},
		{facts.Paths, "stp1 10.0.1.2 active, stp1 10.0.2.2 inactive"},
	} {
		if c[0] != c[1] {
			t.Errorf("page shows %q, want %q", c[0], c[1])
		}
	}
	png := br.screenshot(dir, "alarms-raised.png")

	// The AS comes back: the alarm clears and the page follows, with no
	// reload (the notification stream tells it).
	m.Clear(alarms.ASDown, "sgw=sg1,as=hlr")
	clk.Advance(alarms.ASDown.Debounce.ClearAfter)
	if n := m.Count(alarms.Filter{})[alarms.Critical]; n != 0 {
		t.Fatalf("%d critical alarms after the clear", n)
	}
	br.waitFor("the cleared alarm gone", `document.querySelectorAll("tr.alarm").length === 1 &&
		document.querySelector('tr.alarm[data-alarm-name="as-down"]') === null &&
		document.querySelector('#counts [data-severity="CRITICAL"]').dataset.count === "0"`)
	br.screenshot(dir, "alarm-cleared.png")

	// A new alarm appears as well.
	m.Raise(alarms.Report{Def: alarms.PoolBelowMinimum, Object: "sgw=sg1,pool=vlr", AdditionalText: "1 live element, minimum 2"})
	clk.Advance(alarms.PoolBelowMinimum.Debounce.RaiseAfter)
	br.waitFor("the new alarm", `document.querySelector('tr.alarm[data-alarm-name="pool-below-minimum"]') !== null`)
	if fi, err := os.Stat(png); err != nil || fi.Size() < 10000 {
		t.Fatalf("screenshot %s: %v", png, err)
	}
}
