package enrp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/sigpool/sigpool/rserpool"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// Golden messages assembled by hand from the layouts of RFC 5353 (ENRP
// messages; flag bits as Wireshark's ENRP dissector reads them) and RFC 5354
// (parameters); never produced by our encoder.
var (
	// Pool Handle parameter "EchoPool": type 0x0009, length 12.
	goldenHandle = h("00 09 00 0c 45 63 68 6f 50 6f 6f 6c")

	// A Pool Element parameter: PE 0x01020304, home 0x0a0b0c0d, life
	// 15000 ms, SCTP transport 10.99.0.1:8000 data-only, round robin.
	goldenElement = cat(
		h("00 0a 00 28"), // Pool Element parameter, length 40
		h("01 02 03 04"), //   PE identifier
		h("0a 0b 0c 0d"), //   home ENRP server identifier
		h("00 00 3a 98"), //   registration life 15000 ms
		h("00 04 00 10"), //   SCTP Transport parameter, length 16
		h("1f 40 00 00"), //     port 8000, transport use 0 = data only
		h("00 01 00 08"), //     IPv4 Address parameter, length 8
		h("0a 63 00 01"), //       10.99.0.1
		h("00 08 00 08"), //   Policy parameter, length 8
		h("00 00 00 01"), //     policy type Round Robin (no value)
	)
	goldenElementValue = rserpool.PoolElement{
		ID: 0x01020304, HomeRegistrar: 0x0a0b0c0d, RegistrationLife: 15000,
		UserTransport: rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: 8000, Use: rserpool.DataOnly,
			Addrs: []netip.Addr{netip.MustParseAddr("10.99.0.1")}},
		Policy: rserpool.Policy{Type: rserpool.RoundRobin},
	}

	// Server Information of registrar 0x0a0b0c0d at 10.99.0.2:9901.
	goldenServerInfo = cat(
		h("00 0b 00 18"), // Server Information parameter, length 24
		h("0a 0b 0c 0d"), //   server identifier
		h("00 04 00 10"), //   SCTP Transport parameter, length 16
		h("26 ad 00 00"), //     port 9901, transport use 0
		h("00 01 00 08"), //     IPv4 Address parameter, length 8
		h("0a 63 00 02"), //       10.99.0.2
	)
	goldenServerInfoValue = rserpool.ServerInformation{ServerID: 0x0a0b0c0d,
		Transport: rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: 9901,
			Addrs: []netip.Addr{netip.MustParseAddr("10.99.0.2")}}}
)

