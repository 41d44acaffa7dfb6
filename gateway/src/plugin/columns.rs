//! Builds the `span-batch` a plugin reads from an OTLP request: only the columns its
//! needs declare, strings packed into one blob per column, service names and
//! attribute keys dictionary-encoded per batch.
//!
//! Spans are numbered in request order (resource spans → scope spans → spans); events
//! and links globally in the same order. Each attribute row remembers its attribute's
//! index within its owner, so an edit addressed to a row finds its OTLP attribute.
//!
//! This runs for every batch and every plugin: all buffers live in `Columns` (one per
//! pool slot) and are cleared, not freed, so the steady state allocates nothing but a
//! key the first time it is ever seen, and JSON for non-scalar values.

use std::collections::HashMap;
use std::io::Write;

use base64::Engine;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use super::bindings::wit;
use super::convert::{FastHash, Needs, Selection};
use crate::model::{ExportTraceServiceRequest, service_name};

/// The column buffers of one pool slot and the row → attribute maps of the last batch.
pub(super) struct Columns {
    pub(super) batch: wit::SpanBatch,
    /// Per attribute row: the attribute's index within its owner's attribute list.
    pub(super) span_attribute_rows: Vec<u32>,
    pub(super) resource_attribute_rows: Vec<u32>,
    pub(super) event_attribute_rows: Vec<u32>,
    pub(super) link_attribute_rows: Vec<u32>,
    dictionaries: [KeyDictionary; 4],
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            batch: empty_batch(),
            span_attribute_rows: Vec::new(),
            resource_attribute_rows: Vec::new(),
            event_attribute_rows: Vec::new(),
            link_attribute_rows: Vec::new(),
            dictionaries: Default::default(),
        }
    }
}

fn empty_strings() -> wit::StringColumn {
    wit::StringColumn {
        bytes: Vec::new(),
        offsets: Vec::new(),
    }
}

fn empty_attributes() -> wit::AttributeColumns {
    wit::AttributeColumns {
        owner_offsets: Vec::new(),
        key: Vec::new(),
        keys: empty_strings(),
        kind: Vec::new(),
        strings: empty_strings(),
        ints: Vec::new(),
        doubles: Vec::new(),
    }
}

pub(super) fn empty_batch() -> wit::SpanBatch {
    wit::SpanBatch {
        len: 0,
        trace_id_hi: Vec::new(),
        trace_id_lo: Vec::new(),
        span_id: Vec::new(),
        parent_span_id: Vec::new(),
        services: empty_strings(),
        service_index: Vec::new(),
        names: empty_strings(),
        kind: Vec::new(),
        start_unix_nanos: Vec::new(),
        end_unix_nanos: Vec::new(),
        status: Vec::new(),
        status_messages: empty_strings(),
        size: Vec::new(),
        span_attributes: empty_attributes(),
        event_offsets: Vec::new(),
        event_names: empty_strings(),
        event_attributes: empty_attributes(),
        link_offsets: Vec::new(),
        link_attributes: empty_attributes(),
        resource_index: Vec::new(),
        resource_attributes: empty_attributes(),
    }
}

/// Empties a string column; a declared one starts with offset 0 (`offsets.len() - 1`
/// strings), an undeclared one stays entirely empty.
fn reset_strings(column: &mut wit::StringColumn, declared: bool) {
    column.bytes.clear();
    column.offsets.clear();
    if declared {
        column.offsets.push(0);
    }
}

#[inline]
fn push_str(column: &mut wit::StringColumn, text: &str) {
    column.bytes.extend_from_slice(text.as_bytes());
    column.offsets.push(offset(column.bytes.len()));
}

/// Closes a string whose bytes were written directly into `column.bytes`.
#[inline]
fn end_str(column: &mut wit::StringColumn) {
    column.offsets.push(offset(column.bytes.len()));
}

/// Offsets are u32 in the contract; a batch is far below 4 GiB (request size limits).
#[inline]
fn offset(length: usize) -> u32 {
    u32::try_from(length).unwrap_or(u32::MAX)
}

