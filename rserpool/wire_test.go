package rserpool

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// h parses hex with spaces: h("00 09 00 0c").
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// Golden messages, assembled by hand from the figures of RFC 5352 (message
// layouts), RFC 5354 (parameter layouts) and RFC 5356 (policy parameters).
var (
	// Pool Handle "EchoPool": type 0x0009, length 12 (4 + 8), no padding.
	goldenHandle = h("00 09 00 0c 45 63 68 6f 50 6f 6f 6c")

	// ASAP_REGISTRATION of PE 0x01020304 into EchoPool.
	goldenRegistration = cat(
		h("01 00 00 3c"), // type 0x01, flags 0, message length 60
		goldenHandle,
		h("00 0a 00 2c"), // Pool Element parameter, length 44
		h("01 02 03 04"), //   PE identifier
		h("00 00 00 00"), //   home ENRP server identifier (none yet)
		h("00 04 93 e0"), //   registration life 300000 ms
		h("00 04 00 10"), //   SCTP Transport parameter, length 16
		h("1f 40 00 01"), //     port 8000, transport use 1 = data plus control
		h("00 01 00 08"), //     IPv4 Address parameter, length 8
		h("0a 63 00 01"), //       10.99.0.1
		h("00 08 00 0c"), //   Policy parameter, length 12
		h("40 00 00 01"), //     policy type Least Used
		h("40 00 00 00"), //     load 0x40000000 (25 %)
	)
	goldenRegistrationMsg = &Registration{
		PoolHandle: []byte("EchoPool"),
		Element: PoolElement{
			ID:               0x01020304,
			RegistrationLife: 300000,
			UserTransport: Transport{Kind: ParamSCTPTransport, Port: 8000, Use: DataPlusControl,
				Addrs: []netip.Addr{netip.MustParseAddr("10.99.0.1")}},
			Policy: Policy{Type: LeastUsed, Load: 0x40000000},
		},
	}

	// ASAP_HANDLE_RESOLUTION as rsplib sends it: the pool handle and the
	// Handle Resolution Option asking for 3 items.
	goldenHandleResolution = cat(
		h("05 00 00 18"), // type 0x05, flags 0, length 24
		goldenHandle,
		h("80 3f 00 08"), // Handle Resolution Option (0x803f: skip if unknown), length 8
		h("00 00 00 03"), //   items: 3
	)

	// ASAP_ENDPOINT_KEEP_ALIVE with the H flag.
	goldenKeepAlive = cat(
		h("07 01 00 10"), // type 0x07, flags H, length 16
		h("0a 0b 0c 0d"), // server identifier of the sending registrar
		h("00 09 00 08"), // Pool Handle, length 8
		h("70 6f 6f 6c"), //   "pool"
	)

	// ASAP_REGISTRATION_RESPONSE, rejected: Inconsistent Pooling Policy.
	goldenRegRespReject = cat(
		h("03 01 00 24"), // type 0x03, flags R, length 36
		h("00 09 00 06"), // Pool Handle, length 6
		h("61 62 00 00"), //   "ab" and 2 bytes of padding
		h("00 0e 00 08"), // PE Identifier, length 8
		h("01 02 03 04"), //   0x01020304
		h("00 0c 00 10"), // Operation Error, length 16
		h("00 05 00 0c"), //   cause 0x5 Inconsistent Pooling Policy, length 12
		h("00 08 00 08"), //     the offending Policy parameter, length 8
		h("00 00 00 01"), //       Round Robin
	)

	// ASAP_SERVER_ANNOUNCE with one multihomed SCTP transport.
	goldenServerAnnounce = cat(
		h("0a 00 00 2c"),             // type 0x0a, length 44 = 4 + 4 + 36
		h("00 00 00 2a"),             // server identifier 42
		h("00 04 00 24"),             // SCTP Transport, length 36 = 4 + 4 + 8 + 20
		h("0f 17 00 01"),             //   port 3863, data plus control
		h("00 01 00 08 0a 00 00 01"), // IPv4 10.0.0.1
		h("00 02 00 14 20 01 0d b8 00 00 00 00 00 00 00 00"), // IPv6 2001:db8::1 …
		h("00 00 00 01"), // … last 4 bytes of the IPv6 address
	)

	// ASAP_COOKIE with a 5-byte cookie: the parameter's length says 9 and
	// three zero bytes pad it to 12.
	goldenCookie = cat(
		h("0b 00 00 10"),             // type 0x0b, length 16
		h("00 0d 00 09 63 6f 6f 6b"), // Cookie, length 9: "cook"
		h("69 00 00 00"),             //   "i" and 3 bytes of padding
	)
)

