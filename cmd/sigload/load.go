package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// Config is one load run.
type Config struct {
	Script    Script
	Transport sctp.Transport
	Local     sctp.Addr
	Gateways  []sctp.Addr
	ASPID     uint32 // ASP Identifier in ASPUP when HasASPID
	HasASPID  bool
	Rate      float64       // dialogues offered per second
	Duration  time.Duration // how long dialogues are offered
	Timeout   time.Duration // a dialogue not over within it is lost
	SLSSpread int           // dialogues use SLS 0..SLSSpread-1 in turn
	// StartTimeout bounds the wait for the gateways to be ASP-ACTIVE; the
	// load starts when all are, or at the bound if at least one is.
	StartTimeout time.Duration
	// Progress is the interval of progress lines (default 1 s).
	Progress time.Duration
	// PerDialogue lists every finished dialogue in the summary.
	PerDialogue bool
	Out         io.Writer // progress lines and the text summary
	Log         io.Writer // association events and errors
}

// sender is what the generator sends through: an m3ua.Client.
type sender interface {
	SendData(u m3ua.UserData) error
}

// routedSender lets the generator pick the gateway association itself.
type routedSender interface {
	// Pick is the association SendData would use for u, leaving out
	// avoid while another one is ASP-ACTIVE (false: none ASP-ACTIVE).
	Pick(u m3ua.UserData, avoid m3ua.AssocID) (m3ua.AssocID, bool)
	// SendVia sends on that association; m3ua.ErrNotUsable when its
	// gateway is not ASP-ACTIVE or declared the DPC unavailable.
	SendVia(a m3ua.AssocID, u m3ua.UserData) error
}

// sendTracked sends a network message of dialogue otid and records the
// association it went on.
func (g *Generator) sendTracked(otid uint32, u m3ua.UserData, avoid m3ua.AssocID) error {
	// Noted before it goes: an answer may come back before the send
	// returns.
	now := g.clock()
	if r, ok := g.send.(routedSender); ok {
		if a, ok := r.Pick(u, avoid); ok {
			g.tr.Sent(otid, int(a), now)
			err := r.SendVia(a, u)
			if err == nil || !errors.Is(err, m3ua.ErrNotUsable) {
				return err
			}
			g.tr.DropSend(otid) // not sent there after all
		}
	}
	err := g.send.SendData(u) // the client's own choice: association unknown
	if err == nil {
		g.tr.Sent(otid, 0, now)
	}
	return err
}

// Generator offers dialogues and accounts for them.
type Generator struct {
	cfg     Config
	tr      *Tracker
	send    sender
	clock   func() time.Time
	sendErr atomic.Uint64 // sends that failed (each makes a dialogue not sent)
	other   atomic.Uint64 // received DATA that is not SCCP
	logMu   sync.Mutex
	logged  map[string]int
	start   time.Time // when the load started (lost dialogues' times count from it)
	lostMu  sync.Mutex
	lost    []LostDialogue // the first maxLostListed lost dialogues
	events  []assocEvent
}

type assocEvent struct {
	assoc int
	what  string
	at    time.Time
}

// assocEvent records a change of a gateway association (the first 1000).
func (g *Generator) assocEvent(assoc int, what string) {
	g.lostMu.Lock()
	defer g.lostMu.Unlock()
	if len(g.events) < 1000 {
		g.events = append(g.events, assocEvent{assoc, what, g.clock()})
	}
}

// AssocEvent is a gateway association's change in the summary: "up",
// "ended", or "asp-<state>" (asp-asp-active...), t in seconds since the
// load started (negative before it).
type AssocEvent struct {
	Assoc int     `json:"assoc"`
	Event string  `json:"event"`
	T     float64 `json:"t"`
}

// SendInfo is one network message of a dialogue in the summary.
type SendInfo struct {
	Assoc int     `json:"assoc"` // gateway association (1 = first --gateway); 0 unknown
	T     float64 `json:"t"`     // seconds since the load started
}

