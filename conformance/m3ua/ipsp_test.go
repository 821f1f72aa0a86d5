package m3ua_test

import (
	"context"
	"errors"
	"time"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// Test purposes for the IPSP role (RFC 4666 4.3.3): the IUT is m3ua.Server
// or m3ua.Client in IPSP mode, the tester a raw IPSP. SE: single exchange,
// DE: double exchange.

// ipspAS is the AS both IPSPs serve: routing context 1, loadshare.
func ipspAS() m3ua.SGPConfig {
	return m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 1, Mode: m3ua.Loadshare, Recovery: 300 * time.Millisecond}}}
}

// ipspLocal is the IUT's requesting half: ASP Identifier 0x1b, RC 1.
func ipspLocal() m3ua.ASPConfig {
	return m3ua.ASPConfig{ASPID: 0x1b, HasASPID: true, RCs: []uint32{1}, Mode: m3ua.Loadshare, AutoActivate: true, Ack: time.Minute}
}

// startIPSPServer starts an m3ua.Server in IPSP mode on host 1.
func (x *tcx) startIPSPServer(ic m3ua.IPSPConfig) *sgpIUT {
	x.Helper()
	addr := sctp.Addr{IPs: x.e.sgpIP, Port: x.e.nextPort()}
	ln, err := x.e.sgpT.Listen(addr)
	if err != nil {
		x.Fatalf("listen %s: %v", addr, err)
	}
	rec := newRecorder()
	srv := m3ua.NewServer(m3ua.ServerConfig{SGP: ipspAS(), Handlers: rec.handlers(), IPSP: &ic})
	go srv.Serve(ln)
	x.Cleanup(func() { srv.Close() })
	return &sgpIUT{x: x, srv: srv, addr: addr, rec: rec}
}

// upLocal plays the answering tester for the IUT's own ASPUP and ASPAC.
func upLocal(x *tcx, p *peer) {
	x.Helper()
	p.expect(mgmt(x, messages.NewAspUp(params.NewAspIdentifier(0x1b), nil)))
	p.send(0, messages.NewAspUpAck(params.NewAspIdentifier(0x1b), nil))
	p.expect(mgmt(x, aspac(m3ua.Loadshare, 1)))
	p.send(0, aspacAck(m3ua.Loadshare, 1))
}

// upPeer brings the tester up and active at the IUT (it answers as an SGP).
func upPeer(x *tcx, p *peer) {
	x.Helper()
	p.send(0, messages.NewAspUp(params.NewAspIdentifier(0x2c), nil))
	p.expect(mgmt(x, messages.NewAspUpAck(params.NewAspIdentifier(0x2c), nil)))
	p.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
	p.send(0, aspac(m3ua.Loadshare, 1))
	p.expect(mgmt(x, aspacAck(m3ua.Loadshare, 1)))
	p.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
}

// dataBothWays: DATA from the tester reaches the IUT's user, and the IUT's
// SendDataTo reaches the tester on a stream other than 0.
func dataBothWays(x *tcx, s *sgpIUT, p *peer) {
	x.Helper()
	p.send(2, data(1, true, 0x10, 0x20, 9, "to-iut"))
	s.rec.waitFor(x, "the DATA at the IUT", func() bool { return len(s.rec.data) == 1 })
	u := m3ua.UserData{RC: 1, HasRC: true, OPC: 0x20, DPC: 0x10, SI: 3, NI: 2, SLS: 4, Payload: []byte("to-tester")}
	if err := s.srv.SendDataTo(s.assocOf(p), u); err != nil {
		x.Fatal(err)
	}
	p.expect(exp{anyData: true, msg: enc(x, m3ua.NewData(u))})
}

