package mgmt

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/alarms/metrics"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

type fakeClock struct{ *sctptest.FakeClock }

func (c fakeClock) AfterFunc(d time.Duration, f func()) alarms.Timer {
	return c.FakeClock.AfterFunc(d, f)
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type fakePools []Pool

func (p fakePools) Pools(context.Context) ([]Pool, error) { return p, nil }

type fakeASPs struct{}

func (fakeASPs) ASPs(context.Context) ([]ASP, error) {
	return []ASP{{ID: "asp1", Association: "asp1", State: "ASP-ACTIVE", Servers: []string{"hlr"}}}, nil
}
func (fakeASPs) ApplicationServers(context.Context) ([]AS, error) {
	return nil, errors.New("m3ua layer stopped")
}

type fixture struct {
	srv   *Server
	ts    *httptest.Server
	m     *alarms.Manager
	clk   fakeClock
	level zap.AtomicLevel
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := fakeClock{sctptest.NewFakeClock(t0)}
	m, err := alarms.NewManager(alarms.Config{Clock: clk, SystemID: "sg1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewAlarmCollector(m, nil))
	level := zap.NewAtomicLevel()
	a, _ := sctptest.Pair()
	t.Cleanup(func() { a.Abort() })
	assocs := metrics.NewAssociations()
	assocs.Add("stp1", a)
	srv := New(Config{
		System: "sgw=sg1", Alarms: m, Gatherer: reg, Level: &level,
		Pools: fakePools{{Handle: "hlr", Policy: "least-used", MinElements: 2, Elements: []Element{
			{ID: "0x1", Address: "10.0.1.5+10.0.2.5:2905", State: "registered", Load: 1200},
		}}},
		Associations: AssociationsOf(assocs),
		ASPs:         fakeASPs{},
	})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &fixture{srv: srv, ts: ts, m: m, clk: clk, level: level}
}

func (f *fixture) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthAndReadiness(t *testing.T) {
	f := newFixture(t)
	if code, body := f.do(t, "GET", "/livez", ""); code != 200 || body != "ok\n" {
		t.Fatal(code, body)
	}
	if code, body := f.do(t, "GET", "/readyz", ""); code != 503 || !strings.Contains(body, "no readiness check") {
		t.Fatal(code, body)
	}
	var carrying error = errors.New("no AS active")
	f.srv.AddReadyCheck("traffic", func(context.Context) error { return carrying })
	if code, body := f.do(t, "GET", "/readyz", ""); code != 503 || body != "traffic: no AS active\n" {
		t.Fatal(code, body)
	}
	carrying = nil
	if code, body := f.do(t, "GET", "/readyz", ""); code != 200 || body != "traffic: ok\n" {
		t.Fatal(code, body)
	}
	if code, body := f.do(t, "GET", "/debug/pprof/", ""); code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatal(code)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	f := newFixture(t)
	f.m.Raise(alarms.Report{Def: alarms.ASDown, Object: "sgw=sg1,as=hlr"})
	code, body := f.do(t, "GET", "/metrics", "")
	if code != 200 || !strings.Contains(body, `sigpool_alarm_active{alarm="as-down",severity="critical",shelved="false"} 1`) {
		t.Fatal(code, body)
	}
}

func TestAlarmAPI(t *testing.T) {
	f := newFixture(t)
	f.m.Raise(alarms.Report{Def: alarms.ASDown, Object: "sgw=sg1,as=hlr", AdditionalText: "no ASP active"})
	f.m.Raise(alarms.Report{Def: alarms.PathDown, Object: "sgw=sg1,assoc=stp1,path=10.0.2.2"})
	f.m.Raise(alarms.Report{Def: alarms.TakeoverPerformed, Object: "registrar=pr1,peer=pr2"})

	code, body := f.do(t, "GET", "/api/fm/v1/alarms?perceivedSeverity=critical,minor", "")
	var list map[string]alarms.Alarm
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil {
		t.Fatal(code, body, err)
	}
	if len(list) != 2 || list["1"].Name != "as-down" || list["1"].Severity != alarms.Critical || list["2"].Name != "path-down" {
		t.Fatalf("%s", body)
	}
	if !strings.Contains(body, `"perceivedSeverity": "CRITICAL"`) || !strings.Contains(body, `"alarmRaisedTime": "2025-03-01T12:00:00Z"`) ||
		!strings.Contains(body, `"ackState": "UNACKNOWLEDGED"`) || !strings.Contains(body, `"objectInstance": "sgw=sg1,as=hlr"`) {
		t.Fatalf("not the 28.532 field names: %s", body)
	}
	if _, body := f.do(t, "GET", "/api/fm/v1/alarms?baseObjectInstance=sgw=sg1,assoc=stp1", ""); !strings.Contains(body, `"2"`) || strings.Contains(body, `"1"`) {
		t.Fatalf("object filter: %s", body)
	}
	if code, _ := f.do(t, "GET", "/api/fm/v1/alarms?perceivedSeverity=awful", ""); code != 400 {
		t.Fatal(code)
	}
	_, body = f.do(t, "GET", "/api/fm/v1/alarms/count", "")
	var cnt AlarmCount
	json.Unmarshal([]byte(body), &cnt)
	if cnt != (AlarmCount{Critical: 1, Minor: 1, Warning: 1}) {
		t.Fatalf("%+v", cnt)
	}

	code, body = f.do(t, "PATCH", "/api/fm/v1/alarms/1", `{"ackState":"ACKNOWLEDGED","ackUserId":"alice","ackSystemId":"noc"}`)
	if code != 200 || !strings.Contains(body, `"ackUserId": "alice"`) {
		t.Fatal(code, body)
	}
	if _, body := f.do(t, "GET", "/api/fm/v1/alarms?alarmAckState=UNACKNOWLEDGED", ""); strings.Contains(body, `"1"`) {
		t.Fatalf("ack filter: %s", body)
	}
	if code, body := f.do(t, "PATCH", "/api/fm/v1/alarms/1", `{"perceivedSeverity":"CLEARED","clearUserId":"alice"}`); code != 409 || !strings.Contains(body, "still present") {
		t.Fatal(code, body)
	}
	if code, body := f.do(t, "PATCH", "/api/fm/v1/alarms/3", `{"perceivedSeverity":"CLEARED","clearUserId":"alice"}`); code != 200 || !strings.Contains(body, `"clearUserId": "alice"`) {
		t.Fatal(code, body)
	}
	if code, _ := f.do(t, "PATCH", "/api/fm/v1/alarms/3", `{"bogus":1}`); code != 400 {
		t.Fatal(code)
	}
	if code, _ := f.do(t, "PATCH", "/api/fm/v1/alarms/42", `{"ackState":"ACKNOWLEDGED","ackUserId":"a"}`); code != 404 {
		t.Fatal(code)
	}
	code, body = f.do(t, "POST", "/api/fm/v1/alarms/2/comments", `{"commentUserId":"bob","commentText":"fibre cut, ticket 7"}`)
	if code != 201 || !strings.Contains(body, `"commentText": "fibre cut, ticket 7"`) {
		t.Fatal(code, body)
	}
	if code, body := f.do(t, "GET", "/api/fm/v1/alarms?cleared=true", ""); code != 200 || !strings.Contains(body, `"alarmClearedTime"`) {
		t.Fatal(code, body)
	}
	if code, body := f.do(t, "GET", "/api/fm/v1/alarms/2", ""); code != 200 || !strings.Contains(body, "fibre cut") {
		t.Fatal(code, body)
	}
	// Shelving.
	code, body = f.do(t, "POST", "/api/fm/v1/shelves", `{"objectInstance":"sgw=sg1,assoc=stp1","userId":"bob","duration":"2h","reason":"fibre repair"}`)
	if code != 201 || !strings.Contains(body, `"until": "2025-03-01T14:00:00Z"`) {
		t.Fatal(code, body)
	}
	if _, body := f.do(t, "GET", "/api/fm/v1/alarms", ""); strings.Contains(body, `"2"`) {
		t.Fatalf("shelved alarm listed: %s", body)
	}
	if code, _ := f.do(t, "DELETE", "/api/fm/v1/shelves/1", ""); code != 204 {
		t.Fatal(code)
	}
	if code, body := f.do(t, "GET", "/api/fm/v1/shelves", ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatal(code, body)
	}
	// Status.
	_, body = f.do(t, "GET", "/api/v1/status", "")
	var st Status
	json.Unmarshal([]byte(body), &st)
	if st.System != "sgw=sg1" || st.Ready || st.Alarms.Critical != 1 || len(st.Active) != 2 {
		t.Fatalf("%+v", st)
	}
}

func TestNotificationStream(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a guard, not an assertion
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.ts.URL+"/api/fm/v1/notifications", nil)
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatal(resp.Header)
	}
	rd := bufio.NewReader(resp.Body)
	if l, _ := rd.ReadString('\n'); l != ": subscribed\n" {
		t.Fatalf("%q", l)
	}
	rd.ReadString('\n')
	f.m.Raise(alarms.Report{Def: alarms.AssociationDown, Object: "sgw=sg1,assoc=stp1"})
	f.m.Acknowledge("1", "alice", "")
	for _, want := range []string{"notifyNewAlarm", "notifyAckStateChanged"} {
		var ev, data string
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			l = strings.TrimSuffix(l, "\n")
			if l == "" {
				break
			}
			if v, ok := strings.CutPrefix(l, "event: "); ok {
				ev = v
			}
			if v, ok := strings.CutPrefix(l, "data: "); ok {
				data = v
			}
		}
		var n alarms.Notification
		if err := json.Unmarshal([]byte(data), &n); err != nil || ev != want || string(n.Type) != want || n.Alarm.Object != "sgw=sg1,assoc=stp1" {
			t.Fatalf("event %q data %s: %v", ev, data, err)
		}
	}
}

