use spangate_plugin_sdk::testing::{ProcessorHarness, TestSpan, TestValue};
use spangate_plugin_sdk::{AttributeSelection, SpanFields};

use super::TagSlowRequests;

const MS: u64 = 1_000_000;

fn harness(config: &str) -> ProcessorHarness<TagSlowRequests> {
    ProcessorHarness::new(config).unwrap()
}

fn span(id: u64, name: &str, millis: u64) -> TestSpan {
    TestSpan::new(7, id)
        .named(name)
        .times(1_000 * MS, (1_000 + millis) * MS)
}

fn slow(span: &TestSpan) -> Option<&TestValue> {
    span.attributes
        .iter()
        .find(|(key, _)| key == "slow")
        .map(|(_, value)| value)
}

#[test]
fn spans_at_or_past_the_threshold_are_tagged() {
    let mut harness = harness(r#"{"threshold": "250ms"}"#);
    let out = harness
        .process(&[span(1, "a", 249), span(2, "b", 250), span(3, "c", 4_000)])
        .unwrap();
    assert_eq!(slow(&out[0]), None);
    assert_eq!(slow(&out[1]), Some(&TestValue::Bool(true)));
    assert_eq!(slow(&out[2]), Some(&TestValue::Bool(true)));
}

#[test]
fn an_existing_slow_attribute_is_overwritten_not_duplicated() {
    let mut harness = harness(r#"{"threshold": "1s"}"#);
    let out = harness
        .process(&[span(1, "a", 2_000)
            .attr("slow", "no")
            .attr("http.method", "GET")])
        .unwrap();
    assert_eq!(
        out[0].attributes,
        vec![
            ("slow".to_owned(), TestValue::Bool(true)),
            ("http.method".to_owned(), TestValue::from("GET")),
        ]
    );
}

#[test]
fn the_attribute_name_is_configurable() {
    let mut harness = harness(r#"{"threshold": "10ms", "attribute": "latency.slow"}"#);
    let out = harness.process(&[span(1, "a", 11)]).unwrap();
    assert_eq!(
        out[0].attributes,
        vec![("latency.slow".to_owned(), TestValue::Bool(true))]
    );
}

#[test]
fn the_first_matching_prefix_renames_and_others_are_left_alone() {
    let config = r#"{
        "threshold": "1h",
        "rename": [
            {"prefix": "GET /users/", "to": "GET /users/{id}"},
            {"prefix": "GET /", "to": "GET other"}
        ]
    }"#;
    let mut harness = harness(config);
    let out = harness
        .process(&[
            span(1, "GET /users/1234", 1),
            span(2, "GET /health", 1),
            span(3, "POST /users/1", 1),
        ])
        .unwrap();
    let names: Vec<&str> = out.iter().map(|span| span.name.as_str()).collect();
    assert_eq!(names, ["GET /users/{id}", "GET other", "POST /users/1"]);
}

#[test]
fn a_span_already_named_as_the_target_gets_no_edit() {
    let mut harness = harness(r#"{"threshold": "1h", "rename": [{"prefix": "GET", "to": "GET"}]}"#);
    let edits = harness.edits(&[span(1, "GET", 1)]).unwrap();
    assert!(edits.is_empty(), "{edits:?}");
}

#[test]
fn it_reads_only_times_names_and_its_own_attribute() {
    let harness = harness(r#"{"threshold": "1s", "attribute": "latency.slow"}"#);
    let needs = harness.needs();
    assert_eq!(needs.name, "tag-slow-requests");
    assert_eq!(needs.fields, SpanFields::TIMES | SpanFields::NAME);
    assert_eq!(
        needs.span_attributes,
        AttributeSelection::Keys(vec!["latency.slow".to_owned()])
    );
    assert_eq!(needs.resource_attributes, AttributeSelection::None);
}

#[test]
fn bad_configs_are_refused_with_the_key_named() {
    let cases = [
        ("", "missing field `threshold`"),
        (r#"{"threshold": "fast"}"#, "threshold: "),
        (
            r#"{"threshold": "1s", "treshold": "1s"}"#,
            "unknown field `treshold`",
        ),
        (
            r#"{"threshold": "1s", "attribute": ""}"#,
            "attribute: must not be empty",
        ),
        (
            r#"{"threshold": "1s", "rename": [{"prefix": "a", "to": "b"}, {"prefix": "", "to": "c"}]}"#,
            "rename[1].prefix: must not be empty",
        ),
        (
            r#"{"threshold": "1s", "rename": [{"prefix": "a"}]}"#,
            "rename[0]: missing field `to`",
        ),
    ];
    for (config, expected) in cases {
        let error = ProcessorHarness::<TagSlowRequests>::new(config)
            .err()
            .unwrap_or_else(|| panic!("{config} was accepted"));
        assert!(error.contains(expected), "{config}: {error}");
    }
}

/// The example of README.md, step 3.
#[test]
fn slow_spans_are_tagged_and_user_urls_folded() {
    let mut harness = harness(
        r#"{"threshold": "250ms", "rename": [{"prefix": "GET /users/", "to": "GET /users/{id}"}]}"#,
    );
    let out = harness
        .process(&[TestSpan::new(7, 1)
            .named("GET /users/1234")
            .times(0, 400_000_000)])
        .unwrap();
    assert_eq!(out[0].name, "GET /users/{id}");
    assert_eq!(
        out[0].attributes,
        [("slow".to_owned(), TestValue::Bool(true))]
    );
}
