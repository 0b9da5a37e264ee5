// SPDX-License-Identifier: GPL-2.0
/*
 * burst: a throughput benchmark for the event path. Each getppid() of the
 * target process produces burst_count records in one go, so user space
 * measures how fast it drains the buffer and how many records the kernel
 * had to drop. Record layout: burst.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "burst.h"

char LICENSE[] SEC("license") = "GPL";

/* Ring buffer size in bytes: a power of two, a multiple of the page size. */
#ifndef RING_SIZE
#define RING_SIZE (8 * 1024 * 1024)
#endif

const volatile __u32 target_pid = 0;
/* Records per getppid(); bpf_loop allows up to 1 << 23. */
const volatile __u32 burst_count = 100000;
/* Which buffer to benchmark: the perf program runs when true, the ring one
 * when false. Both are attached; the other returns at once. */
const volatile bool use_perf = false;

/* How many triggers produce a burst; later ones emit one flush record
 * (seq = FLUSH_SEQ) instead. A perf buffer reports records it had to drop
 * only when the next record is written, so a consumer that wants the lost
 * count of the last burst needs one more record after it. */
const volatile __u32 bursts_max = 1;
__u32 bursts = 0;

/* Ring buffer: a record counts as produced once reserved (a submit cannot
 * fail), as dropped when the reserve fails because the ring is full. */
__u64 produced = 0, dropped = 0;
/* Perf buffer: bpf_perf_event_output's verdict. */
__u64 perf_produced = 0, perf_failed = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RING_SIZE);
} records SEC(".maps");

/* Puts `struct burst_record` in the object's BTF, for printers of the
 * records (the render benchmark, `bpflet run burst.bpf.o`). */
struct burst_record *unused_record __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_records SEC(".maps");

static long emit_ring(__u32 index, void *unused)
{
	struct burst_record *r;

	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	r->seq = index;
	r->cpu = bpf_get_smp_processor_id();
	r->pad = 0;
	__builtin_memset(r->payload, 0, sizeof(r->payload));
	bpf_ringbuf_submit(r, 0);
	__sync_fetch_and_add(&produced, 1);
	return 0;
}

/* The perf path builds its record on the BPF stack (512 bytes at most), so
 * builds with large records (RECORD_SIZE > 256) are ring-buffer only. */
#if RECORD_SIZE <= 256
/* bpf_perf_event_output needs the program's context, but bpf_loop only
 * passes a stack pointer to its callback: carry the context in a struct. */
struct perf_loop_ctx {
	void *ctx;
};

static long emit_perf(__u32 index, void *data)
{
	struct perf_loop_ctx *loop = data;
	struct burst_record r = {
		.seq = index,
		.cpu = bpf_get_smp_processor_id(),
	};

	if (bpf_perf_event_output(loop->ctx, &perf_records, BPF_F_CURRENT_CPU, &r, sizeof(r)))
		__sync_fetch_and_add(&perf_failed, 1);
	else
		__sync_fetch_and_add(&perf_produced, 1);
	return 0;
}
#endif

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_pid;
}

/* One trigger process calls at a time: a plain read-modify-write will do
 * (and needs no BPF v3 atomics). */
static __always_inline bool burst_due(void)
{
	__u32 seen = bursts;

	bursts = seen + 1;
	return seen < bursts_max;
}

SEC("tp/syscalls/sys_enter_getppid")
int burst_ring(void *ctx)
{
	struct burst_record *r;

	if (use_perf || !is_target())
		return 0;
	if (burst_due()) {
		bpf_loop(burst_count, emit_ring, NULL, 0);
		return 0;
	}
	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (r) {
		__builtin_memset(r, 0, sizeof(*r));
		r->seq = FLUSH_SEQ;
		bpf_ringbuf_submit(r, 0);
	}
	return 0;
}

#if RECORD_SIZE <= 256
SEC("tp/syscalls/sys_enter_getppid")
int burst_perf(void *ctx)
{
	struct perf_loop_ctx loop = { .ctx = ctx };
	struct burst_record flush = { .seq = FLUSH_SEQ };

	if (!use_perf || !is_target())
		return 0;
	if (burst_due())
		bpf_loop(burst_count, emit_perf, &loop, 0);
	else
		bpf_perf_event_output(ctx, &perf_records, BPF_F_CURRENT_CPU, &flush, sizeof(flush));
	return 0;
}
#endif
