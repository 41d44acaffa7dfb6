/* Tests of the C SDK itself: batch layout, accessors, edits bytes, the harness's host
 * checks, config reading, panics and logs, samplers. Native; run with `make -C sdk/c test`. */
#include "spangate_plugin_testing.h"

#include <math.h>

/* ---- batch layout ---- */

static void test_short_out_of_range_and_misaligned_directories_are_refused(void) {
    uint8_t buffer[SG_DIRECTORY_BYTES + 16] = {0};
    sg_batch b;
    sg_error err;
    SG_CHECK(!sg_batch_parse(&b, 0, buffer, 10, NULL, 0, &err));
    SG_CHECK_CONTAINS(err.message, "the column buffer is 10 bytes, shorter than its 288-byte directory");
    sg__put32(buffer + SG_COL_START * 8, SG_DIRECTORY_BYTES);
    sg__put32(buffer + SG_COL_START * 8 + 4, 3);
    SG_CHECK(!sg_batch_parse(&b, 3, buffer, sizeof buffer, NULL, 0, &err));
    SG_CHECK_CONTAINS(err.message, "column 7 (start) claims 3 elements of 8 bytes at offset 288");
    sg__put32(buffer + SG_COL_START * 8, SG_DIRECTORY_BYTES + 4);
    sg__put32(buffer + SG_COL_START * 8 + 4, 1);
    SG_CHECK(!sg_batch_parse(&b, 1, buffer, sizeof buffer, NULL, 0, &err));
    SG_CHECK_CONTAINS(err.message, "column 7 (start) starts at offset 292, not a multiple of 8");
}

static void test_an_empty_directory_reads_as_defaults(void) {
    uint8_t buffer[SG_DIRECTORY_BYTES] = {0};
    sg_batch b;
    sg_error err;
    SG_CHECK_OK(sg_batch_parse(&b, 2, buffer, sizeof buffer, NULL, 0, &err), &err);
    SG_CHECK_STR(sg_span_name(&b, 0), "");
    SG_CHECK_STR(sg_span_service_name(&b, 1), "");
    SG_CHECK_EQ_U64(sg_span_duration_nanos(&b, 0), 0);
    SG_CHECK_EQ_U64(sg_span_status(&b, 5), SG_STATUS_UNSET);
    SG_CHECK(sg_span_is_root(&b, 0));
    sg_attribute a;
    sg_attr_iter it = sg_span_attributes(&b, 0);
    SG_CHECK(!sg_attr_next(&it, &a));
    sg_range events = sg_span_events(&b, 0);
    SG_CHECK_EQ_U64(events.end - events.begin, 0);
}

static void test_string_references_outside_the_arena_read_as_empty(void) {
    sg_batch b;
    memset(&b, 0, sizeof b);
    const uint8_t strings[] = "abc";
    b.strings = strings;
    b.strings_len = 3;
    SG_CHECK_STR(sg_batch_ref(&b, 0 | (uint64_t)3 << 32), "abc");
    SG_CHECK_STR(sg_batch_ref(&b, 2 | (uint64_t)5 << 32), "");
    SG_CHECK_STR(sg_batch_ref(&b, 0xFFFFFFFFull | (uint64_t)0xFFFFFFFF << 32), "");
}

static sg_needs everything(void) {
    sg_needs needs;
    memset(&needs, 0, sizeof needs);
    needs.name = "t";
    needs.version = "0";
    needs.fields = 0x7FF;
    needs.span_attributes = sg_select_all();
    needs.resource_attributes = sg_select_all();
    needs.event_attributes = sg_select_all();
    needs.link_attributes = sg_select_all();
    return needs;
}

static void sample_spans(sg_test_spans *spans) {
    sg_test_span *a = sg_test_spans_add(spans, 0x0102, 0xAABB);
    sg_test_span_named(a, "GET /cart");
    sg_test_span_service(a, "shop");
    sg_test_span_times(a, 100, 350);
    sg_test_span_status(a, SG_STATUS_ERROR, "boom");
    sg_test_span_kind(a, SG_SPAN_KIND_SERVER);
    sg_test_span_attr_str(a, "http.route", "/cart");
    sg_test_span_attr_int(a, "http.status", 500);
    sg_test_span_attr_double(a, "ratio", 0.25);
    sg_test_span_attr_bool(a, "retry", true);
    sg_test_span_attr_json(a, "tags", "[\"a\",\"b\"]");
    sg_test_span_resource_attr(a, "host", sg_value_cstr("h1"));
    sg_test_event_attr(sg_test_span_event(a, "exception"), "type", sg_value_cstr("E"));
    sg_test_span_event(a, "retry");
    sg_test_link_attr(sg_test_span_link(a), "rel", sg_value_cstr("follows"));
    sg_test_span *b = sg_test_spans_add(spans, 0x0102, 0xCCDD);
    sg_test_span_parent(b, 0xAABB);
    sg_test_span_named(b, "SELECT");
    sg_test_span_service(b, "shop");
    sg_test_span_times(b, 400, 300);
    sg_test_span_resource_attr(b, "host", sg_value_cstr("h1"));
    sg_test_span_attr_str(b, "http.route", "/db");
    sg_test_span *c = sg_test_spans_add(spans, 0x0999, 0xEEFF);
    sg_test_span_service(c, "billing");
    sg_test_span_resource_attr(c, "host", sg_value_cstr("h2"));
    sg_test_span_event(c, "tick");
}

