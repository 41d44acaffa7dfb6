//! Checks a processor's answer (edit records, layout: wit/README.md, "Edit records")
//! against the batch it was given, then applies it to the OTLP request.
//!
//! An answer is checked whole before anything is applied: one malformed record (an
//! unknown op or value kind, a string reference outside the answer's strings, text
//! that is not UTF-8) or one edit addressing a row, span or event that does not exist,
//! or a field the plugin did not declare, makes the whole answer invalid and the
//! request untouched. Applying goes: sets and renames in answer order, then removals
//! (by descending index within each owner, so earlier indexes stay valid), then added
//! attributes, then dropped spans.

use std::fmt;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use spangate_plugin_abi::{EditRecord, EditRecords, StrRef, op, value_kind};

use super::bindings::wit;
use super::columns::{Columns, Table};
use super::convert::Needs;
use crate::model::{ExportTraceServiceRequest, retain_spans};

/// Why an answer was refused (logged with the failure).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct InvalidAnswer(pub(super) String);

impl fmt::Display for InvalidAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A scalar value of an edit, borrowed from the answer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Value<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
}

/// One edit record, decoded: its op known, its strings valid UTF-8 within the answer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Edit<'a> {
    SetAttribute(Table, u32, Value<'a>),
    RemoveAttribute(Table, u32),
    AddSpanAttribute(u32, &'a str, Value<'a>),
    SetName(u32, &'a str),
    SetStatusMessage(u32, &'a str),
    SetEventName(u32, &'a str),
    DropSpan(u32),
}

fn text<'a>(reference: StrRef, strings: &'a [u8], what: &str) -> Result<&'a str, String> {
    let bytes = reference.get(strings).ok_or_else(|| {
        format!(
            "its {what} references bytes {}..{} of strings, which has {} bytes",
            reference.offset,
            u64::from(reference.offset) + u64::from(reference.len),
            strings.len()
        )
    })?;
    std::str::from_utf8(bytes).map_err(|error| format!("its {what} is not UTF-8 ({error})"))
}

fn value<'a>(record: &EditRecord, strings: &'a [u8]) -> Result<Value<'a>, String> {
    match record.kind {
        value_kind::STR => text(StrRef::from_u64(record.value), strings, "value").map(Value::Str),
        value_kind::INT => Ok(Value::Int(record.value as i64)),
        value_kind::DOUBLE => Ok(Value::Double(f64::from_bits(record.value))),
        // Written as 0 / 1; read as C reads a flag, as the SDK does.
        value_kind::BOOL => Ok(Value::Bool(record.value != 0)),
        value_kind::JSON => Err("its value kind is json (4), which an edit cannot set".to_owned()),
        other => Err(format!("unknown value kind {other}")),
    }
}

/// The new text of a rename, which must be a `str`.
fn new_text<'a>(record: &EditRecord, strings: &'a [u8]) -> Result<&'a str, String> {
    match value(record, strings)? {
        Value::Str(text) => Ok(text),
        _ => Err(format!(
            "its value kind is {}, but a rename takes a str (0)",
            record.kind
        )),
    }
}

