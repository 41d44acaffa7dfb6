//! Pipeline stages over spansets (Tempo's `Pipeline.evaluate` and friends).
//!
//! A spanset is a list of span indices plus spanset-level attributes (`by(...)`,
//! `count()`). The pipeline starts with one spanset holding every span of the trace; each
//! stage maps spansets to spansets and empty spansets are dropped.

use std::collections::HashMap;

use crate::ast::{
    Aggregate, CompareOp, FieldExpr, Pipeline, ScalarFilter, SpansetExpr, SpansetOp, Stage,
};
use crate::eval::field::{Value, compare};
use crate::eval::structural::relate;
use crate::eval::trace::TraceView;
use crate::value::{AttrValue, Literal};

#[derive(Debug, Clone, Default)]
pub(crate) struct Spanset {
    pub spans: Vec<u32>,
    pub attributes: Vec<(String, AttrValue)>,
}

impl Spanset {
    fn with_spans(&self, spans: Vec<u32>) -> Spanset {
        Spanset {
            spans,
            attributes: self.attributes.clone(),
        }
    }
}

pub(crate) fn run_pipeline<'a>(
    view: &TraceView<'a>,
    pipeline: &'a Pipeline,
    mut sets: Vec<Spanset>,
) -> Vec<Spanset> {
    for stage in &pipeline.stages {
        if sets.is_empty() {
            break;
        }
        sets = run_stage(view, stage, sets);
    }
    sets
}

fn run_stage<'a>(view: &TraceView<'a>, stage: &'a Stage, input: Vec<Spanset>) -> Vec<Spanset> {
    match stage {
        Stage::Spanset(expr) => input
            .iter()
            .flat_map(|set| eval_spanset(view, expr, set))
            .collect(),
        Stage::ScalarFilter(filter) => input
            .into_iter()
            .filter_map(|set| scalar_filter(view, filter, set))
            .collect(),
        Stage::GroupBy(expr) => input
            .iter()
            .flat_map(|set| group_by(view, expr, set))
            .collect(),
        // The fields are reported on the spans; the spansets pass unchanged.
        Stage::Select(_) => input,
        Stage::Coalesce => {
            let spans: Vec<u32> = input.into_iter().flat_map(|set| set.spans).collect();
            if spans.is_empty() {
                Vec::new()
            } else {
                vec![Spanset {
                    spans,
                    attributes: Vec::new(),
                }]
            }
        }
    }
}

/// Evaluates a spanset expression against one input spanset.
pub(crate) fn eval_spanset<'a>(
    view: &TraceView<'a>,
    expr: &'a SpansetExpr,
    input: &Spanset,
) -> Vec<Spanset> {
    match expr {
        SpansetExpr::Filter(e) => {
            let matching: Vec<u32> = input
                .spans
                .iter()
                .copied()
                .filter(|&i| view.matches(e, i as usize))
                .collect();
            if matching.is_empty() {
                Vec::new()
            } else {
                vec![input.with_spans(matching)]
            }
        }
        SpansetExpr::Op { op, lhs, rhs } => {
            let lhs = eval_spanset(view, lhs, input);
            let rhs = eval_spanset(view, rhs, input);
            let spans = match op {
                SpansetOp::And if lhs.is_empty() || rhs.is_empty() => return Vec::new(),
                SpansetOp::Or if lhs.is_empty() && rhs.is_empty() => return Vec::new(),
                SpansetOp::And | SpansetOp::Or => unique_spans(view.len(), &lhs, &rhs),
                structural => {
                    if rhs.is_empty() {
                        return Vec::new();
                    }
                    // The parser rejects grouped operands, so each side is one spanset.
                    let left = flatten(&lhs);
                    let right = flatten(&rhs);
                    relate(view, *structural, &left, &right)
                }
            };
            if spans.is_empty() {
                Vec::new()
            } else {
                vec![input.with_spans(spans)]
            }
        }
        SpansetExpr::Pipeline(p) => run_pipeline(view, p, vec![input.clone()]),
    }
}

fn flatten(sets: &[Spanset]) -> Vec<u32> {
    if let [single] = sets {
        return single.spans.clone();
    }
    sets.iter().flat_map(|s| s.spans.iter().copied()).collect()
}

/// Tempo's `uniqueSpans`: the side with fewer spans first (the right side on a tie),
/// then the other side's spans not seen yet.
fn unique_spans(n: usize, lhs: &[Spanset], rhs: &[Spanset]) -> Vec<u32> {
    let count = |sets: &[Spanset]| sets.iter().map(|s| s.spans.len()).sum::<usize>();
    let (first, second) = if count(lhs) < count(rhs) {
        (lhs, rhs)
    } else {
        (rhs, lhs)
    };
    let mut seen = vec![false; n];
    let mut out = Vec::with_capacity(count(lhs) + count(rhs));
    for &s in first.iter().flat_map(|set| set.spans.iter()) {
        if let Some(slot) = seen.get_mut(s as usize) {
            *slot = true;
        }
        out.push(s);
    }
    for &s in second.iter().flat_map(|set| set.spans.iter()) {
        if !seen.get(s as usize).copied().unwrap_or(false) {
            out.push(s);
        }
    }
    out
}

/// A number an aggregate can produce.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Number {
    Int(i64),
    Float(f64),
    Duration(i64),
}

impl Number {
    fn from_value(v: Value<'_>) -> Option<Number> {
        match v {
            Value::Int(n) => Some(Number::Int(n)),
            Value::Float(x) => Some(Number::Float(x)),
            Value::Duration(d) => Some(Number::Duration(d)),
            _ => None,
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Number::Int(n) | Number::Duration(n) => n as f64,
            Number::Float(x) => x,
        }
    }

