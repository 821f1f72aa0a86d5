package m3ua_test

import (
	"bytes"
	"time"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// Test purposes for the SGP role: the IUT is m3ua.Server, the tester a raw
// ASP.

// oneAS is an SGP with one AS, routing context 1, in mode m.
func oneAS(m m3ua.TrafficMode) m3ua.SGPConfig {
	return m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 1, Mode: m, Recovery: 300 * time.Millisecond}}}
}

// upActive brings a fresh association to ASP-ACTIVE in AS 1 of oneAS.
func upActive(x *tcx, s *sgpIUT) *peer {
	x.Helper()
	p := s.dial()
	p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
	p.active([]uint32{1}, mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
	return p
}

func sgpASPSM() []tp {
	return []tp{
		{"M3UA_SGP_ASPSM_V_003", "ASPUP in ASP-DOWN is acknowledged with ASPUP ACK, then NTFY AS-INACTIVE for the AS", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPSM_V_001", "ASPUP with ASP Identifier: ASPUP ACK carries the same ASP Identifier", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.send(0, messages.NewAspUp(params.NewAspIdentifier(0x01020304), nil))
			p.expect(mgmt(x, messages.NewAspUpAck(params.NewAspIdentifier(0x01020304), nil)))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
		}},
		{"M3UA_SGP_ASPSM_V_005", "ASPDN in ASP-INACTIVE is acknowledged with ASPDN ACK; the association stays up", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(0, messages.NewAspDown(nil))
			p.expect(mgmt(x, messages.NewAspDownAck(nil)))
			p.expectUp()
		}},
		{"M3UA_SGP_ASPSM_O_001", "a second ASPUP in ASP-INACTIVE gets ASPUP ACK and no NTFY", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(0, messages.NewAspUp(nil, nil))
			p.expect(mgmt(x, messages.NewAspUpAck(nil, nil)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPTM_V_011", "BEAT with Heartbeat Data from an ASP-ACTIVE ASP is answered with BEAT ACK carrying the data unchanged", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			hb := []byte("0123456789abcdefXYZ") // 19 bytes: padded on the wire
			p.send(0, messages.NewHeartbeat(params.NewHeartbeatData(hb)))
			p.expect(mgmt(x, messages.NewHeartbeatAck(params.NewHeartbeatData(hb))))
		}},
		{"M3UA_SGP_ASPSM_O_004", "ASPDN in ASP-DOWN is acknowledged with ASPDN ACK", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.send(0, messages.NewAspDown(nil))
			p.expect(mgmt(x, messages.NewAspDownAck(nil)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPSM_X_001", "ASPDN in ASP-ACTIVE: ASPDN ACK; the other ASP that is up hears NTFY AS-PENDING, then AS-INACTIVE when T(r) expires", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			q := s.dial()
			q.up() // the AS is active: no NTFY
			p.send(0, messages.NewAspDown(nil))
			p.expect(mgmt(x, messages.NewAspDownAck(nil)))
			q.expect(mgmt(x, ntfyAS(m3ua.StatusASPending, 1)))
			q.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPSM_O_003", "ASPUP in ASP-ACTIVE: ASPUP ACK, ERR Unexpected Message, the ASP is inactive again (NTFY AS-PENDING: RFC 4666 keeps the AS pending for T(r), where RFC 3332 era testers expect AS-INACTIVE)", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.send(0, messages.NewAspUp(nil, nil))
			p.expect(mgmt(x, messages.NewAspUpAck(nil, nil)))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASPending, 1)))
			if st := s.srv.ASPState(s.assocOf(p)); st != m3ua.ASPInactive {
				x.Errorf("ASP state %v, want ASP-INACTIVE", st)
			}
		}},
		{"M3UA_SGP_ASPSM_X_002", "the association of an ASP-ACTIVE ASP (no ASP Identifier) ends: the other ASP hears NTFY ASP Failure without ASP Identifier, then, the AS going pending, NTFY AS-PENDING", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			q := s.dial()
			q.up()
			p.a.Abort()
			q.expect(mgmt(x, ntfyOther(m3ua.StatusASPFailure, 1)))
			q.expect(mgmt(x, ntfyAS(m3ua.StatusASPending, 1)))
			q.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
		}},
		{"M3UA_SGP_ASPSM_X_003", "an ERR from the ASP is taken without answer; the association stays up", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(0, errMsg(m3ua.ErrProtocolError))
			p.expectNothing()
			p.expectUp()
		}},
		{"M3UA_SGP_ASPSM_X_004", "with BEAT on, an ASP that leaves a BEAT unanswered beyond the timeout is cut off: the SGP aborts the association", func(x *tcx) {
			cfg := oneAS(m3ua.Override)
			cfg.Beat = m3ua.BeatConfig{Interval: 200 * time.Millisecond, Timeout: 500 * time.Millisecond}
			s := x.startSGP(cfg)
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			it, ok := p.next(x.e.wait)
			if !ok || it.end != nil || len(it.data) < 4 || it.data[2] != m3ua.ClassASPSM || it.data[3] != 3 {
				x.Fatalf("expected BEAT, got %s (%v)", m3ua.DescribeBytes(it.data), it.end)
			}
			p.expectEnded()
		}},
		{"M3UA_SGP_ASPSM_I_001", "ASPUP with version 2 gets ERR Invalid Version; the association stays up", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.sendRaw(0, withHeader(enc(x, messages.NewAspUp(nil, nil)), 2, 3, 1))
			p.expect(mgmt(x, errMsg(m3ua.ErrInvalidVersion)))
			p.expectUp()
		}},
		{"M3UA_SGP_ASPSM_X_005", "ASPUP on stream 1 gets ERR Invalid Stream Identifier; the ASP stays down", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.send(1, messages.NewAspUp(nil, nil))
			p.expect(mgmt(x, errMsg(m3ua.ErrInvalidStreamIdentifier)))
			if st := s.srv.ASPState(s.assocOf(p)); st != m3ua.ASPDown {
				x.Errorf("ASP state %v, want ASP-DOWN", st)
			}
		}},
		{"M3UA_SGP_ASPSM_X_006", "ASPUP without ASP Identifier where the SGP requires one gets ERR ASP Identifier Required", func(x *tcx) {
			cfg := oneAS(m3ua.Override)
			cfg.RequireASPID = true
			s := x.startSGP(cfg)
			p := s.dial()
			p.send(0, messages.NewAspUp(nil, nil))
			p.expect(mgmt(x, errMsg(m3ua.ErrASPIdentifierRequired)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPSM_X_007", "a message of an unknown class (10) gets ERR Unsupported Message Class", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.sendRaw(0, rawMsg(10, 1))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedMessageClass)))
			p.expectUp()
		}},
		{"M3UA_SGP_ASPSM_I_002", "an ASPSM message of unknown type (7) gets ERR Unsupported Message Type", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.sendRaw(0, rawMsg(m3ua.ClassASPSM, 7))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedMessageType)))
			p.expectUp()
		}},
		{"M3UA_SGP_ASPSM_V_009", "ASPUP from a management-blocked ASP gets ERR Refused - Management Blocking", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			s.srv.Block(s.assocOf(p))
			p.send(0, messages.NewAspUp(nil, nil))
			p.expect(mgmt(x, errMsg(m3ua.ErrRefusedManagementBlocking)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPSM_X_008", "ASPUP with a parameter ASPUP does not allow (Routing Context) gets ERR Unexpected Parameter", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.sendRaw(0, rawMsg(m3ua.ClassASPSM, 1, rawParam(params.RoutingContext, u32(1))))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedParameter)))
			p.expectUp()
		}},
		{"M3UA_SGP_ASPSM_X_009", "ASPUP whose length field disagrees with the SCTP message gets ERR Protocol Error", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			b := enc(x, messages.NewAspUp(nil, nil))
			b[7] = 12
			p.sendRaw(0, b)
			p.expect(mgmt(x, errMsg(m3ua.ErrProtocolError)))
			p.expectUp()
		}},
	}
}

