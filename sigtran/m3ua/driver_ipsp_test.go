package m3ua

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// Two IPSPs over the drivers: a Server and a Client in IPSP mode, single
// exchange (the client initiates) and double exchange (both do); DATA both
// ways once each side's states allow it.
func TestDriverIPSP(t *testing.T) {
	for _, x := range []IPSPExchange{SingleExchange, DoubleExchange} {
		t.Run(x.String(), func(t *testing.T) {
			net := sctptest.NewNetwork()
			srvSink := newSink()
			asp := ASPConfig{RCs: []uint32{4}, Mode: Loadshare, AutoActivate: true}
			srv := startServer(t, net, ServerConfig{
				SGP:      SGPConfig{ASes: []ASConfig{{RC: 4, Mode: Loadshare}}},
				Handlers: srvSink.handlers(),
				IPSP:     &IPSPConfig{Exchange: x, ASP: ASPConfig{ASPID: 2, HasASPID: true, RCs: []uint32{4}, Mode: Loadshare, AutoActivate: true}},
			})
			cliSink := newSink()
			asp.ASPID, asp.HasASPID = 1, true
			c := startClient(t, ClientConfig{
				ASP: asp, Transport: net, Local: aspAddr(1), SGPs: []sctp.Addr{sgpAddr}, Handlers: cliSink.handlers(),
				IPSP: &IPSPConfig{Exchange: x, Initiator: true, SGP: SGPConfig{ASes: []ASConfig{{RC: 4, Mode: Loadshare}}}},
			})
			waitActive(t, c, 1)
			var a AssocID
			srvSink.waitFor(t, "the client IPSP active at the server", func() bool {
				for _, e := range srvSink.events {
					if ch, ok := e.(ASPStateChanged); ok && !ch.Local && ch.To == ASPActive && ch.ASPID == 1 {
						a = ch.Assoc
						return true
					}
				}
				return false
			})
			if x == DoubleExchange {
				// The server's own ASPAC, and the client's view of it.
				cliSink.waitFor(t, "the server IPSP active at the client", func() bool {
					return slices.ContainsFunc(cliSink.events, func(e Event) bool {
						ch, ok := e.(ASPStateChanged)
						return ok && !ch.Local && ch.To == ASPActive && ch.ASPID == 2
					})
				})
				ctx, cancel := context.WithTimeout(context.Background(), waitLong)
				defer cancel()
				for srv.LocalState(a) != ASPActive {
					if ctx.Err() != nil {
						t.Fatalf("the server's own state is %v", srv.LocalState(a))
					}
					time.Sleep(5 * time.Millisecond)
				}
			} else if st := srv.LocalState(a); st != ASPDown {
				t.Fatalf("a single-exchange answering server has its own state %v", st)
			}
			const n = 50
			for i := range n {
				if err := srv.SendDataTo(a, UserData{RC: 4, SLS: uint8(i), Payload: payload(7, uint32(i))}); err != nil {
					t.Fatal(err)
				}
				if err := c.SendData(UserData{RC: 4, HasRC: true, SLS: uint8(i), Payload: payload(8, uint32(i))}); err != nil {
					t.Fatal(err)
				}
			}
			srvSink.waitFor(t, "DATA at the server", func() bool { return len(srvSink.data) == n })
			cliSink.waitFor(t, "DATA at the client", func() bool { return len(cliSink.data) == n })
			for _, s := range []*sink{srvSink, cliSink} {
				s.mu.Lock()
				for _, e := range s.events {
					if r, ok := e.(Refused); ok {
						t.Errorf("refused: %v", r.Err)
					}
				}
				s.mu.Unlock()
			}
		})
	}
}

func TestStartClientIPSPMustRequest(t *testing.T) {
	_, err := StartClient(ClientConfig{Transport: sctptest.NewNetwork(), SGPs: []sctp.Addr{sgpAddr}, IPSP: &IPSPConfig{Exchange: SingleExchange}})
	if err == nil {
		t.Fatal("a single-exchange client IPSP that does not initiate was accepted")
	}
}

