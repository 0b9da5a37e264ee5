// SPDX-License-Identifier: GPL-2.0
/*
 * pinned: a map that asks libbpf to pin it by name (LIBBPF_PIN_BY_NAME),
 * for the test that bpflet pins nothing: the map stays the program's own
 * and goes when the program ends, and a map someone else pinned under the
 * same name is neither reused nor touched.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bpflet_pinned SEC(".maps");

/* Counts getppid() calls (anyone's) under key 1. */
SEC("tp/syscalls/sys_enter_getppid")
int count(void *ctx)
{
	__u32 key = 1;
	__u64 one = 1, *value;

	value = bpf_map_lookup_elem(&bpflet_pinned, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(&bpflet_pinned, &key, &one, BPF_NOEXIST);
	return 0;
}
