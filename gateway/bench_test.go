package gateway

import (
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// BenchmarkRouteMSU is the native cost of routing one MSU from the network:
// decode the M3UA DATA, its SCCP and TCAP parts, match the routing key,
// find the owner by tag (Continue) or select by policy (Begin), and encode
// the M3UA DATA for the chosen ASP into a reused buffer.
func BenchmarkRouteMSU(b *testing.B) {
	for _, bc := range []struct {
		name string
		tm   tcap.Message
	}{
		{"continue", tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(0x0a000001), HasOTID: true, DTID: tcap.TID32(0x00020007), HasDTID: true}},
		{"begin", tcap.Message{Kind: tcap.Begin, OTID: tcap.TID32(0x0a000001), HasOTID: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg, err := ParseConfig("t.yaml", []byte(transcriptConfig))
			if err != nil {
				b.Fatal(err)
			}
			p := newFakePools()
			c := NewCore(cfg, p)
			now := time.Unix(0, 0)
			for i := uint32(1); i <= 8; i++ {
				p.set("hlr", i, i*10)
				c.ServerState(now, m3ua.AssocID(i), i, true, []uint32{200})
			}
			c.Refresh(now)
			c.Ready()
			in, err := m3ua.Encode(m3ua.NewData(msu(b, bc.tm, 5)))
			if err != nil {
				b.Fatal(err)
			}
			out := make([]byte, 0, 512)
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				var u m3ua.UserData
				if isData, perr := m3ua.DecodeData(in, &u); !isData || perr != nil {
					b.Fatalf("DecodeData: data %v, %v", isData, perr)
				}
				c.NetworkData(now, 99, u)
				for _, a := range c.Ready() {
					if a.Kind != SendServer {
						b.Fatalf("action %s", describeAction(a))
					}
					if out, err = m3ua.AppendData(out[:0], a.Data); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkCoreRoute is the core's share of BenchmarkRouteMSU: SCCP and TCAP
// decoding, routing key, owner or policy, the action; no M3UA codec.
func BenchmarkCoreRoute(b *testing.B) {
	cfg, err := ParseConfig("t.yaml", []byte(transcriptConfig))
	if err != nil {
		b.Fatal(err)
	}
	p := newFakePools()
	c := NewCore(cfg, p)
	now := time.Unix(0, 0)
	for i := uint32(1); i <= 8; i++ {
		p.set("hlr", i, i*10)
		c.ServerState(now, m3ua.AssocID(i), i, true, []uint32{200})
	}
	c.Refresh(now)
	c.Ready()
	u := msu(b, tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(0x0a000001), HasOTID: true, DTID: tcap.TID32(0x00020007), HasDTID: true}, 5)
	b.ReportAllocs()
	for b.Loop() {
		c.NetworkData(now, 99, u)
		if len(c.Ready()) != 1 {
			b.Fatal("not routed")
		}
	}
}
