//! Latency summaries and the three reports (ingest, lookup, search), as text for people and as
//! one JSON object for scripts.

use std::{collections::BTreeMap, fmt::Write as _};

use serde_json::{Value, json};

/// Percentiles of a set of latencies (nearest-rank), in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct LatencySummary {
    pub count: usize,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl LatencySummary {
    pub(crate) fn from_micros(mut samples: Vec<u64>) -> Self {
        if samples.is_empty() {
            return LatencySummary::default();
        }
        samples.sort_unstable();
        let rank = |quantile: f64| nearest_rank(&samples, quantile);
        LatencySummary {
            count: samples.len(),
            mean_us: samples.iter().sum::<u64>() as f64 / samples.len() as f64,
            p50_us: rank(0.50),
            p90_us: rank(0.90),
            p95_us: rank(0.95),
            p99_us: rank(0.99),
            max_us: samples[samples.len() - 1],
        }
    }

    fn to_json(self) -> Value {
        json!({
            "count": self.count,
            "mean_ms": round3(self.mean_us / 1e3),
            "p50_ms": self.p50_us as f64 / 1e3,
            "p90_ms": self.p90_us as f64 / 1e3,
            "p95_ms": self.p95_us as f64 / 1e3,
            "p99_ms": self.p99_us as f64 / 1e3,
            "max_ms": self.max_us as f64 / 1e3,
        })
    }

    fn human(&self) -> String {
        format!(
            "p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (mean {:.2} ms, n={})",
            self.p50_us as f64 / 1e3,
            self.p90_us as f64 / 1e3,
            self.p99_us as f64 / 1e3,
            self.max_us as f64 / 1e3,
            self.mean_us / 1e3,
            self.count
        )
    }
}

/// The nearest-rank `quantile` (0..=1) of ascending `sorted` samples: the smallest sample with at
/// least `quantile` of all samples at or below it. `sorted` must not be empty.
pub(crate) fn nearest_rank(sorted: &[u64], quantile: f64) -> u64 {
    let index = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[index.clamp(1, sorted.len()) - 1]
}

/// CPU and memory of one process over the timed phase.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProcessUsage {
    pub pid: Option<u32>,
    pub cpu_seconds: f64,
    /// CPU seconds including the `--settle` wait after the last send, when one was asked for.
    pub cpu_seconds_after_settle: Option<f64>,
    pub peak_rss_sampled_bytes: Option<u64>,
    pub vm_hwm_bytes: Option<u64>,
    /// False when the process could not be read at the end (it exited or crashed).
    pub alive_at_end: bool,
}

impl ProcessUsage {
    fn to_json(&self, elapsed_seconds: f64, spans: u64) -> Value {
        let per_span = |cpu: f64| {
            if spans == 0 {
                Value::Null
            } else {
                json!(round3(cpu * 1e6 / spans as f64))
            }
        };
        json!({
            "pid": self.pid,
            "cpu_seconds": round3(self.cpu_seconds),
            "cpu_cores_used": round3(self.cpu_seconds / elapsed_seconds.max(1e-9)),
            "cpu_us_per_span": per_span(self.cpu_seconds),
            "cpu_seconds_per_million_spans": per_span(self.cpu_seconds),
            "cpu_seconds_after_settle": self.cpu_seconds_after_settle.map(round3),
            "cpu_us_per_span_after_settle": self.cpu_seconds_after_settle.map(per_span),
            "peak_rss_sampled_mib": self.peak_rss_sampled_bytes.map(mib),
            "vm_hwm_mib": self.vm_hwm_bytes.map(mib),
            "alive_at_end": self.alive_at_end,
        })
    }

