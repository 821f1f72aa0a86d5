package enrp

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// TestTranscripts runs the scenarios under testdata/registrar: each command
// is an input to a Registrar core, and the expected output is everything the
// core asked for in return (dials, closes, sends, timers relative to the
// simulated clock, events).
//
// Commands:
//
//	registrar id=N [peers=ADDR,...] [enrp=ADDR] [allow=PREFIX,...] [ka=D] [kat=D] [maxbad=N] [window=D]
//	          [items=N] [limit=N] [hb=D] [lastheard=D] [noresp=D] [expiry=D] [mentor=D] [table=N]
//	          [resrate=N] [resburst=N] [reprate=N] [repburst=N]
//	start
//	accept kind=asap|enrp addr=IP      an association was accepted; prints its ID
//	up c=N / down c=N                  a dialed association is up / an association ended
//	asap c=N                           body: ASAP messages, one per line (see parseASAP)
//	enrp c=N                           body: ENRP messages, one per line (see parseENRP)
//	tick D                             advance the clock, firing due timers in order
//	state                              the handlespace, checksums and peers
//	counters
//	local-resolve pool=P [k=N]         what an embedding process selects (Registrar.Resolve)
//	local-elements pool=P              the pool's elements (Registrar.Elements)
//	local-unreachable pool=P id=N      an in-process unreachable report
func TestTranscripts(t *testing.T) {
	datadriven.Walk(t, "testdata/registrar", func(t *testing.T, path string) {
		h := &harness{now: time.Unix(1_000_000, 0), armed: map[TimerID]time.Time{}}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return h.run(t, d)
		})
	})
}

type harness struct {
	r     *Registrar
	now   time.Time
	start time.Time
	armed map[TimerID]time.Time
}

func arg(d *datadriven.TestData, key string) (string, bool) {
	for _, a := range d.CmdArgs {
		if a.Key == key {
			if len(a.Vals) == 0 {
				return "", true
			}
			return strings.Join(a.Vals, ","), true
		}
	}
	return "", false
}

