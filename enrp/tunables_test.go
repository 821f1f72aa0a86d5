package enrp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sigpool/sigpool/rserpool"
)

// A new allow-list and keep-alive interval apply to the next registration:
// one from a network left out is refused, one allowed has its keep-alive
// armed at the new interval.
func TestSetTunables(t *testing.T) {
	now := time.Unix(1e6, 0)
	r := New(Config{ServerID: 1, Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}})
	r.Start(now)
	r.Ready()
	if got := r.Tunables(); got.KeepAlive != DefaultKeepAlive || got.ResolutionRate != DefaultResolutionRate || len(got.Allow) != 1 {
		t.Fatalf("tunables %+v", got)
	}
	tu := r.Tunables()
	tu.Allow = []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")}
	tu.KeepAlive = 3 * time.Second
	tu.ResolutionRate = 0 // back to the default
	r.SetTunables(tu)
	if got := r.Tunables(); got.KeepAlive != 3*time.Second || got.ResolutionRate != DefaultResolutionRate {
		t.Fatalf("tunables after the change %+v", got)
	}
	register := func(ip string, id uint32) Ready {
		c := r.Accepted(now, ASAP, addr(ip, 40000))
		r.ASAPMessage(now, c, &rserpool.Registration{PoolHandle: []byte("P"), Element: rserpool.PoolElement{ID: id,
			UserTransport: tr(addr(ip, 2905)), Policy: rserpool.Policy{Type: rserpool.RoundRobin}}})
		return r.Ready()
	}
	out := register("10.1.0.7", 7)
	if len(out.Sends) != 1 || !out.Sends[0].ASAP.(*rserpool.RegistrationResponse).Reject {
		t.Fatalf("registration from the network removed from the allow-list: %+v", out.Sends)
	}
	out = register("10.2.0.8", 8)
	if len(out.Sends) != 1 || out.Sends[0].ASAP.(*rserpool.RegistrationResponse).Reject {
		t.Fatalf("registration from the allowed network: %+v", out.Sends)
	}
	var armed bool
	for _, tm := range out.Timers {
		if tm.ID.Kind == TimerKeepAlive && !tm.Stop {
			armed = true
			if d := tm.At.Sub(now); d != 3*time.Second {
				t.Errorf("keep-alive armed %v after the registration, want 3s", d)
			}
		}
	}
	if !armed {
		t.Fatalf("no keep-alive armed: %+v", out.Timers)
	}
}
