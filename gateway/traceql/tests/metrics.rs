//! TraceQL metrics with exact expected numbers.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

mod common;

use common::*;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use spangate_traceql::metrics::{Sample, align_request, clamp_end};
use spangate_traceql::{AttrValue, MetricsError, MetricsEvaluator, Series, parse};

const SECOND: u64 = 1_000_000_000;
const BASE_MS: i64 = (BASE / 1_000_000) as i64;

/// One single-span trace per entry; see the table in `traces()`.
fn trace(
    n: u8,
    service: &str,
    start_ms: u64,
    duration_ms: u64,
    attrs: Vec<(&str, i64)>,
    error: bool,
) -> Vec<ResourceSpans> {
    let mut spec = SpanSpec::new(&format!("op{n}"))
        .service(service)
        .at(start_ms, duration_ms);
    for (k, v) in attrs {
        spec = spec.attr(k, i(v));
    }
    if error {
        spec = spec.status(2, "");
    }
    build_trace(&[n; 16], vec![spec])
}

/// Range (BASE, BASE+60s], step 10s → six intervals stamped BASE+10s … BASE+60s.
///
/// | trace | service | start  | duration | x  | interval          |
/// |-------|---------|--------|----------|----|-------------------|
/// | 1     | a       | +1s    | 100ms    | 1  | 0                 |
/// | 2     | a       | +5s    | 300ms    | 3  | 0                 |
/// | 3     | a       | +15s   | 1s       | 10 | 1                 |
/// | 4     | b       | +25s   | 2s       | -  | 2 (error)         |
/// | 5     | b       | +10s   | 50ms     | 5  | 0 (right-closed)  |
/// | 6     | b       | +0s    | 1ms      | -  | excluded (= start)|
fn traces() -> Vec<Vec<ResourceSpans>> {
    vec![
        trace(1, "a", 1_000, 100, vec![("x", 1)], false),
        trace(2, "a", 5_000, 300, vec![("x", 3)], false),
        trace(3, "a", 15_000, 1_000, vec![("x", 10)], false),
        trace(4, "b", 25_000, 2_000, vec![], true),
        trace(5, "b", 10_000, 50, vec![("x", 5)], false),
        trace(6, "b", 0, 1, vec![], false),
    ]
}

fn run(query: &str) -> Vec<Series> {
    run_with(query, 0)
}

fn run_with(query: &str, exemplars: u32) -> Vec<Series> {
    let q = parse(query).unwrap();
    let mut eval = MetricsEvaluator::new(&q, BASE, BASE + 60 * SECOND, 10 * SECOND)
        .unwrap()
        .with_exemplars(exemplars);
    for t in traces() {
        eval.observe_trace(&t);
    }
    eval.finish()
}

fn ts(interval: i64) -> i64 {
    BASE_MS + 10_000 * (interval + 1)
}

fn samples(values: &[(i64, f64)]) -> Vec<Sample> {
    values
        .iter()
        .map(|(i, v)| Sample {
            timestamp_ms: ts(*i),
            value: *v,
        })
        .collect()
}

fn dense(values: &[f64]) -> Vec<Sample> {
    let pairs: Vec<(i64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64, *v))
        .collect();
    samples(&pairs)
}

fn label(name: &str, value: AttrValue) -> (String, AttrValue) {
    (name.to_string(), value)
}

fn str_(v: &str) -> AttrValue {
    AttrValue::Str(v.to_string())
}

fn assert_close(actual: &[Sample], expected: &[Sample]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert_eq!(a.timestamp_ms, e.timestamp_ms);
        assert!(
            (a.value - e.value).abs() < 1e-9,
            "{actual:?} vs {expected:?}"
        );
    }
}

#[test]
fn count_and_rate_without_by_have_a_name_label() {
    let series = run("{ } | count_over_time()");
    assert_eq!(series.len(), 1);
    assert_eq!(
        series[0].labels,
        vec![label("__name__", str_("count_over_time"))]
    );
    assert_eq!(series[0].samples, dense(&[3.0, 1.0, 1.0, 0.0, 0.0, 0.0]));

    let series = run("{ } | rate()");
    assert_eq!(series[0].labels, vec![label("__name__", str_("rate"))]);
    assert_close(&series[0].samples, &dense(&[0.3, 0.1, 0.1, 0.0, 0.0, 0.0]));
}

