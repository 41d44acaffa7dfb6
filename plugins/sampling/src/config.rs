//! The plugin's configuration: JSON text handed to `init`, parsed and checked in one place.
//!
//! Parsing and validation share one entry point, [`SamplingConfig::parse`], so a config the
//! gateway accepts at start-up is exactly one the samplers can run (no second, drifting check).
//! Every struct denies unknown keys, and every error names the dotted key path it is about
//! (`tail.policies[1].latency.threshold: invalid duration "5x": …`), because the person reading
//! it is editing a config file, not reading our code. `README.md` documents every key.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::consistent::{DEFAULT_PRECISION, MAX_PRECISION};
use crate::duration::DurationNanos;
use crate::model::StatusCode;

/// The name the brief and the SDK use; the same type as [`SamplingConfig`].
pub type Config = SamplingConfig;

/// Why a config was refused. `Display` is the message to show the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The text is not JSON.
    #[error("invalid JSON at line {line} column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// A key has a wrong, missing or unknown value; `path` is dotted (`tail.policies[0].name`).
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl ConfigError {
    fn invalid(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The whole sampling plugin config. Both sections are optional: `{}` keeps everything.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingConfig {
    /// Head sampling: decided per trace id as spans arrive.
    #[serde(default)]
    pub head: HeadConfig,
    /// Tail sampling: spans buffered per trace, decided on the whole trace. Absent: no tail stage.
    #[serde(default)]
    pub tail: Option<TailConfig>,
}

/// Head sampling settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadConfig {
    /// Keep probability in `[0, 1]`, consistent across gateways. Default 1 (keep all).
    #[serde(default = "one")]
    pub probability: Probability,
    /// Significant hex digits of the `th` threshold, 1 to 14. Default 4 (the Collector's).
    #[serde(default = "default_precision")]
    pub threshold_precision: u8,
    /// Whether kept decisions carry the `ot=th:…` value to record in tracestate. Default true.
    /// Never carried when `rate_limit` is set: a rate limiter is not probabilistic, so no
    /// threshold describes what it kept.
    #[serde(default = "yes")]
    pub record_threshold: bool,
    /// Optional cap in traces per second, applied after the probability. Default none.
    #[serde(default)]
    pub rate_limit: Option<HeadRateLimit>,
    /// How many recent rate-limited decisions to remember so later spans follow them.
    /// Default 100000.
    #[serde(default = "default_cache_size")]
    pub decision_cache_size: usize,
}

impl Default for HeadConfig {
    fn default() -> HeadConfig {
        HeadConfig {
            probability: one(),
            threshold_precision: DEFAULT_PRECISION,
            record_threshold: true,
            rate_limit: None,
            decision_cache_size: default_cache_size(),
        }
    }
}

/// Head rate limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadRateLimit {
    /// New traces admitted per second (> 0).
    pub traces_per_second: f64,
    /// Bucket size: traces admitted at once after a quiet period. Default = `traces_per_second`
    /// (at least 1).
    #[serde(default)]
    pub burst: Option<f64>,
}

/// Tail sampling settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TailConfig {
    /// Time to wait after a trace's first span before deciding on it. Default `"10s"`.
    #[serde(default = "default_decision_wait")]
    pub decision_wait: DurationNanos,
    /// Traces buffered at once (>= 1). A new trace beyond this makes the oldest be decided
    /// early. Default 50000.
    #[serde(default = "default_max_traces")]
    pub max_traces: usize,
    /// Spans buffered per trace (>= 1). A trace reaching it is decided early. Default 10000.
    #[serde(default = "default_max_spans_per_trace")]
    pub max_spans_per_trace: usize,
    /// Decided traces remembered so late spans follow the decision. Default 100000.
    #[serde(default = "default_cache_size")]
    pub decision_cache_size: usize,
    /// Keep every trace with a span whose status is `ERROR`, before any policy. Default true.
    #[serde(default = "yes")]
    pub always_keep_errors: bool,
    /// Ordered policies; the first that keeps the trace wins and is recorded. Required, non-empty.
    pub policies: Vec<PolicyConfig>,
}

/// One named tail policy: `{"name": "...", "<type>": {...}}`.
#[derive(Debug, Clone)]
pub struct PolicyConfig {
    /// Recorded on kept spans (`sampling.policy`); unique among its siblings.
    pub name: String,
    pub kind: PolicyKindConfig,
}

