/*
 * Exports the plugin's sg_processor (SG_EXPORT_PROCESSOR) as
 * `spangate:plugin/processor@0.2.0`, over the bindings `wit-bindgen c` generates for the
 * `processor-plugin` world. Compiled into the component by scripts/build-c-plugin.sh.
 */
#include "processor_plugin.h"

#define SG_WIT_STRING processor_plugin_string_t
#define SG_WIT_LIST_STRING processor_plugin_list_string_t
#include "glue_common.h"

extern const sg_processor *const sg_exported_processor;

static void *sg_state;
static bool sg_ready;

bool exports_spangate_plugin_processor_init(processor_plugin_string_t *config,
                                            exports_spangate_plugin_processor_needs_t *ret,
                                            processor_plugin_string_t *err) {
    sg_error error;
    error.message[0] = 0;
    if (sg_ready && sg_exported_processor->free) sg_exported_processor->free(sg_state);
    sg_ready = false;
    sg_state = NULL;
    sg_needs needs;
    memset(&needs, 0, sizeof needs);
    sg_str text = {(const char *)config->ptr, config->len};
    bool ok = sg_exported_processor->init(&sg_state, text, &needs, &error);
    ok = ok && sg_glue_needs(ret, &needs, &error);
    processor_plugin_string_free(config);
    if (!ok) {
        sg_glue_error(err, error.message[0] ? error.message : "init failed");
        return false;
    }
    sg_ready = true;
    return true;
}

bool exports_spangate_plugin_processor_process(exports_spangate_plugin_processor_span_batch_t *batch,
                                               exports_spangate_plugin_processor_edits_t *ret,
                                               processor_plugin_string_t *err) {
    sg_error error;
    error.message[0] = 0;
    if (!sg_ready) {
        sg_glue_free_batch(batch);
        sg_glue_error(err, "not initialised");
        return false;
    }
    sg_batch view;
    sg_edits edits;
    sg_edits_init(&edits);
    bool ok = sg_glue_batch(&view, batch, &error) &&
              sg_exported_processor->process(sg_state, &view, &edits, &error);
    sg_glue_free_batch(batch);
    if (ok && edits.failure) {
        sg_error_set(&error, "%s", edits.failure);
        ok = false;
    }
    if (!ok) {
        sg_edits_free(&edits);
        sg_glue_error(err, error.message[0] ? error.message : "process failed");
        return false;
    }
    /* Hand the buffers over; the post-return function frees them. */
    if (edits.records_len == 0) {
        free(edits.records);
        edits.records = NULL;
    }
    if (edits.strings_len == 0) {
        free(edits.strings);
        edits.strings = NULL;
    }
    ret->records.ptr = edits.records;
    ret->records.len = edits.records_len;
    ret->strings.ptr = edits.strings;
    ret->strings.len = edits.strings_len;
    return true;
}
