//! Attributes: the four attribute tables of a batch (span, resource, event, link), read
//! row by row ([`AttributeTable`]) or owner by owner ([`Attributes`]).

use std::ops::Range;

use spangate_plugin_abi::{StrRef, column, value_kind};

use super::SpanBatch;
use super::strict;
use crate::bindings::types::ValueKind;
use crate::edits::AttributeValue;

/// An attribute value as sent: strings borrow the batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// A non-scalar value (array, map, bytes) as JSON text; sent only to plugins that
    /// select `AttributeSelection::All` (or name the key).
    Json(&'a str),
}

impl<'a> Value<'a> {
    /// The string of a `Str` value (not of `Json`).
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(number) => Some(number),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Double(number) => Some(number),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(flag) => Some(flag),
            _ => None,
        }
    }

    /// The value as an owned edit value; JSON text becomes a string (edits cannot write
    /// non-scalar values). Edits also take a `Value` directly, without this copy.
    pub fn to_attribute_value(&self) -> AttributeValue {
        match *self {
            Value::Str(text) | Value::Json(text) => AttributeValue::Str(text.to_owned()),
            Value::Int(number) => AttributeValue::Int(number),
            Value::Double(number) => AttributeValue::Double(number),
            Value::Bool(flag) => AttributeValue::Boolean(flag),
        }
    }
}

/// One attribute row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Attribute<'a> {
    /// The row's index in its attribute table: what attribute edits address.
    pub row: u32,
    pub key: &'a str,
    pub value: Value<'a>,
}

/// Which of the four attribute tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttributeKind {
    /// Owners: spans.
    Span,
    /// Owners: resources (`SpanView::resource_index`).
    Resource,
    /// Owners: events, by global event index.
    Event,
    /// Owners: links, by global link index.
    Link,
}

impl AttributeKind {
    pub const ALL: [AttributeKind; 4] = [
        AttributeKind::Span,
        AttributeKind::Resource,
        AttributeKind::Event,
        AttributeKind::Link,
    ];

    /// The table's first column in the batch layout.
    pub fn first_column(self) -> usize {
        match self {
            AttributeKind::Span => column::SPAN_ATTRIBUTES,
            AttributeKind::Resource => column::RESOURCE_ATTRIBUTES,
            AttributeKind::Event => column::EVENT_ATTRIBUTES,
            AttributeKind::Link => column::LINK_ATTRIBUTES,
        }
    }

    /// "span", "resource", "event", "link".
    pub fn noun(self) -> &'static str {
        match self {
            AttributeKind::Span => "span",
            AttributeKind::Resource => "resource",
            AttributeKind::Event => "event",
            AttributeKind::Link => "link",
        }
    }
}

/// One attribute table of a batch, read column-wise: rows (each a key index, a value kind
/// and a value), grouped by owner, and the table's distinct keys. For plugins that want
/// to work per key rather than per row, e.g. deciding once per distinct key what to do
/// with its rows.
#[derive(Clone, Copy, Debug)]
pub struct AttributeTable<'a> {
    batch: &'a SpanBatch,
    kind: AttributeKind,
}

impl<'a> AttributeTable<'a> {
    pub(crate) fn new(batch: &'a SpanBatch, kind: AttributeKind) -> Self {
        AttributeTable { batch, kind }
    }

    pub fn kind(&self) -> AttributeKind {
        self.kind
    }

    #[inline]
    fn column(&self, offset: usize) -> usize {
        self.kind.first_column() + offset
    }

    /// Rows in the table.
    #[inline]
    pub fn rows(&self) -> u32 {
        to_u32(self.batch.columns().count(self.column(column::KEY)))
    }

    /// Owners the table's offsets describe.
    pub fn owners(&self) -> u32 {
        let offsets = self
            .batch
            .columns()
            .count(self.column(column::OWNER_OFFSETS));
        to_u32(offsets.saturating_sub(1))
    }

    /// The rows of `owner`, clamped to the rows that exist; empty when absent.
    #[inline]
    pub fn rows_of(&self, owner: u32) -> Range<u32> {
        self.batch.columns().range_at(
            self.column(column::OWNER_OFFSETS),
            owner as usize,
            self.rows(),
        )
    }

