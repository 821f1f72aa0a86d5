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
// (HoldUpRule). `siglab demo` prints it; the lab test asserts it.
//
// The daemons are the project's own commands: siglab builds them
// statically on the host (CGO_ENABLED=0) into the run's bin folder, which
// is first on the guest's PATH; Options.BinDir names another folder.
//
// Running the scenario needs root and kernel SCTP (the lab VM). The
// recovery rule, the alarm watcher and the summary are plain code with
// unit tests; TestLabSystemHarness runs the whole machinery in the VM with
// the test binary standing in for the daemons, TestLabSystemFaults runs
// the real ones and holds them to the targets.
//
// Time: sigload prints its counters every 100 ms (--progress), stamped
// with its own clock; the harness places the samples by that clock (lines
// reach it late and in bursts when the emulated VM is starved).
//
// Recovery is measured per dialogue, from sigload's --per-dialogue
// account, as the time until traffic flowed again (HoldUpRule): the
// longest any dialogue open at the fault or begun within 2 s after it took
// beyond the normal latency (the median of the 3 s before the fault) to
// be answered; "never" when one of them went unanswered (but a loss
// inside the killed gateway). A message a fault stops is held until it is
// re-sent, re-routed or retransmitted, and its dialogue takes that much
// longer; traffic that only runs slower afterwards counts by its
// slowdown. Beside it the report prints a stricter figure, the time until
// every dialogue completed within the pre-fault tail latency again
// (DialogueRule: from the fault to the first Begin from which on every
// dialogue begun within 2 s completed within the p99.9 latency of the 3 s
// before each fault); in the emulated VM that one also measures how long
// one gateway carrying the load of two, or a CPU stall, keeps latency
// above a tail that a quiet run sets low. A rate measured in 100 ms
// buckets is no use at 20 dialogues/s (two per bucket: one late
// completion makes a bucket short). The report prints both rules at
// instants with no fault (their noise floor).
//
// Lost dialogues: sigload names each with the gateway association of each
// of its messages and when. A loss whose last message went to a gateway in
// the second before its SIGKILL, up to when sigload saw that association
// end, is attributed to the kill ("lost inside the killed gateway": SCTP
// had acknowledged it, the process died before forwarding it) and named in
// the summary; it still counts against the completed share. Any other loss
// fails the run. The aspds give an idle dialogue up after 3 s and abort it
// toward the network, so a dialogue whose Continue died in the gateway
// ends aborted (named too, and left out of the recovery rule: its abort
// comes from the server's timer, seconds later); only a Begin that died
// there stays lost, as nothing but the network knows of it. Every daemon's
// /metrics is kept at the end, to trace them.
//
// Rate: on the 2-core build machine shared with other builds, the emulated
// VM carried 20 dialogues/s through the two gateways and six servers with
// every dialogue completed and no fault (p50 121 ms, p99 1.16 s; siglab
// system --no-faults --rate 20); at 100/s, or at 20/s while the host's load
// average was above 10, the VM stalled for seconds at a time, longer than
// the telecom SCTP profile's 750 ms dead-peer bound, and associations were
// lost without any injected fault. 20/s is the default.
package system
