package system

import (
	"strings"
	"testing"
	"time"
)

// series builds samples every step from 0 to end, with completions at
// rate(t) dialogues/s integrated step by step.
func series(step, end time.Duration, rate func(t time.Duration) float64) []Sample {
	var out []Sample
	c := 0.0
	for t := step; t <= end; t += step {
		c += rate(t-step) * step.Seconds()
		out = append(out, Sample{At: t, Completed: uint64(c + 0.5), Offered: uint64(c + 0.5)})
	}
	return out
}

func TestRecoveryNoDip(t *testing.T) {
	s := series(50*time.Millisecond, 20*time.Second, func(time.Duration) float64 { return 200 })
	rec, pre, err := RecoveryRule{}.Recovery(s, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rec != 0 {
		t.Errorf("recovery %s with a flat rate; want 0", rec)
	}
	if pre < 199 || pre > 201 {
		t.Errorf("pre-fault rate %.1f; want 200", pre)
	}
}

func TestRecoveryOutage(t *testing.T) {
	// Nothing completes from 10.0 s to 10.35 s, then a catch-up burst and
	// the steady rate again.
	fault := 10 * time.Second
	s := series(50*time.Millisecond, 20*time.Second, func(t time.Duration) float64 {
		switch {
		case t >= fault && t < fault+350*time.Millisecond:
			return 0
		case t >= fault+350*time.Millisecond && t < fault+450*time.Millisecond:
			return 900
		}
		return 200
	})
	rec, _, err := RecoveryRule{}.Recovery(s, fault)
	if err != nil {
		t.Fatal(err)
	}
	// Buckets of 100 ms from the fault: [0,100) [100,200) [200,300) are
	// empty, [300,400) holds 50 ms of 900/s = 45 ≥ 18: the last short one
	// ends at 300 ms.
	if rec != 300*time.Millisecond {
		t.Errorf("recovery %s; want 300ms", rec)
	}
}

func TestRecoveryPartialDip(t *testing.T) {
	// One server of six dies: 5/6 of the rate for 700 ms. 5/6 < 90 %: short.
	fault := 8 * time.Second
	s := series(100*time.Millisecond, 16*time.Second, func(t time.Duration) float64 {
		if t >= fault && t < fault+700*time.Millisecond {
			return 600 * 5 / 6
		}
		return 600
	})
	rec, _, err := RecoveryRule{}.Recovery(s, fault)
	if err != nil {
		t.Fatal(err)
	}
	if rec != 700*time.Millisecond {
		t.Errorf("recovery %s; want 700ms", rec)
	}
	// With a 80 % threshold the same dip is not short at all.
	rec, _, err = RecoveryRule{Threshold: 0.8}.Recovery(s, fault)
	if err != nil {
		t.Fatal(err)
	}
	if rec != 0 {
		t.Errorf("recovery %s at an 80%% threshold; want 0", rec)
	}
}

func TestRecoveryNever(t *testing.T) {
	fault := 5 * time.Second
	s := series(100*time.Millisecond, 12*time.Second, func(t time.Duration) float64 {
		if t >= fault {
			return 50
		}
		return 100
	})
	rec, _, err := RecoveryRule{}.Recovery(s, fault)
	if err != nil {
		t.Fatal(err)
	}
	if rec != NotRecovered {
		t.Errorf("recovery %s with the rate halved for good; want NotRecovered", rec)
	}
}

func TestRecoveryCoarseSamples(t *testing.T) {
	// Samples every second cannot resolve a 200 ms outage: the completions
	// missing are spread over the whole second, which is then short
	// throughout (800 of 1000 expected < 90 %).
	fault := 10 * time.Second
	s := series(time.Millisecond, 20*time.Second, func(t time.Duration) float64 {
		if t >= fault && t < fault+200*time.Millisecond {
			return 0
		}
		return 1000
	})
	var coarse []Sample
	for _, x := range s {
		if x.At%time.Second == 0 {
			coarse = append(coarse, x)
		}
	}
	fine, _, err := RecoveryRule{}.Recovery(s, fault)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := RecoveryRule{}.Recovery(coarse, fault)
	if err != nil {
		t.Fatal(err)
	}
	if fine != 200*time.Millisecond || got != time.Second {
		t.Errorf("recovery %s from 1 ms samples, %s from 1 s samples; want 200ms and 1s", fine, got)
	}
}

func TestRecoveryErrors(t *testing.T) {
	s := series(100*time.Millisecond, 6*time.Second, func(time.Duration) float64 { return 100 })
	if _, _, err := (RecoveryRule{}).Recovery(s, time.Second); err == nil {
		t.Error("a fault 1 s into the load has no 3 s pre-fault window; want an error")
	}
	if _, _, err := (RecoveryRule{}).Recovery(s, 4*time.Second); err == nil {
		t.Error("samples end 2 s after the fault, before the 4 s horizon; want an error")
	}
	idle := series(100*time.Millisecond, 12*time.Second, func(time.Duration) float64 { return 0 })
	if _, _, err := (RecoveryRule{}).Recovery(idle, 5*time.Second); err == nil {
		t.Error("no completion before the fault; want an error")
	}
}

func TestRecoveryDefinitionNamesItsNumbers(t *testing.T) {
	d := RecoveryRule{Bucket: 50 * time.Millisecond, Threshold: 0.75}.Definition()
	for _, want := range []string{"50ms", "75%", "3s", "4s"} {
		if !strings.Contains(d, want) {
			t.Errorf("definition %q does not mention %s", d, want)
		}
	}
}

func TestSampleInterval(t *testing.T) {
	s := series(250*time.Millisecond, 5*time.Second, func(time.Duration) float64 { return 10 })
	s[3].At += 600 * time.Millisecond // one late line does not move the median
	if got := SampleInterval(s); got != 250*time.Millisecond {
		t.Errorf("interval %s; want 250ms", got)
	}
	if SampleInterval(s[:1]) != 0 {
		t.Error("one sample has no interval")
	}
}

func TestRecoveryControls(t *testing.T) {
	flat := series(100*time.Millisecond, 40*time.Second, func(time.Duration) float64 { return 100 })
	faults := []FaultResult{{At: 10 * time.Second, HealedAt: 14 * time.Second}, {At: 30 * time.Second, HealedAt: 32 * time.Second}}
	cs := RecoveryRule{}.Controls(flat, faults, 3)
	if len(cs) != 3 {
		t.Fatalf("controls %+v; want 3", cs)
	}
	for _, c := range cs {
		for _, f := range faults {
			if c.At-3*time.Second < f.HealedAt+2*time.Second && c.At+4*time.Second > f.At {
				t.Errorf("control at %s overlaps the fault at %s", c.At, f.At)
			}
		}
		if c.Recovery != 0 {
			t.Errorf("control at %s: recovery %s on a flat series", c.At, c.Recovery)
		}
		if c.At-3*time.Second < flat[0].At {
			t.Errorf("control at %s: its pre-fault window starts before the samples", c.At)
		}
	}
	// 20 dialogues/s completing in bursts (none in one 100 ms step of
	// every 4, caught up in the next): short buckets without a fault.
	bursty := series(100*time.Millisecond, 40*time.Second, func(t time.Duration) float64 {
		switch (t / (100 * time.Millisecond)) % 4 {
		case 0:
			return 0
		case 1:
			return 40
		}
		return 20
	})
	for _, c := range (RecoveryRule{}).Controls(bursty, faults, 3) {
		if c.Recovery == 0 {
			t.Errorf("control at %s: bursty series shows no short bucket", c.At)
		}
	}
}
