//! `lookup`: trace-by-id latency against `GET /api/v2/traces/{id}`.
//!
//! Each worker thread takes the next id from a shared list and times the whole request including
//! reading the body. A 200 whose trace has no `resourceSpans` counts as a failure: that is how
//! Tempo (and Grafana after it) says "not found" on the v2 path.

use std::{
    fs,
    sync::atomic::{AtomicUsize, Ordering},
    thread,
    time::Instant,
};

use anyhow::{Context, Result, bail, ensure};
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use prost::Message;
use rand::{Rng, SeedableRng, rngs::SmallRng, seq::index};
use serde_json::Value;

use crate::{
    Accept, LookupArgs,
    report::{LatencySummary, LookupReport},
};

/// `tempopb.TraceByIDResponse`, only the field we read (`metrics`, `status`, `message` are
/// skipped by prost as unknown fields).
#[derive(Clone, PartialEq, Message)]
struct TraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    trace: Option<Trace>,
}

/// `tempopb.Trace`: wire-identical to OTLP `TracesData`.
#[derive(Clone, PartialEq, Message)]
struct Trace {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<ResourceSpans>,
}

/// How one lookup ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Found { spans: u64 },
    Empty,
    Undecodable,
    Status(u16),
    Transport,
}

#[derive(Default)]
struct WorkerStats {
    outcomes: Vec<Outcome>,
    latencies_us: Vec<u64>,
    body_bytes: u64,
}

pub(crate) fn run(args: &LookupArgs) -> Result<()> {
    let text = fs::read_to_string(&args.ids)
        .with_context(|| format!("reading ids file {}", args.ids.display()))?;
    let all_ids = parse_ids(&text)?;
    ensure!(
        !all_ids.is_empty(),
        "{} holds no trace ids",
        args.ids.display()
    );
    let mut rng = SmallRng::seed_from_u64(args.seed.unwrap_or_else(rand::random));
    let chosen = choose_ids(&all_ids, args.count, &mut rng);

    let client = reqwest::blocking::Client::builder()
        .timeout(args.timeout)
        .build()
        .context("building the HTTP client")?;
    let accept = match args.accept {
        Accept::Protobuf => "application/protobuf",
        Accept::Json => "application/json",
    };
    let base = args.query.trim_end_matches('/');
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let workers: Vec<WorkerStats> = thread::scope(|scope| {
        let handles: Vec<_> = (0..args.concurrency)
            .map(|_| {
                scope.spawn(|| {
                    let mut stats = WorkerStats::default();
                    loop {
                        let position = next.fetch_add(1, Ordering::Relaxed);
                        let Some(id) = chosen.get(position) else {
                            break;
                        };
                        let url = format!("{base}/api/v2/traces/{id}");
                        let request_started = Instant::now();
                        let (outcome, bytes) = fetch(&client, &url, accept, args.accept);
                        stats.latencies_us.push(elapsed_us(request_started));
                        stats.body_bytes += bytes;
                        stats.outcomes.push(outcome);
                    }
                    stats
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("lookup worker panicked"))
            .collect()
    });
    let elapsed_seconds = started.elapsed().as_secs_f64();

    let mut report = LookupReport {
        query: base.to_string(),
        accept: accept.to_string(),
        concurrency: args.concurrency as usize,
        ids_in_file: all_ids.len(),
        elapsed_seconds,
        ..LookupReport::default()
    };
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.latencies_us);
        report.body_bytes += worker.body_bytes;
        for outcome in worker.outcomes {
            tally(&mut report, outcome, args.expect_spans);
        }
    }
    report.latency = LatencySummary::from_micros(latencies);

    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.human());
    }
    if args.fail_on_miss && report.failures() > 0 {
        bail!(
            "{} of {} lookups failed",
            report.failures(),
            report.requests
        );
    }
    Ok(())
}

fn tally(report: &mut LookupReport, outcome: Outcome, expect_spans: Option<u64>) {
    report.requests += 1;
    match outcome {
        Outcome::Found { spans } => {
            report.found += 1;
            report.spans_found += spans;
            if expect_spans.is_some_and(|expected| expected != spans) {
                report.incomplete += 1;
            }
        }
        Outcome::Empty => report.empty += 1,
        Outcome::Undecodable => report.undecodable += 1,
        Outcome::Status(status) => *report.non_200.entry(status.to_string()).or_default() += 1,
        Outcome::Transport => report.transport_errors += 1,
    }
}

fn fetch(
    client: &reqwest::blocking::Client,
    url: &str,
    accept_header: &str,
    accept: Accept,
) -> (Outcome, u64) {
    let response = match client.get(url).header("Accept", accept_header).send() {
        Ok(response) => response,
        Err(_) => return (Outcome::Transport, 0),
    };
    let status = response.status().as_u16();
    let body = match response.bytes() {
        Ok(body) => body,
        Err(_) => return (Outcome::Transport, 0),
    };
    let bytes = body.len() as u64;
    if status != 200 {
        return (Outcome::Status(status), bytes);
    }
    let spans = match accept {
        Accept::Protobuf => protobuf_span_count(&body),
        Accept::Json => json_span_count(&body),
    };
    let outcome = match spans {
        Some(0) => Outcome::Empty,
        Some(spans) => Outcome::Found { spans },
        None => Outcome::Undecodable,
    };
    (outcome, bytes)
}

