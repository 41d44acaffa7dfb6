//! One test per rule of the specification (README.md), through the SDK's native harness:
//! spans in, edits applied as the gateway applies them, spans out.

use spangate_plugin_sdk::testing::{ProcessorHarness, TestSpan, TestValue};
use spangate_plugin_sdk::{AttributeSelection, SpanFields, StatusCode};

use super::ReferencePlugin;

const MS: u64 = 1_000_000;

fn harness(config: &str) -> ProcessorHarness<ReferencePlugin> {
    ProcessorHarness::new(config).unwrap_or_else(|error| panic!("{config}: {error}"))
}

fn refusal(config: &str) -> String {
    match ProcessorHarness::<ReferencePlugin>::new(config) {
        Ok(_) => panic!("accepted: {config}"),
        Err(message) => message,
    }
}

/// A fast, unset-status span named `name` in service `checkout`.
fn span(id: u64, name: &str) -> TestSpan {
    TestSpan::new(7, id)
        .service("checkout")
        .named(name)
        .times(1_000 * MS, 1_001 * MS)
}

fn attributes(span: &TestSpan) -> Vec<(&str, &TestValue)> {
    span.attributes
        .iter()
        .map(|(key, value)| (key.as_str(), value))
        .collect()
}

// ---- needs and config -----------------------------------------------------------------

