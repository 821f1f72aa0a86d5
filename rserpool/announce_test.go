package rserpool

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// TestDriverAnnounceListener: a PE without static registrars (announces
// enabled) joins the announce group through the driver's listener, hears
// a registrar announce itself, and registers there. The socket is a
// unicast one here (the Listen hook), standing in for the multicast group;
// the lab test TestLabRsplibAnnounce uses the real group.
func TestDriverAnnounceListener(t *testing.T) {
	env := memEnv()
	reg := startRegistrar(t, env.regTr, env.regAddr, 7)
	ev := newEventLog("PE")
	pe := NewPEDriver(DriverConfig{Transport: env.peTr, OnEvent: ev.on}, PEConfig{
		PoolHandle: []byte("AS-announce"),
		Element:    PoolElement{ID: 31, UserTransport: userTransport(env.peUser[0]), Policy: Policy{Type: RoundRobin}},
		Hunt:       HuntConfig{Announces: true, BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond},
	}, nil)
	var joined netip.AddrPort
	var iface string
	var conn net.PacketConn
	err := pe.ListenAnnounces(AnnounceConfig{Interface: "ethX", Listen: func(g netip.AddrPort, i string) (net.PacketConn, error) {
		joined, iface = g, i
		var err error
		conn, err = net.ListenPacket("udp4", "127.0.0.1:0")
		return conn, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if joined != DefaultAnnounceGroup || joined.String() != "239.0.0.50:3863" || iface != "ethX" {
		t.Fatalf("joined %v on %q", joined, iface)
	}
	pe.Start()
	t.Cleanup(pe.Close)

	out, err := net.Dial("udp4", conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	// Garbage and other messages are dropped; the announce is used.
	ann, _ := Marshal(&ServerAnnounce{ServerID: 7, Transports: []Transport{{Kind: ParamSCTPTransport, Port: Port, Addrs: env.regAddr.IPs}}})
	hr, _ := Marshal(&HandleResolution{PoolHandle: []byte("x")})
	for _, b := range [][]byte{{1, 2, 3}, hr, ann} {
		if _, err := out.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	c := waitEvent[RegistrarConnected](t, ev, nil)
	if c.Addr.String() != env.regAddr.String() {
		t.Fatalf("connected to %v, want the announced %v", c.Addr, env.regAddr)
	}
	if r := waitEvent[Registered](t, ev, nil); r.ID != 31 {
		t.Fatalf("registered as %d", r.ID)
	}
	if ids := reg.elements("AS-announce"); len(ids) != 1 || ids[0] != 31 {
		t.Fatalf("registrar holds %v", ids)
	}
	pe.Close()
	// Closed with the driver: the reader is gone (Close waited for it),
	// and no new listener starts.
	if _, _, err := conn.ReadFrom(make([]byte, 1)); err == nil {
		t.Fatal("the announce socket is still open after Close")
	}
	if err := pe.ListenAnnounces(AnnounceConfig{Listen: func(netip.AddrPort, string) (net.PacketConn, error) {
		return net.ListenPacket("udp4", "127.0.0.1:0")
	}}); err != sctp.ErrClosed {
		t.Fatalf("ListenAnnounces after Close: %v", err)
	}
}

func TestListenAnnounceGroupNotMulticast(t *testing.T) {
	if c, err := ListenAnnounceGroup(netip.MustParseAddrPort("10.0.0.1:3863"), ""); err == nil {
		c.Close()
		t.Fatal("a unicast group was accepted")
	}
}
