// Package asp is the application server side of sigpool (docs/gateway.md):
// one application server process is one M3UA ASP, with an association to
// every gateway, and one RSerPool pool element of its service's pool,
// registered with the registrars embedded in the gateways.
//
// # Identity and transaction ids
//
// The server's PE identifier is also the ASP Identifier it sends in ASPUP;
// that is how a gateway knows which element an association belongs to. Every
// TCAP transaction id the server allocates is 4 octets: the tag (the low 16
// bits of the PE identifier) then a 16-bit counter that skips the ids still
// in use (TIDs). A network Continue, End or Abort names its dialogue's
// owner by the tag of its destination transaction id, so a gateway needs no
// table. A registrar refuses an element whose tag another live element of the
// pool already has (cause 0x4, Non-unique PE Identifier); the server then
// draws a new random identifier and starts over: a new M3UA client (new ASP
// Identifier) and a new registration.
//
// # Dialogues
//
// A network Begin opens a Dialogue and goes to Handler.Begin; the handler
// answers with Dialogue.Continue, End or Abort, now or later from any
// goroutine. Answers are SCCP replies (called and calling addresses of the
// network's last message swapped, the same protocol class) in M3UA DATA
// back to the originating point code, with the SLS of the Begin for the
// whole dialogue. A continuation whose destination transaction id is held
// by no dialogue here is answered with a P-Abort, unrecognized transaction
// id (Q.773), to its originating id. A dialogue idle for longer than
// Config.DialogueTimeout is aborted towards the network and counted.
//
// # Which gateway carries an answer
//
// Each answer goes back through the gateway association the message it
// answers came in on: the dialogue remembers the association of the
// network's last message (Begin or continuation), so an answer sent later
// (after a service time, or at a timeout) takes it too, and a P-Abort goes
// back the way its continuation came. When that association is no longer
// ASP-ACTIVE, or its gateway declared the destination point code
// unavailable (DUNA), the answer goes through the gateway the SLS picks
// among the usable ones (m3ua Client.SendData). Choosing by SLS alone would
// send, when a gateway dies, answers to requests that came through a live
// gateway into the dead one while its association still looks up (its
// kernel may acknowledge for a while); following the request keeps them on
// the live path. DATA an association hands back undelivered is sent again
// through another usable gateway association, not the one that failed.
// Counters.SentIngress and SentOther count the two ways. Checkpoints (ASAP
// cookies) still go to every gateway.
//
// Load, registered with the pool element, is the number of dialogues held
// over Config.Capacity (rserpool's load scale) rounded down to a whole
// number of Config.LoadStep steps; the element registers it again at once
// when it moves to another step. Finer values would reach the registrar
// only at re-registrations, each element's at another instant, and Least
// Used would then favour whichever element was idle at its last one.
//
// # Checkpoints and hand-over
//
// Dialogue.Checkpoint sends an ASAP Cookie (RFC 5352 message 0x0b, PPID 11)
// to every gateway on the M3UA association, on the stream the dialogue's
// DATA takes: its value is the transaction id followed by the opaque state.
// The end of a dialogue (End, Abort, timeout, either side) sends the cookie
// with an empty state, which tells the gateways to forget it. When a server
// goes, a gateway hands each of its dialogues whose continuation arrives to
// another live element with an ASAP Cookie Echo carrying that value, then
// the continuation on the same stream. The receiving server adopts the
// dialogue under its old transaction id (old tag), calls Handler.Resume with
// the state, and handles the continuation as usual. A duplicate echo for a
// dialogue already held is ignored and counted.
//
// # Traffic that is not a dialogue
//
// TCAP Unidirectional messages go to Handler.Unidirectional, SCCP that is
// not TCAP (UDTS, XUDTS, undecodable user data) to Handler.SCCP, and MTP3
// user data of another service indicator to Handler.MTP3.
//
// # Stopping
//
// Drain refuses new Begins (P-Abort, resource limitation), deregisters the
// element (the gateways then send new dialogues elsewhere and hand the next
// steps of this server's dialogues over by their checkpoints) and waits,
// within its context, until no dialogue awaits an answer from this server;
// Shutdown then takes the ASP down at every gateway (ASPIA, ASPDN, SCTP
// SHUTDOWN); Close aborts everything at once.
package asp
