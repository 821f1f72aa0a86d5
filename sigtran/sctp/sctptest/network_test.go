package sctptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

func mustAddr(t *testing.T, s string) sctp.Addr {
	t.Helper()
	a, err := sctp.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// echo serves one accepted association: it returns every message and ends
// when the peer shuts down.
func echo(t *testing.T, as sctp.Association) {
	defer as.Close()
	buf := make([]byte, sctp.MaxMessage)
	for {
		m, ev, err := as.Recv(buf)
		switch {
		case err == io.EOF:
			return
		case err != nil:
			t.Errorf("server Recv: %v", err)
			return
		case ev != nil:
			if ev.Kind != sctp.EventCommUp && ev.Kind != sctp.EventShutdown {
				t.Errorf("server event %v", ev)
			}
		default:
			if err := as.Send(m); err != nil {
				t.Errorf("server Send: %v", err)
				return
			}
		}
	}
}

func TestListenerManyDialers(t *testing.T) {
	checkGoroutines(t)
	n := NewNetwork()
	ln, err := n.Listen(mustAddr(t, "192.168.0.1+192.168.1.1:2905"))
	if err != nil {
		t.Fatal(err)
	}
	var served sync.WaitGroup
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			as, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, sctp.ErrClosed) {
					t.Errorf("Accept: %v", err)
				}
				return
			}
			served.Add(1)
			go func() { defer served.Done(); echo(t, as) }()
		}
	}()

	const dialers = 50
	var wg sync.WaitGroup
	for i := range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			laddr := mustAddr(t, fmt.Sprintf("10.1.%d.1+10.2.%d.1:0", i, i))
			raddr := mustAddr(t, "192.168.1.1:2905") // the second address: it becomes our primary
			as, err := n.Dial(context.Background(), laddr, raddr)
			if err != nil {
				t.Errorf("Dial: %v", err)
				return
			}
			defer as.Close()
			if got := as.PeerAddr().String(); got != "192.168.1.1+192.168.0.1:2905" {
				t.Errorf("PeerAddr = %s", got)
			}
			wantEvent(t, as, sctp.EventCommUp)
			for j := range 3 {
				m := sctp.Message{Stream: uint16(j), PPID: 3, Data: fmt.Appendf(nil, "dialer %d message %d", i, j)}
				mustSend(t, as, m)
				wantMessage(t, as, m)
			}
		}()
	}
	wg.Wait()
	served.Wait() // every server side saw its shutdown and io.EOF
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	<-accepted
	if err := ln.Close(); err != nil {
		t.Errorf("second listener Close = %v", err)
	}
}

func TestDialErrors(t *testing.T) {
	n := NewNetwork()
	ln, err := n.Listen(mustAddr(t, "192.168.0.1:2905"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx := context.Background()
	laddr := mustAddr(t, "10.0.0.1:0")
	if _, err := n.Listen(mustAddr(t, "192.168.0.1+192.168.0.9:2905")); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("Listen on a used address = %v, want EADDRINUSE", err)
	}
	if _, err := n.Dial(ctx, laddr, mustAddr(t, "192.168.0.1:2906")); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Dial to no listener = %v, want ECONNREFUSED", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := n.Dial(canceled, laddr, ln.Addr()); !errors.Is(err, context.Canceled) {
		t.Errorf("Dial with a canceled context = %v", err)
	}
	n.FailPath(netip.MustParseAddr("192.168.0.1"))
	if _, err := n.Dial(ctx, laddr, ln.Addr()); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("Dial with no path = %v, want ETIMEDOUT", err)
	}
}

