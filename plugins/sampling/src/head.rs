//! Head sampling: a keep/drop decision per trace id as spans arrive, before any buffering.
//!
//! Two stages, in order:
//! 1. **Consistent probability** ([`crate::consistent`]): a pure function of the trace id, so
//!    every gateway and every span of a trace agree without coordination.
//! 2. **Rate limit** (optional, traces per second): a token bucket charged once per *new* trace.
//!    This one depends on arrival order, so its decision is remembered per trace id in a bounded
//!    [`DecisionCache`] and later spans of the trace follow it instead of asking the bucket again.
//!    Gateways do not share buckets: with N gateways the total is up to N times the limit, and a
//!    trace whose spans reach two gateways may be kept by one and not the other (documented
//!    limit; use the probability for cross-gateway consistency and the limit as a safety cap).

use crate::cache::DecisionCache;
use crate::config::{HeadConfig, effective_burst};
use crate::consistent::Threshold;
use crate::model::TraceId;
use crate::rate::TokenBucket;

/// The head decision for a span's trace.
///
/// `Copy` and allocation-free: it is returned once per span on the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadDecision {
    /// Keep the span. `threshold` is set when the config asks to record it and the decision was
    /// purely probabilistic: write it as tracestate `ot=th:…` with
    /// [`crate::consistent::set_tracestate_th`], or use the preformatted
    /// [`HeadSampler::tracestate_th`].
    Keep { threshold: Option<Threshold> },
    /// Drop the span, and why.
    Drop(HeadDropReason),
}

impl HeadDecision {
    /// Whether the span is kept.
    pub fn is_keep(&self) -> bool {
        matches!(self, HeadDecision::Keep { .. })
    }
}

/// Why head sampling dropped a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeadDropReason {
    /// The trace id's randomness is below the threshold.
    Probability,
    /// The trace passed the probability but the rate limit was exhausted when it first arrived.
    RateLimited,
}

/// Counters for the host to export; they only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadStats {
    pub kept: u64,
    pub dropped_by_probability: u64,
    pub dropped_by_rate_limit: u64,
    /// Decisions served from the per-trace cache (rate limit configured only).
    pub cache_hits: u64,
    /// Traces forgotten by the cache to stay bounded; a late span of one is decided afresh.
    pub cache_forgotten: u64,
}

/// Head sampler state: the threshold, and the rate limiter with its decision cache.
#[derive(Debug, Clone)]
pub struct HeadSampler {
    threshold: Threshold,
    /// The threshold to report on kept spans, `None` when not recorded.
    recorded_threshold: Option<Threshold>,
    /// `recorded_threshold` preformatted as a `th` value.
    tracestate_th: Option<String>,
    rate_limit: Option<RateLimitState>,
    stats: HeadStats,
}

#[derive(Debug, Clone)]
struct RateLimitState {
    bucket: TokenBucket,
    /// Remembers whether the bucket admitted each recent trace.
    admitted: DecisionCache<bool>,
}

impl HeadSampler {
    /// A sampler for a validated head config.
    pub fn new(config: &HeadConfig) -> HeadSampler {
        let threshold =
            Threshold::from_probability(config.probability.get(), config.threshold_precision);
        let rate_limit = config.rate_limit.as_ref().map(|limit| RateLimitState {
            bucket: TokenBucket::new(
                limit.traces_per_second,
                effective_burst(limit.traces_per_second, limit.burst),
            ),
            admitted: DecisionCache::new(config.decision_cache_size),
        });
        // A rate-limited keep is not a probabilistic one: no `th` describes it (OTel says erase).
        let recorded_threshold =
            (config.record_threshold && rate_limit.is_none() && threshold != Threshold::NEVER)
                .then_some(threshold);
        HeadSampler {
            threshold,
            recorded_threshold,
            tracestate_th: recorded_threshold.and_then(Threshold::to_th),
            rate_limit,
            stats: HeadStats::default(),
        }
    }

    /// The threshold in use.
    pub fn threshold(&self) -> Threshold {
        self.threshold
    }

    /// The `th` value (e.g. `"e666"`) kept spans should carry in tracestate, if recorded.
    pub fn tracestate_th(&self) -> Option<&str> {
        self.tracestate_th.as_deref()
    }

