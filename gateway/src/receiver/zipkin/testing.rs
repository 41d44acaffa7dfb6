//! The JSON decoders' property tests (the protobuf one's are in `proto.rs`): any bytes,
//! any JSON, and JSON shaped like spans of either version with values of any type where
//! the fields are never panic, in decoding nor in the mapping of what decodes.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "[0-9a-fA-F]{0,34}".prop_map(Value::String),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-zA-Z]{1,10}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

const KEYS: [&str; 18] = [
    "traceId",
    "id",
    "parentId",
    "name",
    "kind",
    "timestamp",
    "duration",
    "debug",
    "shared",
    "localEndpoint",
    "remoteEndpoint",
    "annotations",
    "binaryAnnotations",
    "tags",
    "serviceName",
    "ipv4",
    "value",
    "endpoint",
];

/// An object with some of the span keys (and endpoint / annotation keys at any level).
fn span_like_json() -> impl Strategy<Value = Value> {
    let field_value = prop_oneof![
        json_value(),
        "[0-9a-f]{1,32}".prop_map(Value::String),
        Just(json!("CLIENT")),
        Just(json!({"serviceName": "a", "ipv4": "1.2.3.4", "ipv6": "::1", "port": 80})),
        Just(json!([{"timestamp": 1, "value": "cs", "endpoint": {"serviceName": "s"}}])),
        Just(json!([{"key": "sa", "value": true, "endpoint": {"ipv4": "1.2.3.4"}}])),
        Just(json!({"otlp.link.0": "00|01|x|{}|1", "otel.status_code": "ERROR"})),
    ];
    proptest::collection::vec((proptest::sample::select(&KEYS[..]), field_value), 0..10).prop_map(
        |fields| {
            let mut object: Map<String, Value> = fields
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect();
            object
                .entry("traceId")
                .or_insert_with(|| json!("463ac35c9f6413ad"));
            object
                .entry("id")
                .or_insert_with(|| json!("72485a3953bb6124"));
            Value::Object(object)
        },
    )
}

/// Runs both JSON decoders on `payload`, and the mapping on what they accept.
fn decode_json_and_translate(payload: &[u8]) {
    for decode in [super::json_v1::decode, super::json_v2::decode] {
        if let Ok(spans) = decode(payload) {
            let _ = super::translate::to_otlp(spans);
        }
    }
}

proptest! {
    #[test]
    fn json_decoders_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        decode_json_and_translate(&bytes);
    }

    #[test]
    fn json_decoders_never_panic_on_json(value in json_value()) {
        decode_json_and_translate(value.to_string().as_bytes());
        decode_json_and_translate(Value::Array(vec![value]).to_string().as_bytes());
    }

    #[test]
    fn json_decoders_never_panic_on_span_shaped_json(span in span_like_json()) {
        decode_json_and_translate(format!("[{span}]").as_bytes());
    }
}
