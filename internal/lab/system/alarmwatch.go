package system

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sigpool/sigpool/alarms"
)

// AlarmEvent is one alarm change a daemon's management API reported.
type AlarmEvent struct {
	// At is when the harness received it, from the start of the load (it
	// can be negative: alarms raised while the system came up).
	At time.Duration
	// Source names the daemon (gw1, gw2...).
	Source string
	// Kind is "raised", "changed", "cleared", "active" for an alarm found
	// in the list when the stream (re)connected, or "gone" for an active
	// alarm that list no longer holds (the daemon restarted: the alarm
	// died with the process that held it).
	Kind     string
	ID       string
	Name     string
	Object   string
	Severity string
	Text     string
	// EventTime is the daemon's own time of the change.
	EventTime time.Time
}

func (e AlarmEvent) String() string {
	text := ""
	if e.Text != "" {
		text = " (" + e.Text + ")"
	}
	return fmt.Sprintf("%8.3fs  ALARM %-7s %-4s %-8s %s on %s%s", e.At.Seconds(), e.Kind, e.Source, e.Severity, e.Name, e.Object, text)
}

// AlarmWatcher follows the alarm notifications of one daemon's management
// API (GET /api/fm/v1/notifications, server-sent events) and lists the
// active alarms on every (re)connection, so nothing raised while the
// stream was down (the daemon restarting) goes unseen. It reconnects until
// its context ends.
type AlarmWatcher struct {
	Source string
	// Base is the API's URL, e.g. http://127.0.0.1:9100.
	Base string
	// Dial opens the connections (nil: net.Dialer); the harness dials from
	// inside the daemon's network namespace.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Start is the instant At counts from.
	Start time.Time
	// Emit is called for each event, in order, from the watcher's
	// goroutine.
	Emit func(AlarmEvent)
	// Retry is the pause between two connection attempts (default 200 ms).
	Retry time.Duration

	mu        sync.Mutex
	connected int
	lastErr   error
	seen      map[string]AlarmEvent // active alarms by name and object
}

// emit passes e on and keeps track of what is active.
func (w *AlarmWatcher) emit(e AlarmEvent) {
	k := e.Name + " " + e.Object
	w.mu.Lock()
	if w.seen == nil {
		w.seen = map[string]AlarmEvent{}
	}
	if e.Kind == "cleared" {
		delete(w.seen, k)
	} else {
		w.seen[k] = e
	}
	w.mu.Unlock()
	w.Emit(e)
}

func (w *AlarmWatcher) client() *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	if w.Dial != nil {
		tr.DialContext = w.Dial
	}
	return &http.Client{Transport: tr}
}

// Connections is how many times the stream was opened.
func (w *AlarmWatcher) Connections() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.connected
}

// Err is the last connection error, if any.
func (w *AlarmWatcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// Run follows the stream until ctx ends.
func (w *AlarmWatcher) Run(ctx context.Context) {
	retry := w.Retry
	if retry <= 0 {
		retry = 200 * time.Millisecond
	}
	c := w.client()
	for ctx.Err() == nil {
		err := w.once(ctx, c)
		w.mu.Lock()
		w.lastErr = err
		w.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}

func (w *AlarmWatcher) event(kind string, a *alarms.Alarm, when time.Time) AlarmEvent {
	return AlarmEvent{
		At:        time.Since(w.Start),
		Source:    w.Source,
		Kind:      kind,
		ID:        a.ID,
		Name:      a.Name,
		Object:    a.Object,
		Severity:  a.Severity.String(),
		Text:      a.AdditionalText,
		EventTime: when,
	}
}

// once opens the stream, lists the active alarms, and reads notifications
// until the stream ends.
func (w *AlarmWatcher) once(ctx context.Context, c *http.Client) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.Base+"/api/fm/v1/notifications", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: notifications: %s", w.Source, resp.Status)
	}
	w.mu.Lock()
	w.connected++
	w.mu.Unlock()
	// Subscribed first, listed second: a change in between shows twice at
	// worst, never not at all.
	active, err := w.list(ctx, c)
	if err != nil {
		return err
	}
	// Alarms this watcher saw active that the (possibly restarted) daemon
	// no longer lists went away with the process that held them.
	now := map[string]bool{}
	for _, a := range active {
		now[a.Name+" "+a.Object] = true
	}
	w.mu.Lock()
	var gone []AlarmEvent
	for k, e := range w.seen {
		if !now[k] {
			e.Kind, e.At, e.Text = "gone", time.Since(w.Start), "no longer listed: the daemon restarted without it"
			gone = append(gone, e)
			delete(w.seen, k)
		}
	}
	w.mu.Unlock()
	sort.Slice(gone, func(i, j int) bool { return gone[i].Name+gone[i].Object < gone[j].Name+gone[j].Object })
	for _, e := range gone {
		w.Emit(e)
	}
	for _, a := range active {
		w.emit(w.event("active", &a, a.RaisedTime))
	}
	return readSSE(resp.Body, func(event, data string) error {
		switch alarms.NotificationType(event) {
		case alarms.NotifyNewAlarm, alarms.NotifyChangedAlarm, alarms.NotifyClearedAlarm:
		case "error":
			return fmt.Errorf("%s: stream ended: %s", w.Source, data)
		default:
			return nil
		}
		var n alarms.Notification
		if err := json.Unmarshal([]byte(data), &n); err != nil {
			return fmt.Errorf("%s: notification %q: %w", w.Source, data, err)
		}
		if n.Alarm == nil {
			return nil
		}
		kind := map[alarms.NotificationType]string{
			alarms.NotifyNewAlarm:     "raised",
			alarms.NotifyChangedAlarm: "changed",
			alarms.NotifyClearedAlarm: "cleared",
		}[n.Type]
		w.emit(w.event(kind, n.Alarm, n.EventTime))
		return nil
	})
}

