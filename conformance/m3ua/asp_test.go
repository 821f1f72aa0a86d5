package m3ua_test

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// Test purposes for the ASP role: the IUT is m3ua.Client, the tester a raw
// SGP.

// aspCfg is an ASP that activates RC 1 in override mode by itself.
func aspCfg() m3ua.ASPConfig {
	// T(ack) long enough that nothing is resent by accident, even in the
	// emulated VM; the tests of retransmission shorten it (shortAck).
	return m3ua.ASPConfig{RCs: []uint32{1}, Mode: m3ua.Override, AutoActivate: true, Ack: time.Minute}
}

// shortAck is aspCfg with T(ack) short: env.ack.
func shortAck(x *tcx) m3ua.ASPConfig {
	c := aspCfg()
	c.Ack = x.e.ack
	return c
}

// activeASP brings the ASP under test to ASP-ACTIVE.
func activeASP(x *tcx) *aspIUT {
	x.Helper()
	a := x.startASP(aspCfg())
	a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
	a.p.send(0, messages.NewAspUpAck(nil, nil))
	a.p.expect(mgmt(x, aspac(m3ua.Override, 1)))
	a.p.send(0, aspacAck(m3ua.Override, 1))
	a.waitState(x, m3ua.ASPActive)
	return a
}

func aspASPSM() []tp {
	return []tp{
		{"M3UA_ASP_ASPSM_V_002", "once associated, the ASP sends ASPUP on stream 0 with its ASP Identifier", func(x *tcx) {
			cfg := aspCfg()
			cfg.ASPID, cfg.HasASPID = 0xa5a5, true
			a := x.startASP(cfg)
			a.p.expect(mgmt(x, messages.NewAspUp(params.NewAspIdentifier(0xa5a5), nil)))
		}},
		{"M3UA_ASP_ASPSM_X_001", "ASPUP is sent again when T(ack) expires without ASPUP ACK", func(x *tcx) {
			a := x.startASP(shortAck(x))
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
		}},
		{"M3UA_ASP_ASPTM_V_001", "ASPUP ACK moves the ASP to ASP-INACTIVE; it then asks to be active (ASPAC with Traffic Mode and Routing Context)", func(x *tcx) {
			a := x.startASP(aspCfg())
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.p.expect(mgmt(x, aspac(m3ua.Override, 1)))
		}},
		{"M3UA_ASP_ASPTM_V_008", "BEAT from the SGP is answered with BEAT ACK echoing the data", func(x *tcx) {
			a := x.startASP(aspCfg())
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.p.expect(mgmt(x, aspac(m3ua.Override, 1)))
			a.p.send(0, messages.NewHeartbeat(params.NewHeartbeatData([]byte("beat!"))))
			a.p.expect(mgmt(x, messages.NewHeartbeatAck(params.NewHeartbeatData([]byte("beat!")))))
		}},
		{"M3UA_ASP_ASPSM_V_005", "graceful shutdown: ASPIA, ASPDN, each after the previous ack, then the association is shut down", func(x *tcx) {
			a := activeASP(x)
			done := make(chan error, 1)
			go func() { done <- a.c.Shutdown(x.Context()) }()
			a.p.expect(mgmt(x, aspia(1)))
			a.p.send(0, aspiaAck(1))
			a.p.expect(mgmt(x, messages.NewAspDown(nil)))
			a.p.send(0, messages.NewAspDownAck(nil))
			a.p.expectEnded()
			if err := <-done; err != nil {
				x.Errorf("Shutdown: %v", err)
			}
		}},
		{"M3UA_ASP_ASPSM_X_002", "with BEAT configured, the ASP sends BEAT and accepts the BEAT ACK", func(x *tcx) {
			cfg := aspCfg()
			cfg.Beat = m3ua.BeatConfig{Interval: 200 * time.Millisecond, Timeout: 5 * time.Second}
			a := x.startASP(cfg)
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.p.expect(mgmt(x, aspac(m3ua.Override, 1)))
			it, ok := a.p.next(x.e.wait)
			if !ok || it.end != nil || len(it.data) < 4 || it.data[2] != m3ua.ClassASPSM || it.data[3] != 3 || it.stream != 0 {
				x.Fatalf("expected BEAT on stream 0, got %s", m3ua.DescribeBytes(it.data))
			}
			m, err := m3ua.Decode(it.data)
			if err != nil {
				x.Fatal(err)
			}
			a.p.send(0, messages.NewHeartbeatAck(params.NewHeartbeatData(append([]byte(nil), m.(*messages.Heartbeat).HeartbeatData.Data...))))
			a.p.expectUp()
		}},
		{"M3UA_ASP_ASPSM_X_007", "an unsolicited ASPDN ACK from the SGP takes the ASP to ASP-DOWN", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, messages.NewAspDownAck(nil))
			a.waitState(x, m3ua.ASPDown)
		}},
		{"M3UA_ASP_ASPSM_X_003", "with BEAT on, an SGP that leaves a BEAT unanswered beyond the timeout is cut off: the ASP aborts the association", func(x *tcx) {
			cfg := aspCfg()
			cfg.Beat = m3ua.BeatConfig{Interval: 200 * time.Millisecond, Timeout: 500 * time.Millisecond}
			a := x.startASP(cfg)
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.p.expect(mgmt(x, aspac(m3ua.Override, 1)))
			a.p.send(0, aspacAck(m3ua.Override, 1))
			it, ok := a.p.next(x.e.wait)
			if !ok || it.end != nil || len(it.data) < 4 || it.data[2] != m3ua.ClassASPSM || it.data[3] != 3 {
				x.Fatalf("expected BEAT, got %s (%v)", m3ua.DescribeBytes(it.data), it.end)
			}
			a.p.expectEnded()
			a.waitState(x, m3ua.ASPDown)
		}},
		{"M3UA_ASP_ASPSM_X_004", "ERR Refused - Management Blocking in answer to ASPUP stops its retransmission", func(x *tcx) {
			a := x.startASP(shortAck(x))
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, errMsg(m3ua.ErrRefusedManagementBlocking))
			a.p.expectNothingFor(3 * x.e.ack)
		}},
		{"M3UA_ASP_ASPSM_X_005", "a message with version 2 gets ERR Invalid Version", func(x *tcx) {
			a := activeASP(x)
			a.p.sendRaw(0, withHeader(enc(x, messages.NewHeartbeat(nil)), 2, 3, 3))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrInvalidVersion)))
			a.p.expectUp()
		}},
		{"M3UA_ASP_MTR_I_002", "a message of an unknown class gets ERR Unsupported Message Class", func(x *tcx) {
			a := activeASP(x)
			a.p.sendRaw(0, rawMsg(12, 1))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrUnsupportedMessageClass)))
		}},
		{"M3UA_ASP_ASPSM_X_006", "ASPUP sent to the ASP gets ERR Unexpected Message", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, messages.NewAspUp(nil, nil))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
		}},
	}
}