func ipspSE() []tp {
	return []tp{
		{"M3UA_IPSP_SE_V_001", "single exchange, IUT answering: the tester's ASPUP and ASPAC are acknowledged with the AS notifications, and the IUT sends no ASPUP of its own", func(x *tcx) {
			s := x.startIPSPServer(m3ua.IPSPConfig{Exchange: m3ua.SingleExchange, ASP: ipspLocal()})
			p := s.dial()
			p.expectNothing()
			upPeer(x, p)
			p.expectNothing()
		}},
		{"M3UA_IPSP_SE_V_002", "single exchange, IUT answering: once the tester is ASP-ACTIVE, DATA flows both ways", func(x *tcx) {
			s := x.startIPSPServer(m3ua.IPSPConfig{Exchange: m3ua.SingleExchange, ASP: ipspLocal()})
			p := s.dial()
			upPeer(x, p)
			dataBothWays(x, s, p)
		}},
		{"M3UA_IPSP_SE_V_003", "single exchange, IUT initiating: the IUT sends ASPUP, then ASPAC after the ack, and once acknowledged DATA flows both ways", func(x *tcx) {
			a := x.startIPSP(m3ua.IPSPConfig{Exchange: m3ua.SingleExchange, Initiator: true})
			upLocal(x, a.p)
			a.waitState(x, m3ua.ASPActive)
			a.p.send(2, data(1, true, 0x10, 0x20, 9, "to-iut"))
			a.rec.waitFor(x, "the DATA at the IUT", func() bool { return len(a.rec.data) == 1 })
			u := m3ua.UserData{RC: 1, HasRC: true, OPC: 0x20, DPC: 0x10, SI: 3, NI: 2, SLS: 4, Payload: []byte("to-tester")}
			if err := a.c.SendData(u); err != nil {
				x.Fatal(err)
			}
			a.p.expect(exp{anyData: true, msg: enc(x, m3ua.NewData(u))})
		}},
		{"M3UA_IPSP_SE_I_001", "single exchange, IUT initiating: an ASPUP from the tester is answered with ERR Unexpected Message; the IUT stays ASP-ACTIVE", func(x *tcx) {
			a := x.startIPSP(m3ua.IPSPConfig{Exchange: m3ua.SingleExchange, Initiator: true})
			upLocal(x, a.p)
			a.waitState(x, m3ua.ASPActive)
			a.p.send(0, messages.NewAspUp(nil, nil))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
			a.p.expectUp()
			if st := a.c.States()[0]; st != m3ua.ASPActive {
				x.Errorf("IUT %v after the refused ASPUP", st)
			}
		}},
		{"M3UA_IPSP_SE_I_002", "single exchange, IUT answering: an ASPUP ACK it never asked for is answered with ERR Unexpected Message", func(x *tcx) {
			s := x.startIPSPServer(m3ua.IPSPConfig{Exchange: m3ua.SingleExchange, ASP: ipspLocal()})
			p := s.dial()
			upPeer(x, p)
			p.send(0, messages.NewAspUpAck(nil, nil))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
			p.expectUp()
		}},
	}
}

