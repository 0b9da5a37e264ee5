/*
 * exectrace: prints every exec, as `bpflet run exectrace.bpf.o` prints it,
 * without a line of formatting code: the records go to the render plug-in
 * (bpflet:ebpf/render), which decodes them by their BTF type. bpflet
 * assembles this program with a render provider when it runs.
 *
 * The kernel half is guests/bpf/exectrace.bpf.c, the kernel-only example.
 */
#include "bpflet.h"
#include "bpflet_fmt.h"

#include <time.h>

static const unsigned char exectrace_bpf[] = {
#embed "exectrace.bpf.o"
};

static const char usage[] =
	"usage: exectrace [--json] [--ppid PID] [--duration SECS]\n"
	"\n"
	"Prints every exec on the system, decoded by the render plug-in.\n"
	"\n"
	"  --json            one JSON object per exec\n"
	"  --ppid PID        only execs by children of PID\n"
	"  --duration SECS   exit after SECS seconds (default: run until killed)\n"
	"  --help            print this help\n";

static bool run(const bpflet_trace_args_t *args, bpflet_error_t *err)
{
	bpflet_open_object_t open = { 0 };
	bpflet_object_t object = { 0 };
	bpflet_map_t map = { 0 };
	bpflet_events_t events = { 0 };
	bpflet_links_t links = { 0 };
	bpflet_batch_t batch = { 0 };
	bpflet_printer_t printer = { 0 };
	bpflet_record_printer_t records = { 0 };
	bool ok = false;

	if (!bpflet_object_open(exectrace_bpf, sizeof(exectrace_bpf), &open, err) ||
	    !BPFLET_OBJECT_SET_GLOBAL(open, "target_ppid", &args->id, err) ||
	    !bpflet_object_load(&open, &object, err))
		goto out;
	/* The plug-in reads the object's types once; records print by type. */
	bpflet_printer_open(object, &printer);
	if (!bpflet_printer_records(printer, "exec_event", args->json, &records, err))
		goto out;
	if (!bpflet_object_map(object, "events", &map, err) || !bpflet_events_open(map, &events, err))
		goto out;
	bpflet_map_drop(&map);
	if (!bpflet_object_attach_all(object, &links, err))
		goto out;
	uint64_t deadline = args->has_duration
		? bpflet_add_ns(bpflet_monotonic_now(), bpflet_duration_ns(args->duration))
		: UINT64_MAX;
	fputs("exectrace: attached; Ctrl-C to stop\n", stderr);
	bpflet_records_write_header(records, stdout);
	fflush(stdout);

	while (!args->has_duration || bpflet_monotonic_now() < deadline) {
		if (!bpflet_events_poll(events, 200, 0, &batch, err))
			goto out;
		if (bpflet_batch_len(&batch)) {
			bpflet_records_write_batch(records, &batch, (uint64_t)time(NULL), stdout);
			fflush(stdout);
		}
		bpflet_batch_free(&batch);
	}
	ok = true;
out:
	bpflet_batch_free(&batch);
	bpflet_record_printer_drop(&records);
	bpflet_printer_drop(&printer);
	bpflet_links_drop(&links);
	bpflet_events_drop(&events);
	bpflet_map_drop(&map);
	bpflet_object_drop(&object);
	bpflet_open_object_drop(&open);
	return ok;
}

static int exectrace_main(int argc, char **argv)
{
	bpflet_trace_args_t args;
	int parsed = bpflet_parse_trace_args("exectrace", usage, "--ppid", argc, argv, &args);
	if (parsed)
		return parsed == 1 ? 0 : 2;
	bpflet_error_t err;
	return run(&args, &err) ? 0 : bpflet_error_exit("exectrace", &err);
}

BPFLET_MAIN(exectrace_main)
