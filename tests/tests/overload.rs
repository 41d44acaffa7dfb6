//! Overload through the binary: several gRPC and HTTP senders push large requests as
//! fast as they can into a gateway with a memory budget (`limits.memory`) and a small
//! block cache. The resident memory, sampled from outside, stays under the budget; every
//! refused request got a retryable answer (RESOURCE_EXHAUSTED with RetryInfo or
//! UNAVAILABLE, HTTP 503/429 with Retry-After); the memory limiter did refuse and relieve;
//! and every acknowledged span is readable afterwards, so acknowledged = stored.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use spangate_integration_tests::clients::GrpcClient;
use spangate_integration_tests::fixtures::{kv_str, simple_request, span, span_count};
use spangate_integration_tests::prom;
use spangate_integration_tests::{GatewayOptions, TestGateway, ids};
use tonic_types::StatusExt;

const BUDGET_MIB: u64 = 320;
const SPANS_PER_REQUEST: usize = 200;
/// Bytes of one attribute value: ~400 KiB per request.
const ATTRIBUTE_BYTES: usize = 2048;
const SENDERS: [&str; 6] = ["grpc", "grpc", "grpc", "http", "http", "http"];
/// The load runs at least this long and until the limiter refused and relieved, at most
/// `MAX_LOAD`.
const MIN_LOAD: Duration = Duration::from_secs(10);
const MAX_LOAD: Duration = Duration::from_secs(90);

fn big_request(trace: &[u8]) -> ExportTraceServiceRequest {
    let now = ids::now_nanos();
    let payload = "x".repeat(ATTRIBUTE_BYTES);
    let spans = (0..SPANS_PER_REQUEST)
        .map(|i| {
            let start = now + i as u64 * 1_000;
            let mut s = span(
                trace,
                &ids::span_id(),
                None,
                "load",
                SpanKind::Server,
                start,
                start + 500,
            );
            s.attributes.push(kv_str("payload", &payload));
            s
        })
        .collect();
    simple_request("overload", spans)
}

fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[derive(Default)]
struct Tally {
    acked: Vec<String>,
    refused: u64,
    not_retryable: Vec<String>,
}

/// One send: `Ok(true)` acknowledged, `Ok(false)` refused retryably, `Err` otherwise.
type Send = Box<dyn FnMut(&ExportTraceServiceRequest) -> Result<bool, String> + std::marker::Send>;

fn grpc_sender(url: String) -> Send {
    let client = GrpcClient::connect(&url);
    Box::new(move |request| match client.export(request) {
        Ok(_) => Ok(true),
        Err(status) => match status.code() {
            tonic::Code::ResourceExhausted if status.get_details_retry_info().is_some() => {
                Ok(false)
            }
            tonic::Code::Unavailable => Ok(false),
            _ => Err(format!("{status:?}")),
        },
    })
}

fn http_sender(url: String) -> Send {
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client");
    Box::new(move |request| {
        let response = client
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .body(request.encode_to_vec())
            .send()
            .map_err(|error| error.to_string())?;
        let status = response.status().as_u16();
        let retry_after = response.headers().contains_key("retry-after");
        match status {
            200 => Ok(true),
            429 | 503 if retry_after => Ok(false),
            _ => Err(format!("HTTP {status} (Retry-After: {retry_after})")),
        }
    })
}

#[test]
fn overload_refuses_retryably_stays_under_the_memory_budget_and_loses_nothing() {
    let gw = TestGateway::start_with(GatewayOptions {
        storage_extra: "block_cache_mib: 8",
        max_inflight_writes: 4,
        extra_yaml: format!(
            "limits:\n  memory: {BUDGET_MIB}MiB\n  memory_spike: 80MiB\n  check_interval: 20ms\n"
        ),
        ..GatewayOptions::default()
    });
    let pid = gw.pid();
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(resident) = resident_bytes(pid) {
                    peak.fetch_max(resident, Ordering::Relaxed);
                }
                sleep(Duration::from_millis(10));
            }
        })
    };
    let tallies: Vec<Arc<Mutex<Tally>>> = SENDERS.iter().map(|_| Arc::default()).collect();
    let senders: Vec<_> = SENDERS
        .iter()
        .zip(&tallies)
        .map(|(transport, tally)| {
            let mut send = match *transport {
                "grpc" => grpc_sender(gw.grpc_url()),
                _ => http_sender(gw.traces_url()),
            };
            let (stop, tally) = (stop.clone(), tally.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let trace = ids::trace_id();
                    let outcome = send(&big_request(&trace));
                    let mut tally = tally.lock().expect("tally");
                    match outcome {
                        Ok(true) => tally.acked.push(ids::hex_id(&trace)),
                        Ok(false) => tally.refused += 1,
                        Err(failure) => tally.not_retryable.push(failure),
                    }
                }
            })
        })
        .collect();

    let started = Instant::now();
    let memory_refusals = |gw: &TestGateway| {
        let samples = gw.metrics();
        (
            prom::sum(
                &samples,
                "spangate_requests_refused_total",
                &[("reason", "memory_limit")],
            ),
            prom::sum(&samples, "spangate_memory_reliefs_total", &[]),
        )
    };
    loop {
        sleep(Duration::from_millis(500));
        let (refused, reliefs) = memory_refusals(&gw);
        let elapsed = started.elapsed();
        if (elapsed >= MIN_LOAD && refused > 0.0 && reliefs > 0.0) || elapsed >= MAX_LOAD {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.join().expect("sender thread");
    }
    watcher.join().expect("memory watcher");

    let (refused, reliefs) = memory_refusals(&gw);
    assert!(
        refused > 0.0,
        "the memory limiter never refused: the test did not overload\n{}",
        gw.logs()
    );
    assert!(reliefs > 0.0, "the memory limiter never relieved memory");
    let peak = peak.load(Ordering::Relaxed);
    assert!(
        peak <= BUDGET_MIB * 1024 * 1024,
        "resident memory peaked at {} MiB, over the {BUDGET_MIB} MiB budget",
        peak / (1024 * 1024)
    );
    let mut acked = Vec::new();
    let mut refused_seen = 0;
    for tally in &tallies {
        let tally = tally.lock().expect("tally");
        assert!(
            tally.not_retryable.is_empty(),
            "not retryable: {:?}",
            tally.not_retryable
        );
        acked.extend(tally.acked.iter().cloned());
        refused_seen += tally.refused;
    }
    assert!(refused_seen > 0, "no sender saw a refusal");
    assert!(!acked.is_empty(), "nothing was acknowledged under overload");
    // Acknowledged = stored: every span of every acknowledged request is readable.
    for id in &acked {
        let trace = gw.trace_v1_json(id);
        assert_eq!(
            span_count(&trace.resource_spans),
            SPANS_PER_REQUEST,
            "trace {id}"
        );
    }
    eprintln!(
        "overload: {} requests acknowledged, {refused_seen} refused retryably, peak RSS {} MiB of {BUDGET_MIB}",
        acked.len(),
        peak / (1024 * 1024)
    );
}
