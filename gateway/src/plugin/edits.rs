//! Checks a plugin's answer against the batch it was given, then applies it to the
//! OTLP request: edits (processors) and per-span decisions (head samplers).
//!
//! An answer is checked whole before anything is applied: one edit addressing a row,
//! span or event that does not exist, or a field the plugin did not declare, makes
//! the whole answer invalid and the request untouched. Applying goes: sets and renames
//! in answer order, then removals (by descending index within each owner, so earlier
//! indexes stay valid), then added attributes, then dropped spans.

use std::fmt;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, Status};

use super::bindings::wit;
use super::columns::Columns;
use super::convert::{Needs, Selection};
use crate::model::ExportTraceServiceRequest;

/// Why an answer was refused (logged with the failure).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct InvalidAnswer(pub(super) String);

impl fmt::Display for InvalidAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum AttributeOwner {
    Span = 0,
    Resource = 1,
    Event = 2,
    Link = 3,
}

impl AttributeOwner {
    fn noun(self) -> &'static str {
        match self {
            AttributeOwner::Span => "span",
            AttributeOwner::Resource => "resource",
            AttributeOwner::Event => "event",
            AttributeOwner::Link => "link",
        }
    }
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
    /// (owner kind, owner index, attribute index) to remove.
    removals: Vec<(AttributeOwner, u32, u32)>,
    adds: Vec<(u32, String, wit::AttributeValue)>,
    dropped: Vec<bool>,
}

