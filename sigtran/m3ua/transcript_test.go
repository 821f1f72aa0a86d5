package m3ua

import (
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// TestTranscripts runs the scenarios under testdata/sgp and testdata/asp:
// each command is an input to a state machine, and the expected output is
// everything the machine asked for in return (sends, timers, events).
//
// Commands:
//
//	sgp [aspid-required] [beat=D] [beat-timeout=D] [policy=dynamic] [rcbase=N] [maxdyn=N] [na=N]
//	    new SGP; body: one "as rc=N mode=M [n=N] [tr=D] [queue=N] [dpc=N si=3,5 opc=1,2]" per line
//	asp [aspid=N] [rc=1,2] [mode=M] [auto] [tack=D] [beat=D] [reg=DPC,DPC]   new ASP
//	up a=N [streams=N] / down a=N          association up / down
//	recv a=N s=N                            body: a message ("ASPUP aspid=7", "hex 01 00 ...")
//	tick D                                  advance the clock, firing due timers
//	data rc=N opc=N dpc=N si=N sls=N [data=HEX]   upper layer sends user data
//	datato a=N rc=N ... (as data)           SGP: user data to the ASP on a alone (SendDataTo)
//	serving a=N                             SGP: ASP Identifier, active RCs, Serving per AS
//	block a=N / unblock a=N                 SGP management blocking
//	activate / deactivate / aspdown         ASP commands
//	dest pc=N status=S / congest pc=N level=N / dupu pc=N user=N cause=N   SGP: destination status from above
//	audit apc=N,N [mask=N] / reach pc=N     ASP: send DAUD / print its view of a destination
//	register KEY / deregister rc=N,N        ASP: send REG REQ (KEY as in the REG-REQ message) / DEREG REQ
//	takedown a=N                            SGP: unsolicited ASPDN ACK
//	ipsp exchange=single|double [initiator] [aspid=N] [rc=1,2] [mode=M] [auto] [tack=D] [beat=D]
//	    new IPSP; body: "as" lines as for sgp (the ASes the peer may activate);
//	    activate/deactivate/aspdown/datato then take a=N
//	counters / state                        print them
func TestTranscripts(t *testing.T) {
	for _, dir := range []string{"testdata/sgp", "testdata/asp", "testdata/ipsp"} {
		datadriven.Walk(t, dir, func(t *testing.T, path string) {
			h := &harness{t0: time.Unix(1_000_000, 0), armed: map[TimerID]time.Time{}}
			h.now = h.t0
			datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
				return h.run(t, d)
			})
		})
	}
}

type harness struct {
	ipsp  *IPSP
	sgp   *SGP
	asp   *ASP
	t0    time.Time
	now   time.Time
	armed map[TimerID]time.Time
	out   strings.Builder
}

