//go:build lab

package sctp

// Kernel SCTP tests. They run as root in the lab VM:
//
//	go run ./cmd/siglab test ./sigtran/sctp -- -test.run ^TestLab -test.v
//
// They never skip: without kernel SCTP they fail with ErrNoSCTP's text.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

var (
	lo1 = netip.MustParseAddr("127.0.0.1")
	lo2 = netip.MustParseAddr("127.0.0.2")
)

// labTuning is Telecom with timers loose enough for a software-emulated
// VM, where the guest can stall for longer than Telecom's 150 ms RTO.max.
func labTuning() Tuning {
	t := RFC
	t.Name = "lab"
	t.NoDelay = true
	t.SackDelay = 10 * time.Millisecond
	return t
}

func mustListen(t testing.TB, cfg Config, a Addr) *KernelListener {
	t.Helper()
	l, err := Listen(cfg, a)
	if err != nil {
		if errors.Is(err, ErrNoSCTP) {
			t.Fatalf("no kernel SCTP here: %v", ErrNoSCTP)
		}
		t.Fatalf("Listen(%v): %v", a, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// pair sets up one association over loopback and returns the dialing and
// the accepting ends. Both have already reported EventCommUp.
func pair(t testing.TB, cfg Config, laddr, dialFrom Addr) (client, server *Conn) {
	t.Helper()
	l := mustListen(t, cfg, laddr)
	raddr := l.Addr()
	if len(laddr.IPs) > 0 {
		raddr.IPs = laddr.IPs
	}
	type res struct {
		c   *Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := l.AcceptContext(ctx)
		ch <- res{c, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := Dial(ctx, cfg, dialFrom, raddr)
	if err != nil {
		t.Fatalf("Dial(%v): %v", raddr, err)
	}
	r := <-ch
	if r.err != nil {
		client.Close()
		t.Fatalf("Accept: %v", r.err)
	}
	server = r.c
	t.Cleanup(func() { client.Abort(); server.Abort() })
	for _, c := range []*Conn{client, server} {
		ev := nextEvent(t, c)
		if ev.Kind != EventCommUp {
			t.Fatalf("first event %v, want comm-up", ev)
		}
	}
	return client, server
}

// nextEvent reads until an event arrives; data is a test failure.
func nextEvent(t testing.TB, c *Conn) *Event {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, MaxMessage)
	m, ev, err := c.Recv(buf)
	if err != nil {
		t.Fatalf("Recv: %v (want an event)", err)
	}
	if ev == nil {
		t.Fatalf("Recv: message stream=%d ppid=%d len=%d, want an event", m.Stream, m.PPID, len(m.Data))
	}
	return ev
}

// nextMessage reads until a message arrives, skipping address events.
func nextMessage(t testing.TB, c *Conn, buf []byte) Message {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	for {
		m, ev, err := c.Recv(buf)
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if ev == nil {
			return m
		}
		switch ev.Kind {
		case EventAddrAvailable, EventAddrMadePrimary, EventAddrPotentiallyFailed:
			continue
		}
		t.Fatalf("Recv: event %v, want a message", ev)
	}
}

func loAddr(ips ...netip.Addr) Addr { return Addr{IPs: ips} }

func TestLabStreamsAndPPIDs(t *testing.T) {
	client, server := pair(t, Config{Tuning: labTuning()}, loAddr(lo1), Addr{})
	in, out := client.Streams()
	if in != 17 || out != 17 {
		t.Fatalf("client streams %d/%d, want 17/17", in, out)
	}
	ppids := []uint32{3, 11, 0xdeadbeef, 0, 1, 0x01020304}
	var sent []Message
	for s := uint16(0); s < 17; s++ {
		m := Message{Stream: s, PPID: ppids[int(s)%len(ppids)], Data: []byte("stream " + strconv.Itoa(int(s)))}
		sent = append(sent, m)
	}
	for _, m := range sent {
		if err := client.Send(m); err != nil {
			t.Fatalf("Send(stream %d): %v", m.Stream, err)
		}
	}
	buf := make([]byte, 1024)
	got := map[uint16]Message{}
	for range sent {
		m := nextMessage(t, server, buf)
		m.Data = append([]byte(nil), m.Data...)
		got[m.Stream] = m
	}
	for _, m := range sent {
		g, ok := got[m.Stream]
		if !ok {
			t.Errorf("nothing on stream %d", m.Stream)
			continue
		}
		if g.PPID != m.PPID || !bytes.Equal(g.Data, m.Data) || g.Unordered {
			t.Errorf("stream %d: got ppid=%#x data=%q unordered=%v, want ppid=%#x data=%q", m.Stream, g.PPID, g.Data, g.Unordered, m.PPID, m.Data)
		}
	}
	// And back, server to client.
	if err := server.Send(Message{Stream: 5, PPID: 11, Data: []byte("asap")}); err != nil {
		t.Fatal(err)
	}
	if m := nextMessage(t, client, buf); m.Stream != 5 || m.PPID != 11 || string(m.Data) != "asap" {
		t.Fatalf("client got stream=%d ppid=%d %q", m.Stream, m.PPID, m.Data)
	}
}

func TestLabLargeMessagesArriveWhole(t *testing.T) {
	client, server := pair(t, Config{Tuning: labTuning()}, loAddr(lo1), Addr{})
	r := rand.New(rand.NewPCG(1, 2))
	var want [][]byte
	for i := 0; i < 6; i++ {
		n := MaxMessage - i // 64 KiB and just below
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		want = append(want, b)
	}
	errc := make(chan error, 1)
	go func() {
		for i, b := range want {
			if err := client.Send(Message{Stream: uint16(i % 3), PPID: 3, Data: b}); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	// Order holds per stream only: a message on one stream may overtake a
	// larger one on another.
	buf := make([]byte, MaxMessage)
	next := map[uint16]int{0: 0, 1: 1, 2: 2} // next index expected per stream
	for range want {
		m := nextMessage(t, server, buf)
		i, ok := next[m.Stream]
		if !ok || i >= len(want) {
			t.Fatalf("unexpected message on stream %d", m.Stream)
		}
		if !bytes.Equal(m.Data, want[i]) || m.PPID != 3 {
			t.Fatalf("message %d (stream %d): got %d bytes ppid %d, want %d bytes ppid 3 (equal=%v)", i, m.Stream, len(m.Data), m.PPID, len(want[i]), bytes.Equal(m.Data, want[i]))
		}
		next[m.Stream] = i + 3
	}
	if err := <-errc; err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func TestLabUnordered(t *testing.T) {
	client, server := pair(t, Config{Tuning: labTuning()}, loAddr(lo1), Addr{})
	if err := client.Send(Message{Stream: 2, PPID: 3, Unordered: true, Data: []byte("u")}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	m := nextMessage(t, server, buf)
	if !m.Unordered || m.Stream != 2 || string(m.Data) != "u" {
		t.Fatalf("got %+v, want unordered on stream 2", m)
	}
	if err := client.Send(Message{Stream: 2, PPID: 3, Data: []byte("o")}); err != nil {
		t.Fatal(err)
	}
	if m := nextMessage(t, server, buf); m.Unordered || string(m.Data) != "o" {
		t.Fatalf("got %+v, want an ordered message", m)
	}
}

func TestLabShutdownOnPeerClose(t *testing.T) {
	client, server := pair(t, Config{Tuning: labTuning()}, loAddr(lo1), Addr{})
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, client)
	if ev.Kind != EventShutdown {
		t.Fatalf("after peer Close: %v, want shutdown", ev)
	}
	client.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, ev, err := client.Recv(make([]byte, 64))
	if !errors.Is(err, io.EOF) {
		t.Fatalf("after shutdown: event=%v err=%v, want io.EOF", ev, err)
	}
	if err := server.Send(Message{Data: []byte("x")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v, want ErrClosed", err)
	}
}

func TestLabCommLostOnPeerAbort(t *testing.T) {
	client, server := pair(t, Config{Tuning: labTuning()}, loAddr(lo1), Addr{})
	if err := client.Abort(); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, server)
	if ev.Kind != EventCommLost {
		t.Fatalf("after peer Abort: %v, want comm-lost", ev)
	}
	// After the loss Recv ends with ErrAssociationLost; it must not wait
	// for data that will never come (the deadline only guards the test).
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1024)
	for i := 0; ; i++ {
		_, ev, err := server.Recv(buf)
		if err != nil {
			if !errors.Is(err, ErrAssociationLost) {
				t.Fatalf("Recv after comm-lost: %v, want an error wrapping ErrAssociationLost", err)
			}
			break
		}
		if i > 100 {
			t.Fatalf("Recv after comm-lost keeps returning events (last %v)", ev)
		}
	}
	if err := server.Send(Message{Data: []byte("x")}); !errors.Is(err, ErrAssociationLost) {
		t.Fatalf("Send after comm-lost: %v, want an error wrapping ErrAssociationLost", err)
	}
}

// TestLabSendFailedCarriesUnsent fills the peer's window, then the peer
// aborts: the queued messages come back as send-failed events carrying
// their data, stream and PPID.
func TestLabSendFailedCarriesUnsent(t *testing.T) {
	client, server := pair(t, Config{Tuning: labTuning()}, loAddr(lo1), Addr{})
	payload := bytes.Repeat([]byte{0xab}, 4000)
	sent := 0
	for sent < 10000 {
		client.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		err := client.Send(Message{Stream: 7, PPID: 0xdeadbeef, Data: payload})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatalf("Send %d: %v", sent, err)
		}
		sent++
	}
	client.SetWriteDeadline(time.Time{})
	t.Logf("%d messages queued before the send buffer filled", sent)
	if err := server.Abort(); err != nil {
		t.Fatal(err)
	}
	var lost, failed bool
	buf := make([]byte, MaxMessage)
	client.SetReadDeadline(time.Now().Add(20 * time.Second))
	for !(lost && failed) {
		_, ev, err := client.Recv(buf)
		if err != nil {
			t.Fatalf("Recv: %v (comm-lost seen: %v, send-failed seen: %v)", err, lost, failed)
		}
		if ev == nil {
			t.Fatal("data after the peer's abort")
		}
		switch ev.Kind {
		case EventCommLost:
			lost = true
		case EventSendFailed:
			u := ev.Unsent
			if u == nil || u.Stream != 7 || u.PPID != 0xdeadbeef || !bytes.Equal(u.Data, payload) {
				t.Fatalf("send-failed %v: unsent %+v does not match what was sent", ev, u)
			}
			failed = true
		}
	}
}

func TestLabMultihomedStatusAndSetPrimary(t *testing.T) {
	client, server := pair(t, Config{Tuning: labTuning()}, loAddr(lo1, lo2), loAddr(lo1, lo2))
	for _, c := range []*Conn{client, server} {
		if got := c.PeerAddr(); len(got.IPs) != 2 {
			t.Fatalf("PeerAddr %v: want 2 addresses", got)
		}
		if got := c.LocalAddr(); len(got.IPs) != 2 {
			t.Fatalf("LocalAddr %v: want 2 addresses", got)
		}
	}
	st, err := client.Status()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status: %+v", st)
	if st.State != "established" || len(st.Paths) != 2 || st.OutStreams != 17 {
		t.Fatalf("status %+v: want established, 2 paths, 17 out streams", st)
	}
	primaries := 0
	var other netip.Addr
	for _, p := range st.Paths {
		if p.Primary {
			primaries++
			if p.Addr != st.Primary {
				t.Errorf("path %v primary but Status.Primary is %v", p.Addr, st.Primary)
			}
		} else {
			other = p.Addr
		}
		if p.MTU == 0 || p.RTO == 0 || p.Cwnd == 0 {
			t.Errorf("path %+v: zero MTU, RTO or cwnd", p)
		}
	}
	if primaries != 1 {
		t.Fatalf("%d primary paths, want 1", primaries)
	}
	// Confirm both paths by heartbeat, then move the primary.
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err = client.Status()
		if err != nil {
			t.Fatal(err)
		}
		active := 0
		for _, p := range st.Paths {
			if p.State == PathActive {
				active++
			}
		}
		if active == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("paths not both active after 60 s: %+v", st.Paths)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := client.SetPrimary(other); err != nil {
		t.Fatalf("SetPrimary(%v): %v", other, err)
	}
	st, err = client.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Primary != other {
		t.Fatalf("primary %v after SetPrimary(%v)", st.Primary, other)
	}
	// Traffic still flows.
	if err := client.Send(Message{Stream: 1, PPID: 3, Data: []byte("via new primary")}); err != nil {
		t.Fatal(err)
	}
	if m := nextMessage(t, server, make([]byte, 64)); string(m.Data) != "via new primary" {
		t.Fatalf("got %q", m.Data)
	}
}

func TestLabDialReachesSecondAddress(t *testing.T) {
	// The peer's first address is dead: a blackhole route swallows what is
	// sent there (in a network namespace of this test's own, so that the
	// host's routes are left alone). The INIT sent to it is lost, and the
	// kernel retransmits it to the next address connectx was given, where
	// the listener is.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New() // also enters it, on this thread only
	if err != nil {
		t.Fatalf("new network namespace: %v", err)
	}
	defer ns.Close()
	defer netns.Set(orig)
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	// 192.0.2.1: blackhole route (sending INIT there fails at once).
	// 198.51.100.1: routed into lo, where nothing answers it. (Under the
	// 6.1 kernel this dial also completes well before T1-init expires, so
	// it too goes through the rotation in Dial; the kernel's own INIT
	// retransmission to alternate addresses is left to the netlab tests.)
	_, dst, _ := net.ParseCIDR("192.0.2.0/24")
	if err := netlink.RouteAdd(&netlink.Route{Dst: dst, Type: syscall.RTN_BLACKHOLE}); err != nil {
		t.Fatalf("blackhole route: %v", err)
	}
	_, dst2, _ := net.ParseCIDR("198.51.100.0/24")
	if err := netlink.RouteAdd(&netlink.Route{Dst: dst2, LinkIndex: lo.Attrs().Index}); err != nil {
		t.Fatalf("route via lo: %v", err)
	}
	for _, deadIP := range []string{"192.0.2.1", "198.51.100.1"} {
		t.Run(deadIP, func(t *testing.T) { dialPastDeadAddress(t, netip.MustParseAddr(deadIP)) })
	}
}

func dialPastDeadAddress(t *testing.T, dead netip.Addr) {
	tun := labTuning()
	tun.RTOInitial, tun.RTOMin = 200*time.Millisecond, 100*time.Millisecond
	l := mustListen(t, Config{Tuning: tun}, loAddr(lo2))
	raddr := Addr{IPs: []netip.Addr{dead, lo2}, Port: l.Addr().Port}
	go func() {
		c, err := l.Accept()
		if err == nil {
			t.Cleanup(func() { c.Abort() })
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{Tuning: tun}, Addr{}, raddr)
	if err != nil {
		t.Fatalf("Dial(%v): %v", raddr, err)
	}
	defer c.Abort()
	if ev := nextEvent(t, c); ev.Kind != EventCommUp {
		t.Fatalf("got %v, want comm-up", ev)
	}
	if got := c.PeerAddr(); len(got.IPs) == 0 || got.Port != raddr.Port {
		t.Fatalf("PeerAddr %v", got)
	}
}

func TestLabDeadlineAndCloseUnblockRecv(t *testing.T) {
	client, _ := pair(t, Config{Tuning: labTuning()}, loAddr(lo1), Addr{})
	buf := make([]byte, 64)
	client.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, _, err := client.Recv(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Recv past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	client.SetReadDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() {
		_, _, err := client.Recv(buf)
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond) // let it block (correctness does not depend on it)
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked Recv after Close: %v, want ErrClosed", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not unblock Recv")
	}
}

func TestLabWriteDeadlineUnblocksSend(t *testing.T) {
	client, _ := pair(t, Config{Tuning: labTuning()}, loAddr(lo1), Addr{})
	// The server never reads: the send buffer fills and Send blocks.
	client.SetWriteDeadline(time.Now().Add(2 * time.Second))
	payload := make([]byte, 8000)
	var err error
	for i := 0; i < 100000 && err == nil; i++ {
		err = client.Send(Message{PPID: 3, Data: payload})
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Send with a full buffer: %v, want os.ErrDeadlineExceeded", err)
	}
}

func TestLabInvalidStream(t *testing.T) {
	client, _ := pair(t, Config{Tuning: labTuning()}, loAddr(lo1), Addr{})
	_, out := client.Streams()
	if err := client.Send(Message{Stream: out, PPID: 3, Data: []byte("x")}); !errors.Is(err, ErrInvalidStream) {
		t.Fatalf("Send on stream %d of %d: %v, want ErrInvalidStream", out, out, err)
	}
	if err := client.Send(Message{Stream: out - 1, PPID: 3, Data: []byte("x")}); err != nil {
		t.Fatalf("Send on the last stream: %v", err)
	}
}

func TestLabMessageTooLongThenStillWorks(t *testing.T) {
	client, server := pair(t, Config{Tuning: labTuning()}, loAddr(lo1), Addr{})
	big := bytes.Repeat([]byte("0123456789"), 3000)
	if err := client.Send(Message{Stream: 1, PPID: 3, Data: big}); err != nil {
		t.Fatal(err)
	}
	if err := client.Send(Message{Stream: 1, PPID: 11, Data: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	small := make([]byte, 100)
	server.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, ev, err := server.Recv(small); !errors.Is(err, ErrMessageTooLong) {
		t.Fatalf("Recv into 100 bytes of a %d-byte message: ev=%v err=%v, want ErrMessageTooLong", len(big), ev, err)
	}
	m := nextMessage(t, server, small)
	if string(m.Data) != "after" || m.PPID != 11 {
		t.Fatalf("next message %q ppid %d, want \"after\" ppid 11", m.Data, m.PPID)
	}
	if err := server.Send(Message{Stream: 0, PPID: 3, Data: []byte("reply")}); err != nil {
		t.Fatal(err)
	}
	if m := nextMessage(t, client, small); string(m.Data) != "reply" {
		t.Fatalf("got %q", m.Data)
	}
}

func TestLabTuningApplied(t *testing.T) {
	client, server := pair(t, Config{Tuning: Telecom}, loAddr(lo1), Addr{})
	for name, c := range map[string]*Conn{"client": client, "server": server} {
		rto := make([]byte, sizeRTOInfo)
		if _, err := c.sock.GetsockoptBytes(solSCTP, optRTOInfo, rto); err != nil {
			t.Fatal(err)
		}
		// The kernel keeps association timers in jiffies: values read back
		// are rounded up to a jiffy (4 ms at Debian's HZ=250).
		initial, rmax, rmin := ne.Uint32(rto[4:]), ne.Uint32(rto[8:]), ne.Uint32(rto[12:])
		if !jiffyNear(initial, 100) || !jiffyNear(rmax, 150) || !jiffyNear(rmin, 50) {
			t.Errorf("%s: RTO initial/max/min %d/%d/%d ms, want 100/150/50 (to the jiffy)", name, initial, rmax, rmin)
		}
		t.Logf("%s: RTO initial/max/min as the kernel keeps them: %d/%d/%d ms", name, initial, rmax, rmin)
		ap := make([]byte, sizeAssocParams)
		if _, err := c.sock.GetsockoptBytes(solSCTP, optAssocInfo, ap); err != nil {
			t.Fatal(err)
		}
		if got := ne.Uint16(ap[4:]); got != 4 {
			t.Errorf("%s: assoc max retrans %d, want 4", name, got)
		}
		pp := make([]byte, sizePaddrParams)
		if _, err := c.sock.GetsockoptBytes(solSCTP, optPeerAddrParams, pp); err != nil {
			t.Fatal(err)
		}
		hb, pmr, flags := ne.Uint32(pp[offPPHBInterval:]), ne.Uint16(pp[offPPPathMaxRxt:]), ne.Uint32(pp[offPPFlags:])
		if hb != 100 || pmr != 2 || flags&sppHBEnable == 0 {
			t.Errorf("%s: hbinterval %d pathmaxrxt %d flags %#x, want 100, 2, HB enabled", name, hb, pmr, flags)
		}
		th := make([]byte, sizePaddrThlds)
		if _, err := c.sock.GetsockoptBytes(solSCTP, optPeerAddrThlds, th); err != nil {
			t.Fatal(err)
		}
		if pf := ne.Uint16(th[offPTPFThld:]); pf != 0 {
			t.Errorf("%s: pf threshold %d, want 0", name, pf)
		}
		sack := make([]byte, sizeSackInfo)
		if _, err := c.sock.GetsockoptBytes(solSCTP, optDelayedSack, sack); err != nil {
			t.Fatal(err)
		}
		if d := ne.Uint32(sack[4:]); !jiffyNear(d, 10) {
			t.Errorf("%s: SACK delay %d ms, want 10 (to the jiffy)", name, d)
		}
		nd, err := c.sock.GetsockoptInt(solSCTP, optNoDelay)
		if err != nil || nd != 1 {
			t.Errorf("%s: SCTP_NODELAY %d (%v), want 1", name, nd, err)
		}
		snd, _ := c.sock.GetsockoptInt(syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		if snd < MaxMessage {
			t.Errorf("%s: SO_SNDBUF %d below MaxMessage", name, snd)
		}
	}
}

// jiffyNear reports whether a value read back in ms is want rounded up to
// a jiffy of at most 10 ms (HZ >= 100).
func jiffyNear(got, want uint32) bool { return got >= want && got < want+10 }

func threads(t testing.TB) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}

func raiseFileLimit(t testing.TB, n uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	lim.Cur = n
	if lim.Max < n {
		lim.Max = n
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raising RLIMIT_NOFILE to %d: %v", n, err)
	}
}

func TestLab500AssociationsFewThreads(t *testing.T) {
	const n = 500
	raiseFileLimit(t, 4*n)
	cfg := Config{Tuning: labTuning()}
	l := mustListen(t, cfg, loAddr(lo1))
	raddr := Addr{IPs: []netip.Addr{lo1}, Port: l.Addr().Port}

	var (
		mu    sync.Mutex
		conns []*Conn
		wg    sync.WaitGroup // readers
	)
	// Each reader waits for comm-up, then blocks in Recv until Close.
	startReader := func(c *Conn) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256)
			for {
				if _, _, err := c.Recv(buf); err != nil {
					return
				}
			}
		}()
	}
	acceptDone := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			c, err := l.AcceptContext(context.Background())
			if err != nil {
				acceptDone <- err
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			startReader(c)
		}
		acceptDone <- nil
	}()
	var dialWG sync.WaitGroup
	sem := make(chan struct{}, 25)
	dialErr := make(chan error, n)
	for i := 0; i < n; i++ {
		dialWG.Add(1)
		sem <- struct{}{}
		go func() {
			defer dialWG.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			c, err := Dial(ctx, cfg, Addr{}, raddr)
			if err != nil {
				dialErr <- err
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			startReader(c)
		}()
	}
	dialWG.Wait()
	close(dialErr)
	for err := range dialErr {
		t.Fatalf("Dial: %v", err)
	}
	select {
	case err := <-acceptDone:
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
	case <-time.After(120 * time.Second):
		t.Fatal("not all associations accepted within 120 s")
	}
	// Give the readers time to block in the poller (the assertion does not
	// depend on timing: blocked or not, they must not hold threads).
	time.Sleep(2 * time.Second)
	got := threads(t)
	t.Logf("%d associations (%d sockets, %d readers blocked in Recv): %d OS threads", n, len(conns), len(conns), got)
	if got >= 50 {
		t.Errorf("%d OS threads with %d blocked readers, want < 50", got, len(conns))
	}
	// Traffic on a few of them still works.
	for _, c := range conns[:5] {
		if err := c.Send(Message{Stream: 1, PPID: 3, Data: []byte("ping")}); err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("readers still blocked 60 s after Close")
	}
}

// BenchmarkLabThroughput measures one association carrying 200-byte
// messages one way (Telecom tuning: no Nagle, 10 ms delayed SACK).
func BenchmarkLabThroughput(b *testing.B) {
	client, server := pair(b, Config{Tuning: Telecom}, loAddr(lo1), Addr{})
	payload := make([]byte, 200)
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 1024)
		for i := 0; i < b.N; {
			_, ev, err := server.Recv(buf)
			if err != nil {
				done <- err
				return
			}
			if ev == nil {
				i++
			}
		}
		done <- nil
	}()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := client.Send(Message{Stream: uint16(i % 16), PPID: 3, Data: payload}); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
