package rserpool

import (
	"cmp"
	"container/heap"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"time"
)

// Handlespace holds pools by pool handle and their elements by PE
// identifier, with each element's lifetime, home registrar and selection
// state. It serves the registrar (the handlespace of RFC 5353) and the
// pool user (its cache, fed from handle resolution responses with the
// stale cache value as lifetime).
//
// A Handlespace is a plain value: no goroutine, lock or clock inside. The
// caller passes "now" and serializes access.
type Handlespace struct {
	pools  map[string]*Pool
	count  int
	expiry expiryHeap
	owners map[uint32]*owner
	rng    *rand.Rand
}

// Pool is one pool of a handlespace: its handle, its policy (fixed by its
// first element) and its elements.
type Pool struct {
	hs     *Handlespace
	handle string
	policy PolicyType
	kind   ParamType    // user transport protocol of the pool's elements
	use    TransportUse // and their transport use
	byID   map[uint32]*Element
	root   *Element
	seq    uint64
	prios  uint64
}

// Element is a pool element in a handlespace.
type Element struct {
	pe      PoolElement
	pool    *Pool
	expires time.Time

	// Selection state (see selection.go).
	seq         uint64
	round       uint64
	credit      uint32
	degradation uint64
	// Tree links and aggregates.
	left, right *Element
	prio        uint64
	k, w, wsum  uint64
	size        int
	// Position in the expiry heap.
	heapIndex int
	// Ownership: the home registrar's list, and this element's share of
	// its checksum.
	ownerPrev, ownerNext *Element
	sum                  uint64
}

type owner struct {
	acc   uint64 // integer sum of the owned elements' 16-bit word sums
	count int
	head  *Element
}

// NewHandlespace returns an empty handlespace whose randomized policies
// draw from rng (for example rand.New(rand.NewPCG(seed1, seed2))).
func NewHandlespace(rng *rand.Rand) *Handlespace {
	return &Handlespace{
		pools:  make(map[string]*Pool),
		owners: make(map[uint32]*owner),
		rng:    rng,
	}
}

// ID returns the element's PE identifier.
func (e *Element) ID() uint32 { return e.pe.ID }

// Pool returns the element's pool.
func (e *Element) Pool() *Pool { return e.pool }

// PoolElement returns the element as registered (its slices are shared:
// do not modify them).
func (e *Element) PoolElement() PoolElement { return e.pe }

// Home returns the element's home registrar.
func (e *Element) Home() uint32 { return e.pe.HomeRegistrar }

// Expires returns the time the element's registration runs out.
func (e *Element) Expires() time.Time { return e.expires }

// Handle returns the pool's handle.
func (p *Pool) Handle() []byte { return []byte(p.handle) }

// Policy returns the pool's policy type.
func (p *Pool) Policy() PolicyType { return p.policy }

// Len returns the number of elements in the pool.
func (p *Pool) Len() int { return len(p.byID) }

// Element returns the element with identifier id, or nil.
func (p *Pool) Element(id uint32) *Element { return p.byID[id] }

// AppendElements appends the pool's elements to dst in identifier order,
// without touching the selection state.
func (p *Pool) AppendElements(dst []*Element) []*Element {
	n := len(dst)
	for _, e := range p.byID {
		dst = append(dst, e)
	}
	slices.SortFunc(dst[n:], func(a, b *Element) int { return cmp.Compare(a.pe.ID, b.pe.ID) })
	return dst
}

// Len returns the number of elements in the handlespace.
func (hs *Handlespace) Len() int { return hs.count }

// Pools returns the number of pools.
func (hs *Handlespace) Pools() int { return len(hs.pools) }

// Pool returns the pool with the given handle, or nil.
func (hs *Handlespace) Pool(handle []byte) *Pool { return hs.pools[string(handle)] }

// AppendPools appends the pools to dst in handle order.
func (hs *Handlespace) AppendPools(dst []*Pool) []*Pool {
	n := len(dst)
	for _, p := range hs.pools {
		dst = append(dst, p)
	}
	slices.SortFunc(dst[n:], func(a, b *Pool) int { return cmp.Compare(a.handle, b.handle) })
	return dst
}

