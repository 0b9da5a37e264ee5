/* The helper layer of bpflet.h over the generated bindings. */
#include "bpflet.h"

#include <stdarg.h>

typedef bpflet_ebpf_maps_borrow_bpf_map_t borrow_map_t;

typedef bpflet_ebpf_ebpf_loader_borrow_bpf_object_t borrow_object_t;

/* Open and loaded objects are one WIT resource. */
static borrow_object_t borrow_open(bpflet_open_object_t open)
{
	return (borrow_object_t){ open.handle.__handle };
}

static borrow_object_t borrow_object(bpflet_object_t obj)
{
	return (borrow_object_t){ obj.handle.__handle };
}

static borrow_map_t borrow_map(bpflet_map_t map)
{
	return (borrow_map_t){ map.__handle };
}

static bpflet_ebpf_events_borrow_event_buffer_t borrow_events(bpflet_events_t events)
{
	return (bpflet_ebpf_events_borrow_event_buffer_t){ events.__handle };
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		abort(); /* as the bindings' cabi_realloc does */
	return p;
}

/* ---- Strings ------------------------------------------------------------ */

char *bpflet_strdup(const program_string_t *s)
{
	char *c = xmalloc(s->len + 1);
	if (s->len)
		memcpy(c, s->ptr, s->len);
	c[s->len] = '\0';
	return c;
}

bool bpflet_str_eq(const program_string_t *s, const char *c)
{
	size_t len = strlen(c);
	return s->len == len && (len == 0 || memcmp(s->ptr, c, len) == 0);
}

/* ---- Errors ------------------------------------------------------------- */

const char *bpflet_error_case(const bpflet_error_t *err)
{
	switch (err->tag) {
	case BPFLET_EBPF_TYPES_ERROR_NOT_FOUND: return "not-found";
	case BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT: return "invalid-argument";
	case BPFLET_EBPF_TYPES_ERROR_ALREADY_EXISTS: return "already-exists";
	case BPFLET_EBPF_TYPES_ERROR_PERMISSION_DENIED: return "permission-denied";
	case BPFLET_EBPF_TYPES_ERROR_UNSUPPORTED: return "unsupported";
	case BPFLET_EBPF_TYPES_ERROR_INVALID_STATE: return "invalid-state";
	case BPFLET_EBPF_TYPES_ERROR_LOAD_FAILED: return "load-failed";
	case BPFLET_EBPF_TYPES_ERROR_OS: return "os";
	default: return "unknown-error";
	}
}

program_string_t bpflet_error_message(const bpflet_error_t *err)
{
	switch (err->tag) {
	case BPFLET_EBPF_TYPES_ERROR_NOT_FOUND: return err->val.not_found;
	case BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT: return err->val.invalid_argument;
	case BPFLET_EBPF_TYPES_ERROR_ALREADY_EXISTS: return err->val.already_exists;
	case BPFLET_EBPF_TYPES_ERROR_PERMISSION_DENIED: return err->val.permission_denied;
	case BPFLET_EBPF_TYPES_ERROR_UNSUPPORTED: return err->val.unsupported;
	case BPFLET_EBPF_TYPES_ERROR_INVALID_STATE: return err->val.invalid_state;
	case BPFLET_EBPF_TYPES_ERROR_LOAD_FAILED: return err->val.load_failed.message;
	case BPFLET_EBPF_TYPES_ERROR_OS: return err->val.os.message;
	default: return (program_string_t){ 0 };
	}
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* A malloc'd printf. */
static char *vformat(const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	int len = vsnprintf(NULL, 0, fmt, ap);
	if (len < 0)
		abort();
	char *text = xmalloc((size_t)len + 1);
	vsnprintf(text, (size_t)len + 1, fmt, again);
	va_end(again);
	return text;
}

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = vformat(fmt, ap);
	va_end(ap);
	return text;
}

