package sctptest

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

func TestRoundTrip(t *testing.T) {
	checkGoroutines(t)
	a, b := pairUp(t)
	tests := []struct {
		name string
		from *Assoc
		to   *Assoc
		m    sctp.Message
	}{
		{"stream 0 M3UA", a, b, sctp.Message{Stream: 0, PPID: 3, Data: []byte("aspup")}},
		{"last stream", a, b, sctp.Message{Stream: 16, PPID: 3, Data: []byte("data")}},
		{"unordered ASAP", a, b, sctp.Message{Stream: 1, PPID: 11, Unordered: true, Data: []byte("cookie")}},
		{"one byte", b, a, sctp.Message{Stream: 2, PPID: 0xfffffffe, Data: []byte{7}}},
		{"largest", b, a, sctp.Message{Stream: 5, PPID: 3, Data: bytes.Repeat([]byte{0xa5}, sctp.MaxMessage)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := bytes.Clone(tt.m.Data)
			mustSend(t, tt.from, tt.m)
			for i := range tt.m.Data { // the sender reuses its buffer
				tt.m.Data[i] ^= 0xff
			}
			buf := make([]byte, sctp.MaxMessage+1)
			m, ev, err := tt.to.Recv(buf)
			if err != nil || ev != nil {
				t.Fatalf("Recv: %v %v", ev, err)
			}
			if m.Stream != tt.m.Stream || m.PPID != tt.m.PPID || m.Unordered != tt.m.Unordered || !bytes.Equal(m.Data, data) {
				t.Fatalf("got stream=%d ppid=%d unordered=%v len=%d", m.Stream, m.PPID, m.Unordered, len(m.Data))
			}
			if len(m.Data) > 0 && &m.Data[0] != &buf[0] {
				t.Error("Message.Data does not alias the receive buffer")
			}
		})
	}
}

func TestStreams(t *testing.T) {
	tuning := func(out, in uint16) sctp.Tuning {
		tu := sctp.Telecom
		tu.OutStreams, tu.MaxInStreams = out, in
		return tu
	}
	tests := []struct {
		name      string
		ta, tb    sctp.Tuning
		aIn, aOut uint16
		bIn, bOut uint16
	}{
		{"default", sctp.Telecom, sctp.Telecom, 17, 17, 17, 17},
		{"peer accepts fewer", tuning(32, 32), tuning(32, 8), 32, 8, 8, 32},
		{"we ask fewer", tuning(2, 17), tuning(17, 17), 17, 2, 2, 17},
		{"one stream", tuning(1, 1), tuning(1, 1), 1, 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := Pair(WithTunings(tt.ta, tt.tb))
			defer a.Abort()
			defer b.Abort()
			up := wantEvent(t, a, sctp.EventCommUp)
			if up.InStreams != tt.aIn || up.OutStreams != tt.aOut {
				t.Errorf("a comm-up %v, want streams=%d/%d", up, tt.aIn, tt.aOut)
			}
			up = wantEvent(t, b, sctp.EventCommUp)
			if up.InStreams != tt.bIn || up.OutStreams != tt.bOut {
				t.Errorf("b comm-up %v, want streams=%d/%d", up, tt.bIn, tt.bOut)
			}
			if in, out := a.Streams(); in != tt.aIn || out != tt.aOut {
				t.Errorf("a.Streams() = %d, %d", in, out)
			}
			if err := a.Send(msg(tt.aOut, 3, "x")); !errors.Is(err, sctp.ErrInvalidStream) {
				t.Errorf("a.Send(stream %d) = %v, want ErrInvalidStream", tt.aOut, err)
			}
			if err := b.Send(msg(tt.bOut, 3, "x")); !errors.Is(err, sctp.ErrInvalidStream) {
				t.Errorf("b.Send(stream %d) = %v, want ErrInvalidStream", tt.bOut, err)
			}
			mustSend(t, a, msg(tt.aOut-1, 3, "last"))
			wantMessage(t, b, msg(tt.aOut-1, 3, "last"))
		})
	}
}

