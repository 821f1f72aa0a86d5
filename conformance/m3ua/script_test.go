package m3ua_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// The scripting helper: a raw M3UA peer over one SCTP association that
// sends exact bytes on exact streams and expects exact messages, and the
// environment (two hosts, their transports) the implementation under test
// runs in.

// env is where a run of the suite happens: the SGP side (host 1) and the
// ASP side (host 2), with their transports and addresses.
type env struct {
	name         string
	sgpT, aspT   sctp.Transport
	sgpIP, aspIP []netip.Addr
	// wait bounds an expectation; quiet is how long "expect nothing"
	// listens. The lab's emulated CPU is slow: both are longer there.
	wait, quiet time.Duration
	// ack is T(ack) for the tests of the ASP's retransmissions: short,
	// yet long enough for an answer to come back first.
	ack  time.Duration
	port atomic.Uint32
}

func (e *env) nextPort() uint16 { return uint16(e.port.Add(1)) }

// tp is one test purpose.
type tp struct {
	id      string // M3UA_SGP_ASPSM_V_001
	purpose string
	run     func(x *tcx)
}

// role and group of a test purpose, from its identifier.
func (p tp) role() string  { return strings.Split(p.id, "_")[1] }
func (p tp) group() string { return strings.Split(p.id, "_")[2] }

// tcx is the context of one test purpose.
type tcx struct {
	*testing.T
	e  *env
	na string // reason when not applicable
}

// notApplicable ends the test purpose with verdict NA.
func (x *tcx) notApplicable(reason string) {
	x.na = reason
	x.SkipNow()
}

type verdict struct {
	tp     tp
	result string // PASS, FAIL, NA
	reason string
}

// runSuite runs every test purpose as a subtest and prints the table.
func runSuite(t *testing.T, e *env, tps []tp) {
	var vs []verdict
	for _, p := range tps {
		x := &tcx{e: e}
		ran := false
		ok := t.Run(p.id, func(t *testing.T) {
			ran = true
			x.T = t
			t.Logf("purpose: %s", p.purpose)
			p.run(x)
		})
		if !ran {
			continue // not selected by -run
		}
		v := verdict{tp: p, result: "PASS"}
		switch {
		case x.na != "":
			v.result, v.reason = "NA", x.na
		case !ok:
			v.result = "FAIL"
		}
		vs = append(vs, v)
	}
	for _, o := range tsOpen() {
		vs = append(vs, verdict{tp: tp{id: o.id, purpose: o.purpose}, result: o.verdict, reason: o.reason})
	}
	slices.SortStableFunc(vs, func(a, b verdict) int { return strings.Compare(tpOrder(a.tp.id), tpOrder(b.tp.id)) })
	printTable(e.name, vs)
}

// targets are the counts issue 3 asks for, per role and group.
var targets = map[string]int{
	"SGP/ASPSM": 11, "SGP/ASPTM": 20, "SGP/MTR": 9, "SGP/RKM": 23, "SGP/SSNM": 4,
	"ASP/ASPSM": 9, "ASP/ASPTM": 9, "ASP/MTR": 6, "ASP/RKM": 4, "ASP/SSNM": 8,
	"IPSP/SE": 5, "IPSP/DE": 4,
}

