//! Span predicates: a query's filter as a boolean tree of single-field conditions, for
//! evaluation over columns instead of traces.
//!
//! A columnar store evaluates each leaf once per distinct value of the leaf's column
//! (e.g. one regex match per distinct `url.path` string), turns the answers into a bitmap
//! of matching rows, and combines the bitmaps with and/or/not. That is only the
//! evaluator's answer when the filter decides every span on its own, from fields whose
//! values depend on nothing but the span, its resource and its scope: one `{ }` filter
//! (optionally followed by a metrics function), with comparisons of
//! [span-level fields](Field::is_span_level) against literals. Everything else (trace-level
//! intrinsics, structural and spanset operators, further pipeline stages, arithmetic,
//! field-against-field comparisons) has no [`SpanPredicate`] and must be evaluated per
//! trace with [`Query::evaluate_with`] or [`crate::MetricsEvaluator::observe_trace`].
//!
//! The tree is built so that every leaf is a total boolean function of one field value
//! (no leaf is "unknown"), so `Not` is a plain bitmap complement. The evaluator's
//! non-boolean rules are folded in while building: `{ span.flag }` holds only when the
//! value is the boolean `true` (not an array containing it), `{ !span.flag }` only when it
//! is the boolean `false` (so `!span.flag` is *not* the complement of `span.flag`), and a
//! comparison with `nil` as a literal operand is false.

use crate::ast::{Field, FieldExpr, Pipeline, SpansetExpr, Stage};
use crate::eval::{FieldValue, Value, compare, regex_matches};
use crate::hints::Condition;
use crate::query::Query;
use crate::value::Literal;

/// A span filter as a boolean tree over single-field leaves; [`Query::span_predicate`]
/// says when a query has one.
///
/// Leaves: [`SpanPredicate::Leaf`], [`SpanPredicate::Exists`], [`SpanPredicate::Absent`],
/// [`SpanPredicate::Bool`]; each reads one field ([`SpanPredicate::leaf_field`]) and is
/// decided by that field's value alone ([`SpanPredicate::leaf_matches`]).
#[derive(Debug, Clone, PartialEq)]
pub enum SpanPredicate {
    /// Every span.
    True,
    /// No span.
    False,
    /// `field op literal`; decide with [`Condition::matches_value`].
    Leaf(Condition),
    /// `field != nil`: the value is not [`FieldValue::Nil`] (an empty array is present).
    Exists(Field),
    /// `field = nil`: the value is [`FieldValue::Nil`].
    Absent(Field),
    /// A bare field used as a boolean: `{ span.flag }` is `Bool { value: true }` and
    /// holds only when the value is exactly [`FieldValue::Bool`]`(true)`; `{ !span.flag }`
    /// is `Bool { value: false }` and holds only for `Bool(false)`. Other values (nil,
    /// strings, arrays of booleans) satisfy neither.
    Bool { field: Field, value: bool },
    /// All hold (never empty; flattened).
    And(Vec<SpanPredicate>),
    /// Any holds (never empty; flattened).
    Or(Vec<SpanPredicate>),
    /// Logical negation: the complement of the inner predicate's spans.
    Not(Box<SpanPredicate>),
}

impl SpanPredicate {
    /// The field a leaf reads; `None` for `True`, `False`, `And`, `Or`, `Not`.
    pub fn leaf_field(&self) -> Option<&Field> {
        match self {
            SpanPredicate::Leaf(c) => Some(&c.field),
            SpanPredicate::Exists(f) | SpanPredicate::Absent(f) => Some(f),
            SpanPredicate::Bool { field, .. } => Some(field),
            _ => None,
        }
    }

    /// For a leaf: whether a span whose [`Self::leaf_field`] has `value` satisfies it.
    /// `None` for `True`, `False`, `And`, `Or`, `Not`.
    pub fn leaf_matches(&self, value: FieldValue<'_>) -> Option<bool> {
        match self {
            SpanPredicate::Leaf(c) => Some(c.matches_value(value)),
            SpanPredicate::Exists(_) => Some(!value.is_nil()),
            SpanPredicate::Absent(_) => Some(value.is_nil()),
            SpanPredicate::Bool { value: want, .. } => Some(value == FieldValue::Bool(*want)),
            _ => None,
        }
    }

