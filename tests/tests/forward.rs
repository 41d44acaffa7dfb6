//! Forwarding through the real binary: gateway A exports over OTLP to gateways B after
//! its pipeline, from a durable queue. Every span A acknowledged reaches B whole, also
//! when B and then A are killed (SIGKILL) mid-load; a routing exporter keeps each trace
//! on one upstream; permanent refusals are dropped and counted; a full queue refuses
//! with a retryable status; with storage off the query API says so.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use spangate_integration_tests::fixtures::{self, NANOS_PER_SEC, kv_str};
use spangate_integration_tests::prom::sum;
use spangate_integration_tests::tempopb::TraceByIdResponse;
use spangate_integration_tests::{GatewayOptions, GrpcClient, TestGateway, ids};
use tonic::Code;

/// Fast retries, so a restarted upstream is found again within a second.
const RETRY: &str = "retry: { initial_interval: 100ms, max_interval: 1s }";

fn exporter(name: &str, protocol: &str, upstream: &TestGateway, extra: &str) -> String {
    let url = match protocol {
        "grpc" => upstream.grpc_url(),
        _ => upstream.http_url(),
    };
    format!(
        "  - name: {name}\n    protocol: {protocol}\n    endpoint: \"{url}\"\n    {RETRY}\n{extra}"
    )
}

fn forwarder(exporters: &str, storage: bool, more_yaml: &str) -> GatewayOptions {
    GatewayOptions {
        storage_extra: if storage { "" } else { "enabled: false" },
        extra_yaml: format!("exporters:\n{exporters}{more_yaml}"),
        ..GatewayOptions::default()
    }
}

/// One trace of `spans` spans of `service`, each span its own chain link.
fn trace_request(service: &str, trace_id: &[u8], spans: usize) -> ExportTraceServiceRequest {
    let start = ids::now_nanos() - 5 * NANOS_PER_SEC;
    fixtures::simple_request(service, fixtures::chain_of_spans(trace_id, spans, start))
}

/// Spans `index * len .. (index + 1) * len` of a `trace_request`, as a request of their own:
/// one trace sent in several requests.
fn piece(
    request: &ExportTraceServiceRequest,
    index: usize,
    len: usize,
) -> ExportTraceServiceRequest {
    let mut piece = request.clone();
    let spans = &mut piece.resource_spans[0].scope_spans[0].spans;
    *spans = spans[index * len..(index + 1) * len].to_vec();
    piece
}

/// Waits until every exporter queue of `gateway` is empty (bounded).
fn wait_until_sent(gateway: &TestGateway) {
    gateway.wait_for_metrics("every exporter queue empty", |samples| {
        sum(samples, "spangate_exporter_sent_batches_total", &[]) > 0.0
            && sum(samples, "spangate_exporter_queue_batches", &[]) == 0.0
    });
}

#[test]
fn spans_leave_after_the_pipeline_over_grpc_and_http_with_headers() {
    let plain = TestGateway::start();
    let tenanted = TestGateway::start_with(GatewayOptions {
        extra_yaml: "multitenancy: { enabled: true }\n".to_owned(),
        ..GatewayOptions::default()
    });
    let exporters = exporter("plain", "grpc", &plain, "")
        + &exporter(
            "tenanted",
            "http",
            &tenanted,
            "    compression: none\n    headers: { X-Scope-OrgID: team-a }\n",
        );
    let a = TestGateway::start_with(forwarder(
        &exporters,
        true,
        "pipeline:\n  - plugin: builtin:redaction\n    config: { blocked_keys: [secret] }\n",
    ));
    let trace_id = ids::trace_id();
    let mut request = trace_request("checkout", &trace_id, 3);
    request.resource_spans[0].scope_spans[0].spans[1]
        .attributes
        .push(kv_str("secret", "s3cr3t-value"));
    a.grpc().export_ok(&request);
    let hex = ids::hex_id(&trace_id);
    // What A stored (after redaction) is what each upstream receives.
    let stored = a.wait_for_spans(&hex, 3);
    plain.assert_trace(&hex, &stored);
    let got = tenanted
        .get_with(
            &format!("/api/traces/{hex}"),
            &[("X-Scope-OrgID", "team-a")],
        )
        .ok_json("trace from tenant team-a");
    assert!(!got.to_string().contains("s3cr3t-value"), "{got}");
    assert!(
        plain
            .get(&format!("/api/traces/{hex}"))
            .text()
            .contains("checkout")
    );
    assert!(
        !plain
            .get(&format!("/api/traces/{hex}"))
            .text()
            .contains("s3cr3t-value"),
        "the secret left the gateway"
    );
    wait_until_sent(&a);
}

