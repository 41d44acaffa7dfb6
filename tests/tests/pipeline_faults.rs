//! Misbehaving plugins through the real binary: every fault is contained —
//! the gateway keeps serving, the batch follows `on_error`, the failure is counted by
//! reason on `/metrics`, a killed instance is re-created and the next batch is
//! processed — plus the circuit breaker, start-up refusals, and reloads (`SIGHUP`)
//! under load that lose no span.
//!
//! The `misbehaving` fixture appends "!" to every span name of a normal batch and
//! misbehaves (per its `mode`) on a batch holding a span named `boom`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use spangate_integration_tests::fixtures;
use spangate_integration_tests::harness::{StartupFailure, free_port, run_until_exit};
use spangate_integration_tests::plugins::fixture_wasm;
use spangate_integration_tests::prom::{self, Sample};
use spangate_integration_tests::{GatewayOptions, TestGateway, ids};

const MISBEHAVING: &str = "spangate-fixture-misbehaving";
const SAMPLER: &str = "spangate-fixture-sampler";
const METRICS: &str = "spangate-fixture-metrics";
const NOT_A_PLUGIN: &str = "spangate-fixture-not-a-plugin";

/// The name the pipeline entries get (the `plugin` label on `/metrics`).
const NAME: &str = "faulty";

fn wasm(package: &str) -> String {
    fixture_wasm(package).display().to_string()
}

/// A `pipeline:` with the misbehaving fixture (absolute path) in `mode`, triggered by
/// spans named `boom`. One instance, so the instance that failed is the one the next
/// batch uses (and re-creates); a high failure threshold unless `limits` says otherwise.
fn misbehaving_pipeline(mode: &str, on_error: &str, limits: &str) -> String {
    // Only the endless loop needs a short deadline; every other fault gets a generous
    // one so a slow, busy CI machine never turns it into a timeout (filling 16 MiB in
    // a debug-built host took over 100 ms there).
    let call_timeout = if mode.ends_with("loop") {
        "100ms"
    } else {
        "10s"
    };
    format!(
        r#"pipeline:
  - plugin: "{path}"
    name: {NAME}
    on_error: {on_error}
    config: {{mode: {mode}, trigger: boom}}
    limits: {{memory: 16MiB, call_timeout: {call_timeout}, instances: 1, {limits}}}
"#,
        path = wasm(MISBEHAVING),
    )
}

fn gateway(pipeline: String) -> TestGateway {
    TestGateway::start_with(GatewayOptions {
        extra_yaml: pipeline,
        ..GatewayOptions::default()
    })
}

/// One request of a fresh trace with one span per name, in stored order.
fn batch(names: &[&str]) -> (Vec<u8>, ExportTraceServiceRequest) {
    fixtures::named_spans_request("faults", names)
}

fn stored_spans(gw: &TestGateway, trace_id: &[u8]) -> Vec<Span> {
    gw.trace_v2_protobuf(&ids::hex_id(trace_id))
        .trace
        .map(|trace| all_spans(&trace.resource_spans))
        .unwrap_or_default()
}

fn all_spans(resource_spans: &[ResourceSpans]) -> Vec<Span> {
    resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| ss.spans.iter().cloned())
        .collect()
}

/// Names of the stored spans of a trace, in stored (start time) order.
fn stored_names(gw: &TestGateway, trace_id: &[u8]) -> Vec<String> {
    stored_spans(gw, trace_id)
        .into_iter()
        .map(|span| span.name)
        .collect()
}

fn plugin_counter(samples: &[Sample], name: &str) -> f64 {
    prom::sum(samples, name, &[("plugin", NAME)])
}

fn failures(samples: &[Sample], reason: &str) -> f64 {
    prom::sum(
        samples,
        "spangate_plugin_failures_total",
        &[("plugin", NAME), ("reason", reason)],
    )
}

fn assert_ready(gw: &TestGateway) {
    let ready = gw.get("/ready");
    assert_eq!(ready.status, 200, "/ready: {}", ready.describe());
}