    fn human(&self, label: &str, elapsed_seconds: f64, spans: u64, out: &mut String) {
        let per_span_us = if spans == 0 {
            0.0
        } else {
            self.cpu_seconds * 1e6 / spans as f64
        };
        let pid = self
            .pid
            .map(|pid| format!(" (pid {pid})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{label}{pid}: {:.2} CPU-s = {:.2} cores, {:.2} CPU-µs/span, {:.2} CPU-s per million spans",
            self.cpu_seconds,
            self.cpu_seconds / elapsed_seconds.max(1e-9),
            per_span_us,
            per_span_us,
        );
        if let Some(after) = self.cpu_seconds_after_settle {
            let _ = writeln!(
                out,
                "{label}: {after:.2} CPU-s including the settle wait ({:.2} CPU-µs/span)",
                if spans == 0 {
                    0.0
                } else {
                    after * 1e6 / spans as f64
                }
            );
        }
        let rss = self
            .peak_rss_sampled_bytes
            .map(|bytes| format!("peak RSS (sampled) {:.1} MiB", mib(bytes)))
            .unwrap_or_default();
        let hwm = self
            .vm_hwm_bytes
            .map(|bytes| format!("VmHWM {:.1} MiB", mib(bytes)))
            .unwrap_or_default();
        let _ = writeln!(out, "{label}: {rss}  {hwm}");
        if !self.alive_at_end {
            let _ = writeln!(
                out,
                "{label}: WARNING: process went away during the run; CPU is up to its last sample"
            );
        }
    }
}

/// Everything `ingest` measured.
#[derive(Clone, Debug, Default)]
pub(crate) struct IngestReport {
    pub endpoint: String,
    pub client: String,
    pub gzip: bool,
    pub concurrency: usize,
    pub connections: usize,
    pub spans_per_request: usize,
    pub spans_per_trace: usize,
    pub services: usize,
    pub templates: usize,
    pub encoded_bytes_per_span: f64,
    pub elapsed_seconds: f64,
    pub requests_ok: u64,
    pub spans_accepted: u64,
    /// Spans the gateway reported as rejected in an OTLP partial success.
    pub spans_rejected: u64,
    /// Spans in requests that failed for good (after retries).
    pub spans_failed: u64,
    pub bytes_sent: u64,
    /// Requests that failed for good, by gRPC code name.
    pub requests_failed: BTreeMap<String, u64>,
    /// Retried attempts, by gRPC code name.
    pub retries: BTreeMap<String, u64>,
    /// Retried attempts whose status carried a `google.rpc.RetryInfo`.
    pub retries_with_retry_info: u64,
    pub latency: LatencySummary,
    pub gateway: Option<ProcessUsage>,
    pub loadgen: ProcessUsage,
    pub ids_written: Option<(String, usize)>,
}

impl IngestReport {
    pub(crate) fn accepted_spans_per_second(&self) -> f64 {
        self.spans_accepted as f64 / self.elapsed_seconds.max(1e-9)
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "endpoint": self.endpoint,
            "client": self.client,
            "gzip": self.gzip,
            "concurrency": self.concurrency,
            "connections": self.connections,
            "spans_per_request": self.spans_per_request,
            "spans_per_trace": self.spans_per_trace,
            "services": self.services,
            "templates": self.templates,
            "encoded_bytes_per_span": round3(self.encoded_bytes_per_span),
            "elapsed_seconds": round3(self.elapsed_seconds),
            "accepted_spans_per_second": round3(self.accepted_spans_per_second()),
            "sent_mib_per_second": round3(mib(self.bytes_sent) / self.elapsed_seconds.max(1e-9)),
            "requests_ok": self.requests_ok,
            "requests_failed": self.requests_failed,
            "requests_failed_total": self.requests_failed.values().sum::<u64>(),
            "retries": self.retries,
            "retries_with_retry_info": self.retries_with_retry_info,
            "spans_accepted": self.spans_accepted,
            "spans_rejected": self.spans_rejected,
            "spans_failed": self.spans_failed,
            "latency": self.latency.to_json(),
            "gateway": self.gateway.as_ref().map(|usage| usage.to_json(self.elapsed_seconds, self.spans_accepted)),
            "loadgen": self.loadgen.to_json(self.elapsed_seconds, self.spans_accepted),
            "ids_file": self.ids_written.as_ref().map(|(path, _)| path),
            "ids_written": self.ids_written.as_ref().map(|(_, count)| count),
        })
    }

    pub(crate) fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "ingest → {} ({} client{}, {} senders over {} connection(s), {} spans/request, {} spans/trace, {} services)",
            self.endpoint,
            self.client,
            if self.gzip { ", gzip" } else { "" },
            self.concurrency,
            self.connections,
            self.spans_per_request,
            self.spans_per_trace,
            self.services,
        );
        let _ = writeln!(
            out,
            "encoded size: {:.0} bytes/span on average ({} templates)",
            self.encoded_bytes_per_span, self.templates
        );
        let _ = writeln!(
            out,
            "accepted: {} spans in {:.2} s = {:.0} spans/s ({:.2} MiB/s of protobuf)",
            self.spans_accepted,
            self.elapsed_seconds,
            self.accepted_spans_per_second(),
            mib(self.bytes_sent) / self.elapsed_seconds.max(1e-9),
        );
        let failed_total: u64 = self.requests_failed.values().sum();
        let _ = writeln!(
            out,
            "requests: {} ok, {} failed {}; spans rejected (partial success) {}, spans in failed requests {}",
            self.requests_ok,
            failed_total,
            format_counts(&self.requests_failed),
            self.spans_rejected,
            self.spans_failed,
        );
        let retried: u64 = self.retries.values().sum();
        let _ = writeln!(
            out,
            "retries: {} {} ({} with RetryInfo)",
            retried,
            format_counts(&self.retries),
            self.retries_with_retry_info
        );
        let _ = writeln!(out, "latency (ok requests): {}", self.latency.human());
        if let Some(gateway) = &self.gateway {
            gateway.human(
                "gateway",
                self.elapsed_seconds,
                self.spans_accepted,
                &mut out,
            );
        }
        self.loadgen.human(
            "loadgen",
            self.elapsed_seconds,
            self.spans_accepted,
            &mut out,
        );
        if let Some((path, count)) = &self.ids_written {
            let _ = writeln!(out, "wrote {count} trace ids to {path}");
        }
        out
    }
}

