//! The ingest path shared by every receiver: validate spans, wait for a write slot
//! (backpressure), run the plugin pipeline and commit to the store off the async
//! workers, and report what was rejected. A request is acknowledged only after its
//! spans are in the WAL; spans a sampler drops are accepted, not rejected (OTLP's
//! contract: sampling is not an error).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Semaphore;

use crate::model::{
    ExportTraceServiceRequest, SINGLE_TENANT, SPAN_ID_LEN, Span, TRACE_ID_LEN, count_spans,
};
use crate::pipeline::PipelineHandle;
use crate::store::{StoreError, TraceStore};
use crate::tail::TailSampler;

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
    #[error("storage unavailable: {0}")]
    Storage(#[from] StoreError),
    #[error("spangate is shutting down")]
    ShuttingDown,
}

impl IngestError {
    /// Seconds a client should wait before retrying, for Retry-After / RetryInfo.
    pub(crate) fn retry_after(&self) -> Duration {
        Duration::from_secs(1)
    }

    /// Whether the store refused the write for lack of disk space.
    pub(crate) fn is_no_space(&self) -> bool {
        matches!(self, IngestError::Storage(StoreError::NoSpace(_)))
    }
}

#[derive(Clone)]
pub(crate) struct Ingest {
    store: Arc<TraceStore>,
    /// The plugins every batch goes through; `None` runs none.
    pipelines: Option<Arc<PipelineHandle>>,
    /// Holds spans of undecided traces when a sampler tail-samples.
    tail: Option<Arc<TailSampler>>,
    write_slots: Arc<Semaphore>,
    /// Batches in the plugin pipeline at once: one per core. More would only queue
    /// blocking threads on the plugins' instances (samplers and metrics plugins have
    /// one each), parking and waking them for nothing.
    pipeline_slots: Arc<Semaphore>,
    /// The number of write slots, all of which `drain` takes back.
    max_inflight_writes: usize,
    queue_timeout: Duration,
}

impl Ingest {
    pub(crate) fn new(store: Arc<TraceStore>, config: &IngestConfig) -> Ingest {
        Ingest {
            store,
            pipelines: None,
            tail: None,
            write_slots: Arc::new(Semaphore::new(config.max_inflight_writes)),
            pipeline_slots: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            )),
            max_inflight_writes: config.max_inflight_writes,
            queue_timeout: config.queue_timeout,
        }
    }

    /// Runs `pipelines` on every batch before it is stored, and hands the result to
    /// `tail` (when a sampler tail-samples) instead of writing it directly.
    pub(crate) fn with_pipeline(
        mut self,
        pipelines: Arc<PipelineHandle>,
        tail: Option<Arc<TailSampler>>,
    ) -> Ingest {
        self.pipelines = Some(pipelines);
        self.tail = tail;
        self
    }

    /// Validates, stores and acknowledges one export request.
    pub(crate) async fn export(
        &self,
        mut request: ExportTraceServiceRequest,
    ) -> Result<IngestOutcome, IngestError> {
        let rejection = retain_valid_spans(&mut request);
        let accepted_spans = count_spans(&request.resource_spans);
        if accepted_spans > 0 {
            let permit =
                tokio::time::timeout(self.queue_timeout, self.write_slots.clone().acquire_owned())
                    .await
                    .map_err(|_| IngestError::Overloaded(self.queue_timeout))?
                    .map_err(|_| IngestError::ShuttingDown)?;
            let store = self.store.clone();
            let pipeline = match self.pipelines.as_ref().map(|handle| handle.current()) {
                Some(pipeline) if !pipeline.is_empty() => Some((
                    pipeline,
                    self.pipeline_slots
                        .clone()
                        .acquire_owned()
                        .await
                        .map_err(|_| IngestError::ShuttingDown)?,
                )),
                _ => None,
            };
            let tail = self.tail.clone();
            // Plugins, encoding and the RocksDB write block: one hop to the blocking
            // pool for all three (a hop per step cost measurable context switches).
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                if let Some((pipeline, slot)) = pipeline {
                    pipeline.run(&mut request);
                    drop(slot);
                }
                match tail {
                    Some(tail) => {
                        let admitted = tail.admit(&mut request);
                        tail.write(&request, &admitted)
                    }
                    None if request.resource_spans.is_empty() => Ok(0),
                    None => {
                        let tenant = store.tenant_for_write(SINGLE_TENANT)?;
                        store.write(tenant, &request)
                    }
                }
            })
            .await
            .map_err(|_| IngestError::ShuttingDown)??;
        }
        Ok(IngestOutcome {
            accepted_spans,
            rejected_spans: rejection.count,
            rejection_message: rejection.message,
        })
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
    use crate::model::{ResourceSpans, ScopeSpans, TraceId};
    use crate::store::StorageConfig;

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

    fn ingest_with_one_slot(dir: &std::path::Path) -> Ingest {
        let store = TraceStore::open(&StorageConfig {
            data_dir: dir.to_owned(),
            ..StorageConfig::default()
        })
        .unwrap();
        let config = IngestConfig {
            max_inflight_writes: 1,
            queue_timeout: Duration::from_millis(20),
        };
        Ingest::new(Arc::new(store), &config)
    }

    #[tokio::test]
    async fn busy_write_slots_refuse_with_a_retryable_error_and_store_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ingest = ingest_with_one_slot(dir.path());
        let held = ingest.write_slots.clone().acquire_owned().await.unwrap();
        let refused = ingest.export(one_span_request(1)).await;
        assert!(
            matches!(refused, Err(IngestError::Overloaded(_))),
            "{refused:?}"
        );
        let stored = ingest
            .store
            .get_trace(SINGLE_TENANT, &TraceId([1; 16]), None)
            .unwrap();
        assert!(stored.is_none());
        drop(held);
        let accepted = ingest.export(one_span_request(1)).await.unwrap();
        assert_eq!(accepted.accepted_spans, 1);
        assert!(
            ingest
                .store
                .get_trace(SINGLE_TENANT, &TraceId([1; 16]), None)
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn after_drain_exports_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ingest = ingest_with_one_slot(dir.path());
        ingest.export(one_span_request(2)).await.unwrap();
        ingest.drain().await;
        let refused = ingest.export(one_span_request(3)).await;
        assert!(
            matches!(refused, Err(IngestError::ShuttingDown)),
            "{refused:?}"
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
