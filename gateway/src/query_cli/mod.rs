//! `spangate query`: reads traces, search results, tags and TraceQL metrics from any
//! Tempo-compatible query API (a Spangate or a Grafana Tempo) and prints them for a
//! terminal, or as the server's JSON with `--json`.
//!
//! `args.rs` checks what was typed (trace ids, durations, instants, the window),
//! `client.rs` sends the GETs, `answers.rs` reads Tempo's JSON into rows and
//! `render.rs` turns rows into tables and the span tree; this file holds the commands.

mod answers;
mod args;
mod client;
mod render;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

pub use args::ArgumentError;
pub use client::ClientError;
use client::{Answer, TempoClient};

/// `spangate query [--endpoint URL] [--org-id ID] [--timeout D] COMMAND`.
#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// Base URL of the Tempo-compatible query API (Spangate's `query.listen`, Tempo's
    /// HTTP port), optionally with a path prefix.
    #[arg(long, global = true, default_value = "http://127.0.0.1:3200")]
    endpoint: String,
    /// The tenant to read, sent as `X-Scope-OrgID` (needed when multi-tenancy is on;
    /// `a|b` reads several where the server allows it).
    #[arg(long, global = true)]
    org_id: Option<String>,
    /// Time limit of each HTTP request (`30s`, `2m`).
    #[arg(long, global = true, default_value = "30s")]
    timeout: String,
    #[command(subcommand)]
    command: QueryCommand,
}

