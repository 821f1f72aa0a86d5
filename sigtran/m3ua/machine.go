package m3ua

import (
	"fmt"
	"time"

	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// AssocID names an SCTP association; the driver chooses the values.
type AssocID uint32

// ASPState is the state of an ASP as its peer sees it (RFC 4666 4.3.1).
type ASPState uint8

// ASP states.
const (
	ASPDown ASPState = iota
	ASPInactive
	ASPActive
)

func (s ASPState) String() string {
	return [...]string{"ASP-DOWN", "ASP-INACTIVE", "ASP-ACTIVE"}[s]
}

// ASState is the state of an application server (RFC 4666 4.3.2).
type ASState uint8

// AS states.
const (
	ASDown ASState = iota
	ASInactive
	ASActive
	ASPending
)

func (s ASState) String() string {
	return [...]string{"AS-DOWN", "AS-INACTIVE", "AS-ACTIVE", "AS-PENDING"}[s]
}

// Send is a message to send on an association and stream: Msg, or, for
// DATA, the user data in Data with IsData set (so that the send path can
// encode it with AppendData without building a message). Message and
// AppendTo work for both.
type Send struct {
	Assoc  AssocID
	Stream uint16
	Msg    messages.M3UA
	Data   UserData
	IsData bool
}

// Message returns the message to send (built from Data for DATA).
func (s Send) Message() messages.M3UA {
	if s.IsData {
		return NewData(s.Data)
	}
	return s.Msg
}

// AppendTo appends the encoded message to dst.
func (s Send) AppendTo(dst []byte) ([]byte, error) {
	if s.IsData {
		return AppendData(dst, s.Data)
	}
	return AppendEncode(dst, s.Msg)
}

// TimerKind says which timer a TimerID names.
type TimerKind uint8

// Timers.
const (
	// TimerAck is T(ack): retransmission of ASPUP, ASPAC, ASPIA and ASPDN.
	TimerAck TimerKind = iota + 1
	// TimerRecovery is T(r), per AS: how long an AS stays AS-PENDING.
	TimerRecovery
	// TimerBeat is the interval between two BEATs on an association.
	TimerBeat
	// TimerBeatAck is how long a BEAT ACK may take.
	TimerBeatAck
)

func (k TimerKind) String() string {
	switch k {
	case TimerAck:
		return "T(ack)"
	case TimerRecovery:
		return "T(r)"
	case TimerBeat:
		return "beat"
	case TimerBeatAck:
		return "beat-ack"
	}
	return fmt.Sprintf("timer(%d)", uint8(k))
}

// TimerID names one timer. RC is set for TimerRecovery, Assoc otherwise.
type TimerID struct {
	Kind  TimerKind
	Assoc AssocID
	RC    uint32
}

func (id TimerID) String() string {
	if id.Kind == TimerRecovery {
		return fmt.Sprintf("%v rc=%d", id.Kind, id.RC)
	}
	return fmt.Sprintf("%v a=%d", id.Kind, id.Assoc)
}

// TimerOp arms a timer to fire at At, or stops it. Arming an armed timer
// moves it. The driver calls Timer(now, ID) when an armed timer fires; a
// machine ignores a timer it no longer has armed, so late or duplicate
// firings are harmless.
type TimerOp struct {
	ID   TimerID
	Stop bool
	At   time.Time
}

// Event is something the upper layer learns from a machine.
type Event interface{ isEvent() }

// ASPStateChanged: the state of the ASP on Assoc changed, or (From and To
// both ASP-ACTIVE) the set of ASes it is active in did.
//
// At an SGP the event is raised for every change of that set, so the layer
// above can keep "association a is ASP-ACTIVE for routing context r" from
// events alone: after the event, Assoc is active exactly for the routing
// contexts in Active (empty unless To is ASP-ACTIVE). RCs are the routing
// contexts this change concerns: those the ASP joined (To ASP-ACTIVE) or
// left (To ASP-INACTIVE or ASP-DOWN, or ASP-ACTIVE with a smaller Active).
// ASPID is the ASP Identifier the ASP sent in ASPUP, when HasASPID.
//
// At an ASP (Client) Local is set: the state is this end's own, as the SGP
// sees it. Assoc is the association to the SGP, ASPID the ASP's own
// identifier, and Active the routing contexts it asked to activate (empty:
// all the SGP configured for it). An IPSP in double exchange raises both
// kinds for one association: Local for its own state, not Local for the
// peer's.
type ASPStateChanged struct {
	Assoc    AssocID
	From, To ASPState
	ASPID    uint32
	HasASPID bool
	RCs      []uint32
	Active   []uint32
	Local    bool
}

// ASStateChanged: the state of the AS with routing context RC changed. At
// an SGP it is the SGP's own AS state, and Assoc is 0. At an ASP it is the
// ASP's view of the AS from what the SGP on Assoc said (NTFY, ASPAC ACK):
// AS-DOWN means nothing known, as after the association ends.
type ASStateChanged struct {
	RC       uint32
	From, To ASState
	Assoc    AssocID
}

// DataReceived: MTP3 user data arrived.
type DataReceived struct {
	Assoc AssocID
	Data  UserData
}

// ErrorReceived: the peer sent an ERR.
type ErrorReceived struct {
	Assoc AssocID
	Code  ErrorCode
}

// NotifyReceived: the peer sent an NTFY.
type NotifyReceived struct {
	Assoc      AssocID
	StatusType uint16
	StatusInfo uint16
	RCs        []uint32
}

// Refused: a message from Assoc was answered with an ERR. For logs.
type Refused struct {
	Assoc  AssocID
	Stream uint16
	Err    *ProtocolError
}

// PeerUnresponsive: no BEAT ACK came in time. The driver should abort the
// association and report AssocDown.
type PeerUnresponsive struct{ Assoc AssocID }

func (ASPStateChanged) isEvent()  {}
func (ASStateChanged) isEvent()   {}
func (DataReceived) isEvent()     {}
func (ErrorReceived) isEvent()    {}
func (NotifyReceived) isEvent()   {}
func (Refused) isEvent()          {}
func (PeerUnresponsive) isEvent() {}

// Ready is what a machine asks its driver to do, in order.
type Ready struct {
	Sends  []Send
	Timers []TimerOp
	Events []Event
}

// Counters count what an operator graphs. They only grow.
type Counters struct {
	Received       uint64 // messages that decoded
	Refused        uint64 // messages answered with an ERR
	ErrorsReceived uint64 // ERR messages received
	DataIn         uint64 // DATA delivered to the upper layer
	DataOut        uint64 // DATA sent to a peer
	Queued         uint64 // DATA queued while an AS was pending
	QueueOverflow  uint64 // DATA dropped because the pending queue was full
	RecoveryDrops  uint64 // queued DATA discarded when T(r) expired
	NoRoute        uint64 // DATA dropped: no active ASP / AS, or no stream
	Retransmits    uint64 // ASPSM/ASPTM requests resent on T(ack)
	BeatTimeouts   uint64 // BEAT ACKs that did not come
	Ignored        uint64 // messages ignored (unknown association, stray acks)
}

// BeatConfig configures BEAT on an association. A zero Interval turns BEAT
// off (SCTP's own heartbeats then detect dead peers).
type BeatConfig struct {
	Interval time.Duration
	Timeout  time.Duration // defaults to Interval
}

// core holds what both roles share: outputs, armed timers, counters, BEAT.
type core struct {
	out      Ready
	spare    Ready // the arrays of the Ready returned before, for the next outputs
	armed    map[TimerID]time.Time
	counters Counters
	beat     BeatConfig
	beatSeq  map[AssocID]uint32 // last BEAT sent and not yet acknowledged
}

func newCore(beat BeatConfig) core {
	if beat.Timeout == 0 {
		beat.Timeout = beat.Interval
	}
	return core{armed: map[TimerID]time.Time{}, beat: beat, beatSeq: map[AssocID]uint32{}}
}

// Ready returns the outputs queued since the last call, and clears them.
// The slices stay valid until the next call to Ready, after which the
// machine reuses them for its outputs: a driver carries out one Ready
// before it asks for the next, and the receive path does not allocate a
// slice per message.
func (c *core) Ready() Ready {
	r := c.out
	c.out = c.spare.reuse()
	c.spare = r
	return r
}

// reuse empties r for new outputs, keeping its arrays and dropping what
// they referenced (messages, payloads aliasing a reader's buffer).
func (r Ready) reuse() Ready {
	clear(r.Sends)
	clear(r.Events)
	return Ready{Sends: r.Sends[:0], Timers: r.Timers[:0], Events: r.Events[:0]}
}

// Counters returns a copy of the counters.
func (c *core) Counters() Counters { return c.counters }

func (c *core) send(a AssocID, stream uint16, m messages.M3UA) {
	if m.MessageClass() == ClassTransfer {
		c.counters.DataOut++
	}
	c.out.Sends = append(c.out.Sends, Send{Assoc: a, Stream: stream, Msg: m})
}

// sendData queues DATA carrying u; u.Payload must stay valid until the
// driver took the outputs (Ready).
func (c *core) sendData(a AssocID, stream uint16, u UserData) {
	c.counters.DataOut++
	c.out.Sends = append(c.out.Sends, Send{Assoc: a, Stream: stream, Data: u, IsData: true})
}

func (c *core) event(e Event) { c.out.Events = append(c.out.Events, e) }

func (c *core) arm(id TimerID, at time.Time) {
	c.armed[id] = at
	c.out.Timers = append(c.out.Timers, TimerOp{ID: id, At: at})
}

func (c *core) stop(id TimerID) {
	if _, ok := c.armed[id]; ok {
		delete(c.armed, id)
		c.out.Timers = append(c.out.Timers, TimerOp{ID: id, Stop: true})
	}
}

// fired reports whether id is armed and due at now, and disarms it.
func (c *core) fired(now time.Time, id TimerID) bool {
	at, ok := c.armed[id]
	if !ok || now.Before(at) {
		return false
	}
	delete(c.armed, id)
	return true
}

// refuse answers a message with an ERR on stream 0 (RFC 4666 3.8.1). The
// diagnostic information is the head of the offending message.
func (c *core) refuse(a AssocID, stream uint16, raw []byte, pe *ProtocolError) {
	c.counters.Refused++
	var rc *params.Param
	if len(pe.RoutingContexts) > 0 {
		rc = params.NewRoutingContext(pe.RoutingContexts...)
	}
	var apc *params.Param
	if len(pe.AffectedPointCodes) > 0 {
		apc = params.NewAffectedPointCode(pe.AffectedPointCodes...)
	}
	var diag *params.Param
	if len(raw) > 0 {
		n := min(len(raw), maxDiag)
		diag = params.NewDiagnosticInformation(append([]byte(nil), raw[:n]...))
	}
	c.send(a, 0, messages.NewError(params.NewErrorCode(uint32(pe.Code)), rc, nil, apc, diag))
	c.event(Refused{Assoc: a, Stream: stream, Err: pe})
}

// maxDiag bounds the copy of an offending message put in an ERR.
const maxDiag = 40

// startBeat arms the BEAT interval timer for a, if BEAT is on.
func (c *core) startBeat(now time.Time, a AssocID) {
	if c.beat.Interval > 0 {
		c.arm(TimerID{Kind: TimerBeat, Assoc: a}, now.Add(c.beat.Interval))
	}
}

func (c *core) stopBeat(a AssocID) {
	c.stop(TimerID{Kind: TimerBeat, Assoc: a})
	c.stop(TimerID{Kind: TimerBeatAck, Assoc: a})
	delete(c.beatSeq, a)
}

// beatTimer handles the BEAT timers; it reports whether id was one.
func (c *core) beatTimer(now time.Time, id TimerID) bool {
	switch id.Kind {
	case TimerBeat:
		seq := c.beatSeq[id.Assoc] + 1
		c.beatSeq[id.Assoc] = seq
		c.send(id.Assoc, 0, messages.NewHeartbeat(params.NewHeartbeatData(beatData(seq))))
		c.arm(TimerID{Kind: TimerBeatAck, Assoc: id.Assoc}, now.Add(c.beat.Timeout))
		return true
	case TimerBeatAck:
		c.counters.BeatTimeouts++
		c.event(PeerUnresponsive{Assoc: id.Assoc})
		return true
	}
	return false
}

func beatData(seq uint32) []byte {
	return []byte{byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq)}
}

