/* SPDX-License-Identifier: GPL-2.0 */
/* log2 histograms as the kernel-only runner prints them: slot i counts
 * values 2^i to 2^(i+1)-1 (slot 0 also counts 0). A histogram map's value
 * is a struct with an integer array `slots`. */
#ifndef BPFLET_LOG2_H
#define BPFLET_LOG2_H

#define LOG2_SLOTS 32

struct log2_hist {
	__u64 slots[LOG2_SLOTS];
};

/* floor(log2(v)), 0 for v <= 1: halve the search range five times. */
static __always_inline __u32 log2_floor(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

/* Counts `v` in its slot of `h`. */
static __always_inline void log2_count(struct log2_hist *h, __u64 v)
{
	__u32 slot = log2_floor(v);

	if (slot >= LOG2_SLOTS)
		slot = LOG2_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
}

#endif