func (h *harness) arg(d *datadriven.TestData, key string) (string, bool) {
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

func (h *harness) num(t *testing.T, d *datadriven.TestData, key string, def uint64) uint64 {
	s, ok := h.arg(d, key)
	if !ok {
		return def
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		t.Fatalf("%s: %s=%q: %v", d.Pos, key, s, err)
	}
	return n
}

func (h *harness) dur(t *testing.T, d *datadriven.TestData, key string) time.Duration {
	s, ok := h.arg(d, key)
	if !ok {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s: %v", d.Pos, err)
	}
	return v
}

func parseMode(t testing.TB, s string) TrafficMode {
	switch s {
	case "":
		return 0
	case "override":
		return Override
	case "loadshare":
		return Loadshare
	case "broadcast":
		return Broadcast
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		t.Fatalf("mode %q", s)
	}
	return TrafficMode(n)
}

func (h *harness) run(t *testing.T, d *datadriven.TestData) string {
	h.out.Reset()
	a := AssocID(h.num(t, d, "a", 1))
	switch d.Cmd {
	case "sgp":
		var cfg SGPConfig
		_, cfg.RequireASPID = h.arg(d, "aspid-required")
		if p, _ := h.arg(d, "policy"); p == "dynamic" {
			cfg.Registration = DynamicPermitted
		}
		cfg.DynamicRCBase = uint32(h.num(t, d, "rcbase", 0))
		cfg.MaxDynamic = int(h.num(t, d, "maxdyn", 0))
		if _, ok := h.arg(d, "na"); ok {
			cfg.NA, cfg.HasNA = uint32(h.num(t, d, "na", 0)), true
		}
		cfg.Beat = BeatConfig{Interval: h.dur(t, d, "beat"), Timeout: h.dur(t, d, "beat-timeout")}
		if v, ok := h.arg(d, "dpcs"); ok {
			for _, f := range strings.Split(v, ",") {
				cfg.DPCs = append(cfg.DPCs, uint32(atoi(t, f)))
			}
		}
		cfg.ASes = parseASes(t, d)
		h.sgp = NewSGP(cfg)
	case "ipsp":
		var cfg IPSPConfig
		cfg.Exchange = SingleExchange
		if x, _ := h.arg(d, "exchange"); x == "double" {
			cfg.Exchange = DoubleExchange
		}
		_, cfg.Initiator = h.arg(d, "initiator")
		cfg.ASP = ASPConfig{Mode: parseMode(t, mustArg(h, d, "mode")), Ack: h.dur(t, d, "tack")}
		if _, ok := h.arg(d, "aspid"); ok {
			cfg.ASP.ASPID, cfg.ASP.HasASPID = uint32(h.num(t, d, "aspid", 0)), true
		}
		if s, ok := h.arg(d, "rc"); ok {
			cfg.ASP.RCs = atois(t, s)
		}
		_, cfg.ASP.AutoActivate = h.arg(d, "auto")
		cfg.ASP.Beat = BeatConfig{Interval: h.dur(t, d, "beat"), Timeout: h.dur(t, d, "beat-timeout")}
		cfg.SGP.Beat = cfg.ASP.Beat // ignored when the IPSP requests
		cfg.SGP.ASes = parseASes(t, d)
		h.ipsp = NewIPSP(cfg)
		h.sgp = nil
	case "asp":
		cfg := ASPConfig{Mode: parseMode(t, mustArg(h, d, "mode")), Ack: h.dur(t, d, "tack")}
		if _, ok := h.arg(d, "aspid"); ok {
			cfg.ASPID, cfg.HasASPID = uint32(h.num(t, d, "aspid", 0)), true
		}
		if s, ok := h.arg(d, "rc"); ok {
			cfg.RCs = atois(t, s)
		}
		_, cfg.AutoActivate = h.arg(d, "auto")
		if s, ok := h.arg(d, "reg"); ok {
			for i, dpc := range atois(t, s) {
				cfg.Register = append(cfg.Register, RoutingKey{LocalRKID: uint32(i + 1), DPC: dpc})
			}
		}
		cfg.Beat = BeatConfig{Interval: h.dur(t, d, "beat"), Timeout: h.dur(t, d, "beat-timeout")}
		h.asp = NewASP(cfg)
	case "up":
		streams := uint16(h.num(t, d, "streams", 16))
		if h.ipsp != nil {
			h.ipsp.AssocUp(h.now, a, streams)
		} else if h.sgp != nil {
			h.sgp.AssocUp(h.now, a, streams)
		} else {
			h.asp.AssocUp(h.now, a, streams)
		}
	case "down":
		if h.ipsp != nil {
			h.ipsp.AssocDown(h.now, a)
		} else if h.sgp != nil {
			h.sgp.AssocDown(h.now, a)
		} else {
			h.asp.AssocDown(h.now)
		}
	case "recv":
		b := buildMessage(t, strings.TrimSpace(d.Input))
		s := uint16(h.num(t, d, "s", 0))
		if h.ipsp != nil {
			h.ipsp.Receive(h.now, a, s, b)
		} else if h.sgp != nil {
			h.sgp.Receive(h.now, a, s, b)
		} else {
			h.asp.Receive(h.now, s, b)
		}
	case "tick":
		if len(d.CmdArgs) != 1 {
			t.Fatalf("%s: tick D", d.Pos)
		}
		step, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			t.Fatalf("%s: %v", d.Pos, err)
		}
		h.tick(h.now.Add(step))
		return h.out.String()
	case "data":
		u := UserData{
			RC: uint32(h.num(t, d, "rc", 0)), OPC: uint32(h.num(t, d, "opc", 0)), DPC: uint32(h.num(t, d, "dpc", 0)),
			SI: uint8(h.num(t, d, "si", 3)), NI: uint8(h.num(t, d, "ni", 2)), MP: uint8(h.num(t, d, "mp", 0)), SLS: uint8(h.num(t, d, "sls", 0)),
		}
		if s, ok := h.arg(d, "data"); ok {
			u.Payload, _ = hex.DecodeString(s)
		}
		if h.sgp != nil {
			h.sgp.SendData(h.now, u)
		} else {
			_, u.HasRC = h.arg(d, "rc")
			h.asp.SendData(h.now, u)
		}
	case "datato":
		u := UserData{
			RC: uint32(h.num(t, d, "rc", 0)), OPC: uint32(h.num(t, d, "opc", 0)), DPC: uint32(h.num(t, d, "dpc", 0)),
			SI: uint8(h.num(t, d, "si", 3)), NI: uint8(h.num(t, d, "ni", 2)), MP: uint8(h.num(t, d, "mp", 0)), SLS: uint8(h.num(t, d, "sls", 0)),
		}
		if s, ok := h.arg(d, "data"); ok {
			u.Payload, _ = hex.DecodeString(s)
		}
		send := func(now time.Time, a AssocID, u UserData) error { return h.sgp.SendDataTo(now, a, u) }
		if h.ipsp != nil {
			send = h.ipsp.SendDataTo
		}
		if err := send(h.now, a, u); err != nil {
			fmt.Fprintf(&h.out, "error: %v\n", err)
		}
	case "serving":
		id, ok := h.sgp.ASPIdentifier(a)
		fmt.Fprintf(&h.out, "a=%d aspid=%d,%v active=%v", a, id, ok, h.sgp.ActiveRCs(a))
		for _, rc := range h.sgp.rcs {
			fmt.Fprintf(&h.out, " serving(%d)=%v", rc, h.sgp.Serving(a, rc))
		}
		h.out.WriteString("\n")
		return h.out.String()
	case "dest":
		st := map[string]DestStatus{"available": DestAvailable, "unavailable": DestUnavailable, "restricted": DestRestricted}
		s, _ := h.arg(d, "status")
		h.sgp.SetDestination(h.now, uint32(h.num(t, d, "pc", 0)), st[s])
	case "congest":
		h.sgp.SetCongestion(h.now, uint32(h.num(t, d, "pc", 0)), uint8(h.num(t, d, "level", 0)))
	case "dupu":
		h.sgp.ReportUserPartUnavailable(h.now, uint32(h.num(t, d, "pc", 0)), uint8(h.num(t, d, "user", 0)), uint16(h.num(t, d, "cause", 0)))
	case "takedown":
		h.sgp.TakeDown(h.now, a)
	case "audit":
		s, _ := h.arg(d, "apc")
		var apcs []uint32
		for _, pc := range atois(t, s) {
			apcs = append(apcs, APC(pc, uint8(h.num(t, d, "mask", 0))))
		}
		h.asp.Audit(h.now, apcs...)
	case "reach":
		st, level := h.asp.Reachable(uint32(h.num(t, d, "pc", 0)))
		return fmt.Sprintf("%v congestion=%d\n", st, level)
	case "register":
		f := map[string]string{}
		for _, a := range d.CmdArgs {
			f[a.Key] = strings.Join(a.Vals, ",")
		}
		if f["lrk"] == "" {
			f["lrk"] = "1"
		}
		h.asp.Register(h.now, parseKey(t, f))
	case "deregister":
		s, _ := h.arg(d, "rc")
		h.asp.Deregister(h.now, atois(t, s)...)
	case "block":
		h.sgp.Block(a)
	case "unblock":
		h.sgp.Unblock(a)
	case "activate":
		h.local(a).Activate(h.now)
	case "deactivate":
		h.local(a).Deactivate(h.now)
	case "aspdown":
		h.local(a).Down(h.now)
	case "counters":
		var c Counters
		if h.ipsp != nil {
			c = h.ipsp.Counters()
		} else if h.sgp != nil {
			c = h.sgp.Counters()
		} else {
			c = h.asp.Counters()
		}
		return counterString(c)
	case "state":
		if h.ipsp != nil {
			for _, la := range slices.Sorted(maps.Keys(h.ipsp.local)) {
				fmt.Fprintf(&h.out, "local a=%d %v\n", la, h.ipsp.local[la].State())
			}
			sg := h.ipsp.SGP()
			for _, rc := range sg.rcs {
				fmt.Fprintf(&h.out, "as rc=%d %v\n", rc, sg.ASState(rc))
			}
			for _, pa := range slices.Sorted(maps.Keys(sg.peers)) {
				fmt.Fprintf(&h.out, "peer a=%d %v\n", pa, sg.ASPState(pa))
			}
			return h.out.String()
		}
		if h.asp != nil {
			fmt.Fprintf(&h.out, "asp %v\n", h.asp.State())
			view := h.asp.ASStates()
			for _, rc := range slices.Sorted(maps.Keys(view)) {
				fmt.Fprintf(&h.out, "as-view rc=%d %v\n", rc, view[rc])
			}
			return h.out.String()
		}
		for _, rc := range h.sgp.rcs {
			fmt.Fprintf(&h.out, "as rc=%d %v\n", rc, h.sgp.ASState(rc))
		}
		for _, pa := range slices.Sorted(maps.Keys(h.sgp.peers)) {
			fmt.Fprintf(&h.out, "asp a=%d %v\n", pa, h.sgp.ASPState(pa))
		}
		return h.out.String()
	default:
		t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	}
	h.drain()
	return h.out.String()
}

