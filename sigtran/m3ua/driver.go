package m3ua

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/wmnsk/go-m3ua/messages"
)

// Drivers: Server (SGP side) and Client (ASP side) run the sans-I/O
// machines over sctp.Association, with the real clock.
//
// Who owns a machine: a mutex, not a goroutine. Every input (a message an
// association's reader goroutine received, a timer that fired, a call from
// the layer above such as SendData) takes the machine's mutex, feeds the
// machine, and moves its outputs (messages already encoded, events with
// their payloads copied) to an ordered outbox before letting go. The outbox
// is then emptied by whichever caller finds nobody else doing it: that
// caller sends the messages and calls the handlers, in the order the
// machine produced them, without holding the machine's mutex. So:
//
//   - there is no goroutine besides one reader per association (DESIGN.md),
//     and no goroutine hop on the DATA path: a received DATA is decoded and
//     delivered by the goroutine that read it, a sent one is encoded and
//     written by the goroutine that sent it, unless another is already
//     emptying the outbox;
//   - the machine's mutex is never held during I/O or a handler call, so a
//     slow peer or a slow handler does not stop the other associations from
//     being read and fed to the machine;
//   - handlers may call back into the driver (forward a DATA with SendData,
//     say): their outputs join the outbox and are carried out in order after
//     the handler returns;
//   - everything leaves in the order the machine decided it, so messages of
//     one SLS keep their order on their stream, and events reach the
//     handlers in the order they happened.
//
// A single goroutine owning the machine would serialise the same way but
// costs two goroutine hops per message and deadlocks when a handler feeds
// its own input channel; a mutex held across sends would let one peer with
// a full send buffer stall all the others.
//
// Sends have a deadline (SendTimeout): a peer that does not take a message
// within it is aborted, and the machine hears that its association is
// down. Timers are time.AfterFunc timers whose callbacks feed the machine
// like any other input.

// PPID is the SCTP payload protocol identifier of M3UA (RFC 4666 1.4.5,
// IANA). Messages with another PPID on the same association (ASAP, PPID
// 11) go to Handlers.Other.
const PPID = 3

// DefaultSendTimeout bounds how long a send to one association may block.
const DefaultSendTimeout = time.Second

// Handlers are what a driver calls, in order, from whichever goroutine
// empties its outbox (or, for Other, from the association's reader). They
// must not block for long. Nil handlers are skipped.
type Handlers struct {
	// Data receives MTP3 user data with its routing context. u.Payload is
	// valid only during the call; copy it to keep it.
	Data func(a AssocID, u UserData)
	// Event receives every other event: the machine's (ASPStateChanged,
	// ASStateChanged, NotifyReceived, ErrorReceived, Refused, SSNM and RKM
	// events...) and the driver's (AssocEstablished, AssocEnded,
	// PathChanged).
	Event func(e Event)
	// Other receives messages whose PPID is not M3UA's, from the reader of
	// association a, which it may use to answer. m.Data is valid only
	// during the call. Without it such messages are counted and dropped.
	Other func(a AssocID, assoc sctp.Association, m sctp.Message)
}

// AssocEstablished: association Assoc with Peer is up.
type AssocEstablished struct {
	Assoc                 AssocID
	Peer                  sctp.Addr
	InStreams, OutStreams uint16
}

// AssocEnded: association Assoc is gone; Err says why (nil when this end
// closed it).
type AssocEnded struct {
	Assoc AssocID
	Err   error
}

// PathChanged: an SCTP path event (address unreachable, available, made
// primary...) on association Assoc. M3UA carries on over the other paths.
type PathChanged struct {
	Assoc AssocID
	Event sctp.Event
}

// DataUnsent: DATA for association Assoc did not reach the peer, and the
// layer above may route it again. Drivers raise it when SCTP hands a DATA
// message back undelivered (send-failed after the association was lost),
// and when DATA waiting to be written to an association is discarded
// because the association went away (or the write failed). Data is the
// decoded message; its Payload is a copy the receiver owns. Reason says
// which of these it was, for logs. DriverCounters.DataUnsent counts them.
type DataUnsent struct {
	Assoc  AssocID
	Data   UserData
	Reason string
}

// Reasons of DataUnsent.
const (
	UnsentSendFailed = "send failed"      // SCTP handed it back undelivered
	UnsentAssocGone  = "association gone" // discarded before the write: no association
	UnsentWriteError = "write failed"     // the write to the association failed
)

func (AssocEstablished) isEvent() {}
func (DataUnsent) isEvent()       {}
func (AssocEnded) isEvent()       {}
func (PathChanged) isEvent()      {}

