//! `tempopb` messages for search, tag lookup and TraceQL metrics, hand-written with the
//! field numbers of Tempo's `pkg/tempopb/tempo.proto` (as generated into `tempo.pb.go`).
//! Request messages carry only the fields a client sends us; prost skips the rest
//! (Tempo-internal block/shard fields) when decoding.

use std::collections::BTreeMap;

use crate::model::KeyValue;

// ---------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------

/// `StreamingQuerier/Search` request. Grafana fills `query`, `limit`, `start`, `end`
/// (seconds) and leaves `spans_per_span_set` at 0 (its JSON key `spss` does not match).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchRequest {
    /// Legacy tag search (`tags=` on HTTP).
    #[prost(btree_map = "string, string", tag = "1")]
    pub tags: BTreeMap<String, String>,
    #[prost(uint32, tag = "2")]
    pub min_duration_ms: u32,
    #[prost(uint32, tag = "3")]
    pub max_duration_ms: u32,
    #[prost(uint32, tag = "4")]
    pub limit: u32,
    /// Unix seconds.
    #[prost(uint32, tag = "5")]
    pub start: u32,
    /// Unix seconds.
    #[prost(uint32, tag = "6")]
    pub end: u32,
    /// TraceQL.
    #[prost(string, tag = "8")]
    pub query: String,
    #[prost(uint32, tag = "9")]
    pub spans_per_span_set: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchResponse {
    #[prost(message, repeated, tag = "1")]
    pub traces: Vec<TraceSearchMetadata>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<SearchMetrics>,
}

/// One trace of a search answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceSearchMetadata {
    /// Hex, leading zeros stripped: see `spangate_traceql::trace_id_hex`.
    #[prost(string, tag = "1")]
    pub trace_id: String,
    /// `<root span not yet received>` when the root span is missing.
    #[prost(string, tag = "2")]
    pub root_service_name: String,
    #[prost(string, tag = "3")]
    pub root_trace_name: String,
    #[prost(uint64, tag = "4")]
    pub start_time_unix_nano: u64,
    #[prost(uint32, tag = "5")]
    pub duration_ms: u32,
    /// Deprecated copy of the first spanset; Grafana reads it before `span_sets`.
    #[prost(message, optional, tag = "6")]
    pub span_set: Option<SpanSet>,
    #[prost(message, repeated, tag = "7")]
    pub span_sets: Vec<SpanSet>,
    /// Per service name; a `BTreeMap` so the JSON keys come out sorted, as jsonpb writes them.
    #[prost(btree_map = "string, message", tag = "8")]
    pub service_stats: BTreeMap<String, ServiceStats>,
}

#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct ServiceStats {
    #[prost(uint32, tag = "1")]
    pub span_count: u32,
    #[prost(uint32, tag = "2")]
    pub error_count: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SpanSet {
    /// At most `spss` spans.
    #[prost(message, repeated, tag = "1")]
    pub spans: Vec<Span>,
    /// How many spans matched, before the `spss` cut.
    #[prost(uint32, tag = "2")]
    pub matched: u32,
    /// `by(...)` groups and aggregate values (`count()`), keyed as written in the query.
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Span {
    /// 16 hex digits, zero-padded: see `spangate_traceql::hex_lower`.
    #[prost(string, tag = "1")]
    pub span_id: String,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(uint64, tag = "3")]
    pub start_time_unix_nano: u64,
    #[prost(uint64, tag = "4")]
    pub duration_nanos: u64,
    /// The attributes the query touched, keyed without scope (`http.method`, `status`).
    #[prost(message, repeated, tag = "5")]
    pub attributes: Vec<KeyValue>,
}

/// Informational counters of a search or metrics query; every field is optional.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct SearchMetrics {
    #[prost(uint32, tag = "1")]
    pub inspected_traces: u32,
    #[prost(uint64, tag = "2")]
    pub inspected_bytes: u64,
    #[prost(uint32, tag = "3")]
    pub total_blocks: u32,
    #[prost(uint32, tag = "4")]
    pub completed_jobs: u32,
    #[prost(uint32, tag = "5")]
    pub total_jobs: u32,
    #[prost(uint64, tag = "6")]
    pub total_block_bytes: u64,
    #[prost(uint64, tag = "7")]
    pub inspected_spans: u64,
}

// ---------------------------------------------------------------------------------
// Tag names and values
// ---------------------------------------------------------------------------------

