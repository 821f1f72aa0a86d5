package sctp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	lksctp "github.com/ishidawataru/sctp"
	"github.com/mdlayher/socket"
	"golang.org/x/sys/unix"
)

// minSocketBuffer is the send and receive buffer size (as getsockopt
// reports it, i.e. after the kernel's doubling) below which the layer sets
// an explicit size, so that several MaxMessage messages fit.
const minSocketBuffer = 4 * MaxMessage

// mapSocketErr turns the error of socket(2) into ErrNoSCTP when the kernel
// has no SCTP.
func mapSocketErr(err error) error {
	if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.ESOCKTNOSUPPORT) {
		return ErrNoSCTP
	}
	return fmt.Errorf("sctp: socket: %w", err)
}

// family chooses the socket's address family: IPv6 (which also carries
// IPv4 on Linux) as soon as one address is IPv6, or when nothing is known.
func family(lists ...[]netip.Addr) int {
	known := false
	for _, ips := range lists {
		for _, ip := range ips {
			known = true
			if ip.Is6() && !ip.Is4In6() {
				return unix.AF_INET6
			}
		}
	}
	if !known {
		return unix.AF_INET6
	}
	return unix.AF_INET
}

func newSocket(fam int) (*socket.Conn, error) {
	s, err := socket.Socket(fam, unix.SOCK_STREAM, unix.IPPROTO_SCTP, "sctp", nil)
	if err != nil {
		return nil, mapSocketErr(err)
	}
	return s, nil
}

// toLib converts an Addr to the library's form for SCTPBind/SCTPConnect.
func toLib(a Addr, fam int) *lksctp.SCTPAddr {
	la := &lksctp.SCTPAddr{Port: int(a.Port)}
	for _, ip := range a.IPs {
		la.IPAddrs = append(la.IPAddrs, net.IPAddr{IP: ip.Unmap().AsSlice(), Zone: ip.Zone()})
	}
	if len(la.IPAddrs) == 0 {
		if fam == unix.AF_INET6 {
			la.IPAddrs = []net.IPAddr{{IP: net.IPv6zero}}
		} else {
			la.IPAddrs = []net.IPAddr{{IP: net.IPv4zero}}
		}
	}
	return la
}

func setOpt(s *socket.Conn, name string, opt int, val []byte) error {
	if err := s.SetsockoptBytes(solSCTP, opt, val); err != nil {
		return fmt.Errorf("sctp: setsockopt %s: %w", name, err)
	}
	return nil
}

// configure sets the endpoint options on a fresh socket: buffers, tuning,
// event subscriptions and receive info.
func configure(s *socket.Conn, t Tuning) error {
	if t == (Tuning{}) {
		t = Telecom
	}
	opts, err := endpointOptions(t)
	if err != nil {
		return err
	}
	for _, o := range opts {
		if err := s.SetsockoptBytes(solSCTP, o.opt, o.val); err != nil {
			if o.optional && (errors.Is(err, unix.ENOPROTOOPT) || errors.Is(err, unix.EINVAL)) {
				continue
			}
			return fmt.Errorf("sctp: setsockopt %s (tuning %q): %w", o.name, t.Name, err)
		}
	}
	for _, b := range [...]struct{ get, set int }{{unix.SO_SNDBUF, unix.SO_SNDBUF}, {unix.SO_RCVBUF, unix.SO_RCVBUF}} {
		v, err := s.GetsockoptInt(unix.SOL_SOCKET, b.get)
		if err != nil {
			return fmt.Errorf("sctp: getsockopt buffer size: %w", err)
		}
		if v < minSocketBuffer {
			if err := s.SetsockoptInt(unix.SOL_SOCKET, b.set, minSocketBuffer); err != nil {
				return fmt.Errorf("sctp: setsockopt buffer size: %w", err)
			}
		}
	}
	return subscribe(s)
}

