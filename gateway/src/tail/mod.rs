//! Tail sampling on the host side: holds traces until a sampler decides on them, without
//! ever keeping an acknowledged span only in memory.
//!
//! How a trace flows:
//! 1. `admit` (before the store write): spans of decided traces follow the decision
//!    (dropped, or kept with `sampling.policy`); the other traces are pending.
//! 2. The store write puts the spans and, in the same `WriteBatch`, a marker per pending
//!    trace (`store/pending.rs`); the request is acknowledged after it. Then `buffered`
//!    copies the pending spans into memory (`buffer.rs`).
//! 3. `decide_due` (each round of `run`) takes traces first seen `decision_wait` ago, or
//!    forced early by a bound, asks the `TailDecider` about them as whole traces, and
//!    applies each verdict in one `WriteBatch` with the marker's removal: Drop deletes
//!    the trace's spans, Keep rewrites them with the policy (`decisions.rs`). The
//!    decision is then remembered (`cache.rs`) for spans that arrive later.
//! 4. After a crash, `recover` reloads every marked trace from the store. The worst a
//!    crash does is delay a decision.
//!
//! Pending spans are in the store, so the query API returns them before the decision.

mod buffer;
mod cache;
mod decisions;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::forward::Forwarder;
use crate::model::{ExportTraceServiceRequest, TailSettings, TailVerdict, TraceId, retain_spans};
use crate::store::{DecisionWrite, Outgoing, PendingMarker, StoreError, TenantId, TraceStore};
use buffer::{BufferedSpan, PendingBuffer, TakenTrace};
use cache::DecisionCache;
use decisions::{SettlementWork, Settlements};

/// Traces per call to the decider, so one round does not build one huge batch.
const MAX_TRACES_PER_DECISION: usize = 1024;
/// The loop's longest pause between rounds.
const MAX_TICK: Duration = Duration::from_millis(100);

/// A tail sampler, as the plugin host exposes it.
pub(crate) trait TailDecider: Send + Sync {
    /// Plugin name, for logs and metrics.
    fn name(&self) -> &str;
    /// One verdict per distinct trace id of `traces` (whole traces), in order of first
    /// appearance. Never fails: the implementation applies its on-error policy. Called
    /// from a blocking thread, one call at a time.
    fn decide(&self, traces: &ExportTraceServiceRequest) -> Vec<([u8; 16], TailVerdict)>;
}

/// Decisions remembered for late spans by default; a span of a forgotten trace starts
/// its trace anew.
pub(crate) const DEFAULT_DECISION_CACHE_SIZE: usize = 100_000;

/// Counters, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TailStats {
    pub pending_traces: usize,
    pub pending_spans: usize,
    pub traces_kept: u64,
    pub traces_dropped: u64,
    /// Spans of dropped traces deleted from the store.
    pub spans_deleted: u64,
    /// Spans that arrived after their trace's decision, and followed it.
    pub late_spans_kept: u64,
    pub late_spans_dropped: u64,
    /// Traces decided before `decision_wait` because a bound was reached.
    pub decided_early: u64,
}

/// A pending trace of an admitted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AdmittedTrace {
    pub trace_id: TraceId,
    pub first_seen_unix_millis: u64,
    pub spans: usize,
}

/// What `admit` found; passed to the store write and to `buffered`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Admitted {
    /// Undecided traces of the request, whose markers go into the same write.
    pub pending: Vec<AdmittedTrace>,
    /// Spans of kept traces, left in the request (with the policy recorded).
    pub late_spans_kept: usize,
    /// Spans of dropped traces, removed from the request: acknowledged, not stored.
    pub late_spans_dropped: usize,
}

impl Admitted {
    pub(crate) fn markers(&self) -> Vec<PendingMarker> {
        self.pending
            .iter()
            .map(|trace| PendingMarker {
                trace_id: trace.trace_id,
                first_seen_unix_millis: trace.first_seen_unix_millis,
            })
            .collect()
    }
}

