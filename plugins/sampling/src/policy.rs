//! Tail-sampling policies evaluated on a whole trace.
//!
//! # Semantics
//! * `always_keep_errors` (if set) is checked first: a trace with an `ERROR` span is kept and
//!   recorded as kept by `"always_keep_errors"`.
//! * Then the policies are tried **in order; the first that keeps the trace wins** and its name is
//!   returned, to be recorded on the spans (e.g. attribute `sampling.policy`). Nothing keeps it:
//!   dropped. Order therefore matters only for which name is recorded and for rate limiters: a
//!   `rate_limiting` policy placed last is a budget for "everything else", and is not charged for
//!   traces an earlier policy already kept.
//! * Evaluation is two-phase, **check then commit**: `check` says whether a policy would keep the
//!   trace without touching any state, and only the policy that wins is committed (its rate
//!   buckets charged). So an `and` whose rate limiter passes but whose latency test fails charges
//!   nothing, and a composite sub-policy whose budget is exhausted leaves no trace of having
//!   looked.
//! * The only state is the rate limiters' token buckets, and time is the caller's `now`, so the
//!   same sequence of `(trace, now)` gives the same decisions on any machine.

use regex::Regex;

use crate::config::{
    AttributeScope, PolicyConfig, PolicyKindConfig, RateLimitingPolicyConfig, TailConfig,
    effective_burst,
};
use crate::consistent::Threshold;
use crate::model::{SpanLike, StatusCode, TraceView, ValueRef};
use crate::rate::TokenBucket;

/// The policy name recorded for traces kept by the `always_keep_errors` flag.
pub const ALWAYS_KEEP_ERRORS_POLICY: &str = "always_keep_errors";

/// A tail decision for one whole trace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Keep every span; `policy` names what kept it (`"parent/child"` inside a composite).
    Keep { policy: String },
    /// Drop every span.
    Drop,
}

impl Decision {
    /// Whether the trace is kept.
    pub fn is_keep(&self) -> bool {
        matches!(self, Decision::Keep { .. })
    }
}

/// The compiled, ordered policies of a tail sampler plus the `always_keep_errors` flag.
#[derive(Debug, Clone)]
pub struct PolicySet {
    always_keep_errors: bool,
    policies: Vec<Policy>,
}

impl PolicySet {
    /// Compiles validated policy configs (see [`crate::config::SamplingConfig::parse`]).
    pub fn new(always_keep_errors: bool, policies: &[PolicyConfig]) -> PolicySet {
        PolicySet {
            always_keep_errors,
            policies: policies.iter().map(Policy::compile).collect(),
        }
    }

    /// The policy set of a tail config.
    pub fn from_config(config: &TailConfig) -> PolicySet {
        PolicySet::new(config.always_keep_errors, &config.policies)
    }

    /// Decides on a whole trace at time `now` (unix nanos, used only by rate limiters).
    pub fn evaluate<S: SpanLike>(
        &mut self,
        trace: &TraceView<'_, S>,
        now_unix_nanos: u64,
    ) -> Decision {
        if self.always_keep_errors && trace.has_error() {
            return Decision::Keep {
                policy: ALWAYS_KEEP_ERRORS_POLICY.to_owned(),
            };
        }
        for policy in &mut self.policies {
            if policy.check(trace, now_unix_nanos) {
                return Decision::Keep {
                    policy: policy.commit(trace, now_unix_nanos),
                };
            }
        }
        Decision::Drop
    }
}

/// Free-function form of [`PolicySet::evaluate`].
pub fn evaluate<S: SpanLike>(
    policies: &mut PolicySet,
    trace: &TraceView<'_, S>,
    now_unix_nanos: u64,
) -> Decision {
    policies.evaluate(trace, now_unix_nanos)
}

#[derive(Debug, Clone)]
struct Policy {
    name: String,
    kind: PolicyKind,
}

#[derive(Debug, Clone)]
enum PolicyKind {
    /// Indexed by [`status_index`].
    StatusCode {
        matches: [bool; 3],
    },
    Latency {
        min_nanos: u64,
        max_nanos_exclusive: Option<u64>,
    },
    Attribute {
        key: String,
        scope: AttributeScope,
        matcher: Matcher,
    },
    Probabilistic {
        threshold: Threshold,
    },
    RateLimiting {
        bucket: TokenBucket,
        unit: RateUnit,
    },
    And {
        policies: Vec<Policy>,
    },
    Composite {
        members: Vec<CompositeMember>,
    },
}

