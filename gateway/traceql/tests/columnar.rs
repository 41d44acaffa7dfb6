//! The columnar API agrees with the trace evaluator: span predicates evaluated leaf by
//! leaf over a dictionary-encoded "column" select exactly the spans `evaluate_with`
//! returns, and metrics fed span by span (or pre-counted) equal `observe_trace`.
//!
//! The column reader here is written from the documentation of `Field::is_span_level`
//! and `resolve_unscoped`, not from the evaluator's code, so a mismatch between the two
//! fails these tests.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

mod common;

use std::collections::HashMap;

use common::{BASE, MS};
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use proptest::prelude::*;
use spangate_traceql::ast::{
    AttributeScope, Field, FieldExpr, Intrinsic, Pipeline, SpansetExpr, Stage,
};
use spangate_traceql::{
    ColumnarError, Condition, ConditionOp, FieldValue, Kind, Literal, MetricsEvaluator, Query,
    SearchOptions, SpanLocation, SpanObservation, SpanPredicate, parse, resolve_unscoped,
};

// ----- reference column reader -----------------------------------------------------------

/// One row of the span "table": a span with its resource and scope.
#[derive(Clone, Copy)]
struct Row<'a> {
    location: SpanLocation,
    span: &'a Span,
    resource: &'a [KeyValue],
    scope: Option<&'a InstrumentationScope>,
}

fn rows(trace: &[ResourceSpans]) -> Vec<Row<'_>> {
    let mut out = Vec::new();
    for (ri, rs) in trace.iter().enumerate() {
        let resource = rs.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
        for (si, ss) in rs.scope_spans.iter().enumerate() {
            for (pi, span) in ss.spans.iter().enumerate() {
                out.push(Row {
                    location: SpanLocation {
                        resource: ri,
                        scope: si,
                        span: pi,
                    },
                    span,
                    resource,
                    scope: ss.scope.as_ref(),
                });
            }
        }
    }
    out
}

/// The value of the first attribute with `key`, if that key/value carries one.
fn carried<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> FieldValue<'a> {
    FieldValue::from_any(carried(attrs, key))
}

/// The column value of `field` for `row`, as `Field::is_span_level` documents it.
fn read<'a>(field: &Field, row: &Row<'a>) -> FieldValue<'a> {
    let span = row.span;
    match field {
        Field::Intrinsic(i) => match i {
            Intrinsic::Name => FieldValue::Str(&span.name),
            Intrinsic::Status => FieldValue::Status(spangate_traceql::Status::from_otlp(
                span.status.as_ref().map_or(0, |s| s.code),
            )),
            Intrinsic::StatusMessage => {
                FieldValue::Str(span.status.as_ref().map_or("", |s| s.message.as_str()))
            }
            Intrinsic::Kind => FieldValue::Kind(Kind::from_otlp(span.kind)),
            Intrinsic::Duration => FieldValue::Duration(
                i64::try_from(
                    span.end_time_unix_nano
                        .saturating_sub(span.start_time_unix_nano),
                )
                .unwrap_or(i64::MAX),
            ),
            Intrinsic::SpanId => FieldValue::Id(&span.span_id),
            Intrinsic::ParentId => {
                if span.parent_span_id.iter().all(|b| *b == 0) {
                    FieldValue::Nil
                } else {
                    FieldValue::Id(&span.parent_span_id)
                }
            }
            Intrinsic::InstrumentationName => row
                .scope
                .map_or(FieldValue::Nil, |s| FieldValue::Str(&s.name)),
            Intrinsic::InstrumentationVersion => row
                .scope
                .map_or(FieldValue::Nil, |s| FieldValue::Str(&s.version)),
            other => panic!("not a span-level intrinsic: {other:?}"),
        },
        Field::Attribute(a) => match a.scope {
            AttributeScope::Span => attr(&span.attributes, &a.name),
            AttributeScope::Resource => attr(row.resource, &a.name),
            AttributeScope::Instrumentation => row
                .scope
                .map_or(FieldValue::Nil, |s| attr(&s.attributes, &a.name)),
            AttributeScope::Unscoped => resolve_unscoped(
                carried(&span.attributes, &a.name).map(|v| FieldValue::from_any(Some(v))),
                attr(row.resource, &a.name),
            ),
            other => panic!("not a span-level scope: {other:?}"),
        },
    }
}

