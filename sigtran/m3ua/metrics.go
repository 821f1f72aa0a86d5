package m3ua

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Prometheus metrics of a Server or a Client, read from their counters and
// states when scraped (nothing is updated on the message path but the
// atomic counters the drivers keep anyway). Every label is bounded: message
// class and type names from RFC 4666, error codes, ASP and AS states, the
// routing contexts of the configured (and at most MaxDynamic dynamic) ASes,
// and for a Client the index of the SGP in its configuration.
//
//	sigpool_m3ua_messages_total{direction,class,type}  M3UA messages received ("in") and sent ("out")
//	sigpool_m3ua_errors_total{direction,code}          ERR received ("in") and sent ("out"), by error code
//	sigpool_m3ua_data_total{outcome}                   DATA: delivered, sent, queued, and why some was not sent
//	sigpool_m3ua_driver_events_total{event}            the driver's own counts (send errors, timeouts, unsent, ...)
//	sigpool_m3ua_asps{state}                           Server: ASP associations in each state
//	sigpool_m3ua_asp_state{sgp,state}                  Client: 1 for the state of the ASP at SGPs[sgp]
//	sigpool_m3ua_as_state{rc,state}                    1 for the state of each AS (Client: any SGP's view)

var (
	descMessages = prometheus.NewDesc("sigpool_m3ua_messages_total",
		"M3UA messages received (direction in) and sent (out), by message class and type.",
		[]string{"direction", "class", "type"}, nil)
	descErrors = prometheus.NewDesc("sigpool_m3ua_errors_total",
		"M3UA ERR messages received (direction in) and sent (out), by error code.",
		[]string{"direction", "code"}, nil)
	descData = prometheus.NewDesc("sigpool_m3ua_data_total",
		"M3UA DATA by outcome: delivered to the layer above, sent, queued while an AS was pending, and dropped or handed back (queue_overflow, recovery_expired, no_route, unsent).",
		[]string{"outcome"}, nil)
	descDriver = prometheus.NewDesc("sigpool_m3ua_driver_events_total",
		"Events of the M3UA driver and machines: failed and timed-out sends, sends for a gone association, messages SCTP handed back, unencodable, non-M3UA messages dropped or sent, messages too long, T(ack) retransmissions, BEAT timeouts, ignored messages.",
		[]string{"event"}, nil)
	descASPs = prometheus.NewDesc("sigpool_m3ua_asps",
		"ASP associations of the server in each ASP state.",
		[]string{"state"}, nil)
	descASPState = prometheus.NewDesc("sigpool_m3ua_asp_state",
		"1 for the current ASP state of the client at each configured SGP (by index), 0 for the others.",
		[]string{"sgp", "state"}, nil)
	descASState = prometheus.NewDesc("sigpool_m3ua_as_state",
		"1 for the current state of each application server (by routing context), 0 for the others.",
		[]string{"rc", "state"}, nil)
)

var (
	aspStates = []ASPState{ASPDown, ASPInactive, ASPActive}
	asStates  = []ASState{ASDown, ASInactive, ASActive, ASPending}
)

// className names a message class for the class label.
func className(class uint8) string {
	switch class {
	case ClassMGMT:
		return "MGMT"
	case ClassTransfer:
		return "Transfer"
	case ClassSSNM:
		return "SSNM"
	case ClassASPSM:
		return "ASPSM"
	case ClassASPTM:
		return "ASPTM"
	case ClassRKM:
		return "RKM"
	}
	return "other"
}

// collector is what Server and Client collectors share.
type collector struct {
	counters func() (Counters, []*DriverCounters)
	states   func(ch chan<- prometheus.Metric)
}

// NewServerCollector returns a Prometheus collector of s's metrics.
func NewServerCollector(s *Server) prometheus.Collector {
	return &collector{
		counters: func() (Counters, []*DriverCounters) { return s.Counters(), []*DriverCounters{s.DriverCounters()} },
		states: func(ch chan<- prometheus.Metric) {
			s.mu.Lock()
			var n [3]int
			for _, p := range s.sgp.peers {
				n[p.state()]++
			}
			ases := make(map[uint32]ASState, len(s.sgp.rcs))
			for _, rc := range s.sgp.rcs {
				ases[rc] = s.sgp.ASState(rc)
			}
			s.mu.Unlock()
			for _, st := range aspStates {
				ch <- prometheus.MustNewConstMetric(descASPs, prometheus.GaugeValue, float64(n[st]), st.String())
			}
			asMetrics(ch, ases)
		},
	}
}