func TestGoldenEncode(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Message
		want []byte
	}{
		{"registration", goldenRegistrationMsg, goldenRegistration},
		{"handle resolution", &HandleResolution{PoolHandle: []byte("EchoPool"), HasItems: true, Items: 3}, goldenHandleResolution},
		{"keep alive", &EndpointKeepAlive{Home: true, ServerID: 0x0a0b0c0d, PoolHandle: []byte("pool")}, goldenKeepAlive},
		{"registration response", &RegistrationResponse{Reject: true, PoolHandle: []byte("ab"), ID: 0x01020304,
			Causes: []ErrorCause{{Code: CauseInconsistentPoolingPolicy, Info: h("00 08 00 08 00 00 00 01")}}}, goldenRegRespReject},
		{"server announce", &ServerAnnounce{ServerID: 42, Transports: []Transport{{Kind: ParamSCTPTransport, Port: 3863,
			Use: DataPlusControl, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")}}}}, goldenServerAnnounce},
		{"cookie", &Cookie{Cookie: []byte("cooki")}, goldenCookie},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte{0xee} // AppendTo must append, not overwrite
			got, err := tc.m.AppendTo(prefix)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[1:], tc.want) || got[0] != 0xee {
				t.Fatalf("encoding\n got %x\nwant %x", got[1:], tc.want)
			}
			back, report, err := DecodeMessage(tc.want)
			if err != nil || report != nil {
				t.Fatalf("decode: %v, report %v", err, report)
			}
			if !reflect.DeepEqual(back, tc.m) {
				t.Fatalf("decode\n got %#v\nwant %#v", back, tc.m)
			}
		})
	}
}

func TestPEChecksumParameter(t *testing.T) {
	// Type 0x000f, length 6, checksum 0xabcd, 2 bytes of padding.
	want := h("00 0f 00 06 ab cd 00 00")
	if got := AppendPEChecksum(nil, 0xabcd); !bytes.Equal(got, want) {
		t.Fatalf("got %x want %x", got, want)
	}
	p, rest, _, err := DecodeParameter(want)
	if err != nil || p.Checksum != 0xabcd || len(rest) != 0 {
		t.Fatalf("decode: %+v %x %v", p, rest, err)
	}
}

