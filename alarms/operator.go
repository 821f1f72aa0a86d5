package alarms

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Filter selects alarms. The zero Filter selects every active alarm that is
// not shelved.
type Filter struct {
	// Severities keeps the alarms with one of these severities.
	Severities []Severity
	// Object keeps the alarms of this managed object and those below it.
	Object string
	// Name keeps the alarms of one inventory entry.
	Name string
	// AckState keeps acknowledged or unacknowledged alarms.
	AckState AckState
	// Shelved includes the alarms hidden by a shelf.
	Shelved bool
	// Cleared lists the cleared alarms of the history instead of the
	// active ones.
	Cleared bool
}

func (f *Filter) match(a *Alarm) bool {
	if a.Shelved != "" && !f.Shelved {
		return false
	}
	if len(f.Severities) > 0 {
		ok := false
		for _, s := range f.Severities {
			ok = ok || s == a.Severity
		}
		if !ok {
			return false
		}
	}
	return (f.Object == "" || Under(a.Object, f.Object)) &&
		(f.Name == "" || f.Name == a.Name) &&
		(f.AckState == "" || f.AckState == a.AckState)
}

// Alarms returns copies of the alarms f selects: active ones oldest raise
// first, cleared ones in the order they cleared.
func (m *Manager) Alarms(f Filter) []Alarm {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Alarm
	if f.Cleared {
		for _, a := range m.history {
			if f.match(a) {
				out = append(out, a.clone())
			}
		}
		return out
	}
	for _, c := range m.conds {
		if c.alarm != nil && f.match(c.alarm) {
			out = append(out, c.alarm.clone())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].RaisedTime.Equal(out[j].RaisedTime) {
			return out[i].RaisedTime.Before(out[j].RaisedTime)
		}
		return idLess(out[i].ID, out[j].ID)
	})
	return out
}

func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// Get returns the alarm with the given id, active or in the history.
func (m *Manager) Get(id string) (Alarm, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.byID[id]
	if a == nil {
		return Alarm{}, ErrNotFound
	}
	return a.clone(), nil
}

// Count returns how many alarms f selects, by severity.
func (m *Manager) Count(f Filter) map[Severity]int {
	out := map[Severity]int{}
	for _, a := range m.Alarms(f) {
		out[a.Severity]++
	}
	return out
}

// ActiveCount is one row of Summary.
type ActiveCount struct {
	Name     string
	Severity Severity
	Shelved  bool
	Count    int
}

// Summary counts the active alarms by definition, severity and shelving,
// for the metrics.
func (m *Manager) Summary() []ActiveCount {
	m.mu.Lock()
	defer m.mu.Unlock()
	type k struct {
		name    string
		sev     Severity
		shelved bool
	}
	counts := map[k]int{}
	for _, c := range m.conds {
		if a := c.alarm; a != nil {
			counts[k{a.Name, a.Severity, a.Shelved != ""}]++
		}
	}
	out := make([]ActiveCount, 0, len(counts))
	for key, n := range counts {
		out = append(out, ActiveCount{key.name, key.sev, key.shelved, n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Severity != b.Severity {
			return a.Severity < b.Severity
		}
		return !a.Shelved && b.Shelved
	})
	return out
}

// Stats returns the counters of each definition, by name, and the number of
// subscriptions ended because they fell behind.
func (m *Manager) Stats() (map[string]DefStats, uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]DefStats, len(m.stats))
	for n, s := range m.stats {
		out[n] = *s
	}
	return out, m.dropped
}

// Acknowledge records that user (on system) has seen the alarm.
func (m *Manager) Acknowledge(id, user, system string) (Alarm, error) {
	return m.setAck(id, Acknowledged, user, system)
}

// Unacknowledge takes an acknowledgement back.
func (m *Manager) Unacknowledge(id, user, system string) (Alarm, error) {
	return m.setAck(id, Unacknowledged, user, system)
}

func (m *Manager) setAck(id string, st AckState, user, system string) (Alarm, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.byID[id]
	if a == nil {
		return Alarm{}, ErrNotFound
	}
	if a.AckState == st {
		return a.clone(), nil
	}
	now := m.clock.Now()
	t := now
	a.AckState, a.AckTime, a.AckUserID, a.AckSystemID = st, &t, user, system
	m.log.Info("alarm "+strings.ToLower(string(st)), append(alarmFields(a), zap.String("user", user))...)
	m.persist(Record{Alarm: a})
	m.emit(NotifyAckStateChanged, a, now)
	return a.clone(), nil
}

// Comment adds an operator's comment to an alarm.
func (m *Manager) Comment(id, user, system, text string) (Alarm, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.byID[id]
	if a == nil {
		return Alarm{}, ErrNotFound
	}
	now := m.clock.Now()
	a.Comments = append(a.Comments, Comment{Time: now, UserID: user, SystemID: system, Text: text})
	m.persist(Record{Alarm: a})
	m.emit(NotifyComments, a, now)
	return a.clone(), nil
}

