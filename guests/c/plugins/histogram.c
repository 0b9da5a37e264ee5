/*
 * A provider of bpflet:ebpf/histogram written in C: the same text and JSON
 * as bpflet's built-in (Rust) provider, byte for byte. Plug it in with
 * `bpflet run --plug c-histogram.wasm prog.bpf.o`.
 *
 * It uses no I/O at all (not even snprintf, which brings stdio and with
 * it WASI file calls), so the component imports nothing but WIT types:
 * build.sh makes it a component without the WASI adapter, and bpflet lets
 * it in without --plug-allow. Label values go into the JSON as the caller
 * gives them (the Rust provider checks that they parse).
 */
#include "histogram_provider.h"

#include <stdlib.h>
#include <string.h>

typedef exports_bpflet_ebpf_histogram_scale_t scale_t;
typedef unsigned __int128 u128;
typedef __int128 i128;

/* Width of the star bar. */
#define STARS 40

/* A growing string; out of memory traps (the host reports it). */
struct text {
	char *ptr;
	size_t len, cap;
};

static void reserve(struct text *t, size_t more)
{
	if (t->len + more + 1 <= t->cap)
		return;
	size_t cap = t->cap ? t->cap : 256;
	while (cap < t->len + more + 1)
		cap *= 2;
	t->ptr = realloc(t->ptr, cap);
	if (!t->ptr)
		__builtin_trap();
	t->cap = cap;
}

static void put(struct text *t, const char *s, size_t n)
{
	reserve(t, n);
	memcpy(t->ptr + t->len, s, n);
	t->len += n;
	t->ptr[t->len] = 0;
}

static void puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

static void repeat(struct text *t, char c, size_t n)
{
	reserve(t, n);
	memset(t->ptr + t->len, c, n);
	t->len += n;
	t->ptr[t->len] = 0;
}

/* Characters (code points) of UTF-8 text, as Rust's padding counts them. */
static size_t chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* `s` left-aligned in `width` characters (`{:<width}`). */
static void left(struct text *t, const char *s, size_t len, size_t width)
{
	put(t, s, len);
	size_t have = chars(s, len);
	if (have < width)
		repeat(t, ' ', width - have);
}

