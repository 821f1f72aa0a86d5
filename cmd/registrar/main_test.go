package main

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

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
	go func() { done <- run(ctx, zap.New(core), dc, cfg, 0) }()

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
