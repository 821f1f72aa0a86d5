package gateway

import "time"

// cookieStore keeps the latest state cookie of each dialogue, keyed by
// service and transaction id, at most max of them, each for lifetime after
// its last update. Entries are kept in a list ordered by last update, so the
// oldest is the one evicted when full and the first to expire.
type cookieStore struct {
	max      int
	lifetime time.Duration
	m        map[uint64]*cookieEntry
	head     cookieEntry // sentinel: head.next is the oldest
	free     *cookieEntry
}

type cookieEntry struct {
	key        uint64
	value      []byte
	updated    time.Time
	echoed     bool
	echoedTo   uint32
	prev, next *cookieEntry
}

func (s *cookieStore) init(max int, lifetime time.Duration) {
	if max <= 0 {
		max = DefaultCookies
	}
	if lifetime <= 0 {
		lifetime = DefaultCookieLifetime
	}
	s.max, s.lifetime = max, lifetime
	s.m = map[uint64]*cookieEntry{}
	s.head.prev, s.head.next = &s.head, &s.head
}

func (s *cookieStore) len() int { return len(s.m) }

func (s *cookieStore) unlink(e *cookieEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (s *cookieStore) pushBack(e *cookieEntry) {
	e.prev, e.next = s.head.prev, &s.head
	s.head.prev.next = e
	s.head.prev = e
}

func (s *cookieStore) drop(e *cookieEntry) {
	s.unlink(e)
	delete(s.m, e.key)
	e.value = e.value[:0]
	e.next = s.free
	s.free = e
}

// put stores a copy of value for key.
func (s *cookieStore) put(key uint64, value []byte, now time.Time, ctr *Counters) {
	e := s.m[key]
	if e != nil {
		s.unlink(e)
	} else {
		if len(s.m) >= s.max {
			s.drop(s.head.next)
			ctr.CookiesEvicted++
		}
		if s.free != nil {
			e, s.free = s.free, s.free.next
			e.next = nil
		} else {
			e = &cookieEntry{}
		}
		e.key, e.echoed, e.echoedTo = key, false, 0
		s.m[key] = e
	}
	e.value = append(e.value[:0], value...)
	e.updated = now
	s.pushBack(e)
}

// get returns the live entry of key, or nil.
func (s *cookieStore) get(key uint64, now time.Time) *cookieEntry {
	e := s.m[key]
	if e == nil || now.Sub(e.updated) >= s.lifetime {
		return nil
	}
	return e
}

func (s *cookieStore) remove(key uint64) {
	if e := s.m[key]; e != nil {
		s.drop(e)
	}
}

// expire drops the entries not updated for lifetime.
func (s *cookieStore) expire(now time.Time, ctr *Counters) {
	for e := s.head.next; e != &s.head; e = s.head.next {
		if now.Sub(e.updated) < s.lifetime {
			return
		}
		s.drop(e)
		ctr.CookiesExpired++
	}
}
