//! Property tests: the parser never panics, generated trees survive display → parse, and
//! evaluation never panics and agrees with the index hints.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

mod common;

use common::*;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use proptest::prelude::*;
use spangate_traceql::ast::{
    Aggregate, Attribute, AttributeScope, CompareOp, Field, FieldExpr, Hint, Intrinsic,
    MetricsFunction, MetricsStage, Pipeline, ScalarFilter, SpansetExpr, SpansetOp, Stage,
};
use spangate_traceql::{
    Kind, Literal, MetricsEvaluator, Pattern, Query, SearchOptions, Status, parse, parse_lenient,
};

// ----- trees ---------------------------------------------------------------------------

fn attribute_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "x", "y", "http.status_code", "service.name"])
            .prop_map(String::from),
        1 => "[a-z0-9 .:/\\-\"\\\\é]{0,8}",
    ]
}

fn attribute() -> impl Strategy<Value = Field> {
    (
        prop::sample::select(vec![
            AttributeScope::Unscoped,
            AttributeScope::Span,
            AttributeScope::Resource,
            AttributeScope::Event,
            AttributeScope::Link,
            AttributeScope::Instrumentation,
        ]),
        attribute_name(),
    )
        .prop_map(|(scope, name)| Field::Attribute(Attribute { scope, name }))
}

const INTRINSICS: [Intrinsic; 19] = [
    Intrinsic::Name,
    Intrinsic::Status,
    Intrinsic::StatusMessage,
    Intrinsic::Kind,
    Intrinsic::Duration,
    Intrinsic::ChildCount,
    Intrinsic::SpanId,
    Intrinsic::ParentId,
    Intrinsic::Parent,
    Intrinsic::TraceDuration,
    Intrinsic::RootName,
    Intrinsic::RootServiceName,
    Intrinsic::TraceId,
    Intrinsic::EventName,
    Intrinsic::EventTimeSinceStart,
    Intrinsic::LinkSpanId,
    Intrinsic::LinkTraceId,
    Intrinsic::InstrumentationName,
    Intrinsic::InstrumentationVersion,
];

fn small_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec!["a", "b", "c", "GET", "x"]).prop_map(String::from),
        1 => ".{0,6}",
    ]
}

fn number() -> impl Strategy<Value = Literal> {
    prop_oneof![
        (-3i64..5).prop_map(Literal::Int),
        (i64::MIN + 1..i64::MAX).prop_map(Literal::Int),
        prop::num::f64::NORMAL.prop_map(Literal::Float),
        (-2.0f64..4.0).prop_map(Literal::Float),
        (-5_000_000i64..20_000_000).prop_map(Literal::Duration),
        (i64::MIN + 1..i64::MAX).prop_map(Literal::Duration),
    ]
}

