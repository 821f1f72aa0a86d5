package lab

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// GuestModules are the kernel modules the guest loads at boot, by name;
// their dependencies are found in each module's modinfo and loaded first.
var GuestModules = []string{
	"virtio_pci", "virtio_rng", "9pnet_virtio", "9p", // the shared folder, entropy
	// libcrc32c asks the crypto API for "crc32c" at load time, a soft
	// dependency that modinfo's depends= does not list.
	"crc32c_generic",
	"sctp",
	"veth", "bridge", "sch_netem", "dummy", // topologies and faults
}

// PeersModules are loaded too when the peers image is attached: the
// virtio disk and ext4 (which, like libcrc32c, asks the crypto API for
// "crc32c" at mount time: crc32c_generic in GuestModules provides it).
var PeersModules = []string{"virtio_blk", "ext4"}

// Assets are the files a lab boot needs, all from Debian packages.
type Assets struct {
	CacheDir      string // root of the lab cache
	KernelVersion string // e.g. "6.1.0-56-amd64"
	Kernel        string // path of the bzImage
	ModulesDir    string // lib/modules/<version> tree of the kernel package
	Busybox       string // path of a static busybox
	Qemu          string // path of qemu-system-x86_64
}

// CacheRoot is where lab assets are kept: $SIGLAB_CACHE, else the user's
// cache directory + sigpool/lab.
func CacheRoot() (string, error) {
	if d := os.Getenv("SIGLAB_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("lab: no cache directory (set SIGLAB_CACHE): %w", err)
	}
	return filepath.Join(d, "sigpool", "lab"), nil
}

// EnsureAssets finds the cached assets, fetching and installing what is
// missing. Progress goes to log. A second call needs no network.
func EnsureAssets(ctx context.Context, log io.Writer) (*Assets, error) {
	root, err := CacheRoot()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("lab: cache %s: %w", root, err)
	}
	a := &Assets{CacheDir: root}
	if a.Qemu, err = ensureQemu(ctx, log); err != nil {
		return nil, err
	}
	if err := a.ensureKernel(ctx, log); err != nil {
		return nil, err
	}
	if err := a.ensureBusybox(ctx, log); err != nil {
		return nil, err
	}
	return a, nil
}

// hostPackages are the Debian packages the host side of the lab uses.
const hostPackages = "qemu-system-x86"

func ensureQemu(ctx context.Context, log io.Writer) (string, error) {
	if p, err := exec.LookPath("qemu-system-x86_64"); err == nil {
		return p, nil
	}
	if err := aptInstall(ctx, log, hostPackages); err != nil {
		return "", err
	}
	return exec.LookPath("qemu-system-x86_64")
}

// aptInstall installs Debian packages when it can (root with apt-get), and
// otherwise says exactly what to install.
func aptInstall(ctx context.Context, log io.Writer, pkgs ...string) error {
	_, aptErr := exec.LookPath("apt-get")
	if aptErr != nil || os.Geteuid() != 0 {
		why := "this is not a Debian/Ubuntu host"
		if aptErr == nil {
			why = "installing needs root"
		}
		return fmt.Errorf("lab: missing host packages (%s): install them with: sudo apt-get install %s", why, strings.Join(pkgs, " "))
	}
	fmt.Fprintf(log, "siglab: installing %s with apt-get\n", strings.Join(pkgs, " "))
	args := append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)
	if err := run(ctx, log, "", "apt-get", args...); err != nil {
		// The package lists may be missing on a fresh machine.
		if err := run(ctx, log, "", "apt-get", "update"); err != nil {
			return fmt.Errorf("lab: apt-get update: %w", err)
		}
		if err := run(ctx, log, "", "apt-get", args...); err != nil {
			return fmt.Errorf("lab: apt-get install %s: %w", strings.Join(pkgs, " "), err)
		}
	}
	return nil
}

func run(ctx context.Context, log io.Writer, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, lastLines(out.String(), 15))
	}
	return nil
}

