//go:build linux

package netlab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// threadNetNS is the current thread's network namespace file.
const threadNetNS = "/proc/thread-self/ns/net"

// namespace is one named network namespace owned by a topology.
type namespace struct {
	name string // file name under the netns directory
	path string // bind mount holding the namespace alive
	fd   int    // open handle, -1 once closed
}

// errRestore is wrapped when a thread could not be moved back to its
// original namespace. That thread is left locked so that the runtime
// destroys it when its goroutine ends.
var errRestore = errors.New("netlab: could not restore the thread's network namespace; the thread is discarded")

// onLockedThread runs fn on a fresh goroutine whose OS thread is locked,
// saves that thread's network namespace, lets fn change it, and puts it
// back afterwards. If putting it back fails, the thread stays locked and
// dies with the goroutine. A panic in fn is re-raised in the caller.
func onLockedThread(fn func() error) error {
	type result struct {
		err      error
		panicked bool
		pval     any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		res := result{}
		orig, err := unix.Open(threadNetNS, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			// Nothing changed yet; the thread is still clean.
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("netlab: open own network namespace: %w", err)}
			return
		}
		exitedNormally := false
		defer func() {
			if !exitedNormally {
				if r := recover(); r != nil {
					res.panicked, res.pval = true, r
				} else {
					res.err = errors.New("netlab: function exited through runtime.Goexit (t.FailNow or t.Fatal inside Do?)")
				}
			}
			if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
				res.err = errors.Join(res.err, fmt.Errorf("%w: %v", errRestore, err))
				unix.Close(orig)
				done <- res
				return // still locked: the runtime ends this thread
			}
			unix.Close(orig)
			runtime.UnlockOSThread()
			done <- res
		}()
		res.err = fn()
		exitedNormally = true
	}()
	res := <-done
	if res.panicked {
		panic(res.pval)
	}
	return res.err
}

// inNS runs fn on a locked thread that has joined the namespace nsFD.
func inNS(nsFD int, fn func() error) error {
	return onLockedThread(func() error {
		if err := unix.Setns(nsFD, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("netlab: setns: %w", err)
		}
		return fn()
	})
}

// createNamespace makes a new network namespace and bind-mounts it as
// dir/name. The namespace is created by unshare(2) on a throw-away locked
// thread, so no other thread of the process ever changes namespace.
func createNamespace(dir, name string) (*namespace, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("netlab: create %s: %w", dir, err)
	}
	ns := &namespace{name: name, path: filepath.Join(dir, name), fd: -1}
	err := onLockedThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			switch {
			case errors.Is(err, unix.EPERM):
				return fmt.Errorf("netlab: unshare(CLONE_NEWNET): %w (creating network namespaces needs root with CAP_SYS_ADMIN)", err)
			case errors.Is(err, unix.EINVAL):
				return fmt.Errorf("netlab: unshare(CLONE_NEWNET): %w (kernel without network namespace support, CONFIG_NET_NS)", err)
			}
			return fmt.Errorf("netlab: unshare(CLONE_NEWNET): %w", err)
		}
		fd, err := unix.Open(threadNetNS, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("netlab: open new namespace: %w", err)
		}
		f, err := os.OpenFile(ns.path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
		if err != nil {
			unix.Close(fd)
			return fmt.Errorf("netlab: create namespace file: %w", err)
		}
		f.Close()
		if err := unix.Mount(threadNetNS, ns.path, "none", unix.MS_BIND, ""); err != nil {
			os.Remove(ns.path)
			unix.Close(fd)
			return fmt.Errorf("netlab: bind-mount namespace on %s: %w", ns.path, err)
		}
		ns.fd = fd
		return nil
	})
	if err != nil {
		if ns.fd >= 0 {
			// Creation succeeded but the thread could not be restored.
			ns.remove()
		}
		return nil, err
	}
	return ns, nil
}

// remove drops the handle, the bind mount and the file. The kernel frees
// the namespace, with its links, once nothing else references it.
func (ns *namespace) remove() error {
	var errs []error
	if ns.fd >= 0 {
		if err := unix.Close(ns.fd); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", ns.name, err))
		}
		ns.fd = -1
	}
	if err := unix.Unmount(ns.path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		errs = append(errs, fmt.Errorf("unmount %s: %w", ns.path, err))
	}
	if err := os.Remove(ns.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove %s: %w", ns.path, err))
	}
	return errors.Join(errs...)
}
