package enrp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

// embedView is what an embedding process keeps from OnEvent alone.
type embedView struct {
	mu       sync.Mutex
	elements map[uint32]rserpool.PoolElement
	removed  map[uint32]RemoveReason
}

func (v *embedView) on(e Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch e := e.(type) {
	case Registered:
		if string(e.Handle) == "AS-7" {
			v.elements[e.ID] = e.Element
		}
	case Deregistered:
		delete(v.elements, e.ID)
	case Removed:
		delete(v.elements, e.ID)
		v.removed[e.ID] = e.Reason
	}
}

func (v *embedView) ids() []uint32 {
	v.mu.Lock()
	defer v.mu.Unlock()
	var ids []uint32
	for id := range v.elements {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (v *embedView) reason(id uint32) RemoveReason {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.removed[id]
}

func peIDs(pes []rserpool.PoolElement) []uint32 {
	var ids []uint32
	for _, pe := range pes {
		ids = append(ids, pe.ID)
	}
	return ids
}

// A gateway embeds registrar 1, peered with registrar 2. Element 0x10001
// (load 500) registers with registrar 1, element 0x20002 (load 100) with
// registrar 2. The gateway's view built from OnEvent, Elements and Select
// agree; Select follows Least Used and is safe from many goroutines; an
// in-process unreachable report removes an element; an element that
// leaves registrar 2 leaves the gateway's view.
func TestDriverEmbedded(t *testing.T) {
	n := sctptest.NewNetwork()
	view := &embedView{elements: map[uint32]rserpool.PoolElement{}, removed: map[uint32]RemoveReason{}}
	enrp1, enrp2 := addr("10.98.0.1", Port), addr("10.98.0.2", Port)
	asap1, asap2 := addr("10.98.0.1", rserpool.Port), addr("10.98.0.2", rserpool.Port)
	gw, err := NewDriver(DriverConfig{Transport: n, ASAPAddr: asap1, ENRPAddr: enrp1, LocalAddr: addr("10.98.0.1", 0), OnEvent: view.on},
		Config{ServerID: 1, ENRPTransport: tr(enrp1), TagBits: 16, MaxBadPEReport: 1})
	if err != nil {
		t.Fatal(err)
	}
	gw.Start()
	defer gw.Close(false)
	other, err := NewDriver(DriverConfig{Transport: n, ASAPAddr: asap2, ENRPAddr: enrp2, LocalAddr: addr("10.98.0.2", 0)},
		Config{ServerID: 2, ENRPTransport: tr(enrp2), TagBits: 16, Peers: []sctp.Addr{enrp1}, MentorHunt: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	other.Start()
	defer other.Close(false)

	startPE := func(id uint32, load uint32, reg sctp.Addr, host string) *rserpool.PEDriver {
		peASAP := addr(host, rserpool.Port)
		ln, err := n.Listen(peASAP)
		if err != nil {
			t.Fatal(err)
		}
		asapT := tr(peASAP)
		pe := rserpool.NewPEDriver(rserpool.DriverConfig{Transport: n}, rserpool.PEConfig{
			PoolHandle: []byte("AS-7"),
			Element: rserpool.PoolElement{ID: id, UserTransport: tr(addr(host, 2906)),
				Policy: rserpool.Policy{Type: rserpool.LeastUsed, Load: load}, ASAPTransport: &asapT},
			Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{reg}},
		}, ln)
		pe.Start()
		return pe
	}
	peA := startPE(0x10001, 500, asap1, "10.1.7.1")
	defer peA.Close()
	peB := startPE(0x20002, 100, asap2, "10.1.7.2")

	want := []uint32{0x10001, 0x20002}
	eventually(t, "the gateway's view to hold both elements", func() bool { return slices.Equal(view.ids(), want) })
	if got := peIDs(gw.Elements([]byte("AS-7"))); !slices.Equal(got, want) {
		t.Fatalf("Elements = %x, want %x", got, want)
	}
	view.mu.Lock()
	v := view.elements[0x20002]
	view.mu.Unlock()
	if v.Policy.Load != 100 || v.HomeRegistrar != 2 {
		t.Errorf("element 0x20002 in the view: %+v", v)
	}
	if gw.Elements([]byte("nope")) != nil {
		t.Error("Elements of an unknown pool is not empty")
	}

	// Least Used: the lighter element first, from many goroutines at once.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				pes, err := gw.Select([]byte("AS-7"), 1)
				if err != nil || len(pes) != 1 || pes[0].ID != 0x20002 {
					errs <- fmt.Errorf("select: %x %v", peIDs(pes), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if pes, err := gw.Select([]byte("AS-7"), 0); err != nil || !slices.Equal(peIDs(pes), []uint32{0x20002, 0x10001}) {
		t.Fatalf("Select k=0: %x %v", peIDs(pes), err)
	}
	_, err = gw.Select([]byte("nope"), 1)
	var re *rserpool.Error
	if !errors.As(err, &re) || re.Cause != rserpool.CauseUnknownPoolHandle {
		t.Fatalf("Select of an unknown pool: %v", err)
	}
	var c Counters
	gw.Do(func(r *Registrar) { c = r.Counters() })
	if c.Resolutions != 401 { // the unknown pool is not a resolution
		t.Errorf("resolutions counted %d, want 401", c.Resolutions)
	}

	// One in-process report reaches MAX-BAD-PE-REPORT (1 here).
	gw.ReportUnreachable([]byte("AS-7"), 0x10001)
	eventually(t, "element 0x10001 to leave after the report", func() bool {
		return view.reason(0x10001) == RemovedReports
	})
	gw.Do(func(r *Registrar) { c = r.Counters() })
	if c.Reports != 1 || c.Removed[RemovedReports] != 1 {
		t.Errorf("reports %d, removed for reports %d", c.Reports, c.Removed[RemovedReports])
	}

	// Element 0x20002 deregisters at registrar 2; the gateway hears it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := peB.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	peB.Close()
	eventually(t, "element 0x20002 to leave the gateway's view", func() bool {
		return view.reason(0x20002) == RemovedByPeer
	})

	gw.Close(false)
	if _, err := gw.Select([]byte("AS-7"), 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Select after Close: %v", err)
	}
	gw.ReportUnreachable([]byte("AS-7"), 1) // must not block
}