#[derive(Debug, Clone, Copy)]
enum RateUnit {
    Spans,
    Traces,
}

impl RateUnit {
    fn cost<S>(self, trace: &TraceView<'_, S>) -> f64 {
        match self {
            RateUnit::Spans => trace.spans.len() as f64,
            RateUnit::Traces => 1.0,
        }
    }
}

#[derive(Debug, Clone)]
enum Matcher {
    /// Exact strings; a short list is scanned, which beats hashing the attribute value.
    Values(Vec<String>),
    Regex(Regex),
    Range {
        min: f64,
        max: f64,
    },
}

impl Matcher {
    fn matches(&self, value: ValueRef<'_>) -> bool {
        match self {
            Matcher::Values(values) => value
                .as_str()
                .is_some_and(|text| values.iter().any(|wanted| wanted == text)),
            Matcher::Regex(regex) => value.as_str().is_some_and(|text| regex.is_match(text)),
            // NaN compares false both ways, so it never matches.
            Matcher::Range { min, max } => value
                .as_f64()
                .is_some_and(|number| *min <= number && number <= *max),
        }
    }
}

/// A composite sub-policy and its share of the composite's spans-per-second budget.
#[derive(Debug, Clone)]
struct CompositeMember {
    policy: Policy,
    budget: TokenBucket,
}

fn status_index(status: StatusCode) -> usize {
    match status {
        StatusCode::Unset => 0,
        StatusCode::Ok => 1,
        StatusCode::Error => 2,
    }
}

impl Policy {
    fn compile(config: &PolicyConfig) -> Policy {
        let kind = match &config.kind {
            PolicyKindConfig::StatusCode(status) => {
                let mut matches = [false; 3];
                for code in &status.status_codes {
                    matches[status_index(*code)] = true;
                }
                PolicyKind::StatusCode { matches }
            }
            PolicyKindConfig::Latency(latency) => PolicyKind::Latency {
                min_nanos: latency.threshold.as_nanos(),
                max_nanos_exclusive: latency.upper_threshold.map(|upper| upper.as_nanos()),
            },
            PolicyKindConfig::Attribute(attribute) => {
                let matcher = match (&attribute.values, &attribute.regex) {
                    (Some(values), _) => Matcher::Values(values.clone()),
                    (None, Some(pattern)) => Matcher::Regex(pattern.0.clone()),
                    (None, None) => Matcher::Range {
                        min: attribute.min.unwrap_or(f64::NEG_INFINITY),
                        max: attribute.max.unwrap_or(f64::INFINITY),
                    },
                };
                PolicyKind::Attribute {
                    key: attribute.key.clone(),
                    scope: attribute.scope,
                    matcher,
                }
            }
            PolicyKindConfig::Probabilistic(probabilistic) => PolicyKind::Probabilistic {
                threshold: Threshold::from_probability(
                    probabilistic.probability.get(),
                    probabilistic.threshold_precision,
                ),
            },
            PolicyKindConfig::RateLimiting(rate) => compile_rate_limiting(rate),
            PolicyKindConfig::And(and) => PolicyKind::And {
                policies: and.policies.iter().map(Policy::compile).collect(),
            },
            PolicyKindConfig::Composite(composite) => {
                let allocated_percent: f64 = composite
                    .rate_allocation
                    .iter()
                    .map(|allocation| allocation.percent)
                    .sum();
                let unallocated_count = composite
                    .policies
                    .iter()
                    .filter(|policy| {
                        !composite
                            .rate_allocation
                            .iter()
                            .any(|allocation| allocation.policy == policy.name)
                    })
                    .count();
                let leftover_share = if unallocated_count == 0 {
                    0.0
                } else {
                    (100.0 - allocated_percent).max(0.0) / unallocated_count as f64
                };
                let members = composite
                    .policies
                    .iter()
                    .map(|policy| {
                        let percent = composite
                            .rate_allocation
                            .iter()
                            .find(|allocation| allocation.policy == policy.name)
                            .map_or(leftover_share, |allocation| allocation.percent);
                        let rate = composite.max_total_spans_per_second * percent / 100.0;
                        let burst = if rate > 0.0 { rate.max(1.0) } else { 0.0 };
                        CompositeMember {
                            policy: Policy::compile(policy),
                            budget: TokenBucket::new(rate, burst),
                        }
                    })
                    .collect();
                PolicyKind::Composite { members }
            }
        };
        Policy {
            name: config.name.clone(),
            kind,
        }
    }

