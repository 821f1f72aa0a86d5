// Package sctpalarms turns the events of an SCTP association into alarms
// and metrics: the one place where "a path of a multihomed association
// failed" and "the association is down" become the path-down and
// association-down alarms of the inventory.
//
// It is its own package, rather than part of package alarms or
// alarms/metrics, because it is the only piece that needs both the alarm
// manager and the association layer: package alarms stays free of any
// protocol (the registrar and the gateway import it), and alarms/metrics
// stays a set of Prometheus definitions. The daemons create one Monitor
// per configured association and feed it every event their reader gets
// from Recv (or wrap the association with Wrap, which does that).
//
// The mapping, on the association's managed object DN (e.g.
// "sgw=sg1,assoc=stp1") and its paths (DN + ",path=<peer IP>"):
//
//	addr-unreachable, addr-potentially-failed   raise path-down on the path
//	addr-available, addr-removed                clear path-down on the path
//	comm-lost, shutdown, cant-start             raise association-down, clear every path-down
//	comm-up, restart                            clear association-down
//
// The manager debounces (see alarms.Manager): a path that flaps is one
// alarm. Every event is also counted in sigpool_sctp_events_total.
package sctpalarms

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/alarms/metrics"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Config configures a Monitor. Alarms and Object are required.
type Config struct {
	Alarms *alarms.Manager
	// Object is the association's managed object, e.g. "sgw=sg1,assoc=stp1".
	Object string
	// Name is the association label of the metrics; default the value of
	// the last part of Object ("stp1").
	Name string
	// Metrics, when set, counts the events in Metrics.SCTPEvents.
	Metrics *metrics.Set
	Log     *zap.Logger
}

// Monitor follows one association (across its re-establishments) and
// keeps its alarms in step with its events. It is safe for concurrent use.
type Monitor struct {
	cfg Config
	log *zap.Logger

	mu    sync.Mutex
	paths map[netip.Addr]bool // peer addresses with path-down reported present
	down  bool                // association-down reported present
}

