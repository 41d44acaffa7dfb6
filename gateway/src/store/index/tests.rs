//! The indexes through a real store: what a write adds, and reading it back.

use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::model::{
    AnyValue, ExportTraceServiceRequest, InstrumentationScope, KeyValue, Resource, ResourceSpans,
    SINGLE_TENANT, ScopeSpans, Span, Status, TagScope, TraceId, any_value,
};
use crate::store::StorageConfig;
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

const ALL: TimeWindow = TimeWindow::ALL;

fn drain(mut cursor: impl Cursor) -> Vec<WriteRef> {
    let mut out = Vec::new();
    while let Some(entry) = cursor.current() {
        out.push(entry);
        cursor.advance();
    }
    cursor.status().unwrap();
    out
}

fn name_id(name: &str) -> u64 {
    posting_id(Field::Name, "", ValueRef::Str(name))
}

fn error_id() -> u64 {
    posting_id(Field::Status, "", ValueRef::Str("error"))
}

/// The traces (first id byte) of the writes a cursor lists that hold every set.
fn traces_of(store: &TraceStore, writes: &[WriteRef], conditions: &[Vec<u64>]) -> Vec<u8> {
    let tenant = store.tenant(SINGLE_TENANT).unwrap();
    let mut traces: Vec<u8> = writes
        .iter()
        .flat_map(|write| {
            store
                .write_record(tenant, *write)
                .unwrap()
                .unwrap()
                .traces_matching(conditions)
        })
        .map(|trace| trace.0[0])
        .collect();
    traces.sort_unstable();
    traces
}

#[test]
fn a_write_lists_its_traces_and_what_each_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut failed = span(1, 1, "GET", 100);
    failed.error = true;
    write(
        &store,
        &request(
            "api",
            &[failed, span(2, 1, "GET", 110), span(3, 1, "POST", 120)],
        ),
    );
    let tenant = store.tenant(SINGLE_TENANT).unwrap();
    let gets = drain(store.posting_cursor(tenant, name_id("GET"), ALL));
    assert_eq!(gets.len(), 1, "one posting per value per write");
    assert_eq!(gets[0].0, 120, "keyed by the write's newest span start");
    assert_eq!(traces_of(&store, &gets, &[vec![name_id("GET")]]), [1, 2]);
    assert_eq!(
        traces_of(&store, &gets, &[vec![name_id("GET")], vec![error_id()]]),
        [1]
    );
    assert_eq!(
        traces_of(&store, &gets, &[vec![name_id("PUT"), name_id("POST")]]),
        [3]
    );
    assert!(drain(store.posting_cursor(tenant, name_id("PUT"), ALL)).is_empty());
}

