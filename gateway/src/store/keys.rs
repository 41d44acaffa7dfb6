//! Key encoding of the `spans` column family.
//!
//! ```text
//! span key  = tenant_id:u32 BE | trace_id:16 | span_id:8      (28 bytes)
//! trace key = tenant_id:u32 BE | trace_id:16                 (20 bytes, the prefix of its span keys)
//! ```
//! All spans of a trace share the 20-byte prefix, so reading a trace is one prefix
//! scan, and RocksDB's prefix bloom filter (fixed 20-byte prefix) skips files that
//! do not hold it. A span received twice maps to the same key and is stored once.

use crate::model::{SPAN_ID_LEN, TRACE_ID_LEN, TraceId};

pub(super) const TENANT_ID_LEN: usize = 4;
pub(super) const TRACE_KEY_LEN: usize = TENANT_ID_LEN + TRACE_ID_LEN;
pub(super) const SPAN_KEY_LEN: usize = TRACE_KEY_LEN + SPAN_ID_LEN;

/// A tenant's compact numeric id, assigned once and persisted (see `tenants.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantId(pub u32);

pub(super) fn trace_key(tenant: TenantId, trace_id: &TraceId) -> [u8; TRACE_KEY_LEN] {
    let mut key = [0u8; TRACE_KEY_LEN];
    key[..TENANT_ID_LEN].copy_from_slice(&tenant.0.to_be_bytes());
    key[TENANT_ID_LEN..].copy_from_slice(&trace_id.0);
    key
}

pub(super) fn span_key(
    tenant: TenantId,
    trace_id: &TraceId,
    span_id: &[u8; SPAN_ID_LEN],
) -> [u8; SPAN_KEY_LEN] {
    let mut key = [0u8; SPAN_KEY_LEN];
    key[..TRACE_KEY_LEN].copy_from_slice(&trace_key(tenant, trace_id));
    key[TRACE_KEY_LEN..].copy_from_slice(span_id);
    key
}

/// Splits a span key back into its parts; `None` if it is not one. Used by tests now,
/// by index maintenance later.
#[cfg(test)]
pub(super) fn parse_span_key(key: &[u8]) -> Option<(TenantId, TraceId, [u8; SPAN_ID_LEN])> {
    if key.len() != SPAN_KEY_LEN {
        return None;
    }
    let tenant = TenantId(u32::from_be_bytes(key[..TENANT_ID_LEN].try_into().ok()?));
    let trace_id = TraceId::from_slice(&key[TENANT_ID_LEN..TRACE_KEY_LEN])?;
    let span_id = key[TRACE_KEY_LEN..].try_into().ok()?;
    Some((tenant, trace_id, span_id))
}

/// Key of a resource or scope entry in the `dictionary` column family:
/// `tenant_id:u32 BE | kind:u8 | xxh3-64 of the encoded entry`.
pub(super) fn dictionary_key(tenant: TenantId, kind: DictionaryKind, hash: u64) -> [u8; 13] {
    let mut key = [0u8; 13];
    key[..TENANT_ID_LEN].copy_from_slice(&tenant.0.to_be_bytes());
    key[TENANT_ID_LEN] = kind as u8;
    key[TENANT_ID_LEN + 1..].copy_from_slice(&hash.to_be_bytes());
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
        fn span_key_round_trips(tenant in any::<u32>(), trace in proptest::array::uniform16(any::<u8>()), span in proptest::array::uniform8(any::<u8>())) {
            let key = span_key(TenantId(tenant), &TraceId(trace), &span);
            prop_assert_eq!(parse_span_key(&key), Some((TenantId(tenant), TraceId(trace), span)));
            prop_assert!(key.starts_with(&trace_key(TenantId(tenant), &TraceId(trace))));
        }

        /// Byte order of keys follows (tenant, trace, span) order, so a prefix scan
        /// never mixes traces and tenants never interleave.
        #[test]
        fn key_order_matches_tuple_order(
            a in (any::<u32>(), proptest::array::uniform16(any::<u8>()), proptest::array::uniform8(any::<u8>())),
            b in (any::<u32>(), proptest::array::uniform16(any::<u8>()), proptest::array::uniform8(any::<u8>())),
        ) {
            let key_a = span_key(TenantId(a.0), &TraceId(a.1), &a.2);
            let key_b = span_key(TenantId(b.0), &TraceId(b.1), &b.2);
            prop_assert_eq!(key_a.cmp(&key_b), a.cmp(&b));
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_span_key(&bytes);
        }
    }
}
