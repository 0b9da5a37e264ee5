// SPDX-License-Identifier: GPL-2.0
/*
 * exectrace: one ring-buffer record per exec, for the kernel-only runner
 * (`bpflet run exectrace.bpf.o`). There is no user-space half: the runner
 * turns the `const volatile` globals below into flags and prints each
 * record by its BTF type. It uses one global of every flag type the runner
 * knows (integer, bool, enum, char array). Record layout: exectrace.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "exectrace.h"

char LICENSE[] SEC("license") = "GPL";

/// Only report children of this process (0 reports every exec).
const volatile __u32 target_ppid = 0;

/// Copied into every record, to tell runs apart.
const volatile bool flagged = false;

/// Which execs to report: MODE_ALL, or MODE_ROOT for those by uid 0 only.
const volatile enum exec_mode mode = MODE_ALL;

/// Only report execs whose new command name starts with this.
const volatile char comm_prefix[EXECTRACE_COMM_LEN] = "";

/* Names the record type in BTF for the runner (eunomia-bpf's convention):
 * a global pointer that nothing uses. */
struct exec_event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* comm_prefix is read-only once loaded, so the verifier sees its bytes as
 * constants and the loop is bounded by the array's size. */
static __always_inline bool has_prefix(const char *comm)
{
	for (int i = 0; i < EXECTRACE_COMM_LEN; i++) {
		char c = comm_prefix[i];

		if (!c)
			return true;
		if (comm[i] != c)
			return false;
	}
	return true;
}

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	char comm[EXECTRACE_COMM_LEN];
	struct exec_event *e;
	unsigned int fname_off;

	if (target_ppid && ppid != target_ppid)
		return 0;
	if (mode == MODE_ROOT && uid != 0)
		return 0;
	bpf_get_current_comm(&comm, sizeof(comm));
	if (!has_prefix(comm))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = ppid;
	e->uid = uid;
	e->flagged = flagged;
	__builtin_memcpy(e->comm, comm, sizeof(e->comm));
	/* The filename is a dynamic array: the low 16 bits of __data_loc are
	 * its offset from the start of the tracepoint record. */
	fname_off = ctx->__data_loc_filename & 0xFFFF;
	bpf_probe_read_str(&e->filename, sizeof(e->filename), (void *)ctx + fname_off);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
