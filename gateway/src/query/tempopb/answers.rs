//! Each endpoint's answer built from what the search engine returned: search matches
//! and TraceQL metrics series as Tempo's messages; Tempo's fixed intrinsic list, scope
//! selection, sorting, de-duplication and limits for tags; trace summaries only for
//! legacy tag searches; the instant form of a metrics answer.

use std::collections::HashSet;

use spangate_traceql::AttrValue;

use super::messages::{
    Exemplar, InstantSeries, MetadataMetrics, QueryInstantResponse, QueryRangeResponse, Sample,
    SearchMetrics, SearchResponse, SearchTagValuesResponse, SearchTagValuesV2Response,
    SearchTagsResponse, SearchTagsV2Response, SearchTagsV2Scope, ServiceStats, Span, SpanSet,
    TagValue, TimeSeries, TraceSearchMetadata,
};
use crate::model::KeyValue;
use crate::search::{
    MetricsResult, SearchOutcome, SearchQuery, SpanSetMatch, TagName, TagNames, TagScope,
    TagValueKind, TraceMatch, TypedTagValue,
};

/// The names Tempo lists under scope `intrinsic`, sorted as its answer lists them
/// (Tempo's `search.GetVirtualIntrinsicValues`; recorded `search_tags_v2.json`).
pub const INTRINSIC_TAGS: [&str; 25] = [
    "duration",
    "event:name",
    "event:timeSinceStart",
    "instrumentation:name",
    "instrumentation:version",
    "kind",
    "link:spanID",
    "link:traceID",
    "name",
    "rootName",
    "rootServiceName",
    "span:duration",
    "span:id",
    "span:kind",
    "span:name",
    "span:parentID",
    "span:status",
    "span:statusMessage",
    "status",
    "statusMessage",
    "trace:duration",
    "trace:id",
    "trace:rootName",
    "trace:rootService",
    "traceDuration",
];

/// Values Tempo answers without reading any data (its `search.GetVirtualTagValues*`):
/// the status and kind keywords, nothing for durations; `None` for every other tag.
pub fn virtual_tag_values(tag: &TagName) -> Option<Vec<TypedTagValue>> {
    let keywords = |values: &[&str]| {
        values
            .iter()
            .map(|value| TypedTagValue {
                kind: TagValueKind::Keyword,
                value: (*value).to_owned(),
            })
            .collect()
    };
    let strings = |values: &[&str]| {
        values
            .iter()
            .map(|value| TypedTagValue {
                kind: TagValueKind::String,
                value: (*value).to_owned(),
            })
            .collect()
    };
    match tag {
        // The order of the recorded `search_tag_values_v2_status.json`.
        TagName::Identifier(name) => match name.as_str() {
            "status" | "span:status" => Some(keywords(&["unset", "ok", "error"])),
            "kind" | "span:kind" => Some(keywords(&[
                "client",
                "server",
                "producer",
                "consumer",
                "internal",
                "unspecified",
            ])),
            "duration" | "span:duration" | "traceDuration" => Some(Vec::new()),
            _ => None,
        },
        TagName::Attribute(name) => match name.as_str() {
            "status.code" => Some(strings(&["unset", "ok", "error"])),
            "error" => Some(strings(&["true"])),
            _ => None,
        },
    }
}

/// A search answer in Tempo's shape: `metrics` always present, and a legacy tag search
/// reduced to trace summaries (no `spanSet`, `spanSets` or `serviceStats`, as Tempo
/// answers them: recorded `search_tags_logfmt.json`, `search_empty_query.json`).
pub fn search_answer(query: &SearchQuery, outcome: SearchOutcome) -> SearchResponse {
    let traces = outcome
        .traces
        .into_iter()
        .map(|found| trace_metadata(found, !query.tags_search))
        .collect();
    SearchResponse {
        traces,
        metrics: Some(SearchMetrics {
            inspected_traces: u32::try_from(outcome.inspected_traces).unwrap_or(u32::MAX),
            inspected_bytes: outcome.inspected_bytes,
            completed_jobs: outcome.jobs,
            total_jobs: outcome.jobs,
            ..SearchMetrics::default()
        }),
    }
}

