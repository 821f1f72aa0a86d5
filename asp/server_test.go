package asp

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

var pool = []byte("hlr.sigpool")

func sa(ipStr string, port uint16) sctp.Addr {
	return sctp.Addr{IPs: []netip.Addr{ip(ipStr)}, Port: port}
}

// scripted is the test's application: a Begin is checkpointed ("step=1")
// and answered with a Continue; a Continue ends the dialogue, unless the
// dialogue was adopted, which is continued (so that its transaction id
// shows). Resumes, ends, aborts and timeouts are recorded.
type scripted struct {
	NopHandler
	mu       sync.Mutex
	resumes  []string
	timeouts []uint32
	ended    []uint32
	answer   bool // answer Begins (false: leave them to time out)
}

func (h *scripted) Begin(d *Dialogue, m *tcap.Message) {
	if !h.answer {
		return
	}
	if err := d.Checkpoint([]byte("step=1")); err != nil {
		panic(err)
	}
	comps, _ := tcap.AppendComponents(nil, tcap.Component{Type: tcap.ReturnResultLast, InvokeID: 1})
	if err := d.Continue(nil, comps); err != nil {
		panic(err)
	}
}

func (h *scripted) Continue(d *Dialogue, m *tcap.Message) {
	if d.Adopted() {
		if err := d.Continue(nil, nil); err != nil {
			panic(err)
		}
		return
	}
	if err := d.End(nil, nil); err != nil {
		panic(err)
	}
}

func (h *scripted) End(d *Dialogue, m *tcap.Message) {
	h.mu.Lock()
	h.ended = append(h.ended, d.TID())
	h.mu.Unlock()
}

func (h *scripted) Resume(d *Dialogue, state []byte) {
	h.mu.Lock()
	h.resumes = append(h.resumes, string(state))
	h.mu.Unlock()
}

