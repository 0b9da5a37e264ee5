/*
 * bpflet_fmt.h: text in and out the way the Rust guests do it, so that a C
 * guest and its Rust twin print byte-identical output and accept the same
 * command lines.
 *
 * - C arrays from BPF (comm, filename) become text as Rust's
 *   String::from_utf8_lossy does: up to the first NUL, each maximal invalid
 *   UTF-8 sequence replaced by U+FFFD.
 * - `{:<16}` pads by characters (code points), not bytes.
 * - `{:?}` of a string, for error messages that quote an argument.
 * - Numbers parse as Rust's `u32::from_str` (`u64::from_str`); seconds as `f64::from_str`
 *   then `Duration::try_from_secs_f64` (rounded to the nanosecond).
 */
#ifndef BPFLET_FMT_H
#define BPFLET_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Bytes `bpflet_lossy` may write for a `size`-byte array, NUL included:
 * every byte may become a 3-byte U+FFFD. */
#define BPFLET_LOSSY_SIZE(size) (3 * (size) + 1)

/* The text of the NUL-terminated (or full) array `bytes[0..size)` as valid
 * UTF-8 in `out` (BPFLET_LOSSY_SIZE(size) bytes), NUL-terminated. Returns
 * its length in bytes. */
size_t bpflet_lossy(const void *bytes, size_t size, char *out);

/* Number of characters (code points) of valid UTF-8 text. */
size_t bpflet_utf8_chars(const char *text);

/* Writes `text` left-aligned in a field of `width` characters, as Rust's
 * `{:<width}` does (longer text is not cut). */
void bpflet_fput_left(FILE *f, const char *text, size_t width);

/* Writes `text` as Rust's `{:?}` of a str: in double quotes, with \", \\,
 * \n, \r, \t, \0 and \u{..} for other control characters (ASCII and C1).
 * Rust also escapes some non-printable or combining non-ASCII characters;
 * those are written as they are here. */
void bpflet_fput_debug(FILE *f, const char *text);

/* Rust's `u32::from_str`: an optional '+', then decimal digits, no spaces,
 * no overflow. */
bool bpflet_parse_u32(const char *text, uint32_t *out);
/* The same for `u64::from_str`. */
bool bpflet_parse_u64(const char *text, uint64_t *out);

/* A span of time, as Rust's std::time::Duration. */
typedef struct bpflet_duration {
	uint64_t secs;
	uint32_t nanos;
} bpflet_duration_t;

/* Seconds as Rust's `f64::from_str` reads them ("1", "0.5", "2e3", "+.5",
 * "inf", ...) turned into a Duration by `Duration::try_from_secs_f64`:
 * false for text that is not a number, negative, not finite or too large. */
bool bpflet_parse_secs(const char *text, bpflet_duration_t *out);

static inline bool bpflet_duration_is_zero(bpflet_duration_t d)
{
	return d.secs == 0 && d.nanos == 0;
}

/* In nanoseconds, saturating at UINT64_MAX (584 years). */
uint64_t bpflet_duration_ns(bpflet_duration_t d);

/* The command line of the tracers (exectrace, sizehist), as Go's
 * cli.TraceParser reads it: `--json`, `ID_FLAG N` (a u32; 0 when absent),
 * `--duration SECS`, `-h`/`--help`. */
typedef struct bpflet_trace_args {
	bool json;
	uint32_t id;
	bool has_duration;
	bpflet_duration_t duration;
} bpflet_trace_args_t;

/* Parses argv[1..] into `out`. 0: run; 1: `usage` printed to stdout
 * (--help); 2: a bad command line, said on stderr as `NAME: what "arg"`
 * followed by `usage`. */
int bpflet_parse_trace_args(const char *name, const char *usage, const char *id_flag, int argc, char **argv,
			    bpflet_trace_args_t *out);

/* a + b, saturating at UINT64_MAX. */
static inline uint64_t bpflet_add_ns(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

#endif
