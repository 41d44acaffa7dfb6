//! Tail-sampling vocabulary shared by the plugin host (a sampler plugin reports its
//! settings and verdicts) and the tail sampler (which holds traces and applies them).

use std::time::Duration;

/// What a tail sampler asks of the host (from its `init`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TailSettings {
    /// How long after its first span a trace is decided.
    pub decision_wait: Duration,
    /// Pending traces held at most; a new one beyond it forces the oldest to be decided.
    pub max_traces: usize,
    /// Spans per pending trace held at most; reaching it forces the trace's decision.
    pub max_spans_per_trace: usize,
}

/// A tail decision on one trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TailVerdict {
    /// Keep the trace; a non-empty policy names the sampler policy that kept it and is
    /// recorded on its spans as `sampling.policy`.
    Keep {
        policy: String,
    },
    Drop,
}
