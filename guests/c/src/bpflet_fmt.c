/* Rust-compatible text formatting and parsing: see bpflet_fmt.h. */
#include "bpflet_fmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_continuation(uint8_t b)
{
	return (b & 0xC0) == 0x80;
}

/* Length of the valid UTF-8 sequence at `s[0..n)`, or 0 with `*bad` set to
 * the number of bytes the invalid sequence spans: the maximal prefix of a
 * well-formed sequence, at least one byte (Rust's Utf8Chunks). */
static size_t utf8_sequence(const uint8_t *s, size_t n, size_t *bad)
{
	uint8_t b0 = s[0];
	uint8_t b1 = n > 1 ? s[1] : 0;
	size_t width;
	bool second_ok;

	if (b0 < 0x80)
		return 1;
	if (b0 >= 0xC2 && b0 <= 0xDF) {
		width = 2;
		second_ok = is_continuation(b1);
	} else if (b0 >= 0xE0 && b0 <= 0xEF) {
		width = 3;
		second_ok = b0 == 0xE0 ? b1 >= 0xA0 && b1 <= 0xBF
			  : b0 == 0xED ? b1 >= 0x80 && b1 <= 0x9F
				       : is_continuation(b1);
	} else if (b0 >= 0xF0 && b0 <= 0xF4) {
		width = 4;
		second_ok = b0 == 0xF0 ? b1 >= 0x90 && b1 <= 0xBF
			  : b0 == 0xF4 ? b1 >= 0x80 && b1 <= 0x8F
				       : is_continuation(b1);
	} else {
		*bad = 1;
		return 0;
	}
	if (n < 2 || !second_ok) {
		*bad = 1;
		return 0;
	}
	for (size_t i = 2; i < width; i++) {
		if (i >= n || !is_continuation(s[i])) {
			*bad = i;
			return 0;
		}
	}
	return width;
}

size_t bpflet_lossy(const void *bytes, size_t size, char *out)
{
	const uint8_t *s = bytes;
	const uint8_t *nul = memchr(s, 0, size);
	size_t n = nul ? (size_t)(nul - s) : size;
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		size_t bad = 0;
		size_t len = utf8_sequence(s + i, n - i, &bad);
		if (len) {
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
		} else {
			memcpy(out + o, "\xEF\xBF\xBD", 3); /* U+FFFD */
			o += 3;
			i += bad;
		}
	}
	out[o] = '\0';
	return o;
}

size_t bpflet_utf8_chars(const char *text)
{
	size_t chars = 0;
	for (const uint8_t *p = (const uint8_t *)text; *p; p++)
		chars += !is_continuation(*p);
	return chars;
}

void bpflet_fput_left(FILE *f, const char *text, size_t width)
{
	fputs(text, f);
	for (size_t chars = bpflet_utf8_chars(text); chars < width; chars++)
		fputc(' ', f);
}

/* The code point at `p` (valid UTF-8) and its length. */
static uint32_t decode(const uint8_t *p, size_t *len)
{
	if (p[0] < 0x80) {
		*len = 1;
		return p[0];
	}
	if (p[0] < 0xE0) {
		*len = 2;
		return (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
	}
	if (p[0] < 0xF0) {
		*len = 3;
		return (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
	}
	*len = 4;
	return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 | (uint32_t)(p[2] & 0x3F) << 6 |
	       (p[3] & 0x3F);
}

void bpflet_fput_debug(FILE *f, const char *text)
{
	const uint8_t *p = (const uint8_t *)text;
	fputc('"', f);
	while (*p) {
		size_t len;
		uint32_t c = decode(p, &len);
		switch (c) {
		case '\0': fputs("\\0", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		case '\n': fputs("\\n", f); break;
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		default:
			if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD)
				fprintf(f, "\\u{%x}", (unsigned)c);
			else
				fwrite(p, 1, len, f);
		}
		p += len;
	}
	fputc('"', f);
}

bool bpflet_parse_u32(const char *text, uint32_t *out)
{
	uint64_t value;

	if (!bpflet_parse_u64(text, &value) || value > UINT32_MAX)
		return false;
	*out = (uint32_t)value;
	return true;
}

bool bpflet_parse_u64(const char *text, uint64_t *out)
{
	const char *p = text;
	uint64_t value = 0;

	if (*p == '+')
		p++;
	if (!*p)
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		uint64_t digit = (uint64_t)(*p - '0');
		if (value > (UINT64_MAX - digit) / 10)
			return false;
		value = value * 10 + digit;
	}
	*out = value;
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Whether `text` is a decimal number as Rust's f64::from_str reads it,
 * excluding inf/infinity/nan (which no Duration accepts anyway). */
static bool is_decimal(const char *p)
{
	size_t digits = 0;

	if (*p == '+' || *p == '-')
		p++;
	while (is_digit(*p))
		p++, digits++;
	if (*p == '.') {
		p++;
		while (is_digit(*p))
			p++, digits++;
	}
	if (digits == 0)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!is_digit(*p))
			return false;
		while (is_digit(*p))
			p++;
	}
	return *p == '\0';
}