/// A comparison that type-checks, `field op literal` or the reverse.
fn comparison() -> impl Strategy<Value = FieldExpr> {
    let status = prop::sample::select(vec![Status::Ok, Status::Error, Status::Unset]);
    let kind = prop::sample::select(vec![
        Kind::Server,
        Kind::Client,
        Kind::Internal,
        Kind::Unspecified,
    ]);
    let eq_op = prop::sample::select(vec![CompareOp::Eq, CompareOp::Neq]);
    let any_op = prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Neq,
        CompareOp::Gt,
        CompareOp::Gte,
        CompareOp::Lt,
        CompareOp::Lte,
    ]);
    let compare = |field: Field, op: CompareOp, value: Literal, flip: bool| {
        let (f, v) = (
            Box::new(FieldExpr::Field(field)),
            Box::new(FieldExpr::Literal(value)),
        );
        let (lhs, rhs) = if flip { (v, f) } else { (f, v) };
        FieldExpr::Compare { op, lhs, rhs }
    };
    let string_fields = prop::sample::select(vec![
        Intrinsic::Name,
        Intrinsic::StatusMessage,
        Intrinsic::RootName,
        Intrinsic::RootServiceName,
        Intrinsic::EventName,
        Intrinsic::InstrumentationName,
        Intrinsic::SpanId,
        Intrinsic::TraceId,
    ]);
    let numeric_fields = prop::sample::select(vec![
        Intrinsic::Duration,
        Intrinsic::TraceDuration,
        Intrinsic::ChildCount,
        Intrinsic::EventTimeSinceStart,
    ]);
    prop_oneof![
        (
            attribute(),
            any_op.clone(),
            prop_oneof![
                small_string().prop_map(Literal::Str),
                number(),
                any::<bool>().prop_map(Literal::Bool)
            ],
            any::<bool>()
        )
            .prop_map(move |(f, op, v, flip)| {
                let op = if matches!(v, Literal::Bool(_))
                    && !matches!(op, CompareOp::Eq | CompareOp::Neq)
                {
                    CompareOp::Eq
                } else {
                    op
                };
                compare(f, op, v, flip)
            }),
        (string_fields, any_op.clone(), small_string(), any::<bool>()).prop_map(
            move |(i, op, s, flip)| compare(Field::Intrinsic(i), op, Literal::Str(s), flip)
        ),
        (numeric_fields, any_op, number(), any::<bool>())
            .prop_map(move |(i, op, v, flip)| compare(Field::Intrinsic(i), op, v, flip)),
        (eq_op.clone(), status).prop_map(move |(op, s)| compare(
            Field::Intrinsic(Intrinsic::Status),
            op,
            Literal::Status(s),
            false
        )),
        (eq_op, kind).prop_map(move |(op, k)| compare(
            Field::Intrinsic(Intrinsic::Kind),
            op,
            Literal::Kind(k),
            false
        )),
        (
            attribute(),
            prop::sample::select(vec!["a", "a|b", "x.*", ".*", "[ab]c?", "(?i)get"]),
            any::<bool>()
        )
            .prop_map(|(f, p, negated)| FieldExpr::Regex {
                lhs: Box::new(FieldExpr::Field(f)),
                negated,
                pattern: Pattern::new(p).unwrap(),
            }),
        (
            prop_oneof![attribute(), Just(Field::Intrinsic(Intrinsic::Parent))],
            any::<bool>()
        )
            .prop_map(|(f, negated)| FieldExpr::Exists {
                expr: Box::new(FieldExpr::Field(f)),
                negated
            }),
        (attribute(), (1i64..4), (0i64..4)).prop_map(|(f, k, v)| FieldExpr::Compare {
            op: CompareOp::Eq,
            lhs: Box::new(FieldExpr::Arith {
                op: spangate_traceql::ast::ArithOp::Mul,
                lhs: Box::new(FieldExpr::Neg(Box::new(FieldExpr::Field(f)))),
                rhs: Box::new(FieldExpr::Literal(Literal::Int(k))),
            }),
            rhs: Box::new(FieldExpr::Literal(Literal::Int(v))),
        }),
        Just(FieldExpr::Literal(Literal::Bool(true))),
    ]
}

fn filter_expr() -> impl Strategy<Value = FieldExpr> {
    comparison().prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| FieldExpr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| FieldExpr::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|e| FieldExpr::Not(Box::new(e))),
        ]
    })
}

const SPANSET_OPS: [SpansetOp; 17] = [
    SpansetOp::And,
    SpansetOp::Or,
    SpansetOp::Child,
    SpansetOp::Parent,
    SpansetOp::Descendant,
    SpansetOp::Ancestor,
    SpansetOp::Sibling,
    SpansetOp::NotChild,
    SpansetOp::NotParent,
    SpansetOp::NotDescendant,
    SpansetOp::NotAncestor,
    SpansetOp::NotSibling,
    SpansetOp::UnionChild,
    SpansetOp::UnionParent,
    SpansetOp::UnionDescendant,
    SpansetOp::UnionAncestor,
    SpansetOp::UnionSibling,
];

fn spanset_expr() -> impl Strategy<Value = SpansetExpr> {
    filter_expr()
        .prop_map(SpansetExpr::Filter)
        .prop_recursive(2, 6, 2, |inner| {
            (
                prop::sample::select(SPANSET_OPS.to_vec()),
                inner.clone(),
                inner,
            )
                .prop_map(|(op, lhs, rhs)| SpansetExpr::Op {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                })
        })
}

fn later_stage() -> impl Strategy<Value = Stage> {
    prop_oneof![
        3 => spanset_expr().prop_map(Stage::Spanset),
        1 => (prop::sample::select(vec![CompareOp::Gt, CompareOp::Gte, CompareOp::Eq, CompareOp::Lt]), 0i64..4)
            .prop_map(|(op, n)| Stage::ScalarFilter(ScalarFilter { aggregate: Aggregate::Count, op, value: Literal::Int(n) })),
        1 => (0i64..30_000_000).prop_map(|d| Stage::ScalarFilter(ScalarFilter {
            aggregate: Aggregate::Avg(FieldExpr::Field(Field::Intrinsic(Intrinsic::Duration))),
            op: CompareOp::Gt,
            value: Literal::Duration(d),
        })),
        1 => attribute().prop_map(|f| Stage::GroupBy(FieldExpr::Field(f))),
        1 => prop::collection::vec(prop_oneof![attribute(), prop::sample::select(INTRINSICS.to_vec()).prop_map(Field::Intrinsic)], 1..3).prop_map(Stage::Select),
        1 => Just(Stage::Coalesce),
    ]
}