static void test_every_field_reads_back_through_the_accessors(void) {
    sg_test_spans spans = {0};
    sample_spans(&spans);
    sg_needs needs = everything();
    sg_test_encoding enc;
    sg_test_encode(&spans, &needs, &enc);
    sg_batch b = sg_test_encoding_batch(&enc, &needs, true);
    SG_CHECK_EQ_U64(b.len, 3);
    SG_CHECK_STR(sg_span_name(&b, 0), "GET /cart");
    SG_CHECK_STR(sg_span_service_name(&b, 0), "shop");
    SG_CHECK_STR(sg_span_service_name(&b, 2), "billing");
    SG_CHECK_EQ_U64(sg_batch_count(&b, SG_COL_SERVICES), 2); /* dictionary */
    SG_CHECK_EQ_U64(sg_span_start(&b, 0), 100);
    SG_CHECK_EQ_U64(sg_span_end(&b, 0), 350);
    SG_CHECK_EQ_U64(sg_span_duration_nanos(&b, 0), 250);
    SG_CHECK_EQ_U64(sg_span_duration_nanos(&b, 1), 0); /* end < start */
    SG_CHECK_EQ_U64(sg_span_status(&b, 0), SG_STATUS_ERROR);
    SG_CHECK_STR(sg_span_status_message(&b, 0), "boom");
    SG_CHECK_EQ_U64(sg_span_kind_of(&b, 0), SG_SPAN_KIND_SERVER);
    SG_CHECK(sg_span_size(&b, 0) > sg_span_size(&b, 2));
    SG_CHECK_EQ_U64(sg_span_trace_id(&b, 0)[15], 0x02);
    SG_CHECK_EQ_U64(sg_span_trace_id(&b, 0)[14], 0x01);
    SG_CHECK_EQ_U64(sg_span_span_id(&b, 1)[7], 0xDD);
    SG_CHECK(sg_span_is_root(&b, 0));
    SG_CHECK(!sg_span_is_root(&b, 1));
    SG_CHECK_EQ_U64(sg_span_parent_span_id(&b, 1)[6], 0xAA);

    sg_attribute a;
    sg_attr_iter it = sg_span_attributes(&b, 0);
    SG_CHECK(sg_attr_next(&it, &a));
    SG_CHECK_STR(a.key, "http.route");
    SG_CHECK_EQ_U64(a.row, 0);
    SG_CHECK(sg_value_equal(a.value, sg_value_cstr("/cart")));
    SG_CHECK(sg_attr_next(&it, &a));
    SG_CHECK(sg_value_equal(a.value, sg_value_int(500)));
    SG_CHECK(sg_attr_next(&it, &a));
    SG_CHECK(sg_value_equal(a.value, sg_value_double(0.25)));
    SG_CHECK(sg_attr_next(&it, &a));
    SG_CHECK(sg_value_equal(a.value, sg_value_bool(true)));
    SG_CHECK(sg_attr_next(&it, &a));
    SG_CHECK_EQ_U64(a.value.kind, SG_VALUE_JSON);
    SG_CHECK_STR(a.value.as.str, "[\"a\",\"b\"]");
    SG_CHECK(!sg_attr_next(&it, &a));
    SG_CHECK(sg_attr_find(sg_span_attributes(&b, 1), "http.route", &a));
    SG_CHECK_EQ_U64(a.row, 5);
    SG_CHECK_STR(a.value.as.str, "/db");
    SG_CHECK(!sg_attr_find(sg_span_attributes(&b, 1), "nope", &a));
    SG_CHECK_EQ_U64(sg_attribute_rows(&b, SG_SPAN_ATTRIBUTES), 6);

    /* Spans 0 and 1 share a resource (same service and attributes); span 2 has its own. */
    SG_CHECK_EQ_U64(sg_span_resource(&b, 0), 0);
    SG_CHECK_EQ_U64(sg_span_resource(&b, 1), 0);
    SG_CHECK_EQ_U64(sg_span_resource(&b, 2), 1);
    SG_CHECK(sg_attr_find(sg_resource_attributes(&b, 2), "host", &a));
    SG_CHECK_STR(a.value.as.str, "h2");
    SG_CHECK_EQ_U64(a.table, SG_RESOURCE_ATTRIBUTES);

    sg_range events = sg_span_events(&b, 0);
    SG_CHECK_EQ_U64(events.begin, 0);
    SG_CHECK_EQ_U64(events.end, 2);
    SG_CHECK_STR(sg_event_name(&b, 1), "retry");
    events = sg_span_events(&b, 2);
    SG_CHECK_EQ_U64(events.begin, 2);
    SG_CHECK_STR(sg_event_name(&b, events.begin), "tick");
    SG_CHECK(sg_attr_find(sg_event_attributes(&b, 0), "type", &a));
    SG_CHECK_STR(a.value.as.str, "E");
    sg_range links = sg_span_links(&b, 0);
    SG_CHECK_EQ_U64(links.end - links.begin, 1);
    SG_CHECK(sg_attr_find(sg_link_attributes(&b, links.begin), "rel", &a));
    SG_CHECK_STR(a.value.as.str, "follows");
    sg_test_encoding_free(&enc);
    sg_test_spans_free(&spans);
}