// DialogueInfo is one finished dialogue in the summary (--per-dialogue).
type DialogueInfo struct {
	OTID    string     `json:"otid"`
	BeginS  float64    `json:"begin_s"`
	EndS    float64    `json:"end_s"` // when its outcome was known (its Begin for returned or not sent ones)
	Outcome Outcome    `json:"outcome"`
	Sends   []SendInfo `json:"sends"`
}

func (g *Generator) sendInfos(ss []Send) []SendInfo {
	out := make([]SendInfo, 0, len(ss))
	for _, x := range ss {
		out = append(out, SendInfo{Assoc: x.Assoc, T: x.At.Sub(g.start).Seconds()})
	}
	return out
}

// maxLostListed bounds the lost dialogues listed in the summary and logged
// one by one; all of them are counted.
const maxLostListed = 1000

// LostDialogue is one dialogue that got neither End nor Abort within the
// timeout, as listed in the summary (lost_dialogues) to be traced in the
// gateways' and servers' logs.
type LostDialogue struct {
	OTID     string  `json:"otid"`    // our transaction id, 8 hex digits as on the wire
	BeginS   float64 `json:"begin_s"` // when its Begin was sent, seconds since the load started
	SLS      uint8   `json:"sls"`
	Answered bool    `json:"answered"`       // the server had sent a Continue
	Peer     string  `json:"peer,omitempty"` // the server's transaction id, when answered
	Rounds   int     `json:"rounds"`         // server Continues received
	Resends  int     `json:"resends"`        // messages sent again after SCTP handed them back
	// Sends are its network messages: association and time (the
	// harness attributes a loss to a killed gateway by them).
	Sends []SendInfo `json:"sends"`
}

func newGenerator(cfg Config, s sender) *Generator {
	if cfg.SLSSpread <= 0 {
		cfg.SLSSpread = 1
	}
	if cfg.Progress <= 0 {
		cfg.Progress = time.Second
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	tr := NewTracker(cfg.Script.Steps, cfg.Timeout)
	if cfg.PerDialogue {
		tr.Record()
	}
	return &Generator{cfg: cfg, tr: tr, send: s, clock: time.Now, logged: map[string]int{}}
}

// logf writes a log line; a line of the same kind is written at most 5
// times (association and ASP state changes 100 times), then counted
// silently (the counts are in the summary).
func (g *Generator) logf(kind, format string, a ...any) {
	g.logMu.Lock()
	defer g.logMu.Unlock()
	g.logged[kind]++
	limit := 5
	if kind == "assoc" || kind == "asp" {
		limit = 100 // association and ASP state changes: the faults' timeline
	}
	if g.logged[kind] > limit {
		return
	}
	fmt.Fprintf(g.cfg.Log, "%s sigload: "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, a...)...)
}

// open starts dialogue number i (0-based) and sends its Begin.
func (g *Generator) open(i uint64) {
	sls := uint8(i % uint64(g.cfg.SLSSpread))
	otid := g.tr.Open(g.clock(), sls)
	u, err := g.cfg.Script.Begin(otid, sls)
	if err == nil {
		err = g.sendTracked(otid, u, 0)
	}
	if err != nil {
		g.sendErr.Add(1)
		g.tr.NotSent(otid)
		g.logf("send", "Begin not sent: %v", err)
	}
}

