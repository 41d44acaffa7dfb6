//! Tail sampling: buffer each trace for `decision_wait`, decide on the whole trace, then let
//! late spans follow the decision.
//!
//! # Lifecycle (what the host glue does)
//! 1. [`TailSampler::add`] every span that passed head sampling, with the current time. Spans of
//!    traces already decided come straight back as [`AddOutcome::Late`] with the decision to
//!    apply; the others are buffered.
//! 2. [`TailSampler::ready`] after each batch (and on a timer, see
//!    [`TailSampler::next_deadline`]): returns every trace decided since the last call, with its
//!    spans, the decision and what triggered it (deadline, or a capacity bound).
//! 3. [`TailSampler::flush`] on shutdown or reload: decides everything still buffered now.
//!
//! Kept spans should be annotated with the deciding policy name under
//! [`SAMPLING_POLICY_ATTRIBUTE`] so a user can tell why a trace is in the store.

use crate::buffer::{EarlyReason, PushOutcome, TraceBuffer};
use crate::cache::DecisionCache;
use crate::config::TailConfig;
use crate::model::{Span, TraceId, TraceView};
use crate::policy::{Decision, PolicySet};

/// The span attribute the host sets on kept spans to the deciding policy's name.
pub const SAMPLING_POLICY_ATTRIBUTE: &str = "sampling.policy";

/// Why a trace was decided when it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionTrigger {
    /// `decision_wait` elapsed after the trace's first span (the normal case).
    WaitElapsed,
    /// The trace reached `max_spans_per_trace`: decided early on the spans it had.
    TraceFull,
    /// The buffer held `max_traces` and a new trace arrived: the oldest was decided early.
    BufferFull,
    /// [`TailSampler::flush`] was called.
    Flush,
}

/// A decided trace, handed back by [`TailSampler::ready`] or [`TailSampler::flush`].
#[derive(Debug, Clone, PartialEq)]
pub struct DecidedTrace {
    pub trace_id: TraceId,
    pub decision: Decision,
    /// Every buffered span of the trace, in arrival order; the host keeps or drops them all.
    pub spans: Vec<Span>,
    pub trigger: DecisionTrigger,
}

/// What [`TailSampler::add`] did with a span.
#[derive(Debug, Clone, PartialEq)]
pub enum AddOutcome {
    /// Held until its trace is decided; it will come back from `ready` or `flush`.
    Buffered,
    /// Its trace was already decided: apply `decision` to the span now.
    Late { decision: Decision, span: Span },
}

/// Counters for the host to export; they only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TailStats {
    pub spans_received: u64,
    pub traces_kept: u64,
    pub traces_dropped: u64,
    pub decided_after_wait: u64,
    /// Decided early because the trace hit `max_spans_per_trace`.
    pub decided_early_trace_full: u64,
    /// Decided early because the buffer hit `max_traces`.
    pub decided_early_buffer_full: u64,
    pub decided_on_flush: u64,
    pub late_spans_kept: u64,
    pub late_spans_dropped: u64,
    /// Decisions forgotten to keep the cache bounded; a late span of such a trace starts a new
    /// buffered trace and is decided again on its own.
    pub decisions_forgotten: u64,
}

/// Tail sampler state: the buffer, the policies (with their rate buckets) and recent decisions.
#[derive(Debug, Clone)]
pub struct TailSampler {
    buffer: TraceBuffer,
    policies: PolicySet,
    decided: DecisionCache<Decision>,
    /// Traces decided early inside `add`, returned by the next `ready`.
    decided_early: Vec<DecidedTrace>,
    stats: TailStats,
}

impl TailSampler {
    /// A sampler for a validated tail config.
    pub fn new(config: &TailConfig) -> TailSampler {
        TailSampler {
            buffer: TraceBuffer::new(
                config.decision_wait.as_nanos(),
                config.max_traces,
                config.max_spans_per_trace,
            ),
            policies: PolicySet::from_config(config),
            decided: DecisionCache::new(config.decision_cache_size),
            decided_early: Vec::new(),
            stats: TailStats::default(),
        }
    }

