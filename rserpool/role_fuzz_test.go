package rserpool

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// roleInput drives a core from fuzz bytes: each step takes an opcode byte
// and, for messages, a 2-byte length and that many bytes of ASAP message.
type roleInput struct{ b []byte }

func (in *roleInput) byte() (byte, bool) {
	if len(in.b) == 0 {
		return 0, false
	}
	c := in.b[0]
	in.b = in.b[1:]
	return c, true
}

func (in *roleInput) msg() []byte {
	if len(in.b) < 2 {
		in.b = nil
		return nil
	}
	n := min(int(binary.BigEndian.Uint16(in.b)), len(in.b)-2)
	m := in.b[2 : 2+n]
	in.b = in.b[2+n:]
	return m
}

// checkReady checks what a core asked for: every message encodes, every
// timer is in the future, and nothing is sent to association 0.
func checkReady(t *testing.T, now time.Time, r Ready) {
	for _, s := range r.Sends {
		if _, err := Marshal(s.Msg); err != nil {
			t.Fatalf("core built an unencodable %v: %v", s.Msg.Type(), err)
		}
		if s.Assoc == 0 && s.Session == 0 {
			t.Fatalf("send of %v to nobody", s.Msg.Type())
		}
	}
	for _, op := range r.Timers {
		if !op.Stop && op.At.Before(now) {
			t.Fatalf("timer %v armed in the past", op.ID)
		}
	}
}

