/* A sampler for sdk/c/tests/wasm_checks.py: head keeps error spans ("errors") and drops
 * the rest; tail keeps every trace whose first span is an error ("error-traces"). */
#include "spangate_plugin.h"

static bool sampler_init(void **state, sg_str config, sg_sampler_needs *needs, sg_error *err) {
    (void)config, (void)err;
    *state = NULL;
    needs->needs.name = "keep-errors";
    needs->needs.version = "0.1.0";
    needs->needs.fields = SG_FIELD_TRACE_ID | SG_FIELD_STATUS;
    needs->tail = true;
    needs->tail_settings.decision_wait_millis = 2000;
    needs->tail_settings.max_traces = 1000;
    needs->tail_settings.max_spans_per_trace = 100;
    return true;
}

static bool sample_head(void *state, const sg_batch *batch, sg_decisions *decisions, sg_error *err) {
    (void)state, (void)err;
    for (uint32_t span = 0; span < batch->len; span++) {
        if (sg_span_status(batch, span) == SG_STATUS_ERROR)
            sg_decisions_keep(decisions, SG_LIT("errors"));
        else
            sg_decisions_drop(decisions);
    }
    return true;
}

static bool sample_tail(void *state, const sg_batch *batch, sg_decisions *decisions, sg_error *err) {
    (void)state;
    uint32_t *firsts;
    size_t traces = sg_trace_first_spans(batch, &firsts);
    if (traces == SIZE_MAX) {
        sg_error_set(err, "out of memory");
        return false;
    }
    for (size_t t = 0; t < traces; t++) {
        if (sg_span_status(batch, firsts[t]) == SG_STATUS_ERROR)
            sg_decisions_keep(decisions, SG_LIT("error-traces"));
        else
            sg_decisions_drop(decisions);
    }
    free(firsts);
    return true;
}

const sg_sampler keep_errors = {sampler_init, sample_head, sample_tail, NULL};
SG_EXPORT_SAMPLER(keep_errors);
