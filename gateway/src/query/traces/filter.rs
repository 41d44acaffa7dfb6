//! Trace-by-id v2's span filter, as Tempo's query frontend applies it: `q` is one
//! TraceQL spanset filter (`{ ... }`); the answer keeps the spans it matches, plus
//! their descendants down to `match_depth` hops (default 0: none; -1: all) and, with
//! `keep_hierarchy=true`, their ancestors up to `ancestor_depth` hops (default -1: up
//! to the root). Resource and scope groups left without spans are dropped.
//!
//! Parameters are read as Tempo reads them, with its error texts: nothing but `q` is
//! looked at while `q` is blank, and `ancestor_depth` only under `keep_hierarchy`, so a
//! parameter that could not change the answer cannot fail the request.
//! Which spans match is decided by the TraceQL evaluator search uses
//! ([`Query::evaluate_with`]); this module only checks that the query is a single
//! filter over span-level fields and walks the span tree. A filter reading event or
//! link fields is decided per (event, link) pair of a span, as Tempo binds them:
//! `{ event.a = 1 && event.b = 2 }` keeps a span only when one of its events has both.

use std::collections::{HashMap, HashSet, VecDeque};

use spangate_traceql::ast::{Field, Intrinsic, SpansetExpr, Stage};
use spangate_traceql::{Query, SearchOptions, SpanLocation, parse};

use super::super::error::QueryError;
use super::super::params::go;
use crate::model::{
    ExportTraceServiceRequest, ResourceSpans, ScopeSpans, Span, TracesData, count_spans,
    retain_spans,
};

/// At most this many (event, link) pairs of one span are evaluated (Tempo's cap): a
/// span past it may under-match, the price of bounded memory on the read path.
const MAX_BINDINGS_PER_SPAN: usize = 100_000;

/// What Tempo says, in the response's `message`, when the filter dropped spans.
pub(super) const FILTERED_MESSAGE: &str =
    "Trace filtered, only a subset of spans matching the filter is returned";

/// How far to walk from a matched span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Depth {
    /// `-1`: as far as the tree goes.
    Unbounded,
    /// `n >= 0` hops; 0 keeps no relatives.
    Hops(u64),
}

/// A parsed, checked `q` filter with its options.
#[derive(Debug)]
pub(super) struct TraceFilter {
    query: Query,
    /// The query reads an event or link field: evaluate each (event, link) pair apart.
    binds_elements: bool,
    keep_hierarchy: bool,
    match_depth: Depth,
    ancestor_depth: Depth,
}

impl TraceFilter {
    /// The filter a request asks for; `None` when `q` is absent or blank.
    pub(super) fn from_params(
        params: &HashMap<String, String>,
    ) -> Result<Option<TraceFilter>, QueryError> {
        let text = params.get("q").map_or("", |q| q.trim());
        if text.is_empty() {
            return Ok(None);
        }
        let given = |name: &str| params.get(name).filter(|value| !value.is_empty());
        let keep_hierarchy = match given("keep_hierarchy") {
            Some(raw) => {
                go::parse_bool(raw).map_err(|error| invalid_value("keep_hierarchy", error))?
            }
            None => false,
        };
        let match_depth = match given("match_depth") {
            Some(raw) => parse_depth("match_depth", raw)?,
            None => Depth::Hops(0),
        };
        let ancestor_depth = match given("ancestor_depth").filter(|_| keep_hierarchy) {
            Some(raw) => parse_depth("ancestor_depth", raw)?,
            None => Depth::Unbounded,
        };
        let query = parse(text).map_err(|error| {
            unsupported(format!("failed to parse TraceQL spanset filter: {error}"))
        })?;
        check_single_filter(&query).map_err(unsupported)?;
        Ok(Some(TraceFilter {
            binds_elements: reads_events_or_links(&query),
            query,
            keep_hierarchy,
            match_depth,
            ancestor_depth,
        }))
    }

    /// Keeps the spans the filter selects; returns whether any span was dropped.
    pub(super) fn apply(&self, data: &mut TracesData) -> bool {
        let before = count_spans(&data.resource_spans);
        let keep = self.selected_ordinals(data);
        let mut request = ExportTraceServiceRequest {
            resource_spans: std::mem::take(&mut data.resource_spans),
        };
        let mut ordinal = 0usize;
        retain_spans(&mut request, |_| {
            let kept = keep.contains(&ordinal);
            ordinal += 1;
            kept
        });
        data.resource_spans = request.resource_spans;
        count_spans(&data.resource_spans) < before
    }

