//! Failures the plugin author and the operator must see, through the real binary:
//! `spangate plugin run` exits non-zero with the reason a call failed (a trap and what
//! the plugin logged, its error, what was invalid in its answer), and
//! `spangate validate-config` loads every plugin of the pipeline and fails with the
//! plugin's message when one is missing or refuses its config; both refuse a plugin
//! built against another version of the contract, naming both versions.
//!
//! The `misbehaving` fixture misbehaves (per its `mode`) on a batch holding a span named
//! `boom`, and refuses to start in mode `refuse-init`; `panicking` (Rust SDK) panics on
//! a span named `panic`; `old-abi` is built against `spangate:plugin@0.1.0`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::json;
use spangate_integration_tests::cli::{describe, failed, path_arg, spangate, stdout};
use spangate_integration_tests::harness::spangate_binary;
use spangate_integration_tests::plugins::fixture_wasm;

const MISBEHAVING: &str = "spangate-fixture-misbehaving";
/// Written with the Rust SDK; panics on a batch holding a span named `panic`.
const PANICKING: &str = "spangate-fixture-panicking";
/// Built against `spangate:plugin@0.1.0`.
const OLD_ABI: &str = "spangate-fixture-old-abi";

/// An OTLP/JSON request with two spans, the second named `boom` (the trigger).
fn write_input(dir: &Path) -> PathBuf {
    write_input_named(dir, "boom")
}

/// An OTLP/JSON request with two spans, the second named `trigger`.
fn write_input_named(dir: &Path, trigger: &str) -> PathBuf {
    let span = |id: &str, name: &str| {
        json!({
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": id,
            "name": name,
            "startTimeUnixNano": "1764000000000000000",
            "endTimeUnixNano": "1764000000100000000",
        })
    };
    let request = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "cli"}}]},
        "scopeSpans": [{"spans": [span("eee19b7ec3c1b174", "fine"), span("eee19b7ec3c1b175", trigger)]}]
    }]});
    let path = dir.join("spans.json");
    std::fs::write(&path, serde_json::to_vec(&request).unwrap()).unwrap();
    path
}

fn run_misbehaving(mode: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    let wasm = fixture_wasm(MISBEHAVING);
    spangate(&[
        "plugin",
        "run",
        path_arg(&wasm),
        "--config",
        &format!("{{mode: {mode}, trigger: boom}}"),
        "--input",
        path_arg(&input),
    ])
}

#[test]
fn plugin_run_of_a_trapping_plugin_fails_with_the_trap() {
    let err = failed(
        &run_misbehaving("trap"),
        &["plugin `spangate_fixture_misbehaving`: process failed: trap: "],
    );
    // A Rust panic aborts with `unreachable`; the root cause is named, not only "trap".
    assert!(err.contains("unreachable"), "{err}");
    // A guest built with the SDK forwards its panic message (logged at error level just
    // before the trap); a raw wit-bindgen guest has nothing to forward.
    if err.contains("the plugin logged before it trapped") {
        assert!(err.contains("trap requested by the test"), "{err}");
    }
}

#[test]
fn plugin_run_of_a_panicking_sdk_plugin_shows_the_panic_message() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input_named(dir.path(), "panic");
    let wasm = fixture_wasm(PANICKING);
    failed(
        &spangate(&[
            "plugin",
            "run",
            path_arg(&wasm),
            "--input",
            path_arg(&input),
        ]),
        &[
            "plugin `spangate_fixture_panicking`: process failed: trap: ",
            "unreachable",
            "the plugin logged before it trapped: plugin panicked at ",
            "panicking/src/lib.rs:",
            ": span 1 asked to panic",
        ],
    );
}

#[test]
fn a_plugin_built_against_the_old_contract_is_refused_by_version() {
    const REFUSAL: &str = "the plugin targets spangate:plugin@0.1.0; this gateway speaks \
                           spangate:plugin@0.2.0: rebuild it against the 0.2.0 WIT (sdk/ or \
                           wit/plugin.wit)";
    let wasm = fixture_wasm(OLD_ABI);
    failed(&spangate(&["plugin", "check", path_arg(&wasm)]), &[REFUSAL]);
    failed(
        &validate(&format!("pipeline:\n  - plugin: \"{}\"\n", wasm.display())),
        &["pipeline[0]", REFUSAL],
    );
}

#[test]
fn plugin_run_of_a_failing_or_invalid_answer_names_it() {
    failed(
        &run_misbehaving("error"),
        &["process failed: error: error requested by the test"],
    );
    failed(
        &run_misbehaving("bad-edit"),
        &[
            "process failed: invalid: edit 0 (set-name): it addresses span 2, but the batch has 2 spans",
        ],
    );
    failed(
        &run_misbehaving("ragged-edits"),
        &[
            "process failed: invalid: malformed edits: the edit records are 25 bytes, not a multiple of 24",
        ],
    );
    failed(
        &run_misbehaving("unknown-op"),
        &["process failed: invalid: edit 0: unknown op 99"],
    );
    failed(
        &run_misbehaving("bad-string-ref"),
        &[
            "process failed: invalid: edit 0 (set-name): its value references bytes 0..64 of strings",
        ],
    );
    failed(
        &run_misbehaving("undeclared-edit"),
        &[
            "process failed: invalid: edit 0 (set-status-message)",
            "did not declare",
        ],
    );
}

#[test]
fn plugin_run_of_a_plugin_that_behaves_succeeds() {
    let out = run_misbehaving("ok");
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = stdout(&out);
    assert!(
        stdout.starts_with("# spangate_fixture_misbehaving (processor): 2 spans in, 0 dropped\n"),
        "{}",
        describe(&out)
    );
}

fn validate(pipeline: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spangate.yaml");
    std::fs::write(&path, format!("storage:\n  data_dir: ./data\n{pipeline}")).unwrap();
    let out = Command::new(spangate_binary())
        .arg("validate-config")
        .arg(&path)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run spangate validate-config");
    assert!(
        !dir.path().join("data").exists(),
        "validate-config created the data dir (or its plugin cache)"
    );
    out
}

#[test]
fn validate_config_fails_on_a_missing_plugin_file() {
    failed(
        &validate("pipeline:\n  - plugin: plugins/missing.wasm\n"),
        &["pipeline[0]", "cannot read plugin file", "missing.wasm"],
    );
}

#[test]
fn validate_config_fails_when_a_plugin_refuses_its_config() {
    // Redaction refuses `{}`: it would redact nothing.
    failed(
        &validate("pipeline:\n  - plugin: builtin:span-metrics\n  - plugin: builtin:redaction\n"),
        &["pipeline[1]", "refused its config", "redacts nothing"],
    );
    let wasm = fixture_wasm(MISBEHAVING);
    failed(
        &validate(&format!(
            "pipeline:\n  - plugin: \"{}\"\n    config: {{mode: refuse-init}}\n",
            wasm.display()
        )),
        &["pipeline[0]", "refusing to start: mode is refuse-init"],
    );
}

#[test]
fn validate_config_starts_every_plugin_of_a_good_pipeline() {
    let wasm = fixture_wasm(MISBEHAVING);
    let out = validate(&format!(
        "pipeline:\n  - plugin: builtin:span-metrics\n  - plugin: \"{}\"\n    config: {{mode: ok}}\n  - plugin: builtin:sampling\n    config: {{head: {{probability: 0.5}}}}\n",
        wasm.display()
    ));
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = stdout(&out);
    assert!(
        stdout.contains("config ok") && stdout.contains("(3 plugins loaded and initialised)"),
        "{}",
        describe(&out)
    );
}
