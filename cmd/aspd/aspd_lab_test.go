//go:build lab && linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigpool/sigpool/asp"
	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// aspd as a process in the lab, over kernel SCTP:
//
//	siglab test ./cmd/aspd -- -test.run '^TestLab' -test.v
//
// A stand-in gateway (M3UA SGP and registrar, in the test process) on host
// 1; aspd processes (the binary siglab built) on hosts 2 and 3, multihomed
// over networks A and B. The aspd of host 2 is killed (SIGKILL) in the
// middle of a dialogue, and the stand-in hands the dialogue to host 3 with
// the checkpoint host 2 sent; then host 3's aspd is stopped with SIGTERM:
// it deregisters, takes the ASP down and exits 0.
func TestLabAspdProcesses(t *testing.T) {
	topo, err := netlab.New(3)
	if err != nil {
		t.Fatalf("netlab.New(3): %v (run the lab tests with siglab test)", err)
	}
	t.Cleanup(func() { topo.Close() })
	gwHost := topo.Host(1)
	tr := labsctp.Transport{Host: gwHost, Kernel: sctp.Kernel{Config: sctp.Config{Tuning: sctp.RFC}}}
	g := newGatewayOn(t, tr, labsctp.Addr(gwHost, 2906), labsctp.Addr(gwHost, rserpool.Port))

	dir := t.TempDir()
	ids := []uint32{0x0001_0b02, 0x0001_0b03}
	var procs []*netlab.Process
	for i, id := range ids {
		h := topo.Host(2 + i)
		ips := make([]string, 0, 2)
		for _, ip := range h.Addrs() {
			ips = append(ips, ip.String())
		}
		doc := fmt.Sprintf(`instance: lab%d
log_format: console
local: %s
gateways: [%s]
registrars: [%s]
tuning: rfc
pool: hlr.sigpool
rc: 200
capacity: 100
pe_id: %d
service:
  time: 10ms
  steps: 1
drain: 3s
`, 2+i, strings.Join(ips, "+"), labsctp.Addr(gwHost, 2906), labsctp.Addr(gwHost, rserpool.Port), id)
		file := filepath.Join(dir, fmt.Sprintf("aspd%d.yaml", 2+i))
		if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		p := h.Command("aspd", "--config", file)
		if err := p.Start(); err != nil {
			t.Fatalf("aspd on %v: %v (is it on PATH? run under siglab test)", h, err)
		}
		t.Cleanup(func() { p.Kill() })
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%v output:\n%s", p, p.Output())
			}
		})
		procs = append(procs, p)
	}
	// Starting processes under software emulation on a shared host can
	// take long; no bound on it is asserted beyond a minute.
	assocs := make([]m3ua.AssocID, len(ids))
	deadline := time.Now().Add(time.Minute)
	for i, id := range ids {
		for {
			a, ok := g.assocOf(id)
			if ok && registered(g.reg, id) {
				assocs[i] = a
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("aspd %#x not ASP-ACTIVE and registered after a minute (active: %v, registered: %v)", id, ok, registered(g.reg, id))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("both aspd processes ASP-ACTIVE at the stand-in and registered")

	// A dialogue on each: Begin → Continue (checkpoint), Continue → End.
	for i, a := range assocs {
		otid := uint32(0x100 + i)
		g.send(t, a, tcap.Message{Kind: tcap.Begin, OTID: tcap.TID32(otid), HasOTID: true, Components: invokeComps(1)})
		m := g.next(t)
		expectStep(t, m, tcap.Continue, otid, 1)
		if asp.TagOf(m.OTID.Uint32()) != asp.Tag(ids[i]) {
			t.Fatalf("OTID %#x without the tag of %#x", m.OTID.Uint32(), ids[i])
		}
		checkCookie(t, g, m.OTID.Uint32(), 1)
		g.send(t, a, tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(otid), HasOTID: true, DTID: m.OTID, HasDTID: true, Components: invokeComps(2)})
		expectStep(t, g.next(t), tcap.End, otid, 2)
		checkCookie(t, g, m.OTID.Uint32(), -1)
	}

	// Host 2's aspd dies after the first step of a dialogue.
	g.send(t, assocs[0], tcap.Message{Kind: tcap.Begin, OTID: tcap.TID32(0x200), HasOTID: true, Components: invokeComps(3)})
	m := g.next(t)
	expectStep(t, m, tcap.Continue, 0x200, 3)
	tid := m.OTID.Uint32()
	var state []byte
	select {
	case v := <-g.cookies:
		got, st, err := asp.CookieValue(v)
		if err != nil || got != tid {
			t.Fatalf("cookie % x, want one for %#x", v, tid)
		}
		state = st
	case <-time.After(waitLimit):
		t.Fatal("no checkpoint")
	}
	if err := procs[0].Kill(); err != nil {
		t.Fatal(err)
	}
	// The stand-in hands it to host 3: cookie echo, then the network's
	// Continue; host 3 ends it, as the script says after one step.
	g.echo(t, assocs[1], tid, state)
	g.send(t, assocs[1], tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(0x200), HasOTID: true, DTID: tcap.TID32(tid), HasDTID: true, Components: invokeComps(4)})
	expectStep(t, g.next(t), tcap.End, 0x200, 4)
	checkCookie(t, g, tid, -1)
	t.Logf("dialogue %#x of the killed aspd ended by the other", tid)

	// SIGTERM: host 3's aspd deregisters, leaves ASP-ACTIVE and exits 0.
	if err := syscall.Kill(procs[1].Pid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- procs[1].Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("aspd exited with %v; output:\n%s", err, procs[1].Output())
		}
	case <-time.After(waitLimit):
		t.Fatalf("aspd did not exit after SIGTERM; output:\n%s", procs[1].Output())
	}
	if registered(g.reg, ids[1]) {
		t.Fatal("still registered after SIGTERM")
	}
	if _, ok := g.assocOf(ids[1]); ok {
		t.Fatal("still ASP-ACTIVE after SIGTERM")
	}
	if out := procs[1].Output(); !strings.Contains(out, "aspd stopped") {
		t.Fatalf("no stop line in the log:\n%s", out)
	}
}

func registered(reg *enrp.Driver, id uint32) (ok bool) {
	reg.Do(func(r *enrp.Registrar) { ok = r.Handlespace().Find([]byte("hlr.sigpool"), id) != nil })
	return ok
}
