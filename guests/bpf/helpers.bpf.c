// SPDX-License-Identifier: GPL-2.0
/*
 * helpers: programs that call the BPF helpers bpflet loads only with a
 * grant (bpflet run --allow send-signal, write-user), one of them through
 * a function of its own (not inlined: it stays in .text, and libbpf joins
 * it to the program at load). None is autoloaded (SEC("?...")): the
 * hostile guest turns on the one it tries.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Never true: the programs load, and do nothing when they fire. */
const volatile __u32 armed = 0;

SEC("?tp/syscalls/sys_enter_getppid")
int send_signal(void *ctx)
{
	if (armed)
		bpf_send_signal(9);
	return 0;
}

SEC("?tp/syscalls/sys_enter_getppid")
int write_user(void *ctx)
{
	__u64 zero = 0;

	if (armed)
		bpf_probe_write_user((void *)(unsigned long)armed, &zero, sizeof(zero));
	return 0;
}

static __noinline int signal_someone(void)
{
	if (armed)
		bpf_send_signal(9);
	return 0;
}

SEC("?tp/syscalls/sys_enter_getppid")
int through_a_function(void *ctx)
{
	return signal_someone();
}