    /// Whether this policy would keep the trace at `now`; changes nothing.
    fn check<S: SpanLike>(&self, trace: &TraceView<'_, S>, now_unix_nanos: u64) -> bool {
        match &self.kind {
            PolicyKind::StatusCode { matches } => trace
                .spans
                .iter()
                .any(|span| matches[status_index(span.status())]),
            PolicyKind::Latency {
                min_nanos,
                max_nanos_exclusive,
            } => {
                let duration = trace.duration_nanos();
                duration >= *min_nanos && max_nanos_exclusive.is_none_or(|max| duration < max)
            }
            PolicyKind::Attribute {
                key,
                scope,
                matcher,
            } => trace
                .spans
                .iter()
                .any(|span| span_attribute_matches(span, key, *scope, matcher)),
            PolicyKind::Probabilistic { threshold } => threshold.keeps(&trace.trace_id),
            PolicyKind::RateLimiting { bucket, unit } => {
                bucket.can_take(now_unix_nanos, unit.cost(trace))
            }
            PolicyKind::And { policies } => policies
                .iter()
                .all(|policy| policy.check(trace, now_unix_nanos)),
            PolicyKind::Composite { members } => members
                .iter()
                .any(|member| member.admits(trace, now_unix_nanos)),
        }
    }

    /// Charges whatever keeping the trace costs and returns the name to record. Call only after
    /// [`Policy::check`] returned true for the same `trace` and `now`.
    fn commit<S: SpanLike>(&mut self, trace: &TraceView<'_, S>, now_unix_nanos: u64) -> String {
        match &mut self.kind {
            PolicyKind::RateLimiting { bucket, unit } => {
                let taken = bucket.try_take(now_unix_nanos, unit.cost(trace));
                debug_assert!(taken, "commit without a passing check");
            }
            PolicyKind::And { policies } => {
                for policy in policies {
                    policy.commit(trace, now_unix_nanos);
                }
            }
            PolicyKind::Composite { members } => {
                let cost = trace.spans.len() as f64;
                if let Some(member) = members
                    .iter_mut()
                    .find(|member| member.admits(trace, now_unix_nanos))
                {
                    member.budget.try_take(now_unix_nanos, cost);
                    let member_label = member.policy.commit(trace, now_unix_nanos);
                    return format!("{}/{member_label}", self.name);
                }
                debug_assert!(false, "commit without a passing check");
            }
            PolicyKind::StatusCode { .. }
            | PolicyKind::Latency { .. }
            | PolicyKind::Attribute { .. }
            | PolicyKind::Probabilistic { .. } => {}
        }
        self.name.clone()
    }
}

impl CompositeMember {
    /// The sub-policy keeps the trace and its budget can pay for the trace's spans.
    fn admits<S: SpanLike>(&self, trace: &TraceView<'_, S>, now_unix_nanos: u64) -> bool {
        self.budget
            .can_take(now_unix_nanos, trace.spans.len() as f64)
            && self.policy.check(trace, now_unix_nanos)
    }
}

fn compile_rate_limiting(rate: &RateLimitingPolicyConfig) -> PolicyKind {
    let (per_second, unit) = match (rate.spans_per_second, rate.traces_per_second) {
        (Some(spans), _) => (spans, RateUnit::Spans),
        (None, Some(traces)) => (traces, RateUnit::Traces),
        // Refused by validation; compile to "never keeps" rather than panic.
        (None, None) => (0.0, RateUnit::Traces),
    };
    PolicyKind::RateLimiting {
        bucket: TokenBucket::new(per_second, effective_burst(per_second, rate.burst)),
        unit,
    }
}