func dur(t *testing.T, s string) time.Duration {
	v, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func num(t *testing.T, s string) uint64 {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (h *harness) run(t *testing.T, d *datadriven.TestData) string {
	var b strings.Builder
	switch d.Cmd {
	case "registrar":
		var cfg Config
		for _, a := range d.CmdArgs {
			v := strings.Join(a.Vals, ",")
			switch a.Key {
			case "id":
				cfg.ServerID = uint32(num(t, v))
			case "peers":
				for _, s := range a.Vals {
					ad, err := sctp.ParseAddr(s)
					if err != nil {
						t.Fatal(err)
					}
					cfg.Peers = append(cfg.Peers, ad)
				}
			case "enrp":
				cfg.ENRPTransport = transport(t, v)
			case "allow":
				for _, s := range a.Vals {
					cfg.Allow = append(cfg.Allow, netip.MustParsePrefix(s))
				}
			case "ka":
				cfg.KeepAlive = dur(t, v)
			case "kat":
				cfg.KeepAliveTimeout = dur(t, v)
			case "maxbad":
				cfg.MaxBadPEReport = int(num(t, v))
			case "window":
				cfg.ReportWindow = dur(t, v)
			case "items":
				cfg.MaxHResItems = int(num(t, v))
			case "limit":
				cfg.MaxHResLimit = int(num(t, v))
			case "hb":
				cfg.PeerHeartbeat = dur(t, v)
			case "lastheard":
				cfg.MaxTimeLastHeard = dur(t, v)
			case "noresp":
				cfg.MaxTimeNoResponse = dur(t, v)
			case "expiry":
				cfg.TakeoverExpiry = dur(t, v)
			case "mentor":
				cfg.MentorHunt = dur(t, v)
			case "table":
				cfg.TableElements = int(num(t, v))
			case "resrate":
				cfg.ResolutionRate = int(num(t, v))
			case "resburst":
				cfg.ResolutionBurst = int(num(t, v))
			case "reprate":
				cfg.ReportRate = int(num(t, v))
			case "repburst":
				cfg.ReportBurst = int(num(t, v))
			case "tagbits":
				cfg.TagBits = int(num(t, v))
			default:
				t.Fatalf("unknown argument %s", a.Key)
			}
		}
		h.r = New(cfg)
		h.start = h.now
		h.armed = map[TimerID]time.Time{}
		return ""
	case "start":
		h.r.Start(h.now)
	case "accept":
		kind, _ := arg(d, "kind")
		addr, _ := arg(d, "addr")
		k := ASAP
		if kind == "enrp" {
			k = ENRP
		}
		c := h.r.Accepted(h.now, k, sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr(addr)}, Port: 5000})
		fmt.Fprintf(&b, "c=%d\n", c)
	case "up", "down":
		c, _ := arg(d, "c")
		if d.Cmd == "up" {
			h.r.Up(h.now, ConnID(num(t, c)))
		} else {
			h.r.Down(h.now, ConnID(num(t, c)))
		}
	case "asap", "enrp":
		cs, _ := arg(d, "c")
		c := ConnID(num(t, cs))
		for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			if d.Cmd == "asap" {
				m := parseASAP(t, line)
				wire, err := m.AppendTo(nil)
				if err != nil {
					t.Fatal(err)
				}
				h.r.ASAPBytes(h.now, c, wire)
			} else {
				m := parseENRP(t, line)
				wire, err := m.AppendTo(nil)
				if err != nil {
					t.Fatal(err)
				}
				h.r.ENRPBytes(h.now, c, wire)
			}
		}
	case "raw":
		cs, _ := arg(d, "c")
		kind, _ := arg(d, "kind")
		wire := h2(t, d.Input)
		if kind == "enrp" {
			h.r.ENRPBytes(h.now, ConnID(num(t, cs)), wire)
		} else {
			h.r.ASAPBytes(h.now, ConnID(num(t, cs)), wire)
		}
	case "tick":
		end := h.now.Add(dur(t, d.CmdArgs[0].Key))
		for {
			var next TimerID
			var at time.Time
			found := false
			for id, a := range h.armed {
				if a.After(end) {
					continue
				}
				if !found || a.Before(at) || (a.Equal(at) && (id.Kind < next.Kind || (id.Kind == next.Kind && id.Key < next.Key))) {
					next, at, found = id, a, true
				}
			}
			if !found {
				break
			}
			delete(h.armed, next)
			h.now = at
			fmt.Fprintf(&b, "@%v fire %v\n", h.now.Sub(h.start), next)
			h.r.Timer(h.now, next)
			h.flush(&b)
		}
		h.now = end
		return b.String()
	case "state":
		return h.state()
	case "local-resolve":
		// The embedding process selects, as Driver.Select does.
		pool, _ := arg(d, "pool")
		k := 0
		if v, ok := arg(d, "k"); ok {
			k = int(num(t, v))
		}
		pes, err := h.r.Resolve([]byte(pool), k, nil)
		if err != nil {
			fmt.Fprintf(&b, "error %v\n", err)
		}
		for _, pe := range pes {
			fmt.Fprintf(&b, "selected %s load=%d\n", fmtPE(pe), pe.Policy.Load)
		}
	case "local-elements":
		pool, _ := arg(d, "pool")
		for _, pe := range h.r.Elements([]byte(pool), nil) {
			fmt.Fprintf(&b, "element %s load=%d\n", fmtPE(pe), pe.Policy.Load)
		}
	case "local-unreachable":
		pool, _ := arg(d, "pool")
		id, _ := arg(d, "id")
		h.r.Unreachable(h.now, []byte(pool), uint32(num(t, id)))
	case "counters":
		c := h.r.Counters()
		for i, n := range c.ASAPIn {
			if n > 0 {
				fmt.Fprintf(&b, "asap in %v: %d\n", rserpool.MessageType(i), n)
			}
		}
		for i, n := range c.ASAPOut {
			if n > 0 {
				fmt.Fprintf(&b, "asap out %v: %d\n", rserpool.MessageType(i), n)
			}
		}
		for i, n := range c.ENRPIn {
			if n > 0 {
				fmt.Fprintf(&b, "enrp in %v: %d\n", MessageType(i), n)
			}
		}
		for i, n := range c.ENRPOut {
			if n > 0 {
				fmt.Fprintf(&b, "enrp out %v: %d\n", MessageType(i), n)
			}
		}
		for i, n := range c.Causes {
			if n > 0 {
				fmt.Fprintf(&b, "cause %v: %d\n", rserpool.Cause(i), n)
			}
		}
		fmt.Fprintf(&b, "undecodable %d, rate-limited %d, takeovers %d, resyncs %d, peers dead %d\n",
			c.Undecodable, c.RateLimited, c.Takeovers, c.Resyncs, c.PeersDead)
		fmt.Fprintf(&b, "registrations %d, resolutions %d, reports %d, tag conflicts %d, checksum mismatches %d\n",
			c.Registrations, c.Resolutions, c.Reports, c.TagConflicts, c.ChecksumMismatches)
		return b.String()
	default:
		t.Fatalf("unknown command %s", d.Cmd)
	}
	h.flush(&b)
	return b.String()
}

