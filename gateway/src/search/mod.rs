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
mod metrics;
mod plan;
mod span_floors;
mod tags;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Arc;

use spangate_traceql::{Query, SearchOptions, SpansetResult, TraceResult};

pub use crate::config::SearchSettings;
use crate::model::{AnyValue, KeyValue};
use crate::query::tempopb;
use crate::store::{StoreError, TimeWindow, TraceStore};

pub use metrics::{MetricsRequest, MetricsResult};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Metrics(String),
}

/// One search request, already parsed.
pub struct SearchRequest<'q> {
    pub query: &'q Query,
    /// Traces returned at most (newest first).
    pub limit: usize,
    /// Spans per spanset (`spss`; 0: Tempo's default of 3).
    pub spans_per_spanset: u32,
    pub window: TimeWindow,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchOutcome {
    /// Newest first, as Tempo's search response carries them (`spanSet` and
    /// `spanSets` both filled).
    pub traces: Vec<tempopb::TraceSearchMetadata>,
    pub inspected_traces: u64,
    pub inspected_bytes: u64,
    /// False when `max_traces_inspected` stopped the search before the candidates ran
    /// out: older matches may exist.
    pub complete: bool,
}

pub struct SearchEngine {
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

fn span_set(spanset: SpansetResult<'_>) -> tempopb::SpanSet {
    tempopb::SpanSet {
        spans: spanset
            .spans
            .iter()
            .map(|span| tempopb::Span {
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

fn trace_metadata(result: TraceResult<'_>) -> tempopb::TraceSearchMetadata {
    let summary = result.summary;
    let span_sets: Vec<tempopb::SpanSet> = result.spansets.into_iter().map(span_set).collect();
    tempopb::TraceSearchMetadata {
        trace_id: summary.trace_id_hex(),
        root_service_name: summary.root_service_name.clone(),
        root_trace_name: summary.root_span_name.clone(),
        start_time_unix_nano: summary.start_time_unix_nano,
        duration_ms: summary.duration_ms(),
        // Tempo fills the deprecated `spanSet` with the first spanset too.
        span_set: span_sets.first().cloned(),
        span_sets,
        service_stats: summary
            .service_stats
            .iter()
            .map(|(service, stats)| {
                (
                    service.clone(),
                    tempopb::ServiceStats {
                        span_count: stats.span_count,
                        error_count: stats.error_count,
                    },
                )
            })
            .collect(),
    }
}

impl SearchEngine {
    pub fn new(store: Arc<TraceStore>, settings: SearchSettings) -> SearchEngine {
        SearchEngine { store, settings }
    }

    pub fn settings(&self) -> &SearchSettings {
        &self.settings
    }

    /// The newest `limit` traces matching the query in the window.
    pub fn search(
        &self,
        tenant: &str,
        request: &SearchRequest<'_>,
    ) -> Result<SearchOutcome, SearchError> {
        let mut outcome = SearchOutcome {
            traces: Vec::new(),
            inspected_traces: 0,
            inspected_bytes: 0,
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
        let mut candidates = plan::candidates(&self.store, tenant, &hints, request.window)?;
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
            if let Some(summary) = self.store.trace_summary(tenant, &trace_id)? {
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
            let Some(stored) = self.store.tenant_trace(tenant, &trace_id, None)? else {
                continue; // dropped by a tail decision after it was indexed
            };
            outcome.inspected_bytes += stored.inspected_bytes;
            let Some(result) = request
                .query
                .evaluate_with(&stored.data.resource_spans, &options)
            else {
                continue;
            };
            let found = trace_metadata(result);
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
