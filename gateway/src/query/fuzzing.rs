//! The query API's parameter parsers, for the fuzz targets (`fuzz/`, re-exported by
//! `crate::fuzzing`): what each HTTP route does with the query string's pairs (and
//! the tag-values route with its path segment) before anything reads the store. The
//! parsed queries are crate types, so the parts the targets check are copied out.

use std::collections::HashMap;

use super::params::{self, QueryParams};
use super::traces::parse_window;
use crate::search::TagName;
use crate::store::TimeWindow;

/// What `GET /api/search` parsed: the TraceQL (given, or rewritten from a legacy tag
/// search when `from_tags`), `limit`, `spss` and the window in unix seconds.
#[derive(Debug)]
pub struct ParsedSearch {
    pub traceql: String,
    pub from_tags: bool,
    pub limit: u32,
    pub spss: u32,
    pub window: (Option<u32>, Option<u32>),
}

pub fn parse_search(pairs: Vec<(String, String)>) -> Result<ParsedSearch, String> {
    let query = params::search(&QueryParams::new(pairs)).map_err(|error| error.to_string())?;
    Ok(ParsedSearch {
        traceql: query.traceql,
        from_tags: query.tags_search,
        limit: query.limit,
        spss: query.spss,
        window: (query.start_unix_secs, query.end_unix_secs),
    })
}

/// `GET /api/search/tags` and `/api/v2/search/tags`: `[start, end, limit]`.
pub fn parse_tag_names(pairs: Vec<(String, String)>) -> Result<[Option<u32>; 3], String> {
    let query = params::tag_names(&QueryParams::new(pairs)).map_err(|error| error.to_string())?;
    Ok([query.start_unix_secs, query.end_unix_secs, query.limit])
}

/// `GET /api/search/tag/{raw_name}/values` (`v2` false) and `/api/v2/...` (`v2` true):
/// the tag, and whether it was read as a TraceQL identifier.
pub fn parse_tag_values(
    raw_name: &str,
    v2: bool,
    pairs: Vec<(String, String)>,
) -> Result<(String, bool), String> {
    let query = params::tag_values(raw_name, v2, &QueryParams::new(pairs))
        .map_err(|error| error.to_string())?;
    let identifier = matches!(query.tag, TagName::Identifier(_));
    Ok((query.tag.as_str().to_owned(), identifier))
}

/// `GET /api/metrics/query_range` (`instant` false) and `/api/metrics/query` (true),
/// with `now_nanos` as the clock: window start, end and step in nanoseconds.
pub fn parse_metrics(
    pairs: Vec<(String, String)>,
    now_nanos: u64,
    instant: bool,
) -> Result<(u64, u64, u64), String> {
    let params = QueryParams::new(pairs);
    let query = if instant {
        params::metrics_instant(&params, now_nanos)
    } else {
        params::metrics_range(&params, now_nanos)
    }
    .map_err(|error| error.to_string())?;
    Ok((query.start_nanos, query.end_nanos, query.step_nanos))
}

/// The window of `GET /api/traces/{id}` and `/api/v2/traces/{id}`.
pub fn parse_trace_window(params: &HashMap<String, String>) -> Result<Option<TimeWindow>, String> {
    parse_window(params).map_err(|error| error.to_string())
}
