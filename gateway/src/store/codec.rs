//! Value encoding of stored spans and of the resource/scope dictionary.
//!
//! A span value is `version:u8 | resource_hash:u64 BE | scope_hash:u64 BE | Span (protobuf)`.
//! Resource and scope are stored once in the `dictionary` column family, keyed by the
//! xxh3 hash of their encoding, instead of once per span: a resource is typically as
//! large as two or three spans.

use prost::Message;

use crate::model::{ResourceSpans, ScopeSpans, Span};

pub(super) const SPAN_VALUE_VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 8 + 8;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("stored span value is {0} bytes, shorter than its header")]
    Truncated(usize),
    #[error("stored span value has unknown version {0}")]
    UnknownVersion(u8),
    #[error("stored protobuf does not decode: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

/// The resource part of a `ResourceSpans` (no scopes), encoded, with its hash. Written
/// field by field rather than by encoding a trimmed clone: this runs for every resource
/// of every request, and the bytes are the same (fields 1 and 3, in tag order).
pub(super) fn encode_resource_entry(resource_spans: &ResourceSpans) -> (u64, Vec<u8>) {
    hashed(spangate_blocks::head_entry(
        resource_spans.resource.as_ref(),
        &resource_spans.schema_url,
    ))
}

/// The scope part of a `ScopeSpans` (no spans), encoded, with its hash; see
/// `encode_resource_entry`.
pub(super) fn encode_scope_entry(scope_spans: &ScopeSpans) -> (u64, Vec<u8>) {
    hashed(spangate_blocks::head_entry(
        scope_spans.scope.as_ref(),
        &scope_spans.schema_url,
    ))
}

fn hashed(bytes: Vec<u8>) -> (u64, Vec<u8>) {
    (xxhash_rust::xxh3::xxh3_64(&bytes), bytes)
}

pub(super) fn decode_resource_entry(bytes: &[u8]) -> Result<ResourceSpans, CodecError> {
    Ok(ResourceSpans::decode(bytes)?)
}

pub(super) fn decode_scope_entry(bytes: &[u8]) -> Result<ScopeSpans, CodecError> {
    Ok(ScopeSpans::decode(bytes)?)
}

/// Appends the value of one span to `out` (cleared first), reusing its allocation.
pub(super) fn encode_span_value(
    resource_hash: u64,
    scope_hash: u64,
    span: &Span,
    out: &mut Vec<u8>,
) {
    out.clear();
    out.reserve(HEADER_LEN + span.encoded_len());
    out.push(SPAN_VALUE_VERSION);
    out.extend_from_slice(&resource_hash.to_be_bytes());
    out.extend_from_slice(&scope_hash.to_be_bytes());
    span.encode(out).expect("a Vec grows as needed");
}

/// A decoded span value: which resource and scope it belongs to, and the span.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SpanValue {
    pub resource_hash: u64,
    pub scope_hash: u64,
    pub span: Span,
    /// The ingest-time bucket the row was read from (its key, not its value: 0 when
    /// decoded from a value alone).
    pub bucket: u32,
}

