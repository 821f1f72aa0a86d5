package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

func addr(port uint16, ips ...string) sctp.Addr {
	a := sctp.Addr{Port: port}
	for _, ip := range ips {
		a.IPs = append(a.IPs, netip.MustParseAddr(ip))
	}
	return a
}

// responder answers the network as an application server following the
// script would, except that Begins whose OTID is a multiple of 7 get a
// P-Abort (resource limitation) and those of 11 no answer at all.
type responder struct {
	mu      sync.Mutex
	next    uint32
	peers   map[uint32]uint32 // server TID → network TID
	steps   map[uint32]int
	begins  int
	ignored int
}

func (r *responder) handle(t *testing.T, srv *m3ua.Server) func(m3ua.AssocID, m3ua.UserData) {
	return func(a m3ua.AssocID, u m3ua.UserData) {
		var s sccp.Message
		if err := sccp.Decode(u.Payload, &s); err != nil {
			t.Errorf("responder: SCCP: %v", err)
			return
		}
		if s.Called.PC != 2001 || s.Called.SSN != 6 || s.Calling.PC != 1001 || s.Calling.SSN != 8 || u.SI != 3 {
			t.Errorf("responder: addresses %+v %+v SI %d", s.Called, s.Calling, u.SI)
		}
		var m tcap.Message
		if err := tcap.Decode(s.Data, &m); err != nil {
			t.Errorf("responder: TCAP: %v", err)
			return
		}
		c, _, err := tcap.NextComponent(m.Components)
		if m.Kind != tcap.Abort && (err != nil || c.OpCode != OpStep || len(c.Param) != 4) {
			t.Errorf("responder: component %+v: %v", c, err)
			return
		}
		var out tcap.Message
		r.mu.Lock()
		switch m.Kind {
		case tcap.Begin:
			r.begins++
			n := m.OTID.Uint32()
			switch {
			case n%7 == 0:
				out = tcap.PAbort(m.OTID, tcap.ResourceLimitation)
			case n%11 == 0:
				r.ignored++
				r.mu.Unlock()
				return
			case c.Param[2] == 0:
				out = tcap.Message{Kind: tcap.End, DTID: m.OTID, HasDTID: true}
			default:
				r.next++
				id := 0xab000000 | r.next
				r.peers[id], r.steps[id] = n, int(c.Param[2])
				out = tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(id), HasOTID: true, DTID: m.OTID, HasDTID: true}
			}
		case tcap.Continue:
			id := m.DTID.Uint32()
			if r.peers[id] != m.OTID.Uint32() {
				t.Errorf("responder: Continue for %x from %x", id, m.OTID.Uint32())
			}
			if int(c.Param[3]) >= r.steps[id] {
				out = tcap.Message{Kind: tcap.End, DTID: m.OTID, HasDTID: true}
				delete(r.peers, id)
			} else {
				out = tcap.Message{Kind: tcap.Continue, OTID: m.DTID, HasOTID: true, DTID: m.OTID, HasDTID: true}
			}
		default:
			t.Errorf("responder: unexpected %v", m.Kind)
		}
		r.mu.Unlock()
		if out.Kind == tcap.Continue || out.Kind == tcap.End {
			out.Components, _ = tcap.AppendComponents(nil, tcap.Component{Type: tcap.ReturnResultLast, InvokeID: c.InvokeID})
		}
		tb, err := out.Append(nil)
		if err != nil {
			t.Errorf("responder: %v", err)
			return
		}
		rep := sccp.Reply(&s, tb)
		sb, err := rep.Append(nil)
		if err != nil {
			t.Errorf("responder: %v", err)
			return
		}
		if err := srv.SendDataTo(a, m3ua.UserData{RC: u.RC, HasRC: u.HasRC, OPC: u.DPC, DPC: u.OPC, SI: 3, NI: u.NI, SLS: u.SLS, Payload: sb}); err != nil {
			t.Errorf("responder: send: %v", err)
		}
	}
}

func (r *responder) beginCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.begins
}

