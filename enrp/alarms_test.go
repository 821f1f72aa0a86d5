package enrp

import (
	"testing"
	"time"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

type fakeAlarmClock struct{ *sctptest.FakeClock }

func (c fakeAlarmClock) AfterFunc(d time.Duration, f func()) alarms.Timer {
	return c.FakeClock.AfterFunc(d, f)
}

func active(m *alarms.Manager, name, object string) bool {
	for _, a := range m.Alarms(alarms.Filter{Name: name}) {
		if a.Object == object {
			return true
		}
	}
	return false
}

// Two registrars over sctptest, registrar 2 with the alarm reporter on a
// manager under a fake clock. Registrar 1, home of one element, crashes:
// registrar-peer-lost and takeover-performed are raised on peer 1. It comes
// back: the peer alarm clears (after the manager's clear hold); the
// takeover record stays (stateless).
func TestAlarmsPeerLostAndBack(t *testing.T) {
	n := sctptest.NewNetwork()
	enrp1, enrp2 := addr("10.99.0.1", Port), addr("10.99.0.2", Port)
	asap1, asap2 := addr("10.99.0.1", rserpool.Port), addr("10.99.0.2", rserpool.Port)
	clk := fakeAlarmClock{sctptest.NewFakeClock(time.Unix(1e9, 0))}
	m, err := alarms.NewManager(alarms.Config{Clock: clk, Self: "registrar=2"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rep := Alarms{Sink: m, Object: "registrar=2", ServerID: 2}
	start1 := func() *Driver {
		d, err := NewDriver(DriverConfig{Transport: n, ASAPAddr: asap1, ENRPAddr: enrp1, LocalAddr: addr("10.99.0.1", 0)},
			Config{ServerID: 1, ENRPTransport: tr(enrp1), MentorHunt: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		d.Start()
		return d
	}
	r1 := start1()
	r2, err := NewDriver(DriverConfig{Transport: n, ASAPAddr: asap2, ENRPAddr: enrp2, LocalAddr: addr("10.99.0.2", 0), OnEvent: rep.Event},
		Config{ServerID: 2, ENRPTransport: tr(enrp2), Peers: []sctp.Addr{enrp1}, MentorHunt: 100 * time.Millisecond,
			Redial: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r2.Start()
	defer r2.Close(false)

	peASAP := addr("10.1.0.1", rserpool.Port)
	ln, err := n.Listen(peASAP)
	if err != nil {
		t.Fatal(err)
	}
	asapT := tr(peASAP)
	pe := rserpool.NewPEDriver(rserpool.DriverConfig{Transport: n}, rserpool.PEConfig{
		PoolHandle: []byte("AS-1"),
		Element: rserpool.PoolElement{ID: 101, UserTransport: tr(addr("10.1.0.1", 2905)),
			Policy: rserpool.Policy{Type: rserpool.RoundRobin}, ASAPTransport: &asapT},
		Hunt: rserpool.HuntConfig{Registrars: []sctp.Addr{asap1}},
	}, ln)
	pe.Start()
	defer pe.Close()
	eventually(t, "registrar 2 to learn element 101", func() bool {
		var k int
		r2.Do(func(r *Registrar) { k = len(r.Elements([]byte("AS-1"), nil)) })
		return k == 1
	})
	const peer1 = "registrar=2,peer=1"
	if active(m, alarms.RegistrarPeerLost.Name, peer1) {
		t.Fatal("peer lost while it is up")
	}

	r1.Close(true) // crash
	eventually(t, "registrar-peer-lost on peer 1", func() bool { return active(m, alarms.RegistrarPeerLost.Name, peer1) })
	eventually(t, "takeover-performed on peer 1", func() bool { return active(m, alarms.TakeoverPerformed.Name, peer1) })

	r1 = start1()
	defer func() { r1.Close(false) }()
	eventually(t, "registrar 1 back and the clear hold over", func() bool {
		clk.Advance(time.Second) // the manager's ClearAfter runs on its clock
		return !active(m, alarms.RegistrarPeerLost.Name, peer1)
	})
	if !active(m, alarms.TakeoverPerformed.Name, peer1) {
		t.Error("takeover-performed cleared with the peer's return: it is a record, cleared by the operator or after a day")
	}
	if got := m.Alarms(alarms.Filter{Name: alarms.RegistrarPeerLost.Name, Cleared: true}); len(got) != 1 || got[0].Object != peer1 {
		t.Errorf("cleared history %+v", got)
	}
}

// The checksum alarm follows a resynchronisation: raised when it starts,
// cleared when the peer's table has arrived; a takeover won by another
// registrar is not reported here.
func TestAlarmsEvents(t *testing.T) {
	clk := fakeAlarmClock{sctptest.NewFakeClock(time.Unix(1e9, 0))}
	m, err := alarms.NewManager(alarms.Config{Clock: clk, Self: "registrar=5"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	a := Alarms{Sink: m, Object: "registrar=5", ServerID: 5}
	obj := "registrar=5,peer=9"
	a.Event(ResyncStarted{ServerID: 9, Theirs: 1, Our: 2})
	clk.Advance(alarms.HandlespaceChecksumMismatch.Debounce.RaiseAfter)
	if !active(m, alarms.HandlespaceChecksumMismatch.Name, obj) {
		t.Fatal("checksum mismatch not raised")
	}
	a.Event(Synchronized{ServerID: 9, Elements: 4, Resync: true})
	clk.Advance(alarms.HandlespaceChecksumMismatch.Debounce.ClearAfter)
	if active(m, alarms.HandlespaceChecksumMismatch.Name, obj) {
		t.Fatal("checksum mismatch not cleared by the resynchronisation")
	}
	a.Event(TakeoverDone{Target: 9, Winner: 6, Elements: 3})
	if active(m, alarms.TakeoverPerformed.Name, obj) {
		t.Fatal("takeover won by registrar 6 reported by 5")
	}
	a.Event(TakeoverDone{Target: 9, Winner: 5, Elements: 3})
	if !active(m, alarms.TakeoverPerformed.Name, obj) {
		t.Fatal("takeover not reported")
	}
}
