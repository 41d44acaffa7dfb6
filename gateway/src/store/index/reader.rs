//! Reading the indexes: posting lists and write records newest first, their
//! intersection and union, write records, trace summaries, tag keys and indexed values.

use rocksdb::{DB, DBRawIteratorWithThreadMode, ReadOptions};

use super::keys::{self, Field, IndexValue, ValueRef, WriteRef};
use super::record::WriteRecord;
use super::summary::TraceSummary;
use crate::model::TagScope;
use crate::model::TraceId;
use crate::store::keys::TenantId;
use crate::store::retention::{Horizon, registry_put_seconds, write_id_seconds};
use crate::store::{StoreError, TimeWindow, TraceStore};

/// One entry of a posting list or of the write list: a write.
pub type Entry = WriteRef;

/// How far past a window's end a write's newest span may start while the write still
/// holds spans of traces that overlap the window (a write's spans start close together;
/// the trace summaries decide exactly).
const LATE_WRITE_SLACK_NANOS: u64 = 300 * 1_000_000_000;

/// A list of entries read newest first.
pub trait Cursor {
    /// The entry the cursor is on; `None` once the list (or the window) is exhausted.
    fn current(&self) -> Option<Entry>;
    /// Moves to the next older entry.
    fn advance(&mut self);
    /// Moves to the newest entry at or before `entry`.
    fn seek_at_or_before(&mut self, entry: Entry);
    /// An error met while reading (the cursor then reads as exhausted).
    fn status(&self) -> Result<(), StoreError>;
}

/// Walks one posting list (or the tenant's write list) from the newest entry down.
pub struct PostingCursor<'a> {
    iterator: DBRawIteratorWithThreadMode<'a, DB>,
    prefix: Vec<u8>,
    lowest: u64,
    /// Writes ingested before this (unix seconds) are expired: skipped until a
    /// compaction removes them.
    horizon: Horizon,
    current: Option<Entry>,
}

impl<'a> PostingCursor<'a> {
    fn open(
        db: &'a DB,
        family: &rocksdb::ColumnFamily,
        prefix: Vec<u8>,
        window: TimeWindow,
        horizon: Horizon,
    ) -> PostingCursor<'a> {
        let mut read_options = ReadOptions::default();
        read_options.set_total_order_seek(true);
        let iterator = db.raw_iterator_cf_opt(family, read_options);
        let mut cursor = PostingCursor {
            iterator,
            prefix,
            // A trace's start is never after a write's newest start: older writes hold
            // nothing of traces that start in the window.
            lowest: window.start_unix_nano,
            horizon,
            current: None,
        };
        let highest = window.end_unix_nano.saturating_add(LATE_WRITE_SLACK_NANOS);
        cursor.seek_at_or_before((highest, u64::MAX));
        cursor
    }

    /// Reads the entry under the iterator, stepping back over expired ones.
    fn load(&mut self) {
        loop {
            self.current = self
                .iterator
                .key()
                .filter(|key| key.starts_with(&self.prefix))
                .and_then(|key| keys::parse_entry(key, self.prefix.len()))
                .filter(|(newest, _)| *newest >= self.lowest);
            match self.current {
                Some((_, write_id)) if self.horizon.expired(write_id_seconds(write_id)) => {
                    self.iterator.prev();
                }
                _ => return,
            }
        }
    }
}

impl Cursor for PostingCursor<'_> {
    fn current(&self) -> Option<Entry> {
        self.current
    }

    fn advance(&mut self) {
        if self.current.is_some() {
            self.iterator.prev();
            self.load();
        }
    }

    fn seek_at_or_before(&mut self, entry: Entry) {
        self.iterator
            .seek_for_prev(keys::entry_key(&self.prefix, entry));
        self.load();
    }

    fn status(&self) -> Result<(), StoreError> {
        Ok(self.iterator.status()?)
    }
}

/// Entries present in any of the cursors, newest first, each once (e.g. the postings of
/// every value a regex matches).
pub struct Union<'a> {
    cursors: Vec<Box<dyn Cursor + 'a>>,
}

impl<'a> Union<'a> {
    pub fn new(cursors: Vec<Box<dyn Cursor + 'a>>) -> Union<'a> {
        Union { cursors }
    }
}

impl Cursor for Union<'_> {
    fn current(&self) -> Option<Entry> {
        self.cursors.iter().filter_map(|c| c.current()).max()
    }

    fn advance(&mut self) {
        if let Some(newest) = self.current() {
            for cursor in &mut self.cursors {
                if cursor.current() == Some(newest) {
                    cursor.advance();
                }
            }
        }
    }

    fn seek_at_or_before(&mut self, entry: Entry) {
        for cursor in &mut self.cursors {
            cursor.seek_at_or_before(entry);
        }
    }

    fn status(&self) -> Result<(), StoreError> {
        self.cursors.iter().try_for_each(|c| c.status())
    }
}

/// Entries present in every cursor, newest first (leapfrog: each cursor seeks to the
/// candidate of the others, so long lists are skipped through, not read).
pub struct Intersection<'a> {
    cursors: Vec<Box<dyn Cursor + 'a>>,
}

impl<'a> Intersection<'a> {
    pub fn new(cursors: Vec<Box<dyn Cursor + 'a>>) -> Intersection<'a> {
        Intersection { cursors }
    }

    pub fn status(&self) -> Result<(), StoreError> {
        self.cursors.iter().try_for_each(|c| c.status())
    }
}

impl Iterator for Intersection<'_> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        let count = self.cursors.len();
        let mut target = self.cursors.first()?.current()?;
        let mut agreeing = 1;
        let mut index = 1;
        while agreeing < count {
            let cursor = &mut self.cursors[index % count];
            if cursor.current() != Some(target) {
                cursor.seek_at_or_before(target);
            }
            let found = cursor.current()?;
            if found == target {
                agreeing += 1;
            } else {
                target = found;
                agreeing = 1;
            }
            index += 1;
        }
        // Every cursor is on `target`; the first moves on for the next call.
        self.cursors[0].advance();
        Some(target)
    }
}