/// Evaluates a predicate the columnar way: every leaf once per distinct value of its
/// column (a dictionary keyed by the value's debug form), bitmaps combined with and/or/not.
fn bitmap(predicate: &SpanPredicate, rows: &[Row<'_>]) -> Vec<bool> {
    match predicate {
        SpanPredicate::True => vec![true; rows.len()],
        SpanPredicate::False => vec![false; rows.len()],
        SpanPredicate::And(all) => all.iter().fold(vec![true; rows.len()], |acc, p| {
            acc.iter()
                .zip(bitmap(p, rows))
                .map(|(a, b)| *a && b)
                .collect()
        }),
        SpanPredicate::Or(any) => any.iter().fold(vec![false; rows.len()], |acc, p| {
            acc.iter()
                .zip(bitmap(p, rows))
                .map(|(a, b)| *a || b)
                .collect()
        }),
        SpanPredicate::Not(inner) => bitmap(inner, rows).into_iter().map(|b| !b).collect(),
        leaf => {
            let field = leaf.leaf_field().unwrap();
            let mut dictionary: HashMap<String, bool> = HashMap::new();
            rows.iter()
                .map(|row| {
                    let value = read(field, row);
                    *dictionary.entry(format!("{value:?}")).or_insert_with(|| {
                        if let SpanPredicate::Leaf(c) = leaf {
                            // The documented leaf evaluation.
                            assert_eq!(leaf.leaf_matches(value), Some(c.matches_value(value)));
                        }
                        leaf.leaf_matches(value).unwrap()
                    })
                })
                .collect()
        }
    }
}

/// Locations of the spans the evaluator returns for a search query (no `spss` cut).
fn engine_matches(q: &Query, trace: &[ResourceSpans]) -> Vec<SpanLocation> {
    let options = SearchOptions {
        spans_per_spanset: u32::MAX,
    };
    let mut out: Vec<SpanLocation> = q
        .evaluate_with(trace, &options)
        .map(|r| {
            r.spansets
                .iter()
                .flat_map(|s| s.spans.iter().map(|m| m.location))
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|l| (l.resource, l.scope, l.span));
    out
}

fn predicate_matches(q: &Query, trace: &[ResourceSpans]) -> Vec<SpanLocation> {
    let predicate = q.span_predicate().unwrap();
    let rows = rows(trace);
    let bits = bitmap(&predicate, &rows);
    for (row, bit) in rows.iter().zip(&bits) {
        // Row-at-a-time evaluation agrees with the bitmaps.
        assert_eq!(predicate.matches(&mut |f| read(f, row)), *bit, "{q}");
    }
    rows.iter()
        .zip(bits)
        .filter(|(_, b)| *b)
        .map(|(r, _)| r.location)
        .collect()
}

// ----- random traces ---------------------------------------------------------------------

fn any_value(v: any_value::Value) -> AnyValue {
    AnyValue { value: Some(v) }
}

fn scalar_value() -> impl Strategy<Value = AnyValue> {
    use any_value::Value as V;
    prop_oneof![
        prop::sample::select(vec!["a", "b", "GET", "api", "0a0b", "", "ab c"])
            .prop_map(|s| any_value(V::StringValue(s.into()))),
        prop::sample::select(vec![-1i64, 0, 1, 2, 3, 5, 1000, 1_000_000, 2_000_000])
            .prop_map(|n| any_value(V::IntValue(n))),
        prop::sample::select(vec![0.0f64, 1.0, 1.5, 2.5, -0.5, 3.0, f64::NAN])
            .prop_map(|x| any_value(V::DoubleValue(x))),
        any::<bool>().prop_map(|b| any_value(V::BoolValue(b))),
    ]
}

fn attr_value() -> impl Strategy<Value = Option<AnyValue>> {
    use any_value::Value as V;
    prop_oneof![
        8 => scalar_value().prop_map(Some),
        1 => prop::sample::select(vec![vec![0x0au8, 0x0b], vec![0, 0x0a, 0x0b], vec![]])
            .prop_map(|b| Some(any_value(V::BytesValue(b)))),
        2 => prop::collection::vec(scalar_value(), 0..3)
            .prop_map(|values| Some(any_value(V::ArrayValue(ArrayValue { values })))),
        1 => Just(Some(any_value(V::KvlistValue(KeyValueList { values: vec![] })))),
        // An AnyValue without a value, and a key/value without an AnyValue.
        1 => Just(Some(AnyValue { value: None })),
        1 => Just(None),
    ]
}

fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::vec(
        (
            prop::sample::select(vec![
                "x",
                "y",
                "n",
                "flag",
                "service.name",
                "http.status_code",
            ]),
            attr_value(),
        ),
        0..5,
    )
    .prop_map(|kvs| {
        kvs.into_iter()
            .map(|(key, value)| KeyValue {
                key: key.to_string(),
                value,
                ..Default::default()
            })
            .collect()
    })
}

fn id(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![0u8, 0x0a, 0xab, 0xff]), len)
}

/// An 8-byte id that prints as one or two hex digits without leading zeros.
fn short_id(last: u8) -> impl Strategy<Value = Vec<u8>> {
    Just(vec![0, 0, 0, 0, 0, 0, 0, last])
}

fn span() -> impl Strategy<Value = Span> {
    (
        (
            prop::sample::select(vec!["GET", "POST /x", "a", "b", ""]),
            0i32..7,
            prop::option::of((
                0i32..4,
                prop::sample::select(vec!["", "timeout", "card declined"]),
            )),
            0u64..70,
            prop::sample::select(vec![0u64, 1, 500_000]),
            prop_oneof![0u64..4, 0u64..30_000_000, Just(3_000_000_000)],
            any::<bool>(),
        ),
        prop_oneof![3 => id(8), 2 => short_id(0x0a), 1 => short_id(0xab), 1 => Just(vec![])],
        prop_oneof![Just(vec![]), Just(vec![0u8; 8]), id(8), short_id(0xff)],
        attributes(),
    )
        .prop_map(
            |(
                (name, kind, status, start_ms, start_ns, duration, backwards),
                span_id,
                parent,
                attributes,
            )| {
                let start = BASE + start_ms * MS + start_ns;
                // A few spans end before they start (duration saturates to 0).
                let end = if backwards && duration == 1 {
                    start - 1
                } else {
                    start + duration
                };
                Span {
                    name: name.to_string(),
                    kind,
                    status: status.map(|(code, message)| Status {
                        code,
                        message: message.to_string(),
                    }),
                    start_time_unix_nano: start,
                    end_time_unix_nano: end,
                    span_id,
                    parent_span_id: parent,
                    attributes,
                    ..Default::default()
                }
            },
        )
}

fn scope() -> impl Strategy<Value = Option<InstrumentationScope>> {
    prop::option::of((
        prop::sample::select(vec!["", "lib", "otel"]),
        prop::sample::select(vec!["", "1", "2.0"]),
        attributes(),
    ))
    .prop_map(|s| {
        s.map(|(name, version, attributes)| InstrumentationScope {
            name: name.to_string(),
            version: version.to_string(),
            attributes,
            ..Default::default()
        })
    })
}

