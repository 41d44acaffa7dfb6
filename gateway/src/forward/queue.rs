//! One upstream's send queue as the sender sees it: which batches (by `seq`) wait,
//! which are in flight, their bytes, and the counters `/metrics` shows. The batches
//! themselves stay in the store's `outbox` family; memory holds 16 bytes per batch.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::Notify;

use crate::store::QueueId;

pub(crate) struct UpstreamQueue {
    pub(crate) id: QueueId,
    pub(crate) exporter: String,
    pub(crate) upstream: String,
    state: Mutex<QueueState>,
    /// Woken when a batch is queued.
    pub(crate) wake: Notify,
    /// Bytes queued by every upstream of the exporter (its `queue.max_bytes` bound).
    exporter_bytes: Arc<AtomicU64>,
    /// Out of the ring: its upstream went away (DNS, config) or failed past
    /// `give_up_after`; what it holds is routed anew.
    pub(crate) removed: AtomicBool,
    pub(crate) counters: QueueCounters,
}

#[derive(Default)]
struct QueueState {
    /// seq → bytes of batches waiting to be sent.
    waiting: BTreeMap<u64, u64>,
    /// seq → bytes of batches being sent.
    in_flight: HashMap<u64, u64>,
    bytes: u64,
    /// Since when every attempt failed; `None` after a success.
    failing_since: Option<Instant>,
}

/// Counters of one queue (monotonic, for `/metrics`).
#[derive(Default)]
pub(crate) struct QueueCounters {
    pub(crate) sent_batches: AtomicU64,
    pub(crate) sent_spans: AtomicU64,
    /// Spans the upstream refused individually in an accepted batch (`partial_success`).
    pub(crate) rejected_spans: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) failed_batches: AtomicU64,
    pub(crate) failed_spans: AtomicU64,
    /// Batches moved to other upstreams (this one left the ring).
    pub(crate) rerouted_batches: AtomicU64,
}

/// A queue's figures at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct QueueFigures {
    pub(crate) exporter: String,
    pub(crate) upstream: String,
    pub(crate) batches: u64,
    pub(crate) bytes: u64,
    /// The oldest queued batch's `seq` (its ingest time in unix nanoseconds).
    pub(crate) oldest_seq: Option<u64>,
    pub(crate) removed: bool,
    pub(crate) sent_batches: u64,
    pub(crate) sent_spans: u64,
    pub(crate) rejected_spans: u64,
    pub(crate) retries: u64,
    pub(crate) failed_batches: u64,
    pub(crate) failed_spans: u64,
    pub(crate) rerouted_batches: u64,
}

impl UpstreamQueue {
    pub(crate) fn new(
        id: QueueId,
        exporter: &str,
        upstream: &str,
        exporter_bytes: Arc<AtomicU64>,
    ) -> UpstreamQueue {
        UpstreamQueue {
            id,
            exporter: exporter.to_owned(),
            upstream: upstream.to_owned(),
            state: Mutex::new(QueueState::default()),
            wake: Notify::new(),
            exporter_bytes,
            removed: AtomicBool::new(false),
            counters: QueueCounters::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Records committed batches and wakes the sender.
    pub(crate) fn add(&self, batches: impl IntoIterator<Item = (u64, u64)>) {
        let mut added = 0;
        {
            let mut state = self.lock();
            for (seq, bytes) in batches {
                if state.waiting.insert(seq, bytes).is_none() {
                    state.bytes += bytes;
                    added += bytes;
                }
            }
        }
        self.exporter_bytes.fetch_add(added, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// The oldest waiting batch, now in flight.
    pub(crate) fn take_next(&self) -> Option<u64> {
        let mut state = self.lock();
        let (seq, bytes) = state.waiting.pop_first()?;
        state.in_flight.insert(seq, bytes);
        Some(seq)
    }

    /// Waiting batches, oldest first, now in flight (for re-routing).
    pub(crate) fn take_waiting(&self, max: usize) -> Vec<u64> {
        let mut state = self.lock();
        let mut taken = Vec::new();
        while taken.len() < max {
            let Some((seq, bytes)) = state.waiting.pop_first() else {
                break;
            };
            state.in_flight.insert(seq, bytes);
            taken.push(seq);
        }
        taken
    }

    /// An in-flight batch waits again (a failed send).
    pub(crate) fn put_back(&self, seq: u64) {
        let mut state = self.lock();
        if let Some(bytes) = state.in_flight.remove(&seq) {
            state.waiting.insert(seq, bytes);
        }
    }

    /// Every in-flight batch waits again (the sender stopped).
    pub(crate) fn put_back_all(&self) {
        let mut state = self.lock();
        let in_flight: Vec<(u64, u64)> = state.in_flight.drain().collect();
        state.waiting.extend(in_flight);
    }

    /// A batch left the queue (sent, refused for good, re-routed, or gone).
    pub(crate) fn done(&self, seq: u64) {
        let bytes = {
            let mut state = self.lock();
            let bytes = state
                .in_flight
                .remove(&seq)
                .or_else(|| state.waiting.remove(&seq))
                .unwrap_or(0);
            state.bytes -= bytes;
            bytes
        };
        self.exporter_bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    pub(crate) fn has_waiting(&self) -> bool {
        !self.lock().waiting.is_empty()
    }

    /// Records an attempt's result; returns since when the upstream has been failing.
    pub(crate) fn attempt(&self, succeeded: bool) -> Option<Instant> {
        let mut state = self.lock();
        if succeeded {
            state.failing_since = None;
        } else if state.failing_since.is_none() {
            state.failing_since = Some(Instant::now());
        }
        state.failing_since
    }

    pub(crate) fn failing_since(&self) -> Option<Instant> {
        self.lock().failing_since
    }

    pub(crate) fn figures(&self) -> QueueFigures {
        let state = self.lock();
        let oldest_seq = state
            .waiting
            .keys()
            .next()
            .copied()
            .into_iter()
            .chain(state.in_flight.keys().copied())
            .min();
        let c = &self.counters;
        QueueFigures {
            exporter: self.exporter.clone(),
            upstream: self.upstream.clone(),
            batches: (state.waiting.len() + state.in_flight.len()) as u64,
            bytes: state.bytes,
            oldest_seq,
            removed: self.removed.load(Ordering::Relaxed),
            sent_batches: c.sent_batches.load(Ordering::Relaxed),
            sent_spans: c.sent_spans.load(Ordering::Relaxed),
            rejected_spans: c.rejected_spans.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            failed_batches: c.failed_batches.load(Ordering::Relaxed),
            failed_spans: c.failed_spans.load(Ordering::Relaxed),
            rerouted_batches: c.rerouted_batches.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_move_between_waiting_and_in_flight() {
        let total = Arc::new(AtomicU64::new(0));
        let queue = UpstreamQueue::new(QueueId(1), "e", "u", total.clone());
        queue.add([(20, 5), (10, 7)]);
        assert_eq!(total.load(Ordering::Relaxed), 12);
        assert_eq!(queue.take_next(), Some(10));
        assert_eq!(queue.figures().oldest_seq, Some(10));
        queue.put_back(10);
        assert_eq!(queue.take_next(), Some(10));
        queue.done(10);
        assert_eq!(queue.figures().bytes, 5);
        assert_eq!(total.load(Ordering::Relaxed), 5);
        assert_eq!(queue.take_waiting(10), [20]);
        queue.put_back_all();
        assert!(queue.has_waiting());
        queue.done(20);
        assert_eq!(queue.figures().batches, 0);
        assert_eq!(total.load(Ordering::Relaxed), 0);
    }
}