/// The policy types, keyed in JSON by their snake_case name.
#[derive(Debug, Clone)]
pub enum PolicyKindConfig {
    StatusCode(StatusCodePolicyConfig),
    Latency(LatencyPolicyConfig),
    Attribute(AttributePolicyConfig),
    Probabilistic(ProbabilisticPolicyConfig),
    RateLimiting(RateLimitingPolicyConfig),
    And(AndPolicyConfig),
    Composite(CompositePolicyConfig),
}

/// The JSON keys naming a policy type, in the order error messages list them.
const POLICY_TYPES: &[&str] = &[
    "status_code",
    "latency",
    "attribute",
    "probabilistic",
    "rate_limiting",
    "and",
    "composite",
];

/// Keeps a trace if any span has one of these status codes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusCodePolicyConfig {
    /// `"ERROR"`, `"OK"` and/or `"UNSET"`. Default `["ERROR"]`.
    #[serde(default = "default_status_codes")]
    pub status_codes: Vec<StatusCode>,
}

/// Keeps a trace whose duration (earliest start to latest end) is at least `threshold`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyPolicyConfig {
    /// Minimum duration, inclusive, e.g. `"500ms"`. Required.
    pub threshold: DurationNanos,
    /// Optional exclusive maximum (to sample a latency band). Default none.
    #[serde(default)]
    pub upper_threshold: Option<DurationNanos>,
}

/// Where an attribute policy looks for its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeScope {
    Span,
    Resource,
    /// Span attributes first, then resource attributes.
    #[default]
    Any,
}

/// Keeps a trace if any span has attribute `key` matching exactly one kind of matcher:
/// `values` (exact strings), `regex`, or a numeric `min`/`max` range.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributePolicyConfig {
    /// Attribute key, e.g. `"http.route"`. Required.
    pub key: String,
    /// `"span"`, `"resource"` or `"any"`. Default `"any"`.
    #[serde(default)]
    pub scope: AttributeScope,
    /// Exact string values; matches string attributes only.
    #[serde(default)]
    pub values: Option<Vec<String>>,
    /// Unanchored regular expression (use `^…$` to anchor); matches string attributes only.
    #[serde(default)]
    pub regex: Option<Pattern>,
    /// Inclusive numeric lower bound; matches int and double attributes.
    #[serde(default)]
    pub min: Option<f64>,
    /// Inclusive numeric upper bound; matches int and double attributes.
    #[serde(default)]
    pub max: Option<f64>,
}

/// Keeps a consistent fraction of traces, the same rule as head sampling.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbabilisticPolicyConfig {
    /// Keep probability in `[0, 1]`. Required.
    pub probability: Probability,
    /// Significant hex digits of the threshold, 1 to 14. Default 4.
    #[serde(default = "default_precision")]
    pub threshold_precision: u8,
}

/// Keeps traces while under a rate: exactly one of `spans_per_second` or `traces_per_second`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitingPolicyConfig {
    /// Spans per second; a trace costs its span count.
    #[serde(default)]
    pub spans_per_second: Option<f64>,
    /// Traces per second; a trace costs 1.
    #[serde(default)]
    pub traces_per_second: Option<f64>,
    /// Bucket size in the same unit. Default = the rate (one second's worth), at least 1.
    #[serde(default)]
    pub burst: Option<f64>,
}

/// Keeps a trace only if every sub-policy would keep it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AndPolicyConfig {
    /// Sub-policies, non-empty.
    pub policies: Vec<PolicyConfig>,
}

/// Ordered sub-policies sharing a spans-per-second budget.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompositePolicyConfig {
    /// Total spans per second this composite may keep (> 0).
    pub max_total_spans_per_second: f64,
    /// Sub-policies, tried in order. Non-empty.
    pub policies: Vec<PolicyConfig>,
    /// Percent of the total given to named sub-policies (sum <= 100). Sub-policies not listed
    /// share what is left equally. Default: none listed, all share equally.
    #[serde(default)]
    pub rate_allocation: Vec<RateAllocation>,
}

/// A composite sub-policy's share of the composite's budget.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateAllocation {
    /// Name of a sub-policy of the same composite.
    pub policy: String,
    /// Share in percent, in `(0, 100]`.
    pub percent: f64,
}

