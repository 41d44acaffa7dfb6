use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;

use super::buffer::POLICY_ATTRIBUTE;
use super::*;
use crate::model::{
    AnyValue, KeyValue, Resource, ResourceSpans, SINGLE_TENANT, ScopeSpans, Span, any_value,
};
use crate::store::StorageConfig;

const WAIT: Duration = Duration::from_secs(10);

/// Drops traces whose first id byte is odd, keeps the others with policy "errors";
/// records what it was asked.
#[derive(Default)]
struct FakeDecider {
    asked: Mutex<Vec<Vec<[u8; 16]>>>,
    /// Run inside `decide`, to act while traces are being decided.
    during_decide: OnceLock<Box<dyn Fn() + Send + Sync>>,
    panics: bool,
}

fn verdict_for(trace_id: &[u8; 16]) -> TailVerdict {
    if trace_id[0] % 2 == 1 {
        TailVerdict::Drop
    } else {
        TailVerdict::Keep {
            policy: "errors".into(),
        }
    }
}

impl TailDecider for FakeDecider {
    fn name(&self) -> &str {
        "fake"
    }

    fn decide(&self, traces: &ExportTraceServiceRequest) -> Vec<([u8; 16], TailVerdict)> {
        if let Some(hook) = self.during_decide.get() {
            hook();
        }
        assert!(!self.panics, "fake decider panics on request");
        let mut ids: Vec<[u8; 16]> = Vec::new();
        for span in traces
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
        {
            let id: [u8; 16] = span.trace_id.as_slice().try_into().unwrap();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        self.asked.lock().unwrap().push(ids.clone());
        ids.into_iter().map(|id| (id, verdict_for(&id))).collect()
    }
}

fn settings() -> TailSettings {
    TailSettings {
        decision_wait: WAIT,
        max_traces: 100,
        max_spans_per_trace: 100,
    }
}

const DECISION_CACHE_SIZE: usize = 100;

fn open_store(dir: &Path) -> Arc<TraceStore> {
    Arc::new(
        TraceStore::open(&StorageConfig {
            data_dir: dir.to_owned(),
            ..StorageConfig::default()
        })
        .unwrap(),
    )
}

fn sampler_with(
    store: &Arc<TraceStore>,
    decider: Arc<FakeDecider>,
    settings: TailSettings,
) -> TailSampler {
    sampler_with_cache(store, decider, settings, DECISION_CACHE_SIZE)
}

fn sampler_with_cache(
    store: &Arc<TraceStore>,
    decider: Arc<FakeDecider>,
    settings: TailSettings,
    decision_cache_size: usize,
) -> TailSampler {
    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
    TailSampler::new(
        store.clone(),
        (tenant, SINGLE_TENANT.to_owned()),
        Arc::new(crate::forward::Forwarder::none()),
        decider,
        settings,
        decision_cache_size,
    )
}

fn span(trace: u8, id: u8) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        name: format!("span-{id}"),
        start_time_unix_nano: u64::from(id),
        ..Default::default()
    }
}

fn request_from(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    key_strindex: 0,
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(service.into())),
                    }),
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
}

/// Admits and writes spans as ingest does; returns what was admitted.
fn ingest(sampler: &TailSampler, spans: Vec<Span>) -> Admitted {
    let mut request = request_from("svc", spans);
    let admitted = sampler.admit(&mut request);
    sampler.write(&request, &admitted, Outgoing::NONE).unwrap();
    admitted
}

/// Stored spans of a trace: span id → `sampling.policy` attribute, if any.
fn stored(store: &TraceStore, trace: u8) -> BTreeMap<u8, Option<String>> {
    let Some(trace) = store
        .get_trace(SINGLE_TENANT, &TraceId([trace; 16]), None)
        .unwrap()
    else {
        return BTreeMap::new();
    };
    trace
        .data
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|span| {
            let policy = span
                .attributes
                .iter()
                .find(|attribute| attribute.key == POLICY_ATTRIBUTE)
                .and_then(
                    |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                        any_value::Value::StringValue(policy) => Some(policy.clone()),
                        _ => None,
                    },
                );
            (span.span_id[0], policy)
        })
        .collect()
}

fn markers(store: &TraceStore) -> Vec<u8> {
    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
    store
        .pending_markers(tenant)
        .unwrap()
        .iter()
        .map(|marker| marker.trace_id.0[0])
        .collect()
}

fn policy(name: &str) -> Option<String> {
    Some(name.to_owned())
}

