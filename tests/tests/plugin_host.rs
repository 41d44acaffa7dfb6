//! The plugin host (`spangate::plugin`) driven directly with fixture components
//! (`tests/fixtures/plugins/*`, raw wit-bindgen guests that can misbehave on demand).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use spangate::model::{
    AnyValue, ExportTraceServiceRequest, KeyValue, MetricValue, Resource, ResourceSpans,
    ScopeSpans, Span, Status, TailSettings, TailVerdict, any_value, span,
};
use spangate::plugin::{
    CompiledPlugin, FailureKind, OnError, Plugin, PluginError, PluginKind, PluginLimits,
    PluginRuntime, PluginSpec, RuntimeSettings,
};
use spangate_integration_tests::plugins::fixture_bytes;

const MISBEHAVING: &str = "spangate-fixture-misbehaving";
const SAMPLER: &str = "spangate-fixture-sampler";
const METRICS: &str = "spangate-fixture-metrics";
const RECORDER: &str = "spangate-fixture-recorder";
const EDITOR: &str = "spangate-fixture-editor";
const NOT_A_PLUGIN: &str = "spangate-fixture-not-a-plugin";

fn runtime() -> Arc<PluginRuntime> {
    PluginRuntime::new(RuntimeSettings::default()).expect("plugin runtime")
}

fn load(runtime: &PluginRuntime, package: &str) -> CompiledPlugin {
    runtime
        .load(&fixture_bytes(package))
        .unwrap_or_else(|e| panic!("load {package}: {e}"))
}

fn limits() -> PluginLimits {
    PluginLimits {
        max_memory_bytes: 32 << 20,
        call_timeout: Duration::from_millis(200),
        instances: 1,
        failure_threshold: 100,
        circuit_cooldown: Duration::from_secs(30),
    }
}

fn spec(name: &str, config: Value, on_error: OnError, limits: PluginLimits) -> PluginSpec {
    PluginSpec {
        name: name.to_owned(),
        config_json: config.to_string(),
        on_error,
        limits,
    }
}

fn start(package: &str, config: Value, on_error: OnError, limits: PluginLimits) -> Plugin {
    let runtime = runtime();
    let compiled = load(&runtime, package);
    runtime
        .start(&compiled, spec(package, config, on_error, limits))
        .unwrap_or_else(|e| panic!("start {package}: {e}"))
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn text(value: &str) -> any_value::Value {
    any_value::Value::StringValue(value.to_owned())
}

fn resource(service: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![kv("service.name", text(service)), kv("host", text("h1"))],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn named_span(trace: u8, id: u8, name: &str) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        name: name.to_owned(),
        start_time_unix_nano: 1_000_000_000,
        end_time_unix_nano: 1_000_000_000 + 5_000_000 * u64::from(id),
        ..Default::default()
    }
}

/// One resource ("svc") with spans of the given names, trace 1, span ids 1, 2, ...
fn request(names: &[&str]) -> ExportTraceServiceRequest {
    let spans = names
        .iter()
        .enumerate()
        .map(|(index, name)| named_span(1, index as u8 + 1, name))
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![resource("svc", spans)],
    }
}

fn names(request: &ExportTraceServiceRequest) -> Vec<String> {
    all_spans(request)
        .iter()
        .map(|span| span.name.clone())
        .collect()
}

fn all_spans(request: &ExportTraceServiceRequest) -> Vec<&Span> {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect()
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|a| a.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()
}

// ---- loading ----------------------------------------------------------------------

#[test]
fn kinds_are_detected_from_the_exports() {
    let runtime = runtime();
    for (package, kind) in [
        (MISBEHAVING, PluginKind::Processor),
        (EDITOR, PluginKind::Processor),
        (SAMPLER, PluginKind::Sampler),
        (METRICS, PluginKind::Metrics),
        (RECORDER, PluginKind::Metrics),
    ] {
        let compiled = load(&runtime, package);
        assert_eq!(compiled.kind(), kind, "{package}");
        let info = compiled.load_info();
        assert!(!info.from_cache, "no cache configured");
        assert!(info.wasm_bytes > 1000, "{info:?}");
    }
    assert_eq!(PluginKind::Processor.to_string(), "processor");
    assert_eq!(PluginKind::Sampler.to_string(), "sampler");
    assert_eq!(PluginKind::Metrics.to_string(), "metrics");
}

