package m3ua

import (
	"testing"

	"github.com/wmnsk/go-m3ua/messages"
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