/// A probability checked to lie in `[0, 1]` while parsing, so the error carries the key path.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Probability(f64);

impl Probability {
    /// The probability as a float in `[0, 1]`.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        if !(0.0..=1.0).contains(&value) {
            return Err(de::Error::custom(format!(
                "must be between 0 and 1, got {value}"
            )));
        }
        Ok(Probability(value))
    }
}

/// A compiled regular expression, checked while parsing.
#[derive(Debug, Clone)]
pub struct Pattern(pub regex::Regex);

/// Compiled-program cap, so a hostile or careless pattern cannot eat the instance's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        regex::RegexBuilder::new(&source)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(Pattern)
            .map_err(|error| de::Error::custom(format!("invalid regex {source:?}: {error}")))
    }
}

impl<'de> Deserialize<'de> for PolicyConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PolicyVisitor)
    }
}

/// Reads `{"name": ..., "<type>": {...}}` with exactly one type key, in any key order, without
/// buffering, so the key path of an error inside the type's object is kept.
struct PolicyVisitor;

impl<'de> Visitor<'de> for PolicyVisitor {
    type Value = PolicyConfig;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a policy object: {\"name\": ..., \"<type>\": {...}}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PolicyConfig, A::Error> {
        let mut name: Option<String> = None;
        let mut kind: Option<(String, PolicyKindConfig)> = None;
        while let Some(key) = map.next_key::<String>()? {
            let parsed = match key.as_str() {
                "name" => {
                    if name.is_some() {
                        return Err(de::Error::duplicate_field("name"));
                    }
                    name = Some(map.next_value()?);
                    continue;
                }
                "status_code" => PolicyKindConfig::StatusCode(map.next_value()?),
                "latency" => PolicyKindConfig::Latency(map.next_value()?),
                "attribute" => PolicyKindConfig::Attribute(map.next_value()?),
                "probabilistic" => PolicyKindConfig::Probabilistic(map.next_value()?),
                "rate_limiting" => PolicyKindConfig::RateLimiting(map.next_value()?),
                "and" => PolicyKindConfig::And(map.next_value()?),
                "composite" => PolicyKindConfig::Composite(map.next_value()?),
                unknown => {
                    return Err(de::Error::custom(format!(
                        "unknown key `{unknown}`: a policy has `name` and one of {}",
                        POLICY_TYPES.join(", ")
                    )));
                }
            };
            if let Some((previous, _)) = &kind {
                return Err(de::Error::custom(format!(
                    "a policy has exactly one type, found both `{previous}` and `{key}`"
                )));
            }
            kind = Some((key, parsed));
        }
        let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        let (_, kind) = kind.ok_or_else(|| {
            de::Error::custom(format!(
                "policy `{name}` has no type: add one of {}",
                POLICY_TYPES.join(", ")
            ))
        })?;
        Ok(PolicyConfig { name, kind })
    }
}

impl SamplingConfig {
    /// Parses and validates the plugin's JSON config. The one entry point for both.
    pub fn parse(json_text: &str) -> Result<SamplingConfig, ConfigError> {
        // serde's derived structs also accept arrays (fields by position); a config is an object.
        let first_character = json_text.trim_start().chars().next();
        if first_character.is_some_and(|character| character != '{') {
            return Err(ConfigError::invalid("config", "must be a JSON object"));
        }
        let mut deserializer = serde_json::Deserializer::from_str(json_text);
        let config: SamplingConfig =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
                let path = error.path().to_string();
                let inner = error.into_inner();
                if inner.is_syntax() || inner.is_eof() {
                    return syntax_error(&inner);
                }
                let path = if path == "." {
                    "config".to_owned()
                } else {
                    path
                };
                ConfigError::invalid(path, strip_position(&inner.to_string()))
            })?;
        // Trailing characters after the object are reported only by `end()`.
        deserializer.end().map_err(|error| syntax_error(&error))?;
        config.validate()?;
        Ok(config)
    }

    /// The checks serde cannot express: ranges, exclusive keys, names, allocations.
    fn validate(&self) -> Result<(), ConfigError> {
        self.head.validate("head")?;
        if let Some(tail) = &self.tail {
            tail.validate("tail")?;
        }
        Ok(())
    }
}

fn syntax_error(error: &serde_json::Error) -> ConfigError {
    ConfigError::Syntax {
        line: error.line(),
        column: error.column(),
        message: strip_position(&error.to_string()),
    }
}