fn pipeline() -> impl Strategy<Value = Pipeline> {
    (spanset_expr(), prop::collection::vec(later_stage(), 0..3)).prop_map(|(first, rest)| {
        let mut stages = vec![Stage::Spanset(first)];
        stages.extend(rest);
        Pipeline { stages }
    })
}

fn metrics_stage() -> impl Strategy<Value = Option<MetricsStage>> {
    let function = prop_oneof![
        Just(MetricsFunction::Rate),
        Just(MetricsFunction::CountOverTime),
        Just(MetricsFunction::MinOverTime(Field::Intrinsic(
            Intrinsic::Duration
        ))),
        attribute().prop_map(MetricsFunction::MaxOverTime),
        Just(MetricsFunction::AvgOverTime(Field::Intrinsic(
            Intrinsic::Duration
        ))),
        attribute().prop_map(MetricsFunction::SumOverTime),
        prop::collection::vec(0.0f64..=1.0, 1..3).prop_map(|qs| MetricsFunction::QuantileOverTime(
            Field::Intrinsic(Intrinsic::Duration),
            qs
        )),
        Just(MetricsFunction::HistogramOverTime(Field::Intrinsic(
            Intrinsic::Duration
        ))),
    ];
    prop::option::weighted(
        0.3,
        (function, prop::collection::vec(attribute(), 0..3))
            .prop_map(|(function, by)| MetricsStage { function, by }),
    )
}

fn query() -> impl Strategy<Value = Query> {
    (pipeline(), metrics_stage(), any::<bool>()).prop_map(|(pipeline, metrics, hint)| {
        let hints = if hint {
            vec![Hint {
                name: "exemplars".into(),
                value: Literal::Bool(true),
            }]
        } else {
            Vec::new()
        };
        Query::new(pipeline, metrics, hints)
    })
}

/// Queries that also parse (the generator ignores a few rules, e.g. `coalesce()` first).
fn parseable(q: &Query) -> Option<Query> {
    parse(&q.to_string()).ok()
}

/// Queries over the vocabulary of `random_trace`, so that they often match.
fn focused_comparison() -> impl Strategy<Value = FieldExpr> {
    let op = prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Eq,
        CompareOp::Neq,
        CompareOp::Gt,
        CompareOp::Gte,
        CompareOp::Lt,
        CompareOp::Lte,
    ]);
    let field = prop::sample::select(vec![
        Field::Intrinsic(Intrinsic::Name),
        Field::Intrinsic(Intrinsic::RootName),
        Field::Intrinsic(Intrinsic::EventName),
        Field::Attribute(Attribute {
            scope: AttributeScope::Span,
            name: "a".into(),
        }),
        Field::Attribute(Attribute {
            scope: AttributeScope::Unscoped,
            name: "x".into(),
        }),
        Field::Attribute(Attribute {
            scope: AttributeScope::Resource,
            name: "service.name".into(),
        }),
        Field::Attribute(Attribute {
            scope: AttributeScope::Event,
            name: "a".into(),
        }),
    ]);
    let value = prop_oneof![
        prop::sample::select(vec!["a", "b", "c", "GET", "s1", "s2"])
            .prop_map(|v| Literal::Str(v.into())),
        (0i64..4).prop_map(Literal::Int),
        (0.0f64..4.0).prop_map(Literal::Float),
    ];
    let compare = |field, op, value| FieldExpr::Compare {
        op,
        lhs: Box::new(FieldExpr::Field(field)),
        rhs: Box::new(FieldExpr::Literal(value)),
    };
    prop_oneof![
        4 => (field, op.clone(), value).prop_map(move |(f, op, v)| compare(f, op, v)),
        1 => (prop::sample::select(vec![Intrinsic::Duration, Intrinsic::TraceDuration]), op.clone(), 0i64..25)
            .prop_map(move |(i, op, ms)| compare(Field::Intrinsic(i), op, Literal::Duration(ms * 1_000_000))),
        1 => (op, 0i64..3).prop_map(move |(op, n)| compare(Field::Intrinsic(Intrinsic::ChildCount), op, Literal::Int(n))),
        1 => prop::sample::select(vec![Status::Ok, Status::Error, Status::Unset])
            .prop_map(move |st| compare(Field::Intrinsic(Intrinsic::Status), CompareOp::Eq, Literal::Status(st))),
        1 => prop::sample::select(vec![Kind::Server, Kind::Client, Kind::Internal])
            .prop_map(move |k| compare(Field::Intrinsic(Intrinsic::Kind), CompareOp::Eq, Literal::Kind(k))),
        1 => prop::sample::select(vec!["s1", "s2", "x"])
            .prop_map(move |v| compare(Field::Intrinsic(Intrinsic::RootServiceName), CompareOp::Eq, Literal::Str(v.into()))),
        1 => (prop::sample::select(vec!["a|b", "G.*", "s."]), any::<bool>()).prop_map(|(p, negated)| FieldExpr::Regex {
            lhs: Box::new(FieldExpr::Field(Field::Intrinsic(Intrinsic::Name))),
            negated,
            pattern: Pattern::new(p).unwrap(),
        }),
    ]
}

