/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What conformance.bpf.c shares with user space. The layout is the contract.
 *
 * Record written to both `ring` (ring buffer) and `perf` (perf buffer) on
 * each getppid() of target_pid (every process when target_pid is 0):
 *
 *   offset size field
 *        0    8 magic  the `magic` global as loaded
 *        8    8 hits   `hits` after this call's increment
 *   total 16 bytes, alignment 8 (perf records arrive padded to 20 bytes)
 *
 * Maps:
 *   hash    BPF_MAP_TYPE_HASH          __u32 -> __u64, 64 entries (the program writes hash[1] = magic)
 *   array   BPF_MAP_TYPE_ARRAY         __u32 -> __u64, 16 entries
 *   percpu  BPF_MAP_TYPE_PERCPU_ARRAY  __u32 -> __u64, 4 entries (the program bumps percpu[0])
 *   ring    BPF_MAP_TYPE_RINGBUF       64 KiB
 *   perf    BPF_MAP_TYPE_PERF_EVENT_ARRAY, one slot per CPU
 *
 * Globals: .rodata target_pid (__u32), magic (__u64); .bss hits (__u64),
 * seen_pid (__u32); .data data_word (__u32, initially 7).
 */
#ifndef BPFLET_CONFORMANCE_H
#define BPFLET_CONFORMANCE_H

struct conformance_record {
	__u64 magic;
	__u64 hits;
};

#endif