// three ASes: 1 override, 2 loadshare (n = 2), 3 broadcast, 4 override.
func fourAS() m3ua.SGPConfig {
	r := 300 * time.Millisecond
	return m3ua.SGPConfig{ASes: []m3ua.ASConfig{
		{RC: 1, Mode: m3ua.Override, Recovery: r},
		{RC: 2, Mode: m3ua.Loadshare, MinActive: 2, Recovery: r},
		{RC: 3, Mode: m3ua.Broadcast, Recovery: r},
		{RC: 4, Mode: m3ua.Override, Recovery: r},
	}}
}

func upFour(x *tcx, p *peer, first bool) {
	x.Helper()
	if !first {
		p.up()
		return
	}
	p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)), mgmt(x, ntfyAS(m3ua.StatusASInactive, 2)),
		mgmt(x, ntfyAS(m3ua.StatusASInactive, 3)), mgmt(x, ntfyAS(m3ua.StatusASInactive, 4)))
}

func sgpASPTM() []tp {
	return []tp{
		{"M3UA_SGP_ASPTM_V_005", "ASPAC with Routing Context 1: ASPAC ACK with RC 1, then NTFY AS-ACTIVE RC 1", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(0, aspac(0, 1))
			p.expect(mgmt(x, aspacAck(0, 1)))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPTM_V_001", "ASPAC with Traffic Mode Type override: ASPAC ACK carries the same Traffic Mode Type", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(0, aspac(m3ua.Override, 1))
			p.expect(mgmt(x, aspacAck(m3ua.Override, 1)))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
		}},
		{"M3UA_SGP_ASPTM_V_003", "ASPAC without Routing Context activates the ASP in every AS configured for it", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(0, aspac(0))
			p.expect(mgmt(x, aspacAck(0)))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
			if st := s.srv.ASState(1); st != m3ua.ASActive {
				x.Errorf("AS 1 %v", st)
			}
		}},
		{"M3UA_SGP_ASPTM_V_008", "ASPIA of the only active ASP: ASPIA ACK, NTFY AS-PENDING, then NTFY AS-INACTIVE when T(r) expires", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.send(0, aspia(1))
			p.expect(mgmt(x, aspiaAck(1)))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASPending, 1)))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
		}},
		{"M3UA_SGP_ASPTM_V_014", "override: a second ASP's ASPAC is acknowledged and the first ASP hears NTFY Alternate ASP Active; no AS state NTFY", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			q := s.dial()
			q.up()
			q.send(0, aspac(m3ua.Override, 1))
			q.expect(mgmt(x, aspacAck(m3ua.Override, 1)))
			p.expect(mgmt(x, ntfyOther(m3ua.StatusAlternateASPActive, 1)))
			p.expectNothing()
			q.expectNothing()
		}},
		{"M3UA_SGP_ASPTM_V_013", "loadshare with n = 2: an active ASP leaving leaves one; the inactive ASP hears NTFY Insufficient ASP resources active in AS", func(x *tcx) {
			s := x.startSGP(m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 2, Mode: m3ua.Loadshare, MinActive: 2}}})
			a := s.dial()
			a.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 2)))
			b := s.dial()
			b.up()
			c := s.dial()
			c.up()
			a.send(0, aspac(m3ua.Loadshare, 2))
			a.expect(mgmt(x, aspacAck(m3ua.Loadshare, 2)))
			for _, p := range []*peer{a, b, c} {
				p.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, 2)))
			}
			b.send(0, aspac(m3ua.Loadshare, 2))
			b.expect(mgmt(x, aspacAck(m3ua.Loadshare, 2)))
			a.send(0, aspia(2))
			a.expect(mgmt(x, aspiaAck(2)))
			c.expect(mgmt(x, ntfyOther(m3ua.StatusInsufficientASPResources, 2)))
			b.expectNothing()
		}},
		{"M3UA_SGP_ASPTM_X_001", "loadshare: two ASPs active in one AS, neither hears Alternate ASP Active", func(x *tcx) {
			s := x.startSGP(m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 2, Mode: m3ua.Loadshare}}})
			a := s.dial()
			a.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 2)))
			b := s.dial()
			b.up()
			a.send(0, aspac(m3ua.Loadshare, 2))
			a.expect(mgmt(x, aspacAck(m3ua.Loadshare, 2)))
			a.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, 2)))
			b.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, 2)))
			b.send(0, aspac(m3ua.Loadshare, 2))
			b.expect(mgmt(x, aspacAck(m3ua.Loadshare, 2)))
			a.expectNothing()
		}},
		{"M3UA_SGP_ASPTM_O_003", "ASPIA in ASP-INACTIVE is acknowledged with ASPIA ACK and nothing else", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(0, aspia(1))
			p.expect(mgmt(x, aspiaAck(1)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPTM_O_001", "a second ASPAC in ASP-ACTIVE is acknowledged again, with no NTFY", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.send(0, aspac(0, 1))
			p.expect(mgmt(x, aspacAck(0, 1)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPTM_X_002", "ASPAC for two routing contexts in one message: one ASPAC ACK with both, NTFY AS-ACTIVE for each", func(x *tcx) {
			s := x.startSGP(fourAS())
			p := s.dial()
			upFour(x, p, true)
			p.send(0, aspac(0, 1, 4))
			p.expect(mgmt(x, aspacAck(0, 1, 4)))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, 4)))
		}},
		{"M3UA_SGP_ASPTM_X_003", "AS-PENDING: DATA for the AS is queued and delivered, in order, when an ASP becomes active within T(r)", func(x *tcx) {
			cfg := oneAS(m3ua.Override)
			cfg.ASes[0].Recovery = time.Minute
			s := x.startSGP(cfg)
			p := upActive(x, s)
			q := s.dial()
			q.up()
			p.send(0, aspia(1))
			p.expect(mgmt(x, aspiaAck(1)))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASPending, 1)))
			q.expect(mgmt(x, ntfyAS(m3ua.StatusASPending, 1)))
			for i := range 3 {
				s.srv.SendData(m3ua.UserData{RC: 1, OPC: 7, DPC: 8, SI: 3, NI: 2, SLS: 5, Payload: []byte{byte(i)}})
			}
			q.active([]uint32{1})
			q.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
			for i := range 3 {
				q.expect(exp{anyData: true, msg: enc(x, m3ua.NewData(m3ua.UserData{RC: 1, HasRC: true, OPC: 7, DPC: 8, SI: 3, NI: 2, SLS: 5, Payload: []byte{byte(i)}}))})
			}
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
		}},
		{"M3UA_SGP_ASPTM_X_004", "broadcast: DATA from the network reaches every active ASP of the AS", func(x *tcx) {
			s := x.startSGP(m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 3, Mode: m3ua.Broadcast}}})
			a := s.dial()
			a.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 3)))
			a.active([]uint32{3}, mgmt(x, ntfyAS(m3ua.StatusASActive, 3)))
			b := s.dial()
			b.up()
			b.active([]uint32{3})
			s.srv.SendData(m3ua.UserData{RC: 3, OPC: 1, DPC: 2, SI: 5, NI: 2, SLS: 9, Payload: []byte("bcast")})
			w := exp{anyData: true, msg: enc(x, m3ua.NewData(m3ua.UserData{RC: 3, HasRC: true, OPC: 1, DPC: 2, SI: 5, NI: 2, SLS: 9, Payload: []byte("bcast")}))}
			a.expect(w)
			b.expect(w)
		}},
		{"M3UA_SGP_ASPTM_V_006", "ASPIA without Routing Context takes the ASP out of every AS it is active in", func(x *tcx) {
			s := x.startSGP(fourAS())
			p := s.dial()
			upFour(x, p, true)
			p.active([]uint32{1, 4}, mgmt(x, ntfyAS(m3ua.StatusASActive, 1)), mgmt(x, ntfyAS(m3ua.StatusASActive, 4)))
			p.send(0, aspia())
			p.expect(mgmt(x, aspiaAck()))
			p.expectAll(mgmt(x, ntfyAS(m3ua.StatusASPending, 1)), mgmt(x, ntfyAS(m3ua.StatusASPending, 4)))
		}},
		{"M3UA_SGP_ASPTM_X_005", "ASPAC on a stream other than 0 is accepted (ASPTM may use any stream)", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(1, aspac(0, 1))
			p.expect(on(x, anyStream, aspacAck(0, 1)))
			p.expect(on(x, anyStream, ntfyAS(m3ua.StatusASActive, 1)))
		}},
		{"M3UA_SGP_ASPTM_I_005", "ASPAC with an unconfigured Routing Context gets ERR Invalid Routing Context naming it", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(0, aspac(0, 99))
			p.expect(mgmt(x, errMsg(m3ua.ErrInvalidRoutingContext, 99)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPTM_I_003", "ASPAC asking loadshare for an override AS gets ERR Unsupported Traffic Mode Type", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(0, aspac(m3ua.Loadshare, 1))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedTrafficMode)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPSM_I_003", "ASPAC in ASP-DOWN gets ERR Unexpected Message", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.send(0, aspac(0, 1))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPTM_I_004", "ASPAC with Traffic Mode Type 7 gets ERR Unsupported Traffic Mode Type", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.sendRaw(0, rawMsg(m3ua.ClassASPTM, 1, rawParam(params.TrafficModeType, u32(7)), rawParam(params.RoutingContext, u32(1))))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedTrafficMode)))
		}},
		{"M3UA_SGP_ASPTM_X_006", "ASPIA in ASP-DOWN gets ERR Unexpected Message", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.send(0, aspia(1))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
		}},
		{"M3UA_SGP_ASPTM_X_007", "ASPAC from a management-blocked ASP gets ERR Refused - Management Blocking", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			s.srv.Block(s.assocOf(p))
			p.send(0, aspac(0, 1))
			p.expect(mgmt(x, errMsg(m3ua.ErrRefusedManagementBlocking)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPTM_X_008", "ASPAC without Routing Context at an SGP with no AS for the ASP gets ERR No Configured AS for ASP", func(x *tcx) {
			s := x.startSGP(m3ua.SGPConfig{})
			p := s.dial()
			p.up()
			p.send(0, aspac(0))
			p.expect(mgmt(x, errMsg(m3ua.ErrNoConfiguredASForASP)))
		}},
		{"M3UA_SGP_ASPTM_X_009", "ASPIA with an unconfigured Routing Context gets ERR Invalid Routing Context naming it", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.send(0, aspia(42))
			p.expect(mgmt(x, errMsg(m3ua.ErrInvalidRoutingContext, 42)))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPTM_X_010", "ASPAC ACK sent to the SGP gets ERR Unexpected Message", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(0, aspacAck(0, 1))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
		}},
		{"M3UA_SGP_ASPTM_I_006", "in ASP-INACTIVE, an ASPTM message of unknown type (5) gets ERR Unsupported Message Type", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.sendRaw(0, rawMsg(m3ua.ClassASPTM, 5))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedMessageType)))
		}},
		{"M3UA_SGP_ASPTM_X_011", "ASPAC with a Routing Context of 6 bytes gets ERR Parameter Field Error", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.sendRaw(0, rawMsg(m3ua.ClassASPTM, 1, rawParam(params.RoutingContext, []byte{0, 0, 0, 1, 0, 0})))
			p.expect(mgmt(x, errMsg(m3ua.ErrParameterFieldError)))
		}},
	}
}

