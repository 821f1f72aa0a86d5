package asp

import (
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// Handler is the application: what the server hands up. Its methods are
// called from the M3UA readers (one gateway association each, so calls may
// come concurrently from several gateways) and from dialogue timers. The
// decoded messages alias the received data and are valid only during the
// call; a Dialogue stays valid until it ends. A method must not block for
// long: answer later from another goroutine if the service takes time (the
// Dialogue's methods are safe for concurrent use).
type Handler interface {
	// Begin: a new dialogue from the network. Answer with d.Continue or
	// d.End (or d.Abort).
	Begin(d *Dialogue, m *tcap.Message)
	// Continue: the network's next step of dialogue d.
	Continue(d *Dialogue, m *tcap.Message)
	// End and Abort: the network ended dialogue d; it is gone already.
	End(d *Dialogue, m *tcap.Message)
	Abort(d *Dialogue, m *tcap.Message)
	// Resume: a gateway handed dialogue d over to this server with the
	// state its last owner checkpointed (a copy). The network's next
	// message (Continue, End or Abort) follows.
	Resume(d *Dialogue, state []byte)
	// Timeout: dialogue d was idle longer than the dialogue timeout; the
	// server aborted it towards the network and forgot it.
	Timeout(d *Dialogue)
	// Unidirectional: a TCAP Unidirectional message (no dialogue).
	Unidirectional(in *Inbound, m *tcap.Message)
	// SCCP: SCCP traffic that is not a TCAP message the server handles
	// itself (a UDTS or XUDTS, or user data that is not TCAP).
	SCCP(in *Inbound, m *sccp.Message)
	// MTP3: user data of another service indicator than SCCP's.
	MTP3(in *Inbound)
}

// Inbound is one DATA message as received: the gateway it came from (index
// into Config.Gateways) and its MTP3 user data (Payload aliases the received
// message).
type Inbound struct {
	Gateway int
	Data    m3ua.UserData
}

// NopHandler implements Handler by doing nothing; embed it to implement only
// some methods. Dialogues it is handed are left to time out.
type NopHandler struct{}

func (NopHandler) Begin(*Dialogue, *tcap.Message)         {}
func (NopHandler) Continue(*Dialogue, *tcap.Message)      {}
func (NopHandler) End(*Dialogue, *tcap.Message)           {}
func (NopHandler) Abort(*Dialogue, *tcap.Message)         {}
func (NopHandler) Resume(*Dialogue, []byte)               {}
func (NopHandler) Timeout(*Dialogue)                      {}
func (NopHandler) Unidirectional(*Inbound, *tcap.Message) {}
func (NopHandler) SCCP(*Inbound, *sccp.Message)           {}
func (NopHandler) MTP3(*Inbound)                          {}
