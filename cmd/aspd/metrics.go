package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigpool/sigpool/asp"
	"github.com/sigpool/sigpool/rserpool"
)

// registerMetrics exports the server's and the responder's counters as
// sigpool_aspd_… metrics, read at scrape time.
func registerMetrics(reg *prometheus.Registry, s *asp.Server, r *Responder) {
	counter := func(name, help string, labels prometheus.Labels, f func(asp.Counters) uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sigpool_aspd_" + name, Help: help, ConstLabels: labels,
		}, func() float64 { return float64(f(s.Counters())) }))
	}
	kind := func(k string) prometheus.Labels { return prometheus.Labels{"kind": k} }
	const recv = "TCAP messages received, by kind."
	counter("tcap_received_total", recv, kind("begin"), func(c asp.Counters) uint64 { return c.Begins })
	counter("tcap_received_total", recv, kind("continue"), func(c asp.Counters) uint64 { return c.Continues })
	counter("tcap_received_total", recv, kind("end"), func(c asp.Counters) uint64 { return c.Ends })
	counter("tcap_received_total", recv, kind("abort"), func(c asp.Counters) uint64 { return c.Aborts })
	counter("tcap_received_total", recv, kind("unidirectional"), func(c asp.Counters) uint64 { return c.Unidirectional })
	counter("tcap_sent_total", "TCAP messages sent.", nil, func(c asp.Counters) uint64 { return c.Sent })
	const route = "TCAP messages sent, by the gateway association they took: the one the message answered came in on (ingress), or another chosen by SLS because that one was not usable (other)."
	counter("tcap_sent_route_total", route, prometheus.Labels{"via": "ingress"}, func(c asp.Counters) uint64 { return c.SentIngress })
	counter("tcap_sent_route_total", route, prometheus.Labels{"via": "other"}, func(c asp.Counters) uint64 { return c.SentOther })
	const unsent = "DATA a gateway association handed back undelivered, by result: sent again through another gateway, or lost."
	counter("data_unsent_total", unsent, prometheus.Labels{"result": "rerouted"}, func(c asp.Counters) uint64 { return c.Rerouted })
	counter("data_unsent_total", unsent, prometheus.Labels{"result": "lost"}, func(c asp.Counters) uint64 { return c.Lost })
	counter("tcap_send_failed_total", "TCAP messages that could not be sent.", nil, func(c asp.Counters) uint64 { return c.SendFailed })
	counter("undecodable_total", "SCCP or TCAP messages that did not decode.", nil, func(c asp.Counters) uint64 { return c.Undecodable })
	counter("dialogues_refused_total", "Begins refused (draining, no transaction id left).", nil, func(c asp.Counters) uint64 { return c.Refused })
	const unknown = "Continuations for a transaction id held by no dialogue here, by the tag they carry."
	counter("unknown_tid_total", unknown, prometheus.Labels{"tag": "own"}, func(c asp.Counters) uint64 { return c.UnknownTID })
	counter("unknown_tid_total", unknown, prometheus.Labels{"tag": "foreign"}, func(c asp.Counters) uint64 { return c.ForeignTID })
	counter("dialogues_timed_out_total", "Dialogues given up idle.", nil, func(c asp.Counters) uint64 { return c.TimedOut })
	const cookies = "ASAP cookies (checkpoints) sent to gateways, by result."
	counter("cookies_total", cookies, prometheus.Labels{"result": "sent"}, func(c asp.Counters) uint64 { return c.CookiesSent })
	counter("cookies_total", cookies, prometheus.Labels{"result": "failed"}, func(c asp.Counters) uint64 { return c.CookiesFailed })
	const echoes = "ASAP cookie echoes received, by result."
	counter("cookie_echoes_total", echoes, prometheus.Labels{"result": "adopted"}, func(c asp.Counters) uint64 { return c.Adopted })
	counter("cookie_echoes_total", echoes, prometheus.Labels{"result": "duplicate"}, func(c asp.Counters) uint64 { return c.DuplicateEchoes })
	counter("cookie_echoes_total", echoes, prometheus.Labels{"result": "bad"}, func(c asp.Counters) uint64 { return c.BadEchoes })
	counter("pe_id_redraws_total", "New PE identifiers drawn after a non-unique refusal.", nil, func(c asp.Counters) uint64 { return c.Redraws })

	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sigpool_aspd_dialogues_active", Help: "Dialogues held.",
	}, func() float64 { return float64(s.Active()) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sigpool_aspd_load_ratio", Help: "Load registered with the pool element (active dialogues / capacity, in whole load steps).",
	}, func() float64 { return float64(s.Load()) / rserpool.MaxLoad }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sigpool_aspd_gateways_active", Help: "Gateway associations where the ASP is ASP-ACTIVE.",
	}, func() float64 { return float64(s.ActiveGateways()) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sigpool_aspd_registered", Help: "1 while the pool element is registered.",
	}, func() float64 {
		if s.Registered() {
			return 1
		}
		return 0
	}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sigpool_aspd_pe_id", Help: "The current PE identifier (also the ASP Identifier).",
	}, func() float64 { return float64(s.PEID()) }))
	resp := func(name, help string, f func() uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sigpool_aspd_" + name, Help: help},
			func() float64 { return float64(f()) }))
	}
	resp("dialogues_completed_total", "Dialogues the responder ended (End sent).", r.completed.Load)
	resp("dialogues_resumed_total", "Dialogues handed over to this server and resumed from their checkpoint.", r.resumed.Load)
	resp("dialogues_aborted_total", "Dialogues the network aborted.", r.aborted.Load)
	resp("answers_failed_total", "Answers that could not be sent.", r.failed.Load)
	resp("bad_state_total", "Dialogues handed over with a state the responder does not know (aborted).", r.badState.Load)
}