char *bpflet_error_str(const bpflet_error_t *err)
{
	program_string_t message = bpflet_error_message(err);
	int m = (int)message.len;
	const char *mp = (const char *)message.ptr;

	if (err->tag == BPFLET_EBPF_TYPES_ERROR_OS)
		return format("os error %u: %.*s", (unsigned)err->val.os.errno, m, mp);
	if (err->tag == BPFLET_EBPF_TYPES_ERROR_LOAD_FAILED) {
		/* The log's tail says why the verifier gave up: print it on its own
		 * lines rather than make every caller dig it out. */
		const program_string_t *log = &err->val.load_failed.verifier_log;
		size_t end = log->len;
		while (end > 0 && is_space(log->ptr[end - 1]))
			end--;
		if (end > 0)
			return format("load-failed: %.*s\nverifier log:\n%.*s", m, mp, (int)end,
				      (const char *)log->ptr);
	}
	return format("%s: %.*s", bpflet_error_case(err), m, mp);
}

bool bpflet_error_set(bpflet_error_t *err, uint8_t tag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = vformat(fmt, ap);
	va_end(ap);

	if (tag > BPFLET_EBPF_TYPES_ERROR_INVALID_STATE)
		tag = BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT;
	*err = (bpflet_error_t){ .tag = tag };
	/* Every string case sits at the start of the union, and the bindings
	 * free only non-empty strings. */
	size_t len = strlen(text);
	if (len == 0) {
		free(text);
		text = NULL;
	}
	err->val.not_found = (program_string_t){ .ptr = (uint8_t *)text, .len = len };
	return false;
}

void bpflet_error_free(bpflet_error_t *err)
{
	bpflet_ebpf_types_error_free(err);
	*err = (bpflet_error_t){ 0 };
}

/* ---- Objects ------------------------------------------------------------ */

static const bpflet_ebpf_ebpf_loader_load_options_t default_options = { 0 };

bool bpflet_object_open(const void *elf, size_t len, bpflet_open_object_t *out, bpflet_error_t *err)
{
	program_list_u8_t bytes = bpflet_bytes(elf, len);
	bpflet_ebpf_ebpf_loader_load_options_t options = default_options;
	*out = (bpflet_open_object_t){ 0 };
	return bpflet_ebpf_ebpf_loader_static_bpf_object_open(&bytes, &options, &out->handle, err);
}

bool bpflet_object_open_packaged(const char *name, bpflet_open_object_t *out, bpflet_error_t *err)
{
	program_string_t n = bpflet_str(name);
	bpflet_ebpf_ebpf_loader_load_options_t options = default_options;
	*out = (bpflet_open_object_t){ 0 };
	return bpflet_ebpf_ebpf_loader_static_bpf_object_open_packaged(&n, &options, &out->handle, err);
}

void bpflet_packaged_objects(bpflet_names_t *names)
{
	program_list_string_t list;
	bpflet_ebpf_ebpf_loader_packaged_objects(&list);
	*names = (bpflet_names_t){ .ptr = xmalloc(list.len * sizeof(*names->ptr)), .len = list.len };
	for (size_t i = 0; i < list.len; i++)
		names->ptr[i] = bpflet_strdup(&list.ptr[i]);
	program_list_string_free(&list);
}

void bpflet_names_free(bpflet_names_t *names)
{
	for (size_t i = 0; i < names->len; i++)
		free(names->ptr[i]);
	free(names->ptr);
	*names = (bpflet_names_t){ 0 };
}

bool bpflet_object_set_global(bpflet_open_object_t open, const char *name, const void *value, size_t size,
			      bpflet_error_t *err)
{
	program_string_t n = bpflet_str(name);
	program_list_u8_t v = bpflet_bytes(value, size);
	return bpflet_ebpf_ebpf_loader_method_bpf_object_set_global(borrow_open(open), &n, &v, err);
}

bool bpflet_object_set_autoload(bpflet_open_object_t open, const char *program, bool autoload,
				bpflet_error_t *err)
{
	program_string_t p = bpflet_str(program);
	return bpflet_ebpf_ebpf_loader_method_bpf_object_set_autoload(borrow_open(open), &p, autoload, err);
}

bool bpflet_object_load(bpflet_open_object_t *open, bpflet_object_t *out, bpflet_error_t *err)
{
	/* The open handle is the caller's no more, whatever happens. */
	bpflet_open_object_t taken = *open;
	*open = (bpflet_open_object_t){ 0 };
	*out = (bpflet_object_t){ 0 };
	if (!taken.handle.__handle)
		return bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_INVALID_STATE, "no open object to load");
	if (!bpflet_ebpf_ebpf_loader_method_bpf_object_load(borrow_open(taken), err)) {
		bpflet_open_object_drop(&taken);
		return false;
	}
	out->handle = taken.handle;
	return true;
}

