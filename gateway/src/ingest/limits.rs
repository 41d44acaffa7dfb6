//! A tenant's ingest limits (`overrides:`), applied to what the client sent, before
//! the plugins run:
//!
//! - **rate**: a token bucket of spans (`ingestion_rate_spans` per second, holding at
//!   most `ingestion_burst_spans`). A request takes one token per valid span, or is
//!   refused whole, told how long until the tokens are there; a request larger than the
//!   bucket can never pass and is refused as not retryable.
//! - **live traces**: a trace is *live* from its first accepted span until no span of it
//!   has arrived for `overrides.live_trace_idle`. A trace that is not live when a request
//!   brings it is refused (its spans in that request) while the tenant has
//!   `max_live_traces` live traces.
//! - **bytes per trace**: the encoded protobuf size of a live trace's spans, counted as
//!   they arrive, refused spans included (as Tempo does, so a trace over the limit stays
//!   cut off rather than letting small spans through); the spans of a request that take a
//!   trace past `max_bytes_per_trace` are refused, and so are its later spans while it
//!   stays live. Once idle, a trace starts from zero.
//!
//! Refused spans are reported in OTLP partial success and counted per tenant and reason
//! (Tempo's `rate_limited`, `trace_too_large`, `live_traces_exceeded`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prost::Message as _;

use crate::model::{ExportTraceServiceRequest, TraceId, retain_spans};
use crate::tenant::{RateLimit, TenantLimits};

/// Why a tenant's spans were refused: the `reason` label. The first three are the
/// tenant's limits; the others refuse the whole request with a retryable status when
/// the gateway cannot take it (the exporter sends the spans again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Discard {
    RateLimited,
    TraceTooLarge,
    LiveTracesExceeded,
    /// No write slot freed within `ingest.queue_timeout`.
    Overloaded,
    /// The disk is full.
    NoSpace,
    /// Any other storage failure, or shutting down.
    Unavailable,
    /// An exporter's send queue is full, or it has no upstream.
    QueueFull,
    /// The process is over its memory limit.
    MemoryLimit,
}

impl Discard {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Discard::RateLimited => "rate_limited",
            Discard::TraceTooLarge => "trace_too_large",
            Discard::LiveTracesExceeded => "live_traces_exceeded",
            Discard::Overloaded => "overloaded",
            Discard::NoSpace => "no_space",
            Discard::Unavailable => "unavailable",
            Discard::QueueFull => "queue_full",
            Discard::MemoryLimit => "memory_limit",
        }
    }

    /// Why a write refused its request, when that refuses its spans (rate refusals are
    /// counted where the limit is checked).
    pub(crate) fn of_write_error(error: &super::IngestError) -> Option<Discard> {
        use super::IngestError;
        match error {
            IngestError::Overloaded(_) => Some(Discard::Overloaded),
            IngestError::Storage(_) if error.is_no_space() => Some(Discard::NoSpace),
            IngestError::Storage(_) | IngestError::ShuttingDown => Some(Discard::Unavailable),
            IngestError::Forward(_) => Some(Discard::QueueFull),
            _ => None,
        }
    }
}

/// A request the rate limit refused, with the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateRefusal {
    /// Too few tokens now; enough after `retry_after`.
    Later {
        retry_after: Duration,
        limit: RateLimit,
    },
    /// More spans than the bucket holds: never.
    Never { limit: RateLimit },
}

/// A token bucket counting spans.
#[derive(Debug)]
struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    fn new(limit: RateLimit, now: Instant) -> TokenBucket {
        TokenBucket {
            limit,
            tokens: limit.burst_spans as f64,
            updated: now,
        }
    }

    /// Takes `spans` tokens, or says when there will be enough.
    fn take(&mut self, spans: u64, now: Instant) -> Result<(), RateRefusal> {
        let limit = self.limit;
        if spans > limit.burst_spans {
            return Err(RateRefusal::Never { limit });
        }
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        let rate = self.limit.spans_per_second as f64;
        self.tokens = (self.tokens + elapsed * rate).min(self.limit.burst_spans as f64);
        self.updated = now;
        let wanted = spans as f64;
        if self.tokens >= wanted {
            self.tokens -= wanted;
            return Ok(());
        }
        let seconds = (wanted - self.tokens) / rate;
        Err(RateRefusal::Later {
            retry_after: Duration::from_secs_f64(seconds.min(86_400.0)),
            limit,
        })
    }
}