static void test_only_declared_columns_are_sent(void) {
    sg_test_spans spans = {0};
    sample_spans(&spans);
    sg_needs needs;
    memset(&needs, 0, sizeof needs);
    needs.fields = SG_FIELD_NAME;
    sg_str keys[] = {SG_LIT("http.status"), SG_LIT("tags")};
    needs.span_attributes = sg_select_keys(keys, 2);
    sg_test_encoding enc;
    sg_test_encode(&spans, &needs, &enc);
    sg_batch b = sg_test_encoding_batch(&enc, &needs, false);
    for (int c = 0; c < SG_COL_COUNT; c++) {
        bool expected = c == SG_COL_NAME || (c >= SG_COL_ATTRIBUTE_TABLES && c < SG_COL_ATTRIBUTE_TABLES + SG_TABLE_COLUMNS);
        SG_CHECK_MSG((sg_batch_count(&b, c) > 0) == expected, "column %s count %u", sg_column_names[c], sg_batch_count(&b, c));
    }
    SG_CHECK_EQ_U64(sg_attribute_rows(&b, SG_SPAN_ATTRIBUTES), 2); /* an int and a JSON row */
    sg_test_encoding_free(&enc);

    /* all-strings: only string values. */
    needs.span_attributes = sg_select_all_strings();
    sg_test_encode(&spans, &needs, &enc);
    b = sg_test_encoding_batch(&enc, &needs, false);
    SG_CHECK_EQ_U64(sg_attribute_rows(&b, SG_SPAN_ATTRIBUTES), 2);
    sg_test_encoding_free(&enc);
    sg_test_spans_free(&spans);
}

static bool read_the_status(void **state, sg_str config, sg_needs *needs, sg_error *err) {
    (void)config, (void)err;
    *state = NULL;
    needs->name = "sneaky";
    needs->version = "0";
    needs->fields = SG_FIELD_NAME;
    return true;
}

static bool read_status_process(void *state, const sg_batch *batch, sg_edits *edits, sg_error *err) {
    (void)state, (void)edits, (void)err;
    for (uint32_t i = 0; i < batch->len; i++) (void)sg_span_status(batch, i);
    return true;
}

static void test_reading_an_undeclared_field_fails_the_test_naming_it(void) {
    const sg_processor plugin = {read_the_status, read_status_process, NULL};
    sg_test_processor h;
    sg_error err;
    SG_CHECK_OK(sg_test_processor_init(&h, &plugin, "", &err), &err);
    sg_test_spans spans = {0};
    sg_test_spans_add(&spans, 1, 1);
    sg_test_spans out;
    SG_CHECK(!sg_test_processor_run(&h, &spans, &out, &err));
    SG_CHECK_CONTAINS(err.message, "read of span field `status (SG_FIELD_STATUS)`, which the plugin did not declare");
    char *logs = sg_test_take_logs();
    SG_CHECK_CONTAINS(logs, "error: plugin panicked: read of span field `status");
    free(logs);
    sg_test_spans_free(&spans);
    sg_test_processor_free(&h);
}

/* ---- edits ---- */