// Every message type survives encode → decode unchanged.
func TestRoundTripAllMessages(t *testing.T) {
	pe := goldenRegistrationMsg.Element
	pe2 := PoolElement{ID: 7, HomeRegistrar: 9, RegistrationLife: 1000,
		UserTransport: Transport{Kind: ParamTCPTransport, Port: 2905, Use: DataOnly, Addrs: []netip.Addr{netip.MustParseAddr("::1")}},
		Policy:        Policy{Type: LeastUsedWithDegradation, Load: 5, LoadDegradation: 6},
		ASAPTransport: &Transport{Kind: ParamSCTPTransport, Port: 3863, Use: DataOnly, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}},
	}
	pe3 := PoolElement{ID: 8, UserTransport: Transport{Kind: ParamUDPTransport, Port: 53, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.3")}},
		Policy: Policy{Type: WeightedRandom, Weight: 3}}
	handle := []byte("EchoPool")
	causes := []ErrorCause{{Code: CauseUnknownPoolHandle}, {Code: CauseLackOfResources, Info: []byte{1, 2, 3}}}
	msgs := []Message{
		goldenRegistrationMsg,
		&Registration{PoolHandle: handle, Element: pe2},
		&Deregistration{PoolHandle: handle, ID: 7},
		&RegistrationResponse{PoolHandle: handle, ID: 7},
		&RegistrationResponse{Reject: true, PoolHandle: handle, ID: 7, Causes: causes},
		&DeregistrationResponse{PoolHandle: handle, ID: 7},
		&DeregistrationResponse{PoolHandle: handle, ID: 7, Causes: causes[:1]},
		&HandleResolution{PoolHandle: handle},
		&HandleResolution{PoolHandle: handle, HasItems: true, Items: 0xffffffff},
		&HandleResolutionResponse{PoolHandle: handle, Policy: &Policy{Type: PriorityLeastUsed, Load: 1, LoadDegradation: 2},
			Elements: []PoolElement{pe, pe2, pe3}},
		&HandleResolutionResponse{PoolHandle: handle, Causes: causes[:1]},
		&EndpointKeepAlive{ServerID: 1, PoolHandle: handle},
		&EndpointKeepAlive{Home: true, ServerID: 1, PoolHandle: handle, HasID: true, ID: 8},
		&EndpointKeepAliveAck{PoolHandle: handle, ID: 8},
		&EndpointUnreachable{PoolHandle: handle, ID: 8},
		&ServerAnnounce{ServerID: 5},
		&ServerAnnounce{ServerID: 5, Transports: []Transport{pe.UserTransport, pe3.UserTransport}},
		&Cookie{Cookie: []byte{}},
		&CookieEcho{Cookie: bytes.Repeat([]byte{0xa5}, 1001)},
		&BusinessCard{PoolHandle: handle, Elements: []PoolElement{pe2}},
		&ErrorMessage{Causes: causes},
	}
	var buf []byte
	for _, m := range msgs {
		var err error
		buf, err = m.AppendTo(buf[:0])
		if err != nil {
			t.Fatalf("%v: %v", m.Type(), err)
		}
		if len(buf)%4 != 0 {
			t.Errorf("%v: %d bytes, not a multiple of 4", m.Type(), len(buf))
		}
		back, _, err := DecodeMessage(buf)
		if err != nil {
			t.Fatalf("%v: %v", m.Type(), err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("%v:\n got %#v\nwant %#v", m.Type(), back, m)
		}
	}
}

func TestPolicyParameters(t *testing.T) {
	// One golden per policy type (RFC 5356, section 4): type 0x0008, the
	// length, the 32-bit policy type, then its fields.
	for _, tc := range []struct {
		p    Policy
		wire string
	}{
		{Policy{Type: RoundRobin}, "0008 0008 00000001"},
		{Policy{Type: WeightedRoundRobin, Weight: 5}, "0008 000c 00000002 00000005"},
		{Policy{Type: Random}, "0008 0008 00000003"},
		{Policy{Type: WeightedRandom, Weight: 7}, "0008 000c 00000004 00000007"},
		{Policy{Type: Priority, Priority: 9}, "0008 000c 00000005 00000009"},
		{Policy{Type: LeastUsed, Load: 0xffffffff}, "0008 000c 40000001 ffffffff"},
		{Policy{Type: LeastUsedWithDegradation, Load: 1, LoadDegradation: 2}, "0008 0010 40000002 00000001 00000002"},
		{Policy{Type: PriorityLeastUsed, Load: 3, LoadDegradation: 4}, "0008 0010 40000003 00000003 00000004"},
		{Policy{Type: RandomizedLeastUsed, Load: 8}, "0008 000c 40000004 00000008"},
	} {
		want := h(tc.wire)
		got, err := tc.p.AppendTo(nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%v: got %x, %v; want %x", tc.p.Type, got, err, want)
		}
		p, _, _, err := DecodeParameter(want)
		if err != nil || p.Policy != tc.p {
			t.Errorf("%v: decoded %+v, %v", tc.p.Type, p.Policy, err)
		}
	}
}

func wantCause(t *testing.T, err error, c Cause) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if e.Cause != c {
		t.Fatalf("cause %v (%v), want %v", e.Cause, e, c)
	}
	return e
}

// Deregistration of PE 1 from "pool", with a parameter of type x (value
// 0xdeadbeef) between the pool handle and the PE identifier.
func deregWith(x string) []byte {
	return cat(
		h("02 00 00 1c"), // ASAP_DEREGISTRATION, length 28
		h("00 09 00 08 70 6f 6f 6c"),
		h(x+" 00 08 de ad be ef"), // unknown parameter, length 8
		h("00 0e 00 08 00 00 00 01"),
	)
}

