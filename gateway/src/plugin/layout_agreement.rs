//! The span-batch layout of `wit/plugin.wit` (`spangate:plugin@0.2.0`) is written by
//! both sides through `spangate_plugin_abi`, but filled twice: here, the host builds the
//! batch from OTLP (`columns.rs`) and applies answers to OTLP (`edits.rs`,
//! `decisions.rs`); in the SDK, the test support builds the batch from `TestSpan`s
//! (`sdk/src/testing/encode.rs`) and applies answers to them (`apply.rs`), so plugins
//! are unit tested natively. This property test keeps the two in agreement, so a
//! plugin that passes its native tests sees the same batch, and has its answer applied
//! the same way, in the gateway.
//!
//! Batches are compared by what a reader decodes from them (every column's element
//! count, then each span's fields, services and keys through their dictionaries,
//! attribute rows as key and value), not byte for byte: the order strings take in the
//! arena is no contract. Answers are the same bytes for both sides: edit records the
//! SDK's encoder wrote (sometimes with one byte changed, so the decoders' checks are
//! compared too) and decisions.
//!
//! Random OTLP requests are mapped to the test spans an author would write for them:
//! the resource's attributes in full (`service.name` included, since the host sends it
//! as a resource attribute row) and non-scalar values as JSON text. What `TestSpan`
//! cannot express is not generated: resources without spans, two resources with equal
//! attributes (a test span carries its resource's attributes, so equal ones are one
//! resource), ids of another length than 16 / 8 bytes, and unknown enum values.

use base64::Engine;
use proptest::prelude::*;
use proptest::sample::Index;
use spangate_plugin_abi::{BatchView, EDIT_RECORD_BYTES, StrRef, column, value_kind};
use spangate_plugin_sdk::bindings::types as sdk_wit;
use spangate_plugin_sdk::edits::{AttributeValue, Edit, Edits};
use spangate_plugin_sdk::testing::{self, TestEvent, TestLink, TestSpan, TestValue};

use super::bindings::wit as host_wit;
use super::columns::{Columns, Table as Owner};
use super::convert::Needs;
use super::decisions::apply_decisions;
use super::edits::{EditScratch, apply_edits};
use crate::model::{
    AnyValue, ArrayValue, ExportTraceServiceRequest, KeyValue, KeyValueList, Resource,
    ResourceSpans, ScopeSpans, Span, Status, any_value, service_name, span,
};

// ---- comparable forms -------------------------------------------------------------

/// A decoded string or attribute value both sides can be compared by: doubles by
/// their bits (NaN equals itself, -0.0 differs from 0.0), JSON parsed (the host writes
/// its own JSON text, a test any equivalent text).
#[derive(Debug, PartialEq, PartialOrd)]
enum Plain {
    Str(String),
    Int(i64),
    Double(u64),
    Bool(bool),
    Json(String),
    /// What no reader could decode, described.
    Malformed(String),
}

/// JSON text, normalised (parsed and printed again) so equivalent texts compare equal.
fn plain_json(text: &str) -> Plain {
    serde_json::from_str::<serde_json::Value>(text).map_or_else(
        |_| Plain::Malformed(format!("not JSON: {text}")),
        |json| Plain::Json(json.to_string()),
    )
}

fn plain_value(value: &TestValue) -> Plain {
    match value {
        TestValue::Str(text) => Plain::Str(text.clone()),
        TestValue::Int(number) => Plain::Int(*number),
        TestValue::Double(number) => Plain::Double(number.to_bits()),
        TestValue::Bool(flag) => Plain::Bool(*flag),
        TestValue::Json(text) => plain_json(text),
    }
}

fn plain_attributes(attributes: &[(String, TestValue)]) -> Vec<(String, Plain)> {
    attributes
        .iter()
        .map(|(key, value)| (key.clone(), plain_value(value)))
        .collect()
}

/// The text a string reference points to.
fn plain_text(view: &BatchView<'_>, word: u64) -> Plain {
    let reference = StrRef::from_u64(word);
    match reference.get(view.strings()) {
        None => Plain::Malformed(format!("reference {reference:?} outside the arena")),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => Plain::Str(text.to_owned()),
            Err(_) => Plain::Malformed(format!("not UTF-8: {bytes:?}")),
        },
    }
}

fn u8s(view: &BatchView<'_>, column: usize) -> Vec<u8> {
    view.column(column).to_vec()
}

fn u32s(view: &BatchView<'_>, column: usize) -> Vec<u32> {
    (0..view.count(column))
        .filter_map(|index| view.u32_at(column, index))
        .collect()
}

fn u64s(view: &BatchView<'_>, column: usize) -> Vec<u64> {
    (0..view.count(column))
        .filter_map(|index| view.u64_at(column, index))
        .collect()
}

fn ids(view: &BatchView<'_>, column: usize) -> Vec<Vec<u8>> {
    (0..view.count(column))
        .filter_map(|index| view.id_at(column, index).map(<[u8]>::to_vec))
        .collect()
}

fn texts(view: &BatchView<'_>, column: usize) -> Vec<Plain> {
    u64s(view, column)
        .into_iter()
        .map(|word| plain_text(view, word))
        .collect()
}

