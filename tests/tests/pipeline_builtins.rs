//! The built-in plugins through the real binary: redaction before anything is
//! persisted, head and tail sampling, span-metrics on `/metrics`.

use std::time::{Duration, Instant};

use opentelemetry::trace::{
    Span as _, SpanKind as SdkKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::{Status as OtlpStatus, status::StatusCode};
use opentelemetry_sdk::trace::SdkTracerProvider;
use spangate_integration_tests::fixtures::{self, span, span_count};
use spangate_integration_tests::prom::{self, Sample};
use spangate_integration_tests::{GatewayOptions, TestGateway, ids, sdk};

fn gateway_with(pipeline_yaml: &str, compression: &'static str) -> TestGateway {
    TestGateway::start_with(GatewayOptions {
        compression,
        extra_yaml: pipeline_yaml.to_owned(),
        ..GatewayOptions::default()
    })
}

/// Spans stored for a trace, via the v2 protobuf API.
fn stored_span_count(gw: &TestGateway, trace_id: &[u8]) -> usize {
    let response = gw.trace_v2_protobuf(&ids::hex_id(trace_id));
    response
        .trace
        .map_or(0, |trace| span_count(&trace.resource_spans))
}

/// Every regular file under `dir`, read raw.
fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read data dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                hits.push(path.display().to_string());
            }
        }
    }
    hits
}

const CANARY: &str = "CANARY-7f3a9c21e4";
/// Sent beside the canary but not redacted: proves the raw scan sees span data at all.
const CONTROL: &str = "CONTROL-b81d55e0aa";

#[test]
fn canary_secret_is_redacted_before_it_reaches_disk_or_the_api() {
    let mut gw = gateway_with(
        r#"pipeline:
  - plugin: builtin:redaction
    config:
      blocked_keys: [password]
      value_patterns:
        - { name: canary, regex: "CANARY-[0-9a-f]{10}" }
      action: mask
"#,
        "none",
    );
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let exporter = sdk::tonic_exporter(&rt, &gw, None);
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder_empty()
                .with_service_name("canary-service")
                .with_attribute(KeyValue::new("host.note", format!("host {CANARY}")))
                .build(),
        )
        .build();
    let tracer = provider.tracer("canary-test");
    let mut linked = tracer.start("linked job");
    linked.end();
    let linked_ctx = linked.span_context().clone();
    let mut root = tracer
        .span_builder(format!("GET /users/{CANARY}"))
        .with_kind(SdkKind::Server)
        .with_attributes([
            KeyValue::new("user.note", format!("token {CANARY} end")),
            KeyValue::new("password", CANARY),
            KeyValue::new("visible", CONTROL),
        ])
        .with_links(vec![opentelemetry::trace::Link::new(
            linked_ctx,
            vec![KeyValue::new("link.note", CANARY)],
            0,
        )])
        .start(&tracer);
    root.add_event(
        "exception",
        vec![KeyValue::new("exception.message", format!("bad {CANARY}"))],
    );
    root.set_status(Status::error(format!("failed for {CANARY}")));
    let trace_id = root.span_context().trace_id().to_bytes();
    let cx = Context::current_with_span(root);
    let mut child = tracer.start_with_context("child", &cx);
    child.set_attribute(KeyValue::new(
        "db.statement",
        format!("where id='{CANARY}'"),
    ));
    child.end();
    cx.span().end();
    provider.force_flush().expect("flush spans");

    let spans = gw.wait_for_spans(&ids::hex_id(&trace_id), 2);
    assert_eq!(span_count(&spans), 2, "{}", gw.logs());

    // Every form of the API: redacted, with the count recorded.
    let id = ids::hex_id(&trace_id);
    for path in [format!("/api/traces/{id}"), format!("/api/v2/traces/{id}")] {
        for accept in ["application/json", "application/protobuf"] {
            let response = gw.get_with(&path, &[("Accept", accept)]);
            assert_eq!(response.status, 200, "{}", response.describe());
            let body = &response.body;
            assert!(
                !body.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
                "{path} ({accept}) leaks the canary"
            );
            assert!(
                body.windows(CONTROL.len()).any(|w| w == CONTROL.as_bytes()),
                "{path} ({accept}) lost the unredacted control value"
            );
        }
    }
    let json = gw.get(&format!("/api/v2/traces/{id}")).text();
    assert!(
        json.contains("redaction.count"),
        "no redaction count: {json}"
    );
    assert!(json.contains("***"), "no mask: {json}");

    // The raw files (compression off): the control value is there, the canary is not —
    // while running (WAL, memtable flushes) and after a restart (flushed SSTs).
    let data_dir = gw.data_dir().to_owned();
    assert!(
        !files_containing(&data_dir, CONTROL.as_bytes()).is_empty(),
        "the raw scan does not see span data: the canary check would prove nothing"
    );
    assert_eq!(
        files_containing(&data_dir, CANARY.as_bytes()),
        Vec::<String>::new()
    );
    gw.restart();
    assert_eq!(
        files_containing(&data_dir, CANARY.as_bytes()),
        Vec::<String>::new()
    );
    drop(provider);
}

