//! A processor's edits applied to test spans, with the host's checks: the records must
//! decode (whole 24-byte records, a known op, a writable value kind, string references
//! inside the string buffer and UTF-8), every edit must address a row, span or event of
//! the batch the plugin was given and a field it declared (attribute edits, adding
//! included, need that kind of attribute selected), and no row may be both set and
//! removed. Any bad edit fails the whole answer (nothing is applied), as in the host.

use std::collections::HashSet;

use super::encode::{Encoding, encode};
use super::span::{TestSpan, TestValue};
use crate::bindings::types::{self, AttributeSelection, Needs, SpanFields};
use crate::decisions::{self, Decision};
use crate::edits::{AttributeValue, Edit, Edits};

/// The spans after `edits`, with dropped spans removed; or the first bad edit, named by
/// its position and content.
pub fn apply_edits(
    spans: &[TestSpan],
    needs: &Needs,
    edits: &Edits,
) -> Result<Vec<TestSpan>, String> {
    let edits = edits.decode()?;
    let encoding = encode(spans, needs);
    check_set_and_removed(&edits)?;
    for (position, edit) in edits.iter().enumerate() {
        check(&encoding, spans.len(), needs, edit)
            .map_err(|problem| format!("edit {position} ({}): {problem}", edit.describe()))?;
    }
    Ok(apply(&encoding, spans, &edits))
}

/// The spans a head sampler's answer keeps, as the host applies it: one verdict per
/// span, in order, 0 removes the span (a keep's policy is not recorded for head
/// decisions); an answer of another length, or with a verdict naming no policy, is
/// refused whole.
///
/// Hidden: sampler tests assert on the decisions themselves ([`SamplerHarness`]); this
/// is the SDK's model of the host's head sampling, which a gateway test checks the host
/// against.
///
/// [`SamplerHarness`]: super::SamplerHarness
#[doc(hidden)]
pub fn apply_decisions(
    spans: &[TestSpan],
    answer: &types::Decisions,
) -> Result<Vec<TestSpan>, String> {
    if answer.verdicts.len() != spans.len() {
        return Err(format!(
            "{} decisions for a batch of {} spans",
            answer.verdicts.len(),
            spans.len()
        ));
    }
    let decisions = decisions::decode(answer)?;
    Ok(spans
        .iter()
        .zip(decisions)
        .filter(|(_, decision)| *decision != Decision::Drop)
        .map(|(span, _)| span.clone())
        .collect())
}

/// Which attribute columns an edit addresses, for the set-and-removed check.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Table {
    Span,
    Resource,
    Event,
    Link,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Span => "span",
            Table::Resource => "resource",
            Table::Event => "event",
            Table::Link => "link",
        }
    }
}

/// (table, row, is_removal) of an attribute edit.
fn attribute_target(edit: &Edit) -> Option<(Table, u32, bool)> {
    match edit {
        Edit::SetSpanAttribute(row, _) => Some((Table::Span, *row, false)),
        Edit::RemoveSpanAttribute(row) => Some((Table::Span, *row, true)),
        Edit::SetResourceAttribute(row, _) => Some((Table::Resource, *row, false)),
        Edit::RemoveResourceAttribute(row) => Some((Table::Resource, *row, true)),
        Edit::SetEventAttribute(row, _) => Some((Table::Event, *row, false)),
        Edit::RemoveEventAttribute(row) => Some((Table::Event, *row, true)),
        Edit::SetLinkAttribute(row, _) => Some((Table::Link, *row, false)),
        Edit::RemoveLinkAttribute(row) => Some((Table::Link, *row, true)),
        _ => None,
    }
}

fn check_set_and_removed(edits: &[Edit]) -> Result<(), String> {
    let removed: HashSet<(Table, u32)> = edits
        .iter()
        .filter_map(attribute_target)
        .filter(|&(_, _, removal)| removal)
        .map(|(table, row, _)| (table, row))
        .collect();
    for (position, edit) in edits.iter().enumerate() {
        if let Some((table, row, false)) = attribute_target(edit)
            && removed.contains(&(table, row))
        {
            return Err(format!(
                "edit {position} ({}): {} attribute row {row} is both set and removed",
                edit.describe(),
                table.name()
            ));
        }
    }
    Ok(())
}

fn check(encoding: &Encoding, span_count: usize, needs: &Needs, edit: &Edit) -> Result<(), String> {
    let in_range = |index: u32, count: usize, what: &str| {
        if (index as usize) < count {
            Ok(())
        } else {
            Err(format!("out of range: the batch has {count} {what}"))
        }
    };
    let declared = |field: SpanFields, name: &str| {
        if needs.fields.contains(field) {
            Ok(())
        } else {
            Err(format!("field `{name}` was not declared in needs"))
        }
    };
    let selected = |selection: &AttributeSelection, noun: &str| {
        if *selection == AttributeSelection::None {
            Err(format!("no {noun} attributes were declared in needs"))
        } else {
            Ok(())
        }
    };
    match edit {
        Edit::SetSpanAttribute(row, _) | Edit::RemoveSpanAttribute(row) => {
            selected(&needs.span_attributes, "span")?;
            in_range(*row, encoding.span_rows.len(), "span attribute rows")
        }
        Edit::SetResourceAttribute(row, _) | Edit::RemoveResourceAttribute(row) => {
            selected(&needs.resource_attributes, "resource")?;
            in_range(
                *row,
                encoding.resource_rows.len(),
                "resource attribute rows",
            )
        }
        Edit::SetEventAttribute(row, _) | Edit::RemoveEventAttribute(row) => {
            selected(&needs.event_attributes, "event")?;
            in_range(*row, encoding.event_rows.len(), "event attribute rows")
        }
        Edit::SetLinkAttribute(row, _) | Edit::RemoveLinkAttribute(row) => {
            selected(&needs.link_attributes, "link")?;
            in_range(*row, encoding.link_rows.len(), "link attribute rows")
        }
        Edit::AddSpanAttribute(span, key, _) => {
            // As in the host: adding needs some span-attribute selection (a plugin that
            // adds `slow` can select just `keys(["slow"])`).
            selected(&needs.span_attributes, "span")?;
            in_range(*span, span_count, "spans")?;
            if key.is_empty() {
                return Err("empty attribute key".to_owned());
            }
            Ok(())
        }
        Edit::SetName(span, _) => {
            declared(SpanFields::NAME, "name")?;
            in_range(*span, span_count, "spans")
        }
        Edit::SetStatusMessage(span, _) => {
            declared(SpanFields::STATUS_MESSAGE, "status-message")?;
            in_range(*span, span_count, "spans")
        }
        Edit::SetEventName(event, _) => {
            declared(SpanFields::EVENT_NAMES, "event-names")?;
            in_range(*event, encoding.events.len(), "events")
        }
        Edit::DropSpan(span) => in_range(*span, span_count, "spans"),
    }
}

