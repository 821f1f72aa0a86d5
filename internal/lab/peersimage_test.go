//go:build linux

package lab

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMirrorOneLine(t *testing.T) {
	const list = `# comment
deb-src http://deb.debian.org/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian bookworm main contrib
deb http://other.example/debian bookworm main
`
	if got := mirrorOneLine(list, "bookworm"); got != "http://mirror.example/debian" {
		t.Errorf("mirrorOneLine = %q", got)
	}
	if got := mirrorOneLine(list, "trixie"); got != "" {
		t.Errorf("mirrorOneLine(trixie) = %q; want none", got)
	}
}

func TestMirrorDeb822(t *testing.T) {
	const sources = `Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb deb-src
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`
	if got := mirrorDeb822(sources, "bookworm"); got != "http://deb.debian.org/debian" {
		t.Errorf("mirrorDeb822 = %q", got)
	}
	if got := mirrorDeb822(sources, "bookworm-security"); got != "http://deb.debian.org/debian-security" {
		t.Errorf("mirrorDeb822(security) = %q", got)
	}
}

func TestHostMirrorOverride(t *testing.T) {
	t.Setenv("SIGLAB_MIRROR", "http://m.example/debian")
	if got, err := HostMirror("bookworm"); err != nil || got != "http://m.example/debian" {
		t.Errorf("HostMirror = %q, %v", got, err)
	}
}

func TestPeersDirective(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a_lab_test.go", "//go:build lab\n\npackage a\n// mentions //siglab:peers in a sentence\n")
	write("b_test.go", "//siglab:peers\npackage a\n") // not a lab test file
	if got := peersDirective(dir); got != "" {
		t.Errorf("peersDirective found %q; want none", got)
	}
	write("c_lab_test.go", "//go:build lab\n\n//siglab:peers\n\npackage a\n")
	if got := peersDirective(dir); got != "c_lab_test.go" {
		t.Errorf("peersDirective = %q; want c_lab_test.go", got)
	}
}

func TestPeersKeyFollowsPackages(t *testing.T) {
	k := peersKey()
	old := PeerPackages
	defer func() { PeerPackages = old }()
	PeerPackages = append(append([]string(nil), old...), "extra")
	if peersKey() == k {
		t.Error("the image key does not change with the package list")
	}
}

func TestHostPath(t *testing.T) {
	l := &Lab{Src: "/repo"}
	if got, err := l.hostPath("/src/.labwork/run-1/captures/a.pcap"); err != nil || got != "/repo/.labwork/run-1/captures/a.pcap" {
		t.Errorf("hostPath = %q, %v", got, err)
	}
	for _, p := range []string{"/tmp/a.pcap", "/src/../etc/shadow", "/srcx/a"} {
		if _, err := l.hostPath(p); err == nil {
			t.Errorf("hostPath(%q) accepted a path off the shared folder", p)
		}
	}
}
