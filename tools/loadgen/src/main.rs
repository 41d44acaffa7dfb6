//! `spangate-loadgen`: realistic OTLP/gRPC load for Spangate (or any OTLP receiver), and
//! trace-by-id and search latency against a Tempo-compatible query API. See README.md for
//! examples.

mod export;
mod ingest;
mod lookup;
mod proc_stats;
mod report;
mod search;
mod sink;
mod template;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use spangate_loadgen::generate;

use crate::export::ClientKind;

#[derive(Parser, Debug)]
#[command(name = "spangate-loadgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Send OTLP trace batches over gRPC and report throughput, latency and gateway cost.
    Ingest(IngestArgs),
    /// Fetch traces by id from the query API and report latency and misses.
    Lookup(LookupArgs),
    /// Run a fixed suite of search, tag and TraceQL-metrics requests against the query API and
    /// report latency, errors and result counts per case.
    Search(SearchArgs),
    /// Accept OTLP/gRPC exports and count them (an upstream for forwarding benchmarks).
    Sink(SinkArgs),
}

#[derive(clap::Args, Debug, Clone)]
pub struct SinkArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:24417")]
    pub listen: String,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub threads: u32,
}

#[derive(clap::Args, Debug, Clone)]
pub struct IngestArgs {
    /// OTLP/gRPC endpoint.
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    pub endpoint: String,
    /// Spans in every trace (one root SERVER span plus children).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub spans_per_trace: u32,
    /// Spans per request, rounded down to whole traces (at least one trace).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch_spans: u32,
    /// Distinct services (resources) the traces come from.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub services: u32,
    /// Concurrent sender tasks, each with at most one request in flight.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,
    /// HTTP/2 connections the senders share round-robin (default: one per sender).
    #[arg(long)]
    pub connections: Option<u32>,
    /// Stop after this long (e.g. 30s, 500ms, 2m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Send at most this many spans per second in all (each sender paces its requests
    /// evenly); default: as fast as the gateway answers.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
    /// Also stop once this many spans were sent (the last requests may overshoot by < one batch per sender).
    #[arg(long)]
    pub total_spans: Option<u64>,
    /// Distinct pre-generated requests to cycle through.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub templates: u32,
    /// How requests are encoded: `raw` sends pre-encoded bytes, `generated` uses
    /// opentelemetry-proto's client and encodes every request.
    #[arg(long, value_enum, default_value_t = ClientKind::Raw)]
    pub client: ClientKind,
    /// Compress requests with gzip (costs loadgen CPU).
    #[arg(long)]
    pub gzip: bool,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Retries of a request answered with RESOURCE_EXHAUSTED or UNAVAILABLE.
    #[arg(long, default_value_t = 5)]
    pub max_retries: u32,
    /// First back-off before a retry (doubles each time, capped at 1 s, ±25 % jitter); a
    /// RetryInfo delay from the server takes precedence (capped at 5 s).
    #[arg(long, default_value = "10ms", value_parser = parse_duration)]
    pub initial_backoff: Duration,
    /// Tokio worker threads of the load generator.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub threads: u32,
    /// Gateway process to measure (CPU from /proc/PID/stat, RSS from /proc/PID/status).
    #[arg(long, conflicts_with = "pid_file")]
    pub pid: Option<u32>,
    /// File holding the gateway's pid.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// After the last send, wait this long and report the gateway's CPU again (flushes and
    /// compactions that the run caused).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub settle: Duration,
    /// Write hex trace ids sent (a uniform sample of at most --max-ids) to this file.
    #[arg(long)]
    pub write_ids: Option<PathBuf>,
    /// Most trace ids written by --write-ids.
    #[arg(long, default_value_t = 100_000)]
    pub max_ids: usize,
    /// Seed for the generated content and ids (random by default).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seconds between progress lines on stderr (0 = none).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub progress: Duration,
    /// Print one JSON object on stdout instead of the text report.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Accept {
    Protobuf,
    Json,
}

#[derive(clap::Args, Debug, Clone)]
pub struct LookupArgs {
    /// Base URL of the Tempo-compatible query API.
    #[arg(long, default_value = "http://127.0.0.1:3200")]
    pub query: String,
    /// File of hex trace ids, one per line (as written by `ingest --write-ids`).
    #[arg(long)]
    pub ids: PathBuf,
    /// Lookups to make, with ids drawn at random from the file.
    #[arg(long, default_value_t = 1000)]
    pub count: usize,
    /// Response format to ask for.
    #[arg(long, value_enum, default_value_t = Accept::Protobuf)]
    pub accept: Accept,
    /// Parallel workers (1 = sequential).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Count a found trace whose span count differs from this as incomplete.
    #[arg(long)]
    pub expect_spans: Option<u64>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Seed for choosing ids (random by default).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Exit with status 1 when any lookup failed (non-200, empty, undecodable, transport).
    #[arg(long)]
    pub fail_on_miss: bool,
    /// Print one JSON object on stdout instead of the text report.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct SearchArgs {
    /// Base URL of the Tempo-compatible query API.
    #[arg(long, default_value = "http://127.0.0.1:3200")]
    pub query: String,
    /// Timed requests per case.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub count: u32,
    /// Untimed requests per case before the timed ones.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub warmup: u32,
    /// Searched time range: start = now − window, end = now (unix seconds, per request).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub window: Duration,
    /// Parallel workers (1 = sequential).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Services the data was ingested with (`ingest --services`): queries name the generator's
    /// first N services.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub services: u32,
    /// Run only these cases (comma-separated names, e.g. `a_builder,d_tags`).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Per-request timeout.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Seed for the per-request choice of service and span name (fixed, so runs compare).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Exit with status 1 when any request failed (non-200, transport, undecodable).
    #[arg(long)]
    pub fail_on_error: bool,
    /// Print one JSON object on stdout instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub json_out: Option<PathBuf>,
}

/// Parses `30s`, `500ms`, `2m`, `1h`, `1.5s`, `250us` or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|character: char| !(character.is_ascii_digit() || character == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("bad duration {text:?}: expected e.g. 30s, 500ms, 2m"))?;
    let seconds_per_unit = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("bad duration unit {other:?} in {text:?}")),
    };
    Duration::try_from_secs_f64(value * seconds_per_unit).map_err(|error| error.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ingest(args) => ingest::run(&args),
        Command::Lookup(args) => lookup::run(&args),
        Command::Search(args) => search::run(&args),
        Command::Sink(args) => sink::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line with the cause chain; no backtrace even if RUST_BACKTRACE is set.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3 parsecs").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
