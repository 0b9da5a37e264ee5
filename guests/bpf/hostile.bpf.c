// SPDX-License-Identifier: GPL-2.0
/*
 * hostile: the maps and the program the hostile guest turns against bpflet
 * (guests/rust/hostile): a hash map to ask too much of, two ring buffers
 * to map over each other, a perf buffer to size too large, a global to set
 * wrongly, a tracepoint program to attach where it must not go and a raw
 * tracepoint program to attach too many times.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ring_a SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ring_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *n;

	if (target_pid && pid != target_pid)
		return 0;
	n = bpf_map_lookup_elem(&counts, &pid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&counts, &pid, &one, BPF_ANY);
	return 0;
}

/* Attachable any number of times: each attach is a link of its own. */
SEC("raw_tp/sys_enter")
int on_sys_enter(void *ctx)
{
	return 0;
}

/* A uprobe whose section names a device as its binary: bpflet must look
 * before libbpf opens it. Not autoloaded. */
SEC("?uprobe//dev/null:main")
int on_device(void *ctx)
{
	return 0;
}
