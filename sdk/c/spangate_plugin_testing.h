/*
 * spangate_plugin_testing.h — the native test harness of the C SDK.
 *
 * Runs plugin logic without wasm or a gateway, in a plain C test program:
 *
 *   - sg_test_spans / sg_test_span: whole spans with builder functions
 *     (sg_test_spans_add, sg_test_span_named, _service, _times, _status, _attr_str, ...);
 *   - sg_test_encode: the batch the host would send for those spans to a plugin with
 *     given needs (only declared columns; service names and keys dictionary-encoded;
 *     spans with equal service and resource attributes share a resource);
 *   - sg_test_apply_edits: a processor's edits applied to the spans with the host's
 *     checks (index in range, field or attribute kind declared, no row both set and
 *     removed, valid op / kind / string references); a bad edit fails the whole answer
 *     with the edit named: `edit 0 (set-name span 3): out of range: the batch has 3 spans`;
 *   - sg_test_processor / sg_test_sampler: init + per-batch calls, with plugin panics
 *     (sg_panic) and reads of undeclared fields turned into errors;
 *   - SG_CHECK* and sg_test_run / sg_test_summary: a tiny test runner whose last line
 *     is `N passed, N failed`.
 *
 * Native only (uses setjmp and stdio). Include after nothing else: it includes
 * spangate_plugin.h.
 */
#ifndef SPANGATE_PLUGIN_TESTING_H
#define SPANGATE_PLUGIN_TESTING_H

#if defined(__wasm__)
#error "spangate_plugin_testing.h is for native tests, not for the wasm build"
#endif

#include "spangate_plugin.h"

#include <setjmp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------
 * Test spans
 * ---------------------------------------------------------------------------------- */

/* An owned attribute value. */
typedef struct {
    sg_value_kind kind;
    sg_string text; /* SG_VALUE_STR, SG_VALUE_JSON */
    int64_t i;
    double d;
    bool b;
} sg_test_value;

typedef struct {
    sg_string key;
    sg_test_value value;
} sg_test_attr;

typedef struct {
    sg_test_attr *items;
    size_t count, cap;
} sg_test_attrs;

typedef struct {
    sg_string name;
    sg_test_attrs attributes;
} sg_test_event;

typedef struct {
    sg_test_attrs attributes;
} sg_test_link;

/* A span with everything a plugin could ask for. */
typedef struct {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8]; /* zeros for a root span */
    sg_string service_name;
    sg_string name;
    sg_span_kind kind;
    uint64_t start_unix_nanos, end_unix_nanos;
    sg_status status;
    sg_string status_message;
    sg_test_attrs attributes;
    sg_test_attrs resource_attributes;
    sg_test_event *events;
    size_t event_count, event_cap;
    sg_test_link *links;
    size_t link_count, link_cap;
} sg_test_span;

/* A list of spans; each span is allocated on its own, so pointers stay valid. */
typedef struct {
    sg_test_span **items;
    size_t count, cap;
} sg_test_spans;

static inline void *sg__test_xrealloc(void *p, size_t size) {
    void *grown = realloc(p, size ? size : 1);
    if (!grown) {
        fprintf(stderr, "spangate_plugin_testing: out of memory\n");
        abort();
    }
    return grown;
}

static inline sg_string sg__test_copy(sg_str s) {
    sg_string copy = sg_string_copy(s.ptr, s.len);
    if (!copy.ptr) {
        fprintf(stderr, "spangate_plugin_testing: out of memory\n");
        abort();
    }
    return copy;
}

static inline sg_test_value sg_test_value_from(sg_value v) {
    sg_test_value out;
    memset(&out, 0, sizeof out);
    out.kind = v.kind;
    switch (v.kind) {
    case SG_VALUE_STR:
    case SG_VALUE_JSON: out.text = sg__test_copy(v.as.str); break;
    case SG_VALUE_INT: out.i = v.as.i; break;
    case SG_VALUE_DOUBLE: out.d = v.as.d; break;
    case SG_VALUE_BOOL: out.b = v.as.b; break;
    }
    return out;
}

/* A borrowed sg_value view of an owned test value. */
static inline sg_value sg_test_value_view(const sg_test_value *v) {
    switch (v->kind) {
    case SG_VALUE_INT: return sg_value_int(v->i);
    case SG_VALUE_DOUBLE: return sg_value_double(v->d);
    case SG_VALUE_BOOL: return sg_value_bool(v->b);
    case SG_VALUE_JSON: return sg_value_json(sg_string_view(v->text));
    default: return sg_value_str(sg_string_view(v->text));
    }
}

/* Values equal by kind and content (doubles by bits, so NaN equals itself). */
static inline bool sg_value_equal(sg_value a, sg_value b) {
    if (a.kind != b.kind) return false;
    switch (a.kind) {
    case SG_VALUE_INT: return a.as.i == b.as.i;
    case SG_VALUE_DOUBLE: return sg__double_to_bits(a.as.d) == sg__double_to_bits(b.as.d);
    case SG_VALUE_BOOL: return a.as.b == b.as.b;
    default: return sg_str_eq(a.as.str, b.as.str);
    }
}

/* A value as text, for messages: "text" / 3 / 2.5 / true / json:[1,2]. */
static inline void sg_value_describe(sg_value v, char *out, size_t size) {
    switch (v.kind) {
    case SG_VALUE_INT: snprintf(out, size, "%lld", (long long)v.as.i); break;
    case SG_VALUE_DOUBLE: snprintf(out, size, "%g", v.as.d); break;
    case SG_VALUE_BOOL: snprintf(out, size, "%s", v.as.b ? "true" : "false"); break;
    case SG_VALUE_JSON: snprintf(out, size, "json:%.*s", SG_STR_ARG(v.as.str)); break;
    default: snprintf(out, size, "\"%.*s\"", SG_STR_ARG(v.as.str)); break;
    }
}

static inline void sg_test_value_free(sg_test_value *v) { sg_string_free(&v->text); }

static inline void sg_test_attrs_push(sg_test_attrs *attrs, sg_str key, sg_value value) {
    if (attrs->count == attrs->cap) {
        attrs->cap = attrs->cap ? attrs->cap * 2 : 4;
        attrs->items = (sg_test_attr *)sg__test_xrealloc(attrs->items, attrs->cap * sizeof(sg_test_attr));
    }
    sg_test_attr *a = &attrs->items[attrs->count++];
    a->key = sg__test_copy(key);
    a->value = sg_test_value_from(value);
}

static inline void sg_test_attrs_free(sg_test_attrs *attrs) {
    for (size_t i = 0; i < attrs->count; i++) {
        sg_string_free(&attrs->items[i].key);
        sg_test_value_free(&attrs->items[i].value);
    }
    free(attrs->items);
    memset(attrs, 0, sizeof *attrs);
}

static inline void sg_test_attrs_copy(sg_test_attrs *to, const sg_test_attrs *from) {
    memset(to, 0, sizeof *to);
    for (size_t i = 0; i < from->count; i++)
        sg_test_attrs_push(to, sg_string_view(from->items[i].key),
                           sg_test_value_view(&from->items[i].value));
}

/* The value of attribute `key` in `attrs`, or NULL. */
static inline const sg_test_value *sg_test_attrs_get(const sg_test_attrs *attrs, const char *key) {
    for (size_t i = 0; i < attrs->count; i++)
        if (sg_str_eq_cstr(sg_string_view(attrs->items[i].key), key)) return &attrs->items[i].value;
    return NULL;
}

