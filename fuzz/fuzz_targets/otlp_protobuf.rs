//! OTLP/HTTP (and gRPC) protobuf bodies: decoding, then ingest validation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = spangate::fuzzing::decode_otlp(data, false) {
        spangate_fuzz::check_request(request);
    }
});