/// Everything `lookup` measured.
#[derive(Clone, Debug, Default)]
pub(crate) struct LookupReport {
    pub query: String,
    pub accept: String,
    pub concurrency: usize,
    pub ids_in_file: usize,
    pub elapsed_seconds: f64,
    pub requests: u64,
    /// 200 with at least one span.
    pub found: u64,
    /// Non-200 responses by HTTP status.
    pub non_200: BTreeMap<String, u64>,
    /// 200 with no `resourceSpans` (Tempo's answer for an unknown id).
    pub empty: u64,
    /// Bodies that could not be decoded.
    pub undecodable: u64,
    /// Requests that got no HTTP response (connect error, timeout).
    pub transport_errors: u64,
    /// Found traces whose span count differs from `--expect-spans`.
    pub incomplete: u64,
    pub spans_found: u64,
    pub body_bytes: u64,
    pub latency: LatencySummary,
}

impl LookupReport {
    pub(crate) fn failures(&self) -> u64 {
        self.non_200.values().sum::<u64>() + self.empty + self.undecodable + self.transport_errors
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "query": self.query,
            "accept": self.accept,
            "concurrency": self.concurrency,
            "ids_in_file": self.ids_in_file,
            "elapsed_seconds": round3(self.elapsed_seconds),
            "lookups_per_second": round3(self.requests as f64 / self.elapsed_seconds.max(1e-9)),
            "requests": self.requests,
            "found": self.found,
            "failures": self.failures(),
            "non_200": self.non_200,
            "empty": self.empty,
            "undecodable": self.undecodable,
            "transport_errors": self.transport_errors,
            "incomplete": self.incomplete,
            "mean_spans_per_trace": round3(self.spans_found as f64 / (self.found.max(1)) as f64),
            "mean_body_bytes": round3(self.body_bytes as f64 / (self.requests.max(1)) as f64),
            "latency": self.latency.to_json(),
        })
    }

    pub(crate) fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "lookup ← {} /api/v2/traces/{{id}} (Accept {}, {} worker(s), {} ids in file)",
            self.query, self.accept, self.concurrency, self.ids_in_file
        );
        let _ = writeln!(
            out,
            "requests: {} in {:.2} s = {:.0}/s; found {}, failures {} (non-200 {}, empty {}, undecodable {}, transport {}), incomplete {}",
            self.requests,
            self.elapsed_seconds,
            self.requests as f64 / self.elapsed_seconds.max(1e-9),
            self.found,
            self.failures(),
            format_counts(&self.non_200),
            self.empty,
            self.undecodable,
            self.transport_errors,
            self.incomplete,
        );
        let _ = writeln!(
            out,
            "found traces: {:.1} spans each on average, {:.0} body bytes per response",
            self.spans_found as f64 / self.found.max(1) as f64,
            self.body_bytes as f64 / self.requests.max(1) as f64,
        );
        let _ = writeln!(out, "latency (all responses): {}", self.latency.human());
        out
    }
}

