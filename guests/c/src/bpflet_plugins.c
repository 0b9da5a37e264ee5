/* The plug-in helpers of bpflet.h (render, histogram) over the generated bindings. */
#include "bpflet.h"

void bpflet_printer_open(bpflet_object_t object, bpflet_printer_t *out)
{
	bpflet_ebpf_ebpf_loader_borrow_bpf_object_t borrowed = { object.handle.__handle };
	bpflet_ebpf_ebpf_loader_list_btf_type_t types;
	bpflet_ebpf_ebpf_loader_method_bpf_object_btf_types(borrowed, &types);
	/* The same WIT list type in both interfaces. */
	bpflet_ebpf_render_list_btf_type_t *list = (bpflet_ebpf_render_list_btf_type_t *)&types;
	out->handle = bpflet_ebpf_render_constructor_types(list);
	bpflet_ebpf_ebpf_loader_list_btf_type_free(&types);
}

bool bpflet_printer_records(bpflet_printer_t printer, const char *type_name, bool json,
			    bpflet_record_printer_t *out, bpflet_error_t *err)
{
	bpflet_ebpf_render_borrow_types_t types = bpflet_ebpf_render_borrow_types(printer.handle);
	program_string_t name = bpflet_str(type_name);
	bpflet_ebpf_render_type_id_t id;
	if (!bpflet_ebpf_render_method_types_find(types, &name, &id))
		return bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_NOT_FOUND, "the object has no type %s", type_name);
	bpflet_ebpf_render_format_t format = json ? BPFLET_EBPF_RENDER_FORMAT_JSON : BPFLET_EBPF_RENDER_FORMAT_TABLE;
	return bpflet_ebpf_render_method_types_records(types, &id, format, &out->handle, err);
}

static void write_string(program_string_t *text, FILE *f)
{
	fwrite(text->ptr, 1, text->len, f);
	program_string_free(text);
}

void bpflet_records_write_header(bpflet_record_printer_t printer, FILE *f)
{
	program_string_t header;
	bpflet_ebpf_render_method_records_header(bpflet_ebpf_render_borrow_records(printer.handle), &header);
	write_string(&header, f);
}

/* The call itself: `data` in, one span per record into it. */
static void write_rows(bpflet_record_printer_t printer, const uint8_t *data, size_t len,
		       bpflet_ebpf_render_span_t *spans, size_t count, uint64_t unix_time, FILE *f)
{
	/* The generated binding takes the lists as mutable; it only reads them. */
	program_list_u8_t bytes = bpflet_bytes(data, len);
	bpflet_ebpf_render_list_span_t list = { .ptr = spans, .len = count };
	program_string_t rows;
	bpflet_ebpf_render_method_records_rows(bpflet_ebpf_render_borrow_records(printer.handle), &bytes, &list,
					       unix_time, &rows);
	write_string(&rows, f);
}

/* Records further apart than this are not sent as one stretch of memory:
 * a mapped ring puts an 8-byte header and at most 7 bytes of padding
 * between two records, a batch nothing. */
#define MAX_GAP 16

/* Spans are 32-bit, as all of wasm32's memory is. */
_Static_assert(SIZE_MAX <= UINT32_MAX, "bpflet guests are wasm32");

void bpflet_records_write(bpflet_record_printer_t printer, const program_list_u8_t *records, size_t count,
			  uint64_t unix_time, FILE *f)
{
	if (count == 0)
		return;
	bpflet_ebpf_render_span_t *spans = malloc(count * sizeof(*spans));
	if (!spans)
		abort();
	/* In place when the records lie in order, a few bytes apart at most
	 * (a ring, a batch): the plug-in gets that stretch of memory, the
	 * bytes between records included. Addresses compared as numbers. */
	uintptr_t base = (uintptr_t)records[0].ptr, end = base;
	bool in_place = true;
	for (size_t i = 0; i < count && in_place; i++) {
		uintptr_t at = (uintptr_t)records[i].ptr;
		in_place = at >= end && at - end <= MAX_GAP && records[i].len <= UINTPTR_MAX - at;
		spans[i] = (bpflet_ebpf_render_span_t){ (uint32_t)(at - base), (uint32_t)records[i].len };
		end = at + records[i].len;
	}
	if (in_place) {
		write_rows(printer, records[0].ptr, (size_t)(end - base), spans, count, unix_time, f);
		free(spans);
		return;
	}
	/* Else packed back to back first (a copy of their own). */
	size_t total = 0;
	for (size_t i = 0; i < count; i++) {
		/* Views may repeat: more than memory holds is a bug of the caller. */
		if (records[i].len > SIZE_MAX - total)
			abort();
		total += records[i].len;
	}
	uint8_t *packed = malloc(total ? total : 1);
	if (!packed)
		abort();
	for (size_t i = 0, at = 0; i < count; at += records[i].len, i++) {
		memcpy(packed + at, records[i].ptr, records[i].len);
		spans[i] = (bpflet_ebpf_render_span_t){ (uint32_t)at, (uint32_t)records[i].len };
	}
	write_rows(printer, packed, total, spans, count, unix_time, f);
	free(packed);
	free(spans);
}

