//go:build lab && linux

package m3ua

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestLabM3UADataUnsent: the SGP sends to one ASP with SendDataTo, paced at
// about a message per millisecond, and the ASP's host is cut off from both
// networks mid-stream. Kernel SCTP declares the peer dead and hands back
// what it had not delivered; every message SendDataTo accepted must be
// either delivered to the ASP or handed back as DataUnsent with its
// payload. A message the ASP's kernel received but whose SACK was lost in
// the cut is both (SCTP cannot know): counted and logged, not a failure.
func TestLabM3UADataUnsent(t *testing.T) {
	n := newLabNet(t)
	srvSink := newSink()
	srv := n.server(t, 2907, ServerConfig{SGP: SGPConfig{ASes: []ASConfig{{RC: 3, Mode: Loadshare}}}, Handlers: srvSink.handlers()})
	aspSink := newSink()
	c := n.client(t, 0, 2907, ASPConfig{RCs: []uint32{3}, Mode: Loadshare, AutoActivate: true, ASPID: 77, HasASPID: true}, aspSink.handlers())
	waitActive(t, c, 1)
	var a AssocID
	srvSink.waitFor(t, "the ASP active in the events", func() bool {
		v := viewOf(srvSink.events)
		for id, rcs := range v.active {
			if slices.Equal(rcs, []uint32{3}) && v.aspID[id] == 77 {
				a = id
				return true
			}
		}
		return false
	})
	sent := 0
	deadline := time.Now().Add(waitLong)
	for i := 0; ; i++ {
		if i == 500 {
			if err := n.topo.Isolate(2); err != nil {
				t.Fatalf("Isolate(2): %v", err)
			}
		}
		err := srv.SendDataTo(a, UserData{RC: 3, OPC: 1, DPC: 2, SI: 3, SLS: uint8(i), Payload: payload(0, uint32(i))})
		if err != nil {
			if !errors.Is(err, ErrASPNotActive) && !errors.Is(err, ErrUnknownAssoc) {
				t.Fatal(err)
			}
			t.Logf("SendDataTo stopped after %d messages: %v", sent, err)
			break
		}
		sent++
		if time.Now().After(deadline) {
			t.Fatalf("the association outlived the isolation of its ASP for %v", waitLong)
		}
		time.Sleep(time.Millisecond)
	}
	if sent <= 500 {
		t.Fatalf("only %d messages sent before the association went", sent)
	}
	srvSink.waitFor(t, "the association to end at the SGP", func() bool {
		return slices.ContainsFunc(srvSink.events, func(e Event) bool { _, ok := e.(AssocEnded); return ok })
	})
	aspSink.waitFor(t, "the association to end at the ASP", func() bool {
		return slices.ContainsFunc(aspSink.events, func(e Event) bool { _, ok := e.(AssocEnded); return ok })
	})
	delivered := map[uint32]bool{}
	aspSink.mu.Lock()
	for _, u := range aspSink.data {
		delivered[binary.BigEndian.Uint32(u.Payload[4:])] = true
	}
	aspSink.mu.Unlock()
	handedBack := map[uint32]bool{}
	reasons := map[string]int{}
	both := 0
	srvSink.mu.Lock()
	for _, e := range srvSink.events {
		du, ok := e.(DataUnsent)
		if !ok {
			continue
		}
		if du.Assoc != a || du.Data.RC != 3 || du.Data.OPC != 1 || du.Data.DPC != 2 || len(du.Data.Payload) != 8 {
			t.Errorf("DataUnsent %+v", du)
			continue
		}
		i := binary.BigEndian.Uint32(du.Data.Payload[4:])
		if uint8(i) != du.Data.SLS {
			t.Errorf("DataUnsent of message %d with SLS %d", i, du.Data.SLS)
		}
		if handedBack[i] {
			t.Errorf("message %d handed back twice", i)
		}
		handedBack[i] = true
		reasons[du.Reason]++
		if delivered[i] {
			both++
		}
	}
	srvSink.mu.Unlock()
	missing := 0
	for i := range sent {
		if !delivered[uint32(i)] && !handedBack[uint32(i)] {
			missing++
			if missing <= 10 {
				t.Errorf("message %d neither delivered nor handed back", i)
			}
		}
	}
	dc := srv.DriverCounters()
	t.Logf("sent %d: delivered %d, handed back %d %v, both %d, lost %d; driver counters: unsent %d, DataUnsent %d, send errors %d",
		sent, len(delivered), len(handedBack), reasons, both, missing, dc.Unsent.Load(), dc.DataUnsent.Load(), dc.SendErrors.Load())
	if len(handedBack) == 0 {
		t.Errorf("nothing handed back: the cut did not catch messages in flight")
	}
	if dc.DataUnsent.Load() != uint64(len(handedBack)) {
		t.Errorf("DataUnsent counter %d, events %d", dc.DataUnsent.Load(), len(handedBack))
	}
}