static inline void sg_test_span_free(sg_test_span *s) {
    sg_string_free(&s->service_name);
    sg_string_free(&s->name);
    sg_string_free(&s->status_message);
    sg_test_attrs_free(&s->attributes);
    sg_test_attrs_free(&s->resource_attributes);
    for (size_t i = 0; i < s->event_count; i++) {
        sg_string_free(&s->events[i].name);
        sg_test_attrs_free(&s->events[i].attributes);
    }
    free(s->events);
    for (size_t i = 0; i < s->link_count; i++) sg_test_attrs_free(&s->links[i].attributes);
    free(s->links);
    memset(s, 0, sizeof *s);
}

static inline sg_test_span *sg__test_span_new(void) {
    sg_test_span *s = (sg_test_span *)calloc(1, sizeof *s);
    if (!s) abort();
    s->service_name = sg__test_copy(SG_LIT(""));
    s->name = sg__test_copy(SG_LIT(""));
    s->status_message = sg__test_copy(SG_LIT(""));
    return s;
}

static inline void sg__test_spans_push(sg_test_spans *spans, sg_test_span *s) {
    if (spans->count == spans->cap) {
        spans->cap = spans->cap ? spans->cap * 2 : 8;
        spans->items = (sg_test_span **)sg__test_xrealloc(spans->items, spans->cap * sizeof(sg_test_span *));
    }
    spans->items[spans->count++] = s;
}

/* A deep copy of `from`. */
static inline sg_test_span *sg_test_span_clone(const sg_test_span *from) {
    sg_test_span *s = (sg_test_span *)calloc(1, sizeof *s);
    if (!s) abort();
    memcpy(s->trace_id, from->trace_id, 16);
    memcpy(s->span_id, from->span_id, 8);
    memcpy(s->parent_span_id, from->parent_span_id, 8);
    s->service_name = sg__test_copy(sg_string_view(from->service_name));
    s->name = sg__test_copy(sg_string_view(from->name));
    s->kind = from->kind;
    s->start_unix_nanos = from->start_unix_nanos;
    s->end_unix_nanos = from->end_unix_nanos;
    s->status = from->status;
    s->status_message = sg__test_copy(sg_string_view(from->status_message));
    sg_test_attrs_copy(&s->attributes, &from->attributes);
    sg_test_attrs_copy(&s->resource_attributes, &from->resource_attributes);
    if (from->event_count) {
        s->events = (sg_test_event *)calloc(from->event_count, sizeof(sg_test_event));
        if (!s->events) abort();
        s->event_count = s->event_cap = from->event_count;
        for (size_t i = 0; i < from->event_count; i++) {
            s->events[i].name = sg__test_copy(sg_string_view(from->events[i].name));
            sg_test_attrs_copy(&s->events[i].attributes, &from->events[i].attributes);
        }
    }
    if (from->link_count) {
        s->links = (sg_test_link *)calloc(from->link_count, sizeof(sg_test_link));
        if (!s->links) abort();
        s->link_count = s->link_cap = from->link_count;
        for (size_t i = 0; i < from->link_count; i++)
            sg_test_attrs_copy(&s->links[i].attributes, &from->links[i].attributes);
    }
    return s;
}

/* Adds a span with trace id `trace_id` (the low 64 bits of the 128-bit id, big-endian on
 * the wire, as a u128 would be) and span id `span_id` (big-endian). */
static inline sg_test_span *sg_test_spans_add(sg_test_spans *spans, uint64_t trace_id,
                                              uint64_t span_id) {
    sg_test_span *s = sg__test_span_new();
    for (int i = 0; i < 8; i++) {
        s->trace_id[8 + i] = (uint8_t)(trace_id >> (56 - 8 * i));
        s->span_id[i] = (uint8_t)(span_id >> (56 - 8 * i));
    }
    sg__test_spans_push(spans, s);
    return s;
}

static inline void sg_test_spans_free(sg_test_spans *spans) {
    for (size_t i = 0; i < spans->count; i++) {
        sg_test_span_free(spans->items[i]);
        free(spans->items[i]);
    }
    free(spans->items);
    memset(spans, 0, sizeof *spans);
}

static inline sg_test_span *sg_test_span_named(sg_test_span *s, const char *name) {
    sg_string_free(&s->name);
    s->name = sg__test_copy(sg_str_from(name));
    return s;
}

static inline sg_test_span *sg_test_span_service(sg_test_span *s, const char *service_name) {
    sg_string_free(&s->service_name);
    s->service_name = sg__test_copy(sg_str_from(service_name));
    return s;
}

static inline sg_test_span *sg_test_span_times(sg_test_span *s, uint64_t start, uint64_t end) {
    s->start_unix_nanos = start;
    s->end_unix_nanos = end;
    return s;
}

static inline sg_test_span *sg_test_span_status(sg_test_span *s, sg_status status,
                                                const char *message) {
    s->status = status;
    sg_string_free(&s->status_message);
    s->status_message = sg__test_copy(sg_str_from(message));
    return s;
}

static inline sg_test_span *sg_test_span_kind(sg_test_span *s, sg_span_kind kind) {
    s->kind = kind;
    return s;
}

static inline sg_test_span *sg_test_span_parent(sg_test_span *s, uint64_t parent_span_id) {
    for (int i = 0; i < 8; i++) s->parent_span_id[i] = (uint8_t)(parent_span_id >> (56 - 8 * i));
    return s;
}

static inline sg_test_span *sg_test_span_attr(sg_test_span *s, const char *key, sg_value v) {
    sg_test_attrs_push(&s->attributes, sg_str_from(key), v);
    return s;
}

static inline sg_test_span *sg_test_span_attr_str(sg_test_span *s, const char *key, const char *v) {
    return sg_test_span_attr(s, key, sg_value_cstr(v));
}

static inline sg_test_span *sg_test_span_attr_int(sg_test_span *s, const char *key, int64_t v) {
    return sg_test_span_attr(s, key, sg_value_int(v));
}

static inline sg_test_span *sg_test_span_attr_double(sg_test_span *s, const char *key, double v) {
    return sg_test_span_attr(s, key, sg_value_double(v));
}

static inline sg_test_span *sg_test_span_attr_bool(sg_test_span *s, const char *key, bool v) {
    return sg_test_span_attr(s, key, sg_value_bool(v));
}

/* A non-scalar value (array, map, bytes) as the JSON text the host sends. */
static inline sg_test_span *sg_test_span_attr_json(sg_test_span *s, const char *key, const char *json) {
    return sg_test_span_attr(s, key, sg_value_json(sg_str_from(json)));
}

static inline sg_test_span *sg_test_span_resource_attr(sg_test_span *s, const char *key, sg_value v) {
    sg_test_attrs_push(&s->resource_attributes, sg_str_from(key), v);
    return s;
}

static inline sg_test_event *sg_test_span_event(sg_test_span *s, const char *name) {
    if (s->event_count == s->event_cap) {
        s->event_cap = s->event_cap ? s->event_cap * 2 : 4;
        s->events = (sg_test_event *)sg__test_xrealloc(s->events, s->event_cap * sizeof(sg_test_event));
    }
    sg_test_event *e = &s->events[s->event_count++];
    memset(e, 0, sizeof *e);
    e->name = sg__test_copy(sg_str_from(name));
    return e;
}

static inline sg_test_event *sg_test_event_attr(sg_test_event *e, const char *key, sg_value v) {
    sg_test_attrs_push(&e->attributes, sg_str_from(key), v);
    return e;
}

static inline sg_test_link *sg_test_span_link(sg_test_span *s) {
    if (s->link_count == s->link_cap) {
        s->link_cap = s->link_cap ? s->link_cap * 2 : 4;
        s->links = (sg_test_link *)sg__test_xrealloc(s->links, s->link_cap * sizeof(sg_test_link));
    }
    sg_test_link *l = &s->links[s->link_count++];
    memset(l, 0, sizeof *l);
    return l;
}

