//! Test spans to the column batch the host would send, by the host's layout rules:
//!
//! - only declared columns are filled; `len` always;
//! - service names are a dictionary (`services` + `service-index`);
//! - spans with equal service name and resource attributes share a resource; the
//!   `resource-index` column is sent when resource attributes are declared;
//! - attribute keys are a dictionary per attribute-columns; a row's value is in the
//!   column its kind names, the other columns hold defaults at that row; non-scalar
//!   values are `json` rows, sent only under `all` or when their key is named;
//! - `event-offsets` are sent when event names or event attributes are declared,
//!   `link-offsets` when link attributes are.

use std::collections::HashMap;

use super::span::{TestSpan, TestValue};
use crate::batch::SpanBatch;
use crate::bindings::types::{
    self, AttributeColumns, AttributeSelection, Needs, SpanFields, StringColumn, ValueKind,
};

/// The batch the host would send for `spans` to a plugin with `needs`.
pub fn to_batch(spans: &[TestSpan], needs: &Needs) -> SpanBatch {
    SpanBatch::from_wit(encode(spans, needs).batch)
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
    let fields = needs.fields;
    let has = |field: SpanFields| fields.contains(field);
    let column = |field: SpanFields, value: &dyn Fn(&TestSpan) -> u64| -> Vec<u64> {
        if has(field) {
            spans.iter().map(value).collect()
        } else {
            Vec::new()
        }
    };
    let strings = |field: SpanFields, value: &dyn Fn(&TestSpan) -> &str| -> StringColumn {
        if !has(field) {
            return unsent_strings();
        }
        let mut column = StringsBuilder::default();
        for span in spans {
            column.push(value(span));
        }
        column.finish()
    };

    let mut batch = types::SpanBatch {
        len: spans.len() as u32,
        trace_id_hi: column(SpanFields::TRACE_ID, &|s| (s.trace_id >> 64) as u64),
        trace_id_lo: column(SpanFields::TRACE_ID, &|s| s.trace_id as u64),
        span_id: column(SpanFields::SPAN_ID, &|s| s.span_id),
        parent_span_id: column(SpanFields::PARENT_SPAN_ID, &|s| s.parent_span_id),
        services: unsent_strings(),
        service_index: Vec::new(),
        names: strings(SpanFields::NAME, &|s| &s.name),
        kind: if has(SpanFields::KIND) {
            spans.iter().map(|s| s.kind).collect()
        } else {
            Vec::new()
        },
        start_unix_nanos: column(SpanFields::TIMES, &|s| s.start_unix_nanos),
        end_unix_nanos: column(SpanFields::TIMES, &|s| s.end_unix_nanos),
        status: if has(SpanFields::STATUS) {
            spans.iter().map(|s| s.status).collect()
        } else {
            Vec::new()
        },
        status_messages: strings(SpanFields::STATUS_MESSAGE, &|s| &s.status_message),
        size: if has(SpanFields::SIZE) {
            spans.iter().map(TestSpan::estimated_size).collect()
        } else {
            Vec::new()
        },
        span_attributes: AttributeBuilder::unsent(),
        event_offsets: Vec::new(),
        event_names: unsent_strings(),
        event_attributes: AttributeBuilder::unsent(),
        link_offsets: Vec::new(),
        link_attributes: AttributeBuilder::unsent(),
        resource_index: Vec::new(),
        resource_attributes: AttributeBuilder::unsent(),
    };

    if has(SpanFields::SERVICE_NAME) {
        let (services, service_index) = dictionary(spans.iter().map(|s| s.service_name.as_str()));
        batch.services = services;
        batch.service_index = service_index;
    }

    let mut encoding = Encoding {
        batch,
        span_rows: Vec::new(),
        resource_spans: Vec::new(),
        resource_rows: Vec::new(),
        events: Vec::new(),
        event_rows: Vec::new(),
        links: Vec::new(),
        link_rows: Vec::new(),
    };
    encode_span_attributes(spans, needs, &mut encoding);
    encode_resources(spans, needs, &mut encoding);
    encode_events(spans, needs, &mut encoding);
    encode_links(spans, needs, &mut encoding);
    encoding
}

fn encode_span_attributes(spans: &[TestSpan], needs: &Needs, encoding: &mut Encoding) {
    if needs.span_attributes == AttributeSelection::None {
        return;
    }
    let mut builder = AttributeBuilder::default();
    for (span_index, span) in spans.iter().enumerate() {
        for attribute in builder.push_owner(&span.attributes, &needs.span_attributes) {
            encoding.span_rows.push((span_index, attribute));
        }
    }
    encoding.batch.span_attributes = builder.finish();
}

fn encode_resources(spans: &[TestSpan], needs: &Needs, encoding: &mut Encoding) {
    if needs.resource_attributes == AttributeSelection::None {
        return;
    }
    // A resource is identified by what the host would have received: its service name
    // and its attributes (tests are small, so a linear search is fine).
    let mut resources: Vec<&TestSpan> = Vec::new();
    let mut resource_index = Vec::with_capacity(spans.len());
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
        resource_index.push(resource as u32);
    }
    let mut builder = AttributeBuilder::default();
    for (resource, first_span) in resources.iter().enumerate() {
        for attribute in
            builder.push_owner(&first_span.resource_attributes, &needs.resource_attributes)
        {
            encoding.resource_rows.push((resource, attribute));
        }
    }
    encoding.batch.resource_index = resource_index;
    encoding.batch.resource_attributes = builder.finish();
}

