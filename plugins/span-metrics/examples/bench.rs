//! Micro-benchmark: ns per span at batch 512, for `observe_batch` of the
//! logic and for the component glue (the batch the host would send, built
//! with the SDK's `testing::to_batch`, handed to the plugin's `observe`),
//! plus the cost of a snapshot, of each renderer and of `collect`. No
//! assertions; numbers only.
//!
//! cargo run --release -p spangate-plugin-span-metrics --example span-metrics-bench

#![allow(clippy::unwrap_used)] // a benchmark: a failed unwrap fails it loudly, as it should

#[path = "../../loadgen_batch.rs"]
mod shapes;

use std::hint::black_box;
use std::time::{Duration, Instant};

use spangate_plugin_sdk::batch::SpanBatch;
use spangate_plugin_sdk::testing::{TestSpan, TestValue, set_now, to_batch};
use spangate_plugin_sdk::{Metrics, SpanKind as WitSpanKind, StatusCode as WitStatusCode};
use spangate_plugin_span_metrics::component::SpanMetricsPlugin;
use spangate_plugin_span_metrics::model::{
    AttrValue, Attribute, Span, SpanId, SpanKind, StatusCode, TraceId,
};
use spangate_plugin_span_metrics::{Config, SpanMetrics, render_openmetrics, render_prometheus};

const BATCH: usize = 512;
/// Traces generated (8 spans each); `SPAN_METRICS_BENCH_TRACES` overrides
/// (e.g. a small value under callgrind).
fn traces() -> usize {
    std::env::var("SPAN_METRICS_BENCH_TRACES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40_000)
}

/// Traces shaped like a small microservice call tree: a root SERVER span,
/// then CLIENT → SERVER hops between services, an INTERNAL span and a
/// database CLIENT span. 8 spans per trace, 20 services, 60 operations.
fn workload() -> Vec<Span> {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let services: Vec<String> = (0..20).map(|i| format!("service-{i}")).collect();
    let n_traces = traces();
    let mut spans = Vec::with_capacity(n_traces * 8);
    let base = 1_700_000_000_000_000_000u64;
    for t in 0..n_traces {
        let mut trace = [0u8; 16];
        trace[..8].copy_from_slice(&(t as u64).to_be_bytes());
        trace[8..].copy_from_slice(&next().to_be_bytes());
        let trace_id = TraceId(trace);
        let mut sid = 0u64;
        let mut mk =
            |parent: Option<u64>, svc: usize, op: u64, kind: SpanKind, ms: u64, err: bool| {
                sid += 1;
                let mut attrs = vec![
                    Attribute::new(
                        "http.method",
                        if op.is_multiple_of(3) { "POST" } else { "GET" },
                    ),
                    Attribute::new("http.route", format!("/api/v1/op{op}")),
                ];
                if kind == SpanKind::Client && op.is_multiple_of(7) {
                    attrs.push(Attribute::new("db.system", "postgresql"));
                    attrs.push(Attribute::new("db.name", "orders"));
                }
                Span {
                    trace_id,
                    span_id: SpanId(((t as u64) << 8 | sid).to_be_bytes()),
                    parent_span_id: parent.map(|p| SpanId(((t as u64) << 8 | p).to_be_bytes())),
                    name: format!("op-{op}"),
                    kind,
                    status_code: if err {
                        StatusCode::Error
                    } else {
                        StatusCode::Unset
                    },
                    start_unix_nanos: base,
                    end_unix_nanos: base + ms * 1_000_000,
                    attributes: attrs,
                    resource: vec![
                        Attribute::new("service.name", services[svc].clone()),
                        Attribute::new("deployment.environment", "prod"),
                    ],
                    encoded_size: 180 + op,
                    ..Span::default()
                }
            };
        let a = (next() % 20) as usize;
        let b = (next() % 20) as usize;
        let c = (next() % 20) as usize;
        let err = next() % 50 == 0;
        spans.push(mk(None, a, next() % 60, SpanKind::Server, 120, err)); // 1
        spans.push(mk(Some(1), a, next() % 60, SpanKind::Client, 90, false)); // 2
        spans.push(mk(Some(2), b, next() % 60, SpanKind::Server, 80, err)); // 3
        spans.push(mk(Some(3), b, next() % 60, SpanKind::Internal, 10, false)); // 4
        spans.push(mk(Some(3), b, 7 * (next() % 8), SpanKind::Client, 5, false)); // 5 (db or unpaired)
        spans.push(mk(Some(3), b, next() % 60, SpanKind::Client, 40, false)); // 6
        spans.push(mk(Some(6), c, next() % 60, SpanKind::Server, 30, false)); // 7
        spans.push(mk(Some(7), c, next() % 60, SpanKind::Internal, 2, false)); // 8
    }
    // Interleave traces the way a gateway sees them: halves of an edge
    // usually arrive in different batches.
    let n = spans.len();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        if i.abs_diff(j) < 4096 {
            spans.swap(i, j);
        }
    }
    spans
}