// ---- each misbehaviour, contained ----------------------------------------------------

/// A batch holding `boom` makes the fixture misbehave in `mode`; checks, for both
/// policies, that the export is acknowledged and the gateway stays ready, that `pass`
/// stores the batch unchanged and `drop` stores none of it, that the failure is counted
/// under `reason` (with a log line), that the instance is re-created when the fault
/// killed it, and that the next batch gets the fixture's normal effect.
fn fault_is_contained(mode: &str, reason: &str, kills_instance: bool) {
    for on_error in ["pass", "drop"] {
        let context = format!("mode {mode}, on_error {on_error}");
        let gw = gateway(misbehaving_pipeline(
            mode,
            on_error,
            "failure_threshold: 100",
        ));
        let grpc = gw.grpc();

        let (faulty_trace, faulty) = batch(&["a", "boom", "c"]);
        grpc.export_ok(&faulty);
        assert_ready(&gw);
        match on_error {
            "pass" => gw.assert_trace(&ids::hex_id(&faulty_trace), &faulty.resource_spans),
            _ => assert_eq!(
                stored_names(&gw, &faulty_trace),
                Vec::<String>::new(),
                "{context}: on_error drop stored spans of the failed batch"
            ),
        }
        let samples = gw.metrics();
        assert_eq!(failures(&samples, reason), 1.0, "{context}");
        assert_eq!(
            prom::sum(
                &samples,
                "spangate_plugin_failures_total",
                &[("plugin", NAME)]
            ),
            1.0,
            "{context}: one failure, under reason {reason} only"
        );
        assert_eq!(
            plugin_counter(&samples, "spangate_plugin_spans_dropped_total"),
            if on_error == "drop" { 3.0 } else { 0.0 },
            "{context}"
        );
        gw.wait_for_log("plugin call failed", 1);

        // The next normal batch: processed by a (re-created) instance.
        let (next_trace, next) = batch(&["x", "y"]);
        grpc.export_ok(&next);
        assert_eq!(
            stored_names(&gw, &next_trace),
            ["x!", "y!"],
            "{context}: the next batch was not processed normally"
        );
        let samples = gw.metrics();
        assert_eq!(
            plugin_counter(&samples, "spangate_plugin_restarts_total"),
            if kills_instance { 1.0 } else { 0.0 },
            "{context}: instance restarts"
        );
        assert_eq!(
            plugin_counter(&samples, "spangate_plugin_calls_total"),
            2.0,
            "{context}"
        );
        assert!(
            plugin_counter(&samples, "spangate_plugin_call_seconds_total") > 0.0,
            "{context}: call time"
        );
        assert_eq!(failures(&samples, reason), 1.0, "{context}");
        assert_eq!(
            plugin_counter(&samples, "spangate_plugin_circuit_open"),
            0.0,
            "{context}"
        );
        if kills_instance {
            gw.wait_for_log("plugin instance re-created", 1);
        }
        assert_ready(&gw);
    }
}

#[test]
fn an_endless_loop_times_out_and_is_contained() {
    fault_is_contained("loop", "timeout", true);
}

/// Reading the clocks (the host's and WASI's) in a tight loop is no way around the deadline.
#[test]
fn an_endless_loop_reading_the_clocks_times_out_and_is_contained() {
    fault_is_contained("clock-loop", "timeout", true);
}

/// One `memory.grow` far past the cap (not an allocator's small steps) is refused.
#[test]
fn a_single_memory_grow_past_the_cap_is_refused_and_contained() {
    fault_is_contained("memory-grow", "memory", true);
}

#[test]
fn a_trap_is_contained() {
    fault_is_contained("trap", "trap", true);
}

#[test]
fn a_memory_bomb_hits_the_cap_and_is_contained() {
    fault_is_contained("memory", "memory", true);
}

#[test]
fn a_plugin_error_is_contained() {
    fault_is_contained("error", "error", false);
}