// onData handles DATA from a gateway.
func (g *Generator) onData(_ m3ua.AssocID, u m3ua.UserData) {
	if u.SI != SIsccp {
		g.other.Add(1)
		return
	}
	var m sccp.Message
	if err := sccp.Decode(u.Payload, &m); err != nil {
		g.tr.Malformed()
		g.logf("malformed", "SCCP from %d: %v", u.OPC, err)
		return
	}
	if m.Type == sccp.UDTS || m.Type == sccp.XUDTS {
		var t tcap.Message
		if err := tcap.Decode(m.Data, &t); err != nil || !t.HasOTID || t.OTID.Len() != 4 {
			g.tr.Malformed()
			return
		}
		g.tr.Returned(t.OTID.Uint32(), m.Cause)
		return
	}
	var t tcap.Message
	if err := tcap.Decode(m.Data, &t); err != nil {
		g.tr.Malformed()
		g.logf("malformed", "TCAP from %d: %v", u.OPC, err)
		return
	}
	a := g.tr.Receive(g.clock(), &t)
	if !a.Continue {
		return
	}
	out, err := g.cfg.Script.Continue(a, &m, u.OPC)
	if err == nil {
		err = g.sendTracked(a.OTID, out, 0)
	}
	if err != nil {
		g.sendErr.Add(1)
		g.tr.NotSent(a.OTID)
		g.logf("send", "Continue not sent: %v", err)
	}
}

// onEvent handles the client's events: DATA handed back is sent again,
// through another gateway when one is ASP-ACTIVE.
func (g *Generator) onEvent(e m3ua.Event) {
	switch e := e.(type) {
	case m3ua.DataUnsent:
		otid, ok := ourTID(e.Data.Payload)
		if !ok {
			return // an Abort of ours: nothing waits for it
		}
		if !g.tr.Unsent(otid) {
			return
		}
		// Not through the association that handed it back, while
		// another gateway is ASP-ACTIVE: that one is going away.
		if err := g.sendTracked(otid, e.Data, e.Assoc); err != nil {
			g.sendErr.Add(1)
			g.tr.NotSent(otid)
			g.logf("send", "resend failed: %v", err)
		}
	case m3ua.AssocEstablished:
		g.assocEvent(int(e.Assoc), "up")
		g.logf("assoc", "association %d to %v up", e.Assoc, e.Peer)
	case m3ua.AssocEnded:
		g.assocEvent(int(e.Assoc), "ended")
		g.logf("assoc", "association %d ended: %v", e.Assoc, e.Err)
	case m3ua.ASPStateChanged:
		g.assocEvent(int(e.Assoc), "asp-"+strings.ToLower(e.To.String()))
		g.logf("asp", "association %d: ASP %v -> %v", e.Assoc, e.From, e.To)
	}
}

// expire counts the dialogues past their timeout as lost and aborts them at
// the servers that had answered.
func (g *Generator) expire(now time.Time, buf []Lost) []Lost {
	buf = g.tr.Expire(now, buf[:0])
	g.recordLost(buf)
	for _, l := range buf {
		if !l.HasPeer {
			continue
		}
		if u, err := g.cfg.Script.Abort(l.Peer, l.SLS); err == nil {
			_ = g.send.SendData(u) // best effort: the dialogue is counted lost already
		}
	}
	return buf
}

// recordLost lists and logs lost dialogues (the first maxLostListed).
func (g *Generator) recordLost(ls []Lost) {
	g.lostMu.Lock()
	defer g.lostMu.Unlock()
	for _, l := range ls {
		if len(g.lost) >= maxLostListed {
			return
		}
		d := LostDialogue{OTID: fmt.Sprintf("%08x", l.OTID), BeginS: l.Start.Sub(g.start).Seconds(), SLS: l.SLS,
			Answered: l.HasPeer, Rounds: l.Rounds, Resends: l.Resends, Sends: g.sendInfos(l.Sends)}
		if l.HasPeer {
			d.Peer = fmt.Sprintf("%x", l.Peer.Bytes())
		}
		g.lost = append(g.lost, d)
		peer := "never answered"
		if l.HasPeer {
			peer = fmt.Sprintf("server tid %s after %d Continues", d.Peer, l.Rounds)
		}
		var via []string
		for _, x := range d.Sends {
			via = append(via, fmt.Sprintf("assoc %d at t=%.3fs", x.Assoc, x.T))
		}
		fmt.Fprintf(g.cfg.Log, "%s sigload: dialogue otid=%s lost: Begin at t=%.3fs sls=%d, %s, %d resends, sent [%s], no End or Abort within %v\n",
			time.Now().Format("15:04:05.000"), d.OTID, d.BeginS, l.SLS, peer, l.Resends, strings.Join(via, ", "), g.cfg.Timeout)
	}
}

