package gateway

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// fakePools is a handlespace stand-in: pools of elements with loads,
// selected least used first (ties by identifier).
type fakePools struct {
	pools map[string]map[uint32]uint32
}

func newFakePools() *fakePools { return &fakePools{pools: map[string]map[uint32]uint32{}} }

func (f *fakePools) set(handle string, id, load uint32) {
	p := f.pools[handle]
	if p == nil {
		p = map[uint32]uint32{}
		f.pools[handle] = p
	}
	p[id] = load
}

func (f *fakePools) Elements(handle []byte, dst []uint32) []uint32 {
	for id := range f.pools[string(handle)] {
		dst = append(dst, id)
	}
	return dst
}

func (f *fakePools) Select(handle []byte, k int, dst []uint32) []uint32 {
	p := f.pools[string(handle)]
	start := len(dst)
	for id := range p {
		dst = append(dst, id)
	}
	sel := dst[start:]
	slices.SortFunc(sel, func(a, b uint32) int {
		if p[a] != p[b] {
			if p[a] < p[b] {
				return -1
			}
			return 1
		}
		return int(int64(a) - int64(b))
	})
	if len(sel) > k {
		dst = dst[:start+k]
	}
	return dst
}

const transcriptConfig = `gateway_id: 1
network:
  listen: 10.1.0.1:2905
  ases:
    - {name: stp, rc: 100, point_codes: [1001, 1002]}
servers:
  listen: 10.1.0.1:2906
registrar:
  asap: 10.1.0.1:3863
services:
  - {name: hlr, rc: 200, pool: hlr, key: {dpc: 2001, si: 3, ssn: 6}}
  - {name: isup, rc: 300, pool: isup, key: {dpc: 2001, si: 5}}
  - {name: any, rc: 400, pool: any, key: {dpc: 2002}}
limits:
  cookies: 3
  cookie_lifetime: 1m
`

// TestTranscripts runs the scenarios under testdata/core. Each command is an
// input to a Core; the expected output is every action it produced.
//
//	config [body: YAML]                   a new core (default: transcriptConfig)
//	pool NAME ID=LOAD... [del=ID,...]     the pool's elements and loads, then Refresh
//	up assoc=N id=ID rcs=RC,...           the ASP on N is ASP-ACTIVE for rcs (none: it left)
//	lost assoc=N                          its association is gone
//	net|srv|unsent|refused|netunsent assoc=N [returned] [opc=] [dpc=] [sls=] [rc=] [si=] [ssn=] [udts] MSG
//	    MSG: begin otid=X | continue otid=X dtid=Y | end dtid=Y | abort dtid=Y | uni | raw
//	cookie assoc=N value=HEX              a state cookie
//	tick D                                advance the clock by D and expire cookies
//	drain                                 SetDraining(true)
//	counters                              the non-zero counters
func TestTranscripts(t *testing.T) {
	datadriven.Walk(t, "testdata/core", func(t *testing.T, path string) {
		h := &harness{now: time.Unix(1_000_000, 0)}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return h.run(t, d)
		})
	})
}

type harness struct {
	c     *Core
	pools *fakePools
	now   time.Time
}

func arg(d *datadriven.TestData, key string) (string, bool) {
	for _, a := range d.CmdArgs {
		if a.Key == key {
			return strings.Join(a.Vals, ","), true
		}
	}
	return "", false
}

func num(t *testing.T, d *datadriven.TestData, key string, def uint64) uint64 {
	s, ok := arg(d, key)
	if !ok || s == "" {
		return def
	}
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatalf("%s: %s=%q: %v", d.Pos, key, s, err)
	}
	return v
}

