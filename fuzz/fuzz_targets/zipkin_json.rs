//! Zipkin JSON bodies, v2 (`/api/v2/spans`) and v1 (`/api/v1/spans`) on the same bytes:
//! decoding, translation to OTLP (one OTLP span per Zipkin span), ingest validation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spangate::fuzzing::{ZipkinFormat, decode_zipkin};

fuzz_target!(|data: &[u8]| {
    for format in [ZipkinFormat::V2Json, ZipkinFormat::V1Json] {
        spangate_fuzz::check_translated(decode_zipkin(format, data));
    }
});
