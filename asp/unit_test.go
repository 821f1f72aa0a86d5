package asp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

func TestTIDsCarryTheTagAndSkipIDsInUse(t *testing.T) {
	peid := uint32(0xdead_beef)
	tids := NewTIDs(Tag(peid), 0xfffe)
	if tids.Tag() != 0xbeef {
		t.Fatalf("tag %#x, want the low 16 bits 0xbeef", tids.Tag())
	}
	inUse := map[uint32]bool{0xbeef_ffff: true, 0xbeef_0001: true}
	var got []uint32
	for range 3 {
		tid, err := tids.Next(func(v uint32) bool { return inUse[v] })
		if err != nil {
			t.Fatal(err)
		}
		inUse[tid] = true
		got = append(got, tid)
	}
	want := []uint32{0xbeef_fffe, 0xbeef_0000, 0xbeef_0002}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocated %#x, want %#x (counter wraps and skips ids in use)", got, want)
		}
		if TagOf(got[i]) != 0xbeef {
			t.Fatalf("TagOf(%#x) = %#x", got[i], TagOf(got[i]))
		}
	}
	tids.SetTag(0x1234)
	tid, _ := tids.Next(nil)
	if TagOf(tid) != 0x1234 || uint16(tid) != 0x0003 {
		t.Fatalf("after SetTag: %#x, want tag 0x1234 and the counter going on at 3", tid)
	}
}

func TestTIDsExhausted(t *testing.T) {
	tids := NewTIDs(7, 0)
	if _, err := tids.Next(func(uint32) bool { return true }); !errors.Is(err, ErrNoTID) {
		t.Fatalf("all ids in use: %v, want ErrNoTID", err)
	}
	// One free id is found wherever the counter stands.
	free := uint32(7)<<16 | 0x8000
	tid, err := tids.Next(func(v uint32) bool { return v != free })
	if err != nil || tid != free {
		t.Fatalf("got %#x, %v; want %#x", tid, err, free)
	}
}

func TestCookieWire(t *testing.T) {
	b, err := AppendCookie(nil, 0x0102_0304, []byte("step=2"))
	if err != nil {
		t.Fatal(err)
	}
	// RFC 5352: type 0x0b, flags 0, length; Cookie parameter 0x000d (RFC
	// 5354 3.9) with value = TID || state, padded to 4.
	want := []byte{0x0b, 0x00, 0x00, 0x14, 0x00, 0x0d, 0x00, 0x0e, 1, 2, 3, 4, 's', 't', 'e', 'p', '=', '2', 0, 0}
	if !bytes.Equal(b, want) {
		t.Fatalf("cookie\n got % x\nwant % x", b, want)
	}
	m, _, err := rserpool.DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := m.(*rserpool.Cookie)
	if !ok {
		t.Fatalf("decoded %T", m)
	}
	tid, state, err := CookieValue(c.Cookie)
	if err != nil || tid != 0x0102_0304 || string(state) != "step=2" {
		t.Fatalf("value: %#x %q %v", tid, state, err)
	}
	// An empty state is the end of the dialogue: 4 octets of value.
	b, _ = AppendCookie(nil, 9, nil)
	if len(b) != 12 || binary.BigEndian.Uint16(b[6:]) != 8 {
		t.Fatalf("empty-state cookie % x", b)
	}
	if _, err := AppendCookie(nil, 1, make([]byte, MaxState+1)); !errors.Is(err, ErrCookie) {
		t.Fatalf("oversized state: %v", err)
	}
	if _, err := AppendCookie(nil, 1, make([]byte, MaxState)); err != nil {
		t.Fatalf("largest state: %v", err)
	}
}

