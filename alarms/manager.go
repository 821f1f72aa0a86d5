package alarms

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Errors of the operator actions.
var (
	ErrNotFound         = errors.New("alarms: no such alarm")
	ErrConditionPresent = errors.New("alarms: the condition is still present; it would be raised again (shelve it for maintenance, or force the clear)")
	ErrAlreadyCleared   = errors.New("alarms: alarm already cleared")
	ErrBadShelf         = errors.New("alarms: invalid shelf")
	ErrSlowSubscriber   = errors.New("alarms: subscriber too slow: notifications dropped, list the alarms again")
	ErrClosed           = errors.New("alarms: manager closed")
)

// Config configures a Manager.
type Config struct {
	// Clock defaults to SystemClock.
	Clock Clock
	// Log defaults to a no-op logger.
	Log *zap.Logger
	// Store keeps the history across restarts; nil keeps it in memory only.
	Store Store
	// Self is the managed object of the process itself (e.g. "sgw=sg1"),
	// on which the manager raises its own alarms (history unwritable).
	Self string
	// SystemID names this system in the records of operator actions.
	SystemID string
	// HistoryLimit is how many cleared alarms the manager keeps in memory
	// (and at most in the store after compaction). Default 1000.
	HistoryLimit int
	// RestartGrace is how long the stateful alarms that were active when
	// the previous process stopped stay active, waiting for the components
	// to report their condition again. Default 30s.
	RestartGrace time.Duration
	// MaxShelve bounds how long a shelf may last. Default 7 days.
	MaxShelve time.Duration
	// Inventory is the set of definitions the manager accepts. Default
	// the package's Inventory.
	Inventory []*Definition
}

// Report describes a condition a component detected.
type Report struct {
	Def    *Definition
	Object string
	// Severity overrides Def.Severity when not zero.
	Severity       Severity
	AdditionalText string
	AdditionalInfo map[string]string
}

// Manager keeps the alarm list of one process.
//
// Components report conditions with Raise and Clear, as often as they like
// (both are idempotent), and the manager turns them into alarms with the
// definition's debounce:
//
//   - A condition that appears starts its RaiseAfter hold; the alarm is
//     raised if it is still present when the hold ends. If it goes away
//     first it is counted as suppressed and nothing is raised.
//   - A condition that keeps appearing but never lasts RaiseAfter is raised
//     anyway at its FlapCount-th appearance within FlapWindow.
//   - A raised alarm whose condition goes away starts its ClearAfter hold;
//     it is cleared when the hold ends with the condition still away. If
//     the condition comes back first, the alarm stays raised, unchanged
//     apart from its flap count: a flapping link is one alarm, not a storm
//     of raise/clear pairs.
//
// A Report for a present condition with a new severity or text updates the
// raised alarm (notifyChangedAlarm). Stateless definitions have no
// condition: every Raise raises or updates the alarm at once, and it stays
// until an operator clears it or AutoClear passes.
//
// After a restart, the manager reads the store: cleared alarms form the
// history, stateful alarms that were active come back as active but must
// be reported again within RestartGrace, or they are cleared then. An
// alarm reported again keeps its identity, acknowledgement and comments.
type Manager struct {
	mu       sync.Mutex
	cfg      Config
	clock    Clock
	log      *zap.Logger
	defs     map[*Definition]bool
	conds    map[Key]*condition
	byID     map[string]*Alarm
	history  []*Alarm // cleared, oldest first, at most HistoryLimit
	shelves  map[string]*shelfState
	subs     map[*Subscription]struct{}
	nextID   uint64
	nextNote uint64
	nextSh   uint64
	stats    map[string]*DefStats
	dropped  uint64
	storeErr error
	writing  bool // persisting: no recursion through the history alarm
	closed   bool
	graceT   Timer
}

type condition struct {
	def     *Definition
	key     Key
	present bool
	carried bool // active before the restart, not reported since
	report  Report
	onsets  []time.Time
	alarm   *Alarm
	timer   Timer
	gen     uint64
}

type shelfState struct {
	Shelf
	timer Timer
}

// DefStats counts what the manager did with the reports of one definition.
type DefStats struct {
	Raised     uint64 // alarms raised
	Cleared    uint64 // alarms cleared (by the system or an operator)
	Suppressed uint64 // conditions that went away before RaiseAfter
	Flaps      uint64 // returns of a condition within ClearAfter
}

