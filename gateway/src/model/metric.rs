//! Metric points: what a metrics plugin reports and what the gateway's own counters
//! become before they are exposed on `/metrics` or pushed with remote-write. Plain data,
//! shared by the plugin host (which produces points) and the `metrics` module (which
//! renders and ships them), so neither has to import the other.

/// One series and its current value.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricPoint {
    pub name: String,
    pub help: String,
    pub labels: Vec<(String, String)>,
    pub value: MetricValue,
    pub exemplar: Option<Exemplar>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MetricValue {
    Counter(f64),
    Gauge(f64),
    Histogram {
        upper_bounds: Vec<f64>,
        /// Cumulative: `bucket_counts[i]` spans were `<= upper_bounds[i]`.
        bucket_counts: Vec<u64>,
        sum: f64,
        count: u64,
    },
}

/// A sample's link to the span it came from (Grafana jumps from a metric to the trace).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exemplar {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub value: f64,
    pub time_unix_nanos: u64,
}

/// A Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_' || first == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