#[test]
fn with_storage_off_spans_are_forwarded_and_the_query_api_says_so() {
    let b = TestGateway::start();
    let a = TestGateway::start_with(forwarder(&exporter("b", "grpc", &b, ""), false, ""));
    let trace_id = ids::trace_id();
    let request = trace_request("pure-gateway", &trace_id, 4);
    a.grpc().export_ok(&request);
    a.export_http_ok(&trace_request("pure-gateway-http", &ids::trace_id(), 2));
    let hex = ids::hex_id(&trace_id);
    b.assert_trace(&hex, &request.resource_spans);
    for path in [
        format!("/api/traces/{hex}"),
        "/api/search?q=%7B%7D".to_owned(),
        "/api/v2/search/tags".to_owned(),
    ] {
        let response = a.get(&path);
        assert_eq!(response.status, 501, "GET {path}: {}", response.describe());
        assert!(
            response.text().contains("storage is off"),
            "{}",
            response.describe()
        );
    }
    assert_eq!(a.get("/ready").status, 200);
    wait_until_sent(&a);
}

/// Acknowledged traces: (trace id, the request that carried them).
type Acked = Arc<Mutex<Vec<(Vec<u8>, ExportTraceServiceRequest)>>>;

/// Sends batches of fresh traces to `a` from a thread until `stop`; records the
/// acknowledged ones (trace id → spans).
fn send_until(
    a_grpc: String,
    stop: Arc<AtomicBool>,
    acked: Acked,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut refused = 0;
        let client = GrpcClient::connect_lazy(&a_grpc);
        for _ in 0..100_000 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let trace_id = ids::trace_id();
            let request = trace_request("load", &trace_id, 5);
            match client.export(&request) {
                Ok(_) => acked.lock().expect("acked list").push((trace_id, request)),
                Err(_) => {
                    refused += 1;
                    sleep(Duration::from_millis(50));
                }
            }
            sleep(Duration::from_millis(5));
        }
        refused
    })
}

#[test]
fn every_acknowledged_span_reaches_the_upstream_across_sigkills() {
    let mut b = TestGateway::start();
    let mut a = TestGateway::start_with(forwarder(&exporter("b", "grpc", &b, ""), false, ""));
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Acked = Arc::default();
    let sender = send_until(a.grpc_url(), stop.clone(), acked.clone());
    let acked_count = || acked.lock().unwrap().len();
    let wait_for_more = |n: usize| {
        for _ in 0..400 {
            if acked_count() >= n {
                return;
            }
            sleep(Duration::from_millis(25));
        }
        panic!(
            "the load did not make progress: {} acknowledged",
            acked_count()
        );
    };
    wait_for_more(30);
    // The upstream dies mid-load: A keeps acknowledging into its queue.
    b.kill();
    let during = acked_count();
    wait_for_more(during + 30);
    b.restart();
    wait_for_more(acked_count() + 30);
    // Then A itself dies with batches still queued or in flight.
    a.kill();
    sleep(Duration::from_millis(300));
    a.restart();
    wait_for_more(acked_count() + 30);
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    wait_until_sent(&a);
    let acked = acked.lock().unwrap();
    for (trace_id, request) in acked.iter() {
        // Each acknowledged span exactly once (B keeps one copy of a re-sent span).
        b.assert_trace(&ids::hex_id(trace_id), &request.resource_spans);
    }
    assert!(acked.len() >= 120, "{} acknowledged", acked.len());
}