func aspASPTM() []tp {
	return []tp{
		{"M3UA_ASP_ASPTM_V_002", "ASPAC ACK moves the ASP to ASP-ACTIVE", func(x *tcx) {
			activeASP(x)
		}},
		{"M3UA_ASP_ASPTM_X_001", "ASPAC is sent again when T(ack) expires without ASPAC ACK", func(x *tcx) {
			a := x.startASP(shortAck(x))
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.p.expect(mgmt(x, aspac(m3ua.Override, 1)))
			a.p.expect(mgmt(x, aspac(m3ua.Override, 1)))
		}},
		{"M3UA_ASP_ASPTM_X_002", "NTFY Alternate ASP Active takes the ASP to ASP-INACTIVE", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, ntfyOther(m3ua.StatusAlternateASPActive, 1))
			a.waitState(x, m3ua.ASPInactive)
			a.p.expectNothing()
		}},
		{"M3UA_ASP_ASPTM_V_005", "administrative deactivation sends ASPIA with the Routing Context; ASPIA ACK makes the ASP inactive", func(x *tcx) {
			a := activeASP(x)
			a.c.Deactivate()
			a.p.expect(mgmt(x, aspia(1)))
			a.p.send(0, aspiaAck(1))
			a.waitState(x, m3ua.ASPInactive)
		}},
		{"M3UA_ASP_ASPTM_X_003", "an ASP with no configured Routing Context sends ASPAC without Routing Context", func(x *tcx) {
			a := x.startASP(m3ua.ASPConfig{AutoActivate: true, Mode: m3ua.Loadshare})
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.p.expect(mgmt(x, aspac(m3ua.Loadshare)))
			a.p.send(0, aspacAck(m3ua.Loadshare))
			a.waitState(x, m3ua.ASPActive)
		}},
		{"M3UA_ASP_ASPTM_X_004", "NTFY AS-PENDING and AS-ACTIVE are taken without answer and the ASP stays active", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, ntfyAS(m3ua.StatusASActive, 1))
			a.p.send(0, ntfyAS(m3ua.StatusASPending, 1))
			a.p.expectNothing()
			if st := a.c.States()[0]; st != m3ua.ASPActive {
				x.Errorf("ASP %v", st)
			}
		}},
		{"M3UA_ASP_ASPTM_X_006", "ERR Unsupported Traffic Mode Type in answer to ASPAC stops its retransmission", func(x *tcx) {
			a := x.startASP(shortAck(x))
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.p.expect(mgmt(x, aspac(m3ua.Override, 1)))
			a.p.send(0, errMsg(m3ua.ErrUnsupportedTrafficMode))
			a.p.expectNothingFor(3 * x.e.ack)
		}},
		{"M3UA_ASP_ASPTM_X_007", "ERR Invalid Routing Context in answer to ASPAC stops its retransmission", func(x *tcx) {
			a := x.startASP(shortAck(x))
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.p.expect(mgmt(x, aspac(m3ua.Override, 1)))
			a.p.send(0, errMsg(m3ua.ErrInvalidRoutingContext, 1))
			a.p.expectNothingFor(3 * x.e.ack)
		}},
		{"M3UA_ASP_ASPTM_X_008", "an ASPAC ACK nobody asked for is ignored: no state change, nothing sent", func(x *tcx) {
			a := x.startASP(m3ua.ASPConfig{RCs: []uint32{1}})
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.waitState(x, m3ua.ASPInactive)
			a.p.send(0, aspacAck(0, 1))
			a.p.expectNothing()
			if st := a.c.States()[0]; st != m3ua.ASPInactive {
				x.Errorf("ASP %v", st)
			}
		}},
		{"M3UA_ASP_ASPTM_X_009", "ASPAC sent to the ASP gets ERR Unexpected Message", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, aspac(0, 1))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
		}},
	}
}