// DriverCounters count what the driver itself sees.
type DriverCounters struct {
	SendErrors   atomic.Uint64 // sends that failed (association ending)
	SendTimeouts atomic.Uint64 // sends that hit SendTimeout (association aborted)
	Unencodable  atomic.Uint64 // messages the codec could not encode (a bug)
	NoAssoc      atomic.Uint64 // sends for an association already gone
	OtherDropped atomic.Uint64 // non-M3UA messages with no Other handler
	TooLong      atomic.Uint64 // received messages longer than the buffer
	Unsent       atomic.Uint64 // messages SCTP handed back undelivered (send-failed)
	DataUnsent   atomic.Uint64 // DataUnsent events raised (DATA handed back or discarded)
	OtherSent    atomic.Uint64 // non-M3UA messages written (SendOther)

	msgs [2][msgClasses][msgTypes]atomic.Uint64 // by direction, class, type
	errs [2][errCodes]atomic.Uint64             // ERR by direction and code
}

// Bounds of the per-message counters: classes 0-9 and types 0-15 cover
// RFC 4666; anything else counts under class 10 ("other").
const (
	msgClasses = 11
	msgTypes   = 16
	errCodes   = 0x20
	dirIn      = 0
	dirOut     = 1
)

// countMsg counts a message of class and type in direction dir.
func (c *DriverCounters) countMsg(dir int, class, typ uint8) {
	if int(class) >= msgClasses-1 || int(typ) >= msgTypes {
		class, typ = msgClasses-1, 0
	}
	c.msgs[dir][class][typ].Add(1)
}

// countErr counts an ERR with code in direction dir.
func (c *DriverCounters) countErr(dir int, code ErrorCode) {
	if code >= errCodes {
		code = 0
	}
	c.errs[dir][code].Add(1)
}

// machine is what the engine drives: the SGP or an ASP.
type machine interface {
	Ready() Ready
}

type outItem struct {
	assoc  sctp.Association // set for a send, or for an abort
	id     AssocID          // the association's id, for a send
	abort  bool             // abort assoc: its peer stopped answering BEAT
	data   bool             // the send is a DATA message
	ppid   uint32           // PPID of a send
	unord  bool             // unordered send (SendOther only)
	stream uint16
	off, n int // the encoded message, or a DataReceived payload, in the batch buffer
	ev     Event
}

type outbox struct {
	items []outItem
	buf   []byte
}

// engine is what Server and Client share: the machine's mutex, the
// associations, the timers and the ordered outbox.
type engine struct {
	mu      sync.Mutex
	m       machine
	timer   func(now time.Time, id TimerID) // the machine's Timer
	assocs  map[AssocID]sctp.Association
	timers  map[TimerID]*time.Timer
	pend    outbox
	spare   outbox
	drainer bool
	stopped bool // no more timers

	h           Handlers
	sendTimeout time.Duration
	counters    DriverCounters
	onEvent     func(e Event) // under mu, before the event is queued
}

func (e *engine) init(m machine, timer func(time.Time, TimerID), h Handlers, sendTimeout time.Duration) {
	e.m, e.timer, e.h = m, timer, h
	e.assocs = map[AssocID]sctp.Association{}
	e.timers = map[TimerID]*time.Timer{}
	if sendTimeout <= 0 {
		sendTimeout = DefaultSendTimeout
	}
	e.sendTimeout = sendTimeout
}

// step feeds the machine under its mutex with f, queues its outputs, and
// carries them out unless another goroutine is doing so already.
func (e *engine) step(f func(now time.Time)) {
	e.mu.Lock()
	f(time.Now())
	e.collect()
	e.mu.Unlock()
	e.drain()
}

// emit queues a driver event; the caller holds mu.
func (e *engine) emit(ev Event) {
	e.pend.items = append(e.pend.items, outItem{ev: ev})
}