#[derive(Debug, clap::Subcommand)]
enum QueryCommand {
    /// One trace as a tree of spans (`/api/v2/traces/{id}`; `/api/traces/{id}` for an
    /// older Tempo without v2).
    Trace {
        /// Hex, up to 32 digits.
        trace_id: String,
        #[command(flatten)]
        filter: SpanFilterArgs,
        /// Print the server's JSON instead of the tree.
        #[arg(long)]
        json: bool,
    },
    /// Traces matching a TraceQL query (`/api/search`), newest first.
    Search {
        /// The TraceQL query.
        #[arg(default_value = "{}")]
        traceql: String,
        /// Most traces to return (the server's default when absent: 20).
        #[arg(long)]
        limit: Option<u32>,
        /// Matching spans kept per trace (the server's default when absent: 3).
        #[arg(long)]
        spss: Option<u32>,
        #[command(flatten)]
        window: WindowArgs,
        /// Print the server's JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Tag names by scope (`/api/v2/search/tags`).
    Tags {
        /// Only this scope: resource, span, event, link, instrumentation, intrinsic.
        #[arg(long)]
        scope: Option<String>,
        #[command(flatten)]
        window: WindowArgs,
        /// Print the server's JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Values of one tag (`/api/v2/search/tag/{tag}/values`), e.g. `resource.service.name`.
    TagValues {
        /// A TraceQL identifier: `resource.service.name`, `span.http.method`, `.x`, `name`.
        tag: String,
        /// Only values of spans matching this TraceQL query, e.g. `{ span.x = "y" }`.
        #[arg(long)]
        query: Option<String>,
        #[command(flatten)]
        window: WindowArgs,
        /// Print the server's JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// A TraceQL metrics query (`/api/metrics/query_range`, or `/api/metrics/query` with
    /// `--instant`), e.g. `{} | rate() by (resource.service.name)`. Window: last hour
    /// unless given.
    Metrics {
        /// The TraceQL metrics query.
        query: String,
        /// Step between points (`30s`, `5m`); the server picks one when absent.
        #[arg(long, conflicts_with = "instant")]
        step: Option<String>,
        /// One value per series over the whole window.
        #[arg(long)]
        instant: bool,
        #[command(flatten)]
        window: WindowArgs,
        /// Print the server's JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
}

/// `--since`, `--start`, `--end`.
#[derive(Debug, clap::Args)]
struct WindowArgs {
    /// Only the last D (`15m`, `1h`, `2d`): from D before --end (default now).
    #[arg(long, conflicts_with = "start")]
    since: Option<String>,
    /// Window start: RFC 3339 (`2026-12-06T10:00:00Z`) or unix seconds.
    #[arg(long)]
    start: Option<String>,
    /// Window end: RFC 3339 or unix seconds; default now.
    #[arg(long)]
    end: Option<String>,
}

/// Trace by id v2's span filter, sent as Tempo's `q`, `keep_hierarchy`, `match_depth`
/// and `ancestor_depth` (what `tempo-cli query api trace-id --q` sends).
#[derive(Debug, clap::Args)]
pub struct SpanFilterArgs {
    /// Only the spans matching this TraceQL spanset filter (`{ status = error }`); needs
    /// the v2 API (Spangate, Tempo 2.x and later).
    #[arg(long = "q", value_name = "TRACEQL")]
    query: Option<String>,
    /// With --q: also the ancestors of each matched span, up to the root.
    #[arg(long, requires = "query")]
    keep_hierarchy: bool,
    /// With --q: levels of descendants kept below each matched span (-1 all, 0 none).
    #[arg(
        long,
        default_value_t = 0,
        allow_negative_numbers = true,
        requires = "query"
    )]
    match_depth: i32,
    /// With --q and --keep-hierarchy: levels of ancestors kept (-1 all).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, requires = "keep_hierarchy")]
    ancestor_depth: i32,
}

impl SpanFilterArgs {
    /// The query parameters, none without `--q` (a blank `--q` is no filter, as in Tempo).
    fn params(&self) -> Vec<(&'static str, String)> {
        match self.query.as_deref().map(str::trim) {
            Some(query) if !query.is_empty() => vec![
                ("q", query.to_owned()),
                ("keep_hierarchy", self.keep_hierarchy.to_string()),
                ("match_depth", self.match_depth.to_string()),
                ("ancestor_depth", self.ancestor_depth.to_string()),
            ],
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueryCliError {
    #[error(transparent)]
    Argument(#[from] ArgumentError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("trace {trace_id} not found at {endpoint}")]
    TraceNotFound { trace_id: String, endpoint: String },
    #[error("{endpoint} has no trace-by-id v2 API (404); --q needs it (the v1 API cannot filter)")]
    NoFilterSupport { endpoint: String },
    #[error("GET {url}: the answer is not JSON: {reason}")]
    NotJson { url: String, reason: String },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// Runs the command; returns what to print on stdout.
pub fn run(args: QueryArgs) -> Result<String, QueryCliError> {
    let timeout = args::duration("--timeout", &args.timeout)?;
    let client = TempoClient::new(&args.endpoint, args.org_id.as_deref(), timeout)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(QueryCliError::Runtime)?;
    runtime.block_on(run_command(
        &client,
        &args.endpoint,
        args.command,
        now_nanos(),
    ))
}

async fn run_command(
    client: &TempoClient,
    endpoint: &str,
    command: QueryCommand,
    now: u64,
) -> Result<String, QueryCliError> {
    match command {
        QueryCommand::Trace {
            trace_id,
            filter,
            json,
        } => {
            let trace_id = args::trace_id(&trace_id)?;
            let endpoint = endpoint.trim_end_matches('/').to_owned();
            let not_found = || QueryCliError::TraceNotFound {
                trace_id: trace_id.clone(),
                endpoint: endpoint.clone(),
            };
            let filter = filter.params();
            let filtered = !filter.is_empty();
            let answer = trace_answer(client, &trace_id, &filter)
                .await?
                .ok_or_else(|| {
                    if filtered {
                        QueryCliError::NoFilterSupport {
                            endpoint: endpoint.clone(),
                        }
                    } else {
                        not_found()
                    }
                })?;
            print(answer, json, |body| {
                let spans = answers::trace_spans(body);
                // v2 answers an unknown trace with 200 and an empty trace; a filter that
                // matches nothing is an empty (partial) trace too, and not an error.
                if spans.is_empty() {
                    return match answers::trace_note(body) {
                        Some(note) if filtered => Ok(format!(
                            "trace {trace_id}: no span matches --q\nnote: {note}\n"
                        )),
                        _ => Err(not_found()),
                    };
                }
                let mut out = render::trace_tree(&trace_id, &spans);
                if let Some(note) = answers::trace_note(body) {
                    out.push_str(&format!("note: {note}\n"));
                }
                Ok(out)
            })
        }
        QueryCommand::Search {
            traceql,
            limit,
            spss,
            window,
            json,
        } => {
            let mut query = vec![("q", traceql)];
            query.extend(limit.map(|limit| ("limit", limit.to_string())));
            query.extend(spss.map(|spss| ("spss", spss.to_string())));
            query.extend(seconds_window(&window, now)?);
            let answer = client.get_ok(&["api", "search"], &query).await?;
            print(answer, json, |body| {
                Ok(render::search_table(&answers::search_traces(body)))
            })
        }
        QueryCommand::Tags {
            scope,
            window,
            json,
        } => {
            let mut query: Vec<(&str, String)> =
                scope.map(|scope| ("scope", scope)).into_iter().collect();
            query.extend(seconds_window(&window, now)?);
            let answer = client
                .get_ok(&["api", "v2", "search", "tags"], &query)
                .await?;
            print(answer, json, |body| {
                Ok(render::pairs_table(
                    ["SCOPE", "TAG"],
                    &answers::tag_names(body),
                    "no tags",
                ))
            })
        }
        QueryCommand::TagValues {
            tag,
            query: filter,
            window,
            json,
        } => {
            let mut query: Vec<(&str, String)> =
                filter.map(|filter| ("q", filter)).into_iter().collect();
            query.extend(seconds_window(&window, now)?);
            let path = ["api", "v2", "search", "tag", tag.as_str(), "values"];
            let answer = client.get_ok(&path, &query).await?;
            print(answer, json, |body| {
                Ok(render::pairs_table(
                    ["TYPE", "VALUE"],
                    &answers::tag_values(body),
                    "no values",
                ))
            })
        }
        QueryCommand::Metrics {
            query: traceql,
            step,
            instant,
            window,
            json,
        } => {
            let hour = Some(Duration::from_secs(3600));
            let window =
                window_of(&window, hour, now)?.expect("a default span always makes a window");
            let mut query = vec![
                ("q", traceql),
                ("start", window.start_nanos.to_string()),
                ("end", window.end_nanos.to_string()),
            ];
            if let Some(step) = step {
                let step = args::duration("--step", &step)?;
                query.push(("step", format!("{}ms", step.as_millis().max(1))));
            }
            let path: &[&str] = if instant {
                &["api", "metrics", "query"]
            } else {
                &["api", "metrics", "query_range"]
            };
            let answer = client.get_ok(path, &query).await?;
            print(answer, json, |body| {
                Ok(render::metrics_table(
                    &answers::metric_series(body),
                    instant,
                ))
            })
        }
    }
}

/// v2 first; a 404 there is an older Tempo without v2 (Tempo's v2 answers an unknown
/// trace with an empty one), so v1 is asked.
/// Trace by id v2 (with `filter`'s parameters), then v1 on a 404 from an older Tempo
/// unless a filter was asked for (v1 cannot filter: its whole trace would be a wrong
/// answer). `None`: not found.
async fn trace_answer(
    client: &TempoClient,
    trace_id: &str,
    filter: &[(&'static str, String)],
) -> Result<Option<Answer>, QueryCliError> {
    let v2 = client
        .get(&["api", "v2", "traces", trace_id], filter)
        .await?;
    if v2.is_success() {
        return Ok(Some(v2));
    }
    if v2.status != 404 || !filter.is_empty() {
        return match v2.status {
            404 => Ok(None),
            _ => Err(v2.into_error().into()),
        };
    }
    let v1 = client.get(&["api", "traces", trace_id], &[]).await?;
    match v1.status {
        200..=299 => Ok(Some(v1)),
        404 => Ok(None),
        _ => Err(v1.into_error().into()),
    }
}

/// The body as received (`--json`), or rendered from its parsed JSON; `render` runs
/// either way, so an answer it refuses (an empty trace) fails both.
fn print(
    answer: Answer,
    json: bool,
    render: impl FnOnce(&Value) -> Result<String, QueryCliError>,
) -> Result<String, QueryCliError> {
    let parsed: Value =
        serde_json::from_slice(&answer.body).map_err(|error| QueryCliError::NotJson {
            url: answer.url.clone(),
            reason: error.to_string(),
        })?;
    let rendered = render(&parsed)?;
    if !json {
        return Ok(rendered);
    }
    let mut text = String::from_utf8_lossy(&answer.body).into_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

fn window_of(
    window: &WindowArgs,
    default_since: Option<Duration>,
    now: u64,
) -> Result<Option<args::Window>, ArgumentError> {
    args::window(
        window.since.as_deref(),
        window.start.as_deref(),
        window.end.as_deref(),
        default_since,
        now,
    )
}

/// `start`/`end` in unix seconds (search and tags), when a window was given.
fn seconds_window(
    window: &WindowArgs,
    now: u64,
) -> Result<Vec<(&'static str, String)>, ArgumentError> {
    Ok(window_of(window, None, now)?
        .map(|window| {
            vec![
                ("start", window.start_seconds().to_string()),
                ("end", window.end_seconds().to_string()),
            ]
        })
        .unwrap_or_default())
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(query: Option<&str>, keep_hierarchy: bool) -> SpanFilterArgs {
        SpanFilterArgs {
            query: query.map(str::to_owned),
            keep_hierarchy,
            match_depth: 2,
            ancestor_depth: -1,
        }
    }

    #[test]
    fn the_span_filter_sends_all_four_parameters_only_with_a_query() {
        assert!(filter(None, true).params().is_empty());
        assert!(
            filter(Some("  "), true).params().is_empty(),
            "blank is no filter"
        );
        assert_eq!(
            filter(Some(" { status = error } "), true).params(),
            [
                ("q", "{ status = error }".to_owned()),
                ("keep_hierarchy", "true".to_owned()),
                ("match_depth", "2".to_owned()),
                ("ancestor_depth", "-1".to_owned()),
            ]
        );
    }
}
