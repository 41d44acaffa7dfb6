//! The reference plugin (`examples/reference-plugin/README.md`) written in Rust, Python,
//! JavaScript and C:
//!
//! - the four components give byte-identical `spangate plugin run` output for the same
//!   configs over the same spans, and refuse the same bad configs naming the key;
//! - each one runs in a real gateway fed by the Rust OpenTelemetry SDK's OTLP exporter,
//!   and the stored traces are what the reference rules make of the recorded spans;
//! - each language's README commands run literally from a fresh directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use opentelemetry_sdk::trace::SdkTracerProvider;
use spangate_integration_tests::expect::ExpectedTrace;
use spangate_integration_tests::fixtures::kv_str;
use spangate_integration_tests::harness::spangate_binary;
use spangate_integration_tests::languages::{LANGUAGES, Language, reference_wasm};
use spangate_integration_tests::readme::{repo_root, run_literally, shell_block};
use spangate_integration_tests::{GatewayOptions, TestGateway, ids, sdk};

/// Configs run over `tests/fixtures/reference-plugin/spans.json`: every rule, then
/// every span slow (an end before the start counts as 0 ms), then the defaults.
const CONFIGS: [&str; 3] = [
    r#"{"mask_keys": ["user.email", "card"], "slow_ms": 1000, "drop_name": "GET /healthz"}"#,
    r#"{"slow_ms": 0, "mask_keys": []}"#,
    "{}",
];