func sgpMTR() []tp {
	dataAt := func(x *tcx, u m3ua.UserData) exp {
		u.HasRC = true
		return exp{anyData: true, msg: enc(x, m3ua.NewData(u))}
	}
	return []tp{
		{"M3UA_SGP_MTR_X_001", "DATA with Routing Context from an active ASP reaches the layer above with its label and payload", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.send(3, data(1, true, 0x11, 0x22, 7, "hello"))
			s.rec.waitFor(x, "the DATA", func() bool { return len(s.rec.data) == 1 })
			got := s.rec.data[0]
			want := m3ua.UserData{RC: 1, HasRC: true, OPC: 0x11, DPC: 0x22, SI: 3, NI: 2, SLS: 7, Payload: []byte("hello")}
			if got.String() != want.String() {
				x.Errorf("delivered %v, want %v", got, want)
			}
			p.expectNothing()
		}},
		{"M3UA_SGP_MTR_X_002", "DATA without Routing Context from an ASP active in one AS is taken for that AS", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.send(1, data(0, false, 1, 2, 0, "x"))
			s.rec.waitFor(x, "the DATA", func() bool { return len(s.rec.data) == 1 })
			if u := s.rec.data[0]; !u.HasRC || u.RC != 1 {
				x.Errorf("delivered %v, want routing context 1", u)
			}
		}},
		{"M3UA_SGP_MTR_X_003", "DATA from the network to an AS goes to its active ASP with the Routing Context, on a stream other than 0", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			u := m3ua.UserData{RC: 1, OPC: 0x3fff, DPC: 0x1234, SI: 5, NI: 3, MP: 1, SLS: 15, Payload: bytes.Repeat([]byte{0xab}, 271)}
			s.srv.SendData(u)
			p.expect(dataAt(x, u))
		}},
		{"M3UA_SGP_MTR_X_004", "DATA of one SLS stays on one stream and in order", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			const n = 50
			for i := range n {
				s.srv.SendData(m3ua.UserData{RC: 1, OPC: 1, DPC: 2, SI: 3, SLS: 4, Payload: []byte{byte(i)}})
			}
			stream := -1
			for i := range n {
				it := p.expect(dataAt(x, m3ua.UserData{RC: 1, OPC: 1, DPC: 2, SI: 3, SLS: 4, Payload: []byte{byte(i)}}))
				if stream >= 0 && int(it.stream) != stream {
					x.Fatalf("DATA %d on stream %d, the ones before on %d", i, it.stream, stream)
				}
				stream = int(it.stream)
			}
		}},
		{"M3UA_SGP_MTR_X_005", "loadshare: DATA from the network is shared by SLS between the active ASPs", func(x *tcx) {
			s := x.startSGP(m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 2, Mode: m3ua.Loadshare}}})
			a := s.dial()
			a.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 2)))
			a.active([]uint32{2}, mgmt(x, ntfyAS(m3ua.StatusASActive, 2)))
			b := s.dial()
			b.up()
			b.active([]uint32{2})
			for sls := range 8 {
				s.srv.SendData(m3ua.UserData{RC: 2, OPC: 1, DPC: 2, SI: 3, SLS: uint8(sls), Payload: []byte{byte(sls)}})
			}
			count := func(p *peer) int {
				n := 0
				for {
					it, ok := p.next(x.e.quiet)
					if !ok {
						return n
					}
					if it.end != nil || it.stream == 0 {
						x.Fatalf("got %s on stream %d", m3ua.DescribeBytes(it.data), it.stream)
					}
					n++
				}
			}
			na, nb := count(a), count(b)
			if na == 0 || nb == 0 || na+nb != 8 {
				x.Errorf("the ASPs got %d and %d DATA of 8", na, nb)
			}
		}},
		{"M3UA_SGP_MTR_X_007", "DATA queued while AS-PENDING is discarded when T(r) expires: the ASP activating later gets none", func(x *tcx) {
			cfg := oneAS(m3ua.Override)
			cfg.ASes[0].Recovery = 2 * time.Second // the DATA must be queued before it expires
			s := x.startSGP(cfg)
			p := upActive(x, s)
			p.send(0, aspia(1))
			p.expect(mgmt(x, aspiaAck(1)))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASPending, 1)))
			s.srv.SendData(m3ua.UserData{RC: 1, OPC: 7, DPC: 8, SI: 3, SLS: 5, Payload: []byte("late")})
			if q := s.srv.Counters().Queued; q != 1 {
				x.Fatalf("%d DATA queued, want 1", q)
			}
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.active([]uint32{1}, mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
			p.expectNothing()
		}},
		{"M3UA_SGP_MTR_X_008", "DATA on stream 0 gets ERR Invalid Stream Identifier and is not delivered", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.send(0, data(1, true, 1, 2, 0, "x"))
			p.expect(mgmt(x, errMsg(m3ua.ErrInvalidStreamIdentifier)))
			p.expectUp()
			if n := len(s.rec.data); n != 0 {
				x.Errorf("%d DATA delivered", n)
			}
		}},
		{"M3UA_SGP_MTR_X_009", "DATA from an ASP-INACTIVE ASP gets ERR Unexpected Message", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(1, data(1, true, 1, 2, 0, "x"))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
		}},
		{"M3UA_SGP_MTR_X_010", "DATA with an unconfigured Routing Context gets ERR Invalid Routing Context naming it", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.send(1, data(77, true, 1, 2, 0, "x"))
			p.expect(mgmt(x, errMsg(m3ua.ErrInvalidRoutingContext, 77)))
		}},
		{"M3UA_SGP_MTR_X_011", "DATA without Protocol Data gets ERR Missing Parameter", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.sendRaw(1, rawMsg(m3ua.ClassTransfer, 1, rawParam(params.RoutingContext, u32(1))))
			p.expect(mgmt(x, errMsg(m3ua.ErrMissingParameter)))
		}},
		{"M3UA_SGP_MTR_X_012", "DATA whose Protocol Data is shorter than the routing label gets ERR Parameter Field Error", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.sendRaw(1, rawMsg(m3ua.ClassTransfer, 1, rawParam(params.RoutingContext, u32(1)), rawParam(params.ProtocolData, make([]byte, 8))))
			p.expect(mgmt(x, errMsg(m3ua.ErrParameterFieldError)))
		}},
		{"M3UA_SGP_MTR_X_013", "DATA without Routing Context from an ASP active in two ASes gets ERR Missing Parameter", func(x *tcx) {
			s := x.startSGP(fourAS())
			p := s.dial()
			upFour(x, p, true)
			p.active([]uint32{1, 4}, mgmt(x, ntfyAS(m3ua.StatusASActive, 1)), mgmt(x, ntfyAS(m3ua.StatusASActive, 4)))
			p.send(1, data(0, false, 1, 2, 0, "x"))
			p.expect(mgmt(x, errMsg(m3ua.ErrMissingParameter)))
		}},
		{"M3UA_SGP_MTR_X_006", "at an SGP with a Network Appearance, DATA carrying that Network Appearance is delivered", func(x *tcx) {
			cfg := oneAS(m3ua.Override)
			cfg.NA, cfg.HasNA = 8, true
			s := x.startSGP(cfg)
			p := upActive(x, s)
			d := data(1, true, 1, 2, 0, "na")
			d.NetworkAppearance = params.NewNetworkAppearance(8)
			p.send(1, d)
			s.rec.waitFor(x, "the DATA", func() bool { return len(s.rec.data) == 1 })
			p.expectNothing()
		}},
		{"M3UA_SGP_MTR_X_015", "DATA with a Network Appearance the SGP is not configured with gets ERR Invalid Network Appearance and is not delivered", func(x *tcx) {
			cfg := oneAS(m3ua.Override)
			cfg.NA, cfg.HasNA = 8, true
			s := x.startSGP(cfg)
			p := upActive(x, s)
			d := data(1, true, 1, 2, 0, "na")
			d.NetworkAppearance = params.NewNetworkAppearance(9)
			p.send(1, d)
			p.expect(mgmt(x, errMsg(m3ua.ErrInvalidNetworkAppearance)))
			p.expectUp()
			if n := len(s.rec.data); n != 0 {
				x.Errorf("%d DATA delivered", n)
			}
		}},
		{"M3UA_SGP_MTR_X_014", "DATA for an AS the ASP is not active in gets ERR Unexpected Message", func(x *tcx) {
			s := x.startSGP(fourAS())
			p := s.dial()
			upFour(x, p, true)
			p.active([]uint32{1}, mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
			p.send(1, data(4, true, 1, 2, 0, "x"))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
		}},
	}
}