/// Decodes a record on its own (what it means, not whether the batch has its target).
fn decode<'a>(record: &EditRecord, strings: &'a [u8]) -> Result<Edit<'a>, String> {
    let target = record.target;
    let table = |op: u8| match op {
        op::SET_SPAN_ATTRIBUTE | op::REMOVE_SPAN_ATTRIBUTE => Table::Span,
        op::SET_RESOURCE_ATTRIBUTE | op::REMOVE_RESOURCE_ATTRIBUTE => Table::Resource,
        op::SET_EVENT_ATTRIBUTE | op::REMOVE_EVENT_ATTRIBUTE => Table::Event,
        _ => Table::Link,
    };
    Ok(match record.op {
        op::SET_SPAN_ATTRIBUTE
        | op::SET_RESOURCE_ATTRIBUTE
        | op::SET_EVENT_ATTRIBUTE
        | op::SET_LINK_ATTRIBUTE => {
            Edit::SetAttribute(table(record.op), target, value(record, strings)?)
        }
        op::REMOVE_SPAN_ATTRIBUTE
        | op::REMOVE_RESOURCE_ATTRIBUTE
        | op::REMOVE_EVENT_ATTRIBUTE
        | op::REMOVE_LINK_ATTRIBUTE => Edit::RemoveAttribute(table(record.op), target),
        op::ADD_SPAN_ATTRIBUTE => {
            let key = text(record.key, strings, "key")?;
            if key.is_empty() {
                return Err("its key is empty".to_owned());
            }
            Edit::AddSpanAttribute(target, key, value(record, strings)?)
        }
        op::SET_NAME => Edit::SetName(target, new_text(record, strings)?),
        op::SET_STATUS_MESSAGE => Edit::SetStatusMessage(target, new_text(record, strings)?),
        op::SET_EVENT_NAME => Edit::SetEventName(target, new_text(record, strings)?),
        op::DROP_SPAN => Edit::DropSpan(target),
        other => return Err(format!("unknown op {other}")),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RowState {
    Untouched,
    Set,
    Removed,
}

/// Buffers reused between answers (one per pool slot).
#[derive(Default)]
pub(super) struct EditScratch {
    /// Span index → (resource spans, scope spans, span) positions.
    locations: Vec<(u32, u32, u32)>,
    row_states: [Vec<RowState>; 4],
    /// (table, owner index, attribute index) to remove.
    removals: Vec<(Table, u32, u32)>,
    /// `add-span-attribute` records, applied after the removals.
    adds: Vec<EditRecord>,
    pub(super) dropped: Vec<bool>,
}

/// Checks a processor's answer and applies it; returns how many spans were dropped.
pub(super) fn apply_edits(
    request: &mut ExportTraceServiceRequest,
    edits: &wit::Edits,
    columns: &Columns,
    needs: &Needs,
    scratch: &mut EditScratch,
) -> Result<usize, InvalidAnswer> {
    let records = EditRecords::parse(&edits.records)
        .map_err(|error| InvalidAnswer(format!("malformed edits: {error}")))?;
    if records.len() == 0 {
        return Ok(0);
    }
    check_edits(records.clone(), &edits.strings, columns, needs, scratch)?;
    locate_spans(request, &mut scratch.locations);
    scratch.removals.clear();
    scratch.adds.clear();
    scratch.dropped.clear();
    scratch.dropped.resize(scratch.locations.len(), false);
    let mut any_dropped = false;

    for record in records {
        // Every record decoded in `check_edits`.
        let Ok(edit) = decode(&record, &edits.strings) else {
            continue;
        };
        match edit {
            Edit::SetAttribute(table, row, value) => {
                if let Some(attribute) = attribute_mut(request, columns, scratch, table, row) {
                    set_value(&mut attribute.value, value);
                }
            }
            Edit::RemoveAttribute(table, row) => {
                if let Some(found) = columns.rows[table as usize].get(row as usize) {
                    scratch.removals.push((table, found.owner, found.attribute));
                }
            }
            Edit::AddSpanAttribute(..) => scratch.adds.push(record),
            Edit::SetName(span, name) => {
                if let Some(span) = span_mut(request, &scratch.locations, span) {
                    replace(&mut span.name, name);
                }
            }
            Edit::SetStatusMessage(span, message) => {
                if let Some(span) = span_mut(request, &scratch.locations, span) {
                    let status = span.status.get_or_insert_with(Status::default);
                    replace(&mut status.message, message);
                }
            }
            Edit::SetEventName(event, name) => {
                if let Some(event) = event_mut(request, columns, &scratch.locations, event) {
                    replace(&mut event.name, name);
                }
            }
            Edit::DropSpan(span) => {
                if let Some(flag) = scratch.dropped.get_mut(span as usize) {
                    any_dropped |= !*flag;
                    *flag = true;
                }
            }
        }
    }

    // Descending, so removing an attribute never shifts one still to be removed.
    scratch.removals.sort_unstable_by(|a, b| b.cmp(a));
    // A row removed twice is removed once.
    scratch.removals.dedup();
    for &(table, owner, attribute) in &scratch.removals {
        if let Some(list) = attribute_list_mut(request, columns, &scratch.locations, table, owner)
            && (attribute as usize) < list.len()
        {
            list.remove(attribute as usize);
        }
    }
    for record in &scratch.adds {
        if let Ok(Edit::AddSpanAttribute(span, key, value)) = decode(record, &edits.strings)
            && let Some(span) = span_mut(request, &scratch.locations, span)
        {
            upsert(&mut span.attributes, key, value);
        }
    }
    if !any_dropped {
        return Ok(0);
    }
    Ok(drop_spans(request, &scratch.dropped))
}

/// Decodes and checks every record against the batch; the first problem refuses the
/// answer, naming the record.
fn check_edits(
    records: EditRecords<'_>,
    strings: &[u8],
    columns: &Columns,
    needs: &Needs,
    scratch: &mut EditScratch,
) -> Result<(), InvalidAnswer> {
    for table in Table::ALL {
        let states = &mut scratch.row_states[table as usize];
        states.clear();
        states.resize(columns.rows[table as usize].len(), RowState::Untouched);
    }
    for (index, record) in records.enumerate() {
        decode(&record, strings)
            .and_then(|edit| check_edit(edit, columns, needs, &mut scratch.row_states))
            .map_err(|problem| {
                InvalidAnswer(match op::name(record.op) {
                    Some(name) => format!("edit {index} ({name}): {problem}"),
                    None => format!("edit {index}: {problem}"),
                })
            })?;
    }
    Ok(())
}

fn check_edit(
    edit: Edit<'_>,
    columns: &Columns,
    needs: &Needs,
    row_states: &mut [Vec<RowState>; 4],
) -> Result<(), String> {
    let span_count = columns.span_count();
    let check_span = |span: u32| {
        if span < span_count {
            Ok(())
        } else {
            Err(format!(
                "it addresses span {span}, but the batch has {span_count} spans"
            ))
        }
    };
    let check_field = |field: wit::SpanFields, name: &str| {
        if needs.has(field) {
            Ok(())
        } else {
            Err(format!(
                "it edits the {name} field, which the plugin did not declare in its needs"
            ))
        }
    };
    match edit {
        Edit::SetAttribute(table, row, _) => {
            mark_row(columns, needs, row_states, table, row, RowState::Set)
        }
        Edit::RemoveAttribute(table, row) => {
            mark_row(columns, needs, row_states, table, row, RowState::Removed)
        }
        Edit::AddSpanAttribute(span, _, _) => {
            if needs.span_attributes.is_none() {
                return Err("the plugin declared no span attributes in its needs".to_owned());
            }
            check_span(span)
        }
        Edit::SetName(span, _) => {
            check_field(wit::SpanFields::NAME, "name")?;
            check_span(span)
        }
        Edit::SetStatusMessage(span, _) => {
            check_field(wit::SpanFields::STATUS_MESSAGE, "status-message")?;
            check_span(span)
        }
        Edit::SetEventName(event, _) => {
            check_field(wit::SpanFields::EVENT_NAMES, "event-names")?;
            let events = columns.events.len();
            if (event as usize) < events {
                Ok(())
            } else {
                Err(format!(
                    "it addresses event {event}, but the batch has {events} events"
                ))
            }
        }
        Edit::DropSpan(span) => check_span(span),
    }
}

/// Marks `row` as set or removed, refusing undeclared tables, unknown rows and a row
/// both set and removed.
fn mark_row(
    columns: &Columns,
    needs: &Needs,
    row_states: &mut [Vec<RowState>; 4],
    table: Table,
    row: u32,
    state: RowState,
) -> Result<(), String> {
    let noun = table.noun();
    if table.selection(needs).is_none() {
        return Err(format!(
            "the plugin declared no {noun} attributes in its needs"
        ));
    }
    let Some(current) = row_states[table as usize].get_mut(row as usize) else {
        return Err(format!(
            "it addresses row {row}, but the batch has {} {noun} attribute rows",
            columns.rows[table as usize].len()
        ));
    };
    match (*current, state) {
        (RowState::Set, RowState::Removed) | (RowState::Removed, RowState::Set) => Err(format!(
            "{noun} attribute row {row} is both set and removed"
        )),
        _ => {
            *current = state;
            Ok(())
        }
    }
}

/// Removes the spans flagged in `dropped` (request order), then scope spans and
/// resource spans left empty.
pub(super) fn drop_spans(request: &mut ExportTraceServiceRequest, dropped: &[bool]) -> usize {
    let mut index = 0;
    let mut removed = 0;
    retain_spans(request, |_| {
        let drop = dropped.get(index).copied().unwrap_or(false);
        index += 1;
        removed += usize::from(drop);
        !drop
    });
    removed
}

/// Overwrites `target` with `text`, keeping its allocation when it is large enough.
fn replace(target: &mut String, text: &str) {
    target.clear();
    target.push_str(text);
}

fn set_value(target: &mut Option<AnyValue>, value: Value<'_>) {
    if let (
        Value::Str(text),
        Some(AnyValue {
            value: Some(any_value::Value::StringValue(existing)),
        }),
    ) = (value, target.as_mut())
    {
        replace(existing, text);
        return;
    }
    *target = Some(AnyValue {
        value: Some(match value {
            Value::Str(text) => any_value::Value::StringValue(text.to_owned()),
            Value::Int(int) => any_value::Value::IntValue(int),
            Value::Double(double) => any_value::Value::DoubleValue(double),
            Value::Bool(boolean) => any_value::Value::BoolValue(boolean),
        }),
    });
}

/// OTLP attribute keys are unique per owner: adding a key the span has replaces it.
fn upsert(attributes: &mut Vec<KeyValue>, key: &str, value: Value<'_>) {
    match attributes.iter_mut().find(|attribute| attribute.key == key) {
        Some(attribute) => set_value(&mut attribute.value, value),
        None => {
            let mut attribute = KeyValue {
                key: key.to_owned(),
                ..KeyValue::default()
            };
            set_value(&mut attribute.value, value);
            attributes.push(attribute);
        }
    }
}

fn locate_spans(request: &ExportTraceServiceRequest, locations: &mut Vec<(u32, u32, u32)>) {
    locations.clear();
    for (resource, resource_spans) in request.resource_spans.iter().enumerate() {
        for (scope, scope_spans) in resource_spans.scope_spans.iter().enumerate() {
            for span in 0..scope_spans.spans.len() {
                locations.push((resource as u32, scope as u32, span as u32));
            }
        }
    }
}

fn span_mut<'a>(
    request: &'a mut ExportTraceServiceRequest,
    locations: &[(u32, u32, u32)],
    span: u32,
) -> Option<&'a mut Span> {
    let &(resource, scope, position) = locations.get(span as usize)?;
    request
        .resource_spans
        .get_mut(resource as usize)?
        .scope_spans
        .get_mut(scope as usize)?
        .spans
        .get_mut(position as usize)
}

