//go:build lab && linux

package metrics

// Over kernel SCTP in the lab (never skipped):
//
//	go build -o /tmp/ops/siglab ./cmd/siglab && /tmp/ops/siglab test ./alarms/metrics -- -test.run '^TestLab' -test.v

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// TestLabRetransmittedChunks: an association between two netlab hosts on
// network A only. Messages sent on a clean link leave
// sigpool_sctp_retransmitted_chunks_total where it was; with netem
// dropping 10% of the packets of host 1's link each way, the same traffic
// makes it move, and the collector reports what the kernel's
// SCTP_GET_ASSOC_STATS says.
func TestLabRetransmittedChunks(t *testing.T) {
	topo, err := netlab.New(2)
	if err != nil {
		t.Fatalf("netlab.New(2): %v (run under siglab test: root, namespaces, sctp.ko)", err)
	}
	t.Cleanup(func() { topo.Close() })
	h1, h2 := topo.Host(1), topo.Host(2)
	tuning := sctp.RFC // loose timers: the VM is emulated
	tuning.Name = "lab"
	tuning.NoDelay = true
	tuning.RTOMin = 100 * time.Millisecond
	tuning.RTOInitial = 300 * time.Millisecond
	tuning.RTOMax = 1 * time.Second
	k := sctp.Kernel{Config: sctp.Config{Tuning: tuning}}
	srvAddr := sctp.Addr{IPs: []netip.Addr{h1.Addr(netlab.NetA)}, Port: 2905}

	var ln sctp.Listener
	if err := h1.Do(func() (err error) { ln, err = k.Listen(srvAddr); return err }); err != nil {
		t.Fatalf("listen %v: %v", srvAddr, err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan sctp.Association, 1)
	go func() {
		a, err := ln.Accept()
		if err != nil {
			t.Errorf("accept: %v", err)
			close(accepted)
			return
		}
		accepted <- a
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var cli sctp.Association
	if err := h2.Do(func() (err error) {
		cli, err = k.Dial(ctx, sctp.Addr{IPs: []netip.Addr{h2.Addr(netlab.NetA)}}, srvAddr)
		return err
	}); err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { cli.Abort() })
	srv, ok := <-accepted
	if !ok {
		t.FailNow()
	}
	t.Cleanup(func() { srv.Abort() })

	// The receiving side counts what arrives.
	got := make(chan int, 1024)
	go func() {
		buf := make([]byte, sctp.MaxMessage)
		for {
			m, ev, err := cli.Recv(buf)
			if err != nil {
				return
			}
			if ev == nil && len(m.Data) > 0 {
				got <- len(m.Data)
			}
		}
	}()
	go func() { // drain the sender's events
		buf := make([]byte, 256)
		for {
			if _, _, err := srv.Recv(buf); err != nil {
				return
			}
		}
	}()

	assocs := NewAssociations()
	assocs.Add("h2", srv)
	reg := prometheus.NewRegistry()
	reg.MustRegister(assocs)
	rtx := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "sigpool_sctp_retransmitted_chunks_total" {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatal("no sigpool_sctp_retransmitted_chunks_total series")
		return 0
	}
	// send n messages of 200 bytes in bursts of 20, each burst received
	// before the next.
	send := func(n int) {
		payload := make([]byte, 200)
		for i := 0; i < n; i += 20 {
			for j := 0; j < 20; j++ {
				if err := srv.Send(sctp.Message{Stream: uint16(j % 4), PPID: 3, Data: payload}); err != nil {
					t.Fatal(err)
				}
			}
			for j := 0; j < 20; j++ {
				select {
				case <-got:
				case <-time.After(60 * time.Second):
					t.Fatalf("message %d not received within 60 s", i+j)
				}
			}
		}
	}

	const n = 400
	send(n)
	clean := rtx()
	st, err := srv.(sctp.StatsReader).Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("clean link: %d messages, %.0f retransmitted chunks; stats %+v", n, clean, st)
	if st.DataChunksOut < n {
		t.Fatalf("kernel counted %d DATA chunks out for %d messages", st.DataChunksOut, n)
	}

	if err := topo.SetImpairment(1, netlab.NetA, netlab.Impairment{Loss: 10}); err != nil {
		t.Fatal(err)
	}
	t.Logf("netem: 10%% loss each way on host 1's link to network A")
	send(n)
	lossy := rtx()
	st, _ = srv.(sctp.StatsReader).Stats()
	t.Logf("lossy link: %d more messages, counter %.0f (+%.0f); stats %+v", n, lossy, lossy-clean, st)
	if lossy <= clean {
		t.Fatalf("sigpool_sctp_retransmitted_chunks_total did not move under 10%% loss: %.0f then %.0f", clean, lossy)
	}
	if float64(st.RetransmittedChunks) < lossy {
		t.Fatalf("kernel says %d retransmitted, metric %v", st.RetransmittedChunks, lossy)
	}
	if err := topo.ClearImpairment(1, netlab.NetA); err != nil {
		t.Fatal(err)
	}
}
