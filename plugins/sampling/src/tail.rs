//! Tail decisions: the policies applied to a whole trace, remembered per trace id so that spans
//! of an already decided trace follow the same decision.
//!
//! The host holds each trace for `decision_wait` after its first span (persisted, bounded by
//! `max_traces` and `max_spans_per_trace`) and then hands over the whole trace; this module only
//! decides. A trace id seen again after its decision (spans that arrived late, or the rest of a
//! trace the host decided early because it hit a bound) gets the remembered decision instead of
//! being judged on its stragglers alone, as long as the bounded cache (`decision_cache_size`)
//! still holds it.

use crate::cache::DecisionCache;
use crate::config::TailConfig;
use crate::model::{SpanLike, TraceView};
use crate::policy::{Decision, PolicySet};

/// Decides whole traces with the tail policies and remembers recent decisions.
#[derive(Debug, Clone)]
pub struct TailDecider {
    policies: PolicySet,
    decided: DecisionCache<Decision>,
}

impl TailDecider {
    /// A decider for a validated tail config.
    pub fn new(config: &TailConfig) -> TailDecider {
        TailDecider {
            policies: PolicySet::from_config(config),
            decided: DecisionCache::new(config.decision_cache_size),
        }
    }

    /// The decision for `trace` at `now` (unix nanos, used by rate limiters): the remembered one
    /// if this trace id was decided recently, otherwise the policies' (then remembered).
    pub fn decide<S: SpanLike>(
        &mut self,
        trace: &TraceView<'_, S>,
        now_unix_nanos: u64,
    ) -> Decision {
        if let Some(decision) = self.decided.get(&trace.trace_id) {
            return decision;
        }
        let decision = self.policies.evaluate(trace, now_unix_nanos);
        self.decided.insert(trace.trace_id, decision.clone());
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SamplingConfig;
    use crate::model::{Span, StatusCode};

    const SECOND: u64 = 1_000_000_000;
    const T0: u64 = 1_700_000_000 * SECOND;

    fn decider(tail_fields: &str) -> TailDecider {
        let json = format!(
            r#"{{"tail": {{{tail_fields} "policies": [
                 {{"name": "slow", "latency": {{"threshold": "1s"}}}},
                 {{"name": "budget", "rate_limiting": {{"traces_per_second": 1}}}}]}}}}"#
        );
        let config = SamplingConfig::parse(&json).unwrap_or_else(|error| panic!("{error}"));
        TailDecider::new(config.tail.as_ref().unwrap())
    }

    fn span(trace: u8, start: u64, end: u64) -> Span {
        Span {
            trace_id: [trace; 16],
            start_unix_nanos: start,
            end_unix_nanos: end,
            ..Span::default()
        }
    }

    fn decide(decider: &mut TailDecider, spans: &[Span]) -> Decision {
        decider.decide(
            &TraceView {
                trace_id: spans[0].trace_id,
                spans,
            },
            T0,
        )
    }

    fn keep(policy: &str) -> Decision {
        Decision::Keep {
            policy: policy.to_owned(),
        }
    }

    #[test]
    fn decides_on_the_whole_trace_with_the_policy_name() {
        let mut tail = decider("");
        let mut error = span(1, T0, T0 + 1);
        error.status = StatusCode::Error;
        assert_eq!(
            decide(&mut tail, &[span(1, T0, T0 + 1), error]),
            keep("always_keep_errors")
        );
        assert_eq!(
            decide(
                &mut tail,
                &[span(2, T0, T0 + 1), span(2, T0, T0 + 2 * SECOND)]
            ),
            keep("slow")
        );
        assert_eq!(decide(&mut tail, &[span(3, T0, T0 + 1)]), keep("budget"));
        assert_eq!(decide(&mut tail, &[span(4, T0, T0 + 1)]), Decision::Drop);
    }

    #[test]
    fn stragglers_follow_the_remembered_decision() {
        let mut tail = decider("");
        assert_eq!(
            decide(&mut tail, &[span(1, T0, T0 + 2 * SECOND)]),
            keep("slow")
        );
        assert_eq!(decide(&mut tail, &[span(2, T0, T0 + 1)]), keep("budget"));
        assert_eq!(decide(&mut tail, &[span(3, T0, T0 + 1)]), Decision::Drop);
        // Late spans alone would be judged differently (fast; no budget left; an error).
        assert_eq!(decide(&mut tail, &[span(1, T0, T0 + 1)]), keep("slow"));
        assert_eq!(decide(&mut tail, &[span(2, T0, T0 + 1)]), keep("budget"));
        let mut late_error = span(3, T0, T0 + 1);
        late_error.status = StatusCode::Error;
        assert_eq!(decide(&mut tail, &[late_error]), Decision::Drop);
    }

    #[test]
    fn without_a_cache_every_part_is_judged_afresh() {
        let mut tail = decider(r#""decision_cache_size": 0,"#);
        assert_eq!(
            decide(&mut tail, &[span(1, T0, T0 + 2 * SECOND)]),
            keep("slow")
        );
        assert_eq!(decide(&mut tail, &[span(1, T0, T0 + 1)]), keep("budget"));
    }
}