#[test]
fn grouping_by_attributes() {
    let series = run("{ } | count_over_time() by (resource.service.name)");
    assert_eq!(series.len(), 2);
    assert_eq!(
        series[0].labels,
        vec![label("resource.service.name", str_("a"))]
    );
    assert_eq!(series[0].samples, dense(&[2.0, 1.0, 0.0, 0.0, 0.0, 0.0]));
    assert_eq!(
        series[1].labels,
        vec![label("resource.service.name", str_("b"))]
    );
    assert_eq!(series[1].samples, dense(&[1.0, 0.0, 1.0, 0.0, 0.0, 0.0]));

    // The filter part applies before counting.
    let series = run("{ status = error } | count_over_time() by (resource.service.name)");
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].samples, dense(&[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]));

    // Nil values are left out; a series whose values are all nil keeps the first label.
    let series = run("{ } | count_over_time() by (span.missing)");
    assert_eq!(
        series[0].labels,
        vec![label("span.missing", AttrValue::Nil)]
    );
    assert_eq!(series[0].samples, dense(&[3.0, 1.0, 1.0, 0.0, 0.0, 0.0]));
    let series = run("{ } | count_over_time() by (span.x, resource.service.name)");
    let labels: Vec<_> = series.iter().map(|s| s.labels.clone()).collect();
    assert!(labels.contains(&vec![label("resource.service.name", str_("b"))]));
    assert!(labels.contains(&vec![
        label("span.x", AttrValue::Int(10)),
        label("resource.service.name", str_("a"))
    ]));
    assert_eq!(series.len(), 5);
}

#[test]
fn min_max_sum_avg_over_time() {
    let series = run("{ } | min_over_time(duration) by (resource.service.name)");
    assert_close(&series[0].samples, &samples(&[(0, 0.1), (1, 1.0)]));
    assert_close(&series[1].samples, &samples(&[(0, 0.05), (2, 2.0)]));

    let series = run("{ } | max_over_time(duration) by (resource.service.name)");
    assert_close(&series[0].samples, &samples(&[(0, 0.3), (1, 1.0)]));
    assert_close(&series[1].samples, &samples(&[(0, 0.05), (2, 2.0)]));

    let series = run("{ } | sum_over_time(duration)");
    assert_eq!(
        series[0].labels,
        vec![label("__name__", str_("sum_over_time"))]
    );
    assert_close(
        &series[0].samples,
        &samples(&[(0, 0.45), (1, 1.0), (2, 2.0)]),
    );

    // Attributes as stored; spans without the attribute do not count.
    let series = run("{ } | avg_over_time(span.x)");
    assert_eq!(
        series[0].labels,
        vec![label("__name__", str_("avg_over_time"))]
    );
    assert_close(&series[0].samples, &samples(&[(0, 3.0), (1, 10.0)]));
    let series = run("{ } | max_over_time(span.x) by (resource.service.name)");
    assert_close(&series[0].samples, &samples(&[(0, 3.0), (1, 10.0)]));
    assert_close(&series[1].samples, &samples(&[(0, 5.0)]));
}

