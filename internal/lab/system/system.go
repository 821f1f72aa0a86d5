//go:build linux

package system

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sigpool/sigpool/internal/lab/netlab"
)

// Options shape one run of the scenario. Zero values take the defaults of
// the demo (about a minute of load).
type Options struct {
	// BinDir holds sgw, aspd and sigload; empty looks them up on PATH
	// (siglab puts the run's static builds first there).
	BinDir string
	// Dir receives the configuration files, the daemons' logs and
	// sigload's summary; empty makes a temporary folder that is removed
	// after a successful run.
	Dir string
	// Rate is sigload's dialogue rate (default 20/s: what the emulated VM
	// carried without a fault on the shared 2-core build machine, p99 1.2 s;
	// see the package doc).
	Rate int
	// Warmup is the load before the first fault (default 8 s); Gap the
	// time between two faults (default 14 s); Heal the time from a fault to
	// its repair (restart, link up; default 5 s); Tail the load after the
	// last fault (default 14 s).
	Warmup, Gap, Heal, Tail time.Duration
	// ClearWait bounds the wait, after the load, for every alarm to clear
	// (default 20 s: the longest clear hold of the inventory is 10 s).
	ClearWait time.Duration
	// Ready bounds the start of the daemons (default 90 s; the emulated VM
	// is slow).
	Ready time.Duration
	// NoFaults runs the load alone for Warmup+2·Gap+Tail: the baseline of
	// what the system sustains.
	NoFaults bool
	// HoldUp is the rule a fault's recovery time (the target) is
	// computed by: how long it held traffic up. Dialogue is the stricter
	// rule printed beside it: until every dialogue completes within the
	// pre-fault tail latency again. Recovery is the completion-rate rule,
	// used for the pre-fault rate.
	HoldUp   HoldUpRule
	Dialogue DialogueRule
	Recovery RecoveryRule
	// Out receives the live lines and the summary; nil is silent.
	Out io.Writer
}

func (o *Options) defaults() {
	if o.Rate <= 0 {
		o.Rate = 20
	}
	if o.Warmup <= 0 {
		o.Warmup = 8 * time.Second
	}
	if o.Gap <= 0 {
		o.Gap = 14 * time.Second
	}
	if o.Heal <= 0 {
		o.Heal = 5 * time.Second
	}
	if o.Tail <= 0 {
		o.Tail = 14 * time.Second
	}
	if o.ClearWait <= 0 {
		o.ClearWait = 20 * time.Second
	}
	if o.Ready <= 0 {
		o.Ready = 90 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	o.Recovery = o.Recovery.withDefaults()
	o.Dialogue = o.Dialogue.withDefaults()
	o.HoldUp = o.HoldUp.withDefaults()
}

// LoadDuration is how long sigload offers dialogues with these options.
func (o Options) LoadDuration() time.Duration {
	o.defaults()
	return o.Warmup + 2*o.Gap + o.Tail
}

// FaultResult is one injected fault and how the system came through it.
type FaultResult struct {
	Name string
	// At and HealedAt are from the start of the load.
	At, HealedAt time.Duration
	// Recovery is the time until traffic flowed again (Options.HoldUp);
	// HoldUp its detail.
	Recovery time.Duration
	HoldUp   HoldUp
	// NormalAgain is by Options.Dialogue (NotRecovered: never within
	// its horizon), NormalErr why it could not be computed.
	NormalAgain time.Duration
	NormalErr   error
	// KilledAssoc is sigload's association to the gateway this fault
	// kills (1 = gw1, 2 = gw2), 0 for other faults.
	KilledAssoc int
	// PreRate is the pre-fault completion rate (dialogues/s).
	PreRate float64
	// Err says why no recovery time could be computed, if so.
	Err error
}

// Result is what one run measured.
type Result struct {
	Rate     int
	Duration time.Duration
	// LoadStart is when sigload began offering dialogues, from the start
	// of its process (the times below count from there too).
	LoadStart time.Duration
	// Summary is sigload's own final account.
	Summary *Summary
	Faults  []FaultResult
	// Samples is sigload's progress, timed by the harness from the start of
	// the load.
	Samples []Sample
	Alarms  []AlarmEvent
	// StillActive lists the alarms active on the daemons at the end.
	StillActive []string
	// Definition is the recovery rule (HoldUpRule) in words,
	// NormalDefinition the stricter DialogueRule's.
	Definition, NormalDefinition string
	// Controls and NormalControls are the two rules applied where there
	// was no fault: their noise floor at this rate.
	Controls, NormalControls []Control
	// Bound is the normal latency the DialogueRule holds dialogues to.
	Bound time.Duration
	// Dialogues are sigload's dialogues on the harness's clock.
	Dialogues []Dialogue
	// LostInGateway are the lost dialogues attributed to a killed
	// gateway (AttributeLost); LostOther the others' ids;
	// AbortedInGateway the aborted ones whose message died there.
	LostInGateway    []LostInGateway
	LostOther        []string
	AbortedInGateway []LostInGateway
	// Dir holds the configurations and logs of the run.
	Dir string
	// CPU is the processor time of every process, sampled every cpuInterval
	// (also in cpu.csv), on a machine of CPUs processors.
	CPU  []CPUSample
	CPUs int
}

// CompletedRatio is completed / offered (1 with nothing offered).
func (r *Result) CompletedRatio() float64 {
	if r.Summary == nil || r.Summary.Offered == 0 {
		return 1
	}
	return float64(r.Summary.Completed) / float64(r.Summary.Offered)
}

// daemon is one process of the system with its management API.
type daemon struct {
	name string
	host *netlab.Host
	proc *netlab.Process
	mgmt string // host:port on the host's loopback
	log  *os.File
}

func (d *daemon) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return dialIn(d.host, ctx, network, addr)
}

