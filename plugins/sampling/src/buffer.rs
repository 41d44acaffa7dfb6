//! Groups spans by trace id until their trace's `decision_wait` has elapsed, within fixed bounds.
//!
//! Tail sampling needs the whole trace, but memory must stay bounded whatever clients send. Both
//! bounds hand a trace back *early* (to be decided on what has arrived) instead of dropping
//! anything, and say which bound did it, so the host can count it:
//! * a trace reaching `max_spans_per_trace` spans is handed back at once ([`EarlyReason::TraceFull`]);
//! * a new trace arriving when `max_traces` are buffered makes the **oldest** trace be handed
//!   back ([`EarlyReason::BufferFull`]); the oldest is the closest to its deadline anyway.
//!
//! Deadlines are `first span arrival + decision_wait`, with arrival time passed in by the
//! caller. Because the wait is the same for every trace, deadlines are in arrival order, so a
//! FIFO queue finds the expired traces without scanning or sorting.

use std::collections::{HashMap, VecDeque};

use crate::model::{Span, TraceId};

/// Why a trace left the buffer before its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EarlyReason {
    /// It reached `max_spans_per_trace`.
    TraceFull,
    /// `max_traces` traces were buffered and a new one arrived; this was the oldest.
    BufferFull,
}

/// A trace handed back by [`TraceBuffer::push`] before its deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct EjectedTrace {
    pub trace_id: TraceId,
    pub spans: Vec<Span>,
    pub reason: EarlyReason,
}

/// What [`TraceBuffer::push`] did with a span.
#[derive(Debug, Clone, PartialEq)]
pub enum PushOutcome {
    /// The span is held until its trace's deadline.
    Buffered,
    /// A trace (the span's own, or the oldest one) must be decided now.
    Ejected(EjectedTrace),
}

#[derive(Debug, Clone)]
struct PendingTrace {
    spans: Vec<Span>,
    /// Matches the queue entry created for this trace; an older entry for a trace id that left
    /// and came back is stale and skipped.
    sequence: u64,
}

/// Bounded per-trace span buffer with arrival-ordered deadlines.
#[derive(Debug, Clone)]
pub struct TraceBuffer {
    traces: HashMap<TraceId, PendingTrace>,
    /// `(deadline, trace id, sequence)` in arrival order; may hold stale entries for traces that
    /// left early, skipped when reached and compacted when they pile up.
    deadlines: VecDeque<(u64, TraceId, u64)>,
    next_sequence: u64,
    decision_wait_nanos: u64,
    max_traces: usize,
    max_spans_per_trace: usize,
    buffered_spans: usize,
}

impl TraceBuffer {
    /// An empty buffer. `max_traces` and `max_spans_per_trace` below 1 are treated as 1.
    pub fn new(decision_wait_nanos: u64, max_traces: usize, max_spans_per_trace: usize) -> Self {
        TraceBuffer {
            traces: HashMap::new(),
            deadlines: VecDeque::new(),
            next_sequence: 0,
            decision_wait_nanos,
            max_traces: max_traces.max(1),
            max_spans_per_trace: max_spans_per_trace.max(1),
            buffered_spans: 0,
        }
    }

    /// Adds a span arriving at `now`. At most one trace is ejected per call.
    pub fn push(&mut self, span: Span, now_unix_nanos: u64) -> PushOutcome {
        let trace_id = span.trace_id;
        if let Some(pending) = self.traces.get_mut(&trace_id) {
            pending.spans.push(span);
            self.buffered_spans += 1;
            if pending.spans.len() >= self.max_spans_per_trace {
                return PushOutcome::Ejected(self.remove(trace_id, EarlyReason::TraceFull));
            }
            return PushOutcome::Buffered;
        }
        if self.max_spans_per_trace == 1 {
            // The trace is full with its first span: never buffered.
            return PushOutcome::Ejected(EjectedTrace {
                trace_id,
                spans: vec![span],
                reason: EarlyReason::TraceFull,
            });
        }
        let evicted = if self.traces.len() >= self.max_traces {
            self.pop_oldest()
                .map(|oldest| self.remove(oldest, EarlyReason::BufferFull))
        } else {
            None
        };
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let deadline = now_unix_nanos.saturating_add(self.decision_wait_nanos);
        self.deadlines.push_back((deadline, trace_id, sequence));
        self.traces.insert(
            trace_id,
            PendingTrace {
                spans: vec![span],
                sequence,
            },
        );
        self.buffered_spans += 1;
        self.compact_if_needed();
        match evicted {
            Some(ejected) => PushOutcome::Ejected(ejected),
            None => PushOutcome::Buffered,
        }
    }