bool bpflet_object_open_load(const void *elf, size_t len, const bpflet_global_t *globals, size_t nglobals,
			     bpflet_object_t *out, bpflet_error_t *err)
{
	bpflet_open_object_t open;
	*out = (bpflet_object_t){ 0 };
	if (!bpflet_object_open(elf, len, &open, err))
		return false;
	for (size_t i = 0; i < nglobals; i++) {
		if (!bpflet_object_set_global(open, globals[i].name, globals[i].value, globals[i].size, err)) {
			bpflet_open_object_drop(&open);
			return false;
		}
	}
	return bpflet_object_load(&open, out, err);
}

bool bpflet_object_global(bpflet_object_t obj, const char *name, void *value, size_t size, bpflet_error_t *err)
{
	program_string_t n = bpflet_str(name);
	program_list_u8_t bytes;
	bool ok = true;

	if (!bpflet_ebpf_ebpf_loader_method_bpf_object_global(borrow_object(obj), &n, &bytes, err))
		return false;
	if (bytes.len == size)
		memcpy(value, bytes.ptr, size);
	else
		ok = bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT,
				      "global \"%s\" is %zu bytes, the caller's is %zu", name, bytes.len, size);
	program_list_u8_free(&bytes);
	return ok;
}

bool bpflet_object_map(bpflet_object_t obj, const char *name, bpflet_map_t *out, bpflet_error_t *err)
{
	program_string_t n = bpflet_str(name);
	return bpflet_ebpf_ebpf_loader_method_bpf_object_get_map(borrow_object(obj), &n, out, err);
}

/* `bpflet_object_attach` with the program's name as a WIT string. The
 * bindings take the target by a non-const pointer but only read it. */
static bool attach(bpflet_object_t obj, program_string_t *program, const bpflet_attach_target_t *target,
		   bpflet_link_t *out, bpflet_error_t *err)
{
	bpflet_attach_target_t target_auto = { .tag = BPFLET_EBPF_EBPF_LOADER_ATTACH_TARGET_AUTO };
	bpflet_attach_target_t copy = target ? *target : target_auto;
	*out = (bpflet_link_t){ 0 };
	return bpflet_ebpf_ebpf_loader_method_bpf_object_attach(borrow_object(obj), program, &copy, out, err);
}

bool bpflet_object_attach(bpflet_object_t obj, const char *program, const bpflet_attach_target_t *target,
			  bpflet_link_t *out, bpflet_error_t *err)
{
	program_string_t p = bpflet_str(program);
	return attach(obj, &p, target, out, err);
}

bool bpflet_object_attach_all(bpflet_object_t obj, bpflet_links_t *links, bpflet_error_t *err)
{
	bpflet_ebpf_ebpf_loader_list_program_info_t programs;
	bool ok = true;

	*links = (bpflet_links_t){ 0 };
	bpflet_ebpf_ebpf_loader_method_bpf_object_programs(borrow_object(obj), &programs);
	if (programs.len)
		links->ptr = xmalloc(programs.len * sizeof(*links->ptr));
	for (size_t i = 0; i < programs.len && ok; i++) {
		bpflet_ebpf_ebpf_loader_program_info_t *p = &programs.ptr[i];
		bpflet_link_t link;
		if (!p->autoload)
			continue;
		if (attach(obj, &p->name, NULL, &link, err)) {
			links->ptr[links->len++] = link;
		} else if (err->tag == BPFLET_EBPF_TYPES_ERROR_UNSUPPORTED) {
			/* No target in the section (xdp, tc, ...): libbpf skips these too. */
			bpflet_error_free(err);
		} else {
			ok = false;
		}
	}
	bpflet_ebpf_ebpf_loader_list_program_info_free(&programs);
	if (!ok)
		bpflet_links_drop(links);
	return ok;
}

void bpflet_open_object_drop(bpflet_open_object_t *open)
{
	if (open->handle.__handle)
		bpflet_ebpf_ebpf_loader_bpf_object_drop_own(open->handle);
	*open = (bpflet_open_object_t){ 0 };
}

void bpflet_object_drop(bpflet_object_t *obj)
{
	if (obj->handle.__handle)
		bpflet_ebpf_ebpf_loader_bpf_object_drop_own(obj->handle);
	*obj = (bpflet_object_t){ 0 };
}

