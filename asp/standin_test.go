package asp

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// This file is the stand-in gateway the in-memory and the lab tests share:
// an M3UA SGP (m3ua.Server) that records what the application servers send
// (DATA, ASAP cookies) and lets the test send network traffic and cookie
// echoes by hand.

const (
	serviceRC  = 200
	servicePC  = 200 // the application servers' point code (DPC of the service)
	networkPC  = 100 // the network node the dialogues come from
	serviceSSN = 6
	networkSSN = 7
	waitLimit  = 20 * time.Second
)

// received is one DATA or cookie a stand-in got, with where from.
type received struct {
	gw     int
	assoc  m3ua.AssocID
	stream uint16
	data   m3ua.UserData // DATA (payload copied)
	cookie bool
	tid    uint32 // cookie
	state  []byte // cookie
}

type standIn struct {
	t   testing.TB
	idx int
	srv *m3ua.Server
	ln  sctp.Listener

	mu      sync.Mutex
	active  map[m3ua.AssocID]uint32 // ASP-ACTIVE associations → ASP Identifier
	streams map[m3ua.AssocID]uint16 // outbound streams of each association
	out     *sink
}

// sink collects what every stand-in gateway receives: DATA and cookies
// apart, since their order across gateways is not defined.
type sink struct {
	data, cookies chan received
}

func newSink() *sink {
	return &sink{data: make(chan received, 1024), cookies: make(chan received, 1024)}
}

// cookies returns the next n cookies.
func (s *sink) nextCookies(t testing.TB, n int) []received {
	t.Helper()
	var got []received
	for len(got) < n {
		select {
		case r := <-s.cookies:
			got = append(got, r)
		case <-time.After(waitLimit):
			t.Fatalf("%d cookies arrived, want %d: %+v", len(got), n, got)
		}
	}
	return got
}

// noCookie checks that no cookie arrives within d.
func (s *sink) noCookie(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case r := <-s.cookies:
		t.Fatalf("unexpected cookie at gateway %d for %#x (%q)", r.gw, r.tid, r.state)
	case <-time.After(d):
	}
}

func newStandIn(t testing.TB, idx int, tr sctp.Transport, addr sctp.Addr, out *sink) *standIn {
	g := &standIn{t: t, idx: idx, active: map[m3ua.AssocID]uint32{}, streams: map[m3ua.AssocID]uint16{}, out: out}
	g.srv = m3ua.NewServer(m3ua.ServerConfig{
		SGP: m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: serviceRC, Mode: m3ua.Loadshare}}, RequireASPID: true},
		Handlers: m3ua.Handlers{
			Data: func(a m3ua.AssocID, u m3ua.UserData) {
				u.Payload = slices.Clone(u.Payload)
				g.out.data <- received{gw: idx, assoc: a, data: u}
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
			Other: func(a m3ua.AssocID, _ sctp.Association, m sctp.Message) {
				msg, _, err := rserpool.DecodeMessage(m.Data)
				if err != nil {
					t.Errorf("gateway %d: undecodable ASAP from %d: %v", idx, a, err)
					return
				}
				c, ok := msg.(*rserpool.Cookie)
				if !ok {
					t.Errorf("gateway %d: unexpected ASAP %T", idx, msg)
					return
				}
				tid, state, err := CookieValue(c.Cookie)
				if err != nil {
					t.Errorf("gateway %d: cookie: %v", idx, err)
					return
				}
				g.out.cookies <- received{gw: idx, assoc: a, stream: m.Stream, cookie: true, tid: tid, state: slices.Clone(state)}
			},
		},
	})
	ln, err := tr.Listen(addr)
	if err != nil {
		t.Fatalf("gateway %d: listen %v: %v", idx, addr, err)
	}
	g.ln = ln
	go g.srv.Serve(ln)
	return g
}

func (g *standIn) close() { g.srv.Close() }