// Two stand-in gateways answer as a server would; every dialogue sigload
// offered is accounted for, by the rule the responder applied to it.
func TestEndToEnd(t *testing.T) {
	net := sctptest.NewNetwork()
	r := &responder{peers: map[uint32]uint32{}, steps: map[uint32]int{}}
	var gws []sctp.Addr
	for i := range 2 {
		a := addr(2905, fmt.Sprintf("10.1.0.%d", i+1), fmt.Sprintf("10.2.0.%d", i+1))
		var srv *m3ua.Server
		srv = m3ua.NewServer(m3ua.ServerConfig{
			SGP: m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 100, Mode: m3ua.Loadshare}}},
			Handlers: m3ua.Handlers{Data: func(id m3ua.AssocID, u m3ua.UserData) {
				r.handle(t, srv)(id, u)
			}},
		})
		ln, err := net.Listen(a)
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		gws = append(gws, a)
	}
	var out, log strings.Builder
	cfg := Config{
		Script:    Script{OPC: 1001, DPC: 2001, RC: 100, NI: 2, SSN: 8, CalledSSN: 6, Steps: 2},
		Transport: net, Local: addr(0, "10.1.0.6", "10.2.0.6"), Gateways: gws,
		Rate: 200, Duration: time.Second, Timeout: 2 * time.Second, SLSSpread: 16, StartTimeout: 20 * time.Second,
		Progress: 100 * time.Millisecond, PerDialogue: true, Out: &out, Log: &log,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Offered != 200 {
		t.Fatalf("offered %d, want 200 (rate × duration)", s.Offered)
	}
	var wantAbort, wantLost uint64
	var wantLostIDs []string
	for n := uint64(1); n <= s.Offered; n++ {
		switch {
		case n%7 == 0:
			wantAbort++
		case n%11 == 0:
			wantLost++
			wantLostIDs = append(wantLostIDs, fmt.Sprintf("%08x", n))
		}
	}
	wantDone := s.Offered - wantAbort - wantLost
	if s.Completed != wantDone || s.Aborted != wantAbort || s.Lost != wantLost || s.NotSent != 0 || s.InFlight != 0 {
		t.Fatalf("completed %d aborted %d lost %d notsent %d inflight %d; want %d %d %d 0 0\n%s",
			s.Completed, s.Aborted, s.Lost, s.NotSent, s.InFlight, wantDone, wantAbort, wantLost, log.String())
	}
	if s.AbortCauses["p-abort:resourceLimitation"] != wantAbort {
		t.Fatalf("causes %v", s.AbortCauses)
	}
	if s.Latency.Count != wantDone || s.Latency.P50 == 0 || s.Latency.P50 > s.Latency.P99 || s.Latency.P99 > s.Latency.Max {
		t.Fatalf("latency %+v", s.Latency)
	}
	if s.Continues != 2*wantDone || s.Mismatch != 0 || s.Malformed != 0 || s.Unmatched != 0 || s.Active != 2 {
		t.Fatalf("%+v", s)
	}
	r.mu.Lock()
	if r.begins != int(s.Offered) || len(r.peers) != 0 {
		t.Errorf("responder saw %d Begins, %d dialogues left open", r.begins, len(r.peers))
	}
	r.mu.Unlock()
	if len(s.Seconds) == 0 || !strings.Contains(out.String(), "completed=") {
		t.Fatalf("no progress: %q", out.String())
	}
	// every lost dialogue is listed by its transaction id, and logged
	var gotLost []string
	for _, l := range s.LostDialogues {
		gotLost = append(gotLost, l.OTID)
		if l.Answered || l.Rounds != 0 || l.BeginS < 0 || l.BeginS > cfg.Duration.Seconds() {
			t.Errorf("lost dialogue %+v", l)
		}
		if !strings.Contains(log.String(), "dialogue otid="+l.OTID+" lost") {
			t.Errorf("lost dialogue %s not logged", l.OTID)
		}
	}
	if strings.Join(gotLost, ",") != strings.Join(wantLostIDs, ",") {
		t.Errorf("lost dialogues %v; want %v", gotLost, wantLostIDs)
	}
	// every lost dialogue names the association its Begin went on
	for _, l := range s.LostDialogues {
		if len(l.Sends) != 1 || (l.Sends[0].Assoc != 1 && l.Sends[0].Assoc != 2) || l.Sends[0].T < l.BeginS-0.01 {
			t.Errorf("lost dialogue %s sends %+v", l.OTID, l.Sends)
		}
	}
	// --per-dialogue: every dialogue once, with its outcome and the
	// associations its messages went on (by SLS: both gateways carry some;
	// Begin and 2 Continues for a completed one)
	if uint64(len(s.Dialogues)) != s.Offered {
		t.Fatalf("%d dialogues listed; want %d", len(s.Dialogues), s.Offered)
	}
	outcomes := map[Outcome]uint64{}
	perAssoc := map[int]int{}
	for _, d := range s.Dialogues {
		outcomes[d.Outcome]++
		if d.EndS < d.BeginS {
			t.Errorf("dialogue %s ends at %.3f before its Begin at %.3f", d.OTID, d.EndS, d.BeginS)
		}
		for _, x := range d.Sends {
			perAssoc[x.Assoc]++
		}
		if want := map[Outcome]int{OutCompleted: 3, OutAborted: 1, OutLost: 1}[d.Outcome]; len(d.Sends) != want {
			t.Errorf("dialogue %s (%s) sent %d messages; want %d", d.OTID, d.Outcome, len(d.Sends), want)
		}
	}
	if outcomes[OutCompleted] != wantDone || outcomes[OutAborted] != wantAbort || outcomes[OutLost] != wantLost {
		t.Errorf("outcomes %v", outcomes)
	}
	if perAssoc[1] == 0 || perAssoc[2] == 0 || perAssoc[0] != 0 {
		t.Errorf("messages per association %v; want both gateways, none unknown", perAssoc)
	}
	ups := 0
	for _, e := range s.AssocEvents {
		if e.Event == "up" {
			ups++
		}
	}
	if ups != 2 {
		t.Errorf("association events %+v; want 2 up", s.AssocEvents)
	}
	// progress every 100 ms over about 3 s (1 s of load, 2 s of timeout)
	if len(s.Seconds) < 20 {
		t.Errorf("%d progress samples at a 100 ms interval; want at least 20", len(s.Seconds))
	}
	last := s.Seconds[len(s.Seconds)-1]
	if last.Completed != s.Completed || last.Offered != s.Offered {
		t.Fatalf("last sample %+v", last)
	}
}

