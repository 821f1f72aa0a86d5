package lab

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
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lab runs the project's binaries and tests where the kernel has SCTP: in a
// qemu VM booting a Debian kernel, or natively when the host kernel has SCTP.
type Lab struct {
	// Src is the repository root; it is shared with the guest at /src.
	Src string
	// Out receives the output of what runs; Log receives siglab's progress.
	Out, Log io.Writer
	// In is the guest console's input (siglab shell); nil means none.
	In io.Reader
	// Memory (MiB) and CPUs of the VM.
	Memory, CPUs int
	// KVM uses hardware acceleration instead of software emulation. It is
	// opt-in: on the project's machines a KVM guest hangs after the loader.
	KVM bool
	// Native forces native runs (true) or the VM (false); nil decides by
	// probing the host kernel for SCTP.
	Native *bool
	// Timeout bounds one VM boot from start to power-off.
	Timeout time.Duration
	// Peers attaches the third-party peers image (osmo-stp, rsplib,
	// tshark; built once, see EnsurePeers) to the VM, mounted at /peers,
	// and decodes captures on the host for the guest. Test turns it on
	// when a package's *_lab_test.go file has a line //siglab:peers.
	Peers bool

	work string // the run's scratch directory, under Src/.labwork
}

// NewLab returns a Lab for the repository at src with defaults.
func NewLab(src string) *Lab {
	return &Lab{Src: src, Out: os.Stdout, Log: os.Stderr, Memory: 2048, CPUs: 2, Timeout: 25 * time.Minute}
}

// FindRepo returns the repository root that contains dir (the folder with
// go.mod declaring the sigpool module).
func FindRepo(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/sigpool/sigpool") {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("lab: not inside the sigpool repository (no go.mod of github.com/sigpool/sigpool above the current directory)")
		}
		d = parent
	}
}

func (l *Lab) native() bool {
	if l.Native != nil {
		return *l.Native
	}
	return hostHasSCTP()
}

func (l *Lab) logf(format string, args ...any) {
	fmt.Fprintf(l.Log, "siglab: "+format+"\n", args...)
}

