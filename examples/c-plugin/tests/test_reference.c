/* Native tests of the reference plugin: every rule, through the SDK's harness (the
 * batch the host would send, the host's checks when applying the edits). */
#include "spangate_plugin_testing.h"

extern const sg_processor reference_processor;

#define MS 1000000ull

static sg_test_processor start(const char *config) {
    sg_test_processor h;
    sg_error err;
    SG_CHECK_OK(sg_test_processor_init(&h, &reference_processor, config, &err), &err);
    return h;
}

/* Runs the plugin on `in`; the result goes to `out`. */
static void run(sg_test_processor *h, sg_test_spans *in, sg_test_spans *out) {
    sg_error err;
    SG_CHECK_OK(sg_test_processor_run(h, in, out, &err), &err);
}

static void refused(const char *config, const char *expected) {
    sg_test_processor h;
    sg_error err;
    bool ok = sg_test_processor_init(&h, &reference_processor, config, &err);
    SG_CHECK_MSG(!ok, "config %s was accepted", config);
    SG_CHECK_CONTAINS(err.message, expected);
}

static void test_needs_declare_only_what_is_read(void) {
    sg_test_processor h = start("{\"mask_keys\": [\"user.email\", \"card\"]}");
    SG_CHECK_STR(sg_str_from(h.needs.name), "reference");
    SG_CHECK_STR(sg_str_from(h.needs.version), "1.0.0");
    SG_CHECK_EQ_U64(h.needs.fields, SG_FIELD_NAME | SG_FIELD_SERVICE_NAME | SG_FIELD_TIMES | SG_FIELD_STATUS);
    SG_CHECK_EQ_U64(h.needs.span_attributes.kind, SG_SELECT_KEYS);
    SG_CHECK_EQ_U64(h.needs.span_attributes.key_count, 2);
    SG_CHECK_STR(h.needs.span_attributes.keys[0], "user.email");
    SG_CHECK_STR(h.needs.span_attributes.keys[1], "card");
    SG_CHECK_EQ_U64(h.needs.resource_attributes.kind, SG_SELECT_NONE);
    SG_CHECK_EQ_U64(h.needs.event_attributes.kind, SG_SELECT_NONE);
    SG_CHECK_EQ_U64(h.needs.link_attributes.kind, SG_SELECT_NONE);
    sg_test_processor_free(&h);

    /* No mask keys: still a (empty) key selection, so ref.slow can be added. */
    h = start("");
    SG_CHECK_EQ_U64(h.needs.span_attributes.kind, SG_SELECT_KEYS);
    SG_CHECK_EQ_U64(h.needs.span_attributes.key_count, 0);
    sg_test_processor_free(&h);
}

static void test_defaults_apply_to_empty_and_empty_object_configs(void) {
    const char *configs[] = {"", "{}", "  \n"};
    for (int c = 0; c < 3; c++) {
        sg_test_processor h = start(configs[c]);
        sg_test_spans in = {0}, out = {0};
        sg_test_span_times(sg_test_span_attr_str(sg_test_spans_add(&in, 1, 1), "k", "v"), 0, 999 * MS);
        sg_test_span_times(sg_test_span_named(sg_test_spans_add(&in, 1, 2), ""), 0, 1000 * MS);
        run(&h, &in, &out);
        SG_CHECK_EQ_U64(out.count, 2); /* drop_name "" drops nothing, even a span named "" */
        SG_CHECK_NO_ATTR(out.items[0], "ref.slow");
        SG_CHECK_ATTR(out.items[0], "k", sg_value_cstr("v"));
        SG_CHECK_ATTR(out.items[1], "ref.slow", sg_value_bool(true)); /* slow_ms 1000 */
        SG_CHECK_ATTR(out.items[1], "ref.duration_ms", sg_value_int(1000));
        sg_test_spans_free(&in);
        sg_test_spans_free(&out);
        sg_test_processor_free(&h);
    }
}