#[test]
fn non_plugins_are_refused_with_a_reason() {
    let runtime = runtime();
    let other = runtime.load(&fixture_bytes(NOT_A_PLUGIN)).unwrap_err();
    assert!(matches!(other, PluginError::NotAPlugin { .. }), "{other:?}");
    let message = other.to_string();
    assert!(
        message.contains("fixture:other/greeter@1.0.0")
            && message.contains("spangate:plugin/processor@0.2.0"),
        "{message}"
    );

    let core = runtime.load(b"\0asm\x01\0\0\0").unwrap_err();
    assert!(matches!(core, PluginError::NotAPlugin { .. }), "{core:?}");
    assert!(
        core.to_string().contains("core WebAssembly module"),
        "{core}"
    );

    let garbage = runtime.load(b"#!/bin/sh\necho hi\n").unwrap_err();
    assert!(
        matches!(garbage, PluginError::NotAPlugin { .. }),
        "{garbage:?}"
    );
    assert!(
        garbage.to_string().contains("not a WebAssembly binary"),
        "{garbage}"
    );

    // A component header followed by nonsense fails to compile.
    let broken = runtime.load(b"\0asm\x0d\0\x01\0\xff\xff\xff").unwrap_err();
    assert!(matches!(broken, PluginError::Compile { .. }), "{broken:?}");
}

#[test]
fn init_refusal_stops_start_with_the_plugin_message() {
    let runtime = runtime();
    let compiled = load(&runtime, MISBEHAVING);
    let refused = runtime
        .start(
            &compiled,
            spec(
                "redactor",
                json!({"mode": "refuse-init"}),
                OnError::Pass,
                limits(),
            ),
        )
        .unwrap_err();
    match &refused {
        PluginError::InitRefused { plugin, message } => {
            assert_eq!(plugin, "redactor");
            assert_eq!(message, "refusing to start: mode is refuse-init");
        }
        other => panic!("expected InitRefused, got {other:?}"),
    }
    assert!(
        refused
            .to_string()
            .contains("plugin `redactor` refused its configuration"),
        "{refused}"
    );

    let bad_json = PluginSpec {
        config_json: "{not json".to_owned(),
        ..spec("redactor", json!({}), OnError::Pass, limits())
    };
    let refused = runtime.start(&compiled, bad_json).unwrap_err();
    assert!(
        matches!(&refused, PluginError::InitRefused { message, .. } if message.starts_with("bad config")),
        "{refused:?}"
    );

    let zero_timeout = PluginLimits {
        call_timeout: Duration::ZERO,
        ..limits()
    };
    let refused = runtime
        .start(
            &compiled,
            spec("redactor", json!({}), OnError::Pass, zero_timeout),
        )
        .unwrap_err();
    assert!(matches!(refused, PluginError::Limits { .. }), "{refused:?}");
}

#[test]
fn plugin_reports_what_it_is_and_reads() {
    let plugin = start(MISBEHAVING, json!({"mode": "ok"}), OnError::Pass, limits());
    assert_eq!(plugin.name(), MISBEHAVING);
    assert_eq!(plugin.kind(), PluginKind::Processor);
    let info = plugin.info();
    assert_eq!(
        (info.name.as_str(), info.version.as_str()),
        ("misbehaving", "0.1.0")
    );
    assert!(
        info.needs
            .starts_with("fields: name; span attributes: none"),
        "{}",
        info.needs
    );
    assert_eq!(plugin.tail_settings(), None);
}

// ---- processing and faults --------------------------------------------------------

#[test]
fn a_processor_edits_the_batch() {
    let plugin = start(
        MISBEHAVING,
        json!({"mode": "trap", "trigger": "boom"}),
        OnError::Pass,
        limits(),
    );
    let mut batch = request(&["a", "b"]);
    let outcome = plugin.process(&mut batch);
    assert_eq!(
        (outcome.spans_in, outcome.spans_dropped, outcome.failure),
        (2, 0, None)
    );
    assert_eq!(names(&batch), vec!["a!", "b!"]);
    // An empty request is not a call.
    let mut empty = ExportTraceServiceRequest::default();
    assert_eq!(plugin.process(&mut empty).spans_in, 0);
    let stats = plugin.stats();
    assert_eq!(
        (
            stats.calls,
            stats.spans_in,
            stats.spans_dropped,
            stats.failures.total()
        ),
        (1, 2, 0, 0)
    );
}

