//! `ingest`: drives concurrent OTLP/gRPC exports for a bounded time or span count and measures
//! the gateway process alongside.
//!
//! Phases: generate templates (untimed) → connect → timed phase (senders, RSS sampler, progress
//! line) → optional settle wait → report. CPU is read at the start and end of the timed phase.

use std::{
    collections::BTreeMap,
    fs,
    io::Write as _,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use rand::{Rng, SeedableRng, rngs::SmallRng, seq::SliceRandom};
use tonic::transport::{Channel, Endpoint};

use crate::{
    IngestArgs,
    export::{ExportClient, Payload, code_name, is_retryable, retry_delay},
    generate::{Shape, build_request},
    proc_stats::{self, ProcessSampler, Target},
    report::{IngestReport, LatencySummary, ProcessUsage},
    template::{FreshIds, IdGenerator, Template},
};

const SAMPLE_INTERVAL: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
const MAX_SERVER_DELAY: Duration = Duration::from_secs(5);

pub(crate) fn run(args: &IngestArgs) -> Result<()> {
    let seed = args.seed.unwrap_or_else(rand::random);
    let shape = Shape {
        services: args.services as usize,
        spans_per_trace: args.spans_per_trace as usize,
        traces_per_request: (args.batch_spans / args.spans_per_trace).max(1) as usize,
    };
    let gateway_pid = match (&args.pid, &args.pid_file) {
        (Some(pid), _) => Some(*pid),
        (None, Some(path)) => Some(proc_stats::read_pid_file(path)?),
        (None, None) => None,
    };
    if let Some(pid) = gateway_pid {
        proc_stats::cpu_seconds(Target::Pid(pid))
            .with_context(|| format!("cannot read the gateway process {pid}"))?;
    }

    let generation_started = Instant::now();
    let generated = build_templates(&shape, args.templates as usize, seed)?;
    let templates = &generated.templates;
    let encoded_bytes: usize = templates.iter().map(|t| t.encoded.len()).sum();
    let encoded_spans: usize = templates.iter().map(|t| t.span_count).sum();
    let encoded_bytes_per_span = encoded_bytes as f64 / encoded_spans as f64;
    if !args.json {
        eprintln!(
            "generated {} templates of {} spans in {:.2} s; {:.0} encoded bytes/span",
            templates.len(),
            shape.spans_per_request(),
            generation_started.elapsed().as_secs_f64(),
            encoded_bytes_per_span
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads as usize)
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    let mut report = runtime.block_on(timed_phase(args, generated, seed, gateway_pid))?;
    report.encoded_bytes_per_span = encoded_bytes_per_span;
    report.spans_per_trace = shape.spans_per_trace;
    report.services = shape.services;
    report.spans_per_request = shape.spans_per_request();

    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.human());
    }
    Ok(())
}

/// Generated templates plus the time they were generated at (their spans end before it).
struct Templates {
    templates: Vec<Template>,
    epoch_nanos: u64,
}

fn build_templates(shape: &Shape, count: usize, seed: u64) -> Result<Templates> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let epoch_nanos = unix_nanos();
    let templates = (0..count)
        .map(|_| Template::new(build_request(&mut rng, shape, epoch_nanos)))
        .collect::<Result<_>>()?;
    Ok(Templates {
        templates,
        epoch_nanos,
    })
}

/// Settings and shared counters every sender reads.
struct SenderContext {
    templates: Vec<Template>,
    /// `now` the templates were generated at; sends shift times by `now - template_epoch`.
    template_epoch_nanos: u64,
    deadline: Instant,
    /// With `--rate`: the time between two sends of one sender.
    send_interval: Option<Duration>,
    total_spans: Option<u64>,
    spans_claimed: AtomicU64,
    max_retries: u32,
    initial_backoff: Duration,
    seed: u64,
    ids_per_sender: usize,
    progress: Progress,
}

/// Counters for the periodic progress line (cheap relaxed atomics, one add per request).
#[derive(Default)]
struct Progress {
    spans_accepted: AtomicU64,
    requests_ok: AtomicU64,
    requests_failed: AtomicU64,
    retries: AtomicU64,
}