// dialIn opens a connection from inside host h's network namespace: the
// socket is made on a thread that joined it, and stays there.
func dialIn(h *netlab.Host, ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := h.Do(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

func (d *daemon) client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: d.dial, DisableKeepAlives: true}}
}

// get fetches path from the daemon's API into v (nil: status only).
func (d *daemon) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.mgmt+path, nil)
	if err != nil {
		return err
	}
	resp, err := d.client(3 * time.Second).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s %s", d.name, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if v == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// waitReady polls /readyz until it answers 200, the process exits, or the
// deadline passes.
func (d *daemon) waitReady(ctx context.Context, deadline time.Time) error {
	var last error
	for time.Now().Before(deadline) {
		if !d.proc.Running() {
			return fmt.Errorf("%s exited while starting: %v", d.name, d.proc.Wait())
		}
		if last = d.get(ctx, "/readyz", nil); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready: %v", d.name, last)
}

// tail returns the last n bytes of the daemon's log.
func (d *daemon) tail(n int64) string { return tailFile(d.log.Name(), n) }

func tailFile(name string, n int64) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return err.Error()
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}

// system is one run in progress.
type system struct {
	o        Options
	dir      string
	logDir   string // the daemons' logs during the run (local; copied into dir)
	topo     *netlab.Topology
	gateways []*daemon
	servers  []*daemon
	load     *netlab.Process
	start    time.Time

	mu      sync.Mutex
	cpu     []CPUSample // guarded by mu
	samples []Sample
	own     []time.Duration // sigload's own clock of each sample
	hasOwn  bool
	alarms  *AlarmLog
}

func (s *system) out(format string, args ...any) {
	fmt.Fprintf(s.o.Out, format+"\n", args...)
}

func (s *system) since() time.Duration { return time.Since(s.start) }

func lookBin(dir, name string) (string, error) {
	if dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s is not in %s (build it: CGO_ENABLED=0 go build -o %s/ ./cmd/%s)", name, dir, dir, name)
		}
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s is not on PATH: run under siglab (it builds ./cmd/... onto the guest's PATH) or set Options.BinDir", name)
	}
	return p, nil
}