// NewManager starts a manager, restoring what cfg.Store holds.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Clock == nil {
		cfg.Clock = SystemClock
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.HistoryLimit <= 0 {
		cfg.HistoryLimit = 1000
	}
	if cfg.RestartGrace <= 0 {
		cfg.RestartGrace = 30 * time.Second
	}
	if cfg.MaxShelve <= 0 {
		cfg.MaxShelve = 7 * 24 * time.Hour
	}
	if cfg.Inventory == nil {
		cfg.Inventory = Inventory
	}
	if err := Validate(cfg.Inventory); err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:     cfg,
		clock:   cfg.Clock,
		log:     cfg.Log,
		defs:    map[*Definition]bool{},
		conds:   map[Key]*condition{},
		byID:    map[string]*Alarm{},
		shelves: map[string]*shelfState{},
		subs:    map[*Subscription]struct{}{},
		stats:   map[string]*DefStats{},
		nextID:  1,
		nextSh:  1,
	}
	for _, d := range cfg.Inventory {
		m.defs[d] = true
		m.stats[d.Name] = &DefStats{}
	}
	if cfg.Store != nil {
		recs, err := cfg.Store.Load()
		if err != nil {
			return nil, err
		}
		m.restore(recs)
	}
	return m, nil
}

// restore rebuilds the state from the store's records.
func (m *Manager) restore(recs []Record) {
	now := m.clock.Now()
	alarms := map[string]*Alarm{}
	var order []string
	shelves := map[string]*Shelf{}
	for _, r := range recs {
		switch {
		case r.Alarm != nil:
			if _, seen := alarms[r.Alarm.ID]; !seen {
				order = append(order, r.Alarm.ID)
			}
			alarms[r.Alarm.ID] = r.Alarm
			if n, err := strconv.ParseUint(r.Alarm.ID, 10, 64); err == nil && n >= m.nextID {
				m.nextID = n + 1
			}
		case r.Shelf != nil:
			shelves[r.Shelf.ID] = r.Shelf
			if n, err := strconv.ParseUint(r.Shelf.ID, 10, 64); err == nil && n >= m.nextSh {
				m.nextSh = n + 1
			}
		case r.ShelfRemoved != "":
			delete(shelves, r.ShelfRemoved)
		}
	}
	for _, s := range shelves {
		if s.Until.After(now) {
			m.addShelf(*s)
		}
	}
	carried := 0
	for _, id := range order {
		a := alarms[id]
		def, ok := lookupKey(a.Key)
		if !ok || !m.defs[def] {
			continue // an alarm this version no longer knows
		}
		if !a.Active() {
			m.pushHistory(a)
			continue
		}
		if c := m.conds[a.Key]; c != nil {
			continue // two active records for one key: keep the first
		}
		c := &condition{def: def, key: a.Key, alarm: a, report: Report{Def: def, Object: a.Object, Severity: a.Severity, AdditionalText: a.AdditionalText}}
		m.conds[a.Key] = c
		m.byID[a.ID] = a
		a.Shelved = m.shelfFor(a.Object)
		if def.Stateless {
			m.armAutoClear(c)
		} else {
			c.carried = true
			carried++
		}
	}
	if carried > 0 {
		m.graceT = m.clock.AfterFunc(m.cfg.RestartGrace, m.endGrace)
		m.log.Info("alarms restored; waiting for their conditions to be reported again",
			zap.Int("carried", carried), zap.Duration("grace", m.cfg.RestartGrace))
	}
}

// endGrace clears the carried alarms nobody reported again.
func (m *Manager) endGrace() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.sortedConds() {
		if c.carried && c.alarm != nil {
			c.alarm.AdditionalText = appendText(c.alarm.AdditionalText, "not reported again after a restart")
			c.alarm.ClearSystemID = m.cfg.SystemID
			m.clearLocked(c, "", "")
		}
	}
}

func appendText(s, more string) string {
	if s == "" {
		return more
	}
	return s + "; " + more
}

// Raise reports that a condition is present (see Manager for debounce).
func (m *Manager) Raise(r Report) error {
	if err := m.check(r.Def, r.Object); err != nil {
		return err
	}
	if r.Severity == Cleared {
		return m.Clear(r.Def, r.Object)
	}
	if r.Severity == 0 {
		r.Severity = r.Def.Severity
	}
	r.Object = NormalizeDN(r.Object)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.raiseLocked(r)
	return nil
}

// Clear reports that a condition is gone. It is a no-op for a condition
// that was not reported present.
func (m *Manager) Clear(def *Definition, object string) error {
	if err := m.check(def, object); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.clearCondition(def.Key(object))
	return nil
}

func (m *Manager) check(def *Definition, object string) error {
	if def == nil || !m.defs[def] {
		return fmt.Errorf("alarms: definition not in the manager's inventory")
	}
	if !ValidDN(object) {
		return fmt.Errorf("alarms: %s: invalid managed object %q (want key=value[,key=value...])", def.Name, object)
	}
	return nil
}

