//! Values of fields on a span and evaluation of field expressions.
//!
//! Values borrow from the trace and the query, so comparisons allocate nothing (ids are
//! compared against hex literals digit by digit).
//!
//! Semantics (Tempo's `BinaryOperation.execute` plus its storage layer):
//! * an absent value (`nil`) satisfies no comparison, not even `!=`; use `= nil`/`!= nil`;
//! * int, float and duration compare numerically with each other;
//! * values of different types (e.g. an int attribute vs a string) never compare equal
//!   or unequal: the comparison is false;
//! * arrays: `=`, `=~`, `>`... match if any element does; `!=` and `!~` if every element
//!   does (no element equals/matches);
//! * event and link fields have one value per event/link and match if any one does.

use std::cmp::Ordering;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

use crate::ast::{ArithOp, AttributeScope, CompareOp, Field, FieldExpr, Intrinsic};
use crate::eval::trace::{SpanRef, TraceView, is_empty_id, service_name};
use crate::pattern::Pattern;
use crate::value::{AttrValue, Kind, Literal, Status, hex_lower};

/// The value of one field on one span, borrowed from the trace (or from a column).
///
/// This is the engine's own value type: every comparison the evaluator makes is between
/// two `FieldValue`s, so a caller that reads span fields from somewhere else (a columnar
/// store) and hands them to [`crate::Condition::matches_value`] or
/// [`crate::MetricsEvaluator::observe_span`] gets exactly the evaluator's answers, as long
/// as it builds the values the way [`crate::ast::Field::is_span_level`] documents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// Absent: satisfies no comparison, not even `!=`.
    Nil,
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Nanoseconds.
    Duration(i64),
    Status(Status),
    Kind(Kind),
    /// Trace, span and link ids (and bytes attributes); compared with strings as hex.
    Id(&'a [u8]),
    /// An array attribute; comparisons look at its scalar elements.
    Array(&'a [AnyValue]),
}

/// The name the evaluator uses internally (it predates the public name).
pub(crate) type Value<'a> = FieldValue<'a>;

impl<'a> FieldValue<'a> {
    /// The value of an OTLP attribute as the engine reads it: bytes become [`Self::Id`],
    /// arrays [`Self::Array`]; a missing value, a key/value list and an `AnyValue` without
    /// a value are [`Self::Nil`].
    pub fn from_any(v: Option<&'a AnyValue>) -> Self {
        match v.and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => Value::Str(s),
            Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
            Some(any_value::Value::IntValue(n)) => Value::Int(*n),
            Some(any_value::Value::DoubleValue(x)) => Value::Float(*x),
            Some(any_value::Value::BytesValue(b)) => Value::Id(b),
            Some(any_value::Value::ArrayValue(a)) => Value::Array(&a.values),
            Some(any_value::Value::KvlistValue(_))
            | Some(any_value::Value::StringValueStrindex(_))
            | None => Value::Nil,
        }
    }

    pub(crate) fn from_literal(l: &'a Literal) -> Self {
        match l {
            Literal::Str(s) => Value::Str(s),
            Literal::Int(n) => Value::Int(*n),
            Literal::Float(x) => Value::Float(*x),
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Duration(d) => Value::Duration(*d),
            Literal::Status(s) => Value::Status(*s),
            Literal::Kind(k) => Value::Kind(*k),
            Literal::Nil => Value::Nil,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Numeric view: ints, floats and durations (as nanoseconds).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(n) => Some(*n as f64),
            Value::Float(x) => Some(*x),
            Value::Duration(d) => Some(*d as f64),
            _ => None,
        }
    }

    /// The owned form reported in results and metrics labels (ids as lower-case hex).
    pub fn to_attr_value(self) -> AttrValue {
        match self {
            Value::Nil => AttrValue::Nil,
            Value::Str(s) => AttrValue::Str(s.to_string()),
            Value::Int(n) => AttrValue::Int(n),
            Value::Float(x) => AttrValue::Float(x),
            Value::Bool(b) => AttrValue::Bool(b),
            Value::Duration(d) => AttrValue::Duration(d),
            Value::Status(s) => AttrValue::Status(s),
            Value::Kind(k) => AttrValue::Kind(k),
            Value::Id(id) => AttrValue::Str(hex_lower(id)),
            Value::Array(items) => AttrValue::Array(
                items
                    .iter()
                    .map(|item| Value::from_any(Some(item)).to_attr_value())
                    .collect(),
            ),
        }
    }
}

pub(crate) fn find_attr<'a>(attrs: &'a [KeyValue], name: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == name)
        .and_then(|kv| kv.value.as_ref())
}

