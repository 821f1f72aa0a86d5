package sctp

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNoSCTPMapping(t *testing.T) {
	for _, err := range []error{unix.EPROTONOSUPPORT, os.NewSyscallError("socket", unix.EPROTONOSUPPORT), unix.ESOCKTNOSUPPORT} {
		if got := mapSocketErr(err); !errors.Is(got, ErrNoSCTP) {
			t.Errorf("mapSocketErr(%v) = %v, want ErrNoSCTP", err, got)
		}
	}
	if got := mapSocketErr(unix.EMFILE); errors.Is(got, ErrNoSCTP) || !errors.Is(got, unix.EMFILE) {
		t.Errorf("mapSocketErr(EMFILE) = %v", got)
	}
}

// TestListenDialHere runs on whatever kernel the test runs on: without
// SCTP the error must be exactly ErrNoSCTP; with it, the calls work.
func TestListenDialHere(t *testing.T) {
	l, err := Listen(Config{}, Addr{IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})
	if err != nil {
		if !errors.Is(err, ErrNoSCTP) {
			t.Fatalf("Listen: %v, want success or ErrNoSCTP", err)
		}
		_, err = Dial(context.Background(), Config{}, Addr{}, Addr{IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Port: 9})
		if !errors.Is(err, ErrNoSCTP) {
			t.Fatalf("Dial: %v, want ErrNoSCTP", err)
		}
		return
	}
	defer l.Close()
	if l.Addr().Port == 0 {
		t.Fatalf("listener address %v has no port", l.Addr())
	}
}

func TestDialNeedsAPeer(t *testing.T) {
	if _, err := Dial(context.Background(), Config{}, Addr{}, Addr{Port: 2905}); err == nil || errors.Is(err, ErrNoSCTP) {
		t.Fatalf("Dial without peer IP: %v, want an argument error", err)
	}
}

func TestFamilyChoice(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")
	mapped := netip.MustParseAddr("::ffff:10.0.0.1")
	if family([]netip.Addr{v4}, []netip.Addr{v4, mapped}) != unix.AF_INET {
		t.Error("IPv4 only: want AF_INET")
	}
	if family([]netip.Addr{v4}, []netip.Addr{v6}) != unix.AF_INET6 {
		t.Error("mixed: want AF_INET6")
	}
	if family(nil) != unix.AF_INET6 {
		t.Error("no address: want AF_INET6 (dual stack wildcard)")
	}
}

func TestAddrStringParseRoundTrip(t *testing.T) {
	for _, s := range []string{"127.0.0.1:2905", "127.0.0.1+127.0.0.2:3868", "[2001:db8::1]+[2001:db8::2]:9901", "10.0.0.1+[::1]:1"} {
		a, err := ParseAddr(s)
		if err != nil {
			t.Fatalf("ParseAddr(%q): %v", s, err)
		}
		if a.String() != s {
			t.Errorf("ParseAddr(%q).String() = %q", s, a.String())
		}
	}
	for _, s := range []string{"", "127.0.0.1", ":2905", "127.0.0.1:99999", "nope:1", "127.0.0.1+:1"} {
		if a, err := ParseAddr(s); err == nil {
			t.Errorf("ParseAddr(%q) = %v, want an error", s, a)
		}
	}
}