/// Request of `SearchTags` and `SearchTagsV2`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagsRequest {
    #[prost(string, tag = "1")]
    pub scope: String,
    #[prost(string, tag = "2")]
    pub query: String,
    /// Unix seconds.
    #[prost(uint32, tag = "3")]
    pub start: u32,
    /// Unix seconds.
    #[prost(uint32, tag = "4")]
    pub end: u32,
    #[prost(uint32, tag = "5")]
    pub max_tags_per_scope: u32,
    #[prost(uint32, tag = "6")]
    pub stale_values_threshold: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagsResponse {
    #[prost(string, repeated, tag = "1")]
    pub tag_names: Vec<String>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<MetadataMetrics>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagsV2Response {
    #[prost(message, repeated, tag = "1")]
    pub scopes: Vec<SearchTagsV2Scope>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<MetadataMetrics>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagsV2Scope {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, repeated, tag = "2")]
    pub tags: Vec<String>,
}

/// Request of `SearchTagValues` and `SearchTagValuesV2` (field 3 is unused in Tempo).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagValuesRequest {
    #[prost(string, tag = "1")]
    pub tag_name: String,
    #[prost(string, tag = "2")]
    pub query: String,
    /// Unix seconds.
    #[prost(uint32, tag = "4")]
    pub start: u32,
    /// Unix seconds.
    #[prost(uint32, tag = "5")]
    pub end: u32,
    #[prost(uint32, tag = "6")]
    pub max_tag_values: u32,
    #[prost(uint32, tag = "7")]
    pub stale_value_threshold: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagValuesResponse {
    #[prost(string, repeated, tag = "1")]
    pub tag_values: Vec<String>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<MetadataMetrics>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagValuesV2Response {
    #[prost(message, repeated, tag = "1")]
    pub tag_values: Vec<TagValue>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<MetadataMetrics>,
}

/// A typed value: `type` is `string|int|float|bool|duration|keyword`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct TagValue {
    #[prost(string, tag = "1")]
    pub r#type: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// Counters of the tag endpoints.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct MetadataMetrics {
    #[prost(uint64, tag = "1")]
    pub inspected_bytes: u64,
    #[prost(uint32, tag = "2")]
    pub total_jobs: u32,
    #[prost(uint32, tag = "3")]
    pub completed_jobs: u32,
    #[prost(uint32, tag = "4")]
    pub total_blocks: u32,
    #[prost(uint64, tag = "5")]
    pub total_block_bytes: u64,
}

// ---------------------------------------------------------------------------------
// TraceQL metrics
// ---------------------------------------------------------------------------------

/// `StreamingQuerier/MetricsQueryRange` request; times and step in nanoseconds.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryRangeRequest {
    #[prost(string, tag = "1")]
    pub query: String,
    #[prost(uint64, tag = "2")]
    pub start: u64,
    #[prost(uint64, tag = "3")]
    pub end: u64,
    #[prost(uint64, tag = "4")]
    pub step: u64,
    #[prost(string, tag = "7")]
    pub query_mode: String,
    #[prost(uint32, tag = "16")]
    pub exemplars: u32,
    #[prost(uint32, tag = "17")]
    pub max_series: u32,
    /// `optional bool instant = 18` (proto3 optional: a one-field oneof on the wire).
    #[prost(bool, optional, tag = "18")]
    pub instant: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryRangeResponse {
    #[prost(message, repeated, tag = "1")]
    pub series: Vec<TimeSeries>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<SearchMetrics>,
    #[prost(enumeration = "PartialStatus", tag = "3")]
    pub status: i32,
    #[prost(string, tag = "4")]
    pub message: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Series labels, typed; a name may sit in `__name__` (e.g. `rate`).
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<KeyValue>,
    /// Oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    // Tag 3 held the removed `promLabels` string.
    /// Oldest first; Grafana takes each exemplar's trace from label `trace:id`.
    #[prost(message, repeated, tag = "4")]
    pub exemplars: Vec<Exemplar>,
}

/// Field numbers are swapped on purpose in Tempo (`value = 1`, `timestamp_ms = 2`) so
/// the Go struct matches `promql.FPoint`'s memory layout.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(int64, tag = "2")]
    pub timestamp_ms: i64,
    #[prost(double, tag = "1")]
    pub value: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<KeyValue>,
    #[prost(double, tag = "2")]
    pub value: f64,
    #[prost(int64, tag = "3")]
    pub timestamp_ms: i64,
}

/// `StreamingQuerier/MetricsQueryInstant` request; times in nanoseconds.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryInstantRequest {
    #[prost(string, tag = "1")]
    pub query: String,
    #[prost(uint64, tag = "2")]
    pub start: u64,
    #[prost(uint64, tag = "3")]
    pub end: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryInstantResponse {
    #[prost(message, repeated, tag = "1")]
    pub series: Vec<InstantSeries>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<SearchMetrics>,
    #[prost(enumeration = "PartialStatus", tag = "3")]
    pub status: i32,
    #[prost(string, tag = "4")]
    pub message: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct InstantSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<KeyValue>,
    #[prost(double, tag = "2")]
    pub value: f64,
}

/// Whether an answer is complete; jsonpb writes it by name and omits `COMPLETE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum PartialStatus {
    Complete = 0,
    Partial = 1,
}
