//! The TraceQL syntax tree and its canonical text form.
//!
//! `Display` prints canonical TraceQL that parses back to an equal tree: sub-expressions
//! that are not a literal or a field are parenthesised, strings use Go escapes, durations
//! use Go's duration format.

use std::fmt::{self, Write};

use crate::pattern::Pattern;
use crate::value::{Literal, write_go_string};

/// Where an attribute is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeScope {
    /// `.name`: span attributes first, then resource attributes (Tempo's `AttributeFor`).
    Unscoped,
    Span,
    Resource,
    /// Any of the span's events.
    Event,
    /// Any of the span's links.
    Link,
    /// The instrumentation scope's attributes.
    Instrumentation,
}

impl AttributeScope {
    /// The prefix written before the name (`span.`; `.` for unscoped).
    pub fn prefix(self) -> &'static str {
        match self {
            AttributeScope::Unscoped => ".",
            AttributeScope::Span => "span.",
            AttributeScope::Resource => "resource.",
            AttributeScope::Event => "event.",
            AttributeScope::Link => "link.",
            AttributeScope::Instrumentation => "instrumentation.",
        }
    }
}

/// A named attribute, e.g. `resource.service.name` is `{ Resource, "service.name" }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    pub scope: AttributeScope,
    pub name: String,
}

/// Built-in span and trace fields. Scoped spellings (`span:status`) and legacy ones
/// (`status`) parse to the same intrinsic, as in Tempo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intrinsic {
    /// `name`, `span:name`
    Name,
    /// `status`, `span:status`
    Status,
    /// `statusMessage`, `span:statusMessage`
    StatusMessage,
    /// `kind`, `span:kind`
    Kind,
    /// `duration`, `span:duration`
    Duration,
    /// `childCount`, `span:childCount`
    ChildCount,
    /// `span:id`
    SpanId,
    /// `span:parentID`
    ParentId,
    /// `parent` (only meaningful with `nil`: `parent = nil` selects root spans)
    Parent,
    /// `traceDuration`, `trace:duration`
    TraceDuration,
    /// `rootName`, `trace:rootName`
    RootName,
    /// `rootServiceName`, `trace:rootService`
    RootServiceName,
    /// `trace:id`
    TraceId,
    /// `event:name`
    EventName,
    /// `event:timeSinceStart`
    EventTimeSinceStart,
    /// `link:spanID`
    LinkSpanId,
    /// `link:traceID`
    LinkTraceId,
    /// `instrumentation:name`
    InstrumentationName,
    /// `instrumentation:version`
    InstrumentationVersion,
}

impl Intrinsic {
    /// Tempo's name for the intrinsic (`Intrinsic.String()`); also the attribute key Tempo
    /// reports it under in search results.
    pub fn name(self) -> &'static str {
        match self {
            Intrinsic::Name => "name",
            Intrinsic::Status => "status",
            Intrinsic::StatusMessage => "statusMessage",
            Intrinsic::Kind => "kind",
            Intrinsic::Duration => "duration",
            Intrinsic::ChildCount => "childCount",
            Intrinsic::SpanId => "span:id",
            Intrinsic::ParentId => "span:parentID",
            Intrinsic::Parent => "parent",
            Intrinsic::TraceDuration => "traceDuration",
            Intrinsic::RootName => "rootName",
            Intrinsic::RootServiceName => "rootServiceName",
            Intrinsic::TraceId => "trace:id",
            Intrinsic::EventName => "event:name",
            Intrinsic::EventTimeSinceStart => "event:timeSinceStart",
            Intrinsic::LinkSpanId => "link:spanID",
            Intrinsic::LinkTraceId => "link:traceID",
            Intrinsic::InstrumentationName => "instrumentation:name",
            Intrinsic::InstrumentationVersion => "instrumentation:version",
        }
    }

    /// Same value for every span of a trace.
    pub fn is_trace_level(self) -> bool {
        matches!(
            self,
            Intrinsic::TraceDuration
                | Intrinsic::RootName
                | Intrinsic::RootServiceName
                | Intrinsic::TraceId
        )
    }

    /// Has one value per event or link, so comparisons are "any event/link matches".
    pub fn is_multi_valued(self) -> bool {
        matches!(
            self,
            Intrinsic::EventName
                | Intrinsic::EventTimeSinceStart
                | Intrinsic::LinkSpanId
                | Intrinsic::LinkTraceId
        )
    }
}

