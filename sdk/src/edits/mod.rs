//! The edits a processor answers with, encoded as they are built: 24-byte records and a
//! string buffer (`wit/README.md`, "Edit records"), handed to the host as they are.
//!
//! Edits address the batch the processor was given: attribute rows
//! ([`Attribute::row`](crate::batch::Attribute::row)), spans (a
//! [`SpanView`](crate::batch::SpanView) or its index) or events
//! ([`EventView::index`](crate::batch::EventView::index)). The host checks each one
//! (in range, field declared; a row both set and removed is refused) and applies them to
//! its own spans; one bad edit fails the whole answer.

mod decoded;
mod value;

pub use decoded::Edit;
pub use value::{AttributeValue, EditValue};

use spangate_plugin_abi::{EditRecord, EditRecords, StrRef, op, push_string, value_kind};

use crate::batch::SpanIndex;
use crate::bindings::types;

/// The edits of one `process` call, in the order they were asked for.
#[derive(Clone, Default)]
pub struct Edits {
    records: Vec<u8>,
    strings: Vec<u8>,
    /// The key of the last `add_span_attribute`: adding one key to many spans stores it
    /// once.
    last_key: Option<StrRef>,
}

impl Edits {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `edits` records before the buffer grows.
    pub fn with_capacity(edits: usize) -> Self {
        Edits {
            records: Vec::with_capacity(edits * spangate_plugin_abi::EDIT_RECORD_BYTES),
            ..Self::default()
        }
    }

    /// Edits from buffers as the host receives them (not checked: see [`Edits::decode`]).
    pub fn from_wit(edits: types::Edits) -> Self {
        Edits {
            records: edits.records,
            strings: edits.strings,
            last_key: None,
        }
    }

    /// The buffers, as the bindings carry them to the host.
    pub fn into_wit(self) -> types::Edits {
        types::Edits {
            records: self.records,
            strings: self.strings,
        }
    }

    #[inline]
    fn push(&mut self, op: u8, target: u32, key: StrRef, (kind, value): (u8, u64)) {
        EditRecord {
            op,
            kind,
            target,
            key,
            value,
        }
        .encode(&mut self.records);
    }

    #[inline]
    fn push_valued(&mut self, op: u8, target: u32, value: impl EditValue) {
        let value = value.encode(&mut self.strings);
        self.push(op, target, StrRef::default(), value);
    }

    #[inline]
    fn push_bare(&mut self, op: u8, target: u32) {
        self.push(op, target, StrRef::default(), (value_kind::STR, 0));
    }

    #[inline]
    fn push_text(&mut self, op: u8, target: u32, text: &str) {
        self.push_valued(op, target, text);
    }

    /// Replaces the value of span-attribute row `row` (the key stays).
    #[inline]
    pub fn set_span_attribute(&mut self, row: u32, value: impl EditValue) {
        self.push_valued(op::SET_SPAN_ATTRIBUTE, row, value);
    }

    #[inline]
    pub fn remove_span_attribute(&mut self, row: u32) {
        self.push_bare(op::REMOVE_SPAN_ATTRIBUTE, row);
    }

    /// Adds attribute `key` to `span` (the host replaces the value if the span already
    /// has `key`). Needs some span attribute selection: `keys(["my.key"])` is enough.
    pub fn add_span_attribute(
        &mut self,
        span: impl Into<SpanIndex>,
        key: impl AsRef<str>,
        value: impl EditValue,
    ) {
        let key = self.key(key.as_ref());
        let value = value.encode(&mut self.strings);
        self.push(op::ADD_SPAN_ATTRIBUTE, span.into().0, key, value);
    }

    /// `key` in the string buffer, stored once for runs of the same key.
    fn key(&mut self, key: &str) -> StrRef {
        if let Some(last) = self.last_key
            && last.get(&self.strings) == Some(key.as_bytes())
        {
            return last;
        }
        let stored = push_string(&mut self.strings, key.as_bytes());
        self.last_key = Some(stored);
        stored
    }

    /// Replaces the value of resource-attribute row `row`: every span of that resource
    /// sees the change.
    #[inline]
    pub fn set_resource_attribute(&mut self, row: u32, value: impl EditValue) {
        self.push_valued(op::SET_RESOURCE_ATTRIBUTE, row, value);
    }

    #[inline]
    pub fn remove_resource_attribute(&mut self, row: u32) {
        self.push_bare(op::REMOVE_RESOURCE_ATTRIBUTE, row);
    }