/// What one round decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DecideReport {
    pub traces_kept: usize,
    pub traces_dropped: usize,
    pub decided_early: usize,
}

/// A trace handed to the decider, whose verdict is not back yet.
struct Deciding {
    first_seen_unix_millis: u64,
    /// Spans stored meanwhile; the verdict applies to them too.
    late_spans: Vec<BufferedSpan>,
}

struct State {
    buffer: PendingBuffer,
    deciding: HashMap<TraceId, Deciding>,
    settlements: Settlements,
    decisions: DecisionCache,
    stats: TailStats,
}

impl State {
    /// The decision spans of `trace_id` follow now, if any.
    fn verdict(&self, trace_id: &TraceId) -> Option<&TailVerdict> {
        self.settlements
            .verdict(trace_id)
            .or_else(|| self.decisions.get(trace_id))
    }
}

pub(crate) struct TailSampler {
    store: Arc<TraceStore>,
    tenant: TenantId,
    /// The tenant's name, which forwarded batches carry.
    tenant_name: String,
    /// Kept traces are forwarded when decided (their late spans by ingest).
    forwarder: Arc<Forwarder>,
    decider: Arc<dyn TailDecider>,
    settings: TailSettings,
    state: Mutex<State>,
    /// Serialises rounds (`run` runs one at a time; tests may call `decide_due` directly).
    round: Mutex<()>,
    /// Wakes the loop when a bound forces a decision.
    wake: Notify,
}

impl TailSampler {
    pub(crate) fn new(
        store: Arc<TraceStore>,
        (tenant, tenant_name): (TenantId, String),
        forwarder: Arc<Forwarder>,
        decider: Arc<dyn TailDecider>,
        settings: TailSettings,
        decision_cache_size: usize,
    ) -> TailSampler {
        TailSampler {
            store,
            tenant,
            tenant_name,
            forwarder,
            decider,
            settings,
            state: Mutex::new(State {
                buffer: PendingBuffer::new(settings.max_traces, settings.max_spans_per_trace),
                deciding: HashMap::new(),
                settlements: Settlements::default(),
                decisions: DecisionCache::new(decision_cache_size),
                stats: TailStats::default(),
            }),
            round: Mutex::new(()),
            wake: Notify::new(),
        }
    }

    /// Reloads every trace left pending by an earlier run (stopped or crashed), with its
    /// first-seen time; overdue ones are decided at the first round. Call before
    /// ingest starts. Returns the number of traces reloaded.
    pub(crate) fn recover(&self) -> Result<usize, StoreError> {
        let markers = self.store.pending_markers(self.tenant)?;
        let mut without_spans = Vec::new();
        let mut loaded = Vec::new();
        for marker in markers {
            match self.store.read_trace(self.tenant, &marker.trace_id)? {
                Some(request) => {
                    let mut spans = buffer::split_by_trace(&request, |_| true);
                    let spans = spans.remove(&marker.trace_id).unwrap_or_default();
                    loaded.push((marker, spans));
                }
                None => without_spans.push(marker.trace_id),
            }
        }
        if !without_spans.is_empty() {
            // Nothing to decide; only possible if spans were deleted outside spangate.
            self.store.apply_decisions(
                self.tenant,
                &DecisionWrite {
                    decided: without_spans,
                    ..DecisionWrite::default()
                },
                Outgoing::NONE,
            )?;
        }
        let now = Instant::now();
        let now_unix_millis = unix_millis();
        let mut span_count = 0;
        let mut reloaded = 0;
        let mut state = self.lock();
        for (marker, spans) in loaded {
            let trace_id = marker.trace_id;
            if state.buffer.contains(&trace_id)
                || state.deciding.contains_key(&trace_id)
                || state.verdict(&trace_id).is_some()
            {
                continue;
            }
            // Waited before the restart too; an overdue trace is due at once.
            let waited = Duration::from_millis(
                now_unix_millis.saturating_sub(marker.first_seen_unix_millis),
            )
            .min(self.settings.decision_wait);
            let first_seen = now.checked_sub(waited).unwrap_or(now);
            span_count += spans.len();
            reloaded += 1;
            state
                .buffer
                .insert(trace_id, first_seen, marker.first_seen_unix_millis, spans);
        }
        drop(state);
        tracing::info!(
            sampler = self.decider.name(),
            traces = reloaded,
            spans = span_count,
            "tail sampling: pending traces recovered"
        );
        Ok(reloaded)
    }