// subscribe enables the notifications the layer reports and SCTP_RCVINFO.
func subscribe(s *socket.Conn) error {
	for _, typ := range subscribedEvents {
		if err := s.SetsockoptBytes(solSCTP, optEvent, eventOption(typ, true)); err != nil {
			if errors.Is(err, unix.ENOPROTOOPT) || errors.Is(err, unix.EINVAL) {
				// No SCTP_EVENT (or no SCTP_SEND_FAILED_EVENT): use the
				// old interface, which reports the old SCTP_SEND_FAILED.
				if err := setOpt(s, "SCTP_EVENTS", optEvents, eventsFallback()); err != nil {
					return err
				}
				break
			}
			return fmt.Errorf("sctp: setsockopt SCTP_EVENT: %w", err)
		}
	}
	on := []byte{1, 0, 0, 0}
	return setOpt(s, "SCTP_RECVRCVINFO", optRecvRcvInfo, on)
}

// KernelListener is a listening kernel SCTP endpoint (one-to-one style).
type KernelListener struct {
	sock   *socket.Conn
	addr   Addr
	fam    int
	closed atomic.Bool
}

var _ Listener = (*KernelListener)(nil)

// Listen opens a listening endpoint on laddr: all its IPs are bound
// (sctp_bindx); none means every local address (IPv4 and IPv6); port 0
// lets the kernel choose. The tuning of cfg applies to every accepted
// association.
func Listen(cfg Config, laddr Addr) (*KernelListener, error) {
	fam := family(laddr.IPs)
	s, err := newSocket(fam)
	if err != nil && fam == unix.AF_INET6 && len(laddr.IPs) == 0 && errors.Is(err, unix.EAFNOSUPPORT) {
		fam = unix.AF_INET
		s, err = newSocket(fam)
	}
	if err != nil {
		return nil, err
	}
	if err := configure(s, cfg.Tuning); err != nil {
		s.Close()
		return nil, err
	}
	if err := bindx(s, laddr, fam); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Listen(unix.SOMAXCONN); err != nil {
		s.Close()
		return nil, fmt.Errorf("sctp: listen: %w", err)
	}
	l := &KernelListener{sock: s, fam: fam}
	l.addr, _ = localAddrs(s)
	return l, nil
}

func bindx(s *socket.Conn, a Addr, fam int) error {
	var berr error
	rc, err := s.SyscallConn()
	if err != nil {
		return err
	}
	if cerr := rc.Control(func(fd uintptr) {
		berr = lksctp.SCTPBind(int(fd), toLib(a, fam), lksctp.SCTP_BINDX_ADD_ADDR)
	}); cerr != nil {
		return cerr
	}
	if berr != nil {
		return fmt.Errorf("sctp: bind %v: %w", a, berr)
	}
	return nil
}

