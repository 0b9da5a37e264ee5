/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps that syscount.bpf.c fills and user space reads. Shared with user
 * space: the layout is the contract.
 *
 *   counts  BPF_MAP_TYPE_PERCPU_HASH  key __u32 pid (tgid)  value __u64
 *           syscalls entered by that process on each CPU; sum the per-CPU
 *           values for the total. 10240 entries.
 *   comms   BPF_MAP_TYPE_HASH         key __u32 pid (tgid)  value
 *           char[SYSCOUNT_COMM_LEN], the command name last seen for the pid,
 *           NUL-padded. 10240 entries.
 */
#ifndef BPFLET_SYSCOUNT_H
#define BPFLET_SYSCOUNT_H

#define SYSCOUNT_COMM_LEN 16
#define SYSCOUNT_MAX_PIDS 10240

#endif
