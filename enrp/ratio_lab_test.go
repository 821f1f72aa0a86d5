//go:build lab && linux

//siglab:peers

package enrp

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab/labsctp"
	"github.com/sigpool/sigpool/internal/lab/netlab"
	"github.com/sigpool/sigpool/internal/lab/peers"
	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// asapLoad drives one registrar over one ASAP association with our own
// ASAP codec, as a pool element and a pool user would: requests with a
// window of outstanding ones, every endpoint keep-alive answered.
type asapLoad struct {
	as   sctp.Association
	mu   sync.Mutex // serializes Send
	resp chan rserpool.Message
	errc chan error
}

func newASAPLoad(ctx context.Context, h *netlab.Host, to sctp.Addr) (*asapLoad, error) {
	as, err := labsctp.Transport{Host: h, Kernel: labKernel}.Dial(ctx, sctp.Addr{}, to)
	if err != nil {
		return nil, err
	}
	l := &asapLoad{as: as, resp: make(chan rserpool.Message, 4096), errc: make(chan error, 1)}
	go l.read()
	return l, nil
}

func (l *asapLoad) send(m rserpool.Message) error {
	b, err := m.AppendTo(nil)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.as.Send(sctp.Message{PPID: rserpool.PPID, Data: b})
}

func (l *asapLoad) read() {
	buf := make([]byte, 65536)
	for {
		m, e, err := l.as.Recv(buf)
		if err != nil {
			l.errc <- err
			return
		}
		if e != nil || m.PPID != rserpool.PPID {
			continue
		}
		msg, _, err := rserpool.DecodeMessage(m.Data)
		if err != nil {
			l.errc <- fmt.Errorf("undecodable answer: %w", err)
			return
		}
		switch msg := msg.(type) {
		case *rserpool.EndpointKeepAlive:
			l.send(&rserpool.EndpointKeepAliveAck{PoolHandle: msg.PoolHandle, ID: msg.ID})
		case *rserpool.RegistrationResponse, *rserpool.HandleResolutionResponse:
			l.resp <- msg
		}
	}
}

// run keeps window requests outstanding for d, then waits for the last
// answers; it returns the answers per second and how many were refusals.
func (l *asapLoad) run(d time.Duration, window int, mk func(i int) rserpool.Message) (rate float64, answers, refused int, err error) {
	start := time.Now()
	sent := 0
	wait := func() error {
		select {
		case m := <-l.resp:
			answers++
			switch m := m.(type) {
			case *rserpool.RegistrationResponse:
				if m.Reject {
					refused++
				}
			case *rserpool.HandleResolutionResponse:
				if len(m.Causes) > 0 || len(m.Elements) == 0 {
					refused++
				}
			}
			return nil
		case err := <-l.errc:
			return err
		case <-time.After(20 * time.Second):
			return fmt.Errorf("no answer within 20 s (%d sent, %d answered)", sent, answers)
		}
	}
	for time.Since(start) < d {
		if sent-answers < window {
			if err := l.send(mk(sent)); err != nil {
				return 0, answers, refused, err
			}
			sent++
			continue
		}
		if err := wait(); err != nil {
			return 0, answers, refused, err
		}
	}
	for answers < sent {
		if err := wait(); err != nil {
			return 0, answers, refused, err
		}
	}
	return float64(answers) / time.Since(start).Seconds(), answers, refused, nil
}

// ratioFigures is what one registrar achieved.
type ratioFigures struct{ registrations, resolutions float64 }

// ratioElements elements of one pool are registered again and again.
const ratioElements = 64

// warmRegistrar opens the load association to addr and registers every
// element once, then runs a second of each load.
func warmRegistrar(t *testing.T, name string, load *netlab.Host, addr sctp.Addr) *asapLoad {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := newASAPLoad(ctx, load, addr)
	if err != nil {
		t.Fatalf("%s: dialing %v: %v", name, addr, err)
	}
	t.Cleanup(func() { l.as.Close() })
	reg, res := ratioRequests(load)
	if _, _, refused, err := l.run(time.Second, ratioWindow, reg); err != nil || refused > 0 {
		t.Fatalf("%s: warm-up registrations: %v (%d refused)", name, err, refused)
	}
	if _, _, refused, err := l.run(time.Second, ratioWindow, res); err != nil || refused > 0 {
		t.Fatalf("%s: warm-up resolutions: %v (%d refused)", name, err, refused)
	}
	return l
}

const ratioWindow = 32

