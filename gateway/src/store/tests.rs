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

pub(super) fn service(name: &str) -> Resource {
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

pub(super) fn request(resource: Resource, spans: Vec<Span>) -> ExportTraceServiceRequest {
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

pub(super) fn span(trace: u8, id: u8, start: u64) -> Span {
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

/// A marker first seen `offset_millis` after a recent instant (retention hides
/// markers older than its horizon).
fn marker(trace: u8, offset_millis: u64) -> PendingMarker {
    const RECENT_UNIX_MILLIS: u64 = 1_790_000_000_000;
    let base = RECENT_UNIX_MILLIS.max(unix_seconds().saturating_sub(3600) * 1000);
    PendingMarker {
        trace_id: TraceId([trace; 16]),
        first_seen_unix_millis: base - base % 1_000_000 + offset_millis,
    }
}

#[test]
fn pending_markers_are_written_with_the_spans_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
        let written = store
            .write_pending(
                tenant,
                &request(service("svc"), vec![span(2, 1, 100), span(1, 1, 100)]),
                &[marker(2, 7), marker(1, 5)],
                Outgoing::NONE,
            )
            .unwrap();
        assert_eq!(written, 2);
        // Written again, a marker keeps the last value.
        store
            .write_pending(
                tenant,
                &request(service("svc"), vec![]),
                &[marker(1, 6)],
                Outgoing::NONE,
            )
            .unwrap();
    }
    let store = open(dir.path());
    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
    assert_eq!(
        store.pending_markers(tenant).unwrap(),
        [marker(1, 6), marker(2, 7)]
    );
    // Markers are per tenant.
    let other = store.tenant_for_write("other").unwrap();
    assert!(store.pending_markers(other).unwrap().is_empty());
}

#[test]
fn applying_decisions_deletes_rewrites_and_unmarks_in_one_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
    store
        .write_pending(
            tenant,
            &request(
                service("svc"),
                vec![span(1, 1, 100), span(1, 2, 200), span(2, 1, 100)],
            ),
            &[marker(1, 1), marker(2, 1)],
            Outgoing::NONE,
        )
        .unwrap();
    let mut renamed = span(2, 1, 100);
    renamed.name = "rewritten".into();
    store
        .apply_decisions(
            tenant,
            &DecisionWrite {
                rewrite: request(service("svc"), vec![renamed]),
                delete: vec![(TraceId([1; 16]), [1; 8]), (TraceId([1; 16]), [2; 8])],
                decided: vec![TraceId([1; 16]), TraceId([2; 16])],
            },
            Outgoing::NONE,
        )
        .unwrap();
    assert!(
        store
            .read_trace(tenant, &TraceId([1; 16]))
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_trace(SINGLE_TENANT, &TraceId([1; 16]), None)
            .unwrap()
            .is_none()
    );
    let kept = store
        .read_trace(tenant, &TraceId([2; 16]))
        .unwrap()
        .unwrap();
    assert_eq!(kept.resource_spans.len(), 1);
    assert_eq!(
        kept.resource_spans[0].resource,
        Some(service("svc")),
        "resource and scope are read back with the spans"
    );
    assert_eq!(
        kept.resource_spans[0].scope_spans[0].spans[0].name,
        "rewritten"
    );
    assert!(store.pending_markers(tenant).unwrap().is_empty());
}

#[test]
fn read_trace_matches_get_trace() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    write(&store, &request(service("a"), vec![span(3, 2, 200)]));
    write(&store, &request(service("b"), vec![span(3, 1, 100)]));
    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
    let read = store
        .read_trace(tenant, &TraceId([3; 16]))
        .unwrap()
        .unwrap();
    let got = store
        .get_trace(SINGLE_TENANT, &TraceId([3; 16]), None)
        .unwrap()
        .unwrap();
    assert_eq!(read.resource_spans, got.data.resource_spans);
    assert!(
        store
            .read_trace(tenant, &TraceId([4; 16]))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_data_dir_from_before_the_pending_family_opens() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        DB::open_cf(&options, dir.path(), [CF_SPANS, CF_DICTIONARY]).unwrap();
    }
    let store = open(dir.path());
    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
    assert!(store.pending_markers(tenant).unwrap().is_empty());
}

#[test]
fn a_data_dir_with_a_family_this_version_does_not_know_opens() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let db = DB::open_cf(&options, dir.path(), ["spans", "from_another_version"]).unwrap();
        drop(db);
    }
    let store = open(dir.path());
    write(&store, &request(service("api"), vec![span(1, 1, 100)]));
    assert!(
        store
            .get_trace(SINGLE_TENANT, &TraceId([1; 16]), None)
            .unwrap()
            .is_some()
    );
}

