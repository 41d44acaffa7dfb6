//! Graceful shutdown through the binary: SIGTERM under continuous load from gRPC and HTTP
//! clients answers what is in flight, refuses the rest with retryable errors, loses no
//! acknowledged span and exits 0; a request that never finishes cannot hold the process
//! past `server.graceful_shutdown_timeout`.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use spangate_integration_tests::clients::GrpcClient;
use spangate_integration_tests::fixtures::{named_spans_request, span_count};
use spangate_integration_tests::{GatewayOptions, TestGateway, ids};

const SPANS_PER_TRACE: usize = 5;
/// Acknowledged traces before SIGTERM, and the bounded wait for them.
const ACKED_BEFORE_STOP: usize = 60;
const LOAD_POLLS: u32 = 600;

/// A fresh trace of `SPANS_PER_TRACE` spans, with its id.
fn trace_request() -> (Vec<u8>, ExportTraceServiceRequest) {
    named_spans_request("shutdown-test", &["work"; SPANS_PER_TRACE])
}

/// What one sender saw: the traces acknowledged, and how its first failure looked.
#[derive(Default)]
struct Sent {
    acked: Vec<String>,
    failure: Option<String>,
}

fn send_until_failure(
    stop: &AtomicBool,
    out: &Mutex<Sent>,
    mut send: impl FnMut(&ExportTraceServiceRequest) -> Result<(), String>,
) {
    while !stop.load(Ordering::Relaxed) {
        let (trace, request) = trace_request();
        match send(&request) {
            Ok(()) => out
                .lock()
                .expect("sender results")
                .acked
                .push(ids::hex_id(&trace)),
            Err(failure) => {
                out.lock().expect("sender results").failure = Some(failure);
                return;
            }
        }
    }
}

#[test]
fn sigterm_under_load_answers_in_flight_requests_and_loses_no_acknowledged_span() {
    let mut gw = TestGateway::start_with(GatewayOptions {
        extra_yaml: "server:\n  graceful_shutdown_timeout: 20s\n".to_owned(),
        ..GatewayOptions::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    let mut results = Vec::new();
    for transport in ["grpc", "grpc", "http"] {
        let out = Arc::new(Mutex::new(Sent::default()));
        results.push((transport, out.clone()));
        let stop = stop.clone();
        let (grpc_url, traces_url) = (gw.grpc_url(), gw.traces_url());
        senders.push(std::thread::spawn(move || {
            if transport == "grpc" {
                let client = GrpcClient::connect(&grpc_url);
                send_until_failure(&stop, &out, |request| match client.export(request) {
                    Ok(_) => Ok(()),
                    // OTLP exporters retry UNAVAILABLE (and RESOURCE_EXHAUSTED with RetryInfo).
                    Err(status) if status.code() == tonic::Code::Unavailable => {
                        Err("retryable".to_owned())
                    }
                    Err(status) => Err(format!("not retryable: {status:?}")),
                });
            } else {
                let client = reqwest::blocking::Client::builder()
                    .no_proxy()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .expect("HTTP client");
                send_until_failure(&stop, &out, |request| {
                    let sent = client
                        .post(&traces_url)
                        .header("content-type", "application/x-protobuf")
                        .body(request.encode_to_vec())
                        .send();
                    match sent {
                        Ok(response) if response.status().is_success() => Ok(()),
                        Ok(response)
                            if [429, 502, 503, 504].contains(&response.status().as_u16()) =>
                        {
                            Err("retryable".to_owned())
                        }
                        Ok(response) => Err(format!("not retryable: HTTP {}", response.status())),
                        // Connection refused or closed before an answer: retried by exporters.
                        Err(error) if error.is_connect() || error.is_request() => {
                            Err("retryable".to_owned())
                        }
                        Err(error) => Err(format!("not retryable: {error}")),
                    }
                });
            }
        }));
    }
    let acked = || -> usize {
        results
            .iter()
            .map(|(_, r)| r.lock().unwrap().acked.len())
            .sum()
    };
    for _ in 0..LOAD_POLLS {
        if acked() >= ACKED_BEFORE_STOP {
            break;
        }
        sleep(Duration::from_millis(50));
    }
    assert!(
        acked() >= ACKED_BEFORE_STOP,
        "the load never got going\n{}",
        gw.logs()
    );

    let exit = gw.terminate();
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.join().expect("sender thread");
    }
    assert!(exit.success(), "{exit}\n{}", gw.logs());
    gw.wait_for_log("stopped; every acknowledged span is in the store", 1);

    let mut all = Vec::new();
    for (transport, result) in &results {
        let result = result.lock().unwrap();
        if let Some(failure) = &result.failure {
            assert_eq!(failure, "retryable", "{transport}\n{}", gw.logs());
        }
        all.extend(result.acked.iter().cloned());
    }
    gw.restart();
    for id in &all {
        let trace = gw.trace_v1_json(id);
        assert_eq!(
            span_count(&trace.resource_spans),
            SPANS_PER_TRACE,
            "acknowledged trace {id} is not whole after the shutdown"
        );
    }
}

#[test]
fn a_request_that_never_finishes_cannot_hold_the_shutdown_past_its_timeout() {
    let mut gw = TestGateway::start_with(GatewayOptions {
        extra_yaml: "server:\n  graceful_shutdown_timeout: 2s\n".to_owned(),
        ..GatewayOptions::default()
    });
    let (trace, request) = trace_request();
    gw.grpc().export_ok(&request);

    // A client that announces a body and never sends it: its request stays in flight.
    let address = gw.traces_url().replace("http://", "");
    let address = address.split('/').next().expect("host:port").to_owned();
    let mut stalled = TcpStream::connect(&address).expect("connect to the HTTP receiver");
    write!(
        stalled,
        "POST /v1/traces HTTP/1.1\r\nHost: {address}\r\ncontent-type: application/x-protobuf\r\n\
         content-length: 100000\r\n\r\n0123456789"
    )
    .expect("send the start of a request");
    stalled.flush().expect("flush");
    sleep(Duration::from_millis(300));

    let exit = gw.terminate();
    assert_eq!(exit.code(), Some(1), "{exit}\n{}", gw.logs());
    gw.wait_for_log(
        "shutdown did not finish within server.graceful_shutdown_timeout",
        1,
    );
    drop(stalled);

    // What was acknowledged before is kept.
    gw.restart();
    let stored = gw.trace_v1_json(&ids::hex_id(&trace));
    assert_eq!(span_count(&stored.resource_spans), SPANS_PER_TRACE);
}
