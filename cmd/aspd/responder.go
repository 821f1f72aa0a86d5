package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/sigpool/sigpool/asp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// Responder is the reference TCAP service: it answers a Begin with a
// Continue (or an End when the script has no steps), each network Continue
// with the next Continue until Steps of them were sent, then with an End;
// each answer after the service time. Before each Continue it checkpoints
// the number of Continues sent, and a dialogue handed over to it goes on
// from that number.
type Responder struct {
	asp.NopHandler
	log    *zap.Logger
	script atomic.Pointer[Service]

	completed, resumed, badState, failed, timedOut, aborted atomic.Uint64
}

func newResponder(s Service, log *zap.Logger) *Responder {
	r := &Responder{log: log}
	r.script.Store(&s)
	return r
}

// SetScript changes the script for the answers still to come (reload).
func (r *Responder) SetScript(s Service) { r.script.Store(&s) }

// progress is a dialogue's place in the script: Continues sent, and how
// many to send before the End. It is the dialogue's Value and its
// checkpointed state.
type progress struct{ sent, steps int }

// The checkpointed state: a version octet, the Continues sent and the
// Continues to send (32 bits each, big-endian).
const stateVersion = 1

func encodeState(p progress) []byte {
	b := binary.BigEndian.AppendUint32([]byte{stateVersion}, uint32(p.sent))
	return binary.BigEndian.AppendUint32(b, uint32(p.steps))
}

func decodeState(b []byte) (progress, error) {
	if len(b) != 9 || b[0] != stateVersion {
		return progress{}, fmt.Errorf("aspd: state % x is not a version %d state", b, stateVersion)
	}
	p := progress{sent: int(binary.BigEndian.Uint32(b[1:])), steps: int(binary.BigEndian.Uint32(b[5:]))}
	if p.sent < 0 || p.steps < 0 || p.sent > maxSteps || p.steps > maxSteps {
		return progress{}, fmt.Errorf("aspd: state % x out of range", b)
	}
	return p, nil
}

// maxSteps bounds the script (service.steps).
const maxSteps = 1 << 16

// sigloadOp is the operation code of cmd/sigload's Invoke, whose parameter
// is an OCTET STRING {steps, message number}.
const sigloadOp = 100

// invoke is what an answer needs of the network's message: the invoke id of
// its first Invoke, if any, and the steps it asks for (cmd/sigload's
// operation), copied: the message is gone by the time the answer goes.
type invoke struct {
	id       int8
	has      bool
	steps    int
	hasSteps bool
}

func firstInvoke(m *tcap.Message) invoke {
	rest := m.Components
	for len(rest) > 0 {
		c, next, err := tcap.NextComponent(rest)
		if err != nil {
			break
		}
		if c.Type == tcap.Invoke {
			inv := invoke{id: c.InvokeID, has: true}
			if c.HasOpCode && c.OpCode == sigloadOp && len(c.Param) == 4 && c.Param[0] == 0x04 && c.Param[1] == 2 {
				inv.steps, inv.hasSteps = int(c.Param[2]), true
			}
			return inv
		}
		rest = next
	}
	return invoke{}
}

func (r *Responder) Begin(d *asp.Dialogue, m *tcap.Message) {
	inv := firstInvoke(m)
	sc := r.script.Load()
	p := progress{steps: sc.Steps}
	if sc.FollowNetwork && inv.hasSteps {
		p.steps = inv.steps
	}
	d.Lock()
	d.Value = p
	d.Unlock()
	r.schedule(d, inv)
}

func (r *Responder) Continue(d *asp.Dialogue, m *tcap.Message) {
	r.schedule(d, firstInvoke(m))
}

func (r *Responder) Resume(d *asp.Dialogue, state []byte) {
	p, err := decodeState(state)
	if err != nil {
		r.badState.Add(1)
		r.log.Warn("dialogue handed over with a state not ours", zap.Uint32("tid", d.TID()), zap.Error(err))
		d.Abort(nil)
		return
	}
	d.Lock()
	d.Value = p
	d.Unlock()
	r.resumed.Add(1)
}

func (r *Responder) Abort(*asp.Dialogue, *tcap.Message) { r.aborted.Add(1) }
func (r *Responder) Timeout(*asp.Dialogue)              { r.timedOut.Add(1) }

// schedule answers d after the service time.
func (r *Responder) schedule(d *asp.Dialogue, inv invoke) {
	sc := r.script.Load()
	if sc.Time <= 0 {
		r.answer(d, inv)
		return
	}
	time.AfterFunc(sc.Time, func() { r.answer(d, inv) })
}

// answer sends the next step of d: a Continue while fewer than its steps
// were sent (checkpointed first), the End after that.
func (r *Responder) answer(d *asp.Dialogue, inv invoke) {
	var comps []byte
	if inv.has {
		comps, _ = tcap.AppendComponents(nil, tcap.Component{Type: tcap.ReturnResultLast, InvokeID: inv.id})
	}
	d.Lock()
	p, _ := d.Value.(progress)
	if p.sent >= p.steps {
		d.Unlock()
		err := d.End(nil, comps)
		r.done(d, err, true)
		return
	}
	p.sent++
	d.Value = p
	d.Unlock()
	if err := d.Checkpoint(encodeState(p)); err != nil && !errors.Is(err, asp.ErrOver) {
		r.log.Debug("checkpoint", zap.Uint32("tid", d.TID()), zap.Error(err))
	}
	r.done(d, d.Continue(nil, comps), false)
}

func (r *Responder) done(d *asp.Dialogue, err error, end bool) {
	switch {
	case err == nil && end:
		r.completed.Add(1)
	case err == nil:
	case errors.Is(err, asp.ErrOver):
		// The network aborted it, or it timed out, meanwhile.
	default:
		r.failed.Add(1)
		r.log.Debug("answer not sent", zap.Uint32("tid", d.TID()), zap.Error(err))
	}
}