fn resource() -> impl Strategy<Value = Vec<KeyValue>> {
    use any_value::Value as V;
    (
        prop::sample::select(vec![
            Some(V::StringValue("api".into())),
            Some(V::StringValue("db".into())),
            Some(V::StringValue("web".into())),
            Some(V::IntValue(1)),
            None,
        ]),
        attributes(),
    )
        .prop_map(|(service, rest)| {
            let mut attrs: Vec<KeyValue> = service
                .map(|v| KeyValue {
                    key: "service.name".into(),
                    value: Some(any_value(v)),
                    ..Default::default()
                })
                .into_iter()
                .collect();
            attrs.extend(rest);
            attrs
        })
}

/// One trace; `tag` makes trace ids of a generated list distinct.
fn trace(tag: u8) -> impl Strategy<Value = Vec<ResourceSpans>> {
    let scope_spans = (scope(), prop::collection::vec(span(), 0..6));
    let resource_spans = (resource(), prop::collection::vec(scope_spans, 1..3));
    (id(16), prop::collection::vec(resource_spans, 1..3)).prop_map(move |(mut trace_id, rss)| {
        trace_id[15] = tag;
        rss.into_iter()
            .map(|(attributes, scopes)| ResourceSpans {
                resource: Some(Resource {
                    attributes,
                    ..Default::default()
                }),
                scope_spans: scopes
                    .into_iter()
                    .map(|(scope, mut spans)| {
                        for s in &mut spans {
                            s.trace_id = trace_id.clone();
                        }
                        ScopeSpans {
                            scope,
                            spans,
                            schema_url: String::new(),
                        }
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect()
    })
}

fn traces() -> impl Strategy<Value = Vec<Vec<ResourceSpans>>> {
    (1usize..5).prop_flat_map(|n| {
        (0..n)
            .map(|tag| trace(u8::try_from(tag).unwrap()))
            .collect::<Vec<_>>()
    })
}

// ----- queries ---------------------------------------------------------------------------

/// Filters covering every leaf kind; each must have a span predicate.
const FILTERS: &[&str] = &[
    "{}",
    "{ true }",
    "{ false }",
    "{ !true }",
    "{ 1 = 1 }",
    "{ \"a\" =~ \"b\" }",
    // intrinsics
    "{ name = \"GET\" }",
    "{ name != \"GET\" }",
    "{ name =~ \"G.*\" }",
    "{ name !~ \"a|b\" }",
    "{ name =~ \"\" }",
    "{ name > \"a\" }",
    "{ name <= \"POST /x\" }",
    "{ \"a\" = name }",
    "{ \"POST\" < name }",
    "{ status = error }",
    "{ status != ok }",
    "{ status = unset }",
    "{ kind = server }",
    "{ kind != client }",
    "{ kind = unspecified }",
    "{ statusMessage = \"\" }",
    "{ statusMessage =~ \"time.*\" }",
    "{ span:statusMessage != \"timeout\" }",
    "{ duration > 5ms }",
    "{ duration <= 2 }",
    "{ duration = 0 }",
    "{ duration >= 1.5 }",
    "{ duration < 1000000 }",
    "{ span:duration > 10ms }",
    "{ 3ns < duration }",
    "{ span:id =~ \"00.*\" }",
    "{ span:id > \"8\" }",
    "{ span:id != \"ab\" }",
    "{ span:id = \"a\" }",
    "{ span:id = \"00000000000000AB\" }",
    "{ span:id = nil }",
    "{ span:parentID = nil }",
    "{ span:parentID != nil }",
    "{ span:parentID =~ \"ff.*\" }",
    "{ span:parentID = \"ff\" }",
    "{ span:parentID < \"0b\" }",
    "{ instrumentation:name = \"lib\" }",
    "{ instrumentation:version != \"1\" }",
    "{ instrumentation:name = nil }",
    "{ instrumentation:name != nil }",
    "{ instrumentation:version =~ \"\" }",
    // span attributes, every type
    "{ span.x = 1 }",
    "{ span.x = 1.0 }",
    "{ span.x > 1 }",
    "{ span.x <= 1.5 }",
    "{ span.x = \"a\" }",
    "{ span.x != \"a\" }",
    "{ span.x =~ \"a.*\" }",
    "{ span.x !~ \"a\" }",
    "{ span.x = true }",
    "{ span.x != false }",
    "{ span.x = nil }",
    "{ span.x != nil }",
    "{ span.x = 2ms }",
    "{ span.x > -1 }",
    "{ span.x = \"0a0b\" }",
    "{ span.x = \"a0b\" }",
    "{ span.x =~ \"0a.*\" }",
    "{ span.x < \"b\" }",
    "{ span.x >= \"ab\" }",
    "{ span.n >= 2.5 }",
    "{ span.n < 3 }",
    "{ span.n = 2.5 }",
    "{ span.n != 1 }",
    "{ span.n > 1ms }",
    "{ span.http.status_code >= 500 }",
    "{ 2 < span.n }",
    "{ \"a\" = span.x }",
    "{ 1 < .n }",
    "{ nil = span.x }",
    "{ nil != .x }",
    // unscoped: span first, then resource
    "{ .x = 1 }",
    "{ .x = \"a\" }",
    "{ .x = nil }",
    "{ .x != nil }",
    "{ .x =~ \".*\" }",
    "{ .x !~ \"b\" }",
    "{ .service.name =~ \"a.*|db\" }",
    "{ .service.name = 1 }",
    "{ .service.name != nil }",
    // resource and instrumentation attributes
    "{ resource.x >= 2 }",
    "{ resource.x != nil }",
    "{ resource.service.name = \"api\" }",
    "{ resource.service.name != \"api\" }",
    "{ resource.service.name = nil }",
    "{ span.service.name = nil }",
    "{ instrumentation.x = \"a\" }",
    "{ instrumentation.x != nil }",
    "{ instrumentation.flag }",
    // bare booleans
    "{ span.flag }",
    "{ !span.flag }",
    "{ !!span.flag }",
    "{ .flag }",
    "{ !.flag }",
    "{ resource.flag }",
    "{ span.flag = true }",
    "{ span.flag != true }",
    "{ span.flag || span.y }",
    "{ !(span.flag && .y) }",
    // combinations
    "{ span.x = 1 && kind = server }",
    "{ span.x = 1 || !(status = error) }",
    "{ !(span.x = \"a\" || .y > 1) && name =~ \"G.*\" }",
    "{ span.flag && span.x != nil }",
    "{ !span.flag || duration > 3ms }",
    "{ true && span.x = 1 }",
    "{ false || .x = nil }",
    "{ !(span.x != nil) }",
    "{ !(span.x = 1) }",
    "{ !(span.x != 1) }",
    "{ !(span.x =~ \"a\") }",
    "{ (span.x = 1 || span.y = 1) && !(resource.service.name = \"api\" && kind != server) }",
    "{ span.x =~ \"a\" && span.x !~ \"b\" || duration = 0 }",
    "{ span.x = 1 || span.x = \"a\" || span.x = true || span.x = nil }",
    "{ !(!(span.x > 0) && !(.n < 2)) }",
];

/// The leaves of `FILTERS` (filters without `&&`/`||`), for random combinations.
fn leaf_pool() -> Vec<FieldExpr> {
    FILTERS
        .iter()
        .filter(|f| !f.contains("&&") && !f.contains("||"))
        .map(|f| match &parse(f).unwrap().pipeline().stages[0] {
            Stage::Spanset(SpansetExpr::Filter(e)) => e.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn random_filter() -> impl Strategy<Value = Query> {
    prop::sample::select(leaf_pool())
        .prop_recursive(4, 16, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| FieldExpr::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| FieldExpr::Or(Box::new(a), Box::new(b))),
                inner.prop_map(|e| FieldExpr::Not(Box::new(e))),
            ]
        })
        .prop_map(|e| {
            Query::new(
                Pipeline {
                    stages: vec![Stage::Spanset(SpansetExpr::Filter(e))],
                },
                None,
                Vec::new(),
            )
        })
}

const METRIC_FILTERS: &[&str] = &[
    "{ }",
    "{ kind = server || span.n > 1 }",
    "{ span.x != nil || status = error }",
];

const FUNCTIONS: &[&str] = &[
    "rate()",
    "count_over_time()",
    "min_over_time(duration)",
    "max_over_time(span.n)",
    "avg_over_time(duration)",
    "avg_over_time(.n)",
    "sum_over_time(span.n)",
    "sum_over_time(duration)",
    "min_over_time(span.x)",
    "max_over_time(resource.x)",
    "quantile_over_time(duration, .5, .99)",
    "quantile_over_time(span.n, .5)",
    "histogram_over_time(duration)",
    "histogram_over_time(span.n)",
];

const BYS: &[&str] = &[
    "",
    " by (resource.service.name)",
    " by (name)",
    " by (span.x)",
    " by (resource.service.name, kind)",
    " by (.x, status)",
    " by (instrumentation:name, span:parentID)",
];

fn metrics_queries(functions: &[&str]) -> Vec<Query> {
    let mut out = Vec::new();
    for filter in METRIC_FILTERS {
        for function in functions {
            for by in BYS {
                let text = format!("{filter} | {function}{by}");
                out.push(parse(&text).unwrap_or_else(|e| panic!("{text}: {e}")));
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
enum Window {
    Range { start: u64, end: u64, step: u64 },
    Instant { start: u64, end: u64 },
}

fn window() -> impl Strategy<Value = Window> {
    prop_oneof![
        3 => (0u64..10, 40u64..75, prop::sample::select(vec![7u64, 10, 25])).prop_map(|(s, e, step)| Window::Range {
            start: BASE + s * MS,
            end: BASE + e * MS,
            step: step * MS,
        }),
        1 => (0u64..10, 40u64..75).prop_map(|(s, e)| Window::Instant { start: BASE + s * MS, end: BASE + e * MS }),
    ]
}

fn evaluator(q: &Query, window: Window, exemplars: u32) -> MetricsEvaluator {
    let eval = match window {
        Window::Range { start, end, step } => MetricsEvaluator::new(q, start, end, step),
        Window::Instant { start, end } => MetricsEvaluator::instant(q, start, end),
    };
    eval.unwrap().with_exemplars(exemplars)
}

fn by_trace(q: &Query, traces: &[Vec<ResourceSpans>], window: Window, exemplars: u32) -> String {
    let mut eval = evaluator(q, window, exemplars);
    for t in traces {
        eval.observe_trace(t);
    }
    format!("{:?}", eval.finish())
}

/// What a columnar caller does for one span passing the predicate.
struct SpanInput<'a> {
    row: Row<'a>,
    by: Vec<FieldValue<'a>>,
    value: FieldValue<'a>,
}

impl SpanInput<'_> {
    fn observation(&self) -> SpanObservation<'_> {
        let span = self.row.span;
        SpanObservation {
            trace_id: &span.trace_id,
            span_id: &span.span_id,
            start_time_unix_nano: span.start_time_unix_nano,
            duration_nanos: span
                .end_time_unix_nano
                .saturating_sub(span.start_time_unix_nano),
            by_values: &self.by,
            value: self.value,
        }
    }
}

/// The matching spans of every trace, in trace order, with their metrics inputs.
fn span_inputs<'a>(
    eval: &MetricsEvaluator,
    q: &Query,
    traces: &'a [Vec<ResourceSpans>],
) -> Vec<SpanInput<'a>> {
    let predicate = q.span_predicate().unwrap();
    let inputs = eval.span_inputs().unwrap();
    let mut out = Vec::new();
    for t in traces {
        let rows = rows(t);
        let bits = bitmap(&predicate, &rows);
        for (row, bit) in rows.into_iter().zip(bits) {
            if bit {
                out.push(SpanInput {
                    row,
                    by: inputs.by.iter().map(|f| read(f, &row)).collect(),
                    value: inputs.value.map_or(FieldValue::Nil, |f| read(f, &row)),
                });
            }
        }
    }
    out
}

fn by_span(q: &Query, traces: &[Vec<ResourceSpans>], window: Window, exemplars: u32) -> String {
    let mut eval = evaluator(q, window, exemplars);
    let spans = span_inputs(&eval, q, traces);
    for s in &spans {
        eval.observe_span(&s.observation()).unwrap();
    }
    format!("{:?}", eval.finish())
}

/// Dense counting: spans per (by values, interval), handed over with `add_counts`. While
/// the evaluator wants exemplars, spans go to `observe_span` instead.
fn by_counts(q: &Query, traces: &[Vec<ResourceSpans>], window: Window, exemplars: u32) -> String {
    let mut eval = evaluator(q, window, exemplars);
    let spans = span_inputs(&eval, q, traces);
    // Keys in order of first appearance, like dictionary ids.
    let mut keys: Vec<(String, &[FieldValue<'_>])> = Vec::new();
    let mut counts: Vec<Vec<u64>> = Vec::new();
    for s in &spans {
        if eval.wants_exemplars() {
            eval.observe_span(&s.observation()).unwrap();
            continue;
        }
        // A key is registered even when its spans fall outside the window: its counts
        // are then all zero and must not create a series.
        let key = format!("{:?}", s.by);
        let slot = match keys.iter().position(|(k, _)| *k == key) {
            Some(slot) => slot,
            None => {
                keys.push((key, &s.by));
                counts.push(vec![0; eval.interval_count()]);
                keys.len() - 1
            }
        };
        if let Some(interval) = eval.interval_index(s.row.span.start_time_unix_nano) {
            counts[slot][interval] += 1;
        }
    }
    for ((_, by), counts) in keys.iter().zip(&counts) {
        let dense: Vec<(usize, u64)> = counts.iter().copied().enumerate().collect();
        eval.add_counts(by, &dense).unwrap();
    }
    format!("{:?}", eval.finish())
}

// ----- properties ------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn span_predicates_select_the_spans_the_evaluator_returns(trace in trace(7)) {
        for text in FILTERS {
            let q = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            prop_assert!(q.span_predicate().is_some(), "{}", text);
            prop_assert_eq!(predicate_matches(&q, &trace), engine_matches(&q, &trace), "{} = {:?}", text, q.span_predicate());
        }
    }

    #[test]
    fn random_span_predicates_select_the_spans_the_evaluator_returns(q in random_filter(), trace in trace(7)) {
        prop_assert!(q.span_predicate().is_some(), "{}", q);
        prop_assert_eq!(predicate_matches(&q, &trace), engine_matches(&q, &trace), "{} = {:?}", q, q.span_predicate());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn observe_span_equals_observe_trace(
        traces in traces(),
        window in window(),
        exemplars in prop::sample::select(vec![0u32, 1, 2, 5, 100]),
    ) {
        for q in metrics_queries(FUNCTIONS) {
            prop_assert_eq!(by_span(&q, &traces, window, exemplars), by_trace(&q, &traces, window, exemplars), "{}", q);
        }
    }

    #[test]
    fn dense_counts_equal_observe_trace(
        traces in traces(),
        window in window(),
        exemplars in prop::sample::select(vec![0u32, 1, 3, 100]),
    ) {
        for q in metrics_queries(&["rate()", "count_over_time()"]) {
            // Counts alone (no exemplars), then counts after exemplars are taken.
            prop_assert_eq!(by_counts(&q, &traces, window, 0), by_trace(&q, &traces, window, 0), "{}", q);
            prop_assert_eq!(by_counts(&q, &traces, window, exemplars), by_trace(&q, &traces, window, exemplars), "{}", q);
        }
    }
}

// ----- examples --------------------------------------------------------------------------

fn field(text: &str) -> Field {
    let q = parse(&format!("{{ {text} != nil }}")).unwrap();
    match q.span_predicate().unwrap() {
        SpanPredicate::Exists(f) => f,
        other => panic!("{other:?}"),
    }
}

fn condition(text: &str) -> Condition {
    match parse(&format!("{{ {text} }}"))
        .unwrap()
        .span_predicate()
        .unwrap()
    {
        SpanPredicate::Leaf(c) => c,
        other => panic!("{text}: {other:?}"),
    }
}

#[test]
fn span_predicate_is_none_for_everything_not_span_level() {
    for text in [
        "{ traceDuration > 1s }",
        "{ trace:duration > 1s }",
        "{ rootName = \"a\" }",
        "{ rootServiceName = \"a\" }",
        "{ trace:rootService = \"a\" }",
        "{ trace:id = \"ab\" }",
        "{ parent = nil }",
        "{ parent != nil }",
        "{ childCount > 1 }",
        "{ span:childCount = 0 }",
        "{ event:name = \"x\" }",
        "{ event:timeSinceStart > 1ms }",
        "{ event.x = 1 }",
        "{ link.x = 1 }",
        "{ link:traceID = \"a\" }",
        "{ link:spanID = \"a\" }",
        "{ event.x != nil }",
        "{ span.a + 1 = 2 }",
        "{ -span.a = 2 }",
        "{ duration * 2 > 1s }",
        "{ span.a = span.b }",
        "{ name = resource.service.name }",
        "{ span.a =~ \"x\" && traceDuration > 1s }",
        "{ !(rootName = \"x\") || span.a = 1 }",
        "{ (span.a = 1) = true }",
        "{ span.a = 1 } >> { span.b = 2 }",
        "{ span.a = 1 } > { }",
        "{ } !< { span.b = 2 }",
        "{ } &>> { }",
        "{ } ~ { }",
        "{ span.a = 1 } && { span.b = 2 }",
        "{ span.a = 1 } || { span.b = 2 }",
        "{ span.a = 1 } | count() > 1",
        "{ span.a = 1 } | avg(duration) > 1s",
        "{ span.a = 1 } | by(span.x)",
        "{ span.a = 1 } | select(span.x)",
        "{ span.a = 1 } | coalesce()",
        "{ span.a = 1 } | { span.b = 2 }",
        "({ span.a = 1 } | count() > 1)",
        "{ span.a = 1 } | by(span.x) | coalesce()",
        "{ rootServiceName = \"a\" } | rate()",
        "{ span.a = 1 } && { } | rate()",
    ] {
        let q = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(q.span_predicate(), None, "{text}");
    }
}

#[test]
fn span_predicate_shapes() {
    let x = field("span.x");
    let leaf = |text: &str| SpanPredicate::Leaf(condition(text));
    let cases = [
        ("{}", SpanPredicate::True),
        ("{ } | rate() by (name)", SpanPredicate::True),
        ("{ false }", SpanPredicate::False),
        ("{ span.x = 1 }", leaf("span.x = 1")),
        ("{ span.x = nil }", SpanPredicate::Absent(x.clone())),
        ("{ nil != span.x }", SpanPredicate::Exists(x.clone())),
        ("{ !(span.x = nil) }", SpanPredicate::Exists(x.clone())),
        (
            "{ span.x }",
            SpanPredicate::Bool {
                field: x.clone(),
                value: true,
            },
        ),
        (
            "{ !span.x }",
            SpanPredicate::Bool {
                field: x.clone(),
                value: false,
            },
        ),
        (
            "{ !(!span.x) }",
            SpanPredicate::Bool {
                field: x.clone(),
                value: true,
            },
        ),
        (
            "{ !(span.x = 1) }",
            SpanPredicate::Not(Box::new(leaf("span.x = 1"))),
        ),
        ("{ true && span.x = 1 }", leaf("span.x = 1")),
        ("{ false && span.x = 1 }", SpanPredicate::False),
        ("{ true || span.x = 1 }", SpanPredicate::True),
        (
            "{ span.x = 1 && kind = server && .y =~ \"a\" } | rate() by (resource.service.name)",
            SpanPredicate::And(vec![
                leaf("span.x = 1"),
                leaf("kind = server"),
                leaf(".y =~ \"a\""),
            ]),
        ),
        (
            "{ (span.x = 1 || name = \"a\") && !span.x }",
            SpanPredicate::And(vec![
                SpanPredicate::Or(vec![leaf("span.x = 1"), leaf("name = \"a\"")]),
                SpanPredicate::Bool {
                    field: x.clone(),
                    value: false,
                },
            ]),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse(text).unwrap().span_predicate(), Some(want), "{text}");
    }
    // `literal op field` is stored as `field op' literal`.
    let c = condition("2 < span.n");
    assert_eq!(
        c.op,
        ConditionOp::Compare(spangate_traceql::ast::CompareOp::Gt)
    );
    assert_eq!(c.value, Literal::Int(2));
    // A hand-built `x = nil` comparison (the parser makes it an existence test) is false.
    let hand = Query::new(
        Pipeline {
            stages: vec![Stage::Spanset(SpansetExpr::Filter(FieldExpr::Compare {
                op: spangate_traceql::ast::CompareOp::Neq,
                lhs: Box::new(FieldExpr::Field(x.clone())),
                rhs: Box::new(FieldExpr::Literal(Literal::Nil)),
            }))],
        },
        None,
        Vec::new(),
    );
    assert_eq!(hand.span_predicate(), Some(SpanPredicate::False));
    // The columns a predicate needs.
    let p = parse("{ span.x = 1 || (.y != nil && span.x =~ \"a\") }")
        .unwrap()
        .span_predicate()
        .unwrap();
    let mut fields = Vec::new();
    p.for_each_field(&mut |f| fields.push(f.to_string()));
    assert_eq!(fields, ["span.x", ".y", "span.x"]);
}

#[test]
fn leaves_match_values_like_the_evaluator() {
    use spangate_traceql::Status as St;
    let s = |v: &'static str| FieldValue::Str(v);
    let ints = [
        AnyValue {
            value: Some(any_value::Value::IntValue(1)),
        },
        AnyValue {
            value: Some(any_value::Value::IntValue(5)),
        },
    ];
    let strs = [
        AnyValue {
            value: Some(any_value::Value::StringValue("a".into())),
        },
        AnyValue {
            value: Some(any_value::Value::StringValue("b".into())),
        },
    ];
    let id = [0x00u8, 0x0a, 0xbc];
    let cases: Vec<(&str, FieldValue<'_>, bool)> = vec![
        // nil satisfies no comparison
        ("span.x != 1", FieldValue::Nil, false),
        ("span.x !~ \"a\"", FieldValue::Nil, false),
        ("span.x = 1", FieldValue::Nil, false),
        // numbers compare across types; other types never
        ("span.x = 1", FieldValue::Float(1.0), true),
        ("span.x > 1ms", FieldValue::Int(1_000_001), true),
        ("duration = 1000", FieldValue::Duration(1000), true),
        ("duration > 1.5", FieldValue::Duration(2), true),
        ("span.x != 1", s("1"), false),
        ("span.x = \"1\"", FieldValue::Int(1), false),
        ("span.x != \"a\"", FieldValue::Bool(true), false),
        ("span.x != 1", FieldValue::Float(f64::NAN), true),
        ("span.x = 1", FieldValue::Float(f64::NAN), false),
        // arrays: any element for =, =~ and orderings; every element for != and !~
        ("span.x = 5", FieldValue::Array(&ints), true),
        ("span.x > 4", FieldValue::Array(&ints), true),
        ("span.x != 5", FieldValue::Array(&ints), false),
        ("span.x != 7", FieldValue::Array(&ints), true),
        ("span.x =~ \"b\"", FieldValue::Array(&strs), true),
        ("span.x !~ \"b\"", FieldValue::Array(&strs), false),
        ("span.x !~ \"c\"", FieldValue::Array(&strs), true),
        ("span.x !~ \"c\"", FieldValue::Array(&ints), false),
        ("span.x != 1", FieldValue::Array(&[]), true),
        ("span.x = 1", FieldValue::Array(&[]), false),
        // ids against hex strings: equality ignores case and leading zeros
        ("span:id = \"abc\"", FieldValue::Id(&id), true),
        ("span:id = \"000ABC\"", FieldValue::Id(&id), true),
        ("span:id = \"0abc0\"", FieldValue::Id(&id), false),
        ("span:id =~ \"000a.*\"", FieldValue::Id(&id), true),
        ("span:id =~ \"abc\"", FieldValue::Id(&id), false),
        ("span:id > \"000a\"", FieldValue::Id(&id), true),
        // regexes are fully anchored, `.` matches newlines
        ("name =~ \"GET\"", s("GET /users"), false),
        ("name =~ \"GET.*\"", s("GET\n/users"), true),
        ("name !~ \"GET\"", s("GET /users"), true),
        ("span.x =~ \"1\"", FieldValue::Int(1), false),
        // statuses, kinds and booleans: equality only
        ("status = error", FieldValue::Status(St::Error), true),
        ("status != error", FieldValue::Status(St::Ok), true),
        ("kind = server", FieldValue::Kind(Kind::Server), true),
        ("kind != server", FieldValue::Kind(Kind::Client), true),
        ("span.x = true", FieldValue::Bool(true), true),
        ("span.x != true", FieldValue::Bool(false), true),
        ("span.x = true", s("true"), false),
        // strings order lexically
        ("name < \"b\"", s("a"), true),
        ("name >= \"b\"", s("a"), false),
    ];
    for (text, value, want) in cases {
        assert_eq!(
            condition(text).matches_value(value),
            want,
            "{text} on {value:?}"
        );
    }
    // Bare boolean fields want exactly a boolean, and `!` its opposite.
    let flag = parse("{ span.flag }").unwrap().span_predicate().unwrap();
    let not_flag = parse("{ !span.flag }").unwrap().span_predicate().unwrap();
    let bools = [AnyValue {
        value: Some(any_value::Value::BoolValue(true)),
    }];
    for (value, yes, no) in [
        (FieldValue::Bool(true), true, false),
        (FieldValue::Bool(false), false, true),
        (FieldValue::Nil, false, false),
        (FieldValue::Array(&bools), false, false),
        (s("true"), false, false),
    ] {
        assert_eq!(flag.leaf_matches(value), Some(yes), "{value:?}");
        assert_eq!(not_flag.leaf_matches(value), Some(no), "{value:?}");
    }
    let exists = parse("{ span.x != nil }")
        .unwrap()
        .span_predicate()
        .unwrap();
    assert_eq!(exists.leaf_matches(FieldValue::Array(&[])), Some(true));
    assert_eq!(exists.leaf_matches(FieldValue::Nil), Some(false));
    assert_eq!(SpanPredicate::True.leaf_matches(FieldValue::Nil), None);
    // `.x`: the span's attribute when it has one, even one that reads as nil.
    assert_eq!(
        resolve_unscoped(Some(FieldValue::Int(1)), s("r")),
        FieldValue::Int(1)
    );
    assert_eq!(
        resolve_unscoped(Some(FieldValue::Nil), s("r")),
        FieldValue::Nil
    );
    assert_eq!(resolve_unscoped(None, s("r")), s("r"));
    let kvlist = AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList::default())),
    };
    assert_eq!(FieldValue::from_any(Some(&kvlist)), FieldValue::Nil);
    assert_eq!(
        FieldValue::from_any(Some(&AnyValue { value: None })),
        FieldValue::Nil
    );
}

#[test]
fn span_inputs_name_the_fields_to_supply() {
    let q = parse(
        "{ kind = server } | quantile_over_time(duration, .99) by (resource.service.name, .x)",
    )
    .unwrap();
    let eval = MetricsEvaluator::new(&q, BASE, BASE + 60 * MS, 10 * MS).unwrap();
    let inputs = eval.span_inputs().unwrap();
    let by: Vec<String> = inputs.by.iter().map(ToString::to_string).collect();
    assert_eq!(by, ["resource.service.name", ".x"]);
    assert_eq!(inputs.value, Some(&Field::Intrinsic(Intrinsic::Duration)));

    let q = parse("{ } | rate()").unwrap();
    let eval = MetricsEvaluator::new(&q, BASE, BASE + 60 * MS, 10 * MS).unwrap();
    let inputs = eval.span_inputs().unwrap();
    assert!(inputs.by.is_empty() && inputs.value.is_none());

    for text in [
        "{ } | rate() by (rootServiceName)",
        "{ } | count_over_time() by (trace:id)",
        "{ } | rate() by (event.x)",
        "{ } | count_over_time() by (childCount)",
        "{ } | avg_over_time(event:timeSinceStart)",
        "{ } | max_over_time(traceDuration)",
        "{ traceDuration > 1s } | rate()",
        "{ span.a = 1 } >> { } | rate()",
        "{ span.a = 1 } | count() > 2 | rate()",
    ] {
        let q = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut eval = MetricsEvaluator::new(&q, BASE, BASE + 60 * MS, 10 * MS).unwrap();
        assert!(eval.span_inputs().is_none(), "{text}");
        let by = vec![FieldValue::Nil; q.metrics().unwrap().by.len()];
        let span = SpanObservation {
            trace_id: &[1; 16],
            span_id: &[1; 8],
            start_time_unix_nano: BASE + MS,
            duration_nanos: 1,
            by_values: &by,
            value: FieldValue::Nil,
        };
        assert_eq!(
            eval.observe_span(&span),
            Err(ColumnarError::NotSpanLevel),
            "{text}"
        );
        assert_eq!(
            eval.add_counts(&by, &[(0, 1)]),
            Err(ColumnarError::NotSpanLevel),
            "{text}"
        );
    }
}

#[test]
fn add_counts_checks_its_input() {
    let q = parse("{ } | rate() by (resource.service.name)").unwrap();
    let mut eval = MetricsEvaluator::new(&q, BASE, BASE + 60 * MS, 10 * MS).unwrap();
    assert_eq!(eval.interval_count(), 6);
    let api = [FieldValue::Str("api")];
    assert_eq!(
        eval.add_counts(&api, &[(0, 1), (6, 1)]),
        Err(ColumnarError::IntervalOutOfRange {
            interval: 6,
            intervals: 6
        })
    );
    assert_eq!(
        eval.add_counts(&[], &[(0, 1)]),
        Err(ColumnarError::ByValues {
            expected: 1,
            got: 0
        })
    );
    let span = SpanObservation {
        trace_id: &[1; 16],
        span_id: &[1; 8],
        start_time_unix_nano: BASE + MS,
        duration_nanos: 1,
        by_values: &[],
        value: FieldValue::Nil,
    };
    assert_eq!(
        eval.observe_span(&span),
        Err(ColumnarError::ByValues {
            expected: 1,
            got: 0
        })
    );
    // Nothing was recorded by the refused calls; zero counts create no series.
    eval.add_counts(&[FieldValue::Str("db")], &[(2, 0)])
        .unwrap();
    assert!(eval.clone().finish().is_empty());
    eval.add_counts(&api, &[(0, 3), (5, 2)]).unwrap();
    let series = eval.finish();
    assert_eq!(series.len(), 1);
    let values: Vec<f64> = series[0].samples.iter().map(|s| s.value).collect();
    assert_eq!(values, [300.0, 0.0, 0.0, 0.0, 0.0, 200.0]);

    for function in [
        "avg_over_time(duration)",
        "quantile_over_time(duration, .5)",
        "histogram_over_time(duration)",
    ] {
        let q = parse(&format!("{{ }} | {function}")).unwrap();
        let mut eval = MetricsEvaluator::new(&q, BASE, BASE + 60 * MS, 10 * MS).unwrap();
        assert!(matches!(
            eval.add_counts(&[], &[(0, 1)]),
            Err(ColumnarError::NotACountingFunction { .. })
        ));
    }
}

#[test]
fn interval_index_applies_the_window() {
    let q = parse("{ } | count_over_time()").unwrap();
    // Range (BASE+5ms, BASE+25ms], step 10ms: intervals (BASE, +10], (+10, +20], (+20, +30].
    let eval = MetricsEvaluator::new(&q, BASE + 5 * MS, BASE + 25 * MS, 10 * MS).unwrap();
    assert_eq!(eval.interval_count(), 3);
    assert_eq!(eval.interval_index(BASE + 5 * MS), None);
    assert_eq!(eval.interval_index(BASE + 5 * MS + 1), Some(0));
    assert_eq!(eval.interval_index(BASE + 10 * MS), Some(0));
    assert_eq!(eval.interval_index(BASE + 10 * MS + 1), Some(1));
    assert_eq!(eval.interval_index(BASE + 25 * MS), Some(2));
    assert_eq!(eval.interval_index(BASE + 25 * MS + 1), None);
    let instant = MetricsEvaluator::instant(&q, BASE, BASE + 10 * MS).unwrap();
    assert_eq!(instant.interval_count(), 1);
    assert_eq!(instant.interval_index(BASE), None);
    assert_eq!(instant.interval_index(BASE + 10 * MS), Some(0));
}

#[test]
fn exemplars_are_one_per_run_of_trace_ids() {
    let q = parse("{ } | count_over_time()").unwrap();
    let mut eval = MetricsEvaluator::new(&q, BASE, BASE + 60 * MS, 10 * MS)
        .unwrap()
        .with_exemplars(10);
    assert!(eval.wants_exemplars());
    let observe = |eval: &mut MetricsEvaluator, trace: u8, span: u8, ms: u64| {
        eval.observe_span(&SpanObservation {
            trace_id: &[trace; 16],
            span_id: &[span; 8],
            start_time_unix_nano: BASE + ms * MS,
            duration_nanos: 1,
            by_values: &[],
            value: FieldValue::Nil,
        })
        .unwrap();
    };
    observe(&mut eval, 1, 1, 1);
    observe(&mut eval, 1, 2, 15);
    observe(&mut eval, 2, 3, 25);
    observe(&mut eval, 2, 4, 35);
    observe(&mut eval, 3, 5, 0); // not counted (window is right-closed at start)
    observe(&mut eval, 3, 6, 45);
    let series = eval.finish();
    let exemplars: Vec<(u8, u8)> = series[0]
        .exemplars
        .iter()
        .map(|e| (e.trace_id[0], e.span_id[0]))
        .collect();
    assert_eq!(exemplars, [(1, 1), (2, 3), (3, 6)]);
}
