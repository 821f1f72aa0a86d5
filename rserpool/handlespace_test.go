package rserpool

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// checkPool verifies the tree: in order by (key, seq), sizes and weight
// sums right, every element of the pool in it once.
func checkPool(t testing.TB, p *Pool) {
	t.Helper()
	var all []*Element
	var walk func(e *Element) (int, uint64)
	walk = func(e *Element) (int, uint64) {
		if e == nil {
			return 0, 0
		}
		ls, lw := walk(e.left)
		all = append(all, e)
		rs, rw := walk(e.right)
		if e.size != 1+ls+rs || e.wsum != e.w+lw+rw {
			t.Fatalf("element %d: size %d wsum %d, want %d %d", e.ID(), e.size, e.wsum, 1+ls+rs, e.w+lw+rw)
		}
		if e.k != e.key() || e.w != e.weight() {
			t.Fatalf("element %d: stale key or weight", e.ID())
		}
		return e.size, e.wsum
	}
	walk(p.root)
	if len(all) != len(p.byID) {
		t.Fatalf("tree holds %d elements, pool %d", len(all), len(p.byID))
	}
	for i := 1; i < len(all); i++ {
		if !less(all[i-1], all[i]) {
			t.Fatalf("tree out of order at %d", i)
		}
	}
	for _, e := range all {
		if p.byID[e.ID()] != e {
			t.Fatalf("element %d in the tree, not in the pool", e.ID())
		}
	}
}

func TestRegisterUpdateDeregister(t *testing.T) {
	hs := newHS(1)
	h := []byte("p")
	e, created, err := hs.Register(h, testPE(1, Policy{Type: LeastUsed, Load: 5}), t0)
	if err != nil || !created || e.ID() != 1 || hs.Len() != 1 || hs.Pools() != 1 {
		t.Fatalf("%v %v %v", e, created, err)
	}
	pe := testPE(1, Policy{Type: LeastUsed, Load: 9})
	pe.UserTransport.Port = 4000
	e2, created, err := hs.Register(h, pe, t0.Add(time.Second))
	if err != nil || created || e2 != e || e.PoolElement().UserTransport.Port != 4000 ||
		e.PoolElement().Policy.Load != 9 || !e.Expires().Equal(t0.Add(11*time.Second)) {
		t.Fatalf("update: %+v %v %v", e.PoolElement(), created, err)
	}
	if hs.Len() != 1 {
		t.Fatalf("len %d", hs.Len())
	}
	if got, err := hs.Deregister(h, 2); got != nil || err != nil {
		t.Errorf("deregistering an unknown id: %v %v", got, err)
	}
	if got, err := hs.Deregister(h, 1); got != e || err != nil {
		t.Errorf("deregister: %v %v", got, err)
	}
	if hs.Len() != 0 || hs.Pools() != 0 || hs.Pool(h) != nil {
		t.Errorf("empty pool left behind")
	}
	_, err = hs.Deregister(h, 1)
	wantCause(t, err, CauseUnknownPoolHandle)
}

func TestInconsistentPoolingPolicy(t *testing.T) {
	hs := newHS(1)
	h := []byte("p")
	pool(t, hs, Policy{Type: LeastUsed})
	_, _, err := hs.Register(h, testPE(2, Policy{Type: RoundRobin}), t0)
	e := wantCause(t, err, CauseInconsistentPoolingPolicy)
	if !bytes.Equal(e.Info, h2b("0008 0008 00000001")) {
		t.Errorf("info %x", e.Info)
	}
	if hs.Len() != 1 || hs.Pool(h).Policy() != LeastUsed {
		t.Errorf("pool changed by a rejected registration")
	}
	// The pool's only element may change the policy of its pool.
	if _, _, err := hs.Register(h, testPE(1, Policy{Type: RoundRobin}), t0); err != nil {
		t.Fatal(err)
	}
	if hs.Pool(h).Policy() != RoundRobin {
		t.Errorf("policy %v", hs.Pool(h).Policy())
	}
	// Once the pool is gone, a new first element chooses again.
	hs.Deregister(h, 1)
	if _, _, err := hs.Register(h, testPE(2, Policy{Type: Random}), t0); err != nil {
		t.Fatal(err)
	}
}

func h2b(s string) []byte { return h(s) }

func TestInconsistentTransport(t *testing.T) {
	hs := newHS(1)
	h := []byte("p")
	pool(t, hs, Policy{Type: RoundRobin})
	tcp := testPE(2, Policy{Type: RoundRobin})
	tcp.UserTransport.Kind = ParamTCPTransport
	_, _, err := hs.Register(h, tcp, t0)
	wantCause(t, err, CauseInconsistentTransportType)
	ctl := testPE(2, Policy{Type: RoundRobin})
	ctl.UserTransport.Use = DataPlusControl
	_, _, err = hs.Register(h, ctl, t0)
	wantCause(t, err, CauseInconsistentDataControlConfig)
}

