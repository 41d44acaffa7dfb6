//! The snapshot: every series with its labels and current value, in a form
//! that does not depend on how it was computed. Renderers and the gateway
//! (e.g. remote-write) consume only this.

pub use crate::exemplar::Exemplar;

/// The Prometheus metric type of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
}

impl MetricType {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        }
    }
}

/// One series (for histograms: one label set with all its buckets).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Sample name as exposed in Prometheus text: counters include `_total`
    /// (`traces_spanmetrics_calls_total`), histograms are the base name
    /// (`traces_spanmetrics_latency`, samples `_bucket`/`_sum`/`_count`).
    pub name: &'static str,
    pub metric_type: MetricType,
    pub help: &'static str,
    /// Sorted by name, no duplicates, no empty values.
    pub labels: Vec<(String, String)>,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Counter {
        value: f64,
        exemplar: Option<Exemplar>,
    },
    Gauge(f64),
    Histogram(HistogramValue),
}

#[derive(Clone, Debug, PartialEq)]
pub struct HistogramValue {
    /// Ascending; the last bucket is `le = +Inf` and equals `count`.
    pub buckets: Vec<Bucket>,
    pub sum: f64,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    pub le: f64,
    pub cumulative_count: u64,
    pub exemplar: Option<Exemplar>,
}

impl Series {
    /// Value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The counter or gauge value; `None` for histograms.
    pub fn scalar(&self) -> Option<f64> {
        match &self.value {
            Value::Counter { value, .. } => Some(*value),
            Value::Gauge(v) => Some(*v),
            Value::Histogram(_) => None,
        }
    }

    pub fn histogram(&self) -> Option<&HistogramValue> {
        match &self.value {
            Value::Histogram(h) => Some(h),
            _ => None,
        }
    }
}

/// Deterministic order: by name, then by label set. Renderers rely on a
/// family's series being adjacent.
pub fn sort_series(series: &mut [Series]) {
    series.sort_by(|a, b| a.name.cmp(b.name).then_with(|| a.labels.cmp(&b.labels)));
}
