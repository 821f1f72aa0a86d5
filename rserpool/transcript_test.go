package rserpool

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// TestTranscripts runs the scenarios under testdata/pe and testdata/pu:
// each command is an input to a PE or PU core, and the expected output is
// everything the core asked for in return (dials, closes, sends, timers,
// events), with timers shown relative to the simulated clock.
//
// Commands (both roles unless marked):
//
//	pe [handle=H] [id=N] [policy=P] [load=PCT] [step=PCT] [life=D] [t2=D] [t3=D] [t4=D] [retries=N] [registrars=N] [announces]
//	pu [stale=D] [items=N] [t1=D] [retries=N] [hold=D] [registrars=N] [announces]
//	start / stop
//	up a=N / down a=N          registrar association up / down (or dial failed)
//	accept                     (PE) a registrar opened an association to the PE
//	recv a=N                   body: one message (see parseMsg) from registrar association a
//	session s=N                body: one message from session s
//	announce [src=IP]          body: an ANNOUNCE message
//	tick D                     advance the clock, firing due timers in order
//	load PCT                   (PE) set the load
//	cookie s=N DATA / card s=N ids=1,2   (PE) session side
//	resolve handle=H tag=N     (PU)
//	session-up s=N handle=H id=N / failed s=N [noreport] / closed s=N   (PU)
//	counters / state / cache handle=H
func TestTranscripts(t *testing.T) {
	for _, dir := range []string{"testdata/pe", "testdata/pu"} {
		datadriven.Walk(t, dir, func(t *testing.T, path string) {
			h := &harness{now: time.Unix(1_000_000, 0), armed: map[TimerID]time.Time{}}
			datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
				return h.run(t, d)
			})
		})
	}
}

type harness struct {
	pe    *PE
	pu    *PU
	now   time.Time
	armed map[TimerID]time.Time
}

func (h *harness) b() *base {
	if h.pe != nil {
		return &h.pe.base
	}
	return &h.pu.base
}

func arg(d *datadriven.TestData, key, def string) string {
	for _, a := range d.CmdArgs {
		if a.Key == key {
			if len(a.Vals) == 0 {
				return "true"
			}
			return strings.Join(a.Vals, ",")
		}
	}
	return def
}

func argInt(t *testing.T, d *datadriven.TestData, key string, def int) int {
	v, err := strconv.Atoi(arg(d, key, strconv.Itoa(def)))
	if err != nil {
		t.Fatalf("%s: %v", d.Pos, err)
	}
	return v
}

func argDur(t *testing.T, d *datadriven.TestData, key string) time.Duration {
	s := arg(d, key, "0s")
	v, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s: %v", d.Pos, err)
	}
	return v
}

// registrarAddr is the static registrar number i (1-based) of the tests.
func registrarAddr(i int) sctp.Addr {
	return sctp.Addr{IPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 9, byte(i)})}, Port: Port}
}

func hunt(t *testing.T, d *datadriven.TestData) HuntConfig {
	var h HuntConfig
	for i := 1; i <= argInt(t, d, "registrars", 1); i++ {
		h.Registrars = append(h.Registrars, registrarAddr(i))
	}
	h.Announces = arg(d, "announces", "") != ""
	return h
}

var policyNames = map[string]PolicyType{
	"rr": RoundRobin, "wrr": WeightedRoundRobin, "rand": Random, "wrand": WeightedRandom,
	"pri": Priority, "lu": LeastUsed, "lud": LeastUsedWithDegradation, "plu": PriorityLeastUsed,
	"rlu": RandomizedLeastUsed,
}

// testElement is element id of the tests: SCTP on 10.0.0.id:2905, data
// plus control, with the policy given.
func testElement(id uint32, pol Policy) PoolElement {
	if pol.Type == WeightedRoundRobin || pol.Type == WeightedRandom {
		pol.Weight = max(pol.Weight, 1)
	}
	return PoolElement{
		ID: id,
		UserTransport: Transport{Kind: ParamSCTPTransport, Port: 2905, Use: DataPlusControl,
			Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 0, byte(id)})}},
		Policy: pol,
	}
}

