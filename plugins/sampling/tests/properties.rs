//! Property tests: no input (config text or spans) makes the sampler panic, and decisions are a
//! deterministic function of (config, spans, times).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use proptest::prelude::*;
use spangate_plugin_sampling::{
    Config, Decision, HeadDecision, HeadSampler, Span, StatusCode, TailDecider, TraceId, TraceView,
    Value,
};

/// Keys the config knows, so random documents reach deep into the parser.
const KEYS: &[&str] = &[
    "head",
    "tail",
    "probability",
    "threshold_precision",
    "record_threshold",
    "rate_limit",
    "traces_per_second",
    "spans_per_second",
    "burst",
    "decision_cache_size",
    "decision_wait",
    "max_traces",
    "max_spans_per_trace",
    "always_keep_errors",
    "policies",
    "name",
    "status_code",
    "status_codes",
    "latency",
    "threshold",
    "upper_threshold",
    "attribute",
    "key",
    "scope",
    "values",
    "regex",
    "min",
    "max",
    "probabilistic",
    "rate_limiting",
    "and",
    "composite",
    "max_total_spans_per_second",
    "rate_allocation",
    "policy",
    "percent",
    "bogus",
];

fn json_leaf() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        (-2.0f64..200.0).prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "10s",
            "0",
            "500ms",
            "5x",
            "",
            "ERROR",
            "OK",
            "UNSET",
            "span",
            "resource",
            "any",
            "(",
            "^a.*$",
            "a",
            "99999999999999999999h",
        ])
        .prop_map(serde_json::Value::from),
    ]
}

fn json_config_like() -> impl Strategy<Value = serde_json::Value> {
    json_leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..5).prop_map(|pairs| {
                serde_json::Value::Object(
                    pairs
                        .into_iter()
                        .map(|(key, value)| (key.to_owned(), value))
                        .collect(),
                )
            }),
        ]
    })
}

