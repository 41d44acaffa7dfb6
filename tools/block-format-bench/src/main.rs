//! Block format benchmark: Parquet (the `parquet` crate's low-level API, no arrow) versus our
//! own block encoding (`spangate-blocks`, src/blocks.rs) for the cold span tier. Generates
//! realistic spans with the project's load generator, writes them in each configuration,
//! then times the queries the cold tier must answer. Prints markdown. See README.md.

mod blocks;
mod data;
mod pq_read;
mod pq_write;
mod rle;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use bytes::Bytes;
use clap::Parser;
use parquet::file::reader::FileReader;
use rand::{SeedableRng, rngs::SmallRng, seq::IndexedRandom};

use data::{Dataset, Mode, Params};
use pq_write::{Codec, Config};

#[derive(Parser, Debug)]
#[command(about = "Parquet vs own block encoding for Spangate's cold span tier")]
struct Args {
    /// Spans to generate.
    #[arg(long, default_value_t = 1_000_000)]
    spans: usize,
    #[arg(long, default_value_t = 10)]
    services: usize,
    #[arg(long, default_value_t = 10)]
    spans_per_trace: usize,
    /// Spans per generated request (`ingest --batch-spans`).
    #[arg(long, default_value_t = 100)]
    batch_spans: usize,
    /// Span start times spread over this many seconds.
    #[arg(long, default_value_t = 3600)]
    window_secs: u64,
    #[arg(long, value_enum, default_value_t = Mode::Fresh)]
    mode: Mode,
    /// Templates for `--mode templates` (ingest's default).
    #[arg(long, default_value_t = 64)]
    templates: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Timed repetitions; the best is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Trace-by-id lookups per run (random present ids).
    #[arg(long, default_value_t = 1000)]
    lookups: usize,
    /// Row-group sizes (rows), comma separated.
    #[arg(long, value_delimiter = ',', default_value = "65536,1048576")]
    row_groups: Vec<usize>,
    /// Codecs: zstd-N or snappy, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "zstd-1,zstd-3,snappy")]
    codecs: Vec<String>,
    /// Data page row limits, comma separated; 0 = the parquet crate's default (20,000).
    #[arg(long, value_delimiter = ',', default_value = "0")]
    page_rows: Vec<usize>,
    /// Also save each Parquet file into this directory (for parquet-tools & co).
    #[arg(long)]
    save_dir: Option<std::path::PathBuf>,
    /// Encodings to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "parquet,blocks")]
    formats: Vec<Format>,
    /// spangate-blocks: spans per chunk (`BlockOptions::chunk_spans`), comma separated.
    #[arg(long, value_delimiter = ',', default_value = "8192,65536")]
    block_chunks: Vec<usize>,
    /// spangate-blocks: zstd levels, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,3")]
    block_levels: Vec<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Parquet,
    /// spangate-blocks (gateway/blocks).
    Blocks,
}

/// CPU time of this thread and wall time of one timed run (best of the runs, separately).
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub cpu: Duration,
    pub wall: Duration,
}

#[allow(unsafe_code)]
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_THREAD_CPUTIME_ID exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `f` `runs` times; returns the best CPU and best wall time and the last result.
pub fn best_of<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<(Timing, T)> {
    let mut best = Timing {
        cpu: Duration::MAX,
        wall: Duration::MAX,
    };
    let mut last = None;
    for _ in 0..runs.max(1) {
        let cpu = thread_cpu();
        let wall = Instant::now();
        let result = f()?;
        let wall = wall.elapsed();
        let cpu = thread_cpu() - cpu;
        best.cpu = best.cpu.min(cpu);
        best.wall = best.wall.min(wall);
        last = Some(result);
    }
    Ok((best, last.expect("at least one run")))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    RateByService,
    NameColumn,
    Regex,
    TraceById,
    ErrorsPerTrace,
}

/// What one encoding measured; the tables show each query's fastest variant.
pub struct Measurements {
    pub label: String,
    pub spans: usize,
    pub file_bytes: u64,
    /// Compressed bytes per column (all row groups).
    pub column_bytes: Vec<(String, u64)>,
    /// Build the file from the in-memory spans (sorting and shredding included).
    pub write: Option<Timing>,
    /// Open: footer, page index, bloom filters (once per file, cached by a store).
    pub open: Option<Timing>,
    /// (query, variant, time). TraceById is per lookup.
    pub results: Vec<(Query, String, Timing)>,
    /// Parts of the queries timed alone (where the time goes), not queries themselves.
    pub components: Vec<(String, Timing)>,
    pub notes: Vec<String>,
}

