//! `Query::required_conditions`: what is (and is not) extracted.

mod common;

use common::*;
use spangate_traceql::{ConditionOp, IndexHints, TraceBounds, parse};

fn conditions(query: &str) -> Vec<String> {
    hints(query)
        .conditions
        .iter()
        .map(|c| {
            let op = match &c.op {
                ConditionOp::Compare(op) => op.as_str(),
                ConditionOp::Regex(_) => "=~",
                ConditionOp::NotRegex(_) => "!~",
            };
            format!("{} {} {}", c.field, op, c.value)
        })
        .collect()
}

fn hints(query: &str) -> IndexHints {
    parse(query)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .required_conditions()
}

#[test]
fn grafana_builder_query() {
    assert_eq!(
        conditions(
            r#"{resource.service.name="api" && name="GET /users" && duration>100ms && status=error}"#
        ),
        vec![
            r#"resource.service.name = "api""#,
            r#"name = "GET /users""#,
            "duration > 100ms",
            "status = error",
        ]
    );
}

#[test]
fn only_sound_positions() {
    let none: Vec<String> = Vec::new();
    assert_eq!(conditions(r#"{ .a = 1 || .b = 2 }"#), none);
    assert_eq!(conditions(r#"{ .a = 1 } || { .b = 2 }"#), none);
    assert_eq!(conditions(r#"{ .a != 1 }"#), none);
    assert_eq!(conditions(r#"{ .a !~ "x" }"#), none);
    assert_eq!(conditions(r#"{ !(.a = 1) }"#), none);
    assert_eq!(conditions(r#"{ .a = nil }"#), none);
    assert_eq!(conditions(r#"{ .a != nil }"#), none);
    assert_eq!(conditions(r#"{ .a = 1 } !>> { .b = 2 }"#), none);
    assert_eq!(conditions(r#"{ .a + 1 = 2 }"#), none);
    assert_eq!(conditions(r#"{ .a = .b }"#), none);
    assert_eq!(conditions("{ }"), none);
    assert_eq!(
        conditions(r#"{ .a = 1 || .b = 2 && .c = 3 }"#),
        vec![".c = 3"]
    );

    assert_eq!(conditions(r#"{ .a = 1 && !(.b = 2) }"#), vec![".a = 1"]);
    assert_eq!(
        conditions(r#"{ .a = 1 } && { .b = 2 }"#),
        vec![".a = 1", ".b = 2"]
    );
    assert_eq!(
        conditions(r#"{ .a = 1 } >> { .b = 2 }"#),
        vec![".a = 1", ".b = 2"]
    );
    assert_eq!(
        conditions(r#"{ .a = 1 } &~ { .b = 2 }"#),
        vec![".a = 1", ".b = 2"]
    );
    assert_eq!(
        conditions(r#"({ .a = 1 } || { .c = 3 }) && { .b = 2 }"#),
        vec![".b = 2"]
    );
    assert_eq!(
        conditions(r#"{ .a = 1 } | count() > 1 | by(.x) | { .b =~ "y.*" }"#),
        vec![".a = 1", r#".b =~ "y.*""#]
    );
    assert_eq!(
        conditions(r#"({ .a = 1 } | count() > 1) && { .b = 2 }"#),
        vec![".a = 1", ".b = 2"]
    );
    // Literal first: the operator is flipped.
    assert_eq!(
        conditions("{ 1s < duration && 200 = span.code }"),
        vec!["duration > 1s", "span.code = 200"]
    );
    // Metrics queries: the filter part.
    assert_eq!(
        conditions("{ status = error } | rate() by (resource.service.name)"),
        vec!["status = error"]
    );
    // Duplicates once.
    assert_eq!(conditions("{ .a = 1 } && { .a = 1 }"), vec![".a = 1"]);
}

#[test]
fn trace_level_bounds() {
    let h =
        hints(r#"{ traceDuration > 1s && rootServiceName = "api" && trace:rootName = "GET /" }"#);
    assert!(h.conditions.is_empty());
    assert_eq!(
        h.trace,
        TraceBounds {
            min_duration_nanos: Some(1_000_000_001),
            max_duration_nanos: None,
            root_service_name: Some("api".to_string()),
            root_name: Some("GET /".to_string()),
            unsatisfiable: false,
        }
    );
    assert!(h.trace.admits(2_000_000_000, Some("api"), Some("GET /")));
    assert!(!h.trace.admits(1_000_000_000, Some("api"), Some("GET /")));
    assert!(!h.trace.admits(2_000_000_000, None, Some("GET /")));

    let h = hints("{ trace:duration <= 5s } && { traceDuration >= 1s }");
    assert_eq!(
        (h.trace.min_duration_nanos, h.trace.max_duration_nanos),
        (Some(1_000_000_000), Some(5_000_000_000))
    );
    assert!(
        hints("{ traceDuration < 1s } && { traceDuration >= 2s }")
            .trace
            .unsatisfiable
    );
    assert!(
        hints(r#"{ rootName = "a" } && { rootName = "b" }"#)
            .trace
            .unsatisfiable
    );
    assert!(hints("{ traceDuration < 0 }").trace.unsatisfiable);
    assert_eq!(
        hints("{ traceDuration = 3ms }").trace.min_duration_nanos,
        Some(3_000_000)
    );
    // Not from `||`.
    assert_eq!(
        hints("{ traceDuration > 1s || .a = 1 }").trace,
        TraceBounds::default()
    );
}

#[test]
fn conditions_hold_on_the_matching_trace() {
    let trace = shop_trace();
    for query in [
        r#"{ resource.service.name = "payments" && span.http.status_code >= 400 }"#,
        r#"{ .http.method = "POST" }"#,
        r#"{ span.tags = "a" } && { event:name = "exception" }"#,
        r#"{ name =~ "charge.*" } >> { span.scores > 4 }"#,
        "{ span:childCount = 2 }",
    ] {
        let q = parse(query).unwrap();
        assert!(q.evaluate(&trace).is_some(), "{query}");
        let h = q.required_conditions();
        assert!(!h.conditions.is_empty(), "{query}");
        for c in &h.conditions {
            assert!(c.holds_on_some_span(&trace), "{query}: {c:?}");
        }
    }
}