/// Every misbehaviour is contained: the batch follows `on_error`, the failure is
/// classified and counted, a poisoned instance is re-created for the next batch.
#[test]
fn misbehaviours_are_contained_and_the_next_batch_is_processed() {
    let cases = [
        ("loop", FailureKind::Timeout, true),
        ("trap", FailureKind::Trap, true),
        ("memory", FailureKind::Memory, true),
        ("error", FailureKind::Error, false),
        ("bad-edit", FailureKind::Invalid, false),
        ("undeclared-edit", FailureKind::Invalid, false),
    ];
    for (mode, expected, kills) in cases {
        for on_error in [OnError::Pass, OnError::Drop] {
            let context = format!("mode {mode}, on_error {on_error:?}");
            // Only the endless loop needs a short deadline; with 50 ms for every case, a
            // memory bomb slowed by a busy machine hit the deadline before the memory cap
            // and was classified as a timeout.
            let call_timeout = if mode == "loop" {
                Duration::from_millis(50)
            } else {
                Duration::from_secs(10)
            };
            let plugin = start(
                MISBEHAVING,
                json!({"mode": mode, "trigger": "boom"}),
                on_error,
                PluginLimits {
                    call_timeout,
                    max_memory_bytes: 16 << 20,
                    ..limits()
                },
            );
            let original = request(&["a", "boom", "c"]);
            let mut batch = original.clone();
            let started = std::time::Instant::now();
            let outcome = plugin.process(&mut batch);
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{context}: took {:?}",
                started.elapsed()
            );
            assert_eq!(outcome.failure, Some(expected), "{context}");
            assert_eq!(outcome.spans_in, 3, "{context}");
            match on_error {
                OnError::Pass => {
                    assert_eq!(
                        batch, original,
                        "{context}: pass must leave the batch unchanged"
                    );
                    assert_eq!(outcome.spans_dropped, 0, "{context}");
                }
                OnError::Drop => {
                    assert!(
                        all_spans(&batch).is_empty(),
                        "{context}: drop must remove the batch"
                    );
                    assert_eq!(outcome.spans_dropped, 3, "{context}");
                }
            }

            let mut next = request(&["x", "y"]);
            let outcome = plugin.process(&mut next);
            assert_eq!(outcome.failure, None, "{context}: next batch");
            assert_eq!(names(&next), vec!["x!", "y!"], "{context}: next batch");

            let stats = plugin.stats();
            assert_eq!(stats.calls, 2, "{context}");
            assert_eq!(stats.spans_in, 5, "{context}");
            assert_eq!(
                stats.spans_dropped,
                if on_error == OnError::Drop { 3 } else { 0 },
                "{context}"
            );
            assert_eq!(stats.failures.get(expected), 1, "{context}");
            assert_eq!(stats.failures.total(), 1, "{context}");
            assert_eq!(stats.restarts, u64::from(kills), "{context}");
            assert_eq!(
                (stats.circuit_opened, stats.circuit_open),
                (0, false),
                "{context}"
            );
        }
    }
}

#[test]
fn the_circuit_opens_after_consecutive_failures_and_closes_after_a_good_trial() {
    // Long enough that the checks made while the circuit is open cannot outlast it on a
    // busy machine (each sleep below waits it out).
    let cooldown = Duration::from_secs(2);
    let plugin = start(
        MISBEHAVING,
        json!({"mode": "trap", "trigger": "boom"}),
        OnError::Pass,
        PluginLimits {
            failure_threshold: 3,
            circuit_cooldown: cooldown,
            ..limits()
        },
    );
    for _ in 0..3 {
        assert_eq!(
            plugin.process(&mut request(&["boom"])).failure,
            Some(FailureKind::Trap)
        );
    }
    let stats = plugin.stats();
    assert_eq!((stats.circuit_opened, stats.circuit_open), (1, true));

    // Open: even a good batch is skipped, and `on_error` applies.
    let mut skipped = request(&["fine"]);
    assert_eq!(
        plugin.process(&mut skipped).failure,
        Some(FailureKind::CircuitOpen)
    );
    assert_eq!(names(&skipped), vec!["fine"]);

    // Half-open: the trial fails, the circuit re-opens.
    std::thread::sleep(cooldown + Duration::from_millis(50));
    assert_eq!(
        plugin.process(&mut request(&["boom"])).failure,
        Some(FailureKind::Trap)
    );
    let stats = plugin.stats();
    assert_eq!((stats.circuit_opened, stats.circuit_open), (2, true));
    assert_eq!(
        plugin.process(&mut request(&["fine"])).failure,
        Some(FailureKind::CircuitOpen)
    );

    // Half-open again: the trial succeeds, the circuit closes.
    std::thread::sleep(cooldown + Duration::from_millis(50));
    let mut trial = request(&["fine"]);
    assert_eq!(plugin.process(&mut trial).failure, None);
    assert_eq!(names(&trial), vec!["fine!"]);
    let stats = plugin.stats();
    assert_eq!(stats.calls, 7);
    assert!(stats.call_time > Duration::ZERO, "call time is counted");
    assert_eq!(stats.failures.get(FailureKind::Trap), 4);
    assert_eq!(stats.failures.get(FailureKind::CircuitOpen), 2);
    assert_eq!(stats.restarts, 4);
    assert_eq!((stats.circuit_opened, stats.circuit_open), (2, false));
}

#[test]
fn a_failed_re_init_is_an_init_failure() {
    let runtime = runtime();
    // Compiled first: only `start` (instantiate + init) must beat the deadline.
    let compiled = load(&runtime, MISBEHAVING);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    // Room for a slow first start on a busy machine; then wait until the deadline passed.
    let deadline = now + Duration::from_secs(3);
    let config = json!({"mode": "trap", "trigger": "boom", "refuse_init_after_unix_nanos": deadline.as_nanos() as u64});
    let plugin = runtime
        .start(&compiled, spec("re-init", config, OnError::Drop, limits()))
        .expect("the first init is before the deadline");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    std::thread::sleep(deadline.saturating_sub(now) + Duration::from_millis(100));
    assert_eq!(
        plugin.process(&mut request(&["boom"])).failure,
        Some(FailureKind::Trap)
    );
    let mut next = request(&["fine"]);
    let outcome = plugin.process(&mut next);
    assert_eq!(outcome.failure, Some(FailureKind::Init));
    assert!(
        all_spans(&next).is_empty(),
        "on_error drop applies to an init failure too"
    );
    let stats = plugin.stats();
    assert_eq!(stats.failures.get(FailureKind::Init), 1);
    assert_eq!(stats.restarts, 0, "no instance was re-created");
}

