package main

import (
	"testing"
	"time"
)

func TestTickFor(t *testing.T) {
	for _, c := range []struct {
		rate float64
		want time.Duration
	}{
		{0, 10 * time.Millisecond},
		{20, 10 * time.Millisecond},  // 50 ms between Begins
		{200, 5 * time.Millisecond},  // one Begin a tick
		{5000, 2 * time.Millisecond}, // ten a tick
		{0.5, 10 * time.Millisecond},
	} {
		if got := tickFor(c.rate); got != c.want {
			t.Errorf("tickFor(%v) = %s; want %s", c.rate, got, c.want)
		}
	}
}