#[test]
fn writes_are_listed_newest_first_within_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for (trace, start) in [(1, 100), (2, 300), (3, 200)] {
        write(&store, &request("api", &[span(trace, 1, "GET", start)]));
    }
    let tenant = store.tenant(SINGLE_TENANT).unwrap();
    let newest = |cursor: PostingCursor<'_>| drain(cursor).iter().map(|w| w.0).collect::<Vec<_>>();
    assert_eq!(
        newest(store.posting_cursor(tenant, name_id("GET"), ALL)),
        [300, 200, 100]
    );
    assert_eq!(newest(store.write_cursor(tenant, ALL)), [300, 200, 100]);
    let recent = TimeWindow {
        start_unix_nano: 150,
        end_unix_nano: u64::MAX,
    };
    assert_eq!(newest(store.write_cursor(tenant, recent)), [300, 200]);
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
            error_count: 1,
            max_span_nanos: 10,
        }
    );
    assert_eq!(
        summary.services["front"],
        ServiceStats {
            span_count: 1,
            error_count: 0,
            max_span_nanos: 10,
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
fn tag_keys_values_and_resources() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut get = span(1, 1, "GET /a", 10);
    get.method = Some("GET");
    let mut post = span(2, 1, "POST /a", 20);
    post.method = Some("POST");
    write(&store, &request("api", &[get, post]));
    let mut get_again = span(3, 1, "GET /b", 30);
    get_again.method = Some("GET");
    write(&store, &request("db", &[get_again]));
    // Written again: the registry entries are not put twice (nothing to see but no harm).
    write(&store, &request("db", &[span(4, 1, "GET /b", 40)]));
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
    let methods = store
        .indexed_values(tenant, Field::SpanAttribute, "http.method", 10)
        .unwrap();
    assert_eq!(
        methods,
        [
            IndexValue::Str("GET".into()),
            IndexValue::Str("POST".into())
        ]
    );
    // user.id is not configured for indexing: no values.
    assert!(
        store
            .indexed_values(tenant, Field::SpanAttribute, "user.id", 10)
            .unwrap()
            .is_empty()
    );
    let mut services = store
        .indexed_values(tenant, Field::ResourceAttribute, "service.name", 10)
        .unwrap();
    services.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(
        services,
        [IndexValue::Str("api".into()), IndexValue::Str("db".into())]
    );
    assert_eq!(
        store
            .indexed_values(tenant, Field::ResourceAttribute, "host.cpu", 10)
            .unwrap(),
        [IndexValue::Int(8)]
    );
    let api = store
        .resources_with(tenant, "service.name", ValueRef::Str("api"), 10)
        .unwrap();
    assert_eq!(api.len(), 1);
    let api_writes = drain(store.posting_cursor(tenant, resource_posting(api[0]), ALL));
    assert_eq!(
        traces_of(&store, &api_writes, &[vec![resource_posting(api[0])]]),
        [1, 2]
    );
    assert!(
        store
            .resources_with(tenant, "service.name", ValueRef::Str("web"), 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_union_lists_each_write_once_newest_first() {
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
    let tenant = store.tenant(SINGLE_TENANT).unwrap();
    let union = Union::new(vec![
        Box::new(store.posting_cursor(tenant, name_id("GET"), ALL)),
        Box::new(store.posting_cursor(tenant, name_id("POST"), ALL)),
        Box::new(store.posting_cursor(tenant, name_id("DELETE"), ALL)),
    ]);
    assert_eq!(
        drain(union).iter().map(|w| w.0).collect::<Vec<_>>(),
        [300, 100]
    );
}

proptest! {
    /// Intersecting posting lists and filtering each write's traces gives exactly the
    /// traces with a span holding both values.
    #[test]
    fn intersection_finds_exactly_the_matching_traces(
        writes in proptest::collection::vec(
            proptest::collection::btree_map(1u8..60, (0u64..50, any::<bool>(), any::<bool>()), 1..5),
            1..8,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let mut expected = std::collections::BTreeSet::new();
        for (index, traces) in writes.iter().enumerate() {
            let spans: Vec<TestSpan> = traces
                .iter()
                .map(|(&trace, &(start, named, errored))| {
                    if named && errored {
                        expected.insert(trace);
                    }
                    let mut s = span(trace, index as u8 + 1, if named { "wanted" } else { "other" }, start);
                    s.error = errored;
                    s
                })
                .collect();
            write(&store, &request("svc", &spans));
        }
        let tenant = store.tenant(SINGLE_TENANT).unwrap();
        let conditions = [vec![name_id("wanted")], vec![error_id()]];
        let hits: Vec<WriteRef> = Intersection::new(vec![
            Box::new(store.posting_cursor(tenant, conditions[0][0], ALL)),
            Box::new(store.posting_cursor(tenant, conditions[1][0], ALL)),
        ])
        .collect();
        let mut found = traces_of(&store, &hits, &conditions);
        found.dedup();
        prop_assert_eq!(found, expected.into_iter().collect::<Vec<_>>());
        prop_assert!(hits.windows(2).all(|pair| pair[0] > pair[1]), "newest first");
    }
}
