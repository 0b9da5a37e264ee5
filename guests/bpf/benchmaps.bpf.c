// SPDX-License-Identifier: GPL-2.0
/*
 * benchmaps: the maps `make bench` times element access on, from native
 * libbpf-rs and from a guest: a hash map with 8-byte keys and values, big
 * enough for the million keys the benchmark writes, and a per-CPU array.
 * The program only gives the object something to load; nothing attaches it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20);
	__type(key, __u64);
	__type(value, __u64);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} percpu SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&percpu, &key);

	if (value)
		*value += 1;
	return 0;
}
