//! Tempo's protobuf response messages for trace-by-id, generated with the other
//! `tempopb` messages from `gateway/proto/tempopb.proto`. `tempopb.Trace` is
//! wire-identical to OTLP `TracesData` (field 1: resource spans), so the v1 response is
//! a `TracesData` and the v2 one wraps it.

pub(super) use super::tempopb::{TraceByIdMetrics, TraceByIdResponse};