func aspMTR() []tp {
	return []tp{
		{"M3UA_ASP_MTR_X_001", "DATA from the SGP reaches the layer above with Routing Context, label and payload", func(x *tcx) {
			a := activeASP(x)
			a.p.send(2, data(1, true, 0x10, 0x20, 9, "payload"))
			a.rec.waitFor(x, "the DATA", func() bool { return len(a.rec.data) == 1 })
			want := m3ua.UserData{RC: 1, HasRC: true, OPC: 0x10, DPC: 0x20, SI: 3, NI: 2, SLS: 9, Payload: []byte("payload")}
			if got := a.rec.data[0]; got.String() != want.String() {
				x.Errorf("delivered %v, want %v", got, want)
			}
		}},
		{"M3UA_ASP_MTR_V_002", "the ASP sends DATA with Routing Context and Protocol Data on a stream other than 0", func(x *tcx) {
			a := activeASP(x)
			u := m3ua.UserData{RC: 1, HasRC: true, OPC: 0x20, DPC: 0x10, SI: 3, NI: 2, SLS: 3, Payload: []byte("up")}
			if err := a.c.SendData(u); err != nil {
				x.Fatal(err)
			}
			a.p.expect(exp{anyData: true, msg: enc(x, m3ua.NewData(u))})
		}},
		{"M3UA_ASP_MTR_V_003", "DATA of one SLS leaves on one stream, in order", func(x *tcx) {
			a := activeASP(x)
			stream := -1
			for i := range 30 {
				if err := a.c.SendData(m3ua.UserData{RC: 1, HasRC: true, OPC: 1, DPC: 2, SI: 3, SLS: 11, Payload: []byte{byte(i)}}); err != nil {
					x.Fatal(err)
				}
			}
			for i := range 30 {
				it := a.p.expect(exp{anyData: true, msg: enc(x, m3ua.NewData(m3ua.UserData{RC: 1, HasRC: true, OPC: 1, DPC: 2, SI: 3, SLS: 11, Payload: []byte{byte(i)}}))})
				if stream >= 0 && int(it.stream) != stream {
					x.Fatalf("DATA %d on stream %d, the ones before on %d", i, it.stream, stream)
				}
				stream = int(it.stream)
			}
		}},
		{"M3UA_ASP_MTR_X_002", "DATA on stream 0 gets ERR Invalid Stream Identifier", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, data(1, true, 1, 2, 0, "x"))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrInvalidStreamIdentifier)))
		}},
		{"M3UA_ASP_MTR_X_003", "DATA before the ASP is active gets ERR Unexpected Message", func(x *tcx) {
			a := x.startASP(m3ua.ASPConfig{RCs: []uint32{1}})
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, messages.NewAspUpAck(nil, nil))
			a.waitState(x, m3ua.ASPInactive)
			a.p.send(1, data(1, true, 1, 2, 0, "x"))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
		}},
		{"M3UA_ASP_MTR_X_005", "DATA with a Routing Context the ASP is not configured for gets ERR Invalid Routing Context naming it, and is not delivered", func(x *tcx) {
			a := activeASP(x)
			a.p.send(1, data(77, true, 1, 2, 0, "x"))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrInvalidRoutingContext, 77)))
			a.p.expectUp()
			if n := len(a.rec.data); n != 0 {
				x.Errorf("%d DATA delivered", n)
			}
		}},
		{"M3UA_ASP_MTR_X_004", "DATA without Protocol Data gets ERR Missing Parameter", func(x *tcx) {
			a := activeASP(x)
			a.p.sendRaw(1, rawMsg(m3ua.ClassTransfer, 1, rawParam(params.RoutingContext, u32(1))))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrMissingParameter)))
		}},
	}
}

