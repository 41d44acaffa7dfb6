//! The ingest path shared by every receiver: validate spans, apply the tenant's limits,
//! wait for a write slot (backpressure), run the tenant's plugin pipeline and commit to
//! the store under the tenant off the async workers, and report what was rejected. A
//! request is acknowledged only after its spans are in the WAL; spans a sampler drops
//! are accepted, not rejected (OTLP's contract: sampling is not an error).

pub(crate) mod fuzzing;
mod limits;
pub(crate) mod memory;
mod tenants;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Semaphore;

pub(crate) use limits::Discard;
use limits::RateRefusal;
pub(crate) use memory::LimitsConfig;
use memory::MemoryState;
pub(crate) use tenants::{
    PipelineSettings, ReloadCounts, TenantRuntime, TenantStartError, Tenants,
};

use crate::forward::{ForwardError, split_by_owner};
use crate::model::{
    ExportTraceServiceRequest, SPAN_ID_LEN, Span, TRACE_ID_LEN, TraceId, count_spans,
};
use crate::store::{Outgoing, StoreError};
use crate::tenant::RateLimit;

/// `ingest:` in the config: how many writes run at once and how long a request
/// waits for one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Export requests being committed to the store at once; further requests wait. Default 64.
    pub max_inflight_writes: usize,
    /// How long a request waits for a write slot before it is refused as overloaded
    /// (gRPC UNAVAILABLE / HTTP 503 with Retry-After, both retried by OTLP exporters). Default 2s.
    #[serde(with = "humantime_serde")]
    pub queue_timeout: Duration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_inflight_writes: 64,
            queue_timeout: Duration::from_secs(2),
        }
    }
}

impl IngestConfig {
    /// Checks what serde cannot; the error names the dotted key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.max_inflight_writes == 0 {
            return Err((
                "ingest.max_inflight_writes".to_owned(),
                "must be at least 1".to_owned(),
            ));
        }
        if self.queue_timeout.is_zero() {
            return Err((
                "ingest.queue_timeout".to_owned(),
                "must be greater than zero".to_owned(),
            ));
        }
        Ok(())
    }
}

/// What happened to an accepted request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct IngestOutcome {
    pub accepted_spans: usize,
    /// Spans refused individually (OTLP `partial_success.rejected_spans`).
    pub rejected_spans: usize,
    /// Why the first spans were refused; empty when none were.
    pub rejection_message: String,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum IngestError {
    /// Every write slot stayed busy for the whole queue timeout: the client should retry later.
    #[error("spangate is overloaded: no write slot freed within {0:?}; retry later")]
    Overloaded(Duration),
    /// The tenant's rate limit has too few tokens now: retry after `retry_after`.
    #[error(
        "RATE_LIMITED: ingestion rate limit ({} spans/s, burst {} spans) exceeded while adding \
         {spans} spans for tenant {tenant}; retry after {retry_after:?} or reduce the ingestion rate",
        limit.spans_per_second,
        limit.burst_spans
    )]
    RateLimited {
        tenant: String,
        spans: usize,
        limit: RateLimit,
        retry_after: Duration,
    },
    /// The request holds more spans than the tenant's bucket: it can never pass.
    #[error(
        "RATE_LIMITED: batch size ({spans} spans) exceeds the ingestion burst ({} spans, at {} \
         spans/s) of tenant {tenant}; send smaller batches or raise ingestion_burst_spans",
        limit.burst_spans,
        limit.spans_per_second
    )]
    OverBurst {
        tenant: String,
        spans: usize,
        limit: RateLimit,
    },
    #[error("storage unavailable: {0}")]
    Storage(#[from] StoreError),
    /// The tenant's pipeline could not be started (its plugin file went away since start-up).
    #[error("{0}")]
    TenantUnavailable(#[from] TenantStartError),
    /// An exporter's queue is full, or it has no upstream now: retry later.
    #[error("{0}")]
    Forward(#[from] ForwardError),
    #[error("spangate is shutting down")]
    ShuttingDown,
    /// The process is over `limits.memory - limits.memory_spike`: retry later.
    #[error(
        "spangate is over its memory limit ({resident} bytes resident, refusing from \
         {soft_limit} bytes): retry later"
    )]
    MemoryLimit { resident: u64, soft_limit: u64 },
}