func TestDecodeCookieEcho(t *testing.T) {
	echo := func(v []byte) []byte {
		b, err := (&rserpool.CookieEcho{Cookie: v}).AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tid, state, ok, err := DecodeCookieEcho(echo([]byte{0xab, 0xcd, 0, 1, 'x'}))
	if err != nil || !ok || tid != 0xabcd_0001 || string(state) != "x" {
		t.Fatalf("echo: %#x %q %v %v", tid, state, ok, err)
	}
	if _, _, _, err := DecodeCookieEcho(echo([]byte{1, 2, 3})); !errors.Is(err, ErrCookie) {
		t.Fatalf("3-octet value: %v, want ErrCookie", err)
	}
	if _, _, _, err := DecodeCookieEcho([]byte{0x0c, 0, 0, 9}); !errors.Is(err, ErrCookie) {
		t.Fatalf("truncated: %v, want ErrCookie", err)
	}
	c, _ := AppendCookie(nil, 5, []byte("s"))
	if _, _, ok, err := DecodeCookieEcho(c); ok || err != nil {
		t.Fatalf("a Cookie is not an echo: ok=%v err=%v", ok, err)
	}
}

func validConfig() Config {
	a := func(s string) sctp.Addr {
		x, err := sctp.ParseAddr(s)
		if err != nil {
			panic(err)
		}
		return x
	}
	return Config{
		Transport:  sctptest.NewNetwork(),
		Local:      sctp.Addr{IPs: []netip.Addr{netip.MustParseAddr("10.1.0.11")}},
		Gateways:   []sctp.Addr{a("10.1.0.1+10.2.0.1:2906")},
		Registrars: []sctp.Addr{a("10.1.0.1+10.2.0.1:3863")},
		PoolHandle: []byte("hlr.sigpool"),
		RC:         200, HasRC: true,
	}
}

func TestConfigValidate(t *testing.T) {
	c := validConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	d := c.withDefaults()
	if d.Policy != rserpool.LeastUsed || d.Capacity != DefaultCapacity || d.LoadStep != DefaultLoadStep ||
		d.DialogueTimeout != DefaultDialogueTimeout {
		t.Fatalf("defaults: %+v", d)
	}
	cases := []struct {
		field  string
		change func(*Config)
	}{
		{"transport", func(c *Config) { c.Transport = nil }},
		{"local", func(c *Config) { c.Local = sctp.Addr{} }},
		{"gateways", func(c *Config) { c.Gateways = nil }},
		{"gateways[0]", func(c *Config) { c.Gateways[0].Port = 0 }},
		{"registrars", func(c *Config) { c.Registrars = nil }},
		{"registrars[0]", func(c *Config) { c.Registrars[0].IPs = nil }},
		{"pool", func(c *Config) { c.PoolHandle = nil }},
		{"policy", func(c *Config) { c.Policy = 0x12345 }},
		{"capacity", func(c *Config) { c.Capacity = -1 }},
		{"capacity", func(c *Config) { c.Capacity = 70000 }},
		{"load_step", func(c *Config) { c.LoadStep = 150 }},
		{"dialogue_timeout", func(c *Config) { c.DialogueTimeout = -1 }},
		{"rc", func(c *Config) { c.Key = &m3ua.RoutingKey{DPC: 200} }},
	}
	for _, tc := range cases {
		c := validConfig()
		c.Gateways = append([]sctp.Addr(nil), c.Gateways...)
		c.Registrars = append([]sctp.Addr(nil), c.Registrars...)
		tc.change(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.field+":") {
			t.Errorf("%s: got %v, want an error naming the field", tc.field, err)
		}
	}
	// Every problem is reported, not just the first.
	c = Config{}
	err := c.Validate()
	for _, f := range []string{"transport", "local", "gateways", "registrars", "pool"} {
		if err == nil || !strings.Contains(err.Error(), f+":") {
			t.Errorf("empty config: %v does not name %s", err, f)
		}
	}
}

func FuzzDecodeCookieEcho(f *testing.F) {
	for _, v := range [][]byte{{1, 2, 3, 4}, {0, 0, 0, 0, 's', 't'}, {1}} {
		b, _ := (&rserpool.CookieEcho{Cookie: v}).AppendTo(nil)
		f.Add(b)
	}
	c, _ := AppendCookie(nil, 0x01020304, []byte("state"))
	f.Add(c)
	f.Fuzz(func(t *testing.T, b []byte) {
		tid, state, ok, err := DecodeCookieEcho(b)
		if err != nil {
			if ok {
				t.Fatal("ok with an error")
			}
			return
		}
		if !ok {
			return
		}
		// What decodes re-encodes to an echo with the same value.
		v := binary.BigEndian.AppendUint32(nil, tid)
		v = append(v, state...)
		e, err := (&rserpool.CookieEcho{Cookie: v}).AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		tid2, state2, ok2, err := DecodeCookieEcho(e)
		if err != nil || !ok2 || tid2 != tid || !bytes.Equal(state2, state) {
			t.Fatalf("re-encoded echo: %#x %q %v %v", tid2, state2, ok2, err)
		}
	})
}

// The load is active dialogues over capacity in whole steps, pushed when
// it moves to another step: elements within a step of each other tie at
// the registrar, whatever instant each last re-registered.
func TestLoadInSteps(t *testing.T) {
	c := validConfig()
	c.Capacity, c.LoadStep = 100, 5
	s, err := New(c, NopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	step := rserpool.LoadPercent(5)
	for _, x := range []struct {
		n      int
		load   uint32
		pushed bool
	}{
		{1, 0, true}, // the first value is pushed, whatever it is
		{4, 0, false},
		{5, step, true},
		{9, step, false},
		{12, 2 * step, true},
		{3, 0, true},
		{100, 20 * step, true},
	} {
		s.mu.Lock()
		clear(s.dlgs)
		for i := range x.n {
			s.dlgs[uint32(i)] = nil
		}
		s.updateLoad()
		s.mu.Unlock()
		pushed := false
		select {
		case <-s.loadKick:
			pushed = true
		default:
		}
		if s.Load() != x.load || pushed != x.pushed {
			t.Errorf("%d dialogues: load %d (pushed %v); want %d (%v)", x.n, s.Load(), pushed, x.load, x.pushed)
		}
	}
	if s.loadQ != step {
		t.Errorf("quantum %d; want the 5 %% step %d", s.loadQ, step)
	}
}
