/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Record that exectrace.bpf.c pushes into its ring buffer `events`, one per
 * exec. No user-space code reads this header: the bpflet runner finds the
 * layout in the object's BTF (through `unused_event`, see exectrace.bpf.c).
 *
 *   offset size field
 *        0    4 pid       thread-group id of the process that exec'd
 *        4    4 ppid      its real parent's thread-group id
 *        8    4 uid       its real user id
 *       12    1 flagged   the `flagged` global as loaded
 *       13   16 comm      command name after the exec, NUL-padded
 *       29  128 filename  path passed to execve, NUL-terminated, truncated
 *   total 160 bytes (3 bytes of tail padding), alignment 4
 */
#ifndef BPFLET_EXECTRACE_H
#define BPFLET_EXECTRACE_H

#define EXECTRACE_COMM_LEN 16
#define EXECTRACE_FILENAME_LEN 128

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	bool flagged;
	char comm[EXECTRACE_COMM_LEN];
	char filename[EXECTRACE_FILENAME_LEN];
};

/* Which execs to report (the `mode` global). */
enum exec_mode {
	MODE_ALL,
	MODE_ROOT,
};

#endif
