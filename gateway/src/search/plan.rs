//! From a query's required conditions to candidate traces, newest first.
//!
//! Conditions that must hold on one span (one `{ }` filter's `&&` chain) are answered
//! together: each becomes a set of posting ids (any of which satisfies it), the writes
//! holding one of each set are found by intersecting posting lists, and each such
//! write's record names the traces whose spans in that write hold them all. A span
//! lives in one write, so nothing that matches is missed. Conditions the indexes cannot
//! answer (durations, unindexed span attributes, negations, ...) are left to the
//! evaluator; with none usable, every trace in the window is a candidate (the bounded
//! scan).

use std::collections::VecDeque;

use spangate_traceql::ast::{AttributeScope, CompareOp, Field as QueryField, Intrinsic};
use spangate_traceql::{Condition, ConditionOp, IndexHints, Literal, Pattern, Status};

use crate::model::TraceId;
use crate::store::index::{
    Cursor, Field, IndexValue, Intersection, MAX_INDEXED_STRING, PostingCursor, Union, posting_id,
    resource_posting, truncated,
};
use crate::store::{StoreError, TenantId, TimeWindow, TraceStore};

/// Indexed values (or resources) a condition may expand to before it is left to the scan.
const MAX_EXPANSION: usize = 4096;

/// What a condition compares an indexed field with.
enum Wanted {
    Equal(IndexValue),
    Matching(Pattern),
}

/// Where an indexed field's values live.
enum Place {
    /// Posting lists of (field, key, value).
    Direct(Field, String),
    /// A resource attribute: values map to resources, postings are per resource.
    Resource(String),
}

fn places(store: &TraceStore, field: &QueryField) -> Option<Vec<Place>> {
    match field {
        QueryField::Intrinsic(Intrinsic::Name) => {
            Some(vec![Place::Direct(Field::Name, String::new())])
        }
        QueryField::Intrinsic(Intrinsic::Status) => {
            Some(vec![Place::Direct(Field::Status, String::new())])
        }
        QueryField::Intrinsic(_) => None,
        QueryField::Attribute(attribute) => {
            let name = attribute.name.clone();
            let span_indexed = store.is_indexed_span_attribute(&name);
            match attribute.scope {
                AttributeScope::Resource => Some(vec![Place::Resource(name)]),
                AttributeScope::Span if span_indexed => {
                    Some(vec![Place::Direct(Field::SpanAttribute, name)])
                }
                // `.x` reads the span attribute, else the resource one: either qualifies.
                AttributeScope::Unscoped if span_indexed => Some(vec![
                    Place::Direct(Field::SpanAttribute, name.clone()),
                    Place::Resource(name),
                ]),
                _ => None,
            }
        }
    }
}

fn wanted(condition: &Condition) -> Option<Wanted> {
    Some(match (&condition.op, &condition.value) {
        (ConditionOp::Compare(CompareOp::Eq), Literal::Str(text)) => {
            Wanted::Equal(IndexValue::Str(truncated(text).to_owned()))
        }
        (ConditionOp::Compare(CompareOp::Eq), Literal::Bool(boolean)) => {
            Wanted::Equal(IndexValue::Bool(*boolean))
        }
        (ConditionOp::Compare(CompareOp::Eq), Literal::Status(Status::Error)) => {
            Wanted::Equal(IndexValue::Str("error".to_owned()))
        }
        (ConditionOp::Compare(CompareOp::Eq), Literal::Status(Status::Ok)) => {
            Wanted::Equal(IndexValue::Str("ok".to_owned()))
        }
        (ConditionOp::Regex(pattern), _) => Wanted::Matching(pattern.clone()),
        // Unset statuses are not indexed; numbers compare across int, float and
        // duration, and ranges are not indexed.
        _ => return None,
    })
}

/// Whether an indexed value may be one the pattern matches (a cut string may match
/// only in full: keep it, the evaluator decides).
fn may_match(pattern: &Pattern, value: &IndexValue) -> bool {
    match value {
        IndexValue::Str(text) => pattern.is_match(text) || text.len() >= MAX_INDEXED_STRING,
        _ => false,
    }
}