func TestRegisterInvalidValues(t *testing.T) {
	hs := newHS(1)
	neg := testPE(1, Policy{Type: RoundRobin})
	neg.RegistrationLife = -1
	noAddr := testPE(1, Policy{Type: RoundRobin})
	noAddr.UserTransport.Addrs = nil
	for name, tc := range map[string]struct {
		handle string
		pe     PoolElement
	}{
		"empty handle":   {"", testPE(1, Policy{Type: RoundRobin})},
		"unknown policy": {"p", testPE(1, Policy{Type: 0xb0002002})},
		"WRR weight 0":   {"p", testPE(1, Policy{Type: WeightedRoundRobin})},
		"WRAND weight 0": {"p", testPE(1, Policy{Type: WeightedRandom})},
		"negative life":  {"p", neg},
		"no address":     {"p", noAddr},
	} {
		_, _, err := hs.Register([]byte(tc.handle), tc.pe, t0)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		wantCause(t, err, CauseInvalidValues)
	}
	if hs.Len() != 0 {
		t.Errorf("%d elements registered", hs.Len())
	}
}

func TestExpiry(t *testing.T) {
	hs := newHS(1)
	for i, life := range []int32{3000, 1000, 2000} {
		pe := testPE(uint32(i+1), Policy{Type: RoundRobin})
		pe.RegistrationLife = life
		hs.Register([]byte("p"), pe, t0)
	}
	if next, ok := hs.NextExpiry(); !ok || !next.Equal(t0.Add(time.Second)) {
		t.Fatalf("next expiry %v %v", next, ok)
	}
	if got := hs.Expire(t0.Add(999*time.Millisecond), nil); len(got) != 0 {
		t.Fatalf("expired early: %v", got)
	}
	// C re-registers and lives 2 s from 1.5 s.
	pe := testPE(3, Policy{Type: RoundRobin})
	pe.RegistrationLife = 2000
	hs.Register([]byte("p"), pe, t0.Add(1500*time.Millisecond))
	got := hs.Expire(t0.Add(3*time.Second), nil)
	if len(got) != 2 || got[0].ID() != 2 || got[1].ID() != 1 {
		t.Fatalf("expired %v", got)
	}
	if hs.Len() != 1 || hs.Find([]byte("p"), 3) == nil {
		t.Fatalf("C should survive")
	}
	got = hs.Expire(t0.Add(3500*time.Millisecond), got[:0])
	if len(got) != 1 || hs.Len() != 0 || hs.Pools() != 0 {
		t.Fatalf("C should expire at 3.5 s: %v", got)
	}
	if _, ok := hs.NextExpiry(); ok {
		t.Error("empty handlespace has a next expiry")
	}
}

func TestPEChecksumGolden(t *testing.T) {
	// Handle "ab" is the word 0x6162; identifier 0x00010002 the words
	// 0x0001 and 0x0002; sum 0x6165, complemented 0x9e9a.
	if got := PEChecksum([]byte("ab"), 0x00010002); got != 0x9e9a {
		t.Errorf("got 0x%04x", got)
	}
	// Odd handle "abc": words 0x6162, 0x6300 (zero-padded); id 0:
	// 0xc462 → 0x3b9d.
	if got := PEChecksum([]byte("abc"), 0); got != 0x3b9d {
		t.Errorf("odd handle: got 0x%04x", got)
	}
	// End-around carry: 0xffff + 0xffff + 0x0001 = 0x1ffff → 0xffff + 1
	// = 0x10000 → 0x0001 → complement 0xfffe.
	if got := PEChecksum([]byte{0xff, 0xff}, 0xffff0001); got != 0xfffe {
		t.Errorf("carry: got 0x%04x", got)
	}
	if got := newHS(1).Checksum(7); got != 0xffff {
		t.Errorf("no element: 0x%04x", got)
	}
}

