package m3ua

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// A server with one raw ASP that comes up, goes active, sends DATA and one
// message the server refuses: the collector reports exactly that, and its
// metrics pass promlint.
func TestServerCollector(t *testing.T) {
	net := sctptest.NewNetwork()
	srvSink := newSink()
	srv := startServer(t, net, ServerConfig{
		SGP:      SGPConfig{ASes: []ASConfig{{RC: 1, Mode: Override}, {RC: 2, Mode: Override}}},
		Handlers: srvSink.handlers(),
	})
	raw, err := net.Dial(context.Background(), aspAddr(1), sgpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rawSend(t, raw, messages.NewAspUp(nil, nil))
	rawExpect(t, raw, ClassASPSM, messages.MsgTypeAspUpAck)
	rawSend(t, raw, messages.NewAspActive(nil, params.NewRoutingContext(1), nil))
	rawExpect(t, raw, ClassASPTM, messages.MsgTypeAspActiveAck)
	b, _ := AppendData(nil, UserData{RC: 1, HasRC: true, SLS: 1, Payload: []byte{1}})
	if err := raw.Send(sctp.Message{Stream: 2, PPID: PPID, Data: b}); err != nil {
		t.Fatal(err)
	}
	srvSink.waitFor(t, "the DATA", func() bool { return len(srvSink.data) == 1 })
	// DATA for an AS the ASP is not active in: ERR Unexpected Message.
	b, _ = AppendData(nil, UserData{RC: 2, HasRC: true, SLS: 1, Payload: []byte{1}})
	if err := raw.Send(sctp.Message{Stream: 2, PPID: PPID, Data: b}); err != nil {
		t.Fatal(err)
	}
	rawExpect(t, raw, ClassMGMT, messages.MsgTypeError)

	c := NewServerCollector(srv)
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	want := `
# HELP sigpool_m3ua_asps ASP associations of the server in each ASP state.
# TYPE sigpool_m3ua_asps gauge
sigpool_m3ua_asps{state="ASP-ACTIVE"} 1
sigpool_m3ua_asps{state="ASP-DOWN"} 0
sigpool_m3ua_asps{state="ASP-INACTIVE"} 0
# HELP sigpool_m3ua_errors_total M3UA ERR messages received (direction in) and sent (out), by error code.
# TYPE sigpool_m3ua_errors_total counter
sigpool_m3ua_errors_total{code="Unexpected Message",direction="out"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "sigpool_m3ua_asps", "sigpool_m3ua_errors_total"); err != nil {
		t.Error(err)
	}
	got := map[string]float64{}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			got[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = v
		}
	}
	for k, v := range map[string]float64{
		"sigpool_m3ua_messages_total{class=ASPSM,direction=in,type=ASPUP}":      1,
		"sigpool_m3ua_messages_total{class=ASPSM,direction=out,type=ASPUP ACK}": 1,
		"sigpool_m3ua_messages_total{class=ASPTM,direction=out,type=ASPAC ACK}": 1,
		"sigpool_m3ua_messages_total{class=Transfer,direction=in,type=DATA}":    2,
		"sigpool_m3ua_messages_total{class=MGMT,direction=out,type=ERR}":        1,
		"sigpool_m3ua_data_total{outcome=delivered}":                            1,
		"sigpool_m3ua_as_state{rc=1,state=AS-ACTIVE}":                           1,
		"sigpool_m3ua_as_state{rc=2,state=AS-INACTIVE}":                         1,
		"sigpool_m3ua_as_state{rc=2,state=AS-ACTIVE}":                           0,
	} {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

func TestClientCollectorLint(t *testing.T) {
	net := sctptest.NewNetwork()
	startServer(t, net, ServerConfig{SGP: SGPConfig{ASes: []ASConfig{{RC: 1, Mode: Override}}}})
	c := startClient(t, ClientConfig{
		ASP:       ASPConfig{RCs: []uint32{1}, AutoActivate: true},
		Transport: net, Local: aspAddr(1), SGPs: []sctp.Addr{sgpAddr},
	})
	waitActive(t, c, 1)
	col := NewClientCollector(c)
	problems, err := testutil.CollectAndLint(col)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	want := `
# HELP sigpool_m3ua_asp_state 1 for the current ASP state of the client at each configured SGP (by index), 0 for the others.
# TYPE sigpool_m3ua_asp_state gauge
sigpool_m3ua_asp_state{sgp="0",state="ASP-ACTIVE"} 1
sigpool_m3ua_asp_state{sgp="0",state="ASP-DOWN"} 0
sigpool_m3ua_asp_state{sgp="0",state="ASP-INACTIVE"} 0
`
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), "sigpool_m3ua_asp_state"); err != nil {
		t.Error(err)
	}
}