/// One pass over all spans in batches of 512; returns ns per span.
///
/// Each batch is cloned (untimed) right before it is observed, so it is hot
/// in cache as a freshly decoded batch is in the gateway; otherwise the
/// benchmark would mostly measure cache misses on 300k cold spans.
fn pass(m: &mut SpanMetrics, spans: &[Span], now: &mut u64) -> f64 {
    let mut timed = Duration::ZERO;
    for (i, batch) in spans.chunks(BATCH).enumerate() {
        let fresh = batch.to_vec();
        let start = Instant::now();
        m.observe_batch(black_box(&fresh), *now);
        if i % 1000 == 999 {
            m.expire(*now); // every 2 s of simulated time, like Tempo's ticker
        }
        timed += start.elapsed();
        *now += 2_000_000; // 2 ms per batch: ~256k spans/s
    }
    // Let every pending half edge resolve before the next pass reuses ids.
    *now += 20_000_000_000;
    let start = Instant::now();
    m.expire(*now);
    timed += start.elapsed();
    timed.as_nanos() as f64 / spans.len() as f64
}

fn run(label: &str, cfg: &str, spans: &[Span]) {
    let cfg = Config::parse(cfg).unwrap();
    let mut m = SpanMetrics::new(cfg).unwrap();
    let mut now = 1_700_000_000_000_000_000u64;
    // Cold: every series is created during this pass.
    let cold = pass(&mut m, spans, &mut now);
    // Steady state: the series exist; best of 4.
    let warm = (0..4)
        .map(|_| pass(&mut m, spans, &mut now))
        .fold(f64::MAX, f64::min);
    let snap_start = Instant::now();
    let snap = m.snapshot();
    let snap_ms = snap_start.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let prom = render_prometheus(&snap);
    let prom_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let om = render_openmetrics(&snap);
    let om_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "{label:<34} steady {warm:>6.1} ns/span, cold {cold:>6.1} ns/span | {} series \
         ({} Prometheus series), snapshot {snap_ms:.1} ms, prometheus {prom_ms:.1} ms \
         ({} KiB), openmetrics {om_ms:.1} ms ({} KiB)",
        snap.len(),
        m.active_series(),
        prom.len() / 1024,
        om.len() / 1024,
    );
}

/// The span as a test span, for the SDK's batch encoder.
fn test_span(span: &Span) -> TestSpan {
    let value = |v: &AttrValue| match v {
        AttrValue::Str(s) => TestValue::Str(s.clone()),
        AttrValue::Int(i) => TestValue::Int(*i),
        AttrValue::Double(d) => TestValue::Double(*d),
        AttrValue::Bool(b) => TestValue::Bool(*b),
        other => TestValue::Json(format!("{other:?}")),
    };
    let kind = match span.kind {
        SpanKind::Unspecified => WitSpanKind::Unspecified,
        SpanKind::Internal => WitSpanKind::Internal,
        SpanKind::Server => WitSpanKind::Server,
        SpanKind::Client => WitSpanKind::Client,
        SpanKind::Producer => WitSpanKind::Producer,
        SpanKind::Consumer => WitSpanKind::Consumer,
    };
    let status = match span.status_code {
        StatusCode::Unset => WitStatusCode::Unset,
        StatusCode::Ok => WitStatusCode::Ok,
        StatusCode::Error => WitStatusCode::Error,
    };
    let mut out = TestSpan::new(
        u128::from_be_bytes(span.trace_id.0),
        u64::from_be_bytes(span.span_id.0),
    )
    .named(&span.name)
    .kind(kind)
    .times(span.start_unix_nanos, span.end_unix_nanos)
    .status(status, &span.status_message)
    .parent(span.parent_span_id.map_or(0, |p| u64::from_be_bytes(p.0)));
    for a in &span.resource {
        if a.key == "service.name" {
            out = out.service(a.value.as_str().unwrap_or_default());
        }
        out = out.resource_attr(a.key.clone(), value(&a.value));
    }
    for a in &span.attributes {
        out = out.attr(a.key.clone(), value(&a.value));
    }
    out
}