    /// Before the store write: removes spans of dropped traces from `request`, records
    /// the policy on spans of kept ones, and names the pending traces, whose markers
    /// must go into the same write (`Admitted::markers`).
    pub(crate) fn admit(&self, request: &mut ExportTraceServiceRequest) -> Admitted {
        let now_unix_millis = unix_millis();
        let state = self.lock();
        let mut admitted = Admitted::default();
        // Per trace of the request: its verdict, or its index in `admitted.pending`.
        let mut seen: HashMap<TraceId, Result<TailVerdict, usize>> = HashMap::new();
        retain_spans(request, |span| {
            let Some(trace_id) = TraceId::from_slice(&span.trace_id) else {
                debug_assert!(false, "spans are validated before admission");
                return true;
            };
            let status = seen.entry(trace_id).or_insert_with(|| {
                if let Some(verdict) = state.verdict(&trace_id) {
                    return Ok(verdict.clone());
                }
                let first_seen_unix_millis = state
                    .buffer
                    .first_seen_unix_millis(&trace_id)
                    .or_else(|| {
                        state
                            .deciding
                            .get(&trace_id)
                            .map(|deciding| deciding.first_seen_unix_millis)
                    })
                    .unwrap_or(now_unix_millis);
                admitted.pending.push(AdmittedTrace {
                    trace_id,
                    first_seen_unix_millis,
                    spans: 0,
                });
                Err(admitted.pending.len() - 1)
            });
            match status {
                Err(index) => {
                    admitted.pending[*index].spans += 1;
                    true
                }
                Ok(TailVerdict::Drop) => {
                    admitted.late_spans_dropped += 1;
                    false
                }
                Ok(TailVerdict::Keep { policy }) => {
                    if !policy.is_empty() {
                        buffer::set_policy(span, policy);
                    }
                    admitted.late_spans_kept += 1;
                    true
                }
            }
        });
        admitted
    }

    /// Writes an admitted request with its markers and `outgoing` (its spans of kept
    /// traces, for the exporters) in one batch, then `buffered`. Returns the number of
    /// spans written.
    pub(crate) fn write(
        &self,
        request: &ExportTraceServiceRequest,
        admitted: &Admitted,
        outgoing: &Outgoing,
    ) -> Result<usize, StoreError> {
        let written = if request.resource_spans.is_empty() && admitted.pending.is_empty() {
            0
        } else {
            self.store
                .write_pending(self.tenant, request, &admitted.markers(), outgoing)?
        };
        self.buffered(request, admitted);
        Ok(written)
    }

