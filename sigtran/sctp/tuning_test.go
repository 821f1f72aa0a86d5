package sctp

import (
	"encoding/binary"
	"testing"
	"time"
)

func optByName(t *testing.T, opts []sockopt, name string) []byte {
	t.Helper()
	for _, o := range opts {
		if o.name == name {
			return o.val
		}
	}
	return nil
}

func TestTelecomOptions(t *testing.T) {
	opts, err := endpointOptions(Telecom)
	if err != nil {
		t.Fatal(err)
	}
	ne := binary.NativeEndian
	rto := optByName(t, opts, "SCTP_RTOINFO")
	if len(rto) != 16 || ne.Uint32(rto[4:]) != 100 || ne.Uint32(rto[8:]) != 150 || ne.Uint32(rto[12:]) != 50 {
		t.Errorf("SCTP_RTOINFO % x, want initial 100 max 150 min 50 (ms, in that order)", rto)
	}
	if a := optByName(t, opts, "SCTP_ASSOCINFO"); len(a) != 20 || ne.Uint16(a[4:]) != 4 {
		t.Errorf("SCTP_ASSOCINFO % x, want asocmaxrxt 4", a)
	}
	pp := optByName(t, opts, "SCTP_PEER_ADDR_PARAMS")
	if len(pp) != 156 || ne.Uint32(pp[132:]) != 100 || ne.Uint16(pp[136:]) != 2 || ne.Uint32(pp[146:]) != 1 {
		t.Errorf("SCTP_PEER_ADDR_PARAMS: len %d hb %d pmr %d flags %#x, want 156, 100, 2, SPP_HB_ENABLE",
			len(pp), ne.Uint32(pp[132:]), ne.Uint16(pp[136:]), ne.Uint32(pp[146:]))
	}
	if im := optByName(t, opts, "SCTP_INITMSG"); len(im) != 8 || ne.Uint16(im[0:]) != 17 || ne.Uint16(im[2:]) != 17 || ne.Uint16(im[4:]) != 8 || ne.Uint16(im[6:]) != 1000 {
		t.Errorf("SCTP_INITMSG % x, want 17/17/8/1000", im)
	}
	if s := optByName(t, opts, "SCTP_DELAYED_SACK"); len(s) != 12 || ne.Uint32(s[4:]) != 10 || ne.Uint32(s[8:]) != 0 {
		t.Errorf("SCTP_DELAYED_SACK % x, want delay 10, frequency kept", s)
	}
	if nd := optByName(t, opts, "SCTP_NODELAY"); nd == nil || ne.Uint32(nd) != 1 {
		t.Errorf("SCTP_NODELAY %v, want 1", nd)
	}
	th := optByName(t, opts, "SCTP_PEER_ADDR_THLDS")
	if len(th) != 144 || ne.Uint16(th[136:]) != 2 || ne.Uint16(th[138:]) != 0 {
		t.Errorf("SCTP_PEER_ADDR_THLDS: pmr %d pf %d, want 2 and 0", ne.Uint16(th[136:]), ne.Uint16(th[138:]))
	}
}

func TestRFCOptionsKeepNagle(t *testing.T) {
	opts, err := endpointOptions(RFC)
	if err != nil {
		t.Fatal(err)
	}
	if optByName(t, opts, "SCTP_NODELAY") != nil {
		t.Error("RFC profile sets SCTP_NODELAY")
	}
	if im := optByName(t, opts, "SCTP_INITMSG"); binary.NativeEndian.Uint16(im[6:]) != 60000 {
		t.Errorf("RFC max init timeout %d ms, want 60000", binary.NativeEndian.Uint16(im[6:]))
	}
}

func TestZeroTuningKeepsKernelValues(t *testing.T) {
	opts, err := endpointOptions(Tuning{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		if !o.optional {
			t.Errorf("zero tuning sets %s", o.name)
		}
	}
	// Only RTO.max set: initial and min stay zero (kernel keeps them).
	opts, _ = endpointOptions(Tuning{RTOMax: 2 * time.Second})
	rto := optByName(t, opts, "SCTP_RTOINFO")
	if ne := binary.NativeEndian; ne.Uint32(rto[4:]) != 0 || ne.Uint32(rto[8:]) != 2000 || ne.Uint32(rto[12:]) != 0 {
		t.Errorf("SCTP_RTOINFO % x", rto)
	}
}

func TestTuningRejectsWhatTheKernelRefuses(t *testing.T) {
	for name, tu := range map[string]Tuning{
		"sack delay above 500 ms": {SackDelay: 501 * time.Millisecond},
		"init timeout beyond u16": {InitMaxTimeout: 70 * time.Second},
		"min above max":           {RTOMin: time.Second, RTOMax: 500 * time.Millisecond},
		"negative retrans":        {PathMaxRetrans: -1},
	} {
		if _, err := endpointOptions(tu); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMillisRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]uint32{0: 0, -time.Second: 0, time.Microsecond: 1, 1500 * time.Microsecond: 2, 150 * time.Millisecond: 150} {
		if got := millis(d); got != want {
			t.Errorf("millis(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestBounds(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		t    Tuning
		want Bounds
	}{
		// Telecom: HB interval bound max(100+75, 200)+150 = 350 ms; in PF
		// max(75, 200)+150 = 350 ms.
		{Telecom, Bounds{
			PathSwitch:   150 * ms,
			PathDown:     150*ms + 3*350*ms,
			PathDownIdle: 2*350*ms + 2*350*ms,
			PeerDead:     5 * 150 * ms,
			PeerDeadIdle: 2*350*ms + 2*350*ms + 2*350*ms,
		}},
		// RFC: HB interval bound 30+30+60 = 120 s; in PF 30+60 = 90 s.
		{RFC, Bounds{
			PathSwitch:   60 * time.Second,
			PathDown:     60*time.Second + 6*90*time.Second,
			PathDownIdle: 2*120*time.Second + 5*90*time.Second,
			PeerDead:     11 * 60 * time.Second,
			PeerDeadIdle: 2*120*time.Second + 5*90*time.Second + 5*120*time.Second,
		}},
	}
	for _, c := range cases {
		if got := c.t.Bounds(); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.t.Name, got, c.want)
		}
	}
	// Ordering that must hold for any profile.
	for _, tu := range []Tuning{Telecom, RFC} {
		b := tu.Bounds()
		if !(b.PathSwitch <= b.PathDown && b.PathDown <= b.PeerDeadIdle && b.PeerDead <= b.PeerDeadIdle) {
			t.Errorf("%s: inconsistent bounds %+v", tu.Name, b)
		}
	}
}