/// What one sender measured; merged after the run.
#[derive(Default)]
struct SenderStats {
    requests_ok: u64,
    spans_accepted: u64,
    spans_rejected: u64,
    spans_failed: u64,
    bytes_sent: u64,
    failed: BTreeMap<String, u64>,
    retries: BTreeMap<String, u64>,
    retries_with_retry_info: u64,
    latencies_us: Vec<u64>,
    sampled_trace_ids: Vec<[u8; 16]>,
}

async fn timed_phase(
    args: &IngestArgs,
    generated: Templates,
    seed: u64,
    gateway_pid: Option<u32>,
) -> Result<IngestReport> {
    let concurrency = args.concurrency as usize;
    let connection_count = args.connections.unwrap_or(args.concurrency).max(1) as usize;
    let mut channels = Vec::with_capacity(connection_count);
    for _ in 0..connection_count {
        channels.push(connect(&args.endpoint, args.timeout).await?);
    }

    let send_interval = args.rate.map(|rate| {
        // Every request carries about the same number of spans.
        let per_request = generated
            .templates
            .first()
            .map_or(1, |t| t.span_count as u64)
            .max(1);
        Duration::from_secs_f64(per_request as f64 * concurrency as f64 / f64::from(rate))
    });
    let context = Arc::new(SenderContext {
        template_epoch_nanos: generated.epoch_nanos,
        templates: generated.templates,
        deadline: Instant::now() + args.duration,
        send_interval,
        total_spans: args.total_spans,
        spans_claimed: AtomicU64::new(0),
        max_retries: args.max_retries,
        initial_backoff: args.initial_backoff,
        seed,
        ids_per_sender: if args.write_ids.is_some() {
            args.max_ids.div_ceil(concurrency)
        } else {
            0
        },
        progress: Progress::default(),
    });

    let gateway_target = gateway_pid.map(Target::Pid);
    let gateway_cpu_start = gateway_target.map(proc_stats::cpu_seconds).transpose()?;
    let own_cpu_start = proc_stats::cpu_seconds(Target::OwnProcess)?;
    let sampler = gateway_target.map(|target| ProcessSampler::start(target, SAMPLE_INTERVAL));
    let started = Instant::now();

    let progress_task = (!args.progress.is_zero())
        .then(|| tokio::spawn(print_progress(context.clone(), args.progress, started)));
    let mut senders = Vec::with_capacity(concurrency);
    for index in 0..concurrency {
        let client = ExportClient::new(
            args.client,
            channels[index % connection_count].clone(),
            args.gzip,
        );
        senders.push(tokio::spawn(send_loop(context.clone(), index, client)));
    }
    let mut stats = Vec::with_capacity(concurrency);
    for sender in senders {
        stats.push(sender.await.context("sender task panicked")?);
    }
    let elapsed_seconds = started.elapsed().as_secs_f64();
    if let Some(task) = progress_task {
        task.abort();
    }

    let own_cpu_end = proc_stats::cpu_seconds(Target::OwnProcess)?;
    let gateway = match (gateway_target, gateway_cpu_start, sampler) {
        (Some(target), Some(cpu_start), Some(sampler)) => {
            Some(measure_gateway(target, cpu_start, sampler, args.settle).await)
        }
        _ => None,
    };
    let own_memory = proc_stats::memory(Target::OwnProcess).ok();

    let (mut report, mut sampled_ids) = merge(stats);
    report.endpoint = args.endpoint.clone();
    report.client = format!("{:?}", args.client).to_lowercase();
    report.gzip = args.gzip;
    report.concurrency = concurrency;
    report.connections = connection_count;
    report.templates = context.templates.len();
    report.elapsed_seconds = elapsed_seconds;
    report.gateway = gateway;
    report.loadgen = ProcessUsage {
        pid: Some(std::process::id()),
        cpu_seconds: own_cpu_end - own_cpu_start,
        cpu_seconds_after_settle: None,
        peak_rss_sampled_bytes: None,
        vm_hwm_bytes: own_memory.map(|memory| memory.hwm_bytes),
        alive_at_end: true,
    };
    if let Some(path) = &args.write_ids {
        let count = write_ids(path, &mut sampled_ids, args.max_ids, seed)?;
        report.ids_written = Some((path.display().to_string(), count));
    }
    Ok(report)
}