var goldens = []struct {
	name string
	wire []byte
	msg  Message
}{
	{"presence with reply required and server information", cat(
		h("01 01 00 2c"), // type 0x01 ENRP_PRESENCE, flags R, length 44
		h("0a 0b 0c 0d"), // sending server's ID
		h("00 00 00 07"), // receiving server's ID
		h("00 0f 00 06"), // PE Checksum parameter, length 6
		h("be ef 00 00"), //   checksum 0xbeef, 2 bytes padding
		goldenServerInfo,
	), &Presence{Servers: Servers{0x0a0b0c0d, 7}, ReplyRequired: true, Checksum: 0xbeef, Info: &goldenServerInfoValue}},

	{"presence without server information", cat(
		h("01 00 00 14"), // ENRP_PRESENCE, no flags, length 20
		h("00 00 00 01 00 00 00 02"),
		h("00 0f 00 06 ff ff 00 00"), // PE Checksum 0xffff (no elements)
	), &Presence{Servers: Servers{1, 2}, Checksum: 0xffff}},

	{"handle table request, own children only", cat(
		h("02 01 00 0c"), // type 0x02, flags W, length 12
		h("00 00 00 01 00 00 00 02"),
	), &HandleTableRequest{Servers: Servers{1, 2}, OwnChildrenOnly: true}},

	{"handle table response, more to send", nil, nil}, // set in init

	{"handle table response, rejected", cat(
		h("03 01 00 0c"), // type 0x03, flags R (0x01), length 12
		h("00 00 00 02 00 00 00 01"),
	), &HandleTableResponse{Servers: Servers{2, 1}, Reject: true}},

	{"handle update, delete", cat(
		h("04 00 00 44"), // type 0x04, no flags, length 68
		h("0a 0b 0c 0d 00 00 00 00"),
		h("00 01 00 00"), // update action 1 = DEL_PE, reserved
		goldenHandle,
		goldenElement,
	), &HandleUpdate{Servers: Servers{0x0a0b0c0d, 0}, Action: DelPE, PoolHandle: []byte("EchoPool"), Element: goldenElementValue}},

	{"list request", h("05 00 00 0c 00 00 00 01 00 00 00 00"),
		&ListRequest{Servers: Servers{1, 0}}},

	{"list response", cat(
		h("06 00 00 24"), // type 0x06, no flags, length 36
		h("00 00 00 02 00 00 00 01"),
		goldenServerInfo,
	), &ListResponse{Servers: Servers{2, 1}, Registrars: []rserpool.ServerInformation{goldenServerInfoValue}}},

	{"init takeover", h("07 00 00 10 00 00 00 01 00 00 00 02 00 00 00 03"), // sender 1, receiver 2, target 3
		&InitTakeover{Servers: Servers{1, 2}, Target: 3}},
	{"init takeover ack", h("08 00 00 10 00 00 00 02 00 00 00 01 00 00 00 03"),
		&InitTakeoverAck{Servers: Servers{2, 1}, Target: 3}},
	{"takeover server", h("09 00 00 10 00 00 00 01 00 00 00 00 00 00 00 03"),
		&TakeoverServer{Servers: Servers{1, 0}, Target: 3}},

	{"error, unrecognized message", cat(
		h("0a 00 00 1c"), // type 0x0a, length 28
		h("00 00 00 01 00 00 00 02"),
		h("00 0c 00 10"),             // Operation Error parameter, length 16
		h("00 02 00 0c"),             //   cause 2 = Unrecognized Message, length 12
		h("42 00 00 08 00 00 00 00"), // the message: type 0x42, length 8
	), &ErrorMessage{Servers: Servers{1, 2}, Causes: []rserpool.ErrorCause{{Code: rserpool.CauseUnrecognizedMessage,
		Info: h("42 00 00 08 00 00 00 00")}}}},
}

func init() {
	// The handle table response with two pools: "EchoPool" with one
	// element, "X" with the same element.
	goldens[3].wire = cat(
		h("03 02 00 70"), // type 0x03, flags M (0x02), length 112
		h("00 00 00 02 00 00 00 01"),
		goldenHandle,                 // pool "EchoPool"
		goldenElement,                //   one element (40 bytes)
		h("00 09 00 05 58 00 00 00"), // pool "X": length 5, 3 bytes padding
		goldenElement,                //   the same element
	)
	goldens[3].msg = &HandleTableResponse{Servers: Servers{2, 1}, More: true, Pools: []PoolEntry{
		{Handle: []byte("EchoPool"), Elements: []rserpool.PoolElement{goldenElementValue}},
		{Handle: []byte("X"), Elements: []rserpool.PoolElement{goldenElementValue}},
	}}
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			m, report, err := Decode(g.wire)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(report) != 0 {
				t.Fatalf("report %v", report)
			}
			if !reflect.DeepEqual(m, g.msg) {
				t.Fatalf("decoded\n got %#v\nwant %#v", m, g.msg)
			}
			out, err := Marshal(g.msg)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if !bytes.Equal(out, g.wire) {
				t.Fatalf("encoded\n got % x\nwant % x", out, g.wire)
			}
			// Appending keeps what the buffer held.
			out2, _ := g.msg.AppendTo([]byte{0xaa})
			if out2[0] != 0xaa || !bytes.Equal(out2[1:], g.wire) {
				t.Fatalf("append: % x", out2)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, c := range []struct {
		name  string
		wire  []byte
		cause rserpool.Cause
	}{
		{"short", h("01 00 00 0c 00 00"), rserpool.CauseInvalidValues},
		{"length beyond data", h("05 00 00 10 00 00 00 01 00 00 00 00"), rserpool.CauseInvalidValues},
		{"length below header", h("05 00 00 08 00 00 00 01 00 00 00 00"), rserpool.CauseInvalidValues},
		{"unknown type", h("42 00 00 0c 00 00 00 01 00 00 00 00"), rserpool.CauseUnrecognizedMessage},
		{"type zero", h("00 00 00 0c 00 00 00 01 00 00 00 00"), rserpool.CauseUnrecognizedMessage},
		{"presence without checksum", h("01 00 00 0c 00 00 00 01 00 00 00 00"), rserpool.CauseInvalidValues},
		{"presence with two checksums", h("01 00 00 1c 00 00 00 01 00 00 00 00 00 0f 00 06 00 01 00 00 00 0f 00 06 00 01 00 00"), rserpool.CauseInvalidValues},
		{"takeover without target", h("07 00 00 0c 00 00 00 01 00 00 00 00"), rserpool.CauseInvalidValues},
		{"takeover with trailing bytes", h("07 00 00 14 00 00 00 01 00 00 00 00 00 00 00 03 00 00 00 00"), rserpool.CauseInvalidValues},
		{"update with unknown action", cat(h("04 00 00 44 00 00 00 01 00 00 00 00 00 02 00 00"), goldenHandle, goldenElement), rserpool.CauseInvalidValues},
		{"update without element", cat(h("04 00 00 1c 00 00 00 01 00 00 00 00 00 00 00 00"), goldenHandle), rserpool.CauseInvalidValues},
		{"table response element before handle", cat(h("03 00 00 34 00 00 00 01 00 00 00 00"), goldenElement), rserpool.CauseInvalidValues},
		{"table response handle without element", cat(h("03 00 00 18 00 00 00 01 00 00 00 00"), goldenHandle), rserpool.CauseInvalidValues},
		{"known parameter out of place", cat(h("05 00 00 18 00 00 00 01 00 00 00 00"), goldenHandle), rserpool.CauseInvalidValues},
		{"unknown parameter, stop and report", h("05 00 00 14 00 00 00 01 00 00 00 00 40 99 00 08 00 00 00 00"), rserpool.CauseUnrecognizedParameter},
		{"error without operation error", h("0a 00 00 0c 00 00 00 01 00 00 00 00"), rserpool.CauseInvalidValues},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Decode(c.wire)
			var e *rserpool.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *rserpool.Error", err)
			}
			if e.Cause != c.cause {
				t.Fatalf("cause %v (%v), want %v", e.Cause, e, c.cause)
			}
		})
	}
}

