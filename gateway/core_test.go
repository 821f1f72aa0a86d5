package gateway

import (
	"encoding/binary"
	"hash/fnv"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// The contract: FNV-1a 64 over the 4 TID octets then the 4 PE identifier
// octets, big-endian; the highest hash wins.
func TestRendezvousIsFNV1aOfTIDThenID(t *testing.T) {
	ids := []uint32{0x11110001, 0x22220002, 0x33330003, 0x44440004, 0x55550005}
	for tid := uint32(0x00010000); tid < 0x00010000+500; tid++ {
		var best uint64
		var want uint32
		for _, id := range ids {
			h := fnv.New64a()
			var b [8]byte
			binary.BigEndian.PutUint32(b[:4], tid)
			binary.BigEndian.PutUint32(b[4:], id)
			h.Write(b[:])
			if s := h.Sum64(); s > best {
				best, want = s, id
			}
		}
		got, ok := Rendezvous(tid, ids)
		if !ok || got != want {
			t.Fatalf("tid %#x: Rendezvous %#x, want %#x", tid, got, want)
		}
	}
	if _, ok := Rendezvous(1, nil); ok {
		t.Fatal("Rendezvous over no element succeeded")
	}
}

// Removing an element moves only the dialogues it owned; the others keep
// their owner, whatever the order the live set is given in.
func TestRendezvousMovesOnlyTheDeadElementsDialogues(t *testing.T) {
	all := []uint32{7, 3, 9, 12, 5}
	rest := []uint32{12, 9, 5, 7} // 3 gone, another order
	counts := map[uint32]int{}
	for tid := uint32(0); tid < 5000; tid++ {
		a, _ := Rendezvous(tid, all)
		b, _ := Rendezvous(tid, rest)
		counts[a]++
		if a != 3 && a != b {
			t.Fatalf("tid %d moved from %d to %d", tid, a, b)
		}
		if a == 3 && b == 3 {
			t.Fatalf("tid %d stays on the dead element", tid)
		}
	}
	for _, id := range all {
		if counts[id] < 5000/len(all)/2 {
			t.Errorf("element %d owns %d of 5000 dialogues: the spread is uneven (%v)", id, counts[id], counts)
		}
	}
}

// Least used selection over many Begins follows the loads the pool reports.
func TestLeastUsedFollowsLoad(t *testing.T) {
	cfg, err := ParseConfig("t.yaml", []byte(transcriptConfig))
	if err != nil {
		t.Fatal(err)
	}
	p := newFakePools()
	c := NewCore(cfg, p)
	now := time.Unix(0, 0)
	for i := uint32(1); i <= 3; i++ {
		p.set("hlr", i, 0)
		c.ServerState(now, m3ua.AssocID(i), i, true, []uint32{200})
	}
	c.Refresh(now)
	c.Ready()
	per := map[m3ua.AssocID]int{}
	// Each element's load is its count of dialogues; the pool re-reports
	// it after every Begin, as an element re-registers on a load step.
	for n := 0; n < 300; n++ {
		c.NetworkData(now, 99, msu(t, tcap.Message{Kind: tcap.Begin, OTID: tcap.TID32(uint32(n + 1)), HasOTID: true}, uint8(n)))
		for _, a := range c.Ready() {
			if a.Kind != SendServer {
				t.Fatalf("action %v", describeAction(a))
			}
			per[a.Assoc]++
			p.set("hlr", uint32(a.Assoc), uint32(per[a.Assoc]))
		}
	}
	for a := m3ua.AssocID(1); a <= 3; a++ {
		if per[a] != 100 {
			t.Fatalf("dialogues per element %v, want 100 each", per)
		}
	}
}

func msu(t testing.TB, tm tcap.Message, sls uint8) m3ua.UserData {
	data, err := tm.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	m := sccp.Message{
		Type:    sccp.UDT,
		Called:  sccp.Address{RouteOnSSN: true, HasPC: true, PC: 2001, HasSSN: true, SSN: 6},
		Calling: sccp.Address{RouteOnSSN: true, HasPC: true, PC: 1001, HasSSN: true, SSN: 7},
		Data:    data,
	}
	b, err := m.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return m3ua.UserData{RC: 100, HasRC: true, OPC: 1001, DPC: 2001, SI: SISCCP, NI: 2, SLS: sls, Payload: b}
}

// FuzzCoreNetworkData: whatever the network sends, the core neither panics
// nor sends anything but to an active ASP or to a network AS, and routes
// data with the service's routing context; when that ASP's association then
// ends, what it did not answer goes nowhere but to the network (no element
// is left), as a TC-ABORT.
func FuzzCoreNetworkData(f *testing.F) {
	cfg, err := ParseConfig("t.yaml", []byte(transcriptConfig))
	if err != nil {
		f.Fatal(err)
	}
	for _, tm := range []tcap.Message{
		{Kind: tcap.Begin, OTID: tcap.TID32(1), HasOTID: true},
		{Kind: tcap.Continue, OTID: tcap.TID32(1), HasOTID: true, DTID: tcap.TID32(0x00010002), HasDTID: true},
		{Kind: tcap.End, DTID: tcap.TID32(0x00090002), HasDTID: true},
	} {
		f.Add(msu(f, tm, 3).Payload, uint8(3), uint8(3))
	}
	f.Add([]byte{1, 2, 3}, uint8(5), uint8(1))
	f.Fuzz(func(t *testing.T, payload []byte, si, sls uint8) {
		p := newFakePools()
		c := NewCore(cfg, p)
		now := time.Unix(0, 0)
		p.set("hlr", 0x00010001, 0)
		p.set("isup", 0x00010001, 0)
		c.ServerState(now, 1, 0x00010001, true, []uint32{200, 300})
		c.Cookie(now, 1, []byte{0, 0x09, 0, 2, 0xaa})
		c.Refresh(now)
		c.Ready()
		c.NetworkData(now, 9, m3ua.UserData{RC: 100, HasRC: true, OPC: 1001, DPC: 2001, SI: si & 15, SLS: sls, Payload: payload})
		for _, a := range c.Ready() {
			switch a.Kind {
			case SendServer:
				if a.Assoc != 1 || (a.Data.RC != 200 && a.Data.RC != 300) {
					t.Fatalf("sent %s", describeAction(a))
				}
			case SendNetwork:
				if a.Data.RC != 100 || a.Data.DPC != 1001 {
					t.Fatalf("sent %s", describeAction(a))
				}
			case CookieEcho:
			default:
				t.Fatalf("action %s", describeAction(a))
			}
		}
		c.ServerLost(now, 1)
		for _, a := range c.Ready() {
			switch a.Kind {
			case SendNetwork:
				if a.Data.RC != 100 || a.Data.DPC != 1001 {
					t.Fatalf("after the loss, sent %s", describeAction(a))
				}
				var m sccp.Message
				var tm tcap.Message
				if sccp.Decode(a.Data.Payload, &m) != nil || tcap.Decode(m.Data, &tm) != nil || tm.Kind != tcap.Abort {
					t.Fatalf("after the loss, sent %s", describeAction(a))
				}
			case ReportUnreachable, PoolLevel, Destination, ASPDown:
			default:
				t.Fatalf("after the loss, action %s", describeAction(a))
			}
		}
	})
}

// Unanswered messages are kept at most limits.unanswered per element and
// forgotten once limits.unanswered_lifetime has passed, without the element
// failing; an answer forgets one at once.
func TestUnansweredBoundedAndExpire(t *testing.T) {
	cfg, err := ParseConfig("t.yaml", []byte(transcriptConfig+"  unanswered: 3\n  unanswered_lifetime: 2s\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := newFakePools()
	c := NewCore(cfg, p)
	now := time.Unix(0, 0)
	p.set("hlr", 0x00010001, 0)
	c.ServerState(now, 1, 0x00010001, true, []uint32{200})
	c.Refresh(now)
	c.Ready()
	for i := uint32(1); i <= 5; i++ {
		c.NetworkData(now, 9, msu(t, tcap.Message{Kind: tcap.Begin, OTID: tcap.TID32(0x0a000000 + i), HasOTID: true}, 1))
	}
	c.Ready()
	srv := c.servers[1]
	if n := len(srv.unanswered); n != 3 {
		t.Fatalf("%d kept, want the bound 3", n)
	}
	ans := msu(t, tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(0x00010001), HasOTID: true, DTID: tcap.TID32(0x0a000001), HasDTID: true}, 1)
	ans.DPC, ans.OPC = 1001, 2001
	c.ServerData(now, 1, ans)
	c.Ready()
	if n := len(srv.unanswered); n != 2 {
		t.Fatalf("%d kept after an answer, want 2", n)
	}
	c.Tick(now.Add(2 * time.Second))
	if n := len(srv.unanswered); n != 2 {
		t.Fatalf("%d kept at the lifetime, want 2", n)
	}
	c.Tick(now.Add(2*time.Second + time.Millisecond))
	if n := len(srv.unanswered); n != 0 {
		t.Fatalf("%d kept past the lifetime", n)
	}
	c.Ready()
	if k := c.Counters(); k.UnansweredBegins+k.UnansweredAborted != 0 {
		t.Fatalf("expiry routed something again: %+v", k)
	}
}