// Find returns the element id of pool handle, or nil.
func (hs *Handlespace) Find(handle []byte, id uint32) *Element {
	if p := hs.pools[string(handle)]; p != nil {
		return p.byID[id]
	}
	return nil
}

// Register adds pe to the pool with the given handle, creating the pool,
// or updates the element already registered with that identifier (its
// transports, policy values, lifetime and home registrar; the degradation
// accumulated under Least Used with Degradation starts again from zero).
// The registration runs out RegistrationLife milliseconds after now.
//
// It fails with an *Error naming the cause for the registration response:
// Invalid Values (empty handle, unknown policy, zero weight under a
// weighted policy, negative lifetime, transport without address), and,
// when the pool has other elements, Inconsistent Pooling Policy (another
// policy type), Inconsistent Transport Type (another transport protocol)
// or Inconsistent Data/Control Configuration (another transport use). The
// error's Info is the offending parameter.
//
// The handlespace keeps pe's slices: the caller must not modify them.
func (hs *Handlespace) Register(handle []byte, pe PoolElement, now time.Time) (e *Element, created bool, err error) {
	if err := validate(handle, &pe); err != nil {
		return nil, false, err
	}
	pe.Policy = pe.Policy.Normalize()
	p := hs.pools[string(handle)]
	if p != nil {
		e = p.byID[pe.ID]
		alone := len(p.byID) == 1 && e != nil
		if !alone {
			if err := p.consistent(&pe); err != nil {
				return nil, false, err
			}
		}
	}
	if p == nil {
		p = &Pool{hs: hs, handle: string(handle), byID: make(map[uint32]*Element)}
		hs.pools[p.handle] = p
	}
	p.policy, p.kind, p.use = pe.Policy.Type, pe.UserTransport.Kind, pe.UserTransport.Use
	expires := now.Add(time.Duration(pe.RegistrationLife) * time.Millisecond)
	if e != nil {
		p.remove(e)
		hs.disown(e)
		if e.pe.Policy.Type != pe.Policy.Type {
			e.round, e.credit = 0, 0
		}
		e.pe = pe
		e.degradation = 0
		if pe.Policy.Type == WeightedRoundRobin && (e.credit == 0 || e.credit > pe.Policy.Weight) {
			e.credit = pe.Policy.Weight
		}
		hs.own(e)
		p.insert(e)
		e.expires = expires
		heap.Fix(&hs.expiry, e.heapIndex)
		return e, false, nil
	}
	e = &Element{pe: pe, pool: p, expires: expires}
	p.seq++
	e.seq = p.seq
	if pe.Policy.Type == WeightedRoundRobin {
		e.credit = pe.Policy.Weight
		if p.root != nil {
			e.round = first(p.root, 1, nil)[0].round // join the current round
		}
	}
	e.sum = elementSum(handle, pe.ID)
	p.byID[pe.ID] = e
	p.insert(e)
	hs.own(e)
	heap.Push(&hs.expiry, e)
	hs.count++
	return e, true, nil
}

func validate(handle []byte, pe *PoolElement) *Error {
	switch {
	case len(handle) == 0:
		return errf(CauseInvalidValues, nil, "empty pool handle")
	case !pe.Policy.Type.Known():
		return errf(CauseInvalidValues, policyInfoBytes(pe.Policy), "unknown policy type 0x%08x", uint32(pe.Policy.Type))
	case (pe.Policy.Type == WeightedRoundRobin || pe.Policy.Type == WeightedRandom) && pe.Policy.Weight == 0:
		return errf(CauseInvalidValues, policyInfoBytes(pe.Policy), "weight 0 under %v", pe.Policy.Type)
	case pe.RegistrationLife < 0:
		return errf(CauseInvalidValues, nil, "negative registration life %d ms", pe.RegistrationLife)
	case !isTransport(pe.UserTransport.Kind) || len(pe.UserTransport.Addrs) == 0:
		return errf(CauseInvalidValues, nil, "user transport %v with %d addresses", pe.UserTransport.Kind, len(pe.UserTransport.Addrs))
	}
	return nil
}

