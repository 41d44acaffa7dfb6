//! `metrics.remote_write` through the real binary: span-metrics' series pushed to a
//! loopback receiver that decodes them as Prometheus would (snappy block + protobuf,
//! messages declared here independently of the gateway's), with exact counts, the
//! configured headers and external labels, a retry after a 500, and a final push on
//! graceful shutdown.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::{Status as OtlpStatus, status::StatusCode as Otlp};
use prost::Message;
use spangate_integration_tests::fixtures::{simple_request, span};
use spangate_integration_tests::{GatewayOptions, TestGateway, ids, prom};

// --- prometheus/prompb (remote-write 1.0), the fields a receiver reads -------------------

#[derive(Clone, PartialEq, prost::Message)]
struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    exemplars: Vec<Exemplar>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Label {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Sample {
    #[prost(double, tag = "1")]
    value: f64,
    #[prost(int64, tag = "2")]
    timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<Label>,
    #[prost(double, tag = "2")]
    value: f64,
    #[prost(int64, tag = "3")]
    timestamp: i64,
}

impl TimeSeries {
    fn name(&self) -> &str {
        self.label("__name__").unwrap_or_default()
    }

    fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.value.as_str())
    }

    fn matches(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.name() == name && labels.iter().all(|(k, v)| self.label(k) == Some(*v))
    }
}

// --- the receiver ------------------------------------------------------------------------

/// One request the receiver got, and the status it answered.
#[derive(Clone, Debug)]
struct Push {
    headers: BTreeMap<String, String>,
    /// The compressed body as sent, to compare a retry with the original.
    body: Vec<u8>,
    request: WriteRequest,
    answered: u16,
}

impl Push {
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.request
            .timeseries
            .iter()
            .filter(|s| s.matches(name, labels))
            .map(|s| s.samples.iter().map(|x| x.value).sum::<f64>())
            .sum()
    }
}

/// A loopback remote-write endpoint on its own runtime, answering the statuses of its
/// script in turn and 200 after that. A body that is not a snappy block holding a
/// `WriteRequest` is answered 400 and recorded with an empty request.
struct Receiver {
    url: String,
    pushes: Arc<Mutex<Vec<Push>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    fn start(script: &[u16]) -> Receiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("receiver runtime");
        let pushes = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let recorded = pushes.clone();
        let handler = move |headers: HeaderMap, body: Bytes| {
            let recorded = recorded.clone();
            let script = script.clone();
            async move {
                let decoded = snap::raw::Decoder::new()
                    .decompress_vec(&body)
                    .ok()
                    .and_then(|raw| WriteRequest::decode(raw.as_slice()).ok());
                let answered = match &decoded {
                    Some(_) => script.lock().unwrap().pop_front().unwrap_or(200),
                    None => 400,
                };
                let headers = headers
                    .iter()
                    .map(|(name, value)| {
                        (
                            name.as_str().to_owned(),
                            value.to_str().unwrap_or("<binary>").to_owned(),
                        )
                    })
                    .collect();
                recorded.lock().unwrap().push(Push {
                    headers,
                    body: body.to_vec(),
                    request: decoded.unwrap_or_default(),
                    answered,
                });
                (StatusCode::from_u16(answered).unwrap(), "scripted answer")
            }
        };
        let app = axum::Router::new().route("/api/v1/write", axum::routing::post(handler));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind the receiver");
        let url = format!(
            "http://{}/api/v1/write",
            listener.local_addr().expect("receiver address")
        );
        runtime.spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url,
            pushes,
            _runtime: runtime,
        }
    }

    fn pushes(&self) -> Vec<Push> {
        self.pushes.lock().unwrap().clone()
    }

    /// Polls (at most ~30 s) until `done` holds for the pushes so far.
    fn wait_for(&self, what: &str, gw: &TestGateway, done: impl Fn(&[Push]) -> bool) -> Vec<Push> {
        for _ in 0..300 {
            let pushes = self.pushes();
            if done(&pushes) {
                return pushes;
            }
            sleep(Duration::from_millis(100));
        }
        panic!(
            "the receiver never saw {what}; it got {} requests\n{}",
            self.pushes().len(),
            gw.logs()
        );
    }
}

fn gateway(receiver: &Receiver, remote_write_extra: &str) -> TestGateway {
    TestGateway::start_with(GatewayOptions {
        extra_yaml: format!(
            "pipeline:\n  - plugin: builtin:span-metrics\n\
             metrics:\n  remote_write:\n    url: {}\n{remote_write_extra}",
            receiver.url
        ),
        ..GatewayOptions::default()
    })
}

