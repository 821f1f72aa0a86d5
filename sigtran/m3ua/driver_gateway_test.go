package m3ua

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// Driver tests of what the gateway builds on: SendDataTo one ASP, the ASP
// state as the events tell it, SendOther in order with DATA, DataUnsent.

// activeView is what a gateway keeps from ASPStateChanged events alone.
type activeView struct {
	active map[AssocID][]uint32
	aspID  map[AssocID]uint32
}

func viewOf(events []Event) activeView {
	v := activeView{active: map[AssocID][]uint32{}, aspID: map[AssocID]uint32{}}
	for _, e := range events {
		ch, ok := e.(ASPStateChanged)
		if !ok {
			continue
		}
		v.active[ch.Assoc] = ch.Active
		if ch.HasASPID {
			v.aspID[ch.Assoc] = ch.ASPID
		}
	}
	return v
}

func TestServerSendDataTo(t *testing.T) {
	net := sctptest.NewNetwork()
	srvSink := newSink()
	srv := startServer(t, net, ServerConfig{
		SGP:      SGPConfig{ASes: []ASConfig{{RC: 1, Mode: Loadshare}, {RC: 2, Mode: Loadshare}}},
		Handlers: srvSink.handlers(),
	})
	sinks := []*sink{newSink(), newSink()}
	clients := make([]*Client, 2)
	for i := range clients {
		clients[i] = startClient(t, ClientConfig{
			ASP:       ASPConfig{RCs: []uint32{1}, Mode: Loadshare, AutoActivate: true, ASPID: uint32(100 + i), HasASPID: true},
			Transport: net, Local: aspAddr(i), SGPs: []sctp.Addr{sgpAddr}, Handlers: sinks[i].handlers(),
		})
		waitActive(t, clients[i], 1)
	}
	// From the events alone: which association is which ASP, active for RC 1.
	var byID map[uint32]AssocID
	srvSink.waitFor(t, "both ASPs active in the events", func() bool {
		v := viewOf(srvSink.events)
		byID = map[uint32]AssocID{}
		for a, rcs := range v.active {
			if slices.Equal(rcs, []uint32{1}) {
				byID[v.aspID[a]] = a
			}
		}
		return len(byID) == 2
	})
	for id, a := range byID {
		if got, ok := srv.ASPIdentifier(a); !ok || got != id {
			t.Fatalf("ASPIdentifier(%d) = %d,%v; events said %d", a, got, ok, id)
		}
		if !srv.Serving(a, 1) || srv.Serving(a, 2) {
			t.Fatalf("Serving(%d, 1)=%v Serving(%d, 2)=%v", a, srv.Serving(a, 1), a, srv.Serving(a, 2))
		}
	}
	// Every SLS to ASP 101 alone (loadshare would have split them).
	target := byID[101]
	const n = 64
	for i := range n {
		u := UserData{RC: 1, OPC: 1, DPC: 2, SI: 3, SLS: uint8(i), Payload: payload(0, uint32(i))}
		if err := srv.SendDataTo(target, u); err != nil {
			t.Fatal(err)
		}
	}
	sinks[1].waitFor(t, "DATA at ASP 101", func() bool { return len(sinks[1].data) == n })
	sinks[1].mu.Lock()
	checkOrder(t, sinks[1].data, 1, n)
	sinks[1].mu.Unlock()
	sinks[0].mu.Lock()
	if len(sinks[0].data) != 0 {
		t.Fatalf("ASP 100 got %d messages sent to ASP 101", len(sinks[0].data))
	}
	sinks[0].mu.Unlock()

	if err := srv.SendDataTo(999, UserData{RC: 1, SLS: 1, Payload: []byte{1}}); !errors.Is(err, ErrUnknownAssoc) {
		t.Fatalf("unknown association: %v", err)
	}
	if err := srv.SendDataTo(target, UserData{RC: 2, SLS: 1, Payload: []byte{1}}); !errors.Is(err, ErrASPNotActive) {
		t.Fatalf("RC 2: %v", err)
	}

	// ASP 101 deactivates: the events say so, and SendDataTo refuses.
	clients[1].Deactivate()
	srvSink.waitFor(t, "ASP 101 inactive in the events", func() bool {
		return len(viewOf(srvSink.events).active[target]) == 0
	})
	if srv.Serving(target, 1) {
		t.Fatal("Serving after ASPIA")
	}
	if err := srv.SendDataTo(target, UserData{RC: 1, SLS: 1, Payload: []byte{1}}); !errors.Is(err, ErrASPNotActive) {
		t.Fatalf("after ASPIA: %v", err)
	}
}

// rawASP is a hand-driven ASP on a raw association: it reads every message
// with its stream and PPID.
type rawMsg struct {
	stream uint16
	ppid   uint32
	data   []byte
}