async fn connect(endpoint: &str, timeout: Duration) -> Result<Channel> {
    Endpoint::from_shared(endpoint.to_string())
        .with_context(|| format!("bad endpoint {endpoint}"))?
        .tcp_nodelay(true)
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("connecting to {endpoint}"))
}

async fn measure_gateway(
    target: Target,
    cpu_start: f64,
    sampler: ProcessSampler,
    settle: Duration,
) -> ProcessUsage {
    let cpu_end = proc_stats::cpu_seconds(target).ok();
    let memory_end = proc_stats::memory(target).ok();
    let cpu_after_settle = if settle.is_zero() {
        None
    } else {
        tokio::time::sleep(settle).await;
        proc_stats::cpu_seconds(target).ok()
    };
    let samples = sampler.finish();
    let pid = match target {
        Target::Pid(pid) => Some(pid),
        Target::OwnProcess => None,
    };
    let rss_end = memory_end.map_or(0, |memory| memory.rss_bytes);
    ProcessUsage {
        pid,
        // If the process is gone, the last sample is the best (lower-bound) figure.
        cpu_seconds: cpu_end.or(samples.last_cpu_seconds).unwrap_or(cpu_start) - cpu_start,
        cpu_seconds_after_settle: cpu_after_settle.map(|end| end - cpu_start),
        peak_rss_sampled_bytes: Some(samples.peak_rss_bytes.max(rss_end)),
        vm_hwm_bytes: memory_end.map(|memory| memory.hwm_bytes),
        alive_at_end: cpu_end.is_some() && !samples.process_lost,
    }
}

async fn send_loop(
    context: Arc<SenderContext>,
    index: usize,
    mut client: ExportClient,
) -> SenderStats {
    let mut stats = SenderStats::default();
    let mut ids = FreshIds::default();
    let mut id_generator = IdGenerator::new(context.seed, index as u64);
    let mut rng = SmallRng::seed_from_u64(context.seed ^ (index as u64).wrapping_mul(0x9e37_79b9));
    let mut traces_seen: u64 = 0;
    let raw = matches!(client, ExportClient::Raw(_));

    let paced_from = tokio::time::Instant::now();
    for round in 0.. {
        if let Some(interval) = context.send_interval {
            tokio::time::sleep_until(paced_from + interval * round as u32).await;
        }
        if Instant::now() >= context.deadline {
            break;
        }
        let template = &context.templates[(index + round) % context.templates.len()];
        let span_count = template.span_count as u64;
        if let Some(total) = context.total_spans
            && context
                .spans_claimed
                .fetch_add(span_count, Ordering::Relaxed)
                >= total
        {
            break;
        }
        id_generator.fill(&mut ids, template.trace_count, template.span_count);
        let time_shift_nanos = unix_nanos().wrapping_sub(context.template_epoch_nanos);
        let payload = if raw {
            // A fresh buffer per send: tonic may still hold the previous one.
            let mut encoded = Vec::with_capacity(template.encoded.len());
            template.stamp_bytes(&mut encoded, &ids, time_shift_nanos);
            Payload::Encoded(Bytes::from(encoded))
        } else {
            Payload::Stamp {
                template,
                ids: &ids,
                time_shift_nanos,
            }
        };

        let accepted = send_with_retries(
            &context,
            &mut client,
            &payload,
            span_count,
            &mut rng,
            &mut stats,
        )
        .await;
        if accepted {
            stats.bytes_sent += template.encoded.len() as u64;
            // Reservoir sampling (algorithm R) of the trace ids for --write-ids.
            if context.ids_per_sender > 0 {
                for trace_id in &ids.trace_ids {
                    traces_seen += 1;
                    if stats.sampled_trace_ids.len() < context.ids_per_sender {
                        stats.sampled_trace_ids.push(*trace_id);
                    } else {
                        let slot = rng.random_range(0..traces_seen) as usize;
                        if slot < context.ids_per_sender {
                            stats.sampled_trace_ids[slot] = *trace_id;
                        }
                    }
                }
            }
        }
    }
    stats
}

