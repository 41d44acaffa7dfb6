//! Index hints: conditions every matching trace must satisfy, for pre-filtering candidate
//! traces with the store's indexes before running the evaluator.
//!
//! # Soundness contract
//!
//! For every trace `t` on which [`Query::evaluate`] returns `Some` (and every trace that
//! contributes a span to a metrics query):
//!
//! * each [`Condition`] in [`IndexHints::conditions`] holds on at least one span of `t`
//!   ([`Condition::holds_on_some_span`]);
//! * the conditions of each of [`IndexHints::same_span_groups`] hold together on one
//!   span of `t` ([`IndexHints::group_holds_on_one_span`]): they come from one filter's
//!   top-level `&&` chain, and a filter's expression is true on a single span;
//! * the trace-level facts of `t` (duration = latest end − earliest start, root span =
//!   the span without a parent id) lie within [`IndexHints::trace`].
//!
//! Conditions are only taken where that is guaranteed: the top-level `&&` chain inside a
//! `{ }` filter, for filters reachable through `&&` between spansets, plain or union
//! structural operators (`>>`, `&>>` ...; both sides must match) and the spanset stages
//! of a pipeline. Nothing is taken from under `||`, `!`, `!=`, `!~`, nil comparisons or
//! negated structural operators (`!>>` ...).
//!
//! How a condition must be read against an index:
//! * unscoped `.name` holds on a span whose span attribute `name` satisfies it, or, when
//!   the span has no such attribute, whose resource attribute does; "span or resource"
//!   is therefore a safe superset;
//! * numeric literals match int, float and duration values numerically (`= 200` matches
//!   `200` and `200.0`); string literals only match strings;
//! * array attributes satisfy a condition when any element does;
//! * event and link attributes (`event.x`) hold when any event/link of the span does;
//! * regex conditions carry the compiled, fully anchored pattern.

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use crate::ast::{CompareOp, Field, FieldExpr, Intrinsic, Pipeline, SpansetExpr, SpansetOp, Stage};
use crate::eval::{FieldValue, TraceView, Value, compare, regex_matches};
use crate::pattern::Pattern;
use crate::query::Query;
use crate::value::Literal;

/// How a condition compares.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionOp {
    Compare(CompareOp),
    Regex(Pattern),
    NotRegex(Pattern),
}

/// `field op literal`, e.g. `resource.service.name = "api"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: Field,
    pub op: ConditionOp,
    /// The literal; for regex conditions the pattern source as a string.
    pub value: Literal,
}

impl Condition {
    /// Reads `field op literal` (or `literal op field`) from a filter expression.
    pub(crate) fn from_expr(expr: &FieldExpr) -> Option<Condition> {
        match expr {
            FieldExpr::Compare { op, lhs, rhs } => match (lhs.as_ref(), rhs.as_ref()) {
                (FieldExpr::Field(field), FieldExpr::Literal(value))
                | (FieldExpr::Literal(value), FieldExpr::Field(field))
                    if *value != Literal::Nil =>
                {
                    let op = if matches!(lhs.as_ref(), FieldExpr::Field(_)) {
                        *op
                    } else {
                        op.flipped()
                    };
                    Some(Condition {
                        field: field.clone(),
                        op: ConditionOp::Compare(op),
                        value: value.clone(),
                    })
                }
                _ => None,
            },
            FieldExpr::Regex {
                lhs,
                negated,
                pattern,
            } => match lhs.as_ref() {
                FieldExpr::Field(field) => Some(Condition {
                    field: field.clone(),
                    op: if *negated {
                        ConditionOp::NotRegex(pattern.clone())
                    } else {
                        ConditionOp::Regex(pattern.clone())
                    },
                    value: Literal::Str(pattern.source().to_string()),
                }),
                _ => None,
            },
            _ => None,
        }
    }

    /// True when the condition excludes no value that could satisfy it positively, i.e.
    /// it is not a negation (`!=`, `!~`).
    fn is_positive(&self) -> bool {
        !matches!(
            self.op,
            ConditionOp::Compare(CompareOp::Neq) | ConditionOp::NotRegex(_)
        )
    }

    pub(crate) fn matches_span(&self, view: &TraceView<'_>, i: usize) -> bool {
        view.for_each_value(&self.field, i, &mut |v| self.matches_value(v))
    }

