// Package lab gives sigpool's tests and programs real kernel SCTP on hosts
// whose kernel has none. It boots a Debian kernel in qemu (software emulation
// by default, KVM opt-in) with a small initramfs whose init is siglab itself,
// shares the repository with the guest over 9p, and runs commands or
// compiled test binaries there, streaming their output and returning their
// status. Where the host kernel has SCTP it runs them natively instead.
//
// Assets (the kernel package, busybox) come from Debian's archive through
// apt-get and are cached under the user's cache directory, keyed by
// version, so a second boot needs no network. Package netlab builds the
// multi-host topologies tests run inside the VM.
//
// Third-party peers (osmo-stp, rsplib, tshark) live in a Debian root file
// system built once by EnsurePeers and attached, when a run asks for it
// (Lab.Peers, or a //siglab:peers line in a *_lab_test.go file), as an
// ext4 disk mounted at /peers; package peers runs them in netlab hosts.
// siglab decodes captures for the guest on the host, with that root's
// tshark, through files in the run's folder (DecodeRequest, DecodeReply).
package lab
