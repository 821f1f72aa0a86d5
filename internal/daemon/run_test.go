package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/internal/mgmt"
	"github.com/sigpool/sigpool/rserpool"
)

func TestRunInProcess(t *testing.T) {
	sigs := make(chan os.Signal, 4)
	var log bytes.Buffer
	d, err := New(Options{Name: "sgw", Instance: "sg1", MgmtAddr: "127.0.0.1:0", Signals: sigs,
		LogOutput: &syncWriter{b: &log}, LogFormat: "console", LogLevel: "debug"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Self != "sgw=sg1" {
		t.Fatalf("self %q", d.Self)
	}
	url := "http://" + d.Addrs()[0].String()
	reloads := make(chan error, 1)
	var notReady atomic.Bool
	notReady.Store(true)
	drained := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- d.Run(context.Background(), Hooks{
			Ready: func(context.Context) error {
				if notReady.Load() {
					return errors.New("no association yet")
				}
				return nil
			},
			Reload: func(context.Context) error { return <-reloads },
			Pools:  mgmt.RegistrarPools(noElements{}, []mgmt.Pool{{Handle: "hlr.sigpool", Policy: "least-used", MinElements: 2}}),
			Drain: func(context.Context) error {
				// While draining the daemon reports not ready.
				if code := statusOf(t, url+"/readyz"); code != 503 {
					t.Errorf("readyz while draining: %d", code)
				}
				close(drained)
				return nil
			},
		})
	}()
	waitFor(t, "not ready before the program says so", func() bool { return statusOf(t, url+"/readyz") == 503 })
	notReady.Store(false)
	waitFor(t, "ready", func() bool { return statusOf(t, url+"/readyz") == 200 })

	reloads <- errors.New("sgw.yaml:3: limits.queue: must be positive")
	sigs <- syscall.SIGHUP
	waitFor(t, "alarm", func() bool { return len(d.Alarms.Alarms(alarms.Filter{Name: "config-reload-refused"})) == 1 })
	reloads <- nil
	sigs <- syscall.SIGHUP
	waitFor(t, "cleared", func() bool { return len(d.Alarms.Alarms(alarms.Filter{Name: "config-reload-refused"})) == 0 })

	// The providers reach the API.
	r, err := http.Get(url + "/api/v1/pools")
	if err != nil {
		t.Fatal(err)
	}
	var pools []mgmt.Pool
	err = json.NewDecoder(r.Body).Decode(&pools)
	r.Body.Close()
	if err != nil || len(pools) != 1 || pools[0].Handle != "hlr.sigpool" || pools[0].MinElements != 2 {
		t.Fatalf("pools %+v %v", pools, err)
	}
	if code := statusOf(t, url+"/api/v1/asps"); code != 404 {
		t.Fatalf("asps without a provider: %d", code)
	}

	// The runtime log level endpoint moves the AtomicLevel.
	req, _ := http.NewRequest("PUT", url+"/api/v1/log/level", strings.NewReader(`{"level":"warn"}`))
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Fatalf("put level: %v %v", r, err)
	}
	if d.Level.String() != "warn" {
		t.Fatalf("level %s", d.Level)
	}

	sigs <- syscall.SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	select {
	case <-drained:
	default:
		t.Fatal("Drain not called")
	}
	if !strings.Contains(log.String(), "configuration reload refused") {
		t.Fatalf("log:\n%s", log.String())
	}
}

func TestRunMainError(t *testing.T) {
	d, err := New(Options{Name: "aspd", Instance: "a1", Signals: make(chan os.Signal), LogOutput: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("bind: address in use")
	drainCalled := false
	err = d.Run(context.Background(), Hooks{
		Main:  func(context.Context) error { return boom },
		Drain: func(context.Context) error { drainCalled = true; return nil },
	})
	if !errors.Is(err, boom) || drainCalled {
		t.Fatalf("Run = %v, drain called %v", err, drainCalled)
	}
}

func TestRunContextEnds(t *testing.T) {
	d, err := New(Options{Name: "registrar", Instance: "r1", Signals: make(chan os.Signal), LogOutput: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stopped := false
	if err := d.Run(ctx, Hooks{Main: func(ctx context.Context) error { <-ctx.Done(); stopped = true; return nil }}); err != nil || !stopped {
		t.Fatalf("Run = %v, main stopped %v", err, stopped)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, o := range []Options{
		{},
		{Name: "sgw", LogLevel: "loud"},
		{Name: "sgw", LogFormat: "xml"},
		{Name: "sgw", Instance: "a,b=c"},
		{Name: "sgw", MgmtAddr: "256.0.0.1:1"},
	} {
		o.LogOutput = &bytes.Buffer{}
		if d, err := New(o); err == nil {
			d.Close()
			t.Errorf("%+v accepted", o)
		}
	}
}

// syncWriter serialises writes (zap may write from several goroutines).
type syncWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func statusOf(t *testing.T, url string) int {
	r, err := http.Get(url)
	if err != nil {
		return 0
	}
	r.Body.Close()
	return r.StatusCode
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProgramMetricsWin(t *testing.T) {
	d, err := New(Options{Name: "sgw", Instance: "m1", Signals: make(chan os.Signal), LogOutput: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	// The program's own family with a name metrics.Set also defines.
	own := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sigpool_gateway_msus_total", Help: "the program's own"}, []string{"direction"})
	if err := d.Registry.Register(own); err != nil {
		t.Fatalf("the program cannot register its own family: %v", err)
	}
	own.WithLabelValues("network_in").Add(3)
	d.Metrics.SCTPEvents.WithLabelValues("stp1", "comm-up").Inc()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Run(ctx, Hooks{}); err != nil {
		t.Fatal(err)
	}
	mfs, err := d.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf.GetHelp()
	}
	if got["sigpool_gateway_msus_total"] != "the program's own" {
		t.Fatalf("msus family: %q", got["sigpool_gateway_msus_total"])
	}
	for _, n := range []string{"sigpool_sctp_events_total", "sigpool_alarm_active", "go_goroutines"} {
		if _, ok := got[n]; !ok {
			t.Errorf("%s not registered", n)
		}
	}
}

type noElements struct{}

func (noElements) Elements([]byte) []rserpool.PoolElement { return nil }
