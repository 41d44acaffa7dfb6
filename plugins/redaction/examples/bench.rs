//! Micro-benchmark: nanoseconds per span for realistic batches, natively.
//!
//! Run: `cargo run --release -p spangate-plugin-redaction --example redaction-bench`
//!
//! Prints numbers only; nothing is asserted (timings on a shared machine are noisy). Each
//! scenario redacts fresh copies of a 512-span batch many times and reports the median batch
//! time divided by 512, twice: the logic on its owned span model (`redact_span`), and the
//! component glue (the batch the host would send, built with the SDK's `testing::to_batch`,
//! handed to the plugin's `process`, which answers with edits). Spans carry 10 attributes
//! (strings, ints, a URL, a user agent, a SQL statement) plus a name and a status message, like
//! typical HTTP/DB instrumentation.

#![allow(clippy::unwrap_used)] // a benchmark: a failed unwrap fails it loudly, as it should

#[path = "../../loadgen_batch.rs"]
mod shapes;

use std::hint::black_box;
use std::time::Instant;

use spangate_plugin_redaction::component::RedactionPlugin;
use spangate_plugin_redaction::{Event, Redactor, Span, Value};
use spangate_plugin_sdk::Processor;
use spangate_plugin_sdk::batch::SpanBatch;
use spangate_plugin_sdk::edits::Edits;
use spangate_plugin_sdk::testing::{TestSpan, TestValue, to_batch};

const BATCH: usize = 512;
const ROUNDS: usize = 200;

fn typical_span(index: usize, with_secret: bool) -> Span {
    let user_agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
    let mut attributes: Vec<(String, Value)> = vec![
        ("http.request.method".into(), "GET".into()),
        ("http.route".into(), "/v1/orders/{id}".into()),
        ("http.response.status_code".into(), Value::Int(200)),
        (
            "url.full".into(),
            format!("https://api.example.com/v1/orders/{index}?page=2").into(),
        ),
        ("user_agent.original".into(), user_agent.into()),
        ("server.address".into(), "orders-api".into()),
        ("server.port".into(), Value::Int(8080)),
        ("db.system".into(), "postgresql".into()),
        (
            "db.query.text".into(),
            "SELECT id, total FROM orders WHERE customer_id = $1 LIMIT 50".into(),
        ),
        ("thread.name".into(), format!("worker-{}", index % 8).into()),
    ];
    if with_secret {
        attributes[8].1 =
            format!("SELECT * FROM users WHERE email = 'user{index}@example.com'").into();
    }
    Span {
        name: "GET /v1/orders/{id}".into(),
        status_message: String::new(),
        attributes,
        events: Vec::new(),
        links: Vec::new(),
        resource_attributes: Vec::new(),
    }
}

fn with_resource_and_event(mut span: Span) -> Span {
    span.resource_attributes = vec![
        ("service.name".into(), "orders".into()),
        ("service.version".into(), "1.4.2".into()),
        ("host.name".into(), "orders-7d9f8c-xk2p4".into()),
        ("telemetry.sdk.language".into(), "rust".into()),
        ("deployment.environment".into(), "production".into()),
    ];
    span.events = vec![Event {
        name: "exception".into(),
        attributes: vec![(
            "exception.message".into(),
            "connection reset by peer".into(),
        )],
    }];
    span
}

fn batch(secret_every: Option<usize>, rich: bool) -> Vec<Span> {
    (0..BATCH)
        .map(|index| {
            let with_secret = secret_every.is_some_and(|every| index % every == 0);
            let span = typical_span(index, with_secret);
            if rich {
                with_resource_and_event(span)
            } else {
                span
            }
        })
        .collect()
}

/// Median ns per span over `ROUNDS` passes over fresh copies of `spans`.
fn ns_per_span(redactor: &Redactor, spans: &[Span]) -> (f64, u64) {
    let mut samples = Vec::with_capacity(ROUNDS);
    let mut redactions = 0u64;
    for _ in 0..ROUNDS {
        let mut copy = spans.to_vec();
        let start = Instant::now();
        for span in &mut copy {
            redactions += u64::from(redactor.redact_span(black_box(span)));
        }
        samples.push(start.elapsed().as_nanos() as f64 / spans.len() as f64);
        black_box(&copy);
    }
    samples.sort_by(f64::total_cmp);
    (samples[samples.len() / 2], redactions / ROUNDS as u64)
}

