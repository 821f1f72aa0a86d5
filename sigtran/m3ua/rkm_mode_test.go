package m3ua

import (
	"testing"
	"time"

	"github.com/wmnsk/go-m3ua/messages"
	"github.com/wmnsk/go-m3ua/messages/params"
)

// A routing key whose Traffic Mode Type is not one RFC 4666 defines (0, 4,
// 7) decodes, re-encodes to the same bytes, and is refused by the SGP in
// the REG RSP (Unsupported/Invalid Traffic Handling Mode), not with ERR;
// the same key with a defined mode is registered.
func TestRegReqUndefinedTrafficMode(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	for _, tc := range []struct {
		mode       uint32
		wantStatus uint32
	}{{0, params.UnsupportedTrafficHandlingMode}, {4, params.UnsupportedTrafficHandlingMode},
		{7, params.UnsupportedTrafficHandlingMode}, {2, params.SuccessfullyRegistered}} {
		key := RoutingKey{LocalRKID: 9, DPC: 300, Mode: TrafficMode(tc.mode), modeZero: tc.mode == 0}
		b, err := Encode(&RegReq{Keys: []RoutingKey{key}})
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(b)
		if err != nil {
			t.Fatalf("mode %d: %v", tc.mode, err)
		}
		again, err := Encode(m)
		if err != nil || string(again) != string(b) {
			t.Fatalf("mode %d: re-encoded %x, %v; want %x", tc.mode, again, err, b)
		}
		s := NewSGP(SGPConfig{Registration: DynamicPermitted})
		s.AssocUp(now, 1, 16)
		up, _ := Encode(messages.NewAspUp(nil, nil))
		s.Receive(now, 1, 0, up)
		s.Ready()
		s.Receive(now, 1, 0, b)
		r := s.Ready()
		var rsp *RegRsp
		for _, snd := range r.Sends {
			if x, ok := snd.Msg.(*RegRsp); ok {
				rsp = x
			} else if e, ok := snd.Msg.(*messages.Error); ok {
				t.Fatalf("mode %d: the SGP sent ERR %v", tc.mode, e.ErrorCode)
			}
		}
		if rsp == nil || len(rsp.Results) != 1 || rsp.Results[0].Status != tc.wantStatus || rsp.Results[0].LocalRKID != 9 {
			t.Fatalf("mode %d: REG RSP %+v, want status %d", tc.mode, rsp, tc.wantStatus)
		}
	}
}