#[test]
fn an_edit_out_of_range_is_invalid_and_not_applied() {
    fault_is_contained("bad-edit", "invalid", false);
}

#[test]
fn an_edit_of_an_undeclared_field_is_invalid_and_not_applied() {
    fault_is_contained("undeclared-edit", "invalid", false);
}

// ---- circuit breaker --------------------------------------------------------------

/// Two traps open the circuit (threshold 2); while open even a good batch skips the
/// plugin (stored unchanged, counted as `circuit_open`); after the cooldown a good
/// trial batch closes it. `Err` when the machine was too slow to send the skipped
/// batch within `cooldown` (then nothing can be concluded; the caller retries with a
/// longer cooldown).
fn circuit_opens_and_closes(cooldown: Duration) -> Result<(), String> {
    let gw = gateway(misbehaving_pipeline(
        "trap",
        "pass",
        &format!(
            "failure_threshold: 2, circuit_cooldown: {}ms",
            cooldown.as_millis()
        ),
    ));
    let grpc = gw.grpc();
    let (first_boom, request) = batch(&["boom"]);
    grpc.export_ok(&request);
    // The circuit opens during the second failing call, before its acknowledgement.
    let opened_before = Instant::now();
    let (second_boom, request) = batch(&["boom"]);
    grpc.export_ok(&request);
    let samples = gw.metrics();
    assert_eq!(failures(&samples, "trap"), 2.0);
    assert_eq!(
        plugin_counter(&samples, "spangate_plugin_circuit_open"),
        1.0
    );
    assert_eq!(
        plugin_counter(&samples, "spangate_plugin_circuit_opened_total"),
        1.0
    );
    // on_error pass: both failed batches stored as sent.
    assert_eq!(stored_names(&gw, &first_boom), ["boom"]);
    assert_eq!(stored_names(&gw, &second_boom), ["boom"]);

    let (skipped_trace, skipped) = batch(&["fine"]);
    grpc.export_ok(&skipped);
    if opened_before.elapsed() >= cooldown {
        return Err(format!(
            "sending one batch took longer than the {cooldown:?} cooldown"
        ));
    }
    assert_eq!(
        stored_names(&gw, &skipped_trace),
        ["fine"],
        "a batch sent while the circuit is open must skip the plugin (pass: unchanged)"
    );
    let samples = gw.metrics();
    assert_eq!(failures(&samples, "circuit_open"), 1.0);
    assert_eq!(failures(&samples, "trap"), 2.0, "the plugin was not called");
    gw.wait_for_log("plugin circuit opened", 1);

    // After the cooldown one trial call goes through; it succeeds and closes the
    // circuit. Poll with good batches until one is processed (bounded).
    let mut trial_acked = None;
    for _ in 0..(cooldown.as_millis() as usize / 100 + 300) {
        let (trace_id, request) = batch(&["trial"]);
        grpc.export_ok(&request);
        let acked = Instant::now();
        match stored_names(&gw, &trace_id).as_slice() {
            [name] if name == "trial!" => {
                trial_acked = Some(acked);
                break;
            }
            [name] if name == "trial" => {}
            other => panic!("unexpected stored spans {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let trial_acked = trial_acked
        .unwrap_or_else(|| panic!("the circuit never let a trial call through\n{}", gw.logs()));
    // The circuit opened after `opened_before`; the trial was admitted (and then
    // acknowledged) at least a cooldown after that.
    assert!(
        trial_acked.duration_since(opened_before) >= cooldown,
        "the circuit let a call through before its cooldown ended"
    );
    let samples = gw.metrics();
    assert_eq!(
        plugin_counter(&samples, "spangate_plugin_circuit_open"),
        0.0
    );
    assert_eq!(
        plugin_counter(&samples, "spangate_plugin_circuit_opened_total"),
        1.0
    );
    assert_eq!(
        plugin_counter(&samples, "spangate_plugin_circuit_closed_total"),
        1.0,
        "the passing trial closed the circuit once"
    );
    gw.wait_for_log("plugin circuit closed", 1);
    assert!(failures(&samples, "circuit_open") >= 1.0);
    assert_eq!(failures(&samples, "trap"), 2.0);
    // Closed: the next batch is processed as usual, and a single failure no longer
    // opens it (the count restarted at the successful trial).
    let (trace_id, request) = batch(&["after"]);
    grpc.export_ok(&request);
    assert_eq!(stored_names(&gw, &trace_id), ["after!"]);
    let (_, request) = batch(&["boom"]);
    grpc.export_ok(&request);
    let samples = gw.metrics();
    assert_eq!(failures(&samples, "trap"), 3.0);
    assert_eq!(
        plugin_counter(&samples, "spangate_plugin_circuit_open"),
        0.0
    );
    assert_ready(&gw);
    Ok(())
}

#[test]
fn the_circuit_breaker_opens_after_repeated_failures_and_closes_after_the_cooldown() {
    let mut slow = Vec::new();
    for cooldown in [3, 6, 12].map(Duration::from_secs) {
        match circuit_opens_and_closes(cooldown) {
            Ok(()) => return,
            Err(why) => slow.push(why),
        }
    }
    panic!("could not observe an open circuit: {slow:?}");
}

// ---- samplers -----------------------------------------------------------------------

#[test]
fn a_sampler_answering_the_wrong_number_of_decisions_is_invalid_and_the_policy_applies() {
    for on_error in ["pass", "drop"] {
        let gw = gateway(format!(
            r#"pipeline:
  - plugin: "{path}"
    name: {NAME}
    on_error: {on_error}
    config: {{mode: wrong-length}}
"#,
            path = wasm(SAMPLER),
        ));
        // A correct answer would drop `drop-me` and keep `keep-me`.
        let (trace_id, request) = batch(&["drop-me", "keep-me"]);
        gw.grpc().export_ok(&request);
        assert_ready(&gw);
        let samples = gw.metrics();
        assert_eq!(failures(&samples, "invalid"), 1.0, "on_error {on_error}");
        match on_error {
            "pass" => gw.assert_trace(&ids::hex_id(&trace_id), &request.resource_spans),
            _ => {
                assert_eq!(stored_names(&gw, &trace_id), Vec::<String>::new());
                assert_eq!(
                    plugin_counter(&samples, "spangate_plugin_spans_dropped_total"),
                    2.0
                );
            }
        }
        gw.wait_for_log("plugin call failed", 1);
        assert!(
            gw.stderr().contains("3 verdicts for a batch of 2 spans"),
            "the log should say what was wrong with the answer\n{}",
            gw.logs()
        );
    }
}

// ---- start-up refusals ----------------------------------------------------------------

/// Writes a complete config (free loopback ports, data in `dir`) ending in `pipeline`
/// to `dir/conf/spangate.yaml`, runs spangate from another directory, and returns how
/// it exited.
fn start_with_pipeline(dir: &Path, pipeline: &str) -> StartupFailure {
    let conf_dir = dir.join("conf");
    std::fs::create_dir_all(&conf_dir).expect("create conf dir");
    let config = conf_dir.join("spangate.yaml");
    let yaml = format!(
        r#"storage:
  data_dir: "{data}"
receivers:
  otlp_grpc: {{listen: "127.0.0.1:{grpc}"}}
  otlp_http: {{listen: "127.0.0.1:{http}"}}
query:
  listen: "127.0.0.1:{query}"
{pipeline}"#,
        data = dir.join("data").display(),
        grpc = free_port(),
        http = free_port(),
        query = free_port(),
    );
    std::fs::write(&config, yaml).expect("write config");
    let elsewhere = dir.join("cwd");
    std::fs::create_dir_all(&elsewhere).expect("create cwd");
    run_until_exit(&config, &elsewhere)
}

#[track_caller]
fn assert_refused(outcome: &StartupFailure, needles: &[&str]) {
    assert!(
        !outcome.status.success(),
        "spangate exited successfully: {outcome:?}"
    );
    for needle in needles {
        assert!(
            outcome.stderr.contains(needle),
            "stderr does not contain {needle:?}:\n{}",
            outcome.stderr
        );
    }
}

#[test]
fn a_plugin_refusing_its_config_stops_start_up_with_its_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A path relative to the config file (`conf/`), while spangate runs in `cwd/`.
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).expect("create plugins dir");
    std::fs::copy(fixture_wasm(MISBEHAVING), plugins.join("refuser.wasm")).expect("copy");
    let outcome = start_with_pipeline(
        dir.path(),
        "pipeline:\n  - plugin: ../plugins/refuser.wasm\n    config: {mode: refuse-init}\n",
    );
    assert_refused(
        &outcome,
        &[
            "pipeline[0]",
            "plugin `refuser` refused its config",
            "refusing to start: mode is refuse-init",
        ],
    );
}

#[test]
fn a_component_that_is_not_a_plugin_stops_start_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outcome = start_with_pipeline(
        dir.path(),
        &format!(
            "pipeline:\n  - plugin: builtin:span-metrics\n  - plugin: \"{}\"\n",
            wasm(NOT_A_PLUGIN)
        ),
    );
    assert_refused(
        &outcome,
        &[
            "pipeline[1]",
            "not a spangate plugin",
            "fixture:other/greeter@1.0.0",
        ],
    );
}