func (s *system) newDaemon(name string, host *netlab.Host, mgmt string, bin string, args ...string) (*daemon, error) {
	f, err := os.Create(filepath.Join(s.logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	p := host.Command(bin, args...)
	p.Stdout, p.Stderr = f, f
	p.Dir = s.dir
	return &daemon{name: name, host: host, proc: p, mgmt: mgmt, log: f}, nil
}

// copyFile copies the file from to the file to (created or truncated).
func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

func (s *system) writeFile(name string, b []byte) (string, error) {
	p := filepath.Join(s.dir, name)
	return p, os.WriteFile(p, b, 0o644)
}

// Run builds the topology, starts the system, runs the load with the three
// faults and returns what it measured. The error is for a run that could
// not be carried out (a daemon missing or never ready); a run whose
// results miss the targets returns them without error.
func Run(ctx context.Context, o Options) (res *Result, err error) {
	o.defaults()
	s := &system{o: o, alarms: NewAlarmLog(o.Out)}
	bins := map[string]string{}
	for _, name := range []string{"sgw", "aspd", "sigload"} {
		if bins[name], err = lookBin(o.BinDir, name); err != nil {
			return nil, err
		}
	}
	s.dir = o.Dir
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "sigpool-system-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	// The daemons write their logs straight into files (their stdout and
	// stderr), each line a write(2) in the goroutine that logs. Files in
	// Dir, when Dir is the repository shared with the lab VM over 9p,
	// make each such write a round trip to the emulator's file server:
	// a burst of log lines (an alarm raised on every association at
	// once) then stalls the daemons for hundreds of milliseconds, and the
	// run would measure the lab's shared folder. The logs live in a local
	// folder (tmpfs in the VM) and are copied into Dir at the end.
	if s.logDir, err = os.MkdirTemp("", "sigpool-logs-"); err != nil {
		return nil, err
	}
	if s.topo, err = netlab.New(numHosts, netlab.WithPrefix("sys")); err != nil {
		os.RemoveAll(s.logDir)
		return nil, err
	}
	defer func() {
		daemons := append(append([]*daemon(nil), s.gateways...), s.servers...)
		for _, d := range daemons {
			d.proc.Kill()
		}
		s.topo.Close()
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, s.logTails(3000))
		}
		for _, d := range daemons {
			d.log.Close()
			if cerr := copyFile(d.log.Name(), filepath.Join(s.dir, filepath.Base(d.log.Name()))); cerr != nil {
				s.out("%s's log not kept: %v", d.name, cerr)
			}
		}
		os.RemoveAll(s.logDir)
		if o.Dir == "" && err == nil && res != nil && res.Dir == "" {
			os.RemoveAll(s.dir)
		}
	}()
	s.out("topology: gw1 %s, gw2 %s, asp1..asp3 %s..%s, net1 %s (every host on networks A 10.1.0.0/24 and B 10.2.0.0/24); files and logs in %s",
		addrs(hostGW1), addrs(hostGW2), addrs(hostASP1), addrs(hostASP1+aspHosts-1), addrs(hostNet), s.dir)

	// Gateways first: the servers dial them and register with their
	// registrars.
	for n := 1; n <= len(gatewayHosts); n++ {
		b, err := GatewayYAML(n)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("gw%d", n)
		cfg, err := s.writeFile(name+".yaml", b)
		if err != nil {
			return nil, err
		}
		d, err := s.newDaemon(name, s.topo.Host(gatewayHosts[n-1]), mgmtAddr(0), bins["sgw"], "--config", cfg, "--mgmt", mgmtAddr(0), "--log-format", "console")
		if err != nil {
			return nil, err
		}
		s.gateways = append(s.gateways, d)
	}
	for h := 0; h < aspHosts; h++ {
		for k := 0; k < aspPerHost; k++ {
			b, err := AspdYAML(hostASP1+h, k)
			if err != nil {
				return nil, err
			}
			name := fmt.Sprintf("asp%d%c", h+1, 'a'+k)
			cfg, err := s.writeFile(name+".yaml", b)
			if err != nil {
				return nil, err
			}
			d, err := s.newDaemon(name, s.topo.Host(hostASP1+h), mgmtAddr(k), bins["aspd"], "--config", cfg)
			if err != nil {
				return nil, err
			}
			s.servers = append(s.servers, d)
		}
	}
	startAt := time.Now()
	if err := s.startAll(ctx, s.gateways); err != nil {
		return nil, err
	}
	if err := s.startAll(ctx, s.servers); err != nil {
		return nil, err
	}
	s.waitActive(ctx)
	s.out("system ready in %s: 2 gateways, %d application server processes", time.Since(startAt).Round(100*time.Millisecond), len(s.servers))

	res, err = s.runLoad(ctx, bins["sigload"])
	if err != nil {
		return nil, err
	}
	if o.Dir == "" && res.ok() {
		res.Dir = "" // removed, logs and all, once the daemons are stopped
	}
	return res, nil
}