#[test]
fn a_processor_pool_serves_parallel_callers() {
    let plugin = Arc::new(start(
        MISBEHAVING,
        json!({"mode": "ok"}),
        OnError::Pass,
        PluginLimits {
            instances: 3,
            ..limits()
        },
    ));
    let threads: Vec<_> = (0..6)
        .map(|thread| {
            let plugin = plugin.clone();
            std::thread::spawn(move || {
                for round in 0..20 {
                    let name = format!("t{thread}r{round}");
                    let mut batch = request(&[&name]);
                    assert_eq!(plugin.process(&mut batch).failure, None);
                    assert_eq!(names(&batch), vec![format!("{name}!")]);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(plugin.stats().calls, 120);
}

// ---- the artifact cache -----------------------------------------------------------

#[test]
fn compiled_artifacts_are_cached_and_corrupt_ones_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let settings = RuntimeSettings {
        cache_dir: Some(dir.path().join("cache")),
        ..RuntimeSettings::default()
    };
    let wasm = fixture_bytes(MISBEHAVING);
    let first = PluginRuntime::new(settings.clone()).unwrap();
    let compiled = first.load(&wasm).unwrap();
    let info = compiled.load_info();
    assert!(!info.from_cache);
    assert!(info.artifact_bytes > 0);

    // A new runtime (a restarted gateway) finds it.
    let second = PluginRuntime::new(settings.clone()).unwrap();
    let cached = second.load(&wasm).unwrap();
    assert!(cached.load_info().from_cache);
    assert_eq!(cached.load_info().artifact_bytes, info.artifact_bytes);
    let plugin = second
        .start(
            &cached,
            spec("cached", json!({"mode": "ok"}), OnError::Pass, limits()),
        )
        .unwrap();
    let mut batch = request(&["a"]);
    plugin.process(&mut batch);
    assert_eq!(names(&batch), vec!["a!"]);

    let files: Vec<_> = std::fs::read_dir(dir.path().join("cache"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "cwasm");

    // Corrupt it: ignored, recompiled, rewritten.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&files[0], &bytes).unwrap();
    let recovered = PluginRuntime::new(settings.clone())
        .unwrap()
        .load(&wasm)
        .unwrap();
    assert!(!recovered.load_info().from_cache);
    assert!(
        PluginRuntime::new(settings.clone())
            .unwrap()
            .load(&wasm)
            .unwrap()
            .load_info()
            .from_cache
    );

    // Truncated: same.
    std::fs::write(&files[0], &bytes[..10]).unwrap();
    assert!(
        !PluginRuntime::new(settings.clone())
            .unwrap()
            .load(&wasm)
            .unwrap()
            .load_info()
            .from_cache
    );
    assert!(
        PluginRuntime::new(settings)
            .unwrap()
            .load(&wasm)
            .unwrap()
            .load_info()
            .from_cache
    );
}

#[test]
fn an_unusable_cache_dir_is_a_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let error = PluginRuntime::new(RuntimeSettings {
        cache_dir: Some(file.join("cache")),
        ..RuntimeSettings::default()
    })
    .unwrap_err();
    assert!(matches!(error, PluginError::Cache { .. }), "{error:?}");
}

// ---- edits ------------------------------------------------------------------------

/// Two resources; span "checkout" has attributes, an event with attributes, a link.
fn rich_request() -> ExportTraceServiceRequest {
    let mut first = named_span(1, 1, "checkout");
    first.attributes = vec![
        kv("user", text("alice")),
        kv("card", text("4111-1111")),
        kv("retries", any_value::Value::IntValue(2)),
    ];
    first.status = Some(Status {
        message: "ok".to_owned(),
        code: 1,
    });
    first.events = vec![span::Event {
        name: "charge".to_owned(),
        attributes: vec![
            kv("amount", any_value::Value::DoubleValue(9.5)),
            kv("token", text("t0k")),
        ],
        ..Default::default()
    }];
    first.links = vec![span::Link {
        trace_id: vec![7; 16],
        span_id: vec![7; 8],
        attributes: vec![
            kv("relation", text("follows")),
            kv("weight", any_value::Value::IntValue(1)),
        ],
        ..Default::default()
    }];
    let mut second = named_span(1, 2, "db");
    second.attributes = vec![kv("db.statement", text("SELECT 1"))];
    let third = named_span(2, 3, "other service");
    ExportTraceServiceRequest {
        resource_spans: vec![
            resource("shop", vec![first, second]),
            resource("billing", vec![third]),
        ],
    }
}

fn editor(needs: Value, edits: Value, on_error: OnError) -> Plugin {
    start(
        EDITOR,
        json!({"needs": needs, "edits": edits}),
        on_error,
        limits(),
    )
}

#[test]
fn edits_reach_the_otlp_spans() {
    let plugin = editor(
        json!({
            "fields": ["name", "status-message", "event-names"],
            "span_attributes": "all-strings",
            "resource_attributes": ["host"],
            "event_attributes": "all",
            "link_attributes": "all-strings",
        }),
        // Span rows (all-strings): 0 user, 1 card (span 0), 2 db.statement (span 1).
        // Resource rows: 0 host (shop), 1 host (billing). Event rows: 0 amount, 1 token.
        // Link rows: 0 relation.
        json!([
            {"op": "set-span-attribute", "index": 1, "value": {"str": "****"}},
            {"op": "remove-span-attribute", "index": 0},
            {"op": "add-span-attribute", "index": 1, "key": "redacted", "value": {"boolean": true}},
            {"op": "set-resource-attribute", "index": 1, "value": {"int": 42}},
            {"op": "remove-event-attribute", "index": 1},
            {"op": "set-event-attribute", "index": 0, "value": {"double": 10.0}},
            {"op": "set-link-attribute", "index": 0, "value": {"str": "child-of"}},
            {"op": "set-name", "index": 0, "text": "checkout (edited)"},
            {"op": "set-status-message", "index": 0, "text": "edited"},
            {"op": "set-event-name", "index": 0, "text": "charged"},
            {"op": "drop-span", "index": 2},
        ]),
        OnError::Pass,
    );
    let mut batch = rich_request();
    let outcome = plugin.process(&mut batch);
    assert_eq!(
        (outcome.spans_in, outcome.spans_dropped, outcome.failure),
        (3, 1, None)
    );
    assert_eq!(batch.resource_spans.len(), 1, "billing lost its only span");
    let spans = all_spans(&batch);
    assert_eq!(names(&batch), vec!["checkout (edited)", "db"]);
    let checkout = spans[0];
    let keys: Vec<&str> = checkout.attributes.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, vec!["card", "retries"]);
    assert_eq!(attribute(&checkout.attributes, "card"), Some(&text("****")));
    assert_eq!(checkout.status.as_ref().unwrap().message, "edited");
    assert_eq!(
        checkout.status.as_ref().unwrap().code,
        1,
        "only the message changes"
    );
    assert_eq!(checkout.events[0].name, "charged");
    assert_eq!(checkout.events[0].attributes.len(), 1);
    assert_eq!(
        attribute(&checkout.events[0].attributes, "amount"),
        Some(&any_value::Value::DoubleValue(10.0))
    );
    assert_eq!(
        attribute(&checkout.links[0].attributes, "relation"),
        Some(&text("child-of"))
    );
    assert_eq!(
        attribute(&checkout.links[0].attributes, "weight"),
        Some(&any_value::Value::IntValue(1))
    );
    assert_eq!(
        attribute(&spans[1].attributes, "redacted"),
        Some(&any_value::Value::BoolValue(true))
    );
    // The shop resource's host is untouched (row 1 was billing's, now dropped with it).
    let shop = batch.resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(attribute(&shop.attributes, "host"), Some(&text("h1")));
    assert_eq!(plugin.stats().spans_dropped, 1);
}

#[test]
fn edits_outside_the_declared_needs_invalidate_the_whole_answer() {
    let cases = [
        (
            json!({"fields": ["name"]}),
            json!([{"op": "set-status-message", "index": 0, "text": "x"}]),
        ),
        (
            json!({"fields": []}),
            json!([{"op": "set-name", "index": 0, "text": "x"}]),
        ),
        (
            json!({"fields": ["name"]}),
            json!([{"op": "add-span-attribute", "index": 0, "key": "k", "value": {"int": 1}}]),
        ),
        (
            json!({"span_attributes": ["user"]}),
            json!([{"op": "remove-span-attribute", "index": 2}]),
        ),
        (
            json!({"fields": ["name"]}),
            json!([{"op": "set-name", "index": 0, "text": "x"}, {"op": "drop-span", "index": 3}]),
        ),
        (
            json!({"event_attributes": "all"}),
            json!([{"op": "set-event-attribute", "index": 2, "value": {"int": 1}}]),
        ),
    ];
    for (needs, edits) in cases {
        for on_error in [OnError::Pass, OnError::Drop] {
            let plugin = editor(needs.clone(), edits.clone(), on_error);
            let mut batch = rich_request();
            let outcome = plugin.process(&mut batch);
            assert_eq!(
                outcome.failure,
                Some(FailureKind::Invalid),
                "{edits} {on_error:?}"
            );
            match on_error {
                OnError::Pass => assert_eq!(batch, rich_request(), "{edits}: nothing applied"),
                OnError::Drop => assert!(batch.resource_spans.is_empty(), "{edits}"),
            }
            assert_eq!(
                plugin.stats().restarts,
                0,
                "an invalid answer keeps the instance"
            );
        }
    }
}

// ---- columns ----------------------------------------------------------------------

/// The batch the recorder fixture received, as JSON.
fn recorded_columns(needs: Value, request: &ExportTraceServiceRequest) -> Value {
    let plugin = start(RECORDER, needs, OnError::Pass, limits());
    assert_eq!(plugin.observe(request).failure, None);
    let points = plugin.collect(0);
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].value, MetricValue::Gauge(1.0));
    serde_json::from_str(&points[0].help).expect("recorder help is JSON")
}

/// Column `name` (as `wit/README.md` names it) of a recorded batch, decoded.
fn column<'a>(batch: &'a Value, name: &str) -> &'a Value {
    let value = &batch["columns"][name];
    assert!(!value.is_null(), "the recorder reported no column {name}");
    value
}

