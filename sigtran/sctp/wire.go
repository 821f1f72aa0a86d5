package sctp

// This file holds the byte layouts the kernel exchanges with us: socket
// option structures, ancillary data (cmsg) and notifications. Every offset
// below was checked against linux/sctp.h (uapi) with a C program
// (testdata/uapi_layout.c, run by TestLayoutsMatchUAPI when a C compiler is
// present). Structures are encoded field by field into byte slices rather
// than mapped onto Go structs: several of them are
// __attribute__((packed, aligned(4))) and contain a 128-byte
// sockaddr_storage, which Go struct layout cannot express.
//
// Kernel integers are in host order (binary.NativeEndian). Two exceptions:
// ports inside sockaddrs are big endian, and the payload protocol identifier
// is copied by the kernel verbatim between the user's structure and the
// DATA chunk, so we keep it big endian in memory to put it on the wire in
// network order (RFC 9260 section 3.3.1).

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"

	lksctp "github.com/ishidawataru/sctp"
	"golang.org/x/sys/unix"
)

var ne = binary.NativeEndian

// Socket option numbers (linux/sctp.h). Those github.com/ishidawataru/sctp
// defines are taken from there; the rest are defined here.
const (
	solSCTP = lksctp.SOL_SCTP

	optRTOInfo        = lksctp.SCTP_RTOINFO
	optAssocInfo      = lksctp.SCTP_ASSOCINFO
	optInitMsg        = lksctp.SCTP_INITMSG
	optNoDelay        = lksctp.SCTP_NODELAY
	optPrimaryAddr    = lksctp.SCTP_PRIMARY_ADDR
	optPeerAddrParams = lksctp.SCTP_PEER_ADDR_PARAMS
	optEvents         = lksctp.SCTP_EVENTS
	optStatus         = lksctp.SCTP_STATUS
	optPeerAddrInfo   = lksctp.SCTP_GET_PEER_ADDR_INFO
	optDelayedSack    = lksctp.SCTP_DELAYED_SACK
	optGetPeerAddrs   = lksctp.SCTP_GET_PEER_ADDRS
	optGetLocalAddrs  = lksctp.SCTP_GET_LOCAL_ADDRS
	optPeerAddrThlds  = 31  // SCTP_PEER_ADDR_THLDS
	optRecvRcvInfo    = 32  // SCTP_RECVRCVINFO
	optEvent          = 127 // SCTP_EVENT
	optExposePF       = 131 // SCTP_EXPOSE_POTENTIALLY_FAILED_STATE
	optAssocStats     = 112 // SCTP_GET_ASSOC_STATS

	msgNotification = lksctp.MSG_NOTIFICATION

	cmsgSndInfo = lksctp.SCTP_CMSG_SNDINFO // SCTP_SNDINFO
	cmsgRcvInfo = lksctp.SCTP_CMSG_RCVINFO // SCTP_RCVINFO

	flagUnordered = lksctp.SCTP_UNORDERED

	pfExposeEnable = 2 // SCTP_PF_EXPOSE_ENABLE
)

// Notification types (enum sctp_sn_type).
const (
	snAssocChange     = uint16(lksctp.SCTP_ASSOC_CHANGE)     // 0x8001
	snPeerAddrChange  = uint16(lksctp.SCTP_PEER_ADDR_CHANGE) // 0x8002
	snSendFailed      = uint16(lksctp.SCTP_SEND_FAILED)      // 0x8003
	snRemoteError     = uint16(lksctp.SCTP_REMOTE_ERROR)     // 0x8004
	snShutdown        = uint16(lksctp.SCTP_SHUTDOWN_EVENT)   // 0x8005
	snPartialDelivery = uint16(lksctp.SCTP_PARTIAL_DELIVERY_EVENT)
	snSendFailedEvent = uint16(0x800d) // SCTP_SEND_FAILED_EVENT
)

// enum sctp_sac_state
const (
	sacCommUp = iota
	sacCommLost
	sacRestart
	sacShutdownComp
	sacCantStrAssoc
)

// enum sctp_spc_state
const (
	spcAddrAvailable = iota
	spcAddrUnreachable
	spcAddrRemoved
	spcAddrAdded
	spcAddrMadePrim
	spcAddrConfirmed
	spcAddrPotentiallyFailed
)

