package gateway

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

// The registry a gateway registers with holds its own families, its
// registrar's and both M3UA sides' (told apart by side), and they move:
// one ASP-ACTIVE element shows as an ASP-ACTIVE ASP of the servers side and
// as an element of the handlespace and of the pool.
func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr := sctptest.NewNetwork()
	g, err := New(testConfig(t), Options{Transport: tr, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	startServer(t, tr, g, "10.0.0.11", 0x5eed0011, &app{})
	waitFor(t, "a live element", func() bool { return g.Live()[0] == 1 })

	families := map[string]*dto.MetricFamily{}
	value := func(name string, labels map[string]string) (float64, bool) {
		f := families[name]
		if f == nil {
			return 0, false
		}
	next:
		for _, m := range f.GetMetric() {
			for k, v := range labels {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == k && l.GetValue() == v)
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			}
		}
		return 0, false
	}
	waitFor(t, "the metrics", func() bool {
		fs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		clear(families)
		for _, f := range fs {
			families[f.GetName()] = f
		}
		asps, _ := value("sigpool_m3ua_asps", map[string]string{"side": "servers", "state": "ASP-ACTIVE"})
		elems, _ := value("sigpool_rserpool_handlespace_elements", nil)
		live, _ := value("sigpool_gateway_pool_live_elements", map[string]string{"pool": "hlr"})
		return asps == 1 && elems == 1 && live == 1
	})
	for _, n := range []string{
		"sigpool_gateway_msus_total", "sigpool_gateway_msus_discarded_total", "sigpool_gateway_queue_messages",
		"sigpool_gateway_dialogues_active", "sigpool_gateway_dialogues_started_total",
		"sigpool_gateway_dialogues_failed_over_total", "sigpool_gateway_cookies_held",
		"sigpool_rserpool_registrations_total", "sigpool_m3ua_messages_total",
		"sigpool_gateway_unanswered_rerouted_total",
	} {
		if families[n] == nil {
			t.Errorf("no family %s", n)
		}
	}
	if _, ok := value("sigpool_m3ua_asps", map[string]string{"side": "network", "state": "ASP-ACTIVE"}); !ok {
		t.Error("no sigpool_m3ua_asps of the network side")
	}
	if _, ok := value("sigpool_gateway_msus_discarded_total", map[string]string{"reason": "queue_full"}); !ok {
		t.Error("no queue_full discards series")
	}
	// No dialogue was started: the histogram is empty, but it is there.
	if f := families["sigpool_gateway_selection_duration_seconds"]; f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
		t.Error("no selection duration histogram")
	}
}