static void test_edit_records_have_the_documented_bytes(void) {
    sg_edits e;
    sg_edits_init(&e);
    SG_CHECK(sg_edits_set_span_attribute(&e, 7, sg_value_cstr("xy")));
    SG_CHECK(sg_edits_add_span_attribute(&e, 2, SG_LIT("k"), sg_value_int(-1)));
    SG_CHECK(sg_edits_set_resource_attribute(&e, 1, sg_value_double(1.5)));
    SG_CHECK(sg_edits_set_link_attribute(&e, 3, sg_value_bool(true)));
    SG_CHECK(sg_edits_drop_span(&e, 9));
    SG_CHECK(sg_edits_set_name_fmt(&e, 4, "%s-%d", "n", 5));
    SG_CHECK_EQ_U64(sg_edits_count(&e), 6);
    SG_CHECK_EQ_U64(e.records_len, 6 * 24);
    const uint8_t *r = e.records;
    SG_CHECK_EQ_U64(r[0], 1);
    SG_CHECK_EQ_U64(r[1], 0);
    SG_CHECK_EQ_U64(r[2] | r[3], 0);
    SG_CHECK_EQ_U64(sg__le32(r + 4), 7);
    SG_CHECK_EQ_U64(sg__le64(r + 16), 0 | (uint64_t)2 << 32);
    r += 24;
    SG_CHECK_EQ_U64(r[0], 3);
    SG_CHECK_EQ_U64(r[1], 1);
    SG_CHECK_EQ_U64(sg__le32(r + 4), 2);
    SG_CHECK_EQ_U64(sg__le64(r + 8), 2 | (uint64_t)1 << 32);
    SG_CHECK_EQ_U64(sg__le64(r + 16), UINT64_MAX);
    r += 24;
    SG_CHECK_EQ_U64(r[0], 4);
    SG_CHECK_EQ_U64(r[1], 2);
    SG_CHECK_EQ_U64(sg__le64(r + 16), 0x3FF8000000000000ull);
    r += 24;
    SG_CHECK_EQ_U64(r[0], 8);
    SG_CHECK_EQ_U64(r[1], 3);
    SG_CHECK_EQ_U64(sg__le64(r + 16), 1);
    r += 24;
    SG_CHECK_EQ_U64(r[0], 13);
    SG_CHECK_EQ_U64(sg__le32(r + 4), 9);
    r += 24;
    SG_CHECK_EQ_U64(r[0], 10);
    SG_CHECK_EQ_U64(sg__le64(r + 16), 3 | (uint64_t)3 << 32);
    SG_CHECK_EQ_U64(e.strings_len, 6);
    SG_CHECK(memcmp(e.strings, "xykn-5", 6) == 0);
    /* JSON is never an edit's value. */
    SG_CHECK(!sg_edits_set_span_attribute(&e, 0, sg_value_json(SG_LIT("[]"))));
    SG_CHECK_CONTAINS(e.failure, "cannot be JSON");
    sg_edits_free(&e);
}

static sg_needs names_and_keys(const sg_str *keys, size_t count) {
    sg_needs needs;
    memset(&needs, 0, sizeof needs);
    needs.name = "t";
    needs.version = "0";
    needs.fields = SG_FIELD_NAME;
    needs.span_attributes = sg_select_keys(keys, count);
    return needs;
}

static void expect_refused(const sg_test_spans *spans, const sg_needs *needs, sg_edits *e, const char *expected) {
    sg_test_spans out;
    sg_error err;
    SG_CHECK_MSG(!sg_test_apply_edits(spans, needs, e->records, e->records_len, e->strings, e->strings_len, &out, &err),
                 "edits accepted, expected: %s", expected);
    SG_CHECK_CONTAINS(err.message, expected);
    sg_edits_clear(e);
}

