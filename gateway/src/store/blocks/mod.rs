//! The cold tier: immutable columnar blocks (crate `spangate-blocks`) built in the
//! background from the hot rows, listed in the `blocks` column family, read together
//! with the hot rows.

mod build;
mod catalog;
mod config;
mod expire;
mod files;
mod list;
mod read;

use std::path::Path;
use std::sync::Arc;

use rocksdb::{DB, IteratorMode};
use spangate_blocks::Block;
pub use spangate_blocks::BlockError;

pub use build::BuildOutcome;
pub use catalog::BlockMeta;
pub(crate) use catalog::CF_BLOCKS;
pub use config::BlocksConfig;
pub(crate) use list::BlockSet;
pub use list::{BlockList, ListedBlock, OpenBlock};
pub use read::merge as merge_trace_parts;

use super::StoreError;

/// Opens every block the catalog lists and deletes files it does not list.
pub(super) fn open_blocks(db: &DB, data_dir: &Path) -> Result<BlockSet, StoreError> {
    let cf = db
        .cf_handle(CF_BLOCKS)
        .expect("column families are created at open");
    let mut metas = Vec::new();
    for item in db.iterator_cf(cf, IteratorMode::Start) {
        let (key, value) = item?;
        match BlockMeta::decode(&key, &value) {
            Some(meta) => metas.push(meta),
            None => {
                tracing::error!(key = %hex::encode(&key), "unreadable block catalog entry; its block is not served")
            }
        }
    }
    files::remove_unlisted(data_dir, &|tenant, id| {
        metas.iter().any(|m| m.tenant == tenant && m.id == id)
    })
    .map_err(BlockError::Io)?;
    let set = BlockSet::default();
    let mut opened = Vec::with_capacity(metas.len());
    for meta in metas {
        let path = files::block_path(data_dir, meta.tenant, meta.id);
        let block = std::fs::File::open(&path)
            .map_err(BlockError::Io)
            .and_then(Block::open)
            .map_err(|error| StoreError::BlockFile {
                path: path.display().to_string(),
                error,
            })?;
        opened.push(ListedBlock {
            open: Arc::new(OpenBlock { meta, block }),
            shadow: None,
        });
    }
    set.update(|list| list.extend(opened));
    Ok(set)
}

#[cfg(test)]
mod tests;