fn hex_ids(byte: &[u8], width: usize) -> Vec<String> {
    byte.iter()
        .map(|b| format!("{b:02x}").repeat(width))
        .collect()
}

#[test]
fn columns_hold_only_declared_fields() {
    let nothing = recorded_columns(json!({}), &rich_request());
    assert_eq!(nothing["len"], 3);
    assert_eq!(nothing["strings_len"], 0);
    let columns = nothing["columns"].as_object().expect("columns");
    assert_eq!(
        columns.len(),
        36,
        "every column of the directory is reported"
    );
    for (name, values) in columns {
        assert_eq!(values, &json!([]), "{name} was not declared");
    }

    let fields = recorded_columns(
        json!({"fields": ["trace-id", "span-id", "parent-span-id", "service-name", "name", "kind", "times", "status", "status-message", "size", "event-names"]}),
        &rich_request(),
    );
    assert_eq!(column(&fields, "trace-id"), &json!(hex_ids(&[1, 1, 2], 16)));
    assert_eq!(column(&fields, "span-id"), &json!(hex_ids(&[1, 2, 3], 8)));
    assert_eq!(
        column(&fields, "parent-span-id"),
        &json!(hex_ids(&[0, 0, 0], 8))
    );
    assert_eq!(column(&fields, "services"), &json!(["shop", "billing"]));
    assert_eq!(column(&fields, "service"), &json!([0, 0, 1]));
    assert_eq!(
        column(&fields, "name"),
        &json!(["checkout", "db", "other service"])
    );
    assert_eq!(column(&fields, "status"), &json!([1, 0, 0]));
    assert_eq!(column(&fields, "status-message"), &json!(["ok", "", ""]));
    assert_eq!(
        column(&fields, "end"),
        &json!([1_005_000_000u64, 1_010_000_000u64, 1_015_000_000u64])
    );
    assert_eq!(column(&fields, "event-offsets"), &json!([0, 1, 1, 1]));
    assert_eq!(column(&fields, "event-names"), &json!(["charge"]));
    assert!(column(&fields, "size")[0].as_u64().unwrap() > 50);
    for undeclared in ["resource", "link-offsets", "span-attributes.value"] {
        assert_eq!(column(&fields, undeclared), &json!([]), "{undeclared}");
    }
    // Every present column starts at a multiple of 8 past the 288-byte directory.
    for entry in fields["directory"].as_array().expect("directory") {
        let (offset, count) = (entry[0].as_u64().unwrap(), entry[1].as_u64().unwrap());
        assert!(count == 0 || (offset >= 288 && offset % 8 == 0), "{entry}");
    }
}

