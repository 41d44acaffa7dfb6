//! The open blocks, as an immutable list swapped whole: a query clones the current
//! list once and keeps it, so it sees one set of blocks from start to end.

use std::collections::HashSet;
use std::fs::File;
use std::sync::{Arc, Mutex};

use spangate_blocks::Block;

use super::catalog::BlockMeta;
use crate::store::TimeWindow;
use crate::store::keys::TenantId;

pub struct OpenBlock {
    pub meta: BlockMeta,
    pub block: Block<File>,
}

/// The hot rows a block replaces, while their deletion is not yet committed: readers
/// holding a list with the block skip these rows, so no span is counted twice.
#[derive(Debug, Default)]
pub struct Shadow {
    /// `trace id ‖ span id`.
    spans: HashSet<[u8; 24]>,
}

impl Shadow {
    pub(super) fn insert(&mut self, trace_id: &[u8; 16], span_id: &[u8; 8]) {
        let mut key = [0u8; 24];
        key[..16].copy_from_slice(trace_id);
        key[16..].copy_from_slice(span_id);
        self.spans.insert(key);
    }

    fn contains(&self, trace_id: &[u8; 16], span_id: &[u8]) -> bool {
        let mut key = [0u8; 24];
        key[..16].copy_from_slice(trace_id);
        if span_id.len() != 8 {
            return false;
        }
        key[16..].copy_from_slice(span_id);
        self.spans.contains(&key)
    }
}

#[derive(Clone)]
pub struct ListedBlock {
    pub open: Arc<OpenBlock>,
    pub shadow: Option<Arc<Shadow>>,
}

/// Every open block, newest first.
#[derive(Default)]
pub struct BlockList {
    blocks: Vec<ListedBlock>,
}

impl BlockList {
    pub fn of_tenant(&self, tenant: TenantId) -> impl Iterator<Item = &ListedBlock> {
        self.blocks
            .iter()
            .filter(move |b| b.open.meta.tenant == tenant)
    }

    /// The tenant's non-empty blocks with a span overlapping `window`.
    pub fn overlapping(
        &self,
        tenant: TenantId,
        window: TimeWindow,
    ) -> impl Iterator<Item = &ListedBlock> {
        self.of_tenant(tenant).filter(move |listed| {
            let block = &listed.open.block;
            block.span_count() > 0
                && block.min_start() <= window.end_unix_nano
                && block.max_end() >= window.start_unix_nano
        })
    }

    /// Whether a hot span is also in a block of this list whose hot rows are not yet
    /// deleted.
    pub(crate) fn shadows(&self, tenant: TenantId, trace_id: &[u8; 16], span_id: &[u8]) -> bool {
        self.of_tenant(tenant).any(|b| {
            b.shadow
                .as_ref()
                .is_some_and(|s| s.contains(trace_id, span_id))
        })
    }

    pub(crate) fn has_shadows(&self, tenant: TenantId) -> bool {
        self.of_tenant(tenant).any(|b| b.shadow.is_some())
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ListedBlock> {
        self.blocks.iter()
    }
}

/// The current list; replaced, never changed in place.
#[derive(Default)]
pub(crate) struct BlockSet {
    current: Mutex<Arc<BlockList>>,
}

impl BlockSet {
    pub(crate) fn current(&self) -> Arc<BlockList> {
        self.current
            .lock()
            .expect("block list lock poisoned")
            .clone()
    }

    /// Replaces the list with `edit` applied to a copy; returns the list it replaced.
    pub(crate) fn update(&self, edit: impl FnOnce(&mut Vec<ListedBlock>)) -> Arc<BlockList> {
        let mut current = self.current.lock().expect("block list lock poisoned");
        let mut blocks = current.blocks.clone();
        edit(&mut blocks);
        blocks.sort_by_key(|b| std::cmp::Reverse(b.open.meta.id));
        std::mem::replace(&mut *current, Arc::new(BlockList { blocks }))
    }
}