/// The glue: one pass of `observe` over host batches (each cloned untimed
/// right before, hot in cache as a freshly lowered batch), the host clock
/// pinned to 2 ms per batch; then a `collect` (untimed, it resolves pending
/// edges) so the next pass starts clean. Returns ns per span.
fn glue_pass(plugin: &mut SpanMetricsPlugin, batches: &[SpanBatch], now: &mut u64) -> f64 {
    let mut timed = Duration::ZERO;
    let mut spans = 0;
    for batch in batches {
        set_now(Some(*now));
        let fresh = batch.clone();
        let start = Instant::now();
        plugin.observe(black_box(&fresh)).expect("observe");
        timed += start.elapsed();
        spans += batch.len();
        *now += 2_000_000;
    }
    *now += 20_000_000_000;
    black_box(plugin.collect(*now));
    timed.as_nanos() as f64 / spans as f64
}

fn run_glue(label: &str, cfg: &str, spans: &[Span]) {
    let (mut plugin, needs) = SpanMetricsPlugin::init(cfg).expect("bench config is valid");
    let batches: Vec<SpanBatch> = spans
        .chunks(BATCH)
        .map(|batch| {
            let test_spans: Vec<TestSpan> = batch.iter().map(test_span).collect();
            to_batch(&test_spans, &needs)
        })
        .collect();
    let mut now = 1_700_000_000_000_000_000u64;
    let cold = glue_pass(&mut plugin, &batches, &mut now);
    let warm = (0..4)
        .map(|_| glue_pass(&mut plugin, &batches, &mut now))
        .fold(f64::MAX, f64::min);
    let t = Instant::now();
    let points = plugin.collect(now);
    let collect_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "glue: {label:<28} steady {warm:>6.1} ns/span, cold {cold:>6.1} ns/span | \
         collect {collect_ms:.1} ms ({} points)",
        points.len()
    );
}

/// The config `gateway/benches/pipeline.rs` runs span-metrics with.
const PIPELINE_BENCH_CONFIG: &str = r#"{"span_metrics": {"dimensions": ["http.request.method"]}}"#;

/// The glue on the batch and config of `gateway/benches/pipeline.rs`: the same 512 spans
/// observed again and again, as that bench does (what the wasm number measures, minus the
/// host's column building and the wasm overhead). `--loadgen-only [ROUNDS]` runs only this.
fn loadgen_glue(rounds: usize) {
    let test_spans = shapes::loadgen_batch();
    let (mut plugin, needs) = SpanMetricsPlugin::init(PIPELINE_BENCH_CONFIG).expect("config");
    let batch: SpanBatch = to_batch(&test_spans, &needs);
    let mut now = 1_764_000_000_000_000_000u64;
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        set_now(Some(now));
        let start = Instant::now();
        plugin.observe(black_box(&batch)).expect("observe");
        samples.push(start.elapsed().as_nanos() as f64 / test_spans.len() as f64);
        now += 1_000_000;
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "pipeline-bench config on the loadgen-shaped batch ({} spans): glue {:.1} ns/span \
         (median of {rounds})",
        test_spans.len(),
        samples[samples.len() / 2],
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--loadgen-only") {
        loadgen_glue(args.next().and_then(|n| n.parse().ok()).unwrap_or(20_000));
        return;
    }
    loadgen_glue(1000);
    let spans = workload();
    println!(
        "{} spans, batch {BATCH}; steady = best of 4 passes over existing series, \
         cold = first pass (creates them)",
        spans.len()
    );
    let unlimited = r#""registry": {"max_series": 0}"#;
    run(
        "both processors (defaults)",
        &format!("{{{unlimited}}}"),
        &spans,
    );
    run(
        "span-metrics only",
        &format!(r#"{{"processors": ["span-metrics"], {unlimited}}}"#),
        &spans,
    );
    run(
        "service-graphs only",
        &format!(r#"{{"processors": ["service-graphs"], {unlimited}}}"#),
        &spans,
    );
    run(
        "both + 2 dimensions",
        &format!(
            r#"{{"span_metrics": {{"dimensions": ["http.method", "deployment.environment"]}},
                 "service_graphs": {{"dimensions": ["deployment.environment"]}}, {unlimited}}}"#
        ),
        &spans,
    );
    run("both, max_series 10000 (default)", "{}", &spans);
    println!("component glue: SpanBatch from testing::to_batch -> SpanMetricsPlugin::observe");
    run_glue(
        "both processors (defaults)",
        &format!("{{{unlimited}}}"),
        &spans,
    );
    run_glue(
        "both + 2 dimensions",
        &format!(
            r#"{{"span_metrics": {{"dimensions": ["http.method", "deployment.environment"]}},
                 "service_graphs": {{"dimensions": ["deployment.environment"]}}, {unlimited}}}"#
        ),
        &spans,
    );
}