#[test]
fn columns_for_each_attribute_selection() {
    let request = rich_request();
    let keys = recorded_columns(
        json!({"span_attributes": ["card", "retries", "absent"]}),
        &request,
    );
    assert_eq!(
        column(&keys, "span-attributes.owner-offsets"),
        &json!([0, 2, 2, 2])
    );
    assert_eq!(
        column(&keys, "span-attributes.keys"),
        &json!(["card", "retries"])
    );
    assert_eq!(column(&keys, "span-attributes.key"), &json!([0, 1]));
    assert_eq!(
        column(&keys, "span-attributes.value-kind"),
        &json!(["str", "int"])
    );
    assert_eq!(
        column(&keys, "span-attributes.value"),
        &json!(["4111-1111", 2])
    );

    let strings = recorded_columns(json!({"span_attributes": "all-strings"}), &request);
    assert_eq!(
        column(&strings, "span-attributes.owner-offsets"),
        &json!([0, 2, 3, 3])
    );
    assert_eq!(
        column(&strings, "span-attributes.keys"),
        &json!(["user", "card", "db.statement"])
    );
    assert_eq!(
        column(&strings, "span-attributes.value"),
        &json!(["alice", "4111-1111", "SELECT 1"])
    );

    let mut with_array = request.clone();
    with_array.resource_spans[0].scope_spans[0].spans[1]
        .attributes
        .push(kv(
            "tags",
            any_value::Value::ArrayValue(spangate::model::ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(text("a")),
                    },
                    AnyValue {
                        value: Some(any_value::Value::BoolValue(false)),
                    },
                ],
            }),
        ));
    let all = recorded_columns(
        json!({"span_attributes": "all", "resource_attributes": "all-strings", "event_attributes": ["token"], "link_attributes": "all"}),
        &with_array,
    );
    assert_eq!(
        column(&all, "span-attributes.owner-offsets"),
        &json!([0, 3, 5, 5])
    );
    assert_eq!(
        column(&all, "span-attributes.value-kind"),
        &json!(["str", "str", "int", "str", "json"])
    );
    assert_eq!(
        column(&all, "span-attributes.value")[4],
        json!(r#"["a",false]"#)
    );
    assert_eq!(column(&all, "resource"), &json!([0, 0, 1]));
    assert_eq!(
        column(&all, "resource-attributes.owner-offsets"),
        &json!([0, 2, 4])
    );
    assert_eq!(
        column(&all, "resource-attributes.keys"),
        &json!(["service.name", "host"])
    );
    assert_eq!(
        column(&all, "resource-attributes.key"),
        &json!([0, 1, 0, 1])
    );
    assert_eq!(column(&all, "event-offsets"), &json!([0, 1, 1, 1]));
    assert_eq!(
        column(&all, "event-names"),
        &json!([]),
        "event names not declared"
    );
    assert_eq!(column(&all, "event-attributes.value"), &json!(["t0k"]));
    assert_eq!(column(&all, "link-offsets"), &json!([0, 1, 1, 1]));
    assert_eq!(
        column(&all, "link-attributes.value-kind"),
        &json!(["str", "int"])
    );
    assert_eq!(column(&all, "link-attributes.value")[1], json!(1));
}

