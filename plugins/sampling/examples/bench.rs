//! Micro-benchmark of the sampling plugin (native, no wasm): ns per span at batch 512, for the
//! logic alone and for the component glue (the batch the host would send, built with the SDK's
//! `testing::to_batch`, handed to the plugin's `sample_head` / `sample_tail`).
//!
//! Run: `cargo run -p spangate-plugin-sampling --release --example bench`
//!
//! Prints numbers only; no timed assertions (the machine is shared, timings are noisy).

#![allow(clippy::unwrap_used)] // a benchmark: a failed unwrap fails it loudly, as it should

use std::hint::black_box;
use std::time::{Duration, Instant};

use spangate_plugin_sampling::component::SamplingPlugin;
use spangate_plugin_sampling::config::HeadConfig;
use spangate_plugin_sampling::policy::PolicySet;
use spangate_plugin_sampling::{Config, HeadSampler, Span, StatusCode, TraceId, TraceView, Value};
use spangate_plugin_sdk::batch::SpanBatch;
use spangate_plugin_sdk::testing::{TestSpan, TestValue, set_now, to_batch};
use spangate_plugin_sdk::{Sampler, SpanKind as WitSpanKind, StatusCode as WitStatusCode};

const BATCH: usize = 512;
const SPANS_PER_TRACE: usize = 8;
const SECOND: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SECOND;

const TAIL_CONFIG: &str = r#"{
  "head": {"probability": 0.25, "rate_limit": {"traces_per_second": 1000000}},
  "tail": {
    "decision_wait": "10s",
    "policies": [
      {"name": "slow", "latency": {"threshold": "500ms"}},
      {"name": "checkout", "attribute": {"key": "service.name", "values": ["checkout"], "scope": "resource"}},
      {"name": "api", "attribute": {"key": "http.route", "regex": "^/api/v[0-9]+/admin"}},
      {"name": "5xx", "attribute": {"key": "http.status_code", "min": 500, "max": 599}},
      {"name": "budget", "composite": {"max_total_spans_per_second": 100000, "policies": [
          {"name": "sample", "probabilistic": {"probability": 0.1}},
          {"name": "rest", "rate_limiting": {"spans_per_second": 1000}}]}}
    ]
  }
}"#;

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A realistic-ish span: a few attributes, a resource with service.name. Spans of a trace
/// start within 50 ms of `trace_start` and last up to 600 ms, so some traces are "slow".
fn make_span(rng: &mut SplitMix64, trace_id: u128, trace_start: u64, index: usize) -> TestSpan {
    let start = trace_start + rng.next() % (50 * 1_000_000);
    let duration = rng.next() % (600 * 1_000_000);
    let mut span = TestSpan::new(trace_id, rng.next())
        .service(&format!("svc-{}", index % 4))
        .named(&format!("GET /api/v1/items/{index}"))
        .kind(WitSpanKind::Server)
        .times(start, start + duration)
        .attr("http.route", "/api/v1/items/{id}")
        .attr("http.status_code", 200i64)
        .attr("net.peer.port", 443i64)
        .resource_attr("service.name", format!("svc-{}", index % 4))
        .resource_attr("host.name", "node-1");
    if index > 0 {
        span = span.parent(rng.next());
    }
    if rng.next().is_multiple_of(100) {
        span = span.status(WitStatusCode::Error, "");
    }
    span
}

fn make_batches(rng: &mut SplitMix64, batch_count: usize) -> Vec<Vec<TestSpan>> {
    (0..batch_count)
        .map(|_| {
            let mut batch = Vec::with_capacity(BATCH);
            while batch.len() < BATCH {
                let trace_id = (u128::from(rng.next()) << 64) | u128::from(rng.next());
                let trace_start = T0 + rng.next() % SECOND;
                for index in 0..SPANS_PER_TRACE {
                    batch.push(make_span(rng, trace_id, trace_start, index));
                }
            }
            batch
        })
        .collect()
}

/// The logic crate's own span model, for the logic-only measurements.
fn model_span(span: &TestSpan) -> Span {
    let value = |value: &TestValue| match value {
        TestValue::Str(text) => Value::Str(text.clone()),
        TestValue::Int(number) => Value::Int(*number),
        TestValue::Double(number) => Value::Double(*number),
        TestValue::Bool(flag) => Value::Bool(*flag),
        TestValue::Json(text) => Value::Str(text.clone()),
    };
    let pairs = |pairs: &[(String, TestValue)]| -> Vec<(String, Value)> {
        pairs
            .iter()
            .map(|(key, item)| (key.clone(), value(item)))
            .collect()
    };
    Span {
        trace_id: span.trace_id.to_be_bytes(),
        span_id: span.span_id.to_be_bytes(),
        status: match span.status {
            WitStatusCode::Error => StatusCode::Error,
            WitStatusCode::Ok => StatusCode::Ok,
            WitStatusCode::Unset => StatusCode::Unset,
        },
        start_unix_nanos: span.start_unix_nanos,
        end_unix_nanos: span.end_unix_nanos,
        attributes: pairs(&span.attributes),
        resource_attributes: pairs(&span.resource_attributes),
        ..Span::default()
    }
}

