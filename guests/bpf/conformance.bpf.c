// SPDX-License-Identifier: GPL-2.0
/*
 * conformance: one object with every map shape, global section and a few
 * program types, for the conformance guest that exercises the whole WIT.
 * Layouts: conformance.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "conformance.h"

char LICENSE[] SEC("license") = "GPL";

/* 0 matches every process, so the object is useful without a trigger. */
const volatile __u32 target_pid = 0;
const volatile __u64 magic = 0;
__u64 hits = 0;
__u32 seen_pid = 0;
__u32 data_word = 7;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct conformance_record rec;
	__u32 zero = 0, one = 1;
	__u64 m = magic, *count;

	if (target_pid && pid != target_pid)
		return 0;

	__sync_fetch_and_add(&hits, 1);
	seen_pid = pid;

	count = bpf_map_lookup_elem(&percpu, &zero);
	if (count)
		(*count)++;
	bpf_map_update_elem(&hash, &one, &m, BPF_ANY);

	rec.magic = m;
	rec.hits = hits;
	bpf_ringbuf_output(&ring, &rec, sizeof(rec), 0);
	bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &rec, sizeof(rec));
	return 0;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("raw_tp/sys_enter")
int raw_enter(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}
