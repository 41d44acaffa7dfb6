//! The span-batch layout of `wit/plugin.wit` is implemented twice: here, the host
//! builds columns from OTLP (`columns.rs`) and applies answers to OTLP (`edits.rs`);
//! in the SDK, the test support builds the same columns from `TestSpan`s
//! (`sdk/src/testing/encode.rs`) and applies answers to them (`apply.rs`), so plugins
//! are unit tested natively. This property test keeps the two identical, so a plugin
//! that passes its native tests sees the same batch, and has its answer applied the same
//! way, in the gateway.
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
use spangate_plugin_sdk::bindings::types as sdk_wit;
use spangate_plugin_sdk::testing::{self, TestEvent, TestLink, TestSpan, TestValue};

use super::bindings::wit as host_wit;
use super::columns::Columns;
use super::convert::Needs;
use super::edits::{EditScratch, apply_decisions, apply_edits};
use crate::model::{
    AnyValue, ArrayValue, ExportTraceServiceRequest, KeyValue, KeyValueList, Resource,
    ResourceSpans, ScopeSpans, Span, Status, any_value, service_name, span,
};

// ---- comparable forms -------------------------------------------------------------

/// An attribute value both sides can be compared by: doubles by their bits (NaN equals
/// itself, -0.0 differs from 0.0), JSON parsed (the host writes its own JSON text, a
/// test any equivalent text).
#[derive(Debug, PartialEq)]
enum Plain {
    Str(String),
    Int(i64),
    Double(u64),
    Bool(bool),
    Json(serde_json::Value),
    /// Text that should have been JSON (or a string outside its column), verbatim.
    Malformed(String),
}