    #[inline]
    pub fn set_event_attribute(&mut self, row: u32, value: impl EditValue) {
        self.push_valued(op::SET_EVENT_ATTRIBUTE, row, value);
    }

    #[inline]
    pub fn remove_event_attribute(&mut self, row: u32) {
        self.push_bare(op::REMOVE_EVENT_ATTRIBUTE, row);
    }

    #[inline]
    pub fn set_link_attribute(&mut self, row: u32, value: impl EditValue) {
        self.push_valued(op::SET_LINK_ATTRIBUTE, row, value);
    }

    #[inline]
    pub fn remove_link_attribute(&mut self, row: u32) {
        self.push_bare(op::REMOVE_LINK_ATTRIBUTE, row);
    }

    /// Renames `span` (needs the `name` field declared).
    pub fn set_name(&mut self, span: impl Into<SpanIndex>, name: impl AsRef<str>) {
        self.push_text(op::SET_NAME, span.into().0, name.as_ref());
    }

    /// Needs the `status-message` field declared.
    pub fn set_status_message(&mut self, span: impl Into<SpanIndex>, message: impl AsRef<str>) {
        self.push_text(op::SET_STATUS_MESSAGE, span.into().0, message.as_ref());
    }

    /// Renames global event `event` (needs `event-names` declared).
    pub fn set_event_name(&mut self, event: u32, name: impl AsRef<str>) {
        self.push_text(op::SET_EVENT_NAME, event, name.as_ref());
    }

    /// Removes `span` from the batch.
    pub fn drop_span(&mut self, span: impl Into<SpanIndex>) {
        self.push_bare(op::DROP_SPAN, span.into().0);
    }

    /// Appends a decoded edit (tests, tools).
    pub fn push_edit(&mut self, edit: &Edit) {
        match edit {
            Edit::SetSpanAttribute(row, value) => self.set_span_attribute(*row, value),
            Edit::RemoveSpanAttribute(row) => self.remove_span_attribute(*row),
            Edit::AddSpanAttribute(span, key, value) => self.add_span_attribute(*span, key, value),
            Edit::SetResourceAttribute(row, value) => self.set_resource_attribute(*row, value),
            Edit::RemoveResourceAttribute(row) => self.remove_resource_attribute(*row),
            Edit::SetEventAttribute(row, value) => self.set_event_attribute(*row, value),
            Edit::RemoveEventAttribute(row) => self.remove_event_attribute(*row),
            Edit::SetLinkAttribute(row, value) => self.set_link_attribute(*row, value),
            Edit::RemoveLinkAttribute(row) => self.remove_link_attribute(*row),
            Edit::SetName(span, name) => self.set_name(*span, name),
            Edit::SetStatusMessage(span, message) => self.set_status_message(*span, message),
            Edit::SetEventName(event, name) => self.set_event_name(*event, name),
            Edit::DropSpan(span) => self.drop_span(*span),
        }
    }

    /// Number of edits (whole records).
    pub fn len(&self) -> usize {
        self.records.len() / spangate_plugin_abi::EDIT_RECORD_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Forgets every edit (keeps the allocations).
    pub fn clear(&mut self) {
        self.records.clear();
        self.strings.clear();
        self.last_key = None;
    }

    /// The encoded records.
    pub fn records(&self) -> &[u8] {
        &self.records
    }

    /// The string buffer the records' references point into.
    pub fn strings(&self) -> &[u8] {
        &self.strings
    }

    /// Every edit decoded, or the first record that does not decode, named by position.
    pub fn decode(&self) -> Result<Vec<Edit>, String> {
        let records = EditRecords::parse(&self.records).map_err(|error| error.to_string())?;
        records
            .enumerate()
            .map(|(position, record)| {
                Edit::decode(&record, &self.strings).map_err(|problem| {
                    let name = op::name(record.op).unwrap_or("unknown op");
                    format!("edit {position} ({name}): {problem}")
                })
            })
            .collect()
    }

    /// The decoded edits (for tests); panics on a record that does not decode, which
    /// edits built by these methods never hold.
    pub fn to_vec(&self) -> Vec<Edit> {
        self.decode().unwrap_or_else(|error| panic!("{error}"))
    }
}

impl PartialEq for Edits {
    fn eq(&self, other: &Self) -> bool {
        self.records == other.records && self.strings == other.strings
    }
}

impl std::fmt::Debug for Edits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.decode() {
            Ok(edits) => f.debug_list().entries(edits).finish(),
            Err(error) => write!(f, "Edits(undecodable: {error})"),
        }
    }
}

#[cfg(test)]
mod tests;
