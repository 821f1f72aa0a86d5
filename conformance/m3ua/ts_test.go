package m3ua_test

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// The test purposes of ETSI TS 102 381 that no test of sgp_test.go or
// asp_test.go covered when the suite was mapped onto the TS list
// (tp_list.md), and the purposes of the TS that the suite does not run
// (tsOpen), with the reason.

func tsSGP() []tp {
	return []tp{
		{"M3UA_SGP_ASPSM_I_004", "in ASP-INACTIVE, an ASPSM message of unknown type (7) gets ERR Unsupported Message Type; the ASP stays inactive", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.sendRaw(0, rawMsg(m3ua.ClassASPSM, 7))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedMessageType)))
			p.expectNothing()
			if st := s.srv.ASPState(s.assocOf(p)); st != m3ua.ASPInactive {
				x.Errorf("ASP state %v, want ASP-INACTIVE", st)
			}
		}},
		{"M3UA_SGP_ASPTM_V_010", "BEAT from an ASP-ACTIVE ASP is answered with BEAT ACK", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.send(0, messages.NewHeartbeat(params.NewHeartbeatData([]byte("M3UA beat"))))
			p.expect(mgmt(x, messages.NewHeartbeatAck(params.NewHeartbeatData([]byte("M3UA beat")))))
			p.expectNothing()
		}},
		{"M3UA_SGP_ASPTM_I_001", "ASPAC with version 2 gets ERR Invalid Version; the ASP stays inactive", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			p.sendRaw(0, withHeader(enc(x, aspac(m3ua.Override, 1)), 2, m3ua.ClassASPTM, 1))
			p.expect(mgmt(x, errMsg(m3ua.ErrInvalidVersion)))
			p.expectNothing()
			if st := s.srv.ASPState(s.assocOf(p)); st != m3ua.ASPInactive {
				x.Errorf("ASP state %v, want ASP-INACTIVE", st)
			}
		}},
		{"M3UA_SGP_ASPTM_I_008", "in ASP-ACTIVE, an ASPTM message of unknown type (5) gets ERR Unsupported Message Type; the ASP stays active", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.sendRaw(0, rawMsg(m3ua.ClassASPTM, 5))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedMessageType)))
			p.expectNothing()
			if st := s.srv.ASPState(s.assocOf(p)); st != m3ua.ASPActive {
				x.Errorf("ASP state %v, want ASP-ACTIVE", st)
			}
		}},
		{"M3UA_SGP_ASPTM_V_015", "override: ASPs with ASP Identifiers 0x11 and 0x22; the second's ASPAC makes the first hear NTFY Alternate ASP Active carrying ASP Identifier 0x22, the ASP now active (RFC 4666 3.8.2)", func(x *tcx) {
			p, q := activeAndStandby(x)
			q.send(0, aspac(m3ua.Override, 1))
			q.expect(mgmt(x, aspacAck(m3ua.Override, 1)))
			p.expect(mgmt(x, ntfyOtherID(m3ua.StatusAlternateASPActive, 1, 0x22)))
			p.expectNothing()
			q.expectNothing()
		}},
		{"M3UA_SGP_ASPTM_I_009", "override: the association of the active ASP (ASP Identifier 0x11) fails; the inactive ASP hears NTFY ASP Failure carrying 0x11 (RFC 4666 3.8.2), then AS-PENDING, then AS-INACTIVE when T(r) expires", func(x *tcx) {
			p, q := activeAndStandby(x)
			p.a.Abort()
			q.expect(mgmt(x, ntfyOtherID(m3ua.StatusASPFailure, 1, 0x11)))
			q.expect(mgmt(x, ntfyAS(m3ua.StatusASPending, 1)))
			q.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
			q.expectNothing()
		}},
		{"M3UA_SGP_MTR_V_001", "DATA from ASP 1 (AS 1) for the point code served by ASP 2 (AS 2) reaches ASP 2 with AS 2's Routing Context and the same label and payload, for every SLS 0..15 (the routing between the two ASes, above m3ua.Server, is played by the test)", func(x *tcx) {
			r := oneAS(m3ua.Override).ASes[0].Recovery
			s := x.startSGP(m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 1, Mode: m3ua.Override, Recovery: r}, {RC: 2, Mode: m3ua.Override, Recovery: r}}})
			p := s.dial()
			p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)), mgmt(x, ntfyAS(m3ua.StatusASInactive, 2)))
			q := s.dial()
			q.up()
			p.active([]uint32{1}, mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
			q.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
			q.active([]uint32{2}, mgmt(x, ntfyAS(m3ua.StatusASActive, 2)))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASActive, 2)))
			const pc1, pc2 = 0x101, 0x202
			for sls := range uint8(16) {
				payload := fmt.Sprintf("sls %d", sls)
				p.send(1+uint16(sls%2), data(1, true, pc1, pc2, sls, payload))
				s.rec.waitFor(x, "DATA from ASP 1", func() bool { return len(s.rec.data) == int(sls)+1 })
				s.rec.mu.Lock()
				u := s.rec.data[sls]
				s.rec.mu.Unlock()
				want := m3ua.UserData{RC: 1, HasRC: true, OPC: pc1, DPC: pc2, SI: 3, NI: 2, SLS: sls, Payload: []byte(payload)}
				if u.String() != want.String() {
					x.Fatalf("delivered %v, want %v", u, want)
				}
				u.RC, u.HasRC = 2, true
				s.srv.SendData(u)
				want.RC = 2
				q.expect(exp{anyData: true, msg: enc(x, m3ua.NewData(want))})
			}
			p.expectNothing()
			q.expectNothing()
		}},
		{"M3UA_SGP_MTR_I_001", "DATA with version 2 gets ERR Invalid Version and is not delivered", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			p.sendRaw(1, withHeader(enc(x, data(1, true, 1, 2, 4, "x")), 2, m3ua.ClassTransfer, 1))
			p.expect(mgmt(x, errMsg(m3ua.ErrInvalidVersion)))
			p.expectNothing()
			if n := len(s.rec.data); n != 0 {
				x.Errorf("%d DATA delivered", n)
			}
		}},
		{"M3UA_SGP_MTR_I_002", "in ASP-ACTIVE, a message of an unassigned class (10) carrying Protocol Data gets ERR Unsupported Message Class", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			pd := enc(x, data(1, false, 1, 2, 4, "x"))[8:]
			p.sendRaw(1, rawMsg(10, 1, pd))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedMessageClass)))
			p.expectNothing()
		}},
		{"M3UA_SGP_MTR_I_003", "a Transfer message of unassigned type (2) carrying Protocol Data gets ERR Unsupported Message Type and is not delivered", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			pd := enc(x, data(1, false, 1, 2, 4, "x"))[8:]
			p.sendRaw(1, rawMsg(m3ua.ClassTransfer, 2, pd))
			p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedMessageType)))
			p.expectNothing()
			if n := len(s.rec.data); n != 0 {
				x.Errorf("%d DATA delivered", n)
			}
		}},
		{"M3UA_SGP_RKM_I_004", "the SGP serves DPCs 100 and 200 only, dynamic registration on: REG REQ for DPC 300 is answered Invalid DPC (RFC 4666 3.6.2 status 2) and creates no AS", func(x *tcx) {
			cfg := keyed(m3ua.DynamicPermitted)
			cfg.DPCs = []uint32{100, 200}
			s := x.startSGP(cfg)
			p := upKeyed(x, s)
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(7, 300)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 7, Status: params.InvalidDPC, RC: 0})))
			p.expectNothing()
			if st := s.srv.ASState(m3ua.DefaultDynamicRCBase); st != m3ua.ASDown {
				x.Errorf("AS %d is %v: an AS was created", m3ua.DefaultDynamicRCBase, st)
			}
		}},
		{"M3UA_SGP_RKM_I_008", "static registration only: REG REQ for a key that matches no configured AS is answered Routing Key not Currently Provisioned (RFC 4666 3.6.2 status 7)", func(x *tcx) {
			s := x.startSGP(keyed(m3ua.StaticOnly))
			p := upKeyed(x, s)
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(7, 999)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 7, Status: params.RoutingKeynotCurrentlyProvisioned, RC: 0})))
			p.expectNothing()
		}},
		{"M3UA_SGP_RKM_I_011", "the key of an override AS registered, a REG REQ for it asking loadshare is answered Unsupported/Invalid Traffic Handling Mode", modeClash(m3ua.Override, m3ua.Loadshare)},
		{"M3UA_SGP_RKM_I_012", "the key of an override AS registered, a REG REQ for it asking broadcast is answered Unsupported/Invalid Traffic Handling Mode", modeClash(m3ua.Override, m3ua.Broadcast)},
		{"M3UA_SGP_RKM_I_013", "the key of an override AS registered, a REG REQ for it with Traffic Mode Type 7 (undefined) is answered Unsupported/Invalid Traffic Handling Mode (RFC 4666 3.6.2 status 10), not with an ERR", modeClash(m3ua.Override, 7)},
		{"M3UA_SGP_RKM_I_014", "the key of a loadshare AS registered, a REG REQ for it asking override is answered Unsupported/Invalid Traffic Handling Mode", modeClash(m3ua.Loadshare, m3ua.Override)},
		{"M3UA_SGP_RKM_I_015", "the key of a loadshare AS registered, a REG REQ for it asking broadcast is answered Unsupported/Invalid Traffic Handling Mode", modeClash(m3ua.Loadshare, m3ua.Broadcast)},
		{"M3UA_SGP_RKM_I_017", "the key of a broadcast AS registered, a REG REQ for it asking override is answered Unsupported/Invalid Traffic Handling Mode", modeClash(m3ua.Broadcast, m3ua.Override)},
		{"M3UA_SGP_RKM_I_018", "the key of a broadcast AS registered, a REG REQ for it asking loadshare is answered Unsupported/Invalid Traffic Handling Mode", modeClash(m3ua.Broadcast, m3ua.Loadshare)},
		{"M3UA_SGP_RKM_I_021", "dynamic: ASP 1 registers a key (AS 1000); ASP 2's DEREG REQ for Routing Context 1000 is answered Permission Denied (RFC 4666 3.6.4 status 3); ASP 1 then deregisters it", func(x *tcx) {
			s := x.startSGP(m3ua.SGPConfig{Registration: m3ua.DynamicPermitted})
			rc := uint32(m3ua.DefaultDynamicRCBase)
			p := s.dial()
			p.up()
			p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(1, 300)}})
			p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 1, Status: params.SuccessfullyRegistered, RC: rc})))
			p.expect(mgmt(x, ntfyAS(m3ua.StatusASInactive, rc)))
			q := s.dial()
			q.up()
			q.send(0, &m3ua.DeregReq{RCs: []uint32{rc}})
			q.expect(mgmt(x, deregRsp(m3ua.DeregResult{RC: rc, Status: params.DeregPermissionDenied})))
			q.expectNothing()
			p.send(0, &m3ua.DeregReq{RCs: []uint32{rc}})
			p.expect(mgmt(x, deregRsp(m3ua.DeregResult{RC: rc, Status: params.SuccessfullyDeregistered})))
		}},
		{"M3UA_SGP_SSNM_001", "DAUD for a congested destination is answered with its status (DAVA) and SCON carrying the congestion level", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			s.srv.SetCongestion(0x42, 2)
			p.expect(mgmt(x, messages.NewSignallingCongestion(nil, rcP(1), params.NewAffectedPointCode(0x42), nil, params.NewCongestionIndications(2), nil)))
			p.send(0, messages.NewDestinationStateAudit(nil, nil, params.NewAffectedPointCode(0x42), nil))
			p.expect(mgmt(x, messages.NewDestinationAvailable(nil, nil, params.NewAffectedPointCode(0x42), nil)))
			p.expect(mgmt(x, messages.NewSignallingCongestion(nil, nil, params.NewAffectedPointCode(0x42), nil, params.NewCongestionIndications(2), nil)))
			p.expectNothing()
		}},
		{"M3UA_SGP_SSNM_003", "DAUD for an unavailable destination is answered with DUNA", func(x *tcx) {
			s := x.startSGP(oneAS(m3ua.Override))
			p := upActive(x, s)
			s.srv.SetDestination(0x1234, m3ua.DestUnavailable)
			p.expect(mgmt(x, messages.NewDestinationUnavailable(nil, rcP(1), params.NewAffectedPointCode(0x1234), nil)))
			p.send(0, messages.NewDestinationStateAudit(nil, nil, params.NewAffectedPointCode(0x1234), nil))
			p.expect(mgmt(x, messages.NewDestinationUnavailable(nil, nil, params.NewAffectedPointCode(0x1234), nil)))
			p.expectNothing()
		}},
	}
}