static void test_the_harness_refuses_what_the_host_refuses(void) {
    sg_test_spans spans = {0};
    sg_test_span_attr_str(sg_test_spans_add(&spans, 1, 1), "k", "v");
    sg_test_spans_add(&spans, 1, 2);
    sg_str keys[] = {SG_LIT("k")};
    sg_needs needs = names_and_keys(keys, 1);
    sg_edits e;
    sg_edits_init(&e);

    sg_edits_set_name(&e, 2, SG_LIT("x"));
    expect_refused(&spans, &needs, &e, "edit 0 (set-name span 2): out of range: the batch has 2 spans");
    sg_edits_drop_span(&e, 0);
    sg_edits_set_status_message(&e, 0, SG_LIT("m"));
    expect_refused(&spans, &needs, &e, "edit 1 (set-status-message span 0): field `status-message` was not declared in needs");
    sg_edits_set_span_attribute(&e, 1, sg_value_int(1));
    expect_refused(&spans, &needs, &e, "edit 0 (set-span-attribute row 1): out of range: the batch has 1 span attribute rows");
    sg_edits_set_span_attribute(&e, 0, sg_value_int(1));
    sg_edits_remove_span_attribute(&e, 0);
    expect_refused(&spans, &needs, &e, "edit 0 (set-span-attribute row 0): span attribute row 0 is both set and removed");
    sg_edits_add_span_attribute(&e, 0, SG_LIT(""), sg_value_int(1));
    expect_refused(&spans, &needs, &e, "empty attribute key");
    sg_edits_set_resource_attribute(&e, 0, sg_value_int(1));
    expect_refused(&spans, &needs, &e, "edit 0 (set-resource-attribute row 0): no resource attributes were declared in needs");
    sg_edits_set_event_name(&e, 0, SG_LIT("x"));
    expect_refused(&spans, &needs, &e, "field `event-names` was not declared in needs");

    needs.span_attributes = sg_select_none();
    sg_edits_add_span_attribute(&e, 0, SG_LIT("slow"), sg_value_bool(true));
    expect_refused(&spans, &needs, &e, "edit 0 (add-span-attribute span 0 key \"slow\"): no span attributes were declared in needs");

    /* Malformed records: unknown op, bad kind, invalid UTF-8. */
    needs = names_and_keys(keys, 1);
    sg__edits_record(&e, 99, 0, 0, 0, 0);
    expect_refused(&spans, &needs, &e, "unknown op 99");
    sg__edits_record(&e, SG_OP_SET_SPAN_ATTRIBUTE, 7, 0, 0, 0);
    expect_refused(&spans, &needs, &e, "unknown value kind 7");
    sg_edits_set_name(&e, 0, SG_LIT("\xff"));
    expect_refused(&spans, &needs, &e, "not UTF-8");
    sg_edits_free(&e);
    sg_test_spans_free(&spans);
}

static void test_edits_apply_values_then_removals_then_adds_then_drops(void) {
    sg_test_spans spans = {0};
    sg_test_span *s = sg_test_spans_add(&spans, 1, 1);
    sg_test_span_attr_str(s, "a", "1");
    sg_test_span_attr_str(s, "b", "2");
    sg_test_span_attr_str(s, "c", "3");
    sg_test_span_resource_attr(s, "host", sg_value_cstr("h"));
    sg_test_span_resource_attr(sg_test_spans_add(&spans, 1, 2), "host", sg_value_cstr("h"));
    sg_test_span_named(sg_test_spans_add(&spans, 1, 3), "gone");
    sg_needs needs;
    memset(&needs, 0, sizeof needs);
    needs.fields = SG_FIELD_NAME;
    needs.span_attributes = sg_select_all();
    needs.resource_attributes = sg_select_all();
    sg_edits e;
    sg_edits_init(&e);
    sg_edits_add_span_attribute(&e, 0, SG_LIT("c"), sg_value_int(30)); /* replaces */
    sg_edits_add_span_attribute(&e, 0, SG_LIT("d"), sg_value_bool(false));
    sg_edits_remove_span_attribute(&e, 0);
    sg_edits_set_span_attribute(&e, 1, sg_value_cstr("two"));
    sg_edits_set_resource_attribute(&e, 0, sg_value_cstr("H")); /* both spans of the resource */
    sg_edits_drop_span(&e, 2);
    sg_edits_set_name(&e, 2, SG_LIT("renamed anyway"));
    sg_test_spans out;
    sg_error err;
    SG_CHECK_OK(sg_test_apply_edits(&spans, &needs, e.records, e.records_len, e.strings, e.strings_len, &out, &err), &err);
    SG_CHECK_EQ_U64(out.count, 2);
    SG_CHECK_EQ_U64(out.items[0]->attributes.count, 3);
    SG_CHECK_STR(sg_string_view(out.items[0]->attributes.items[0].key), "b");
    SG_CHECK_ATTR(out.items[0], "b", sg_value_cstr("two"));
    SG_CHECK_ATTR(out.items[0], "c", sg_value_int(30));
    SG_CHECK_ATTR(out.items[0], "d", sg_value_bool(false));
    SG_CHECK_NO_ATTR(out.items[0], "a");
    for (int i = 0; i < 2; i++) {
        const sg_test_value *host = sg_test_attrs_get(&out.items[i]->resource_attributes, "host");
        SG_CHECK(host && sg_value_equal(sg_test_value_view(host), sg_value_cstr("H")));
    }
    sg_test_spans_free(&out);
    sg_edits_free(&e);
    sg_test_spans_free(&spans);
}