func (h *harness) run(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "pe":
		pol := Policy{Type: policyNames[arg(d, "policy", "lu")]}
		pol.Load = LoadPercent(float64(argInt(t, d, "load", 0)))
		cfg := PEConfig{
			PoolHandle:     []byte(arg(d, "handle", "AS1")),
			Element:        testElement(uint32(argInt(t, d, "id", 7)), pol),
			Registration:   argDur(t, d, "t2"),
			Deregistration: argDur(t, d, "t3"),
			Reregistration: argDur(t, d, "t4"),
			Life:           argDur(t, d, "life"),
			Retries:        argInt(t, d, "retries", 0),
			Hunt:           hunt(t, d),
		}
		if s := arg(d, "step", ""); s != "" {
			n, _ := strconv.Atoi(s)
			cfg.LoadStep = LoadPercent(float64(n))
		}
		h.pe = NewPE(cfg)
		return ""
	case "pu":
		h.pu = NewPU(PUConfig{
			Request:      argDur(t, d, "t1"),
			Retries:      argInt(t, d, "retries", 0),
			MaxHResItems: uint32(argInt(t, d, "items", 0)),
			StaleCache:   argDur(t, d, "stale"),
			FailedHold:   argDur(t, d, "hold"),
			Hunt:         hunt(t, d),
		})
		return ""
	case "start":
		if h.pe != nil {
			h.pe.Start(h.now)
		} else {
			h.pu.Start(h.now)
		}
	case "stop":
		if h.pe != nil {
			h.pe.Stop(h.now)
		} else {
			h.pu.Stop(h.now)
		}
	case "up", "down":
		a := AssocID(argInt(t, d, "a", 0))
		switch {
		case h.pe != nil && d.Cmd == "up":
			h.pe.RegistrarUp(h.now, a)
		case h.pe != nil:
			h.pe.RegistrarDown(h.now, a)
		case d.Cmd == "up":
			h.pu.RegistrarUp(h.now, a)
		default:
			h.pu.RegistrarDown(h.now, a)
		}
	case "accept":
		a := h.pe.RegistrarAccepted(h.now)
		return fmt.Sprintf("accepted as assoc %d\n", a) + h.ready()
	case "recv", "session":
		a, s := AssocID(argInt(t, d, "a", 0)), SessionID(argInt(t, d, "s", 0))
		m, raw := parseMsg(t, d.Input)
		switch {
		case h.pe != nil && d.Cmd == "recv" && raw != nil:
			h.pe.FromRegistrarBytes(h.now, a, raw)
		case h.pe != nil && d.Cmd == "recv":
			h.pe.FromRegistrar(h.now, a, m)
		case h.pe != nil && raw != nil:
			h.pe.FromSessionBytes(h.now, s, raw)
		case h.pe != nil:
			h.pe.FromSession(h.now, s, m)
		case d.Cmd == "recv" && raw != nil:
			h.pu.FromRegistrarBytes(h.now, a, raw)
		case d.Cmd == "recv":
			h.pu.FromRegistrar(h.now, a, m)
		case raw != nil:
			h.pu.FromSessionBytes(h.now, s, raw)
		default:
			h.pu.FromSession(h.now, s, m)
		}
	case "announce":
		m, _ := parseMsg(t, d.Input)
		// src=ADDR or src=ADDR:PORT: the datagram's source.
		s := arg(d, "src", "10.0.9.99")
		src, err := netip.ParseAddrPort(s)
		if err != nil {
			src = netip.AddrPortFrom(netip.MustParseAddr(s), 0)
		}
		if h.pe != nil {
			h.pe.Announce(h.now, m.(*ServerAnnounce), src)
		} else {
			h.pu.Announce(h.now, m.(*ServerAnnounce), src)
		}
	case "tick":
		dur, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			t.Fatal(err)
		}
		return h.tick(dur)
	case "load":
		n, _ := strconv.Atoi(d.CmdArgs[0].Key)
		h.pe.SetLoad(h.now, LoadPercent(float64(n)))
	case "cookie":
		h.pe.SendCookie(SessionID(argInt(t, d, "s", 0)), []byte(d.CmdArgs[1].Key))
	case "card":
		var pes []PoolElement
		for _, v := range strings.Split(arg(d, "ids", ""), ",") {
			n, _ := strconv.Atoi(v)
			pes = append(pes, testElement(uint32(n), h.pe.cfg.Element.Policy))
		}
		h.pe.SendBusinessCard(SessionID(argInt(t, d, "s", 0)), pes)
	case "resolve":
		h.pu.Resolve(h.now, []byte(arg(d, "handle", "AS1")), uint64(argInt(t, d, "tag", 0)))
	case "session-up":
		h.pu.SessionUp(h.now, SessionID(argInt(t, d, "s", 0)), []byte(arg(d, "handle", "AS1")), uint32(argInt(t, d, "id", 0)))
	case "failed":
		h.pu.SessionFailed(h.now, SessionID(argInt(t, d, "s", 0)), arg(d, "noreport", "") == "")
	case "closed":
		h.pu.SessionClosed(SessionID(argInt(t, d, "s", 0)))
	case "counters":
		return fmt.Sprintf("%+v\n", h.b().Counters())
	case "state":
		if h.pe != nil {
			return fmt.Sprintf("%v id=%d home=%d\n", h.pe.State(), h.pe.ID(), h.pe.Home())
		}
		a, ok := h.pu.Registrar()
		return fmt.Sprintf("registrar=%d up=%v\n", a, ok)
	case "cache":
		h.pu.Cache().Expire(h.now, nil)
		p := h.pu.Cache().Pool([]byte(arg(d, "handle", "AS1")))
		if p == nil {
			return "no pool\n"
		}
		var ids []string
		for _, e := range p.Select(p.Len(), nil) {
			ids = append(ids, fmt.Sprintf("%d(exp +%v)", e.ID(), e.Expires().Sub(h.now)))
		}
		return fmt.Sprintf("%v: %s\n", p.Policy(), strings.Join(ids, " "))
	default:
		t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	}
	return h.ready()
}

