//go:build linux

package peers

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigpool/sigpool/internal/lab"
)

// fakeRoot makes a peers root with the marker and the given programs.
func fakeRoot(t *testing.T, programs ...string) {
	t.Helper()
	dir := t.TempDir()
	for _, p := range append([]string{lab.PeersMarker}, programs...) {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	old := root
	root = dir
	t.Cleanup(func() { root = old })
}

func TestAvailableSaysWhatToDo(t *testing.T) {
	old := root
	root = t.TempDir()
	defer func() { root = old }()
	err := Available()
	if !errors.Is(err, ErrNotAttached) {
		t.Fatalf("Available() = %v; want ErrNotAttached", err)
	}
	for _, want := range []string{"siglab test", lab.PeersDirective} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Available's error %q does not mention %q", err, want)
		}
	}
	if _, err := Path("osmo-stp"); !errors.Is(err, ErrNotAttached) {
		t.Errorf("Path without the image: %v; want ErrNotAttached", err)
	}
}

func TestPath(t *testing.T) {
	fakeRoot(t, "/usr/bin/osmo-stp", "/usr/sbin/tool", "/usr/bin/tool", "/opt/x/prog")
	for _, c := range []struct{ name, want string }{
		{"osmo-stp", "/usr/bin/osmo-stp"},
		{"tool", "/usr/sbin/tool"}, // PATH order
		{"/opt/x/prog", "/opt/x/prog"},
	} {
		got, err := Path(c.name)
		if err != nil || got != c.want {
			t.Errorf("Path(%q) = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	for _, name := range []string{"rspregistrar", "/usr/bin/nothing"} {
		if _, err := Path(name); err == nil {
			t.Errorf("Path(%q) found a program that is not there", name)
		}
	}
}

func TestEpsHasPort(t *testing.T) {
	const eps = ` ENDPT     SOCK   STY SST HBKT LPORT   UID INODE LADDRS
       0        0 2   10  29   2905      0 17310 10.1.0.1
       0        0 2   10  31   3863      0 17400 10.1.0.1 10.2.0.1
`
	for port, want := range map[int]bool{2905: true, 3863: true, 9901: false, 10: false} {
		got, err := epsHasPort(strings.NewReader(eps), port)
		if err != nil || got != want {
			t.Errorf("epsHasPort(%d) = %v, %v; want %v", port, got, err, want)
		}
	}
	if _, err := epsHasPort(strings.NewReader("garbage\n"), 1); err == nil {
		t.Error("epsHasPort accepted a file without the LPORT column")
	}
}

// TestDecodeThroughHost plays siglab's host side: it answers the request
// file the way lab does and checks what Decode returns.
func TestDecodeThroughHost(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(lab.DecodeDirEnv, dir)
	answer := func(reply lab.DecodeReply) <-chan lab.DecodeRequest {
		got := make(chan lab.DecodeRequest, 1)
		go func() {
			defer close(got)
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				reqs, _ := filepath.Glob(filepath.Join(dir, "*.req"))
				if len(reqs) == 0 {
					continue
				}
				data, _ := os.ReadFile(reqs[0])
				var req lab.DecodeRequest
				json.Unmarshal(data, &req)
				os.Remove(reqs[0])
				out, _ := json.Marshal(reply)
				base := strings.TrimSuffix(reqs[0], ".req")
				os.WriteFile(base+".reply.tmp", out, 0o644)
				os.Rename(base+".reply.tmp", base+".reply")
				got <- req
				return
			}
		}()
		return got
	}
	ctx := context.Background()
	reqs := answer(lab.DecodeReply{Stdout: "1 0.0 ASAP Registration\n"})
	out, err := Decode(ctx, "/src/x.pcap", "-V")
	if err != nil || out != "1 0.0 ASAP Registration\n" {
		t.Fatalf("Decode = %q, %v", out, err)
	}
	if req := <-reqs; req.Capture != "/src/x.pcap" || len(req.Args) != 1 || req.Args[0] != "-V" {
		t.Errorf("request %+v; want /src/x.pcap with -V", req)
	}
	answer(lab.DecodeReply{Error: "tshark: bad filter"})
	if _, err := Decode(ctx, "/src/x.pcap", "-Y", "("); err == nil || !strings.Contains(err.Error(), "bad filter") {
		t.Errorf("Decode with a failing tshark: %v; want its error", err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := Decode(short, "/src/y.pcap"); err == nil || !strings.Contains(err.Error(), "did not decode") {
		t.Errorf("Decode with no host answering: %v; want a timeout that says so", err)
	}
}