/// Entry `index` of a dictionary column (`services`, a table's `keys`).
fn entry(dictionary: &[Plain], index: u32) -> Plain {
    match dictionary.get(index as usize) {
        Some(Plain::Str(text)) => Plain::Str(text.clone()),
        _ => Plain::Malformed(format!(
            "entry {index} of a {}-entry dictionary",
            dictionary.len()
        )),
    }
}

/// A dictionary as a reader sees it: its entries, in no particular order.
fn sorted(mut entries: Vec<Plain>) -> Vec<Plain> {
    entries.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    entries
}

#[derive(Debug, PartialEq)]
struct PlainTable {
    owner_offsets: Vec<u32>,
    /// Per row: key (through the dictionary) and value.
    rows: Vec<(Plain, Plain)>,
    keys: Vec<Plain>,
}

fn plain_table(view: &BatchView<'_>, table: Owner) -> PlainTable {
    let first = table.first_column();
    let keys = texts(view, first + column::KEYS);
    let kinds = u8s(view, first + column::VALUE_KIND);
    let values = u64s(view, first + column::VALUE);
    let rows = u32s(view, first + column::KEY)
        .into_iter()
        .enumerate()
        .map(|(row, key)| {
            let word = values.get(row).copied().unwrap_or_default();
            let value = match kinds.get(row).copied() {
                Some(value_kind::STR) => plain_text(view, word),
                Some(value_kind::JSON) => match plain_text(view, word) {
                    Plain::Str(text) => plain_json(&text),
                    other => other,
                },
                Some(value_kind::INT) => Plain::Int(word as i64),
                Some(value_kind::DOUBLE) => Plain::Double(word),
                Some(value_kind::BOOL) if word <= 1 => Plain::Bool(word == 1),
                other => Plain::Malformed(format!("kind {other:?}, value {word}")),
            };
            (entry(&keys, key), value)
        })
        .collect();
    PlainTable {
        owner_offsets: u32s(view, first + column::OWNER_OFFSETS),
        rows,
        keys: sorted(keys),
    }
}

