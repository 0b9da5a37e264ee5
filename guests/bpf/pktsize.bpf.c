// SPDX-License-Identifier: GPL-2.0
/*
 * pktsize: a socket filter that keeps a log2 histogram of the payload
 * sizes of the UDP datagrams arriving on an interface, for the kernel-only
 * runner: `bpflet run pktsize.bpf.o --ifname lo --port 9999`. The runner
 * attaches SEC("socket") programs to a packet socket on --ifname, and
 * prints `hist` as a histogram (a struct with an integer array `slots`).
 *
 * The filter returns 0: the socket keeps nothing, the map is the output.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "log2.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define PACKET_HOST 0

/// UDP destination port to count (0 counts every UDP datagram).
const volatile __u16 port = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct log2_hist);
} hist SEC(".maps") __attribute__((btf_decl_tag("bpflet.unit=bytes")));

SEC("socket")
int udp_sizes(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct udphdr udp;
	__u32 zero = 0;
	struct log2_hist *h;

	/* A packet socket sees what the interface sends and what it receives
	 * (on lo: every datagram twice); count arrivals only. */
	if (skb->pkt_type != PACKET_HOST || skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0 || ip.protocol != IPPROTO_UDP)
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + ip.ihl * 4, &udp, sizeof(udp)) < 0)
		return 0;
	if (port && udp.dest != bpf_htons(port))
		return 0;

	/* The UDP length counts its 8-byte header. */
	h = bpf_map_lookup_elem(&hist, &zero);
	if (h)
		log2_count(h, bpf_ntohs(udp.len) - sizeof(udp));
	return 0;
}
