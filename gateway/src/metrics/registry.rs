//! The gateway's own metrics: every `spangate_*` family, named and described once here,
//! and turned into points from the plain counters each module keeps (receivers,
//! plugins, the tail sampler, remote-write).

use crate::forward::QueueFigures;
use crate::ingest::memory::MemoryState;
use crate::ingest::{Discard, ReloadCounts, WriteQueueFigures};
use crate::metrics::remote_write::RemoteWriteStats;
use crate::model::{MetricPoint, MetricValue};
use crate::pipeline::Pipeline;
use crate::receiver::{ReceiverStats, Refusal, Transport};
use crate::store::StorageStats;
use crate::store::blocks::BlockList;
use crate::tail::TailStats;

/// A metric family: its name and its `# HELP` text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Family {
    pub name: &'static str,
    pub help: &'static str,
}

const fn family(name: &'static str, help: &'static str) -> Family {
    Family { name, help }
}

pub(crate) const SPANS_ACCEPTED: Family = family(
    "spangate_spans_accepted_total",
    "Spans stored and acknowledged to the client.",
);
pub(crate) const SPANS_REJECTED: Family = family(
    "spangate_spans_rejected_total",
    "Spans refused individually and reported in OTLP partial_success.",
);
pub(crate) const REQUESTS_REFUSED: Family = family(
    "spangate_requests_refused_total",
    "Export requests refused whole, by reason.",
);

pub(crate) const DISCARDED_SPANS: Family = family(
    "spangate_discarded_spans_total",
    "Spans of a tenant refused, by reason: its limits (rate_limited, trace_too_large, live_traces_exceeded), or their whole request refused retryably because the gateway could not take it (overloaded, no_space, unavailable).",
);

pub(crate) const CONFIG_RELOADS: Family = family(
    "spangate_config_reloads_total",
    "Configuration reloads (SIGHUP), by outcome: success (the new pipelines run) or failure (nothing changed; the log says why).",
);

/// The label naming the tenant on the `spangate_*` families, with multi-tenancy on.
pub(crate) const TENANT_LABEL: &str = "tenant";

pub(crate) const PLUGIN_CALLS: Family = family(
    "spangate_plugin_calls_total",
    "Batches handed to a plugin, including those its open circuit skipped.",
);
pub(crate) const PLUGIN_SPANS: Family = family(
    "spangate_plugin_spans_total",
    "Spans in the batches handed to a plugin.",
);
pub(crate) const PLUGIN_SPANS_DROPPED: Family = family(
    "spangate_plugin_spans_dropped_total",
    "Spans a plugin removed (drop edits, sampling decisions) or its on_error: drop removed.",
);
pub(crate) const PLUGIN_FAILURES: Family = family(
    "spangate_plugin_failures_total",
    "Plugin calls that failed or were skipped, by reason; on_error was applied.",
);
pub(crate) const PLUGIN_CALL_SECONDS: Family = family(
    "spangate_plugin_call_seconds_total",
    "Wall-clock time spent in a plugin's calls (waiting for a free instance, building its columns, the guest's work, applying its answer).",
);
pub(crate) const PLUGIN_RESTARTS: Family = family(
    "spangate_plugin_restarts_total",
    "Plugin instances re-created after a trap, timeout or memory overrun.",
);
pub(crate) const PLUGIN_CIRCUIT_OPENED: Family = family(
    "spangate_plugin_circuit_opened_total",
    "Times a plugin's circuit breaker opened.",
);
pub(crate) const PLUGIN_CIRCUIT_CLOSED: Family = family(
    "spangate_plugin_circuit_closed_total",
    "Times a plugin's circuit breaker closed again: the trial call after its cooldown succeeded.",
);
pub(crate) const PLUGIN_CIRCUIT_OPEN: Family = family(
    "spangate_plugin_circuit_open",
    "1 while a plugin's circuit breaker is open (its calls are skipped).",
);

