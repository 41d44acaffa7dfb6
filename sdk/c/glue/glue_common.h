/*
 * Shared by the per-world glue files (processor.c, sampler.c): conversions between the
 * SDK's types and the bindings that `wit-bindgen c` generates for a world. The
 * including file defines SG_WIT_STRING / SG_WIT_LIST_STRING as its world's string and
 * list<string> types.
 *
 * Ownership (wit-bindgen 0.61 C): arguments of an exported function belong to the
 * callee (freed here after the call); returned buffers are malloc'd here and freed by
 * the generated `cabi_post_*` functions, which free only non-empty buffers, so empty
 * ones are returned as NULL.
 */
#ifndef SPANGATE_GLUE_COMMON_H
#define SPANGATE_GLUE_COMMON_H

#include "spangate_plugin.h"

/* A malloc'd copy of `s` (NULL for ""), or false when out of memory. */
static bool sg_glue_string(SG_WIT_STRING *out, sg_str s) {
    out->ptr = NULL;
    out->len = 0;
    if (s.len == 0) return true;
    out->ptr = (uint8_t *)malloc(s.len);
    if (!out->ptr) return false;
    memcpy(out->ptr, s.ptr, s.len);
    out->len = s.len;
    return true;
}

/* `message` as the call's error (and in the gateway's log at error level). */
static void sg_glue_error(SG_WIT_STRING *err, const char *message) {
    if (!message || !message[0]) message = "the plugin failed without a message";
    if (!sg_glue_string(err, sg_str_from(message))) {
        /* Out of memory: a static string; the post-return free would be invalid, so trap. */
        __builtin_trap();
    }
}

static void sg_glue_free_list_string(SG_WIT_LIST_STRING *list) {
    for (size_t i = 0; i < list->len; i++) free(list->ptr[i].ptr);
    free(list->ptr);
    list->ptr = NULL;
    list->len = 0;
}

static bool sg_glue_selection(spangate_plugin_types_attribute_selection_t *out, const sg_selection *in) {
    memset(out, 0, sizeof *out);
    out->tag = (uint8_t)in->kind;
    if (in->kind != SG_SELECT_KEYS || in->key_count == 0) return true;
    out->val.keys.ptr = (SG_WIT_STRING *)calloc(in->key_count, sizeof(SG_WIT_STRING));
    if (!out->val.keys.ptr) return false;
    out->val.keys.len = in->key_count;
    for (size_t i = 0; i < in->key_count; i++)
        if (!sg_glue_string(&out->val.keys.ptr[i], in->keys[i])) return false;
    return true;
}

static void sg_glue_free_selection(spangate_plugin_types_attribute_selection_t *s) {
    if (s->tag == SG_SELECT_KEYS) sg_glue_free_list_string(&s->val.keys);
}

static void sg_glue_free_needs(spangate_plugin_types_needs_t *out) {
    free(out->name.ptr);
    free(out->version.ptr);
    sg_glue_free_selection(&out->span_attributes);
    sg_glue_free_selection(&out->resource_attributes);
    sg_glue_free_selection(&out->event_attributes);
    sg_glue_free_selection(&out->link_attributes);
    memset(out, 0, sizeof *out);
}

static bool sg_glue_needs(spangate_plugin_types_needs_t *out, const sg_needs *in, sg_error *err) {
    memset(out, 0, sizeof *out);
    if (!in->name || !in->name[0] || !in->version) {
        sg_error_set(err, "init returned needs without a name or version");
        return false;
    }
    out->fields = in->fields;
    if (!sg_glue_string(&out->name, sg_str_from(in->name)) ||
        !sg_glue_string(&out->version, sg_str_from(in->version)) ||
        !sg_glue_selection(&out->span_attributes, &in->span_attributes) ||
        !sg_glue_selection(&out->resource_attributes, &in->resource_attributes) ||
        !sg_glue_selection(&out->event_attributes, &in->event_attributes) ||
        !sg_glue_selection(&out->link_attributes, &in->link_attributes)) {
        sg_glue_free_needs(out);
        sg_error_set(err, "out of memory returning needs");
        return false;
    }
    return true;
}

/* Parses the batch the host lowered into our memory. */
static bool sg_glue_batch(sg_batch *out, const spangate_plugin_types_span_batch_t *batch, sg_error *err) {
    return sg_batch_parse(out, batch->len, batch->columns.ptr, batch->columns.len, batch->strings.ptr,
                          batch->strings.len, err);
}

static void sg_glue_free_batch(spangate_plugin_types_span_batch_t *batch) {
    if (batch->columns.len) free(batch->columns.ptr);
    if (batch->strings.len) free(batch->strings.ptr);
    batch->columns.ptr = batch->strings.ptr = NULL;
    batch->columns.len = batch->strings.len = 0;
}

#if defined(__wasm__)
/* assert() from <assert.h> lands here: its message reaches the gateway's log (wasi-libc's
 * own would write to stderr, which the host discards) before the trap. */
_Noreturn void __assert_fail(const char *expression, const char *file, int line, const char *function) {
    sg_panic("assertion failed: %s (%s:%d, %s)", expression, file, line, function);
}

/* abort() (from the plugin, or cabi_realloc running out of memory) is logged too. */
_Noreturn void abort(void) {
    sg_panic("abort() called");
}

#endif /* __wasm__ */

#endif