void bpflet_link_drop(bpflet_link_t *link)
{
	if (link->__handle)
		bpflet_ebpf_ebpf_loader_link_drop_own(*link);
	link->__handle = 0;
}

void bpflet_links_drop(bpflet_links_t *links)
{
	for (size_t i = 0; i < links->len; i++)
		bpflet_link_drop(&links->ptr[i]);
	free(links->ptr);
	*links = (bpflet_links_t){ 0 };
}

void bpflet_map_drop(bpflet_map_t *map)
{
	if (map->__handle)
		bpflet_ebpf_maps_bpf_map_drop_own(*map);
	map->__handle = 0;
}

void bpflet_events_drop(bpflet_events_t *events)
{
	if (events->__handle)
		bpflet_ebpf_events_event_buffer_drop_own(*events);
	events->__handle = 0;
}

void bpflet_pollable_drop(bpflet_pollable_t *pollable)
{
	if (pollable->__handle)
		wasi_io_poll_pollable_drop_own(*pollable);
	pollable->__handle = 0;
}

/* ---- Maps --------------------------------------------------------------- */

static const char *const map_type_names[] = {
	"unspec", "hash", "array", "prog-array", "perf-event-array", "percpu-hash",
	"percpu-array", "stack-trace", "cgroup-array", "lru-hash", "lru-percpu-hash",
	"lpm-trie", "array-of-maps", "hash-of-maps", "devmap", "sockmap", "cpumap",
	"xskmap", "sockhash", "cgroup-storage", "reuseport-sockarray",
	"percpu-cgroup-storage", "queue", "stack", "sk-storage", "devmap-hash",
	"struct-ops", "ringbuf", "inode-storage", "task-storage", "bloom-filter",
	"user-ringbuf", "cgrp-storage", "arena", "unknown",
};

const char *bpflet_map_type_name(bpflet_ebpf_maps_map_type_t type)
{
	if (type < sizeof(map_type_names) / sizeof(map_type_names[0]))
		return map_type_names[type];
	return "unknown";
}

/* Fills `err` with the types of `mask`, as "one of a, b". */
static bool wrong_type(const bpflet_map_info_t *info, uint64_t mask, bpflet_error_t *err)
{
	char list[512] = "";
	size_t used = 0;
	for (unsigned t = 0; t < 64 && used < sizeof(list); t++) {
		if (mask & (UINT64_C(1) << t))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
						 bpflet_map_type_name((bpflet_ebpf_maps_map_type_t)t));
	}
	return bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT, "map \"%.*s\" is %s, not one of %s",
				(int)info->name.len, (const char *)info->name.ptr, bpflet_map_type_name(info->map_type),
				list);
}

bool bpflet_map_check(bpflet_map_t map, uint64_t types, size_t key_size, size_t value_size,
		      bpflet_map_info_t *info_out, bpflet_error_t *err)
{
	bpflet_map_info_t info;
	bool ok = true;

	bpflet_ebpf_maps_method_bpf_map_info(borrow_map(map), &info);
	int n = (int)info.name.len;
	const char *name = (const char *)info.name.ptr;
	if (types && (info.map_type >= 64 || !(types & (UINT64_C(1) << info.map_type))))
		ok = wrong_type(&info, types, err);
	else if (info.key_size != key_size)
		ok = bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT,
				      "map \"%.*s\" has %u-byte keys, the caller's are %zu bytes", n, name,
				      (unsigned)info.key_size, key_size);
	else if (info.value_size != value_size)
		ok = bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT,
				      "map \"%.*s\" has %u-byte values, the caller's are %zu bytes", n, name,
				      (unsigned)info.value_size, value_size);
	if (ok && info_out)
		*info_out = info;
	else
		bpflet_ebpf_maps_map_info_free(&info);
	return ok;
}

/* The one decoder of values from the host, plain and per-CPU alike: `len`
 * bytes at `bytes` are `ncpus` values of `value_size` bytes, back to back
 * (CPU 0 first; one value for a plain map), copied into `values` as they
 * are. Used by lookups, per-CPU lookups and the map iterator. */