func rawRead(t *testing.T, a sctp.Association) rawMsg {
	t.Helper()
	buf := make([]byte, 4096)
	for {
		a.SetReadDeadline(time.Now().Add(waitLong))
		m, ev, err := a.Recv(buf)
		if err != nil {
			t.Fatalf("raw read: %v", err)
		}
		if ev == nil {
			return rawMsg{m.Stream, m.PPID, slices.Clone(m.Data)}
		}
	}
}

func rawSend(t *testing.T, a sctp.Association, m messages.M3UA) {
	t.Helper()
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Send(sctp.Message{Stream: 0, PPID: PPID, Data: b}); err != nil {
		t.Fatal(err)
	}
}

// rawExpect reads M3UA messages until one of class and type arrives.
func rawExpect(t *testing.T, a sctp.Association, class, typ uint8) {
	t.Helper()
	for {
		m := rawRead(t, a)
		if m.ppid == PPID && len(m.data) >= 4 && m.data[2] == class && m.data[3] == typ {
			return
		}
	}
}

// interleaved sends n pairs (Other on stream s, then DATA with an SLS that
// maps to s) with send, and checks on the raw side that each Other comes
// right before its DATA on that stream.
func checkInterleaved(t *testing.T, raw sctp.Association, n int, send func(i int) error) {
	t.Helper()
	for i := range n {
		if err := send(i); err != nil {
			t.Fatal(err)
		}
	}
	lastOther := map[uint16]int{}
	pairs := 0
	for pairs < n {
		m := rawRead(t, raw)
		switch m.ppid {
		case 11:
			i := int(binary.BigEndian.Uint32(m.data))
			lastOther[m.stream] = i
		case PPID:
			msg, err := Decode(m.data)
			if err != nil {
				t.Fatal(err)
			}
			d, ok := msg.(*messages.Data)
			if !ok {
				continue // NTFY and the like
			}
			u, _ := UserDataOf(d)
			i := int(binary.BigEndian.Uint32(u.Payload[4:]))
			if got, ok := lastOther[m.stream]; !ok || got != i {
				t.Fatalf("DATA %d on stream %d: the Other message before it on that stream is %d (present %v)", i, m.stream, got, ok)
			}
			pairs++
		}
	}
}

