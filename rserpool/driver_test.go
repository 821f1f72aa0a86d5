package rserpool

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

// waitLimit bounds every wait of the driver tests: a hang guard, never a
// timing assertion. The lab tests raise it (software-emulated VM).
var waitLimit = 20 * time.Second

// eventLog collects a driver's events.
type eventLog struct {
	name string
	ch   chan Event
	mu   sync.Mutex
	seen []string
}

func newEventLog(name string) *eventLog {
	return &eventLog{name: name, ch: make(chan Event, 1024)}
}

func (l *eventLog) on(ev Event) {
	select {
	case l.ch <- ev:
	default:
		panic(l.name + ": event log full")
	}
}

// waitEvent waits for the first event of type T for which ok holds,
// skipping others.
func waitEvent[T Event](t testing.TB, l *eventLog, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case ev := <-l.ch:
			l.mu.Lock()
			l.seen = append(l.seen, describeEvent(ev))
			l.mu.Unlock()
			if e, is := ev.(T); is && (ok == nil || ok(e)) {
				return e
			}
		case <-deadline:
			var zero T
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("%s: no %T within %v; events seen: %v", l.name, zero, waitLimit, l.seen)
			return zero
		}
	}
}

// recorder is a SessionHandler standing in for M3UA: it records the
// messages of other PPIDs and the end of the association.
type recorder struct {
	mu     sync.Mutex
	data   []sctp.Message
	got    chan struct{}
	closed chan error
}

func newRecorder() *recorder {
	return &recorder{got: make(chan struct{}, 1024), closed: make(chan error, 1)}
}

func (r *recorder) Data(m sctp.Message) {
	m.Data = append([]byte(nil), m.Data...)
	r.mu.Lock()
	r.data = append(r.data, m)
	r.mu.Unlock()
	r.got <- struct{}{}
}
func (r *recorder) Event(sctp.Event) {}
func (r *recorder) Closed(err error) { r.closed <- err }

// waitData waits until n messages arrived and returns them.
func (r *recorder) waitData(t testing.TB, n int) []sctp.Message {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		r.mu.Lock()
		if len(r.data) >= n {
			d := slices.Clone(r.data)
			r.mu.Unlock()
			return d
		}
		r.mu.Unlock()
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("only %d of %d non-ASAP messages arrived within %v", len(r.data), n, waitLimit)
		}
	}
}

// poolEnv says where the scenario's parties live: one transport each
// (the same in-memory network, or kernel SCTP in different lab hosts),
// the registrar's address and the user transports of two PEs.
type poolEnv struct {
	regTr, peTr, puTr sctp.Transport
	regAddr           sctp.Addr
	peUser            [2]sctp.Addr
	// slow loosens the cores' request and hunt timers, for the lab VM.
	slow bool
}

// tune applies env's timer policy to a hunt and request timers.
func (env poolEnv) tune(h *HuntConfig, request *time.Duration) {
	if env.slow {
		h.Timeout = 5 * time.Second
		*request = 3 * time.Second
	}
}

func userTransport(a sctp.Addr) Transport {
	return Transport{Kind: ParamSCTPTransport, Port: a.Port, Use: DataPlusControl, Addrs: slices.Clone(a.IPs)}
}

func addrOf(pe PoolElement) sctp.Addr {
	return sctp.Addr{IPs: slices.Clone(pe.UserTransport.Addrs), Port: pe.UserTransport.Port}
}

// peSide is one PE with its application: the driver, its user-transport
// listener, and the sessions it accepted.
type peSide struct {
	drv    *PEDriver
	ev     *eventLog
	ln     sctp.Listener
	id     uint32
	assocs chan sctp.Association
}

func startPE(t *testing.T, env poolEnv, i int, id uint32, handle []byte) *peSide {
	t.Helper()
	ln, err := env.peTr.Listen(env.peUser[i])
	if err != nil {
		t.Fatalf("PE %d: listen %v: %v", id, env.peUser[i], err)
	}
	p := &peSide{ev: newEventLog(fmt.Sprintf("PE %d", id)), ln: ln, id: id, assocs: make(chan sctp.Association, 8)}
	cfg := PEConfig{
		PoolHandle: handle,
		Element: PoolElement{ID: id, UserTransport: userTransport(env.peUser[i]),
			Policy: Policy{Type: LeastUsed, Load: LoadPercent(float64(10 * (i + 1)))}},
		Hunt: HuntConfig{Registrars: []sctp.Addr{env.regAddr}},
	}
	env.tune(&cfg.Hunt, &cfg.Registration)
	cfg.Deregistration = cfg.Registration
	p.drv = NewPEDriver(DriverConfig{Transport: env.peTr, OnEvent: p.ev.on}, cfg, nil)
	go func() {
		for {
			as, err := ln.Accept()
			if err != nil {
				return
			}
			p.assocs <- as
		}
	}()
	p.drv.Start()
	t.Cleanup(func() { p.drv.Close(); ln.Close() })
	return p
}