func (h *harness) run(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "config":
		src := d.Input
		if src == "" {
			src = transcriptConfig
		}
		cfg, err := ParseConfig("transcript.yaml", []byte(src))
		if err != nil {
			return "error: " + err.Error()
		}
		h.pools = newFakePools()
		h.c = NewCore(cfg, h.pools)
		h.c.Refresh(h.now)
	case "pool":
		name := d.CmdArgs[0].Key
		for _, a := range d.CmdArgs[1:] {
			if a.Key == "del" {
				for _, v := range a.Vals {
					id, _ := strconv.ParseUint(v, 0, 32)
					delete(h.pools.pools[name], uint32(id))
				}
				continue
			}
			id, err := strconv.ParseUint(a.Key, 0, 32)
			if err != nil {
				t.Fatalf("%s: element %q", d.Pos, a.Key)
			}
			load, _ := strconv.ParseUint(strings.Join(a.Vals, ""), 0, 32)
			h.pools.set(name, uint32(id), uint32(load))
		}
		h.c.Refresh(h.now)
	case "up":
		var rcs []uint32
		if s, _ := arg(d, "rcs"); s != "" {
			for _, f := range strings.Split(s, ",") {
				v, _ := strconv.ParseUint(f, 0, 32)
				rcs = append(rcs, uint32(v))
			}
		}
		id, hasID := arg(d, "id")
		v, _ := strconv.ParseUint(id, 0, 32)
		h.c.ServerState(h.now, m3ua.AssocID(num(t, d, "assoc", 0)), uint32(v), hasID, rcs)
	case "lost":
		h.c.ServerLost(h.now, m3ua.AssocID(num(t, d, "assoc", 0)))
	case "net", "srv", "unsent", "refused", "netunsent":
		u := h.userData(t, d)
		a := m3ua.AssocID(num(t, d, "assoc", 0))
		switch d.Cmd {
		case "net":
			h.c.NetworkData(h.now, a, u)
		case "srv":
			h.c.ServerData(h.now, a, u)
		case "unsent":
			_, returned := arg(d, "returned")
			h.c.Unsent(h.now, a, u, returned)
		case "refused":
			h.c.Refused(h.now, a, u)
		default:
			h.c.NetworkUnsent(h.now, a, u)
		}
	case "cookie":
		s, _ := arg(d, "value")
		h.c.Cookie(h.now, m3ua.AssocID(num(t, d, "assoc", 0)), unhex(t, s))
	case "tick":
		dur, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			t.Fatalf("%s: %v", d.Pos, err)
		}
		h.now = h.now.Add(dur)
		h.c.Tick(h.now)
	case "drain":
		h.c.SetDraining(true)
	case "counters":
		return describeCounters(h.c.Counters())
	default:
		t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	}
	var b strings.Builder
	for _, a := range h.c.Ready() {
		b.WriteString(describeAction(a))
		b.WriteByte('\n')
	}
	return b.String()
}

func unhex(t *testing.T, s string) []byte {
	var b []byte
	for i := 0; i+1 < len(s); i += 2 {
		v, err := strconv.ParseUint(s[i:i+2], 16, 8)
		if err != nil {
			t.Fatalf("hex %q: %v", s, err)
		}
		b = append(b, byte(v))
	}
	return b
}

func tidArg(t *testing.T, d *datadriven.TestData, key string) tcap.TID {
	s, _ := arg(d, key)
	id, err := tcap.MakeTID(unhex(t, s))
	if err != nil {
		t.Fatalf("%s: %s=%q: %v", d.Pos, key, s, err)
	}
	return id
}

func (h *harness) userData(t *testing.T, d *datadriven.TestData) m3ua.UserData {
	u := m3ua.UserData{
		OPC: uint32(num(t, d, "opc", 1001)), DPC: uint32(num(t, d, "dpc", 2001)),
		SI: uint8(num(t, d, "si", SISCCP)), NI: 2, SLS: uint8(num(t, d, "sls", 0)),
	}
	if d.Cmd == "srv" {
		u.OPC, u.DPC = uint32(num(t, d, "opc", 2001)), uint32(num(t, d, "dpc", 1001))
	}
	if rc, ok := arg(d, "rc"); ok {
		v, _ := strconv.ParseUint(rc, 0, 32)
		u.RC, u.HasRC = uint32(v), true
	}
	var tm tcap.Message
	kind := ""
	for _, a := range d.CmdArgs {
		switch a.Key {
		case "begin":
			tm = tcap.Message{Kind: tcap.Begin, OTID: tidArg(t, d, "otid"), HasOTID: true}
		case "continue":
			tm = tcap.Message{Kind: tcap.Continue, OTID: tidArg(t, d, "otid"), HasOTID: true, DTID: tidArg(t, d, "dtid"), HasDTID: true}
		case "end":
			tm = tcap.Message{Kind: tcap.End, DTID: tidArg(t, d, "dtid"), HasDTID: true}
		case "abort":
			tm = tcap.PAbort(tidArg(t, d, "dtid"), tcap.ResourceLimitation)
		case "uni":
			c, _ := tcap.AppendComponents(nil, tcap.Component{Type: tcap.Invoke, InvokeID: 1, HasOpCode: true, OpCode: 2})
			tm = tcap.Message{Kind: tcap.Unidirectional, Components: c}
		case "raw":
		default:
			continue
		}
		kind = a.Key
	}
	if u.SI != SISCCP {
		u.Payload = []byte{0x01, 0x02, byte(num(t, d, "seq", 0)), u.SLS}
		return u
	}
	var data []byte
	if kind == "raw" {
		data = []byte{0xde, 0xad}
	} else {
		var err error
		if data, err = tm.Append(nil); err != nil {
			t.Fatalf("%s: tcap: %v", d.Pos, err)
		}
	}
	m := sccp.Message{
		Type:    sccp.UDT,
		Called:  sccp.Address{RouteOnSSN: true, HasPC: true, PC: uint16(u.DPC), HasSSN: true, SSN: uint8(num(t, d, "ssn", 6))},
		Calling: sccp.Address{RouteOnSSN: true, HasPC: true, PC: uint16(u.OPC), HasSSN: true, SSN: 7},
		Data:    data,
	}
	if _, ok := arg(d, "udts"); ok {
		m.Type, m.Cause = sccp.UDTS, 1
	}
	b, err := m.Append(nil)
	if err != nil {
		t.Fatalf("%s: sccp: %v", d.Pos, err)
	}
	u.Payload = b
	return u
}