func TestServerSendOtherBeforeData(t *testing.T) {
	net := sctptest.NewNetwork(sctptest.WithDelay(100 * time.Microsecond))
	srv := startServer(t, net, ServerConfig{SGP: SGPConfig{ASes: []ASConfig{{RC: 1, Mode: Override}}}})
	raw, err := net.Dial(context.Background(), aspAddr(1), sgpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rawSend(t, raw, messages.NewAspUp(params.NewAspIdentifier(5), nil))
	rawExpect(t, raw, ClassASPSM, messages.MsgTypeAspUpAck)
	rawSend(t, raw, messages.NewAspActive(nil, params.NewRoutingContext(1), nil))
	rawExpect(t, raw, ClassASPTM, messages.MsgTypeAspActiveAck)
	var a AssocID
	for id := range srv.Assocs() {
		a = id
	}
	if id, ok := srv.ASPIdentifier(a); !ok || id != 5 {
		t.Fatalf("ASPIdentifier = %d,%v", id, ok)
	}
	_, out := raw.Streams()
	checkInterleaved(t, raw, 200, func(i int) error {
		sls := uint8(i)
		if err := srv.SendOther(a, sctp.Message{Stream: DataStream(sls, out), PPID: 11, Data: binary.BigEndian.AppendUint32(nil, uint32(i))}); err != nil {
			return err
		}
		return srv.SendDataTo(a, UserData{RC: 1, SLS: sls, Payload: payload(0, uint32(i))})
	})
	if err := srv.SendOther(a, sctp.Message{Stream: 1, PPID: PPID, Data: []byte{1}}); !errors.Is(err, ErrNotOther) {
		t.Fatalf("SendOther with M3UA's PPID: %v", err)
	}
	if err := srv.SendOther(a+1, sctp.Message{Stream: 1, PPID: 11, Data: []byte{1}}); !errors.Is(err, ErrUnknownAssoc) {
		t.Fatalf("SendOther to no association: %v", err)
	}
	if got := srv.DriverCounters().OtherSent.Load(); got != 200 {
		t.Fatalf("OtherSent = %d, want 200", got)
	}
}

func TestClientSendOtherBeforeData(t *testing.T) {
	net := sctptest.NewNetwork(sctptest.WithDelay(100 * time.Microsecond))
	ln, err := net.Listen(sgpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := startClient(t, ClientConfig{
		ASP:       ASPConfig{RCs: []uint32{1}, AutoActivate: true},
		Transport: net, Local: aspAddr(1), SGPs: []sctp.Addr{sgpAddr},
	})
	raw, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rawExpect(t, raw, ClassASPSM, messages.MsgTypeAspUp)
	rawSend(t, raw, messages.NewAspUpAck(nil, nil))
	rawExpect(t, raw, ClassASPTM, messages.MsgTypeAspActive)
	rawSend(t, raw, messages.NewAspActiveAck(nil, params.NewRoutingContext(1), nil))
	waitActive(t, c, 1)
	in, _ := raw.Streams() // the client's outbound stream count
	checkInterleaved(t, raw, 200, func(i int) error {
		sls := uint8(i)
		if err := c.SendOther(0, sctp.Message{Stream: DataStream(sls, in), PPID: 11, Data: binary.BigEndian.AppendUint32(nil, uint32(i))}); err != nil {
			return err
		}
		return c.SendData(UserData{RC: 1, HasRC: true, SLS: sls, Payload: payload(0, uint32(i))})
	})
	if err := c.SendOther(1, sctp.Message{Stream: 1, PPID: 11, Data: []byte{1}}); !errors.Is(err, ErrUnknownAssoc) {
		t.Fatalf("SendOther to SGP 1 of 1: %v", err)
	}
}

// The ASP's association is lost while the SGP sends: every message is
// either delivered to the ASP or handed back to the SGP's user as
// DataUnsent, with its payload.
func TestServerDataUnsentOnLoss(t *testing.T) {
	net := sctptest.NewNetwork(sctptest.WithDelay(2*time.Millisecond), sctptest.WithDeadPeer(30*time.Millisecond))
	srvSink := newSink()
	srv := startServer(t, net, ServerConfig{
		SGP:      SGPConfig{ASes: []ASConfig{{RC: 1, Mode: Override}}},
		Handlers: srvSink.handlers(),
	})
	aspSink := newSink()
	c := startClient(t, ClientConfig{
		ASP:       ASPConfig{RCs: []uint32{1}, AutoActivate: true},
		Transport: net, Local: aspAddr(1), SGPs: []sctp.Addr{sgpAddr}, Handlers: aspSink.handlers(),
		Backoff: Backoff{MaxAttempts: 1},
	})
	waitActive(t, c, 1)
	var a AssocID
	for id := range srv.Assocs() {
		a = id
	}
	sent := 0
	deadline := time.Now().Add(waitLong)
	for i := 0; ; i++ {
		if i == 300 {
			for _, ip := range aspAddr(1).IPs {
				net.FailPath(ip)
			}
		}
		err := srv.SendDataTo(a, UserData{RC: 1, SLS: uint8(i), Payload: payload(0, uint32(i))})
		if err != nil {
			if !errors.Is(err, ErrASPNotActive) && !errors.Is(err, ErrUnknownAssoc) {
				t.Fatal(err)
			}
			break
		}
		sent++
		if i >= 300 {
			time.Sleep(200 * time.Microsecond) // the peer is being declared dead
		}
		if time.Now().After(deadline) {
			t.Fatal("the association never went down")
		}
	}
	srvSink.waitFor(t, "the association to end at the SGP", func() bool {
		return slices.ContainsFunc(srvSink.events, func(e Event) bool { _, ok := e.(AssocEnded); return ok })
	})
	aspSink.waitFor(t, "the association to end at the ASP", func() bool {
		return slices.ContainsFunc(aspSink.events, func(e Event) bool { _, ok := e.(AssocEnded); return ok })
	})
	seen := map[uint32]string{}
	aspSink.mu.Lock()
	for _, u := range aspSink.data {
		seen[binary.BigEndian.Uint32(u.Payload[4:])] = "delivered"
	}
	aspSink.mu.Unlock()
	unsent := 0
	srvSink.mu.Lock()
	for _, e := range srvSink.events {
		du, ok := e.(DataUnsent)
		if !ok {
			continue
		}
		unsent++
		if du.Assoc != a || du.Data.RC != 1 || len(du.Data.Payload) != 8 {
			t.Fatalf("DataUnsent %+v", du)
		}
		i := binary.BigEndian.Uint32(du.Data.Payload[4:])
		if uint8(i) != du.Data.SLS {
			t.Fatalf("DataUnsent %d with SLS %d", i, du.Data.SLS)
		}
		if seen[i] != "" {
			t.Fatalf("message %d %s and handed back (%s)", i, seen[i], du.Reason)
		}
		seen[i] = du.Reason
	}
	srvSink.mu.Unlock()
	t.Logf("sent %d: delivered %d, handed back %d", sent, len(seen)-unsent, unsent)
	if unsent == 0 {
		t.Fatal("no DataUnsent: the loss came after everything was delivered")
	}
	for i := range sent {
		if seen[uint32(i)] == "" {
			t.Fatalf("message %d neither delivered nor handed back", i)
		}
	}
	if got := srv.DriverCounters().DataUnsent.Load(); got != uint64(unsent) {
		t.Fatalf("DataUnsent counter %d, events %d", got, unsent)
	}
}
