package system

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CPU use of the run's processes, sampled from /proc: where the machine's
// (in the lab, the emulated VM's) processor time went around each fault.
// A fault that slows every dialogue at once, through both gateways, is a
// processor shortage rather than a routing delay; the samples say which
// process was busy.

// clockTick is the unit of utime and stime in /proc/<pid>/stat
// (USER_HZ, 100 on every Linux architecture the lab runs); maxTicks the
// most a time.Duration holds (some 29 years of processor time).
const (
	clockTick = 10 * time.Millisecond
	maxTicks  = uint64(1<<63-1) / uint64(clockTick)
)

// cpuInterval is how often the run's processes are sampled: fine enough
// for the 1 s windows around the faults, rare enough that the sampling
// stays small: a dozen /proc reads cost some 12 ms of an emulated CPU (at
// 250 ms the sampler took a quarter of the harness's processor time).
const cpuInterval = 500 * time.Millisecond

// CPUSample is the cumulative processor time of each process (by name)
// and of the whole machine (Busy, all CPUs together) at At, from the
// start of the load.
type CPUSample struct {
	At   time.Duration
	Busy time.Duration
	Proc map[string]time.Duration
}

// procCPU parses /proc/<pid>/stat: utime plus stime. The command name
// (field 2) is in parentheses and may hold spaces, so fields are counted
// after its closing parenthesis.
func procCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in %q", stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	// after the name: state(3) ppid(4) ... utime(14) stime(15)
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command name", len(f))
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil || u > maxTicks || s > maxTicks-u {
		return 0, fmt.Errorf("utime %q, stime %q", f[11], f[12])
	}
	return time.Duration(u+s) * clockTick, nil
}

// machineBusy parses the "cpu" line of /proc/stat: every field but idle
// and iowait.
func machineBusy(stat []byte) (time.Duration, error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 6 || f[0] != "cpu" {
		return 0, fmt.Errorf("no cpu line in /proc/stat")
	}
	var busy uint64
	for i, x := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest and guest_nice are inside user already
			break
		}
		n, err := strconv.ParseUint(x, 10, 64)
		if err != nil || n > maxTicks-busy {
			return 0, fmt.Errorf("/proc/stat field %d: %q", i+1, x)
		}
		busy += n
	}
	return time.Duration(busy) * clockTick, nil
}

// sampleCPU appends a sample every interval until ctx ends; pids names
// the processes of the moment (a restarted one has a new pid; a process
// not running is left out of that sample).
func sampleCPU(ctx context.Context, start time.Time, interval time.Duration, pids func() map[string]int, add func(CPUSample)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		x := CPUSample{At: time.Since(start), Proc: map[string]time.Duration{}}
		if b, err := os.ReadFile("/proc/stat"); err == nil {
			x.Busy, _ = machineBusy(b)
		}
		for name, pid := range pids() {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
				if d, err := procCPU(b); err == nil {
					x.Proc[name] = d
				}
			}
		}
		add(x)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CPUUse is the processor time each process used in [from, to), from the
// samples nearest those instants (a process restarted in between counts
// from its new start), and the machine's busy time; Span is the time
// between those samples.
type CPUUse struct {
	Span time.Duration
	Busy time.Duration
	Proc map[string]time.Duration
}

// UseBetween computes the use over [from, to); ok is false without
// samples on both sides.
func UseBetween(s []CPUSample, from, to time.Duration) (u CPUUse, ok bool) {
	i := sort.Search(len(s), func(i int) bool { return s[i].At >= from })
	j := sort.Search(len(s), func(i int) bool { return s[i].At >= to })
	if i >= len(s) || j >= len(s) || j <= i {
		return CPUUse{}, false
	}
	a, b := s[i], s[j]
	u = CPUUse{Span: b.At - a.At, Busy: b.Busy - a.Busy, Proc: map[string]time.Duration{}}
	for name, end := range b.Proc {
		d := end - a.Proc[name]
		if d < 0 { // restarted: counted from its new start
			d = end
		}
		u.Proc[name] = d
	}
	return u, true
}

// String lists the busy share and the processes that used the most, e.g.
// "busy 1.62 of 2 CPUs: gw1 410ms, sigload 230ms, ...".
func (u CPUUse) String(cpus int, top int) string {
	type kv struct {
		k string
		v time.Duration
	}
	var l []kv
	for k, v := range u.Proc {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v || (l[i].v == l[j].v && l[i].k < l[j].k) })
	var parts []string
	for i := 0; i < len(l) && i < top; i++ {
		parts = append(parts, fmt.Sprintf("%s %dms", l[i].k, l[i].v.Milliseconds()))
	}
	busy := ""
	if u.Span > 0 {
		busy = fmt.Sprintf("busy %.2f of %d CPUs over %dms: ", float64(u.Busy)/float64(u.Span), cpus, u.Span.Milliseconds())
	}
	return busy + strings.Join(parts, ", ")
}

// writeCPU writes the samples as CSV: at_s, busy_ms, then one column per
// process (cumulative ms; empty while it was not running).
func writeCPU(w io.Writer, s []CPUSample) {
	names := map[string]bool{}
	for _, x := range s {
		for k := range x.Proc {
			names[k] = true
		}
	}
	var cols []string
	for k := range names {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	fmt.Fprintf(w, "at_s,busy_ms,%s\n", strings.Join(cols, ","))
	for _, x := range s {
		fmt.Fprintf(w, "%.3f,%d", x.At.Seconds(), x.Busy.Milliseconds())
		for _, k := range cols {
			if d, ok := x.Proc[k]; ok {
				fmt.Fprintf(w, ",%d", d.Milliseconds())
			} else {
				fmt.Fprint(w, ",")
			}
		}
		fmt.Fprintln(w)
	}
}
