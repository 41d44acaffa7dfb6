//! The glue through the SDK's native harness: config refusal, declared needs, head decisions
//! against the logic crate, tail decisions per trace with policy names.

use spangate_plugin_sdk::testing::{SamplerHarness, TestSpan, set_now};
use spangate_plugin_sdk::{
    AttributeSelection, Decision as WitDecision, SpanFields, StatusCode as WitStatusCode,
    TailSettings,
};

use super::*;

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000 * MS;
const NOW: u64 = 1_700_000_000 * SECOND;

type Harness = SamplerHarness<SamplingPlugin>;

fn harness(config: &str) -> Harness {
    Harness::new(config).unwrap_or_else(|error| panic!("{config}: {error}"))
}

fn refusal(config: &str) -> String {
    match Harness::new(config) {
        Ok(_) => panic!("accepted: {config}"),
        Err(message) => message,
    }
}

fn keep(policy: &str) -> WitDecision {
    WitDecision::Keep(policy.to_owned())
}

/// SplitMix64 trace ids: random in every bit, reproducible.
fn trace_ids(count: usize) -> Vec<u128> {
    let mut state = 0x5EED_0001u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..count)
        .map(|_| (u128::from(next()) << 64) | u128::from(next()))
        .collect()
}

#[test]
fn bad_config_is_refused_with_the_key_path() {
    assert_eq!(
        refusal(r#"{"tail": {"policies": [{"name": "slow", "latency": {"threshold": "5x"}}]}}"#),
        r#"tail.policies[0].latency.threshold: invalid duration "5x": expected a unit: ns, us, ms, s, m or h"#
    );
    assert!(refusal(r#"{"head": {"probability": 2}}"#).starts_with("head.probability: "));
    assert_eq!(
        refusal(r#"{"hed": {}}"#),
        "hed: unknown field `hed`, expected `head` or `tail`"
    );
}

#[test]
fn head_only_needs_the_trace_id_and_no_tail() {
    let harness =
        harness(r#"{"head": {"probability": 0.5, "rate_limit": {"traces_per_second": 5}}}"#);
    let needs = harness.needs();
    assert_eq!(needs.needs.name, "sampling");
    assert_eq!(needs.needs.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(needs.needs.fields, SpanFields::TRACE_ID);
    assert_eq!(needs.needs.span_attributes, AttributeSelection::None);
    assert_eq!(needs.needs.resource_attributes, AttributeSelection::None);
    assert_eq!(needs.needs.event_attributes, AttributeSelection::None);
    assert_eq!(needs.needs.link_attributes, AttributeSelection::None);
    assert_eq!(needs.tail, None);
}

#[test]
fn tail_needs_what_the_policies_read_and_the_settings() {
    let harness = harness(
        r#"{"tail": {"decision_wait": "1500us", "max_traces": 7, "max_spans_per_trace": 9,
             "policies": [
               {"name": "slow", "latency": {"threshold": "1s"}},
               {"name": "vip", "attribute": {"key": "tier", "values": ["gold"], "scope": "resource"}},
               {"name": "route", "attribute": {"key": "http.route", "regex": "^/admin"}}]}}"#,
    );
    let needs = harness.needs();
    assert_eq!(
        needs.needs.fields,
        SpanFields::TRACE_ID | SpanFields::STATUS | SpanFields::TIMES
    );
    assert_eq!(
        needs.needs.span_attributes,
        AttributeSelection::Keys(vec!["http.route".into()])
    );
    assert_eq!(
        needs.needs.resource_attributes,
        AttributeSelection::Keys(vec!["http.route".into(), "tier".into()])
    );
    assert_eq!(
        needs.tail,
        Some(TailSettings {
            decision_wait_millis: 2,
            max_traces: 7,
            max_spans_per_trace: 9,
        })
    );
    // No errors flag, only probabilistic: the trace id alone.
    let minimal = self::harness(
        r#"{"tail": {"always_keep_errors": false,
             "policies": [{"name": "p", "probabilistic": {"probability": 0.1}}]}}"#,
    );
    assert_eq!(minimal.needs().needs.fields, SpanFields::TRACE_ID);
    assert_eq!(
        minimal.needs().tail,
        Some(TailSettings {
            decision_wait_millis: 10_000,
            max_traces: 50_000,
            max_spans_per_trace: 10_000,
        })
    );
}

#[test]
fn head_decisions_match_the_logic_crate() {
    set_now(Some(NOW));
    let config = r#"{"head": {"probability": 0.3}}"#;
    let mut harness = harness(config);
    let mut reference = HeadSampler::new(&SamplingConfig::parse(config).unwrap().head);
    let spans: Vec<TestSpan> = trace_ids(2_000)
        .into_iter()
        .enumerate()
        .map(|(index, trace_id)| TestSpan::new(trace_id, index as u64 + 1))
        .collect();
    let decisions = harness.sample_head(&spans).unwrap();
    assert_eq!(decisions.len(), spans.len());
    let mut kept = 0;
    for (span, decision) in spans.iter().zip(&decisions) {
        let expected = reference
            .decide(&span.trace_id.to_be_bytes(), NOW)
            .is_keep();
        assert_eq!(
            decision,
            &if expected {
                keep("")
            } else {
                WitDecision::Drop
            }
        );
        kept += usize::from(expected);
    }
    assert!((450..750).contains(&kept), "~30% of 2000 kept: {kept}");
}

#[test]
fn head_rate_limit_follows_the_host_clock_per_trace() {
    let mut harness = harness(r#"{"head": {"rate_limit": {"traces_per_second": 2}}}"#);
    set_now(Some(NOW));
    // Three traces, two spans each: the first two traces fill the bucket.
    let spans: Vec<TestSpan> = [1u128, 1, 2, 3, 2, 3]
        .into_iter()
        .enumerate()
        .map(|(index, trace_id)| TestSpan::new(trace_id, index as u64 + 1))
        .collect();
    assert_eq!(
        harness.sample_head(&spans).unwrap(),
        [
            keep(""),
            keep(""),
            keep(""),
            WitDecision::Drop,
            keep(""),
            WitDecision::Drop
        ]
    );
    // A second later the bucket has refilled: a new trace is admitted, trace 3 stays dropped.
    set_now(Some(NOW + SECOND));
    assert_eq!(
        harness
            .sample_head(&[TestSpan::new(3, 7), TestSpan::new(4, 8)])
            .unwrap(),
        [WitDecision::Drop, keep("")]
    );
}

const TAIL_CONFIG: &str = r#"{"tail": {"policies": [
    {"name": "slow", "latency": {"threshold": "500ms"}},
    {"name": "vip", "attribute": {"key": "tier", "values": ["gold"], "scope": "resource"}},
    {"name": "5xx", "attribute": {"key": "http.status_code", "min": 500, "max": 599}},
    {"name": "slow-admin", "and": {"policies": [
        {"name": "slowish", "latency": {"threshold": "100ms"}},
        {"name": "admin", "attribute": {"key": "http.route", "regex": "^/admin"}}]}},
    {"name": "budget", "composite": {"max_total_spans_per_second": 3, "policies": [
        {"name": "api", "attribute": {"key": "http.route", "regex": "^/api"}}]}}
]}}"#;

