package gateway

import "github.com/prometheus/client_golang/prometheus"

// The gateway's metrics: its own (below), the embedded registrar's
// (sigpool_rserpool_…, enrp.NewCollector) and both M3UA sides'
// (sigpool_m3ua_…, m3ua.NewServerCollector, with label side="network" or
// "servers"). deploy/prometheus and deploy/grafana query these names; the
// deploy package's tests fail on a name no collector exports.

var (
	descMSUs = prometheus.NewDesc("sigpool_gateway_msus_total",
		"MSUs through the gateway, by direction: network_in, server_in (received), to_servers, to_network (sent).",
		[]string{"direction"}, nil)
	descDiscarded = prometheus.NewDesc("sigpool_gateway_msus_discarded_total",
		"MSUs the gateway discarded, by reason (and cookies it could not keep: cookie_malformed, cookie_inactive).", []string{"reason"}, nil)
	descActive = prometheus.NewDesc("sigpool_gateway_dialogues_active",
		"Dialogues begun and not yet ended or aborted, as the gateway saw them (an estimate).", nil, nil)
	descStarted = prometheus.NewDesc("sigpool_gateway_dialogues_started_total",
		"Network Begins given to a pool element.", nil, nil)
	descFailedOver = prometheus.NewDesc("sigpool_gateway_dialogues_failed_over_total",
		"Dialogues moved to a new owner with their state cookie.", nil, nil)
	descAborted = prometheus.NewDesc("sigpool_gateway_dialogues_aborted_total",
		"TC-ABORTs the gateway sent to the network.", nil, nil)
	descResent = prometheus.NewDesc("sigpool_gateway_resent_total",
		"MSUs SCTP handed back unsent, routed again.", nil, nil)
	descCookies = prometheus.NewDesc("sigpool_gateway_cookies_held",
		"Dialogue state cookies held.", nil, nil)
	descCookieDrops = prometheus.NewDesc("sigpool_gateway_cookies_dropped_total",
		"Cookies dropped before their dialogue ended, by reason (evicted, expired).", []string{"reason"}, nil)
	descQueue = prometheus.NewDesc("sigpool_gateway_queue_messages",
		"Inputs (messages and state changes) waiting for the gateway's loop.", nil, nil)
	descUnanswered = prometheus.NewDesc("sigpool_gateway_unanswered_rerouted_total",
		"Network messages an element had not answered when it failed, by outcome: begin (to a new element), continuation (to the rendezvous owner, with its cookie), aborted (TC-ABORT to the network).",
		[]string{"outcome"}, nil)
	descLive = prometheus.NewDesc("sigpool_gateway_pool_live_elements",
		"Live elements of each service's pool: in the handlespace and ASP-ACTIVE here.", []string{"pool"}, nil)
)

// collector exports the gateway's counters, read from the loop's last
// snapshot.
type collector struct{ g *Gateway }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMSUs, descDiscarded, descActive, descStarted, descFailedOver,
		descAborted, descResent, descCookies, descCookieDrops, descQueue, descLive, descUnanswered} {
		ch <- d
	}
	c.g.selection.Describe(ch)
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	g := c.g
	k := g.Counters()
	live := g.Live()
	cnt := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	cnt(descMSUs, k.NetworkIn, "network_in")
	cnt(descMSUs, k.ServerIn, "server_in")
	cnt(descMSUs, k.ToServers, "to_servers")
	cnt(descMSUs, k.ToNetwork, "to_network")
	for r := Reason(0); r < NumReasons; r++ {
		cnt(descDiscarded, k.Discarded[r], r.String())
	}
	gauge(descActive, float64(k.DialoguesActive))
	cnt(descStarted, k.DialoguesStarted)
	cnt(descFailedOver, k.DialoguesFailedOver)
	cnt(descAborted, k.DialoguesAborted)
	cnt(descResent, k.Resent)
	gauge(descCookies, float64(k.CookiesHeld))
	cnt(descCookieDrops, k.CookiesEvicted, "evicted")
	cnt(descCookieDrops, k.CookiesExpired, "expired")
	cnt(descUnanswered, k.UnansweredBegins, "begin")
	cnt(descUnanswered, k.UnansweredContinuations, "continuation")
	cnt(descUnanswered, k.UnansweredAborted, "aborted")
	gauge(descQueue, float64(g.q.depth.Load()))
	for i, s := range g.cfg.Services {
		gauge(descLive, float64(live[i]), s.Pool)
	}
	g.selection.Collect(ch)
}