static inline sg_test_link *sg_test_link_attr(sg_test_link *l, const char *key, sg_value v) {
    sg_test_attrs_push(&l->attributes, sg_str_from(key), v);
    return l;
}

/* The value of span attribute `key`, or NULL. */
static inline const sg_test_value *sg_test_span_get(const sg_test_span *s, const char *key) {
    return sg_test_attrs_get(&s->attributes, key);
}

/* ------------------------------------------------------------------------------------
 * Encoding spans into a batch
 * ---------------------------------------------------------------------------------- */

typedef struct {
    uint32_t owner, index; /* owner (span, resource, event or link) and index in its list */
} sg__test_pos;

typedef struct {
    sg__test_pos *items;
    size_t count, cap;
} sg__test_positions;

static inline void sg__test_positions_push(sg__test_positions *p, uint32_t owner, uint32_t index) {
    if (p->count == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->items = (sg__test_pos *)sg__test_xrealloc(p->items, p->cap * sizeof(sg__test_pos));
    }
    p->items[p->count].owner = owner;
    p->items[p->count].index = index;
    p->count++;
}

typedef struct {
    uint8_t *bytes;
    size_t len, cap;
} sg__test_bytes;

static inline void sg__test_bytes_put(sg__test_bytes *b, const void *data, size_t len) {
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + len) cap *= 2;
        b->bytes = (uint8_t *)sg__test_xrealloc(b->bytes, cap);
        b->cap = cap;
    }
    if (len) memcpy(b->bytes + b->len, data, len);
    b->len += len;
}

/* The batch the host would send for some spans and needs, plus where each row and
 * index came from (to apply edits back onto the spans). */
typedef struct {
    uint32_t len;
    uint8_t *columns;
    size_t columns_len;
    uint8_t *strings;
    size_t strings_len;
    sg__test_positions span_rows;     /* row -> (span, attribute index) */
    sg__test_positions resource_rows; /* row -> (resource, attribute index) */
    uint32_t *resource_first_span;    /* resource -> its first span */
    uint32_t *span_resource;          /* span -> resource (when resources were sent) */
    size_t resource_count;
    sg__test_positions events;     /* global event -> (span, event index) */
    sg__test_positions event_rows; /* row -> (global event, attribute index) */
    sg__test_positions links;      /* global link -> (span, link index) */
    sg__test_positions link_rows;  /* row -> (global link, attribute index) */
} sg_test_encoding;

static inline void sg_test_encoding_free(sg_test_encoding *e) {
    free(e->columns);
    free(e->strings);
    free(e->span_rows.items);
    free(e->resource_rows.items);
    free(e->resource_first_span);
    free(e->span_resource);
    free(e->events.items);
    free(e->event_rows.items);
    free(e->links.items);
    free(e->link_rows.items);
    memset(e, 0, sizeof *e);
}

typedef struct {
    sg__test_bytes columns[SG_COL_COUNT];
    sg__test_bytes strings;
} sg__test_builder;

static inline void sg__test_push_u8(sg__test_builder *b, int column, uint8_t v) {
    sg__test_bytes_put(&b->columns[column], &v, 1);
}

static inline void sg__test_push_u32(sg__test_builder *b, int column, uint32_t v) {
    uint8_t bytes[4];
    sg__put32(bytes, v);
    sg__test_bytes_put(&b->columns[column], bytes, 4);
}

static inline void sg__test_push_u64(sg__test_builder *b, int column, uint64_t v) {
    uint8_t bytes[8];
    sg__put64(bytes, v);
    sg__test_bytes_put(&b->columns[column], bytes, 8);
}

static inline void sg__test_push_str(sg__test_builder *b, int column, sg_str s) {
    uint64_t reference = (uint64_t)b->strings.len | (uint64_t)s.len << 32;
    sg__test_bytes_put(&b->strings, s.ptr, s.len);
    sg__test_push_u64(b, column, reference);
}

static inline uint32_t sg__test_count(const sg__test_builder *b, int column) {
    return (uint32_t)(b->columns[column].len / sg_column_widths[column]);
}

/* Index of `s` in a dictionary column (string references), appending it if new. */
static inline uint32_t sg__test_intern(sg__test_builder *b, int column, sg_str s) {
    uint32_t n = sg__test_count(b, column);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t reference = sg__le64(b->columns[column].bytes + (size_t)i * 8);
        uint32_t offset = (uint32_t)reference, len = (uint32_t)(reference >> 32);
        if (len == s.len && (len == 0 || memcmp(b->strings.bytes + offset, s.ptr, len) == 0)) return i;
    }
    sg__test_push_str(b, column, s);
    return n;
}

/* Adds one owner's selected attributes as rows of the table at column `base`. */
static inline void sg__test_push_owner(sg__test_builder *b, int base, const sg_test_attrs *attrs,
                                       const sg_selection *selection, uint32_t owner,
                                       sg__test_positions *rows) {
    if (sg__test_count(b, base + SG_TCOL_OWNER_OFFSETS) == 0) sg__test_push_u32(b, base, 0);
    for (size_t i = 0; i < attrs->count; i++) {
        const sg_test_attr *a = &attrs->items[i];
        if (!sg_selection_selects(selection, sg_string_view(a->key), a->value.kind == SG_VALUE_STR))
            continue;
        sg__test_positions_push(rows, owner, (uint32_t)i);
        sg__test_push_u32(b, base + SG_TCOL_KEY, sg__test_intern(b, base + SG_TCOL_KEYS, sg_string_view(a->key)));
        sg__test_push_u8(b, base + SG_TCOL_VALUE_KIND, (uint8_t)a->value.kind);
        uint64_t word = 0;
        switch (a->value.kind) {
        case SG_VALUE_STR:
        case SG_VALUE_JSON: {
            sg_str text = sg_string_view(a->value.text);
            word = (uint64_t)b->strings.len | (uint64_t)text.len << 32;
            sg__test_bytes_put(&b->strings, text.ptr, text.len);
            break;
        }
        case SG_VALUE_INT: word = (uint64_t)a->value.i; break;
        case SG_VALUE_DOUBLE: word = sg__double_to_bits(a->value.d); break;
        case SG_VALUE_BOOL: word = a->value.b ? 1 : 0; break;
        }
        sg__test_push_u64(b, base + SG_TCOL_VALUE, word);
    }
    sg__test_push_u32(b, base + SG_TCOL_OWNER_OFFSETS, (uint32_t)rows->count);
}

/* A declared table over no owners still sends owner-offsets [0]. */
static inline void sg__test_finish_table(sg__test_builder *b, int base) {
    if (sg__test_count(b, base + SG_TCOL_OWNER_OFFSETS) == 0) sg__test_push_u32(b, base, 0);
}

static inline bool sg__test_same_attrs(const sg_test_attrs *a, const sg_test_attrs *b) {
    if (a->count != b->count) return false;
    for (size_t i = 0; i < a->count; i++)
        if (!sg_str_eq(sg_string_view(a->items[i].key), sg_string_view(b->items[i].key)) ||
            !sg_value_equal(sg_test_value_view(&a->items[i].value), sg_test_value_view(&b->items[i].value)))
            return false;
    return true;
}

