//! Parser: canonical text round trips and error messages with exact positions.

use spangate_traceql::ast::{
    Aggregate, AttributeScope, CompareOp, Field, FieldExpr, Intrinsic, MetricsFunction,
    SpansetExpr, SpansetOp, Stage,
};
use spangate_traceql::{Literal, ParseError, parse};

fn err(query: &str) -> String {
    match parse(query) {
        Ok(q) => panic!("{query:?} parsed as {q}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn tempo_recorded_error_is_reproduced_exactly() {
    // search_traceql_invalid.txt, for q={ span.foo = }:
    // "invalid TraceQL query: parse error at line 1, col 14: syntax error: unexpected }"
    assert_eq!(
        err("{ span.foo = }"),
        "parse error at line 1, col 14: syntax error: unexpected }"
    );
    let e = parse("{ span.foo = }").unwrap_err();
    assert_eq!(e.position(), (1, 14));
    assert!(matches!(e, ParseError::Syntax { .. }));
}

#[test]
fn syntax_errors_point_at_the_offending_token() {
    let cases = [
        (
            "{ .foo = 1",
            "parse error at line 1, col 11: syntax error: unexpected $end, expecting }",
        ),
        (
            "{ foo = 1 }",
            "parse error at line 1, col 3: syntax error: unexpected IDENTIFIER",
        ),
        (
            "{\n  .a = 1 &&\n}",
            "parse error at line 3, col 1: syntax error: unexpected }",
        ),
        (
            "{ span. = 1 }",
            "parse error at line 1, col 3: syntax error: unexpected END_ATTRIBUTE",
        ),
        (
            "{ .a = 1 } @",
            "parse error at line 1, col 12: syntax error: unexpected IDENTIFIER",
        ),
        (
            r#"{ rootService = "x" }"#,
            "parse error at line 1, col 3: syntax error: unexpected rootService",
        ),
        (
            r#"{ span:foo = "x" }"#,
            "parse error at line 1, col 8: syntax error: unexpected IDENTIFIER",
        ),
        (
            "{ .a = 1 } | count() > \"x\"",
            "parse error at line 1, col 24: syntax error: unexpected STRING",
        ),
        (
            "coalesce()",
            "parse error at line 1, col 1: syntax error: unexpected coalesce",
        ),
        (
            "{ .a = 1 } >> ",
            "parse error at line 1, col 15: syntax error: unexpected $end",
        ),
        (
            "{ .a = 1 } | count(",
            "parse error at line 1, col 20: syntax error: unexpected $end, expecting )",
        ),
        (
            "{} | rate() | {}",
            "parse error at line 1, col 15: syntax error: unexpected {",
        ),
        (
            "rate()",
            "parse error at line 1, col 1: syntax error: unexpected rate",
        ),
        (
            "{ .a = 1 } }",
            "parse error at line 1, col 12: syntax error: unexpected }",
        ),
        (
            "{ .a = 1 >> .b }",
            "parse error at line 1, col 10: syntax error: unexpected >>, expecting }",
        ),
    ];
    for (query, message) in cases {
        assert_eq!(err(query), message, "{query}");
    }
}

#[test]
fn lexical_errors() {
    assert_eq!(
        err(r#"{ .a = "open }"#),
        "parse error at line 1, col 8: literal not terminated"
    );
    assert_eq!(
        err(r#"{ .a = "\q" }"#),
        "parse error at line 1, col 8: invalid char escape"
    );
    assert_eq!(
        err(r#"{ span."open = 1 }"#),
        "parse error at line 1, col 3: unexpected EOF, expecting \""
    );
    assert_eq!(
        err("{ .a = 99999999999999999999 }"),
        "parse error at line 1, col 8: strconv.Atoi: parsing \"99999999999999999999\": value out of range"
    );
    assert_eq!(
        err("{ } /* open"),
        "parse error at line 1, col 5: comment not terminated"
    );
}

#[test]
fn type_errors_read_like_tempo() {
    let cases = [
        (
            r#"{ status = "error" }"#,
            r#"parse error at line 1, col 3: binary operations must operate on the same type: status = "error""#,
        ),
        (
            r#"{ duration > "x" }"#,
            r#"parse error at line 1, col 3: binary operations must operate on the same type: duration > "x""#,
        ),
        (
            "{ name > 1 }",
            "parse error at line 1, col 3: binary operations must operate on the same type: name > 1",
        ),
        (
            "{ kind = error }",
            "parse error at line 1, col 3: binary operations must operate on the same type: kind = error",
        ),
        (
            "{ status > error }",
            "parse error at line 1, col 3: illegal operation for the given types: status > error",
        ),
        (
            "{ true > false }",
            "parse error at line 1, col 3: illegal operation for the given types: true > false",
        ),
        (
            "{ .a > nil }",
            "parse error at line 1, col 3: illegal operation for the given types: .a > nil",
        ),
        (
            "{ .a =~ 1 }",
            "parse error at line 1, col 3: illegal operation for the given types: .a =~ 1",
        ),
        (
            "{ status =~ \"e.*\" }",
            "parse error at line 1, col 3: binary operations must operate on the same type: status =~ \"e.*\"",
        ),
        (
            r#"{ "x" }"#,
            r#"parse error at line 1, col 1: span filter field expressions must resolve to a boolean: { "x" }"#,
        ),
        (
            "{ 1 + 1 }",
            "parse error at line 1, col 1: span filter field expressions must resolve to a boolean: { 1 + 1 }",
        ),
        (
            "{ !1 }",
            "parse error at line 1, col 3: illegal operation for the given type: !1",
        ),
        (
            "{ -\"a\" = 1 }",
            "parse error at line 1, col 3: illegal operation for the given type: -\"a\"",
        ),
        (
            "{ } | by(1)",
            "parse error at line 1, col 7: grouping field expressions must reference the span: by(1)",
        ),
        (
            "{ } | avg(name) > 1",
            "parse error at line 1, col 7: aggregate field expressions must resolve to a number type: avg(name)",
        ),
        (
            "{ } | avg(1) > 1",
            "parse error at line 1, col 7: aggregate field expressions must reference the span: avg(1)",
        ),
        ("{ } | count() > 1s", "ok"),
        (
            "{ } | quantile_over_time(duration, 1.5)",
            "parse error at line 1, col 36: quantile must be between 0 and 1: 1.5",
        ),
        (
            "{ } with (exemplars=\"x\")",
            "parse error at line 1, col 11: invalid value for query hint exemplars: \"x\"",
        ),
    ];
    for (query, message) in cases {
        let got = parse(query)
            .map(|_| "ok".to_string())
            .unwrap_or_else(|e| e.to_string());
        assert_eq!(got, message, "{query}");
    }
    assert!(matches!(
        parse(r#"{ status = "error" }"#),
        Err(ParseError::Type {
            line: 1,
            col: 3,
            ..
        })
    ));
}

#[test]
fn invalid_regex_is_named() {
    let e = parse(r#"{ .a =~ "(" }"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"parse error at line 1, col 9: invalid regex "(": unclosed group"#
    );
    assert!(matches!(e, ParseError::InvalidRegex { ref pattern, .. } if pattern == "("));
    assert!(parse(r#"{ .a =~ "a)|(b" }"#).is_err());
    assert!(parse(r#"{ .a !~ "[" }"#).is_err());
}

#[test]
fn unsupported_constructs_are_rejected_by_name() {
    let cases = [
        ("{ } | compare({ status = error })", "compare()", (1, 7)),
        ("{ } | rate() | topk(5)", "topk()", (1, 16)),
        ("{ } | rate() | bottomk(5)", "bottomk()", (1, 16)),
        ("{ } with (sample=true)", "query hint \"sample\"", (1, 11)),
        ("({ } | count()) > 1", "scalar pipeline expressions", (1, 8)),
        (
            "({ } | rate()) / ({ } | rate())",
            "metrics functions inside parentheses (metrics arithmetic)",
            (1, 8),
        ),
        ("{ parent.span.foo = 1 }", "parent", (1, 3)),
        ("{ nestedSetLeft > 1 }", "intrinsic (nestedSetLeft)", (1, 3)),
        (
            r#"{ parent = "x" }"#,
            "comparing parent with anything but nil",
            (1, 3),
        ),
        (
            "({ } | by(.a)) >> { }",
            "structural operators on grouped spansets (add coalesce())",
            (1, 1),
        ),
        (
            "{ .a =~ .b }",
            "regular expressions that are not a string literal",
            (1, 9),
        ),
        (
            "{ } | count() + 1 > 2",
            "arithmetic between scalar expressions",
            (1, 15),
        ),
        (
            "{ } | 2 < count()",
            "scalar filter with a literal on the left",
            (1, 7),
        ),
        (
            "{ } | count() > avg(duration)",
            "scalar filter comparing two aggregates",
            (1, 17),
        ),
        (
            "{ } | quantile_over_time(duration, .5) by (.a, .b, .c, .d, .e)",
            "metrics group by 5 values",
            (1, 40),
        ),
    ];
    for (query, construct, position) in cases {
        match parse(query) {
            Err(ParseError::Unsupported {
                construct: c,
                line,
                col,
            }) => {
                assert_eq!((c.as_str(), (line, col)), (construct, position), "{query}")
            }
            other => panic!("{query}: expected Unsupported({construct}), got {other:?}"),
        }
    }
    assert_eq!(
        err("{ } | compare({ status = error })"),
        "parse error at line 1, col 7: compare() not yet supported"
    );
    // Grouped spansets are fine once coalesced, and with && / ||.
    assert!(parse("({ } | by(.a) | coalesce()) >> { }").is_ok());
    assert!(parse("({ } | by(.a)) && { }").is_ok());
}

#[test]
fn the_tree_has_tempos_shape() {
    let q = parse(r#"{resource.service.name="api" && duration>100ms}"#).unwrap();
    let Stage::Spanset(SpansetExpr::Filter(FieldExpr::And(a, b))) = &q.pipeline().stages[0] else {
        panic!("{q:?}");
    };
    let FieldExpr::Compare {
        op: CompareOp::Eq,
        lhs,
        rhs,
    } = a.as_ref()
    else {
        panic!()
    };
    let FieldExpr::Field(Field::Attribute(attr)) = lhs.as_ref() else {
        panic!()
    };
    assert_eq!(
        (attr.scope, attr.name.as_str()),
        (AttributeScope::Resource, "service.name")
    );
    assert_eq!(**rhs, FieldExpr::Literal(Literal::Str("api".into())));
    let FieldExpr::Compare {
        op: CompareOp::Gt,
        rhs,
        ..
    } = b.as_ref()
    else {
        panic!()
    };
    assert_eq!(**rhs, FieldExpr::Literal(Literal::Duration(100_000_000)));

    // && and || share a precedence level and associate left.
    let q = parse("{ .a = 1 || .b = 2 && .c = 3 }").unwrap();
    let Stage::Spanset(SpansetExpr::Filter(FieldExpr::And(lhs, _))) = &q.pipeline().stages[0]
    else {
        panic!("{q:?}");
    };
    assert!(matches!(lhs.as_ref(), FieldExpr::Or(..)));

    // Structural operators bind tighter than && between spansets.
    let q = parse("{ } && { } >> { }").unwrap();
    let Stage::Spanset(SpansetExpr::Op {
        op: SpansetOp::And,
        rhs,
        ..
    }) = &q.pipeline().stages[0]
    else {
        panic!("{q:?}");
    };
    assert!(matches!(
        rhs.as_ref(),
        SpansetExpr::Op {
            op: SpansetOp::Descendant,
            ..
        }
    ));

    // `!` binds tighter than `=`, `-5` is a literal, `^` is right-associative.
    let q = parse("{ !.a = true && .b = -5 && .c ^ 2 ^ 3 = 1 }").unwrap();
    assert_eq!(q.to_string(), "{ !.a = true && .b = -5 && .c ^ 2 ^ 3 = 1 }");
    let q = parse("{ (.a || .b) && (.c = 1) && .d + 1 * 2 = (.e - 1) - 2 }").unwrap();
    assert_eq!(
        q.to_string(),
        "{ (.a || .b) && .c = 1 && .d + 1 * 2 = .e - 1 - 2 }"
    );
    let q = parse("{ .a - (.b - 1) = (-2) ^ 2 && !(.x = 1) }").unwrap();
    assert_eq!(q.to_string(), "{ .a - (.b - 1) = (-2) ^ 2 && !(.x = 1) }");

    // Scoped and legacy intrinsics are the same field.
    assert_eq!(
        parse("{ span:status = error }").unwrap(),
        parse("{ status = error }").unwrap()
    );
    assert_eq!(
        parse("{ trace:rootService = \"a\" }").unwrap(),
        parse("{ rootServiceName = \"a\" }").unwrap()
    );
    assert_eq!(
        parse("{ trace:duration > 1s }").unwrap(),
        parse("{ traceDuration > 1s }").unwrap()
    );

    let q = parse("{ } | quantile_over_time(duration, .5, 0.99, 1) by (resource.service.name, span:name) with (exemplars=true)").unwrap();
    let m = q.metrics().unwrap();
    assert_eq!(
        m.function,
        MetricsFunction::QuantileOverTime(
            Field::Intrinsic(Intrinsic::Duration),
            vec![0.5, 0.99, 1.0]
        )
    );
    assert_eq!(m.by.len(), 2);
    assert_eq!(q.exemplar_limit(7), 7);
    assert_eq!(
        parse("{} | rate() with (exemplars=false)")
            .unwrap()
            .exemplar_limit(7),
        0
    );
    assert_eq!(
        parse("{} | rate() with (exemplars=3)")
            .unwrap()
            .exemplar_limit(7),
        3
    );
    assert!(parse("{} with (most_recent=true)").unwrap().most_recent());

    let q = parse("{ } | avg(duration) > 1s").unwrap();
    assert!(
        matches!(&q.pipeline().stages[1], Stage::ScalarFilter(f) if matches!(f.aggregate, Aggregate::Avg(_)))
    );
}

#[test]
fn display_is_canonical_and_round_trips() {
    let cases = [
        (
            r#"{resource.service.name="api" && name="GET /users" && duration>100ms && status=error}"#,
            r#"{ resource.service.name = "api" && name = "GET /users" && duration > 100ms && status = error }"#,
        ),
        ("{}", "{}"),
        ("{ }", "{}"),
        ("{ true }", "{}"),
        (r#"{ span."a b" = "c\"d" }"#, r#"{ span."a b" = "c\"d" }"#),
        (r#"{ ."5xx" = 1 }"#, r#"{ ."5xx" = 1 }"#),
        ("{ span:id = \"ab\" }", "{ span:id = \"ab\" }"),
        (
            "{ trace:rootService = `raw` }",
            "{ rootServiceName = \"raw\" }",
        ),
        ("{ duration > 1h30m }", "{ duration > 1h30m0s }"),
        (
            "{ duration > 1.5s || duration < 100us }",
            "{ duration > 1.5s || duration < 100µs }",
        ),
        ("{ .a = 1.0 }", "{ .a = 1.0 }"),
        ("{ .a = 1e20 }", "{ .a = 1e20 }"),
        ("{ .a = nil }", "{ .a = nil }"),
        ("{ nil != .a }", "{ .a != nil }"),
        ("{ parent = nil }", "{ parent = nil }"),
        ("{ nil = nil }", "{ false }"),
        (
            "{ .a =~ \"x|y\" && .b !~ \"z\" }",
            "{ .a =~ \"x|y\" && .b !~ \"z\" }",
        ),
        ("{ .a = 1 }>>{ .b = 2 }", "{ .a = 1 } >> { .b = 2 }"),
        (
            "{ } | count() > 2 | by(resource.service.name) | select(span.a, name) | coalesce()",
            "{} | count() > 2 | by(resource.service.name) | select(span.a, name) | coalesce()",
        ),
        ("({ } | count() > 1) && { }", "({} | count() > 1) && {}"),
        ("({ } | count() > 1)", "({} | count() > 1)"),
        (
            "{ } | rate() by(resource.service.name) with(exemplars=true)",
            "{} | rate() by (resource.service.name) with (exemplars=true)",
        ),
        (
            "{ } | histogram_over_time(duration)",
            "{} | histogram_over_time(duration)",
        ),
        (
            "{ } | quantile_over_time(duration, .9)",
            "{} | quantile_over_time(duration, 0.9)",
        ),
        ("{ } // trailing comment", "{}"),
        ("{ -.a < -1.5s }", "{ -.a < -1.5s }"),
    ];
    for (query, canonical) in cases {
        let q = parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
        assert_eq!(q.to_string(), canonical, "{query}");
        assert_eq!(parse(&q.to_string()).unwrap(), q, "{query}");
    }
}

#[test]
fn all_seventeen_spanset_operators_parse() {
    let ops = [
        "&&", "||", ">", "<", ">>", "<<", "~", "!>", "!<", "!>>", "!<<", "!~", "&>", "&<", "&>>",
        "&<<", "&~",
    ];
    for op in ops {
        let query = format!("{{ .a = 1 }} {op} {{ .b = 2 }}");
        let q = parse(&query).unwrap_or_else(|e| panic!("{query}: {e}"));
        assert_eq!(q.to_string(), query);
    }
}

#[test]
fn literals() {
    let lit = |q: &str| -> Literal {
        let q = parse(&format!("{{ .x = {q} }}")).unwrap_or_else(|e| panic!("{q}: {e}"));
        let Stage::Spanset(SpansetExpr::Filter(FieldExpr::Compare { rhs, .. })) =
            &q.pipeline().stages[0]
        else {
            panic!("{q:?}")
        };
        let FieldExpr::Literal(l) = rhs.as_ref() else {
            panic!("{q:?}")
        };
        l.clone()
    };
    assert_eq!(
        lit(r#""tab\tquote\"\u00e9\x41""#),
        Literal::Str("tab\tquote\"éA".into())
    );
    assert_eq!(lit("`raw\\n`"), Literal::Str("raw\\n".into()));
    assert_eq!(lit("42"), Literal::Int(42));
    assert_eq!(lit("-42"), Literal::Int(-42));
    assert_eq!(lit("4.5"), Literal::Float(4.5));
    assert_eq!(lit(".5"), Literal::Float(0.5));
    assert_eq!(lit("7ns"), Literal::Duration(7));
    assert_eq!(lit("1d"), Literal::Duration(86_400_000_000_000));
    assert_eq!(lit("2m30s"), Literal::Duration(150_000_000_000));
    assert_eq!(lit("true"), Literal::Bool(true));
    assert_eq!(lit("ok"), Literal::Status(spangate_traceql::Status::Ok));
    assert_eq!(
        lit("unset"),
        Literal::Status(spangate_traceql::Status::Unset)
    );
    for kind in [
        "server",
        "client",
        "producer",
        "consumer",
        "internal",
        "unspecified",
    ] {
        assert_eq!(lit(kind).to_string(), kind);
    }
}