    /// The kept spans, numbered in trace order (resource, scope, span).
    fn selected_ordinals(&self, data: &TracesData) -> HashSet<usize> {
        let everything = SearchOptions {
            spans_per_spanset: u32::MAX,
        };
        let matched_in = |resource_spans: &[ResourceSpans]| -> Vec<SpanLocation> {
            self.query
                .evaluate_with(resource_spans, &everything)
                .map(|result| {
                    result
                        .spansets
                        .iter()
                        .flat_map(|set| set.spans.iter().map(|span| span.location))
                        .collect()
                })
                .unwrap_or_default()
        };
        let matched: HashSet<SpanLocation> = if self.binds_elements {
            let bound = ElementBindings::of(data);
            matched_in(&bound.resource_spans)
                .into_iter()
                .map(|location| bound.origin(location))
                .collect()
        } else {
            matched_in(&data.resource_spans).into_iter().collect()
        };

        let tree = SpanTree::of(data);
        let seeds: Vec<&[u8]> = tree
            .spans
            .iter()
            .filter(|span| matched.contains(&span.location))
            .map(|span| span.id)
            .filter(|id| !is_no_id(id))
            .collect();
        let mut relatives = HashSet::new();
        if self.keep_hierarchy {
            relatives.extend(walk(&tree.parents, &seeds, self.ancestor_depth));
        }
        relatives.extend(walk(&tree.children, &seeds, self.match_depth));

        tree.spans
            .iter()
            .enumerate()
            .filter(|(_, span)| matched.contains(&span.location) || relatives.contains(span.id))
            .map(|(ordinal, _)| ordinal)
            .collect()
    }
}

/// Whether the filter reads a field with one value per event or link.
fn reads_events_or_links(query: &Query) -> bool {
    let mut reads = false;
    for stage in &query.pipeline().stages {
        if let Stage::Spanset(SpansetExpr::Filter(expr)) = stage {
            expr.for_each_field(&mut |field| reads |= field.is_multi_valued());
        }
    }
    reads
}

/// The trace with each span once per (event, link) pair, each copy carrying only that
/// event and that link (no events: one copy without; likewise links), and where each
/// copy came from. Resources and scopes keep their positions.
struct ElementBindings {
    resource_spans: Vec<ResourceSpans>,
    /// `[resource][scope][copy]`: the index of the span the copy was made from.
    origins: Vec<Vec<Vec<usize>>>,
}

impl ElementBindings {
    fn of(data: &TracesData) -> ElementBindings {
        let mut origins = Vec::with_capacity(data.resource_spans.len());
        let resource_spans = data
            .resource_spans
            .iter()
            .map(|resource_spans| {
                let mut scope_origins = Vec::with_capacity(resource_spans.scope_spans.len());
                let scope_spans = resource_spans
                    .scope_spans
                    .iter()
                    .map(|scope_spans| {
                        let mut copies = Vec::new();
                        let mut from = Vec::new();
                        for (index, span) in scope_spans.spans.iter().enumerate() {
                            bind_span(span, &mut copies);
                            from.resize(copies.len(), index);
                        }
                        scope_origins.push(from);
                        ScopeSpans {
                            scope: scope_spans.scope.clone(),
                            spans: copies,
                            schema_url: scope_spans.schema_url.clone(),
                        }
                    })
                    .collect();
                origins.push(scope_origins);
                ResourceSpans {
                    resource: resource_spans.resource.clone(),
                    scope_spans,
                    schema_url: resource_spans.schema_url.clone(),
                }
            })
            .collect();
        ElementBindings {
            resource_spans,
            origins,
        }
    }

    /// Where in the original trace a copy's span is.
    fn origin(&self, copy: SpanLocation) -> SpanLocation {
        SpanLocation {
            span: self.origins[copy.resource][copy.scope][copy.span],
            ..copy
        }
    }
}

/// Appends one copy of `span` per (event, link) pair, at most [`MAX_BINDINGS_PER_SPAN`].
fn bind_span(span: &Span, copies: &mut Vec<Span>) {
    let mut bare = span.clone();
    bare.events.clear();
    bare.links.clear();
    let events: Vec<Option<_>> = if span.events.is_empty() {
        vec![None]
    } else {
        span.events.iter().map(Some).collect()
    };
    let links: Vec<Option<_>> = if span.links.is_empty() {
        vec![None]
    } else {
        span.links.iter().map(Some).collect()
    };
    let pairs = events
        .iter()
        .flat_map(|event| links.iter().map(move |link| (*event, *link)))
        .take(MAX_BINDINGS_PER_SPAN);
    for (event, link) in pairs {
        let mut copy = bare.clone();
        copy.events.extend(event.cloned());
        copy.links.extend(link.cloned());
        copies.push(copy);
    }
}

/// `invalid value for <name>: <Go's strconv error>`.
fn invalid_value(name: &str, error: impl std::fmt::Display) -> QueryError {
    QueryError::BadRequest(format!("invalid value for {name}: {error}"))
}

fn unsupported(reason: String) -> QueryError {
    QueryError::BadRequest(format!("invalid TraceQL filter: {reason}"))
}

/// `-1` or a non-negative `strconv.Atoi` integer.
fn parse_depth(name: &str, raw: &str) -> Result<Depth, QueryError> {
    match go::atoi(raw).map_err(|error| invalid_value(name, error))? {
        -1 => Ok(Depth::Unbounded),
        n => u64::try_from(n)
            .map(Depth::Hops)
            .map_err(|_| invalid_value(name, "must be >= -1")),
    }
}

