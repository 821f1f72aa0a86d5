// Package m3ua is the M3UA conformance and interoperability suite of
// sigpool. Its tests are named after the test purposes of ETSI TS 102 381
// (M3UA_SGP_ASPSM_V_001, M3UA_ASP_MTR_I_002, ...): each one is a scripted
// raw M3UA peer that sends exact bytes on exact streams and asserts the
// exact messages and parameters sigtran/m3ua's SGP (m3ua.Server) or ASP
// (m3ua.Client) answers with. The IPSP purposes (M3UA_IPSP_SE_... for the
// single exchange, M3UA_IPSP_DE_... for the double exchange, RFC 4666
// 4.3.3) run m3ua.Server and m3ua.Client in IPSP mode against a raw IPSP.
//
// The suite runs natively over sctptest (go test ./conformance/m3ua) for
// fast iteration, and over kernel SCTP between netlab hosts in the lab
// (bin/siglab test ./conformance/m3ua), which is the run that counts. The
// lab run also brings osmo-stp up against our ASP and our SGP and has
// tshark check the captured M3UA.
//
// The numbering inside each group is this suite's own: the TP list of
// TS 102 381 was not at hand, so every test states the purpose it checks,
// derived from RFC 4666 (V: valid behaviour, I: invalid behaviour).
package m3ua
