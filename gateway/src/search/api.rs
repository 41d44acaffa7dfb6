//! The contract between the search/tags/metrics endpoints (HTTP and gRPC, parsed and
//! answered in `query`) and the engine that reads the store, and the engine's side of it.
//!
//! Requests arrive already validated, with Tempo's defaults applied; the engine answers
//! with its own results ([`SearchOutcome`], [`TagNames`], [`TypedTagValue`],
//! [`MetricsResult`]) and the query layer shapes those into each endpoint's Tempo
//! message. Errors: [`SearchError::Invalid`] is the client's fault (a 400 or
//! `INVALID_ARGUMENT` carrying its text, e.g. Tempo's `invalid TraceQL query: parse
//! error at line 1, col 14: syntax error: unexpected }`); [`SearchError::Store`] is ours.

use spangate_traceql::{ParseError, Query, parse};

use super::metrics::{MetricsRequest, MetricsResult};
use super::tenants::merge_outcomes;
use super::{SearchEngine, SearchError, SearchOutcome, SearchRequest};
pub(crate) use crate::model::TagScope;
use crate::store::TimeWindow;

/// What the search endpoints need from the store; implemented by [`SearchEngine`] (and
/// by fakes in the query layer's tests). Blocking calls (they read RocksDB): callers
/// run them on the blocking pool.
///
/// `tenants` are the tenants the request reads: one, or several (sorted, distinct) for
/// a multi-tenant query, answered as Tempo's query frontend combines its per-tenant
/// answers: search results merged by trace id, tag names and values united, metrics
/// over the spans of all of them.
pub trait SearchApi: Send + Sync + 'static {
    fn search(
        &self,
        tenants: &[String],
        request: &SearchQuery,
    ) -> Result<SearchOutcome, SearchError>;
    fn tag_names(
        &self,
        tenants: &[String],
        request: &TagNamesQuery,
    ) -> Result<TagNames, SearchError>;
    fn tag_values(
        &self,
        tenants: &[String],
        request: &TagValuesQuery,
    ) -> Result<Vec<TypedTagValue>, SearchError>;
    fn metrics_query(
        &self,
        tenants: &[String],
        request: &MetricsQuery,
    ) -> Result<MetricsResult, SearchError>;
}

/// A trace search (`GET /api/search`, gRPC `Search`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// The TraceQL to run: `q` as given (not validated here; a bad query is the
    /// engine's 400), or, for a legacy tag search, the query built from `tags`,
    /// `minDuration` and `maxDuration` (see `tags_search`), `{}` when there is nothing.
    pub traceql: String,
    /// True when `traceql` was built from a legacy tag search rather than given as `q`.
    /// The engine ignores it; the query layer answers those with trace summaries only,
    /// as Tempo does.
    pub tags_search: bool,
    /// Traces to return, newest first: `limit`, default 20, never 0.
    pub limit: u32,
    /// Spans kept per spanset: `spss`, default 3, never 0.
    pub spss: u32,
    /// Window start in unix seconds; `None` when not given (or 0). When both bounds are
    /// set, `start < end`. Without a window Tempo searches recent data only; searching
    /// everything is fine too.
    pub start_unix_secs: Option<u32>,
    /// Window end in unix seconds, `None` when not given (or 0).
    pub end_unix_secs: Option<u32>,
}

/// Tag-name lookup (`/api/search/tags`, `/api/v2/search/tags`, gRPC `SearchTags*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagNamesQuery {
    /// `scope`; `None` for all attribute scopes (`scope` absent, empty or `none`).
    pub scope: Option<TagScope>,
    /// `q`: a TraceQL spanset filter restricting which spans contribute names. It may be
    /// incomplete or invalid (it is typed as the user types): ignore it then, never fail.
    pub query: Option<String>,
    /// Window in unix seconds, `None` when absent or 0.
    pub start_unix_secs: Option<u32>,
    pub end_unix_secs: Option<u32>,
    /// `limit`: at most this many names per scope; `None` for no limit. The query layer
    /// also cuts each scope to it.
    pub limit: Option<u32>,
}