func (h *scripted) Timeout(d *Dialogue) {
	h.mu.Lock()
	h.timeouts = append(h.timeouts, d.TID())
	h.mu.Unlock()
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// bench is a gateway stand-in setup: one registrar (enrp driver) and n
// M3UA SGPs on an in-memory network.
type bench struct {
	net  *sctptest.Network
	reg  *enrp.Driver
	gws  []*standIn
	sink *sink
}

func newBench(t *testing.T, n int) *bench { return newBenchTags(t, n, 16) }

// newBenchTags is newBench with the registrar's TagBits (the gateway's
// embedded registrar sets 16).
func newBenchTags(t *testing.T, n, tagBits int) *bench {
	b := &bench{net: sctptest.NewNetwork(), sink: newSink()}
	reg, err := enrp.NewDriver(enrp.DriverConfig{Transport: b.net, ASAPAddr: sa("10.0.0.1", rserpool.Port)},
		enrp.Config{ServerID: 1, TagBits: tagBits})
	if err != nil {
		t.Fatal(err)
	}
	reg.Start()
	b.reg = reg
	t.Cleanup(func() { reg.Close(true) })
	for i := range n {
		g := newStandIn(t, i, b.net, sa("10.0.0."+string(rune('1'+i)), 2906), b.sink)
		b.gws = append(b.gws, g)
		t.Cleanup(g.close)
	}
	return b
}

func (b *bench) config(local string, peid uint32) Config {
	c := Config{
		Transport:  b.net,
		Local:      sa(local, 0),
		Registrars: []sctp.Addr{sa("10.0.0.1", rserpool.Port)},
		PoolHandle: pool,
		Capacity:   10,
		PEID:       peid,
		RC:         serviceRC, HasRC: true,
		Rand: rand.New(rand.NewPCG(uint64(peid), 1)),
	}
	for _, g := range b.gws {
		c.Gateways = append(c.Gateways, g.ln.Addr())
	}
	return c
}

// element returns the registrar's view of element id: registered, and its
// load.
func (b *bench) element(id uint32) (load uint32, ok bool) {
	b.reg.Do(func(r *enrp.Registrar) {
		if e := r.Handlespace().Find(pool, id); e != nil {
			load, ok = e.PoolElement().Policy.Load, true
		}
	})
	return load, ok
}

func startServer(t *testing.T, cfg Config, h Handler) *Server {
	t.Helper()
	s, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestServerEndToEnd(t *testing.T) {
	b := newBench(t, 2)
	h := &scripted{answer: true}
	s := startServer(t, b.config("10.0.0.11", 0x0001_0042), h)
	eventually(t, "ready", s.Ready)
	if s.PEID() != 0x0001_0042 {
		t.Fatalf("PE id %#x", s.PEID())
	}
	a0, a1 := b.gws[0].assocOf(s.PEID()), b.gws[1].assocOf(s.PEID())
	if _, ok := b.element(s.PEID()); !ok {
		t.Fatal("not in the registrar's handlespace")
	}

	// A network Begin reaches the handler; the Continue comes back with
	// the addresses swapped and our tagged OTID, the checkpoint at both
	// gateways on the dialogue's stream.
	const sls = 5
	b.gws[0].send(a0, sls, netBegin(0x0a0b0c0d))
	r := b.sink.nextData(t)
	if r.tcap.Kind != tcap.Continue || !r.tcap.HasDTID || r.tcap.DTID.Uint32() != 0x0a0b0c0d || r.tcap.DTID.Len() != 4 {
		t.Fatalf("reply %+v, want Continue to DTID 0x0a0b0c0d", r.tcap)
	}
	if r.tcap.OTID.Len() != 4 || TagOf(r.tcap.OTID.Uint32()) != Tag(s.PEID()) {
		t.Fatalf("OTID % x does not carry tag %#x", r.tcap.OTID.Bytes(), Tag(s.PEID()))
	}
	tid := r.tcap.OTID.Uint32()
	checkAddressed(t, r, sls)
	if r.gw != 0 {
		t.Fatalf("answer to a Begin through gateway 0 went through gateway %d", r.gw)
	}
	for _, c := range b.sink.nextCookies(t, 2) {
		if c.tid != tid || string(c.state) != "step=1" {
			t.Fatalf("cookie at gateway %d: %#x %q, want %#x step=1", c.gw, c.tid, c.state, tid)
		}
		if c.stream != m3ua.DataStream(sls, 17) {
			t.Fatalf("cookie on stream %d, the dialogue's DATA takes %d", c.stream, m3ua.DataStream(sls, 17))
		}
	}
	if s.Active() != 1 {
		t.Fatalf("%d dialogues held, want 1", s.Active())
	}
	// One dialogue of a capacity of ten: 10 %, two 5 % steps, registered
	// at once.
	eventually(t, "load registered", func() bool { l, _ := b.element(s.PEID()); return l == 2*rserpool.LoadPercent(5) })

	// The network continues; the handler ends: End to the network's id,
	// empty checkpoint at both gateways, load back to 0.
	b.gws[1].send(a1, sls, netContinue(0x0a0b0c0d, tid))
	r = b.sink.nextData(t)
	if r.tcap.Kind != tcap.End || r.tcap.DTID.Uint32() != 0x0a0b0c0d || r.tcap.HasOTID {
		t.Fatalf("reply %+v, want End to 0x0a0b0c0d", r.tcap)
	}
	checkAddressed(t, r, sls)
	if r.gw != 1 {
		t.Fatalf("answer to a Continue through gateway 1 went through gateway %d", r.gw)
	}
	seen := map[int]bool{}
	for _, c := range b.sink.nextCookies(t, 2) {
		if c.tid != tid || len(c.state) != 0 {
			t.Fatalf("cookie %#x %q, want %#x with an empty state", c.tid, c.state, tid)
		}
		seen[c.gw] = true
	}
	if !seen[0] || !seen[1] {
		t.Fatalf("the end of the dialogue reached gateways %v, want both", seen)
	}
	if s.Active() != 0 {
		t.Fatalf("%d dialogues held after End", s.Active())
	}
	eventually(t, "load back to 0", func() bool { l, _ := b.element(s.PEID()); return l == 0 })

	// A continuation for a transaction id nobody holds: P-Abort,
	// unrecognized transaction id, to its OTID.
	b.gws[0].send(a0, 3, netContinue(0x55, uint32(Tag(s.PEID()))<<16|0x9999))
	r = b.sink.nextData(t)
	if r.tcap.Kind != tcap.Abort || !r.tcap.HasPAbortCause || r.tcap.PAbortCause != tcap.UnrecognizedTransactionID ||
		r.tcap.DTID.Uint32() != 0x55 {
		t.Fatalf("reply %+v, want P-Abort cause 1 to 0x55", r.tcap)
	}

	// Hand-over: a cookie echo for another server's dialogue, the same
	// again, then the network's Continue on the same stream. The handler
	// resumes once with the state; the answer keeps the old tag.
	foreign := uint32(0x7777_0001)
	if Tag(s.PEID()) == 0x7777 {
		t.Fatal("test needs another tag")
	}
	b.gws[1].echo(a1, 9, foreign, []byte("step=3"))
	b.gws[1].echo(a1, 9, foreign, []byte("step=3"))
	b.gws[1].send(a1, 9, netContinue(0x0e0e0e0e, foreign))
	r = b.sink.nextData(t)
	if r.tcap.Kind != tcap.Continue || r.tcap.OTID.Uint32() != foreign || r.tcap.DTID.Uint32() != 0x0e0e0e0e {
		t.Fatalf("adopted dialogue's reply %+v, want Continue from %#x to 0x0e0e0e0e", r.tcap, foreign)
	}
	checkAddressed(t, r, 9)
	if r.gw != 1 {
		t.Fatalf("adopted dialogue's answer went through gateway %d, its continuation came through gateway 1", r.gw)
	}
	h.mu.Lock()
	resumes := append([]string(nil), h.resumes...)
	h.mu.Unlock()
	if len(resumes) != 1 || resumes[0] != "step=3" {
		t.Fatalf("resumes %q, want one with step=3", resumes)
	}
	// The counters move just after the messages leave.
	want := func(c Counters) bool {
		return c.Adopted == 1 && c.DuplicateEchoes == 1 && c.UnknownTID == 1 && c.Begins == 1 && c.Continues == 3 &&
			c.Sent == 4 && c.CookiesSent == 4 && c.Active == 1
	}
	deadline := time.Now().Add(waitLimit)
	for c := s.Counters(); !want(c); c = s.Counters() {
		if time.Now().After(deadline) {
			t.Fatalf("counters %+v", c)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkAddressed checks a reply's SCCP and MTP3 addressing: called and
// calling swapped, the point codes swapped, the dialogue's SLS and the
// service's routing context.
func checkAddressed(t *testing.T, r reply, sls uint8) {
	t.Helper()
	if !sameAddr(r.sccp.Called, callingNet) || !sameAddr(r.sccp.Calling, calledSvc) {
		t.Fatalf("SCCP called %+v calling %+v: not the network's swapped", r.sccp.Called, r.sccp.Calling)
	}
	if r.sccp.Type != sccp.UDT || r.sccp.Class != 1 {
		t.Fatalf("SCCP %v class %d, want UDT class 1 like the network's", r.sccp.Type, r.sccp.Class)
	}
	u := r.data
	if u.OPC != servicePC || u.DPC != networkPC || u.SI != 3 || u.NI != 2 || u.SLS != sls || !u.HasRC || u.RC != serviceRC {
		t.Fatalf("MTP3 %v, want OPC %d DPC %d SI 3 NI 2 SLS %d RC %d", u, servicePC, networkPC, sls, serviceRC)
	}
}

func sameAddr(a, b sccp.Address) bool {
	return a.RouteOnSSN == b.RouteOnSSN && a.HasPC == b.HasPC && a.PC == b.PC && a.HasSSN == b.HasSSN &&
		a.SSN == b.SSN && a.GTI == b.GTI && bytes.Equal(a.GT, b.GT)
}

// Two servers start with PE identifiers of the same tag: the registrar
// refuses the second as non-unique (with tags on, as in the gateway; and
// without, when the identifiers are equal), which draws another identifier
// (another tag) and comes back as a new ASP Identifier.
func TestServerRedrawsNonUniqueIdentifier(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tagBits  int
		id1, id2 uint32
	}{
		{"tag taken", 16, 0x0003_0005, 0x0004_0005},
		{"same identifier, no tags", 0, 0x0003_0005, 0x0003_0005},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBenchTags(t, 1, tc.tagBits)
			s1 := startServer(t, b.config("10.0.0.11", tc.id1), &scripted{answer: true})
			eventually(t, "first registered", s1.Ready)
			s2 := startServer(t, b.config("10.0.0.12", tc.id2), &scripted{answer: true})
			eventually(t, "second registered under a new identifier", func() bool { return s2.Ready() && s2.PEID() != tc.id2 })
			if Tag(s2.PEID()) == Tag(tc.id2) {
				t.Fatalf("new identifier %#x keeps the refused tag", s2.PEID())
			}
			if s2.Counters().Redraws != 1 || s1.Counters().Redraws != 0 || s1.PEID() != tc.id1 {
				t.Fatalf("redraws %d/%d, ids %#x %#x", s1.Counters().Redraws, s2.Counters().Redraws, s1.PEID(), s2.PEID())
			}
			a := b.gws[0].assocOf(s2.PEID()) // ASP Identifier = the new PE id
			if _, ok := b.element(s2.PEID()); !ok {
				t.Fatal("new identifier not in the handlespace")
			}
			if _, ok := b.element(tc.id2); ok && tc.id2 != tc.id1 {
				t.Fatal("refused identifier in the handlespace")
			}
			// Its dialogues carry the new tag.
			b.gws[0].send(a, 1, netBegin(0x42))
			r := b.sink.nextData(t)
			if TagOf(r.tcap.OTID.Uint32()) != Tag(s2.PEID()) {
				t.Fatalf("OTID %#x, want tag %#x", r.tcap.OTID.Uint32(), Tag(s2.PEID()))
			}
		})
	}
}

// A dialogue nobody answers times out: Abort to the network, empty
// checkpoint, Handler.Timeout, counted.
func TestServerDialogueTimeout(t *testing.T) {
	b := newBench(t, 1)
	h := &scripted{}
	cfg := b.config("10.0.0.11", 0x0001_0001)
	cfg.DialogueTimeout = 200 * time.Millisecond
	s := startServer(t, cfg, h)
	eventually(t, "ready", s.Ready)
	a := b.gws[0].assocOf(s.PEID())
	b.gws[0].send(a, 2, netBegin(0x31))
	r := b.sink.nextData(t)
	if r.tcap.Kind != tcap.Abort || r.tcap.DTID.Uint32() != 0x31 || r.tcap.HasPAbortCause {
		t.Fatalf("reply %+v, want a user Abort to 0x31", r.tcap)
	}
	c := b.sink.nextCookies(t, 1)[0]
	if len(c.state) != 0 || TagOf(c.tid) != Tag(s.PEID()) {
		t.Fatalf("cookie %#x %q, want an empty state for our dialogue", c.tid, c.state)
	}
	// Handler.Timeout runs after the messages went out.
	timeouts := func() []uint32 {
		h.mu.Lock()
		defer h.mu.Unlock()
		return append([]uint32(nil), h.timeouts...)
	}
	eventually(t, "Handler.Timeout", func() bool { return len(timeouts()) > 0 })
	if timeouts := timeouts(); len(timeouts) != 1 || timeouts[0] != c.tid || s.Counters().TimedOut != 1 || s.Active() != 0 {
		t.Fatalf("timeouts %#x, counters %+v", timeouts, s.Counters())
	}
}

// Drain refuses new Begins, deregisters, and returns once no dialogue
// awaits an answer from this server (a dialogue whose answer went out is
// the gateways' to hand over); a continuation arriving meanwhile is still
// served; Shutdown takes the ASP down.
func TestServerDrain(t *testing.T) {
	b := newBench(t, 1)
	h := &held{release: make(chan struct{})}
	s := startServer(t, b.config("10.0.0.11", 0x0001_0002), h)
	eventually(t, "ready", s.Ready)
	a := b.gws[0].assocOf(s.PEID())
	b.gws[0].send(a, 4, netBegin(0x61))
	eventually(t, "dialogue held", func() bool { return s.Owed() == 1 })

	done := make(chan error, 1)
	go func() { done <- s.Drain(context.Background()) }()
	eventually(t, "deregistered", func() bool { _, ok := b.element(s.PEID()); return !ok })
	b.gws[0].send(a, 4, netBegin(0x62))
	r := b.sink.nextData(t)
	if r.tcap.Kind != tcap.Abort || r.tcap.PAbortCause != tcap.ResourceLimitation || r.tcap.DTID.Uint32() != 0x62 {
		t.Fatalf("Begin while draining: %+v, want P-Abort resource limitation", r.tcap)
	}
	select {
	case err := <-done:
		t.Fatalf("Drain returned (%v) with an answer owed", err)
	case <-time.After(50 * time.Millisecond):
	}
	// The answer goes out: nothing more is owed, Drain returns though the
	// dialogue is still held.
	close(h.release)
	r = b.sink.nextData(t)
	if r.tcap.Kind != tcap.Continue || r.tcap.DTID.Uint32() != 0x61 {
		t.Fatalf("reply %+v, want Continue to 0x61", r.tcap)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Drain did not return")
	}
	if s.Active() != 1 || s.Owed() != 0 {
		t.Fatalf("%d dialogues held, %d owed; want 1 and 0", s.Active(), s.Owed())
	}
	// A continuation that still comes here is served until Shutdown.
	b.gws[0].send(a, 4, tcap.Message{Kind: tcap.End, DTID: r.tcap.OTID, HasDTID: true})
	eventually(t, "dialogue ended", func() bool { return s.Active() == 0 })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	eventually(t, "ASP gone", func() bool { return b.gws[0].srv.ASPState(a) != m3ua.ASPActive })
}

// A bounded drain with an answer still owed says so.
func TestServerDrainBounded(t *testing.T) {
	b := newBench(t, 1)
	h := &held{release: make(chan struct{})}
	defer close(h.release)
	s := startServer(t, b.config("10.0.0.11", 0x0001_0005), h)
	eventually(t, "ready", s.Ready)
	b.gws[0].send(b.gws[0].assocOf(s.PEID()), 4, netBegin(0x71))
	eventually(t, "dialogue held", func() bool { return s.Owed() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Drain(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain: %v, want the deadline", err)
	}
}

// held answers Begins with a Continue once release is closed.
type held struct {
	NopHandler
	release chan struct{}
}

func (h *held) Begin(d *Dialogue, m *tcap.Message) {
	go func() {
		<-h.release
		d.Continue(nil, nil)
	}()
}

// Answers sent towards a gateway whose association is lost come back as
// DataUnsent and go out again through the other gateway: none is lost. The
// requests come through gateway 1, so their answers are sent into it
// (still ASP-ACTIVE until its dead peer is detected) after its path failed.
func TestServerReroutesUnsentData(t *testing.T) {
	b := &bench{net: sctptest.NewNetwork(sctptest.WithDeadPeer(300 * time.Millisecond)), sink: newSink()}
	reg, err := enrp.NewDriver(enrp.DriverConfig{Transport: b.net, ASAPAddr: sa("10.0.0.9", rserpool.Port)}, enrp.Config{ServerID: 1})
	if err != nil {
		t.Fatal(err)
	}
	reg.Start()
	t.Cleanup(func() { reg.Close(true) })
	b.reg = reg
	for i := range 2 {
		g := newStandIn(t, i, b.net, sa("10.0.0."+string(rune('1'+i)), 2906), b.sink)
		b.gws = append(b.gws, g)
		t.Cleanup(g.close)
	}
	h := &held{release: make(chan struct{})}
	cfg := b.config("10.0.0.11", 0x0001_0003)
	cfg.Registrars = []sctp.Addr{sa("10.0.0.9", rserpool.Port)}
	s := startServer(t, cfg, h)
	eventually(t, "ready on both gateways", func() bool { return s.Ready() && s.ActiveGateways() == 2 })
	a1 := b.gws[1].assocOf(s.PEID())
	const n = 16
	for i := range n {
		b.gws[1].send(a1, uint8(i), netBegin(uint32(0x500+i)))
	}
	eventually(t, "dialogues held", func() bool { return s.Active() == n })
	b.net.FailPath(ip("10.0.0.2")) // gateway 1 unreachable
	close(h.release)
	got := map[uint32]bool{}
	for len(got) < n {
		r := b.sink.nextData(t)
		if r.gw != 0 {
			t.Fatalf("answer %+v delivered by the lost gateway", r.tcap)
		}
		got[r.tcap.DTID.Uint32()] = true
	}
	eventually(t, "rerouted counted", func() bool { return s.Counters().Rerouted > 0 })
	c := s.Counters()
	if c.Rerouted == 0 || c.Lost != 0 {
		t.Fatalf("rerouted %d, lost %d: want some rerouted (sent into gateway 1) and none lost", c.Rerouted, c.Lost)
	}
	t.Logf("%d of %d answers went out again through gateway 0", c.Rerouted, n)
}

// recorder records the traffic that is not a dialogue.
type recorder struct {
	NopHandler
	mu    sync.Mutex
	what  []string
	begun int
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.what = append(r.what, s)
	r.mu.Unlock()
}

func (r *recorder) Unidirectional(in *Inbound, m *tcap.Message) {
	r.add("unidirectional sls=" + string(rune('0'+in.Data.SLS)))
}

func (r *recorder) SCCP(in *Inbound, m *sccp.Message) {
	r.add("sccp " + m.Type.String())
}

func (r *recorder) MTP3(in *Inbound) {
	r.add("mtp3 si=" + string(rune('0'+in.Data.SI)) + " " + string(in.Data.Payload))
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.what...)
}

// TCAP Unidirectional, SCCP service messages and non-SCCP user data go to
// their Handler methods and open no dialogue.
func TestServerNonDialogueTraffic(t *testing.T) {
	b := newBench(t, 1)
	h := &recorder{}
	s := startServer(t, b.config("10.0.0.11", 0x0001_0004), h)
	eventually(t, "ready", s.Ready)
	a := b.gws[0].assocOf(s.PEID())
	comps, _ := tcap.AppendComponents(nil, tcap.Component{Type: tcap.Invoke, InvokeID: 1, HasOpCode: true, OpCode: 1})
	b.gws[0].send(a, 1, tcap.Message{Kind: tcap.Unidirectional, Components: comps})
	udts := sccp.Message{Type: sccp.UDTS, Cause: 1, Called: calledSvc, Calling: callingNet, Data: []byte{1, 2, 3}}
	ub, err := udts.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	u := networkData(t, 2, netBegin(1))
	u.Payload = ub
	if err := b.gws[0].srv.SendDataTo(a, u); err != nil {
		t.Fatal(err)
	}
	u = networkData(t, 2, netBegin(1))
	u.SI, u.Payload = 5, []byte("isup") // ISUP
	if err := b.gws[0].srv.SendDataTo(a, u); err != nil {
		t.Fatal(err)
	}
	eventually(t, "three deliveries", func() bool { return len(h.got()) == 3 })
	want := []string{"unidirectional sls=1", "sccp " + sccp.UDTS.String(), "mtp3 si=5 isup"}
	got := h.got()
	// One SLS per stream: the Unidirectional (SLS 1) may be overtaken by the
	// other two (SLS 2), which stay in order.
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("handler got %q, want %q", got, want)
	}
	c := s.Counters()
	if c.Unidirectional != 1 || c.SCCP != 1 || c.MTP3 != 1 || c.Active != 0 || c.Sent != 0 {
		t.Fatalf("counters %+v", c)
	}
}
