package rserpool

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newHS(seed uint64) *Handlespace { return NewHandlespace(rand.New(rand.NewPCG(seed, 1))) }

func testPE(id uint32, pol Policy) PoolElement {
	return PoolElement{
		ID: id, HomeRegistrar: 1, RegistrationLife: 10_000,
		UserTransport: Transport{Kind: ParamSCTPTransport, Port: 2905, Use: DataOnly,
			Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 0, byte(id >> 8), byte(id)})}},
		Policy: pol,
	}
}

// pool registers elements A, B, C, … (ids 1, 2, 3, …) with the policies
// given, in order, into pool "p".
func pool(t testing.TB, hs *Handlespace, pols ...Policy) {
	t.Helper()
	for i, pol := range pols {
		if _, _, err := hs.Register([]byte("p"), testPE(uint32(i+1), pol), t0); err != nil {
			t.Fatal(err)
		}
	}
}

func name(e *Element) string { return string(rune('A' + e.ID() - 1)) }

// picks returns n selections of one element, as letters.
func picks(t testing.TB, hs *Handlespace, n int) string {
	t.Helper()
	var sb strings.Builder
	var buf []*Element
	for range n {
		buf, _ = hs.Select([]byte("p"), 1, buf[:0])
		if len(buf) != 1 {
			t.Fatalf("selected %d elements", len(buf))
		}
		sb.WriteString(name(buf[0]))
	}
	return sb.String()
}

// lists returns n selections of k elements, as letters separated by spaces.
func lists(t testing.TB, hs *Handlespace, n, k int) string {
	t.Helper()
	var out []string
	for range n {
		got, _ := hs.Select([]byte("p"), k, nil)
		var sb strings.Builder
		for _, e := range got {
			sb.WriteString(name(e))
		}
		out = append(out, sb.String())
	}
	return strings.Join(out, " ")
}

func pct(p float64) uint32 { return LoadPercent(p) }

func TestRoundRobin(t *testing.T) {
	hs := newHS(1)
	rr := Policy{Type: RoundRobin}
	pool(t, hs, rr, rr, rr)
	if got := picks(t, hs, 7); got != "ABCABCA" {
		t.Errorf("got %s", got)
	}
	// Lists of MaxHResItems = 2 advance by one element each time.
	hs = newHS(1)
	pool(t, hs, rr, rr, rr)
	if got := lists(t, hs, 4, 2); got != "AB BC CA AB" {
		t.Errorf("lists %s", got)
	}
	// A new element joins at the end of the round.
	hs = newHS(1)
	pool(t, hs, rr, rr)
	if got := picks(t, hs, 1); got != "A" {
		t.Fatal(got)
	}
	hs.Register([]byte("p"), testPE(3, rr), t0)
	if got := picks(t, hs, 4); got != "BACB" {
		t.Errorf("after join: %s", got)
	}
}

func TestWeightedRoundRobin(t *testing.T) {
	hs := newHS(1)
	pool(t, hs, Policy{Type: WeightedRoundRobin, Weight: 2}, Policy{Type: WeightedRoundRobin, Weight: 3})
	// Per round A twice and B three times, interleaved.
	if got := picks(t, hs, 10); got != "ABABBABABB" {
		t.Errorf("got %s", got)
	}
	// A newcomer joins the current round rather than round 0.
	hs.Register([]byte("p"), testPE(3, Policy{Type: WeightedRoundRobin, Weight: 1}), t0)
	if got := picks(t, hs, 6); got != "ABCABB" {
		t.Errorf("after join: %s", got)
	}
}

func TestPriority(t *testing.T) {
	hs := newHS(1)
	pool(t, hs, Policy{Type: Priority, Priority: 1}, Policy{Type: Priority, Priority: 5}, Policy{Type: Priority, Priority: 5})
	// Highest priority first, round robin among equals.
	if got := picks(t, hs, 5); got != "BCBCB" {
		t.Errorf("got %s", got)
	}
	if got := lists(t, hs, 2, 3); got != "CBA BCA" {
		t.Errorf("lists %s", got)
	}
}