func TestLogLevel(t *testing.T) {
	f := newFixture(t)
	if code, body := f.do(t, "GET", "/api/v1/log/level", ""); code != 200 || !strings.Contains(body, `"level":"info"`) {
		t.Fatal(code, body)
	}
	if code, _ := f.do(t, "PUT", "/api/v1/log/level", `{"level":"debug"}`); code != 200 {
		t.Fatal(code)
	}
	if f.level.Level() != zap.DebugLevel {
		t.Fatal(f.level.Level())
	}
}

func TestProviders(t *testing.T) {
	f := newFixture(t)
	if code, body := f.do(t, "GET", "/api/v1/pools", ""); code != 200 || !strings.Contains(body, `"minElements": 2`) {
		t.Fatal(code, body)
	}
	if code, body := f.do(t, "GET", "/api/v1/pools/hlr/elements", ""); code != 200 || !strings.Contains(body, `"load": 1200`) {
		t.Fatal(code, body)
	}
	if code, _ := f.do(t, "GET", "/api/v1/pools/vlr/elements", ""); code != 404 {
		t.Fatal(code)
	}
	code, body := f.do(t, "GET", "/api/v1/associations", "")
	var as []Association
	if err := json.Unmarshal([]byte(body), &as); code != 200 || err != nil || len(as) != 1 || as[0].Name != "stp1" ||
		as[0].State != "established" || len(as[0].Paths) != 2 || as[0].Paths[0].State != "active" || as[0].Paths[0].RTOSeconds == 0 {
		t.Fatal(code, body, err)
	}
	if code, body := f.do(t, "GET", "/api/v1/asps", ""); code != 200 || !strings.Contains(body, "ASP-ACTIVE") {
		t.Fatal(code, body)
	}
	if code, body := f.do(t, "GET", "/api/v1/ases", ""); code != 500 || !strings.Contains(body, "m3ua layer stopped") {
		t.Fatal(code, body)
	}
	bare := httptest.NewServer(New(Config{Alarms: f.m}).Handler())
	defer bare.Close()
	resp, _ := bare.Client().Get(bare.URL + "/api/v1/pools")
	if resp.StatusCode != 404 {
		t.Fatal(resp.StatusCode)
	}
	resp.Body.Close()
}

func TestServeOnUnixSocketAndTCP(t *testing.T) {
	f := newFixture(t)
	sock := filepath.Join(t.TempDir(), "mgmt.sock")
	ls, err := Listen("127.0.0.1:0", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ls...) }()
	unix := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	for _, c := range []struct {
		client *http.Client
		url    string
	}{{unix, "http://sgw/livez"}, {http.DefaultClient, "http://" + ls[0].Addr().String() + "/livez"}} {
		resp, err := c.client.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatal(resp.StatusCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A stale socket from a previous run is replaced.
	ls, err = Listen("", sock)
	if err != nil {
		t.Fatal(err)
	}
	closeAll(ls)
}

func TestNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	if err := Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	if string(buf[:n]) != "READY=1" {
		t.Fatalf("%q", buf[:n])
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
}