impl TraceStore {
    /// The writes holding posting `posting`, newest first, for traces in `window`.
    pub fn posting_cursor(
        &self,
        tenant: TenantId,
        posting: u64,
        window: TimeWindow,
    ) -> PostingCursor<'_> {
        PostingCursor::open(
            &self.db,
            self.cf(super::CF_POSTINGS),
            keys::posting_prefix(tenant, posting).to_vec(),
            window,
            self.horizons.get(tenant),
        )
    }

    /// Every write of the tenant, newest first, for traces in `window`.
    pub fn write_cursor(&self, tenant: TenantId, window: TimeWindow) -> PostingCursor<'_> {
        PostingCursor::open(
            &self.db,
            self.cf(super::CF_WRITES),
            keys::tenant_prefix(tenant).to_vec(),
            window,
            self.horizons.get(tenant),
        )
    }

    /// The record of a write: its traces and which postings each holds.
    pub fn write_record(
        &self,
        tenant: TenantId,
        write: WriteRef,
    ) -> Result<Option<WriteRecord>, StoreError> {
        let key = keys::entry_key(&keys::tenant_prefix(tenant), write);
        let bytes = self.db.get_pinned_cf(self.cf(super::CF_WRITES), key)?;
        Ok(bytes.and_then(|bytes| WriteRecord::decode(&bytes)))
    }

    /// The merged summary of a trace, if any of its spans was stored (and retention
    /// has not expired all of them).
    pub fn trace_summary(
        &self,
        tenant: TenantId,
        trace_id: &TraceId,
    ) -> Result<Option<TraceSummary>, StoreError> {
        let bytes = self.db.get_pinned_cf(
            self.cf(super::CF_SUMMARIES),
            keys::summary_key(tenant, trace_id),
        )?;
        let horizon = self.horizons.get(tenant);
        Ok(bytes
            .and_then(|bytes| TraceSummary::decode(&bytes))
            .filter(|summary| !horizon.expired(summary.last_ingest_seconds())))
    }

    /// Attribute keys seen in `scope`, sorted, at most `limit`.
    pub fn tag_keys(
        &self,
        tenant: TenantId,
        scope: TagScope,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let Some(prefix) = keys::tag_key(tenant, scope, "") else {
            return Ok(Vec::new());
        };
        let mut names = Vec::new();
        self.scan_registry(tenant, super::CF_TAG_KEYS, &prefix, |key| {
            if let Some((_, name)) = keys::parse_tag_key(key) {
                names.push(name);
            }
            names.len() < limit
        })?;
        Ok(names)
    }

    /// Distinct indexed values of (field, key), sorted by encoding, at most `limit`.
    pub fn indexed_values(
        &self,
        tenant: TenantId,
        field: Field,
        key: &str,
        limit: usize,
    ) -> Result<Vec<IndexValue>, StoreError> {
        let Some(prefix) = keys::value_key_prefix(tenant, field, key) else {
            return Ok(Vec::new());
        };
        let mut values: Vec<IndexValue> = Vec::new();
        self.scan_registry(tenant, super::CF_VALUES, &prefix, |entry| {
            if let Some((value, _)) = keys::split_value(&entry[prefix.len()..])
                && values.last() != Some(&value)
            {
                values.push(value);
            }
            values.len() < limit
        })?;
        Ok(values)
    }

    /// The ids of the resources whose attribute `key` is `value` (at most `limit`).
    pub fn resources_with(
        &self,
        tenant: TenantId,
        key: &str,
        value: ValueRef<'_>,
        limit: usize,
    ) -> Result<Vec<u64>, StoreError> {
        let Some(prefix) = keys::value_key(tenant, Field::ResourceAttribute, key, value, None)
        else {
            return Ok(Vec::new());
        };
        let Some(key_prefix_len) =
            keys::value_key_prefix(tenant, Field::ResourceAttribute, key).map(|p| p.len())
        else {
            return Ok(Vec::new());
        };
        let mut resources = Vec::new();
        self.scan_registry(tenant, super::CF_VALUES, &prefix, |entry| {
            if let Some((_, Some(resource))) = keys::split_value(&entry[key_prefix_len..]) {
                resources.push(resource);
            }
            resources.len() < limit
        })?;
        Ok(resources)
    }

    /// Calls `visit` with each registry key (indexed value, tag key) starting with
    /// `prefix` that retention has not expired, in order, while it returns true.
    fn scan_registry(
        &self,
        tenant: TenantId,
        family: &str,
        prefix: &[u8],
        mut visit: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), StoreError> {
        let horizon = self.horizons.get(tenant);
        let mut read_options = ReadOptions::default();
        read_options.set_total_order_seek(true);
        let mut iterator = self.db.raw_iterator_cf_opt(self.cf(family), read_options);
        iterator.seek(prefix);
        while let (Some(key), Some(value)) = (iterator.key(), iterator.value()) {
            if !key.starts_with(prefix) {
                break;
            }
            let expired =
                registry_put_seconds(value).is_some_and(|put| horizon.registry_expired(put));
            if !expired && !visit(key) {
                break;
            }
            iterator.next();
        }
        iterator.status()?;
        Ok(())
    }
}