fn plain_json(text: &str) -> Plain {
    serde_json::from_str(text).map_or_else(|_| Plain::Malformed(text.to_owned()), Plain::Json)
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

#[derive(Debug, PartialEq)]
struct PlainStrings {
    offsets: Vec<u32>,
    bytes: Vec<u8>,
}

#[derive(Debug, PartialEq)]
struct PlainAttributes {
    owner_offsets: Vec<u32>,
    key: Vec<u32>,
    keys: PlainStrings,
    /// WIT case positions of `value-kind`.
    kind: Vec<u8>,
    /// `strings.offsets[0]`; `None` when the column is not sent.
    strings_start: Option<u32>,
    /// Each entry of `strings`, parsed as JSON on rows of kind `json`.
    strings: Vec<Plain>,
    ints: Vec<i64>,
    doubles: Vec<u64>,
}

#[derive(Debug, PartialEq)]
struct PlainBatch {
    len: u32,
    trace_id_hi: Vec<u64>,
    trace_id_lo: Vec<u64>,
    span_id: Vec<u64>,
    parent_span_id: Vec<u64>,
    services: PlainStrings,
    service_index: Vec<u32>,
    names: PlainStrings,
    kind: Vec<u8>,
    start_unix_nanos: Vec<u64>,
    end_unix_nanos: Vec<u64>,
    status: Vec<u8>,
    status_messages: PlainStrings,
    /// Only the length: the host sends the protobuf size, the SDK a documented
    /// stand-in (`TestSpan::estimated_size`).
    size_len: usize,
    span_attributes: PlainAttributes,
    event_offsets: Vec<u32>,
    event_names: PlainStrings,
    event_attributes: PlainAttributes,
    link_offsets: Vec<u32>,
    link_attributes: PlainAttributes,
    resource_index: Vec<u32>,
    resource_attributes: PlainAttributes,
}

/// `fn $function(&$types::SpanBatch) -> PlainBatch` for one of the two bindings (the
/// wasmtime host types and the wit-bindgen guest types are generated from the same
/// WIT, so field and case names agree; enums compare by WIT case position).
macro_rules! plain_batch {
    ($function:ident, $types:ident) => {
        fn $function(batch: &$types::SpanBatch) -> PlainBatch {
            let strings = |column: &$types::StringColumn| PlainStrings {
                offsets: column.offsets.clone(),
                bytes: column.bytes.clone(),
            };
            let attributes = |columns: &$types::AttributeColumns| {
                let column = &columns.strings;
                let texts = column
                    .offsets
                    .windows(2)
                    .enumerate()
                    .map(|(row, pair)| {
                        let Some(bytes) = column.bytes.get(pair[0] as usize..pair[1] as usize)
                        else {
                            return Plain::Malformed(format!("offsets {pair:?} out of bounds"));
                        };
                        let text = String::from_utf8_lossy(bytes);
                        if matches!(columns.kind.get(row), Some($types::ValueKind::Json)) {
                            plain_json(&text)
                        } else {
                            Plain::Str(text.into_owned())
                        }
                    })
                    .collect();
                PlainAttributes {
                    owner_offsets: columns.owner_offsets.clone(),
                    key: columns.key.clone(),
                    keys: strings(&columns.keys),
                    kind: columns.kind.iter().map(|kind| *kind as u8).collect(),
                    strings_start: column.offsets.first().copied(),
                    strings: texts,
                    ints: columns.ints.clone(),
                    doubles: columns
                        .doubles
                        .iter()
                        .map(|double| double.to_bits())
                        .collect(),
                }
            };
            PlainBatch {
                len: batch.len,
                trace_id_hi: batch.trace_id_hi.clone(),
                trace_id_lo: batch.trace_id_lo.clone(),
                span_id: batch.span_id.clone(),
                parent_span_id: batch.parent_span_id.clone(),
                services: strings(&batch.services),
                service_index: batch.service_index.clone(),
                names: strings(&batch.names),
                kind: batch.kind.iter().map(|kind| *kind as u8).collect(),
                start_unix_nanos: batch.start_unix_nanos.clone(),
                end_unix_nanos: batch.end_unix_nanos.clone(),
                status: batch.status.iter().map(|status| *status as u8).collect(),
                status_messages: strings(&batch.status_messages),
                size_len: batch.size.len(),
                span_attributes: attributes(&batch.span_attributes),
                event_offsets: batch.event_offsets.clone(),
                event_names: strings(&batch.event_names),
                event_attributes: attributes(&batch.event_attributes),
                link_offsets: batch.link_offsets.clone(),
                link_attributes: attributes(&batch.link_attributes),
                resource_index: batch.resource_index.clone(),
                resource_attributes: attributes(&batch.resource_attributes),
            }
        }
    };
}

plain_batch!(host_batch, host_wit);
plain_batch!(sdk_batch, sdk_wit);

/// Column by column, so a failure names the column.
fn same_batches(host: &PlainBatch, sdk: &PlainBatch) -> Result<(), TestCaseError> {
    macro_rules! same {
        ($($column:ident),+ $(,)?) => {
            $(prop_assert_eq!(
                &host.$column,
                &sdk.$column,
                "column `{}`: host (left) and SDK (right) differ",
                stringify!($column)
            );)+
        };
    }
    same!(
        len,
        trace_id_hi,
        trace_id_lo,
        span_id,
        parent_span_id,
        services,
        service_index,
        names,
        kind,
        start_unix_nanos,
        end_unix_nanos,
        status,
        status_messages,
        size_len,
        span_attributes,
        event_offsets,
        event_names,
        event_attributes,
        link_offsets,
        link_attributes,
        resource_index,
        resource_attributes,
    );
    // Catches a column added to `PlainBatch` but not to the list above.
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

// ---- answers, in both bindings ----------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Owner {
    Span = 0,
    Resource = 1,
    Event = 2,
    Link = 3,
}

/// An edit before its index is known: `Index` picks among the rows, spans or events the
/// batch has, so most edits address something that exists.
#[derive(Clone, Debug)]
enum EditPick {
    SetAttribute(Owner, Index, host_wit::AttributeValue),
    RemoveAttribute(Owner, Index),
    AddSpanAttribute(Index, String, host_wit::AttributeValue),
    SetName(Index, String),
    SetStatusMessage(Index, String),
    SetEventName(Index, String),
    DropSpan(Index),
}

/// What the batch holds, for picking indexes.
struct Counts {
    spans: usize,
    events: usize,
    /// Attribute rows per owner kind.
    rows: [usize; 4],
}

impl Counts {
    fn of(request: &ExportTraceServiceRequest, batch: &host_wit::SpanBatch) -> Counts {
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
            rows: [
                batch.span_attributes.key.len(),
                batch.resource_attributes.key.len(),
                batch.event_attributes.key.len(),
                batch.link_attributes.key.len(),
            ],
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

fn host_edit(pick: &EditPick, counts: &Counts, out_of_range: bool) -> host_wit::Edit {
    use host_wit::Edit;
    let rows =
        |owner: Owner, index: &Index| resolve(index, counts.rows[owner as usize], out_of_range);
    let span = |index: &Index| resolve(index, counts.spans, out_of_range);
    match pick.clone() {
        EditPick::SetAttribute(owner, index, value) => {
            let row = rows(owner, &index);
            match owner {
                Owner::Span => Edit::SetSpanAttribute((row, value)),
                Owner::Resource => Edit::SetResourceAttribute((row, value)),
                Owner::Event => Edit::SetEventAttribute((row, value)),
                Owner::Link => Edit::SetLinkAttribute((row, value)),
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
            Edit::AddSpanAttribute((span(&index), key, value))
        }
        EditPick::SetName(index, name) => Edit::SetName((span(&index), name)),
        EditPick::SetStatusMessage(index, message) => {
            Edit::SetStatusMessage((span(&index), message))
        }
        EditPick::SetEventName(index, name) => {
            Edit::SetEventName((resolve(&index, counts.events, out_of_range), name))
        }
        EditPick::DropSpan(index) => Edit::DropSpan(span(&index)),
    }
}

fn sdk_value(value: &host_wit::AttributeValue) -> sdk_wit::AttributeValue {
    match value {
        host_wit::AttributeValue::Str(text) => sdk_wit::AttributeValue::Str(text.clone()),
        host_wit::AttributeValue::Int(number) => sdk_wit::AttributeValue::Int(*number),
        host_wit::AttributeValue::Double(number) => sdk_wit::AttributeValue::Double(*number),
        host_wit::AttributeValue::Boolean(flag) => sdk_wit::AttributeValue::Boolean(*flag),
    }
}

fn sdk_edit(edit: &host_wit::Edit) -> sdk_wit::Edit {
    use host_wit::Edit as H;
    use sdk_wit::Edit as S;
    match edit {
        H::SetSpanAttribute((row, value)) => S::SetSpanAttribute((*row, sdk_value(value))),
        H::RemoveSpanAttribute(row) => S::RemoveSpanAttribute(*row),
        H::AddSpanAttribute((span, key, value)) => {
            S::AddSpanAttribute((*span, key.clone(), sdk_value(value)))
        }
        H::SetResourceAttribute((row, value)) => S::SetResourceAttribute((*row, sdk_value(value))),
        H::RemoveResourceAttribute(row) => S::RemoveResourceAttribute(*row),
        H::SetEventAttribute((row, value)) => S::SetEventAttribute((*row, sdk_value(value))),
        H::RemoveEventAttribute(row) => S::RemoveEventAttribute(*row),
        H::SetLinkAttribute((row, value)) => S::SetLinkAttribute((*row, sdk_value(value))),
        H::RemoveLinkAttribute(row) => S::RemoveLinkAttribute(*row),
        H::SetName((span, name)) => S::SetName((*span, name.clone())),
        H::SetStatusMessage((span, message)) => S::SetStatusMessage((*span, message.clone())),
        H::SetEventName((event, name)) => S::SetEventName((*event, name.clone())),
        H::DropSpan(span) => S::DropSpan(*span),
    }
}

/// Whether the contract (wit/README.md, "What a plugin returns") accepts `edit` after
/// `accepted`: in range, its field or attribute kind declared, a non-empty added key,
/// no row both set and removed. Used to make answers that must be applied, so the
/// appliers are compared on applying and not only on refusing.
fn acceptable(
    edit: &host_wit::Edit,
    accepted: &[host_wit::Edit],
    counts: &Counts,
    needs: &TestNeeds,
) -> bool {
    use host_wit::Edit;
    let row_edit = |edit: &Edit| -> Option<(Owner, u32, bool)> {
        Some(match edit {
            Edit::SetSpanAttribute((row, _)) => (Owner::Span, *row, false),
            Edit::RemoveSpanAttribute(row) => (Owner::Span, *row, true),
            Edit::SetResourceAttribute((row, _)) => (Owner::Resource, *row, false),
            Edit::RemoveResourceAttribute(row) => (Owner::Resource, *row, true),
            Edit::SetEventAttribute((row, _)) => (Owner::Event, *row, false),
            Edit::RemoveEventAttribute(row) => (Owner::Event, *row, true),
            Edit::SetLinkAttribute((row, _)) => (Owner::Link, *row, false),
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
        Edit::AddSpanAttribute((span, key, _)) => {
            needs.selects(Owner::Span) && span_ok(*span) && !key.is_empty()
        }
        Edit::SetName((span, _)) => needs.fields[NAME] && span_ok(*span),
        Edit::SetStatusMessage((span, _)) => needs.fields[STATUS_MESSAGE] && span_ok(*span),
        Edit::SetEventName((event, _)) => {
            needs.fields[EVENT_NAMES] && (*event as usize) < counts.events
        }
        Edit::DropSpan(span) => span_ok(*span),
        _ => unreachable!("row edits are handled above"),
    }
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

fn attribute_value_strategy() -> impl Strategy<Value = host_wit::AttributeValue> {
    prop_oneof![
        text().prop_map(host_wit::AttributeValue::Str),
        any::<i64>().prop_map(host_wit::AttributeValue::Int),
        double().prop_map(host_wit::AttributeValue::Double),
        any::<bool>().prop_map(host_wit::AttributeValue::Boolean),
    ]
}

fn owner_strategy() -> impl Strategy<Value = Owner> {
    prop::sample::select(vec![
        Owner::Span,
        Owner::Resource,
        Owner::Event,
        Owner::Link,
    ])
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
    /// encoder send the same batch; the same edits (processor) and decisions (head
    /// sampler) are accepted or refused alike and, applied by the host to OTLP and by
    /// the SDK to the test spans, leave the same spans.
    #[test]
    fn host_and_sdk_test_support_agree_on_the_batch_layout(
        request in request_strategy(),
        previous in request_strategy(),
        needs in needs_strategy(),
        picks in prop::collection::vec((edit_strategy(), prop::bool::weighted(0.05)), 0..12),
        only_acceptable in prop::bool::weighted(0.75),
        decisions in prop::collection::vec(prop::option::of("[a-c]{0,2}"), 1..8),
        decisions_length_off in prop_oneof![8 => Just(0i64), 1 => Just(-1i64), 1 => Just(1i64)],
    ) {
        let spans = test_spans(&request);
        let host_needs = needs.host();
        let sdk_needs = needs.sdk();

        // 1. The batch. A pool slot's buffers and key dictionaries carry over from
        //    the batch it built before; the next batch must not depend on it.
        let mut columns = Columns::default();
        columns.build(&previous, &host_needs);
        columns.build(&request, &host_needs);
        let sdk = testing::to_batch(&spans, &sdk_needs);
        same_batches(&host_batch(&columns.batch), &sdk_batch(sdk.raw()))?;

        // 2. A processor's edits.
        let counts = Counts::of(&request, &columns.batch);
        let mut edits: Vec<host_wit::Edit> = Vec::new();
        for (pick, out_of_range) in &picks {
            let edit = host_edit(pick, &counts, *out_of_range);
            if !only_acceptable || acceptable(&edit, &edits, &counts, &needs) {
                edits.push(edit);
            }
        }
        let sdk_edits: Vec<sdk_wit::Edit> = edits.iter().map(sdk_edit).collect();
        let mut edited = request.clone();
        let host_answer =
            apply_edits(&mut edited, edits.clone(), &columns, &host_needs, &mut EditScratch::default());
        let sdk_answer = testing::apply_edits(&spans, &sdk_needs, &sdk_edits);
        prop_assert_eq!(
            host_answer.is_ok(),
            sdk_answer.is_ok(),
            "{:?}: host {:?}, SDK {:?}",
            edits,
            host_answer,
            sdk_answer.as_ref().map(Vec::len)
        );
        if only_acceptable {
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

        // 3. A head sampler's decisions (one per span; sometimes one too few or many).
        let length = (spans.len() as i64 + decisions_length_off).max(0) as usize;
        let host_decisions: Vec<host_wit::Decision> = (0..length)
            .map(|position| match &decisions[position % decisions.len()] {
                Some(policy) => host_wit::Decision::Keep(policy.clone()),
                None => host_wit::Decision::Drop,
            })
            .collect();
        let sdk_decisions: Vec<sdk_wit::Decision> = host_decisions
            .iter()
            .map(|decision| match decision {
                host_wit::Decision::Keep(policy) => sdk_wit::Decision::Keep(policy.clone()),
                host_wit::Decision::Drop => sdk_wit::Decision::Drop,
            })
            .collect();
        let mut sampled = request.clone();
        let host_answer =
            apply_decisions(&mut sampled, &host_decisions, spans.len(), &mut EditScratch::default());
        let sdk_answer = testing::apply_decisions(&spans, &sdk_decisions);
        prop_assert_eq!(host_answer.is_ok(), sdk_answer.is_ok(), "{} decisions", length);
        if let (Ok(dropped), Ok(sdk_spans)) = (host_answer, sdk_answer) {
            prop_assert_eq!(dropped, spans.len() - sdk_spans.len());
            prop_assert_eq!(plain_spans(&test_spans(&sampled)), plain_spans(&sdk_spans));
        }
    }
}
