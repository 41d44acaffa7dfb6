//! Spangate's built-in `span-metrics` plugin: span metrics (RED) and service
//! graphs computed exactly as Grafana Tempo's metrics-generator computes them,
//! so Grafana's service graph and traces-to-metrics views work against
//! Spangate unmodified. A WebAssembly component (`metrics-plugin` world of
//! `spangate:plugin@0.2.0`, glue in [`component`]) over pure logic.
//!
//! The logic is ABI-agnostic and pure: no clock, no I/O, no threads. The
//! caller hands spans through [`SpanSource`] (the owned [`Span`], or the
//! SDK's batch view in the component), passes the current time, and asks for
//! a [`snapshot`](SpanMetrics::snapshot), which the component turns into
//! metric points for the host; [`render_prometheus`] and
//! [`render_openmetrics`] render it natively. It builds natively (for tests)
//! and for `wasm32-wasip2`.
//!
//! ```
//! use spangate_plugin_span_metrics::{Config, SpanMetrics, render_openmetrics};
//! use spangate_plugin_span_metrics::model::{Attribute, Span, SpanKind};
//!
//! let mut m = SpanMetrics::new(Config::parse("{}").unwrap()).unwrap();
//! let span = Span {
//!     name: "GET /".into(),
//!     kind: SpanKind::Server,
//!     end_unix_nanos: 5_000_000,
//!     resource: vec![Attribute::new("service.name", "api")],
//!     ..Span::default()
//! };
//! m.observe(&span, 1_700_000_000_000_000_000);
//! let text = render_openmetrics(&m.snapshot());
//! assert!(text.contains("traces_spanmetrics_calls_total{service=\"api\""));
//! ```
//!
//! Sources in Tempo this reproduces are cited per module; see README.md for
//! every config key, metric and label, and the deliberate deviations.

pub mod component;
pub mod config;
pub mod exemplar;
mod hash;
pub mod histogram;
pub mod labels;
pub mod model;
pub mod reads;
mod registry;
pub mod render;
pub mod series;
pub mod servicegraph;
pub mod spanmetrics;

pub use config::{Config, ConfigError};
pub use model::{Span, SpanSource};
pub use reads::Reads;
pub use render::{render_openmetrics, render_prometheus};
pub use series::{Exemplar, MetricType, Series, Value};
pub use servicegraph::ServiceGraphStats;

use config::Processor;
use exemplar::ExemplarLabels;
use registry::Budget;
use servicegraph::ServiceGraphProcessor;
use spanmetrics::SpanMetricsProcessor;

/// Gauge: series currently held (Tempo: `tempo_metrics_generator_registry_active_series`).
pub const ACTIVE_SERIES: &str = "spangate_metrics_generator_registry_active_series";
/// Counter: series not created because of `max_series`
/// (Tempo: `tempo_metrics_generator_registry_series_limited_total`).
pub const SERIES_LIMITED_TOTAL: &str = "spangate_metrics_generator_registry_series_limited_total";
/// Counter: edges seen (Tempo: `..._processor_service_graphs_edges`).
pub const SERVICE_GRAPH_EDGES_TOTAL: &str =
    "spangate_metrics_generator_processor_service_graphs_edges_total";
/// Counter: edges expired unpaired (Tempo: `..._service_graphs_expired_edges`).
pub const SERVICE_GRAPH_EXPIRED_EDGES_TOTAL: &str =
    "spangate_metrics_generator_processor_service_graphs_expired_edges_total";
/// Counter: spans dropped with the edge store full (Tempo: `..._dropped_spans`).
pub const SERVICE_GRAPH_DROPPED_SPANS_TOTAL: &str =
    "spangate_metrics_generator_processor_service_graphs_dropped_spans_total";

/// The plugin state: both processors and the shared series budget.
pub struct SpanMetrics {
    span_metrics: Option<SpanMetricsProcessor>,
    service_graphs: Option<ServiceGraphProcessor>,
    budget: Budget,
    stale_nanos: u64,
    exemplar_labels: ExemplarLabels,
}

impl SpanMetrics {
    /// Build from a config; the config is validated again (so one built in
    /// code obeys the same rules as parsed text).
    pub fn new(cfg: Config) -> Result<Self, ConfigError> {
        cfg.validate()?;
        Ok(Self {
            span_metrics: cfg
                .has(Processor::SpanMetrics)
                .then(|| SpanMetricsProcessor::new(&cfg.span_metrics, &cfg.registry)),
            service_graphs: cfg
                .has(Processor::ServiceGraphs)
                .then(|| ServiceGraphProcessor::new(&cfg.service_graphs, &cfg.registry)),
            budget: Budget::new(cfg.registry.max_series),
            stale_nanos: cfg.registry.stale_duration.as_nanos(),
            exemplar_labels: ExemplarLabels {
                trace_id: cfg.registry.trace_id_label_name.clone(),
                span_id: cfg.registry.span_id_label_name.clone(),
            },
        })
    }

