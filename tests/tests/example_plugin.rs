//! The newcomer path of `examples/rust-plugin/README.md`: build the example
//! plugin for wasm32-wasip2, `plugin check` and `plugin run` it with the README's own
//! commands, run a gateway with the README's pipeline config, send the README's span and
//! read it back changed. The commands, config and span are taken from the README, so
//! the test fails when the README drifts from what works.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use spangate_integration_tests::clients::post_otlp;
use spangate_integration_tests::harness::{free_port, run_until_exit, spangate_binary};
use spangate_integration_tests::plugins::fixture_wasm;
use spangate_integration_tests::readme::{code_blocks, read, section};
use spangate_integration_tests::{GatewayOptions, TestGateway};

/// Where step 4 of the README says `cargo build --target wasm32-wasip2 --release`
/// leaves the component of a crate named `my-plugin`.
const BUILT: &str = "target/wasm32-wasip2/release/my_plugin.wasm";

fn readme() -> String {
    read("examples/rust-plugin/README.md")
}

/// The text between the first `'` after `marker` and the next `'` (a shell argument).
fn quoted_after<'a>(text: &'a str, marker: &str) -> &'a str {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("README lacks {marker:?}"));
    let open = at + text[at..].find('\'').expect("opening quote") + 1;
    let close = open + text[open..].find('\'').expect("closing quote");
    &text[open..close]
}

fn spangate(args: &[&str], cwd: &Path) -> String {
    let out = Command::new(spangate_binary())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run spangate");
    assert!(
        out.status.success(),
        "spangate {args:?} failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The spans of an OTLP/JSON request (or of `trace` in a v2 answer).
fn spans(request: &Value) -> Vec<&Value> {
    request["resourceSpans"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .flat_map(|rs| rs["scopeSpans"].as_array().into_iter().flatten())
                .flat_map(|ss| ss["spans"].as_array().into_iter().flatten())
                .collect()
        })
        .unwrap_or_default()
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|kv| kv["key"] == key)
        .map(|kv| &kv["value"])
}

