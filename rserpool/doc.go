// Package rserpool is the common core of Reliable Server Pooling (RSerPool)
// shared by the registrar (package enrp), the gateway's pool user and the
// application servers' pool elements.
//
// It holds, free of I/O, locks and clocks:
//
//   - the TLV parameters of RFC 5354 (addresses, transports, the pool member
//     selection policy, pool handle, pool element, server information,
//     operation error, cookie, PE identifier, PE checksum) and rsplib's Handle
//     Resolution Option, with the unrecognized-parameter action bits;
//   - the ASAP messages of RFC 5352 (types 0x01–0x0e) with their flags, and
//     the operation-error causes 0x0–0xa;
//   - the pool policies of RFC 5356 (round robin, weighted round robin,
//     random, weighted random, priority, least used, least used with
//     degradation, priority least used, randomized least used);
//   - the handlespace: pools by handle, pool elements by identifier, lifetime
//     expiry driven by the caller's clock, per-registrar ownership and the
//     16-bit PE checksum of RFC 5353, maintained incrementally.
//
// # Codecs
//
// Every wire type appends itself to a caller's buffer (AppendTo) so that
// buffers are reused, and every decoder works on a byte slice, never panics,
// allocates no more than a small multiple of its input, and rejects what the
// RFCs reject with an *Error whose Cause is the operation-error cause to
// answer with (and whose Silent flag says when the RFC wants the message
// dropped without an answer). Parameters are padded to 4 bytes on output;
// on input padding bytes are skipped whatever their value, and the padding of
// the last parameter of a message may be missing.
//
// # Selection
//
// Selection by policy happens at two places (RFC 5356, and the seeds): at the
// registrar, which answers a handle resolution with at most MaxHResItems
// elements, and at the pool user, which picks one element from its cache.
// Both use Pool.Select: a Handlespace serves as the registrar's handlespace
// and, fed with handle resolution responses and a stale-cache lifetime, as
// the pool user's cache. Each pool keeps its elements in a balanced search
// tree ordered by the policy's key (load, priority, round, sequence), so
// registration, update, deregistration and selection cost O(log n) in the
// size of the pool, and the handlespace's maps and expiry heap keep the rest
// O(1) or O(log N).
//
// Randomized policies draw from a caller-supplied *math/rand/v2.Rand, so
// tests and simulations are deterministic.
//
// # Pool element and pool user
//
// PE and PU are sans-I/O cores: methods take an input with "now" (a
// decoded or raw ASAP message from a registrar association or a session,
// an association that came up or went down, a timer that fired, a call of
// the application) and queue outputs that Ready returns in order: Dials
// and Closes of registrar associations, Sends (stream 0, PPID 11), timer
// operations and Events. Registrar associations are named by AssocID (the
// core chooses them), sessions by SessionID (the application chooses
// them).
//
// The PE hunts a registrar (static list, server announces when enabled),
// registers (T2, retries, then the next registrar), re-registers every T4
// and at once when its load moves by more than LoadStep under an adaptive
// policy, answers endpoint keep-alives, takes the sender of a keep-alive
// with the H flag as its new home, and deregisters on Stop (T3). On its
// sessions it sends cookies and business cards and reports cookie echoes.
//
// The PU resolves pool handles through its registrar with the Handle
// Resolution Option (MaxHResItems), caches the answer for the stale cache
// value (0: no cache) in a Handlespace, selects by the pool's policy,
// keeps the latest cookie and business card of each session, and on a
// session's failure reports the element (ENDPOINT_UNREACHABLE), keeps it
// out of its selections for FailedHold, picks the next element of the
// business card or selects a new one, and echoes the cookie to it.
//
// PEDriver and PUDriver run the cores over sctp.Transport: a loop
// goroutine per driver, one reader goroutine per association. A session's
// association carries ASAP (PPID 11) beside the application's protocol
// (M3UA, PPID 3); the driver's reader demultiplexes by PPID and hands the
// rest to a SessionHandler, while the other protocol sends on the
// association directly (see driver.go; Demux is the reader on its own).
//
// # Timers and limits
//
// Every value is a field of PEConfig, PUConfig, HuntConfig or
// DriverConfig; zero takes the default. sigpool's defaults are for a
// signalling LAN (round trips well under 10 ms, SCTP's telecom profile
// declaring a peer dead in under a second): a lost registrar or element
// must cost well under a second of selection, not RFC 5352's Internet
// minutes. RFC values are those of RFC 5352 section 5 as we read them;
// rsplib's are those of rsplib 3.4 (its ASAP instance and the LAB.md
// notes).
//
//	parameter                         sigpool            RFC 5352        rsplib             field
//	T1 handle resolution response     250 ms             15 s            3 s                PUConfig.Request
//	MAX-REQUEST-RETRANSMIT            2                  2               1 trial, no resend PEConfig/PUConfig.Retries
//	T2 registration response          500 ms             30 s            3 s                PEConfig.Registration
//	T3 deregistration response        500 ms             30 s            3 s                PEConfig.Deregistration
//	T4 re-registration interval       5 s                10 min          set by the app     PEConfig.Reregistration
//	registration life                 3 × T4 = 15 s      (> T4)          3 × T4             PEConfig.Life
//	load step for re-registration     5 % (LU etc.)      —               every change       PEConfig.LoadStep
//	T5 one registrar attempt          500 ms             120 s           7.5 s connect      HuntConfig.Timeout
//	hunt back-off after a round       100 ms doubling    —               —                  HuntConfig.BackoffMin
//	                                  to 2 s                                                HuntConfig.BackoffMax
//	server announces                  off                multicast       on (autoconfig)    HuntConfig.Announces
//	announced registrar forgotten     5 s                —               5 s                HuntConfig.AnnounceTimeout
//	announce group (UDP)              239.0.0.50:3863    (configured)    239.0.0.50:3863    AnnounceConfig.Group
//	MaxHResItems                      3                  (draft option)  3                  PUConfig.MaxHResItems
//	stale cache value                 0 (off)            —               per call           PUConfig.StaleCache
//	failed element kept out           5 s                —               —                  PUConfig.FailedHold
//	queued failure reports            64                 —               —                  PUConfig.MaxQueuedReports
//	blocked send to a registrar       1 s                —               —                  DriverConfig.SendTimeout
//	endpoint keep-alive interval (*)  1 s                —               5 s                DefaultEndpointKeepAlive
//	endpoint keep-alive timeout (*)   1 s                —               5 s                DefaultEndpointKeepAliveTimeout
//	MAX-BAD-PE-REPORT (*)             3                  3               3                  DefaultMaxBadPEReports
//
// (*) The registrar's side (package enrp): a PE only answers keep-alives,
// a PU only reports. The seeds' evaluation uses 1 s interval and 1 s
// timeout; with them a dead PE leaves the handlespace within about 2 s
// even when no PU reports it.
//
// Why these: T2 and T3 are fifty times a LAN round trip, so a registrar
// that does not answer is left after 1.5 s (three tries) rather than 90 s.
// T1 is shorter still because a PU waits on it for a dialogue. T4 of 5 s
// with a life of 15 s means a PE whose home registrar died unnoticed is
// still in the other registrars' handlespace for at most 15 s and is
// registered anew within one T5 round. The cache is off by default: the
// gateway's PU asks its in-process registrar, so a fresh answer costs
// nothing and least-used selection sees current loads; turn it on for a
// remote registrar.
package rserpool
