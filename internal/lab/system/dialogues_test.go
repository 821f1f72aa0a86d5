package system

import (
	"fmt"
	"testing"
	"time"
)

// steady makes dialogues begun every 50 ms from 0 to end, completing after
// lat(begin) (outcome from out(begin), "completed" when it returns "").
func steady(end time.Duration, lat func(time.Duration) time.Duration, out func(time.Duration) string) []Dialogue {
	var ds []Dialogue
	for b, i := time.Duration(0), 0; b < end; b, i = b+50*time.Millisecond, i+1 {
		o := out(b)
		if o == "" {
			o = "completed"
		}
		ds = append(ds, Dialogue{OTID: fmt.Sprintf("%08x", i), Begin: b, End: b + lat(b), Outcome: o})
	}
	return ds
}

func TestDialogueRule(t *testing.T) {
	fault := 10 * time.Second
	faults := []FaultResult{{At: fault, HealedAt: 14 * time.Second}}
	// 100 ms normally; dialogues begun in the 300 ms after the fault take
	// 1.5 s (handed over), one of them is lost.
	ds := steady(30*time.Second, func(b time.Duration) time.Duration {
		if b >= fault && b < fault+300*time.Millisecond {
			return 1500 * time.Millisecond
		}
		return 100 * time.Millisecond
	}, func(b time.Duration) string {
		if b == fault+100*time.Millisecond {
			return "lost"
		}
		return ""
	})
	r := DialogueRule{}
	bound := r.Bound(ds, faults)
	if bound != 100*time.Millisecond {
		t.Fatalf("bound %s; want 100ms", bound)
	}
	rec, err := r.Recovery(ds, fault, bound)
	if err != nil || rec != 300*time.Millisecond {
		t.Fatalf("recovery %s, %v; want 300ms", rec, err)
	}
	// no effect: the first dialogue at or after the fault
	rec, err = r.Recovery(ds, 20*time.Second+10*time.Millisecond, bound)
	if err != nil || rec != 40*time.Millisecond {
		t.Fatalf("recovery without a fault %s, %v; want 40ms", rec, err)
	}
	// a fault the traffic never recovers from within the horizon
	dead := steady(30*time.Second, func(time.Duration) time.Duration { return 100 * time.Millisecond },
		func(b time.Duration) string {
			if b >= fault {
				return "aborted"
			}
			return ""
		})
	if rec, err := r.Recovery(dead, fault, bound); err != nil || rec != NotRecovered {
		t.Fatalf("recovery %s, %v; want never", rec, err)
	}
	// the dialogues must reach past the window
	if _, err := r.Recovery(ds, 29*time.Second, bound); err == nil {
		t.Fatal("a recovery computed past the end of the dialogues")
	}
	// control instants keep clear of the fault and find nothing on steady traffic
	cs := r.Controls(ds, faults, bound, 3)
	if len(cs) != 3 {
		t.Fatalf("controls %+v", cs)
	}
	for _, c := range cs {
		if c.At+3*time.Second > fault-time.Second && c.At-time.Second < faults[0].HealedAt+2*time.Second {
			t.Errorf("control at %s overlaps the fault", c.At)
		}
		if c.Recovery < 0 || c.Recovery >= 50*time.Millisecond {
			t.Errorf("control at %s: recovery %s on steady traffic", c.At, c.Recovery)
		}
	}
}