/// Which per-trace limit refused a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TraceLimit {
    TooLarge,
    LiveTraces,
}

/// One live trace.
#[derive(Debug, Clone, Copy)]
struct LiveTrace {
    last_seen: Instant,
    bytes: u64,
}

/// A tenant's live traces (see the module documentation).
#[derive(Debug)]
struct LiveTraces {
    idle: Duration,
    traces: HashMap<TraceId, LiveTrace>,
    pruned: Instant,
}

/// Spans refused by the per-trace limits of one request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct TraceRefusals {
    pub trace_too_large: usize,
    pub live_traces_exceeded: usize,
    /// Why the first refused spans were refused; empty when none were.
    pub message: String,
}

impl TraceRefusals {
    pub(crate) fn total(&self) -> usize {
        self.trace_too_large + self.live_traces_exceeded
    }
}

impl LiveTraces {
    fn new(idle: Duration, now: Instant) -> LiveTraces {
        LiveTraces {
            idle,
            traces: HashMap::new(),
            pruned: now,
        }
    }

    fn is_live(&self, trace: &LiveTrace, now: Instant) -> bool {
        now.saturating_duration_since(trace.last_seen) < self.idle
    }

    /// Forgets the traces idle for `idle`, at most once a second unless `force`.
    fn prune(&mut self, now: Instant, force: bool) {
        if !force
            && now.saturating_duration_since(self.pruned) < self.idle.min(Duration::from_secs(1))
        {
            return;
        }
        let idle = self.idle;
        self.traces
            .retain(|_, trace| now.saturating_duration_since(trace.last_seen) < idle);
        self.pruned = now;
    }

    /// Applies the live-trace and bytes-per-trace limits to `request`, removing the
    /// refused spans.
    fn admit(
        &mut self,
        request: &mut ExportTraceServiceRequest,
        limits: &TenantLimits,
        tenant: &str,
        now: Instant,
    ) -> TraceRefusals {
        self.prune(now, false);
        // Each trace of the request with its bytes, in order of first appearance.
        let mut order: Vec<TraceId> = Vec::new();
        let mut bytes: HashMap<TraceId, u64> = HashMap::new();
        for span in request
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .flat_map(|scope| &scope.spans)
        {
            let Some(trace_id) = TraceId::from_slice(&span.trace_id) else {
                continue;
            };
            let size = span.encoded_len() as u64;
            match bytes.get_mut(&trace_id) {
                Some(total) => *total += size,
                None => {
                    bytes.insert(trace_id, size);
                    order.push(trace_id);
                }
            }
        }
        let mut refused: HashMap<TraceId, (TraceLimit, String)> = HashMap::new();
        for trace_id in order {
            let added = bytes.get(&trace_id).copied().unwrap_or(0);
            let live = self
                .traces
                .get(&trace_id)
                .is_some_and(|trace| self.is_live(trace, now));
            if !live && let Some(max) = limits.max_live_traces {
                if self.traces.len() as u64 >= max {
                    self.prune(now, true);
                }
                if self.traces.len() as u64 >= max {
                    refused.insert(
                        trace_id,
                        (
                            TraceLimit::LiveTraces,
                            format!(
                                "LIVE_TRACES_EXCEEDED: max live traces exceeded for tenant {tenant}: \
                                 limit {max} (overrides max_live_traces) reached; trace {} refused",
                                trace_id.to_hex()
                            ),
                        ),
                    );
                    continue;
                }
            }
            let trace = self.traces.entry(trace_id).or_insert(LiveTrace {
                last_seen: now,
                bytes: 0,
            });
            if !live {
                trace.bytes = 0;
            }
            trace.last_seen = now;
            trace.bytes = trace.bytes.saturating_add(added);
            if let Some(max) = limits.max_bytes_per_trace
                && trace.bytes > max
            {
                refused.insert(
                    trace_id,
                    (
                        TraceLimit::TooLarge,
                        format!(
                            "TRACE_TOO_LARGE: max size of trace ({max} bytes, overrides \
                             max_bytes_per_trace) exceeded while adding {added} bytes to trace {} \
                             for tenant {tenant}",
                            trace_id.to_hex()
                        ),
                    ),
                );
            }
        }
        let mut outcome = TraceRefusals::default();
        if refused.is_empty() {
            return outcome;
        }
        retain_spans(request, |span| {
            let Some((reason, message)) =
                TraceId::from_slice(&span.trace_id).and_then(|trace_id| refused.get(&trace_id))
            else {
                return true;
            };
            if outcome.message.is_empty() {
                outcome.message = message.clone();
            }
            match reason {
                TraceLimit::TooLarge => outcome.trace_too_large += 1,
                TraceLimit::LiveTraces => outcome.live_traces_exceeded += 1,
            }
            false
        });
        outcome
    }
}

