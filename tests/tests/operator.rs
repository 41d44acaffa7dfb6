//! What an operator sees and does around the process: logs without ANSI escapes when
//! they go to a file (or coloured when asked), JSON logs, plainly printed addresses, the
//! start-up line with the URLs to open, a relative `storage.data_dir` resolved against
//! the config file wherever the gateway is started, and `make install`'s script.

use std::path::{Path, PathBuf};
use std::process::Command;

use spangate_integration_tests::harness::free_port;
use spangate_integration_tests::{GatewayOptions, TestGateway, fixtures, ids};

const ESC: char = '\u{1b}';

/// A gateway with the Jaeger gRPC and UDP receivers on, so every kind of listener logs
/// its address.
fn gateway_with(log_extra: &str) -> TestGateway {
    TestGateway::start_with(GatewayOptions {
        receivers_extra: format!(
            "  jaeger: {{ grpc: {{ listen: \"127.0.0.1:{}\" }}, thrift_compact: {{ listen: \"127.0.0.1:{}\" }} }}\n",
            free_port(),
            free_port()
        ),
        log_extra: log_extra.to_owned(),
        ..GatewayOptions::default()
    })
}

#[test]
fn logs_to_a_file_carry_no_colour_and_name_addresses_plainly_with_a_start_up_line() {
    let gw = gateway_with("");
    gw.wait_for_log("spangate ready", 1);
    gw.wait_for_log("jaeger udp receiver listening", 1);
    let log = gw.stderr();
    assert!(
        !log.contains(ESC),
        "stderr is a file, not a terminal: no ANSI escapes\n{log}"
    );
    assert!(
        !log.contains("Some("),
        "addresses are printed plainly\n{log}"
    );
    for receiver in [
        "otlp grpc receiver listening",
        "otlp http listening",
        "query listening",
        "jaeger grpc receiver listening",
        "jaeger udp receiver listening",
    ] {
        let line = log
            .lines()
            .find(|line| line.contains(receiver))
            .unwrap_or_else(|| panic!("no `{receiver}` line\n{log}"));
        assert!(
            line.contains("address=127.0.0.1:"),
            "`{receiver}` names its address plainly: {line}"
        );
    }
    let ports = gw.ports();
    let ready = log
        .lines()
        .find(|line| line.contains("spangate ready"))
        .expect("the start-up line");
    let query = format!("http://127.0.0.1:{}", ports.query);
    for expected in [
        format!("spangate ready: open {query}/ to see traces"),
        format!("otlp_grpc=http://127.0.0.1:{}", ports.grpc),
        format!("otlp_http=http://127.0.0.1:{}", ports.http),
        format!("trace_view={query}/"),
        format!("grafana_tempo_url={query}"),
        format!("metrics={query}/metrics"),
    ] {
        assert!(ready.contains(&expected), "{expected:?} missing: {ready}");
    }
    let opened = log
        .lines()
        .find(|line| line.contains("store opened"))
        .expect("the store line");
    let data_dir = std::fs::canonicalize(gw.data_dir()).unwrap();
    assert!(
        opened.contains(&format!("data_dir={}", data_dir.display())),
        "the absolute data directory: {opened}"
    );
}

#[test]
fn colour_can_be_forced_and_json_logs_are_plain_json_lines() {
    let coloured = gateway_with("color: always");
    coloured.wait_for_log("spangate ready", 1);
    assert!(
        coloured.stderr().contains(ESC),
        "log.color: always colours even a file"
    );

    let json = gateway_with("format: json\ncolor: always");
    json.wait_for_log("spangate ready", 1);
    let log = json.stderr();
    assert!(!log.contains(ESC), "JSON logs are never coloured\n{log}");
    let mut ready = None;
    for line in log.lines().filter(|line| !line.trim().is_empty()) {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"));
        if event["fields"]["message"]
            .as_str()
            .is_some_and(|message| message.starts_with("spangate ready"))
        {
            ready = Some(event);
        }
    }
    let ready = ready.expect("the start-up line as JSON");
    assert_eq!(
        ready["fields"]["grafana_tempo_url"],
        format!("http://127.0.0.1:{}", json.ports().query)
    );
}

/// A config file naming `data_dir: store` opens `<config dir>/store`, not
/// `<working dir>/store`: started from two other directories, the gateway finds the same
/// trace.
#[test]
fn a_relative_data_dir_is_relative_to_the_config_file_not_the_working_directory() {
    let elsewhere = tempfile::tempdir().unwrap();
    let mut gw = TestGateway::start_with(GatewayOptions {
        data_dir: Some(PathBuf::from("store")),
        cwd: Some(elsewhere.path().to_owned()),
        ..GatewayOptions::default()
    });
    let config_dir = gw.config_path().parent().unwrap().to_owned();
    let trace_id = ids::trace_id();
    let request = fixtures::simple_request(
        "relative",
        fixtures::chain_of_spans(&trace_id, 3, ids::now_nanos()),
    );
    gw.grpc().export_ok(&request);
    assert!(
        is_store(&config_dir.join("store")),
        "the store is beside the config file"
    );
    assert!(
        !elsewhere.path().join("store").exists(),
        "nothing is created in the working directory"
    );

    // Started again from yet another directory: the same store, the same trace.
    let another = tempfile::tempdir().unwrap();
    gw.set_cwd(another.path());
    gw.restart();
    let stored = gw.wait_for_spans(&ids::hex_id(&trace_id), 3);
    assert_eq!(fixtures::span_count(&stored), 3, "{}", gw.logs());
    assert!(!another.path().join("store").exists());
}

fn is_store(dir: &Path) -> bool {
    dir.join("CURRENT").is_file()
}

/// `make install` runs scripts/install.sh with the release build; the script is
/// exercised here with the binary under test, into a temporary prefix.
#[test]
fn the_install_script_puts_spangate_in_prefix_bin_and_says_when_it_is_not_on_path() {
    let prefix = tempfile::tempdir().unwrap();
    let script = spangate_integration_tests::harness::crate_dir().join("../scripts/install.sh");
    let run = |path: &str| {
        Command::new(&script)
            .arg(spangate_integration_tests::harness::spangate_binary())
            .arg(prefix.path())
            .env("PATH", path)
            .output()
            .expect("run scripts/install.sh")
    };
    let system_path = std::env::var("PATH").unwrap_or_default();
    let output = run(&system_path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let installed = prefix.path().join("bin/spangate");
    assert!(
        stdout.contains(&format!("as {}", installed.display())),
        "{stdout}"
    );
    assert!(stdout.contains("is not on PATH"), "{stdout}");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("spangate "));

    // With the prefix on PATH, `spangate` resolves there and no hint is printed.
    let with_prefix = format!("{}:{system_path}", prefix.path().join("bin").display());
    let output = run(&with_prefix);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(!stdout.contains("is not on PATH"), "{stdout}");
    let found = Command::new("sh")
        .args(["-c", "command -v spangate"])
        .env("PATH", &with_prefix)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&found.stdout).trim(),
        installed.display().to_string()
    );

    // Not a binary: refused with the fix.
    let output = Command::new(&script)
        .arg(prefix.path().join("missing"))
        .arg(prefix.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("make release"));
}