// Sample is the state at one progress line.
type Sample struct {
	T         float64 `json:"t"` // seconds since the load started
	Offered   uint64  `json:"offered"`
	Completed uint64  `json:"completed"`
	Aborted   uint64  `json:"aborted"`
	Lost      uint64  `json:"lost"`
	NotSent   uint64  `json:"notsent"`
	InFlight  uint64  `json:"inflight"`
	Rate      float64 `json:"completed_per_s"` // completions in the interval, per second
	P50us     uint64  `json:"p50_us"`          // of the dialogues completed in the interval
	P99us     uint64  `json:"p99_us"`
}

// Summary is the final account; its JSON form is sigload's --json output.
type Summary struct {
	Offered     uint64            `json:"offered"`
	Completed   uint64            `json:"completed"`
	Aborted     uint64            `json:"aborted"`
	Lost        uint64            `json:"lost"`
	NotSent     uint64            `json:"notsent"`
	InFlight    uint64            `json:"inflight"`
	AbortCauses map[string]uint64 `json:"abort_causes"`
	Resent      uint64            `json:"resent"`
	Unmatched   uint64            `json:"unmatched"`
	Malformed   uint64            `json:"malformed"`
	Mismatch    uint64            `json:"step_mismatch"`
	SendErrors  uint64            `json:"send_errors"`
	NotSCCP     uint64            `json:"not_sccp"`
	Continues   uint64            `json:"continues"`
	Latency     LatencySummary    `json:"latency_us"`
	Rate        float64           `json:"rate"`
	Steps       int               `json:"steps"`
	Gateways    int               `json:"gateways"`
	Active      int               `json:"gateways_active_at_start"`
	LoadSeconds float64           `json:"load_s"`
	Seconds     []Sample          `json:"seconds"`
	// LostDialogues lists the lost dialogues (the first 1000).
	LostDialogues []LostDialogue `json:"lost_dialogues"`
	// AssocEvents are the gateway associations' changes (the first 1000).
	AssocEvents []AssocEvent `json:"assoc_events"`
	// Dialogues lists every finished dialogue (--per-dialogue only).
	Dialogues []DialogueInfo `json:"dialogues,omitempty"`
}

// LatencySummary is the latency from Begin sent to End received of the
// completed dialogues, in microseconds.
type LatencySummary struct {
	Count uint64 `json:"count"`
	Min   uint64 `json:"min"`
	Mean  uint64 `json:"mean"`
	P50   uint64 `json:"p50"`
	P90   uint64 `json:"p90"`
	P99   uint64 `json:"p99"`
	P999  uint64 `json:"p999"`
	Max   uint64 `json:"max"`
}

func us(d time.Duration) uint64 { return uint64(d / time.Microsecond) }

