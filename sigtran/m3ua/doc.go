// Package m3ua is the M3UA layer (RFC 4666) of sigpool: a strict codec on top
// of github.com/wmnsk/go-m3ua's messages and parameters, and sans-I/O state
// machines for the signalling gateway process (SGP), the application server
// process (ASP) and the IP server process (IPSP, single and double exchange)
// roles.
//
// # Codec
//
// Decode validates a message before go-m3ua sees it (common header, message
// length, parameter framing and padding, which parameters a message may carry,
// which it must carry, their lengths and values) and then lets go-m3ua build the
// typed message. Every rejection is a *ProtocolError that carries the RFC 4666
// section 3.8.1 error code the peer must receive in an ERR. Decode never
// panics. The routing key management messages (REG REQ/RSP, DEREG REQ/RSP),
// which go-m3ua only names, are the types RegReq, RegRsp, DeregReq and
// DeregRsp of this package; they satisfy go-m3ua's messages.M3UA interface.
//
// Encode encodes any messages.M3UA, recomputing lengths first; it never
// panics either (go-m3ua's own MarshalTo does on short buffers). DATA, the
// message of the traffic path, has its own encoder, AppendData, which writes
// the same bytes into a reused buffer without allocating; the machines queue
// DATA as user data (Send.IsData) and the drivers encode it with AppendData.
// On receipt, DecodeData is its counterpart: the checks of Decode, then the
// user data read in place, with no allocation; the machines take DATA through
// it, and a differential fuzz test holds it to Decode and UserDataOf.
//
// # State machines
//
// SGP and ASP are plain structs in the style of etcd raft: their methods take
// an input (bytes received on an association and stream, an association that
// came up or went down, a timer that fired, an administrative command, and
// always the current time) and queue outputs, which Ready returns and clears:
// messages to send on an association and stream, timers to arm or stop,
// events for the layer above, and counters. A Ready is valid until the next
// call to Ready: the machine then reuses its arrays. Nothing in here starts a
// goroutine, touches a socket, takes a lock or reads the clock; the drivers
// over sigtran/sctp do that.
//
// # Signalling network management and routing key management
//
// The SGP tells its active ASPs what the layer above learns of SS7
// destinations (SetDestination, SetCongestion, ReportUserPartUnavailable:
// DUNA, DAVA, DRST, SCON, DUPU) and answers DAUD from what it knows, with
// ERR "Destination Status Unknown" for point codes it knows nothing of.
// The ASP keeps its view of the destinations (Reachable) and raises
// DestinationChanged, CongestionChanged and UserPartUnavailable.
//
// Routing keys are registered (REG REQ, DEREG REQ) under a per-SGP
// policy: StaticOnly grants only keys (or routing contexts) the
// configuration has and answers "Routing Key not Currently Provisioned"
// otherwise; DynamicPermitted also creates an AS, with a routing context
// allocated from DynamicRCBase, that serves only the ASPs that registered
// it and goes with the last of them. Under either, a key for a DPC outside
// SGPConfig.DPCs (when set) is "Invalid DPC", a configured AS limited to
// other ASPs (ASConfig.ASPIDs) is "Permission Denied", and so is a DEREG
// REQ for an AS the ASP may not serve.
//
// IPSP combines the two for IPSP associations: an SGP answers the peer's
// ASPUP/ASPAC and, per association, an ASP sends its own (double exchange,
// or single exchange as the initiator); see ipsp.go.
//
// # Drivers
//
// Server and Client run the machines over sigtran/sctp associations (any
// sctp.Transport: kernel SCTP or sctptest); see driver.go for how they
// own the machines, timers and associations. With ServerConfig.IPSP or
// ClientConfig.IPSP they run an IPSP instead. Graceful shutdown
// (Shutdown) takes the local ASP down first: a Client, and an IPSP Server
// that requests, send ASPIA and ASPDN and wait for their acks; a Server then
// takes its peers' ASPs down (unsolicited ASPDN ACK); SCTP SHUTDOWN last.
//
// What a gateway builds on (docs/gateway.md): Server.SendDataTo sends to one
// ASP association (ErrUnknownAssoc, ErrASPNotActive, ErrNoDataStream
// otherwise); Server.ASPIdentifier, Serving and ActiveRCs answer at once, and
// the ASPStateChanged events carry the association, the ASP Identifier, the
// routing contexts concerned and those active afterwards, so the same view
// can be kept from events alone. SendOther (Server and Client) writes a
// non-M3UA message (ASAP, PPID 11) through the same ordered writer as DATA.
// DATA that SCTP hands back undelivered, or that is discarded because its
// association went, comes back as a DataUnsent event with its payload.
//
// # Metrics
//
// NewServerCollector and NewClientCollector export the counters and states
// to Prometheus (metrics.go lists the series); every label is bounded.
//
// # Timers
//
//	timer    sigpool default          RFC 4666
//	T(ack)   1 s (DefaultAck)         2 s recommended
//	T(r)     2 s (DefaultRecovery)    configurable (2 s is customary)
//	BEAT     off; set an interval     optional procedure, no default
//
// T(ack) is shorter than the RFC's so that a lost ASPAC costs at most one
// second of traffic; T(r) bounds how long traffic is queued for a pending AS.
//
// Streams: management messages (MGMT, ASPSM, ASPTM, RKM) travel on stream 0;
// DATA never does, and its stream is derived from the SLS so that one
// signalling link selection stays in order.
package m3ua