    /// Evaluates the whole tree for one span, `value_of` giving the span's value of each
    /// field a leaf reads (row-at-a-time; a columnar caller evaluates leaves per distinct
    /// value instead).
    pub fn matches<'v>(&self, value_of: &mut dyn FnMut(&Field) -> FieldValue<'v>) -> bool {
        match self {
            SpanPredicate::True => true,
            SpanPredicate::False => false,
            SpanPredicate::And(all) => all.iter().all(|p| p.matches(value_of)),
            SpanPredicate::Or(any) => any.iter().any(|p| p.matches(value_of)),
            SpanPredicate::Not(inner) => !inner.matches(value_of),
            leaf => match leaf.leaf_field() {
                Some(field) => leaf.leaf_matches(value_of(field)).unwrap_or(false),
                None => false,
            },
        }
    }

    /// Calls `f` for the field of every leaf, in tree order (with repeats): the columns
    /// the predicate needs.
    pub fn for_each_field<'a>(&'a self, f: &mut impl FnMut(&'a Field)) {
        match self {
            SpanPredicate::And(all) | SpanPredicate::Or(all) => {
                all.iter().for_each(|p| p.for_each_field(f));
            }
            SpanPredicate::Not(inner) => inner.for_each_field(f),
            leaf => {
                if let Some(field) = leaf.leaf_field() {
                    f(field);
                }
            }
        }
    }

    fn constant(b: bool) -> Self {
        if b {
            SpanPredicate::True
        } else {
            SpanPredicate::False
        }
    }

    fn negate(self) -> Self {
        match self {
            SpanPredicate::True => SpanPredicate::False,
            SpanPredicate::False => SpanPredicate::True,
            SpanPredicate::Not(inner) => *inner,
            SpanPredicate::Exists(f) => SpanPredicate::Absent(f),
            SpanPredicate::Absent(f) => SpanPredicate::Exists(f),
            other => SpanPredicate::Not(Box::new(other)),
        }
    }

    /// `a && b` (`and = true`) or `a || b`, flattened, with constants folded.
    fn combine(and: bool, a: Self, b: Self) -> Self {
        // `absorbing` decides the result on its own; `neutral` drops out.
        let (absorbing, neutral) = if and {
            (SpanPredicate::False, SpanPredicate::True)
        } else {
            (SpanPredicate::True, SpanPredicate::False)
        };
        let mut parts = Vec::new();
        for p in [a, b] {
            if p == absorbing {
                return absorbing;
            }
            match p {
                SpanPredicate::And(inner) if and => parts.extend(inner),
                SpanPredicate::Or(inner) if !and => parts.extend(inner),
                p if p == neutral => {}
                p => parts.push(p),
            }
        }
        match parts.len() {
            0 => neutral,
            1 => parts.pop().unwrap_or(neutral),
            _ if and => SpanPredicate::And(parts),
            _ => SpanPredicate::Or(parts),
        }
    }
}

/// `.x` as the evaluator resolves it: the span attribute `span_attr` when the span has one
/// (`Some`, even when it reads as [`FieldValue::Nil`], e.g. a key/value list), else the
/// resource attribute. `span_attr` is `Some` exactly when the span's first attribute with
/// key `x` carries a value (see [`Field::is_span_level`]).
pub fn resolve_unscoped<'a>(
    span_attr: Option<FieldValue<'a>>,
    resource_attr: FieldValue<'a>,
) -> FieldValue<'a> {
    span_attr.unwrap_or(resource_attr)
}

/// What a filter sub-expression evaluates to, in terms of predicates. The evaluator only
/// treats the value `Bool(true)` as a match, and `!` maps non-booleans to nil, so bare
/// fields and non-boolean literals need their own cases.
enum Truth {
    /// Always a boolean: true exactly when the predicate holds.
    Boolean(SpanPredicate),
    /// A bare field, possibly under `!`s: true when the field's value is `Bool(want)`,
    /// false when it is `Bool(!want)`, otherwise not a boolean.
    Field { field: Field, want: bool },
    /// Never a boolean (a non-boolean literal): neither true nor false.
    Neither,
}

impl Truth {
    fn when_true(self) -> SpanPredicate {
        match self {
            Truth::Boolean(p) => p,
            Truth::Field { field, want } => SpanPredicate::Bool { field, value: want },
            Truth::Neither => SpanPredicate::False,
        }
    }

    fn not(self) -> Truth {
        match self {
            Truth::Boolean(p) => Truth::Boolean(p.negate()),
            Truth::Field { field, want } => Truth::Field { field, want: !want },
            Truth::Neither => Truth::Neither,
        }
    }
}