/// The limits of one tenant and their state.
#[derive(Debug)]
pub(crate) struct TenantLimiter {
    limits: TenantLimits,
    bucket: Option<Mutex<TokenBucket>>,
    live: Option<Mutex<LiveTraces>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state stays usable after a panic elsewhere (counters and timestamps only).
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl TenantLimiter {
    pub(crate) fn new(limits: TenantLimits, live_trace_idle: Duration) -> TenantLimiter {
        let now = Instant::now();
        TenantLimiter {
            limits,
            bucket: limits
                .rate
                .map(|rate| Mutex::new(TokenBucket::new(rate, now))),
            live: limits
                .tracks_traces()
                .then(|| Mutex::new(LiveTraces::new(live_trace_idle, now))),
        }
    }

    /// Takes a token per span of a request of `spans` spans, or refuses it whole.
    pub(crate) fn check_rate(&self, spans: usize) -> Result<(), RateRefusal> {
        match &self.bucket {
            Some(bucket) => lock(bucket).take(spans as u64, Instant::now()),
            None => Ok(()),
        }
    }

    /// Removes the spans the per-trace limits refuse from `request`.
    pub(crate) fn admit_traces(
        &self,
        request: &mut ExportTraceServiceRequest,
        tenant: &str,
    ) -> TraceRefusals {
        match &self.live {
            Some(live) => lock(live).admit(request, &self.limits, tenant, Instant::now()),
            None => TraceRefusals::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResourceSpans, ScopeSpans, Span, count_spans};

    fn rate(spans_per_second: u64, burst_spans: u64) -> RateLimit {
        RateLimit {
            spans_per_second,
            burst_spans,
        }
    }

    #[test]
    fn write_refusals_count_their_spans_under_their_reason() {
        use crate::ingest::IngestError;
        use crate::store::StoreError;
        let cases = [
            (
                IngestError::Overloaded(Duration::from_secs(2)),
                Some(Discard::Overloaded),
            ),
            (
                IngestError::Storage(StoreError::NoSpace("no space left on device".into())),
                Some(Discard::NoSpace),
            ),
            (
                IngestError::Storage(StoreError::TooManyTenants),
                Some(Discard::Unavailable),
            ),
            (IngestError::ShuttingDown, Some(Discard::Unavailable)),
        ];
        for (error, reason) in cases {
            assert_eq!(Discard::of_write_error(&error), reason, "{error}");
        }
        let labels: Vec<&str> = [Discard::Overloaded, Discard::NoSpace, Discard::Unavailable]
            .iter()
            .map(|d| d.label())
            .collect();
        assert_eq!(labels, ["overloaded", "no_space", "unavailable"]);
    }

    #[test]
    fn the_bucket_refills_at_the_rate_up_to_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(rate(10, 20), start);
        assert_eq!(bucket.take(20, start), Ok(()));
        assert_eq!(
            bucket.take(5, start),
            Err(RateRefusal::Later {
                retry_after: Duration::from_millis(500),
                limit: rate(10, 20),
            })
        );
        let later = start + Duration::from_millis(500);
        assert_eq!(bucket.take(5, later), Ok(()));
        // Never more than the burst, however long it waited.
        let much_later = later + Duration::from_secs(3600);
        assert_eq!(bucket.take(20, much_later), Ok(()));
        assert!(matches!(
            bucket.take(1, much_later),
            Err(RateRefusal::Later { .. })
        ));
        assert_eq!(
            bucket.take(21, much_later),
            Err(RateRefusal::Never {
                limit: rate(10, 20)
            })
        );
    }

    fn span(trace: u8, span: u8, payload: usize) -> Span {
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![span; 8],
            name: "x".repeat(payload),
            ..Default::default()
        }
    }

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn limits(max_bytes: Option<u64>, max_live: Option<u64>) -> TenantLimits {
        TenantLimits {
            rate: None,
            max_bytes_per_trace: max_bytes,
            max_live_traces: max_live,
        }
    }

