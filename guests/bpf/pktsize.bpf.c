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

char LICENSE[] SEC("license") = "GPL";

#define PKTSIZE_SLOTS 32
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define PACKET_HOST 0

/// UDP destination port to count (0 counts every UDP datagram).
const volatile __u16 port = 0;

struct hist {
	__u64 slots[PKTSIZE_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist);
} hist SEC(".maps") __attribute__((btf_decl_tag("bpflet.unit=bytes")));

/* floor(log2(v)), 0 for v <= 1. */
static __always_inline __u32 log2_floor(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

SEC("socket")
int udp_sizes(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct udphdr udp;
	__u32 zero = 0, slot;
	struct hist *h;

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
	slot = log2_floor(bpf_ntohs(udp.len) - sizeof(udp));
	if (slot >= PKTSIZE_SLOTS)
		slot = PKTSIZE_SLOTS - 1;
	h = bpf_map_lookup_elem(&hist, &zero);
	if (h)
		__sync_fetch_and_add(&h->slots[slot], 1);
	return 0;
}
