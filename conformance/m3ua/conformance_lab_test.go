//go:build lab && linux

package m3ua_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// hostTransport opens kernel SCTP sockets inside a netlab host.
type hostTransport struct {
	h *netlab.Host
	k sctp.Kernel
}

func (t hostTransport) Listen(laddr sctp.Addr) (ln sctp.Listener, err error) {
	err = t.h.Do(func() error {
		ln, err = t.k.Listen(laddr)
		return err
	})
	return ln, err
}

func (t hostTransport) Dial(ctx context.Context, laddr, raddr sctp.Addr) (a sctp.Association, err error) {
	err = t.h.Do(func() error {
		a, err = t.k.Dial(ctx, laddr, raddr)
		return err
	})
	return a, err
}

func bothAddrs(h *netlab.Host) []netip.Addr {
	return []netip.Addr{h.Addr(netlab.NetA), h.Addr(netlab.NetB)}
}

// TestLabConformance runs every test purpose over kernel SCTP: the IUT on
// one netlab host, the scripted peer on another, both multihomed over
// networks A and B. It prints the verdict table at the end.
func TestLabConformance(t *testing.T) {
	topo, err := netlab.New(2)
	if err != nil {
		t.Fatalf("netlab.New(2): %v (run the lab tests with bin/siglab test)", err)
	}
	t.Cleanup(func() { topo.Close() })
	h1, h2 := topo.Host(1), topo.Host(2)
	e := &env{
		name: "kernel SCTP, netlab hosts h1 (SGP side) and h2 (ASP side), multihomed",
		sgpT: hostTransport{h: h1}, aspT: hostTransport{h: h2},
		sgpIP: bothAddrs(h1), aspIP: bothAddrs(h2),
		// The VM emulates its CPU: generous bounds, and a quiet time long
		// enough for an unwanted answer to show up.
		wait: 20 * time.Second, quiet: time.Second,
	}
	e.ack = 2 * time.Second
	e.port.Store(4000)
	runSuite(t, e, suite())
}
