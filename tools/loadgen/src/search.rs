//! `search`: latency of the Tempo search endpoints over a fixed suite of requests that hit
//! what `ingest` generates.
//!
//! The suite (`Case::ALL`, names are stable; BENCHMARKS.md cites them):
//!
//! | case | request |
//! | --- | --- |
//! | `a_builder` | `/api/search?q={resource.service.name="<svc>" && name="<span name>" && duration>100ms}&limit=20&spss=3` |
//! | `a_builder_error` | the same with `&& status=error` |
//! | `b_unindexed_regex` | `/api/search?q={span.enduser.id=~"user-4[0-9]{2}"}&limit=20&spss=3` |
//! | `c_error_count` | `/api/search?q={ status = error } \| count() > 2&limit=20&spss=3` |
//! | `d_tags` | `/api/v2/search/tags` |
//! | `d_tag_values_service` | `/api/v2/search/tag/resource.service.name/values` |
//! | `d_tag_values_filtered` | `/api/v2/search/tag/name/values?q={resource.service.name="<svc>"}` |
//! | `e_rate_by_service` | `/api/metrics/query_range?q={} \| rate() by (resource.service.name)&step=60s` |
//!
//! Every request also carries `start=<now − window>&end=<now>` in unix seconds, computed when it
//! is sent. `<svc>` is one of the first `--services` generator services and `<span name>` one of
//! the generator's SERVER span names (`GET /api/products/{id}`, …); both are drawn per request
//! from `--seed`, so a run is repeatable. The `a_*` queries are what Grafana's Search builder
//! emits (no spaces around operators, ` && ` between filters). `enduser.id` (`user-1` …
//! `user-49999` on every span) is not among the attributes the gateway indexes by default;
//! TraceQL regexes are fully anchored, so the pattern matches `user-400` … `user-499`, 0.2 % of
//! the ids.
//!
//! Cases run one after the other; within a case `--concurrency` threads take the next request
//! from a shared list, first `--warmup` untimed ones, then `--count` timed ones. A request is
//! timed from send to the end of the body. Non-200 answers and transport failures are errors;
//! a 200 answer's results are counted: `traces` of a search, tags over all `scopes` of the
//! tag-name answer, `tagValues`, metric `series` (Tempo omits empty lists, so a missing list
//! counts as 0).

use std::{
    fs,
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail, ensure};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use serde_json::Value;
use spangate_loadgen::generate;

use crate::{
    SearchArgs,
    report::{LatencySummary, SearchCaseReport, SearchReport},
};

/// Traces per search answer (Grafana's default).
const LIMIT: &str = "20";
/// Spans per spanset (Grafana's default).
const SPANS_PER_SPANSET: &str = "3";
/// Step of the metrics query.
const STEP: &str = "60s";
/// `b_unindexed_regex`: an attribute on every span that the gateway does not index by default.
const UNINDEXED_REGEX_QUERY: &str = r#"{span.enduser.id=~"user-4[0-9]{2}"}"#;
/// `c_error_count`.
const ERROR_COUNT_QUERY: &str = "{ status = error } | count() > 2";
/// `e_rate_by_service`.
const RATE_BY_SERVICE_QUERY: &str = "{} | rate() by (resource.service.name)";

/// One request kind of the suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    Builder,
    BuilderError,
    UnindexedRegex,
    ErrorCount,
    Tags,
    TagValuesService,
    TagValuesFiltered,
    RateByService,
}

/// What a successful answer is counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Traces,
    Tags,
    Values,
    Series,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Traces => "traces",
            Unit::Tags => "tags",
            Unit::Values => "values",
            Unit::Series => "series",
        }
    }
}

