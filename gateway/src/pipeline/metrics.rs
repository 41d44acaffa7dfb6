//! What `/metrics` shows about the pipeline: each plugin's counters (calls, spans,
//! failures by kind, restarts, circuit breaker), the tail sampler's, and the series
//! of metrics plugins (span-metrics' RED metrics and service graph).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::pipeline::Pipeline;
use crate::plugin::{MetricPoint, MetricValue, PluginKind};
use crate::tail::TailStats;
use crate::telemetry::{counter_point, gauge_point};

/// Counters of every plugin, then the series every metrics plugin collects now.
pub fn plugin_points(pipeline: &Pipeline) -> Vec<MetricPoint> {
    let mut points = Vec::new();
    for plugin in pipeline.plugins() {
        let stats = plugin.stats();
        let name = plugin.name();
        let kind = plugin.kind().as_str();
        let labels = || vec![("plugin", name), ("kind", kind)];
        points.push(counter_point(
            "spangate_plugin_calls_total",
            "Batches handed to a plugin, including those its open circuit skipped.",
            labels(),
            stats.calls,
        ));
        points.push(counter_point(
            "spangate_plugin_spans_total",
            "Spans in the batches handed to a plugin.",
            labels(),
            stats.spans_in,
        ));
        points.push(counter_point(
            "spangate_plugin_spans_dropped_total",
            "Spans a plugin removed (drop edits, sampling decisions) or its on_error: drop removed.",
            labels(),
            stats.spans_dropped,
        ));
        for (failure, count) in stats.failures.iter() {
            let mut failure_labels = labels();
            failure_labels.push(("reason", failure.as_str()));
            points.push(counter_point(
                "spangate_plugin_failures_total",
                "Plugin calls that failed or were skipped, by reason; on_error was applied.",
                failure_labels,
                count,
            ));
        }
        points.push(MetricPoint {
            value: MetricValue::Counter(stats.call_time.as_secs_f64()),
            ..counter_point(
                "spangate_plugin_call_seconds_total",
                "Wall-clock time spent in a plugin's calls (waiting for a free instance, building its columns, the guest's work, applying its answer).",
                labels(),
                0,
            )
        });
        points.push(counter_point(
            "spangate_plugin_restarts_total",
            "Plugin instances re-created after a trap, timeout or memory overrun.",
            labels(),
            stats.restarts,
        ));
        points.push(counter_point(
            "spangate_plugin_circuit_opened_total",
            "Times a plugin's circuit breaker opened.",
            labels(),
            stats.circuit_opened,
        ));
        points.push(gauge_point(
            "spangate_plugin_circuit_open",
            "1 while a plugin's circuit breaker is open (its calls are skipped).",
            labels(),
            if stats.circuit_open { 1.0 } else { 0.0 },
        ));
    }
    points.extend(series_points(pipeline, unix_nanos_now()));
    points
}

/// The series every metrics plugin collects at `now_unix_nanos` (a guest call each:
/// call off the async workers). What `metrics.remote_write` pushes.
pub fn series_points(pipeline: &Pipeline, now_unix_nanos: u64) -> Vec<MetricPoint> {
    let mut points = Vec::new();
    for plugin in pipeline.plugins() {
        if plugin.kind() == PluginKind::Metrics {
            points.extend(plugin.collect(now_unix_nanos));
        }
    }
    points
}

pub fn unix_nanos_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The tail sampler's counters.
pub fn tail_points(stats: &TailStats) -> Vec<MetricPoint> {
    vec![
        gauge_point(
            "spangate_tail_pending_traces",
            "Traces held (and persisted) until their tail decision.",
            vec![],
            stats.pending_traces as f64,
        ),
        gauge_point(
            "spangate_tail_pending_spans",
            "Spans of traces held until their tail decision.",
            vec![],
            stats.pending_spans as f64,
        ),
        counter_point(
            "spangate_tail_traces_decided_total",
            "Traces the tail sampler decided, by verdict.",
            vec![("verdict", "keep")],
            stats.traces_kept,
        ),
        counter_point(
            "spangate_tail_traces_decided_total",
            "Traces the tail sampler decided, by verdict.",
            vec![("verdict", "drop")],
            stats.traces_dropped,
        ),
        counter_point(
            "spangate_tail_spans_deleted_total",
            "Stored spans deleted because their trace was dropped.",
            vec![],
            stats.spans_deleted,
        ),
        counter_point(
            "spangate_tail_late_spans_total",
            "Spans that arrived after their trace was decided, by the verdict they followed.",
            vec![("verdict", "keep")],
            stats.late_spans_kept,
        ),
        counter_point(
            "spangate_tail_late_spans_total",
            "Spans that arrived after their trace was decided, by the verdict they followed.",
            vec![("verdict", "drop")],
            stats.late_spans_dropped,
        ),
        counter_point(
            "spangate_tail_decided_early_total",
            "Traces decided before decision_wait because a buffer bound was reached.",
            vec![],
            stats.decided_early,
        ),
    ]
}
