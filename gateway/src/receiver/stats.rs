//! What every receiver accepted, rejected span by span, and refused whole, by reason.
//! Nothing is dropped without a count here; the `metrics` module serves the counts on
//! `GET /metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Grpc,
    Http,
    /// Jaeger's gRPC `PostSpans`.
    JaegerGrpc,
    /// Jaeger's Thrift over HTTP (`POST /api/traces`).
    JaegerThriftHttp,
    /// Jaeger's agent UDP port, compact Thrift.
    JaegerThriftCompact,
    /// Jaeger's agent UDP port, binary Thrift.
    JaegerThriftBinary,
    /// Zipkin's HTTP API (`/api/v2/spans`, `/api/v1/spans`).
    Zipkin,
}

impl Transport {
    pub(crate) const ALL: [Transport; 7] = [
        Transport::Grpc,
        Transport::Http,
        Transport::JaegerGrpc,
        Transport::JaegerThriftHttp,
        Transport::JaegerThriftCompact,
        Transport::JaegerThriftBinary,
        Transport::Zipkin,
    ];

    /// The `transport` label value.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::Http => "http",
            Transport::JaegerGrpc => "jaeger_grpc",
            Transport::JaegerThriftHttp => "jaeger_thrift_http",
            Transport::JaegerThriftCompact => "jaeger_thrift_compact",
            Transport::JaegerThriftBinary => "jaeger_thrift_binary",
            Transport::Zipkin => "zipkin",
        }
    }
}

/// Why a whole export request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
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
    /// The store's disk is full (retryable; writes resume when space is freed).
    NoSpace,
    /// No `X-Scope-OrgID` while multi-tenancy is on.
    Unauthenticated,
    /// An `X-Scope-OrgID` that names no valid tenant, or several.
    InvalidTenant,
    /// Over the tenant's ingestion rate limit.
    RateLimited,
    /// An exporter's send queue is full, or it has no upstream (retryable).
    QueueFull,
    /// The process is over `limits.memory - limits.memory_spike` (retryable).
    MemoryLimit,
}

impl Refusal {
    pub(crate) const ALL: [Refusal; 11] = [
        Refusal::Malformed,
        Refusal::TooLarge,
        Refusal::UnsupportedMedia,
        Refusal::Overloaded,
        Refusal::Unavailable,
        Refusal::NoSpace,
        Refusal::Unauthenticated,
        Refusal::InvalidTenant,
        Refusal::RateLimited,
        Refusal::QueueFull,
        Refusal::MemoryLimit,
    ];

    /// The `reason` label value.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::TooLarge => "too_large",
            Refusal::UnsupportedMedia => "unsupported_media",
            Refusal::Overloaded => "overloaded",
            Refusal::Unavailable => "unavailable",
            Refusal::NoSpace => "no_space",
            Refusal::Unauthenticated => "unauthenticated",
            Refusal::InvalidTenant => "invalid_tenant",
            Refusal::RateLimited => "rate_limited",
            Refusal::QueueFull => "queue_full",
            Refusal::MemoryLimit => "memory_limit",
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
pub(crate) struct ReceiverStats {
    transports: [TransportCounters; Transport::ALL.len()],
}

impl ReceiverStats {
    /// Spans stored and acknowledged, and spans refused individually (partial success).
    pub(crate) fn record_export(&self, transport: Transport, accepted: usize, rejected: usize) {
        let counters = &self.transports[transport as usize];
        counters
            .accepted_spans
            .fetch_add(accepted as u64, Ordering::Relaxed);
        counters
            .rejected_spans
            .fetch_add(rejected as u64, Ordering::Relaxed);
    }

    pub(crate) fn record_refusal(&self, transport: Transport, refusal: Refusal) {
        self.transports[transport as usize].refused_requests[refusal as usize]
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Spans stored and acknowledged through `transport` so far.
    pub(crate) fn accepted_spans(&self, transport: Transport) -> u64 {
        self.transports[transport as usize]
            .accepted_spans
            .load(Ordering::Relaxed)
    }

    /// Spans refused individually (OTLP partial success) through `transport` so far.
    pub(crate) fn rejected_spans(&self, transport: Transport) -> u64 {
        self.transports[transport as usize]
            .rejected_spans
            .load(Ordering::Relaxed)
    }

    /// Requests refused whole through `transport` for `refusal` so far.
    pub(crate) fn refused_requests(&self, transport: Transport, refusal: Refusal) -> u64 {
        self.transports[transport as usize].refused_requests[refusal as usize]
            .load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_kept_per_transport_and_reason() {
        let stats = ReceiverStats::default();
        stats.record_export(Transport::Grpc, 10, 2);
        stats.record_export(Transport::Grpc, 5, 0);
        stats.record_refusal(Transport::Http, Refusal::TooLarge);
        assert_eq!(stats.accepted_spans(Transport::Grpc), 15);
        assert_eq!(stats.rejected_spans(Transport::Grpc), 2);
        assert_eq!(stats.accepted_spans(Transport::Http), 0);
        assert_eq!(
            stats.refused_requests(Transport::Http, Refusal::TooLarge),
            1
        );
        assert_eq!(
            stats.refused_requests(Transport::Grpc, Refusal::TooLarge),
            0
        );
    }
}
