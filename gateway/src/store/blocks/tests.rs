//! The switch from hot rows to blocks: every trace reads the same before and after,
//! late spans join their trace, crashes and reopening keep exactly one copy.

use std::sync::Arc;

use super::*;
use crate::model::{
    AnyValue, ExportTraceServiceRequest, KeyValue, SINGLE_TENANT, Span, TraceId, any_value,
};
use crate::store::{StorageConfig, TraceStore};

fn open(dir: &Path) -> TraceStore {
    TraceStore::open(&StorageConfig {
        data_dir: dir.to_owned(),
        ..StorageConfig::default()
    })
    .unwrap()
}

fn request(service_name: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    crate::store::tests::request(crate::store::tests::service(service_name), spans)
}

fn span(trace: u8, id: u8, start: u64) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: if id > 1 { vec![1; 8] } else { Vec::new() },
        name: format!("span-{id}"),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 10,
        attributes: vec![KeyValue {
            key: "n".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::IntValue(i64::from(id))),
            }),
            ..KeyValue::default()
        }],
        ..Default::default()
    }
}

fn write(store: &TraceStore, request: &ExportTraceServiceRequest) {
    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
    store.write(tenant, request).unwrap();
}

fn read(store: &TraceStore, trace: u8) -> Option<crate::store::StoredTrace> {
    store
        .get_trace(SINGLE_TENANT, &TraceId([trace; 16]), None)
        .unwrap()
}

fn tenant(store: &TraceStore) -> crate::store::TenantId {
    store.tenant(SINGLE_TENANT).unwrap()
}

fn hot_span_count(store: &TraceStore) -> usize {
    store
        .db
        .iterator_cf(store.cf(crate::store::CF_SPANS), IteratorMode::Start)
        .count()
}

/// Twenty traces over two services, each sent in two requests (the second much later
/// for even traces).
fn fill(store: &TraceStore) {
    for trace in 1..=20u8 {
        let base = 1_000_000 + u64::from(trace) * 100;
        write(
            store,
            &request("api", vec![span(trace, 1, base), span(trace, 2, base + 1)]),
        );
        write(store, &request("db", vec![span(trace, 3, base + 2)]));
    }
}

#[test]
fn traces_read_the_same_from_a_block() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store);
    let before: Vec<_> = (1..=20).map(|t| read(&store, t)).collect();
    let outcome = store
        .build_block(tenant(&store), u64::MAX)
        .unwrap()
        .unwrap();
    assert_eq!(outcome.meta.span_count, 60);
    assert_eq!(outcome.meta.trace_count, 20);
    assert_eq!(hot_span_count(&store), 0, "moved rows are deleted");
    for (trace, expected) in (1..=20).zip(&before) {
        let got = read(&store, trace);
        assert_eq!(
            got.as_ref().map(|t| &t.data),
            expected.as_ref().map(|t| &t.data),
            "trace {trace}"
        );
    }
    assert!(read(&store, 99).is_none());
    // Nothing left to move.
    assert!(
        store
            .build_block(tenant(&store), u64::MAX)
            .unwrap()
            .is_none()
    );
}

#[test]
fn late_spans_join_their_trace_and_a_second_block() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store);
    store
        .build_block(tenant(&store), u64::MAX)
        .unwrap()
        .unwrap();
    // A late span of trace 5, and a re-sent copy of one of its moved spans.
    write(
        &store,
        &request("late", vec![span(5, 9, 900), span(5, 1, 1_000_500)]),
    );
    let merged = read(&store, 5).unwrap();
    let ids = crate::store::tests::span_ids(&merged.data);
    assert_eq!(ids.len(), 4, "one copy of each span: {ids:?}");
    assert_eq!(ids[0], vec![9; 8], "the late span starts first");
    let services: Vec<_> = merged
        .data
        .resource_spans
        .iter()
        .map(|r| format!("{:?}", r.resource))
        .collect();
    assert_eq!(services.len(), 3);
    // The late part moves to its own block; the trace still reads whole.
    store
        .build_block(tenant(&store), u64::MAX)
        .unwrap()
        .unwrap();
    assert_eq!(hot_span_count(&store), 0);
    assert_eq!(read(&store, 5).unwrap().data, merged.data);
    assert_eq!(store.block_list().len(), 2);
}

#[test]
fn only_writes_before_the_cutoff_move() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    write(&store, &request("api", vec![span(1, 1, 1_000)]));
    write(&store, &request("api", vec![span(2, 1, 5_000)]));
    let outcome = store.build_block(tenant(&store), 2_000).unwrap().unwrap();
    assert_eq!(outcome.meta.trace_count, 1);
    assert_eq!(hot_span_count(&store), 1);
    assert!(read(&store, 1).is_some() && read(&store, 2).is_some());
}