func parseASes(t *testing.T, d *datadriven.TestData) []ASConfig {
	var out []ASConfig
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		f := fields(line)
		if len(f) == 0 {
			continue
		}
		if f[""] != "as" {
			t.Fatalf("%s: want as lines, got %q", d.Pos, line)
		}
		ac := ASConfig{Mode: parseMode(t, f["mode"])}
		ac.RC = uint32(atoi(t, f["rc"]))
		ac.MinActive = int(atoi(t, f["n"]))
		ac.QueueLimit = int(atoi(t, f["queue"]))
		if f["tr"] != "" {
			ac.Recovery, _ = time.ParseDuration(f["tr"])
		}
		if f["dpc"] != "" {
			k := parseKey(t, f)
			ac.Key = &k
		}
		if f["aspids"] != "" {
			for _, id := range strings.Split(f["aspids"], ",") {
				ac.ASPIDs = append(ac.ASPIDs, uint32(atoi(t, id)))
			}
		}
		out = append(out, ac)
	}
	return out
}

func mustArg(h *harness, d *datadriven.TestData, key string) string {
	s, _ := h.arg(d, key)
	return s
}

// local is the ASP machine commands like activate go to: the ASP, or the
// requesting half of an IPSP on association a.
func (h *harness) local(a AssocID) *ASP {
	if h.ipsp != nil {
		return h.ipsp.Local(a)
	}
	return h.asp
}

