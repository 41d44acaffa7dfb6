//! `spangate plugin check` and `spangate plugin run`, the plugin author's tools, on the
//! built-in components and on files that are not plugins.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use spangate_integration_tests::cli::{failed, path_arg, spangate, succeeded};
use spangate_integration_tests::plugins::{builtin_wasm, fixture_wasm};
use spangate_integration_tests::prom;

/// The version every workspace crate (the built-ins too) carries.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The value of the report line `label:` (e.g. `kind`).
fn line<'a>(report: &'a str, label: &str) -> &'a str {
    let prefix = format!("{label}:");
    report
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `{label}:` line in:\n{report}"))
}

// ---- check ----------------------------------------------------------------------------

#[test]
fn check_names_the_kind_name_version_and_needs_of_each_builtin() {
    let redaction = builtin_wasm("redaction");
    let report = succeeded(&spangate(&[
        "plugin",
        "check",
        path_arg(&redaction),
        "--config",
        "{blocked_keys: [password], value_patterns: [{name: ids, regex: 'id-[0-9]+'}]}",
    ]));
    assert_eq!(line(&report, "file"), path_arg(&redaction));
    assert_eq!(
        line(&report, "kind"),
        "processor (world spangate:plugin/processor-plugin@0.2.0)"
    );
    assert_eq!(line(&report, "plugin"), format!("redaction {VERSION}"));
    // Value patterns read names and status messages; keys read every attribute kind.
    assert_eq!(
        line(&report, "reads"),
        "fields: name, status-message; span attributes: all; resource attributes: all; \
         event attributes: all; link attributes: all"
    );
    assert!(!report.contains("tail:"), "{report}");

    let sampling = builtin_wasm("sampling");
    let report = succeeded(&spangate(&["plugin", "check", path_arg(&sampling)]));
    assert_eq!(
        line(&report, "kind"),
        "sampler (world spangate:plugin/sampler-plugin@0.2.0)"
    );
    assert_eq!(line(&report, "plugin"), format!("sampling {VERSION}"));
    assert!(
        line(&report, "reads").starts_with("fields: trace-id; span attributes: none"),
        "{report}"
    );
    assert!(!report.contains("tail:"), "head sampling only: {report}");
    // With tail policies it reads more and reports its tail settings.
    let report = succeeded(&spangate(&[
        "plugin",
        "check",
        path_arg(&sampling),
        "--config",
        "{tail: {decision_wait: 3s, policies: [{name: slow, latency: {threshold: 100ms}}]}}",
    ]));
    assert!(
        line(&report, "reads").starts_with("fields: trace-id, times, status;"),
        "{report}"
    );
    assert!(
        line(&report, "tail").starts_with("decision_wait 3s,"),
        "{report}"
    );

    let span_metrics = builtin_wasm("span-metrics");
    let report = succeeded(&spangate(&["plugin", "check", path_arg(&span_metrics)]));
    assert_eq!(
        line(&report, "kind"),
        "metrics (world spangate:plugin/metrics-plugin@0.2.0)"
    );
    assert_eq!(line(&report, "plugin"), format!("span-metrics {VERSION}"));
    let reads = line(&report, "reads");
    for field in ["service-name", "name", "kind", "times", "status"] {
        assert!(reads.contains(field), "reads lacks {field}: {report}");
    }
    assert!(reads.contains("span attributes: keys ["), "{report}");
}

