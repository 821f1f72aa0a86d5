package main

import (
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/enrp"
)

// Watch is one pool whose size the registrar watches (key pools): it
// raises pool-empty on "registrar=<id>,pool=<handle>" while the pool has no
// live element, and pool-below-minimum while it has fewer than
// MinElements. A registrar sees every element of the operation scope
// (ENRP), so any registrar of it can watch any pool.
type Watch struct {
	Handle      string `yaml:"handle"`
	MinElements int    `yaml:"min_elements"`
}

// DefaultStartupGrace is how long after its start the registrar raises no
// pool alarm, as the pool elements register again.
const DefaultStartupGrace = 5 * time.Second

// poolWatcher checks the watched pools' sizes once a second. The list
// changes on reload: a pool no longer watched has its alarms cleared.
type poolWatcher struct {
	reg     *enrp.Driver
	alarms  *alarms.Manager
	log     *zap.Logger
	prefix  string    // "registrar=<id>"
	started time.Time // the grace counts from here

	mu      sync.Mutex
	watches []Watch
	grace   time.Duration
	objects map[string]bool // objects with an alarm raised
}

func newPoolWatcher(reg *enrp.Driver, m *alarms.Manager, log *zap.Logger, self string, f File) *poolWatcher {
	w := &poolWatcher{reg: reg, alarms: m, log: log, prefix: self, objects: map[string]bool{}, started: time.Now()}
	w.set(f)
	return w
}

// set takes the watched pools and the grace of f.
func (w *poolWatcher) set(f File) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.watches = append([]Watch(nil), f.Pools...)
	w.grace = f.StartupGrace
	if w.grace == 0 {
		w.grace = DefaultStartupGrace
	}
}

func (w *poolWatcher) object(handle string) string { return w.prefix + ",pool=" + handle }

// check raises or clears each watched pool's alarms once the grace after
// start is over, and clears those of pools no longer watched.
func (w *poolWatcher) check(now time.Time) {
	w.mu.Lock()
	watches, grace := w.watches, w.grace
	w.mu.Unlock()
	if now.Sub(w.started) < grace {
		return
	}
	watched := map[string]bool{}
	for _, p := range watches {
		obj := w.object(p.Handle)
		watched[obj] = true
		live := len(w.reg.Elements([]byte(p.Handle)))
		if live == 0 {
			w.raise(alarms.PoolEmpty, obj, fmt.Sprintf("pool %s has no live element", p.Handle))
		} else {
			w.clear(alarms.PoolEmpty, obj)
		}
		if live < p.MinElements {
			w.raise(alarms.PoolBelowMinimum, obj, fmt.Sprintf("pool %s: %d live of %d", p.Handle, live, p.MinElements))
		} else {
			w.clear(alarms.PoolBelowMinimum, obj)
		}
	}
	w.mu.Lock()
	var gone []string
	for obj := range w.objects {
		if !watched[obj] {
			gone = append(gone, obj)
			delete(w.objects, obj)
		}
	}
	w.mu.Unlock()
	for _, obj := range gone {
		w.clear(alarms.PoolEmpty, obj)
		w.clear(alarms.PoolBelowMinimum, obj)
	}
}

func (w *poolWatcher) raise(def *alarms.Definition, obj, text string) {
	w.mu.Lock()
	w.objects[obj] = true
	w.mu.Unlock()
	if err := w.alarms.Raise(alarms.Report{Def: def, Object: obj, AdditionalText: text}); err != nil {
		w.log.Warn("alarm not raised", zap.String("alarm", def.Name), zap.String("object", obj), zap.Error(err))
	}
}

func (w *poolWatcher) clear(def *alarms.Definition, obj string) {
	if err := w.alarms.Clear(def, obj); err != nil {
		w.log.Warn("alarm not cleared", zap.String("alarm", def.Name), zap.String("object", obj), zap.Error(err))
	}
}

// run checks every second until stop is closed.
func (w *poolWatcher) run(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			w.check(now)
		case <-stop:
			return
		}
	}
}