static void test_event_and_link_edits_reach_their_spans(void) {
    sg_test_spans spans = {0};
    sg_test_span_event(sg_test_spans_add(&spans, 1, 1), "a");
    sg_test_span *s = sg_test_spans_add(&spans, 1, 2);
    sg_test_event_attr(sg_test_event_attr(sg_test_span_event(s, "b"), "x", sg_value_int(1)), "y", sg_value_int(2));
    sg_test_link_attr(sg_test_span_link(s), "z", sg_value_int(3));
    sg_needs needs;
    memset(&needs, 0, sizeof needs);
    needs.fields = SG_FIELD_EVENT_NAMES;
    needs.event_attributes = sg_select_all();
    needs.link_attributes = sg_select_all();
    sg_edits e;
    sg_edits_init(&e);
    sg_edits_set_event_name(&e, 1, SG_LIT("B"));
    sg_edits_remove_event_attribute(&e, 0);
    sg_edits_set_event_attribute(&e, 1, sg_value_int(20));
    sg_edits_set_link_attribute(&e, 0, sg_value_cstr("Z"));
    sg_test_spans out;
    sg_error err;
    SG_CHECK_OK(sg_test_apply_edits(&spans, &needs, e.records, e.records_len, e.strings, e.strings_len, &out, &err), &err);
    SG_CHECK_STR(sg_string_view(out.items[1]->events[0].name), "B");
    SG_CHECK_EQ_U64(out.items[1]->events[0].attributes.count, 1);
    SG_CHECK_EQ_U64(out.items[1]->events[0].attributes.items[0].value.i, 20);
    SG_CHECK_STR(sg_string_view(out.items[1]->links[0].attributes.items[0].value.text), "Z");
    sg_test_spans_free(&out);
    sg_edits_free(&e);
    sg_test_spans_free(&spans);
}

/* ---- config ---- */

static void test_config_reads_typed_values_and_names_bad_keys(void) {
    sg_config c;
    sg_error err;
    SG_CHECK_OK(sg_config_parse(&c, sg_str_from("{\"s\": \"caf\\u00e9 \\ud83d\\ude00\\n\", \"i\": -42, "
                                                "\"d\": 2.5e1, \"b\": true, \"l\": [\"x\", \"\"], \"n\": 7}"),
                                &err),
                &err);
    sg_string s;
    int64_t i;
    double d;
    bool b;
    uint64_t u, missing;
    sg_string_list l;
    SG_CHECK_OK(sg_config_string(&c, "s", "", &s, &err), &err);
    SG_CHECK_STR(sg_string_view(s), "caf\xc3\xa9 \xf0\x9f\x98\x80\n");
    SG_CHECK_OK(sg_config_i64(&c, "i", 0, &i, &err), &err);
    SG_CHECK(i == -42);
    SG_CHECK_OK(sg_config_double(&c, "d", 0, &d, &err), &err);
    SG_CHECK(fabs(d - 25.0) < 1e-9);
    SG_CHECK_OK(sg_config_bool(&c, "b", false, &b, &err), &err);
    SG_CHECK(b);
    SG_CHECK_OK(sg_config_string_list(&c, "l", &l, &err), &err);
    SG_CHECK_EQ_U64(l.count, 2);
    SG_CHECK_STR(sg_string_view(l.items[1]), "");
    SG_CHECK_OK(sg_config_u64(&c, "missing", 9, &missing, &err), &err);
    SG_CHECK_EQ_U64(missing, 9);
    SG_CHECK(!sg_config_finish(&c, &err)); /* "n" was never read */
    SG_CHECK_CONTAINS(err.message, "n: unknown key (known keys: s, i, d, b, l, missing)");
    sg_string_free(&s);
    sg_string_list_free(&l);

    SG_CHECK_OK(sg_config_parse(&c, sg_str_from("{\"u\": {\"nested\": 1}}"), &err), &err);
    SG_CHECK(!sg_config_u64(&c, "u", 0, &u, &err));
    SG_CHECK_CONTAINS(err.message, "u: expected a non-negative integer, found an object");
    sg_config_free(&c);

    const char *broken[] = {"{", "{\"a\" 1}", "{\"a\": tru}", "{\"a\": \"\\x\"}", "{} x", "{\"a\": 01}",
                            "{\"a\": \"\\ud800\"}"};
    for (size_t k = 0; k < sizeof broken / sizeof *broken; k++) {
        SG_CHECK_MSG(!sg_config_parse(&c, sg_str_from(broken[k]), &err), "%s parsed", broken[k]);
        SG_CHECK_CONTAINS(err.message, "config: invalid JSON at byte");
    }
}

/* ---- panics, logs, clock ---- */