#[test]
fn traces_are_decided_only_after_decision_wait_and_readable_before() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let decider = Arc::new(FakeDecider::default());
    let sampler = sampler_with(&store, decider.clone(), settings());
    let before = Instant::now();
    let admitted = ingest(&sampler, vec![span(2, 1), span(2, 2)]);
    assert_eq!(admitted.pending.len(), 1);
    assert_eq!(admitted.pending[0].spans, 2);
    // Pending spans are stored (and queryable) with a marker.
    assert_eq!(stored(&store, 2).len(), 2);
    assert_eq!(markers(&store), [2]);

    let not_yet = sampler
        .decide_due(before + WAIT - Duration::from_millis(1), false)
        .unwrap();
    assert_eq!(not_yet, DecideReport::default());
    assert!(decider.asked.lock().unwrap().is_empty());
    assert_eq!(sampler.stats().pending_traces, 1);
    assert_eq!(sampler.stats().pending_spans, 2);

    let due = sampler.decide_due(Instant::now() + WAIT, false).unwrap();
    assert_eq!(due.traces_kept, 1);
    assert_eq!(due.decided_early, 0);
    assert_eq!(decider.asked.lock().unwrap().as_slice(), [vec![[2; 16]]]);
    assert_eq!(sampler.stats().pending_traces, 0);
}

#[test]
fn drop_deletes_every_span_of_the_trace_and_its_marker() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let sampler = sampler_with(&store, Arc::new(FakeDecider::default()), settings());
    ingest(&sampler, vec![span(1, 1), span(2, 1)]);
    // The same trace from another service, in another request.
    let mut other = request_from("other", vec![span(1, 2), span(1, 3)]);
    let admitted = sampler.admit(&mut other);
    sampler.write(&other, &admitted, Outgoing::NONE).unwrap();
    assert_eq!(stored(&store, 1).len(), 3);

    let report = sampler.decide_due(Instant::now() + WAIT, false).unwrap();
    assert_eq!((report.traces_dropped, report.traces_kept), (1, 1));
    assert!(
        store
            .get_trace(SINGLE_TENANT, &TraceId([1; 16]), None)
            .unwrap()
            .is_none()
    );
    assert!(markers(&store).is_empty());
    let stats = sampler.stats();
    assert_eq!(stats.spans_deleted, 3);
    assert_eq!((stats.traces_dropped, stats.traces_kept), (1, 1));
}

#[test]
fn keep_records_the_policy_and_removes_the_marker() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let sampler = sampler_with(&store, Arc::new(FakeDecider::default()), settings());
    ingest(&sampler, vec![span(4, 1), span(4, 2)]);
    assert_eq!(stored(&store, 4), BTreeMap::from([(1, None), (2, None)]));
    sampler.decide_due(Instant::now() + WAIT, false).unwrap();
    assert_eq!(
        stored(&store, 4),
        BTreeMap::from([(1, policy("errors")), (2, policy("errors"))])
    );
    assert!(markers(&store).is_empty());
}

#[test]
fn late_spans_follow_the_cached_decision() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let sampler = sampler_with(&store, Arc::new(FakeDecider::default()), settings());
    ingest(&sampler, vec![span(1, 1), span(2, 1)]);
    sampler.decide_due(Instant::now() + WAIT, false).unwrap();

    let mut late = request_from("svc", vec![span(1, 2), span(2, 2), span(1, 3)]);
    let admitted = sampler.admit(&mut late);
    assert!(admitted.pending.is_empty());
    assert_eq!(
        (admitted.late_spans_kept, admitted.late_spans_dropped),
        (1, 2)
    );
    // Dropped spans leave the request; kept ones carry the policy.
    let spans = &late.resource_spans[0].scope_spans[0].spans;
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].attributes[0].key, POLICY_ATTRIBUTE);
    sampler.write(&late, &admitted, Outgoing::NONE).unwrap();

    assert!(stored(&store, 1).is_empty());
    assert_eq!(
        stored(&store, 2),
        BTreeMap::from([(1, policy("errors")), (2, policy("errors"))])
    );
    assert!(markers(&store).is_empty());
    let stats = sampler.stats();
    assert_eq!((stats.late_spans_kept, stats.late_spans_dropped), (1, 2));
    assert_eq!(stats.pending_traces, 0);

    // A request holding only dropped spans writes nothing.
    let mut only_dropped = request_from("svc", vec![span(1, 4)]);
    let admitted = sampler.admit(&mut only_dropped);
    assert!(only_dropped.resource_spans.is_empty());
    assert_eq!(
        sampler
            .write(&only_dropped, &admitted, Outgoing::NONE)
            .unwrap(),
        0
    );
}