func TestUnrecognizedParameterActions(t *testing.T) {
	// 00: stop, discard, do not report.
	_, _, err := DecodeMessage(deregWith("00 40"))
	e := wantCause(t, err, CauseUnrecognizedParameter)
	if !e.Silent {
		t.Error("action 00 must be silent")
	}
	// 01: stop, discard, report the parameter.
	_, _, err = DecodeMessage(deregWith("40 40"))
	e = wantCause(t, err, CauseUnrecognizedParameter)
	if e.Silent || !bytes.Equal(e.Info, h("40 40 00 08 de ad be ef")) {
		t.Errorf("action 01: silent %v, info %x", e.Silent, e.Info)
	}
	want := &Deregistration{PoolHandle: []byte("pool"), ID: 1}
	// 10: skip silently.
	m, report, err := DecodeMessage(deregWith("80 40"))
	if err != nil || report != nil || !reflect.DeepEqual(m, want) {
		t.Errorf("action 10: %#v %v %v", m, report, err)
	}
	// 11: skip and report.
	m, report, err = DecodeMessage(deregWith("c0 40"))
	if err != nil || !reflect.DeepEqual(m, want) || len(report) != 1 ||
		!bytes.Equal(report[0].TLV, h("c0 40 00 08 de ad be ef")) {
		t.Errorf("action 11: %#v %v %v", m, report, err)
	}
}

func TestMissingFinalPadding(t *testing.T) {
	// ASAP_COOKIE_ECHO whose last parameter is not padded and whose
	// message length stops at the parameter's end.
	b := cat(h("0c 00 00 0a"), h("00 0d 00 06 41 42"))
	m, _, err := DecodeMessage(b)
	if err != nil || !bytes.Equal(m.(*CookieEcho).Cookie, []byte("AB")) {
		t.Fatalf("%#v %v", m, err)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []byte
		cause Cause
	}{
		{"empty", nil, CauseInvalidValues},
		{"short header", h("01 00 00"), CauseInvalidValues},
		{"length beyond input", h("0b 00 00 10 00 0d 00 04"), CauseInvalidValues},
		{"length below header", h("0b 00 00 02"), CauseInvalidValues},
		{"trailing bytes", cat(h("0e 00 00 0c 00 0c 00 08 00 06 00 04"), make([]byte, 4)), CauseInvalidValues},
		{"unknown message type", h("0f 00 00 04"), CauseUnrecognizedMessage},
		{"message type 0", h("00 00 00 04"), CauseUnrecognizedMessage},
		{"parameter length 3", h("0b 00 00 08 00 0d 00 03"), CauseInvalidValues},
		{"parameter overrun", h("0b 00 00 08 00 0d 00 09"), CauseInvalidValues},
		{"missing cookie", h("0b 00 00 04"), CauseInvalidValues},
		{"two cookies", h("0b 00 00 0c 00 0d 00 04 00 0d 00 04"), CauseInvalidValues},
		{"cookie in registration", h("01 00 00 08 00 0d 00 04"), CauseInvalidValues},
		{"PE id length 6", h("02 00 00 10 00 09 00 05 70 00 00 00 00 0e 00 06"), CauseInvalidValues},
		{"keep alive without server id", h("07 00 00 06 00 00"), CauseInvalidValues},
		{"error without cause", h("0e 00 00 08 00 0c 00 04"), CauseInvalidValues},
		{"cause overruns", h("0e 00 00 0c 00 0c 00 08 00 06 00 09"), CauseInvalidValues},
		{"unknown policy", regWith(h("00 08 00 08 b0 00 20 02")), CauseInvalidValues},
		{"policy too short", regWith(h("00 08 00 08 40 00 00 01")), CauseInvalidValues},
		{"policy too long", regWith(h("00 08 00 0c 00 00 00 01 00 00 00 00")), CauseInvalidValues},
		{"IPv4 length 7", regTransport(h("00 04 00 0f 00 07 00 00 00 01 00 07 0a 00 00 00")), CauseInvalidValues},
		{"transport use 2", regTransport(h("00 04 00 10 00 07 00 02 00 01 00 08 0a 00 00 01")), CauseInvalidValues},
		{"SCTP without address", regTransport(h("00 04 00 08 00 07 00 00")), CauseInvalidValues},
		{"TCP with two addresses", regTransport(h("00 05 00 18 00 07 00 00 00 01 00 08 0a 00 00 01 00 01 00 08 0a 00 00 02")), CauseInvalidValues},
		{"HROPT in a registration (bits 10: skipped) but no PE", h("01 00 00 14 00 09 00 08 70 6f 6f 6c 80 3f 00 08 00 00 00 01"), CauseInvalidValues},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, err := DecodeMessage(tc.in)
			if err == nil {
				t.Fatalf("accepted: %#v", m)
			}
			wantCause(t, err, tc.cause)
		})
	}
}

