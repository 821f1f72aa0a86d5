//go:build linux

package netlab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Net names one of the two networks of a topology.
type Net int

const (
	NetA Net = iota // network A: 10.1.0.0/24, fd00:1::/64
	NetB            // network B: 10.2.0.0/24, fd00:2::/64
)

func (n Net) String() string {
	switch n {
	case NetA:
		return "A"
	case NetB:
		return "B"
	}
	return fmt.Sprintf("Net(%d)", int(n))
}

func (n Net) valid() bool { return n == NetA || n == NetB }

// Interface names inside each host namespace.
const (
	IfaceA = "ethA"
	IfaceB = "ethB"
)

// Iface returns the name of the host interface on network n.
func (n Net) Iface() string {
	if n == NetB {
		return IfaceB
	}
	return IfaceA
}

// MaxHosts is the largest topology New builds: host indexes are the last
// byte of the IPv4 addresses.
const MaxHosts = 254

// DefaultNetnsDir is where namespaces are bind-mounted, as iproute2 does.
const DefaultNetnsDir = "/run/netns"

type config struct {
	ipv6   bool
	prefix string
	dir    string
}

// Option changes how New builds a topology.
type Option func(*config)

// WithIPv6 also gives host i the addresses fd00:1::i/64 on network A and
// fd00:2::i/64 on network B, configured without duplicate address
// detection so they are usable at once.
func WithIPv6() Option { return func(c *config) { c.ipv6 = true } }

// WithPrefix changes the first part of the namespace names (default
// "netlab"); the process id and a counter always follow it.
func WithPrefix(prefix string) Option { return func(c *config) { c.prefix = prefix } }

// WithNetnsDir changes where namespaces are bind-mounted (default
// /run/netns). The directory is created if missing.
func WithNetnsDir(dir string) Option { return func(c *config) { c.dir = dir } }

var topoCounter atomic.Uint64

// Topology is a switch namespace with two bridges and a set of hosts
// attached to both. Its methods are safe for concurrent use.
type Topology struct {
	prefix string
	hosts  []*Host
	sw     *namespace
	swNL   *netlink.Handle

	mu       sync.Mutex
	closed   bool
	procs    map[*Process]struct{}
	nsList   []*namespace
	launcher *launcher
}

// Host is one host namespace of a topology.
type Host struct {
	Index int        // 1-based position in the topology
	Name  string     // namespace name, a file in the netns directory
	A, B  netip.Addr // IPv4 address on network A and on network B
	A6    netip.Addr // IPv6 address on network A, zero without WithIPv6
	B6    netip.Addr // IPv6 address on network B, zero without WithIPv6

	topo *Topology
	ns   *namespace
	nl   *netlink.Handle
}

const (
	bridgeA = "brA"
	bridgeB = "brB"
)

// switchPort is the name, in the switch namespace, of host i's veth end on n.
func switchPort(i int, n Net) string { return fmt.Sprintf("h%d%s", i, n) }

// New builds a topology with the given number of hosts (1 to MaxHosts).
// On error everything built so far is removed again.
func New(hosts int, opts ...Option) (*Topology, error) {
	cfg := config{prefix: "netlab", dir: DefaultNetnsDir}
	for _, o := range opts {
		o(&cfg)
	}
	if hosts < 1 || hosts > MaxHosts {
		return nil, fmt.Errorf("netlab: %d hosts requested; want 1 to %d", hosts, MaxHosts)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("netlab: running as uid %d; network namespaces, veth pairs and bridges can only be created as root (run the tests as root, e.g. in the lab VM)", os.Geteuid())
	}
	t := &Topology{
		prefix: fmt.Sprintf("%s-%d-%d", cfg.prefix, os.Getpid(), topoCounter.Add(1)),
		procs:  map[*Process]struct{}{},
	}
	if err := t.build(hosts, cfg); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *Topology) newNS(dir, suffix string) (*namespace, error) {
	ns, err := createNamespace(dir, t.prefix+"-"+suffix)
	if err != nil {
		return nil, err
	}
	t.nsList = append(t.nsList, ns)
	return ns, nil
}