#[test]
fn a_missing_plugin_file_stops_start_up_naming_the_resolved_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outcome = start_with_pipeline(dir.path(), "pipeline:\n  - plugin: plugins/absent.wasm\n");
    let resolved: PathBuf = dir.path().join("conf").join("plugins/absent.wasm");
    assert_refused(
        &outcome,
        &[
            "pipeline[0]",
            "cannot read plugin file",
            &resolved.display().to_string(),
        ],
    );
}

#[test]
fn a_metrics_plugin_after_a_sampler_is_refused_at_start_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outcome = start_with_pipeline(
        dir.path(),
        &format!(
            "pipeline:\n  - plugin: \"{}\"\n    name: head\n  - plugin: \"{}\"\n    name: counts\n",
            wasm(SAMPLER),
            wasm(METRICS)
        ),
    );
    assert_refused(
        &outcome,
        &[
            "pipeline[1]",
            "metrics plugin `counts` comes after sampler `head`",
            "move it before every sampler",
        ],
    );
}

// ---- reload ---------------------------------------------------------------------------

/// Pipeline A: the fixture appends "!" to names. Pipeline B: redaction masks `secret`.
fn pipeline_a() -> String {
    format!(
        "pipeline:\n  - plugin: \"{}\"\n    name: bang\n    config: {{mode: ok}}\n",
        wasm(MISBEHAVING)
    )
}

