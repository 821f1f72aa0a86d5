package sctp

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// record is one kernel record (a message or a notification) in the fake
// receive queue.
type record struct {
	data  []byte
	notif bool
	oob   []byte
	// piece limits how much one recvmsg returns (kernel partial delivery);
	// 0 means as much as fits.
	piece int
}

// fakeQueue hands out records the way recvmsg does on a one-to-one SCTP
// socket: as much of the current record as fits, MSG_EOR on its last
// piece, MSG_NOTIFICATION on every piece of a notification, and a zero
// read with no flags once the queue is empty (peer shut down).
type fakeQueue struct {
	recs []record
	off  int
	err  error
}

func (q *fakeQueue) readPiece(p []byte) (int, int, []byte, error) {
	if q.err != nil {
		return 0, 0, nil, q.err
	}
	if len(q.recs) == 0 {
		return 0, 0, nil, nil
	}
	r := &q.recs[0]
	rest := r.data[q.off:]
	n := min(len(p), len(rest))
	if r.piece > 0 {
		n = min(n, r.piece)
	}
	copy(p, rest[:n])
	q.off += n
	flags := 0
	if r.notif {
		flags |= msgNotification
	}
	oob := r.oob
	if q.off == len(r.data) {
		flags |= msgEOR
		q.recs = q.recs[1:]
		q.off = 0
	}
	return n, flags, oob, nil
}

func dataRec(stream uint16, ppid uint32, d []byte) record {
	return record{data: d, oob: fixRcvInfoCmsg(stream, 0, ppid)}
}

func notifRec(b []byte) record { return record{data: b, notif: true} }

func TestReceiverMessagesAndEvents(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 500)
	q := &fakeQueue{recs: []record{
		notifRec(fixAssocChange(0, 0, 17, 17)),
		dataRec(3, 3, []byte("m3ua")),
		{data: []byte("assembled from pieces"), oob: fixRcvInfoCmsg(4, 1, 11), piece: 5},
		dataRec(1, 3, big), // too long for the 100-byte buffer
		dataRec(2, 0xdeadbeef, []byte("after")),
		notifRec(fixShutdown()),
		notifRec(fixAssocChange(3, 0, 0, 0)), // SHUTDOWN_COMP: reported once only
	}}
	var r receiver
	buf := make([]byte, 100)
	step := func() (Message, *Event, error) { return r.next(buf, q) }

	if _, ev, err := step(); err != nil || ev == nil || ev.Kind != EventCommUp || ev.OutStreams != 17 {
		t.Fatalf("1: ev=%v err=%v, want comm-up", ev, err)
	}
	if m, ev, err := step(); err != nil || ev != nil || string(m.Data) != "m3ua" || m.Stream != 3 || m.PPID != 3 {
		t.Fatalf("2: %+v %v %v", m, ev, err)
	}
	if m, _, err := step(); err != nil || string(m.Data) != "assembled from pieces" || m.Stream != 4 || m.PPID != 11 || !m.Unordered {
		t.Fatalf("3: %+v %v", m, err)
	}
	if _, _, err := step(); !errors.Is(err, ErrMessageTooLong) {
		t.Fatalf("4: %v, want ErrMessageTooLong", err)
	}
	if m, _, err := step(); err != nil || string(m.Data) != "after" || m.PPID != 0xdeadbeef {
		t.Fatalf("5: %+v %v", m, err)
	}
	if _, ev, err := step(); err != nil || ev == nil || ev.Kind != EventShutdown {
		t.Fatalf("6: %v %v, want shutdown", ev, err)
	}
	if m, ev, err := step(); !errors.Is(err, io.EOF) {
		t.Fatalf("7: %+v %v %v, want io.EOF (SHUTDOWN_COMP not reported twice)", m, ev, err)
	}
}

func TestReceiverNotificationIntoTinyBuffer(t *testing.T) {
	q := &fakeQueue{recs: []record{notifRec(fixSendFailedEvent(1, 2, 0, 3, bytes.Repeat([]byte("u"), 1000)))}}
	var r receiver
	_, ev, err := r.next(make([]byte, 3), q)
	if err != nil || ev == nil || ev.Kind != EventSendFailed || len(ev.Unsent.Data) != 1000 || ev.Unsent.Stream != 2 {
		t.Fatalf("ev=%v err=%v", ev, err)
	}
}

