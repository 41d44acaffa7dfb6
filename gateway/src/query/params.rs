//! Parameters of the search, tag and metrics endpoints, parsed and checked as Tempo's
//! `pkg/api` parsers and query-frontend handlers do (same defaults, same checks, same
//! 400 texts), into the requests of the search engine ([`crate::search::SearchApi`]). gRPC requests go through the
//! same checks, as Tempo turns them into HTTP requests and parses those.
//!
//! Deliberate differences: timestamps that do not parse are a 400 on the metrics
//! endpoints (Tempo silently uses a zero time); values Go would wrap into a `uint32`
//! are clamped; a tag name is percent-decoded a second time without Go's `+` → space.

pub(super) mod go;
mod legacy;
mod logfmt;
mod timestamp;

use std::collections::{BTreeMap, HashSet};

pub(super) use legacy::tags_to_traceql;

use super::error::QueryError;
use super::tempopb;
use crate::search::{MetricsQuery, SearchQuery, TagName, TagNamesQuery, TagScope, TagValuesQuery};

/// Traces per search when `limit` is absent (Tempo's `default_limit`).
pub(super) const DEFAULT_LIMIT: u32 = 20;
/// Spans per spanset when `spss` is absent or 0 (Tempo accepts `spss=0`, which
/// `tempo-cli query api search` always sends, and its engine then keeps this many).
pub(super) const DEFAULT_SPANS_PER_SPANSET: u32 = 3;
/// Metrics window when neither `start` nor `since` is given.
const DEFAULT_SINCE_NANOS: u64 = 3600 * 1_000_000_000;
/// Tempo's `query_frontend.metrics.max_intervals` default.
const MAX_INTERVALS: u64 = 10_000;

/// Query-string parameters as Go reads them: `Get` returns a name's first value, and
/// Tempo treats an empty value as absent.
#[derive(Clone, Debug, Default)]
pub(super) struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    pub(super) fn new(pairs: Vec<(String, String)>) -> QueryParams {
        QueryParams { pairs }
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    /// Each name once, with its first value.
    fn first_values(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut seen = HashSet::new();
        self.pairs
            .iter()
            .filter(move |(key, _)| seen.insert(key.as_str()))
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }
}

fn bad_request(message: impl Into<String>) -> QueryError {
    QueryError::BadRequest(message.into())
}

// ---------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------

/// Parameters a legacy search may not use as bare tags.
const RESERVED_SEARCH_PARAMS: [&str; 8] = [
    "q",
    "tags",
    "minDuration",
    "maxDuration",
    "limit",
    "spss",
    "start",
    "end",
];

/// `GET /api/search` (Tempo's `ParseSearchRequest`, checks in its order).
pub(super) fn search(params: &QueryParams) -> Result<SearchQuery, QueryError> {
    let start = optional(params, "start", go::parse_uint32)?.unwrap_or(0);
    let end = optional(params, "end", go::parse_uint32)?.unwrap_or(0);
    let query = params.get("q");
    let mut tags = BTreeMap::new();
    let encoded_tags = params.get("tags");
    if let Some(encoded) = encoded_tags {
        if query.is_some() {
            return Err(bad_request(
                "invalid request: can't specify tags and q in the same query",
            ));
        }
        tags = decode_tags(encoded)?;
    }
    // Grafana's first search sent tags as bare parameters; Tempo still reads them when
    // nothing else says what to search.
    if query.is_none() && encoded_tags.is_none() && start == 0 && end == 0 {
        tags = params
            .first_values()
            .filter(|(key, value)| !RESERVED_SEARCH_PARAMS.contains(key) && !value.is_empty())
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
    }
    let min_duration_ms = optional(params, "minDuration", go::parse_duration)?.map(millis);
    let max_duration_ms = optional(params, "maxDuration", go::parse_duration)?.map(millis);
    if let (Some(min), Some(max)) = (min_duration_ms, max_duration_ms)
        && min != 0
        && min > max
    {
        return Err(bad_request(
            "invalid maxDuration: must be greater than minDuration",
        ));
    }
    let limit = optional(params, "limit", go::parse_uint32)?;
    if limit == Some(0) {
        return Err(bad_request("invalid limit: must be a positive number"));
    }
    let spss = optional(params, "spss", go::parse_uint32)?;
    check_search_window(start, end)?;
    Ok(search_query(
        query,
        &tags,
        (min_duration_ms.unwrap_or(0), max_duration_ms.unwrap_or(0)),
        limit.unwrap_or(0),
        spss.unwrap_or(0),
        (start, end),
    ))
}