func printTable(name string, vs []verdict) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nM3UA conformance (%s)\n", name)
	fmt.Fprintf(&b, "%-24s %-8s %s\n", "test purpose", "verdict", "purpose / reason")
	// Per role and group: the TS purposes (PASS, FAIL, NA, UNTESTED) and,
	// apart, this suite's own (kind X) that passed and failed.
	type count struct{ pass, fail, na, untested, own, ownFail int }
	counts := map[string]*count{}
	for _, v := range vs {
		text := v.tp.purpose
		switch v.result {
		case "NA":
			text = "not applicable: " + v.reason + " [" + v.tp.purpose + "]"
		case "UNTESTED":
			text = "not tested: " + v.reason + " [" + v.tp.purpose + "]"
		}
		fmt.Fprintf(&b, "%-24s %-8s %s\n", v.tp.id, v.result, text)
		k := v.tp.role() + "/" + v.tp.group()
		c := counts[k]
		if c == nil {
			c = &count{}
			counts[k] = c
		}
		own := strings.Contains(v.tp.id, "_X_")
		switch {
		case own && v.result == "PASS":
			c.own++
		case own:
			c.ownFail++
		case v.result == "PASS":
			c.pass++
		case v.result == "FAIL":
			c.fail++
		case v.result == "UNTESTED":
			c.untested++
		default:
			c.na++
		}
	}
	keys := make([]string, 0, len(targets))
	for k := range targets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(&b, "\n%-10s %7s %5s %5s %8s %7s   %8s %8s\n", "role/group", "pass", "fail", "na", "untested", "target", "own pass", "own fail")
	var tot count
	for _, k := range keys {
		c := counts[k]
		if c == nil {
			c = &count{}
		}
		tot.pass, tot.fail, tot.na, tot.untested = tot.pass+c.pass, tot.fail+c.fail, tot.na+c.na, tot.untested+c.untested
		tot.own, tot.ownFail = tot.own+c.own, tot.ownFail+c.ownFail
		fmt.Fprintf(&b, "%-10s %7d %5d %5d %8d %7d   %8d %8d\n", k, c.pass, c.fail, c.na, c.untested, targets[k], c.own, c.ownFail)
	}
	fmt.Fprintf(&b, "%-10s %7d %5d %5d %8d %7s   %8d %8d\n", "total", tot.pass, tot.fail, tot.na, tot.untested, "", tot.own, tot.ownFail)
	b.WriteString("pass..untested: purposes of TS 102 381 (and the IPSP ones, kind V/I); own: this suite's purposes (kind X)\n")
	fmt.Print(b.String())
}

// rxItem is what a peer's reader got: a message or the end.
type rxItem struct {
	stream uint16
	ppid   uint32
	data   []byte
	end    error // set on the last item: the association ended
}

// peer is a raw M3UA peer on one association.
type peer struct {
	x     *tcx
	a     sctp.Association
	rx    chan rxItem
	ended atomic.Bool
}

func newPeer(x *tcx, a sctp.Association) *peer {
	p := &peer{x: x, a: a, rx: make(chan rxItem, 4096)}
	go p.read()
	x.Cleanup(func() { a.Abort() })
	return p
}

func (p *peer) read() {
	buf := make([]byte, sctp.MaxMessage)
	for {
		m, ev, err := p.a.Recv(buf)
		if err != nil {
			if errors.Is(err, sctp.ErrMessageTooLong) {
				continue
			}
			p.ended.Store(true)
			p.rx <- rxItem{end: err}
			close(p.rx)
			return
		}
		if ev != nil {
			continue // path events and comm-up; the end comes as an error
		}
		p.rx <- rxItem{stream: m.Stream, ppid: m.PPID, data: bytes.Clone(m.Data)}
	}
}

// sendRaw sends b as one M3UA message on stream.
func (p *peer) sendRaw(stream uint16, b []byte) {
	p.x.Helper()
	p.a.SetWriteDeadline(time.Now().Add(p.x.e.wait))
	if err := p.a.Send(sctp.Message{Stream: stream, PPID: m3ua.PPID, Data: b}); err != nil {
		p.x.Fatalf("sending %s on stream %d: %v", m3ua.DescribeBytes(b), stream, err)
	}
}

// send encodes m and sends it on stream.
func (p *peer) send(stream uint16, m messages.M3UA) []byte {
	p.x.Helper()
	b := enc(p.x, m)
	p.sendRaw(stream, b)
	return b
}

func enc(x *tcx, m messages.M3UA) []byte {
	x.Helper()
	b, err := m3ua.Encode(m)
	if err != nil {
		x.Fatalf("encoding %T: %v", m, err)
	}
	return b
}