#[test]
fn a_forgotten_decision_makes_the_trace_pending_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let sampler = sampler_with_cache(&store, Arc::new(FakeDecider::default()), settings(), 1);
    ingest(&sampler, vec![span(1, 1)]);
    sampler.decide_due(Instant::now() + WAIT, false).unwrap();
    ingest(&sampler, vec![span(3, 1)]);
    sampler.decide_due(Instant::now() + WAIT, false).unwrap();
    // Trace 1's decision was evicted by trace 3's.
    let admitted = ingest(&sampler, vec![span(1, 2)]);
    assert_eq!(admitted.pending.len(), 1);
    assert_eq!(markers(&store), [1]);
    sampler.decide_due(Instant::now() + WAIT, false).unwrap();
    assert!(stored(&store, 1).is_empty());
}

#[test]
fn max_traces_forces_the_oldest_to_be_decided_early() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let decider = Arc::new(FakeDecider::default());
    let settings = TailSettings {
        max_traces: 2,
        ..settings()
    };
    let sampler = sampler_with(&store, decider.clone(), settings);
    ingest(&sampler, vec![span(2, 1)]);
    ingest(&sampler, vec![span(4, 1)]);
    assert_eq!(
        sampler.decide_due(Instant::now(), false).unwrap(),
        DecideReport::default()
    );
    ingest(&sampler, vec![span(6, 1)]);
    let report = sampler.decide_due(Instant::now(), false).unwrap();
    assert_eq!((report.traces_kept, report.decided_early), (1, 1));
    assert_eq!(decider.asked.lock().unwrap().as_slice(), [vec![[2; 16]]]);
    assert_eq!(markers(&store), [4, 6]);
    assert_eq!(sampler.stats().decided_early, 1);
}

#[test]
fn max_spans_per_trace_forces_an_early_decision_and_later_spans_follow_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let settings = TailSettings {
        max_spans_per_trace: 3,
        ..settings()
    };
    let sampler = sampler_with(&store, Arc::new(FakeDecider::default()), settings);
    ingest(&sampler, vec![span(3, 1), span(3, 2)]);
    assert_eq!(
        sampler.decide_due(Instant::now(), false).unwrap(),
        DecideReport::default()
    );
    ingest(&sampler, vec![span(3, 3)]);
    let report = sampler.decide_due(Instant::now(), false).unwrap();
    assert_eq!((report.traces_dropped, report.decided_early), (1, 1));
    assert!(stored(&store, 3).is_empty());
    let admitted = ingest(&sampler, vec![span(3, 4)]);
    assert_eq!(admitted.late_spans_dropped, 1);
    assert!(stored(&store, 3).is_empty());
}

#[test]
fn a_decision_between_admit_and_write_applies_to_the_just_written_spans() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let sampler = sampler_with(&store, Arc::new(FakeDecider::default()), settings());
    ingest(&sampler, vec![span(1, 1), span(2, 1)]);
    let mut racing = request_from("svc", vec![span(1, 2), span(2, 2)]);
    let admitted = sampler.admit(&mut racing);
    assert_eq!(admitted.pending.len(), 2, "not decided yet at admission");
    sampler.decide_due(Instant::now() + WAIT, true).unwrap();
    sampler.write(&racing, &admitted, Outgoing::NONE).unwrap();

    assert!(
        stored(&store, 1).is_empty(),
        "a dropped trace leaks no span"
    );
    assert_eq!(
        stored(&store, 2),
        BTreeMap::from([(1, policy("errors")), (2, policy("errors"))])
    );
    assert!(markers(&store).is_empty());
    let stats = sampler.stats();
    assert_eq!((stats.late_spans_kept, stats.late_spans_dropped), (1, 1));
    assert_eq!(stats.pending_traces, 0);
}

#[test]
fn spans_stored_while_their_trace_is_being_decided_follow_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let decider = Arc::new(FakeDecider::default());
    let sampler = Arc::new(sampler_with(&store, decider.clone(), settings()));
    let weak = Arc::downgrade(&sampler);
    let _ = decider.during_decide.set(Box::new(move || {
        if let Some(sampler) = weak.upgrade() {
            ingest(&sampler, vec![span(1, 9), span(2, 9)]);
        }
    }));
    ingest(&sampler, vec![span(1, 1), span(2, 1)]);
    sampler.decide_due(Instant::now() + WAIT, false).unwrap();
    assert!(stored(&store, 1).is_empty());
    assert_eq!(
        stored(&store, 2),
        BTreeMap::from([(1, policy("errors")), (9, policy("errors"))])
    );
    assert!(markers(&store).is_empty());
    assert_eq!(sampler.stats().pending_traces, 0);
}