func h2(t *testing.T, s string) []byte {
	var out []byte
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseUint(f, 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, byte(v))
	}
	return out
}

func (h *harness) state() string {
	var b strings.Builder
	hs := h.r.Handlespace()
	homes := map[uint32]bool{h.r.ServerID(): true}
	for _, p := range h.r.Peers() {
		homes[p] = true
	}
	var all []*rserpool.Element
	for id := uint32(1); id < 16; id++ {
		all = hs.AppendOwned(id, all)
	}
	slices.SortFunc(all, func(a, b *rserpool.Element) int {
		if c := strings.Compare(string(a.Pool().Handle()), string(b.Pool().Handle())); c != 0 {
			return c
		}
		return int(a.ID()) - int(b.ID())
	})
	for _, e := range all {
		homes[e.Home()] = true
		fmt.Fprintf(&b, "%s/%d home=%d expires=+%v\n", e.Pool().Handle(), e.ID(), e.Home(), e.Expires().Sub(h.now))
	}
	var ids []uint32
	for id := range homes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "checksum[%d]=0x%04x owned=%d\n", id, hs.Checksum(id), hs.Owned(id))
	}
	fmt.Fprintf(&b, "peers %v\n", h.r.Peers())
	return b.String()
}

func (h *harness) flush(b *strings.Builder) {
	rd := h.r.Ready()
	for _, d := range rd.Dials {
		fmt.Fprintf(b, "dial c=%d %v %v\n", d.Conn, d.Kind, d.Addr)
	}
	for _, c := range rd.Closes {
		fmt.Fprintf(b, "close c=%d\n", c)
	}
	for _, s := range rd.Sends {
		if s.ASAP != nil {
			fmt.Fprintf(b, "send c=%d %s\n", s.Conn, fmtASAP(s.ASAP))
		} else {
			fmt.Fprintf(b, "send c=%d %s\n", s.Conn, fmtENRP(s.ENRP))
		}
	}
	for _, op := range rd.Timers {
		if op.Stop {
			delete(h.armed, op.ID)
			fmt.Fprintf(b, "stop %v\n", op.ID)
		} else {
			h.armed[op.ID] = op.At
			fmt.Fprintf(b, "arm %v +%v\n", op.ID, op.At.Sub(h.now))
		}
	}
	for _, e := range rd.Events {
		fmt.Fprintf(b, "event %s\n", fmtEvent(e))
	}
}

