// SPDX-License-Identifier: GPL-2.0
/*
 * conformance: one object with every map shape, global section and one
 * program per attach kind, for the conformance guest that exercises the
 * whole WIT. Each program bumps its own .bss counter so the guest can tell
 * that the attachment fires. Layouts: conformance.h.
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

/* One counter per attach kind (see conformance.h). */
__u64 raw_tp_hits = 0;
__u64 uprobe_hits = 0;
__u64 uretprobe_hits = 0;
__u64 switch_hits = 0;
__u32 switch_next_pid = 0;
__u64 xdp_packets = 0;
__u64 socket_packets = 0;
__u64 tc_ingress_packets = 0;
__u64 tc_egress_packets = 0;
__u64 cgroup_egress_packets = 0;
__u64 perf_samples = 0;
__u64 kprobe_hits = 0;
__u64 kretprobe_hits = 0;
__u64 fentry_hits = 0;
__u64 lsm_hits = 0;

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

/* 4-byte per-CPU values: the kernel pads each CPU's to 8 bytes, the WIT's
 * flat list does not. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} percpu_small SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ring SEC(".maps") __attribute__((btf_decl_tag("bpflet.record=conformance_record")));

/* Names the record type in BTF the way eunomia-bpf sources do; the guest
 * checks that btf-types shows both conventions. */
struct conformance_record *unused_record __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

static __always_inline bool from_target(void)
{
	return !target_pid || (bpf_get_current_pid_tgid() >> 32) == target_pid;
}

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
	__sync_fetch_and_add(&xdp_packets, 1);
	return XDP_PASS;
}

/* A socket filter: counts what crosses the interface, keeps nothing. */
SEC("socket")
int socket_count(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&socket_packets, 1);
	return 0;
}

/* The guest turns this one off to test set-autoload; raw_sys_enter is the
 * raw tracepoint program it attaches. */
SEC("raw_tp/sys_enter")
int raw_enter(void *ctx)
{
	return 0;
}

SEC("raw_tp")
int raw_sys_enter(void *ctx)
{
	if (from_target())
		__sync_fetch_and_add(&raw_tp_hits, 1);
	return 0;
}

/* Reading next->pid gives the object a CO-RE relocation, so load-options'
 * btf-path is used (libbpf reads it only to relocate). */
SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__sync_fetch_and_add(&switch_hits, 1);
	switch_next_pid = next->pid;
	return 0;
}

/* Attached to libc's getppid by the guest (binary and pid from it);
 * uprobes take kprobe programs, hence BPF_KPROBE. */
SEC("uprobe")
int BPF_KPROBE(on_uprobe_getppid)
{
	if (from_target())
		__sync_fetch_and_add(&uprobe_hits, 1);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(on_uretprobe_getppid, int ret)
{
	if (from_target())
		__sync_fetch_and_add(&uretprobe_hits, 1);
	return 0;
}

/* tcx: TCX_NEXT leaves the verdict to whoever else is attached. */
SEC("tc")
int tc_ingress(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&tc_ingress_packets, 1);
	return TCX_NEXT;
}

SEC("tc")
int tc_egress(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&tc_egress_packets, 1);
	return TCX_NEXT;
}

SEC("cgroup_skb/egress")
int cgroup_egress(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&cgroup_egress_packets, 1);
	return 1; /* allow */
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__sync_fetch_and_add(&perf_samples, 1);
	return 0;
}

/* Kprobe programs load wherever uprobes do (same program type); attaching
 * them needs CONFIG_KPROBES, which the guest reports either way. */
SEC("kprobe/do_nanosleep")
int BPF_KPROBE(on_kprobe_nanosleep)
{
	__sync_fetch_and_add(&kprobe_hits, 1);
	return 0;
}

SEC("kretprobe/do_nanosleep")
int BPF_KRETPROBE(on_kretprobe_nanosleep, int ret)
{
	__sync_fetch_and_add(&kretprobe_hits, 1);
	return 0;
}

/* "?": not autoloaded, since kernels that refuse fentry or LSM programs
 * would refuse the whole object. The guest loads each in its own copy. */
SEC("?fentry/do_nanosleep")
int BPF_PROG(fentry_nanosleep)
{
	__sync_fetch_and_add(&fentry_hits, 1);
	return 0;
}

SEC("?lsm/file_open")
int BPF_PROG(lsm_file_open, struct file *file)
{
	__sync_fetch_and_add(&lsm_hits, 1);
	return 0;
}