// Accept waits for the next association.
func (l *KernelListener) Accept() (Association, error) {
	c, err := l.AcceptContext(context.Background())
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptContext waits for the next association until ctx is done or the
// listener is closed.
func (l *KernelListener) AcceptContext(ctx context.Context) (*Conn, error) {
	s, _, err := l.sock.Accept(ctx, 0)
	if err != nil {
		if l.closed.Load() {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("sctp: accept: %w", err)
	}
	// Options and subscriptions are inherited from the listener; the
	// subscriptions are set again in case the kernel did not copy them.
	if err := subscribe(s); err != nil {
		s.Close()
		return nil, err
	}
	c, err := newConn(s, l.fam)
	if err != nil {
		s.Close()
		return nil, err
	}
	return c, nil
}

// Close stops listening; associations already accepted stay up.
func (l *KernelListener) Close() error {
	if !l.closed.CompareAndSwap(false, true) {
		return nil
	}
	return l.sock.Close()
}

// Addr returns the bound addresses.
func (l *KernelListener) Addr() Addr { return l.addr }

// Dial sets up an association to raddr, trying all of its addresses
// (sctp_connectx), so a multihomed peer is reached even if its first
// address is down. laddr may be the zero Addr (the kernel chooses); its IPs
// are all bound (sctp_bindx). ctx bounds the setup.
func Dial(ctx context.Context, cfg Config, laddr Addr, raddr Addr) (*Conn, error) {
	if len(raddr.IPs) == 0 || raddr.Port == 0 {
		return nil, fmt.Errorf("sctp: dial %v: need at least one peer IP and a port", raddr)
	}
	fam := family(laddr.IPs, raddr.IPs)
	s, err := newSocket(fam)
	if err != nil {
		return nil, err
	}
	if err := configure(s, cfg.Tuning); err != nil {
		s.Close()
		return nil, err
	}
	if len(laddr.IPs) > 0 || laddr.Port != 0 {
		if err := bindx(s, laddr, fam); err != nil {
			s.Close()
			return nil, err
		}
	}
	// When the kernel cannot send the first INIT at all (no route to the
	// first address), connectx fails at once and drops the association;
	// try again with the next address first. Addresses that merely do not
	// answer are handled by the kernel, which retransmits INIT to the
	// other addresses.
	for i := range raddr.IPs {
		rotated := Addr{Port: raddr.Port, IPs: append(append([]netip.Addr(nil), raddr.IPs[i:]...), raddr.IPs[:i]...)}
		err = connectx(ctx, s, toLib(rotated, fam))
		if err == nil || !(errors.Is(err, unix.ENETUNREACH) || errors.Is(err, unix.EHOSTUNREACH)) {
			break
		}
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sctp: dial %v: %w", raddr, err)
	}
	c, err := newConn(s, fam)
	if err != nil {
		s.Close()
		return nil, err
	}
	return c, nil
}

// connectx runs sctp_connectx on the poller and waits until the
// association is established, fails, or ctx is done.
func connectx(ctx context.Context, s *socket.Conn, ra *lksctp.SCTPAddr) error {
	started := false
	return s.WriteFunc(ctx, "sctp_connectx", func(fd int) error {
		if !started {
			started = true
			_, err := lksctp.SCTPConnect(fd, ra)
			return err // EINPROGRESS: wait for writability
		}
		soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return err
		}
		if soerr != 0 {
			// A failed retransmission of INIT can set the socket error
			// while the association lives on and tries the peer's other
			// addresses. Only an association that is gone ends the dial.
			switch st, serr := stateOfFD(fd); {
			case serr == nil && (st == sstatCookieWait || st == sstatCookieEchoed):
				return unix.EAGAIN
			case serr == nil && st == sstatEstablished:
				return nil
			}
			return unix.Errno(soerr)
		}
		if _, err := unix.Getpeername(fd); err != nil {
			return unix.EAGAIN // not established yet
		}
		return nil
	})
}

// sstat_state values used while connecting.
const (
	sstatCookieWait   = 2
	sstatCookieEchoed = 3
	sstatEstablished  = 4
)

// stateOfFD reads the association state (SCTP_STATUS) of a raw socket.
func stateOfFD(fd int) (int32, error) {
	var b [sizeStatus]byte
	l := uint32(len(b))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), solSCTP, optStatus, uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return 0, e
	}
	return int32(ne.Uint32(b[offSTState:])), nil
}

// Conn is a kernel SCTP association on a one-to-one style socket. It
// implements Association. Reads and writes go through Go's network poller:
// a blocked Recv or Send holds no OS thread.
type Conn struct {
	sock   *socket.Conn
	rc     syscall.RawConn
	fam    int
	closed atomic.Bool
	// lost is set once Recv has reported the association lost (comm-lost or
	// cant-start): the kernel keeps the socket readable-blocking after
	// that, so an empty receive queue then means the end, not a wait.
	lost atomic.Bool
	// streams holds the negotiated inbound (high 16 bits) and outbound (low
	// 16 bits) stream counts.
	streams atomic.Uint32

	addrMu sync.Mutex
	local  Addr
	peer   Addr

	// Receive side, guarded by rmu.
	rmu   sync.Mutex
	rcv   receiver
	rmsg  unix.Msghdr
	riov  unix.Iovec
	roob  [128]byte
	rn    int
	rerr  unix.Errno
	rfunc func(fd uintptr) bool

	// Send side, guarded by wmu.
	wmu   sync.Mutex
	wmsg  unix.Msghdr
	wiov  unix.Iovec
	woob  [64]byte
	wn    int
	werr  unix.Errno
	wfunc func(fd uintptr) bool
}

var _ Association = (*Conn)(nil)