fn event_mut<'a>(
    request: &'a mut ExportTraceServiceRequest,
    columns: &Columns,
    locations: &[(u32, u32, u32)],
    event: u32,
) -> Option<&'a mut opentelemetry_proto::tonic::trace::v1::span::Event> {
    let member = columns.events.get(event as usize)?;
    span_mut(request, locations, member.span)?
        .events
        .get_mut(member.position as usize)
}

/// The attribute list of one owner (span, resource, event or link, by global index).
fn attribute_list_mut<'a>(
    request: &'a mut ExportTraceServiceRequest,
    columns: &Columns,
    locations: &[(u32, u32, u32)],
    table: Table,
    owner: u32,
) -> Option<&'a mut Vec<KeyValue>> {
    match table {
        Table::Span => Some(&mut span_mut(request, locations, owner)?.attributes),
        Table::Resource => Some(
            &mut request
                .resource_spans
                .get_mut(owner as usize)?
                .resource
                .as_mut()?
                .attributes,
        ),
        Table::Event => Some(&mut event_mut(request, columns, locations, owner)?.attributes),
        Table::Link => {
            let member = columns.links.get(owner as usize)?;
            Some(
                &mut span_mut(request, locations, member.span)?
                    .links
                    .get_mut(member.position as usize)?
                    .attributes,
            )
        }
    }
}

