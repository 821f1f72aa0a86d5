//go:build lab && linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// The registrar as a process in the lab, over kernel SCTP:
//
//	siglab test ./cmd/registrar -- -test.run '^TestLab' -test.v
//
// Two netlab hosts, each running a registrar process (the binary siglab
// built), multihomed on networks A and B and peers of each other. A pool
// element in the test process registers with registrar 2. Registrar 2 is
// killed (SIGKILL): registrar 1's management API (its Unix socket) shows
// registrar-peer-lost on registrar=1,peer=2 and takeover-performed for the
// element, and association-down on its association to registrar 2.
// Registrar 2 is started again: both clear (after their 10 s hold). The
// element dies: registrar 1, which watches its pool, raises pool-empty.
// Then SIGTERM stops registrar 1 with status 0.
func TestLabRegistrarPeerAlarms(t *testing.T) {
	topo, err := netlab.New(2)
	if err != nil {
		t.Fatalf("netlab.New(2): %v (run the lab tests with siglab test)", err)
	}
	t.Cleanup(func() { topo.Close() })
	h1, h2 := topo.Host(1), topo.Host(2)
	dir := t.TempDir()
	sock := filepath.Join(dir, "registrar1.sock")

	start := func(h *netlab.Host, id int, peer *netlab.Host, extra ...string) *netlab.Process {
		args := append([]string{"--id", fmt.Sprint(id),
			"--asap", labsctp.Addr(h, rserpool.Port).String(),
			"--enrp", labsctp.Addr(h, enrp.Port).String(),
			"--peer", labsctp.Addr(peer, enrp.Port).String(),
			"--tuning", "rfc", "--log-format", "console"}, extra...)
		p := h.Command("registrar", args...)
		if err := p.Start(); err != nil {
			t.Fatalf("registrar on %v: %v (is it on PATH? run under siglab test)", h, err)
		}
		t.Cleanup(func() { p.Kill() })
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("registrar %d output:\n%s", id, p.Output())
			}
		})
		return p
	}
	// Registrar 1 also watches the pool (file key pools).
	conf := filepath.Join(dir, "registrar1.yaml")
	if err := os.WriteFile(conf, []byte("pools:\n  - {handle: lab.pool, min_elements: 1}\nstartup_grace: 1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r1 := start(h1, 1, h2, "--mgmt-socket", sock, "--config", conf)
	r2 := start(h2, 2, h1)

	api := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
	// active lists registrar 1's alarms of that name on object.
	active := func(def *alarms.Definition, object string) (alarms.Alarm, bool, error) {
		resp, err := api.Get("http://registrar/api/fm/v1/alarms?alarmName=" + url.QueryEscape(def.Name))
		if err != nil {
			return alarms.Alarm{}, false, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return alarms.Alarm{}, false, fmt.Errorf("%s: %s", resp.Status, b)
		}
		var list map[string]alarms.Alarm
		if err := json.Unmarshal(b, &list); err != nil {
			return alarms.Alarm{}, false, fmt.Errorf("%v: %s", err, b)
		}
		for _, a := range list {
			if a.Object == object && a.Name == def.Name {
				return a, true, nil
			}
		}
		return alarms.Alarm{}, false, nil
	}
	get := func(path string) (string, error) {
		resp, err := api.Get("http://registrar" + path)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	// Process start under software emulation on a shared host can be
	// slow; a minute is allowed for what is not a timing requirement.
	wait := func(what string, limit time.Duration, f func() (bool, error)) time.Duration {
		t.Helper()
		t0 := time.Now()
		var last error
		for {
			ok, err := f()
			if ok {
				return time.Since(t0)
			}
			if err != nil {
				last = err
			}
			if time.Since(t0) > limit {
				t.Fatalf("%s: not within %v (last error: %v)", what, limit, last)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// A pool element on host 2, registered with registrar 2, its ASAP
	// endpoint reachable for registrar 1's takeover.
	nt := labsctp.Transport{Host: h2, Kernel: sctp.Kernel{Config: sctp.Config{Tuning: sctp.RFC}}}
	peASAP := labsctp.Addr(h2, 3864)
	ln, err := nt.Listen(peASAP)
	if err != nil {
		t.Fatal(err)
	}
	asapT := rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: peASAP.Port, Addrs: peASAP.IPs}
	user := labsctp.Addr(h2, 2905)
	pe := rserpool.NewPEDriver(rserpool.DriverConfig{Transport: nt}, rserpool.PEConfig{
		PoolHandle: []byte("lab.pool"),
		Element: rserpool.PoolElement{ID: 0x2002, Policy: rserpool.Policy{Type: rserpool.LeastUsed},
			UserTransport: rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: user.Port, Addrs: user.IPs},
			ASAPTransport: &asapT},
		Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{labsctp.Addr(h2, rserpool.Port)}},
	}, ln)
	pe.Start()
	t.Cleanup(pe.Close)

	// Registrar 1 learns the element from registrar 2 over ENRP and shows
	// it on /api/v1/pools, homed at registrar 2.
	wait("registrar 1 to show the element of registrar 2", time.Minute, func() (bool, error) {
		p, err := get("/api/v1/pools")
		p = strings.Join(strings.Fields(p), "")
		return strings.Contains(p, `"handle":"lab.pool"`) && strings.Contains(p, `"id":"00002002"`), err
	})
	const obj = "registrar=1,peer=2"
	if _, ok, err := active(alarms.RegistrarPeerLost, obj); ok || err != nil {
		t.Fatalf("registrar-peer-lost while registrar 2 runs (err %v)", err)
	}
	// Registrar 1's association to its configured peer, multihomed, in the
	// association view. (Registrar 1 may have started before registrar 2
	// listened: its first dial failing raised association-down, which
	// clears 10 s after the association is up.)
	wait("the peer association listed with both paths", time.Minute, func() (bool, error) {
		a, err := get("/api/v1/associations")
		a = strings.Join(strings.Fields(a), "")
		return strings.Contains(a, `"name":"peer1/`) && strings.Contains(a, `"address":"`+h2.B.String()+`"`), err
	})
	const assoc = "registrar=1,assoc=peer1"
	wait("association-down clear while the peer runs", alarms.AssociationDown.Debounce.ClearAfter+time.Minute, func() (bool, error) {
		_, ok, err := active(alarms.AssociationDown, assoc)
		return !ok && err == nil, nil
	})

	if err := r2.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	d := wait("registrar-peer-lost raised", time.Minute, func() (bool, error) {
		_, ok, err := active(alarms.RegistrarPeerLost, obj)
		return ok, err
	})
	t.Logf("registrar-peer-lost raised %v after the kill", d.Round(time.Millisecond))
	wait("takeover-performed raised", time.Minute, func() (bool, error) {
		_, ok, err := active(alarms.TakeoverPerformed, obj)
		return ok, err
	})
	a, _, _ := active(alarms.TakeoverPerformed, obj)
	if !strings.Contains(a.AdditionalText, "1 pool elements") {
		t.Errorf("takeover-performed text %q", a.AdditionalText)
	}
	t.Logf("takeover-performed raised %v after the kill: %s", time.Since(killed).Round(time.Millisecond), a.AdditionalText)
	wait("association-down raised", time.Minute, func() (bool, error) {
		_, ok, err := active(alarms.AssociationDown, assoc)
		return ok, err
	})
	t.Logf("association-down raised %v after the kill", time.Since(killed).Round(time.Millisecond))
	if m, err := get("/metrics"); err != nil || !strings.Contains(m, "sigpool_rserpool_takeovers_total") {
		t.Errorf("metrics (err %v) without the takeover counter", err)
	}

	if err := r2.Restart(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	d = wait("registrar-peer-lost cleared", alarms.RegistrarPeerLost.Debounce.ClearAfter+time.Minute, func() (bool, error) {
		_, ok, err := active(alarms.RegistrarPeerLost, obj)
		return !ok && err == nil, nil
	})
	t.Logf("registrar-peer-lost cleared %v after the restart (hold %v)", d.Round(time.Millisecond), alarms.RegistrarPeerLost.Debounce.ClearAfter)
	if time.Since(back) < alarms.RegistrarPeerLost.Debounce.ClearAfter {
		t.Errorf("cleared before the definition's hold")
	}
	wait("association-down cleared", alarms.AssociationDown.Debounce.ClearAfter+time.Minute, func() (bool, error) {
		_, ok, err := active(alarms.AssociationDown, assoc)
		return !ok && err == nil, nil
	})
	// The cleared alarm is in the history of the API.
	if _, ok, err := clearedAlarm(get, alarms.RegistrarPeerLost, obj); !ok || err != nil {
		t.Errorf("no cleared registrar-peer-lost in the API (err %v)", err)
	}

	// The element, now homed at registrar 1, dies: registrar 1 loses it
	// and raises pool-empty on its pool.
	const pool = "registrar=1,pool=lab.pool"
	wait("pool-empty clear while the element lives", alarms.PoolEmpty.Debounce.ClearAfter+time.Minute, func() (bool, error) {
		_, ok, err := active(alarms.PoolEmpty, pool)
		return !ok && err == nil, nil
	})
	pe.Close()
	gone := time.Now()
	wait("pool-empty raised", time.Minute, func() (bool, error) {
		_, ok, err := active(alarms.PoolEmpty, pool)
		return ok, err
	})
	t.Logf("pool-empty raised %v after the element died", time.Since(gone).Round(time.Millisecond))

	if err := syscall.Kill(r1.Pid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- r1.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("registrar 1 exited with %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("registrar 1 did not exit after SIGTERM")
	}
	if out := r1.Output(); !strings.Contains(out, "registrar stopped") {
		t.Fatalf("no stop line in the log:\n%s", out)
	}
}

// clearedAlarm finds a cleared alarm of that name on object through the
// API's cleared=true filter.
func clearedAlarm(get func(string) (string, error), def *alarms.Definition, object string) (alarms.Alarm, bool, error) {
	b, err := get("/api/fm/v1/alarms?cleared=true&alarmName=" + url.QueryEscape(def.Name))
	if err != nil {
		return alarms.Alarm{}, false, err
	}
	var list map[string]alarms.Alarm
	if err := json.Unmarshal([]byte(b), &list); err != nil {
		return alarms.Alarm{}, false, fmt.Errorf("%v: %s", err, b)
	}
	for _, a := range list {
		if a.Object == object {
			return a, true, nil
		}
	}
	return alarms.Alarm{}, false, nil
}
