//! Span metrics (RED): Tempo's `span-metrics` processor
//! (`modules/generator/processor/spanmetrics/spanmetrics.go`,
//! `aggregateMetricsForSpan`).
//!
//! Every span adds 1 to `traces_spanmetrics_calls_total`, its duration in
//! seconds to `traces_spanmetrics_latency`, and its encoded size in bytes to
//! `traces_spanmetrics_size_total`, under the label set built from the
//! intrinsic dimensions, the configured attribute dimensions and the
//! dimension mappings. The three families share one label set, so they share
//! one registry entry.

use crate::config::{RegistryConfig, SpanMetricsConfig};
use crate::exemplar::{ExemplarLabels, RawExemplar};
use crate::histogram::{Counter, Histogram, histogram_series_cost};
use crate::labels::{
    KeyBuilder, dedup_last_wins, lookup, sanitize_with_collisions, span_kind_code,
    status_code_code, truncate,
};
use crate::model::SpanSource;
use crate::reads::Reads;
use crate::registry::{Budget, SeriesMap};
use crate::series::{MetricType, Series};

pub const CALLS_TOTAL: &str = "traces_spanmetrics_calls_total";
pub const LATENCY: &str = "traces_spanmetrics_latency";
pub const SIZE_TOTAL: &str = "traces_spanmetrics_size_total";

const HELP_CALLS: &str = "Total count of the spans";
const HELP_LATENCY: &str = "Duration of the spans in seconds";
const HELP_SIZE: &str = "Total size of the spans in bytes, as encoded on the wire";

/// Tempo's `SupportedIntrinsicDimensions`: attribute dimensions that sanitize
/// to one of these get a `__` prefix.
const INTRINSICS: &[&str] = &[
    "service",
    "span_name",
    "span_kind",
    "status_code",
    "status_message",
];

/// Where a label's value comes from.
#[derive(Debug, Clone)]
enum Source {
    Service,
    SpanName,
    SpanKind,
    StatusCode,
    StatusMessage,
    /// Attribute key, resource first then span.
    Attr(String),
    /// Non-empty values of these keys joined by `join`.
    Mapping {
        keys: Vec<String>,
        join: String,
    },
}

struct SpanSeries {
    calls: Counter,
    size: Counter,
    /// `None` when the latency subprocessor is off.
    latency: Option<Histogram>,
}

pub struct SpanMetricsProcessor {
    sources: Vec<Source>,
    bounds: Vec<f64>,
    count: bool,
    latency: bool,
    size: bool,
    series: SeriesMap<SpanSeries>,
    /// Prometheus series per label set, for the budget.
    cost: usize,
    key: KeyBuilder,
    scratch: String,
}

impl SpanMetricsProcessor {
    pub fn new(cfg: &SpanMetricsConfig, reg: &RegistryConfig) -> Self {
        let max_name = reg.max_label_name_length;
        let mut names: Vec<String> = Vec::new();
        let mut sources: Vec<Source> = Vec::new();
        let d = cfg.intrinsic_dimensions;
        for (on, name, src) in [
            (d.service, "service", Source::Service),
            (d.span_name, "span_name", Source::SpanName),
            (d.span_kind, "span_kind", Source::SpanKind),
            (d.status_code, "status_code", Source::StatusCode),
            (d.status_message, "status_message", Source::StatusMessage),
        ] {
            if on {
                names.push(name.to_owned());
                sources.push(src);
            }
        }
        for dim in &cfg.dimensions {
            let label = sanitize_with_collisions(dim, INTRINSICS);
            names.push(truncate(&label, max_name).to_owned());
            sources.push(Source::Attr(dim.clone()));
        }
        for m in &cfg.dimension_mappings {
            let label = sanitize_with_collisions(&m.name, INTRINSICS);
            names.push(truncate(&label, max_name).to_owned());
            sources.push(Source::Mapping {
                keys: m.source_labels.clone(),
                join: m.join.clone(),
            });
        }
        // Two dimensions sanitizing to the same label: the later one wins,
        // as in Tempo's label builder. Dropping the loser here keeps the key
        // one-to-one with the label set.
        let keep = dedup_last_wins(&names);
        let names: Vec<String> = keep.iter().map(|&i| names[i].clone()).collect();
        let sources: Vec<Source> = keep.iter().map(|&i| sources[i].clone()).collect();

        let s = cfg.subprocessors;
        let bounds = cfg.histogram_buckets.clone();
        let cost = usize::from(s.count)
            + usize::from(s.size)
            + if s.latency {
                histogram_series_cost(&bounds)
            } else {
                0
            };
        Self {
            sources,
            count: s.count,
            latency: s.latency,
            size: s.size,
            series: SeriesMap::new(names),
            cost,
            bounds,
            key: KeyBuilder::new(reg.max_label_value_length),
            scratch: String::new(),
        }
    }