// describePayload renders an MSU's SCCP and TCAP parts.
func describePayload(u m3ua.UserData) string {
	if u.SI != SISCCP {
		if len(u.Payload) == 4 {
			return fmt.Sprintf("si=%d seq=%d", u.SI, u.Payload[2])
		}
		return fmt.Sprintf("si=%d len=%d", u.SI, len(u.Payload))
	}
	var m sccp.Message
	if err := sccp.Decode(u.Payload, &m); err != nil {
		return "sccp?"
	}
	s := ""
	if m.Type != sccp.UDT {
		s = m.Type.String() + " "
	}
	s += fmt.Sprintf("ssn=%d->%d ", m.Calling.SSN, m.Called.SSN)
	var t tcap.Message
	if err := tcap.Decode(m.Data, &t); err != nil {
		return s + "tcap?"
	}
	switch t.Kind {
	case tcap.Begin:
		s += "begin"
	case tcap.Continue:
		s += "continue"
	case tcap.End:
		s += "end"
	case tcap.Abort:
		s += "abort"
	case tcap.Unidirectional:
		s += "uni"
	}
	if t.HasOTID {
		s += " otid=" + fmt.Sprintf("%x", t.OTID.Bytes())
	}
	if t.HasDTID {
		s += " dtid=" + fmt.Sprintf("%x", t.DTID.Bytes())
	}
	if t.HasPAbortCause {
		s += fmt.Sprintf(" cause=%d", t.PAbortCause)
	}
	return s
}

func describeAction(a Action) string {
	switch a.Kind {
	case SendServer:
		return fmt.Sprintf("send-server assoc=%d rc=%d sls=%d %s", a.Assoc, a.Data.RC, a.Data.SLS, describePayload(a.Data))
	case SendNetwork:
		return fmt.Sprintf("send-network rc=%d opc=%d dpc=%d sls=%d %s", a.Data.RC, a.Data.OPC, a.Data.DPC, a.Data.SLS, describePayload(a.Data))
	case CookieEcho:
		return fmt.Sprintf("cookie-echo assoc=%d sls=%d cookie=%x", a.Assoc, a.Data.SLS, a.Cookie)
	case ReportUnreachable:
		return fmt.Sprintf("report-unreachable pool=%s id=%#x", a.Handle, a.ID)
	case Destination:
		if a.Available {
			return fmt.Sprintf("destination pc=%d DAVA", a.PC)
		}
		return fmt.Sprintf("destination pc=%d DUNA", a.PC)
	case PoolLevel:
		if a.Settled {
			return fmt.Sprintf("pool-level pool=%s live=%d settled", a.Handle, a.Live)
		}
		return fmt.Sprintf("pool-level pool=%s live=%d", a.Handle, a.Live)
	case ASPDown:
		if a.Raise {
			return fmt.Sprintf("asp-down id=%#x raise: %s", a.ID, a.Cause)
		}
		return fmt.Sprintf("asp-down id=%#x clear: %s", a.ID, a.Cause)
	}
	return a.Kind.String()
}

func describeCounters(k Counters) string {
	var b strings.Builder
	add := func(name string, v uint64) {
		if v != 0 {
			fmt.Fprintf(&b, "%s=%d\n", name, v)
		}
	}
	add("network_in", k.NetworkIn)
	add("server_in", k.ServerIn)
	add("to_servers", k.ToServers)
	add("to_network", k.ToNetwork)
	for r := Reason(0); r < NumReasons; r++ {
		add("discarded."+r.String(), k.Discarded[r])
	}
	add("dialogues_started", k.DialoguesStarted)
	add("dialogues_failed_over", k.DialoguesFailedOver)
	add("dialogues_aborted", k.DialoguesAborted)
	if k.DialoguesActive != 0 {
		fmt.Fprintf(&b, "dialogues_active=%d\n", k.DialoguesActive)
	}
	add("resent", k.Resent)
	add("selections", k.Selections)
	add("cookies_stored", k.CookiesStored)
	add("cookies_evicted", k.CookiesEvicted)
	add("cookies_expired", k.CookiesExpired)
	add("cookies_held", uint64(k.CookiesHeld))
	add("unanswered.rerouted_begin", k.UnansweredBegins)
	add("unanswered.rerouted_continuation", k.UnansweredContinuations)
	add("unanswered.aborted", k.UnansweredAborted)
	return b.String()
}
