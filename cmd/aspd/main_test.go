package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/asp"
	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/internal/config"
	"github.com/sigpool/sigpool/internal/daemon"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

const waitLimit = 20 * time.Second

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestExampleConfigs(t *testing.T) {
	for _, p := range []string{"testdata/aspd.yaml", "../../examples/aspd-hlr.yaml"} {
		var f File
		if err := config.Load(p, &f, nil); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		c := f.serverConfig()
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: server config: %v", p, err)
		}
		// The examples/ file is the gateway engineer's; only what the two
		// sides must agree on is checked there.
		if len(c.Gateways) != 2 || len(c.Registrars) != 2 || len(c.Local.IPs) != 2 || string(c.PoolHandle) != "hlr.sigpool" ||
			!c.HasRC || c.RC != 200 || c.Policy != rserpool.LeastUsed || c.Capacity <= 0 {
			t.Fatalf("%s: %+v", p, c)
		}
	}
}

func TestConfigErrorsNameLineAndField(t *testing.T) {
	doc := `local: 10.1.0.11
gateways: [10.1.0.1:2906]
registrars: [10.1.0.1:3863]
pool: hlr
policy: lest_used
service:
  time: 2s
  steps: 1
dialogue_timeout: 1s
`
	var f File
	err := config.Parse("aspd.yaml", []byte(doc), &f, nil)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`aspd.yaml:5: policy: unknown policy "lest_used"`, "aspd.yaml:7: service.time: 2s is not shorter than dialogue_timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// Unknown keys are refused.
	if err := config.Parse("aspd.yaml", []byte("local: 10.1.0.11\nsteps: 3\n"), &f, nil); err == nil ||
		!strings.Contains(err.Error(), "aspd.yaml:2") {
		t.Errorf("unknown key: %v", err)
	}
	if a, err := localAddr("10.1.0.11+10.2.0.11"); err != nil || len(a.IPs) != 2 || a.Port != 0 {
		t.Errorf("local without port: %v %v", a, err)
	}
	if a, err := localAddr("10.1.0.11:4000"); err != nil || a.Port != 4000 {
		t.Errorf("local with port: %v %v", a, err)
	}
}

func TestFlagsOverrideTheFile(t *testing.T) {
	var out bytes.Buffer
	cmd := command(nil)
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"--config", "testdata/aspd.yaml", "--check", "--steps", "-2"})
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "--steps") || !strings.Contains(err.Error(), "service.steps") {
		t.Fatalf("bad --steps: %v", err)
	}
	cmd = command(nil)
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--config", "testdata/aspd.yaml", "--check", "--steps", "5", "--gateway", "10.9.0.1:2906"})
	if err := cmd.Execute(); err != nil || !strings.Contains(out.String(), "configuration OK") {
		t.Fatalf("check: %v %q", err, out.String())
	}
}

func TestRestartOnly(t *testing.T) {
	var a File
	if err := config.Load("testdata/aspd.yaml", &a, nil); err != nil {
		t.Fatal(err)
	}
	b := a
	b.LogLevel, b.Service, b.Drain = "debug", Service{Steps: 9}, time.Second
	if d := restartOnly(a, b); len(d) != 0 {
		t.Fatalf("reloadable change refused: %v", d)
	}
	rc := uint32(201)
	b.RC = &rc
	if d := restartOnly(a, b); len(d) == 0 {
		t.Fatal("a new rc accepted on reload")
	}
	rc = 200 // same value through another pointer
	if d := restartOnly(a, b); len(d) != 0 {
		t.Fatalf("equal rc refused: %v", d)
	}
}

func TestState(t *testing.T) {
	for _, p := range []progress{{0, 0}, {1, 2}, {7, 7}, {65536, 65536}} {
		got, err := decodeState(encodeState(p))
		if err != nil || got != p {
			t.Fatalf("%+v: %+v %v", p, got, err)
		}
	}
	if b := encodeState(progress{1, 2}); !bytes.Equal(b, []byte{1, 0, 0, 0, 1, 0, 0, 0, 2}) {
		t.Fatalf("state % x", b)
	}
	for _, b := range [][]byte{nil, {1, 0, 0, 0, 1}, {2, 0, 0, 0, 1, 0, 0, 0, 1}, {1, 0, 0, 0, 1, 0, 0, 0, 1, 0}, {1, 0xff, 0, 0, 0, 0, 0, 0, 1}} {
		if _, err := decodeState(b); err == nil {
			t.Errorf("% x accepted", b)
		}
	}
}