static void test_bad_configs_are_refused_with_the_key_named(void) {
    refused("{\"slow\": 5}", "slow: unknown key");
    refused("{\"mask_keys\": [], \"treshold\": 1}", "treshold: unknown key");
    refused("{\"mask_keys\": \"user.email\"}", "mask_keys: expected a list of strings, found \"user.email\"");
    refused("{\"mask_keys\": [\"a\", 3]}", "mask_keys[1]: expected a string, found 3");
    refused("{\"slow_ms\": -1}", "slow_ms: expected a non-negative integer, found -1");
    refused("{\"slow_ms\": 1.5}", "slow_ms: expected a non-negative integer, found 1.5");
    refused("{\"slow_ms\": \"250\"}", "slow_ms: expected a non-negative integer, found \"250\"");
    refused("{\"slow_ms\": null}", "slow_ms: expected a non-negative integer, found null");
    refused("{\"slow_ms\": 18446744073709551616}", "slow_ms: 18446744073709551616 is too large");
    refused("{\"drop_name\": 7}", "drop_name: expected a string, found 7");
    refused("{\"drop_name\": \"a\", \"drop_name\": \"b\"}", "drop_name: duplicate key");
    refused("[1]", "config: expected a JSON object, found a list");
    refused("{\"slow_ms\": }", "config: invalid JSON at byte 12");
}

static void test_a_span_named_drop_name_is_dropped_and_nothing_else(void) {
    sg_test_processor h = start("{\"drop_name\": \"GET /healthz\", \"mask_keys\": [\"k\"], \"slow_ms\": 0}");
    sg_test_spans in = {0}, out = {0};
    sg_test_span *health = sg_test_span_named(sg_test_spans_add(&in, 1, 1), "GET /healthz");
    sg_test_span_status(sg_test_span_attr_str(health, "k", "secret"), SG_STATUS_ERROR, "boom");
    sg_test_span_named(sg_test_spans_add(&in, 1, 2), "GET /healthz/deep");
    sg_edits edits;
    sg_error err;
    SG_CHECK_OK(sg_test_processor_edits(&h, &in, &edits, &err), &err);
    sg_edit_record first;
    SG_CHECK(sg_edit_record_at(edits.records, edits.records_len, 0, &first));
    SG_CHECK_EQ_U64(first.op, SG_OP_DROP_SPAN);
    SG_CHECK_EQ_U64(first.target, 0);
    sg_edit_record second;
    SG_CHECK(sg_edit_record_at(edits.records, edits.records_len, 1, &second));
    SG_CHECK_EQ_U64(second.target, 1); /* the rest of the edits are the second span's */
    sg_edits_free(&edits);
    run(&h, &in, &out);
    SG_CHECK_EQ_U64(out.count, 1);
    SG_CHECK_STR(sg_string_view(out.items[0]->name), "GET /healthz/deep");
    sg_test_spans_free(&in);
    sg_test_spans_free(&out);
    sg_test_processor_free(&h);
}

static void test_string_values_of_mask_keys_are_masked_with_their_byte_length(void) {
    sg_test_processor h = start("{\"mask_keys\": [\"user.email\", \"card\", \"empty\", \"count\"]}");
    sg_test_spans in = {0}, out = {0};
    sg_test_span *s = sg_test_spans_add(&in, 1, 1);
    sg_test_span_attr_str(s, "user.email", "ann@example.com");
    sg_test_span_attr_str(s, "card", "h\xc3\xa9llo \xe2\x82\xac"); /* "héllo €": 10 bytes */
    sg_test_span_attr_str(s, "empty", "");
    sg_test_span_attr_int(s, "count", 42); /* not a string: left alone */
    sg_test_span_attr_str(s, "http.route", "/cart");
    run(&h, &in, &out);
    SG_CHECK_ATTR(out.items[0], "user.email", sg_value_cstr("<masked:15>"));
    SG_CHECK_ATTR(out.items[0], "card", sg_value_cstr("<masked:10>"));
    SG_CHECK_ATTR(out.items[0], "empty", sg_value_cstr("<masked:0>"));
    SG_CHECK_ATTR(out.items[0], "count", sg_value_int(42));
    SG_CHECK_ATTR(out.items[0], "http.route", sg_value_cstr("/cart"));
    SG_CHECK_EQ_U64(out.items[0]->attributes.count, 5);
    sg_test_spans_free(&in);
    sg_test_spans_free(&out);
    sg_test_processor_free(&h);
}