/// serde_json appends ` at line L column C`; the path already says where, so drop it.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

impl HeadConfig {
    fn validate(&self, path: &str) -> Result<(), ConfigError> {
        check_precision(
            self.threshold_precision,
            &format!("{path}.threshold_precision"),
        )?;
        if let Some(rate_limit) = &self.rate_limit {
            let path = format!("{path}.rate_limit");
            check_rate(
                rate_limit.traces_per_second,
                &format!("{path}.traces_per_second"),
            )?;
            check_burst(rate_limit.burst, &format!("{path}.burst"))?;
        }
        Ok(())
    }
}

/// What the tail policies read of a span: the component declares exactly this to the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TailReads {
    /// Status codes (`always_keep_errors`, `status_code` policies).
    pub status: bool,
    /// Start and end times (`latency` policies).
    pub times: bool,
    /// Span attribute keys (`attribute` policies with scope `span` or `any`), sorted, unique.
    pub span_keys: Vec<String>,
    /// Resource attribute keys (scope `resource` or `any`), sorted, unique.
    pub resource_keys: Vec<String>,
}

impl TailReads {
    fn add_policies(&mut self, policies: &[PolicyConfig]) {
        for policy in policies {
            match &policy.kind {
                PolicyKindConfig::StatusCode(_) => self.status = true,
                PolicyKindConfig::Latency(_) => self.times = true,
                PolicyKindConfig::Attribute(attribute) => {
                    let key = attribute.key.as_str();
                    if attribute.scope != AttributeScope::Resource {
                        insert_sorted(&mut self.span_keys, key);
                    }
                    if attribute.scope != AttributeScope::Span {
                        insert_sorted(&mut self.resource_keys, key);
                    }
                }
                PolicyKindConfig::Probabilistic(_) | PolicyKindConfig::RateLimiting(_) => {}
                PolicyKindConfig::And(and) => self.add_policies(&and.policies),
                PolicyKindConfig::Composite(composite) => self.add_policies(&composite.policies),
            }
        }
    }
}

fn insert_sorted(keys: &mut Vec<String>, key: &str) {
    if let Err(at) = keys.binary_search_by(|known| known.as_str().cmp(key)) {
        keys.insert(at, key.to_owned());
    }
}

impl TailConfig {
    /// The span fields and attributes the policies read (besides the trace id).
    pub fn reads(&self) -> TailReads {
        let mut reads = TailReads {
            status: self.always_keep_errors,
            ..TailReads::default()
        };
        reads.add_policies(&self.policies);
        reads
    }

    fn validate(&self, path: &str) -> Result<(), ConfigError> {
        // The host holds the traces; its settings are 32-bit.
        for (key, value) in [
            ("max_traces", self.max_traces),
            ("max_spans_per_trace", self.max_spans_per_trace),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(
                    format!("{path}.{key}"),
                    "must be at least 1",
                ));
            }
            if u32::try_from(value).is_err() {
                return Err(ConfigError::invalid(
                    format!("{path}.{key}"),
                    format!("must be at most {}", u32::MAX),
                ));
            }
        }
        validate_policy_list(&self.policies, &format!("{path}.policies"))
    }
}

/// Checks a list of sibling policies: non-empty, unique non-empty names, each policy valid.
fn validate_policy_list(policies: &[PolicyConfig], path: &str) -> Result<(), ConfigError> {
    if policies.is_empty() {
        return Err(ConfigError::invalid(path, "must list at least one policy"));
    }
    let mut seen = HashSet::new();
    for (index, policy) in policies.iter().enumerate() {
        let policy_path = format!("{path}[{index}]");
        if policy.name.trim().is_empty() {
            return Err(ConfigError::invalid(
                format!("{policy_path}.name"),
                "must not be empty",
            ));
        }
        if policy.name == crate::policy::ALWAYS_KEEP_ERRORS_POLICY {
            return Err(ConfigError::invalid(
                format!("{policy_path}.name"),
                format!(
                    "{:?} is reserved for the always_keep_errors flag",
                    policy.name
                ),
            ));
        }
        if !seen.insert(policy.name.as_str()) {
            return Err(ConfigError::invalid(
                format!("{policy_path}.name"),
                format!("duplicate policy name {:?}", policy.name),
            ));
        }
        policy.kind.validate(&policy_path)?;
    }
    Ok(())
}