#[derive(Debug, PartialEq)]
struct PlainBatch {
    len: u32,
    /// Every column's element count: which columns are sent, and their sizes.
    counts: Vec<(&'static str, usize)>,
    trace_id: Vec<Vec<u8>>,
    span_id: Vec<Vec<u8>>,
    parent_span_id: Vec<Vec<u8>>,
    /// Per span, its service through the dictionary.
    service: Vec<Plain>,
    services: Vec<Plain>,
    name: Vec<Plain>,
    kind: Vec<u8>,
    status: Vec<u8>,
    start: Vec<u64>,
    end: Vec<u64>,
    status_message: Vec<Plain>,
    // `size`: only its count: the host sends the protobuf size, the SDK a documented
    // stand-in (`TestSpan::estimated_size`).
    resource: Vec<u32>,
    event_offsets: Vec<u32>,
    event_names: Vec<Plain>,
    link_offsets: Vec<u32>,
    span_attributes: PlainTable,
    resource_attributes: PlainTable,
    event_attributes: PlainTable,
    link_attributes: PlainTable,
}

fn plain_batch(len: u32, columns: &[u8], strings: &[u8]) -> Result<PlainBatch, String> {
    let view = BatchView::parse(columns, strings).map_err(|error| error.to_string())?;
    let services = texts(&view, column::SERVICES);
    Ok(PlainBatch {
        len,
        counts: (0..column::COUNT)
            .map(|index| (column::NAMES[index], view.count(index)))
            .collect(),
        trace_id: ids(&view, column::TRACE_ID),
        span_id: ids(&view, column::SPAN_ID),
        parent_span_id: ids(&view, column::PARENT_SPAN_ID),
        service: u32s(&view, column::SERVICE)
            .into_iter()
            .map(|index| entry(&services, index))
            .collect(),
        services: sorted(services),
        name: texts(&view, column::NAME),
        kind: u8s(&view, column::KIND),
        status: u8s(&view, column::STATUS),
        start: u64s(&view, column::START),
        end: u64s(&view, column::END),
        status_message: texts(&view, column::STATUS_MESSAGE),
        resource: u32s(&view, column::RESOURCE),
        event_offsets: u32s(&view, column::EVENT_OFFSETS),
        event_names: texts(&view, column::EVENT_NAMES),
        link_offsets: u32s(&view, column::LINK_OFFSETS),
        span_attributes: plain_table(&view, Owner::Span),
        resource_attributes: plain_table(&view, Owner::Resource),
        event_attributes: plain_table(&view, Owner::Event),
        link_attributes: plain_table(&view, Owner::Link),
    })
}

/// Column by column, so a failure names the column.
fn same_batches(host: &PlainBatch, sdk: &PlainBatch) -> Result<(), TestCaseError> {
    macro_rules! same {
        ($($column:ident),+ $(,)?) => {
            $(prop_assert_eq!(
                &host.$column,
                &sdk.$column,
                "`{}`: host (left) and SDK (right) differ",
                stringify!($column)
            );)+
        };
    }
    same!(
        len,
        counts,
        trace_id,
        span_id,
        parent_span_id,
        service,
        services,
        name,
        kind,
        status,
        start,
        end,
        status_message,
        resource,
        event_offsets,
        event_names,
        link_offsets,
        span_attributes,
        resource_attributes,
        event_attributes,
        link_attributes,
    );
    // Catches a field added to `PlainBatch` but not to the list above.
    prop_assert_eq!(host, sdk);
    Ok(())
}

/// A span after an answer was applied. No service name: no edit addresses it, and the
/// resource's `service.name` attribute it comes from in OTLP is compared with the other
/// resource attributes (a `TestSpan` keeps its `service_name` apart from them).
#[derive(Debug, PartialEq)]
struct PlainSpan {
    trace_id: u128,
    span_id: u64,
    parent_span_id: u64,
    name: String,
    kind: u8,
    start_unix_nanos: u64,
    end_unix_nanos: u64,
    status: u8,
    status_message: String,
    attributes: Vec<(String, Plain)>,
    resource_attributes: Vec<(String, Plain)>,
    events: Vec<(String, Vec<(String, Plain)>)>,
    links: Vec<Vec<(String, Plain)>>,
}

fn plain_spans(spans: &[TestSpan]) -> Vec<PlainSpan> {
    spans
        .iter()
        .map(|span| PlainSpan {
            trace_id: span.trace_id,
            span_id: span.span_id,
            parent_span_id: span.parent_span_id,
            name: span.name.clone(),
            kind: span.kind as u8,
            start_unix_nanos: span.start_unix_nanos,
            end_unix_nanos: span.end_unix_nanos,
            status: span.status as u8,
            status_message: span.status_message.clone(),
            attributes: plain_attributes(&span.attributes),
            resource_attributes: plain_attributes(&span.resource_attributes),
            events: span
                .events
                .iter()
                .map(|event| (event.name.clone(), plain_attributes(&event.attributes)))
                .collect(),
            links: span
                .links
                .iter()
                .map(|link| plain_attributes(&link.attributes))
                .collect(),
        })
        .collect()
}

// ---- OTLP → test spans ------------------------------------------------------------

/// By OTLP number, which is also the WIT case position.
const KINDS: [sdk_wit::SpanKind; 6] = [
    sdk_wit::SpanKind::Unspecified,
    sdk_wit::SpanKind::Internal,
    sdk_wit::SpanKind::Server,
    sdk_wit::SpanKind::Client,
    sdk_wit::SpanKind::Producer,
    sdk_wit::SpanKind::Consumer,
];
const STATUSES: [sdk_wit::StatusCode; 3] = [
    sdk_wit::StatusCode::Unset,
    sdk_wit::StatusCode::Ok,
    sdk_wit::StatusCode::Error,
];

/// The JSON the contract sends for a non-scalar value: arrays as arrays, maps as
/// objects, bytes as a base64 string; a missing value as null and non-finite doubles
/// as the strings proto3 JSON uses.
fn json(value: Option<&any_value::Value>) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        None => Json::Null,
        Some(any_value::Value::StringValue(text)) => Json::String(text.clone()),
        Some(any_value::Value::BoolValue(flag)) => Json::Bool(*flag),
        Some(any_value::Value::IntValue(number)) => Json::from(*number),
        Some(any_value::Value::StringValueStrindex(index)) => Json::from(*index),
        Some(any_value::Value::DoubleValue(number)) => serde_json::Number::from_f64(*number)
            .map_or_else(
                || {
                    Json::String(
                        if number.is_nan() {
                            "NaN"
                        } else if *number > 0.0 {
                            "Infinity"
                        } else {
                            "-Infinity"
                        }
                        .to_owned(),
                    )
                },
                Json::Number,
            ),
        Some(any_value::Value::BytesValue(bytes)) => {
            Json::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        Some(any_value::Value::ArrayValue(array)) => Json::Array(
            array
                .values
                .iter()
                .map(|element| json(element.value.as_ref()))
                .collect(),
        ),
        Some(any_value::Value::KvlistValue(list)) => {
            let mut object = serde_json::Map::new();
            for entry in &list.values {
                let value = entry.value.as_ref().and_then(|value| value.value.as_ref());
                object.insert(entry.key.clone(), json(value));
            }
            Json::Object(object)
        }
    }
}

fn test_value(value: Option<&AnyValue>) -> TestValue {
    match value.and_then(|value| value.value.as_ref()) {
        Some(any_value::Value::StringValue(text)) => TestValue::Str(text.clone()),
        Some(any_value::Value::IntValue(number)) => TestValue::Int(*number),
        Some(any_value::Value::DoubleValue(number)) => TestValue::Double(*number),
        Some(any_value::Value::BoolValue(flag)) => TestValue::Bool(*flag),
        other => TestValue::Json(json(other).to_string()),
    }
}

fn test_attributes(attributes: &[KeyValue]) -> Vec<(String, TestValue)> {
    attributes
        .iter()
        .map(|attribute| (attribute.key.clone(), test_value(attribute.value.as_ref())))
        .collect()
}

fn resource_attributes(resource_spans: &ResourceSpans) -> &[KeyValue] {
    resource_spans
        .resource
        .as_ref()
        .map_or(&[][..], |resource| resource.attributes.as_slice())
}

fn id<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes
        .try_into()
        .expect("generated ids have their full length")
}