// New returns a monitor for the association cfg.Object.
func New(cfg Config) (*Monitor, error) {
	if cfg.Alarms == nil {
		return nil, fmt.Errorf("sctpalarms: no alarm manager")
	}
	if !alarms.ValidDN(cfg.Object) {
		return nil, fmt.Errorf("sctpalarms: invalid managed object %q (want key=value[,key=value...])", cfg.Object)
	}
	cfg.Object = alarms.NormalizeDN(cfg.Object)
	if cfg.Name == "" {
		last := cfg.Object[strings.LastIndexByte(cfg.Object, ',')+1:]
		_, cfg.Name, _ = strings.Cut(last, "=")
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	return &Monitor{
		cfg:   cfg,
		log:   cfg.Log.With(zap.String("association", cfg.Name), zap.String("object", cfg.Object)),
		paths: map[netip.Addr]bool{},
	}, nil
}

// Object returns the association's managed object.
func (m *Monitor) Object() string { return m.cfg.Object }

// PathObject returns the managed object of the path to peer address ip.
func (m *Monitor) PathObject(ip netip.Addr) string {
	return m.cfg.Object + ",path=" + ip.Unmap().String()
}

// Observe applies one event of the association.
func (m *Monitor) Observe(ev sctp.Event) {
	if s := m.cfg.Metrics; s != nil {
		s.SCTPEvents.WithLabelValues(m.cfg.Name, ev.Kind.String()).Inc()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch ev.Kind {
	case sctp.EventAddrUnreachable, sctp.EventAddrPotentiallyFailed:
		if !ev.Addr.IsValid() {
			return
		}
		text := "peer address unreachable (" + ev.Kind.String() + ")"
		if ev.Kind == sctp.EventAddrPotentiallyFailed {
			text = "peer address potentially failed: retransmission timeout on this path (" + ev.Kind.String() + ")"
		}
		m.raisePath(ev.Addr.Unmap(), text)
	case sctp.EventAddrAvailable, sctp.EventAddrRemoved:
		if ev.Addr.IsValid() {
			m.clearPath(ev.Addr.Unmap())
		}
	case sctp.EventCommLost, sctp.EventShutdown, sctp.EventCantStart:
		text := ev.Kind.String()
		switch ev.Kind {
		case sctp.EventCommLost:
			text = "association lost (comm-lost)"
			if ev.Error != 0 {
				text += fmt.Sprintf(", error cause %d", ev.Error)
			}
		case sctp.EventShutdown:
			text = "peer shut the association down (shutdown)"
		case sctp.EventCantStart:
			text = "association could not be set up (cant-start)"
		}
		m.downLocked(text)
	case sctp.EventCommUp, sctp.EventRestart:
		m.upLocked()
	}
}

// Down reports the association down for a reason that comes with no event:
// a dial that failed, a listener with no peer after the setup time.
func (m *Monitor) Down(text string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.downLocked(text)
}

// Sync sets the path alarms from a status the association reported (its
// Status method): inactive paths are down, active ones up. A daemon calls
// it after comm-up, when it may have missed the events of a previous
// process, and whenever it has reason to doubt the events.
func (m *Monitor) Sync(st sctp.Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range st.Paths {
		ip := p.Addr.Unmap()
		switch p.State {
		case sctp.PathInactive:
			m.raisePath(ip, "peer address unreachable (path inactive)")
		case sctp.PathActive:
			m.clearPath(ip)
		}
	}
}

// Stop clears every condition of the association: it was removed from the
// configuration, or this end closed it on purpose.
func (m *Monitor) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clearPaths()
	if m.down {
		m.down = false
		m.report(m.cfg.Alarms.Clear(alarms.AssociationDown, m.cfg.Object))
	}
}

// DownPaths returns the peer addresses reported down, sorted.
func (m *Monitor) DownPaths() []netip.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]netip.Addr, 0, len(m.paths))
	for ip := range m.paths {
		out = append(out, ip)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

func (m *Monitor) raisePath(ip netip.Addr, text string) {
	m.paths[ip] = true
	m.report(m.cfg.Alarms.Raise(alarms.Report{
		Def: alarms.PathDown, Object: m.PathObject(ip), AdditionalText: text,
		AdditionalInfo: map[string]string{"association": m.cfg.Name, "peerAddress": ip.String()},
	}))
}

func (m *Monitor) clearPath(ip netip.Addr) {
	delete(m.paths, ip)
	m.report(m.cfg.Alarms.Clear(alarms.PathDown, m.PathObject(ip)))
}

func (m *Monitor) clearPaths() {
	for ip := range m.paths {
		m.clearPath(ip)
	}
}

func (m *Monitor) downLocked(text string) {
	// The association alarm says it all: its paths' alarms would only
	// repeat it, and the paths are re-learnt when it comes back.
	m.clearPaths()
	m.down = true
	m.report(m.cfg.Alarms.Raise(alarms.Report{
		Def: alarms.AssociationDown, Object: m.cfg.Object, AdditionalText: text,
		AdditionalInfo: map[string]string{"association": m.cfg.Name},
	}))
}

func (m *Monitor) upLocked() {
	m.down = false
	m.report(m.cfg.Alarms.Clear(alarms.AssociationDown, m.cfg.Object))
}

func (m *Monitor) report(err error) {
	if err != nil {
		m.log.Error("alarm not reported", zap.Error(err))
	}
}

// Wrap returns a that reports every event its Recv returns to m before
// handing it on, and syncs the path alarms from Status on comm-up. The
// upper layers use the result in place of a.
func Wrap(a sctp.Association, m *Monitor) sctp.Association { return &watched{Association: a, m: m} }

type watched struct {
	sctp.Association
	m *Monitor
}

func (w *watched) Recv(buf []byte) (sctp.Message, *sctp.Event, error) {
	msg, ev, err := w.Association.Recv(buf)
	if ev != nil {
		w.m.Observe(*ev)
		if ev.Kind == sctp.EventCommUp || ev.Kind == sctp.EventRestart {
			if st, err := w.Association.Status(); err == nil {
				w.m.Sync(st)
			}
		}
	}
	return msg, ev, err
}