fn one_span_traces(
    count: usize,
    service: &str,
) -> Vec<(
    Vec<u8>,
    opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
)> {
    let now = ids::now_nanos();
    (0..count)
        .map(|_| {
            let trace_id = ids::trace_id();
            let spans = vec![span(
                &trace_id,
                &ids::span_id(),
                None,
                "op",
                SpanKind::Server,
                now,
                now + 1_000_000,
            )];
            (trace_id, fixtures::simple_request(service, spans))
        })
        .collect()
}

#[test]
fn head_sampling_keeps_the_configured_fraction_consistently() {
    const TRACES: usize = 2000;
    const PROBABILITY: f64 = 0.25;
    let pipeline =
        "pipeline:\n  - plugin: builtin:sampling\n    config: {head: {probability: 0.25}}\n";
    let first = gateway_with(pipeline, "lz4");
    let second = gateway_with(pipeline, "lz4");
    let traces = one_span_traces(TRACES, "sampled");
    let grpc_first = first.grpc();
    let grpc_second = second.grpc();
    for (_, request) in &traces {
        grpc_first.export_ok(request);
        grpc_second.export_ok(request);
    }
    let kept_first: Vec<bool> = traces
        .iter()
        .map(|(id, _)| stored_span_count(&first, id) == 1)
        .collect();
    let kept_second: Vec<bool> = traces
        .iter()
        .map(|(id, _)| stored_span_count(&second, id) == 1)
        .collect();
    // A pure function of the trace id: two gateways agree on every trace.
    assert_eq!(kept_first, kept_second);
    let kept = kept_first.iter().filter(|k| **k).count() as f64;
    // Binomial(2000, 0.25): mean 500, sd 19.4; ±6 sd is a false alarm once in 10^9 runs.
    let mean = TRACES as f64 * PROBABILITY;
    let sd = (TRACES as f64 * PROBABILITY * (1.0 - PROBABILITY)).sqrt();
    assert!(
        (kept - mean).abs() <= 6.0 * sd,
        "kept {kept} of {TRACES}, expected {mean} ± {}",
        6.0 * sd
    );
    // Dropped spans are accepted (sampling is not an error) and counted by the plugin.
    let samples = first.metrics();
    assert_eq!(
        prom::sum(&samples, "spangate_spans_accepted_total", &[]),
        TRACES as f64
    );
    assert_eq!(
        prom::sum(
            &samples,
            "spangate_plugin_spans_dropped_total",
            &[("plugin", "sampling")]
        ),
        TRACES as f64 - kept
    );
}

fn decided(samples: &[Sample]) -> f64 {
    prom::sum(samples, "spangate_tail_traces_decided_total", &[])
}