// next returns the next message within d; ok is false on timeout.
func (p *peer) next(d time.Duration) (rxItem, bool) {
	select {
	case it, open := <-p.rx:
		if !open {
			return rxItem{end: errors.New("association already ended")}, true
		}
		return it, true
	case <-time.After(d):
		return rxItem{}, false
	}
}

// exp is an expected message: on stream (anyData: any stream but 0), with
// exactly the parameters of msg; Diagnostic Information and INFO String
// may come in addition.
type exp struct {
	stream  int
	msg     []byte
	anyData bool
}

const anyStream = -1

// on expects m on stream.
func on(x *tcx, stream int, m messages.M3UA) exp { return exp{stream: stream, msg: enc(x, m)} }

// mgmt expects m on stream 0.
func mgmt(x *tcx, m messages.M3UA) exp { return on(x, 0, m) }

// expect waits for the next message and checks it is w.
func (p *peer) expect(w exp) rxItem {
	p.x.Helper()
	it, ok := p.next(p.x.e.wait)
	if !ok {
		p.x.Fatalf("expected %s within %v, got nothing", m3ua.DescribeBytes(w.msg), p.x.e.wait)
	}
	if it.end != nil {
		p.x.Fatalf("expected %s, the association ended: %v", m3ua.DescribeBytes(w.msg), it.end)
	}
	if it.ppid != m3ua.PPID {
		p.x.Fatalf("expected %s, got PPID %d: % x", m3ua.DescribeBytes(w.msg), it.ppid, it.data)
	}
	switch {
	case w.anyData && it.stream == 0:
		p.x.Fatalf("expected %s on a stream other than 0, got it on stream 0", m3ua.DescribeBytes(w.msg))
	case !w.anyData && w.stream != anyStream && int(it.stream) != w.stream:
		p.x.Fatalf("expected %s on stream %d, got %s on stream %d", m3ua.DescribeBytes(w.msg), w.stream, m3ua.DescribeBytes(it.data), it.stream)
	}
	if err := match(w.msg, it.data); err != nil {
		p.x.Fatalf("expected %s\n     got %s\n    (%v)", m3ua.DescribeBytes(w.msg), m3ua.DescribeBytes(it.data), err)
	}
	return it
}

// expectAll expects the messages ws in any order.
func (p *peer) expectAll(ws ...exp) {
	p.x.Helper()
	left := append([]exp(nil), ws...)
	for len(left) > 0 {
		it, ok := p.next(p.x.e.wait)
		if !ok || it.end != nil {
			p.x.Fatalf("still expecting %d messages (first %s): %v", len(left), m3ua.DescribeBytes(left[0].msg), it.end)
		}
		found := -1
		for i, w := range left {
			if (w.stream == anyStream || int(it.stream) == w.stream || (w.anyData && it.stream != 0)) && match(w.msg, it.data) == nil {
				found = i
				break
			}
		}
		if found < 0 {
			var want []string
			for _, w := range left {
				want = append(want, m3ua.DescribeBytes(w.msg))
			}
			p.x.Fatalf("got %s on stream %d, expected one of:\n  %s", m3ua.DescribeBytes(it.data), it.stream, strings.Join(want, "\n  "))
		}
		left = append(left[:found], left[found+1:]...)
	}
}

// expectNothing checks that no message comes for the quiet time.
func (p *peer) expectNothing() {
	p.x.Helper()
	p.expectNothingFor(p.x.e.quiet)
}

func (p *peer) expectNothingFor(d time.Duration) {
	p.x.Helper()
	if it, ok := p.next(d); ok {
		if it.end != nil {
			p.x.Fatalf("expected nothing, the association ended: %v", it.end)
		}
		p.x.Fatalf("expected nothing, got %s on stream %d", m3ua.DescribeBytes(it.data), it.stream)
	}
}

// expectUp checks that the association is still up and the IUT still
// answers: a BEAT gets its BEAT ACK (RFC 4666 4.3.4.6), in any state.
func (p *peer) expectUp() {
	p.x.Helper()
	data := []byte("still-up")
	p.send(0, messages.NewHeartbeat(params.NewHeartbeatData(data)))
	p.expect(mgmt(p.x, messages.NewHeartbeatAck(params.NewHeartbeatData(data))))
}

