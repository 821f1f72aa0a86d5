package m3ua

import (
	"encoding/binary"
	"fmt"

	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// TrafficMode is the Traffic Mode Type of an AS (RFC 4666 section 3.7.1).
// Zero means "not given".
type TrafficMode uint32

// Traffic modes.
const (
	Override  TrafficMode = 1
	Loadshare TrafficMode = 2
	Broadcast TrafficMode = 3
)

func (m TrafficMode) valid() bool { return m >= Override && m <= Broadcast }

func (m TrafficMode) String() string {
	switch m {
	case 0:
		return "none"
	case Override:
		return "override"
	case Loadshare:
		return "loadshare"
	case Broadcast:
		return "broadcast"
	}
	return fmt.Sprintf("mode(%d)", uint32(m))
}

// Status types and information of the NTFY Status parameter (RFC 4666
// section 3.8.2).
const (
	StatusTypeASStateChange uint16 = 1
	StatusTypeOther         uint16 = 2

	StatusASInactive uint16 = 2 // with StatusTypeASStateChange
	StatusASActive   uint16 = 3
	StatusASPending  uint16 = 4

	StatusInsufficientASPResources uint16 = 1 // with StatusTypeOther
	StatusAlternateASPActive       uint16 = 2
	StatusASPFailure               uint16 = 3
)

// UserData is the MTP3 user data of a DATA message with its routing context.
type UserData struct {
	RC    uint32
	HasRC bool
	OPC   uint32
	DPC   uint32
	SI    uint8
	NI    uint8
	MP    uint8
	SLS   uint8
	// Payload aliases the received message.
	Payload []byte
}

func (u UserData) String() string {
	rc := "-"
	if u.HasRC {
		rc = fmt.Sprint(u.RC)
	}
	return fmt.Sprintf("rc=%s opc=%d dpc=%d si=%d ni=%d mp=%d sls=%d payload=%x", rc, u.OPC, u.DPC, u.SI, u.NI, u.MP, u.SLS, u.Payload)
}

// UserDataOf extracts the user data of a decoded DATA message. A routing
// context parameter with several values is refused: DATA carries one.
func UserDataOf(d *messages.Data) (UserData, *ProtocolError) {
	var u UserData
	if d.ProtocolData == nil || len(d.ProtocolData.Data) < 12 {
		return u, perr(ErrMissingParameter, "DATA without Protocol Data")
	}
	v := d.ProtocolData.Data
	u.OPC = binary.BigEndian.Uint32(v[0:4])
	u.DPC = binary.BigEndian.Uint32(v[4:8])
	u.SI, u.NI, u.MP, u.SLS = v[8], v[9], v[10], v[11]
	u.Payload = v[12:]
	if rc := d.RoutingContext; rc != nil {
		if len(rc.Data) != 4 {
			return u, perr(ErrInvalidParameterValue, "DATA with %d bytes of routing context", len(rc.Data))
		}
		u.RC, u.HasRC = binary.BigEndian.Uint32(rc.Data), true
	}
	return u, nil
}

// NewData builds the DATA message for u.
func NewData(u UserData) *messages.Data {
	var rc *params.Param
	if u.HasRC {
		rc = params.NewRoutingContext(u.RC)
	}
	return messages.NewData(nil, rc,
		params.NewProtocolData(u.OPC, u.DPC, u.SI, u.NI, u.MP, u.SLS, u.Payload), nil)
}

// uint32s reads a list of 32-bit values (routing contexts, say); the codec
// has checked the length already, so a bad length gives nil.
func uint32s(p *params.Param) []uint32 {
	if p == nil || len(p.Data)%4 != 0 {
		return nil
	}
	out := make([]uint32, 0, len(p.Data)/4)
	for i := 0; i+4 <= len(p.Data); i += 4 {
		out = append(out, binary.BigEndian.Uint32(p.Data[i:]))
	}
	return out
}

func uint32Of(p *params.Param) (uint32, bool) {
	if p == nil || len(p.Data) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(p.Data), true
}