#[test]
fn a_routing_exporter_keeps_each_trace_on_one_upstream() {
    let upstreams: Vec<TestGateway> = (0..3).map(|_| TestGateway::start()).collect();
    let endpoints = |list: &[&TestGateway]| {
        list.iter()
            .map(|g| format!("\"{}\"", g.grpc_url()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let routing = |list: &[&TestGateway]| {
        format!(
            "  - name: tier\n    protocol: grpc\n    routing: {{ endpoints: [{}] }}\n    {RETRY}\n",
            endpoints(list)
        )
    };
    let all: Vec<&TestGateway> = upstreams.iter().collect();
    let mut a = TestGateway::start_with(forwarder(&routing(&all), false, ""));
    // Each trace arrives in three requests, interleaved with other traces.
    let send_traces =
        |a: &TestGateway, count: usize| -> Vec<(Vec<u8>, ExportTraceServiceRequest)> {
            let traces: Vec<(Vec<u8>, ExportTraceServiceRequest)> = (0..count)
                .map(|_| {
                    let trace_id = ids::trace_id();
                    let request = trace_request("routed", &trace_id, 6);
                    (trace_id, request)
                })
                .collect();
            let client = a.grpc();
            for part in 0..3 {
                for (_, request) in &traces {
                    client.export_ok(&piece(request, part, 2));
                }
            }
            traces
        };
    let where_is = |upstreams: &[&TestGateway], trace_id: &[u8]| -> BTreeMap<usize, usize> {
        let hex = ids::hex_id(trace_id);
        let mut found = BTreeMap::new();
        for (index, upstream) in upstreams.iter().enumerate() {
            let response = upstream.get_with(
                &format!("/api/v2/traces/{hex}"),
                &[("Accept", "application/protobuf")],
            );
            let spans = TraceByIdResponse::decode(response.body.as_slice())
                .ok()
                .and_then(|r| r.trace)
                .map_or(0, |t| fixtures::span_count(&t.resource_spans));
            if spans > 0 {
                found.insert(index, spans);
            }
        }
        found
    };
    let first = send_traces(&a, 60);
    wait_until_sent(&a);
    let mut used = BTreeSet::new();
    for (trace_id, _) in &first {
        let found = where_is(&all, trace_id);
        assert_eq!(found.len(), 1, "trace split or missing: {found:?}");
        let (upstream, spans) = found.into_iter().next().unwrap();
        assert_eq!(spans, 6);
        used.insert(upstream);
    }
    assert_eq!(used.len(), 3, "60 traces should use all three upstreams");

    // The third upstream leaves the set (config change, restart of A): new traces go
    // to the other two, each whole.
    let two = &all[..2];
    a.restart_with(forwarder(&routing(two), false, "").extra_yaml);
    let second = send_traces(&a, 40);
    wait_until_sent(&a);
    for (trace_id, _) in &second {
        let found = where_is(two, trace_id);
        assert_eq!(found.len(), 1, "trace split or missing: {found:?}");
        assert_eq!(found.values().next(), Some(&6));
    }
}

#[test]
fn permanent_refusals_are_dropped_and_counted_and_a_full_queue_refuses_with_retry() {
    // B wants a tenant header A does not send: 401/UNAUTHENTICATED is permanent.
    let b = TestGateway::start_with(GatewayOptions {
        extra_yaml: "multitenancy: { enabled: true }\n".to_owned(),
        ..GatewayOptions::default()
    });
    let a = TestGateway::start_with(forwarder(&exporter("b", "grpc", &b, ""), true, ""));
    a.grpc()
        .export_ok(&trace_request("refused", &ids::trace_id(), 3));
    let samples = a.wait_for_metrics("the refused batch counted", |samples| {
        sum(samples, "spangate_exporter_failed_batches_total", &[]) >= 1.0
    });
    assert_eq!(
        sum(&samples, "spangate_exporter_failed_spans_total", &[]),
        3.0
    );
    assert_eq!(sum(&samples, "spangate_exporter_queue_batches", &[]), 0.0);
    assert!(
        a.logs().contains("refused a batch for good"),
        "{}",
        a.logs()
    );

    // An upstream that is down and a 1 MiB queue: A refuses once it is full, with
    // RESOURCE_EXHAUSTED + RetryInfo, and sends everything it took once B is up.
    let mut down = TestGateway::start();
    let upstream_port = down.ports().grpc;
    down.kill();
    let full = TestGateway::start_with(GatewayOptions {
        extra_yaml: format!(
            "exporters:\n  - name: b\n    protocol: grpc\n    endpoint: \"http://127.0.0.1:{upstream_port}\"\n    compression: none\n    queue: {{ max_bytes: 1MiB }}\n    {RETRY}\n"
        ),
        ..GatewayOptions::default()
    });
    let client = full.grpc();
    let mut accepted = Vec::new();
    let mut refusal = None;
    for _ in 0..200 {
        let trace_id = ids::trace_id();
        let request = fixtures::request_with_payload(&trace_id, 64 * 1024);
        match client.export(&request) {
            Ok(_) => accepted.push((trace_id, request)),
            Err(status) => {
                refusal = Some(status);
                break;
            }
        }
    }
    let status = refusal.expect("a 1 MiB queue fills within 200 requests of 64 KiB");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("send queue"), "{status:?}");
    assert!(
        tonic_types::StatusExt::get_details_retry_info(&status).is_some(),
        "a full queue must tell exporters to retry: {status:?}"
    );
    assert!(!accepted.is_empty());
    down.restart();
    wait_until_sent(&full);
    for (trace_id, request) in &accepted {
        down.assert_trace(&ids::hex_id(trace_id), &request.resource_spans);
    }
}

#[test]
fn a_tail_sampling_tier_forwards_kept_traces_once_decided_also_across_a_sigkill() {
    let b = TestGateway::start();
    let pipeline = "pipeline:\n  - plugin: builtin:sampling\n    config:\n      tail:\n        \
                    decision_wait: 1s\n        always_keep_errors: false\n        policies:\n          \
                    - { name: checkout, attribute: { key: service.name, values: [checkout], scope: resource } }\n";
    let mut a = TestGateway::start_with(forwarder(&exporter("b", "grpc", &b, ""), false, pipeline));
    let send = |a: &TestGateway, service: &str| -> (String, ExportTraceServiceRequest) {
        let trace_id = ids::trace_id();
        let request = trace_request(service, &trace_id, 4);
        // In two requests: the decision covers spans that arrived apart.
        let client = a.grpc();
        for half in 0..2 {
            client.export_ok(&piece(&request, half, 2));
        }
        (ids::hex_id(&trace_id), request)
    };
    let kept: Vec<_> = (0..5).map(|_| send(&a, "checkout")).collect();
    let dropped: Vec<_> = (0..5).map(|_| send(&a, "cart")).collect();
    // Killed before the decisions: the pending traces are recovered from A's store.
    a.kill();
    a.restart();
    let late_kept: Vec<_> = (0..3).map(|_| send(&a, "checkout")).collect();
    for (hex, request) in kept.iter().chain(&late_kept) {
        let spans = b.wait_for_spans(hex, 4);
        assert_eq!(fixtures::span_count(&spans), 4, "trace {hex}");
        let names: BTreeSet<String> = spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|s| s.name.clone())
            .collect();
        let sent: BTreeSet<String> = request.resource_spans[0].scope_spans[0]
            .spans
            .iter()
            .map(|s| s.name.clone())
            .collect();
        assert_eq!(names, sent);
    }
    wait_until_sent(&a);
    for (hex, _) in &dropped {
        let response = b.get(&format!("/api/traces/{hex}"));
        assert_eq!(response.status, 404, "a dropped trace was forwarded: {hex}");
    }
}

#[test]
fn a_down_upstream_is_given_up_on_then_taken_back_and_dns_names_are_resolved() {
    let b1 = TestGateway::start();
    let mut b2 = TestGateway::start();
    let b2_url = b2.grpc_url();
    b2.kill();
    // A second exporter finds its upstream by a DNS name (an address literal, which
    // resolves to itself here: a name with several loopback addresses is not available).
    let by_dns = TestGateway::start();
    let a = TestGateway::start_with(forwarder(
        &format!(
            "  - name: tier\n    protocol: grpc\n    routing: {{ endpoints: [\"{}\", \"{b2_url}\"], give_up_after: 2s }}\n    {RETRY}\n\
             \x20 - name: by-dns\n    protocol: grpc\n    routing: {{ dns: {{ hostname: 127.0.0.1, port: {}, interval: 1s }} }}\n    {RETRY}\n",
            b1.grpc_url(),
            by_dns.ports().grpc
        ),
        false,
        "",
    ));
    let traces: Vec<(String, ExportTraceServiceRequest)> = (0..20)
        .map(|_| {
            let trace_id = ids::trace_id();
            let request = trace_request("given-up", &trace_id, 3);
            a.grpc().export_ok(&request);
            (ids::hex_id(&trace_id), request)
        })
        .collect();
    // B2's share waited, then went to B1 once B2 was given up on.
    for (hex, request) in &traces {
        b1.assert_trace(hex, &request.resource_spans);
    }
    let samples = a.wait_for_metrics("B2 out of the ring", |samples| {
        sum(
            samples,
            "spangate_exporter_upstream_in_ring",
            &[("upstream", &b2_url)],
        ) == 0.0
    });
    assert!(sum(&samples, "spangate_exporter_rerouted_batches_total", &[]) >= 1.0);
    assert!(
        a.logs().contains("upstream failing for too long"),
        "{}",
        a.logs()
    );
    // Back up, B2 answers a probe and takes traces again.
    b2.restart();
    a.wait_for_metrics("B2 back in the ring", |samples| {
        sum(
            samples,
            "spangate_exporter_upstream_in_ring",
            &[("upstream", &b2_url)],
        ) == 1.0
    });
    let back: Vec<String> = (0..30)
        .map(|_| {
            let trace_id = ids::trace_id();
            a.grpc().export_ok(&trace_request("back", &trace_id, 2));
            ids::hex_id(&trace_id)
        })
        .collect();
    wait_until_sent(&a);
    let on_b2 = back
        .iter()
        .filter(|hex| b2.get(&format!("/api/traces/{hex}")).status == 200)
        .count();
    assert!(on_b2 > 0, "no trace went to B2 after it came back");
    // The DNS-routed exporter delivered everything to its upstream.
    for (hex, request) in &traces {
        by_dns.assert_trace(hex, &request.resource_spans);
    }
    let samples = a.metrics();
    assert_eq!(
        sum(
            &samples,
            "spangate_exporter_sent_spans_total",
            &[("exporter", "by-dns")]
        ),
        (20 * 3 + 30 * 2) as f64
    );
}

#[test]
fn an_upstream_asking_to_slow_down_gets_everything_later() {
    // B's rate limit answers RESOURCE_EXHAUSTED with RetryInfo: retried, never dropped.
    let b = TestGateway::start_with(GatewayOptions {
        extra_yaml:
            "overrides:\n  defaults: { ingestion_rate_spans: 40, ingestion_burst_spans: 40 }\n"
                .to_owned(),
        ..GatewayOptions::default()
    });
    let a = TestGateway::start_with(forwarder(&exporter("b", "http", &b, ""), false, ""));
    let traces: Vec<(String, ExportTraceServiceRequest)> = (0..30)
        .map(|_| {
            let trace_id = ids::trace_id();
            let request = trace_request("throttled", &trace_id, 5);
            a.grpc().export_ok(&request);
            (ids::hex_id(&trace_id), request)
        })
        .collect();
    for (hex, request) in &traces {
        b.assert_trace(hex, &request.resource_spans);
    }
    wait_until_sent(&a);
    let samples = a.metrics();
    assert!(sum(&samples, "spangate_exporter_retries_total", &[]) >= 1.0);
    assert_eq!(
        sum(&samples, "spangate_exporter_failed_batches_total", &[]),
        0.0
    );
}

#[test]
fn an_upstream_removed_mid_load_splits_no_trace_while_the_set_is_stable() {
    let mut upstreams: Vec<TestGateway> = (0..3).map(|_| TestGateway::start()).collect();
    let urls: Vec<String> = upstreams
        .iter()
        .map(|g| format!("\"{}\"", g.grpc_url()))
        .collect();
    let a = TestGateway::start_with(forwarder(
        &format!(
            "  - name: tier\n    protocol: grpc\n    routing: {{ endpoints: [{}], give_up_after: 1s }}\n    {RETRY}\n",
            urls.join(", ")
        ),
        false,
        "",
    ));
    // Each trace in two requests 20 ms apart; the time each trace's first request left.
    let stop = Arc::new(AtomicBool::new(false));
    let sent: Arc<Mutex<Vec<(std::time::Instant, String, ExportTraceServiceRequest)>>> =
        Arc::default();
    let sender = {
        let (stop, sent, url) = (stop.clone(), sent.clone(), a.grpc_url());
        std::thread::spawn(move || {
            let client = GrpcClient::connect_lazy(&url);
            for _ in 0..2_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let trace_id = ids::trace_id();
                let request = trace_request("mid-load", &trace_id, 4);
                let started = std::time::Instant::now();
                for half in 0..2 {
                    client
                        .export(&piece(&request, half, 2))
                        .expect("A acknowledges while an upstream is down");
                    sleep(Duration::from_millis(20));
                }
                sent.lock()
                    .expect("sent list")
                    .push((started, ids::hex_id(&trace_id), request));
            }
        })
    };
    sleep(Duration::from_millis(2_500));
    let killed_at = std::time::Instant::now();
    upstreams[2].kill();
    let third = upstreams[2].grpc_url();
    a.wait_for_metrics("the killed upstream out of the ring", |samples| {
        sum(
            samples,
            "spangate_exporter_upstream_in_ring",
            &[("upstream", &third)],
        ) == 0.0
    });
    let stable_from = std::time::Instant::now();
    sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    wait_until_sent(&a);
    // Read the third upstream's store too (it rejoins the ring when back; nothing is sent now).
    upstreams[2].restart();
    let sent = sent.lock().unwrap();
    let (mut before, mut after) = (0, 0);
    for (started, hex, request) in sent.iter() {
        let holders: Vec<usize> = (0..3)
            .filter(|&i| upstreams[i].get(&format!("/api/traces/{hex}")).status == 200)
            .collect();
        let stable = if *started >= stable_from {
            after += 1;
            true
        } else if *started + Duration::from_secs(1) < killed_at {
            // Long delivered (or queued whole) when the upstream died.
            before += 1;
            true
        } else {
            false
        };
        if stable {
            assert_eq!(
                holders.len(),
                1,
                "trace {hex} split or missing: {holders:?}"
            );
            upstreams[holders[0]].assert_trace(hex, &request.resource_spans);
        } else {
            // Across the change a trace may be split, never lost.
            let spans: usize = holders
                .iter()
                .map(|&i| fixtures::span_count(&upstreams[i].wait_for_spans(hex, 1)))
                .sum();
            assert!(
                spans >= 4,
                "trace {hex} lost spans across the change: {holders:?}"
            );
        }
        if *started >= stable_from {
            assert_ne!(holders, [2], "a trace went to the removed upstream");
        }
    }
    assert!(
        before >= 5 && after >= 5,
        "{before} traces before, {after} after"
    );
}