void bpflet_records_write_batch(bpflet_record_printer_t printer, const bpflet_batch_t *batch, uint64_t unix_time,
				FILE *f)
{
	size_t count = bpflet_batch_len(batch);
	if (count == 0)
		return;
	/* The batch as it is: its data, a span per offset. */
	bpflet_ebpf_render_span_t *spans = malloc(count * sizeof(*spans));
	if (!spans)
		abort();
	for (size_t i = 0; i < count; i++) {
		size_t len;
		const uint8_t *record = bpflet_batch_at(batch, i, &len);
		spans[i] = (bpflet_ebpf_render_span_t){ (uint32_t)(record - batch->raw.data.ptr), (uint32_t)len };
	}
	write_rows(printer, batch->raw.data.ptr, batch->raw.data.len, spans, count, unix_time, f);
	free(spans);
}

void bpflet_printer_drop(bpflet_printer_t *printer)
{
	if (printer->handle.__handle) {
		bpflet_ebpf_render_types_drop_own(printer->handle);
		printer->handle.__handle = 0;
	}
}

void bpflet_record_printer_drop(bpflet_record_printer_t *printer)
{
	if (printer->handle.__handle) {
		bpflet_ebpf_render_records_drop_own(printer->handle);
		printer->handle.__handle = 0;
	}
}

static bpflet_ebpf_histogram_scale_t wit_scale(bpflet_hist_scale_t scale)
{
	bpflet_ebpf_histogram_scale_t wit = { .tag = BPFLET_EBPF_HISTOGRAM_SCALE_LOG2 };
	if (scale.step != 0) {
		wit.tag = BPFLET_EBPF_HISTOGRAM_SCALE_LINEAR;
		wit.val.linear = (bpflet_ebpf_histogram_linear_scale_t){ .min = scale.min, .step = scale.step };
	}
	return wit;
}

bool bpflet_histogram_write_text(FILE *f, const uint64_t *slots, size_t count, bpflet_hist_scale_t scale,
				 const char *unit, bpflet_error_t *err)
{
	program_list_u64_t list = { .ptr = (uint64_t *)slots, .len = count };
	bpflet_ebpf_histogram_scale_t wit = wit_scale(scale);
	program_string_t unit_s = bpflet_str(unit), text;
	if (!bpflet_ebpf_histogram_text(&list, &wit, &unit_s, &text, err))
		return false;
	write_string(&text, f);
	return true;
}

bool bpflet_histogram_write_json(FILE *f, const char *map, const uint64_t *slots, size_t count,
				 bpflet_hist_scale_t scale, const char *unit, bpflet_error_t *err)
{
	/* The map's name as a JSON string: names of BPF maps are plain
	 * identifiers, so quoting is all it takes. */
	char *quoted = NULL;
	bpflet_ebpf_histogram_label_t label;
	bpflet_ebpf_histogram_list_label_t labels = { .ptr = &label, .len = 0 };
	if (map) {
		size_t len = strlen(map);
		quoted = malloc(len + 3);
		if (!quoted)
			abort();
		quoted[0] = '"';
		memcpy(quoted + 1, map, len);
		memcpy(quoted + 1 + len, "\"", 2);
		label = (bpflet_ebpf_histogram_label_t){ .name = bpflet_str("map"), .json = bpflet_str(quoted) };
		labels.len = 1;
	}
	program_list_u64_t list = { .ptr = (uint64_t *)slots, .len = count };
	bpflet_ebpf_histogram_scale_t wit = wit_scale(scale);
	program_string_t unit_s = bpflet_str(unit), text;
	bool ok = bpflet_ebpf_histogram_json(&labels, &list, &wit, &unit_s, &text, err);
	free(quoted);
	if (!ok)
		return false;
	write_string(&text, f);
	fputc('\n', f);
	return true;
}
