package m3ua

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/wmnsk/go-m3ua/messages"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	SGP      SGPConfig
	Handlers Handlers
	// SendTimeout bounds a send to one association (DefaultSendTimeout).
	SendTimeout time.Duration
	// IPSP, when set, makes the server an IPSP (see IPSP): SGP above is
	// its answering half, IPSP.ASP its requesting half on every
	// association (double exchange, or single exchange as initiator);
	// IPSP.SGP is not used.
	IPSP *IPSPConfig
}

// Server is the SGP (or IPSP server) side of M3UA over SCTP: it accepts
// associations from any number of ASPs, runs one reader goroutine per
// association, and drives one SGP machine for all of them (see driver.go
// for how). The layer above sends MTP3 user data to an AS with SendData,
// reports SS7 destination status with SetDestination and friends, and
// hears everything through Handlers.
type Server struct {
	engine
	sgp  *SGP
	ipsp *IPSP // nil unless ServerConfig.IPSP

	lmu      sync.Mutex // guards what follows
	lns      []sctp.Listener
	next     AssocID
	closing  bool
	wg       sync.WaitGroup
	peerAddr map[AssocID]sctp.Addr

	// changed is closed and replaced (under mu) when the IPSP's own state
	// at a peer changes or an ERR arrives: what Shutdown waits on.
	changed chan struct{}
}

// NewServer returns a server; Serve starts it on a listener.
func NewServer(cfg ServerConfig) *Server {
	s := &Server{peerAddr: map[AssocID]sctp.Addr{}}
	if cfg.IPSP != nil {
		ic := *cfg.IPSP
		ic.SGP = cfg.SGP
		s.ipsp = NewIPSP(ic)
		s.sgp = s.ipsp.SGP()
		s.init(s.ipsp, s.ipsp.Timer, cfg.Handlers, cfg.SendTimeout)
		s.changed = make(chan struct{})
		s.onEvent = func(e Event) {
			switch e := e.(type) {
			case ASPStateChanged:
				if !e.Local {
					return
				}
			case ErrorReceived:
			default:
				return
			}
			close(s.changed)
			s.changed = make(chan struct{})
		}
		return s
	}
	s.sgp = NewSGP(cfg.SGP)
	s.init(s.sgp, s.sgp.Timer, cfg.Handlers, cfg.SendTimeout)
	return s
}

// ErrServerClosed is what Serve returns after Shutdown or Close.
var ErrServerClosed = errors.New("m3ua: server closed")

