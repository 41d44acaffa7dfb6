//! Jaeger agent datagrams in the Thrift compact protocol (`emitBatch`): decoding,
//! translation to OTLP (one OTLP span per Jaeger span), ingest validation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spangate::fuzzing::{JaegerThrift, decode_jaeger_thrift};

fuzz_target!(|data: &[u8]| {
    spangate_fuzz::check_translated(decode_jaeger_thrift(JaegerThrift::UdpCompact, data));
});
