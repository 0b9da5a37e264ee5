/*
 * execsnoop: prints every exec on the system as it happens.
 *
 * The kernel half (guests/bpf/execsnoop.bpf.c) writes one `struct event`
 * per exec into a ring buffer; this half prints them, as a table or as JSON
 * lines. Same options and output as the Rust guest
 * (guests/rust/execsnoop), byte for byte.
 */
#include "bpflet.h"
#include "bpflet_fmt.h"

#include "execsnoop.h"

static const unsigned char execsnoop_bpf[] = {
#embed "execsnoop.bpf.o"
};

static const char usage[] =
	"usage: execsnoop [--json] [--ppid PID] [--duration SECS]\n"
	"\n"
	"Prints every exec on the system.\n"
	"\n"
	"  --json            one JSON object per exec, after a {\"attached\":true} line\n"
	"  --ppid PID        only execs by children of PID\n"
	"  --duration SECS   exit after SECS seconds (default: run until killed)\n"
	"  --help            print this help\n";

struct args {
	bool json;
	uint32_t ppid;
	bool has_duration;
	bpflet_duration_t duration;
};

enum parsed { PARSED_RUN, PARSED_HELP, PARSED_BAD };

/* Starts the message of a bad command line; the caller ends it. */
static void bad_start(void)
{
	fputs("execsnoop: ", stderr);
}

static enum parsed bad_end(void)
{
	fprintf(stderr, "\n%s", usage);
	return PARSED_BAD;
}

static enum parsed parse_args(int argc, char **argv, struct args *args)
{
	*args = (struct args){ 0 };
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "--json")) {
			args->json = true;
		} else if (!strcmp(arg, "--ppid") || !strcmp(arg, "--duration")) {
			if (i + 1 >= argc) {
				bad_start();
				fprintf(stderr, "%s needs a value", arg);
				return bad_end();
			}
			const char *value = argv[++i];
			bool is_ppid = !strcmp(arg, "--ppid");
			bool ok = is_ppid ? bpflet_parse_u32(value, &args->ppid)
					  : bpflet_parse_secs(value, &args->duration);
			if (!ok) {
				bad_start();
				fprintf(stderr, "bad %s ", arg);
				bpflet_fput_debug(stderr, value);
				return bad_end();
			}
			args->has_duration |= !is_ppid;
		} else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			return PARSED_HELP;
		} else {
			bad_start();
			fputs("unknown argument ", stderr);
			bpflet_fput_debug(stderr, arg);
			return bad_end();
		}
	}
	return PARSED_RUN;
}

/* A JSON string as serde_json writes it: quotes and backslashes escaped,
 * control characters as \b \t \n \f \r or \u00XX, everything else (UTF-8
 * included) as it is. */
static void put_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\b': fputs("\\b", f); break;
		case '\t': fputs("\\t", f); break;
		case '\n': fputs("\\n", f); break;
		case '\f': fputs("\\f", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void print_event(const struct args *args, const struct event *e)
{
	/* from_utf8_lossy of the NUL-terminated arrays */
	char comm[BPFLET_LOSSY_SIZE(sizeof(e->comm))];
	char filename[BPFLET_LOSSY_SIZE(sizeof(e->filename))];
	bpflet_lossy(e->comm, sizeof(e->comm), comm);
	bpflet_lossy(e->filename, sizeof(e->filename), filename);

	if (args->json) {
		printf("{\"pid\":%u,\"ppid\":%u,\"comm\":", (unsigned)e->pid, (unsigned)e->ppid);
		put_json_string(stdout, comm);
		fputs(",\"filename\":", stdout);
		put_json_string(stdout, filename);
		fputs("}\n", stdout);
	} else {
		printf("%-8u %-8u ", (unsigned)e->pid, (unsigned)e->ppid);
		bpflet_fput_left(stdout, comm, 16);
		printf(" %s\n", filename);
	}
}

static bool run(const struct args *args, bpflet_error_t *err)
{
	bpflet_open_object_t open = { 0 };
	bpflet_object_t object = { 0 };
	bpflet_map_t map = { 0 };
	bpflet_events_t events = { 0 };
	bpflet_links_t links = { 0 };
	bpflet_batch_t batch = { 0 };
	bool ok = false;

	/* Configure the open object, then load it (which consumes `open`). */
	if (!bpflet_object_open(execsnoop_bpf, sizeof(execsnoop_bpf), &open, err) ||
	    !BPFLET_OBJECT_SET_GLOBAL(open, "target_ppid", &args->ppid, err) ||
	    !bpflet_object_load(&open, &object, err))
		goto out;
	/* Open the buffer before attaching, so no exec is missed. */
	if (!bpflet_object_map(object, "events", &map, err))
		goto out;
	if (!bpflet_events_open(map, &events, err))
		goto out;
	bpflet_map_drop(&map);
	if (!bpflet_object_attach_all(object, &links, err))
		goto out;
	uint64_t deadline = args->has_duration
		? bpflet_add_ns(bpflet_monotonic_now(), bpflet_duration_ns(args->duration))
		: UINT64_MAX;

	/* Tests wait for this first line as the sign that tracing has begun. */
	if (args->json)
		puts("{\"attached\":true}");
	else
		puts("PID      PPID     COMM             FILENAME");
	fflush(stdout);

	while (!args->has_duration || bpflet_monotonic_now() < deadline) {
		if (!bpflet_events_poll(events, 200, 0, &batch, err))
			goto out;
		if (!BPFLET_BATCH_EXPECT(&batch, struct event, err))
			goto out;
		for (const bpflet_record_t *rec = bpflet_batch_first(&batch); rec; rec = bpflet_batch_next(&batch, rec)) {
			struct event e;
			BPFLET_RECORD_READ(rec, &e); /* the batch holds no short record */
			print_event(args, &e);
		}
		if (bpflet_batch_len(&batch))
			fflush(stdout);
		bpflet_batch_free(&batch);
	}
	ok = true;
out:
	bpflet_batch_free(&batch);
	bpflet_links_drop(&links);
	bpflet_events_drop(&events);
	bpflet_map_drop(&map);
	bpflet_object_drop(&object);
	bpflet_open_object_drop(&open);
	return ok;
}

static int execsnoop_main(int argc, char **argv)
{
	struct args args;
	switch (parse_args(argc, argv, &args)) {
	case PARSED_HELP:
		fputs(usage, stdout);
		return 0;
	case PARSED_BAD:
		return 2;
	case PARSED_RUN:
		break;
	}

	bpflet_error_t err;
	return run(&args, &err) ? 0 : bpflet_error_exit("execsnoop", &err);
}

BPFLET_MAIN(execsnoop_main)
