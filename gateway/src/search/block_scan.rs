//! Candidate traces from the blocks of a query's list: the traces whose part in a
//! chunk overlaps the window and, when the query has conditions that must hold on one
//! span, whose part has a span that may satisfy one such group.
//!
//! Conditions are decided on the columns a chunk holds — once per distinct string for
//! names and string attributes, once per resource for resource attributes — with the
//! TraceQL engine's own comparison (`Condition::matches_value`). A condition on a field
//! no column answers (trace-level intrinsics, events, links, ...) narrows nothing.
//! Narrowing is sound with split traces: the part holding the span that satisfies a
//! group is a candidate, and reading a candidate reads every part of its trace.

use spangate_blocks::{AttrCell, Block, ChunkReader, ReadAt, Strings};
use spangate_traceql::ast::{AttributeScope, Field, Intrinsic};
use spangate_traceql::{Condition, FieldValue, IndexHints, Kind, Status};

use super::SearchError;
use super::plan::{self, Candidates};
use crate::model::{AnyValue, KeyValue, TraceId};
use crate::store::blocks::BlockList;
use crate::store::{StoreError, TenantId, TimeWindow, TraceStore};

/// The candidates of the hot rows (from the indexes) and of the blocks, merged newest
/// first. `blocks` must be the list the query took before this call, so that the hot
/// cursors opened here see every row a block of a later list replaced.
pub(super) fn candidates<'s>(
    store: &'s TraceStore,
    blocks: &BlockList,
    tenant: TenantId,
    hints: &IndexHints,
    window: TimeWindow,
) -> Result<MergedCandidates<'s>, StoreError> {
    let from_blocks = block_candidates(blocks, tenant, hints, window)?;
    Ok(MergedCandidates {
        hot: plan::candidates(store, tenant, hints, window)?,
        hot_head: None,
        hot_done: false,
        from_blocks,
        next_block: 0,
    })
}

/// Hot and block candidates, newest first (a trace may come more than once).
pub(super) struct MergedCandidates<'s> {
    hot: Candidates<'s>,
    hot_head: Option<(u64, TraceId)>,
    hot_done: bool,
    from_blocks: Vec<(u64, TraceId)>,
    next_block: usize,
}

impl MergedCandidates<'_> {
    /// The next candidate, newest first; fails once the query's time budget is spent.
    pub(super) fn next_entry(&mut self) -> Result<Option<(u64, TraceId)>, SearchError> {
        super::budget::check()?;
        if self.hot_head.is_none() && !self.hot_done {
            self.hot_head = self.hot.next_entry()?;
            self.hot_done = self.hot_head.is_none();
        }
        let block_head = self.from_blocks.get(self.next_block).copied();
        match (self.hot_head, block_head) {
            (Some(hot), Some(block)) if block.0 > hot.0 => {
                self.next_block += 1;
                Ok(Some(block))
            }
            (Some(hot), _) => {
                self.hot_head = None;
                Ok(Some(hot))
            }
            (None, Some(block)) => {
                self.next_block += 1;
                Ok(Some(block))
            }
            (None, None) => Ok(None),
        }
    }

    /// For logs: how many posting lists narrow the hot part of the search.
    pub(super) fn posting_lists(&self) -> usize {
        self.hot.posting_lists()
    }
}