// enum sctp_spinfo_state. Note: github.com/ishidawataru/sctp's PeerState
// constants (UNCONFIRMED=0, ACTIVE=1, INACTIVE=2) follow RFC 6458's
// example, not Linux; these are Linux's.
const (
	spinfoInactive    = 0
	spinfoPF          = 1
	spinfoActive      = 2
	spinfoUnconfirmed = 3
)

// Structure sizes and offsets (x86-64 and every other Linux ABI with a
// 4-byte int and 8-aligned sockaddr_storage).
const (
	sockaddrStorageLen = 128

	sizeInitMsg     = 8
	sizeRTOInfo     = 16
	sizeAssocParams = 20
	sizeSackInfo    = 12
	sizeAssocValue  = 8
	sizeEvent       = 8
	sizeEventSubscr = 14

	// struct sctp_paddrparams, packed, aligned(4)
	sizePaddrParams     = 156
	offPPAddress        = 4
	offPPHBInterval     = 132
	offPPPathMaxRxt     = 136
	offPPPathMTU        = 138
	offPPSackDelay      = 142
	offPPFlags          = 146
	sppHBEnable         = 1 << 0
	sppSackDelayEnable  = 1 << 5
	sppSackDelayDisable = 1 << 6

	// struct sctp_paddrthlds (not packed: the sockaddr_storage is 8-aligned)
	sizePaddrThlds  = 144
	offPTAddress    = 8
	offPTPathMaxRxt = 136
	offPTPFThld     = 138

	// struct sctp_paddrinfo, packed, aligned(4)
	sizePaddrInfo = 152
	offPIAddress  = 4
	offPIState    = 132
	offPICwnd     = 136
	offPISRTT     = 140
	offPIRTO      = 144
	offPIMTU      = 148

	// struct sctp_assoc_stats (not packed: the sockaddr_storage is 8-aligned)
	sizeAssocStats  = 256
	offASObsRTOAddr = 8
	offASMaxRTO     = 136
	offASISacks     = 144
	offASOSacks     = 152
	offASOPackets   = 160
	offASIPackets   = 168
	offASRtxChunks  = 176
	offASOutOfSeq   = 184
	offASIDupChunks = 192
	offASGapCnt     = 200
	offASOUOChunks  = 208
	offASIUOChunks  = 216
	offASOOChunks   = 224
	offASIOChunks   = 232
	offASOCtrl      = 240
	offASICtrl      = 248

	// struct sctp_status
	sizeStatus    = 176
	offSTState    = 4
	offSTRwnd     = 8
	offSTUnacked  = 12
	offSTPending  = 14
	offSTIn       = 16
	offSTOut      = 18
	offSTFragPt   = 20
	offSTPrimary  = 24
	sizePrim      = 132 // struct sctp_prim, packed
	offPrimAddr   = 4
	sizeGetAddrs  = 8 // struct sctp_getaddrs header
	sizeSndInfo   = 16
	sizeRcvInfo   = 28
	sizeSndRcv    = 32
	offRcvPPID    = 8
	offSndPPID    = 4
	offSndRcvPPID = 8

	// notifications
	sizeSnHeader        = 8
	sizeAssocChange     = 20
	sizePaddrChange     = 148
	offPCAddr           = 8
	offPCState          = 136
	offPCError          = 140
	sizeSendFailedEvent = 32
	sizeSendFailed      = 48
	sizeShutdownEvent   = 12
	sizePDAPIEvent      = 24
)

var errMalformed = errors.New("sctp: malformed notification")

// putSockaddr writes ip:port as a sockaddr_in (IPv4, including IPv4-mapped
// IPv6) or sockaddr_in6 at the start of b, which must hold 28 bytes. IPv4
// peers are always written as AF_INET: Linux stores them so, and looks
// transports up by exact family.
func putSockaddr(b []byte, ip netip.Addr, port uint16) {
	clear(b[:28])
	ip = ip.Unmap()
	if ip.Is4() {
		ne.PutUint16(b[0:2], unix.AF_INET)
		binary.BigEndian.PutUint16(b[2:4], port)
		a := ip.As4()
		copy(b[4:8], a[:])
		return
	}
	ne.PutUint16(b[0:2], unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:4], port)
	a := ip.As16()
	copy(b[8:24], a[:])
	// Zone names are not resolved to scope ids here: link-local peers are
	// not a use case of this layer.
}