func newConn(s *socket.Conn, fam int) (*Conn, error) {
	rc, err := s.SyscallConn()
	if err != nil {
		return nil, err
	}
	c := &Conn{sock: s, rc: rc, fam: fam}
	// Until Close, the socket lingers 0 s: if the process dies without
	// closing it (SIGKILL, a crash), the kernel closes it with ABORT rather
	// than a graceful SHUTDOWN. A graceful shutdown of a socket whose
	// owner is gone would acknowledge, and drop, every DATA chunk the peer
	// sends until the SHUTDOWN reaches it; an ABORT makes the peer's SCTP
	// hand back what is unacknowledged (send-failed) and answer anything
	// sent later with ABORT, so an M3UA peer can send it elsewhere.
	// Close turns the linger off again and shuts down gracefully.
	var lerr error
	if err := rc.Control(func(fd uintptr) {
		lerr = unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	}); err != nil {
		lerr = err
	}
	if lerr != nil {
		return nil, fmt.Errorf("sctp: setsockopt SO_LINGER: %w", lerr)
	}
	c.rfunc = c.doRecvmsg
	c.wfunc = c.doSendmsg
	c.rcv.nbuf = make([]byte, 0, 256)
	st, err := c.Status()
	if err != nil {
		return nil, err
	}
	c.setStreams(st.InStreams, st.OutStreams)
	c.local, _ = localAddrs(s)
	c.peer, _ = getAddrs(s, optGetPeerAddrs)
	return c, nil
}

func (c *Conn) setStreams(in, out uint16) {
	c.streams.Store(uint32(in)<<16 | uint32(out))
}

// Streams returns the negotiated inbound and outbound stream counts.
func (c *Conn) Streams() (in, out uint16) {
	v := c.streams.Load()
	return uint16(v >> 16), uint16(v)
}

// doRecvmsg runs inside the poller's Read: one recvmsg(2) with the
// prepared msghdr. It does not allocate.
func (c *Conn) doRecvmsg(fd uintptr) bool {
	for {
		r, _, e := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&c.rmsg)), unix.MSG_DONTWAIT)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if c.lost.Load() {
				c.rn, c.rerr = 0, unix.ECONNRESET
				return true
			}
			return false
		}
		c.rn, c.rerr = int(r), e
		return true
	}
}

func (c *Conn) doSendmsg(fd uintptr) bool {
	for {
		r, _, e := unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&c.wmsg)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		c.wn, c.werr = int(r), e
		return true
	}
}

// readPiece implements pieceReader with one recvmsg on the poller.
func (c *Conn) readPiece(p []byte) (int, int, []byte, error) {
	c.riov.Base = &p[0]
	c.riov.SetLen(len(p))
	c.rmsg.Iov = &c.riov
	c.rmsg.SetIovlen(1)
	c.rmsg.Control = &c.roob[0]
	c.rmsg.SetControllen(len(c.roob))
	c.rmsg.Flags = 0
	err := c.rc.Read(c.rfunc)
	c.riov.Base = nil // do not keep the caller's buffer alive
	if err != nil {
		return 0, 0, nil, c.ioErr("recv", err)
	}
	if c.rerr != 0 {
		return 0, 0, nil, c.ioErr("recv", c.rerr)
	}
	oobn := min(int(c.rmsg.Controllen), len(c.roob))
	return c.rn, int(c.rmsg.Flags), c.roob[:oobn], nil
}

// ioErr maps poller and syscall errors: anything after Close or Abort is
// ErrClosed; deadlines are os.ErrDeadlineExceeded.
func (c *Conn) ioErr(op string, err error) error {
	if c.closed.Load() || errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) {
		return ErrClosed
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return os.ErrDeadlineExceeded
	}
	if c.lost.Load() {
		return &LostError{Op: op, Cause: err}
	}
	return &net.OpError{Op: op, Net: "sctp", Err: err}
}

// Recv reads the next whole message into buf, or the next event. See
// Association.Recv. After the peer shut the association down, Recv reports
// EventShutdown once and then io.EOF.
func (c *Conn) Recv(buf []byte) (Message, *Event, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.closed.Load() {
		return Message{}, nil, ErrClosed
	}
	m, ev, err := c.rcv.next(buf, c)
	if ev != nil {
		switch ev.Kind {
		case EventCommUp, EventRestart:
			if ev.OutStreams != 0 {
				c.setStreams(ev.InStreams, ev.OutStreams)
			}
		case EventCommLost, EventCantStart:
			c.lost.Store(true)
		}
	}
	return m, ev, err
}

