//! Test spans to the batch the host would send, by the host's layout rules
//! (`wit/README.md`, "Batch layout"), built with the layout crate's `BatchBuilder`:
//!
//! - only declared columns are filled (a column with no elements is absent); `len`
//!   always;
//! - service names are a dictionary (`services` + `service`), in first-appearance order;
//! - spans with equal service name and resource attributes share a resource; the
//!   `resource` column is sent when resource attributes are declared;
//! - each attribute table has its own key dictionary; a row's value is a string
//!   reference (`str`, `json`), an `i64`, an `f64`'s bits or 0 / 1; non-scalar values are
//!   `json` rows, sent only under `all` or when their key is named; a declared table
//!   always has its `owners + 1` offsets;
//! - `event-offsets` are sent when event names or event attributes are declared,
//!   `link-offsets` when link attributes are.
//!
//! Strings go into the arena in the order they are pushed: span columns first, then
//! the attribute tables. Readers go through references, so the order is no contract.

use std::collections::HashMap;

use spangate_plugin_abi::{BatchBuilder, column, value_kind};

use super::span::{TestSpan, TestValue};
use crate::batch::SpanBatch;
use crate::bindings::types::{self, AttributeSelection, Needs, SpanFields};

/// The batch the host would send for `spans` to a plugin with `needs`. Reading anything
/// `needs` does not declare from it panics, naming the declaration to add (in the
/// gateway it would silently read as the default).
pub fn to_batch(spans: &[TestSpan], needs: &Needs) -> SpanBatch {
    SpanBatch::from_wit(encode(spans, needs).batch)
        .expect("the encoder lays columns out as the layout requires")
        .declared_as(needs)
}

/// A batch plus where each of its rows and indexes came from, so edits can be mapped
/// back onto the test spans.
pub(crate) struct Encoding {
    pub(crate) batch: types::SpanBatch,
    /// Per span-attribute row: (span, index in its `attributes`).
    pub(crate) span_rows: Vec<(usize, usize)>,
    /// Per resource: the spans that share it.
    pub(crate) resource_spans: Vec<Vec<usize>>,
    /// Per resource-attribute row: (resource, index in `resource_attributes`).
    pub(crate) resource_rows: Vec<(usize, usize)>,
    /// Per global event: (span, index in its `events`), when events were sent.
    pub(crate) events: Vec<(usize, usize)>,
    /// Per event-attribute row: (global event, index in the event's `attributes`).
    pub(crate) event_rows: Vec<(usize, usize)>,
    /// Per global link: (span, index in its `links`), when links were sent.
    pub(crate) links: Vec<(usize, usize)>,
    /// Per link-attribute row: (global link, index in the link's `attributes`).
    pub(crate) link_rows: Vec<(usize, usize)>,
}

pub(crate) fn encode(spans: &[TestSpan], needs: &Needs) -> Encoding {
    let mut builder = BatchBuilder::default();
    encode_span_fields(spans, needs.fields, &mut builder);
    let mut encoding = Encoding {
        batch: types::SpanBatch {
            len: u32::try_from(spans.len()).expect("a test batch of at most 4 G spans"),
            columns: Vec::new(),
            strings: Vec::new(),
        },
        span_rows: Vec::new(),
        resource_spans: Vec::new(),
        resource_rows: Vec::new(),
        events: Vec::new(),
        event_rows: Vec::new(),
        links: Vec::new(),
        link_rows: Vec::new(),
    };
    encode_span_attributes(spans, needs, &mut builder, &mut encoding);
    encode_resources(spans, needs, &mut builder, &mut encoding);
    encode_events(spans, needs, &mut builder, &mut encoding);
    encode_links(spans, needs, &mut builder, &mut encoding);
    builder.write_columns(&mut encoding.batch.columns);
    encoding.batch.strings = builder.strings;
    encoding
}

