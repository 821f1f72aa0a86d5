//go:build lab && linux

package gateway

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigpool/sigpool/asp"
	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// The gateway over kernel SCTP in the lab:
//
//	siglab test ./gateway -- -test.run '^TestLab' -test.v
//
// Hosts 1 and 2 run a gateway each (registrars peered over ENRP), hosts 3 and
// 4 application servers (asp.Server: an M3UA ASP to both gateways and a pool
// element registered at gateway 1's registrar), host 5 the network node (one
// M3UA ASP per gateway). Every endpoint is multihomed over networks A and B.

// RFC 4960's SCTP timers: the emulated VM can stall longer than the telecom
// profile's RTO.max.
var labKernel = sctp.Kernel{Config: sctp.Config{Tuning: sctp.RFC}}

func labTopo(t *testing.T, n int) *netlab.Topology {
	t.Helper()
	topo, err := netlab.New(n)
	if err != nil {
		t.Fatalf("netlab.New(%d): %v (the lab tests need root, namespaces, veth, bridges and sctp.ko: run them with siglab test)", n, err)
	}
	t.Cleanup(func() { topo.Close() })
	return topo
}

func labGateway(t *testing.T, topo *netlab.Topology, id int, peers ...int) *Gateway {
	t.Helper()
	h := topo.Host(id)
	peerList := ""
	for i, p := range peers {
		if i > 0 {
			peerList += ", "
		}
		peerList += fmt.Sprintf("%q", labsctp.Addr(topo.Host(p), 9901).String())
	}
	src := fmt.Sprintf(`gateway_id: %d
network: {listen: %q, ases: [{name: stp, rc: 100, point_codes: [1001]}]}
servers: {listen: %q}
registrar: {asap: %q, enrp: %q, peers: [%s]}
services:
  - {name: hlr, rc: 200, pool: hlr, key: {dpc: 2001, si: 3, ssn: 6}}
  - {name: isup, rc: 300, pool: isup, key: {dpc: 2001, si: 5}}
`, id, labsctp.Addr(h, 2905).String(), labsctp.Addr(h, 2906).String(), labsctp.Addr(h, 3863).String(),
		labsctp.Addr(h, 9901).String(), peerList)
	cfg, err := ParseConfig("lab.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, Options{Transport: labsctp.Transport{Host: h, Kernel: labKernel}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

func labServer(t *testing.T, topo *netlab.Topology, host int, gws []*Gateway, pool string, rc uint32, id uint32, h asp.Handler) *asp.Server {
	t.Helper()
	hh := topo.Host(host)
	var gaddrs, raddrs []sctp.Addr
	for _, g := range gws {
		gaddrs = append(gaddrs, g.ServerAddr())
	}
	raddrs = append(raddrs, gws[0].RegistrarAddr())
	s, err := asp.New(asp.Config{
		Transport: labsctp.Transport{Host: hh, Kernel: labKernel}, Local: labsctp.Addr(hh, 0),
		Gateways: gaddrs, Registrars: raddrs,
		PoolHandle: []byte(pool), Policy: rserpool.LeastUsed, Capacity: 100, PEID: id,
		RC: rc, HasRC: true,
		// The tests hold dialogues open on purpose, in a slow emulated VM.
		DialogueTimeout: 5 * time.Minute,
	}, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// labNode is the network node: one M3UA client per gateway; what either
// receives goes to in.
type labNode struct {
	cs []*m3ua.Client
	in chan m3ua.UserData
}

func startLabNode(t *testing.T, topo *netlab.Topology, host int, gws []*Gateway) *labNode {
	t.Helper()
	h := topo.Host(host)
	n := &labNode{in: make(chan m3ua.UserData, 100000)}
	for _, g := range gws {
		c, err := m3ua.StartClient(m3ua.ClientConfig{
			ASP:       m3ua.ASPConfig{ASPID: 9, HasASPID: true, RCs: []uint32{100}, AutoActivate: true},
			Transport: labsctp.Transport{Host: h, Kernel: labKernel}, Local: labsctp.Addr(h, 0),
			SGPs: []sctp.Addr{g.NetworkAddr()},
			// The emulated VM stalls for longer than the 1 s default
			// under the host's load; a stall is not a dead peer.
			SendTimeout: 10 * time.Second,
			Handlers: m3ua.Handlers{Data: func(a m3ua.AssocID, u m3ua.UserData) {
				u.Payload = append([]byte(nil), u.Payload...)
				n.in <- u
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = c.WaitActive(ctx, 1)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		n.cs = append(n.cs, c)
	}
	return n
}

func (n *labNode) send(t *testing.T, gw int, tm tcap.Message, sls uint8) {
	t.Helper()
	if err := n.cs[gw].SendData(msu(t, tm, sls)); err != nil {
		t.Fatal(err)
	}
}

func (n *labNode) recv(t *testing.T) tcap.Message {
	t.Helper()
	select {
	case u := <-n.in:
		var m sccp.Message
		if err := sccp.Decode(u.Payload, &m); err != nil {
			t.Fatal(err)
		}
		var tm tcap.Message
		if err := tcap.Decode(m.Data, &tm); err != nil {
			t.Fatal(err)
		}
		return tm
	case <-time.After(20 * time.Second):
		t.Fatal("nothing from the gateways")
	}
	return tcap.Message{}
}

func labWait(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holder answers a Begin with a checkpointed Continue and keeps the dialogue
// until the network's next message, which it ends.
type holder struct {
	asp.NopHandler
	mu      sync.Mutex
	resumed []string
}

func (h *holder) Begin(d *asp.Dialogue, m *tcap.Message) {
	_ = d.Checkpoint([]byte(fmt.Sprintf("tid=%08x", d.TID())))
	_ = d.Continue(nil, nil)
}
func (h *holder) Continue(d *asp.Dialogue, m *tcap.Message) { _ = d.End(nil, nil) }
func (h *holder) Resume(d *asp.Dialogue, state []byte) {
	h.mu.Lock()
	h.resumed = append(h.resumed, string(state))
	h.mu.Unlock()
}

// TestLabDialogues: Least Used spreads new dialogues over both elements by
// their load; every continuation reaches its owner through either gateway;
// a checkpointed dialogue survives its owner's death, one without a cookie
// gets a TC-ABORT at once.
func TestLabDialogues(t *testing.T) {
	topo := labTopo(t, 5)
	g1 := labGateway(t, topo, 1)
	g2 := labGateway(t, topo, 2, 1)
	gws := []*Gateway{g1, g2}
	hs := []*holder{{}, {}}
	s3 := labServer(t, topo, 3, gws, "hlr", 200, 0x00a00003, hs[0])
	labServer(t, topo, 4, gws, "hlr", 200, 0x00a00004, hs[1])
	labWait(t, "both elements live at both gateways", 30*time.Second, func() bool { return g1.Live()[0] == 2 && g2.Live()[0] == 2 })
	n := startLabNode(t, topo, 5, gws)

	// 60 dialogues begun through gateway 1 and held open: each element's
	// load (held/100) rises and Least Used moves to the other.
	const held = 60
	var open []tcap.Message
	per := map[uint16]int{}
	for i := 0; i < held; i++ {
		otid := tcap.TID32(0x0a000000 + uint32(i))
		n.send(t, 0, tcap.Message{Kind: tcap.Begin, OTID: otid, HasOTID: true}, uint8(i))
		c := n.recv(t)
		if c.Kind != tcap.Continue || c.DTID != otid {
			t.Fatalf("Begin %d answered with kind %#x dtid %v", i, c.Kind, c.DTID)
		}
		tag, _ := c.OTID.Tag()
		per[tag]++
		open = append(open, c)
	}
	t.Logf("held dialogues per element tag: %v", per)
	if per[0x0003] < held/4 || per[0x0004] < held/4 {
		t.Fatalf("Least Used did not spread by load: %v", per)
	}
	// Their continuations alternate between the gateways; each reaches
	// its owner, which ends it.
	for i, c := range open[:held-2] {
		n.send(t, i%2, tcap.Message{Kind: tcap.Continue, OTID: c.DTID, HasOTID: true, DTID: c.OTID, HasDTID: true}, uint8(i))
		if e := n.recv(t); e.Kind != tcap.End || e.DTID != c.DTID {
			t.Fatalf("continuation %d through gateway %d: kind %#x", i, i%2+1, e.Kind)
		}
	}
	// The last two are open; find one owned by element 3 (or open more).
	var victim tcap.Message
	for _, c := range open[held-2:] {
		if tag, _ := c.OTID.Tag(); tag == 0x0003 {
			victim = c
		}
	}
	for i := 0; victim.Kind == 0; i++ {
		if i > 40 {
			t.Fatal("no dialogue landed on element 3")
		}
		otid := tcap.TID32(0x0b000000 + uint32(i))
		n.send(t, 0, tcap.Message{Kind: tcap.Begin, OTID: otid, HasOTID: true}, 7)
		if c := n.recv(t); c.Kind == tcap.Continue {
			if tag, _ := c.OTID.Tag(); tag == 0x0003 {
				victim = c
			}
		}
	}
	labWait(t, "cookies at both gateways", 10*time.Second, func() bool {
		return g1.Counters().CookiesHeld > 0 && g2.Counters().CookiesHeld > 0
	})
	t0 := time.Now()
	s3.Close() // the process dies: associations aborted
	labWait(t, "element 3 out at both gateways", 10*time.Second, func() bool { return g1.Live()[0] == 1 && g2.Live()[0] == 1 })
	t.Logf("element 3 out of selection at both gateways %.3fs after its death", time.Since(t0).Seconds())
	n.send(t, 1, tcap.Message{Kind: tcap.Continue, OTID: victim.DTID, HasOTID: true, DTID: victim.OTID, HasDTID: true}, 7)
	if e := n.recv(t); e.Kind != tcap.End || e.DTID != victim.DTID {
		t.Fatalf("failed-over dialogue answered with kind %#x", e.Kind)
	}
	hs[1].mu.Lock()
	resumed := fmt.Sprint(hs[1].resumed)
	hs[1].mu.Unlock()
	if want := fmt.Sprintf("[tid=%08x]", victim.OTID.Uint32()); resumed != want {
		t.Fatalf("survivor resumed %s, want %s", resumed, want)
	}
	n.send(t, 0, tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(0x0c000001), HasOTID: true, DTID: tcap.TID32(0x0003fff0), HasDTID: true}, 9)
	if a := n.recv(t); a.Kind != tcap.Abort || a.PAbortCause != tcap.UnrecognizedTransactionID {
		t.Fatalf("orphan without cookie: kind %#x cause %d", a.Kind, a.PAbortCause)
	}
}

// seqRecorder records, per SLS, the sequence numbers of ISUP messages.
type seqRecorder struct {
	asp.NopHandler
	mu   sync.Mutex
	seqs map[uint8][]uint32
	n    atomic.Int64
}

func (r *seqRecorder) MTP3(in *asp.Inbound) {
	if len(in.Data.Payload) < 4 {
		return
	}
	r.mu.Lock()
	r.seqs[in.Data.SLS] = append(r.seqs[in.Data.SLS], binary.BigEndian.Uint32(in.Data.Payload))
	r.mu.Unlock()
	r.n.Add(1)
}

// TestLabSLSOrderAcrossFailure: ISUP on 16 SLSs through one gateway to two
// elements; one element dies mid-stream. Every SLS stays in order at each
// element, the dead element's SLSs move to the survivor, and what SCTP
// handed back unsent is routed again, not dropped.
func TestLabSLSOrderAcrossFailure(t *testing.T) {
	topo := labTopo(t, 5)
	g1 := labGateway(t, topo, 1)
	gws := []*Gateway{g1}
	rs := []*seqRecorder{{seqs: map[uint8][]uint32{}}, {seqs: map[uint8][]uint32{}}}
	s3 := labServer(t, topo, 3, gws, "isup", 300, 0x00b00003, rs[0])
	labServer(t, topo, 4, gws, "isup", 300, 0x00b00004, rs[1])
	labWait(t, "both ISUP elements live", 30*time.Second, func() bool { return g1.Live()[1] == 2 })
	n := startLabNode(t, topo, 5, gws)

	const total = 20000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := uint32(0); i < total; i++ {
			p := binary.BigEndian.AppendUint32(nil, i)
			u := m3ua.UserData{RC: 100, HasRC: true, OPC: 1001, DPC: 2001, SI: SIISUP, NI: 2, SLS: uint8(i % 16), Payload: p}
			if err := n.cs[0].SendData(u); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			if i%200 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	labWait(t, "traffic at element 3", 30*time.Second, func() bool { return rs[0].n.Load() > 2000 })
	s3.Close()
	<-done
	labWait(t, "the gateway to take the whole stream", 60*time.Second, func() bool { return g1.Counters().NetworkIn >= total })
	for last := int64(-1); ; time.Sleep(time.Second) {
		now := rs[0].n.Load() + rs[1].n.Load()
		if now == last {
			break
		}
		last = now
	}
	for i, r := range rs {
		r.mu.Lock()
		for sls, seq := range r.seqs {
			for j := 1; j < len(seq); j++ {
				if seq[j] <= seq[j-1] {
					t.Fatalf("element %d, SLS %d: %d after %d: out of order", i+3, sls, seq[j], seq[j-1])
				}
			}
		}
		r.mu.Unlock()
	}
	k := g1.Counters()
	unsent := g1.ServerSide().DriverCounters().DataUnsent.Load()
	got := rs[0].n.Load() + rs[1].n.Load()
	t.Logf("sent %d, received %d (element 3: %d, element 4: %d), unsent handed back %d, routed again %d, discarded %v",
		total, got, rs[0].n.Load(), rs[1].n.Load(), unsent, k.Resent, k.Discarded)
	if k.Resent < unsent {
		t.Fatalf("%d messages handed back unsent, only %d routed again", unsent, k.Resent)
	}
	if k.Discarded[ReasonNoElement] != 0 || k.Discarded[ReasonSendFailed] != 0 {
		t.Fatalf("discards with a live element left: %v", k.Discarded)
	}
	rs[1].mu.Lock()
	moved := len(rs[1].seqs)
	rs[1].mu.Unlock()
	if moved != 16 {
		t.Fatalf("the survivor carries %d SLSs, want all 16", moved)
	}
}

// TestLabDialogueRate measures dialogues per second through one gateway in
// the VM: Begin, Continue (element), Continue (network), End (element), with
// 64 dialogues in flight over two elements.
func TestLabDialogueRate(t *testing.T) {
	topo := labTopo(t, 5)
	g1 := labGateway(t, topo, 1)
	gws := []*Gateway{g1}
	labServer(t, topo, 3, gws, "hlr", 200, 0x00c00003, &holder{})
	labServer(t, topo, 4, gws, "hlr", 200, 0x00c00004, &holder{})
	labWait(t, "both elements live", 30*time.Second, func() bool { return g1.Live()[0] == 2 })
	n := startLabNode(t, topo, 5, gws)

	const inflight, total = 64, 8000
	var begun, ended, aborts int
	start := time.Now()
	begin := func() {
		otid := tcap.TID32(0x0d000000 + uint32(begun))
		n.send(t, 0, tcap.Message{Kind: tcap.Begin, OTID: otid, HasOTID: true}, uint8(begun))
		begun++
	}
	for begun < inflight {
		begin()
	}
	for ended < total {
		m := n.recv(t)
		switch m.Kind {
		case tcap.Continue:
			n.send(t, 0, tcap.Message{Kind: tcap.Continue, OTID: m.DTID, HasOTID: true, DTID: m.OTID, HasDTID: true}, uint8(m.DTID.Uint32()))
		case tcap.End, tcap.Abort:
			if m.Kind == tcap.Abort {
				aborts++
				if aborts == 1 {
					k := g1.Counters()
					t.Logf("first abort: dtid %v cause %d after %.2fs, %d ended; gateway live %v, aborted %d, discarded %v",
						m.DTID, m.PAbortCause, time.Since(start).Seconds(), ended, g1.Live(), k.DialoguesAborted, k.Discarded)
				}
			}
			ended++
			if begun < total {
				begin()
			}
		default:
			t.Fatalf("unexpected kind %v", m.Kind)
		}
	}
	el := time.Since(start)
	t.Logf("BENCH dialogues/s through one gateway (4 MSUs each, %d in flight, 2 elements): %.0f (%d in %.2fs)",
		inflight, float64(total)/el.Seconds(), total, el.Seconds())
	k := g1.Counters()
	t.Logf("gateway: started %d, aborted %d, discarded %v, queue waits discarded %d", k.DialoguesStarted, k.DialoguesAborted, k.Discarded, k.Discarded[ReasonQueueFull])
	if aborts > 0 {
		t.Fatalf("%d of %d dialogues aborted", aborts, total)
	}
	if k.DialoguesStarted < total {
		t.Fatalf("gateway started %d dialogues, want %d", k.DialoguesStarted, total)
	}
}

// silent takes Begins and never answers: a process that received them and
// died before it could (SCTP acknowledged them; nothing comes back unsent).
type silent struct{ asp.NopHandler }

// TestLabUnansweredRoutedAgain: Begins given to an element that never
// answers them are routed again when that element dies, to the survivor,
// which answers each exactly once: no dialogue is lost without an answer.
func TestLabUnansweredRoutedAgain(t *testing.T) {
	topo := labTopo(t, 4)
	g1 := labGateway(t, topo, 1)
	gws := []*Gateway{g1}
	s2 := labServer(t, topo, 2, gws, "hlr", 200, 0x00a00002, &silent{})
	labServer(t, topo, 3, gws, "hlr", 200, 0x00a00003, &holder{})
	labWait(t, "both elements live", 30*time.Second, func() bool { return g1.Live()[0] == 2 })
	n := startLabNode(t, topo, 4, gws)

	const begins = 12
	answers := map[tcap.TID]int{}
	take := func(d time.Duration) {
		deadline := time.After(d)
		for {
			select {
			case u := <-n.in:
				var m sccp.Message
				var tm tcap.Message
				if sccp.Decode(u.Payload, &m) != nil || tcap.Decode(m.Data, &tm) != nil {
					t.Fatal("undecodable answer")
				}
				if tm.Kind != tcap.Continue || !tm.HasDTID {
					t.Fatalf("answer kind %#x", tm.Kind)
				}
				if tag, _ := tm.OTID.Tag(); tag != 0x0003 {
					t.Fatalf("answer from element tag %#04x, the silent one is 0x0002", tag)
				}
				answers[tm.DTID]++
			case <-deadline:
				return
			}
		}
	}
	for i := 0; i < begins; i++ {
		n.send(t, 0, tcap.Message{Kind: tcap.Begin, OTID: tcap.TID32(0x0d000000 + uint32(i)), HasOTID: true}, uint8(i))
	}
	take(time.Second)
	before := len(answers)
	if before == begins {
		t.Fatal("every Begin went to the answering element: nothing to route again")
	}
	t0 := time.Now()
	s2.Close() // the silent element's process dies
	for len(answers) < begins && time.Since(t0) < 20*time.Second {
		take(50 * time.Millisecond)
	}
	all := time.Since(t0)
	take(time.Second) // a duplicate would come now
	k := g1.Counters()
	t.Logf("%d of %d Begins answered before the silent element died, all %d answered %.3fs after; unanswered routed again: %d begins, %d aborted; resent %d",
		before, begins, len(answers), all.Seconds(), k.UnansweredBegins, k.UnansweredAborted, k.Resent)
	for i := 0; i < begins; i++ {
		if c := answers[tcap.TID32(0x0d000000+uint32(i))]; c != 1 {
			t.Errorf("Begin %d answered %d times", i, c)
		}
	}
	if k.UnansweredBegins == 0 || k.UnansweredAborted != 0 {
		t.Errorf("unanswered Begins routed again %d, aborted %d", k.UnansweredBegins, k.UnansweredAborted)
	}
}
