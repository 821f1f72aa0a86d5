package sctp

// Byte fixtures built field by field from the linux/sctp.h (uapi) layouts,
// independently of the decoders' offset constants: offsets here are
// literal numbers taken from the header (checked by TestLayoutsMatchUAPI).

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

func snHeader(b []byte, typ uint16) []byte {
	binary.NativeEndian.PutUint16(b[0:], typ)
	binary.NativeEndian.PutUint16(b[2:], 0)
	binary.NativeEndian.PutUint32(b[4:], uint32(len(b)))
	return b
}

// struct sctp_assoc_change: type, flags, length, state u16 @8, error u16
// @10, outbound u16 @12, inbound u16 @14, assoc_id @16; 20 bytes.
func fixAssocChange(state, cause, out, in uint16) []byte {
	b := make([]byte, 20)
	binary.NativeEndian.PutUint16(b[8:], state)
	binary.NativeEndian.PutUint16(b[10:], cause)
	binary.NativeEndian.PutUint16(b[12:], out)
	binary.NativeEndian.PutUint16(b[14:], in)
	binary.NativeEndian.PutUint32(b[16:], 7)
	return snHeader(b, 0x8001)
}

// fixSockaddr is a sockaddr_in / sockaddr_in6 in a 128-byte storage.
func fixSockaddr(ip netip.Addr, port uint16) []byte {
	b := make([]byte, 128)
	if ip.Is4() {
		binary.NativeEndian.PutUint16(b[0:], unix.AF_INET)
		binary.BigEndian.PutUint16(b[2:], port)
		a := ip.As4()
		copy(b[4:], a[:])
	} else {
		binary.NativeEndian.PutUint16(b[0:], unix.AF_INET6)
		binary.BigEndian.PutUint16(b[2:], port)
		a := ip.As16()
		copy(b[8:], a[:])
	}
	return b
}

// struct sctp_paddr_change (packed): header, spc_aaddr @8 (128), state
// int @136, error int @140, assoc_id @144; 148 bytes.
func fixPaddrChange(ip netip.Addr, state, cause int32) []byte {
	b := make([]byte, 148)
	copy(b[8:], fixSockaddr(ip, 2905))
	binary.NativeEndian.PutUint32(b[136:], uint32(state))
	binary.NativeEndian.PutUint32(b[140:], uint32(cause))
	binary.NativeEndian.PutUint32(b[144:], 7)
	return snHeader(b, 0x8002)
}

// struct sctp_send_failed_event: header, error u32 @8, sctp_sndinfo @12
// (sid u16, flags u16, ppid u32 as on the wire, context, assoc_id),
// assoc_id @28, data @32.
func fixSendFailedEvent(cause uint32, sid, flags uint16, ppidWire uint32, data []byte) []byte {
	b := make([]byte, 32+len(data))
	binary.NativeEndian.PutUint32(b[8:], cause)
	binary.NativeEndian.PutUint16(b[12:], sid)
	binary.NativeEndian.PutUint16(b[14:], flags)
	binary.BigEndian.PutUint32(b[16:], ppidWire)
	copy(b[32:], data)
	return snHeader(b, 0x800d)
}

// struct sctp_send_failed (old form): header, error @8, sctp_sndrcvinfo
// @12 (stream u16, ssn u16, flags u16, pad, ppid u32 @+8, ...; 32 bytes),
// assoc_id @44, data @48.
func fixSendFailed(cause uint32, sid, flags uint16, ppidWire uint32, data []byte) []byte {
	b := make([]byte, 48+len(data))
	binary.NativeEndian.PutUint32(b[8:], cause)
	binary.NativeEndian.PutUint16(b[12:], sid)
	binary.NativeEndian.PutUint16(b[16:], flags)
	binary.BigEndian.PutUint32(b[20:], ppidWire)
	copy(b[48:], data)
	return snHeader(b, 0x8003)
}

// struct sctp_shutdown_event: header, assoc_id @8; 12 bytes.
func fixShutdown() []byte { return snHeader(make([]byte, 12), 0x8005) }

// struct sctp_pdapi_event: header, indication u32 @8, assoc_id @12,
// stream @16, seq @20; 24 bytes. Indication 0 is
// SCTP_PARTIAL_DELIVERY_ABORTED.
func fixPDAbort() []byte { return snHeader(make([]byte, 24), 0x8006) }

// fixRcvInfoCmsg is a control message SCTP_RCVINFO (type 3, level
// IPPROTO_SCTP): sid u16 @0, ssn @2, flags @4, pad, ppid @8 (wire order),
// tsn, cumtsn, context, assoc_id; 28 bytes.
func fixRcvInfoCmsg(sid, flags uint16, ppidWire uint32) []byte {
	b := make([]byte, unix.CmsgSpace(28))
	binary.NativeEndian.PutUint64(b[0:], uint64(unix.CmsgLen(28)))
	binary.NativeEndian.PutUint32(b[8:], unix.IPPROTO_SCTP)
	binary.NativeEndian.PutUint32(b[12:], 3)
	d := b[unix.CmsgLen(0):]
	binary.NativeEndian.PutUint16(d[0:], sid)
	binary.NativeEndian.PutUint16(d[4:], flags)
	binary.BigEndian.PutUint32(d[8:], ppidWire)
	return b
}

// fixOtherCmsg is an unrelated control message (SOL_SOCKET, type 99).
func fixOtherCmsg() []byte {
	b := make([]byte, unix.CmsgSpace(4))
	binary.NativeEndian.PutUint64(b[0:], uint64(unix.CmsgLen(4)))
	binary.NativeEndian.PutUint32(b[8:], unix.SOL_SOCKET)
	binary.NativeEndian.PutUint32(b[12:], 99)
	return b
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
