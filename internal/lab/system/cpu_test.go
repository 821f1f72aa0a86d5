package system

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProcCPU(t *testing.T) {
	// a command name with a space and a parenthesis; utime 250, stime 37
	stat := "4242 (sgw (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 37 0 0 20 0 12 0 5000 800000000 4000 18446744073709551615"
	d, err := procCPU([]byte(stat))
	if err != nil || d != 2870*time.Millisecond {
		t.Fatalf("procCPU = %s, %v; want 2.87s", d, err)
	}
	for _, bad := range []string{"", "4242 sgw S 1", "1 (a) S 1 2 3", "1 (a) S 1 2 3 4 5 6 7 8 9 10 x 7"} {
		if _, err := procCPU([]byte(bad)); err == nil {
			t.Errorf("procCPU(%q) took it", bad)
		}
	}
}

func TestMachineBusy(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	stat := "cpu  100 5 40 9000 30 2 3 0 50 0\ncpu0 50 2 20 4500 15 1 1 0 0 0\nintr 1\n"
	d, err := machineBusy([]byte(stat))
	if err != nil || d != 1500*time.Millisecond { // 100+5+40+2+3+0 ticks
		t.Fatalf("machineBusy = %s, %v; want 1.5s", d, err)
	}
	for _, bad := range []string{"", "intr 1\n", "cpu 1 2 x 4 5 6"} {
		if _, err := machineBusy([]byte(bad)); err == nil {
			t.Errorf("machineBusy(%q) took it", bad)
		}
	}
}

func TestUseBetween(t *testing.T) {
	ms := time.Millisecond
	s := []CPUSample{
		{At: 0, Busy: 0, Proc: map[string]time.Duration{"gw1": 100 * ms, "asp1a": 50 * ms}},
		{At: 100 * ms, Busy: 150 * ms, Proc: map[string]time.Duration{"gw1": 160 * ms, "asp1a": 60 * ms}},
		// asp1a restarted: its count begins again
		{At: 200 * ms, Busy: 250 * ms, Proc: map[string]time.Duration{"gw1": 200 * ms, "asp1a": 20 * ms}},
	}
	u, ok := UseBetween(s, 0, 200*ms)
	if !ok || u.Span != 200*ms || u.Busy != 250*ms || u.Proc["gw1"] != 100*ms || u.Proc["asp1a"] != 20*ms {
		t.Fatalf("use %+v, %v", u, ok)
	}
	if got := u.String(2, 1); got != "busy 1.25 of 2 CPUs over 200ms: gw1 100ms" {
		t.Errorf("String = %q", got)
	}
	if _, ok := UseBetween(s, 150*ms, 400*ms); ok {
		t.Error("a use past the last sample")
	}
	var b bytes.Buffer
	writeCPU(&b, []CPUSample{s[0], {At: time.Second, Busy: 9 * ms, Proc: map[string]time.Duration{"gw1": 7 * ms}}})
	want := "at_s,busy_ms,asp1a,gw1\n0.000,0,50,100\n1.000,9,,7\n"
	if b.String() != want {
		t.Errorf("csv %q; want %q", b.String(), want)
	}
}

// procCPU and machineBusy read the kernel's text: whatever it holds, they
// must not panic, and a time they return is not negative.
func FuzzProcStat(f *testing.F) {
	f.Add([]byte("4242 (sgw) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 37 0 0"))
	f.Add([]byte("cpu  100 5 40 9000 30 2 3 0 50 0\n"))
	f.Add([]byte("1 ()) R"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := procCPU(b); err == nil && d < 0 {
			t.Errorf("procCPU %s", d)
		}
		if d, err := machineBusy(b); err == nil && (d < 0 || !strings.HasPrefix(string(b), "cpu")) {
			t.Errorf("machineBusy %s from %q", d, b)
		}
	})
}
