//! The task that empties one upstream's queue: up to `concurrency` batches in flight,
//! each deleted from the store only once the upstream acknowledged it (or refused it
//! for good); after a retryable failure the whole queue pauses for an exponential
//! backoff with jitter (at least what `RetryInfo` / `Retry-After` asked for), so a
//! down upstream costs one attempt per backoff, not one per batch.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::client::{SendOutcome, UpstreamClient};
use super::config::RetryConfig;
use super::entry;
use super::queue::UpstreamQueue;
use crate::store::TraceStore;

/// Logs about a failing upstream at most this often (the counters count every attempt).
const LOG_EVERY: Duration = Duration::from_secs(10);

pub(crate) struct Sender {
    pub(crate) queue: Arc<UpstreamQueue>,
    pub(crate) client: UpstreamClient,
    pub(crate) store: Arc<TraceStore>,
    pub(crate) retry: RetryConfig,
    pub(crate) concurrency: usize,
}

/// What an in-flight send returns.
struct Attempt {
    seq: u64,
    spans: u32,
    outcome: SendOutcome,
}

impl Sender {
    /// Sends until `stop`; batches in flight then wait in the queue again (they are
    /// still in the store, so they are sent after a restart if not before).
    pub(crate) async fn run(self, stop: CancellationToken) {
        let mut in_flight: JoinSet<Attempt> = JoinSet::new();
        let mut backoff = Backoff::new(&self.retry);
        let mut paused_until: Option<tokio::time::Instant> = None;
        let mut last_log: Option<Instant> = None;
        loop {
            if paused_until.is_some_and(|until| until <= tokio::time::Instant::now()) {
                paused_until = None;
            }
            // Out of the ring, a queue's batches are routed anew, not sent.
            while paused_until.is_none()
                && in_flight.len() < self.concurrency
                && !self.queue.removed.load(Ordering::Relaxed)
            {
                let Some(seq) = self.queue.take_next() else {
                    break;
                };
                match self.store.queued_batch(self.queue.id, seq) {
                    Ok(Some(value)) => match entry::decode(value) {
                        Ok(entry) => {
                            let client = self.client.clone();
                            in_flight.spawn(async move {
                                let outcome = client.send(entry.payload, &entry.tenant).await;
                                Attempt {
                                    seq,
                                    spans: entry.spans,
                                    outcome,
                                }
                            });
                        }
                        Err(error) => {
                            tracing::error!(exporter = %self.queue.exporter, upstream = %self.queue.upstream, seq, %error, "dropping an unreadable queued batch");
                            self.finish(seq, 0, false);
                        }
                    },
                    // Moved to another queue meanwhile.
                    Ok(None) => self.queue.done(seq),
                    Err(error) => {
                        tracing::warn!(exporter = %self.queue.exporter, %error, "reading the send queue failed; retrying");
                        self.queue.put_back(seq);
                        paused_until = Some(tokio::time::Instant::now() + backoff.next());
                    }
                }
            }
            let can_start = paused_until.is_none() && in_flight.len() < self.concurrency;
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => {
                    let Ok(attempt) = joined else { continue };
                    if let Some(wait) = self.settle(attempt, &mut backoff, &mut last_log) {
                        let until = tokio::time::Instant::now() + wait;
                        paused_until = Some(paused_until.map_or(until, |p| p.max(until)));
                    }
                }
                _ = self.queue.wake.notified(), if can_start => {}
                _ = sleep_until(paused_until), if paused_until.is_some() => {}
            }
        }
        in_flight.abort_all();
        self.queue.put_back_all();
    }

    /// Applies one attempt's outcome; returns how long to pause after a retryable failure.
    fn settle(
        &self,
        attempt: Attempt,
        backoff: &mut Backoff,
        last_log: &mut Option<Instant>,
    ) -> Option<Duration> {
        let counters = &self.queue.counters;
        let (queue, upstream) = (&self.queue.exporter, &self.queue.upstream);
        match attempt.outcome {
            SendOutcome::Sent { rejected, message } => {
                self.queue.attempt(true);
                backoff.reset();
                counters.sent_batches.fetch_add(1, Ordering::Relaxed);
                counters
                    .sent_spans
                    .fetch_add(u64::from(attempt.spans), Ordering::Relaxed);
                if rejected > 0 {
                    counters
                        .rejected_spans
                        .fetch_add(rejected.unsigned_abs(), Ordering::Relaxed);
                    tracing::warn!(exporter = %queue, %upstream, rejected, %message, "upstream accepted a batch but rejected some of its spans");
                }
                self.finish(attempt.seq, attempt.spans, true);
                None
            }
            SendOutcome::Retry { reason, after } => {
                let failing_since = self.queue.attempt(false);
                counters.retries.fetch_add(1, Ordering::Relaxed);
                self.queue.put_back(attempt.seq);
                let wait = backoff.next().max(after.unwrap_or_default());
                if last_log.is_none_or(|at| at.elapsed() >= LOG_EVERY) {
                    *last_log = Some(Instant::now());
                    tracing::warn!(
                        exporter = %queue, %upstream, %reason, retry_in = ?wait,
                        failing_for = ?failing_since.map(|s| s.elapsed()).unwrap_or_default(),
                        "upstream unavailable; batches stay queued"
                    );
                }
                Some(wait)
            }
            SendOutcome::Permanent { reason } => {
                // The upstream answered: it is up, this batch is what it refuses.
                self.queue.attempt(true);
                tracing::error!(exporter = %queue, %upstream, %reason, spans = attempt.spans, "upstream refused a batch for good; dropped (counted in spangate_exporter_failed_spans_total)");
                self.finish(attempt.seq, attempt.spans, false);
                None
            }
        }
    }

    /// Deletes a batch that left the queue for good (`sent`, or counted as failed).
    fn finish(&self, seq: u64, spans: u32, sent: bool) {
        if !sent {
            let counters = &self.queue.counters;
            counters.failed_batches.fetch_add(1, Ordering::Relaxed);
            counters
                .failed_spans
                .fetch_add(u64::from(spans), Ordering::Relaxed);
        }
        if let Err(error) = self.store.dequeue(self.queue.id, &[seq]) {
            // Still stored: sent again after a restart (the upstream deduplicates
            // or stores a copy), never lost.
            tracing::warn!(exporter = %self.queue.exporter, %error, "deleting a sent batch failed");
        }
        self.queue.done(seq);
    }
}