fn focused_filter() -> impl Strategy<Value = FieldExpr> {
    focused_comparison().prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            3 => (inner.clone(), inner.clone()).prop_map(|(a, b)| FieldExpr::And(Box::new(a), Box::new(b))),
            1 => (inner.clone(), inner.clone()).prop_map(|(a, b)| FieldExpr::Or(Box::new(a), Box::new(b))),
            1 => inner.prop_map(|e| FieldExpr::Not(Box::new(e))),
        ]
    })
}

fn focused_query() -> impl Strategy<Value = Query> {
    let spanset = prop_oneof![
        2 => focused_filter().prop_map(SpansetExpr::Filter),
        1 => (prop::sample::select(SPANSET_OPS.to_vec()), focused_filter(), focused_filter()).prop_map(|(op, a, b)| {
            SpansetExpr::Op { op, lhs: Box::new(SpansetExpr::Filter(a)), rhs: Box::new(SpansetExpr::Filter(b)) }
        }),
    ];
    let stage = prop_oneof![
        focused_filter().prop_map(|e| Stage::Spanset(SpansetExpr::Filter(e))),
        (0i64..3).prop_map(|n| Stage::ScalarFilter(ScalarFilter {
            aggregate: Aggregate::Count,
            op: CompareOp::Gt,
            value: Literal::Int(n)
        })),
        Just(Stage::GroupBy(FieldExpr::Field(Field::Intrinsic(
            Intrinsic::Name
        )))),
        Just(Stage::Coalesce),
    ];
    (spanset, prop::collection::vec(stage, 0..2)).prop_map(|(first, rest)| {
        let mut stages = vec![Stage::Spanset(first)];
        stages.extend(rest);
        Query::new(Pipeline { stages }, None, Vec::new())
    })
}

// ----- traces --------------------------------------------------------------------------

fn attr_value() -> impl Strategy<Value = opentelemetry_proto::tonic::common::v1::AnyValue> {
    prop_oneof![
        (1i64..4).prop_map(i),
        prop::sample::select(vec!["a", "b", "GET"]).prop_map(s),
        any::<bool>().prop_map(b),
        (0.0f64..4.0).prop_map(f),
        prop::collection::vec(
            prop_oneof![
                (1i64..4).prop_map(i),
                prop::sample::select(vec!["a", "b"]).prop_map(s)
            ],
            0..3
        )
        .prop_map(arr),
    ]
}

fn random_trace() -> impl Strategy<Value = Vec<ResourceSpans>> {
    let span = (
        prop::sample::select(vec!["a", "b", "c", "GET"]),
        prop::sample::select(vec!["s1", "s2"]),
        0i32..6,
        0i32..3,
        0u64..20,
        0u64..20,
        prop::option::of(0usize..6),
        prop::collection::vec(
            (prop::sample::select(vec!["a", "b", "x", "y"]), attr_value()),
            0..3,
        ),
        prop::collection::vec((prop::sample::select(vec!["a", "b"]), 0u64..5), 0..2),
        any::<bool>(),
    );
    prop::collection::vec(span, 1..7).prop_map(|spans| {
        let specs: Vec<SpanSpec> = spans
            .iter()
            .enumerate()
            .map(
                |(n, (name, service, kind, status, start, dur, parent, attrs, events, res))| {
                    let mut spec = SpanSpec::new(&format!("{name}{n}"))
                        .service(service)
                        .kind(*kind)
                        .status(*status, "")
                        .at(*start, *dur);
                    // Keep the plain name for name conditions; ids stay unique.
                    spec.span.name = name.to_string();
                    if let Some(p) = parent {
                        // Parents may be later spans, missing spans, or the span itself.
                        spec = spec.parent(&format!(
                            "{}{}",
                            spans[*p % spans.len()].0,
                            p % spans.len()
                        ));
                    }
                    for (k, v) in attrs {
                        spec = spec.attr(k, v.clone());
                    }
                    if *res {
                        spec = spec.resource_attr("x", i(1));
                    }
                    for (ev, offset) in events {
                        spec = spec.event(ev, *offset, vec![kv("a", i(1))]);
                    }
                    spec
                },
            )
            .collect();
        build_trace(&[3; 16], specs)
    })
}