func (h *harness) ready() Ready {
	if h.ipsp != nil {
		return h.ipsp.Ready()
	}
	if h.sgp != nil {
		return h.sgp.Ready()
	}
	return h.asp.Ready()
}

func (h *harness) rel(at time.Time) string { return "+" + at.Sub(h.t0).String() }

// drain prints the machine's outputs and keeps the harness's view of armed
// timers. Every sent message must encode and decode again.
func (h *harness) drain() {
	r := h.ready()
	for _, s := range r.Sends {
		b, err := Encode(s.Message())
		if err != nil {
			fmt.Fprintf(&h.out, "send a=%d s=%d: UNENCODABLE %v\n", s.Assoc, s.Stream, err)
			continue
		}
		if _, err := Decode(b); err != nil {
			fmt.Fprintf(&h.out, "send a=%d s=%d: INVALID %v: %s\n", s.Assoc, s.Stream, err, DescribeBytes(b))
			continue
		}
		fmt.Fprintf(&h.out, "send a=%d s=%d: %s\n", s.Assoc, s.Stream, DescribeBytes(b))
	}
	for _, op := range r.Timers {
		if op.Stop {
			delete(h.armed, op.ID)
			fmt.Fprintf(&h.out, "timer stop %v\n", op.ID)
		} else {
			h.armed[op.ID] = op.At
			fmt.Fprintf(&h.out, "timer arm %v at %s\n", op.ID, h.rel(op.At))
		}
	}
	for _, e := range r.Events {
		switch e := e.(type) {
		case ASPStateChanged:
			fmt.Fprintf(&h.out, "event asp a=%d %v -> %v", e.Assoc, e.From, e.To)
			if e.HasASPID {
				fmt.Fprintf(&h.out, " aspid=%d", e.ASPID)
			}
			if len(e.RCs) > 0 {
				fmt.Fprintf(&h.out, " rc=%v", e.RCs)
			}
			if len(e.Active) > 0 {
				fmt.Fprintf(&h.out, " active=%v", e.Active)
			}
			if e.Local && h.ipsp != nil {
				h.out.WriteString(" (local)")
			}
			h.out.WriteString("\n")
		case ASStateChanged:
			if e.Assoc != 0 {
				fmt.Fprintf(&h.out, "event as-view a=%d rc=%d %v -> %v\n", e.Assoc, e.RC, e.From, e.To)
				break
			}
			fmt.Fprintf(&h.out, "event as rc=%d %v -> %v\n", e.RC, e.From, e.To)
		case DataReceived:
			fmt.Fprintf(&h.out, "event data a=%d %v\n", e.Assoc, e.Data)
		case ErrorReceived:
			fmt.Fprintf(&h.out, "event err-received a=%d %v\n", e.Assoc, e.Code)
		case NotifyReceived:
			fmt.Fprintf(&h.out, "event ntfy-received a=%d %s rc=%v\n", e.Assoc, statusName(e.StatusType, e.StatusInfo), e.RCs)
		case Refused:
			fmt.Fprintf(&h.out, "event refused a=%d s=%d %v\n", e.Assoc, e.Stream, e.Err.Code)
		case PeerUnresponsive:
			fmt.Fprintf(&h.out, "event peer-unresponsive a=%d\n", e.Assoc)
		case DestinationChanged:
			fmt.Fprintf(&h.out, "event dest a=%d apc=%s %v rc=%v\n", e.Assoc, APCString(e.APCs...), e.Status, e.RCs)
		case CongestionChanged:
			fmt.Fprintf(&h.out, "event congestion a=%d apc=%s level=%d concerned=%d\n", e.Assoc, APCString(e.APCs...), e.Level, e.Concerned)
		case UserPartUnavailable:
			fmt.Fprintf(&h.out, "event user-part-unavailable a=%d apc=%s user=%d cause=%d\n", e.Assoc, APCString(e.APCs...), e.User, e.Cause)
		case AuditReceived:
			fmt.Fprintf(&h.out, "event audit a=%d apc=%s\n", e.Assoc, APCString(e.APCs...))
		case ASRegistered:
			fmt.Fprintf(&h.out, "event as-registered a=%d rc=%d created=%v dpc=%d\n", e.Assoc, e.RC, e.Created, e.Key.DPC)
		case ASDeregistered:
			fmt.Fprintf(&h.out, "event as-deregistered a=%d rc=%d removed=%v\n", e.Assoc, e.RC, e.Removed)
		case Registered:
			for _, r := range e.Results {
				fmt.Fprintf(&h.out, "event registered a=%d lrk=%d %s rc=%d\n", e.Assoc, r.LocalRKID, RegStatusName(r.Status), r.RC)
			}
		case Deregistered:
			for _, r := range e.Results {
				fmt.Fprintf(&h.out, "event deregistered a=%d rc=%d %s\n", e.Assoc, r.RC, DeregStatusName(r.Status))
			}
		default:
			fmt.Fprintf(&h.out, "event %T %+v\n", e, e)
		}
	}
}

