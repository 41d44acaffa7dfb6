//! Consistent probability sampling, as specified by OpenTelemetry (`TraceIdRatioBased` with
//! W3C Trace Context Level 2 randomness, tracestate `ot=th:…`).
//!
//! # Why this scheme
//! A trace crosses several gateways, and each must keep or drop *every* span of it the same way
//! without talking to the others. So the decision is a pure function of the trace id:
//!
//! * **Randomness `R`**: the rightmost 56 bits (last 7 bytes, big-endian) of the trace id. W3C
//!   Trace Context Level 2 requires these bits to be random when the `random` flag is set, and
//!   every mainstream SDK generates fully random ids. An explicit `ot=rv:<14 hex>` in tracestate
//!   overrides them ([`randomness`]).
//! * **Threshold `T`**: `(1 - p) · 2^56`, an integer in `[0, 2^56]`, rounded to a configurable
//!   number of significant hex digits (default 4, as the Collector) so it fits a short
//!   tracestate value; see [`Threshold::from_probability`].
//! * **Decision**: keep iff `R >= T`. Since `R` is uniform over `[0, 2^56)`, the keep probability
//!   is `(2^56 - T) / 2^56 = p`.
//!
//! Two gateways with the same `p` compute the same `T` (the arithmetic is exact IEEE-754 and
//! integer work, identical on x86 and wasm), so they agree on every trace. And because `T` falls
//! as `p` rises, a trace kept at `p = 0.05` is also kept at `p = 0.1`: lower rates keep subsets of
//! higher ones, which is what lets independently configured tiers compose.
//!
//! The threshold can be recorded on kept spans as tracestate `ot=th:<hex>` (trailing zeros
//! removed, `th:0` meaning 100%), which lets span-metrics extrapolate counts by `1/p`.

use crate::model::TraceId;

/// `2^56`: the size of the randomness space. A threshold equal to it never keeps anything.
pub const MAX_THRESHOLD: u64 = 1 << 56;

/// Number of hex digits in a full-precision threshold (56 bits).
pub const MAX_PRECISION: u8 = 14;

/// Default number of significant hex digits kept in a threshold, the Collector's default: the
/// realised probability stays within about 0.01% (relative) of the configured one.
pub const DEFAULT_PRECISION: u8 = 4;

/// A rejection threshold in `[0, 2^56]`: a trace is kept iff its randomness is `>=` it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Threshold(u64);

impl Threshold {
    /// Keeps every trace (`p = 1`, tracestate `th:0`).
    pub const ALWAYS: Threshold = Threshold(0);
    /// Keeps no trace (`p = 0`); has no tracestate form.
    pub const NEVER: Threshold = Threshold(MAX_THRESHOLD);

    /// The threshold for keep probability `probability`, rounded to `precision` significant hex
    /// digits (clamped to 1..=14).
    ///
    /// Total on purpose (config validation refuses bad values earlier): NaN and `p <= 0` give
    /// [`Threshold::NEVER`], `p >= 1` gives [`Threshold::ALWAYS`].
    ///
    /// Rounding follows the Collector's `ProbabilityToThresholdWithPrecision`: round `T` to
    /// nearest, not counting leading `0` digits of `T` as significant (so `p = 0.999` stays
    /// accurate). We also do not count leading `f` digits, which the Collector does count: without
    /// that, `p = 1e-4` at precision 4 would round to `th:fff9`, i.e. `1.07e-4`, 7% off. The two
    /// agree for every `p >= 1/16`.
    pub fn from_probability(probability: f64, precision: u8) -> Threshold {
        if probability.is_nan() || probability <= 0.0 {
            return Threshold::NEVER;
        }
        if probability >= 1.0 {
            return Threshold::ALWAYS;
        }
        // Multiplying by a power of two is exact; only this rounding to an integer loses anything.
        let keep_count = (probability * MAX_THRESHOLD as f64).round() as u64;
        if keep_count == 0 {
            return Threshold::NEVER;
        }
        let exact = MAX_THRESHOLD.saturating_sub(keep_count);
        Threshold(round_threshold(exact, precision))
    }

    /// The raw threshold value in `[0, 2^56]`.
    pub fn value(self) -> u64 {
        self.0
    }

    /// The keep probability this threshold realises: `(2^56 - T) / 2^56`.
    pub fn probability(self) -> f64 {
        (MAX_THRESHOLD - self.0) as f64 / MAX_THRESHOLD as f64
    }

    /// Whether randomness value `randomness` (56 bits) passes this threshold.
    #[inline]
    pub fn keeps_randomness(self, randomness: u64) -> bool {
        randomness >= self.0
    }

    /// Whether a trace with this id is kept, using the trace id's own randomness.
    #[inline]
    pub fn keeps(self, trace_id: &TraceId) -> bool {
        self.keeps_randomness(trace_id_randomness(trace_id))
    }