/// The posting ids any of which satisfies `condition`; `None` when the indexes cannot
/// answer it (then it narrows nothing). An empty set: nothing can satisfy it.
fn posting_set(
    store: &TraceStore,
    tenant: TenantId,
    condition: &Condition,
) -> Result<Option<Vec<u64>>, StoreError> {
    let (Some(places), Some(wanted)) = (places(store, &condition.field), wanted(condition)) else {
        return Ok(None);
    };
    let mut ids = Vec::new();
    for place in places {
        match place {
            Place::Direct(field, key) => match &wanted {
                Wanted::Equal(value) => ids.push(posting_id(field, &key, value.as_ref())),
                Wanted::Matching(pattern) => {
                    let values = store.indexed_values(tenant, field, &key, MAX_EXPANSION + 1)?;
                    if values.len() > MAX_EXPANSION {
                        return Ok(None);
                    }
                    ids.extend(
                        values
                            .iter()
                            .filter(|value| may_match(pattern, value))
                            .map(|value| posting_id(field, &key, value.as_ref())),
                    );
                }
            },
            Place::Resource(key) => {
                let values: Vec<IndexValue> = match &wanted {
                    Wanted::Equal(value) => vec![value.clone()],
                    Wanted::Matching(pattern) => {
                        let all = store.indexed_values(
                            tenant,
                            Field::ResourceAttribute,
                            &key,
                            MAX_EXPANSION + 1,
                        )?;
                        if all.len() > MAX_EXPANSION {
                            return Ok(None);
                        }
                        all.into_iter().filter(|v| may_match(pattern, v)).collect()
                    }
                };
                for value in values {
                    let resources =
                        store.resources_with(tenant, &key, value.as_ref(), MAX_EXPANSION + 1)?;
                    if resources.len() > MAX_EXPANSION {
                        return Ok(None);
                    }
                    ids.extend(resources.into_iter().map(resource_posting));
                }
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(Some(ids))
}

enum Source<'s> {
    /// Writes holding a posting of every indexed condition.
    Postings(Intersection<'s>),
    /// Every write in the window.
    AllWrites(PostingCursor<'s>),
    /// An indexed condition no stored value satisfies.
    Nothing,
}

/// The candidate traces of a query, newest first: `(newest span start of the write
/// that holds the match, trace id)`; a trace may come more than once.
pub(super) struct Candidates<'s> {
    store: &'s TraceStore,
    tenant: TenantId,
    source: Source<'s>,
    /// Per indexed condition, its posting ids (a trace in a write must hold one of each).
    conditions: Vec<Vec<u64>>,
    queued: VecDeque<(u64, TraceId)>,
}

impl Candidates<'_> {
    pub(super) fn next_entry(&mut self) -> Result<Option<(u64, TraceId)>, StoreError> {
        loop {
            if let Some(entry) = self.queued.pop_front() {
                return Ok(Some(entry));
            }
            let write = match &mut self.source {
                Source::Postings(intersection) => intersection.next(),
                Source::AllWrites(cursor) => {
                    let write = cursor.current();
                    cursor.advance();
                    write
                }
                Source::Nothing => None,
            };
            let Some(write) = write else {
                self.status()?;
                return Ok(None);
            };
            // A record written with its postings is always there; a missing or
            // unreadable one only costs its candidates.
            if let Some(record) = self.store.write_record(self.tenant, write)? {
                self.queued.extend(
                    record
                        .traces_matching(&self.conditions)
                        .into_iter()
                        .map(|trace| (write.0, trace)),
                );
            }
        }
    }

    fn status(&self) -> Result<(), StoreError> {
        match &self.source {
            Source::Postings(intersection) => intersection.status(),
            Source::AllWrites(cursor) => cursor.status(),
            Source::Nothing => Ok(()),
        }
    }

    /// For logs: how many posting lists narrow the search (0: none, a full scan).
    pub(super) fn posting_lists(&self) -> usize {
        self.conditions.len()
    }
}

/// Plans the candidates of a query with `hints` in `window`.
pub(super) fn candidates<'s>(
    store: &'s TraceStore,
    tenant: TenantId,
    hints: &IndexHints,
    window: TimeWindow,
) -> Result<Candidates<'s>, StoreError> {
    // The filter with the most indexed conditions narrows the most.
    let mut best: Vec<Vec<u64>> = Vec::new();
    for group in &hints.same_span_groups {
        let mut sets = Vec::new();
        for condition in group
            .iter()
            .filter_map(|&index| hints.conditions.get(index))
        {
            if let Some(set) = posting_set(store, tenant, condition)? {
                sets.push(set);
            }
        }
        if sets.len() > best.len() {
            best = sets;
        }
    }
    let source = if best.is_empty() {
        Source::AllWrites(store.write_cursor(tenant, window))
    } else if best.iter().any(Vec::is_empty) {
        Source::Nothing
    } else {
        let cursors: Vec<Box<dyn Cursor + 's>> = best
            .iter()
            .map(|ids| -> Box<dyn Cursor + 's> {
                let mut lists: Vec<Box<dyn Cursor + 's>> = ids
                    .iter()
                    .map(|id| -> Box<dyn Cursor + 's> {
                        Box::new(store.posting_cursor(tenant, *id, window))
                    })
                    .collect();
                match lists.len() {
                    1 => lists.pop().expect("one list"),
                    _ => Box::new(Union::new(lists)),
                }
            })
            .collect();
        Source::Postings(Intersection::new(cursors))
    };
    Ok(Candidates {
        store,
        tenant,
        source,
        conditions: best,
        queued: VecDeque::new(),
    })
}
