//go:build lab && linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/mgmt"
)

// The sgw program in the lab (siglab puts the project's commands on PATH):
//
//	siglab test ./cmd/sgw -- -test.run '^TestLab' -test.v
//
// A bad file is refused before anything starts, with file:line:field; a good
// one runs the gateway over kernel SCTP in a netlab host, and SIGTERM drains
// and exits 0.
func TestLabSgwConfigAndDrain(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(cfg, "si: 3, ssn: 6", "si: 5, ssn: 6", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sgw", "--config", bad).CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 {
		t.Fatalf("sgw with a bad file: %v (is sgw on PATH? run under siglab test)\n%s", err, out)
	}
	if want := bad + ":13: services[0].key.ssn:"; !strings.Contains(string(out), want) {
		t.Fatalf("sgw said %q, want %q", out, want)
	}

	topo, err := netlab.New(1)
	if err != nil {
		t.Fatalf("netlab.New: %v (run under siglab test)", err)
	}
	defer topo.Close()
	h := topo.Host(1)
	good := filepath.Join(dir, "sgw.yaml")
	doc := fmt.Sprintf(`gateway_id: 1
tuning: rfc
network: {listen: %q, ases: [{name: stp, rc: 100, point_codes: [1001]}]}
servers: {listen: %q}
registrar: {asap: %q, enrp: %q}
services:
  - {name: hlr, rc: 200, pool: hlr, key: {dpc: 2001, si: 3, ssn: 6}}
limits: {drain: 2s}
`, labsctp.Addr(h, 2905).String(), labsctp.Addr(h, 2906).String(), labsctp.Addr(h, 3863).String(), labsctp.Addr(h, 9901).String())
	if err := os.WriteFile(good, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	p := h.Command("sgw", "--config", good, "--log-format", "console")
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(p.Output(), "sgw running") {
		if time.Now().After(deadline) || !p.Running() {
			t.Fatalf("sgw did not start:\n%s", p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t0 := time.Now()
	if err := syscall.Kill(p.Pid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("sgw after SIGTERM: %v\n%s", err, p.Output())
	}
	t.Logf("sgw drained and exited 0 in %.2fs", time.Since(t0).Seconds())
	for _, want := range []string{"draining", "sgw stopped"} {
		if !strings.Contains(p.Output(), want) {
			t.Fatalf("no %q in the log:\n%s", want, p.Output())
		}
	}
}

// TestLabSgwManagementViews: sgw on host 1 with its management listener,
// one aspd (application server process of the hlr pool) on host 2. The API
// lists the pool with aspd's element, aspd as an ASP-ACTIVE ASP of the
// servers side, and the associations of the servers side and of the
// registrar under their roles.
func TestLabSgwManagementViews(t *testing.T) {
	topo, err := netlab.New(2)
	if err != nil {
		t.Fatalf("netlab.New: %v (run under siglab test)", err)
	}
	defer topo.Close()
	gw, app := topo.Host(1), topo.Host(2)
	dir := t.TempDir()
	mgmtAddr := gw.Addr(netlab.NetA).String() + ":9100"
	sgwFile := filepath.Join(dir, "sgw.yaml")
	doc := fmt.Sprintf(`gateway_id: 1
tuning: rfc
mgmt: %q
network: {listen: %q, ases: [{name: stp, rc: 100, point_codes: [1001]}]}
servers: {listen: %q}
registrar: {asap: %q, enrp: %q}
services:
  - {name: hlr, rc: 200, pool: hlr.sigpool, key: {dpc: 2001, si: 3, ssn: 6}, min_elements: 1}
limits: {drain: 2s}
`, mgmtAddr, labsctp.Addr(gw, 2905).String(), labsctp.Addr(gw, 2906).String(), labsctp.Addr(gw, 3863).String(), labsctp.Addr(gw, 9901).String())
	if err := os.WriteFile(sgwFile, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	aspdFile := filepath.Join(dir, "aspd.yaml")
	adoc := fmt.Sprintf(`instance: lab-a
local: %s
gateways: [%q]
registrars: [%q]
tuning: rfc
pool: hlr.sigpool
rc: 200
capacity: 1000
service: {time: 0s, steps: 1}
drain: 1s
`, app.Addr(netlab.NetA).String()+"+"+app.Addr(netlab.NetB).String(), labsctp.Addr(gw, 2906).String(), labsctp.Addr(gw, 3863).String())
	if err := os.WriteFile(aspdFile, []byte(adoc), 0o644); err != nil {
		t.Fatal(err)
	}
	sgw := gw.Command("sgw", "--config", sgwFile, "--log-format", "console")
	if err := sgw.Start(); err != nil {
		t.Fatal(err)
	}
	defer sgw.Kill()
	waitLog(t, sgw, "sgw running")
	aspd := app.Command("aspd", "--config", aspdFile, "--log-format", "console")
	if err := aspd.Start(); err != nil {
		t.Fatal(err)
	}
	defer aspd.Kill()

	// The test's HTTP client dials from host 2's namespace.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
			err = app.Do(func() error {
				var e error
				c, e = (&net.Dialer{}).DialContext(ctx, network, addr)
				return e
			})
			return c, err
		},
	}}
	get := func(path string, v any) error {
		resp, err := client.Get("http://" + mgmtAddr + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("%s: %s %s", path, resp.Status, b)
		}
		return json.NewDecoder(resp.Body).Decode(v)
	}
	var (
		pools  []mgmt.Pool
		asps   []mgmt.ASP
		assocs []mgmt.Association
		last   error
	)
	deadline := time.Now().Add(90 * time.Second)
	for {
		last = func() error {
			if err := get("/api/v1/pools", &pools); err != nil {
				return err
			}
			if len(pools) != 1 || pools[0].Handle != "hlr.sigpool" || pools[0].MinElements != 1 || len(pools[0].Elements) != 1 {
				return fmt.Errorf("pools %+v", pools)
			}
			if err := get("/api/v1/asps", &asps); err != nil {
				return err
			}
			// aspd's ASP carries its PE identifier, the element's id.
			if len(asps) != 1 || asps[0].State != "ASP-ACTIVE" || !strings.HasPrefix(asps[0].ID, "servers-") ||
				!strings.HasSuffix(asps[0].ID, "-"+pools[0].Elements[0].ID) || len(asps[0].Servers) != 1 || asps[0].Servers[0] != "hlr" {
				return fmt.Errorf("asps %+v: want aspd ASP-ACTIVE for hlr on the servers side, as element %s", asps, pools[0].Elements[0].ID)
			}
			if err := get("/api/v1/associations", &assocs); err != nil {
				return err
			}
			roles := map[string]int{}
			for _, a := range assocs {
				roles[strings.SplitN(a.Name, "/", 2)[0]]++
				if !strings.Contains(a.Peer, app.Addr(netlab.NetA).String()) {
					return fmt.Errorf("association %+v: peer is not aspd's host", a)
				}
			}
			if roles["servers"] != 1 || roles["asap"] != 1 {
				return fmt.Errorf("associations %+v: want one on the servers side and one at the registrar", assocs)
			}
			return nil
		}()
		if last == nil {
			break
		}
		if time.Now().After(deadline) || !sgw.Running() {
			t.Fatalf("%v\nsgw:\n%s\naspd:\n%s", last, sgw.Output(), aspd.Output())
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("pool %s: element %+v", pools[0].Handle, pools[0].Elements[0])
	for _, a := range asps {
		t.Logf("asp %+v", a)
	}
	for _, a := range assocs {
		t.Logf("association %s %s→%s %s, %d paths", a.Name, a.Local, a.Peer, a.State, len(a.Paths))
	}
	// The metrics the deploy rules and dashboard query, from the running
	// sgw: its own, its registrar's and both M3UA sides'.
	resp, err := client.Get("http://" + mgmtAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"sigpool_gateway_msus_total{", "sigpool_gateway_msus_discarded_total{", "sigpool_gateway_queue_messages ",
		`sigpool_gateway_pool_live_elements{pool="hlr.sigpool"} 1`, "sigpool_gateway_selection_duration_seconds_bucket{",
		"sigpool_rserpool_handlespace_elements 1", `sigpool_m3ua_asps{side="servers",state="ASP-ACTIVE"} 1`,
		`sigpool_m3ua_asps{side="network",state="ASP-ACTIVE"} 0`, "sigpool_alarm_active{",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
	// aspd gone: its element leaves the pool view and its associations the
	// set.
	aspd.Kill()
	deadline = time.Now().Add(60 * time.Second)
	for {
		pools, assocs = nil, nil
		if get("/api/v1/pools", &pools) == nil && get("/api/v1/associations", &assocs) == nil &&
			len(pools) == 1 && len(pools[0].Elements) == 0 && len(assocs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after aspd's end: pools %+v, associations %+v", pools, assocs)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func waitLog(t *testing.T, p *netlab.Process, s string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(p.Output(), s) {
		if time.Now().After(deadline) || !p.Running() {
			t.Fatalf("no %q:\n%s", s, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