func (m *Manager) raiseLocked(r Report) {
	now := m.clock.Now()
	key := r.Def.Key(r.Object)
	c := m.conds[key]
	if c == nil {
		c = &condition{def: r.Def, key: key}
		m.conds[key] = c
	}
	c.report = r
	if r.Def.Stateless {
		if c.alarm == nil {
			m.newAlarm(c, now)
		} else {
			m.updateAlarm(c, now)
		}
		m.armAutoClear(c)
		return
	}
	if c.carried {
		// Reported again after a restart: the alarm goes on.
		c.carried, c.present = false, true
		c.onsets = append(c.onsets, now)
		m.updateAlarm(c, now)
		m.emit(NotifyNewAlarm, c.alarm, now)
		return
	}
	if c.present {
		if c.alarm != nil {
			m.updateAlarm(c, now)
		}
		return
	}
	c.present = true
	m.stopTimer(c)
	c.onsets = append(c.onsets, now)
	m.trimOnsets(c, now)
	if c.alarm != nil {
		// Back within ClearAfter: one more flap of the same alarm.
		c.alarm.FlapCount++
		m.stats[c.def.Name].Flaps++
		m.updateAlarm(c, now)
		return
	}
	d := c.def.Debounce
	if d.RaiseAfter <= 0 || (d.FlapCount > 0 && len(c.onsets) >= d.FlapCount) {
		m.newAlarm(c, now)
		return
	}
	gen := c.gen
	c.timer = m.clock.AfterFunc(d.RaiseAfter, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if c.gen != gen || !c.present || c.alarm != nil || m.conds[c.key] != c {
			return
		}
		c.timer = nil
		m.newAlarm(c, m.clock.Now())
	})
}

func (m *Manager) trimOnsets(c *condition, now time.Time) {
	d := c.def.Debounce
	if d.FlapCount <= 0 {
		c.onsets = c.onsets[:0]
		return
	}
	i := 0
	for i < len(c.onsets) && now.Sub(c.onsets[i]) >= d.FlapWindow {
		i++
	}
	c.onsets = c.onsets[i:]
	if len(c.onsets) > d.FlapCount {
		c.onsets = c.onsets[len(c.onsets)-d.FlapCount:]
	}
}

func (m *Manager) stopTimer(c *condition) {
	c.gen++
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

func (m *Manager) clearCondition(key Key) {
	c := m.conds[key]
	if c == nil {
		return
	}
	if c.def.Stateless {
		if c.alarm != nil {
			m.clearLocked(c, "", "")
		}
		return
	}
	if !c.present && !c.carried {
		return
	}
	c.present, c.carried = false, false
	m.stopTimer(c)
	if c.alarm == nil {
		m.stats[c.def.Name].Suppressed++
		m.forget(c)
		return
	}
	if c.def.Debounce.ClearAfter <= 0 {
		m.clearLocked(c, "", "")
		return
	}
	gen := c.gen
	c.timer = m.clock.AfterFunc(c.def.Debounce.ClearAfter, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if c.gen != gen || c.present || c.alarm == nil || m.conds[c.key] != c {
			return
		}
		c.timer = nil
		m.clearLocked(c, "", "")
	})
}

// forget drops a condition with no alarm, unless its onsets still count
// towards a flap threshold.
func (m *Manager) forget(c *condition) {
	if c.alarm != nil || c.present {
		return
	}
	m.trimOnsets(c, m.clock.Now())
	if len(c.onsets) == 0 {
		delete(m.conds, c.key)
	}
}

func (m *Manager) armAutoClear(c *condition) {
	m.stopTimer(c)
	if c.def.AutoClear <= 0 || c.alarm == nil {
		return
	}
	left := c.def.AutoClear - m.clock.Now().Sub(c.alarm.RaisedTime)
	if c.alarm.ChangedTime != nil {
		left = c.def.AutoClear - m.clock.Now().Sub(*c.alarm.ChangedTime)
	}
	gen := c.gen
	c.timer = m.clock.AfterFunc(left, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if c.gen != gen || c.alarm == nil || m.conds[c.key] != c {
			return
		}
		c.timer = nil
		c.alarm.AdditionalText = appendText(c.alarm.AdditionalText, "cleared automatically after "+c.def.AutoClear.String())
		m.clearLocked(c, "", "")
	})
}

func (m *Manager) newAlarm(c *condition, now time.Time) {
	r := c.report
	a := &Alarm{
		ID:                    strconv.FormatUint(m.nextID, 10),
		Name:                  c.def.Name,
		Key:                   c.key,
		ObjectClass:           c.def.ObjectClass,
		Severity:              r.Severity,
		AdditionalText:        r.AdditionalText,
		AdditionalInformation: copyInfo(r.AdditionalInfo),
		ProposedRepairActions: c.def.Repair,
		RaisedTime:            now,
		AckState:              Unacknowledged,
		Shelved:               m.shelfFor(c.key.Object),
	}
	m.nextID++
	c.alarm = a
	m.byID[a.ID] = a
	m.stats[c.def.Name].Raised++
	m.log.Info("alarm raised", alarmFields(a)...)
	m.persist(Record{Alarm: a})
	m.emit(NotifyNewAlarm, a, now)
}

