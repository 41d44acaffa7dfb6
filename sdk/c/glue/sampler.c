/*
 * Exports the plugin's sg_sampler (SG_EXPORT_SAMPLER) as
 * `spangate:plugin/sampler@0.2.0`, over the bindings `wit-bindgen c` generates for the
 * `sampler-plugin` world. Compiled into the component by scripts/build-c-plugin.sh.
 */
#include "sampler_plugin.h"

#define SG_WIT_STRING sampler_plugin_string_t
#define SG_WIT_LIST_STRING sampler_plugin_list_string_t
#include "glue_common.h"

extern const sg_sampler *const sg_exported_sampler;

static void *sg_state;
static bool sg_ready;

bool exports_spangate_plugin_sampler_init(sampler_plugin_string_t *config,
                                          exports_spangate_plugin_sampler_sampler_needs_t *ret,
                                          sampler_plugin_string_t *err) {
    sg_error error;
    error.message[0] = 0;
    if (sg_ready && sg_exported_sampler->free) sg_exported_sampler->free(sg_state);
    sg_ready = false;
    sg_state = NULL;
    sg_sampler_needs needs;
    memset(&needs, 0, sizeof needs);
    sg_str text = {(const char *)config->ptr, config->len};
    bool ok = sg_exported_sampler->init(&sg_state, text, &needs, &error);
    if (ok && needs.tail && !sg_exported_sampler->sample_tail) {
        sg_error_set(&error, "tail settings declared but no sample_tail function");
        ok = false;
    }
    ok = ok && sg_glue_needs(&ret->needs, &needs.needs, &error);
    sampler_plugin_string_free(config);
    if (!ok) {
        sg_glue_error(err, error.message[0] ? error.message : "init failed");
        return false;
    }
    ret->tail.is_some = needs.tail;
    ret->tail.val.decision_wait_millis = needs.tail_settings.decision_wait_millis;
    ret->tail.val.max_traces = needs.tail_settings.max_traces;
    ret->tail.val.max_spans_per_trace = needs.tail_settings.max_spans_per_trace;
    sg_ready = true;
    return true;
}

static bool sg_decide(exports_spangate_plugin_sampler_span_batch_t *batch, bool tail,
                      exports_spangate_plugin_sampler_decisions_t *ret, sampler_plugin_string_t *err) {
    sg_error error;
    error.message[0] = 0;
    if (!sg_ready) {
        sg_glue_free_batch(batch);
        sg_glue_error(err, "not initialised");
        return false;
    }
    sg_batch view;
    sg_decisions decisions;
    sg_decisions_init(&decisions);
    bool ok = sg_glue_batch(&view, batch, &error);
    if (ok && tail && !sg_exported_sampler->sample_tail) {
        sg_error_set(&error, "sample_tail called but the sampler has none");
        ok = false;
    }
    if (ok)
        ok = tail ? sg_exported_sampler->sample_tail(sg_state, &view, &decisions, &error)
                  : sg_exported_sampler->sample_head(sg_state, &view, &decisions, &error);
    sg_glue_free_batch(batch);
    if (ok && decisions.failure) {
        sg_error_set(&error, "%s", decisions.failure);
        ok = false;
    }
    memset(ret, 0, sizeof *ret);
    if (ok && decisions.policy_count) {
        ret->policies.ptr = (sampler_plugin_string_t *)calloc(decisions.policy_count, sizeof(sampler_plugin_string_t));
        ok = ret->policies.ptr != NULL;
        if (ok) ret->policies.len = decisions.policy_count;
        for (size_t i = 0; ok && i < decisions.policy_count; i++)
            ok = sg_glue_string(&ret->policies.ptr[i], sg_string_view(decisions.policies[i]));
        if (!ok) sg_error_set(&error, "out of memory returning decisions");
    }
    if (!ok) {
        sg_glue_free_list_string(&ret->policies);
        sg_decisions_free(&decisions);
        sg_glue_error(err, error.message[0] ? error.message : "sampling failed");
        return false;
    }
    if (decisions.len) {
        ret->verdicts.ptr = decisions.verdicts; /* handed over */
        ret->verdicts.len = decisions.len;
        decisions.verdicts = NULL;
    }
    sg_decisions_free(&decisions);
    return true;
}

bool exports_spangate_plugin_sampler_sample_head(exports_spangate_plugin_sampler_span_batch_t *batch,
                                                 exports_spangate_plugin_sampler_decisions_t *ret,
                                                 sampler_plugin_string_t *err) {
    return sg_decide(batch, false, ret, err);
}

bool exports_spangate_plugin_sampler_sample_tail(exports_spangate_plugin_sampler_span_batch_t *batch,
                                                 exports_spangate_plugin_sampler_decisions_t *ret,
                                                 sampler_plugin_string_t *err) {
    return sg_decide(batch, true, ret, err);
}