#[test]
fn a_component_built_against_0_1_0_is_refused_naming_both_versions() {
    let error = runtime()
        .load(&fixture_bytes("spangate-fixture-old-abi"))
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("spangate:plugin@0.1.0") && message.contains("spangate:plugin@0.2.0"),
        "{message}"
    );
}

// ---- samplers ---------------------------------------------------------------------

#[test]
fn head_sampling_drops_spans_in_place() {
    let plugin = start(SAMPLER, json!({}), OnError::Pass, limits());
    assert_eq!(plugin.kind(), PluginKind::Sampler);
    assert_eq!(plugin.tail_settings(), None);
    let mut batch = request(&["keep me", "drop me", "also kept", "drop too"]);
    let outcome = plugin.sample_head(&mut batch);
    assert_eq!(
        (outcome.spans_in, outcome.spans_dropped, outcome.failure),
        (4, 2, None)
    );
    assert_eq!(names(&batch), vec!["keep me", "also kept"]);
    let mut all_dropped = request(&["drop"]);
    plugin.sample_head(&mut all_dropped);
    assert!(
        all_dropped.resource_spans.is_empty(),
        "empty resource spans are removed"
    );
    assert_eq!(plugin.stats().spans_dropped, 3);
}

#[test]
fn a_wrong_number_of_decisions_is_invalid() {
    for on_error in [OnError::Pass, OnError::Drop] {
        let plugin = start(SAMPLER, json!({"mode": "wrong-length"}), on_error, limits());
        let original = request(&["a", "drop b"]);
        let mut batch = original.clone();
        let outcome = plugin.sample_head(&mut batch);
        assert_eq!(outcome.failure, Some(FailureKind::Invalid));
        match on_error {
            OnError::Pass => assert_eq!(batch, original),
            OnError::Drop => assert!(batch.resource_spans.is_empty()),
        }
    }
}

fn traces_request() -> ExportTraceServiceRequest {
    // Trace 5: a, keep-x; trace 3: b; trace 9: keep (in another resource); trace 5: c.
    ExportTraceServiceRequest {
        resource_spans: vec![
            resource(
                "a",
                vec![
                    named_span(5, 1, "a"),
                    named_span(3, 2, "b"),
                    named_span(5, 3, "keep-x"),
                ],
            ),
            resource("b", vec![named_span(9, 4, "keep"), named_span(5, 5, "c")]),
        ],
    }
}

#[test]
fn tail_sampling_decides_whole_traces_in_first_appearance_order() {
    let plugin = start(
        SAMPLER,
        json!({"tail": {"decision_wait_millis": 1500, "max_traces": 10, "max_spans_per_trace": 100}}),
        OnError::Pass,
        limits(),
    );
    assert_eq!(
        plugin.tail_settings(),
        Some(TailSettings {
            decision_wait: Duration::from_millis(1500),
            max_traces: 10,
            max_spans_per_trace: 100,
        })
    );
    let outcome = plugin.sample_tail(&traces_request());
    assert_eq!(outcome.failure, None);
    let keep = TailVerdict::Keep {
        policy: "keep-name".to_owned(),
    };
    assert_eq!(
        outcome.verdicts,
        vec![
            ([5; 16], keep.clone()),
            ([3; 16], TailVerdict::Drop),
            ([9; 16], keep)
        ]
    );
    let stats = plugin.stats();
    assert_eq!(
        (stats.calls, stats.spans_in, stats.spans_dropped),
        (1, 5, 1)
    );
}

