package metrics

import (
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigpool/sigpool/alarms"
)

var (
	descActive     = prometheus.NewDesc("sigpool_alarm_active", "Active alarms, by inventory entry, perceived severity and whether a shelf hides them.", []string{"alarm", "severity", "shelved"}, nil)
	descRaised     = prometheus.NewDesc("sigpool_alarm_raised_total", "Alarms raised, by inventory entry.", []string{"alarm"}, nil)
	descCleared    = prometheus.NewDesc("sigpool_alarm_cleared_total", "Alarms cleared (by the system or an operator), by inventory entry.", []string{"alarm"}, nil)
	descSuppressed = prometheus.NewDesc("sigpool_alarm_suppressed_total", "Conditions that went away before their raise hold ended, by inventory entry.", []string{"alarm"}, nil)
	descFlaps      = prometheus.NewDesc("sigpool_alarm_flaps_total", "Conditions that came back while their alarm was waiting to clear, by inventory entry.", []string{"alarm"}, nil)
	descDropped    = prometheus.NewDesc("sigpool_alarm_subscriptions_dropped_total", "Notification subscriptions ended because the subscriber fell behind.", nil, nil)
)

// AlarmCollector exports a Manager's alarms. sigpool_alarm_active has a
// series, zero or not, for every inventory entry at its default severity,
// so that dashboards and alert rules see the entry before it ever fires.
type AlarmCollector struct {
	m   *alarms.Manager
	inv []*alarms.Definition
}

// NewAlarmCollector returns a collector over m, whose inventory is inv (nil:
// alarms.Inventory).
func NewAlarmCollector(m *alarms.Manager, inv []*alarms.Definition) *AlarmCollector {
	if inv == nil {
		inv = alarms.Inventory
	}
	return &AlarmCollector{m: m, inv: inv}
}

// Describe implements prometheus.Collector.
func (c *AlarmCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descActive, descRaised, descCleared, descSuppressed, descFlaps, descDropped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *AlarmCollector) Collect(ch chan<- prometheus.Metric) {
	type key struct {
		name, sev string
		shelved   bool
	}
	active := map[key]int{}
	for _, d := range c.inv {
		active[key{d.Name, d.Severity.Label(), false}] = 0
	}
	for _, s := range c.m.Summary() {
		active[key{s.Name, s.Severity.Label(), s.Shelved}] += s.Count
	}
	for k, n := range active {
		ch <- prometheus.MustNewConstMetric(descActive, prometheus.GaugeValue, float64(n), k.name, k.sev, strconv.FormatBool(k.shelved))
	}
	stats, dropped := c.m.Stats()
	for _, d := range c.inv {
		s := stats[d.Name]
		ch <- prometheus.MustNewConstMetric(descRaised, prometheus.CounterValue, float64(s.Raised), d.Name)
		ch <- prometheus.MustNewConstMetric(descCleared, prometheus.CounterValue, float64(s.Cleared), d.Name)
		ch <- prometheus.MustNewConstMetric(descSuppressed, prometheus.CounterValue, float64(s.Suppressed), d.Name)
		ch <- prometheus.MustNewConstMetric(descFlaps, prometheus.CounterValue, float64(s.Flaps), d.Name)
	}
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(dropped))
}

// Names returns the name of every metric family this package defines, for
// the tests that check dashboards and rules against them.
func Names() []string {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range New().Collectors() {
			c.Describe(ch)
		}
		NewAssociations().Describe(ch)
		(&AlarmCollector{}).Describe(ch)
		close(ch)
	}()
	var names []string
	for d := range ch {
		// A Desc shows its name only in its String form: Desc{fqName: "...", ...}.
		s := d.String()
		if i := strings.Index(s, `fqName: "`); i >= 0 {
			s = s[i+len(`fqName: "`):]
			names = append(names, s[:strings.IndexByte(s, '"')])
		}
	}
	sort.Strings(names)
	return names
}
