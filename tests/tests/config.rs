//! `spangate validate-config`: a good file passes; every kind of bad file fails with the
//! dotted key of the problem on stderr. A bad file also stops `spangate --config`.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::Duration;

use spangate_integration_tests::harness::spangate_binary;
use spangate_integration_tests::{GatewayOptions, TestGateway, fixtures, ids};

/// The documented example config.
const GOOD: &str = r#"storage:
  data_dir: ./data        # RocksDB directory
  fsync: never            # never | always
  compression: lz4        # lz4 | none
receivers:
  otlp_grpc: { enabled: true, listen: "127.0.0.1:4317", max_message_bytes: 4194304 }
  otlp_http: { enabled: true, listen: "127.0.0.1:4318", max_body_bytes: 4194304 }
ingest:
  max_inflight_writes: 64
  queue_timeout: 2s
query:
  listen: "127.0.0.1:3200"
log:
  level: info
  format: text
"#;

fn validate(yaml: &str) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("spangate.yaml");
    std::fs::write(&path, yaml).expect("write config");
    validate_file(&path, dir.path())
}

fn validate_file(path: &Path, cwd: &Path) -> Output {
    Command::new(spangate_binary())
        .arg("validate-config")
        .arg(path)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run spangate validate-config")
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn documented_example_is_valid() {
    let out = validate(GOOD);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("config ok"),
        "{}",
        describe(&out)
    );
}

#[test]
fn minimal_and_variant_configs_are_valid() {
    let cases = [
        "storage:\n  data_dir: ./somewhere\n",
        "storage:\n  fsync: always\n  compression: none\n",
        "receivers:\n  otlp_grpc:\n    enabled: false\n",
        "receivers:\n  otlp_http:\n    listen: \"0.0.0.0:14318\"\n",
        "ingest:\n  queue_timeout: 500ms\n",
        "log:\n  level: debug\n",
        "multitenancy: { enabled: true, multi_tenant_queries_enabled: false }\n\
         overrides:\n  defaults: { max_bytes_per_trace: 5MiB, max_live_traces: 0 }\n  \
         tenants:\n    team-a: { ingestion_rate_spans: 100, retention: 720h }\n",
        "overrides:\n  tenants:\n    single-tenant: { ingestion_rate_spans: 100 }\n",
    ];
    for yaml in cases {
        let out = validate(yaml);
        assert!(out.status.success(), "config:\n{yaml}\n{}", describe(&out));
    }
}

/// `(yaml, what must appear on stderr)`.
const BAD: &[(&str, &[&str])] = &[
    ("bogus: 1\n", &["bogus"]),
    ("storage:\n  data_dri: ./data\n", &["storage", "data_dri"]),
    (
        "receivers:\n  otlp_http:\n    bogus: 1\n",
        &["receivers.otlp_http", "bogus"],
    ),
    (
        "receivers:\n  otlp_grpc:\n    listen: \"127.0.0.1:4317\"\n    max_msg: 5\n",
        &["receivers.otlp_grpc", "max_msg"],
    ),
    ("storage:\n  fsync: sometimes\n", &["storage.fsync"]),
    ("storage:\n  compression: zstd\n", &["storage.compression"]),
    (
        "receivers:\n  otlp_http:\n    listen: \"not-an-address\"\n",
        &["receivers.otlp_http.listen"],
    ),
    (
        "receivers:\n  otlp_grpc:\n    listen: \"127.0.0.1:99999\"\n",
        &["receivers.otlp_grpc.listen"],
    ),
    ("query:\n  listen: \"localhost\"\n", &["query.listen"]),
    (
        "receivers:\n  otlp_http:\n    max_body_bytes: lots\n",
        &["receivers.otlp_http.max_body_bytes"],
    ),
    (
        "receivers:\n  otlp_grpc:\n    enabled: maybe\n",
        &["receivers.otlp_grpc.enabled"],
    ),
    (
        "ingest:\n  max_inflight_writes: -1\n",
        &["ingest.max_inflight_writes"],
    ),
    (
        "ingest:\n  queue_timeout: soon\n",
        &["ingest.queue_timeout"],
    ),
    (
        "multitenancy:\n  enabled: yes-please\n",
        &["multitenancy.enabled"],
    ),
    (
        "multitenancy: { enabled: true }\noverrides:\n  tenants:\n    team-a: { ingestion_rate_spans: lots }\n",
        &["overrides.tenants.team-a.ingestion_rate_spans"],
    ),
    (
        "multitenancy: { enabled: true }\noverrides:\n  tenants:\n    team-a: { ingestion_burst_spans: 0, ingestion_rate_spans: 5 }\n",
        &["overrides.tenants.team-a.ingestion_burst_spans"],
    ),
    (
        "multitenancy: { enabled: true }\noverrides:\n  tenants:\n    team-a: { retention: forever }\n",
        &["overrides.tenants.team-a.retention"],
    ),
    (
        "multitenancy: { enabled: true }\noverrides:\n  tenants:\n    'team a': {}\n",
        &["overrides.tenants.team a", "unsupported character"],
    ),
    (
        "overrides:\n  tenants:\n    team-a: { max_live_traces: 5 }\n",
        &["overrides.tenants.team-a", "multitenancy is off"],
    ),
    (
        "multitenancy: { enabled: true }\noverrides:\n  tenants:\n    team-a:\n      pipeline:\n        - plugin: builtin:nope\n",
        &["overrides.tenants.team-a.pipeline[0].plugin"],
    ),
    (
        "multitenancy: { enabled: true }\noverrides:\n  tenants:\n    team-a:\n      pipeline:\n        - plugin: plugins/missing.wasm\n",
        &["overrides.tenants.team-a.pipeline", "missing.wasm"],
    ),
];

