/*
 * bench: the C guest half of `make bench` (tests/bench), the same program as
 * guests/rust/bench with the same command line and output lines, so that the
 * harness can drive either one.
 *
 * `bench events --size 64|512 --trigger-pid PID --count N --reps R --warmup W [--batch M] [--poll 1] [--render 1|2|3]`
 *
 * Loads burst.bpf.o (64-byte records) or burst512.bpf.o, prints how it
 * reads (`reader in-place`, `reader polled`: the ring reader without the
 * map-ring grant, `reader poll`: `--poll 1`), then `ready`,
 * then for each of W + R bursts (the harness triggers them one at a time
 * with getppid()): waits until the program has produced or dropped the
 * whole burst, then times draining it, reading each record's `seq`, at
 * most M records per call: in place with `bpflet_ring_consume` (the default),
 * or with `bpflet_events_poll` batches (`--poll 1`):
 *
 * `rep I records=N ns=T sum=S dropped=D`   (warm-up reps have negative I)
 *
 * `--render 1|2|3` (C and Go only: the guests that print through plug-ins)
 * also prints every record drained from the ring, as the
 * table `bpflet run burst.bpf.o` prints (`struct burst_record` by its BTF),
 * to stdout, a batch at a time: through the render plug-in (1), or by the
 * hand-written renderer below (2), which prints the same bytes; 3 is 1 with
 * each record copied apart first (the SDK then packs them for the call: the
 * tests check that path prints the same). The lines
 * above then go to stderr, and the harness sends stdout to /dev/null.
 *
 * `bench check` exits at once (the harness fills bpflet's compiled cache).
 *
 * `bench maps --ops N --reps R`
 *
 * Loads benchmaps.bpf.o and, per rep, times N updates then N lookups on the
 * 8-byte hash map, one batched walk of it, N per-CPU array lookups, and N
 * calls that do no kernel work (the cost of a host call alone):
 *
 * `map-update rep=I ops=N ns=T` (and map-lookup, map-lookup-batch,
 * percpu-lookup, host-call)
 *
 * Every line is flushed at once: the harness reads them as they come.
 */
#include "bpflet.h"
#include "bpflet_fmt.h"

#include "burst.h"

#include <stdarg.h>
#include <time.h>

static const unsigned char burst_bpf[] = {
#embed "burst.bpf.o"
};

static const unsigned char burst512_bpf[] = {
#embed "burst512.bpf.o"
};

static const unsigned char benchmaps_bpf[] = {
#embed "benchmaps.bpf.o"
};

/* The fixed head of `struct burst_record` (burst.h); the payload follows. */
struct record_head {
	uint64_t seq;
	uint32_t cpu;
	uint32_t pad;
};

/* What the map benchmark stores under key `k`, so lookups can be checked. */
#define VALUE_XOR UINT64_C(0x5bd1e9955bd1e995)

static const char usage[] =
	"usage: bench events --trigger-pid PID [--size 64|512] [--count N] [--reps R] "
	"[--warmup W] [--batch M] [--poll 1] [--render 1|2|3] | bench maps [--ops N] [--reps R] | bench check";

/* Where the lines for the harness go: stdout, or stderr when stdout
 * carries rendered records. */
static FILE *report;

/* Prints a line and hands it to the harness at once. */
#define LINE(...) \
	do { \
		fprintf(report, __VA_ARGS__); \
		fputc('\n', report); \
		fflush(report); \
	} while (0)

/* ---- Command line: `--name value` pairs, every value a u64 ---------------- */

#define MAX_OPTS 16

struct opts {
	size_t len;
	const char *names[MAX_OPTS];
	uint64_t values[MAX_OPTS];
};

