package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/alarms/metrics"
	"github.com/sigpool/sigpool/alarms/sctpalarms"
	"github.com/sigpool/sigpool/gateway"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// tracked is the gateway's Transport seen by the daemon: every association
// it accepts or dials (network side, application servers, the registrar's
// ASAP and ENRP) joins the daemon's association set, so /metrics
// (sigpool_sctp_…) and GET /api/v1/associations show it, and leaves the set
// when it ends. Names are "<role>/<peer address>", the role being the one of
// the listener the association came in on (network, servers, asap, enrp) or
// "enrp-peer" for an association the registrar dialled.
//
// With a monitor factory, each association also raises and clears the
// path-down alarm of its paths ("<self>,assoc=<name>,path=<peer IP>"): a
// gateway that loses a network says so for every association it holds,
// not only its peers. The association's end is left to the alarms of its
// role (asp-down, registrar-peer-lost; a network peer is the operator's
// STP or SEP, which raises its own), and clears its path alarms: the
// object lives as long as the association.
type tracked struct {
	sctp.Transport
	set     *metrics.Associations
	roles   map[string]string // listen address → role
	monitor func(name string, a sctp.Association) (*sctpalarms.Monitor, error)
	seq     atomic.Uint64

	mu   sync.Mutex
	live map[string]bool // names in the set
}

func newTracked(tr sctp.Transport, set *metrics.Associations, roles map[string]string) *tracked {
	return &tracked{Transport: tr, set: set, roles: roles, live: map[string]bool{}}
}

// role names the listener bound to a: its configured role, or the address.
func (t *tracked) role(a sctp.Addr) string {
	if r, ok := t.roles[a.String()]; ok {
		return r
	}
	return a.String()
}

func (t *tracked) Listen(laddr sctp.Addr) (sctp.Listener, error) {
	ln, err := t.Transport.Listen(laddr)
	if err != nil {
		return nil, err
	}
	return &trackedListener{Listener: ln, t: t, role: t.role(laddr)}, nil
}

func (t *tracked) Dial(ctx context.Context, laddr, raddr sctp.Addr) (sctp.Association, error) {
	a, err := t.Transport.Dial(ctx, laddr, raddr)
	if err != nil {
		return nil, err
	}
	return t.add("enrp-peer", a), nil
}

// add puts a in the set under a name unique for its life.
func (t *tracked) add(role string, a sctp.Association) sctp.Association {
	name := fmt.Sprintf("%s/%s", role, a.PeerAddr())
	t.mu.Lock()
	if t.live[name] {
		name = fmt.Sprintf("%s#%d", name, t.seq.Add(1))
	}
	t.live[name] = true
	ta := &trackedAssoc{Association: a, t: t, name: name}
	t.set.Add(name, ta)
	t.mu.Unlock()
	if t.monitor != nil {
		// An invalid object leaves the association without path alarms;
		// the factory logs why.
		ta.mon, _ = t.monitor(name, a)
	}
	return ta
}

func (t *tracked) remove(name string) {
	t.mu.Lock()
	delete(t.live, name)
	t.set.Remove(name)
	t.mu.Unlock()
}

type trackedListener struct {
	sctp.Listener
	t    *tracked
	role string
}

func (l *trackedListener) Accept() (sctp.Association, error) {
	a, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.t.add(l.role, a), nil
}

// trackedAssoc leaves the set once it ended: closed or aborted here, or
// Recv reported its end (shut down by the peer, lost).
type trackedAssoc struct {
	sctp.Association
	t    *tracked
	name string
	mon  *sctpalarms.Monitor // nil: no path alarms
	once sync.Once
}

func (a *trackedAssoc) gone() {
	a.once.Do(func() {
		a.t.remove(a.name)
		if a.mon != nil {
			a.mon.Stop()
		}
	})
}

func (a *trackedAssoc) Recv(buf []byte) (sctp.Message, *sctp.Event, error) {
	m, ev, err := a.Association.Recv(buf)
	if ev != nil && a.mon != nil {
		switch ev.Kind {
		case sctp.EventAddrUnreachable, sctp.EventAddrPotentiallyFailed, sctp.EventAddrAvailable, sctp.EventAddrRemoved:
			a.mon.Observe(*ev)
		}
	}
	if err != nil && (errors.Is(err, io.EOF) || errors.Is(err, sctp.ErrClosed) || errors.Is(err, sctp.ErrAssociationLost)) {
		a.gone()
	}
	return m, ev, err
}

func (a *trackedAssoc) Close() error {
	a.gone()
	return a.Association.Close()
}

func (a *trackedAssoc) Abort() error {
	a.gone()
	return a.Association.Abort()
}

// pathAlarms is the monitor factory of a daemon (self its managed
// object): path-down on "<self>,assoc=<name>", counted in mx, status read
// from the association at the end of a potentially-failed hold.
func pathAlarms(am *alarms.Manager, mx *metrics.Set, log *zap.Logger, self string) func(string, sctp.Association) (*sctpalarms.Monitor, error) {
	return func(name string, a sctp.Association) (*sctpalarms.Monitor, error) {
		m, err := sctpalarms.New(sctpalarms.Config{Alarms: am, Metrics: mx, Log: log,
			Object: self + ",assoc=" + name, Name: name, Status: a.Status})
		if err != nil {
			log.Warn("association without path alarms", zap.String("association", name), zap.Error(err))
		}
		return m, err
	}
}

// roles maps the configured listen addresses to their roles.
func roles(cfg *gateway.Config) map[string]string {
	m := map[string]string{}
	for _, r := range []struct{ addr, role string }{
		{cfg.Network.Listen, "network"}, {cfg.Servers.Listen, "servers"},
		{cfg.Registrar.ASAP, "asap"}, {cfg.Registrar.ENRP, "enrp"},
	} {
		if a, err := sctp.ParseAddr(r.addr); err == nil && r.addr != "" {
			m[a.String()] = r.role
		}
	}
	return m
}