/// A data directory written before the indexes existed (simulated by removing every
/// index entry) gets indexed at open, and its traces are found through the indexes.
#[test]
fn spans_stored_without_indexes_are_indexed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        write(
            &store,
            &request(service("api"), vec![span(1, 1, 100), span(2, 1, 200)]),
        );
        write(&store, &request(service("db"), vec![span(1, 2, 150)]));
        for family in [index::CF_POSTINGS, index::CF_WRITES, index::CF_VALUES] {
            store
                .db
                .delete_range_cf(store.cf(family), &[0u8][..], &[0xffu8; 64][..])
                .unwrap();
        }
    }
    let store = open(dir.path());
    let tenant = store.tenant(SINGLE_TENANT).unwrap();
    let api = store
        .resources_with(tenant, "service.name", index::ValueRef::Str("api"), 10)
        .unwrap();
    assert_eq!(api.len(), 1, "the value registry was rebuilt");
    let mut cursor = store.posting_cursor(tenant, index::resource_posting(api[0]), TimeWindow::ALL);
    let mut traces = Vec::new();
    use index::Cursor as _;
    while let Some(write) = cursor.current() {
        let record = store.write_record(tenant, write).unwrap().unwrap();
        traces.extend(record.traces_matching(&[vec![index::resource_posting(api[0])]]));
        cursor.advance();
    }
    traces.sort();
    assert_eq!(traces, [TraceId([1; 16]), TraceId([2; 16])]);
    // Once indexed, opening again does not index again.
    drop(cursor);
    drop(store);
    assert_eq!(open(dir.path()).reindex_if_needed().unwrap(), 0);
}

fn open_with(dir: &Path, edit: impl FnOnce(&mut StorageConfig)) -> TraceStore {
    let mut config = StorageConfig {
        data_dir: dir.to_owned(),
        ..StorageConfig::default()
    };
    edit(&mut config);
    TraceStore::open(&config).unwrap()
}

/// The span ids of a trace, in the order it holds them.
pub(super) fn span_ids(data: &TracesData) -> Vec<Vec<u8>> {
    data.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.span_id.clone())
        .collect()
}

fn stored_span_ids(store: &TraceStore, trace: u8) -> Vec<Vec<u8>> {
    let Some(stored) = store
        .get_trace(SINGLE_TENANT, &TraceId([trace; 16]), None)
        .unwrap()
    else {
        return Vec::new();
    };
    let mut ids = span_ids(&stored.data);
    ids.sort();
    ids
}

fn span_rows(store: &TraceStore) -> usize {
    store
        .db
        .iterator_cf(store.cf(CF_SPANS), rocksdb::IteratorMode::Start)
        .count()
}

/// Retention deletes whole buckets: once a write's bucket is behind the horizon its
/// spans, dictionary entries, index entries and summary are gone, and a newer write of
/// the same trace stays readable.
#[test]
fn retention_deletes_old_buckets_and_their_index_entries() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), |c| {
        c.retention = std::time::Duration::from_secs(2)
    });
    write(
        &store,
        &request(service("old"), vec![span(1, 1, 100), span(2, 1, 100)]),
    );
    let tenant = store.tenant(SINGLE_TENANT).unwrap();
    assert_eq!(store.buckets.of(tenant).len(), 1);
    // Wait (bounded) until the first bucket is behind a 2 s retention, and one bucket
    // width more: an indexed value's put time may lag its last use by a width.
    let first_end = store.buckets.of(tenant)[0].end();
    while unix_seconds() < first_end + 3 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    write(&store, &request(service("new"), vec![span(2, 2, 200)]));
    let swept = store.sweep().unwrap();
    assert_eq!(swept.expired_buckets, 1);
    assert_eq!(stored_span_ids(&store, 1), Vec::<Vec<u8>>::new());
    assert_eq!(stored_span_ids(&store, 2), vec![vec![2; 8]]);
    assert_eq!(
        span_rows(&store),
        1,
        "the old rows are gone from disk, not only hidden"
    );
    let values = store
        .indexed_values(tenant, index::Field::ResourceAttribute, "service.name", 10)
        .unwrap();
    assert_eq!(values, [index::IndexValue::Str("new".into())]);
    assert!(
        store
            .trace_summary(tenant, &TraceId([1; 16]))
            .unwrap()
            .is_none()
    );
    // The compaction after the sweep removed the expired entries themselves.
    let dictionary_rows = store
        .db
        .iterator_cf(store.cf(CF_DICTIONARY), rocksdb::IteratorMode::Start)
        .count();
    assert_eq!(
        dictionary_rows, 2,
        "one resource and one scope of the new write"
    );
    let writes = store
        .db
        .iterator_cf(store.cf(index::CF_WRITES), rocksdb::IteratorMode::Start)
        .count();
    assert_eq!(writes, 1);
    assert_eq!(store.storage_stats().expired_buckets, 1);
}

#[test]
fn a_span_sent_again_in_a_later_bucket_is_read_once_newest_copy() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), |c| {
        c.retention = std::time::Duration::from_secs(32)
    });
    write(&store, &request(service("api"), vec![span(1, 1, 100)]));
    let tenant = store.tenant(SINGLE_TENANT).unwrap();
    let first_end = store.buckets.of(tenant)[0].end();
    while unix_seconds() < first_end {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut again = span(1, 1, 100);
    again.name = "renamed".into();
    write(
        &store,
        &request(service("api"), vec![again, span(1, 2, 150)]),
    );
    assert_eq!(store.buckets.of(tenant).len(), 2);
    let stored = store
        .get_trace(SINGLE_TENANT, &TraceId([1; 16]), None)
        .unwrap()
        .unwrap();
    let names: Vec<&str> = stored.data.resource_spans[0].scope_spans[0]
        .spans
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["renamed", "span-2"]);
}