fn span(trace_id: u128, span_id: u64, duration_ms: u64) -> TestSpan {
    TestSpan::new(trace_id, span_id).times(NOW, NOW + duration_ms * MS)
}

#[test]
fn tail_decides_each_trace_in_first_appearance_order_with_the_policy_name() {
    set_now(Some(NOW));
    let mut harness = harness(TAIL_CONFIG);
    // Interleaved traces, as a host batch of whole traces may hold them.
    let spans = [
        span(10, 1, 10),
        span(20, 2, 10).attr("http.status_code", 503i64),
        span(30, 3, 10),
        span(10, 4, 700),
        span(40, 5, 10).resource_attr("tier", "gold"),
        span(30, 6, 10).status(WitStatusCode::Error, "boom"),
        span(50, 7, 150).attr("http.route", "/admin/users"),
        span(60, 8, 150).attr("http.route", "/public"),
        span(70, 9, 10).attr("http.route", "/api/items"),
        span(70, 10, 10),
        span(80, 11, 10).attr("http.route", "/api/cart"),
        span(80, 12, 10),
        span(90, 13, 10).attr("tier", "gold"),
    ];
    assert_eq!(
        harness.sample_tail(&spans).unwrap(),
        [
            (10, keep("slow")),
            (20, keep("5xx")),
            (30, keep("always_keep_errors")),
            (40, keep("vip")),
            (50, keep("slow-admin")),
            (60, WitDecision::Drop),
            (70, keep("budget/api")),
            // Two spans left in the composite's 3 spans/s budget: not enough for trace 80's 2.
            (80, WitDecision::Drop),
            // `tier` is a span attribute here, and `vip` looks at the resource only.
            (90, WitDecision::Drop),
        ]
    );
}

#[test]
fn tail_stragglers_follow_the_first_decision() {
    set_now(Some(NOW));
    let mut harness = harness(TAIL_CONFIG);
    assert_eq!(
        harness
            .sample_tail(&[span(1, 1, 900), span(2, 2, 10)])
            .unwrap(),
        [(1, keep("slow")), (2, WitDecision::Drop)]
    );
    // Late spans of both traces: judged alone they would go the other way.
    assert_eq!(
        harness
            .sample_tail(&[
                span(2, 3, 10).status(WitStatusCode::Error, ""),
                span(1, 4, 10)
            ])
            .unwrap(),
        [(2, WitDecision::Drop), (1, keep("slow"))]
    );
}

#[test]
fn tail_without_a_tail_section_is_an_error() {
    let mut harness = harness("{}");
    assert_eq!(
        harness.sample_tail(&[TestSpan::new(1, 1)]),
        Err("sample-tail called, but the config has no `tail` section".to_owned())
    );
}
