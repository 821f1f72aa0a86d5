//go:build lab

package sctp

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// dieHelperEnv makes the test binary, started again by
// TestLabProcessDeathAborts, dial the address it names, print "up" and wait
// to be killed, instead of running tests.
const dieHelperEnv = "SIGPOOL_SCTP_DIE_HELPER"

func init() {
	addr := os.Getenv(dieHelperEnv)
	if addr == "" {
		return
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		fmt.Println("bad address:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{Tuning: labTuning()}, Addr{}, Addr{IPs: []netip.Addr{ap.Addr()}, Port: ap.Port()})
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(2)
	}
	fmt.Println("up")
	time.Sleep(time.Minute)
	c.Close()
	os.Exit(0)
}

// A process that dies holding an association (SIGKILL: it never calls
// Close) aborts it: the peer sees comm-lost, not a graceful shutdown during
// which the dead end would acknowledge and drop whatever the peer sends.
func TestLabProcessDeathAborts(t *testing.T) {
	l := mustListen(t, Config{Tuning: labTuning()}, loAddr(lo1))
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), dieHelperEnv+"="+netip.AddrPortFrom(lo1, l.Addr().Port).String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	server, err := l.AcceptContext(ctx)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { server.Abort() })
	if ev := nextEvent(t, server); ev.Kind != EventCommUp {
		t.Fatalf("first event %v, want comm-up", ev)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "up\n" {
		t.Fatalf("helper said %q (%v), want up", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	ev := nextEvent(t, server)
	if ev.Kind != EventCommLost {
		t.Fatalf("after the peer process was killed: %v, want comm-lost (an ABORT, not a graceful shutdown)", ev)
	}
	// Anything sent now is refused, not acknowledged into nowhere.
	err = server.Send(Message{Stream: 0, PPID: 3, Data: []byte(strconv.Itoa(42))})
	if err == nil {
		t.Fatal("Send after the peer's abort succeeded")
	}
	t.Logf("after the peer process died: %v; Send: %v", ev, err)
}
