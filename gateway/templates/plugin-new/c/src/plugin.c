/*
 * {{name}}: a Spangate processor, made by `spangate plugin new --lang c`.
 *
 * Every span gets the attribute plugin.hello = "world"; spans named exactly like the
 * config key drop_name are dropped.
 *
 * Config (JSON, every key optional; an unknown key refuses it, naming the key):
 *   drop_name  string, default "": spans with exactly this name are dropped ("" drops
 *              nothing).
 */
#include "spangate_plugin.h"

typedef struct {
    sg_string drop_name;
} plugin_state;

/* The attribute it adds: adding an attribute needs a span-attribute selection. */
static const sg_str added_keys[] = {{"plugin.hello", sizeof "plugin.hello" - 1}};

static void plugin_free(void *state) {
    plugin_state *plugin = (plugin_state *)state;
    if (!plugin) return;
    sg_string_free(&plugin->drop_name);
    free(plugin);
}

static bool plugin_init(void **state, sg_str config_text, sg_needs *needs, sg_error *err) {
    plugin_state *plugin = (plugin_state *)calloc(1, sizeof *plugin);
    if (!plugin) {
        sg_error_set(err, "out of memory");
        return false;
    }
    sg_config config;
    if (!sg_config_parse(&config, config_text, err)) {
        plugin_free(plugin);
        return false;
    }
    if (!sg_config_string(&config, "drop_name", "", &plugin->drop_name, err) ||
        !sg_config_finish(&config, err)) {
        sg_config_free(&config);
        plugin_free(plugin);
        return false;
    }
    /* What the plugin reads: span names and the attribute it adds; nothing else is sent. */
    needs->name = "{{name}}";
    needs->version = "0.1.0";
    needs->fields = SG_FIELD_NAME;
    needs->span_attributes = sg_select_keys(added_keys, 1);
    *state = plugin;
    return true;
}

static bool plugin_process(void *state, const sg_batch *batch, sg_edits *edits, sg_error *err) {
    (void)err;
    const plugin_state *plugin = (const plugin_state *)state;
    sg_str drop_name = sg_string_view(plugin->drop_name);
    for (uint32_t span = 0; span < batch->len; span++) {
        if (drop_name.len > 0 && sg_str_eq(sg_span_name(batch, span), drop_name)) {
            sg_edits_drop_span(edits, span);
            continue;
        }
        sg_edits_add_span_attribute(edits, span, SG_LIT("plugin.hello"), sg_value_cstr("world"));
    }
    return true; /* an out-of-memory edit sets edits->failure, which fails the call */
}

const sg_processor plugin_processor = {plugin_init, plugin_process, plugin_free};

SG_EXPORT_PROCESSOR(plugin_processor);