/// A valid policy, as JSON text, possibly nested.
fn policy_json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(vec!["ERROR", "OK", "UNSET"])
            .prop_map(|code| format!(r#""status_code": {{"status_codes": ["{code}"]}}"#)),
        (0u64..3000).prop_map(|ms| format!(r#""latency": {{"threshold": "{ms}ms"}}"#)),
        (0.0f64..=1.0).prop_map(|p| format!(r#""probabilistic": {{"probability": {p}}}"#)),
        (1u32..50).prop_map(|rate| format!(r#""rate_limiting": {{"spans_per_second": {rate}}}"#)),
        (1u32..50).prop_map(|rate| format!(r#""rate_limiting": {{"traces_per_second": {rate}}}"#)),
        prop::sample::select(vec!["a", "b"])
            .prop_map(|value| format!(r#""attribute": {{"key": "k", "values": ["{value}"]}}"#)),
        (-5i64..5, 0i64..5).prop_map(|(min, width)| format!(
            r#""attribute": {{"key": "n", "min": {min}, "max": {}}}"#,
            min + width
        )),
        Just(r#""attribute": {"key": "k", "regex": "^a", "scope": "resource"}"#.to_owned()),
    ];
    let named = |body: String, index: usize| format!(r#"{{"name": "p{index}", {body}}}"#);
    leaf.prop_recursive(2, 12, 3, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(move |subs| {
                let list: Vec<String> = subs
                    .into_iter()
                    .enumerate()
                    .map(|(i, body)| named(body, i))
                    .collect();
                format!(r#""and": {{"policies": [{}]}}"#, list.join(","))
            }),
            (prop::collection::vec(inner, 1..3), 1u32..100).prop_map(move |(subs, total)| {
                let list: Vec<String> = subs
                    .into_iter()
                    .enumerate()
                    .map(|(i, body)| named(body, i))
                    .collect();
                format!(
                    r#""composite": {{"max_total_spans_per_second": {total}, "policies": [{}],
                        "rate_allocation": [{{"policy": "p0", "percent": 50}}]}}"#,
                    list.join(",")
                )
            }),
        ]
    })
}

fn valid_config_json() -> impl Strategy<Value = String> {
    (
        0.0f64..=1.0,
        prop::option::of(1u32..20),
        1usize..6,
        1usize..5,
        0u64..5,
        any::<bool>(),
        prop::collection::vec(policy_json(), 1..4),
    )
        .prop_map(|(probability, rate, max_traces, max_spans, wait_s, errors, policies)| {
            let rate_limit = rate
                .map(|rate| format!(r#", "rate_limit": {{"traces_per_second": {rate}}}"#))
                .unwrap_or_default();
            let policies: Vec<String> = policies
                .into_iter()
                .enumerate()
                .map(|(index, body)| format!(r#"{{"name": "top{index}", {body}}}"#))
                .collect();
            format!(
                r#"{{"head": {{"probability": {probability}, "decision_cache_size": 4{rate_limit}}},
                    "tail": {{"decision_wait": "{wait_s}s", "max_traces": {max_traces},
                              "max_spans_per_trace": {max_spans}, "decision_cache_size": 4,
                              "always_keep_errors": {errors}, "policies": [{}]}}}}"#,
                policies.join(",")
            )
        })
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec!["a", "ab", "b", ""]).prop_map(|text| Value::Str(text.into())),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Double),
        any::<bool>().prop_map(Value::Bool),
    ]
}

/// Spans over a few trace ids, each with its arrival-time step in nanoseconds.
fn spans() -> impl Strategy<Value = Vec<(Span, u64)>> {
    let span = (
        0usize..4,
        any::<[u8; 16]>(),
        prop::sample::select(vec![StatusCode::Unset, StatusCode::Ok, StatusCode::Error]),
        any::<u64>(),
        any::<u64>(),
        prop::collection::vec((prop::sample::select(vec!["k", "n"]), value()), 0..3),
        prop::collection::vec((prop::sample::select(vec!["k", "n"]), value()), 0..2),
        0u64..3_000_000_000,
    );
    (
        prop::collection::vec(any::<[u8; 16]>(), 4),
        prop::collection::vec(span, 0..40),
    )
        .prop_map(|(trace_ids, spans)| {
            spans
                .into_iter()
                .map(
                    |(trace, span_id, status, start, end, attributes, resource, step)| {
                        let trace_id: TraceId = trace_ids[trace];
                        let span = Span {
                            trace_id,
                            span_id: span_id[..8].try_into().unwrap(),
                            status,
                            start_unix_nanos: start,
                            end_unix_nanos: end,
                            attributes: attributes
                                .into_iter()
                                .map(|(k, v)| (k.to_owned(), v))
                                .collect(),
                            resource_attributes: resource
                                .into_iter()
                                .map(|(k, v)| (k.to_owned(), v))
                                .collect(),
                            ..Span::default()
                        };
                        (span, step)
                    },
                )
                .collect()
        })
}

/// Everything observable from one run: head decisions per span, tail decisions per trace.
#[derive(Debug, PartialEq)]
struct Run {
    head: Vec<HeadDecision>,
    tail: Vec<(TraceId, Decision)>,
}

/// Head decisions span by span; tail decisions as the host asks for them: the spans are cut into
/// host batches wherever the arrival step is at least a second, and each batch's traces are
/// decided whole, in order of first appearance.
fn run(config: &Config, spans: &[(Span, u64)]) -> Run {
    let mut head = HeadSampler::new(&config.head);
    let mut tail = config.tail.as_ref().map(TailDecider::new);
    let mut now = 1_700_000_000_000_000_000u64;
    let mut outcome = Run {
        head: Vec::new(),
        tail: Vec::new(),
    };
    let mut batch: Vec<Span> = Vec::new();
    let mut decide_batch = |batch: &mut Vec<Span>, now: u64, outcome: &mut Run| {
        let Some(tail) = tail.as_mut() else {
            return;
        };
        let mut order: Vec<TraceId> = Vec::new();
        for span in batch.iter() {
            if !order.contains(&span.trace_id) {
                order.push(span.trace_id);
            }
        }
        for trace_id in order {
            let spans: Vec<Span> = batch
                .iter()
                .filter(|span| span.trace_id == trace_id)
                .cloned()
                .collect();
            let decision = tail.decide(
                &TraceView {
                    trace_id,
                    spans: &spans,
                },
                now,
            );
            outcome.tail.push((trace_id, decision));
        }
        batch.clear();
    };
    for (span, step) in spans {
        now += step;
        if *step >= 1_000_000_000 {
            decide_batch(&mut batch, now, &mut outcome);
        }
        outcome.head.push(head.decide(&span.trace_id, now));
        batch.push(span.clone());
    }
    decide_batch(&mut batch, now, &mut outcome);
    outcome
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = Config::parse(&text);
    }

    #[test]
    fn config_like_json_never_panics(document in json_config_like(), spans in spans()) {
        if let Ok(config) = Config::parse(&document.to_string()) {
            run(&config, &spans);
        }
    }

    #[test]
    fn valid_configs_parse_and_decide_deterministically(
        config_json in valid_config_json(),
        spans in spans(),
    ) {
        let config = Config::parse(&config_json)
            .unwrap_or_else(|error| panic!("{error}\n{config_json}"));
        let first = run(&config, &spans);
        let second = run(&Config::parse(&config_json).unwrap(), &spans);
        prop_assert_eq!(first, second);
    }
}
