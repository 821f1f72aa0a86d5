package metrics

import (
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Associations is the set of SCTP associations a process reports on, by
// configured name. As a Prometheus collector it reads each association's
// Status at scrape time: associations by state, and per path its state,
// SRTT, RTO, congestion window and whether it is the primary; and, from
// associations that keep them (sctp.StatsReader: kernel SCTP's
// SCTP_GET_ASSOC_STATS), the retransmitted and the data chunks. The
// management API lists the same set.
type Associations struct {
	mu sync.Mutex
	m  map[string]sctp.Association
}

// NewAssociations returns an empty set.
func NewAssociations() *Associations {
	return &Associations{m: map[string]sctp.Association{}}
}

// Add registers an association under its configured name, replacing the
// one registered before (a re-established association).
func (a *Associations) Add(name string, as sctp.Association) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.m[name] = as
}

// Remove forgets an association.
func (a *Associations) Remove(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, name)
}

// AssociationStatus is one association's status, as Snapshot reports it.
type AssociationStatus struct {
	Name   string
	Local  sctp.Addr
	Peer   sctp.Addr
	Status sctp.Status
	// Stats are the association's counters, nil when it keeps none.
	Stats *sctp.Stats
	// Err is set when Status failed (the association is closed).
	Err error
}

// Snapshot reads the status of every association, sorted by name.
func (a *Associations) Snapshot() []AssociationStatus {
	a.mu.Lock()
	names := make([]string, 0, len(a.m))
	for n := range a.m {
		names = append(names, n)
	}
	assocs := make([]sctp.Association, len(names))
	sort.Strings(names)
	for i, n := range names {
		assocs[i] = a.m[n]
	}
	a.mu.Unlock()
	out := make([]AssociationStatus, len(names))
	for i, as := range assocs {
		st, err := as.Status()
		if err != nil && st.State == "" {
			st.State = "closed"
		}
		out[i] = AssociationStatus{Name: names[i], Local: as.LocalAddr(), Peer: as.PeerAddr(), Status: st, Err: err}
		if sr, ok := as.(sctp.StatsReader); ok && err == nil {
			if s, serr := sr.Stats(); serr == nil {
				out[i].Stats = &s
			}
		}
	}
	return out
}

var (
	descAssocs   = prometheus.NewDesc("sigpool_sctp_associations", "Registered SCTP associations in each state.", []string{"state"}, nil)
	descPath     = prometheus.NewDesc("sigpool_sctp_path_state", "State of each path (peer address) of an association: 1 for the current state.", []string{"association", "address", "state"}, nil)
	descPrimary  = prometheus.NewDesc("sigpool_sctp_path_primary", "1 for the primary path of an association.", []string{"association", "address"}, nil)
	descSRTT     = prometheus.NewDesc("sigpool_sctp_path_srtt_seconds", "Smoothed round-trip time of a path.", []string{"association", "address"}, nil)
	descRTO      = prometheus.NewDesc("sigpool_sctp_path_rto_seconds", "Current retransmission timeout of a path.", []string{"association", "address"}, nil)
	descCwnd     = prometheus.NewDesc("sigpool_sctp_path_cwnd_bytes", "Congestion window of a path.", []string{"association", "address"}, nil)
	descUnacked  = prometheus.NewDesc("sigpool_sctp_association_unacked_chunks", "DATA chunks sent and not yet acknowledged.", []string{"association"}, nil)
	descPending  = prometheus.NewDesc("sigpool_sctp_association_pending_chunks", "DATA chunks waiting to be sent.", []string{"association"}, nil)
	descRtx      = prometheus.NewDesc("sigpool_sctp_retransmitted_chunks_total", "DATA chunks retransmitted on an association since it was established (kernel SCTP_GET_ASSOC_STATS).", []string{"association"}, nil)
	descChunks   = prometheus.NewDesc("sigpool_sctp_data_chunks_total", "DATA chunks sent (out) and received (in) on an association since it was established.", []string{"association", "direction"}, nil)
	pathStates   = []sctp.PathState{sctp.PathUnconfirmed, sctp.PathActive, sctp.PathInactive, sctp.PathPotentiallyFailed}
	assocStates  = []string{"established", "shutdown-pending", "closed"}
	associations = []*prometheus.Desc{descAssocs, descPath, descPrimary, descSRTT, descRTO, descCwnd, descUnacked, descPending, descRtx, descChunks}
)

// Describe implements prometheus.Collector.
func (a *Associations) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range associations {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (a *Associations) Collect(ch chan<- prometheus.Metric) {
	byState := map[string]int{}
	for _, s := range assocStates {
		byState[s] = 0
	}
	for _, as := range a.Snapshot() {
		byState[as.Status.State]++
		if as.Err != nil {
			continue
		}
		st := as.Status
		ch <- prometheus.MustNewConstMetric(descUnacked, prometheus.GaugeValue, float64(st.Unacked), as.Name)
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(st.Pending), as.Name)
		if x := as.Stats; x != nil {
			ch <- prometheus.MustNewConstMetric(descRtx, prometheus.CounterValue, float64(x.RetransmittedChunks), as.Name)
			ch <- prometheus.MustNewConstMetric(descChunks, prometheus.CounterValue, float64(x.DataChunksOut), as.Name, "out")
			ch <- prometheus.MustNewConstMetric(descChunks, prometheus.CounterValue, float64(x.DataChunksIn), as.Name, "in")
		}
		for _, p := range st.Paths {
			addr := p.Addr.String()
			for _, s := range pathStates {
				ch <- prometheus.MustNewConstMetric(descPath, prometheus.GaugeValue, b2f(p.State == s), as.Name, addr, s.String())
			}
			ch <- prometheus.MustNewConstMetric(descPrimary, prometheus.GaugeValue, b2f(p.Primary), as.Name, addr)
			ch <- prometheus.MustNewConstMetric(descSRTT, prometheus.GaugeValue, p.SRTT.Seconds(), as.Name, addr)
			ch <- prometheus.MustNewConstMetric(descRTO, prometheus.GaugeValue, p.RTO.Seconds(), as.Name, addr)
			ch <- prometheus.MustNewConstMetric(descCwnd, prometheus.GaugeValue, float64(p.Cwnd), as.Name, addr)
		}
	}
	for s, n := range byState {
		ch <- prometheus.MustNewConstMetric(descAssocs, prometheus.GaugeValue, float64(n), s)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
