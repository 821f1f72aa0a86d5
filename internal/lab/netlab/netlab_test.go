//go:build linux

package netlab

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary doubles as a helper program run inside host
// namespaces: with NETLAB_HELPER=udpecho it echoes UDP datagrams on
// NETLAB_PORT of every address of its namespace.
func TestMain(m *testing.M) {
	if os.Getenv("NETLAB_HELPER") == "udpecho" {
		os.Exit(udpEchoHelper(os.Getenv("NETLAB_PORT")))
	}
	os.Exit(m.Run())
}

func udpEchoHelper(port string) int {
	c, err := net.ListenPacket("udp", net.JoinHostPort("", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	fmt.Println("ready")
	buf := make([]byte, 2048)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 1
		}
		c.WriteTo(buf[:n], from)
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("netlab tests build network namespaces and must run as root (uid 0); running as uid %d", os.Geteuid())
	}
}

func newTopology(t *testing.T, hosts int, opts ...Option) *Topology {
	t.Helper()
	requireRoot(t)
	topo, err := New(hosts, opts...)
	if err != nil {
		t.Fatalf("New(%d): %v", hosts, err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return topo
}

// echoServer opens a UDP socket on addr inside h and echoes on it until
// the test ends. It returns the address it listens on.
func echoServer(t *testing.T, h *Host, addr netip.Addr) netip.AddrPort {
	t.Helper()
	var c *net.UDPConn
	err := h.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
		return err
	})
	if err != nil {
		t.Fatalf("%s: listen on %v: %v", h, addr, err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			c.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// echo sends one datagram from inside h to dst and waits up to timeout
// for it to come back.
func echo(h *Host, dst netip.AddrPort, timeout time.Duration) error {
	var c *net.UDPConn
	err := h.Do(func() error {
		var err error
		c, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	msg := fmt.Sprintf("ping %s -> %v %d", h.Name, dst, time.Now().UnixNano())
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	if string(buf[:n]) != msg {
		return fmt.Errorf("echo mismatch: %q", buf[:n])
	}
	return nil
}

// reachable retries echo for a while: the first datagram may wait for ARP.
func reachable(t *testing.T, from *Host, dst netip.AddrPort) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = echo(from, dst, 200*time.Millisecond); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s cannot reach %v: %v", from, dst, err)
}

func unreachable(t *testing.T, from *Host, dst netip.AddrPort) {
	t.Helper()
	for range 3 {
		if err := echo(from, dst, 300*time.Millisecond); err == nil {
			t.Fatalf("%s reaches %v, want unreachable", from, dst)
		}
	}
}

func TestTwoHostsReachEachOtherOnBothNetworks(t *testing.T) {
	topo := newTopology(t, 2)
	h1, h2 := topo.Host(1), topo.Host(2)
	if got, want := h1.Addrs(), []netip.Addr{netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.2.0.1")}; !equalAddrs(got, want) {
		t.Fatalf("h1.Addrs() = %v, want %v", got, want)
	}
	if h2.A != netip.MustParseAddr("10.1.0.2") || h2.B != netip.MustParseAddr("10.2.0.2") {
		t.Fatalf("h2 addresses %v %v", h2.A, h2.B)
	}
	for _, n := range []Net{NetA, NetB} {
		reachable(t, h2, echoServer(t, h1, h1.Addr(n)))
		reachable(t, h1, echoServer(t, h2, h2.Addr(n)))
	}
}

func TestThreeHostsFullMesh(t *testing.T) {
	topo := newTopology(t, 3)
	for _, n := range []Net{NetA, NetB} {
		for _, srv := range topo.Hosts() {
			dst := echoServer(t, srv, srv.Addr(n))
			for _, cli := range topo.Hosts() {
				if cli != srv {
					reachable(t, cli, dst)
				}
			}
		}
	}
}

func TestHostsSeeOnlyTheirOwnInterfaces(t *testing.T) {
	topo := newTopology(t, 2)
	h := topo.Host(2)
	var names []string
	var addrs []string
	err := h.Do(func() error {
		ifs, err := net.Interfaces()
		if err != nil {
			return err
		}
		for _, i := range ifs {
			names = append(names, i.Name)
			if i.Flags&net.FlagUp == 0 {
				return fmt.Errorf("%s is down", i.Name)
			}
			as, err := i.Addrs()
			if err != nil {
				return err
			}
			for _, a := range as {
				if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
					addrs = append(addrs, ipn.String())
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, " "); got != "lo ethA ethB" {
		t.Errorf("interfaces in %s: %q, want \"lo ethA ethB\"", h, got)
	}
	if got := strings.Join(addrs, " "); got != "127.0.0.1/8 10.1.0.2/24 10.2.0.2/24" {
		t.Errorf("IPv4 addresses in %s: %q", h, got)
	}
}

func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st.Ino
}

func TestDoJoinsAndRestoresNamespace(t *testing.T) {
	topo := newTopology(t, 2)
	root := nsInode(t, "/proc/self/ns/net")
	var wg sync.WaitGroup
	for _, h := range topo.Hosts() {
		want := nsInode(t, h.Path())
		if want == root {
			t.Fatalf("%s namespace is the test's own", h)
		}
		for range 20 {
			wg.Go(func() {
				var got uint64
				err := h.Do(func() error {
					var st unix.Stat_t
					err := unix.Stat("/proc/thread-self/ns/net", &st)
					got = st.Ino
					return err
				})
				if err != nil {
					t.Error(err)
				} else if got != want {
					t.Errorf("inside %s.Do: namespace %d, want %d", h, got, want)
				}
			})
		}
	}
	wg.Wait()
	// Every thread of the process must be back in the original namespace.
	tasks, err := filepath.Glob("/proc/self/task/*/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		var st unix.Stat_t
		if err := unix.Stat(task, &st); err != nil {
			continue // thread exited meanwhile
		}
		if st.Ino != root {
			t.Errorf("%s left in namespace %d, want %d", task, st.Ino, root)
		}
	}

	sentinel := errors.New("sentinel")
	if err := topo.Host(1).Do(func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("Do error = %v, want sentinel", err)
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic of fn", r)
			}
		}()
		topo.Host(1).Do(func() error { panic("boom") })
	}()
}

func TestLinkDownAndUp(t *testing.T) {
	topo := newTopology(t, 2)
	h1, h2 := topo.Host(1), topo.Host(2)
	dstA := echoServer(t, h1, h1.A)
	dstB := echoServer(t, h1, h1.B)
	reachable(t, h2, dstA)
	reachable(t, h2, dstB)

	if err := topo.LinkDown(1, NetA); err != nil {
		t.Fatal(err)
	}
	unreachable(t, h2, dstA)
	reachable(t, h2, dstB)
	// The cable is cut, the host's configuration is untouched.
	err := h1.Do(func() error {
		i, err := net.InterfaceByName(IfaceA)
		if err != nil {
			return err
		}
		if i.Flags&net.FlagUp == 0 {
			return errors.New("ethA is administratively down")
		}
		if i.Flags&net.FlagRunning != 0 {
			return errors.New("ethA still has carrier")
		}
		as, err := i.Addrs()
		if err != nil {
			return err
		}
		for _, a := range as {
			if a.(*net.IPNet).IP.Equal(h1.A.AsSlice()) {
				return nil
			}
		}
		return fmt.Errorf("ethA lost %v: %v", h1.A, as)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := topo.LinkDown(1, NetA); err != nil {
		t.Fatalf("second LinkDown: %v", err)
	}

	if err := topo.LinkUp(1, NetA); err != nil {
		t.Fatal(err)
	}
	reachable(t, h2, dstA)
	reachable(t, h2, dstB)
}

func TestIsolate(t *testing.T) {
	topo := newTopology(t, 3)
	h1, h2, h3 := topo.Host(1), topo.Host(2), topo.Host(3)
	var dsts []netip.AddrPort
	for _, n := range []Net{NetA, NetB} {
		dsts = append(dsts, echoServer(t, h1, h1.Addr(n)))
	}
	for _, d := range dsts {
		reachable(t, h2, d)
	}
	if err := topo.Isolate(1); err != nil {
		t.Fatal(err)
	}
	for _, d := range dsts {
		unreachable(t, h2, d)
	}
	// The others still talk to each other.
	reachable(t, h3, echoServer(t, h2, h2.A))
	reachable(t, h3, echoServer(t, h2, h2.B))
	if err := topo.Rejoin(1); err != nil {
		t.Fatal(err)
	}
	for _, d := range dsts {
		reachable(t, h2, d)
	}
}

func TestBadArguments(t *testing.T) {
	requireRoot(t)
	for _, n := range []int{0, -1, MaxHosts + 1} {
		if _, err := New(n); err == nil {
			t.Errorf("New(%d) succeeded", n)
		}
	}
	topo := newTopology(t, 1)
	if err := topo.LinkDown(2, NetA); err == nil {
		t.Error("LinkDown on host 2 of 1 succeeded")
	}
	if err := topo.LinkDown(1, Net(7)); err == nil {
		t.Error("LinkDown on network 7 succeeded")
	}
	for _, imp := range []Impairment{{Loss: 101}, {Loss: -1}, {Delay: -time.Second}, {Jitter: time.Millisecond}} {
		if err := topo.SetImpairment(1, NetA, imp); err == nil {
			t.Errorf("SetImpairment(%+v) succeeded", imp)
		}
	}
}

// TestImpairmentNeedsNetem runs natively: where the kernel has no netem
// the error must say which module is missing; where it has, a round of
// set, replace and clear must work. The behaviour of netem itself is
// tested by TestLabImpairment in the lab VM.
func TestImpairmentNeedsNetem(t *testing.T) {
	topo := newTopology(t, 2)
	err := topo.SetImpairment(1, NetA, Impairment{Loss: 1, Delay: time.Millisecond})
	if err != nil {
		if !errors.Is(err, ErrNetemUnavailable) || !strings.Contains(err.Error(), "sch_netem") {
			t.Fatalf("SetImpairment: %v; want an error naming the sch_netem module", err)
		}
		t.Logf("no netem here, as expected on the build hosts: %v", err)
		return
	}
	if err := topo.SetImpairment(1, NetA, Impairment{Delay: 2 * time.Millisecond}); err != nil {
		t.Fatalf("replace: %v", err)
	}
	for range 2 {
		if err := topo.ClearImpairment(1, NetA); err != nil {
			t.Fatalf("clear: %v", err)
		}
	}
	reachable(t, topo.Host(2), echoServer(t, topo.Host(1), topo.Host(1).A))
}

func TestIPv6(t *testing.T) {
	topo := newTopology(t, 2, WithIPv6())
	h1, h2 := topo.Host(1), topo.Host(2)
	if h1.A6 != netip.MustParseAddr("fd00:1::1") || h2.B6 != netip.MustParseAddr("fd00:2::2") {
		t.Fatalf("IPv6 addresses %v %v", h1.A6, h2.B6)
	}
	if len(h1.Addrs()) != 4 {
		t.Fatalf("Addrs() = %v", h1.Addrs())
	}
	for _, n := range []Net{NetA, NetB} {
		reachable(t, h2, echoServer(t, h1, h1.Addr6(n)))
	}
}

const helperPort = 7777 // every namespace is fresh, so the port is free

func startHelper(t *testing.T, h *Host) *Process {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := h.Command(exe, "-test.run=^$")
	p.Env = append(os.Environ(), "NETLAB_HELPER=udpecho", fmt.Sprintf("NETLAB_PORT=%d", helperPort))
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProcessStartKillRestart(t *testing.T) {
	topo := newTopology(t, 3)
	h1, h2 := topo.Host(1), topo.Host(2)
	p := startHelper(t, h1)
	if !p.Running() || p.Pid() == 0 {
		t.Fatalf("Running=%v Pid=%d after Start", p.Running(), p.Pid())
	}
	if got, want := nsInode(t, fmt.Sprintf("/proc/%d/ns/net", p.Pid())), nsInode(t, h1.Path()); got != want {
		t.Fatalf("helper runs in namespace %d, want h1's %d", got, want)
	}
	if err := p.Start(); err == nil {
		t.Fatal("second Start of a running process succeeded")
	}

	onA := netip.AddrPortFrom(h1.A, helperPort)
	onB := netip.AddrPortFrom(h1.B, helperPort)
	loop := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), helperPort)
	reachable(t, h2, onA)
	reachable(t, topo.Host(3), onB)
	reachable(t, h1, loop)
	// Only h1 has the program: h2's own addresses and loopback do not.
	unreachable(t, h2, loop)
	unreachable(t, h2, netip.AddrPortFrom(h2.A, helperPort))

	firstPid := p.Pid()
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if p.Running() {
		t.Fatal("Running after Kill")
	}
	if err := p.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Wait after Kill = %v, want signal: killed", err)
	}
	if err := p.Kill(); err != nil {
		t.Fatalf("Kill of a dead process: %v", err)
	}
	unreachable(t, h2, onA)

	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	if p.Pid() == firstPid || p.Starts() != 2 {
		t.Fatalf("after Restart pid %d (was %d), starts %d", p.Pid(), firstPid, p.Starts())
	}
	reachable(t, h2, onA)
	if err := p.Restart(); err != nil { // restart while running
		t.Fatal(err)
	}
	reachable(t, h2, onB)
	if got := strings.Count(p.Output(), "ready\n"); got != 3 {
		t.Fatalf("output has %d ready lines over 3 runs:\n%s", got, p.Output())
	}
}

func TestProcessOutputPassthrough(t *testing.T) {
	topo := newTopology(t, 1)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := topo.Host(1).Command("/bin/sh", "-c", "cat /proc/net/dev")
	p.Stdout = w
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	var ifs []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if name, _, ok := strings.Cut(sc.Text(), ":"); ok {
			ifs = append(ifs, strings.TrimSpace(name))
		}
	}
	if got := strings.Join(ifs, " "); !strings.Contains(got, "ethA") || !strings.Contains(got, "ethB") || strings.Count(got, " ") != 2 {
		t.Fatalf("interfaces seen by a child process: %q", got)
	}
	if p.Output() != "" {
		t.Fatalf("captured %q although stdout was redirected", p.Output())
	}
}

func namespaceLeftovers(t *testing.T, prefix string) []string {
	t.Helper()
	var left []string
	seen := map[string]bool{}
	for _, dir := range []string{"/run/netns", "/var/run/netns"} {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			if seen[real] {
				continue // /var/run is usually a link to /run
			}
			seen[real] = true
		}
		ents, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), prefix+"-") {
				left = append(left, filepath.Join(dir, e.Name()))
			}
		}
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(mi), "\n") {
		if strings.Contains(line, prefix+"-") {
			left = append(left, "mount: "+line)
		}
	}
	return left
}