func TestDecodeSkipsUnknown(t *testing.T) {
	// A list request with an unknown parameter 0xc099 (skip and report)
	// and rsplib's Handle Resolution Option 0x803f (skip): decoded, the
	// first reported.
	b := h("05 00 00 1c 00 00 00 01 00 00 00 00 c0 99 00 08 01 02 03 04 80 3f 00 08 00 00 00 03")
	m, report, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*ListRequest); !ok {
		t.Fatalf("got %#v", m)
	}
	if len(report) != 1 || report[0].Type != 0xc099 {
		t.Fatalf("report %v", report)
	}
	// Trailing padding after the message is tolerated, more is not.
	if _, _, err := Decode(append(h("05 00 00 0c 00 00 00 01 00 00 00 00"), 0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Decode(append(h("05 00 00 0c 00 00 00 01 00 00 00 00"), 0, 0, 0, 0)); err == nil {
		t.Fatal("4 trailing bytes accepted")
	}
}

func TestEncodeRejects(t *testing.T) {
	if _, err := Marshal(&ErrorMessage{}); err == nil {
		t.Fatal("ENRP_ERROR without cause encoded")
	}
	if _, err := Marshal(&HandleTableResponse{Pools: []PoolEntry{{Handle: []byte("p")}}}); err == nil {
		t.Fatal("pool without elements encoded")
	}
	big := &HandleTableResponse{}
	for i := 0; i < 2000; i++ {
		big.Pools = append(big.Pools, PoolEntry{Handle: []byte("EchoPool"), Elements: []rserpool.PoolElement{goldenElementValue}})
	}
	buf := []byte{1, 2}
	out, err := big.AppendTo(buf)
	if err == nil || len(out) != 2 {
		t.Fatalf("oversized message: %v, %d bytes", err, len(out))
	}
}

func TestMessageTypeString(t *testing.T) {
	if MsgTakeoverServer.String() != "ENRP_TAKEOVER_SERVER" || MessageType(0x42).String() != "MessageType(0x42)" {
		t.Fatal(MsgTakeoverServer.String())
	}
}
