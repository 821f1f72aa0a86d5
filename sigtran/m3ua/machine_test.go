package m3ua

import (
	"testing"
	"time"
)

func TestDataStream(t *testing.T) {
	for _, c := range []struct {
		sls     uint8
		streams uint16
		want    uint16
	}{
		{0, 0, 0}, {5, 1, 0}, // no stream besides 0: nowhere to send DATA
		{0, 2, 1}, {7, 2, 1},
		{0, 16, 1}, {14, 16, 15}, {15, 16, 1}, {255, 16, 1},
		{255, 65535, 256},
	} {
		if got := DataStream(c.sls, c.streams); got != c.want {
			t.Errorf("DataStream(%d, %d) = %d, want %d", c.sls, c.streams, got, c.want)
		}
	}
	// One SLS, one stream; never stream 0.
	for streams := uint16(2); streams < 40; streams++ {
		for sls := 0; sls < 256; sls++ {
			if s := DataStream(uint8(sls), streams); s == 0 || s >= streams {
				t.Fatalf("DataStream(%d, %d) = %d", sls, streams, s)
			}
		}
	}
}

// A timer that was stopped, or fires early, or was never armed, does nothing:
// the driver may race a stop with a firing.
func TestStaleTimers(t *testing.T) {
	t0 := time.Unix(0, 0)
	s := NewSGP(SGPConfig{ASes: []ASConfig{{RC: 1, Mode: Override, Recovery: time.Second}}})
	s.AssocUp(t0, 1, 4)
	for _, m := range []string{"ASPUP", "ASPAC", "ASPIA"} {
		s.Receive(t0, 1, 0, buildMessage(t, m))
	}
	s.Ready()
	if s.ASState(1) != ASPending {
		t.Fatalf("AS %v, want pending", s.ASState(1))
	}
	tr := TimerID{Kind: TimerRecovery, RC: 1}
	s.Timer(t0.Add(999*time.Millisecond), tr) // early
	if r := s.Ready(); len(r.Sends)+len(r.Events)+len(r.Timers) != 0 || s.ASState(1) != ASPending {
		t.Fatalf("early T(r) acted: %+v", r)
	}
	s.Timer(t0.Add(time.Second), TimerID{Kind: TimerRecovery, RC: 2}) // never armed
	s.Timer(t0.Add(time.Second), TimerID{Kind: TimerAck, Assoc: 1})   // not an SGP timer
	if r := s.Ready(); len(r.Sends)+len(r.Events)+len(r.Timers) != 0 {
		t.Fatalf("unknown timers acted: %+v", r)
	}
	s.Receive(t0, 1, 0, buildMessage(t, "ASPAC")) // stops T(r)
	s.Ready()
	s.Timer(t0.Add(time.Second), tr) // stopped
	if r := s.Ready(); len(r.Sends)+len(r.Events)+len(r.Timers) != 0 || s.ASState(1) != ASActive {
		t.Fatalf("stopped T(r) acted: %+v, AS %v", r, s.ASState(1))
	}
}

