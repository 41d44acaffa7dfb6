//! Forwarding over OTLP (`exporters:`): what the pipeline lets through is queued for
//! every exporter in the same store commit that acknowledges it (`prepare`, then the
//! store write, then `committed`), and each upstream's sender task empties its queue
//! (`sender.rs`). A routing exporter spreads traces over several upstreams by
//! consistent hashing of the trace id (`ring.rs`, `routing.rs`), one queue each, so a
//! trace's spans all reach the same upstream while the set is stable.

mod client;
pub(crate) mod config;
mod entry;
mod queue;
mod ring;
mod routing;
mod sender;
mod split;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};

use tokio_util::sync::CancellationToken;

pub(crate) use config::ExporterConfig;
pub(crate) use queue::QueueFigures;
use queue::UpstreamQueue;
use routing::Exporter;
pub(crate) use split::split_by_owner;

use crate::model::{ExportTraceServiceRequest, count_spans};
use crate::store::{OutboxEntry, Outgoing, QueueId, StoreError, TraceStore};

#[derive(Debug, thiserror::Error)]
pub(crate) enum ForwardError {
    /// The exporter's queue holds `queue.max_bytes`: the client should retry later.
    #[error(
        "the send queue of exporter `{exporter}` is full ({max_bytes} bytes waiting for its \
         upstream); retry later"
    )]
    QueueFull { exporter: String, max_bytes: u64 },
    /// A routing exporter has no upstream now (DNS gave no address, all given up).
    #[error("exporter `{exporter}` has no upstream to route to now; retry later")]
    NoUpstream { exporter: String },
    #[error("exporter `{exporter}`: {message}")]
    Start { exporter: String, message: String },
    #[error("send queue: {0}")]
    Store(#[from] StoreError),
}

/// Every exporter, with its queues and sender tasks.
pub(crate) struct Forwarder {
    exporters: Vec<Arc<Exporter>>,
    /// Every queue by id, for `committed`.
    queues: Arc<RwLock<HashMap<QueueId, Arc<UpstreamQueue>>>>,
    /// The last `seq` handed out: ingest time in unix nanoseconds, unique.
    last_seq: AtomicU64,
}

impl Forwarder {
    /// No exporters: `prepare` returns nothing to queue.
    pub(crate) fn none() -> Forwarder {
        Forwarder {
            exporters: Vec::new(),
            queues: Arc::default(),
            last_seq: AtomicU64::new(0),
        }
    }

