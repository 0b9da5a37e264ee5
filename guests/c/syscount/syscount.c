/*
 * syscount: counts syscalls per process and prints the busiest ones.
 *
 * The kernel half (guests/bpf/syscount.bpf.c) counts into a per-CPU hash
 * map keyed by pid; this half sums the CPUs and prints a top-N table every
 * interval, plus a last one when `--duration` is over. Same options and
 * output as the Rust guest (guests/rust/syscount), byte for byte.
 */
#include "bpflet.h"
#include "bpflet_fmt.h"

#include "syscount.h"

static const unsigned char syscount_bpf[] = {
#embed "syscount.bpf.o"
};

static const char usage[] =
	"usage: syscount [--pid PID] [--top N] [--interval SECS] [--duration SECS]\n"
	"\n"
	"Counts syscalls per process and prints the top processes every interval.\n"
	"\n"
	"  --pid PID         only count process PID\n"
	"  --top N           processes per report (default 10)\n"
	"  --interval SECS   seconds between reports (default 1)\n"
	"  --duration SECS   print a last report and exit after SECS seconds\n"
	"                    (default: run until killed)\n"
	"  --help            print this help\n";

struct args {
	uint32_t pid;
	uint32_t top; /* a usize in the Rust guest: 32 bits on wasm32 */
	bpflet_duration_t interval;
	bool has_duration;
	bpflet_duration_t duration;
};

enum parsed { PARSED_RUN, PARSED_HELP, PARSED_BAD };

static enum parsed bad_value(const char *flag, const char *value)
{
	fprintf(stderr, "syscount: bad %s ", flag);
	bpflet_fput_debug(stderr, value);
	fprintf(stderr, "\n%s", usage);
	return PARSED_BAD;
}

/* Seconds for --interval and --duration: a number, and not zero. */
static bool parse_period(const char *value, bpflet_duration_t *out)
{
	return bpflet_parse_secs(value, out) && !bpflet_duration_is_zero(*out);
}

static enum parsed parse_args(int argc, char **argv, struct args *args)
{
	*args = (struct args){ .top = 10, .interval = { .secs = 1 } };
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
			return PARSED_HELP;
		if (strcmp(arg, "--pid") && strcmp(arg, "--top") && strcmp(arg, "--interval") &&
		    strcmp(arg, "--duration")) {
			fputs("syscount: unknown argument ", stderr);
			bpflet_fput_debug(stderr, arg);
			fprintf(stderr, "\n%s", usage);
			return PARSED_BAD;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "syscount: %s needs a value\n%s", arg, usage);
			return PARSED_BAD;
		}
		const char *value = argv[++i];
		bool ok;
		if (!strcmp(arg, "--pid")) {
			ok = bpflet_parse_u32(value, &args->pid);
		} else if (!strcmp(arg, "--top")) {
			ok = bpflet_parse_u32(value, &args->top);
		} else if (!strcmp(arg, "--interval")) {
			ok = parse_period(value, &args->interval);
		} else {
			ok = parse_period(value, &args->duration);
			args->has_duration = true;
		}
		if (!ok)
			return bad_value(arg, value);
	}
	return PARSED_RUN;
}

struct total {
	uint32_t pid;
	uint64_t count;
};

