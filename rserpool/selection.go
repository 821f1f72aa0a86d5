package rserpool

import (
	"math"
	"math/rand/v2"
)

// Selection by pool policy (RFC 5356).
//
// A pool keeps its elements in a treap (a randomized balanced search tree;
// the "random" priorities come from a deterministic hash, so the tree's
// shape is reproducible) ordered by (key, seq):
//
//	Round Robin, Random, Weighted Random, Randomized Least Used   key 0
//	Weighted Round Robin        key = the element's round
//	Priority                    key = 2³²−1 − priority (highest first)
//	Least Used                  key = load
//	Least Used with Degradation key = load + degradation accumulated since
//	                            the element's last registration
//	Priority Least Used         key = load + load degradation
//
// seq is a per-pool sequence number that an element takes when it joins
// and again each time it is used, which sends it to the back of its key
// class: that is the round robin among equal keys that RFC 5356 asks for.
//
// A deterministic policy's selection of k elements is the first k of the
// tree. It counts as one use of the first of them: that one alone moves
// (new seq; for Weighted Round Robin one credit of its round spent; for
// Least Used with Degradation its load degradation added), so that the
// next handle resolution starts one element further, as a round robin of
// lists. A pool user that picks the first element of each list then walks
// the pool in order.
//
// The randomized policies draw k distinct elements, each with probability
// proportional to its weight among those not yet drawn: 1 (Random), the
// weight (Weighted Random), or the unused capacity 2³²−1 − load (Randomized
// Least Used). When every remaining weight is 0 (all fully loaded) the draw
// is uniform. Each subtree keeps its size and weight sum, so a draw costs
// O(log n).

// key returns e's sort key under the pool's policy.
func (e *Element) key() uint64 {
	pol := &e.pe.Policy
	switch pol.Type {
	case WeightedRoundRobin:
		return e.round
	case Priority:
		return math.MaxUint32 - uint64(pol.Priority)
	case LeastUsed:
		return uint64(pol.Load)
	case LeastUsedWithDegradation:
		return uint64(pol.Load) + e.degradation
	case PriorityLeastUsed:
		return uint64(pol.Load) + uint64(pol.LoadDegradation)
	}
	return 0
}

// weight returns e's weight for the randomized policies.
func (e *Element) weight() uint64 {
	pol := &e.pe.Policy
	switch pol.Type {
	case WeightedRandom:
		return uint64(pol.Weight)
	case RandomizedLeastUsed:
		return MaxLoad - uint64(pol.Load)
	}
	return 1
}

func randomized(t PolicyType) bool {
	return t == Random || t == WeightedRandom || t == RandomizedLeastUsed
}

// less orders elements by (key, seq); seq is unique within a pool.
func less(a, b *Element) bool {
	return a.k < b.k || (a.k == b.k && a.seq < b.seq)
}

func size(t *Element) int {
	if t == nil {
		return 0
	}
	return t.size
}

func wsum(t *Element) uint64 {
	if t == nil {
		return 0
	}
	return t.wsum
}

func (t *Element) update() {
	t.size = 1 + size(t.left) + size(t.right)
	t.wsum = t.w + wsum(t.left) + wsum(t.right)
}

// merge joins two treaps, every element of a ordered before those of b.
func merge(a, b *Element) *Element {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio > b.prio:
		a.right = merge(a.right, b)
		a.update()
		return a
	default:
		b.left = merge(a, b.left)
		b.update()
		return b
	}
}

// split cuts t into the elements ordered before e and the others.
func split(t, e *Element) (*Element, *Element) {
	if t == nil {
		return nil, nil
	}
	if less(t, e) {
		l, r := split(t.right, e)
		t.right = l
		t.update()
		return t, r
	}
	l, r := split(t.left, e)
	t.left = r
	t.update()
	return l, t
}

// splitmix64 is a fixed bijective mixer, for the treap's priorities.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// insert adds e to the pool's tree with its current key and seq.
func (p *Pool) insert(e *Element) {
	p.prios++
	e.prio = splitmix64(p.prios)
	e.k = e.key()
	e.w = e.weight()
	e.left, e.right = nil, nil
	e.update()
	l, r := split(p.root, e)
	p.root = merge(merge(l, e), r)
}

// remove takes e out of the pool's tree.
func (p *Pool) remove(e *Element) {
	p.root = removeFrom(p.root, e)
	e.left, e.right = nil, nil
}

func removeFrom(t, e *Element) *Element {
	if t == e {
		return merge(t.left, t.right)
	}
	if less(e, t) {
		t.left = removeFrom(t.left, e)
	} else {
		t.right = removeFrom(t.right, e)
	}
	t.update()
	return t
}

// first appends up to k elements of t in order to dst.
func first(t *Element, k int, dst []*Element) []*Element {
	for t != nil && len(dst) < k {
		dst = first(t.left, k, dst)
		if len(dst) < k {
			dst = append(dst, t)
		}
		t = t.right
	}
	return dst
}

// byWeight returns the element at cumulative weight r < wsum(t).
func byWeight(t *Element, r uint64) *Element {
	for {
		if lw := wsum(t.left); r < lw {
			t = t.left
			continue
		} else {
			r -= lw
		}
		if r < t.w {
			return t
		}
		r -= t.w
		t = t.right
	}
}

// byIndex returns the i-th element (0-based) of t, i < size(t).
func byIndex(t *Element, i int) *Element {
	for {
		if ls := size(t.left); i < ls {
			t = t.left
			continue
		} else {
			i -= ls
		}
		if i == 0 {
			return t
		}
		i--
		t = t.right
	}
}

// Select appends to dst up to k elements of the pool chosen by its policy
// (see the comment at the top of selection.go for the exact rules) and
// returns it. It changes the selection state of the pool (round robin
// position, accumulated degradation), so two calls in a row may give
// different answers; randomized policies draw from the handlespace's
// random source.
func (p *Pool) Select(k int, dst []*Element) []*Element {
	if k <= 0 || p.root == nil {
		return dst
	}
	if randomized(p.policy) {
		return p.draw(k, dst, p.hs.rng)
	}
	start := len(dst)
	dst = first(p.root, k, dst)
	if len(dst) > start {
		p.markUsed(dst[start])
	}
	return dst
}

// markUsed records that e was selected (first of a list).
func (p *Pool) markUsed(e *Element) {
	p.remove(e)
	p.seq++
	e.seq = p.seq
	switch e.pe.Policy.Type {
	case WeightedRoundRobin:
		if e.credit > 1 {
			e.credit--
		} else {
			e.round++
			e.credit = e.pe.Policy.Weight
		}
	case LeastUsedWithDegradation:
		e.degradation += uint64(e.pe.Policy.LoadDegradation)
	}
	p.insert(e)
}

// draw picks k distinct elements at random, weighted.
func (p *Pool) draw(k int, dst []*Element, rng *rand.Rand) []*Element {
	start := len(dst)
	for len(dst)-start < k && p.root != nil {
		var e *Element
		if total := p.root.wsum; total > 0 {
			e = byWeight(p.root, rng.Uint64N(total))
		} else {
			e = byIndex(p.root, rng.IntN(p.root.size))
		}
		p.remove(e)
		dst = append(dst, e)
	}
	for _, e := range dst[start:] {
		p.insert(e)
	}
	return dst
}