#[test]
fn needs_are_fixed_and_select_the_mask_keys() {
    let harness = harness(r#"{"mask_keys": ["user.email", "card"]}"#);
    let needs = harness.needs();
    assert_eq!(
        (needs.name.as_str(), needs.version.as_str()),
        ("reference", "1.0.0")
    );
    assert_eq!(
        needs.fields,
        SpanFields::NAME | SpanFields::SERVICE_NAME | SpanFields::TIMES | SpanFields::STATUS
    );
    assert_eq!(
        needs.span_attributes,
        AttributeSelection::keys(["user.email", "card"])
    );
    for none in [
        &needs.resource_attributes,
        &needs.event_attributes,
        &needs.link_attributes,
    ] {
        assert_eq!(*none, AttributeSelection::None);
    }
}

#[test]
fn no_mask_keys_still_select_an_empty_key_list() {
    for config in ["", "{}", r#"{"mask_keys": []}"#] {
        let harness = harness(config);
        assert_eq!(
            harness.needs().span_attributes,
            AttributeSelection::Keys(Vec::new())
        );
    }
}

#[test]
fn every_key_is_optional_with_its_default() {
    let mut harness = harness("{}");
    // slow_ms defaults to 1000: 999 ms is not slow, 1000 ms is.
    let out = harness
        .process(&[
            span(1, "a").times(0, 999 * MS),
            span(2, "").times(0, 1_000 * MS),
        ])
        .unwrap();
    assert_eq!(out.len(), 2, "drop_name defaults to \"\": nothing dropped");
    assert!(out[0].attributes.is_empty());
    assert_eq!(
        attributes(&out[1]),
        [
            ("ref.slow", &TestValue::Bool(true)),
            ("ref.duration_ms", &TestValue::Int(1_000))
        ]
    );
}

#[test]
fn unknown_keys_and_wrong_types_are_refused_naming_the_key() {
    let cases = [
        (r#"{"mask_key": ["a"]}"#, "mask_key"),
        (r#"{"mask_keys": "a"}"#, "mask_keys"),
        (r#"{"mask_keys": [1]}"#, "mask_keys"),
        (r#"{"mask_keys": null}"#, "mask_keys"),
        (r#"{"slow_ms": -1}"#, "slow_ms"),
        (r#"{"slow_ms": 1.5}"#, "slow_ms"),
        (r#"{"slow_ms": "250"}"#, "slow_ms"),
        (r#"{"drop_name": 3}"#, "drop_name"),
        (r#"{"drop_name": ["a"]}"#, "drop_name"),
    ];
    for (config, key) in cases {
        let message = refusal(config);
        assert!(message.contains(key), "{config}: {message}");
    }
    for not_an_object in ["[]", "null", "3", r#""{}""#] {
        assert!(
            refusal(not_an_object).contains("expected a map"),
            "{not_an_object}"
        );
    }
}

// ---- drop ------------------------------------------------------------------------------

#[test]
fn a_span_named_drop_name_is_dropped_and_nothing_else_is_done_to_it() {
    let mut harness = harness(r#"{"drop_name": "GET /healthz", "slow_ms": 0, "mask_keys": ["k"]}"#);
    let spans = [
        span(1, "GET /healthz")
            .status(StatusCode::Error, "")
            .attr("k", "secret"),
        span(2, "GET /healthz2"),
    ];
    let edits = harness.edits(&spans).unwrap().to_vec();
    assert_eq!(edits[0], spangate_plugin_sdk::Edit::DropSpan(0));
    assert!(edits[1..].iter().all(|edit| !matches!(
        edit,
        spangate_plugin_sdk::Edit::SetSpanAttribute(0, _)
            | spangate_plugin_sdk::Edit::SetName(0, _)
    )));
    let out = harness.process(&spans).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].name, "GET /healthz2");
}

#[test]
fn an_empty_drop_name_drops_nothing_not_even_unnamed_spans() {
    let mut harness = harness(r#"{"drop_name": ""}"#);
    assert_eq!(harness.process(&[span(1, "")]).unwrap().len(), 1);
}

// ---- rule 1: masks -----------------------------------------------------------------------

#[test]
fn string_values_of_mask_keys_become_their_byte_length() {
    let mut harness = harness(r#"{"mask_keys": ["user.email", "note", "empty"]}"#);
    let out = harness
        .process(&[span(1, "a")
            .attr("user.email", "ann@example.com")
            .attr("note", "été")
            .attr("empty", "")
            .attr("other", "kept")])
        .unwrap();
    assert_eq!(
        attributes(&out[0]),
        [
            ("user.email", &TestValue::from("<masked:15>")),
            ("note", &TestValue::from("<masked:5>")),
            ("empty", &TestValue::from("<masked:0>")),
            ("other", &TestValue::from("kept")),
        ]
    );
}

#[test]
fn values_that_are_not_strings_are_not_masked() {
    let mut harness = harness(r#"{"mask_keys": ["n", "f", "b", "list"]}"#);
    let spans = [span(1, "a")
        .attr("n", 42i64)
        .attr("f", 0.5)
        .attr("b", true)
        .attr("list", TestValue::Json(r#"["x"]"#.into()))];
    assert!(harness.edits(&spans).unwrap().is_empty());
    assert_eq!(harness.process(&spans).unwrap(), spans);
}

#[test]
fn every_row_of_a_repeated_key_is_masked() {
    let mut harness = harness(r#"{"mask_keys": ["k"]}"#);
    let out = harness
        .process(&[
            span(1, "a").attr("k", "ab").attr("k", "abc"),
            span(2, "b").attr("k", "a"),
        ])
        .unwrap();
    assert_eq!(
        attributes(&out[0]),
        [
            ("k", &TestValue::from("<masked:2>")),
            ("k", &TestValue::from("<masked:3>"))
        ]
    );
    assert_eq!(attributes(&out[1]), [("k", &TestValue::from("<masked:1>"))]);
}

// ---- rule 2: slow spans ------------------------------------------------------------------

#[test]
fn spans_at_or_past_slow_ms_get_ref_slow_then_their_whole_milliseconds() {
    let mut harness = harness(r#"{"slow_ms": 250}"#);
    let out = harness
        .process(&[
            span(1, "under").times(0, 250 * MS - 1),
            span(2, "at").times(0, 250 * MS),
            span(3, "past").times(5, 5 + 1_234 * MS + 999_999),
        ])
        .unwrap();
    assert!(out[0].attributes.is_empty());
    assert_eq!(
        attributes(&out[1]),
        [
            ("ref.slow", &TestValue::Bool(true)),
            ("ref.duration_ms", &TestValue::Int(250))
        ]
    );
    assert_eq!(
        attributes(&out[2]),
        [
            ("ref.slow", &TestValue::Bool(true)),
            ("ref.duration_ms", &TestValue::Int(1_234))
        ]
    );
}

#[test]
fn an_end_before_the_start_counts_as_zero() {
    let backwards = |id| span(id, "a").times(10 * MS, 5 * MS);
    assert!(
        harness(r#"{"slow_ms": 1}"#)
            .process(&[backwards(1)])
            .unwrap()[0]
            .attributes
            .is_empty()
    );
    let out = harness(r#"{"slow_ms": 0}"#)
        .process(&[backwards(1)])
        .unwrap();
    assert_eq!(
        attributes(&out[0]),
        [
            ("ref.slow", &TestValue::Bool(true)),
            ("ref.duration_ms", &TestValue::Int(0))
        ]
    );
}

#[test]
fn a_huge_slow_ms_does_not_wrap_around() {
    let config = format!(r#"{{"slow_ms": {}}}"#, u64::MAX);
    let out = harness(&config)
        .process(&[span(1, "a").times(0, u64::MAX)])
        .unwrap();
    assert!(out[0].attributes.is_empty());
}

#[test]
fn existing_ref_attributes_are_replaced_not_duplicated() {
    let mut harness = harness(r#"{"slow_ms": 0, "mask_keys": ["ref.slow"]}"#);
    let out = harness
        .process(&[span(1, "a")
            .attr("ref.slow", "no")
            .attr("ref.duration_ms", 9i64)])
        .unwrap();
    assert_eq!(
        attributes(&out[0]),
        [
            ("ref.slow", &TestValue::Bool(true)),
            ("ref.duration_ms", &TestValue::Int(1))
        ]
    );
}

// ---- rule 3: errors ----------------------------------------------------------------------

#[test]
fn failed_spans_are_prefixed_with_their_service() {
    let mut harness = harness("{}");
    let out = harness
        .process(&[
            span(1, "GET /cart").status(StatusCode::Error, "boom"),
            span(2, "GET /ok").status(StatusCode::Ok, ""),
            span(3, "GET /unset"),
            TestSpan::new(7, 4)
                .named("orphan")
                .status(StatusCode::Error, ""),
            span(5, "").status(StatusCode::Error, ""),
        ])
        .unwrap();
    let names: Vec<&str> = out.iter().map(|span| span.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "checkout: GET /cart",
            "GET /ok",
            "GET /unset",
            "unknown: orphan",
            "checkout: "
        ]
    );
}

// ---- all rules together ------------------------------------------------------------------

#[test]
fn rules_apply_in_order_to_each_span_of_the_batch() {
    let mut harness = harness(r#"{"mask_keys": ["token"], "slow_ms": 100, "drop_name": "noise"}"#);
    let out = harness
        .process(&[
            span(1, "login")
                .times(0, 150 * MS)
                .status(StatusCode::Error, "")
                .attr("token", "abcd")
                .attr("user", "ann"),
            span(2, "noise").times(0, 150 * MS),
            span(3, "logout").service("auth"),
        ])
        .unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].name, "checkout: login");
    assert_eq!(
        attributes(&out[0]),
        [
            ("token", &TestValue::from("<masked:4>")),
            ("user", &TestValue::from("ann")),
            ("ref.slow", &TestValue::Bool(true)),
            ("ref.duration_ms", &TestValue::Int(150)),
        ]
    );
    assert_eq!(out[1], span(3, "logout").service("auth"));
}
