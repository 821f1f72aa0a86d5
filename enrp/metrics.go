package enrp

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigpool/sigpool/rserpool"
)

// Collector exports a registrar's counters and handlespace as Prometheus
// metrics (sigpool_rserpool_…). It reads them on the driver's loop at each
// scrape, so the figures of one scrape are consistent with each other.
// Register it with a prometheus.Registry.
type Collector struct {
	d *Driver

	registrations, resolutions, keepAliveTimeouts, reports, takeovers *prometheus.Desc
	checksumMismatches, resyncs, peersDead, tagConflicts              *prometheus.Desc
	undecodable, rateLimited                                          *prometheus.Desc
	removed, asap, enrp, errors                                       *prometheus.Desc
	elements, owned, pools, peers                                     *prometheus.Desc
}

// NewCollector returns the collector of driver d.
func NewCollector(d *Driver) *Collector {
	n := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("sigpool_rserpool_"+name, help, labels, nil)
	}
	return &Collector{
		d:                  d,
		registrations:      n("registrations_total", "Registrations accepted (initial and re-registrations)."),
		resolutions:        n("handle_resolutions_total", "Handle resolutions answered with elements (ASAP and in-process)."),
		keepAliveTimeouts:  n("keepalive_timeouts_total", "Elements removed because an endpoint keep-alive went unanswered."),
		reports:            n("unreachable_reports_total", "Endpoint-unreachable reports taken (ASAP and in-process)."),
		takeovers:          n("takeovers_total", "Takeovers of a dead peer's elements this registrar completed."),
		checksumMismatches: n("checksum_mismatches_total", "Peer presences whose PE checksum differed from the one computed here."),
		resyncs:            n("resyncs_total", "Handlespace resynchronisations started with a peer."),
		peersDead:          n("peers_dead_total", "Peer registrars declared dead."),
		tagConflicts:       n("tag_conflicts_total", "Registrations refused, and elements removed after a race between registrars, because another element of the pool holds their tag."),
		undecodable:        n("undecodable_messages_total", "ASAP and ENRP messages that could not be decoded."),
		rateLimited:        n("rate_limited_total", "Handle resolutions and reports dropped by the per-association rate limit."),
		removed:            n("elements_removed_total", "Elements that left the handlespace without a deregistration here, by reason.", "reason"),
		asap:               n("asap_messages_total", "ASAP messages by direction and type.", "direction", "type"),
		enrp:               n("enrp_messages_total", "ENRP messages by direction and type.", "direction", "type"),
		errors:             n("errors_total", "Operation Error causes sent (ASAP and ENRP, and refused registrations), by cause.", "cause"),
		elements:           n("handlespace_elements", "Pool elements in the handlespace."),
		owned:              n("owned_elements", "Pool elements this registrar is the home of."),
		pools:              n("handlespace_pools", "Pools in the handlespace."),
		peers:              n("peers", "Live peer registrars."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.registrations, c.resolutions, c.keepAliveTimeouts, c.reports, c.takeovers,
		c.checksumMismatches, c.resyncs, c.peersDead, c.tagConflicts, c.undecodable, c.rateLimited,
		c.removed, c.asap, c.enrp, c.errors, c.elements, c.owned, c.pools, c.peers} {
		ch <- d
	}
}

// snake turns a message type or cause name into a label value:
// ASAP_REGISTRATION → registration, "Non-unique PE Identifier" →
// non_unique_pe_identifier.
func snake(s, prefix string) string {
	s = strings.TrimPrefix(s, prefix)
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			if r == '-' {
				return '_'
			}
			return r
		case r == ' ', r == '/':
			return '_'
		}
		return -1
	}, s)
}

// Collect implements prometheus.Collector. A closed driver yields nothing.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	var k Counters
	var elements, owned, pools, peers int
	if !c.d.Do(func(r *Registrar) {
		k = r.Counters()
		elements, pools = r.hs.Len(), r.hs.Pools()
		owned = r.hs.Owned(r.cfg.ServerID)
		peers = len(r.livePeers())
	}) {
		return
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter(c.registrations, k.Registrations)
	counter(c.resolutions, k.Resolutions)
	counter(c.keepAliveTimeouts, k.Removed[RemovedKeepAlive])
	counter(c.reports, k.Reports)
	counter(c.takeovers, k.Takeovers)
	counter(c.checksumMismatches, k.ChecksumMismatches)
	counter(c.resyncs, k.Resyncs)
	counter(c.peersDead, k.PeersDead)
	counter(c.tagConflicts, k.TagConflicts)
	counter(c.undecodable, k.Undecodable)
	counter(c.rateLimited, k.RateLimited)
	for i := 1; i < len(k.Removed); i++ {
		counter(c.removed, k.Removed[i], snake(RemoveReason(i).String(), ""))
	}
	// Every defined message type and cause, zero or not, so that rates
	// have a series from the start.
	for t := rserpool.MsgRegistration; t <= rserpool.MsgError; t++ {
		name := snake(t.String(), "ASAP_")
		counter(c.asap, k.ASAPIn[t&15], "in", name)
		counter(c.asap, k.ASAPOut[t&15], "out", name)
	}
	for t := MsgPresence; t <= MsgError; t++ {
		name := snake(t.String(), "ENRP_")
		counter(c.enrp, k.ENRPIn[t&15], "in", name)
		counter(c.enrp, k.ENRPOut[t&15], "out", name)
	}
	for cause := rserpool.CauseUnspecified; cause <= rserpool.CauseRejectedSecurityConsiderations; cause++ {
		counter(c.errors, k.Causes[cause&15], snake(cause.String(), ""))
	}
	gauge(c.elements, elements)
	gauge(c.owned, owned)
	gauge(c.pools, pools)
	gauge(c.peers, peers)
}