// acceptSession waits for the PU's association and attaches it as
// session sid with a recorder for the other PPIDs.
func (p *peSide) acceptSession(t *testing.T, sid SessionID) (sctp.Association, *recorder) {
	t.Helper()
	select {
	case as := <-p.assocs:
		rec := newRecorder()
		p.drv.AddSession(sid, as, rec)
		t.Cleanup(func() { as.Close() })
		return as, rec
	case <-time.After(waitLimit):
		t.Fatalf("PE %d: no association from the PU", p.id)
		return nil, nil
	}
}

// runPoolScenario: a PE registers with the scripted registrar and answers
// its keep-alive; a PU resolves the pool and connects to the selected PE;
// on that association, which also carries PPID 3 both ways, the PE sends
// a business card and state cookies and the PU keeps the latest; the PE
// then fails, the PU reports it, fails over to the element of the card
// and echoes the cookie there; finally the PE deregisters.
func runPoolScenario(t *testing.T, env poolEnv) {
	handle := []byte("AS-7")
	reg := startRegistrar(t, env.regTr, env.regAddr, 0x5151)
	pe1 := startPE(t, env, 0, 7, handle)
	pe2 := startPE(t, env, 1, 8, handle)
	for _, p := range []*peSide{pe1, pe2} {
		r := waitEvent[Registered](t, p.ev, nil)
		if r.ID != p.id || !r.Initial {
			t.Fatalf("PE %d: %+v", p.id, r)
		}
	}
	if got := reg.elements(string(handle)); len(got) != 2 {
		t.Fatalf("registrar holds %v, want elements 7 and 8", got)
	}
	// Endpoint keep-alive, answered.
	if err := reg.keepAlive(handle, 7, false); err != nil {
		t.Fatal(err)
	}
	if err := reg.waitAck(7, waitLimit); err != nil {
		t.Fatal(err)
	}

	// The PU resolves the pool: least used picks element 7 (10 % load).
	puEv := newEventLog("PU")
	puCfg := PUConfig{Hunt: HuntConfig{Registrars: []sctp.Addr{env.regAddr}}}
	env.tune(&puCfg.Hunt, &puCfg.Request)
	pu := NewPUDriver(DriverConfig{Transport: env.puTr, OnEvent: puEv.on}, puCfg)
	pu.Start()
	t.Cleanup(pu.Close)
	pu.Resolve(handle, 1)
	sel := waitEvent[Selected](t, puEv, func(s Selected) bool { return s.Tag == 1 })
	if sel.Element.ID != 7 {
		t.Fatalf("selected element %d, want 7 (least used)", sel.Element.ID)
	}
	if !slices.Contains(reg.received(), MsgHandleResolution) {
		t.Fatal("the registrar saw no handle resolution")
	}

	// The PU connects to it; the association carries PPID 3 and 11.
	const sid SessionID = 42
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	puAs, err := env.puTr.Dial(ctx, sctp.Addr{}, addrOf(sel.Element))
	if err != nil {
		t.Fatalf("PU: dial element 7 at %v: %v", addrOf(sel.Element), err)
	}
	t.Cleanup(func() { puAs.Close() })
	puRec := newRecorder()
	pu.AddSession(sid, handle, sel.Element.ID, puAs, puRec)
	peAs, peRec := pe1.acceptSession(t, sid)

	m3ua := func(as sctp.Association, s string) {
		t.Helper()
		if err := as.Send(sctp.Message{Stream: 1, PPID: 3, Data: []byte(s)}); err != nil {
			t.Fatalf("PPID 3 send: %v", err)
		}
	}
	m3ua(puAs, "ASPUP")
	pe1.drv.SendBusinessCard(sid, []PoolElement{{ID: 8, UserTransport: userTransport(env.peUser[1]),
		Policy: Policy{Type: LeastUsed}}})
	m3ua(peAs, "ASPUP ACK")
	pe1.drv.SendCookie(sid, []byte("dialogue-state-1"))
	m3ua(puAs, "DATA 1")
	pe1.drv.SendCookie(sid, []byte("dialogue-state-2"))
	m3ua(peAs, "DATA 2")

	card := waitEvent[BusinessCardReceived](t, puEv, nil)
	if card.Session != sid || string(card.PoolHandle) != string(handle) || len(card.Elements) != 1 || card.Elements[0].ID != 8 {
		t.Fatalf("business card: %s", describeEvent(card))
	}
	waitEvent[CookieReceived](t, puEv, func(c CookieReceived) bool { return string(c.Cookie) == "dialogue-state-2" })
	for side, rec := range map[string]*recorder{"PE": peRec, "PU": puRec} {
		want := map[string][]string{"PE": {"ASPUP", "DATA 1"}, "PU": {"ASPUP ACK", "DATA 2"}}[side]
		got := rec.waitData(t, 2)
		for i, m := range got {
			if m.PPID != 3 || string(m.Data) != want[i] {
				t.Fatalf("%s side handed over %d: PPID %d %q, want PPID 3 %q (ASAP must not reach the other protocol)", side, i, m.PPID, m.Data, want[i])
			}
		}
	}
	if c := pu.Cookie(sid); string(c) != "dialogue-state-2" {
		t.Fatalf("PU keeps cookie %q, want the latest", c)
	}

	// Element 7 fails: its end of the association goes away at once.
	peAs.Abort()
	fo := waitEvent[Selected](t, puEv, func(s Selected) bool { return s.Session == sid })
	if fo.Element.ID != 8 || !fo.FromCard {
		t.Fatalf("failover: %s, want element 8 from the business card", describeEvent(fo))
	}
	select {
	case u := <-reg.unreachable:
		if u.ID != 7 || string(u.PoolHandle) != string(handle) {
			t.Fatalf("ENDPOINT_UNREACHABLE for %q/%d, want element 7", u.PoolHandle, u.ID)
		}
	case <-time.After(waitLimit):
		t.Fatal("the registrar got no ENDPOINT_UNREACHABLE")
	}
	puAs2, err := env.puTr.Dial(ctx, sctp.Addr{}, addrOf(fo.Element))
	if err != nil {
		t.Fatalf("PU: dial element 8 at %v: %v", addrOf(fo.Element), err)
	}
	t.Cleanup(func() { puAs2.Close() })
	puRec2 := newRecorder()
	pu.AddSession(sid, handle, fo.Element.ID, puAs2, puRec2)
	peAs2, peRec2 := pe2.acceptSession(t, sid)
	echo := waitEvent[CookieEchoReceived](t, pe2.ev, nil)
	if echo.Session != sid || string(echo.Cookie) != "dialogue-state-2" {
		t.Fatalf("element 8 got %s, want the latest cookie", describeEvent(echo))
	}
	m3ua(puAs2, "DATA 3")
	m3ua(peAs2, "DATA 4")
	if got := peRec2.waitData(t, 1); string(got[0].Data) != "DATA 3" {
		t.Fatalf("element 8 handed over %q", got[0].Data)
	}
	if got := puRec2.waitData(t, 1); string(got[0].Data) != "DATA 4" {
		t.Fatalf("PU handed over %q", got[0].Data)
	}

	// Shutdown: element 8 deregisters.
	if err := pe2.drv.Stop(ctx); err != nil {
		t.Fatalf("PE 8: deregistration: %v", err)
	}
	if got := reg.elements(string(handle)); slices.Contains(got, 8) {
		t.Fatalf("registrar still holds element 8 after deregistration: %v", got)
	}
	if !slices.Contains(reg.received(), MsgDeregistration) {
		t.Fatal("the registrar saw no deregistration")
	}
}

