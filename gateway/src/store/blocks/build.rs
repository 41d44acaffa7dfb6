//! Moving hot rows into a block.
//!
//! 1. Oldest writes first: every write whose newest span start is before the cutoff
//!    names its traces; each trace's hot spans (all of them, also those of newer
//!    writes) are read in trace-id order and written to a new block file (fsynced,
//!    renamed into place).
//! 2. The block is published to readers with a *shadow*: the exact hot rows it
//!    replaces, which readers of lists holding the block skip.
//! 3. Once no query still holds a list from before the block (those read the hot rows),
//!    one `WriteBatch` adds the catalog entry and deletes the moved spans, the write
//!    records and their postings, and the moved traces' summaries.
//! 4. The shadow is dropped.
//!
//! A crash before 3 leaves a file no catalog entry lists (deleted at open) and the hot
//! rows intact; after 3, the block alone. Traces held for a tail-sampling decision stay
//! hot (with the write records that name them) until decided.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocksdb::{Direction, IteratorMode, WriteBatch};
use spangate_blocks::{Block, BlockOptions, BlockWriter};

use super::BlockError;
use super::catalog::{self, BlockMeta, CF_BLOCKS};
use super::files::PendingFile;
use super::list::{ListedBlock, OpenBlock, Shadow};
use crate::model::{SPAN_ID_LEN, TraceId};
use crate::store::index::{self, WriteRecord};
use crate::store::keys::{self, TENANT_ID_LEN, TenantId};
use crate::store::{CF_PENDING, CF_SPANS, StoreError, TraceStore};

/// How long the switch waits for queries that started before the block was published.
const GRACE_POLL: Duration = Duration::from_millis(5);

/// What one build did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOutcome {
    pub meta: BlockMeta,
    /// Traces left hot because a tail-sampling decision is pending.
    pub pending_traces: usize,
}

struct Selection {
    /// Write keys (`tenant ‖ newest ‖ write id`) and records to delete.
    writes: Vec<(Vec<u8>, WriteRecord)>,
    traces: BTreeSet<TraceId>,
    pending: BTreeSet<TraceId>,
}