/* Duration::try_from_secs_f64: exact, rounding to the nearest nanosecond,
 * ties to even. */
static bool secs_from_f64(double x, bpflet_duration_t *out)
{
	if (isnan(x) || isinf(x) || x < 0)
		return false;
	if (x == 0) {
		*out = (bpflet_duration_t){ 0 };
		return true;
	}
	int exp;
	double fraction = frexp(x, &exp);                  /* x = fraction * 2^exp */
	uint64_t mantissa = (uint64_t)ldexp(fraction, 53); /* exact */
	int shift = 53 - exp;                              /* x = mantissa / 2^shift */

	if (shift <= 0) {
		if (-shift >= 64 || mantissa > UINT64_MAX >> -shift)
			return false;
		*out = (bpflet_duration_t){ .secs = mantissa << -shift };
		return true;
	}
	if (shift > 120) {
		/* Below 2^-67 seconds: rounds to zero nanoseconds. */
		*out = (bpflet_duration_t){ 0 };
		return true;
	}
	typedef unsigned __int128 u128;
	u128 one = 1;
	uint64_t secs = shift >= 64 ? 0 : mantissa >> shift;
	u128 fraction_bits = (u128)mantissa & ((one << shift) - 1);
	u128 scaled = fraction_bits * 1000000000u; /* < 2^83 */
	uint64_t nanos = (uint64_t)(scaled >> shift);
	u128 rest = scaled & ((one << shift) - 1);
	u128 half = one << (shift - 1);
	if (rest > half || (rest == half && (nanos & 1)))
		nanos++;
	if (nanos == 1000000000u) {
		secs++;
		nanos = 0;
	}
	*out = (bpflet_duration_t){ .secs = secs, .nanos = (uint32_t)nanos };
	return true;
}

bool bpflet_parse_secs(const char *text, bpflet_duration_t *out)
{
	if (!is_decimal(text))
		return false;
	/* The grammar is checked above, so strtod (correctly rounded, as Rust's
	 * parser) reads all of it, and no hex float or "nan(...)" slips in. */
	return secs_from_f64(strtod(text, NULL), out);
}

uint64_t bpflet_duration_ns(bpflet_duration_t d)
{
	if (d.secs > (UINT64_MAX - d.nanos) / 1000000000u)
		return UINT64_MAX;
	return d.secs * 1000000000u + d.nanos;
}

static int bad_trace_arg(const char *name, const char *usage, const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s ", name, what);
	bpflet_fput_debug(stderr, arg);
	fprintf(stderr, "\n%s", usage);
	return 2;
}

int bpflet_parse_trace_args(const char *name, const char *usage, const char *id_flag, int argc, char **argv,
			    bpflet_trace_args_t *out)
{
	*out = (bpflet_trace_args_t){ 0 };
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "--json")) {
			out->json = true;
		} else if (!strcmp(arg, id_flag) || !strcmp(arg, "--duration")) {
			if (i + 1 >= argc)
				return bad_trace_arg(name, usage, "a value must follow", arg);
			const char *value = argv[++i];
			bool is_id = !strcmp(arg, id_flag);
			if (is_id ? !bpflet_parse_u32(value, &out->id) : !bpflet_parse_secs(value, &out->duration)) {
				char what[64];
				snprintf(what, sizeof(what), "bad %s", arg);
				return bad_trace_arg(name, usage, what, value);
			}
			out->has_duration |= !is_id;
		} else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			fputs(usage, stdout);
			return 1;
		} else {
			return bad_trace_arg(name, usage, "unknown argument", arg);
		}
	}
	return 0;
}