fn pipeline_b() -> String {
    "pipeline:\n  - plugin: builtin:redaction\n    config: {blocked_keys: [secret]}\n".to_owned()
}

const SECRET: &str = "s3cr3t-value";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// Names end in "!", `secret` as sent.
    Bang,
    /// Names as sent, `secret` masked.
    Redacted,
}

fn secret_of(span: &Span) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == "secret")
        .and_then(|kv| kv.value.as_ref())
        .and_then(|value| match &value.value {
            Some(any_value::Value::StringValue(text)) => Some(text.clone()),
            _ => None,
        })
}

/// The effect every span of a stored batch shows; `Err` when the spans disagree or
/// show neither (a half-processed or unprocessed batch).
fn effect_of(spans: &[Span]) -> Result<Effect, String> {
    let effects: Vec<Option<Effect>> = spans
        .iter()
        .map(|span| {
            let banged = span.name.ends_with('!');
            let secret = secret_of(span);
            match (banged, secret.as_deref()) {
                (true, Some(SECRET)) => Some(Effect::Bang),
                (false, Some(value)) if value != SECRET && !value.contains("s3cr3t") => {
                    Some(Effect::Redacted)
                }
                _ => None,
            }
        })
        .collect();
    match effects.first() {
        Some(Some(first)) if effects.iter().all(|e| *e == Some(*first)) => Ok(*first),
        _ => Err(format!(
            "spans do not all show one pipeline's effect: {:?}",
            spans
                .iter()
                .map(|s| (s.name.clone(), secret_of(s)))
                .collect::<Vec<_>>()
        )),
    }
}