    /// Decides for a span of trace `trace_id` arriving at `now` (unix nanos, used only by the
    /// rate limit). Call once per span; spans of a trace already seen reuse its decision.
    pub fn decide(&mut self, trace_id: &TraceId, now_unix_nanos: u64) -> HeadDecision {
        if !self.threshold.keeps(trace_id) {
            self.stats.dropped_by_probability += 1;
            return HeadDecision::Drop(HeadDropReason::Probability);
        }
        if let Some(rate_limit) = &mut self.rate_limit {
            let admitted = match rate_limit.admitted.get(trace_id) {
                Some(cached) => {
                    self.stats.cache_hits += 1;
                    cached
                }
                None => {
                    let admitted = rate_limit.bucket.try_take(now_unix_nanos, 1.0);
                    rate_limit.admitted.insert(*trace_id, admitted);
                    self.stats.cache_forgotten = rate_limit.admitted.forgotten();
                    admitted
                }
            };
            if !admitted {
                self.stats.dropped_by_rate_limit += 1;
                return HeadDecision::Drop(HeadDropReason::RateLimited);
            }
        }
        self.stats.kept += 1;
        HeadDecision::Keep {
            threshold: self.recorded_threshold,
        }
    }

    /// Counters since creation.
    pub fn stats(&self) -> HeadStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SamplingConfig;

    const SECOND: u64 = 1_000_000_000;

    fn sampler(head_json: &str) -> HeadSampler {
        let config = SamplingConfig::parse(&format!(r#"{{"head": {head_json}}}"#)).unwrap();
        HeadSampler::new(&config.head)
    }

    fn id(n: u64) -> TraceId {
        let mut id = [0u8; 16];
        // High randomness bits set so p = 0.5 keeps it; `n` makes ids distinct.
        id[8..16].copy_from_slice(&(0x00F0_0000_0000_0000 | n).to_be_bytes());
        id
    }

    #[test]
    fn default_keeps_everything_with_th_zero() {
        let mut head = sampler("{}");
        assert_eq!(
            head.decide(&[0; 16], 0),
            HeadDecision::Keep {
                threshold: Some(Threshold::ALWAYS)
            }
        );
        assert_eq!(head.tracestate_th(), Some("0"));
    }

    #[test]
    fn probability_drop_and_keep_with_th() {
        let mut head = sampler(r#"{"probability": 0.5}"#);
        assert_eq!(
            head.decide(&[0; 16], 0),
            HeadDecision::Drop(HeadDropReason::Probability)
        );
        assert_eq!(
            head.decide(&id(1), 0),
            HeadDecision::Keep {
                threshold: Some(Threshold::from_probability(0.5, 4))
            }
        );
        assert_eq!(head.tracestate_th(), Some("8"));
        let mut silent = sampler(r#"{"probability": 0.5, "record_threshold": false}"#);
        assert_eq!(
            silent.decide(&id(1), 0),
            HeadDecision::Keep { threshold: None }
        );
    }

    #[test]
    fn rate_limit_is_per_trace_and_later_spans_follow() {
        let mut head = sampler(r#"{"rate_limit": {"traces_per_second": 2}}"#);
        let now = 1_000 * SECOND;
        assert!(head.decide(&id(1), now).is_keep());
        assert!(head.decide(&id(2), now).is_keep());
        assert_eq!(
            head.decide(&id(3), now),
            HeadDecision::Drop(HeadDropReason::RateLimited)
        );
        // More spans of traces 1 and 2 are kept without tokens; trace 3 stays dropped even after
        // the bucket refills.
        for _ in 0..10 {
            assert!(head.decide(&id(1), now).is_keep());
            assert!(head.decide(&id(2), now).is_keep());
        }
        assert!(!head.decide(&id(3), now + 10 * SECOND).is_keep());
        assert!(head.decide(&id(4), now + 10 * SECOND).is_keep());
        let stats = head.stats();
        assert_eq!(stats.cache_hits, 21);
        assert_eq!(stats.dropped_by_rate_limit, 2);
        assert_eq!(stats.kept, 23);
    }

    #[test]
    fn rate_limited_keeps_carry_no_threshold() {
        let mut head = sampler(r#"{"probability": 0.5, "rate_limit": {"traces_per_second": 10}}"#);
        assert_eq!(
            head.decide(&id(1), 0),
            HeadDecision::Keep { threshold: None }
        );
    }

    #[test]
    fn probability_is_checked_before_the_bucket() {
        let mut head = sampler(r#"{"probability": 0.5, "rate_limit": {"traces_per_second": 1}}"#);
        // Dropped by probability: must not spend the single token.
        for _ in 0..5 {
            assert_eq!(
                head.decide(&[0; 16], 0),
                HeadDecision::Drop(HeadDropReason::Probability)
            );
        }
        assert!(head.decide(&id(1), 0).is_keep());
    }

    #[test]
    fn burst_is_configurable() {
        let mut head = sampler(r#"{"rate_limit": {"traces_per_second": 1, "burst": 5}}"#);
        let kept = (0..10)
            .filter(|n| head.decide(&id(*n), 0).is_keep())
            .count();
        assert_eq!(kept, 5);
    }
}