// parseSockaddr reads a sockaddr_in or sockaddr_in6 and returns the
// address (IPv4-mapped addresses unmapped), the port and the size of the
// sockaddr, or ok=false.
func parseSockaddr(b []byte) (ip netip.Addr, port uint16, size int, ok bool) {
	if len(b) < 2 {
		return netip.Addr{}, 0, 0, false
	}
	switch ne.Uint16(b[0:2]) {
	case unix.AF_INET:
		if len(b) < unix.SizeofSockaddrInet4 {
			return netip.Addr{}, 0, 0, false
		}
		return netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:4]), unix.SizeofSockaddrInet4, true
	case unix.AF_INET6:
		if len(b) < unix.SizeofSockaddrInet6 {
			return netip.Addr{}, 0, 0, false
		}
		return netip.AddrFrom16([16]byte(b[8:24])).Unmap(), binary.BigEndian.Uint16(b[2:4]), unix.SizeofSockaddrInet6, true
	}
	return netip.Addr{}, 0, 0, false
}

// parseGetAddrs decodes the result of SCTP_GET_PEER_ADDRS or
// SCTP_GET_LOCAL_ADDRS: a struct sctp_getaddrs followed by addr_num packed
// sockaddrs, each sized by its own family (a socket can hold both).
func parseGetAddrs(b []byte) (Addr, bool) {
	if len(b) < sizeGetAddrs {
		return Addr{}, false
	}
	n := int(ne.Uint32(b[4:8]))
	b = b[sizeGetAddrs:]
	var a Addr
	for i := 0; i < n; i++ {
		ip, port, size, ok := parseSockaddr(b)
		if !ok {
			return Addr{}, false
		}
		a.IPs = append(a.IPs, ip)
		a.Port = port
		b = b[size:]
	}
	return a, true
}

// cmsgHdrLen is the aligned size of struct cmsghdr; cmsg data starts there.
var cmsgHdrLen = unix.CmsgLen(0)

// sndInfoSpace is the buffer size of one SCTP_SNDINFO control message.
var sndInfoSpace = unix.CmsgSpace(sizeSndInfo)

// putCmsgHeader writes a struct cmsghdr at the start of b.
func putCmsgHeader(b []byte, level, typ int32, dataLen int) {
	l := uint64(unix.CmsgLen(dataLen))
	if unix.SizeofCmsghdr == 16 {
		ne.PutUint64(b[0:8], l)
		ne.PutUint32(b[8:12], uint32(level))
		ne.PutUint32(b[12:16], uint32(typ))
	} else {
		ne.PutUint32(b[0:4], uint32(l))
		ne.PutUint32(b[4:8], uint32(level))
		ne.PutUint32(b[8:12], uint32(typ))
	}
}

// putSndInfo fills b (sndInfoSpace bytes) with an SCTP_SNDINFO control
// message for m.
func putSndInfo(b []byte, stream uint16, ppid uint32, unordered bool) {
	putCmsgHeader(b, unix.IPPROTO_SCTP, cmsgSndInfo, sizeSndInfo)
	d := b[cmsgHdrLen : cmsgHdrLen+sizeSndInfo]
	ne.PutUint16(d[0:2], stream)
	var flags uint16
	if unordered {
		flags |= flagUnordered
	}
	ne.PutUint16(d[2:4], flags)
	binary.BigEndian.PutUint32(d[offSndPPID:offSndPPID+4], ppid)
	ne.PutUint32(d[8:12], 0)  // snd_context
	ne.PutUint32(d[12:16], 0) // snd_assoc_id: ignored on one-to-one sockets
}

// rcvInfo is what we keep of struct sctp_rcvinfo.
type rcvInfo struct {
	stream    uint16
	ppid      uint32
	unordered bool
}

