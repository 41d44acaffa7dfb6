//! From a query's required conditions to a cursor over candidate traces.
//!
//! Conditions that must hold on one span (one `{ }` filter's `&&` chain) are answered
//! by intersecting their posting lists: a span lives in one write, and every entry a
//! write adds for a trace carries the same `(start, trace id)`, so the intersection is
//! exact. Conditions the indexes cannot answer (durations, unindexed span attributes,
//! negations, ...) are left to the evaluator; with none usable, every trace in the
//! window is a candidate (the bounded scan).

use spangate_traceql::ast::{AttributeScope, CompareOp, Field as QueryField, Intrinsic};
use spangate_traceql::{Condition, ConditionOp, IndexHints, Literal, Status};

use crate::store::index::{
    Cursor, Entry, Field, IndexValue, Intersection, MAX_INDEXED_STRING, PostingCursor, Union,
    ValueRef, truncated,
};
use crate::store::{StoreError, TenantId, TimeWindow, TraceStore};

/// Indexed values a regex condition may expand to before it is left to the scan.
const MAX_REGEX_VALUES: usize = 256;

/// Which posting lists answer a condition: any of these (field, key) pairs holding the
/// value(s).
struct IndexLookup {
    places: Vec<(Field, String)>,
    values: LookupValues,
}

enum LookupValues {
    Equal(IndexValue),
    Matching(spangate_traceql::Pattern),
}

/// The posting places of a field, if it is indexed.
fn places(store: &TraceStore, field: &QueryField) -> Option<Vec<(Field, String)>> {
    match field {
        QueryField::Intrinsic(Intrinsic::Name) => Some(vec![(Field::Name, String::new())]),
        QueryField::Intrinsic(Intrinsic::Status) => Some(vec![(Field::Status, String::new())]),
        QueryField::Intrinsic(_) => None,
        QueryField::Attribute(attribute) => {
            let name = attribute.name.clone();
            let span_indexed = store.is_indexed_span_attribute(&name);
            match attribute.scope {
                AttributeScope::Resource => Some(vec![(Field::ResourceAttribute, name)]),
                AttributeScope::Span if span_indexed => Some(vec![(Field::SpanAttribute, name)]),
                // `.x` reads the span attribute, else the resource one: both lists.
                AttributeScope::Unscoped if span_indexed => Some(vec![
                    (Field::SpanAttribute, name.clone()),
                    (Field::ResourceAttribute, name),
                ]),
                _ => None,
            }
        }
    }
}

fn lookup(store: &TraceStore, condition: &Condition) -> Option<IndexLookup> {
    let places = places(store, &condition.field)?;
    let values = match (&condition.op, &condition.value) {
        (ConditionOp::Compare(CompareOp::Eq), Literal::Str(text)) => {
            LookupValues::Equal(IndexValue::Str(truncated(text).to_owned()))
        }
        (ConditionOp::Compare(CompareOp::Eq), Literal::Bool(boolean)) => {
            LookupValues::Equal(IndexValue::Bool(*boolean))
        }
        (ConditionOp::Compare(CompareOp::Eq), Literal::Status(status)) => match status {
            Status::Error => LookupValues::Equal(IndexValue::Str("error".to_owned())),
            Status::Ok => LookupValues::Equal(IndexValue::Str("ok".to_owned())),
            // Unset statuses are not indexed (most spans have one).
            Status::Unset => return None,
        },
        (ConditionOp::Regex(pattern), _) => LookupValues::Matching(pattern.clone()),
        // Numbers compare across int, float and duration; ranges are not indexed.
        _ => return None,
    };
    Some(IndexLookup { places, values })
}

/// A cursor over the traces holding `lookup`'s value(s); `None` when the lookup cannot
/// be answered from the indexes after all (a regex over too many values).
fn cursor_for<'s>(
    store: &'s TraceStore,
    tenant: TenantId,
    lookup: &IndexLookup,
    window: TimeWindow,
) -> Result<Option<Box<dyn Cursor + 's>>, StoreError> {
    let mut cursors: Vec<Box<dyn Cursor + 's>> = Vec::new();
    for (field, key) in &lookup.places {
        match &lookup.values {
            LookupValues::Equal(value) => {
                if let Some(cursor) =
                    store.posting_cursor(tenant, *field, key, value.as_ref(), window)
                {
                    cursors.push(Box::new(cursor));
                }
            }
            LookupValues::Matching(pattern) => {
                let values = store.indexed_values(tenant, *field, key, MAX_REGEX_VALUES + 1)?;
                if values.len() > MAX_REGEX_VALUES {
                    return Ok(None);
                }
                for value in values {
                    // Truncated strings may match where the full value does not: a
                    // superset, narrowed by the evaluator.
                    let IndexValue::Str(text) = &value else {
                        continue;
                    };
                    if !pattern.is_match(text) && text.len() < MAX_INDEXED_STRING {
                        continue;
                    }
                    if let Some(cursor) =
                        store.posting_cursor(tenant, *field, key, ValueRef::Str(text), window)
                    {
                        cursors.push(Box::new(cursor));
                    }
                }
            }
        }
    }
    Ok(Some(match cursors.len() {
        1 => cursors.pop().expect("one cursor"),
        _ => Box::new(Union::new(cursors)),
    }))
}

/// The candidate traces of a query, newest first (entries may repeat a trace).
pub enum Candidates<'s> {
    /// The intersection of the posting lists of one filter's indexed conditions.
    Postings {
        lists: usize,
        intersection: Intersection<'s>,
    },
    /// Every trace in the window (nothing indexed to narrow by): the bounded scan.
    AllTraces(PostingCursor<'s>),
}

impl Candidates<'_> {
    pub fn next_entry(&mut self) -> Option<Entry> {
        match self {
            Candidates::Postings { intersection, .. } => intersection.next(),
            Candidates::AllTraces(cursor) => {
                let entry = cursor.current()?;
                cursor.advance();
                Some(entry)
            }
        }
    }

    pub fn status(&self) -> Result<(), StoreError> {
        match self {
            Candidates::Postings { intersection, .. } => intersection.status(),
            Candidates::AllTraces(cursor) => cursor.status(),
        }
    }

    /// For logs: how many posting lists narrow the search (0: none, a full scan).
    pub fn posting_lists(&self) -> usize {
        match self {
            Candidates::Postings { lists, .. } => *lists,
            Candidates::AllTraces(_) => 0,
        }
    }
}

/// Plans the candidates of a query with `hints` in `window`.
pub fn candidates<'s>(
    store: &'s TraceStore,
    tenant: TenantId,
    hints: &IndexHints,
    window: TimeWindow,
) -> Result<Candidates<'s>, StoreError> {
    // The filter with the most indexed conditions narrows the most.
    let best = hints
        .same_span_groups
        .iter()
        .map(|group| {
            group
                .iter()
                .filter_map(|&index| hints.conditions.get(index))
                .filter_map(|condition| lookup(store, condition))
                .collect::<Vec<_>>()
        })
        .max_by_key(Vec::len)
        .unwrap_or_default();
    let mut cursors = Vec::new();
    for lookup in &best {
        if let Some(cursor) = cursor_for(store, tenant, lookup, window)? {
            cursors.push(cursor);
        }
    }
    if cursors.is_empty() {
        return Ok(Candidates::AllTraces(
            store.trace_time_cursor(tenant, window),
        ));
    }
    Ok(Candidates::Postings {
        lists: cursors.len(),
        intersection: Intersection::new(cursors),
    })
}