fn trace_metadata(found: TraceMatch, with_spansets: bool) -> TraceSearchMetadata {
    let mut metadata = TraceSearchMetadata {
        trace_id: found.trace_id,
        root_service_name: found.root_service_name,
        root_trace_name: found.root_trace_name,
        start_time_unix_nano: found.start_time_unix_nano,
        duration_ms: found.duration_ms,
        ..TraceSearchMetadata::default()
    };
    if with_spansets {
        metadata.span_sets = found.span_sets.into_iter().map(span_set).collect();
        // Tempo fills the deprecated `spanSet` with the first spanset too.
        metadata.span_set = metadata.span_sets.first().cloned();
        metadata.service_stats = found
            .service_stats
            .into_iter()
            .map(|(service, counts)| {
                (
                    service,
                    ServiceStats {
                        span_count: counts.span_count,
                        error_count: counts.error_count,
                    },
                )
            })
            .collect();
    }
    metadata
}

fn span_set(spanset: SpanSetMatch) -> SpanSet {
    SpanSet {
        spans: spanset
            .spans
            .into_iter()
            .map(|span| Span {
                span_id: span.span_id,
                name: span.name,
                start_time_unix_nano: span.start_time_unix_nano,
                duration_nanos: span.duration_nanos,
                attributes: span.attributes,
            })
            .collect(),
        matched: spanset.matched,
        attributes: spanset.attributes,
    }
}

/// A metrics answer in Tempo's shape: `metrics` always present, and a `message` when
/// the evaluation stopped early.
pub fn range_answer(result: MetricsResult) -> QueryRangeResponse {
    let labels = |labels: Vec<(String, AttrValue)>| -> Vec<KeyValue> {
        labels
            .into_iter()
            .map(|(key, value)| KeyValue {
                key,
                value: Some(value.to_any_value()),
                ..KeyValue::default()
            })
            .collect()
    };
    QueryRangeResponse {
        series: result
            .series
            .into_iter()
            .map(|series| TimeSeries {
                labels: labels(series.labels),
                samples: series
                    .samples
                    .iter()
                    .map(|sample| Sample {
                        timestamp_ms: sample.timestamp_ms,
                        value: sample.value,
                    })
                    .collect(),
                exemplars: series
                    .exemplars
                    .iter()
                    .map(|exemplar| Exemplar {
                        labels: labels(exemplar.labels()),
                        value: exemplar.value,
                        timestamp_ms: exemplar.timestamp_ms,
                    })
                    .collect(),
            })
            .collect(),
        metrics: Some(SearchMetrics {
            inspected_traces: u32::try_from(result.inspected_traces).unwrap_or(u32::MAX),
            inspected_bytes: result.inspected_bytes,
            inspected_spans: result.inspected_spans,
            completed_jobs: result.jobs,
            total_jobs: result.jobs,
            ..SearchMetrics::default()
        }),
        status: 0,
        message: if result.complete {
            String::new()
        } else {
            "stopped after max_traces_inspected traces; results are partial".to_owned()
        },
    }
}

/// `/api/search/tags`: one sorted list. Without a scope it holds every attribute scope's
/// names; intrinsics only when asked for with `scope=intrinsic` (as Tempo's v1 does).
pub fn tag_names_v1(
    names: &TagNames,
    scope: Option<TagScope>,
    limit: Option<u32>,
) -> SearchTagsResponse {
    let tag_names = match scope {
        Some(TagScope::Intrinsic) => INTRINSIC_TAGS.map(str::to_owned).to_vec(),
        Some(scope) => sorted_unique(names.scope(scope), limit),
        None => {
            let all: Vec<String> = TagScope::ATTRIBUTE_SCOPES
                .iter()
                .flat_map(|&scope| names.scope(scope).iter().cloned())
                .collect();
            sorted_unique(&all, limit)
        }
    };
    SearchTagsResponse {
        tag_names,
        metrics: Some(metadata_metrics(names.inspected_bytes)),
    }
}