impl PolicyKindConfig {
    fn validate(&self, policy_path: &str) -> Result<(), ConfigError> {
        match self {
            PolicyKindConfig::StatusCode(status) => {
                if status.status_codes.is_empty() {
                    return Err(ConfigError::invalid(
                        format!("{policy_path}.status_code.status_codes"),
                        "must list at least one status code",
                    ));
                }
                Ok(())
            }
            PolicyKindConfig::Latency(latency) => match latency.upper_threshold {
                Some(upper) if upper <= latency.threshold => Err(ConfigError::invalid(
                    format!("{policy_path}.latency.upper_threshold"),
                    format!("must be greater than threshold ({})", latency.threshold),
                )),
                _ => Ok(()),
            },
            PolicyKindConfig::Attribute(attribute) => {
                attribute.validate(&format!("{policy_path}.attribute"))
            }
            PolicyKindConfig::Probabilistic(probabilistic) => check_precision(
                probabilistic.threshold_precision,
                &format!("{policy_path}.probabilistic.threshold_precision"),
            ),
            PolicyKindConfig::RateLimiting(rate) => {
                rate.validate(&format!("{policy_path}.rate_limiting"))
            }
            PolicyKindConfig::And(and) => {
                validate_policy_list(&and.policies, &format!("{policy_path}.and.policies"))
            }
            PolicyKindConfig::Composite(composite) => {
                composite.validate(&format!("{policy_path}.composite"))
            }
        }
    }
}

impl AttributePolicyConfig {
    fn validate(&self, path: &str) -> Result<(), ConfigError> {
        if self.key.is_empty() {
            return Err(ConfigError::invalid(
                format!("{path}.key"),
                "must not be empty",
            ));
        }
        let numeric = self.min.is_some() || self.max.is_some();
        let matcher_count = usize::from(self.values.is_some())
            + usize::from(self.regex.is_some())
            + usize::from(numeric);
        if matcher_count != 1 {
            return Err(ConfigError::invalid(
                path,
                "set exactly one matcher: `values`, `regex`, or `min`/`max`",
            ));
        }
        if let Some(values) = &self.values
            && values.is_empty()
        {
            return Err(ConfigError::invalid(
                format!("{path}.values"),
                "must not be empty",
            ));
        }
        if let (Some(min), Some(max)) = (self.min, self.max)
            && min > max
        {
            return Err(ConfigError::invalid(
                format!("{path}.min"),
                format!("must not exceed max ({min} > {max})"),
            ));
        }
        Ok(())
    }
}

impl RateLimitingPolicyConfig {
    fn validate(&self, path: &str) -> Result<(), ConfigError> {
        match (self.spans_per_second, self.traces_per_second) {
            (Some(rate), None) => check_rate(rate, &format!("{path}.spans_per_second"))?,
            (None, Some(rate)) => check_rate(rate, &format!("{path}.traces_per_second"))?,
            _ => {
                return Err(ConfigError::invalid(
                    path,
                    "set exactly one of `spans_per_second` or `traces_per_second`",
                ));
            }
        }
        check_burst(self.burst, &format!("{path}.burst"))
    }
}

impl CompositePolicyConfig {
    fn validate(&self, path: &str) -> Result<(), ConfigError> {
        check_rate(
            self.max_total_spans_per_second,
            &format!("{path}.max_total_spans_per_second"),
        )?;
        validate_policy_list(&self.policies, &format!("{path}.policies"))?;
        let mut allocated = HashSet::new();
        let mut total_percent = 0.0;
        for (index, allocation) in self.rate_allocation.iter().enumerate() {
            let allocation_path = format!("{path}.rate_allocation[{index}]");
            if !self
                .policies
                .iter()
                .any(|policy| policy.name == allocation.policy)
            {
                return Err(ConfigError::invalid(
                    format!("{allocation_path}.policy"),
                    format!(
                        "no sub-policy named {:?} in this composite",
                        allocation.policy
                    ),
                ));
            }
            if !allocated.insert(allocation.policy.as_str()) {
                return Err(ConfigError::invalid(
                    format!("{allocation_path}.policy"),
                    format!("{:?} is allocated twice", allocation.policy),
                ));
            }
            if !(allocation.percent > 0.0 && allocation.percent <= 100.0) {
                return Err(ConfigError::invalid(
                    format!("{allocation_path}.percent"),
                    format!("must be in (0, 100], got {}", allocation.percent),
                ));
            }
            total_percent += allocation.percent;
        }
        if total_percent > 100.0 + 1e-9 {
            return Err(ConfigError::invalid(
                format!("{path}.rate_allocation"),
                format!("percents add up to {total_percent}, more than 100"),
            ));
        }
        Ok(())
    }
}