static bool panicking_init(void **state, sg_str config, sg_needs *needs, sg_error *err) {
    (void)err;
    *state = NULL;
    needs->name = "p";
    needs->version = "0";
    if (sg_str_eq_cstr(config, "panic")) sg_panic("init exploded: %d", 42);
    sg_log(SG_LOG_INFO, "initialised");
    sg_logf(SG_LOG_WARN, "now is %llu", (unsigned long long)sg_now_unix_nanos());
    return true;
}

static bool panicking_process(void *state, const sg_batch *batch, sg_edits *edits, sg_error *err) {
    (void)state, (void)edits, (void)err;
    SG_ASSERT(batch->len == 0);
    return true;
}

static void test_panics_are_logged_at_error_level_and_fail_the_call(void) {
    const sg_processor plugin = {panicking_init, panicking_process, NULL};
    sg_test_processor h;
    sg_error err;
    SG_CHECK(!sg_test_processor_init(&h, &plugin, "panic", &err));
    SG_CHECK_CONTAINS(err.message, "plugin panicked: init exploded: 42");
    char *logs = sg_test_take_logs();
    SG_CHECK_CONTAINS(logs, "error: plugin panicked: init exploded: 42\n");
    free(logs);

    sg_test_set_now(1234);
    SG_CHECK_OK(sg_test_processor_init(&h, &plugin, "", &err), &err);
    logs = sg_test_take_logs();
    SG_CHECK_CONTAINS(logs, "info: initialised\nwarn: now is 1234\n");
    free(logs);
    sg_test_spans spans = {0};
    sg_test_spans_add(&spans, 1, 1);
    sg_test_spans out;
    SG_CHECK(!sg_test_processor_run(&h, &spans, &out, &err));
    SG_CHECK_CONTAINS(err.message, "plugin panicked: assertion failed: batch->len == 0");
    sg_test_spans_free(&spans);
    sg_test_processor_free(&h);
}

/* ---- samplers ---- */

static bool sampler_init(void **state, sg_str config, sg_sampler_needs *needs, sg_error *err) {
    (void)config, (void)err;
    *state = NULL;
    needs->needs.name = "keep-errors";
    needs->needs.version = "0";
    needs->needs.fields = SG_FIELD_TRACE_ID | SG_FIELD_STATUS;
    needs->tail = true;
    needs->tail_settings.decision_wait_millis = 1000;
    return true;
}

static bool sampler_head(void *state, const sg_batch *batch, sg_decisions *d, sg_error *err) {
    (void)state, (void)err;
    for (uint32_t i = 0; i < batch->len; i++) {
        if (sg_span_status(batch, i) == SG_STATUS_ERROR)
            sg_decisions_keep(d, SG_LIT("errors"));
        else if (i % 2)
            sg_decisions_keep(d, SG_LIT("odd"));
        else
            sg_decisions_drop(d);
    }
    return true;
}

static bool sampler_tail(void *state, const sg_batch *batch, sg_decisions *d, sg_error *err) {
    (void)state;
    uint32_t *firsts;
    size_t traces = sg_trace_first_spans(batch, &firsts);
    if (traces == SIZE_MAX) {
        sg_error_set(err, "out of memory");
        return false;
    }
    for (size_t t = 0; t < traces; t++) sg_decisions_keep(d, SG_LIT("all"));
    free(firsts);
    return true;
}

static void test_samplers_answer_one_verdict_per_span_or_trace(void) {
    const sg_sampler plugin = {sampler_init, sampler_head, sampler_tail, NULL};
    sg_test_sampler h;
    sg_error err;
    SG_CHECK_OK(sg_test_sampler_init(&h, &plugin, "", &err), &err);
    SG_CHECK(h.needs.tail);
    sg_test_spans spans = {0};
    sg_test_span_status(sg_test_spans_add(&spans, 1, 1), SG_STATUS_ERROR, "");
    sg_test_spans_add(&spans, 2, 2);
    sg_test_spans_add(&spans, 1, 3);
    sg_test_span_status(sg_test_spans_add(&spans, 3, 4), SG_STATUS_ERROR, "");
    sg_decisions d;
    SG_CHECK_OK(sg_test_sampler_decide(&h, &spans, false, &d, &err), &err);
    SG_CHECK_EQ_U64(d.len, 4);
    SG_CHECK_EQ_U64(d.verdicts[0], 1);
    SG_CHECK_EQ_U64(d.verdicts[1], 2);
    SG_CHECK_EQ_U64(d.verdicts[2], 0);
    SG_CHECK_EQ_U64(d.verdicts[3], 1);
    SG_CHECK_EQ_U64(d.policy_count, 2);
    SG_CHECK_STR(sg_string_view(d.policies[0]), "errors");
    SG_CHECK_STR(sg_string_view(d.policies[1]), "odd");
    sg_decisions_free(&d);
    SG_CHECK_OK(sg_test_sampler_decide(&h, &spans, true, &d, &err), &err);
    SG_CHECK_EQ_U64(d.len, 3); /* traces 1, 2, 3 */
    sg_decisions_free(&d);
    sg_test_spans_free(&spans);
    sg_test_sampler_free(&h);
}