/// The test spans of `request`, in request order.
fn test_spans(request: &ExportTraceServiceRequest) -> Vec<TestSpan> {
    let mut spans = Vec::new();
    for resource_spans in &request.resource_spans {
        let resource = resource_attributes(resource_spans);
        let service = service_name(resource);
        let resource = test_attributes(resource);
        for span in resource_spans
            .scope_spans
            .iter()
            .flat_map(|scope_spans| &scope_spans.spans)
        {
            let status = span.status.clone().unwrap_or_default();
            spans.push(TestSpan {
                trace_id: u128::from_be_bytes(id(&span.trace_id)),
                span_id: u64::from_be_bytes(id(&span.span_id)),
                parent_span_id: if span.parent_span_id.is_empty() {
                    0
                } else {
                    u64::from_be_bytes(id(&span.parent_span_id))
                },
                service_name: service.to_owned(),
                name: span.name.clone(),
                kind: KINDS[span.kind as usize],
                start_unix_nanos: span.start_time_unix_nano,
                end_unix_nanos: span.end_time_unix_nano,
                status: STATUSES[status.code as usize],
                status_message: status.message,
                attributes: test_attributes(&span.attributes),
                resource_attributes: resource.clone(),
                events: span
                    .events
                    .iter()
                    .map(|event| TestEvent {
                        name: event.name.clone(),
                        attributes: test_attributes(&event.attributes),
                    })
                    .collect(),
                links: span
                    .links
                    .iter()
                    .map(|link| TestLink {
                        attributes: test_attributes(&link.attributes),
                    })
                    .collect(),
            });
        }
    }
    spans
}

// ---- needs, in both bindings ------------------------------------------------------

/// In WIT order.
const FIELDS: [(host_wit::SpanFields, sdk_wit::SpanFields); 11] = [
    (
        host_wit::SpanFields::TRACE_ID,
        sdk_wit::SpanFields::TRACE_ID,
    ),
    (host_wit::SpanFields::SPAN_ID, sdk_wit::SpanFields::SPAN_ID),
    (
        host_wit::SpanFields::PARENT_SPAN_ID,
        sdk_wit::SpanFields::PARENT_SPAN_ID,
    ),
    (
        host_wit::SpanFields::SERVICE_NAME,
        sdk_wit::SpanFields::SERVICE_NAME,
    ),
    (host_wit::SpanFields::NAME, sdk_wit::SpanFields::NAME),
    (host_wit::SpanFields::KIND, sdk_wit::SpanFields::KIND),
    (host_wit::SpanFields::TIMES, sdk_wit::SpanFields::TIMES),
    (host_wit::SpanFields::STATUS, sdk_wit::SpanFields::STATUS),
    (
        host_wit::SpanFields::STATUS_MESSAGE,
        sdk_wit::SpanFields::STATUS_MESSAGE,
    ),
    (host_wit::SpanFields::SIZE, sdk_wit::SpanFields::SIZE),
    (
        host_wit::SpanFields::EVENT_NAMES,
        sdk_wit::SpanFields::EVENT_NAMES,
    ),
];
const NAME: usize = 4;
const STATUS_MESSAGE: usize = 8;
const EVENT_NAMES: usize = 10;

#[derive(Clone, Debug, PartialEq)]
enum Selection {
    None,
    Keys(Vec<String>),
    AllStrings,
    All,
}

#[derive(Clone, Debug)]
struct TestNeeds {
    fields: [bool; 11],
    /// Span, resource, event, link.
    selections: [Selection; 4],
}

impl TestNeeds {
    fn host(&self) -> Needs {
        let selection = |owner: Owner| match &self.selections[owner as usize] {
            Selection::None => host_wit::AttributeSelection::None,
            Selection::Keys(keys) => host_wit::AttributeSelection::Keys(keys.clone()),
            Selection::AllStrings => host_wit::AttributeSelection::AllStrings,
            Selection::All => host_wit::AttributeSelection::All,
        };
        Needs::from_wit(&host_wit::Needs {
            name: "layout".to_owned(),
            version: "0".to_owned(),
            fields: FIELDS
                .iter()
                .zip(self.fields)
                .filter(|(_, declared)| *declared)
                .fold(host_wit::SpanFields::empty(), |all, ((field, _), _)| {
                    all | *field
                }),
            span_attributes: selection(Owner::Span),
            resource_attributes: selection(Owner::Resource),
            event_attributes: selection(Owner::Event),
            link_attributes: selection(Owner::Link),
        })
    }

    fn sdk(&self) -> sdk_wit::Needs {
        let selection = |owner: Owner| match &self.selections[owner as usize] {
            Selection::None => sdk_wit::AttributeSelection::None,
            Selection::Keys(keys) => sdk_wit::AttributeSelection::Keys(keys.clone()),
            Selection::AllStrings => sdk_wit::AttributeSelection::AllStrings,
            Selection::All => sdk_wit::AttributeSelection::All,
        };
        sdk_wit::Needs {
            name: "layout".to_owned(),
            version: "0".to_owned(),
            fields: FIELDS
                .iter()
                .zip(self.fields)
                .filter(|(_, declared)| *declared)
                .fold(sdk_wit::SpanFields::empty(), |all, ((_, field), _)| {
                    all | *field
                }),
            span_attributes: selection(Owner::Span),
            resource_attributes: selection(Owner::Resource),
            event_attributes: selection(Owner::Event),
            link_attributes: selection(Owner::Link),
        }
    }

    fn selects(&self, owner: Owner) -> bool {
        self.selections[owner as usize] != Selection::None
    }
}

// ---- answers --------------------------------------------------------------------