// ----- properties ----------------------------------------------------------------------

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "|",
    "&&",
    "||",
    "!",
    "=",
    "!=",
    "=~",
    "!~",
    ">",
    ">=",
    "<",
    "<=",
    ">>",
    "<<",
    "~",
    "!>",
    "!<",
    "&>",
    "&<",
    "&>>",
    "&~",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    ",",
    ".",
    "span.",
    "resource.",
    "event.",
    "link.",
    "instrumentation.",
    "parent.",
    "span:",
    "trace:",
    "event:",
    "link:",
    "name",
    "status",
    "duration",
    "kind",
    "id",
    "count()",
    "avg(",
    "by(",
    "select(",
    "coalesce()",
    "rate()",
    "quantile_over_time(",
    "with(",
    "nil",
    "true",
    "error",
    "server",
    "\"x\"",
    "\"",
    "1",
    "1.5",
    "10ms",
    "1h30m",
    "foo",
    " ",
    "\n",
    "`",
    "é",
    "//",
    "/*",
    "\\",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, .. ProptestConfig::default() })]

    #[test]
    fn parser_never_panics_on_arbitrary_text(text in "\\PC{0,60}") {
        let _ = parse(&text);
        let _ = parse_lenient(&text);
    }

    #[test]
    fn parser_never_panics_on_token_soup(parts in prop::collection::vec(prop::sample::select(TOKENS.to_vec()), 0..25)) {
        let text = parts.concat();
        let _ = parse(&text);
        let lenient = parse_lenient(&text);
        if let Some(q) = lenient.query {
            prop_assert_eq!(parse(&q.to_string()).ok(), Some(q));
        }
        let spaced = parts.join(" ");
        if let Ok(q) = parse(&spaced) {
            prop_assert_eq!(parse(&q.to_string()), Ok(q.clone()), "{}", spaced);
        }
    }

    #[test]
    fn display_then_parse_is_identity(q in query()) {
        let text = q.to_string();
        match parse(&text) {
            Ok(parsed) => prop_assert_eq!(parsed, q, "{}", text),
            // Generated trees may break a rule the parser enforces (e.g. `coalesce()`
            // first, structural operators over groups); those must be rejected cleanly.
            Err(e) => prop_assert!(!matches!(e, spangate_traceql::ParseError::Syntax { .. }), "{}: {}", text, e),
        }
    }

    #[test]
    fn evaluation_never_panics(q in query(), trace in random_trace(), spss in 0u32..4) {
        let _ = q.evaluate_with(&trace, &SearchOptions { spans_per_spanset: spss });
        if q.is_metrics() {
            let mut eval = MetricsEvaluator::new(&q, BASE, BASE + 20 * MS, 5 * MS).unwrap().with_exemplars(5);
            eval.observe_trace(&trace);
            let _ = eval.finish();
        }
    }

    #[test]
    fn required_conditions_hold_on_every_match(q in prop_oneof![query(), focused_query(), focused_query()], trace in random_trace()) {
        let Some(q) = parseable(&q) else { return Ok(()) };
        let Some(result) = q.evaluate(&trace) else { return Ok(()) };
        let hints = q.required_conditions();
        for c in &hints.conditions {
            prop_assert!(c.holds_on_some_span(&trace), "{}: {:?}", q, c);
        }
        for group in &hints.same_span_groups {
            prop_assert!(hints.group_holds_on_one_span(group, &trace), "{}: group {:?} of {:?}", q, group, hints.conditions);
        }
        let root = trace.iter().flat_map(|r| r.scope_spans.iter().flat_map(move |s| s.spans.iter().map(move |sp| (r, sp))))
            .find(|(_, sp)| sp.parent_span_id.is_empty());
        let root_service = root.and_then(|(r, _)| r.resource.as_ref()?.attributes.iter().find(|kv| kv.key == "service.name"))
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s) => Some(s.as_str()),
                _ => None,
            });
        let root_name = root.map(|(_, sp)| sp.name.as_str());
        prop_assert!(hints.trace.admits(result.summary.duration_nanos, root_service, root_name), "{}: {:?}", q, hints.trace);
    }
}
