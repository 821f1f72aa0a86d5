package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

func TestConfigFileAndFlags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registrar.yaml")
	os.WriteFile(path, []byte(`
server_id: 7
asap: 10.99.0.1:3863
enrp: 10.99.0.1+10.98.0.1:9901
peers: [10.99.0.2:9901, 10.99.0.3:9901]
allow: [10.0.0.0/8]
keepalive: 500ms
max_bad_pe_report: 5
tuning: rfc
`), 0o644)
	var file File
	cmd := command(func(f File) error { file = f; return nil })
	cmd.SetArgs([]string{"--config", path, "--keepalive-timeout", "2s", "--id", "8"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	dc, cfg, err := settings(file)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerID != 8 || cfg.KeepAlive != 500*time.Millisecond || cfg.KeepAliveTimeout != 2*time.Second ||
		cfg.MaxBadPEReport != 5 || len(cfg.Peers) != 2 || len(cfg.Allow) != 1 ||
		len(cfg.ENRPTransport.Addrs) != 2 || dc.ASAPAddr.Port != 3863 {
		t.Fatalf("%+v %+v", cfg, dc)
	}
	if _, err := load(writeTemp(t, "bogus: 1\n")); err == nil {
		t.Fatal("unknown field accepted")
	}
	if _, _, err := settings(File{}); err == nil {
		t.Fatal("no server id accepted")
	}
	if _, _, err := settings(File{ServerID: 1, Tuning: "fast"}); err == nil {
		t.Fatal("unknown tuning accepted")
	}
}

func writeTemp(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte(s), 0o644)
	return p
}

// run logs every registration and the counters at exit.
func TestRunLogs(t *testing.T) {
	n := sctptest.NewNetwork()
	core, logs := observer.New(zap.InfoLevel)
	_, cfg, err := settings(File{ServerID: 1, ASAP: "10.99.0.1:3863", ENRP: "10.99.0.1:9901"})
	if err != nil {
		t.Fatal(err)
	}
	dc, _, _ := settings(File{ServerID: 1, ASAP: "10.99.0.1:3863", ENRP: "10.99.0.1:9901"})
	dc.Transport = n
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- run(ctx, zap.New(core), dc, cfg, 0, "") }()

	ip := netip.MustParseAddr("10.1.0.1")
	pe := rserpool.NewPEDriver(rserpool.DriverConfig{Transport: n}, rserpool.PEConfig{
		PoolHandle: []byte("EchoPool"),
		Element: rserpool.PoolElement{ID: 42, Policy: rserpool.Policy{Type: rserpool.RoundRobin},
			UserTransport: rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: 7, Addrs: []netip.Addr{ip}}},
		Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{dc.ASAPAddr}},
	}, nil)
	pe.Start()
	defer pe.Close()
	deadline := time.Now().Add(10 * time.Second)
	for logs.FilterMessage("registration").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no registration logged: %v", logs.All())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c := logs.FilterMessage("counters").All()
	if len(c) != 1 {
		t.Fatalf("counters logged %d times", len(c))
	}
	m := c[0].ContextMap()
	if m["asap_in.ASAP_REGISTRATION"] != uint64(1) || m["elements"] != int64(1) {
		t.Fatalf("counters %v", m)
	}
}

// The management listener serves the registrar's metrics and pools.
func TestManagement(t *testing.T) {
	n := sctptest.NewNetwork()
	dc, cfg, err := settings(File{ServerID: 3, ASAP: "10.99.0.3:3863"})
	if err != nil {
		t.Fatal(err)
	}
	dc.Transport = n
	d, err := enrp.NewDriver(dc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	defer d.Close(false)
	ip := netip.MustParseAddr("10.1.0.3")
	pe := rserpool.NewPEDriver(rserpool.DriverConfig{Transport: n}, rserpool.PEConfig{
		PoolHandle: []byte("EchoPool"),
		Element: rserpool.PoolElement{ID: 77, Policy: rserpool.Policy{Type: rserpool.LeastUsed, Load: 5},
			UserTransport: rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: 7, Addrs: []netip.Addr{ip}}},
		Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{dc.ASAPAddr}},
	}, nil)
	pe.Start()
	defer pe.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serveMgmt(ctx, zap.NewNop(), d, 3, []net.Listener{ln}) }()
	get := func(path string) string {
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s %s", path, resp.Status, b)
		}
		return string(b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(get("/metrics"), "sigpool_rserpool_registrations_total 1") {
		if time.Now().After(deadline) {
			t.Fatalf("metrics without the registration:\n%s", get("/metrics"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := get("/metrics"); !strings.Contains(m, "sigpool_rserpool_handlespace_elements 1") ||
		!strings.Contains(m, `sigpool_rserpool_asap_messages_total{direction="in",type="registration"} 1`) {
		t.Errorf("metrics:\n%s", m)
	}
	if p := strings.Join(strings.Fields(get("/api/v1/pools")), ""); !strings.Contains(p, `"handle":"EchoPool"`) || !strings.Contains(p, `"id":"77"`) ||
		!strings.Contains(p, `"load":5`) {
		t.Errorf("pools: %s", p)
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
}