/// `(latest span start of the trace's part in the chunk, trace id)`, newest first.
fn block_candidates(
    blocks: &BlockList,
    tenant: TenantId,
    hints: &IndexHints,
    window: TimeWindow,
) -> Result<Vec<(u64, TraceId)>, StoreError> {
    let mut out = Vec::new();
    for listed in blocks.overlapping(tenant, window) {
        let block = &listed.open.block;
        for index in 0..block.chunks().len() {
            let chunk = block.chunk(index)?;
            let meta = chunk.meta();
            if meta.min_start > window.end_unix_nano || meta.max_end < window.start_unix_nano {
                continue;
            }
            let rows = narrow(block, &chunk, hints)?;
            if rows.as_ref().is_some_and(|r| !r.iter().any(|x| *x)) {
                continue;
            }
            let offsets = chunk.trace_offsets()?;
            let starts = chunk.starts(&offsets)?;
            let durations = chunk.durations()?;
            let ids = chunk.trace_ids()?;
            for (t, id) in ids.iter().enumerate() {
                let (first, last) = (offsets[t] as usize, offsets[t + 1] as usize);
                let mut overlaps = false;
                let mut wanted = rows.is_none();
                let mut latest = 0;
                for row in first..last {
                    let start = starts[row];
                    let end = start.wrapping_add(durations[row]);
                    overlaps |= start <= window.end_unix_nano && end >= window.start_unix_nano;
                    wanted |= rows.as_ref().is_some_and(|r| r[row]);
                    latest = latest.max(start);
                }
                if overlaps && wanted {
                    out.push((latest, TraceId(*id)));
                }
            }
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.0.cmp(&b.1.0)));
    Ok(out)
}

/// Rows that may satisfy some same-span group (a union over groups: a part may hold
/// the span of any group); `None` when nothing narrows.
fn narrow<R: ReadAt>(
    block: &Block<R>,
    chunk: &ChunkReader<'_, R>,
    hints: &IndexHints,
) -> Result<Option<Vec<bool>>, StoreError> {
    let rows = chunk.meta().span_count as usize;
    let mut union: Option<Vec<bool>> = None;
    for group in &hints.same_span_groups {
        let mut group_rows: Option<Vec<bool>> = None;
        for condition in group.iter().filter_map(|&i| hints.conditions.get(i)) {
            if let Some(matching) = condition_rows(block, chunk, condition)? {
                group_rows = Some(match group_rows {
                    None => matching,
                    Some(mut so_far) => {
                        so_far.iter_mut().zip(&matching).for_each(|(a, b)| *a &= *b);
                        so_far
                    }
                });
            }
        }
        // A group nothing narrows admits every row, and so does the union.
        let Some(group_rows) = group_rows else {
            return Ok(None);
        };
        union = Some(match union {
            None => group_rows,
            Some(mut so_far) => {
                so_far
                    .iter_mut()
                    .zip(&group_rows)
                    .for_each(|(a, b)| *a |= *b);
                so_far
            }
        });
    }
    Ok(union.filter(|u| u.len() == rows))
}

/// Rows whose span satisfies `condition`; `None` when no column answers it.
fn condition_rows<R: ReadAt>(
    block: &Block<R>,
    chunk: &ChunkReader<'_, R>,
    condition: &Condition,
) -> Result<Option<Vec<bool>>, StoreError> {
    let strings = block.strings();
    Ok(Some(match &condition.field {
        Field::Intrinsic(Intrinsic::Name) => {
            let mut memo = StringMemo::default();
            let names = chunk.names()?;
            names
                .iter()
                .map(|&id| memo.matches(condition, strings, id))
                .collect::<Result<_, _>>()?
        }
        Field::Intrinsic(Intrinsic::Status) => chunk
            .statuses()?
            .iter()
            .map(|s| {
                condition.matches_value(FieldValue::Status(Status::from_otlp(
                    s.map_or(0, |s| s.code),
                )))
            })
            .collect(),
        Field::Intrinsic(Intrinsic::StatusMessage) => {
            let mut memo = StringMemo::default();
            let empty = condition.matches_value(FieldValue::Str(""));
            chunk
                .statuses()?
                .iter()
                .map(|s| match s {
                    None => Ok(empty),
                    Some(s) => memo.matches(condition, strings, s.message),
                })
                .collect::<Result<_, _>>()?
        }
        Field::Intrinsic(Intrinsic::Kind) => chunk
            .kinds()?
            .iter()
            .map(|&k| condition.matches_value(FieldValue::Kind(Kind::from_otlp(k))))
            .collect(),
        Field::Intrinsic(Intrinsic::Duration) => {
            let offsets = chunk.trace_offsets()?;
            let starts = chunk.starts(&offsets)?;
            let durations = chunk.durations()?;
            starts
                .iter()
                .zip(&durations)
                .map(|(&start, &stored)| {
                    let nanos = start.wrapping_add(stored).saturating_sub(start);
                    condition.matches_value(FieldValue::Duration(
                        i64::try_from(nanos).unwrap_or(i64::MAX),
                    ))
                })
                .collect()
        }
        Field::Attribute(attribute) => match attribute.scope {
            AttributeScope::Span => span_attribute_rows(block, chunk, &attribute.name, condition)?,
            AttributeScope::Resource => resource_rows(block, chunk, &attribute.name, condition)?,
            // The span attribute, else the resource one: either may satisfy it.
            AttributeScope::Unscoped => {
                let mut rows = span_attribute_rows(block, chunk, &attribute.name, condition)?;
                let resource = resource_rows(block, chunk, &attribute.name, condition)?;
                rows.iter_mut().zip(&resource).for_each(|(a, b)| *a |= *b);
                rows
            }
            _ => return Ok(None),
        },
        _ => return Ok(None),
    }))
}