fn attr_value<'a>(attrs: &'a [KeyValue], name: &str) -> Value<'a> {
    find_attr(attrs, name).map_or(Value::Nil, |v| Value::from_any(Some(v)))
}

impl<'a> TraceView<'a> {
    /// The value of `field` on span `i`; for event/link fields, the first present value.
    pub(crate) fn value(&self, field: &Field, i: usize) -> Value<'a> {
        let mut first = Value::Nil;
        self.for_each_value(field, i, &mut |v| {
            first = v;
            !first.is_nil()
        });
        first
    }

    /// Calls `f` with each value of `field` on span `i` (several for event and link
    /// fields) until it returns true; returns whether it did.
    pub(crate) fn for_each_value(
        &self,
        field: &Field,
        i: usize,
        f: &mut dyn FnMut(Value<'a>) -> bool,
    ) -> bool {
        let Some(s) = self.spans.get(i) else {
            return false;
        };
        match field {
            Field::Attribute(a) => match a.scope {
                AttributeScope::Span => f(attr_value(&s.span.attributes, &a.name)),
                AttributeScope::Resource => f(attr_value(s.resource, &a.name)),
                AttributeScope::Unscoped => {
                    // Span attributes take precedence over resource attributes.
                    match find_attr(&s.span.attributes, &a.name) {
                        Some(v) => f(Value::from_any(Some(v))),
                        None => f(attr_value(s.resource, &a.name)),
                    }
                }
                AttributeScope::Instrumentation => f(s
                    .scope
                    .map_or(Value::Nil, |scope| attr_value(&scope.attributes, &a.name))),
                AttributeScope::Event => s.span.events.iter().any(|e| {
                    find_attr(&e.attributes, &a.name).is_some_and(|v| f(Value::from_any(Some(v))))
                }),
                AttributeScope::Link => s.span.links.iter().any(|l| {
                    find_attr(&l.attributes, &a.name).is_some_and(|v| f(Value::from_any(Some(v))))
                }),
            },
            Field::Intrinsic(intrinsic) => match intrinsic {
                Intrinsic::EventName => s.span.events.iter().any(|e| f(Value::Str(&e.name))),
                Intrinsic::EventTimeSinceStart => s.span.events.iter().any(|e| {
                    let since = e.time_unix_nano.saturating_sub(s.span.start_time_unix_nano);
                    f(Value::Duration(i64::try_from(since).unwrap_or(i64::MAX)))
                }),
                Intrinsic::LinkSpanId => s.span.links.iter().any(|l| f(Value::Id(&l.span_id))),
                Intrinsic::LinkTraceId => s.span.links.iter().any(|l| f(Value::Id(&l.trace_id))),
                single => f(self.intrinsic(*single, s, i)),
            },
        }
    }

    fn intrinsic(&self, intrinsic: Intrinsic, s: &SpanRef<'a>, i: usize) -> Value<'a> {
        let span = s.span;
        match intrinsic {
            Intrinsic::Name => Value::Str(&span.name),
            Intrinsic::Status => Value::Status(Status::from_otlp(
                span.status.as_ref().map_or(0, |st| st.code),
            )),
            Intrinsic::StatusMessage => {
                Value::Str(span.status.as_ref().map_or("", |st| st.message.as_str()))
            }
            Intrinsic::Kind => Value::Kind(Kind::from_otlp(span.kind)),
            Intrinsic::Duration => Value::Duration(i64::try_from(s.duration()).unwrap_or(i64::MAX)),
            Intrinsic::ChildCount => self
                .tree
                .as_ref()
                .and_then(|t| t.child_count.get(i))
                .map_or(Value::Nil, |n| Value::Int(i64::from(*n))),
            Intrinsic::SpanId => Value::Id(&span.span_id),
            Intrinsic::ParentId | Intrinsic::Parent => {
                if is_empty_id(&span.parent_span_id) {
                    Value::Nil
                } else {
                    Value::Id(&span.parent_span_id)
                }
            }
            Intrinsic::TraceDuration => {
                Value::Duration(i64::try_from(self.duration()).unwrap_or(i64::MAX))
            }
            Intrinsic::RootName => self
                .root_span()
                .map_or(Value::Nil, |r| Value::Str(&r.span.name)),
            Intrinsic::RootServiceName => self
                .root_span()
                .and_then(|r| service_name(r.resource))
                .map_or(Value::Nil, Value::Str),
            Intrinsic::TraceId => Value::Id(self.trace_id),
            Intrinsic::InstrumentationName => s.scope.map_or(Value::Nil, |sc| Value::Str(&sc.name)),
            Intrinsic::InstrumentationVersion => {
                s.scope.map_or(Value::Nil, |sc| Value::Str(&sc.version))
            }
            // Multi-valued intrinsics are handled by `for_each_value`.
            Intrinsic::EventName
            | Intrinsic::EventTimeSinceStart
            | Intrinsic::LinkSpanId
            | Intrinsic::LinkTraceId => Value::Nil,
        }
    }

    /// True when the filter expression holds on span `i`.
    pub(crate) fn matches(&self, expr: &'a FieldExpr, i: usize) -> bool {
        matches!(self.eval(expr, i), Value::Bool(true))
    }

    pub(crate) fn eval(&self, expr: &'a FieldExpr, i: usize) -> Value<'a> {
        match expr {
            FieldExpr::Literal(l) => Value::from_literal(l),
            FieldExpr::Field(field) => self.value(field, i),
            // Non-boolean operands count as false (Tempo refuses them at run time).
            FieldExpr::And(a, b) => Value::Bool(self.matches(a, i) && self.matches(b, i)),
            FieldExpr::Or(a, b) => Value::Bool(self.matches(a, i) || self.matches(b, i)),
            FieldExpr::Not(e) => match self.eval(e, i) {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Nil,
            },
            FieldExpr::Compare { op, lhs, rhs } => Value::Bool(self.each_value(lhs, i, &mut |l| {
                self.each_value(rhs, i, &mut |r| compare(*op, l, r))
            })),
            FieldExpr::Regex {
                lhs,
                negated,
                pattern,
            } => Value::Bool(self.each_value(lhs, i, &mut |v| regex_matches(pattern, *negated, v))),
            FieldExpr::Exists { expr, negated } => {
                let present = self.each_value(expr, i, &mut |v| !v.is_nil());
                Value::Bool(present != *negated)
            }
            FieldExpr::Arith { op, lhs, rhs } => arith(*op, self.eval(lhs, i), self.eval(rhs, i)),
            FieldExpr::Neg(e) => match self.eval(e, i) {
                Value::Int(n) => Value::Int(n.wrapping_neg()),
                Value::Float(x) => Value::Float(-x),
                Value::Duration(d) => Value::Duration(d.wrapping_neg()),
                _ => Value::Nil,
            },
        }
    }

    /// Every value of an operand: all event/link values for such fields, else one value.
    fn each_value(
        &self,
        expr: &'a FieldExpr,
        i: usize,
        f: &mut dyn FnMut(Value<'a>) -> bool,
    ) -> bool {
        match expr {
            FieldExpr::Field(field) if field.is_multi_valued() => self.for_each_value(field, i, f),
            _ => f(self.eval(expr, i)),
        }
    }
}

/// Applies a comparison, with Tempo's array and nil rules.
pub(crate) fn compare(op: CompareOp, l: Value<'_>, r: Value<'_>) -> bool {
    match (l, r) {
        (Value::Nil, _) | (_, Value::Nil) | (Value::Array(_), Value::Array(_)) => false,
        (Value::Array(items), scalar) => compare_array(op, items, scalar),
        (scalar, Value::Array(items)) => compare_array(op.flipped(), items, scalar),
        _ => compare_scalars(op, l, r),
    }
}

/// `array op scalar`: `!=` needs every element to differ, the others any element to match.
fn compare_array(op: CompareOp, items: &[AnyValue], scalar: Value<'_>) -> bool {
    let element = |item: &AnyValue| compare_scalars(op, Value::from_any(Some(item)), scalar);
    if op == CompareOp::Neq {
        items.iter().all(element)
    } else {
        items.iter().any(element)
    }
}

fn compare_scalars(op: CompareOp, l: Value<'_>, r: Value<'_>) -> bool {
    let ordering = match (l, r) {
        (Value::Int(a), Value::Int(b)) | (Value::Duration(a), Value::Duration(b)) => {
            Some(a.cmp(&b))
        }
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        (Value::Id(a), Value::Id(b)) => Some(a.cmp(b)),
        (Value::Id(id), Value::Str(s)) => return compare_id(op, id, s),
        (Value::Str(s), Value::Id(id)) => return compare_id(op.flipped(), id, s),
        (Value::Bool(a), Value::Bool(b)) => return equality_only(op, a == b),
        (Value::Status(a), Value::Status(b)) => return equality_only(op, a == b),
        (Value::Kind(a), Value::Kind(b)) => return equality_only(op, a == b),
        _ => match (l.as_f64(), r.as_f64()) {
            (Some(a), Some(b)) => {
                if op == CompareOp::Neq {
                    return a != b;
                }
                a.partial_cmp(&b)
            }
            _ => return false,
        },
    };
    ordering.is_some_and(|o| ordering_satisfies(op, o))
}

fn equality_only(op: CompareOp, equal: bool) -> bool {
    match op {
        CompareOp::Eq => equal,
        CompareOp::Neq => !equal,
        _ => false,
    }
}

fn ordering_satisfies(op: CompareOp, o: Ordering) -> bool {
    match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Neq => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Gte => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Lte => o != Ordering::Greater,
    }
}

/// An id against a hex string: equality ignores case and leading zeros (search results
/// print trace ids without them); ordering compares full lower-case hex.
fn compare_id(op: CompareOp, id: &[u8], hex: &str) -> bool {
    match op {
        CompareOp::Eq => id_equals_hex(id, hex),
        CompareOp::Neq => !id_equals_hex(id, hex),
        _ => ordering_satisfies(
            op,
            hex_lower(id)
                .as_str()
                .cmp(hex.to_ascii_lowercase().as_str()),
        ),
    }
}

pub(crate) fn id_equals_hex(id: &[u8], hex: &str) -> bool {
    let hex = hex.trim_start_matches('0').as_bytes();
    let first_nonzero = id.iter().position(|b| *b != 0).unwrap_or(id.len());
    let id = &id[first_nonzero..];
    // The leading byte may print as one digit (0x0a → "a").
    let leading_single = id.first().is_some_and(|b| *b < 0x10);
    let digits = id.len() * 2 - usize::from(leading_single);
    if digits != hex.len() {
        return false;
    }
    let nibble = |k: usize| -> u8 {
        let k = k + usize::from(leading_single);
        let byte = id[k / 2];
        if k.is_multiple_of(2) {
            byte >> 4
        } else {
            byte & 0xf
        }
    };
    hex.iter()
        .enumerate()
        .all(|(k, c)| (*c as char).to_digit(16) == Some(u32::from(nibble(k))))
}

pub(crate) fn regex_matches(pattern: &Pattern, negated: bool, v: Value<'_>) -> bool {
    match v {
        Value::Str(s) => pattern.is_match(s) != negated,
        Value::Id(id) => pattern.is_match(&hex_lower(id)) != negated,
        Value::Array(items) => {
            let element = |item: &AnyValue| match Value::from_any(Some(item)) {
                Value::Str(s) => pattern.is_match(s) != negated,
                _ => false,
            };
            if negated {
                items.iter().all(element)
            } else {
                items.iter().any(element)
            }
        }
        _ => false,
    }
}

/// Arithmetic: int op int stays int, everything else numeric is float (Tempo).
fn arith(op: ArithOp, l: Value<'_>, r: Value<'_>) -> Value<'static> {
    if let (Value::Int(a), Value::Int(b)) = (l, r) {
        return match op {
            ArithOp::Add => Value::Int(a.wrapping_add(b)),
            ArithOp::Sub => Value::Int(a.wrapping_sub(b)),
            ArithOp::Mul => Value::Int(a.wrapping_mul(b)),
            ArithOp::Div => a.checked_div(b).map_or(Value::Nil, Value::Int),
            ArithOp::Mod => a.checked_rem(b).map_or(Value::Nil, Value::Int),
            ArithOp::Pow => match u32::try_from(b) {
                Ok(exp) => Value::Int(a.wrapping_pow(exp)),
                Err(_) => Value::Float((a as f64).powf(b as f64)),
            },
        };
    }
    let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else {
        return Value::Nil;
    };
    Value::Float(match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div => a / b,
        ArithOp::Mod => a % b,
        ArithOp::Pow => a.powf(b),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_hex_without_leading_zeros() {
        let id = [0x00, 0x0a, 0xbc, 0x01];
        assert!(id_equals_hex(&id, "abc01"));
        assert!(id_equals_hex(&id, "000abc01"));
        assert!(id_equals_hex(&id, "ABC01"));
        assert!(!id_equals_hex(&id, "abc1"));
        assert!(!id_equals_hex(&id, "xbc01"));
        assert!(id_equals_hex(&[0, 0], ""));
        assert!(id_equals_hex(&[0, 0], "0"));
    }

    #[test]
    fn mixed_numeric_comparisons() {
        assert!(compare(CompareOp::Eq, Value::Int(200), Value::Float(200.0)));
        assert!(compare(
            CompareOp::Gt,
            Value::Duration(2_000),
            Value::Int(1_000)
        ));
        assert!(!compare(CompareOp::Neq, Value::Int(1), Value::Str("x")));
        assert!(!compare(CompareOp::Neq, Value::Nil, Value::Str("x")));
        assert!(compare(CompareOp::Lt, Value::Str("a"), Value::Str("b")));
    }
}