// FuzzSGP feeds arbitrary messages, on arbitrary streams and associations,
// to an SGP with two ASes: it never panics, everything it sends encodes to a
// message Decode accepts, DATA never goes on stream 0, and management only on
// stream 0.
func FuzzSGP(f *testing.F) {
	for _, g := range golden {
		f.Add(uint8(0), uint8(0), unhex(f, g.hex), unhex(f, g.hex))
	}
	f.Add(uint8(0), uint8(1), buildMessage(f, "ASPUP"), buildMessage(f, "ASPAC rc=1"))
	// SSNM and RKM.
	f.Add(uint8(1), uint8(0), buildMessage(f, "DAUD rc=2 apc=100,101,7"), buildMessage(f, "DAUD apc=100 mask=3"))
	f.Add(uint8(0), uint8(0), buildMessage(f, "ASPUP"), buildMessage(f, "DAUD apc=0 mask=24"))
	f.Add(uint8(0), uint8(0), buildMessage(f, "ASPUP"), buildMessage(f, "REG-REQ lrk=1 dpc=300 si=3 | lrk=2 dpc=100 | lrk=3 dpc=5 rc=1 mode=loadshare"))
	f.Add(uint8(1), uint8(0), buildMessage(f, "REG-REQ lrk=1 dpc=300 opc=1,2 na=4"), buildMessage(f, "DEREG-REQ rc=1000,2,1"))
	f.Add(uint8(1), uint8(0), buildMessage(f, "REG-REQ lrk=1 dpc=300 | lrk=2 dpc=301 | lrk=3 dpc=302"), buildMessage(f, "ASPAC"))
	f.Add(uint8(1), uint8(0), buildMessage(f, "DUNA apc=1"), buildMessage(f, "REG-RSP lrk=1 status=0 rc=1"))
	// ASP Identifiers (AS 1 is limited to ASP 5) and the DPC list.
	f.Add(uint8(0), uint8(0), buildMessage(f, "ASPUP aspid=5"), buildMessage(f, "REG-REQ lrk=1 dpc=100 | lrk=2 dpc=302 | lrk=3 dpc=300"))
	f.Add(uint8(0), uint8(0), buildMessage(f, "ASPUP aspid=6"), buildMessage(f, "ASPAC rc=1"))
	f.Fuzz(func(t *testing.T, assoc, stream uint8, first, second []byte) {
		t0 := time.Unix(0, 0)
		s := NewSGP(SGPConfig{
			ASes: []ASConfig{{RC: 1, Mode: Override, QueueLimit: 2, Key: &RoutingKey{DPC: 100}, ASPIDs: []uint32{5}},
				{RC: 2, Mode: Loadshare, MinActive: 2}},
			Beat:         BeatConfig{Interval: time.Second},
			Registration: DynamicPermitted,
			MaxDynamic:   2,
			DPCs:         []uint32{100, 300, 301},
		})
		s.SetDestination(t0, 100, DestUnavailable)
		s.SetDestination(t0, 101, DestRestricted)
		s.SetCongestion(t0, 101, 1)
		s.AssocUp(t0, 1, 4)
		s.AssocUp(t0, 2, 1) // a peer with no data stream
		s.Receive(t0, 2, 0, buildMessage(t, "ASPUP"))
		s.Receive(t0, 2, 0, buildMessage(t, "ASPAC rc=2"))
		a := AssocID(assoc%3 + 1)
		s.Receive(t0, a, uint16(stream%3), first)
		s.SendData(t0, UserData{RC: 1, SLS: stream})
		s.Receive(t0, a, uint16(stream%3), second)
		s.SendData(t0, UserData{RC: 2, SLS: stream})
		s.SendData(t0, UserData{RC: DefaultDynamicRCBase, SLS: stream})
		s.SetDestination(t0, 100, DestAvailable)
		s.ReportUserPartUnavailable(t0, 102, 3, CauseUnequippedRemote)
		s.AssocDown(t0, 2)
		s.TakeDown(t0, 1)
		for id, at := range s.armed {
			s.Timer(at, id)
		}
		for _, snd := range s.Ready().Sends {
			b, err := Encode(snd.Message())
			if err != nil {
				t.Fatalf("unencodable %T: %v", snd.Message(), err)
			}
			m, err := Decode(b)
			if err != nil {
				t.Fatalf("sent invalid %s: %v", DescribeBytes(b), err)
			}
			if pe := checkStream(m.MessageClass(), m.MessageType(), snd.Stream); pe != nil {
				t.Fatalf("sent %s on stream %d", DescribeBytes(b), snd.Stream)
			}
		}
	})
}