/// One case of `search`: the request and how its timed requests went.
#[derive(Clone, Debug, Default)]
pub(crate) struct SearchCaseReport {
    pub name: String,
    /// The request as written, with `<svc>`, `<span name>`, `<now-…>`, `<now>` placeholders.
    pub request: String,
    /// What the placeholders stand for.
    pub placeholders: Vec<String>,
    /// The first timed request as sent (full URL, percent-encoded).
    pub example: String,
    /// What `results` counts: traces, tags, values or series.
    pub result_unit: String,
    pub elapsed_seconds: f64,
    pub requests: u64,
    /// 200 answers that decoded.
    pub answered: u64,
    /// Non-200 responses by HTTP status.
    pub non_200: BTreeMap<String, u64>,
    /// Requests that got no HTTP response (connect error, timeout).
    pub transport_errors: u64,
    /// 200 answers that were not the expected JSON.
    pub undecodable: u64,
    /// Results summed over the answered requests.
    pub results: u64,
    pub latency: LatencySummary,
}

impl SearchCaseReport {
    /// Non-200 answers plus transport failures.
    pub(crate) fn errors(&self) -> u64 {
        self.non_200.values().sum::<u64>() + self.transport_errors
    }

    /// Results per answered request.
    pub(crate) fn mean_results(&self) -> f64 {
        self.results as f64 / self.answered.max(1) as f64
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "request": self.request,
            "placeholders": self.placeholders,
            "example": self.example,
            "elapsed_seconds": round3(self.elapsed_seconds),
            "requests": self.requests,
            "errors": self.errors(),
            "non_200": self.non_200,
            "transport_errors": self.transport_errors,
            "undecodable": self.undecodable,
            "answered": self.answered,
            "result_unit": self.result_unit,
            "mean_results": round3(self.mean_results()),
            "latency": self.latency.to_json(),
        })
    }
}

/// Everything `search` measured.
#[derive(Clone, Debug, Default)]
pub(crate) struct SearchReport {
    pub query: String,
    pub window_seconds: u64,
    pub concurrency: usize,
    pub count: usize,
    pub warmup: usize,
    pub seed: u64,
    pub services: usize,
    pub elapsed_seconds: f64,
    pub cases: Vec<SearchCaseReport>,
}

impl SearchReport {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "query": self.query,
            "window_seconds": self.window_seconds,
            "concurrency": self.concurrency,
            "count": self.count,
            "warmup": self.warmup,
            "seed": self.seed,
            "services": self.services,
            "elapsed_seconds": round3(self.elapsed_seconds),
            "cases": self.cases.iter().map(SearchCaseReport::to_json).collect::<Vec<_>>(),
        })
    }

    pub(crate) fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "search ← {} (window {} s ending at each request, {} worker(s), {} warm-up + {} timed requests per case, seed {}, {} services)",
            self.query,
            self.window_seconds,
            self.concurrency,
            self.warmup,
            self.count,
            self.seed,
            self.services,
        );
        let _ = writeln!(
            out,
            "{:<22} {:>8} {:>6} {:>9} {:>9} {:>9} {:>9}  mean results",
            "case", "requests", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms"
        );
        for case in &self.cases {
            let ms = |micros: u64| micros as f64 / 1e3;
            let _ = writeln!(
                out,
                "{:<22} {:>8} {:>6} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {:.1} {}",
                case.name,
                case.requests,
                case.errors(),
                ms(case.latency.p50_us),
                ms(case.latency.p95_us),
                ms(case.latency.p99_us),
                ms(case.latency.max_us),
                case.mean_results(),
                case.result_unit,
            );
        }
        let _ = writeln!(
            out,
            "requests (start/end are unix seconds, computed per request):"
        );
        for case in &self.cases {
            let _ = writeln!(out, "{}: {}", case.name, case.request);
            for placeholder in &case.placeholders {
                let _ = writeln!(out, "    {placeholder}");
            }
            let _ = writeln!(out, "    first request: {}", case.example);
            if case.errors() + case.undecodable > 0 {
                let _ = writeln!(
                    out,
                    "    failures: non-200 {}, transport {}, undecodable {}",
                    format_counts(&case.non_200),
                    case.transport_errors,
                    case.undecodable,
                );
            }
        }
        out
    }
}

