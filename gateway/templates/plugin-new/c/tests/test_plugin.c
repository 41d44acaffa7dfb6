/* Native tests: plain C, no wasm, no gateway (`make test`). The harness encodes the
 * spans as the gateway would for the plugin's needs, runs `process`, and applies the
 * edits with the gateway's checks. */
#include "spangate_plugin_testing.h"

extern const sg_processor plugin_processor;

static void test_spans_get_hello_and_the_configured_name_is_dropped(void) {
    sg_test_processor h;
    sg_error err;
    SG_CHECK_OK(sg_test_processor_init(&h, &plugin_processor, "{\"drop_name\": \"GET /healthz\"}", &err), &err);
    sg_test_spans in = {0}, out = {0};
    sg_test_span_named(sg_test_spans_add(&in, 1, 1), "GET /users/42");
    sg_test_span_named(sg_test_spans_add(&in, 1, 2), "GET /healthz");
    SG_CHECK_OK(sg_test_processor_run(&h, &in, &out, &err), &err);
    SG_CHECK_EQ_U64(out.count, 1);
    SG_CHECK_STR(sg_string_view(out.items[0]->name), "GET /users/42");
    SG_CHECK_ATTR(out.items[0], "plugin.hello", sg_value_cstr("world"));
    sg_test_spans_free(&in);
    sg_test_spans_free(&out);
    sg_test_processor_free(&h);
}

int main(void) {
    sg_test_run("spans_get_hello_and_the_configured_name_is_dropped",
                test_spans_get_hello_and_the_configured_name_is_dropped);
    return sg_test_summary();
}
