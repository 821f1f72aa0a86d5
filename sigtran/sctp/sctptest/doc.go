// Package sctptest provides in-memory SCTP associations for unit tests of the
// layers above package sctp (M3UA, ASAP/ENRP, the gateway). They implement
// sctp.Association and sctp.Listener with the behaviour kernel SCTP gives:
//
//   - Whole messages with stream id, PPID and the unordered flag. Send copies
//     the data. Recv copies into the caller's buffer; a message longer than
//     the buffer is discarded and reported as sctp.ErrMessageTooLong, and the
//     association stays usable. A stream id at or beyond the negotiated
//     outbound streams is refused with sctp.ErrInvalidStream. Stream counts
//     are negotiated as in INIT: min(our OutStreams, peer's MaxInStreams),
//     17/17 by default (sctp.Telecom).
//   - Ordered messages arrive in order per stream; unordered ones and other
//     streams may overtake. Nothing is lost while a path is up: injected loss
//     (WithLoss, seeded by WithSeed) delays a message by one retransmission
//     timeout per lost transmission, doubling each time, within the tuning's
//     RTO bounds.
//   - Events arrive through Recv, in the order the kernel delivers them:
//     EventCommUp on both ends first. Close delivers what was sent and then
//     EventShutdown to the peer. Abort gives the peer EventCommLost (error
//     cause 12) followed by one EventSendFailed per message it still had in
//     flight. FailPath gives EventAddrUnreachable to the end that loses a
//     path, RestorePath EventAddrAvailable, at once (no detection delay). If
//     no path is left for longer than the dead-peer time (WithDeadPeer;
//     default Bounds().PeerDead of the dialer's tuning), both ends get
//     EventCommLost and then EventSendFailed, with Unsent set, for each of
//     their messages not delivered: nothing is lost silently. SetPrimary
//     gives EventAddrMadePrimary to the end that called it.
//   - End of an association, with the results the kernel associations of
//     package sctp give: after an end's own Close or Abort, its Recv and
//     Send return sctp.ErrClosed (closing again is a no-op). An end whose
//     peer closed or that lost the association first reads what it had
//     already received, then the events above; then Recv returns, every
//     time, io.EOF after a shutdown, or an *sctp.LostError (matching
//     sctp.ErrAssociationLost) wrapping syscall.ECONNRESET (peer aborted)
//     or syscall.ETIMEDOUT (peer dead) after comm-lost; Send returns an
//     error wrapping syscall.EPIPE (and sctp.ErrAssociationLost after a
//     loss). Closing an end that has unread messages aborts
//     instead of shutting down, as the kernel does. Empty messages are
//     refused, as SCTP carries none.
//   - Deadlines work as in net.Conn; an expired one yields an error for which
//     errors.Is(err, os.ErrDeadlineExceeded) holds. Send blocks while the
//     user data in flight or unread towards the peer would exceed the peer's
//     receive buffer (WithRecvBuffer), until space frees up, the deadline
//     passes or the association ends. Close unblocks Recv and Send.
//
// Not modelled: restarts (EventRestart), failed setup (EventCantStart; Dial
// fails at once instead), ASCONF (EventAddrAdded, EventAddrRemoved), the
// potentially-failed path state, failure-detection delays for single paths,
// congestion control and partial delivery. Status figures (SRTT, RTO, cwnd,
// MTU) are derived from the injected delays and the tuning, not measured.
//
// Pair returns the two ends of one association; a Network connects any
// number of dialers to listeners, as the kernel would on one host. Each end
// may be multihomed: every peer address is a path.
//
// No goroutine runs on behalf of an association: delivery happens in Send or
// in timer callbacks of the Clock, and all timers stop when the association
// ends. Delays, retransmissions, the dead-peer timer and deadlines use the
// real clock unless WithClock supplies another, such as a FakeClock that the
// test advances itself.
package sctptest
