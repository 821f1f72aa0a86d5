package sctptest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// tag is what the loss tests put in a message: who sent it, in which order.
type tag struct {
	stream    uint16
	seq       int
	unordered bool
}

func (g tag) message() sctp.Message {
	return sctp.Message{Stream: g.stream, PPID: 3, Unordered: g.unordered, Data: fmt.Appendf(nil, "%d/%d/%t", g.stream, g.seq, g.unordered)}
}

func parseTag(t *testing.T, m sctp.Message) tag {
	var g tag
	if _, err := fmt.Sscanf(string(m.Data), "%d/%d/%t", &g.stream, &g.seq, &g.unordered); err != nil {
		t.Fatalf("bad payload %q: %v", m.Data, err)
	}
	if g.stream != m.Stream || g.unordered != m.Unordered {
		t.Fatalf("payload %q arrived on stream %d unordered=%v", m.Data, m.Stream, m.Unordered)
	}
	return g
}

// reader receives on e until it ends, passing messages on.
func reader(e sctp.Association, out chan<- sctp.Message) {
	buf := make([]byte, sctp.MaxMessage)
	for {
		m, ev, err := e.Recv(buf)
		if err != nil {
			close(out)
			return
		}
		if ev == nil {
			m.Data = append([]byte(nil), m.Data...)
			out <- m
		}
	}
}

// checkDelivery verifies that got holds each of the sent messages once, and
// the ordered ones of each stream in the order sent. It returns how many
// messages arrived after one sent later than them (overtaken).
func checkDelivery(t *testing.T, sent []tag, got []sctp.Message) (overtaken int) {
	t.Helper()
	seen := make(map[tag]bool)
	last := make(map[uint16]int) // stream -> last ordered seq
	maxSeq := -1
	for _, m := range got {
		g := parseTag(t, m)
		if seen[g] {
			t.Errorf("duplicate %+v", g)
		}
		seen[g] = true
		if !g.unordered {
			if l, ok := last[g.stream]; ok && g.seq < l {
				t.Errorf("stream %d: seq %d after %d", g.stream, g.seq, l)
			}
			last[g.stream] = g.seq
		}
		if g.seq < maxSeq {
			overtaken++
		}
		maxSeq = max(maxSeq, g.seq)
	}
	for _, g := range sent {
		if !seen[g] {
			t.Errorf("lost %+v", g)
		}
	}
	if len(got) != len(sent) {
		t.Errorf("received %d messages, sent %d", len(got), len(sent))
	}
	return overtaken
}

// TestLossAndPathFailure sends under 20% loss (seeded, simulated clock) and
// fails the primary path half way: nothing may be lost, duplicated or
// reordered within a stream.
func TestLossAndPathFailure(t *testing.T) {
	checkGoroutines(t)
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			clk := NewFakeClock(epoch)
			a, b := pairUp(t, WithClock(clk), WithSeed(seed), WithLoss(0.2), WithDelay(time.Millisecond))
			out := make(chan sctp.Message, 4096)
			go reader(b, out)

			const n = 2000
			var sent []tag
			for i := range n {
				g := tag{stream: uint16(i % 5), seq: i, unordered: i%7 == 0}
				mustSend(t, a, g.message())
				sent = append(sent, g)
				if i%10 == 9 {
					clk.Advance(time.Millisecond)
				}
				if i == n/2 {
					if err := a.FailPath(b1); err != nil {
						t.Fatal(err)
					}
				}
			}
			for i := 0; ; i++ {
				st, err := a.Status()
				if err != nil {
					t.Fatal(err)
				}
				if st.Unacked == 0 && st.Pending == 0 {
					break
				}
				if i > 10000 {
					t.Fatalf("still %d in flight", st.Unacked+st.Pending)
				}
				clk.Advance(10 * time.Millisecond)
			}
			var got []sctp.Message
			for range n {
				got = append(got, <-out)
			}
			if overtaken := checkDelivery(t, sent, got); overtaken == 0 {
				t.Error("no message was delayed by a retransmission")
			}
			// Stats: every message once out and once in; about a fifth
			// of the transmissions lost (20% loss: expected n*0.25
			// retransmissions counting repeated losses).
			sa, err := a.Stats()
			if err != nil {
				t.Fatal(err)
			}
			sb, err := b.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if sa.DataChunksOut != n || sb.DataChunksIn != n || sa.UnorderedOut != uint64((n+6)/7) {
				t.Errorf("stats a %+v, b %+v", sa, sb)
			}
			if sa.RetransmittedChunks < n/8 || sa.RetransmittedChunks > n/2 || sb.RetransmittedChunks != 0 {
				t.Errorf("retransmitted a %d b %d for %d messages at 20%% loss", sa.RetransmittedChunks, sb.RetransmittedChunks, n)
			}
			if ev := wantEvent(t, a, sctp.EventAddrUnreachable); ev.Addr != b1 {
				t.Errorf("unreachable %v", ev.Addr)
			}
			b.Abort()
			if _, ok := <-out; ok {
				t.Error("reader got more")
			}
		})
	}
}

