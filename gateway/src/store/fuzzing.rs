//! The store's value and key codec, for the fuzz targets (`fuzz/`, re-exported by
//! `crate::fuzzing`): how a span, its resource and its scope become RocksDB values, and
//! how a span's key is written and read back.

use super::codec;
use super::keys::{self, TenantId};
use crate::model::{ResourceSpans, ScopeSpans, Span, TraceId};

/// A span's stored value (`version | resource hash | scope hash | span`).
pub fn encode_span_value(resource_hash: u64, scope_hash: u64, span: &Span) -> Vec<u8> {
    let mut out = Vec::new();
    codec::encode_span_value(resource_hash, scope_hash, span, &mut out);
    out
}

/// A stored span value read back: resource hash, scope hash, span.
pub fn decode_span_value(bytes: &[u8]) -> Result<(u64, u64, Span), String> {
    codec::decode_span_value(bytes)
        .map(|value| (value.resource_hash, value.scope_hash, value.span))
        .map_err(|error| error.to_string())
}

/// The dictionary entry of a resource (its scopes left out), with its hash.
pub fn encode_resource_entry(resource_spans: &ResourceSpans) -> (u64, Vec<u8>) {
    codec::encode_resource_entry(resource_spans)
}

pub fn decode_resource_entry(bytes: &[u8]) -> Result<ResourceSpans, String> {
    codec::decode_resource_entry(bytes).map_err(|error| error.to_string())
}

/// The dictionary entry of a scope (its spans left out), with its hash.
pub fn encode_scope_entry(scope_spans: &ScopeSpans) -> (u64, Vec<u8>) {
    codec::encode_scope_entry(scope_spans)
}

pub fn decode_scope_entry(bytes: &[u8]) -> Result<ScopeSpans, String> {
    codec::decode_scope_entry(bytes).map_err(|error| error.to_string())
}

/// A span row's key: tenant, ingest bucket, trace id, span id.
pub fn span_key(tenant: u32, bucket: u32, trace_id: [u8; 16], span_id: [u8; 8]) -> Vec<u8> {
    keys::span_key(TenantId(tenant), bucket, &TraceId(trace_id), &span_id).to_vec()
}

/// A span row's key read back, `None` if the bytes are not one.
pub fn parse_span_key(key: &[u8]) -> Option<(u32, u32, [u8; 16], [u8; 8])> {
    keys::parse_span_key(key)
        .map(|(tenant, bucket, trace_id, span_id)| (tenant.0, bucket, trace_id.0, span_id))
}