// handleIn opens a netlink handle whose sockets live in ns.
func handleIn(ns *namespace) (*netlink.Handle, error) {
	var h *netlink.Handle
	err := inNS(ns.fd, func() error {
		var err error
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netlab: netlink socket in %s: %w", ns.name, err)
	}
	return h, nil
}

func (t *Topology) build(hosts int, cfg config) error {
	var err error
	if t.sw, err = t.newNS(cfg.dir, "sw"); err != nil {
		return err
	}
	if t.swNL, err = handleIn(t.sw); err != nil {
		return err
	}
	if err := setUp(t.swNL, "lo"); err != nil {
		return fmt.Errorf("netlab: switch: %w", err)
	}
	bridges := map[Net]int{}
	for _, n := range []Net{NetA, NetB} {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br" + n.String()}}
		if err := t.swNL.LinkAdd(br); err != nil {
			return fmt.Errorf("netlab: create bridge %s: %w%s", br.Name, err, moduleHint(err, "bridge"))
		}
		l, err := t.swNL.LinkByName(br.Name)
		if err != nil {
			return fmt.Errorf("netlab: bridge %s: %w", br.Name, err)
		}
		if err := t.swNL.LinkSetUp(l); err != nil {
			return fmt.Errorf("netlab: set bridge %s up: %w", br.Name, err)
		}
		bridges[n] = l.Attrs().Index
	}
	for i := 1; i <= hosts; i++ {
		if err := t.addHost(i, cfg, bridges); err != nil {
			return err
		}
	}
	return nil
}

func (t *Topology) addHost(i int, cfg config, bridges map[Net]int) error {
	ns, err := t.newNS(cfg.dir, fmt.Sprintf("h%d", i))
	if err != nil {
		return err
	}
	h := &Host{
		Index: i,
		Name:  ns.name,
		A:     netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}),
		B:     netip.AddrFrom4([4]byte{10, 2, 0, byte(i)}),
		topo:  t,
		ns:    ns,
	}
	if cfg.ipv6 {
		h.A6 = netip.AddrFrom16([16]byte{0: 0xfd, 3: 1, 15: byte(i)})
		h.B6 = netip.AddrFrom16([16]byte{0: 0xfd, 3: 2, 15: byte(i)})
	}
	t.hosts = append(t.hosts, h) // from now on Close releases it
	if h.nl, err = handleIn(ns); err != nil {
		return err
	}

	if err := setUp(h.nl, "lo"); err != nil {
		return fmt.Errorf("netlab: host %d: %w", i, err)
	}
	for _, n := range []Net{NetA, NetB} {
		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: switchPort(i, n), MasterIndex: bridges[n]},
			PeerName:      n.Iface(),
			PeerNamespace: netlink.NsFd(ns.fd),
		}
		if err := t.swNL.LinkAdd(veth); err != nil {
			return fmt.Errorf("netlab: create veth pair %s/%s for host %d: %w%s", veth.Name, veth.PeerName, i, err, moduleHint(err, "veth"))
		}
		if err := setUp(t.swNL, veth.Name); err != nil {
			return fmt.Errorf("netlab: switch: %w", err)
		}
		link, err := h.nl.LinkByName(n.Iface())
		if err != nil {
			return fmt.Errorf("netlab: host %d: %w", i, err)
		}
		addrs := []*netlink.Addr{{IPNet: prefixNet(h.Addr(n), 24)}}
		if cfg.ipv6 {
			addrs = append(addrs, &netlink.Addr{IPNet: prefixNet(h.Addr6(n), 64), Flags: unix.IFA_F_NODAD})
		}
		for _, a := range addrs {
			if err := h.nl.AddrAdd(link, a); err != nil {
				return fmt.Errorf("netlab: host %d: add %s to %s: %w", i, a.IPNet, n.Iface(), err)
			}
		}
		if err := h.nl.LinkSetUp(link); err != nil {
			return fmt.Errorf("netlab: host %d: set %s up: %w", i, n.Iface(), err)
		}
	}
	return nil
}

func prefixNet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, a.BitLen())}
}