/* Encodes `spans` as the host would for a plugin with `needs`. */
static inline void sg_test_encode(const sg_test_spans *spans, const sg_needs *needs,
                                  sg_test_encoding *out) {
    memset(out, 0, sizeof *out);
    sg__test_builder b;
    memset(&b, 0, sizeof b);
    uint16_t f = needs->fields;
    size_t n = spans->count;
    out->len = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        const sg_test_span *s = spans->items[i];
        if (f & SG_FIELD_TRACE_ID) sg__test_bytes_put(&b.columns[SG_COL_TRACE_ID], s->trace_id, 16);
        if (f & SG_FIELD_SPAN_ID) sg__test_bytes_put(&b.columns[SG_COL_SPAN_ID], s->span_id, 8);
        if (f & SG_FIELD_PARENT_SPAN_ID)
            sg__test_bytes_put(&b.columns[SG_COL_PARENT_SPAN_ID], s->parent_span_id, 8);
        if (f & SG_FIELD_SERVICE_NAME)
            sg__test_push_u32(&b, SG_COL_SERVICE, sg__test_intern(&b, SG_COL_SERVICES, sg_string_view(s->service_name)));
        if (f & SG_FIELD_NAME) sg__test_push_str(&b, SG_COL_NAME, sg_string_view(s->name));
        if (f & SG_FIELD_KIND) sg__test_push_u8(&b, SG_COL_KIND, (uint8_t)s->kind);
        if (f & SG_FIELD_STATUS) sg__test_push_u8(&b, SG_COL_STATUS, (uint8_t)s->status);
        if (f & SG_FIELD_TIMES) {
            sg__test_push_u64(&b, SG_COL_START, s->start_unix_nanos);
            sg__test_push_u64(&b, SG_COL_END, s->end_unix_nanos);
        }
        if (f & SG_FIELD_STATUS_MESSAGE)
            sg__test_push_str(&b, SG_COL_STATUS_MESSAGE, sg_string_view(s->status_message));
        if (f & SG_FIELD_SIZE) {
            /* A deterministic stand-in for the host's protobuf size. */
            size_t size = 16 + 8 + 8 + 2 + 8 + 8 + 2 + 8 + s->name.len + s->status_message.len;
            for (size_t a = 0; a < s->attributes.count; a++)
                size += s->attributes.items[a].key.len + 4 +
                        (s->attributes.items[a].value.kind == SG_VALUE_STR ||
                                 s->attributes.items[a].value.kind == SG_VALUE_JSON
                             ? s->attributes.items[a].value.text.len + 2
                             : 9);
            size += 12 * s->event_count + 28 * s->link_count;
            sg__test_push_u32(&b, SG_COL_SIZE, (uint32_t)size);
        }
    }

    const int span_table = SG_COL_ATTRIBUTE_TABLES + SG_SPAN_ATTRIBUTES * SG_TABLE_COLUMNS;
    if (needs->span_attributes.kind != SG_SELECT_NONE) {
        for (size_t i = 0; i < n; i++)
            sg__test_push_owner(&b, span_table, &spans->items[i]->attributes, &needs->span_attributes,
                                (uint32_t)i, &out->span_rows);
        sg__test_finish_table(&b, span_table);
    }

    if (needs->resource_attributes.kind != SG_SELECT_NONE) {
        const int table = SG_COL_ATTRIBUTE_TABLES + SG_RESOURCE_ATTRIBUTES * SG_TABLE_COLUMNS;
        out->resource_first_span = (uint32_t *)sg__test_xrealloc(NULL, (n ? n : 1) * sizeof(uint32_t));
        out->span_resource = (uint32_t *)sg__test_xrealloc(NULL, (n ? n : 1) * sizeof(uint32_t));
        for (size_t i = 0; i < n; i++) {
            const sg_test_span *s = spans->items[i];
            size_t r = 0;
            while (r < out->resource_count) {
                const sg_test_span *first = spans->items[out->resource_first_span[r]];
                if (sg_str_eq(sg_string_view(first->service_name), sg_string_view(s->service_name)) &&
                    sg__test_same_attrs(&first->resource_attributes, &s->resource_attributes))
                    break;
                r++;
            }
            if (r == out->resource_count) out->resource_first_span[out->resource_count++] = (uint32_t)i;
            out->span_resource[i] = (uint32_t)r;
            sg__test_push_u32(&b, SG_COL_RESOURCE, (uint32_t)r);
        }
        for (size_t r = 0; r < out->resource_count; r++)
            sg__test_push_owner(&b, table, &spans->items[out->resource_first_span[r]]->resource_attributes,
                                &needs->resource_attributes, (uint32_t)r, &out->resource_rows);
        sg__test_finish_table(&b, table);
    }

    bool event_names = (f & SG_FIELD_EVENT_NAMES) != 0;
    bool event_attributes = needs->event_attributes.kind != SG_SELECT_NONE;
    if (event_names || event_attributes) {
        const int table = SG_COL_ATTRIBUTE_TABLES + SG_EVENT_ATTRIBUTES * SG_TABLE_COLUMNS;
        sg__test_push_u32(&b, SG_COL_EVENT_OFFSETS, 0);
        for (size_t i = 0; i < n; i++) {
            const sg_test_span *s = spans->items[i];
            for (size_t e = 0; e < s->event_count; e++) {
                uint32_t global = (uint32_t)out->events.count;
                sg__test_positions_push(&out->events, (uint32_t)i, (uint32_t)e);
                if (event_names) sg__test_push_str(&b, SG_COL_EVENT_NAMES, sg_string_view(s->events[e].name));
                if (event_attributes)
                    sg__test_push_owner(&b, table, &s->events[e].attributes, &needs->event_attributes,
                                        global, &out->event_rows);
            }
            sg__test_push_u32(&b, SG_COL_EVENT_OFFSETS, (uint32_t)out->events.count);
        }
        if (event_attributes) sg__test_finish_table(&b, table);
    }

    if (needs->link_attributes.kind != SG_SELECT_NONE) {
        const int table = SG_COL_ATTRIBUTE_TABLES + SG_LINK_ATTRIBUTES * SG_TABLE_COLUMNS;
        sg__test_push_u32(&b, SG_COL_LINK_OFFSETS, 0);
        for (size_t i = 0; i < n; i++) {
            const sg_test_span *s = spans->items[i];
            for (size_t l = 0; l < s->link_count; l++) {
                uint32_t global = (uint32_t)out->links.count;
                sg__test_positions_push(&out->links, (uint32_t)i, (uint32_t)l);
                sg__test_push_owner(&b, table, &s->links[l].attributes, &needs->link_attributes, global,
                                    &out->link_rows);
            }
            sg__test_push_u32(&b, SG_COL_LINK_OFFSETS, (uint32_t)out->links.count);
        }
        sg__test_finish_table(&b, table);
    }

    /* Directory, then every column at a multiple of 8 (as sdk/abi write_columns). */
    sg__test_bytes columns = {0};
    uint8_t zeros[SG_DIRECTORY_BYTES] = {0};
    sg__test_bytes_put(&columns, zeros, SG_DIRECTORY_BYTES);
    for (int c = 0; c < SG_COL_COUNT; c++) {
        uint32_t count = sg__test_count(&b, c);
        if (count == 0) continue;
        sg__put32(columns.bytes + c * 8, (uint32_t)columns.len);
        sg__put32(columns.bytes + c * 8 + 4, count);
        sg__test_bytes_put(&columns, b.columns[c].bytes, b.columns[c].len);
        while (columns.len % 8) sg__test_bytes_put(&columns, zeros, 1);
        free(b.columns[c].bytes);
    }
    out->columns = columns.bytes;
    out->columns_len = columns.len;
    out->strings = b.strings.bytes;
    out->strings_len = b.strings.len;
}