/// An edit before its index is known: `Index` picks among the rows, spans or events the
/// batch has, so most edits address something that exists.
#[derive(Clone, Debug)]
enum EditPick {
    SetAttribute(Owner, Index, AttributeValue),
    RemoveAttribute(Owner, Index),
    AddSpanAttribute(Index, String, AttributeValue),
    SetName(Index, String),
    SetStatusMessage(Index, String),
    SetEventName(Index, String),
    DropSpan(Index),
}

/// What the batch holds, for picking indexes.
struct Counts {
    spans: usize,
    events: usize,
    /// Attribute rows per table.
    rows: [usize; 4],
}

impl Counts {
    fn of(request: &ExportTraceServiceRequest, columns: &Columns) -> Counts {
        let spans: Vec<&Span> = request
            .resource_spans
            .iter()
            .flat_map(|resource_spans| &resource_spans.scope_spans)
            .flat_map(|scope_spans| &scope_spans.spans)
            .collect();
        Counts {
            spans: spans.len(),
            // From the request, so an event edit without event columns addresses a real
            // event and is refused for the undeclared field, not the range.
            events: spans.iter().map(|span| span.events.len()).sum(),
            rows: Owner::ALL.map(|table| columns.rows[table as usize].len()),
        }
    }
}

/// Index `pick` among `count`, or the first index past the end (`out_of_range`, or
/// nothing to address).
fn resolve(pick: &Index, count: usize, out_of_range: bool) -> u32 {
    if out_of_range || count == 0 {
        count as u32
    } else {
        pick.index(count) as u32
    }
}

fn edit(pick: &EditPick, counts: &Counts, out_of_range: bool) -> Edit {
    let rows =
        |owner: Owner, index: &Index| resolve(index, counts.rows[owner as usize], out_of_range);
    let span = |index: &Index| resolve(index, counts.spans, out_of_range);
    match pick.clone() {
        EditPick::SetAttribute(owner, index, value) => {
            let row = rows(owner, &index);
            match owner {
                Owner::Span => Edit::SetSpanAttribute(row, value),
                Owner::Resource => Edit::SetResourceAttribute(row, value),
                Owner::Event => Edit::SetEventAttribute(row, value),
                Owner::Link => Edit::SetLinkAttribute(row, value),
            }
        }
        EditPick::RemoveAttribute(owner, index) => {
            let row = rows(owner, &index);
            match owner {
                Owner::Span => Edit::RemoveSpanAttribute(row),
                Owner::Resource => Edit::RemoveResourceAttribute(row),
                Owner::Event => Edit::RemoveEventAttribute(row),
                Owner::Link => Edit::RemoveLinkAttribute(row),
            }
        }
        EditPick::AddSpanAttribute(index, key, value) => {
            Edit::AddSpanAttribute(span(&index), key, value)
        }
        EditPick::SetName(index, name) => Edit::SetName(span(&index), name),
        EditPick::SetStatusMessage(index, message) => Edit::SetStatusMessage(span(&index), message),
        EditPick::SetEventName(index, name) => {
            Edit::SetEventName(resolve(&index, counts.events, out_of_range), name)
        }
        EditPick::DropSpan(index) => Edit::DropSpan(span(&index)),
    }
}

/// Whether the contract (wit/README.md, "Edit records") accepts `edit` after
/// `accepted`: in range, its field or attribute kind declared, a non-empty added key,
/// no row both set and removed. Used to make answers that must be applied, so the
/// appliers are compared on applying and not only on refusing.
fn acceptable(edit: &Edit, accepted: &[Edit], counts: &Counts, needs: &TestNeeds) -> bool {
    let row_edit = |edit: &Edit| -> Option<(Owner, u32, bool)> {
        Some(match edit {
            Edit::SetSpanAttribute(row, _) => (Owner::Span, *row, false),
            Edit::RemoveSpanAttribute(row) => (Owner::Span, *row, true),
            Edit::SetResourceAttribute(row, _) => (Owner::Resource, *row, false),
            Edit::RemoveResourceAttribute(row) => (Owner::Resource, *row, true),
            Edit::SetEventAttribute(row, _) => (Owner::Event, *row, false),
            Edit::RemoveEventAttribute(row) => (Owner::Event, *row, true),
            Edit::SetLinkAttribute(row, _) => (Owner::Link, *row, false),
            Edit::RemoveLinkAttribute(row) => (Owner::Link, *row, true),
            _ => return None,
        })
    };
    let span_ok = |span: u32| (span as usize) < counts.spans;
    if let Some((owner, row, removal)) = row_edit(edit) {
        return needs.selects(owner)
            && (row as usize) < counts.rows[owner as usize]
            && !accepted.iter().filter_map(row_edit).any(
                |(other_owner, other_row, other_removal)| {
                    other_owner == owner && other_row == row && other_removal != removal
                },
            );
    }
    match edit {
        Edit::AddSpanAttribute(span, key, _) => {
            needs.selects(Owner::Span) && span_ok(*span) && !key.is_empty()
        }
        Edit::SetName(span, _) => needs.fields[NAME] && span_ok(*span),
        Edit::SetStatusMessage(span, _) => needs.fields[STATUS_MESSAGE] && span_ok(*span),
        Edit::SetEventName(event, _) => {
            needs.fields[EVENT_NAMES] && (*event as usize) < counts.events
        }
        Edit::DropSpan(span) => span_ok(*span),
        _ => unreachable!("row edits are handled above"),
    }
}