// deregResult is what Client.Deregister returned.
type deregResult struct {
	res [][]m3ua.DeregResult
	err error
}

// deregister runs Client.Deregister for rcs in the background; its result
// comes on the channel.
func (a *aspIUT) deregister(rcs ...uint32) <-chan deregResult {
	done := make(chan deregResult, 1)
	go func() {
		res, err := a.c.Deregister(context.Background(), rcs...)
		done <- deregResult{res, err}
	}()
	return done
}

func aspRKM() []tp {
	reg := func() m3ua.ASPConfig {
		return m3ua.ASPConfig{AutoActivate: true, Register: []m3ua.RoutingKey{rk(5, 300)}}
	}
	// answered: the ASP comes up and sends REG REQ for its key; the peer
	// answers it with status and rc.
	answered := func(x *tcx, a *aspIUT, status, rc uint32) {
		x.Helper()
		a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
		a.p.send(0, messages.NewAspUpAck(nil, nil))
		a.p.expect(mgmt(x, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(5, 300)}}))
		a.p.send(0, regRsp(m3ua.RegResult{LocalRKID: 5, Status: status, RC: rc}))
	}
	return []tp{
		{"M3UA_ASP_RKM_V_002", "an ASP with a routing key sends REG REQ after ASPUP ACK, and ASPAC for the granted Routing Context", func(x *tcx) {
			a := x.startASP(reg())
			answered(x, a, params.SuccessfullyRegistered, 1234)
			a.p.expect(mgmt(x, aspac(0, 1234)))
		}},
		{"M3UA_ASP_RKM_V_003", "the ASP (not activating by itself) registers its key, then Client.Deregister sends DEREG REQ for the Routing Context and returns the DEREG RSP results", func(x *tcx) {
			cfg := reg()
			cfg.AutoActivate = false
			a := x.startASP(cfg)
			answered(x, a, params.SuccessfullyRegistered, 1234)
			a.p.expectNothing()
			done := a.deregister(1234)
			a.p.expect(mgmt(x, &m3ua.DeregReq{RCs: []uint32{1234}}))
			a.p.send(0, deregRsp(m3ua.DeregResult{RC: 1234, Status: params.SuccessfullyDeregistered}))
			r := <-done
			if r.err != nil || len(r.res) != 1 || !slices.Equal(r.res[0], []m3ua.DeregResult{{RC: 1234, Status: params.SuccessfullyDeregistered}}) {
				x.Fatalf("Deregister: %+v, %v", r.res, r.err)
			}
			a.p.expectNothing()
		}},
		{"M3UA_ASP_RKM_V_004", "an active ASP that registered its key leaves with ASPIA, then deregisters: the DEREG REQ carries the Routing Context the SGP gave (4321, from the Registered event)", func(x *tcx) {
			a := x.startASP(reg())
			answered(x, a, params.SuccessfullyRegistered, 4321)
			a.p.expect(mgmt(x, aspac(0, 4321)))
			a.p.send(0, aspacAck(0, 4321))
			a.waitState(x, m3ua.ASPActive)
			var rc uint32
			a.rec.waitFor(x, "the Registered event", func() bool {
				for _, e := range a.rec.events {
					if r, ok := e.(m3ua.Registered); ok && len(r.Results) == 1 {
						rc = r.Results[0].RC
						return true
					}
				}
				return false
			})
			a.c.Deactivate()
			a.p.expect(mgmt(x, aspia(4321)))
			a.p.send(0, aspiaAck(4321))
			a.waitState(x, m3ua.ASPInactive)
			done := a.deregister(rc)
			a.p.expect(mgmt(x, &m3ua.DeregReq{RCs: []uint32{4321}}))
			a.p.send(0, deregRsp(m3ua.DeregResult{RC: 4321, Status: params.SuccessfullyDeregistered}))
			if r := <-done; r.err != nil || len(r.res) != 1 || len(r.res[0]) != 1 || r.res[0][0].Status != params.SuccessfullyDeregistered {
				x.Fatalf("Deregister: %+v, %v", r.res, r.err)
			}
		}},
		{"M3UA_ASP_RKM_X_004", "Client.Deregister with no DEREG RSP returns, when its context ends, an error wrapping the context's and no results", func(x *tcx) {
			a := activeASP(x)
			ctx, cancel := context.WithTimeout(x.Context(), x.e.quiet)
			defer cancel()
			res, err := a.c.Deregister(ctx, 1)
			if !errors.Is(err, context.DeadlineExceeded) || len(res) != 1 || res[0] != nil {
				x.Fatalf("Deregister: %+v, %v; want no results and DeadlineExceeded", res, err)
			}
			a.p.expect(mgmt(x, &m3ua.DeregReq{RCs: []uint32{1}}))
		}},
		{"M3UA_ASP_RKM_X_001", "a refused registration leaves the ASP without Routing Context: no ASPAC", func(x *tcx) {
			a := x.startASP(reg())
			answered(x, a, params.PermissionDenied, 0)
			a.p.expectNothing()
		}},
		{"M3UA_ASP_RKM_X_002", "REG RSP while ASP-DOWN gets ERR Unexpected Message", func(x *tcx) {
			a := x.startASP(reg())
			a.p.expect(mgmt(x, messages.NewAspUp(nil, nil)))
			a.p.send(0, regRsp(m3ua.RegResult{LocalRKID: 5, Status: params.SuccessfullyRegistered, RC: 1}))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
		}},
		{"M3UA_ASP_RKM_X_003", "REG REQ sent to the ASP gets ERR Unexpected Message", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, &m3ua.RegReq{Keys: []m3ua.RoutingKey{rk(1, 2)}})
			a.p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
		}},
	}
}

