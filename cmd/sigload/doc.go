// Command sigload is the network-side load generator of sigpool
// (docs/gateway.md): an SS7 signalling end point that is an M3UA ASP
// (m3ua.Client) with one multihomed SCTP association to every gateway. It
// opens TCAP dialogues toward a service (point code --dpc, subsystem
// --called-ssn) at --rate per second for --duration, with network
// transaction ids from its own counter, and follows each one to its end.
//
// # Dialogue script
//
// Begin (network) → [Continue (server) → Continue (network)] × steps → End
// (server). Each network message carries one Invoke of local operation code
// 100 whose parameter is OCTET STRING {steps, n}: the dialogue's number of
// network Continues and this message's number (0 for the Begin), so a
// server can follow the script without being configured for it. sigload
// answers any server Continue and completes a dialogue on End; a dialogue
// that took another number of rounds than --steps is still completed and
// counted in step_mismatch (cmd/aspd follows the Invoke with
// service.follow_network, else its own service.steps). `sigload --help`
// draws the exchange.
//
// # Accounting
//
// Every dialogue offered ends in exactly one of: completed (End received),
// aborted (Abort received, counted by cause, or one of our messages returned
// by SCCP in a UDTS/XUDTS), lost (neither within --timeout of the Begin; a
// server that had answered gets a user Abort), not sent (no association to
// a gateway was ASP-ACTIVE: m3ua.ErrNoActiveSGP, counted, never dropped
// silently). DATA that SCTP hands back (m3ua.DataUnsent) is sent again
// through another ASP-ACTIVE gateway than the one that handed it back
// (that one is going away), or the same when it is the only one; after three
// resends the dialogue counts as not sent. Latency is from sending the
// Begin to receiving the End, in an HDR-style histogram (log buckets with
// 64 linear sub-buckets: quantiles within 1.6 % above the true value).
//
// A progress line is printed every --progress (default 1s; the lab's
// system test uses 100ms to time recoveries under 500 ms):
//
//	t=3.000s offered=300 completed=297 aborted=0 lost=0 notsent=0 inflight=3 rate=100/s p50=1.92ms p99=4.10ms
//
// (rate, p50 and p99 are of the dialogues completed in that interval; the
// counters are cumulative), then a text summary. The run ends when the
// duration is over and every open dialogue has ended or timed out, or at
// SIGINT/SIGTERM (open dialogues are then counted lost). Every lost
// dialogue is logged (standard error) with its transaction id, when its
// Begin was sent, its SLS and how far it got, so it can be traced in the
// gateways' and servers' logs.
//
// # JSON summary (--json FILE)
//
//	offered, completed, aborted, lost, notsent   dialogue counts (offered = the other four + inflight)
//	inflight                  dialogues still open at the end (0 unless interrupted)
//	abort_causes              aborted by cause: "p-abort:<Q.773 cause name>", "u-abort", "sccp-return:<return cause>"
//	resent                    messages sent again after DataUnsent
//	unmatched                 answers for no open dialogue (late answers to lost dialogues, strays)
//	malformed                 received SCCP/TCAP that did not decode
//	step_mismatch             completed dialogues whose number of rounds differed from steps
//	send_errors               sends that failed (each makes a dialogue not sent)
//	not_sccp                  received DATA of another service indicator
//	continues                 network Continues sent
//	latency_us                {count, min, mean, p50, p90, p99, p999, max} of completed dialogues, microseconds
//	rate, steps, gateways     the run's settings
//	gateways_active_at_start  gateways ASP-ACTIVE when the load started
//	load_s                    seconds during which dialogues were offered
//	seconds                   one object per progress line: t (s since start), offered, completed,
//	                          aborted, lost, notsent, inflight (cumulative), completed_per_s,
//	                          p50_us, p99_us (of the dialogues completed in that interval)
//	lost_dialogues            the first 1000 lost dialogues: otid (8 hex digits), begin_s (s since
//	                          the load started), sls, answered, peer (server tid), rounds, resends,
//	                          sends [{assoc, t}]: the gateway association of each network message
//	                          (1 = the first --gateway; 0 unknown) and when it was sent
//	assoc_events              [{assoc, event, t}]: each association's "up", "ended" and ASP state
//	                          ("asp-asp-active"...), t in s since the load started (negative before)
//	dialogues                 with --per-dialogue, every finished dialogue: otid, begin_s, end_s
//	                          (when its outcome was known), outcome (completed, aborted, lost,
//	                          notsent), sends
//
// sigload picks the gateway for each message itself, as m3ua.Client's
// SendData would (the ASP-ACTIVE associations in --gateway order, by SLS),
// so that it knows which association carried it; when that gateway
// declared the DPC unavailable the client's SendData chooses (association
// noted as 0).
package main
