package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/sigpool/sigpool/alarms/sctpalarms"
	"github.com/sigpool/sigpool/internal/daemon"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// watchedTransport is the registrar's Transport as the daemon sees it.
//
// Every association joins the daemon's association set while it lives, so
// that /metrics (sigpool_sctp_*) and GET /api/v1/associations show it. Its
// name is "<role>/<peer address>": asap or enrp for one accepted on that
// listener, peer<i> for the one dialled to the i-th configured peer (1-based,
// as in the file), out for any other dialled (a peer learned over ENRP, a
// pool element's ASAP endpoint during a takeover).
//
// The associations to the configured peers also raise association-down (a
// dial that fails, a lost or shut-down association) and path-down (one
// network of a multihomed association failing) on
// "registrar=<id>,assoc=peer<i>", through an sctpalarms.Monitor each. The
// registrar dials these again until they are up, so each alarm clears when
// its association or path is back.
type watchedTransport struct {
	sctp.Transport
	d      *daemon.Daemon
	roles  map[string]string              // listen address → role
	peers  map[string]int                 // configured peer address → index
	mons   map[string]*sctpalarms.Monitor // configured peer address → monitor
	mu     sync.Mutex
	inUse  map[string]bool // names in the set
	serial int
}

func newWatchedTransport(tr sctp.Transport, d *daemon.Daemon, f File) (*watchedTransport, error) {
	w := &watchedTransport{Transport: tr, d: d, roles: map[string]string{}, peers: map[string]int{},
		mons: map[string]*sctpalarms.Monitor{}, inUse: map[string]bool{}}
	w.roles[f.ASAP.Addr.Addr.String()] = "asap"
	if !f.ENRP.IsZero() {
		w.roles[f.ENRP.Addr.Addr.String()] = "enrp"
	}
	for i, p := range f.Peers {
		key := p.Addr.Addr.String()
		if _, dup := w.mons[key]; dup {
			continue
		}
		mon, err := sctpalarms.New(sctpalarms.Config{Alarms: d.Alarms, Metrics: d.Metrics, Log: d.Log,
			Object: fmt.Sprintf("%s,assoc=peer%d", d.Self, i+1)})
		if err != nil {
			return nil, err
		}
		w.peers[key], w.mons[key] = i, mon
	}
	return w, nil
}

func (w *watchedTransport) Listen(laddr sctp.Addr) (sctp.Listener, error) {
	ln, err := w.Transport.Listen(laddr)
	if err != nil {
		return nil, err
	}
	role, ok := w.roles[laddr.String()]
	if !ok {
		role = "in"
	}
	return &watchedListener{Listener: ln, w: w, role: role}, nil
}

func (w *watchedTransport) Dial(ctx context.Context, laddr, raddr sctp.Addr) (sctp.Association, error) {
	a, err := w.Transport.Dial(ctx, laddr, raddr)
	key := raddr.String()
	mon := w.mons[key]
	if err != nil {
		if mon != nil {
			mon.Down("dial failed: " + err.Error())
		}
		return nil, err
	}
	role := "out"
	if i, ok := w.peers[key]; ok {
		role = fmt.Sprintf("peer%d", i+1)
		a = sctpalarms.Wrap(a, mon)
	}
	return w.join(role, a), nil
}

// stop clears the configured peers' association alarms: the registrar
// closes those associations on purpose.
func (w *watchedTransport) stop() {
	for _, mon := range w.mons {
		mon.Stop()
	}
}

// join puts a in the set under a name no other living association has.
func (w *watchedTransport) join(role string, a sctp.Association) sctp.Association {
	w.mu.Lock()
	defer w.mu.Unlock()
	name := role + "/" + a.PeerAddr().String()
	if w.inUse[name] {
		w.serial++
		name = fmt.Sprintf("%s#%d", name, w.serial)
	}
	w.inUse[name] = true
	wa := &watchedAssoc{Association: a, w: w, name: name}
	w.d.Associations.Add(name, wa)
	return wa
}

func (w *watchedTransport) leave(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.inUse, name)
	w.d.Associations.Remove(name)
}

type watchedListener struct {
	sctp.Listener
	w    *watchedTransport
	role string
}

func (l *watchedListener) Accept() (sctp.Association, error) {
	a, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.w.join(l.role, a), nil
}

// watchedAssoc leaves the set when it ends: closed or aborted by the
// registrar, or its end read from Recv.
type watchedAssoc struct {
	sctp.Association
	w    *watchedTransport
	name string
	once sync.Once
}

func (a *watchedAssoc) gone() { a.once.Do(func() { a.w.leave(a.name) }) }

func (a *watchedAssoc) Recv(buf []byte) (sctp.Message, *sctp.Event, error) {
	m, ev, err := a.Association.Recv(buf)
	if err != nil && (errors.Is(err, io.EOF) || errors.Is(err, sctp.ErrClosed) || errors.Is(err, sctp.ErrAssociationLost)) {
		a.gone()
	}
	return m, ev, err
}

func (a *watchedAssoc) Close() error {
	a.gone()
	return a.Association.Close()
}

func (a *watchedAssoc) Abort() error {
	a.gone()
	return a.Association.Abort()
}