func TestAttributeLost(t *testing.T) {
	kill := 26 * time.Second
	faults := []FaultResult{
		{Name: "SIGKILL asp1a", At: 6 * time.Second},
		{Name: "SIGKILL gw2", At: kill, KilledAssoc: 2},
	}
	events := []AssocEvent{
		{Assoc: 2, Event: "up", T: 0},
		{Assoc: 2, Event: "ended", T: kill + 40*time.Millisecond},
		{Assoc: 2, Event: "up", T: kill + 250*time.Millisecond},
		{Assoc: 2, Event: "ended", T: kill + 450*time.Millisecond},
	}
	send := func(a int, at time.Duration) []SendAt {
		return []SendAt{{Assoc: 1, T: at - time.Second}, {Assoc: a, T: at}}
	}
	lost := []Dialogue{
		{OTID: "a", Sends: send(2, kill-80*time.Millisecond)},  // into gw2 just before the kill
		{OTID: "b", Sends: send(2, kill+30*time.Millisecond)},  // before sigload saw the end
		{OTID: "c", Sends: send(1, kill+200*time.Millisecond)}, // through gw1: the way back is unknown
		{OTID: "d", Sends: send(2, kill+300*time.Millisecond)}, // after the end was seen
		{OTID: "e", Sends: send(2, kill-2*time.Second)},        // long before the kill
		{OTID: "f", Sends: send(2, 6*time.Second)},             // the aspd kill is no gateway's
		{OTID: "g"}, // nothing known sent
	}
	in, other := AttributeLost(lost, events, faults)
	if len(in) != 2 || in[0].OTID != "a" || in[1].OTID != "b" || in[0].Fault != "SIGKILL gw2" {
		t.Errorf("attributed %+v; want a and b to SIGKILL gw2", in)
	}
	if fmt.Sprint(other) != "[c d e f g]" {
		t.Errorf("not attributed %v; want [c d e f g]", other)
	}
	// without the end of the association nothing is attributed
	if in, _ := AttributeLost(lost, events[:1], faults); len(in) != 0 {
		t.Errorf("attributed %+v without an association end", in)
	}
}

