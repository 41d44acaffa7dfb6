//! The `blocks` column family: which block files are part of the store.
//!
//! `key = tenant_id:u32 BE ‖ block_id:u64 BE`, `value = version:u8 ‖ min_start ‖ max_end ‖
//! spans ‖ traces ‖ bytes` (u64 BE each). An entry is written in the same `WriteBatch`
//! that deletes the hot rows the block replaces, so readers and crashes see either the
//! rows or the block, never both or neither; a file without an entry is an unfinished
//! build and is deleted at open.

use crate::store::keys::{TENANT_ID_LEN, TenantId};

pub(crate) const CF_BLOCKS: &str = "blocks";
const VERSION: u8 = 1;

/// What the catalog knows of a block without opening its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockMeta {
    pub tenant: TenantId,
    /// Unique per store, increasing with build time.
    pub id: u64,
    pub min_start: u64,
    pub max_end: u64,
    pub span_count: u64,
    pub trace_count: u64,
    pub bytes: u64,
}

pub(super) fn key(tenant: TenantId, id: u64) -> [u8; TENANT_ID_LEN + 8] {
    let mut key = [0u8; TENANT_ID_LEN + 8];
    key[..TENANT_ID_LEN].copy_from_slice(&tenant.0.to_be_bytes());
    key[TENANT_ID_LEN..].copy_from_slice(&id.to_be_bytes());
    key
}

impl BlockMeta {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(41);
        out.push(VERSION);
        for value in [
            self.min_start,
            self.max_end,
            self.span_count,
            self.trace_count,
            self.bytes,
        ] {
            out.extend_from_slice(&value.to_be_bytes());
        }
        out
    }

    pub(in crate::store) fn decode(key: &[u8], value: &[u8]) -> Option<BlockMeta> {
        let tenant = TenantId(u32::from_be_bytes(
            key.get(..TENANT_ID_LEN)?.try_into().ok()?,
        ));
        let id = u64::from_be_bytes(key.get(TENANT_ID_LEN..)?.try_into().ok()?);
        let (&version, rest) = value.split_first()?;
        if version != VERSION || rest.len() != 40 {
            return None;
        }
        let field =
            |i: usize| u64::from_be_bytes(rest[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        Some(BlockMeta {
            tenant,
            id,
            min_start: field(0),
            max_end: field(1),
            span_count: field(2),
            trace_count: field(3),
            bytes: field(4),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let meta = BlockMeta {
            tenant: TenantId(3),
            id: 42,
            min_start: 1,
            max_end: 2,
            span_count: 3,
            trace_count: 4,
            bytes: 5,
        };
        assert_eq!(
            BlockMeta::decode(&key(meta.tenant, meta.id), &meta.encode()),
            Some(meta)
        );
        assert_eq!(BlockMeta::decode(&key(meta.tenant, meta.id), &[1, 2]), None);
    }
}
