//! TraceQL metrics (`rate()`, `count_over_time()`, ... `by(...)`) over the store: the
//! candidate traces of the query's filter in the range, each read once and fed to the
//! TraceQL metrics evaluator.

use std::collections::HashSet;

use spangate_traceql::{MetricsEvaluator, Query, Series};

use super::{SearchEngine, SearchError};
use super::{block_scan, plan, span_level};
use crate::model::count_spans;
use crate::store::blocks::BlockList;
use crate::store::{TenantId, TimeWindow};

pub(crate) struct MetricsRequest<'q> {
    pub query: &'q Query,
    /// Unix nanoseconds; spans starting in `(start, end]` count.
    pub start: u64,
    pub end: u64,
    /// Range queries: the step; `None` for an instant query (one sample).
    pub step: Option<u64>,
    /// Exemplars requested (0: none unless the query's `with(exemplars=...)` asks).
    pub exemplars: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsResult {
    pub series: Vec<Series>,
    pub inspected_traces: u64,
    pub inspected_bytes: u64,
    pub inspected_spans: u64,
    /// Units of work run for the request, as in [`super::SearchOutcome::jobs`].
    pub jobs: u32,
    /// False when `max_traces_inspected` stopped the evaluation early.
    pub complete: bool,
}

impl SearchEngine {
    /// Evaluates the query over the spans of every tenant of `tenants` together, as if
    /// they were one tenant's (series of the same labels combine, as Tempo's
    /// multi-tenant queries do). `max_traces_inspected` bounds the whole request.
    pub(crate) fn metrics(
        &self,
        tenants: &[String],
        request: &MetricsRequest<'_>,
    ) -> Result<MetricsResult, SearchError> {
        let evaluator = match request.step {
            Some(step) => MetricsEvaluator::new(request.query, request.start, request.end, step),
            None => MetricsEvaluator::instant(request.query, request.start, request.end),
        };
        let mut evaluator = evaluator
            .map_err(|error| SearchError::Invalid(error.to_string()))?
            .with_exemplars(request.exemplars);
        let mut result = MetricsResult {
            series: Vec::new(),
            inspected_traces: 0,
            inspected_bytes: 0,
            inspected_spans: 0,
            jobs: 1,
            complete: true,
        };
        let blocks = self.store.block_list();
        for name in tenants {
            let Some(tenant) = self.store.tenant(name) else {
                continue;
            };
            self.observe_tenant(tenant, &blocks, request, &mut evaluator, &mut result)?;
            if !result.complete {
                break;
            }
        }
        result.series = evaluator.finish();
        Ok(result)
    }

    /// Feeds one tenant's spans in the range to `evaluator`.
    fn observe_tenant(
        &self,
        tenant: TenantId,
        blocks: &BlockList,
        request: &MetricsRequest<'_>,
        evaluator: &mut MetricsEvaluator,
        result: &mut MetricsResult,
    ) -> Result<(), SearchError> {
        let hints = request.query.required_conditions();
        let window = TimeWindow {
            start_unix_nano: request.start,
            end_unix_nano: request.end,
        };
        if let Some(predicate) = request.query.span_predicate()
            && span_level::observe_blocks(blocks, tenant, &predicate, evaluator, window, result)?
        {
            // The blocks were read from their columns; the hot rows span by span.
            let mut candidates = plan::candidates(&self.store, tenant, &hints, window)?;
            let mut seen = HashSet::new();
            while let Some((_, trace_id)) = candidates.next_entry()? {
                if !seen.insert(trace_id) {
                    continue;
                }
                result.inspected_traces += 1;
                let Some(stored) = self.store.hot_trace(blocks, tenant, &trace_id)? else {
                    continue;
                };
                result.inspected_bytes += stored.inspected_bytes;
                result.inspected_spans += count_spans(&stored.data.resource_spans) as u64;
                evaluator.observe_trace(&stored.data.resource_spans);
            }
            return Ok(());
        }
        let mut candidates = block_scan::candidates(&self.store, blocks, tenant, &hints, window)?;
        let mut seen = HashSet::new();
        while let Some((_, trace_id)) = candidates.next_entry()? {
            if !seen.insert(trace_id) {
                continue;
            }
            if result.inspected_traces >= self.settings.max_traces_inspected as u64 {
                result.complete = false;
                break;
            }
            result.inspected_traces += 1;
            let Some(stored) =
                self.store
                    .trace_with_blocks(blocks, tenant, &trace_id, Some(window))?
            else {
                continue;
            };
            result.inspected_bytes += stored.inspected_bytes;
            result.inspected_spans += count_spans(&stored.data.resource_spans) as u64;
            evaluator.observe_trace(&stored.data.resource_spans);
        }
        Ok(())
    }
}
