//go:build linux

// Package failover is the multihoming experiment the lab runs: two hosts
// joined by two networks, one multihomed SCTP association carrying a steady
// numbered message stream, and a fault injected mid-stream — network A cut
// at the sender, or the peer host lost altogether. It measures what an
// operator cares about: whether anything was lost or reordered, the time
// from the cut to the first message that crossed network B, and the time to
// declare a dead peer lost. `siglab demo` prints it; the lab tests assert it.
//
// It needs root and kernel SCTP (the lab VM).
package failover