// expectEnded checks that the IUT ends the association (abort or
// shutdown), skipping messages sent before.
func (p *peer) expectEnded() {
	p.x.Helper()
	deadline := time.After(p.x.e.wait)
	for {
		select {
		case it, open := <-p.rx:
			if !open || it.end != nil {
				return
			}
		case <-deadline:
			p.x.Fatalf("the association did not end within %v", p.x.e.wait)
		}
	}
}

type tlv struct {
	tag uint16
	val []byte
}

func splitParams(b []byte) ([]tlv, error) {
	var out []tlv
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("%d trailing bytes", len(b))
		}
		tag, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if l < 4 || l > len(b) {
			return nil, fmt.Errorf("parameter %#04x of length %d", tag, l)
		}
		out = append(out, tlv{tag, b[4:l]})
		b = b[min(len(b), (l+3)&^3):]
	}
	return out, nil
}

// match checks that got is want: same version, class and type, the same
// parameters with the same values, in any order; Diagnostic Information
// (0x0007) and INFO String (0x0004) may come in addition.
func match(want, got []byte) error {
	if len(got) < 8 || binary.BigEndian.Uint32(got[4:]) != uint32(len(got)) {
		return fmt.Errorf("malformed: % x", got)
	}
	if !bytes.Equal(want[:4], got[:4]) {
		return fmt.Errorf("header % x, want % x", got[:4], want[:4])
	}
	wp, err := splitParams(want[8:])
	if err != nil {
		return err
	}
	gp, err := splitParams(got[8:])
	if err != nil {
		return fmt.Errorf("parameters: %v", err)
	}
	used := make([]bool, len(gp))
	for _, w := range wp {
		found := false
		for i, g := range gp {
			if !used[i] && g.tag == w.tag && bytes.Equal(g.val, w.val) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return fmt.Errorf("parameter %#04x = % x missing or different", w.tag, w.val)
		}
	}
	for i, g := range gp {
		if !used[i] && g.tag != params.DiagnosticInformation && g.tag != params.InfoString {
			return fmt.Errorf("unexpected parameter %#04x = % x", g.tag, g.val)
		}
	}
	return nil
}

// Message shorthands.

func errMsg(code m3ua.ErrorCode, rcs ...uint32) *messages.Error {
	var rc *params.Param
	if len(rcs) > 0 {
		rc = params.NewRoutingContext(rcs...)
	}
	return messages.NewError(params.NewErrorCode(uint32(code)), rc, nil, nil, nil)
}

func ntfyAS(st uint16, rc uint32) *messages.Notify {
	return messages.NewNotify(params.NewStatus(uint32(m3ua.StatusTypeASStateChange)<<16|uint32(st)), nil, params.NewRoutingContext(rc), nil)
}

func ntfyOther(info uint16, rc uint32) *messages.Notify {
	return messages.NewNotify(params.NewStatus(uint32(m3ua.StatusTypeOther)<<16|uint32(info)), nil, params.NewRoutingContext(rc), nil)
}

func rcP(rcs ...uint32) *params.Param { return params.NewRoutingContext(rcs...) }

func tmtP(m m3ua.TrafficMode) *params.Param { return params.NewTrafficModeType(uint32(m)) }

func aspac(m m3ua.TrafficMode, rcs ...uint32) *messages.AspActive {
	var tmt, rc *params.Param
	if m != 0 {
		tmt = tmtP(m)
	}
	if len(rcs) > 0 {
		rc = rcP(rcs...)
	}
	return messages.NewAspActive(tmt, rc, nil)
}

func aspacAck(m m3ua.TrafficMode, rcs ...uint32) *messages.AspActiveAck {
	var tmt, rc *params.Param
	if m != 0 {
		tmt = tmtP(m)
	}
	if len(rcs) > 0 {
		rc = rcP(rcs...)
	}
	return messages.NewAspActiveAck(tmt, rc, nil)
}