/// Three SERVER spans of `cart` (one ERROR) in one trace; returns the trace id.
fn send_cart_spans(gw: &TestGateway) -> Vec<u8> {
    let now = ids::now_nanos();
    let trace_id = ids::trace_id();
    let spans = (0..3)
        .map(|index| {
            let mut server = span(
                &trace_id,
                &ids::span_id(),
                None,
                "GET /cart",
                SpanKind::Server,
                now,
                now + 40_000_000,
            );
            if index == 0 {
                server.status = Some(OtlpStatus {
                    code: Otlp::Error as i32,
                    message: String::new(),
                });
            }
            server
        })
        .collect();
    gw.grpc().export_ok(&simple_request("cart", spans));
    trace_id
}

const CALLS: &str = "traces_spanmetrics_calls_total";

#[test]
fn span_metrics_are_pushed_with_exact_counts_headers_and_external_labels() {
    let receiver = Receiver::start(&[]);
    let gw = gateway(
        &receiver,
        "    interval: 1s\n    headers: {X-Scope-OrgID: team-a}\n    \
         external_labels: {cluster: it}\n",
    );
    let trace_id = send_cart_spans(&gw);
    let before_ms = (ids::now_nanos() / 1_000_000) as i64;
    let pushes = receiver.wait_for("3 cart calls", &gw, |pushes| {
        pushes
            .iter()
            .any(|p| p.sum(CALLS, &[("service", "cart")]) == 3.0)
    });
    let push = pushes
        .iter()
        .find(|p| p.sum(CALLS, &[("service", "cart")]) == 3.0)
        .unwrap();

    // The protocol's headers and the configured one.
    assert_eq!(push.answered, 200);
    assert_eq!(push.headers["content-encoding"], "snappy");
    assert_eq!(push.headers["content-type"], "application/x-protobuf");
    assert_eq!(push.headers["x-prometheus-remote-write-version"], "0.1.0");
    assert_eq!(push.headers["x-scope-orgid"], "team-a");

    // Exact counts per status, with Tempo's label names.
    let calls = |status: &str| {
        push.sum(
            CALLS,
            &[
                ("service", "cart"),
                ("span_name", "GET /cart"),
                ("span_kind", "SPAN_KIND_SERVER"),
                ("status_code", status),
            ],
        )
    };
    assert_eq!(calls("STATUS_CODE_UNSET"), 2.0);
    assert_eq!(calls("STATUS_CODE_ERROR"), 1.0);
    let latency = &[("service", "cart"), ("span_name", "GET /cart")];
    assert_eq!(push.sum("traces_spanmetrics_latency_count", latency), 3.0);
    // 40 ms spans: the +Inf bucket holds all three, the 0.032 s bucket none.
    let bucket = "traces_spanmetrics_latency_bucket";
    let mut inf = latency.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(push.sum(bucket, &inf), 3.0);
    let mut small = latency.to_vec();
    small.push(("le", "0.032"));
    assert_eq!(push.sum(bucket, &small), 0.0);

    let trace_hex = ids::hex_id(&trace_id);
    let mut exemplars_on_calls = 0;
    for series in &push.request.timeseries {
        // Every series: sorted labels, a name, the external label, one sample in ms.
        let names: Vec<&str> = series.labels.iter().map(|l| l.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "labels not sorted or not unique: {series:?}");
        assert!(!series.name().is_empty(), "{series:?}");
        assert_eq!(series.label("cluster"), Some("it"), "{series:?}");
        assert!(
            !series.name().starts_with("spangate_remote_write"),
            "the gateway's own counters are not pushed: {series:?}"
        );
        assert_eq!(series.samples.len(), 1, "{series:?}");
        let timestamp = series.samples[0].timestamp;
        assert!(
            (before_ms - 60_000..before_ms + 60_000).contains(&timestamp),
            "timestamp {timestamp} is not in ms around {before_ms}"
        );
        // Exemplars only on counters and buckets of the `cart` series, pointing at our trace.
        for exemplar in &series.exemplars {
            if series.name() == CALLS {
                exemplars_on_calls += 1;
            }
            assert!(
                series.name() == CALLS
                    || series.name() == "traces_spanmetrics_size_total"
                    || series.name() == bucket,
                "exemplar on {series:?}"
            );
            let labels: Vec<(&str, &str)> = exemplar
                .labels
                .iter()
                .map(|l| (l.name.as_str(), l.value.as_str()))
                .collect();
            assert_eq!(labels, vec![("traceID", trace_hex.as_str())]);
            assert!((before_ms - 60_000..before_ms + 60_000).contains(&exemplar.timestamp));
        }
    }
    // 40 ms exemplars land on the 0.064 s bucket, not on +Inf or a smaller one: one per
    // latency series (status UNSET and ERROR).
    let exemplar_buckets: Vec<&str> = push
        .request
        .timeseries
        .iter()
        .filter(|s| s.matches(bucket, latency) && !s.exemplars.is_empty())
        .filter_map(|s| s.label("le"))
        .collect();
    assert_eq!(exemplar_buckets, vec!["0.064", "0.064"]);
    assert!(exemplars_on_calls >= 1, "no exemplar on {CALLS}");

    // The outcome is counted on /metrics.
    let samples = gw.wait_for_metrics("a counted remote-write push", |s| {
        prom::sum(
            s,
            "spangate_remote_write_requests_total",
            &[("outcome", "ok")],
        ) >= 1.0
    });
    assert!(
        prom::sum(
            &samples,
            "spangate_remote_write_samples_total",
            &[("outcome", "sent")]
        ) >= push.request.timeseries.len() as f64
    );
    assert_eq!(
        prom::sum(
            &samples,
            "spangate_remote_write_requests_total",
            &[("outcome", "failed")]
        ),
        0.0
    );
}