fn encode_events(spans: &[TestSpan], needs: &Needs, encoding: &mut Encoding) {
    let names_declared = needs.fields.contains(SpanFields::EVENT_NAMES);
    let attributes_declared = needs.event_attributes != AttributeSelection::None;
    if !names_declared && !attributes_declared {
        return;
    }
    let mut offsets = vec![0u32];
    let mut names = StringsBuilder::default();
    let mut builder = AttributeBuilder::default();
    for (span_index, span) in spans.iter().enumerate() {
        for (event_index, event) in span.events.iter().enumerate() {
            let global = encoding.events.len();
            encoding.events.push((span_index, event_index));
            if names_declared {
                names.push(&event.name);
            }
            if attributes_declared {
                for attribute in builder.push_owner(&event.attributes, &needs.event_attributes) {
                    encoding.event_rows.push((global, attribute));
                }
            }
        }
        offsets.push(encoding.events.len() as u32);
    }
    encoding.batch.event_offsets = offsets;
    if names_declared {
        encoding.batch.event_names = names.finish();
    }
    if attributes_declared {
        encoding.batch.event_attributes = builder.finish();
    }
}

fn encode_links(spans: &[TestSpan], needs: &Needs, encoding: &mut Encoding) {
    if needs.link_attributes == AttributeSelection::None {
        return;
    }
    let mut offsets = vec![0u32];
    let mut builder = AttributeBuilder::default();
    for (span_index, span) in spans.iter().enumerate() {
        for (link_index, link) in span.links.iter().enumerate() {
            let global = encoding.links.len();
            encoding.links.push((span_index, link_index));
            for attribute in builder.push_owner(&link.attributes, &needs.link_attributes) {
                encoding.link_rows.push((global, attribute));
            }
        }
        offsets.push(encoding.links.len() as u32);
    }
    encoding.batch.link_offsets = offsets;
    encoding.batch.link_attributes = builder.finish();
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

/// Distinct strings in first-appearance order, and each input's index among them.
fn dictionary<'a>(values: impl Iterator<Item = &'a str>) -> (StringColumn, Vec<u32>) {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut column = StringsBuilder::default();
    let indexes = values
        .map(|value| {
            *ids.entry(value).or_insert_with(|| {
                column.push(value);
                column.count() - 1
            })
        })
        .collect();
    (column.finish(), indexes)
}

/// How an undeclared string column arrives: no bytes, no offsets.
fn unsent_strings() -> StringColumn {
    StringColumn {
        bytes: Vec::new(),
        offsets: Vec::new(),
    }
}

struct StringsBuilder {
    bytes: Vec<u8>,
    offsets: Vec<u32>,
}

impl Default for StringsBuilder {
    fn default() -> Self {
        Self {
            bytes: Vec::new(),
            offsets: vec![0],
        }
    }
}

impl StringsBuilder {
    fn push(&mut self, text: &str) {
        self.bytes.extend_from_slice(text.as_bytes());
        self.offsets.push(self.bytes.len() as u32);
    }

    fn count(&self) -> u32 {
        (self.offsets.len() - 1) as u32
    }

    fn finish(self) -> StringColumn {
        StringColumn {
            bytes: self.bytes,
            offsets: self.offsets,
        }
    }
}

#[derive(Default)]
struct AttributeBuilder {
    owner_offsets: Vec<u32>,
    key: Vec<u32>,
    key_ids: HashMap<String, u32>,
    keys: StringsBuilder,
    kind: Vec<ValueKind>,
    strings: StringsBuilder,
    ints: Vec<i64>,
    doubles: Vec<f64>,
}

impl AttributeBuilder {
    fn unsent() -> AttributeColumns {
        AttributeColumns {
            owner_offsets: Vec::new(),
            key: Vec::new(),
            keys: unsent_strings(),
            kind: Vec::new(),
            strings: unsent_strings(),
            ints: Vec::new(),
            doubles: Vec::new(),
        }
    }

    /// Adds the next owner's selected attributes as rows; returns their indexes in
    /// `attributes`.
    fn push_owner(
        &mut self,
        attributes: &[(String, TestValue)],
        selection: &AttributeSelection,
    ) -> Vec<usize> {
        if self.owner_offsets.is_empty() {
            self.owner_offsets.push(0);
        }
        let mut selected = Vec::new();
        for (index, (key, value)) in attributes.iter().enumerate() {
            if !selection.selects(key, value.is_string()) {
                continue;
            }
            selected.push(index);
            let key_id = match self.key_ids.get(key.as_str()) {
                Some(&id) => id,
                None => {
                    self.keys.push(key);
                    let id = self.keys.count() - 1;
                    self.key_ids.insert(key.clone(), id);
                    id
                }
            };
            self.key.push(key_id);
            let (kind, text, int, double) = match value {
                TestValue::Str(text) => (ValueKind::Str, text.as_str(), 0, 0.0),
                TestValue::Json(text) => (ValueKind::Json, text.as_str(), 0, 0.0),
                TestValue::Int(number) => (ValueKind::Int, "", *number, 0.0),
                TestValue::Bool(flag) => (ValueKind::Boolean, "", i64::from(*flag), 0.0),
                TestValue::Double(number) => (ValueKind::Double, "", 0, *number),
            };
            self.kind.push(kind);
            self.strings.push(text);
            self.ints.push(int);
            self.doubles.push(double);
        }
        self.owner_offsets.push(self.key.len() as u32);
        selected
    }

    fn finish(self) -> AttributeColumns {
        // A declared selection over no owners still sends `[0]`: "sent, nothing in it".
        let owner_offsets = if self.owner_offsets.is_empty() {
            vec![0]
        } else {
            self.owner_offsets
        };
        AttributeColumns {
            owner_offsets,
            key: self.key,
            keys: self.keys.finish(),
            kind: self.kind,
            strings: self.strings.finish(),
            ints: self.ints,
            doubles: self.doubles,
        }
    }
}