func setUp(h *netlink.Handle, name string) error {
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("link %s: %w", name, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// moduleHint explains an "operation not supported" from the kernel when a
// link kind is missing.
func moduleHint(err error, module string) string {
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOENT) {
		return fmt.Sprintf(" (is the %s module loaded? the kernel does not know this link type)", module)
	}
	return ""
}

// Hosts returns the hosts in index order; Hosts()[0] is host 1.
func (t *Topology) Hosts() []*Host { return slices.Clone(t.hosts) }

// Host returns host i (1-based). It panics if i is out of range.
func (t *Topology) Host(i int) *Host {
	if i < 1 || i > len(t.hosts) {
		panic(fmt.Sprintf("netlab: host %d out of range 1..%d", i, len(t.hosts)))
	}
	return t.hosts[i-1]
}

// Prefix is the common start of all namespace names of this topology.
func (t *Topology) Prefix() string { return t.prefix }

// Close kills the processes started in the topology that still run and
// removes all its namespaces; the kernel then destroys their links. It
// is safe to call more than once; later calls return nil.
func (t *Topology) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	procs := make([]*Process, 0, len(t.procs))
	for p := range t.procs {
		procs = append(procs, p)
	}
	t.mu.Unlock()

	var errs []error
	for _, p := range procs {
		if err := p.Kill(); err != nil {
			errs = append(errs, err)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.launcher != nil {
		t.launcher.close()
	}
	for _, h := range t.hosts {
		if h.nl != nil {
			h.nl.Close()
		}
	}
	if t.swNL != nil {
		t.swNL.Close()
	}
	for _, ns := range t.nsList {
		if err := ns.remove(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("netlab: close: %w", err)
	}
	return nil
}

func (t *Topology) checkOpen() error {
	if t.closed {
		return errors.New("netlab: topology is closed")
	}
	return nil
}

func (t *Topology) lookup(host int, n Net) (*Host, error) {
	if err := t.checkOpen(); err != nil {
		return nil, err
	}
	if host < 1 || host > len(t.hosts) {
		return nil, fmt.Errorf("netlab: no host %d (topology has %d)", host, len(t.hosts))
	}
	if !n.valid() {
		return nil, fmt.Errorf("netlab: no network %v", n)
	}
	return t.hosts[host-1], nil
}

// Addr returns the host's IPv4 address on network n.
func (h *Host) Addr(n Net) netip.Addr {
	if n == NetB {
		return h.B
	}
	return h.A
}

// Addr6 returns the host's IPv6 address on network n (zero without
// WithIPv6).
func (h *Host) Addr6(n Net) netip.Addr {
	if n == NetB {
		return h.B6
	}
	return h.A6
}

// Addrs returns all of the host's addresses: A, B, then A6 and B6 when
// the topology has IPv6.
func (h *Host) Addrs() []netip.Addr {
	out := []netip.Addr{h.A, h.B}
	if h.A6.IsValid() {
		out = append(out, h.A6, h.B6)
	}
	return out
}

// Path is the namespace file of the host, usable with setns(2),
// nsenter --net=PATH, or `ip netns exec NAME` where iproute2 exists.
func (h *Host) Path() string { return h.ns.path }

func (h *Host) String() string { return fmt.Sprintf("h%d(%s)", h.Index, h.Name) }

// Do runs fn on a locked OS thread that has joined the host's network
// namespace, waits for it and returns its error. Sockets fn opens belong
// to the host for their whole life. fn runs on its own goroutine: the
// goroutines it starts are not in the namespace, and it must not call
// t.FailNow (t.Fatal); return an error instead. A panic in fn is raised
// again in the caller. The thread is put back into its original
// namespace afterwards; if that fails the thread is discarded, never
// reused.
func (h *Host) Do(fn func() error) error {
	fd, err := h.nsFD()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return inNS(fd, fn)
}

// nsFD returns a private duplicate of the host's namespace handle, so
// that a concurrent Close cannot pull it away while it is in use.
func (h *Host) nsFD() (int, error) {
	h.topo.mu.Lock()
	defer h.topo.mu.Unlock()
	if err := h.topo.checkOpen(); err != nil {
		return -1, err
	}
	fd, err := unix.FcntlInt(uintptr(h.ns.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("netlab: %s: duplicate namespace handle: %w", h, err)
	}
	return fd, nil
}