fn format_counts(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "{}".to_string();
    }
    let inner: Vec<String> = counts
        .iter()
        .map(|(key, count)| format!("{key}: {count}"))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn round3(value: f64) -> f64 {
    (value * 1e3).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let summary = LatencySummary::from_micros((1..=100).rev().collect());
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50_us, 50);
        assert_eq!(summary.p90_us, 90);
        assert_eq!(summary.p95_us, 95);
        assert_eq!(summary.p99_us, 99);
        assert_eq!(summary.max_us, 100);
        assert!((summary.mean_us - 50.5).abs() < 1e-9);
        let single = LatencySummary::from_micros(vec![7]);
        assert_eq!((single.p50_us, single.p99_us, single.max_us), (7, 7, 7));
        assert_eq!(LatencySummary::from_micros(Vec::new()).count, 0);
        // 20 samples: p95 is the 19th, p99 and max the 20th; p50 the 10th.
        let twenty = LatencySummary::from_micros((1..=20).map(|n| n * 10).collect());
        assert_eq!(
            (twenty.p50_us, twenty.p95_us, twenty.p99_us, twenty.max_us),
            (100, 190, 200, 200)
        );
        assert_eq!(nearest_rank(&[5, 6, 7], 0.0), 5);
        assert_eq!(nearest_rank(&[5, 6, 7], 0.34), 6);
        assert_eq!(nearest_rank(&[5, 6, 7], 1.0), 7);
    }

    #[test]
    fn ingest_json_has_the_headline_numbers() {
        let report = IngestReport {
            elapsed_seconds: 10.0,
            spans_accepted: 1_000_000,
            gateway: Some(ProcessUsage {
                pid: Some(1),
                cpu_seconds: 5.0,
                alive_at_end: true,
                ..ProcessUsage::default()
            }),
            ..IngestReport::default()
        };
        let json = report.to_json();
        assert_eq!(json["accepted_spans_per_second"], 100_000.0);
        assert_eq!(json["gateway"]["cpu_us_per_span"], 5.0);
        assert_eq!(json["gateway"]["cpu_seconds_per_million_spans"], 5.0);
        assert_eq!(json["gateway"]["cpu_cores_used"], 0.5);
        assert!(report.human().contains("100000 spans/s"));
    }

    #[test]
    fn search_report_shows_each_case_and_its_request() {
        let case = SearchCaseReport {
            name: "d_tags".to_string(),
            request: "GET /api/v2/search/tags?start=<now-3600>&end=<now>".to_string(),
            example: "http://h/api/v2/search/tags?start=1&end=3601".to_string(),
            result_unit: "tags".to_string(),
            requests: 4,
            answered: 2,
            results: 5,
            non_200: BTreeMap::from([("404".to_string(), 2)]),
            latency: LatencySummary::from_micros(vec![1_000, 2_000, 3_000, 4_000]),
            ..SearchCaseReport::default()
        };
        let report = SearchReport {
            window_seconds: 3600,
            cases: vec![case],
            ..SearchReport::default()
        };
        let json = report.to_json();
        assert_eq!(json["cases"][0]["errors"], 2);
        assert_eq!(json["cases"][0]["mean_results"], 2.5);
        assert_eq!(json["cases"][0]["latency"]["p95_ms"], 4.0);
        let text = report.human();
        assert!(text.contains("d_tags: GET /api/v2/search/tags?start=<now-3600>&end=<now>"));
        assert!(text.contains("2.5 tags"), "{text}");
        assert!(text.contains("non-200 {404: 2}"), "{text}");
    }
}