fn check_precision(precision: u8, path: &str) -> Result<(), ConfigError> {
    if !(1..=MAX_PRECISION).contains(&precision) {
        return Err(ConfigError::invalid(
            path,
            format!("must be 1 to 14, got {precision}"),
        ));
    }
    Ok(())
}

fn check_rate(rate: f64, path: &str) -> Result<(), ConfigError> {
    if !(rate.is_finite() && rate > 0.0) {
        return Err(ConfigError::invalid(
            path,
            format!("must be greater than 0, got {rate}"),
        ));
    }
    Ok(())
}

fn check_burst(burst: Option<f64>, path: &str) -> Result<(), ConfigError> {
    match burst {
        Some(burst) if !(burst.is_finite() && burst >= 1.0) => Err(ConfigError::invalid(
            path,
            format!("must be at least 1, got {burst}"),
        )),
        _ => Ok(()),
    }
}

/// The burst a rate limit uses: the configured one, else one second's worth (at least 1).
pub(crate) fn effective_burst(rate_per_second: f64, burst: Option<f64>) -> f64 {
    burst.unwrap_or(rate_per_second.max(1.0))
}

fn one() -> Probability {
    Probability(1.0)
}

fn yes() -> bool {
    true
}

fn default_precision() -> u8 {
    DEFAULT_PRECISION
}

fn default_cache_size() -> usize {
    100_000
}

fn default_decision_wait() -> DurationNanos {
    DurationNanos(10_000_000_000)
}

fn default_max_traces() -> usize {
    50_000
}

fn default_max_spans_per_trace() -> usize {
    10_000
}