/// Big-endian u64 at `bytes[start..start + 8]`, 0 when the id is shorter (ingest
/// validates ids; this only keeps odd input from panicking).
#[inline]
fn id_u64(bytes: &[u8], start: usize) -> u64 {
    bytes
        .get(start..start + 8)
        .and_then(|slice| slice.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

fn span_kind(kind: i32) -> wit::SpanKind {
    match kind {
        1 => wit::SpanKind::Internal,
        2 => wit::SpanKind::Server,
        3 => wit::SpanKind::Client,
        4 => wit::SpanKind::Producer,
        5 => wit::SpanKind::Consumer,
        _ => wit::SpanKind::Unspecified,
    }
}

fn status_code(span: &Span) -> wit::StatusCode {
    match span.status.as_ref().map(|status| status.code) {
        Some(1) => wit::StatusCode::Ok,
        Some(2) => wit::StatusCode::Error,
        _ => wit::StatusCode::Unset,
    }
}

impl Columns {
    /// Refills the columns from `request` for a plugin with `needs`.
    pub(super) fn build(&mut self, request: &ExportTraceServiceRequest, needs: &Needs) {
        let want_trace_id = needs.has(wit::SpanFields::TRACE_ID);
        let want_span_id = needs.has(wit::SpanFields::SPAN_ID);
        let want_parent = needs.has(wit::SpanFields::PARENT_SPAN_ID);
        let want_service = needs.has(wit::SpanFields::SERVICE_NAME);
        let want_name = needs.has(wit::SpanFields::NAME);
        let want_kind = needs.has(wit::SpanFields::KIND);
        let want_times = needs.has(wit::SpanFields::TIMES);
        let want_status = needs.has(wit::SpanFields::STATUS);
        let want_status_message = needs.has(wit::SpanFields::STATUS_MESSAGE);
        let want_size = needs.has(wit::SpanFields::SIZE);
        let want_event_names = needs.has(wit::SpanFields::EVENT_NAMES);
        let want_span_attributes = !needs.span_attributes.is_none();
        let want_resource_attributes = !needs.resource_attributes.is_none();
        let want_event_attributes = !needs.event_attributes.is_none();
        let want_link_attributes = !needs.link_attributes.is_none();
        let want_events = want_event_names || want_event_attributes;
        let want_links = want_link_attributes;

        let batch = &mut self.batch;
        batch.trace_id_hi.clear();
        batch.trace_id_lo.clear();
        batch.span_id.clear();
        batch.parent_span_id.clear();
        reset_strings(&mut batch.services, want_service);
        batch.service_index.clear();
        reset_strings(&mut batch.names, want_name);
        batch.kind.clear();
        batch.start_unix_nanos.clear();
        batch.end_unix_nanos.clear();
        batch.status.clear();
        reset_strings(&mut batch.status_messages, want_status_message);
        batch.size.clear();
        batch.event_offsets.clear();
        reset_strings(&mut batch.event_names, want_event_names);
        batch.link_offsets.clear();
        batch.resource_index.clear();
        if want_events {
            batch.event_offsets.push(0);
        }
        if want_links {
            batch.link_offsets.push(0);
        }
        let [span_keys, resource_keys, event_keys, link_keys] = &mut self.dictionaries;
        let mut span_attributes = AttributeBuilder::begin(
            &needs.span_attributes,
            &mut batch.span_attributes,
            &mut self.span_attribute_rows,
            span_keys,
        );
        let mut resource_attributes = AttributeBuilder::begin(
            &needs.resource_attributes,
            &mut batch.resource_attributes,
            &mut self.resource_attribute_rows,
            resource_keys,
        );
        let mut event_attributes = AttributeBuilder::begin(
            &needs.event_attributes,
            &mut batch.event_attributes,
            &mut self.event_attribute_rows,
            event_keys,
        );
        let mut link_attributes = AttributeBuilder::begin(
            &needs.link_attributes,
            &mut batch.link_attributes,
            &mut self.link_attribute_rows,
            link_keys,
        );

        let mut spans: u32 = 0;
        let mut events: u32 = 0;
        let mut links: u32 = 0;
        for (resource_position, resource_spans) in request.resource_spans.iter().enumerate() {
            let resource_attribute_list = resource_spans
                .resource
                .as_ref()
                .map_or(&[][..], |resource| resource.attributes.as_slice());
            if want_resource_attributes {
                resource_attributes.owner(resource_attribute_list);
            }
            let service = if want_service {
                service_index(&mut batch.services, service_name(resource_attribute_list))
            } else {
                0
            };
            let resource_index = offset(resource_position);
            for scope_spans in &resource_spans.scope_spans {
                for span in &scope_spans.spans {
                    spans += 1;
                    if want_trace_id {
                        batch.trace_id_hi.push(id_u64(&span.trace_id, 0));
                        batch.trace_id_lo.push(id_u64(&span.trace_id, 8));
                    }
                    if want_span_id {
                        batch.span_id.push(id_u64(&span.span_id, 0));
                    }
                    if want_parent {
                        batch.parent_span_id.push(id_u64(&span.parent_span_id, 0));
                    }
                    if want_service {
                        batch.service_index.push(service);
                    }
                    if want_name {
                        push_str(&mut batch.names, &span.name);
                    }
                    if want_kind {
                        batch.kind.push(span_kind(span.kind));
                    }
                    if want_times {
                        batch.start_unix_nanos.push(span.start_time_unix_nano);
                        batch.end_unix_nanos.push(span.end_time_unix_nano);
                    }
                    if want_status {
                        batch.status.push(status_code(span));
                    }
                    if want_status_message {
                        let message = span.status.as_ref().map_or("", |status| &status.message);
                        push_str(&mut batch.status_messages, message);
                    }
                    if want_size {
                        batch.size.push(offset(span.encoded_len()));
                    }
                    if want_span_attributes {
                        span_attributes.owner(&span.attributes);
                    }
                    if want_resource_attributes {
                        batch.resource_index.push(resource_index);
                    }
                    if want_events {
                        for event in &span.events {
                            if want_event_names {
                                push_str(&mut batch.event_names, &event.name);
                            }
                            if want_event_attributes {
                                event_attributes.owner(&event.attributes);
                            }
                        }
                        events += offset(span.events.len());
                        batch.event_offsets.push(events);
                    }
                    if want_links {
                        for link in &span.links {
                            link_attributes.owner(&link.attributes);
                        }
                        links += offset(span.links.len());
                        batch.link_offsets.push(links);
                    }
                }
            }
        }
        batch.len = spans;
    }
}

/// The dictionary index of `service` in `services`, adding it if new. A batch has few
/// distinct services (one per resource at most), so a scan beats hashing.
fn service_index(services: &mut wit::StringColumn, service: &str) -> u32 {
    let known = services.offsets.len().saturating_sub(1);
    for index in 0..known {
        let start = services.offsets[index] as usize;
        let end = services.offsets[index + 1] as usize;
        if services.bytes.get(start..end) == Some(service.as_bytes()) {
            return index as u32;
        }
    }
    push_str(services, service);
    known as u32
}

/// Attribute key → id within the current batch. Keys are kept across batches (tagged
/// with the batch generation) so a key is hashed but not allocated once it is known.
#[derive(Default)]
struct KeyDictionary {
    ids: HashMap<Box<str>, KeyEntry, FastHash>,
    generation: u32,
    /// For a `keys` selection: declared position → id in this batch (`NO_ID` if unseen).
    declared_ids: Vec<u32>,
    /// Key id → id of the key that last followed it in an owner (`first` for the
    /// start of an owner). Owners of one shape (spans of one kind of operation) list
    /// the same keys in the same order, so one comparison with the predicted key
    /// replaces hashing it, even when an optional attribute shifts the positions.
    successors: Vec<u32>,
    first: u32,
    /// Attribute position within its owner → id of the key last seen there: the
    /// fallback prediction when the successor guess missed.
    recent_ids: Vec<u32>,
}

#[derive(Clone, Copy)]
struct KeyEntry {
    generation: u32,
    id: u32,
}

const NO_ID: u32 = u32::MAX;
/// Attributes past this position in their owner always go through the hash map.
const MAX_RECENT_POSITIONS: usize = 64;

/// The bytes of dictionary entry `id`.
#[inline]
fn key_at(keys: &wit::StringColumn, id: u32) -> Option<&[u8]> {
    let start = *keys.offsets.get(id as usize)? as usize;
    let end = *keys.offsets.get(id as usize + 1)? as usize;
    keys.bytes.get(start..end)
}
/// Attribute keys with unbounded cardinality must not grow the dictionary forever.
const MAX_REMEMBERED_KEYS: usize = 16 * 1024;

impl KeyDictionary {
    fn begin(&mut self, declared_keys: usize) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 || self.ids.len() > MAX_REMEMBERED_KEYS {
            self.ids.clear();
            self.generation = 1;
        }
        self.declared_ids.clear();
        self.declared_ids.resize(declared_keys, NO_ID);
        self.successors.clear();
        self.first = NO_ID;
        self.recent_ids.clear();
    }

    /// The id of `key`, the `position`-th attribute of its owner, which follows the
    /// key with id `previous` (`NO_ID` for the owner's first selected key).
    #[inline]
    fn id(
        &mut self,
        key: &str,
        position: usize,
        previous: u32,
        keys: &mut wit::StringColumn,
    ) -> u32 {
        let predicted = match previous {
            NO_ID => self.first,
            previous => self
                .successors
                .get(previous as usize)
                .copied()
                .unwrap_or(NO_ID),
        };
        if predicted != NO_ID && key_at(keys, predicted) == Some(key.as_bytes()) {
            return predicted;
        }
        let id = self.id_at_position(key, position, keys);
        match previous {
            NO_ID => self.first = id,
            previous => {
                let previous = previous as usize;
                if self.successors.len() <= previous {
                    self.successors.resize(previous + 1, NO_ID);
                }
                self.successors[previous] = id;
            }
        }
        id
    }

    #[inline]
    fn id_at_position(&mut self, key: &str, position: usize, keys: &mut wit::StringColumn) -> u32 {
        if let Some(&recent) = self.recent_ids.get(position)
            && recent != NO_ID
            && key_at(keys, recent) == Some(key.as_bytes())
        {
            return recent;
        }
        let id = self.lookup(key, keys);
        if position < MAX_RECENT_POSITIONS {
            if self.recent_ids.len() <= position {
                self.recent_ids.resize(position + 1, NO_ID);
            }
            self.recent_ids[position] = id;
        }
        id
    }

    #[inline]
    fn lookup(&mut self, key: &str, keys: &mut wit::StringColumn) -> u32 {
        let next = offset(keys.offsets.len().saturating_sub(1));
        let generation = self.generation;
        if let Some(entry) = self.ids.get_mut(key) {
            if entry.generation != generation {
                *entry = KeyEntry {
                    generation,
                    id: next,
                };
                push_str(keys, key);
            }
            return entry.id;
        }
        self.ids.insert(
            key.into(),
            KeyEntry {
                generation,
                id: next,
            },
        );
        push_str(keys, key);
        next
    }

    #[inline]
    fn declared_id(&mut self, position: u32, key: &str, keys: &mut wit::StringColumn) -> u32 {
        let Some(slot) = self.declared_ids.get_mut(position as usize) else {
            return NO_ID;
        };
        if *slot == NO_ID {
            *slot = offset(keys.offsets.len().saturating_sub(1));
            push_str(keys, key);
        }
        *slot
    }
}

/// Fills one `attribute-columns`, owner by owner.
struct AttributeBuilder<'a> {
    selection: &'a Selection,
    columns: &'a mut wit::AttributeColumns,
    rows: &'a mut Vec<u32>,
    dictionary: &'a mut KeyDictionary,
}