type fakeSender struct {
	mu   sync.Mutex
	err  error
	sent []m3ua.UserData
}

func (f *fakeSender) SendData(u m3ua.UserData) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	u.Payload = append([]byte(nil), u.Payload...)
	f.sent = append(f.sent, u)
	return nil
}

// Without an ASP-ACTIVE gateway every dialogue is counted not sent.
func TestNotSent(t *testing.T) {
	f := &fakeSender{err: m3ua.ErrNoActiveSGP}
	var log strings.Builder
	g := newGenerator(Config{Script: Script{OPC: 1, DPC: 2, Steps: 1}, Rate: 1000, Duration: 50 * time.Millisecond,
		Timeout: time.Second, SLSSpread: 4, Log: &log}, f)
	s := g.drive(context.Background())
	if s.Offered != 50 || s.NotSent != 50 || s.SendErrors != 50 || s.Completed+s.Lost+s.Aborted+s.InFlight != 0 {
		t.Fatalf("%+v", s)
	}
	if !strings.Contains(log.String(), m3ua.ErrNoActiveSGP.Error()) {
		t.Fatalf("log %q", log.String())
	}
}

// DATA handed back is sent again, at most maxResends times per dialogue.
func TestResendUnsent(t *testing.T) {
	f := &fakeSender{}
	g := newGenerator(Config{Script: Script{OPC: 1, DPC: 2, Steps: 1}, Timeout: time.Second}, f)
	g.open(0)
	if len(f.sent) != 1 {
		t.Fatal("Begin not sent")
	}
	begin := f.sent[0]
	for i := 0; i < maxResends; i++ {
		g.onEvent(m3ua.DataUnsent{Data: begin, Reason: m3ua.UnsentSendFailed})
	}
	if len(f.sent) != 1+maxResends {
		t.Fatalf("%d sends", len(f.sent))
	}
	g.onEvent(m3ua.DataUnsent{Data: begin})
	c := g.tr.Counts()
	if len(f.sent) != 1+maxResends || c.Resent != maxResends || c.NotSent != 1 || c.InFlight != 0 {
		t.Fatalf("%d sends, %+v", len(f.sent), c)
	}
	// a resend that fails makes the dialogue not sent
	g.open(1)
	f.err = errors.New("boom")
	g.onEvent(m3ua.DataUnsent{Data: f.sent[len(f.sent)-1]})
	if c := g.tr.Counts(); c.NotSent != 2 || c.InFlight != 0 {
		t.Fatalf("%+v", c)
	}
}

