package m3ua

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// Client.Deregister against an m3ua.Server with dynamic registration: the
// client registers a key and goes active in the AS the SGP made for it;
// deregistering while active is refused (ASP Currently Active); after
// Deactivate it succeeds, the routing context leaves the ASP's, and the
// SGP removes the AS; a third time the routing context is unknown.
func TestClientDeregister(t *testing.T) {
	net := sctptest.NewNetwork()
	srvSink := newSink()
	srv := startServer(t, net, ServerConfig{SGP: SGPConfig{Registration: DynamicPermitted}, Handlers: srvSink.handlers()})
	cliSink := newSink()
	c := startClient(t, ClientConfig{
		ASP:       ASPConfig{AutoActivate: true, Register: []RoutingKey{{LocalRKID: 1, DPC: 300}}},
		Transport: net, Local: aspAddr(1), SGPs: []sctp.Addr{sgpAddr},
		Handlers: cliSink.handlers(),
		Backoff:  Backoff{Initial: time.Hour},
	})
	waitActive(t, c, 1)
	rc := uint32(DefaultDynamicRCBase)
	if st := srv.ASState(rc); st != ASActive {
		t.Fatalf("AS %d is %v, want AS-ACTIVE", rc, st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	check := func(want uint32) {
		t.Helper()
		res, err := c.Deregister(ctx, rc)
		if err != nil {
			t.Fatalf("Deregister: %v", err)
		}
		if len(res) != 1 || !slices.Equal(res[0], []DeregResult{{RC: rc, Status: want}}) {
			t.Fatalf("results %+v, want status %d for rc %d", res, want, rc)
		}
	}
	check(params.DeregASPActiveForRoutingContext)
	if st := srv.ASState(rc); st != ASActive {
		t.Fatalf("after a refused DEREG REQ, AS %d is %v", rc, st)
	}
	c.Deactivate()
	if err := c.Wait(ctx, func(st []ASPState) bool { return st[0] == ASPInactive }); err != nil {
		t.Fatalf("states %v: %v", c.States(), err)
	}
	check(params.SuccessfullyDeregistered)
	srvSink.waitFor(t, "the AS to go with its registration", func() bool {
		for _, e := range srvSink.events {
			if d, ok := e.(ASDeregistered); ok && d.RC == rc && d.Removed {
				return true
			}
		}
		return false
	})
	cliSink.waitFor(t, "the Deregistered event", func() bool {
		for _, e := range cliSink.events {
			if d, ok := e.(Deregistered); ok && len(d.Results) == 1 && d.Results[0].Status == params.SuccessfullyDeregistered {
				return true
			}
		}
		return false
	})
	// The routing context is no longer the ASP's: Activate asks for none.
	c.links[0].mu.Lock()
	rcs := c.links[0].asp.RCs()
	c.links[0].mu.Unlock()
	if len(rcs) != 0 {
		t.Fatalf("ASP routing contexts %v after deregistration", rcs)
	}
	check(params.DeregInvalidRoutingContext)
}

// With no association up, Deregister sends nothing and says so; with no
// routing context it refuses.
func TestClientDeregisterNoSGP(t *testing.T) {
	net := sctptest.NewNetwork()
	c := startClient(t, ClientConfig{
		ASP:       ASPConfig{AutoActivate: true, RCs: []uint32{1}},
		Transport: net, Local: aspAddr(1), SGPs: []sctp.Addr{sgpAddr}, // nobody listens
		Backoff: Backoff{Initial: time.Hour},
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if res, err := c.Deregister(ctx, 1); !errors.Is(err, ErrNoSGPUp) || res != nil {
		t.Fatalf("Deregister with no SGP: %v, %v; want ErrNoSGPUp", res, err)
	}
	if _, err := c.Deregister(ctx); err == nil {
		t.Fatal("Deregister without routing context accepted")
	}
}
