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

void bpflet_records_write(bpflet_record_printer_t printer, const program_list_u8_t *records, size_t count,
			  uint64_t unix_time, FILE *f)
{
	if (count == 0)
		return;
	/* The generated binding takes the list as mutable; it only reads it. */
	program_list_list_u8_t list = { .ptr = (program_list_u8_t *)records, .len = count };
	program_string_t rows;
	bpflet_ebpf_render_method_records_rows(bpflet_ebpf_render_borrow_records(printer.handle), &list, unix_time,
					       &rows);
	write_string(&rows, f);
}

void bpflet_records_write_batch(bpflet_record_printer_t printer, const bpflet_batch_t *batch, uint64_t unix_time,
				FILE *f)
{
	size_t count = bpflet_batch_len(batch);
	if (count == 0)
		return;
	/* One view per record, pointing into the batch: no copy here. */
	program_list_u8_t *views = malloc(count * sizeof(*views));
	if (!views)
		abort();
	for (size_t i = 0; i < count; i++) {
		size_t len;
		const uint8_t *record = bpflet_batch_at(batch, i, &len);
		views[i] = bpflet_bytes(record, len);
	}
	bpflet_records_write(printer, views, count, unix_time, f);
	free(views);
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