func ratioRequests(load *netlab.Host) (reg, res func(int) rserpool.Message) {
	handle := []byte("RatioPool")
	reg = func(i int) rserpool.Message {
		return &rserpool.Registration{PoolHandle: handle, Element: rserpool.PoolElement{
			ID: uint32(1 + i%ratioElements), RegistrationLife: 120000,
			UserTransport: rserpool.Transport{Kind: rserpool.ParamSCTPTransport, Port: uint16(20000 + i%ratioElements), Addrs: []netip.Addr{load.A}},
			Policy:        rserpool.Policy{Type: rserpool.RoundRobin}}}
	}
	res = func(int) rserpool.Message { return &rserpool.HandleResolution{PoolHandle: handle} }
	return reg, res
}

// measureRegistrar runs d of registrations then d of handle resolutions
// on l.
func measureRegistrar(t *testing.T, name string, l *asapLoad, load *netlab.Host, d time.Duration) ratioFigures {
	t.Helper()
	reg, res := ratioRequests(load)
	var f ratioFigures
	var n, refused int
	var err error
	if f.registrations, n, refused, err = l.run(d, ratioWindow, reg); err != nil || refused > 0 {
		t.Fatalf("%s: registrations: %v (%d of %d refused)", name, err, refused, n)
	}
	if f.resolutions, n, refused, err = l.run(d, ratioWindow, res); err != nil || refused > 0 {
		t.Fatalf("%s: handle resolutions: %v (%d of %d refused)", name, err, refused, n)
	}
	t.Logf("%s: %.0f registrations/s, %.0f handle resolutions/s", name, f.registrations, f.resolutions)
	return f
}

// TestLabRegistrarRatio measures, in one VM run, the registrations and
// handle resolutions per second of our registrar (the cmd/registrar
// program, host 1) and of rsplib's rspregistrar (host 2), driven by the
// same load generator from host 3: one ASAP association, 32 requests
// outstanding, 64 elements of one Round Robin pool registered again and
// again, then resolutions of that pool (3 elements per answer, both
// registrars' default); four alternating rounds of 3 s each, the best
// round of each counting. Our registrar's per-association resolution rate
// limit is lifted for the measurement (rsplib has none). It prints the
// ratios (ours / rspregistrar); the emulated VM's absolute figures mean
// little, the ratio is what counts. Both must answer every request.
func TestLabRegistrarRatio(t *testing.T) {
	topo := peersTopology(t, 3)
	ourHost, rspHost, loadHost := topo.Host(1), topo.Host(2), topo.Host(3)
	ourASAP := sctp.Addr{IPs: []netip.Addr{ourHost.A}, Port: rserpool.Port}
	rspASAP := sctp.Addr{IPs: []netip.Addr{rspHost.A}, Port: rserpool.Port}
	ours, err := ourHost.Start(registrarBinary(t), "--id", "81", "--asap", ourASAP.String(), "--tuning", "rfc",
		"--resolution-rate", "100000000", "--resolution-burst", "100000000", "--log-level", "warn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ours.Kill() })
	rsp, err := peers.Start(rspHost, "rspregistrar", "-asap="+rspASAP.String(),
		"-enrp="+netip.AddrPortFrom(rspHost.A, Port).String(), "-loglevel=0", "-logcolor=off")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rsp.Kill() })
	if err := peers.WaitSCTPListening(ourHost, rserpool.Port, ours, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := peers.WaitSCTPListening(rspHost, rserpool.Port, rsp, time.Minute); err != nil {
		t.Fatal(err)
	}
	// Rounds alternate between the two, so that a slow spell of the
	// emulated VM (or of the machine under it) hits both; each one's best
	// round counts.
	const d, rounds = 3 * time.Second, 4
	ol := warmRegistrar(t, "our registrar", loadHost, ourASAP)
	rl := warmRegistrar(t, "rspregistrar", loadHost, rspASAP)
	var our, their ratioFigures
	best := func(b *ratioFigures, f ratioFigures) {
		b.registrations = max(b.registrations, f.registrations)
		b.resolutions = max(b.resolutions, f.resolutions)
	}
	for i := 0; i < rounds; i++ {
		if i%2 == 0 {
			best(&our, measureRegistrar(t, "our registrar", ol, loadHost, d))
			best(&their, measureRegistrar(t, "rspregistrar", rl, loadHost, d))
		} else {
			best(&their, measureRegistrar(t, "rspregistrar", rl, loadHost, d))
			best(&our, measureRegistrar(t, "our registrar", ol, loadHost, d))
		}
	}
	line := fmt.Sprintf("registrar ratio (ours / rspregistrar, same VM run, best of %d rounds of %v): registrations/s %.0f / %.0f = %.2f; handle resolutions/s %.0f / %.0f = %.2f",
		rounds, d,
		our.registrations, their.registrations, our.registrations/their.registrations,
		our.resolutions, their.resolutions, our.resolutions/their.resolutions)
	t.Log(line)
	fmt.Fprintln(os.Stderr, line)
}