fn secret_batch(index: usize, spans: usize) -> (Vec<u8>, ExportTraceServiceRequest) {
    let trace_id = ids::trace_id();
    let mut request = fixtures::simple_request(
        "reload",
        fixtures::chain_of_spans(&trace_id, spans, ids::now_nanos()),
    );
    for span in &mut request.resource_spans[0].scope_spans[0].spans {
        span.name = format!("batch-{index}-{}", span.name);
        span.attributes.push(fixtures::kv_str("secret", SECRET));
    }
    (trace_id, request)
}

/// One acknowledged batch of the sender thread.
struct Sent {
    trace_id: Vec<u8>,
    started: Instant,
    acked: Instant,
}

/// How far the sender may go; it waits when it gets there.
struct Budget {
    allowed: Mutex<usize>,
    changed: Condvar,
}

impl Budget {
    fn allow(&self, batches: usize) {
        *self.allowed.lock().unwrap() = batches;
        self.changed.notify_all();
    }

    /// Blocks until batch `index` may be sent (bounded: the main thread always raises
    /// the budget or fails).
    fn wait_for(&self, index: usize) -> bool {
        let mut allowed = self.allowed.lock().unwrap();
        for _ in 0..600 {
            if *allowed > index {
                return true;
            }
            allowed = self
                .changed
                .wait_timeout(allowed, Duration::from_millis(100))
                .unwrap()
                .0;
        }
        false
    }
}

