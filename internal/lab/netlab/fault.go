//go:build linux

package netlab

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// LinkDown cuts host's cable to network n: the switch-side end of the
// veth pair goes down. The host keeps its interface up with its
// addresses and routes and only loses carrier; whatever it sends on n is
// dropped, and nothing from n reaches it. Downing a link that is already
// down is not an error.
func (t *Topology) LinkDown(host int, n Net) error { return t.setPort(host, n, false) }

// LinkUp reconnects host's cable to network n (see LinkDown).
func (t *Topology) LinkUp(host int, n Net) error { return t.setPort(host, n, true) }

// Isolate takes both of host's links down: to the rest of the topology
// the host has failed, while its processes keep running.
func (t *Topology) Isolate(host int) error {
	return errors.Join(t.LinkDown(host, NetA), t.LinkDown(host, NetB))
}

// Rejoin brings both of host's links up again (the inverse of Isolate).
func (t *Topology) Rejoin(host int) error {
	return errors.Join(t.LinkUp(host, NetA), t.LinkUp(host, NetB))
}

func (t *Topology) setPort(host int, n Net, up bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := t.lookup(host, n); err != nil {
		return err
	}
	name := switchPort(host, n)
	l, err := t.swNL.LinkByName(name)
	if err != nil {
		return fmt.Errorf("netlab: switch port %s: %w", name, err)
	}
	if up {
		err = t.swNL.LinkSetUp(l)
	} else {
		err = t.swNL.LinkSetDown(l)
	}
	if err != nil {
		return fmt.Errorf("netlab: host %d network %v: set switch port %s up=%v: %w", host, n, name, up, err)
	}
	return nil
}

// Impairment describes what netem does to the packets of one direction
// of a link.
type Impairment struct {
	Loss   float64       // percentage of packets dropped, 0 to 100
	Delay  time.Duration // added one-way delay
	Jitter time.Duration // random variation of Delay; needs Delay > 0
}

// ErrNetemUnavailable is wrapped by SetImpairment's error when the kernel
// has no netem queueing discipline.
var ErrNetemUnavailable = errors.New("the kernel has no netem qdisc: the sch_netem module must be loaded (modprobe sch_netem, or insmod sch_netem.ko in the lab initramfs)")

// SetImpairment installs (or replaces) a netem qdisc as the root qdisc of
// both ends of host's veth pair on network n, so that each direction, to
// and from the host, gets the loss, delay and jitter of imp on its own:
// a round trip sees twice the delay, and a loss of p percent per
// direction. Jitter lets netem reorder packets, as it does on a real
// path whose delay varies. Requires the sch_netem kernel module.
func (t *Topology) SetImpairment(host int, n Net, imp Impairment) error {
	if imp.Loss < 0 || imp.Loss > 100 || math.IsNaN(imp.Loss) {
		return fmt.Errorf("netlab: loss %v%% out of range 0..100", imp.Loss)
	}
	if imp.Delay < 0 || imp.Jitter < 0 {
		return fmt.Errorf("netlab: negative delay %v or jitter %v", imp.Delay, imp.Jitter)
	}
	if imp.Jitter > 0 && imp.Delay == 0 {
		return errors.New("netlab: jitter needs a delay")
	}
	const maxUS = time.Duration(math.MaxUint32) * time.Microsecond
	if imp.Delay > maxUS || imp.Jitter > maxUS {
		return fmt.Errorf("netlab: delay %v or jitter %v too large", imp.Delay, imp.Jitter)
	}
	return t.eachEnd(host, n, func(h *netlink.Handle, l netlink.Link, where string) error {
		q := netlink.NewNetem(netlink.QdiscAttrs{
			LinkIndex: l.Attrs().Index,
			Handle:    netlink.MakeHandle(1, 0),
			Parent:    netlink.HANDLE_ROOT,
		}, netlink.NetemQdiscAttrs{
			Loss:    float32(imp.Loss),
			Latency: uint32(imp.Delay / time.Microsecond),
			Jitter:  uint32(imp.Jitter / time.Microsecond),
		})
		if err := h.QdiscReplace(q); err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) {
				return fmt.Errorf("netlab: netem on %s: %w (%w)", where, ErrNetemUnavailable, err)
			}
			return fmt.Errorf("netlab: netem on %s: %w", where, err)
		}
		return nil
	})
}

// ClearImpairment removes the netem qdiscs SetImpairment installed on
// host's link to network n. Clearing a link without impairment is not an
// error.
func (t *Topology) ClearImpairment(host int, n Net) error {
	return t.eachEnd(host, n, func(h *netlink.Handle, l netlink.Link, where string) error {
		qs, err := h.QdiscList(l)
		if err != nil {
			return fmt.Errorf("netlab: list qdiscs of %s: %w", where, err)
		}
		for _, q := range qs {
			if q.Attrs().Parent != netlink.HANDLE_ROOT || q.Type() != "netem" {
				continue
			}
			if err := h.QdiscDel(q); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("netlab: remove netem from %s: %w", where, err)
			}
		}
		return nil
	})
}

// eachEnd calls fn for the host end and the switch end of host's veth
// pair on network n.
func (t *Topology) eachEnd(host int, n Net, fn func(h *netlink.Handle, l netlink.Link, where string) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	hst, err := t.lookup(host, n)
	if err != nil {
		return err
	}
	ends := []struct {
		h    *netlink.Handle
		name string
		ns   string
	}{
		{hst.nl, n.Iface(), hst.Name},
		{t.swNL, switchPort(host, n), t.sw.name},
	}
	for _, e := range ends {
		where := e.name + " in " + e.ns
		l, err := e.h.LinkByName(e.name)
		if err != nil {
			return fmt.Errorf("netlab: link %s: %w", where, err)
		}
		if err := fn(e.h, l, where); err != nil {
			return err
		}
	}
	return nil
}