func TestEmptyMessageRefused(t *testing.T) {
	a, b := pairUp(t)
	for _, data := range [][]byte{nil, {}} {
		if err := a.Send(sctp.Message{Data: data}); err == nil {
			t.Errorf("Send(%#v) succeeded", data)
		}
	}
	mustSend(t, a, msg(0, 3, "x")) // nothing was queued before it
	wantMessage(t, b, msg(0, 3, "x"))
}

func TestMessageTooLong(t *testing.T) {
	a, b := pairUp(t)
	mustSend(t, a, msg(1, 3, "0123456789abcdef"))
	mustSend(t, a, msg(1, 3, "next"))
	m, ev, err := b.Recv(make([]byte, 8))
	if !errors.Is(err, sctp.ErrMessageTooLong) || ev != nil || m.Data != nil {
		t.Fatalf("Recv into short buffer = %v, %v, %v; want ErrMessageTooLong", m, ev, err)
	}
	wantMessage(t, b, msg(1, 3, "next")) // the long one is gone, the association lives
	mustSend(t, b, msg(0, 3, "reply"))
	wantMessage(t, a, msg(0, 3, "reply"))
}

func TestOrderingWithDelay(t *testing.T) {
	clk := NewFakeClock(epoch)
	a, b := pairUp(t, WithClock(clk), WithDelay(10*time.Millisecond))
	mustSend(t, a, msg(1, 3, "o1"))
	a.SetDelay(time.Millisecond)
	mustSend(t, a, msg(1, 3, "o2"))                                                      // may not overtake o1
	mustSend(t, a, sctp.Message{Stream: 1, PPID: 3, Unordered: true, Data: []byte("u")}) // may
	mustSend(t, a, msg(2, 3, "s2"))                                                      // other stream: may
	clk.Advance(time.Millisecond)
	wantMessage(t, b, sctp.Message{Stream: 1, PPID: 3, Unordered: true, Data: []byte("u")})
	wantMessage(t, b, msg(2, 3, "s2"))
	clk.Advance(9 * time.Millisecond)
	wantMessage(t, b, msg(1, 3, "o1"))
	wantMessage(t, b, msg(1, 3, "o2"))
}