func latencyOf(h *Histogram) LatencySummary {
	return LatencySummary{Count: h.Count(), Min: us(h.Min()), Mean: us(h.Mean()), P50: us(h.Quantile(0.5)),
		P90: us(h.Quantile(0.9)), P99: us(h.Quantile(0.99)), P999: us(h.Quantile(0.999)), Max: us(h.Max())}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// tickFor is the pace of the generator's loop at rate dialogues/s: one
// dialogue's interval, within [2 ms, 10 ms]. Every wakeup costs processor
// time that the system under test shares (the lab VM's two emulated
// CPUs): at 20 dialogues/s a Begin up to 10 ms late is nothing against
// the 50 ms between two, where a 2 ms loop woke 25 times per dialogue;
// at high rates one wakeup opens several dialogues.
func tickFor(rate float64) time.Duration {
	if rate <= 0 {
		return 10 * time.Millisecond
	}
	return min(max(time.Duration(float64(time.Second)/rate), 2*time.Millisecond), 10*time.Millisecond)
}

// drive offers dialogues at the rate for the duration, then waits for the
// open ones to end or time out, printing progress. It returns the summary.
func (g *Generator) drive(ctx context.Context) *Summary {
	cfg := g.cfg
	start := g.clock()
	g.lostMu.Lock()
	g.start = start
	g.lostMu.Unlock()
	tick := time.NewTicker(tickFor(cfg.Rate))
	defer tick.Stop()
	var (
		opened   uint64
		lost     []Lost
		samples  []Sample
		nextProg = start.Add(cfg.Progress)
		lastDone uint64
		lastProg = start
		loadEnd  time.Duration
		stopped  bool
	)
	progress := func(now time.Time) {
		c, h := g.tr.Window()
		dt := now.Sub(lastProg).Seconds()
		s := Sample{T: now.Sub(start).Seconds(), Offered: c.Offered, Completed: c.Completed, Aborted: c.Aborted,
			Lost: c.Lost, NotSent: c.NotSent, InFlight: c.InFlight, P50us: us(h.Quantile(0.5)), P99us: us(h.Quantile(0.99))}
		if dt > 0 {
			s.Rate = float64(c.Completed-lastDone) / dt
		}
		lastDone, lastProg = c.Completed, now
		samples = append(samples, s)
		fmt.Fprintf(cfg.Out, "t=%.3fs offered=%d completed=%d aborted=%d lost=%d notsent=%d inflight=%d rate=%.0f/s p50=%s p99=%s\n",
			s.T, s.Offered, s.Completed, s.Aborted, s.Lost, s.NotSent, s.InFlight, s.Rate, ms(h.Quantile(0.5)), ms(h.Quantile(0.99)))
	}
	for {
		var now time.Time
		select {
		case <-ctx.Done():
			now = g.clock()
			if !stopped {
				stopped, loadEnd = true, now.Sub(start)
			}
			// interrupted: whatever is open now is lost when its time
			// comes; do not wait for it
			g.recordLost(g.tr.Expire(now.Add(cfg.Timeout), nil))
			progress(now)
			return g.summary(samples, loadEnd)
		case now = <-tick.C:
		}
		el := now.Sub(start)
		if !stopped {
			if el >= cfg.Duration {
				stopped, loadEnd = true, cfg.Duration
				el = cfg.Duration
			}
			due := uint64(cfg.Rate * el.Seconds())
			for ; opened < due; opened++ {
				g.open(opened)
			}
		}
		lost = g.expire(now, lost)
		if !now.Before(nextProg) {
			progress(now)
			for !now.Before(nextProg) {
				nextProg = nextProg.Add(cfg.Progress)
			}
		}
		if stopped && g.tr.Counts().InFlight == 0 {
			progress(now)
			return g.summary(samples, loadEnd)
		}
	}
}

func (g *Generator) summary(samples []Sample, load time.Duration) *Summary {
	c := g.tr.Counts()
	h := g.tr.Latency()
	return &Summary{Offered: c.Offered, Completed: c.Completed, Aborted: c.Aborted, Lost: c.Lost, NotSent: c.NotSent,
		InFlight: c.InFlight, AbortCauses: c.AbortCauses, Resent: c.Resent, Unmatched: c.Unmatched, Malformed: c.Malformed,
		Mismatch: c.Mismatch, SendErrors: g.sendErr.Load(), NotSCCP: g.other.Load(), Continues: c.Continues,
		Latency: latencyOf(&h), Rate: g.cfg.Rate, Steps: g.cfg.Script.Steps, Gateways: len(g.cfg.Gateways),
		LoadSeconds: load.Seconds(), Seconds: samples, LostDialogues: g.lostList(), AssocEvents: g.assocEvents(),
		Dialogues: g.dialogueInfos()}
}

func (g *Generator) assocEvents() []AssocEvent {
	g.lostMu.Lock()
	defer g.lostMu.Unlock()
	out := []AssocEvent{}
	for _, e := range g.events {
		out = append(out, AssocEvent{Assoc: e.assoc, Event: e.what, T: e.at.Sub(g.start).Seconds()})
	}
	return out
}

func (g *Generator) dialogueInfos() []DialogueInfo {
	if !g.cfg.PerDialogue {
		return nil
	}
	g.lostMu.Lock()
	start := g.start
	g.lostMu.Unlock()
	rs := g.tr.Records()
	out := make([]DialogueInfo, 0, len(rs))
	for _, r := range rs {
		out = append(out, DialogueInfo{OTID: fmt.Sprintf("%08x", r.OTID), BeginS: r.Start.Sub(start).Seconds(),
			EndS: r.End.Sub(start).Seconds(), Outcome: r.Outcome, Sends: g.sendInfos(r.Sends)})
	}
	return out
}

func (g *Generator) lostList() []LostDialogue {
	g.lostMu.Lock()
	defer g.lostMu.Unlock()
	return append([]LostDialogue{}, g.lost...)
}

// WriteText prints the summary for people.
func (s *Summary) WriteText(w io.Writer) {
	fmt.Fprintf(w, "sigload summary: %.1f s at %.0f dialogues/s, %d steps, %d gateways (%d active at start)\n",
		s.LoadSeconds, s.Rate, s.Steps, s.Gateways, s.Active)
	pct := func(n uint64) float64 {
		if s.Offered == 0 {
			return 0
		}
		return 100 * float64(n) / float64(s.Offered)
	}
	fmt.Fprintf(w, "  offered   %10d\n", s.Offered)
	fmt.Fprintf(w, "  completed %10d  %8.4f %%\n", s.Completed, pct(s.Completed))
	fmt.Fprintf(w, "  aborted   %10d  %8.4f %%\n", s.Aborted, pct(s.Aborted))
	causes := make([]string, 0, len(s.AbortCauses))
	for k := range s.AbortCauses {
		causes = append(causes, k)
	}
	sort.Strings(causes)
	for _, k := range causes {
		fmt.Fprintf(w, "    %-40s %d\n", k, s.AbortCauses[k])
	}
	fmt.Fprintf(w, "  lost      %10d  %8.4f %%\n", s.Lost, pct(s.Lost))
	for i, l := range s.LostDialogues {
		if i == 20 {
			fmt.Fprintf(w, "    ... %d more in the JSON summary (lost_dialogues)\n", len(s.LostDialogues)-i)
			break
		}
		fmt.Fprintf(w, "    otid %s  Begin at %.3fs  sls %d  rounds %d  resends %d\n", l.OTID, l.BeginS, l.SLS, l.Rounds, l.Resends)
	}
	fmt.Fprintf(w, "  not sent  %10d  %8.4f %%\n", s.NotSent, pct(s.NotSent))
	if s.InFlight != 0 {
		fmt.Fprintf(w, "  in flight %10d (interrupted)\n", s.InFlight)
	}
	l := s.Latency
	d := func(v uint64) string { return ms(time.Duration(v) * time.Microsecond) }
	fmt.Fprintf(w, "  latency   p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s, %d dialogues)\n",
		d(l.P50), d(l.P90), d(l.P99), d(l.P999), d(l.Max), d(l.Mean), l.Count)
	var extra []string
	for _, kv := range []struct {
		k string
		v uint64
	}{{"resent", s.Resent}, {"unmatched answers", s.Unmatched}, {"malformed", s.Malformed},
		{"step mismatches", s.Mismatch}, {"send errors", s.SendErrors}, {"not SCCP", s.NotSCCP}} {
		if kv.v != 0 {
			extra = append(extra, fmt.Sprintf("%s %d", kv.k, kv.v))
		}
	}
	if len(extra) != 0 {
		fmt.Fprintf(w, "  also      %s\n", strings.Join(extra, ", "))
	}
}

// Run connects to the gateways, offers the load and returns the summary.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if err := cfg.Script.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Gateways) == 0 {
		return nil, errors.New("no gateway")
	}
	if cfg.Rate <= 0 || cfg.Duration <= 0 || cfg.Timeout <= 0 {
		return nil, errors.New("rate, duration and timeout must be positive")
	}
	var g *Generator
	var rcs []uint32
	if cfg.Script.RC != 0 {
		rcs = []uint32{cfg.Script.RC}
	}
	lazy := &lazySender{}
	g = newGenerator(cfg, lazy)
	client, err := m3ua.StartClient(m3ua.ClientConfig{
		ASP:       m3ua.ASPConfig{ASPID: cfg.ASPID, HasASPID: cfg.HasASPID, RCs: rcs, AutoActivate: true},
		Transport: cfg.Transport, Local: cfg.Local, SGPs: cfg.Gateways,
		Handlers: m3ua.Handlers{Data: g.onData, Event: g.onEvent},
	})
	if err != nil {
		return nil, err
	}
	lazy.set(client)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if client.Shutdown(sctx) != nil {
			client.Close()
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	err = client.WaitActive(wctx, len(cfg.Gateways))
	cancel()
	active := 0
	for _, s := range client.States() {
		if s == m3ua.ASPActive {
			active++
		}
	}
	if err != nil {
		if active == 0 {
			return nil, fmt.Errorf("no gateway ASP-ACTIVE within %v (states %v)", cfg.StartTimeout, client.States())
		}
		fmt.Fprintf(cfg.Log, "sigload: %d of %d gateways ASP-ACTIVE after %v (states %v); starting anyway\n",
			active, len(cfg.Gateways), cfg.StartTimeout, client.States())
	}
	s := g.drive(ctx)
	s.Active = active
	return s, nil
}