/// Applies a processor's edits; returns how many spans were dropped.
pub(super) fn apply_edits(
    request: &mut ExportTraceServiceRequest,
    edits: Vec<wit::Edit>,
    columns: &Columns,
    needs: &Needs,
    scratch: &mut EditScratch,
) -> Result<usize, InvalidAnswer> {
    if edits.is_empty() {
        return Ok(0);
    }
    check_edits(&edits, columns, needs, scratch)?;
    locate_spans(request, &mut scratch.locations);
    let span_count = scratch.locations.len();
    scratch.removals.clear();
    scratch.adds.clear();
    scratch.dropped.clear();
    scratch.dropped.resize(span_count, false);
    let mut any_dropped = false;

    for edit in edits {
        match edit {
            wit::Edit::SetSpanAttribute((row, value)) => {
                if let Some(attribute) =
                    attribute_mut(request, columns, scratch, AttributeOwner::Span, row)
                {
                    attribute.value = Some(any_value(value));
                }
            }
            wit::Edit::SetResourceAttribute((row, value)) => {
                if let Some(attribute) =
                    attribute_mut(request, columns, scratch, AttributeOwner::Resource, row)
                {
                    attribute.value = Some(any_value(value));
                }
            }
            wit::Edit::SetEventAttribute((row, value)) => {
                if let Some(attribute) =
                    attribute_mut(request, columns, scratch, AttributeOwner::Event, row)
                {
                    attribute.value = Some(any_value(value));
                }
            }
            wit::Edit::SetLinkAttribute((row, value)) => {
                if let Some(attribute) =
                    attribute_mut(request, columns, scratch, AttributeOwner::Link, row)
                {
                    attribute.value = Some(any_value(value));
                }
            }
            wit::Edit::RemoveSpanAttribute(row) => {
                queue_removal(columns, scratch, AttributeOwner::Span, row)
            }
            wit::Edit::RemoveResourceAttribute(row) => {
                queue_removal(columns, scratch, AttributeOwner::Resource, row)
            }
            wit::Edit::RemoveEventAttribute(row) => {
                queue_removal(columns, scratch, AttributeOwner::Event, row)
            }
            wit::Edit::RemoveLinkAttribute(row) => {
                queue_removal(columns, scratch, AttributeOwner::Link, row)
            }
            wit::Edit::AddSpanAttribute((span, key, value)) => {
                scratch.adds.push((span, key, value))
            }
            wit::Edit::SetName((span, name)) => {
                if let Some(span) = span_mut(request, &scratch.locations, span) {
                    span.name = name;
                }
            }
            wit::Edit::SetStatusMessage((span, message)) => {
                if let Some(span) = span_mut(request, &scratch.locations, span) {
                    span.status.get_or_insert_with(Status::default).message = message;
                }
            }
            wit::Edit::SetEventName((event, name)) => {
                let offsets = &columns.batch.event_offsets;
                if let Some((span, within)) = owner_of(offsets, event)
                    && let Some(event) = span_mut(request, &scratch.locations, span)
                        .and_then(|span| span.events.get_mut(within as usize))
                {
                    event.name = name;
                }
            }
            wit::Edit::DropSpan(span) => {
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
    for &(owner, owner_index, attribute) in &scratch.removals {
        if let Some(list) =
            attribute_list_mut(request, columns, &scratch.locations, owner, owner_index)
            && (attribute as usize) < list.len()
        {
            list.remove(attribute as usize);
        }
    }
    for (span, key, value) in scratch.adds.drain(..) {
        if let Some(span) = span_mut(request, &scratch.locations, span) {
            upsert(&mut span.attributes, key, any_value(value));
        }
    }
    if !any_dropped {
        return Ok(0);
    }
    Ok(drop_spans(request, &scratch.dropped))
}

/// Head decisions: one per span, in order; returns how many spans were dropped.
pub(super) fn apply_decisions(
    request: &mut ExportTraceServiceRequest,
    decisions: &[wit::Decision],
    span_count: usize,
    scratch: &mut EditScratch,
) -> Result<usize, InvalidAnswer> {
    if decisions.len() != span_count {
        return Err(InvalidAnswer(format!(
            "{} decisions for a batch of {span_count} spans",
            decisions.len()
        )));
    }
    scratch.dropped.clear();
    scratch.dropped.extend(
        decisions
            .iter()
            .map(|decision| matches!(decision, wit::Decision::Drop)),
    );
    if !scratch.dropped.contains(&true) {
        return Ok(0);
    }
    Ok(drop_spans(request, &scratch.dropped))
}

/// Removes the spans flagged in `dropped` (request order), then scope spans and
/// resource spans left empty.
pub(super) fn drop_spans(request: &mut ExportTraceServiceRequest, dropped: &[bool]) -> usize {
    let mut index = 0;
    let mut removed = 0;
    for resource_spans in &mut request.resource_spans {
        for scope_spans in &mut resource_spans.scope_spans {
            scope_spans.spans.retain(|_| {
                let drop = dropped.get(index).copied().unwrap_or(false);
                index += 1;
                removed += usize::from(drop);
                !drop
            });
        }
        resource_spans
            .scope_spans
            .retain(|scope_spans| !scope_spans.spans.is_empty());
    }
    request
        .resource_spans
        .retain(|resource_spans| !resource_spans.scope_spans.is_empty());
    removed
}

fn any_value(value: wit::AttributeValue) -> AnyValue {
    AnyValue {
        value: Some(match value {
            wit::AttributeValue::Str(text) => any_value::Value::StringValue(text),
            wit::AttributeValue::Int(int) => any_value::Value::IntValue(int),
            wit::AttributeValue::Double(double) => any_value::Value::DoubleValue(double),
            wit::AttributeValue::Boolean(boolean) => any_value::Value::BoolValue(boolean),
        }),
    }
}

/// OTLP attribute keys are unique per owner: adding a key the span has replaces it.
fn upsert(attributes: &mut Vec<KeyValue>, key: String, value: AnyValue) {
    match attributes.iter_mut().find(|attribute| attribute.key == key) {
        Some(attribute) => attribute.value = Some(value),
        None => attributes.push(KeyValue {
            key,
            value: Some(value),
            ..KeyValue::default()
        }),
    }
}

fn check_edits(
    edits: &[wit::Edit],
    columns: &Columns,
    needs: &Needs,
    scratch: &mut EditScratch,
) -> Result<(), InvalidAnswer> {
    let batch = &columns.batch;
    for (owner, states) in [
        (AttributeOwner::Span, columns.span_attribute_rows.len()),
        (
            AttributeOwner::Resource,
            columns.resource_attribute_rows.len(),
        ),
        (AttributeOwner::Event, columns.event_attribute_rows.len()),
        (AttributeOwner::Link, columns.link_attribute_rows.len()),
    ] {
        let row_states = &mut scratch.row_states[owner as usize];
        row_states.clear();
        row_states.resize(states, RowState::Untouched);
    }
    let span_count = batch.len;
    let event_count = batch.event_offsets.last().copied().unwrap_or(0);
    let check_span = |what: &str, span: u32| {
        if span < span_count {
            Ok(())
        } else {
            Err(InvalidAnswer(format!(
                "{what} addresses span {span}, but the batch has {span_count} spans"
            )))
        }
    };
    let check_field = |what: &str, field: wit::SpanFields, name: &str| {
        if needs.has(field) {
            Ok(())
        } else {
            Err(InvalidAnswer(format!(
                "{what} edits the {name} field, which the plugin did not declare in its needs"
            )))
        }
    };
    for edit in edits {
        match edit {
            wit::Edit::SetSpanAttribute((row, _)) => set_row(
                columns,
                needs,
                scratch,
                AttributeOwner::Span,
                *row,
                RowState::Set,
            )?,
            wit::Edit::SetResourceAttribute((row, _)) => set_row(
                columns,
                needs,
                scratch,
                AttributeOwner::Resource,
                *row,
                RowState::Set,
            )?,
            wit::Edit::SetEventAttribute((row, _)) => set_row(
                columns,
                needs,
                scratch,
                AttributeOwner::Event,
                *row,
                RowState::Set,
            )?,
            wit::Edit::SetLinkAttribute((row, _)) => set_row(
                columns,
                needs,
                scratch,
                AttributeOwner::Link,
                *row,
                RowState::Set,
            )?,
            wit::Edit::RemoveSpanAttribute(row) => set_row(
                columns,
                needs,
                scratch,
                AttributeOwner::Span,
                *row,
                RowState::Removed,
            )?,
            wit::Edit::RemoveResourceAttribute(row) => set_row(
                columns,
                needs,
                scratch,
                AttributeOwner::Resource,
                *row,
                RowState::Removed,
            )?,
            wit::Edit::RemoveEventAttribute(row) => set_row(
                columns,
                needs,
                scratch,
                AttributeOwner::Event,
                *row,
                RowState::Removed,
            )?,
            wit::Edit::RemoveLinkAttribute(row) => set_row(
                columns,
                needs,
                scratch,
                AttributeOwner::Link,
                *row,
                RowState::Removed,
            )?,
            wit::Edit::AddSpanAttribute((span, key, _)) => {
                if needs.span_attributes.is_none() {
                    return Err(InvalidAnswer(
                        "add-span-attribute, but the plugin declared no span attributes in its needs".to_owned(),
                    ));
                }
                if key.is_empty() {
                    return Err(InvalidAnswer(
                        "add-span-attribute with an empty key".to_owned(),
                    ));
                }
                check_span("add-span-attribute", *span)?;
            }
            wit::Edit::SetName((span, _)) => {
                check_field("set-name", wit::SpanFields::NAME, "name")?;
                check_span("set-name", *span)?;
            }
            wit::Edit::SetStatusMessage((span, _)) => {
                check_field(
                    "set-status-message",
                    wit::SpanFields::STATUS_MESSAGE,
                    "status-message",
                )?;
                check_span("set-status-message", *span)?;
            }
            wit::Edit::SetEventName((event, _)) => {
                check_field(
                    "set-event-name",
                    wit::SpanFields::EVENT_NAMES,
                    "event-names",
                )?;
                if *event >= event_count {
                    return Err(InvalidAnswer(format!(
                        "set-event-name addresses event {event}, but the batch has {event_count} events"
                    )));
                }
            }
            wit::Edit::DropSpan(span) => check_span("drop-span", *span)?,
        }
    }
    Ok(())
}

fn selection(needs: &Needs, owner: AttributeOwner) -> &Selection {
    match owner {
        AttributeOwner::Span => &needs.span_attributes,
        AttributeOwner::Resource => &needs.resource_attributes,
        AttributeOwner::Event => &needs.event_attributes,
        AttributeOwner::Link => &needs.link_attributes,
    }
}

fn rows_of(columns: &Columns, owner: AttributeOwner) -> (&[u32], &[u32]) {
    let batch = &columns.batch;
    match owner {
        AttributeOwner::Span => (
            &columns.span_attribute_rows,
            &batch.span_attributes.owner_offsets,
        ),
        AttributeOwner::Resource => (
            &columns.resource_attribute_rows,
            &batch.resource_attributes.owner_offsets,
        ),
        AttributeOwner::Event => (
            &columns.event_attribute_rows,
            &batch.event_attributes.owner_offsets,
        ),
        AttributeOwner::Link => (
            &columns.link_attribute_rows,
            &batch.link_attributes.owner_offsets,
        ),
    }
}

/// Marks `row` as set or removed, refusing undeclared kinds, unknown rows and a row
/// both set and removed.
fn set_row(
    columns: &Columns,
    needs: &Needs,
    scratch: &mut EditScratch,
    owner: AttributeOwner,
    row: u32,
    state: RowState,
) -> Result<(), InvalidAnswer> {
    let verb = if state == RowState::Set {
        "set"
    } else {
        "remove"
    };
    let noun = owner.noun();
    if selection(needs, owner).is_none() {
        return Err(InvalidAnswer(format!(
            "{verb}-{noun}-attribute, but the plugin declared no {noun} attributes in its needs"
        )));
    }
    let states = &mut scratch.row_states[owner as usize];
    let Some(current) = states.get_mut(row as usize) else {
        return Err(InvalidAnswer(format!(
            "{verb}-{noun}-attribute addresses row {row}, but the batch has {} {noun} attribute rows",
            rows_of(columns, owner).0.len()
        )));
    };
    match (*current, state) {
        (RowState::Set, RowState::Removed) | (RowState::Removed, RowState::Set) => {
            Err(InvalidAnswer(format!(
                "{noun} attribute row {row} is both set and removed"
            )))
        }
        (RowState::Removed, RowState::Removed) => Ok(()),
        _ => {
            *current = state;
            Ok(())
        }
    }
}

/// (owner, position within the owner) of global index `index` given owner offsets.
fn owner_of(offsets: &[u32], index: u32) -> Option<(u32, u32)> {
    let owner = offsets
        .partition_point(|&start| start <= index)
        .checked_sub(1)?;
    if owner + 1 >= offsets.len() || index >= offsets[owner + 1] {
        return None;
    }
    Some((owner as u32, index - offsets[owner]))
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

/// The attribute list of one owner (span, resource, event or link, by global index).
fn attribute_list_mut<'a>(
    request: &'a mut ExportTraceServiceRequest,
    columns: &Columns,
    locations: &[(u32, u32, u32)],
    owner: AttributeOwner,
    owner_index: u32,
) -> Option<&'a mut Vec<KeyValue>> {
    match owner {
        AttributeOwner::Span => Some(&mut span_mut(request, locations, owner_index)?.attributes),
        AttributeOwner::Resource => Some(
            &mut request
                .resource_spans
                .get_mut(owner_index as usize)?
                .resource
                .as_mut()?
                .attributes,
        ),
        AttributeOwner::Event => {
            let (span, within) = owner_of(&columns.batch.event_offsets, owner_index)?;
            Some(
                &mut span_mut(request, locations, span)?
                    .events
                    .get_mut(within as usize)?
                    .attributes,
            )
        }
        AttributeOwner::Link => {
            let (span, within) = owner_of(&columns.batch.link_offsets, owner_index)?;
            Some(
                &mut span_mut(request, locations, span)?
                    .links
                    .get_mut(within as usize)?
                    .attributes,
            )
        }
    }
}

/// The OTLP attribute behind attribute row `row` (checked to exist before).
fn attribute_mut<'a>(
    request: &'a mut ExportTraceServiceRequest,
    columns: &Columns,
    scratch: &EditScratch,
    owner: AttributeOwner,
    row: u32,
) -> Option<&'a mut KeyValue> {
    let (rows, owner_offsets) = rows_of(columns, owner);
    let attribute = *rows.get(row as usize)?;
    let (owner_index, _) = owner_of(owner_offsets, row)?;
    attribute_list_mut(request, columns, &scratch.locations, owner, owner_index)?
        .get_mut(attribute as usize)
}

