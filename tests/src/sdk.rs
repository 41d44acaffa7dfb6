//! Spans recorded with the Rust OpenTelemetry SDK, and what they should look like when
//! read back. Used by the exporter tests of both OTLP transports.

use opentelemetry::trace::{
    Span as _, SpanKind as SdkKind, Status as SdkStatus, TraceContextExt as _, Tracer as _,
    TracerProvider as _,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue as SdkKv};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter};

use crate::expect::{ExpectedEvent, ExpectedLink, ExpectedSpan, ExpectedTrace, trace_differences};
use crate::fixtures::{av_bool, av_double, av_int, kv, kv_str};
use crate::harness::TestGateway;
use crate::ids;

/// The resource every SDK test uses: `service.name` plus one more attribute.
pub fn resource(service_name: &str) -> Resource {
    Resource::builder_empty()
        .with_service_name(service_name.to_owned())
        .with_attribute(SdkKv::new("deployment.environment.name", "e2e"))
        .build()
}

/// Creates spans with the SDK: a "background job" trace and a "GET /orders" trace
/// (server → client child with an event and error status; server links to the job).
/// Returns what each trace should look like.
pub fn record_spans(provider: &SdkTracerProvider, service_name: &str) -> Vec<ExpectedTrace> {
    let scope = InstrumentationScope::builder("spangate.e2e.rust")
        .with_version("0.1.0")
        .build();
    let tracer = provider.tracer_with_scope(scope);

    let mut job = tracer
        .span_builder("background job")
        .with_kind(SdkKind::Producer)
        .with_attributes([SdkKv::new("queue", "orders")])
        .start(&tracer);
    job.end();
    let job_ctx = job.span_context().clone();

    let root = tracer
        .span_builder("GET /orders")
        .with_kind(SdkKind::Server)
        .with_attributes([
            SdkKv::new("http.request.method", "GET"),
            SdkKv::new("http.response.status_code", 500_i64),
            SdkKv::new("retry", false),
            SdkKv::new("load", 0.5),
        ])
        .with_links(vec![opentelemetry::trace::Link::new(
            job_ctx.clone(),
            vec![SdkKv::new("link.kind", "follows")],
            0,
        )])
        .start(&tracer);
    let root_ctx = root.span_context().clone();
    let cx = Context::current_with_span(root);
    let mut child = tracer
        .span_builder("SELECT orders")
        .with_kind(SdkKind::Client)
        .with_attributes([
            SdkKv::new("db.system.name", "postgresql"),
            SdkKv::new("rows", 12_i64),
        ])
        .start_with_context(&tracer, &cx);
    child.add_event(
        "rows fetched",
        vec![SdkKv::new("count", 12_i64), SdkKv::new("partial", true)],
    );
    child.set_status(SdkStatus::error("timeout after 2s"));
    let child_ctx = child.span_context().clone();
    child.end();
    cx.span().end();

    let trace_id = |c: &opentelemetry::trace::SpanContext| c.trace_id().to_bytes().to_vec();
    let span_id = |c: &opentelemetry::trace::SpanContext| c.span_id().to_bytes().to_vec();
    let common = ExpectedTrace {
        service_name: service_name.to_owned(),
        resource_attributes: vec![kv_str("deployment.environment.name", "e2e")],
        scope: Some(("spangate.e2e.rust".to_owned(), "0.1.0".to_owned())),
        ..Default::default()
    };
    vec![
        ExpectedTrace {
            trace_id: trace_id(&root_ctx),
            spans: vec![
                ExpectedSpan {
                    name: "GET /orders".into(),
                    span_id: span_id(&root_ctx),
                    kind: SpanKind::Server as i32,
                    attributes: vec![
                        kv_str("http.request.method", "GET"),
                        kv("http.response.status_code", av_int(500)),
                        kv("retry", av_bool(false)),
                        kv("load", av_double(0.5)),
                    ],
                    links: vec![ExpectedLink {
                        trace_id: trace_id(&job_ctx),
                        span_id: span_id(&job_ctx),
                        attributes: vec![kv_str("link.kind", "follows")],
                    }],
                    ..Default::default()
                },
                ExpectedSpan {
                    name: "SELECT orders".into(),
                    span_id: span_id(&child_ctx),
                    parent_span_id: span_id(&root_ctx),
                    kind: SpanKind::Client as i32,
                    attributes: vec![
                        kv_str("db.system.name", "postgresql"),
                        kv("rows", av_int(12)),
                    ],
                    events: vec![ExpectedEvent {
                        name: "rows fetched".into(),
                        attributes: vec![kv("count", av_int(12)), kv("partial", av_bool(true))],
                        exact: true,
                    }],
                    status_code: 2,
                    status_message: "timeout after 2s".into(),
                    ..Default::default()
                },
            ],
            ..common.clone()
        },
        ExpectedTrace {
            trace_id: trace_id(&job_ctx),
            spans: vec![ExpectedSpan {
                name: "background job".into(),
                span_id: span_id(&job_ctx),
                kind: SpanKind::Producer as i32,
                attributes: vec![kv_str("queue", "orders")],
                ..Default::default()
            }],
            ..common
        },
    ]
}

/// The Rust SDK's tonic span exporter sending to `gw`, gzip-compressing if asked. tonic
/// needs a Tokio runtime when the exporter is built and while it exports (the SDK's
/// processors export from their own threads): `rt` must outlive the exporter.
pub fn tonic_exporter(
    rt: &tokio::runtime::Runtime,
    gw: &TestGateway,
    compression: Option<opentelemetry_otlp::Compression>,
) -> opentelemetry_otlp::SpanExporter {
    use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
    let _guard = rt.enter();
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(gw.grpc_url());
    if let Some(compression) = compression {
        builder = builder.with_compression(compression);
    }
    builder.build().expect("build tonic span exporter")
}

/// Puts `exporter` behind a batch processor of a real tracer provider, records the
/// spans of [`record_spans`], flushes, shuts down, and checks that the gateway stored
/// every trace as expected.
#[track_caller]
pub fn export_and_check<E: SpanExporter + 'static>(gw: &TestGateway, exporter: E, service: &str) {
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource(service))
        .build();
    let expected = record_spans(&provider, service);
    provider.force_flush().expect("force_flush");
    provider.shutdown().expect("shutdown");
    assert_traces_stored(gw, &expected, &format!("Rust SDK traces of {service}"));
}

/// Reads every expected trace back (v2 protobuf, bounded wait) and panics with all
/// differences.
#[track_caller]
pub fn assert_traces_stored(gw: &TestGateway, expected: &[ExpectedTrace], context: &str) {
    let mut diffs = Vec::new();
    for trace in expected {
        let hex = ids::hex_id(&trace.trace_id);
        let actual = gw.wait_for_spans(&hex, trace.spans.len());
        diffs.extend(
            trace_differences(trace, &actual)
                .into_iter()
                .map(|d| format!("trace {hex}: {d}")),
        );
    }
    assert!(diffs.is_empty(), "{context}:\n{}", diffs.join("\n"));
}
