//! Per-span reading of a column batch.
//!
//! The host sends a batch as columns (see `wit/plugin.wit`): one list per field, strings
//! packed into one blob per column, attributes as rows grouped by owner. [`SpanBatch`]
//! keeps that batch as it arrived and hands out [`SpanView`]s, cheap `Copy` cursors whose
//! accessors index the columns directly: no per-span allocation. A column the plugin did
//! not declare is empty, so its accessor returns the default ("" / 0 / nothing).

mod attributes;
mod columns;

pub use attributes::{Attribute, Attributes, Value};

use crate::bindings::types::{self, SpanKind, StatusCode};
use attributes::owner_attributes;
use columns::{AttributeTable, Checked, CheckedAttributes, Text, clamped_range};

/// A batch of spans as the host sent it, with per-span accessors.
#[derive(Clone, Debug)]
pub struct SpanBatch {
    raw: types::SpanBatch,
    checked: CheckedColumns,
}

/// UTF-8 checks of every string column, made once per batch so that reading a string
/// is a slice, not a validation.
#[derive(Clone, Copy, Debug, Default)]
struct CheckedColumns {
    services: Checked,
    names: Checked,
    status_messages: Checked,
    event_names: Checked,
    span_attributes: CheckedAttributes,
    event_attributes: CheckedAttributes,
    link_attributes: CheckedAttributes,
    resource_attributes: CheckedAttributes,
}

impl SpanBatch {
    /// Takes a batch as the generated bindings hand it over.
    pub fn from_wit(raw: types::SpanBatch) -> Self {
        let checked = CheckedColumns {
            services: Checked::of(&raw.services),
            names: Checked::of(&raw.names),
            status_messages: Checked::of(&raw.status_messages),
            event_names: Checked::of(&raw.event_names),
            span_attributes: CheckedAttributes::of(&raw.span_attributes),
            event_attributes: CheckedAttributes::of(&raw.event_attributes),
            link_attributes: CheckedAttributes::of(&raw.link_attributes),
            resource_attributes: CheckedAttributes::of(&raw.resource_attributes),
        };
        Self { raw, checked }
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
        SpanView {
            batch: self,
            index: index as u32,
        }
    }

    /// Every span, in batch order.
    pub fn spans(&self) -> Spans<'_> {
        Spans {
            batch: self,
            next: 0,
            end: self.raw.len,
        }
    }

    /// The columns themselves, for plugins that work column-wise (for instance
    /// checking each distinct attribute key once instead of once per row).
    pub fn raw(&self) -> &types::SpanBatch {
        &self.raw
    }

    fn span_attribute_table(&self) -> AttributeTable<'_> {
        AttributeTable::new(&self.raw.span_attributes, self.checked.span_attributes)
    }

    fn resource_attribute_table(&self) -> AttributeTable<'_> {
        AttributeTable::new(
            &self.raw.resource_attributes,
            self.checked.resource_attributes,
        )
    }

    fn event_attribute_table(&self) -> AttributeTable<'_> {
        AttributeTable::new(&self.raw.event_attributes, self.checked.event_attributes)
    }

    fn link_attribute_table(&self) -> AttributeTable<'_> {
        AttributeTable::new(&self.raw.link_attributes, self.checked.link_attributes)
    }
}

/// The spans of a batch, in order.
#[derive(Clone, Debug)]
pub struct Spans<'a> {
    batch: &'a SpanBatch,
    next: u32,
    end: u32,
}

impl<'a> Iterator for Spans<'a> {
    type Item = SpanView<'a>;

    fn next(&mut self) -> Option<SpanView<'a>> {
        if self.next >= self.end {
            return None;
        }
        let view = SpanView {
            batch: self.batch,
            index: self.next,
        };
        self.next += 1;
        Some(view)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.end - self.next) as usize;
        (left, Some(left))
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

/// One span of a batch: a batch reference and an index, read column by column.
#[derive(Clone, Copy, Debug)]
pub struct SpanView<'a> {
    batch: &'a SpanBatch,
    index: u32,
}

impl<'a> SpanView<'a> {
    /// The span's index in the batch: what span edits (`set_name`, `drop_span`, ...)
    /// address.
    pub fn index(&self) -> u32 {
        self.index
    }

    #[inline]
    fn at<T: Copy>(&self, column: &'a [T]) -> Option<T> {
        column.get(self.index as usize).copied()
    }

    pub fn trace_id(&self) -> TraceId {
        let raw = &self.batch.raw;
        TraceId::from_hi_lo(
            self.at(&raw.trace_id_hi).unwrap_or(0),
            self.at(&raw.trace_id_lo).unwrap_or(0),
        )
    }

    pub fn span_id(&self) -> u64 {
        self.at(&self.batch.raw.span_id).unwrap_or(0)
    }

    /// `None` for a root span (parent id 0) and when the column was not declared.
    pub fn parent_span_id(&self) -> Option<u64> {
        self.at(&self.batch.raw.parent_span_id)
            .filter(|&parent| parent != 0)
    }

