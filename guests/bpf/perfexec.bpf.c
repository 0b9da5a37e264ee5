// SPDX-License-Identifier: GPL-2.0
/*
 * perfexec: one perf-buffer record per exec, for the kernel-only runner
 * (`bpflet run perfexec.bpf.o`). The record type is named by a decl tag on
 * the buffer's definition rather than by an unused pointer. Record layout:
 * perfexec.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "perfexec.h"

char LICENSE[] SEC("license") = "GPL";

/// Only report children of this process (0 reports every exec).
const volatile __u32 target_ppid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps") __attribute__((btf_decl_tag("bpflet.record=exec_record")));

/* The record is too big for the 512-byte BPF stack with room to spare, so
 * it is built in a per-CPU scratch slot; this map also puts the type into
 * the object's BTF, where the runner finds it by name. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_record);
} scratch SEC(".maps");

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
	struct exec_record *r;
	__u32 zero = 0;
	unsigned int fname_off;

	if (target_ppid && ppid != target_ppid)
		return 0;

	r = bpf_map_lookup_elem(&scratch, &zero);
	if (!r)
		return 0;
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->ppid = ppid;
	bpf_get_current_comm(&r->comm, sizeof(r->comm));
	fname_off = ctx->__data_loc_filename & 0xFFFF;
	bpf_probe_read_str(&r->filename, sizeof(r->filename), (void *)ctx + fname_off);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, r, sizeof(*r));
	return 0;
}
