//! Zipkin v2 protobuf bodies (`ListOfSpans`): decoding, translation to OTLP (one OTLP
//! span per Zipkin span), ingest validation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spangate::fuzzing::{ZipkinFormat, decode_zipkin};

fuzz_target!(|data: &[u8]| {
    spangate_fuzz::check_translated(decode_zipkin(ZipkinFormat::V2Protobuf, data));
});
