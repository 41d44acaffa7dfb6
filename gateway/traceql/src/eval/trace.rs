//! A borrowed, flattened view of one trace: spans in input order with their resource and
//! scope, trace-level facts, and (only when the query needs them) parent links.

use std::collections::HashMap;

use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};

use crate::value::{Status, trace_id_hex};

/// Where a span sits in the input: `trace[resource].scope_spans[scope].spans[span]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanLocation {
    pub resource: usize,
    pub scope: usize,
    pub span: usize,
}

/// Tempo's placeholder for a trace whose root span has not arrived.
pub const ROOT_SPAN_NOT_YET_RECEIVED: &str = "<root span not yet received>";

#[derive(Debug, Clone, Copy)]
pub(crate) struct SpanRef<'a> {
    pub span: &'a Span,
    pub resource: &'a [KeyValue],
    pub scope: Option<&'a InstrumentationScope>,
    pub location: SpanLocation,
}

impl SpanRef<'_> {
    pub(crate) fn is_root(&self) -> bool {
        is_empty_id(&self.span.parent_span_id)
    }

    pub(crate) fn duration(&self) -> u64 {
        self.span
            .end_time_unix_nano
            .saturating_sub(self.span.start_time_unix_nano)
    }
}

/// A missing parent id: empty or all zero bytes.
pub(crate) fn is_empty_id(id: &[u8]) -> bool {
    id.iter().all(|b| *b == 0)
}

/// Parent links resolved within the trace.
#[derive(Debug)]
pub(crate) struct Tree {
    pub parent: Vec<Option<u32>>,
    pub child_count: Vec<u32>,
}

pub(crate) struct TraceView<'a> {
    pub spans: Vec<SpanRef<'a>>,
    pub tree: Option<Tree>,
    pub root: Option<usize>,
    pub trace_id: &'a [u8],
    pub start: u64,
    pub end: u64,
}

impl<'a> TraceView<'a> {
    pub(crate) fn new(trace: &'a [ResourceSpans], with_tree: bool) -> Self {
        let mut spans = Vec::new();
        for (ri, rs) in trace.iter().enumerate() {
            let resource = rs.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
            for (si, ss) in rs.scope_spans.iter().enumerate() {
                for (pi, span) in ss.spans.iter().enumerate() {
                    spans.push(SpanRef {
                        span,
                        resource,
                        scope: ss.scope.as_ref(),
                        location: SpanLocation {
                            resource: ri,
                            scope: si,
                            span: pi,
                        },
                    });
                }
            }
        }
        let root = spans.iter().position(SpanRef::is_root);
        let trace_id = spans
            .iter()
            .map(|s| &s.span.trace_id[..])
            .find(|id| !id.is_empty())
            .unwrap_or(&[]);
        let start = spans
            .iter()
            .map(|s| s.span.start_time_unix_nano)
            .min()
            .unwrap_or(0);
        let end = spans
            .iter()
            .map(|s| s.span.end_time_unix_nano)
            .max()
            .unwrap_or(0);
        let tree = with_tree.then(|| build_tree(&spans));
        TraceView {
            spans,
            tree,
            root,
            trace_id,
            start,
            end,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Trace duration: latest end minus earliest start.
    pub(crate) fn duration(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    pub(crate) fn parent_of(&self, i: usize) -> Option<usize> {
        self.tree
            .as_ref()
            .and_then(|t| t.parent.get(i).copied().flatten())
            .map(|p| p as usize)
    }

    pub(crate) fn root_span(&self) -> Option<&SpanRef<'a>> {
        self.root.map(|r| &self.spans[r])
    }

    /// Trace-level summary in Tempo's search-result terms.
    pub(crate) fn summary(&self) -> TraceSummary {
        let mut service_stats: Vec<(String, ServiceStats)> = Vec::new();
        for s in &self.spans {
            let service = service_name(s.resource).unwrap_or("");
            let is_error = s
                .span
                .status
                .as_ref()
                .is_some_and(|st| Status::from_otlp(st.code) == Status::Error);
            let index = match service_stats.iter().position(|(name, _)| name == service) {
                Some(i) => i,
                None => {
                    service_stats.push((service.to_string(), ServiceStats::default()));
                    service_stats.len() - 1
                }
            };
            let stats = &mut service_stats[index].1;
            stats.span_count += 1;
            stats.error_count += u32::from(is_error);
        }
        let root = self.root_span();
        let root_service = root
            .and_then(|r| service_name(r.resource))
            .filter(|s| !s.is_empty())
            .unwrap_or(ROOT_SPAN_NOT_YET_RECEIVED);
        TraceSummary {
            trace_id: self.trace_id.to_vec(),
            root_service_name: root_service.to_string(),
            root_span_name: root.map(|r| r.span.name.clone()).unwrap_or_default(),
            start_time_unix_nano: self.start,
            duration_nanos: self.duration(),
            service_stats,
        }
    }
}

fn build_tree(spans: &[SpanRef<'_>]) -> Tree {
    let mut by_id: HashMap<&[u8], u32> = HashMap::with_capacity(spans.len());
    for (i, s) in spans.iter().enumerate() {
        if let Ok(i) = u32::try_from(i) {
            by_id.entry(&s.span.span_id[..]).or_insert(i);
        }
    }
    let mut parent = Vec::with_capacity(spans.len());
    let mut child_count = vec![0u32; spans.len()];
    for (i, s) in spans.iter().enumerate() {
        let p = if s.is_root() {
            None
        } else {
            by_id
                .get(&s.span.parent_span_id[..])
                .copied()
                .filter(|p| *p as usize != i)
        };
        if let Some(p) = p {
            child_count[p as usize] += 1;
        }
        parent.push(p);
    }
    Tree {
        parent,
        child_count,
    }
}

/// `service.name` of a resource, when it is a string.
pub(crate) fn service_name(resource: &[KeyValue]) -> Option<&str> {
    resource
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match &v.value {
            Some(any_value::Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        })
}

/// Per-service counts in a search result (`serviceStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceStats {
    pub span_count: u32,
    pub error_count: u32,
}

/// Trace-level fields of a search result.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSummary {
    pub trace_id: Vec<u8>,
    /// The root span's `service.name`, or [`ROOT_SPAN_NOT_YET_RECEIVED`].
    pub root_service_name: String,
    /// The root span's name; empty without a root.
    pub root_span_name: String,
    /// Earliest span start.
    pub start_time_unix_nano: u64,
    /// Latest span end minus earliest span start.
    pub duration_nanos: u64,
    /// Services in order of first appearance.
    pub service_stats: Vec<(String, ServiceStats)>,
}

impl TraceSummary {
    /// Summarises any trace (the same numbers search results carry); `None` without spans.
    pub fn of(trace: &[ResourceSpans]) -> Option<Self> {
        let view = TraceView::new(trace, false);
        (view.len() > 0).then(|| view.summary())
    }

    /// `durationMs` as Tempo computes it (truncating).
    pub fn duration_ms(&self) -> u32 {
        u32::try_from(self.duration_nanos / 1_000_000).unwrap_or(u32::MAX)
    }

    /// `traceID` as Tempo prints it in search results (hex, leading zeros stripped).
    pub fn trace_id_hex(&self) -> String {
        trace_id_hex(&self.trace_id)
    }
}