#[test]
fn failed_tail_calls_decide_every_trace_by_policy() {
    for (mode, expected) in [
        ("wrong-length", FailureKind::Invalid),
        ("error", FailureKind::Error),
    ] {
        let pass = start(SAMPLER, json!({"mode": mode}), OnError::Pass, limits());
        let outcome = pass.sample_tail(&traces_request());
        assert_eq!(outcome.failure, Some(expected));
        let unknown = TailVerdict::Keep {
            policy: String::new(),
        };
        assert_eq!(
            outcome.verdicts,
            vec![
                ([5; 16], unknown.clone()),
                ([3; 16], unknown.clone()),
                ([9; 16], unknown)
            ]
        );
        let drop = start(SAMPLER, json!({"mode": mode}), OnError::Drop, limits());
        let outcome = drop.sample_tail(&traces_request());
        assert!(
            outcome
                .verdicts
                .iter()
                .all(|(_, verdict)| *verdict == TailVerdict::Drop)
        );
        assert_eq!(outcome.verdicts.len(), 3);
        assert_eq!(drop.stats().spans_dropped, 5);
    }
}

// ---- metrics ----------------------------------------------------------------------

#[test]
fn metrics_plugins_observe_and_report_series() {
    let plugin = start(METRICS, json!({}), OnError::Drop, limits());
    let mut batch = request(&["a", "b"]);
    batch
        .resource_spans
        .push(resource("other", vec![named_span(4, 9, "c")]));
    let outcome = plugin.observe(&batch);
    assert_eq!(
        (outcome.spans_in, outcome.spans_dropped, outcome.failure),
        (3, 0, None)
    );
    let points = plugin.collect(123);
    assert_eq!(points.len(), 3, "{points:?}");
    assert_eq!(points[0].name, "fixture_spans_total");
    assert_eq!(
        points[0].labels,
        vec![("service".to_owned(), "other".to_owned())]
    );
    assert_eq!(points[0].value, MetricValue::Counter(1.0));
    assert_eq!(
        points[1].labels,
        vec![("service".to_owned(), "svc".to_owned())]
    );
    assert_eq!(points[1].value, MetricValue::Counter(2.0));
    let histogram = &points[2];
    assert_eq!(histogram.name, "fixture_span_duration_seconds");
    match &histogram.value {
        MetricValue::Histogram {
            upper_bounds,
            bucket_counts,
            count,
            sum,
        } => {
            assert_eq!(upper_bounds, &vec![0.001, 0.01, 0.1, 1.0]);
            // Durations 5 ms, 10 ms, 45 ms.
            assert_eq!(bucket_counts, &vec![0, 2, 3, 3]);
            assert_eq!(*count, 3);
            assert!((sum - 0.06).abs() < 1e-9, "{sum}");
        }
        other => panic!("expected a histogram, got {other:?}"),
    }
    let exemplar = histogram.exemplar.expect("exemplar");
    assert_eq!(exemplar.trace_id, [4; 16]);
    assert_eq!(exemplar.span_id, [9; 8]);
    assert_eq!(exemplar.time_unix_nanos, 1_045_000_000);
    assert!((exemplar.value - 0.045).abs() < 1e-12);
    let stats = plugin.stats();
    assert_eq!(
        (
            stats.calls,
            stats.collects,
            stats.spans_in,
            stats.spans_dropped
        ),
        (1, 1, 3, 0)
    );
}

#[test]
fn bad_metric_answers_are_dropped_and_counted() {
    let bad_points = start(
        METRICS,
        json!({"mode": "bad-points"}),
        OnError::Pass,
        limits(),
    );
    bad_points.observe(&request(&["a"]));
    assert!(bad_points.collect(0).is_empty());
    assert_eq!(bad_points.stats().failures.get(FailureKind::Invalid), 1);

    let trapping = start(
        METRICS,
        json!({"mode": "trap-collect"}),
        OnError::Pass,
        limits(),
    );
    trapping.observe(&request(&["a"]));
    assert!(trapping.collect(0).is_empty());
    let stats = trapping.stats();
    assert_eq!(
        (stats.failures.get(FailureKind::Trap), stats.restarts),
        (1, 0)
    );
    // The instance was re-created: its state (counts) is gone, the next call works.
    assert_eq!(trapping.observe(&request(&["b"])).failure, None);
    assert_eq!(trapping.stats().restarts, 1);
}

#[test]
fn calls_of_the_wrong_kind_are_ignored() {
    let processor = start(MISBEHAVING, json!({}), OnError::Drop, limits());
    let mut batch = request(&["a"]);
    assert_eq!(processor.sample_head(&mut batch).spans_in, 0);
    assert!(processor.collect(0).is_empty());
    assert_eq!(names(&batch), vec!["a"]);
    assert_eq!(processor.stats().calls, 0);
}