#[test]
fn pending_traces_survive_a_crash_and_are_decided_after_recovery() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open_store(dir.path());
        let sampler = sampler_with(&store, Arc::new(FakeDecider::default()), settings());
        ingest(&sampler, vec![span(1, 1), span(2, 1)]);
        ingest(&sampler, vec![span(1, 2)]);
        // A crash: neither decided nor shut down; everything in memory is lost.
    }
    let store = open_store(dir.path());
    let decider = Arc::new(FakeDecider::default());
    let sampler = sampler_with(&store, decider.clone(), settings());
    assert_eq!(sampler.recover().unwrap(), 2);
    assert_eq!(sampler.stats().pending_spans, 3);
    assert_eq!(stored(&store, 1).len(), 2);
    // Still waits out the rest of decision_wait.
    assert_eq!(
        sampler.decide_due(Instant::now(), false).unwrap(),
        DecideReport::default()
    );
    let report = sampler.decide_due(Instant::now() + WAIT, false).unwrap();
    assert_eq!((report.traces_kept, report.traces_dropped), (1, 1));
    assert!(stored(&store, 1).is_empty());
    assert_eq!(stored(&store, 2), BTreeMap::from([(1, policy("errors"))]));
    assert!(markers(&store).is_empty());
}

/// Long overdue for a decision, well within retention (older markers are expired).
fn an_hour_ago_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        - 3_600_000
}

#[test]
fn overdue_traces_are_decided_at_the_first_round_after_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
    store
        .write_pending(
            tenant,
            &request_from("svc", vec![span(1, 1)]),
            &[PendingMarker {
                trace_id: TraceId([1; 16]),
                first_seen_unix_millis: an_hour_ago_millis(),
            }],
            Outgoing::NONE,
        )
        .unwrap();
    let sampler = sampler_with(&store, Arc::new(FakeDecider::default()), settings());
    assert_eq!(sampler.recover().unwrap(), 1);
    let report = sampler.decide_due(Instant::now(), false).unwrap();
    assert_eq!((report.traces_dropped, report.decided_early), (1, 0));
    assert!(stored(&store, 1).is_empty());
    assert!(markers(&store).is_empty());
}

#[test]
fn a_marker_without_spans_is_removed_at_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
    store
        .write_pending(
            tenant,
            &ExportTraceServiceRequest::default(),
            &[PendingMarker {
                trace_id: TraceId([5; 16]),
                first_seen_unix_millis: an_hour_ago_millis(),
            }],
            Outgoing::NONE,
        )
        .unwrap();
    let sampler = sampler_with(&store, Arc::new(FakeDecider::default()), settings());
    assert_eq!(sampler.recover().unwrap(), 0);
    assert!(markers(&store).is_empty());
}

#[test]
fn a_panicking_decider_keeps_the_traces() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let decider = Arc::new(FakeDecider {
        panics: true,
        ..FakeDecider::default()
    });
    let sampler = sampler_with(&store, decider, settings());
    ingest(&sampler, vec![span(1, 1)]);
    let report = sampler.decide_due(Instant::now() + WAIT, false).unwrap();
    assert_eq!(report.traces_kept, 1);
    // Kept without a policy: the stored spans stay as they were.
    assert_eq!(stored(&store, 1), BTreeMap::from([(1, None)]));
    assert!(markers(&store).is_empty());
}

