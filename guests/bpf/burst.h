/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Record that burst.bpf.c writes, burst_count at a time, into the ring
 * buffer `records` (or, with use_perf, the perf buffer `perf_records`).
 * Shared with user space: the layout is the contract.
 *
 *   offset size field
 *        0    8 seq      index of the record within its burst, 0..burst_count-1
 *        8    4 cpu      CPU that produced it
 *       12    4 pad      always 0
 *       16   48 payload  filler, always 0 (makes the record 64 bytes)
 *   total 64 bytes, alignment 8
 *
 * Perf buffer records arrive padded by the kernel to 68 bytes (the sample's
 * 4-byte size header plus data is rounded up to 8); read the 64-byte prefix.
 *
 * Builds may set RECORD_SIZE (a multiple of 8, at least 16) to grow the
 * payload: build.sh makes burst512.bpf.o for the benchmarks that way.
 */
#ifndef BPFLET_BURST_H
#define BPFLET_BURST_H

#ifndef RECORD_SIZE
#define RECORD_SIZE 64
#endif
/* seq of the flush record a trigger after the last burst emits. */
#define FLUSH_SEQ (~0ULL)
#define RECORD_PAYLOAD (RECORD_SIZE - 16)

struct burst_record {
	__u64 seq;
	__u32 cpu;
	__u32 pad;
	__u8 payload[RECORD_PAYLOAD];
};

#endif
