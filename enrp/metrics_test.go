package enrp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

// The collector passes promlint and reports what the registrar did: one
// element registered over ASAP, resolved twice (once in-process), and one
// registration refused for its tag.
func TestCollector(t *testing.T) {
	n := sctptest.NewNetwork()
	asap := addr("10.97.0.1", rserpool.Port)
	d, err := NewDriver(DriverConfig{Transport: n, ASAPAddr: asap}, Config{ServerID: 9, TagBits: 16})
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	defer d.Close(false)
	c := NewCollector(d)
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Fatalf("promlint: %v %+v", err, problems)
	}

	as, err := n.Dial(t.Context(), addr("10.97.0.2", 0), asap)
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	ask := func(m rserpool.Message) rserpool.Message {
		t.Helper()
		b, _ := m.AppendTo(nil)
		if err := as.Send(sctp.Message{PPID: rserpool.PPID, Data: b}); err != nil {
			t.Fatal(err)
		}
		as.SetReadDeadline(time.Now().Add(waitLimit))
		buf := make([]byte, 4096)
		for {
			got, e, err := as.Recv(buf)
			if err != nil {
				t.Fatal(err)
			}
			if e != nil {
				continue
			}
			r, _, err := rserpool.DecodeMessage(got.Data)
			if err != nil {
				t.Fatal(err)
			}
			if _, ka := r.(*rserpool.EndpointKeepAlive); !ka {
				return r
			}
		}
	}
	pe := rserpool.PoolElement{ID: 0x10001, RegistrationLife: 30000, Policy: rserpool.Policy{Type: rserpool.RoundRobin},
		UserTransport: tr(addr("10.97.0.2", 2906))}
	if r := ask(&rserpool.Registration{PoolHandle: []byte("P"), Element: pe}).(*rserpool.RegistrationResponse); r.Reject {
		t.Fatalf("registration refused: %+v", r)
	}
	pe.ID = 0x20001 // same tag
	if r := ask(&rserpool.Registration{PoolHandle: []byte("P"), Element: pe}).(*rserpool.RegistrationResponse); !r.Reject {
		t.Fatalf("tag conflict accepted: %+v", r)
	}
	ask(&rserpool.HandleResolution{PoolHandle: []byte("P")})
	if _, err := d.Select([]byte("P"), 1); err != nil {
		t.Fatal(err)
	}

	want := `
# HELP sigpool_rserpool_handle_resolutions_total Handle resolutions answered with elements (ASAP and in-process).
# TYPE sigpool_rserpool_handle_resolutions_total counter
sigpool_rserpool_handle_resolutions_total 2
# HELP sigpool_rserpool_handlespace_elements Pool elements in the handlespace.
# TYPE sigpool_rserpool_handlespace_elements gauge
sigpool_rserpool_handlespace_elements 1
# HELP sigpool_rserpool_owned_elements Pool elements this registrar is the home of.
# TYPE sigpool_rserpool_owned_elements gauge
sigpool_rserpool_owned_elements 1
# HELP sigpool_rserpool_registrations_total Registrations accepted (initial and re-registrations).
# TYPE sigpool_rserpool_registrations_total counter
sigpool_rserpool_registrations_total 1
# HELP sigpool_rserpool_tag_conflicts_total Registrations refused, and elements removed after a race between registrars, because another element of the pool holds their tag.
# TYPE sigpool_rserpool_tag_conflicts_total counter
sigpool_rserpool_tag_conflicts_total 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"sigpool_rserpool_handle_resolutions_total", "sigpool_rserpool_handlespace_elements", "sigpool_rserpool_owned_elements",
		"sigpool_rserpool_registrations_total", "sigpool_rserpool_tag_conflicts_total"); err != nil {
		t.Error(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]string{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			if m.GetCounter() != nil {
				series[key] = fmt.Sprint(m.GetCounter().GetValue())
			}
		}
	}
	for key, v := range map[string]string{
		"sigpool_rserpool_asap_messages_total,direction=in,type=registration":           "2",
		"sigpool_rserpool_asap_messages_total,direction=out,type=registration_response": "2",
		"sigpool_rserpool_errors_total,cause=non_unique_pe_identifier":                  "1",
		"sigpool_rserpool_enrp_messages_total,direction=in,type=presence":               "0",
		"sigpool_rserpool_elements_removed_total,reason=keep_alive_timeout":             "0",
	} {
		if got, ok := series[key]; !ok || got != v {
			t.Errorf("%s = %q (present %v), want %q", key, got, ok, v)
		}
	}
}
