//! The engine behind the query API's search endpoints (`query::search_api::SearchApi`):
//! parses TraceQL, maps windows and answers in Tempo's messages.

use spangate_traceql::{ParseError, Query, parse};

use super::metrics::MetricsRequest;
use super::{SearchEngine, SearchError, SearchRequest};
use crate::query::QueryError;
use crate::query::search_api::{
    MetricsQuery, SearchApi, SearchQuery, TagName, TagNames, TagNamesQuery, TagScope,
    TagValuesQuery, TypedTagValue,
};
use crate::query::tempopb;
use crate::store::TimeWindow;

const SECOND: u64 = 1_000_000_000;

fn parse_query(text: &str) -> Result<Query, QueryError> {
    parse(text).map_err(|error: ParseError| {
        QueryError::BadRequest(format!("invalid TraceQL query: {error}"))
    })
}

fn internal(error: SearchError) -> QueryError {
    match error {
        SearchError::Metrics(message) => QueryError::BadRequest(message),
        SearchError::Store(error) => QueryError::Internal(error.to_string()),
    }
}

/// A window of unix seconds (either bound may be absent); the end second is included.
fn window(start: Option<u32>, end: Option<u32>) -> TimeWindow {
    TimeWindow {
        start_unix_nano: start.map_or(0, |s| u64::from(s) * SECOND),
        end_unix_nano: end.map_or(u64::MAX, |e| (u64::from(e) + 1) * SECOND - 1),
    }
}

impl SearchApi for SearchEngine {
    fn search(
        &self,
        tenant: &str,
        request: &SearchQuery,
    ) -> Result<tempopb::SearchResponse, QueryError> {
        let query = parse_query(&request.traceql)?;
        if query.is_metrics() {
            return Err(QueryError::BadRequest(
                "invalid TraceQL query: metrics queries are served by /api/metrics/query_range"
                    .to_owned(),
            ));
        }
        let outcome = SearchEngine::search(
            self,
            tenant,
            &SearchRequest {
                query: &query,
                limit: request.limit as usize,
                spans_per_spanset: request.spss,
                window: window(request.start_unix_secs, request.end_unix_secs),
            },
        )
        .map_err(internal)?;
        let mut traces = outcome.traces;
        if request.tags_search {
            // Tempo answers legacy tag searches with trace summaries only.
            for trace in &mut traces {
                trace.span_set = None;
                trace.span_sets.clear();
                trace.service_stats.clear();
            }
        }
        Ok(tempopb::SearchResponse {
            traces,
            metrics: Some(tempopb::SearchMetrics {
                inspected_traces: u32::try_from(outcome.inspected_traces).unwrap_or(u32::MAX),
                inspected_bytes: outcome.inspected_bytes,
                completed_jobs: 1,
                total_jobs: 1,
                ..Default::default()
            }),
        })
    }

    fn tag_names(&self, tenant: &str, request: &TagNamesQuery) -> Result<TagNames, QueryError> {
        if request.scope == Some(TagScope::Intrinsic) {
            return Ok(TagNames::default());
        }
        let scope = request.scope;
        let mut names = TagNames::default();
        for (scope, keys) in SearchEngine::tag_names(self, tenant, scope).map_err(internal)? {
            let list = match scope {
                TagScope::Resource => &mut names.resource,
                TagScope::Span => &mut names.span,
                TagScope::Event => &mut names.event,
                TagScope::Link => &mut names.link,
                TagScope::Instrumentation => &mut names.instrumentation,
                TagScope::Intrinsic => continue,
            };
            *list = keys;
        }
        Ok(names)
    }

    fn tag_values(
        &self,
        tenant: &str,
        request: &TagValuesQuery,
    ) -> Result<Vec<TypedTagValue>, QueryError> {
        let tag = match &request.tag {
            // v1 names are bare attribute keys, looked up in every scope.
            TagName::Attribute(key) => format!(".{key}"),
            TagName::Identifier(identifier) => identifier.clone(),
        };
        SearchEngine::tag_values(self, tenant, &tag, request.query.as_deref()).map_err(internal)
    }

    fn metrics_query(
        &self,
        tenant: &str,
        request: &MetricsQuery,
    ) -> Result<tempopb::QueryRangeResponse, QueryError> {
        let query = parse_query(&request.query)?;
        let result = SearchEngine::metrics(
            self,
            tenant,
            &MetricsRequest {
                query: &query,
                start: request.start_nanos,
                end: request.end_nanos,
                step: (!request.instant).then_some(request.step_nanos),
                exemplars: request.exemplars.unwrap_or(0),
            },
        )
        .map_err(internal)?;
        Ok(tempopb::QueryRangeResponse {
            series: result
                .series
                .into_iter()
                .map(|series| tempopb::TimeSeries {
                    labels: series
                        .labels
                        .iter()
                        .map(|(key, value)| super::key_value(key.clone(), value.to_any_value()))
                        .collect(),
                    samples: series
                        .samples
                        .iter()
                        .map(|sample| tempopb::Sample {
                            timestamp_ms: sample.timestamp_ms,
                            value: sample.value,
                        })
                        .collect(),
                    exemplars: series
                        .exemplars
                        .iter()
                        .map(|exemplar| tempopb::Exemplar {
                            labels: exemplar
                                .labels()
                                .iter()
                                .map(|(key, value)| {
                                    super::key_value(key.clone(), value.to_any_value())
                                })
                                .collect(),
                            value: exemplar.value,
                            timestamp_ms: exemplar.timestamp_ms,
                        })
                        .collect(),
                })
                .collect(),
            metrics: Some(tempopb::SearchMetrics {
                inspected_traces: u32::try_from(result.inspected_traces).unwrap_or(u32::MAX),
                inspected_bytes: result.inspected_bytes,
                inspected_spans: result.inspected_spans,
                completed_jobs: 1,
                total_jobs: 1,
                ..Default::default()
            }),
            status: 0,
            message: if result.complete {
                String::new()
            } else {
                "stopped after max_traces_inspected traces; results are partial".to_owned()
            },
        })
    }
}
