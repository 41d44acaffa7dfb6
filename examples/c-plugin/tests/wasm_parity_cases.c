/* Writes the reference plugin's answers, computed natively, for the wasm parity check
 * (wasm_parity.py): per case one tab-separated line of hex fields — name, config, init
 * error, span count, batch columns, batch strings, edit records, edit strings. The
 * component must answer the same batches with the same bytes. */
#include "spangate_plugin_testing.h"

extern const sg_processor reference_processor;

#define MS 1000000ull

static void hex(const void *data, size_t len) {
    const uint8_t *p = (const uint8_t *)data;
    putchar('\t');
    if (len == 0) putchar('-');
    for (size_t i = 0; i < len; i++) printf("%02x", p[i]);
}

static void emit(const char *name, const char *config, sg_test_spans *spans) {
    sg_test_processor h;
    sg_error err;
    printf("%s", name);
    hex(config, strlen(config));
    if (!sg_test_processor_init(&h, &reference_processor, config, &err)) {
        hex(err.message, strlen(err.message));
        printf("\t0\t-\t-\t-\t-\n");
        return;
    }
    hex("", 0);
    sg_test_encoding enc;
    sg_test_encode(spans, &h.needs, &enc);
    sg_batch batch = sg_test_encoding_batch(&enc, &h.needs, false);
    sg_edits edits;
    sg_edits_init(&edits);
    if (!reference_processor.process(h.state, &batch, &edits, &err)) {
        fprintf(stderr, "%s: process failed: %s\n", name, err.message);
        exit(1);
    }
    printf("\t%u", enc.len);
    hex(enc.columns, enc.columns_len);
    hex(enc.strings, enc.strings_len);
    hex(edits.records, edits.records_len);
    hex(edits.strings, edits.strings_len);
    putchar('\n');
    sg_edits_free(&edits);
    sg_test_encoding_free(&enc);
    sg_test_processor_free(&h);
}

int main(void) {
    sg_test_spans spans = {0};
    sg_test_span *a = sg_test_span_named(sg_test_spans_add(&spans, 7, 1), "checkout");
    sg_test_span_service(a, "shop");
    sg_test_span_times(a, 0, 1500 * MS + 999999);
    sg_test_span_status(a, SG_STATUS_ERROR, "declined");
    sg_test_span_attr_str(a, "user.email", "ann@example.com");
    sg_test_span_attr_int(a, "user.id", 12);
    sg_test_span_attr_str(a, "card", "h\xc3\xa9llo");
    sg_test_span_times(sg_test_span_named(sg_test_spans_add(&spans, 7, 2), "GET /healthz"), 0, 5000 * MS);
    sg_test_span_status(sg_test_span_named(sg_test_spans_add(&spans, 8, 3), "cron"), SG_STATUS_ERROR, "");
    sg_test_span_times(spans.items[2], 10 * MS, 5 * MS);
    sg_test_span *d = sg_test_span_named(sg_test_spans_add(&spans, 8, 4), "fast");
    sg_test_span_service(d, "billing");
    sg_test_span_times(d, 0, 999 * MS);
    sg_test_span_attr_str(d, "user.email", "");

    emit("defaults", "", &spans);
    emit("all_rules", "{\"mask_keys\": [\"user.email\", \"card\", \"user.id\"], \"drop_name\": \"GET /healthz\"}", &spans);
    emit("slow_zero", "{\"slow_ms\": 0, \"mask_keys\": [\"card\"]}", &spans);
    emit("huge_slow_ms", "{\"slow_ms\": 18446744073709551615}", &spans);
    sg_test_spans none = {0};
    emit("empty_batch", "{\"slow_ms\": 0}", &none);
    emit("unknown_key", "{\"slow\": 1}", &spans);
    emit("bad_type", "{\"mask_keys\": [\"a\", 3]}", &spans);
    emit("bad_json", "{\"slow_ms\": }", &spans);
    sg_test_spans_free(&spans);
    return 0;
}
