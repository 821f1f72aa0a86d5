package asp

import (
	"math/rand/v2"
	"testing"

	"github.com/sigpool/sigpool/enrp"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// BenchmarkTIDNext: one allocation of a transaction id with a thousand
// dialogues of the same tag held.
func BenchmarkTIDNext(b *testing.B) {
	tids := NewTIDs(0x0102, 0)
	held := map[uint32]bool{}
	for i := range 1000 {
		held[0x0102_0000|uint32(i*7)] = true
	}
	inUse := func(t uint32) bool { return held[t] }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tids.Next(inUse); err != nil {
			b.Fatal(err)
		}
	}
}

// ender answers every Begin with an End at once.
type ender struct{ NopHandler }

func (ender) Begin(d *Dialogue, _ *tcap.Message) { d.End(nil, nil) }

// BenchmarkDialogueBeginEnd: one whole dialogue through the server, over
// in-memory SCTP: a stand-in gateway sends a Begin, the server allocates a
// transaction id, hands it to the handler, which ends it; the End and the
// empty checkpoint go back. Sequential (one dialogue in flight), so the
// figure is the round trip through both M3UA drivers and the server.
func BenchmarkDialogueBeginEnd(b *testing.B) {
	net := sctptest.NewNetwork()
	reg, err := enrp.NewDriver(enrp.DriverConfig{Transport: net, ASAPAddr: sa("10.0.0.1", rserpool.Port)}, enrp.Config{ServerID: 1})
	if err != nil {
		b.Fatal(err)
	}
	reg.Start()
	defer reg.Close(true)
	out := newSink()
	gw := newStandIn(b, 0, net, sa("10.0.0.1", 2906), out)
	defer gw.close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-out.cookies:
			case <-stop:
				return
			}
		}
	}()
	s, err := New(Config{
		Transport: net, Local: sa("10.0.0.11", 0), Gateways: []sctp.Addr{gw.ln.Addr()},
		Registrars: []sctp.Addr{sa("10.0.0.1", rserpool.Port)}, PoolHandle: pool, Capacity: 1000,
		PEID: 0x0001_0001, RC: serviceRC, HasRC: true, Rand: rand.New(rand.NewPCG(1, 2)),
	}, ender{})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	a := gw.assocOf(0x0001_0001)
	begins := make([]tcap.Message, 256)
	for i := range begins {
		begins[i] = netBegin(uint32(i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		gw.send(a, uint8(i), begins[i&255])
		if r := <-out.data; len(r.data.Payload) == 0 {
			b.Fatal("empty answer")
		}
		i++
	}
	if c := s.Counters(); c.Active != 0 || c.SendFailed != 0 {
		b.Fatalf("counters %+v", c)
	}
}