func TestListenerCloseAbortsBacklog(t *testing.T) {
	n := NewNetwork()
	ln, err := n.Listen(sctp.Addr{Port: 3868}) // any IP
	if err != nil {
		t.Fatal(err)
	}
	as, err := n.Dial(context.Background(), sctp.Addr{}, mustAddr(t, "172.16.0.1:3868"))
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	if got := as.LocalAddr().IPs[0].String(); got != "127.0.0.1" {
		t.Errorf("default local IP %s", got)
	}
	done := make(chan error)
	ln2, _ := n.Listen(sctp.Addr{Port: 0})
	go func() { _, err := ln2.Accept(); done <- err }()
	ln2.Close()
	if err := <-done; !errors.Is(err, sctp.ErrClosed) {
		t.Errorf("Accept after Close = %v", err)
	}
	ln.Close()
	wantEvent(t, as, sctp.EventCommUp)
	wantEvent(t, as, sctp.EventCommLost)
}

func TestNetworkFailPath(t *testing.T) {
	clk := NewFakeClock(epoch)
	n := NewNetwork(WithClock(clk), WithDeadPeer(time.Second))
	ln, err := n.Listen(mustAddr(t, "192.168.0.1+192.168.1.1:2905"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	x := netip.MustParseAddr("192.168.0.1")
	var clients []sctp.Association
	for i := range 3 {
		as, err := n.Dial(context.Background(), mustAddr(t, fmt.Sprintf("10.0.%d.1:0", i)), ln.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer as.Close()
		wantEvent(t, as, sctp.EventCommUp)
		clients = append(clients, as)
	}
	n.FailPath(x) // the server host loses one interface: each client loses a path
	for _, as := range clients {
		if ev := wantEvent(t, as, sctp.EventAddrUnreachable); ev.Addr != x {
			t.Errorf("unreachable %v", ev.Addr)
		}
		mustSend(t, as, msg(0, 3, "still up"))
	}
	n.RestorePath(x)
	for _, as := range clients {
		wantEvent(t, as, sctp.EventAddrAvailable)
	}
	// A client host losing its only interface kills its association only.
	n.FailPath(netip.MustParseAddr("10.0.0.1"))
	clk.Advance(time.Second)
	wantEvent(t, clients[0], sctp.EventAddrUnreachable)
	wantEvent(t, clients[0], sctp.EventAddrUnreachable)
	wantEvent(t, clients[0], sctp.EventCommLost)
	if _, err := clients[1].Status(); err != nil {
		t.Errorf("other association: %v", err)
	}
}

// TestNoGoroutineLeak leaves many associations in every state — timers
// armed for delayed and lost messages, a dead-peer timer running, readers
// and writers blocked — and checks that closing them leaves no goroutine.
func TestNoGoroutineLeak(t *testing.T) {
	checkGoroutines(t)
	var blocked sync.WaitGroup
	var ends []*Assoc
	for i := range 40 {
		a, b := Pair(WithSeed(uint64(i)), WithDelay(20*time.Millisecond), WithLoss(0.3), WithRecvBuffer(300))
		ends = append(ends, a, b)
		for j := range 3 {
			a.Send(sctp.Message{Stream: uint16(j), Data: make([]byte, 100)})
		}
		switch i % 4 {
		case 0: // a reader blocked on b... after its comm-up
			wantEvent(t, b, sctp.EventCommUp)
			blocked.Add(1)
			go func() { defer blocked.Done(); b.Recv(make([]byte, 1)) }()
		case 1: // a writer blocked on a full buffer
			blocked.Add(1)
			go func() { defer blocked.Done(); a.Send(sctp.Message{Data: make([]byte, 100)}) }()
		case 2: // all paths down: the dead-peer timer runs
			a.FailPath(a1)
			a.FailPath(a2)
		case 3: // a reader with a deadline far away
			wantEvent(t, a, sctp.EventCommUp)
			a.SetReadDeadline(time.Now().Add(time.Hour))
			blocked.Add(1)
			go func() { defer blocked.Done(); a.Recv(make([]byte, 1)) }()
		}
	}
	for i, e := range ends {
		if i%3 == 0 {
			e.Abort()
		} else {
			e.Close()
		}
	}
	blocked.Wait()
}
