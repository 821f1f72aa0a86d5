// Package tcap is the transaction portion of TCAP (ITU-T Q.773, BER) that
// sigpool needs to route dialogues: the message kind, the originating and
// destination transaction ids, the P-Abort cause, and the dialogue and
// component portions kept as raw TLVs. A small component layer (Invoke,
// ReturnResult, ReturnError, Reject with local operation and error codes)
// lets a responder and a load generator speak without a full TCAP stack.
//
// Decode is exact and allocation-free; the raw portions it returns alias the
// input. It checks what Q.773 requires of the transaction portion: a known
// message type tag, definite BER lengths that add up exactly (nothing before
// or after an element, no octets after the message), transaction ids of 1 to
// 4 octets, and the elements each kind carries, in order:
//
//	Unidirectional 0x61  [dialogue 0x6b] components 0x6c
//	Begin          0x62  OTID 0x48 [dialogue 0x6b] [components 0x6c]
//	End            0x64  DTID 0x49 [dialogue 0x6b] [components 0x6c]
//	Continue       0x65  OTID 0x48 DTID 0x49 [dialogue 0x6b] [components 0x6c]
//	Abort          0x67  DTID 0x49 [P-Abort cause 0x4a | user abort dialogue 0x6b]
//
// Every rejection wraps one of ErrUnrecognizedType, ErrBadlyFormatted and
// ErrIncorrect, and PAbortCauseOf maps it to the P-Abort cause a TCAP peer
// answers with (unrecognizedMessageType, badlyFormattedTransactionPortion,
// incorrectTransactionPortion). Lengths use the short form, the long form of
// one or two octets, or (constructed elements only) the indefinite form
// ended by the end-of-contents octets 00 00, nested at most 32 deep.
//
// Append writes the minimal definite length encoding for the elements it
// builds and copies the dialogue and component portions as they are; it
// checks the same rules, so what it writes decodes back to the same Message.
package tcap