fn default_status_codes() -> Vec<StatusCode> {
    vec![StatusCode::Error]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(json: &str) -> String {
        SamplingConfig::parse(json).unwrap_err().to_string()
    }

    #[test]
    fn tail_reads_only_what_policies_look_at() {
        let reads = |policies: &str, errors: bool| {
            let json = format!(
                r#"{{"tail": {{"always_keep_errors": {errors}, "policies": {policies}}}}}"#
            );
            SamplingConfig::parse(&json).unwrap().tail.unwrap().reads()
        };
        assert_eq!(
            reads(
                r#"[{"name": "p", "probabilistic": {"probability": 0.5}}]"#,
                false
            ),
            TailReads::default()
        );
        assert_eq!(
            reads(
                r#"[{"name": "p", "rate_limiting": {"spans_per_second": 5}}]"#,
                true
            ),
            TailReads {
                status: true,
                ..TailReads::default()
            }
        );
        assert_eq!(
            reads(
                r#"[{"name": "a", "attribute": {"key": "tier", "values": ["x"], "scope": "resource"}},
                    {"name": "b", "and": {"policies": [
                        {"name": "s", "latency": {"threshold": "1s"}},
                        {"name": "r", "attribute": {"key": "http.route", "regex": "^/", "scope": "span"}}]}},
                    {"name": "c", "composite": {"max_total_spans_per_second": 10, "policies": [
                        {"name": "e", "status_code": {}},
                        {"name": "n", "attribute": {"key": "code", "min": 500}},
                        {"name": "n2", "attribute": {"key": "tier", "values": ["y"]}}]}}]"#,
                false
            ),
            TailReads {
                status: true,
                times: true,
                span_keys: vec!["code".into(), "http.route".into(), "tier".into()],
                resource_keys: vec!["code".into(), "tier".into()],
            }
        );
    }

    #[test]
    fn empty_config_keeps_everything_by_default() {
        let config = SamplingConfig::parse("{}").unwrap();
        assert_eq!(config.head.probability.get(), 1.0);
        assert_eq!(config.head.threshold_precision, 4);
        assert!(config.head.rate_limit.is_none());
        assert!(config.tail.is_none());
    }

    #[test]
    fn full_config_parses() {
        let config = SamplingConfig::parse(
            r#"{
              "head": {"probability": 0.25, "threshold_precision": 6, "record_threshold": false,
                       "rate_limit": {"traces_per_second": 100, "burst": 200},
                       "decision_cache_size": 10},
              "tail": {
                "decision_wait": "5s", "max_traces": 10, "max_spans_per_trace": 20,
                "decision_cache_size": 30, "always_keep_errors": false,
                "policies": [
                  {"name": "errors", "status_code": {"status_codes": ["ERROR", "UNSET"]}},
                  {"latency": {"threshold": "500ms", "upper_threshold": "5s"}, "name": "slow"},
                  {"name": "vip", "attribute": {"key": "tier", "values": ["gold"], "scope": "resource"}},
                  {"name": "route", "attribute": {"key": "http.route", "regex": "^/api/"}},
                  {"name": "big", "attribute": {"key": "size", "min": 1000}},
                  {"name": "some", "probabilistic": {"probability": 0.1}},
                  {"name": "cap", "rate_limiting": {"spans_per_second": 500}},
                  {"name": "both", "and": {"policies": [
                     {"name": "a", "latency": {"threshold": "1s"}},
                     {"name": "b", "probabilistic": {"probability": 0.5}}]}},
                  {"name": "mix", "composite": {"max_total_spans_per_second": 1000,
                     "policies": [{"name": "x", "status_code": {}},
                                  {"name": "y", "probabilistic": {"probability": 1}}],
                     "rate_allocation": [{"policy": "x", "percent": 60}]}}
                ]
              }
            }"#,
        )
        .unwrap();
        let tail = config.tail.unwrap();
        assert_eq!(tail.decision_wait.as_nanos(), 5_000_000_000);
        assert_eq!(tail.policies.len(), 9);
        assert_eq!(tail.policies[1].name, "slow");
        assert!(matches!(
            tail.policies[1].kind,
            PolicyKindConfig::Latency(_)
        ));
    }

    #[test]
    fn bad_duration_names_its_path() {
        let message = error_of(
            r#"{"tail": {"policies": [
                {"name": "e", "status_code": {}},
                {"name": "slow", "latency": {"threshold": "5x"}}]}}"#,
        );
        assert!(
            message.starts_with(r#"tail.policies[1].latency.threshold: invalid duration "5x""#),
            "{message}"
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_path() {
        assert!(error_of(r#"{"heads": {}}"#).starts_with("heads: unknown field `heads`"));
        let nested = error_of(r#"{"head": {"probabilty": 0.1}}"#);
        assert!(
            nested.starts_with("head.probabilty: unknown field `probabilty`"),
            "{nested}"
        );
        let policy = error_of(r#"{"tail": {"policies": [{"name": "a", "latncy": {}}]}}"#);
        assert!(
            policy.starts_with("tail.policies[0]: unknown key `latncy`"),
            "{policy}"
        );
        let inner = error_of(
            r#"{"tail": {"policies": [{"name": "a", "latency": {"threshold": "1s", "x": 1}}]}}"#,
        );
        assert!(
            inner.starts_with("tail.policies[0].latency.x: unknown field `x`"),
            "{inner}"
        );
    }

    #[test]
    fn semantic_errors_name_their_path() {
        let cases = [
            (
                r#"{"head": {"probability": 1.5}}"#,
                "head.probability: must be between 0 and 1",
            ),
            (
                r#"{"head": {"threshold_precision": 15}}"#,
                "head.threshold_precision: must be 1 to 14",
            ),
            (
                r#"{"head": {"rate_limit": {"traces_per_second": 0}}}"#,
                "head.rate_limit.traces_per_second",
            ),
            (
                r#"{"head": {"rate_limit": {"traces_per_second": 5, "burst": 0.5}}}"#,
                "head.rate_limit.burst",
            ),
            (
                r#"{"tail": {"policies": []}}"#,
                "tail.policies: must list at least one policy",
            ),
            (
                r#"{"tail": {"max_traces": 0, "policies": [{"name": "a", "status_code": {}}]}}"#,
                "tail.max_traces",
            ),
            (
                r#"{"tail": {"max_spans_per_trace": 4294967296, "policies": [{"name": "a", "status_code": {}}]}}"#,
                "tail.max_spans_per_trace: must be at most 4294967295",
            ),
            (
                r#"{"tail": {"policies": [{"name": "a", "status_code": {}}, {"name": "a", "status_code": {}}]}}"#,
                "tail.policies[1].name: duplicate policy name",
            ),
            (
                r#"{"tail": {"policies": [{"name": "a"}]}}"#,
                "tail.policies[0]: policy `a` has no type",
            ),
            (
                r#"{"tail": {"policies": [{"status_code": {}}]}}"#,
                "tail.policies[0]: missing field `name`",
            ),
            (
                r#"{"tail": {"policies": [{"name": "a", "status_code": {}, "latency": {"threshold": "1s"}}]}}"#,
                "tail.policies[0]: a policy has exactly one type",
            ),
            (
                r#"{"tail": {"policies": [{"name": "a", "latency": {"threshold": "1s", "upper_threshold": "1s"}}]}}"#,
                "tail.policies[0].latency.upper_threshold: must be greater",
            ),
            (
                r#"{"tail": {"policies": [{"name": "a", "attribute": {"key": "k"}}]}}"#,
                "tail.policies[0].attribute: set exactly one matcher",
            ),
            (
                r#"{"tail": {"policies": [{"name": "a", "attribute": {"key": "k", "values": ["x"], "min": 1}}]}}"#,
                "tail.policies[0].attribute: set exactly one matcher",
            ),
            (
                r#"{"tail": {"policies": [{"name": "a", "attribute": {"key": "k", "min": 5, "max": 1}}]}}"#,
                "tail.policies[0].attribute.min: must not exceed max",
            ),
            (
                r#"{"tail": {"policies": [{"name": "a", "attribute": {"key": "k", "regex": "(["}}]}}"#,
                "tail.policies[0].attribute.regex: invalid regex",
            ),
            (
                r#"{"tail": {"policies": [{"name": "a", "rate_limiting": {"spans_per_second": 1, "traces_per_second": 1}}]}}"#,
                "tail.policies[0].rate_limiting: set exactly one",
            ),
            (
                r#"{"tail": {"policies": [{"name": "a", "and": {"policies": [{"name": "b", "latency": {"threshold": "1q"}}]}}]}}"#,
                r#"tail.policies[0].and.policies[0].latency.threshold: invalid duration "1q""#,
            ),
            (
                r#"{"tail": {"policies": [{"name": "c", "composite": {"max_total_spans_per_second": 10,
                    "policies": [{"name": "x", "status_code": {}}],
                    "rate_allocation": [{"policy": "y", "percent": 10}]}}]}}"#,
                "tail.policies[0].composite.rate_allocation[0].policy: no sub-policy named \"y\"",
            ),
            (
                r#"{"tail": {"policies": [{"name": "c", "composite": {"max_total_spans_per_second": 10,
                    "policies": [{"name": "x", "status_code": {}}, {"name": "y", "status_code": {}}],
                    "rate_allocation": [{"policy": "x", "percent": 60}, {"policy": "y", "percent": 60}]}}]}}"#,
                "tail.policies[0].composite.rate_allocation: percents add up to 120",
            ),
            (
                r#"{"tail": {"policies": [{"name": "a", "status_code": {"status_codes": ["BAD"]}}]}}"#,
                "tail.policies[0].status_code.status_codes[0]: unknown variant `BAD`",
            ),
        ];
        for (json, expected) in cases {
            let message = error_of(json);
            assert!(
                message.starts_with(expected),
                "expected {expected:?}, got {message:?}"
            );
        }
    }

    #[test]
    fn readme_example_parses() {
        let readme = include_str!("../README.md");
        let start = readme.find("```json\n").expect("README has a json example") + 8;
        let length = readme[start..].find("```").unwrap();
        let config = SamplingConfig::parse(&readme[start..start + length])
            .unwrap_or_else(|error| panic!("README example: {error}"));
        assert_eq!(config.tail.unwrap().policies.len(), 6);
    }

    #[test]
    fn syntax_errors_give_position() {
        assert!(matches!(
            SamplingConfig::parse("{\"head\": "),
            Err(ConfigError::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            SamplingConfig::parse("{} trailing"),
            Err(ConfigError::Syntax { .. })
        ));
        let not_an_object = SamplingConfig::parse("[]").unwrap_err();
        assert!(
            matches!(not_an_object, ConfigError::Invalid { ref path, .. } if path == "config"),
            "{not_an_object:?}"
        );
    }
}
