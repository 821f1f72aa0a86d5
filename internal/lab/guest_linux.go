package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// IsGuestInit reports whether this process is the lab VM's init.
func IsGuestInit() bool { return os.Getpid() == 1 }

// GuestInit is PID 1 in the lab VM: it mounts the basic file systems, loads
// the kernel modules, mounts the repository over 9p, runs the steps with the
// console as their output, reports the status and powers the VM off. It
// never returns.
func GuestInit() {
	status := guestMain()
	fmt.Printf("\n%s%d\n", exitMarker, status)
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	for {
		time.Sleep(time.Hour)
	}
}

func guestMain() int {
	start := time.Now()
	if err := guestMounts(); err != nil {
		fmt.Fprintln(os.Stderr, "siglab guest:", err)
		return 125
	}
	data, err := os.ReadFile(specPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "siglab guest: no spec:", err)
		return 125
	}
	var spec guestSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		fmt.Fprintln(os.Stderr, "siglab guest: bad spec:", err)
		return 125
	}
	if out, err := exec.Command("/bin/busybox", "--install", "-s").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "siglab guest: busybox --install: %v %s\n", err, out)
	}
	for _, m := range spec.Modules {
		if err := loadModule(m); err != nil {
			fmt.Fprintln(os.Stderr, "siglab guest:", err)
			return 125
		}
	}
	if lo, err := netlink.LinkByName("lo"); err == nil {
		_ = netlink.LinkSetUp(lo)
	}
	if err := os.MkdirAll(guestSrc, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "siglab guest:", err)
		return 125
	}
	if err := unix.Mount(shareTag, guestSrc, "9p", 0, "trans=virtio,version=9p2000.L,msize=524288"); err != nil {
		fmt.Fprintln(os.Stderr, "siglab guest: mounting the repository (9p):", err)
		return 125
	}
	withPeers := ""
	if spec.Peers != "" {
		if err := mountPeers(spec.Peers); err != nil {
			fmt.Fprintln(os.Stderr, "siglab guest: peers image:", err)
			return 125
		}
		withPeers = ", peers image at " + PeersRoot
	}
	fmt.Printf("siglab guest: kernel SCTP ready (%s, %d modules%s, init took %s)\n", kernelRelease(), len(spec.Modules), withPeers, time.Since(start).Round(time.Millisecond))
	for k, v := range map[string]string{
		"PATH": spec.BinDir + ":/bin:/sbin:/usr/bin:/usr/sbin",
		"HOME": "/root", "TMPDIR": "/tmp", "TERM": "vt100", guestEnvVar: "1",
	} {
		os.Setenv(k, v)
	}
	env := append(os.Environ(), spec.Env...)
	status := 0
	for i, st := range spec.Steps {
		cmd := exec.Command(st.Argv[0], st.Argv[1:]...)
		cmd.Dir = st.Dir
		cmd.Env = env
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if spec.Interactive && i == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		}
		code := 0
		stepStart := time.Now()
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
				if code < 0 {
					code = 128 + int(ee.Sys().(syscall.WaitStatus).Signal())
				}
			} else {
				fmt.Fprintf(os.Stderr, "siglab guest: %s: %v\n", st.Name, err)
				code = 127
			}
		}
		if code != 0 && status == 0 {
			status = code
		}
		if !spec.Interactive {
			verdict := "ok  "
			if code != 0 {
				verdict = "FAIL"
			}
			fmt.Printf("%s\t%s\t%.3fs (in the lab VM, kernel %s, exit status %d)\n", verdict, st.Name, time.Since(stepStart).Seconds(), kernelRelease(), code)
		}
		if spec.ExitFile != "" {
			line := fmt.Sprintf("%s %d\n", st.Name, code)
			f, err := os.OpenFile(spec.ExitFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err == nil {
				_, _ = f.WriteString(line)
				_ = f.Sync()
				_ = f.Close()
			}
		}
	}
	return status
}

func guestMounts() error {
	mounts := []struct {
		src, dst, fstype, data string
	}{
		{"devtmpfs", "/dev", "devtmpfs", ""},
		{"proc", "/proc", "proc", ""},
		{"sysfs", "/sys", "sysfs", ""},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777"},
		{"tmpfs", "/run", "tmpfs", "mode=755"},
		{"devpts", "/dev/pts", "devpts", "ptmxmode=0666"},
		{"tmpfs", "/dev/shm", "tmpfs", "mode=1777"},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.src, m.dst, m.fstype, 0, m.data); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.dst, err)
		}
	}
	for _, d := range []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/root", "/var"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	_ = os.Symlink("/run", "/var/run")
	return nil
}

// mountPeers mounts the peers image from dev at PeersRoot (writable: qemu
// keeps the writes in a snapshot) and binds the guest's /proc, /sys, /dev,
// /tmp, /run and the shared folder into it, so that programs chrooted
// there see the same kernel interfaces, temporary files and repository.
func mountPeers(dev string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(dev); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no disk %s (virtio_blk loaded, but qemu attached no drive?)", dev)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.MkdirAll(PeersRoot, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(dev, PeersRoot, "ext4", unix.MS_NOATIME, ""); err != nil {
		return fmt.Errorf("mount %s (ext4) on %s: %w", dev, PeersRoot, err)
	}
	binds := []struct {
		dir  string
		flag uintptr
	}{
		{"/proc", 0}, {"/sys", 0}, {"/dev", unix.MS_REC}, {"/tmp", 0}, {"/run", 0}, {guestSrc, 0},
	}
	for _, b := range binds {
		dst := PeersRoot + b.dir
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(b.dir, dst, "", unix.MS_BIND|b.flag, ""); err != nil {
			return fmt.Errorf("bind %s on %s: %w", b.dir, dst, err)
		}
	}
	return nil
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("module %s: %w", path, err)
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("loading module %s: %w", path, err)
	}
	return nil
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "?"
	}
	return strings.TrimRight(string(u.Release[:]), "\x00")
}

// hostHasSCTP reports whether this kernel can open an SCTP socket.
func hostHasSCTP() bool {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_SCTP)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}
