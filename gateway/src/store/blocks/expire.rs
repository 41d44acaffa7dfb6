//! Retention of the cold tier: a block goes whole once everything in it is behind its
//! tenant's horizon. A block's id is its build time in unix nanoseconds, after the
//! ingest of every span it holds, so a block expires when both its id and its latest
//! span end are older than the horizon — at most the build delay (`build_after` plus
//! an `interval`) after the hot rows it replaced would have.

use std::sync::Arc;

use rocksdb::WriteBatch;

use super::catalog::{self, CF_BLOCKS};
use super::files::block_path;
use crate::store::keys::TenantId;
use crate::store::{StoreError, TraceStore};

const NANOS_PER_SECOND: u64 = 1_000_000_000;

impl TraceStore {
    /// Unlists, uncatalogs and deletes the tenant's blocks behind `horizon` (unix
    /// seconds). Queries holding an older list keep reading their open file handles.
    /// Returns the number of blocks deleted.
    pub(in crate::store) fn expire_blocks(
        &self,
        tenant: TenantId,
        horizon: u64,
    ) -> Result<usize, StoreError> {
        let expired: Vec<Arc<super::OpenBlock>> = self
            .blocks
            .current()
            .of_tenant(tenant)
            .filter(|listed| {
                let meta = &listed.open.meta;
                listed.shadow.is_none()
                    && meta.id / NANOS_PER_SECOND < horizon
                    && meta.max_end / NANOS_PER_SECOND < horizon
            })
            .map(|listed| listed.open.clone())
            .collect();
        if expired.is_empty() {
            return Ok(0);
        }
        let mut batch = WriteBatch::default();
        for block in &expired {
            batch.delete_cf(self.cf(CF_BLOCKS), catalog::key(tenant, block.meta.id));
        }
        self.db.write(batch)?;
        self.blocks.update(|list| {
            list.retain(|listed| !expired.iter().any(|e| Arc::ptr_eq(e, &listed.open)));
        });
        for block in &expired {
            let path = block_path(&self.data_dir, tenant, block.meta.id);
            if let Err(error) = std::fs::remove_file(&path)
                && error.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), %error, "could not delete an expired block file");
            }
        }
        Ok(expired.len())
    }
}
