/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Record that execsnoop.bpf.c pushes into its ring buffer `events`, one per
 * successful exec. Shared with user space: the layout is the contract.
 *
 * Uses the kernel's __u32 spelling so the header works both after vmlinux.h
 * (BPF side) and after <linux/types.h> (user side).
 *
 *   offset size field
 *        0    4 pid       thread-group id (the process id user space sees)
 *        4    4 ppid      real parent's thread-group id
 *        8   16 comm      task command name, NUL-padded
 *       24  256 filename  path passed to execve, NUL-terminated, truncated
 *   total 280 bytes, alignment 4
 */
#ifndef BPFLET_EXECSNOOP_H
#define BPFLET_EXECSNOOP_H

#define EXECSNOOP_COMM_LEN 16
#define EXECSNOOP_FILENAME_LEN 256

struct event {
	__u32 pid;
	__u32 ppid;
	char comm[EXECSNOOP_COMM_LEN];
	char filename[EXECSNOOP_FILENAME_LEN];
};

#endif
