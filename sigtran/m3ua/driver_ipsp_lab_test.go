//go:build lab && linux

package m3ua

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/wmnsk/go-m3ua/messages"
)

// TestLabM3UAIPSPShutdown: two IPSPs in double exchange over kernel SCTP,
// multihomed (server on host 1, client on host 2). The server's graceful
// Shutdown, right after a burst of DATA, takes its own ASP down at the
// client (ASPIA, ASPDN, each acknowledged) before it ends the association
// with SCTP SHUTDOWN: the client sees those states in order, every DATA
// of the burst arrives, and the association ends without error.
func TestLabM3UAIPSPShutdown(t *testing.T) {
	n := newLabNet(t)
	ln, err := labsctp.Transport{Host: n.sgp}.Listen(labsctp.Addr(n.sgp, 2908))
	if err != nil {
		t.Fatalf("listen on %s: %v", labsctp.Addr(n.sgp, 2908), err)
	}
	as := SGPConfig{ASes: []ASConfig{{RC: 5, Mode: Loadshare}}}
	srv := NewServer(ServerConfig{SGP: as, IPSP: &IPSPConfig{Exchange: DoubleExchange,
		ASP: ASPConfig{ASPID: 2, HasASPID: true, RCs: []uint32{5}, Mode: Loadshare, AutoActivate: true}}})
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	host := n.asps[0]
	cliSink := newSink()
	c := startClient(t, ClientConfig{
		ASP:       ASPConfig{ASPID: 1, HasASPID: true, RCs: []uint32{5}, Mode: Loadshare, AutoActivate: true},
		Transport: labsctp.Transport{Host: host}, Local: labsctp.Addr(host, 0),
		SGPs: []sctp.Addr{labsctp.Addr(n.sgp, 2908)}, Handlers: cliSink.handlers(),
		Backoff: Backoff{Initial: time.Hour}, // no reconnection after the shutdown
		IPSP:    &IPSPConfig{Exchange: DoubleExchange, Initiator: true, SGP: as},
	})
	waitActive(t, c, 1)
	var a AssocID
	deadline := time.Now().Add(waitLong)
	for {
		for id := range srv.Assocs() {
			a = id
		}
		if a != 0 && srv.Serving(a, 5) && srv.LocalState(a) == ASPActive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("association %d: the client serving %v, the server's own state %v", a, srv.Serving(a, 5), srv.LocalState(a))
		}
		time.Sleep(10 * time.Millisecond)
	}
	const burst = 300
	for i := range burst {
		if err := srv.SendDataTo(a, UserData{RC: 5, OPC: 1, DPC: 2, SI: 3, SLS: uint8(i % 16), Payload: payload(0, uint32(i))}); err != nil {
			t.Fatalf("DATA %d: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	cliSink.waitFor(t, "the association to end at the client", func() bool { _, ended, _ := peerStates(cliSink.events, 2); return ended })
	cliSink.mu.Lock()
	tr, _, endErr := peerStates(cliSink.events, 2)
	data := slices.Clone(cliSink.data)
	cliSink.mu.Unlock()
	if endErr != nil {
		t.Errorf("the association ended with %v at the client, want a graceful end", endErr)
	}
	want := []ASPState{ASPDown, ASPInactive, ASPInactive, ASPActive, ASPActive, ASPInactive, ASPInactive, ASPDown}
	if !slices.Equal(tr, want) {
		t.Errorf("the server's states at the client, from/to pairs: %v, want %v", tr, want)
	}
	checkOrder(t, data, 1, burst)
	dc := srv.DriverCounters()
	if got := dc.msgs[dirIn][ClassASPTM][messages.MsgTypeAspInactiveAck].Load(); got == 0 {
		t.Errorf("no ASPIA ACK reached the server")
	}
	if got := dc.msgs[dirIn][ClassASPSM][messages.MsgTypeAspDownAck].Load(); got == 0 {
		t.Errorf("no ASPDN ACK reached the server")
	}
}