#[test]
fn reloads_under_load_lose_no_span_and_switch_the_pipeline() {
    const BATCHES: usize = 80;
    const SPANS: usize = 50;
    const RELOADS: usize = 4;
    /// Batches released when a reload is signalled, then `AFTER` once it is logged;
    /// the rest at the end.
    const DURING: usize = 12;
    const AFTER: usize = 4;
    /// Between two batches of the sender: pacing (not synchronisation), so that the
    /// batches released at a reload span it instead of all landing before it starts.
    const PACE: Duration = Duration::from_millis(5);
    let mut gw = gateway(pipeline_a());
    // Warm-up (no load yet): the first load of the redaction component compiles it
    // (seconds in a debug build); from the artifact cache a reload takes about as
    // long as a few batches, so the batches released during a reload overlap it.
    gw.reload_with(pipeline_b());
    gw.wait_for_log("pipeline reloaded", 1);
    gw.reload_with(pipeline_a());
    gw.wait_for_log("pipeline reloaded", 2);
    let budget = Arc::new(Budget {
        allowed: Mutex::new(0),
        changed: Condvar::new(),
    });
    let acked = Arc::new(AtomicUsize::new(0));
    let sender = {
        let budget = budget.clone();
        let acked = acked.clone();
        let url = gw.grpc_url();
        std::thread::spawn(move || -> Result<Vec<Sent>, String> {
            let grpc = spangate_integration_tests::GrpcClient::connect(&url);
            let mut sent = Vec::with_capacity(BATCHES);
            for index in 0..BATCHES {
                if !budget.wait_for(index) {
                    return Err(format!("no budget for batch {index}"));
                }
                let (trace_id, request) = secret_batch(index, SPANS);
                let started = Instant::now();
                let response = grpc
                    .export(&request)
                    .map_err(|status| format!("batch {index} refused: {status:?}"))?;
                if response
                    .partial_success
                    .as_ref()
                    .is_some_and(|p| p.rejected_spans != 0)
                {
                    return Err(format!("batch {index}: {response:?}"));
                }
                sent.push(Sent {
                    trace_id,
                    started,
                    acked: Instant::now(),
                });
                acked.store(index + 1, Ordering::SeqCst);
                std::thread::sleep(PACE);
            }
            Ok(sent)
        })
    };
    let wait_acked = |count: usize| {
        for _ in 0..600 {
            if acked.load(Ordering::SeqCst) >= count {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the sender did not get {count} batches acknowledged");
    };

    // (pipeline effect, SIGHUP sent at, reload seen in the log at); phase 0 is the start.
    let mut phases: Vec<(Effect, Option<Instant>, Instant)> =
        vec![(Effect::Bang, None, Instant::now())];
    let mut allowed = 2 * AFTER;
    budget.allow(allowed);
    wait_acked(AFTER);
    for reload in 1..=RELOADS {
        let (effect, yaml) = if reload % 2 == 1 {
            (Effect::Redacted, pipeline_b())
        } else {
            (Effect::Bang, pipeline_a())
        };
        allowed += DURING;
        budget.allow(allowed);
        let signalled = Instant::now();
        gw.reload_with(yaml);
        gw.wait_for_log("pipeline reloaded", 2 + reload);
        phases.push((effect, Some(signalled), Instant::now()));
        allowed += AFTER;
        budget.allow(allowed);
        wait_acked(allowed);
    }
    assert!(allowed <= BATCHES);
    budget.allow(BATCHES);
    let sent = sender
        .join()
        .expect("sender thread panicked")
        .unwrap_or_else(|e| panic!("{e}\n{}", gw.logs()));
    assert_eq!(sent.len(), BATCHES);
    assert!(
        phases.len() == RELOADS + 1,
        "{} reloads happened",
        phases.len() - 1
    );

    // Every acknowledged span is stored, each batch wholly processed by one pipeline,
    // and by the one current when it was sent.
    let mut problems = Vec::new();
    let mut seen = [0usize; 2];
    let mut overlapping = 0;
    for (index, batch) in sent.iter().enumerate() {
        let spans = stored_spans(&gw, &batch.trace_id);
        if spans.len() != SPANS {
            problems.push(format!(
                "batch {index}: {} of {SPANS} spans stored",
                spans.len()
            ));
            continue;
        }
        let effect = match effect_of(&spans) {
            Ok(effect) => effect,
            Err(why) => {
                problems.push(format!("batch {index}: {why}"));
                continue;
            }
        };
        seen[effect as usize] += 1;
        if phases.iter().any(|(_, signalled, logged)| {
            signalled.is_some_and(|at| batch.acked > at && batch.started < *logged)
        }) {
            overlapping += 1;
        }
        // The phase whose reload was logged before this batch started and whose
        // successor's SIGHUP came after it was acknowledged: only that pipeline can
        // have processed it.
        for (phase, (expected, _, live_since)) in phases.iter().enumerate() {
            let next_signal = phases.get(phase + 1).and_then(|next| next.1);
            let within =
                batch.started >= *live_since && next_signal.is_none_or(|at| batch.acked < at);
            if within && effect != *expected {
                problems.push(format!(
                    "batch {index} was sent in phase {phase} but shows {effect:?}, not {expected:?}"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        gw.logs()
    );
    assert!(
        seen[Effect::Bang as usize] >= 2 * AFTER && seen[Effect::Redacted as usize] >= 2 * AFTER,
        "both pipelines must have processed batches: {seen:?}"
    );
    assert!(
        overlapping > 0,
        "no batch was in flight during a reload: the test showed nothing"
    );
    let samples = gw.metrics();
    assert_eq!(
        prom::sum(&samples, "spangate_spans_accepted_total", &[]),
        (BATCHES * SPANS) as f64
    );
    assert!(gw.is_running());
}

#[test]
fn a_failed_reload_keeps_the_running_pipeline_and_logs_why() {
    let mut gw = gateway(pipeline_a());
    let (trace_id, request) = secret_batch(0, 3);
    gw.grpc().export_ok(&request);
    assert_eq!(effect_of(&stored_spans(&gw, &trace_id)), Ok(Effect::Bang));

    gw.reload_with(format!(
        "pipeline:\n  - plugin: \"{}\"\n    name: refuser\n    config: {{mode: refuse-init}}\n",
        wasm(MISBEHAVING)
    ));
    gw.wait_for_log("reload failed; the running pipeline stays", 1);
    let log = gw.stderr();
    assert!(
        log.contains("pipeline[0]") && log.contains("refusing to start: mode is refuse-init"),
        "the log should say which plugin refused and why\n{log}"
    );
    assert!(!log.contains("pipeline reloaded"), "{log}");
    assert!(gw.is_running());
    assert_ready(&gw);

    // Still the old pipeline.
    let (trace_id, request) = secret_batch(1, 3);
    gw.grpc().export_ok(&request);
    assert_eq!(effect_of(&stored_spans(&gw, &trace_id)), Ok(Effect::Bang));
    let samples = gw.metrics();
    assert_eq!(
        bang_calls(&samples),
        2.0,
        "the running plugin (and its counters) must be kept"
    );
    assert_eq!(reloads(&samples), (0.0, 1.0), "one failed reload counted");

    // A good reload afterwards still works.
    gw.reload_with(pipeline_b());
    gw.wait_for_log("pipeline reloaded", 1);
    let (trace_id, request) = secret_batch(2, 3);
    gw.grpc().export_ok(&request);
    assert_eq!(
        effect_of(&stored_spans(&gw, &trace_id)),
        Ok(Effect::Redacted)
    );
    assert_eq!(reloads(&gw.metrics()), (1.0, 1.0));
}

/// Calls of the plugin named `bang` (pipeline A).
fn bang_calls(samples: &[Sample]) -> f64 {
    prom::sum(
        samples,
        "spangate_plugin_calls_total",
        &[("plugin", "bang")],
    )
}

/// `spangate_config_reloads_total` as (success, failure).
fn reloads(samples: &[Sample]) -> (f64, f64) {
    let outcome = |outcome| {
        let found = prom::find(
            samples,
            "spangate_config_reloads_total",
            &[("outcome", outcome)],
        );
        assert_eq!(found.len(), 1, "one {outcome} series, present from 0");
        found[0].value
    };
    (outcome("success"), outcome("failure"))
}

/// A plugin that stays in the pipeline across a reload keeps its `/metrics` counters
/// (they continue, not restart from 0), and "plugin started" is logged once per start.
#[test]
fn plugin_counters_continue_across_a_reload_and_each_start_is_logged_once() {
    let mut gw = gateway(pipeline_a());
    gw.wait_for_log("plugin started", 1);
    for index in 0..3 {
        let (_, request) = secret_batch(index, 2);
        gw.grpc().export_ok(&request);
    }
    assert_eq!(bang_calls(&gw.metrics()), 3.0);
    assert_eq!(reloads(&gw.metrics()), (0.0, 0.0));

    gw.reload_with(pipeline_a());
    gw.wait_for_log("pipeline reloaded", 1);
    let (trace_id, request) = secret_batch(3, 2);
    gw.grpc().export_ok(&request);
    assert_eq!(effect_of(&stored_spans(&gw, &trace_id)), Ok(Effect::Bang));
    let samples = gw.metrics();
    assert_eq!(
        bang_calls(&samples),
        4.0,
        "the reloaded plugin continues its counters\n{}",
        gw.logs()
    );
    assert_eq!(
        prom::sum(
            &samples,
            "spangate_plugin_spans_total",
            &[("plugin", "bang")]
        ),
        8.0
    );
    assert_eq!(reloads(&samples), (1.0, 0.0));
    let log = gw.stderr();
    assert_eq!(
        log.matches("plugin started").count(),
        2,
        "one line at start and one at the reload\n{log}"
    );
    let started = log
        .lines()
        .find(|line| line.contains("plugin started"))
        .expect("a plugin started line");
    for field in [
        "plugin=bang",
        "kind=processor",
        "version=",
        "instances=",
        "needs=",
    ] {
        assert!(started.contains(field), "{field} missing from {started}");
    }
}