/* ---- formatting ---- */

#define SAME_AS_LIBC(...)                                                                   \
    do {                                                                                    \
        char ours[256], libc[256];                                                          \
        int a = sg_snprintf(ours, sizeof ours, __VA_ARGS__);                                \
        int b = snprintf(libc, sizeof libc, __VA_ARGS__);                                   \
        SG_CHECK_MSG(a == b && strcmp(ours, libc) == 0, "%s: ours \"%s\" (%d), libc \"%s\" (%d)", \
                     #__VA_ARGS__, ours, a, libc, b);                                        \
    } while (0)

static void test_sg_snprintf_formats_like_libc(void) {
    SAME_AS_LIBC("<masked:%zu>", (size_t)15);
    SAME_AS_LIBC("%.*s: %.*s", 4, "shopping", 3, "GET /");
    SAME_AS_LIBC("%d %i %u %ld %lld %llu %hd %hhu", -5, 0, 7u, -9L, -123456789012LL, 18446744073709551615ULL, (short)-2, (unsigned char)200);
    SAME_AS_LIBC("[%5d|%-5d|%05d|%+d|% d|%.3d|%.0d]", 42, 42, -42, 7, 7, 5, 0);
    SAME_AS_LIBC("%x %X %#x %o %#o %08x", 255u, 255u, 255u, 8u, 8u, 0xbeefu);
    SAME_AS_LIBC("[%s|%10s|%-10s|%.2s|%c|%%]", "abc", "abc", "abc", "abc", 'z');
    SAME_AS_LIBC("%*d|%-*d|%.*d", 6, 1, 6, 2, 4, 3);
    SAME_AS_LIBC("%f %.2f %.0f %.3f %f", 1.5, 2.675, 0.5, -0.0005, 123456789.25);
    SAME_AS_LIBC("%e %.2E %e %e", 12345.678, 0.000123, 0.0, 1e-300);
    SAME_AS_LIBC("%g %g %g %g %g %G", 0.0001, 123456.0, 1234567.0, 1.5, 100.0, 1e-10);
    SAME_AS_LIBC("%f %f %F", 1.0 / 0.0, -1.0 / 0.0, 0.0 / 0.0 > 0 ? 1.0 : 2.0);
    SAME_AS_LIBC("%.1f %.10f %10.3f|%-10.1f|", 9.96, 3.14159265358979, 2.5, 2.5);
    char small[4];
    SG_CHECK_EQ_U64(sg_snprintf(small, sizeof small, "%s", "abcdef"), 6);
    SG_CHECK(strcmp(small, "abc") == 0);
}

int main(void) {
    sg_test_run("short_out_of_range_and_misaligned_directories_are_refused", test_short_out_of_range_and_misaligned_directories_are_refused);
    sg_test_run("an_empty_directory_reads_as_defaults", test_an_empty_directory_reads_as_defaults);
    sg_test_run("string_references_outside_the_arena_read_as_empty", test_string_references_outside_the_arena_read_as_empty);
    sg_test_run("every_field_reads_back_through_the_accessors", test_every_field_reads_back_through_the_accessors);
    sg_test_run("only_declared_columns_are_sent", test_only_declared_columns_are_sent);
    sg_test_run("reading_an_undeclared_field_fails_the_test_naming_it", test_reading_an_undeclared_field_fails_the_test_naming_it);
    sg_test_run("edit_records_have_the_documented_bytes", test_edit_records_have_the_documented_bytes);
    sg_test_run("the_harness_refuses_what_the_host_refuses", test_the_harness_refuses_what_the_host_refuses);
    sg_test_run("edits_apply_values_then_removals_then_adds_then_drops", test_edits_apply_values_then_removals_then_adds_then_drops);
    sg_test_run("event_and_link_edits_reach_their_spans", test_event_and_link_edits_reach_their_spans);
    sg_test_run("config_reads_typed_values_and_names_bad_keys", test_config_reads_typed_values_and_names_bad_keys);
    sg_test_run("panics_are_logged_at_error_level_and_fail_the_call", test_panics_are_logged_at_error_level_and_fail_the_call);
    sg_test_run("samplers_answer_one_verdict_per_span_or_trace", test_samplers_answer_one_verdict_per_span_or_trace);
    sg_test_run("sg_snprintf_formats_like_libc", test_sg_snprintf_formats_like_libc);
    return sg_test_summary();
}