/// Sends one request, retrying back-pressure answers; returns whether it was accepted.
async fn send_with_retries(
    context: &SenderContext,
    client: &mut ExportClient,
    payload: &Payload<'_>,
    span_count: u64,
    rng: &mut SmallRng,
    stats: &mut SenderStats,
) -> bool {
    let mut backoff = context.initial_backoff;
    for attempt in 0.. {
        let started = Instant::now();
        match client.export(payload).await {
            Ok(response) => {
                stats
                    .latencies_us
                    .push(started.elapsed().as_micros() as u64);
                let rejected = response
                    .partial_success
                    .map_or(0, |partial| partial.rejected_spans.max(0) as u64)
                    .min(span_count);
                stats.requests_ok += 1;
                stats.spans_accepted += span_count - rejected;
                stats.spans_rejected += rejected;
                context.progress.requests_ok.fetch_add(1, Ordering::Relaxed);
                context
                    .progress
                    .spans_accepted
                    .fetch_add(span_count - rejected, Ordering::Relaxed);
                return true;
            }
            Err(status) => {
                let code = code_name(status.code());
                if is_retryable(status.code()) && attempt < context.max_retries {
                    *stats.retries.entry(code).or_default() += 1;
                    context.progress.retries.fetch_add(1, Ordering::Relaxed);
                    let delay = match retry_delay(&status) {
                        Some(delay) => {
                            stats.retries_with_retry_info += 1;
                            delay.min(MAX_SERVER_DELAY)
                        }
                        None => backoff.mul_f64(rng.random_range(0.75..1.25)),
                    };
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    tokio::time::sleep(delay).await;
                    continue;
                }
                if stats.failed.is_empty() && stats.requests_ok == 0 {
                    eprintln!("first failed request: {}: {}", code, status.message());
                }
                *stats.failed.entry(code).or_default() += 1;
                stats.spans_failed += span_count;
                context
                    .progress
                    .requests_failed
                    .fetch_add(1, Ordering::Relaxed);
                return false;
            }
        }
    }
    unreachable!("the retry loop returns")
}

/// Adds up the senders' stats; also returns their sampled trace ids.
fn merge(all: Vec<SenderStats>) -> (IngestReport, Vec<[u8; 16]>) {
    let mut report = IngestReport::default();
    let mut latencies = Vec::new();
    let mut trace_ids = Vec::new();
    for stats in all {
        report.requests_ok += stats.requests_ok;
        report.spans_accepted += stats.spans_accepted;
        report.spans_rejected += stats.spans_rejected;
        report.spans_failed += stats.spans_failed;
        report.bytes_sent += stats.bytes_sent;
        report.retries_with_retry_info += stats.retries_with_retry_info;
        for (code, count) in stats.failed {
            *report.requests_failed.entry(code).or_default() += count;
        }
        for (code, count) in stats.retries {
            *report.retries.entry(code).or_default() += count;
        }
        latencies.extend(stats.latencies_us);
        trace_ids.extend(stats.sampled_trace_ids);
    }
    report.latency = LatencySummary::from_micros(latencies);
    (report, trace_ids)
}

/// Writes at most `max_ids` hex trace ids, one per line; returns how many.
fn write_ids(
    path: &std::path::Path,
    ids: &mut Vec<[u8; 16]>,
    max_ids: usize,
    seed: u64,
) -> Result<usize> {
    if ids.len() > max_ids {
        ids.shuffle(&mut SmallRng::seed_from_u64(seed));
        ids.truncate(max_ids);
    }
    let mut text = String::with_capacity(ids.len() * 33);
    for id in ids.iter() {
        text.push_str(&hex::encode(id));
        text.push('\n');
    }
    let mut file =
        fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    if ids.is_empty() {
        bail!(
            "no request was accepted, so no trace ids were written to {}",
            path.display()
        );
    }
    Ok(ids.len())
}

async fn print_progress(context: Arc<SenderContext>, every: Duration, started: Instant) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    let mut last_spans = 0;
    loop {
        ticker.tick().await;
        let progress = &context.progress;
        let spans = progress.spans_accepted.load(Ordering::Relaxed);
        eprintln!(
            "[{:>5.1}s] {:>9.0} spans/s  accepted {}  ok {}  failed {}  retries {}",
            started.elapsed().as_secs_f64(),
            (spans - last_spans) as f64 / every.as_secs_f64(),
            spans,
            progress.requests_ok.load(Ordering::Relaxed),
            progress.requests_failed.load(Ordering::Relaxed),
            progress.retries.load(Ordering::Relaxed),
        );
        last_spans = spans;
    }
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64)
}
