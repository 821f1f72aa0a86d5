//go:build linux

// Package labm3ua is the lab harness the codec packages above M3UA share to
// have Wireshark check what they encode: it carries payloads as M3UA DATA
// over kernel SCTP between two netlab hosts, captures them, and decodes the
// capture with the peers image's tshark.
package labm3ua

import (
	"context"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/lab/peers"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Captured is a finished capture of the payloads CaptureData sent.
type Captured struct {
	t    testing.TB
	File string
	// Disabled are the tshark protocols every Decode turns off (e.g. a
	// dissector above the one under test that would misread the payloads).
	Disabled []string
}

// CaptureData sends each payload, in order, as M3UA DATA (RC 1, OPC 42,
// DPC 513, SI 3 (SCCP), NI 2, SLS 1) from an ASP on one netlab host to an
// SGP on another, waits until the SGP has received each, and returns the
// capture of network A, named name. It fails the test on any error.
func CaptureData(t testing.TB, name string, payloads [][]byte) *Captured {
	t.Helper()
	if err := peers.Available(); err != nil {
		t.Fatal(err)
	}
	topo, err := netlab.New(2)
	if err != nil {
		t.Fatalf("netlab.New(2): %v (run the lab tests with siglab test)", err)
	}
	t.Cleanup(func() { topo.Close() })
	sgp, asp := topo.Host(1), topo.Host(2)
	got := make(chan int, len(payloads))
	srv := m3ua.NewServer(m3ua.ServerConfig{
		SGP:      m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 1, Mode: m3ua.Loadshare}}},
		Handlers: m3ua.Handlers{Data: func(_ m3ua.AssocID, u m3ua.UserData) { got <- len(u.Payload) }},
	})
	ln, err := labsctp.Transport{Host: sgp}.Listen(labsctp.Addr(sgp, 2905))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	capture, err := peers.StartCapture(asp, netlab.IfaceA, name, "-f", "sctp")
	if err != nil {
		t.Fatal(err)
	}
	c, err := m3ua.StartClient(m3ua.ClientConfig{
		ASP:       m3ua.ASPConfig{RCs: []uint32{1}, AutoActivate: true},
		Transport: labsctp.Transport{Host: asp}, Local: labsctp.Addr(asp, 0),
		SGPs: []sctp.Addr{labsctp.Addr(sgp, 2905)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.WaitActive(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for _, p := range payloads {
		if err := c.SendData(m3ua.UserData{RC: 1, HasRC: true, OPC: 42, DPC: 513, SI: 3, NI: 2, SLS: 1, Payload: p}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatal("DATA not delivered")
		}
	}
	if err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	return Open(t, capture.File)
}

// Open is a capture file made otherwise, to decode with Captured.Decode,
// the protocols disabled turned off.
func Open(t testing.TB, file string, disabled ...string) *Captured {
	return &Captured{t: t, File: file, Disabled: disabled}
}

// Decode runs tshark on the capture with args (after the Disabled
// protocols) and returns its output; an error fails the test.
func (c *Captured) Decode(args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var all []string
	for _, p := range c.Disabled {
		all = append(all, "--disable-protocol", p)
	}
	out, err := peers.Decode(ctx, c.File, append(all, args...)...)
	if err != nil {
		c.t.Fatalf("tshark: %v\n%s", err, out)
	}
	return out
}