pub(crate) const BLOCKS: Family = family(
    "spangate_blocks",
    "Columnar blocks in the store (the cold tier).",
);
pub(crate) const BLOCK_SPANS: Family =
    family("spangate_block_spans", "Spans held in columnar blocks.");
pub(crate) const BLOCK_BYTES: Family =
    family("spangate_block_bytes", "Bytes of the block files on disk.");
pub(crate) const STORE_OUT_OF_SPACE: Family = family(
    "spangate_store_out_of_space",
    "1 from a write refused for lack of disk space until a write succeeds again.",
);

pub(crate) const STORE_FAMILY_BYTES: Family = family(
    "spangate_store_family_bytes",
    "Bytes of each RocksDB column family, in SST files on disk (kind=sst) and in memtables (kind=memtable).",
);
pub(crate) const STORE_DISK_BYTES: Family = family(
    "spangate_store_disk_bytes",
    "Bytes the store occupies on disk: RocksDB's files, its write-ahead log and the block files.",
);
pub(crate) const STORE_MAX_DISK_BYTES: Family = family(
    "spangate_store_max_disk_bytes",
    "storage.max_disk_bytes (absent when there is no cap).",
);
pub(crate) const STORE_SPANS: Family = family(
    "spangate_store_spans",
    "Spans stored in the hot rows (RocksDB's estimate).",
);
pub(crate) const STORE_TRACES: Family = family(
    "spangate_store_traces",
    "Traces with a summary in the hot tier (RocksDB's estimate).",
);
pub(crate) const STORE_OLDEST_AGE: Family = family(
    "spangate_store_oldest_data_age_seconds",
    "Age of the oldest data a tenant still holds, by ingest time.",
);
pub(crate) const STORE_BUCKETS_DELETED: Family = family(
    "spangate_store_buckets_deleted_total",
    "Ingest-time buckets deleted, by reason: retention (older than storage.retention) or disk (over storage.max_disk_bytes).",
);

pub(crate) const STORE_BLOCKS_DELETED: Family = family(
    "spangate_store_blocks_deleted_total",
    "Columnar blocks of the cold tier deleted by retention.",
);

pub(crate) const TAIL_PENDING_TRACES: Family = family(
    "spangate_tail_pending_traces",
    "Traces held (and persisted) until their tail decision.",
);
pub(crate) const TAIL_PENDING_SPANS: Family = family(
    "spangate_tail_pending_spans",
    "Spans of traces held until their tail decision.",
);
pub(crate) const TAIL_TRACES_DECIDED: Family = family(
    "spangate_tail_traces_decided_total",
    "Traces the tail sampler decided, by verdict.",
);
pub(crate) const TAIL_SPANS_DELETED: Family = family(
    "spangate_tail_spans_deleted_total",
    "Stored spans deleted because their trace was dropped.",
);
pub(crate) const TAIL_LATE_SPANS: Family = family(
    "spangate_tail_late_spans_total",
    "Spans that arrived after their trace was decided, by the verdict they followed.",
);
pub(crate) const TAIL_DECIDED_EARLY: Family = family(
    "spangate_tail_decided_early_total",
    "Traces decided before decision_wait because a buffer bound was reached.",
);

pub(crate) const REMOTE_WRITE_REQUESTS: Family = family(
    "spangate_remote_write_requests_total",
    "Remote-write requests by outcome: ok (accepted), retried (an attempt that failed and was tried again), failed (given up: dropped).",
);
pub(crate) const REMOTE_WRITE_SAMPLES: Family = family(
    "spangate_remote_write_samples_total",
    "Samples pushed with remote-write: sent (accepted) or failed (dropped).",
);