// modeClash: an SGP with one static AS (RC 1, DPC 100) in mode have; the
// tester registers the key in that mode, then asks for it in mode ask.
func modeClash(have, ask m3ua.TrafficMode) func(x *tcx) {
	return func(x *tcx) {
		k := rk(0, 100)
		s := x.startSGP(m3ua.SGPConfig{Registration: m3ua.StaticOnly, ASes: []m3ua.ASConfig{{RC: 1, Mode: have, Key: &k}}})
		p := s.dial()
		p.up(mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
		k1 := rk(1, 100)
		k1.Mode = have
		p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{k1}})
		p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 1, Status: params.SuccessfullyRegistered, RC: 1})))
		k2 := rk(2, 100)
		k2.Mode = ask
		p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{k2}})
		p.expect(mgmt(x, regRsp(m3ua.RegResult{LocalRKID: 2, Status: params.UnsupportedTrafficHandlingMode, RC: 0})))
		p.expectNothing()
	}
}

// upID brings p to ASP-INACTIVE with ASP Identifier id: ASPUP, ASPUP ACK
// echoing it, then the NTFYs given.
// activeAndStandby starts an SGP with one override AS: ASP Identifier 0x11
// (p) is ASP-ACTIVE in it, 0x22 (q) up but not active.
func activeAndStandby(x *tcx) (p, q *peer) {
	x.Helper()
	s := x.startSGP(oneAS(m3ua.Override))
	p = s.dial()
	p.upID(0x11, mgmt(x, ntfyAS(m3ua.StatusASInactive, 1)))
	p.active([]uint32{1}, mgmt(x, ntfyAS(m3ua.StatusASActive, 1)))
	q = s.dial()
	q.upID(0x22)
	return p, q
}

