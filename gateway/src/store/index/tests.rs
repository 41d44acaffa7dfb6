//! The indexes through a real store: what a write adds, and reading it back.

use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::config::StorageConfig;
use crate::model::{
    AnyValue, ExportTraceServiceRequest, InstrumentationScope, KeyValue, Resource, ResourceSpans,
    SINGLE_TENANT, ScopeSpans, Span, Status, TraceId, any_value,
};
use crate::store::{TimeWindow, TraceStore};

fn open(dir: &Path) -> TraceStore {
    TraceStore::open(&StorageConfig {
        data_dir: dir.to_owned(),
        indexed_span_attributes: vec!["http.method".to_owned()],
        ..StorageConfig::default()
    })
    .unwrap()
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn text(value: &str) -> any_value::Value {
    any_value::Value::StringValue(value.to_owned())
}

struct TestSpan {
    trace: u8,
    id: u8,
    parent: Option<u8>,
    name: &'static str,
    start: u64,
    error: bool,
    method: Option<&'static str>,
}

fn span(trace: u8, id: u8, name: &'static str, start: u64) -> TestSpan {
    TestSpan {
        trace,
        id,
        parent: None,
        name,
        start,
        error: false,
        method: None,
    }
}

fn request(service: &str, spans: &[TestSpan]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", text(service)),
                    kv("host.cpu", any_value::Value::IntValue(8)),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "lib".into(),
                    attributes: vec![kv("lib.flavour", text("x"))],
                    ..Default::default()
                }),
                spans: spans
                    .iter()
                    .map(|s| Span {
                        trace_id: vec![s.trace; 16],
                        span_id: vec![s.id; 8],
                        parent_span_id: s.parent.map(|p| vec![p; 8]).unwrap_or_default(),
                        name: s.name.to_owned(),
                        start_time_unix_nano: s.start,
                        end_time_unix_nano: s.start + 10,
                        status: s.error.then(|| Status {
                            code: 2,
                            message: "boom".into(),
                        }),
                        attributes: s
                            .method
                            .map(|m| vec![kv("http.method", text(m)), kv("user.id", text("u1"))])
                            .unwrap_or_default(),
                        ..Default::default()
                    })
                    .collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn write(store: &TraceStore, request: &ExportTraceServiceRequest) {
    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
    store.write(tenant, request).unwrap();
}

const ALL: TimeWindow = TimeWindow {
    start_unix_nano: 0,
    end_unix_nano: u64::MAX,
};

fn drain(mut cursor: impl Cursor) -> Vec<(u64, u8)> {
    let mut out = Vec::new();
    while let Some((start, trace)) = cursor.current() {
        out.push((start, trace.0[0]));
        cursor.advance();
    }
    cursor.status().unwrap();
    out
}

fn name_cursor<'a>(store: &'a TraceStore, name: &str, window: TimeWindow) -> PostingCursor<'a> {
    let tenant = store.tenant(SINGLE_TENANT).unwrap();
    store
        .posting_cursor(tenant, Field::Name, "", ValueRef::Str(name), window)
        .unwrap()
}

#[test]
fn postings_list_traces_newest_first_within_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    write(
        &store,
        &request("api", &[span(1, 1, "GET", 100), span(2, 1, "GET", 300)]),
    );
    write(
        &store,
        &request("api", &[span(3, 1, "GET", 200), span(4, 1, "POST", 250)]),
    );
    assert_eq!(
        drain(name_cursor(&store, "GET", ALL)),
        [(300, 2), (200, 3), (100, 1)]
    );
    let window = TimeWindow {
        start_unix_nano: 150,
        end_unix_nano: 299,
    };
    assert_eq!(drain(name_cursor(&store, "GET", window)), [(200, 3)]);
    assert_eq!(drain(name_cursor(&store, "PUT", ALL)), []);
    let tenant = store.tenant(SINGLE_TENANT).unwrap();
    assert_eq!(
        drain(store.trace_time_cursor(tenant, ALL)),
        [(300, 2), (250, 4), (200, 3), (100, 1)]
    );
}

#[test]
fn entries_of_one_write_share_the_traces_earliest_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Two spans of trace 5 in one write: both postings are keyed by start 40.
    let mut child = span(5, 2, "SELECT", 60);
    child.parent = Some(1);
    child.error = true;
    write(&store, &request("db", &[span(5, 1, "root", 40), child]));
    let tenant = store.tenant(SINGLE_TENANT).unwrap();
    let error = store
        .posting_cursor(tenant, Field::Status, "", ValueRef::Str("error"), ALL)
        .unwrap();
    assert_eq!(drain(error), [(40, 5)]);
    let service = store
        .posting_cursor(
            tenant,
            Field::ResourceAttribute,
            "service.name",
            ValueRef::Str("db"),
            ALL,
        )
        .unwrap();
    let intersection = Intersection::new(vec![
        Box::new(name_cursor(&store, "SELECT", ALL)),
        Box::new(service),
    ]);
    assert_eq!(
        intersection.map(|(s, t)| (s, t.0[0])).collect::<Vec<_>>(),
        [(40, 5)]
    );
}