// NewClientCollector returns a Prometheus collector of c's metrics. The AS
// states are the best any SGP reported (AS-ACTIVE over AS-PENDING over
// AS-INACTIVE).
func NewClientCollector(c *Client) prometheus.Collector {
	return &collector{
		counters: func() (Counters, []*DriverCounters) {
			var sum Counters
			for _, x := range c.Counters() {
				sum = sum.add(x)
			}
			dcs := make([]*DriverCounters, len(c.links))
			for i := range c.links {
				dcs[i] = c.DriverCounters(i)
			}
			return sum, dcs
		},
		states: func(ch chan<- prometheus.Metric) {
			rank := map[ASState]int{ASDown: 0, ASInactive: 1, ASPending: 2, ASActive: 3}
			ases := map[uint32]ASState{}
			for i, st := range c.States() {
				for _, s := range aspStates {
					v := 0.0
					if s == st {
						v = 1
					}
					ch <- prometheus.MustNewConstMetric(descASPState, prometheus.GaugeValue, v, strconv.Itoa(i), s.String())
				}
				for rc, as := range c.ASStates(i) {
					if rank[as] >= rank[ases[rc]] {
						ases[rc] = as
					}
				}
			}
			asMetrics(ch, ases)
		},
	}
}

func asMetrics(ch chan<- prometheus.Metric, ases map[uint32]ASState) {
	for rc, st := range ases {
		for _, s := range asStates {
			v := 0.0
			if s == st {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descASState, prometheus.GaugeValue, v, strconv.FormatUint(uint64(rc), 10), s.String())
		}
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMessages, descErrors, descData, descDriver, descASPs, descASPState, descASState} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	mc, dcs := c.counters()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	// Message and error series appear once they count something: the
	// label sets stay small and bounded.
	for dir, name := range []string{"in", "out"} {
		for class := range msgClasses {
			for typ := range msgTypes {
				var v uint64
				for _, dc := range dcs {
					v += dc.msgs[dir][class][typ].Load()
				}
				if v == 0 {
					continue
				}
				tname := "other"
				if class < msgClasses-1 {
					tname = MessageName(uint8(class), uint8(typ))
				}
				counter(descMessages, v, name, className(uint8(class)), tname)
			}
		}
		for code := range errCodes {
			var v uint64
			for _, dc := range dcs {
				v += dc.errs[dir][code].Load()
			}
			if v != 0 {
				counter(descErrors, v, name, ErrorCode(code).String())
			}
		}
	}
	var unsent, sendErr, sendTO, noAssoc, handed, unenc, otherDrop, otherSent, tooLong uint64
	for _, dc := range dcs {
		unsent += dc.DataUnsent.Load()
		sendErr += dc.SendErrors.Load()
		sendTO += dc.SendTimeouts.Load()
		noAssoc += dc.NoAssoc.Load()
		handed += dc.Unsent.Load()
		unenc += dc.Unencodable.Load()
		otherDrop += dc.OtherDropped.Load()
		otherSent += dc.OtherSent.Load()
		tooLong += dc.TooLong.Load()
	}
	for _, o := range []struct {
		name string
		v    uint64
	}{
		{"delivered", mc.DataIn}, {"sent", mc.DataOut}, {"queued", mc.Queued},
		{"queue_overflow", mc.QueueOverflow}, {"recovery_expired", mc.RecoveryDrops},
		{"no_route", mc.NoRoute}, {"unsent", unsent},
	} {
		counter(descData, o.v, o.name)
	}
	for _, o := range []struct {
		name string
		v    uint64
	}{
		{"send_error", sendErr}, {"send_timeout", sendTO}, {"no_association", noAssoc},
		{"handed_back", handed}, {"unencodable", unenc}, {"other_dropped", otherDrop},
		{"other_sent", otherSent}, {"too_long", tooLong},
		{"retransmit", mc.Retransmits}, {"beat_timeout", mc.BeatTimeouts}, {"ignored", mc.Ignored},
	} {
		counter(descDriver, o.v, o.name)
	}
	c.states(ch)
}
