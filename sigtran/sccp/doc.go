// Package sccp is the connectionless part of the Signalling Connection Control
// Part (ITU-T Q.713) that sigpool needs to route TCAP dialogues: the UDT,
// UDTS, XUDT and XUDTS messages and ITU-format called and calling party
// addresses.
//
// Decode is exact and allocation-free: it fills a caller's Message whose
// byte slices (global titles, user data, the XUDT optional part) alias the
// input. It rejects what Q.713 does not allow in these messages: unknown
// message types, protocol classes other than 0 and 1, spare message-handling
// values, pointers that are zero, point back into the fixed part, leave gaps
// or run past the end, parameters that overlap, addresses whose indicator
// does not match their contents, and octets left over after the last
// parameter. Every rejection is an error wrapping one of the Err values of
// this package. Decode never panics.
//
// Message.Append encodes with one-octet pointers, the parameters in the order
// of their pointers and no gaps, the layout every SCCP implementation emits;
// it checks the same rules as Decode, so what it writes decodes back to the
// same Message.
//
// Long messages (LUDT, LUDTS) and the connection-oriented classes are not
// supported; the ANSI address format (bit 8 of the address indicator set) is
// rejected.
//
// Layouts (octet offsets; P = one-octet pointer, relative to its own octet):
//
//	UDT   0x09 | class | P called | P calling | P data            | called | calling | data
//	UDTS  0x0a | cause | P called | P calling | P data            | called | calling | data
//	XUDT  0x11 | class | hops | P called | P calling | P data | P opt | ... | optional part
//	XUDTS 0x12 | cause | hops | P called | P calling | P data | P opt | ... | optional part
//
// Each variable part is a length octet followed by that many octets. The
// optional part is a sequence of (name, length, value) parameters ended by
// the end-of-optional-parameters octet 0x00; Message.Optional holds the
// parameters without that final octet, and Append adds it.
package sccp