// TestConcurrentWritersRealClock has several writers share one association
// under loss and a path failure, on the real clock, with a reader on each
// side; it is mostly a test for the race detector.
func TestConcurrentWritersRealClock(t *testing.T) {
	checkGoroutines(t)
	a, b := pairUp(t, WithSeed(7), WithLoss(0.2), WithRecvBuffer(4096))
	outB := make(chan sctp.Message, 64)
	outA := make(chan sctp.Message, 64)
	go reader(b, outB)
	go reader(a, outA)

	const writers, per = 4, 300
	var wg sync.WaitGroup
	sentCh := make(chan []tag, 2*writers)
	for w := range writers {
		for _, from := range []*Assoc{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var sent []tag
				for i := range per {
					g := tag{stream: uint16(w), seq: i, unordered: i%5 == 0}
					if err := from.Send(g.message()); err != nil {
						t.Errorf("Send: %v", err)
						return
					}
					sent = append(sent, g)
					if w == 0 && i == per/2 && from == a {
						from.FailPath(b2)
						from.FailPath(a1)
					}
				}
				sentCh <- sent
			}()
		}
	}
	var gotA, gotB []sctp.Message
	for len(gotA)+len(gotB) < 2*writers*per {
		select {
		case m := <-outA:
			gotA = append(gotA, m)
		case m := <-outB:
			gotB = append(gotB, m)
		case <-time.After(10 * time.Second):
			t.Fatalf("stuck after %d+%d messages", len(gotA), len(gotB))
		}
	}
	wg.Wait()
	close(sentCh)
	var sent []tag
	for s := range sentCh {
		sent = append(sent, s...)
	}
	// Each side received one copy of every writer's tags; check per side.
	half := func(got []sctp.Message) {
		t.Helper()
		var want []tag
		for w := range writers {
			for i := range per {
				want = append(want, tag{stream: uint16(w), seq: i, unordered: i%5 == 0})
			}
		}
		// per-writer seq order only matters within a stream, which is per writer here
		checkDeliveryPerStream(t, want, got)
	}
	half(gotA)
	half(gotB)
	if len(sent) != 2*writers*per {
		t.Errorf("sent %d", len(sent))
	}
	a.Abort()
	for range outA {
	}
	for range outB {
	}
}

// checkDeliveryPerStream is checkDelivery without the global overtaking count,
// for messages whose seq is per stream.
func checkDeliveryPerStream(t *testing.T, want []tag, got []sctp.Message) {
	t.Helper()
	seen := make(map[tag]bool)
	last := make(map[uint16]int)
	for _, m := range got {
		g := parseTag(t, m)
		if seen[g] {
			t.Errorf("duplicate %+v", g)
		}
		seen[g] = true
		if !g.unordered {
			if l, ok := last[g.stream]; ok && g.seq < l {
				t.Errorf("stream %d: seq %d after %d", g.stream, g.seq, l)
			}
			last[g.stream] = g.seq
		}
	}
	for _, g := range want {
		if !seen[g] {
			t.Errorf("lost %+v", g)
		}
	}
}

// TestLossPerDirection checks that SetLoss and SetDelay act on one direction
// only, and that loss costs retransmission timeouts, not messages.
func TestLossPerDirection(t *testing.T) {
	clk := NewFakeClock(epoch)
	a, b := pairUp(t, WithClock(clk), WithSeed(11))
	a.SetLoss(0.5)
	b.SetDelay(0)
	mustSend(t, b, msg(0, 3, "clean"))
	wantMessage(t, a, msg(0, 3, "clean")) // no time had to pass
	// Unordered, so that a lost message holds up no other.
	const n = 100
	for i := range n {
		mustSend(t, a, sctp.Message{Stream: 1, PPID: 3, Unordered: true, Data: fmt.Appendf(nil, "%d", i)})
	}
	st, _ := a.Status()
	if st.Unacked == 0 || st.Unacked == n {
		t.Fatalf("%d of %d in flight at 50%% loss before any time passed", st.Unacked, n)
	}
	rto := st.Paths[0].RTO
	if rto != sctp.Telecom.RTOMin {
		t.Errorf("RTO %v, want RTO.Min %v on an idle LAN", rto, sctp.Telecom.RTOMin)
	}
	// After one RTO, more has arrived; after RTO.Max times the loss cap, all.
	clk.Advance(rto)
	st2, _ := a.Status()
	if st2.Unacked >= st.Unacked {
		t.Errorf("in flight %d after one RTO, was %d", st2.Unacked, st.Unacked)
	}
	clk.Advance(maxLosses * sctp.Telecom.RTOMax)
	seen := make(map[string]bool)
	for range n {
		m, _ := recv(t, b)
		seen[string(m.Data)] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages of %d", len(seen), n)
	}
}