func policyInfoBytes(p Policy) []byte {
	b, err := p.AppendTo(nil)
	if err != nil {
		// Unknown type: the bare type field, as a policy parameter.
		b = binary.BigEndian.AppendUint32([]byte{0, byte(ParamPolicy), 0, 8}, uint32(p.Type))
	}
	return b
}

// consistent checks pe against the pool's other elements.
func (p *Pool) consistent(pe *PoolElement) *Error {
	switch {
	case pe.Policy.Type != p.policy:
		return errf(CauseInconsistentPoolingPolicy, policyInfoBytes(pe.Policy),
			"pool %q uses %v, element %d asks for %v", p.handle, p.policy, pe.ID, pe.Policy.Type)
	case pe.UserTransport.Kind != p.kind:
		info, _ := pe.UserTransport.AppendTo(nil)
		return errf(CauseInconsistentTransportType, info,
			"pool %q uses %v, element %d offers %v", p.handle, p.kind, pe.ID, pe.UserTransport.Kind)
	case pe.UserTransport.Use != p.use && pe.UserTransport.Kind != ParamUDPTransport:
		return errf(CauseInconsistentDataControlConfig, nil,
			"pool %q uses %v, element %d offers %v", p.handle, p.use, pe.ID, pe.UserTransport.Use)
	}
	return nil
}

// Deregister removes element id from the pool with the given handle and
// returns it (nil if it was not registered). A pool left empty is removed,
// so that its next first element may choose another policy. An unknown
// handle gives Unknown Pool Handle.
func (hs *Handlespace) Deregister(handle []byte, id uint32) (*Element, error) {
	p := hs.pools[string(handle)]
	if p == nil {
		return nil, errf(CauseUnknownPoolHandle, nil, "no pool %q", handle)
	}
	e := p.byID[id]
	if e == nil {
		return nil, nil
	}
	hs.drop(e)
	return e, nil
}

func (hs *Handlespace) drop(e *Element) {
	p := e.pool
	p.remove(e)
	delete(p.byID, e.pe.ID)
	hs.disown(e)
	heap.Remove(&hs.expiry, e.heapIndex)
	hs.count--
	if len(p.byID) == 0 {
		delete(hs.pools, p.handle)
	}
}

// Expire removes the elements whose registration ran out at or before now
// and appends them to dst.
func (hs *Handlespace) Expire(now time.Time, dst []*Element) []*Element {
	for len(hs.expiry) > 0 && !hs.expiry[0].expires.After(now) {
		e := hs.expiry[0]
		hs.drop(e)
		dst = append(dst, e)
	}
	return dst
}

// NextExpiry returns when the next registration runs out (ok is false for
// an empty handlespace), for the caller's timer.
func (hs *Handlespace) NextExpiry() (t time.Time, ok bool) {
	if len(hs.expiry) == 0 {
		return time.Time{}, false
	}
	return hs.expiry[0].expires, true
}

// Select appends to dst up to k elements of the pool with the given handle,
// chosen by the pool's policy (Pool.Select); Unknown Pool Handle if there
// is no such pool.
func (hs *Handlespace) Select(handle []byte, k int, dst []*Element) ([]*Element, error) {
	p := hs.pools[string(handle)]
	if p == nil {
		return dst, errf(CauseUnknownPoolHandle, nil, "no pool %q", handle)
	}
	return p.Select(k, dst), nil
}

// ---------------------------------------------------------------- ownership

// PE checksum (RFC 5353, checked against rsplib's implementation): each
// element contributes the 16-bit one's-complement sum (RFC 1071) of its
// pool handle, zero-padded to an even length, followed by its PE identifier
// in network byte order; a registrar's checksum is the one's complement of
// the one's-complement sum of the contributions of the elements it owns
// (0xffff when it owns none). The handlespace keeps, per registrar, the
// plain integer sum of the contributions, so that adding and removing an
// element are exact inverses; folding and complementing happen on reading.