static bool read_values(const uint8_t *bytes, size_t len, void *values, size_t value_size, size_t ncpus,
			bpflet_error_t *err)
{
	if (len != ncpus * value_size) {
		if (ncpus == 1)
			return bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT,
						"host returned %zu bytes for a value of %zu bytes", len, value_size);
		return bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT,
					"host returned %zu bytes of per-CPU values, the caller expects %zu values of "
					"%zu bytes",
					len, ncpus, value_size);
	}
	memcpy(values, bytes, len);
	return true;
}

/* A lookup's answer: 1 found (decoded into `values`), 0 absent, -1 error. */
static int found_values(program_option_list_u8_t *found, void *values, size_t value_size, size_t ncpus,
			bpflet_error_t *err)
{
	if (!found->is_some)
		return 0;
	int result = read_values(found->val.ptr, found->val.len, values, value_size, ncpus, err) ? 1 : -1;
	program_option_list_u8_free(found);
	return result;
}

int bpflet_map_lookup(bpflet_map_t map, const void *key, size_t key_size, void *value, size_t value_size,
		      bpflet_error_t *err)
{
	program_list_u8_t k = bpflet_bytes(key, key_size);
	program_option_list_u8_t found;

	if (!bpflet_ebpf_maps_method_bpf_map_lookup(borrow_map(map), &k, &found, err))
		return -1;
	return found_values(&found, value, value_size, 1, err);
}

bool bpflet_map_update(bpflet_map_t map, const void *key, size_t key_size, const void *value, size_t value_size,
		       bpflet_ebpf_maps_update_flag_t flag, bpflet_error_t *err)
{
	program_list_u8_t k = bpflet_bytes(key, key_size);
	program_list_u8_t v = bpflet_bytes(value, value_size);
	return bpflet_ebpf_maps_method_bpf_map_update(borrow_map(map), &k, &v, flag, err);
}

bool bpflet_map_delete(bpflet_map_t map, const void *key, size_t key_size, bpflet_error_t *err)
{
	program_list_u8_t k = bpflet_bytes(key, key_size);
	return bpflet_ebpf_maps_method_bpf_map_delete(borrow_map(map), &k, err);
}

bool bpflet_map_word_handle(bpflet_map_t map, uint32_t *handle, bpflet_error_t *err)
{
	return bpflet_ebpf_maps_method_bpf_map_word_handle(borrow_map(map), handle, err);
}

int bpflet_map_lookup_per_cpu(bpflet_map_t map, const void *key, size_t key_size, void *values,
			      size_t value_size, size_t ncpus, bpflet_error_t *err)
{
	program_list_u8_t k = bpflet_bytes(key, key_size);
	program_option_list_u8_t found;

	if (!bpflet_ebpf_maps_method_bpf_map_lookup_per_cpu(borrow_map(map), &k, &found, err))
		return -1;
	return found_values(&found, values, value_size, ncpus, err);
}

bool bpflet_map_update_per_cpu(bpflet_map_t map, const void *key, size_t key_size, const void *values,
			       size_t value_size, size_t ncpus, bpflet_ebpf_maps_update_flag_t flag,
			       bpflet_error_t *err)
{
	program_list_u8_t k = bpflet_bytes(key, key_size);
	program_list_u8_t v = bpflet_bytes(values, ncpus * value_size);
	return bpflet_ebpf_maps_method_bpf_map_update_per_cpu(borrow_map(map), &k, &v, flag, err);
}

/* Elements fetched per host call: large enough to amortise the crossing,
 * small enough to keep pages cheap (as the Rust SDK). */
#define MAP_PAGE 256

bool bpflet_map_iter_init(bpflet_map_iter_t *it, bpflet_map_t map, size_t key_size, size_t value_size,
			  bpflet_error_t *err)
{
	bpflet_map_info_t info;

	*it = (bpflet_map_iter_t){ .map = map, .key_size = key_size, .value_size = value_size, .cpus = 1 };
	if (!bpflet_map_check(map, 0, key_size, value_size, &info, err))
		return false;
	if (info.per_cpu)
		it->cpus = info.possible_cpus;
	bpflet_ebpf_maps_map_info_free(&info);
	return true;
}