// tick advances the clock by dur, firing the due timers in order (each
// at its own time) and printing what each produced.
func (h *harness) tick(dur time.Duration) string {
	end := h.now.Add(dur)
	var b strings.Builder
	for {
		var next TimerID
		var at time.Time
		found := false
		for id, t := range h.armed {
			if !t.After(end) && (!found || t.Before(at) || (t.Equal(at) && id.String() < next.String())) {
				next, at, found = id, t, true
			}
		}
		if !found {
			break
		}
		delete(h.armed, next)
		h.now = at
		fmt.Fprintf(&b, "@%v %v fired\n", at.Sub(time.Unix(1_000_000, 0)), next)
		if h.pe != nil {
			h.pe.Timer(h.now, next)
		} else {
			h.pu.Timer(h.now, next)
		}
		b.WriteString(h.ready())
	}
	h.now = end
	return b.String()
}

func (h *harness) ready() string {
	r := h.b().Ready()
	var b strings.Builder
	for _, x := range r.Dials {
		fmt.Fprintf(&b, "dial assoc %d to %v\n", x.Assoc, x.Addr)
	}
	for _, x := range r.Closes {
		fmt.Fprintf(&b, "close assoc %d\n", x)
	}
	for _, x := range r.Sends {
		// Everything sent must encode and decode back.
		raw, err := Marshal(x.Msg)
		if err != nil {
			fmt.Fprintf(&b, "ENCODE ERROR %v\n", err)
		} else if _, _, err := DecodeMessage(raw); err != nil {
			fmt.Fprintf(&b, "DECODE ERROR %v\n", err)
		}
		if x.Session != 0 {
			fmt.Fprintf(&b, "send session %d: %s\n", x.Session, describe(x.Msg))
		} else {
			fmt.Fprintf(&b, "send assoc %d: %s\n", x.Assoc, describe(x.Msg))
		}
	}
	for _, x := range r.Timers {
		if x.Stop {
			delete(h.armed, x.ID)
			fmt.Fprintf(&b, "stop %v\n", x.ID)
		} else {
			h.armed[x.ID] = x.At
			fmt.Fprintf(&b, "arm %v +%v\n", x.ID, x.At.Sub(h.now))
		}
	}
	for _, x := range r.Events {
		fmt.Fprintf(&b, "event %s\n", describeEvent(x))
	}
	return b.String()
}