/// The span as a test span, for the SDK's batch encoder.
fn test_span(index: usize, span: &Span) -> TestSpan {
    let value = |value: &Value| match value {
        Value::Str(text) => TestValue::Str(text.clone()),
        Value::Int(number) => TestValue::Int(*number),
        Value::Double(number) => TestValue::Double(*number),
        Value::Bool(flag) => TestValue::Bool(*flag),
        other => TestValue::Json(format!("{other:?}")),
    };
    let mut out = TestSpan::new(1, index as u64 + 1)
        .service("orders")
        .named(&span.name);
    out.status_message = span.status_message.clone();
    for (key, item) in &span.attributes {
        out = out.attr(key.clone(), value(item));
    }
    for (key, item) in &span.resource_attributes {
        out = out.resource_attr(key.clone(), value(item));
    }
    for event in &span.events {
        out = out.event(
            &event.name,
            event
                .attributes
                .iter()
                .map(|(key, item)| (key.clone(), value(item))),
        );
    }
    out
}

/// Median ns per span of the glue's `process` over fresh copies of the host batch; also the
/// edits per batch.
fn glue_ns_per_span(config: &str, spans: &[Span]) -> (f64, usize) {
    let (mut plugin, needs) = RedactionPlugin::init(config).expect("bench config is valid");
    let test_spans: Vec<TestSpan> = spans
        .iter()
        .enumerate()
        .map(|(index, span)| test_span(index, span))
        .collect();
    let batch: SpanBatch = to_batch(&test_spans, &needs);
    let mut samples = Vec::with_capacity(ROUNDS);
    let mut edit_count = 0;
    for _ in 0..ROUNDS {
        let fresh = batch.clone();
        let mut edits = Edits::new();
        let start = Instant::now();
        plugin
            .process(black_box(&fresh), &mut edits)
            .expect("process");
        samples.push(start.elapsed().as_nanos() as f64 / spans.len() as f64);
        edit_count = edits.len();
        black_box(edits);
    }
    samples.sort_by(f64::total_cmp);
    (samples[samples.len() / 2], edit_count)
}

