// Package gateway is sigpool's signalling gateway: it routes MTP3 user data
// between SS7 network nodes and pooled application server processes (ASPs),
// both sides speaking M3UA over SCTP, and picks for every new TCAP dialogue
// the ASP its RSerPool pool's policy names (Least Used by default).
//
// Core is the sans-I/O router: routing keys to service ASes and their pools,
// dialogue ownership by the tag in the transaction id, rendezvous hashing of
// orphaned dialogues, per-SLS bindings for traffic that is not TCAP, state
// cookies, failover of unsent data and of messages an element failed before
// answering, the network status (DUNA/DAVA) of each service, and the
// conditions of the pool and asp-down alarms. Its inputs are method calls
// with "now"; its outputs are Actions. Gateway is the driver that runs it
// over two m3ua.Servers and the embedded enrp registrar, tells the servers
// which network point codes it reaches, and reports alarms and metrics.
// docs/gateway.md is the contract it implements.
package gateway

// SISCCP is the service indicator of SCCP; SIISUP that of ISUP.
const (
	SISCCP = 3
	SIISUP = 5
)
