// SPDX-License-Identifier: GPL-2.0
/*
 * kfunc: a program that calls the kernel function bpf_send_signal_task,
 * which bpflet loads only with a grant (bpflet run --allow send-signal).
 * Not autoloaded (SEC("?...")): the hostile guest turns it on.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type, __u64 value) __ksym __weak;

/* Never true: the program does nothing when it fires. */
const volatile __u32 armed = 0;

SEC("?tp_btf/sched_switch")
int signal_task(void *ctx)
{
	if (armed)
		bpf_send_signal_task(bpf_get_current_task_btf(), 9, PIDTYPE_PID, 0);
	return 0;
}
