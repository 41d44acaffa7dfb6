//! The exporters over TLS against an independent server (Python's grpcio and ssl,
//! `tests/clients/otlp-tls-python`) that requires a client certificate: with the
//! custom CA and a client certificate both OTLP/gRPC and OTLP/HTTP deliver, and the
//! tenant header is sent; without the client certificate the handshake fails and the
//! batches stay queued (retried, never dropped).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use spangate_integration_tests::certs;
use spangate_integration_tests::clients_env::{client_dir, client_python};
use spangate_integration_tests::fixtures::{self, NANOS_PER_SEC};
use spangate_integration_tests::harness::free_port;
use spangate_integration_tests::prom::sum;
use spangate_integration_tests::{GatewayOptions, TestGateway, ids};

struct TlsServer {
    child: Child,
    out: std::path::PathBuf,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TlsServer {
    fn start(dir: &Path, grpc_port: u16, http_port: u16) -> TlsServer {
        let out = dir.join("exports.jsonl");
        let path = |name: &str| dir.join(name).display().to_string();
        let child = Command::new(client_python("otlp-tls-python"))
            .arg(client_dir("otlp-tls-python").join("server.py"))
            .args(["--cert", &path("server.pem"), "--key", &path("server.key")])
            .args(["--ca", &path("ca.pem"), "--out", &out.display().to_string()])
            .args([
                "--grpc-port",
                &grpc_port.to_string(),
                "--http-port",
                &http_port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("server.log")).expect("server log"))
            .spawn()
            .expect("start the TLS server");
        TlsServer { child, out }
    }

    /// Spans received per transport, with the tenant header each export carried.
    fn received(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }

    fn spans(&self, transport: &str) -> u64 {
        self.received()
            .iter()
            .filter(|e| e["transport"] == transport)
            .map(|e| e["spans"].as_u64().expect("a span count"))
            .sum()
    }
}

#[test]
fn exporters_speak_tls_with_a_custom_ca_and_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    certs::authority_with_server_and_client(dir.path());
    let (grpc_port, http_port) = (free_port(), free_port());
    let server = TlsServer::start(dir.path(), grpc_port, http_port);
    let file = |name: &str| dir.path().join(name).display().to_string();
    let tls = format!(
        "tls: {{ ca_file: \"{}\", cert_file: \"{}\", key_file: \"{}\" }}",
        file("ca.pem"),
        file("client.pem"),
        file("client.key")
    );
    let retry = "retry: { initial_interval: 100ms, max_interval: 500ms }";
    let a = TestGateway::start_with(GatewayOptions {
        storage_extra: "enabled: false",
        extra_yaml: format!(
            "exporters:\n\
             \x20 - {{ name: grpc-tls, protocol: grpc, endpoint: \"https://127.0.0.1:{grpc_port}\", headers: {{ X-Scope-OrgID: team-a }}, {tls}, {retry} }}\n\
             \x20 - {{ name: http-tls, protocol: http, endpoint: \"https://127.0.0.1:{http_port}\", {tls}, {retry} }}\n\
             \x20 - {{ name: no-client-cert, protocol: grpc, endpoint: \"https://127.0.0.1:{grpc_port}\", tls: {{ ca_file: \"{}\" }}, {retry} }}\n",
            file("ca.pem")
        ),
        ..GatewayOptions::default()
    });
    let start = ids::now_nanos() - NANOS_PER_SEC;
    let request =
        fixtures::simple_request("tls", fixtures::chain_of_spans(&ids::trace_id(), 5, start));
    a.grpc().export_ok(&request);
    for _ in 0..600 {
        if server.spans("grpc") >= 5 && server.spans("http") >= 5 {
            break;
        }
        sleep(Duration::from_millis(50));
    }
    assert_eq!(server.spans("grpc"), 5, "{:?}", server.received());
    assert_eq!(server.spans("http"), 5, "{:?}", server.received());
    assert!(
        server
            .received()
            .iter()
            .any(|e| e["transport"] == "grpc" && e["org_id"] == "team-a"),
        "{:?}",
        server.received()
    );
    // Without a client certificate the server refuses the handshake: retried, kept.
    let samples = a.wait_for_metrics("the refused handshakes retried", |samples| {
        sum(
            samples,
            "spangate_exporter_retries_total",
            &[("exporter", "no-client-cert")],
        ) >= 2.0
    });
    assert_eq!(
        sum(
            &samples,
            "spangate_exporter_queue_batches",
            &[("exporter", "no-client-cert")]
        ),
        1.0
    );
    assert_eq!(
        sum(&samples, "spangate_exporter_failed_batches_total", &[]),
        0.0
    );
}
