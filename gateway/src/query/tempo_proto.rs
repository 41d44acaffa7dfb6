//! Tempo's protobuf response messages for trace-by-id (`pkg/tempopb/tempo.proto`).
//! `tempopb.Trace` is wire-identical to OTLP `TracesData` (field 1: resource spans),
//! so the v1 response is a `TracesData` and the v2 one wraps it.

use crate::model::TracesData;

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

#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceByIdMetrics {
    #[prost(uint64, tag = "1")]
    pub inspected_bytes: u64,
}