/// Something a span has a value for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    Intrinsic(Intrinsic),
    Attribute(Attribute),
}

impl Field {
    /// Key Tempo uses for this field in search results: attribute names without scope,
    /// intrinsics by [`Intrinsic::name`].
    pub fn report_key(&self) -> &str {
        match self {
            Field::Intrinsic(i) => i.name(),
            Field::Attribute(a) => &a.name,
        }
    }

    /// Has one value per event or link.
    pub fn is_multi_valued(&self) -> bool {
        match self {
            Field::Intrinsic(i) => i.is_multi_valued(),
            Field::Attribute(a) => matches!(a.scope, AttributeScope::Event | AttributeScope::Link),
        }
    }

    /// True when the field has one value per span that depends only on the span, its
    /// resource and its instrumentation scope, so a columnar store can hold it as a column
    /// and evaluate conditions on it row by row (see [`crate::SpanPredicate`]).
    ///
    /// The value ([`crate::FieldValue`]) the evaluator reads, which a column must
    /// reproduce:
    ///
    /// | field | value |
    /// |---|---|
    /// | `name` | `Str(span.name)` |
    /// | `status` | `Status(Status::from_otlp(code))`, code 0 without a status |
    /// | `statusMessage` | `Str(message)`, `Str("")` without a status (never nil) |
    /// | `kind` | `Kind(Kind::from_otlp(span.kind))` |
    /// | `duration` | `Duration(end.saturating_sub(start))`, clamped to `i64::MAX` |
    /// | `span:id` | `Id(span_id)`, also when empty (never nil) |
    /// | `span:parentID` | `Nil` when the parent id is empty or all zero bytes, else `Id` |
    /// | `instrumentation:name`, `:version` | `Nil` without a scope, else `Str` (maybe `""`) |
    /// | `span.x`, `resource.x`, `instrumentation.x` | the first attribute with key `x` in that list, via [`crate::FieldValue::from_any`]; `Nil` when there is none, when that key/value has no value, or without a scope |
    /// | `.x` | [`crate::resolve_unscoped`]: the span attribute when the span has key `x` with a value (even one that reads as `Nil`, such as a key/value list), else the resource attribute |
    ///
    /// Trace-level intrinsics, `parent`, `childCount` (needs the other spans) and event and
    /// link fields (several values per span) are not span-level.
    pub fn is_span_level(&self) -> bool {
        match self {
            Field::Intrinsic(i) => matches!(
                i,
                Intrinsic::Name
                    | Intrinsic::Status
                    | Intrinsic::StatusMessage
                    | Intrinsic::Kind
                    | Intrinsic::Duration
                    | Intrinsic::SpanId
                    | Intrinsic::ParentId
                    | Intrinsic::InstrumentationName
                    | Intrinsic::InstrumentationVersion
            ),
            Field::Attribute(a) => matches!(
                a.scope,
                AttributeScope::Unscoped
                    | AttributeScope::Span
                    | AttributeScope::Resource
                    | AttributeScope::Instrumentation
            ),
        }
    }
}

/// Comparison operators (`= != > >= < <=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Neq => "!=",
            CompareOp::Gt => ">",
            CompareOp::Gte => ">=",
            CompareOp::Lt => "<",
            CompareOp::Lte => "<=",
        }
    }

    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub fn flipped(self) -> Self {
        match self {
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Gte => CompareOp::Lte,
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Lte => CompareOp::Gte,
            other => other,
        }
    }
}

/// Arithmetic operators (`+ - * / % ^`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl ArithOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
            ArithOp::Pow => "^",
        }
    }
}

