//! OTLP/HTTP JSON bodies: decoding, then ingest validation. A decoded request written
//! back as OTLP JSON decodes to the same request.
#![no_main]
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = spangate::fuzzing::decode_otlp(data, true) else {
        return;
    };
    let json = serde_json::to_vec(&request).expect("a decoded request serializes");
    let again = spangate::fuzzing::decode_otlp(&json, true)
        .unwrap_or_else(|error| panic!("its own JSON does not decode: {error}"));
    assert_eq!(
        again.encode_to_vec(),
        request.encode_to_vec(),
        "JSON round trip"
    );
    spangate_fuzz::check_request(request);
});