func TestClose(t *testing.T) {
	checkGoroutines(t)
	clk := NewFakeClock(epoch)
	a, b := pairUp(t, WithClock(clk), WithDelay(5*time.Millisecond))
	mustSend(t, a, msg(0, 3, "one"))
	mustSend(t, a, msg(1, 3, "two"))
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, _, err := a.Recv(make([]byte, 10)); !errors.Is(err, sctp.ErrClosed) {
		t.Errorf("Recv after Close = %v, want ErrClosed", err)
	}
	if err := a.Send(msg(0, 3, "x")); !errors.Is(err, sctp.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if _, err := a.Status(); !errors.Is(err, sctp.ErrClosed) {
		t.Errorf("Status after Close = %v, want ErrClosed", err)
	}
	clk.Advance(5 * time.Millisecond)
	// The data sent before Close arrives, then the shutdown.
	wantMessage(t, b, msg(0, 3, "one"))
	wantMessage(t, b, msg(1, 3, "two"))
	wantEvent(t, b, sctp.EventShutdown)
	for range 2 {
		if _, ev, err := b.Recv(make([]byte, 10)); err != io.EOF {
			t.Errorf("Recv after shutdown = %v, %v, want io.EOF", ev, err)
		}
	}
	if err := b.Send(msg(0, 3, "late")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Send after shutdown = %v, want EPIPE", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("b.Close: %v", err)
	}
	if clk.Pending() != 0 {
		t.Errorf("%d timers left after both ends closed", clk.Pending())
	}
}

func TestCloseWithUnreadDataAborts(t *testing.T) {
	a, b := pairUp(t)
	mustSend(t, b, msg(0, 3, "unread"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if ev := wantEvent(t, b, sctp.EventCommLost); ev.Error != causeUserAbort {
		t.Errorf("comm-lost error = %d, want %d", ev.Error, causeUserAbort)
	}
	if _, _, err := b.Recv(nil); !errors.Is(err, syscall.ECONNRESET) || !errors.Is(err, sctp.ErrAssociationLost) {
		t.Errorf("Recv = %v, want ErrAssociationLost wrapping ECONNRESET", err)
	}
}

func TestAbort(t *testing.T) {
	checkGoroutines(t)
	clk := NewFakeClock(epoch)
	a, b := pairUp(t, WithClock(clk), WithDelay(time.Millisecond))
	mustSend(t, a, msg(0, 3, "dropped by abort"))
	mustSend(t, b, msg(1, 3, "in flight 1"))
	mustSend(t, b, sctp.Message{Stream: 2, PPID: 11, Unordered: true, Data: []byte("in flight 2")})
	if err := a.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := a.Abort(); err != nil {
		t.Errorf("second Abort = %v, want nil", err)
	}
	if ev := wantEvent(t, b, sctp.EventCommLost); ev.Error != causeUserAbort {
		t.Errorf("comm-lost error = %d, want %d", ev.Error, causeUserAbort)
	}
	for _, want := range []sctp.Message{msg(1, 3, "in flight 1"), {Stream: 2, PPID: 11, Unordered: true, Data: []byte("in flight 2")}} {
		ev := wantEvent(t, b, sctp.EventSendFailed)
		if u := ev.Unsent; u == nil || u.Stream != want.Stream || u.PPID != want.PPID || u.Unordered != want.Unordered || string(u.Data) != string(want.Data) {
			t.Errorf("send-failed %v, want %q", ev, want.Data)
		}
	}
	for range 2 {
		if _, _, err := b.Recv(nil); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("Recv = %v, want ECONNRESET", err)
		}
	}
	if err := b.Send(msg(0, 3, "x")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Send after comm-lost = %v, want EPIPE", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close after comm-lost = %v", err)
	}
	if _, _, err := b.Recv(nil); !errors.Is(err, sctp.ErrClosed) {
		t.Errorf("Recv after Close = %v, want ErrClosed", err)
	}
}

var (
	a1 = netip.MustParseAddr("10.0.1.1")
	a2 = netip.MustParseAddr("10.0.2.1")
	b1 = netip.MustParseAddr("10.0.1.2")
	b2 = netip.MustParseAddr("10.0.2.2")
)

func TestPathFailure(t *testing.T) {
	tests := []struct {
		name      string
		fail      netip.Addr
		loser     int // 0: a reports, 1: b reports
		otherPath netip.Addr
	}{
		{"b's primary address", b1, 0, b2},
		{"b's second address", b2, 0, b1},
		{"a's primary address", a1, 1, a2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := pairUp(t)
			ends := [2]*Assoc{a, b}
			loser, other := ends[tt.loser], ends[1-tt.loser]
			if err := a.FailPath(tt.fail); err != nil {
				t.Fatal(err)
			}
			if err := a.FailPath(tt.fail); err != nil { // already down: nothing new
				t.Fatal(err)
			}
			if ev := wantEvent(t, loser, sctp.EventAddrUnreachable); ev.Addr != tt.fail {
				t.Errorf("unreachable %v, want %v", ev.Addr, tt.fail)
			}
			st, err := loser.Status()
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range st.Paths {
				want := sctp.PathActive
				if p.Addr == tt.fail {
					want = sctp.PathInactive
				}
				if p.State != want {
					t.Errorf("path %v state %v, want %v", p.Addr, p.State, want)
				}
			}
			// Traffic keeps flowing both ways, and the other end saw no event.
			mustSend(t, loser, msg(0, 3, "via other path"))
			wantMessage(t, other, msg(0, 3, "via other path"))
			mustSend(t, other, msg(0, 3, "back"))
			wantMessage(t, loser, msg(0, 3, "back"))

			if err := b.RestorePath(tt.fail); err != nil {
				t.Fatal(err)
			}
			if ev := wantEvent(t, loser, sctp.EventAddrAvailable); ev.Addr != tt.fail {
				t.Errorf("available %v, want %v", ev.Addr, tt.fail)
			}
			mustSend(t, loser, msg(0, 3, "x"))
			wantMessage(t, other, msg(0, 3, "x"))
		})
	}
	t.Run("unknown address", func(t *testing.T) {
		a, _ := pairUp(t)
		if err := a.FailPath(netip.MustParseAddr("192.0.2.1")); !errors.Is(err, ErrUnknownAddr) {
			t.Errorf("FailPath(foreign) = %v, want ErrUnknownAddr", err)
		}
	})
}