func FuzzDecodeState(f *testing.F) {
	f.Add(encodeState(progress{1, 3}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := decodeState(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeState(n), b) {
			t.Fatalf("% x decodes to %d, which encodes differently", b, n)
		}
	})
}

// gateway is a stand-in gateway: an M3UA SGP recording DATA and cookies,
// and a registrar.
type gateway struct {
	srv     *m3ua.Server
	reg     *enrp.Driver
	data    chan m3ua.UserData
	cookies chan []byte
	mu      sync.Mutex
	active  map[m3ua.AssocID]uint32 // ASP-ACTIVE associations → ASP Identifier
	streams map[m3ua.AssocID]uint16
}

func newGateway(t *testing.T, net *sctptest.Network) *gateway {
	return newGatewayOn(t, net, addr("10.0.0.1:2906"), addr("10.0.0.1:3863"))
}

// newGatewayOn is a stand-in gateway with its M3UA SGP and its registrar
// (tags on, as in the gateway) on the given addresses.
func newGatewayOn(t *testing.T, tr sctp.Transport, m3uaAddr, asapAddr sctp.Addr) *gateway {
	g := &gateway{data: make(chan m3ua.UserData, 64), cookies: make(chan []byte, 64),
		active: map[m3ua.AssocID]uint32{}, streams: map[m3ua.AssocID]uint16{}}
	reg, err := enrp.NewDriver(enrp.DriverConfig{Transport: tr, ASAPAddr: asapAddr}, enrp.Config{ServerID: 1, TagBits: 16})
	if err != nil {
		t.Fatal(err)
	}
	reg.Start()
	g.reg = reg
	t.Cleanup(func() { reg.Close(true) })
	g.srv = m3ua.NewServer(m3ua.ServerConfig{
		SGP: m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 200, Mode: m3ua.Loadshare}}},
		Handlers: m3ua.Handlers{
			Data: func(_ m3ua.AssocID, u m3ua.UserData) { u.Payload = slices.Clone(u.Payload); g.data <- u },
			Other: func(_ m3ua.AssocID, _ sctp.Association, m sctp.Message) {
				msg, _, err := rserpool.DecodeMessage(m.Data)
				if c, ok := msg.(*rserpool.Cookie); err == nil && ok {
					g.cookies <- slices.Clone(c.Cookie)
				}
			},
			Event: func(e m3ua.Event) {
				g.mu.Lock()
				defer g.mu.Unlock()
				switch e := e.(type) {
				case m3ua.AssocEstablished:
					g.streams[e.Assoc] = e.OutStreams
				case m3ua.ASPStateChanged:
					if e.To == m3ua.ASPActive {
						g.active[e.Assoc] = e.ASPID
					} else {
						delete(g.active, e.Assoc)
					}
				}
			},
		},
	})
	ln, err := tr.Listen(m3uaAddr)
	if err != nil {
		t.Fatal(err)
	}
	go g.srv.Serve(ln)
	t.Cleanup(func() { g.srv.Close() })
	return g
}

func (g *gateway) assoc() (m3ua.AssocID, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for a := range g.active {
		return a, true
	}
	return 0, false
}

// assocOf returns the ASP-ACTIVE association of ASP Identifier id.
func (g *gateway) assocOf(id uint32) (m3ua.AssocID, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for a, aspid := range g.active {
		if aspid == id {
			return a, true
		}
	}
	return 0, false
}

// echo sends an ASAP Cookie Echo for tid with state on association a, on
// the stream of the DATA that follows (SLS 1, as send uses).
func (g *gateway) echo(t *testing.T, a m3ua.AssocID, tid uint32, state []byte) {
	t.Helper()
	b, err := (&rserpool.CookieEcho{Cookie: append(binary.BigEndian.AppendUint32(nil, tid), state...)}).AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	n := g.streams[a]
	g.mu.Unlock()
	if err := g.srv.SendOther(a, sctp.Message{Stream: m3ua.DataStream(1, n), PPID: rserpool.PPID, Data: b}); err != nil {
		t.Fatal(err)
	}
}