func TestLeastUsed(t *testing.T) {
	hs := newHS(1)
	lu := func(p float64) Policy { return Policy{Type: LeastUsed, Load: pct(p)} }
	pool(t, hs, lu(10), lu(10), lu(50))
	if got := picks(t, hs, 6); got != "ABABAB" {
		t.Errorf("got %s", got)
	}
	// B's load rises above C's: C becomes the least used.
	hs.Register([]byte("p"), testPE(2, lu(60)), t0)
	if got := picks(t, hs, 3); got != "AAA" {
		t.Errorf("after B at 60%%: %s", got)
	}
	hs.Register([]byte("p"), testPE(1, lu(70)), t0)
	if got := picks(t, hs, 2); got != "CC" {
		t.Errorf("after A at 70%%: %s", got)
	}
}

func TestLeastUsedWithDegradation(t *testing.T) {
	hs := newHS(1)
	lud := func(load, deg float64) Policy {
		return Policy{Type: LeastUsedWithDegradation, Load: pct(load), LoadDegradation: pct(deg)}
	}
	pool(t, hs, lud(10, 20), lud(10, 20), lud(50, 20))
	// Each selection adds 20 % to the selected element's load as the
	// registrar sees it: A 10→30, B 10→30, A 30→50, B 30→50, then all at
	// 50 % and C (unused longest) goes first.
	if got := picks(t, hs, 10); got != "ABABCABCAB" {
		t.Errorf("got %s", got)
	}
	// A re-registers with its real load: the degradation is forgotten.
	hs.Register([]byte("p"), testPE(1, lud(10, 20)), t0)
	if got := picks(t, hs, 1); got != "A" {
		t.Errorf("after re-registration: %s", got)
	}
	// Without degradation it is plain Least Used.
	hs = newHS(1)
	pool(t, hs, lud(10, 0), lud(10, 0), lud(50, 0))
	if got := picks(t, hs, 5); got != "ABABA" {
		t.Errorf("zero degradation: %s", got)
	}
}

func TestPriorityLeastUsed(t *testing.T) {
	hs := newHS(1)
	plu := func(load, deg uint32) Policy {
		return Policy{Type: PriorityLeastUsed, Load: load << 24, LoadDegradation: deg << 24}
	}
	// Sums 60, 40, 40 (in 1/256 of full load): B and C in turn, never A;
	// the sum does not grow with selections.
	pool(t, hs, plu(10, 50), plu(30, 10), plu(40, 0))
	if got := picks(t, hs, 6); got != "BCBCBC" {
		t.Errorf("got %s", got)
	}
}

// chiSquare returns Σ (observed − expected)² / expected.
func chiSquare(obs []int, weights []float64) float64 {
	var n, wsum float64
	for i := range obs {
		n += float64(obs[i])
		wsum += weights[i]
	}
	var x float64
	for i := range obs {
		exp := n * weights[i] / wsum
		d := float64(obs[i]) - exp
		x += d * d / exp
	}
	return x
}

func distribution(t *testing.T, hs *Handlespace, n, draws int) []int {
	t.Helper()
	obs := make([]int, n)
	var buf []*Element
	for range draws {
		buf, _ = hs.Select([]byte("p"), 1, buf[:0])
		obs[buf[0].ID()-1]++
	}
	return obs
}

// Critical values of the chi-square distribution at p = 0.001.
const chi2df2, chi2df3 = 13.82, 16.27

func TestRandomDistribution(t *testing.T) {
	hs := newHS(42)
	r := Policy{Type: Random}
	pool(t, hs, r, r, r, r)
	obs := distribution(t, hs, 4, 40000)
	if x := chiSquare(obs, []float64{1, 1, 1, 1}); x > chi2df3 {
		t.Errorf("chi-square %.2f > %.2f: %v", x, chi2df3, obs)
	}
}