#[test]
fn the_readme_path_from_build_to_a_changed_span_in_the_store() {
    let readme = readme();

    // Step 4: in this repository the example builds as the README says.
    let step4 = section(&readme, "4.");
    assert!(
        step4.contains("cargo build --target wasm32-wasip2 --release")
            && step4.contains(BUILT)
            && step4.contains(
                "cargo build --target wasm32-wasip2 --profile wasm -p spangate-example-plugin"
            ),
        "step 4 changed; update this test:\n{step4}"
    );
    // The same build (`fixture_wasm` runs exactly that cargo command).
    let component = fixture_wasm("spangate-example-plugin");
    let bytes = std::fs::read(&component).expect("read the component");
    assert_eq!(&bytes[..8], b"\0asm\x0d\x00\x01\x00", "not a component");

    // The newcomer's crate directory, with the component where step 4 leaves it.
    let crate_dir = tempfile::tempdir().expect("temp dir");
    let built = crate_dir.path().join(BUILT);
    std::fs::create_dir_all(built.parent().unwrap()).expect("create target dir");
    std::fs::copy(&component, &built).expect("copy the component");

    // Step 6's span, as step 5's `spans.json`.
    let step6 = section(&readme, "6.");
    let span_json = quoted_after(step6, "-d ");
    let request: Value = serde_json::from_str(span_json)
        .unwrap_or_else(|e| panic!("the README's curl body is not JSON ({e}):\n{span_json}"));
    let trace_id = spans(&request)[0]["traceId"]
        .as_str()
        .expect("traceId")
        .to_owned();
    std::fs::write(crate_dir.path().join("spans.json"), span_json).expect("write spans.json");

    // Step 5: `plugin check` and `plugin run`, with the README's arguments.
    let step5 = section(&readme, "5.");
    let check_config = quoted_after(step5, &format!("spangate plugin check {BUILT} --config"));
    let report = spangate(
        &["plugin", "check", BUILT, "--config", check_config],
        crate_dir.path(),
    );
    assert!(
        report.contains("kind:    processor") && report.contains("plugin:  tag-slow-requests "),
        "{report}"
    );
    assert!(
        report.contains("fields: name, times;") || report.contains("fields: times, name;"),
        "it reads names and times: {report}"
    );
    assert!(
        step5.contains(&format!("spangate plugin run {BUILT}")),
        "{step5}"
    );
    assert!(step5.contains("--input spans.json"), "{step5}");
    let run_config = quoted_after(step5, &format!("spangate plugin run {BUILT} \\"));
    let out = spangate(
        &[
            "plugin",
            "run",
            BUILT,
            "--config",
            run_config,
            "--input",
            "spans.json",
        ],
        crate_dir.path(),
    );
    let json_start = out.find('{').expect("JSON in the output");
    let result: Value = serde_json::from_str(&out[json_start..]).expect("the run prints JSON");
    let offline = spans(&result)[0];
    assert_eq!(offline["name"], "GET /users/{id}", "{out}");
    assert_eq!(
        attribute(offline, "slow"),
        Some(&serde_json::json!({"boolValue": true})),
        "{out}"
    );

    // Step 6: the README's pipeline, with the component at its relative path next to
    // the config file.
    let pipeline = code_blocks(step6)
        .into_iter()
        .find(|(info, _)| *info == "yaml")
        .expect("step 6 has a yaml block")
        .1;
    assert!(
        pipeline.contains(&format!("plugin: ./{BUILT}")),
        "{pipeline}"
    );
    let gw = TestGateway::start_with_files(
        GatewayOptions {
            extra_yaml: pipeline,
            ..GatewayOptions::default()
        },
        &[(BUILT, &component)],
    );
    // The README's curl: OTLP/JSON to /v1/traces.
    assert!(
        step6.contains(
            "curl -s http://127.0.0.1:4318/v1/traces -H 'Content-Type: application/json' -d '"
        ),
        "{step6}"
    );
    let response = post_otlp(
        &gw.traces_url(),
        span_json.as_bytes().to_vec(),
        Some("application/json"),
        None,
    );
    assert_eq!(response.status, 200, "{}", response.describe());
    // A span the plugin leaves alone: short, and no rename rule matches.
    let control = span_json
        .replace(&trace_id, "0af7651916cd43dd8448eb211c80319c")
        .replace("GET /users/1234", "GET /health")
        .replace("1764000000400000000", "1764000000010000000");
    let response = post_otlp(
        &gw.traces_url(),
        control.into_bytes(),
        Some("application/json"),
        None,
    );
    assert_eq!(response.status, 200, "{}", response.describe());

    // Read back as the README does: `GET /api/v2/traces/{id}`.
    assert!(
        step6.contains(&format!(
            "curl -s http://127.0.0.1:3200/api/v2/traces/{trace_id}"
        )),
        "{step6}"
    );
    let stored = gw
        .get(&format!("/api/v2/traces/{trace_id}"))
        .ok_json("the README's trace");
    let stored_spans = spans(&stored["trace"]);
    assert_eq!(stored_spans.len(), 1, "{stored}");
    assert_eq!(stored_spans[0]["name"], "GET /users/{id}", "{stored}");
    assert_eq!(
        attribute(stored_spans[0], "slow"),
        Some(&serde_json::json!({"boolValue": true})),
        "{stored}"
    );
    assert!(
        step6.contains("stored as `GET /users/{id}` with the attribute `slow: true`"),
        "the README's promise changed: {step6}"
    );

    let control = gw
        .get("/api/v2/traces/0af7651916cd43dd8448eb211c80319c")
        .ok_json("the control trace");
    let control_spans = spans(&control["trace"]);
    assert_eq!(control_spans.len(), 1, "{control}");
    assert_eq!(control_spans[0]["name"], "GET /health", "{control}");
    assert_eq!(attribute(control_spans[0], "slow"), None, "{control}");
}

#[test]
fn a_bad_plugin_config_stops_start_up_with_the_message_the_readme_shows() {
    let readme = readme();
    let step6 = section(&readme, "6.");
    let pipeline = code_blocks(step6)
        .into_iter()
        .find(|(info, _)| *info == "yaml")
        .expect("step 6 has a yaml block")
        .1;
    let rule = r#"{ prefix: "GET /users/", to: "GET /users/{id}" }"#;
    assert!(pipeline.contains(rule), "{pipeline}");
    let broken = pipeline.replace(rule, r#"{ prefix: "GET /users/" }"#);

    let dir = tempfile::tempdir().expect("temp dir");
    let built = dir.path().join(BUILT);
    std::fs::create_dir_all(built.parent().unwrap()).expect("create target dir");
    std::fs::copy(fixture_wasm("spangate-example-plugin"), &built).expect("copy");
    let config = dir.path().join("spangate.yaml");
    std::fs::write(
        &config,
        format!(
            "storage: {{data_dir: ./data}}\n\
             receivers:\n  otlp_grpc: {{listen: \"127.0.0.1:{}\"}}\n  \
             otlp_http: {{listen: \"127.0.0.1:{}\"}}\n\
             query: {{listen: \"127.0.0.1:{}\"}}\n{broken}",
            free_port(),
            free_port(),
            free_port()
        ),
    )
    .expect("write config");
    let outcome = run_until_exit(&config, dir.path());
    assert!(!outcome.status.success(), "{outcome:?}");
    let message = "invalid config at `pipeline[0]`: plugin `tag-slow-requests` refused its \
                   config: rename[0]: missing field `to`";
    assert!(outcome.stderr.contains(message), "{}", outcome.stderr);
    assert!(
        readme.contains(&format!("``{message} ``")),
        "the README shows another message than spangate prints: {message}"
    );
}