pub(super) fn decode_span_value(bytes: &[u8]) -> Result<SpanValue, CodecError> {
    if bytes.len() < HEADER_LEN {
        return Err(CodecError::Truncated(bytes.len()));
    }
    if bytes[0] != SPAN_VALUE_VERSION {
        return Err(CodecError::UnknownVersion(bytes[0]));
    }
    let resource_hash = u64::from_be_bytes(bytes[1..9].try_into().expect("8 bytes"));
    let scope_hash = u64::from_be_bytes(bytes[9..17].try_into().expect("8 bytes"));
    let span = Span::decode(&bytes[HEADER_LEN..])?;
    Ok(SpanValue {
        resource_hash,
        scope_hash,
        span,
        bucket: 0,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{
        AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, Resource, Status,
        any_value::Value, span,
    };
    use proptest::prelude::*;

    pub(crate) fn any_value_strategy() -> impl Strategy<Value = AnyValue> {
        let leaf = prop_oneof![
            ".{0,8}".prop_map(Value::StringValue),
            any::<bool>().prop_map(Value::BoolValue),
            any::<i64>().prop_map(Value::IntValue),
            any::<f64>()
                .prop_filter("NaN never equals itself", |f| !f.is_nan())
                .prop_map(Value::DoubleValue),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::BytesValue),
        ];
        let value = leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(|values| {
                    Value::ArrayValue(ArrayValue {
                        values: values
                            .into_iter()
                            .map(|v| AnyValue { value: Some(v) })
                            .collect(),
                    })
                }),
                proptest::collection::vec(("[a-z]{1,4}", inner), 0..4).prop_map(|pairs| {
                    Value::KvlistValue(KeyValueList {
                        values: pairs
                            .into_iter()
                            .map(|(key, v)| KeyValue {
                                key,
                                key_strindex: 0,
                                value: Some(AnyValue { value: Some(v) }),
                            })
                            .collect(),
                    })
                }),
            ]
        });
        proptest::option::of(value).prop_map(|value| AnyValue { value })
    }

    pub(crate) fn attributes_strategy() -> impl Strategy<Value = Vec<KeyValue>> {
        proptest::collection::vec(
            ("[a-z.]{1,10}", any_value_strategy()).prop_map(|(key, value)| KeyValue {
                key,
                key_strindex: 0,
                value: Some(value),
            }),
            0..5,
        )
    }

    pub(crate) fn span_strategy() -> impl Strategy<Value = Span> {
        (
            (
                proptest::array::uniform16(1u8..),
                proptest::array::uniform8(1u8..),
                proptest::collection::vec(any::<u8>(), 0..=8),
                ".{0,12}",
                0i32..6,
                any::<u64>(),
                any::<u64>(),
                any::<u32>(),
            ),
            (
                attributes_strategy(),
                proptest::collection::vec(
                    (any::<u64>(), ".{0,6}", attributes_strategy(), any::<u32>()),
                    0..3,
                ),
                proptest::collection::vec(
                    (
                        proptest::array::uniform16(any::<u8>()),
                        proptest::array::uniform8(any::<u8>()),
                        attributes_strategy(),
                        any::<u32>(),
                    ),
                    0..3,
                ),
                proptest::option::of((".{0,8}", 0i32..3)),
                any::<(u32, u32, u32)>(),
            ),
        )
            .prop_map(
                |(
                    (trace_id, span_id, parent, name, kind, start, end, flags),
                    (attributes, events, links, status, dropped),
                )| Span {
                    trace_id: trace_id.to_vec(),
                    span_id: span_id.to_vec(),
                    trace_state: String::new(),
                    parent_span_id: parent,
                    flags,
                    name,
                    kind,
                    start_time_unix_nano: start,
                    end_time_unix_nano: end,
                    attributes,
                    dropped_attributes_count: dropped.0,
                    events: events
                        .into_iter()
                        .map(|(time, name, attributes, dropped)| span::Event {
                            time_unix_nano: time,
                            name,
                            attributes,
                            dropped_attributes_count: dropped,
                        })
                        .collect(),
                    dropped_events_count: dropped.1,
                    links: links
                        .into_iter()
                        .map(|(trace_id, span_id, attributes, flags)| span::Link {
                            trace_id: trace_id.to_vec(),
                            span_id: span_id.to_vec(),
                            trace_state: "k=v".to_owned(),
                            attributes,
                            dropped_attributes_count: 1,
                            flags,
                        })
                        .collect(),
                    dropped_links_count: dropped.2,
                    status: status.map(|(message, code)| Status { message, code }),
                },
            )
    }

    proptest! {
        #[test]
        fn span_value_round_trips(span in span_strategy(), resource_hash in any::<u64>(), scope_hash in any::<u64>()) {
            let mut bytes = Vec::new();
            encode_span_value(resource_hash, scope_hash, &span, &mut bytes);
            let decoded = decode_span_value(&bytes).unwrap();
            prop_assert_eq!(decoded, SpanValue { resource_hash, scope_hash, span, bucket: 0 });
        }

        #[test]
        fn dictionary_entries_round_trip(attributes in attributes_strategy(), name in ".{0,8}", schema in ".{0,8}") {
            let resource_spans = ResourceSpans {
                resource: Some(Resource { attributes: attributes.clone(), dropped_attributes_count: 2, entity_refs: vec![] }),
                scope_spans: vec![ScopeSpans::default()],
                schema_url: schema.clone(),
            };
            let (hash, bytes) = encode_resource_entry(&resource_spans);
            // The same bytes (hence hashes) as encoding the trimmed message, as stored before.
            let trimmed = ResourceSpans { scope_spans: vec![], ..resource_spans.clone() };
            prop_assert_eq!(&bytes, &trimmed.encode_to_vec());
            let decoded = decode_resource_entry(&bytes).unwrap();
            prop_assert_eq!(decoded.resource, resource_spans.resource.clone());
            prop_assert_eq!(decoded.schema_url, schema.clone());
            prop_assert!(decoded.scope_spans.is_empty());
            prop_assert_eq!(hash, encode_resource_entry(&resource_spans).0);

            let scope_spans = ScopeSpans {
                scope: Some(InstrumentationScope { name, version: "1".into(), attributes, dropped_attributes_count: 0 }),
                spans: vec![Span::default()],
                schema_url: schema,
            };
            let (_, bytes) = encode_scope_entry(&scope_spans);
            let trimmed = ScopeSpans { spans: vec![], ..scope_spans.clone() };
            prop_assert_eq!(&bytes, &trimmed.encode_to_vec());
            let decoded = decode_scope_entry(&bytes).unwrap();
            prop_assert_eq!(decoded.scope, scope_spans.scope);
            prop_assert!(decoded.spans.is_empty());
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_span_value(&bytes);
        }
    }
}