    /// True when a span whose [`Condition::field`] has `value` satisfies the condition:
    /// exactly the evaluator's comparison (nil satisfies nothing, not even `!=`; ints,
    /// floats and durations compare numerically; other types only with their own type;
    /// arrays match `=`, `=~` and orderings when any element does, `!=` and `!~` when every
    /// element does; ids compare with hex strings; regexes are fully anchored; statuses,
    /// kinds and booleans support only `=` and `!=`).
    ///
    /// A columnar store can call this once per distinct value of a dictionary-encoded
    /// column and mark the rows holding the matching values. For an unscoped field (`.x`)
    /// the value is [`crate::resolve_unscoped`]'s; for event and link fields (several
    /// values per span) the condition holds when any of them matches.
    pub fn matches_value(&self, value: FieldValue<'_>) -> bool {
        match &self.op {
            ConditionOp::Compare(op) => compare(*op, value, Value::from_literal(&self.value)),
            ConditionOp::Regex(p) => regex_matches(p, false, value),
            ConditionOp::NotRegex(p) => regex_matches(p, true, value),
        }
    }

    /// True when some span of `trace` satisfies the condition (the contract above).
    pub fn holds_on_some_span(&self, trace: &[ResourceSpans]) -> bool {
        let needs_tree = self.field == Field::Intrinsic(Intrinsic::ChildCount);
        let view = TraceView::new(trace, needs_tree);
        (0..view.len()).any(|i| self.matches_span(&view, i))
    }
}

/// Trace-level bounds from `traceDuration`, `rootServiceName` and `rootName` conditions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceBounds {
    /// Trace duration is at least this (nanoseconds).
    pub min_duration_nanos: Option<u64>,
    /// Trace duration is at most this (nanoseconds).
    pub max_duration_nanos: Option<u64>,
    /// The root span's `service.name` equals this (so the trace has a root span).
    pub root_service_name: Option<String>,
    /// The root span's name equals this.
    pub root_name: Option<String>,
    /// The bounds contradict each other: no trace can match.
    pub unsatisfiable: bool,
}

impl TraceBounds {
    /// Checks a trace summary against the bounds.
    pub fn admits(
        &self,
        duration_nanos: u64,
        root_service_name: Option<&str>,
        root_name: Option<&str>,
    ) -> bool {
        !self.unsatisfiable
            && self
                .min_duration_nanos
                .is_none_or(|min| duration_nanos >= min)
            && self
                .max_duration_nanos
                .is_none_or(|max| duration_nanos <= max)
            && self
                .root_service_name
                .as_deref()
                .is_none_or(|want| root_service_name == Some(want))
            && self
                .root_name
                .as_deref()
                .is_none_or(|want| root_name == Some(want))
    }

    fn add(&mut self, condition: &Condition) -> bool {
        let Field::Intrinsic(intrinsic) = &condition.field else {
            return false;
        };
        let ConditionOp::Compare(op) = condition.op else {
            return intrinsic.is_trace_level() && *intrinsic != Intrinsic::TraceId;
        };
        match intrinsic {
            Intrinsic::TraceDuration => {
                let nanos = match condition.value {
                    Literal::Duration(d) | Literal::Int(d) => i128::from(d),
                    _ => return true, // Not usable, but also not a span condition.
                };
                let at_least = |b: &mut Self, n: i128| {
                    let n = u64::try_from(n.max(0)).unwrap_or(u64::MAX);
                    b.min_duration_nanos = Some(b.min_duration_nanos.map_or(n, |m| m.max(n)));
                };
                let at_most = |b: &mut Self, n: i128| {
                    if n < 0 {
                        b.unsatisfiable = true;
                        return;
                    }
                    let n = u64::try_from(n).unwrap_or(u64::MAX);
                    b.max_duration_nanos = Some(b.max_duration_nanos.map_or(n, |m| m.min(n)));
                };
                match op {
                    CompareOp::Gt => at_least(self, nanos + 1),
                    CompareOp::Gte => at_least(self, nanos),
                    CompareOp::Lt => at_most(self, nanos - 1),
                    CompareOp::Lte => at_most(self, nanos),
                    CompareOp::Eq => {
                        at_least(self, nanos);
                        at_most(self, nanos);
                    }
                    CompareOp::Neq => {}
                }
                if let (Some(min), Some(max)) = (self.min_duration_nanos, self.max_duration_nanos)
                    && min > max
                {
                    self.unsatisfiable = true;
                }
                true
            }
            Intrinsic::RootServiceName | Intrinsic::RootName => {
                if let (CompareOp::Eq, Literal::Str(want)) = (op, &condition.value) {
                    let slot = if *intrinsic == Intrinsic::RootName {
                        &mut self.root_name
                    } else {
                        &mut self.root_service_name
                    };
                    match slot {
                        Some(existing) if existing != want => self.unsatisfiable = true,
                        _ => *slot = Some(want.clone()),
                    }
                }
                true
            }
            _ => false,
        }
    }
}