/// The answer's buffers as the SDK's encoder writes them, one byte changed by `mangle`.
fn encode(edits: &[Edit], mangle: Option<(Index, usize, u8)>) -> sdk_wit::Edits {
    let mut encoder = Edits::new();
    for edit in edits {
        encoder.push_edit(edit);
    }
    let mut raw = encoder.into_wit();
    let records = raw.records.len() / EDIT_RECORD_BYTES;
    if let Some((record, byte, value)) = mangle
        && records > 0
    {
        raw.records[record.index(records) * EDIT_RECORD_BYTES + byte] = value;
    }
    raw
}

/// Decisions as the contract carries them, one verdict per span; a `Some(policy)` pick
/// keeps by its policy, listed once. A verdict past the policies is sometimes made.
fn decisions(
    picks: &[Option<String>],
    length: usize,
    past_policies: bool,
) -> (Vec<u16>, Vec<String>) {
    let mut policies: Vec<String> = Vec::new();
    let mut verdicts: Vec<u16> = (0..length)
        .map(|position| match &picks[position % picks.len()] {
            None => 0,
            Some(policy) => match policies.iter().position(|known| known == policy) {
                Some(index) => index as u16 + 1,
                None => {
                    policies.push(policy.clone());
                    policies.len() as u16
                }
            },
        })
        .collect();
    if past_policies && let Some(last) = verdicts.last_mut() {
        *last = policies.len() as u16 + 1;
    }
    (verdicts, policies)
}

// ---- strategies ---------------------------------------------------------------------

/// Few keys, so keys repeat across owners (the dictionaries) and within one (duplicate
/// keys are legal OTLP); `service.name` also as a resource attribute of any kind.
const KEYS: [&str; 5] = ["a", "b", "http.url", "service.name", "ключ"];

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(&KEYS[..]).prop_map(str::to_owned)
}

/// Strings with what JSON text must escape (quotes, backslashes, control characters)
/// and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            'a', 'b', ' ', '"', '\\', '\n', '\t', '\u{1}', '\u{8}', 'é',
        ]),
        0..4,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Doubles whose equality is not bitwise (NaN, -0.0) or whose JSON text is special
/// (non-finite, exponents) come often: where they met `==`, the SDK once split a
/// resource in two.
fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        2 => -1e6f64..1e6,
        1 => any::<f64>(),
        2 => prop::sample::select(vec![
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            1e-7,
        ]),
    ]
}

fn scalar() -> impl Strategy<Value = any_value::Value> {
    prop_oneof![
        text().prop_map(any_value::Value::StringValue),
        any::<i64>().prop_map(any_value::Value::IntValue),
        double().prop_map(any_value::Value::DoubleValue),
        any::<bool>().prop_map(any_value::Value::BoolValue),
    ]
}

/// Any value, non-scalars (bytes, arrays, maps, nested) and a missing value included;
/// mostly not nested, as most attributes are.
fn value() -> impl Strategy<Value = Option<any_value::Value>> {
    let leaf = prop_oneof![
        6 => scalar().prop_map(Some),
        1 => prop::collection::vec(any::<u8>(), 0..4)
            .prop_map(|bytes| Some(any_value::Value::BytesValue(bytes))),
        1 => Just(None),
    ]
    .boxed();
    let nested = leaf.clone().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|values| {
                Some(any_value::Value::ArrayValue(ArrayValue {
                    values: values.into_iter().map(|value| AnyValue { value }).collect(),
                }))
            }),
            prop::collection::vec((key(), inner), 0..3).prop_map(|entries| {
                Some(any_value::Value::KvlistValue(KeyValueList {
                    values: entries
                        .into_iter()
                        .map(|(key, value)| KeyValue {
                            key,
                            value: Some(AnyValue { value }),
                            ..KeyValue::default()
                        })
                        .collect(),
                }))
            }),
        ]
    });
    prop_oneof![3 => leaf, 1 => nested]
}

fn attributes(max: usize) -> impl Strategy<Value = Vec<KeyValue>> {
    let attribute_value = prop_oneof![
        12 => value().prop_map(|value| Some(AnyValue { value })),
        1 => Just(None),
    ];
    prop::collection::vec((key(), attribute_value), 0..max).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(key, value)| KeyValue {
                key,
                value,
                ..KeyValue::default()
            })
            .collect()
    })
}

fn span_strategy() -> impl Strategy<Value = Span> {
    (
        (any::<u128>(), any::<u64>(), prop::option::of(any::<u64>())),
        (text(), 0i32..6, any::<u64>(), any::<u64>()),
        prop::option::of((0i32..3, text())),
        attributes(5),
        prop::collection::vec((text(), attributes(3)), 0..3),
        prop::collection::vec(attributes(3), 0..3),
    )
        .prop_map(
            |(
                (trace_id, span_id, parent),
                (name, kind, start, end),
                status,
                attributes,
                events,
                links,
            )| {
                Span {
                    trace_id: trace_id.to_be_bytes().to_vec(),
                    span_id: span_id.to_be_bytes().to_vec(),
                    parent_span_id: parent.map_or_else(Vec::new, |id| id.to_be_bytes().to_vec()),
                    name,
                    kind,
                    start_time_unix_nano: start,
                    end_time_unix_nano: end,
                    status: status.map(|(code, message)| Status { code, message }),
                    attributes,
                    events: events
                        .into_iter()
                        .map(|(name, attributes)| span::Event {
                            name,
                            attributes,
                            ..span::Event::default()
                        })
                        .collect(),
                    links: links
                        .into_iter()
                        .map(|attributes| span::Link {
                            attributes,
                            ..span::Link::default()
                        })
                        .collect(),
                    ..Span::default()
                }
            },
        )
}