// ok is the scenario's target, for keeping the files of a failed run.
func (r *Result) ok() bool { return Met(r.Targets()) }

func (s *system) startAll(ctx context.Context, ds []*daemon) error {
	for _, d := range ds {
		if err := d.proc.Start(); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(s.o.Ready)
	for _, d := range ds {
		if err := d.waitReady(ctx, deadline); err != nil {
			return err
		}
	}
	return nil
}

// waitActive waits (bounded) until each gateway lists every server as an
// active ASP; it only reports when that does not happen, since readiness
// already said the servers are up.
func (s *system) waitActive(ctx context.Context) {
	deadline := time.Now().Add(30 * time.Second)
	for _, g := range s.gateways {
		var last string
		for {
			var asps []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			}
			err := g.get(ctx, "/api/v1/asps", &asps)
			active := 0
			for _, a := range asps {
				st := strings.ToUpper(a.State)
				if st == "ACTIVE" || st == "ASP-ACTIVE" || st == "ASP_ACTIVE" {
					active++
				}
			}
			last = fmt.Sprintf("%d of %d ASPs active (%v)", active, len(asps), err)
			if err == nil && active >= len(s.servers) {
				break
			}
			if err != nil && strings.Contains(err.Error(), "404") {
				s.out("note: %s does not list its ASPs (%v); readiness only", g.name, err)
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				s.out("warning: %s: %s after 30 s", g.name, last)
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// action is a step of the fault schedule.
type action struct {
	at    time.Duration
	what  string
	fault int // index into the faults; -1 for a repair
	do    func() error
}

// schedule returns the actions, the faults' names and, per fault,
// sigload's association to the gateway it kills (0: none).
func (s *system) schedule() ([]action, []string, []int) {
	o := s.o
	victim := s.servers[0]
	gw1, gw2 := s.gateways[0], s.gateways[1]
	names := []string{
		fmt.Sprintf("SIGKILL %s (aspd on %s)", victim.name, victim.host.A),
		fmt.Sprintf("gw1 loses network A (%s)", gw1.host.A),
		fmt.Sprintf("SIGKILL gw2 (sgw on %s)", gw2.host.A),
	}
	t1 := o.Warmup
	t2 := t1 + o.Gap
	t3 := t2 + o.Gap
	return []action{
		{t1, names[0], 0, victim.proc.Kill},
		{t1 + o.Heal, "restart " + victim.name, -1, victim.proc.Start},
		{t2, names[1], 1, func() error { return s.topo.LinkDown(hostGW1, netlab.NetA) }},
		{t2 + o.Heal, "gw1 network A back", -1, func() error { return s.topo.LinkUp(hostGW1, netlab.NetA) }},
		{t3, names[2], 2, gw2.proc.Kill},
		{t3 + o.Heal, "restart gw2", -1, gw2.proc.Start},
	}, names, []int{0, 0, 2} // sigload's --gateway order: gw1, gw2
}

func (s *system) addSample(line string, at time.Time) {
	smp, own, hasOwn, ok := ParseProgress(line)
	if !ok {
		return
	}
	smp.At = at.Sub(s.start)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Once sigload stamps its lines, an unstamped line with counters is
	// not progress (its final summary), and neither is one whose clock
	// went back.
	if s.hasOwn && (!hasOwn || own < s.own[len(s.own)-1]) {
		return
	}
	if !hasOwn && len(s.samples) > 0 && smp.Completed < s.samples[len(s.samples)-1].Completed {
		return
	}
	s.samples = append(s.samples, smp)
	s.own = append(s.own, own)
	s.hasOwn = s.hasOwn || hasOwn
}

// timedSamples returns the samples on the harness's clock. A line read
// from sigload's output arrives some time after sigload wrote it (pipe,
// scheduler; seconds under an emulated and loaded CPU), so when sigload
// stamps its lines with its own elapsed time the samples are placed by
// that clock, shifted by the smallest observed arrival delay: the offset
// between sigload's start and the harness's (plus the fastest delivery,
// at most).
func (s *system) timedSamples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]Sample(nil), s.samples...)
	return retime(out, s.own, s.hasOwn)
}

// sigloadOffset is what moves a time on sigload's clock (from the start
// of its load) onto the harness's, as timedSamples does.
func (s *system) sigloadOffset() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return 0
	}
	off := s.samples[0].At - s.own[0]
	for i := range s.samples {
		off = min(off, s.samples[i].At-s.own[i])
	}
	return off
}