// FuzzASP feeds arbitrary messages to an ASP on its way up: it never panics,
// and everything it sends is valid and on the right stream.
func FuzzASP(f *testing.F) {
	for _, g := range golden {
		f.Add(uint8(0), unhex(f, g.hex), unhex(f, g.hex))
	}
	f.Add(uint8(0), buildMessage(f, "ASPUP-ACK"), buildMessage(f, "ASPAC-ACK rc=1"))
	// SSNM and RKM.
	f.Add(uint8(0), buildMessage(f, "ASPUP-ACK"), buildMessage(f, "REG-RSP lrk=1 status=0 rc=500"))
	f.Add(uint8(1), buildMessage(f, "ASPUP-ACK"), buildMessage(f, "DUNA rc=1 apc=0 mask=8"))
	f.Add(uint8(1), buildMessage(f, "SCON apc=5 level=3 concerned=9"), buildMessage(f, "DUPU apc=5 user=3 cause=2"))
	f.Add(uint8(2), buildMessage(f, "DRST apc=5,6,7"), buildMessage(f, "DAVA apc=6"))
	f.Add(uint8(0), buildMessage(f, "DEREG-RSP rc=500 status=0"), buildMessage(f, "DAUD apc=1"))
	f.Fuzz(func(t *testing.T, stream uint8, first, second []byte) {
		t0 := time.Unix(0, 0)
		s := NewASP(ASPConfig{RCs: []uint32{1}, Mode: Loadshare, AutoActivate: true, Beat: BeatConfig{Interval: time.Second},
			Register: []RoutingKey{{LocalRKID: 1, DPC: 100}}})
		s.AssocUp(t0, 1, 4)
		s.Receive(t0, 0, buildMessage(t, "ASPUP-ACK"))
		s.Receive(t0, uint16(stream%3), first)
		s.SendData(t0, UserData{RC: 1, HasRC: true, SLS: stream})
		s.Receive(t0, uint16(stream%3), second)
		for id, at := range s.armed {
			s.Timer(at, id)
		}
		s.Reachable(5)
		s.Audit(t0, 5, APC(0, 8))
		s.Register(t0, RoutingKey{LocalRKID: 2, DPC: 7, SIs: []uint8{3}})
		s.Deregister(t0, s.RCs()...)
		s.Deactivate(t0)
		s.Down(t0)
		for _, snd := range s.Ready().Sends {
			b, err := Encode(snd.Message())
			if err != nil {
				t.Fatalf("unencodable %T: %v", snd.Message(), err)
			}
			m, err := Decode(b)
			if err != nil {
				t.Fatalf("sent invalid %s: %v", DescribeBytes(b), err)
			}
			if pe := checkStream(m.MessageClass(), m.MessageType(), snd.Stream); pe != nil {
				t.Fatalf("sent %s on stream %d", DescribeBytes(b), snd.Stream)
			}
		}
	})
}

// FuzzIPSP feeds arbitrary messages to IPSPs in each exchange, on their way
// up: they never panic, and everything they send is valid and on the right
// stream, whichever half sent it.
func FuzzIPSP(f *testing.F) {
	for _, g := range golden {
		f.Add(uint8(0), uint8(0), unhex(f, g.hex), unhex(f, g.hex))
	}
	f.Add(uint8(0), uint8(0), buildMessage(f, "ASPUP aspid=9"), buildMessage(f, "ASPAC mode=loadshare rc=1"))
	f.Add(uint8(1), uint8(0), buildMessage(f, "ASPUP-ACK"), buildMessage(f, "ASPAC-ACK rc=1"))
	f.Add(uint8(2), uint8(1), buildMessage(f, "DATA rc=1 opc=1 dpc=2 si=3 sls=1 data=ab"), buildMessage(f, "BEAT beat=01"))
	f.Add(uint8(2), uint8(0), buildMessage(f, "NTFY status=AS-PENDING rc=1"), buildMessage(f, "DAUD apc=5"))
	f.Fuzz(func(t *testing.T, mode, stream uint8, first, second []byte) {
		t0 := time.Unix(0, 0)
		cfg := IPSPConfig{
			ASP: ASPConfig{ASPID: 1, HasASPID: true, RCs: []uint32{1}, Mode: Loadshare, AutoActivate: true, Beat: BeatConfig{Interval: time.Second}},
			SGP: SGPConfig{ASes: []ASConfig{{RC: 1, Mode: Loadshare}}},
		}
		switch mode % 3 {
		case 0:
			cfg.Exchange = SingleExchange
		case 1:
			cfg.Exchange, cfg.Initiator = SingleExchange, true
		default:
			cfg.Exchange = DoubleExchange
		}
		p := NewIPSP(cfg)
		p.AssocUp(t0, 1, 4)
		if l := p.Local(1); l != nil {
			p.Receive(t0, 1, 0, buildMessage(t, "ASPUP-ACK"))
		}
		p.Receive(t0, 1, uint16(stream%3), first)
		p.SendDataTo(t0, 1, UserData{RC: 1, SLS: stream})
		p.Receive(t0, 1, uint16(stream%3), second)
		if l := p.Local(1); l != nil {
			for id, at := range l.armed {
				p.Timer(at, id)
			}
		}
		for id, at := range p.SGP().armed {
			p.Timer(at, id)
		}
		p.AssocDown(t0, 1)
		for _, snd := range p.Ready().Sends {
			b, err := Encode(snd.Message())
			if err != nil {
				t.Fatalf("unencodable %T: %v", snd.Message(), err)
			}
			m, err := Decode(b)
			if err != nil {
				t.Fatalf("sent invalid %s: %v", DescribeBytes(b), err)
			}
			if pe := checkStream(m.MessageClass(), m.MessageType(), snd.Stream); pe != nil {
				t.Fatalf("sent %s on stream %d", DescribeBytes(b), snd.Stream)
			}
		}
	})
}
