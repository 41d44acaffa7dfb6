//! TraceQL for spangate's Tempo-compatible query API.
//!
//! * [`parse`]: text → [`Query`], or a [`ParseError`] formatted like Tempo's
//!   (`parse error at line 1, col 14: syntax error: unexpected }`). `Query` implements
//!   `Display` as canonical TraceQL that parses back to an equal query.
//! * [`parse_lenient`]: the usable conditions of an incomplete query (tag-value
//!   autocompletion), never an error.
//! * [`Query::evaluate`]: search over one trace (`&[ResourceSpans]`, all its spans) →
//!   [`TraceResult`] with spansets, `matched`, spanset and span attributes and the
//!   trace summary (root service/name, start, duration, `serviceStats`).
//! * [`Query::required_conditions`]: conditions for index pre-filtering (see [`hints`]
//!   for the soundness contract).
//! * [`MetricsEvaluator`]: TraceQL metrics over many traces → series.
//! * Columnar evaluation (a store that keeps spans as columns evaluates filters and
//!   metrics without building traces, with the evaluator's exact semantics):
//!   [`Query::span_predicate`] gives a filter as a [`SpanPredicate`] tree of single-field
//!   leaves, each decided by one [`FieldValue`] ([`Condition::matches_value`],
//!   [`SpanPredicate::leaf_matches`]), so a leaf can be evaluated once per distinct
//!   dictionary value; [`Field::is_span_level`](ast::Field::is_span_level) documents how
//!   a column must produce each field's value and [`resolve_unscoped`] how `.x` reads.
//!   [`MetricsEvaluator::span_inputs`] / [`MetricsEvaluator::observe_span`] feed a
//!   metrics query span by span, [`MetricsEvaluator::add_counts`] with pre-counted
//!   `rate()`/`count_over_time()` totals (see [`metrics`] for exemplars). `None` or a
//!   [`ColumnarError`] means the query needs whole traces.
//!
//! # Supported
//!
//! Spanset filters with every comparison (`= != > >= < <= =~ !~`), `&&`, `||`, `!`,
//! arithmetic (`+ - * / % ^`) and parentheses; intrinsics `name status statusMessage
//! kind duration childCount traceDuration rootName rootServiceName parent` and
//! `span:{name,status,statusMessage,kind,duration,id,parentID,childCount}`,
//! `trace:{duration,rootName,rootService,id}`, `event:{name,timeSinceStart}`,
//! `link:{spanID,traceID}`, `instrumentation:{name,version}`; attributes `span.`,
//! `resource.`, `event.`, `link.`, `instrumentation.`, unscoped `.x` and quoted names
//! (`span."a b"`); literals: strings (Go escapes, raw strings), ints, floats, durations
//! (`ns us µs ms s m h d w y`, `1.5s`, `1h30m`), `true false nil`, statuses, kinds.
//! Between spansets: `&&`, `||`, `> < >> << ~`, `&> &< &>> &<< &~`, `!> !< !>> !<< !~`.
//! Pipelines: `count()/avg/min/max/sum(f) op number`, `by(expr)`, `select(fields)`,
//! `coalesce()`, further `{ }` stages, parenthesised pipelines. Metrics: `rate`,
//! `count_over_time`, `min/max/avg/sum_over_time`, `quantile_over_time`,
//! `histogram_over_time`, each with `by(...)`; hints `with(exemplars=...)` and
//! `with(most_recent=...)`.
//!
//! # Rejected as [`ParseError::Unsupported`]
//!
//! `compare()`, `topk`/`bottomk`, arithmetic between metrics queries or scalar
//! pipelines (`({..} | count()) > 1`), scalar filters that are not `aggregate op number`,
//! regex with a non-literal pattern, `parent.`-scoped attributes, `nestedSet*`
//! intrinsics, comparing `parent` with anything but `nil`, structural operators over
//! grouped spansets (`({} | by(x)) >> {}`; Tempo fails these at run time), and any hint
//! other than `exemplars` and `most_recent`.
//!
//! # Semantics decisions (Tempo's, unless noted)
//!
//! * Regexes are RE2-style and **fully anchored**, with `.` matching newlines: Tempo
//!   matches through Prometheus' `FastRegexMatcher` (`^(?s:…)$`). They compile once, at
//!   parse time.
//! * `&&` and `||` have the **same precedence** and associate left, inside filters and
//!   between spansets (`{ a || b && c }` is `{ (a || b) && c }`); structural operators
//!   bind tighter; `!` binds tighter than comparisons (`!a = b` is `(!a) = b`).
//! * Unscoped `.x` reads the span attribute, else the resource attribute.
//! * The whole filter must hold on one span. An absent value satisfies no comparison,
//!   not even `!=`; `= nil`/`!= nil` test absence/presence; `parent = nil` selects root
//!   spans (no parent id). Values of different types never compare (an int attribute is
//!   neither `=` nor `!=` a string); ints, floats and durations compare numerically
//!   (durations in nanoseconds, so `duration > 100` means 100ns).
//! * Arrays: `=`, `=~` and orderings match when any element does; `!=`, `!~` when every
//!   element does. Event/link fields match when any event/link does (each condition on
//!   its own).
//! * `!expr` negates logically (Tempo's storage layer pushes the inner predicate down,
//!   so `{ !(.a = 1) }` finds nothing in Tempo; here it finds spans where `.a = 1` is
//!   false, including spans without `.a`). Non-boolean operands of `&&`, `||`, `!` are
//!   false (Tempo errors).
//! * `{A} && {B}`: both non-empty, union of spans (the side with fewer spans first, as
//!   Tempo's `uniqueSpans`); `||`: union of the non-empty sides. Structural operators
//!   return the right-hand spans related to some left-hand span (`{a} >> {b}`: `b` spans
//!   with an `a` ancestor), in right-hand order; `!` forms the right-hand spans related to
//!   none (all of them when the left side matched nothing); `&` forms both spans of every
//!   related pair, listed in trace order. Root spans are siblings of each other (Tempo's
//!   nested-set model); parent links are resolved within the trace.
//! * `int ^ int` is `lhs` to the power `rhs` (Tempo computes `rhs^lhs`, a bug).
//! * `spss`: [`SearchOptions::spans_per_spanset`], default 3 (0 = default); the first
//!   N spans of each spanset in evaluation order are kept after counting `matched`.
//! * Span attributes in results: the fields the query touches, keyed without scope,
//!   statuses and kinds as strings; the span name only when the query touches `name`.
//! * A query whose every stage drops all spansets returns no trace, even after
//!   `coalesce()` (Tempo can return an empty spanset there).
//! * Spanset attribute keys print string literals with double quotes
//!   (`by(.a = "x")`); Tempo prints backticks there.
//! * Metrics: see [`metrics`] (interval model, labels, exemplars); range queries are
//!   limited to [`metrics::MAX_INTERVALS`] intervals.
//! * Span predicates: only one `{ }` filter (a metrics function may follow) over
//!   span-level fields has one: the span fields, resource and scope attributes, `.x`,
//!   `instrumentation:name/version` and `span:parentID` (nil when empty or all zero). Not
//!   `parent` (also span-local, but kept with the structural fields), `childCount`,
//!   trace-level intrinsics, event/link fields, arithmetic, field-vs-field comparisons,
//!   spanset operators or later stages. `{ span.flag }` holds only for the boolean `true`
//!   and `{ !span.flag }` only for `false` (neither for arrays or other types), so the
//!   tree has a separate [`SpanPredicate::Bool`] leaf; `!` over comparisons is the plain
//!   complement.

pub mod ast;
mod error;
pub mod eval;
pub mod hints;
mod lenient;
mod lexer;
pub mod metrics;
mod parser;
mod pattern;
mod query;
mod span_predicate;
mod value;

pub use error::ParseError;
pub use eval::{
    DEFAULT_SPANS_PER_SPANSET, FieldValue, ROOT_SPAN_NOT_YET_RECEIVED, SearchOptions, ServiceStats,
    SpanLocation, SpanMatch, SpansetResult, TraceResult, TraceSummary,
};
pub use hints::{Condition, ConditionOp, IndexHints, TraceBounds};
pub use lenient::{LenientQuery, MAX_CONDITION_GROUPS, parse_lenient};
pub use metrics::{
    ColumnarError, MetricsError, MetricsEvaluator, Series, SpanInputs, SpanObservation,
};
pub use parser::parse;
pub use pattern::Pattern;
pub use query::Query;
pub use span_predicate::{SpanPredicate, resolve_unscoped};
pub use value::{AttrValue, Kind, Literal, Status, format_go_duration, hex_lower, trace_id_hex};
