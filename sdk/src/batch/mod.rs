//! Reading a batch: per span, or column-wise.
//!
//! The host sends a batch as two buffers (`wit/README.md`, "Batch layout"): fixed-width
//! columns behind a directory, and a string arena. [`SpanBatch`] keeps them as they
//! arrived, checks the directory once, and hands out [`SpanView`]s, cheap `Copy` cursors
//! whose accessors index the columns directly: no per-span allocation. A column the
//! plugin did not declare is absent and its accessor returns the default ("" / 0 /
//! nothing) — except in the native harness, where it panics naming the missing
//! declaration. Column-wise code uses [`SpanBatch::attribute_table`] or the raw layout
//! through [`SpanBatch::view`].

mod arena;
mod attributes;
mod columns;
mod span;
mod strict;

pub use attributes::{Attribute, AttributeKind, AttributeTable, Attributes, Value};
pub use span::{EventView, Events, LinkView, Links, SpanIndex, SpanView};

use std::cell::OnceCell;

use spangate_plugin_abi::{BatchView, LayoutError, StrRef};

use crate::bindings::types::{self, Needs};
use arena::Arena;
use columns::{Columns, Directory};

/// A batch of spans as the host sent it, with per-span and per-column accessors.
#[derive(Clone, Debug)]
pub struct SpanBatch {
    raw: types::SpanBatch,
    directory: Directory,
    /// Whether the whole string arena is UTF-8, checked on the first string read.
    arena_utf8: OnceCell<bool>,
    /// The needs the batch was built for, in the native harness only: reading anything
    /// else panics (see `strict`).
    declared: Option<Box<Needs>>,
}

impl SpanBatch {
    /// Takes a batch as the generated bindings hand it over; refuses a column buffer
    /// whose directory does not fit it (the host never sends one).
    pub fn from_wit(raw: types::SpanBatch) -> Result<Self, LayoutError> {
        let directory = Directory::parse(&raw.columns, &raw.strings)?;
        Ok(SpanBatch {
            raw,
            directory,
            arena_utf8: OnceCell::new(),
            declared: None,
        })
    }

    /// Makes reads of anything `needs` does not declare panic (the native harness).
    pub(crate) fn declared_as(mut self, needs: &Needs) -> Self {
        self.declared = Some(Box::new(needs.clone()));
        self
    }

    #[inline]
    pub(crate) fn declared(&self) -> Option<&Needs> {
        self.declared.as_deref()
    }

    /// Number of spans.
    pub fn len(&self) -> usize {
        self.raw.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.raw.len == 0
    }

    /// Span `index`. An index past the end gives a view whose accessors all return
    /// defaults (it does not panic).
    pub fn span(&self, index: usize) -> SpanView<'_> {
        SpanView::new(self, u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// Every span, in batch order.
    pub fn spans(&self) -> Spans<'_> {
        Spans {
            batch: self,
            indexes: 0..self.raw.len,
        }
    }

    /// One attribute table, for column-wise reading.
    pub fn attribute_table(&self, kind: AttributeKind) -> AttributeTable<'_> {
        AttributeTable::new(self, kind)
    }

    /// The raw layout (`spangate_plugin_sdk::abi`), for code that reads columns itself.
    /// Parses the directory again (36 entries): call it once per batch, not per span.
    pub fn view(&self) -> BatchView<'_> {
        BatchView::parse(&self.raw.columns, &self.raw.strings)
            .expect("the directory was checked when the batch arrived")
    }

    /// The batch as the bindings carry it.
    pub fn as_wit(&self) -> &types::SpanBatch {
        &self.raw
    }

    pub fn into_wit(self) -> types::SpanBatch {
        self.raw
    }

    #[inline]
    pub(crate) fn columns(&self) -> Columns<'_> {
        Columns::new(&self.raw.columns, &self.directory)
    }

    #[inline]
    pub(crate) fn arena(&self) -> Arena<'_> {
        Arena::new(&self.raw.strings, &self.arena_utf8)
    }

    /// The string a string-reference column (`abi::column::NAME`, ...) holds at `index`:
    /// "" when absent or not UTF-8. Not checked against the needs (column-wise access).
    #[inline]
    pub fn string(&self, column: usize, index: u32) -> &str {
        let index = index as usize;
        match self.columns().u64_at(column, index) {
            Some(reference) => self.arena().text(StrRef::from_u64(reference)),
            None => "",
        }
    }

    /// As [`SpanBatch::string`], the bytes not checked for UTF-8: for code that checks
    /// them while scanning anyway (reading a `&str` checks the whole arena once first).
    #[inline]
    pub fn string_bytes(&self, column: usize, index: u32) -> &[u8] {
        let index = index as usize;
        match self.columns().u64_at(column, index) {
            Some(reference) => self.arena().bytes(StrRef::from_u64(reference)),
            None => b"",
        }
    }
}

/// The spans of a batch, in order.
#[derive(Clone, Debug)]
pub struct Spans<'a> {
    batch: &'a SpanBatch,
    indexes: std::ops::Range<u32>,
}

impl<'a> Iterator for Spans<'a> {
    type Item = SpanView<'a>;

    #[inline]
    fn next(&mut self) -> Option<SpanView<'a>> {
        let index = self.indexes.next()?;
        Some(SpanView::new(self.batch, index))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.indexes.size_hint()
    }
}

impl ExactSizeIterator for Spans<'_> {}

/// A 128-bit trace id; the wire's big-endian bytes are `hi` then `lo`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub u128);

impl TraceId {
    pub fn from_hi_lo(hi: u64, lo: u64) -> Self {
        Self((u128::from(hi) << 64) | u128::from(lo))
    }

    /// From the 16 bytes as OTLP carries them.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(u128::from_be_bytes(bytes))
    }

    pub fn hi(&self) -> u64 {
        (self.0 >> 64) as u64
    }

    pub fn lo(&self) -> u64 {
        self.0 as u64
    }

    /// The 16 bytes as OTLP carries them (big-endian: `hi` then `lo`).
    pub fn to_bytes(&self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// 32 lowercase hex digits, as Tempo's API shows trace ids.
    pub fn to_hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

impl std::fmt::Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Distinct trace ids in order of first appearance: the traces `sample_tail` answers
/// for, one decision each, in this order.
#[track_caller]
pub fn trace_ids_in_order(batch: &SpanBatch) -> Vec<TraceId> {
    let mut seen = std::collections::HashSet::new();
    let mut ordered = Vec::new();
    let mut previous = None;
    for span in batch.spans() {
        let trace_id = span.trace_id();
        // Spans of a trace usually arrive together; skip the set for runs.
        if previous == Some(trace_id) {
            continue;
        }
        previous = Some(trace_id);
        if seen.insert(trace_id) {
            ordered.push(trace_id);
        }
    }
    ordered
}

#[cfg(test)]
mod tests;