func aspSSNM() []tp {
	apc := func(pc uint32) *params.Param { return params.NewAffectedPointCode(pc) }
	reach := func(x *tcx, a *aspIUT, pc uint32, want m3ua.DestStatus) {
		x.Helper()
		deadline := time.Now().Add(x.e.wait)
		for a.c.Reachable(pc) != want {
			if time.Now().After(deadline) {
				x.Fatalf("destination %#x is %v, want %v", pc, a.c.Reachable(pc), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return []tp{
		{"M3UA_ASP_SSNM_X_001", "DUNA makes the destination unavailable", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, messages.NewDestinationUnavailable(nil, rcP(1), apc(0x123), nil))
			reach(x, a, 0x123, m3ua.DestUnavailable)
			a.p.expectNothing()
		}},
		{"M3UA_ASP_SSNM_X_002", "DAVA after DUNA makes the destination available again", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, messages.NewDestinationUnavailable(nil, rcP(1), apc(0x123), nil))
			reach(x, a, 0x123, m3ua.DestUnavailable)
			a.p.send(0, messages.NewDestinationAvailable(nil, rcP(1), apc(0x123), nil))
			reach(x, a, 0x123, m3ua.DestAvailable)
		}},
		{"M3UA_ASP_SSNM_X_003", "DRST makes the destination restricted", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, messages.NewDestinationRestricted(nil, rcP(1), apc(0x124), nil))
			reach(x, a, 0x124, m3ua.DestRestricted)
		}},
		{"M3UA_ASP_SSNM_X_004", "DUNA with a masked APC (mask 8) makes every point code it covers unavailable", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, messages.NewDestinationUnavailable(nil, rcP(1), apc(m3ua.APC(0x1200, 8)), nil))
			reach(x, a, 0x12ab, m3ua.DestUnavailable)
			reach(x, a, 0x1300, m3ua.DestAvailable)
		}},
		{"M3UA_ASP_SSNM_X_005", "SCON is reported to the layer above with the congestion level", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, messages.NewSignallingCongestion(nil, rcP(1), apc(0x55), nil, params.NewCongestionIndications(3), nil))
			a.rec.waitFor(x, "CongestionChanged", func() bool {
				for _, e := range a.rec.events {
					if c, ok := e.(m3ua.CongestionChanged); ok && c.Level == 3 && len(c.APCs) == 1 && c.APCs[0] == 0x55 {
						return true
					}
				}
				return false
			})
		}},
		{"M3UA_ASP_SSNM_X_006", "DUPU is reported to the layer above with user and cause", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, messages.NewDestinationUserPartUnavailable(nil, rcP(1), apc(0x56), params.NewUserCause(5, m3ua.CauseInaccessibleRemote), nil))
			a.rec.waitFor(x, "UserPartUnavailable", func() bool {
				for _, e := range a.rec.events {
					if u, ok := e.(m3ua.UserPartUnavailable); ok && u.User == 5 && u.Cause == m3ua.CauseInaccessibleRemote {
						return true
					}
				}
				return false
			})
		}},
		{"M3UA_ASP_SSNM_X_007", "the ASP audits destinations with DAUD carrying the APCs", func(x *tcx) {
			a := activeASP(x)
			a.c.Audit(0x77, 0x78)
			a.p.expect(on(x, anyStream, messages.NewDestinationStateAudit(nil, rcP(1), params.NewAffectedPointCode(0x77, 0x78), nil)))
		}},
		{"M3UA_ASP_SSNM_X_008", "DUNA without Affected Point Code gets ERR Missing Parameter", func(x *tcx) {
			a := activeASP(x)
			a.p.sendRaw(0, rawMsg(m3ua.ClassSSNM, 1, rawParam(params.RoutingContext, u32(1))))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrMissingParameter)))
		}},
		{"M3UA_ASP_SSNM_X_009", "DAUD sent to the ASP gets ERR Unexpected Message", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, messages.NewDestinationStateAudit(nil, nil, apc(0x77), nil))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrUnexpectedMessage)))
		}},
		{"M3UA_ASP_SSNM_X_010", "DUNA naming a routing context the ASP does not serve gets ERR Invalid Routing Context naming it; the destination stays available", func(x *tcx) {
			a := activeASP(x)
			a.p.send(0, messages.NewDestinationUnavailable(nil, rcP(7), apc(0x124), nil))
			a.p.expect(mgmt(x, errMsg(m3ua.ErrInvalidRoutingContext, 7)))
			if st := a.c.Reachable(0x124); st != m3ua.DestAvailable {
				x.Errorf("destination %v after the refused DUNA", st)
			}
		}},
	}
}

