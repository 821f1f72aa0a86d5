//go:build linux

package failover

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Options shape the message stream.
type Options struct {
	Tuning   sctp.Tuning   // both ends; zero means sctp.Telecom
	Interval time.Duration // between two messages (default 1 ms)
	Before   time.Duration // traffic before the fault (default 1 s)
	After    time.Duration // traffic after the fault (default 2 s)
	Streams  uint16        // streams used round robin (default 4)
	Size     int           // message size in bytes, at least 20 (default 64)
	// Idle stops the stream at the fault, so only heartbeats can detect
	// it (PeerDeath).
	Idle bool
	Log  io.Writer // progress lines; nil is silent
}

func (o *Options) defaults() {
	if o.Tuning.Name == "" {
		o.Tuning = sctp.Telecom
	}
	if o.Interval <= 0 {
		o.Interval = time.Millisecond
	}
	if o.Before <= 0 {
		o.Before = time.Second
	}
	if o.After <= 0 {
		o.After = 2 * time.Second
	}
	if o.Streams == 0 {
		o.Streams = 4
	}
	if o.Size < 20 {
		o.Size = 64
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Event is an association event seen by the sender, timed from the fault.
type Event struct {
	At    time.Duration
	Event sctp.Event
}

// Result is what one run measured.
type Result struct {
	Tuning    string
	Sent      int // messages the sender handed to SCTP
	Delivered int // distinct messages the receiver got
	Lost      int // sent but never delivered (the association stayed up)
	Duplicate int // delivered more than once
	Reordered int // delivered after a later message of the same stream
	// Unsent counts the messages the sender's SCTP handed back in
	// send-failed events; Unaccounted those neither delivered nor handed
	// back: the ones silently lost (must be 0 in every run).
	Unsent, Unaccounted int
	// Switchover is the time from the cut to the delivery of the first
	// message sent after the cut: with network A down, it crossed B.
	Switchover time.Duration
	// Gap is the longest silence at the receiver from the cut on.
	Gap time.Duration
	// PeerLost is the time from the peer's isolation to the sender's
	// comm-lost event (PeerDeath only).
	PeerLost time.Duration
	// Events are the sender's association events, timed from the fault.
	Events []Event
	// Paths is the sender's view of the paths at the end of the run.
	Paths []sctp.Path
	// PeerA and PeerB are the receiver's addresses on networks A and B.
	PeerA, PeerB netip.Addr
}

const port = 2905

type pair struct {
	topo        *netlab.Topology
	client, srv sctp.Association
	ln          sctp.Listener
}

func (p *pair) close() {
	for _, c := range []io.Closer{p.client, p.srv, p.ln} {
		if c != nil {
			c.Close()
		}
	}
	if p.topo != nil {
		p.topo.Close()
	}
}

// setup builds the two-host topology and the association h1 → h2, with
// network A's addresses first so A is the primary path.
func setup(ctx context.Context, o Options) (*pair, error) {
	topo, err := netlab.New(2)
	if err != nil {
		return nil, err
	}
	p := &pair{topo: topo}
	h1, h2 := topo.Host(1), topo.Host(2)
	cfg := sctp.Config{Tuning: o.Tuning}
	srvAddr := sctp.Addr{IPs: []netip.Addr{h2.Addr(netlab.NetA), h2.Addr(netlab.NetB)}, Port: port}
	err = h2.Do(func() error {
		ln, err := sctp.Listen(cfg, srvAddr)
		p.ln = ln
		return err
	})
	if err != nil {
		p.close()
		return nil, fmt.Errorf("listen on %s: %w", srvAddr, err)
	}
	accepted := make(chan error, 1)
	go func() {
		a, err := p.ln.Accept()
		p.srv = a
		accepted <- err
	}()
	cliAddr := sctp.Addr{IPs: []netip.Addr{h1.Addr(netlab.NetA), h1.Addr(netlab.NetB)}}
	err = h1.Do(func() error {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		c, err := sctp.Dial(dctx, cfg, cliAddr, srvAddr)
		if c != nil {
			p.client = c
		}
		return err
	})
	if err != nil {
		p.close()
		return nil, fmt.Errorf("dial %s from %s: %w", srvAddr, cliAddr, err)
	}
	select {
	case err := <-accepted:
		if err != nil {
			p.close()
			return nil, fmt.Errorf("accept: %w", err)
		}
	case <-time.After(10 * time.Second):
		p.close()
		return nil, errors.New("accept: no association within 10 s")
	}
	fmt.Fprintf(o.Log, "association up: %s ⇄ %s (profile %s)\n", p.client.LocalAddr(), p.client.PeerAddr(), o.Tuning.Name)
	return p, nil
}

type arrival struct {
	seq uint64
	at  time.Duration // since base
}

// action is something done to the topology at a point of the stream.
type action struct {
	at   time.Duration // from the start of the stream
	what string
	do   func() error
}

// stream runs the numbered message stream; fault is called at o.Before,
// the later actions at their time.
func stream(ctx context.Context, p *pair, o Options, fault func() error, waitLost bool, later ...action) (*Result, error) {
	h2 := p.topo.Host(2)
	res := &Result{Tuning: o.Tuning.Name, PeerA: h2.Addr(netlab.NetA), PeerB: h2.Addr(netlab.NetB)}
	base := time.Now()
	var (
		mu       sync.Mutex
		arrivals []arrival
		events   []Event
		unsent   = map[uint64]bool{}
		faultAt  = time.Duration(-1)
		lostAt   = make(chan time.Duration, 1)
	)
	// Receiver: records every message with its arrival time.
	recvDone := make(chan error, 1)
	go func() {
		buf := make([]byte, sctp.MaxMessage)
		for {
			m, ev, err := p.srv.Recv(buf)
			if err != nil {
				recvDone <- err
				return
			}
			if ev != nil || len(m.Data) < 8 {
				continue
			}
			a := arrival{seq: binary.BigEndian.Uint64(m.Data), at: time.Since(base)}
			mu.Lock()
			arrivals = append(arrivals, a)
			mu.Unlock()
		}
	}()
	// Sender's reader: the sender's events, until the association ends.
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		buf := make([]byte, sctp.MaxMessage)
		for {
			_, ev, err := p.client.Recv(buf)
			if err != nil {
				return
			}
			if ev == nil {
				continue
			}
			now := time.Since(base)
			mu.Lock()
			at := now - o.Before // before the fault: from when it is due
			if faultAt >= 0 {
				at = now - faultAt
			}
			first := false
			if ev.Kind == sctp.EventSendFailed && ev.Unsent != nil && len(ev.Unsent.Data) >= 8 {
				first = len(unsent) == 0
				unsent[binary.BigEndian.Uint64(ev.Unsent.Data)] = true
			} else {
				events = append(events, Event{At: at, Event: *ev})
			}
			fa := faultAt
			mu.Unlock()
			switch {
			case ev.Kind != sctp.EventSendFailed:
				fmt.Fprintf(o.Log, "  sender event at %+8.1f ms from the fault: %s\n", float64(at)/1e6, ev)
			case first:
				fmt.Fprintf(o.Log, "  sender event at %+8.1f ms from the fault: %s (and more: counted, not shown)\n", float64(at)/1e6, ev)
			}
			if ev.Kind == sctp.EventCommLost && fa >= 0 {
				select {
				case lostAt <- now - fa:
				default:
				}
			}
		}
	}()
	// Sender: message k leaves at base + k*Interval.
	msg := make([]byte, o.Size)
	total := int((o.Before + o.After) / o.Interval)
	faultSeq := uint64(o.Before / o.Interval)
	var sendErr error
	for k := uint64(0); k < uint64(total); k++ {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for len(later) > 0 && time.Duration(k)*o.Interval >= later[0].at {
			fmt.Fprintf(o.Log, "%s after %d messages\n", later[0].what, k)
			if err := later[0].do(); err != nil {
				return nil, fmt.Errorf("%s: %w", later[0].what, err)
			}
			later = later[1:]
		}
		if k == faultSeq {
			fmt.Fprintf(o.Log, "injecting the fault after %d messages\n", k)
			if err := fault(); err != nil {
				return nil, fmt.Errorf("injecting the fault: %w", err)
			}
			mu.Lock()
			faultAt = time.Since(base)
			mu.Unlock()
			if o.Idle {
				break
			}
		}
		if d := time.Until(base.Add(time.Duration(k) * o.Interval)); d > 0 {
			time.Sleep(d)
		}
		binary.BigEndian.PutUint64(msg, k)
		binary.BigEndian.PutUint64(msg[8:], uint64(time.Since(base)))
		p.client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		err := p.client.Send(sctp.Message{Stream: uint16(k % uint64(o.Streams)), PPID: 3, Data: msg})
		if err != nil {
			sendErr = err
			break
		}
		res.Sent++
	}
	if waitLost {
		select {
		case d := <-lostAt:
			res.PeerLost = d
			// The kernel hands the undelivered messages back after
			// comm-lost: read them all, until the association ends.
			select {
			case <-senderDone:
			case <-time.After(5 * time.Second):
				return nil, errors.New("the sender's association did not end within 5 s of comm-lost")
			}
		case <-time.After(10 * time.Second):
			return nil, errors.New("the sender never reported the isolated peer lost (waited 10 s)")
		}
	} else if sendErr != nil {
		return nil, fmt.Errorf("send: %w", sendErr)
	} else {
		// Let the last messages arrive: wait until all are in or 3 s pass.
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			n := len(arrivals)
			mu.Unlock()
			if n >= res.Sent {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if st, err := p.client.Status(); err == nil {
		res.Paths = st.Paths
	}
	mu.Lock()
	defer mu.Unlock()
	res.Events = append(res.Events, events...)
	analyse(res, arrivals, unsent, faultAt, faultSeq, o.Streams)
	return res, nil
}

// analyse counts loss (and what of it SCTP handed back), duplicates and
// reordering, and times the switchover.
func analyse(res *Result, arr []arrival, unsent map[uint64]bool, faultAt time.Duration, faultSeq uint64, streams uint16) {
	seen := make(map[uint64]bool, len(arr))
	last := make(map[uint16]uint64)
	started := make(map[uint16]bool)
	res.Switchover = -1
	prev := faultAt
	for _, a := range arr {
		if seen[a.seq] {
			res.Duplicate++
			continue
		}
		seen[a.seq] = true
		s := uint16(a.seq % uint64(streams))
		if started[s] && a.seq < last[s] {
			res.Reordered++
		}
		started[s], last[s] = true, a.seq
		if faultAt >= 0 && a.at >= faultAt {
			if gap := a.at - prev; gap > res.Gap {
				res.Gap = gap
			}
			prev = a.at
			if res.Switchover < 0 && a.seq >= faultSeq {
				res.Switchover = a.at - faultAt
			}
		}
	}
	res.Delivered = len(seen)
	res.Unsent = len(unsent)
	for k := 0; k < res.Sent; k++ {
		if !seen[uint64(k)] {
			res.Lost++
			if !unsent[uint64(k)] {
				res.Unaccounted++
			}
		}
	}
}

// LinkCut cuts network A at the sender's host mid-stream and restores it at
// the end of the run.
func LinkCut(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	p, err := setup(ctx, o)
	if err != nil {
		return nil, err
	}
	defer p.close()
	restore := o.Before + o.After/2
	fmt.Fprintf(o.Log, "streaming %d-byte messages every %s on %d streams; cutting network A at host 1 after %s, restoring it after %s\n",
		o.Size, o.Interval, o.Streams, o.Before, restore)
	return stream(ctx, p, o, func() error { return p.topo.LinkDown(1, netlab.NetA) }, false,
		action{at: restore, what: "restoring network A", do: func() error { return p.topo.LinkUp(1, netlab.NetA) }})
}

// PeerDeath isolates the receiving host (both networks down) mid-stream and
// measures how long the sender takes to report the association lost.
func PeerDeath(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	p, err := setup(ctx, o)
	if err != nil {
		return nil, err
	}
	defer p.close()
	idle := ""
	if o.Idle {
		idle = "; the stream stops there (idle association)"
	}
	fmt.Fprintf(o.Log, "streaming, then isolating host 2 (both networks) after %s%s\n", o.Before, idle)
	return stream(ctx, p, o, func() error { return p.topo.Isolate(2) }, true)
}

// Report writes a human summary of r.
func (r *Result) Report(w io.Writer) {
	fmt.Fprintf(w, "profile %s: sent %d, delivered %d, not delivered %d (handed back by SCTP %d, silently lost %d), duplicated %d, reordered %d\n",
		r.Tuning, r.Sent, r.Delivered, r.Lost, r.Unsent, r.Unaccounted, r.Duplicate, r.Reordered)
	if r.Switchover >= 0 && r.PeerLost == 0 {
		fmt.Fprintf(w, "switchover: first message over network B %.1f ms after the cut (longest silence %.1f ms)\n",
			float64(r.Switchover)/1e6, float64(r.Gap)/1e6)
	}
	if r.PeerLost > 0 {
		fmt.Fprintf(w, "dead peer reported lost %.1f ms after its isolation\n", float64(r.PeerLost)/1e6)
	}
	paths := append([]sctp.Path(nil), r.Paths...)
	sort.Slice(paths, func(i, j int) bool { return paths[i].Addr.Less(paths[j].Addr) })
	for _, p := range paths {
		prim := ""
		if p.Primary {
			prim = " (primary)"
		}
		fmt.Fprintf(w, "  path %-12s %-18s srtt %6.1f ms  rto %6.1f ms  cwnd %d%s\n",
			p.Addr, p.State, float64(p.SRTT)/1e6, float64(p.RTO)/1e6, p.Cwnd, prim)
	}
}
