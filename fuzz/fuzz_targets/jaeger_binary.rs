//! Jaeger Thrift in the binary protocol, both ways it arrives: an agent datagram
//! (`emitBatch`) and a bare `Batch` posted over HTTP. Decoding, translation to OTLP
//! (one OTLP span per Jaeger span), ingest validation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spangate::fuzzing::{JaegerThrift, decode_jaeger_thrift};

fuzz_target!(|data: &[u8]| {
    for input in [JaegerThrift::UdpBinary, JaegerThrift::HttpBinary] {
        spangate_fuzz::check_translated(decode_jaeger_thrift(input, data));
    }
});