/// Spans in a protobuf `TraceByIDResponse`, or `None` if it does not decode.
fn protobuf_span_count(body: &[u8]) -> Option<u64> {
    let response = TraceByIdResponse::decode(body).ok()?;
    let spans = response
        .trace
        .map(|trace| {
            trace
                .resource_spans
                .iter()
                .flat_map(|resource_spans| &resource_spans.scope_spans)
                .map(|scope_spans| scope_spans.spans.len() as u64)
                .sum()
        })
        .unwrap_or(0);
    Some(spans)
}

/// Spans in a JSON `TraceByIDResponse` (`{"trace":{"resourceSpans":[…]}}`), also accepting the v1
/// shape (`{"batches":[…]}`); `None` if the body is not such JSON.
fn json_span_count(body: &[u8]) -> Option<u64> {
    let value: Value = serde_json::from_slice(body).ok()?;
    if !value.is_object() {
        return None;
    }
    let resource_spans = value
        .pointer("/trace/resourceSpans")
        .or_else(|| value.get("batches"))
        .and_then(Value::as_array);
    let spans = resource_spans
        .into_iter()
        .flatten()
        .filter_map(|resource_spans| resource_spans.get("scopeSpans")?.as_array())
        .flatten()
        .filter_map(|scope_spans| scope_spans.get("spans")?.as_array())
        .map(|spans| spans.len() as u64)
        .sum();
    Some(spans)
}

/// Hex trace ids, one per line; blank lines and `#` comments are skipped.
fn parse_ids(text: &str) -> Result<Vec<String>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            ensure!(
                line.len() <= 32 && line.chars().all(|character| character.is_ascii_hexdigit()),
                "not a hex trace id: {line:?}"
            );
            Ok(line.to_ascii_lowercase())
        })
        .collect()
}

/// `count` ids at random: without repetition while the file has enough, with repetition beyond.
fn choose_ids<R: Rng>(ids: &[String], count: usize, rng: &mut R) -> Vec<String> {
    if count <= ids.len() {
        index::sample(rng, ids.len(), count)
            .into_iter()
            .map(|position| ids[position].clone())
            .collect()
    } else {
        (0..count)
            .map(|_| ids[rng.random_range(0..ids.len())].clone())
            .collect()
    }
}

fn elapsed_us(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Span};

    #[test]
    fn protobuf_bodies() {
        let trace = Trace {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span::default(), Span::default()],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let found = TraceByIdResponse { trace: Some(trace) }.encode_to_vec();
        assert_eq!(protobuf_span_count(&found), Some(2));
        let empty = TraceByIdResponse { trace: None }.encode_to_vec();
        assert_eq!(protobuf_span_count(&empty), Some(0));
        assert_eq!(protobuf_span_count(&[]), Some(0));
        assert_eq!(protobuf_span_count(&[0x0a, 0x05, 0x01]), None);
    }

    #[test]
    fn json_bodies() {
        let v2 =
            br#"{"trace":{"resourceSpans":[{"scopeSpans":[{"spans":[{},{},{}]}]}]},"metrics":{}}"#;
        assert_eq!(json_span_count(v2), Some(3));
        let v1 =
            br#"{"batches":[{"scopeSpans":[{"spans":[{}]}]},{"scopeSpans":[{"spans":[{}]}]}]}"#;
        assert_eq!(json_span_count(v1), Some(2));
        assert_eq!(json_span_count(br#"{"trace":{},"metrics":{}}"#), Some(0));
        assert_eq!(json_span_count(b"not json"), None);
    }

    #[test]
    fn ids_file() {
        let ids =
            parse_ids("# sample\n0AF7651916CD43DD8448EB211C80319C\n\n  abc \n").expect("parses");
        assert_eq!(ids, vec!["0af7651916cd43dd8448eb211c80319c", "abc"]);
        assert!(parse_ids("xyz\n").is_err());
        assert!(parse_ids(&"a".repeat(33)).is_err());
    }

    #[test]
    fn choosing_ids() {
        let ids: Vec<String> = (0..10).map(|number| number.to_string()).collect();
        let mut rng = SmallRng::seed_from_u64(1);
        let mut few = choose_ids(&ids, 10, &mut rng);
        few.sort();
        few.dedup();
        assert_eq!(few.len(), 10, "no repeats while the file has enough ids");
        assert_eq!(choose_ids(&ids, 25, &mut rng).len(), 25);
    }

    #[test]
    fn tallying_outcomes() {
        let mut report = LookupReport::default();
        tally(&mut report, Outcome::Found { spans: 10 }, Some(10));
        tally(&mut report, Outcome::Found { spans: 7 }, Some(10));
        tally(&mut report, Outcome::Empty, Some(10));
        tally(&mut report, Outcome::Status(404), Some(10));
        tally(&mut report, Outcome::Transport, Some(10));
        assert_eq!(report.requests, 5);
        assert_eq!(report.found, 2);
        assert_eq!(report.incomplete, 1);
        assert_eq!(report.failures(), 3);
        assert_eq!(report.non_200.get("404"), Some(&1));
    }
}
