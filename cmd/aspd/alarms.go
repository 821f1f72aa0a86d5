package main

import (
	"context"
	"fmt"

	"github.com/sigpool/sigpool/alarms/sctpalarms"
	"github.com/sigpool/sigpool/internal/daemon"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// monitored is a Transport whose associations to the configured peers
// (gateways, registrars) raise and clear the association-down and path-down
// alarms on aspd's managed objects: "aspd=<instance>,assoc=gw<i>" and
// "aspd=<instance>,assoc=registrar<i>". A failed dial raises
// association-down too.
type monitored struct {
	sctp.Transport
	byPeer map[string]*sctpalarms.Monitor
}

func newMonitored(tr sctp.Transport, d *daemon.Daemon, f *File) (*monitored, error) {
	m := &monitored{Transport: tr, byPeer: map[string]*sctpalarms.Monitor{}}
	add := func(kind string, i int, a sctp.Addr) error {
		mon, err := sctpalarms.New(sctpalarms.Config{
			Alarms: d.Alarms, Metrics: d.Metrics, Log: d.Log,
			Object: fmt.Sprintf("%s,assoc=%s%d", d.Self, kind, i+1),
		})
		if err != nil {
			return err
		}
		m.byPeer[a.String()] = mon
		return nil
	}
	for i, g := range f.Gateways {
		if err := add("gw", i, g.Addr); err != nil {
			return nil, err
		}
	}
	for i, r := range f.Registrars {
		if _, dup := m.byPeer[r.Addr.String()]; dup {
			continue
		}
		if err := add("registrar", i, r.Addr); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Dial dials and, for a configured peer, watches the association.
func (m *monitored) Dial(ctx context.Context, laddr, raddr sctp.Addr) (sctp.Association, error) {
	a, err := m.Transport.Dial(ctx, laddr, raddr)
	mon := m.byPeer[raddr.String()]
	if mon == nil {
		return a, err
	}
	if err != nil {
		mon.Down("dial failed: " + err.Error())
		return nil, err
	}
	return sctpalarms.Wrap(a, mon), nil
}

// stop clears every association alarm: aspd closed them on purpose.
func (m *monitored) stop() {
	for _, mon := range m.byPeer {
		mon.Stop()
	}
}