/// Attribute names found, per scope, in any order and possibly repeated: the query
/// layer sorts, de-duplicates, applies the limit and adds the intrinsic list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagNames {
    pub resource: Vec<String>,
    pub span: Vec<String>,
    pub event: Vec<String>,
    pub link: Vec<String>,
    pub instrumentation: Vec<String>,
    /// Reported as `metrics.inspectedBytes` (informational).
    pub inspected_bytes: u64,
}

impl TagNames {
    /// The names of one attribute scope (empty for `Intrinsic`).
    pub fn scope(&self, scope: TagScope) -> &[String] {
        match scope {
            TagScope::Resource => &self.resource,
            TagScope::Span => &self.span,
            TagScope::Event => &self.event,
            TagScope::Link => &self.link,
            TagScope::Instrumentation => &self.instrumentation,
            TagScope::Intrinsic => &[],
        }
    }
}

/// Which tag a value lookup is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagName {
    /// v1 (`/api/search/tag/{name}/values`, gRPC `SearchTagValues`): a bare attribute
    /// name such as `service.name`, looked up in every scope.
    Attribute(String),
    /// v2 (`/api/v2/...`, gRPC `SearchTagValuesV2`): a TraceQL identifier, checked
    /// for shape by the query layer: `resource.service.name`, `span.http.method`,
    /// `.service.name` (span, else resource), `span."a b"`, or an intrinsic such as
    /// `name`, `status`, `kind`, `span:status`, `trace:rootService`, `event:name`.
    Identifier(String),
}

impl TagName {
    pub fn as_str(&self) -> &str {
        match self {
            TagName::Attribute(name) | TagName::Identifier(name) => name,
        }
    }
}

/// Tag-value lookup (`/api/search/tag/{name}/values`, `/api/v2/...`, gRPC `SearchTagValues*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagValuesQuery {
    /// The tag, percent-decoded (twice when Grafana double-encoded it).
    pub tag: TagName,
    /// `q`: a TraceQL filter on the spans whose values count, built by Grafana from the
    /// other filters (`{ resource.service.name = "api" }`). It may be incomplete
    /// (`{ resource.cluster = }`): use the conditions that parse, or ignore it; never fail.
    pub query: Option<String>,
    /// Window in unix seconds, `None` when absent or 0.
    pub start_unix_secs: Option<u32>,
    pub end_unix_secs: Option<u32>,
    /// `limit`: at most this many values; `None` for no limit. The query layer also cuts
    /// the answer to it.
    pub limit: Option<u32>,
}

/// The type of a tag value, as Tempo names it in v2 answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TagValueKind {
    String,
    Int,
    Float,
    Bool,
    Duration,
    /// Enum intrinsics: `status` (`error`, `ok`, `unset`) and `kind` (`server`, ...).
    Keyword,
}

impl TagValueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TagValueKind::String => "string",
            TagValueKind::Int => "int",
            TagValueKind::Float => "float",
            TagValueKind::Bool => "bool",
            TagValueKind::Duration => "duration",
            TagValueKind::Keyword => "keyword",
        }
    }
}

/// One distinct value, in display form: `"200"` for an int, `"true"`, `"1.5"`,
/// durations as Go prints them (`"1.5s"`), keywords bare (`"error"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypedTagValue {
    pub kind: TagValueKind,
    pub value: String,
}

/// Sorted by type name, then value (Tempo's answers are unordered; sorted is stabler).
impl Ord for TypedTagValue {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.kind.as_str(), &self.value).cmp(&(other.kind.as_str(), &other.value))
    }
}