func memEnv() poolEnv {
	n := sctptest.NewNetwork()
	ip := func(s string) []netip.Addr { return []netip.Addr{netip.MustParseAddr(s)} }
	return poolEnv{
		regTr: n, peTr: n, puTr: n,
		regAddr: sctp.Addr{IPs: ip("10.0.9.1"), Port: Port},
		peUser: [2]sctp.Addr{
			{IPs: ip("10.0.0.7"), Port: 2905},
			{IPs: ip("10.0.0.8"), Port: 2905},
		},
	}
}

func TestDriverPoolScenario(t *testing.T) { runPoolScenario(t, memEnv()) }

// A registrar that stops answering is given up after T2 and its retries;
// the PE registers with the next one of its list.
func TestDriverRegistrarFailover(t *testing.T) {
	n := sctptest.NewNetwork()
	a1 := sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.0.9.1")}, Port: Port}
	a2 := sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.0.9.2")}, Port: Port}
	r1 := startRegistrar(t, n, a1, 1)
	r2 := startRegistrar(t, n, a2, 2)
	ev := newEventLog("PE")
	d := NewPEDriver(DriverConfig{Transport: n, OnEvent: ev.on}, PEConfig{
		PoolHandle:     []byte("AS-1"),
		Element:        testElement(7, Policy{Type: RoundRobin}),
		Registration:   20 * time.Millisecond,
		Reregistration: 50 * time.Millisecond,
		Hunt:           HuntConfig{Registrars: []sctp.Addr{a1, a2}},
	}, nil)
	d.Start()
	defer d.Close()
	waitEvent[Registered](t, ev, nil)
	r1.setSilent(true) // r1 keeps the association but answers no more
	waitEvent[RegistrarLost](t, ev, nil)
	got := waitEvent[RegistrarConnected](t, ev, nil)
	if got.Addr.String() != a2.String() {
		t.Fatalf("connected to %v, want the second registrar %v", got.Addr, a2)
	}
	waitEvent[Registered](t, ev, nil)
	if ids := r2.elements("AS-1"); !slices.Equal(ids, []uint32{7}) {
		t.Fatalf("second registrar holds %v", ids)
	}
	// Then the second registrar dies: back to the first (answering again).
	r1.setSilent(false)
	r2.Close()
	waitEvent[RegistrarLost](t, ev, nil)
	waitEvent[Registered](t, ev, nil)
	if c := d.Counters(); c.Retransmits < 2 || c.Registrations < 4 {
		t.Fatalf("counters %+v", c)
	}
}