    /// Removes and returns, oldest first, every trace whose deadline is at or before `now`.
    pub fn take_expired(&mut self, now_unix_nanos: u64) -> Vec<(TraceId, Vec<Span>)> {
        let mut expired = Vec::new();
        while let Some(&(deadline, trace_id, sequence)) = self.deadlines.front() {
            if !self.is_live(&trace_id, sequence) {
                self.deadlines.pop_front();
                continue;
            }
            if deadline > now_unix_nanos {
                break;
            }
            self.deadlines.pop_front();
            if let Some(pending) = self.traces.remove(&trace_id) {
                self.buffered_spans -= pending.spans.len();
                expired.push((trace_id, pending.spans));
            }
        }
        expired
    }

    /// Removes and returns every buffered trace, oldest first (for shutdown or reload).
    pub fn take_all(&mut self) -> Vec<(TraceId, Vec<Span>)> {
        self.take_expired(u64::MAX)
    }

    /// Number of traces buffered.
    pub fn trace_count(&self) -> usize {
        self.traces.len()
    }

    /// Number of spans buffered across all traces.
    pub fn span_count(&self) -> usize {
        self.buffered_spans
    }

    /// The earliest pending deadline, so a host can schedule its next `ready` call.
    pub fn next_deadline(&mut self) -> Option<u64> {
        while let Some(&(deadline, trace_id, sequence)) = self.deadlines.front() {
            if self.is_live(&trace_id, sequence) {
                return Some(deadline);
            }
            self.deadlines.pop_front();
        }
        None
    }

    fn is_live(&self, trace_id: &TraceId, sequence: u64) -> bool {
        self.traces
            .get(trace_id)
            .is_some_and(|pending| pending.sequence == sequence)
    }

    fn pop_oldest(&mut self) -> Option<TraceId> {
        while let Some((_, trace_id, sequence)) = self.deadlines.pop_front() {
            if self.is_live(&trace_id, sequence) {
                return Some(trace_id);
            }
        }
        None
    }

    fn remove(&mut self, trace_id: TraceId, reason: EarlyReason) -> EjectedTrace {
        let spans = self
            .traces
            .remove(&trace_id)
            .map(|pending| pending.spans)
            .unwrap_or_default();
        self.buffered_spans -= spans.len();
        EjectedTrace {
            trace_id,
            spans,
            reason,
        }
    }