func TestReceiverEventDuringMessageComesAfterIt(t *testing.T) {
	// A peer address change arrives in the middle of a message.
	q2 := &splitQueue{parts: []record{
		{data: []byte("abcd"), oob: fixRcvInfoCmsg(1, 0, 3)},
		notifRec(fixPaddrChange(mustAddr("10.0.0.9"), 1, 0)),
		{data: []byte("efgh"), oob: fixRcvInfoCmsg(1, 0, 3)},
	}, eor: []bool{false, true, true}}
	var r receiver
	buf := make([]byte, 256)
	m, ev, err := r.next(buf, q2)
	if err != nil || ev != nil || string(m.Data) != "abcdefgh" {
		t.Fatalf("got %q ev=%v err=%v, want the whole message first", m.Data, ev, err)
	}
	_, ev, err = r.next(buf, q2)
	if err != nil || ev == nil || ev.Kind != EventAddrUnreachable {
		t.Fatalf("got ev=%v err=%v, want the address event next", ev, err)
	}
}

func TestReceiverPartialDeliveryAbortDropsThePart(t *testing.T) {
	q := &splitQueue{parts: []record{
		{data: []byte("partial"), oob: fixRcvInfoCmsg(1, 0, 3)},
		notifRec(fixPDAbort()),
		{data: []byte("next"), oob: fixRcvInfoCmsg(2, 0, 11)},
	}, eor: []bool{false, true, true}}
	var r receiver
	m, ev, err := r.next(make([]byte, 64), q)
	if err != nil || ev != nil || string(m.Data) != "next" || m.Stream != 2 || m.PPID != 11 {
		t.Fatalf("got %+v ev=%v err=%v, want only the next message", m, ev, err)
	}
}

func TestReceiverPassesErrors(t *testing.T) {
	var r receiver
	want := errors.New("boom")
	if _, _, err := r.next(make([]byte, 8), &fakeQueue{err: want}); !errors.Is(err, want) {
		t.Fatalf("got %v", err)
	}
}

// splitQueue returns each part as one recvmsg result, with MSG_EOR as
// given: it models records interleaved by the kernel.
type splitQueue struct {
	parts []record
	eor   []bool
}

func (q *splitQueue) readPiece(p []byte) (int, int, []byte, error) {
	if len(q.parts) == 0 {
		return 0, 0, nil, nil
	}
	r := q.parts[0]
	eor := q.eor[0]
	q.parts, q.eor = q.parts[1:], q.eor[1:]
	n := copy(p, r.data)
	flags := 0
	if r.notif {
		flags |= msgNotification
	}
	if eor {
		flags |= msgEOR
	}
	return n, flags, r.oob, nil
}

// loopQueue returns the same message forever, for benchmarks.
type loopQueue struct{ rec record }

func (q *loopQueue) readPiece(p []byte) (int, int, []byte, error) {
	n := copy(p, q.rec.data)
	return n, msgEOR, q.rec.oob, nil
}

func TestReceiverDoesNotAllocatePerMessage(t *testing.T) {
	q := &loopQueue{rec: dataRec(1, 3, make([]byte, 200))}
	var r receiver
	buf := make([]byte, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := r.next(buf, q); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message, want 0", allocs)
	}
}

func BenchmarkReceiverMessage(b *testing.B) {
	q := &loopQueue{rec: dataRec(1, 3, make([]byte, 200))}
	var r receiver
	buf := make([]byte, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.next(buf, q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPutSndInfo(b *testing.B) {
	buf := make([]byte, sndInfoSpace)
	b.ReportAllocs()
	for b.Loop() {
		putSndInfo(buf, 3, 3, false)
	}
}

func BenchmarkParseNotificationAssocChange(b *testing.B) {
	fix := fixAssocChange(0, 0, 17, 17)
	var n notification
	b.ReportAllocs()
	for b.Loop() {
		if err := parseNotification(fix, &n); err != nil {
			b.Fatal(err)
		}
	}
}