/// A condition decided once per string id.
#[derive(Default)]
struct StringMemo {
    decided: std::collections::HashMap<u32, bool>,
}

impl StringMemo {
    fn matches(
        &mut self,
        condition: &Condition,
        strings: &Strings,
        id: u32,
    ) -> Result<bool, StoreError> {
        if let Some(&known) = self.decided.get(&id) {
            return Ok(known);
        }
        let text = strings.get(id)?;
        let verdict = condition.matches_value(FieldValue::Str(text));
        self.decided.insert(id, verdict);
        Ok(verdict)
    }
}

/// Rows whose first `key` span attribute satisfies the condition.
fn span_attribute_rows<R: ReadAt>(
    block: &Block<R>,
    chunk: &ChunkReader<'_, R>,
    key: &str,
    condition: &Condition,
) -> Result<Vec<bool>, StoreError> {
    let strings = block.strings();
    let mut rows = vec![false; chunk.meta().span_count as usize];
    let Some(key_id) = strings.find(key) else {
        return Ok(rows);
    };
    let Some(column) = chunk.attribute(key_id)? else {
        return Ok(rows);
    };
    let mut memo = StringMemo::default();
    let mut previous = None;
    for (&row, cell) in column.rows.iter().zip(&column.values) {
        // The engine reads a key's first occurrence on a span.
        if previous == Some(row) {
            continue;
        }
        previous = Some(row);
        rows[row as usize] = match cell {
            AttrCell::Absent | AttrCell::Empty => false,
            AttrCell::Str(id) => memo.matches(condition, strings, *id)?,
            AttrCell::Bool(flag) => condition.matches_value(FieldValue::Bool(*flag)),
            AttrCell::Int(number) => condition.matches_value(FieldValue::Int(*number)),
            AttrCell::Double(number) => condition.matches_value(FieldValue::Float(*number)),
            AttrCell::Other(value) => condition.matches_value(FieldValue::from_any(Some(value))),
        };
    }
    Ok(rows)
}

/// Rows whose resource's `key` attribute satisfies the condition.
fn resource_rows<R: ReadAt>(
    block: &Block<R>,
    chunk: &ChunkReader<'_, R>,
    key: &str,
    condition: &Condition,
) -> Result<Vec<bool>, StoreError> {
    let per_resource: Vec<bool> = block
        .resources()
        .iter()
        .map(|resource_spans| {
            let attributes: &[KeyValue] = resource_spans
                .resource
                .as_ref()
                .map_or(&[], |r| r.attributes.as_slice());
            let value: Option<&AnyValue> = attributes
                .iter()
                .find(|kv| kv.key == key)
                .and_then(|kv| kv.value.as_ref());
            condition.matches_value(FieldValue::from_any(value))
        })
        .collect();
    Ok(chunk
        .resources()?
        .iter()
        .map(|&r| per_resource.get(r as usize).copied().unwrap_or(false))
        .collect())
}