// regWith is a registration whose pool element carries policy p.
func regWith(p []byte) []byte {
	pe := cat(h("00 00 00 01 00 00 00 00 00 00 03 e8"),
		h("00 04 00 10 00 07 00 00 00 01 00 08 0a 00 00 01"), p)
	return regPE(pe)
}

// regTransport is a registration whose pool element has user transport t.
func regTransport(t []byte) []byte {
	pe := cat(h("00 00 00 01 00 00 00 00 00 00 03 e8"), t, h("00 08 00 08 00 00 00 01"))
	return regPE(pe)
}

func regPE(value []byte) []byte {
	pe := cat([]byte{0x00, 0x0a, 0, byte(4 + len(value))}, value)
	pe = appendPad(pe, len(pe))
	body := cat(h("00 09 00 08 70 6f 6f 6c"), pe)
	return cat([]byte{0x01, 0, 0, byte(4 + len(body))}, body)
}

func TestUnknownParameterNestedInTransport(t *testing.T) {
	// An address list with an unknown skip-and-report parameter: skipped,
	// reported, the registration goes through.
	tr := h("00 04 00 18 00 07 00 00 c1 23 00 08 01 02 03 04 00 01 00 08 0a 00 00 01")
	m, report, err := DecodeMessage(regTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*Registration).Element.UserTransport.Addrs; len(got) != 1 || got[0] != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("addrs %v", got)
	}
	if len(report) != 1 || report[0].Type != 0xc123 {
		t.Errorf("report %v", report)
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	for name, m := range map[string]Message{
		"unknown policy":     &Registration{PoolHandle: []byte("p"), Element: PoolElement{UserTransport: goldenRegistrationMsg.Element.UserTransport, Policy: Policy{Type: 77}}},
		"transport no addr":  &ServerAnnounce{Transports: []Transport{{Kind: ParamSCTPTransport}}},
		"tcp two addrs":      &ServerAnnounce{Transports: []Transport{{Kind: ParamTCPTransport, Addrs: []netip.Addr{netip.IPv6Loopback(), netip.IPv6Loopback()}}}},
		"zone":               &ServerAnnounce{Transports: []Transport{{Kind: ParamSCTPTransport, Addrs: []netip.Addr{netip.MustParseAddr("fe80::1%eth0")}}}},
		"handle too long":    &HandleResolution{PoolHandle: make([]byte, 70000)},
		"error without code": &ErrorMessage{},
	} {
		prefix := []byte("keep")
		out, err := m.AppendTo(prefix)
		if err == nil {
			t.Errorf("%s: encoded", name)
		}
		if string(out) != "keep" {
			t.Errorf("%s: left %q in the buffer", name, out)
		}
	}
}

func TestCauseNames(t *testing.T) {
	if CauseInconsistentPoolingPolicy.String() != "Inconsistent Pooling Policy" ||
		CauseRejectedSecurityConsiderations.String() != "Rejected due to security considerations" ||
		Cause(0x77).String() != "Cause(0x77)" {
		t.Error("cause names")
	}
	for c := CauseUnspecified; c <= CauseRejectedSecurityConsiderations; c++ {
		if strings.HasPrefix(c.String(), "Cause(") {
			t.Errorf("cause 0x%x has no name", uint16(c))
		}
	}
}

func TestEncodeAllocs(t *testing.T) {
	buf := make([]byte, 0, 512)
	n := testing.AllocsPerRun(100, func() {
		var err error
		buf, err = goldenRegistrationMsg.AppendTo(buf[:0])
		if err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("AppendTo into a large enough buffer allocates %v times", n)
	}
}
