//! Search over the store: TraceQL queries, tag names and values, TraceQL metrics.
//!
//! A query is planned into candidate traces from the indexes (`plan.rs`), newest
//! first; each candidate's summary is checked against the query's trace-level bounds
//! and span-duration floors (`span_floors.rs`), then the trace is read and evaluated
//! by the TraceQL engine (`spangate-traceql`).
//! Results are exact: the indexes only narrow, the evaluator decides. What is bounded
//! is the work: at most `max_traces_inspected` traces are read per request, and a
//! response that hit the bound says so (`complete: false`).

mod api;
mod block_scan;
pub(crate) mod budget;
mod columnar;
mod metrics;
mod plan;
mod settings;
mod span_floors;
mod span_level;
mod tags;
mod tenants;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashSet};
use std::sync::Arc;

use spangate_traceql::{Query, SearchOptions, SpansetResult, TraceResult};

pub(crate) use api::{
    MetricsQuery, SearchApi, SearchQuery, TagName, TagNames, TagNamesQuery, TagScope, TagValueKind,
    TagValuesQuery, TypedTagValue,
};
pub(crate) use metrics::MetricsResult;
pub(crate) use settings::SearchSettings;

use crate::model::{AnyValue, KeyValue};
use crate::store::{StoreError, TimeWindow, TraceStore};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The request cannot be answered as asked (a TraceQL parse error, a metrics query
    /// the evaluator refuses): the message is for the client.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The query ran out of its time budget (`query.query_timeout`).
    #[error(
        "query exceeded its time budget of {0:?} (query.query_timeout); narrow the time range \
         or make the query more selective"
    )]
    Timeout(std::time::Duration),
}

/// One search request, already parsed.
pub(crate) struct SearchRequest<'q> {
    pub query: &'q Query,
    /// Traces returned at most (newest first).
    pub limit: usize,
    /// Spans per spanset (`spss`; 0: Tempo's default of 3).
    pub spans_per_spanset: u32,
    pub window: TimeWindow,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchOutcome {
    /// Newest first.
    pub traces: Vec<TraceMatch>,
    pub inspected_traces: u64,
    pub inspected_bytes: u64,
    /// Units of work run for the request (one scan of the store today; 0 when nothing
    /// was run); reported as Tempo's completed and total jobs.
    pub jobs: u32,
    /// False when `max_traces_inspected` stopped the search before the candidates ran
    /// out: older matches may exist.
    pub complete: bool,
}

/// One matching trace: its summary and the spansets that matched.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceMatch {
    /// Hex, leading zeros stripped: see `spangate_traceql::trace_id_hex`.
    pub trace_id: String,
    /// `<root span not yet received>` when the root span is missing.
    pub root_service_name: String,
    pub root_trace_name: String,
    pub start_time_unix_nano: u64,
    pub duration_ms: u32,
    pub span_sets: Vec<SpanSetMatch>,
    /// Spans and errors per service name, sorted by name.
    pub service_stats: BTreeMap<String, ServiceCounts>,
}