#[test]
fn summaries_merge_over_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut child = span(7, 2, "child", 50);
    child.parent = Some(1);
    child.error = true;
    write(&store, &request("worker", &[child]));
    write(&store, &request("front", &[span(7, 1, "root", 10)]));
    let tenant = store.tenant(SINGLE_TENANT).unwrap();
    let summary = store
        .trace_summary(tenant, &TraceId([7; 16]))
        .unwrap()
        .unwrap();
    assert_eq!((summary.start_unix_nano, summary.end_unix_nano), (10, 60));
    let root = summary.root.as_ref().unwrap();
    assert_eq!(
        (root.service_name.as_str(), root.name.as_str()),
        ("front", "root")
    );
    assert_eq!(
        summary.services["worker"],
        ServiceStats {
            span_count: 1,
            error_count: 1
        }
    );
    assert_eq!(
        summary.services["front"],
        ServiceStats {
            span_count: 1,
            error_count: 0
        }
    );
    assert_eq!(
        store.trace_summary(tenant, &TraceId([8; 16])).unwrap(),
        None
    );
    // Survives a reopen (the merge operator is registered again).
    drop(store);
    let store = open(dir.path());
    let again = store
        .trace_summary(tenant, &TraceId([7; 16]))
        .unwrap()
        .unwrap();
    assert_eq!(again, summary);
}

#[test]
fn tag_keys_and_indexed_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut get = span(1, 1, "GET /a", 10);
    get.method = Some("GET");
    let mut post = span(2, 1, "POST /a", 20);
    post.method = Some("POST");
    let mut get_again = span(3, 1, "GET /b", 30);
    get_again.method = Some("GET");
    write(&store, &request("api", &[get, post, get_again]));
    let tenant = store.tenant(SINGLE_TENANT).unwrap();
    assert_eq!(
        store.tag_keys(tenant, TagScope::Span, 10).unwrap(),
        ["http.method", "user.id"]
    );
    assert_eq!(
        store.tag_keys(tenant, TagScope::Resource, 10).unwrap(),
        ["host.cpu", "service.name"]
    );
    assert_eq!(
        store
            .tag_keys(tenant, TagScope::Instrumentation, 10)
            .unwrap(),
        ["lib.flavour"]
    );
    assert_eq!(
        store.tag_keys(tenant, TagScope::Span, 1).unwrap(),
        ["http.method"]
    );
    let mut methods = store
        .indexed_values(tenant, Field::SpanAttribute, "http.method", 10)
        .unwrap();
    methods.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(
        methods,
        [
            IndexValue::Str("GET".into()),
            IndexValue::Str("POST".into())
        ]
    );
    // user.id is not configured for indexing: no postings, no values.
    assert_eq!(
        store
            .indexed_values(tenant, Field::SpanAttribute, "user.id", 10)
            .unwrap(),
        []
    );
    assert_eq!(
        store
            .indexed_values(tenant, Field::ResourceAttribute, "host.cpu", 10)
            .unwrap(),
        [IndexValue::Int(8)]
    );
    assert_eq!(
        store
            .indexed_values(tenant, Field::Name, "", 2)
            .unwrap()
            .len(),
        2
    );
}

proptest! {
    /// The intersection of posting lists is exactly the set intersection, newest first.
    #[test]
    fn intersection_is_the_set_intersection(
        traces in proptest::collection::btree_map(1u8..60, (0u64..50, any::<bool>(), any::<bool>()), 1..40)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        for (&trace, &(start, named, errored)) in &traces {
            let mut s = span(trace, 1, if named { "wanted" } else { "other" }, start);
            s.error = errored;
            write(&store, &request("svc", &[s]));
        }
        let tenant = store.tenant(SINGLE_TENANT).unwrap();
        let found: Vec<(u64, u8)> = Intersection::new(vec![
            Box::new(name_cursor(&store, "wanted", ALL)),
            Box::new(store.posting_cursor(tenant, Field::Status, "", ValueRef::Str("error"), ALL).unwrap()),
        ])
        .map(|(s, t)| (s, t.0[0]))
        .collect();
        let mut expected: Vec<(u64, u8)> = traces
            .iter()
            .filter(|(_, (_, named, errored))| *named && *errored)
            .map(|(&trace, &(start, _, _))| (start, trace))
            .collect();
        expected.sort();
        expected.reverse();
        prop_assert_eq!(found, expected);
    }
}

#[test]
fn a_union_lists_each_trace_once_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    write(
        &store,
        &request("api", &[span(1, 1, "GET", 100), span(1, 2, "POST", 100)]),
    );
    write(
        &store,
        &request("api", &[span(2, 1, "POST", 200), span(3, 1, "PUT", 300)]),
    );
    let union = Union::new(vec![
        Box::new(name_cursor(&store, "GET", ALL)),
        Box::new(name_cursor(&store, "POST", ALL)),
        Box::new(name_cursor(&store, "DELETE", ALL)),
    ]);
    assert_eq!(drain(union), [(200, 2), (100, 1)]);
}