pub(crate) const EXPORTER_QUEUE_BATCHES: Family = family(
    "spangate_exporter_queue_batches",
    "Batches waiting in an exporter's durable send queue (or being sent), per upstream.",
);
pub(crate) const EXPORTER_QUEUE_BYTES: Family = family(
    "spangate_exporter_queue_bytes",
    "Bytes waiting in an exporter's durable send queue, per upstream.",
);
pub(crate) const EXPORTER_QUEUE_MAX_BYTES: Family = family(
    "spangate_exporter_queue_max_bytes",
    "exporters[].queue.max_bytes: over it, new data is refused with a retryable status.",
);
pub(crate) const EXPORTER_QUEUE_OLDEST_AGE: Family = family(
    "spangate_exporter_queue_oldest_age_seconds",
    "Age of the oldest batch waiting for an upstream (0 when the queue is empty).",
);
pub(crate) const EXPORTER_UPSTREAM_IN_RING: Family = family(
    "spangate_exporter_upstream_in_ring",
    "1 when the upstream takes new traces, 0 when it left the set or was given up on.",
);
pub(crate) const EXPORTER_SENT_BATCHES: Family = family(
    "spangate_exporter_sent_batches_total",
    "Batches the upstream acknowledged.",
);
pub(crate) const EXPORTER_SENT_SPANS: Family = family(
    "spangate_exporter_sent_spans_total",
    "Spans in batches the upstream acknowledged.",
);
pub(crate) const EXPORTER_REJECTED_SPANS: Family = family(
    "spangate_exporter_rejected_spans_total",
    "Spans an upstream refused individually in an acknowledged batch (OTLP partial_success).",
);
pub(crate) const EXPORTER_RETRIES: Family = family(
    "spangate_exporter_retries_total",
    "Send attempts that failed with a retryable error (the batch stays queued).",
);
pub(crate) const EXPORTER_FAILED_BATCHES: Family = family(
    "spangate_exporter_failed_batches_total",
    "Batches dropped because the upstream refused them for good (e.g. INVALID_ARGUMENT, HTTP 400).",
);
pub(crate) const EXPORTER_FAILED_SPANS: Family = family(
    "spangate_exporter_failed_spans_total",
    "Spans in batches the upstream refused for good.",
);
pub(crate) const EXPORTER_REROUTED_BATCHES: Family = family(
    "spangate_exporter_rerouted_batches_total",
    "Batches moved from an upstream that left the ring to the others.",
);

/// A counter point of `family` with static label names.
pub(crate) fn counter(family: Family, labels: &[(&str, &str)], value: u64) -> MetricPoint {
    point(family, labels, MetricValue::Counter(value as f64))
}

/// A gauge point of `family` with static label names.
pub(crate) fn gauge(family: Family, labels: &[(&str, &str)], value: f64) -> MetricPoint {
    point(family, labels, MetricValue::Gauge(value))
}

