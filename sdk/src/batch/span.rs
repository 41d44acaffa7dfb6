//! One span of a batch, its events and its links, read column by column.

use std::ops::Range;

use spangate_plugin_abi::column;

use super::attributes::{AttributeKind, AttributeTable, Attributes};
use super::{SpanBatch, TraceId, strict};
use crate::bindings::types::{SpanFields, SpanKind, StatusCode};

/// A span's index in its batch: what span edits (`set_name`, `drop_span`, ...) address.
/// Edits take a `SpanView` too, so `edits.set_name(span, ..)` needs no `.index()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanIndex(pub u32);

impl From<u32> for SpanIndex {
    fn from(index: u32) -> Self {
        SpanIndex(index)
    }
}

impl From<SpanView<'_>> for SpanIndex {
    fn from(span: SpanView<'_>) -> Self {
        SpanIndex(span.index)
    }
}

impl From<&SpanView<'_>> for SpanIndex {
    fn from(span: &SpanView<'_>) -> Self {
        SpanIndex(span.index)
    }
}

/// One span of a batch: a batch reference and an index.
#[derive(Clone, Copy, Debug)]
pub struct SpanView<'a> {
    batch: &'a SpanBatch,
    index: u32,
}

impl<'a> SpanView<'a> {
    pub(crate) fn new(batch: &'a SpanBatch, index: u32) -> Self {
        SpanView { batch, index }
    }

    /// The span's index in the batch (what span edits address; edits also take the
    /// view itself).
    pub fn index(&self) -> u32 {
        self.index
    }

    #[inline]
    #[track_caller]
    fn require(&self, field: SpanFields, accessor: &str) {
        strict::require_field(self.batch.declared(), field, accessor);
    }

    #[inline]
    fn at(&self) -> usize {
        self.index as usize
    }

    /// The trace id (needs `TRACE_ID`).
    #[track_caller]
    pub fn trace_id(&self) -> TraceId {
        TraceId::from_bytes(self.trace_id_bytes())
    }

    /// The trace id's 16 bytes as on the wire (needs `TRACE_ID`).
    #[inline]
    #[track_caller]
    pub fn trace_id_bytes(&self) -> [u8; 16] {
        self.require(SpanFields::TRACE_ID, "span.trace_id()");
        let columns = self.batch.columns();
        columns
            .id_at(column::TRACE_ID, self.at())
            .unwrap_or_default()
    }

    /// The span id, its wire bytes read big-endian (needs `SPAN_ID`).
    #[track_caller]
    pub fn span_id(&self) -> u64 {
        u64::from_be_bytes(self.span_id_bytes())
    }

    /// The span id's 8 bytes as on the wire (needs `SPAN_ID`).
    #[inline]
    #[track_caller]
    pub fn span_id_bytes(&self) -> [u8; 8] {
        self.require(SpanFields::SPAN_ID, "span.span_id()");
        let columns = self.batch.columns();
        columns
            .id_at(column::SPAN_ID, self.at())
            .unwrap_or_default()
    }

    /// `None` for a root span (parent id 0) and when the column is absent (needs
    /// `PARENT_SPAN_ID`).
    #[track_caller]
    pub fn parent_span_id(&self) -> Option<u64> {
        self.require(SpanFields::PARENT_SPAN_ID, "span.parent_span_id()");
        let columns = self.batch.columns();
        let parent: [u8; 8] = columns.id_at(column::PARENT_SPAN_ID, self.at())?;
        Some(u64::from_be_bytes(parent)).filter(|&parent| parent != 0)
    }