// Send sends m whole on its stream with its PPID (in network byte order on
// the wire). A stream beyond the negotiated outbound streams is refused
// with ErrInvalidStream before anything is sent.
func (c *Conn) Send(m Message) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if _, out := c.Streams(); m.Stream >= out {
		return ErrInvalidStream
	}
	if len(m.Data) == 0 {
		return errors.New("sctp: empty message (SCTP carries no empty user messages)")
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	putSndInfo(c.woob[:sndInfoSpace], m.Stream, m.PPID, m.Unordered)
	c.wiov.Base = &m.Data[0]
	c.wiov.SetLen(len(m.Data))
	c.wmsg.Iov = &c.wiov
	c.wmsg.SetIovlen(1)
	c.wmsg.Control = &c.woob[0]
	c.wmsg.SetControllen(sndInfoSpace)
	err := c.rc.Write(c.wfunc)
	c.wiov.Base = nil
	if err != nil {
		return c.ioErr("send", err)
	}
	if c.werr != 0 {
		return c.ioErr("send", c.werr)
	}
	if c.wn != len(m.Data) {
		return &net.OpError{Op: "send", Net: "sctp", Err: fmt.Errorf("short write: %d of %d bytes", c.wn, len(m.Data))}
	}
	return nil
}

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.sock.SetDeadline(t) }

// SetReadDeadline sets the deadline of Recv.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.sock.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline of Send.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.sock.SetWriteDeadline(t) }

// Close shuts the association down gracefully (SHUTDOWN) and releases the
// socket; blocked Recv and Send return ErrClosed. Note the kernel's rule:
// if received data is still unread, closing sends ABORT instead. (A process
// that dies without Close aborts its associations: see newConn.)
func (c *Conn) Close() error { return c.release("close: SO_LINGER off", unix.Linger{}) }

// Abort ends the association at once (ABORT) and releases the socket.
func (c *Conn) Abort() error { return c.release("abort: SO_LINGER", unix.Linger{Onoff: 1, Linger: 0}) }

// release sets SO_LINGER to l, which makes the close a SHUTDOWN (off) or
// an ABORT (on, 0 s), and closes the socket, once.
func (c *Conn) release(what string, l unix.Linger) error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	var lerr error
	if err := c.rc.Control(func(fd uintptr) {
		lerr = unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER, &l)
	}); err != nil {
		lerr = err
	}
	cerr := c.sock.Close()
	if lerr != nil {
		return fmt.Errorf("sctp: %s: %w", what, lerr)
	}
	return cerr
}

// LocalAddr returns the local addresses of the association.
func (c *Conn) LocalAddr() Addr {
	c.addrMu.Lock()
	defer c.addrMu.Unlock()
	if !c.closed.Load() {
		if a, err := localAddrs(c.sock); err == nil {
			c.local = a
		}
	}
	return c.local
}

// PeerAddr returns the peer's addresses.
func (c *Conn) PeerAddr() Addr {
	c.addrMu.Lock()
	defer c.addrMu.Unlock()
	if !c.closed.Load() {
		if a, err := getAddrs(c.sock, optGetPeerAddrs); err == nil {
			c.peer = a
		}
	}
	return c.peer
}

