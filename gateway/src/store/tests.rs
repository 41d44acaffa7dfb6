use std::collections::BTreeMap;

use proptest::prelude::*;

use super::codec::tests::span_strategy;
use super::*;
use crate::model::{
    InstrumentationScope, KeyValue, Resource, ResourceSpans, SINGLE_TENANT, ScopeSpans,
};

fn open(dir: &Path) -> TraceStore {
    let config = StorageConfig {
        data_dir: dir.to_owned(),
        ..StorageConfig::default()
    };
    TraceStore::open(&config).unwrap()
}

fn service(name: &str) -> Resource {
    Resource {
        attributes: vec![KeyValue {
            key: "service.name".into(),
            key_strindex: 0,
            value: Some(crate::model::AnyValue {
                value: Some(crate::model::any_value::Value::StringValue(name.into())),
            }),
        }],
        dropped_attributes_count: 0,
        entity_refs: vec![],
    }
}

fn request(resource: Resource, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "lib".into(),
                    ..Default::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn span(trace: u8, id: u8, start: u64) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        name: format!("span-{id}"),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 10,
        ..Default::default()
    }
}

fn write(store: &TraceStore, request: &ExportTraceServiceRequest) {
    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
    store.write(tenant, request).unwrap();
}

fn all_spans(trace: &StoredTrace) -> Vec<(String, Span)> {
    let mut spans = Vec::new();
    for resource_spans in &trace.data.resource_spans {
        let service = format!("{:?}", resource_spans.resource);
        for scope_spans in &resource_spans.scope_spans {
            for span in &scope_spans.spans {
                spans.push((service.clone(), span.clone()));
            }
        }
    }
    spans
}

#[test]
fn trace_split_over_requests_and_services_is_returned_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    write(&store, &request(service("front"), vec![span(1, 1, 100)]));
    write(
        &store,
        &request(service("back"), vec![span(1, 2, 200), span(2, 9, 5)]),
    );
    let trace = store
        .get_trace(SINGLE_TENANT, &TraceId([1; 16]), None)
        .unwrap()
        .unwrap();
    assert_eq!(trace.data.resource_spans.len(), 2);
    let names: Vec<_> = all_spans(&trace).into_iter().map(|(_, s)| s.name).collect();
    assert_eq!(names, ["span-1", "span-2"]);
    assert!(trace.inspected_bytes > 0);
}

#[test]
fn a_span_received_twice_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let twice = request(service("svc"), vec![span(3, 1, 100)]);
    write(&store, &twice);
    write(&store, &twice);
    let trace = store
        .get_trace(SINGLE_TENANT, &TraceId([3; 16]), None)
        .unwrap()
        .unwrap();
    assert_eq!(all_spans(&trace).len(), 1);
}

#[test]
fn unknown_trace_and_unknown_tenant_are_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    write(&store, &request(service("svc"), vec![span(4, 1, 100)]));
    assert!(
        store
            .get_trace(SINGLE_TENANT, &TraceId([5; 16]), None)
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_trace("other", &TraceId([4; 16]), None)
            .unwrap()
            .is_none()
    );
}

#[test]
fn time_window_selects_overlapping_traces() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    write(&store, &request(service("svc"), vec![span(6, 1, 1_000)]));
    let id = TraceId([6; 16]);
    let window = |start, end| {
        Some(TimeWindow {
            start_unix_nano: start,
            end_unix_nano: end,
        })
    };
    assert!(
        store
            .get_trace(SINGLE_TENANT, &id, window(0, 999))
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_trace(SINGLE_TENANT, &id, window(1_005, 2_000))
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .get_trace(SINGLE_TENANT, &id, window(1_011, 2_000))
            .unwrap()
            .is_none()
    );
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        write(&store, &request(service("svc"), vec![span(7, 1, 100)]));
    }
    let store = open(dir.path());
    assert!(
        store
            .get_trace(SINGLE_TENANT, &TraceId([7; 16]), None)
            .unwrap()
            .is_some()
    );
    // The tenant keeps its id, so writing again continues the same trace.
    write(&store, &request(service("svc"), vec![span(7, 2, 200)]));
    let trace = store
        .get_trace(SINGLE_TENANT, &TraceId([7; 16]), None)
        .unwrap()
        .unwrap();
    assert_eq!(all_spans(&trace).len(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random writes, checked against a model: the last write of a (trace, span) wins,
    /// and each span comes back under the resource it was last written with.
    #[test]
    fn store_matches_a_model(writes in proptest::collection::vec(
        (0u8..3, proptest::collection::vec((0u8..3, 1u8..4, span_strategy()), 1..4)),
        1..6,
    )) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let mut model: BTreeMap<([u8; 16], [u8; 8]), (String, Span)> = BTreeMap::new();
        for (service_index, spans) in writes {
            let resource = service(&format!("svc-{service_index}"));
            let spans: Vec<Span> = spans
                .into_iter()
                .map(|(trace, id, mut span)| {
                    span.trace_id = vec![trace + 1; 16];
                    span.span_id = vec![id; 8];
                    span
                })
                .collect();
            for span in &spans {
                let key = (
                    <[u8; 16]>::try_from(span.trace_id.as_slice()).unwrap(),
                    <[u8; 8]>::try_from(span.span_id.as_slice()).unwrap(),
                );
                model.insert(key, (format!("{:?}", Some(resource.clone())), span.clone()));
            }
            write(&store, &request(resource, spans));
        }
        for trace in 1u8..=3 {
            let mut expected: Vec<(String, Span)> = model
                .iter()
                .filter(|((t, _), _)| *t == [trace; 16])
                .map(|(_, v)| v.clone())
                .collect();
            let stored = store.get_trace(SINGLE_TENANT, &TraceId([trace; 16]), None).unwrap();
            let mut actual = stored.as_ref().map(all_spans).unwrap_or_default();
            expected.sort_by(|a, b| a.1.span_id.cmp(&b.1.span_id));
            actual.sort_by(|a, b| a.1.span_id.cmp(&b.1.span_id));
            prop_assert_eq!(actual, expected);
        }
    }
}
