//! Round trips: any traces written to a block read back equal, by id and chunk by chunk.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use proptest::prelude::*;

use super::*;

fn any_value() -> impl Strategy<Value = Option<AnyValue>> {
    let scalar = prop_oneof![
        "[a-c]{0,3}".prop_map(any_value::Value::StringValue),
        any::<bool>().prop_map(any_value::Value::BoolValue),
        any::<i64>().prop_map(any_value::Value::IntValue),
        any::<f64>().prop_map(any_value::Value::DoubleValue),
        proptest::collection::vec(any::<u8>(), 0..4).prop_map(any_value::Value::BytesValue),
    ];
    prop_oneof![
        4 => scalar.clone().prop_map(|v| Some(AnyValue { value: Some(v) })),
        1 => Just(None),
        1 => Just(Some(AnyValue { value: None })),
        1 => proptest::collection::vec(scalar, 0..3).prop_map(|values| Some(AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: values.into_iter().map(|v| AnyValue { value: Some(v) }).collect(),
            })),
        })),
    ]
}

fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    proptest::collection::vec(
        ("[k-n]", any_value()).prop_map(|(key, value)| KeyValue {
            key,
            value,
            ..KeyValue::default()
        }),
        0..4,
    )
}

/// A span of trace `trace_id`; parent ids are fixed up per trace below.
fn span() -> impl Strategy<Value = Span> {
    (
        any::<[u8; 8]>(),
        "[a-d]{0,2}",
        0i32..7,
        0u64..5_000,
        0u64..3_000,
        attributes(),
        proptest::option::of((0i32..3, "[x-z]{0,2}")),
        0u8..8,
        any::<u32>(),
    )
        .prop_map(
            |(span_id, name, kind, start, length, attributes, status, extra, flags)| Span {
                span_id: span_id.to_vec(),
                name,
                kind,
                start_time_unix_nano: 1_700_000_000_000_000_000 + start,
                end_time_unix_nano: if extra == 7 {
                    // End before start must round-trip too.
                    1_700_000_000_000_000_000 + start.saturating_sub(length)
                } else {
                    1_700_000_000_000_000_000 + start + length
                },
                attributes,
                status: status.map(|(code, message)| Status { code, message }),
                flags: if extra == 1 { flags } else { 0 },
                trace_state: if extra == 2 {
                    "k=v".to_owned()
                } else {
                    String::new()
                },
                events: if extra == 3 {
                    vec![Event {
                        name: "e".to_owned(),
                        time_unix_nano: 5,
                        ..Event::default()
                    }]
                } else {
                    Vec::new()
                },
                links: if extra == 4 {
                    vec![Link {
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        ..Link::default()
                    }]
                } else {
                    Vec::new()
                },
                dropped_attributes_count: u32::from(extra == 5),
                ..Span::default()
            },
        )
}

/// A trace: 1..6 spans under up to 2 resources and 2 scopes each, with parents inside
/// the trace, outside it, or none.
fn trace() -> impl Strategy<Value = ([u8; 16], Vec<ResourceSpans>)> {
    (
        any::<[u8; 16]>(),
        proptest::collection::vec((span(), 0usize..2, 0usize..2, 0u8..4), 1..6),
    )
        .prop_map(|(trace_id, spans)| {
            let ids: Vec<Vec<u8>> = spans.iter().map(|(s, ..)| s.span_id.clone()).collect();
            let mut resources: Vec<ResourceSpans> = Vec::new();
            for (i, (mut span, resource, scope, parent)) in spans.into_iter().enumerate() {
                span.trace_id = trace_id.to_vec();
                span.parent_span_id = match parent {
                    0 => Vec::new(),
                    1 => vec![9; 8],
                    _ => ids[(i + 1) % ids.len()].clone(),
                };
                let service = format!("svc-{resource}");
                let position = match resources.iter().position(|r| {
                    r.resource.as_ref().map(|r| &r.attributes[0].value)
                        == Some(&Some(AnyValue {
                            value: Some(any_value::Value::StringValue(service.clone())),
                        }))
                }) {
                    Some(p) => p,
                    None => {
                        resources.push(ResourceSpans {
                            resource: Some(Resource {
                                attributes: vec![KeyValue {
                                    key: "service.name".to_owned(),
                                    value: Some(AnyValue {
                                        value: Some(any_value::Value::StringValue(service)),
                                    }),
                                    ..KeyValue::default()
                                }],
                                ..Resource::default()
                            }),
                            schema_url: if resource == 1 {
                                "s".to_owned()
                            } else {
                                String::new()
                            },
                            ..ResourceSpans::default()
                        });
                        resources.len() - 1
                    }
                };
                let scope_name = format!("scope-{scope}");
                let scopes = &mut resources[position].scope_spans;
                match scopes.iter_mut().find(|s| {
                    s.scope.as_ref().map(|s| s.name.as_str()) == Some(scope_name.as_str())
                }) {
                    Some(s) => s.spans.push(span),
                    None => scopes.push(ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: scope_name,
                            ..InstrumentationScope::default()
                        }),
                        spans: vec![span],
                        ..ScopeSpans::default()
                    }),
                }
            }
            (trace_id, resources)
        })
}