/// An expression evaluated against one span (the inside of `{ ... }`).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldExpr {
    Literal(Literal),
    Field(Field),
    And(Box<FieldExpr>, Box<FieldExpr>),
    Or(Box<FieldExpr>, Box<FieldExpr>),
    Not(Box<FieldExpr>),
    Compare {
        op: CompareOp,
        lhs: Box<FieldExpr>,
        rhs: Box<FieldExpr>,
    },
    /// `lhs =~ "pattern"` (or `!~` when `negated`).
    Regex {
        lhs: Box<FieldExpr>,
        negated: bool,
        pattern: Pattern,
    },
    Arith {
        op: ArithOp,
        lhs: Box<FieldExpr>,
        rhs: Box<FieldExpr>,
    },
    Neg(Box<FieldExpr>),
    /// `expr != nil` (present), or `expr = nil` (absent) when `negated`.
    Exists {
        expr: Box<FieldExpr>,
        negated: bool,
    },
}

impl FieldExpr {
    /// Calls `f` for every field the expression reads, in source order.
    pub fn for_each_field<'a>(&'a self, f: &mut impl FnMut(&'a Field)) {
        match self {
            FieldExpr::Literal(_) => {}
            FieldExpr::Field(field) => f(field),
            FieldExpr::And(a, b)
            | FieldExpr::Or(a, b)
            | FieldExpr::Compare { lhs: a, rhs: b, .. }
            | FieldExpr::Arith { lhs: a, rhs: b, .. } => {
                a.for_each_field(f);
                b.for_each_field(f);
            }
            FieldExpr::Not(e)
            | FieldExpr::Neg(e)
            | FieldExpr::Regex { lhs: e, .. }
            | FieldExpr::Exists { expr: e, .. } => e.for_each_field(f),
        }
    }

    /// True when the expression reads at least one field of the span.
    pub fn references_span(&self) -> bool {
        let mut found = false;
        self.for_each_field(&mut |_| found = true);
        found
    }
}

/// Operators between spansets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpansetOp {
    /// `&&`: both sides match; returns the union.
    And,
    /// `||`: either side matches; returns the union.
    Or,
    /// `>`: right-hand spans that are children of a left-hand span.
    Child,
    /// `<`: right-hand spans that are parents of a left-hand span.
    Parent,
    /// `>>`: right-hand spans that are descendants of a left-hand span.
    Descendant,
    /// `<<`: right-hand spans that are ancestors of a left-hand span.
    Ancestor,
    /// `~`: right-hand spans that are siblings of a left-hand span.
    Sibling,
    /// `!>`
    NotChild,
    /// `!<`
    NotParent,
    /// `!>>`
    NotDescendant,
    /// `!<<`
    NotAncestor,
    /// `!~`
    NotSibling,
    /// `&>`: both sides of every matching pair.
    UnionChild,
    /// `&<`
    UnionParent,
    /// `&>>`
    UnionDescendant,
    /// `&<<`
    UnionAncestor,
    /// `&~`
    UnionSibling,
}

impl SpansetOp {
    pub fn as_str(self) -> &'static str {
        match self {
            SpansetOp::And => "&&",
            SpansetOp::Or => "||",
            SpansetOp::Child => ">",
            SpansetOp::Parent => "<",
            SpansetOp::Descendant => ">>",
            SpansetOp::Ancestor => "<<",
            SpansetOp::Sibling => "~",
            SpansetOp::NotChild => "!>",
            SpansetOp::NotParent => "!<",
            SpansetOp::NotDescendant => "!>>",
            SpansetOp::NotAncestor => "!<<",
            SpansetOp::NotSibling => "!~",
            SpansetOp::UnionChild => "&>",
            SpansetOp::UnionParent => "&<",
            SpansetOp::UnionDescendant => "&>>",
            SpansetOp::UnionAncestor => "&<<",
            SpansetOp::UnionSibling => "&~",
        }
    }

    /// Every operator except `&&` and `||` relates spans through the span tree.
    pub fn is_structural(self) -> bool {
        !matches!(self, SpansetOp::And | SpansetOp::Or)
    }

    pub fn is_negated(self) -> bool {
        matches!(
            self,
            SpansetOp::NotChild
                | SpansetOp::NotParent
                | SpansetOp::NotDescendant
                | SpansetOp::NotAncestor
                | SpansetOp::NotSibling
        )
    }

    pub fn is_union(self) -> bool {
        matches!(
            self,
            SpansetOp::UnionChild
                | SpansetOp::UnionParent
                | SpansetOp::UnionDescendant
                | SpansetOp::UnionAncestor
                | SpansetOp::UnionSibling
        )
    }
}