// ListenAndServe listens on laddr over tr and serves.
func (s *Server) ListenAndServe(tr sctp.Transport, laddr sctp.Addr) error {
	ln, err := tr.Listen(laddr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve accepts associations on ln until Shutdown or Close (ErrServerClosed)
// or until ln fails. Serve may run on several listeners at once.
func (s *Server) Serve(ln sctp.Listener) error {
	s.lmu.Lock()
	if s.closing {
		s.lmu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.lns = append(s.lns, ln)
	s.lmu.Unlock()
	for {
		a, err := ln.Accept()
		if err != nil {
			s.lmu.Lock()
			closing := s.closing
			s.lmu.Unlock()
			if closing {
				return ErrServerClosed
			}
			return err
		}
		s.lmu.Lock()
		if s.closing {
			s.lmu.Unlock()
			a.Abort()
			return ErrServerClosed
		}
		s.next++
		id := s.next
		s.peerAddr[id] = a.PeerAddr()
		s.wg.Add(1)
		s.lmu.Unlock()
		go s.serveAssoc(id, a)
	}
}

func (s *Server) serveAssoc(id AssocID, a sctp.Association) {
	defer s.wg.Done()
	_, out := a.Streams()
	s.step(func(now time.Time) {
		s.assocs[id] = a
		s.assocUp(now, id, out)
		in, out := a.Streams()
		s.emit(AssocEstablished{Assoc: id, Peer: a.PeerAddr(), InStreams: in, OutStreams: out})
	})
	err := s.readLoop(id, a,
		func(now time.Time, stream uint16, b []byte) { s.receive(now, id, stream, b) },
		func(now time.Time, out uint16, restarted bool) {
			if restarted {
				s.assocDown(now, id)
			}
			s.assocUp(now, id, out)
		})
	if errors.Is(err, sctp.ErrClosed) || errors.Is(err, io.EOF) {
		err = nil // this end closed it, or the peer shut it down gracefully
	}
	s.step(func(now time.Time) {
		s.assocDown(now, id)
		delete(s.assocs, id)
		s.emit(AssocEnded{Assoc: id, Err: err})
	})
	a.Close()
	s.lmu.Lock()
	delete(s.peerAddr, id)
	s.lmu.Unlock()
}

// assocUp, assocDown and receive feed the machine: the SGP, or the IPSP.
func (s *Server) assocUp(now time.Time, id AssocID, out uint16) {
	if s.ipsp != nil {
		s.ipsp.AssocUp(now, id, out)
		return
	}
	s.sgp.AssocUp(now, id, out)
}

func (s *Server) assocDown(now time.Time, id AssocID) {
	if s.ipsp != nil {
		s.ipsp.AssocDown(now, id)
		return
	}
	s.sgp.AssocDown(now, id)
}

func (s *Server) receive(now time.Time, id AssocID, stream uint16, b []byte) {
	if s.ipsp != nil {
		s.ipsp.Receive(now, id, stream, b)
		return
	}
	s.sgp.Receive(now, id, stream, b)
}

// SendData sends MTP3 user data from the SS7 network to the AS u.RC: to its
// active ASP(s) by traffic mode, on the stream of u.SLS; queued while the AS
// is pending. The payload is copied before SendData returns.
func (s *Server) SendData(u UserData) {
	s.step(func(now time.Time) { s.sgp.SendData(now, u) })
}

// SetDestination reports the status of SS7 destination pc (DUNA, DAVA or
// DRST to the active ASPs when it changes; an ASP that becomes active later
// is sent the unavailable, restricted and congested destinations right
// after its ASPAC ACK).
func (s *Server) SetDestination(pc uint32, st DestStatus) {
	s.step(func(now time.Time) { s.sgp.SetDestination(now, pc, st) })
}

// SetCongestion reports congestion towards pc (SCON).
func (s *Server) SetCongestion(pc uint32, level uint8) {
	s.step(func(now time.Time) { s.sgp.SetCongestion(now, pc, level) })
}

// ReportUserPartUnavailable reports an unavailable MTP3 user at pc (DUPU).
func (s *Server) ReportUserPartUnavailable(pc uint32, user uint8, cause uint16) {
	s.step(func(now time.Time) { s.sgp.ReportUserPartUnavailable(now, pc, user, cause) })
}

// Block refuses ASPUP and ASPAC from association a ("Refused - Management
// Blocking") until Unblock.
func (s *Server) Block(a AssocID) { s.step(func(time.Time) { s.sgp.Block(a) }) }

// Unblock undoes Block.
func (s *Server) Unblock(a AssocID) { s.step(func(time.Time) { s.sgp.Unblock(a) }) }

// ASState returns the state of the AS rc.
func (s *Server) ASState(rc uint32) ASState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sgp.ASState(rc)
}

// ASPState returns the state of the ASP on association a.
func (s *Server) ASPState(a AssocID) ASPState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sgp.ASPState(a)
}

// Assocs returns the associations the server has, with their peers.
func (s *Server) Assocs() map[AssocID]sctp.Addr {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	out := make(map[AssocID]sctp.Addr, len(s.peerAddr))
	for k, v := range s.peerAddr {
		out[k] = v
	}
	return out
}

// Counters returns the SGP machine's counters (an IPSP's: both halves').
func (s *Server) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ipsp != nil {
		return s.ipsp.Counters()
	}
	return s.sgp.Counters()
}

// DriverCounters returns the driver's own counters.
func (s *Server) DriverCounters() *DriverCounters { return &s.counters }

// Shutdown stops accepting; an IPSP server that requests (double
// exchange, or single exchange as initiator) then takes its own ASP down at
// every peer as a Client does: ASPIA where it is active and the peer's
// ack, ASPDN and its ack. Then Shutdown takes every peer ASP down (an
// unsolicited ASPDN ACK), shuts every association down gracefully (SCTP
// SHUTDOWN, which delivers what was sent first) and waits for their
// readers to end, or for ctx; then it aborts what is left. An error from
// the IPSP's own ASPIA/ASPDN (ctx ended before the acks) is returned, the
// rest of the shutdown still done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopListening()
	localErr := s.localDown(ctx)
	s.step(func(now time.Time) {
		for id := range s.assocs {
			s.sgp.TakeDown(now, id)
		}
	})
	s.flush(ctx)
	s.mu.Lock()
	as := make([]sctp.Association, 0, len(s.assocs))
	for _, a := range s.assocs {
		as = append(as, a)
	}
	s.mu.Unlock()
	for _, a := range as {
		a.Close()
	}
	return errors.Join(localErr, s.wait(ctx))
}

