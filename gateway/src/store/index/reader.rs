//! Reading the indexes: posting lists newest first, their intersection, trace
//! summaries, tag keys and the distinct indexed values of a key.

use rocksdb::{DB, DBRawIteratorWithThreadMode, ReadOptions};

use super::keys::{self, ENTRY_SUFFIX_LEN, Field, IndexValue, TagScope, ValueRef};
use super::summary::TraceSummary;
use crate::model::TraceId;
use crate::store::keys::TenantId;
use crate::store::{StoreError, TimeWindow, TraceStore};

/// One index entry: the earliest span start of the write that added it, and the trace.
pub type Entry = (u64, TraceId);

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

/// Walks one posting list (or the tenant's trace-time list) from the newest entry down.
pub struct PostingCursor<'a> {
    iterator: DBRawIteratorWithThreadMode<'a, DB>,
    prefix: Vec<u8>,
    lowest_start: u64,
    current: Option<Entry>,
}

impl<'a> PostingCursor<'a> {
    fn open(
        db: &'a DB,
        family: &rocksdb::ColumnFamily,
        prefix: Vec<u8>,
        window: TimeWindow,
    ) -> PostingCursor<'a> {
        let mut read_options = ReadOptions::default();
        // Prefixes vary in length here; there is no prefix extractor to rely on.
        read_options.set_total_order_seek(true);
        let iterator = db.raw_iterator_cf_opt(family, read_options);
        let mut cursor = PostingCursor {
            iterator,
            prefix,
            lowest_start: window.start_unix_nano,
            current: None,
        };
        cursor.seek_at_or_before((window.end_unix_nano, TraceId([0xff; 16])));
        cursor
    }

    fn load(&mut self) {
        self.current = self
            .iterator
            .key()
            .filter(|key| key.starts_with(&self.prefix))
            .and_then(|key| keys::parse_entry(key, self.prefix.len()))
            .filter(|(start, _)| *start >= self.lowest_start);
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
            .seek_for_prev(keys::entry_key(&self.prefix, entry.0, &entry.1));
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
    fn index_family(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.cf(name)
    }

    /// The traces with `value` in (field, key), newest first within `window`.
    pub fn posting_cursor(
        &self,
        tenant: TenantId,
        field: Field,
        key: &str,
        value: ValueRef<'_>,
        window: TimeWindow,
    ) -> Option<PostingCursor<'_>> {
        let prefix = keys::posting_prefix(tenant, field, key, value)?;
        Some(PostingCursor::open(
            &self.db,
            self.index_family(super::CF_POSTINGS),
            prefix,
            window,
        ))
    }

    /// Every trace of the tenant, newest first within `window`.
    pub fn trace_time_cursor(&self, tenant: TenantId, window: TimeWindow) -> PostingCursor<'_> {
        PostingCursor::open(
            &self.db,
            self.index_family(super::CF_TRACE_TIMES),
            keys::tenant_prefix(tenant),
            window,
        )
    }

    /// The merged summary of a trace, if any of its spans was stored.
    pub fn trace_summary(
        &self,
        tenant: TenantId,
        trace_id: &TraceId,
    ) -> Result<Option<TraceSummary>, StoreError> {
        let bytes = self.db.get_pinned_cf(
            self.index_family(super::CF_SUMMARIES),
            keys::summary_key(tenant, trace_id),
        )?;
        Ok(bytes.and_then(|bytes| TraceSummary::decode(&bytes)))
    }

    /// Attribute keys seen in `scope`, sorted, at most `limit`.
    pub fn tag_keys(
        &self,
        tenant: TenantId,
        scope: TagScope,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let prefix = keys::tag_key(tenant, scope, "");
        let mut iterator = self
            .db
            .raw_iterator_cf(self.index_family(super::CF_TAG_KEYS));
        iterator.seek(&prefix);
        let mut names = Vec::new();
        while let Some(key) = iterator.key() {
            if !key.starts_with(&prefix) || names.len() >= limit {
                break;
            }
            if let Some((_, name)) = keys::parse_tag_key(key) {
                names.push(name);
            }
            iterator.next();
        }
        iterator.status()?;
        Ok(names)
    }

    /// Distinct indexed values of (field, key), at most `limit`: one seek per value,
    /// skipping over its entries.
    pub fn indexed_values(
        &self,
        tenant: TenantId,
        field: Field,
        key: &str,
        limit: usize,
    ) -> Result<Vec<IndexValue>, StoreError> {
        let Some(prefix) = keys::attribute_prefix(tenant, field, key) else {
            return Ok(Vec::new());
        };
        let mut read_options = ReadOptions::default();
        read_options.set_total_order_seek(true);
        let mut iterator = self
            .db
            .raw_iterator_cf_opt(self.index_family(super::CF_POSTINGS), read_options);
        iterator.seek(&prefix);
        let mut values = Vec::new();
        while values.len() < limit {
            let Some(key) = iterator.key() else { break };
            if !key.starts_with(&prefix) {
                break;
            }
            let Some((value, rest)) = keys::split_value(&key[prefix.len()..]) else {
                break;
            };
            // Past every entry of this value: its posting prefix followed by 0xff bytes.
            let mut past = key[..key.len() - rest.len()].to_vec();
            past.extend_from_slice(&[0xff; ENTRY_SUFFIX_LEN + 1]);
            values.push(value);
            iterator.seek(&past);
        }
        iterator.status()?;
        Ok(values)
    }
}
