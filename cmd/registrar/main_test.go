package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/internal/daemon"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

func writeTemp(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "registrar.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// parse runs the command line without starting anything.
func parse(args ...string) (File, error) {
	var file File
	cmd := command(func(f File, _ func() (File, error)) error { file = f; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	return file, cmd.Execute()
}

func TestConfigFileAndFlags(t *testing.T) {
	path := writeTemp(t, `
server_id: 7
asap: 10.99.0.1:3863
enrp: 10.99.0.1+10.98.0.1:9901
peers: [10.99.0.2:9901, 10.99.0.3:9901]
allow: [10.0.0.0/8]
keepalive: 500ms
max_bad_pe_report: 5
tuning: rfc
`)
	file, err := parse("--config", path, "--keepalive-timeout", "2s", "--id", "8", "--peer", "10.99.0.4:9901")
	if err != nil {
		t.Fatal(err)
	}
	dc, cfg := settings(file)
	if cfg.ServerID != 8 || cfg.KeepAlive != 500*time.Millisecond || cfg.KeepAliveTimeout != 2*time.Second ||
		cfg.MaxBadPEReport != 5 || len(cfg.Peers) != 1 || cfg.Peers[0].Port != 9901 || len(cfg.Allow) != 1 ||
		len(cfg.ENRPTransport.Addrs) != 2 || dc.ASAPAddr.Port != 3863 || len(dc.LocalAddr.IPs) != 2 {
		t.Fatalf("%+v %+v", cfg, dc)
	}
	// Flags alone, as the lab tests start it; the ASAP address defaults.
	file, err = parse("--id", "81", "--peer", "10.1.0.2:9901,10.1.0.3:9901", "--resolution-rate", "100000000")
	if err != nil {
		t.Fatal(err)
	}
	dc, cfg = settings(file)
	if dc.ASAPAddr.Port != rserpool.Port || len(dc.ASAPAddr.IPs) != 1 || !dc.ASAPAddr.IPs[0].IsUnspecified() ||
		len(cfg.Peers) != 2 || cfg.ResolutionRate != 100000000 || dc.ENRPAddr.Port != 0 {
		t.Fatalf("flags only: %+v %+v", cfg, dc)
	}
}

// Every flag the registrar had before it moved onto internal/config still
// sets its key, with the same value syntax (durations with a unit).
func TestEveryFlag(t *testing.T) {
	file, err := parse("--id", "9", "--asap", "10.99.0.9+10.98.0.9:3863", "--enrp", "10.99.0.9:9901",
		"--peer", "10.99.0.1:9901", "--peer", "10.99.0.2:9901", "--allow", "10.1.0.0/16,10.2.0.0/16",
		"--tuning", "rfc", "--log-level", "debug", "--log-format", "console", "--stats", "1m",
		"--mgmt", "127.0.0.1:9103", "--mgmt-socket", "/run/r.sock", "--alarm-history", "/var/lib/r.jsonl",
		"--keepalive", "2s", "--keepalive-timeout", "3s", "--max-bad-pe-report", "4", "--report-window", "5s",
		"--max-hres-items", "6", "--peer-heartbeat", "700ms", "--max-time-last-heard", "800ms",
		"--max-time-no-response", "900ms", "--takeover-expiry", "1100ms", "--resolution-rate", "12",
		"--resolution-burst", "13", "--report-rate", "14", "--report-burst", "15", "--tag-bits", "16")
	if err != nil {
		t.Fatal(err)
	}
	dc, cfg := settings(file)
	ms := time.Millisecond
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"id", cfg.ServerID, uint32(9)}, {"asap", dc.ASAPAddr.String(), "10.99.0.9+10.98.0.9:3863"},
		{"enrp", dc.ENRPAddr.String(), "10.99.0.9:9901"}, {"peers", len(cfg.Peers), 2},
		{"allow", fmt.Sprint(cfg.Allow), "[10.1.0.0/16 10.2.0.0/16]"},
		{"tuning", dc.Transport.(sctp.Kernel).Config.Tuning, sctp.RFC},
		{"log-level", file.LogLevel, "debug"}, {"log-format", file.LogFormat, "console"}, {"stats", file.Stats, time.Minute},
		{"mgmt", file.Mgmt, "127.0.0.1:9103"}, {"mgmt-socket", file.MgmtSocket, "/run/r.sock"},
		{"alarm-history", file.History, "/var/lib/r.jsonl"},
		{"keepalive", cfg.KeepAlive, 2 * time.Second}, {"keepalive-timeout", cfg.KeepAliveTimeout, 3 * time.Second},
		{"max-bad-pe-report", cfg.MaxBadPEReport, 4}, {"report-window", cfg.ReportWindow, 5 * time.Second},
		{"max-hres-items", cfg.MaxHResItems, 6}, {"peer-heartbeat", cfg.PeerHeartbeat, 700 * ms},
		{"max-time-last-heard", cfg.MaxTimeLastHeard, 800 * ms}, {"max-time-no-response", cfg.MaxTimeNoResponse, 900 * ms},
		{"takeover-expiry", cfg.TakeoverExpiry, 1100 * ms}, {"resolution-rate", cfg.ResolutionRate, 12},
		{"resolution-burst", cfg.ResolutionBurst, 13}, {"report-rate", cfg.ReportRate, 14},
		{"report-burst", cfg.ReportBurst, 15}, {"tag-bits", cfg.TagBits, 16},
	} {
		if c.got != c.want {
			t.Errorf("--%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	// A malformed peer given as a flag names the flag.
	if _, err := parse("--id", "9", "--peer", "10.99.0.1:9901,10.99.0.2"); err == nil || !strings.Contains(err.Error(), "--peer") {
		t.Errorf("bad --peer: %v", err)
	}
}

// The example configuration loads, and --check says so without starting.
func TestExampleConfig(t *testing.T) {
	const path = "testdata/registrar.yaml"
	file, err := parse("--config", path)
	if err != nil {
		t.Fatal(err)
	}
	dc, cfg := settings(file)
	if cfg.ServerID != 3 || len(cfg.Peers) != 2 || len(dc.ASAPAddr.IPs) != 2 || len(cfg.Allow) != 2 ||
		cfg.TagBits != 16 || file.MgmtSocket == "" || cfg.ReportRate != enrp.DefaultReportRate ||
		len(file.Pools) != 2 || file.Pools[0] != (Watch{Handle: "hlr.sigpool", MinElements: 2}) {
		t.Fatalf("%+v", file)
	}
	var out bytes.Buffer
	if code := run([]string{"--config", path, "--check"}, &out, io.Discard, nil); code != 0 || !strings.Contains(out.String(), "configuration OK") {
		t.Fatalf("--check: exit %d, %q", code, out.String())
	}
}

// A bad file is refused naming file, line and key; a bad flag names the
// flag; the process exits 2 and starts nothing.
func TestBadConfigNamesFileLineField(t *testing.T) {
	path := writeTemp(t, "server_id: 7\nasap: 10.99.0.1:3863\npeers:\n  - 10.99.0.2:9901\n  - 10.99.0.3\ntuning: fast\nallow: [10.0.0.0/33]\n")
	_, err := parse("--config", path)
	if err == nil {
		t.Fatal("bad file accepted")
	}
	for _, want := range []string{path + ":5: peers[1]", path + ":6: tuning", path + ":7: allow[0]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	pools := writeTemp(t, "server_id: 7\npools:\n  - {handle: a, min_elements: 2}\n  - {min_elements: 1}\n  - {handle: a, min_elements: -1}\n")
	_, err = parse("--config", pools)
	for _, want := range []string{pools + ":4: pools[1].handle: required", pools + ":5: pools[2].handle", pools + ":5: pools[2].min_elements"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %q", err, want)
		}
	}
	if _, err := parse("--config", writeTemp(t, "server_id: 7\nbogus: 1\n")); err == nil || !strings.Contains(err.Error(), ":2: bogus") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := parse("--config", writeTemp(t, "asap: 10.99.0.1:3863\n")); err == nil || !strings.Contains(err.Error(), "server_id") {
		t.Errorf("no server id: %v", err)
	}
	if _, err := parse("--id", "1", "--keepalive", "5"); err == nil || !strings.Contains(err.Error(), "--keepalive") {
		t.Errorf("bare number as a duration: %v", err)
	}
	var stderr bytes.Buffer
	if code := run([]string{"--config", path}, io.Discard, &stderr, nil); code != 2 || !strings.Contains(stderr.String(), path+":6: tuning") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

// logBuffer collects the daemon's JSON log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the log lines with message msg, decoded.
func (l *logBuffer) lines(msg string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// daemonRun is a registrar process run in the test: its exit status
// arrives on done.
type daemonRun struct {
	signals chan os.Signal
	log     *logBuffer
	done    chan struct{} // closed when run returned, code set
	code    int
	reg     *enrp.Driver
	d       *daemon.Daemon
}

func startDaemon(t *testing.T, n *sctptest.Network, args ...string) *daemonRun {
	t.Helper()
	r := &daemonRun{signals: make(chan os.Signal, 4), log: &logBuffer{}, done: make(chan struct{})}
	up := make(chan struct{})
	e := &env{transport: n, signals: r.signals, started: func(reg *enrp.Driver, d *daemon.Daemon) {
		r.reg, r.d = reg, d
		close(up)
	}}
	go func() { r.code = run(args, io.Discard, r.log, e); close(r.done) }()
	select {
	case <-up:
	case <-r.done:
		t.Fatalf("registrar exited %d: %s", r.code, r.log.b.String())
	case <-time.After(20 * time.Second):
		t.Fatal("registrar did not start")
	}
	t.Cleanup(func() {
		select {
		case r.signals <- syscall.SIGTERM:
		default:
		}
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
		}
	})
	return r
}

func (r *daemonRun) stop(t *testing.T) {
	t.Helper()
	r.signals <- syscall.SIGTERM
	select {
	case <-r.done:
		if r.code != 0 {
			t.Fatalf("exit %d", r.code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("registrar did not stop")
	}
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startPE(t *testing.T, n *sctptest.Network, id uint32, ip string, load uint32, registrar sctp.Addr) *rserpool.PEDriver {
	t.Helper()
	pe := rserpool.NewPEDriver(rserpool.DriverConfig{Transport: n}, rserpool.PEConfig{
		PoolHandle: []byte("EchoPool"),
		Element: rserpool.PoolElement{ID: id, Policy: rserpool.Policy{Type: rserpool.LeastUsed, Load: load},
			UserTransport: rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: 7, Addrs: []netip.Addr{netip.MustParseAddr(ip)}}},
		Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{registrar}},
	}, nil)
	pe.Start()
	t.Cleanup(pe.Close)
	return pe
}

// The registrar logs every registration and the counters at exit, and
// SIGTERM stops it with status 0.
func TestRunLogs(t *testing.T) {
	n := sctptest.NewNetwork()
	r := startDaemon(t, n, "--id", "1", "--asap", "10.99.0.1:3863", "--enrp", "10.99.0.1:9901")
	startPE(t, n, 42, "10.1.0.1", 0, r.reg.ASAPAddr())
	eventually(t, "the registration logged", func() bool { return len(r.log.lines("registration")) == 1 })
	if l := r.log.lines("registration")[0]; l["pe"] != float64(42) || l["pool"] != "EchoPool" || l["server_id"] != float64(1) {
		t.Errorf("registration line %v", l)
	}
	r.stop(t)
	c := r.log.lines("counters")
	if len(c) != 1 {
		t.Fatalf("counters logged %d times", len(c))
	}
	if c[0]["asap_in.ASAP_REGISTRATION"] != float64(1) || c[0]["elements"] != float64(1) {
		t.Fatalf("counters %v", c[0])
	}
}

// The management listener serves the registrar's metrics, its pools and
// its alarms.
func TestManagement(t *testing.T) {
	n := sctptest.NewNetwork()
	r := startDaemon(t, n, "--id", "3", "--asap", "10.99.0.3:3863", "--mgmt", "127.0.0.1:0")
	startPE(t, n, 77, "10.1.0.3", 5, r.reg.ASAPAddr())
	base := "http://" + r.d.Addrs()[0].String()
	get := func(path string) string {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s %s", path, resp.Status, b)
		}
		return string(b)
	}
	eventually(t, "the registration in the metrics", func() bool {
		return strings.Contains(get("/metrics"), "sigpool_rserpool_registrations_total 1")
	})
	if m := get("/metrics"); !strings.Contains(m, "sigpool_rserpool_handlespace_elements 1") ||
		!strings.Contains(m, `sigpool_rserpool_asap_messages_total{direction="in",type="registration"} 1`) ||
		!strings.Contains(m, "go_goroutines") {
		t.Errorf("metrics:\n%s", m)
	}
	if p := strings.Join(strings.Fields(get("/api/v1/pools")), ""); !strings.Contains(p, `"handle":"EchoPool"`) ||
		!strings.Contains(p, fmt.Sprintf(`"id":"%08x"`, 77)) || !strings.Contains(p, `"load":5`) {
		t.Errorf("pools: %s", p)
	}
	if r := get("/readyz"); !strings.Contains(r, "ok") {
		t.Errorf("/readyz: %q", r)
	}
	// The element's ASAP association, named after the listener's role.
	if a := strings.Join(strings.Fields(get("/api/v1/associations")), ""); !strings.Contains(a, `"name":"asap/`) || !strings.Contains(a, `"local":"10.99.0.3:3863"`) {
		t.Errorf("associations: %s", a)
	}
	r.stop(t)
}

func activeAlarm(d *daemon.Daemon, def *alarms.Definition, object string) (alarms.Alarm, bool) {
	for _, a := range d.Alarms.Alarms(alarms.Filter{Name: def.Name}) {
		if a.Object == object {
			return a, true
		}
	}
	return alarms.Alarm{}, false
}

// Registrar 2 (the daemon) peers with registrar 1 (a driver in the test)
// over sctptest. Registrar 1 crashes: registrar-peer-lost is raised on
// registrar=2,peer=1, and takeover-performed for the element it held. It
// comes back: the peer alarm clears.
func TestPeerAlarms(t *testing.T) {
	n := sctptest.NewNetwork()
	enrp1 := sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.99.0.1")}, Port: enrp.Port}
	asap1 := sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.99.0.1")}, Port: rserpool.Port}
	start1 := func() *enrp.Driver {
		d, err := enrp.NewDriver(enrp.DriverConfig{Transport: n, ASAPAddr: asap1, ENRPAddr: enrp1, LocalAddr: sctp.Addr{IPs: enrp1.IPs}},
			enrp.Config{ServerID: 1, ENRPTransport: rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: enrp1.Port, Addrs: enrp1.IPs}})
		if err != nil {
			t.Fatal(err)
		}
		d.Start()
		return d
	}
	r1 := start1()
	r := startDaemon(t, n, "--id", "2", "--asap", "10.99.0.2:3863", "--enrp", "10.99.0.2:9901", "--peer", "10.99.0.1:9901",
		"--mgmt", "127.0.0.1:0")
	startPE(t, n, 101, "10.1.0.1", 0, asap1)
	eventually(t, "registrar 2 to learn the element", func() bool { return len(r.reg.Elements([]byte("EchoPool"))) == 1 })
	const obj = "registrar=2,peer=1"
	if _, ok := activeAlarm(r.d, alarms.RegistrarPeerLost, obj); ok {
		t.Fatal("peer lost while it is up")
	}
	const assoc = "registrar=2,assoc=peer1"
	if _, ok := activeAlarm(r.d, alarms.AssociationDown, assoc); ok {
		t.Fatal("association-down while the peer's association is up")
	}
	r1.Close(true)
	eventually(t, "registrar-peer-lost", func() bool { _, ok := activeAlarm(r.d, alarms.RegistrarPeerLost, obj); return ok })
	eventually(t, "association-down", func() bool { _, ok := activeAlarm(r.d, alarms.AssociationDown, assoc); return ok })
	eventually(t, "takeover-performed", func() bool { _, ok := activeAlarm(r.d, alarms.TakeoverPerformed, obj); return ok })
	if a, _ := activeAlarm(r.d, alarms.TakeoverPerformed, obj); !strings.Contains(a.AdditionalText, "1 pool elements") {
		t.Errorf("takeover text %q", a.AdditionalText)
	}
	// The management API shows both.
	base := "http://" + r.d.Addrs()[0].String()
	for _, def := range []*alarms.Definition{alarms.RegistrarPeerLost, alarms.TakeoverPerformed} {
		if !apiHasAlarm(t, base, def, obj, false) {
			t.Errorf("GET /api/fm/v1/alarms: no %s on %s", def.Name, obj)
		}
	}
	r1 = start1()
	defer r1.Close(false)
	// The manager clears after the definition's hold (10 s, real clock).
	deadline := time.Now().Add(alarms.RegistrarPeerLost.Debounce.ClearAfter + 20*time.Second)
	for {
		if _, ok := activeAlarm(r.d, alarms.RegistrarPeerLost, obj); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("registrar-peer-lost not cleared after the peer came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The redialled association clears association-down (same hold).
	eventually(t, "association-down cleared", func() bool { _, ok := activeAlarm(r.d, alarms.AssociationDown, assoc); return !ok })
	if apiHasAlarm(t, base, alarms.RegistrarPeerLost, obj, false) || !apiHasAlarm(t, base, alarms.RegistrarPeerLost, obj, true) {
		t.Errorf("GET /api/fm/v1/alarms: registrar-peer-lost still active, or not in the cleared history")
	}
	if len(r.log.lines("peer up")) < 2 {
		t.Errorf("peer up logged %d times", len(r.log.lines("peer up")))
	}
}

// SIGHUP applies the log level, the keep-alive timers, the allow-list and
// the rate limits; a change to a restart-only key refuses the reload whole,
// names the key in config-reload-refused, and changes nothing; a good file
// again clears the alarm.
func TestReload(t *testing.T) {
	n := sctptest.NewNetwork()
	path := writeTemp(t, "server_id: 4\nasap: 10.99.0.4:3863\nlog_level: info\nkeepalive: 1s\n")
	r := startDaemon(t, n, "--config", path)
	tunables := func() enrp.Tunables {
		var tu enrp.Tunables
		r.reg.Do(func(x *enrp.Registrar) { tu = x.Tunables() })
		return tu
	}
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("server_id: 4\nasap: 10.99.0.4:3863\nlog_level: debug\nkeepalive: 2s\nkeepalive_timeout: 3s\nallow: [10.1.0.0/16]\n" +
		"resolution_rate: 50\nmax_bad_pe_report: 7\nreport_window: 20s\nmax_hres_items: 2\nreport_rate: 3\nreport_burst: 4\n")
	r.signals <- syscall.SIGHUP
	eventually(t, "the reload applied", func() bool { return tunables().KeepAlive == 2*time.Second })
	tu := tunables()
	if tu.KeepAliveTimeout != 3*time.Second || len(tu.Allow) != 1 || tu.ResolutionRate != 50 ||
		tu.ResolutionBurst != enrp.DefaultResolutionBurst || tu.MaxBadPEReport != 7 || tu.ReportWindow != 20*time.Second ||
		tu.MaxHResItems != 2 || tu.ReportRate != 3 || tu.ReportBurst != 4 || !r.d.Level.Enabled(-1) {
		t.Fatalf("after reload: %+v, level %v", tu, r.d.Level.Level())
	}
	// A registration from outside the new allow-list is refused.
	startPE(t, n, 9, "10.2.0.9", 0, r.reg.ASAPAddr())
	eventually(t, "the registration refused", func() bool { return len(r.log.lines("refused")) > 0 })

	write("server_id: 5\nasap: 10.99.0.4:3863\nenrp: 10.99.0.4:9901\nlog_level: warn\nkeepalive: 4s\n")
	r.signals <- syscall.SIGHUP
	var a alarms.Alarm
	eventually(t, "config-reload-refused", func() bool {
		var ok bool
		a, ok = activeAlarm(r.d, alarms.ConfigReloadRefused, "registrar=4")
		return ok
	})
	if !strings.Contains(a.AdditionalText, "server_id: changed from 4 to 5") || !strings.Contains(a.AdditionalText, "enrp: changed") ||
		strings.Contains(a.AdditionalText, "keepalive:") {
		t.Errorf("refusal %q", a.AdditionalText)
	}
	if tu := tunables(); tu.KeepAlive != 2*time.Second || !r.d.Level.Enabled(-1) {
		t.Errorf("a refused reload changed the registrar: %+v, level %v", tu, r.d.Level.Level())
	}

	write("server_id: 4\nasap: 10.99.0.4:3863\ntuning: turbo\n")
	r.signals <- syscall.SIGHUP
	eventually(t, "the refusal naming the line", func() bool {
		a, _ := activeAlarm(r.d, alarms.ConfigReloadRefused, "registrar=4")
		return strings.Contains(a.AdditionalText, path+":3: tuning")
	})

	write("server_id: 4\nasap: 10.99.0.4:3863\nlog_level: warn\n")
	r.signals <- syscall.SIGHUP
	eventually(t, "the default keep-alive back", func() bool { return tunables().KeepAlive == enrp.DefaultKeepAlive })
	if tu := tunables(); r.d.Level.Enabled(0) || len(tu.Allow) != 0 || tu.ReportRate != enrp.DefaultReportRate ||
		tu.MaxBadPEReport != enrp.DefaultMaxBadPEReport {
		t.Errorf("after the reload back to defaults: %+v, level %v", tu, r.d.Level.Level())
	}
	// The accepted reload clears config-reload-refused.
	eventually(t, "config-reload-refused cleared", func() bool {
		_, ok := activeAlarm(r.d, alarms.ConfigReloadRefused, "registrar=4")
		return !ok
	})
	r.stop(t)
}

// apiHasAlarm asks the management API at base whether an alarm of def is on
// object: among the active alarms, or the cleared ones.
func apiHasAlarm(t *testing.T, base string, def *alarms.Definition, object string, cleared bool) bool {
	t.Helper()
	resp, err := http.Get(base + "/api/fm/v1/alarms?alarmName=" + def.Name + fmt.Sprintf("&cleared=%v", cleared))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list map[string]alarms.Alarm
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET alarms: %s %v", resp.Status, err)
	}
	for _, a := range list {
		if a.Object == object && a.Name == def.Name {
			return true
		}
	}
	return false
}

// The association to a configured peer, multihomed: one of its networks
// failing raises path-down on registrar=2,assoc=peer1,path=<peer IP>, and
// only that; the path back clears it after the hold.
func TestPeerPathAlarm(t *testing.T) {
	n := sctptest.NewNetwork()
	enrp1 := sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.99.0.1"), netip.MustParseAddr("10.98.0.1")}, Port: enrp.Port}
	r1, err := enrp.NewDriver(enrp.DriverConfig{Transport: n, ENRPAddr: enrp1, LocalAddr: sctp.Addr{IPs: enrp1.IPs},
		ASAPAddr: sctp.Addr{IPs: enrp1.IPs[:1], Port: rserpool.Port}},
		enrp.Config{ServerID: 1, ENRPTransport: rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: enrp1.Port, Addrs: enrp1.IPs}})
	if err != nil {
		t.Fatal(err)
	}
	r1.Start()
	defer r1.Close(false)
	r := startDaemon(t, n, "--id", "2", "--asap", "10.99.0.2:3863", "--enrp", "10.99.0.2+10.98.0.2:9901",
		"--peer", "10.99.0.1+10.98.0.1:9901", "--mgmt", "127.0.0.1:0")
	eventually(t, "the peer association in the set", func() bool {
		for _, a := range r.d.Associations.Snapshot() {
			if strings.HasPrefix(a.Name, "peer1/") && len(a.Status.Paths) == 2 {
				return true
			}
		}
		return false
	})
	const path = "registrar=2,assoc=peer1,path=10.98.0.1"
	n.FailPath(netip.MustParseAddr("10.98.0.1"))
	eventually(t, "path-down", func() bool { _, ok := activeAlarm(r.d, alarms.PathDown, path); return ok })
	if _, ok := activeAlarm(r.d, alarms.AssociationDown, "registrar=2,assoc=peer1"); ok {
		t.Error("association-down for one path")
	}
	if _, ok := activeAlarm(r.d, alarms.PathDown, "registrar=2,assoc=peer1,path=10.99.0.1"); ok {
		t.Error("path-down on the path that works")
	}
	n.RestorePath(netip.MustParseAddr("10.98.0.1"))
	eventually(t, "path-down cleared", func() bool { _, ok := activeAlarm(r.d, alarms.PathDown, path); return !ok })
	r.stop(t)
}

// SIGTERM: the registrar closes its associations and exits 0, and its peer
// takes its pool element over (the element's home becomes the peer), the
// element following its new home.
func TestStopPeerTakesOver(t *testing.T) {
	n := sctptest.NewNetwork()
	enrp1 := sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.99.0.1")}, Port: enrp.Port}
	r1, err := enrp.NewDriver(enrp.DriverConfig{Transport: n, ENRPAddr: enrp1, LocalAddr: sctp.Addr{IPs: enrp1.IPs},
		ASAPAddr: sctp.Addr{IPs: enrp1.IPs, Port: rserpool.Port}},
		enrp.Config{ServerID: 1, ENRPTransport: rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: enrp1.Port, Addrs: enrp1.IPs}})
	if err != nil {
		t.Fatal(err)
	}
	r1.Start()
	defer r1.Close(false)
	r := startDaemon(t, n, "--id", "2", "--asap", "10.99.0.2:3863", "--enrp", "10.99.0.2:9901", "--peer", "10.99.0.1:9901")

	peASAP := sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.1.0.5")}, Port: 3864}
	ln, err := n.Listen(peASAP)
	if err != nil {
		t.Fatal(err)
	}
	asapT := rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: peASAP.Port, Addrs: peASAP.IPs}
	pe := rserpool.NewPEDriver(rserpool.DriverConfig{Transport: n}, rserpool.PEConfig{
		PoolHandle: []byte("EchoPool"),
		Element: rserpool.PoolElement{ID: 55, Policy: rserpool.Policy{Type: rserpool.RoundRobin},
			UserTransport: rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: 7, Addrs: peASAP.IPs},
			ASAPTransport: &asapT},
		Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{r.reg.ASAPAddr()}},
	}, ln)
	pe.Start()
	defer pe.Close()
	home := func() uint32 {
		if es := r1.Elements([]byte("EchoPool")); len(es) == 1 {
			return es[0].HomeRegistrar
		}
		return 0
	}
	eventually(t, "registrar 1 to learn the element, homed at 2", func() bool { return home() == 2 })
	r.stop(t)
	if l := r.log.lines("registrar stopped"); len(l) != 1 {
		t.Errorf("stop logged %d times", len(l))
	}
	eventually(t, "registrar 1 to take the element over", func() bool { return home() == 1 })
}