// localDown is an IPSP server's own graceful ASP shutdown on every
// association (ASPIA where active, then ASPDN, each acknowledged); nothing
// for an SGP or an IPSP that only answers. An ASPAC in flight is let
// finish first, so that ASPIA follows its ack. It returns when the IPSP is
// ASP-DOWN with nothing pending at every peer, or ctx's error. T(ack)
// retransmits a request not answered.
func (s *Server) localDown(ctx context.Context) error {
	if s.ipsp == nil || !s.ipsp.cfg.requests() {
		return nil
	}
	s.step(func(time.Time) {
		for id := range s.assocs {
			if l := s.ipsp.Local(id); l != nil {
				l.cfg.AutoActivate = false // no ASPAC after an ASPUP ACK or a registration
			}
		}
	})
	if err := s.waitLocal(ctx, func(l *ASP) bool { return !l.pendingIs(ClassASPTM, messages.MsgTypeAspActive) }); err != nil {
		return err
	}
	s.step(func(now time.Time) {
		for id := range s.assocs {
			if l := s.ipsp.Local(id); l != nil {
				l.Deactivate(now)
			}
		}
	})
	if err := s.waitLocal(ctx, func(l *ASP) bool {
		return l.State() != ASPActive && !l.pendingIs(ClassASPTM, messages.MsgTypeAspInactive)
	}); err != nil {
		return err
	}
	s.step(func(now time.Time) {
		for id := range s.assocs {
			if l := s.ipsp.Local(id); l != nil && (l.State() != ASPDown || l.pending != nil) {
				l.Down(now)
			}
		}
	})
	return s.waitLocal(ctx, func(l *ASP) bool { return l.State() == ASPDown && l.pending == nil })
}

// waitLocal waits until cond holds for the IPSP's requesting half on every
// association (one that ended has none), or for ctx. It wakes on the
// requesting halves' state changes and ERRs, and every few milliseconds
// for an ack that settles a request without changing the state.
func (s *Server) waitLocal(ctx context.Context, cond func(*ASP) bool) error {
	for {
		s.mu.Lock()
		ch, ok := s.changed, true
		for id := range s.assocs {
			if l := s.ipsp.Local(id); l != nil && !cond(l) {
				ok = false
				break
			}
		}
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Close aborts every association at once.
func (s *Server) Close() error {
	s.stopListening()
	s.mu.Lock()
	for _, a := range s.assocs {
		a.Abort()
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.wait(ctx)
}

func (s *Server) stopListening() {
	s.lmu.Lock()
	s.closing = true
	lns := s.lns
	s.lns = nil
	s.lmu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
}

func (s *Server) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.mu.Lock()
		for _, a := range s.assocs {
			a.Abort()
		}
		s.mu.Unlock()
		<-done
	}
	s.mu.Lock()
	s.stopTimers()
	s.mu.Unlock()
	return err
}

// SendDataTo sends MTP3 user data to the ASP on association a alone, not
// to the AS as a whole, on stream DataStream(u.SLS, streams) of that
// association. The ASP must be ASP-ACTIVE for the AS u.RC: otherwise
// nothing is sent and the error wraps ErrUnknownAssoc, ErrASPNotActive or
// ErrNoDataStream. A nil error means the message joined the association's
// ordered writer, as with SendData (same send deadline; a peer that does
// not take it is aborted); if it then does not reach the peer, a
// DataUnsent event hands it back. The payload is copied before SendDataTo
// returns.
func (s *Server) SendDataTo(a AssocID, u UserData) error {
	var err error
	s.step(func(now time.Time) {
		if s.ipsp != nil {
			err = s.ipsp.SendDataTo(now, a, u)
			return
		}
		err = s.sgp.SendDataTo(now, a, u)
	})
	return err
}

// SendOther sends a message that is not M3UA (ASAP, PPID 11) on
// association a, through the same ordered writer as DATA: it leaves after
// everything SendData, SendDataTo and the machine queued before it, so a
// message sent on stream s before a DATA on stream s arrives before it.
// m.Data is copied before SendOther returns. It fails with ErrNotOther for
// M3UA's PPID and with ErrUnknownAssoc when a does not exist; a write that
// fails later is counted (DriverCounters.SendErrors).
func (s *Server) SendOther(a AssocID, m sctp.Message) error { return s.sendOther(a, m) }

// ASPIdentifier returns the ASP Identifier the ASP on association a sent
// in ASPUP; ok is false when it sent none or is not ASP-INACTIVE or
// ASP-ACTIVE.
func (s *Server) ASPIdentifier(a AssocID) (id uint32, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sgp.ASPIdentifier(a)
}

// Serving reports whether the ASP on association a is ASP-ACTIVE for the
// AS with routing context rc right now: what SendDataTo requires.
func (s *Server) Serving(a AssocID, rc uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ipsp != nil {
		return s.ipsp.Serving(a, rc)
	}
	return s.sgp.Serving(a, rc)
}

// LocalState returns an IPSP server's own state at the peer on association
// a (its requesting half); ASP-DOWN for an SGP.
func (s *Server) LocalState(a AssocID) ASPState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ipsp == nil {
		return ASPDown
	}
	return s.ipsp.LocalState(a)
}

// ActiveRCs returns the routing contexts the ASP on association a is
// ASP-ACTIVE for, sorted (the Active of its last ASPStateChanged).
func (s *Server) ActiveRCs(a AssocID) []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sgp.ActiveRCs(a)
}
