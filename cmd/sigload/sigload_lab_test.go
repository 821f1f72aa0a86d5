//go:build lab && linux

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// sigload over kernel SCTP in the lab: two stand-in gateways (an
// m3ua.Server answering as the script's server, with P-Aborts and
// silences by transaction id as in TestEndToEnd) on hosts 1 and 2, sigload
// on host 3, every association multihomed over networks A and B. Network A
// of gateway host 1 goes down a third into the load: its associations carry
// on over B. Every dialogue is accounted for by the rule the responder
// applied to it; nothing else is lost. No timing is asserted.
func TestLabSigloadMultihomed(t *testing.T) {
	topo, err := netlab.New(3)
	if err != nil {
		t.Fatalf("netlab.New(3): %v (run the lab tests with siglab test)", err)
	}
	t.Cleanup(func() { topo.Close() })
	r := &responder{peers: map[uint32]uint32{}, steps: map[uint32]int{}}
	var gws []sctp.Addr
	for i := 1; i <= 2; i++ {
		h := topo.Host(i)
		a := labsctp.Addr(h, 2905)
		var srv *m3ua.Server
		srv = m3ua.NewServer(m3ua.ServerConfig{
			SGP: m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 100, Mode: m3ua.Loadshare}}},
			Handlers: m3ua.Handlers{Data: func(id m3ua.AssocID, u m3ua.UserData) {
				r.handle(t, srv)(id, u)
			}},
		})
		ln, err := labsctp.Transport{Host: h}.Listen(a)
		if err != nil {
			t.Fatalf("listen on %s: %v", a, err)
		}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		gws = append(gws, a)
	}
	host := topo.Host(3)
	var out, log strings.Builder
	cfg := Config{
		Script:    Script{OPC: 1001, DPC: 2001, RC: 100, NI: 2, SSN: 8, CalledSSN: 6, Steps: 2},
		Transport: labsctp.Transport{Host: host}, Local: labsctp.Addr(host, 0), Gateways: gws,
		Rate: 50, Duration: 6 * time.Second, Timeout: 5 * time.Second, SLSSpread: 16, StartTimeout: time.Minute,
		Out: &out, Log: &log,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	go func() {
		// a third into the load (after the associations came up)
		for r.beginCount() < 100 {
			time.Sleep(10 * time.Millisecond)
		}
		if err := topo.LinkDown(1, netlab.NetA); err != nil {
			t.Errorf("LinkDown(1, A): %v", err)
		}
	}()
	s, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", out.String())
	s.WriteText(&out)
	t.Logf("summary:\n%s\nlog:\n%s", out.String(), log.String())
	if s.Offered != 300 {
		t.Fatalf("offered %d, want 300", s.Offered)
	}
	var wantAbort, wantLost uint64
	for n := uint64(1); n <= s.Offered; n++ {
		switch {
		case n%7 == 0:
			wantAbort++
		case n%11 == 0:
			wantLost++
		}
	}
	wantDone := s.Offered - wantAbort - wantLost
	if s.Completed != wantDone || s.Aborted != wantAbort || s.Lost != wantLost || s.NotSent != 0 || s.InFlight != 0 {
		t.Fatalf("completed %d aborted %d lost %d notsent %d; want %d %d %d 0", s.Completed, s.Aborted, s.Lost, s.NotSent,
			wantDone, wantAbort, wantLost)
	}
	if s.Active != 2 || s.Latency.Count != wantDone || s.Mismatch != 0 || s.Malformed != 0 {
		t.Fatalf("%+v", s)
	}
}