// Random registrations, updates (with home changes), deregistrations,
// expiries and selections; after each step the per-registrar checksums and
// counts equal a recomputation from scratch, and the trees are sound.
func TestHandlespaceInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	policies := []PolicyType{RoundRobin, WeightedRoundRobin, Random, WeightedRandom, Priority,
		LeastUsed, LeastUsedWithDegradation, PriorityLeastUsed, RandomizedLeastUsed}
	hs := newHS(3)
	now := t0
	for step := range 20000 {
		pi := rng.IntN(12)
		handle := []byte(fmt.Sprintf("pool-%d", pi))
		typ := policies[pi%len(policies)]
		id := uint32(rng.IntN(30))
		switch op := rng.IntN(10); {
		case op < 6:
			pe := testPE(id, Policy{Type: typ, Weight: uint32(1 + rng.IntN(5)), Priority: uint32(rng.IntN(3)),
				Load: rng.Uint32(), LoadDegradation: rng.Uint32() >> 4})
			pe.HomeRegistrar = uint32(rng.IntN(4))
			pe.RegistrationLife = int32(rng.IntN(5000))
			if _, _, err := hs.Register(handle, pe, now); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		case op < 7:
			hs.Deregister(handle, id)
		case op < 8:
			now = now.Add(time.Duration(rng.IntN(300)) * time.Millisecond)
			hs.Expire(now, nil)
		case op < 9:
			if e := hs.Find(handle, id); e != nil {
				hs.SetHome(e, uint32(rng.IntN(4)))
			}
		default:
			hs.Select(handle, 1+rng.IntN(4), nil)
		}
		if step%97 == 0 {
			verifyOwners(t, hs)
		}
	}
	verifyOwners(t, hs)
	if hs.Len() == 0 {
		t.Fatal("test left nothing to check")
	}
}

func verifyOwners(t *testing.T, hs *Handlespace) {
	t.Helper()
	sums := map[uint32]uint64{}
	counts := map[uint32]int{}
	n := 0
	for _, p := range hs.pools {
		checkPool(t, p)
		for _, e := range p.byID {
			sums[e.Home()] += ElementSum([]byte(p.handle), e.ID())
			counts[e.Home()]++
			n++
		}
	}
	if n != hs.Len() || len(hs.expiry) != n {
		t.Fatalf("len %d, heap %d, elements %d", hs.Len(), len(hs.expiry), n)
	}
	for r := uint32(0); r < 5; r++ {
		if got, want := hs.Checksum(r), FinishChecksum(sums[r]); got != want {
			t.Fatalf("registrar %d: checksum 0x%04x, want 0x%04x", r, got, want)
		}
		if hs.Owned(r) != counts[r] || len(hs.AppendOwned(r, nil)) != counts[r] {
			t.Fatalf("registrar %d: owns %d, want %d", r, hs.Owned(r), counts[r])
		}
	}
}

func TestSetHome(t *testing.T) {
	hs := newHS(1)
	pool(t, hs, Policy{Type: RoundRobin}, Policy{Type: RoundRobin})
	e := hs.Find([]byte("p"), 2)
	hs.SetHome(e, 9)
	if hs.Owned(1) != 1 || hs.Owned(9) != 1 || e.Home() != 9 {
		t.Fatalf("owned %d %d", hs.Owned(1), hs.Owned(9))
	}
	if hs.Checksum(9) != PEChecksum([]byte("p"), 2) || hs.Checksum(1) != PEChecksum([]byte("p"), 1) {
		t.Error("checksums after SetHome")
	}
}

// ---------------------------------------------------------------- benchmarks

const benchPools, benchPerPool = 10_000, 10

func benchHandlespace(b *testing.B, typ PolicyType) (*Handlespace, [][]byte) {
	hs := newHS(1)
	handles := make([][]byte, benchPools)
	addr := []netip.Addr{netip.MustParseAddr("10.0.0.1")}
	for p := range benchPools {
		handles[p] = []byte(fmt.Sprintf("pool-%05d", p))
		for i := range benchPerPool {
			pe := PoolElement{ID: uint32(i + 1), HomeRegistrar: uint32(p % 3), RegistrationLife: 30_000,
				UserTransport: Transport{Kind: ParamSCTPTransport, Port: 2905, Addrs: addr},
				Policy:        Policy{Type: typ, Weight: 1 + uint32(i), Load: uint32(i) << 24, LoadDegradation: 1 << 20}}
			if _, _, err := hs.Register(handles[p], pe, t0); err != nil {
				b.Fatal(err)
			}
		}
	}
	return hs, handles
}

// BenchmarkHandlespaceRegister: a new element registers into one of 10,000
// pools of a 100,000-element handlespace, then deregisters (so the size
// stays put): one iteration is one registration plus one deregistration.
func BenchmarkHandlespaceRegister(b *testing.B) {
	hs, handles := benchHandlespace(b, LeastUsed)
	pe := testPE(1000, Policy{Type: LeastUsed, Load: 1 << 30})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		h := handles[i%benchPools]
		if _, _, err := hs.Register(h, pe, t0); err != nil {
			b.Fatal(err)
		}
		hs.Deregister(h, 1000)
	}
}