func retime(samples []Sample, own []time.Duration, hasOwn bool) []Sample {
	if !hasOwn || len(samples) == 0 {
		return samples
	}
	offset := samples[0].At - own[0]
	for i := range samples {
		offset = min(offset, samples[i].At-own[i])
	}
	for i := range samples {
		samples[i].At = own[i] + offset
	}
	return samples
}

func (s *system) lastSample() (Sample, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return Sample{}, false
	}
	return s.samples[len(s.samples)-1], true
}

func (s *system) runLoad(ctx context.Context, bin string) (*Result, error) {
	o := s.o
	dur := o.LoadDuration()
	summaryPath := filepath.Join(s.dir, "sigload.json")
	// Local like the daemons' logs (s.logDir), copied into the run's
	// folder when sigload is done.
	logf, err := os.Create(filepath.Join(s.logDir, "sigload.log"))
	if err != nil {
		return nil, err
	}
	defer func() {
		logf.Close()
		if err := copyFile(logf.Name(), filepath.Join(s.dir, "sigload.log")); err != nil {
			s.out("sigload's log not kept: %v", err)
		}
	}()
	lw := &lineWriter{fn: func(line string, at time.Time) {
		fmt.Fprintln(logf, line)
		s.addSample(line, at)
	}}
	s.load = s.topo.Host(hostNet).Command(bin, sigloadArgs(o.Rate, dur, summaryPath)...)
	s.load.Stdout, s.load.Stderr = lw, lw
	s.load.Dir = s.dir

	actions, names, killed := s.schedule()
	if o.NoFaults {
		actions, names, killed = nil, nil, nil
	}
	s.out("load: sigload on net1 %s, %d dialogues/s for %s through both gateways", addrs(hostNet), o.Rate, dur)
	s.out("schedule: %s", describe(actions))
	s.start = time.Now()
	if err := s.load.Start(); err != nil {
		return nil, err
	}
	// Alarms: every daemon's notification stream, from inside its host.
	wctx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, g := range s.daemons() {
		w := &AlarmWatcher{Source: g.name, Base: "http://" + g.mgmt, Dial: g.dial, Start: s.start, Emit: s.alarms.Add}
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(wctx) }()
	}
	// Processor time of every process, for the report.
	wg.Add(1)
	go func() {
		defer wg.Done()
		sampleCPU(wctx, s.start, cpuInterval, s.pids, func(x CPUSample) {
			s.mu.Lock()
			s.cpu = append(s.cpu, x)
			s.mu.Unlock()
		})
	}()
	defer func() { stopWatch(); wg.Wait() }()

	faultAt := make([]time.Duration, len(names))
	healAt := make([]time.Duration, len(names))
	loadDone := make(chan error, 1)
	go func() { loadDone <- s.load.Wait() }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	next := 0
	var prev Sample
	var loadErr error
	// The schedule counts from the start of the load, which sigload begins
	// once it is ASP-ACTIVE at the gateways: its first progress line
	// (stamped with its own clock) tells when that was.
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var base time.Duration
	armed := false
	arm := func() {
		if armed {
			return
		}
		s.mu.Lock()
		n := len(s.samples)
		if n > 0 {
			base = max(0, s.samples[0].At-s.own[0])
		}
		s.mu.Unlock()
		if n == 0 {
			return
		}
		armed = true
		if len(actions) > 0 {
			timer.Reset(max(0, base+actions[0].at-s.since()))
		}
		s.out("%8.3fs  load started at %.3fs (sigload's first progress line); faults from then on", s.since().Seconds(), base.Seconds())
	}
