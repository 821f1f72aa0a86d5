package lab

import (
	"bytes"
	"strconv"
	"testing"
)

type cpioEntry struct {
	name        string
	mode        uint32
	data        string
	major, minr uint32
}

// readCPIO parses newc archives independently of the writer, field by field
// as the kernel's unpacker reads them.
func readCPIO(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var out []cpioEntry
	field := func(h []byte, i int) uint32 {
		v, err := strconv.ParseUint(string(h[6+8*i:6+8*i+8]), 16, 32)
		if err != nil {
			t.Fatalf("field %d: %v", i, err)
		}
		return uint32(v)
	}
	align := func(n int) int { return (n + 3) &^ 3 }
	off := 0
	for {
		if off+110 > len(b) {
			t.Fatalf("truncated archive at %d", off)
		}
		h := b[off : off+110]
		if string(h[:6]) != "070701" {
			t.Fatalf("bad magic %q at %d", h[:6], off)
		}
		size, nameLen := int(field(h, 6)), int(field(h, 11))
		name := string(b[off+110 : off+110+nameLen-1])
		if b[off+110+nameLen-1] != 0 {
			t.Fatalf("name of %q not NUL-terminated", name)
		}
		dataOff := align(off + 110 + nameLen)
		if name == "TRAILER!!!" {
			return out
		}
		out = append(out, cpioEntry{name: name, mode: field(h, 1), data: string(b[dataOff : dataOff+size]), major: field(h, 9), minr: field(h, 10)})
		off = align(dataOff + size)
	}
}

func TestCPIOWriter(t *testing.T) {
	var buf bytes.Buffer
	c := newCPIO(&buf)
	steps := []error{
		c.charDev("dev/console", 5, 1),
		c.file("etc/siglab/spec.json", 0o644, []byte(`{"a":1}`)),
		c.file("bin/busybox", 0o755, []byte("odd-sized!")),
		c.symlink("bin/sh", "busybox"),
		c.close(),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d is not a multiple of 4", buf.Len())
	}
	got := readCPIO(t, buf.Bytes())
	want := []cpioEntry{
		{name: "dev", mode: modeDir | 0o755},
		{name: "dev/console", mode: modeChr | 0o600, major: 5, minr: 1},
		{name: "etc", mode: modeDir | 0o755},
		{name: "etc/siglab", mode: modeDir | 0o755},
		{name: "etc/siglab/spec.json", mode: modeFile | 0o644, data: `{"a":1}`},
		{name: "bin", mode: modeDir | 0o755},
		{name: "bin/busybox", mode: modeFile | 0o755, data: "odd-sized!"},
		{name: "bin/sh", mode: modeLink | 0o777, data: "busybox"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