    /// Account one span observed at `now_unix_nanos` (the caller's clock;
    /// exemplar timestamps and edge expiry use it). `now` should not go
    /// backwards between calls.
    pub fn observe<S: SpanSource>(&mut self, span: &S, now_unix_nanos: u64) {
        if let Some(p) = self.span_metrics.as_mut() {
            p.observe(span, now_unix_nanos, &mut self.budget);
        }
        if let Some(p) = self.service_graphs.as_mut() {
            p.observe(span, now_unix_nanos, &mut self.budget);
        }
    }

    /// [`observe`](Self::observe) every span of a batch at one instant.
    pub fn observe_batch<S: SpanSource>(&mut self, spans: &[S], now_unix_nanos: u64) {
        for s in spans {
            self.observe(s, now_unix_nanos);
        }
    }

    /// Time-driven work: half edges older than `wait` are resolved (virtual
    /// node or unpaired count), and series not updated for `stale_duration`
    /// are removed. Tempo runs the first every 2 s; call this at about that
    /// rate, and before taking a snapshot for an exact picture.
    pub fn expire(&mut self, now_unix_nanos: u64) {
        if let Some(p) = self.service_graphs.as_mut() {
            p.expire(now_unix_nanos, &mut self.budget);
        }
        let cutoff = now_unix_nanos.saturating_sub(self.stale_nanos);
        if cutoff > 0 {
            if let Some(p) = self.span_metrics.as_mut() {
                p.remove_stale(cutoff, &mut self.budget);
            }
            if let Some(p) = self.service_graphs.as_mut() {
                p.remove_stale(cutoff, &mut self.budget);
            }
        }
    }

    /// Every series, sorted by name then labels, plus the plugin's own
    /// health series (active series, limited series, edge counters).
    pub fn snapshot(&self) -> Vec<Series> {
        let mut out = Vec::new();
        if let Some(p) = &self.span_metrics {
            p.export(&self.exemplar_labels, &mut out);
        }
        if let Some(p) = &self.service_graphs {
            p.export(&self.exemplar_labels, &mut out);
            let st = p.stats();
            out.push(own_counter(
                SERVICE_GRAPH_EDGES_TOTAL,
                "Total number of unique edges",
                st.edges,
            ));
            out.push(own_counter(
                SERVICE_GRAPH_EXPIRED_EDGES_TOTAL,
                "Number of edges that expired before finding their matching span",
                st.expired_edges,
            ));
            out.push(own_counter(
                SERVICE_GRAPH_DROPPED_SPANS_TOTAL,
                "Number of spans dropped because the edge store was full",
                st.dropped_spans,
            ));
        }
        out.push(Series {
            name: ACTIVE_SERIES,
            metric_type: MetricType::Gauge,
            help: "The active series (as Prometheus counts them) held by the span-metrics plugin",
            labels: Vec::new(),
            value: Value::Gauge(self.budget.active as f64),
        });
        out.push(own_counter(
            SERIES_LIMITED_TOTAL,
            "The total amount of series not created because of max_series",
            self.budget.limited,
        ));
        series::sort_series(&mut out);
        out
    }

    /// The span fields and attribute keys [`observe`](Self::observe) reads
    /// under this config (what the component declares to the host).
    pub fn reads(&self) -> Reads {
        let mut reads = Reads::default();
        if let Some(p) = &self.span_metrics {
            p.reads(&mut reads);
        }
        if let Some(p) = &self.service_graphs {
            p.reads(&mut reads);
        }
        reads
    }

    /// Series currently held, counted as Prometheus counts them.
    pub fn active_series(&self) -> usize {
        self.budget.active
    }

    /// Series creations refused by `max_series` so far.
    pub fn series_limited(&self) -> u64 {
        self.budget.limited
    }

    /// Half edges waiting for their pair.
    pub fn pending_edges(&self) -> usize {
        self.service_graphs
            .as_ref()
            .map_or(0, ServiceGraphProcessor::pending_edges)
    }

    /// Service-graph health counters (zero when the processor is off).
    pub fn service_graph_stats(&self) -> ServiceGraphStats {
        self.service_graphs
            .as_ref()
            .map(ServiceGraphProcessor::stats)
            .unwrap_or_default()
    }

    /// Span-metrics label sets currently held.
    pub fn span_metrics_label_sets(&self) -> usize {
        self.span_metrics
            .as_ref()
            .map_or(0, SpanMetricsProcessor::active_label_sets)
    }
}

fn own_counter(name: &'static str, help: &'static str, v: u64) -> Series {
    Series {
        name,
        metric_type: MetricType::Counter,
        help,
        labels: Vec::new(),
        value: Value::Counter {
            value: v as f64,
            exemplar: None,
        },
    }
}

// The component's exports (emitted for wasm32 only, by the SDK).
spangate_plugin_sdk::export_metrics!(component::SpanMetricsPlugin);

#[cfg(test)]
mod tests;