func (p *peer) upID(id uint32, then ...exp) {
	p.x.Helper()
	p.send(0, messages.NewAspUp(params.NewAspIdentifier(id), nil))
	p.expect(mgmt(p.x, messages.NewAspUpAck(params.NewAspIdentifier(id), nil)))
	p.expectAll(then...)
}

// ntfyOtherID is a NTFY of status type Other about the ASP with ASP
// Identifier id.
func ntfyOtherID(info uint16, rc, id uint32) *messages.Notify {
	return messages.NewNotify(params.NewStatus(uint32(m3ua.StatusTypeOther)<<16|uint32(info)), params.NewAspIdentifier(id), params.NewRoutingContext(rc), nil)
}

// inactiveASP is an ASP (RC 1, not activating by itself) brought to
// ASP-INACTIVE.
func inactiveASP(x *tcx) *aspIUT {
	x.Helper()
	a := x.startASP(m3ua.ASPConfig{RCs: []uint32{1}})
	a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
	a.p.send(0, messages.NewAspUpAck(nil, nil))
	a.waitState(x, m3ua.ASPInactive)
	return a
}

func tsASP() []tp {
	return []tp{
		{"M3UA_ASP_ASPSM_I_001", "ASPUP ACK with version 2 gets ERR Invalid Version and does not move the ASP out of ASP-DOWN", func(x *tcx) {
			a := x.startASP(aspCfg())
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.sendRaw(0, withHeader(enc(x, messages.NewAspUpAck(nil, nil)), 2, m3ua.ClassASPSM, 4))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrInvalidVersion)))
			a.p.expectNothing()
			if st := a.c.States()[0]; st != m3ua.ASPDown {
				x.Errorf("ASP %v, want ASP-DOWN", st)
			}
		}},
		{"M3UA_ASP_ASPSM_I_002", "ASPDN ACK with version 2 gets ERR Invalid Version", func(x *tcx) {
			a := activeASP(x)
			go a.c.Shutdown(x.Context())
			a.p.expect(mgmt(x, aspia(1)))
			a.p.send(0, aspiaAck(1))
			a.p.expect(mgmt(x, messages.NewAspDown(nil)))
			a.p.sendRaw(0, withHeader(enc(x, messages.NewAspDownAck(nil)), 2, m3ua.ClassASPSM, 5))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrInvalidVersion)))
		}},
		{"M3UA_ASP_ASPSM_I_003", "in ASP-INACTIVE, an ASPSM message of unknown type (7) gets ERR Unsupported Message Type", func(x *tcx) {
			a := inactiveASP(x)
			a.p.sendRaw(0, rawMsg(m3ua.ClassASPSM, 7))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedMessageType)))
			a.p.expectNothing()
		}},
		{"M3UA_ASP_ASPSM_O_001", "ASPDN ACK in answer to ASPUP: the ASP stays ASP-DOWN and does not ask to be active", func(x *tcx) {
			a := x.startASP(aspCfg())
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspDownAck(nil))
			a.p.expectNothing()
			if st := a.c.States()[0]; st != m3ua.ASPDown {
				x.Errorf("ASP %v, want ASP-DOWN", st)
			}
		}},
		{"M3UA_ASP_ASPSM_O_002", "ASPAC ACK in answer to ASPUP (ASP-DOWN) is dropped: the ASP stays ASP-DOWN, sends nothing and refuses to send DATA", func(x *tcx) {
			a := x.startASP(aspCfg())
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, aspacAck(m3ua.Override, 1))
			if err := a.c.SendData(m3ua.UserData{RC: 1, HasRC: true, OPC: 1, DPC: 2, SI: 3, Payload: []byte("x")}); err == nil {
				x.Errorf("SendData accepted while ASP-DOWN")
			}
			a.p.expectNothing()
			if st := a.c.States()[0]; st != m3ua.ASPDown {
				x.Errorf("ASP %v, want ASP-DOWN", st)
			}
		}},
		{"M3UA_ASP_ASPTM_V_007", "BEAT with 5000 bytes of Heartbeat Data is answered with BEAT ACK carrying them unchanged", func(x *tcx) {
			a := activeASP(x)
			hb := bytes.Repeat([]byte("0123456789"), 500)
			a.p.send(0, messages.NewHeartbeat(params.NewHeartbeatData(hb)))
			a.p.expect(mgmt(x, messages.NewHeartbeatAck(params.NewHeartbeatData(hb))))
		}},
		{"M3UA_ASP_ASPTM_I_001", "ASPAC ACK with version 2 gets ERR Invalid Version; the ASP does not become active", func(x *tcx) {
			a := x.startASP(aspCfg())
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.p.expect(mgmt(x, aspac(m3ua.Override, 1)))
			a.p.sendRaw(0, withHeader(enc(x, aspacAck(m3ua.Override, 1)), 2, m3ua.ClassASPTM, 3))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrInvalidVersion)))
			if st := a.c.States()[0]; st != m3ua.ASPInactive {
				x.Errorf("ASP %v, want ASP-INACTIVE", st)
			}
		}},
		{"M3UA_ASP_ASPTM_I_002", "ASPIA ACK with version 2 gets ERR Invalid Version", func(x *tcx) {
			a := activeASP(x)
			a.c.Deactivate()
			a.p.expect(mgmt(x, aspia(1)))
			a.p.sendRaw(0, withHeader(enc(x, aspiaAck(1)), 2, m3ua.ClassASPTM, 4))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrInvalidVersion)))
		}},
		{"M3UA_ASP_ASPTM_I_003", "in ASP-ACTIVE, an ASPTM message of unknown type (5) gets ERR Unsupported Message Type; the ASP stays active", func(x *tcx) {
			a := activeASP(x)
			a.p.sendRaw(0, rawMsg(m3ua.ClassASPTM, 5))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedMessageType)))
			a.p.expectNothing()
			if st := a.c.States()[0]; st != m3ua.ASPActive {
				x.Errorf("ASP %v, want ASP-ACTIVE", st)
			}
		}},
		{"M3UA_ASP_ASPTM_O_001", "ASPUP ACK in answer to ASPAC: the ASP does not become active and sends no DATA", func(x *tcx) {
			a := x.startASP(aspCfg())
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.p.expect(mgmt(x, aspac(m3ua.Override, 1)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			if err := a.c.SendData(m3ua.UserData{RC: 1, HasRC: true, OPC: 1, DPC: 2, SI: 3, Payload: []byte("x")}); err == nil {
				x.Errorf("SendData accepted before ASPAC ACK")
			}
			a.p.expectNothing()
			if st := a.c.States()[0]; st != m3ua.ASPInactive {
				x.Errorf("ASP %v, want ASP-INACTIVE", st)
			}
		}},
		{"M3UA_ASP_MTR_V_001", "an ASP serving Routing Contexts 1 and 2 sends DATA for RC 2 carrying Routing Context 2", func(x *tcx) {
			a := x.startASP(m3ua.ASPConfig{RCs: []uint32{1, 2}, Mode: m3ua.Override, AutoActivate: true, Ack: aspCfg().Ack})
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.p.expect(mgmt(x, aspac(m3ua.Override, 1, 2)))
			a.p.send(0, aspacAck(m3ua.Override, 1, 2))
			a.waitState(x, m3ua.ASPActive)
			u := m3ua.UserData{RC: 2, HasRC: true, OPC: 0x20, DPC: 0x10, SI: 5, NI: 2, SLS: 1, Payload: []byte("rc2")}
			if err := a.c.SendData(u); err != nil {
				x.Fatal(err)
			}
			a.p.expect(exp{anyData: true, msg: enc(x, m3ua.NewData(u))})
		}},
		{"M3UA_ASP_MTR_I_001", "DATA with version 2 gets ERR Invalid Version and is not delivered", func(x *tcx) {
			a := activeASP(x)
			a.p.sendRaw(1, withHeader(enc(x, data(1, true, 1, 2, 0, "x")), 2, m3ua.ClassTransfer, 1))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrInvalidVersion)))
			a.p.expectNothing()
			if n := len(a.rec.data); n != 0 {
				x.Errorf("%d DATA delivered", n)
			}
		}},
		{"M3UA_ASP_MTR_I_003", "a Transfer message of unassigned type (2) gets ERR Unsupported Message Type and is not delivered", func(x *tcx) {
			a := activeASP(x)
			pd := enc(x, data(1, false, 1, 2, 4, "x"))[8:]
			a.p.sendRaw(1, rawMsg(m3ua.ClassTransfer, 2, pd))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedMessageType)))
			a.p.expectNothing()
			if n := len(a.rec.data); n != 0 {
				x.Errorf("%d DATA delivered", n)
			}
		}},
		{"M3UA_ASP_RKM_I_001", "with its REG REQ outstanding, an RKM message of unknown type (5) gets ERR Unsupported Message Type", func(x *tcx) {
			a := x.startASP(m3ua.ASPConfig{AutoActivate: true, Register: []m3ua.RoutingKey{rk(5, 300)}})
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.p.expect(mgmt(x, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(5, 300)}}))
			a.p.sendRaw(0, rawMsg(m3ua.ClassRKM, 5))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedMessageType)))
		}},
	}
}

