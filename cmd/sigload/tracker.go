package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/sigpool/sigpool/sigtran/tcap"
)

// maxResends bounds how often one dialogue's messages are sent again after
// SCTP handed them back (DataUnsent) before the dialogue counts as not sent.
const maxResends = 3

// Counts is the account of the dialogues. Every dialogue offered ends in
// exactly one of Completed, Aborted, Lost and NotSent, or is InFlight:
// Offered = Completed + Aborted + Lost + NotSent + InFlight.
type Counts struct {
	Offered   uint64 // Begins the generator tried to send
	Completed uint64 // End received
	Aborted   uint64 // Abort received (or our message returned by SCCP)
	Lost      uint64 // neither within the timeout
	NotSent   uint64 // a message of the dialogue could not be sent (no ASP-ACTIVE gateway)
	InFlight  uint64 // open now
	// AbortCauses splits Aborted: "p-abort:<cause>", "u-abort",
	// "sccp-return:<cause>".
	AbortCauses map[string]uint64
	// Resent counts messages sent again after a DataUnsent event.
	Resent uint64
	// Unmatched counts answers for no open dialogue (late answers to
	// dialogues already counted lost, or strays); Malformed messages that
	// did not decode; Mismatch dialogues that ended after another number of
	// steps than the script's.
	Unmatched, Malformed, Mismatch uint64
	// Continues counts the network Continues sent.
	Continues uint64
}

type dialogue struct {
	sends    []Send // the network messages of the dialogue, when recording
	otid     uint32
	start    time.Time
	peer     tcap.TID // the server's transaction id, once it answered
	hasPeer  bool
	rounds   int
	sls      uint8
	resends  int
	deadline time.Time
}

// Send is one network message of a dialogue: the gateway association it
// went on (0: unknown) and when.
type Send struct {
	Assoc int
	At    time.Time
}

// Outcome is how a dialogue ended.
type Outcome string

// The outcomes of a dialogue.
const (
	OutCompleted Outcome = "completed"
	OutAborted   Outcome = "aborted"
	OutLost      Outcome = "lost"
	OutNotSent   Outcome = "notsent"
)

// Record is one finished dialogue, kept when the tracker records.
type Record struct {
	OTID       uint32
	Start, End time.Time
	Outcome    Outcome
	Sends      []Send
}

// maxRecords bounds the dialogues a recording tracker keeps.
const maxRecords = 1 << 20

type expiry struct {
	at   time.Time
	otid uint32
	gen  time.Time // the dialogue's start, to skip a reused id
}

// Tracker follows every open dialogue: it allocates the network's
// transaction ids, matches answers by their destination transaction id,
// measures latency from Begin to End, and expires dialogues that get no
// answer within the timeout. It does no I/O and reads no clock: the caller
// passes the time. It is safe for concurrent use.
type Tracker struct {
	mu      sync.Mutex
	steps   int
	timeout time.Duration
	next    uint32
	open    map[uint32]*dialogue
	queue   []expiry // in deadline order: every dialogue has the same timeout
	head    int
	c       Counts
	total   Histogram // latency of every completed dialogue
	window  Histogram // since the last Window call
	record  bool
	records []Record
}

// Record makes the tracker keep every finished dialogue (up to 2^20) with
// its network messages' associations and times, for Records. (An open
// dialogue's messages are always noted: a lost one reports them.)
func (t *Tracker) Record() {
	t.mu.Lock()
	t.record = true
	t.mu.Unlock()
}

// Sent notes that a network message of dialogue otid went on gateway
// association assoc at now.
func (t *Tracker) Sent(otid uint32, assoc int, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d, ok := t.open[otid]; ok && len(d.sends) < 64 {
		d.sends = append(d.sends, Send{Assoc: assoc, At: now})
	}
}

// DropSend forgets the last message noted for dialogue otid (its send
// did not happen there).
func (t *Tracker) DropSend(otid uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d, ok := t.open[otid]; ok && len(d.sends) > 0 {
		d.sends = d.sends[:len(d.sends)-1]
	}
}

// finish removes an open dialogue and keeps its record; t.mu is held.
func (t *Tracker) finish(d *dialogue, o Outcome, now time.Time) {
	delete(t.open, d.otid)
	if t.record && len(t.records) < maxRecords {
		t.records = append(t.records, Record{OTID: d.otid, Start: d.start, End: now, Outcome: o, Sends: d.sends})
	}
}

// Records returns the finished dialogues recorded so far, in the order
// they ended.
func (t *Tracker) Records() []Record {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Record(nil), t.records...)
}

// NewTracker returns a tracker for dialogues of steps network Continues
// that are lost when not over within timeout.
func NewTracker(steps int, timeout time.Duration) *Tracker {
	return &Tracker{steps: steps, timeout: timeout, next: 1, open: map[uint32]*dialogue{},
		c: Counts{AbortCauses: map[string]uint64{}}}
}

// Open starts a dialogue on sls and returns its transaction id (our OTID).
func (t *Tracker) Open(now time.Time, sls uint8) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		id := t.next
		t.next++
		if t.next == 0 {
			t.next = 1
		}
		if _, used := t.open[id]; used || id == 0 {
			continue
		}
		d := &dialogue{otid: id, start: now, sls: sls, deadline: now.Add(t.timeout)}
		t.open[id] = d
		t.queue = append(t.queue, expiry{at: d.deadline, otid: id, gen: now})
		t.c.Offered++
		return id
	}
}

// NotSent records that a message of dialogue otid could not be sent; the
// dialogue is over.
func (t *Tracker) NotSent(otid uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d, ok := t.open[otid]; ok {
		t.finish(d, OutNotSent, d.start)
		t.c.NotSent++
	}
}