fn span_level(field: &Field) -> Option<Field> {
    field.is_span_level().then(|| field.clone())
}

fn literal_truth(l: &Literal) -> Truth {
    match l {
        Literal::Bool(b) => Truth::Boolean(SpanPredicate::constant(*b)),
        _ => Truth::Neither,
    }
}

/// Translates a filter expression; `None` when it is not a tree of span-level leaves.
fn translate(e: &FieldExpr) -> Option<Truth> {
    Some(match e {
        FieldExpr::Literal(l) => literal_truth(l),
        FieldExpr::Field(f) => Truth::Field {
            field: span_level(f)?,
            want: true,
        },
        FieldExpr::And(a, b) | FieldExpr::Or(a, b) => {
            let and = matches!(e, FieldExpr::And(..));
            let (a, b) = (translate(a)?.when_true(), translate(b)?.when_true());
            Truth::Boolean(SpanPredicate::combine(and, a, b))
        }
        FieldExpr::Not(inner) => translate(inner)?.not(),
        FieldExpr::Compare { op, lhs, rhs } => Truth::Boolean(match (lhs.as_ref(), rhs.as_ref()) {
            // A nil operand makes every comparison false (the parser turns `x = nil`
            // into `Exists`; trees built by hand may still hold this).
            (FieldExpr::Field(f), FieldExpr::Literal(Literal::Nil))
            | (FieldExpr::Literal(Literal::Nil), FieldExpr::Field(f)) => {
                span_level(f)?;
                SpanPredicate::False
            }
            (FieldExpr::Field(f), FieldExpr::Literal(_))
            | (FieldExpr::Literal(_), FieldExpr::Field(f)) => {
                span_level(f)?;
                SpanPredicate::Leaf(Condition::from_expr(e)?)
            }
            (FieldExpr::Literal(a), FieldExpr::Literal(b)) => SpanPredicate::constant(compare(
                *op,
                Value::from_literal(a),
                Value::from_literal(b),
            )),
            _ => return None,
        }),
        FieldExpr::Regex {
            lhs,
            negated,
            pattern,
        } => Truth::Boolean(match lhs.as_ref() {
            FieldExpr::Field(f) => {
                span_level(f)?;
                SpanPredicate::Leaf(Condition::from_expr(e)?)
            }
            FieldExpr::Literal(l) => {
                SpanPredicate::constant(regex_matches(pattern, *negated, Value::from_literal(l)))
            }
            _ => return None,
        }),
        FieldExpr::Exists { expr, negated } => Truth::Boolean(match expr.as_ref() {
            FieldExpr::Field(f) if *negated => SpanPredicate::Absent(span_level(f)?),
            FieldExpr::Field(f) => SpanPredicate::Exists(span_level(f)?),
            FieldExpr::Literal(l) => SpanPredicate::constant((*l != Literal::Nil) != *negated),
            _ => return None,
        }),
        FieldExpr::Arith { .. } | FieldExpr::Neg(_) => return None,
    })
}

/// The single `{ expr }` of a pipeline, if that is all it is.
fn single_filter(pipeline: &Pipeline) -> Option<&FieldExpr> {
    match pipeline.stages.as_slice() {
        [Stage::Spanset(SpansetExpr::Filter(e))] => Some(e),
        _ => None,
    }
}

impl Query {
    /// The query's filter as a [`SpanPredicate`], when the search part is exactly one
    /// spanset filter `{ expr }` (or `{}`; a metrics function may follow) whose
    /// expression is a tree of `&&`, `||`, `!`, `true`/`false` and leaves over
    /// [span-level fields](Field::is_span_level): `field op literal`, `literal op field`,
    /// `field =~ "re"`, `field !~ "re"`, `field = nil`, `field != nil` and bare fields
    /// (`{ span.flag }`).
    ///
    /// Then a span is returned by [`Query::evaluate_with`] (with a large enough `spss`)
    /// and fed to the metrics stage by [`crate::MetricsEvaluator::observe_trace`] exactly
    /// when the predicate holds on it. `None` for anything else (trace-level intrinsics,
    /// `parent`, `childCount`, event and link fields, arithmetic, field-against-field
    /// comparisons, spanset and structural operators, more pipeline stages): evaluate
    /// those per trace.
    pub fn span_predicate(&self) -> Option<SpanPredicate> {
        let expr = single_filter(self.pipeline())?;
        translate(expr).map(Truth::when_true)
    }
}
