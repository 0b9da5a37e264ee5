// SPDX-License-Identifier: GPL-2.0
/*
 * rejected: compiles, but the verifier must refuse it. It dereferences a
 * hash map lookup without the NULL check ("invalid mem access
 * 'map_value_or_null'"), which lets tests see a real load-failed error and
 * verifier log. A plain NULL dereference would not do (clang treats it as
 * undefined behaviour and may drop the code), nor would an array map
 * (recent verifiers know a constant in-range array lookup is never NULL).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int bad(void *ctx)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&values, &key);

	return *value;
}