    /// Account one span. Returns `false` if its series could not be created
    /// because of the cardinality cap.
    pub fn observe<S: SpanSource>(&mut self, span: &S, now: u64, budget: &mut Budget) -> bool {
        if !(self.count || self.latency || self.size) {
            return true;
        }
        self.build_key(span);
        let bounds = &self.bounds;
        let latency_on = self.latency;
        let Some(series) =
            self.series
                .get_or_create(self.key.as_bytes(), now, budget, self.cost, || SpanSeries {
                    calls: Counter::default(),
                    size: Counter::default(),
                    latency: latency_on.then(|| Histogram::new(bounds)),
                })
        else {
            return false;
        };
        let latency_seconds = span.duration_seconds();
        let (trace_id, span_id) = (span.trace_id(), span.span_id());
        let exemplar = |value: f64| RawExemplar {
            trace_id,
            span_id,
            value,
            timestamp_unix_nanos: now,
        };
        if self.count {
            series.calls.add(1.0, Some(exemplar(1.0)));
        }
        if let Some(h) = series.latency.as_mut() {
            h.observe(bounds, latency_seconds, exemplar(latency_seconds));
        }
        if self.size {
            let size = span.encoded_size() as f64;
            series.size.add(size, Some(exemplar(size)));
        }
        true
    }

    fn build_key<S: SpanSource>(&mut self, span: &S) {
        let k = &mut self.key;
        k.clear();
        for src in &self.sources {
            match src {
                Source::Service => k.push_attr(span.service_name()),
                Source::SpanName => k.push(span.name()),
                Source::SpanKind => k.push_code(span_kind_code(span.kind())),
                Source::StatusCode => k.push_code(status_code_code(span.status_code())),
                Source::StatusMessage => k.push(span.status_message()),
                Source::Attr(key) => k.push_lookup(key, span),
                Source::Mapping { keys, join } => {
                    let out = &mut self.scratch;
                    out.clear();
                    for key in keys {
                        let Some(v) = lookup(span, key) else {
                            continue;
                        };
                        // Written in place; an empty value is taken back out.
                        let before = out.len();
                        if before > 0 {
                            out.push_str(join);
                        }
                        let value_start = out.len();
                        v.stringify_into(out);
                        if out.len() == value_start {
                            out.truncate(before);
                        }
                    }
                    k.push(out);
                }
            }
        }
    }

    /// Adds what [`observe`](Self::observe) reads of a span to `reads`.
    pub fn reads(&self, reads: &mut Reads) {
        if !(self.count || self.latency || self.size) {
            return;
        }
        // Exemplars carry the trace and span ids.
        reads.trace_id = true;
        reads.span_id = true;
        reads.times |= self.latency;
        reads.size |= self.size;
        for src in &self.sources {
            match src {
                Source::Service => reads.service_name = true,
                Source::SpanName => reads.name = true,
                Source::SpanKind => reads.kind = true,
                Source::StatusCode => reads.status = true,
                Source::StatusMessage => reads.status_message = true,
                Source::Attr(key) => reads.resource_then_span(key),
                Source::Mapping { keys, .. } => {
                    for key in keys {
                        reads.resource_then_span(key);
                    }
                }
            }
        }
    }

    pub fn remove_stale(&mut self, cutoff: u64, budget: &mut Budget) {
        self.series.remove_stale(cutoff, budget);
    }

    pub fn active_label_sets(&self) -> usize {
        self.series.len()
    }

    pub fn export(&self, names: &ExemplarLabels, out: &mut Vec<Series>) {
        for e in self.series.iter() {
            let s = &e.value;
            if self.count {
                out.push(Series {
                    name: CALLS_TOTAL,
                    metric_type: MetricType::Counter,
                    help: HELP_CALLS,
                    labels: e.labels.clone(),
                    value: s.calls.export(names),
                });
            }
            if let Some(h) = &s.latency {
                out.push(Series {
                    name: LATENCY,
                    metric_type: MetricType::Histogram,
                    help: HELP_LATENCY,
                    labels: e.labels.clone(),
                    value: h.export(&self.bounds, names),
                });
            }
            if self.size {
                out.push(Series {
                    name: SIZE_TOTAL,
                    metric_type: MetricType::Counter,
                    help: HELP_SIZE,
                    labels: e.labels.clone(),
                    value: s.size.export(names),
                });
            }
        }
    }
}
