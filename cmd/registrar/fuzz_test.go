package main

import (
	"os"
	"testing"

	"github.com/sigpool/sigpool/internal/config"
)

// FuzzConfig: any bytes as the registrar's file. A refusal is an error
// naming a line or a key, never a panic; an accepted file gives a registrar
// configuration with an identity and an ASAP address with a port, and
// every address in it has a port too.
func FuzzConfig(f *testing.F) {
	if b, err := os.ReadFile("testdata/registrar.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("server_id: 7\nasap: 10.99.0.1:3863\npeers:\n  - 10.99.0.2:9901\n  - 10.99.0.3\ntuning: fast\nallow: [10.0.0.0/33]\n"))
	f.Add([]byte("server_id: 1\nenrp: '[fd00::1]+[fd01::1]:9901'\nkeepalive: 5\n"))
	f.Add([]byte("server_id: 4\nasap: 10.99.0.4:3863\nlog_level: debug\nresolution_rate: 50\ntag_bits: 33\n"))
	f.Add([]byte("server_id: 2\npools:\n  - {handle: a, min_elements: 2}\n  - {min_elements: 1}\nstartup_grace: 1s\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var file File
		err := config.Parse("fuzz.yaml", b, &file, nil)
		if err != nil {
			for _, fe := range config.Flatten(err) {
				if fe.Msg == "" {
					t.Fatalf("an error without a message: %#v", fe)
				}
			}
			return
		}
		dc, cfg := settings(file)
		if cfg.ServerID == 0 || dc.ASAPAddr.Port == 0 || len(dc.ASAPAddr.IPs) == 0 {
			t.Fatalf("accepted without identity or ASAP address: %+v %+v", cfg, dc)
		}
		if !file.ENRP.IsZero() && dc.ENRPAddr.Port == 0 {
			t.Fatalf("ENRP address without a port: %v", dc.ENRPAddr)
		}
		for _, p := range cfg.Peers {
			if p.Port == 0 || len(p.IPs) == 0 {
				t.Fatalf("peer without address or port: %v", p)
			}
		}
		if len(cfg.Allow) != len(file.Allow) {
			t.Fatalf("allow-list %v from %q", cfg.Allow, file.Allow)
		}
		seen := map[string]bool{}
		for _, p := range file.Pools {
			if p.Handle == "" || seen[p.Handle] || p.MinElements < 0 {
				t.Fatalf("pools accepted: %+v", file.Pools)
			}
			seen[p.Handle] = true
		}
		if err := restartOnly(file, file); err != nil {
			t.Fatalf("a file differs from itself: %v", err)
		}
	})
}