impl IngestError {
    /// How long a client should wait before retrying, for Retry-After / RetryInfo;
    /// `None` when retrying cannot help.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            IngestError::RateLimited { retry_after, .. } => {
                // Whole seconds, at least one: what Retry-After can say.
                Some(Duration::from_secs(
                    retry_after.as_secs_f64().ceil().max(1.0) as u64,
                ))
            }
            IngestError::OverBurst { .. } => None,
            IngestError::Overloaded(_)
            | IngestError::MemoryLimit { .. }
            | IngestError::Forward(_)
            | IngestError::Storage(_)
            | IngestError::TenantUnavailable(_)
            | IngestError::ShuttingDown => Some(Duration::from_secs(1)),
        }
    }

    /// Backpressure (overload, memory, rate, a full exporter queue): expected under load,
    /// counted on `/metrics`, and logged at debug level so a flood of refusals does not
    /// become a flood of log lines.
    pub(crate) fn is_backpressure(&self) -> bool {
        matches!(
            self,
            IngestError::Overloaded(_)
                | IngestError::MemoryLimit { .. }
                | IngestError::RateLimited { .. }
                | IngestError::Forward(ForwardError::QueueFull { .. })
        )
    }

    /// Whether the store refused the write for lack of disk space.
    pub(crate) fn is_no_space(&self) -> bool {
        matches!(self, IngestError::Storage(StoreError::NoSpace(_)))
    }
}

/// The write slots as `/metrics` shows them: how many requests hold one (in the
/// pipeline or the store write), how many wait for one (up to `ingest.queue_timeout`),
/// and how many there are (`ingest.max_inflight_writes`).
#[derive(Clone)]
pub(crate) struct WriteQueue {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WriteQueueFigures {
    pub in_flight: usize,
    pub waiting: usize,
    pub max: usize,
}

impl WriteQueue {
    pub(crate) fn figures(&self) -> WriteQueueFigures {
        WriteQueueFigures {
            in_flight: self.max.saturating_sub(self.slots.available_permits()),
            waiting: self.waiting.load(Ordering::Relaxed),
            max: self.max,
        }
    }
}

/// Counts one request waiting for a write slot for as long as it lives (a timed-out or
/// cancelled wait is uncounted too).
struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    fn new(counter: &Arc<AtomicUsize>) -> Waiting {
        counter.fetch_add(1, Ordering::Relaxed);
        Waiting(counter.clone())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Clone)]
pub(crate) struct Ingest {
    /// Each tenant's pipeline, tail sampler and limits, and the store.
    tenants: Arc<Tenants>,
    write_slots: Arc<Semaphore>,
    /// Batches in the plugin pipeline at once: one per core. More would only queue
    /// blocking threads on the plugins' instances (samplers and metrics plugins have
    /// one each), parking and waking them for nothing.
    pipeline_slots: Arc<Semaphore>,
    /// The number of write slots, all of which `drain` takes back.
    max_inflight_writes: usize,
    /// Requests waiting for a write slot now.
    waiting_writes: Arc<AtomicUsize>,
    queue_timeout: Duration,
    /// The memory limiter's verdict, sampled in the background.
    memory: Arc<MemoryState>,
}

