package main

import (
	"errors"
	"fmt"

	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// OpStep is the local operation code of the Invoke every network message of
// the script carries. Its parameter is an OCTET STRING of two octets: the
// number of network Continues the dialogue will have (steps) and the number
// of this message in the dialogue (0 for the Begin, then 1, 2, …).
const OpStep = 100

// SIsccp is the MTP3 service indicator of SCCP.
const SIsccp = 3

// Script builds the network side's messages of one dialogue type.
type Script struct {
	OPC, DPC  uint32 // our point code and the service's
	RC        uint32 // routing context of our network AS at the gateways (0: none)
	NI        uint8  // MTP3 network indicator
	SSN       uint8  // our subsystem (calling party)
	CalledSSN uint8  // the service's subsystem (called party)
	Steps     int    // network Continues per dialogue
	// XUDT sends XUDT instead of UDT.
	XUDT bool
}

// Validate checks what the wire can carry.
func (s *Script) Validate() error {
	var errs []error
	if s.OPC > uint32(sccp.MaxPC) {
		errs = append(errs, fmt.Errorf("opc %d: an ITU point code has 14 bits (at most %d)", s.OPC, sccp.MaxPC))
	}
	if s.DPC > uint32(sccp.MaxPC) {
		errs = append(errs, fmt.Errorf("dpc %d: an ITU point code has 14 bits (at most %d)", s.DPC, sccp.MaxPC))
	}
	if s.Steps < 0 || s.Steps > 255 {
		errs = append(errs, fmt.Errorf("steps %d: want 0..255", s.Steps))
	}
	if s.NI > 3 {
		errs = append(errs, fmt.Errorf("ni %d: want 0..3", s.NI))
	}
	return errors.Join(errs...)
}

func (s *Script) called() sccp.Address {
	return sccp.Address{RouteOnSSN: true, HasPC: true, PC: uint16(s.DPC), HasSSN: true, SSN: s.CalledSSN}
}

func (s *Script) calling() sccp.Address {
	return sccp.Address{RouteOnSSN: true, HasPC: true, PC: uint16(s.OPC), HasSSN: true, SSN: s.SSN}
}

func (s *Script) invoke(round int) tcap.Component {
	return tcap.Component{Type: tcap.Invoke, InvokeID: int8(round + 1), HasOpCode: true, OpCode: OpStep,
		Param: []byte{0x04, 0x02, byte(s.Steps), byte(round)}}
}

func (s *Script) userData(dpc uint32, sls uint8, payload []byte) m3ua.UserData {
	return m3ua.UserData{RC: s.RC, HasRC: s.RC != 0, OPC: s.OPC, DPC: dpc, SI: SIsccp, NI: s.NI, SLS: sls, Payload: payload}
}

func (s *Script) wrap(called, calling sccp.Address, data []byte, dpc uint32, sls uint8) (m3ua.UserData, error) {
	m := sccp.Message{Type: sccp.UDT, Class: 1, ReturnOnError: true, Called: called, Calling: calling, Data: data}
	if s.XUDT {
		m.Type, m.HopCounter = sccp.XUDT, sccp.DefaultHopCounter
	}
	b, err := m.Append(make([]byte, 0, 64+len(data)))
	if err != nil {
		return m3ua.UserData{}, err
	}
	return s.userData(dpc, sls, b), nil
}

// Begin is the first message of dialogue otid.
func (s *Script) Begin(otid uint32, sls uint8) (m3ua.UserData, error) {
	comps, err := tcap.AppendComponents(make([]byte, 0, 32), s.invoke(0))
	if err != nil {
		return m3ua.UserData{}, err
	}
	t := tcap.Message{Kind: tcap.Begin, OTID: tcap.TID32(otid), HasOTID: true, Components: comps}
	b, err := t.Append(make([]byte, 0, 64))
	if err != nil {
		return m3ua.UserData{}, err
	}
	return s.wrap(s.called(), s.calling(), b, s.DPC, sls)
}

// Continue is the network's answer a to the server's Continue in (its
// SCCP message, from the point code opc): addresses swapped from in's.
func (s *Script) Continue(a Action, in *sccp.Message, opc uint32) (m3ua.UserData, error) {
	comps, err := tcap.AppendComponents(make([]byte, 0, 32), s.invoke(a.Round))
	if err != nil {
		return m3ua.UserData{}, err
	}
	t := tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(a.OTID), HasOTID: true, DTID: a.Peer, HasDTID: true, Components: comps}
	b, err := t.Append(make([]byte, 0, 64))
	if err != nil {
		return m3ua.UserData{}, err
	}
	return s.wrap(in.Calling, in.Called, b, opc, a.SLS)
}

// Abort is the user abort sigload sends to a server whose dialogue it gave
// up on (lost), so that the server forgets it too.
func (s *Script) Abort(peer tcap.TID, sls uint8) (m3ua.UserData, error) {
	t := tcap.Message{Kind: tcap.Abort, DTID: peer, HasDTID: true}
	b, err := t.Append(make([]byte, 0, 16))
	if err != nil {
		return m3ua.UserData{}, err
	}
	return s.wrap(s.called(), s.calling(), b, s.DPC, sls)
}

// ourTID returns the network transaction id a message we sent carries
// (the OTID of a Begin or Continue), for messages handed back or returned.
func ourTID(payload []byte) (uint32, bool) {
	var m sccp.Message
	if err := sccp.Decode(payload, &m); err != nil {
		return 0, false
	}
	var t tcap.Message
	if err := tcap.Decode(m.Data, &t); err != nil || !t.HasOTID || t.OTID.Len() != 4 {
		return 0, false
	}
	return t.OTID.Uint32(), true
}