// lazySender lets the handlers exist before the client they send through.
type lazySender struct {
	mu sync.RWMutex
	c  *m3ua.Client
}

func (l *lazySender) set(c *m3ua.Client) {
	l.mu.Lock()
	l.c = c
	l.mu.Unlock()
}

// Pick is the association an m3ua.Client's SendData picks for u when
// every ASP-ACTIVE gateway has the DPC available: the ASP-ACTIVE ones in
// --gateway order, by SLS (avoid left out while another is ASP-ACTIVE).
func (l *lazySender) Pick(u m3ua.UserData, avoid m3ua.AssocID) (m3ua.AssocID, bool) {
	l.mu.RLock()
	c := l.c
	l.mu.RUnlock()
	if c == nil {
		return 0, false
	}
	return pick(c.States(), u.SLS, avoid)
}

func pick(states []m3ua.ASPState, sls uint8, avoid m3ua.AssocID) (m3ua.AssocID, bool) {
	var act []int
	for i, st := range states {
		if st == m3ua.ASPActive && m3ua.AssocID(i+1) != avoid {
			act = append(act, i)
		}
	}
	if len(act) == 0 {
		if avoid > 0 && int(avoid) <= len(states) && states[avoid-1] == m3ua.ASPActive {
			return avoid, true
		}
		return 0, false
	}
	return m3ua.AssocID(act[int(sls)%len(act)] + 1), true
}

// SendVia sends u on association a.
func (l *lazySender) SendVia(a m3ua.AssocID, u m3ua.UserData) error {
	l.mu.RLock()
	c := l.c
	l.mu.RUnlock()
	if c == nil {
		return m3ua.ErrNoActiveSGP
	}
	return c.SendDataTo(a, u)
}

func (l *lazySender) SendData(u m3ua.UserData) error {
	l.mu.RLock()
	c := l.c
	l.mu.RUnlock()
	if c == nil {
		return m3ua.ErrNoActiveSGP
	}
	return c.SendData(u)
}
