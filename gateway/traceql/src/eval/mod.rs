//! Search evaluation over one trace.

mod field;
pub(crate) mod pipeline;
mod structural;
pub(crate) mod trace;

use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};

use crate::query::Query;
use crate::value::{AttrValue, hex_lower};

pub use field::FieldValue;
pub(crate) use field::{Value, compare, regex_matches};
pub(crate) use trace::TraceView;
pub use trace::{ROOT_SPAN_NOT_YET_RECEIVED, ServiceStats, SpanLocation, TraceSummary};

/// Tempo's default spans per spanset (`spss`).
pub const DEFAULT_SPANS_PER_SPANSET: u32 = 3;

/// Options for [`Query::evaluate_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchOptions {
    /// `spss`: spans returned per spanset; 0 means [`DEFAULT_SPANS_PER_SPANSET`]. Tempo
    /// keeps the first N spans of each spanset in evaluation order (trace order for
    /// plain filters) after counting them in `matched`.
    pub spans_per_spanset: u32,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            spans_per_spanset: DEFAULT_SPANS_PER_SPANSET,
        }
    }
}

/// A trace that matched a search query.
#[derive(Debug, Clone)]
pub struct TraceResult<'a> {
    pub summary: TraceSummary,
    /// At least one, each non-empty.
    pub spansets: Vec<SpansetResult<'a>>,
}

/// One spanset of a matching trace (`spanSets[]` in Tempo's response).
#[derive(Debug, Clone)]
pub struct SpansetResult<'a> {
    /// The first `spss` matched spans.
    pub spans: Vec<SpanMatch<'a>>,
    /// How many spans matched before the `spss` cut.
    pub matched: u32,
    /// Spanset-level attributes, keyed as Tempo keys them (`by(resource.service.name)`,
    /// `count()`, `avg(duration)`), in pipeline order.
    pub attributes: Vec<(String, AttrValue)>,
}

/// A returned span.
#[derive(Debug, Clone)]
pub struct SpanMatch<'a> {
    pub span: &'a Span,
    pub location: SpanLocation,
    /// The span name, only when the query touches `name` (Tempo omits it otherwise).
    pub name: Option<&'a str>,
    /// Attributes the query touched (conditions, `by()`, aggregates, `select()`), keyed
    /// without scope prefix; intrinsics `name`, `duration`, `traceDuration`, `rootName`,
    /// `rootServiceName`, `trace:id`, `span:id` are left out. Absent `select()` fields are
    /// [`AttrValue::Nil`] (Tempo's `"nil"`); absent condition fields are omitted.
    pub attributes: Vec<(String, AttrValue)>,
}

impl SpanMatch<'_> {
    /// `spanID` as Tempo prints it: 16 zero-padded hex digits.
    pub fn span_id_hex(&self) -> String {
        hex_lower(&self.span.span_id)
    }

    pub fn start_time_unix_nano(&self) -> u64 {
        self.span.start_time_unix_nano
    }

    pub fn duration_nanos(&self) -> u64 {
        self.span
            .end_time_unix_nano
            .saturating_sub(self.span.start_time_unix_nano)
    }
}

impl Query {
    /// Evaluates the search part of the query on one trace (all of its spans) with the
    /// default `spss` of 3. `None` when the trace does not match.
    pub fn evaluate<'t>(&self, trace: &'t [ResourceSpans]) -> Option<TraceResult<'t>> {
        self.evaluate_with(trace, &SearchOptions::default())
    }

    /// [`Query::evaluate`] with explicit options.
    pub fn evaluate_with<'t>(
        &self,
        trace: &'t [ResourceSpans],
        options: &SearchOptions,
    ) -> Option<TraceResult<'t>> {
        let view = TraceView::new(trace, self.plan.needs_tree);
        let sets = self.matching_spansets(&view);
        if sets.is_empty() {
            return None;
        }
        let limit = match options.spans_per_spanset {
            0 => DEFAULT_SPANS_PER_SPANSET,
            n => n,
        } as usize;
        let spansets = sets
            .into_iter()
            .map(|set| SpansetResult {
                matched: u32::try_from(set.spans.len()).unwrap_or(u32::MAX),
                spans: set
                    .spans
                    .iter()
                    .take(limit)
                    .map(|&i| self.span_match(&view, i as usize))
                    .collect(),
                attributes: set.attributes,
            })
            .collect();
        Some(TraceResult {
            summary: view.summary(),
            spansets,
        })
    }

    /// Runs the search pipeline; non-empty spansets only.
    pub(crate) fn matching_spansets(&self, view: &TraceView<'_>) -> Vec<pipeline::Spanset> {
        if view.len() == 0 {
            return Vec::new();
        }
        let all = pipeline::Spanset {
            spans: (0..view.len())
                .filter_map(|i| u32::try_from(i).ok())
                .collect(),
            attributes: Vec::new(),
        };
        let mut sets = pipeline::run_pipeline(view, self.pipeline(), vec![all]);
        sets.retain(|s| !s.spans.is_empty());
        sets
    }

    fn span_match<'a>(&self, view: &TraceView<'a>, i: usize) -> SpanMatch<'a> {
        let span_ref = view.spans[i];
        let mut attributes = Vec::with_capacity(self.plan.reported.len());
        for reported in &self.plan.reported {
            let value = view.value(&reported.field, i);
            if value.is_nil() && !reported.nil_if_absent {
                continue;
            }
            attributes.push((
                reported.field.report_key().to_string(),
                value.to_attr_value(),
            ));
        }
        SpanMatch {
            span: span_ref.span,
            location: span_ref.location,
            name: self
                .plan
                .reports_name
                .then_some(span_ref.span.name.as_str()),
            attributes,
        }
    }
}