fn span_attribute_matches<S: SpanLike>(
    span: &S,
    key: &str,
    scope: AttributeScope,
    matcher: &Matcher,
) -> bool {
    let in_span = || {
        span.attribute(key)
            .is_some_and(|value| matcher.matches(value))
    };
    let in_resource = || {
        span.resource_attribute(key)
            .is_some_and(|value| matcher.matches(value))
    };
    match scope {
        AttributeScope::Span => in_span(),
        AttributeScope::Resource => in_resource(),
        AttributeScope::Any => in_span() || in_resource(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SamplingConfig;
    use crate::model::{Span, Value};

    const MS: u64 = 1_000_000;
    const SECOND: u64 = 1_000 * MS;
    const NOW: u64 = 1_700_000_000 * SECOND;

    fn policies(always_keep_errors: bool, policies_json: &str) -> PolicySet {
        let json = format!(
            r#"{{"tail": {{"always_keep_errors": {always_keep_errors}, "policies": {policies_json}}}}}"#
        );
        let config = SamplingConfig::parse(&json).unwrap_or_else(|error| panic!("{error}"));
        PolicySet::from_config(config.tail.as_ref().unwrap())
    }

    fn span(start_ms: u64, end_ms: u64) -> Span {
        Span {
            trace_id: [7; 16],
            start_unix_nanos: NOW + start_ms * MS,
            end_unix_nanos: NOW + end_ms * MS,
            ..Span::default()
        }
    }

    fn decide(set: &mut PolicySet, spans: &[Span]) -> Decision {
        set.evaluate(
            &TraceView {
                trace_id: spans[0].trace_id,
                spans,
            },
            NOW,
        )
    }

    fn keep(name: &str) -> Decision {
        Decision::Keep {
            policy: name.to_owned(),
        }
    }

    #[test]
    fn status_code_keeps_errors_only() {
        let mut set = policies(false, r#"[{"name": "errors", "status_code": {}}]"#);
        let mut spans = vec![span(0, 10), span(1, 5)];
        assert_eq!(decide(&mut set, &spans), Decision::Drop);
        spans[1].status = StatusCode::Ok;
        assert_eq!(decide(&mut set, &spans), Decision::Drop);
        spans[1].status = StatusCode::Error;
        assert_eq!(decide(&mut set, &spans), keep("errors"));
    }

    #[test]
    fn status_code_list_is_honoured() {
        let mut set = policies(
            false,
            r#"[{"name": "ok", "status_code": {"status_codes": ["OK"]}}]"#,
        );
        let mut spans = vec![span(0, 10)];
        assert_eq!(decide(&mut set, &spans), Decision::Drop);
        spans[0].status = StatusCode::Ok;
        assert_eq!(decide(&mut set, &spans), keep("ok"));
    }

    #[test]
    fn latency_threshold_is_inclusive_and_spans_the_whole_trace() {
        let mut set = policies(
            false,
            r#"[{"name": "slow", "latency": {"threshold": "500ms"}}]"#,
        );
        assert_eq!(decide(&mut set, &[span(0, 499)]), Decision::Drop);
        assert_eq!(decide(&mut set, &[span(0, 500)]), keep("slow"));
        // No single span is 500 ms long, but the trace is.
        assert_eq!(
            decide(&mut set, &[span(0, 300), span(200, 500)]),
            keep("slow")
        );
        assert_eq!(
            decide(&mut set, &[span(100, 300), span(250, 599)]),
            Decision::Drop
        );
    }

    #[test]
    fn latency_upper_threshold_is_exclusive() {
        let mut set = policies(
            false,
            r#"[{"name": "band", "latency": {"threshold": "1s", "upper_threshold": "2s"}}]"#,
        );
        assert_eq!(decide(&mut set, &[span(0, 999)]), Decision::Drop);
        assert_eq!(decide(&mut set, &[span(0, 1000)]), keep("band"));
        assert_eq!(decide(&mut set, &[span(0, 1999)]), keep("band"));
        assert_eq!(decide(&mut set, &[span(0, 2000)]), Decision::Drop);
    }

    #[test]
    fn attribute_string_values() {
        let mut set = policies(
            false,
            r#"[{"name": "vip", "attribute": {"key": "customer.tier", "values": ["gold", "platinum"]}}]"#,
        );
        let mut spans = vec![span(0, 1), span(0, 1)];
        assert_eq!(decide(&mut set, &spans), Decision::Drop);
        spans[1]
            .attributes
            .push(("customer.tier".into(), Value::Str("silver".into())));
        assert_eq!(decide(&mut set, &spans), Decision::Drop);
        spans[0]
            .attributes
            .push(("customer.tier".into(), Value::Str("platinum".into())));
        assert_eq!(decide(&mut set, &spans), keep("vip"));
        // Only string attributes match string values.
        let numeric = vec![Span {
            attributes: vec![("customer.tier".into(), Value::Int(1))],
            ..span(0, 1)
        }];
        assert_eq!(decide(&mut set, &numeric), Decision::Drop);
    }

    #[test]
    fn attribute_numeric_range_is_inclusive() {
        let mut set = policies(
            false,
            r#"[{"name": "5xx", "attribute": {"key": "http.status_code", "min": 500, "max": 599}}]"#,
        );
        let with = |value: Value| {
            vec![Span {
                attributes: vec![("http.status_code".into(), value)],
                ..span(0, 1)
            }]
        };
        assert_eq!(decide(&mut set, &with(Value::Int(499))), Decision::Drop);
        assert_eq!(decide(&mut set, &with(Value::Int(500))), keep("5xx"));
        assert_eq!(decide(&mut set, &with(Value::Int(599))), keep("5xx"));
        assert_eq!(decide(&mut set, &with(Value::Int(600))), Decision::Drop);
        assert_eq!(decide(&mut set, &with(Value::Double(503.5))), keep("5xx"));
        assert_eq!(
            decide(&mut set, &with(Value::Double(f64::NAN))),
            Decision::Drop
        );
        assert_eq!(
            decide(&mut set, &with(Value::Str("500".into()))),
            Decision::Drop
        );
    }

    #[test]
    fn attribute_open_ended_range() {
        let mut set = policies(
            false,
            r#"[{"name": "big", "attribute": {"key": "bytes", "min": 1000}}]"#,
        );
        let with = |value: i64| {
            vec![Span {
                attributes: vec![("bytes".into(), Value::Int(value))],
                ..span(0, 1)
            }]
        };
        assert_eq!(decide(&mut set, &with(999)), Decision::Drop);
        assert_eq!(decide(&mut set, &with(i64::MAX)), keep("big"));
    }

    #[test]
    fn attribute_regex_is_unanchored_unless_anchored() {
        let mut set = policies(
            false,
            r#"[{"name": "api", "attribute": {"key": "http.route", "regex": "^/api/v[0-9]+/"}},
                {"name": "admin", "attribute": {"key": "http.route", "regex": "admin"}}]"#,
        );
        let with = |route: &str| {
            vec![Span {
                attributes: vec![("http.route".into(), Value::Str(route.into()))],
                ..span(0, 1)
            }]
        };
        assert_eq!(decide(&mut set, &with("/api/v2/users")), keep("api"));
        assert_eq!(decide(&mut set, &with("/v1/api/v2/")), Decision::Drop);
        assert_eq!(decide(&mut set, &with("/internal/admin/x")), keep("admin"));
    }

    #[test]
    fn attribute_scope_selects_span_or_resource() {
        let json = |scope: &str| {
            format!(
                r#"[{{"name": "svc", "attribute": {{"key": "service.name", "values": ["checkout"], "scope": "{scope}"}}}}]"#
            )
        };
        let on_resource = vec![Span {
            resource_attributes: vec![("service.name".into(), Value::Str("checkout".into()))],
            ..span(0, 1)
        }];
        let on_span = vec![Span {
            attributes: vec![("service.name".into(), Value::Str("checkout".into()))],
            ..span(0, 1)
        }];
        let mut span_scope = policies(false, &json("span"));
        let mut resource_scope = policies(false, &json("resource"));
        let mut any_scope = policies(false, &json("any"));
        assert_eq!(decide(&mut span_scope, &on_resource), Decision::Drop);
        assert_eq!(decide(&mut span_scope, &on_span), keep("svc"));
        assert_eq!(decide(&mut resource_scope, &on_resource), keep("svc"));
        assert_eq!(decide(&mut resource_scope, &on_span), Decision::Drop);
        assert_eq!(decide(&mut any_scope, &on_resource), keep("svc"));
        assert_eq!(decide(&mut any_scope, &on_span), keep("svc"));
    }

    #[test]
    fn probabilistic_follows_the_trace_id_threshold() {
        let mut set = policies(
            false,
            r#"[{"name": "half", "probabilistic": {"probability": 0.5}}]"#,
        );
        let mut low = span(0, 1);
        low.trace_id = [0; 16];
        low.trace_id[9] = 0x7F;
        let mut high = span(0, 1);
        high.trace_id = [0; 16];
        high.trace_id[9] = 0x80;
        assert_eq!(decide(&mut set, std::slice::from_ref(&low)), Decision::Drop);
        assert_eq!(decide(&mut set, std::slice::from_ref(&high)), keep("half"));
        let mut none = policies(
            false,
            r#"[{"name": "none", "probabilistic": {"probability": 0}}]"#,
        );
        assert_eq!(decide(&mut none, &[high]), Decision::Drop);
    }

    #[test]
    fn rate_limiting_traces_per_second_with_injected_time() {
        let mut set = policies(
            false,
            r#"[{"name": "cap", "rate_limiting": {"traces_per_second": 2}}]"#,
        );
        let spans = [span(0, 1)];
        let trace = TraceView {
            trace_id: [1; 16],
            spans: &spans,
        };
        assert_eq!(set.evaluate(&trace, NOW), keep("cap"));
        assert_eq!(set.evaluate(&trace, NOW), keep("cap"));
        assert_eq!(set.evaluate(&trace, NOW), Decision::Drop);
        assert_eq!(set.evaluate(&trace, NOW + 499 * MS), Decision::Drop);
        assert_eq!(set.evaluate(&trace, NOW + 500 * MS), keep("cap"));
    }

    #[test]
    fn rate_limiting_spans_per_second_charges_span_count() {
        let mut set = policies(
            false,
            r#"[{"name": "cap", "rate_limiting": {"spans_per_second": 10}}]"#,
        );
        let four = vec![span(0, 1); 4];
        let trace = TraceView {
            trace_id: [1; 16],
            spans: &four,
        };
        assert_eq!(set.evaluate(&trace, NOW), keep("cap"));
        assert_eq!(set.evaluate(&trace, NOW), keep("cap"));
        assert_eq!(
            set.evaluate(&trace, NOW),
            Decision::Drop,
            "8 of 10 used, 4 more do not fit"
        );
        let two = vec![span(0, 1); 2];
        assert_eq!(
            set.evaluate(
                &TraceView {
                    trace_id: [1; 16],
                    spans: &two
                },
                NOW
            ),
            keep("cap")
        );
        let eleven = vec![span(0, 1); 11];
        let huge = TraceView {
            trace_id: [1; 16],
            spans: &eleven,
        };
        assert_eq!(
            set.evaluate(&huge, NOW + 3600 * SECOND),
            Decision::Drop,
            "above burst"
        );
    }

    #[test]
    fn earlier_policy_wins_and_later_rate_limiter_is_not_charged() {
        let mut set = policies(
            false,
            r#"[{"name": "errors", "status_code": {}},
                {"name": "rest", "rate_limiting": {"traces_per_second": 1}}]"#,
        );
        let mut error = span(0, 1);
        error.status = StatusCode::Error;
        for _ in 0..5 {
            assert_eq!(
                decide(&mut set, std::slice::from_ref(&error)),
                keep("errors")
            );
        }
        assert_eq!(
            decide(&mut set, &[span(0, 1)]),
            keep("rest"),
            "bucket untouched by errors"
        );
        assert_eq!(decide(&mut set, &[span(0, 1)]), Decision::Drop);
    }

    #[test]
    fn and_requires_every_sub_policy_and_charges_only_on_keep() {
        let mut set = policies(
            false,
            r#"[{"name": "slow-checkout", "and": {"policies": [
                  {"name": "slow", "latency": {"threshold": "1s"}},
                  {"name": "svc", "attribute": {"key": "service.name", "values": ["checkout"]}},
                  {"name": "cap", "rate_limiting": {"traces_per_second": 1}}]}}]"#,
        );
        let checkout = |end_ms| {
            vec![Span {
                resource_attributes: vec![("service.name".into(), Value::Str("checkout".into()))],
                ..span(0, end_ms)
            }]
        };
        // Fast checkout: latency fails, the rate limiter must not be charged.
        for _ in 0..3 {
            assert_eq!(decide(&mut set, &checkout(10)), Decision::Drop);
        }
        // Slow but another service.
        assert_eq!(decide(&mut set, &[span(0, 2000)]), Decision::Drop);
        assert_eq!(decide(&mut set, &checkout(2000)), keep("slow-checkout"));
        assert_eq!(
            decide(&mut set, &checkout(2000)),
            Decision::Drop,
            "rate limit reached"
        );
    }

    #[test]
    fn always_keep_errors_comes_first_and_can_be_off() {
        let policies_json = r#"[{"name": "never", "probabilistic": {"probability": 0}}]"#;
        let mut error = span(0, 1);
        error.status = StatusCode::Error;
        let spans = [span(0, 1), error];
        let mut on = policies(true, policies_json);
        assert_eq!(decide(&mut on, &spans), keep(ALWAYS_KEEP_ERRORS_POLICY));
        assert_eq!(decide(&mut on, &spans[..1]), Decision::Drop);
        let mut off = policies(false, policies_json);
        assert_eq!(decide(&mut off, &spans), Decision::Drop);
    }

    #[test]
    fn composite_shares_budget_in_order() {
        // 10 spans/s: errors get 60% (6/s), everything else shares the other 40% (4/s).
        let mut set = policies(
            false,
            r#"[{"name": "mix", "composite": {
                  "max_total_spans_per_second": 10,
                  "policies": [
                    {"name": "errors", "status_code": {}},
                    {"name": "all", "probabilistic": {"probability": 1}}],
                  "rate_allocation": [{"policy": "errors", "percent": 60}]}}]"#,
        );
        let mut error = span(0, 1);
        error.status = StatusCode::Error;
        let errors = vec![error; 3];
        let plain = vec![span(0, 1); 2];
        assert_eq!(decide(&mut set, &errors), keep("mix/errors"));
        assert_eq!(decide(&mut set, &errors), keep("mix/errors"));
        // Error budget (6) spent: the error trace falls through to the next sub-policy.
        assert_eq!(decide(&mut set, &errors[..2]), keep("mix/all"));
        assert_eq!(decide(&mut set, &plain), keep("mix/all"), "2 of 4 left");
        assert_eq!(
            decide(&mut set, &plain),
            Decision::Drop,
            "both budgets spent"
        );
        // One second later both budgets are full again.
        let trace = TraceView {
            trace_id: [7; 16],
            spans: &plain,
        };
        assert_eq!(set.evaluate(&trace, NOW + SECOND), keep("mix/all"));
    }

    #[test]
    fn composite_unallocated_members_split_the_rest_equally() {
        let mut set = policies(
            false,
            r#"[{"name": "c", "composite": {"max_total_spans_per_second": 4, "policies": [
                  {"name": "a", "probabilistic": {"probability": 1}},
                  {"name": "b", "probabilistic": {"probability": 1}}]}}]"#,
        );
        let one = [span(0, 1)];
        let kept: Vec<Decision> = (0..5).map(|_| decide(&mut set, &one)).collect();
        assert_eq!(
            kept,
            vec![
                keep("c/a"),
                keep("c/a"),
                keep("c/b"),
                keep("c/b"),
                Decision::Drop
            ]
        );
    }

    #[test]
    fn composite_with_nested_and_records_both_names() {
        let mut set = policies(
            false,
            r#"[{"name": "c", "composite": {"max_total_spans_per_second": 100, "policies": [
                  {"name": "slow-errors", "and": {"policies": [
                     {"name": "e", "status_code": {}}, {"name": "s", "latency": {"threshold": "1s"}}]}}],
                  "rate_allocation": [{"policy": "slow-errors", "percent": 100}]}}]"#,
        );
        let mut slow_error = span(0, 1500);
        slow_error.status = StatusCode::Error;
        assert_eq!(decide(&mut set, &[slow_error]), keep("c/slow-errors"));
        assert_eq!(decide(&mut set, &[span(0, 1500)]), Decision::Drop);
    }

    #[test]
    fn nothing_matches_drops() {
        let mut set = policies(
            false,
            r#"[{"name": "slow", "latency": {"threshold": "1h"}}]"#,
        );
        assert_eq!(decide(&mut set, &[span(0, 1)]), Decision::Drop);
        assert!(!Decision::Drop.is_keep());
        assert!(keep("x").is_keep());
    }
}