// elementSum is an element's contribution: the integer sum of its 16-bit
// words, not yet folded.
func elementSum(handle []byte, id uint32) uint64 {
	var s uint64
	for len(handle) >= 2 {
		s += uint64(binary.BigEndian.Uint16(handle))
		handle = handle[2:]
	}
	if len(handle) == 1 {
		s += uint64(handle[0]) << 8
	}
	return s + uint64(id>>16) + uint64(id&0xffff)
}

// FinishChecksum folds an integer sum of 16-bit words with end-around carry
// and complements it: the value of a PE Checksum parameter.
func FinishChecksum(s uint64) uint16 {
	for s>>16 != 0 {
		s = (s & 0xffff) + (s >> 16)
	}
	return ^uint16(s)
}

// PEChecksum computes, from scratch, the checksum of the given elements of
// one pool; a registrar's checksum over several pools is obtained by
// summing ElementSum values and calling FinishChecksum.
func PEChecksum(handle []byte, ids ...uint32) uint16 {
	var s uint64
	for _, id := range ids {
		s += ElementSum(handle, id)
	}
	return FinishChecksum(s)
}

// ElementSum returns an element's unfolded contribution to its home
// registrar's checksum.
func ElementSum(handle []byte, id uint32) uint64 { return elementSum(handle, id) }

func (hs *Handlespace) own(e *Element) {
	o := hs.owners[e.pe.HomeRegistrar]
	if o == nil {
		o = &owner{}
		hs.owners[e.pe.HomeRegistrar] = o
	}
	o.acc += e.sum
	o.count++
	e.ownerPrev, e.ownerNext = nil, o.head
	if o.head != nil {
		o.head.ownerPrev = e
	}
	o.head = e
}

func (hs *Handlespace) disown(e *Element) {
	o := hs.owners[e.pe.HomeRegistrar]
	o.acc -= e.sum
	o.count--
	if e.ownerPrev != nil {
		e.ownerPrev.ownerNext = e.ownerNext
	} else {
		o.head = e.ownerNext
	}
	if e.ownerNext != nil {
		e.ownerNext.ownerPrev = e.ownerPrev
	}
	e.ownerPrev, e.ownerNext = nil, nil
	if o.count == 0 {
		delete(hs.owners, e.pe.HomeRegistrar)
	}
}

// Checksum returns the PE checksum over the elements whose home is
// registrar.
func (hs *Handlespace) Checksum(registrar uint32) uint16 {
	if o := hs.owners[registrar]; o != nil {
		return FinishChecksum(o.acc)
	}
	return FinishChecksum(0)
}

// Owned returns how many elements registrar is home of.
func (hs *Handlespace) Owned(registrar uint32) int {
	if o := hs.owners[registrar]; o != nil {
		return o.count
	}
	return 0
}

// AppendOwned appends to dst the elements whose home is registrar.
func (hs *Handlespace) AppendOwned(registrar uint32, dst []*Element) []*Element {
	if o := hs.owners[registrar]; o != nil {
		for e := o.head; e != nil; e = e.ownerNext {
			dst = append(dst, e)
		}
	}
	return dst
}

// SetHome makes registrar the home of e (an ENRP handle update from
// another registrar, or a takeover).
func (hs *Handlespace) SetHome(e *Element, registrar uint32) {
	if e.pe.HomeRegistrar == registrar {
		return
	}
	hs.disown(e)
	e.pe.HomeRegistrar = registrar
	hs.own(e)
}

// ---------------------------------------------------------------- expiry heap

type expiryHeap []*Element

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIndex = i
	h[j].heapIndex = j
}
func (h *expiryHeap) Push(x any) {
	e := x.(*Element)
	e.heapIndex = len(*h)
	*h = append(*h, e)
}
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.heapIndex = -1
	return e
}