impl Measurements {
    fn best(&self, query: Query) -> Option<&(Query, String, Timing)> {
        self.results
            .iter()
            .filter(|(q, _, _)| *q == query)
            .min_by_key(|(_, _, t)| t.cpu)
    }
}

/// Our own encoding (`spangate-blocks`, gateway/blocks), one `Measurements` per chunk size
/// × zstd level: the same queries, checks and timing as `measure_parquet` (src/blocks.rs).
fn own_encoding(data: &Dataset, args: &Args, lookups: &[[u8; 16]]) -> Result<Vec<Measurements>> {
    let mut all = Vec::new();
    for &chunk_spans in &args.block_chunks {
        for &zstd_level in &args.block_levels {
            let config = blocks::Config {
                chunk_spans,
                zstd_level,
            };
            eprintln!("measuring {} ...", config.label());
            let measured = blocks::measure(data, &config, args.runs, lookups)?;
            eprintln!("{}", summary_line(&measured));
            all.push(measured);
        }
    }
    Ok(all)
}

/// Best of `runs` over all `lookups`, per lookup; `lookup` returns what it found (summed,
/// so the work is used).
pub fn time_lookups(
    runs: usize,
    lookups: &[[u8; 16]],
    mut lookup: impl FnMut(&[u8; 16]) -> Result<usize>,
) -> Result<Timing> {
    let (t, _) = best_of(runs, || {
        let mut found = 0;
        for id in lookups {
            found += lookup(id)?;
        }
        Ok(found)
    })?;
    let per = |d: Duration| d / lookups.len().max(1) as u32;
    Ok(Timing {
        cpu: per(t.cpu),
        wall: per(t.wall),
    })
}

/// A trace-by-id answer: as many spans as the trace has, all with its id, all named.
pub fn check_trace(
    truth: &data::Truth,
    id: &[u8; 16],
    spans: &[opentelemetry_proto::tonic::trace::v1::Span],
) -> Result<()> {
    ensure!(
        spans.len() as u32 == truth.spans_per_trace[id],
        "trace {} spans",
        spans.len()
    );
    ensure!(
        spans.iter().all(|s| s.trace_id == id) && spans.iter().all(|s| !s.name.is_empty()),
        "trace rows"
    );
    Ok(())
}

/// A regex answer: the matching rows and the string values looked at.
pub fn check_regex(truth: &data::Truth, matches: usize, values: u64) -> Result<()> {
    ensure!(
        matches as u64 == truth.regex_matches,
        "regex matches {matches} vs {}",
        truth.regex_matches
    );
    ensure!(
        values == truth.regex_column_values,
        "regex column values {values} vs {}",
        truth.regex_column_values
    );
    Ok(())
}

pub fn expected_errors(truth: &data::Truth) -> pq_read::ErrorTraces {
    pq_read::ErrorTraces {
        traces: truth.traces_with_errors_gt1,
        error_spans: truth.error_spans,
    }
}

