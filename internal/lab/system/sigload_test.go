package system

import (
	"testing"
	"time"
)

func TestParseProgressText(t *testing.T) {
	s, own, hasOwn, ok := ParseProgress("t=12.5s offered=1250 completed=1200 aborted=3 lost=0 in-flight=47 rate=100.0/s p50=4.1ms")
	if !ok || !hasOwn {
		t.Fatalf("not read as progress: ok %v, own clock %v", ok, hasOwn)
	}
	if s.Offered != 1250 || s.Completed != 1200 || s.Aborted != 3 || s.InFlight != 47 || own != 12500*time.Millisecond || s.P99 != 0 {
		t.Errorf("sample %+v at %s", s, own)
	}
	if _, _, _, ok := ParseProgress("sigload: connected to 10.1.0.1:2905"); ok {
		t.Error("a line without a completed count was read as progress")
	}
}

func TestParseProgressJSON(t *testing.T) {
	s, own, hasOwn, ok := ParseProgress(`{"elapsed_ms": 2100, "offered": 210, "completed": 200, "not_sent": 2, "inflight": 8}`)
	if !ok || !hasOwn || own != 2100*time.Millisecond || s.Completed != 200 || s.NotSent != 2 || s.InFlight != 8 {
		t.Errorf("sample %+v at %s (ok %v, own %v)", s, own, ok, hasOwn)
	}
	if _, _, _, ok := ParseProgress(`{"offered": 3`); ok {
		t.Error("truncated JSON read as progress")
	}
}

func TestParseSummary(t *testing.T) {
	s, err := ParseSummary([]byte(`{"offered": 6000, "completed": 5995, "aborted": 5, "lost": 0, "not_sent": 0,
		"abort_causes": {"unrecognizedTransactionID": 5},
		"latency_ms": {"p50": 3.5, "p99": 20, "p999": 41.25, "max": 80}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Offered != 6000 || s.Completed != 5995 || s.Aborted != 5 || s.AbortCauses["unrecognizedTransactionID"] != 5 {
		t.Errorf("counts %+v", s)
	}
	if s.P50 != 3500*time.Microsecond || s.P999 != 41250*time.Microsecond || s.Max != 80*time.Millisecond {
		t.Errorf("latencies p50 %s p99.9 %s max %s", s.P50, s.P999, s.Max)
	}
	if len(s.LostTIDs) != 0 {
		t.Errorf("lost TIDs %v from a summary without any", s.LostTIDs)
	}
	// cmd/sigload's list of lost dialogues
	s, err = ParseSummary([]byte(`{"offered": 10, "completed": 8, "lost": 2, "lost_dialogues": [
		{"otid": "0000002a", "begin_s": 12.25, "sls": 3, "answered": false, "rounds": 0, "resends": 1},
		{"otid": "00000031", "begin_s": 30.5, "sls": 4, "answered": true, "peer": "ab000001", "rounds": 1, "resends": 0}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Lost != 2 || len(s.LostTIDs) != 2 || s.LostTIDs[0] != "0000002a" || s.LostTIDs[1] != "00000031" || s.LostAt[1] != 30.5 {
		t.Errorf("lost %d: %v at %v", s.Lost, s.LostTIDs, s.LostAt)
	}
	if _, err := ParseSummary([]byte(`{"offered": 1}`)); err == nil {
		t.Error("a summary without a completed count was accepted")
	}
}

// Lines that arrived late (1.5 s for the second) are placed by sigload's
// own clock, shifted by the smallest arrival delay.
func TestRetime(t *testing.T) {
	s := []Sample{{At: 1200 * time.Millisecond}, {At: 3600 * time.Millisecond}, {At: 3700 * time.Millisecond}}
	own := []time.Duration{1000 * time.Millisecond, 2000 * time.Millisecond, 3000 * time.Millisecond}
	got := retime(s, own, true)
	for i, want := range []time.Duration{1200 * time.Millisecond, 2200 * time.Millisecond, 3200 * time.Millisecond} {
		if got[i].At != want {
			t.Errorf("sample %d at %s; want %s", i, got[i].At, want)
		}
	}
	plain := []Sample{{At: time.Second}}
	if retime(plain, []time.Duration{0}, false)[0].At != time.Second {
		t.Error("samples without sigload's clock were moved")
	}
}

func TestParseProgressSigloadLine(t *testing.T) {
	// The line cmd/sigload's package doc shows.
	s, own, hasOwn, ok := ParseProgress("t=3.000s offered=300 completed=297 aborted=0 lost=0 notsent=0 inflight=3 rate=100/s p50=1.92ms p99=4.10ms")
	if !ok || !hasOwn || own != 3*time.Second {
		t.Fatalf("ok %v, own %v %s", ok, hasOwn, own)
	}
	if s.Offered != 300 || s.Completed != 297 || s.InFlight != 3 || s.P99 != 4100*time.Microsecond {
		t.Errorf("sample %+v", s)
	}
}