// prepare makes the run's scratch directory and builds the project's
// commands into it (static, so they run in the guest as they are).
func (l *Lab) prepare(ctx context.Context) error {
	base := filepath.Join(l.Src, ".labwork")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	// Keep the folder from growing without bound: older runs are removed.
	old, _ := filepath.Glob(filepath.Join(base, "run-*"))
	for _, o := range old {
		if st, err := os.Stat(o); err == nil && time.Since(st.ModTime()) > time.Hour {
			os.RemoveAll(o)
		}
	}
	work, err := os.MkdirTemp(base, "run-")
	if err != nil {
		return err
	}
	l.work = work
	start := time.Now()
	l.logf("building the project's commands (static)")
	if err := l.goCmd(ctx, "build", "-o", filepath.Join(work, "bin")+"/", "./cmd/..."); err != nil {
		return err
	}
	l.logf("built in %s", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// Cleanup removes the run's scratch directory.
func (l *Lab) Cleanup() {
	if l.work != "" {
		os.RemoveAll(l.work)
	}
}

func (l *Lab) goCmd(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = l.Src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	cmd.Stdout, cmd.Stderr = l.Log, l.Log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("lab: go %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// guestPath maps a path under Src to where the guest sees it.
func (l *Lab) guestPath(p string) string {
	rel, err := filepath.Rel(l.Src, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		panic("lab: path outside the repository: " + p)
	}
	return filepath.ToSlash(filepath.Join(guestSrc, rel))
}

// Run runs argv with the project's commands on PATH, in the VM (or natively
// when the host has SCTP), and returns its exit status.
func (l *Lab) Run(ctx context.Context, argv []string) (int, error) {
	if len(argv) == 0 {
		return 0, errors.New("lab: run: no command given")
	}
	if err := l.prepare(ctx); err != nil {
		return 0, err
	}
	defer l.Cleanup()
	bin := filepath.Join(l.work, "bin")
	if l.native() {
		l.logf("host kernel has SCTP: running natively")
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		cmd.Stdin, cmd.Stdout, cmd.Stderr = l.In, l.Out, l.Out
		return exitStatus(cmd.Run())
	}
	return l.boot(ctx, guestSpec{
		Steps:       []guestStep{{Name: strings.Join(argv, " "), Dir: guestSrc, Argv: argv}},
		Interactive: l.In != nil,
	})
}

// Shell opens an interactive shell in the VM.
func (l *Lab) Shell(ctx context.Context) (int, error) {
	if err := l.prepare(ctx); err != nil {
		return 0, err
	}
	defer l.Cleanup()
	l.In = os.Stdin
	l.logf("shell in the lab VM; 'exit' or Ctrl-D powers it off")
	return l.boot(ctx, guestSpec{
		Steps:       []guestStep{{Name: "shell", Dir: guestSrc, Argv: []string{"/bin/sh", "-l"}}},
		Interactive: true,
	})
}

// TestPackage is one package whose tests run in the lab.
type TestPackage struct {
	Import string // import path or ./relative pattern, as go test takes it
	Dir    string // its source folder
}

// Test compiles the named packages' tests with the build tag "lab" and runs
// them all in one VM boot (natively when the host kernel has SCTP). args go
// to every test binary (e.g. -test.run, -test.v). It returns the first
// failing package's status, or 0.
func (l *Lab) Test(ctx context.Context, patterns []string, args []string) (int, error) {
	if len(patterns) == 0 {
		return 0, errors.New("lab: test: no packages given")
	}
	pkgs, err := l.listPackages(ctx, patterns)
	if err != nil {
		return 0, err
	}
	if l.native() {
		l.logf("host kernel has SCTP: running the tests natively")
		if l.Peers || slices.ContainsFunc(pkgs, func(p TestPackage) bool { return peersDirective(p.Dir) != "" }) {
			l.logf("the peers image exists only in the VM; tests that need it fail here: run them with --vm")
		}
		goArgs := append([]string{"test", "-tags", "lab"}, patterns...)
		for _, a := range args {
			goArgs = append(goArgs, strings.Replace(a, "-test.", "-", 1))
		}
		cmd := exec.CommandContext(ctx, "go", goArgs...)
		cmd.Dir = l.Src
		cmd.Stdout, cmd.Stderr = l.Out, l.Out
		return exitStatus(cmd.Run())
	}
	if err := l.prepare(ctx); err != nil {
		return 0, err
	}
	defer l.Cleanup()
	start := time.Now()
	var steps []guestStep
	for i, p := range pkgs {
		bin := filepath.Join(l.work, "tests", fmt.Sprintf("%02d-%s.test", i, filepath.Base(p.Dir)))
		l.logf("compiling tests of %s", p.Import)
		if err := l.goCmd(ctx, "test", "-c", "-tags", "lab", "-o", bin, p.Import); err != nil {
			return 0, err
		}
		if _, err := os.Stat(bin); err != nil {
			l.logf("%s has no test files; nothing to run there", p.Import)
			continue
		}
		argv := append([]string{l.guestPath(bin)}, args...)
		steps = append(steps, guestStep{Name: p.Import, Dir: l.guestPath(p.Dir), Argv: argv})
	}
	if len(steps) == 0 {
		return 0, errors.New("lab: test: none of the packages has tests")
	}
	if !l.Peers {
		for _, p := range pkgs {
			if file := peersDirective(p.Dir); file != "" {
				l.logf("%s asks for the peers image (%s in %s)", p.Import, PeersDirective, file)
				l.Peers = true
				break
			}
		}
	}
	l.logf("compiled %d test binaries in %s", len(steps), time.Since(start).Round(100*time.Millisecond))
	return l.boot(ctx, guestSpec{Steps: steps})
}

// PeersDirective, alone on a line of a *_lab_test.go file, makes siglab
// test attach the peers image for the run.
const PeersDirective = "//siglab:peers"

// peersDirective returns the name of the first *_lab_test.go file in dir
// that carries PeersDirective, or "".
func peersDirective(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*_lab_test.go"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(line) == PeersDirective {
				return filepath.Base(f)
			}
		}
	}
	return ""
}

func (l *Lab) listPackages(ctx context.Context, patterns []string) ([]TestPackage, error) {
	args := append([]string{"list", "-tags", "lab", "-f", "{{.ImportPath}}\t{{.Dir}}"}, patterns...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = l.Src
	cmd.Stderr = l.Log
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("lab: go list %s: %w", strings.Join(patterns, " "), err)
	}
	var pkgs []TestPackage
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		imp, dir, ok := strings.Cut(line, "\t")
		if ok {
			pkgs = append(pkgs, TestPackage{Import: imp, Dir: dir})
		}
	}
	return pkgs, nil
}