// aspASView: the ASP's view of its ASes (m3ua.Client.ASStates) follows
// the SGP's NTFYs.
func aspASView() []tp {
	return []tp{
		{"M3UA_ASP_ASPTM_X_005", "the ASP's view of its AS follows the SGP: AS-ACTIVE once its ASPAC is acknowledged, AS-PENDING on NTFY AS-PENDING, AS-ACTIVE again on NTFY AS-ACTIVE", func(x *tcx) {
			a := activeASP(x)
			view := func(want m3ua.ASState) {
				x.Helper()
				a.rec.waitFor(x, "the AS view "+want.String(), func() bool { return a.c.ASStates(0)[1] == want })
			}
			view(m3ua.ASActive)
			a.p.send(0, ntfyAS(m3ua.StatusASPending, 1))
			view(m3ua.ASPending)
			a.p.send(0, ntfyAS(m3ua.StatusASActive, 1))
			view(m3ua.ASActive)
			a.p.expectNothing()
		}},
	}
}

func aspSuite() []tp {
	var all []tp
	for _, g := range [][]tp{aspASPSM(), aspASPTM(), aspASView(), aspMTR(), aspRKM(), aspSSNM()} {
		all = append(all, g...)
	}
	return all
}

// suite is every test purpose, in the order of tpOrder.
func suite() []tp {
	var all []tp
	for _, g := range [][]tp{sgpSuite(), tsSGP(), aspSuite(), tsASP(), ipspSuite()} {
		all = append(all, g...)
	}
	return sortTPs(all)
}