#[test]
fn histogram_over_time_uses_log2_buckets_in_seconds() {
    let series = run("{ } | histogram_over_time(duration)");
    // 50ms → 2^26ns, 100ms → 2^27ns, 300ms → 2^29ns, 1s → 2^30ns, 2s → 2^31ns.
    let expected = [
        (67_108_864.0 / 1e9, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        (134_217_728.0 / 1e9, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        (536_870_912.0 / 1e9, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        (1_073_741_824.0 / 1e9, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
        (2_147_483_648.0 / 1e9, [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]),
    ];
    assert_eq!(series.len(), expected.len());
    for (bucket, values) in expected {
        let s = series
            .iter()
            .find(|s| s.labels == vec![label("__bucket", AttrValue::Float(bucket))])
            .unwrap_or_else(|| panic!("bucket {bucket}: {series:?}"));
        assert_eq!(s.samples, dense(&values));
    }
    let by = run("{ } | histogram_over_time(duration) by (resource.service.name)");
    assert_eq!(
        by[0].labels,
        vec![
            label("resource.service.name", str_("a")),
            label("__bucket", AttrValue::Float(134_217_728.0 / 1e9))
        ]
    );
}

#[test]
fn quantile_over_time_interpolates_like_tempo() {
    let series = run("{ } | quantile_over_time(duration, 0.5, 0.9)");
    assert_eq!(series.len(), 2);
    assert_eq!(series[0].labels, vec![label("p", AttrValue::Float(0.5))]);
    // Interval 0 holds 50ms, 100ms, 300ms: p50 reads 2 samples and lands exactly on the
    // top of the 2^27ns bucket; p90 reads all 3 (2^29ns). Empty intervals are 0.
    assert_close(
        &series[0].samples,
        &dense(&[0.134_217_728, 1.073_741_824, 2.147_483_648, 0.0, 0.0, 0.0]),
    );
    assert_eq!(series[1].labels, vec![label("p", AttrValue::Float(0.9))]);
    assert_close(
        &series[1].samples,
        &dense(&[0.536_870_912, 1.073_741_824, 2.147_483_648, 0.0, 0.0, 0.0]),
    );

    // Interpolation inside a bucket: p25 of {50ms,100ms,300ms} reads one sample of the
    // first bucket → exactly its upper bound; p10 of a single-sample bucket stays there.
    let series = run("{ resource.service.name = \"a\" } | quantile_over_time(duration, 0.25)");
    assert_close(&series[0].samples[..1], &samples(&[(0, 0.134_217_728)]));

    let by = run("{ } | quantile_over_time(span.x, 0.5) by (resource.service.name)");
    assert_eq!(
        by[0].labels,
        vec![
            label("resource.service.name", str_("a")),
            label("p", AttrValue::Float(0.5))
        ]
    );
    // Ints bucket without scaling: x=1 is dropped (below 2), x=3 → 4.
    assert_close(&by[0].samples, &dense(&[4.0, 16.0, 0.0, 0.0, 0.0, 0.0]));
}

#[test]
fn instant_queries_have_one_sample_at_the_end() {
    let q = parse("{ } | count_over_time()").unwrap();
    let mut eval = MetricsEvaluator::instant(&q, BASE, BASE + 60 * SECOND).unwrap();
    for t in traces() {
        eval.observe_trace(&t);
    }
    let series = eval.finish();
    assert_eq!(
        series[0].samples,
        vec![Sample {
            timestamp_ms: BASE_MS + 60_000,
            value: 5.0
        }]
    );

    let q = parse("{ } | rate()").unwrap();
    let mut eval = MetricsEvaluator::instant(&q, BASE, BASE + 60 * SECOND)
        .unwrap()
        .with_exemplars(10);
    for t in traces() {
        eval.observe_trace(&t);
    }
    let series = eval.finish();
    assert!((series[0].samples[0].value - 5.0 / 60.0).abs() < 1e-12);
    assert!(
        series[0].exemplars.is_empty(),
        "instant queries carry no exemplars"
    );
}

#[test]
fn exemplars_one_per_trace_with_trace_id_label() {
    let series = run_with("{ } | rate()", 100);
    let exemplars = &series[0].exemplars;
    assert_eq!(exemplars.len(), 5);
    assert!(exemplars.iter().all(|e| e.value.is_nan()));
    let first = &exemplars[0];
    assert_eq!(first.timestamp_ms, BASE_MS + 1_000);
    assert_eq!(
        first.labels()[0],
        label("trace:id", str_("1010101010101010101010101010101"))
    );
    assert_eq!(
        first.labels()[1],
        label("span:id", str_(&hex(&span_id("op1"))))
    );

    let series = run_with(
        "{ } | max_over_time(duration) by (resource.service.name)",
        100,
    );
    assert_eq!(series[0].exemplars.len(), 3);
    assert_eq!(series[0].exemplars[0].value, 0.1);

    let none = run_with("{ } | rate() with (exemplars=false)", 100);
    assert!(none[0].exemplars.is_empty());
    let two = run_with("{ } | rate() with (exemplars=2)", 100);
    assert_eq!(two[0].exemplars.len(), 2);
    assert!(run("{ } | rate()")[0].exemplars.is_empty());

    // Quantile exemplars go to the quantile closest to their value.
    let q = run_with("{ } | quantile_over_time(duration, 0.1, 0.99)", 100);
    let counts: Vec<usize> = q.iter().map(|s| s.exemplars.len()).collect();
    assert_eq!(counts.iter().sum::<usize>(), 5);
    assert!(q[1].exemplars.iter().any(|e| e.value == 2.0));
}

#[test]
fn reproduces_tempos_recorded_query_range_timestamps() {
    // metrics_query_range.json: q={ resource.service.name =~ "oracle-.*" } | rate(),
    // start=1795457950, end=1795461550, step=60 (seconds), recorded at about `end`; the
    // frontend aligns the request and cuts its end at now - 30s. The spans (at
    // 1795461515s) fall after the cut, so all 60 samples are 0.
    let (start, end) = align_request(1_795_457_950 * SECOND, 1_795_461_550 * SECOND, 60 * SECOND);
    let end = clamp_end(end, 60 * SECOND, (1_795_461_550 - 30) * SECOND);
    let q = parse(r#"{ resource.service.name =~ "oracle-.*" } | rate()"#).unwrap();
    let mut eval = MetricsEvaluator::new(&q, start, end, 60 * SECOND).unwrap();
    let late = build_trace(
        &[7; 16],
        vec![
            SpanSpec::new("GET /checkout")
                .service("oracle-grpc-svc")
                .at_nanos(1_795_461_515_977_687_550 - BASE, 31_692_848),
        ],
    );
    eval.observe_trace(&late);
    let series = eval.finish();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].labels, vec![label("__name__", str_("rate"))]);
    let stamps: Vec<i64> = series[0].samples.iter().map(|s| s.timestamp_ms).collect();
    assert_eq!(stamps.len(), 60);
    assert_eq!(stamps[0], 1_795_457_940_000);
    assert_eq!(stamps[59], 1_795_461_480_000);
    assert!(stamps.windows(2).all(|w| w[1] - w[0] == 60_000));
    assert!(series[0].samples.iter().all(|s| s.value == 0.0));
}

#[test]
fn invalid_requests() {
    let q = parse("{ } | rate()").unwrap();
    assert_eq!(
        MetricsEvaluator::new(&q, 10, 10, 1).unwrap_err(),
        MetricsError::EmptyRange
    );
    assert_eq!(
        MetricsEvaluator::new(&q, 0, 10, 0).unwrap_err(),
        MetricsError::MissingStep
    );
    assert_eq!(
        MetricsEvaluator::new(&q, 0, 100_000, 1).unwrap_err(),
        MetricsError::TooManyIntervals {
            intervals: 100_000,
            max: 50_000
        }
    );
    let search = parse("{ }").unwrap();
    assert_eq!(
        MetricsEvaluator::new(&search, 0, 10, 1).unwrap_err(),
        MetricsError::NotAMetricsQuery
    );
}

#[test]
fn structural_filters_feed_metrics() {
    let q = parse("{ kind = server } >> { status = error } | count_over_time()").unwrap();
    let mut eval = MetricsEvaluator::new(&q, BASE, BASE + 60 * SECOND, 10 * SECOND).unwrap();
    eval.observe_trace(&shop_trace());
    let series = eval.finish();
    // db query (start +2ms) is under GET /checkout; charge's error is the server itself,
    // under GET /checkout too. Both start in interval 0.
    assert_eq!(series[0].samples[0].value, 2.0);
}