impl<'a> AttributeBuilder<'a> {
    fn begin(
        selection: &'a Selection,
        columns: &'a mut wit::AttributeColumns,
        rows: &'a mut Vec<u32>,
        dictionary: &'a mut KeyDictionary,
    ) -> AttributeBuilder<'a> {
        let declared = !selection.is_none();
        columns.owner_offsets.clear();
        columns.key.clear();
        reset_strings(&mut columns.keys, declared);
        columns.kind.clear();
        reset_strings(&mut columns.strings, declared);
        columns.ints.clear();
        columns.doubles.clear();
        rows.clear();
        if declared {
            columns.owner_offsets.push(0);
            let declared_keys = match selection {
                Selection::Keys(keys) => keys.len(),
                _ => 0,
            };
            dictionary.begin(declared_keys);
        }
        AttributeBuilder {
            selection,
            columns,
            rows,
            dictionary,
        }
    }

    /// Adds the selected attributes of one owner (call only for a declared selection).
    #[inline]
    fn owner(&mut self, attributes: &[KeyValue]) {
        let mut previous = NO_ID;
        for (position, attribute) in attributes.iter().enumerate() {
            let value = attribute
                .value
                .as_ref()
                .and_then(|value| value.value.as_ref());
            let key_id = match self.selection {
                Selection::None => continue,
                Selection::AllStrings
                    if !matches!(value, Some(any_value::Value::StringValue(_))) =>
                {
                    continue;
                }
                Selection::AllStrings | Selection::All => {
                    previous = self.dictionary.id(
                        &attribute.key,
                        position,
                        previous,
                        &mut self.columns.keys,
                    );
                    previous
                }
                Selection::Keys(keys) => match keys.lookup(&attribute.key) {
                    Some(declared) => self.dictionary.declared_id(
                        declared,
                        &attribute.key,
                        &mut self.columns.keys,
                    ),
                    None => continue,
                },
            };
            self.columns.key.push(key_id);
            push_value(self.columns, value);
            self.rows.push(offset(position));
        }
        self.columns.owner_offsets.push(offset(self.rows.len()));
    }
}