static void test_slow_spans_get_ref_slow_and_whole_milliseconds(void) {
    sg_test_processor h = start("{\"slow_ms\": 250}");
    sg_test_spans in = {0}, out = {0};
    sg_test_span_times(sg_test_spans_add(&in, 1, 1), 1000 * MS, 1000 * MS + 250 * MS - 1); /* just under */
    sg_test_span_times(sg_test_spans_add(&in, 1, 2), 1000 * MS, 1250 * MS);               /* exactly */
    sg_test_span_times(sg_test_spans_add(&in, 1, 3), 0, 4000 * MS + 999999);              /* floor */
    sg_test_span_times(sg_test_spans_add(&in, 1, 4), 5000 * MS, 1000 * MS);               /* end < start */
    run(&h, &in, &out);
    SG_CHECK_NO_ATTR(out.items[0], "ref.slow");
    SG_CHECK_NO_ATTR(out.items[0], "ref.duration_ms");
    SG_CHECK_ATTR(out.items[1], "ref.slow", sg_value_bool(true));
    SG_CHECK_ATTR(out.items[1], "ref.duration_ms", sg_value_int(250));
    SG_CHECK_ATTR(out.items[2], "ref.duration_ms", sg_value_int(4000));
    SG_CHECK_NO_ATTR(out.items[3], "ref.slow");
    /* ref.slow comes before ref.duration_ms. */
    SG_CHECK_STR(sg_string_view(out.items[1]->attributes.items[0].key), "ref.slow");
    SG_CHECK_STR(sg_string_view(out.items[1]->attributes.items[1].key), "ref.duration_ms");
    sg_test_spans_free(&in);
    sg_test_spans_free(&out);
    sg_test_processor_free(&h);
}

static void test_slow_ms_zero_tags_every_span_even_end_before_start(void) {
    sg_test_processor h = start("{\"slow_ms\": 0}");
    sg_test_spans in = {0}, out = {0};
    sg_test_span_times(sg_test_spans_add(&in, 1, 1), 10, 5);
    sg_test_span_times(sg_test_spans_add(&in, 1, 2), 0, 0);
    run(&h, &in, &out);
    for (int i = 0; i < 2; i++) {
        SG_CHECK_ATTR(out.items[i], "ref.slow", sg_value_bool(true));
        SG_CHECK_ATTR(out.items[i], "ref.duration_ms", sg_value_int(0));
    }
    sg_test_spans_free(&in);
    sg_test_spans_free(&out);
    sg_test_processor_free(&h);
}

static void test_an_existing_ref_slow_attribute_is_replaced(void) {
    /* ref.slow is selected (a mask key) so the plugin sees it; as a string it is masked
     * first, then the add replaces the value: the add wins, as in the host. */
    sg_test_processor h = start("{\"slow_ms\": 1, \"mask_keys\": [\"ref.slow\"]}");
    sg_test_spans in = {0}, out = {0};
    sg_test_span_times(sg_test_span_attr_str(sg_test_spans_add(&in, 1, 1), "ref.slow", "no"), 0, 5 * MS);
    run(&h, &in, &out);
    SG_CHECK_EQ_U64(out.items[0]->attributes.count, 2);
    SG_CHECK_ATTR(out.items[0], "ref.slow", sg_value_bool(true));
    SG_CHECK_ATTR(out.items[0], "ref.duration_ms", sg_value_int(5));
    sg_test_spans_free(&in);
    sg_test_spans_free(&out);
    sg_test_processor_free(&h);
}

static void test_error_spans_are_renamed_service_colon_name(void) {
    sg_test_processor h = start("");
    sg_test_spans in = {0}, out = {0};
    sg_test_span_status(sg_test_span_service(sg_test_span_named(sg_test_spans_add(&in, 1, 1), "GET /cart"), "shop"),
                        SG_STATUS_ERROR, "boom");
    sg_test_span_status(sg_test_span_named(sg_test_spans_add(&in, 1, 2), "charge"), SG_STATUS_ERROR, "");
    sg_test_span_status(sg_test_span_service(sg_test_span_named(sg_test_spans_add(&in, 1, 3), "ok"), "shop"),
                        SG_STATUS_OK, "");
    sg_test_span_service(sg_test_span_named(sg_test_spans_add(&in, 1, 4), "unset"), "shop");
    run(&h, &in, &out);
    SG_CHECK_STR(sg_string_view(out.items[0]->name), "shop: GET /cart");
    SG_CHECK_STR(sg_string_view(out.items[1]->name), "unknown: charge");
    SG_CHECK_STR(sg_string_view(out.items[2]->name), "ok");
    SG_CHECK_STR(sg_string_view(out.items[3]->name), "unset");
    sg_test_spans_free(&in);
    sg_test_spans_free(&out);
    sg_test_processor_free(&h);
}