// parseRcvInfo scans control messages for SCTP_RCVINFO (or SCTP_SNDRCV, in
// case a peer library enabled that instead). It does not allocate.
func parseRcvInfo(oob []byte, ri *rcvInfo) bool {
	for len(oob) >= cmsgHdrLen {
		var l uint64
		var level, typ int32
		if unix.SizeofCmsghdr == 16 {
			l = ne.Uint64(oob[0:8])
			level = int32(ne.Uint32(oob[8:12]))
			typ = int32(ne.Uint32(oob[12:16]))
		} else {
			l = uint64(ne.Uint32(oob[0:4]))
			level = int32(ne.Uint32(oob[4:8]))
			typ = int32(ne.Uint32(oob[8:12]))
		}
		if l < uint64(cmsgHdrLen) || l > uint64(len(oob)) {
			return false
		}
		data := oob[cmsgHdrLen:l]
		if level == unix.IPPROTO_SCTP {
			switch {
			case typ == cmsgRcvInfo && len(data) >= sizeRcvInfo:
				ri.stream = ne.Uint16(data[0:2])
				ri.unordered = ne.Uint16(data[4:6])&flagUnordered != 0
				ri.ppid = binary.BigEndian.Uint32(data[offRcvPPID : offRcvPPID+4])
				return true
			case typ == lksctp.SCTP_CMSG_SNDRCV && len(data) >= sizeSndRcv:
				ri.stream = ne.Uint16(data[0:2])
				ri.unordered = ne.Uint16(data[4:6])&flagUnordered != 0
				ri.ppid = binary.BigEndian.Uint32(data[offSndRcvPPID : offSndRcvPPID+4])
				return true
			}
		}
		next := unix.CmsgSpace(int(l) - cmsgHdrLen)
		if next > len(oob) {
			return false
		}
		oob = oob[next:]
	}
	return false
}

// notification is a decoded kernel notification.
type notification struct {
	typ uint16
	// deliver says whether ev is reported to the user.
	deliver bool
	ev      Event
	// pdAborted: a partial delivery was aborted; the partly read message
	// must be dropped.
	pdAborted bool
	// shutdownComp marks the SCTP_SHUTDOWN_COMP association change.
	shutdownComp bool
}

// parseNotification decodes one whole notification (the bytes recvmsg
// returned with MSG_NOTIFICATION, up to MSG_EOR). It never panics on any
// input; malformed input yields errMalformed. Unsent message data is copied,
// so n does not alias b.
func parseNotification(b []byte, n *notification) error {
	*n = notification{}
	if len(b) < sizeSnHeader {
		return errMalformed
	}
	n.typ = ne.Uint16(b[0:2])
	length := ne.Uint32(b[4:8])
	if length < sizeSnHeader || uint64(length) > uint64(len(b)) {
		return errMalformed
	}
	b = b[:length]
	switch n.typ {
	case snAssocChange:
		if len(b) < sizeAssocChange {
			return errMalformed
		}
		state := ne.Uint16(b[8:10])
		n.ev.Error = uint32(ne.Uint16(b[10:12]))
		n.ev.OutStreams = ne.Uint16(b[12:14])
		n.ev.InStreams = ne.Uint16(b[14:16])
		n.deliver = true
		switch state {
		case sacCommUp:
			n.ev.Kind = EventCommUp
		case sacCommLost:
			n.ev.Kind = EventCommLost
		case sacRestart:
			n.ev.Kind = EventRestart
		case sacShutdownComp:
			n.ev.Kind = EventShutdown
			n.shutdownComp = true
		case sacCantStrAssoc:
			n.ev.Kind = EventCantStart
		default:
			n.deliver = false
		}
		if n.ev.Kind != EventCommUp && n.ev.Kind != EventRestart {
			n.ev.InStreams, n.ev.OutStreams = 0, 0
		}
	case snPeerAddrChange:
		if len(b) < sizePaddrChange {
			return errMalformed
		}
		ip, _, _, ok := parseSockaddr(b[offPCAddr : offPCAddr+sockaddrStorageLen])
		if !ok {
			return errMalformed
		}
		n.ev.Addr = ip
		n.ev.Error = ne.Uint32(b[offPCError : offPCError+4])
		n.deliver = true
		switch int32(ne.Uint32(b[offPCState : offPCState+4])) {
		case spcAddrAvailable, spcAddrConfirmed:
			n.ev.Kind = EventAddrAvailable
		case spcAddrUnreachable:
			n.ev.Kind = EventAddrUnreachable
		case spcAddrRemoved:
			n.ev.Kind = EventAddrRemoved
		case spcAddrAdded:
			n.ev.Kind = EventAddrAdded
		case spcAddrMadePrim:
			n.ev.Kind = EventAddrMadePrimary
		case spcAddrPotentiallyFailed:
			n.ev.Kind = EventAddrPotentiallyFailed
		default:
			n.deliver = false
		}
	case snSendFailedEvent:
		if len(b) < sizeSendFailedEvent {
			return errMalformed
		}
		n.ev.Kind = EventSendFailed
		n.ev.Error = ne.Uint32(b[8:12])
		info := b[12 : 12+sizeSndInfo]
		n.ev.Unsent = &Message{
			Stream:    ne.Uint16(info[0:2]),
			Unordered: ne.Uint16(info[2:4])&flagUnordered != 0,
			PPID:      binary.BigEndian.Uint32(info[offSndPPID : offSndPPID+4]),
			Data:      append([]byte(nil), b[sizeSendFailedEvent:]...),
		}
		n.deliver = true
	case snSendFailed:
		if len(b) < sizeSendFailed {
			return errMalformed
		}
		n.ev.Kind = EventSendFailed
		n.ev.Error = ne.Uint32(b[8:12])
		info := b[12 : 12+sizeSndRcv]
		n.ev.Unsent = &Message{
			Stream:    ne.Uint16(info[0:2]),
			Unordered: ne.Uint16(info[4:6])&flagUnordered != 0,
			PPID:      binary.BigEndian.Uint32(info[offSndRcvPPID : offSndRcvPPID+4]),
			Data:      append([]byte(nil), b[sizeSendFailed:]...),
		}
		n.deliver = true
	case snShutdown:
		if len(b) < sizeShutdownEvent {
			return errMalformed
		}
		n.ev.Kind = EventShutdown
		n.deliver = true
	case snPartialDelivery:
		if len(b) < sizePDAPIEvent {
			return errMalformed
		}
		n.pdAborted = ne.Uint32(b[8:12]) == 0 // SCTP_PARTIAL_DELIVERY_ABORTED
	default:
		// Remote errors, adaptation, authentication, sender-dry, stream
		// reset: not subscribed, and no Event kind for them. Ignored.
	}
	return nil
}