#[test]
fn blocks_survive_reopening_and_unfinished_builds_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let before;
    {
        let store = open(dir.path());
        fill(&store);
        before = read(&store, 7);
        store
            .build_block(tenant(&store), u64::MAX)
            .unwrap()
            .unwrap();
    }
    // A build that crashed after writing its file but before its catalog entry.
    let orphan = files::block_path(dir.path(), crate::store::TenantId(0), 7);
    std::fs::write(&orphan, b"partial").unwrap();
    let temporary = orphan.with_extension("block-tmp");
    std::fs::write(&temporary, b"partial").unwrap();
    let store = open(dir.path());
    assert!(!orphan.exists() && !temporary.exists());
    assert_eq!(store.block_list().len(), 1);
    assert_eq!(read(&store, 7).map(|t| t.data), before.map(|t| t.data));
}

#[test]
fn pending_traces_stay_hot() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let tenant_id = store.tenant_for_write(SINGLE_TENANT).unwrap();
    store
        .write_pending(
            tenant_id,
            &request("api", vec![span(3, 1, 1_000)]),
            &[crate::store::PendingMarker {
                trace_id: TraceId([3; 16]),
                first_seen_unix_millis: 1,
            }],
            crate::store::Outgoing::NONE,
        )
        .unwrap();
    write(&store, &request("api", vec![span(4, 1, 1_000)]));
    let outcome = store.build_block(tenant_id, u64::MAX).unwrap().unwrap();
    assert_eq!(outcome.pending_traces, 1);
    assert_eq!(outcome.meta.trace_count, 1);
    assert_eq!(hot_span_count(&store), 1);
    assert!(read(&store, 3).is_some() && read(&store, 4).is_some());
    // Only the pending trace is left: no (empty) block is built for it.
    assert!(store.build_block(tenant_id, u64::MAX).unwrap().is_none());
    assert_eq!(store.block_list().len(), 1);
    let files = std::fs::read_dir(files::tenant_dir(dir.path(), tenant_id))
        .unwrap()
        .count();
    assert_eq!(files, 1);
}

/// A query that took its block list before the switch keeps reading the hot rows: the
/// switch waits for it, and a query starting meanwhile sees each span once.
#[test]
fn the_switch_waits_for_queries_that_read_the_hot_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()));
    fill(&store);
    let expected = read(&store, 4).unwrap().data;
    let held = store.block_list();
    let builder = {
        let store = store.clone();
        std::thread::spawn(move || store.build_block(tenant(&store), u64::MAX).unwrap())
    };
    // Wait until the block is published (with its shadow) but not yet switched.
    let mut published = false;
    for _ in 0..2000 {
        if store.block_list().len() == 1 {
            published = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(published);
    assert_eq!(
        hot_span_count(&store),
        60,
        "rows stay while an older list is held"
    );
    let during = store
        .tenant_trace(tenant(&store), &TraceId([4; 16]), None)
        .unwrap()
        .unwrap();
    assert_eq!(
        during.data, expected,
        "hot rows and block together read once"
    );
    assert_eq!(
        store
            .trace_with_blocks(&held, tenant(&store), &TraceId([4; 16]), None)
            .unwrap()
            .unwrap()
            .data,
        expected
    );
    drop(held);
    builder.join().unwrap().unwrap();
    assert_eq!(hot_span_count(&store), 0);
    assert_eq!(read(&store, 4).unwrap().data, expected);
}

/// Retention deletes a block whole once its build time and its latest span end are
/// behind the horizon: unlisted, uncatalogued (also after a reopen) and its file gone.
#[test]
fn blocks_behind_the_horizon_are_deleted_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store);
    let outcome = store
        .build_block(tenant(&store), u64::MAX)
        .unwrap()
        .unwrap();
    let path = files::block_path(dir.path(), tenant(&store), outcome.meta.id);
    assert!(path.is_file());
    let built_second = outcome.meta.id / 1_000_000_000;
    // A horizon at the build second keeps it (its build is not behind it).
    assert_eq!(
        store.expire_blocks(tenant(&store), built_second).unwrap(),
        0
    );
    assert!(read(&store, 1).is_some());
    let held = store.block_list();
    assert_eq!(
        store
            .expire_blocks(tenant(&store), built_second + 1)
            .unwrap(),
        1
    );
    assert!(store.block_list().is_empty());
    assert!(!path.exists(), "the block file is deleted");
    assert!(read(&store, 1).is_none());
    // A query that took the list before still reads through its open block.
    let tenant_id = tenant(&store);
    let trace = crate::model::TraceId([1; 16]);
    assert!(
        store
            .trace_with_blocks(&held, tenant_id, &trace, None)
            .unwrap()
            .is_some()
    );
    drop(held);
    drop(store);
    let store = open(dir.path());
    assert!(store.block_list().is_empty(), "the catalog entry is gone");
    assert!(read(&store, 1).is_none());
}