static int fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail_msg(const char *fmt, ...)
{
	va_list ap;
	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Why `u64::from_str` rejects `text`, in its words. */
static const char *parse_failure(const char *text)
{
	if (!*text)
		return "cannot parse integer from empty string";
	const char *p = text + (*text == '+');
	if (*p && strspn(p, "0123456789") == strlen(p))
		return "number too large to fit in target type";
	return "invalid digit found in string";
}

/* As the Rust guest: a later flag replaces an earlier one of the same name;
 * flags no mode reads are accepted and ignored. */
static int parse_opts(int argc, char **argv, int first, struct opts *opts)
{
	opts->len = 0;
	for (int i = first; i < argc; i += 2) {
		const char *flag = argv[i];
		if (strncmp(flag, "--", 2) != 0)
			return fail_msg("unexpected argument \"%s\"", flag);
		if (i + 1 >= argc)
			return fail_msg("%s needs a value", flag);
		uint64_t value;
		if (!bpflet_parse_u64(argv[i + 1], &value))
			return fail_msg("%s: %s", flag, parse_failure(argv[i + 1]));
		size_t slot = 0;
		while (slot < opts->len && strcmp(opts->names[slot], flag + 2) != 0)
			slot++;
		if (slot == opts->len) {
			if (opts->len == MAX_OPTS)
				return fail_msg("too many options");
			opts->names[opts->len++] = flag + 2;
		}
		opts->values[slot] = value;
	}
	return 0;
}

/* The value of `--name`, or `fallback`; false (after saying so) when the
 * flag is required (`required`) and absent. */
static bool opt(const struct opts *opts, const char *name, bool required, uint64_t fallback, uint64_t *out)
{
	for (size_t i = 0; i < opts->len; i++) {
		if (!strcmp(opts->names[i], name)) {
			*out = opts->values[i];
			return true;
		}
	}
	if (required) {
		fail_msg("--%s is required", name);
		return false;
	}
	*out = fallback;
	return true;
}

/* ---- events --------------------------------------------------------------- */

/* What drain_ring's callback adds up. */
struct drain {
	uint64_t sum;
	bool short_record; /* stopped at a record shorter than a head, */
	size_t short_len;  /* of this length (it stays in the ring) */
};

static bool add_seq(const uint8_t *record, size_t len, void *ctx)
{
	struct drain *drain = ctx;
	if (len < sizeof(struct record_head)) {
		drain->short_record = true;
		drain->short_len = len;
		return false;
	}
	uint64_t seq;
	memcpy(&seq, record, sizeof(seq));
	drain->sum += seq;
	return true;
}

/* Drains `produced` records in place, at most `max` (0: all ready) per
 * release, as RingReader::consume_records does; false on a short record. */
static bool drain_ring(bpflet_ring_t *ring, uint64_t produced, uint32_t max, uint64_t *records, uint64_t *sum,
		       bpflet_error_t *err)
{
	struct drain drain = { .sum = *sum };
	while (*records < produced) {
		size_t n = bpflet_ring_consume(ring, max, add_seq, &drain);
		*records += n;
		/* Nothing read: a poll may have failed (polled readers only). */
		if (n == 0 && bpflet_ring_error(ring, err)) {
			*sum = drain.sum;
			return false;
		}
		if (drain.short_record) {
			*sum = drain.sum;
			return bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT,
						"record of %zu bytes is shorter than %s (%zu bytes)",
						drain.short_len, "struct record_head", sizeof(struct record_head));
		}
	}
	*sum = drain.sum;
	return true;
}

/* ---- events --render ------------------------------------------------------ */

enum render { RENDER_NONE, RENDER_PLUGIN, RENDER_HAND, RENDER_COPIES };