// rk is a routing key for DPC dpc.
func rk(id, dpc uint32) m3ua.RoutingKey { return m3ua.RoutingKey{LocalRKID: id, DPC: dpc} }

func regRsp(rs ...m3ua.RegResult) *m3ua.RegRsp { return &m3ua.RegRsp{Results: rs} }

func deregRsp(rs ...m3ua.DeregResult) *m3ua.DeregRsp { return &m3ua.DeregRsp{Results: rs} }

// keyed is an SGP with AS 1 (override) for DPC 100 and AS 2 (loadshare) for
// DPC 200, under policy pol.
func keyed(pol m3ua.RegistrationPolicy) m3ua.SGPConfig {
	k1, k2 := rk(0, 100), rk(0, 200)
	return m3ua.SGPConfig{Registration: pol, ASes: []m3ua.ASConfig{
		{RC: 1, Mode: m3ua.Override, Key: &k1},
		{RC: 2, Mode: m3ua.Loadshare, Key: &k2},
	}}
}

func upKeyed(x *tcx, s *sgpIUT) *peer {
	x.Helper()
	p := s.dial()
	p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)), mgmt(x, ntfyAS(m3ua.StatusASInactive, 2)))
	return p
}

func sgpRKM() []tp {
	return []tp{
		{"M3UA_SGP_RKM_V_001", "static: REG REQ for the routing key of a configured AS is answered Successfully Registered with its Routing Context", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(7, 100)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 7, Status: params.SuccessfullyRegistered, RC: 1})))
			p.expectNothing()
		}},
		{"M3UA_SGP_RKM_X_001", "static: REG REQ naming the Routing Context of a configured AS with its key is registered", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			k := rk(8, 200)
			k.RC, k.HasRC = 2, true
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{k}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 8, Status: params.SuccessfullyRegistered, RC: 2})))
		}},
		{"M3UA_SGP_RKM_V_002", "dynamic: REG REQ for a new routing key creates an AS: Successfully Registered with a new Routing Context, then NTFY AS-INACTIVE", func(x *tcx) {
			s := x.startSGP(m3ua.SGPConfig{Registration: m3ua.DynamicPermitted})
			p := s.dial()
			p.up()
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(1, 300)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 1, Status: params.SuccessfullyRegistered, RC: m3ua.DefaultDynamicRCBase})))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, m3ua.DefaultDynamicRCBase)))
		}},
		{"M3UA_SGP_RKM_X_002", "dynamic: the ASP activates the Routing Context it registered: ASPAC ACK, NTFY AS-ACTIVE, and DATA flows", func(x *tcx) {
			s := x.startSGP(m3ua.SGPConfig{Registration: m3ua.DynamicPermitted})
			p := s.dial()
			p.up()
			rc := uint32(m3ua.DefaultDynamicRCBase)
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(1, 300)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 1, Status: params.SuccessfullyRegistered, RC: rc})))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, rc)))
			p.active([]uint32{rc}, mgmt(x, ntfyAS(m3ua.StatusASActive, rc)))
			s.srv.SendData(m3ua.UserData{RC: rc, OPC: 1, DPC: 300, SI: 3, SLS: 1, Payload: []byte("dyn")})
			p.expect(exp{anyData: true, msg: enc(x, m3ua.NewData(m3ua.UserData{RC: rc, HasRC: true, OPC: 1, DPC: 300, SI: 3, SLS: 1, Payload: []byte("dyn")}))})
		}},
		{"M3UA_SGP_RKM_I_006", "a routing key registered twice is answered Routing Key Already Registered with its Routing Context (the RFC 4666 status; RFC 3332 had only Cannot Support Unique Routing)", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(7, 100)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 7, Status: params.SuccessfullyRegistered, RC: 1})))
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(9, 100)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 9, Status: params.RoutingKeyAlreadyRegistered, RC: 1})))
		}},
		{"M3UA_SGP_RKM_V_003", "DEREG REQ of a registered Routing Context is answered Successfully Deregistered", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(7, 100)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 7, Status: params.SuccessfullyRegistered, RC: 1})))
			p.send(0, &m3ua.DeregReq{RCs: []uint32{1}})
			p.expect(mgmt(x, deregRsp(m3ua.DeregResult{RC: 1, Status: params.SuccessfullyDeregistered})))
		}},
		{"M3UA_SGP_RKM_X_003", "REG REQ with two routing keys: one REG RSP with a result per key, in order", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(5, 200), rk(6, 100)}})
			p.expect(mgmt(x, regRsp(
				m3ua.RegResult{LocalRKID: 5, Status: params.SuccessfullyRegistered, RC: 2},
				m3ua.RegResult{LocalRKID: 6, Status: params.SuccessfullyRegistered, RC: 1})))
		}},
		{"M3UA_SGP_RKM_X_004", "dynamic: deregistering the last registration removes the AS; ASPAC for it then gets ERR Invalid Routing Context", func(x *tcx) {
			s := x.startSGP(m3ua.SGPConfig{Registration: m3ua.DynamicPermitted})
			p := s.dial()
			p.up()
			rc := uint32(m3ua.DefaultDynamicRCBase)
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(1, 300)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 1, Status: params.SuccessfullyRegistered, RC: rc})))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, rc)))
			p.send(0, &m3ua.DeregReq{RCs: []uint32{rc}})
			p.expect(mgmt(x, deregRsp(m3ua.DeregResult{RC: rc, Status: params.SuccessfullyDeregistered})))
			p.send(0, aspac(0, rc))
			p.expect(mgmt(x, errMsg(m3ua.ErrInvalidRoutingContext, rc)))
		}},
		{"M3UA_SGP_RKM_X_005", "dynamic: REG REQ with a traffic mode creates an AS in that mode (ASPAC with it is acknowledged)", func(x *tcx) {
			s := x.startSGP(m3ua.SGPConfig{Registration: m3ua.DynamicPermitted})
			p := s.dial()
			p.up()
			rc := uint32(m3ua.DefaultDynamicRCBase)
			k := rk(3, 301)
			k.Mode = m3ua.Loadshare
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{k}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 3, Status: params.SuccessfullyRegistered, RC: rc})))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, rc)))
			p.send(0, aspac(m3ua.Loadshare, rc))
			p.expect(mgmt(x, aspacAck(m3ua.Loadshare, rc)))
		}},
		{"M3UA_SGP_RKM_X_006", "a routing key with SI and OPC list matching a configured key is registered", func(x *tcx) {
			k := m3ua.RoutingKey{DPC: 100, SIs: []uint8{3}, OPCs: []uint32{5, 6}}
			s := x.startSGP(m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 9, Mode: m3ua.Override, Key: &k}}})
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 9)))
			q := m3ua.RoutingKey{LocalRKID: 4, DPC: 100, SIs: []uint8{3}, OPCs: []uint32{6, 5}}
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{q}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 4, Status: params.SuccessfullyRegistered, RC: 9})))
		}},
		{"M3UA_SGP_RKM_X_007", "dynamic: registrations end with the association: the AS goes, and a new association registering the key gets a Routing Context again", func(x *tcx) {
			s := x.startSGP(m3ua.SGPConfig{Registration: m3ua.DynamicPermitted})
			p := s.dial()
			p.up()
			rc := uint32(m3ua.DefaultDynamicRCBase)
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(1, 300)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 1, Status: params.SuccessfullyRegistered, RC: rc})))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, rc)))
			p.a.Abort()
			s.rec.waitFor(x, "the AS to be removed", func() bool {
				for _, e := range s.rec.events {
					if d, ok := e.(m3ua.ASDeregistered); ok && d.RC == rc && d.Removed {
						return true
					}
				}
				return false
			})
			q := s.dial()
			q.up()
			q.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(1, 300)}})
			q.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 1, Status: params.SuccessfullyRegistered, RC: rc})))
		}},
		{"M3UA_SGP_RKM_X_008", "dynamic: a second ASP registering the same routing key joins the AS: same Routing Context, and both serve it", func(x *tcx) {
			s := x.startSGP(m3ua.SGPConfig{Registration: m3ua.DynamicPermitted})
			rc := uint32(m3ua.DefaultDynamicRCBase)
			k := rk(1, 300)
			k.Mode = m3ua.Loadshare
			p := s.dial()
			p.up()
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{k}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 1, Status: params.SuccessfullyRegistered, RC: rc})))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, rc)))
			q := s.dial()
			q.up()
			k.LocalRKID = 2
			q.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{k}})
			q.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 2, Status: params.SuccessfullyRegistered, RC: rc})))
			p.send(0, aspac(m3ua.Loadshare, rc))
			p.expect(mgmt(x, aspacAck(m3ua.Loadshare, rc)))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, rc)))
			q.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, rc)))
			q.send(0, aspac(m3ua.Loadshare, rc))
			q.expect(mgmt(x, aspacAck(m3ua.Loadshare, rc)))
		}},
		{"M3UA_SGP_RKM_X_009", "DEREG REQ for several Routing Contexts: one DEREG RSP with a result per Routing Context, in order", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(7, 100)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 7, Status: params.SuccessfullyRegistered, RC: 1})))
			p.send(0, &m3ua.DeregReq{RCs: []uint32{2, 1, 66}})
			p.expect(mgmt(x, deregRsp(
				m3ua.DeregResult{RC: 2, Status: params.DeregNotRegistered},
				m3ua.DeregResult{RC: 1, Status: params.SuccessfullyDeregistered},
				m3ua.DeregResult{RC: 66, Status: params.DeregInvalidRoutingContext})))
		}},
		{"M3UA_SGP_RKM_I_007", "static: the key of AS 2 is configured for the ASP with ASP Identifier 7 only; the ASP with ASP Identifier 5 registering it is answered Permission Denied (RFC 4666 3.6.2 status 5), its key for AS 1 Successfully Registered", func(x *tcx) {
			cfg := keyed(m3ua.StaticOnly)
			cfg.ASes[1].ASPIDs = []uint32{7}
			s := x.startSGP(cfg)
			p := s.dial()
			p.upID(5, mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(7, 200), rk(8, 100)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 7, Status: params.PermissionDenied, RC: 0},
				m3ua.RegResult{LocalRKID: 8, Status: params.SuccessfullyRegistered, RC: 1})))
			p.expectNothing()
		}},
		{"M3UA_SGP_RKM_X_010", "DEREG REQ of an unknown Routing Context is answered Invalid Routing Context", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			p.send(0, &m3ua.DeregReq{RCs: []uint32{55}})
			p.expect(mgmt(x, deregRsp(m3ua.DeregResult{RC: 55, Status: params.DeregInvalidRoutingContext})))
		}},
		{"M3UA_SGP_RKM_I_020", "DEREG REQ of a Routing Context the ASP did not register is answered Not Registered", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			p.send(0, &m3ua.DeregReq{RCs: []uint32{2}})
			p.expect(mgmt(x, deregRsp(m3ua.DeregResult{RC: 2, Status: params.DeregNotRegistered})))
		}},
		{"M3UA_SGP_RKM_I_022", "DEREG REQ of a Routing Context the ASP is active in is answered ASP Currently Active for Routing Context", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(7, 100)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 7, Status: params.SuccessfullyRegistered, RC: 1})))
			p.active([]uint32{1}, mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
			p.send(0, &m3ua.DeregReq{RCs: []uint32{1}})
			p.expect(mgmt(x, deregRsp(m3ua.DeregResult{RC: 1, Status: params.DeregASPActiveForRoutingContext})))
		}},
		{"M3UA_SGP_RKM_X_018", "REG REQ whose traffic mode differs from the AS's is answered Unsupported Traffic Handling Mode", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			k := rk(7, 100)
			k.Mode = m3ua.Broadcast
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{k}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 7, Status: params.UnsupportedTrafficHandlingMode, RC: 0})))
		}},
		{"M3UA_SGP_RKM_X_011", "REG REQ in ASP-DOWN gets ERR Unexpected Message", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := s.dial()
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(7, 100)}})
			p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
		}},
		{"M3UA_SGP_RKM_I_003", "REG REQ with a routing key lacking the Destination Point Code is refused: ERR Missing Parameter, the DPC being mandatory in a routing key in RFC 4666 3.6.1", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			key := rawParam(params.RoutingKey, rawParam(params.LocalRoutingKeyIdentifier, u32(7)))
			p.sendRaw(0, rawMsg(m3ua.ClassRKM, 1, key))
			p.expect(mgmt(x, errMsg(m3ua.ErrMissingParameter)))
		}},
		{"M3UA_SGP_RKM_X_016", "REG REQ with a routing key lacking the Local-RK-Identifier gets ERR Missing Parameter", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			key := rawParam(params.RoutingKey, rawParam(params.DestinationPointCode, u32(100)))
			p.sendRaw(0, rawMsg(m3ua.ClassRKM, 1, key))
			p.expect(mgmt(x, errMsg(m3ua.ErrMissingParameter)))
		}},
		{"M3UA_SGP_RKM_X_017", "REG REQ with a parameter a routing key may not hold (ASP Identifier) gets ERR Unexpected Parameter", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			key := rawParam(params.RoutingKey, append(append(rawParam(params.LocalRoutingKeyIdentifier, u32(7)),
				rawParam(params.DestinationPointCode, u32(100))...), rawParam(params.AspIdentifier, u32(1))...))
			p.sendRaw(0, rawMsg(m3ua.ClassRKM, 1, key))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedParameter)))
		}},
		{"M3UA_SGP_RKM_I_005", "REG REQ with a Network Appearance other than the SGP's is answered Invalid Network Appearance", func(x *tcx) {
			cfg := keyed(m3ua.DynamicPermitted)
			cfg.NA, cfg.HasNA = 8, true
			s := x.startSGP(cfg)
			p := upKeyed(x, s)
			k := rk(7, 300)
			k.NA, k.HasNA = 9, true
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{k}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 7, Status: params.InvalidNetworkAppearance, RC: 0})))
		}},
		{"M3UA_SGP_RKM_X_012", "REG REQ on stream 1 gets ERR Invalid Stream Identifier", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			p.send(1, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(7, 100)}})
			p.expect(mgmt(x, errMsg(m3ua.ErrInvalidStreamIdentifier)))
		}},
		{"M3UA_SGP_RKM_I_009", "dynamic: a registration beyond the SGP's limit of dynamic ASes is answered Insufficient Resources", func(x *tcx) {
			s := x.startSGP(m3ua.SGPConfig{Registration: m3ua.DynamicPermitted, MaxDynamic: 1})
			p := s.dial()
			p.up()
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(1, 300), rk(2, 301)}})
			p.expect(mgmt(x, regRsp(
				m3ua.RegResult{LocalRKID: 1, Status: params.SuccessfullyRegistered, RC: m3ua.DefaultDynamicRCBase},
				m3ua.RegResult{LocalRKID: 2, Status: params.InsufficientResources, RC: 0})))
		}},
		{"M3UA_SGP_RKM_X_013", "REG REQ naming the Routing Context of an AS with another routing key is answered Invalid Routing Key", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			k := rk(7, 200)
			k.RC, k.HasRC = 1, true
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{k}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 7, Status: params.InvalidRoutingKey, RC: 0})))
		}},
		{"M3UA_SGP_RKM_X_014", "REG RSP sent to the SGP gets ERR Unexpected Message", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			p.send(0, regRsp(m3ua.RegResult{LocalRKID: 1, Status: 0, RC: 1}))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
		}},
		{"M3UA_SGP_RKM_X_015", "DEREG REQ without Routing Context gets ERR Missing Parameter", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			p.sendRaw(0, rawMsg(m3ua.ClassRKM, 3))
			p.expect(mgmt(x, errMsg(m3ua.ErrMissingParameter)))
		}},
		{"M3UA_SGP_RKM_I_023", "an RKM message of unknown type (5) gets ERR Unsupported Message Type", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			p.sendRaw(0, rawMsg(m3ua.ClassRKM, 5))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedMessageType)))
		}},
	}
}