    /// The OTel `th` value: 14 hex digits with trailing zeros removed, `"0"` for 100%; `None` for
    /// [`Threshold::NEVER`], which has no encoding (nothing is kept, so nothing is annotated).
    pub fn to_th(self) -> Option<String> {
        if self.0 >= MAX_THRESHOLD {
            return None;
        }
        let full = format!("{:014x}", self.0);
        let trimmed = full.trim_end_matches('0');
        Some(if trimmed.is_empty() {
            "0".to_owned()
        } else {
            trimmed.to_owned()
        })
    }

    /// Parses an OTel `th` value (1 to 14 hex digits, right-padded with zeros).
    pub fn parse_th(text: &str) -> Option<Threshold> {
        parse_hex56(text, false)
    }
}

/// Rounds a threshold (< 2^56) to `precision` significant hex digits of its 14-digit form,
/// leading `0` and `f` digits not counting as significant.
fn round_threshold(threshold: u64, precision: u8) -> u64 {
    let digit = |index: u32| (threshold >> (4 * (13 - index))) & 0xF;
    let leading_zeros = (0..14).take_while(|&index| digit(index) == 0).count() as u32;
    let leading_fs = (0..14).take_while(|&index| digit(index) == 0xF).count() as u32;
    let significant = u32::from(precision.clamp(1, MAX_PRECISION));
    let kept_digits = (significant + leading_zeros + leading_fs).min(u32::from(MAX_PRECISION));
    let dropped_bits = 4 * (u32::from(MAX_PRECISION) - kept_digits);
    if dropped_bits == 0 {
        return threshold;
    }
    let half = 1u64 << (dropped_bits - 1);
    // Cannot carry past 2^56: the kept digits include at least one digit that is not `f`.
    ((threshold + half) >> dropped_bits) << dropped_bits
}

/// The trace id's randomness: its rightmost 56 bits, big-endian (W3C Trace Context Level 2).
#[inline]
pub fn trace_id_randomness(trace_id: &TraceId) -> u64 {
    let mut last_eight = [0u8; 8];
    last_eight.copy_from_slice(&trace_id[8..16]);
    u64::from_be_bytes(last_eight) & (MAX_THRESHOLD - 1)
}

/// The randomness to sample on: an explicit `ot=rv:<14 hex>` from tracestate when present and
/// well-formed (OTel lets a root set it when its ids are not random), else the trace id's.
pub fn randomness(trace_id: &TraceId, tracestate: Option<&str>) -> u64 {
    tracestate
        .and_then(|state| ot_subkey(state, "rv"))
        .and_then(|rv| parse_hex56(rv, true))
        .map_or_else(|| trace_id_randomness(trace_id), |explicit| explicit.0)
}

/// Parses 14 hex digits (`exact`) or 1 to 14 right-padded ones into a value below or at `2^56`.
fn parse_hex56(text: &str, exact: bool) -> Option<Threshold> {
    let len = text.len();
    let length_ok = if exact {
        len == 14
    } else {
        (1..=14).contains(&len)
    };
    if !length_ok || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let digits = u64::from_str_radix(text, 16).ok()?;
    Some(Threshold(digits << (4 * (14 - len as u32))))
}

/// `ot=th:<hex>`, the tracestate member recording `threshold` (`None` for `NEVER`).
pub fn format_ot_th(threshold: Threshold) -> Option<String> {
    threshold.to_th().map(|th| format!("ot=th:{th}"))
}

/// The value of sub-key `key` inside the `ot` member of a W3C tracestate header.
fn ot_subkey<'a>(tracestate: &'a str, key: &str) -> Option<&'a str> {
    let ot_value = tracestate
        .split(',')
        .map(str::trim)
        .find_map(|member| member.strip_prefix("ot="))?;
    ot_value
        .split(';')
        .find_map(|field| field.strip_prefix(key)?.strip_prefix(':'))
}