/// `/api/v2/search/tags`: names per scope, scopes without names left out, and the
/// intrinsic list whenever no single attribute scope was asked for. The limit applies
/// per attribute scope; the intrinsic list is never cut (Grafana needs all of it to
/// find a tag's scope).
pub fn tag_names_v2(
    names: &TagNames,
    scope: Option<TagScope>,
    limit: Option<u32>,
) -> SearchTagsV2Response {
    let mut scopes: Vec<SearchTagsV2Scope> = TagScope::ATTRIBUTE_SCOPES
        .iter()
        .filter(|&&candidate| scope.is_none() || scope == Some(candidate))
        .map(|&candidate| SearchTagsV2Scope {
            name: candidate.as_str().to_owned(),
            tags: sorted_unique(names.scope(candidate), limit),
        })
        .filter(|entry| !entry.tags.is_empty())
        .collect();
    if matches!(scope, None | Some(TagScope::Intrinsic)) {
        scopes.push(SearchTagsV2Scope {
            name: TagScope::Intrinsic.as_str().to_owned(),
            tags: INTRINSIC_TAGS.map(str::to_owned).to_vec(),
        });
    }
    SearchTagsV2Response {
        scopes,
        metrics: Some(metadata_metrics(names.inspected_bytes)),
    }
}

/// `/api/search/tag/{name}/values`: the distinct values as text, in the engine's order.
pub fn tag_values_v1(values: &[TypedTagValue], limit: Option<u32>) -> SearchTagValuesResponse {
    let mut seen = HashSet::new();
    let tag_values = values
        .iter()
        .filter(|typed| seen.insert(typed.value.as_str()))
        .take(cap(limit))
        .map(|typed| typed.value.clone())
        .collect();
    SearchTagValuesResponse {
        tag_values,
        metrics: Some(MetadataMetrics::default()),
    }
}

/// `/api/v2/search/tag/{name}/values`: the distinct typed values, in the engine's order
/// (Grafana sorts them itself).
pub fn tag_values_v2(values: &[TypedTagValue], limit: Option<u32>) -> SearchTagValuesV2Response {
    let mut seen = HashSet::new();
    let tag_values = values
        .iter()
        .filter(|typed| seen.insert(*typed))
        .take(cap(limit))
        .map(|typed| TagValue {
            r#type: typed.kind.as_str().to_owned(),
            value: typed.value.clone(),
        })
        .collect();
    SearchTagValuesV2Response {
        tag_values,
        metrics: Some(MetadataMetrics::default()),
    }
}

/// `/api/metrics/query`: each series' first sample as its value; series without samples
/// are dropped (Tempo's `translateQueryRangeToInstant`).
pub fn instant_from_range(range: QueryRangeResponse) -> QueryInstantResponse {
    let series = range
        .series
        .into_iter()
        .filter_map(|series| {
            let first = series.samples.first()?;
            Some(InstantSeries {
                value: first.value,
                labels: series.labels,
            })
        })
        .collect();
    QueryInstantResponse {
        series,
        metrics: Some(range.metrics.unwrap_or_default()),
        status: range.status,
        message: range.message,
    }
}

fn metadata_metrics(inspected_bytes: u64) -> MetadataMetrics {
    MetadataMetrics {
        inspected_bytes,
        ..MetadataMetrics::default()
    }
}

fn sorted_unique(names: &[String], limit: Option<u32>) -> Vec<String> {
    let mut names = names.to_vec();
    names.sort_unstable();
    names.dedup();
    names.truncate(cap(limit));
    names
}

/// A limit as a count; `None` and 0 mean no limit.
fn cap(limit: Option<u32>) -> usize {
    match limit {
        Some(limit) if limit > 0 => usize::try_from(limit).unwrap_or(usize::MAX),
        _ => usize::MAX,
    }
}