impl Case {
    pub(crate) const ALL: [Case; 8] = [
        Case::Builder,
        Case::BuilderError,
        Case::UnindexedRegex,
        Case::ErrorCount,
        Case::Tags,
        Case::TagValuesService,
        Case::TagValuesFiltered,
        Case::RateByService,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Case::Builder => "a_builder",
            Case::BuilderError => "a_builder_error",
            Case::UnindexedRegex => "b_unindexed_regex",
            Case::ErrorCount => "c_error_count",
            Case::Tags => "d_tags",
            Case::TagValuesService => "d_tag_values_service",
            Case::TagValuesFiltered => "d_tag_values_filtered",
            Case::RateByService => "e_rate_by_service",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|case| case.name() == name)
    }

    fn unit(self) -> Unit {
        match self {
            Case::Builder | Case::BuilderError | Case::UnindexedRegex | Case::ErrorCount => {
                Unit::Traces
            }
            Case::Tags => Unit::Tags,
            Case::TagValuesService | Case::TagValuesFiltered => Unit::Values,
            Case::RateByService => Unit::Series,
        }
    }

    fn uses_service(self) -> bool {
        matches!(
            self,
            Case::Builder | Case::BuilderError | Case::TagValuesFiltered
        )
    }

    fn uses_span_name(self) -> bool {
        matches!(self, Case::Builder | Case::BuilderError)
    }

    /// The request for one service/span-name pick and window (`start`, `end` as text so the
    /// report can show placeholders).
    fn request(self, service: &str, span_name: &str, start: &str, end: &str) -> Request {
        let search = |query: String| Request {
            path: "/api/search".to_string(),
            params: vec![
                ("q", query),
                ("limit", LIMIT.to_string()),
                ("spss", SPANS_PER_SPANSET.to_string()),
            ],
        };
        let mut request = match self {
            Case::Builder => search(builder_query(service, span_name, false)),
            Case::BuilderError => search(builder_query(service, span_name, true)),
            Case::UnindexedRegex => search(UNINDEXED_REGEX_QUERY.to_string()),
            Case::ErrorCount => search(ERROR_COUNT_QUERY.to_string()),
            Case::Tags => Request {
                path: "/api/v2/search/tags".to_string(),
                params: Vec::new(),
            },
            Case::TagValuesService => Request {
                path: "/api/v2/search/tag/resource.service.name/values".to_string(),
                params: Vec::new(),
            },
            Case::TagValuesFiltered => Request {
                path: "/api/v2/search/tag/name/values".to_string(),
                params: vec![(
                    "q",
                    format!("{{resource.service.name={}}}", quoted(service)),
                )],
            },
            Case::RateByService => Request {
                path: "/api/metrics/query_range".to_string(),
                params: vec![("q", RATE_BY_SERVICE_QUERY.to_string())],
            },
        };
        request.params.push(("start", start.to_string()));
        request.params.push(("end", end.to_string()));
        if self == Case::RateByService {
            request.params.push(("step", STEP.to_string()));
        }
        request
    }
}

/// Grafana's Search-builder output for service, span name and `duration>100ms`.
fn builder_query(service: &str, span_name: &str, error: bool) -> String {
    format!(
        "{{resource.service.name={} && name={} && duration>100ms{}}}",
        quoted(service),
        quoted(span_name),
        if error { " && status=error" } else { "" }
    )
}

/// A TraceQL string literal.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A GET request: path plus query parameters, not yet encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Request {
    path: String,
    params: Vec<(&'static str, String)>,
}

impl Request {
    /// Path and query as sent, parameter values percent-encoded.
    fn path_and_query(&self) -> String {
        let mut out = self.path.clone();
        for (position, (key, value)) in self.params.iter().enumerate() {
            out.push(if position == 0 { '?' } else { '&' });
            out.push_str(key);
            out.push('=');
            out.push_str(&percent_encode(value));
        }
        out
    }

    fn url(&self, base: &str) -> String {
        format!("{base}{}", self.path_and_query())
    }

