package rserpool

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// scriptedRegistrar is a minimal registrar for tests, until package enrp
// has the real one: it answers registrations, deregistrations and handle
// resolutions from a Handlespace, sends endpoint keep-alives when the test
// asks, and records what the pool elements and users sent.
type scriptedRegistrar struct {
	t  testing.TB
	id uint32
	ln sctp.Listener

	mu     sync.Mutex
	hs     *Handlespace
	byPE   map[uint32]sctp.Association // association each PE registered on
	all    []sctp.Association
	silent bool // drop registrations unanswered
	got    []Message

	acks        chan *EndpointKeepAliveAck
	unreachable chan *EndpointUnreachable
	wg          sync.WaitGroup
}

func startRegistrar(t testing.TB, tr sctp.Transport, addr sctp.Addr, id uint32) *scriptedRegistrar {
	t.Helper()
	ln, err := tr.Listen(addr)
	if err != nil {
		t.Fatalf("registrar %d: listen %v: %v", id, addr, err)
	}
	r := &scriptedRegistrar{
		t: t, id: id, ln: ln,
		hs:          NewHandlespace(rand.New(rand.NewPCG(1, 2))),
		byPE:        map[uint32]sctp.Association{},
		acks:        make(chan *EndpointKeepAliveAck, 64),
		unreachable: make(chan *EndpointUnreachable, 64),
	}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(r.Close)
	return r
}

func (r *scriptedRegistrar) Addr() sctp.Addr { return r.ln.Addr() }

// Close stops the registrar and aborts its associations (a registrar
// failure, as its peers see it).
func (r *scriptedRegistrar) Close() {
	r.ln.Close()
	r.mu.Lock()
	for _, as := range r.all {
		as.Abort()
	}
	r.all = nil
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *scriptedRegistrar) setSilent(v bool) {
	r.mu.Lock()
	r.silent = v
	r.mu.Unlock()
}

// received returns the types of the messages received so far.
func (r *scriptedRegistrar) received() []MessageType {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ts []MessageType
	for _, m := range r.got {
		ts = append(ts, m.Type())
	}
	return ts
}

// elements returns the identifiers registered in pool handle.
func (r *scriptedRegistrar) elements(handle string) []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.hs.Pool([]byte(handle))
	if p == nil {
		return nil
	}
	var ids []uint32
	for _, e := range p.Select(p.Len(), nil) {
		ids = append(ids, e.ID())
	}
	return ids
}

func (r *scriptedRegistrar) accept() {
	defer r.wg.Done()
	for {
		as, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.all = append(r.all, as)
		r.mu.Unlock()
		r.wg.Add(1)
		go r.serve(as)
	}
}

func (r *scriptedRegistrar) send(as sctp.Association, m Message) {
	b, err := Marshal(m)
	if err != nil {
		r.t.Errorf("registrar %d: encode %v: %v", r.id, m.Type(), err)
		return
	}
	as.Send(sctp.Message{PPID: PPID, Data: b})
}

func (r *scriptedRegistrar) serve(as sctp.Association) {
	defer r.wg.Done()
	buf := make([]byte, sctp.MaxMessage)
	for {
		msg, ev, err := as.Recv(buf)
		if err != nil {
			if !errors.Is(err, sctp.ErrMessageTooLong) {
				return
			}
			continue
		}
		if ev != nil || msg.PPID != PPID {
			continue
		}
		m, _, err := DecodeMessage(msg.Data)
		if err != nil {
			r.t.Errorf("registrar %d: undecodable message %x: %v", r.id, msg.Data, err)
			continue
		}
		r.handle(as, m)
	}
}

func (r *scriptedRegistrar) handle(as sctp.Association, m Message) {
	r.mu.Lock()
	r.got = append(r.got, m)
	silent := r.silent
	now := time.Now()
	r.hs.Expire(now, nil)
	var answer Message
	switch m := m.(type) {
	case *Registration:
		if silent {
			break
		}
		pe := m.Element
		pe.HomeRegistrar = r.id
		resp := &RegistrationResponse{PoolHandle: m.PoolHandle, ID: pe.ID}
		if _, _, err := r.hs.Register(m.PoolHandle, pe, now); err != nil {
			resp.Reject = true
			resp.Causes = []ErrorCause{err.(*Error).ErrorCause()}
		} else {
			r.byPE[pe.ID] = as
		}
		answer = resp
	case *Deregistration:
		r.hs.Deregister(m.PoolHandle, m.ID)
		delete(r.byPE, m.ID)
		answer = &DeregistrationResponse{PoolHandle: m.PoolHandle, ID: m.ID}
	case *HandleResolution:
		items := 3
		if m.HasItems {
			items = int(min(m.Items, 64))
		}
		resp := &HandleResolutionResponse{PoolHandle: m.PoolHandle}
		if p := r.hs.Pool(m.PoolHandle); p == nil {
			resp.Causes = []ErrorCause{{Code: CauseUnknownPoolHandle}}
		} else {
			resp.Policy = &Policy{Type: p.Policy()}
			for _, e := range p.Select(items, nil) {
				resp.Elements = append(resp.Elements, e.PoolElement())
			}
		}
		answer = resp
	case *EndpointKeepAliveAck:
		r.acks <- m
	case *EndpointUnreachable:
		r.unreachable <- m
	}
	r.mu.Unlock()
	if answer != nil {
		r.send(as, answer)
	}
}

// keepAlive sends an endpoint keep-alive to element id of handle on the
// association it registered on (home: with the H flag).
func (r *scriptedRegistrar) keepAlive(handle []byte, id uint32, home bool) error {
	r.mu.Lock()
	as := r.byPE[id]
	r.mu.Unlock()
	if as == nil {
		return fmt.Errorf("registrar %d: element %d has not registered here", r.id, id)
	}
	r.send(as, &EndpointKeepAlive{Home: home, ServerID: r.id, PoolHandle: handle, HasID: true, ID: id})
	return nil
}

// waitAck waits for the keep-alive ack of element id.
func (r *scriptedRegistrar) waitAck(id uint32, d time.Duration) error {
	deadline := time.After(d)
	for {
		select {
		case a := <-r.acks:
			if a.ID == id {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("registrar %d: no ENDPOINT_KEEP_ALIVE_ACK from element %d within %v", r.id, id, d)
		}
	}
}
