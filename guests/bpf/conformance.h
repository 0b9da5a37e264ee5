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
 *
 * One .bss __u64 counter per attach kind, bumped by its program
 * ("target" = target_pid's calls only, every process when it is 0):
 *
 *   counter                program                 section               counts
 *   raw_tp_hits            raw_sys_enter           raw_tp                target's syscalls
 *   switch_hits            on_switch               tp_btf/sched_switch   context switches
 *   uprobe_hits            on_uprobe_getppid       uprobe                target's getppid() entries
 *   uretprobe_hits         on_uretprobe_getppid    uretprobe             target's getppid() returns
 *   xdp_packets            xdp_pass                xdp                   packets received
 *   tc_ingress_packets     tc_ingress              tc                    packets in (returns TCX_NEXT)
 *   tc_egress_packets      tc_egress               tc                    packets out (returns TCX_NEXT)
 *   cgroup_egress_packets  cgroup_egress           cgroup_skb/egress     packets out (allows them)
 *   perf_samples           on_sample               perf_event            samples
 *   kprobe_hits            on_kprobe_nanosleep     kprobe/do_nanosleep   calls
 *   kretprobe_hits         on_kretprobe_nanosleep  kretprobe/do_nanosleep returns
 *   fentry_hits            fentry_nanosleep        ?fentry/do_nanosleep  calls (not autoloaded)
 *   lsm_hits               lsm_file_open           ?lsm/file_open        opens (not autoloaded)
 *
 * and switch_next_pid (__u32), the pid on_switch last switched to.
 * raw_enter (raw_tp/sys_enter) does nothing; the guest turns its autoload
 * off.
 */
#ifndef BPFLET_CONFORMANCE_H
#define BPFLET_CONFORMANCE_H

struct conformance_record {
	__u64 magic;
	__u64 hits;
};

#endif
