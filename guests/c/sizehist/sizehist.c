/*
 * sizehist: a log2 histogram of the sizes one process passes to write(2),
 * printed at Ctrl-C (or after --duration) as `bpflet run sizehist.bpf.o`
 * prints it, through the histogram plug-in (bpflet:ebpf/histogram): this
 * program only reads the map.
 *
 * The kernel half is guests/bpf/sizehist.bpf.c, a kernel-only example.
 */
#include "bpflet.h"
#include "bpflet_fmt.h"

/* struct log2_hist of guests/bpf/log2.h (a BPF-side header). */
#define LOG2_SLOTS 32
struct log2_hist {
	uint64_t slots[LOG2_SLOTS];
};

static const unsigned char sizehist_bpf[] = {
#embed "sizehist.bpf.o"
};

static const char usage[] =
	"usage: sizehist [--json] [--pid PID] [--duration SECS]\n"
	"\n"
	"A log2 histogram of the sizes of write(2), printed at Ctrl-C.\n"
	"\n"
	"  --json            the histogram as one JSON line\n"
	"  --pid PID         only writes by process PID\n"
	"  --duration SECS   print and exit after SECS seconds\n"
	"  --help            print this help\n";

static bool run(const bpflet_trace_args_t *args, bpflet_error_t *err)
{
	bpflet_open_object_t open = { 0 };
	bpflet_object_t object = { 0 };
	bpflet_map_t map = { 0 };
	bpflet_links_t links = { 0 };
	bool ok = false;

	if (!bpflet_object_open(sizehist_bpf, sizeof(sizehist_bpf), &open, err) ||
	    !BPFLET_OBJECT_SET_GLOBAL(open, "target_pid", &args->id, err) ||
	    !bpflet_object_load(&open, &object, err) || !bpflet_object_map(object, "hist", &map, err) ||
	    !bpflet_object_attach_all(object, &links, err))
		goto out;
	uint64_t deadline = args->has_duration
		? bpflet_add_ns(bpflet_monotonic_now(), bpflet_duration_ns(args->duration))
		: UINT64_MAX;
	/* Ctrl-C asks; the loop sees it and prints the histogram. */
	bpflet_stop_requested();
	fputs("sizehist: attached; Ctrl-C to stop\n", stderr);
	while (!bpflet_stop_requested() && bpflet_monotonic_now() < deadline)
		bpflet_sleep_until(bpflet_add_ns(bpflet_monotonic_now(), 50 * 1000 * 1000));

	uint32_t zero = 0;
	struct log2_hist hist = { 0 };
	if (BPFLET_MAP_LOOKUP(map, &zero, &hist, err) < 0)
		goto out;
	if (args->json) {
		ok = bpflet_histogram_write_json(stdout, "hist", hist.slots, LOG2_SLOTS, BPFLET_HIST_LOG2, "bytes", err);
	} else {
		/* As the runner heads a map with one histogram. */
		fputs("hist:\n", stdout);
		ok = bpflet_histogram_write_text(stdout, hist.slots, LOG2_SLOTS, BPFLET_HIST_LOG2, "bytes", err);
		bool empty = true;
		for (size_t i = 0; i < LOG2_SLOTS; i++)
			empty &= hist.slots[i] == 0;
		if (ok && empty) /* the plug-in printed nothing */
			fputs("     (empty)\n", stdout);
	}
out:
	bpflet_links_drop(&links);
	bpflet_map_drop(&map);
	bpflet_object_drop(&object);
	bpflet_open_object_drop(&open);
	return ok;
}

static int sizehist_main(int argc, char **argv)
{
	bpflet_trace_args_t args;
	int parsed = bpflet_parse_trace_args("sizehist", usage, "--pid", argc, argv, &args);
	if (parsed)
		return parsed == 1 ? 0 : 2;
	bpflet_error_t err;
	return run(&args, &err) ? 0 : bpflet_error_exit("sizehist", &err);
}

BPFLET_MAIN(sizehist_main)
