package sctp

import (
	"fmt"
	"time"
)

// sockopt is one SOL_SCTP socket option value to set.
type sockopt struct {
	name string
	opt  int
	val  []byte
	// optional: the option may be missing on older kernels (ENOPROTOOPT
	// and EINVAL are ignored).
	optional bool
}

// millis converts d to whole milliseconds, rounding a positive sub-
// millisecond value up to 1 so that it is not taken as "keep".
func millis(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(ms)
}

// endpointOptions converts t into the socket options set on every socket
// before bind/listen/connect. Zero fields keep the kernel's value. Accepted
// sockets inherit them from their listener.
func endpointOptions(t Tuning) ([]sockopt, error) {
	if t.SackDelay > 500*time.Millisecond {
		return nil, fmt.Errorf("sctp: tuning %q: SACK delay %v above the 500 ms the kernel accepts", t.Name, t.SackDelay)
	}
	if t.InitMaxTimeout > 65535*time.Millisecond {
		return nil, fmt.Errorf("sctp: tuning %q: INIT max timeout %v does not fit sinit_max_init_timeo (65535 ms)", t.Name, t.InitMaxTimeout)
	}
	if t.PathMaxRetrans < 0 || t.PathMaxRetrans > 65535 || t.AssocMaxRetrans < 0 || t.AssocMaxRetrans > 65535 || t.InitMaxAttempts < 0 || t.InitMaxAttempts > 65535 {
		return nil, fmt.Errorf("sctp: tuning %q: retransmission counts must be in 0..65535", t.Name)
	}
	if t.RTOMin != 0 && t.RTOMax != 0 && t.RTOMin > t.RTOMax {
		return nil, fmt.Errorf("sctp: tuning %q: RTO min %v above RTO max %v", t.Name, t.RTOMin, t.RTOMax)
	}
	var opts []sockopt

	if t.RTOInitial != 0 || t.RTOMin != 0 || t.RTOMax != 0 {
		// struct sctp_rtoinfo: assoc_id, initial, max, min (this order).
		b := make([]byte, sizeRTOInfo)
		ne.PutUint32(b[4:8], millis(t.RTOInitial))
		ne.PutUint32(b[8:12], millis(t.RTOMax))
		ne.PutUint32(b[12:16], millis(t.RTOMin))
		opts = append(opts, sockopt{name: "SCTP_RTOINFO", opt: optRTOInfo, val: b})
	}
	if t.AssocMaxRetrans != 0 {
		b := make([]byte, sizeAssocParams)
		ne.PutUint16(b[4:6], uint16(t.AssocMaxRetrans))
		opts = append(opts, sockopt{name: "SCTP_ASSOCINFO", opt: optAssocInfo, val: b})
	}
	if t.HeartbeatInterval != 0 || t.PathMaxRetrans != 0 {
		b := make([]byte, sizePaddrParams)
		// A zeroed spp_address is the wildcard: the endpoint default.
		ne.PutUint32(b[offPPHBInterval:], millis(t.HeartbeatInterval))
		ne.PutUint16(b[offPPPathMaxRxt:], uint16(t.PathMaxRetrans))
		var flags uint32
		if t.HeartbeatInterval != 0 {
			flags |= sppHBEnable
		}
		ne.PutUint32(b[offPPFlags:], flags)
		opts = append(opts, sockopt{name: "SCTP_PEER_ADDR_PARAMS", opt: optPeerAddrParams, val: b})
	}
	if t.OutStreams != 0 || t.MaxInStreams != 0 || t.InitMaxAttempts != 0 || t.InitMaxTimeout != 0 {
		b := make([]byte, sizeInitMsg)
		ne.PutUint16(b[0:2], t.OutStreams)
		ne.PutUint16(b[2:4], t.MaxInStreams)
		ne.PutUint16(b[4:6], uint16(t.InitMaxAttempts))
		ne.PutUint16(b[6:8], uint16(millis(t.InitMaxTimeout)))
		opts = append(opts, sockopt{name: "SCTP_INITMSG", opt: optInitMsg, val: b})
	}
	if t.SackDelay != 0 {
		b := make([]byte, sizeSackInfo)
		ne.PutUint32(b[4:8], millis(t.SackDelay))
		opts = append(opts, sockopt{name: "SCTP_DELAYED_SACK", opt: optDelayedSack, val: b})
	}
	if t.NoDelay {
		b := make([]byte, 4)
		ne.PutUint32(b, 1)
		opts = append(opts, sockopt{name: "SCTP_NODELAY", opt: optNoDelay, val: b})
	}

	// Potentially-failed handling (RFC 7829): a path whose error count
	// exceeds pf threshold 0 (its first T3-rtx or heartbeat expiry) stops
	// carrying data while an alternate path is active. The kernel needs
	// pf threshold < path max retrans for this to apply.
	b := make([]byte, sizePaddrThlds)
	ne.PutUint16(b[offPTPathMaxRxt:], uint16(t.PathMaxRetrans))
	ne.PutUint16(b[offPTPFThld:], 0)
	opts = append(opts, sockopt{name: "SCTP_PEER_ADDR_THLDS", opt: optPeerAddrThlds, val: b, optional: true})
	// Report PF transitions (SCTP_ADDR_POTENTIALLY_FAILED) and the PF
	// state in SCTP_GET_PEER_ADDR_INFO (kernel 5.8+).
	b = make([]byte, sizeAssocValue)
	ne.PutUint32(b[4:8], pfExposeEnable)
	opts = append(opts, sockopt{name: "SCTP_EXPOSE_POTENTIALLY_FAILED_STATE", opt: optExposePF, val: b, optional: true})
	return opts, nil
}