    #[test]
    fn new_traces_past_the_live_limit_are_refused_until_one_goes_idle() {
        let start = Instant::now();
        let idle = Duration::from_secs(10);
        let mut live = LiveTraces::new(idle, start);
        let limits = limits(None, Some(2));
        let mut first = request(vec![
            span(1, 1, 0),
            span(2, 1, 0),
            span(3, 1, 0),
            span(3, 2, 0),
        ]);
        let refused = live.admit(&mut first, &limits, "a", start);
        assert_eq!(refused.live_traces_exceeded, 2);
        assert_eq!(count_spans(&first.resource_spans), 2);
        assert!(
            refused.message.starts_with("LIVE_TRACES_EXCEEDED: "),
            "{}",
            refused.message
        );
        // A live trace keeps taking spans; a new one does not.
        let mut more = request(vec![span(1, 2, 0), span(4, 1, 0)]);
        let refused = live.admit(&mut more, &limits, "a", start + Duration::from_secs(5));
        assert_eq!(refused.live_traces_exceeded, 1);
        assert_eq!(count_spans(&more.resource_spans), 1);
        // Trace 2 went idle 10 s after its last span; trace 1 is still live.
        let mut after = request(vec![span(4, 1, 0)]);
        let refused = live.admit(&mut after, &limits, "a", start + Duration::from_secs(10));
        assert_eq!(refused.total(), 0);
    }

    #[test]
    fn a_trace_past_its_size_is_cut_off_while_live() {
        let start = Instant::now();
        let mut live = LiveTraces::new(Duration::from_secs(10), start);
        let one_span = span(1, 1, 100).encoded_len() as u64;
        let limits = limits(Some(2 * one_span), None);
        let mut fits = request(vec![span(1, 1, 100), span(1, 2, 100)]);
        assert_eq!(live.admit(&mut fits, &limits, "a", start).total(), 0);
        let mut over = request(vec![span(1, 3, 100), span(2, 1, 100)]);
        let refused = live.admit(&mut over, &limits, "a", start);
        assert_eq!(refused.trace_too_large, 1);
        assert_eq!(
            count_spans(&over.resource_spans),
            1,
            "trace 2 is not affected"
        );
        assert!(
            refused.message.starts_with("TRACE_TOO_LARGE: "),
            "{}",
            refused.message
        );
        // Even a tiny span stays refused while the trace is live.
        let mut tiny = request(vec![span(1, 4, 0)]);
        assert_eq!(
            live.admit(&mut tiny, &limits, "a", start + Duration::from_secs(9))
                .trace_too_large,
            1
        );
        // Idle for the whole period: the trace starts from zero.
        let mut later = request(vec![span(1, 5, 100)]);
        assert_eq!(
            live.admit(&mut later, &limits, "a", start + Duration::from_secs(19))
                .total(),
            0
        );
    }

    #[test]
    fn no_limits_track_nothing() {
        let limiter = TenantLimiter::new(TenantLimits::default(), Duration::from_secs(10));
        assert!(limiter.live.is_none());
        assert!(limiter.bucket.is_none());
        assert_eq!(limiter.check_rate(1_000_000), Ok(()));
        let mut request = request(vec![span(1, 1, 10)]);
        assert_eq!(limiter.admit_traces(&mut request, "a").total(), 0);
    }
}
