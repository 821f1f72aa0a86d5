//go:build lab

package lab

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLabKernelSCTP proves the lab's reason to exist: the kernel the tests
// run on opens SCTP sockets, one-to-one and one-to-many.
func TestLabKernelSCTP(t *testing.T) {
	for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_SEQPACKET} {
		fd, err := unix.Socket(unix.AF_INET, typ, unix.IPPROTO_SCTP)
		if err != nil {
			t.Fatalf("socket(AF_INET, %d, IPPROTO_SCTP): %v: this kernel has no SCTP; kernel-SCTP tests must run under 'siglab test'", typ, err)
		}
		unix.Close(fd)
	}
	if _, err := os.Stat("/proc/net/sctp/assocs"); err != nil {
		t.Fatalf("/proc/net/sctp/assocs: %v", err)
	}
}
