// Package metrics defines sigpool's Prometheus metrics: the counters and
// gauges the protocol drivers move (SCTP, M3UA, RSerPool, gateway), a
// collector that reads the state of registered SCTP associations at scrape
// time, and one that exports the alarm manager's active alarms.
//
// Every name starts with sigpool_, uses base units (seconds, bytes) and
// ends counters in _total. Labels take values from small fixed sets (a
// state, a message type, a reason) or from configuration (an association,
// a pool, a queue): never a peer-supplied value, so the number of series
// is bounded by the configuration.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Set holds the metrics the drivers update. One Set per process, registered
// once; the fields are safe for concurrent use.
type Set struct {
	// SCTP (the per-path state and the retransmitted chunks come from
	// the Associations collector).
	// SCTPEvents counts the association events (sctp.EventKind names:
	// comm-lost, addr-unreachable, send-failed...), per association; the
	// path and association failures among them are what retransmission
	// thresholds (Path.Max.Retrans, Association.Max.Retrans) ended in.
	SCTPEvents *prometheus.CounterVec // association, event

	// M3UA.
	M3UAMessages *prometheus.CounterVec // direction (in|out), class, type (RFC 4666 names)
	M3UAErrors   *prometheus.CounterVec // direction, code (RFC 4666 error code name)
	M3UAASPs     *prometheus.GaugeVec   // state: ASPs in each state
	M3UAASes     *prometheus.GaugeVec   // state: application servers in each state

	// RSerPool.
	Registrations         *prometheus.CounterVec // result (ok|rejected)
	HandleResolutions     *prometheus.CounterVec // result (ok|failed|cached)
	KeepAliveTimeouts     prometheus.Counter
	UnreachableReports    *prometheus.CounterVec // direction (sent|received)
	Takeovers             prometheus.Counter
	HandlespacePools      prometheus.Gauge
	HandlespaceElements   prometheus.Gauge
	PoolElements          *prometheus.GaugeVec // pool
	HandlespaceMismatches prometheus.Counter

	// Gateway.
	MSUs              *prometheus.CounterVec // direction (in|out)
	MSUsDiscarded     *prometheus.CounterVec // reason
	DialoguesActive   prometheus.Gauge
	DialoguesStarted  prometheus.Counter
	DialoguesFailover prometheus.Counter
	SelectionDuration prometheus.Histogram
	QueueDepth        *prometheus.GaugeVec // queue
}

// New creates the metrics (not yet registered).
func New() *Set {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	}
	return &Set{
		SCTPEvents: counter("sigpool_sctp_events_total", "SCTP association events (comm-up, comm-lost, addr-unreachable, send-failed...), per association.", "association", "event"),

		M3UAMessages: counter("sigpool_m3ua_messages_total", "M3UA messages sent (out) and received (in), by message class and type.", "direction", "class", "type"),
		M3UAErrors:   counter("sigpool_m3ua_errors_total", "M3UA ERR messages sent (out) and received (in), by error code.", "direction", "code"),
		M3UAASPs:     gauge("sigpool_m3ua_asps", "M3UA ASPs in each state (ASP-DOWN, ASP-INACTIVE, ASP-ACTIVE).", "state"),
		M3UAASes:     gauge("sigpool_m3ua_application_servers", "M3UA application servers in each state (AS-DOWN, AS-INACTIVE, AS-ACTIVE, AS-PENDING).", "state"),

		Registrations:         counter("sigpool_rserpool_registrations_total", "ASAP registrations handled by the registrar, by result.", "result"),
		HandleResolutions:     counter("sigpool_rserpool_handle_resolutions_total", "Pool handle resolutions, by result.", "result"),
		KeepAliveTimeouts:     prometheus.NewCounter(prometheus.CounterOpts{Name: "sigpool_rserpool_keepalive_timeouts_total", Help: "ASAP endpoint keep-alives that were not answered in time."}),
		UnreachableReports:    counter("sigpool_rserpool_unreachable_reports_total", "ASAP Endpoint Unreachable reports sent by pool users and received by registrars.", "direction"),
		Takeovers:             prometheus.NewCounter(prometheus.CounterOpts{Name: "sigpool_rserpool_takeovers_total", Help: "ENRP takeovers of a dead registrar's pool elements performed by this registrar."}),
		HandlespacePools:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "sigpool_rserpool_handlespace_pools", Help: "Pools in the handlespace."}),
		HandlespaceElements:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "sigpool_rserpool_handlespace_elements", Help: "Pool elements in the handlespace."}),
		PoolElements:          gauge("sigpool_rserpool_pool_elements", "Live pool elements, per configured pool.", "pool"),
		HandlespaceMismatches: prometheus.NewCounter(prometheus.CounterOpts{Name: "sigpool_rserpool_handlespace_checksum_mismatches_total", Help: "ENRP handlespace checksum mismatches detected against peer registrars."}),

		MSUs:              counter("sigpool_gateway_msus_total", "MSUs (M3UA DATA) received from (in) and delivered to (out) the network side.", "direction"),
		MSUsDiscarded:     counter("sigpool_gateway_msus_discarded_total", "MSUs the gateway discarded, by reason.", "reason"),
		DialoguesActive:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "sigpool_gateway_dialogues_active", Help: "TCAP dialogues the gateway tracks."}),
		DialoguesStarted:  prometheus.NewCounter(prometheus.CounterOpts{Name: "sigpool_gateway_dialogues_started_total", Help: "TCAP dialogues placed on a pool element."}),
		DialoguesFailover: prometheus.NewCounter(prometheus.CounterOpts{Name: "sigpool_gateway_dialogues_failed_over_total", Help: "TCAP dialogues moved to another pool element after a failure."}),
		SelectionDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sigpool_gateway_selection_duration_seconds",
			Help:    "Time to select the pool element of a new dialogue.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10), // 1µs .. 262ms
		}),
		QueueDepth: gauge("sigpool_gateway_queue_messages", "Messages waiting in each gateway queue.", "queue"),
	}
}

// Collectors returns every metric of the set.
func (s *Set) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		s.SCTPEvents,
		s.M3UAMessages, s.M3UAErrors, s.M3UAASPs, s.M3UAASes,
		s.Registrations, s.HandleResolutions, s.KeepAliveTimeouts, s.UnreachableReports, s.Takeovers,
		s.HandlespacePools, s.HandlespaceElements, s.PoolElements, s.HandlespaceMismatches,
		s.MSUs, s.MSUsDiscarded, s.DialoguesActive, s.DialoguesStarted, s.DialoguesFailover,
		s.SelectionDuration, s.QueueDepth,
	}
}

// Register registers every metric of the set with reg.
func (s *Set) Register(reg prometheus.Registerer) error {
	for _, c := range s.Collectors() {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