static void test_all_rules_together_in_batch_order(void) {
    sg_test_processor h = start("{\"mask_keys\": [\"user.email\"], \"slow_ms\": 100, \"drop_name\": \"noise\"}");
    sg_test_spans in = {0}, out = {0};
    sg_test_span *a = sg_test_span_named(sg_test_spans_add(&in, 7, 1), "checkout");
    sg_test_span_service(a, "shop");
    sg_test_span_times(a, 0, 150 * MS);
    sg_test_span_status(a, SG_STATUS_ERROR, "card declined");
    sg_test_span_attr_str(a, "user.email", "bob@example.com");
    sg_test_span_times(sg_test_span_named(sg_test_spans_add(&in, 7, 2), "noise"), 0, 500 * MS);
    sg_test_span_times(sg_test_span_attr_str(sg_test_span_named(sg_test_spans_add(&in, 8, 3), "fast"), "user.email", "x"), 0, MS);
    run(&h, &in, &out);
    SG_CHECK_EQ_U64(out.count, 2);
    SG_CHECK_STR(sg_string_view(out.items[0]->name), "shop: checkout");
    SG_CHECK_ATTR(out.items[0], "user.email", sg_value_cstr("<masked:15>"));
    SG_CHECK_ATTR(out.items[0], "ref.slow", sg_value_bool(true));
    SG_CHECK_ATTR(out.items[0], "ref.duration_ms", sg_value_int(150));
    SG_CHECK_STR(sg_string_view(out.items[1]->name), "fast");
    SG_CHECK_ATTR(out.items[1], "user.email", sg_value_cstr("<masked:1>"));
    SG_CHECK_NO_ATTR(out.items[1], "ref.slow");
    sg_test_spans_free(&in);
    sg_test_spans_free(&out);
    sg_test_processor_free(&h);
}

static void test_an_empty_batch_gets_no_edits(void) {
    sg_test_processor h = start("{\"slow_ms\": 0}");
    sg_test_spans in = {0};
    sg_edits edits;
    sg_error err;
    SG_CHECK_OK(sg_test_processor_edits(&h, &in, &edits, &err), &err);
    SG_CHECK_EQ_U64(sg_edits_count(&edits), 0);
    sg_edits_free(&edits);
    sg_test_processor_free(&h);
}

int main(void) {
    sg_test_run("needs_declare_only_what_is_read", test_needs_declare_only_what_is_read);
    sg_test_run("defaults_apply_to_empty_and_empty_object_configs", test_defaults_apply_to_empty_and_empty_object_configs);
    sg_test_run("bad_configs_are_refused_with_the_key_named", test_bad_configs_are_refused_with_the_key_named);
    sg_test_run("a_span_named_drop_name_is_dropped_and_nothing_else", test_a_span_named_drop_name_is_dropped_and_nothing_else);
    sg_test_run("string_values_of_mask_keys_are_masked_with_their_byte_length", test_string_values_of_mask_keys_are_masked_with_their_byte_length);
    sg_test_run("slow_spans_get_ref_slow_and_whole_milliseconds", test_slow_spans_get_ref_slow_and_whole_milliseconds);
    sg_test_run("slow_ms_zero_tags_every_span_even_end_before_start", test_slow_ms_zero_tags_every_span_even_end_before_start);
    sg_test_run("an_existing_ref_slow_attribute_is_replaced", test_an_existing_ref_slow_attribute_is_replaced);
    sg_test_run("error_spans_are_renamed_service_colon_name", test_error_spans_are_renamed_service_colon_name);
    sg_test_run("all_rules_together_in_batch_order", test_all_rules_together_in_batch_order);
    sg_test_run("an_empty_batch_gets_no_edits", test_an_empty_batch_gets_no_edits);
    return sg_test_summary();
}