    /// The attributes of `owner`.
    #[inline]
    pub fn owner_attributes(&self, owner: u32) -> Attributes<'a> {
        Attributes {
            table: *self,
            rows: self.rows_of(owner),
        }
    }

    /// Number of distinct keys.
    pub fn key_count(&self) -> u32 {
        to_u32(self.batch.columns().count(self.column(column::KEYS)))
    }

    /// Distinct key `key_index` ("" past the end).
    #[inline]
    pub fn key_name(&self, key_index: u32) -> &'a str {
        self.batch.string(self.column(column::KEYS), key_index)
    }

    /// Distinct key `key_index` as bytes, not checked for UTF-8.
    #[inline]
    pub fn key_name_bytes(&self, key_index: u32) -> &'a [u8] {
        self.batch
            .string_bytes(self.column(column::KEYS), key_index)
    }

    /// The distinct keys, in key-index order.
    pub fn key_names(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        let table = *self;
        (0..self.key_count()).map(move |index| table.key_name(index))
    }

    /// The index of the distinct key `name`, if the table has it.
    pub fn find_key(&self, name: &str) -> Option<u32> {
        (0..self.key_count()).find(|&index| self.key_name_bytes(index) == name.as_bytes())
    }

    /// The key index of `row` (`None` past the end).
    #[inline]
    pub fn key_index(&self, row: u32) -> Option<u32> {
        self.batch
            .columns()
            .u32_at(self.column(column::KEY), row as usize)
    }

    /// The key of `row` ("" past the end).
    #[inline]
    pub fn key(&self, row: u32) -> &'a str {
        self.key_index(row).map_or("", |key| self.key_name(key))
    }

    #[inline]
    fn key_bytes(&self, row: u32) -> &'a [u8] {
        self.key_index(row)
            .map_or(b"", |key| self.key_name_bytes(key))
    }

    /// The value kind of `row`; a missing or unknown kind reads as `Str`.
    #[inline]
    pub fn value_kind(&self, row: u32) -> ValueKind {
        let kind = self
            .batch
            .columns()
            .u8_at(self.column(column::VALUE_KIND), row as usize);
        match kind.unwrap_or(value_kind::STR) {
            value_kind::INT => ValueKind::Int,
            value_kind::DOUBLE => ValueKind::Double,
            value_kind::BOOL => ValueKind::Boolean,
            value_kind::JSON => ValueKind::Json,
            _ => ValueKind::Str,
        }
    }

    /// The 8 bytes of `row`'s value column as a `u64` (0 past the end).
    #[inline]
    fn raw_value(&self, row: u32) -> u64 {
        let value = self.column(column::VALUE);
        self.batch
            .columns()
            .u64_at(value, row as usize)
            .unwrap_or(0)
    }

    /// The value of `row`.
    #[inline]
    pub fn value(&self, row: u32) -> Value<'a> {
        let raw = self.raw_value(row);
        match self.value_kind(row) {
            ValueKind::Str => Value::Str(self.batch.arena().text(StrRef::from_u64(raw))),
            ValueKind::Json => Value::Json(self.batch.arena().text(StrRef::from_u64(raw))),
            ValueKind::Int => Value::Int(raw as i64),
            ValueKind::Double => Value::Double(f64::from_bits(raw)),
            ValueKind::Boolean => Value::Bool(raw != 0),
        }
    }

    /// The bytes of a `Str` or `Json` row's value, not checked for UTF-8 (for code that
    /// checks it while scanning anyway); empty for other kinds.
    #[inline]
    pub fn value_bytes(&self, row: u32) -> &'a [u8] {
        match self.value_kind(row) {
            ValueKind::Str | ValueKind::Json => self
                .batch
                .arena()
                .bytes(StrRef::from_u64(self.raw_value(row))),
            _ => b"",
        }
    }

    /// The row of `row`.
    #[inline]
    pub fn attribute(&self, row: u32) -> Attribute<'a> {
        Attribute {
            row,
            key: self.key(row),
            value: self.value(row),
        }
    }
}

/// The attributes of one owner, in row order.
#[derive(Clone, Debug)]
pub struct Attributes<'a> {
    table: AttributeTable<'a>,
    rows: Range<u32>,
}

impl<'a> Attributes<'a> {
    /// No attributes.
    pub(crate) fn none(table: AttributeTable<'a>) -> Self {
        Attributes { table, rows: 0..0 }
    }

    /// The rows left, as a range of the table's row indexes.
    pub fn rows(&self) -> Range<u32> {
        self.rows.clone()
    }

    /// The value of the first remaining attribute named `key`.
    #[track_caller]
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        let kind = self.table.kind;
        strict::require_key(self.table.batch.declared(), kind, key, "Attributes::get");
        // Bytes compared: a key equal to a `&str` is UTF-8, so no check is needed.
        self.rows
            .clone()
            .find(|&row| self.table.key_bytes(row) == key.as_bytes())
            .map(|row| self.table.value(row))
    }

    /// The string value of `key`, if it is a `Str`.
    #[track_caller]
    pub fn get_str(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(|value| value.as_str())
    }

    /// The first remaining attribute named `key`, with its row.
    #[track_caller]
    pub fn attribute(&self, key: &str) -> Option<Attribute<'a>> {
        let kind = self.table.kind;
        strict::require_key(
            self.table.batch.declared(),
            kind,
            key,
            "Attributes::attribute",
        );
        self.rows
            .clone()
            .find(|&row| self.table.key_bytes(row) == key.as_bytes())
            .map(|row| self.table.attribute(row))
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    #[inline]
    fn next(&mut self) -> Option<Attribute<'a>> {
        let row = self.rows.next()?;
        Some(self.table.attribute(row))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.rows.size_hint()
    }
}

impl ExactSizeIterator for Attributes<'_> {}

fn to_u32(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}