/* Fetches pages until one has elements or the walk is over. */
static bool iter_fetch(bpflet_map_iter_t *it, bpflet_error_t *err)
{
	while (it->next >= it->page.count && !it->done) {
		bpflet_ebpf_maps_entries_t page;
		program_list_u8_t *cursor = it->cursor.is_some ? &it->cursor.val : NULL;

		if (!bpflet_ebpf_maps_method_bpf_map_lookup_batch(borrow_map(it->map), cursor, MAP_PAGE, &page, err))
			return false;
		/* Packed: element i's key at i * key_size, its values at
		 * i * cpus * value_size (see read_values). */
		size_t count = page.count;
		if (page.keys.len != count * it->key_size ||
		    page.values.len != count * it->cpus * it->value_size) {
			bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT,
					 "host returned %zu elements with %zu key bytes and %zu value bytes, not "
					 "%zu-byte keys and %u values of %zu bytes each",
					 count, page.keys.len, page.values.len, it->key_size, (unsigned)it->cpus,
					 it->value_size);
			bpflet_ebpf_maps_entries_free(&page);
			return false;
		}
		/* The page's `next` becomes the cursor; the old one is done with. */
		program_option_list_u8_free(&it->cursor);
		it->cursor = page.next;
		page.next = (program_option_list_u8_t){ 0 };
		it->done = !it->cursor.is_some;
		bpflet_ebpf_maps_entries_free(&it->page);
		it->page = page;
		it->next = 0;
		it->started = true;
	}
	return true;
}

int bpflet_map_iter_next(bpflet_map_iter_t *it, void *key, void *values, bpflet_error_t *err)
{
	if (!iter_fetch(it, err)) {
		it->done = true;
		it->next = it->page.count;
		return -1;
	}
	if (it->next >= it->page.count)
		return 0;

	/* iter_fetch checked the page's layout, so read_values cannot fail
	 * (read into locals first, and the compiler sees that). */
	size_t index = it->next++, key_size = it->key_size, value_size = it->value_size, cpus = it->cpus;
	const uint8_t *keys = it->page.keys.ptr, *page_values = it->page.values.ptr;
	size_t element = cpus * value_size;
	memcpy(key, keys + index * key_size, key_size);
	read_values(page_values + index * element, element, values, value_size, cpus, err);
	return 1;
}

void bpflet_map_iter_free(bpflet_map_iter_t *it)
{
	bpflet_ebpf_maps_entries_free(&it->page);
	program_option_list_u8_free(&it->cursor);
	*it = (bpflet_map_iter_t){ 0 };
}

/* ---- Event buffers ------------------------------------------------------ */

bool bpflet_events_open(bpflet_map_t map, bpflet_events_t *out, bpflet_error_t *err)
{
	return bpflet_ebpf_events_static_event_buffer_open(borrow_map(map), NULL, out, err);
}

/* The first offset that goes backwards or past the data, as an error. */
static bool bad_offsets(bpflet_batch_t *batch, bpflet_error_t *err)
{
	size_t len = batch->raw.data.len, previous = 0;
	for (size_t i = 0; i < batch->raw.offsets.len; i++) {
		size_t offset = batch->raw.offsets.ptr[i];
		if (offset < previous || offset > len) {
			bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT,
					 "host sent record offset %zu after %zu in a batch of %zu bytes", offset,
					 previous, len);
			break;
		}
		previous = offset;
	}
	bpflet_batch_free(batch);
	return false;
}

bool bpflet_events_poll(bpflet_events_t events, uint32_t timeout_ms, uint32_t max_records, bpflet_batch_t *batch,
			bpflet_error_t *err)
{
	*batch = (bpflet_batch_t){ 0 };
	if (!bpflet_ebpf_events_method_event_buffer_poll(borrow_events(events), timeout_ms, max_records, &batch->raw,
							 err))
		return false;

	/* One pass, without branches: the offsets must not go backwards or past
	 * the data, and each record is measured on the way (for batch_expect). */
	const uint32_t *offsets = batch->raw.offsets.ptr;
	size_t count = batch->raw.offsets.len, len = batch->raw.data.len;
	if (count == 0)
		return true;
	uint32_t previous = offsets[0], min_len = UINT32_MAX;
	bool backwards = false;
	for (size_t i = 1; i < count; i++) {
		uint32_t offset = offsets[i];
		uint32_t gap = offset - previous;
		backwards |= offset < previous;
		min_len = gap < min_len ? gap : min_len;
		previous = offset;
	}
	if (backwards || previous > len)
		return bad_offsets(batch, err);
	batch->min_len = len - previous < min_len ? len - previous : min_len;
	return true;
}