// assocOf waits until an association whose ASP Identifier is id is
// ASP-ACTIVE, and returns it.
func (g *standIn) assocOf(id uint32) m3ua.AssocID {
	g.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		g.mu.Lock()
		for a, aspid := range g.active {
			if aspid == id {
				g.mu.Unlock()
				return a
			}
		}
		g.mu.Unlock()
		if time.Now().After(deadline) {
			g.t.Fatalf("gateway %d: no ASP-ACTIVE association with ASP Identifier %#x", g.idx, id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// send sends network TCAP to the application server on association a.
func (g *standIn) send(a m3ua.AssocID, sls uint8, m tcap.Message) {
	g.t.Helper()
	if err := g.srv.SendDataTo(a, networkData(g.t, sls, m)); err != nil {
		g.t.Fatalf("gateway %d: SendDataTo: %v", g.idx, err)
	}
}

// echo sends an ASAP Cookie Echo for tid with state on association a, on
// the stream the DATA of sls takes.
func (g *standIn) echo(a m3ua.AssocID, sls uint8, tid uint32, state []byte) {
	g.t.Helper()
	v := binary.BigEndian.AppendUint32(nil, tid)
	b, err := (&rserpool.CookieEcho{Cookie: append(v, state...)}).AppendTo(nil)
	if err != nil {
		g.t.Fatal(err)
	}
	g.mu.Lock()
	n := g.streams[a]
	g.mu.Unlock()
	if err := g.srv.SendOther(a, sctp.Message{Stream: m3ua.DataStream(sls, n), PPID: rserpool.PPID, Data: b}); err != nil {
		g.t.Fatalf("gateway %d: SendOther: %v", g.idx, err)
	}
}

// The network's SCCP addresses: the service is called by PC+SSN, the
// network node calls with a global title.
var (
	calledSvc  = sccp.Address{RouteOnSSN: true, HasPC: true, PC: servicePC, HasSSN: true, SSN: serviceSSN}
	callingNet = sccp.Address{HasSSN: true, SSN: networkSSN, GTI: 4, GT: []byte{0x00, 0x12, 0x04, 0x19, 0x32, 0x54, 0x76}}
)

func networkData(t testing.TB, sls uint8, m tcap.Message) m3ua.UserData {
	t.Helper()
	tb, err := m.Append(nil)
	if err != nil {
		t.Fatalf("tcap: %v", err)
	}
	s := sccp.Message{Type: sccp.UDT, Class: 1, Called: calledSvc, Calling: callingNet, Data: tb}
	b, err := s.Append(nil)
	if err != nil {
		t.Fatalf("sccp: %v", err)
	}
	return m3ua.UserData{RC: serviceRC, HasRC: true, OPC: networkPC, DPC: servicePC, SI: 3, NI: 2, SLS: sls, Payload: b}
}

func tid32(v uint32) tcap.TID { return tcap.TID32(v) }

func netBegin(otid uint32) tcap.Message {
	comps, _ := tcap.AppendComponents(nil, tcap.Component{Type: tcap.Invoke, InvokeID: 1, HasOpCode: true, OpCode: 56})
	return tcap.Message{Kind: tcap.Begin, OTID: tid32(otid), HasOTID: true, Components: comps}
}

func netContinue(otid, dtid uint32) tcap.Message {
	return tcap.Message{Kind: tcap.Continue, OTID: tid32(otid), HasOTID: true, DTID: tid32(dtid), HasDTID: true}
}

// reply is a DATA from an application server, decoded.
type reply struct {
	received
	sccp sccp.Message
	tcap tcap.Message
}

// nextData returns the next DATA any stand-in received, decoded.
func (s *sink) nextData(t testing.TB) reply {
	t.Helper()
	select {
	case r := <-s.data:
		var x reply
		x.received = r
		if err := sccp.Decode(r.data.Payload, &x.sccp); err != nil {
			t.Fatalf("gateway %d: SCCP: %v", r.gw, err)
		}
		if err := tcap.Decode(x.sccp.Data, &x.tcap); err != nil {
			t.Fatalf("gateway %d: TCAP: %v", r.gw, err)
		}
		return x
	case <-time.After(waitLimit):
		t.Fatal("no DATA from the application server")
	}
	panic("unreachable")
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }
