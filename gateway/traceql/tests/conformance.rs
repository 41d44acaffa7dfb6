//! Search conformance: every construct against a hand-built trace, checked against the
//! spans Tempo returns (see `common::shop_trace` for the tree).

mod common;

use common::*;
use spangate_traceql::{AttrValue, ROOT_SPAN_NOT_YET_RECEIVED, SearchOptions, parse};

const ALL: &[&str] = &[
    "GET /checkout",
    "auth",
    "db query",
    "charge",
    "charge card",
    "fraud check",
    "publish",
    "consume",
];

/// Span names per spanset, without the `spss` cut.
fn spansets(query: &str) -> Vec<Vec<String>> {
    let trace = shop_trace();
    let q = parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
    let options = SearchOptions {
        spans_per_spanset: 1000,
    };
    match q.evaluate_with(&trace, &options) {
        None => Vec::new(),
        Some(result) => result
            .spansets
            .iter()
            .map(|set| {
                assert_eq!(set.matched as usize, set.spans.len(), "{query}");
                set.spans.iter().map(|s| s.span.name.clone()).collect()
            })
            .collect(),
    }
}

fn expect_one(query: &str, expected: &[&str]) {
    let got = spansets(query);
    if expected.is_empty() {
        assert!(got.is_empty(), "{query}: expected no match, got {got:?}");
    } else {
        assert_eq!(got, vec![expected.to_vec()], "{query}");
    }
}

fn except(names: &[&str]) -> Vec<&'static str> {
    ALL.iter().copied().filter(|n| !names.contains(n)).collect()
}

#[test]
fn empty_filter_matches_every_span() {
    expect_one("{}", ALL);
    expect_one("{ true }", ALL);
    expect_one("{ false }", &[]);
}