// localAddrs returns the bound addresses. The kernel reports the addresses
// of a listening endpoint bound with port 0 without the port it chose;
// getsockname has it.
func localAddrs(s *socket.Conn) (Addr, error) {
	a, err := getAddrs(s, optGetLocalAddrs)
	if err != nil || a.Port != 0 {
		return a, err
	}
	sa, err := s.Getsockname()
	if err != nil {
		return a, fmt.Errorf("sctp: getsockname: %w", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		a.Port = uint16(sa.Port)
	case *unix.SockaddrInet6:
		a.Port = uint16(sa.Port)
	}
	return a, nil
}

func getAddrs(s *socket.Conn, opt int) (Addr, error) {
	b := make([]byte, 8192)
	if _, err := s.GetsockoptBytes(solSCTP, opt, b); err != nil {
		return Addr{}, fmt.Errorf("sctp: getsockopt addresses: %w", err)
	}
	// The optlen the kernel returns leaves out the 8-byte header (a
	// long-standing quirk kept for compatibility): parse by addr_num.
	a, ok := parseGetAddrs(b)
	if !ok {
		return Addr{}, errors.New("sctp: getsockopt addresses: malformed result")
	}
	return a, nil
}

// Status reports the association state and every path (SCTP_STATUS and
// SCTP_GET_PEER_ADDR_INFO per peer address).
func (c *Conn) Status() (Status, error) {
	if c.closed.Load() {
		return Status{}, ErrClosed
	}
	b := make([]byte, sizeStatus)
	if _, err := c.sock.GetsockoptBytes(solSCTP, optStatus, b); err != nil {
		return Status{}, fmt.Errorf("sctp: getsockopt SCTP_STATUS: %w", err)
	}
	st := Status{
		State:      assocStateName(int32(ne.Uint32(b[offSTState:]))),
		Unacked:    uint32(ne.Uint16(b[offSTUnacked:])),
		Pending:    uint32(ne.Uint16(b[offSTPending:])),
		InStreams:  ne.Uint16(b[offSTIn:]),
		OutStreams: ne.Uint16(b[offSTOut:]),
	}
	if ip, _, _, ok := parseSockaddr(b[offSTPrimary+offPIAddress : offSTPrimary+offPIAddress+sockaddrStorageLen]); ok {
		st.Primary = ip
	}
	peers, err := getAddrs(c.sock, optGetPeerAddrs)
	if err != nil {
		return st, err
	}
	pi := make([]byte, sizePaddrInfo)
	for _, ip := range peers.IPs {
		clear(pi)
		putSockaddr(pi[offPIAddress:], ip, peers.Port)
		if _, err := c.sock.GetsockoptBytes(solSCTP, optPeerAddrInfo, pi); err != nil {
			return st, fmt.Errorf("sctp: getsockopt SCTP_GET_PEER_ADDR_INFO %v: %w", ip, err)
		}
		st.Paths = append(st.Paths, Path{
			Addr:    ip,
			State:   pathState(int32(ne.Uint32(pi[offPIState:]))),
			Cwnd:    ne.Uint32(pi[offPICwnd:]),
			SRTT:    time.Duration(ne.Uint32(pi[offPISRTT:])) * time.Millisecond,
			RTO:     time.Duration(ne.Uint32(pi[offPIRTO:])) * time.Millisecond,
			MTU:     ne.Uint32(pi[offPIMTU:]),
			Primary: ip == st.Primary,
		})
	}
	return st, nil
}

// Stats reads the association's counters (SCTP_GET_ASSOC_STATS). It
// implements StatsReader.
func (c *Conn) Stats() (Stats, error) {
	if c.closed.Load() {
		return Stats{}, ErrClosed
	}
	b := make([]byte, sizeAssocStats) // sas_assoc_id 0: the socket's only association
	n, err := c.sock.GetsockoptBytes(solSCTP, optAssocStats, b)
	if err != nil {
		return Stats{}, fmt.Errorf("sctp: getsockopt SCTP_GET_ASSOC_STATS: %w", err)
	}
	st, ok := parseAssocStats(b[:n])
	if !ok {
		return Stats{}, fmt.Errorf("sctp: getsockopt SCTP_GET_ASSOC_STATS: %d bytes, want %d", n, sizeAssocStats)
	}
	return st, nil
}

var _ StatsReader = (*Conn)(nil)

// SetPrimary makes ip (one of the peer's addresses) the primary path
// (SCTP_PRIMARY_ADDR).
func (c *Conn) SetPrimary(ip netip.Addr) error {
	if c.closed.Load() {
		return ErrClosed
	}
	b := make([]byte, sizePrim)
	putSockaddr(b[offPrimAddr:], ip, c.PeerAddr().Port)
	return setOpt(c.sock, "SCTP_PRIMARY_ADDR", optPrimaryAddr, b)
}