/// Returns `tracestate` with the `ot` member's `th` set to `threshold` (or removed for `None`,
/// as OTel requires when a non-probabilistic sampler such as a rate limiter decided).
///
/// Other `ot` sub-keys (`rv`, …) and other vendors' members are kept; the `ot` member moves to
/// the front, as W3C asks of a member that was modified. An `ot` left empty is removed.
pub fn set_tracestate_th(tracestate: &str, threshold: Option<Threshold>) -> String {
    let mut ot_fields: Vec<String> = Vec::new();
    let mut other_members: Vec<&str> = Vec::new();
    for member in tracestate
        .split(',')
        .map(str::trim)
        .filter(|member| !member.is_empty())
    {
        match member.strip_prefix("ot=") {
            Some(ot_value) => ot_fields.extend(
                ot_value
                    .split(';')
                    .filter(|field| !field.is_empty() && !field.starts_with("th:"))
                    .map(str::to_owned),
            ),
            None => other_members.push(member),
        }
    }
    if let Some(th) = threshold.and_then(Threshold::to_th) {
        ot_fields.insert(0, format!("th:{th}"));
    }
    let mut members: Vec<String> = Vec::with_capacity(other_members.len() + 1);
    if !ot_fields.is_empty() {
        members.push(format!("ot={}", ot_fields.join(";")));
    }
    members.extend(other_members.into_iter().map(str::to_owned));
    members.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_with_randomness(randomness: u64) -> TraceId {
        let mut id = [0xAB; 16];
        id[8..16].copy_from_slice(&randomness.to_be_bytes());
        id[8] = 0xFF; // the byte outside the 56 bits must not matter
        id
    }

    #[test]
    fn randomness_is_rightmost_56_bits() {
        let id = id_with_randomness(0x0012_3456_789A_BCDE);
        assert_eq!(trace_id_randomness(&id), 0x12_3456_789A_BCDE);
    }

    #[test]
    fn spec_examples_of_th() {
        // Values the Collector's probabilistic sampler writes at its default precision 4.
        assert_eq!(
            Threshold::from_probability(1.0, 4).to_th().as_deref(),
            Some("0")
        );
        assert_eq!(
            Threshold::from_probability(0.5, 4).to_th().as_deref(),
            Some("8")
        );
        assert_eq!(
            Threshold::from_probability(0.25, 4).to_th().as_deref(),
            Some("c")
        );
        assert_eq!(
            Threshold::from_probability(0.1, 4).to_th().as_deref(),
            Some("e666")
        );
        assert_eq!(
            Threshold::from_probability(0.999, 4).to_th().as_deref(),
            Some("004189")
        );
        // Below 1/16 the leading `f` is not significant (the Collector would write `fd71`).
        assert_eq!(
            Threshold::from_probability(0.01, 4).to_th().as_deref(),
            Some("fd70a")
        );
        assert_eq!(Threshold::from_probability(0.0, 4).to_th(), None);
        assert_eq!(Threshold::from_probability(f64::NAN, 4), Threshold::NEVER);
        assert_eq!(Threshold::from_probability(7.0, 4), Threshold::ALWAYS);
    }

    #[test]
    fn full_precision_is_exact() {
        let threshold = Threshold::from_probability(0.1, 14);
        assert_eq!(
            threshold.value(),
            MAX_THRESHOLD - (0.1 * MAX_THRESHOLD as f64).round() as u64
        );
        assert_eq!(threshold.to_th().as_deref(), Some("e6666666666666"));
    }

    #[test]
    fn small_probabilities_keep_their_significant_digits() {
        for probability in [1e-2, 1e-4, 1e-6, 1e-9] {
            let threshold = Threshold::from_probability(probability, 4);
            let relative_error = (threshold.probability() - probability).abs() / probability;
            assert!(relative_error < 1e-4, "{probability}: {relative_error}");
        }
        // Below 2^-56 nothing can be represented: never keep.
        assert_eq!(Threshold::from_probability(1e-30, 4), Threshold::NEVER);
    }

    #[test]
    fn th_round_trips() {
        for probability in [1.0, 0.75, 0.5, 0.1, 0.01, 0.001, 1e-6] {
            for precision in [1, 4, 14] {
                let threshold = Threshold::from_probability(probability, precision);
                let th = threshold.to_th().unwrap();
                assert_eq!(
                    Threshold::parse_th(&th),
                    Some(threshold),
                    "{probability} {precision}"
                );
            }
        }
        assert_eq!(Threshold::parse_th(""), None);
        assert_eq!(Threshold::parse_th("123456789abcdef"), None);
        assert_eq!(Threshold::parse_th("zz"), None);
    }

    #[test]
    fn decision_boundary_is_inclusive() {
        let threshold = Threshold::from_probability(0.5, 4);
        assert!(threshold.keeps(&id_with_randomness(1 << 55)));
        assert!(!threshold.keeps(&id_with_randomness((1 << 55) - 1)));
        assert!(Threshold::ALWAYS.keeps(&id_with_randomness(0)));
        assert!(!Threshold::NEVER.keeps(&id_with_randomness(MAX_THRESHOLD - 1)));
    }

    #[test]
    fn explicit_rv_overrides_trace_id() {
        let id = id_with_randomness(0);
        assert_eq!(
            randomness(&id, Some("vendor=x,ot=th:8;rv:ffffffffffffff")),
            MAX_THRESHOLD - 1
        );
        assert_eq!(
            randomness(&id, Some("ot=rv:fff")),
            0,
            "malformed rv is ignored"
        );
        assert_eq!(randomness(&id, None), 0);
    }

    #[test]
    fn tracestate_helpers() {
        let tenth = Threshold::from_probability(0.1, 4);
        assert_eq!(format_ot_th(tenth).as_deref(), Some("ot=th:e666"));
        assert_eq!(format_ot_th(Threshold::NEVER), None);
        assert_eq!(set_tracestate_th("", Some(tenth)), "ot=th:e666");
        assert_eq!(
            set_tracestate_th("a=1, ot=th:8;rv:00112233445566,b=2", Some(tenth)),
            "ot=th:e666;rv:00112233445566,a=1,b=2"
        );
        assert_eq!(set_tracestate_th("a=1,ot=th:8", None), "a=1");
        assert_eq!(
            set_tracestate_th("ot=th:8;rv:00112233445566", None),
            "ot=rv:00112233445566"
        );
    }
}