// openTP is a test purpose of TS 102 381 the suite does not run, with why:
// NA when it cannot apply to this implementation of RFC 4666 (a feature
// that is optional there and not implemented, or that RFC 4666 changed),
// UNTESTED when it applies and is not covered yet.
type openTP struct {
	id, purpose, verdict, reason string
}

func tsOpen() []openTP {
	const noText = "the TS text of this purpose was not obtained (tp_list.md); "
	return []openTP{
		{"M3UA_SGP_ASPTM_I_010", "an invalid-behaviour case around ASPIA in ASP-ACTIVE", "UNTESTED",
			noText + "the reference tester only exchanges ASPIA / ASPIA ACK, the case of M3UA_SGP_ASPTM_V_006"},
		{"M3UA_SGP_MTR_V_002", "variant of M3UA_SGP_MTR_V_001 (DATA between two ASPs through the SGP, every SLS)", "UNTESTED",
			noText + "the reference tester runs the V_001 procedure, so the variant cannot be told apart"},
		{"M3UA_SGP_MTR_V_003", "variant of M3UA_SGP_MTR_V_001", "UNTESTED", noText + "as V_002"},
		{"M3UA_SGP_MTR_V_004", "variant of M3UA_SGP_MTR_V_001", "UNTESTED", noText + "as V_002"},
		{"M3UA_SGP_RKM_V_004", "an SGP that does not support RKM answers REG REQ with an ERR", "NA",
			"m3ua.Server always supports dynamic registration (RFC 4666 4.4 makes RKM optional; the PICS of this SGP says supported)"},
		{"M3UA_SGP_RKM_I_010", "REG REQ with a routing key field the SGP does not support (Circuit Range) is answered Unsupported RK parameter Field", "UNTESTED",
			"m3ua.Server never gives that status; how it treats Circuit Range in a key is not scripted here yet"},
		{"M3UA_ASP_SSNM_001", "after DUNA for a point code, the ASP audits it with DAUD", "NA", aspAudit},
		{"M3UA_ASP_SSNM_002", "after DUNA with a masked point code, the ASP audits with DAUD", "NA", aspAudit},
		{"M3UA_ASP_SSNM_003", "after DRST, the ASP audits with DAUD", "NA", aspAudit},
		{"M3UA_ASP_SSNM_004", "after DRST with a masked point code, the ASP audits with DAUD", "NA", aspAudit},
		{"M3UA_ASP_SSNM_005", "after SCON, the ASP audits with DAUD", "NA", aspAudit},
		{"M3UA_ASP_SSNM_006", "after SCON with a masked point code, the ASP audits with DAUD", "NA", aspAudit},
		{"M3UA_ASP_SSNM_007", "after DUPU, the ASP audits with DAUD", "NA", aspAudit},
		{"M3UA_ASP_SSNM_008", "DUPU with a masked point code (mask must be 0 in DUPU) gets an ERR", "UNTESTED",
			"m3ua.Client takes a DUPU whose Affected Point Code has mask 255 without any answer (seen over sctptest); which ERR RFC 4666 would want there is not settled in this suite, so no test asserts it yet"},
	}
}