/// Compiled components shared by every `plugin run` and gateway of this test process
/// and the next (a Python or JS component takes seconds to compile).
fn plugin_cache() -> PathBuf {
    let base = std::env::var_os("SPANGATE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    base.join("test-plugin-cache")
}

/// The language's component copied to `<dir>/reference.wasm`: `plugin run` names the
/// plugin after the file, and the outputs are compared whole.
fn staged(language: Language, dir: &Path) -> PathBuf {
    let staged = dir.join(language.name()).join("reference.wasm");
    std::fs::create_dir_all(staged.parent().expect("has a parent")).expect("create dir");
    std::fs::copy(reference_wasm(language), &staged).expect("copy component");
    staged
}

fn plugin_run(wasm: &Path, config: &str) -> Output {
    let input = repo_root().join("tests/fixtures/reference-plugin/spans.json");
    Command::new(spangate_binary())
        .arg("plugin")
        .arg("run")
        .arg(wasm)
        .args(["--config", config, "--input"])
        .arg(&input)
        .env("SPANGATE_PLUGIN_CACHE", plugin_cache())
        .stdin(Stdio::null())
        .output()
        .expect("run spangate plugin run")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Builds all components at once (the builds of different languages overlap).
fn build_all() {
    std::thread::scope(|scope| {
        for language in LANGUAGES {
            scope.spawn(move || reference_wasm(language));
        }
    });
}

#[test]
fn the_four_implementations_give_identical_output() {
    build_all();
    let dir = tempfile::tempdir().expect("temp dir");
    let components: Vec<(Language, PathBuf)> = LANGUAGES
        .iter()
        .map(|&language| (language, staged(language, dir.path())))
        .collect();
    for config in CONFIGS {
        let outputs: Vec<(Language, String)> = components
            .iter()
            .map(|(language, wasm)| {
                let out = plugin_run(wasm, config);
                assert!(
                    out.status.success(),
                    "{language:?}, config {config}: plugin run failed:\n{}\n{}",
                    text(&out.stdout),
                    text(&out.stderr)
                );
                (*language, text(&out.stdout))
            })
            .collect();
        let (_, reference) = &outputs[0];
        for (language, output) in &outputs[1..] {
            assert_eq!(
                output, reference,
                "{language:?} differs from Rust for config {config}"
            );
        }
    }
    // The outputs agree; they also do what the rules say (so agreeing on doing nothing
    // would fail): spot checks on the first config's Rust output.
    let out = text(&plugin_run(&components[0].1, CONFIGS[0]).stdout);
    for needle in [
        "# reference (processor): 7 spans in, 1 dropped",
        "<masked:15>",
        "<masked:18>",
        "<masked:19>",
        "<masked:11>",
        "<masked:0>",
        "checkout: POST /pay",
        "unknown: cron",
        "billing: ",
        "ref.duration_ms",
        "GET /healthz ",
        "resource@example.com",
        "event@example.com",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    assert!(!out.contains("dropped@example.com"), "{out}");
}

#[test]
fn every_implementation_refuses_a_bad_config_naming_the_key() {
    build_all();
    let dir = tempfile::tempdir().expect("temp dir");
    for language in LANGUAGES {
        let wasm = staged(language, dir.path());
        for (config, key) in [
            (r#"{"slow_ms": "fast"}"#, "slow_ms"),
            (r#"{"mask_key": ["card"]}"#, "mask_key"),
            (r#"{"mask_keys": ["card", 3]}"#, "mask_keys"),
        ] {
            let out = plugin_run(&wasm, config);
            let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert!(
                !out.status.success() && all.contains("refused its configuration"),
                "{language:?} accepted {config}:\n{all}"
            );
            assert!(
                all.contains(key),
                "{language:?}, {config}: key not named:\n{all}"
            );
        }
    }
}

/// What the reference rules make of the Rust SDK's recorded traces with
/// [`GATEWAY_CONFIG`]: `background job` dropped (its trace gone), the root's
/// `http.request.method` (`GET`) masked, the failed `SELECT orders` renamed after
/// its service and its `db.system.name` (`postgresql`) masked; nothing is slow.
fn after_reference(mut traces: Vec<ExpectedTrace>, service: &str) -> Vec<ExpectedTrace> {
    traces.retain(|trace| trace.spans.iter().all(|s| s.name != "background job"));
    for trace in &mut traces {
        for span in &mut trace.spans {
            for attribute in &mut span.attributes {
                if attribute.key == "http.request.method" {
                    *attribute = kv_str("http.request.method", "<masked:3>");
                }
                if attribute.key == "db.system.name" {
                    *attribute = kv_str("db.system.name", "<masked:10>");
                }
            }
            if span.status_code == 2 {
                span.name = format!("{service}: {}", span.name);
            }
        }
    }
    traces
}

const GATEWAY_CONFIG: &str = r#"{mask_keys: [http.request.method, db.system.name], slow_ms: 3600000, drop_name: "background job"}"#;

#[test]
fn each_implementation_edits_live_spans_in_the_gateway() {
    build_all();
    for language in LANGUAGES {
        let wasm = reference_wasm(language);
        let gw = TestGateway::start_with(GatewayOptions {
            extra_yaml: format!(
                "plugins:\n  cache_dir: {}\npipeline:\n  - plugin: {}\n    name: reference-{}\n    on_error: drop\n    config: {GATEWAY_CONFIG}\n",
                plugin_cache().display(),
                wasm.display(),
                language.name()
            ),
            ..GatewayOptions::default()
        });
        let service = format!("reference-{}", language.name());
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let exporter = sdk::tonic_exporter(&rt, &gw, None);
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(sdk::resource(&service))
            .build();
        let recorded = sdk::record_spans(&provider, &service);
        provider.force_flush().expect("force_flush");
        provider.shutdown().expect("shutdown");
        let dropped: Vec<String> = recorded
            .iter()
            .filter(|t| t.spans.iter().any(|s| s.name == "background job"))
            .map(|t| ids::hex_id(&t.trace_id))
            .collect();
        let expected = after_reference(recorded, &service);
        sdk::assert_traces_stored(&gw, &expected, &format!("{language:?} reference plugin"));
        for trace in dropped {
            // Tempo's v1 answers an unknown trace with 404 (v2 with an empty trace).
            let status = gw.get(&format!("/api/traces/{trace}")).status;
            assert_eq!(
                status, 404,
                "{language:?}: the dropped span's trace is stored"
            );
        }
    }
}

/// Each README's "From a fresh directory to the gateway" commands, verbatim.
#[test]
fn each_language_readme_runs_literally_from_a_fresh_directory() {
    for readme in [
        "examples/rust-plugin/README.md",
        "examples/python-plugin/README.md",
        "examples/js-plugin/README.md",
        "examples/c-plugin/README.md",
    ] {
        let script = shell_block(readme, "From a fresh directory to the gateway");
        let dir = tempfile::tempdir().expect("temp dir");
        let out = run_literally(&script, dir.path(), readme);
        let stdout = text(&out.stdout);
        // `plugin run`'s summary line: `# <file stem> (processor): N spans in, M dropped`.
        assert!(
            stdout.contains(" (processor): ") && stdout.contains(" spans in, "),
            "{readme}: the commands did not end with a plugin run:\n{stdout}"
        );
    }
}