#[test]
fn check_of_a_plugin_that_refuses_the_default_config_shows_its_kind_and_asks_for_config() {
    let redaction = builtin_wasm("redaction");
    // No --config: init gets `{}`, which redaction refuses (it would redact nothing).
    let report = succeeded(&spangate(&["plugin", "check", path_arg(&redaction)]));
    let lines: Vec<&str> = report.lines().collect();
    let kind = lines
        .iter()
        .position(|l| l.starts_with("kind:"))
        .expect(&report);
    let init = lines
        .iter()
        .position(|l| l.starts_with("init:"))
        .expect(&report);
    assert!(kind < init, "the kind comes first:\n{report}");
    assert!(lines[kind].contains("processor"), "{report}");
    assert!(
        lines[init].contains("refused the default config `{}`")
            && lines[init].contains("redacts nothing"),
        "{report}"
    );
    assert!(
        report[report.find("init:").unwrap()..].contains("--config"),
        "{report}"
    );
    assert!(!report.contains("plugin:"), "{report}");

    // A --config the plugin refuses is an error naming the plugin's reason.
    failed(
        &spangate(&[
            "plugin",
            "check",
            path_arg(&redaction),
            "--config",
            "{action: mask}",
        ]),
        &["refused its configuration", "redacts nothing"],
    );
    // And so is a --config that is not YAML.
    failed(
        &spangate(&[
            "plugin",
            "check",
            path_arg(&redaction),
            "--config",
            "{blocked_keys: [",
        ]),
        &["--config", "not YAML or JSON"],
    );
}

#[test]
fn check_refuses_what_is_not_a_plugin_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let other_component = fixture_wasm("spangate-fixture-not-a-plugin");
    failed(
        &spangate(&["plugin", "check", path_arg(&other_component)]),
        &[
            "not a spangate plugin",
            "exports none of spangate:plugin/processor@0.2.0",
            "fixture:other/greeter@1.0.0",
        ],
    );

    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, "#!/bin/sh\necho hi\n").expect("write");
    failed(
        &spangate(&["plugin", "check", path_arg(&garbage)]),
        &["not a spangate plugin", "not a WebAssembly binary"],
    );

    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").expect("write");
    failed(
        &spangate(&["plugin", "check", path_arg(&core)]),
        &["core WebAssembly module, not a component", "wasm32-wasip2"],
    );

    let missing = dir.path().join("missing.wasm");
    let err = failed(
        &spangate(&["plugin", "check", path_arg(&missing)]),
        &[&format!("cannot read {}", missing.display())],
    );
    assert_eq!(
        err.matches("No such file").count(),
        1,
        "the cause once, not repeated: {err}"
    );
}

// ---- run ------------------------------------------------------------------------------

const TRACE_OK: &str = "5b8efff798038103d269b633813fc60c";
const TRACE_ERROR: &str = "0af7651916cd43dd8448eb211c80319c";

/// An OTLP/JSON request: service `checkout`, trace `TRACE_OK` with a server span
/// (400 ms, a `password` attribute) and a client span, and trace `TRACE_ERROR` with one
/// server span whose status is an error; service `cart` one more server span.
fn input_json() -> Value {
    let span = |trace: &str, id: &str, name: &str, kind: u8, millis: u64, extra: Value| {
        let mut span = json!({
            "traceId": trace,
            "spanId": id,
            "name": name,
            "kind": kind,
            "startTimeUnixNano": "1764000000000000000",
            "endTimeUnixNano": (1_764_000_000_000_000_000u64 + millis * 1_000_000).to_string(),
        });
        span.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        span
    };
    let resource = |service: &str, spans: Vec<Value>| {
        json!({
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
            "scopeSpans": [{"scope": {"name": "cli-test"}, "spans": spans}]
        })
    };
    json!({"resourceSpans": [
        resource("checkout", vec![
            span(TRACE_OK, "eee19b7ec3c1b174", "GET /users/1234", 2, 400, json!({
                "attributes": [
                    {"key": "password", "value": {"stringValue": "hunter2"}},
                    {"key": "user.note", "value": {"stringValue": "see id-4711 please"}},
                    {"key": "visible", "value": {"stringValue": "plain"}}
                ]
            })),
            span(TRACE_OK, "eee19b7ec3c1b175", "call db", 3, 100, json!({
                "parentSpanId": "eee19b7ec3c1b174"
            })),
            span(TRACE_ERROR, "00f067aa0ba902b7", "GET /users/1234", 2, 30, json!({
                "status": {"code": 2, "message": "boom"}
            })),
        ]),
        resource("cart", vec![
            span(TRACE_OK, "00f067aa0ba902b8", "GET /cart", 2, 20, json!({})),
        ]),
    ]})
}