// updateAlarm applies the condition's latest report to its alarm; it
// notifies a change of severity or text.
func (m *Manager) updateAlarm(c *condition, now time.Time) {
	a, r := c.alarm, c.report
	changed := a.Severity != r.Severity || a.AdditionalText != r.AdditionalText || !sameInfo(a.AdditionalInformation, r.AdditionalInfo)
	if !changed && !c.def.Stateless {
		// A flap alone is neither notified nor written: the count reaches
		// the history with the alarm's next change or its clear.
		return
	}
	a.Severity, a.AdditionalText, a.AdditionalInformation = r.Severity, r.AdditionalText, copyInfo(r.AdditionalInfo)
	t := now
	a.ChangedTime = &t
	m.log.Info("alarm changed", alarmFields(a)...)
	m.persist(Record{Alarm: a})
	m.emit(NotifyChangedAlarm, a, now)
}

// clearLocked clears c's alarm and moves it to the history. user is the
// operator who cleared it, empty when the system did.
func (m *Manager) clearLocked(c *condition, user, system string) {
	now := m.clock.Now()
	a := c.alarm
	m.stopTimer(c)
	c.alarm, c.carried = nil, false
	t := now
	a.ClearedTime = &t
	if user != "" {
		a.ClearUserID, a.ClearSystemID = user, system
	}
	m.stats[c.def.Name].Cleared++
	m.log.Info("alarm cleared", alarmFields(a)...)
	m.pushHistory(a)
	if c.present {
		c.present = false
	}
	m.forget(c)
	m.persist(Record{Alarm: a})
	m.emit(NotifyClearedAlarm, a, now)
}

func (m *Manager) pushHistory(a *Alarm) {
	m.byID[a.ID] = a
	m.history = append(m.history, a)
	if over := len(m.history) - m.cfg.HistoryLimit; over > 0 {
		for _, old := range m.history[:over] {
			delete(m.byID, old.ID)
		}
		m.history = append([]*Alarm(nil), m.history[over:]...)
	}
}

func alarmFields(a *Alarm) []zap.Field {
	return []zap.Field{
		zap.String("alarm_id", a.ID), zap.String("alarm", a.Name), zap.String("object", a.Object),
		zap.Stringer("severity", a.Severity), zap.String("text", a.AdditionalText),
	}
}

func copyInfo(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func sameInfo(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// persist appends r to the store. A failing store raises the
// history-unwritable alarm on the process (not itself persisted); the
// next successful write clears it.
func (m *Manager) persist(r Record) {
	if m.cfg.Store == nil || m.writing {
		return
	}
	m.writing = true
	defer func() { m.writing = false }()
	err := m.cfg.Store.Append(r, m.snapshot)
	if self := m.cfg.Self; self != "" {
		switch {
		case err != nil && m.storeErr == nil:
			m.raiseLocked(Report{Def: HistoryUnwritable, Object: NormalizeDN(self), Severity: HistoryUnwritable.Severity, AdditionalText: err.Error()})
		case err == nil && m.storeErr != nil:
			m.clearCondition(HistoryUnwritable.Key(self))
		}
	}
	if err != nil && m.storeErr == nil {
		m.log.Error("alarm history not written", zap.Error(err))
	}
	m.storeErr = err
}

// snapshot is the whole state as records, for compaction: the history
// (oldest first), then the active alarms, then the shelves.
func (m *Manager) snapshot() []Record {
	recs := make([]Record, 0, len(m.history)+len(m.conds)+len(m.shelves))
	for _, a := range m.history {
		recs = append(recs, Record{Alarm: a})
	}
	for _, c := range m.sortedConds() {
		if c.alarm != nil {
			recs = append(recs, Record{Alarm: c.alarm})
		}
	}
	for _, s := range m.sortedShelves() {
		sh := s.Shelf
		recs = append(recs, Record{Shelf: &sh})
	}
	return recs
}

func (m *Manager) sortedConds() []*condition {
	cs := make([]*condition, 0, len(m.conds))
	for _, c := range m.conds {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].key.text() < cs[j].key.text() })
	return cs
}

// Close stops the manager's timers and ends every subscription. The store
// is the caller's to close.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.closed = true
	for _, c := range m.conds {
		m.stopTimer(c)
	}
	for _, s := range m.shelves {
		if s.timer != nil {
			s.timer.Stop()
		}
	}
	if m.graceT != nil {
		m.graceT.Stop()
	}
	for s := range m.subs {
		m.endSub(s, ErrClosed)
	}
}