func describeEvent(e Event) string {
	switch e := e.(type) {
	case Selected:
		return fmt.Sprintf("Selected tag=%d session=%d handle=%s pe=%d card=%v", e.Tag, e.Session, e.Handle, e.Element.ID, e.FromCard)
	case ResolutionFailed:
		return fmt.Sprintf("ResolutionFailed tag=%d session=%d handle=%s causes=%v timeout=%v", e.Tag, e.Session, e.Handle, causeNames2(e.Causes), e.Timeout)
	case CookieReceived:
		return fmt.Sprintf("CookieReceived session=%d %q", e.Session, e.Cookie)
	case CookieEchoReceived:
		return fmt.Sprintf("CookieEchoReceived session=%d %q", e.Session, e.Cookie)
	case BusinessCardReceived:
		return fmt.Sprintf("BusinessCardReceived session=%d handle=%s pes=%v", e.Session, e.PoolHandle, ids(e.Elements))
	case ErrorReceived:
		return fmt.Sprintf("ErrorReceived assoc=%d session=%d %v", e.Assoc, e.Session, causeNames2(e.Causes))
	case Refused:
		return fmt.Sprintf("Refused assoc=%d session=%d %v silent=%v", e.Assoc, e.Session, e.Err.Cause, e.Err.Silent)
	case RegistrationRejected:
		return fmt.Sprintf("RegistrationRejected assoc=%d %v", e.Assoc, causeNames2(e.Causes))
	}
	return fmt.Sprintf("%T%+v", e, e)
}

func causeNames2(cs []ErrorCause) []string {
	var s []string
	for _, c := range cs {
		s = append(s, c.Code.String())
	}
	return s
}

func ids(pes []PoolElement) []uint32 {
	var v []uint32
	for _, pe := range pes {
		v = append(v, pe.ID)
	}
	return v
}

// describe prints a message in the form parseMsg reads.
func describe(m Message) string {
	switch m := m.(type) {
	case *Registration:
		return fmt.Sprintf("REG handle=%s id=%d home=%d life=%d policy=%v load=%d%% addr=%v", m.PoolHandle, m.Element.ID,
			m.Element.HomeRegistrar, m.Element.RegistrationLife, m.Element.Policy.Type, loadPct(m.Element.Policy.Load), m.Element.UserTransport.Addrs)
	case *Deregistration:
		return fmt.Sprintf("DEREG handle=%s id=%d", m.PoolHandle, m.ID)
	case *HandleResolution:
		return fmt.Sprintf("HRES handle=%s items=%d(%v)", m.PoolHandle, m.Items, m.HasItems)
	case *EndpointKeepAliveAck:
		return fmt.Sprintf("KEEPALIVE_ACK handle=%s id=%d", m.PoolHandle, m.ID)
	case *EndpointUnreachable:
		return fmt.Sprintf("UNREACHABLE handle=%s id=%d", m.PoolHandle, m.ID)
	case *Cookie:
		return fmt.Sprintf("COOKIE %q", m.Cookie)
	case *CookieEcho:
		return fmt.Sprintf("COOKIE_ECHO %q", m.Cookie)
	case *BusinessCard:
		return fmt.Sprintf("BCARD handle=%s pes=%v", m.PoolHandle, ids(m.Elements))
	case *ErrorMessage:
		return fmt.Sprintf("ERROR %v", causeNames2(m.Causes))
	}
	return fmt.Sprintf("%v %+v", m.Type(), m)
}

func loadPct(l uint32) int { return int((uint64(l)*100 + MaxLoad/2) / MaxLoad) }