func aspia(rcs ...uint32) *messages.AspInactive {
	var rc *params.Param
	if len(rcs) > 0 {
		rc = rcP(rcs...)
	}
	return messages.NewAspInactive(rc, nil)
}

func aspiaAck(rcs ...uint32) *messages.AspInactiveAck {
	var rc *params.Param
	if len(rcs) > 0 {
		rc = rcP(rcs...)
	}
	return messages.NewAspInactiveAck(rc, nil)
}

func data(rc uint32, hasRC bool, opc, dpc uint32, sls uint8, payload string) *messages.Data {
	return m3ua.NewData(m3ua.UserData{RC: rc, HasRC: hasRC, OPC: opc, DPC: dpc, SI: 3, NI: 2, MP: 0, SLS: sls, Payload: []byte(payload)})
}

// withHeader rewrites bytes 0-3 of an encoded message (version, reserved,
// class, type).
func withHeader(b []byte, version, class, typ uint8) []byte {
	b = bytes.Clone(b)
	b[0], b[2], b[3] = version, class, typ
	return b
}

// rawMsg builds a message from a header and raw parameter bytes.
func rawMsg(class, typ uint8, body ...[]byte) []byte {
	b := []byte{1, 0, class, typ, 0, 0, 0, 0}
	for _, p := range body {
		b = append(b, p...)
	}
	binary.BigEndian.PutUint32(b[4:], uint32(len(b)))
	return b
}

// rawParam builds one parameter, padded.
func rawParam(tag uint16, val []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, tag)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(val)))
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// recorder keeps what a driver told its handlers.
type recorder struct {
	mu     sync.Mutex
	data   []m3ua.UserData
	events []m3ua.Event
	ch     chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 1)} }

func (r *recorder) handlers() m3ua.Handlers {
	poke := func() {
		select {
		case r.ch <- struct{}{}:
		default:
		}
	}
	return m3ua.Handlers{
		Data: func(a m3ua.AssocID, u m3ua.UserData) {
			u.Payload = bytes.Clone(u.Payload)
			r.mu.Lock()
			r.data = append(r.data, u)
			r.mu.Unlock()
			poke()
		},
		Event: func(e m3ua.Event) {
			r.mu.Lock()
			r.events = append(r.events, e)
			r.mu.Unlock()
			poke()
		},
	}
}

// waitFor waits until cond holds (under the recorder's lock).
func (r *recorder) waitFor(x *tcx, what string, cond func() bool) {
	x.Helper()
	deadline := time.After(x.e.wait)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.ch:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			x.Fatalf("waited %v for %s", x.e.wait, what)
		}
	}
}

// sgpIUT is an m3ua.Server under test on host 1.
type sgpIUT struct {
	x    *tcx
	srv  *m3ua.Server
	addr sctp.Addr
	rec  *recorder
}

// startSGP starts the SGP under test with cfg.
func (x *tcx) startSGP(cfg m3ua.SGPConfig) *sgpIUT {
	x.Helper()
	addr := sctp.Addr{IPs: x.e.sgpIP, Port: x.e.nextPort()}
	ln, err := x.e.sgpT.Listen(addr)
	if err != nil {
		x.Fatalf("listen %s: %v", addr, err)
	}
	rec := newRecorder()
	srv := m3ua.NewServer(m3ua.ServerConfig{SGP: cfg, Handlers: rec.handlers()})
	go srv.Serve(ln)
	x.Cleanup(func() { srv.Close() })
	return &sgpIUT{x: x, srv: srv, addr: addr, rec: rec}
}

// dial associates a raw ASP with the SGP under test.
func (s *sgpIUT) dial() *peer {
	x := s.x
	x.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), x.e.wait)
	defer cancel()
	a, err := x.e.aspT.Dial(ctx, sctp.Addr{IPs: x.e.aspIP}, s.addr)
	if err != nil {
		x.Fatalf("dial %s: %v", s.addr, err)
	}
	p := newPeer(x, a)
	// Wait for the server to know the association, so that what follows
	// (Block, SendData) finds it.
	s.rec.waitFor(x, "the SGP to accept the association", func() bool {
		for _, e := range s.rec.events {
			if ae, ok := e.(m3ua.AssocEstablished); ok && ae.Peer.Port == a.LocalAddr().Port {
				return true
			}
		}
		return false
	})
	return p
}