bool bpflet_batch_short_(const bpflet_batch_t *batch, size_t size, const char *type_name, bpflet_error_t *err)
{
	/* The first short record, as the Rust SDK names it. */
	for (size_t i = 0; i < bpflet_batch_len(batch); i++) {
		size_t len;
		bpflet_batch_at(batch, i, &len);
		if (len < size)
			return bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT,
						"record of %zu bytes is shorter than %s (%zu bytes)", len, type_name,
						size);
	}
	return true;
}

void bpflet_batch_free(bpflet_batch_t *batch)
{
	/* Field by field: bpflet_ebpf_events_batch_free of wit-bindgen 0.63
	 * frees `data` but not `offsets` (it loses the list<u32> destructor
	 * among the package's several anonymous list<u32> types). */
	program_list_u8_free(&batch->raw.data);
	program_list_u32_free(&batch->raw.offsets);
	*batch = (bpflet_batch_t){ 0 };
}

/* ---- Ring buffers read in place (or polled) ---------------------------- */

bool bpflet_ring_open(bpflet_map_t map, bpflet_ring_t *out, bpflet_error_t *err)
{
	bpflet_ebpf_events_ring_pages_t pages;

	*out = (bpflet_ring_t){ 0 };
	if (!bpflet_events_open(map, &out->buffer, err))
		return false;
	if (!bpflet_ebpf_events_method_event_buffer_map_ring(borrow_events(out->buffer), &pages, err)) {
		/* Not granted: polled instead, behind the same calls. */
		if (err->tag == BPFLET_EBPF_TYPES_ERROR_PERMISSION_DENIED &&
		    bpflet_ebpf_events_method_event_buffer_kind(borrow_events(out->buffer)) == BPFLET_EBPF_EVENTS_BUFFER_KIND_RING) {
			bpflet_error_free(err);
			out->polled = calloc(1, sizeof(*out->polled));
			if (!out->polled)
				abort();
			return true;
		}
		bpflet_events_drop(&out->buffer);
		return false;
	}
	out->region = pages.region;

	/* The pages start at the region's first page boundary: consumer page,
	 * producer page, then the data area mapped twice. */
	size_t page = pages.page_size, size = pages.size, len = pages.region.len;
	bool powers = page && !(page & (page - 1)) && size && !(size & (size - 1));
	size_t at = powers ? (size_t)(-(uintptr_t)pages.region.ptr & (page - 1)) : 0;
	if (!powers || len < at || (len - at) / 2 < page + size) {
		bpflet_error_set(err, BPFLET_EBPF_TYPES_ERROR_INVALID_ARGUMENT,
				 "host mapped a ring of %zu bytes (pages of %zu) into a region of %zu bytes", size,
				 page, len);
		bpflet_ring_drop(out);
		return false;
	}
	uint8_t *consumer = pages.region.ptr + at;
	out->consumer = (volatile uint64_t *)consumer;
	out->producer = (const volatile uint64_t *)(consumer + page);
	out->data = consumer + 2 * page;
	out->mask = size - 1;
	/* Only this guest writes the consumer position. */
	out->pos = out->end = __atomic_load_n(out->consumer, __ATOMIC_RELAXED);
	return true;
}

/* Polls the next batch; true when it has records (it is then held, read
 * from its first). An empty (or failed) poll is no record now, and the
 * next call polls again. */
bool bpflet_ring_poll_(bpflet_ring_t *ring)
{
	bpflet_error_t err = { 0 };
	if (!bpflet_events_poll(ring->buffer, 0, BPFLET_RING_POLL_BATCH, ring->polled, &err)) {
		/* Kept for bpflet_ring_error; the latest one wins. */
		if (ring->failed)
			bpflet_error_free(&ring->error);
		ring->error = err;
		ring->failed = true;
	}
	if (bpflet_batch_len(ring->polled) == 0) {
		bpflet_batch_free(ring->polled);
		return false;
	}
	ring->held = true;
	ring->pos = 0;
	return true;
}

void bpflet_ring_release_polled_(bpflet_ring_t *ring)
{
	/* A batch goes once all of it was read: the records past `pos` are
	 * the next calls'. */
	if (ring->held && ring->pos >= bpflet_batch_len(ring->polled)) {
		bpflet_batch_free(ring->polled);
		ring->held = false;
		ring->pos = 0;
	}
}

