package system

import (
	"fmt"
	"slices"
	"time"
)

// Sample is the load generator's running count at one instant: cumulative
// dialogue counters since the load started, At measured from the start.
type Sample struct {
	At        time.Duration
	Offered   uint64
	Completed uint64
	Aborted   uint64
	Lost      uint64
	NotSent   uint64
	InFlight  uint64
	// P99 is the 99th percentile latency of the dialogues completed since
	// the previous sample (0: not reported).
	P99 time.Duration
}

// RecoveryRule says how a fault's recovery time is computed from the
// completion series. The definition, printed with every summary (see
// Definition):
//
// The pre-fault rate R is the mean rate of completed dialogues over the
// Before window that ends at the fault. The series after the fault is cut
// into consecutive buckets of Bucket, the first starting at the fault. A
// bucket is short when fewer dialogues completed in it than Threshold × R
// × Bucket. The recovery time is the end of the last short bucket that
// starts within Horizon of the fault, measured from the fault; 0 when no
// bucket is short. A fault whose last bucket within Horizon is still short
// never recovered (NotRecovered).
//
// Completions between two samples are spread evenly over the interval
// (linear interpolation of the cumulative count), so buckets finer than
// the sampling interval cannot show a dip finer than that interval: the
// sampling interval must be well under the bound the result is held to.
type RecoveryRule struct {
	Before    time.Duration // window of the pre-fault rate (default 3 s)
	Bucket    time.Duration // width of the post-fault buckets (default 100 ms)
	Threshold float64       // fraction of the pre-fault rate (default 0.9)
	Horizon   time.Duration // how long after the fault to look (default 4 s)
}

// NotRecovered is the recovery time of a fault whose completion rate was
// still short at the end of the horizon.
const NotRecovered = time.Duration(-1)

func (r RecoveryRule) withDefaults() RecoveryRule {
	r.Before = orDefault(r.Before, 3*time.Second)
	r.Bucket = orDefault(r.Bucket, 100*time.Millisecond)
	if r.Threshold <= 0 {
		r.Threshold = 0.9
	}
	r.Horizon = orDefault(r.Horizon, 4*time.Second)
	return r
}

// Definition is the rule in words, with its numbers.
func (r RecoveryRule) Definition() string {
	r = r.withDefaults()
	return fmt.Sprintf("recovery time = from the fault to the end of the last %s bucket, among those starting within %s of the fault, "+
		"in which fewer dialogues completed than %.0f%% of the pre-fault rate (mean completions/s over the %s before the fault); "+
		"0 if no bucket fell short, never if the last one still did",
		r.Bucket, r.Horizon, r.Threshold*100, r.Before)
}

// completedAt is the cumulative completed count at t, interpolated
// linearly between samples; before the first sample it is the first
// sample's count scaled from zero at t=0, after the last one the last
// count. ok is false when t lies after the last sample.
func completedAt(s []Sample, t time.Duration) (float64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	if t > s[len(s)-1].At {
		return float64(s[len(s)-1].Completed), false
	}
	prevAt, prevC := time.Duration(0), 0.0
	for _, x := range s {
		if t <= x.At {
			if x.At == prevAt {
				return float64(x.Completed), true
			}
			f := float64(t-prevAt) / float64(x.At-prevAt)
			return prevC + f*(float64(x.Completed)-prevC), true
		}
		prevAt, prevC = x.At, float64(x.Completed)
	}
	return prevC, true
}

// RateBetween is the mean completion rate (dialogues/s) over [a, b).
func RateBetween(s []Sample, a, b time.Duration) (float64, error) {
	if b <= a {
		return 0, fmt.Errorf("empty window [%s, %s)", a, b)
	}
	ca, okA := completedAt(s, a)
	cb, okB := completedAt(s, b)
	if !okA || !okB {
		return 0, fmt.Errorf("window [%s, %s) reaches past the last sample", a, b)
	}
	return (cb - ca) / (b - a).Seconds(), nil
}

// Recovery computes the recovery time of a fault at t by the rule, and the
// pre-fault rate it compared against. It fails when the series does not
// cover the pre-fault window and the horizon, or the pre-fault rate is
// zero (nothing to recover to).
func (r RecoveryRule) Recovery(s []Sample, fault time.Duration) (rec time.Duration, preRate float64, err error) {
	r = r.withDefaults()
	start := fault - r.Before
	if start < 0 {
		return 0, 0, fmt.Errorf("fault at %s: less than %s of load before it", fault, r.Before)
	}
	preRate, err = RateBetween(s, start, fault)
	if err != nil {
		return 0, 0, fmt.Errorf("pre-fault rate: %w", err)
	}
	if preRate <= 0 {
		return 0, 0, fmt.Errorf("fault at %s: no dialogue completed in the %s before it", fault, r.Before)
	}
	if len(s) == 0 || s[len(s)-1].At < fault+r.Horizon {
		return 0, preRate, fmt.Errorf("fault at %s: the samples end before the %s horizon", fault, r.Horizon)
	}
	want := r.Threshold * preRate * r.Bucket.Seconds()
	rec = 0
	lastShort := false
	for b := fault; b < fault+r.Horizon; b += r.Bucket {
		c0, _ := completedAt(s, b)
		c1, _ := completedAt(s, b+r.Bucket)
		lastShort = c1-c0 < want
		if lastShort {
			rec = b + r.Bucket - fault
		}
	}
	if lastShort {
		return NotRecovered, preRate, nil
	}
	return rec, preRate, nil
}

// SampleInterval is the median time between two consecutive samples: the
// resolution of anything computed from them (0 with fewer than two).
func SampleInterval(s []Sample) time.Duration {
	if len(s) < 2 {
		return 0
	}
	d := make([]time.Duration, 0, len(s)-1)
	for i := 1; i < len(s); i++ {
		d = append(d, s[i].At-s[i-1].At)
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// Control is the recovery rule applied at an instant with no fault near
// it: what the rule reports from the load's own noise.
type Control struct {
	At       time.Duration
	Recovery time.Duration // NotRecovered: "never"
}

// Controls applies the rule at up to n instants, whole seconds from the
// start, whose pre-fault window lies within the samples and, with the
// horizon, overlaps no fault (from each
// fault to 2 s after its repair). A rule that reports a recovery at such
// an instant measures the noise of the completion series, not a fault: at
// a low rate, buckets of 100 ms hold a few dialogues each and one late
// completion makes a bucket short.
func (r RecoveryRule) Controls(s []Sample, faults []FaultResult, n int) []Control {
	r = r.withDefaults()
	if len(s) == 0 || n <= 0 {
		return nil
	}
	var cand []time.Duration
	// From a whole second after the first sample's pre-fault window: the
	// samples start with the load, the rate before it is not the load's.
	first := (s[0].At + r.Before + time.Second - 1).Truncate(time.Second)
	for t := first; t+r.Horizon <= s[len(s)-1].At; t += time.Second {
		clear := true
		for _, f := range faults {
			if t-r.Before < f.HealedAt+2*time.Second && t+r.Horizon > f.At {
				clear = false
				break
			}
		}
		if clear {
			cand = append(cand, t)
		}
	}
	var out []Control
	for i := 0; i < n && i < len(cand); i++ {
		t := cand[i*(len(cand)-1)/max(1, n-1)]
		if len(cand) < n {
			t = cand[i]
		}
		rec, _, err := r.Recovery(s, t)
		if err != nil {
			continue
		}
		out = append(out, Control{At: t, Recovery: rec})
	}
	return out
}
