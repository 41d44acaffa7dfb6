//! The engine against a reference: whatever order traces and their spans were written
//! in, a search returns exactly the `limit` newest matching traces (by trace start,
//! then id) that evaluating every stored trace would.

use proptest::prelude::*;

use super::*;
use crate::model::{
    ExportTraceServiceRequest, Resource, ResourceSpans, SINGLE_TENANT, ScopeSpans, Span, TraceId,
    any_value,
};
use crate::store::StorageConfig;

const SERVICES: [&str; 3] = ["api", "db", "web"];
const NAMES: [&str; 2] = ["GET", "POST"];

/// A resource named by `service.name` only (also the span-floor tests' resources).
pub(super) fn service_resource(service: &str) -> Resource {
    Resource {
        attributes: vec![KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(service.into())),
            }),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// One span: (trace, service, name, start, length), all small so that starts tie.
type SpanSpec = (u8, usize, usize, u64, u64);

fn request(spans: &[SpanSpec]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: spans
            .iter()
            .enumerate()
            .map(
                |(index, &(trace, service, name, start, length))| ResourceSpans {
                    resource: Some(service_resource(SERVICES[service])),
                    scope_spans: vec![ScopeSpans {
                        spans: vec![Span {
                            trace_id: vec![trace + 1; 16],
                            span_id: vec![index as u8 + 1, trace + 1, 0, 0, 0, 0, 0, 1],
                            name: NAMES[name].into(),
                            start_time_unix_nano: 1_000 + start,
                            end_time_unix_nano: 1_000 + start + length,
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            )
            .collect(),
    }
}

/// The newest `limit` matching traces by evaluating every stored trace.
fn reference(store: &TraceStore, traces: &[u8], query: &Query, limit: usize) -> Vec<String> {
    let tenant = store.tenant(SINGLE_TENANT).unwrap();
    let mut found: Vec<(u64, String)> = traces
        .iter()
        .filter_map(|&trace| {
            let id = TraceId([trace + 1; 16]);
            let stored = store.tenant_trace(tenant, &id, None).unwrap()?;
            let result =
                query.evaluate_with(&stored.data.resource_spans, &SearchOptions::default())?;
            let metadata = trace_match(result);
            Some((metadata.start_time_unix_nano, metadata.trace_id))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    found.into_iter().take(limit).map(|(_, id)| id).collect()
}

const QUERIES: [&str; 6] = [
    "{}",
    r#"{resource.service.name="api"}"#,
    r#"{resource.service.name="db" && duration > 20ns}"#,
    r#"{name="POST" && duration >= 30ns}"#,
    r#"{resource.service.name="web" && name="GET" && duration > 10ns}"#,
    "{duration > 40ns} && {name=\"GET\"}",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn search_returns_the_newest_matches(
        writes in prop::collection::vec(
            prop::collection::vec((0u8..12, 0usize..3, 0usize..2, 0u64..60, 0u64..60), 1..6),
            1..8,
        ),
        limit in 1usize..6,
        query in 0usize..QUERIES.len(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(TraceStore::open(&StorageConfig {
            data_dir: dir.path().to_owned(),
            ..StorageConfig::default()
        }).unwrap());
        let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
        let mut traces: Vec<u8> = Vec::new();
        for spans in &writes {
            store.write(tenant, &request(spans)).unwrap();
            traces.extend(spans.iter().map(|span| span.0));
        }
        traces.sort_unstable();
        traces.dedup();
        let query = spangate_traceql::parse(QUERIES[query]).unwrap();
        let engine = SearchEngine::new(store.clone(), SearchSettings::default());
        let outcome = engine.search(SINGLE_TENANT, &SearchRequest {
            query: &query,
            limit,
            spans_per_spanset: 0,
            window: TimeWindow::ALL,
        }).unwrap();
        prop_assert!(outcome.complete);
        let ids: Vec<String> = outcome.traces.iter().map(|t| t.trace_id.clone()).collect();
        prop_assert_eq!(ids, reference(&store, &traces, &query, limit));
    }
}
