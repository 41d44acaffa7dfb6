//! The store's codec: the input read as a stored span value, a resource entry, a scope
//! entry and a span key (never a panic); whatever decodes re-encodes to bytes that
//! decode to the same thing (and the same dictionary hash); a span key written from
//! the input's bytes parses back to them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use prost::Message;
use spangate::fuzzing::{
    decode_resource_entry, decode_scope_entry, decode_span_value, encode_resource_entry,
    encode_scope_entry, encode_span_value, parse_span_key, span_key,
};

fuzz_target!(|data: &[u8]| {
    if let Ok((resource_hash, scope_hash, span)) = decode_span_value(data) {
        let encoded = encode_span_value(resource_hash, scope_hash, &span);
        let (r, s, again) = decode_span_value(&encoded).expect("an encoded span decodes");
        assert_eq!((r, s), (resource_hash, scope_hash));
        assert_eq!(again.encode_to_vec(), span.encode_to_vec());
        assert_eq!(encode_span_value(r, s, &again), encoded);
    }
    if let Ok(resource) = decode_resource_entry(data) {
        let (hash, encoded) = encode_resource_entry(&resource);
        let again = decode_resource_entry(&encoded).expect("an encoded resource decodes");
        assert!(again.scope_spans.is_empty(), "an entry holds no scopes");
        assert_eq!(encode_resource_entry(&again), (hash, encoded));
    }
    if let Ok(scope) = decode_scope_entry(data) {
        let (hash, encoded) = encode_scope_entry(&scope);
        let again = decode_scope_entry(&encoded).expect("an encoded scope decodes");
        assert!(again.spans.is_empty(), "an entry holds no spans");
        assert_eq!(encode_scope_entry(&again), (hash, encoded));
    }
    if let Some((tenant, bucket, trace_id, span_id)) = parse_span_key(data) {
        assert_eq!(span_key(tenant, bucket, trace_id, span_id), data);
    }
    if let Some(key) = data.get(..36) {
        let word = |at: usize| u32::from_be_bytes(key[at..at + 4].try_into().expect("4 bytes"));
        let trace_id: [u8; 16] = key[8..24].try_into().expect("16 bytes");
        let span_id: [u8; 8] = key[24..32].try_into().expect("8 bytes");
        let written = span_key(word(0), word(4), trace_id, span_id);
        assert_eq!(
            parse_span_key(&written),
            Some((word(0), word(4), trace_id, span_id))
        );
    }
});
