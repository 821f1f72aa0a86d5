package system

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// SendAt is one network message of a dialogue: the gateway association
// sigload sent it on (1 = gw1, 2 = gw2; 0 unknown) and when.
type SendAt struct {
	Assoc int
	T     time.Duration
}

// Dialogue is one dialogue as sigload accounted for it. Times are on
// sigload's clock (from the start of its load) as parsed, on the
// harness's clock once Result holds them.
type Dialogue struct {
	OTID       string
	Begin, End time.Duration
	Outcome    string // completed, aborted, lost, notsent
	Sends      []SendAt
}

// Latency is from the Begin to the outcome.
func (d Dialogue) Latency() time.Duration { return d.End - d.Begin }

// AssocEvent is a change of one of sigload's gateway associations: "up",
// "ended", "asp-…".
type AssocEvent struct {
	Assoc int
	Event string
	T     time.Duration
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// parseDetail reads what sigload's summary says per dialogue and per
// association (lost_dialogues, assoc_events, dialogues); fields of
// another shape are left out.
func (s *Summary) parseDetail(b []byte) {
	type send struct {
		Assoc int     `json:"assoc"`
		T     float64 `json:"t"`
	}
	type dlg struct {
		OTID    string  `json:"otid"`
		Begin   float64 `json:"begin_s"`
		End     float64 `json:"end_s"`
		Outcome string  `json:"outcome"`
		Sends   []send  `json:"sends"`
	}
	conv := func(d dlg, outcome string) Dialogue {
		out := Dialogue{OTID: d.OTID, Begin: secs(d.Begin), End: secs(d.End), Outcome: outcome}
		for _, x := range d.Sends {
			out.Sends = append(out.Sends, SendAt{Assoc: x.Assoc, T: secs(x.T)})
		}
		return out
	}
	var lost struct {
		L []dlg `json:"lost_dialogues"`
	}
	if json.Unmarshal(b, &lost) == nil {
		for _, d := range lost.L {
			s.LostList = append(s.LostList, conv(d, "lost"))
		}
	}
	var ev struct {
		E []struct {
			Assoc int     `json:"assoc"`
			Event string  `json:"event"`
			T     float64 `json:"t"`
		} `json:"assoc_events"`
	}
	if json.Unmarshal(b, &ev) == nil {
		for _, e := range ev.E {
			s.AssocEvents = append(s.AssocEvents, AssocEvent{Assoc: e.Assoc, Event: e.Event, T: secs(e.T)})
		}
	}
	var all struct {
		D []dlg `json:"dialogues"`
	}
	if json.Unmarshal(b, &all) == nil {
		for _, d := range all.D {
			s.Dialogues = append(s.Dialogues, conv(d, d.Outcome))
		}
	}
}

// shift moves sigload's times onto the harness's clock.
func shiftDialogues(ds []Dialogue, off time.Duration) []Dialogue {
	out := make([]Dialogue, len(ds))
	for i, d := range ds {
		d.Begin += off
		d.End += off
		d.Sends = append([]SendAt(nil), d.Sends...)
		for j := range d.Sends {
			d.Sends[j].T += off
		}
		out[i] = d
	}
	return out
}

func shiftEvents(es []AssocEvent, off time.Duration) []AssocEvent {
	out := append([]AssocEvent(nil), es...)
	for i := range out {
		out[i].T += off
	}
	return out
}

// LostInGateway is a dialogue (lost, or aborted by its server's dialogue
// timer) whose message died inside a killed gateway.
type LostInGateway struct {
	OTID  string
	Fault string
}

// AttributeLost splits the lost dialogues (harness clock) into those lost
// inside a killed gateway and the others. A loss is the gateway kill's
// when the dialogue's last network message went on the association to
// the killed gateway (FaultResult.KilledAssoc) between a second before the
// kill and the moment sigload saw that association end (its first "ended"
// event from a second before the kill on). Without such an event nothing
// is attributed to that kill. An answer lost on its way back through the
// killed gateway cannot be told from sigload's side and is not
// attributed. The same holds for aborted dialogues: one whose network
// message died in the gateway is aborted by its server once the server's
// dialogue timer gives it up.
func AttributeLost(lost []Dialogue, events []AssocEvent, faults []FaultResult) (in []LostInGateway, other []string) {
	for _, l := range lost {
		found := false
		if n := len(l.Sends); n > 0 {
			last := l.Sends[n-1]
			for _, f := range faults {
				if f.KilledAssoc == 0 || last.Assoc != f.KilledAssoc {
					continue
				}
				from := f.At - time.Second
				end, ok := time.Duration(0), false
				for _, e := range events {
					if e.Assoc == f.KilledAssoc && e.Event == "ended" && e.T >= from && (!ok || e.T < end) {
						end, ok = e.T, true
					}
				}
				if ok && last.T >= from && last.T <= end {
					in = append(in, LostInGateway{OTID: l.OTID, Fault: f.Name})
					found = true
					break
				}
			}
		}
		if !found {
			other = append(other, l.OTID)
		}
	}
	return in, other
}

// DialogueRule computes a fault's recovery from the dialogues themselves:
// the time from the fault to the Begin of the first dialogue begun after
// it from which on every dialogue begun within Window completed normally:
// completed (not lost, aborted nor unsent) within Bound of its Begin.
// Bound is the 99.9th percentile of the latencies of the dialogues begun
// in the Before windows ending at the faults (the run's own normal); a
// fault with no such dialogue within Horizon never recovered.
type DialogueRule struct {
	Window  time.Duration // default 2 s
	Before  time.Duration // default 3 s
	Horizon time.Duration // default 8 s
}

func (r DialogueRule) withDefaults() DialogueRule {
	r.Window = orDefault(r.Window, 2*time.Second)
	r.Before = orDefault(r.Before, 3*time.Second)
	r.Horizon = orDefault(r.Horizon, 8*time.Second)
	return r
}

// orDefault is d, or def when d is not positive.
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Definition is the rule in words, with its numbers.
func (r DialogueRule) Definition(bound time.Duration) string {
	r = r.withDefaults()
	return fmt.Sprintf("recovery time = from the fault to the Begin of the first dialogue begun after it from which on every dialogue begun within %s "+
		"completed within %s (p99.9 latency of the dialogues begun in the %s before each fault); never if none within %s",
		r.Window, bound.Round(time.Millisecond), r.Before, r.Horizon)
}

// Bound is the latency a normal dialogue completes within: the 99.9th
// percentile over the completed dialogues begun in the Before windows
// that end at the faults (0 without any).
func (r DialogueRule) Bound(ds []Dialogue, faults []FaultResult) time.Duration {
	r = r.withDefaults()
	var lat []time.Duration
	for _, d := range ds {
		if d.Outcome != "completed" {
			continue
		}
		for _, f := range faults {
			if d.Begin >= f.At-r.Before && d.Begin < f.At {
				lat = append(lat, d.Latency())
				break
			}
		}
	}
	if len(lat) == 0 {
		return 0
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	i := int(0.999*float64(len(lat)) + 0.5)
	return lat[min(max(i-1, 0), len(lat)-1)]
}

// Recovery is the rule's recovery time for a fault at t (ds sorted by
// Begin, harness clock). It fails when the dialogues do not reach t +
// Horizon + Window.
func (r DialogueRule) Recovery(ds []Dialogue, t, bound time.Duration) (time.Duration, error) {
	r = r.withDefaults()
	if bound <= 0 {
		return 0, fmt.Errorf("no normal latency to compare with (no dialogue completed before the faults)")
	}
	if len(ds) == 0 || ds[len(ds)-1].Begin < t+r.Window {
		return 0, fmt.Errorf("the dialogues end before %s", t+r.Window)
	}
	normal := func(d Dialogue) bool { return d.Outcome == "completed" && d.Latency() <= bound }
	i0 := sort.Search(len(ds), func(i int) bool { return ds[i].Begin >= t })
	for i := i0; i < len(ds) && ds[i].Begin < t+r.Horizon; i++ {
		if ds[len(ds)-1].Begin < ds[i].Begin+r.Window {
			return 0, fmt.Errorf("the dialogues end within %s of %s", r.Window, ds[i].Begin)
		}
		ok := true
		for j := i; j < len(ds) && ds[j].Begin < ds[i].Begin+r.Window; j++ {
			if !normal(ds[j]) {
				ok = false
				break
			}
		}
		if ok {
			return ds[i].Begin - t, nil
		}
	}
	return NotRecovered, nil
}

// Controls applies the rule at up to n whole-second instants whose
// Window, with a second either side, overlaps no fault (from a second
// before it to 2 s after its repair) and lies within the dialogues: its
// noise floor.
func (r DialogueRule) Controls(ds []Dialogue, faults []FaultResult, bound time.Duration, n int) []Control {
	r = r.withDefaults()
	var out []Control
	for _, t := range controlInstants(ds, faults, r.Before, r.Window, n) {
		if rec, err := r.Recovery(ds, t, bound); err == nil {
			out = append(out, Control{At: t, Recovery: rec})
		}
	}
	return out
}

// HoldUpRule computes how long a fault held traffic up: the time until
// traffic flowed again. Every dialogue still open at the fault or begun
// within Window after it, and answered (completed, or aborted: a
// TC-ABORT is an answer), took some time beyond the normal latency (the
// median of the dialogues begun in the Before window ending at the fault);
// the fault's hold-up is the longest such extra time. A message the fault
// stopped (in a dead process, on a dead path, queued for an element not
// yet out of selection) is held until it is re-sent, re-routed or
// retransmitted elsewhere, and its dialogue's latency grows by that
// much; traffic that merely runs slower afterwards (one gateway carrying
// both gateways' load) adds only its slowdown. A dialogue among them that
// was lost or not sent never flowed: the fault never recovered
// (NotRecovered). The caller may excuse dialogues, which are then left
// out: those whose message died inside a killed gateway, lost or aborted
// by the server's dialogue timer long after (AttributeLost), counted by
// the completed-share target instead.
type HoldUpRule struct {
	Window time.Duration // default 2 s
	Before time.Duration // default 3 s
}

func (r HoldUpRule) withDefaults() HoldUpRule {
	r.Window = orDefault(r.Window, 2*time.Second)
	r.Before = orDefault(r.Before, 3*time.Second)
	return r
}

// Definition is the rule in words, with its numbers.
func (r HoldUpRule) Definition() string {
	r = r.withDefaults()
	return fmt.Sprintf("traffic held up (the time until traffic flowed again) = the longest time beyond the normal latency "+
		"(median of the dialogues begun in the %s before the fault) that a dialogue open at the fault or begun within %s after it "+
		"took to be answered (completed or aborted)", r.Before, r.Window)
}

// HoldUp is what the rule found for one fault.
type HoldUp struct {
	Time time.Duration // the hold-up; 0 when no dialogue took longer than normal, NotRecovered
	// Normal is the median latency before the fault; Caught the number of
	// dialogues the rule looked at; Worst the one held longest (Latency()
	// = Normal + Time), zero when Time is 0.
	Normal time.Duration
	Caught int
	Worst  Dialogue
}

// HoldUp applies the rule to a fault at t (ds on the harness's clock, in
// any order); excused names the dialogues (by OTID) left out. It fails without a completed dialogue in the
// Before window, or when the dialogues end before t + Window.
func (r HoldUpRule) HoldUp(ds []Dialogue, t time.Duration, excused map[string]bool) (HoldUp, error) {
	r = r.withDefaults()
	var pre []time.Duration
	last := time.Duration(-1 << 62)
	for _, d := range ds {
		last = max(last, d.Begin)
		if d.Outcome == "completed" && d.Begin >= t-r.Before && d.Begin < t {
			pre = append(pre, d.Latency())
		}
	}
	if len(pre) == 0 {
		return HoldUp{}, fmt.Errorf("no dialogue begun in the %s before %s completed: no normal latency", r.Before, t)
	}
	if last < t+r.Window {
		return HoldUp{}, fmt.Errorf("the dialogues end before %s", t+r.Window)
	}
	sort.Slice(pre, func(i, j int) bool { return pre[i] < pre[j] })
	h := HoldUp{Normal: pre[len(pre)/2]}
	for _, d := range ds {
		answered := d.Outcome == "completed" || d.Outcome == "aborted"
		if d.Begin >= t+r.Window || (answered && d.End <= t) || (!answered && d.End < t) || excused[d.OTID] {
			continue
		}
		h.Caught++
		if !answered {
			if h.Time != NotRecovered {
				h.Time, h.Worst = NotRecovered, d
			}
			continue
		}
		if x := d.Latency() - h.Normal; h.Time != NotRecovered && x > h.Time {
			h.Time, h.Worst = x, d
		}
	}
	return h, nil
}

// controlInstants are up to n whole-second instants whose span (a second
// before, through span and a second after) overlaps no fault (from a
// second before it to 2 s after its repair) and lies within the
// dialogues, from before after their first Begin on.
func controlInstants(ds []Dialogue, faults []FaultResult, before, span time.Duration, n int) []time.Duration {
	if len(ds) == 0 || n <= 0 {
		return nil
	}
	lo, hi := ds[0].Begin, ds[0].Begin
	for _, d := range ds {
		lo, hi = min(lo, d.Begin), max(hi, d.Begin)
	}
	var cand []time.Duration
	for t := (lo + before + time.Second - 1).Truncate(time.Second); t+span+time.Second <= hi; t += time.Second {
		clear := true
		for _, f := range faults {
			if t-time.Second < f.HealedAt+2*time.Second && t+span+time.Second > f.At-time.Second {
				clear = false
				break
			}
		}
		if clear {
			cand = append(cand, t)
		}
	}
	if len(cand) <= n {
		return cand
	}
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = cand[i*(len(cand)-1)/max(1, n-1)]
	}
	return out
}

// Controls applies the rule at up to n instants with no fault near them:
// the hold-up the load's own jitter shows.
func (r HoldUpRule) Controls(ds []Dialogue, faults []FaultResult, n int) []Control {
	r = r.withDefaults()
	var out []Control
	for _, t := range controlInstants(ds, faults, r.Before, r.Window, n) {
		if h, err := r.HoldUp(ds, t, nil); err == nil {
			out = append(out, Control{At: t, Recovery: h.Time})
		}
	}
	return out
}