func output(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	out, err := cmd.Output()
	return string(out), err
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var kernelDepRE = regexp.MustCompile(`Depends: (linux-image-([0-9][^\s]*-amd64))`)

// ensureKernel uses a cached kernel ($SIGLAB_KERNEL picks a version), or
// fetches the one Debian's linux-image-amd64 depends on.
func (a *Assets) ensureKernel(ctx context.Context, log io.Writer) error {
	version := os.Getenv("SIGLAB_KERNEL")
	if version == "" {
		cached, _ := filepath.Glob(filepath.Join(a.CacheDir, "kernel-*", ".complete"))
		sort.Strings(cached)
		if len(cached) > 0 {
			version = strings.TrimPrefix(filepath.Base(filepath.Dir(cached[len(cached)-1])), "kernel-")
		}
	}
	if version == "" {
		v, err := resolveKernelVersion(ctx, log)
		if err != nil {
			return err
		}
		version = v
	}
	dir := filepath.Join(a.CacheDir, "kernel-"+version)
	a.KernelVersion = version
	a.Kernel = filepath.Join(dir, "boot", "vmlinuz-"+version)
	a.ModulesDir = filepath.Join(dir, "lib", "modules", version)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		a.extractVmlinux(ctx, log)
		return nil
	}
	defer a.extractVmlinux(ctx, log)
	fmt.Fprintf(log, "siglab: fetching Debian kernel package linux-image-%s (about 70 MB, once)\n", version)
	tmp, err := os.MkdirTemp(a.CacheDir, "fetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := aptDownload(ctx, log, tmp, "linux-image-"+version); err != nil {
		return err
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("lab: apt-get download linux-image-%s left %d packages", version, len(debs))
	}
	fmt.Fprintf(log, "siglab: unpacking %s\n", filepath.Base(debs[0]))
	os.RemoveAll(dir)
	if err := run(ctx, log, "", "dpkg-deb", "-x", debs[0], dir); err != nil {
		return fmt.Errorf("lab: unpacking the kernel package: %w", err)
	}
	if _, err := os.Stat(a.Kernel); err != nil {
		return fmt.Errorf("lab: kernel package has no %s", a.Kernel)
	}
	return os.WriteFile(filepath.Join(dir, ".complete"), []byte(filepath.Base(debs[0])+"\n"), 0o644)
}