/// What a block must give back for `trace`: its spans ordered by (start, span id) and
/// regrouped under resource and scope in order of first appearance.
fn canonical(trace: &[ResourceSpans]) -> Vec<ResourceSpans> {
    let mut rows = Vec::new();
    for resource_spans in trace {
        for scope_spans in &resource_spans.scope_spans {
            for span in &scope_spans.spans {
                rows.push((resource_spans, scope_spans, span));
            }
        }
    }
    rows.sort_by(|a, b| {
        (a.2.start_time_unix_nano, &a.2.span_id).cmp(&(b.2.start_time_unix_nano, &b.2.span_id))
    });
    let mut out: Vec<ResourceSpans> = Vec::new();
    for (resource_spans, scope_spans, span) in rows {
        let head = |r: &ResourceSpans| (r.resource.clone(), r.schema_url.clone());
        let group = match out.iter().position(|r| head(r) == head(resource_spans)) {
            Some(g) => g,
            None => {
                out.push(ResourceSpans {
                    scope_spans: Vec::new(),
                    ..resource_spans.clone()
                });
                out.len() - 1
            }
        };
        let scopes = &mut out[group].scope_spans;
        let scope_head = |s: &ScopeSpans| (s.scope.clone(), s.schema_url.clone());
        match scopes
            .iter_mut()
            .find(|s| scope_head(s) == scope_head(scope_spans))
        {
            Some(s) => s.spans.push(span.clone()),
            None => scopes.push(ScopeSpans {
                spans: vec![span.clone()],
                ..scope_spans.clone()
            }),
        }
    }
    out
}

fn write(traces: &[([u8; 16], Vec<ResourceSpans>)], chunk_spans: usize) -> Vec<u8> {
    let mut writer = BlockWriter::new(
        Vec::new(),
        BlockOptions {
            chunk_spans,
            zstd_level: 1,
        },
    )
    .unwrap();
    for (id, trace) in traces {
        writer.push_trace(*id, trace).unwrap();
    }
    writer.finish().unwrap().0
}

/// NaN attribute values compare unequal to themselves; compare encodings instead.
fn same(a: &[ResourceSpans], b: &[ResourceSpans]) -> bool {
    use prost::Message;
    let encode = |x: &[ResourceSpans]| x.iter().map(Message::encode_to_vec).collect::<Vec<_>>();
    encode(a) == encode(b)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_trace_reads_back(mut traces in proptest::collection::vec(trace(), 0..12), chunk_spans in 1usize..20) {
        traces.sort_by_key(|(id, _)| *id);
        traces.dedup_by_key(|(id, _)| *id);
        let bytes = write(&traces, chunk_spans);
        let block = Block::open(bytes).unwrap();
        let spans: usize = traces.iter().map(|(_, t)| t.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum::<usize>()).sum();
        prop_assert_eq!(block.span_count(), spans as u64);
        prop_assert_eq!(block.trace_count(), traces.len() as u64);
        for (id, trace) in &traces {
            let read = block.trace(id).unwrap();
            prop_assert!(read.as_deref().is_some_and(|r| same(r, &canonical(trace))), "trace {:?}", id);
        }
        let mut all = Vec::new();
        for index in 0..block.chunks().len() {
            all.extend(block.chunk(index).unwrap().traces().unwrap());
        }
        prop_assert_eq!(all.len(), traces.len());
        for ((read_id, read), (id, trace)) in all.iter().zip(&traces) {
            prop_assert_eq!(read_id, id);
            prop_assert!(same(read, &canonical(trace)));
        }
        let absent = [0xee; 16];
        if !traces.iter().any(|(id, _)| *id == absent) {
            prop_assert!(block.trace(&absent).unwrap().is_none());
        }
    }

    /// Damaged blocks are errors, never panics.
    #[test]
    fn corrupt_blocks_never_panic(traces in proptest::collection::vec(trace(), 1..4), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4), cut in any::<prop::sample::Index>()) {
        let mut traces = traces;
        traces.sort_by_key(|(id, _)| *id);
        traces.dedup_by_key(|(id, _)| *id);
        let bytes = write(&traces, 4);
        let mut damaged = bytes.clone();
        for (index, byte) in &flips {
            let i = index.index(damaged.len());
            damaged[i] ^= byte | 1;
        }
        for candidate in [damaged, bytes[..cut.index(bytes.len())].to_vec()] {
            if let Ok(block) = Block::open(candidate) {
                for (id, _) in &traces {
                    let _ = block.trace(id);
                }
                for index in 0..block.chunks().len() {
                    if let Ok(chunk) = block.chunk(index) {
                        let _ = chunk.traces();
                    }
                }
            }
        }
    }
}

#[test]
fn refuses_unordered_traces_and_foreign_spans() {
    let mut writer = BlockWriter::new(Vec::new(), BlockOptions::default()).unwrap();
    let span = |trace: u8| Span {
        trace_id: vec![trace; 16],
        span_id: vec![1; 8],
        ..Span::default()
    };
    let trace = |trace: u8| {
        vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![span(trace)],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }]
    };
    writer.push_trace([2; 16], &trace(2)).unwrap();
    assert!(matches!(
        writer.push_trace([1; 16], &trace(1)),
        Err(BlockError::Unordered)
    ));
    assert!(matches!(
        writer.push_trace([3; 16], &trace(4)),
        Err(BlockError::InvalidSpan)
    ));
}

#[test]
fn refuses_other_format_versions() {
    let mut bytes = write(&[], 10);
    bytes[4] = 9;
    let error = Block::open(bytes).err().unwrap();
    assert_eq!(
        error.to_string(),
        "block format version 9 is not supported (this build reads version 1)"
    );
}