// An IPSP server's graceful Shutdown takes its own ASP down at the peer
// (ASPIA, ASPDN, each acknowledged) before SCTP SHUTDOWN when it requests
// (double exchange); in single exchange, answering, it has no state of its
// own and sends neither.
func TestServerIPSPShutdownSendsASPIAAndASPDN(t *testing.T) {
	for _, x := range []IPSPExchange{DoubleExchange, SingleExchange} {
		t.Run(x.String(), func(t *testing.T) {
			net := sctptest.NewNetwork()
			srv := startServer(t, net, ServerConfig{
				SGP:  SGPConfig{ASes: []ASConfig{{RC: 4, Mode: Loadshare}}},
				IPSP: &IPSPConfig{Exchange: x, ASP: ASPConfig{ASPID: 2, HasASPID: true, RCs: []uint32{4}, Mode: Loadshare, AutoActivate: true}},
			})
			cliSink := newSink()
			c := startClient(t, ClientConfig{
				ASP:       ASPConfig{ASPID: 1, HasASPID: true, RCs: []uint32{4}, Mode: Loadshare, AutoActivate: true},
				Transport: net, Local: aspAddr(1), SGPs: []sctp.Addr{sgpAddr}, Handlers: cliSink.handlers(),
				Backoff: Backoff{Initial: time.Hour}, // no reconnection after the shutdown
				IPSP:    &IPSPConfig{Exchange: x, Initiator: true, SGP: SGPConfig{ASes: []ASConfig{{RC: 4, Mode: Loadshare}}}},
			})
			waitActive(t, c, 1)
			serverAt := func() ([]ASPState, bool) { tr, ended, _ := peerStates(cliSink.events, 2); return tr, ended }
			if x == DoubleExchange {
				cliSink.waitFor(t, "the server IPSP active at the client", func() bool {
					tr, _ := serverAt()
					return len(tr) > 0 && tr[len(tr)-1] == ASPActive
				})
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitLong)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			cliSink.waitFor(t, "the association to end", func() bool { _, ended := serverAt(); return ended })
			cliSink.mu.Lock()
			tr, _ := serverAt()
			cliSink.mu.Unlock()
			dc := srv.DriverCounters()
			sent := func(class, typ uint8) uint64 { return dc.msgs[dirOut][class][typ].Load() }
			got := func(class, typ uint8) uint64 { return dc.msgs[dirIn][class][typ].Load() }
			aspia, aspdn := sent(ClassASPTM, messages.MsgTypeAspInactive), sent(ClassASPSM, messages.MsgTypeAspDown)
			iaAck, dnAck := got(ClassASPTM, messages.MsgTypeAspInactiveAck), got(ClassASPSM, messages.MsgTypeAspDownAck)
			if x == SingleExchange {
				if aspia != 0 || aspdn != 0 || len(tr) != 0 {
					t.Fatalf("answering server sent ASPIA %d, ASPDN %d; its states at the client %v", aspia, aspdn, tr)
				}
				return
			}
			if aspia != 1 || aspdn != 1 || iaAck != 1 || dnAck != 1 {
				t.Fatalf("sent ASPIA %d, ASPDN %d; received ASPIA ACK %d, ASPDN ACK %d; want 1 each", aspia, aspdn, iaAck, dnAck)
			}
			// Down, inactive, active, then inactive and down by the
			// server's requests, all before the association ended.
			want := []ASPState{ASPDown, ASPInactive, ASPInactive, ASPActive, ASPActive, ASPInactive, ASPInactive, ASPDown}
			if !slices.Equal(tr, want) {
				t.Fatalf("the server's states at the client, in pairs from/to: %v, want %v", tr, want)
			}
			if st := srv.LocalState(1); st != ASPDown {
				t.Fatalf("server's own state %v after Shutdown", st)
			}
		})
	}
}

// peerStates is the state transitions (from, to, from, to...) of the peer
// ASP with identifier aspID as this end's answering half saw them in
// events, up to the first association end, with that end's error.
func peerStates(events []Event, aspID uint32) (tr []ASPState, ended bool, endErr error) {
	for _, e := range events {
		switch e := e.(type) {
		case ASPStateChanged:
			if !e.Local && e.ASPID == aspID {
				tr = append(tr, e.From, e.To)
			}
		case AssocEnded:
			return tr, true, e.Err
		}
	}
	return tr, false, nil
}

// A single-exchange IPSP server that initiates, facing a peer that only
// answers (a raw association here): Shutdown sends ASPIA, then ASPDN once
// ASPIA is acknowledged, then ends the association once ASPDN is; a peer
// that does not answer makes Shutdown give up with ctx's error.
func TestServerIPSPInitiatorShutdown(t *testing.T) {
	for _, answer := range []bool{true, false} {
		t.Run(fmt.Sprintf("answered=%v", answer), func(t *testing.T) {
			net := sctptest.NewNetwork()
			srv := startServer(t, net, ServerConfig{
				SGP:  SGPConfig{ASes: []ASConfig{{RC: 4, Mode: Loadshare}}},
				IPSP: &IPSPConfig{Exchange: SingleExchange, Initiator: true, ASP: ASPConfig{RCs: []uint32{4}, Mode: Loadshare, AutoActivate: true}},
			})
			raw, err := net.Dial(context.Background(), aspAddr(1), sgpAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			next := func(class, typ uint8) {
				t.Helper()
				if m := rawRead(t, raw); m.ppid != PPID || len(m.data) < HeaderLen || m.data[2] != class || m.data[3] != typ {
					t.Fatalf("got %s, want %s", MessageName(m.data[2], m.data[3]), MessageName(class, typ))
				}
			}
			next(ClassASPSM, messages.MsgTypeAspUp)
			rawSend(t, raw, messages.NewAspUpAck(nil, nil))
			next(ClassASPTM, messages.MsgTypeAspActive)
			rawSend(t, raw, messages.NewAspActiveAck(params.NewTrafficModeType(uint32(Loadshare)), params.NewRoutingContext(4), nil))
			deadline := time.Now().Add(waitLong)
			for srv.LocalState(1) != ASPActive {
				if time.Now().After(deadline) {
					t.Fatalf("server's own state %v", srv.LocalState(1))
				}
				time.Sleep(time.Millisecond)
			}
			wait := waitLong
			if !answer {
				wait = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- srv.Shutdown(ctx) }()
			next(ClassASPTM, messages.MsgTypeAspInactive)
			if !answer {
				if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Shutdown with ASPIA unanswered: %v", err)
				}
				return
			}
			rawSend(t, raw, messages.NewAspInactiveAck(params.NewRoutingContext(4), nil))
			next(ClassASPSM, messages.MsgTypeAspDown)
			select {
			case err := <-done:
				t.Fatalf("Shutdown returned %v before ASPDN was acknowledged", err)
			case <-time.After(50 * time.Millisecond):
			}
			rawSend(t, raw, messages.NewAspDownAck(nil))
			if err := <-done; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			buf := make([]byte, 256)
			for {
				raw.SetReadDeadline(time.Now().Add(waitLong))
				m, ev, err := raw.Recv(buf)
				if err != nil {
					break // the server ended the association
				}
				if ev == nil {
					t.Fatalf("after ASPDN ACK the server sent %x", m.Data)
				}
			}
		})
	}
}