/// The per-span columns of the declared fields.
fn encode_span_fields(spans: &[TestSpan], fields: SpanFields, builder: &mut BatchBuilder) {
    let has = |field: SpanFields| fields.contains(field);
    if has(SpanFields::SERVICE_NAME) {
        let mut services: HashMap<&str, u32> = HashMap::new();
        for span in spans {
            let next = u32::try_from(services.len()).expect("few services");
            let service = *services.entry(&span.service_name).or_insert_with(|| {
                builder.push_str(column::SERVICES, span.service_name.as_bytes());
                next
            });
            builder.push_u32(column::SERVICE, service);
        }
    }
    for span in spans {
        if has(SpanFields::TRACE_ID) {
            builder.push_id(column::TRACE_ID, &span.trace_id.to_be_bytes());
        }
        if has(SpanFields::SPAN_ID) {
            builder.push_id(column::SPAN_ID, &span.span_id.to_be_bytes());
        }
        if has(SpanFields::PARENT_SPAN_ID) {
            builder.push_id(column::PARENT_SPAN_ID, &span.parent_span_id.to_be_bytes());
        }
        if has(SpanFields::NAME) {
            builder.push_str(column::NAME, span.name.as_bytes());
        }
        if has(SpanFields::KIND) {
            builder.push_u8(column::KIND, span.kind as u8);
        }
        if has(SpanFields::STATUS) {
            builder.push_u8(column::STATUS, span.status as u8);
        }
        if has(SpanFields::TIMES) {
            builder.push_u64(column::START, span.start_unix_nanos);
            builder.push_u64(column::END, span.end_unix_nanos);
        }
        if has(SpanFields::STATUS_MESSAGE) {
            builder.push_str(column::STATUS_MESSAGE, span.status_message.as_bytes());
        }
        if has(SpanFields::SIZE) {
            builder.push_u32(column::SIZE, span.estimated_size());
        }
    }
}

fn encode_span_attributes(
    spans: &[TestSpan],
    needs: &Needs,
    builder: &mut BatchBuilder,
    encoding: &mut Encoding,
) {
    if needs.span_attributes == AttributeSelection::None {
        return;
    }
    let mut table = TableBuilder::new(column::SPAN_ATTRIBUTES, builder);
    for (span_index, span) in spans.iter().enumerate() {
        for attribute in table.push_owner(builder, &span.attributes, &needs.span_attributes) {
            encoding.span_rows.push((span_index, attribute));
        }
    }
}

fn encode_resources(
    spans: &[TestSpan],
    needs: &Needs,
    builder: &mut BatchBuilder,
    encoding: &mut Encoding,
) {
    if needs.resource_attributes == AttributeSelection::None {
        return;
    }
    // A resource is identified by what the host would have received: its service name
    // and its attributes (tests are small, so a linear search is fine).
    let mut resources: Vec<&TestSpan> = Vec::new();
    for (span_index, span) in spans.iter().enumerate() {
        let same = |other: &&TestSpan| {
            other.service_name == span.service_name
                && same_attributes(&other.resource_attributes, &span.resource_attributes)
        };
        let resource = match resources.iter().position(same) {
            Some(existing) => existing,
            None => {
                resources.push(span);
                encoding.resource_spans.push(Vec::new());
                resources.len() - 1
            }
        };
        encoding.resource_spans[resource].push(span_index);
        builder.push_u32(column::RESOURCE, resource as u32);
    }
    let mut table = TableBuilder::new(column::RESOURCE_ATTRIBUTES, builder);
    for (resource, first_span) in resources.iter().enumerate() {
        let selection = &needs.resource_attributes;
        for attribute in table.push_owner(builder, &first_span.resource_attributes, selection) {
            encoding.resource_rows.push((resource, attribute));
        }
    }
}

fn encode_events(
    spans: &[TestSpan],
    needs: &Needs,
    builder: &mut BatchBuilder,
    encoding: &mut Encoding,
) {
    let names_declared = needs.fields.contains(SpanFields::EVENT_NAMES);
    let attributes_declared = needs.event_attributes != AttributeSelection::None;
    if !names_declared && !attributes_declared {
        return;
    }
    let mut table =
        attributes_declared.then(|| TableBuilder::new(column::EVENT_ATTRIBUTES, builder));
    builder.push_u32(column::EVENT_OFFSETS, 0);
    for (span_index, span) in spans.iter().enumerate() {
        for (event_index, event) in span.events.iter().enumerate() {
            let global = encoding.events.len();
            encoding.events.push((span_index, event_index));
            if names_declared {
                builder.push_str(column::EVENT_NAMES, event.name.as_bytes());
            }
            if let Some(table) = &mut table {
                let selection = &needs.event_attributes;
                for attribute in table.push_owner(builder, &event.attributes, selection) {
                    encoding.event_rows.push((global, attribute));
                }
            }
        }
        builder.push_u32(column::EVENT_OFFSETS, encoding.events.len() as u32);
    }
}

