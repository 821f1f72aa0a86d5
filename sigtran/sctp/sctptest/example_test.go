package sctptest_test

import (
	"fmt"
	"io"
	"net/netip"

	"github.com/sigpool/sigpool/sigtran/sctp"
	"github.com/sigpool/sigpool/sigtran/sctp/sctptest"
)

// A gateway and an ASP over an in-memory association: exchange an M3UA
// message, lose a path, then shut down.
func ExamplePair() {
	sgw, asp := sctptest.Pair() // two paths each: 10.0.1.x and 10.0.2.x

	buf := make([]byte, sctp.MaxMessage)
	show := func(who string, as sctp.Association) error {
		m, ev, err := as.Recv(buf)
		switch {
		case err != nil:
			fmt.Printf("%s: %v\n", who, err)
		case ev != nil:
			fmt.Printf("%s: event %v\n", who, ev)
		default:
			fmt.Printf("%s: stream %d ppid %d %q\n", who, m.Stream, m.PPID, m.Data)
		}
		return err
	}

	show("sgw", sgw)
	show("asp", asp)
	asp.Send(sctp.Message{Stream: 0, PPID: 3, Data: []byte("ASPUP")})
	show("sgw", sgw)

	sgw.FailPath(netip.MustParseAddr("10.0.1.2")) // the ASP's first interface
	show("sgw", sgw)
	sgw.Send(sctp.Message{Stream: 0, PPID: 3, Data: []byte("ASPUP ACK")})
	show("asp", asp) // still delivered, on the other path

	sgw.Close()
	for show("asp", asp) != io.EOF {
	}
	asp.Close()
	// Output:
	// sgw: event comm-up streams=17/17
	// asp: event comm-up streams=17/17
	// sgw: stream 0 ppid 3 "ASPUP"
	// sgw: event addr-unreachable 10.0.1.2
	// asp: stream 0 ppid 3 "ASPUP ACK"
	// asp: event shutdown
	// asp: EOF
}