// subscribedEvents are the notifications every association subscribes to.
var subscribedEvents = [...]uint16{
	snAssocChange,
	snPeerAddrChange,
	snSendFailedEvent,
	snShutdown,
	snPartialDelivery,
}

// eventOption is struct sctp_event{assoc 0, type, on}.
func eventOption(typ uint16, on bool) []byte {
	b := make([]byte, sizeEvent)
	ne.PutUint16(b[4:6], typ)
	if on {
		b[6] = 1
	}
	return b
}

// eventsFallback is struct sctp_event_subscribe for kernels without
// SCTP_EVENT (before 5.0): association, address, send failure (the old
// SCTP_SEND_FAILED form), shutdown and partial delivery.
func eventsFallback() []byte {
	b := make([]byte, sizeEventSubscr)
	b[1] = 1 // association
	b[2] = 1 // address
	b[3] = 1 // send failure
	b[5] = 1 // shutdown
	b[6] = 1 // partial delivery
	return b
}

// Bounds computes the failure-detection bounds of t, as upper bounds under
// the Linux timer rules, with potentially-failed handling at threshold 0 as
// this package configures it. All durations of t must be set (a profile).
//
// Heartbeats: Linux sends the next HEARTBEAT on a path
// max(HB.interval + RTO/2, 200 ms) + rand[0, RTO) after the last one
// (RFC 9260 section 8.3's "RTO + HB.interval, with jitter of +/- 50% of
// RTO", plus a 200 ms floor); in the potentially-failed state the
// HB.interval term is left out. An unanswered HEARTBEAT is counted as an
// error only when the next one is sent. Expiries count against
// Path.Max.Retrans (path inactive when exceeded) and
// Association.Max.Retrans (association lost when reached at the next
// expiry).
//
// The profiles side by side (TUNING.md has the derivation):
//
//	bound         telecom   rfc
//	PathSwitch    150 ms    60 s
//	PathDown      1.2 s     600 s
//	PathDownIdle  1.4 s     690 s
//	PeerDead      750 ms    660 s
//	PeerDeadIdle  2.1 s     1290 s
func (t Tuning) Bounds() Bounds {
	ms200 := 200 * time.Millisecond
	// The longest heartbeat interval on an active (or inactive) path, and
	// on a potentially-failed one, at RTO = RTO.Max.
	hb := max(t.HeartbeatInterval+t.RTOMax/2, ms200) + t.RTOMax
	hbPF := max(t.RTOMax/2, ms200) + t.RTOMax
	pmr := time.Duration(t.PathMaxRetrans)
	amr := time.Duration(t.AssocMaxRetrans)
	// Expiries after the path entered PF, before it is inactive; the rest
	// up to the association limit happen on an inactive path.
	pfExpiries := min(pmr, amr)
	inactiveExpiries := max(amr-pmr, 0)
	return Bounds{
		PathSwitch:   t.RTOMax,
		PathDown:     t.RTOMax + (pmr+1)*hbPF,
		PathDownIdle: 2*hb + pmr*hbPF,
		PeerDead:     (amr + 1) * t.RTOMax,
		PeerDeadIdle: 2*hb + pfExpiries*hbPF + inactiveExpiries*hb,
	}
}
