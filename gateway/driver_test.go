package gateway

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sigpool/sigpool/asp"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// app answers a Begin with a checkpoint and a Continue, a Continue with an
// End, and records resumes.
type app struct {
	asp.NopHandler
	mu      sync.Mutex
	begins  int
	resumed []string
}

func (h *app) Begin(d *asp.Dialogue, m *tcap.Message) {
	h.mu.Lock()
	h.begins++
	h.mu.Unlock()
	if err := d.Checkpoint([]byte("step=1")); err != nil {
		panic(err)
	}
	if err := d.Continue(nil, nil); err != nil {
		panic(err)
	}
}

func (h *app) Continue(d *asp.Dialogue, m *tcap.Message) { _ = d.End(nil, nil) }

func (h *app) Resume(d *asp.Dialogue, state []byte) {
	h.mu.Lock()
	h.resumed = append(h.resumed, string(state))
	h.mu.Unlock()
}

func (h *app) MTP3(in *asp.Inbound) {}

// node is a network node: an M3UA ASP of network AS 100 at the gateway.
type node struct {
	c  *m3ua.Client
	in chan m3ua.UserData
}

func startNode(t *testing.T, tr sctp.Transport, gw sctp.Addr) *node {
	n := &node{in: make(chan m3ua.UserData, 1024)}
	c, err := m3ua.StartClient(m3ua.ClientConfig{
		ASP:       m3ua.ASPConfig{ASPID: 9, HasASPID: true, RCs: []uint32{100}, AutoActivate: true},
		Transport: tr, Local: sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.0.0.9")}},
		SGPs: []sctp.Addr{gw},
		Handlers: m3ua.Handlers{Data: func(a m3ua.AssocID, u m3ua.UserData) {
			u.Payload = append([]byte(nil), u.Payload...)
			n.in <- u
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitActive(ctx, 1); err != nil {
		t.Fatal(err)
	}
	n.c = c
	return n
}

func (n *node) send(t *testing.T, tm tcap.Message, sls uint8) {
	t.Helper()
	if err := n.c.SendData(msu(t, tm, sls)); err != nil {
		t.Fatal(err)
	}
}

// recv returns the next TCAP message from the gateway.
func (n *node) recv(t *testing.T) tcap.Message {
	t.Helper()
	select {
	case u := <-n.in:
		var m sccp.Message
		if err := sccp.Decode(u.Payload, &m); err != nil {
			t.Fatal(err)
		}
		var tm tcap.Message
		if err := tcap.Decode(append([]byte(nil), m.Data...), &tm); err != nil {
			t.Fatal(err)
		}
		return tm
	case <-time.After(10 * time.Second):
		t.Fatal("nothing from the gateway")
	}
	return tcap.Message{}
}

func testConfig(t *testing.T) *Config {
	cfg, err := ParseConfig("t.yaml", []byte(`gateway_id: 1
network: {listen: "10.0.0.1:2905", ases: [{name: stp, rc: 100, point_codes: [1001]}]}
servers: {listen: "10.0.0.1:2906"}
registrar: {asap: "10.0.0.1:3863"}
services:
  - {name: hlr, rc: 200, pool: hlr, key: {dpc: 2001, si: 3, ssn: 6}, min_elements: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startServer(t *testing.T, tr sctp.Transport, g *Gateway, ip string, id uint32, h asp.Handler) *asp.Server {
	s, err := asp.New(asp.Config{
		Transport: tr, Local: sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr(ip)}},
		Gateways: []sctp.Addr{g.ServerAddr()}, Registrars: []sctp.Addr{g.RegistrarAddr()},
		PoolHandle: []byte("hlr"), Policy: rserpool.LeastUsed, Capacity: 10, PEID: id,
		RC: 200, HasRC: true,
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

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// End to end over in-memory SCTP: a network node, one gateway, two
// application servers (asp.Server, registered with the embedded registrar).
func TestGatewayEndToEnd(t *testing.T) {
	tr := sctptest.NewNetwork()
	g, err := New(testConfig(t), Options{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	apps := []*app{{}, {}}
	srvs := []*asp.Server{
		startServer(t, tr, g, "10.0.0.11", 0x5eed0011, apps[0]),
		startServer(t, tr, g, "10.0.0.12", 0x5eed0012, apps[1]),
	}
	waitFor(t, "two live elements", func() bool { return g.Live()[0] == 2 })
	n := startNode(t, tr, g.NetworkAddr())

	// Begins spread by load; every Continue comes from the owner, and the
	// network's Continue (DTID = the owner's TID) reaches it: End.
	owners := map[uint16]int{}
	for i := 0; i < 20; i++ {
		otid := tcap.TID32(0x0a000000 + uint32(i))
		n.send(t, tcap.Message{Kind: tcap.Begin, OTID: otid, HasOTID: true}, uint8(i))
		c := n.recv(t)
		if c.Kind != tcap.Continue || c.DTID != otid {
			t.Fatalf("answer to Begin %d: kind %#x dtid %v", i, c.Kind, c.DTID)
		}
		tag, _ := c.OTID.Tag()
		owners[tag]++
		n.send(t, tcap.Message{Kind: tcap.Continue, OTID: otid, HasOTID: true, DTID: c.OTID, HasDTID: true}, uint8(i))
		if e := n.recv(t); e.Kind != tcap.End || e.DTID != otid {
			t.Fatalf("answer to Continue %d: kind %#x", i, e.Kind)
		}
	}
	if owners[0x0011] == 0 || owners[0x0012] == 0 {
		t.Fatalf("dialogues per tag %v: one element took none", owners)
	}

	// A dialogue left open on element 0x0011, which then dies: its
	// continuation reaches the other element with the cookie (Resume).
	var open tcap.TID
	for i := 0; ; i++ {
		if i > 50 {
			t.Fatal("no dialogue landed on element 0x0011")
		}
		otid := tcap.TID32(0x0b000000 + uint32(i))
		n.send(t, tcap.Message{Kind: tcap.Begin, OTID: otid, HasOTID: true}, 3)
		c := n.recv(t)
		if tag, _ := c.OTID.Tag(); tag == 0x0011 {
			open = c.OTID
			break
		}
		n.send(t, tcap.Message{Kind: tcap.End, DTID: c.OTID, HasDTID: true}, 3)
	}
	waitFor(t, "the cookie", func() bool { return g.Counters().CookiesHeld >= 1 })
	srvs[0].Close()
	waitFor(t, "element 0x11 out", func() bool { return g.Live()[0] == 1 })
	n.send(t, tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(0x0c000001), HasOTID: true, DTID: open, HasDTID: true}, 3)
	if e := n.recv(t); e.Kind != tcap.End {
		t.Fatalf("failed-over dialogue answered with kind %#x", e.Kind)
	}
	apps[1].mu.Lock()
	resumed := fmt.Sprint(apps[1].resumed)
	apps[1].mu.Unlock()
	if resumed != "[step=1]" {
		t.Fatalf("resumed on the survivor: %s", resumed)
	}
	if k := g.Counters(); k.DialoguesFailedOver != 1 {
		t.Fatalf("failed over %d", k.DialoguesFailedOver)
	}

	// A continuation of a dead element's dialogue without a cookie: the
	// network gets a TC-ABORT at once.
	n.send(t, tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(0x0d000001), HasOTID: true, DTID: tcap.TID32(0x0011ffff), HasDTID: true}, 4)
	if a := n.recv(t); a.Kind != tcap.Abort || !a.HasPAbortCause || a.PAbortCause != tcap.UnrecognizedTransactionID {
		t.Fatalf("orphan without cookie answered with kind %#x cause %d", a.Kind, a.PAbortCause)
	}
	_ = srvs
}

// When the pool has no live element the network gets DUNA for the service's
// point code; DAVA when one is back. (A node that becomes active while the
// pool is empty learns it only by auditing: the SGP tells the ASPs active at
// the time of a change.)
func TestGatewayDestinationStatus(t *testing.T) {
	tr := sctptest.NewNetwork()
	g, err := New(testConfig(t), Options{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	s := startServer(t, tr, g, "10.0.0.11", 0x5eed0011, &app{})
	waitFor(t, "a live element", func() bool { return g.Live()[0] == 1 })
	n := startNode(t, tr, g.NetworkAddr())
	s.Close()
	waitFor(t, "DUNA", func() bool { return n.c.Reachable(2001) == m3ua.DestUnavailable })
	startServer(t, tr, g, "10.0.0.12", 0x5eed0012, &app{})
	waitFor(t, "DAVA", func() bool { return n.c.Reachable(2001) == m3ua.DestAvailable })
}

// The application servers hear whether the network's point codes are
// reachable through this gateway: unavailable while no network AS serving
// them is active here, available when one is.
func TestGatewayTellsServersNetworkStatus(t *testing.T) {
	tr := sctptest.NewNetwork()
	g, err := New(testConfig(t), Options{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	s := startServer(t, tr, g, "10.0.0.11", 0x5eed0011, &app{})
	waitFor(t, "a live element", func() bool { return g.Live()[0] == 1 })
	waitFor(t, "1001 unavailable at the server", func() bool { return s.Client().Reachable(1001) == m3ua.DestUnavailable })
	n := startNode(t, tr, g.NetworkAddr())
	waitFor(t, "1001 available at the server", func() bool { return s.Client().Reachable(1001) == m3ua.DestAvailable })
	n.c.Close()
	waitFor(t, "1001 unavailable again", func() bool { return s.Client().Reachable(1001) == m3ua.DestUnavailable })
}