// tick advances the clock to until, firing due timers in deadline order.
func (h *harness) tick(until time.Time) {
	for {
		var next TimerID
		var at time.Time
		found := false
		for id, t := range h.armed {
			if t.After(until) {
				continue
			}
			if !found || t.Before(at) || (t.Equal(at) && fmt.Sprint(id) < fmt.Sprint(next)) {
				next, at, found = id, t, true
			}
		}
		if !found {
			break
		}
		delete(h.armed, next)
		h.now = at
		fmt.Fprintf(&h.out, "fire %v at %s\n", next, h.rel(at))
		if h.ipsp != nil {
			h.ipsp.Timer(h.now, next)
		} else if h.sgp != nil {
			h.sgp.Timer(h.now, next)
		} else {
			h.asp.Timer(h.now, next)
		}
		h.drain()
	}
	h.now = until
}

func counterString(c Counters) string {
	var sb strings.Builder
	for _, kv := range []struct {
		k string
		v uint64
	}{
		{"received", c.Received}, {"refused", c.Refused}, {"errors-received", c.ErrorsReceived},
		{"data-in", c.DataIn}, {"data-out", c.DataOut}, {"queued", c.Queued}, {"queue-overflow", c.QueueOverflow},
		{"recovery-drops", c.RecoveryDrops}, {"no-route", c.NoRoute}, {"retransmits", c.Retransmits},
		{"beat-timeouts", c.BeatTimeouts}, {"ignored", c.Ignored},
	} {
		if kv.v != 0 {
			fmt.Fprintf(&sb, "%s=%d\n", kv.k, kv.v)
		}
	}
	return sb.String()
}

