package rserpool

import (
	"testing"
	"time"
)

// TestDefaults pins the defaults documented in the table of doc.go.
func TestDefaults(t *testing.T) {
	pe := NewPE(PEConfig{}).cfg
	pu := NewPU(PUConfig{}).cfg
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"T1", pu.Request, 250 * time.Millisecond},
		{"PU retries", pu.Retries, 2},
		{"PE retries", pe.Retries, 2},
		{"T2", pe.Registration, 500 * time.Millisecond},
		{"T3", pe.Deregistration, 500 * time.Millisecond},
		{"T4", pe.Reregistration, 5 * time.Second},
		{"life", pe.Life, 15 * time.Second},
		{"load step", pe.LoadStep, uint32(MaxLoad / 20)},
		{"T5", pe.Hunt.Timeout, 500 * time.Millisecond},
		{"backoff min", pe.Hunt.BackoffMin, 100 * time.Millisecond},
		{"backoff max", pe.Hunt.BackoffMax, 2 * time.Second},
		{"announces", pe.Hunt.Announces, false},
		{"announce timeout", pe.Hunt.AnnounceTimeout, 5 * time.Second},
		{"MaxHResItems", pu.MaxHResItems, uint32(3)},
		{"stale cache", pu.StaleCache, time.Duration(0)},
		{"failed hold", pu.FailedHold, 5 * time.Second},
		{"queued reports", pu.MaxQueuedReports, 64},
		{"keep-alive", DefaultEndpointKeepAlive, time.Second},
		{"keep-alive timeout", DefaultEndpointKeepAliveTimeout, time.Second},
		{"MAX-BAD-PE-REPORT", DefaultMaxBadPEReports, 3},
		{"send timeout", newEngine(DriverConfig{}, NewPU(PUConfig{}), 0).cfg.SendTimeout, time.Second},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, doc.go says %v", c.name, c.got, c.want)
		}
	}
	// Retries -1 means none; a life shorter than T4 is the caller's choice.
	if r := NewPE(PEConfig{Retries: -1}).cfg.Retries; r != 0 {
		t.Errorf("Retries -1 gives %d", r)
	}
}