fn resource_strategy() -> impl Strategy<Value = ResourceSpans> {
    (
        prop::option::of((
            any::<Index>(),
            prop::sample::select(vec!["", "cart", "checkout", "db"]),
        )),
        attributes(4),
        any::<bool>(),
        prop::collection::vec(prop::collection::vec(span_strategy(), 0..4), 0..3),
        (any::<Index>(), span_strategy()),
    )
        .prop_map(
            |(service, mut attributes, no_resource, mut scopes, (scope, one_span))| {
                if let Some((position, service)) = service {
                    attributes.insert(
                        position.index(attributes.len() + 1),
                        KeyValue {
                            key: "service.name".to_owned(),
                            value: Some(AnyValue {
                                value: Some(any_value::Value::StringValue(service.to_owned())),
                            }),
                            ..KeyValue::default()
                        },
                    );
                }
                // A test span always has a resource; a resource without spans has no
                // test spans to carry it.
                if scopes.is_empty() {
                    scopes.push(Vec::new());
                }
                let scope = scope.index(scopes.len());
                scopes[scope].push(one_span);
                ResourceSpans {
                    resource: (!(no_resource && attributes.is_empty())).then(|| Resource {
                        attributes,
                        ..Resource::default()
                    }),
                    scope_spans: scopes
                        .into_iter()
                        .map(|spans| ScopeSpans {
                            spans,
                            ..ScopeSpans::default()
                        })
                        .collect(),
                    ..ResourceSpans::default()
                }
            },
        )
}

fn request_strategy() -> impl Strategy<Value = ExportTraceServiceRequest> {
    prop::collection::vec(resource_strategy(), 0..5).prop_map(|mut resources| {
        // Test spans with equal resource attributes share a resource; tell equal OTLP
        // resources apart. Debug text, so 0.0 and -0.0 differ and NaN equals itself.
        let mut seen: Vec<String> = Vec::new();
        for (position, resource_spans) in resources.iter_mut().enumerate() {
            let identity = format!("{:?}", test_attributes(resource_attributes(resource_spans)));
            if seen.contains(&identity) {
                resource_spans
                    .resource
                    .get_or_insert_with(Resource::default)
                    .attributes
                    .push(KeyValue {
                        key: "resource.position".to_owned(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::IntValue(position as i64)),
                        }),
                        ..KeyValue::default()
                    });
            }
            seen.push(format!(
                "{:?}",
                test_attributes(resource_attributes(resource_spans))
            ));
        }
        ExportTraceServiceRequest {
            resource_spans: resources,
        }
    })
}

fn selection_strategy() -> impl Strategy<Value = Selection> {
    prop_oneof![
        Just(Selection::None),
        prop::collection::vec(
            prop_oneof![4 => key(), 1 => Just("absent".to_owned())],
            0..4
        )
        .prop_map(Selection::Keys),
        Just(Selection::AllStrings),
        Just(Selection::All),
    ]
}

fn needs_strategy() -> impl Strategy<Value = TestNeeds> {
    (
        any::<[bool; 11]>(),
        [
            selection_strategy(),
            selection_strategy(),
            selection_strategy(),
            selection_strategy(),
        ],
    )
        .prop_map(|(fields, selections)| TestNeeds { fields, selections })
}

fn attribute_value_strategy() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        text().prop_map(AttributeValue::Str),
        any::<i64>().prop_map(AttributeValue::Int),
        double().prop_map(AttributeValue::Double),
        any::<bool>().prop_map(AttributeValue::Boolean),
    ]
}

fn owner_strategy() -> impl Strategy<Value = Owner> {
    prop::sample::select(Owner::ALL.to_vec())
}

/// A change to one record of an answer: (which record, which byte, its new value).
/// Bytes 0 (op), 1 (value kind), 2 (reserved), 4 (target), 12 (key length) and 20
/// (value length, for strings): the decoders' checks, not only the appliers'.
fn mangle_strategy() -> impl Strategy<Value = Option<(Index, usize, u8)>> {
    prop_oneof![
        9 => Just(None),
        1 => (
            any::<Index>(),
            prop::sample::select(vec![0usize, 1, 2, 4, 12, 20]),
            prop_oneof![3 => 0u8..16, 1 => any::<u8>()],
        )
            .prop_map(Some),
    ]
}