impl TraceStore {
    /// Builds blocks for every tenant until no write's newest span start is older than
    /// `storage.blocks.build_after`; returns the blocks built.
    pub fn build_due_blocks(&self) -> Result<usize, StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let cutoff = now.saturating_sub(self.blocks_config.build_after.as_nanos() as u64);
        let mut built = 0;
        for tenant in self.tenants() {
            while self.build_block(tenant, cutoff)?.is_some() {
                built += 1;
            }
        }
        Ok(built)
    }

    /// Moves the oldest eligible writes of `tenant` (newest span start before
    /// `cutoff_unix_nanos`) into one block. `None` when nothing was eligible (or only
    /// traces held for a tail decision).
    pub fn build_block(
        &self,
        tenant: TenantId,
        cutoff_unix_nanos: u64,
    ) -> Result<Option<BuildOutcome>, StoreError> {
        let config = self.blocks_config.clone();
        let selection =
            self.select_writes(tenant, cutoff_unix_nanos, config.max_traces_per_block)?;
        if selection.writes.is_empty() {
            return Ok(None);
        }
        let started = Instant::now();
        // The build time in nanoseconds: after the ingest of every span the block holds
        // (retention reads it).
        let id = crate::store::next_clock_id(&self.next_block_id);
        let (pending_file, sink) =
            PendingFile::create(&self.data_dir, tenant, id).map_err(BlockError::Io)?;
        let options = BlockOptions {
            chunk_spans: config.chunk_spans,
            zstd_level: config.zstd_level,
        };
        let written = (|| -> Result<_, StoreError> {
            let mut writer = BlockWriter::new(sink, options)?;
            let mut span_keys = Vec::new();
            let mut shadow = Shadow::default();
            let mut moved = Vec::new();
            for trace_id in &selection.traces {
                if selection.pending.contains(trace_id) {
                    continue;
                }
                let (values, _) = self.read_span_values(tenant, trace_id)?;
                if values.is_empty() {
                    continue;
                }
                for value in &values {
                    let span_id: [u8; SPAN_ID_LEN] =
                        value.span.span_id.as_slice().try_into().map_err(|_| {
                            StoreError::Block(BlockError::Corrupt("stored span id is not 8 bytes"))
                        })?;
                    span_keys.push(keys::span_key(tenant, value.bucket, trace_id, &span_id));
                    shadow.insert(&trace_id.0, &span_id);
                }
                let data = self.assemble(tenant, values)?;
                writer.push_trace(trace_id.0, &data.resource_spans)?;
                moved.push(*trace_id);
            }
            let (sink, summary) = writer.finish()?;
            let file = sink
                .into_inner()
                .map_err(|e| BlockError::Io(e.into_error()))?;
            Ok((file, summary, span_keys, shadow, moved))
        })();
        let (file, summary, span_keys, shadow, moved) = match written {
            Ok(written) => written,
            Err(error) => {
                pending_file.abandon();
                return Err(error);
            }
        };
        if moved.is_empty() {
            // Every eligible trace is waiting for its tail decision: no empty block.
            drop(file);
            pending_file.abandon();
            return Ok(None);
        }
        let path = pending_file.commit(file).map_err(BlockError::Io)?;
        let meta = BlockMeta {
            tenant,
            id,
            min_start: summary.min_start,
            max_end: summary.max_end,
            span_count: summary.span_count,
            trace_count: summary.trace_count,
            bytes: summary.bytes,
        };
        let block = Block::open(std::fs::File::open(&path).map_err(BlockError::Io)?)?;
        let open = Arc::new(OpenBlock { meta, block });
        let shadow = Arc::new(shadow);

        let before = self.blocks.update(|list| {
            list.push(ListedBlock {
                open: open.clone(),
                shadow: Some(shadow.clone()),
            })
        });
        // Queries holding `before` read the hot rows: they must finish first.
        while Arc::strong_count(&before) > 1 {
            std::thread::sleep(GRACE_POLL);
        }
        drop(before);

        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_BLOCKS), catalog::key(tenant, id), meta.encode());
        for key in &span_keys {
            batch.delete_cf(self.cf(CF_SPANS), key);
        }
        let postings = self.cf(index::CF_POSTINGS);
        let writes = self.cf(index::CF_WRITES);
        for (write_key, record) in &selection.writes {
            if record
                .traces
                .iter()
                .any(|(t, _)| selection.pending.contains(t))
            {
                continue; // still names a trace that stays hot
            }
            let write_ref = &write_key[TENANT_ID_LEN..];
            for posting in &record.postings {
                let mut key = Vec::with_capacity(TENANT_ID_LEN + 24);
                key.extend_from_slice(&tenant.0.to_be_bytes());
                key.extend_from_slice(&posting.to_be_bytes());
                key.extend_from_slice(write_ref);
                batch.delete_cf(postings, key);
            }
            batch.delete_cf(writes, write_key);
        }
        let summaries = self.cf(index::CF_SUMMARIES);
        for trace_id in &moved {
            batch.delete_cf(summaries, keys::trace_key(tenant, trace_id));
        }
        self.db.write(batch)?;
        self.blocks.update(|list| {
            for listed in list.iter_mut() {
                if Arc::ptr_eq(&listed.open, &open) {
                    listed.shadow = None;
                }
            }
        });
        tracing::info!(
            tenant = tenant.0,
            block = format!("{id:016x}"),
            spans = meta.span_count,
            traces = meta.trace_count,
            bytes = meta.bytes,
            seconds = started.elapsed().as_secs_f64(),
            "built a block"
        );
        Ok(Some(BuildOutcome {
            meta,
            pending_traces: selection.pending.len(),
        }))
    }

    /// The oldest writes before the cutoff, up to `max_traces` traces.
    fn select_writes(
        &self,
        tenant: TenantId,
        cutoff: u64,
        max_traces: usize,
    ) -> Result<Selection, StoreError> {
        let prefix = tenant.0.to_be_bytes();
        let iterator = self.db.iterator_cf(
            self.cf(index::CF_WRITES),
            IteratorMode::From(&prefix, Direction::Forward),
        );
        let mut selection = Selection {
            writes: Vec::new(),
            traces: BTreeSet::new(),
            pending: BTreeSet::new(),
        };
        for item in iterator {
            let (key, value) = item?;
            if !key.starts_with(&prefix) || key.len() != TENANT_ID_LEN + 16 {
                break;
            }
            let newest = u64::from_be_bytes(
                key[TENANT_ID_LEN..TENANT_ID_LEN + 8]
                    .try_into()
                    .unwrap_or([0xff; 8]),
            );
            if newest >= cutoff || selection.traces.len() >= max_traces {
                break;
            }
            let Some(record) = WriteRecord::decode(&value) else {
                continue;
            };
            for (trace, _) in &record.traces {
                if selection.traces.insert(*trace)
                    && self
                        .db
                        .get_pinned_cf(self.cf(CF_PENDING), keys::trace_key(tenant, trace))?
                        .is_some()
                {
                    selection.pending.insert(*trace);
                }
            }
            selection.writes.push((key.to_vec(), record));
        }
        Ok(selection)
    }
}
