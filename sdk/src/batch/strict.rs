//! The native harness's check that a plugin reads only what it declared.
//!
//! In the gateway an undeclared column arrives empty and reads as its default (`""`, 0,
//! no attributes), which hides a forgotten `Needs` entry until production. Batches built
//! by [`testing::to_batch`](crate::testing::to_batch) carry the plugin's needs, and
//! reading anything else panics with the flag or selection to add.

use super::attributes::AttributeKind;
use crate::bindings::types::{AttributeSelection, Needs, SpanFields};

/// Span fields with their WIT and Rust flag names.
const FIELD_NAMES: [(SpanFields, &str, &str); 11] = [
    (SpanFields::TRACE_ID, "trace-id", "TRACE_ID"),
    (SpanFields::SPAN_ID, "span-id", "SPAN_ID"),
    (
        SpanFields::PARENT_SPAN_ID,
        "parent-span-id",
        "PARENT_SPAN_ID",
    ),
    (SpanFields::SERVICE_NAME, "service-name", "SERVICE_NAME"),
    (SpanFields::NAME, "name", "NAME"),
    (SpanFields::KIND, "kind", "KIND"),
    (SpanFields::TIMES, "times", "TIMES"),
    (SpanFields::STATUS, "status", "STATUS"),
    (
        SpanFields::STATUS_MESSAGE,
        "status-message",
        "STATUS_MESSAGE",
    ),
    (SpanFields::SIZE, "size", "SIZE"),
    (SpanFields::EVENT_NAMES, "event-names", "EVENT_NAMES"),
];

/// `accessor` read `field`: panics in a strict batch that did not declare it.
#[inline]
#[track_caller]
pub(crate) fn require_field(declared: Option<&Needs>, field: SpanFields, accessor: &str) {
    if let Some(needs) = declared
        && !needs.fields.contains(field)
    {
        undeclared_field(field, accessor);
    }
}

#[cold]
#[track_caller]
fn undeclared_field(field: SpanFields, accessor: &str) -> ! {
    let (wit, flag) = FIELD_NAMES
        .iter()
        .find(|(candidate, _, _)| *candidate == field)
        .map_or(("?", "?"), |(_, wit, flag)| (*wit, *flag));
    panic!(
        "{accessor} reads the span field `{wit}`, which the plugin did not declare: add \
         SpanFields::{flag} to its needs (Needs::fields)"
    );
}

/// `accessor` read attributes of `kind`: panics in a strict batch whose needs select none.
#[inline]
#[track_caller]
pub(crate) fn require_attributes(declared: Option<&Needs>, kind: AttributeKind, accessor: &str) {
    if let Some(needs) = declared
        && *selection(needs, kind) == AttributeSelection::None
    {
        panic!(
            "{accessor} reads {noun} attributes, which the plugin did not declare: set \
             Needs::{noun}_attributes (e.g. AttributeSelection::keys([\"...\"]))",
            noun = kind.noun()
        );
    }
}

/// `accessor` looked up `key` among attributes of `kind`: panics in a strict batch whose
/// needs name other keys only.
#[inline]
#[track_caller]
pub(crate) fn require_key(
    declared: Option<&Needs>,
    kind: AttributeKind,
    key: &str,
    accessor: &str,
) {
    let Some(needs) = declared else {
        return;
    };
    let noun = kind.noun();
    match selection(needs, kind) {
        AttributeSelection::None => panic!(
            "{accessor} looks up the {noun} attribute `{key}`, but the plugin declared no \
             {noun} attributes: set Needs::{noun}_attributes (e.g. \
             AttributeSelection::keys([\"{key}\"]))"
        ),
        AttributeSelection::Keys(keys) if !keys.iter().any(|declared| declared == key) => {
            panic!(
                "{accessor} looks up the {noun} attribute `{key}`, which the plugin did not \
                 declare: add it to Needs::{noun}_attributes (declared keys: {keys:?})"
            )
        }
        _ => {}
    }
}

/// At least one of `fields` or attributes of `kind` declared, for `events()` / `links()`,
/// which exist when either is.
#[inline]
#[track_caller]
pub(crate) fn require_field_or_attributes(
    declared: Option<&Needs>,
    field: Option<SpanFields>,
    kind: AttributeKind,
    accessor: &str,
) {
    if let Some(needs) = declared
        && !field.is_some_and(|field| needs.fields.contains(field))
        && *selection(needs, kind) == AttributeSelection::None
    {
        let fields = match field {
            Some(field) => {
                let flag = FIELD_NAMES
                    .iter()
                    .find(|(candidate, _, _)| *candidate == field)
                    .map_or("?", |(_, _, flag)| *flag);
                format!("add SpanFields::{flag} or set ")
            }
            None => String::from("set "),
        };
        panic!(
            "{accessor} reads {noun}s, which the plugin did not declare: {fields}\
             Needs::{noun}_attributes",
            noun = kind.noun()
        );
    }
}

fn selection(needs: &Needs, kind: AttributeKind) -> &AttributeSelection {
    match kind {
        AttributeKind::Span => &needs.span_attributes,
        AttributeKind::Resource => &needs.resource_attributes,
        AttributeKind::Event => &needs.event_attributes,
        AttributeKind::Link => &needs.link_attributes,
    }
}
