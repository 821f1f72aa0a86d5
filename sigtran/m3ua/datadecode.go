package m3ua

import (
	"encoding/binary"

	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// DecodeData is the receive path's decoder for DATA: it reports whether b
// is a DATA message (common header class Transfer, type Payload Data) and,
// when it is, checks it exactly as Decode does (header, parameter framing
// and padding, the parameters DATA allows and requires, none repeated,
// each value's length) and then as UserDataOf does (one routing context),
// and fills *u with values that alias b. It allocates nothing for a valid
// message. When isData is false b is something else (or too short to
// tell) and nothing was checked: Decode decides.
//
// For every input, DecodeData and Decode followed by UserDataOf agree: the
// same acceptance, the same error code and the same user data
// (FuzzDecodeDataDifferential).
func DecodeData(b []byte, u *UserData) (isData bool, pe *ProtocolError) {
	var x dataExtra
	if isData, pe = decodeData(b, u, &x); isData && pe == nil {
		pe = x.rcError()
	}
	return isData, pe
}

// isDataHeader reports whether b's common header names DATA.
func isDataHeader(b []byte) bool {
	return len(b) >= HeaderLen && b[2] == ClassTransfer && b[3] == messages.MsgTypePayloadData
}

// dataExtra is what DATA carries besides its user data, for the state
// machines: the Network Appearance, and a Routing Context that does not
// hold exactly one value (refused, but after the checks Decode makes
// first: the stream, the ASP's state).
type dataExtra struct {
	na       uint32
	hasNA    bool
	badRCLen int // value bytes of a Routing Context that is not one value; 0 when fine
}

func (x *dataExtra) rcError() *ProtocolError {
	if x.badRCLen != 0 {
		return perr(ErrInvalidParameterValue, "DATA with %d bytes of routing context", x.badRCLen)
	}
	return nil
}

// decodeData is DecodeData that leaves the routing context's error in x
// with the Network Appearance: the strict checks of Decode come back as
// pe, what UserDataOf would refuse as x.rcError().
func decodeData(b []byte, u *UserData, x *dataExtra) (isData bool, pe *ProtocolError) {
	if !isDataHeader(b) {
		return false, nil
	}
	if _, _, pe := CheckMessage(b); pe != nil {
		return true, pe
	}
	// CheckMessage accepted the framing and the values: read them.
	*u, *x = UserData{}, dataExtra{}
	for p := b[HeaderLen:]; len(p) > 0; {
		tag, val, rest, _ := nextParam(p)
		switch tag {
		case params.NetworkAppearance:
			x.na, x.hasNA = binary.BigEndian.Uint32(val), true
		case params.RoutingContext:
			if len(val) == 4 {
				u.RC, u.HasRC = binary.BigEndian.Uint32(val), true
			} else {
				x.badRCLen = len(val)
			}
		case params.ProtocolData:
			u.OPC = binary.BigEndian.Uint32(val[0:4])
			u.DPC = binary.BigEndian.Uint32(val[4:8])
			u.SI, u.NI, u.MP, u.SLS = val[8], val[9], val[10], val[11]
			u.Payload = val[12:len(val):len(val)]
		}
		p = rest
	}
	return true, nil
}