// Unsent records that SCTP handed back a message of dialogue otid. It
// returns true when the caller should send it again, false when the
// dialogue is gone or was resent too often (it then counts as not sent).
func (t *Tracker) Unsent(otid uint32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.open[otid]
	if !ok {
		return false
	}
	if d.resends >= maxResends {
		t.finish(d, OutNotSent, d.start)
		t.c.NotSent++
		return false
	}
	d.resends++
	t.c.Resent++
	return true
}

// Action is what the network side must do after a received message.
type Action struct {
	// Continue: send the next network Continue of dialogue OTID to the
	// server's transaction id Peer, as step Round (1-based).
	Continue bool
	OTID     uint32
	Peer     tcap.TID
	Round    int
	SLS      uint8
}

// Receive accounts for a TCAP message from the service side.
func (t *Tracker) Receive(now time.Time, m *tcap.Message) Action {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !m.HasDTID || m.DTID.Len() != 4 {
		t.c.Unmatched++
		return Action{}
	}
	id := m.DTID.Uint32()
	d, ok := t.open[id]
	if !ok {
		t.c.Unmatched++
		return Action{}
	}
	switch m.Kind {
	case tcap.Continue:
		d.peer, d.hasPeer = m.OTID, true
		d.rounds++
		if d.rounds > 255 {
			// a server that never ends: give up on it as on a lost one
			t.finish(d, OutLost, now)
			t.c.Lost++
			return Action{}
		}
		t.c.Continues++
		return Action{Continue: true, OTID: id, Peer: m.OTID, Round: d.rounds, SLS: d.sls}
	case tcap.End:
		t.finish(d, OutCompleted, now)
		t.c.Completed++
		if d.rounds != t.steps {
			t.c.Mismatch++
		}
		lat := now.Sub(d.start)
		t.total.Record(lat)
		t.window.Record(lat)
	case tcap.Abort:
		t.finish(d, OutAborted, now)
		t.c.Aborted++
		cause := "u-abort"
		if m.HasPAbortCause {
			cause = fmt.Sprintf("p-abort:%s", pAbortName(m.PAbortCause))
		}
		t.c.AbortCauses[cause]++
	default:
		t.c.Unmatched++
	}
	return Action{}
}

// Returned accounts for one of our messages that SCCP returned (UDTS or
// XUDTS) with cause; the dialogue is aborted.
func (t *Tracker) Returned(otid uint32, cause uint8) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.open[otid]
	if !ok {
		t.c.Unmatched++
		return
	}
	t.finish(d, OutAborted, d.start)
	t.c.Aborted++
	t.c.AbortCauses[fmt.Sprintf("sccp-return:%d", cause)]++
}

// Malformed counts a received message that did not decode.
func (t *Tracker) Malformed() {
	t.mu.Lock()
	t.c.Malformed++
	t.mu.Unlock()
}

// Lost is a dialogue Expire gave up on: the server's transaction id when it
// had answered (to abort it there), and the SLS it used.
type Lost struct {
	OTID    uint32
	Peer    tcap.TID
	HasPeer bool
	SLS     uint8
	// Start is when its Begin was sent; Rounds the server Continues it
	// got; Resends how often SCTP handed one of its messages back.
	Start           time.Time
	Rounds, Resends int
	Sends           []Send
}

// Expire counts as lost every dialogue open longer than the timeout at now,
// appends them to dst and returns it.
func (t *Tracker) Expire(now time.Time, dst []Lost) []Lost {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.head < len(t.queue) && !t.queue[t.head].at.After(now) {
		e := t.queue[t.head]
		t.head++
		d, ok := t.open[e.otid]
		if !ok || !d.start.Equal(e.gen) {
			continue
		}
		t.finish(d, OutLost, now)
		t.c.Lost++
		dst = append(dst, Lost{Sends: d.sends, OTID: d.otid, Peer: d.peer, HasPeer: d.hasPeer, SLS: d.sls,
			Start: d.start, Rounds: d.rounds, Resends: d.resends})
	}
	if t.head > 1024 && t.head*2 > len(t.queue) {
		t.queue = append(t.queue[:0], t.queue[t.head:]...)
		t.head = 0
	}
	return dst
}

// Counts returns a copy of the counts now.
func (t *Tracker) Counts() Counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.countsLocked()
}

func (t *Tracker) countsLocked() Counts {
	c := t.c
	c.InFlight = uint64(len(t.open))
	c.AbortCauses = make(map[string]uint64, len(t.c.AbortCauses))
	for k, v := range t.c.AbortCauses {
		c.AbortCauses[k] = v
	}
	return c
}

// Window returns the counts and the latency histogram of the dialogues
// completed since the previous call, and starts a new window.
func (t *Tracker) Window() (Counts, Histogram) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.window
	t.window.Reset()
	return t.countsLocked(), h
}

// Latency returns the histogram of every completed dialogue.
func (t *Tracker) Latency() Histogram {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}

func pAbortName(c uint8) string {
	switch c {
	case tcap.UnrecognizedMessageType:
		return "unrecognizedMessageType"
	case tcap.UnrecognizedTransactionID:
		return "unrecognizedTransactionID"
	case tcap.BadlyFormattedTransactionPortion:
		return "badlyFormattedTransactionPortion"
	case tcap.IncorrectTransactionPortion:
		return "incorrectTransactionPortion"
	case tcap.ResourceLimitation:
		return "resourceLimitation"
	}
	return fmt.Sprintf("%d", c)
}