/* Appends `value` in decimal, right-aligned in `width` columns. */
static char *put_u64(char *out, uint64_t value, int width)
{
	char digits[20];
	int n = 0;
	do {
		digits[n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	for (int pad = width - n; pad > 0; pad--)
		*out++ = ' ';
	while (n)
		*out++ = digits[--n];
	return out;
}

/* Widths of the columns of `struct burst_record` in the render plug-in's
 * table: a u64, then two u32 (right-aligned, as wide as their largest
 * value), then the payload, last and unpadded; TIME is HH:MM:SS. */
#define SEQ_WIDTH 20
#define U32_WIDTH 10

static void write_header(FILE *f)
{
	fprintf(f, "%-8s  %*s  %*s  %*s  %s\n", "TIME", SEQ_WIDTH, "SEQ", U32_WIDTH, "CPU", U32_WIDTH, "PAD",
		"PAYLOAD");
}

/* The hand-written renderer: the rows the plug-in prints for `count`
 * records, built in `*buf` (grown as needed) and written at once. */
static void write_rows_by_hand(const program_list_u8_t *records, size_t count, uint64_t unix_time, char **buf,
			       size_t *cap, FILE *f)
{
	char clock[9];
	uint64_t day = unix_time % 86400;
	snprintf(clock, sizeof(clock), "%02u:%02u:%02u", (unsigned)(day / 3600), (unsigned)(day / 60 % 60),
		 (unsigned)(day % 60));
	char *out = *buf;
	for (size_t i = 0; i < count; i++) {
		const uint8_t *r = records[i].ptr;
		size_t payload = records[i].len - sizeof(struct record_head);
		/* Clock, separators and numbers, then at most 4 bytes a payload byte. */
		size_t need = 8 + 2 + SEQ_WIDTH + 2 + U32_WIDTH + 2 + U32_WIDTH + 2 + 2 + 4 * payload + 1;
		size_t used = (size_t)(out - *buf);
		if (used + need > *cap) {
			*cap = 2 * (used + need);
			char *grown = realloc(*buf, *cap);
			if (!grown)
				abort();
			*buf = grown;
			out = grown + used;
		}
		struct record_head head;
		memcpy(&head, r, sizeof(head));
		memcpy(out, clock, 8);
		out += 8;
		*out++ = ' ', *out++ = ' ';
		out = put_u64(out, head.seq, SEQ_WIDTH);
		*out++ = ' ', *out++ = ' ';
		out = put_u64(out, head.cpu, U32_WIDTH);
		*out++ = ' ', *out++ = ' ';
		out = put_u64(out, head.pad, U32_WIDTH);
		*out++ = ' ', *out++ = ' ';
		*out++ = '[';
		for (size_t b = 0; b < payload; b++) {
			if (b)
				*out++ = ',';
			out = put_u64(out, r[sizeof(head) + b], 0);
		}
		*out++ = ']';
		*out++ = '\n';
	}
	fwrite(*buf, 1, (size_t)(out - *buf), f);
}

/* `bpflet_records_write` of copies of the records, 32 bytes apart in
 * `*buf` (grown as needed): too far for it to pass them in place. */
static void write_copies(bpflet_record_printer_t printer, program_list_u8_t *views, size_t count, uint64_t unix_time,
			 char **buf, size_t *cap)
{
	enum { GAP = 32 };
	size_t total = 0;
	for (size_t i = 0; i < count; i++)
		total += views[i].len + GAP;
	if (total > *cap) {
		char *grown = realloc(*buf, total);
		if (!grown)
			abort();
		*buf = grown;
		*cap = total;
	}
	for (size_t i = 0, at = 0; i < count; at += views[i].len + GAP, i++) {
		memcpy(*buf + at, views[i].ptr, views[i].len);
		views[i] = bpflet_bytes((const uint8_t *)*buf + at, views[i].len);
	}
	bpflet_records_write(printer, views, count, unix_time, stdout);
}

/* Drains `produced` records in place, at most `max` (0: 512) a batch, and
 * prints each batch (`render`) before releasing it. */
static bool drain_render(bpflet_ring_t *ring, uint64_t produced, uint32_t max, enum render render,
			 bpflet_record_printer_t printer, uint64_t *records, uint64_t *sum, bpflet_error_t *err)
{
	size_t batch_max = max ? max : 512;
	program_list_u8_t *views = malloc(batch_max * sizeof(*views));
	char *buf = NULL;
	size_t cap = 0;
	bool ok = true;
	if (!views)
		abort();
	while (*records < produced) {
		size_t n = 0, len;
		const uint8_t *record;
		while (n < batch_max && (record = bpflet_ring_next(ring, &len))) {
			if (len < sizeof(struct record_head)) {
				ok = bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT,
						      "record of %zu bytes is shorter than %s (%zu bytes)", len,
						      "struct record_head", sizeof(struct record_head));
				goto out;
			}
			uint64_t seq;
			memcpy(&seq, record, sizeof(seq));
			*sum += seq;
			views[n++] = bpflet_bytes(record, len);
		}
		uint64_t now = (uint64_t)time(NULL);
		if (render == RENDER_PLUGIN)
			bpflet_records_write(printer, views, n, now, stdout);
		else if (render == RENDER_COPIES)
			write_copies(printer, views, n, now, &buf, &cap);
		else
			write_rows_by_hand(views, n, now, &buf, &cap, stdout);
		bpflet_ring_release(ring);
		*records += n;
	}
out:
	free(buf);
	free(views);
	return ok;
}

/* Drains `produced` records with poll batches of at most `max` records. */
static bool drain_poll(bpflet_events_t buffer, uint64_t produced, uint32_t max, uint64_t *records, uint64_t *sum,
		       bpflet_error_t *err)
{
	bpflet_batch_t batch;
	while (*records < produced) {
		if (!bpflet_events_poll(buffer, 0, max, &batch, err) ||
		    !BPFLET_BATCH_EXPECT(&batch, struct record_head, err)) {
			bpflet_batch_free(&batch);
			return false;
		}
		/* By index: every record holds a head (checked above). */
		size_t n = bpflet_batch_len(&batch);
		for (size_t i = 0; i < n; i++) {
			uint64_t seq;
			memcpy(&seq, bpflet_batch_at(&batch, i, NULL), sizeof(seq));
			*sum += seq;
		}
		*records += n;
		bpflet_batch_free(&batch);
	}
	return true;
}

static int events(uint64_t size, uint32_t trigger_pid, uint32_t count, uint32_t reps, uint32_t warmup,
		  uint32_t max_records, bool poll, enum render render)
{
	const unsigned char *elf;
	size_t elf_len;
	switch (size) {
	case 64: elf = burst_bpf; elf_len = sizeof(burst_bpf); break;
	case 512: elf = burst512_bpf; elf_len = sizeof(burst512_bpf); break;
	default: return fail_msg("--size takes 64 or 512, not %llu", (unsigned long long)size);
	}

	bpflet_error_t err;
	bpflet_object_t obj = { 0 };
	bpflet_map_t map = { 0 };
	bpflet_events_t buffer = { 0 };
	bpflet_ring_t ring = { 0 };
	bpflet_links_t links = { 0 };
	bpflet_printer_t printer = { 0 };
	bpflet_record_printer_t record_printer = { 0 };
	int status = 1;
	uint32_t bursts = warmup + reps;
	bpflet_global_t globals[] = {
		BPFLET_GLOBAL("target_pid", trigger_pid),
		BPFLET_GLOBAL("burst_count", count),
		BPFLET_GLOBAL("bursts_max", bursts),
	};

	if (!bpflet_object_open_load(elf, elf_len, globals, sizeof(globals) / sizeof(globals[0]), &obj, &err) ||
	    !bpflet_object_map(obj, "records", &map, &err) ||
	    !(poll ? bpflet_events_open(map, &buffer, &err) : bpflet_ring_open(map, &ring, &err)) ||
	    !bpflet_object_attach_all(obj, &links, &err))
		goto fail;
	if (render == RENDER_PLUGIN || render == RENDER_COPIES) {
		bpflet_printer_open(obj, &printer);
		if (!bpflet_printer_records(printer, "burst_record", false, &record_printer, &err))
			goto fail;
		bpflet_records_write_header(record_printer, stdout);
	} else if (render == RENDER_HAND) {
		write_header(stdout);
	}
	LINE("reader %s", poll ? "poll" : bpflet_ring_in_place(&ring) ? "in-place" : "polled");
	LINE("ready");

	uint64_t produced_before = 0, dropped_before = 0;
	for (uint32_t burst = 0; burst < bursts; burst++) {
		/* The burst is complete once every record is produced or dropped. */
		uint64_t produced, dropped;
		for (;;) {
			if (!BPFLET_OBJECT_GLOBAL(obj, "produced", &produced, &err) ||
			    !BPFLET_OBJECT_GLOBAL(obj, "dropped", &dropped, &err))
				goto fail;
			if (produced + dropped >= (uint64_t)count * ((uint64_t)burst + 1))
				break;
			bpflet_sleep_until(bpflet_monotonic_now() + 1000000);
		}
		produced -= produced_before;
		dropped -= dropped_before;
		produced_before += produced;
		dropped_before += dropped;
		/* The reader sees the burst before the timing starts (in place or
		 * polled: wait and ready are part of what the tests check). */
		if (!poll && produced && !bpflet_ring_wait(&ring, 1000)) {
			bpflet_error_set(&err, BPFLET_EBPF_TYPES_ERROR_INVALID_STATE,
					 "%llu records were produced, and the ring reader sees none",
					 (unsigned long long)produced);
			goto fail;
		}

		uint64_t start = bpflet_monotonic_now();
		uint64_t records = 0, sum = 0;
		if (!(render ? drain_render(&ring, produced, max_records, render, record_printer, &records, &sum, &err)
		      : poll ? drain_poll(buffer, produced, max_records, &records, &sum, &err)
			     : drain_ring(&ring, produced, max_records, &records, &sum, &err)))
			goto fail;
		uint64_t ns = bpflet_monotonic_now() - start;
		int64_t rep = (int64_t)burst - (int64_t)warmup;
		LINE("rep %lld records=%llu ns=%llu sum=%llu dropped=%llu", (long long)rep,
		     (unsigned long long)records, (unsigned long long)ns, (unsigned long long)sum,
		     (unsigned long long)dropped);
	}
	LINE("done");
	status = 0;
	goto out;
fail:
	status = bpflet_error_exit("bench", &err);
out:
	bpflet_links_drop(&links);
	bpflet_record_printer_drop(&record_printer);
	bpflet_printer_drop(&printer);
	bpflet_ring_drop(&ring);
	bpflet_events_drop(&buffer);
	bpflet_map_drop(&map);
	bpflet_object_drop(&obj);
	return status;
}

/* ---- maps ----------------------------------------------------------------- */

static int maps(uint64_t ops, uint64_t reps)
{
	bpflet_error_t err;
	bpflet_object_t obj = { 0 };
	bpflet_map_t hash = { 0 }, percpu = { 0 };
	bpflet_map_info_t info;
	bpflet_map_iter_t it = { 0 };
	uint64_t *values = NULL;
	int status = 1;

	if (!bpflet_object_open_load(benchmaps_bpf, sizeof(benchmaps_bpf), NULL, 0, &obj, &err) ||
	    !bpflet_object_map(obj, "hash", &hash, &err) ||
	    !bpflet_map_check(hash, BPFLET_MAP_TYPE(HASH), sizeof(uint64_t), sizeof(uint64_t), NULL, &err) ||
	    !bpflet_object_map(obj, "percpu", &percpu, &err) ||
	    !bpflet_map_check(percpu, BPFLET_MAP_TYPE(PERCPU_ARRAY), sizeof(uint32_t), sizeof(uint64_t), &info,
			      &err))
		goto fail;
	uint32_t len = info.max_entries, ncpus = info.possible_cpus;
	bpflet_ebpf_maps_map_info_free(&info);
	if (len == 0) {
		bpflet_error_set(&err, BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT, "map \"percpu\" has no elements");
		goto fail;
	}
	values = malloc((ncpus ? ncpus : 1) * sizeof(*values));
	if (!values)
		abort();
	/* 8-byte keys and values: the word functions, as the Rust SDK's
	 * typed maps use them. */
	uint32_t words;
	if (!bpflet_map_word_handle(hash, &words, &err))
		goto fail;
	LINE("ready");

	for (uint64_t rep = 0; rep < reps; rep++) {
		uint64_t start = bpflet_monotonic_now();
		for (uint64_t key = 0; key < ops; key++) {
			if (!bpflet_map_update_word(words, key, key ^ VALUE_XOR, BPFLET_EBPF_MAPS_UPDATE_FLAG_ANY, &err))
				goto fail;
		}
		LINE("map-update rep=%llu ops=%llu ns=%llu", (unsigned long long)rep, (unsigned long long)ops,
		     (unsigned long long)(bpflet_monotonic_now() - start));

		start = bpflet_monotonic_now();
		for (uint64_t key = 0; key < ops; key++) {
			uint64_t value;
			int found = bpflet_map_lookup_word(words, key, &value, &err);
			if (found < 0)
				goto fail;
			if (!found || value != (key ^ VALUE_XOR)) {
				bpflet_error_set(&err, BPFLET_EBPF_TYPES_ERROR_INVALID_STATE,
						 "lookup of %llu returned the wrong value", (unsigned long long)key);
				goto fail;
			}
		}
		LINE("map-lookup rep=%llu ops=%llu ns=%llu", (unsigned long long)rep, (unsigned long long)ops,
		     (unsigned long long)(bpflet_monotonic_now() - start));

		start = bpflet_monotonic_now();
		uint64_t elements = 0;
		if (!bpflet_map_iter_init(&it, hash, sizeof(uint64_t), sizeof(uint64_t), &err))
			goto fail;
		for (;;) {
			uint64_t key, value;
			int more = bpflet_map_iter_next(&it, &key, &value, &err);
			if (more < 0)
				goto fail;
			if (!more)
				break;
			if (value != (key ^ VALUE_XOR)) {
				bpflet_error_set(&err, BPFLET_EBPF_TYPES_ERROR_INVALID_STATE,
						 "batch lookup of %llu returned the wrong value",
						 (unsigned long long)key);
				goto fail;
			}
			elements++;
		}
		bpflet_map_iter_free(&it);
		LINE("map-lookup-batch rep=%llu ops=%llu ns=%llu", (unsigned long long)rep,
		     (unsigned long long)elements, (unsigned long long)(bpflet_monotonic_now() - start));

		start = bpflet_monotonic_now();
		uint64_t total = 0;
		for (uint64_t i = 0; i < ops; i++) {
			uint32_t index = (uint32_t)(i % len);
			int found = BPFLET_MAP_LOOKUP_PER_CPU(percpu, &index, values, ncpus, &err);
			if (found < 0)
				goto fail;
			if (!found) {
				bpflet_error_set(&err, BPFLET_EBPF_TYPES_ERROR_NOT_FOUND,
						 "index %u is out of range for map \"percpu\" of %u elements", index,
						 len);
				goto fail;
			}
			for (uint32_t cpu = 0; cpu < ncpus; cpu++)
				total += values[cpu];
		}
		LINE("percpu-lookup rep=%llu ops=%llu ns=%llu sum=%llu", (unsigned long long)rep,
		     (unsigned long long)ops, (unsigned long long)(bpflet_monotonic_now() - start),
		     (unsigned long long)total);

		/* The floor under every call above: a host call that does no
		 * kernel work (borrow a resource, return a bool). */
		start = bpflet_monotonic_now();
		uint64_t loaded = 0;
		for (uint64_t i = 0; i < ops; i++)
			loaded += bpflet_object_loaded(obj);
		LINE("host-call rep=%llu ops=%llu ns=%llu loaded=%llu", (unsigned long long)rep,
		     (unsigned long long)ops, (unsigned long long)(bpflet_monotonic_now() - start),
		     (unsigned long long)loaded);
	}
	LINE("done");
	status = 0;
	goto out;
fail:
	status = bpflet_error_exit("bench", &err);
out:
	bpflet_map_iter_free(&it);
	free(values);
	bpflet_map_drop(&percpu);
	bpflet_map_drop(&hash);
	bpflet_object_drop(&obj);
	return status;
}

/* ---- main ----------------------------------------------------------------- */

static int bench_main(int argc, char **argv)
{
	report = stdout;
	const char *mode = argc > 1 ? argv[1] : "";
	struct opts opts;
	uint64_t size, pid, count, reps, warmup, batch, poll, render, ops;

	if (parse_opts(argc, argv, 2, &opts))
		return 1;
	if (!strcmp(mode, "events")) {
		if (!opt(&opts, "size", false, 64, &size) || !opt(&opts, "trigger-pid", true, 0, &pid) ||
		    !opt(&opts, "count", false, 100000, &count) || !opt(&opts, "reps", false, 5, &reps) ||
		    !opt(&opts, "warmup", false, 1, &warmup) || !opt(&opts, "batch", false, 0, &batch) ||
		    !opt(&opts, "poll", false, 0, &poll) || !opt(&opts, "render", false, 0, &render))
			return 1;
		if (render > RENDER_COPIES)
			return fail_msg("--render takes 1 (the plug-in), 2 (by hand) or 3 (the plug-in, from copies), not %llu",
					(unsigned long long)render);
		if (render && poll)
			return fail_msg("--render reads the ring in place: not with --poll");
		if (render)
			report = stderr;
		return events(size, (uint32_t)pid, (uint32_t)count, (uint32_t)reps, (uint32_t)warmup,
			      (uint32_t)batch, poll != 0, (enum render)render);
	}
	if (!strcmp(mode, "maps")) {
		if (!opt(&opts, "ops", false, 1000000, &ops) || !opt(&opts, "reps", false, 3, &reps))
			return 1;
		return maps(ops, reps);
	}
	/* Does nothing: the harness runs it once so that bpflet compiles and
	 * caches the component before anything is measured. */
	if (!strcmp(mode, "check"))
		return 0;
	return fail_msg("%s", usage);
}

BPFLET_MAIN(bench_main)