/// A spanset of a matching trace: up to `spans_per_spanset` of its spans, how many
/// matched in all, and the attributes a pipeline (`select`, `by`, aggregates) adds.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanSetMatch {
    pub spans: Vec<SpanMatch>,
    pub matched: u32,
    pub attributes: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpanMatch {
    /// Hex.
    pub span_id: String,
    pub name: String,
    pub start_time_unix_nano: u64,
    pub duration_nanos: u64,
    /// The attributes the query selected or filtered on.
    pub attributes: Vec<KeyValue>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceCounts {
    pub span_count: u32,
    pub error_count: u32,
}

pub(crate) struct SearchEngine {
    store: Arc<TraceStore>,
    settings: SearchSettings,
}

fn key_value(key: String, value: AnyValue) -> KeyValue {
    KeyValue {
        key,
        value: Some(value),
        ..Default::default()
    }
}

fn span_set(spanset: SpansetResult<'_>) -> SpanSetMatch {
    SpanSetMatch {
        spans: spanset
            .spans
            .iter()
            .map(|span| SpanMatch {
                span_id: span.span_id_hex(),
                name: span.name.map(str::to_owned).unwrap_or_default(),
                start_time_unix_nano: span.start_time_unix_nano(),
                duration_nanos: span.duration_nanos(),
                attributes: span
                    .attributes
                    .iter()
                    .map(|(key, value)| key_value(key.clone(), value.to_any_value()))
                    .collect(),
            })
            .collect(),
        matched: spanset.matched,
        attributes: spanset
            .attributes
            .into_iter()
            .map(|(key, value)| key_value(key, value.to_any_value()))
            .collect(),
    }
}

fn trace_match(result: TraceResult<'_>) -> TraceMatch {
    let summary = result.summary;
    TraceMatch {
        trace_id: summary.trace_id_hex(),
        root_service_name: summary.root_service_name.clone(),
        root_trace_name: summary.root_span_name.clone(),
        start_time_unix_nano: summary.start_time_unix_nano,
        duration_ms: summary.duration_ms(),
        span_sets: result.spansets.into_iter().map(span_set).collect(),
        service_stats: summary
            .service_stats
            .iter()
            .map(|(service, stats)| {
                (
                    service.clone(),
                    ServiceCounts {
                        span_count: stats.span_count,
                        error_count: stats.error_count,
                    },
                )
            })
            .collect(),
    }
}

impl SearchEngine {
    pub(crate) fn new(store: Arc<TraceStore>, settings: SearchSettings) -> SearchEngine {
        SearchEngine { store, settings }
    }

    /// The newest `limit` traces matching the query in the window.
    pub(crate) fn search(
        &self,
        tenant: &str,
        request: &SearchRequest<'_>,
    ) -> Result<SearchOutcome, SearchError> {
        let mut outcome = SearchOutcome {
            traces: Vec::new(),
            inspected_traces: 0,
            inspected_bytes: 0,
            jobs: 1,
            complete: true,
        };
        let Some(tenant) = self.store.tenant(tenant) else {
            return Ok(outcome);
        };
        let hints = request.query.required_conditions();
        if hints.trace.unsatisfiable || request.limit == 0 {
            return Ok(outcome);
        }
        let floors = span_floors::span_floors(&hints);
        let blocks = self.store.block_list();
        let mut candidates =
            block_scan::candidates(&self.store, &blocks, tenant, &hints, request.window)?;
        let options = SearchOptions {
            spans_per_spanset: request.spans_per_spanset,
        };
        let mut seen = HashSet::new();
        // Starts of the newest `limit` matches, smallest on top: once an entry is older
        // than all of them, no unseen trace can enter the result (an entry's start is
        // never before its trace's start).
        let mut newest_starts: BinaryHeap<Reverse<u64>> = BinaryHeap::new();
        while let Some((entry_start, trace_id)) = candidates.next_entry()? {
            if newest_starts.len() >= request.limit
                && newest_starts
                    .peek()
                    .is_some_and(|Reverse(kth)| entry_start < *kth)
            {
                break;
            }
            if !seen.insert(trace_id) {
                continue;
            }
            if outcome.inspected_traces >= self.settings.max_traces_inspected as u64 {
                outcome.complete = false;
                break;
            }
            // A summary covers the hot rows only: with parts in blocks it says too little.
            let hot_only = !blocks
                .of_tenant(tenant)
                .any(|b| b.open.block.may_contain(&trace_id.0));
            if hot_only && let Some(summary) = self.store.trace_summary(tenant, &trace_id)? {
                let overlaps = summary.start_unix_nano <= request.window.end_unix_nano
                    && summary.end_unix_nano >= request.window.start_unix_nano;
                let root = summary.root.as_ref();
                if !overlaps
                    || !span_floors::admits(&summary, &floors)
                    || !hints.trace.admits(
                        summary.duration_nanos(),
                        root.map(|r| r.service_name.as_str()),
                        root.map(|r| r.name.as_str()),
                    )
                {
                    continue;
                }
            }
            outcome.inspected_traces += 1;
            let Some(stored) = self
                .store
                .trace_with_blocks(&blocks, tenant, &trace_id, None)?
            else {
                continue; // dropped by a tail decision after it was indexed
            };
            outcome.inspected_bytes += stored.inspected_bytes;
            let Some(result) = request
                .query
                .evaluate_with(&stored.data.resource_spans, &options)
            else {
                continue;
            };
            let found = trace_match(result);
            newest_starts.push(Reverse(found.start_time_unix_nano));
            if newest_starts.len() > request.limit {
                newest_starts.pop();
            }
            outcome.traces.push(found);
        }
        outcome.traces.sort_by(|a, b| {
            b.start_time_unix_nano
                .cmp(&a.start_time_unix_nano)
                .then_with(|| a.trace_id.cmp(&b.trace_id))
        });
        outcome.traces.truncate(request.limit);
        tracing::debug!(
            posting_lists = candidates.posting_lists(),
            inspected = outcome.inspected_traces,
            found = outcome.traces.len(),
            complete = outcome.complete,
            "search"
        );
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests;
