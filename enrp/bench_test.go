package enrp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

func benchElement(id uint32) rserpool.PoolElement {
	return rserpool.PoolElement{ID: id, RegistrationLife: 30000, Policy: rserpool.Policy{Type: rserpool.RoundRobin},
		UserTransport: rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: 2905,
			Addrs: []netip.Addr{netip.MustParseAddr("10.1.0.1")}}}
}

// BenchmarkRegistration: one registration (decoded from bytes, answered,
// announced to two peers) per iteration, over 1000 elements.
func BenchmarkRegistration(b *testing.B) {
	now := time.Unix(1_000_000, 0)
	r := New(Config{ServerID: 1})
	c := r.Accepted(now, ASAP, sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.1.0.1")}})
	for _, id := range []uint32{2, 3} {
		p := r.Accepted(now, ENRP, sctp.Addr{})
		r.ENRPMessage(now, p, &Presence{Servers: Servers{Sender: id}, Checksum: 0xffff})
	}
	r.Ready()
	msgs := make([][]byte, 1000)
	for i := range msgs {
		msgs[i], _ = rserpool.Marshal(&rserpool.Registration{PoolHandle: []byte(fmt.Sprintf("pool-%d", i%10)), Element: benchElement(uint32(i + 1))})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.ASAPBytes(now, c, msgs[i%len(msgs)])
		r.Ready()
	}
}

// BenchmarkHandleResolution: one handle resolution (decoded, 3 of 100
// elements selected, answered) per iteration.
func BenchmarkHandleResolution(b *testing.B) {
	now := time.Unix(1_000_000, 0)
	r := New(Config{ServerID: 1, ResolutionRate: 1 << 30, ResolutionBurst: 1 << 30})
	c := r.Accepted(now, ASAP, sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.1.0.1")}})
	for i := 1; i <= 100; i++ {
		r.ASAPMessage(now, c, &rserpool.Registration{PoolHandle: []byte("P"), Element: benchElement(uint32(i))})
	}
	r.Ready()
	req, _ := rserpool.Marshal(&rserpool.HandleResolution{PoolHandle: []byte("P"), HasItems: true, Items: 3})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.ASAPBytes(now, c, req)
		if rd := r.Ready(); len(rd.Sends) != 1 {
			b.Fatal(rd)
		}
	}
}