/// The OTLP attribute behind attribute row `row` of `table` (checked to exist before).
fn attribute_mut<'a>(
    request: &'a mut ExportTraceServiceRequest,
    columns: &Columns,
    scratch: &EditScratch,
    table: Table,
    row: u32,
) -> Option<&'a mut KeyValue> {
    let found = *columns.rows[table as usize].get(row as usize)?;
    attribute_list_mut(request, columns, &scratch.locations, table, found.owner)?
        .get_mut(found.attribute as usize)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::plugin::columns::tests::{kv, needs, render, sample_request, string, strings, view};
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Otlp;
    use proptest::prelude::*;
    use spangate_plugin_abi::{EDIT_RECORD_BYTES, column, push_string};
    use wit::AttributeSelection as Sel;

    /// An edit as a test writes it; `encode` makes the records a plugin would return.
    #[derive(Clone, Debug, PartialEq)]
    pub(crate) enum TestEdit {
        Set(Table, u32, TestValue),
        Remove(Table, u32),
        Add(u32, String, TestValue),
        SetName(u32, String),
        SetStatusMessage(u32, String),
        SetEventName(u32, String),
        Drop(u32),
    }

    #[derive(Clone, Debug, PartialEq)]
    pub(crate) enum TestValue {
        Str(String),
        Int(i64),
        Double(f64),
        Bool(bool),
    }

    fn set_op(table: Table) -> u8 {
        [
            op::SET_SPAN_ATTRIBUTE,
            op::SET_RESOURCE_ATTRIBUTE,
            op::SET_EVENT_ATTRIBUTE,
            op::SET_LINK_ATTRIBUTE,
        ][table as usize]
    }

    fn remove_op(table: Table) -> u8 {
        [
            op::REMOVE_SPAN_ATTRIBUTE,
            op::REMOVE_RESOURCE_ATTRIBUTE,
            op::REMOVE_EVENT_ATTRIBUTE,
            op::REMOVE_LINK_ATTRIBUTE,
        ][table as usize]
    }

    fn encode_value(value: &TestValue, strings: &mut Vec<u8>) -> (u8, u64) {
        match value {
            TestValue::Str(text) => (
                value_kind::STR,
                push_string(strings, text.as_bytes()).to_u64(),
            ),
            TestValue::Int(int) => (value_kind::INT, *int as u64),
            TestValue::Double(double) => (value_kind::DOUBLE, double.to_bits()),
            TestValue::Bool(boolean) => (value_kind::BOOL, u64::from(*boolean)),
        }
    }

    pub(crate) fn encode(edits: &[TestEdit]) -> wit::Edits {
        let mut records = Vec::new();
        let mut strings = Vec::new();
        for edit in edits {
            let mut record = EditRecord::default();
            let mut valued = |record: &mut EditRecord, op: u8, target: u32, value: &TestValue| {
                record.op = op;
                record.target = target;
                (record.kind, record.value) = encode_value(value, &mut strings);
            };
            match edit {
                TestEdit::Set(table, row, value) => {
                    valued(&mut record, set_op(*table), *row, value)
                }
                TestEdit::Remove(table, row) => {
                    record.op = remove_op(*table);
                    record.target = *row;
                }
                TestEdit::Add(span, key, value) => {
                    valued(&mut record, op::ADD_SPAN_ATTRIBUTE, *span, value);
                    record.key = push_string(&mut strings, key.as_bytes());
                }
                TestEdit::SetName(span, text) => valued(
                    &mut record,
                    op::SET_NAME,
                    *span,
                    &TestValue::Str(text.clone()),
                ),
                TestEdit::SetStatusMessage(span, text) => valued(
                    &mut record,
                    op::SET_STATUS_MESSAGE,
                    *span,
                    &TestValue::Str(text.clone()),
                ),
                TestEdit::SetEventName(event, text) => valued(
                    &mut record,
                    op::SET_EVENT_NAME,
                    *event,
                    &TestValue::Str(text.clone()),
                ),
                TestEdit::Drop(span) => {
                    record.op = op::DROP_SPAN;
                    record.target = *span;
                }
            }
            record.encode(&mut records);
        }
        wit::Edits { records, strings }
    }

    fn everything() -> Needs {
        needs(
            wit::SpanFields::all(),
            Sel::All,
            Sel::All,
            Sel::All,
            Sel::All,
        )
    }

    fn apply_raw(
        request: &mut ExportTraceServiceRequest,
        needs: &Needs,
        edits: &wit::Edits,
    ) -> Result<usize, InvalidAnswer> {
        let mut columns = Columns::default();
        columns.build(request, needs);
        apply_edits(request, edits, &columns, needs, &mut EditScratch::default())
    }

    fn apply(
        request: &mut ExportTraceServiceRequest,
        needs: &Needs,
        edits: &[TestEdit],
    ) -> Result<usize, InvalidAnswer> {
        apply_raw(request, needs, &encode(edits))
    }

    fn spans(request: &ExportTraceServiceRequest) -> Vec<&Span> {
        request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .collect()
    }

    fn value_of<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Otlp> {
        attributes
            .iter()
            .find(|a| a.key == key)?
            .value
            .as_ref()?
            .value
            .as_ref()
    }

    fn str_value(text: &str) -> TestValue {
        TestValue::Str(text.to_owned())
    }

    #[test]
    fn every_edit_kind_applies() {
        let mut request = sample_request();
        // Rows with `all` everywhere: span rows 0..3 span 0 (http.method, http.status_code,
        // secret), 3..6 span 1 (db.ok, ratio, list), 6..8 span 2 (secret, map); resource
        // rows 0..2 resource 0, 2 resource 1; event row 0 (exception.message); link row 0.
        let edits = vec![
            TestEdit::Set(Table::Span, 2, str_value("REDACTED")),
            TestEdit::Remove(Table::Span, 0),
            TestEdit::Remove(Table::Span, 1),
            TestEdit::Add(0, "added".to_owned(), TestValue::Int(7)),
            TestEdit::Add(1, "ratio".to_owned(), TestValue::Double(0.25)),
            TestEdit::Set(Table::Resource, 1, TestValue::Bool(true)),
            TestEdit::Remove(Table::Resource, 2),
            TestEdit::Remove(Table::Event, 0),
            TestEdit::Set(Table::Link, 0, str_value("child")),
            TestEdit::SetName(1, "SELECT ?".to_owned()),
            TestEdit::SetStatusMessage(1, "slow".to_owned()),
            TestEdit::SetEventName(1, "retried".to_owned()),
            TestEdit::Drop(2),
        ];
        let dropped = apply(&mut request, &everything(), &edits).unwrap();
        assert_eq!(dropped, 1);
        // Span 2 was the only span of resource 1: the resource is gone with it.
        assert_eq!(request.resource_spans.len(), 1);
        let resource = request.resource_spans[0].resource.as_ref().unwrap();
        assert_eq!(
            value_of(&resource.attributes, "host"),
            Some(&Otlp::BoolValue(true))
        );
        let spans = spans(&request);
        assert_eq!(spans.len(), 2);
        let keys: Vec<&str> = spans[0].attributes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, vec!["secret", "added"]);
        assert_eq!(
            value_of(&spans[0].attributes, "secret"),
            Some(&string("REDACTED"))
        );
        assert_eq!(
            value_of(&spans[0].attributes, "added"),
            Some(&Otlp::IntValue(7))
        );
        assert!(spans[0].events[0].attributes.is_empty());
        assert_eq!(spans[0].events[1].name, "retried");
        // Adding a key the span has replaces its value (keys stay unique).
        assert_eq!(spans[1].attributes.len(), 3);
        assert_eq!(
            value_of(&spans[1].attributes, "ratio"),
            Some(&Otlp::DoubleValue(0.25))
        );
        assert_eq!(spans[1].name, "SELECT ?");
        assert_eq!(spans[1].status.as_ref().unwrap().message, "slow");
        assert_eq!(
            value_of(&spans[1].links[0].attributes, "link.kind"),
            Some(&string("child"))
        );
    }

    #[test]
    fn sets_apply_in_answer_order() {
        let mut request = sample_request();
        apply(
            &mut request,
            &everything(),
            &[
                TestEdit::SetName(0, "first".to_owned()),
                TestEdit::Set(Table::Span, 0, str_value("a")),
                TestEdit::SetName(0, "second".to_owned()),
                TestEdit::Set(Table::Span, 0, TestValue::Int(2)),
            ],
        )
        .unwrap();
        let spans = spans(&request);
        assert_eq!(spans[0].name, "second");
        assert_eq!(
            value_of(&spans[0].attributes, "http.method"),
            Some(&Otlp::IntValue(2))
        );
    }

    #[test]
    fn rows_address_the_selected_attributes_only() {
        let mut request = sample_request();
        let keys = needs(
            wit::SpanFields::empty(),
            Sel::Keys(vec!["secret".to_owned()]),
            Sel::None,
            Sel::None,
            Sel::None,
        );
        // Row 1 is span 2's `secret` (span 0 has row 0; span 1 has none).
        apply(
            &mut request,
            &keys,
            &[TestEdit::Set(Table::Span, 1, str_value("x"))],
        )
        .unwrap();
        let spans = spans(&request);
        assert_eq!(
            value_of(&spans[0].attributes, "secret"),
            Some(&string("hunter2"))
        );
        assert_eq!(value_of(&spans[2].attributes, "secret"), Some(&string("x")));
    }

    #[test]
    fn invalid_answers_change_nothing_and_name_the_edit() {
        let only_names = needs(
            wit::SpanFields::NAME,
            Sel::None,
            Sel::None,
            Sel::None,
            Sel::None,
        );
        let keys = needs(
            wit::SpanFields::NAME,
            Sel::Keys(vec!["secret".to_owned()]),
            Sel::None,
            Sel::None,
            Sel::None,
        );
        let cases: Vec<(&Needs, Vec<TestEdit>, &str)> = vec![
            (
                &only_names,
                vec![TestEdit::SetStatusMessage(0, "x".to_owned())],
                "edit 0 (set-status-message): it edits the status-message field, which the plugin did not declare",
            ),
            (
                &only_names,
                vec![
                    TestEdit::SetName(0, "x".to_owned()),
                    TestEdit::SetName(3, "x".to_owned()),
                ],
                "edit 1 (set-name): it addresses span 3, but the batch has 3 spans",
            ),
            (
                &only_names,
                vec![TestEdit::SetEventName(0, "x".to_owned())],
                "did not declare",
            ),
            (
                &only_names,
                vec![TestEdit::Remove(Table::Span, 0)],
                "edit 0 (remove-span-attribute): the plugin declared no span attributes",
            ),
            (
                &only_names,
                vec![TestEdit::Add(0, "k".to_owned(), TestValue::Int(1))],
                "no span attributes",
            ),
            (
                &keys,
                vec![TestEdit::Add(0, String::new(), TestValue::Int(1))],
                "edit 0 (add-span-attribute): its key is empty",
            ),
            (
                &keys,
                vec![TestEdit::Remove(Table::Span, 2)],
                "it addresses row 2, but the batch has 2 span attribute rows",
            ),
            (
                &keys,
                vec![TestEdit::Remove(Table::Resource, 0)],
                "no resource attributes",
            ),
            (
                &keys,
                vec![
                    TestEdit::Set(Table::Span, 0, TestValue::Int(1)),
                    TestEdit::Remove(Table::Span, 0),
                ],
                "edit 1 (remove-span-attribute): span attribute row 0 is both set and removed",
            ),
            (
                &keys,
                vec![
                    TestEdit::SetName(0, "renamed".to_owned()),
                    TestEdit::Drop(9),
                ],
                "edit 1 (drop-span): it addresses span 9",
            ),
        ];
        for (needs, edits, expected) in cases {
            let mut request = sample_request();
            let error = apply(&mut request, needs, &edits).unwrap_err();
            assert!(error.0.contains(expected), "{edits:?}: {error}");
            assert_eq!(request, sample_request(), "{edits:?} changed the request");
        }
        let mut request = sample_request();
        let mut everything_events = everything();
        everything_events.fields = wit::SpanFields::EVENT_NAMES;
        let error = apply(
            &mut request,
            &everything_events,
            &[TestEdit::SetEventName(2, "x".to_owned())],
        )
        .unwrap_err();
        assert!(
            error
                .0
                .contains("it addresses event 2, but the batch has 2 events"),
            "{error}"
        );
    }

    /// One valid rename, then `mangle` applied to the second record's bytes.
    fn mangled(mangle: impl FnOnce(&mut [u8], &mut Vec<u8>)) -> Result<usize, InvalidAnswer> {
        let mut edits = encode(&[
            TestEdit::SetName(0, "ok".to_owned()),
            TestEdit::Add(1, "key".to_owned(), str_value("value")),
        ]);
        mangle(&mut edits.records[EDIT_RECORD_BYTES..], &mut edits.strings);
        let mut request = sample_request();
        let result = apply_raw(&mut request, &everything(), &edits);
        if result.is_err() {
            assert_eq!(request, sample_request());
        }
        result
    }

    #[test]
    fn malformed_records_are_refused_with_the_problem() {
        let refused = |mangle: fn(&mut [u8], &mut Vec<u8>), expected: &str| {
            let error = mangled(mangle).unwrap_err();
            assert!(error.0.contains(expected), "{error} lacks {expected:?}");
        };
        assert!(mangled(|_, _| {}).is_ok());
        refused(|record, _| record[0] = 0, "edit 1: unknown op 0");
        refused(|record, _| record[0] = 14, "edit 1: unknown op 14");
        refused(
            |record, _| record[1] = 9,
            "edit 1 (add-span-attribute): unknown value kind 9",
        );
        refused(
            |record, _| record[1] = value_kind::JSON,
            "value kind is json (4), which an edit cannot set",
        );
        // The value's length reaches past the strings.
        refused(
            |record, _| record[20] = 200,
            "edit 1 (add-span-attribute): its value references bytes 2..202 of strings, which has 10 bytes",
        );
        refused(|record, _| record[8] = 9, "its key references bytes 9..12");
        // Strings: "ok", then the add's value "value", then its key "key".
        refused(|_, strings| strings[8] = 0xff, "its key is not UTF-8");
        refused(|_, strings| strings[3] = 0xff, "its value is not UTF-8");
        let error = apply_raw(
            &mut sample_request(),
            &everything(),
            &wit::Edits {
                records: vec![0; 25],
                strings: Vec::new(),
            },
        )
        .unwrap_err();
        assert!(error.0.contains("not a multiple of 24"), "{error}");
        let rename = |kind: u8| {
            let mut edits = encode(&[TestEdit::SetName(0, "x".to_owned())]);
            edits.records[1] = kind;
            apply_raw(&mut sample_request(), &everything(), &edits)
        };
        assert!(
            rename(value_kind::INT)
                .unwrap_err()
                .0
                .contains("edit 0 (set-name): its value kind is 1, but a rename takes a str (0)")
        );
    }

    #[test]
    fn a_boolean_is_true_unless_zero() {
        let mut edits = encode(&[TestEdit::Set(Table::Span, 0, TestValue::Bool(true))]);
        edits.records[16..24].copy_from_slice(&2u64.to_le_bytes());
        let mut request = sample_request();
        apply_raw(&mut request, &everything(), &edits).unwrap();
        assert_eq!(
            value_of(&spans(&request)[0].attributes, "http.method"),
            Some(&Otlp::BoolValue(true))
        );
    }

    #[test]
    fn ops_without_a_value_ignore_the_value_fields() {
        let mut edits = encode(&[TestEdit::Drop(0), TestEdit::Remove(Table::Span, 0)]);
        for record in edits.records.chunks_mut(EDIT_RECORD_BYTES) {
            record[1] = 77;
            record[8..24].fill(0xee);
        }
        let mut request = sample_request();
        assert_eq!(apply_raw(&mut request, &everything(), &edits), Ok(1));
    }

    #[test]
    fn a_row_removed_twice_is_removed_once() {
        let mut request = sample_request();
        apply(
            &mut request,
            &everything(),
            &[
                TestEdit::Remove(Table::Span, 0),
                TestEdit::Remove(Table::Span, 0),
            ],
        )
        .unwrap();
        assert_eq!(spans(&request)[0].attributes.len(), 2);
    }

    #[test]
    fn an_empty_answer_changes_nothing() {
        let mut request = sample_request();
        assert_eq!(apply(&mut request, &everything(), &[]), Ok(0));
        assert_eq!(request, sample_request());
    }

    // ---- property tests -------------------------------------------------------------

    fn value_strategy() -> impl Strategy<Value = Otlp> {
        prop_oneof![
            "[a-z]{0,3}".prop_map(Otlp::StringValue),
            any::<i64>().prop_map(Otlp::IntValue),
            (-1e6f64..1e6).prop_map(Otlp::DoubleValue),
            any::<bool>().prop_map(Otlp::BoolValue),
            prop::collection::vec(any::<u8>(), 0..3).prop_map(Otlp::BytesValue),
            prop::collection::vec("[a-z]{0,2}", 0..3).prop_map(|items| Otlp::ArrayValue(
                opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: items
                        .into_iter()
                        .map(|s| AnyValue {
                            value: Some(Otlp::StringValue(s))
                        })
                        .collect(),
                }
            )),
        ]
    }

    fn attributes_strategy(max: usize) -> impl Strategy<Value = Vec<KeyValue>> {
        prop::collection::vec(("[a-d]", value_strategy()), 0..max).prop_map(|pairs| {
            pairs
                .into_iter()
                .map(|(key, value)| kv(&key, value))
                .collect()
        })
    }

    fn span_strategy() -> impl Strategy<Value = Span> {
        (
            "[a-c]{1,2}",
            attributes_strategy(4),
            prop::collection::vec(("[a-c]", attributes_strategy(2)), 0..3),
            prop::collection::vec(attributes_strategy(2), 0..3),
        )
            .prop_map(|(name, attributes, events, links)| Span {
                trace_id: vec![1; 16],
                span_id: vec![2; 8],
                name,
                attributes,
                events: events
                    .into_iter()
                    .map(
                        |(name, attributes)| opentelemetry_proto::tonic::trace::v1::span::Event {
                            name,
                            attributes,
                            ..Default::default()
                        },
                    )
                    .collect(),
                links: links
                    .into_iter()
                    .map(
                        |attributes| opentelemetry_proto::tonic::trace::v1::span::Link {
                            attributes,
                            ..Default::default()
                        },
                    )
                    .collect(),
                ..Default::default()
            })
    }

    fn request_strategy() -> impl Strategy<Value = ExportTraceServiceRequest> {
        use opentelemetry_proto::tonic::resource::v1::Resource;
        use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
        prop::collection::vec(
            (
                attributes_strategy(3),
                prop::collection::vec(prop::collection::vec(span_strategy(), 0..4), 0..3),
            ),
            0..3,
        )
        .prop_map(|resources| ExportTraceServiceRequest {
            resource_spans: resources
                .into_iter()
                .map(|(attributes, scopes)| ResourceSpans {
                    resource: Some(Resource {
                        attributes,
                        ..Default::default()
                    }),
                    scope_spans: scopes
                        .into_iter()
                        .map(|spans| ScopeSpans {
                            spans,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
        })
    }

    fn selection_strategy() -> impl Strategy<Value = wit::AttributeSelection> {
        prop_oneof![
            Just(Sel::None),
            prop::collection::vec("[a-e]", 0..3).prop_map(Sel::Keys),
            Just(Sel::AllStrings),
            Just(Sel::All),
        ]
    }

    fn needs_strategy() -> impl Strategy<Value = Needs> {
        (
            any::<[bool; 11]>(),
            selection_strategy(),
            selection_strategy(),
            selection_strategy(),
            selection_strategy(),
        )
            .prop_map(|(flags, span, resource, event, link)| {
                let all = [
                    wit::SpanFields::TRACE_ID,
                    wit::SpanFields::SPAN_ID,
                    wit::SpanFields::PARENT_SPAN_ID,
                    wit::SpanFields::SERVICE_NAME,
                    wit::SpanFields::NAME,
                    wit::SpanFields::KIND,
                    wit::SpanFields::TIMES,
                    wit::SpanFields::STATUS,
                    wit::SpanFields::STATUS_MESSAGE,
                    wit::SpanFields::SIZE,
                    wit::SpanFields::EVENT_NAMES,
                ];
                let fields = all
                    .iter()
                    .zip(flags)
                    .filter(|(_, on)| *on)
                    .fold(wit::SpanFields::empty(), |acc, (flag, _)| acc | *flag);
                needs(fields, span, resource, event, link)
            })
    }

    fn test_value_strategy() -> impl Strategy<Value = TestValue> {
        prop_oneof![
            "[x-z]{0,3}".prop_map(TestValue::Str),
            any::<i64>().prop_map(TestValue::Int),
            (-1e3f64..1e3).prop_map(TestValue::Double),
            any::<bool>().prop_map(TestValue::Bool),
        ]
    }

    fn table_strategy() -> impl Strategy<Value = Table> {
        prop::sample::select(Table::ALL.to_vec())
    }

    fn edit_strategy() -> impl Strategy<Value = TestEdit> {
        let index = 0u32..12;
        prop_oneof![
            (table_strategy(), index.clone(), test_value_strategy())
                .prop_map(|(table, row, value)| TestEdit::Set(table, row, value)),
            (table_strategy(), index.clone()).prop_map(|(table, row)| TestEdit::Remove(table, row)),
            (index.clone(), "[a-e]{0,1}", test_value_strategy())
                .prop_map(|(span, key, value)| TestEdit::Add(span, key, value)),
            (index.clone(), "[a-c]{0,2}").prop_map(|(span, name)| TestEdit::SetName(span, name)),
            (index.clone(), "[a-c]{0,2}")
                .prop_map(|(span, message)| TestEdit::SetStatusMessage(span, message)),
            (index.clone(), "[a-c]{0,2}")
                .prop_map(|(event, name)| TestEdit::SetEventName(event, name)),
            index.prop_map(TestEdit::Drop),
        ]
    }

    /// Record bytes near the valid ones: ops and value kinds around their ranges,
    /// small targets, references that may or may not fit the strings.
    fn raw_record_strategy() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![3 => 1u8..=13, 1 => any::<u8>()],
            prop_oneof![3 => 0u8..=4, 1 => any::<u8>()],
            prop_oneof![3 => 0u32..8, 1 => any::<u32>()],
            (0u32..12, prop_oneof![3 => 0u32..6, 1 => any::<u32>()]),
            prop_oneof![
                2 => (0u64..12, 0u64..6).prop_map(|(offset, len)| offset | len << 32),
                1 => 0u64..3,
                1 => any::<u64>(),
            ],
        )
            .prop_map(|(op, kind, target, (key_offset, key_len), value)| {
                let mut bytes = Vec::new();
                EditRecord {
                    op,
                    kind,
                    target,
                    key: StrRef {
                        offset: key_offset,
                        len: key_len,
                    },
                    value,
                }
                .encode(&mut bytes);
                bytes
            })
    }

    /// Span attribute rows of a batch built with `all`: (span, key, rendered value).
    fn rendered_rows(columns: &Columns) -> Vec<(u32, String, String)> {
        crate::plugin::columns::tests::rows(&view(columns), Table::Span)
            .into_iter()
            .map(|(span, key, value)| (span as u32, key, value))
            .collect()
    }

    fn render_value(value: &TestValue) -> String {
        match value {
            TestValue::Str(text) => format!("str:{text}"),
            TestValue::Int(int) => format!("int:{int}"),
            TestValue::Bool(boolean) => format!("bool:{}", u8::from(*boolean)),
            TestValue::Double(double) => format!("double:{double}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any answer, valid or not, is applied whole or not at all, and never panics.
        #[test]
        fn random_edits_never_panic_and_are_atomic(
            request in request_strategy(),
            needs in needs_strategy(),
            edits in prop::collection::vec(edit_strategy(), 0..8),
        ) {
            let mut edited = request.clone();
            let mut columns = Columns::default();
            columns.build(&edited, &needs);
            prop_assert_eq!(columns.batch.len as usize, spans(&request).len());
            match apply_edits(&mut edited, &encode(&edits), &columns, &needs, &mut EditScratch::default()) {
                Ok(dropped) => prop_assert_eq!(spans(&edited).len() + dropped, spans(&request).len()),
                Err(_) => prop_assert_eq!(edited, request),
            }
        }

        /// Arbitrary record and string bytes (ragged too) never panic the decoder; a
        /// refused answer leaves the request as it was.
        #[test]
        fn arbitrary_record_bytes_never_panic(
            request in request_strategy(),
            needs in needs_strategy(),
            records in prop::collection::vec(raw_record_strategy(), 0..8),
            noise in prop::collection::vec(any::<u8>(), 0..3),
            strings in prop::collection::vec(prop_oneof![4 => 0x61u8..0x7b, 1 => any::<u8>()], 0..12),
        ) {
            let mut bytes: Vec<u8> = records.concat();
            bytes.extend(noise);
            let mut edited = request.clone();
            let mut columns = Columns::default();
            columns.build(&edited, &needs);
            let answer = wit::Edits { records: bytes, strings };
            match apply_edits(&mut edited, &answer, &columns, &needs, &mut EditScratch::default()) {
                Ok(dropped) => prop_assert_eq!(spans(&edited).len() + dropped, spans(&request).len()),
                Err(error) => {
                    prop_assert!(error.0.starts_with("edit ") || error.0.starts_with("malformed edits"), "{}", error);
                    prop_assert_eq!(edited, request);
                }
            }
        }

        /// Valid sets, removals, adds, renames and drops apply as 0.1.0 applied them:
        /// rebuilding the columns afterwards shows exactly the expected rows and names.
        #[test]
        fn valid_edits_round_trip(
            request in request_strategy(),
            row_picks in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>(), test_value_strategy()), 0..6),
            add_picks in prop::collection::vec((any::<prop::sample::Index>(), "[a-e]", test_value_strategy()), 0..3),
            name_picks in prop::collection::vec((any::<prop::sample::Index>(), "[a-c]{0,2}"), 0..3),
            drop_picks in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        ) {
            let all = needs(wit::SpanFields::NAME, Sel::All, Sel::None, Sel::None, Sel::None);
            let mut columns = Columns::default();
            columns.build(&request, &all);
            let original_rows = rendered_rows(&columns);
            let original_names = strings(&view(&columns), column::NAME);
            let span_count = original_names.len();

            let mut edits = Vec::new();
            let mut row_outcome: Vec<Option<Option<String>>> = vec![None; original_rows.len()];
            if !original_rows.is_empty() {
                for (pick, remove, value) in row_picks {
                    let row = pick.index(original_rows.len());
                    if row_outcome[row].is_some() {
                        continue;
                    }
                    if remove {
                        row_outcome[row] = Some(None);
                        edits.push(TestEdit::Remove(Table::Span, row as u32));
                    } else {
                        row_outcome[row] = Some(Some(render_value(&value)));
                        edits.push(TestEdit::Set(Table::Span, row as u32, value));
                    }
                }
            }
            let mut names = original_names.clone();
            let mut dropped = vec![false; span_count];
            // Per span, keys added in answer order (a later add of a key replaces it).
            let mut added: Vec<Vec<(String, String)>> = vec![Vec::new(); span_count];
            if span_count > 0 {
                for (pick, name) in name_picks {
                    let span = pick.index(span_count);
                    names[span] = name.clone();
                    edits.push(TestEdit::SetName(span as u32, name));
                }
                for (pick, key, value) in add_picks {
                    let span = pick.index(span_count);
                    let rendered = render_value(&value);
                    match added[span].iter_mut().find(|(known, _)| *known == key) {
                        Some(entry) => entry.1 = rendered,
                        None => added[span].push((key.clone(), rendered)),
                    }
                    edits.push(TestEdit::Add(span as u32, key, value));
                }
                for pick in drop_picks {
                    let span = pick.index(span_count);
                    dropped[span] = true;
                    edits.push(TestEdit::Drop(span as u32));
                }
            }

            let mut edited = request.clone();
            let dropped_count =
                apply_edits(&mut edited, &encode(&edits), &columns, &all, &mut EditScratch::default()).unwrap();
            prop_assert_eq!(dropped_count, dropped.iter().filter(|d| **d).count());

            // Span positions after the drops.
            let mut new_position = Vec::with_capacity(span_count);
            let mut next = 0u32;
            for is_dropped in &dropped {
                new_position.push(next);
                next += u32::from(!is_dropped);
            }
            // Rows after sets and removals; then the adds, each replacing the value of
            // the span's first row with its key or appending a row.
            let mut expected: Vec<Vec<(String, String)>> = vec![Vec::new(); span_count];
            for ((span, key, value), outcome) in original_rows.iter().zip(&row_outcome) {
                let value = match outcome {
                    Some(None) => continue,
                    Some(Some(new_value)) => new_value.clone(),
                    None => value.clone(),
                };
                expected[*span as usize].push((key.clone(), value));
            }
            for (span, adds) in added.into_iter().enumerate() {
                for (key, value) in adds {
                    match expected[span].iter_mut().find(|(known, _)| *known == key) {
                        Some(entry) => entry.1 = value,
                        None => expected[span].push((key, value)),
                    }
                }
            }
            let expected_rows: Vec<(u32, String, String)> = expected
                .into_iter()
                .enumerate()
                .filter(|(span, _)| !dropped[*span])
                .flat_map(|(span, rows)| {
                    let position = new_position[span];
                    rows.into_iter().map(move |(key, value)| (position, key, value))
                })
                .collect();
            let expected_names: Vec<String> =
                names.into_iter().zip(&dropped).filter(|(_, d)| !**d).map(|(name, _)| name).collect();

            let mut rebuilt = Columns::default();
            rebuilt.build(&edited, &all);
            prop_assert_eq!(rendered_rows(&rebuilt), expected_rows);
            prop_assert_eq!(strings(&view(&rebuilt), column::NAME), expected_names);
        }
    }

    #[test]
    fn row_values_render_as_built() {
        // `render` (used by the round trip) reads what `push_value` wrote.
        let mut columns = Columns::default();
        columns.build(
            &sample_request(),
            &needs(
                wit::SpanFields::empty(),
                Sel::All,
                Sel::None,
                Sel::None,
                Sel::None,
            ),
        );
        assert_eq!(render(&view(&columns), Table::Span, 4), "double:0.5");
    }
}
