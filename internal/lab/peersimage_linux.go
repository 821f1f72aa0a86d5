package lab

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// PeersRelease is the Debian release the peers root file system is built
// from; it matches the lab kernel's.
const PeersRelease = "bookworm"

// PeerPackages are the Debian packages installed into the peers root file
// system (with what they depend on) on top of debootstrap's minbase.
var PeerPackages = []string{
	"osmo-stp",         // M3UA signalling transfer point / SG
	"rsplib-registrar", // rspregistrar: ASAP + ENRP
	"rsplib-tools",     // rspserver, rspterminal
	"tshark",           // decoding; dumpcap comes with wireshark-common
	"iproute2",         // ip, ss, tc for debugging inside hosts
}

// peersRecipe changes whenever the way the image is built changes, so that
// older cached images are not reused.
const peersRecipe = "peers-1"

// PeersImage is the third-party peers' root file system: a directory on
// the host (for running its tshark through chroot) and the same tree packed
// into an ext4 image that the VM attaches.
type PeersImage struct {
	Key   string // hash of the recipe, the release and the package list
	Root  string // the root directory
	Image string // the ext4 image
}

// peersKey names one image: recipe, release and packages.
func peersKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", peersRecipe, PeersRelease, strings.Join(PeerPackages, " "))
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// EnsurePeers returns the cached peers image, building it once when it is
// missing: debootstrap (minbase) from the host's Debian mirror, apt-get
// install of PeerPackages in the new root, then mke2fs -d. Building needs
// root, debootstrap and e2fsprogs; they are installed through apt-get when
// missing. Progress goes to log.
func EnsurePeers(ctx context.Context, log io.Writer) (*PeersImage, error) {
	cache, err := CacheRoot()
	if err != nil {
		return nil, err
	}
	key := peersKey()
	dir := filepath.Join(cache, "peers-"+PeersRelease+"-"+key)
	p := &PeersImage{Key: key, Root: filepath.Join(dir, "root"), Image: filepath.Join(dir, "peers.ext4")}
	done := filepath.Join(dir, ".complete")
	if fileExists(done) {
		return p, nil
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("lab: the peers image (%s) is not built yet and building it needs root (debootstrap, chroot): run 'sudo bin/siglab setup --peers' once", dir)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	// One builder at a time; a second siglab waits and then finds it built.
	lock, err := os.OpenFile(filepath.Join(cache, "peers.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		fmt.Fprintln(log, "siglab: another siglab is building the peers image; waiting for it")
		if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
			return nil, err
		}
	}
	if fileExists(done) {
		return p, nil
	}
	if err := buildPeers(ctx, log, dir, p); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

func buildPeers(ctx context.Context, log io.Writer, dir string, p *PeersImage) error {
	start := time.Now()
	for _, t := range []struct{ cmd, pkg string }{{"debootstrap", "debootstrap"}, {"mke2fs", "e2fsprogs"}} {
		if _, err := exec.LookPath(t.cmd); err != nil {
			if err := aptInstall(ctx, log, t.pkg); err != nil {
				return err
			}
		}
	}
	mirror, err := HostMirror(PeersRelease)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "siglab: building the peers image once (Debian %s: %s), about 1-2 minutes, into %s\n",
		PeersRelease, strings.Join(PeerPackages, ", "), dir)
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	step := time.Now()
	fmt.Fprintf(log, "siglab: peers: debootstrap --variant=minbase %s from %s\n", PeersRelease, mirror)
	if err := run(ctx, log, "", "debootstrap", "--variant=minbase", PeersRelease, p.Root, mirror); err != nil {
		return fmt.Errorf("lab: peers image: %w", err)
	}
	fmt.Fprintf(log, "siglab: peers: base system in %s\n", time.Since(step).Round(time.Second))

	// No service may start inside the build root.
	if err := os.WriteFile(filepath.Join(p.Root, "usr/sbin/policy-rc.d"), []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
		return err
	}
	step = time.Now()
	fmt.Fprintf(log, "siglab: peers: apt-get install %s\n", strings.Join(PeerPackages, " "))
	if err := chrootInstall(ctx, log, p.Root, PeerPackages); err != nil {
		return err
	}
	fmt.Fprintf(log, "siglab: peers: packages in %s\n", time.Since(step).Round(time.Second))
	if err := finishPeersRoot(p.Root); err != nil {
		return err
	}

	step = time.Now()
	used, err := treeSize(p.Root)
	if err != nil {
		return err
	}
	// Room for what peers write while they run (the VM's writes go to a
	// qemu snapshot, never into the image).
	size := (used + used/4 + 256<<20) &^ (1<<20 - 1)
	fmt.Fprintf(log, "siglab: peers: packing %d MiB into an ext4 image of %d MiB (sparse)\n", used>>20, size>>20)
	tmp := p.Image + ".tmp"
	if err := os.WriteFile(tmp, nil, 0o644); err != nil {
		return err
	}
	if err := os.Truncate(tmp, size); err != nil {
		return err
	}
	if err := run(ctx, log, "", "mke2fs", "-q", "-F", "-t", "ext4", "-m", "0", "-L", "sigpeers", "-d", p.Root, tmp); err != nil {
		return fmt.Errorf("lab: peers image: %w", err)
	}
	if err := os.Rename(tmp, p.Image); err != nil {
		return err
	}
	fmt.Fprintf(log, "siglab: peers: image packed in %s\n", time.Since(step).Round(time.Second))
	manifest := fmt.Sprintf("release %s\nmirror %s\npackages %s\nbuilt %s in %s\n", PeersRelease, mirror,
		strings.Join(PeerPackages, " "), time.Now().UTC().Format(time.RFC3339), time.Since(start).Round(time.Second))
	if err := os.WriteFile(filepath.Join(dir, ".complete"), []byte(manifest), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(log, "siglab: peers image ready in %s: %s\n", time.Since(start).Round(time.Second), p.Image)
	return nil
}

// chrootInstall runs apt-get install inside root with /proc mounted for
// the packages' scripts, and unmounts it whatever happens.
func chrootInstall(ctx context.Context, log io.Writer, root string, pkgs []string) error {
	proc := filepath.Join(root, "proc")
	if err := unix.Mount("proc", proc, "proc", 0, ""); err != nil {
		return fmt.Errorf("lab: peers image: mount proc in the build root: %w", err)
	}
	defer unix.Unmount(proc, unix.MNT_DETACH)
	args := append([]string{root, "apt-get", "install", "-y", "--no-install-recommends", "-o", "Dpkg::Use-Pty=0"}, pkgs...)
	if err := run(ctx, log, "", "chroot", args...); err != nil {
		return fmt.Errorf("lab: peers image: installing packages: %w", err)
	}
	if err := run(ctx, log, "", "chroot", root, "apt-get", "clean"); err != nil {
		return fmt.Errorf("lab: peers image: %w", err)
	}
	return nil
}

// finishPeersRoot leaves the root as the guest uses it: mount points for
// the shared folder, a hosts file, no package lists, a marker.
func finishPeersRoot(root string) error {
	os.RemoveAll(filepath.Join(root, "var/lib/apt/lists"))
	if err := os.MkdirAll(filepath.Join(root, "var/lib/apt/lists/partial"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(root, strings.TrimPrefix(guestSrc, "/")), 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"etc/hosts":        "127.0.0.1 localhost\n::1 localhost ip6-localhost\n",
		"etc/hostname":     "siglab\n",
		"etc/resolv.conf":  "",
		PeersMarker[1:]:    fmt.Sprintf("%s %s %s\n", peersKey(), PeersRelease, strings.Join(PeerPackages, " ")),
		"etc/siglab-notes": "Built by sigpool's siglab from Debian packages; writes in the lab VM go to a qemu snapshot.\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// PeersMarker is the file, inside the peers root, that says it is one.
const PeersMarker = "/etc/siglab-peers"

func treeSize(root string) (int64, error) {
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		// Whole blocks, plus an inode's worth for every entry.
		total += (info.Size()+4095)&^4095 + 256
		return nil
	})
	return total, err
}

// HostMirror returns the URI of the host's apt source for release (a
// "deb" entry whose suites include it), from /etc/apt/sources.list and
// /etc/apt/sources.list.d (one-line and deb822 formats). $SIGLAB_MIRROR
// overrides it.
func HostMirror(release string) (string, error) {
	if m := os.Getenv("SIGLAB_MIRROR"); m != "" {
		return m, nil
	}
	files := []string{"/etc/apt/sources.list"}
	for _, pat := range []string{"*.list", "*.sources"} {
		m, _ := filepath.Glob(filepath.Join("/etc/apt/sources.list.d", pat))
		files = append(files, m...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var uri string
		if strings.HasSuffix(f, ".sources") {
			uri = mirrorDeb822(string(data), release)
		} else {
			uri = mirrorOneLine(string(data), release)
		}
		if uri != "" {
			return uri, nil
		}
	}
	return "", fmt.Errorf("lab: no apt source for Debian %s in /etc/apt/sources.list or /etc/apt/sources.list.d: set SIGLAB_MIRROR (e.g. http://deb.debian.org/debian)", release)
}

// mirrorOneLine reads "deb [options] URI SUITE COMPONENT..." lines.
func mirrorOneLine(data, release string) string {
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") { // options, possibly several fields
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) == 0 {
				continue
			}
			f = f[1:]
		}
		if len(f) >= 2 && f[1] == release {
			return f[0]
		}
	}
	return ""
}

// mirrorDeb822 reads the stanzas of a .sources file.
func mirrorDeb822(data, release string) string {
	for _, stanza := range strings.Split(data, "\n\n") {
		fields := map[string]string{}
		key := ""
		for _, line := range strings.Split(stanza, "\n") {
			if strings.HasPrefix(line, "#") {
				continue
			}
			if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && key != "" {
				fields[key] += " " + strings.TrimSpace(line)
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			key = strings.ToLower(strings.TrimSpace(k))
			fields[key] = strings.TrimSpace(v)
		}
		if strings.EqualFold(fields["enabled"], "no") {
			continue
		}
		if !contains(strings.Fields(fields["types"]), "deb") || !contains(strings.Fields(fields["suites"]), release) {
			continue
		}
		if uris := strings.Fields(fields["uris"]); len(uris) > 0 {
			return uris[0]
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Decode runs the peers image's tshark on the host through chroot: the
// capture file is copied into the root's /tmp, tshark reads it with args
// (e.g. "-V", or "-T", "json"), and its standard output is returned.
// It needs root.
func (p *PeersImage) Decode(ctx context.Context, capture string, args ...string) (stdout, stderr string, err error) {
	if os.Geteuid() != 0 {
		return "", "", errors.New("lab: decoding with the peers image's tshark needs root (chroot)")
	}
	tmp, err := os.MkdirTemp(filepath.Join(p.Root, "tmp"), "siglab-decode-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	data, err := os.ReadFile(capture)
	if err != nil {
		return "", "", err
	}
	inside := filepath.Join(tmp, filepath.Base(capture))
	if err := os.WriteFile(inside, data, 0o644); err != nil {
		return "", "", err
	}
	argv := append([]string{"-r", "/" + mustRel(p.Root, inside)}, args...)
	cmd := exec.CommandContext(ctx, "/usr/bin/tshark", argv...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "TMPDIR=/tmp"}
	cmd.SysProcAttr = &unix.SysProcAttr{Chroot: p.Root}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("lab: tshark %s: %w: %s", strings.Join(argv, " "), err, lastLines(errOut.String(), 10))
	}
	return out.String(), errOut.String(), err
}

func mustRel(base, p string) string {
	rel, err := filepath.Rel(base, p)
	if err != nil {
		panic(err)
	}
	return rel
}