// BenchmarkHandlespaceUpdate: an element re-registers with a new load and
// lifetime (its tree position and expiry move).
func BenchmarkHandlespaceUpdate(b *testing.B) {
	hs, handles := benchHandlespace(b, LeastUsed)
	pe := testPE(0, Policy{Type: LeastUsed})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		pe.ID = uint32(1 + i%benchPerPool)
		pe.Policy.Load = uint32(i) * 2654435761
		if _, _, err := hs.Register(handles[(i/benchPerPool)%benchPools], pe, t0.Add(time.Duration(i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandlespaceSelect: a handle resolution for MaxHResItems = 3
// elements, per policy.
func BenchmarkHandlespaceSelect(b *testing.B) {
	for _, typ := range []PolicyType{RoundRobin, WeightedRoundRobin, Random, WeightedRandom, Priority,
		LeastUsed, LeastUsedWithDegradation, PriorityLeastUsed, RandomizedLeastUsed} {
		b.Run(policyInfo[typ].abbrev, func(b *testing.B) {
			hs, handles := benchHandlespace(b, typ)
			buf := make([]*Element, 0, 3)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				buf, _ = hs.Select(handles[i%benchPools], 3, buf[:0])
			}
		})
	}
}

// FuzzHandlespace interprets its input as a sequence of operations
// (register, update, deregister, expire, change home, select) and checks
// the trees, ownership counts and checksums after each of them.
func FuzzHandlespace(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte("\x00\x01\x10\x00\x02\x20\x05\x01\x00\x40\x02\x01\x30\x03\x03"))
	policies := []PolicyType{RoundRobin, WeightedRoundRobin, Random, WeightedRandom, Priority,
		LeastUsed, LeastUsedWithDegradation, PriorityLeastUsed, RandomizedLeastUsed}
	f.Fuzz(func(t *testing.T, ops []byte) {
		hs := newHS(1)
		now := t0
		for len(ops) >= 3 {
			op, a, b := ops[0], ops[1], ops[2]
			ops = ops[3:]
			handle := []byte{'p', '0' + a%4}
			id := uint32(b % 8)
			switch op % 6 {
			case 0, 1:
				pe := testPE(id, Policy{Type: policies[(a/4)%9], Weight: uint32(b%3) + 1, Priority: uint32(b % 2),
					Load: uint32(a) << 24, LoadDegradation: uint32(b) << 20})
				pe.HomeRegistrar = uint32(op>>4) % 3
				pe.RegistrationLife = int32(b) * 10
				_, _, err := hs.Register(handle, pe, now)
				// Only a policy other than the pool's may be refused.
				if p := hs.Pool(handle); err != nil && (p == nil || p.Policy() == pe.Policy.Type) {
					t.Fatalf("register %d into %s: %v", id, handle, err)
				}
			case 2:
				hs.Deregister(handle, id)
			case 3:
				now = now.Add(time.Duration(b) * time.Millisecond)
				for _, e := range hs.Expire(now, nil) {
					if e.Expires().After(now) {
						t.Fatalf("expired early")
					}
				}
			case 4:
				if e := hs.Find(handle, id); e != nil {
					hs.SetHome(e, uint32(b%3))
				}
			case 5:
				k := int(b % 5)
				got, _ := hs.Select(handle, k, nil)
				if p := hs.Pool(handle); p != nil && len(got) != min(k, p.Len()) {
					t.Fatalf("selected %d of %d, asked %d", len(got), p.Len(), k)
				}
			}
			verifyOwners(t, hs)
		}
	})
}

func TestPoolAppendElements(t *testing.T) {
	hs := newHS(1)
	h := []byte("p")
	for _, id := range []uint32{9, 3, 7} {
		if _, _, err := hs.Register(h, testPE(id, Policy{Type: RoundRobin}), t0); err != nil {
			t.Fatal(err)
		}
	}
	p := hs.Pool(h)
	before := p.Select(1, nil)[0].ID()
	dst := []*Element{nil}
	dst = p.AppendElements(dst)
	if len(dst) != 4 || dst[0] != nil || dst[1].ID() != 3 || dst[2].ID() != 7 || dst[3].ID() != 9 {
		t.Fatalf("elements %v", dst)
	}
	// Listing does not move round robin on: the next pick follows the one
	// before the listing.
	next := p.Select(1, nil)[0].ID()
	if next == before {
		t.Errorf("round robin picked %d twice", next)
	}
	checkPool(t, p)
	if _, _, err := hs.Register([]byte("a"), testPE(1, Policy{Type: RoundRobin}), t0); err != nil {
		t.Fatal(err)
	}
	pools := hs.AppendPools(nil)
	if len(pools) != 2 || string(pools[0].Handle()) != "a" || string(pools[1].Handle()) != "p" {
		t.Fatalf("pools %v", pools)
	}
}