fn write_input(dir: &Path) -> PathBuf {
    let path = dir.join("spans.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&input_json()).unwrap()).expect("write");
    path
}

/// `plugin run` output: the `#` summary lines and the rest.
fn split_output(out: &str) -> (Vec<&str>, &str) {
    let comments: Vec<&str> = out.lines().take_while(|l| l.starts_with('#')).collect();
    let body_start = comments.iter().map(|l| l.len() + 1).sum::<usize>();
    (comments, &out[body_start..])
}

fn spans_of(request: &Value) -> Vec<&Value> {
    request["resourceSpans"]
        .as_array()
        .expect("resourceSpans")
        .iter()
        .flat_map(|rs| rs["scopeSpans"].as_array().unwrap())
        .flat_map(|ss| ss["spans"].as_array().unwrap())
        .collect()
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|kv| kv["key"] == key)
        .map(|kv| &kv["value"])
}

#[test]
fn run_redaction_prints_the_redacted_spans_as_otlp_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = write_input(dir.path());
    let redaction = builtin_wasm("redaction");
    let config = dir.path().join("redaction.yaml");
    std::fs::write(
        &config,
        "blocked_keys: [password]\nvalue_patterns:\n  - {name: ids, regex: 'id-[0-9]+'}\naction: mask\n",
    )
    .expect("write");
    let out = succeeded(&spangate(&[
        "plugin",
        "run",
        path_arg(&redaction),
        "--config",
        path_arg(&config),
        "--input",
        path_arg(&input),
    ]));
    let (summary, body) = split_output(&out);
    assert_eq!(
        summary,
        ["# spangate_plugin_redaction (processor): 4 spans in, 0 dropped"],
        "{out}"
    );
    let result: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {out}"));
    let spans = spans_of(&result);
    assert_eq!(spans.len(), 4, "{out}");
    let first = spans[0];
    assert_eq!(first["traceId"], TRACE_OK, "ids stay hex: {out}");
    assert_eq!(attribute(first, "password").unwrap()["stringValue"], "***");
    let note = attribute(first, "user.note").unwrap()["stringValue"]
        .as_str()
        .unwrap();
    assert!(!note.contains("4711") && note.starts_with("see "), "{note}");
    assert_eq!(attribute(first, "visible").unwrap()["stringValue"], "plain");
    assert_eq!(
        attribute(first, "redaction.count").unwrap()["intValue"],
        "2"
    );
    assert!(!out.contains("hunter2"), "{out}");

    // The output is an OTLP/JSON request again: it runs through a plugin as input.
    let again = dir.path().join("again.json");
    std::fs::write(&again, body).expect("write");
    let out = succeeded(&spangate(&[
        "plugin",
        "run",
        path_arg(&redaction),
        "--config",
        "{blocked_keys: [visible]}",
        "--input",
        path_arg(&again),
    ]));
    let result: Value = serde_json::from_str(split_output(&out).1).expect("JSON");
    assert_eq!(
        attribute(spans_of(&result)[0], "visible").unwrap()["stringValue"],
        "***"
    );
}

#[test]
fn run_sampling_prints_the_kept_spans_and_tail_verdicts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = write_input(dir.path());
    let sampling = builtin_wasm("sampling");

    // Head sampling that keeps nothing.
    let out = succeeded(&spangate(&[
        "plugin",
        "run",
        path_arg(&sampling),
        "--config",
        "{head: {probability: 0}}",
        "--input",
        path_arg(&input),
    ]));
    let (summary, body) = split_output(&out);
    assert_eq!(
        summary,
        ["# spangate_plugin_sampling (sampler): 4 spans in, 4 dropped"],
        "{out}"
    );
    let result: Value = serde_json::from_str(body).expect("JSON");
    assert!(spans_of(&result).is_empty(), "{out}");

    // Tail sampling: head keeps every span; one verdict per trace, the error trace
    // kept by always-keep-errors, the other dropped by the only policy.
    let out = succeeded(&spangate(&[
        "plugin",
        "run",
        path_arg(&sampling),
        "--config",
        "{tail: {decision_wait: 1s, policies: [{name: nothing, probabilistic: {probability: 0}}]}}",
        "--input",
        path_arg(&input),
    ]));
    let (summary, body) = split_output(&out);
    assert_eq!(
        summary,
        [
            "# spangate_plugin_sampling (sampler): 4 spans in, 0 dropped",
            &format!("# tail {TRACE_OK}: drop"),
            &format!("# tail {TRACE_ERROR}: keep (policy always_keep_errors)"),
        ],
        "{out}"
    );
    let result: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(spans_of(&result).len(), 4, "{out}");
}