    /// Accepts a span arriving at `now` (unix nanos).
    ///
    /// A capacity bound may force a trace to be decided inside this call; it is then returned
    /// by the next [`TailSampler::ready`], so call `ready` after every batch.
    pub fn add(&mut self, span: Span, now_unix_nanos: u64) -> AddOutcome {
        self.stats.spans_received += 1;
        if let Some(decision) = self.decided.get(&span.trace_id) {
            if decision.is_keep() {
                self.stats.late_spans_kept += 1;
            } else {
                self.stats.late_spans_dropped += 1;
            }
            return AddOutcome::Late { decision, span };
        }
        if let PushOutcome::Ejected(ejected) = self.buffer.push(span, now_unix_nanos) {
            let trigger = match ejected.reason {
                EarlyReason::TraceFull => DecisionTrigger::TraceFull,
                EarlyReason::BufferFull => DecisionTrigger::BufferFull,
            };
            let decided = self.decide(ejected.trace_id, ejected.spans, trigger, now_unix_nanos);
            self.decided_early.push(decided);
        }
        AddOutcome::Buffered
    }

    /// Every trace decided since the last call: first those forced early by capacity, then
    /// those whose `decision_wait` has elapsed at `now`, oldest first.
    pub fn ready(&mut self, now_unix_nanos: u64) -> Vec<DecidedTrace> {
        let mut ready = std::mem::take(&mut self.decided_early);
        for (trace_id, spans) in self.buffer.take_expired(now_unix_nanos) {
            ready.push(self.decide(
                trace_id,
                spans,
                DecisionTrigger::WaitElapsed,
                now_unix_nanos,
            ));
        }
        ready
    }

    /// Decides every buffered trace now, whatever its deadline (shutdown, reload).
    pub fn flush(&mut self, now_unix_nanos: u64) -> Vec<DecidedTrace> {
        let mut flushed = std::mem::take(&mut self.decided_early);
        for (trace_id, spans) in self.buffer.take_all() {
            flushed.push(self.decide(trace_id, spans, DecisionTrigger::Flush, now_unix_nanos));
        }
        flushed
    }

    /// When the next buffered trace becomes ready, so the host can wake up for it.
    pub fn next_deadline(&mut self) -> Option<u64> {
        self.buffer.next_deadline()
    }

    /// Traces and spans currently buffered.
    pub fn buffered(&self) -> (usize, usize) {
        (self.buffer.trace_count(), self.buffer.span_count())
    }

    /// Counters since creation.
    pub fn stats(&self) -> TailStats {
        self.stats
    }