    pub fn service_name(&self) -> &'a str {
        let batch = self.batch;
        match self.at(&batch.raw.service_index) {
            Some(service) => {
                Text::new(&batch.raw.services, batch.checked.services).get(service as usize)
            }
            None => "",
        }
    }

    pub fn name(&self) -> &'a str {
        let batch = self.batch;
        Text::new(&batch.raw.names, batch.checked.names).get(self.index as usize)
    }

    pub fn kind(&self) -> SpanKind {
        self.at(&self.batch.raw.kind)
            .unwrap_or(SpanKind::Unspecified)
    }

    pub fn start_unix_nanos(&self) -> u64 {
        self.at(&self.batch.raw.start_unix_nanos).unwrap_or(0)
    }

    pub fn end_unix_nanos(&self) -> u64 {
        self.at(&self.batch.raw.end_unix_nanos).unwrap_or(0)
    }

    /// End minus start, 0 when the end is before the start.
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos()
            .saturating_sub(self.start_unix_nanos())
    }

    pub fn status(&self) -> StatusCode {
        self.at(&self.batch.raw.status).unwrap_or(StatusCode::Unset)
    }

    pub fn status_message(&self) -> &'a str {
        let batch = self.batch;
        Text::new(&batch.raw.status_messages, batch.checked.status_messages)
            .get(self.index as usize)
    }

    /// The host's encoded size of the span in bytes.
    pub fn size(&self) -> u32 {
        self.at(&self.batch.raw.size).unwrap_or(0)
    }

    /// The span's selected attributes.
    pub fn attributes(&self) -> Attributes<'a> {
        owner_attributes(self.batch.span_attribute_table(), self.index as usize)
    }

    /// The selected attributes of the span's resource (shared by the spans with the
    /// same `resource_index`).
    pub fn resource_attributes(&self) -> Attributes<'a> {
        let table = self.batch.resource_attribute_table();
        match self.at(&self.batch.raw.resource_index) {
            Some(resource) => owner_attributes(table, resource as usize),
            None => Attributes::empty(table),
        }
    }

    pub fn resource_index(&self) -> u32 {
        self.at(&self.batch.raw.resource_index).unwrap_or(0)
    }

    /// The span's events (set when event names or event attributes were declared).
    pub fn events(&self) -> Events<'a> {
        let batch = self.batch;
        // Events exist as far as a column describes them (names, or attribute owners).
        let names = Text::new(&batch.raw.event_names, batch.checked.event_names).len();
        let events = names.max(batch.event_attribute_table().owners());
        let (next, end) = clamped_range(&batch.raw.event_offsets, self.index as usize, events);
        Events {
            batch: self.batch,
            next,
            end,
        }
    }

    /// The span's links (set when link attributes were declared).
    pub fn links(&self) -> Links<'a> {
        let links = self.batch.link_attribute_table().owners();
        let (next, end) = clamped_range(&self.batch.raw.link_offsets, self.index as usize, links);
        Links {
            batch: self.batch,
            next,
            end,
        }
    }
}

/// An event of a span.
#[derive(Clone, Debug)]
pub struct EventView<'a> {
    /// Global event index in the batch: what `set_event_name` addresses.
    pub index: u32,
    /// "" unless event names were declared.
    pub name: &'a str,
    pub attributes: Attributes<'a>,
}

/// A link of a span.
#[derive(Clone, Debug)]
pub struct LinkView<'a> {
    /// Global link index in the batch.
    pub index: u32,
    pub attributes: Attributes<'a>,
}

/// The events of a span.
#[derive(Clone, Debug)]
pub struct Events<'a> {
    batch: &'a SpanBatch,
    next: u32,
    end: u32,
}

impl<'a> Iterator for Events<'a> {
    type Item = EventView<'a>;

    fn next(&mut self) -> Option<EventView<'a>> {
        if self.next >= self.end {
            return None;
        }
        let index = self.next;
        self.next += 1;
        let batch = self.batch;
        Some(EventView {
            index,
            name: Text::new(&batch.raw.event_names, batch.checked.event_names).get(index as usize),
            attributes: owner_attributes(batch.event_attribute_table(), index as usize),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.end - self.next) as usize;
        (left, Some(left))
    }
}

/// The links of a span.
#[derive(Clone, Debug)]
pub struct Links<'a> {
    batch: &'a SpanBatch,
    next: u32,
    end: u32,
}

impl<'a> Iterator for Links<'a> {
    type Item = LinkView<'a>;

    fn next(&mut self) -> Option<LinkView<'a>> {
        if self.next >= self.end {
            return None;
        }
        let index = self.next;
        self.next += 1;
        Some(LinkView {
            index,
            attributes: owner_attributes(self.batch.link_attribute_table(), index as usize),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.end - self.next) as usize;
        (left, Some(left))
    }
}

/// Distinct trace ids in order of first appearance: the traces `sample_tail` answers
/// for, one decision each, in this order.
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
