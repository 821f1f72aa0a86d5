package m3ua

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

// Driver tests over the in-memory SCTP network: several ASPs against one
// SGP, DATA both ways with per-SLS order, reconnection after an
// association is lost, path failure, graceful shutdown, and other PPIDs.
// They wait for behaviour (with generous deadlines so a loaded machine does
// not fail them) and never assert how long anything took.

const waitLong = 20 * time.Second

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

var sgpAddr = sctp.Addr{IPs: addrs("10.0.1.1", "10.0.2.1"), Port: 2905}

func aspAddr(i int) sctp.Addr {
	return sctp.Addr{IPs: addrs(fmt.Sprintf("10.0.1.%d", 10+i), fmt.Sprintf("10.0.2.%d", 10+i))}
}

// sink records what a handler set receives. Payloads carry a sequence
// number: 4 bytes of sender id, 4 bytes of sequence.
type sink struct {
	mu     sync.Mutex
	data   []UserData
	events []Event
	cond   chan struct{}
}

func newSink() *sink { return &sink{cond: make(chan struct{}, 1)} }

func (s *sink) handlers() Handlers {
	return Handlers{
		Data: func(a AssocID, u UserData) {
			u.Payload = slices.Clone(u.Payload)
			s.mu.Lock()
			s.data = append(s.data, u)
			s.mu.Unlock()
			s.poke()
		},
		Event: func(e Event) {
			s.mu.Lock()
			s.events = append(s.events, e)
			s.mu.Unlock()
			s.poke()
		},
	}
}

func (s *sink) poke() {
	select {
	case s.cond <- struct{}{}:
	default:
	}
}

// waitFor polls cond (under the sink's lock) until it holds.
func (s *sink) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitLong)
	for {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-s.cond:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func payload(sender, seq uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, sender), seq)
}

// checkOrder checks that, per sender and SLS, sequence numbers only grow,
// and that every sender's messages all arrived once.
func checkOrder(t *testing.T, got []UserData, senders, perSender int) {
	t.Helper()
	last := map[[2]uint32]int64{}
	count := map[uint32]int{}
	for _, u := range got {
		sender, seq := binary.BigEndian.Uint32(u.Payload), binary.BigEndian.Uint32(u.Payload[4:])
		k := [2]uint32{sender, uint32(u.SLS)}
		if l, ok := last[k]; ok && int64(seq) <= l {
			t.Fatalf("sender %d sls %d: seq %d after %d", sender, u.SLS, seq, l)
		}
		last[k] = int64(seq)
		count[sender]++
	}
	for s := 0; s < senders; s++ {
		if count[uint32(s)] != perSender {
			t.Errorf("sender %d: %d messages arrived, want %d", s, count[uint32(s)], perSender)
		}
	}
}

func startServer(t *testing.T, tr sctp.Transport, cfg ServerConfig) *Server {
	t.Helper()
	ln, err := tr.Listen(sgpAddr)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return srv
}