/// A spanset expression: filters combined with spanset operators.
#[derive(Debug, Clone, PartialEq)]
pub enum SpansetExpr {
    /// `{ expr }`; `{}` is `Literal(Bool(true))`.
    Filter(FieldExpr),
    Op {
        op: SpansetOp,
        lhs: Box<SpansetExpr>,
        rhs: Box<SpansetExpr>,
    },
    /// A parenthesised pipeline with more than one stage, e.g. `({ a } | count() > 1)`.
    Pipeline(Box<Pipeline>),
}

/// Aggregates over a spanset (`count()`, `avg(duration)`...).
#[derive(Debug, Clone, PartialEq)]
pub enum Aggregate {
    Count,
    Avg(FieldExpr),
    Min(FieldExpr),
    Max(FieldExpr),
    Sum(FieldExpr),
}

impl Aggregate {
    pub fn field(&self) -> Option<&FieldExpr> {
        match self {
            Aggregate::Count => None,
            Aggregate::Avg(e) | Aggregate::Min(e) | Aggregate::Max(e) | Aggregate::Sum(e) => {
                Some(e)
            }
        }
    }

    fn function_name(&self) -> &'static str {
        match self {
            Aggregate::Count => "count",
            Aggregate::Avg(_) => "avg",
            Aggregate::Min(_) => "min",
            Aggregate::Max(_) => "max",
            Aggregate::Sum(_) => "sum",
        }
    }
}

/// `aggregate op literal`, e.g. `count() > 2`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarFilter {
    pub aggregate: Aggregate,
    pub op: CompareOp,
    pub value: Literal,
}

/// One `|`-separated element of a search pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Spanset(SpansetExpr),
    ScalarFilter(ScalarFilter),
    /// `by(expr)`: split every spanset into groups.
    GroupBy(FieldExpr),
    /// `select(fields)`: report these fields on every span.
    Select(Vec<Field>),
    /// `coalesce()`: merge all spansets into one.
    Coalesce,
}

/// A search pipeline; never empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub stages: Vec<Stage>,
}

/// First-stage TraceQL metrics functions.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsFunction {
    Rate,
    CountOverTime,
    MinOverTime(Field),
    MaxOverTime(Field),
    AvgOverTime(Field),
    SumOverTime(Field),
    QuantileOverTime(Field, Vec<f64>),
    HistogramOverTime(Field),
}

impl MetricsFunction {
    /// The function name, also Tempo's `__name__` label for ungrouped series.
    pub fn name(&self) -> &'static str {
        match self {
            MetricsFunction::Rate => "rate",
            MetricsFunction::CountOverTime => "count_over_time",
            MetricsFunction::MinOverTime(_) => "min_over_time",
            MetricsFunction::MaxOverTime(_) => "max_over_time",
            MetricsFunction::AvgOverTime(_) => "avg_over_time",
            MetricsFunction::SumOverTime(_) => "sum_over_time",
            MetricsFunction::QuantileOverTime(..) => "quantile_over_time",
            MetricsFunction::HistogramOverTime(_) => "histogram_over_time",
        }
    }

    /// The field the function reads, if any.
    pub fn field(&self) -> Option<&Field> {
        match self {
            MetricsFunction::Rate | MetricsFunction::CountOverTime => None,
            MetricsFunction::MinOverTime(f)
            | MetricsFunction::MaxOverTime(f)
            | MetricsFunction::AvgOverTime(f)
            | MetricsFunction::SumOverTime(f)
            | MetricsFunction::QuantileOverTime(f, _)
            | MetricsFunction::HistogramOverTime(f) => Some(f),
        }
    }
}