func TestParseSummaryDetail(t *testing.T) {
	s, err := ParseSummary([]byte(`{"offered": 3, "completed": 2, "lost": 1,
		"lost_dialogues": [{"otid": "00000003", "begin_s": 1.5, "sends": [{"assoc": 2, "t": 1.5}]}],
		"assoc_events": [{"assoc": 2, "event": "ended", "t": 1.6}],
		"dialogues": [{"otid": "00000001", "begin_s": 0.5, "end_s": 0.6, "outcome": "completed", "sends": [{"assoc": 1, "t": 0.5}]},
		              {"otid": "00000003", "begin_s": 1.5, "end_s": 6.5, "outcome": "lost"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.LostList) != 1 || s.LostList[0].Sends[0] != (SendAt{Assoc: 2, T: 1500 * time.Millisecond}) {
		t.Errorf("lost %+v", s.LostList)
	}
	if len(s.AssocEvents) != 1 || s.AssocEvents[0].T != 1600*time.Millisecond || s.AssocEvents[0].Event != "ended" {
		t.Errorf("events %+v", s.AssocEvents)
	}
	if len(s.Dialogues) != 2 || s.Dialogues[0].Latency() != 100*time.Millisecond || s.Dialogues[1].Outcome != "lost" {
		t.Errorf("dialogues %+v", s.Dialogues)
	}
}

func TestHoldUpRule(t *testing.T) {
	fault := 10 * time.Second
	ms := time.Millisecond
	faults := []FaultResult{{At: fault, HealedAt: 14 * time.Second}}
	lat := func(over map[time.Duration]time.Duration, normal time.Duration) func(time.Duration) time.Duration {
		return func(b time.Duration) time.Duration {
			if l, ok := over[b]; ok {
				return l
			}
			return normal
		}
	}
	r := HoldUpRule{}
	for _, c := range []struct {
		name  string
		lat   map[time.Duration]time.Duration
		out   map[time.Duration]string
		want  time.Duration
		worst time.Duration // Begin of the dialogue held longest
	}{
		{"no effect", nil, nil, 0, 0},
		// a Begin sent into a dead element, re-routed 400 ms later
		{"held", map[time.Duration]time.Duration{fault + 100*ms: 500 * ms, fault + 150*ms: 300 * ms}, nil, 400 * ms, fault + 100*ms},
		// open at the fault: begun before it, answered 700 ms later
		{"open at the fault", map[time.Duration]time.Duration{fault - 50*ms: 700 * ms}, nil, 600 * ms, fault - 50*ms},
		// an abort is an answer
		{"aborted", map[time.Duration]time.Duration{fault + 200*ms: 900 * ms}, map[time.Duration]string{fault + 200*ms: "aborted"}, 800 * ms, fault + 200*ms},
		// a lost (or unsent) dialogue never flowed
		{"lost", map[time.Duration]time.Duration{fault + 250*ms: 5 * time.Second}, map[time.Duration]string{fault + 250*ms: "lost"}, NotRecovered, fault + 250*ms},
		{"not sent", nil, map[time.Duration]string{fault + 1900*ms: "notsent"}, NotRecovered, fault + 1900*ms},
		// past the window: not the fault's
		{"after the window", map[time.Duration]time.Duration{fault + 2500*ms: 3 * time.Second}, nil, 0, 0},
		// done before the fault: not the fault's
		{"done before", map[time.Duration]time.Duration{fault - 1000*ms: 900 * ms}, nil, 0, 0},
	} {
		ds := steady(30*time.Second, lat(c.lat, 100*ms), func(b time.Duration) string { return c.out[b] })
		h, err := r.HoldUp(ds, fault, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if h.Time != c.want || h.Normal != 100*ms || h.Caught < 40 {
			t.Errorf("%s: hold-up %s, normal %s, %d looked at; want %s, 100ms, 40 or more", c.name, h.Time, h.Normal, h.Caught, c.want)
		}
		if c.want != 0 && h.Worst.Begin != c.worst {
			t.Errorf("%s: held longest the dialogue begun at %s; want %s", c.name, h.Worst.Begin, c.worst)
		}
	}
	// a loss the caller excuses (inside a killed gateway) is left out
	withLoss := steady(30*time.Second, lat(map[time.Duration]time.Duration{fault + 100*ms: 300 * ms}, 100*ms), func(b time.Duration) string {
		if b == fault+50*ms {
			return "lost"
		}
		return ""
	})
	lost := fmt.Sprintf("%08x", int((fault+50*ms)/(50*ms)))
	if h, err := r.HoldUp(withLoss, fault, map[string]bool{lost: true}); err != nil || h.Time != 200*ms {
		t.Errorf("excused loss: hold-up %s, %v; want 200ms", h.Time, err)
	}
	if h, err := r.HoldUp(withLoss, fault, nil); err != nil || h.Time != NotRecovered || h.Worst.OTID != lost {
		t.Errorf("loss: hold-up %s (%+v), %v; want never, by otid %s", h.Time, h.Worst, err, lost)
	}
	// so is one its server aborted long after (its message died in the
	// gateway); not excused, it is the hold-up
	withAbort := steady(30*time.Second, lat(map[time.Duration]time.Duration{fault + 50*ms: 3 * time.Second, fault + 100*ms: 300 * ms}, 100*ms),
		func(b time.Duration) string {
			if b == fault+50*ms {
				return "aborted"
			}
			return ""
		})
	if h, err := r.HoldUp(withAbort, fault, map[string]bool{lost: true}); err != nil || h.Time != 200*ms {
		t.Errorf("excused abort: hold-up %s, %v; want 200ms", h.Time, err)
	}
	if h, err := r.HoldUp(withAbort, fault, nil); err != nil || h.Time != 2900*ms {
		t.Errorf("abort: hold-up %s, %v; want 2.9s", h.Time, err)
	}
	// Traffic that runs slower after the fault (one gateway left with
	// all the load) is held up only by its slowdown, where the
	// DialogueRule, bound to the pre-fault tail, never sees it normal.
	slow := steady(30*time.Second, func(b time.Duration) time.Duration {
		if b >= fault {
			return 160 * ms
		}
		return 100 * ms
	}, func(time.Duration) string { return "" })
	if h, err := r.HoldUp(slow, fault, nil); err != nil || h.Time != 60*ms {
		t.Errorf("slower traffic: hold-up %s, %v; want 60ms", h.Time, err)
	}
	d := DialogueRule{}
	if rec, err := d.Recovery(slow, fault, d.Bound(slow, faults)); err != nil || rec != NotRecovered {
		t.Errorf("slower traffic: normal again %s, %v; want never", rec, err)
	}
	// errors: no normal latency before the fault, dialogues ending early
	ds := steady(30*time.Second, lat(nil, 100*ms), func(time.Duration) string { return "" })
	if _, err := r.HoldUp(ds, 0, nil); err == nil {
		t.Error("a hold-up without a dialogue before the fault")
	}
	if _, err := r.HoldUp(ds, 29*time.Second, nil); err == nil {
		t.Error("a hold-up past the end of the dialogues")
	}
	// control instants keep clear of the fault and find nothing on steady
	// traffic
	cs := r.Controls(ds, faults, 3)
	if len(cs) != 3 {
		t.Fatalf("controls %+v", cs)
	}
	for _, c := range cs {
		if c.At+3*time.Second > fault-time.Second && c.At-time.Second < faults[0].HealedAt+2*time.Second {
			t.Errorf("control at %s overlaps the fault", c.At)
		}
		if c.Recovery != 0 {
			t.Errorf("control at %s: hold-up %s on steady traffic", c.At, c.Recovery)
		}
	}
}