/* The parsed batch of an encoding; `strict` makes reads of undeclared fields panic. */
static inline sg_batch sg_test_encoding_batch(const sg_test_encoding *e, const sg_needs *needs,
                                              bool strict) {
    sg_batch batch;
    sg_error err;
    if (!sg_batch_parse(&batch, e->len, e->columns, e->columns_len, e->strings, e->strings_len, &err)) {
        fprintf(stderr, "spangate_plugin_testing: encoded an invalid batch: %s\n", err.message);
        abort();
    }
    batch.strict = strict;
    batch.declared_fields = needs->fields;
    batch.declared_tables = 0;
    for (int t = 0; t < 4; t++)
        if (sg_needs_selection(needs, (sg_table)t)->kind != SG_SELECT_NONE) batch.declared_tables |= (uint8_t)(1u << t);
    return batch;
}

/* ------------------------------------------------------------------------------------
 * Applying edits with the host's checks
 * ---------------------------------------------------------------------------------- */

static const char *const sg__op_names[14] SG__UNUSED = {
    "op 0", "set-span-attribute", "remove-span-attribute", "add-span-attribute",
    "set-resource-attribute", "remove-resource-attribute", "set-event-attribute",
    "remove-event-attribute", "set-link-attribute", "remove-link-attribute", "set-name",
    "set-status-message", "set-event-name", "drop-span",
};

static inline const char *sg_edit_op_name(uint8_t op) {
    return op < 14 ? sg__op_names[op] : "unknown op";
}