static void i128_text(i128 v, char *out)
{
	char digits[48];
	size_t n = 0;
	u128 u = v < 0 ? -(u128)v : (u128)v;
	do {
		digits[n++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	size_t k = 0;
	if (v < 0)
		out[k++] = '-';
	while (n)
		out[k++] = digits[--n];
	out[k] = 0;
}

/* A number as decimal text. */
static void dec(struct text *t, i128 v)
{
	char s[48];
	i128_text(v, s);
	puts_(t, s);
}

/* A number right- or left-aligned in `width` (`{:>width}`, `{:<width}`). */
static void number(struct text *t, i128 v, size_t width, bool right)
{
	char s[48];
	i128_text(v, s);
	size_t len = strlen(s);
	if (right && len < width)
		repeat(t, ' ', width - len);
	puts_(t, s);
	if (!right && len < width)
		repeat(t, ' ', width - len);
}

static bool range(const uint64_t *slots, size_t n, size_t *first, size_t *last)
{
	size_t i = 0;
	while (i < n && slots[i] == 0)
		i++;
	if (i == n)
		return false;
	size_t j = n - 1;
	while (slots[j] == 0)
		j--;
	*first = i;
	*last = j;
	return true;
}

static void bucket(const scale_t *scale, size_t i, i128 *low, i128 *high)
{
	if (scale->tag == EXPORTS_BPFLET_EBPF_HISTOGRAM_SCALE_LOG2) {
		if (i == 0) {
			*low = 0;
			*high = 1;
			return;
		}
		/* Slots past 126 print as 126, in unsigned arithmetic: 2^127 - 1
		 * is the most an i128 holds (as in the Rust provider). */
		unsigned shift = i < 126 ? (unsigned)i : 126;
		*low = (i128)((u128)1 << shift);
		*high = (i128)(((u128)1 << (shift + 1)) - 1);
	} else {
		*low = (i128)scale->val.linear.min + (i128)i * scale->val.linear.step;
		*high = *low + scale->val.linear.step - 1;
	}
}

static void bar(struct text *t, uint64_t count, uint64_t max, unsigned width)
{
	size_t stars = max ? (size_t)((u128)count * width / max) : 0;
	repeat(t, '*', stars);
	repeat(t, ' ', width - stars);
}

static bool check(const scale_t *scale, exports_bpflet_ebpf_histogram_error_t *err)
{
	if (scale->tag == EXPORTS_BPFLET_EBPF_HISTOGRAM_SCALE_LINEAR && scale->val.linear.step <= 0) {
		struct text message = { 0 };
		puts_(&message, "linear scale with step ");
		dec(&message, scale->val.linear.step);
		puts_(&message, ": the step must be greater than 0");
		err->tag = BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT;
		err->val.invalid_argument = (histogram_provider_string_t){ (uint8_t *)message.ptr, message.len };
		return false;
	}
	return true;
}

/* Hands the text to the caller as the result, or drops it on failure. */
static bool finish(bool ok, struct text *t, histogram_provider_string_t *ret)
{
	if (!ok) {
		free(t->ptr);
		return false;
	}
	ret->ptr = (uint8_t *)(t->ptr ? t->ptr : strdup(""));
	ret->len = t->len;
	return true;
}

bool exports_bpflet_ebpf_histogram_text(histogram_provider_list_u64_t *slots, scale_t *scale,
					histogram_provider_string_t *unit, histogram_provider_string_t *ret,
					exports_bpflet_ebpf_histogram_error_t *err)
{
	bool ok = check(scale, err);
	struct text t = { 0 };
	size_t first, last;
	if (ok && range(slots->ptr, slots->len, &first, &last)) {
		uint64_t max = 0;
		for (size_t i = first; i <= last; i++)
			max = slots->ptr[i] > max ? slots->ptr[i] : max;
		const char *u = (const char *)unit->ptr;
		if (scale->tag == EXPORTS_BPFLET_EBPF_HISTOGRAM_SCALE_LOG2) {
			/* Values past 2^33 need wider columns (and a shorter bar), as in BCC. */
			bool wide = last > 32;
			size_t indent = wide ? 15 : 5, label = wide ? 29 : 19, width = wide ? 20 : 10;
			unsigned stars = wide ? STARS / 2 : STARS;
			repeat(&t, ' ', indent);
			left(&t, u, unit->len, label);
			puts_(&t, " : count     distribution\n");
			for (size_t i = first; i <= last; i++) {
				i128 low, high;
				bucket(scale, i, &low, &high);
				number(&t, low, width, true);
				puts_(&t, " -> ");
				number(&t, high, width, false);
				puts_(&t, " : ");
				number(&t, slots->ptr[i], 8, false);
				puts_(&t, " |");
				bar(&t, slots->ptr[i], max, stars);
				puts_(&t, "|\n");
			}
		} else {
			puts_(&t, "     ");
			left(&t, u, unit->len, 13);
			puts_(&t, " : count     distribution\n");
			for (size_t i = first; i <= last; i++) {
				i128 low, high;
				bucket(scale, i, &low, &high);
				puts_(&t, "        ");
				number(&t, low, 10, false);
				puts_(&t, " : ");
				number(&t, slots->ptr[i], 8, false);
				puts_(&t, " |");
				bar(&t, slots->ptr[i], max, STARS);
				puts_(&t, "|\n");
			}
		}
	}
	histogram_provider_list_u64_free(slots);
	histogram_provider_string_free(unit);
	return finish(ok, &t, ret);
}

/* A JSON string as serde_json writes it. */
static void json_string(struct text *t, const uint8_t *s, size_t len)
{
	puts_(t, "\"");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		switch (c) {
		case '"': puts_(t, "\\\""); break;
		case '\\': puts_(t, "\\\\"); break;
		case '\b': puts_(t, "\\b"); break;
		case '\f': puts_(t, "\\f"); break;
		case '\n': puts_(t, "\\n"); break;
		case '\r': puts_(t, "\\r"); break;
		case '\t': puts_(t, "\\t"); break;
		default:
			if (c < 0x20) {
				const char *hex = "0123456789abcdef";
				char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
				puts_(t, u);
			} else
				put(t, (const char *)&c, 1);
		}
	}
	puts_(t, "\"");
}

bool exports_bpflet_ebpf_histogram_json(exports_bpflet_ebpf_histogram_list_label_t *labels,
					histogram_provider_list_u64_t *slots, scale_t *scale,
					histogram_provider_string_t *unit, histogram_provider_string_t *ret,
					exports_bpflet_ebpf_histogram_error_t *err)
{
	bool ok = check(scale, err);
	struct text t = { 0 };
	if (ok) {
		puts_(&t, "{");
		/* The labels' values go in as given: JSON text from the caller. */
		for (size_t i = 0; i < labels->len; i++) {
			json_string(&t, labels->ptr[i].name.ptr, labels->ptr[i].name.len);
			puts_(&t, ":");
			put(&t, (const char *)labels->ptr[i].json.ptr, labels->ptr[i].json.len);
			puts_(&t, ",");
		}
		puts_(&t, "\"unit\":");
		json_string(&t, unit->ptr, unit->len);
		if (scale->tag == EXPORTS_BPFLET_EBPF_HISTOGRAM_SCALE_LOG2)
			puts_(&t, ",\"scale\":\"log2\"");
		else {
			puts_(&t, ",\"scale\":{\"linear\":{\"min\":");
			dec(&t, scale->val.linear.min);
			puts_(&t, ",\"step\":");
			dec(&t, scale->val.linear.step);
			puts_(&t, "}}");
		}
		puts_(&t, ",\"buckets\":[");
		size_t first, last;
		uint64_t total = 0;
		for (size_t i = 0; i < slots->len; i++)
			total = total + slots->ptr[i] < total ? UINT64_MAX : total + slots->ptr[i];
		if (range(slots->ptr, slots->len, &first, &last)) {
			for (size_t i = first; i <= last; i++) {
				i128 low, high;
				bucket(scale, i, &low, &high);
				/* Exact, past 64 bits too. */
				puts_(&t, i > first ? ",{\"low\":" : "{\"low\":");
				number(&t, low, 0, false);
				puts_(&t, ",\"high\":");
				number(&t, high, 0, false);
				puts_(&t, ",\"count\":");
				dec(&t, slots->ptr[i]);
				puts_(&t, "}");
			}
		}
		puts_(&t, "],\"total\":");
		dec(&t, total);
		puts_(&t, "}");
	}
	exports_bpflet_ebpf_histogram_list_label_free(labels);
	histogram_provider_list_u64_free(slots);
	histogram_provider_string_free(unit);
	return finish(ok, &t, ret);
}