/// What [`Query::required_conditions`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexHints {
    /// Span-level conditions; each holds on some span of every matching trace.
    pub conditions: Vec<Condition>,
    /// Conditions that hold together on one span (one `{ }` filter's `&&` chain), as
    /// indexes into `conditions`: every matching trace has a span satisfying all the
    /// conditions of each group at once.
    pub same_span_groups: Vec<Vec<usize>>,
    /// Trace-level bounds every matching trace satisfies.
    pub trace: TraceBounds,
}

impl IndexHints {
    /// True when one span of `trace` satisfies every condition of `group` (one of
    /// `same_span_groups`) at once: the contract for every matching trace.
    pub fn group_holds_on_one_span(&self, group: &[usize], trace: &[ResourceSpans]) -> bool {
        let needs_tree = group.iter().any(|&i| {
            self.conditions
                .get(i)
                .is_some_and(|c| c.field == Field::Intrinsic(Intrinsic::ChildCount))
        });
        let view = TraceView::new(trace, needs_tree);
        (0..view.len()).any(|span| {
            group.iter().all(|&i| {
                self.conditions
                    .get(i)
                    .is_some_and(|c| c.matches_span(&view, span))
            })
        })
    }
}

impl Query {
    /// Conditions every matching trace satisfies; see the module docs for the contract.
    pub fn required_conditions(&self) -> IndexHints {
        let mut hints = IndexHints::default();
        collect_pipeline(self.pipeline(), &mut hints);
        hints
    }
}

fn collect_pipeline(pipeline: &Pipeline, hints: &mut IndexHints) {
    // Every stage filters the output of the previous one, so a span satisfying each
    // spanset stage's conditions exists whenever the pipeline returns anything.
    for stage in &pipeline.stages {
        if let Stage::Spanset(expr) = stage {
            collect_spanset(expr, hints);
        }
    }
}

fn collect_spanset(expr: &SpansetExpr, hints: &mut IndexHints) {
    match expr {
        SpansetExpr::Filter(e) => {
            let mut conjuncts = Vec::new();
            top_level_conjuncts(e, &mut conjuncts);
            let mut group = Vec::new();
            for conjunct in conjuncts {
                let Some(condition) = Condition::from_expr(conjunct) else {
                    continue;
                };
                if !condition.is_positive() || hints.trace.add(&condition) {
                    continue;
                }
                let index = match hints.conditions.iter().position(|c| *c == condition) {
                    Some(index) => index,
                    None => {
                        hints.conditions.push(condition);
                        hints.conditions.len() - 1
                    }
                };
                if !group.contains(&index) {
                    group.push(index);
                }
            }
            if !group.is_empty() {
                hints.same_span_groups.push(group);
            }
        }
        SpansetExpr::Op { op, lhs, rhs } => {
            // Both sides must have matched for `&&`, plain and union structural results.
            if *op == SpansetOp::Or || op.is_negated() {
                return;
            }
            collect_spanset(lhs, hints);
            collect_spanset(rhs, hints);
        }
        SpansetExpr::Pipeline(p) => collect_pipeline(p, hints),
    }
}

fn top_level_conjuncts<'a>(e: &'a FieldExpr, out: &mut Vec<&'a FieldExpr>) {
    match e {
        FieldExpr::And(a, b) => {
            top_level_conjuncts(a, out);
            top_level_conjuncts(b, out);
        }
        other => out.push(other),
    }
}
