/* A processor that fails on purpose, for sdk/c/tests/wasm_checks.py: config "panic"
 * panics in init, "assert" fails an assert() in init, "abort" calls abort(), "error"
 * refuses init; otherwise
 * process panics on a batch of 3 spans, returns an error on 2, and logs on 1. */
#include <assert.h>
#include <stdlib.h>

#include "spangate_plugin.h"

static bool panic_init(void **state, sg_str config, sg_needs *needs, sg_error *err) {
    *state = NULL;
    if (sg_str_eq_cstr(config, "panic")) sg_panic("init exploded with %s", "config panic");
    assert(!sg_str_eq_cstr(config, "assert"));
    if (sg_str_eq_cstr(config, "abort")) abort();
    if (sg_str_eq_cstr(config, "error")) {
        sg_error_set(err, "refused: %d", 7);
        return false;
    }
    needs->name = "panic";
    needs->version = "0.0.1";
    needs->fields = SG_FIELD_NAME;
    return true;
}

static bool panic_process(void *state, const sg_batch *batch, sg_edits *edits, sg_error *err) {
    (void)state;
    if (batch->len == 3) sg_panic("process exploded on %u spans", batch->len);
    if (batch->len == 2) {
        sg_error_set(err, "two spans are too many");
        return false;
    }
    sg_logf(SG_LOG_WARN, "now %llu", (unsigned long long)sg_now_unix_nanos());
    sg_edits_set_name(edits, 0, SG_LIT("renamed"));
    return true;
}

const sg_processor panic_processor = {panic_init, panic_process, NULL};
SG_EXPORT_PROCESSOR(panic_processor);