fn edit_strategy() -> impl Strategy<Value = EditPick> {
    prop_oneof![
        3 => (owner_strategy(), any::<Index>(), attribute_value_strategy())
            .prop_map(|(owner, row, value)| EditPick::SetAttribute(owner, row, value)),
        3 => (owner_strategy(), any::<Index>())
            .prop_map(|(owner, row)| EditPick::RemoveAttribute(owner, row)),
        2 => (any::<Index>(), prop_oneof![6 => key(), 1 => Just(String::new())], attribute_value_strategy())
            .prop_map(|(span, key, value)| EditPick::AddSpanAttribute(span, key, value)),
        1 => (any::<Index>(), text()).prop_map(|(span, name)| EditPick::SetName(span, name)),
        1 => (any::<Index>(), text())
            .prop_map(|(span, message)| EditPick::SetStatusMessage(span, message)),
        1 => (any::<Index>(), text()).prop_map(|(event, name)| EditPick::SetEventName(event, name)),
        1 => any::<Index>().prop_map(EditPick::DropSpan),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// For the same spans and needs, the host's column builder and the SDK's test
    /// encoder send the same batch; the same edit records (processor) and decisions
    /// (head sampler) are accepted or refused alike and, applied by the host to OTLP and
    /// by the SDK to the test spans, leave the same spans.
    #[test]
    fn host_and_sdk_test_support_agree_on_the_batch_layout(
        request in request_strategy(),
        previous in request_strategy(),
        needs in needs_strategy(),
        picks in prop::collection::vec((edit_strategy(), prop::bool::weighted(0.05)), 0..12),
        only_acceptable in prop::bool::weighted(0.75),
        mangle in mangle_strategy(),
        decision_picks in prop::collection::vec(prop::option::of("[a-c]{0,2}"), 1..8),
        decisions_length_off in prop_oneof![8 => Just(0i64), 1 => Just(-1i64), 1 => Just(1i64)],
        past_policies in prop::bool::weighted(0.1),
    ) {
        let spans = test_spans(&request);
        let host_needs = needs.host();
        let sdk_needs = needs.sdk();

        // 1. The batch. A pool slot's buffers and key dictionaries carry over from
        //    the batch it built before; the next batch must not depend on it.
        let mut columns = Columns::default();
        columns.build(&previous, &host_needs);
        columns.build(&request, &host_needs);
        let sdk_batch = testing::to_batch(&spans, &sdk_needs);
        let sdk_raw = sdk_batch.as_wit();
        let host_plain = plain_batch(columns.batch.len, &columns.batch.columns, &columns.batch.strings);
        let sdk_plain = plain_batch(sdk_raw.len, &sdk_raw.columns, &sdk_raw.strings);
        prop_assert!(host_plain.is_ok(), "host batch: {:?}", host_plain);
        prop_assert!(sdk_plain.is_ok(), "SDK batch: {:?}", sdk_plain);
        if let (Ok(host_plain), Ok(sdk_plain)) = (host_plain, sdk_plain) {
            same_batches(&host_plain, &sdk_plain)?;
        }

        // 2. A processor's edits: the same records for both.
        let counts = Counts::of(&request, &columns);
        let mut edits: Vec<Edit> = Vec::new();
        for (pick, out_of_range) in &picks {
            let edit = edit(pick, &counts, *out_of_range);
            if !only_acceptable || acceptable(&edit, &edits, &counts, &needs) {
                edits.push(edit);
            }
        }
        let raw = encode(&edits, mangle);
        let host_edits = host_wit::Edits {
            records: raw.records.clone(),
            strings: raw.strings.clone(),
        };
        let mut edited = request.clone();
        let host_answer =
            apply_edits(&mut edited, &host_edits, &columns, &host_needs, &mut EditScratch::default());
        let sdk_answer = testing::apply_edits(&spans, &sdk_needs, &Edits::from_wit(raw));
        prop_assert_eq!(
            host_answer.is_ok(),
            sdk_answer.is_ok(),
            "{:?} (record byte changed: {:?}): host {:?}, SDK {:?}",
            edits,
            mangle,
            host_answer,
            sdk_answer.as_ref().map(Vec::len)
        );
        if only_acceptable && mangle.is_none() {
            prop_assert!(host_answer.is_ok(), "{:?} refused: {:?}", edits, host_answer);
        }
        if let (Ok(dropped), Ok(sdk_spans)) = (host_answer, sdk_answer) {
            prop_assert_eq!(dropped, spans.len() - sdk_spans.len(), "dropped spans, {:?}", edits);
            prop_assert_eq!(
                plain_spans(&test_spans(&edited)),
                plain_spans(&sdk_spans),
                "spans after {:?}: host (left), SDK (right)",
                edits
            );
        }

        // 3. A head sampler's decisions (one per span; sometimes one too few or many,
        //    or a verdict naming no policy).
        let length = (spans.len() as i64 + decisions_length_off).max(0) as usize;
        let (verdicts, policies) = decisions(&decision_picks, length, past_policies);
        let mut sampled = request.clone();
        let host_answer = apply_decisions(
            &mut sampled,
            &host_wit::Decisions { verdicts: verdicts.clone(), policies: policies.clone() },
            spans.len(),
            &mut EditScratch::default(),
        );
        let sdk_answer =
            testing::apply_decisions(&spans, &sdk_wit::Decisions { verdicts, policies });
        prop_assert_eq!(
            host_answer.is_ok(),
            sdk_answer.is_ok(),
            "{} verdicts: host {:?}, SDK {:?}",
            length,
            host_answer,
            sdk_answer.as_ref().map(Vec::len)
        );
        if let (Ok(dropped), Ok(sdk_spans)) = (host_answer, sdk_answer) {
            prop_assert_eq!(dropped, spans.len() - sdk_spans.len());
            prop_assert_eq!(plain_spans(&test_spans(&sampled)), plain_spans(&sdk_spans));
        }
    }
}
