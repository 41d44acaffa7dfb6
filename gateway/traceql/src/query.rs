//! A parsed query plus what evaluation needs to know about it up front.

use std::fmt;

use crate::ast::{Field, Intrinsic, MetricsStage, Pipeline, SpansetExpr, SpansetOp, Stage};
use crate::value::Literal;

/// A parsed TraceQL query: a search pipeline, optionally followed by a metrics function,
/// and query hints.
#[derive(Debug, Clone)]
pub struct Query {
    pipeline: Pipeline,
    metrics: Option<MetricsStage>,
    hints: Vec<crate::ast::Hint>,
    pub(crate) plan: Plan,
}

/// Facts derived from the tree once, so per-trace evaluation does no analysis.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    /// Parent links are needed (structural operators, `childCount`).
    pub needs_tree: bool,
    /// Fields reported on every returned span, in query order.
    pub reported: Vec<ReportedField>,
    /// The query touches `name`, so Tempo returns the span name.
    pub reports_name: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReportedField {
    pub field: Field,
    /// `select()` fields report absent values as `"nil"`; condition fields are omitted.
    pub nil_if_absent: bool,
}

impl PartialEq for Query {
    fn eq(&self, other: &Self) -> bool {
        self.pipeline == other.pipeline
            && self.metrics == other.metrics
            && self.hints == other.hints
    }
}

impl Query {
    /// Builds a query from parts. [`crate::parse`] is the usual way; a tree built here is
    /// not type-checked, but evaluating it never panics (ill-typed comparisons are false).
    pub fn new(
        pipeline: Pipeline,
        metrics: Option<MetricsStage>,
        hints: Vec<crate::ast::Hint>,
    ) -> Self {
        let plan = Plan::for_query(&pipeline, metrics.as_ref());
        Query {
            pipeline,
            metrics,
            hints,
            plan,
        }
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The metrics stage (`| rate() by (...)`), if this is a metrics query.
    pub fn metrics(&self) -> Option<&MetricsStage> {
        self.metrics.as_ref()
    }

    pub fn is_metrics(&self) -> bool {
        self.metrics.is_some()
    }

    pub fn hints(&self) -> &[crate::ast::Hint] {
        &self.hints
    }

    /// `with(most_recent=true)`.
    pub fn most_recent(&self) -> bool {
        self.hint("most_recent") == Some(&Literal::Bool(true))
    }

    /// The exemplar limit after applying `with(exemplars=...)`: `false` → 0, an integer
    /// → that number, `true` or no hint → `requested`.
    pub fn exemplar_limit(&self, requested: u32) -> u32 {
        match self.hint("exemplars") {
            Some(Literal::Bool(false)) => 0,
            Some(Literal::Int(n)) => u32::try_from((*n).max(0)).unwrap_or(u32::MAX),
            _ => requested,
        }
    }

    fn hint(&self, name: &str) -> Option<&Literal> {
        self.hints
            .iter()
            .rev()
            .find(|h| h.name == name)
            .map(|h| &h.value)
    }

    /// True when Tempo would return span names (the query touches `name`).
    pub fn reports_span_name(&self) -> bool {
        self.plan.reports_name
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pipeline)?;
        if let Some(metrics) = &self.metrics {
            write!(f, " | {metrics}")?;
        }
        if !self.hints.is_empty() {
            f.write_str(" with (")?;
            for (i, hint) in self.hints.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{hint}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl Plan {
    fn for_query(pipeline: &Pipeline, metrics: Option<&MetricsStage>) -> Self {
        let mut plan = Plan::default();
        plan.visit_pipeline(pipeline);
        if let Some(metrics) = metrics {
            for field in metrics.by.iter().chain(metrics.function.field()) {
                plan.note_tree_need(field);
            }
        }
        plan
    }

    fn visit_pipeline(&mut self, pipeline: &Pipeline) {
        for stage in &pipeline.stages {
            match stage {
                Stage::Spanset(expr) => self.visit_spanset(expr),
                Stage::ScalarFilter(filter) => {
                    if let Some(expr) = filter.aggregate.field() {
                        expr.for_each_field(&mut |f| self.report(f, false));
                    }
                }
                Stage::GroupBy(expr) => expr.for_each_field(&mut |f| self.report(f, false)),
                Stage::Select(fields) => fields.iter().for_each(|f| self.report(f, true)),
                Stage::Coalesce => {}
            }
        }
    }

    fn visit_spanset(&mut self, expr: &SpansetExpr) {
        match expr {
            SpansetExpr::Filter(e) => e.for_each_field(&mut |f| self.report(f, false)),
            SpansetExpr::Op { op, lhs, rhs } => {
                if op.is_structural() {
                    self.needs_tree = true;
                }
                self.visit_spanset(lhs);
                self.visit_spanset(rhs);
            }
            SpansetExpr::Pipeline(p) => self.visit_pipeline(p),
        }
    }

    fn note_tree_need(&mut self, field: &Field) {
        if *field == Field::Intrinsic(Intrinsic::ChildCount) {
            self.needs_tree = true;
        }
    }

    /// Records a field the query touches. Tempo leaves out the intrinsics that already
    /// have a place in the response (name, duration, trace-level fields, ids).
    fn report(&mut self, field: &Field, nil_if_absent: bool) {
        self.note_tree_need(field);
        if let Field::Intrinsic(i) = field {
            match i {
                Intrinsic::Name => {
                    self.reports_name = true;
                    return;
                }
                Intrinsic::Duration
                | Intrinsic::TraceDuration
                | Intrinsic::RootName
                | Intrinsic::RootServiceName
                | Intrinsic::TraceId
                | Intrinsic::SpanId
                | Intrinsic::Parent => return,
                _ => {}
            }
        }
        if let Some(existing) = self.reported.iter_mut().find(|r| r.field == *field) {
            existing.nil_if_absent |= nil_if_absent;
            return;
        }
        self.reported.push(ReportedField {
            field: field.clone(),
            nil_if_absent,
        });
    }
}

/// True when evaluating `expr` on one spanset can yield several spansets (a `by()` not
/// followed by `coalesce()` inside a parenthesised pipeline).
pub(crate) fn may_yield_several_spansets(expr: &SpansetExpr) -> bool {
    match expr {
        SpansetExpr::Filter(_) => false,
        // `&&`/`||` and structural operators always produce at most one spanset.
        SpansetExpr::Op { .. } => false,
        SpansetExpr::Pipeline(p) => {
            let mut grouped = false;
            for stage in &p.stages {
                match stage {
                    Stage::GroupBy(_) => grouped = true,
                    Stage::Coalesce => grouped = false,
                    Stage::Spanset(inner) => grouped |= may_yield_several_spansets(inner),
                    Stage::ScalarFilter(_) | Stage::Select(_) => {}
                }
            }
            grouped
        }
    }
}

/// Used by the parser to reject structural operators over grouped spansets, which Tempo
/// fails at run time ("consider using coalesce()").
pub(crate) fn structural_over_groups(op: SpansetOp, lhs: &SpansetExpr, rhs: &SpansetExpr) -> bool {
    op.is_structural() && (may_yield_several_spansets(lhs) || may_yield_several_spansets(rhs))
}