/// Median ns per call of `work` over a fixed list of inputs.
fn ns_per_call(inputs: &[&str], mut work: impl FnMut(&str) -> bool) -> f64 {
    let mut samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let mut hits = 0usize;
        for _ in 0..20 {
            for input in inputs {
                hits += usize::from(work(black_box(input)));
            }
        }
        black_box(hits);
        samples.push(start.elapsed().as_nanos() as f64 / (20 * inputs.len()) as f64);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn print_components() {
    let keys: Vec<String> = typical_span(1, false)
        .attributes
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let values = [
        "GET",
        "/v1/orders/{id}",
        "https://api.example.com/v1/orders/17?page=2",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
        "orders-api",
        "postgresql",
        "SELECT id, total FROM orders WHERE customer_id = $1 LIMIT 50",
        "worker-3",
    ];
    println!("per call, over the keys / string values of the typical span:");
    for (name, patterns) in [
        ("exact keys", r#"["password", "secret"]"#),
        ("star globs", r#"["*.secret", "http.request.header.*"]"#),
        ("one regex", r#"["/^(?i)x-api-key$/"]"#),
    ] {
        let redactor = Redactor::from_json(&format!(r#"{{"blocked_keys": {patterns}}}"#)).unwrap();
        let nanos = ns_per_call(&key_refs, |key| redactor.check_key(key).is_some());
        println!("  check_key, {name:<28} {nanos:>8.1} ns");
    }
    for (name, patterns) in [
        ("credit_card", r#"["credit_card"]"#),
        ("email", r#"["email"]"#),
        ("bearer_token", r#"["bearer_token"]"#),
        ("ipv4", r#"["ipv4"]"#),
        ("ipv6", r#"["ipv6"]"#),
        (
            "5 built-ins",
            r#"["credit_card", "email", "bearer_token", "ipv4", "ipv6"]"#,
        ),
        (
            "1 custom regex",
            r#"[{"name": "employee", "regex": "EMP-\\d{6}"}]"#,
        ),
    ] {
        let redactor =
            Redactor::from_json(&format!(r#"{{"value_patterns": {patterns}}}"#)).unwrap();
        let nanos = ns_per_call(&values, |value| redactor.redact_text(value).is_some());
        println!("  redact_text, {name:<26} {nanos:>8.1} ns");
    }
}

/// The config `gateway/benches/pipeline.rs` runs redaction with.
const PIPELINE_BENCH_CONFIG: &str = r#"{"blocked_keys": ["password", "*.secret", "http.request.header.authorization"],
  "value_patterns": ["credit_card", "email", "bearer_token", "ipv4"], "action": "mask"}"#;

/// The glue on the batch and config of `gateway/benches/pipeline.rs` (what the wasm number
/// measures, minus the host's column building and the wasm overhead). `--loadgen-only [ROUNDS]`
/// runs only this, `ROUNDS` times (for profilers).
fn loadgen_glue(rounds: usize) {
    let test_spans = shapes::loadgen_batch();
    let (mut plugin, needs) = RedactionPlugin::init(PIPELINE_BENCH_CONFIG).expect("config");
    let batch: SpanBatch = to_batch(&test_spans, &needs);
    let mut samples = Vec::with_capacity(rounds);
    let mut edit_count = 0;
    for _ in 0..rounds {
        let mut edits = Edits::new();
        let start = Instant::now();
        plugin
            .process(black_box(&batch), &mut edits)
            .expect("process");
        samples.push(start.elapsed().as_nanos() as f64 / test_spans.len() as f64);
        edit_count = edits.len();
        black_box(edits);
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "pipeline-bench config on the loadgen-shaped batch ({} spans): glue {:.1} ns/span \
         (median of {rounds}), {edit_count} edits",
        test_spans.len(),
        samples[samples.len() / 2],
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--loadgen-only") {
        loadgen_glue(args.next().and_then(|n| n.parse().ok()).unwrap_or(20_000));
        return;
    }
    loadgen_glue(ROUNDS * 5);
    print_components();
    let builtins = r#"["credit_card", "email", "bearer_token", "ipv4", "ipv6"]"#;
    let keys =
        r#"["password", "http.request.header.authorization", "*.secret", "/^(?i)x-api-key$/"]"#;
    let configs = [
        ("blocked keys only", format!(r#"{{"blocked_keys": {keys}}}"#)),
        ("blocked keys + 5 built-ins", format!(r#"{{"blocked_keys": {keys}, "value_patterns": {builtins}}}"#)),
        (
            "blocked keys + 5 built-ins + 2 custom",
            format!(
                r#"{{"blocked_keys": {keys}, "value_patterns": {builtins}}}"#
            )
            .replace(
                r#""ipv6"]"#,
                r#""ipv6", {"name": "employee", "regex": "EMP-\\d{6}"}, {"name": "ssn", "regex": "\\b\\d{3}-\\d{2}-\\d{4}\\b"}]"#,
            ),
        ),
        (
            "5 built-ins, hash action",
            format!(r#"{{"value_patterns": {builtins}, "action": "hash", "hash_key": "bench-key-0123456789abcdef"}}"#),
        ),
        ("allow-list (4 keys) + 5 built-ins", format!(
            r#"{{"allowed_keys": ["http.request.method", "http.route", "http.response.status_code", "service.*"], "value_patterns": {builtins}}}"#
        )),
    ];
    let scenarios = [
        ("10 attrs, no match", batch(None, false)),
        (
            "10 attrs, 1 in 10 spans has an email",
            batch(Some(10), false),
        ),
        (
            "10 attrs + 5 resource + 1 event, no match",
            batch(None, true),
        ),
    ];
    println!(
        "batch {BATCH} spans, median of {ROUNDS} rounds; logic = redact_span on the owned model,"
    );
    println!("glue = RedactionPlugin::process on the SpanBatch from testing::to_batch (edits out)");
    println!(
        "{:<38} {:<44} {:>10} {:>12} {:>10} {:>8}",
        "config", "spans", "logic ns", "redactions", "glue ns", "edits"
    );
    for (config_name, json) in &configs {
        let redactor = Redactor::from_json(json).expect("bench config is valid");
        for (scenario_name, spans) in &scenarios {
            let (nanos, redactions) = ns_per_span(&redactor, spans);
            let (glue_nanos, edits) = glue_ns_per_span(json, spans);
            println!(
                "{config_name:<38} {scenario_name:<44} {nanos:>10.1} {redactions:>12} \
                 {glue_nanos:>10.1} {edits:>8}"
            );
        }
    }
}