#[test]
fn tail_sampling_keeps_error_traces_drops_the_rest_after_decision_wait() {
    const WAIT: Duration = Duration::from_secs(2);
    let gw = gateway_with(
        r#"pipeline:
  - plugin: builtin:sampling
    config:
      tail:
        decision_wait: 2s
        policies:
          - { name: nothing-else, probabilistic: { probability: 0 } }
"#,
        "lz4",
    );
    let grpc = gw.grpc();
    let now = ids::now_nanos();
    let mut error_traces = Vec::new();
    let mut ok_traces = Vec::new();
    // Reads of a trace that started less than decision_wait after its first span was
    // sent, each of which must find the whole trace still there.
    let mut checked_before_decision = 0;
    for index in 0..12 {
        let trace_id = ids::trace_id();
        let root_id = ids::span_id();
        let mut root = span(
            &trace_id,
            &root_id,
            None,
            "root",
            SpanKind::Server,
            now,
            now + 5_000_000,
        );
        let mut child = span(
            &trace_id,
            &ids::span_id(),
            Some(&root_id),
            "child",
            SpanKind::Client,
            now + 1_000,
            now + 2_000_000,
        );
        if index % 3 == 0 {
            child.status = Some(OtlpStatus {
                code: StatusCode::Error as i32,
                message: "boom".into(),
            });
            error_traces.push(trace_id.clone());
        } else {
            ok_traces.push(trace_id.clone());
        }
        // One trace, two requests: the decision covers both.
        root.attributes.push(fixtures::kv_str("part", "1"));
        let sent_at = Instant::now();
        grpc.export_ok(&fixtures::simple_request("tail", vec![root]));
        grpc.export_ok(&fixtures::simple_request("tail", vec![child]));
        // Pending spans are persisted and readable before the decision, which cannot
        // come before decision_wait after the trace's first span: a read started earlier
        // than that must find the whole trace (read at once, so it nearly always is).
        let poll_started = Instant::now();
        let count = stored_span_count(&gw, &trace_id);
        if poll_started.duration_since(sent_at) < WAIT {
            assert_eq!(count, 2, "a trace was decided before decision_wait");
            checked_before_decision += 1;
        }
    }
    assert!(
        checked_before_decision > 0,
        "no trace was read within decision_wait of its first span: nothing was checked"
    );
    let samples = gw.wait_for_metrics("12 tail decisions", |s| decided(s) >= 12.0);
    assert_eq!(decided(&samples), 12.0);
    assert_eq!(
        prom::sum(
            &samples,
            "spangate_tail_traces_decided_total",
            &[("verdict", "keep")]
        ),
        error_traces.len() as f64
    );
    for trace_id in &error_traces {
        assert_eq!(
            stored_span_count(&gw, trace_id),
            2,
            "an error trace was not kept"
        );
        let json = gw
            .get(&format!("/api/v2/traces/{}", ids::hex_id(trace_id)))
            .text();
        assert!(
            json.contains("sampling.policy") && json.contains("always_keep_errors"),
            "the deciding policy is not recorded: {json}"
        );
    }
    for trace_id in &ok_traces {
        assert_eq!(
            stored_span_count(&gw, trace_id),
            0,
            "a dropped trace is still stored"
        );
    }
    // Late spans follow their trace's decision.
    let late_kept = error_traces[0].clone();
    let late_dropped = ok_traces[0].clone();
    for trace_id in [&late_kept, &late_dropped] {
        let late = span(
            trace_id,
            &ids::span_id(),
            None,
            "late",
            SpanKind::Internal,
            now,
            now + 1,
        );
        grpc.export_ok(&fixtures::simple_request("tail", vec![late]));
    }
    assert_eq!(stored_span_count(&gw, &late_kept), 3);
    assert_eq!(stored_span_count(&gw, &late_dropped), 0);
}

#[test]
fn tail_pending_traces_survive_a_crash_and_are_decided_after_restart() {
    let mut gw = gateway_with(
        r#"pipeline:
  - plugin: builtin:sampling
    config:
      tail:
        decision_wait: 1h
        policies:
          - { name: nothing-else, probabilistic: { probability: 0 } }
"#,
        "lz4",
    );
    let traces = one_span_traces(5, "crash");
    for (_, request) in &traces {
        gw.grpc().export_ok(request);
    }
    gw.kill();
    gw.restart();
    // Nothing acknowledged was lost: still pending, still stored.
    for (trace_id, _) in &traces {
        assert_eq!(stored_span_count(&gw, trace_id), 1);
    }
    let samples = gw.metrics();
    assert_eq!(
        prom::sum(&samples, "spangate_tail_pending_traces", &[]),
        5.0
    );
    // Killed again and restarted with a short decision_wait: the recovered traces keep
    // their first-seen time, are overdue, and are decided (dropped by the policy).
    gw.kill();
    gw.restart_with(
        r#"pipeline:
  - plugin: builtin:sampling
    config:
      tail:
        decision_wait: 1s
        policies:
          - { name: nothing-else, probabilistic: { probability: 0 } }
"#
        .to_owned(),
    );
    let samples = gw.wait_for_metrics("the 5 recovered traces decided", |s| {
        prom::sum(
            s,
            "spangate_tail_traces_decided_total",
            &[("verdict", "drop")],
        ) >= 5.0
    });
    assert_eq!(
        prom::sum(&samples, "spangate_tail_traces_decided_total", &[]),
        5.0
    );
    for (trace_id, _) in &traces {
        assert_eq!(
            stored_span_count(&gw, trace_id),
            0,
            "a recovered trace was not dropped"
        );
    }
}

#[test]
fn span_metrics_sees_every_span_before_sampling_with_exact_counts_and_exemplars() {
    let gw = gateway_with(
        r#"pipeline:
  - plugin: builtin:span-metrics
  - plugin: builtin:sampling
    config: {head: {probability: 0}}
"#,
        "lz4",
    );
    let now = ids::now_nanos();
    let trace_id = ids::trace_id();
    let client_id = ids::span_id();
    let mut spans = Vec::new();
    for index in 0..3 {
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
                code: StatusCode::Error as i32,
                message: String::new(),
            });
        }
        spans.push(server);
    }
    let client = span(
        &trace_id,
        &client_id,
        None,
        "call db",
        SpanKind::Client,
        now,
        now + 30_000_000,
    );
    let frontend = fixtures::simple_request("frontend", vec![client]);
    let server_of_client = span(
        &trace_id,
        &ids::span_id(),
        Some(&client_id),
        "query",
        SpanKind::Server,
        now + 1_000_000,
        now + 20_000_000,
    );
    let cart = fixtures::simple_request("cart", spans);
    let database = fixtures::simple_request("inventory", vec![server_of_client]);
    let grpc = gw.grpc();
    grpc.export_ok(&cart);
    grpc.export_ok(&frontend);
    grpc.export_ok(&database);

    // Sampling dropped every span, yet span-metrics counted them all.
    assert_eq!(stored_span_count(&gw, &trace_id), 0);
    let calls = |samples: &[Sample], status: &str| {
        prom::sum(
            samples,
            "traces_spanmetrics_calls_total",
            &[
                ("service", "cart"),
                ("span_name", "GET /cart"),
                ("span_kind", "SPAN_KIND_SERVER"),
                ("status_code", status),
            ],
        )
    };
    let samples = gw.wait_for_metrics("the service graph edge", |s| {
        prom::sum(s, "traces_service_graph_request_total", &[]) >= 1.0
    });
    assert_eq!(calls(&samples, "STATUS_CODE_UNSET"), 2.0);
    assert_eq!(calls(&samples, "STATUS_CODE_ERROR"), 1.0);
    assert_eq!(
        prom::sum(
            &samples,
            "traces_spanmetrics_latency_count",
            &[("service", "cart"), ("span_name", "GET /cart")]
        ),
        3.0
    );
    assert_eq!(
        prom::sum(
            &samples,
            "traces_service_graph_request_total",
            &[("client", "frontend"), ("server", "inventory")]
        ),
        1.0
    );
    // 40 ms spans: every bucket from 0.064 s up holds all three.
    let bucket = prom::find(
        &samples,
        "traces_spanmetrics_latency_bucket",
        &[("service", "cart"), ("le", "+Inf")],
    );
    assert_eq!(bucket.iter().map(|s| s.value).sum::<f64>(), 3.0);

    // OpenMetrics: the same series, with exemplars pointing at our trace.
    let response = gw.get_with(
        "/metrics",
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    );
    assert_eq!(response.status, 200);
    assert_eq!(
        response.media_type().as_deref(),
        Some("application/openmetrics-text")
    );
    let text = response.text();
    assert!(text.ends_with("# EOF\n"));
    let open = prom::parse(&text);
    let exemplar_traces: Vec<String> = open
        .iter()
        .filter(|s| s.name.starts_with("traces_spanmetrics_"))
        .filter_map(|s| s.exemplar.as_ref())
        .map(|(labels, _)| labels.get("traceID").cloned().unwrap_or_default())
        .collect();
    assert!(!exemplar_traces.is_empty(), "no exemplars:\n{text}");
    assert!(
        exemplar_traces.iter().all(|t| *t == ids::hex_id(&trace_id)),
        "{exemplar_traces:?}"
    );
}
