package m3ua

import (
	"bytes"
	"errors"
	"testing"

	"github.com/wmnsk/go-m3ua/messages"
)

// AppendData writes what go-m3ua's encoder writes for the same DATA, for
// every padding case, with and without a routing context, after a prefix
// already in dst; and what it writes decodes strictly to the same user data.
func TestAppendDataMatchesEncode(t *testing.T) {
	for _, hasRC := range []bool{false, true} {
		for n := 0; n <= 9; n++ {
			u := UserData{RC: 0x01020304, HasRC: hasRC, OPC: 0x00aabbcc, DPC: 0x00112233, SI: 3, NI: 2, MP: 1, SLS: 0x0f, Payload: bytes.Repeat([]byte{0xa5}, n)}
			want, err := Encode(NewData(u))
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte{9, 9, 9}
			got, err := AppendData(append([]byte(nil), prefix...), u)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[:3], prefix) || !bytes.Equal(got[3:], want) {
				t.Fatalf("rc=%v len=%d:\n got % x\nwant % x", hasRC, n, got[3:], want)
			}
			m, err := Decode(got[3:])
			if err != nil {
				t.Fatalf("rc=%v len=%d: %v", hasRC, n, err)
			}
			back, pe := UserDataOf(m.(*messages.Data))
			if pe != nil {
				t.Fatal(pe)
			}
			if back.String() != u.String() || !bytes.Equal(back.Payload, u.Payload) {
				t.Fatalf("round trip: %v, want %v", back, u)
			}
		}
	}
}

func TestAppendDataLimits(t *testing.T) {
	u := UserData{Payload: make([]byte, maxDataBytes)}
	b, err := AppendData(nil, u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(b); err != nil {
		t.Fatalf("largest DATA does not decode: %v", err)
	}
	u.Payload = make([]byte, maxDataBytes+1)
	dst := []byte{1}
	out, err := AppendData(dst, u)
	if !errors.Is(err, ErrPayloadTooLong) || len(out) != 1 {
		t.Fatalf("too long: %v, len %d", err, len(out))
	}
}

// The encode path allocates nothing once the buffer has room.
func TestAppendDataAllocs(t *testing.T) {
	u := benchData()
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = AppendData(buf[:0], u)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per AppendData", allocs)
	}
}