// seedMessages are valid messages the cores handle, for the corpus.
func seedMessages() [][]byte {
	pe := testElement(7, Policy{Type: LeastUsed, Load: 10})
	var out [][]byte
	for _, m := range []Message{
		&RegistrationResponse{PoolHandle: []byte("AS1"), ID: 7},
		&RegistrationResponse{Reject: true, PoolHandle: []byte("AS1"), ID: 7, Causes: []ErrorCause{{Code: CauseInconsistentPoolingPolicy}}},
		&DeregistrationResponse{PoolHandle: []byte("AS1"), ID: 7},
		&EndpointKeepAlive{ServerID: 1, PoolHandle: []byte("AS1"), HasID: true, ID: 7},
		&EndpointKeepAlive{Home: true, ServerID: 2, PoolHandle: []byte("AS1")},
		&HandleResolutionResponse{PoolHandle: []byte("AS1"), Policy: &Policy{Type: LeastUsed}, Elements: []PoolElement{pe}},
		&HandleResolutionResponse{PoolHandle: []byte("AS1"), Causes: []ErrorCause{{Code: CauseUnknownPoolHandle}}},
		&Cookie{Cookie: []byte("state")},
		&CookieEcho{Cookie: []byte("state")},
		&BusinessCard{PoolHandle: []byte("AS1"), Elements: []PoolElement{pe}},
		&ServerAnnounce{ServerID: 3},
		&ErrorMessage{Causes: []ErrorCause{{Code: CauseLackOfResources}}},
	} {
		b, err := Marshal(m)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

func roleSeed(ops ...any) []byte {
	var b []byte
	for _, o := range ops {
		switch o := o.(type) {
		case byte:
			b = append(b, o)
		case int:
			b = append(b, byte(o))
		case []byte:
			b = append(b, o[0])
			b = binary.BigEndian.AppendUint16(b, uint16(len(o)-1))
			b = append(b, o[1:]...)
		}
	}
	return b
}

// FuzzPE feeds a pool element core random sequences of inputs (messages
// from registrars and sessions, association events, timers, load changes,
// stop) and checks that it never panics and only asks for sane outputs.
func FuzzPE(f *testing.F) {
	msgs := seedMessages()
	for _, m := range msgs {
		// start, up 1, message on assoc 1, tick.
		f.Add(roleSeed(0, 1, 1, append([]byte{3}, m...), 6))
		f.Add(roleSeed(0, 1, 1, append([]byte{5}, m...), 7))
	}
	f.Add(roleSeed(0, 1, 1, append([]byte{3}, msgs[0]...), 4, append([]byte{3}, msgs[4]...), 8, 9))
	f.Fuzz(func(t *testing.T, data []byte) {
		now := time.Unix(1_000_000, 0)
		p := NewPE(PEConfig{
			PoolHandle: []byte("AS1"),
			Element:    testElement(7, Policy{Type: LeastUsed, Load: 10}),
			Hunt:       HuntConfig{Registrars: []sctp.Addr{registrarAddr(1), registrarAddr(2)}, Announces: true},
		})
		in := &roleInput{b: data}
		for steps := 0; steps < 200; steps++ {
			op, ok := in.byte()
			if !ok {
				break
			}
			a := AssocID(op >> 4 & 3)
			switch op & 0x0f {
			case 0:
				p.Start(now)
			case 1:
				p.RegistrarUp(now, a)
			case 2:
				p.RegistrarDown(now, a)
			case 3:
				p.FromRegistrarBytes(now, a, in.msg())
			case 4:
				p.RegistrarAccepted(now)
			case 5:
				p.FromSessionBytes(now, SessionID(a+1), in.msg())
			case 6, 7:
				// Advance to the next armed timer and fire it.
				var next TimerID
				var at time.Time
				for id, t := range p.armed {
					if at.IsZero() || t.Before(at) {
						next, at = id, t
					}
				}
				if !at.IsZero() {
					now = at
					p.Timer(now, next)
				}
			case 8:
				p.SetLoad(now, uint32(op)<<24)
			case 9:
				p.Stop(now)
			case 10:
				if m, _, err := DecodeMessage(in.msg()); err == nil {
					if sa, ok := m.(*ServerAnnounce); ok {
						p.Announce(now, sa, netip.MustParseAddrPort("10.0.9.9:0"))
					}
				}
			case 11:
				p.SendCookie(1, in.msg())
			default:
				now = now.Add(time.Duration(op) * time.Millisecond)
			}
			checkReady(t, now, p.Ready())
		}
	})
}

// FuzzPU does the same for a pool user core, with resolutions and
// session failures among the inputs.
func FuzzPU(f *testing.F) {
	msgs := seedMessages()
	for _, m := range msgs {
		f.Add(roleSeed(0, 1, 4, append([]byte{3}, m...), 6))
		f.Add(roleSeed(0, 1, 8, append([]byte{5}, m...), 9, 7))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		now := time.Unix(1_000_000, 0)
		u := NewPU(PUConfig{
			StaleCache: 2 * time.Second,
			Hunt:       HuntConfig{Registrars: []sctp.Addr{registrarAddr(1)}, Announces: true},
		})
		in := &roleInput{b: data}
		for steps := 0; steps < 200; steps++ {
			op, ok := in.byte()
			if !ok {
				break
			}
			a := AssocID(op >> 4 & 3)
			s := SessionID(op>>4&3 + 1)
			switch op & 0x0f {
			case 0:
				u.Start(now)
			case 1:
				u.RegistrarUp(now, a)
			case 2:
				u.RegistrarDown(now, a)
			case 3:
				u.FromRegistrarBytes(now, a, in.msg())
			case 4:
				u.Resolve(now, []byte("AS1"), uint64(op))
			case 5:
				u.FromSessionBytes(now, s, in.msg())
			case 6, 7:
				var next TimerID
				var at time.Time
				for id, t := range u.armed {
					if at.IsZero() || t.Before(at) {
						next, at = id, t
					}
				}
				if !at.IsZero() {
					now = at
					u.Timer(now, next)
				}
			case 8:
				u.SessionUp(now, s, []byte("AS1"), uint32(op>>6))
			case 9:
				u.SessionFailed(now, s, op&0x40 != 0)
			case 10:
				u.SessionClosed(s)
			case 11:
				u.Stop(now)
			case 12:
				if m, _, err := DecodeMessage(in.msg()); err == nil {
					if sa, ok := m.(*ServerAnnounce); ok {
						u.Announce(now, sa, netip.AddrPort{})
					}
				}
			default:
				now = now.Add(time.Duration(op) * time.Millisecond)
			}
			checkReady(t, now, u.Ready())
			if u.cache.Len() > 1000 {
				t.Fatalf("cache grew to %d", u.cache.Len())
			}
		}
	})
}
