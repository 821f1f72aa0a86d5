package alarms

import "time"

// Clock is the Manager's only source of time: debounce, shelving expiry,
// restart grace and every timestamp go through it. SystemClock is the real
// one. sctptest.FakeClock has the same
// shape: a test adapts it with a one-line AfterFunc wrapper.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once d has elapsed, in its own goroutine (real
	// clock) or from Advance (FakeClock).
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call. *time.Timer implements it.
type Timer interface {
	// Stop prevents the call if it has not happened yet.
	Stop() bool
}

// SystemClock is the wall clock.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time                            { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