// A registrar that opens an association to the PE's ASAP transport and
// sends a keep-alive with the H flag becomes the PE's home.
func TestDriverHomeTakeover(t *testing.T) {
	n := sctptest.NewNetwork()
	a1 := sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.0.9.1")}, Port: Port}
	r1 := startRegistrar(t, n, a1, 1)
	asapAddr := sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.0.0.7")}, Port: Port}
	ln, err := n.Listen(asapAddr)
	if err != nil {
		t.Fatal(err)
	}
	ev := newEventLog("PE")
	d := NewPEDriver(DriverConfig{Transport: n, OnEvent: ev.on}, PEConfig{
		PoolHandle: []byte("AS-1"),
		Element:    testElement(7, Policy{Type: RoundRobin}),
		Hunt:       HuntConfig{Registrars: []sctp.Addr{a1}},
	}, ln)
	d.Start()
	defer d.Close()
	waitEvent[Registered](t, ev, nil)

	// Registrar 2 takes over: it dials the PE's ASAP endpoint.
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	as, err := n.Dial(ctx, sctp.Addr{}, asapAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	b, _ := Marshal(&EndpointKeepAlive{Home: true, ServerID: 2, PoolHandle: []byte("AS-1"), HasID: true, ID: 7})
	if err := as.Send(sctp.Message{PPID: PPID, Data: b}); err != nil {
		t.Fatal(err)
	}
	hc := waitEvent[HomeChanged](t, ev, nil)
	if hc.ServerID != 2 {
		t.Fatalf("%+v", hc)
	}
	buf := make([]byte, 1024)
	for {
		m, e, err := as.Recv(buf)
		if err != nil {
			t.Fatal(err)
		}
		if e != nil {
			continue
		}
		got, _, err := DecodeMessage(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if ack, ok := got.(*EndpointKeepAliveAck); !ok || ack.ID != 7 || m.PPID != PPID {
			t.Fatalf("PE answered %v", describe(got))
		}
		break
	}
	_ = r1
}

// Demux hands PPID 11 to ASAP and the rest to the handler, and reports
// the end.
func TestDemux(t *testing.T) {
	a, b := sctptest.Pair()
	rec := newRecorder()
	var asap [][]byte
	done := make(chan error, 1)
	go func() {
		done <- Demux(b, func(p []byte) bool { asap = append(asap, append([]byte(nil), p...)); return true }, rec)
	}()
	cookie, _ := Marshal(&Cookie{Cookie: []byte("c")})
	for _, m := range []sctp.Message{{PPID: 3, Data: []byte("m3ua-1")}, {PPID: PPID, Data: cookie}, {Stream: 2, PPID: 3, Data: []byte("m3ua-2")}} {
		if err := a.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	rec.waitData(t, 2)
	a.Close()
	if err := <-done; err == nil {
		t.Fatal("Demux ended without error")
	}
	if len(asap) != 1 || string(asap[0]) != string(cookie) {
		t.Fatalf("ASAP got %x", asap)
	}
	if d := rec.data; string(d[0].Data) != "m3ua-1" || string(d[1].Data) != "m3ua-2" || d[1].Stream != 2 {
		t.Fatalf("handler got %+v", d)
	}
	select {
	case <-rec.closed:
	default:
		t.Fatal("Closed not called")
	}
}