    fn add(self, other: Number) -> Number {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => Number::Int(a.wrapping_add(b)),
            (Number::Duration(a), Number::Duration(b)) => Number::Duration(a.wrapping_add(b)),
            (a, b) => Number::Float(a.as_f64() + b.as_f64()),
        }
    }

    /// Tempo's `divideBy`: ints become floats, durations stay durations.
    fn divide_by(self, n: usize) -> Number {
        let n = n as f64;
        match self {
            Number::Duration(d) => Number::Duration((d as f64 / n) as i64),
            other => Number::Float(other.as_f64() / n),
        }
    }

    fn to_value(self) -> Value<'static> {
        match self {
            Number::Int(n) => Value::Int(n),
            Number::Float(x) => Value::Float(x),
            Number::Duration(d) => Value::Duration(d),
        }
    }
}

fn aggregate<'a>(view: &TraceView<'a>, agg: &'a Aggregate, spans: &[u32]) -> Option<Number> {
    let field = match agg {
        Aggregate::Count => {
            return Some(Number::Int(i64::try_from(spans.len()).unwrap_or(i64::MAX)));
        }
        Aggregate::Avg(e) | Aggregate::Min(e) | Aggregate::Max(e) | Aggregate::Sum(e) => e,
    };
    // Spans without a numeric value are skipped, as Tempo skips nils.
    let mut values = spans
        .iter()
        .filter_map(|&i| Number::from_value(view.eval(field, i as usize)));
    let first = values.next()?;
    Some(match agg {
        Aggregate::Sum(_) => values.fold(first, Number::add),
        Aggregate::Avg(_) => {
            let mut count = 1;
            let sum = values.fold(first, |acc, v| {
                count += 1;
                acc.add(v)
            });
            sum.divide_by(count)
        }
        Aggregate::Min(_) => values.fold(
            first,
            |acc, v| if v.as_f64() < acc.as_f64() { v } else { acc },
        ),
        _ => values.fold(
            first,
            |acc, v| if v.as_f64() > acc.as_f64() { v } else { acc },
        ),
    })
}

/// Keeps the spanset when `aggregate op value` holds, recording the aggregate as a
/// spanset attribute (`count()`, `avg(duration)`...).
fn scalar_filter<'a>(
    view: &TraceView<'a>,
    filter: &'a ScalarFilter,
    mut set: Spanset,
) -> Option<Spanset> {
    let value = aggregate(view, &filter.aggregate, &set.spans)?;
    let literal = Value::from_literal(&filter.value);
    let holds = match (&filter.value, filter.op) {
        // Tempo compares aggregates with numbers as floats.
        (Literal::Int(_) | Literal::Float(_) | Literal::Duration(_), op) => {
            compare_as_floats(op, value.as_f64(), literal.as_f64().unwrap_or(f64::NAN))
        }
        (_, op) => compare(op, value.to_value(), literal),
    };
    if !holds {
        return None;
    }
    set.attributes.push((
        filter.aggregate.to_string(),
        value.to_value().to_attr_value(),
    ));
    Some(set)
}

fn compare_as_floats(op: CompareOp, a: f64, b: f64) -> bool {
    match op {
        CompareOp::Eq => a == b,
        CompareOp::Neq => a != b,
        CompareOp::Gt => a > b,
        CompareOp::Gte => a >= b,
        CompareOp::Lt => a < b,
        CompareOp::Lte => a <= b,
    }
}

/// Hashable form of a value, distinguishing types like Tempo's `MapKey`.
#[derive(PartialEq, Eq, Hash)]
enum GroupKey<'a> {
    Nil,
    Str(&'a str),
    Int(i64),
    Float(u64),
    Bool(bool),
    Duration(i64),
    Status(crate::value::Status),
    Kind(crate::value::Kind),
    Id(&'a [u8]),
    Array(String),
}

impl<'a> GroupKey<'a> {
    fn of(v: Value<'a>) -> Self {
        match v {
            Value::Nil => GroupKey::Nil,
            Value::Str(s) => GroupKey::Str(s),
            Value::Int(n) => GroupKey::Int(n),
            Value::Float(x) => GroupKey::Float(x.to_bits()),
            Value::Bool(b) => GroupKey::Bool(b),
            Value::Duration(d) => GroupKey::Duration(d),
            Value::Status(s) => GroupKey::Status(s),
            Value::Kind(k) => GroupKey::Kind(k),
            Value::Id(id) => GroupKey::Id(id),
            Value::Array(_) => GroupKey::Array(v.to_attr_value().to_string()),
        }
    }
}

/// Splits a spanset by the value of `expr`, groups in order of first appearance.
fn group_by<'a>(view: &TraceView<'a>, expr: &'a FieldExpr, set: &Spanset) -> Vec<Spanset> {
    let key_name = format!("by({expr})");
    let mut index: HashMap<GroupKey<'a>, usize> = HashMap::new();
    let mut groups: Vec<(Value<'a>, Vec<u32>)> = Vec::new();
    for &s in &set.spans {
        let value = view.eval(expr, s as usize);
        let slot = *index.entry(GroupKey::of(value)).or_insert_with(|| {
            groups.push((value, Vec::new()));
            groups.len() - 1
        });
        groups[slot].1.push(s);
    }
    groups
        .into_iter()
        .map(|(value, spans)| {
            let mut attributes = set.attributes.clone();
            attributes.push((key_name.clone(), value.to_attr_value()));
            Spanset { spans, attributes }
        })
        .collect()
}