// beatAck handles a BEAT ACK: the one we wait for stops the timeout and
// schedules the next BEAT.
func (c *core) beatAck(now time.Time, a AssocID, m *messages.HeartbeatAck) {
	seq, waiting := c.beatSeq[a]
	id := TimerID{Kind: TimerBeatAck, Assoc: a}
	if _, armed := c.armed[id]; !waiting || !armed || m.HeartbeatData == nil || string(m.HeartbeatData.Data) != string(beatData(seq)) {
		c.counters.Ignored++
		return
	}
	c.stop(id)
	c.startBeat(now, a)
}

// answerBeat echoes a BEAT's data in a BEAT ACK (RFC 4666 4.3.4.6).
func (c *core) answerBeat(a AssocID, m *messages.Heartbeat) {
	var data *params.Param
	if m.HeartbeatData != nil {
		data = params.NewHeartbeatData(append([]byte(nil), m.HeartbeatData.Data...))
	}
	c.send(a, 0, messages.NewHeartbeatAck(data))
}

// checkStream applies the stream rules: DATA never on stream 0; MGMT, ASPSM
// and RKM only on stream 0. ASPTM and SSNM may use any stream.
func checkStream(class, typ uint8, stream uint16) *ProtocolError {
	switch class {
	case ClassTransfer:
		if stream == 0 {
			return perr(ErrInvalidStreamIdentifier, "DATA on stream 0")
		}
	case ClassMGMT, ClassASPSM, ClassRKM:
		if stream != 0 {
			return perr(ErrInvalidStreamIdentifier, "%s on stream %d", MessageName(class, typ), stream)
		}
	}
	return nil
}

// DataStream is the stream DATA with this SLS goes on, over an association
// with the given number of outbound streams: never 0, and always the same
// for one SLS. It returns 0 when there is no stream besides 0.
func DataStream(sls uint8, streams uint16) uint16 {
	if streams < 2 {
		return 0
	}
	return 1 + uint16(sls)%(streams-1)
}

func statusParam(typ, info uint16) *params.Param {
	return params.NewStatus(uint32(typ)<<16 | uint32(info))
}

func asStatus(s ASState) uint16 {
	switch s {
	case ASInactive:
		return StatusASInactive
	case ASActive:
		return StatusASActive
	case ASPending:
		return StatusASPending
	}
	return 0
}
