package main

import (
	"context"
	"sync"
	"time"

	"github.com/sigpool/sigpool/gateway"
	"github.com/sigpool/sigpool/internal/mgmt"
)

// views gives the management API the gateway's pools (from the embedded
// registrar's handlespace) and both M3UA sides.
func views(cfg *gateway.Config, g *gateway.Gateway) (mgmt.PoolProvider, mgmt.ASPProvider) {
	var pools []mgmt.Pool
	var srvASes []mgmt.AS
	for _, s := range cfg.Services {
		pools = append(pools, mgmt.Pool{Handle: s.Pool, Policy: "least-used", MinElements: s.MinElements})
		srvASes = append(srvASes, mgmt.AS{Name: s.Name, RoutingContext: s.RC, TrafficMode: "loadshare"})
	}
	var netASes []mgmt.AS
	for _, as := range cfg.Network.ASes {
		mode := as.Mode
		if mode == "" {
			mode = "loadshare"
		}
		netASes = append(netASes, mgmt.AS{Name: as.Name, RoutingContext: as.RC, TrafficMode: mode})
	}
	return mgmt.RegistrarPools(g.Registrar(), pools), mgmt.M3UASides(
		mgmt.M3UASide{Name: "network", Server: g.NetworkServer(), ASes: netASes},
		mgmt.M3UASide{Name: "servers", Server: g.ServerSide(), ASes: srvASes},
	)
}

// drainer is the operator's drain (POST/DELETE /api/v1/drain): no new
// dialogue through this gateway (a Begin gets a TC-ABORT, so the network
// retries through another), continuations go on.
type drainer struct {
	g     *gateway.Gateway
	mu    sync.Mutex
	state mgmt.Drain
}

func (d *drainer) Drain(_ context.Context, req mgmt.OperatorRequest) (mgmt.Drain, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.state.Draining {
		now := time.Now()
		d.state = mgmt.Drain{Draining: true, UserID: req.UserID, Reason: req.Reason, Since: &now}
		d.g.Drain()
	}
	return d.current(), nil
}

func (d *drainer) Undrain(_ context.Context, _ mgmt.OperatorRequest) (mgmt.Drain, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state = mgmt.Drain{}
	d.g.Undrain()
	return d.current(), nil
}

func (d *drainer) DrainState(context.Context) (mgmt.Drain, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.current(), nil
}

func (d *drainer) current() mgmt.Drain {
	s := d.state
	s.Draining = d.g.Draining()
	s.DialoguesLeft = int(d.g.Counters().DialoguesActive)
	return s
}
