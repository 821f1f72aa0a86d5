package main

import (
	"context"
	"testing"

	"github.com/sigpool/sigpool/gateway"
	"github.com/sigpool/sigpool/internal/mgmt"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

func TestManagementViewsAndDrain(t *testing.T) {
	c, err := gateway.ParseConfig("t.yaml", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(c, gateway.Options{Transport: sctptest.NewNetwork()})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	pools, asps := views(c, g)
	ps, err := pools.Pools(ctx)
	if err != nil || len(ps) != 1 || ps[0].Handle != "hlr" || len(ps[0].Elements) != 0 {
		t.Fatalf("pools %+v, %v", ps, err)
	}
	ases, err := asps.ApplicationServers(ctx)
	if err != nil || len(ases) != 2 {
		t.Fatalf("application servers %+v, %v", ases, err)
	}
	d := &drainer{g: g}
	st, err := d.Drain(ctx, mgmt.OperatorRequest{UserID: "op", Reason: "maintenance"})
	if err != nil || !st.Draining || st.UserID != "op" || st.Since == nil || !g.Draining() {
		t.Fatalf("drain: %+v, %v", st, err)
	}
	if st, _ := d.DrainState(ctx); !st.Draining || st.Reason != "maintenance" {
		t.Fatalf("drain state %+v", st)
	}
	if st, err := d.Undrain(ctx, mgmt.OperatorRequest{UserID: "op"}); err != nil || st.Draining || g.Draining() {
		t.Fatalf("undrain: %+v, %v", st, err)
	}
}