/// One row's value: in the column its kind names; the other columns get defaults.
#[inline]
fn push_value(columns: &mut wit::AttributeColumns, value: Option<&any_value::Value>) {
    let (kind, int, double) = match value {
        Some(any_value::Value::StringValue(text)) => {
            columns.strings.bytes.extend_from_slice(text.as_bytes());
            (wit::ValueKind::Str, 0, 0.0)
        }
        Some(any_value::Value::IntValue(int)) => (wit::ValueKind::Int, *int, 0.0),
        Some(any_value::Value::DoubleValue(double)) => (wit::ValueKind::Double, 0, *double),
        Some(any_value::Value::BoolValue(boolean)) => {
            (wit::ValueKind::Boolean, i64::from(*boolean), 0.0)
        }
        other => {
            write_json(&mut columns.strings.bytes, other);
            (wit::ValueKind::Json, 0, 0.0)
        }
    };
    end_str(&mut columns.strings);
    columns.kind.push(kind);
    columns.ints.push(int);
    columns.doubles.push(double);
}

/// JSON text of an OTLP value: arrays as arrays, kvlists as objects (later duplicate
/// keys win when parsed), bytes as a base64 string, a missing value as `null`,
/// non-finite doubles as the strings "NaN" / "Infinity" / "-Infinity" (as proto3 JSON).
fn write_json(out: &mut Vec<u8>, value: Option<&any_value::Value>) {
    match value {
        None => out.extend_from_slice(b"null"),
        Some(any_value::Value::StringValue(text)) => write_json_string(out, text),
        Some(any_value::Value::BoolValue(boolean)) => {
            out.extend_from_slice(if *boolean { b"true" } else { b"false" })
        }
        Some(any_value::Value::IntValue(int)) => {
            let _ = write!(out, "{int}");
        }
        // An index into a profiles string table; traces do not use it.
        Some(any_value::Value::StringValueStrindex(index)) => {
            let _ = write!(out, "{index}");
        }
        Some(any_value::Value::DoubleValue(double)) => write_json_double(out, *double),
        Some(any_value::Value::BytesValue(bytes)) => {
            out.push(b'"');
            out.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(bytes)
                    .as_bytes(),
            );
            out.push(b'"');
        }
        Some(any_value::Value::ArrayValue(array)) => {
            out.push(b'[');
            for (position, element) in array.values.iter().enumerate() {
                if position > 0 {
                    out.push(b',');
                }
                write_json(out, element.value.as_ref());
            }
            out.push(b']');
        }
        Some(any_value::Value::KvlistValue(list)) => {
            out.push(b'{');
            for (position, entry) in list.values.iter().enumerate() {
                if position > 0 {
                    out.push(b',');
                }
                write_json_string(out, &entry.key);
                out.push(b':');
                write_json(
                    out,
                    entry.value.as_ref().and_then(|value| value.value.as_ref()),
                );
            }
            out.push(b'}');
        }
    }
}

