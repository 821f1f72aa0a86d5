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
package rserpool
