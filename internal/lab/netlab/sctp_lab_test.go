//go:build lab && linux

package netlab

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sctpSocket opens a one-to-one style SCTP socket inside h with receive
// and send timeouts, so that blocking calls cannot hang the test.
func sctpSocket(t *testing.T, h *Host) int {
	t.Helper()
	var fd int
	err := h.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
		return err
	})
	if err != nil {
		t.Fatalf("%s: SCTP socket (is sctp.ko loaded?): %v", h, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	tv := unix.NsecToTimeval((60 * time.Second).Nanoseconds())
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
			t.Fatal(err)
		}
	}
	return fd
}

func sctpRecv(t *testing.T, fd int) string {
	t.Helper()
	buf := make([]byte, 512)
	n, err := unix.Read(fd, buf)
	if err != nil {
		t.Fatalf("SCTP read: %v", err)
	}
	return string(buf[:n])
}

// TestLabSCTPAcrossNamespaces checks that kernel SCTP works between two
// hosts of a topology and that an association bound to every address of
// both hosts survives the loss of network A: the kernel moves the data to
// the path over network B.
func TestLabSCTPAcrossNamespaces(t *testing.T) {
	topo := newTopology(t, 2)
	h1, h2 := topo.Host(1), topo.Host(2)
	const port = 2905

	lfd := sctpSocket(t, h1)
	// The wildcard address makes the association use ethA and ethB.
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Port: port}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, 1); err != nil {
		t.Fatal(err)
	}
	cfd := sctpSocket(t, h2)
	if err := unix.Connect(cfd, &unix.SockaddrInet4{Port: port, Addr: h1.A.As4()}); err != nil {
		t.Fatalf("connect %v:%d: %v", h1.A, port, err)
	}
	afd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	t.Cleanup(func() { unix.Close(afd) })
	tv := unix.NsecToTimeval((60 * time.Second).Nanoseconds())
	unix.SetsockoptTimeval(afd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)

	for i, down := range []bool{false, true} {
		if down {
			if err := topo.LinkDown(1, NetA); err != nil {
				t.Fatal(err)
			}
		}
		msg := fmt.Sprintf("message %d, network A down: %v", i, down)
		if _, err := unix.Write(cfd, []byte(msg)); err != nil {
			t.Fatalf("SCTP write: %v", err)
		}
		if got := sctpRecv(t, afd); got != msg {
			t.Fatalf("received %q, want %q", got, msg)
		}
	}
}

// TestLabTopology runs the topology tests again on the lab's kernel, the
// one every kernel-SCTP test runs on: two hosts reach each other on both
// networks, a link is cut and restored, a host is isolated and rejoins.
func TestLabTopology(t *testing.T) {
	t.Run("BothNetworks", TestTwoHostsReachEachOtherOnBothNetworks)
	t.Run("LinkDownAndUp", TestLinkDownAndUp)
	t.Run("Isolate", TestIsolate)
}