func TestWeightedRandomDistribution(t *testing.T) {
	hs := newHS(42)
	w := func(x uint32) Policy { return Policy{Type: WeightedRandom, Weight: x} }
	pool(t, hs, w(1), w(2), w(3), w(4))
	obs := distribution(t, hs, 4, 40000)
	if x := chiSquare(obs, []float64{1, 2, 3, 4}); x > chi2df3 {
		t.Errorf("chi-square %.2f > %.2f: %v", x, chi2df3, obs)
	}
	// The test can fail: the same counts are far from uniform.
	if x := chiSquare(obs, []float64{1, 1, 1, 1}); x < 1000 {
		t.Errorf("weighted draw looks uniform: %v", obs)
	}
}

func TestRandomizedLeastUsedDistribution(t *testing.T) {
	hs := newHS(42)
	rlu := func(p float64) Policy { return Policy{Type: RandomizedLeastUsed, Load: pct(p)} }
	// Unused capacities 100 %, 50 %, 25 %.
	pool(t, hs, rlu(0), rlu(50), rlu(75))
	obs := distribution(t, hs, 3, 35000)
	if x := chiSquare(obs, []float64{4, 2, 1}); x > chi2df2 {
		t.Errorf("chi-square %.2f > %.2f: %v", x, chi2df2, obs)
	}
	// Fully loaded elements are never drawn while others have capacity…
	hs = newHS(42)
	pool(t, hs, rlu(100), rlu(0))
	if got := picks(t, hs, 50); got != strings.Repeat("B", 50) {
		t.Errorf("full element drawn: %s", got)
	}
	// …and uniformly when all are full.
	hs = newHS(42)
	pool(t, hs, rlu(100), rlu(100))
	obs = distribution(t, hs, 2, 10000)
	if x := chiSquare(obs, []float64{1, 1}); x > 10.83 {
		t.Errorf("all full: %v", obs)
	}
}

func TestRandomListsAreDistinct(t *testing.T) {
	for _, typ := range []PolicyType{Random, WeightedRandom, RandomizedLeastUsed} {
		hs := newHS(7)
		var pols []Policy
		for i := range 5 {
			pols = append(pols, Policy{Type: typ, Weight: uint32(i + 1), Load: pct(float64(10 * i))})
		}
		pool(t, hs, pols...)
		for range 200 {
			got, _ := hs.Select([]byte("p"), 3, nil)
			if len(got) != 3 || got[0] == got[1] || got[1] == got[2] || got[0] == got[2] {
				t.Fatalf("%v: %v", typ, got)
			}
		}
		if got, _ := hs.Select([]byte("p"), 9, nil); len(got) != 5 {
			t.Fatalf("%v: asked 9 of 5, got %d", typ, len(got))
		}
		checkPool(t, hs.Pool([]byte("p")))
	}
}

func TestRandomIsDeterministicForASeed(t *testing.T) {
	run := func() string {
		hs := newHS(99)
		r := Policy{Type: Random}
		pool(t, hs, r, r, r, r, r)
		return picks(t, hs, 40)
	}
	a, b := run(), run()
	if a != b {
		t.Errorf("same seed, different draws: %s vs %s", a, b)
	}
	if strings.Count(a, "A") == 40 {
		t.Errorf("degenerate draws %s", a)
	}
}

func TestSelectEdgeCases(t *testing.T) {
	hs := newHS(1)
	pool(t, hs, Policy{Type: RoundRobin})
	if got, _ := hs.Select([]byte("p"), 0, nil); len(got) != 0 {
		t.Errorf("k=0 gave %d", len(got))
	}
	if got, _ := hs.Select([]byte("p"), 5, nil); len(got) != 1 {
		t.Errorf("k=5 of 1 gave %d", len(got))
	}
	_, err := hs.Select([]byte("nope"), 1, nil)
	wantCause(t, err, CauseUnknownPoolHandle)
}
