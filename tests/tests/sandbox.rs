//! A plugin cannot reach outside its sandbox, shown through the binary: the misbehaving
//! fixture (mode `probe`) tries to read a file the gateway can read and to create one
//! beside it, to connect to a port that is listening, resolve a name and bind a UDP
//! socket, to read the environment, arguments and working directory, and to print; each
//! attempt is refused, and the gateway goes on processing. (Endless loops over the clocks
//! and a `memory.grow` past the cap are in `pipeline_faults.rs`.)

use std::net::TcpListener;

use spangate_integration_tests::fixtures::named_spans_request;
use spangate_integration_tests::plugins::fixture_wasm;
use spangate_integration_tests::{GatewayOptions, TestGateway, ids};

#[test]
fn file_socket_environment_and_output_are_out_of_reach() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "the gateway can read this").unwrap();
    // A port that accepts connections: a refusal is the sandbox's, not a closed port's.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    let gw = TestGateway::start_with(GatewayOptions {
        extra_yaml: format!(
            "pipeline:\n  - plugin: \"{}\"\n    name: prober\n    \
             config: {{mode: probe, file: \"{}\", address: \"{address}\"}}\n",
            fixture_wasm("spangate-fixture-misbehaving").display(),
            secret.display(),
        ),
        ..GatewayOptions::default()
    });
    let probes = [
        "probe:file",
        "probe:socket",
        "probe:env",
        "probe:print",
        "plain",
    ];
    let (trace, request) = named_spans_request("sandbox", &probes);
    gw.grpc().export_ok(&request);

    let stored = gw.trace_v1_json(&ids::hex_id(&trace));
    let names: Vec<String> = stored
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| ss.spans.iter().map(|span| span.name.clone()))
        .collect();
    assert_eq!(names.len(), probes.len(), "{names:?}");
    for probe in [
        "env:denied",
        "file:denied",
        "socket:denied",
        "print:written",
        "plain!",
    ] {
        assert!(
            names.iter().any(|name| name.starts_with(probe)),
            "no span {probe}…: {names:?}"
        );
    }
    assert!(
        !names.iter().any(|name| name.contains("ESCAPED")),
        "{names:?}"
    );

    assert!(
        !dir.path().join("secret.txt.escaped").exists(),
        "the plugin created a file"
    );
    assert!(
        listener.accept().is_err(),
        "the plugin's connection reached the listener"
    );
    let logs = gw.logs();
    assert!(
        !logs.contains("sandbox-probe-stdout-marker")
            && !logs.contains("sandbox-probe-stderr-marker"),
        "the plugin's output reached the gateway's: {logs}"
    );
    let ready = gw.get("/ready");
    assert_eq!(ready.status, 200, "{}", ready.describe());
}
