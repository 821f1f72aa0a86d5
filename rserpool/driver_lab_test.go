//go:build lab && linux

package rserpool

import (
	"context"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// The PE and PU drivers over kernel SCTP in the lab:
//
//	bin/siglab test ./rserpool -- -test.run '^TestLab' -test.v
//
// Host 1 runs the scripted registrar, host 2 two pool elements, host 3 the
// pool user; every host is on networks A and B and every association is
// multihomed over both. The tests assert behaviour, never timings (the lab
// VM is software-emulated), and never skip: without root, namespaces or
// sctp.ko they fail saying so.

func labEnv(t *testing.T) poolEnv {
	t.Helper()
	waitLimit = 90 * time.Second
	topo, err := netlab.New(3)
	if err != nil {
		t.Fatalf("netlab.New(3): %v (the lab tests need root, network namespaces, veth, bridges and sctp.ko: run them with bin/siglab test)", err)
	}
	t.Cleanup(func() { topo.Close() })
	// RFC 4960's timers: the software-emulated VM can stall longer than
	// the telecom profile's 150 ms RTO.max.
	k := sctp.Kernel{Config: sctp.Config{Tuning: sctp.RFC}}
	reg, pe, pu := topo.Host(1), topo.Host(2), topo.Host(3)
	return poolEnv{
		regTr:   labsctp.Transport{Host: reg, Kernel: k},
		peTr:    labsctp.Transport{Host: pe, Kernel: k},
		puTr:    labsctp.Transport{Host: pu, Kernel: k},
		regAddr: labsctp.Addr(reg, Port),
		peUser:  [2]sctp.Addr{labsctp.Addr(pe, 2905), labsctp.Addr(pe, 2906)},
		slow:    true,
	}
}

// TestLabPoolElementAndUser runs the driver scenario over kernel SCTP
// between three hosts: two PEs register with the scripted registrar and
// answer its keep-alive; the PU resolves the pool through it and connects
// to the least used PE; on that association PPID 3 traffic flows both
// ways beside the ASAP business card and cookies, each handed to its own
// layer; the PE's end fails, the PU reports it with ENDPOINT_UNREACHABLE,
// fails over to the PE of the business card and echoes the latest cookie
// there, where PPID 3 flows again; the PE deregisters on shutdown.
func TestLabPoolElementAndUser(t *testing.T) { runPoolScenario(t, labEnv(t)) }

// TestLabRegisterResolve: a PE on host 2 registers with the registrar on
// host 1, and a PU on host 3 resolves the pool to that PE and reaches it
// on the transport it registered.
func TestLabRegisterResolve(t *testing.T) {
	env := labEnv(t)
	handle := []byte("AS-lab")
	reg := startRegistrar(t, env.regTr, env.regAddr, 1)
	pe := startPE(t, env, 0, 99, handle)
	if r := waitEvent[Registered](t, pe.ev, nil); r.ID != 99 {
		t.Fatalf("registered as %d", r.ID)
	}
	if ids := reg.elements(string(handle)); len(ids) != 1 || ids[0] != 99 {
		t.Fatalf("registrar holds %v", ids)
	}
	ev := newEventLog("PU")
	cfg := PUConfig{Hunt: HuntConfig{Registrars: []sctp.Addr{env.regAddr}}}
	env.tune(&cfg.Hunt, &cfg.Request)
	pu := NewPUDriver(DriverConfig{Transport: env.puTr, OnEvent: ev.on}, cfg)
	pu.Start()
	t.Cleanup(pu.Close)
	pu.Resolve(handle, 5)
	sel := waitEvent[Selected](t, ev, nil)
	if sel.Tag != 5 || sel.Element.ID != 99 || addrOf(sel.Element).String() != env.peUser[0].String() {
		t.Fatalf("%s at %v, want element 99 at %v", describeEvent(sel), addrOf(sel.Element), env.peUser[0])
	}
	pu.Resolve([]byte("no-such-pool"), 6)
	f := waitEvent[ResolutionFailed](t, ev, nil)
	if f.Tag != 6 || len(f.Causes) != 1 || f.Causes[0].Code != CauseUnknownPoolHandle {
		t.Fatalf("%s, want Unknown Pool Handle", describeEvent(f))
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	as, err := env.puTr.Dial(ctx, sctp.Addr{}, addrOf(sel.Element))
	if err != nil {
		t.Fatalf("PU: dial the selected element at %v: %v", addrOf(sel.Element), err)
	}
	as.Close()
	if c := pu.Counters(); c.Resolutions != 2 {
		t.Fatalf("PU counters %+v", c)
	}
}