/// `| rate() by (resource.service.name)` and friends.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsStage {
    pub function: MetricsFunction,
    pub by: Vec<Field>,
}

/// `with(name=value)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hint {
    pub name: String,
    pub value: Literal,
}

// ---------------------------------------------------------------------------------------
// Display
// ---------------------------------------------------------------------------------------

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scope.prefix())?;
        write_attribute_name(f, &self.name, self.scope == AttributeScope::Unscoped)
    }
}

/// Names that the lexer would not read back verbatim are written quoted (`span."a b"`).
fn write_attribute_name(f: &mut impl Write, name: &str, unscoped: bool) -> fmt::Result {
    let plain = !name.is_empty()
        && name.chars().all(|c| is_attribute_char(c) && c != '"')
        // After a bare `.`, a digit would lex as a float (`.5xx`).
        && !(unscoped && name.starts_with(|c: char| c.is_ascii_digit()));
    if plain {
        return f.write_str(name);
    }
    f.write_char('"')?;
    for c in name.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Characters allowed unquoted in an attribute name (Tempo's `isAttributeRune`).
pub(crate) fn is_attribute_char(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(
            c,
            '{' | '}' | '(' | ')' | '=' | '~' | '!' | '<' | '>' | '&' | '|' | '^' | ','
        )
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Intrinsic(i) => f.write_str(i.name()),
            Field::Attribute(a) => write!(f, "{a}"),
        }
    }
}

/// Binding strength in the parser (higher binds tighter), used to print only the
/// parentheses the text needs to parse back to the same tree.
fn precedence(e: &FieldExpr) -> u8 {
    match e {
        FieldExpr::And(..) | FieldExpr::Or(..) => 1,
        FieldExpr::Compare { .. } | FieldExpr::Regex { .. } | FieldExpr::Exists { .. } => 2,
        FieldExpr::Arith {
            op: ArithOp::Add | ArithOp::Sub,
            ..
        } => 3,
        // A negative number literal reads back like a prefix `-`.
        FieldExpr::Not(_) | FieldExpr::Neg(_) => 4,
        FieldExpr::Literal(Literal::Int(n)) if *n < 0 => 4,
        FieldExpr::Literal(Literal::Duration(d)) if *d < 0 => 4,
        FieldExpr::Literal(Literal::Float(x)) if x.is_sign_negative() => 4,
        FieldExpr::Arith {
            op: ArithOp::Mul | ArithOp::Div | ArithOp::Mod,
            ..
        } => 5,
        FieldExpr::Arith {
            op: ArithOp::Pow, ..
        } => 6,
        FieldExpr::Literal(_) | FieldExpr::Field(_) => 7,
    }
}

/// Operand of prefix `!` and `-`: the parser reads it at `*` strength.
const PREFIX_OPERAND: u8 = 5;

fn write_child(f: &mut fmt::Formatter<'_>, child: &FieldExpr, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({child})")
    } else {
        write!(f, "{child}")
    }
}

/// `lhs op rhs` at precedence `p`; right-associative only for `^`.
fn write_binary(
    f: &mut fmt::Formatter<'_>,
    p: u8,
    right_assoc: bool,
    lhs: &FieldExpr,
    op: &str,
    rhs: &FieldExpr,
) -> fmt::Result {
    let (lp, rp) = (precedence(lhs), precedence(rhs));
    write_child(f, lhs, if right_assoc { lp <= p } else { lp < p })?;
    write!(f, " {op} ")?;
    write_child(f, rhs, if right_assoc { rp < p } else { rp <= p })
}

