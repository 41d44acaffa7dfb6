//! Exemplars: the latest observation kept per histogram bucket and per
//! counter series, so Grafana can jump from a metric point to the trace.
//!
//! Tempo keeps one exemplar per bucket (the bucket the value falls in, i.e.
//! the first with `value <= le`) carrying the trace id
//! (`modules/generator/registry/histogram.go`, `updateSeries`). We keep the
//! raw ids (24 bytes) and only hex-encode them when a snapshot is taken.

use crate::model::{SpanId, TraceId};

/// An exemplar as stored: raw ids, the observed value, when it was observed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawExemplar {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub value: f64,
    pub timestamp_unix_nanos: u64,
}

/// An exemplar in a snapshot: its label set (trace id under the configured
/// name, e.g. `traceID`, and optionally the span id), value and timestamp.
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    /// The observed span's ids, raw (the labels carry them as hex).
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_unix_nanos: u64,
}

/// The exemplar label names, fixed at construction from the registry config.
#[derive(Clone, Debug)]
pub struct ExemplarLabels {
    pub trace_id: String,
    /// Empty: no span id label.
    pub span_id: String,
}

impl RawExemplar {
    /// Snapshot form with hex ids under the configured label names.
    pub fn export(&self, names: &ExemplarLabels) -> Exemplar {
        let mut labels = Vec::with_capacity(2);
        labels.push((names.trace_id.clone(), self.trace_id.to_hex()));
        if !names.span_id.is_empty() {
            labels.push((names.span_id.clone(), self.span_id.to_hex()));
        }
        Exemplar {
            trace_id: self.trace_id,
            span_id: self.span_id,
            labels,
            value: self.value,
            timestamp_unix_nanos: self.timestamp_unix_nanos,
        }
    }
}

impl Exemplar {
    /// The value of one of the exemplar's labels.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_hex_ids_under_configured_names() {
        let raw = RawExemplar {
            trace_id: TraceId([0xab; 16]),
            span_id: SpanId([1, 2, 3, 4, 5, 6, 7, 8]),
            value: 0.25,
            timestamp_unix_nanos: 7,
        };
        let names = ExemplarLabels {
            trace_id: "traceID".into(),
            span_id: "spanID".into(),
        };
        let e = raw.export(&names);
        assert_eq!(e.label("traceID"), Some("abababababababababababababababab"));
        assert_eq!(e.label("spanID"), Some("0102030405060708"));
        assert_eq!(e.value, 0.25);
        assert_eq!(e.timestamp_unix_nanos, 7);
        assert_eq!((e.trace_id, e.span_id), (raw.trace_id, raw.span_id));
        let no_span = ExemplarLabels {
            trace_id: "trace_id".into(),
            span_id: String::new(),
        };
        assert_eq!(raw.export(&no_span).labels.len(), 1);
    }
}