#[tokio::test]
async fn the_loop_decides_due_traces_and_leaves_the_rest_pending_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let settings = TailSettings {
        decision_wait: Duration::from_millis(20),
        max_spans_per_trace: 2,
        ..settings()
    };
    let sampler = Arc::new(sampler_with(
        &store,
        Arc::new(FakeDecider::default()),
        settings,
    ));
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(sampler.clone().run(shutdown.clone()));
    ingest(&sampler, vec![span(1, 1)]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while sampler.stats().traces_dropped == 0 {
        assert!(Instant::now() < deadline, "the loop decided nothing");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(stored(&store, 1).is_empty());
    shutdown.cancel();
    running.await.unwrap();
    // After shutdown a trace stays pending in the store.
    ingest(&sampler, vec![span(3, 1)]);
    assert_eq!(markers(&store), [3]);
}

#[derive(Debug, Clone)]
enum Op {
    /// Admit and write spans of one trace.
    Write { trace: u8, spans: Vec<u8> },
    /// Admit, then a round deciding everything, then the write (the race).
    RacingWrite { trace: u8, spans: Vec<u8> },
    /// One round, at now or after decision_wait.
    Decide { after_wait: bool },
    /// Stop without deciding, reopen, recover.
    Restart,
    /// A crash right after the store write committed (never buffered), then reopen.
    CrashAfterCommit { trace: u8, spans: Vec<u8> },
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let spans = || proptest::collection::vec(1u8..6, 1..4);
    prop_oneof![
        4 => (1u8..5, spans()).prop_map(|(trace, spans)| Op::Write { trace, spans }),
        1 => (1u8..5, spans()).prop_map(|(trace, spans)| Op::RacingWrite { trace, spans }),
        3 => any::<bool>().prop_map(|after_wait| Op::Decide { after_wait }),
        1 => Just(Op::Restart),
        1 => (1u8..5, spans()).prop_map(|(trace, spans)| Op::CrashAfterCommit { trace, spans }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random interleavings of writes, decisions, races and restarts (clean or right
    /// after a commit). Invariants: every acknowledged span of a kept trace is always
    /// stored; once everything is decided, no span of a dropped trace and no marker is
    /// left, and every kept span carries its policy.
    #[test]
    fn no_acknowledged_span_is_lost(
        ops in proptest::collection::vec(op_strategy(), 1..24),
        max_traces in 1usize..4,
        max_spans_per_trace in 1usize..5,
        decision_cache_size in 0usize..3,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let settings = TailSettings { decision_wait: WAIT, max_traces, max_spans_per_trace };
        let start = |recover: bool| {
            let store = open_store(dir.path());
            let sampler = sampler_with_cache(&store, Arc::new(FakeDecider::default()), settings, decision_cache_size);
            if recover {
                sampler.recover().unwrap();
            }
            (store, sampler)
        };
        let (mut store, mut sampler) = start(false);
        let mut acknowledged: BTreeSet<(u8, u8)> = BTreeSet::new();
        for op in ops {
            match op {
                Op::Write { trace, spans } => {
                    ingest(&sampler, spans.iter().map(|id| span(trace, *id)).collect());
                    acknowledged.extend(spans.iter().map(|id| (trace, *id)));
                }
                Op::RacingWrite { trace, spans } => {
                    let mut request = request_from("svc", spans.iter().map(|id| span(trace, *id)).collect());
                    let admitted = sampler.admit(&mut request);
                    sampler.decide_due(Instant::now() + WAIT, true).unwrap();
                    sampler.write(&request, &admitted, Outgoing::NONE).unwrap();
                    acknowledged.extend(spans.iter().map(|id| (trace, *id)));
                }
                Op::Decide { after_wait } => {
                    let now = if after_wait { Instant::now() + WAIT } else { Instant::now() };
                    sampler.decide_due(now, false).unwrap();
                }
                Op::Restart => {
                    drop((sampler, store));
                    (store, sampler) = start(true);
                }
                Op::CrashAfterCommit { trace, spans } => {
                    let mut request = request_from("svc", spans.iter().map(|id| span(trace, *id)).collect());
                    let admitted = sampler.admit(&mut request);
                    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
                    store
                        .write_pending(tenant, &request, &admitted.markers(), Outgoing::NONE)
                        .unwrap();
                    acknowledged.extend(spans.iter().map(|id| (trace, *id)));
                    drop((sampler, store));
                    (store, sampler) = start(true);
                }
            }
            for trace in (1u8..5).filter(|trace| trace % 2 == 0) {
                let present = stored(&store, trace);
                for (_, id) in acknowledged.iter().filter(|(t, _)| *t == trace) {
                    prop_assert!(present.contains_key(id), "kept span {trace}/{id} missing");
                }
            }
        }
        sampler.decide_due(Instant::now() + WAIT, true).unwrap();
        prop_assert!(markers(&store).is_empty());
        prop_assert_eq!(sampler.stats().pending_traces, 0);
        for trace in 1u8..5 {
            let present = stored(&store, trace);
            if trace % 2 == 1 {
                prop_assert!(present.is_empty(), "dropped trace {} has spans {:?}", trace, present);
            } else {
                let expected: BTreeMap<u8, Option<String>> = acknowledged
                    .iter()
                    .filter(|(t, _)| *t == trace)
                    .map(|(_, id)| (*id, policy("errors")))
                    .collect();
                prop_assert_eq!(present, expected);
            }
        }
    }
}
