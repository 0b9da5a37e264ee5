/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Record that perfexec.bpf.c writes into its perf buffer `events`, one per
 * exec. The runner learns the layout from the decl tag
 * `bpflet.record=exec_record` on the map; perf buffer records arrive
 * padded, and the runner decodes them from the start.
 *
 *   offset size field
 *        0    4 pid       thread-group id of the process that exec'd
 *        4    4 ppid      its real parent's thread-group id
 *        8   16 comm      command name after the exec, NUL-padded
 *       24  256 filename  path passed to execve, NUL-terminated, truncated
 *   total 280 bytes, alignment 4
 */
#ifndef BPFLET_PERFEXEC_H
#define BPFLET_PERFEXEC_H

#define PERFEXEC_COMM_LEN 16
#define PERFEXEC_FILENAME_LEN 256

struct exec_record {
	__u32 pid;
	__u32 ppid;
	char comm[PERFEXEC_COMM_LEN];
	char filename[PERFEXEC_FILENAME_LEN];
};

#endif