func ipspDE() []tp {
	return []tp{
		{"M3UA_IPSP_DE_V_001", "double exchange, IUT accepting: it sends ASPUP and ASPAC itself and answers the tester's; both end ASP-ACTIVE and DATA flows both ways", func(x *tcx) {
			s := x.startIPSPServer(m3ua.IPSPConfig{Exchange: m3ua.DoubleExchange, ASP: ipspLocal()})
			p := s.dial()
			p.expect(mgmt(x, messages.NewAspUp(params.NewAspIdentifier(0x1b), nil)))
			p.send(0, messages.NewAspUp(params.NewAspIdentifier(0x2c), nil))
			p.expectAll(mgmt(x, messages.NewAspUpAck(params.NewAspIdentifier(0x2c), nil)), mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(0, messages.NewAspUpAck(params.NewAspIdentifier(0x1b), nil))
			p.expect(mgmt(x, aspac(m3ua.Loadshare, 1)))
			p.send(0, aspac(m3ua.Loadshare, 1))
			p.expectAll(mgmt(x, aspacAck(m3ua.Loadshare, 1)), mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
			p.send(0, aspacAck(m3ua.Loadshare, 1))
			a := s.assocOf(p)
			s.rec.waitFor(x, "the IUT's own ASP-ACTIVE", func() bool { return s.srv.LocalState(a) == m3ua.ASPActive })
			dataBothWays(x, s, p)
		}},
		{"M3UA_IPSP_DE_V_002", "double exchange: the IUT sends DATA only once the tester is ASP-ACTIVE at it, and refuses DATA (ERR Unexpected Message) until its own ASPAC is acknowledged", func(x *tcx) {
			s := x.startIPSPServer(m3ua.IPSPConfig{Exchange: m3ua.DoubleExchange, ASP: ipspLocal()})
			p := s.dial()
			p.expect(mgmt(x, messages.NewAspUp(params.NewAspIdentifier(0x1b), nil)))
			p.send(0, messages.NewAspUpAck(params.NewAspIdentifier(0x1b), nil))
			p.expect(mgmt(x, aspac(m3ua.Loadshare, 1)))
			a := s.assocOf(p)
			u := m3ua.UserData{RC: 1, SLS: 4, OPC: 0x20, DPC: 0x10, SI: 3, NI: 2, Payload: []byte("x")}
			if err := s.srv.SendDataTo(a, u); !errors.Is(err, m3ua.ErrASPNotActive) {
				x.Fatalf("SendDataTo before the tester is active: %v", err)
			}
			// Our ASPAC is not acknowledged yet: DATA is refused.
			p.send(2, data(1, true, 0x10, 0x20, 9, "early"))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
			p.send(0, messages.NewAspUp(params.NewAspIdentifier(0x2c), nil))
			p.expectAll(mgmt(x, messages.NewAspUpAck(params.NewAspIdentifier(0x2c), nil)), mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(0, aspac(m3ua.Loadshare, 1))
			p.expectAll(mgmt(x, aspacAck(m3ua.Loadshare, 1)), mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
			if err := s.srv.SendDataTo(a, u); err != nil {
				x.Fatalf("SendDataTo once the tester is active: %v", err)
			}
			p.expect(exp{anyData: true, msg: enc(x, m3ua.NewData(m3ua.UserData{RC: 1, HasRC: true, SLS: 4, OPC: 0x20, DPC: 0x10, SI: 3, NI: 2, Payload: []byte("x")}))})
			if len(s.rec.data) != 0 {
				x.Errorf("DATA delivered before the IUT was active")
			}
		}},
		{"M3UA_IPSP_DE_V_003", "double exchange, IUT dialling (m3ua.Client): both exchanges complete and DATA flows both ways", func(x *tcx) {
			a := x.startIPSP(m3ua.IPSPConfig{Exchange: m3ua.DoubleExchange, SGP: ipspAS()})
			a.p.expect(mgmt(x, messages.NewAspUp(params.NewAspIdentifier(0x1b), nil)))
			a.p.send(0, messages.NewAspUp(params.NewAspIdentifier(0x2c), nil))
			a.p.expectAll(mgmt(x, messages.NewAspUpAck(params.NewAspIdentifier(0x2c), nil)), mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			a.p.send(0, messages.NewAspUpAck(params.NewAspIdentifier(0x1b), nil))
			a.p.expect(mgmt(x, aspac(m3ua.Loadshare, 1)))
			a.p.send(0, aspacAck(m3ua.Loadshare, 1))
			a.waitState(x, m3ua.ASPActive)
			u := m3ua.UserData{RC: 1, HasRC: true, OPC: 0x20, DPC: 0x10, SI: 3, NI: 2, SLS: 4, Payload: []byte("to-tester")}
			if err := a.c.SendData(u); !errors.Is(err, m3ua.ErrNoActiveSGP) {
				x.Fatalf("SendData before the tester is active at the IUT: %v", err)
			}
			a.p.send(0, aspac(m3ua.Loadshare, 1))
			a.p.expectAll(mgmt(x, aspacAck(m3ua.Loadshare, 1)), mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
			a.p.send(2, data(1, true, 0x10, 0x20, 9, "to-iut"))
			a.rec.waitFor(x, "the DATA at the IUT", func() bool { return len(a.rec.data) == 1 })
			ctx, cancel := context.WithTimeout(context.Background(), x.e.wait)
			defer cancel()
			for {
				err := a.c.SendData(u)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					x.Fatalf("SendData: %v", err)
				}
				time.Sleep(5 * time.Millisecond)
			}
			a.p.expect(exp{anyData: true, msg: enc(x, m3ua.NewData(u))})
		}},
		{"M3UA_IPSP_DE_V_004", "double exchange: ASPIA from the tester is acknowledged (NTFY AS-PENDING, then AS-INACTIVE when T(r) expires); the IUT stops sending to it but, still ASP-ACTIVE itself, takes its DATA", func(x *tcx) {
			s := x.startIPSPServer(m3ua.IPSPConfig{Exchange: m3ua.DoubleExchange, ASP: ipspLocal()})
			p := s.dial()
			upLocal(x, p)
			upPeer(x, p)
			a := s.assocOf(p)
			s.rec.waitFor(x, "the IUT's own ASP-ACTIVE", func() bool { return s.srv.LocalState(a) == m3ua.ASPActive })
			p.send(0, aspia(1))
			p.expectAll(mgmt(x, aspiaAck(1)), mgmt(x, ntfyAS(m3ua.StatusASPending, 1)))
			if err := s.srv.SendDataTo(a, m3ua.UserData{RC: 1, SLS: 4, Payload: []byte("x")}); !errors.Is(err, m3ua.ErrASPNotActive) {
				x.Fatalf("SendDataTo after the tester's ASPIA: %v", err)
			}
			p.send(2, data(1, true, 0x10, 0x20, 9, "still"))
			s.rec.waitFor(x, "the DATA at the IUT", func() bool { return len(s.rec.data) == 1 })
			// T(r) of the AS the tester left expires: AS-INACTIVE.
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.expectNothing()
		}},
	}
}

func ipspSuite() []tp { return append(ipspSE(), ipspDE()...) }