loop:
	for {
		select {
		case <-ctx.Done():
			s.load.Kill()
			return nil, ctx.Err()
		case loadErr = <-loadDone:
			break loop
		case <-tick.C:
			arm()
			cur, ok := s.lastSample()
			if !ok {
				s.out("%8.3fs  load: no progress from sigload yet", s.since().Seconds())
				continue
			}
			s.out("%8.3fs  offered %7d  completed %7d  aborted %4d  lost %4d  not sent %4d  in flight %4d  | last s: %5d completed",
				s.since().Seconds(), cur.Offered, cur.Completed, cur.Aborted, cur.Lost, cur.NotSent, cur.InFlight, cur.Completed-prev.Completed)
			prev = cur
		case <-timer.C:
			a := actions[next]
			at := s.since()
			err := a.do()
			status := ""
			if err != nil {
				status = " FAILED: " + err.Error()
			}
			if a.fault >= 0 {
				faultAt[a.fault] = at
				s.out("%8.3fs  FAULT  %s%s", at.Seconds(), a.what, status)
			} else {
				healAt[(next-1)/2] = at
				s.out("%8.3fs  REPAIR %s%s", at.Seconds(), a.what, status)
			}
			if err != nil {
				s.load.Kill()
				return nil, fmt.Errorf("%s: %w", a.what, err)
			}
			next++
			if next < len(actions) {
				timer.Reset(max(0, base+actions[next].at-s.since()))
			}
		}
	}
	loadEnd := s.since()
	if next < len(actions) {
		return nil, fmt.Errorf("sigload ended after %s, before the schedule did (%v); the end of its output (%s):\n%s",
			loadEnd.Round(time.Millisecond), loadErr, logf.Name(), tailFile(logf.Name(), 3000))
	}
	b, err := os.ReadFile(summaryPath)
	if err != nil {
		return nil, fmt.Errorf("sigload (exit %v) wrote no summary: %w", loadErr, err)
	}
	sum, err := ParseSummary(b)
	if err != nil {
		return nil, err
	}
	still := s.waitCleared(ctx)
	s.saveMetrics(ctx)

	samples := s.timedSamples()
	if f, err := os.Create(filepath.Join(s.dir, "samples.csv")); err == nil {
		fmt.Fprintln(f, "at_s,offered,completed,aborted,lost,not_sent,in_flight")
		for _, x := range samples {
			fmt.Fprintf(f, "%.3f,%d,%d,%d,%d,%d,%d\n", x.At.Seconds(), x.Offered, x.Completed, x.Aborted, x.Lost, x.NotSent, x.InFlight)
		}
		f.Close()
	}
	s.mu.Lock()
	cpu := append([]CPUSample(nil), s.cpu...)
	s.mu.Unlock()
	if f, err := os.Create(filepath.Join(s.dir, "cpu.csv")); err == nil {
		writeCPU(f, cpu)
		f.Close()
	}
	res := &Result{
		Rate: o.Rate, Duration: dur, LoadStart: base, Summary: sum, Samples: samples,
		Alarms: s.alarms.Events(), StillActive: still, Dir: s.dir, CPU: cpu, CPUs: runtime.NumCPU(),
	}
	// sigload's clock onto the harness's: the offset its samples were
	// placed by.
	off := s.sigloadOffset()
	ds := shiftDialogues(sum.Dialogues, off)
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Begin < ds[j].Begin })
	res.Dialogues = ds
	for i, n := range names {
		f := FaultResult{Name: n, At: faultAt[i], HealedAt: healAt[i], KilledAssoc: killed[i]}
		_, f.PreRate, _ = o.Recovery.Recovery(samples, faultAt[i])
		res.Faults = append(res.Faults, f)
	}
	res.LostInGateway, res.LostOther = AttributeLost(shiftDialogues(sum.LostList, off), shiftEvents(sum.AssocEvents, off), res.Faults)
	var aborted []Dialogue
	for _, d := range ds {
		if d.Outcome == "aborted" {
			aborted = append(aborted, d)
		}
	}
	res.AbortedInGateway, _ = AttributeLost(aborted, shiftEvents(sum.AssocEvents, off), res.Faults)
	excused := map[string]bool{}
	for _, l := range append(res.LostInGateway, res.AbortedInGateway...) {
		excused[l.OTID] = true
	}
	for i := range res.Faults {
		f := &res.Faults[i]
		f.HoldUp, f.Err = o.HoldUp.HoldUp(ds, f.At, excused)
		f.Recovery = f.HoldUp.Time
	}
	res.Bound = o.Dialogue.Bound(ds, res.Faults)
	for i := range res.Faults {
		res.Faults[i].NormalAgain, res.Faults[i].NormalErr = o.Dialogue.Recovery(ds, res.Faults[i].At, res.Bound)
	}
	res.Definition = o.HoldUp.Definition()
	res.NormalDefinition = o.Dialogue.Definition(res.Bound)
	res.Controls = o.HoldUp.Controls(ds, res.Faults, 3)
	res.NormalControls = o.Dialogue.Controls(ds, res.Faults, res.Bound, 3)
	res.Report(o.Out)
	return res, nil
}