    /// `GET path?k=v&…` with values as written, for people.
    fn display(&self) -> String {
        let mut out = format!("GET {}", self.path);
        for (position, (key, value)) in self.params.iter().enumerate() {
            out.push(if position == 0 { '?' } else { '&' });
            out.push_str(&format!("{key}={value}"));
        }
        out
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (so a space is `%20`, never
/// `+`, and `{`, `}`, `"`, `=`, `&`, `|` are escaped).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The values `<svc>` and `<span name>` are drawn from.
struct Vocabulary {
    services: Vec<String>,
    span_names: Vec<String>,
}

/// One request's choice: indexes into the vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pick {
    service: usize,
    span_name: usize,
}

/// `count` picks for `case`, the same for the same seed whichever cases run.
fn picks(case: Case, vocabulary: &Vocabulary, seed: u64, count: usize) -> Vec<Pick> {
    let case_index = Case::ALL
        .iter()
        .position(|other| *other == case)
        .unwrap_or(0) as u64;
    let mut rng =
        SmallRng::seed_from_u64(seed ^ (case_index + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    (0..count)
        .map(|_| Pick {
            service: rng.random_range(0..vocabulary.services.len()),
            span_name: rng.random_range(0..vocabulary.span_names.len()),
        })
        .collect()
}

/// How one request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Answered { results: u64 },
    Undecodable,
    Status(u16),
    Transport,
}

struct Sample {
    outcome: Outcome,
    latency_us: u64,
}

pub(crate) fn run(args: &SearchArgs) -> Result<()> {
    let cases = selected_cases(&args.only)?;
    let window_seconds = args.window.as_secs();
    ensure!(
        window_seconds >= 1,
        "--window must be at least 1s (start/end are whole seconds)"
    );
    let vocabulary = Vocabulary {
        services: (0..args.services as usize)
            .map(generate::service_name)
            .collect(),
        span_names: generate::server_span_names(),
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(args.timeout)
        .build()
        .context("building the HTTP client")?;
    let base = args.query.trim_end_matches('/');
    let warmup = args.warmup as usize;
    let count = args.count as usize;
    let concurrency = args.concurrency as usize;

    let started = Instant::now();
    let mut report = SearchReport {
        query: base.to_string(),
        window_seconds,
        concurrency,
        count,
        warmup,
        seed: args.seed,
        services: vocabulary.services.len(),
        ..SearchReport::default()
    };
    for case in cases {
        let picks = picks(case, &vocabulary, args.seed, warmup + count);
        let phase = |picks: &[Pick]| {
            run_phase(
                &client,
                base,
                case,
                &vocabulary,
                picks,
                window_seconds,
                concurrency,
            )
        };
        phase(&picks[..warmup]);
        let case_started = Instant::now();
        let (samples, first_url) = phase(&picks[warmup..]);
        let mut case_report = case_report(case, &vocabulary, window_seconds, samples);
        case_report.elapsed_seconds = case_started.elapsed().as_secs_f64();
        case_report.example = first_url.unwrap_or_default();
        report.cases.push(case_report);
    }
    report.elapsed_seconds = started.elapsed().as_secs_f64();

    let json = report.to_json();
    if let Some(path) = &args.json_out {
        fs::write(path, format!("{json}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{json}");
    } else {
        print!("{}", report.human());
    }
    let failed: u64 = report
        .cases
        .iter()
        .map(|case| case.errors() + case.undecodable)
        .sum();
    if args.fail_on_error && failed > 0 {
        bail!("{failed} search requests failed");
    }
    Ok(())
}

/// The cases named in `--only` (all when empty), in suite order.
fn selected_cases(only: &[String]) -> Result<Vec<Case>> {
    for name in only {
        ensure!(
            Case::from_name(name).is_some(),
            "unknown case {name:?}; the cases are {}",
            Case::ALL.map(Case::name).join(", ")
        );
    }
    Ok(Case::ALL
        .into_iter()
        .filter(|case| only.is_empty() || only.iter().any(|name| name == case.name()))
        .collect())
}

/// Sends one request per pick over `concurrency` threads; returns the samples and the URL of the
/// first request.
fn run_phase(
    client: &reqwest::blocking::Client,
    base: &str,
    case: Case,
    vocabulary: &Vocabulary,
    picks: &[Pick],
    window_seconds: u64,
    concurrency: usize,
) -> (Vec<Sample>, Option<String>) {
    let next = AtomicUsize::new(0);
    let first_url = Mutex::new(None);
    let samples = thread::scope(|scope| {
        let handles: Vec<_> = (0..concurrency.min(picks.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut samples = Vec::new();
                    loop {
                        let position = next.fetch_add(1, Ordering::Relaxed);
                        let Some(pick) = picks.get(position) else {
                            break;
                        };
                        let end = unix_seconds();
                        let start = end.saturating_sub(window_seconds);
                        let url = case
                            .request(
                                &vocabulary.services[pick.service],
                                &vocabulary.span_names[pick.span_name],
                                &start.to_string(),
                                &end.to_string(),
                            )
                            .url(base);
                        let request_started = Instant::now();
                        let outcome = fetch(client, &url, case.unit());
                        samples.push(Sample {
                            outcome,
                            latency_us: elapsed_us(request_started),
                        });
                        if position == 0 {
                            *first_url.lock().expect("first url lock") = Some(url);
                        }
                    }
                    samples
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("search worker panicked"))
            .collect()
    });
    let first_url = first_url.into_inner().expect("first url lock");
    (samples, first_url)
}

fn case_report(
    case: Case,
    vocabulary: &Vocabulary,
    window_seconds: u64,
    samples: Vec<Sample>,
) -> SearchCaseReport {
    let template = case.request(
        "<svc>",
        "<span name>",
        &format!("<now-{window_seconds}>"),
        "<now>",
    );
    let mut placeholders = Vec::new();
    if case.uses_service() {
        placeholders.push(format!(
            "<svc> = one of {} (drawn per request)",
            vocabulary.services.join(", ")
        ));
    }
    if case.uses_span_name() {
        placeholders.push(format!(
            "<span name> = one of {} (drawn per request)",
            vocabulary.span_names.join(", ")
        ));
    }
    let mut report = SearchCaseReport {
        name: case.name().to_string(),
        request: template.display(),
        placeholders,
        result_unit: case.unit().name().to_string(),
        ..SearchCaseReport::default()
    };
    let mut latencies = Vec::with_capacity(samples.len());
    for sample in samples {
        latencies.push(sample.latency_us);
        tally(&mut report, sample.outcome);
    }
    report.latency = LatencySummary::from_micros(latencies);
    report
}

fn tally(report: &mut SearchCaseReport, outcome: Outcome) {
    report.requests += 1;
    match outcome {
        Outcome::Answered { results } => {
            report.answered += 1;
            report.results += results;
        }
        Outcome::Undecodable => report.undecodable += 1,
        Outcome::Status(status) => *report.non_200.entry(status.to_string()).or_default() += 1,
        Outcome::Transport => report.transport_errors += 1,
    }
}

fn fetch(client: &reqwest::blocking::Client, url: &str, unit: Unit) -> Outcome {
    let response = match client.get(url).header("Accept", "application/json").send() {
        Ok(response) => response,
        Err(_) => return Outcome::Transport,
    };
    let status = response.status().as_u16();
    let Ok(body) = response.bytes() else {
        return Outcome::Transport;
    };
    if status != 200 {
        return Outcome::Status(status);
    }
    match count_results(unit, &body) {
        Some(results) => Outcome::Answered { results },
        None => Outcome::Undecodable,
    }
}

/// Results in a 200 answer, or `None` if it is not a JSON object of the expected shape.
fn count_results(unit: Unit, body: &[u8]) -> Option<u64> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    let list_len = |key: &str| -> Option<u64> {
        match object.get(key) {
            None | Some(Value::Null) => Some(0),
            Some(Value::Array(items)) => Some(items.len() as u64),
            Some(_) => None,
        }
    };
    match unit {
        Unit::Traces => list_len("traces"),
        Unit::Values => list_len("tagValues"),
        Unit::Series => list_len("series"),
        Unit::Tags => match object.get("scopes") {
            None | Some(Value::Null) => Some(0),
            Some(Value::Array(scopes)) => scopes.iter().try_fold(0, |total, scope| {
                let tags = match scope.get("tags") {
                    None | Some(Value::Null) => 0,
                    Some(Value::Array(tags)) => tags.len() as u64,
                    Some(_) => return None,
                };
                Some(total + tags)
            }),
            Some(_) => None,
        },
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0)
}

fn elapsed_us(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        Vocabulary {
            services: (0..10).map(generate::service_name).collect(),
            span_names: generate::server_span_names(),
        }
    }

    #[test]
    fn names_round_trip_and_are_the_documented_ones() {
        let names: Vec<&str> = Case::ALL.iter().map(|case| case.name()).collect();
        assert_eq!(
            names,
            [
                "a_builder",
                "a_builder_error",
                "b_unindexed_regex",
                "c_error_count",
                "d_tags",
                "d_tag_values_service",
                "d_tag_values_filtered",
                "e_rate_by_service",
            ]
        );
        for case in Case::ALL {
            assert_eq!(Case::from_name(case.name()), Some(case));
        }
        assert!(selected_cases(&["nope".to_string()]).is_err());
        assert_eq!(
            selected_cases(&["e_rate_by_service".to_string(), "d_tags".to_string()]).unwrap(),
            [Case::Tags, Case::RateByService]
        );
        assert_eq!(selected_cases(&[]).unwrap().len(), 8);
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("abc-XYZ_0.9~"), "abc-XYZ_0.9~");
        assert_eq!(
            percent_encode(r#"{resource.service.name="cart"}"#),
            "%7Bresource.service.name%3D%22cart%22%7D"
        );
        assert_eq!(percent_encode("a b+c&d|e/f"), "a%20b%2Bc%26d%7Ce%2Ff");
        assert_eq!(percent_encode("µ"), "%C2%B5");
    }

    #[test]
    fn builder_urls() {
        let request = Case::Builder.request("cart", "GET /api/products/{id}", "100", "3700");
        assert_eq!(
            request.display(),
            r#"GET /api/search?q={resource.service.name="cart" && name="GET /api/products/{id}" && duration>100ms}&limit=20&spss=3&start=100&end=3700"#
        );
        assert_eq!(
            request.url("http://127.0.0.1:3200"),
            "http://127.0.0.1:3200/api/search?q=%7Bresource.service.name%3D%22cart%22%20%26%26%20\
             name%3D%22GET%20%2Fapi%2Fproducts%2F%7Bid%7D%22%20%26%26%20duration%3E100ms%7D\
             &limit=20&spss=3&start=100&end=3700"
        );
        let error = Case::BuilderError.request("cart", "POST /api/checkout", "1", "2");
        assert_eq!(
            error.params[0].1,
            r#"{resource.service.name="cart" && name="POST /api/checkout" && duration>100ms && status=error}"#
        );
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn other_urls() {
        let url = |case: Case| {
            case.request("email", "unused", "10", "20")
                .url("http://h:1")
        };
        assert_eq!(
            url(Case::UnindexedRegex),
            "http://h:1/api/search?q=%7Bspan.enduser.id%3D~%22user-4%5B0-9%5D%7B2%7D%22%7D\
             &limit=20&spss=3&start=10&end=20"
        );
        assert_eq!(
            url(Case::ErrorCount),
            "http://h:1/api/search?q=%7B%20status%20%3D%20error%20%7D%20%7C%20count%28%29%20%3E%202\
             &limit=20&spss=3&start=10&end=20"
        );
        assert_eq!(
            url(Case::Tags),
            "http://h:1/api/v2/search/tags?start=10&end=20"
        );
        assert_eq!(
            url(Case::TagValuesService),
            "http://h:1/api/v2/search/tag/resource.service.name/values?start=10&end=20"
        );
        assert_eq!(
            url(Case::TagValuesFiltered),
            "http://h:1/api/v2/search/tag/name/values?q=%7Bresource.service.name%3D%22email%22%7D\
             &start=10&end=20"
        );
        assert_eq!(
            url(Case::RateByService),
            "http://h:1/api/metrics/query_range?q=%7B%7D%20%7C%20rate%28%29%20by%20%28resource.service.name%29\
             &start=10&end=20&step=60s"
        );
        assert_eq!(
            Case::RateByService
                .request("", "", "<now-3600>", "<now>")
                .display(),
            "GET /api/metrics/query_range?q={} | rate() by (resource.service.name)&start=<now-3600>&end=<now>&step=60s"
        );
    }

    #[test]
    fn picks_are_seeded_and_cover_the_vocabulary() {
        let vocabulary = vocabulary();
        let first = picks(Case::Builder, &vocabulary, 7, 500);
        assert_eq!(first, picks(Case::Builder, &vocabulary, 7, 500));
        assert_ne!(first, picks(Case::Builder, &vocabulary, 8, 500));
        assert_ne!(first, picks(Case::BuilderError, &vocabulary, 7, 500));
        let services: std::collections::HashSet<usize> =
            first.iter().map(|pick| pick.service).collect();
        let span_names: std::collections::HashSet<usize> =
            first.iter().map(|pick| pick.span_name).collect();
        assert_eq!(services.len(), 10);
        assert_eq!(span_names.len(), vocabulary.span_names.len());
    }

    #[test]
    fn counting_results() {
        let traces = br#"{"traces":[{"traceID":"1"},{"traceID":"2"}],"metrics":{}}"#;
        assert_eq!(count_results(Unit::Traces, traces), Some(2));
        assert_eq!(
            count_results(Unit::Traces, br#"{"metrics":{"inspectedTraces":3}}"#),
            Some(0)
        );
        let scopes = br#"{"scopes":[{"name":"resource","tags":["service.name"]},{"name":"span","tags":["a","b"]},{"name":"link"}]}"#;
        assert_eq!(count_results(Unit::Tags, scopes), Some(3));
        assert_eq!(
            count_results(Unit::Tags, br#"{"scopes":[{"tags":"x"}]}"#),
            None
        );
        let values = br#"{"tagValues":[{"type":"string","value":"cart"}]}"#;
        assert_eq!(count_results(Unit::Values, values), Some(1));
        assert_eq!(
            count_results(Unit::Series, br#"{"series":[{"labels":[]},{}]}"#),
            Some(2)
        );
        assert_eq!(count_results(Unit::Series, br#"{"series":3}"#), None);
        assert_eq!(count_results(Unit::Traces, b"[]"), None);
        assert_eq!(count_results(Unit::Traces, b"not json"), None);
    }

    #[test]
    fn tallying_and_report_template() {
        let samples = vec![
            Sample {
                outcome: Outcome::Answered { results: 4 },
                latency_us: 1_000,
            },
            Sample {
                outcome: Outcome::Answered { results: 2 },
                latency_us: 3_000,
            },
            Sample {
                outcome: Outcome::Status(400),
                latency_us: 500,
            },
            Sample {
                outcome: Outcome::Transport,
                latency_us: 10_000,
            },
            Sample {
                outcome: Outcome::Undecodable,
                latency_us: 2_000,
            },
        ];
        let report = case_report(Case::TagValuesFiltered, &vocabulary(), 3600, samples);
        assert_eq!(report.requests, 5);
        assert_eq!(report.errors(), 2);
        assert_eq!(report.undecodable, 1);
        assert_eq!(report.mean_results(), 3.0);
        assert_eq!(report.latency.p50_us, 2_000);
        assert_eq!(report.latency.max_us, 10_000);
        assert_eq!(
            report.request,
            r#"GET /api/v2/search/tag/name/values?q={resource.service.name="<svc>"}&start=<now-3600>&end=<now>"#
        );
        assert_eq!(report.placeholders.len(), 1);
        assert!(report.placeholders[0].contains("frontend, checkout"));
    }
}
