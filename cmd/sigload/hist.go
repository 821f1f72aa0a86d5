package main

import (
	"math"
	"math/bits"
	"time"
)

// Histogram counts latencies in microseconds in logarithmic buckets with
// linear sub-buckets, the layout of an HDR histogram: values below 64 µs
// each have their own bucket; above, every power of two is split into 64
// equal buckets, so a quantile is reported at most 1/64 (1.6 %) above the
// true value. Values of 2^46 µs (over two years) and more land in the last
// bucket.
// The zero Histogram is empty and ready; it is not safe for concurrent use.
type Histogram struct {
	counts   [histBuckets]uint64
	n        uint64
	sum      uint64
	min, max uint64
}

const (
	subBits     = 6
	subCount    = 1 << subBits // 64
	maxExp      = 40
	histBuckets = subCount + maxExp*subCount
)

// bucketOf returns the bucket index of v (µs).
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // v >> e is in [64, 128)
	if e >= maxExp {
		return histBuckets - 1
	}
	return subCount + e*subCount + int(v>>e) - subCount
}

// bucketHigh is the largest value bucket i holds.
func bucketHigh(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	e := (i - subCount) / subCount
	sub := uint64((i-subCount)%subCount + subCount)
	return (sub+1)<<e - 1
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d / time.Microsecond)
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Quantile returns the value at quantile q (0..1): the upper end of the
// bucket holding the ceil(q·n)-th smallest value, never above the largest
// value recorded. It is 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	if rank > h.n {
		rank = h.n
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketHigh(i), h.max)) * time.Microsecond
		}
	}
	return time.Duration(h.max) * time.Microsecond
}

// Max and Min are the extreme values recorded; Mean their average.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) * time.Microsecond }
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/h.n) * time.Microsecond
}

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }
