//! The gateway's own counters: what every receiver accepted, rejected span by span,
//! and refused whole, by reason. Nothing is dropped without a count here; they are
//! served on the query port's `GET /metrics` in the Prometheus text format.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::plugin::{MetricPoint, MetricValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Grpc,
    Http,
}

impl Transport {
    const ALL: [Transport; 2] = [Transport::Grpc, Transport::Http];

    fn label(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::Http => "http",
        }
    }
}

/// Why a whole export request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Undecodable protobuf or JSON, corrupt gzip.
    Malformed,
    /// Over the configured size limit.
    TooLarge,
    /// Content type or content encoding not accepted.
    UnsupportedMedia,
    /// No write slot within the queue timeout (retryable).
    Overloaded,
    /// Storage failure or shutdown (retryable).
    Unavailable,
}

impl Refusal {
    const ALL: [Refusal; 5] = [
        Refusal::Malformed,
        Refusal::TooLarge,
        Refusal::UnsupportedMedia,
        Refusal::Overloaded,
        Refusal::Unavailable,
    ];

    fn label(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::TooLarge => "too_large",
            Refusal::UnsupportedMedia => "unsupported_media",
            Refusal::Overloaded => "overloaded",
            Refusal::Unavailable => "unavailable",
        }
    }
}

#[derive(Default)]
struct TransportCounters {
    accepted_spans: AtomicU64,
    rejected_spans: AtomicU64,
    refused_requests: [AtomicU64; Refusal::ALL.len()],
}

#[derive(Default)]
pub struct Telemetry {
    transports: [TransportCounters; Transport::ALL.len()],
}

impl Telemetry {
    /// Spans stored and acknowledged, and spans refused individually (partial success).
    pub fn record_export(&self, transport: Transport, accepted: usize, rejected: usize) {
        let counters = &self.transports[transport as usize];
        counters
            .accepted_spans
            .fetch_add(accepted as u64, Ordering::Relaxed);
        counters
            .rejected_spans
            .fetch_add(rejected as u64, Ordering::Relaxed);
    }

    pub fn record_refusal(&self, transport: Transport, refusal: Refusal) {
        self.transports[transport as usize].refused_requests[refusal as usize]
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The counters as metric points, for `crate::exposition`.
    pub fn points(&self) -> Vec<MetricPoint> {
        let mut points = Vec::new();
        let per_transport = [
            (
                "spangate_spans_accepted_total",
                "Spans stored and acknowledged to the client.",
                (|c: &TransportCounters| &c.accepted_spans) as fn(&TransportCounters) -> &AtomicU64,
            ),
            (
                "spangate_spans_rejected_total",
                "Spans refused individually and reported in OTLP partial_success.",
                |c: &TransportCounters| &c.rejected_spans,
            ),
        ];
        for (name, help, counter) in per_transport {
            for transport in Transport::ALL {
                let value = counter(&self.transports[transport as usize]).load(Ordering::Relaxed);
                points.push(counter_point(
                    name,
                    help,
                    vec![("transport", transport.label())],
                    value,
                ));
            }
        }
        for transport in Transport::ALL {
            for refusal in Refusal::ALL {
                let value = self.transports[transport as usize].refused_requests[refusal as usize]
                    .load(Ordering::Relaxed);
                points.push(counter_point(
                    "spangate_requests_refused_total",
                    "Export requests refused whole, by reason.",
                    vec![
                        ("transport", transport.label()),
                        ("reason", refusal.label()),
                    ],
                    value,
                ));
            }
        }
        points
    }
}

/// A counter point with static label names.
pub fn counter_point(name: &str, help: &str, labels: Vec<(&str, &str)>, value: u64) -> MetricPoint {
    MetricPoint {
        name: name.to_owned(),
        help: help.to_owned(),
        labels: labels
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        value: MetricValue::Counter(value as f64),
        exemplar: None,
    }
}

/// A gauge point with static label names.
pub fn gauge_point(name: &str, help: &str, labels: Vec<(&str, &str)>, value: f64) -> MetricPoint {
    MetricPoint {
        value: MetricValue::Gauge(value),
        ..counter_point(name, help, labels, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_rendered_per_transport_and_reason() {
        let telemetry = Telemetry::default();
        telemetry.record_export(Transport::Grpc, 10, 2);
        telemetry.record_export(Transport::Grpc, 5, 0);
        telemetry.record_refusal(Transport::Http, Refusal::TooLarge);
        let text =
            crate::exposition::render(&telemetry.points(), crate::exposition::Format::Prometheus);
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