#[test]
fn bad_configs_are_rejected_naming_the_key() {
    let mut failures = Vec::new();
    for (yaml, needles) in BAD {
        let out = validate(yaml);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            failures.push(format!("accepted a bad config:\n{yaml}{}", describe(&out)));
        } else if let Some(missing) = needles.iter().find(|n| !stderr.contains(**n)) {
            failures.push(format!(
                "stderr does not name {missing:?} for:\n{yaml}{}",
                describe(&out)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn malformed_yaml_and_missing_file_are_rejected() {
    let out = validate("storage: [unclosed\n");
    assert!(
        !out.status.success(),
        "malformed YAML accepted: {}",
        describe(&out)
    );
    assert!(
        !out.stderr.is_empty(),
        "no error message: {}",
        describe(&out)
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("does-not-exist.yaml");
    let out = validate_file(&missing, dir.path());
    assert!(
        !out.status.success(),
        "missing file accepted: {}",
        describe(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does-not-exist.yaml"),
        "the error should name the file: {}",
        describe(&out)
    );
}

#[test]
fn running_with_a_bad_config_exits_non_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "receivers:\n  otlp_http:\n    listen: \"nope\"\n")
        .expect("write config");
    let mut child = Command::new(spangate_binary())
        .arg("--config")
        .arg(&path)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn spangate");
    // Bounded: 200 × 50 ms.
    let mut status = None;
    for _ in 0..200 {
        if let Some(s) = child.try_wait().expect("try_wait") {
            status = Some(s);
            break;
        }
        sleep(Duration::from_millis(50));
    }
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("spangate kept running with an invalid config");
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read as _;
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(
        !status.success(),
        "spangate exited successfully with an invalid config"
    );
    assert!(
        stderr.contains("receivers.otlp_http.listen"),
        "stderr should name the key: {stderr}"
    );
}

#[test]
fn disabled_receivers_do_not_listen() {
    let gw = TestGateway::start_with(GatewayOptions {
        grpc_enabled: false,
        ..Default::default()
    });
    let grpc = SocketAddr::from(([127, 0, 0, 1], gw.ports().grpc));
    assert!(
        TcpStream::connect_timeout(&grpc, Duration::from_secs(2)).is_err(),
        "otlp_grpc is disabled but {grpc} accepts connections"
    );
    // The HTTP receiver and the query API still work.
    let trace_id = ids::trace_id();
    let req = fixtures::simple_request(
        "grpc-off",
        fixtures::chain_of_spans(&trace_id, 2, ids::now_nanos()),
    );
    gw.export_http_ok(&req);
    gw.assert_trace(&ids::hex_id(&trace_id), &req.resource_spans);
    drop(gw);

    let gw = TestGateway::start_with(GatewayOptions {
        http_enabled: false,
        ..Default::default()
    });
    let http = SocketAddr::from(([127, 0, 0, 1], gw.ports().http));
    assert!(
        TcpStream::connect_timeout(&http, Duration::from_secs(2)).is_err(),
        "otlp_http is disabled but {http} accepts connections"
    );
    let trace_id = ids::trace_id();
    let req = fixtures::simple_request(
        "http-off",
        fixtures::chain_of_spans(&trace_id, 2, ids::now_nanos()),
    );
    gw.grpc().export_ok(&req);
    gw.assert_trace(&ids::hex_id(&trace_id), &req.resource_spans);
}