func addr(s string) sctp.Addr {
	a, err := sctp.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

var (
	called  = sccp.Address{RouteOnSSN: true, HasPC: true, PC: 200, HasSSN: true, SSN: 6}
	calling = sccp.Address{RouteOnSSN: true, HasPC: true, PC: 100, HasSSN: true, SSN: 7}
)

func (g *gateway) send(t *testing.T, a m3ua.AssocID, m tcap.Message) {
	t.Helper()
	tb, err := m.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := sccp.Message{Type: sccp.UDT, Called: called, Calling: calling, Data: tb}
	b, err := s.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.srv.SendDataTo(a, m3ua.UserData{RC: 200, HasRC: true, OPC: 100, DPC: 200, SI: 3, SLS: 1, Payload: b}); err != nil {
		t.Fatal(err)
	}
}

func (g *gateway) next(t *testing.T) tcap.Message {
	t.Helper()
	select {
	case u := <-g.data:
		var s sccp.Message
		var m tcap.Message
		if err := sccp.Decode(u.Payload, &s); err != nil {
			t.Fatal(err)
		}
		if err := tcap.Decode(s.Data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	case <-time.After(waitLimit):
		t.Fatal("no answer from aspd")
	}
	panic("unreachable")
}

func invokeComps(id int8) []byte {
	b, _ := tcap.AppendComponents(nil, tcap.Component{Type: tcap.Invoke, InvokeID: id, HasOpCode: true, OpCode: 2})
	return b
}

// expectStep checks an answer: kind, DTID the network's id, and the
// ReturnResultLast for invoke id.
func expectStep(t *testing.T, m tcap.Message, kind tcap.Kind, dtid uint32, invoke int8) {
	t.Helper()
	if m.Kind != kind || m.DTID.Uint32() != dtid {
		t.Fatalf("got %v to %#x, want %v to %#x", m.Kind, m.DTID.Uint32(), kind, dtid)
	}
	c, _, err := tcap.NextComponent(m.Components)
	if err != nil || c.Type != tcap.ReturnResultLast || c.InvokeID != invoke {
		t.Fatalf("component %+v %v, want ReturnResultLast for invoke %d", c, err, invoke)
	}
}

// aspd runs over an in-memory network against a stand-in gateway: it
// becomes ready, plays the script with checkpoints, resumes a handed-over
// dialogue from its checkpoint, reloads the script on SIGHUP (and refuses
// a change that needs a restart), and drains on SIGTERM, exiting cleanly.
func TestAspdRun(t *testing.T) {
	net := sctptest.NewNetwork()
	g := newGateway(t, net)
	dir := t.TempDir()
	file := filepath.Join(dir, "aspd.yaml")
	write := func(steps int, pool string, follow bool) {
		doc := "local: 10.0.0.11\ngateways: [10.0.0.1:2906, 10.0.0.2:2906]\nregistrars: [10.0.0.1:3863]\npool: " + pool +
			"\nrc: 200\ncapacity: 100\nmgmt: 127.0.0.1:0\nlog_level: warn\nservice:\n  time: 20ms\n  steps: " +
			string(rune('0'+steps)) + "\n"
		if follow {
			doc += "  follow_network: true\n"
		}
		if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(2, "hlr.sigpool", false)

	sigs := make(chan os.Signal, 2)
	started := make(chan struct{})
	var srv *asp.Server
	var dmn *daemon.Daemon
	e := &env{transport: net, signals: sigs, started: func(s *asp.Server, d *daemon.Daemon) {
		srv, dmn = s, d
		close(started)
	}}
	cmd := command(e)
	cmd.SetArgs([]string{"--config", file, "--log-format", "console"})
	cmd.SetErr(io.Discard)
	done := make(chan error, 1)
	go func() { done <- cmd.Execute() }()
	select {
	case <-started:
	case <-time.After(waitLimit):
		t.Fatal("aspd did not start")
	}
	url := "http://" + dmn.Addrs()[0].String()
	status := func(path string) int {
		r, err := http.Get(url + path)
		if err != nil {
			return 0
		}
		r.Body.Close()
		return r.StatusCode
	}
	waitFor(t, "readyz 200", func() bool { return status("/readyz") == 200 })
	a, ok := g.assoc()
	if !ok {
		t.Fatal("no active association at the gateway")
	}
	// The second gateway does not answer: its association is alarmed,
	// the first one is not.
	waitFor(t, "association-down for gw2", func() bool {
		return len(dmn.Alarms.Alarms(alarms.Filter{Name: "association-down", Object: dmn.Self + ",assoc=gw2"})) == 1
	})
	if n := len(dmn.Alarms.Alarms(alarms.Filter{Name: "association-down", Object: dmn.Self + ",assoc=gw1"})); n != 0 {
		t.Fatalf("%d association-down alarms for the gateway that is up", n)
	}

	// The script with steps 2: Begin → Continue, Continue → Continue,
	// Continue → End; a checkpoint before each Continue.
	g.send(t, a, tcap.Message{Kind: tcap.Begin, OTID: tcap.TID32(0x100), HasOTID: true, Components: invokeComps(1)})
	m := g.next(t)
	expectStep(t, m, tcap.Continue, 0x100, 1)
	tid := m.OTID.Uint32()
	if asp.TagOf(tid) != asp.Tag(srv.PEID()) {
		t.Fatalf("OTID %#x without the tag of %#x", tid, srv.PEID())
	}
	checkCookie(t, g, tid, 1)
	g.send(t, a, tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(0x100), HasOTID: true, DTID: tcap.TID32(tid), HasDTID: true, Components: invokeComps(2)})
	expectStep(t, g.next(t), tcap.Continue, 0x100, 2)
	checkCookie(t, g, tid, 2)
	g.send(t, a, tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(0x100), HasOTID: true, DTID: tcap.TID32(tid), HasDTID: true, Components: invokeComps(3)})
	expectStep(t, g.next(t), tcap.End, 0x100, 3)
	checkCookie(t, g, tid, -1)

	// A dialogue of another server, checkpointed after its first
	// Continue, goes on here from step 2.
	foreign := uint32(asp.Tag(srv.PEID())^0xffff)<<16 | 7
	g.echo(t, a, foreign, encodeState(progress{1, 2}))
	g.send(t, a, tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(0x200), HasOTID: true, DTID: tcap.TID32(foreign), HasDTID: true, Components: invokeComps(4)})
	m = g.next(t)
	expectStep(t, m, tcap.Continue, 0x200, 4)
	if m.OTID.Uint32() != foreign {
		t.Fatalf("resumed dialogue answers from %#x, want its old id %#x", m.OTID.Uint32(), foreign)
	}
	checkCookie(t, g, foreign, 2)
	g.send(t, a, tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(0x200), HasOTID: true, DTID: tcap.TID32(foreign), HasDTID: true})
	if m = g.next(t); m.Kind != tcap.End || m.DTID.Uint32() != 0x200 || m.Components != nil {
		t.Fatalf("got %+v, want End to 0x200 without components", m)
	}
	checkCookie(t, g, foreign, -1)

	// Metrics (the counters move just after the messages leave: poll).
	var missing []string
	deadline := time.Now().Add(waitLimit)
	for {
		r, err := http.Get(url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		missing = missing[:0]
		for _, want := range []string{
			`sigpool_aspd_dialogues_completed_total 2`, `sigpool_aspd_dialogues_resumed_total 1`,
			`sigpool_aspd_tcap_received_total{kind="begin"} 1`, `sigpool_aspd_tcap_received_total{kind="continue"} 4`,
			`sigpool_aspd_cookie_echoes_total{result="adopted"} 1`, `sigpool_aspd_registered 1`, `sigpool_aspd_gateways_active 1`,
			`sigpool_aspd_dialogues_active 0`, `sigpool_aspd_cookies_total{result="failed"}`,
			// One gateway: every answer goes back through the association
			// its request came in on.
			`sigpool_aspd_tcap_sent_route_total{via="other"} 0`, `sigpool_aspd_tcap_sent_route_total{via="ingress"} `,
			`sigpool_aspd_data_unsent_total{result="lost"} 0`,
		} {
			if !strings.Contains(string(body), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %q", missing)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// SIGHUP: steps 0 now; a Begin is ended at once.
	write(0, "hlr.sigpool", true)
	sigs <- syscall.SIGHUP
	waitFor(t, "reload", func() bool {
		g.send(t, a, tcap.Message{Kind: tcap.Begin, OTID: tcap.TID32(0x300), HasOTID: true, Components: invokeComps(5)})
		m := g.next(t)
		if m.Kind == tcap.Continue { // still the old script: abort it
			checkCookie(t, g, m.OTID.Uint32(), 1)
			g.send(t, a, tcap.Message{Kind: tcap.Abort, DTID: m.OTID, HasDTID: true, PAbortCause: 4, HasPAbortCause: true})
			checkCookie(t, g, m.OTID.Uint32(), -1)
			return false
		}
		expectStep(t, m, tcap.End, 0x300, 5)
		if v := <-g.cookies; len(v) != 4 {
			t.Fatalf("cookie % x, want the empty state of the ended dialogue", v)
		}
		return true
	})
	// follow_network: sigload's Invoke in the Begin asks for one step.
	sigload, _ := tcap.AppendComponents(nil, tcap.Component{Type: tcap.Invoke, InvokeID: 9, HasOpCode: true, OpCode: sigloadOp,
		Param: []byte{0x04, 2, 1, 0}})
	g.send(t, a, tcap.Message{Kind: tcap.Begin, OTID: tcap.TID32(0x350), HasOTID: true, Components: sigload})
	m = g.next(t)
	expectStep(t, m, tcap.Continue, 0x350, 9)
	checkCookie(t, g, m.OTID.Uint32(), 1)
	g.send(t, a, tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(0x350), HasOTID: true, DTID: m.OTID, HasDTID: true, Components: invokeComps(10)})
	expectStep(t, g.next(t), tcap.End, 0x350, 10)
	checkCookie(t, g, m.OTID.Uint32(), -1)

	// A new pool needs a restart: refused, alarm raised, script kept.
	write(1, "other.pool", false)
	sigs <- syscall.SIGHUP
	waitFor(t, "reload refused", func() bool {
		return len(dmn.Alarms.Alarms(alarms.Filter{Name: "config-reload-refused"})) == 1
	})
	g.send(t, a, tcap.Message{Kind: tcap.Begin, OTID: tcap.TID32(0x400), HasOTID: true, Components: invokeComps(6)})
	expectStep(t, g.next(t), tcap.End, 0x400, 6)
	if v := <-g.cookies; len(v) != 4 {
		t.Fatalf("cookie % x, want the empty state of the ended dialogue", v)
	}

	// A service time of 300 ms and one step: a Begin's answer is owed for
	// that long (the reload applies once a Begin is answered with a
	// Continue).
	slow := "local: 10.0.0.11\ngateways: [10.0.0.1:2906, 10.0.0.2:2906]\nregistrars: [10.0.0.1:3863]\npool: hlr.sigpool" +
		"\nrc: 200\ncapacity: 100\nmgmt: 127.0.0.1:0\nlog_level: warn\ndrain: 10s\nservice:\n  time: 300ms\n  steps: 1\n"
	if err := os.WriteFile(file, []byte(slow), 0o644); err != nil {
		t.Fatal(err)
	}
	sigs <- syscall.SIGHUP
	waitFor(t, "reload with a service time", func() bool {
		g.send(t, a, tcap.Message{Kind: tcap.Begin, OTID: tcap.TID32(0x450), HasOTID: true, Components: invokeComps(7)})
		m := g.next(t)
		if m.Kind == tcap.Continue {
			checkCookie(t, g, m.OTID.Uint32(), 1)
			g.send(t, a, tcap.Message{Kind: tcap.Abort, DTID: m.OTID, HasDTID: true, PAbortCause: 4, HasPAbortCause: true})
			checkCookie(t, g, m.OTID.Uint32(), -1)
			return true
		}
		<-g.cookies // the empty state of the dialogue the old script ended
		return false
	})

	// SIGTERM with an answer owed: the drain waits for it, it goes out
	// (through the only gateway, where the Begin came in), then aspd
	// deregisters, leaves ASP-ACTIVE and exits without error.
	g.send(t, a, tcap.Message{Kind: tcap.Begin, OTID: tcap.TID32(0x500), HasOTID: true, Components: invokeComps(8)})
	waitFor(t, "an answer owed", func() bool { return srv.Owed() == 1 })
	peid := srv.PEID()
	sigs <- syscall.SIGTERM
	m = g.next(t)
	expectStep(t, m, tcap.Continue, 0x500, 8)
	checkCookie(t, g, m.OTID.Uint32(), 1)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("aspd exited with %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("aspd did not stop")
	}
	if c := srv.Counters(); c.SentOther != 0 || c.SendFailed != 0 || c.SentIngress != c.Sent {
		t.Fatalf("counters %+v: every answer should have gone through the gateway its request came in on", c)
	}
	if g.srv.ASPState(a) == m3ua.ASPActive {
		t.Fatal("ASP still active after SIGTERM")
	}
	g.reg.Do(func(r *enrp.Registrar) {
		if r.Handlespace().Find([]byte("hlr.sigpool"), peid) != nil {
			t.Error("element still registered after SIGTERM")
		}
	})
}

// checkCookie waits for a cookie for tid with step (-1: the empty state of
// a dialogue's end).
func checkCookie(t *testing.T, g *gateway, tid uint32, step int) {
	t.Helper()
	select {
	case v := <-g.cookies:
		got, state, err := asp.CookieValue(v)
		if err != nil || got != tid {
			t.Fatalf("cookie % x, want one for %#x", v, tid)
		}
		if step < 0 {
			if len(state) != 0 {
				t.Fatalf("cookie state % x, want empty", state)
			}
			return
		}
		if p, err := decodeState(state); err != nil || p.sent != step {
			t.Fatalf("cookie state % x (%+v, %v), want step %d", state, p, err, step)
		}
	case <-time.After(waitLimit):
		t.Fatalf("no cookie for %#x", tid)
	}
}