    /// After the write of an admitted request committed: copies its pending spans into
    /// the buffer. A trace decided since `admit` has its decision applied to these
    /// spans now (a failed write is retried by the next round).
    pub(crate) fn buffered(&self, request: &ExportTraceServiceRequest, admitted: &Admitted) {
        let mut spans_by_trace = if admitted.pending.is_empty() {
            HashMap::new()
        } else {
            let pending: HashMap<TraceId, ()> = admitted
                .pending
                .iter()
                .map(|trace| (trace.trace_id, ()))
                .collect();
            buffer::split_by_trace(request, |trace_id| pending.contains_key(trace_id))
        };
        let mut decided_meanwhile = Vec::new();
        let mut forced = false;
        {
            let mut state = self.lock();
            let state = &mut *state;
            state.stats.late_spans_kept += admitted.late_spans_kept as u64;
            state.stats.late_spans_dropped += admitted.late_spans_dropped as u64;
            // Taken while locked, so first-seen order matches buffer order.
            let now = Instant::now();
            for trace in &admitted.pending {
                let spans = spans_by_trace.remove(&trace.trace_id).unwrap_or_default();
                if let Some(deciding) = state.deciding.get_mut(&trace.trace_id) {
                    deciding.late_spans.extend(spans);
                } else if let Some(verdict) = state.verdict(&trace.trace_id).cloned() {
                    match verdict {
                        TailVerdict::Drop => state.stats.late_spans_dropped += spans.len() as u64,
                        TailVerdict::Keep { .. } => {
                            state.stats.late_spans_kept += spans.len() as u64
                        }
                    }
                    state.settlements.add(trace.trace_id, verdict, spans);
                    decided_meanwhile.push(trace.trace_id);
                } else {
                    forced |= state.buffer.insert(
                        trace.trace_id,
                        now,
                        trace.first_seen_unix_millis,
                        spans,
                    );
                }
            }
        }
        if forced {
            self.wake.notify_one();
        }
        if !decided_meanwhile.is_empty()
            && let Err(error) = self.settle(Some(&decided_meanwhile))
        {
            tracing::warn!(
                sampler = self.decider.name(),
                %error,
                "tail sampling: applying a decision to late spans failed; retrying next round"
            );
        }
    }