// A Begin that SCCP returns (UDTS) aborts its dialogue with the return
// cause; DATA that is not SCCP or does not decode is counted.
func TestReturnedAndMalformed(t *testing.T) {
	f := &fakeSender{}
	g := newGenerator(Config{Script: Script{OPC: 1, DPC: 2, SSN: 8, CalledSSN: 6, Steps: 1}, Timeout: time.Second}, f)
	g.open(0)
	var in sccp.Message
	if err := sccp.Decode(f.sent[0].Payload, &in); err != nil {
		t.Fatal(err)
	}
	ret := sccp.Service(&in, sccp.CauseSubsystemFailure)
	b, err := ret.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	g.onData(1, m3ua.UserData{OPC: 2, DPC: 1, SI: 3, Payload: b})
	g.onData(1, m3ua.UserData{OPC: 2, DPC: 1, SI: 3, Payload: []byte{0x09, 0x00}})
	g.onData(1, m3ua.UserData{OPC: 2, DPC: 1, SI: 5, Payload: []byte{1}})
	c := g.tr.Counts()
	if c.Aborted != 1 || c.AbortCauses["sccp-return:3"] != 1 || c.Malformed != 1 || g.other.Load() != 1 || c.InFlight != 0 {
		t.Fatalf("%+v", c)
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--opc", "1", "--dpc", "2"}, "--gateway is required"},
		{[]string{"--gateway", "10.0.0.1:2905"}, "--opc and --dpc are required"},
		{[]string{"--gateway", "10.0.0.1", "--opc", "1", "--dpc", "2"}, "--gateway"},
		{[]string{"--gateway", "10.0.0.1:2905", "--opc", "1", "--dpc", "20000"}, "14 bits"},
		{[]string{"--gateway", "10.0.0.1:2905", "--opc", "1", "--dpc", "2", "--sls-spread", "0"}, "--sls-spread"},
		{[]string{"--gateway", "10.0.0.1:2905", "--opc", "1", "--dpc", "2", "--steps", "300"}, "steps"},
		{[]string{"--gateway", "10.0.0.1:2905", "--opc", "1", "--dpc", "2", "--progress", "1ms"}, "--progress"},
	} {
		cmd := newCommand()
		cmd.SetArgs(tc.args)
		var sink strings.Builder
		cmd.SetOut(&sink)
		cmd.SetErr(&sink)
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
	cmd := newCommand()
	if !strings.Contains(cmd.Long, "Invoke op 100") {
		t.Fatal("the help does not state the script")
	}
}

// routedFake is a sender that lets the generator pick the association.
type routedFake struct {
	fakeSender
	states []m3ua.ASPState
	via    []m3ua.AssocID
}

func (r *routedFake) Pick(u m3ua.UserData, avoid m3ua.AssocID) (m3ua.AssocID, bool) {
	return pick(r.states, u.SLS, avoid)
}

func (r *routedFake) SendVia(a m3ua.AssocID, u m3ua.UserData) error {
	r.via = append(r.via, a)
	return r.SendData(u)
}

// DATA one gateway hands back goes again through the other one while it
// is ASP-ACTIVE, and the dialogue notes where each message went.
func TestResendAvoidsTheGatewayThatHandedItBack(t *testing.T) {
	f := &routedFake{states: []m3ua.ASPState{m3ua.ASPActive, m3ua.ASPActive}}
	g := newGenerator(Config{Script: Script{OPC: 1, DPC: 2, Steps: 1}, Timeout: time.Second, SLSSpread: 16}, f)
	g.open(1) // SLS 1: the second gateway
	if len(f.via) != 1 || f.via[0] != 2 {
		t.Fatalf("Begin went via %v; want association 2", f.via)
	}
	g.onEvent(m3ua.DataUnsent{Assoc: 2, Data: f.sent[0]})
	if len(f.via) != 2 || f.via[1] != 1 {
		t.Fatalf("resend went via %v; want association 1", f.via)
	}
	// the only ASP-ACTIVE gateway is used even if it handed the data back
	f.states[0] = m3ua.ASPDown
	g.onEvent(m3ua.DataUnsent{Assoc: 2, Data: f.sent[0]})
	if len(f.via) != 3 || f.via[2] != 2 {
		t.Fatalf("resend went via %v; want association 2 (the only one)", f.via)
	}
	lost := g.tr.Expire(time.Now().Add(time.Hour), nil)
	if len(lost) != 1 || len(lost[0].Sends) != 3 || lost[0].Sends[1].Assoc != 1 || lost[0].Sends[2].Assoc != 2 {
		t.Fatalf("lost %+v; want its 3 sends noted", lost)
	}
}