impl Ingest {
    pub(crate) fn new(
        tenants: Arc<Tenants>,
        config: &IngestConfig,
        memory: Arc<MemoryState>,
    ) -> Ingest {
        Ingest {
            tenants,
            write_slots: Arc::new(Semaphore::new(config.max_inflight_writes)),
            pipeline_slots: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            )),
            max_inflight_writes: config.max_inflight_writes,
            waiting_writes: Arc::default(),
            queue_timeout: config.queue_timeout,
            memory,
        }
    }

    /// The write slots, for `/metrics`.
    pub(crate) fn write_queue(&self) -> WriteQueue {
        WriteQueue {
            slots: self.write_slots.clone(),
            waiting: self.waiting_writes.clone(),
            max: self.max_inflight_writes,
        }
    }

    /// Validates, limits, stores and acknowledges one export request of `tenant` (a
    /// valid tenant id: the receivers resolved it).
    pub(crate) async fn export(
        &self,
        tenant: &str,
        mut request: ExportTraceServiceRequest,
    ) -> Result<IngestOutcome, IngestError> {
        let mut rejection = retain_valid_spans(&mut request);
        let valid_spans = count_spans(&request.resource_spans);
        if valid_spans == 0 {
            return Ok(IngestOutcome {
                accepted_spans: 0,
                rejected_spans: rejection.count,
                rejection_message: rejection.message,
            });
        }
        if self.memory.over() {
            self.tenants
                .record_discarded(tenant, Discard::MemoryLimit, valid_spans);
            let (resident, _, soft_limit, _) = self.memory.figures();
            return Err(IngestError::MemoryLimit {
                resident,
                soft_limit,
            });
        }
        let runtime = self.tenants.get(tenant).await?;
        self.check_rate(&runtime, valid_spans)?;
        if let Err(error) = self.tenants.forwarder().check_room() {
            self.tenants
                .record_discarded(tenant, Discard::QueueFull, valid_spans);
            return Err(error.into());
        }
        let refused = runtime.limiter().admit_traces(&mut request, tenant);
        self.tenants
            .record_discarded(tenant, Discard::TraceTooLarge, refused.trace_too_large);
        self.tenants.record_discarded(
            tenant,
            Discard::LiveTracesExceeded,
            refused.live_traces_exceeded,
        );
        rejection.add(refused.total(), &refused.message);
        let accepted_spans = valid_spans - refused.total();
        if accepted_spans > 0
            && let Err(error) = self.write(runtime, request).await
        {
            if let Some(reason) = Discard::of_write_error(&error) {
                self.tenants
                    .record_discarded(tenant, reason, accepted_spans);
            }
            return Err(error);
        }
        Ok(IngestOutcome {
            accepted_spans,
            rejected_spans: rejection.count,
            rejection_message: rejection.message,
        })
    }

    /// Takes `spans` tokens of the tenant's rate limit, or refuses the request (and
    /// counts its spans as discarded).
    fn check_rate(&self, runtime: &TenantRuntime, spans: usize) -> Result<(), IngestError> {
        let Err(refusal) = runtime.limiter().check_rate(spans) else {
            return Ok(());
        };
        let tenant = runtime.name().to_owned();
        self.tenants
            .record_discarded(&tenant, Discard::RateLimited, spans);
        Err(match refusal {
            RateRefusal::Later { retry_after, limit } => IngestError::RateLimited {
                tenant,
                spans,
                limit,
                retry_after,
            },
            RateRefusal::Never { limit } => IngestError::OverBurst {
                tenant,
                spans,
                limit,
            },
        })
    }

    /// Runs `request` through the tenant's pipeline and writes what is left under the
    /// tenant, holding a write slot throughout.
    async fn write(
        &self,
        runtime: Arc<TenantRuntime>,
        mut request: ExportTraceServiceRequest,
    ) -> Result<(), IngestError> {
        let waiting = Waiting::new(&self.waiting_writes);
        let permit =
            tokio::time::timeout(self.queue_timeout, self.write_slots.clone().acquire_owned())
                .await
                .map_err(|_| IngestError::Overloaded(self.queue_timeout))?
                .map_err(|_| IngestError::ShuttingDown)?;
        drop(waiting);
        let store = self.tenants.store().clone();
        let forwarder = self.tenants.forwarder().clone();
        let pipeline = runtime.pipeline();
        let pipeline = if pipeline.is_empty() {
            None
        } else {
            let slot = self
                .pipeline_slots
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| IngestError::ShuttingDown)?;
            Some((pipeline, slot))
        };
        // Plugins, encoding and the RocksDB write block: one hop to the blocking
        // pool for all three (a hop per step cost measurable context switches).
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            if let Some((pipeline, slot)) = pipeline {
                pipeline.run(&mut request);
                drop(slot);
            }
            let outgoing = match runtime.tail() {
                Some(tail) => {
                    let admitted = tail.admit(&mut request);
                    // Spans of traces decided (kept) already leave now; pending ones
                    // when their trace is decided.
                    let outgoing = if forwarder.is_empty() || admitted.pending.is_empty() {
                        forwarder.prepare(runtime.name(), &request)?
                    } else {
                        let pending: HashSet<TraceId> =
                            admitted.pending.iter().map(|t| t.trace_id).collect();
                        let decided = split_by_owner(&request, 1, |trace_id| {
                            TraceId::from_slice(trace_id)
                                .filter(|t| !pending.contains(t))
                                .map(|_| 0)
                        });
                        match decided.into_iter().next().flatten() {
                            Some(decided) => forwarder.prepare(runtime.name(), &decided)?,
                            None => Outgoing::default(),
                        }
                    };
                    tail.write(&request, &admitted, &outgoing)?;
                    outgoing
                }
                None if request.resource_spans.is_empty() => return Ok(()),
                None => {
                    let outgoing = forwarder.prepare(runtime.name(), &request)?;
                    store.write_with(runtime.id(), &request, &outgoing)?;
                    outgoing
                }
            };
            forwarder.committed(&outgoing);
            Ok::<(), IngestError>(())
        })
        .await
        .map_err(|_| IngestError::ShuttingDown)??;
        Ok(())
    }

    /// Stops taking new writes and waits until those in flight are committed.
    pub(crate) async fn drain(&self) {
        let all = u32::try_from(self.max_inflight_writes).unwrap_or(u32::MAX);
        if let Ok(permits) = self.write_slots.acquire_many(all).await {
            permits.forget();
        }
        self.write_slots.close();
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Rejection {
    count: usize,
    message: String,
}

impl Rejection {
    /// Adds `count` more rejected spans, explained by `message` if none were before.
    fn add(&mut self, count: usize, message: &str) {
        if count == 0 {
            return;
        }
        if self.count == 0 {
            self.message = message.to_owned();
        } else {
            self.message = format!("{}; {message}", self.message);
        }
        self.count += count;
    }
}

/// Removes spans the store cannot key (trace id not 16 non-zero bytes, span id not
/// 8 non-zero bytes, parent id neither empty nor 8 bytes) and says why.
fn retain_valid_spans(request: &mut ExportTraceServiceRequest) -> Rejection {
    let mut rejection = Rejection::default();
    for (resource_index, resource_spans) in request.resource_spans.iter_mut().enumerate() {
        for (scope_index, scope_spans) in resource_spans.scope_spans.iter_mut().enumerate() {
            let mut span_index = 0;
            scope_spans.spans.retain(|span| {
                let verdict = span_problem(span);
                if let Some(problem) = &verdict {
                    if rejection.count == 0 {
                        rejection.message = format!(
                            "span {span_index} of scope {scope_index} of resource {resource_index}: {problem}"
                        );
                    }
                    rejection.count += 1;
                }
                span_index += 1;
                verdict.is_none()
            });
        }
    }
    if rejection.count > 1 {
        rejection.message = format!(
            "{} spans rejected; first: {}",
            rejection.count, rejection.message
        );
    }
    rejection
}

fn span_problem(span: &Span) -> Option<String> {
    if span.trace_id.len() != TRACE_ID_LEN {
        return Some(format!(
            "invalid trace_id: expected {TRACE_ID_LEN} bytes, got {}",
            span.trace_id.len()
        ));
    }
    if span.trace_id.iter().all(|b| *b == 0) {
        return Some("invalid trace_id: all zero".to_owned());
    }
    if span.span_id.len() != SPAN_ID_LEN {
        return Some(format!(
            "invalid span_id: expected {SPAN_ID_LEN} bytes, got {}",
            span.span_id.len()
        ));
    }
    if span.span_id.iter().all(|b| *b == 0) {
        return Some("invalid span_id: all zero".to_owned());
    }
    if !span.parent_span_id.is_empty() && span.parent_span_id.len() != SPAN_ID_LEN {
        return Some(format!(
            "invalid parent_span_id: expected {SPAN_ID_LEN} bytes or none, got {}",
            span.parent_span_id.len()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResourceSpans, SINGLE_TENANT, ScopeSpans, TraceId};
    use crate::store::{StorageConfig, TraceStore};

    fn one_span_request(id: u8) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span(vec![id; 16], vec![id; 8])],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn ingest_with(
        dir: &std::path::Path,
        multitenancy: bool,
        overrides: crate::tenant::OverridesConfig,
    ) -> Ingest {
        let store = TraceStore::open(&StorageConfig {
            data_dir: dir.to_owned(),
            ..StorageConfig::default()
        })
        .unwrap();
        let runtime =
            crate::plugin::PluginRuntime::new(crate::plugin::RuntimeSettings::default()).unwrap();
        let tenants = Tenants::new(
            Arc::new(store),
            Arc::new(crate::forward::Forwarder::none()),
            runtime,
            multitenancy,
            overrides,
            PipelineSettings::default(),
            tokio_util::sync::CancellationToken::new(),
        );
        let config = IngestConfig {
            max_inflight_writes: 1,
            queue_timeout: Duration::from_millis(20),
        };
        Ingest::new(Arc::new(tenants), &config, Arc::default())
    }

    fn ingest_with_one_slot(dir: &std::path::Path) -> Ingest {
        ingest_with(dir, false, crate::tenant::OverridesConfig::default())
    }

    fn stored(ingest: &Ingest, tenant: &str, id: u8) -> bool {
        ingest
            .tenants
            .store()
            .get_trace(tenant, &TraceId([id; 16]), None)
            .unwrap()
            .is_some()
    }

    #[tokio::test]
    async fn busy_write_slots_refuse_with_a_retryable_error_and_store_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ingest = ingest_with_one_slot(dir.path());
        let held = ingest.write_slots.clone().acquire_owned().await.unwrap();
        let refused = ingest.export(SINGLE_TENANT, one_span_request(1)).await;
        assert!(
            matches!(refused, Err(IngestError::Overloaded(_))),
            "{refused:?}"
        );
        assert!(!stored(&ingest, SINGLE_TENANT, 1));
        drop(held);
        let accepted = ingest
            .export(SINGLE_TENANT, one_span_request(1))
            .await
            .unwrap();
        assert_eq!(accepted.accepted_spans, 1);
        assert!(stored(&ingest, SINGLE_TENANT, 1));
    }

    #[tokio::test]
    async fn the_write_queue_shows_slots_held_and_requests_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let mut ingest = ingest_with_one_slot(dir.path());
        // Long enough that the waiting export is still waiting when it is looked at.
        ingest.queue_timeout = Duration::from_secs(60);
        let queue = ingest.write_queue();
        let figures = |in_flight, waiting| WriteQueueFigures {
            in_flight,
            waiting,
            max: 1,
        };
        assert_eq!(queue.figures(), figures(0, 0));
        let held = ingest.write_slots.clone().acquire_owned().await.unwrap();
        assert_eq!(queue.figures(), figures(1, 0));
        let waiter = {
            let ingest = ingest.clone();
            tokio::spawn(async move { ingest.export(SINGLE_TENANT, one_span_request(1)).await })
        };
        let mut seen_waiting = false;
        for _ in 0..1000 {
            if queue.figures() == figures(1, 1) {
                seen_waiting = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(seen_waiting, "{:?}", queue.figures());
        drop(held);
        let accepted = waiter.await.unwrap().unwrap();
        assert_eq!(accepted.accepted_spans, 1);
        assert_eq!(queue.figures(), figures(0, 0));
    }

    #[tokio::test]
    async fn after_drain_exports_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ingest = ingest_with_one_slot(dir.path());
        ingest
            .export(SINGLE_TENANT, one_span_request(2))
            .await
            .unwrap();
        ingest.drain().await;
        let refused = ingest.export(SINGLE_TENANT, one_span_request(3)).await;
        assert!(
            matches!(refused, Err(IngestError::ShuttingDown)),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn each_tenant_writes_under_its_own_name() {
        let dir = tempfile::tempdir().unwrap();
        let ingest = ingest_with(dir.path(), true, crate::tenant::OverridesConfig::default());
        ingest.export("team-a", one_span_request(4)).await.unwrap();
        ingest.export("team-b", one_span_request(5)).await.unwrap();
        assert!(stored(&ingest, "team-a", 4));
        assert!(!stored(&ingest, "team-b", 4));
        assert!(stored(&ingest, "team-b", 5));
        assert!(!stored(&ingest, "team-a", 5));
        assert!(!stored(&ingest, SINGLE_TENANT, 4));
    }

    fn overrides(yaml: &str) -> crate::tenant::OverridesConfig {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    fn spans_of_traces(traces: &[u8]) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: traces
                        .iter()
                        .map(|id| span(vec![*id; 16], vec![*id; 8]))
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[tokio::test]
    async fn the_rate_limit_refuses_whole_requests_per_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let ingest = ingest_with(
            dir.path(),
            true,
            overrides(
                "tenants:\n  team-a: { ingestion_rate_spans: 1, ingestion_burst_spans: 2 }\n",
            ),
        );
        ingest
            .export("team-a", spans_of_traces(&[1, 2]))
            .await
            .unwrap();
        let refused = ingest
            .export("team-a", spans_of_traces(&[3]))
            .await
            .unwrap_err();
        assert!(
            matches!(refused, IngestError::RateLimited { spans: 1, .. }),
            "{refused:?}"
        );
        assert_eq!(refused.retry_after(), Some(Duration::from_secs(1)));
        assert!(
            refused.to_string().starts_with("RATE_LIMITED: "),
            "{refused}"
        );
        assert!(!stored(&ingest, "team-a", 3));
        let never = ingest
            .export("team-a", spans_of_traces(&[4, 5, 6]))
            .await
            .unwrap_err();
        assert!(
            matches!(never, IngestError::OverBurst { spans: 3, .. }),
            "{never:?}"
        );
        assert_eq!(never.retry_after(), None);
        // Another tenant has its own bucket (and here no limit).
        ingest
            .export("team-b", spans_of_traces(&[3, 4, 5]))
            .await
            .unwrap();
        assert_eq!(
            ingest.tenants.discarded(),
            [("team-a".to_owned(), Discard::RateLimited, 4)]
        );
    }

    #[tokio::test]
    async fn per_trace_limits_refuse_spans_in_partial_success() {
        let dir = tempfile::tempdir().unwrap();
        let ingest = ingest_with(
            dir.path(),
            true,
            overrides("defaults: { max_live_traces: 1 }\n"),
        );
        let outcome = ingest
            .export("team-a", spans_of_traces(&[1, 2, 2]))
            .await
            .unwrap();
        assert_eq!(outcome.accepted_spans, 1);
        assert_eq!(outcome.rejected_spans, 2);
        assert!(
            outcome
                .rejection_message
                .starts_with("LIVE_TRACES_EXCEEDED: "),
            "{}",
            outcome.rejection_message
        );
        assert!(stored(&ingest, "team-a", 1));
        assert!(!stored(&ingest, "team-a", 2));
        assert_eq!(
            ingest.tenants.discarded(),
            [("team-a".to_owned(), Discard::LiveTracesExceeded, 2)]
        );
    }

    fn span(trace_id: Vec<u8>, span_id: Vec<u8>) -> Span {
        Span {
            trace_id,
            span_id,
            ..Default::default()
        }
    }

    #[test]
    fn invalid_spans_are_removed_and_counted() {
        let mut request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![
                        span(vec![1; 16], vec![1; 8]),
                        span(vec![1; 5], vec![1; 8]),
                        span(vec![0; 16], vec![1; 8]),
                        span(vec![1; 16], vec![0; 8]),
                        span(vec![1; 16], vec![2; 8]),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let rejection = retain_valid_spans(&mut request);
        assert_eq!(rejection.count, 3);
        assert_eq!(
            rejection.message,
            "3 spans rejected; first: span 1 of scope 0 of resource 0: invalid trace_id: expected 16 bytes, got 5"
        );
        assert_eq!(count_spans(&request.resource_spans), 2);
    }

    #[test]
    fn valid_request_has_no_rejection() {
        let mut request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span(vec![1; 16], vec![1; 8])],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        assert_eq!(retain_valid_spans(&mut request), Rejection::default());
    }
}
