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
//	addr-unreachable                   raise path-down on the path
//	addr-potentially-failed            raise path-down on the path if it is not active again after PFHold
//	addr-available, addr-removed       clear path-down on the path (and forget a PF hold)
//	comm-lost, shutdown, cant-start    raise association-down, clear every path-down
//	comm-up, restart                   clear association-down
//
// A potentially-failed path (RFC 7829: one retransmission timeout on it,
// data moved to another path) is often a single lost packet or a brief
// stall: it comes back at the next heartbeat. Raising path-down on every PF
// would make an alarm storm on a lossy but working network, so the monitor
// holds it: the alarm is raised only if the path is still not active once
// PFHold has passed (default: the telecom profile's PathDown bound, the
// longest a failing path takes to be declared unreachable, which raises
// at once). When the monitor can read the association's status (Wrap,
// or Config.Status) it checks the path's state at the end of the hold too.
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
	"time"

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

	// PFHold is how long a potentially-failed path may stay so before
	// path-down is raised. Zero: DefaultPFHold; negative: no hold (raise
	// at the PF event).
	PFHold time.Duration
	// Clock times the holds; default alarms.SystemClock.
	Clock alarms.Clock
	// Status, when set, reads the association's status at the end of a
	// hold: a path found active then raises nothing. Wrap sets it.
	Status func() (sctp.Status, error)
}

// DefaultPFHold is the telecom profile's PathDown bound: a path that is
// failing is declared unreachable within it (addr-unreachable raises the
// alarm at once), so a path still potentially failed after it is stuck
// there (an idle path whose heartbeats are late, say), which deserves the
// alarm.
var DefaultPFHold = sctp.Telecom.Bounds().PathDown

// Monitor follows one association (across its re-establishments) and
// keeps its alarms in step with its events. It is safe for concurrent use.
type Monitor struct {
	cfg Config
	log *zap.Logger

	mu     sync.Mutex
	paths  map[netip.Addr]bool     // peer addresses with path-down reported present
	held   map[netip.Addr]*pfTimer // potentially-failed paths within their hold
	down   bool                    // association-down reported present
	status func() (sctp.Status, error)
}

type pfTimer struct {
	t    alarms.Timer
	text string
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
	if cfg.PFHold == 0 {
		cfg.PFHold = DefaultPFHold
	}
	if cfg.Clock == nil {
		cfg.Clock = alarms.SystemClock
	}
	return &Monitor{
		cfg:    cfg,
		log:    cfg.Log.With(zap.String("association", cfg.Name), zap.String("object", cfg.Object)),
		paths:  map[netip.Addr]bool{},
		held:   map[netip.Addr]*pfTimer{},
		status: cfg.Status,
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
	case sctp.EventAddrUnreachable:
		if ev.Addr.IsValid() {
			m.raisePath(ev.Addr.Unmap(), "peer address unreachable ("+ev.Kind.String()+")")
		}
	case sctp.EventAddrPotentiallyFailed:
		if ev.Addr.IsValid() {
			m.holdPF(ev.Addr.Unmap(), "peer address potentially failed: retransmission timeout on this path ("+ev.Kind.String()+")")
		}
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
		case sctp.PathPotentiallyFailed:
			m.holdPF(ip, "peer address potentially failed (path state)")
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

// HeldPaths returns the potentially-failed peer addresses whose hold is
// running, sorted.
func (m *Monitor) HeldPaths() []netip.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]netip.Addr, 0, len(m.held))
	for ip := range m.held {
		out = append(out, ip)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// holdPF starts the hold of a potentially-failed path, unless its alarm is
// already raised or its hold already runs.
func (m *Monitor) holdPF(ip netip.Addr, text string) {
	if m.cfg.PFHold < 0 {
		m.raisePath(ip, text)
		return
	}
	if m.paths[ip] {
		return // already down: the PF changes nothing
	}
	if _, ok := m.held[ip]; ok {
		return
	}
	p := &pfTimer{text: text}
	m.held[ip] = p
	p.t = m.cfg.Clock.AfterFunc(m.cfg.PFHold, func() { m.pfExpired(ip, p) })
}

// pfExpired ends a hold: the path is still not known active, so its alarm
// is raised, unless the association's status says it is active now.
func (m *Monitor) pfExpired(ip netip.Addr, p *pfTimer) {
	var st sctp.Status
	var stErr error = errNoStatus
	m.mu.Lock()
	status := m.status
	m.mu.Unlock()
	if status != nil {
		st, stErr = status()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.held[ip] != p {
		return // cleared, or the association went down, meanwhile
	}
	delete(m.held, ip)
	if stErr == nil {
		for _, path := range st.Paths {
			if path.Addr.Unmap() == ip && path.State == sctp.PathActive {
				m.log.Debug("potentially-failed path active again within the hold", zap.Stringer("peer", ip))
				return
			}
		}
	}
	m.raisePath(ip, fmt.Sprintf("%s, not active again within %v", p.text, m.cfg.PFHold))
}

var errNoStatus = fmt.Errorf("sctpalarms: no status")

func (m *Monitor) stopHold(ip netip.Addr) {
	if p, ok := m.held[ip]; ok {
		p.t.Stop()
		delete(m.held, ip)
	}
}

func (m *Monitor) raisePath(ip netip.Addr, text string) {
	m.stopHold(ip)
	m.paths[ip] = true
	m.report(m.cfg.Alarms.Raise(alarms.Report{
		Def: alarms.PathDown, Object: m.PathObject(ip), AdditionalText: text,
		AdditionalInfo: map[string]string{"association": m.cfg.Name, "peerAddress": ip.String()},
	}))
}

func (m *Monitor) clearPath(ip netip.Addr) {
	m.stopHold(ip)
	delete(m.paths, ip)
	m.report(m.cfg.Alarms.Clear(alarms.PathDown, m.PathObject(ip)))
}

func (m *Monitor) clearPaths() {
	for ip := range m.held {
		m.stopHold(ip)
	}
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
// It also gives m the association's Status for the end of PF holds.
func Wrap(a sctp.Association, m *Monitor) sctp.Association {
	m.mu.Lock()
	m.status = a.Status
	m.mu.Unlock()
	return &watched{Association: a, m: m}
}

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
