// SPDX-License-Identifier: GPL-2.0
/*
 * sizehist: a log2 histogram of the sizes that one process passes to
 * write(2), for the kernel-only runner (`bpflet run sizehist.bpf.o
 * --target_pid PID`), which prints `hist` as a histogram because its value
 * is a struct with an integer array `slots`.
 *
 * Slot i counts writes of 2^i to 2^(i+1)-1 bytes (slot 0 also counts
 * 0-byte writes), as the runner's log2 histogram labels them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "log2.h"
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";


/// Process (thread-group id) whose writes to count; 0 counts every process.
const volatile __u32 target_pid = 0;

/* One histogram: an array of one element. The decl tag names the unit the
 * runner prints above the buckets. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct log2_hist);
} hist SEC(".maps") __attribute__((btf_decl_tag("bpflet.unit=bytes")));

SEC("tp/syscalls/sys_enter_write")
int on_write(struct trace_event_raw_sys_enter *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u32 zero = 0;
	struct log2_hist *h;

	if (target_pid && pid != target_pid)
		return 0;

	/* write(fd, buf, count): the size is the third argument. */
	h = bpf_map_lookup_elem(&hist, &zero);
	if (h)
		log2_count(h, ctx->args[2]);
	return 0;
}