bool bpflet_ring_ready_polled_(const bpflet_ring_t *ring)
{
	/* A held batch: exactly whether `bpflet_ring_next` has a record. */
	if (ring->held)
		return ring->pos < bpflet_batch_len(ring->polled);
	wasi_io_poll_own_pollable_t records =
		bpflet_ebpf_events_method_event_buffer_subscribe(borrow_events(ring->buffer));
	bool ready = wasi_io_poll_method_pollable_ready(wasi_io_poll_borrow_pollable(records));
	wasi_io_poll_pollable_drop_own(records);
	return ready;
}

bool bpflet_ring_wait(bpflet_ring_t *ring, uint32_t timeout_ms)
{
	if (bpflet_ring_ready(ring))
		return true;
	wasi_io_poll_own_pollable_t records =
		bpflet_ebpf_events_method_event_buffer_subscribe(borrow_events(ring->buffer));
	wasi_io_poll_own_pollable_t timer =
		wasi_clocks_monotonic_clock_subscribe_duration((uint64_t)timeout_ms * 1000000);
	wasi_io_poll_borrow_pollable_t both[] = { wasi_io_poll_borrow_pollable(records),
						  wasi_io_poll_borrow_pollable(timer) };
	wasi_io_poll_list_borrow_pollable_t list = { .ptr = both, .len = 2 };
	program_list_u32_t ready;
	wasi_io_poll_poll(&list, &ready);
	program_list_u32_free(&ready);
	wasi_io_poll_pollable_drop_own(timer);
	wasi_io_poll_pollable_drop_own(records);
	return bpflet_ring_ready(ring);
}

bool bpflet_ring_error(bpflet_ring_t *ring, bpflet_error_t *err)
{
	if (!ring->failed)
		return false;
	*err = ring->error;
	ring->error = (bpflet_error_t){ 0 };
	ring->failed = false;
	return true;
}

void bpflet_ring_drop(bpflet_ring_t *ring)
{
	if (ring->failed)
		bpflet_error_free(&ring->error);
	/* The buffer first: dropping it puts ordinary memory back under the
	 * region, which may only then go back to malloc. */
	bpflet_events_drop(&ring->buffer);
	program_list_u8_free(&ring->region);
	if (ring->polled) {
		bpflet_batch_free(ring->polled);
		free(ring->polled);
	}
	*ring = (bpflet_ring_t){ 0 };
}

/* ---- Stopping cleanly --------------------------------------------------- */

bool bpflet_stop_requested(void)
{
	return bpflet_ebpf_signals_stop_requested();
}

bpflet_pollable_t bpflet_subscribe_stop(void)
{
	return bpflet_ebpf_signals_subscribe_stop();
}

/* ---- Time --------------------------------------------------------------- */

uint64_t bpflet_monotonic_now(void)
{
	return wasi_clocks_monotonic_clock_now();
}

void bpflet_sleep_until(uint64_t instant)
{
	if (wasi_clocks_monotonic_clock_now() >= instant)
		return;
	wasi_io_poll_own_pollable_t timer = wasi_clocks_monotonic_clock_subscribe_instant(instant);
	wasi_io_poll_method_pollable_block(wasi_io_poll_borrow_pollable(timer));
	wasi_io_poll_pollable_drop_own(timer);
}

/* ---- Entry point -------------------------------------------------------- */

bool bpflet_run_main(int (*main_fn)(int argc, char **argv))
{
	program_list_string_t args;
	wasi_cli_environment_get_arguments(&args);
	size_t argc = args.len;
	char **argv = xmalloc((argc + 1) * sizeof(*argv));
	for (size_t i = 0; i < argc; i++)
		argv[i] = bpflet_strdup(&args.ptr[i]);
	argv[argc] = NULL;
	program_list_string_free(&args);

	int code = main_fn((int)argc, argv);

	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
	/* A reactor has no exit path that flushes stdio: returning is the end. */
	fflush(stdout);
	fflush(stderr);
	if (code == 0)
		return true;
	if (code == 1)
		return false;
	wasi_cli_exit_exit_with_code((uint8_t)code);
	return false;
}

int bpflet_error_exit(const char *program, bpflet_error_t *err)
{
	char *message = bpflet_error_str(err);
	fprintf(stderr, "%s: %s\n", program, message);
	free(message);
	bpflet_error_free(err);
	return 1;
}