fn point(family: Family, labels: &[(&str, &str)], value: MetricValue) -> MetricPoint {
    MetricPoint {
        name: family.name.to_owned(),
        help: family.help.to_owned(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        value,
        exemplar: None,
    }
}

/// What the receivers accepted, rejected and refused, per transport (and reason).
pub(crate) fn receiver_points(stats: &ReceiverStats) -> Vec<MetricPoint> {
    let mut points = Vec::new();
    type Count = fn(&ReceiverStats, Transport) -> u64;
    let per_transport: [(Family, Count); 2] = [
        (SPANS_ACCEPTED, ReceiverStats::accepted_spans),
        (SPANS_REJECTED, ReceiverStats::rejected_spans),
    ];
    for (family, count) in per_transport {
        for transport in Transport::ALL {
            points.push(counter(
                family,
                &[("transport", transport.label())],
                count(stats, transport),
            ));
        }
    }
    for transport in Transport::ALL {
        for refusal in Refusal::ALL {
            points.push(counter(
                REQUESTS_REFUSED,
                &[
                    ("transport", transport.label()),
                    ("reason", refusal.label()),
                ],
                stats.refused_requests(transport, refusal),
            ));
        }
    }
    points
}

/// Configuration reloads by outcome (both series always present, from 0).
pub(crate) fn reload_points(reloads: ReloadCounts) -> Vec<MetricPoint> {
    vec![
        counter(CONFIG_RELOADS, &[("outcome", "success")], reloads.succeeded),
        counter(CONFIG_RELOADS, &[("outcome", "failure")], reloads.failed),
    ]
}

/// Spans each tenant's limits discarded, by reason (tenants with none have no series).
pub(crate) fn discarded_points(discarded: &[(String, Discard, u64)]) -> Vec<MetricPoint> {
    discarded
        .iter()
        .map(|(tenant, reason, count)| {
            counter(
                DISCARDED_SPANS,
                &[(TENANT_LABEL, tenant), ("reason", reason.label())],
                *count,
            )
        })
        .collect()
}

/// Each plugin's counters (the series metrics plugins collect are separate:
/// [`super::series_points`]).
pub(crate) fn plugin_points(pipeline: &Pipeline) -> Vec<MetricPoint> {
    let mut points = Vec::new();
    for plugin in pipeline.plugins() {
        let stats = plugin.stats();
        let labels = [("plugin", plugin.name()), ("kind", plugin.kind().as_str())];
        points.push(counter(PLUGIN_CALLS, &labels, stats.calls));
        points.push(counter(PLUGIN_SPANS, &labels, stats.spans_in));
        points.push(counter(PLUGIN_SPANS_DROPPED, &labels, stats.spans_dropped));
        for (failure, count) in stats.failures.iter() {
            let [plugin, kind] = labels;
            points.push(counter(
                PLUGIN_FAILURES,
                &[plugin, kind, ("reason", failure.as_str())],
                count,
            ));
        }
        points.push(point(
            PLUGIN_CALL_SECONDS,
            &labels,
            MetricValue::Counter(stats.call_time.as_secs_f64()),
        ));
        points.push(counter(PLUGIN_RESTARTS, &labels, stats.restarts));
        points.push(counter(
            PLUGIN_CIRCUIT_OPENED,
            &labels,
            stats.circuit_opened,
        ));
        points.push(counter(
            PLUGIN_CIRCUIT_CLOSED,
            &labels,
            stats.circuit_closed,
        ));
        points.push(gauge(
            PLUGIN_CIRCUIT_OPEN,
            &labels,
            if stats.circuit_open { 1.0 } else { 0.0 },
        ));
    }
    points
}

/// The tail sampler's counters.
pub(crate) fn tail_points(stats: &TailStats) -> Vec<MetricPoint> {
    vec![
        gauge(TAIL_PENDING_TRACES, &[], stats.pending_traces as f64),
        gauge(TAIL_PENDING_SPANS, &[], stats.pending_spans as f64),
        counter(
            TAIL_TRACES_DECIDED,
            &[("verdict", "keep")],
            stats.traces_kept,
        ),
        counter(
            TAIL_TRACES_DECIDED,
            &[("verdict", "drop")],
            stats.traces_dropped,
        ),
        counter(TAIL_SPANS_DELETED, &[], stats.spans_deleted),
        counter(
            TAIL_LATE_SPANS,
            &[("verdict", "keep")],
            stats.late_spans_kept,
        ),
        counter(
            TAIL_LATE_SPANS,
            &[("verdict", "drop")],
            stats.late_spans_dropped,
        ),
        counter(TAIL_DECIDED_EARLY, &[], stats.decided_early),
    ]
}

/// The cold tier's size.
pub(crate) fn block_points(blocks: &BlockList) -> Vec<MetricPoint> {
    let (mut spans, mut bytes) = (0u64, 0u64);
    for listed in blocks.iter() {
        spans += listed.open.meta.span_count;
        bytes += listed.open.meta.bytes;
    }
    vec![
        gauge(BLOCKS, &[], blocks.len() as f64),
        gauge(BLOCK_SPANS, &[], spans as f64),
        gauge(BLOCK_BYTES, &[], bytes as f64),
    ]
}

/// The store's size, contents and deletions, at `now` (unix seconds).
pub(crate) fn store_points(stats: &StorageStats, now: u64) -> Vec<MetricPoint> {
    let mut points = Vec::new();
    for (family, sst, memtable) in &stats.families {
        points.push(gauge(
            STORE_FAMILY_BYTES,
            &[("family", family), ("kind", "sst")],
            *sst as f64,
        ));
        points.push(gauge(
            STORE_FAMILY_BYTES,
            &[("family", family), ("kind", "memtable")],
            *memtable as f64,
        ));
    }
    points.push(gauge(STORE_DISK_BYTES, &[], stats.disk_bytes as f64));
    if let Some(max) = stats.max_disk_bytes {
        points.push(gauge(STORE_MAX_DISK_BYTES, &[], max as f64));
    }
    points.push(gauge(STORE_SPANS, &[], stats.spans_estimate as f64));
    points.push(gauge(STORE_TRACES, &[], stats.traces_estimate as f64));
    for tenant in &stats.tenants {
        if let Some(oldest) = tenant.oldest_seconds {
            points.push(gauge(
                STORE_OLDEST_AGE,
                &[("tenant", &tenant.name)],
                now.saturating_sub(oldest) as f64,
            ));
        }
    }
    points.push(counter(
        STORE_BUCKETS_DELETED,
        &[("reason", "retention")],
        stats.expired_buckets,
    ));
    points.push(counter(
        STORE_BUCKETS_DELETED,
        &[("reason", "disk")],
        stats.evicted_buckets,
    ));
    points.push(counter(STORE_BLOCKS_DELETED, &[], stats.expired_blocks));
    points.push(gauge(
        STORE_OUT_OF_SPACE,
        &[],
        f64::from(u8::from(stats.out_of_space)),
    ));
    points
}

/// Each exporter queue's size, age and outcome counters, at `now` (unix nanoseconds).
pub(crate) const MEMORY_RESIDENT: Family = family(
    "spangate_memory_resident_bytes",
    "Resident memory of the process at the memory limiter's last sample (0 without limits.memory).",
);
pub(crate) const MEMORY_LIMIT: Family = family(
    "spangate_memory_limit_bytes",
    "limits.memory (0: no budget).",
);
pub(crate) const MEMORY_SOFT_LIMIT: Family = family(
    "spangate_memory_soft_limit_bytes",
    "limits.memory - limits.memory_spike: over it, new requests are refused (retryable).",
);
pub(crate) const MEMORY_RELIEFS: Family = family(
    "spangate_memory_reliefs_total",
    "Times memtables were flushed and the allocator purged because memory was over the soft limit.",
);

pub(crate) const INGEST_WRITES_IN_FLIGHT: Family = family(
    "spangate_ingest_writes_in_flight",
    "Export requests holding a write slot now (in the plugin pipeline or the store write).",
);
pub(crate) const INGEST_WRITES_WAITING: Family = family(
    "spangate_ingest_writes_waiting",
    "Export requests waiting for a write slot now; past ingest.queue_timeout they are refused as overloaded.",
);
pub(crate) const INGEST_MAX_INFLIGHT_WRITES: Family = family(
    "spangate_ingest_max_inflight_writes",
    "Write slots (ingest.max_inflight_writes).",
);

/// The ingest write queue: slots held, requests waiting, slots in all.
pub(crate) fn write_queue_points(queue: WriteQueueFigures) -> Vec<MetricPoint> {
    vec![
        gauge(INGEST_WRITES_IN_FLIGHT, &[], queue.in_flight as f64),
        gauge(INGEST_WRITES_WAITING, &[], queue.waiting as f64),
        gauge(INGEST_MAX_INFLIGHT_WRITES, &[], queue.max as f64),
    ]
}

pub(crate) fn memory_points(memory: &MemoryState) -> Vec<MetricPoint> {
    let (resident, limit, soft_limit, reliefs) = memory.figures();
    vec![
        gauge(MEMORY_RESIDENT, &[], resident as f64),
        gauge(MEMORY_LIMIT, &[], limit as f64),
        gauge(MEMORY_SOFT_LIMIT, &[], soft_limit as f64),
        counter(MEMORY_RELIEFS, &[], reliefs),
    ]
}

pub(crate) fn exporter_points(
    queues: &[QueueFigures],
    max_bytes: &[(String, u64)],
    now: u64,
) -> Vec<MetricPoint> {
    let mut points = Vec::new();
    for (exporter, max) in max_bytes {
        points.push(gauge(
            EXPORTER_QUEUE_MAX_BYTES,
            &[("exporter", exporter)],
            *max as f64,
        ));
    }
    for q in queues {
        let labels = [
            ("exporter", q.exporter.as_str()),
            ("upstream", q.upstream.as_str()),
        ];
        let age = q
            .oldest_seq
            .map_or(0.0, |seq| now.saturating_sub(seq) as f64 / 1e9);
        points.extend([
            gauge(EXPORTER_QUEUE_BATCHES, &labels, q.batches as f64),
            gauge(EXPORTER_QUEUE_BYTES, &labels, q.bytes as f64),
            gauge(EXPORTER_QUEUE_OLDEST_AGE, &labels, age),
            gauge(
                EXPORTER_UPSTREAM_IN_RING,
                &labels,
                f64::from(u8::from(!q.removed)),
            ),
            counter(EXPORTER_SENT_BATCHES, &labels, q.sent_batches),
            counter(EXPORTER_SENT_SPANS, &labels, q.sent_spans),
            counter(EXPORTER_REJECTED_SPANS, &labels, q.rejected_spans),
            counter(EXPORTER_RETRIES, &labels, q.retries),
            counter(EXPORTER_FAILED_BATCHES, &labels, q.failed_batches),
            counter(EXPORTER_FAILED_SPANS, &labels, q.failed_spans),
            counter(EXPORTER_REROUTED_BATCHES, &labels, q.rerouted_batches),
        ]);
    }
    points
}

/// Remote-write's outcome counters.
pub(crate) fn remote_write_points(stats: &RemoteWriteStats) -> Vec<MetricPoint> {
    let counts = stats.counts();
    vec![
        counter(
            REMOTE_WRITE_REQUESTS,
            &[("outcome", "ok")],
            counts.requests_ok,
        ),
        counter(
            REMOTE_WRITE_REQUESTS,
            &[("outcome", "retried")],
            counts.requests_retried,
        ),
        counter(
            REMOTE_WRITE_REQUESTS,
            &[("outcome", "failed")],
            counts.requests_failed,
        ),
        counter(
            REMOTE_WRITE_SAMPLES,
            &[("outcome", "sent")],
            counts.samples_sent,
        ),
        counter(
            REMOTE_WRITE_SAMPLES,
            &[("outcome", "failed")],
            counts.samples_failed,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exposition::{Format, render};

    #[test]
    fn receiver_counts_are_rendered_per_transport_and_reason() {
        let stats = ReceiverStats::default();
        stats.record_export(Transport::Grpc, 10, 2);
        stats.record_export(Transport::Grpc, 5, 0);
        stats.record_refusal(Transport::Http, Refusal::TooLarge);
        let text = render(&receiver_points(&stats), Format::Prometheus);
        assert!(text.contains("spangate_spans_accepted_total{transport=\"grpc\"} 15\n"));
        assert!(text.contains("spangate_spans_rejected_total{transport=\"grpc\"} 2\n"));
        assert!(text.contains("spangate_spans_accepted_total{transport=\"http\"} 0\n"));
        assert!(text.contains(
            "spangate_requests_refused_total{transport=\"http\",reason=\"too_large\"} 1\n"
        ));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(series.starts_with("spangate_"), "{line}");
            value.parse::<u64>().unwrap();
        }
    }
}
