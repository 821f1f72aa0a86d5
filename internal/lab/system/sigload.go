package system

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// counterNames maps the spellings sigload may use for a counter (in a JSON
// progress object or a "name=value" / "name value" progress line) to the
// Sample field.
var counterNames = map[string]string{
	"offered": "offered", "sent": "offered", "begun": "offered",
	"completed": "completed", "complete": "completed", "done": "completed",
	"aborted": "aborted",
	"lost":    "lost", "timedout": "lost", "timeout": "lost",
	"notsent":  "notsent",
	"inflight": "inflight", "open": "inflight",
}

func normName(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer("-", "", "_", "", " ", "").Replace(s)
}

var tokenRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9_-]*)\s*[=:]?\s*([0-9]+(?:\.[0-9]+)?)(ms|s)?`)

// ParseProgress reads one progress line of sigload: a JSON object, or text
// with "name=value" or "name value" pairs. It returns the counters it found
// and, when the line carries its own clock ("t", "elapsed", "at" in seconds
// or a duration string), that time since sigload started. ok is false when
// the line holds no completed count (not a progress line).
func ParseProgress(line string) (s Sample, own time.Duration, hasOwn, ok bool) {
	set := func(name string, v float64) {
		switch counterNames[normName(name)] {
		case "offered":
			s.Offered = uint64(v)
		case "completed":
			s.Completed, ok = uint64(v), true
		case "aborted":
			s.Aborted = uint64(v)
		case "lost":
			s.Lost = uint64(v)
		case "notsent":
			s.NotSent = uint64(v)
		case "inflight":
			s.InFlight = uint64(v)
		}
	}
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "{") {
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader([]byte(line)))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			return s, 0, false, false
		}
		// In key order: two spellings of one counter in a line give the
		// same result every time.
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch x := m[k].(type) {
			case json.Number:
				f, err := x.Float64()
				if err != nil {
					continue
				}
				switch normName(k) {
				case "t", "elapsed", "at", "elapseds":
					own, hasOwn = time.Duration(f*float64(time.Second)), true
				case "elapsedms", "tms":
					own, hasOwn = time.Duration(f*float64(time.Millisecond)), true
				case "elapsedns", "tns":
					own, hasOwn = time.Duration(f), true
				default:
					set(k, f)
				}
			case string:
				switch normName(k) {
				case "t", "elapsed", "at":
					if d, err := time.ParseDuration(x); err == nil {
						own, hasOwn = d, true
					}
				}
			}
		}
		return s, own, hasOwn, ok
	}
	for _, m := range tokenRE.FindAllStringSubmatch(line, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		name := normName(m[1])
		if name == "t" || name == "elapsed" {
			unit := time.Second
			if m[3] == "ms" {
				unit = time.Millisecond
			}
			own, hasOwn = time.Duration(v*float64(unit)), true
			continue
		}
		switch {
		case m[3] == "":
			set(name, v)
		case name == "p99" && m[3] == "ms":
			s.P99 = time.Duration(v * float64(time.Millisecond)).Round(time.Microsecond)
		case name == "p99" && m[3] == "s":
			s.P99 = time.Duration(v * float64(time.Second)).Round(time.Microsecond)
		}
	}
	return s, own, hasOwn, ok
}

// lineWriter splits what a process writes into lines and hands each to fn
// with the time its end arrived.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(line string, at time.Time)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		w.fn(line, now)
	}
	if len(w.buf) > 1<<20 {
		w.buf = w.buf[:0] // a line this long is not a progress line
	}
	return len(p), nil
}

// Summary is sigload's final account (its --json file).
type Summary struct {
	Offered, Completed, Aborted, Lost, NotSent uint64
	// AbortCauses counts the aborts by cause, as sigload names them.
	AbortCauses              map[string]uint64
	P50, P90, P99, P999, Max time.Duration
	// LostTIDs are the transaction ids (hex) of the lost dialogues sigload
	// listed, with when their Begin was sent (LostAt, seconds since the
	// load started), to trace them in the daemons' logs.
	LostTIDs []string
	LostAt   []float64
	// LostList has the lost dialogues with their messages' associations;
	// AssocEvents sigload's association changes; Dialogues every finished
	// dialogue (sigload --per-dialogue). Times on sigload's clock.
	LostList    []Dialogue
	AssocEvents []AssocEvent
	Dialogues   []Dialogue
	Raw         map[string]any
}

// ParseSummary reads sigload's --json summary. Counters are matched by the
// names ParseProgress knows; latencies are fields named p50, p90, p99,
// p999 and max (optionally with a _ms, _us or _ns suffix; a bare number is
// milliseconds, a string a Go duration), at the top level or inside a
// "latency" object.
func ParseSummary(b []byte) (*Summary, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("sigload summary: %w", err)
	}
	s := &Summary{Raw: m, AbortCauses: map[string]uint64{}}
	seen := false
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := m[k]
			n := normName(k)
			switch x := v.(type) {
			case map[string]any:
				if strings.Contains(n, "abort") && strings.Contains(n, "cause") {
					for c, cv := range x {
						if num, ok := cv.(json.Number); ok {
							if f, err := num.Float64(); err == nil {
								s.AbortCauses[c] = uint64(f)
							}
						}
					}
					continue
				}
				walk(n, x)
			case json.Number:
				f, err := x.Float64()
				if err != nil {
					continue
				}
				if lat, ok := latencyField(prefix, n, f); ok {
					s.setLatency(lat.name, lat.d)
					continue
				}
				if prefix != "" && prefix != "counts" && prefix != "dialogues" && prefix != "totals" {
					continue
				}
				switch counterNames[n] {
				case "offered":
					s.Offered = uint64(f)
				case "completed":
					s.Completed, seen = uint64(f), true
				case "aborted":
					s.Aborted = uint64(f)
				case "lost":
					s.Lost = uint64(f)
				case "notsent":
					s.NotSent = uint64(f)
				}
			case string:
				if dur, err := time.ParseDuration(x); err == nil {
					if lat, ok := latencyName(n); ok {
						s.setLatency(lat, dur)
					}
				}
			}
		}
	}
	walk("", m)
	if l, ok := m["lost_dialogues"].([]any); ok {
		for _, e := range l {
			d, ok := e.(map[string]any)
			if !ok {
				continue
			}
			id, ok := d["otid"].(string)
			if !ok {
				continue
			}
			at := -1.0
			if n, ok := d["begin_s"].(json.Number); ok {
				if f, err := n.Float64(); err == nil {
					at = f
				}
			}
			s.LostTIDs = append(s.LostTIDs, id)
			s.LostAt = append(s.LostAt, at)
		}
	}
	if !seen {
		return nil, fmt.Errorf("sigload summary: no completed count in %s", b)
	}
	s.parseDetail(b)
	return s, nil
}

type latency struct {
	name string
	d    time.Duration
}

func latencyName(n string) (string, bool) {
	n = strings.TrimPrefix(strings.TrimPrefix(n, "latency"), "lat")
	for _, suffix := range []string{"ms", "us", "ns", "s"} {
		if base := strings.TrimSuffix(n, suffix); base != n && isPercentile(base) {
			return base, true
		}
	}
	return n, isPercentile(n)
}

func isPercentile(n string) bool {
	switch n {
	case "p50", "p90", "p99", "p999", "max":
		return true
	}
	return false
}

func latencyField(prefix, n string, f float64) (latency, bool) {
	name, ok := latencyName(n)
	if !ok {
		return latency{}, false
	}
	unit := time.Millisecond
	full := n
	switch {
	case strings.HasSuffix(full, "us"):
		unit = time.Microsecond
	case strings.HasSuffix(full, "ns"):
		unit = time.Nanosecond
	case strings.HasSuffix(full, "ms"):
		unit = time.Millisecond
	case strings.HasSuffix(full, "s") && !strings.HasSuffix(full, "ms"):
		unit = time.Second
	case strings.HasSuffix(prefix, "us"):
		unit = time.Microsecond
	case strings.HasSuffix(prefix, "ns"):
		unit = time.Nanosecond
	}
	return latency{name, time.Duration(f * float64(unit))}, true
}

func (s *Summary) setLatency(name string, d time.Duration) {
	switch name {
	case "p50":
		s.P50 = d
	case "p90":
		s.P90 = d
	case "p99":
		s.P99 = d
	case "p999":
		s.P999 = d
	case "max":
		s.Max = d
	}
}