func TestDeadPeer(t *testing.T) {
	checkGoroutines(t)
	clk := NewFakeClock(epoch)
	a, b := pairUp(t, WithClock(clk), WithDeadPeer(time.Second), WithDelay(time.Millisecond))
	mustSend(t, a, msg(3, 3, "a1"))
	mustSend(t, b, msg(4, 3, "b1"))
	// b's host loses both interfaces: every path of both ends goes.
	b.FailPath(b1)
	b.FailPath(b2)
	for _, tt := range []struct {
		e     *Assoc
		addrs []netip.Addr
	}{{a, []netip.Addr{b1, b2}}, {b, []netip.Addr{a1, a2}}} {
		for _, ip := range tt.addrs {
			if ev := wantEvent(t, tt.e, sctp.EventAddrUnreachable); ev.Addr != ip {
				t.Errorf("unreachable %v, want %v", ev.Addr, ip)
			}
		}
	}
	mustSend(t, a, msg(3, 3, "a2")) // accepted, held
	if st, _ := a.Status(); st.Pending != 2 || st.Unacked != 0 {
		t.Errorf("status pending=%d unacked=%d, want 2, 0", st.Pending, st.Unacked)
	}
	clk.Advance(999 * time.Millisecond)
	if st, err := a.Status(); err != nil || st.State != "established" {
		t.Fatalf("before the dead-peer time: %v %v", st.State, err)
	}
	clk.Advance(time.Millisecond)
	for _, tt := range []struct {
		e      *Assoc
		unsent []string
	}{{a, []string{"a1", "a2"}}, {b, []string{"b1"}}} {
		wantEvent(t, tt.e, sctp.EventCommLost)
		for _, want := range tt.unsent {
			ev := wantEvent(t, tt.e, sctp.EventSendFailed)
			if ev.Unsent == nil || string(ev.Unsent.Data) != want {
				t.Errorf("send-failed %v, want %q", ev, want)
			}
		}
		if _, _, err := tt.e.Recv(nil); !errors.Is(err, syscall.ETIMEDOUT) || !errors.Is(err, sctp.ErrAssociationLost) {
			t.Errorf("Recv = %v, want ErrAssociationLost wrapping ETIMEDOUT", err)
		}
	}
	if clk.Pending() != 0 {
		t.Errorf("%d timers left after comm-lost", clk.Pending())
	}
}

func TestDeadPeerAvertedByRestore(t *testing.T) {
	clk := NewFakeClock(epoch)
	a, b := pairUp(t, WithClock(clk), WithDeadPeer(time.Second))
	a.FailPath(a1)
	a.FailPath(a2)
	mustSend(t, a, msg(0, 3, "held"))
	clk.Advance(900 * time.Millisecond)
	a.RestorePath(a2)
	wantEvent(t, b, sctp.EventAddrUnreachable) // a1
	wantEvent(t, b, sctp.EventAddrUnreachable) // a2
	if ev := wantEvent(t, b, sctp.EventAddrAvailable); ev.Addr != a2 {
		t.Errorf("available %v, want %v", ev.Addr, a2)
	}
	clk.Advance(time.Second) // past the old dead-peer time; and the retransmission
	wantMessage(t, b, msg(0, 3, "held"))
	if _, err := b.Status(); err != nil {
		t.Errorf("association died: %v", err)
	}
}

func TestStatusAndPrimary(t *testing.T) {
	a, b := pairUp(t, WithDelay(2*time.Millisecond))
	st, err := a.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "established" || st.InStreams != 17 || st.OutStreams != 17 || st.Primary != b1 || len(st.Paths) != 2 {
		t.Fatalf("status %+v", st)
	}
	for _, p := range st.Paths {
		if p.State != sctp.PathActive || p.Primary != (p.Addr == b1) || p.SRTT < 4*time.Millisecond || p.RTO < sctp.Telecom.RTOMin || p.RTO > sctp.Telecom.RTOMax || p.MTU == 0 || p.Cwnd == 0 {
			t.Errorf("path %+v", p)
		}
	}
	if err := a.SetPrimary(b2); err != nil {
		t.Fatal(err)
	}
	if ev := wantEvent(t, a, sctp.EventAddrMadePrimary); ev.Addr != b2 {
		t.Errorf("made-primary %v", ev.Addr)
	}
	if st, _ := a.Status(); st.Primary != b2 || !st.Paths[1].Primary || st.Paths[0].Primary {
		t.Errorf("after SetPrimary: %+v", st)
	}
	if err := a.SetPrimary(a1); err == nil {
		t.Error("SetPrimary(own address) succeeded")
	}
	if got := a.LocalAddr().String(); got != "10.0.1.1+10.0.2.1:2905" {
		t.Errorf("LocalAddr = %s", got)
	}
	if got := b.PeerAddr().String(); got != "10.0.1.1+10.0.2.1:2905" {
		t.Errorf("PeerAddr = %s", got)
	}
}

