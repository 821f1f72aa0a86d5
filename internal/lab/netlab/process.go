//go:build linux

package netlab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Process is a program that runs in a host's network namespace. Set its
// exported fields before Start; a Process can be started again after it
// exited or was killed, with the same command, environment and output.
// Its methods are safe for concurrent use.
type Process struct {
	// Env is the environment of the program; nil means the environment
	// of the test process.
	Env []string
	// Dir is the working directory; empty means the test's.
	Dir string
	// Stdout and Stderr receive the program's output. A nil writer means
	// the output is kept in memory; see Output. Use os.Stdout / os.Stderr
	// to pass it through.
	Stdout, Stderr io.Writer
	// Chroot, when set, is the program's root directory (chroot(2) in
	// the child before exec). The program's name must then be an
	// absolute path inside that root, and Dir is taken inside it too.
	Chroot string

	host *Host
	name string
	args []string
	out  lockedBuffer

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current run has been waited for
	waitErr error
	starts  int
}

// Command returns a Process that runs the named program with args in the
// host's network namespace. The program is not started; see Start. name
// is resolved like exec.Command does.
func (h *Host) Command(name string, args ...string) *Process {
	return &Process{host: h, name: name, args: append([]string(nil), args...)}
}

// Start is Command followed by Process.Start.
func (h *Host) Start(name string, args ...string) (*Process, error) {
	p := h.Command(name, args...)
	if err := p.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// Start starts the program. The child is forked from an OS thread that
// has joined the host's namespace, so the program and everything it
// starts live there. The program gets its own process group, which Kill
// signals as a whole, and is killed if the topology's launcher thread
// goes away (Close, or the test process dying).
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !closed(p.done) {
		return fmt.Errorf("netlab: %s is already running as pid %d", p, p.cmd.Process.Pid)
	}
	cmd := exec.Command(p.name, p.args...)
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	cmd.Stdout, cmd.Stderr = p.Stdout, p.Stderr
	if cmd.Stdout == nil {
		cmd.Stdout = &p.out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &p.out
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Chroot: p.Chroot}

	t := p.host.topo
	fd, err := p.host.nsFD()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := t.launch(fd, cmd); err != nil {
		return fmt.Errorf("netlab: start %s: %w", p, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.waitErr = cmd, done, nil
	p.starts++
	t.mu.Lock()
	t.procs[p] = struct{}{}
	t.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Kill sends SIGKILL to the program's process group and waits until the
// program has exited. Killing a process that is not running is a no-op.
func (p *Process) Kill() error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || closed(done) {
		return nil
	}
	pid := cmd.Process.Pid
	if err := unix.Kill(-pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
		// Fall back to the process itself if the group is gone.
		if err2 := cmd.Process.Kill(); err2 != nil && !errors.Is(err2, os.ErrProcessDone) {
			return fmt.Errorf("netlab: kill %s (pid %d): %w", p, pid, err)
		}
	}
	<-done
	return nil
}

// Restart kills the program if it runs, waits for it to exit, and starts
// the same command again.
func (p *Process) Restart() error {
	if err := p.Kill(); err != nil {
		return err
	}
	return p.Start()
}

// Wait waits for the current run of the program to end and returns its
// exit status as exec.Cmd.Wait does (after Kill: "signal: killed").
func (p *Process) Wait() error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return errors.New("netlab: process not started")
	}
	<-done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// Running reports whether the program has been started and not yet
// exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !closed(p.done)
}

// Pid is the process id of the current or last run, 0 if never started.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Starts counts how many times the program has been started.
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// Output returns what the program wrote to the captured streams so far,
// over all its runs.
func (p *Process) Output() string { return p.out.String() }

func (p *Process) String() string {
	return fmt.Sprintf("%s on %s", p.name, p.host)
}

func closed(ch chan struct{}) bool {
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// launcher is a goroutine locked to one OS thread for the life of the
// topology. Processes are forked from it, so their parent-death signal
// (which follows the forking thread, not the process) fires only when
// the topology ends, never because some unrelated locked thread exited.
type launcher struct {
	reqs chan launchReq
	stop chan struct{}
	dead chan struct{}
}

type launchReq struct {
	nsFD  int
	cmd   *exec.Cmd
	reply chan error
}

func startLauncher() (*launcher, error) {
	l := &launcher{reqs: make(chan launchReq), stop: make(chan struct{}), dead: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(l.dead)
		runtime.LockOSThread()
		// Never unlocked: when this goroutine returns, the thread ends and
		// any process still attached to it receives SIGKILL.
		orig, err := unix.Open(threadNetNS, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ready <- fmt.Errorf("netlab: open own network namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		ready <- nil
		for {
			select {
			case <-l.stop:
				return
			case r := <-l.reqs:
				if err := unix.Setns(r.nsFD, unix.CLONE_NEWNET); err != nil {
					r.reply <- fmt.Errorf("setns: %w", err)
					continue
				}
				err := r.cmd.Start()
				if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
					// The thread is stuck in a host namespace; retire it.
					// The child just started dies with it.
					r.reply <- errors.Join(err, fmt.Errorf("%w: %v", errRestore, rerr))
					return
				}
				r.reply <- err
			}
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return l, nil
}

func (l *launcher) close() {
	close(l.stop)
	<-l.dead
}

// launch starts cmd from the topology's launcher thread inside nsFD.
func (t *Topology) launch(nsFD int, cmd *exec.Cmd) error {
	t.mu.Lock()
	if err := t.checkOpen(); err != nil {
		t.mu.Unlock()
		return err
	}
	if t.launcher == nil {
		l, err := startLauncher()
		if err != nil {
			t.mu.Unlock()
			return err
		}
		t.launcher = l
	}
	l := t.launcher
	t.mu.Unlock()
	reply := make(chan error, 1)
	select {
	case l.reqs <- launchReq{nsFD: nsFD, cmd: cmd, reply: reply}:
		return <-reply
	case <-l.dead:
		return errors.New("launcher thread is gone")
	}
}
