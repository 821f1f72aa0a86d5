//go:build lab && linux

//siglab:peers

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labm3ua"
	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/lab/peers"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Wireshark's dissectors cross-check the SCCP and TCAP codecs: sigload
// (UDT, then XUDT) against a stand-in gateway whose responder answers with
// the same codecs, captured on network A, decoded by tshark. No frame is
// malformed or carries an error; tshark reads the message types, subsystem
// numbers and every TCAP kind the script has. The GSM MAP dissector is off:
// the script's operation 100 is no MAP operation.
func TestLabSigloadTshark(t *testing.T) {
	if err := peers.Available(); err != nil {
		t.Fatal(err)
	}
	topo, err := netlab.New(2)
	if err != nil {
		t.Fatalf("netlab.New(2): %v (run the lab tests with siglab test)", err)
	}
	t.Cleanup(func() { topo.Close() })
	r := &responder{peers: map[uint32]uint32{}, steps: map[uint32]int{}}
	gw := topo.Host(1)
	a := labsctp.Addr(gw, 2905)
	var srv *m3ua.Server
	srv = m3ua.NewServer(m3ua.ServerConfig{
		SGP: m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 100, Mode: m3ua.Loadshare}}},
		Handlers: m3ua.Handlers{Data: func(id m3ua.AssocID, u m3ua.UserData) {
			r.handle(t, srv)(id, u)
		}},
	})
	ln, err := labsctp.Transport{Host: gw}.Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	capture, err := peers.StartCapture(gw, netlab.IfaceA, "sigload-sccp-tcap", "-f", "sctp")
	if err != nil {
		t.Fatal(err)
	}
	host := topo.Host(2)
	for _, xudt := range []bool{false, true} {
		cfg := Config{
			Script:    Script{OPC: 1001, DPC: 2001, RC: 100, NI: 2, SSN: 8, CalledSSN: 6, Steps: 1, XUDT: xudt},
			Transport: labsctp.Transport{Host: host}, Local: labsctp.Addr(host, 0), Gateways: []sctp.Addr{a},
			Rate: 20, Duration: time.Second, Timeout: 3 * time.Second, SLSSpread: 4, StartTimeout: time.Minute,
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		s, err := Run(ctx, cfg)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if s.Offered != 20 || s.Completed != 17 || s.Aborted != 2 || s.Lost != 1 {
			t.Fatalf("xudt %v: %+v", xudt, s)
		}
	}
	if err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	decode := labm3ua.Open(t, capture.File, "gsm_map").Decode
	if bad := decode("-Y", "_ws.malformed || _ws.expert.severity == error"); strings.TrimSpace(bad) != "" {
		t.Fatalf("tshark finds malformed frames or errors:\n%s", bad)
	}
	out := decode("-Y", "tcap", "-T", "fields", "-E", "separator=|",
		"-e", "sccp.message_type", "-e", "sccp.called.ssn", "-e", "sccp.calling.ssn", "-e", "tcap.otid", "-e", "tcap.dtid", "-e", "_ws.col.Info")
	t.Logf("tshark:\n%s", out)
	types := map[string]bool{}
	kinds := map[string]int{}
	lines := 0
	begins, aborts := map[string]bool{}, map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 6 {
			t.Fatalf("tshark line %q", line)
		}
		lines++
		for _, v := range strings.Split(f[0], ",") {
			types[v] = true
		}
		for _, ssn := range strings.Split(f[1]+","+f[2], ",") {
			if ssn != "6" && ssn != "8" {
				t.Errorf("subsystem %q in %q", ssn, line)
			}
		}
		if strings.Contains(f[5], "Begin") {
			begins[f[3]] = true
		}
		if strings.Contains(f[5], "Abort") {
			aborts[f[4]] = true
		}
		info := strings.ToLower(f[5])
		for _, k := range []string{"begin", "continue", "end", "abort"} {
			kinds[k] += strings.Count(info, k)
		}
	}
	if !types["9"] && !types["0x09"] || !types["17"] && !types["0x11"] {
		t.Errorf("tshark saw SCCP message types %v, want UDT (9) and XUDT (17)", types)
	}
	for _, k := range []string{"begin", "continue", "end", "abort"} {
		if kinds[k] == 0 {
			t.Errorf("tshark decoded no TCAP %s (%v)", k, kinds)
		}
	}
	if lines == 0 {
		t.Fatal("tshark decoded no TCAP")
	}
	// the transaction ids as tshark reads them: Begins 1..20 (both runs),
	// P-Aborts to 7 and 14 (the responder's rule)
	for n := 1; n <= 20; n++ {
		if id := fmt.Sprintf("%08x", n); !begins[id] {
			t.Errorf("tshark saw no Begin with otid %s", id)
		}
	}
	if len(aborts) != 2 || !aborts["00000007"] || !aborts["0000000e"] {
		t.Errorf("tshark saw Aborts to %v, want 00000007 and 0000000e", aborts)
	}
}