/// gRPC `Search`. Grafana leaves `spans_per_span_set` at 0: that is the default, 3.
pub(super) fn search_from_grpc(
    request: &tempopb::SearchRequest,
) -> Result<SearchQuery, QueryError> {
    let query = Some(request.query.as_str()).filter(|query| !query.is_empty());
    if query.is_some() && !request.tags.is_empty() {
        return Err(bad_request(
            "invalid request: can't specify tags and q in the same query",
        ));
    }
    let (min, max) = (request.min_duration_ms, request.max_duration_ms);
    if min != 0 && max != 0 && min > max {
        return Err(bad_request(
            "invalid maxDuration: must be greater than minDuration",
        ));
    }
    check_search_window(request.start, request.end)?;
    Ok(search_query(
        query,
        &request.tags,
        (min, max),
        request.limit,
        request.spans_per_span_set,
        (request.start, request.end),
    ))
}

fn search_query(
    query: Option<&str>,
    tags: &BTreeMap<String, String>,
    (min_duration_ms, max_duration_ms): (u32, u32),
    limit: u32,
    spss: u32,
    (start, end): (u32, u32),
) -> SearchQuery {
    let (traceql, tags_search) = match query {
        Some(query) => (query.to_owned(), false),
        None => (
            tags_to_traceql(tags, min_duration_ms, max_duration_ms),
            true,
        ),
    };
    SearchQuery {
        traceql,
        tags_search,
        limit: if limit == 0 { DEFAULT_LIMIT } else { limit },
        spss: if spss == 0 {
            DEFAULT_SPANS_PER_SPANSET
        } else {
            spss
        },
        start_unix_secs: (start != 0).then_some(start),
        end_unix_secs: (end != 0).then_some(end),
    }
}

fn check_search_window(start: u32, end: u32) -> Result<(), QueryError> {
    if (start != 0 || end != 0) && end <= start {
        return Err(bad_request(format!(
            "http parameter start must be before end. received start={start} end={end}"
        )));
    }
    Ok(())
}

fn decode_tags(encoded: &str) -> Result<BTreeMap<String, String>, QueryError> {
    let (pairs, error) = logfmt::decode(encoded);
    let mut tags = BTreeMap::new();
    for (key, value) in pairs {
        if tags.contains_key(&key) {
            return Err(bad_request(format!(
                "invalid tags: tag {key} has been set twice"
            )));
        }
        tags.insert(key, value);
    }
    match error {
        None => Ok(tags),
        Some(logfmt::LogfmtError::Syntax {
            message, position, ..
        }) => Err(bad_request(format!(
            "invalid tags: {message} at pos {position}"
        ))),
        Some(error) => Err(bad_request(format!("invalid tags: {error}"))),
    }
}

/// A Go duration as whole milliseconds in a `uint32`, clamped (Go wraps).
fn millis(nanos: i64) -> u32 {
    u32::try_from((nanos / 1_000_000).max(0)).unwrap_or(u32::MAX)
}