/// Rounds per measurement; the fastest is reported, the least disturbed by other processes on
/// a shared machine.
const ROUNDS: usize = 7;

fn report(label: &str, spans: usize, best: Duration) {
    let ns_per_span = best.as_nanos() as f64 / spans as f64;
    println!("{label:<60} {ns_per_span:>8.1} ns/span  (best of {ROUNDS}, {spans} spans each)");
}

/// Runs `round` ROUNDS times and returns the fastest duration it reports.
fn best_of(mut round: impl FnMut() -> Duration) -> Duration {
    (0..ROUNDS).map(|_| round()).min().unwrap_or_default()
}

/// Head decisions of the logic alone over a column of trace ids; `now` advances 1 ms per
/// batch of 512.
fn bench_head_logic(label: &str, config: &HeadConfig, trace_ids: &[TraceId]) {
    let best = best_of(|| {
        let mut head = HeadSampler::new(config);
        let started = Instant::now();
        let mut kept = 0usize;
        for (batch_index, batch) in trace_ids.chunks(BATCH).enumerate() {
            let now = T0 + batch_index as u64 * 1_000_000;
            for trace_id in batch {
                kept += usize::from(head.decide(black_box(trace_id), now).is_keep());
            }
        }
        let elapsed = started.elapsed();
        black_box(kept);
        elapsed
    });
    report(label, trace_ids.len(), best);
}

/// Each batch as the host would send it for the plugin's needs (built untimed).
fn host_batches(config: &str, batches: &[Vec<TestSpan>]) -> Vec<SpanBatch> {
    let (_, needs) = SamplingPlugin::init(config).expect("bench config is valid");
    batches
        .iter()
        .map(|batch| to_batch(batch, &needs.needs))
        .collect()
}

/// The glue's `sample_head` / `sample_tail` over host batches. Each batch is cloned untimed
/// right before the call, as a freshly lowered batch is hot in cache.
fn bench_glue(label: &str, config: &str, batches: &[SpanBatch], tail: bool) {
    let spans: usize = batches.iter().map(SpanBatch::len).sum();
    let best = best_of(|| {
        let (mut plugin, _) = SamplingPlugin::init(config).expect("bench config is valid");
        let mut timed = Duration::ZERO;
        for (batch_index, batch) in batches.iter().enumerate() {
            set_now(Some(T0 + batch_index as u64 * 1_000_000));
            let fresh = batch.clone();
            let started = Instant::now();
            let decisions = if tail {
                plugin.sample_tail(black_box(&fresh))
            } else {
                plugin.sample_head(black_box(&fresh))
            };
            timed += started.elapsed();
            black_box(decisions.expect("decisions"));
        }
        timed
    });
    report(label, spans, best);
}

fn main() {
    let config = Config::parse(TAIL_CONFIG).expect("bench config parses");
    let mut rng = SplitMix64(42);
    let batches = make_batches(&mut rng, 200);
    let span_count = batches.len() * BATCH;
    let trace_ids: Vec<TraceId> = batches
        .iter()
        .flatten()
        .map(|span| span.trace_id.to_be_bytes())
        .collect();

    println!("logic alone:");
    let probability_only = r#"{"head": {"probability": 0.25}}"#;
    bench_head_logic(
        "head: probability 0.25",
        &Config::parse(probability_only).unwrap().head,
        &trace_ids,
    );
    bench_head_logic(
        "head: probability 0.25 + rate limit (per-trace cache)",
        &config.head,
        &trace_ids,
    );

    // Policy evaluation on whole traces, 5 policies incl. composite.
    let tail_config = config.tail.as_ref().unwrap();
    let model: Vec<Vec<Span>> = batches
        .iter()
        .map(|batch| batch.iter().map(model_span).collect())
        .collect();
    let best = best_of(|| {
        let mut policies = PolicySet::from_config(tail_config);
        let started = Instant::now();
        let mut kept_traces = 0usize;
        for batch in &model {
            for trace in batch.chunks(SPANS_PER_TRACE) {
                let view = TraceView {
                    trace_id: trace[0].trace_id,
                    spans: trace,
                };
                kept_traces += usize::from(policies.evaluate(black_box(&view), 0).is_keep());
            }
        }
        let elapsed = started.elapsed();
        black_box(kept_traces);
        elapsed
    });
    report(
        "tail: evaluate only, 5 policies, 8 spans/trace",
        span_count,
        best,
    );

    println!("component glue (SpanBatch from testing::to_batch -> plugin), batch {BATCH}:");
    let head_batches = host_batches(probability_only, &batches);
    bench_glue(
        "sample_head: probability 0.25",
        probability_only,
        &head_batches,
        false,
    );
    let tail_batches = host_batches(TAIL_CONFIG, &batches);
    bench_glue(
        "sample_head: probability 0.25 + rate limit, tail columns sent",
        TAIL_CONFIG,
        &tail_batches,
        false,
    );
    bench_glue(
        "sample_tail: 64 traces x 8 spans per batch, 5 policies",
        TAIL_CONFIG,
        &tail_batches,
        true,
    );
}