// ---------------------------------------------------------------- formats

func fmtPE(pe rserpool.PoolElement) string {
	s := fmt.Sprintf("%d@%d", pe.ID, pe.HomeRegistrar)
	if pe.ASAPTransport != nil {
		s += fmt.Sprintf("(asap %v:%d)", pe.ASAPTransport.Addrs, pe.ASAPTransport.Port)
	}
	return s
}

func fmtCauses(cs []rserpool.ErrorCause) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Code.String())
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func fmtASAP(m rserpool.Message) string {
	switch m := m.(type) {
	case *rserpool.RegistrationResponse:
		s := fmt.Sprintf("%v pool=%s id=%d", m.Type(), m.PoolHandle, m.ID)
		if m.Reject {
			s += " reject"
		}
		if len(m.Causes) > 0 {
			s += " causes=" + fmtCauses(m.Causes)
		}
		return s
	case *rserpool.DeregistrationResponse:
		return fmt.Sprintf("%v pool=%s id=%d", m.Type(), m.PoolHandle, m.ID)
	case *rserpool.HandleResolutionResponse:
		s := fmt.Sprintf("%v pool=%s", m.Type(), m.PoolHandle)
		if m.Policy != nil {
			s += " policy=" + m.Policy.Type.String()
		}
		var ids []string
		for _, pe := range m.Elements {
			ids = append(ids, fmtPE(pe))
		}
		if len(ids) > 0 {
			s += " elements=" + strings.Join(ids, ",")
		}
		if len(m.Causes) > 0 {
			s += " causes=" + fmtCauses(m.Causes)
		}
		return s
	case *rserpool.EndpointKeepAlive:
		s := fmt.Sprintf("%v server=%d pool=%s id=%d", m.Type(), m.ServerID, m.PoolHandle, m.ID)
		if m.Home {
			s += " H"
		}
		return s
	case *rserpool.ErrorMessage:
		return fmt.Sprintf("%v causes=%s", m.Type(), fmtCauses(m.Causes))
	}
	return fmt.Sprintf("%v %+v", m.Type(), m)
}

func fmtENRP(m Message) string {
	s, r := m.IDs()
	head := fmt.Sprintf("%v %d→%d", m.Type(), s, r)
	switch m := m.(type) {
	case *Presence:
		head += fmt.Sprintf(" sum=0x%04x", m.Checksum)
		if m.ReplyRequired {
			head += " R"
		}
		if m.Info != nil {
			head += fmt.Sprintf(" info=%d@%v:%d", m.Info.ServerID, m.Info.Transport.Addrs, m.Info.Transport.Port)
		}
	case *HandleTableRequest:
		if m.OwnChildrenOnly {
			head += " W"
		}
	case *HandleTableResponse:
		if m.More {
			head += " M"
		}
		if m.Reject {
			head += " R"
		}
		for _, p := range m.Pools {
			var ids []string
			for _, pe := range p.Elements {
				ids = append(ids, fmtPE(pe))
			}
			head += fmt.Sprintf(" %s:%s", p.Handle, strings.Join(ids, ","))
		}
	case *HandleUpdate:
		head += fmt.Sprintf(" %v pool=%s pe=%s", m.Action, m.PoolHandle, fmtPE(m.Element))
	case *ListResponse:
		for _, s := range m.Registrars {
			head += fmt.Sprintf(" %d@%v:%d", s.ServerID, s.Transport.Addrs, s.Transport.Port)
		}
	case *InitTakeover:
		head += fmt.Sprintf(" target=%d", m.Target)
	case *InitTakeoverAck:
		head += fmt.Sprintf(" target=%d", m.Target)
	case *TakeoverServer:
		head += fmt.Sprintf(" target=%d", m.Target)
	case *ErrorMessage:
		head += " causes=" + fmtCauses(m.Causes)
	}
	return head
}

