package enrp

import (
	"fmt"

	"github.com/sigpool/sigpool/alarms"
)

// AlarmSink is where Alarms reports conditions: *alarms.Manager.
type AlarmSink interface {
	Raise(alarms.Report) error
	Clear(def *alarms.Definition, object string) error
}

// Alarms turns a registrar's events into the alarm conditions of the
// inventory (docs/alarms.md) on the objects "<Object>,peer=<peer id>":
//
//	PeerDead                    raises registrar-peer-lost (clears the checksum mismatch: nothing left to compare)
//	PeerUp                      clears registrar-peer-lost
//	TakeoverDone won here       raises takeover-performed (stateless, the manager clears it after a day)
//	ResyncStarted               raises handlespace-checksum-mismatch
//	Synchronized                clears handlespace-checksum-mismatch
//
// Debounce (hold times, flapping) is the manager's. Use its Event method as
// DriverConfig.OnEvent (or call it from there): it only reports to the
// sink, which does not block.
type Alarms struct {
	Sink AlarmSink
	// Object is this registrar's managed object: "registrar=7" for the
	// daemon (daemon.Daemon.Self), the gateway's own for an embedded one.
	Object string
	// ServerID is this registrar's identifier: a takeover counts as
	// performed here when it is the winner.
	ServerID uint32
}

// PeerObject is the managed object of peer id.
func (a Alarms) PeerObject(id uint32) string { return fmt.Sprintf("%s,peer=%d", a.Object, id) }

// Event reports the condition e changes, if any.
func (a Alarms) Event(e Event) {
	if a.Sink == nil {
		return
	}
	switch e := e.(type) {
	case PeerDead:
		a.Sink.Raise(alarms.Report{Def: alarms.RegistrarPeerLost, Object: a.PeerObject(e.ServerID),
			AdditionalText: fmt.Sprintf("ENRP peer %d did not answer presence", e.ServerID)})
		a.Sink.Clear(alarms.HandlespaceChecksumMismatch, a.PeerObject(e.ServerID))
	case PeerUp:
		a.Sink.Clear(alarms.RegistrarPeerLost, a.PeerObject(e.ServerID))
	case TakeoverDone:
		if e.Winner != a.ServerID {
			return
		}
		a.Sink.Raise(alarms.Report{Def: alarms.TakeoverPerformed, Object: a.PeerObject(e.Target),
			AdditionalText: fmt.Sprintf("took over %d pool elements of registrar %d", e.Elements, e.Target),
			AdditionalInfo: map[string]string{"elements": fmt.Sprint(e.Elements)}})
	case ResyncStarted:
		a.Sink.Raise(alarms.Report{Def: alarms.HandlespaceChecksumMismatch, Object: a.PeerObject(e.ServerID),
			AdditionalText: fmt.Sprintf("peer %d announces checksum %#04x, ours over its elements is %#04x",
				e.ServerID, e.Theirs, e.Our)})
	case Synchronized:
		a.Sink.Clear(alarms.HandlespaceChecksumMismatch, a.PeerObject(e.ServerID))
	}
}