// ClearManually is an operator's clear. An alarm whose condition is still
// reported present is refused with ErrConditionPresent unless force: the
// component would not report it again until the condition goes away and
// comes back, so a forced clear hides a live fault (shelving is the tool
// for known faults).
func (m *Manager) ClearManually(id, user, system string, force bool) (Alarm, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.byID[id]
	if a == nil {
		return Alarm{}, ErrNotFound
	}
	if !a.Active() {
		return a.clone(), ErrAlreadyCleared
	}
	c := m.conds[a.Key]
	if c == nil || c.alarm != a {
		return Alarm{}, ErrNotFound
	}
	if c.present && !force {
		return a.clone(), ErrConditionPresent
	}
	m.clearLocked(c, user, system)
	return a.clone(), nil
}

// Shelve hides the alarms of object (and of the objects below it) from the
// active view and from paging until until. It returns the shelf.
func (m *Manager) Shelve(object, user, reason string, until time.Time) (Shelf, error) {
	if !ValidDN(object) {
		return Shelf{}, ErrBadShelf
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	if !until.After(now) || until.Sub(now) > m.cfg.MaxShelve {
		return Shelf{}, ErrBadShelf
	}
	s := Shelf{ID: strconv.FormatUint(m.nextSh, 10), Object: NormalizeDN(object), UserID: user, Reason: reason, Since: now, Until: until}
	m.nextSh++
	m.addShelf(s)
	m.log.Info("alarms shelved", zap.String("object", s.Object), zap.String("user", user), zap.Time("until", until), zap.String("reason", reason))
	m.persist(Record{Shelf: &s})
	m.reshelve(now)
	return s, nil
}

// Unshelve removes a shelf before it expires.
func (m *Manager) Unshelve(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shelves[id] == nil {
		return ErrNotFound
	}
	m.removeShelf(id)
	return nil
}

// Shelves lists the shelves in place.
func (m *Manager) Shelves() []Shelf {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Shelf
	for _, s := range m.sortedShelves() {
		out = append(out, s.Shelf)
	}
	return out
}

func (m *Manager) sortedShelves() []*shelfState {
	out := make([]*shelfState, 0, len(m.shelves))
	for _, s := range m.shelves {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].ID, out[j].ID) })
	return out
}

func (m *Manager) addShelf(s Shelf) {
	st := &shelfState{Shelf: s}
	id := s.ID
	st.timer = m.clock.AfterFunc(s.Until.Sub(m.clock.Now()), func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.shelves[id] == st {
			m.log.Info("shelf expired", zap.String("object", s.Object))
			m.removeShelf(id)
		}
	})
	m.shelves[id] = st
}

func (m *Manager) removeShelf(id string) {
	s := m.shelves[id]
	if s.timer != nil {
		s.timer.Stop()
	}
	delete(m.shelves, id)
	m.persist(Record{ShelfRemoved: id})
	m.reshelve(m.clock.Now())
}

// shelfFor returns the id of the shelf covering dn (the oldest), or "".
func (m *Manager) shelfFor(dn string) string {
	for _, s := range m.sortedShelves() {
		if s.Covers(dn) {
			return s.ID
		}
	}
	return ""
}

// reshelve recomputes the shelving of every active alarm and notifies the
// ones that changed.
func (m *Manager) reshelve(now time.Time) {
	for _, c := range m.sortedConds() {
		a := c.alarm
		if a == nil {
			continue
		}
		if s := m.shelfFor(a.Object); s != a.Shelved {
			a.Shelved = s
			t := now
			a.ChangedTime = &t
			m.persist(Record{Alarm: a})
			m.emit(NotifyChangedAlarm, a, now)
		}
	}
}

// Subscription receives the manager's notifications on C, in order. If the
// subscriber falls behind by more than its buffer, C is closed and Err
// returns ErrSlowSubscriber: the subscriber lists the alarms again and
// subscribes anew, rather than the manager blocking or dropping silently.
type Subscription struct {
	C   <-chan Notification
	c   chan Notification
	m   *Manager
	err error
}

// Subscribe starts a subscription with room for buffer notifications
// (default 256).
func (m *Manager) Subscribe(buffer int) *Subscription {
	if buffer <= 0 {
		buffer = 256
	}
	c := make(chan Notification, buffer)
	s := &Subscription{C: c, c: c, m: m}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		s.err = ErrClosed
		close(c)
		return s
	}
	m.subs[s] = struct{}{}
	return s
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if _, ok := s.m.subs[s]; ok {
		s.m.endSub(s, nil)
	}
}

// Err says why C was closed: nil after Close, ErrSlowSubscriber or
// ErrClosed.
func (s *Subscription) Err() error {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.err
}

func (m *Manager) endSub(s *Subscription, err error) {
	delete(m.subs, s)
	s.err = err
	close(s.c)
}

func (m *Manager) emit(t NotificationType, a *Alarm, now time.Time) {
	m.nextNote++
	n := Notification{ID: m.nextNote, Type: t, EventTime: now}
	if a != nil {
		c := a.clone()
		n.Alarm = &c
	}
	for s := range m.subs {
		select {
		case s.c <- n:
		default:
			m.dropped++
			m.endSub(s, ErrSlowSubscriber)
		}
	}
}

// Now returns the time on the manager's clock (for callers that express
// deadlines, such as a shelf's end, relative to it).
func (m *Manager) Now() time.Time { return m.clock.Now() }

// Subscribers returns the number of open subscriptions.
func (m *Manager) Subscribers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.subs)
}
