// Package peers runs real third-party peers — osmo-stp (M3UA), rsplib's
// rspregistrar, rspserver and rspterminal (ASAP/ENRP), dumpcap — inside
// the hosts of a netlab topology in the lab VM, and gets captures decoded
// by tshark, for interoperability tests.
//
// The programs come from Debian packages installed into a root file system
// that siglab builds once (debootstrap + apt-get, cached under the lab
// cache) and attaches to the VM as an ext4 image mounted at /peers, with
// the guest's /proc, /sys, /dev, /tmp, /run and /src bound into it. A peer
// runs chrooted into /peers and inside a host's network namespace: its
// paths are the image's, except /tmp and /src which are the guest's, so a
// configuration file written under t.TempDir() (in /tmp) is read by the
// peer at the same path.
//
// siglab attaches the image only when asked: siglab test does it when a
// *_lab_test.go file of a package it runs has the line
//
//	//siglab:peers
//
// and siglab run/shell take --peers. Without the image, [Available] and
// everything that starts a peer return an error that says so; tests must
// fail with it, never skip.
//
// tshark needs seconds to start under emulation, so [Decode] hands the
// capture to siglab on the host, which runs the same tshark through chroot
// into the image's root directory at native speed and passes back its
// output: a test captures with [StartCapture], stops, decodes and checks
// the decoded text, all in one test function.
package peers
