package peers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sigpool/sigpool/internal/lab"
	"github.com/sigpool/sigpool/internal/lab/netlab"
)

// Root is where the peers image is mounted in the lab VM.
const Root = lab.PeersRoot

// root is Root, changed by unit tests only.
var root = Root

// Env is the environment peers run with.
var Env = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "TMPDIR=/tmp", "LANG=C.UTF-8", "TERM=dumb",
}

// ErrNotAttached is wrapped by the errors returned when the peers image is
// not mounted.
var ErrNotAttached = errors.New("peers: the peers image is not attached")

// Available reports, as an error that says what to do, whether the peers
// image is mounted here.
func Available() error {
	if _, err := os.Stat(filepath.Join(root, lab.PeersMarker)); err != nil {
		return fmt.Errorf("%w at %s: this test needs the peers image; run it through siglab test, which attaches it when a *_lab_test.go file of the package has the line %s (or pass siglab --peers)",
			ErrNotAttached, root, lab.PeersDirective)
	}
	return nil
}

// Path returns the path, inside the image, of the named program: name
// itself when it has a slash, else the first match in Env's PATH.
func Path(name string) (string, error) {
	if err := Available(); err != nil {
		return "", err
	}
	if strings.Contains(name, "/") {
		if !isExec(filepath.Join(root, name)) {
			return "", fmt.Errorf("peers: no program %s in the peers image", name)
		}
		return name, nil
	}
	for _, d := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		p := d + "/" + name
		if isExec(filepath.Join(root, p)) {
			return p, nil
		}
	}
	return "", fmt.Errorf("peers: no program %q in the peers image (is its Debian package in lab.PeerPackages?)", name)
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// Command returns a netlab Process that runs the image's program name
// with args, chrooted into the image, inside h's network namespace, in
// the directory / with Env. Its output is kept (Process.Output) unless
// Stdout/Stderr are set; it can be started, killed and restarted like any
// netlab Process.
func Command(h *netlab.Host, name string, args ...string) (*netlab.Process, error) {
	p, err := Path(name)
	if err != nil {
		return nil, err
	}
	proc := h.Command(p, args...)
	proc.Chroot = root
	proc.Dir = "/"
	proc.Env = append([]string(nil), Env...)
	return proc, nil
}