    fn decide(
        &mut self,
        trace_id: TraceId,
        spans: Vec<Span>,
        trigger: DecisionTrigger,
        now_unix_nanos: u64,
    ) -> DecidedTrace {
        let decision = self.policies.evaluate(
            &TraceView {
                trace_id,
                spans: &spans,
            },
            now_unix_nanos,
        );
        match trigger {
            DecisionTrigger::WaitElapsed => self.stats.decided_after_wait += 1,
            DecisionTrigger::TraceFull => self.stats.decided_early_trace_full += 1,
            DecisionTrigger::BufferFull => self.stats.decided_early_buffer_full += 1,
            DecisionTrigger::Flush => self.stats.decided_on_flush += 1,
        }
        if decision.is_keep() {
            self.stats.traces_kept += 1;
        } else {
            self.stats.traces_dropped += 1;
        }
        self.decided.insert(trace_id, decision.clone());
        self.stats.decisions_forgotten = self.decided.forgotten();
        DecidedTrace {
            trace_id,
            decision,
            spans,
            trigger,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SamplingConfig;
    use crate::model::StatusCode;

    const SECOND: u64 = 1_000_000_000;
    const T0: u64 = 1_700_000_000 * SECOND;

    fn sampler(tail_fields: &str) -> TailSampler {
        let json = format!(
            r#"{{"tail": {{{tail_fields} "policies": [
                 {{"name": "errors", "status_code": {{}}}},
                 {{"name": "slow", "latency": {{"threshold": "1s"}}}}]}}}}"#
        );
        let config = SamplingConfig::parse(&json).unwrap_or_else(|error| panic!("{error}"));
        TailSampler::new(config.tail.as_ref().unwrap())
    }

    fn span(trace: u8, start: u64, end: u64) -> Span {
        Span {
            trace_id: [trace; 16],
            start_unix_nanos: start,
            end_unix_nanos: end,
            ..Span::default()
        }
    }

    #[test]
    fn decides_only_after_decision_wait_on_the_whole_trace() {
        let mut tail = sampler(r#""decision_wait": "10s","#);
        tail.add(span(1, T0, T0 + 100), T0);
        // A slow child arrives later: the decision must see it.
        tail.add(span(1, T0, T0 + 2 * SECOND), T0 + 5 * SECOND);
        tail.add(span(2, T0, T0 + 100), T0 + SECOND);
        assert!(tail.ready(T0 + 10 * SECOND - 1).is_empty());
        assert_eq!(tail.next_deadline(), Some(T0 + 10 * SECOND));
        let ready = tail.ready(T0 + 10 * SECOND);
        assert_eq!(ready.len(), 1);
        assert_eq!(
            ready[0].decision,
            Decision::Keep {
                policy: "slow".into()
            }
        );
        assert_eq!(ready[0].spans.len(), 2);
        assert_eq!(ready[0].trigger, DecisionTrigger::WaitElapsed);
        let ready = tail.ready(T0 + 11 * SECOND);
        assert_eq!(
            (ready[0].trace_id[0], &ready[0].decision),
            (2, &Decision::Drop)
        );
        assert_eq!(tail.buffered(), (0, 0));
    }

    #[test]
    fn late_spans_follow_the_cached_decision() {
        let mut tail = sampler(r#""decision_wait": "1s","#);
        let mut error = span(1, T0, T0 + 1);
        error.status = StatusCode::Error;
        tail.add(error, T0);
        tail.add(span(2, T0, T0 + 1), T0);
        assert_eq!(tail.ready(T0 + SECOND).len(), 2);
        let late_kept = tail.add(span(1, T0, T0 + 1), T0 + 2 * SECOND);
        assert!(matches!(
            late_kept,
            AddOutcome::Late { decision: Decision::Keep { ref policy }, .. } if policy == "always_keep_errors"
        ));
        let late_dropped = tail.add(span(2, T0, T0 + 1), T0 + 2 * SECOND);
        assert!(matches!(
            late_dropped,
            AddOutcome::Late {
                decision: Decision::Drop,
                ..
            }
        ));
        let stats = tail.stats();
        assert_eq!((stats.late_spans_kept, stats.late_spans_dropped), (1, 1));
        assert_eq!(tail.buffered(), (0, 0));
    }

    #[test]
    fn full_trace_is_decided_early_and_counted() {
        let mut tail = sampler(r#""max_spans_per_trace": 2,"#);
        assert_eq!(tail.add(span(1, T0, T0 + 1), T0), AddOutcome::Buffered);
        assert_eq!(tail.add(span(1, T0, T0 + 1), T0), AddOutcome::Buffered);
        let ready = tail.ready(T0);
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].trigger, DecisionTrigger::TraceFull);
        assert_eq!(ready[0].spans.len(), 2);
        assert_eq!(tail.stats().decided_early_trace_full, 1);
        // The third span is late and follows the early decision.
        assert!(matches!(
            tail.add(span(1, T0, T0 + 1), T0),
            AddOutcome::Late { .. }
        ));
    }

    #[test]
    fn full_buffer_decides_the_oldest_early_never_silently_drops() {
        let mut tail = sampler(r#""max_traces": 2,"#);
        for trace in 0..5 {
            tail.add(span(trace, T0, T0 + 2 * SECOND), T0 + u64::from(trace));
        }
        let ready = tail.ready(T0 + 10);
        let early: Vec<u8> = ready.iter().map(|decided| decided.trace_id[0]).collect();
        assert_eq!(early, vec![0, 1, 2]);
        assert!(
            ready
                .iter()
                .all(|decided| decided.trigger == DecisionTrigger::BufferFull)
        );
        assert!(
            ready.iter().all(|decided| decided.decision.is_keep()),
            "decided on the policies"
        );
        assert_eq!(tail.stats().decided_early_buffer_full, 3);
        let flushed = tail.flush(T0 + 11);
        assert_eq!(flushed.len(), 2);
        assert!(
            flushed
                .iter()
                .all(|decided| decided.trigger == DecisionTrigger::Flush)
        );
        let stats = tail.stats();
        assert_eq!(stats.spans_received, 5);
        assert_eq!(
            stats.traces_kept + stats.traces_dropped,
            5,
            "every span accounted for"
        );
    }
}
