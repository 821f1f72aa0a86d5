package gateway

import (
	"sync"
	"sync/atomic"
	"time"
)

// inputQueue is the loop's bounded FIFO. Readers that find it full wait
// (back-pressure: their association stops being read, and SCTP's flow control
// slows the peer) for a bounded time, then the message is discarded and
// counted. Two kinds of push never wait: state changes (few, never dropped)
// and pushes while the loop itself is calling into the M3UA layer, which may
// deliver events on the loop's own goroutine; these may overfill the queue
// up to twice its bound. One FIFO for all keeps every association's inputs in
// order.
type inputQueue struct {
	mu      sync.Mutex
	items   []input
	max     int
	notFull chan struct{} // closed and replaced when the loop takes items
	ready   chan struct{} // capacity 1: wakes the loop
	looping atomic.Bool   // the loop is calling into the M3UA layer
	depth   atomic.Int64
	full    atomic.Uint64
}

func newInputQueue(max int) *inputQueue {
	return &inputQueue{max: max, notFull: make(chan struct{}), ready: make(chan struct{}, 1)}
}

// push appends it; must pushes never wait nor fail. It reports whether the
// input was taken.
func (q *inputQueue) push(it input, must bool, wait time.Duration, stop <-chan struct{}) bool {
	var deadline *time.Timer
	for {
		q.mu.Lock()
		n := len(q.items)
		if n < q.max || must || (q.looping.Load() && n < 2*q.max) {
			q.items = append(q.items, it)
			q.depth.Store(int64(n + 1))
			q.mu.Unlock()
			select {
			case q.ready <- struct{}{}:
			default:
			}
			if deadline != nil {
				deadline.Stop()
			}
			return true
		}
		if q.looping.Load() {
			q.mu.Unlock()
			q.full.Add(1)
			return false
		}
		nf := q.notFull
		q.mu.Unlock()
		if deadline == nil {
			deadline = time.NewTimer(wait)
		}
		select {
		case <-nf:
		case <-deadline.C:
			q.full.Add(1)
			return false
		case <-stop:
			deadline.Stop()
			return false
		}
	}
}

// take moves every waiting input into dst and returns it.
func (q *inputQueue) take(dst []input) []input {
	q.mu.Lock()
	dst = append(dst, q.items...)
	clear(q.items)
	q.items = q.items[:0]
	q.depth.Store(0)
	close(q.notFull)
	q.notFull = make(chan struct{})
	q.mu.Unlock()
	return dst
}