// pathState maps spinfo_state.
func pathState(s int32) PathState {
	switch s {
	case spinfoInactive:
		return PathInactive
	case spinfoPF:
		return PathPotentiallyFailed
	case spinfoActive:
		return PathActive
	}
	return PathUnconfirmed
}

// assocStateNames are enum sctp_sstat_state (Linux numbering, which differs
// from github.com/ishidawataru/sctp's StatusState).
var assocStateNames = [...]string{
	"empty", "closed", "cookie-wait", "cookie-echoed", "established",
	"shutdown-pending", "shutdown-sent", "shutdown-received", "shutdown-ack-sent",
}

func assocStateName(s int32) string {
	if s >= 0 && int(s) < len(assocStateNames) {
		return assocStateNames[s]
	}
	return "unknown"
}

// parseAssocStats reads a struct sctp_assoc_stats. sas_maxrto is in
// milliseconds.
func parseAssocStats(b []byte) (Stats, bool) {
	if len(b) < sizeAssocStats {
		return Stats{}, false
	}
	u := func(off int) uint64 { return ne.Uint64(b[off:]) }
	st := Stats{
		RetransmittedChunks: u(offASRtxChunks),
		PacketsOut:          u(offASOPackets),
		PacketsIn:           u(offASIPackets),
		UnorderedOut:        u(offASOUOChunks),
		UnorderedIn:         u(offASIUOChunks),
		DataChunksOut:       u(offASOUOChunks) + u(offASOOChunks),
		DataChunksIn:        u(offASIUOChunks) + u(offASIOChunks),
		ControlChunksOut:    u(offASOCtrl),
		ControlChunksIn:     u(offASICtrl),
		SACKsOut:            u(offASOSacks),
		SACKsIn:             u(offASISacks),
		GapAcksIn:           u(offASGapCnt),
		OutOfSequenceTSNs:   u(offASOutOfSeq),
		DuplicateChunksIn:   u(offASIDupChunks),
		MaxRTO:              time.Duration(min(u(offASMaxRTO), uint64(1<<62)/uint64(time.Millisecond))) * time.Millisecond,
	}
	if st.MaxRTO > 0 {
		if ip, _, _, ok := parseSockaddr(b[offASObsRTOAddr : offASObsRTOAddr+sockaddrStorageLen]); ok {
			st.MaxRTOPeer = ip
		}
	}
	return st, true
}