func TestBackPressure(t *testing.T) {
	checkGoroutines(t)
	a, b := pairUp(t, WithRecvBuffer(1000))
	chunk := bytes.Repeat([]byte{1}, 100)
	for i := range 10 {
		mustSend(t, a, sctp.Message{Stream: uint16(i % 3), PPID: 3, Data: chunk})
	}
	// The peer's buffer is full: Send blocks until the deadline.
	a.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	err := a.Send(sctp.Message{PPID: 3, Data: chunk})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Send to a full peer = %v, want deadline exceeded", err)
	}
	if err := a.Send(sctp.Message{Data: make([]byte, 1001)}); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Send larger than the peer's buffer = %v, want a size error", err)
	}
	// A blocked Send resumes when the reader makes room.
	a.SetWriteDeadline(time.Time{})
	done := make(chan error)
	go func() { done <- a.Send(sctp.Message{PPID: 3, Data: []byte("last")}) }()
	recv(t, b)
	if err := <-done; err != nil {
		t.Fatalf("Send after room was made: %v", err)
	}
	// And Abort unblocks blocked Sends (904 bytes outstanding: no room).
	for range 2 {
		go func() { done <- a.Send(sctp.Message{PPID: 3, Data: chunk}) }()
	}
	a.Abort()
	for range 2 {
		if err := <-done; !errors.Is(err, sctp.ErrClosed) {
			t.Errorf("blocked Send ended with %v, want ErrClosed", err)
		}
	}
}

func TestCloseUnblocksRecv(t *testing.T) {
	checkGoroutines(t)
	for _, abort := range []bool{false, true} {
		a, _ := pairUp(t)
		done := make(chan error)
		go func() {
			_, _, err := a.Recv(make([]byte, 10))
			done <- err
		}()
		if abort {
			a.Abort()
		} else {
			a.Close()
		}
		if err := <-done; !errors.Is(err, sctp.ErrClosed) {
			t.Errorf("abort=%v: blocked Recv = %v, want ErrClosed", abort, err)
		}
	}
}

func TestReadDeadline(t *testing.T) {
	checkGoroutines(t)
	a, b := pairUp(t)
	a.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, _, err := a.Recv(make([]byte, 10))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Recv = %v, want deadline exceeded", err)
	}
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("%v is not a timeout error", err)
	}
	// Moving the deadline into the past wakes a blocked Recv.
	a.SetReadDeadline(time.Time{})
	done := make(chan error)
	go func() {
		_, _, err := a.Recv(make([]byte, 10))
		done <- err
	}()
	a.SetDeadline(time.Unix(1, 0))
	if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Recv = %v, want deadline exceeded", err)
	}
	// Clearing it makes the association usable again.
	a.SetDeadline(time.Time{})
	mustSend(t, b, msg(0, 3, "ok"))
	wantMessage(t, a, msg(0, 3, "ok"))
}

func TestFakeClockDeadline(t *testing.T) {
	checkGoroutines(t)
	clk := NewFakeClock(epoch)
	a, _ := pairUp(t, WithClock(clk))
	a.SetReadDeadline(epoch.Add(time.Second))
	done := make(chan error)
	go func() {
		_, _, err := a.Recv(make([]byte, 10))
		done <- err
	}()
	for clk.Pending() == 0 { // wait until Recv blocks on its deadline
		time.Sleep(time.Millisecond)
	}
	clk.Advance(999 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Recv returned %v before the deadline", err)
	default:
	}
	clk.Advance(time.Millisecond)
	if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Recv = %v, want deadline exceeded", err)
	}
}
