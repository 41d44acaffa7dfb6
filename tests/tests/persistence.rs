//! Persistence: data survives SIGKILL and a restart on the same data directory, and a
//! trace continued after the restart is merged with what was stored before.

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use spangate_integration_tests::fixtures::{self, NANOS_PER_SEC, av_int, kv, rich_request};
use spangate_integration_tests::otlp_json::JsonStyle;
use spangate_integration_tests::{GatewayOptions, TestGateway, clients, ids};

fn survives_kill_and_restart(options: GatewayOptions) {
    let mut gw = TestGateway::start_with(options);
    let rich = rich_request();
    gw.grpc().export_ok(&rich.request);
    // A second trace over OTLP/HTTP JSON, so both receivers' writes are covered.
    let trace_id = ids::trace_id();
    let start = ids::now_nanos() - 10 * NANOS_PER_SEC;
    let spans = fixtures::chain_of_spans(&trace_id, 4, start);
    let before = fixtures::request(vec![fixtures::resource_spans(
        fixtures::resource("before-restart", vec![]),
        fixtures::scope("persist", "1"),
        spans[..2].to_vec(),
    )]);
    let resp = gw.post_json(&before, JsonStyle::default(), false);
    clients::decode_http_export_response(&resp, true);
    let hex = ids::hex_id(&trace_id);
    gw.assert_trace(&hex, &before.resource_spans);

    gw.kill();
    gw.restart();
    assert_eq!(gw.starts(), 2);
    gw.assert_rich_stored(&rich);
    gw.assert_trace(&hex, &before.resource_spans);

    // Continue the trace after the restart, from another service, and re-send one span
    // that was stored before the restart: it must still be stored once.
    let after = fixtures::request(vec![fixtures::resource_spans(
        fixtures::resource("after-restart", vec![kv("generation", av_int(2))]),
        fixtures::scope("persist", "2"),
        spans[2..].to_vec(),
    )]);
    gw.grpc().export_ok(&after);
    gw.export_http_ok(&before);
    let merged: Vec<ResourceSpans> = before
        .resource_spans
        .iter()
        .chain(&after.resource_spans)
        .cloned()
        .collect();
    gw.assert_trace(&hex, &merged);

    // And the merged trace survives another kill.
    gw.kill();
    gw.restart();
    gw.assert_trace(&hex, &merged);
    gw.assert_trace(&rich.trace_hex(), &rich.expected(&rich.trace_id));
}

#[test]
fn data_survives_sigkill_with_fsync_never() {
    survives_kill_and_restart(GatewayOptions::default());
}

#[test]
fn data_survives_sigkill_with_fsync_always() {
    survives_kill_and_restart(GatewayOptions {
        fsync: "always",
        ..Default::default()
    });
}

#[test]
fn data_survives_sigkill_without_compression() {
    survives_kill_and_restart(GatewayOptions {
        compression: "none",
        ..Default::default()
    });
}

#[test]
fn many_traces_survive_a_restart() {
    let mut gw = TestGateway::start();
    let client = gw.grpc();
    let start = ids::now_nanos() - 60 * NANOS_PER_SEC;
    let mut sent = Vec::new();
    for i in 0..50 {
        let trace_id = ids::trace_id();
        let req = fixtures::simple_request(
            &format!("svc-{}", i % 5),
            fixtures::chain_of_spans(&trace_id, 1 + i % 4, start + i as u64),
        );
        client.export_ok(&req);
        sent.push((ids::hex_id(&trace_id), req.resource_spans));
    }
    drop(client);
    gw.kill();
    gw.restart();
    for (hex, expected) in &sent {
        gw.assert_trace(hex, expected);
    }
}