#[test]
fn a_server_error_is_retried_with_the_same_request() {
    let receiver = Receiver::start(&[500]);
    let gw = gateway(&receiver, "    interval: 1s\n");
    send_cart_spans(&gw);
    let pushes = receiver.wait_for("a 500 then a 200", &gw, |pushes| {
        pushes.iter().any(|p| p.answered == 200)
    });
    assert_eq!(pushes[0].answered, 500);
    assert_eq!(pushes[1].answered, 200);
    // The retry resends the snapshot the 500 refused, not a newer one.
    assert_eq!(pushes[0].body, pushes[1].body);
    assert!(!pushes[0].request.timeseries.is_empty());
    let samples = gw.wait_for_metrics("a retried remote-write push", |s| {
        prom::sum(
            s,
            "spangate_remote_write_requests_total",
            &[("outcome", "ok")],
        ) >= 1.0
    });
    assert_eq!(
        prom::sum(
            &samples,
            "spangate_remote_write_requests_total",
            &[("outcome", "retried")]
        ),
        1.0
    );
    assert_eq!(
        prom::sum(
            &samples,
            "spangate_remote_write_requests_total",
            &[("outcome", "failed")]
        ),
        0.0
    );
}

#[test]
fn graceful_shutdown_pushes_the_last_counts_once_more() {
    let receiver = Receiver::start(&[]);
    // An interval longer than the test: the only push is the final one.
    let mut gw = gateway(&receiver, "    interval: 1h\n");
    send_cart_spans(&gw);
    // The counts are in the gateway (its own /metrics shows them), so a push on new data
    // or on a start-up tick would have happened by now; two seconds more is twice the
    // interval with which the first test sees its push arrive.
    gw.wait_for_metrics("3 cart calls", |samples| {
        prom::sum(samples, CALLS, &[("service", "cart")]) == 3.0
    });
    sleep(Duration::from_secs(2));
    assert!(receiver.pushes().is_empty(), "pushed before the interval");
    let attempts = prom::sum(&gw.metrics(), "spangate_remote_write_requests_total", &[]);
    assert_eq!(attempts, 0.0, "a push was attempted before the interval");
    let exit = gw.terminate();
    assert!(exit.success(), "{exit}\n{}", gw.logs());
    let pushes = receiver.pushes();
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    assert_eq!(pushes[0].answered, 200);
    assert_eq!(pushes[0].sum(CALLS, &[("service", "cart")]), 3.0);
}

/// With multi-tenancy on, as Tempo's metrics-generator: each tenant's series go in
/// requests of their own with `X-Scope-OrgID: <tenant>`, and carry the `tenant` label.
#[test]
fn with_multitenancy_each_tenant_is_pushed_apart_under_its_org_id() {
    let receiver = Receiver::start(&[]);
    let gw = gateway(
        &receiver,
        "    interval: 1s\nmultitenancy:\n  enabled: true\n",
    );
    let now = ids::now_nanos();
    for (tenant, service) in [("team-a", "cart"), ("team-b", "pay")] {
        let trace_id = ids::trace_id();
        let server = span(
            &trace_id,
            &ids::span_id(),
            None,
            "GET /",
            SpanKind::Server,
            now,
            now + 1_000_000,
        );
        gw.grpc()
            .export_with(
                &simple_request(service, vec![server]),
                false,
                &[("x-scope-orgid", tenant)],
            )
            .unwrap();
    }
    let of = |pushes: &[Push], tenant: &str, service: &str| -> f64 {
        pushes
            .iter()
            .filter(|p| p.headers.get("x-scope-orgid").map(String::as_str) == Some(tenant))
            .map(|p| p.sum(CALLS, &[("service", service), ("tenant", tenant)]))
            .fold(0.0, f64::max)
    };
    let pushes = receiver.wait_for("both tenants' calls", &gw, |pushes| {
        of(pushes, "team-a", "cart") == 1.0 && of(pushes, "team-b", "pay") == 1.0
    });
    for push in &pushes {
        let org_id = push
            .headers
            .get("x-scope-orgid")
            .expect("every push names its tenant");
        for series in &push.request.timeseries {
            assert_eq!(series.label("tenant"), Some(org_id.as_str()), "{series:?}");
        }
    }
}