/// Parses a present parameter; a failure is `invalid {name}: {error}`.
fn optional<T, E: std::fmt::Display>(
    params: &QueryParams,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, QueryError> {
    params
        .get(name)
        .map(|text| parse(text).map_err(|error| bad_request(format!("invalid {name}: {error}"))))
        .transpose()
}

// ---------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------

/// `GET /api/search/tags` and `/api/v2/search/tags` (Tempo's `ParseSearchTagsRequest`;
/// `limit` as the query-frontend reads it: anything unparsable means no limit).
pub(super) fn tag_names(params: &QueryParams) -> Result<TagNamesQuery, QueryError> {
    let scope = parse_scope(params.get("scope").unwrap_or(""))?;
    let (start, end) = tag_window(params)?;
    Ok(TagNamesQuery {
        scope,
        query: params.get("q").map(str::to_owned),
        start_unix_secs: start,
        end_unix_secs: end,
        limit: lenient_limit(params),
    })
}

/// gRPC `SearchTags` and `SearchTagsV2`.
pub(super) fn tag_names_from_grpc(
    request: &tempopb::SearchTagsRequest,
) -> Result<TagNamesQuery, QueryError> {
    Ok(TagNamesQuery {
        scope: parse_scope(&request.scope)?,
        query: non_empty(&request.query),
        start_unix_secs: (request.start != 0).then_some(request.start),
        end_unix_secs: (request.end != 0).then_some(request.end),
        limit: (request.max_tags_per_scope != 0).then_some(request.max_tags_per_scope),
    })
}

/// `scope`: an attribute scope, `intrinsic`, or `none`/empty for every scope.
pub(super) fn parse_scope(scope: &str) -> Result<Option<TagScope>, QueryError> {
    Ok(Some(match scope {
        "" | "none" => return Ok(None),
        "resource" => TagScope::Resource,
        "span" => TagScope::Span,
        "event" => TagScope::Event,
        "link" => TagScope::Link,
        "instrumentation" => TagScope::Instrumentation,
        "intrinsic" => TagScope::Intrinsic,
        other => return Err(bad_request(format!("invalid scope: {other}"))),
    }))
}

/// `GET /api/search/tag/{name}/values` (`v2` false) and `/api/v2/...` (`v2` true).
/// `raw_name` is the path segment after the HTTP layer's own percent-decoding.
pub(super) fn tag_values(
    raw_name: &str,
    v2: bool,
    params: &QueryParams,
) -> Result<TagValuesQuery, QueryError> {
    let name = decode_tag_name(raw_name)?;
    let tag = tag_name(name, v2)?;
    let (start, end) = tag_window(params)?;
    Ok(TagValuesQuery {
        tag,
        query: params.get("q").map(str::to_owned),
        start_unix_secs: start,
        end_unix_secs: end,
        limit: lenient_limit(params),
    })
}

/// gRPC `SearchTagValues` (`v2` false) and `SearchTagValuesV2` (`v2` true).
pub(super) fn tag_values_from_grpc(
    request: &tempopb::SearchTagValuesRequest,
    v2: bool,
) -> Result<TagValuesQuery, QueryError> {
    if request.tag_name.is_empty() {
        return Err(bad_request("please provide a non-empty tagName"));
    }
    Ok(TagValuesQuery {
        tag: tag_name(request.tag_name.clone(), v2)?,
        query: non_empty(&request.query),
        start_unix_secs: (request.start != 0).then_some(request.start),
        end_unix_secs: (request.end != 0).then_some(request.end),
        limit: (request.max_tag_values != 0).then_some(request.max_tag_values),
    })
}

fn tag_name(name: String, v2: bool) -> Result<TagName, QueryError> {
    if !v2 {
        return Ok(TagName::Attribute(name));
    }
    check_identifier(&name)
        .map_err(|reason| bad_request(format!("please provide a valid tagName: {reason}")))?;
    Ok(TagName::Identifier(name))
}

/// Older Grafana encodes the tag twice (`event%253Aname`); Tempo unescapes the already
/// decoded segment once more, and so do we when `%` escapes remain.
fn decode_tag_name(raw_name: &str) -> Result<String, QueryError> {
    if raw_name.is_empty() {
        return Err(bad_request("please provide a non-empty tagName"));
    }
    if !raw_name.contains('%') {
        return Ok(raw_name.to_owned());
    }
    let unescaping_error = || bad_request("error in unescaping tagName");
    let bytes = raw_name.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = raw_name
                .get(index + 1..index + 3)
                .filter(|hex| hex.bytes().all(|digit| digit.is_ascii_hexdigit()))
                .ok_or_else(unescaping_error)?;
            decoded.push(u8::from_str_radix(hex, 16).map_err(|_| unescaping_error())?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| unescaping_error())
}

/// Intrinsics a v2 tag-value lookup may name beyond Tempo's advertised list.
const OTHER_INTRINSICS: [&str; 2] = ["childCount", "span:childCount"];
const ATTRIBUTE_SCOPES: [&str; 5] = ["resource", "span", "event", "link", "instrumentation"];

/// The shape of a TraceQL identifier: an intrinsic, `.attr`, `scope.attr`, with the
/// attribute name bare or double-quoted.
fn check_identifier(name: &str) -> Result<(), String> {
    if tempopb::INTRINSIC_TAGS.contains(&name) || OTHER_INTRINSICS.contains(&name) {
        return Ok(());
    }
    let attribute = match name.split_once('.') {
        Some(("", attribute)) => attribute,
        Some((scope, attribute)) if ATTRIBUTE_SCOPES.contains(&scope) => attribute,
        _ => {
            return Err(format!(
                "{name:?} is not an intrinsic, a scoped attribute (span.x, resource.x, ...) or an unscoped attribute (.x)"
            ));
        }
    };
    let well_formed = match attribute.strip_prefix('"') {
        Some(quoted) => quoted.len() > 1 && quoted.ends_with('"'),
        None => {
            !attribute.is_empty()
                && !attribute.chars().any(|character| {
                    character.is_whitespace() || "{}()=~!<>&|^,\"".contains(character)
                })
        }
    };
    if well_formed {
        Ok(())
    } else {
        Err(format!("invalid attribute name in {name:?}"))
    }
}

/// `start`/`end` of the tag endpoints: `strconv.ParseInt(_, 10, 32)`; 0 or less is
/// "not given".
fn tag_window(params: &QueryParams) -> Result<(Option<u32>, Option<u32>), QueryError> {
    let seconds = |name| {
        optional(params, name, |text| go::parse_int(text, 32)).map(|value| {
            value
                .and_then(|value| u32::try_from(value).ok())
                .filter(|&v| v > 0)
        })
    };
    Ok((seconds("start")?, seconds("end")?))
}

/// The query-frontend reads `limit` with errors ignored: no number, no limit.
fn lenient_limit(params: &QueryParams) -> Option<u32> {
    params
        .get("limit")
        .and_then(|text| go::parse_uint32(text).ok())
        .filter(|&limit| limit > 0)
}

fn non_empty(text: &str) -> Option<String> {
    Some(text.to_owned()).filter(|text| !text.is_empty())
}

// ---------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------

/// `GET /api/metrics/query_range` (Tempo's `ParseQueryRangeRequest` and the
/// query-frontend's checks). `now_nanos` is the default end.
pub(super) fn metrics_range(
    params: &QueryParams,
    now_nanos: u64,
) -> Result<MetricsQuery, QueryError> {
    let (start, end) = metrics_window(params, now_nanos)?;
    let step = match params.get("step") {
        None => default_step(start, end),
        Some(text) => seconds_or_duration(text)?,
    };
    metrics_query(
        metrics_text(params),
        (start, end),
        step,
        optional(params, "instant", go::parse_bool)?.unwrap_or(false),
        optional(params, "exemplars", go::parse_uint32)?,
    )
}

/// `GET /api/metrics/query`: one step over the whole window.
pub(super) fn metrics_instant(
    params: &QueryParams,
    now_nanos: u64,
) -> Result<MetricsQuery, QueryError> {
    let (start, end) = metrics_window(params, now_nanos)?;
    metrics_query(
        metrics_text(params),
        (start, end),
        i128::from(end.saturating_sub(start)),
        true,
        optional(params, "exemplars", go::parse_uint32)?,
    )
}

/// gRPC `MetricsQueryRange`; a step of 0 gets the default step.
pub(super) fn metrics_range_from_grpc(
    request: &tempopb::QueryRangeRequest,
) -> Result<MetricsQuery, QueryError> {
    let (start, end) = (request.start, request.end);
    let step = match request.step {
        0 => default_step(start, end),
        step => i128::from(step),
    };
    metrics_query(
        request.query.clone(),
        (start, end),
        step,
        request.instant.unwrap_or(false),
        (request.exemplars != 0).then_some(request.exemplars),
    )
}

/// gRPC `MetricsQueryInstant`.
pub(super) fn metrics_instant_from_grpc(
    request: &tempopb::QueryInstantRequest,
) -> Result<MetricsQuery, QueryError> {
    let (start, end) = (request.start, request.end);
    metrics_query(
        request.query.clone(),
        (start, end),
        i128::from(end.saturating_sub(start)),
        true,
        None,
    )
}

/// `q`, else the Prometheus-style `query`.
fn metrics_text(params: &QueryParams) -> String {
    params
        .get("q")
        .or_else(|| params.get("query"))
        .unwrap_or_default()
        .to_owned()
}

/// Tempo's `validateQueryRangeReq`, then the request.
fn metrics_query(
    query: String,
    (start, end): (u64, u64),
    step: i128,
    instant: bool,
    exemplars: Option<u32>,
) -> Result<MetricsQuery, QueryError> {
    if start >= end {
        return Err(bad_request("end must be greater than start"));
    }
    let range = end - start;
    let step_nanos = u64::try_from(step).unwrap_or(0);
    if step_nanos == 0 || range / step_nanos > MAX_INTERVALS {
        return Err(bad_request(format!(
            "step of {} is too small, minimum step for given range is {}",
            spangate_traceql::format_go_duration(i64::try_from(step).unwrap_or(i64::MIN)),
            spangate_traceql::format_go_duration(
                i64::try_from(range / MAX_INTERVALS).unwrap_or(i64::MAX)
            ),
        )));
    }
    Ok(MetricsQuery {
        query,
        start_nanos: start,
        end_nanos: end,
        step_nanos,
        instant,
        exemplars,
    })
}

/// Tempo's `determineBounds`: `end` defaults to now; `start` to `since` (default 1h)
/// before `end`, or before now when `end` is in the future.
fn metrics_window(params: &QueryParams, now_nanos: u64) -> Result<(u64, u64), QueryError> {
    let since = match params.get("since") {
        None => DEFAULT_SINCE_NANOS,
        Some(text) => go::parse_prometheus_duration(text)
            .map_err(|error| bad_request(format!("could not parse 'since' parameter: {error}")))?,
    };
    let timestamp = |name: &str, default: i128| match params.get(name) {
        None => Ok(default),
        Some(text) => timestamp::parse_timestamp(text)
            .map_err(|error| bad_request(format!("could not parse '{name}' parameter: {error}"))),
    };
    let now = i128::from(now_nanos);
    let end = timestamp("end", now)?;
    // Saturating: `end` may be any i128 (`-3.7e33` seconds is a valid float).
    let start = timestamp("start", end.min(now).saturating_sub(i128::from(since)))?;
    Ok((clamp_nanos(start), clamp_nanos(end)))
}

fn clamp_nanos(nanos: i128) -> u64 {
    u64::try_from(nanos.max(0)).unwrap_or(u64::MAX)
}

/// Tempo's `parseSecondsOrDuration`: float seconds (`60`, `0.5`), else a Go duration.
fn seconds_or_duration(text: &str) -> Result<i128, QueryError> {
    if let Some(seconds) = go::parse_float(text) {
        let nanos = seconds * 1e9;
        if nanos > i64::MAX as f64 || nanos < i64::MIN as f64 {
            return Err(bad_request(format!(
                "cannot parse {} to a valid duration. It overflows int64",
                go::strconv_quote(text)
            )));
        }
        return Ok(nanos as i128);
    }
    go::parse_duration(text).map(i128::from).map_err(|_| {
        bad_request(format!(
            "cannot parse {} to a valid duration",
            go::strconv_quote(text)
        ))
    })
}

/// Tempo's `DefaultQueryRangeStep`: about 240 points, rounded down to 5s, else to 1s,
/// and at least 1s.
pub(super) fn default_step(start_nanos: u64, end_nanos: u64) -> i128 {
    const SECOND: u64 = 1_000_000_000;
    let baseline = end_nanos.saturating_sub(start_nanos) / 240;
    let mut interval = baseline / (5 * SECOND) * (5 * SECOND);
    if interval < 5 * SECOND {
        interval = baseline / SECOND * SECOND;
    }
    i128::from(interval.max(SECOND))
}

#[cfg(test)]
mod tests;
