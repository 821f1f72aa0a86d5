//go:build linux

// Package labsctp joins the lab's namespace hosts and the SCTP layer: a
// Transport whose sockets belong to one netlab host, and the multihomed
// address of a host on both networks. Lab tests of every layer above
// sigtran/sctp share it.
package labsctp

import (
	"context"
	"net/netip"

	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Transport opens kernel SCTP endpoints inside Host's network namespace,
// so dials made later from any goroutine (reconnections) leave from that
// host too.
type Transport struct {
	Host   *netlab.Host
	Kernel sctp.Kernel
}

var _ sctp.Transport = Transport{}

// Listen implements sctp.Transport inside the host.
func (t Transport) Listen(laddr sctp.Addr) (ln sctp.Listener, err error) {
	err = t.Host.Do(func() error {
		ln, err = t.Kernel.Listen(laddr)
		return err
	})
	return ln, err
}

// Dial implements sctp.Transport inside the host.
func (t Transport) Dial(ctx context.Context, laddr, raddr sctp.Addr) (a sctp.Association, err error) {
	err = t.Host.Do(func() error {
		a, err = t.Kernel.Dial(ctx, laddr, raddr)
		return err
	})
	return a, err
}

// Addr is h's address on networks A and B (A first: the primary path) with
// the given port.
func Addr(h *netlab.Host, port uint16) sctp.Addr {
	return sctp.Addr{IPs: []netip.Addr{h.Addr(netlab.NetA), h.Addr(netlab.NetB)}, Port: port}
}