    /// One round: retries decisions not applied yet, decides the traces due at `now`
    /// (all pending ones with `force_all`) and applies the verdicts. A failed store
    /// write leaves the affected traces marked and owed, retried by the next round; the
    /// first such error is returned after the round did everything else.
    pub(crate) fn decide_due(
        &self,
        now: Instant,
        force_all: bool,
    ) -> Result<DecideReport, StoreError> {
        let _round = self
            .round
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let mut first_error = self.settle(None).err();
        let taken = {
            let mut state = self.lock();
            let taken = state
                .buffer
                .take_due(now, self.settings.decision_wait, force_all);
            for trace in &taken {
                state.deciding.insert(
                    trace.trace_id,
                    Deciding {
                        first_seen_unix_millis: trace.first_seen_unix_millis,
                        late_spans: Vec::new(),
                    },
                );
            }
            taken
        };
        let mut report = DecideReport::default();
        let mut taken = taken.into_iter().peekable();
        while taken.peek().is_some() {
            let chunk: Vec<TakenTrace> = taken.by_ref().take(MAX_TRACES_PER_DECISION).collect();
            let verdicts = self.ask(&chunk);
            self.record(chunk, verdicts, &mut report);
        }
        if let Err(error) = self.settle(None) {
            first_error.get_or_insert(error);
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    /// The decider's verdicts for `traces`. A missing verdict, or a panic, keeps the
    /// trace: losing spans is worse than storing some too many.
    fn ask(&self, traces: &[TakenTrace]) -> HashMap<TraceId, TailVerdict> {
        let mut request = ExportTraceServiceRequest::default();
        for trace in traces {
            buffer::append_trace(&mut request, &trace.spans, None);
        }
        let answer = std::panic::catch_unwind(AssertUnwindSafe(|| self.decider.decide(&request)));
        let verdicts: HashMap<TraceId, TailVerdict> = match answer {
            Ok(verdicts) => verdicts
                .into_iter()
                .map(|(trace_id, verdict)| (TraceId(trace_id), verdict))
                .collect(),
            Err(_) => {
                tracing::error!(
                    sampler = self.decider.name(),
                    traces = traces.len(),
                    "tail sampler panicked; keeping the traces"
                );
                HashMap::new()
            }
        };
        let missing = traces
            .iter()
            .filter(|trace| !verdicts.contains_key(&trace.trace_id))
            .count();
        if missing > 0 {
            tracing::warn!(
                sampler = self.decider.name(),
                missing,
                "tail sampler gave no verdict for some traces; keeping them"
            );
        }
        verdicts
    }

    /// Moves decided traces from `deciding` to the settlements, with the spans that
    /// arrived while they were being decided.
    fn record(
        &self,
        traces: Vec<TakenTrace>,
        mut verdicts: HashMap<TraceId, TailVerdict>,
        report: &mut DecideReport,
    ) {
        let mut state = self.lock();
        for trace in traces {
            let verdict = verdicts
                .remove(&trace.trace_id)
                .unwrap_or(TailVerdict::Keep {
                    policy: String::new(),
                });
            let mut spans = trace.spans;
            if let Some(deciding) = state.deciding.remove(&trace.trace_id) {
                spans.extend(deciding.late_spans);
            }
            tracing::debug!(
                sampler = self.decider.name(),
                trace_id = %trace.trace_id.to_hex(),
                ?verdict,
                spans = spans.len(),
                early = trace.early,
                "tail decision"
            );
            match verdict {
                TailVerdict::Drop => {
                    report.traces_dropped += 1;
                    state.stats.traces_dropped += 1;
                }
                TailVerdict::Keep { .. } => {
                    report.traces_kept += 1;
                    state.stats.traces_kept += 1;
                }
            }
            if trace.early {
                report.decided_early += 1;
                state.stats.decided_early += 1;
            }
            state.settlements.add(trace.trace_id, verdict, spans);
        }
    }

    /// Applies owed decisions (of `only` those traces, or all) in one store write.
    /// Settled traces move to the decision cache; on failure the work is put back.
    fn settle(&self, only: Option<&[TraceId]>) -> Result<(), StoreError> {
        let work: Vec<SettlementWork> = self.lock().settlements.take_owed(only);
        if work.is_empty() {
            return Ok(());
        }
        let forwarding = !self.forwarder.is_empty();
        let (write, kept) = decisions::decision_write(&work, self.store.keeps_spans(), forwarding);
        let result = self
            .forwarder
            .prepare(&self.tenant_name, &kept)
            .map_err(|error| StoreError::Forward(error.to_string()))
            .and_then(|outgoing| {
                self.store
                    .apply_decisions(self.tenant, &write, &outgoing)
                    .map(|()| outgoing)
            });
        let mut state = self.lock();
        match &result {
            Ok(outgoing) => {
                self.forwarder.committed(outgoing);
                state.stats.spans_deleted += write.delete.len() as u64;
                for item in &work {
                    if let Some(verdict) = state.settlements.finish(&item.trace_id) {
                        state.decisions.insert(item.trace_id, verdict);
                    }
                }
            }
            Err(error) => {
                tracing::warn!(
                    sampler = self.decider.name(),
                    traces = work.len(),
                    %error,
                    "tail sampling: applying decisions failed; markers kept, retrying next round"
                );
                for item in work {
                    state
                        .settlements
                        .add(item.trace_id, item.verdict, item.spans);
                }
            }
        }
        result.map(drop)
    }

    /// Decides due traces until `shutdown`, one round per tick (a quarter of
    /// `decision_wait`, at most 100 ms) or sooner when a bound forces a decision. On
    /// shutdown the traces still pending stay pending in the store, decided after the
    /// next start.
    pub(crate) async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let tick = (self.settings.decision_wait / 4).clamp(Duration::from_millis(1), MAX_TICK);
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                _ = interval.tick() => {}
                () = self.wake.notified() => {}
            }
            let sampler = self.clone();
            let round =
                tokio::task::spawn_blocking(move || sampler.decide_due(Instant::now(), false))
                    .await;
            match round {
                Ok(Ok(_)) => {}
                // Already logged by `settle`, with the traces affected.
                Ok(Err(_)) => {}
                Err(error) => {
                    tracing::error!(sampler = self.decider.name(), %error, "tail sampling round failed");
                }
            }
        }
        let stats = self.stats();
        tracing::info!(
            sampler = self.decider.name(),
            pending_traces = stats.pending_traces,
            "tail sampler stopped; pending traces are decided after the next start"
        );
    }

    pub(crate) fn stats(&self) -> TailStats {
        let state = self.lock();
        TailStats {
            pending_traces: state.buffer.trace_count(),
            pending_spans: state.buffer.span_count(),
            ..state.stats.clone()
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic (none is expected while locked).
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}
