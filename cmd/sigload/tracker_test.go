package main

import (
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/tcap"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func answer(kind tcap.Kind, dtid uint32, server uint32) *tcap.Message {
	m := &tcap.Message{Kind: kind, DTID: tcap.TID32(dtid), HasDTID: true}
	if kind == tcap.Continue {
		m.OTID, m.HasOTID = tcap.TID32(server), true
	}
	return m
}

func TestTrackerScript(t *testing.T) {
	tr := NewTracker(2, time.Second)
	a := tr.Open(t0, 3)
	b := tr.Open(t0, 4)
	if a == b || a == 0 || b == 0 {
		t.Fatalf("ids %d %d", a, b)
	}
	// dialogue a: two rounds then End after 30 ms
	act := tr.Receive(t0.Add(10*time.Millisecond), answer(tcap.Continue, a, 0xbeef0001))
	if !act.Continue || act.OTID != a || act.Peer != tcap.TID32(0xbeef0001) || act.Round != 1 || act.SLS != 3 {
		t.Fatalf("%+v", act)
	}
	if act := tr.Receive(t0.Add(20*time.Millisecond), answer(tcap.Continue, a, 0xbeef0001)); act.Round != 2 {
		t.Fatalf("%+v", act)
	}
	if act := tr.Receive(t0.Add(30*time.Millisecond), answer(tcap.End, a, 0)); act.Continue {
		t.Fatal("End answered")
	}
	// dialogue b: End at once (1 round short of the script)
	tr.Receive(t0.Add(5*time.Millisecond), answer(tcap.End, b, 0))
	// an answer for an ended dialogue
	tr.Receive(t0.Add(40*time.Millisecond), answer(tcap.End, a, 0))
	c := tr.Counts()
	if c.Offered != 2 || c.Completed != 2 || c.InFlight != 0 || c.Mismatch != 1 || c.Unmatched != 1 || c.Continues != 2 {
		t.Fatalf("%+v", c)
	}
	h := tr.Latency()
	if h.Count() != 2 || h.Max() != 30*time.Millisecond || h.Min() != 5*time.Millisecond {
		t.Fatalf("latency count %d min %v max %v", h.Count(), h.Min(), h.Max())
	}
	// the window holds the same, then starts empty
	if _, w := tr.Window(); w.Count() != 2 {
		t.Fatal("window")
	}
	if _, w := tr.Window(); w.Count() != 0 {
		t.Fatal("window not reset")
	}
}

func TestTrackerAbortsLossesAndUnsent(t *testing.T) {
	tr := NewTracker(1, time.Second)
	p := tr.Open(t0, 0)
	u := tr.Open(t0, 0)
	l1 := tr.Open(t0.Add(100*time.Millisecond), 1)
	l2 := tr.Open(t0.Add(200*time.Millisecond), 2)
	ns := tr.Open(t0.Add(300*time.Millisecond), 0)
	rs := tr.Open(t0.Add(300*time.Millisecond), 0)
	ret := tr.Open(t0.Add(300*time.Millisecond), 0)
	pa := tcap.PAbort(tcap.TID32(p), tcap.ResourceLimitation)
	tr.Receive(t0, &pa)
	tr.Receive(t0, &tcap.Message{Kind: tcap.Abort, DTID: tcap.TID32(u), HasDTID: true})
	tr.Receive(t0, answer(tcap.Continue, l2, 0x00070009)) // l2 answered once, then silence
	tr.NotSent(ns)
	for i := 0; i < maxResends; i++ {
		if !tr.Unsent(rs) {
			t.Fatalf("resend %d refused", i)
		}
	}
	if tr.Unsent(rs) {
		t.Fatal("resent more than maxResends times")
	}
	tr.Returned(ret, 3)
	// nothing expires before its timeout
	if got := tr.Expire(t0.Add(1099*time.Millisecond), nil); len(got) != 0 {
		t.Fatalf("early expiry %+v", got)
	}
	got := tr.Expire(t0.Add(1200*time.Millisecond), nil)
	if len(got) != 2 || got[0].OTID != l1 || got[0].HasPeer || got[1].OTID != l2 || !got[1].HasPeer ||
		got[1].Peer != tcap.TID32(0x00070009) || got[1].SLS != 2 || got[1].Rounds != 1 || got[1].Resends != 0 ||
		!got[0].Start.Equal(t0.Add(100*time.Millisecond)) || !got[1].Start.Equal(t0.Add(200*time.Millisecond)) {
		t.Fatalf("expired %+v", got)
	}
	if got := tr.Expire(t0.Add(time.Hour), nil); len(got) != 0 {
		t.Fatalf("expired again %+v", got)
	}
	c := tr.Counts()
	want := Counts{Offered: 7, Aborted: 3, Lost: 2, NotSent: 2, Resent: maxResends, Continues: 1}
	if c.Offered != want.Offered || c.Aborted != want.Aborted || c.Lost != want.Lost || c.NotSent != want.NotSent ||
		c.Resent != want.Resent || c.InFlight != 0 || c.Completed != 0 || c.Continues != 1 {
		t.Fatalf("%+v", c)
	}
	if c.AbortCauses["p-abort:resourceLimitation"] != 1 || c.AbortCauses["u-abort"] != 1 || c.AbortCauses["sccp-return:3"] != 1 {
		t.Fatalf("causes %v", c.AbortCauses)
	}
	// an answer after the loss is unmatched, not completed
	tr.Receive(t0.Add(2*time.Second), answer(tcap.End, l1, 0))
	if c := tr.Counts(); c.Completed != 0 || c.Unmatched != 1 {
		t.Fatalf("%+v", c)
	}
	// the invariant
	if c.Offered != c.Completed+c.Aborted+c.Lost+c.NotSent+c.InFlight {
		t.Fatalf("counts do not add up: %+v", c)
	}
}

func TestTrackerIDsSkipOpen(t *testing.T) {
	tr := NewTracker(0, time.Second)
	first := tr.Open(t0, 0)
	tr.next = first // wrap around onto the open one
	if second := tr.Open(t0, 0); second == first {
		t.Fatal("reused an open transaction id")
	}
	tr.next = 0xffffffff
	if id := tr.Open(t0, 0); id != 0xffffffff {
		t.Fatalf("id %x", id)
	}
	if id := tr.Open(t0, 0); id == 0 {
		t.Fatal("id 0 allocated")
	}
}
