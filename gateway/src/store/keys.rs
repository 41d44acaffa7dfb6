//! Key encoding of the span rows (`spans.v2`, `dictionary.v2`) and of per-trace keys.
//!
//! ```text
//! span key   = tenant_id:u32 BE | bucket:u32 BE | trace_id:16 | span_id:8   (32 bytes)
//! row prefix = tenant_id:u32 BE | bucket:u32 BE | trace_id:16              (24 bytes)
//! trace key  = tenant_id:u32 BE | trace_id:16                             (20 bytes: pending, summaries)
//! ```
//! `bucket` is the start (unix seconds) of the ingest-time bucket the write landed in
//! (`buckets.rs`): a tenant's old data is one contiguous key range, deleted whole when
//! retention passes it. Within a bucket, all spans of a trace share the 24-byte prefix,
//! so reading a trace is one prefix seek per live bucket, and RocksDB's prefix bloom
//! filter (fixed 24-byte prefix) skips files that do not hold it. A span received twice
//! in one bucket is stored once; across buckets, reads keep the newest copy.

use crate::model::{SPAN_ID_LEN, TRACE_ID_LEN, TraceId};

pub(super) const TENANT_ID_LEN: usize = 4;
pub(super) const BUCKET_LEN: usize = 4;
pub(super) const TRACE_KEY_LEN: usize = TENANT_ID_LEN + TRACE_ID_LEN;
pub(super) const ROW_PREFIX_LEN: usize = TENANT_ID_LEN + BUCKET_LEN + TRACE_ID_LEN;
pub(super) const SPAN_KEY_LEN: usize = ROW_PREFIX_LEN + SPAN_ID_LEN;

/// A tenant's compact numeric id, assigned once and persisted (see `tenants.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantId(pub u32);

pub(super) fn trace_key(tenant: TenantId, trace_id: &TraceId) -> [u8; TRACE_KEY_LEN] {
    let mut key = [0u8; TRACE_KEY_LEN];
    key[..TENANT_ID_LEN].copy_from_slice(&tenant.0.to_be_bytes());
    key[TENANT_ID_LEN..].copy_from_slice(&trace_id.0);
    key
}

/// `tenant | bucket`: the first bytes of every row of a bucket (spans and dictionary).
pub(super) fn bucket_prefix(tenant: TenantId, bucket: u32) -> [u8; TENANT_ID_LEN + BUCKET_LEN] {
    let mut key = [0u8; TENANT_ID_LEN + BUCKET_LEN];
    key[..TENANT_ID_LEN].copy_from_slice(&tenant.0.to_be_bytes());
    key[TENANT_ID_LEN..].copy_from_slice(&bucket.to_be_bytes());
    key
}

/// The prefix of a trace's span keys within one bucket.
pub(super) fn row_prefix(
    tenant: TenantId,
    bucket: u32,
    trace_id: &TraceId,
) -> [u8; ROW_PREFIX_LEN] {
    let mut key = [0u8; ROW_PREFIX_LEN];
    key[..TENANT_ID_LEN + BUCKET_LEN].copy_from_slice(&bucket_prefix(tenant, bucket));
    key[TENANT_ID_LEN + BUCKET_LEN..].copy_from_slice(&trace_id.0);
    key
}

pub(super) fn span_key(
    tenant: TenantId,
    bucket: u32,
    trace_id: &TraceId,
    span_id: &[u8; SPAN_ID_LEN],
) -> [u8; SPAN_KEY_LEN] {
    let mut key = [0u8; SPAN_KEY_LEN];
    key[..ROW_PREFIX_LEN].copy_from_slice(&row_prefix(tenant, bucket, trace_id));
    key[ROW_PREFIX_LEN..].copy_from_slice(span_id);
    key
}

/// A span key's parts: tenant, bucket, trace and span id; `None` if it is not one.
pub(super) fn parse_span_key(key: &[u8]) -> Option<(TenantId, u32, TraceId, [u8; SPAN_ID_LEN])> {
    if key.len() != SPAN_KEY_LEN {
        return None;
    }
    let tenant = TenantId(u32::from_be_bytes(key[..TENANT_ID_LEN].try_into().ok()?));
    let bucket = u32::from_be_bytes(
        key[TENANT_ID_LEN..TENANT_ID_LEN + BUCKET_LEN]
            .try_into()
            .ok()?,
    );
    let trace_id = TraceId::from_slice(&key[TENANT_ID_LEN + BUCKET_LEN..ROW_PREFIX_LEN])?;
    let span_id = key[ROW_PREFIX_LEN..].try_into().ok()?;
    Some((tenant, bucket, trace_id, span_id))
}

/// Key of a resource or scope entry in the `dictionary.v2` column family:
/// `tenant_id:u32 BE | bucket:u32 BE | kind:u8 | xxh3-64 of the encoded entry`. Entries
/// live in the bucket of the spans that reference them, so they go with them.
pub(super) fn dictionary_key(
    tenant: TenantId,
    bucket: u32,
    kind: DictionaryKind,
    hash: u64,
) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[..TENANT_ID_LEN + BUCKET_LEN].copy_from_slice(&bucket_prefix(tenant, bucket));
    key[TENANT_ID_LEN + BUCKET_LEN] = kind as u8;
    key[TENANT_ID_LEN + BUCKET_LEN + 1..].copy_from_slice(&hash.to_be_bytes());
    key
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum DictionaryKind {
    Resource = 1,
    Scope = 2,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn span_key_round_trips(tenant in any::<u32>(), bucket in any::<u32>(), trace in proptest::array::uniform16(any::<u8>()), span in proptest::array::uniform8(any::<u8>())) {
            let key = span_key(TenantId(tenant), bucket, &TraceId(trace), &span);
            prop_assert_eq!(parse_span_key(&key), Some((TenantId(tenant), bucket, TraceId(trace), span)));
            prop_assert!(key.starts_with(&row_prefix(TenantId(tenant), bucket, &TraceId(trace))));
            prop_assert!(key.starts_with(&bucket_prefix(TenantId(tenant), bucket)));
        }

        /// Byte order of keys follows (tenant, bucket, trace, span) order, so a prefix
        /// scan never mixes traces, a bucket is one key range and tenants never interleave.
        #[test]
        fn key_order_matches_tuple_order(
            a in (any::<u32>(), any::<u32>(), proptest::array::uniform16(any::<u8>()), proptest::array::uniform8(any::<u8>())),
            b in (any::<u32>(), any::<u32>(), proptest::array::uniform16(any::<u8>()), proptest::array::uniform8(any::<u8>())),
        ) {
            let key_a = span_key(TenantId(a.0), a.1, &TraceId(a.2), &a.3);
            let key_b = span_key(TenantId(b.0), b.1, &TraceId(b.2), &b.3);
            prop_assert_eq!(key_a.cmp(&key_b), a.cmp(&b));
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_span_key(&bytes);
        }
    }
}