#[test]
fn span_name_and_comparison_operators() {
    let cases: &[(&str, &[&str])] = &[
        (r#"{ name = "charge" }"#, &["charge"]),
        (r#"{ span:name = "charge" }"#, &["charge"]),
        (r#"{ name =~ "charge.*" }"#, &["charge", "charge card"]),
        // Anchored: a substring is not a match.
        (r#"{ name =~ "charge" }"#, &["charge"]),
        (r#"{ name =~ "harg" }"#, &[]),
        (r#"{ name > "f" }"#, &["fraud check", "publish"]),
        (r#"{ name >= "publish" }"#, &["publish"]),
        (r#"{ name < "b" }"#, &["GET /checkout", "auth"]),
        (r#"{ name <= "auth" }"#, &["GET /checkout", "auth"]),
    ];
    for (q, expected) in cases {
        expect_one(q, expected);
    }
    expect_one(r#"{ name != "charge" }"#, &except(&["charge"]));
    expect_one(
        r#"{ name !~ "charge.*" }"#,
        &except(&["charge", "charge card"]),
    );
}

#[test]
fn status_kind_and_messages() {
    expect_one("{ status = error }", &["db query", "charge"]);
    expect_one("{ span:status = ok }", &["charge card"]);
    expect_one(
        "{ status = unset }",
        &["GET /checkout", "auth", "fraud check", "publish", "consume"],
    );
    expect_one(
        "{ status != unset }",
        &["db query", "charge", "charge card"],
    );
    expect_one(r#"{ statusMessage = "timeout" }"#, &["db query"]);
    expect_one(r#"{ span:statusMessage =~ "card.*" }"#, &["charge"]);
    expect_one("{ kind = server }", &["GET /checkout", "charge"]);
    expect_one(
        "{ span:kind = client }",
        &["auth", "db query", "charge card"],
    );
    expect_one("{ kind = producer }", &["publish"]);
    expect_one("{ kind = consumer }", &["consume"]);
    expect_one("{ kind = internal }", &["fraud check"]);
    expect_one("{ kind = unspecified }", &[]);
}

#[test]
fn durations() {
    expect_one(
        "{ duration > 20ms }",
        &["GET /checkout", "charge", "charge card"],
    );
    expect_one("{ span:duration <= 5ms }", &["db query", "fraud check"]);
    expect_one(
        "{ duration >= 10ms && duration < 15ms }",
        &["auth", "consume"],
    );
    expect_one("{ duration = 2ms }", &["fraud check"]);
    // Numbers compare with durations in nanoseconds.
    expect_one("{ duration < 3000000 }", &["fraud check"]);
    expect_one("{ duration < 2.5e6 }", &["fraud check"]);
    expect_one("{ duration > 0.5s }", &[]);
    expect_one("{ duration < 1.5s }", ALL);
    expect_one("{ duration < 1h30m }", ALL);
    expect_one(
        "{ duration > 99999us && duration < 100001µs }",
        &["GET /checkout"],
    );
}

#[test]
fn trace_level_intrinsics() {
    // The trace spans 0ms..106ms.
    expect_one("{ traceDuration > 100ms }", ALL);
    expect_one("{ trace:duration = 106ms }", ALL);
    expect_one("{ trace:duration < 100ms }", &[]);
    expect_one(r#"{ rootName = "GET /checkout" }"#, ALL);
    expect_one(r#"{ trace:rootName = "x" }"#, &[]);
    expect_one(r#"{ rootServiceName = "frontend" }"#, ALL);
    expect_one(
        r#"{ trace:rootService = "frontend" && name = "charge" }"#,
        &["charge"],
    );
    // Trace ids compare as hex, leading zeros optional (search results strip them).
    let full = hex(&SHOP_TRACE_ID);
    let stripped = full.trim_start_matches('0');
    expect_one(&format!(r#"{{ trace:id = "{full}" }}"#), ALL);
    expect_one(&format!(r#"{{ trace:id = "{stripped}" }}"#), ALL);
    expect_one(
        &format!(r#"{{ trace:id = "{}" }}"#, stripped.to_uppercase()),
        ALL,
    );
    expect_one(r#"{ trace:id = "deadbeef" }"#, &[]);
}

#[test]
fn span_ids_parent_and_child_count() {
    expect_one(
        &format!(r#"{{ span:id = "{}" }}"#, hex(&span_id("charge"))),
        &["charge"],
    );
    expect_one(
        &format!(
            r#"{{ span:parentID = "{}" }}"#,
            hex(&span_id("GET /checkout"))
        ),
        &["auth", "charge", "publish"],
    );
    expect_one("{ parent = nil }", &["GET /checkout"]);
    expect_one("{ parent != nil }", &except(&["GET /checkout"]));
    expect_one("{ childCount = 3 }", &["GET /checkout"]);
    expect_one("{ span:childCount = 2 }", &["charge"]);
    expect_one(
        "{ span:childCount = 0 }",
        &["db query", "charge card", "fraud check", "consume"],
    );
}

#[test]
fn events_links_and_instrumentation() {
    expect_one(r#"{ event:name = "exception" }"#, &["db query"]);
    expect_one(r#"{ event.exception.type = "Timeout" }"#, &["db query"]);
    expect_one(r#"{ event.exception.type != nil }"#, &["db query"]);
    expect_one("{ event:timeSinceStart > 500us }", &["db query"]);
    expect_one("{ event:timeSinceStart > 2ms }", &[]);
    expect_one(
        &format!(r#"{{ link:traceID = "{}" }}"#, hex(&OTHER_TRACE_ID)),
        &["charge"],
    );
    expect_one(
        &format!(r#"{{ link:spanID = "{}" }}"#, hex(&OTHER_SPAN_ID)),
        &["charge"],
    );
    expect_one(r#"{ link.kind = "follows" }"#, &["charge"]);
    expect_one(
        r#"{ instrumentation:name = "io.opentelemetry.http" }"#,
        &["GET /checkout"],
    );
    expect_one(
        r#"{ instrumentation:version = "1.2.0" }"#,
        &["GET /checkout"],
    );
    expect_one(r#"{ instrumentation.lib.lang = "go" }"#, &["GET /checkout"]);
}

#[test]
fn scoped_and_unscoped_attributes() {
    expect_one("{ span.http.status_code = 200 }", &["GET /checkout"]);
    expect_one(
        "{ span.http.status_code >= 400 }",
        &["charge", "charge card"],
    );
    expect_one(
        r#"{ resource.service.name = "payments" }"#,
        &["charge", "charge card", "fraud check"],
    );
    expect_one(
        r#"{ resource.deployment.environment = "prod" }"#,
        &["GET /checkout"],
    );
    // Unscoped: span attribute first, resource attribute when the span has none.
    expect_one(r#"{ .http.method = "GET" }"#, &["GET /checkout"]);
    expect_one(r#"{ .http.method = "POST" }"#, &["publish"]);
    expect_one(r#"{ .http.method = "PUT" }"#, &["consume"]);
    expect_one(r#"{ .service.name = "queue" }"#, &["publish"]);
    expect_one(r#"{ span.http.method = "POST" }"#, &[]);
    expect_one(
        r#"{ resource.http.method = "POST" }"#,
        &["publish", "consume"],
    );
    // Quoted names.
    expect_one(r#"{ span."a b" = "c" }"#, &["auth"]);
    // `span.name` is an attribute, not the intrinsic.
    expect_one(r#"{ span.name = "auth" }"#, &[]);
}

#[test]
fn value_types() {
    expect_one("{ span.amount > 19 }", &["charge"]);
    expect_one("{ span.amount = 19.99 }", &["charge"]);
    expect_one("{ span.weight = 0.5 }", &["auth"]);
    expect_one("{ span.rows = 42.0 }", &["db query"]);
    expect_one("{ span.retry = true }", &["auth"]);
    expect_one("{ span.retry }", &["auth"]);
    expect_one("{ span.retry = false }", &[]);
    expect_one("{ span.retry != false }", &["auth"]);
    // Different types neither compare equal nor unequal.
    expect_one(r#"{ span.http.status_code = "200" }"#, &[]);
    expect_one(r#"{ span.http.status_code != "200" }"#, &[]);
    expect_one(r#"{ span.amount != "x" }"#, &[]);
}

#[test]
fn nil_checks() {
    expect_one("{ span.db.system = nil }", &except(&["db query"]));
    expect_one("{ span.db.system != nil }", &["db query"]);
    expect_one("{ nil != span.db.system }", &["db query"]);
    expect_one("{ .nonexistent = nil }", ALL);
    // Absent values do not satisfy `!=`.
    expect_one(r#"{ span.db.system != "mysql" }"#, &["db query"]);
}

#[test]
fn arrays_match_any_element_and_negations_all() {
    expect_one(r#"{ span.tags = "a" }"#, &["auth"]);
    expect_one(r#"{ span.tags != "a" }"#, &["db query"]);
    expect_one(r#"{ span.tags =~ "x|b" }"#, &["auth", "db query"]);
    expect_one(r#"{ span.tags !~ "a|b" }"#, &["db query"]);
    expect_one("{ span.scores > 4 }", &["charge card"]);
    expect_one("{ span.scores < 1 }", &[]);
    expect_one("{ 4 < span.scores }", &["charge card"]);
}

#[test]
fn boolean_structure_inside_a_filter() {
    expect_one(
        r#"{ name = "auth" || name = "publish" }"#,
        &["auth", "publish"],
    );
    expect_one(
        r#"{ !(name = "auth") && kind = client }"#,
        &["db query", "charge card"],
    );
    expect_one(
        "{ (status = error || kind = producer) && duration > 10ms }",
        &["charge", "publish"],
    );
    // Tempo gives && and || the same precedence: ((auth || charge) && server).
    expect_one(
        r#"{ name = "auth" || name = "charge" && kind = server }"#,
        &["charge"],
    );
    // The whole expression must hold on one span.
    expect_one(r#"{ name = "auth" && name = "charge" }"#, &[]);
}

#[test]
fn arithmetic() {
    expect_one("{ span.rows * 2 = 84 }", &["db query"]);
    expect_one("{ duration - 40ms > 50ms }", &["GET /checkout"]);
    expect_one("{ span.amount + 0.02 > 20 }", &["charge"]);
    expect_one("{ -span.rows < 0 }", &["db query"]);
    expect_one("{ span.score % 4 = 3 }", &["fraud check"]);
    expect_one("{ span.score ^ 2 = 49 }", &["fraud check"]);
    expect_one("{ span.rows / 0 = 1 }", &[]);
}

#[test]
fn grafana_builder_queries() {
    // Exactly as Grafana's builder emits them: no spaces around operators.
    expect_one(
        r#"{resource.service.name="payments" && name="charge" && duration>10ms && status=error}"#,
        &["charge"],
    );
    expect_one(
        r#"{resource.service.name="frontend" && name="GET /checkout" && duration>100ms && status=error}"#,
        &[],
    );
    expect_one(
        r#"{resource.service.name="auth" && status=error}"#,
        &["db query"],
    );
    expect_one(
        r#"{.http.method="GET" && traceDuration>100ms}"#,
        &["GET /checkout"],
    );
    expect_one(
        r#"{span.http.status_code>=400 && kind=server}"#,
        &["charge"],
    );
    // Multi-select becomes a regex alternation.
    expect_one(
        r#"{resource.service.name=~"auth|payments"}"#,
        &["auth", "db query", "charge", "charge card", "fraud check"],
    );
    expect_one(r#"{name=~"auth|publish" && kind=server}"#, &[]);
}

#[test]
fn logical_spanset_operators() {
    // Union of both sides, the side with fewer spans first (the right one on a tie).
    expect_one(
        r#"{ name = "auth" } && { name = "charge" }"#,
        &["charge", "auth"],
    );
    expect_one(r#"{ name = "auth" } && { name = "nope" }"#, &[]);
    expect_one(r#"{ name = "auth" } || { name = "nope" }"#, &["auth"]);
    expect_one(
        "{ kind = client } && { status = error }",
        &["db query", "charge", "auth", "charge card"],
    );
    expect_one(
        r#"({ name = "auth" } || { name = "nope" }) && { kind = producer }"#,
        &["publish", "auth"],
    );
}

#[test]
fn structural_operators() {
    let cases: &[(&str, &[&str])] = &[
        (
            r#"{ name = "GET /checkout" } > { }"#,
            &["auth", "charge", "publish"],
        ),
        (
            r#"{ name = "GET /checkout" } >> { kind = client }"#,
            &["auth", "db query", "charge card"],
        ),
        (
            "{ kind = client } < { }",
            &["GET /checkout", "auth", "charge"],
        ),
        ("{ status = error } << { }", &["GET /checkout", "auth"]),
        (r#"{ name = "charge card" } ~ { }"#, &["fraud check"]),
        (r#"{ name = "auth" } ~ { }"#, &["charge", "publish"]),
        (
            r#"{ name = "GET /checkout" } !> { }"#,
            &[
                "GET /checkout",
                "db query",
                "charge card",
                "fraud check",
                "consume",
            ],
        ),
        (
            r#"{ name = "charge" } !>> { kind = client }"#,
            &["auth", "db query"],
        ),
        (
            "{ kind = producer } !< { }",
            &[
                "auth",
                "db query",
                "charge",
                "charge card",
                "fraud check",
                "publish",
                "consume",
            ],
        ),
        (
            "{ kind = consumer } !<< { }",
            &[
                "auth",
                "db query",
                "charge",
                "charge card",
                "fraud check",
                "consume",
            ],
        ),
        (
            r#"{ name = "auth" } !~ { }"#,
            &[
                "GET /checkout",
                "auth",
                "db query",
                "charge card",
                "fraud check",
                "consume",
            ],
        ),
        // No left-hand match: every right-hand span qualifies for the negated forms.
        (
            r#"{ name = "nope" } !>> { kind = server }"#,
            &["GET /checkout", "charge"],
        ),
        (r#"{ name = "nope" } >> { kind = server }"#, &[]),
        (r#"{ kind = server } >> { name = "nope" }"#, &[]),
        (
            r#"{ name = "charge" } &> { }"#,
            &["charge", "charge card", "fraud check"],
        ),
        (
            r#"{ name = "GET /checkout" } &>> { status = error }"#,
            &["GET /checkout", "db query", "charge"],
        ),
        (
            "{ kind = client } &< { }",
            &["GET /checkout", "auth", "db query", "charge", "charge card"],
        ),
        (
            r#"{ name = "consume" } &<< { kind = server }"#,
            &["GET /checkout", "consume"],
        ),
        (
            r#"{ name = "charge card" } &~ { kind = internal }"#,
            &["charge card", "fraud check"],
        ),
        (r#"{ name = "charge card" } &~ { kind = server }"#, &[]),
        // Left-associative chains and parentheses.
        (
            r#"{ name = "GET /checkout" } > { name = "charge" } > { }"#,
            &["charge card", "fraud check"],
        ),
        (
            r#"({ name = "GET /checkout" } > { name = "charge" }) > { }"#,
            &["charge card", "fraud check"],
        ),
        // Structural operators bind tighter than &&.
        (
            r#"{ name = "auth" } && { name = "GET /checkout" } > { name = "charge" }"#,
            &["charge", "auth"],
        ),
        // A span is not its own descendant or sibling.
        ("{ } >> { }", &except(&["GET /checkout"])),
    ];
    for (q, expected) in cases {
        expect_one(q, expected);
    }
}

#[test]
fn aggregates_and_scalar_filters() {
    let trace = shop_trace();
    let attrs = |query: &str| -> Vec<Vec<(String, AttrValue)>> {
        let q = parse(query).unwrap();
        q.evaluate(&trace)
            .map(|r| r.spansets.into_iter().map(|s| s.attributes).collect())
            .unwrap_or_default()
    };
    expect_one(
        "{ kind = client } | count() > 2",
        &["auth", "db query", "charge card"],
    );
    assert_eq!(
        attrs("{ kind = client } | count() > 2"),
        vec![vec![("count()".to_string(), AttrValue::Int(3))]]
    );
    expect_one("{ kind = client } | count() > 3", &[]);
    expect_one(
        "{ kind = client } | count() = 3",
        &["auth", "db query", "charge card"],
    );
    expect_one("{ kind = client } | count() != 3", &[]);
    // (100+10+5+50+30+2+15+10)/8 = 27.75ms
    assert_eq!(
        attrs("{ } | avg(duration) > 20ms"),
        vec![vec![(
            "avg(duration)".to_string(),
            AttrValue::Duration(27_750_000)
        )]]
    );
    assert_eq!(
        AttrValue::Duration(27_750_000).to_any_value(),
        s("27.75ms"),
        "durations are reported as Go duration strings"
    );
    assert_eq!(
        attrs("{ } | max(span.http.status_code) = 500"),
        vec![vec![(
            "max(span.http.status_code)".to_string(),
            AttrValue::Int(500)
        )]]
    );
    assert_eq!(
        attrs("{ } | min(duration) < 3ms"),
        vec![vec![(
            "min(duration)".to_string(),
            AttrValue::Duration(2_000_000)
        )]]
    );
    assert_eq!(
        attrs("{ } | sum(span.http.status_code) = 1102"),
        vec![vec![(
            "sum(span.http.status_code)".to_string(),
            AttrValue::Int(1102)
        )]]
    );
    assert_eq!(
        attrs("{ } | avg(span.http.status_code) > 367"),
        vec![vec![(
            "avg(span.http.status_code)".to_string(),
            AttrValue::Float(1102.0 / 3.0)
        )]]
    );
    // No numeric value at all: the spanset is dropped.
    expect_one("{ } | avg(span.db.system) > 0", &[]);
}

#[test]
fn group_by_select_coalesce_and_chained_stages() {
    let trace = shop_trace();
    let q = parse("{ } | by(resource.service.name)").unwrap();
    let result = q.evaluate(&trace).unwrap();
    let groups: Vec<(Vec<(String, AttrValue)>, u32)> = result
        .spansets
        .iter()
        .map(|s| (s.attributes.clone(), s.matched))
        .collect();
    let key = |v: &str| {
        vec![(
            "by(resource.service.name)".to_string(),
            AttrValue::Str(v.to_string()),
        )]
    };
    assert_eq!(
        groups,
        vec![
            (key("frontend"), 1),
            (key("auth"), 2),
            (key("payments"), 3),
            (key("queue"), 1),
            (key("worker"), 1),
        ]
    );

    assert_eq!(
        spansets("{ } | by(resource.service.name) | count() > 1"),
        vec![
            vec!["auth".to_string(), "db query".to_string()],
            vec!["charge".into(), "charge card".into(), "fraud check".into()]
        ]
    );
    let q = parse("{ } | by(resource.service.name) | count() > 1").unwrap();
    let attrs = &q.evaluate(&trace).unwrap().spansets[0].attributes;
    assert_eq!(
        attrs,
        &vec![
            (
                "by(resource.service.name)".to_string(),
                AttrValue::Str("auth".into())
            ),
            ("count()".to_string(), AttrValue::Int(2)),
        ]
    );

    // Groups in order of first appearance, merged back in that order.
    assert_eq!(
        spansets("{ } | by(kind) | coalesce()"),
        vec![
            vec![
                "GET /checkout",
                "charge",
                "auth",
                "db query",
                "charge card",
                "fraud check",
                "publish",
                "consume"
            ]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
        ]
    );
    let q = parse("{ } | by(kind) | coalesce()").unwrap();
    assert!(
        q.evaluate(&trace).unwrap().spansets[0]
            .attributes
            .is_empty()
    );

    expect_one("{ } | { kind = server }", &["GET /checkout", "charge"]);
    expect_one("{ kind = client } | { status = error }", &["db query"]);
    expect_one(
        "({ kind = client } | count() > 2) && { kind = producer }",
        &["publish", "auth", "db query", "charge card"],
    );
    expect_one(
        "{ kind = client } | select(span.db.system)",
        &["auth", "db query", "charge card"],
    );
    // A pipeline may start with by().
    assert_eq!(spansets("by(kind) | count() > 2").len(), 1);
}

#[test]
fn reported_span_attributes() {
    let trace = shop_trace();
    let spans = |query: &str| {
        let q = parse(query).unwrap();
        let result = q
            .evaluate_with(
                &trace,
                &SearchOptions {
                    spans_per_spanset: 100,
                },
            )
            .unwrap();
        result.spansets[0]
            .spans
            .iter()
            .map(|s| {
                (
                    s.span.name.clone(),
                    s.name.map(String::from),
                    s.attributes.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let str_ = |v: &str| AttrValue::Str(v.to_string());

    // Like search_traceql_and_kind.json: scope prefix dropped, kind as a string.
    assert_eq!(
        spans("{ span.http.status_code >= 400 && kind = server }"),
        vec![(
            "charge".to_string(),
            None,
            vec![
                ("http.status_code".to_string(), AttrValue::Int(500)),
                (
                    "kind".to_string(),
                    AttrValue::Kind(spangate_traceql::Kind::Server)
                ),
            ]
        )]
    );
    assert_eq!(
        AttrValue::Kind(spangate_traceql::Kind::Server).to_any_value(),
        s("server")
    );
    // The name is returned only when the query touches it; name/duration not reported.
    assert_eq!(
        spans(r#"{ name = "charge" && duration > 1ms && traceDuration > 1ms }"#),
        vec![("charge".to_string(), Some("charge".to_string()), vec![])]
    );
    // Like search_traceql_select.json: absent select() fields are "nil".
    assert_eq!(
        spans(r#"{ status = error } | select(span.http.status_code, span.db.system, duration)"#),
        vec![
            (
                "db query".to_string(),
                None,
                vec![
                    (
                        "status".to_string(),
                        AttrValue::Status(spangate_traceql::Status::Error)
                    ),
                    ("http.status_code".to_string(), AttrValue::Nil),
                    ("db.system".to_string(), str_("postgres")),
                ]
            ),
            (
                "charge".to_string(),
                None,
                vec![
                    (
                        "status".to_string(),
                        AttrValue::Status(spangate_traceql::Status::Error)
                    ),
                    ("http.status_code".to_string(), AttrValue::Int(500)),
                    ("db.system".to_string(), AttrValue::Nil),
                ]
            ),
        ]
    );
    assert_eq!(AttrValue::Nil.to_any_value(), s("nil"));
    // Absent condition fields are left out, unscoped fields report what matched.
    assert_eq!(
        spans(r#"{ .http.method = "POST" || span.db.system = "postgres" }"#),
        vec![
            (
                "db query".to_string(),
                None,
                vec![("db.system".to_string(), str_("postgres"))]
            ),
            (
                "publish".to_string(),
                None,
                vec![("http.method".to_string(), str_("POST"))]
            ),
        ]
    );
    assert_eq!(
        spans(r#"{ resource.service.name = "worker" }"#),
        vec![(
            "consume".to_string(),
            None,
            vec![("service.name".to_string(), str_("worker"))]
        )]
    );
}

#[test]
fn spans_per_spanset_cut_and_summary() {
    let trace = shop_trace();
    let q = parse("{}").unwrap();
    for spss in [0, 3] {
        let result = q
            .evaluate_with(
                &trace,
                &SearchOptions {
                    spans_per_spanset: spss,
                },
            )
            .unwrap();
        let set = &result.spansets[0];
        assert_eq!(set.matched, 8);
        let names: Vec<_> = set.spans.iter().map(|s| s.span.name.as_str()).collect();
        assert_eq!(names, vec!["GET /checkout", "auth", "db query"]);
    }
    let result = q.evaluate(&trace).unwrap();
    let summary = &result.summary;
    assert_eq!(summary.root_service_name, "frontend");
    assert_eq!(summary.root_span_name, "GET /checkout");
    assert_eq!(summary.start_time_unix_nano, BASE);
    assert_eq!(summary.duration_nanos, 106 * MS);
    assert_eq!(summary.duration_ms(), 106);
    assert_eq!(summary.trace_id_hex(), "abcdef0123456789abcdef0123456");
    let stats: Vec<(String, u32, u32)> = summary
        .service_stats
        .iter()
        .map(|(name, s)| (name.clone(), s.span_count, s.error_count))
        .collect();
    assert_eq!(
        stats,
        vec![
            ("frontend".to_string(), 1, 0),
            ("auth".to_string(), 2, 1),
            ("payments".to_string(), 3, 1),
            ("queue".to_string(), 1, 0),
            ("worker".to_string(), 1, 0),
        ]
    );
    let first = &result.spansets[0].spans[1];
    assert_eq!(first.span_id_hex(), hex(&span_id("auth")));
    assert_eq!(first.start_time_unix_nano(), BASE + MS);
    assert_eq!(first.duration_nanos(), 10 * MS);
    assert_eq!(
        (
            first.location.resource,
            first.location.scope,
            first.location.span
        ),
        (1, 0, 0)
    );
    let db = &result.spansets[0].spans[2];
    assert_eq!((db.location.resource, db.location.span), (1, 1));
}

#[test]
fn traces_without_root_or_spans() {
    let trace = build_trace(
        &[1; 16],
        vec![
            SpanSpec::new("orphan")
                .service("x")
                .parent("missing")
                .at(5, 5),
        ],
    );
    let result = parse("{}").unwrap().evaluate(&trace).unwrap();
    assert_eq!(result.summary.root_service_name, ROOT_SPAN_NOT_YET_RECEIVED);
    assert_eq!(result.summary.root_span_name, "");
    assert!(
        parse(r#"{ rootServiceName = "x" }"#)
            .unwrap()
            .evaluate(&trace)
            .is_none()
    );
    assert!(
        parse("{ parent = nil }")
            .unwrap()
            .evaluate(&trace)
            .is_none()
    );
    assert!(parse("{}").unwrap().evaluate(&[]).is_none());
}

#[test]
fn metrics_queries_evaluate_their_filter_for_search() {
    expect_one(
        "{ status = error } | rate() by (resource.service.name)",
        &["db query", "charge"],
    );
}
