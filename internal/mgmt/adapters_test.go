package mgmt

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

type fakeElements map[string][]rserpool.PoolElement

func (f fakeElements) Elements(h []byte) []rserpool.PoolElement { return f[string(h)] }

type fakeM3UA struct {
	addrs  map[m3ua.AssocID]sctp.Addr
	ids    map[m3ua.AssocID]uint32
	states map[m3ua.AssocID]m3ua.ASPState
	rcs    map[m3ua.AssocID][]uint32
	as     map[uint32]m3ua.ASState
}

func (f fakeM3UA) Assocs() map[m3ua.AssocID]sctp.Addr { return f.addrs }
func (f fakeM3UA) ASPIdentifier(a m3ua.AssocID) (uint32, bool) {
	id, ok := f.ids[a]
	return id, ok
}
func (f fakeM3UA) ASPState(a m3ua.AssocID) m3ua.ASPState { return f.states[a] }
func (f fakeM3UA) ActiveRCs(a m3ua.AssocID) []uint32     { return f.rcs[a] }
func (f fakeM3UA) ASState(rc uint32) m3ua.ASState        { return f.as[rc] }

func TestRegistrarPools(t *testing.T) {
	ip := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	src := fakeElements{"hlr.sigpool": {
		{ID: 0xb, HomeRegistrar: 1, UserTransport: rserpool.Transport{Port: 2906, Addrs: []netip.Addr{ip("10.1.0.3"), ip("10.2.0.3")}}, Policy: rserpool.Policy{Load: 1 << 30}},
		{ID: 0xa, UserTransport: rserpool.Transport{Port: 2906, Addrs: []netip.Addr{ip("10.1.0.4")}}},
	}}
	p := RegistrarPools(src, []Pool{{Handle: "hlr.sigpool", Policy: "least-used", MinElements: 2}, {Handle: "isup.sigpool", Policy: "least-used"}})
	pools, err := p.Pools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(pools) != 2 || len(pools[0].Elements) != 2 || pools[1].Elements == nil || len(pools[1].Elements) != 0 {
		t.Fatalf("%+v", pools)
	}
	e := pools[0].Elements
	if e[0].ID != "0000000a" || e[1].ID != "0000000b" || e[1].Address != "10.1.0.3+10.2.0.3:2906" ||
		e[1].Registrar != "00000001" || e[0].Registrar != "" || e[1].Load != 1<<30 || pools[0].MinElements != 2 {
		t.Fatalf("elements %+v", e)
	}
}

func TestM3UASides(t *testing.T) {
	srv := fakeM3UA{
		addrs:  map[m3ua.AssocID]sctp.Addr{2: {IPs: []netip.Addr{netip.MustParseAddr("10.1.0.3")}, Port: 40000}, 1: {IPs: []netip.Addr{netip.MustParseAddr("10.1.0.4")}, Port: 40001}},
		ids:    map[m3ua.AssocID]uint32{2: 0xbeef},
		states: map[m3ua.AssocID]m3ua.ASPState{1: m3ua.ASPInactive, 2: m3ua.ASPActive},
		rcs:    map[m3ua.AssocID][]uint32{2: {200, 999}},
		as:     map[uint32]m3ua.ASState{200: m3ua.ASActive, 300: m3ua.ASDown},
	}
	p := M3UASides(M3UASide{Name: "servers", Server: srv, ASes: []AS{{Name: "hlr", RoutingContext: 200, TrafficMode: "loadshare"}, {Name: "isup", RoutingContext: 300}}})
	// Through the server, as sgwctl sees it.
	s := New(Config{Alarms: newFixture(t).m, ASPs: p})
	get := func(path string, v any) {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatal(err)
		}
	}
	var asps []ASP
	get("/api/v1/asps", &asps)
	if len(asps) != 2 || asps[0].ID != "servers-1" || asps[0].State != "ASP-INACTIVE" || asps[0].Association != "10.1.0.4:40001" ||
		asps[1].ID != "servers-2-0000beef" || asps[1].State != "ASP-ACTIVE" || len(asps[1].Servers) != 2 ||
		asps[1].Servers[0] != "hlr" || asps[1].Servers[1] != "rc 999" {
		t.Fatalf("asps %+v", asps)
	}
	var ases []AS
	get("/api/v1/ases", &ases)
	if len(ases) != 2 || ases[0].State != "AS-ACTIVE" || len(ases[0].ASPs) != 1 || ases[0].ASPs[0] != "servers-2-0000beef" ||
		ases[0].TrafficMode != "loadshare" || ases[1].State != "AS-DOWN" || len(ases[1].ASPs) != 0 {
		t.Fatalf("ases %+v", ases)
	}
}