// fields splits "NAME k=v k=v" into a map; the name is under "".
func fields(line string) map[string]string {
	m := map[string]string{}
	for i, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		} else if i == 0 {
			m[""] = f
		} else {
			m[f] = ""
		}
	}
	return m
}

func atoi(t testing.TB, s string) uint64 {
	if s == "" {
		return 0
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		t.Fatalf("number %q: %v", s, err)
	}
	return n
}

func atois(t testing.TB, s string) []uint32 {
	var out []uint32
	for _, p := range strings.Split(s, ",") {
		out = append(out, uint32(atoi(t, p)))
	}
	return out
}

var statusByName = map[string]uint32{
	"AS-INACTIVE": 1<<16 | 2, "AS-ACTIVE": 1<<16 | 3, "AS-PENDING": 1<<16 | 4,
	"insufficient": 2<<16 | 1, "alternate": 2<<16 | 2, "asp-failure": 2<<16 | 3,
}

// buildMessage builds the bytes of a message written as "NAME k=v ...", or
// takes them from "hex ...".
func buildMessage(t testing.TB, spec string) []byte {
	if rest, ok := strings.CutPrefix(spec, "hex "); ok {
		return unhex(t, rest)
	}
	if rest, ok := strings.CutPrefix(spec, "REG-REQ"); ok {
		var m RegReq
		for _, part := range strings.Split(rest, "|") {
			f := fields("x " + part)
			if f["lrk"] == "" {
				f["lrk"] = "1"
			}
			m.Keys = append(m.Keys, parseKey(t, f))
		}
		b, err := Encode(&m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	f := fields(spec)
	opt := func(k string, mk func(string) *params.Param) *params.Param {
		if v, ok := f[k]; ok {
			return mk(v)
		}
		return nil
	}
	rc := opt("rc", func(v string) *params.Param { return params.NewRoutingContext(atois(t, v)...) })
	aspid := opt("aspid", func(v string) *params.Param { return params.NewAspIdentifier(uint32(atoi(t, v))) })
	mode := opt("mode", func(v string) *params.Param { return params.NewTrafficModeType(uint32(parseMode(t, v))) })
	beat := opt("beat", func(v string) *params.Param {
		b, _ := hex.DecodeString(v)
		return params.NewHeartbeatData(b)
	})
	apc := opt("apc", func(v string) *params.Param {
		var pcs []uint32
		for _, pc := range atois(t, v) {
			pcs = append(pcs, APC(pc, uint8(atoi(t, f["mask"]))))
		}
		return params.NewAffectedPointCode(pcs...)
	})
	var m messages.M3UA
	switch f[""] {
	case "ASPUP":
		m = messages.NewAspUp(aspid, nil)
	case "ASPUP-ACK":
		m = messages.NewAspUpAck(aspid, nil)
	case "ASPDN":
		m = messages.NewAspDown(nil)
	case "ASPDN-ACK":
		m = messages.NewAspDownAck(nil)
	case "BEAT":
		m = messages.NewHeartbeat(beat)
	case "BEAT-ACK":
		m = messages.NewHeartbeatAck(beat)
	case "ASPAC":
		m = messages.NewAspActive(mode, rc, nil)
	case "ASPAC-ACK":
		m = messages.NewAspActiveAck(mode, rc, nil)
	case "ASPIA":
		m = messages.NewAspInactive(rc, nil)
	case "ASPIA-ACK":
		m = messages.NewAspInactiveAck(rc, nil)
	case "NTFY":
		st, ok := statusByName[f["status"]]
		if !ok {
			t.Fatalf("status %q", f["status"])
		}
		m = messages.NewNotify(params.NewStatus(st), aspid, rc, nil)
	case "ERR":
		m = messages.NewError(params.NewErrorCode(uint32(atoi(t, f["code"]))), rc, nil, nil, nil)
	case "DATA":
		payload, _ := hex.DecodeString(f["data"])
		m = messages.NewData(nil, rc, params.NewProtocolData(uint32(atoi(t, f["opc"])), uint32(atoi(t, f["dpc"])),
			uint8(atoi(t, f["si"])), uint8(atoi(t, f["ni"])), uint8(atoi(t, f["mp"])), uint8(atoi(t, f["sls"])), payload), nil)
	case "DUNA":
		m = messages.NewDestinationUnavailable(nil, rc, apc, nil)
	case "DAVA":
		m = messages.NewDestinationAvailable(nil, rc, apc, nil)
	case "DRST":
		m = messages.NewDestinationRestricted(nil, rc, apc, nil)
	case "DAUD":
		m = messages.NewDestinationStateAudit(nil, rc, apc, nil)
	case "SCON":
		var cd *params.Param
		if v, ok := f["concerned"]; ok {
			cd = params.NewConcernedDestination(uint32(atoi(t, v)))
		}
		m = messages.NewSignallingCongestion(nil, rc, apc, cd, params.NewCongestionIndications(uint8(atoi(t, f["level"]))), nil)
	case "DUPU":
		m = messages.NewDestinationUserPartUnavailable(nil, rc, apc,
			u32Param(params.UserCause, uint32(atoi(t, f["cause"]))<<16|uint32(atoi(t, f["user"]))), nil)
	case "DEREG-REQ":
		m = &DeregReq{RCs: atois(t, f["rc"])}
	case "REG-RSP":
		m = &RegRsp{Results: []RegResult{{LocalRKID: uint32(atoi(t, f["lrk"])), Status: uint32(atoi(t, f["status"])), RC: uint32(atoi(t, f["rc"]))}}}
	case "DEREG-RSP":
		m = &DeregRsp{Results: []DeregResult{{RC: uint32(atoi(t, f["rc"])), Status: uint32(atoi(t, f["status"]))}}}
	default:
		t.Fatalf("unknown message %q", spec)
	}
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseKey builds a routing key from lrk=N dpc=N [rc=N] [mode=M] [si=3,5]
// [opc=1,2] [na=N].
func parseKey(t testing.TB, f map[string]string) RoutingKey {
	k := RoutingKey{LocalRKID: uint32(atoi(t, f["lrk"])), DPC: uint32(atoi(t, f["dpc"])), Mode: parseMode(t, f["mode"])}
	if v, ok := f["rc"]; ok {
		k.RC, k.HasRC = uint32(atoi(t, v)), true
	}
	if v, ok := f["na"]; ok {
		k.NA, k.HasNA = uint32(atoi(t, v)), true
	}
	if v := f["si"]; v != "" {
		for _, si := range atois(t, v) {
			k.SIs = append(k.SIs, uint8(si))
		}
	}
	if v := f["opc"]; v != "" {
		k.OPCs = atois(t, v)
	}
	return k
}
