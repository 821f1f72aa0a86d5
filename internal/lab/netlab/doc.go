// Package netlab builds throw-away network topologies out of Linux network
// namespaces, for tests that need real kernel networking: multihomed SCTP
// associations, path failures, host failures and lossy or slow paths.
//
// A topology made by [New] has one "switch" namespace holding two bridges,
// network A and network B, and one namespace per host. Host i (1-based) is
// wired to both bridges by two veth pairs; its side of the pairs is named
// "ethA" and "ethB" and carries 10.1.0.i/24 and 10.2.0.i/24 (plus
// fd00:1::i/64 and fd00:2::i/64 with [WithIPv6]). Loopback is up everywhere.
// The namespace that runs the test is never modified: no link, address,
// route or qdisc is created or changed there.
//
// Namespaces are named (bind-mounted under /run/netns, so `ip netns exec`
// works for debugging where iproute2 exists) with a prefix made of the
// process id and a per-process counter, so tests running in parallel, in
// the same or in different processes, never collide. [Topology.Close]
// kills the processes started in the topology, unmounts and removes the
// namespace files and releases every handle; it is idempotent.
//
// Code runs inside a host in two ways:
//
//   - [Host.Do] runs a function on an OS thread switched into the host's
//     namespace. Sockets created by the function belong to the host and
//     keep doing so after Do returns; goroutines the function starts do not
//     inherit the namespace.
//   - [Host.Command] describes a program to run in the host's namespace;
//     the returned [Process] can be started, killed (SIGKILL) and restarted.
//
// Faults are applied from outside the hosts, the way a network would:
//
//   - [Topology.LinkDown] / [Topology.LinkUp] set the switch-side end of a
//     host's veth pair down or up. The host keeps its interface, address and
//     routes, sees only its carrier go away, and everything it sends on that
//     network is silently dropped: a pulled cable, not an administrator
//     deconfiguring the interface (which would make sends fail at once with
//     ENETUNREACH and is not how remote failures look).
//   - [Topology.Isolate] takes both of a host's links down: a host failure as
//     seen by its peers, while its processes keep running; [Topology.Rejoin]
//     reconnects both.
//   - [Topology.SetImpairment] puts a netem qdisc on both ends of a host's
//     veth pair, so loss, delay and jitter apply in each direction. This
//     needs the kernel's sch_netem module.
//
// Everything is done through netlink and setns(2) from Go; no iproute2
// binary is needed, which matters in the lab VM where only busybox exists.
// Building a topology needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and a
// kernel with network namespaces, veth and bridge support.
package netlab