fn queue_removal(columns: &Columns, scratch: &mut EditScratch, owner: AttributeOwner, row: u32) {
    let (rows, owner_offsets) = rows_of(columns, owner);
    if let (Some(&attribute), Some((owner_index, _))) =
        (rows.get(row as usize), owner_of(owner_offsets, row))
    {
        scratch.removals.push((owner, owner_index, attribute));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::columns::tests::{kv, needs, sample_request, string, strings};
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use proptest::prelude::*;
    use wit::AttributeSelection as Sel;

    fn everything() -> Needs {
        needs(
            wit::SpanFields::all(),
            Sel::All,
            Sel::All,
            Sel::All,
            Sel::All,
        )
    }

    fn apply(
        request: &mut ExportTraceServiceRequest,
        needs: &Needs,
        edits: Vec<wit::Edit>,
    ) -> Result<usize, InvalidAnswer> {
        let mut columns = Columns::default();
        columns.build(request, needs);
        apply_edits(request, edits, &columns, needs, &mut EditScratch::default())
    }

    fn spans(request: &ExportTraceServiceRequest) -> Vec<&Span> {
        request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .collect()
    }

    fn value_of<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
        attributes
            .iter()
            .find(|a| a.key == key)?
            .value
            .as_ref()?
            .value
            .as_ref()
    }

    #[test]
    fn every_edit_kind_applies() {
        let mut request = sample_request();
        // Rows with `all` everywhere: span rows 0..3 span 0 (http.method, http.status_code,
        // secret), 3..6 span 1 (db.ok, ratio, list), 6..8 span 2 (secret, map); resource
        // rows 0..2 resource 0, 2 resource 1; event row 0 (exception.message); link row 0.
        let edits = vec![
            wit::Edit::SetSpanAttribute((2, wit::AttributeValue::Str("REDACTED".to_owned()))),
            wit::Edit::RemoveSpanAttribute(0),
            wit::Edit::RemoveSpanAttribute(1),
            wit::Edit::AddSpanAttribute((0, "added".to_owned(), wit::AttributeValue::Int(7))),
            wit::Edit::AddSpanAttribute((1, "ratio".to_owned(), wit::AttributeValue::Double(0.25))),
            wit::Edit::SetResourceAttribute((1, wit::AttributeValue::Boolean(true))),
            wit::Edit::RemoveResourceAttribute(2),
            wit::Edit::RemoveEventAttribute(0),
            wit::Edit::SetLinkAttribute((0, wit::AttributeValue::Str("child".to_owned()))),
            wit::Edit::SetName((1, "SELECT ?".to_owned())),
            wit::Edit::SetStatusMessage((1, "slow".to_owned())),
            wit::Edit::SetEventName((1, "retried".to_owned())),
            wit::Edit::DropSpan(2),
        ];
        let dropped = apply(&mut request, &everything(), edits).unwrap();
        assert_eq!(dropped, 1);
        // Span 2 was the only span of resource 1: the resource is gone with it.
        assert_eq!(request.resource_spans.len(), 1);
        let resource = request.resource_spans[0].resource.as_ref().unwrap();
        assert_eq!(
            value_of(&resource.attributes, "host"),
            Some(&Value::BoolValue(true))
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
            Some(&Value::IntValue(7))
        );
        assert!(spans[0].events[0].attributes.is_empty());
        assert_eq!(spans[0].events[1].name, "retried");
        // Adding a key the span has replaces its value (keys stay unique).
        assert_eq!(spans[1].attributes.len(), 3);
        assert_eq!(
            value_of(&spans[1].attributes, "ratio"),
            Some(&Value::DoubleValue(0.25))
        );
        assert_eq!(spans[1].name, "SELECT ?");
        assert_eq!(spans[1].status.as_ref().unwrap().message, "slow");
        assert_eq!(
            value_of(&spans[1].links[0].attributes, "link.kind"),
            Some(&string("child"))
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
            vec![wit::Edit::SetSpanAttribute((
                1,
                wit::AttributeValue::Str("x".to_owned()),
            ))],
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
    fn invalid_answers_change_nothing() {
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
        let cases: Vec<(&Needs, Vec<wit::Edit>, &str)> = vec![
            (
                &only_names,
                vec![wit::Edit::SetStatusMessage((0, "x".to_owned()))],
                "did not declare",
            ),
            (
                &only_names,
                vec![wit::Edit::SetName((3, "x".to_owned()))],
                "span 3",
            ),
            (
                &only_names,
                vec![wit::Edit::SetEventName((0, "x".to_owned()))],
                "did not declare",
            ),
            (
                &only_names,
                vec![wit::Edit::RemoveSpanAttribute(0)],
                "no span attributes",
            ),
            (
                &only_names,
                vec![wit::Edit::AddSpanAttribute((
                    0,
                    "k".to_owned(),
                    wit::AttributeValue::Int(1),
                ))],
                "no span attributes",
            ),
            (
                &keys,
                vec![wit::Edit::AddSpanAttribute((
                    0,
                    String::new(),
                    wit::AttributeValue::Int(1),
                ))],
                "empty key",
            ),
            (&keys, vec![wit::Edit::RemoveSpanAttribute(2)], "row 2"),
            (
                &keys,
                vec![wit::Edit::RemoveResourceAttribute(0)],
                "no resource attributes",
            ),
            (
                &keys,
                vec![
                    wit::Edit::SetSpanAttribute((0, wit::AttributeValue::Int(1))),
                    wit::Edit::RemoveSpanAttribute(0),
                ],
                "both set and removed",
            ),
            (
                &keys,
                vec![
                    wit::Edit::SetName((0, "renamed".to_owned())),
                    wit::Edit::DropSpan(9),
                ],
                "span 9",
            ),
        ];
        for (needs, edits, expected) in cases {
            let mut request = sample_request();
            let error = apply(&mut request, needs, edits.clone()).unwrap_err();
            assert!(error.0.contains(expected), "{edits:?}: {error}");
            assert_eq!(request, sample_request(), "{edits:?} changed the request");
        }
        let mut request = sample_request();
        let mut everything_events = everything();
        everything_events.fields = wit::SpanFields::EVENT_NAMES;
        let error = apply(
            &mut request,
            &everything_events,
            vec![wit::Edit::SetEventName((2, "x".to_owned()))],
        )
        .unwrap_err();
        assert!(error.0.contains("event 2"), "{error}");
    }

    #[test]
    fn a_row_removed_twice_is_removed_once() {
        let mut request = sample_request();
        apply(
            &mut request,
            &everything(),
            vec![
                wit::Edit::RemoveSpanAttribute(0),
                wit::Edit::RemoveSpanAttribute(0),
            ],
        )
        .unwrap();
        assert_eq!(spans(&request)[0].attributes.len(), 2);
    }

    #[test]
    fn decisions_drop_spans_and_empty_containers() {
        let mut request = sample_request();
        let mut scratch = EditScratch::default();
        let keep = wit::Decision::Keep("p".to_owned());
        let error = apply_decisions(&mut request, std::slice::from_ref(&keep), 3, &mut scratch)
            .unwrap_err();
        assert!(
            error.0.contains("1 decisions for a batch of 3 spans"),
            "{error}"
        );
        assert_eq!(request, sample_request());
        let dropped = apply_decisions(
            &mut request,
            &[wit::Decision::Drop, keep.clone(), wit::Decision::Drop],
            3,
            &mut scratch,
        )
        .unwrap();
        assert_eq!(dropped, 2);
        assert_eq!(request.resource_spans.len(), 1);
        assert_eq!(spans(&request)[0].name, "SELECT");
        assert_eq!(
            apply_decisions(&mut request, &[keep], 1, &mut scratch).unwrap(),
            0
        );
    }

    // ---- property tests -------------------------------------------------------------

    fn value_strategy() -> impl Strategy<Value = Value> {
        prop_oneof![
            "[a-z]{0,3}".prop_map(Value::StringValue),
            any::<i64>().prop_map(Value::IntValue),
            (-1e6f64..1e6).prop_map(Value::DoubleValue),
            any::<bool>().prop_map(Value::BoolValue),
            prop::collection::vec(any::<u8>(), 0..3).prop_map(Value::BytesValue),
            prop::collection::vec("[a-z]{0,2}", 0..3).prop_map(|items| Value::ArrayValue(
                opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: items
                        .into_iter()
                        .map(|s| AnyValue {
                            value: Some(Value::StringValue(s))
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

    fn attribute_value_strategy() -> impl Strategy<Value = wit::AttributeValue> {
        prop_oneof![
            "[x-z]{0,3}".prop_map(wit::AttributeValue::Str),
            any::<i64>().prop_map(wit::AttributeValue::Int),
            (-1e3f64..1e3).prop_map(wit::AttributeValue::Double),
            any::<bool>().prop_map(wit::AttributeValue::Boolean),
        ]
    }

    fn edit_strategy() -> impl Strategy<Value = wit::Edit> {
        let index = 0u32..12;
        prop_oneof![
            (index.clone(), attribute_value_strategy()).prop_map(wit::Edit::SetSpanAttribute),
            index.clone().prop_map(wit::Edit::RemoveSpanAttribute),
            (index.clone(), "[a-e]{0,1}", attribute_value_strategy())
                .prop_map(wit::Edit::AddSpanAttribute),
            (index.clone(), attribute_value_strategy()).prop_map(wit::Edit::SetResourceAttribute),
            index.clone().prop_map(wit::Edit::RemoveResourceAttribute),
            (index.clone(), attribute_value_strategy()).prop_map(wit::Edit::SetEventAttribute),
            index.clone().prop_map(wit::Edit::RemoveEventAttribute),
            (index.clone(), attribute_value_strategy()).prop_map(wit::Edit::SetLinkAttribute),
            index.clone().prop_map(wit::Edit::RemoveLinkAttribute),
            (index.clone(), "[a-c]{0,2}").prop_map(wit::Edit::SetName),
            (index.clone(), "[a-c]{0,2}").prop_map(wit::Edit::SetStatusMessage),
            (index.clone(), "[a-c]{0,2}").prop_map(wit::Edit::SetEventName),
            index.prop_map(wit::Edit::DropSpan),
        ]
    }

    /// Span attribute rows of a batch built with `all`: (span, key, rendered value).
    fn rendered_rows(columns: &Columns) -> Vec<(u32, String, String)> {
        let attributes = &columns.batch.span_attributes;
        let keys = strings(&attributes.keys);
        let values = strings(&attributes.strings);
        let mut rows = Vec::new();
        for span in 0..attributes.owner_offsets.len().saturating_sub(1) {
            for row in
                attributes.owner_offsets[span] as usize..attributes.owner_offsets[span + 1] as usize
            {
                rows.push((
                    span as u32,
                    keys[attributes.key[row] as usize].clone(),
                    render(attributes, &values, row),
                ));
            }
        }
        rows
    }

    fn render(attributes: &wit::AttributeColumns, values: &[String], row: usize) -> String {
        match attributes.kind[row] {
            wit::ValueKind::Str => format!("s:{}", values[row]),
            wit::ValueKind::Json => format!("j:{}", values[row]),
            wit::ValueKind::Int => format!("i:{}", attributes.ints[row]),
            wit::ValueKind::Boolean => format!("b:{}", attributes.ints[row]),
            wit::ValueKind::Double => format!("d:{}", attributes.doubles[row]),
        }
    }

    fn render_value(value: &wit::AttributeValue) -> String {
        match value {
            wit::AttributeValue::Str(text) => format!("s:{text}"),
            wit::AttributeValue::Int(int) => format!("i:{int}"),
            wit::AttributeValue::Boolean(boolean) => format!("b:{}", i64::from(*boolean)),
            wit::AttributeValue::Double(double) => format!("d:{double}"),
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
            match apply_edits(&mut edited, edits, &columns, &needs, &mut EditScratch::default()) {
                Ok(dropped) => prop_assert_eq!(spans(&edited).len() + dropped, spans(&request).len()),
                Err(_) => prop_assert_eq!(edited, request),
            }
        }

        /// Valid sets, removals, renames and drops round-trip: rebuilding the columns
        /// after applying them shows exactly the expected rows and names.
        #[test]
        fn valid_edits_round_trip(
            request in request_strategy(),
            row_picks in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>(), attribute_value_strategy()), 0..6),
            name_picks in prop::collection::vec((any::<prop::sample::Index>(), "[a-c]{0,2}"), 0..3),
            drop_picks in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        ) {
            let all = needs(wit::SpanFields::NAME, Sel::All, Sel::None, Sel::None, Sel::None);
            let mut columns = Columns::default();
            columns.build(&request, &all);
            let original_rows = rendered_rows(&columns);
            let original_names = strings(&columns.batch.names);
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
                        edits.push(wit::Edit::RemoveSpanAttribute(row as u32));
                    } else {
                        row_outcome[row] = Some(Some(render_value(&value)));
                        edits.push(wit::Edit::SetSpanAttribute((row as u32, value)));
                    }
                }
            }
            let mut names = original_names.clone();
            let mut dropped = vec![false; span_count];
            if span_count > 0 {
                for (pick, name) in name_picks {
                    let span = pick.index(span_count);
                    names[span] = name.clone();
                    edits.push(wit::Edit::SetName((span as u32, name)));
                }
                for pick in drop_picks {
                    let span = pick.index(span_count);
                    dropped[span] = true;
                    edits.push(wit::Edit::DropSpan(span as u32));
                }
            }

            let mut edited = request.clone();
            let dropped_count = apply_edits(&mut edited, edits, &columns, &all, &mut EditScratch::default()).unwrap();
            prop_assert_eq!(dropped_count, dropped.iter().filter(|d| **d).count());

            // Span positions after the drops.
            let mut new_position = Vec::with_capacity(span_count);
            let mut next = 0u32;
            for is_dropped in &dropped {
                new_position.push(next);
                next += u32::from(!is_dropped);
            }
            let expected_rows: Vec<(u32, String, String)> = original_rows
                .iter()
                .zip(&row_outcome)
                .filter(|((span, _, _), outcome)| !dropped[*span as usize] && !matches!(outcome, Some(None)))
                .map(|((span, key, value), outcome)| {
                    let value = match outcome {
                        Some(Some(new_value)) => new_value.clone(),
                        _ => value.clone(),
                    };
                    (new_position[*span as usize], key.clone(), value)
                })
                .collect();
            let expected_names: Vec<String> =
                names.into_iter().zip(&dropped).filter(|(_, d)| !**d).map(|(name, _)| name).collect();

            let mut rebuilt = Columns::default();
            rebuilt.build(&edited, &all);
            prop_assert_eq!(rendered_rows(&rebuilt), expected_rows);
            prop_assert_eq!(strings(&rebuilt.batch.names), expected_names);
        }
    }
}