const aspAudit = "the audit by DAUD is a MAY in RFC 4666 (4.5.3, 4.5.4); m3ua.Client audits when its user asks (Client.Audit, M3UA_ASP_SSNM_X_007), not on receipt of SSNM; how it handles DUNA, DRST, SCON and DUPU is covered by M3UA_ASP_SSNM_X_001..X_006"

// tpOrder sorts test purposes by role (SGP, ASP, IPSP), group, kind (V,
// I, O, then X for this suite's own) and number.
func tpOrder(id string) string {
	f := strings.Split(id, "_")
	role := map[string]string{"SGP": "1", "ASP": "2", "IPSP": "3"}[f[1]]
	kind, num := "V", f[len(f)-1]
	if len(f) == 5 {
		kind = f[3]
	}
	k := map[string]string{"V": "1", "I": "2", "O": "3", "X": "4"}[kind]
	n, _ := strconv.Atoi(num)
	group := map[string]string{"ASPSM": "1", "ASPTM": "2", "MTR": "3", "RKM": "4", "SSNM": "5"}[f[2]]
	if group == "" {
		group = "9" + f[2]
	}
	return fmt.Sprintf("%s %s %s %03d", role, group, k, n)
}

func sortTPs(tps []tp) []tp {
	slices.SortStableFunc(tps, func(a, b tp) int { return strings.Compare(tpOrder(a.id), tpOrder(b.id)) })
	return tps
}