func exitStatus(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}

// boot builds the initramfs for spec, boots the VM, streams the guest's
// console to Out and returns the guest's status.
func (l *Lab) boot(ctx context.Context, spec guestSpec) (int, error) {
	assets, err := EnsureAssets(ctx, l.Log)
	if err != nil {
		return 0, err
	}
	var peers *PeersImage
	if l.Peers {
		if peers, err = EnsurePeers(ctx, l.Log); err != nil {
			return 0, err
		}
		spec.Peers = peersDevice
		decodeDir := filepath.Join(l.work, "decode")
		if err := os.MkdirAll(decodeDir, 0o755); err != nil {
			return 0, err
		}
		spec.Env = append(spec.Env, DecodeDirEnv+"="+l.guestPath(decodeDir), RunDirEnv+"="+l.guestPath(l.work))
		stop := l.serveDecodes(ctx, decodeDir, peers)
		defer stop()
	}
	initBin := filepath.Join(l.work, "init")
	if err := l.goCmd(ctx, "build", "-o", initBin, "./cmd/siglab"); err != nil {
		return 0, err
	}
	exitFile := filepath.Join(l.work, "exit")
	spec.ExitFile = l.guestPath(exitFile)
	spec.BinDir = l.guestPath(filepath.Join(l.work, "bin"))
	initrd := filepath.Join(l.work, "initramfs.cpio")
	if err := l.writeInitramfs(initrd, assets, initBin, &spec); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	args := l.qemuArgs(assets, initrd)
	if peers != nil {
		// snapshot=on: the guest may write, the image never changes.
		args = append(args, "-drive", "file="+peers.Image+",format=raw,if=virtio,snapshot=on")
	}
	cmd := exec.CommandContext(ctx, assets.Qemu, args...)
	cmd.Stdin = l.In
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	cmd.Stderr = l.Log
	accel := "software emulation (TCG)"
	if l.KVM {
		accel = "KVM"
	}
	withPeers := ""
	if peers != nil {
		withPeers = ", peers image at /peers"
	}
	l.logf("booting kernel %s under %s, %d CPUs, %d MiB%s", assets.KernelVersion, accel, l.CPUs, l.Memory, withPeers)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("lab: starting qemu: %w", err)
	}
	reported := -1
	sawReady := false
	var early strings.Builder // boot output, shown only if the guest never gets ready
	sc := bufio.NewReader(stdout)
	for {
		line, rerr := sc.ReadString('\n')
		if line != "" {
			trimmed := strings.TrimRight(line, "\r\n")
			switch {
			case strings.HasPrefix(trimmed, exitMarker):
				reported, _ = strconv.Atoi(strings.TrimPrefix(trimmed, exitMarker))
			case strings.HasPrefix(trimmed, "siglab guest: kernel SCTP ready") && !sawReady:
				sawReady = true
				fmt.Fprintf(l.Out, "%s (booted in %s)\n", strings.TrimRight(trimmed, "\r"), time.Since(start).Round(100*time.Millisecond))
			case reported >= 0 && strings.Contains(trimmed, "reboot: Power down"):
			case !sawReady:
				early.WriteString(line)
			default:
				io.WriteString(l.Out, strings.Replace(line, "\r\n", "\n", 1))
			}
		}
		if rerr != nil {
			break
		}
	}
	werr := cmd.Wait()
	if !sawReady {
		io.WriteString(l.Out, early.String())
	}
	if ctx.Err() != nil {
		return 0, fmt.Errorf("lab: the VM did not finish within %s; it was stopped", l.Timeout)
	}
	if reported < 0 {
		return 0, fmt.Errorf("lab: the VM stopped without reporting a status (qemu: %v); the console output above says why (kernel panic, out of memory?)", werr)
	}
	l.logf("VM powered off after %s, status %d", time.Since(start).Round(100*time.Millisecond), reported)
	if reported != 0 {
		l.keepCaptures()
	}
	return reported, nil
}

