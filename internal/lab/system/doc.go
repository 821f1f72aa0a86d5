// Package system runs the whole of sigpool in the lab and measures it: two
// gateways (sgw, each with its embedded registrar) on two rack hosts, three
// application server hosts with two aspd each, and one network host running
// sigload, every host on networks A and B of a netlab topology. Under a
// steady dialogue load it injects three faults on a schedule — one aspd
// killed with SIGKILL, a gateway host losing network A, one gateway killed
// — heals each, and reports: a live line per second, the alarms the
// gateways' management APIs raise and clear (followed over their
// notification streams, not read from logs), the dialogue counts and
// latency percentiles, and each fault's recovery time by an explicit rule
// (RecoveryRule). `siglab demo` prints it; the lab test asserts it.
//
// The daemons are the project's own commands: siglab builds them
// statically on the host (CGO_ENABLED=0) into the run's bin folder, which
// is first on the guest's PATH; Options.BinDir names another folder.
//
// Running the scenario needs root and kernel SCTP (the lab VM). The
// recovery rule, the alarm watcher and the summary are plain code with
// unit tests.
package system