// collect moves the machine's outputs to the outbox; the caller holds mu.
func (e *engine) collect() {
	r := e.m.Ready()
	for _, op := range r.Timers {
		e.setTimer(op)
	}
	for _, s := range r.Sends {
		a := e.assocs[s.Assoc]
		if a == nil {
			e.counters.NoAssoc.Add(1)
			if s.IsData {
				e.unsent(s.Assoc, s.Data, UnsentAssocGone)
			}
			continue
		}
		if s.IsData {
			e.counters.countMsg(dirOut, ClassTransfer, messages.MsgTypePayloadData)
		} else {
			e.counters.countMsg(dirOut, s.Msg.MessageClass(), s.Msg.MessageType())
		}
		off := len(e.pend.buf)
		var err error
		e.pend.buf, err = s.AppendTo(e.pend.buf)
		if err != nil {
			e.counters.Unencodable.Add(1)
			continue
		}
		e.pend.items = append(e.pend.items, outItem{assoc: a, id: s.Assoc, data: s.IsData, ppid: PPID, stream: s.Stream, off: off, n: len(e.pend.buf) - off})
	}
	for _, ev := range r.Events {
		switch ev := ev.(type) {
		case Refused:
			e.counters.countErr(dirOut, ev.Err.Code)
		case ErrorReceived:
			e.counters.countErr(dirIn, ev.Code)
		}
		if e.onEvent != nil {
			e.onEvent(ev)
		}
		if pu, ok := ev.(PeerUnresponsive); ok {
			// No BEAT ACK in time: end the association (ABORT); its
			// reader then reports it down to the machine.
			if a := e.assocs[pu.Assoc]; a != nil {
				e.pend.items = append(e.pend.items, outItem{assoc: a, abort: true})
			}
		}
		it := outItem{ev: ev}
		if d, ok := ev.(DataReceived); ok {
			// The payload aliases the reader's buffer: copy it.
			it.off = len(e.pend.buf)
			e.pend.buf = append(e.pend.buf, d.Data.Payload...)
			it.n = len(d.Data.Payload)
		}
		e.pend.items = append(e.pend.items, it)
	}
}

// unsent queues a DataUnsent event with a copy of u's payload; the caller
// holds mu.
func (e *engine) unsent(id AssocID, u UserData, reason string) {
	u.Payload = append([]byte(nil), u.Payload...)
	e.counters.DataUnsent.Add(1)
	e.emit(DataUnsent{Assoc: id, Data: u, Reason: reason})
}

// unsentOf decodes b, an encoded M3UA message that did not reach the peer
// of association id: ok when it is DATA, whose payload the event owns.
func unsentOf(id AssocID, b []byte, reason string) (ev DataUnsent, ok bool) {
	var u UserData
	if isData, pe := DecodeData(b, &u); !isData || pe != nil {
		return ev, false
	}
	u.Payload = append([]byte(nil), u.Payload...)
	return DataUnsent{Assoc: id, Data: u, Reason: reason}, true
}

// ErrNotOther is what SendOther returns for a message with M3UA's PPID:
// M3UA messages go through the machine.
var ErrNotOther = errors.New("m3ua: SendOther takes only non-M3UA messages (PPID other than 3)")

// sendOther queues a non-M3UA message for association id behind what the
// machine queued before it, so that it keeps its place among the DATA of
// its stream, and writes it unless another goroutine is writing.
func (e *engine) sendOther(id AssocID, m sctp.Message) error {
	if m.PPID == PPID {
		return ErrNotOther
	}
	e.mu.Lock()
	a := e.assocs[id]
	if a == nil {
		e.mu.Unlock()
		e.counters.NoAssoc.Add(1)
		return fmt.Errorf("%w: association %d", ErrUnknownAssoc, id)
	}
	off := len(e.pend.buf)
	e.pend.buf = append(e.pend.buf, m.Data...)
	e.pend.items = append(e.pend.items, outItem{assoc: a, id: id, ppid: m.PPID, unord: m.Unordered, stream: m.Stream, off: off, n: len(m.Data)})
	e.mu.Unlock()
	e.drain()
	return nil
}

func (e *engine) setTimer(op TimerOp) {
	if t := e.timers[op.ID]; t != nil {
		t.Stop()
		delete(e.timers, op.ID)
	}
	if op.Stop || e.stopped {
		return
	}
	id, at := op.ID, op.At
	var t *time.Timer
	t = time.AfterFunc(time.Until(at), func() {
		e.step(func(now time.Time) {
			if e.timers[id] == t {
				delete(e.timers, id)
			}
			if now.Before(at) {
				now = at // the clock's granularity; the machine wants it due
			}
			e.timer(now, id)
		})
	})
	e.timers[id] = t
}

// stopTimers stops every timer for good; the caller holds mu.
func (e *engine) stopTimers() {
	e.stopped = true
	for id, t := range e.timers {
		t.Stop()
		delete(e.timers, id)
	}
}