impl PartialOrd for TypedTagValue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A TraceQL metrics query (`/api/metrics/query_range`, `/api/metrics/query`, gRPC
/// `MetricsQueryRange`, `MetricsQueryInstant`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsQuery {
    /// The TraceQL metrics query (`q`, or legacy `query`), not validated here.
    pub query: String,
    /// Window in unix nanoseconds, `start_nanos < end_nanos`. Defaults: end = now,
    /// start = end (or now, if end is in the future) minus `since` (default 1h).
    pub start_nanos: u64,
    pub end_nanos: u64,
    /// Step in nanoseconds, > 0 and at most 10 000 intervals in the window. Default
    /// as Tempo's `DefaultQueryRangeStep` (window / 240, rounded down to 5s, else to 1s,
    /// at least 1s); for an instant query, the whole window.
    pub step_nanos: u64,
    /// An instant query: answer one sample per series covering the whole window (the
    /// query layer keeps each series' first sample for `/api/metrics/query`).
    pub instant: bool,
    /// `exemplars`: the maximum number of exemplars wanted; `None` when not given
    /// (use the default), `Some(0)` when explicitly 0.
    pub exemplars: Option<u32>,
}

const SECOND: u64 = 1_000_000_000;

fn parse_query(text: &str) -> Result<Query, SearchError> {
    parse(text).map_err(|error: ParseError| {
        SearchError::Invalid(format!("invalid TraceQL query: {error}"))
    })
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
        tenants: &[String],
        request: &SearchQuery,
    ) -> Result<SearchOutcome, SearchError> {
        let query = parse_query(&request.traceql)?;
        if query.is_metrics() {
            return Err(SearchError::Invalid(
                "invalid TraceQL query: metrics queries are served by /api/metrics/query_range"
                    .to_owned(),
            ));
        }
        let search = SearchRequest {
            query: &query,
            limit: request.limit as usize,
            spans_per_spanset: request.spss,
            window: window(request.start_unix_secs, request.end_unix_secs),
        };
        let mut outcomes = Vec::with_capacity(tenants.len());
        for tenant in tenants {
            outcomes.push(SearchEngine::search(self, tenant, &search)?);
        }
        Ok(merge_outcomes(outcomes, search.limit))
    }

    fn tag_names(
        &self,
        tenants: &[String],
        request: &TagNamesQuery,
    ) -> Result<TagNames, SearchError> {
        let mut names = TagNames::default();
        for tenant in tenants {
            for (scope, keys) in SearchEngine::tag_names(self, tenant, request.scope)? {
                let list = match scope {
                    TagScope::Resource => &mut names.resource,
                    TagScope::Span => &mut names.span,
                    TagScope::Event => &mut names.event,
                    TagScope::Link => &mut names.link,
                    TagScope::Instrumentation => &mut names.instrumentation,
                    TagScope::Intrinsic => continue,
                };
                list.extend(keys);
            }
        }
        if tenants.len() > 1 {
            let max = self.settings.max_tag_names;
            for list in [
                &mut names.resource,
                &mut names.span,
                &mut names.event,
                &mut names.link,
                &mut names.instrumentation,
            ] {
                list.sort_unstable();
                list.dedup();
                list.truncate(max);
            }
        }
        Ok(names)
    }

    fn tag_values(
        &self,
        tenants: &[String],
        request: &TagValuesQuery,
    ) -> Result<Vec<TypedTagValue>, SearchError> {
        let tag = match &request.tag {
            // v1 names are bare attribute keys, looked up in every scope.
            TagName::Attribute(key) => format!(".{key}"),
            TagName::Identifier(identifier) => identifier.clone(),
        };
        let mut values = Vec::new();
        for tenant in tenants {
            values.extend(SearchEngine::tag_values(
                self,
                tenant,
                &tag,
                request.query.as_deref(),
            )?);
        }
        if tenants.len() > 1 {
            values.sort_unstable();
            values.dedup();
            values.truncate(self.settings.max_tag_values);
        }
        Ok(values)
    }

    fn metrics_query(
        &self,
        tenants: &[String],
        request: &MetricsQuery,
    ) -> Result<MetricsResult, SearchError> {
        let query = parse_query(&request.query)?;
        SearchEngine::metrics(
            self,
            tenants,
            &MetricsRequest {
                query: &query,
                start: request.start_nanos,
                end: request.end_nanos,
                step: (!request.instant).then_some(request.step_nanos),
                exemplars: request.exemplars.unwrap_or(0),
            },
        )
    }
}