// parseMsg reads one message: "hex 01 00 ..." (returned raw), or
//
//	REG_RESP handle=H id=N [reject] [cause=N]
//	DEREG_RESP handle=H id=N
//	KEEPALIVE server=N handle=H [id=N] [home]
//	HRES_RESP handle=H [policy=P] [pes=1,2:LOADPCT] [cause=N]
//	COOKIE DATA / COOKIE_ECHO DATA / BCARD handle=H pes=1,2 / ERROR cause=N
//	ANNOUNCE server=N [addr=IP:PORT]
//	REG handle=H id=N   (a message no PE or PU handles)
func parseMsg(t *testing.T, s string) (Message, []byte) {
	f := strings.Fields(strings.TrimSpace(s))
	if len(f) == 0 {
		t.Fatal("empty message")
	}
	if f[0] == "hex" {
		b, err := hex.DecodeString(strings.Join(f[1:], ""))
		if err != nil {
			t.Fatal(err)
		}
		return nil, b
	}
	kv := map[string]string{}
	var words []string
	for _, w := range f[1:] {
		if k, v, ok := strings.Cut(w, "="); ok {
			kv[k] = v
		} else {
			words = append(words, w)
		}
	}
	num := func(k string) uint32 { n, _ := strconv.ParseUint(kv[k], 10, 32); return uint32(n) }
	handle := []byte(kv["handle"])
	var causes []ErrorCause
	if c, ok := kv["cause"]; ok {
		n, _ := strconv.Atoi(c)
		causes = []ErrorCause{{Code: Cause(n)}}
	}
	pol := Policy{Type: LeastUsed}
	if p, ok := kv["policy"]; ok {
		pol.Type = policyNames[p]
	}
	var pes []PoolElement
	if v := kv["pes"]; v != "" {
		for _, x := range strings.Split(v, ",") {
			idS, loadS, _ := strings.Cut(x, ":")
			id, _ := strconv.Atoi(idS)
			p := pol
			if loadS != "" {
				l, _ := strconv.Atoi(loadS)
				p.Load = LoadPercent(float64(l))
			}
			pes = append(pes, testElement(uint32(id), p))
		}
	}
	switch f[0] {
	case "REG_RESP":
		return &RegistrationResponse{Reject: slices.Contains(words, "reject"), PoolHandle: handle, ID: num("id"), Causes: causes}, nil
	case "DEREG_RESP":
		return &DeregistrationResponse{PoolHandle: handle, ID: num("id")}, nil
	case "KEEPALIVE":
		_, hasID := kv["id"]
		return &EndpointKeepAlive{Home: slices.Contains(words, "home"), ServerID: num("server"), PoolHandle: handle, HasID: hasID, ID: num("id")}, nil
	case "HRES_RESP":
		m := &HandleResolutionResponse{PoolHandle: handle, Elements: pes, Causes: causes}
		if _, ok := kv["policy"]; ok {
			m.Policy = &Policy{Type: pol.Type}
		}
		return m, nil
	case "COOKIE":
		return &Cookie{Cookie: []byte(strings.Join(words, " "))}, nil
	case "COOKIE_ECHO":
		return &CookieEcho{Cookie: []byte(strings.Join(words, " "))}, nil
	case "BCARD":
		return &BusinessCard{PoolHandle: handle, Elements: pes}, nil
	case "ERROR":
		return &ErrorMessage{Causes: causes}, nil
	case "ANNOUNCE":
		m := &ServerAnnounce{ServerID: num("server")}
		if a, ok := kv["addr"]; ok {
			ap := netip.MustParseAddrPort(a)
			m.Transports = []Transport{{Kind: ParamSCTPTransport, Port: ap.Port(), Addrs: []netip.Addr{ap.Addr()}}}
		}
		return m, nil
	case "REG":
		return &Registration{PoolHandle: handle, Element: testElement(num("id"), pol)}, nil
	}
	t.Fatalf("unknown message %q", f[0])
	return nil, nil
}