fn parse_codec(text: &str) -> Result<Codec> {
    if text == "snappy" {
        return Ok(Codec::Snappy);
    }
    let level = text
        .strip_prefix("zstd-")
        .ok_or_else(|| anyhow::anyhow!("codec {text}: zstd-N or snappy"))?;
    Ok(Codec::Zstd(level.parse()?))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let params = Params {
        spans: args.spans,
        services: args.services,
        spans_per_trace: args.spans_per_trace,
        batch_spans: args.batch_spans,
        window_secs: args.window_secs,
        mode: args.mode,
        templates: args.templates,
        seed: args.seed,
    };
    let data = data::generate(&params)?;
    let codecs = args
        .codecs
        .iter()
        .map(|c| parse_codec(c))
        .collect::<Result<Vec<_>>>()?;

    // The same random present trace ids for every encoding.
    let mut ids: Vec<[u8; 16]> = data.truth.spans_per_trace.keys().copied().collect();
    ids.sort_unstable();
    let mut rng = SmallRng::seed_from_u64(args.seed ^ 0x1d);
    let lookups: Vec<[u8; 16]> = (0..args.lookups)
        .map(|_| *ids.choose(&mut rng).expect("some traces"))
        .collect();

    // The harness's own share of "write": discovery, sort, column vectors, no Parquet.
    let parquet = args.formats.contains(&Format::Parquet);
    let mut shred_us = f64::NAN;
    if parquet {
        let (shred, _) = best_of(args.runs, || {
            pq_write::shred_only(
                &data,
                &Config {
                    row_group_rows: args.row_groups[0],
                    codec: codecs[0],
                    page_rows: None,
                },
            )
        })?;
        shred_us = shred.cpu.as_secs_f64() * 1e6 / data.spans.len() as f64;
        eprintln!("shredding alone: {shred_us:.2} µs/span");
    }

    let mut all = Vec::new();
    let row_groups: &[usize] = if parquet { &args.row_groups } else { &[] };
    for &row_group_rows in row_groups {
        for codec in &codecs {
            for &page_rows in &args.page_rows {
                let config = Config {
                    row_group_rows,
                    codec: *codec,
                    page_rows: (page_rows > 0).then_some(page_rows),
                };
                eprintln!("measuring {} ...", config.label());
                let measured = measure_parquet(
                    &data,
                    &config,
                    args.runs,
                    &lookups,
                    args.save_dir.as_deref(),
                )?;
                eprintln!("{}", summary_line(&measured));
                all.push(measured);
            }
        }
    }
    if args.formats.contains(&Format::Blocks) {
        all.extend(own_encoding(&data, &args, &lookups)?);
    }
    print!("{}", report(&data, &args, &all));
    if parquet {
        println!(
            "\nShredding alone (column discovery, sort by (trace_id, start), column vectors; no Parquet, rows in row groups of {}): {shred_us:.2} µs/span CPU, included in every Parquet \"write\" above.",
            args.row_groups[0]
        );
    }
    Ok(())
}

