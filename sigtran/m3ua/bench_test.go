package m3ua

import (
	"testing"
	"time"

	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// benchData is a DATA message with a routing context and a 100-byte payload,
// the size of a typical SCCP UDT carrying a TCAP Begin.
func benchData() UserData {
	return UserData{RC: 1, HasRC: true, OPC: 1234, DPC: 4321, SI: 3, NI: 2, SLS: 11, Payload: make([]byte, 100)}
}

func BenchmarkDecodeData(b *testing.B) {
	msg, err := Encode(NewData(benchData()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		m, err := Decode(msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, pe := UserDataOf(m.(*messages.Data)); pe != nil {
			b.Fatal(pe)
		}
	}
}

func BenchmarkEncodeData(b *testing.B) {
	u := benchData()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(NewData(u)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendData is the drivers' DATA encode path: into a buffer that
// is reused, it must not allocate (run with -benchmem: 0 allocs/op).
func BenchmarkAppendData(b *testing.B) {
	u := benchData()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = AppendData(buf[:0], u)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkSGPReceiveData is the SGP's receive path for one DATA from an
// active ASP: decode, checks, the DataReceived event, and Ready.
func BenchmarkSGPReceiveData(b *testing.B) {
	now := time.Unix(1_000_000, 0)
	s, msg := activeSGP(b, now)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		s.Receive(now, 1, 3, msg)
		if r := s.Ready(); len(r.Events) != 1 || len(r.Sends) != 0 {
			b.Fatalf("outputs %+v", r)
		}
	}
}

// BenchmarkASPReceiveData is the ASP's (the Client's) receive path for one
// DATA from the SGP: decode, checks, the DataReceived event, and Ready.
func BenchmarkASPReceiveData(b *testing.B) {
	now := time.Unix(1_000_000, 0)
	s, msg := activeASP(b, now)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		s.Receive(now, 3, msg)
		if r := s.Ready(); len(r.Events) != 1 || len(r.Sends) != 0 {
			b.Fatalf("outputs %+v", r)
		}
	}
}

// activeSGP is an SGP with one ASP-ACTIVE ASP on association 1, and a DATA
// message for its AS.
func activeSGP(tb testing.TB, now time.Time) (*SGP, []byte) {
	s := NewSGP(SGPConfig{ASes: []ASConfig{{RC: 1, Mode: Loadshare}}})
	s.AssocUp(now, 1, 16)
	for _, m := range []messages.M3UA{messages.NewAspUp(nil, nil), messages.NewAspActive(nil, nil, nil)} {
		enc, err := Encode(m)
		if err != nil {
			tb.Fatal(err)
		}
		s.Receive(now, 1, 0, enc)
	}
	s.Ready()
	if s.ASPState(1) != ASPActive {
		tb.Fatal("ASP not active")
	}
	msg, err := AppendData(nil, benchData())
	if err != nil {
		tb.Fatal(err)
	}
	return s, msg
}

// activeASP is an ASP-ACTIVE ASP, and a DATA message for its AS.
func activeASP(tb testing.TB, now time.Time) (*ASP, []byte) {
	s := NewASP(ASPConfig{RCs: []uint32{1}, Mode: Loadshare, AutoActivate: true})
	s.AssocUp(now, 1, 16)
	for _, m := range []messages.M3UA{
		messages.NewAspUpAck(nil, nil),
		messages.NewAspActiveAck(params.NewTrafficModeType(uint32(Loadshare)), params.NewRoutingContext(1), nil),
	} {
		enc, err := Encode(m)
		if err != nil {
			tb.Fatal(err)
		}
		s.Receive(now, 0, enc)
	}
	s.Ready()
	if s.State() != ASPActive {
		tb.Fatalf("ASP %v, not active", s.State())
	}
	msg, err := AppendData(nil, benchData())
	if err != nil {
		tb.Fatal(err)
	}
	return s, msg
}

// TestReceiveDataAllocs: once warm, an SGP or ASP takes one DATA with a
// single allocation, the DataReceived event boxed into an Event.
func TestReceiveDataAllocs(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	sgp, msg := activeSGP(t, now)
	asp, _ := activeASP(t, now)
	for name, recv := range map[string]func() Ready{
		"SGP": func() Ready { sgp.Receive(now, 1, 3, msg); return sgp.Ready() },
		"ASP": func() Ready { asp.Receive(now, 3, msg); return asp.Ready() },
	} {
		recv()
		recv() // both of Ready's array sets exist
		n := testing.AllocsPerRun(100, func() {
			if r := recv(); len(r.Events) != 1 || len(r.Sends) != 0 {
				t.Fatalf("%s outputs %+v", name, r)
			}
		})
		if n > 1 {
			t.Errorf("%s: %v allocations per DATA received, want 1", name, n)
		}
	}
}
