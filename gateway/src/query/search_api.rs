//! The contract between the search/tags/metrics endpoints (HTTP and gRPC, parsed and
//! answered in `query`) and the engine that reads the store (`crate::search`).
//!
//! Requests arrive here already validated, with Tempo's defaults applied; the engine
//! answers with Tempo's wire messages (search, metrics) or plain data (tags), and the
//! query layer shapes those into each endpoint's response.

use super::error::QueryError;
use super::tempopb;

/// What the search endpoints need from the store; implemented by `crate::search`.
/// Blocking calls (they read RocksDB): callers run them on the blocking pool.
///
/// Errors: `QueryError::BadRequest(text)` becomes a 400 (HTTP) or `INVALID_ARGUMENT`
/// (gRPC) with `text` as the message, e.g. a TraceQL parse error, which Tempo words as
/// `invalid TraceQL query: parse error at line 1, col 14: syntax error: unexpected }`.
/// `QueryError::Internal` becomes a 500 / `INTERNAL`.
pub trait SearchApi: Send + Sync + 'static {
    fn search(
        &self,
        tenant: &str,
        request: &SearchQuery,
    ) -> Result<tempopb::SearchResponse, QueryError>;
    fn tag_names(&self, tenant: &str, request: &TagNamesQuery) -> Result<TagNames, QueryError>;
    fn tag_values(
        &self,
        tenant: &str,
        request: &TagValuesQuery,
    ) -> Result<Vec<TypedTagValue>, QueryError>;
    fn metrics_query(
        &self,
        tenant: &str,
        request: &MetricsQuery,
    ) -> Result<tempopb::QueryRangeResponse, QueryError>;
}

/// A trace search (`GET /api/search`, gRPC `Search`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// The TraceQL to run: `q` as given (not validated here; a bad query is the
    /// engine's 400), or, for a legacy tag search, the query built from `tags`,
    /// `minDuration` and `maxDuration` (see `tags_search`), `{}` when there is nothing.
    pub traceql: String,
    /// True when `traceql` was built from a legacy tag search rather than given as `q`.
    /// Tempo answers those with trace summaries only: no `spanSet`, `spanSets` or
    /// `serviceStats` (recorded `search_tags_logfmt.json`, `search_empty_query.json`).
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

/// A scope of attribute names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagScope {
    Resource,
    Span,
    Event,
    Link,
    Instrumentation,
    /// Intrinsics (`name`, `status`, `span:duration`, ...): a fixed list the query layer
    /// adds itself; the engine may answer nothing for it.
    Intrinsic,
}

impl TagScope {
    /// Attribute scopes, in the order the v2 answer lists them.
    pub const ATTRIBUTE_SCOPES: [TagScope; 5] = [
        TagScope::Resource,
        TagScope::Span,
        TagScope::Event,
        TagScope::Link,
        TagScope::Instrumentation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TagScope::Resource => "resource",
            TagScope::Span => "span",
            TagScope::Event => "event",
            TagScope::Link => "link",
            TagScope::Instrumentation => "instrumentation",
            TagScope::Intrinsic => "intrinsic",
        }
    }
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

/// Asks the engine for tag names, except for scope `intrinsic`, whose names are the
/// fixed list the query layer adds itself.
pub fn fetch_tag_names(
    api: &dyn SearchApi,
    tenant: &str,
    request: &TagNamesQuery,
) -> Result<TagNames, QueryError> {
    if request.scope == Some(TagScope::Intrinsic) {
        return Ok(TagNames::default());
    }
    api.tag_names(tenant, request)
}

/// Asks the engine for a tag's values, except for the tags whose values Tempo knows
/// without looking (status and kind keywords, durations).
pub fn fetch_tag_values(
    api: &dyn SearchApi,
    tenant: &str,
    request: &TagValuesQuery,
) -> Result<Vec<TypedTagValue>, QueryError> {
    match tempopb::virtual_tag_values(&request.tag) {
        Some(values) => Ok(values),
        None => api.tag_values(tenant, request),
    }
}

/// The engine wired until search exists: every call is a 400 saying so.
pub struct Unavailable;

const UNAVAILABLE: &str = "search is not available yet";

impl SearchApi for Unavailable {
    fn search(&self, _: &str, _: &SearchQuery) -> Result<tempopb::SearchResponse, QueryError> {
        Err(QueryError::BadRequest(UNAVAILABLE.to_owned()))
    }

    fn tag_names(&self, _: &str, _: &TagNamesQuery) -> Result<TagNames, QueryError> {
        Err(QueryError::BadRequest(UNAVAILABLE.to_owned()))
    }

    fn tag_values(&self, _: &str, _: &TagValuesQuery) -> Result<Vec<TypedTagValue>, QueryError> {
        Err(QueryError::BadRequest(UNAVAILABLE.to_owned()))
    }

    fn metrics_query(
        &self,
        _: &str,
        _: &MetricsQuery,
    ) -> Result<tempopb::QueryRangeResponse, QueryError> {
        Err(QueryError::BadRequest(UNAVAILABLE.to_owned()))
    }
}