static inline bool sg__utf8_valid(const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

/* The string an edit's reference points to in `strings`; false when outside it or not
 * UTF-8. */
static inline bool sg__edit_string(const uint8_t *strings, size_t strings_len, uint64_t reference,
                                   sg_str *out) {
    uint64_t offset = (uint32_t)reference, len = reference >> 32;
    if (offset + len > strings_len) return false;
    if (!sg__utf8_valid(strings + offset, (size_t)len)) return false;
    out->ptr = (const char *)strings + offset;
    out->len = (size_t)len;
    return true;
}

static inline void sg__edit_describe(const sg_edit_record *r, const uint8_t *strings,
                                     size_t strings_len, char *out, size_t size) {
    const char *name = sg_edit_op_name(r->op);
    switch (r->op) {
    case SG_OP_ADD_SPAN_ATTRIBUTE: {
        sg_str key = SG_LIT("?");
        sg__edit_string(strings, strings_len, r->key, &key);
        snprintf(out, size, "%s span %u key \"%.*s\"", name, r->target, SG_STR_ARG(key));
        break;
    }
    case SG_OP_SET_NAME:
    case SG_OP_SET_STATUS_MESSAGE:
    case SG_OP_DROP_SPAN: snprintf(out, size, "%s span %u", name, r->target); break;
    case SG_OP_SET_EVENT_NAME: snprintf(out, size, "%s event %u", name, r->target); break;
    default:
        if (r->op >= 1 && r->op <= 9)
            snprintf(out, size, "%s row %u", name, r->target);
        else
            snprintf(out, size, "op %u", r->op);
    }
}

/* For attribute ops: table and whether it removes; -1 for other ops. */
static inline int sg__edit_table(uint8_t op, bool *removal) {
    switch (op) {
    case SG_OP_SET_SPAN_ATTRIBUTE: *removal = false; return SG_SPAN_ATTRIBUTES;
    case SG_OP_REMOVE_SPAN_ATTRIBUTE: *removal = true; return SG_SPAN_ATTRIBUTES;
    case SG_OP_SET_RESOURCE_ATTRIBUTE: *removal = false; return SG_RESOURCE_ATTRIBUTES;
    case SG_OP_REMOVE_RESOURCE_ATTRIBUTE: *removal = true; return SG_RESOURCE_ATTRIBUTES;
    case SG_OP_SET_EVENT_ATTRIBUTE: *removal = false; return SG_EVENT_ATTRIBUTES;
    case SG_OP_REMOVE_EVENT_ATTRIBUTE: *removal = true; return SG_EVENT_ATTRIBUTES;
    case SG_OP_SET_LINK_ATTRIBUTE: *removal = false; return SG_LINK_ATTRIBUTES;
    case SG_OP_REMOVE_LINK_ATTRIBUTE: *removal = true; return SG_LINK_ATTRIBUTES;
    default: return -1;
    }
}

static inline const sg__test_positions *sg__encoding_rows(const sg_test_encoding *e, int table) {
    switch (table) {
    case SG_SPAN_ATTRIBUTES: return &e->span_rows;
    case SG_RESOURCE_ATTRIBUTES: return &e->resource_rows;
    case SG_EVENT_ATTRIBUTES: return &e->event_rows;
    default: return &e->link_rows;
    }
}

/* Checks one edit as the host does; false with `why` set when it is invalid. */
static inline bool sg__edit_check(const sg_test_encoding *enc, const sg_needs *needs,
                                  const sg_edit_record *r, const uint8_t *strings,
                                  size_t strings_len, char *why, size_t size) {
    bool removal = false;
    int table = sg__edit_table(r->op, &removal);
    bool has_value = (table >= 0 && !removal) || r->op == SG_OP_ADD_SPAN_ATTRIBUTE ||
                     r->op == SG_OP_SET_NAME || r->op == SG_OP_SET_STATUS_MESSAGE ||
                     r->op == SG_OP_SET_EVENT_NAME;
    if (r->op < 1 || r->op > 13) {
        snprintf(why, size, "unknown op %u", r->op);
        return false;
    }
    if (has_value) {
        if (r->kind > SG_VALUE_BOOL) {
            snprintf(why, size, "unknown value kind %u", r->kind);
            return false;
        }
        if ((r->op == SG_OP_SET_NAME || r->op == SG_OP_SET_STATUS_MESSAGE || r->op == SG_OP_SET_EVENT_NAME) &&
            r->kind != SG_VALUE_STR) {
            snprintf(why, size, "the value must be a string (kind 0), not kind %u", r->kind);
            return false;
        }
        sg_str text;
        if (r->kind == SG_VALUE_STR && !sg__edit_string(strings, strings_len, r->value, &text)) {
            snprintf(why, size, "the value's string reference is outside the edit strings or not UTF-8");
            return false;
        }
    }
    if (table >= 0) {
        const sg_selection *selection = sg_needs_selection(needs, (sg_table)table);
        if (selection->kind == SG_SELECT_NONE) {
            snprintf(why, size, "no %s attributes were declared in needs", sg_table_names[table]);
            return false;
        }
        size_t rows = sg__encoding_rows(enc, table)->count;
        if (r->target >= rows) {
            snprintf(why, size, "out of range: the batch has %zu %s attribute rows", rows, sg_table_names[table]);
            return false;
        }
        return true;
    }
    uint16_t field = 0;
    const char *field_name = NULL;
    size_t limit = enc->len;
    const char *what = "spans";
    switch (r->op) {
    case SG_OP_ADD_SPAN_ATTRIBUTE: {
        if (needs->span_attributes.kind == SG_SELECT_NONE) {
            snprintf(why, size, "no span attributes were declared in needs");
            return false;
        }
        sg_str key;
        if (!sg__edit_string(strings, strings_len, r->key, &key)) {
            snprintf(why, size, "the key's string reference is outside the edit strings or not UTF-8");
            return false;
        }
        if (key.len == 0) {
            snprintf(why, size, "empty attribute key");
            return false;
        }
        break;
    }
    case SG_OP_SET_NAME: field = SG_FIELD_NAME; field_name = "name"; break;
    case SG_OP_SET_STATUS_MESSAGE: field = SG_FIELD_STATUS_MESSAGE; field_name = "status-message"; break;
    case SG_OP_SET_EVENT_NAME:
        field = SG_FIELD_EVENT_NAMES;
        field_name = "event-names";
        limit = enc->events.count;
        what = "events";
        break;
    default: break;
    }
    if (field && !(needs->fields & field)) {
        snprintf(why, size, "field `%s` was not declared in needs", field_name);
        return false;
    }
    if (r->target >= limit) {
        snprintf(why, size, "out of range: the batch has %zu %s", limit, what);
        return false;
    }
    return true;
}

static inline void sg__test_attrs_set(sg_test_attrs *attrs, uint32_t index, sg_value v) {
    if (index >= attrs->count) return;
    sg_test_value_free(&attrs->items[index].value);
    attrs->items[index].value = sg_test_value_from(v);
}

/* Removes the attributes marked in `removed` (one flag per attribute). */
static inline void sg__test_attrs_retain(sg_test_attrs *attrs, const bool *removed) {
    size_t kept = 0;
    for (size_t i = 0; i < attrs->count; i++) {
        if (removed[i]) {
            sg_string_free(&attrs->items[i].key);
            sg_test_value_free(&attrs->items[i].value);
        } else {
            attrs->items[kept++] = attrs->items[i];
        }
    }
    attrs->count = kept;
}

static inline sg_value sg__edit_value(const sg_edit_record *r, const uint8_t *strings, size_t strings_len) {
    switch (r->kind) {
    case SG_VALUE_INT: return sg_value_int((int64_t)r->value);
    case SG_VALUE_DOUBLE: return sg_value_double(sg__bits_to_double(r->value));
    case SG_VALUE_BOOL: return sg_value_bool(r->value != 0);
    default: {
        sg_str text = SG_LIT("");
        sg__edit_string(strings, strings_len, r->value, &text);
        return sg_value_str(text);
    }
    }
}

/* The spans after `edits` (records + strings), dropped spans removed, in `out` (which
 * the caller frees with sg_test_spans_free); or false with the first bad edit named in
 * `err` and nothing applied. */
static inline bool sg_test_apply_edits(const sg_test_spans *spans, const sg_needs *needs,
                                       const uint8_t *records, size_t records_len,
                                       const uint8_t *strings, size_t strings_len,
                                       sg_test_spans *out, sg_error *err) {
    memset(out, 0, sizeof *out);
    if (records_len % SG_EDIT_RECORD_BYTES) {
        sg_error_set(err, "the edit records are %zu bytes, not a multiple of %d", records_len, SG_EDIT_RECORD_BYTES);
        return false;
    }
    sg_test_encoding enc;
    sg_test_encode(spans, needs, &enc);
    size_t count = records_len / SG_EDIT_RECORD_BYTES;
    char why[256], what[160];
    sg_edit_record r;
    for (size_t i = 0; i < count; i++) {
        sg_edit_record_at(records, records_len, i, &r);
        if (!sg__edit_check(&enc, needs, &r, strings, strings_len, why, sizeof why)) {
            sg__edit_describe(&r, strings, strings_len, what, sizeof what);
            sg_error_set(err, "edit %zu (%s): %s", i, what, why);
            sg_test_encoding_free(&enc);
            return false;
        }
    }
    /* A row both set and removed. */
    for (size_t i = 0; i < count; i++) {
        bool removal;
        sg_edit_record_at(records, records_len, i, &r);
        int table = sg__edit_table(r.op, &removal);
        if (table < 0 || removal) continue;
        for (size_t k = 0; k < count; k++) {
            sg_edit_record other;
            bool other_removal;
            sg_edit_record_at(records, records_len, k, &other);
            if (sg__edit_table(other.op, &other_removal) == table && other_removal && other.target == r.target) {
                sg__edit_describe(&r, strings, strings_len, what, sizeof what);
                sg_error_set(err, "edit %zu (%s): %s attribute row %u is both set and removed", i, what,
                             sg_table_names[table], r.target);
                sg_test_encoding_free(&enc);
                return false;
            }
        }
    }

    size_t n = spans->count;
    sg_test_span **copies = (sg_test_span **)sg__test_xrealloc(NULL, (n ? n : 1) * sizeof(sg_test_span *));
    for (size_t i = 0; i < n; i++) copies[i] = sg_test_span_clone(spans->items[i]);
    bool *dropped = (bool *)calloc(n ? n : 1, sizeof(bool));
    /* Removal flags per (span, attribute) of each list, allocated lazily. */
    bool **removed_span = (bool **)calloc(n ? n : 1, sizeof(bool *));
    bool **removed_resource = (bool **)calloc(n ? n : 1, sizeof(bool *));
    if (!dropped || !removed_span || !removed_resource) abort();

    /* Values first, at the original positions; removals marked. */
    for (size_t i = 0; i < count; i++) {
        sg_edit_record_at(records, records_len, i, &r);
        sg_value v = sg__edit_value(&r, strings, strings_len);
        const sg__test_pos *pos;
        switch (r.op) {
        case SG_OP_SET_SPAN_ATTRIBUTE:
            pos = &enc.span_rows.items[r.target];
            sg__test_attrs_set(&copies[pos->owner]->attributes, pos->index, v);
            break;
        case SG_OP_REMOVE_SPAN_ATTRIBUTE:
            pos = &enc.span_rows.items[r.target];
            if (!removed_span[pos->owner])
                removed_span[pos->owner] = (bool *)calloc(copies[pos->owner]->attributes.count + 1, sizeof(bool));
            removed_span[pos->owner][pos->index] = true;
            break;
        case SG_OP_SET_RESOURCE_ATTRIBUTE:
        case SG_OP_REMOVE_RESOURCE_ATTRIBUTE:
            pos = &enc.resource_rows.items[r.target];
            for (size_t s = 0; s < n; s++) {
                if (enc.span_resource[s] != pos->owner) continue;
                if (r.op == SG_OP_SET_RESOURCE_ATTRIBUTE) {
                    sg__test_attrs_set(&copies[s]->resource_attributes, pos->index, v);
                } else {
                    if (!removed_resource[s])
                        removed_resource[s] = (bool *)calloc(copies[s]->resource_attributes.count + 1, sizeof(bool));
                    removed_resource[s][pos->index] = true;
                }
            }
            break;
        case SG_OP_SET_EVENT_ATTRIBUTE:
        case SG_OP_REMOVE_EVENT_ATTRIBUTE: {
            pos = &enc.event_rows.items[r.target];
            const sg__test_pos *event = &enc.events.items[pos->owner];
            sg_test_attrs *attrs = &copies[event->owner]->events[event->index].attributes;
            if (r.op == SG_OP_SET_EVENT_ATTRIBUTE) {
                sg__test_attrs_set(attrs, pos->index, v);
            } else if (pos->index < attrs->count) {
                /* Marked by turning the key into a sentinel; removed below. */
                attrs->items[pos->index].value.kind = (sg_value_kind)99;
            }
            break;
        }
        case SG_OP_SET_LINK_ATTRIBUTE:
        case SG_OP_REMOVE_LINK_ATTRIBUTE: {
            pos = &enc.link_rows.items[r.target];
            const sg__test_pos *link = &enc.links.items[pos->owner];
            sg_test_attrs *attrs = &copies[link->owner]->links[link->index].attributes;
            if (r.op == SG_OP_SET_LINK_ATTRIBUTE) {
                sg__test_attrs_set(attrs, pos->index, v);
            } else if (pos->index < attrs->count) {
                attrs->items[pos->index].value.kind = (sg_value_kind)99;
            }
            break;
        }
        case SG_OP_SET_NAME:
            sg_string_free(&copies[r.target]->name);
            copies[r.target]->name = sg__test_copy(v.as.str);
            break;
        case SG_OP_SET_STATUS_MESSAGE:
            sg_string_free(&copies[r.target]->status_message);
            copies[r.target]->status_message = sg__test_copy(v.as.str);
            break;
        case SG_OP_SET_EVENT_NAME: {
            const sg__test_pos *event = &enc.events.items[r.target];
            sg_test_event *e = &copies[event->owner]->events[event->index];
            sg_string_free(&e->name);
            e->name = sg__test_copy(v.as.str);
            break;
        }
        case SG_OP_DROP_SPAN: dropped[r.target] = true; break;
        default: break;
        }
    }
    /* Then removals. */
    for (size_t s = 0; s < n; s++) {
        if (removed_span[s]) sg__test_attrs_retain(&copies[s]->attributes, removed_span[s]);
        if (removed_resource[s]) sg__test_attrs_retain(&copies[s]->resource_attributes, removed_resource[s]);
        free(removed_span[s]);
        free(removed_resource[s]);
        for (size_t e = 0; e < copies[s]->event_count + copies[s]->link_count; e++) {
            sg_test_attrs *attrs = e < copies[s]->event_count ? &copies[s]->events[e].attributes
                                                              : &copies[s]->links[e - copies[s]->event_count].attributes;
            bool *flags = (bool *)calloc(attrs->count + 1, sizeof(bool));
            if (!flags) abort();
            for (size_t a = 0; a < attrs->count; a++) {
                flags[a] = attrs->items[a].value.kind == (sg_value_kind)99;
                if (flags[a]) attrs->items[a].value.kind = SG_VALUE_INT;
            }
            sg__test_attrs_retain(attrs, flags);
            free(flags);
        }
    }
    /* Then additions: an added key the span already has replaces its value. */
    for (size_t i = 0; i < count; i++) {
        sg_edit_record_at(records, records_len, i, &r);
        if (r.op != SG_OP_ADD_SPAN_ATTRIBUTE) continue;
        sg_str key = SG_LIT("");
        sg__edit_string(strings, strings_len, r.key, &key);
        sg_value v = sg__edit_value(&r, strings, strings_len);
        sg_test_attrs *attrs = &copies[r.target]->attributes;
        size_t a = 0;
        while (a < attrs->count && !sg_str_eq(sg_string_view(attrs->items[a].key), key)) a++;
        if (a < attrs->count)
            sg__test_attrs_set(attrs, (uint32_t)a, v);
        else
            sg_test_attrs_push(attrs, key, v);
    }
    /* Then drops. */
    for (size_t s = 0; s < n; s++) {
        if (dropped[s]) {
            sg_test_span_free(copies[s]);
            free(copies[s]);
        } else {
            sg__test_spans_push(out, copies[s]);
        }
    }
    free(copies);
    free(dropped);
    free(removed_span);
    free(removed_resource);
    sg_test_encoding_free(&enc);
    return true;
}

/* ------------------------------------------------------------------------------------
 * Logs and clock
 * ---------------------------------------------------------------------------------- */

/* What the plugin logged since the last call, one "level: message\n" line each (the
 * caller frees it; never NULL). */
static inline char *sg_test_take_logs(void) {
    char *logs = sg__test_logs.ptr ? sg__test_logs.ptr : (char *)calloc(1, 1);
    memset(&sg__test_logs, 0, sizeof sg__test_logs);
    return logs;
}

/* Pins sg_now_unix_nanos() to `nanos`. */
static inline void sg_test_set_now(uint64_t nanos) {
    sg__test_now = nanos;
    sg__test_now_set = true;
}

/* ------------------------------------------------------------------------------------
 * Harnesses
 * ---------------------------------------------------------------------------------- */

/* A processor under test: `init` once, then batches of test spans. */
typedef struct {
    const sg_processor *plugin;
    void *state;
    sg_needs needs;
    bool ready;
} sg_test_processor;

/* Runs `call` with sg_panic caught: returns false with "plugin panicked: <message>". */
#define SG__CATCH_PANIC(err, call, result)                                               \
    do {                                                                                 \
        jmp_buf sg__jump;                                                                \
        jmp_buf *sg__saved = sg__panic_target;                                           \
        sg__panic_target = &sg__jump;                                                    \
        if (setjmp(sg__jump) == 0) {                                                     \
            result = (call);                                                             \
        } else {                                                                         \
            sg_error_set(err, "plugin panicked: %s", sg__panic_message);                 \
            result = false;                                                              \
        }                                                                                \
        sg__panic_target = sg__saved;                                                    \
    } while (0)

/* Calls the plugin's init with `config`; false with its error (or panic) in `err`. */
static inline bool sg_test_processor_init(sg_test_processor *h, const sg_processor *plugin,
                                          const char *config, sg_error *err) {
    memset(h, 0, sizeof *h);
    h->plugin = plugin;
    bool ok = false;
    if (err) err->message[0] = 0;
    SG__CATCH_PANIC(err, plugin->init(&h->state, sg_str_from(config), &h->needs, err), ok);
    if (ok && (!h->needs.name || !h->needs.version)) {
        sg_error_set(err, "needs.name and needs.version must be set");
        ok = false;
    }
    h->ready = ok;
    return ok;
}

/* The edits the plugin answers for `spans` (raw; `edits` is initialised here and freed
 * by the caller with sg_edits_free). */
static inline bool sg_test_processor_edits(sg_test_processor *h, const sg_test_spans *spans,
                                           sg_edits *edits, sg_error *err) {
    sg_edits_init(edits);
    if (!h->ready) {
        sg_error_set(err, "not initialised");
        return false;
    }
    sg_test_encoding enc;
    sg_test_encode(spans, &h->needs, &enc);
    sg_batch batch = sg_test_encoding_batch(&enc, &h->needs, true);
    bool ok = false;
    if (err) err->message[0] = 0;
    SG__CATCH_PANIC(err, h->plugin->process(h->state, &batch, edits, err), ok);
    if (ok && edits->failure) {
        sg_error_set(err, "%s", edits->failure);
        ok = false;
    }
    sg_test_encoding_free(&enc);
    return ok;
}

/* Runs the plugin on `spans` and applies its edits with the host's checks: `out` gets
 * the resulting spans (free with sg_test_spans_free). */
static inline bool sg_test_processor_run(sg_test_processor *h, const sg_test_spans *spans,
                                         sg_test_spans *out, sg_error *err) {
    memset(out, 0, sizeof *out);
    sg_edits edits;
    bool ok = sg_test_processor_edits(h, spans, &edits, err);
    if (ok)
        ok = sg_test_apply_edits(spans, &h->needs, edits.records, edits.records_len, edits.strings,
                                 edits.strings_len, out, err);
    sg_edits_free(&edits);
    return ok;
}

static inline void sg_test_processor_free(sg_test_processor *h) {
    if (h->ready && h->plugin->free) h->plugin->free(h->state);
    memset(h, 0, sizeof *h);
}

/* A sampler under test. */
typedef struct {
    const sg_sampler *plugin;
    void *state;
    sg_sampler_needs needs;
    bool ready;
} sg_test_sampler;

static inline bool sg_test_sampler_init(sg_test_sampler *h, const sg_sampler *plugin,
                                        const char *config, sg_error *err) {
    memset(h, 0, sizeof *h);
    h->plugin = plugin;
    bool ok = false;
    if (err) err->message[0] = 0;
    SG__CATCH_PANIC(err, plugin->init(&h->state, sg_str_from(config), &h->needs, err), ok);
    h->ready = ok;
    return ok;
}

/* Head (tail = false) or tail decisions for `spans`; checks one verdict per span (head)
 * or per distinct trace id (tail) and that every verdict names a policy.
 * `decisions` is initialised here; free it with sg_decisions_free. */
static inline bool sg_test_sampler_decide(sg_test_sampler *h, const sg_test_spans *spans, bool tail,
                                          sg_decisions *decisions, sg_error *err) {
    sg_decisions_init(decisions);
    if (!h->ready) {
        sg_error_set(err, "not initialised");
        return false;
    }
    if (tail && !h->plugin->sample_tail) {
        sg_error_set(err, "the sampler has no sample_tail");
        return false;
    }
    sg_test_encoding enc;
    sg_test_encode(spans, &h->needs.needs, &enc);
    sg_batch batch = sg_test_encoding_batch(&enc, &h->needs.needs, true);
    bool ok = false;
    if (err) err->message[0] = 0;
    if (tail)
        SG__CATCH_PANIC(err, h->plugin->sample_tail(h->state, &batch, decisions, err), ok);
    else
        SG__CATCH_PANIC(err, h->plugin->sample_head(h->state, &batch, decisions, err), ok);
    if (ok && decisions->failure) {
        sg_error_set(err, "%s", decisions->failure);
        ok = false;
    }
    size_t expected = spans->count;
    if (ok && tail) {
        /* Distinct trace ids, computed from the spans (not the batch). */
        expected = 0;
        for (size_t i = 0; i < spans->count; i++) {
            size_t k = 0;
            while (k < i && memcmp(spans->items[k]->trace_id, spans->items[i]->trace_id, 16) != 0) k++;
            if (k == i) expected++;
        }
    }
    if (ok && decisions->len != expected) {
        sg_error_set(err, "%zu verdicts for %zu %s", decisions->len, expected, tail ? "traces" : "spans");
        ok = false;
    }
    for (size_t i = 0; ok && i < decisions->len; i++)
        if (decisions->verdicts[i] > decisions->policy_count) {
            sg_error_set(err, "verdict %zu is %u but there are %zu policies", i, decisions->verdicts[i],
                         decisions->policy_count);
            ok = false;
        }
    sg_test_encoding_free(&enc);
    return ok;
}

static inline void sg_test_sampler_free(sg_test_sampler *h) {
    if (h->ready && h->plugin->free) h->plugin->free(h->state);
    memset(h, 0, sizeof *h);
}

/* ------------------------------------------------------------------------------------
 * A tiny test runner
 * ---------------------------------------------------------------------------------- */

SG__WEAK jmp_buf *sg__check_target;
SG__WEAK char sg__check_message[1024];
SG__WEAK int sg__tests_passed;
SG__WEAK int sg__tests_failed;

static inline SG__PRINTF(3, 4) void sg__check_fail(const char *file, int line, const char *fmt, ...) {
    int n = snprintf(sg__check_message, sizeof sg__check_message, "%s:%d: ", file, line);
    va_list args;
    va_start(args, fmt);
    if (n >= 0 && (size_t)n < sizeof sg__check_message)
        vsnprintf(sg__check_message + n, sizeof sg__check_message - (size_t)n, fmt, args);
    va_end(args);
    if (sg__check_target) longjmp(*sg__check_target, 1);
    fprintf(stderr, "%s\n", sg__check_message);
    abort();
}

/* Fails the current test when `cond` is false. */
#define SG_CHECK(cond)                                                                      \
    do {                                                                                    \
        if (!(cond)) sg__check_fail(__FILE__, __LINE__, "check failed: %s", #cond);         \
    } while (0)

/* Fails the current test with a message when `cond` is false. */
#define SG_CHECK_MSG(cond, ...)                                                             \
    do {                                                                                    \
        if (!(cond)) sg__check_fail(__FILE__, __LINE__, __VA_ARGS__);                       \
    } while (0)

/* A call returning bool with an sg_error that must succeed. */
#define SG_CHECK_OK(call, err)                                                              \
    do {                                                                                    \
        if (!(call)) sg__check_fail(__FILE__, __LINE__, "%s failed: %s", #call, (err)->message); \
    } while (0)

#define SG_CHECK_EQ_U64(actual, expected)                                                   \
    do {                                                                                    \
        unsigned long long sg__a = (unsigned long long)(actual), sg__e = (unsigned long long)(expected); \
        if (sg__a != sg__e)                                                                 \
            sg__check_fail(__FILE__, __LINE__, "%s is %llu, expected %llu", #actual, sg__a, sg__e); \
    } while (0)

/* An sg_str (or sg_string_view) equal to a C string. */
#define SG_CHECK_STR(actual, expected)                                                      \
    do {                                                                                    \
        sg_str sg__a = (actual);                                                            \
        const char *sg__e = (expected);                                                     \
        if (!sg_str_eq_cstr(sg__a, sg__e))                                                  \
            sg__check_fail(__FILE__, __LINE__, "%s is \"%.*s\", expected \"%s\"", #actual,  \
                           SG_STR_ARG(sg__a), sg__e);                                       \
    } while (0)

/* A C string that contains `needle`. */
#define SG_CHECK_CONTAINS(haystack, needle)                                                 \
    do {                                                                                    \
        const char *sg__h = (haystack), *sg__n = (needle);                                  \
        if (!strstr(sg__h, sg__n))                                                          \
            sg__check_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", sg__h, sg__n); \
    } while (0)

/* A test span's attribute `key` has value `expected` (an sg_value); NULL-safe. */
#define SG_CHECK_ATTR(span, key, expected)                                                  \
    do {                                                                                    \
        const sg_test_value *sg__v = sg_test_span_get((span), (key));                       \
        sg_value sg__e = (expected);                                                        \
        char sg__ed[128], sg__ad[128] = "(absent)";                                         \
        sg_value_describe(sg__e, sg__ed, sizeof sg__ed);                                    \
        if (sg__v) sg_value_describe(sg_test_value_view(sg__v), sg__ad, sizeof sg__ad);      \
        if (!sg__v || !sg_value_equal(sg_test_value_view(sg__v), sg__e))                    \
            sg__check_fail(__FILE__, __LINE__, "attribute \"%s\" is %s, expected %s", (key), \
                           sg__ad, sg__ed);                                                 \
    } while (0)

#define SG_CHECK_NO_ATTR(span, key)                                                         \
    do {                                                                                    \
        if (sg_test_span_get((span), (key)))                                                \
            sg__check_fail(__FILE__, __LINE__, "attribute \"%s\" is present", (key));       \
    } while (0)

/* Runs one test: prints `ok <name>` or `FAILED <name>: <message>`. A failed check
 * (or a plugin panic outside a harness call) ends the test; leaks are tolerated. */
static inline void sg_test_run(const char *name, void (*test)(void)) {
    jmp_buf jump;
    jmp_buf *saved = sg__check_target;
    sg__check_target = &jump;
    if (setjmp(jump) == 0) {
        test();
        sg__tests_passed++;
        printf("ok %s\n", name);
    } else {
        sg__tests_failed++;
        printf("FAILED %s: %s\n", name, sg__check_message);
    }
    sg__check_target = saved;
    free(sg_test_take_logs());
    fflush(stdout);
}

/* Prints `N passed, N failed` and returns the process exit code (0: all passed). */
static inline int sg_test_summary(void) {
    printf("%d passed, %d failed\n", sg__tests_passed, sg__tests_failed);
    return sg__tests_failed ? 1 : 0;
}

#ifdef __cplusplus
}
#endif

#endif /* SPANGATE_PLUGIN_TESTING_H */