const ONLY_ONE_FILTER: &str = "only a single TraceQL filter is supported";

/// Tempo filters span by span, so it takes one `{ ... }` over span-level fields and
/// refuses the rest rather than answer it wrongly.
fn check_single_filter(query: &Query) -> Result<(), String> {
    if query.is_metrics() {
        return Err(format!("{ONLY_ONE_FILTER}: got a metrics query"));
    }
    let stages = &query.pipeline().stages;
    let whole_trace = stages.iter().any(|stage| match stage {
        Stage::ScalarFilter(_) => true,
        Stage::Spanset(expr) => !matches!(expr, SpansetExpr::Filter(_)),
        Stage::GroupBy(_) | Stage::Select(_) | Stage::Coalesce => false,
    });
    if whole_trace {
        return Err(format!(
            "{ONLY_ONE_FILTER}: got a structural or aggregate query"
        ));
    }
    let [Stage::Spanset(SpansetExpr::Filter(expr))] = stages.as_slice() else {
        return Err(format!(
            "{ONLY_ONE_FILTER}: got {} pipeline elements",
            stages.len()
        ));
    };
    let mut refused = None;
    expr.for_each_field(&mut |field| {
        if let Field::Intrinsic(intrinsic) = field
            && refused.is_none()
            && !is_span_level(*intrinsic)
        {
            refused = Some(*intrinsic);
        }
    });
    match refused {
        // Tempo's name for `childCount` carries its scope.
        Some(Intrinsic::ChildCount) => Err(not_supported("span:childCount")),
        Some(intrinsic) => Err(not_supported(intrinsic.name())),
        None => Ok(()),
    }
}

fn not_supported(name: &str) -> String {
    format!("intrinsic is not supported by this filter: \"{name}\"")
}

/// Intrinsics one span (with its events, links, resource and scope) answers alone: the
/// evaluator's span-level ones plus the span's own event and link fields; trace-level
/// ones and those needing the tree (`childCount`, `parent`) are refused.
fn is_span_level(intrinsic: Intrinsic) -> bool {
    Field::Intrinsic(intrinsic).is_span_level()
        || matches!(
            intrinsic,
            Intrinsic::EventName
                | Intrinsic::EventTimeSinceStart
                | Intrinsic::LinkSpanId
                | Intrinsic::LinkTraceId
        )
}

/// An empty or all-zero id names no span: such a span is a root, and a matched span
/// without an id has no relatives.
fn is_no_id(id: &[u8]) -> bool {
    id.iter().all(|&byte| byte == 0)
}

struct TreeSpan<'a> {
    location: SpanLocation,
    id: &'a [u8],
}

/// The spans in trace order with their links both ways, by span id (duplicate ids
/// share their relatives, as in Tempo).
struct SpanTree<'a> {
    spans: Vec<TreeSpan<'a>>,
    parents: HashMap<&'a [u8], Vec<&'a [u8]>>,
    children: HashMap<&'a [u8], Vec<&'a [u8]>>,
}

impl<'a> SpanTree<'a> {
    fn of(data: &'a TracesData) -> SpanTree<'a> {
        let mut tree = SpanTree {
            spans: Vec::new(),
            parents: HashMap::new(),
            children: HashMap::new(),
        };
        for (resource, resource_spans) in data.resource_spans.iter().enumerate() {
            for (scope, scope_spans) in resource_spans.scope_spans.iter().enumerate() {
                for (index, span) in scope_spans.spans.iter().enumerate() {
                    let id = span.span_id.as_slice();
                    let parent = span.parent_span_id.as_slice();
                    tree.spans.push(TreeSpan {
                        location: SpanLocation {
                            resource,
                            scope,
                            span: index,
                        },
                        id,
                    });
                    if is_no_id(id) || is_no_id(parent) {
                        continue;
                    }
                    let parents = tree.parents.entry(id).or_default();
                    if !parents.contains(&parent) {
                        parents.push(parent);
                    }
                    tree.children.entry(parent).or_default().push(id);
                }
            }
        }
        tree
    }
}

/// Ids reachable from `seeds` within `depth` hops over `links`, breadth first so each
/// id is reached by its shortest path (a longer path first must not hide it).
fn walk<'a>(
    links: &HashMap<&'a [u8], Vec<&'a [u8]>>,
    seeds: &[&'a [u8]],
    depth: Depth,
) -> HashSet<&'a [u8]> {
    let mut reached = HashSet::new();
    let limit = match depth {
        Depth::Hops(0) => return reached,
        Depth::Hops(n) => n,
        Depth::Unbounded => u64::MAX,
    };
    let mut queue: VecDeque<(&[u8], u64)> = seeds.iter().map(|&id| (id, 0)).collect();
    while let Some((id, hops)) = queue.pop_front() {
        if hops >= limit {
            continue;
        }
        for &next in links.get(id).into_iter().flatten() {
            // Also ends cycles, which bad instrumentation can produce.
            if reached.insert(next) {
                queue.push_back((next, hops + 1));
            }
        }
    }
    reached
}

#[cfg(test)]
mod tests;