func fmtEvent(e Event) string {
	switch e := e.(type) {
	case Registered:
		if e.Conn == 0 {
			return fmt.Sprintf("learned pool=%s id=%d home=%d initial=%v", e.Handle, e.ID, e.Home, e.Initial)
		}
		return fmt.Sprintf("registered c=%d pool=%s id=%d initial=%v", e.Conn, e.Handle, e.ID, e.Initial)
	case Deregistered:
		return fmt.Sprintf("deregistered pool=%s id=%d", e.Handle, e.ID)
	case Removed:
		return fmt.Sprintf("removed pool=%s id=%d home=%d (%v)", e.Handle, e.ID, e.Home, e.Reason)
	case Refused:
		return fmt.Sprintf("refused c=%d %v", e.Conn, e.Err.Cause)
	case RateLimited:
		return fmt.Sprintf("rate-limited c=%d %v", e.Conn, e.Type)
	case Reported:
		return fmt.Sprintf("reported c=%d pool=%s id=%d count=%d", e.Conn, e.Handle, e.ID, e.Count)
	}
	return fmt.Sprintf("%T%+v", e, e)
}

// ---------------------------------------------------------------- inputs

func fields(t *testing.T, line string) (string, map[string]string) {
	f := strings.Fields(line)
	kv := map[string]string{}
	for _, x := range f[1:] {
		k, v, _ := strings.Cut(x, "=")
		kv[k] = v
	}
	return f[0], kv
}

func transport(t *testing.T, s string) rserpool.Transport {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: ap.Port(), Addrs: []netip.Addr{ap.Addr()}}
}

// element builds a PE from id=, home=, life=, addr=, asap=, policy=, weight=.
func element(t *testing.T, kv map[string]string) rserpool.PoolElement {
	pe := rserpool.PoolElement{RegistrationLife: 30000, Policy: rserpool.Policy{Type: rserpool.RoundRobin}}
	if v, ok := kv["id"]; ok {
		pe.ID = uint32(num(t, v))
	}
	if v, ok := kv["home"]; ok {
		pe.HomeRegistrar = uint32(num(t, v))
	}
	if v, ok := kv["life"]; ok {
		l, _ := strconv.Atoi(v)
		pe.RegistrationLife = int32(l)
	}
	addr := "10.1.0.1:8000"
	if v, ok := kv["addr"]; ok {
		addr = v
	}
	pe.UserTransport = transport(t, addr)
	if v, ok := kv["use"]; ok && v == "ctl" {
		pe.UserTransport.Use = rserpool.DataPlusControl
	}
	if v, ok := kv["asap"]; ok {
		tr := transport(t, v)
		pe.ASAPTransport = &tr
	}
	switch kv["policy"] {
	case "", "rr":
	case "random":
		pe.Policy.Type = rserpool.Random
	case "lu":
		pe.Policy.Type = rserpool.LeastUsed
		if v, ok := kv["load"]; ok {
			pe.Policy.Load = uint32(num(t, v))
		}
	case "wrr":
		pe.Policy.Type = rserpool.WeightedRoundRobin
		pe.Policy.Weight = uint32(num(t, kv["weight"]))
	default:
		t.Fatalf("policy %q", kv["policy"])
	}
	return pe
}