#[test]
fn run_span_metrics_prints_openmetrics_with_the_counts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = write_input(dir.path());
    let out = succeeded(&spangate(&[
        "plugin",
        "run",
        path_arg(&builtin_wasm("span-metrics")),
        "--input",
        path_arg(&input),
    ]));
    let (summary, body) = split_output(&out);
    assert_eq!(
        summary[0], "# spangate_plugin_span_metrics (metrics): 4 spans in, 0 dropped",
        "{out}"
    );
    assert!(body.ends_with("# EOF\n"), "not OpenMetrics: {out}");
    let samples = prom::parse(&out);
    let calls = |service: &str, name: &str, status: &str| {
        prom::sum(
            &samples,
            "traces_spanmetrics_calls_total",
            &[
                ("service", service),
                ("span_name", name),
                ("status_code", status),
            ],
        )
    };
    assert_eq!(
        calls("checkout", "GET /users/1234", "STATUS_CODE_UNSET"),
        1.0
    );
    assert_eq!(
        calls("checkout", "GET /users/1234", "STATUS_CODE_ERROR"),
        1.0
    );
    assert_eq!(calls("checkout", "call db", "STATUS_CODE_UNSET"), 1.0);
    assert_eq!(calls("cart", "GET /cart", "STATUS_CODE_UNSET"), 1.0);
    assert_eq!(
        prom::sum(&samples, "traces_spanmetrics_calls_total", &[]),
        4.0
    );
    assert_eq!(
        prom::sum(
            &samples,
            "traces_spanmetrics_latency_count",
            &[("service", "checkout")]
        ),
        3.0
    );
    // Exemplars carry the trace ids.
    let exemplar_traces: Vec<&str> = samples
        .iter()
        .filter(|s| s.name == "traces_spanmetrics_calls_total")
        .filter_map(|s| s.exemplar.as_ref())
        .map(|(labels, _)| labels["traceID"].as_str())
        .collect();
    assert!(exemplar_traces.contains(&TRACE_ERROR), "{out}");
}

#[test]
fn run_with_a_bad_input_file_names_the_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sampling = builtin_wasm("sampling");
    let run = |input: &Path| {
        spangate(&[
            "plugin",
            "run",
            path_arg(&sampling),
            "--input",
            path_arg(input),
        ])
    };
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    };

    let not_json = write("not-json.json", "this is not json");
    failed(
        &run(&not_json),
        &["--input", "not-json.json", "invalid OTLP JSON"],
    );

    let wrong_type = write("wrong-type.json", r#"{"resourceSpans": 3}"#);
    failed(
        &run(&wrong_type),
        &[
            "wrong-type.json",
            "at `resourceSpans`",
            "expected a sequence",
        ],
    );

    let bad_id = write(
        "bad-id.json",
        r#"{"resourceSpans": [{"scopeSpans": [{"spans": [
            {"traceId": "not-hex", "spanId": "eee19b7ec3c1b174", "name": "x"}]}]}]}"#,
    );
    failed(
        &run(&bad_id),
        &[
            "bad-id.json",
            "resourceSpans[0].scopeSpans[0].spans[0].traceId",
        ],
    );

    let missing = dir.path().join("missing.json");
    failed(
        &run(&missing),
        &[&format!("cannot read {}", missing.display())],
    );
}
