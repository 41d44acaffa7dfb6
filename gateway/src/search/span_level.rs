//! TraceQL metrics over block columns, for queries whose filter and metric read only
//! span-level fields (`{ span-level conditions } | fn(...) by (span-level fields)`):
//! each span counts on its own, so the blocks' rows are fed to the evaluator straight
//! from their columns and no trace is materialized. Counting functions without
//! exemplars and with `by` fields that have small codes (names, resources, statuses,
//! kinds) are counted per code and interval and handed over as totals.

use std::collections::HashMap;

use spangate_blocks::ReadAt;
use spangate_traceql::ast::Field;
use spangate_traceql::{FieldValue, MetricsEvaluator, SpanObservation, SpanPredicate};

use super::SearchError;
use super::columnar::{ChunkFields, supported};
use super::metrics::MetricsResult;
use crate::store::blocks::BlockList;
use crate::store::{TenantId, TimeWindow};

/// Feeds every block row of `tenant` that matches `predicate` and starts in the window
/// to `evaluator`. `false` (nothing fed) when a field is not readable from columns: the
/// caller then evaluates traces.
pub(super) fn observe_blocks(
    blocks: &BlockList,
    tenant: TenantId,
    predicate: &SpanPredicate,
    evaluator: &mut MetricsEvaluator,
    window: TimeWindow,
    result: &mut MetricsResult,
) -> Result<bool, SearchError> {
    let Some(inputs) = evaluator.span_inputs() else {
        return Ok(false);
    };
    let by: Vec<Field> = inputs.by.to_vec();
    let value_field = inputs.value.cloned();
    let mut fields: Vec<&Field> = by.iter().collect();
    fields.extend(value_field.as_ref());
    predicate.for_each_field(&mut |f| fields.push(f));
    if !fields.iter().all(|f| supported(f)) {
        return Ok(false);
    }
    let counting = value_field.is_none() && !evaluator.wants_exemplars() && by.len() <= 2;
    for listed in blocks.overlapping(tenant, window) {
        let block = &listed.open.block;
        for index in 0..block.chunks().len() {
            let meta = &block.chunks()[index];
            // Spans count by their start, in (start, end].
            if meta.min_start > window.end_unix_nano || meta.max_start <= window.start_unix_nano {
                continue;
            }
            let mut chunk = ChunkFields::load(block, index, &fields, !counting)?;
            result.inspected_spans += chunk.rows as u64;
            result.inspected_traces += u64::from(meta.trace_count);
            result.inspected_bytes +=
                listed.open.meta.bytes * chunk.rows as u64 / block.span_count().max(1);
            let rows = chunk.matching_rows(predicate);
            let coded = counting
                && (0..chunk.rows)
                    .all(|row| !rows[row] || by.iter().all(|f| chunk.code(f, row).is_some()));
            if coded {
                count_by_code(&chunk, &rows, &by, evaluator)?;
            } else {
                if counting {
                    // Observations carry ids and durations, which counting did not load.
                    chunk = ChunkFields::load(block, index, &fields, true)?;
                }
                observe_rows(&chunk, &rows, &by, value_field.as_ref(), evaluator)?;
            }
        }
    }
    Ok(true)
}

fn observe_rows<R: ReadAt>(
    chunk: &ChunkFields<'_, R>,
    rows: &[bool],
    by: &[Field],
    value_field: Option<&Field>,
    evaluator: &mut MetricsEvaluator,
) -> Result<(), SearchError> {
    for trace in 0..chunk.trace_ids.len() {
        let (first, last) = (
            chunk.offsets[trace] as usize,
            chunk.offsets[trace + 1] as usize,
        );
        for (row, _) in rows
            .iter()
            .enumerate()
            .take(last)
            .skip(first)
            .filter(|(_, wanted)| **wanted)
        {
            let by_values: Vec<FieldValue<'_>> = by.iter().map(|f| chunk.value(f, row)).collect();
            let observation = SpanObservation {
                trace_id: &chunk.trace_ids[trace],
                span_id: &chunk.span_ids[row],
                start_time_unix_nano: chunk.starts[row],
                duration_nanos: chunk.durations[row],
                by_values: &by_values,
                value: value_field.map_or(FieldValue::Nil, |f| chunk.value(f, row)),
            };
            evaluator
                .observe_span(&observation)
                .map_err(|error| SearchError::Invalid(error.to_string()))?;
        }
    }
    Ok(())
}

/// Counts matching rows per (by-field codes, interval), then hands each series its
/// totals.
fn count_by_code<R: ReadAt>(
    chunk: &ChunkFields<'_, R>,
    rows: &[bool],
    by: &[Field],
    evaluator: &mut MetricsEvaluator,
) -> Result<(), SearchError> {
    let intervals = evaluator.interval_count();
    // Per code tuple: a representative row (for its values) and counts per interval.
    let mut series: HashMap<(u64, u64), (usize, Vec<u64>)> = HashMap::new();
    for (row, _) in rows.iter().enumerate().filter(|(_, wanted)| **wanted) {
        let Some(interval) = evaluator.interval_index(chunk.starts[row]) else {
            continue;
        };
        let code = |i: usize| by.get(i).and_then(|f| chunk.code(f, row)).unwrap_or(0);
        let entry = series
            .entry((code(0), code(1)))
            .or_insert_with(|| (row, vec![0; intervals]));
        entry.1[interval] += 1;
    }
    for (row, counts) in series.into_values() {
        let by_values: Vec<FieldValue<'_>> = by.iter().map(|f| chunk.value(f, row)).collect();
        let totals: Vec<(usize, u64)> = counts
            .into_iter()
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .collect();
        evaluator
            .add_counts(&by_values, &totals)
            .map_err(|error| SearchError::Invalid(error.to_string()))?;
    }
    Ok(())
}