// keepCaptures saves the captures of a failed run (peers.StartCapture
// writes them into the run's folder, which Cleanup removes) in
// .labwork/captures-failed, replacing the previous failed run's.
func (l *Lab) keepCaptures() {
	src := filepath.Join(l.work, "captures")
	if _, err := os.Stat(src); err != nil {
		return
	}
	dst := filepath.Join(l.Src, ".labwork", "captures-failed")
	os.RemoveAll(dst)
	if err := os.Rename(src, dst); err == nil {
		l.logf("the failed run's captures are kept in %s (siglab decode FILE -- -V)", dst)
	}
}

func (l *Lab) qemuArgs(a *Assets, initrd string) []string {
	accel := []string{"-accel", "tcg,thread=multi", "-cpu", "max"}
	if l.KVM {
		accel = []string{"-accel", "kvm", "-cpu", "host"}
	}
	args := append(accel,
		"-m", strconv.Itoa(l.Memory), "-smp", strconv.Itoa(l.CPUs),
		"-nographic", "-no-reboot", "-nodefaults", "-bios", "qboot.rom",
		"-serial", "stdio", "-net", "none",
		"-kernel", a.BootImage(), "-initrd", initrd,
		// no_timer_check: under TCG on a loaded host the kernel's check of
		// the IO-APIC timer can miss its window and panic ("IO-APIC +
		// timer doesn't work"); the emulated timer is known to work.
		"-append", "console=ttyS0 panic=-1 quiet loglevel=3 no_timer_check rdinit=/init",
		"-device", "virtio-rng-pci",
		"-virtfs", "local,path="+l.Src+",mount_tag="+shareTag+",security_model=none,multidevs=remap",
	)
	return args
}

// writeInitramfs packs init, busybox, the modules and the spec.
func (l *Lab) writeInitramfs(path string, a *Assets, initBin string, spec *guestSpec) error {
	names := GuestModules
	if spec.Peers != "" {
		names = append(append([]string(nil), names...), PeersModules...)
	}
	mods, err := a.ModuleLoadOrder(names)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	c := newCPIO(f)
	if err := c.charDev("dev/console", 5, 1); err != nil {
		return err
	}
	if err := c.copyFile("init", 0o755, initBin); err != nil {
		return err
	}
	if err := c.copyFile("bin/busybox", 0o755, a.Busybox); err != nil {
		return err
	}
	if err := c.symlink("bin/sh", "busybox"); err != nil {
		return err
	}
	spec.Modules = nil
	for i, m := range mods {
		name := fmt.Sprintf("lib/modules/%02d-%s", i, filepath.Base(m))
		if err := c.copyFile(name, 0o644, m); err != nil {
			return err
		}
		spec.Modules = append(spec.Modules, "/"+name)
	}
	if err := c.file("etc/hosts", 0o644, []byte("127.0.0.1 localhost\n::1 localhost\n")); err != nil {
		return err
	}
	if err := c.file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n")); err != nil {
		return err
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	if err := c.file(strings.TrimPrefix(specPath, "/"), 0o644, data); err != nil {
		return err
	}
	if err := c.close(); err != nil {
		return err
	}
	return f.Close()
}
