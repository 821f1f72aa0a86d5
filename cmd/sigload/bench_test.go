package main

import (
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sccp"
	"github.com/sigpool/sigpool/sigtran/tcap"
)

// BenchmarkDialogue is sigload's own cost per one-step dialogue: open, build
// the Begin, account the server's Continue, build the network Continue,
// account the End.
func BenchmarkDialogue(b *testing.B) {
	s := Script{OPC: 1001, DPC: 2001, RC: 100, NI: 2, SSN: 8, CalledSSN: 6, Steps: 1}
	tr := NewTracker(1, time.Minute)
	now := time.Now()
	in := sccp.Message{Type: sccp.UDT, Class: 1, Called: s.calling(), Calling: s.called(), Data: []byte{1}}
	b.ReportAllocs()
	for b.Loop() {
		id := tr.Open(now, 1)
		if _, err := s.Begin(id, 1); err != nil {
			b.Fatal(err)
		}
		c := tcap.Message{Kind: tcap.Continue, OTID: tcap.TID32(0xab000001), HasOTID: true, DTID: tcap.TID32(id), HasDTID: true}
		a := tr.Receive(now, &c)
		if _, err := s.Continue(a, &in, 2001); err != nil {
			b.Fatal(err)
		}
		e := tcap.Message{Kind: tcap.End, DTID: tcap.TID32(id), HasDTID: true}
		tr.Receive(now, &e)
		tr.Expire(now, nil)
	}
}
