package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Host-side decoding. tshark needs about 5 s to start under emulation, so a
// test in the VM does not run it there: it writes a request file into the
// run's decode folder on the shared file system, siglab (on the host) runs
// the peers image's tshark through chroot at native speed, and writes the
// reply beside it. The guest finds the folder in $SIGLAB_DECODE_DIR.
const (
	// DecodeDirEnv names the guest folder where decode requests go.
	DecodeDirEnv = "SIGLAB_DECODE_DIR"
	// RunDirEnv names the run's scratch folder as the guest sees it (on the
	// shared file system, so the host can read what is written there).
	RunDirEnv = "SIGLAB_RUN_DIR"
)

// DecodeRequest is written by the guest as ID.req (renamed into place).
type DecodeRequest struct {
	Capture string   `json:"capture"` // guest path under /src
	Args    []string `json:"args"`    // tshark arguments after -r FILE
}

// DecodeReply is written by the host as ID.reply (renamed into place).
type DecodeReply struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Error  string `json:"error,omitempty"`
}

// serveDecodes answers decode requests in dir until the returned function
// is called.
func (l *Lab) serveDecodes(ctx context.Context, dir string, img *PeersImage) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		seen := map[string]bool{}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			reqs, _ := filepath.Glob(filepath.Join(dir, "*.req"))
			for _, r := range reqs {
				if seen[r] {
					continue
				}
				seen[r] = true
				wg.Add(1)
				go func() {
					defer wg.Done()
					l.answerDecode(ctx, r, img)
				}()
			}
		}
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

func (l *Lab) answerDecode(ctx context.Context, reqPath string, img *PeersImage) {
	var reply DecodeReply
	var req DecodeRequest
	start := time.Now()
	data, err := os.ReadFile(reqPath)
	if err == nil {
		err = json.Unmarshal(data, &req)
	}
	if err == nil {
		var capture string
		if capture, err = l.hostPath(req.Capture); err == nil {
			reply.Stdout, reply.Stderr, err = img.Decode(ctx, capture, req.Args...)
		}
	}
	if err != nil {
		reply.Error = err.Error()
	}
	l.logf("decoded %s with tshark %s on the host in %s", filepath.Base(req.Capture), strings.Join(req.Args, " "), time.Since(start).Round(time.Millisecond))
	out, _ := json.Marshal(reply)
	base := strings.TrimSuffix(reqPath, ".req")
	if err := os.WriteFile(base+".reply.tmp", out, 0o644); err == nil {
		os.Rename(base+".reply.tmp", base+".reply")
	}
}

// hostPath maps a guest path under /src to the host's.
func (l *Lab) hostPath(guest string) (string, error) {
	rel, err := filepath.Rel(guestSrc, filepath.Clean(guest))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("lab: %s is not on the shared folder %s; the host cannot read it", guest, guestSrc)
	}
	return filepath.Join(l.Src, rel), nil
}