    /// The service name of the span's resource (needs `SERVICE_NAME`).
    #[inline]
    #[track_caller]
    pub fn service_name(&self) -> &'a str {
        self.require(SpanFields::SERVICE_NAME, "span.service_name()");
        match self.batch.columns().u32_at(column::SERVICE, self.at()) {
            Some(service) => self.batch.string(column::SERVICES, service),
            None => "",
        }
    }

    /// Needs `NAME`.
    #[inline]
    #[track_caller]
    pub fn name(&self) -> &'a str {
        self.require(SpanFields::NAME, "span.name()");
        self.batch.string(column::NAME, self.index)
    }

    /// Needs `KIND`.
    #[track_caller]
    pub fn kind(&self) -> SpanKind {
        self.require(SpanFields::KIND, "span.kind()");
        match self.batch.columns().u8_at(column::KIND, self.at()) {
            Some(1) => SpanKind::Internal,
            Some(2) => SpanKind::Server,
            Some(3) => SpanKind::Client,
            Some(4) => SpanKind::Producer,
            Some(5) => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    /// Needs `TIMES`.
    #[inline]
    #[track_caller]
    pub fn start_unix_nanos(&self) -> u64 {
        self.require(SpanFields::TIMES, "span.start_unix_nanos()");
        let columns = self.batch.columns();
        columns.u64_at(column::START, self.at()).unwrap_or(0)
    }

    /// Needs `TIMES`.
    #[inline]
    #[track_caller]
    pub fn end_unix_nanos(&self) -> u64 {
        self.require(SpanFields::TIMES, "span.end_unix_nanos()");
        let columns = self.batch.columns();
        columns.u64_at(column::END, self.at()).unwrap_or(0)
    }

    /// End minus start, 0 when the end is before the start (needs `TIMES`).
    #[inline]
    #[track_caller]
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos()
            .saturating_sub(self.start_unix_nanos())
    }

    /// Needs `STATUS`.
    #[inline]
    #[track_caller]
    pub fn status(&self) -> StatusCode {
        self.require(SpanFields::STATUS, "span.status()");
        match self.batch.columns().u8_at(column::STATUS, self.at()) {
            Some(1) => StatusCode::Ok,
            Some(2) => StatusCode::Error,
            _ => StatusCode::Unset,
        }
    }

    /// Needs `STATUS_MESSAGE`.
    #[track_caller]
    pub fn status_message(&self) -> &'a str {
        self.require(SpanFields::STATUS_MESSAGE, "span.status_message()");
        self.batch.string(column::STATUS_MESSAGE, self.index)
    }

    /// The host's encoded size of the span in bytes (needs `SIZE`).
    #[track_caller]
    pub fn size(&self) -> u32 {
        self.require(SpanFields::SIZE, "span.size()");
        self.batch
            .columns()
            .u32_at(column::SIZE, self.at())
            .unwrap_or(0)
    }

    /// The span's selected attributes (needs a span attribute selection).
    #[inline]
    #[track_caller]
    pub fn attributes(&self) -> Attributes<'a> {
        let kind = AttributeKind::Span;
        strict::require_attributes(self.batch.declared(), kind, "span.attributes()");
        AttributeTable::new(self.batch, kind).owner_attributes(self.index)
    }

    /// The selected attributes of the span's resource, shared by the spans with the same
    /// `resource_index` (needs a resource attribute selection).
    #[inline]
    #[track_caller]
    pub fn resource_attributes(&self) -> Attributes<'a> {
        let kind = AttributeKind::Resource;
        strict::require_attributes(self.batch.declared(), kind, "span.resource_attributes()");
        let table = AttributeTable::new(self.batch, kind);
        match self.batch.columns().u32_at(column::RESOURCE, self.at()) {
            Some(resource) => table.owner_attributes(resource),
            None => Attributes::none(table),
        }
    }

    /// The owner index of the span's resource in the resource attribute table (needs a
    /// resource attribute selection; 0 when absent).
    #[inline]
    #[track_caller]
    pub fn resource_index(&self) -> u32 {
        let kind = AttributeKind::Resource;
        strict::require_attributes(self.batch.declared(), kind, "span.resource_index()");
        let columns = self.batch.columns();
        columns.u32_at(column::RESOURCE, self.at()).unwrap_or(0)
    }

    /// The span's events (needs `EVENT_NAMES` or an event attribute selection).
    #[track_caller]
    pub fn events(&self) -> Events<'a> {
        let declared = self.batch.declared();
        let names = Some(SpanFields::EVENT_NAMES);
        strict::require_field_or_attributes(declared, names, AttributeKind::Event, "span.events()");
        let batch = self.batch;
        // Events exist as far as a column describes them (names, or attribute owners).
        let named = batch.columns().count(column::EVENT_NAMES);
        let owned = AttributeTable::new(batch, AttributeKind::Event).owners();
        let events = u32::try_from(named).unwrap_or(u32::MAX).max(owned);
        let indexes = batch
            .columns()
            .range_at(column::EVENT_OFFSETS, self.at(), events);
        Events { batch, indexes }
    }

    /// The span's links (needs a link attribute selection).
    #[track_caller]
    pub fn links(&self) -> Links<'a> {
        let declared = self.batch.declared();
        strict::require_field_or_attributes(declared, None, AttributeKind::Link, "span.links()");
        let batch = self.batch;
        let links = AttributeTable::new(batch, AttributeKind::Link).owners();
        let indexes = batch
            .columns()
            .range_at(column::LINK_OFFSETS, self.at(), links);
        Links { batch, indexes }
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
    indexes: Range<u32>,
}

impl<'a> Iterator for Events<'a> {
    type Item = EventView<'a>;

    fn next(&mut self) -> Option<EventView<'a>> {
        let index = self.indexes.next()?;
        let batch = self.batch;
        Some(EventView {
            index,
            name: batch.string(column::EVENT_NAMES, index),
            attributes: AttributeTable::new(batch, AttributeKind::Event).owner_attributes(index),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.indexes.size_hint()
    }
}

impl ExactSizeIterator for Events<'_> {}

/// The links of a span.
#[derive(Clone, Debug)]
pub struct Links<'a> {
    batch: &'a SpanBatch,
    indexes: Range<u32>,
}

impl<'a> Iterator for Links<'a> {
    type Item = LinkView<'a>;

    fn next(&mut self) -> Option<LinkView<'a>> {
        let index = self.indexes.next()?;
        let table = AttributeTable::new(self.batch, AttributeKind::Link);
        Some(LinkView {
            index,
            attributes: table.owner_attributes(index),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.indexes.size_hint()
    }
}

impl ExactSizeIterator for Links<'_> {}