// The pools key: a watched pool without a live element raises pool-empty,
// one below its minimum pool-below-minimum, on registrar=<id>,pool=<handle>,
// none during the start-up grace; a reload that stops watching a pool
// clears its alarms.
func TestPoolAlarms(t *testing.T) {
	n := sctptest.NewNetwork()
	head := "server_id: 6\nasap: 10.99.0.6:3863\nstartup_grace: 3s\n"
	path := writeTemp(t, head+"pools:\n  - {handle: EchoPool, min_elements: 2}\n  - {handle: Other}\n")
	r := startDaemon(t, n, "--config", path)
	const echo, other = "registrar=6,pool=EchoPool", "registrar=6,pool=Other"
	if _, ok := activeAlarm(r.d, alarms.PoolEmpty, echo); ok {
		t.Fatal("pool-empty within the start-up grace")
	}
	eventually(t, "pool-empty on both pools", func() bool {
		_, a := activeAlarm(r.d, alarms.PoolEmpty, echo)
		_, b := activeAlarm(r.d, alarms.PoolEmpty, other)
		return a && b
	})
	startPE(t, n, 61, "10.1.0.61", 0, r.reg.ASAPAddr())
	pe := startPE(t, n, 62, "10.1.0.62", 0, r.reg.ASAPAddr())
	eventually(t, "pool-empty cleared", func() bool { _, ok := activeAlarm(r.d, alarms.PoolEmpty, echo); return !ok })
	if _, ok := activeAlarm(r.d, alarms.PoolBelowMinimum, echo); ok {
		t.Error("pool-below-minimum with 2 live of 2")
	}
	pe.Close()
	eventually(t, "pool-below-minimum", func() bool { _, ok := activeAlarm(r.d, alarms.PoolBelowMinimum, echo); return ok })
	if a, _ := activeAlarm(r.d, alarms.PoolBelowMinimum, echo); !strings.Contains(a.AdditionalText, "1 live of 2") {
		t.Errorf("text %q", a.AdditionalText)
	}
	if _, ok := activeAlarm(r.d, alarms.PoolEmpty, other); !ok {
		t.Fatal("pool-empty on Other cleared while watched")
	}
	if err := os.WriteFile(path, []byte(head+"pools:\n  - {handle: EchoPool, min_elements: 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.signals <- syscall.SIGHUP
	eventually(t, "pool-empty on Other cleared", func() bool { _, ok := activeAlarm(r.d, alarms.PoolEmpty, other); return !ok })
	if _, ok := activeAlarm(r.d, alarms.PoolBelowMinimum, echo); !ok {
		t.Error("the reload cleared the alarm of a pool still watched")
	}
	r.stop(t)
}