// list returns the active alarms, oldest first.
func (w *AlarmWatcher) list(ctx context.Context, c *http.Client) ([]alarms.Alarm, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.Base+"/api/fm/v1/alarms", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: alarm list: %s", w.Source, resp.Status)
	}
	var m map[string]alarms.Alarm
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: alarm list: %w", w.Source, err)
	}
	out := make([]alarms.Alarm, 0, len(m))
	for _, a := range m {
		if a.Active() {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RaisedTime.Before(out[j].RaisedTime) })
	return out, nil
}

// readSSE calls fn for each event of a text/event-stream (event name and
// data lines joined by newlines; comments skipped) until the stream ends
// or fn fails.
func readSSE(r io.Reader, fn func(event, data string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var event string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(data) > 0 || event != "" {
				if err := fn(event, strings.Join(data, "\n")); err != nil {
					return err
				}
			}
			event, data = "", nil
		case strings.HasPrefix(line, ":"):
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				event = value
			case "data":
				data = append(data, value)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.EOF
}

// AlarmLog collects the events of several watchers, in arrival order.
type AlarmLog struct {
	mu     sync.Mutex
	events []AlarmEvent
	out    io.Writer
}

// NewAlarmLog returns a log that also prints each event to out (nil: not).
func NewAlarmLog(out io.Writer) *AlarmLog { return &AlarmLog{out: out} }

// Add records e and prints it.
func (l *AlarmLog) Add(e AlarmEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	if l.out != nil {
		fmt.Fprintln(l.out, e)
	}
}

// Events returns a copy of what was recorded.
func (l *AlarmLog) Events() []AlarmEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]AlarmEvent(nil), l.events...)
}

// RaisedAndCleared returns, for the window [from, to), the alarms raised
// in it and whether each was cleared by the end of the log: keyed by
// "source name object".
func RaisedAndCleared(events []AlarmEvent, from, to time.Duration) map[string]bool {
	out := map[string]bool{}
	for _, e := range events {
		k := e.Source + " " + e.Name + " " + e.Object
		switch e.Kind {
		case "raised":
			if e.At >= from && e.At < to {
				out[k] = false
			}
		case "cleared", "gone":
			if _, ok := out[k]; ok && e.At >= from {
				out[k] = true
			}
		}
	}
	return out
}

// AlarmTimeline describes, for the alarms raised in [from, to), when each
// was raised and cleared, relative to from.
func AlarmTimeline(events []AlarmEvent, from, to time.Duration) []string {
	type span struct {
		e       AlarmEvent
		cleared time.Duration
		gone    bool
	}
	var order []string
	spans := map[string]*span{}
	for _, e := range events {
		k := e.Source + " " + e.Name + " " + e.Object
		switch e.Kind {
		case "raised":
			if e.At >= from && e.At < to {
				if _, ok := spans[k]; !ok {
					order = append(order, k)
				}
				spans[k] = &span{e: e, cleared: -1}
			}
		case "cleared", "gone":
			if sp, ok := spans[k]; ok && sp.cleared < 0 && e.At >= sp.e.At {
				sp.cleared = e.At
				sp.gone = e.Kind == "gone"
			}
		}
	}
	if len(order) == 0 {
		return []string{"no alarm raised"}
	}
	var out []string
	for _, k := range order {
		sp := spans[k]
		cl := "not cleared"
		switch {
		case sp.gone:
			cl = fmt.Sprintf("gone with its daemon's restart +%.3fs", (sp.cleared - from).Seconds())
		case sp.cleared >= 0:
			cl = fmt.Sprintf("cleared +%.3fs", (sp.cleared - from).Seconds())
		}
		out = append(out, fmt.Sprintf("%s %-8s %s on %s: raised +%.3fs, %s", sp.e.Source, sp.e.Severity, sp.e.Name, sp.e.Object, (sp.e.At-from).Seconds(), cl))
	}
	return out
}