fn measure_parquet(
    data: &Dataset,
    config: &Config,
    runs: usize,
    lookups: &[[u8; 16]],
    save_dir: Option<&std::path::Path>,
) -> Result<Measurements> {
    let truth = &data.truth;
    let (write, (file, layout)) = best_of(runs, || pq_write::write(data, config))?;
    let file = Bytes::from(file);
    if let Some(dir) = save_dir {
        std::fs::create_dir_all(dir)?;
        let name = config.label().replace([' ', '='], "_");
        std::fs::write(dir.join(format!("{name}.parquet")), &file)?;
    }
    let (open, opened) = best_of(runs, || pq_read::open(&file))?;
    let metadata = opened.reader.metadata();
    let mut column_bytes: Vec<(String, u64)> =
        layout.columns.iter().map(|c| (c.name(), 0)).collect();
    let mut bloom_bytes = 0u64;
    let mut index_bytes = 0u64;
    for rg in metadata.row_groups() {
        for (i, chunk) in rg.columns().iter().enumerate() {
            column_bytes[i].1 += chunk.compressed_size() as u64;
            bloom_bytes += chunk.bloom_filter_length().unwrap_or(0) as u64;
            index_bytes += chunk.column_index_length().unwrap_or(0) as u64
                + chunk.offset_index_length().unwrap_or(0) as u64;
        }
    }
    let data_bytes: u64 = column_bytes.iter().map(|(_, b)| b).sum();
    let footer = file.len() as u64 - data_bytes - bloom_bytes - index_bytes;
    column_bytes.push(("(bloom filters)".into(), bloom_bytes));
    column_bytes.push(("(column + offset indexes)".into(), index_bytes));
    column_bytes.push(("(footer, magic)".into(), footer));

    let mut results = Vec::new();
    let mut notes = vec![format!(
        "{} row groups, {} columns ({} dedicated span-attribute columns)",
        metadata.num_row_groups(),
        layout.columns.len(),
        layout
            .columns
            .iter()
            .filter(|c| matches!(c, pq_write::Col::Attr(..)))
            .count()
    )];

    // (a) rate by service
    let expected_rate = &truth.rate_by_service;
    let (t, rate) = best_of(runs, || pq_read::rate_by_service_typed(&opened))?;
    ensure!(
        &rate.to_map() == expected_rate,
        "rate (typed) differs from the truth"
    );
    results.push((Query::RateByService, "typed reader".to_string(), t));
    let (t, rate) = best_of(runs, || pq_read::rate_by_service_dict(&opened))?;
    ensure!(
        &rate.to_map() == expected_rate,
        "rate (dict) differs from the truth"
    );
    results.push((Query::RateByService, "dictionary indices".to_string(), t));

    // (b) name column
    let (t, (total, distinct)) = best_of(runs, || pq_read::name_typed(&opened))?;
    ensure!(
        total == data.spans.len() && distinct == truth.distinct_names,
        "names"
    );
    results.push((Query::NameColumn, "typed reader".to_string(), t));
    let (t, (total, distinct)) = best_of(runs, || pq_read::name_dict(&opened))?;
    ensure!(
        total == data.spans.len() && distinct == truth.distinct_names,
        "names (dict)"
    );
    results.push((Query::NameColumn, "dictionary indices".to_string(), t));

    // (c) regex
    let regex = regex::bytes::Regex::new(data::REGEX)?;
    let column = format!("attr.{}", data::REGEX_ATTRIBUTE);
    let (t, found) = best_of(runs, || {
        pq_read::regex_per_distinct(&opened, &column, &regex)
    })?;
    check_regex(truth, found.rows.len(), found.values)?;
    results.push((Query::Regex, "per distinct value".to_string(), t));
    notes.push(format!(
        "regex per distinct value: {} evaluations for {} values ({} matches); data pages: {} dictionary-encoded, {} PLAIN (dictionary full → per value)",
        found.evaluations, found.values, found.rows.len(), found.dict_pages, found.plain_pages
    ));
    let (t, found) = best_of(runs, || pq_read::regex_per_value(&opened, &column, &regex))?;
    check_regex(truth, found.rows.len(), found.values)?;
    results.push((Query::Regex, "per value (typed reader)".to_string(), t));

    // (d) trace by id — check every answer once, untimed.
    let mut stats = pq_read::LookupStats::default();
    for id in lookups {
        check_trace(truth, id, &pq_read::trace_by_id(&opened, id, &mut stats)?)?;
    }
    let mut timed_stats = pq_read::LookupStats::default();
    let t = time_lookups(runs, lookups, |id| {
        Ok(pq_read::trace_by_id(&opened, id, &mut timed_stats)?.len())
    })?;
    results.push((
        Query::TraceById,
        "stats + bloom + page index, all columns".to_string(),
        t,
    ));
    notes.push(format!(
        "trace by id: per lookup {:.2} row groups passed statistics, {:.2} passed the bloom filter, {:.3} bloom false positives, {:.0} trace_id rows decoded to find the trace",
        stats.row_groups_by_stats as f64 / lookups.len() as f64,
        stats.row_groups_by_bloom as f64 / lookups.len() as f64,
        stats.bloom_false_positives as f64 / lookups.len() as f64,
        stats.rows_scanned_for_id as f64 / lookups.len() as f64
    ));

    // (e) errors per trace
    let expected = expected_errors(truth);
    let (t, found) = best_of(runs, || pq_read::errors_full(&opened))?;
    ensure!(found == expected, "errors (full) {found:?} vs {expected:?}");
    results.push((
        Query::ErrorsPerTrace,
        "status + full trace_id".to_string(),
        t,
    ));
    let (t, found) = best_of(runs, || pq_read::errors_skip(&opened))?;
    ensure!(found == expected, "errors (skip) {found:?} vs {expected:?}");
    results.push((
        Query::ErrorsPerTrace,
        "status + trace_id at error rows (skip_records)".to_string(),
        t,
    ));

    // Components: where the time goes.
    let mut components = Vec::new();
    let t = time_lookups(runs, lookups, |id| {
        pq_read::locate_trace(&opened, id, &mut timed_stats)
    })?;
    components.push((
        "(d) locate the trace's rows only (stats, bloom, page index, trace_id page), per lookup"
            .to_string(),
        t,
    ));
    let t = time_lookups(runs, lookups, |id| {
        pq_read::dictionary_pages_for(&opened, id)
    })?;
    components.push((
        "(d) every column's dictionary page of the trace's row group: read + decompress, per lookup".to_string(),
        t,
    ));
    let named = [
        ("start_rounded_15s", "decode (typed reader)"),
        ("service_name", "dictionary indices only"),
        ("service_name", "decompress pages only"),
        ("status_code", "decode (typed reader)"),
        ("trace_id", "decode (typed reader)"),
        ("trace_id", "decompress pages only"),
        (column.as_str(), "decompress pages only"),
    ];
    for (col, what) in named {
        let (t, _) = match what {
            "decode (typed reader)" => best_of(runs, || pq_read::decode_column(&opened, col))?,
            "dictionary indices only" => {
                best_of(runs, || pq_read::dictionary_indices(&opened, col))?
            }
            _ => best_of(runs, || pq_read::decompress_column(&opened, col))?,
        };
        components.push((format!("{col}: {what}"), t));
    }
    let (t, _) = best_of(runs, || {
        let mut bytes = 0;
        for layout_col in &layout.columns {
            bytes += pq_read::decompress_column(&opened, &layout_col.name())?;
        }
        Ok(bytes)
    })?;
    components.push((
        "every column: decompress pages only (full-scan floor)".to_string(),
        t,
    ));

    for column in [
        "service_name",
        "name",
        column.as_str(),
        "attr.enduser.id",
        "status_code",
    ] {
        if opened.column(column).is_ok() {
            notes.push(pq_read::describe_pages(&opened, column)?);
        }
    }
    notes.push(format!(
        "bloom filters: {} bytes on disk, {} bytes in memory",
        bloom_bytes,
        opened.bloom_bytes()
    ));

    Ok(Measurements {
        label: config.label(),
        spans: data.spans.len(),
        file_bytes: file.len() as u64,
        column_bytes,
        write: Some(write),
        open: Some(open),
        results,
        components,
        notes,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn summary_line(m: &Measurements) -> String {
    let mut line = format!(
        "  {}: {:.1} B/span, write {:.2} µs/span",
        m.label,
        m.file_bytes as f64 / m.spans as f64,
        m.write
            .map(|t| t.cpu.as_secs_f64() * 1e6 / m.spans as f64)
            .unwrap_or(f64::NAN)
    );
    for (query, variant, t) in &m.results {
        let _ = write!(line, "; {query:?}/{variant} {} ms", ms(t.cpu));
    }
    line
}

fn report(data: &Dataset, args: &Args, all: &[Measurements]) -> String {
    let mut out = String::new();
    let spans = data.spans.len();
    let _ = writeln!(
        out,
        "### Data\n\n{} spans in {} traces ({} per trace), {} services, starts over {} s, mode `{:?}` (seed {}); OTLP protobuf as generated: {:.0} bytes/span. Regex column `attr.{}` ({} distinct values in the file), regex `{}`: {} of {} values match. {} traces have more than one error span ({} spans).\n",
        spans,
        data.truth.spans_per_trace.len(),
        args.spans_per_trace,
        data.resources.len(),
        args.window_secs,
        args.mode,
        args.seed,
        data.otlp_bytes as f64 / spans as f64,
        data::REGEX_ATTRIBUTE,
        data.truth.regex_column_distinct,
        data::REGEX,
        data.truth.regex_matches,
        data.truth.regex_column_values,
        data.truth.traces_with_errors_gt1,
        data.truth.error_spans
    );
    let _ = writeln!(
        out,
        "### Summary (CPU time of the one thread, best of {}; each query's fastest variant)\n",
        args.runs
    );
    let _ = writeln!(
        out,
        "| encoding | file MB | bytes/span | write µs/span | open ms | (a) rate by service ms | (b) name ms | (c) regex ms | (d) trace by id ms/lookup | (e) errors count()>1 ms |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for m in all {
        let cell = |q: Query| {
            m.best(q)
                .map(|(_, _, t)| ms(t.cpu))
                .unwrap_or_else(|| "–".to_string())
        };
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {} | {} |",
            m.label,
            m.file_bytes as f64 / 1e6,
            m.file_bytes as f64 / m.spans as f64,
            m.write
                .map(|t| format!("{:.2}", t.cpu.as_secs_f64() * 1e6 / m.spans as f64))
                .unwrap_or_else(|| "–".into()),
            m.open.map(|t| ms(t.cpu)).unwrap_or_else(|| "–".into()),
            cell(Query::RateByService),
            cell(Query::NameColumn),
            cell(Query::Regex),
            cell(Query::TraceById),
            cell(Query::ErrorsPerTrace),
        );
    }

    let _ = writeln!(
        out,
        "\n### Every variant (ms; CPU / wall, best of {})\n",
        args.runs
    );
    let keys = union(all, |m| {
        m.results.iter().map(|(q, v, _)| (*q, v.clone())).collect()
    });
    let mut rows: Vec<(String, Vec<Option<String>>)> = keys
        .iter()
        .map(|(q, v)| {
            let cells = all
                .iter()
                .map(|m| {
                    m.results
                        .iter()
                        .find(|(q2, v2, _)| q2 == q && v2 == v)
                        .map(|(_, _, t)| timing(t))
                })
                .collect();
            (format!("{q:?} | {v}"), cells)
        })
        .collect();
    rows.push((
        "write | whole file".to_string(),
        all.iter().map(|m| m.write.as_ref().map(timing)).collect(),
    ));
    table(&mut out, all, "query | variant", &rows);

    let _ = writeln!(
        out,
        "\n### Components (ms; CPU / wall, best of {})\n",
        args.runs
    );
    let rows = named_rows(all, |m| &m.components, |_, t| timing(t));
    table(&mut out, all, "component", &rows);

    let _ = writeln!(
        out,
        "\n### Bytes per span by column (compressed column chunks, all row groups)\n"
    );
    let mut rows = named_rows(
        all,
        |m| &m.column_bytes,
        |m, bytes| format!("{:.2}", *bytes as f64 / m.spans as f64),
    );
    rows.push((
        "**total (file)**".to_string(),
        all.iter()
            .map(|m| Some(format!("**{:.2}**", m.file_bytes as f64 / m.spans as f64)))
            .collect(),
    ));
    table(&mut out, all, "column", &rows);

    let _ = writeln!(out, "\n### Notes per encoding\n");
    for m in all {
        let _ = writeln!(out, "- **{}**", m.label);
        for note in &m.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    out
}

fn timing(t: &Timing) -> String {
    format!("{} / {}", ms(t.cpu), ms(t.wall))
}

/// Every encoding's keys, once each, in order of first appearance.
fn union<K: PartialEq>(all: &[Measurements], keys: impl Fn(&Measurements) -> Vec<K>) -> Vec<K> {
    let mut union = Vec::new();
    for m in all {
        for key in keys(m) {
            if !union.contains(&key) {
                union.push(key);
            }
        }
    }
    union
}

/// Rows of a table over named values (components, column sizes): one row per name any
/// encoding has, one cell per encoding (`None` where it lacks the name).
fn named_rows<T>(
    all: &[Measurements],
    items: impl Fn(&Measurements) -> &[(String, T)],
    cell: impl Fn(&Measurements, &T) -> String,
) -> Vec<(String, Vec<Option<String>>)> {
    let names = union(all, |m| {
        items(m).iter().map(|(name, _)| name.clone()).collect()
    });
    names
        .into_iter()
        .map(|name| {
            let cells = all
                .iter()
                .map(|m| {
                    items(m)
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, value)| cell(m, value))
                })
                .collect();
            (name, cells)
        })
        .collect()
}

/// A markdown table with one column per encoding after the `leading` columns (`a | b`);
/// each row is its leading cells and one cell per encoding (`–` when missing).
fn table(
    out: &mut String,
    all: &[Measurements],
    leading: &str,
    rows: &[(String, Vec<Option<String>>)],
) {
    let _ = write!(out, "| {leading} |");
    for m in all {
        let _ = write!(out, " {} |", m.label);
    }
    let _ = write!(out, "\n|{}", "---|".repeat(leading.split('|').count()));
    let _ = writeln!(out, "{}", "---:|".repeat(all.len()));
    for (first, cells) in rows {
        let _ = write!(out, "| {first} |");
        for cell in cells {
            let _ = write!(out, " {} |", cell.as_deref().unwrap_or("–"));
        }
        let _ = writeln!(out);
    }
}
