package sctp

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// goLayout is what this package assumes of linux/sctp.h, by the names
// testdata/uapi_layout.c prints.
var goLayout = map[string]int{
	"size.sctp_initmsg": sizeInitMsg, "size.sctp_rtoinfo": sizeRTOInfo,
	"off.sctp_rtoinfo.srto_initial": 4, "off.sctp_rtoinfo.srto_max": 8, "off.sctp_rtoinfo.srto_min": 12,
	"size.sctp_assocparams": sizeAssocParams, "off.sctp_assocparams.sasoc_asocmaxrxt": 4,
	"size.sctp_sack_info": sizeSackInfo, "size.sctp_assoc_value": sizeAssocValue,
	"size.sctp_event": sizeEvent, "size.sctp_event_subscribe": sizeEventSubscr,
	"size.sctp_paddrparams": sizePaddrParams, "off.sctp_paddrparams.spp_address": offPPAddress,
	"off.sctp_paddrparams.spp_hbinterval": offPPHBInterval, "off.sctp_paddrparams.spp_pathmaxrxt": offPPPathMaxRxt,
	"off.sctp_paddrparams.spp_pathmtu": offPPPathMTU, "off.sctp_paddrparams.spp_sackdelay": offPPSackDelay,
	"off.sctp_paddrparams.spp_flags": offPPFlags,
	"size.sctp_paddrthlds":           sizePaddrThlds, "off.sctp_paddrthlds.spt_address": offPTAddress,
	"off.sctp_paddrthlds.spt_pathmaxrxt": offPTPathMaxRxt, "off.sctp_paddrthlds.spt_pathpfthld": offPTPFThld,
	"size.sctp_paddrinfo": sizePaddrInfo, "off.sctp_paddrinfo.spinfo_address": offPIAddress,
	"off.sctp_paddrinfo.spinfo_state": offPIState, "off.sctp_paddrinfo.spinfo_cwnd": offPICwnd,
	"off.sctp_paddrinfo.spinfo_srtt": offPISRTT, "off.sctp_paddrinfo.spinfo_rto": offPIRTO,
	"off.sctp_paddrinfo.spinfo_mtu": offPIMTU,
	"size.sctp_status":              sizeStatus, "off.sctp_status.sstat_state": offSTState,
	"off.sctp_status.sstat_unackdata": offSTUnacked, "off.sctp_status.sstat_penddata": offSTPending,
	"off.sctp_status.sstat_instrms": offSTIn, "off.sctp_status.sstat_outstrms": offSTOut,
	"off.sctp_status.sstat_primary": offSTPrimary,
	"size.sctp_assoc_stats":         sizeAssocStats, "off.sctp_assoc_stats.sas_obs_rto_ipaddr": offASObsRTOAddr,
	"off.sctp_assoc_stats.sas_maxrto": offASMaxRTO, "off.sctp_assoc_stats.sas_isacks": offASISacks,
	"off.sctp_assoc_stats.sas_osacks": offASOSacks, "off.sctp_assoc_stats.sas_opackets": offASOPackets,
	"off.sctp_assoc_stats.sas_ipackets": offASIPackets, "off.sctp_assoc_stats.sas_rtxchunks": offASRtxChunks,
	"off.sctp_assoc_stats.sas_outofseqtsns": offASOutOfSeq, "off.sctp_assoc_stats.sas_idupchunks": offASIDupChunks,
	"off.sctp_assoc_stats.sas_gapcnt": offASGapCnt, "off.sctp_assoc_stats.sas_ouodchunks": offASOUOChunks,
	"off.sctp_assoc_stats.sas_iuodchunks": offASIUOChunks, "off.sctp_assoc_stats.sas_oodchunks": offASOOChunks,
	"off.sctp_assoc_stats.sas_iodchunks": offASIOChunks, "off.sctp_assoc_stats.sas_octrlchunks": offASOCtrl,
	"off.sctp_assoc_stats.sas_ictrlchunks": offASICtrl, "const.SCTP_GET_ASSOC_STATS": optAssocStats,
	"size.sctp_prim": sizePrim, "off.sctp_prim.ssp_addr": offPrimAddr, "size.sctp_getaddrs": sizeGetAddrs,
	"size.sctp_sndinfo": sizeSndInfo, "off.sctp_sndinfo.snd_ppid": offSndPPID,
	"size.sctp_rcvinfo": sizeRcvInfo, "off.sctp_rcvinfo.rcv_ppid": offRcvPPID,
	"size.sctp_sndrcvinfo": sizeSndRcv, "off.sctp_sndrcvinfo.sinfo_ppid": offSndRcvPPID,
	"size.sctp_assoc_change": sizeAssocChange, "size.sctp_paddr_change": sizePaddrChange,
	"off.sctp_paddr_change.spc_aaddr": offPCAddr, "off.sctp_paddr_change.spc_state": offPCState,
	"off.sctp_paddr_change.spc_error": offPCError,
	"size.sctp_send_failed_event":     sizeSendFailedEvent, "size.sctp_send_failed": sizeSendFailed,
	"size.sctp_shutdown_event": sizeShutdownEvent, "size.sctp_pdapi_event": sizePDAPIEvent,
	"const.IPPROTO_SCTP": solSCTP, "const.SCTP_RTOINFO": optRTOInfo, "const.SCTP_ASSOCINFO": optAssocInfo,
	"const.SCTP_INITMSG": optInitMsg, "const.SCTP_NODELAY": optNoDelay, "const.SCTP_PRIMARY_ADDR": optPrimaryAddr,
	"const.SCTP_PEER_ADDR_PARAMS": optPeerAddrParams, "const.SCTP_EVENTS": optEvents, "const.SCTP_STATUS": optStatus,
	"const.SCTP_GET_PEER_ADDR_INFO": optPeerAddrInfo, "const.SCTP_DELAYED_SACK": optDelayedSack,
	"const.SCTP_GET_PEER_ADDRS": optGetPeerAddrs, "const.SCTP_GET_LOCAL_ADDRS": optGetLocalAddrs,
	"const.SCTP_PEER_ADDR_THLDS": optPeerAddrThlds, "const.SCTP_RECVRCVINFO": optRecvRcvInfo,
	"const.SCTP_EVENT": optEvent, "const.SCTP_EXPOSE_POTENTIALLY_FAILED_STATE": optExposePF,
	"const.SCTP_SNDINFO": cmsgSndInfo, "const.SCTP_RCVINFO": cmsgRcvInfo, "const.SCTP_UNORDERED": flagUnordered,
	"const.MSG_NOTIFICATION": msgNotification, "const.SCTP_ASSOC_CHANGE": int(snAssocChange),
	"const.SCTP_PEER_ADDR_CHANGE": int(snPeerAddrChange), "const.SCTP_SEND_FAILED": int(snSendFailed),
	"const.SCTP_SHUTDOWN_EVENT": int(snShutdown), "const.SCTP_PARTIAL_DELIVERY_EVENT": int(snPartialDelivery),
	"const.SCTP_SEND_FAILED_EVENT": int(snSendFailedEvent), "const.SPP_HB_ENABLE": sppHBEnable,
	"const.SCTP_INACTIVE": spinfoInactive, "const.SCTP_PF": spinfoPF, "const.SCTP_ACTIVE": spinfoActive,
	"const.SCTP_UNCONFIRMED": spinfoUnconfirmed, "const.SCTP_COOKIE_WAIT": sstatCookieWait,
	"const.SCTP_COOKIE_ECHOED": sstatCookieEchoed, "const.SCTP_ESTABLISHED": sstatEstablished,
	"const.SCTP_ADDR_POTENTIALLY_FAILED": spcAddrPotentiallyFailed, "const.SCTP_SHUTDOWN_COMP": sacShutdownComp,
}

// TestLayoutsMatchUAPI compiles testdata/uapi_layout.c against the
// installed kernel headers and compares every size, offset and constant
// with this package's. It needs a C compiler and linux/sctp.h.
func TestLayoutsMatchUAPI(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler: layouts not checked against linux/sctp.h")
	}
	if _, err := os.Stat("/usr/include/linux/sctp.h"); err != nil {
		t.Skip("no /usr/include/linux/sctp.h")
	}
	bin := filepath.Join(t.TempDir(), "layout")
	if out, err := exec.Command(cc, "-o", bin, "testdata/uapi_layout.c").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("bad line %q", sc.Text())
		}
		c, err := strconv.Atoi(val)
		if err != nil {
			t.Fatal(err)
		}
		g, ok := goLayout[name]
		if !ok {
			t.Errorf("%s = %d in the header: not checked here", name, c)
			continue
		}
		seen++
		if g != c {
			t.Errorf("%s: header says %d, package uses %d", name, c, g)
		}
	}
	if seen != len(goLayout) {
		t.Errorf("header program printed %d of the %d values checked", seen, len(goLayout))
	}
}
