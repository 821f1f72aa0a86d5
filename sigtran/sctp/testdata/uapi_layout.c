/* Prints the linux/sctp.h (uapi) layouts sigtran/sctp depends on, one
 * "name value" per line. Run by TestLayoutsMatchUAPI when a C compiler and
 * the kernel headers are present. */
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/sctp.h>

#define O(s, f) printf("off." #s "." #f " %zu\n", offsetof(struct s, f))
#define S(s) printf("size." #s " %zu\n", sizeof(struct s))
#define C(c) printf("const." #c " %ld\n", (long)(c))

int main(void) {
	S(sctp_initmsg); S(sctp_rtoinfo); O(sctp_rtoinfo, srto_initial); O(sctp_rtoinfo, srto_max); O(sctp_rtoinfo, srto_min);
	S(sctp_assocparams); O(sctp_assocparams, sasoc_asocmaxrxt);
	S(sctp_sack_info); S(sctp_assoc_value); S(sctp_event); S(sctp_event_subscribe);
	S(sctp_paddrparams); O(sctp_paddrparams, spp_address); O(sctp_paddrparams, spp_hbinterval);
	O(sctp_paddrparams, spp_pathmaxrxt); O(sctp_paddrparams, spp_pathmtu); O(sctp_paddrparams, spp_sackdelay); O(sctp_paddrparams, spp_flags);
	S(sctp_paddrthlds); O(sctp_paddrthlds, spt_address); O(sctp_paddrthlds, spt_pathmaxrxt); O(sctp_paddrthlds, spt_pathpfthld);
	S(sctp_paddrinfo); O(sctp_paddrinfo, spinfo_address); O(sctp_paddrinfo, spinfo_state); O(sctp_paddrinfo, spinfo_cwnd);
	O(sctp_paddrinfo, spinfo_srtt); O(sctp_paddrinfo, spinfo_rto); O(sctp_paddrinfo, spinfo_mtu);
	S(sctp_status); O(sctp_status, sstat_state); O(sctp_status, sstat_unackdata); O(sctp_status, sstat_penddata);
	O(sctp_status, sstat_instrms); O(sctp_status, sstat_outstrms); O(sctp_status, sstat_primary);
	S(sctp_assoc_stats); O(sctp_assoc_stats, sas_obs_rto_ipaddr); O(sctp_assoc_stats, sas_maxrto);
	O(sctp_assoc_stats, sas_isacks); O(sctp_assoc_stats, sas_osacks); O(sctp_assoc_stats, sas_opackets);
	O(sctp_assoc_stats, sas_ipackets); O(sctp_assoc_stats, sas_rtxchunks); O(sctp_assoc_stats, sas_outofseqtsns);
	O(sctp_assoc_stats, sas_idupchunks); O(sctp_assoc_stats, sas_gapcnt); O(sctp_assoc_stats, sas_ouodchunks);
	O(sctp_assoc_stats, sas_iuodchunks); O(sctp_assoc_stats, sas_oodchunks); O(sctp_assoc_stats, sas_iodchunks);
	O(sctp_assoc_stats, sas_octrlchunks); O(sctp_assoc_stats, sas_ictrlchunks); C(SCTP_GET_ASSOC_STATS);
	S(sctp_prim); O(sctp_prim, ssp_addr); S(sctp_getaddrs);
	S(sctp_sndinfo); O(sctp_sndinfo, snd_ppid); S(sctp_rcvinfo); O(sctp_rcvinfo, rcv_ppid); S(sctp_sndrcvinfo); O(sctp_sndrcvinfo, sinfo_ppid);
	S(sctp_assoc_change); S(sctp_paddr_change); O(sctp_paddr_change, spc_aaddr); O(sctp_paddr_change, spc_state); O(sctp_paddr_change, spc_error);
	S(sctp_send_failed_event); S(sctp_send_failed); S(sctp_shutdown_event); S(sctp_pdapi_event);
	C(IPPROTO_SCTP); C(SCTP_RTOINFO); C(SCTP_ASSOCINFO); C(SCTP_INITMSG); C(SCTP_NODELAY); C(SCTP_PRIMARY_ADDR);
	C(SCTP_PEER_ADDR_PARAMS); C(SCTP_EVENTS); C(SCTP_STATUS); C(SCTP_GET_PEER_ADDR_INFO); C(SCTP_DELAYED_SACK);
	C(SCTP_GET_PEER_ADDRS); C(SCTP_GET_LOCAL_ADDRS); C(SCTP_PEER_ADDR_THLDS); C(SCTP_RECVRCVINFO); C(SCTP_EVENT);
	C(SCTP_EXPOSE_POTENTIALLY_FAILED_STATE); C(SCTP_SNDINFO); C(SCTP_RCVINFO); C(SCTP_UNORDERED);
	C(MSG_NOTIFICATION); C(SCTP_ASSOC_CHANGE); C(SCTP_PEER_ADDR_CHANGE); C(SCTP_SEND_FAILED); C(SCTP_SHUTDOWN_EVENT);
	C(SCTP_PARTIAL_DELIVERY_EVENT); C(SCTP_SEND_FAILED_EVENT); C(SPP_HB_ENABLE);
	C(SCTP_INACTIVE); C(SCTP_PF); C(SCTP_ACTIVE); C(SCTP_UNCONFIRMED);
	C(SCTP_COOKIE_WAIT); C(SCTP_COOKIE_ECHOED); C(SCTP_ESTABLISHED);
	C(SCTP_ADDR_POTENTIALLY_FAILED); C(SCTP_SHUTDOWN_COMP);
	return 0;
}