/* Busiest first; the pid breaks ties so the order is stable. */
static int by_count(const void *a, const void *b)
{
	const struct total *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Sums every pid's per-CPU counts into a malloc'd array. */
static bool collect(bpflet_map_t counts, struct total **out, size_t *len, bpflet_error_t *err)
{
	bpflet_map_iter_t it;
	size_t cap = 0;
	uint64_t *per_cpu = NULL;
	int r = -1;

	*out = NULL;
	*len = 0;
	if (!bpflet_map_iter_init(&it, counts, sizeof(uint32_t), sizeof(uint64_t), err))
		return false;
	per_cpu = malloc((it.cpus ? it.cpus : 1) * sizeof(*per_cpu));
	if (!per_cpu)
		abort();
	uint32_t pid;
	while ((r = bpflet_map_iter_next(&it, &pid, per_cpu, err)) > 0) {
		uint64_t sum = 0;
		for (uint32_t cpu = 0; cpu < it.cpus; cpu++)
			sum += per_cpu[cpu];
		if (*len == cap) {
			cap = cap ? 2 * cap : 64;
			*out = realloc(*out, cap * sizeof(**out));
			if (!*out)
				abort();
		}
		(*out)[(*len)++] = (struct total){ .pid = pid, .count = sum };
	}
	free(per_cpu);
	bpflet_map_iter_free(&it);
	if (r < 0) {
		free(*out);
		*out = NULL;
		*len = 0;
		return false;
	}
	return true;
}

/* Prints the `top` processes by syscalls since tracing began. */
static bool report(bpflet_map_t counts, bpflet_map_t comms, uint32_t top, bpflet_error_t *err)
{
	struct total *totals;
	size_t len;
	bool ok = true;

	if (!collect(counts, &totals, &len, err))
		return false;
	if (len > 1)
		qsort(totals, len, sizeof(*totals), by_count);

	/* HH:MM:SS in UTC: the guest has a wall clock but no time zone. */
	wasi_clocks_wall_clock_datetime_t now;
	wasi_clocks_wall_clock_now(&now);
	unsigned secs = (unsigned)(now.seconds % 86400);
	printf("[%02u:%02u:%02u]\n", secs / 3600, secs / 60 % 60, secs % 60);
	puts("PID      COMM             COUNT");
	for (size_t i = 0; i < len && i < top && ok; i++) {
		char comm[SYSCOUNT_COMM_LEN];
		char text[BPFLET_LOSSY_SIZE(SYSCOUNT_COMM_LEN)] = "?";
		int found = BPFLET_MAP_LOOKUP(comms, &totals[i].pid, &comm, err);
		if (found < 0) {
			ok = false;
			break;
		}
		if (found)
			bpflet_lossy(comm, sizeof(comm), text);
		printf("%-8u ", (unsigned)totals[i].pid);
		bpflet_fput_left(stdout, text, 16);
		printf(" %llu\n", (unsigned long long)totals[i].count);
	}
	if (ok)
		putchar('\n');
	fflush(stdout);
	free(totals);
	return ok;
}

static bool run(const struct args *args, bpflet_error_t *err)
{
	bpflet_open_object_t open = { 0 };
	bpflet_object_t object = { 0 };
	bpflet_map_t counts = { 0 }, comms = { 0 };
	bpflet_links_t links = { 0 };
	bool ok = false;

	if (!bpflet_object_open(syscount_bpf, sizeof(syscount_bpf), &open, err) ||
	    !BPFLET_OBJECT_SET_GLOBAL(open, "target_pid", &args->pid, err) ||
	    !bpflet_object_load(&open, &object, err))
		goto out;
	if (!bpflet_object_map(object, "counts", &counts, err) ||
	    !bpflet_map_check(counts, BPFLET_MAP_TYPE(PERCPU_HASH) | BPFLET_MAP_TYPE(LRU_PERCPU_HASH),
			      sizeof(uint32_t), sizeof(uint64_t), NULL, err))
		goto out;
	if (!bpflet_object_map(object, "comms", &comms, err) ||
	    !bpflet_map_check(comms, BPFLET_MAP_TYPE(HASH) | BPFLET_MAP_TYPE(LRU_HASH), sizeof(uint32_t),
			      SYSCOUNT_COMM_LEN, NULL, err))
		goto out;
	if (!bpflet_object_attach_all(object, &links, err))
		goto out;

	puts("Tracing syscalls... Ctrl-C to end.");
	fflush(stdout);

	uint64_t interval = bpflet_duration_ns(args->interval);
	uint64_t end = args->has_duration
		? bpflet_add_ns(bpflet_monotonic_now(), bpflet_duration_ns(args->duration))
		: UINT64_MAX;
	uint64_t next_report = bpflet_add_ns(bpflet_monotonic_now(), interval);
	for (;;) {
		bpflet_sleep_until(next_report < end ? next_report : end);
		uint64_t now = bpflet_monotonic_now();
		if (args->has_duration && now >= end) {
			ok = report(counts, comms, args->top, err);
			goto out;
		}
		if (now >= next_report) {
			if (!report(counts, comms, args->top, err))
				goto out;
			/* After a stall (a suspended host), skip the missed reports. */
			while (next_report <= now)
				next_report = bpflet_add_ns(next_report, interval);
		}
	}
out:
	bpflet_links_drop(&links);
	bpflet_map_drop(&comms);
	bpflet_map_drop(&counts);
	bpflet_object_drop(&object);
	bpflet_open_object_drop(&open);
	return ok;
}

static int syscount_main(int argc, char **argv)
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
	return run(&args, &err) ? 0 : bpflet_error_exit("syscount", &err);
}

BPFLET_MAIN(syscount_main)