/// Applies checked edits: values first (addressed by the original positions), then
/// removals, then additions (so positions stay valid), then drops.
fn apply(encoding: &Encoding, spans: &[TestSpan], edits: &[Edit]) -> Vec<TestSpan> {
    let mut out = spans.to_vec();
    let mut removed_span_attributes = HashSet::new();
    let mut removed_resource_attributes = HashSet::new();
    let mut removed_event_attributes = HashSet::new();
    let mut removed_link_attributes = HashSet::new();
    let mut added = Vec::new();
    let mut dropped = HashSet::new();
    let value = |value: &AttributeValue| TestValue::from(value.clone());

    for edit in edits {
        match edit {
            Edit::SetSpanAttribute(row, new) => {
                let (span, attribute) = encoding.span_rows[*row as usize];
                out[span].attributes[attribute].1 = value(new);
            }
            Edit::RemoveSpanAttribute(row) => {
                removed_span_attributes.insert(encoding.span_rows[*row as usize]);
            }
            Edit::SetResourceAttribute(row, new) => {
                let (resource, attribute) = encoding.resource_rows[*row as usize];
                for &span in &encoding.resource_spans[resource] {
                    out[span].resource_attributes[attribute].1 = value(new);
                }
            }
            Edit::RemoveResourceAttribute(row) => {
                let (resource, attribute) = encoding.resource_rows[*row as usize];
                for &span in &encoding.resource_spans[resource] {
                    removed_resource_attributes.insert((span, attribute));
                }
            }
            Edit::SetEventAttribute(row, new) => {
                let (event, attribute) = encoding.event_rows[*row as usize];
                let (span, index) = encoding.events[event];
                out[span].events[index].attributes[attribute].1 = value(new);
            }
            Edit::RemoveEventAttribute(row) => {
                let (event, attribute) = encoding.event_rows[*row as usize];
                let (span, index) = encoding.events[event];
                removed_event_attributes.insert((span, index, attribute));
            }
            Edit::SetLinkAttribute(row, new) => {
                let (link, attribute) = encoding.link_rows[*row as usize];
                let (span, index) = encoding.links[link];
                out[span].links[index].attributes[attribute].1 = value(new);
            }
            Edit::RemoveLinkAttribute(row) => {
                let (link, attribute) = encoding.link_rows[*row as usize];
                let (span, index) = encoding.links[link];
                removed_link_attributes.insert((span, index, attribute));
            }
            Edit::AddSpanAttribute(span, key, new) => added.push((*span as usize, key, value(new))),
            Edit::SetName(span, name) => out[*span as usize].name = name.clone(),
            Edit::SetStatusMessage(span, message) => {
                out[*span as usize].status_message = message.clone()
            }
            Edit::SetEventName(event, name) => {
                let (span, index) = encoding.events[*event as usize];
                out[span].events[index].name = name.clone();
            }
            Edit::DropSpan(span) => {
                dropped.insert(*span as usize);
            }
        }
    }

    for (span_index, span) in out.iter_mut().enumerate() {
        retain_indexed(&mut span.attributes, |index| {
            !removed_span_attributes.contains(&(span_index, index))
        });
        retain_indexed(&mut span.resource_attributes, |index| {
            !removed_resource_attributes.contains(&(span_index, index))
        });
        for (event_index, event) in span.events.iter_mut().enumerate() {
            retain_indexed(&mut event.attributes, |index| {
                !removed_event_attributes.contains(&(span_index, event_index, index))
            });
        }
        for (link_index, link) in span.links.iter_mut().enumerate() {
            retain_indexed(&mut link.attributes, |index| {
                !removed_link_attributes.contains(&(span_index, link_index, index))
            });
        }
    }
    // An added key the span already has replaces its value, as in the host.
    for (span, key, new) in added {
        let attributes = &mut out[span].attributes;
        match attributes.iter_mut().find(|(existing, _)| existing == key) {
            Some(attribute) => attribute.1 = new,
            None => attributes.push((key.clone(), new)),
        }
    }
    out.into_iter()
        .enumerate()
        .filter(|(index, _)| !dropped.contains(index))
        .map(|(_, span)| span)
        .collect()
}

fn retain_indexed<T>(items: &mut Vec<T>, keep: impl Fn(usize) -> bool) {
    let mut index = 0;
    items.retain(|_| {
        let kept = keep(index);
        index += 1;
        kept
    });
}
