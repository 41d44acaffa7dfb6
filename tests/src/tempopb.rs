//! The protobuf messages of Tempo's trace-by-id API that OTLP does not define.
//!
//! `tempopb.Trace` (`repeated ResourceSpans resourceSpans = 1`) is wire-identical to OTLP
//! `TracesData`, so OTLP's type is used for it.

use opentelemetry_proto::tonic::trace::v1::TracesData;

/// `tempopb.TraceByIDResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    pub trace: Option<TracesData>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<TraceByIdMetrics>,
    /// `PartialStatus`: 0 = COMPLETE, 1 = PARTIAL.
    #[prost(int32, tag = "3")]
    pub status: i32,
    #[prost(string, tag = "4")]
    pub message: String,
}

/// `tempopb.TraceByIDMetrics`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceByIdMetrics {
    #[prost(uint64, tag = "1")]
    pub inspected_bytes: u64,
}