    /// Loads every exporter's queues from the store (batches a crash left unsent
    /// included), routes anew what was queued for upstreams no longer configured, and
    /// starts the senders; they run until `shutdown`.
    pub(crate) async fn start(
        configs: &[ExporterConfig],
        store: Arc<TraceStore>,
        base_dir: &Path,
        shutdown: CancellationToken,
    ) -> Result<Forwarder, ForwardError> {
        let queues: Arc<RwLock<HashMap<QueueId, Arc<UpstreamQueue>>>> = Arc::default();
        let registered = store.registered_queues()?;
        let mut last_seq = 0;
        let mut exporters = Vec::new();
        for config in configs {
            let exporter = Exporter::start(
                config.clone(),
                PathBuf::from(base_dir),
                store.clone(),
                queues.clone(),
                &registered,
                shutdown.clone(),
            )
            .await?;
            last_seq = last_seq.max(exporter.last_seq());
            exporters.push(exporter);
        }
        for (_, label) in &registered {
            let exporter = routing::exporter_of_label(label);
            if !configs.iter().any(|c| c.name == exporter) {
                tracing::warn!(
                    exporter,
                    queue = %label.replace('\n', " → "),
                    "batches queued for an exporter no longer configured stay on disk; \
                     configure it again to send them"
                );
            }
        }
        for exporter in &exporters {
            exporter.clone().spawn_supervisor(shutdown.clone());
        }
        Ok(Forwarder {
            exporters,
            queues,
            last_seq: AtomicU64::new(last_seq),
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.exporters.is_empty()
    }

    /// Refuses new data while an exporter's queue is full or it has no upstream.
    pub(crate) fn check_room(&self) -> Result<(), ForwardError> {
        self.exporters.iter().try_for_each(|e| e.check_room())
    }

    /// The batches `request` of `tenant` adds to every exporter's queues, to be written
    /// in the same commit as the request itself; then call `committed`.
    pub(crate) fn prepare(
        &self,
        tenant: &str,
        request: &ExportTraceServiceRequest,
    ) -> Result<Outgoing, ForwardError> {
        let mut outgoing = Outgoing::default();
        if self.exporters.is_empty() || request.resource_spans.is_empty() {
            return Ok(outgoing);
        }
        for exporter in &self.exporters {
            exporter.check_room()?;
            for (queue, part) in exporter.route(request)? {
                let part = part.as_ref().unwrap_or(request);
                let spans = count_spans(&part.resource_spans);
                if spans == 0 {
                    continue;
                }
                let value = entry::encode(tenant, part, spans);
                outgoing.entries.push(OutboxEntry {
                    queue,
                    seq: self.next_seq(),
                    value,
                });
            }
        }
        Ok(outgoing)
    }

    /// After the commit that wrote `outgoing`: its batches are queued; wake the senders.
    pub(crate) fn committed(&self, outgoing: &Outgoing) {
        add_committed(&self.queues, outgoing);
    }

    /// Every queue's figures, for `/metrics`.
    pub(crate) fn figures(&self) -> Vec<QueueFigures> {
        let queues = self.queues.read().unwrap_or_else(|e| e.into_inner());
        let mut figures: Vec<QueueFigures> = queues.values().map(|q| q.figures()).collect();
        figures.sort_by(|a, b| (&a.exporter, &a.upstream).cmp(&(&b.exporter, &b.upstream)));
        figures
    }

    /// Each exporter's `queue.max_bytes`, for `/metrics`.
    pub(crate) fn max_bytes(&self) -> Vec<(String, u64)> {
        self.exporters
            .iter()
            .map(|e| (e.name().to_owned(), e.max_bytes()))
            .collect()
    }

    /// Ingest time in unix nanoseconds, unique: the queue's order and its batches' age.
    fn next_seq(&self) -> u64 {
        crate::store::next_clock_id(&self.last_seq)
    }
}

/// Records `outgoing`'s batches, now in the store, in their queues (waking the senders).
fn add_committed(queues: &RwLock<HashMap<QueueId, Arc<UpstreamQueue>>>, outgoing: &Outgoing) {
    if outgoing.is_empty() {
        return;
    }
    let queues = queues.read().unwrap_or_else(|e| e.into_inner());
    for entry in &outgoing.entries {
        if let Some(queue) = queues.get(&entry.queue) {
            queue.add([(entry.seq, entry.value.len() as u64)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use prost::Message;

    use super::*;
    use crate::model::{ResourceSpans, SINGLE_TENANT, ScopeSpans, Span};
    use crate::store::StorageConfig;

    fn request(traces: u8, spans_per_trace: u8) -> ExportTraceServiceRequest {
        let spans = (1..=traces)
            .flat_map(|trace| {
                (1..=spans_per_trace).map(move |span| Span {
                    trace_id: vec![trace; 16],
                    span_id: vec![span; 8],
                    ..Default::default()
                })
            })
            .collect();
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[tokio::test]
    async fn a_request_is_split_by_trace_over_the_upstreams_and_queued() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            TraceStore::open(&StorageConfig {
                data_dir: dir.path().to_owned(),
                ..StorageConfig::default()
            })
            .unwrap(),
        );
        // Nothing listens on these ports: batches stay queued.
        let configs: Vec<ExporterConfig> = serde_yaml_ng::from_str(
            "- { name: tier, protocol: grpc, routing: { endpoints: \
             ['http://127.0.0.1:9', 'http://127.0.0.1:10', 'http://127.0.0.1:11'] } }",
        )
        .unwrap();
        let stop = CancellationToken::new();
        let forwarder = Forwarder::start(&configs, store.clone(), Path::new("."), stop.clone())
            .await
            .unwrap();
        let request = request(30, 2);
        let outgoing = forwarder.prepare(SINGLE_TENANT, &request).unwrap();
        assert_eq!(
            outgoing.entries.len(),
            3,
            "30 traces reach all three upstreams"
        );
        let mut owner_of: HashMap<Vec<u8>, QueueId> = HashMap::new();
        let mut spans = 0;
        for entry in &outgoing.entries {
            let batch = entry::decode(entry.value.clone()).unwrap();
            assert_eq!(batch.tenant, SINGLE_TENANT);
            let part = ExportTraceServiceRequest::decode(batch.payload).unwrap();
            assert_eq!(batch.spans as usize, count_spans(&part.resource_spans));
            for span in part
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
            {
                spans += 1;
                let owner = owner_of.entry(span.trace_id.clone()).or_insert(entry.queue);
                assert_eq!(*owner, entry.queue, "a trace was split between upstreams");
            }
        }
        assert_eq!(spans, 60);
        let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
        store.write_with(tenant, &request, &outgoing).unwrap();
        forwarder.committed(&outgoing);
        let figures = forwarder.figures();
        assert_eq!(figures.len(), 3);
        assert!(
            figures.iter().all(|f| f.batches == 1 && !f.removed),
            "{figures:?}"
        );
        // A full queue refuses.
        assert!(forwarder.check_room().is_ok());
        stop.cancel();
    }
}
