package enrp

import (
	"errors"
	"time"

	"github.com/sigpool/sigpool/rserpool"
)

// ErrClosed: the driver is closed.
var ErrClosed = errors.New("enrp: driver closed")

// LocalReporter is the pool user name under which reports from the
// embedding process (Unreachable) count towards MAX-BAD-PE-REPORT: once
// per window, like one pool user's.
const LocalReporter = "local"

// Resolve selects up to k elements of the pool by its policy, as a handle
// resolution from a pool user would (the selection state moves on, and it
// is counted), and appends copies to dst. k <= 0 means MaxHResItems. An
// unknown handle fails with an *rserpool.Error of cause Unknown Pool
// Handle. For a process that embeds the registrar (the gateway).
func (r *Registrar) Resolve(handle []byte, k int, dst []rserpool.PoolElement) ([]rserpool.PoolElement, error) {
	if k <= 0 {
		k = r.cfg.MaxHResItems
	}
	var err error
	r.scratch, err = r.hs.Select(handle, k, r.scratch[:0])
	if err != nil {
		return dst, err
	}
	r.counters.Resolutions++
	for _, e := range r.scratch {
		dst = append(dst, e.PoolElement())
	}
	return dst, nil
}

// Elements appends copies of the pool's live elements (with the policy
// values, loads among them, they registered with), in identifier order,
// to dst; the selection state does not move.
func (r *Registrar) Elements(handle []byte, dst []rserpool.PoolElement) []rserpool.PoolElement {
	p := r.hs.Pool(handle)
	if p == nil {
		return dst
	}
	r.scratch = p.AppendElements(r.scratch[:0])
	for _, e := range r.scratch {
		dst = append(dst, e.PoolElement())
	}
	return dst
}

// Unreachable is an endpoint-unreachable report from the embedding
// process: it counts like one pool user's (LocalReporter), without a rate
// limit.
func (r *Registrar) Unreachable(now time.Time, handle []byte, id uint32) {
	r.report(now, 0, LocalReporter, handle, id)
}

// Select is Registrar.Resolve on the driver's loop: safe from any
// goroutine but the OnEvent callback (which runs on the loop).
func (d *Driver) Select(handle []byte, k int) ([]rserpool.PoolElement, error) {
	var out []rserpool.PoolElement
	var err error
	if !d.Do(func(r *Registrar) { out, err = r.Resolve(handle, k, nil) }) {
		return nil, ErrClosed
	}
	return out, err
}

// Elements is Registrar.Elements on the driver's loop: a snapshot of the
// pool's live elements; nil for an unknown pool or a closed driver.
func (d *Driver) Elements(handle []byte) []rserpool.PoolElement {
	var out []rserpool.PoolElement
	d.Do(func(r *Registrar) { out = r.Elements(handle, nil) })
	return out
}

// ReportUnreachable is Registrar.Unreachable on the driver's loop. It does
// not wait for the report to be handled.
func (d *Driver) ReportUnreachable(handle []byte, id uint32) {
	h := append([]byte(nil), handle...)
	d.post(func(now time.Time) { d.core.Unreachable(now, h, id) })
}