// assocOf returns the SGP's AssocID of p's association.
func (s *sgpIUT) assocOf(p *peer) m3ua.AssocID {
	port := p.a.LocalAddr().Port
	for id, addr := range s.srv.Assocs() {
		if addr.Port == port {
			return id
		}
	}
	s.x.Fatalf("the SGP has no association from port %d", port)
	return 0
}

// up brings p to ASP-INACTIVE: ASPUP, ASPUP ACK, then the NTFYs given.
func (p *peer) up(then ...exp) {
	p.x.Helper()
	p.send(0, messages.NewAspUp(nil, nil))
	p.expect(mgmt(p.x, messages.NewAspUpAck(nil, nil)))
	p.expectAll(then...)
}

// active activates p for rcs (no traffic mode): ASPAC, ASPAC ACK, then the
// NTFYs given.
func (p *peer) active(rcs []uint32, then ...exp) {
	p.x.Helper()
	p.send(0, aspac(0, rcs...))
	p.expect(mgmt(p.x, aspacAck(0, rcs...)))
	p.expectAll(then...)
}

// aspIUT is an m3ua.Client under test on host 2, with the raw SGP it
// dialled on host 1.
type aspIUT struct {
	c   *m3ua.Client
	rec *recorder
	p   *peer
}

// startASP listens as a raw SGP, starts the client under test and accepts
// its association.
func (x *tcx) startASP(cfg m3ua.ASPConfig) *aspIUT {
	x.Helper()
	return x.startClientIUT(cfg, nil)
}

// startIPSP is startASP for an m3ua.Client in IPSP mode, with ipspLocal as
// its requesting half.
func (x *tcx) startIPSP(ic m3ua.IPSPConfig) *aspIUT {
	x.Helper()
	return x.startClientIUT(ipspLocal(), &ic)
}

func (x *tcx) startClientIUT(cfg m3ua.ASPConfig, ic *m3ua.IPSPConfig) *aspIUT {
	x.Helper()
	addr := sctp.Addr{IPs: x.e.sgpIP, Port: x.e.nextPort()}
	ln, err := x.e.sgpT.Listen(addr)
	if err != nil {
		x.Fatalf("listen %s: %v", addr, err)
	}
	x.Cleanup(func() { ln.Close() })
	rec := newRecorder()
	c, err := m3ua.StartClient(m3ua.ClientConfig{
		ASP: cfg, Transport: x.e.aspT, Local: sctp.Addr{IPs: x.e.aspIP}, SGPs: []sctp.Addr{addr},
		Handlers: rec.handlers(), Backoff: m3ua.Backoff{Initial: time.Hour, Max: time.Hour}, IPSP: ic,
	})
	if err != nil {
		x.Fatal(err)
	}
	x.Cleanup(func() { c.Close() })
	type res struct {
		a   sctp.Association
		err error
	}
	ch := make(chan res, 1)
	go func() {
		a, err := ln.Accept()
		ch <- res{a, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			x.Fatalf("accept: %v", r.err)
		}
		return &aspIUT{c: c, rec: rec, p: newPeer(x, r.a)}
	case <-time.After(x.e.wait):
		x.Fatalf("the ASP did not associate within %v", x.e.wait)
	}
	return nil
}

// waitState waits until the client's ASP state is st.
func (a *aspIUT) waitState(x *tcx, st m3ua.ASPState) {
	x.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), x.e.wait)
	defer cancel()
	if err := a.c.Wait(ctx, func(s []m3ua.ASPState) bool { return s[0] == st }); err != nil {
		x.Fatalf("the ASP is %v, want %v", a.c.States()[0], st)
	}
}