/// Over `max_disk_bytes`, the oldest bucket goes first (never the newest), a floor
/// keeps its index entries hidden across a restart.
#[test]
fn over_the_disk_cap_the_oldest_bucket_goes_first() {
    let dir = tempfile::tempdir().unwrap();
    let edit = |c: &mut StorageConfig| {
        c.retention = std::time::Duration::from_secs(16);
        c.max_disk_bytes = Some(20 << 20);
        c.compression = Compression::None;
    };
    let store = open_with(dir.path(), edit);
    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
    let big = |trace: u8| {
        let mut spans = Vec::new();
        for id in 1..=200u8 {
            let mut s = span(trace, id, 100);
            s.attributes.push(KeyValue {
                key: "payload".into(),
                key_strindex: 0,
                value: Some(crate::model::AnyValue {
                    value: Some(crate::model::any_value::Value::StringValue(
                        format!("{trace:03}-{id:03}-").repeat(5000),
                    )),
                }),
            });
            spans.push(s);
        }
        request(service("api"), spans)
    };
    // Three buckets of ~8 MB each: over 20 MiB.
    for trace in 1..=3u8 {
        write(&store, &big(trace));
        let end = store.buckets.of(tenant).last().unwrap().end();
        while unix_seconds() < end {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    assert!(store.disk_bytes() > 20 << 20, "{}", store.disk_bytes());
    let swept = store.sweep().unwrap();
    assert!(swept.evicted_buckets >= 1, "{swept:?}");
    assert!(store.disk_bytes() <= 20 << 20, "{}", store.disk_bytes());
    assert!(stored_span_ids(&store, 1).is_empty());
    assert_eq!(
        stored_span_ids(&store, 3).len(),
        200,
        "the newest bucket stays"
    );
    drop(store);
    let store = open_with(dir.path(), edit);
    assert!(stored_span_ids(&store, 1).is_empty());
    assert!(
        store
            .trace_summary(tenant, &TraceId([1; 16]))
            .unwrap()
            .is_none()
    );
    assert_eq!(stored_span_ids(&store, 3).len(), 200);
}

/// A data directory from before ingest-time buckets (`spans` / `dictionary` keyed
/// without a bucket) has its rows moved into a bucket at open; the old families go.
#[test]
fn rows_of_a_data_dir_from_before_buckets_move_into_a_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let (tenant, value, resource, scope) = {
        let store = open(dir.path());
        let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
        let request = request(service("legacy"), vec![span(7, 1, 100)]);
        let resource_spans = &request.resource_spans[0];
        let (resource_hash, resource) = codec::encode_resource_entry(resource_spans);
        let (scope_hash, scope) = codec::encode_scope_entry(&resource_spans.scope_spans[0]);
        let mut value = Vec::new();
        codec::encode_span_value(
            resource_hash,
            scope_hash,
            &resource_spans.scope_spans[0].spans[0],
            &mut value,
        );
        let mut resource_key = tenant.0.to_be_bytes().to_vec();
        resource_key.push(keys::DictionaryKind::Resource as u8);
        resource_key.extend_from_slice(&resource_hash.to_be_bytes());
        let mut scope_key = tenant.0.to_be_bytes().to_vec();
        scope_key.push(keys::DictionaryKind::Scope as u8);
        scope_key.extend_from_slice(&scope_hash.to_be_bytes());
        (tenant, value, (resource_key, resource), (scope_key, scope))
    };
    {
        let mut options = Options::default();
        options.create_missing_column_families(true);
        let families = DB::list_cf(&options, dir.path()).unwrap();
        let mut all: Vec<String> = families;
        all.extend(["spans".to_owned(), "dictionary".to_owned()]);
        let db = DB::open_cf(&options, dir.path(), &all).unwrap();
        let mut span_key = tenant.0.to_be_bytes().to_vec();
        span_key.extend_from_slice(&[7; 16]);
        span_key.extend_from_slice(&[1; 8]);
        db.put_cf(db.cf_handle("spans").unwrap(), span_key, &value)
            .unwrap();
        let dictionary = db.cf_handle("dictionary").unwrap();
        db.put_cf(dictionary, &resource.0, &resource.1).unwrap();
        db.put_cf(dictionary, &scope.0, &scope.1).unwrap();
    }
    let store = open(dir.path());
    assert_eq!(stored_span_ids(&store, 7), vec![vec![1; 8]]);
    assert!(store.db.cf_handle("spans").is_none());
    assert!(store.db.cf_handle("dictionary").is_none());
    drop(store);
    let store = open(dir.path());
    assert_eq!(stored_span_ids(&store, 7), vec![vec![1; 8]]);
}
