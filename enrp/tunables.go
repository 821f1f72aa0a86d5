package enrp

import (
	"net/netip"
	"time"
)

// Tunables are the parts of Config a running registrar can change (a
// daemon's reload): they are read each time they are used, so a change
// applies from the next keep-alive armed, the next registration checked and
// the next message counted against a rate limit. Zero values take the
// defaults, as in Config. Everything else in Config (identity, addresses,
// peers, ENRP timers, tag bits) holds for the registrar's lifetime.
type Tunables struct {
	KeepAlive, KeepAliveTimeout     time.Duration
	MaxBadPEReport                  int
	ReportWindow                    time.Duration
	MaxHResItems                    int
	ResolutionRate, ResolutionBurst int
	ReportRate, ReportBurst         int
	Allow                           []netip.Prefix
}

// Tunables returns the values in force (defaults filled in).
func (r *Registrar) Tunables() Tunables {
	c := r.cfg
	return Tunables{KeepAlive: c.KeepAlive, KeepAliveTimeout: c.KeepAliveTimeout,
		MaxBadPEReport: c.MaxBadPEReport, ReportWindow: c.ReportWindow, MaxHResItems: c.MaxHResItems,
		ResolutionRate: c.ResolutionRate, ResolutionBurst: c.ResolutionBurst,
		ReportRate: c.ReportRate, ReportBurst: c.ReportBurst, Allow: append([]netip.Prefix(nil), c.Allow...)}
}

// SetTunables changes the tunables. Keep-alives already armed keep their
// time; elements registered from a network the new allow-list leaves out
// stay until they deregister or fail (the list is checked at registration).
func (r *Registrar) SetTunables(t Tunables) {
	c := r.cfg
	c.KeepAlive, c.KeepAliveTimeout = t.KeepAlive, t.KeepAliveTimeout
	c.MaxBadPEReport, c.ReportWindow, c.MaxHResItems = t.MaxBadPEReport, t.ReportWindow, t.MaxHResItems
	c.ResolutionRate, c.ResolutionBurst = t.ResolutionRate, t.ResolutionBurst
	c.ReportRate, c.ReportBurst = t.ReportRate, t.ReportBurst
	c.Allow = append([]netip.Prefix(nil), t.Allow...)
	c.defaults()
	r.cfg = c
}