func describe(actions []action) string {
	var parts []string
	for _, a := range actions {
		parts = append(parts, fmt.Sprintf("%s at %s", a.what, a.at))
	}
	return strings.Join(parts, "; ")
}

// pids names the processes running now: the daemons, sigload and the
// harness itself.
func (s *system) pids() map[string]int {
	m := map[string]int{"harness": os.Getpid()}
	for _, d := range s.daemons() {
		if d.proc.Running() {
			m[d.name] = d.proc.Pid()
		}
	}
	if s.load.Running() {
		m["sigload"] = s.load.Pid()
	}
	return m
}

func (s *system) daemons() []*daemon {
	return append(append([]*daemon(nil), s.gateways...), s.servers...)
}

// waitCleared waits until no daemon lists an active alarm, up to
// ClearWait, and returns those still active then.
func (s *system) waitCleared(ctx context.Context) []string {
	deadline := time.Now().Add(s.o.ClearWait)
	for {
		var still []string
		for _, g := range s.daemons() {
			var m map[string]struct {
				Name   string `json:"alarmName"`
				Object string `json:"objectInstance"`
			}
			if err := g.get(ctx, "/api/fm/v1/alarms", &m); err != nil {
				still = append(still, fmt.Sprintf("%s: alarm list: %v", g.name, err))
				continue
			}
			for _, a := range m {
				still = append(still, fmt.Sprintf("%s: %s on %s", g.name, a.Name, a.Object))
			}
		}
		sort.Strings(still)
		if len(still) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return still
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// saveMetrics keeps every daemon's /metrics at the end of the run
// (metrics-<name>.txt beside its log): the gateways' discard counters by
// reason tell where a lost dialogue went. A restarted daemon's counters
// start at its restart.
func (s *system) saveMetrics(ctx context.Context) {
	for _, d := range s.daemons() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.mgmt+"/metrics", nil)
		if err != nil {
			continue
		}
		resp, err := d.client(3 * time.Second).Do(req)
		if err != nil {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK {
			_ = os.WriteFile(filepath.Join(s.dir, "metrics-"+d.name+".txt"), b, 0o644)
		}
	}
}

func (s *system) logTails(n int64) string {
	var b strings.Builder
	for _, d := range append(append([]*daemon(nil), s.gateways...), s.servers...) {
		fmt.Fprintf(&b, "--- %s (%s), last %d bytes:\n%s\n", d.name, d.log.Name(), n, d.tail(n))
	}
	return b.String()
}

// Report prints the summary table, the recovery times and the alarms.
func (r *Result) Report(w io.Writer) {
	fmt.Fprintf(w, "\n=== sigpool system: %d dialogues/s for %s, 2 gateways, 6 application server processes, %d faults\n", r.Rate, r.Duration, len(r.Faults))
	if s := r.Summary; s != nil {
		fmt.Fprintf(w, "  %-12s %10s\n", "dialogues", "count")
		fmt.Fprintf(w, "  %-12s %10d\n", "offered", s.Offered)
		fmt.Fprintf(w, "  %-12s %10d  (%.3f%%)\n", "completed", s.Completed, 100*r.CompletedRatio())
		fmt.Fprintf(w, "  %-12s %10d\n", "aborted", s.Aborted)
		for c, n := range s.AbortCauses {
			fmt.Fprintf(w, "    %-10s %10d\n", c, n)
		}
		for _, g := range r.AbortedInGateway {
			fmt.Fprintf(w, "    aborted: otid %s, its message died inside the killed gateway (%s); its server gave it up\n", g.OTID, g.Fault)
		}
		fmt.Fprintf(w, "  %-12s %10d  (no answer and no abort)\n", "lost", s.Lost)
		for i, id := range s.LostTIDs {
			if i == 10 {
				fmt.Fprintf(w, "    ... %d more in sigload.json (lost_dialogues)\n", len(s.LostTIDs)-i)
				break
			}
			where := "not attributed"
			for _, g := range r.LostInGateway {
				if g.OTID == id {
					where = "lost inside the killed gateway (" + g.Fault + ")"
				}
			}
			fmt.Fprintf(w, "    lost: otid %s, Begin at %.3fs of sigload's load: %s\n", id, s.LostAt[i], where)
		}
		fmt.Fprintf(w, "  %-12s %10d\n", "not sent", s.NotSent)
		fmt.Fprintf(w, "  latency: p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n", ms(s.P50), ms(s.P90), ms(s.P99), ms(s.P999), ms(s.Max))
	}
	fmt.Fprintf(w, "  recovery: %s\n", r.Definition)
	fmt.Fprintf(w, "  normal again: %s\n", r.NormalDefinition)
	if iv := SampleInterval(r.Samples); iv > 0 {
		fmt.Fprintf(w, "  sigload reported its counters every %s; both rules are computed from its %d dialogues one by one\n", iv.Round(time.Millisecond), len(r.Dialogues))
	}
	if len(r.Controls)+len(r.NormalControls) > 0 {
		fmt.Fprintf(w, "  the same rules where no fault was (their noise floor at this rate): recovery %s; normal again %s\n",
			controlList(r.Controls), controlList(r.NormalControls))
	}
	fmt.Fprintf(w, "  %-44s %9s %9s %10s %10s %10s %-28s %12s\n", "fault", "at", "healed", "pre-rate/s", "normal", "recovery", "(held longest)", "normal again")
	for _, f := range r.Faults {
		rec, worst := durOrNever(f.Recovery, f.Err), ""
		switch w := f.HoldUp.Worst; {
		case f.Err != nil:
		case f.Recovery == NotRecovered:
			worst = fmt.Sprintf("otid %s %+.3fs %s", w.OTID, (w.Begin - f.At).Seconds(), w.Outcome)
		case f.Recovery > 0:
			worst = fmt.Sprintf("otid %s %+.3fs %.0fms", w.OTID, (w.Begin - f.At).Seconds(), float64(w.Latency())/1e6)
		}
		fmt.Fprintf(w, "  %-44s %8.3fs %8.3fs %10.1f %10s %10s %-28s %12s\n", f.Name, f.At.Seconds(), f.HealedAt.Seconds(), f.PreRate,
			ms(f.HoldUp.Normal), rec, worst, durOrNever(f.NormalAgain, f.NormalErr))
	}
	if len(r.CPU) > 0 {
		fmt.Fprintf(w, "  processor time (cpu.csv), the 1 s before each fault and the 1 s after it, busiest processes first:\n")
		for _, f := range r.Faults {
			pre, ok1 := UseBetween(r.CPU, f.At-time.Second, f.At)
			post, ok2 := UseBetween(r.CPU, f.At, f.At+time.Second)
			if ok1 && ok2 {
				fmt.Fprintf(w, "    %s:\n      before: %s\n      after:  %s\n", f.Name, pre.String(r.CPUs, 4), post.String(r.CPUs, 4))
			}
		}
	}
	raised, cleared := 0, 0
	for _, e := range r.Alarms {
		switch e.Kind {
		case "raised":
			raised++
		case "cleared":
			cleared++
		}
	}
	fmt.Fprintf(w, "  alarms from the daemons' management APIs: %d raised, %d cleared, %d still active at the end\n", raised, cleared, len(r.StillActive))
	for i, f := range r.Faults {
		end := time.Duration(1 << 62)
		if i+1 < len(r.Faults) {
			end = r.Faults[i+1].At
		}
		fmt.Fprintf(w, "  %s:\n", f.Name)
		for _, l := range AlarmTimeline(r.Alarms, f.At, end) {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
	for _, a := range r.StillActive {
		fmt.Fprintf(w, "    still active: %s\n", a)
	}
	WriteTargets(w, r.Targets())
	if r.Dir != "" {
		fmt.Fprintf(w, "  configurations and logs: %s\n", r.Dir)
	}
}

// durOrNever prints a rule's time: in ms, "never" for NotRecovered, the
// error when there is one.
func durOrNever(d time.Duration, err error) string {
	switch {
	case err != nil:
		return "n/a: " + err.Error()
	case d == NotRecovered:
		return "never"
	}
	return fmt.Sprintf("%.0fms", float64(d)/1e6)
}

func controlList(cs []Control) string {
	if len(cs) == 0 {
		return "-"
	}
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("at %.0fs %s", c.At.Seconds(), durOrNever(c.Recovery, nil)))
	}
	return strings.Join(out, ", ")
}

func ms(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fms", float64(d)/1e6)
}