// flush waits until the outbox is empty and nobody carries it out, or ctx.
func (e *engine) flush(ctx context.Context) error {
	for {
		e.mu.Lock()
		idle := !e.drainer && len(e.pend.items) == 0
		e.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// drain carries out the outbox unless another goroutine is at it.
func (e *engine) drain() {
	e.mu.Lock()
	if e.drainer {
		e.mu.Unlock()
		return
	}
	e.drainer = true
	for len(e.pend.items) > 0 {
		batch := e.pend
		e.pend, e.spare = e.spare, outbox{}
		e.pend.items, e.pend.buf = e.pend.items[:0], e.pend.buf[:0]
		e.mu.Unlock()
		e.carryOut(&batch)
		e.mu.Lock()
		clear(batch.items) // drop references to associations and events
		e.spare = batch
	}
	e.drainer = false
	e.mu.Unlock()
}

func (e *engine) carryOut(b *outbox) {
	for _, it := range b.items {
		switch {
		case it.abort:
			it.assoc.Abort()
		case it.assoc != nil:
			msg := sctp.Message{Stream: it.stream, PPID: it.ppid, Unordered: it.unord, Data: b.buf[it.off : it.off+it.n]}
			if !e.write(it.assoc, msg) {
				if it.data {
					// Not taken by SCTP: hand it back to the layer
					// above, in its place among the other events.
					if ev, ok := unsentOf(it.id, msg.Data, UnsentWriteError); ok {
						e.counters.DataUnsent.Add(1)
						if e.h.Event != nil {
							e.h.Event(ev)
						}
					}
				}
			} else if it.ppid != PPID {
				e.counters.OtherSent.Add(1)
			}
		case it.ev != nil:
			if d, ok := it.ev.(DataReceived); ok {
				if e.h.Data != nil {
					d.Data.Payload = b.buf[it.off : it.off+it.n : it.off+it.n]
					e.h.Data(d.Assoc, d.Data)
				}
				continue
			}
			if e.h.Event != nil {
				e.h.Event(it.ev)
			}
		}
	}
}

// write sends m on a and reports whether SCTP took it.
func (e *engine) write(a sctp.Association, m sctp.Message) bool {
	a.SetWriteDeadline(time.Now().Add(e.sendTimeout))
	err := a.Send(m)
	switch {
	case err == nil:
		return true
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The peer has not taken anything for SendTimeout: give up on it.
		// Its reader sees the end and reports the association down.
		e.counters.SendTimeouts.Add(1)
		a.Abort()
	default:
		e.counters.SendErrors.Add(1)
	}
	return false
}

// readLoop reads association a until it ends, feeding M3UA messages to
// receive and reporting events; it returns the error that ended it.
// streams is called (under mu) when the association reports its stream
// counts (comm-up) or that the peer restarted.
func (e *engine) readLoop(id AssocID, a sctp.Association, receive func(now time.Time, stream uint16, b []byte), streams func(now time.Time, out uint16, restarted bool)) error {
	buf := make([]byte, sctp.MaxMessage)
	for {
		m, ev, err := a.Recv(buf)
		if err != nil {
			if errors.Is(err, sctp.ErrMessageTooLong) {
				e.counters.TooLong.Add(1)
				continue
			}
			return err
		}
		if ev != nil {
			switch ev.Kind {
			case sctp.EventCommUp:
				// Already known from Streams(); a different count updates.
				e.step(func(now time.Time) { streams(now, ev.OutStreams, false) })
			case sctp.EventRestart:
				e.step(func(now time.Time) {
					e.emit(PathChanged{Assoc: id, Event: *ev})
					streams(now, ev.OutStreams, true)
				})
			case sctp.EventSendFailed:
				e.counters.Unsent.Add(1)
				if u := ev.Unsent; u != nil && u.PPID == PPID {
					if du, ok := unsentOf(id, u.Data, UnsentSendFailed); ok {
						e.step(func(time.Time) {
							e.counters.DataUnsent.Add(1)
							e.emit(du)
						})
					}
				}
			case sctp.EventCommLost, sctp.EventShutdown, sctp.EventCantStart:
				// The error that follows ends the loop.
			default:
				e.step(func(time.Time) { e.emit(PathChanged{Assoc: id, Event: *ev}) })
			}
			continue
		}
		if m.PPID != PPID {
			if e.h.Other != nil {
				e.h.Other(id, a, m)
			} else {
				e.counters.OtherDropped.Add(1)
			}
			continue
		}
		if len(m.Data) >= HeaderLen {
			e.counters.countMsg(dirIn, m.Data[2], m.Data[3])
		} else {
			e.counters.countMsg(dirIn, msgClasses-1, 0)
		}
		e.step(func(now time.Time) { receive(now, m.Stream, m.Data) })
	}
}
