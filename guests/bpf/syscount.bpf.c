// SPDX-License-Identifier: GPL-2.0
/*
 * syscount: syscalls per process. Map layouts: syscount.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "syscount.h"

char LICENSE[] SEC("license") = "GPL";

/* Only count this process; 0 counts every process. */
const volatile __u32 target_pid = 0;

/* Per-CPU so the hot path needs no atomics: every syscall lands here. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SYSCOUNT_MAX_PIDS);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYSCOUNT_MAX_PIDS);
	__type(key, __u32);
	__type(value, char[SYSCOUNT_COMM_LEN]);
} comms SEC(".maps");

SEC("tp/raw_syscalls/sys_enter")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 *count, one = 1;
	char comm[SYSCOUNT_COMM_LEN];

	if (target_pid && pid != target_pid)
		return 0;

	count = bpf_map_lookup_elem(&counts, &pid);
	if (count) {
		(*count)++;
		return 0;
	}

	/* First syscall of this pid: record its name and start the count.
	 * A full map drops new pids silently. */
	bpf_get_current_comm(&comm, sizeof(comm));
	bpf_map_update_elem(&comms, &pid, &comm, BPF_ANY);
	bpf_map_update_elem(&counts, &pid, &one, BPF_NOEXIST);
	return 0;
}

/* A pid keeps its key across exec but changes its name (a shell's child
 * becomes `ls`): refresh the name then, so reports show what ran. */
SEC("tp/sched/sched_process_exec")
int sched_exec(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	char comm[SYSCOUNT_COMM_LEN];

	if (target_pid && pid != target_pid)
		return 0;

	bpf_get_current_comm(&comm, sizeof(comm));
	bpf_map_update_elem(&comms, &pid, &comm, BPF_ANY);
	return 0;
}