impl fmt::Display for FieldExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = precedence(self);
        match self {
            FieldExpr::Literal(l) => write!(f, "{l}"),
            FieldExpr::Field(field) => write!(f, "{field}"),
            // `&&` and `||` share a precedence level; mixing them is parenthesised anyway
            // so the text never suggests the conventional precedence.
            FieldExpr::And(a, b) | FieldExpr::Or(a, b) => {
                let and = matches!(self, FieldExpr::And(..));
                let mixed = |e: &FieldExpr| {
                    if and {
                        matches!(e, FieldExpr::Or(..))
                    } else {
                        matches!(e, FieldExpr::And(..))
                    }
                };
                write_child(f, a, precedence(a) < p || mixed(a))?;
                f.write_str(if and { " && " } else { " || " })?;
                write_child(f, b, precedence(b) <= p)
            }
            FieldExpr::Compare { op, lhs, rhs } => write_binary(f, p, false, lhs, op.as_str(), rhs),
            FieldExpr::Arith { op, lhs, rhs } => {
                write_binary(f, p, *op == ArithOp::Pow, lhs, op.as_str(), rhs)
            }
            FieldExpr::Not(e) | FieldExpr::Neg(e) => {
                f.write_char(if matches!(self, FieldExpr::Not(_)) {
                    '!'
                } else {
                    '-'
                })?;
                write_child(f, e, precedence(e) < PREFIX_OPERAND)
            }
            FieldExpr::Regex {
                lhs,
                negated,
                pattern,
            } => {
                write_child(f, lhs, precedence(lhs) < p)?;
                f.write_str(if *negated { " !~ " } else { " =~ " })?;
                write_go_string(f, pattern.source())
            }
            FieldExpr::Exists { expr, negated } => {
                write_child(f, expr, precedence(expr) < p)?;
                f.write_str(if *negated { " = nil" } else { " != nil" })
            }
        }
    }
}

impl fmt::Display for SpansetExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpansetExpr::Filter(FieldExpr::Literal(Literal::Bool(true))) => f.write_str("{}"),
            SpansetExpr::Filter(e) => write!(f, "{{ {e} }}"),
            SpansetExpr::Op { op, lhs, rhs } => {
                for (i, side) in [lhs, rhs].into_iter().enumerate() {
                    if i == 1 {
                        write!(f, " {} ", op.as_str())?;
                    }
                    match side.as_ref() {
                        SpansetExpr::Op { .. } => write!(f, "({side})")?,
                        _ => write!(f, "{side}")?,
                    }
                }
                Ok(())
            }
            SpansetExpr::Pipeline(p) => write!(f, "({p})"),
        }
    }
}

impl fmt::Display for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field() {
            None => write!(f, "{}()", self.function_name()),
            Some(e) => write!(f, "{}({e})", self.function_name()),
        }
    }
}

impl fmt::Display for ScalarFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.aggregate, self.op.as_str(), self.value)
    }
}

fn write_field_list(f: &mut fmt::Formatter<'_>, fields: &[Field]) -> fmt::Result {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{field}")?;
    }
    Ok(())
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Spanset(e) => write!(f, "{e}"),
            Stage::ScalarFilter(s) => write!(f, "{s}"),
            Stage::GroupBy(e) => write!(f, "by({e})"),
            Stage::Select(fields) => {
                f.write_str("select(")?;
                write_field_list(f, fields)?;
                f.write_char(')')
            }
            Stage::Coalesce => f.write_str("coalesce()"),
        }
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, stage) in self.stages.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{stage}")?;
        }
        Ok(())
    }
}

impl fmt::Display for MetricsStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.function.name())?;
        f.write_char('(')?;
        if let Some(field) = self.function.field() {
            write!(f, "{field}")?;
        }
        if let MetricsFunction::QuantileOverTime(_, qs) = &self.function {
            for q in qs {
                write!(f, ", {q:?}")?;
            }
        }
        f.write_char(')')?;
        if !self.by.is_empty() {
            f.write_str(" by (")?;
            write_field_list(f, &self.by)?;
            f.write_char(')')?;
        }
        Ok(())
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}
