package system

import (
	"testing"
)

// The parsers read another program's output: whatever it prints, they
// must not panic, and what they return must be self-consistent.
func FuzzParseProgress(f *testing.F) {
	f.Add("t=3.0s offered=300 completed=297 aborted=0 lost=0 notsent=0 inflight=3 rate=100/s p50=1.92ms p99=4.10ms")
	f.Add(`{"elapsed_ms": 2100, "offered": 210, "completed": 200}`)
	f.Add("sigload: summary")
	f.Fuzz(func(t *testing.T, line string) {
		s, own, hasOwn, ok := ParseProgress(line)
		if !hasOwn && own != 0 {
			t.Errorf("own clock %s without hasOwn", own)
		}
		if !ok && s.Completed != 0 {
			t.Errorf("completed %d in a line not taken for progress", s.Completed)
		}
		s2, own2, _, ok2 := ParseProgress(line)
		if s2 != s || own2 != own || ok2 != ok {
			t.Errorf("two readings of %q differ: %+v %s %v, then %+v %s %v", line, s, own, ok, s2, own2, ok2)
		}
	})
}

func FuzzParseSummary(f *testing.F) {
	f.Add([]byte(`{"offered": 6000, "completed": 5995, "aborted": 5, "abort_causes": {"p-abort:x": 5}, "latency_us": {"p50": 3500, "p999": 41250}}`))
	f.Add([]byte(`{"completed": 1, "seconds": [{"t": 1, "completed": 1}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"completed": 8, "lost": 2, "lost_dialogues": [{"otid": "0000002a", "begin_s": 12.25}, {"otid": "00000031"}, 7]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSummary(b)
		if err == nil && s == nil {
			t.Error("nil summary without an error")
		}
		if err != nil && s != nil {
			t.Error("a summary with an error")
		}
		if err == nil {
			s2, _ := ParseSummary(b)
			if s2.Offered != s.Offered || s2.Completed != s.Completed || s2.P99 != s.P99 || s2.Lost != s.Lost {
				t.Errorf("two readings differ: %+v then %+v", s, s2)
			}
			if len(s.LostTIDs) != len(s.LostAt) || len(s2.LostTIDs) != len(s.LostTIDs) {
				t.Errorf("lost dialogues: %d ids, %d times, then %d ids", len(s.LostTIDs), len(s.LostAt), len(s2.LostTIDs))
			}
		}
	})
}