fn write_json_double(out: &mut Vec<u8>, double: f64) {
    if double.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if double.is_infinite() {
        out.extend_from_slice(if double > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        // Debug is the shortest text that round-trips, with an exponent when long
        // ("1e300"), and always valid JSON ("1.0", "-0.0", "1e-7").
        let _ = write!(out, "{double:?}");
    }
}

fn write_json_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let mut plain_from = 0;
    for (position, byte) in text.bytes().enumerate() {
        let escape: Option<&[u8]> = match byte {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&text.as_bytes()[plain_from..position]);
        match escape {
            Some(escaped) => out.extend_from_slice(escaped),
            None => {
                let _ = write!(out, "\\u{byte:04x}");
            }
        }
        plain_from = position + 1;
    }
    out.extend_from_slice(&text.as_bytes()[plain_from..]);
    out.push(b'"');
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::{
        AnyValue, ArrayValue, KeyValue, KeyValueList, Resource, ResourceSpans, ScopeSpans, Span,
        Status, span,
    };

    pub(crate) fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            ..KeyValue::default()
        }
    }

    pub(crate) fn string(text: &str) -> any_value::Value {
        any_value::Value::StringValue(text.to_owned())
    }

    pub(crate) fn needs(
        fields: wit::SpanFields,
        span_attributes: wit::AttributeSelection,
        resource_attributes: wit::AttributeSelection,
        event_attributes: wit::AttributeSelection,
        link_attributes: wit::AttributeSelection,
    ) -> Needs {
        Needs::from_wit(&wit::Needs {
            name: "test".to_owned(),
            version: "0".to_owned(),
            fields,
            span_attributes,
            resource_attributes,
            event_attributes,
            link_attributes,
        })
    }

    /// Two resources (services "checkout" and "cart"), three spans, events and links.
    pub(crate) fn sample_request() -> ExportTraceServiceRequest {
        let mut first = Span {
            trace_id: (1..=16).collect(),
            span_id: vec![0, 0, 0, 0, 0, 0, 0, 7],
            name: "GET /".to_owned(),
            kind: 2,
            start_time_unix_nano: 10,
            end_time_unix_nano: 25,
            status: Some(Status {
                message: "fine".to_owned(),
                code: 1,
            }),
            attributes: vec![
                kv("http.method", string("GET")),
                kv("http.status_code", any_value::Value::IntValue(200)),
                kv("secret", string("hunter2")),
            ],
            ..Default::default()
        };
        first.events.push(span::Event {
            name: "exception".to_owned(),
            attributes: vec![kv("exception.message", string("boom"))],
            ..Default::default()
        });
        first.events.push(span::Event {
            name: "retry".to_owned(),
            ..Default::default()
        });
        let second = Span {
            trace_id: (1..=16).collect(),
            span_id: vec![0, 0, 0, 0, 0, 0, 0, 8],
            parent_span_id: vec![0, 0, 0, 0, 0, 0, 0, 7],
            name: "SELECT".to_owned(),
            kind: 3,
            attributes: vec![
                kv("db.ok", any_value::Value::BoolValue(true)),
                kv("ratio", any_value::Value::DoubleValue(0.5)),
                kv(
                    "list",
                    any_value::Value::ArrayValue(ArrayValue {
                        values: vec![
                            AnyValue {
                                value: Some(string("a\"b")),
                            },
                            AnyValue {
                                value: Some(any_value::Value::IntValue(-3)),
                            },
                        ],
                    }),
                ),
            ],
            links: vec![span::Link {
                trace_id: vec![9; 16],
                span_id: vec![9; 8],
                attributes: vec![kv("link.kind", string("follows"))],
                ..Default::default()
            }],
            ..Default::default()
        };
        let third = Span {
            trace_id: vec![2; 16],
            span_id: vec![3; 8],
            name: "add to cart".to_owned(),
            status: Some(Status {
                message: String::new(),
                code: 2,
            }),
            attributes: vec![
                kv("secret", string("pw")),
                kv(
                    "map",
                    any_value::Value::KvlistValue(KeyValueList {
                        values: vec![kv("k", any_value::Value::BytesValue(vec![1, 2, 3]))],
                    }),
                ),
            ],
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![
                            kv("service.name", string("checkout")),
                            kv("host", string("a")),
                        ],
                        ..Default::default()
                    }),
                    scope_spans: vec![ScopeSpans {
                        spans: vec![first, second],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![kv("service.name", string("cart"))],
                        ..Default::default()
                    }),
                    scope_spans: vec![
                        ScopeSpans::default(),
                        ScopeSpans {
                            spans: vec![third],
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                },
            ],
        }
    }

    pub(crate) fn strings(column: &wit::StringColumn) -> Vec<String> {
        column
            .offsets
            .windows(2)
            .map(|pair| {
                String::from_utf8(column.bytes[pair[0] as usize..pair[1] as usize].to_vec())
                    .unwrap()
            })
            .collect()
    }

    /// Rows as (owner, key, kind, rendered value).
    fn rows(columns: &wit::AttributeColumns) -> Vec<(usize, String, String)> {
        let keys = strings(&columns.keys);
        let values = strings(&columns.strings);
        let mut out = Vec::new();
        for owner in 0..columns.owner_offsets.len().saturating_sub(1) {
            for row in
                columns.owner_offsets[owner] as usize..columns.owner_offsets[owner + 1] as usize
            {
                let value = match columns.kind[row] {
                    wit::ValueKind::Str => format!("str:{}", values[row]),
                    wit::ValueKind::Json => format!("json:{}", values[row]),
                    wit::ValueKind::Int => format!("int:{}", columns.ints[row]),
                    wit::ValueKind::Boolean => format!("bool:{}", columns.ints[row]),
                    wit::ValueKind::Double => format!("double:{}", columns.doubles[row]),
                };
                out.push((owner, keys[columns.key[row] as usize].clone(), value));
            }
        }
        out
    }

    use wit::AttributeSelection as Sel;

    #[test]
    fn undeclared_columns_stay_empty() {
        let mut columns = Columns::default();
        let none = needs(
            wit::SpanFields::empty(),
            Sel::None,
            Sel::None,
            Sel::None,
            Sel::None,
        );
        columns.build(&sample_request(), &none);
        let batch = &columns.batch;
        assert_eq!(batch.len, 3);
        assert!(batch.trace_id_hi.is_empty() && batch.names.offsets.is_empty());
        assert!(batch.services.offsets.is_empty() && batch.event_offsets.is_empty());
        assert!(batch.span_attributes.owner_offsets.is_empty());
        assert!(batch.span_attributes.strings.offsets.is_empty());
        assert!(batch.resource_index.is_empty() && batch.link_offsets.is_empty());
    }

    #[test]
    fn span_fields_are_columns() {
        let mut columns = Columns::default();
        let all_fields = needs(
            wit::SpanFields::all(),
            Sel::None,
            Sel::None,
            Sel::None,
            Sel::None,
        );
        let request = sample_request();
        columns.build(&request, &all_fields);
        let batch = &columns.batch;
        assert_eq!(
            batch.trace_id_hi,
            vec![0x0102030405060708, 0x0102030405060708, 0x0202020202020202]
        );
        assert_eq!(batch.trace_id_lo[0], 0x090a0b0c0d0e0f10);
        assert_eq!(batch.span_id, vec![7, 8, 0x0303030303030303]);
        assert_eq!(batch.parent_span_id, vec![0, 7, 0]);
        assert_eq!(strings(&batch.services), vec!["checkout", "cart"]);
        assert_eq!(batch.service_index, vec![0, 0, 1]);
        assert_eq!(
            strings(&batch.names),
            vec!["GET /", "SELECT", "add to cart"]
        );
        assert_eq!(
            batch.kind,
            vec![
                wit::SpanKind::Server,
                wit::SpanKind::Client,
                wit::SpanKind::Unspecified
            ]
        );
        assert_eq!(batch.start_unix_nanos, vec![10, 0, 0]);
        assert_eq!(batch.end_unix_nanos, vec![25, 0, 0]);
        assert_eq!(
            batch.status,
            vec![
                wit::StatusCode::Ok,
                wit::StatusCode::Unset,
                wit::StatusCode::Error
            ]
        );
        assert_eq!(strings(&batch.status_messages), vec!["fine", "", ""]);
        let first_span = &request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(batch.size[0] as usize, first_span.encoded_len());
        assert_eq!(batch.event_offsets, vec![0, 2, 2, 2]);
        assert_eq!(strings(&batch.event_names), vec!["exception", "retry"]);
        // Links are columns only with link attributes declared.
        assert!(batch.link_offsets.is_empty());
        assert!(batch.resource_index.is_empty());
    }

    #[test]
    fn attribute_selections() {
        let request = sample_request();
        let mut columns = Columns::default();
        let keys = Sel::Keys(vec![
            "secret".to_owned(),
            "ratio".to_owned(),
            "absent".to_owned(),
        ]);
        columns.build(
            &request,
            &needs(
                wit::SpanFields::empty(),
                keys,
                Sel::None,
                Sel::None,
                Sel::None,
            ),
        );
        assert_eq!(
            rows(&columns.batch.span_attributes),
            vec![
                (0, "secret".to_owned(), "str:hunter2".to_owned()),
                (1, "ratio".to_owned(), "double:0.5".to_owned()),
                (2, "secret".to_owned(), "str:pw".to_owned()),
            ]
        );
        assert_eq!(
            strings(&columns.batch.span_attributes.keys),
            vec!["secret", "ratio"]
        );
        assert_eq!(columns.span_attribute_rows, vec![2, 1, 0]);
        assert_eq!(
            columns.batch.span_attributes.owner_offsets,
            vec![0, 1, 2, 3]
        );

        columns.build(
            &request,
            &needs(
                wit::SpanFields::empty(),
                Sel::AllStrings,
                Sel::None,
                Sel::None,
                Sel::None,
            ),
        );
        assert_eq!(
            rows(&columns.batch.span_attributes),
            vec![
                (0, "http.method".to_owned(), "str:GET".to_owned()),
                (0, "secret".to_owned(), "str:hunter2".to_owned()),
                (2, "secret".to_owned(), "str:pw".to_owned()),
            ]
        );
        assert_eq!(
            strings(&columns.batch.span_attributes.keys),
            vec!["http.method", "secret"]
        );

        columns.build(
            &request,
            &needs(
                wit::SpanFields::empty(),
                Sel::All,
                Sel::None,
                Sel::None,
                Sel::None,
            ),
        );
        assert_eq!(
            rows(&columns.batch.span_attributes),
            vec![
                (0, "http.method".to_owned(), "str:GET".to_owned()),
                (0, "http.status_code".to_owned(), "int:200".to_owned()),
                (0, "secret".to_owned(), "str:hunter2".to_owned()),
                (1, "db.ok".to_owned(), "bool:1".to_owned()),
                (1, "ratio".to_owned(), "double:0.5".to_owned()),
                (1, "list".to_owned(), r#"json:["a\"b",-3]"#.to_owned()),
                (2, "secret".to_owned(), "str:pw".to_owned()),
                (2, "map".to_owned(), r#"json:{"k":"AQID"}"#.to_owned()),
            ]
        );
        // Every row has a value in each of the three value columns.
        let attributes = &columns.batch.span_attributes;
        assert_eq!(attributes.ints.len(), 8);
        assert_eq!(attributes.doubles.len(), 8);
        assert_eq!(attributes.strings.offsets.len(), 9);
    }

    #[test]
    fn resource_event_and_link_attributes() {
        let request = sample_request();
        let mut columns = Columns::default();
        columns.build(
            &request,
            &needs(
                wit::SpanFields::empty(),
                Sel::None,
                Sel::AllStrings,
                Sel::All,
                Sel::Keys(vec!["link.kind".to_owned()]),
            ),
        );
        let batch = &columns.batch;
        assert_eq!(batch.resource_index, vec![0, 0, 1]);
        assert_eq!(
            rows(&batch.resource_attributes),
            vec![
                (0, "service.name".to_owned(), "str:checkout".to_owned()),
                (0, "host".to_owned(), "str:a".to_owned()),
                (1, "service.name".to_owned(), "str:cart".to_owned()),
            ]
        );
        assert_eq!(batch.event_offsets, vec![0, 2, 2, 2]);
        assert!(
            batch.event_names.offsets.is_empty(),
            "event names not declared"
        );
        assert_eq!(
            rows(&batch.event_attributes),
            vec![(0, "exception.message".to_owned(), "str:boom".to_owned())]
        );
        assert_eq!(batch.event_attributes.owner_offsets, vec![0, 1, 1]);
        assert_eq!(batch.link_offsets, vec![0, 0, 1, 1]);
        assert_eq!(
            rows(&batch.link_attributes),
            vec![(0, "link.kind".to_owned(), "str:follows".to_owned())]
        );
    }

    #[test]
    fn dictionaries_restart_per_batch() {
        let request = sample_request();
        let mut columns = Columns::default();
        let all = needs(
            wit::SpanFields::empty(),
            Sel::All,
            Sel::None,
            Sel::None,
            Sel::None,
        );
        columns.build(&request, &all);
        let first = columns.batch.span_attributes.clone();
        let mut only_third = request.clone();
        only_third.resource_spans.remove(0);
        columns.build(&only_third, &all);
        assert_eq!(
            strings(&columns.batch.span_attributes.keys),
            vec!["secret", "map"]
        );
        assert_eq!(columns.batch.span_attributes.key, vec![0, 1]);
        columns.build(&request, &all);
        assert_eq!(columns.batch.span_attributes, first);
    }

    #[test]
    fn keys_at_the_same_position_may_differ_between_owners() {
        let mut request = sample_request();
        let spans = &mut request.resource_spans[0].scope_spans[0].spans;
        spans[0].attributes = vec![kv("a", string("1")), kv("b", string("2"))];
        spans[1].attributes = vec![
            kv("b", string("3")),
            kv("a", string("4")),
            kv("c", string("5")),
        ];
        let mut columns = Columns::default();
        let all = needs(
            wit::SpanFields::empty(),
            Sel::All,
            Sel::None,
            Sel::None,
            Sel::None,
        );
        columns.build(&request, &all);
        let attributes = &columns.batch.span_attributes;
        assert_eq!(
            strings(&attributes.keys),
            vec!["a", "b", "c", "secret", "map"]
        );
        assert_eq!(attributes.key, vec![0, 1, 1, 0, 2, 3, 4]);
        assert_eq!(strings(&attributes.strings)[..5], ["1", "2", "3", "4", "5"]);
    }

    proptest::proptest! {
        /// Whatever the owners' shapes (the key predictions hit or miss), every row's
        /// key id names its own key, across consecutive batches.
        #[test]
        fn every_row_names_its_key(
            shapes in proptest::collection::vec(
                proptest::collection::vec(0usize..6, 0..6), 1..12),
            batches in 1usize..3,
        ) {
            const KEYS: [&str; 6] = ["a", "b", "c", "http.method", "http.route", "b2"];
            let mut request = sample_request();
            request.resource_spans.truncate(1);
            request.resource_spans[0].scope_spans.truncate(1);
            let spans = &mut request.resource_spans[0].scope_spans[0].spans;
            let template = spans[0].clone();
            spans.clear();
            for shape in &shapes {
                let mut span = template.clone();
                span.attributes = shape
                    .iter()
                    .map(|&key| kv(KEYS[key], string("v")))
                    .collect();
                spans.push(span);
            }
            let all = needs(wit::SpanFields::empty(), Sel::All, Sel::None, Sel::None, Sel::None);
            let mut columns = Columns::default();
            for _ in 0..batches {
                columns.build(&request, &all);
                let expected: Vec<(usize, String, String)> = shapes
                    .iter()
                    .enumerate()
                    .flat_map(|(owner, shape)| {
                        shape.iter().map(move |&key| (owner, KEYS[key].to_owned(), "str:v".to_owned()))
                    })
                    .collect();
                proptest::prop_assert_eq!(rows(&columns.batch.span_attributes), expected);
            }
        }
    }

    #[test]
    fn json_text() {
        let mut out = Vec::new();
        write_json_string(&mut out, "a\"b\\c\n\u{1}é");
        assert_eq!(String::from_utf8(out).unwrap(), r#""a\"b\\c\n\u0001é""#);
        for (double, text) in [
            (1.0, "1.0"),
            (1e300, "1e300"),
            (f64::NAN, "\"NaN\""),
            (f64::NEG_INFINITY, "\"-Infinity\""),
        ] {
            let mut out = Vec::new();
            write_json_double(&mut out, double);
            assert_eq!(String::from_utf8(out).unwrap(), text);
        }
        let mut out = Vec::new();
        write_json(&mut out, None);
        assert_eq!(out, b"null");
    }

    #[test]
    fn odd_ids_do_not_panic() {
        let mut request = sample_request();
        request.resource_spans[0].scope_spans[0].spans[0].trace_id = vec![1, 2, 3];
        request.resource_spans[0].scope_spans[0].spans[0].span_id = Vec::new();
        let mut columns = Columns::default();
        columns.build(
            &request,
            &needs(
                wit::SpanFields::all(),
                Sel::None,
                Sel::None,
                Sel::None,
                Sel::None,
            ),
        );
        assert_eq!(columns.batch.trace_id_hi[0], 0);
        assert_eq!(columns.batch.span_id[0], 0);
    }
}
