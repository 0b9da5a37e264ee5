// SPDX-License-Identifier: GPL-2.0
/*
 * structops: a struct_ops map (a TCP congestion control that does
 * nothing), for the test that a guest cannot register it by updating the
 * map: a registration made that way would outlive the program.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/bpflet_ssthresh")
__u32 BPF_PROG(bpflet_ssthresh, struct sock *sk)
{
	return 10;
}

SEC("struct_ops/bpflet_cong_avoid")
void BPF_PROG(bpflet_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops/bpflet_undo_cwnd")
__u32 BPF_PROG(bpflet_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC(".struct_ops")
struct tcp_congestion_ops bpflet_ops = {
	.ssthresh = (void *)bpflet_ssthresh,
	.cong_avoid = (void *)bpflet_cong_avoid,
	.undo_cwnd = (void *)bpflet_undo_cwnd,
	.name = "bpflet_ops",
};