async fn sleep_until(until: Option<tokio::time::Instant>) {
    if let Some(until) = until {
        tokio::time::sleep_until(until).await;
    }
}

/// Exponential backoff (×1.5 per failure, capped) with ±50% jitter, as the
/// OpenTelemetry Collector's exporters wait between retries.
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
    seed: u64,
}

impl Backoff {
    pub(crate) fn new(retry: &RetryConfig) -> Backoff {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9, |d| d.as_nanos() as u64)
            | 1;
        Backoff {
            initial: retry.initial_interval,
            max: retry.max_interval,
            current: Duration::ZERO,
            seed,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.current = Duration::ZERO;
    }

    /// The next wait: the interval grown by one step, jittered within ±50%.
    pub(crate) fn next(&mut self) -> Duration {
        self.current = if self.current.is_zero() {
            self.initial
        } else {
            self.current.mul_f64(1.5).min(self.max)
        };
        // xorshift64: jitter needs no cryptographic randomness.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let factor = 0.5 + (self.seed % 1_000) as f64 / 1_000.0;
        self.current.mul_f64(factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter_and_resets() {
        let mut backoff = Backoff::new(&RetryConfig {
            initial_interval: Duration::from_millis(100),
            max_interval: Duration::from_secs(1),
        });
        let first = backoff.next();
        assert!((50..=150).contains(&first.as_millis()), "{first:?}");
        let mut last = first;
        for _ in 0..20 {
            last = backoff.next();
            assert!(last <= Duration::from_millis(1_500), "{last:?}");
        }
        assert!(last >= Duration::from_millis(500), "{last:?}");
        backoff.reset();
        assert!(backoff.next() <= Duration::from_millis(150));
    }
}
