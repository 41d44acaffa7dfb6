//! Lenient parsing of the partial queries Grafana sends for tag-value autocompletion.

mod common;

use common::*;
use spangate_traceql::ast::{AttributeScope, CompareOp, Field, Intrinsic};
use spangate_traceql::{Condition, ConditionOp, Literal, Status, parse_lenient};

fn groups(text: &str) -> Vec<Vec<String>> {
    parse_lenient(text)
        .condition_groups
        .iter()
        .map(|g| g.iter().map(describe).collect())
        .collect()
}

fn describe(c: &Condition) -> String {
    let op = match &c.op {
        ConditionOp::Compare(op) => op.as_str().to_string(),
        ConditionOp::Regex(_) => "=~".to_string(),
        ConditionOp::NotRegex(_) => "!~".to_string(),
    };
    format!("{} {} {}", c.field, op, c.value)
}

#[test]
fn grafana_partial_queries() {
    assert_eq!(
        groups(r#"{resource.service.name="api" && span.http.method="#),
        vec![vec![r#"resource.service.name = "api""#]]
    );
    assert_eq!(
        groups(r#"{resource.service.name="api" && span.http.method=""#),
        vec![vec![r#"resource.service.name = "api""#]]
    );
    // An unterminated string leaves nothing usable: unfiltered, no error.
    let q = parse_lenient(r#"{ name=~"GET"#);
    assert!(q.is_unfiltered());
    assert!(!q.too_many_groups);
    assert_eq!(
        groups(r#"{ status = error && span.x > "#),
        vec![vec!["status = error"]]
    );
    assert_eq!(groups(r#"{ .a = 1 && "#), vec![vec![".a = 1"]]);
    assert_eq!(groups(r#"{ .a = 1 && (.b = "#), vec![vec![".a = 1"]]);
    assert_eq!(groups("{ span.a = "), Vec::<Vec<String>>::new());
    assert_eq!(
        groups(r#"{ resource.service.name = "a" && span."#),
        vec![vec![r#"resource.service.name = "a""#]]
    );
    assert_eq!(groups(r#"{ .x = 1 && resource. }"#), vec![vec![".x = 1"]]);
    assert_eq!(
        groups(r#"{ span:name = "x" && event:name = "#),
        vec![vec![r#"name = "x""#]]
    );
}

#[test]
fn complete_queries_keep_all_their_conditions() {
    let q = parse_lenient(r#"{ resource.service.name = "api" }"#);
    assert!(q.query.is_some());
    assert_eq!(
        q.condition_groups,
        vec![vec![Condition {
            field: Field::Attribute(spangate_traceql::ast::Attribute {
                scope: AttributeScope::Resource,
                name: "service.name".to_string()
            }),
            op: ConditionOp::Compare(CompareOp::Eq),
            value: Literal::Str("api".to_string()),
        }]]
    );
    let q = parse_lenient("{ status = error }");
    assert_eq!(
        q.condition_groups,
        vec![vec![Condition {
            field: Field::Intrinsic(Intrinsic::Status),
            op: ConditionOp::Compare(CompareOp::Eq),
            value: Literal::Status(Status::Error),
        }]]
    );
    assert_eq!(
        groups(r#"{ span.a != "x" && span.b !~ "y.*" }"#),
        vec![vec![r#"span.a != "x""#, r#"span.b !~ "y.*""#]]
    );
}

#[test]
fn or_expands_into_groups() {
    assert_eq!(
        groups("{ .a = 1 || .b = 2 }"),
        vec![vec![".a = 1"], vec![".b = 2"]]
    );
    assert_eq!(
        groups("{ (.a = 1 || .b = 2) && .c = 3 }"),
        vec![vec![".a = 1", ".c = 3"], vec![".b = 2", ".c = 3"]]
    );
    // Same precedence for && and ||: (a || b) && c.
    assert_eq!(
        groups("{ .a = 1 || .b = 2 && .c = 3 }"),
        vec![vec![".a = 1", ".c = 3"], vec![".b = 2", ".c = 3"]]
    );
    assert_eq!(groups("{ .a = 1 || .a = 1 }"), vec![vec![".a = 1"]]);
    // A branch without usable conditions admits everything.
    assert!(parse_lenient("{ .a = 1 || .b }").is_unfiltered());
    assert!(parse_lenient("{ .a = 1 || .b != nil }").is_unfiltered());
    // Dropping a non-condition conjunct only widens the group.
    assert_eq!(groups("{ .a = 1 && !(.b = 2) }"), vec![vec![".a = 1"]]);
}

#[test]
fn group_explosion_is_capped() {
    let clause = |n: usize| format!("(.a{n} = 1 || .b{n} = 2)");
    let text = format!(
        "{{ {} }}",
        (0..8).map(clause).collect::<Vec<_>>().join(" && ")
    );
    let q = parse_lenient(&text);
    assert!(q.too_many_groups);
    assert!(q.is_unfiltered());
}

#[test]
fn several_spansets_or_garbage_are_unfiltered() {
    assert!(parse_lenient("{ .a = 1 } && { .b = 2 }").is_unfiltered());
    assert!(parse_lenient("").is_unfiltered());
    assert!(parse_lenient("   ").query.is_none());
    for garbage in [
        "}}}{{{(",
        "{ ( ( ",
        "&& ||",
        "{ .a = 1 } |",
        "\"",
        "{ .a =~ \"(\" }",
    ] {
        assert!(parse_lenient(garbage).is_unfiltered(), "{garbage}");
    }
    // Pipelines after the filter are kept.
    let q = parse_lenient("{ .a = 1 && .b = } | count() > 1");
    assert_eq!(q.query.unwrap().to_string(), "{ .a = 1 } | count() > 1");
}

#[test]
fn matching_spans_applies_the_groups() {
    let trace = shop_trace();
    let q = parse_lenient(r#"{ resource.service.name = "payments" && span.http.status_code = "#);
    let names: Vec<String> = q
        .matching_spans(&trace)
        .iter()
        .map(|l| {
            trace[l.resource].scope_spans[l.scope].spans[l.span]
                .name
                .clone()
        })
        .collect();
    assert_eq!(names, vec!["charge", "charge card", "fraud check"]);
    assert_eq!(parse_lenient("{ ").matching_spans(&trace).len(), 8);
    let q = parse_lenient(r#"{ name = "auth" || kind = producer"#);
    assert_eq!(q.matching_spans(&trace).len(), 2);
}
