package enrp

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

const waitLimit = 20 * time.Second

func addr(ip string, port uint16) sctp.Addr {
	return sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr(ip)}, Port: port}
}

func tr(a sctp.Addr) rserpool.Transport {
	return rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: a.Port, Addrs: a.IPs}
}

type events struct {
	mu  sync.Mutex
	all []any
}

func (e *events) add(x any) {
	e.mu.Lock()
	e.all = append(e.all, x)
	e.mu.Unlock()
}

func (e *events) find(f func(any) bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, x := range e.all {
		if f(x) {
			return true
		}
	}
	return false
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// view is what one registrar knows: per home registrar, the checksum and
// the element count; and where each element lives.
type view struct {
	sums  map[uint32]uint16
	homes map[uint32]uint32 // element ID → home
}

func snapshot(d *Driver, ids []uint32) (view, bool) {
	v := view{sums: map[uint32]uint16{}, homes: map[uint32]uint32{}}
	ok := d.Do(func(r *Registrar) {
		for _, id := range ids {
			v.sums[id] = r.Checksum(id)
			for _, e := range r.Handlespace().AppendOwned(id, nil) {
				v.homes[e.ID()] = e.Home()
			}
		}
	})
	return v, ok
}

// Three registrars peer over ENRP on an in-memory SCTP network, each with
// one pool element registered; their handlespaces converge. Registrar 1
// crashes: its element is taken over by a survivor (keep-alive with the H
// flag), and both survivors agree on it.
func TestDriverClusterTakeover(t *testing.T) {
	n := sctptest.NewNetwork()
	ids := []uint32{1, 2, 3}
	enrpAddr := func(id uint32) sctp.Addr { return addr(fmt.Sprintf("10.99.0.%d", id), Port) }
	asapAddr := func(id uint32) sctp.Addr { return addr(fmt.Sprintf("10.99.0.%d", id), rserpool.Port) }
	regs := map[uint32]*Driver{}
	for _, id := range ids {
		var peers []sctp.Addr
		for _, p := range ids {
			if p < id { // the later ones dial the earlier ones
				peers = append(peers, enrpAddr(p))
			}
		}
		d, err := NewDriver(DriverConfig{Transport: n, ASAPAddr: asapAddr(id), ENRPAddr: enrpAddr(id), LocalAddr: addr(fmt.Sprintf("10.99.0.%d", id), 0)},
			Config{ServerID: id, ENRPTransport: tr(enrpAddr(id)), Peers: peers, MentorHunt: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		d.Start()
		regs[id] = d
		defer d.Close(false)
	}
	pes := map[uint32]*events{}
	for _, id := range ids {
		ev := &events{}
		pes[id] = ev
		peASAP := addr(fmt.Sprintf("10.1.0.%d", id), rserpool.Port)
		ln, err := n.Listen(peASAP)
		if err != nil {
			t.Fatal(err)
		}
		asapT := tr(peASAP)
		pe := rserpool.NewPEDriver(rserpool.DriverConfig{Transport: n, OnEvent: func(e rserpool.Event) { ev.add(e) }},
			rserpool.PEConfig{
				PoolHandle: []byte("AS-1"),
				Element: rserpool.PoolElement{ID: 100 + id, UserTransport: tr(addr(fmt.Sprintf("10.1.0.%d", id), 2905)),
					Policy: rserpool.Policy{Type: rserpool.RoundRobin}, ASAPTransport: &asapT},
				Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{asapAddr(id)}},
			}, ln)
		pe.Start()
		defer pe.Close()
	}
	converged := func(live []uint32) bool {
		var first view
		for i, id := range live {
			v, ok := snapshot(regs[id], ids)
			if !ok || len(v.homes) != 3 {
				return false
			}
			if i == 0 {
				first = v
				continue
			}
			for k, s := range first.sums {
				if v.sums[k] != s {
					return false
				}
			}
			for k, h := range first.homes {
				if v.homes[k] != h {
					return false
				}
			}
		}
		return true
	}
	eventually(t, "three registrars to converge", func() bool { return converged(ids) })
	v, _ := snapshot(regs[2], ids)
	if v.homes[101] != 1 || v.homes[102] != 2 || v.homes[103] != 3 {
		t.Fatalf("homes %v", v.homes)
	}

	start := time.Now()
	regs[1].Close(true) // crash
	eventually(t, "element 101 to be taken over", func() bool {
		if !converged([]uint32{2, 3}) {
			return false
		}
		v, _ := snapshot(regs[2], ids)
		return v.homes[101] == 2 || v.homes[101] == 3
	})
	eventually(t, "PE 101 to accept its new home", func() bool {
		return pes[1].find(func(x any) bool { h, ok := x.(rserpool.HomeChanged); return ok && h.ServerID != 1 })
	})
	t.Logf("takeover after %v (simulated network, real clock)", time.Since(start).Round(time.Millisecond))
}
