// Package enrp is the pool registrar (PR) of RSerPool: the ASAP server side
// (RFC 5352) and the Endpoint haNdlespace Redundancy Protocol between
// registrars (RFC 5353, PPID 12, port 9901). Every gateway embeds one; it
// also runs alone as cmd/registrar.
//
// # Wire
//
// wire.go encodes and decodes the ten ENRP messages (0x01 presence, 0x02/
// 0x03 handle table request/response with the W, M and R flags, 0x04 handle
// update, 0x05/0x06 list request/response, 0x07–0x09 takeover, 0x0a error)
// on top of rserpool's parameter codecs. Decoding follows rserpool's rules:
// it never panics, copies what it keeps, and fails with an *rserpool.Error
// naming the Operation Error cause to answer with.
//
// # Core
//
// Registrar is a sans-I/O state machine like rserpool's PE and PU: every
// input (an association accepted, up or down; an ASAP or ENRP message; a
// timer; all with "now") queues outputs that Ready hands to the driver:
// associations to dial and close, messages to send (stream 0, PPID 11 or
// 12), timers to arm or stop, and events for logs and metrics. No
// goroutine, lock or clock inside.
//
// ASAP: registration (allow-list, identifier assignment, Non-unique PE
// Identifier, the handlespace's consistency checks), deregistration,
// handle resolution (MaxHResItems, or the Handle Resolution Option up to a
// limit; rate-limited per association), endpoint keep-alives of the
// elements this registrar is home of, and endpoint-unreachable reports
// (MAX-BAD-PE-REPORT different pool users within a window; rate-limited).
//
// ENRP: presence every heartbeat cycle, max-time-last-heard then a
// presence with the R flag, max-time-no-response then the peer is dead;
// the PE checksum of each presence compared with the one computed here and
// a handle table request with the W flag when they differ; handle updates
// to every peer; the mentor (the first peer heard) sends the initial table,
// in pieces with the M flag; list request/response to learn further peers;
// takeover of a dead peer's elements (init takeover to every peer, acks or
// the takeover expiry, takeover server; a concurrent takeover goes to the
// higher server ID), followed by endpoint keep-alives with the H flag to
// each element taken over, on an association to its ASAP transport.
//
// With Config.TagBits set, the low TagBits bits of a PE identifier are a
// tag unique within the pool (docs/gateway.md): a registration whose tag
// another live element holds is refused with Non-unique PE Identifier.
//
// # Embedding
//
// A process that embeds the registrar (the gateway) selects from the local
// handlespace with Driver.Select (as a handle resolution would, counted),
// reads a pool with Driver.Elements, and reports an unreachable element
// with Driver.ReportUnreachable (one pool user's report). OnEvent follows
// every element in and out of the handlespace: Registered (Conn 0 when
// learned from a peer), Deregistered and Removed.
//
// The defaults, beside RFC 5353's and rsplib's, are in config.go.
package enrp
