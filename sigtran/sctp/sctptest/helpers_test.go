package sctptest

import (
	"runtime"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// checkGoroutines fails the test if, once it ends, the goroutine count does
// not come back to what it was at the call. It polls rather than sleeping a
// fixed time. Tests using it must not run in parallel.
func checkGoroutines(t *testing.T) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= base {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutines: %d, want <= %d\n%s", n, base, buf[:runtime.Stack(buf, true)])
				return
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond)
		}
	})
}

// recv reads the next message or event.
func recv(t *testing.T, a sctp.Association) (sctp.Message, *sctp.Event) {
	t.Helper()
	buf := make([]byte, sctp.MaxMessage)
	m, ev, err := a.Recv(buf)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return m, ev
}

// wantEvent reads the next item and requires an event of the given kind.
func wantEvent(t *testing.T, a sctp.Association, kind sctp.EventKind) *sctp.Event {
	t.Helper()
	m, ev := recv(t, a)
	if ev == nil {
		t.Fatalf("Recv: message stream=%d ppid=%d %q, want event %v", m.Stream, m.PPID, m.Data, kind)
	}
	if ev.Kind != kind {
		t.Fatalf("Recv: event %v, want %v", ev, kind)
	}
	return ev
}

// wantMessage reads the next item and requires a message equal to want.
func wantMessage(t *testing.T, a sctp.Association, want sctp.Message) {
	t.Helper()
	m, ev := recv(t, a)
	if ev != nil {
		t.Fatalf("Recv: event %v, want message %q", ev, want.Data)
	}
	if m.Stream != want.Stream || m.PPID != want.PPID || m.Unordered != want.Unordered || string(m.Data) != string(want.Data) {
		t.Fatalf("Recv: stream=%d ppid=%d unordered=%v %q, want stream=%d ppid=%d unordered=%v %q",
			m.Stream, m.PPID, m.Unordered, m.Data, want.Stream, want.PPID, want.Unordered, want.Data)
	}
}

func mustSend(t *testing.T, a sctp.Association, m sctp.Message) {
	t.Helper()
	if err := a.Send(m); err != nil {
		t.Fatalf("Send(stream=%d): %v", m.Stream, err)
	}
}

func msg(stream uint16, ppid uint32, data string) sctp.Message {
	return sctp.Message{Stream: stream, PPID: ppid, Data: []byte(data)}
}

// pairUp returns a pair with the comm-up events already read.
func pairUp(t *testing.T, opts ...Option) (a, b *Assoc) {
	t.Helper()
	a, b = Pair(opts...)
	wantEvent(t, a, sctp.EventCommUp)
	wantEvent(t, b, sctp.EventCommUp)
	t.Cleanup(func() { a.Abort(); b.Abort() })
	return a, b
}

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
