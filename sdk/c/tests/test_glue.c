/* The processor glue (glue/processor.c over the bindings `wit-bindgen c` generates),
 * compiled natively with AddressSanitizer: calls the canonical-ABI entry points the way
 * the host does (arguments in malloc'd buffers, then the post-return function) many
 * times, checks the answers, and lets LeakSanitizer report anything the glue fails to
 * free. Built and run by `make glue-test` (needs the toolchain for wit-bindgen). */
#include "spangate_plugin_testing.h"

/* The generated entry points (flat canonical ABI; natively pointers are 8 bytes, which
 * the generated code and its post-return functions agree on). */
uint8_t *__wasm_export_exports_spangate_plugin_processor_init(uint8_t *config, size_t len);
void __wasm_export_exports_spangate_plugin_processor_init_post_return(uint8_t *ret);
uint8_t *__wasm_export_exports_spangate_plugin_processor_process(int32_t len, uint8_t *columns, size_t columns_len,
                                                                  uint8_t *strings, size_t strings_len);
void __wasm_export_exports_spangate_plugin_processor_process_post_return(uint8_t *ret);

/* What the component's imports and type object provide in wasm. */
void __wasm_import_spangate_plugin_host_log(int32_t level, uint8_t *ptr, size_t len) { (void)level, (void)ptr, (void)len; }
int64_t __wasm_import_spangate_plugin_host_now_unix_nanos(void) { return 0; }
void __component_type_object_force_link_processor_plugin(void) {}

extern const sg_processor reference_processor;

static uint8_t *copy(const void *data, size_t len) {
    if (len == 0) return (uint8_t *)1; /* what cabi_realloc returns for 0 bytes: the alignment */
    uint8_t *p = (uint8_t *)malloc(len);
    memcpy(p, data, len);
    return p;
}

#define P (sizeof(void *))

static void test_the_glue_frees_what_it_is_given_and_hands_over_its_answers(void) {
    const char *bad = "{\"slow_ms\": -1}";
    uint8_t *ret = __wasm_export_exports_spangate_plugin_processor_init(copy(bad, strlen(bad)), strlen(bad));
    SG_CHECK_EQ_U64(ret[0], 1); /* err */
    sg_str message = {*(const char **)(ret + P), *(size_t *)(ret + 2 * P)};
    SG_CHECK_STR(message, "slow_ms: expected a non-negative integer, found -1");
    __wasm_export_exports_spangate_plugin_processor_init_post_return(ret);

    const char *config = "{\"mask_keys\": [\"user.email\", \"card\"], \"slow_ms\": 100, \"drop_name\": \"noise\"}";
    for (int round = 0; round < 3; round++) { /* init again: the old state is freed */
        ret = __wasm_export_exports_spangate_plugin_processor_init(copy(config, strlen(config)), strlen(config));
        SG_CHECK_EQ_U64(ret[0], 0);
        sg_str name = {*(const char **)(ret + P), *(size_t *)(ret + 2 * P)};
        SG_CHECK_STR(name, "reference");
        SG_CHECK_EQ_U64(ret[6 * P], SG_SELECT_KEYS);
        SG_CHECK_EQ_U64(*(size_t *)(ret + 8 * P), 2);
        __wasm_export_exports_spangate_plugin_processor_init_post_return(ret);
    }

    sg_test_spans spans = {0};
    for (int i = 0; i < 20; i++) {
        sg_test_span *s = sg_test_spans_add(&spans, 1, (uint64_t)i + 1);
        sg_test_span_named(s, i % 4 ? "GET /cart" : "noise");
        sg_test_span_service(s, "shop");
        sg_test_span_times(s, 0, (uint64_t)i * 10000000);
        sg_test_span_status(s, i % 3 ? SG_STATUS_OK : SG_STATUS_ERROR, "");
        sg_test_span_attr_str(s, "user.email", "a@b.c");
        sg_test_span_attr_str(s, "card", "");
    }
    sg_test_processor native;
    sg_error err;
    SG_CHECK_OK(sg_test_processor_init(&native, &reference_processor, config, &err), &err);
    sg_edits expected;
    SG_CHECK_OK(sg_test_processor_edits(&native, &spans, &expected, &err), &err);
    sg_test_encoding enc;
    sg_test_encode(&spans, &native.needs, &enc);
    for (int call = 0; call < 1000; call++) {
        ret = __wasm_export_exports_spangate_plugin_processor_process(
            (int32_t)enc.len, copy(enc.columns, enc.columns_len), enc.columns_len, copy(enc.strings, enc.strings_len),
            enc.strings_len);
        SG_CHECK_EQ_U64(ret[0], 0);
        const uint8_t *records = *(const uint8_t **)(ret + P);
        size_t records_len = *(size_t *)(ret + 2 * P);
        const uint8_t *strings = *(const uint8_t **)(ret + 3 * P);
        size_t strings_len = *(size_t *)(ret + 4 * P);
        SG_CHECK(records_len == expected.records_len && memcmp(records, expected.records, records_len) == 0);
        SG_CHECK(strings_len == expected.strings_len && memcmp(strings, expected.strings, strings_len) == 0);
        __wasm_export_exports_spangate_plugin_processor_process_post_return(ret);
    }
    /* An empty batch: no edits, so nothing to hand over (NULL buffers). */
    uint8_t directory[SG_DIRECTORY_BYTES] = {0};
    ret = __wasm_export_exports_spangate_plugin_processor_process(0, copy(directory, sizeof directory), sizeof directory,
                                                                  copy("", 0), 0);
    SG_CHECK_EQ_U64(ret[0], 0);
    SG_CHECK_EQ_U64(*(size_t *)(ret + 2 * P), 0);
    __wasm_export_exports_spangate_plugin_processor_process_post_return(ret);
    /* A malformed batch is an err result naming the problem. */
    ret = __wasm_export_exports_spangate_plugin_processor_process(1, copy(directory, 10), 10, copy("", 0), 0);
    SG_CHECK_EQ_U64(ret[0], 1);
    sg_str message2 = {*(const char **)(ret + P), *(size_t *)(ret + 2 * P)};
    SG_CHECK_STR(message2, "the column buffer is 10 bytes, shorter than its 288-byte directory");
    __wasm_export_exports_spangate_plugin_processor_process_post_return(ret);

    sg_edits_free(&expected);
    sg_test_encoding_free(&enc);
    sg_test_processor_free(&native);
    sg_test_spans_free(&spans);
    /* The glue's own instance state: init once more with a config that is refused, so
     * nothing of the plugin stays allocated for LeakSanitizer to report. */
    ret = __wasm_export_exports_spangate_plugin_processor_init(copy(bad, strlen(bad)), strlen(bad));
    __wasm_export_exports_spangate_plugin_processor_init_post_return(ret);
}

int main(void) {
    sg_test_run("the_glue_frees_what_it_is_given_and_hands_over_its_answers",
                test_the_glue_frees_what_it_is_given_and_hands_over_its_answers);
    return sg_test_summary();
}