// Start is Command followed by Process.Start.
func Start(h *netlab.Host, name string, args ...string) (*netlab.Process, error) {
	p, err := Command(h, name, args...)
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// WaitOutput waits until p's kept output contains s. It fails early when
// p exits, and after timeout; the error carries the output so far.
func WaitOutput(p *netlab.Process, s string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.Output(), s) {
			return nil
		}
		if !p.Running() {
			return fmt.Errorf("peers: %s exited before printing %q: %v; output:\n%s", p, s, p.Wait(), p.Output())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("peers: %s did not print %q within %s; output:\n%s", p, s, timeout, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SCTPListening reports whether some socket in h's namespace listens on
// SCTP port (from /proc/net/sctp/eps as that namespace sees it).
func SCTPListening(h *netlab.Host, port int) (bool, error) {
	var found bool
	err := h.Do(func() error {
		f, err := os.Open("/proc/thread-self/net/sctp/eps")
		if err != nil {
			return fmt.Errorf("peers: %w (is sctp.ko loaded?)", err)
		}
		defer f.Close()
		found, err = epsHasPort(f, port)
		return err
	})
	return found, err
}

// epsHasPort reads /proc/net/sctp/eps: a header line naming the columns,
// then one line per endpoint.
func epsHasPort(r io.Reader, port int) (bool, error) {
	sc := bufio.NewScanner(r)
	col := -1
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if col < 0 {
			for i, name := range f {
				if name == "LPORT" {
					col = i
				}
			}
			if col < 0 {
				return false, errors.New("peers: /proc/net/sctp/eps has no LPORT column")
			}
			continue
		}
		if len(f) > col && f[col] == strconv.Itoa(port) {
			return true, nil
		}
	}
	return false, sc.Err()
}

// WaitSCTPListening waits until a socket in h's namespace listens on SCTP
// port, failing early when p (the program expected to listen; may be
// nil) exits.
func WaitSCTPListening(h *netlab.Host, port int, p *netlab.Process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := SCTPListening(h, port)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if p != nil && !p.Running() {
			return fmt.Errorf("peers: %s exited without listening on SCTP port %d: %v; output:\n%s", p, port, p.Wait(), p.Output())
		}
		if time.Now().After(deadline) {
			out := ""
			if p != nil {
				out = "; output:\n" + p.Output()
			}
			return fmt.Errorf("peers: nothing listens on SCTP port %d in %s after %s%s", port, h, timeout, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Capture is a dumpcap capture running in a host.
type Capture struct {
	// File is where the capture is once Stop returned: in the run's folder
	// on the shared file system (so the host can decode it) when siglab
	// provides one, else in /tmp.
	File string
	// Settle is how long the capture file must stay unchanged before Stop
	// ends dumpcap. dumpcap gets packets from the kernel in blocks and
	// writes them out periodically, and SIGTERM drops what it holds, so
	// Stop first waits for it to catch up (at most 30 s).
	Settle time.Duration

	proc *netlab.Process
	tmp  string // dumpcap's folder in /tmp
	src  string // dumpcap's file there
}

var captureSeq atomic.Int64

// StartCapture starts the image's dumpcap on iface in h's namespace,
// writing pcap, and returns once it captures. name names the file (a
// ".pcap" suffix is added); extra goes to dumpcap (e.g. "-f", "sctp").
func StartCapture(h *netlab.Host, iface, name string, extra ...string) (*Capture, error) {
	tmp, err := os.MkdirTemp("/tmp", "siglab-capture-")
	if err != nil {
		return nil, err
	}
	file := filepath.Join(tmp, name+".pcap")
	args := append([]string{"-i", iface, "-P", "-w", file}, extra...)
	p, err := Command(h, "dumpcap", args...)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := p.Start(); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	// dumpcap prints "Capturing on" before it opens the interface, and
	// "File: …" once the interface and the file are open.
	if err := WaitOutput(p, "File: ", 60*time.Second); err != nil {
		p.Kill()
		os.RemoveAll(tmp)
		return nil, err
	}
	dst := file
	if run := os.Getenv(lab.RunDirEnv); run != "" {
		dst = filepath.Join(run, "captures", fmt.Sprintf("%03d-%s.pcap", captureSeq.Add(1), name))
	}
	return &Capture{File: dst, Settle: 1500 * time.Millisecond, proc: p, tmp: tmp, src: file}, nil
}

// Stop ends the capture (SIGTERM, so dumpcap writes out what it has) and
// moves the file to c.File. It returns dumpcap's output on failure.
func (c *Capture) Stop() error {
	if c.proc == nil {
		return nil
	}
	p := c.proc
	c.proc = nil
	defer os.RemoveAll(c.tmp)
	c.settle(30 * time.Second)
	if pid := p.Pid(); p.Running() && pid > 0 {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	done := make(chan error, 1)
	go func() { done <- p.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.Kill()
		return fmt.Errorf("peers: dumpcap did not stop within 30 s of SIGTERM; output:\n%s", p.Output())
	}
	data, err := os.ReadFile(c.src)
	if err != nil {
		return fmt.Errorf("peers: dumpcap left no capture: %w; output:\n%s", err, p.Output())
	}
	if err := os.MkdirAll(filepath.Dir(c.File), 0o755); err != nil {
		return err
	}
	return os.WriteFile(c.File, data, 0o644)
}

// settle waits until dumpcap's file has not changed for c.Settle, or max.
func (c *Capture) settle(max time.Duration) {
	deadline := time.Now().Add(max)
	last, since := int64(-1), time.Now()
	for time.Now().Before(deadline) {
		size := int64(-1)
		if st, err := os.Stat(c.src); err == nil {
			size = st.Size()
		}
		if size != last {
			last, since = size, time.Now()
		} else if time.Since(since) >= c.Settle {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var decodeSeq atomic.Int64

// Decode runs tshark -r capture with args (e.g. "-V", or "-T", "json",
// or "-d", "sctp.port==2906,m3ua") and returns its standard output. Under
// siglab with the peers image, the host runs tshark at native speed; the
// capture must then be on the shared folder (/src, as Capture.File is).
// Without siglab's host side it runs the image's tshark here, which under
// emulation takes seconds.
func Decode(ctx context.Context, capture string, args ...string) (string, error) {
	dir := os.Getenv(lab.DecodeDirEnv)
	if dir == "" {
		return decodeHere(ctx, capture, args)
	}
	abs, err := filepath.Abs(capture)
	if err != nil {
		return "", err
	}
	id := fmt.Sprintf("%d-%d", os.Getpid(), decodeSeq.Add(1))
	req, _ := json.Marshal(lab.DecodeRequest{Capture: abs, Args: args})
	base := filepath.Join(dir, id)
	if err := os.WriteFile(base+".tmp", req, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(base+".tmp", base+".req"); err != nil {
		return "", err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
	}
	for {
		data, err := os.ReadFile(base + ".reply")
		if err == nil {
			var r lab.DecodeReply
			if err := json.Unmarshal(data, &r); err != nil {
				return "", fmt.Errorf("peers: bad decode reply: %w", err)
			}
			if r.Error != "" {
				return r.Stdout, errors.New(r.Error)
			}
			return r.Stdout, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("peers: the host did not decode %s: %w", capture, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func decodeHere(ctx context.Context, capture string, args []string) (string, error) {
	if err := Available(); err != nil {
		return "", err
	}
	argv := append([]string{"-r", capture}, args...)
	cmd := exec.CommandContext(ctx, "/usr/bin/tshark", argv...)
	cmd.Dir = "/"
	cmd.Env = Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("peers: tshark %s: %w: %s", strings.Join(argv, " "), err, errOut.String())
	}
	return out.String(), nil
}