// parseASAP reads one ASAP message:
//
//	register pool=P [id=N] [life=MS] [addr=IP:PORT] [asap=IP:PORT] [policy=rr|random|lu|wrr] [weight=N] [load=N] [use=ctl]
//	deregister pool=P id=N
//	resolve pool=P [items=N]
//	ka-ack pool=P id=N
//	unreachable pool=P id=N
//	cookie
func parseASAP(t *testing.T, line string) rserpool.Message {
	cmd, kv := fields(t, line)
	pool := []byte(kv["pool"])
	id := func() uint32 { return uint32(num(t, kv["id"])) }
	switch cmd {
	case "register":
		return &rserpool.Registration{PoolHandle: pool, Element: element(t, kv)}
	case "deregister":
		return &rserpool.Deregistration{PoolHandle: pool, ID: id()}
	case "resolve":
		m := &rserpool.HandleResolution{PoolHandle: pool}
		if v, ok := kv["items"]; ok {
			m.HasItems, m.Items = true, uint32(num(t, v))
		}
		return m
	case "ka-ack":
		return &rserpool.EndpointKeepAliveAck{PoolHandle: pool, ID: id()}
	case "unreachable":
		return &rserpool.EndpointUnreachable{PoolHandle: pool, ID: id()}
	case "cookie":
		return &rserpool.Cookie{Cookie: []byte("x")}
	}
	t.Fatalf("unknown ASAP message %q", cmd)
	return nil
}

// parseENRP reads one ENRP message (to= defaults to 0):
//
//	presence from=N [to=N] sum=X [r] [info=ID@IP:PORT]
//	table-request from=N [w]
//	table-response from=N [m] [reject] [pools=P:ID@HOME+ID@HOME;Q:...]
//	update from=N action=add|del pool=P id=N home=N [asap=IP:PORT] [life=MS]
//	list-request from=N
//	list-response from=N [servers=ID@IP:PORT,...]
//	init-takeover|takeover-ack|takeover-server from=N target=N
func parseENRP(t *testing.T, line string) Message {
	cmd, kv := fields(t, line)
	s := Servers{Sender: uint32(num(t, kv["from"]))}
	if v, ok := kv["to"]; ok {
		s.Receiver = uint32(num(t, v))
	}
	has := func(k string) bool { _, ok := kv[k]; return ok }
	switch cmd {
	case "presence":
		m := &Presence{Servers: s, ReplyRequired: has("r"), Checksum: uint16(num(t, kv["sum"]))}
		if v, ok := kv["info"]; ok {
			id, at, _ := strings.Cut(v, "@")
			m.Info = &rserpool.ServerInformation{ServerID: uint32(num(t, id)), Transport: transport(t, at)}
		}
		return m
	case "table-request":
		return &HandleTableRequest{Servers: s, OwnChildrenOnly: has("w")}
	case "table-response":
		m := &HandleTableResponse{Servers: s, More: has("m"), Reject: has("reject")}
		if v := kv["pools"]; v != "" {
			for _, p := range strings.Split(v, ";") {
				handle, list, _ := strings.Cut(p, ":")
				e := PoolEntry{Handle: []byte(handle)}
				for _, x := range strings.Split(list, "+") {
					id, home, _ := strings.Cut(x, "@")
					e.Elements = append(e.Elements, element(t, map[string]string{"id": id, "home": home}))
				}
				m.Pools = append(m.Pools, e)
			}
		}
		return m
	case "update":
		a := AddPE
		if kv["action"] == "del" {
			a = DelPE
		}
		return &HandleUpdate{Servers: s, Action: a, PoolHandle: []byte(kv["pool"]), Element: element(t, kv)}
	case "list-request":
		return &ListRequest{Servers: s}
	case "list-response":
		m := &ListResponse{Servers: s}
		if v := kv["servers"]; v != "" {
			for _, x := range strings.Split(v, ",") {
				id, at, _ := strings.Cut(x, "@")
				m.Registrars = append(m.Registrars, rserpool.ServerInformation{ServerID: uint32(num(t, id)), Transport: transport(t, at)})
			}
		}
		return m
	case "init-takeover":
		return &InitTakeover{Servers: s, Target: uint32(num(t, kv["target"]))}
	case "takeover-ack":
		return &InitTakeoverAck{Servers: s, Target: uint32(num(t, kv["target"]))}
	case "takeover-server":
		return &TakeoverServer{Servers: s, Target: uint32(num(t, kv["target"]))}
	}
	t.Fatalf("unknown ENRP message %q", cmd)
	return nil
}