func TestCloseRemovesEverything(t *testing.T) {
	requireRoot(t)
	topo, err := New(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { topo.Close() }) // in case the test fails early
	prefix := topo.Prefix()
	if got := len(namespaceLeftovers(t, prefix)); got != 2*4 { // 4 files + 4 mounts
		t.Fatalf("found %d namespace files and mounts before Close, want 8: %v", got, namespaceLeftovers(t, prefix))
	}
	p := startHelper(t, topo.Host(2))
	h := topo.Host(1)
	if err := topo.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if left := namespaceLeftovers(t, prefix); len(left) > 0 {
		t.Fatalf("left behind after Close: %v", left)
	}
	if p.Running() {
		t.Fatal("process still running after Close")
	}
	if err := topo.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := h.Do(func() error { return nil }); err == nil {
		t.Error("Do after Close succeeded")
	}
	if err := topo.LinkDown(1, NetA); err == nil {
		t.Error("LinkDown after Close succeeded")
	}
	if err := p.Restart(); err == nil {
		t.Error("Restart after Close succeeded")
	}
}

func TestParallelTopologies(t *testing.T) {
	requireRoot(t)
	prefixes := make(chan string, 4)
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			topo := newTopology(t, 2)
			prefixes <- topo.Prefix()
			// Same addresses in every topology, and no crosstalk.
			reachable(t, topo.Host(2), echoServer(t, topo.Host(1), topo.Host(1).A))
		})
	}
	t.Cleanup(func() {
		close(prefixes)
		seen := map[string]bool{}
		for p := range prefixes {
			if seen[p] {
				t.Errorf("prefix %s used twice", p)
			}
			seen[p] = true
		}
	})
}

func equalAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