// BootImage is the kernel image qemu boots: the uncompressed ELF vmlinux
// when it could be extracted (booted directly through PVH, which saves the
// decompression that is slow under emulation), else the bzImage.
func (a *Assets) BootImage() string {
	if v := a.Kernel + ".elf"; fileExists(v) {
		return v
	}
	return a.Kernel
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// extractVmlinux unpacks the XZ-compressed kernel inside the bzImage into
// an ELF file beside it. It is an optimisation: failure leaves the bzImage.
func (a *Assets) extractVmlinux(ctx context.Context, log io.Writer) {
	out := a.Kernel + ".elf"
	if fileExists(out) {
		return
	}
	if _, err := exec.LookPath("xz"); err != nil {
		return
	}
	data, err := os.ReadFile(a.Kernel)
	if err != nil {
		return
	}
	i := bytes.Index(data, []byte("\xfd7zXZ\x00"))
	if i < 0 {
		return
	}
	cmd := exec.CommandContext(ctx, "xz", "-dc", "--single-stream")
	cmd.Stdin = bytes.NewReader(data[i:])
	elfData, err := cmd.Output()
	if err != nil || !bytes.HasPrefix(elfData, []byte("\x7fELF")) {
		fmt.Fprintln(log, "siglab: could not extract vmlinux (booting the bzImage instead):", err)
		return
	}
	tmp := out + ".tmp"
	if os.WriteFile(tmp, elfData, 0o644) == nil {
		os.Rename(tmp, out)
	}
}

func resolveKernelVersion(ctx context.Context, log io.Writer) (string, error) {
	if _, err := exec.LookPath("apt-cache"); err != nil {
		return "", errors.New("lab: no cached kernel and no apt-cache: the lab needs a Debian/Ubuntu host (or SIGLAB_CACHE pointing at a cache made on one)")
	}
	for attempt := 0; attempt < 2; attempt++ {
		out, _ := output(ctx, "apt-cache", "depends", "linux-image-amd64")
		if m := kernelDepRE.FindStringSubmatch(out); m != nil {
			return m[2], nil
		}
		if attempt == 0 {
			if os.Geteuid() != 0 {
				return "", errors.New("lab: apt-cache does not know linux-image-amd64: run 'sudo apt-get update' once")
			}
			fmt.Fprintln(log, "siglab: apt-get update (package lists are missing)")
			if err := run(ctx, log, "", "apt-get", "update"); err != nil {
				return "", err
			}
		}
	}
	return "", errors.New("lab: apt-cache depends linux-image-amd64 names no kernel; is this Debian (amd64)?")
}

func aptDownload(ctx context.Context, log io.Writer, dir, pkg string) error {
	if err := run(ctx, log, dir, "apt-get", "download", pkg); err != nil {
		if os.Geteuid() != 0 {
			return fmt.Errorf("lab: %w (run 'sudo apt-get update' if the package lists are stale)", err)
		}
		if err2 := run(ctx, log, "", "apt-get", "update"); err2 != nil {
			return err2
		}
		return run(ctx, log, dir, "apt-get", "download", pkg)
	}
	return nil
}

// ensureBusybox caches a static busybox from Debian's busybox-static.
func (a *Assets) ensureBusybox(ctx context.Context, log io.Writer) error {
	dir := filepath.Join(a.CacheDir, "busybox")
	a.Busybox = filepath.Join(dir, "busybox")
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return nil
	}
	fmt.Fprintln(log, "siglab: fetching Debian package busybox-static (once)")
	tmp, err := os.MkdirTemp(a.CacheDir, "fetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := aptDownload(ctx, log, tmp, "busybox-static"); err != nil {
		return err
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("lab: apt-get download busybox-static left %d packages", len(debs))
	}
	x := filepath.Join(tmp, "x")
	if err := run(ctx, log, "", "dpkg-deb", "-x", debs[0], x); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(x, "bin", "busybox"))
	if err != nil {
		return fmt.Errorf("lab: busybox-static package: %w", err)
	}
	if err := os.WriteFile(a.Busybox, data, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ".complete"), []byte(filepath.Base(debs[0])+"\n"), 0o644)
}

// ModuleLoadOrder returns the module files to load, dependencies first, for
// the named modules. Names use underscores, as the kernel does.
func (a *Assets) ModuleLoadOrder(names []string) ([]string, error) {
	index := map[string]string{}
	err := filepath.WalkDir(a.ModulesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			index[moduleName(p)] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lab: reading kernel modules: %w", err)
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		switch state[name] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("lab: module dependency cycle: %s", strings.Join(append(chain, name), " -> "))
		}
		p, ok := index[name]
		if !ok {
			return fmt.Errorf("lab: kernel %s has no module %s (is it built in? then drop it from GuestModules)", a.KernelVersion, name)
		}
		state[name] = 1
		deps, err := moduleDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d, append(chain, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, p)
		return nil
	}
	for _, n := range names {
		if err := visit(strings.ReplaceAll(n, "-", "_"), nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func moduleName(p string) string {
	return strings.ReplaceAll(strings.TrimSuffix(filepath.Base(p), ".ko"), "-", "_")
}

// moduleDepends reads the "depends=" field of a module's .modinfo section.
func moduleDepends(p string) ([]string, error) {
	f, err := elf.Open(p)
	if err != nil {
		return nil, fmt.Errorf("lab: module %s: %w", p, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("lab: module %s has no .modinfo", p)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("lab: module %s: %w", p, err)
	}
	for _, field := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(field, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			var deps []string
			for _, d := range strings.Split(string(v), ",") {
				deps = append(deps, strings.ReplaceAll(d, "-", "_"))
			}
			return deps, nil
		}
	}
	return nil, nil
}
