package m3ua

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

// An SGP that declared a destination unavailable (DUNA) is passed over for
// data to it while another SGP is not; SendDataTo sends on the named
// association and refuses one that declared the destination unavailable.
func TestClientAvoidsSGPThatDeclaredDUNA(t *testing.T) {
	const gone, fine = 777, 778
	net := sctptest.NewNetwork()
	sgp2 := sctp.Addr{IPs: addrs("10.0.1.2", "10.0.2.2"), Port: 2905}
	sinks := []*sink{newSink(), newSink()}
	var srvs []*Server
	for i, addr := range []sctp.Addr{sgpAddr, sgp2} {
		ln, err := net.Listen(addr)
		if err != nil {
			t.Fatal(err)
		}
		srv := NewServer(ServerConfig{SGP: SGPConfig{ASes: []ASConfig{{RC: 1, Mode: Loadshare}}}, Handlers: sinks[i].handlers()})
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		srvs = append(srvs, srv)
	}
	c := startClient(t, ClientConfig{
		ASP:       ASPConfig{AutoActivate: true},
		Transport: net, Local: aspAddr(1), SGPs: []sctp.Addr{sgpAddr, sgp2},
		Backoff: Backoff{Initial: time.Hour},
	})
	waitActive(t, c, 2)
	srvs[0].SetDestination(gone, DestUnavailable)
	deadline := time.Now().Add(waitLong)
	for {
		l := c.links[0]
		l.mu.Lock()
		st, _ := l.asp.Reachable(gone)
		l.mu.Unlock()
		if st == DestUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ASP never heard SGP 1's DUNA for %d (status %v)", gone, st)
		}
		time.Sleep(5 * time.Millisecond)
	}

	for sls := range 16 {
		if err := c.SendData(UserData{RC: 1, HasRC: true, DPC: gone, SLS: uint8(sls), Payload: payload(0, uint32(sls))}); err != nil {
			t.Fatal(err)
		}
	}
	sinks[1].waitFor(t, "DATA for the unavailable destination at SGP 2", func() bool { return len(sinks[1].data) == 16 })
	for sls := range 16 {
		if err := c.SendData(UserData{RC: 1, HasRC: true, DPC: fine, SLS: uint8(sls), Payload: payload(1, uint32(sls))}); err != nil {
			t.Fatal(err)
		}
	}
	sinks[0].waitFor(t, "DATA for the available destination at SGP 1", func() bool { return len(sinks[0].data) == 8 })
	sinks[1].waitFor(t, "DATA for the available destination at SGP 2", func() bool { return len(sinks[1].data) == 24 })

	if err := c.SendDataTo(1, UserData{RC: 1, HasRC: true, DPC: gone, SLS: 3}); !errors.Is(err, ErrNotUsable) {
		t.Errorf("SendDataTo the SGP that declared %d unavailable: %v, want ErrNotUsable", gone, err)
	}
	if err := c.SendDataTo(3, UserData{RC: 1, HasRC: true, DPC: fine}); err == nil {
		t.Error("SendDataTo association 3 of 2: no error")
	}
	for i := range 4 {
		if err := c.SendDataTo(1, UserData{RC: 1, HasRC: true, DPC: fine, SLS: uint8(2*i + 1), Payload: payload(2, uint32(i))}); err != nil {
			t.Fatal(err)
		}
	}
	sinks[0].waitFor(t, "DATA sent to association 1 by SendDataTo", func() bool { return len(sinks[0].data) == 12 })
	if got := fmt.Sprint(len(sinks[1].data)); got != "24" {
		t.Errorf("SGP 2 received %s messages, want 24 (SendDataTo went astray)", got)
	}
}