func startClient(t *testing.T, cfg ClientConfig) *Client {
	t.Helper()
	c, err := StartClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitActive(t *testing.T, c *Client, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := c.WaitActive(ctx, n); err != nil {
		t.Fatalf("ASP not active: states %v: %v", c.States(), err)
	}
}

// Many ASPs come up concurrently against one SGP in a loadshare AS; DATA
// flows both ways, in order per SLS.
func TestDriverManyASPs(t *testing.T) {
	const nASP, perASP = 16, 64
	net := sctptest.NewNetwork()
	srvSink := newSink()
	srv := startServer(t, net, ServerConfig{
		SGP:      SGPConfig{ASes: []ASConfig{{RC: 1, Mode: Loadshare}}},
		Handlers: srvSink.handlers(),
	})
	sinks := make([]*sink, nASP)
	clients := make([]*Client, nASP)
	var wg sync.WaitGroup
	for i := range nASP {
		sinks[i] = newSink()
		clients[i] = startClient(t, ClientConfig{
			ASP:       ASPConfig{RCs: []uint32{1}, Mode: Loadshare, AutoActivate: true, ASPID: uint32(i), HasASPID: true},
			Transport: net, Local: aspAddr(i), SGPs: []sctp.Addr{sgpAddr}, Handlers: sinks[i].handlers(),
		})
	}
	for i := range nASP {
		wg.Add(1)
		go func() {
			defer wg.Done()
			waitActive(t, clients[i], 1)
		}()
	}
	wg.Wait()
	if st := srv.ASState(1); st != ASActive {
		t.Fatalf("AS 1 is %v", st)
	}
	// ASP → SGP, all ASPs at once.
	for i := range nASP {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range perASP {
				u := UserData{RC: 1, HasRC: true, OPC: 100, DPC: 200, SI: 3, NI: 2, SLS: uint8(seq % 16), Payload: payload(uint32(i), uint32(seq))}
				if err := clients[i].SendData(u); err != nil {
					t.Errorf("ASP %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	srvSink.waitFor(t, "DATA at the SGP", func() bool { return len(srvSink.data) == nASP*perASP })
	srvSink.mu.Lock()
	checkOrder(t, srvSink.data, nASP, perASP)
	srvSink.mu.Unlock()
	// SGP → ASPs: loadshare by SLS over the 16 active ASPs; order per SLS.
	const total = 2048
	for seq := range total {
		srv.SendData(UserData{RC: 1, OPC: 200, DPC: 100, SI: 3, NI: 2, SLS: uint8(seq % 64), Payload: payload(0, uint32(seq))})
	}
	var all []UserData
	for _, s := range sinks {
		s.waitFor(t, "DATA at an ASP", func() bool { return len(s.data) > 0 })
	}
	deadline := time.Now().Add(waitLong)
	for {
		all = all[:0]
		for _, s := range sinks {
			s.mu.Lock()
			all = append(all, s.data...)
			s.mu.Unlock()
		}
		if len(all) >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	checkOrder(t, all, 1, total)
	for i, s := range sinks {
		s.mu.Lock()
		for _, u := range s.data {
			if u.RC != 1 || !u.HasRC || u.OPC != 200 || u.DPC != 100 {
				t.Fatalf("ASP %d got %v", i, u)
			}
		}
		s.mu.Unlock()
	}
}

// An ASP whose association is lost dials again (with backoff) and returns
// to ASP-ACTIVE; DATA flows again.
func TestDriverReconnect(t *testing.T) {
	net := sctptest.NewNetwork(sctptest.WithDeadPeer(50 * time.Millisecond))
	srvSink := newSink()
	startServer(t, net, ServerConfig{
		SGP:      SGPConfig{ASes: []ASConfig{{RC: 7, Mode: Override}}},
		Handlers: srvSink.handlers(),
	})
	aspSink := newSink()
	c := startClient(t, ClientConfig{
		ASP:       ASPConfig{RCs: []uint32{7}, AutoActivate: true},
		Transport: net, Local: aspAddr(1), SGPs: []sctp.Addr{sgpAddr}, Handlers: aspSink.handlers(),
		Backoff: Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
	})
	waitActive(t, c, 1)
	// Both of the ASP's paths fail: the association is declared lost.
	for _, ip := range aspAddr(1).IPs {
		net.FailPath(ip)
	}
	aspSink.waitFor(t, "the association to end", func() bool {
		return slices.ContainsFunc(aspSink.events, func(e Event) bool { _, ok := e.(AssocEnded); return ok })
	})
	if st := c.States()[0]; st != ASPDown {
		t.Fatalf("ASP %v after the association ended", st)
	}
	for _, ip := range aspAddr(1).IPs {
		net.RestorePath(ip)
	}
	waitActive(t, c, 1)
	if err := c.SendData(UserData{RC: 7, HasRC: true, SLS: 3, Payload: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	srvSink.waitFor(t, "DATA after the reconnection", func() bool { return len(srvSink.data) == 1 })
	ups := 0
	aspSink.mu.Lock()
	for _, e := range aspSink.events {
		if _, ok := e.(AssocEstablished); ok {
			ups++
		}
	}
	aspSink.mu.Unlock()
	if ups < 2 {
		t.Fatalf("%d associations established, want at least 2", ups)
	}
}

// A path of a multihomed association fails mid-stream: no DATA is lost or
// reordered, and the driver reports the path event.
func TestDriverPathFailure(t *testing.T) {
	const total = 2000
	net := sctptest.NewNetwork(sctptest.WithDelay(200 * time.Microsecond))
	srvSink := newSink()
	srv := startServer(t, net, ServerConfig{
		SGP:      SGPConfig{ASes: []ASConfig{{RC: 1, Mode: Override}}},
		Handlers: srvSink.handlers(),
	})
	aspSink := newSink()
	c := startClient(t, ClientConfig{
		ASP:       ASPConfig{RCs: []uint32{1}, AutoActivate: true},
		Transport: net, Local: aspAddr(1), SGPs: []sctp.Addr{sgpAddr}, Handlers: aspSink.handlers(),
	})
	waitActive(t, c, 1)
	go func() {
		for seq := range total {
			if seq == total/3 {
				net.FailPath(aspAddr(1).IPs[0])
			}
			srv.SendData(UserData{RC: 1, SLS: uint8(seq), Payload: payload(0, uint32(seq))})
		}
	}()
	for seq := range total {
		if err := c.SendData(UserData{RC: 1, HasRC: true, SLS: uint8(seq), Payload: payload(0, uint32(seq))}); err != nil {
			t.Fatal(err)
		}
	}
	srvSink.waitFor(t, "DATA at the SGP", func() bool { return len(srvSink.data) == total })
	aspSink.waitFor(t, "DATA at the ASP", func() bool { return len(aspSink.data) == total })
	srvSink.mu.Lock()
	checkOrder(t, srvSink.data, 1, total)
	srvSink.mu.Unlock()
	aspSink.mu.Lock()
	checkOrder(t, aspSink.data, 1, total)
	paths := slices.ContainsFunc(aspSink.events, func(e Event) bool { _, ok := e.(PathChanged); return ok })
	aspSink.mu.Unlock()
	srvSink.mu.Lock()
	paths = paths || slices.ContainsFunc(srvSink.events, func(e Event) bool { _, ok := e.(PathChanged); return ok })
	srvSink.mu.Unlock()
	if !paths {
		t.Errorf("no PathChanged event on either side")
	}
	if st := c.States()[0]; st != ASPActive {
		t.Fatalf("ASP %v after the path failure", st)
	}
}

// Graceful shutdown: ASPIA, ASPDN, then SCTP SHUTDOWN; the SGP sees the
// ASP go inactive, then down, then the association end without error. The
// client does not come back.
func TestDriverGracefulShutdown(t *testing.T) {
	net := sctptest.NewNetwork()
	srvSink := newSink()
	srv := startServer(t, net, ServerConfig{
		SGP:      SGPConfig{ASes: []ASConfig{{RC: 1, Mode: Override}}},
		Handlers: srvSink.handlers(),
	})
	c := startClient(t, ClientConfig{
		ASP:       ASPConfig{AutoActivate: true},
		Transport: net, Local: aspAddr(1), SGPs: []sctp.Addr{sgpAddr},
		Backoff: Backoff{Initial: time.Millisecond},
	})
	waitActive(t, c, 1)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	srvSink.waitFor(t, "the association to end", func() bool {
		return slices.ContainsFunc(srvSink.events, func(e Event) bool { _, ok := e.(AssocEnded); return ok })
	})
	var trail []string
	srvSink.mu.Lock()
	for _, e := range srvSink.events {
		switch e := e.(type) {
		case ASPStateChanged:
			trail = append(trail, e.To.String())
		case AssocEnded:
			trail = append(trail, fmt.Sprintf("ended err=%v", e.Err))
		}
	}
	srvSink.mu.Unlock()
	want := []string{"ASP-INACTIVE", "ASP-ACTIVE", "ASP-INACTIVE", "ASP-DOWN", "ended err=<nil>"}
	if !slices.Equal(trail, want) {
		t.Fatalf("SGP saw %v, want %v", trail, want)
	}
	if len(srv.Assocs()) != 0 {
		t.Fatalf("associations left: %v", srv.Assocs())
	}
	// The last active ASP left: the AS holds its traffic for T(r).
	if st := srv.ASState(1); st != ASPending {
		t.Fatalf("AS %v, want AS-PENDING", st)
	}
}

// The SGP takes the ASPs down and shuts down; messages with another PPID
// go to the Other handler, which may answer on the association.
func TestDriverServerShutdownAndOtherPPID(t *testing.T) {
	net := sctptest.NewNetwork()
	others := make(chan string, 1)
	srv := startServer(t, net, ServerConfig{
		SGP: SGPConfig{ASes: []ASConfig{{RC: 1}}},
		Handlers: Handlers{Other: func(a AssocID, assoc sctp.Association, m sctp.Message) {
			others <- fmt.Sprintf("ppid=%d %s", m.PPID, m.Data)
			assoc.Send(sctp.Message{Stream: m.Stream, PPID: m.PPID, Data: []byte("pong")})
		}},
	})
	aspSink := newSink()
	c := startClient(t, ClientConfig{
		ASP:       ASPConfig{AutoActivate: true},
		Transport: net, Local: aspAddr(1), SGPs: []sctp.Addr{sgpAddr}, Handlers: aspSink.handlers(),
		Backoff: Backoff{MaxAttempts: 1},
	})
	waitActive(t, c, 1)

	// A raw association speaking ASAP (PPID 11) next to M3UA.
	raw, err := net.Dial(context.Background(), aspAddr(2), sgpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.Send(sctp.Message{Stream: 0, PPID: 11, Data: []byte("ping")}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-others:
		if got != "ppid=11 ping" {
			t.Fatalf("Other got %q", got)
		}
	case <-time.After(waitLong):
		t.Fatal("no non-M3UA message handed over")
	}
	buf := make([]byte, 256)
	for {
		raw.SetReadDeadline(time.Now().Add(waitLong))
		m, ev, err := raw.Recv(buf)
		if err != nil {
			t.Fatal(err)
		}
		if ev == nil {
			if m.PPID != 11 || string(m.Data) != "pong" {
				t.Fatalf("got ppid %d %q", m.PPID, m.Data)
			}
			break
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	aspSink.waitFor(t, "the ASP to be taken down", func() bool {
		return slices.ContainsFunc(aspSink.events, func(e Event) bool {
			ch, ok := e.(ASPStateChanged)
			return ok && ch.To == ASPDown
		})
	})
	aspSink.waitFor(t, "the client to give up", func() bool {
		return slices.ContainsFunc(aspSink.events, func(e Event) bool { _, ok := e.(LinkGaveUp); return ok })
	})
}

// An ASP with two SGPs is active on both, loadshares DATA over them by
// SLS, and keeps going on the other when one SGP goes away.
func TestDriverTwoSGPs(t *testing.T) {
	net := sctptest.NewNetwork()
	sgp2 := sctp.Addr{IPs: addrs("10.0.1.2", "10.0.2.2"), Port: 2905}
	sinks := []*sink{newSink(), newSink()}
	var srvs []*Server
	for i, addr := range []sctp.Addr{sgpAddr, sgp2} {
		ln, err := net.Listen(addr)
		if err != nil {
			t.Fatal(err)
		}
		srv := NewServer(ServerConfig{SGP: SGPConfig{ASes: []ASConfig{{RC: 1}}}, Handlers: sinks[i].handlers()})
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		srvs = append(srvs, srv)
	}
	c := startClient(t, ClientConfig{
		ASP:       ASPConfig{AutoActivate: true},
		Transport: net, Local: aspAddr(1), SGPs: []sctp.Addr{sgpAddr, sgp2},
		Backoff: Backoff{Initial: time.Hour}, // no reconnection during the test
	})
	waitActive(t, c, 2)
	for sls := range 16 {
		c.SendData(UserData{RC: 1, HasRC: true, SLS: uint8(sls), Payload: payload(0, uint32(sls))})
	}
	for i, s := range sinks {
		s.waitFor(t, fmt.Sprintf("DATA at SGP %d", i+1), func() bool { return len(s.data) == 8 })
	}
	srvs[0].Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := c.Wait(ctx, func(st []ASPState) bool { return st[0] == ASPDown && st[1] == ASPActive }); err != nil {
		t.Fatalf("states %v: %v", c.States(), err)
	}
	for sls := range 16 {
		if err := c.SendData(UserData{RC: 1, HasRC: true, SLS: uint8(sls), Payload: payload(1, uint32(sls))}); err != nil {
			t.Fatal(err)
		}
	}
	sinks[1].waitFor(t, "DATA at SGP 2", func() bool { return len(sinks[1].data) == 24 })
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Jitter: 0.2}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 50: time.Second} {
		if got := b.Delay(n, 0.5); got != want {
			t.Errorf("Delay(%d) = %v, want %v", n, got, want)
		}
		lo, hi := b.Delay(n, 0), b.Delay(n, 0.999999)
		if lo < time.Duration(float64(want)*0.8)-time.Microsecond || hi > time.Second || hi < lo {
			t.Errorf("Delay(%d) spreads %v..%v around %v", n, lo, hi, want)
		}
	}
}