fn encode_links(
    spans: &[TestSpan],
    needs: &Needs,
    builder: &mut BatchBuilder,
    encoding: &mut Encoding,
) {
    if needs.link_attributes == AttributeSelection::None {
        return;
    }
    let mut table = TableBuilder::new(column::LINK_ATTRIBUTES, builder);
    builder.push_u32(column::LINK_OFFSETS, 0);
    for (span_index, span) in spans.iter().enumerate() {
        for (link_index, link) in span.links.iter().enumerate() {
            let global = encoding.links.len();
            encoding.links.push((span_index, link_index));
            for attribute in table.push_owner(builder, &link.attributes, &needs.link_attributes) {
                encoding.link_rows.push((global, attribute));
            }
        }
        builder.push_u32(column::LINK_OFFSETS, encoding.links.len() as u32);
    }
}

/// Whether two spans' resource attributes are the same list, doubles compared by their
/// bits: with `==`, a NaN attribute differs from itself and would make each span of its
/// resource a resource of its own (the host sends one per OTLP resource); 0.0 and -0.0
/// stay two resources.
fn same_attributes(a: &[(String, TestValue)], b: &[(String, TestValue)]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((a_key, a_value), (b_key, b_value))| {
            a_key == b_key
                && match (a_value, b_value) {
                    (TestValue::Double(a), TestValue::Double(b)) => a.to_bits() == b.to_bits(),
                    _ => a_value == b_value,
                }
        })
}

/// One attribute table being filled, owner after owner.
struct TableBuilder {
    first_column: usize,
    key_ids: HashMap<String, u32>,
}

impl TableBuilder {
    /// Starts the table: its owner offsets begin at 0, so a declared table over no
    /// owners still sends `[0]` ("sent, nothing in it").
    fn new(first_column: usize, builder: &mut BatchBuilder) -> Self {
        builder.push_u32(first_column + column::OWNER_OFFSETS, 0);
        TableBuilder {
            first_column,
            key_ids: HashMap::new(),
        }
    }

    /// Adds the next owner's selected attributes as rows; returns their indexes in
    /// `attributes`.
    fn push_owner(
        &mut self,
        builder: &mut BatchBuilder,
        attributes: &[(String, TestValue)],
        selection: &AttributeSelection,
    ) -> Vec<usize> {
        let table = self.first_column;
        let mut selected = Vec::new();
        for (index, (key, value)) in attributes.iter().enumerate() {
            if !selection.selects(key, value.is_string()) {
                continue;
            }
            selected.push(index);
            let key_id = match self.key_ids.get(key.as_str()) {
                Some(&id) => id,
                None => {
                    let id = self.key_ids.len() as u32;
                    builder.push_str(table + column::KEYS, key.as_bytes());
                    self.key_ids.insert(key.clone(), id);
                    id
                }
            };
            builder.push_u32(table + column::KEY, key_id);
            let value_column = table + column::VALUE;
            let kind = match value {
                TestValue::Str(text) => {
                    builder.push_str(value_column, text.as_bytes());
                    value_kind::STR
                }
                TestValue::Json(text) => {
                    builder.push_str(value_column, text.as_bytes());
                    value_kind::JSON
                }
                TestValue::Int(number) => {
                    builder.push_u64(value_column, *number as u64);
                    value_kind::INT
                }
                TestValue::Double(number) => {
                    builder.push_u64(value_column, number.to_bits());
                    value_kind::DOUBLE
                }
                TestValue::Bool(flag) => {
                    builder.push_u64(value_column, u64::from(*flag));
                    value_kind::BOOL
                }
            };
            builder.push_u8(table + column::VALUE_KIND, kind);
        }
        let rows = builder.count(table + column::KEY) as u32;
        builder.push_u32(table + column::OWNER_OFFSETS, rows);
        selected
    }
}