    /// Keeps the deadline queue within `2 * max_traces` entries (plus slack) even when many
    /// traces leave early, so the buffer's memory is bounded by its limits alone.
    fn compact_if_needed(&mut self) {
        if self.deadlines.len() > 2 * self.max_traces + 64 {
            let traces = &self.traces;
            self.deadlines.retain(|(_, trace_id, sequence)| {
                traces
                    .get(trace_id)
                    .is_some_and(|pending| pending.sequence == *sequence)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn span(trace: u8, n: u8) -> Span {
        Span {
            trace_id: [trace; 16],
            span_id: [n; 8],
            ..Span::default()
        }
    }

    fn ids(traces: &[(TraceId, Vec<Span>)]) -> Vec<u8> {
        traces.iter().map(|(id, _)| id[0]).collect()
    }

    #[test]
    fn groups_spans_and_releases_after_decision_wait() {
        let mut buffer = TraceBuffer::new(10 * SECOND, 100, 100);
        assert_eq!(buffer.push(span(1, 1), 0), PushOutcome::Buffered);
        assert_eq!(buffer.push(span(2, 1), 3 * SECOND), PushOutcome::Buffered);
        assert_eq!(buffer.push(span(1, 2), 9 * SECOND), PushOutcome::Buffered);
        assert_eq!(buffer.span_count(), 3);
        assert_eq!(buffer.next_deadline(), Some(10 * SECOND));
        assert!(buffer.take_expired(10 * SECOND - 1).is_empty());
        let first = buffer.take_expired(10 * SECOND);
        assert_eq!(ids(&first), vec![1]);
        assert_eq!(
            first[0].1.len(),
            2,
            "both spans of trace 1, wait counted from the first"
        );
        assert!(buffer.take_expired(13 * SECOND - 1).is_empty());
        assert_eq!(ids(&buffer.take_expired(13 * SECOND)), vec![2]);
        assert_eq!(buffer.span_count(), 0);
        assert_eq!(buffer.next_deadline(), None);
    }

    #[test]
    fn full_trace_is_ejected_with_all_its_spans() {
        let mut buffer = TraceBuffer::new(SECOND, 10, 3);
        buffer.push(span(1, 1), 0);
        buffer.push(span(1, 2), 0);
        let PushOutcome::Ejected(ejected) = buffer.push(span(1, 3), 0) else {
            panic!("expected an ejection");
        };
        assert_eq!(ejected.reason, EarlyReason::TraceFull);
        assert_eq!(ejected.spans.len(), 3);
        assert_eq!(buffer.trace_count(), 0);
        // The stale deadline entry is skipped, and a new trace with the same id starts afresh.
        assert_eq!(buffer.push(span(1, 4), 5 * SECOND), PushOutcome::Buffered);
        assert!(buffer.take_expired(2 * SECOND).is_empty());
        assert_eq!(buffer.take_expired(6 * SECOND)[0].1.len(), 1);
    }

    #[test]
    fn new_trace_beyond_max_traces_ejects_the_oldest() {
        let mut buffer = TraceBuffer::new(SECOND, 2, 10);
        buffer.push(span(1, 1), 0);
        buffer.push(span(2, 1), 1);
        buffer.push(span(1, 2), 2);
        let PushOutcome::Ejected(ejected) = buffer.push(span(3, 1), 3) else {
            panic!("expected an ejection");
        };
        assert_eq!(
            (ejected.trace_id[0], ejected.reason),
            (1, EarlyReason::BufferFull)
        );
        assert_eq!(ejected.spans.len(), 2);
        assert_eq!(buffer.trace_count(), 2);
        assert_eq!(ids(&buffer.take_all()), vec![2, 3]);
    }

    #[test]
    fn one_span_per_trace_is_never_buffered() {
        let mut buffer = TraceBuffer::new(SECOND, 1, 1);
        for trace in 0..5 {
            let outcome = buffer.push(span(trace, 0), 0);
            assert!(matches!(
                outcome,
                PushOutcome::Ejected(EjectedTrace {
                    reason: EarlyReason::TraceFull,
                    ..
                })
            ));
        }
        assert_eq!(buffer.trace_count(), 0);
    }

    #[test]
    fn deadline_queue_stays_bounded_under_early_ejections() {
        let mut buffer = TraceBuffer::new(3600 * SECOND, 4, 2);
        for n in 0..10_000u32 {
            let mut id = [0u8; 16];
            id[..4].copy_from_slice(&n.to_be_bytes());
            let first = Span {
                trace_id: id,
                ..Span::default()
            };
            buffer.push(first.clone(), 0);
            buffer.push(first, 0);
        }
        assert!(
            buffer.deadlines.len() <= 2 * 4 + 65,
            "{}",
            buffer.deadlines.len()
        );
    }

    #[test]
    fn huge_wait_saturates_instead_of_overflowing() {
        let mut buffer = TraceBuffer::new(u64::MAX, 10, 10);
        buffer.push(span(1, 1), u64::MAX - 5);
        assert!(buffer.take_expired(u64::MAX - 1).is_empty());
        assert_eq!(ids(&buffer.take_all()), vec![1]);
    }
}
