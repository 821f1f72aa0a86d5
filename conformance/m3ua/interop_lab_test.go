//go:build lab && linux

//siglab:peers

package m3ua_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/lab/peers"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Interoperability with osmo-stp (Debian bookworm's 1.6.0) in the lab:
// osmo-stp as the SG our ASPs (m3ua.Client) come active at, and osmo-stp as
// an ASP client of our SGP (m3ua.Server). Every exchange is captured with
// dumpcap in the VM and decoded by tshark on the host.

const interopWait = 90 * time.Second

// Point codes in osmo-stp's default 3.8.3 format: 0.2.7 is 23, 0.3.0 is 24.
const (
	pc23 = 23
	pc24 = 24
)

func startOsmoSTP(t *testing.T, h *netlab.Host, cfg string, port int) *netlab.Process {
	t.Helper()
	file := filepath.Join(t.TempDir(), "osmo-stp.cfg")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := peers.Start(h, "osmo-stp", "-c", file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("osmo-stp's configuration:\n%s\nosmo-stp's output:\n%s", cfg, p.Output())
		}
	})
	if port > 0 {
		if err := peers.WaitSCTPListening(h, port, p, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

const osmoLog = `log stderr
 logging filter all 1
 logging color 0
 logging print category 1
 logging level lss7 info
`

// checkCapture stops c and has tshark check it: nothing malformed, every
// M3UA message type in want seen, none outside want and allowed.
func checkCapture(t *testing.T, c *peers.Capture, want, allowed []string) {
	t.Helper()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bad, err := peers.Decode(ctx, c.File, "-Y", "_ws.malformed")
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	if strings.TrimSpace(bad) != "" {
		t.Errorf("tshark finds malformed packets in %s:\n%s", c.File, bad)
	}
	out, err := peers.Decode(ctx, c.File, "-Y", "m3ua", "-T", "fields", "-E", "separator=;", "-E", "aggregator=+",
		"-e", "m3ua.message_class", "-e", "m3ua.message_type")
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	seen := map[string]int{}
	for _, line := range strings.Fields(out) {
		cls, typ, _ := strings.Cut(line, ";")
		cs, ts := strings.Split(cls, "+"), strings.Split(typ, "+")
		for i := range min(len(cs), len(ts)) {
			seen[cs[i]+","+ts[i]]++
		}
	}
	var names []string
	for k, n := range seen {
		var c, ty uint8
		fmt.Sscanf(k, "%d,%d", &c, &ty)
		names = append(names, fmt.Sprintf("%s×%d", m3ua.MessageName(c, ty), n))
		if !slices.Contains(want, k) && !slices.Contains(allowed, k) {
			t.Errorf("tshark sees M3UA %s (class,type %s), not expected here", m3ua.MessageName(c, ty), k)
		}
	}
	slices.Sort(names)
	t.Logf("tshark decodes M3UA in %s: %s", c.File, strings.Join(names, ", "))
	for _, k := range want {
		if seen[k] == 0 {
			var c, ty uint8
			fmt.Sscanf(k, "%d,%d", &c, &ty)
			t.Errorf("tshark sees no M3UA %s (class,type %s)", m3ua.MessageName(c, ty), k)
		}
	}
	if t.Failed() {
		sum, _ := peers.Decode(ctx, c.File)
		t.Logf("tshark's summary:\n%s", sum)
	}
}

// checkMultihomed checks in a stopped capture that the INIT or INIT ACK
// chunks sent from from.Addr(A) list from's network-B address: that end
// offered both paths.
func checkMultihomed(t *testing.T, c *peers.Capture, who string, from *netlab.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := peers.Decode(ctx, c.File, "-Y", fmt.Sprintf("(sctp.chunk_type == 1 || sctp.chunk_type == 2) && ip.src == %s", from.Addr(netlab.NetA)),
		"-T", "fields", "-e", "sctp.parameter_ipv4_address")
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	if strings.TrimSpace(out) == "" {
		t.Errorf("%s: no INIT or INIT ACK from %s in %s", who, from.Addr(netlab.NetA), c.File)
		return
	}
	for _, line := range strings.Fields(out) {
		if !slices.Contains(strings.Split(line, ","), from.Addr(netlab.NetB).String()) {
			t.Errorf("%s: an INIT or INIT ACK from %s lists %s, not its network-B address %s", who, from.Addr(netlab.NetA), line, from.Addr(netlab.NetB))
		}
	}
	t.Logf("%s offers both paths: INIT/INIT ACK address parameters %s", who, strings.Join(strings.Fields(out), " "))
}

// The M3UA message types (class,type) of a bring-up, DATA both ways and a
// graceful shutdown, and those that may come besides.
var (
	lifeCycle = []string{"3,1", "3,4", "4,1", "4,3", "0,1", "1,1", "4,2", "4,4", "3,2", "3,5"}
	mayCome   = []string{"3,3", "3,6", "2,1", "2,2", "2,3", "2,4", "2,5", "2,6"}
)

// dataSink collects DATA.
type dataSink struct {
	mu   sync.Mutex
	data []m3ua.UserData
}

func (s *dataSink) handlers() m3ua.Handlers {
	return m3ua.Handlers{Data: func(_ m3ua.AssocID, u m3ua.UserData) {
		u.Payload = append([]byte(nil), u.Payload...)
		s.mu.Lock()
		s.data = append(s.data, u)
		s.mu.Unlock()
	}}
}

func (s *dataSink) wait(t *testing.T, who string, n int) []m3ua.UserData {
	t.Helper()
	deadline := time.Now().Add(interopWait)
	for {
		s.mu.Lock()
		got := slices.Clone(s.data)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s got %d DATA of %d", who, len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkData checks that got are the n messages sent from opc to dpc, in
// order (one SLS), with their payloads.
func checkData(t *testing.T, who string, got []m3ua.UserData, opc, dpc uint32, n int) {
	t.Helper()
	if len(got) != n {
		t.Errorf("%s got %d DATA, want %d", who, len(got), n)
	}
	for i, u := range got {
		want := fmt.Sprintf("%d→%d #%d", opc, dpc, i)
		if u.OPC != opc || u.DPC != dpc || u.SI != 3 || string(u.Payload) != want {
			t.Errorf("%s DATA %d: %v, want opc %d dpc %d si 3 payload %q", who, i, u, opc, dpc, want)
		}
	}
}

// TestLabInteropOsmoSTPAsSG: osmo-stp is the SG (STP) on h1. Our ASPs on
// h2 and h3 serve AS as1 (RC 23, point code 0.2.7), our ASP on h4 serves
// AS as2 (RC 24, 0.3.0); each ASP is multihomed over networks A and B
// from a fixed local port. They come ASP-ACTIVE at osmo-stp and exchange
// DATA through it:
//   - override: h2 comes active first, then h3 takes over; osmo-stp tells
//     h2 (NTFY Alternate ASP Active) and sends as1's traffic to h3 only;
//   - loadshare: h2 and h3 are both active and share as1's traffic.
//
// Either way h4's DATA for 0.2.7 reaches as1, and as1's DATA for 0.3.0
// reaches h4.
func TestLabInteropOsmoSTPAsSG(t *testing.T) {
	if err := peers.Available(); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []m3ua.TrafficMode{m3ua.Override, m3ua.Loadshare} {
		t.Run(mode.String(), func(t *testing.T) {
			topo, err := netlab.New(4)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { topo.Close() })
			stp, h2, h3, h4 := topo.Host(1), topo.Host(2), topo.Host(3), topo.Host(4)
			ip := func(h *netlab.Host, n netlab.Net) string { return h.Addr(n).String() }
			asp := func(name string, port int, h *netlab.Host) string {
				return fmt.Sprintf(" asp %s %d 2905 m3ua\n  remote-ip %s\n  remote-ip %s\n  role sg\n  sctp-role server\n",
					name, port, ip(h, netlab.NetA), ip(h, netlab.NetB))
			}
			cfg := osmoLog + "cs7 instance 0\n" + asp("asp1", 2905, h2) + asp("asp2", 2906, h3) + asp("asp3", 2907, h4) +
				fmt.Sprintf(` as as1 m3ua
  asp asp1
  asp asp2
  routing-key 23 0.2.7
  traffic-mode %s
 as as2 m3ua
  asp asp3
  routing-key 24 0.3.0
  traffic-mode %s
 route-table system
  update route 0.2.7 7.255.7 linkset as1
  update route 0.3.0 7.255.7 linkset as2
 listen m3ua 2905
  local-ip %s
  local-ip %s
`, mode, mode, ip(stp, netlab.NetA), ip(stp, netlab.NetB))
			startOsmoSTP(t, stp, cfg, 2905)
			capture, err := peers.StartCapture(stp, netlab.IfaceA, "osmo-stp-sg-"+mode.String(), "-f", "sctp")
			if err != nil {
				t.Fatal(err)
			}
			sgp := sctp.Addr{IPs: bothAddrs(stp), Port: 2905}
			ctx, cancel := context.WithTimeout(context.Background(), interopWait)
			defer cancel()
			start := func(h *netlab.Host, port uint16, rc uint32, sink *dataSink) *m3ua.Client {
				c, err := m3ua.StartClient(m3ua.ClientConfig{
					ASP:       m3ua.ASPConfig{RCs: []uint32{rc}, Mode: mode, AutoActivate: true},
					Transport: hostTransport{h: h}, Local: sctp.Addr{IPs: bothAddrs(h), Port: port},
					SGPs: []sctp.Addr{sgp}, Handlers: sink.handlers(),
					Backoff: m3ua.Backoff{Initial: 200 * time.Millisecond, Max: 2 * time.Second},
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				if err := c.WaitActive(ctx, 1); err != nil {
					t.Fatalf("the ASP on %s is %v at osmo-stp: %v", h, c.States(), err)
				}
				return c
			}
			var s1, s2, s3 dataSink
			c1 := start(h2, 2905, 23, &s1)
			c2 := start(h3, 2906, 23, &s2)
			c3 := start(h4, 2907, 24, &s3)
			if mode == m3ua.Override {
				if err := c1.Wait(ctx, func(st []m3ua.ASPState) bool { return st[0] == m3ua.ASPInactive }); err != nil {
					t.Fatalf("osmo-stp did not take the first ASP out of the override AS (NTFY Alternate ASP Active): %v", c1.States())
				}
			}
			t.Logf("ASPs at osmo-stp (%s): as1 %v %v, as2 %v", mode, c1.States(), c2.States(), c3.States())
			const n = 32
			payload := func(opc, dpc uint32, i int) []byte { return []byte(fmt.Sprintf("%d→%d #%d", opc, dpc, i)) }
			// as2 → as1, one message per SLS.
			for i := range n {
				u := m3ua.UserData{RC: 24, HasRC: true, OPC: pc24, DPC: pc23, SI: 3, NI: 2, SLS: uint8(i), Payload: payload(pc24, pc23, i)}
				if err := c3.SendData(u); err != nil {
					t.Fatal(err)
				}
			}
			// as1 → as2 from every active ASP of as1, on one SLS.
			senders := []*m3ua.Client{c2}
			if mode == m3ua.Loadshare {
				senders = append(senders, c1)
			}
			for k, c := range senders {
				for i := range n / 2 {
					j := k*n/2 + i
					u := m3ua.UserData{RC: 23, HasRC: true, OPC: pc23, DPC: pc24, SI: 3, NI: 2, SLS: 7, Payload: payload(pc23, pc24, j)}
					if err := c.SendData(u); err != nil {
						t.Fatal(err)
					}
				}
			}
			got3 := s3.wait(t, "as2's ASP", len(senders)*n/2)
			// Each sender's DATA in order (one SLS); the senders interleave.
			for k := range senders {
				var mine []m3ua.UserData
				for _, u := range got3 {
					var j int
					fmt.Sscanf(string(u.Payload), "23→24 #%d", &j)
					if j/(n/2) == k {
						u.Payload = payload(pc23, pc24, j-k*n/2)
						mine = append(mine, u)
					}
				}
				checkData(t, fmt.Sprintf("as2's ASP from sender %d", k+1), mine, pc23, pc24, n/2)
			}
			deadline := time.Now().Add(interopWait)
			var got1, got2 []m3ua.UserData
			for {
				s1.mu.Lock()
				got1 = slices.Clone(s1.data)
				s1.mu.Unlock()
				s2.mu.Lock()
				got2 = slices.Clone(s2.data)
				s2.mu.Unlock()
				if len(got1)+len(got2) >= n || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("as1's DATA: %d to the ASP on h2, %d to the ASP on h3", len(got1), len(got2))
			if len(got1)+len(got2) != n {
				t.Errorf("as1's ASPs got %d DATA, want %d", len(got1)+len(got2), n)
			}
			switch mode {
			case m3ua.Override:
				if len(got1) != 0 {
					t.Errorf("override: the standby ASP got %d DATA", len(got1))
				}
				checkData(t, "as1's active ASP", got2, pc24, pc23, n)
			case m3ua.Loadshare:
				if len(got1) == 0 || len(got2) == 0 {
					t.Errorf("loadshare: osmo-stp did not share: %d and %d", len(got1), len(got2))
				}
				for _, u := range append(got1, got2...) {
					if u.OPC != pc24 || u.DPC != pc23 || string(u.Payload) != string(payload(pc24, pc23, int(u.SLS))) {
						t.Errorf("as1 got %v", u)
					}
				}
			}
			sctx, scancel := context.WithTimeout(context.Background(), interopWait)
			defer scancel()
			for i, c := range []*m3ua.Client{c1, c2, c3} {
				if err := c.Shutdown(sctx); err != nil {
					t.Errorf("graceful shutdown of ASP %d: %v", i+1, err)
				}
			}
			checkCapture(t, capture, lifeCycle, mayCome)
			checkMultihomed(t, capture, "our ASP on h2", h2)
			checkMultihomed(t, capture, "our ASP on h3", h3)
			checkMultihomed(t, capture, "osmo-stp", stp)
		})
	}
}

// TestLabInteropOsmoSTPAsASP: osmo-stp on h2, configured as an ASP client
// (AS as0, RC 23, point code 0.2.7), becomes active at our SGP on h1 and
// exchanges DATA with it: DATA for 0.3.0 that our SGP sends is routed by
// osmo-stp back to its AS as0, that is, to us.
func TestLabInteropOsmoSTPAsASP(t *testing.T) {
	if err := peers.Available(); err != nil {
		t.Fatal(err)
	}
	topo, err := netlab.New(2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { topo.Close() })
	sg, h2 := topo.Host(1), topo.Host(2)
	capture, err := peers.StartCapture(sg, netlab.IfaceA, "osmo-stp-asp", "-f", "sctp")
	if err != nil {
		t.Fatal(err)
	}
	var sink dataSink
	ln, err := hostTransport{h: sg}.Listen(sctp.Addr{IPs: bothAddrs(sg), Port: 2905})
	if err != nil {
		t.Fatal(err)
	}
	srv := m3ua.NewServer(m3ua.ServerConfig{SGP: m3ua.SGPConfig{ASes: []m3ua.ASConfig{{RC: 23, Mode: m3ua.Override}}}, Handlers: sink.handlers()})
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	cfg := osmoLog + fmt.Sprintf(`cs7 instance 0
 point-code 0.2.7
 asp asp0 2905 2905 m3ua
  remote-ip %s
  remote-ip %s
  local-ip %s
  local-ip %s
  role asp
  sctp-role client
 as as0 m3ua
  asp asp0
  routing-key 23 0.2.7
  traffic-mode override
 route-table system
  update route 0.3.0 7.255.7 linkset as0
`, sg.Addr(netlab.NetA), sg.Addr(netlab.NetB), h2.Addr(netlab.NetA), h2.Addr(netlab.NetB))
	startOsmoSTP(t, h2, cfg, 0)
	deadline := time.Now().Add(interopWait)
	for srv.ASState(23) != m3ua.ASActive {
		if time.Now().After(deadline) {
			t.Fatalf("osmo-stp did not make AS 23 active at our SGP: %v", srv.ASState(23))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("osmo-stp is ASP-ACTIVE at our SGP, AS 23 %v", srv.ASState(23))
	const n = 20
	for i := range n {
		srv.SendData(m3ua.UserData{RC: 23, OPC: pc23, DPC: pc24, SI: 3, NI: 2, SLS: 3, Payload: []byte(fmt.Sprintf("%d→%d #%d", pc23, pc24, i))})
	}
	checkData(t, "our SGP", sink.wait(t, "our SGP", n), pc23, pc24, n)
	ctx, cancel := context.WithTimeout(context.Background(), interopWait)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("SGP shutdown: %v", err)
	}
	// Our shutdown is an unsolicited ASPDN ACK and SCTP SHUTDOWN: no
	// ASPIA or ASPDN from osmo-stp is expected.
	checkCapture(t, capture, []string{"3,1", "3,4", "4,1", "4,3", "0,1", "1,1", "3,5"}, append(mayCome, "4,2", "4,4", "3,2"))
	checkMultihomed(t, capture, "our SGP", sg)
	checkMultihomed(t, capture, "osmo-stp", h2)
}