func sgpSSNM() []tp {
	return []tp{
		{"M3UA_SGP_SSNM_X_001", "a destination becoming unavailable is reported to the active ASP with DUNA (APC, its Routing Context)", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			q := s.dial()
			q.up() // inactive: not told
			s.srv.SetDestination(0x1234, m3ua.DestUnavailable)
			p.expect(mgmt(x, messages.NewDestinationUnavailable(nil, rcP(1), params.NewAffectedPointCode(0x1234), nil)))
			q.expectNothing()
		}},
		{"M3UA_SGP_SSNM_004", "DAUD for an available destination is answered with DAVA", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			s.srv.SetDestination(0x55, m3ua.DestAvailable)
			p.expect(mgmt(x, messages.NewDestinationAvailable(nil, rcP(1), params.NewAffectedPointCode(0x55), nil)))
			p.send(0, messages.NewDestinationStateAudit(nil, rcP(1), params.NewAffectedPointCode(0x55), nil))
			p.expect(mgmt(x, messages.NewDestinationAvailable(nil, rcP(1), params.NewAffectedPointCode(0x55), nil)))
		}},
		{"M3UA_SGP_SSNM_X_002", "DAUD for a destination the SGP knows nothing of gets ERR Destination Status Unknown with the APC", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.send(0, messages.NewDestinationStateAudit(nil, nil, params.NewAffectedPointCode(0x77), nil))
			p.expect(mgmt(x, messages.NewError(params.NewErrorCode(uint32(m3ua.ErrDestinationStatusUnknown)), nil, nil, params.NewAffectedPointCode(0x77), nil)))
		}},
		{"M3UA_SGP_SSNM_X_003", "congestion towards a destination is reported with SCON carrying the congestion level", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			s.srv.SetCongestion(0x42, 2)
			p.expect(mgmt(x, messages.NewSignallingCongestion(nil, rcP(1), params.NewAffectedPointCode(0x42), nil, params.NewCongestionIndications(2), nil)))
		}},
		{"M3UA_SGP_SSNM_X_004", "an unavailable user part is reported with DUPU (User/Cause)", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			s.srv.ReportUserPartUnavailable(0x42, 3, m3ua.CauseUnequippedRemote)
			p.expect(mgmt(x, messages.NewDestinationUserPartUnavailable(nil, rcP(1), params.NewAffectedPointCode(0x42), params.NewUserCause(3, m3ua.CauseUnequippedRemote), nil)))
		}},
		{"M3UA_SGP_SSNM_002", "a destination becoming restricted is reported with DRST, and DAUD then answers DRST", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			s.srv.SetDestination(0x99, m3ua.DestRestricted)
			p.expect(mgmt(x, messages.NewDestinationRestricted(nil, rcP(1), params.NewAffectedPointCode(0x99), nil)))
			p.send(0, messages.NewDestinationStateAudit(nil, nil, params.NewAffectedPointCode(0x99), nil))
			p.expect(mgmt(x, messages.NewDestinationRestricted(nil, nil, params.NewAffectedPointCode(0x99), nil)))
		}},
		{"M3UA_SGP_SSNM_X_005", "an ASP that becomes active after destinations changed is sent their state right after ASPAC ACK: one DUNA for all unavailable APCs, DRST, SCON per level", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Loadshare))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			// Reported while no ASP is active: nobody is told yet.
			s.srv.SetDestination(0x300, m3ua.DestUnavailable)
			s.srv.SetDestination(0x100, m3ua.DestUnavailable)
			s.srv.SetDestination(0x200, m3ua.DestRestricted)
			s.srv.SetDestination(0x400, m3ua.DestAvailable)
			s.srv.SetCongestion(0x400, 2)
			p.expectNothing()
			p.send(0, aspac(0, 1))
			p.expect(mgmt(x, aspacAck(0, 1)))
			p.expectAll(
				mgmt(x, messages.NewDestinationUnavailable(nil, rcP(1), params.NewAffectedPointCode(0x100, 0x300), nil)),
				mgmt(x, messages.NewDestinationRestricted(nil, rcP(1), params.NewAffectedPointCode(0x200), nil)),
				mgmt(x, messages.NewSignallingCongestion(nil, rcP(1), params.NewAffectedPointCode(0x400), nil, params.NewCongestionIndications(2), nil)),
				mgmt(x, ntfyAS(m3ua.StatusASActive, 1)),
			)
			p.expectNothing()
			// A second ASP joining later hears the same.
			q := s.dial()
			q.up()
			q.send(0, aspac(0, 1))
			q.expect(mgmt(x, aspacAck(0, 1)))
			q.expectAll(
				mgmt(x, messages.NewDestinationUnavailable(nil, rcP(1), params.NewAffectedPointCode(0x100, 0x300), nil)),
				mgmt(x, messages.NewDestinationRestricted(nil, rcP(1), params.NewAffectedPointCode(0x200), nil)),
				mgmt(x, messages.NewSignallingCongestion(nil, rcP(1), params.NewAffectedPointCode(0x400), nil, params.NewCongestionIndications(2), nil)),
			)
			q.expectNothing()
		}},
		{"M3UA_SGP_SSNM_X_006", "DUNA sent to the SGP gets ERR Unexpected Message", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.send(0, messages.NewDestinationUnavailable(nil, nil, params.NewAffectedPointCode(1), nil))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
		}},
		{"M3UA_SGP_SSNM_X_008", "DAUD with a Network Appearance the SGP is not configured with gets ERR Invalid Network Appearance", func(x *tcx) {
			cfg := oneAS(m3ua.Override)
			cfg.NA, cfg.HasNA = 8, true
			s := x.startSGP(cfg)
			p := upActive(x, s)
			s.srv.SetDestination(0x55, m3ua.DestAvailable)
			p.expect(mgmt(x, messages.NewDestinationAvailable(nil, rcP(1), params.NewAffectedPointCode(0x55), nil)))
			p.send(0, messages.NewDestinationStateAudit(params.NewNetworkAppearance(9), nil, params.NewAffectedPointCode(0x55), nil))
			p.expect(mgmt(x, errMsg(m3ua.ErrInvalidNetworkAppearance)))
			p.expectNothing()
		}},
		{"M3UA_SGP_SSNM_X_007", "DAUD without Affected Point Code gets ERR Missing Parameter", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.sendRaw(0, rawMsg(m3ua.ClassSSNM, 3))
			p.expect(mgmt(x, errMsg(m3ua.ErrMissingParameter)))
		}},
	}
}

func sgpSuite() []tp {
	var all []tp
	for _, g := range [][]tp{sgpASPSM(), sgpASPTM(), sgpMTR(), sgpRKM(), sgpSSNM()} {
		all = append(all, g...)
	}
	return all
}
