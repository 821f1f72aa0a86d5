// Package sctp carries SIGTRAN traffic over SCTP associations: multihomed
// endpoints, whole messages with their stream id and payload protocol
// identifier, typed association events, per-endpoint timer tuning (the
// "telecom" and "rfc" profiles) and path status.
//
// Kernel associations are built on the definitions of
// github.com/ishidawataru/sctp and use non-blocking sockets on Go's network
// poller, so a blocked reader holds no OS thread and Close or a deadline
// unblocks it. Package sctptest provides in-memory associations with the same
// Association interface for unit tests of the layers above.
package sctp
