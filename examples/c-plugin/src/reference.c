/*
 * The reference plugin, in C: the same behaviour as the Rust, Python and JS ones.
 *
 * Config (JSON, every key optional): mask_keys (list of strings, default []),
 * slow_ms (non-negative integer, default 1000), drop_name (string, default "").
 *
 * Per span, in batch order:
 *   - named drop_name (when non-empty): dropped, nothing else;
 *   - otherwise (1) string attributes whose key is in mask_keys become "<masked:N>",
 *     N = the value's length in UTF-8 bytes; (2) spans lasting at least slow_ms get
 *     ref.slow = true and ref.duration_ms = whole milliseconds; (3) error spans are
 *     renamed "<service>: <name>" ("unknown" for an empty service name).
 */
#include "spangate_plugin.h"

typedef struct {
    sg_string_list mask_keys;
    sg_str *mask_key_views; /* the same keys, as the needs' key selection */
    uint64_t slow_nanos;
    sg_string drop_name;
} reference_plugin;

static void reference_free(void *state) {
    reference_plugin *plugin = (reference_plugin *)state;
    if (!plugin) return;
    sg_string_list_free(&plugin->mask_keys);
    free(plugin->mask_key_views);
    sg_string_free(&plugin->drop_name);
    free(plugin);
}

static bool reference_init(void **state, sg_str config_text, sg_needs *needs, sg_error *err) {
    reference_plugin *plugin = (reference_plugin *)calloc(1, sizeof *plugin);
    if (!plugin) {
        sg_error_set(err, "out of memory");
        return false;
    }
    sg_config config;
    uint64_t slow_ms = 0;
    if (!sg_config_parse(&config, config_text, err)) {
        reference_free(plugin);
        return false;
    }
    if (!sg_config_string_list(&config, "mask_keys", &plugin->mask_keys, err) ||
        !sg_config_u64(&config, "slow_ms", 1000, &slow_ms, err) ||
        !sg_config_string(&config, "drop_name", "", &plugin->drop_name, err) ||
        !sg_config_finish(&config, err)) {
        sg_config_free(&config);
        reference_free(plugin);
        return false;
    }
    plugin->slow_nanos = slow_ms > UINT64_MAX / 1000000 ? UINT64_MAX : slow_ms * 1000000;
    plugin->mask_key_views = (sg_str *)calloc(plugin->mask_keys.count + 1, sizeof(sg_str));
    if (!plugin->mask_key_views) {
        sg_error_set(err, "out of memory");
        reference_free(plugin);
        return false;
    }
    for (size_t i = 0; i < plugin->mask_keys.count; i++)
        plugin->mask_key_views[i] = sg_string_view(plugin->mask_keys.items[i]);

    needs->name = "reference";
    needs->version = "1.0.0";
    needs->fields = SG_FIELD_NAME | SG_FIELD_SERVICE_NAME | SG_FIELD_TIMES | SG_FIELD_STATUS;
    /* keys(mask_keys), even when empty: adding ref.slow needs a span attribute selection. */
    needs->span_attributes = sg_select_keys(plugin->mask_key_views, plugin->mask_keys.count);
    *state = plugin;
    return true;
}

static bool reference_process(void *state, const sg_batch *batch, sg_edits *edits, sg_error *err) {
    (void)err;
    const reference_plugin *plugin = (const reference_plugin *)state;
    sg_str drop_name = sg_string_view(plugin->drop_name);
    for (uint32_t span = 0; span < batch->len; span++) {
        sg_str name = sg_span_name(batch, span);
        if (drop_name.len > 0 && sg_str_eq(name, drop_name)) {
            sg_edits_drop_span(edits, span);
            continue;
        }

        sg_attribute attribute;
        for (sg_attr_iter it = sg_span_attributes(batch, span); sg_attr_next(&it, &attribute);) {
            if (attribute.value.kind == SG_VALUE_STR &&
                sg_string_list_contains(&plugin->mask_keys, attribute.key))
                sg_edits_set_span_attribute_fmt(edits, attribute.row, "<masked:%zu>",
                                                attribute.value.as.str.len);
        }

        uint64_t duration = sg_span_duration_nanos(batch, span);
        if (duration >= plugin->slow_nanos) {
            sg_edits_add_span_attribute(edits, span, SG_LIT("ref.slow"), sg_value_bool(true));
            sg_edits_add_span_attribute(edits, span, SG_LIT("ref.duration_ms"),
                                        sg_value_int((int64_t)(duration / 1000000)));
        }

        if (sg_span_status(batch, span) == SG_STATUS_ERROR) {
            sg_str service = sg_span_service_name(batch, span);
            if (service.len == 0) service = SG_LIT("unknown");
            sg_edits_set_name_fmt(edits, span, "%.*s: %.*s", SG_STR_ARG(service), SG_STR_ARG(name));
        }
    }
    return true; /* an out-of-memory edit sets edits->failure, which fails the call */
}

const sg_processor reference_processor = {reference_init, reference_process, reference_free};

SG_EXPORT_PROCESSOR(reference_processor);
