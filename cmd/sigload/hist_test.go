package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	// every value lies in its bucket, buckets are contiguous and the width
	// is at most 1/64 of the value
	prevHigh := int64(-1)
	for i := 0; i < histBuckets-1; i++ {
		hi := bucketHigh(i)
		lo := uint64(prevHigh + 1)
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d: [%d,%d] maps to %d,%d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		if lo >= subCount && float64(hi-lo+1) > float64(lo)/64+1e-9 {
			t.Fatalf("bucket %d [%d,%d] too wide", i, lo, hi)
		}
		prevHigh = int64(hi)
	}
	if bucketOf(1<<62) != histBuckets-1 {
		t.Fatal("huge values do not land in the last bucket")
	}
}

func TestHistogramExactSmall(t *testing.T) {
	var h Histogram
	for v := 1; v <= 50; v++ {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 25 * time.Microsecond}, {0.9, 45 * time.Microsecond}, {1, 50 * time.Microsecond}, {0, time.Microsecond}} {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("q%.2f = %v, want %v", c.q, got, c.want)
		}
	}
	if h.Count() != 50 || h.Min() != time.Microsecond || h.Max() != 50*time.Microsecond || h.Mean() != 25*time.Microsecond {
		t.Fatalf("count %d min %v max %v mean %v", h.Count(), h.Min(), h.Max(), h.Mean())
	}
	var empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 {
		t.Fatal("empty histogram")
	}
}

// Against a sorted sample: every quantile is at or above the true one and
// within 1/64 of it.
func TestHistogramAgainstSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]uint64, 100000)
	for i := range vals {
		// log-normal-ish spread from microseconds to seconds
		v := uint64(r.ExpFloat64() * float64(uint64(1)<<uint(r.IntN(20))))
		vals[i] = v
		h.Record(time.Duration(v) * time.Microsecond)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		rank := int(q*float64(len(vals))+0.999999) - 1
		want := vals[rank]
		got := uint64(h.Quantile(q) / time.Microsecond)
		if got < want || float64(got-want) > float64(want)/64+1 {
			t.Errorf("q%v: got %d, true %d", q, got, want)
		}
	}
	var a, b Histogram
	for i, v := range vals {
		if i%2 == 0 {
			a.Record(time.Duration(v) * time.Microsecond)
		} else {
			b.Record(time.Duration(v) * time.Microsecond)
		}
	}
	a.Merge(&b)
	if a != h {
		t.Fatal("merged halves differ from the whole")
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	d := time.Duration(0)
	for b.Loop() {
		d += 7 * time.Microsecond
		h.Record(d % time.Second)
	}
}
