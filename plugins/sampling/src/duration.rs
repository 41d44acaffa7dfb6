//! Human-readable durations for the config (`"100ms"`, `"10s"`, `"1m30s"`).
//!
//! A hand-written parser instead of `humantime`: the grammar we need is tiny, the error message
//! must quote the offending text so a config error can point at it, and every value is kept as
//! whole nanoseconds because the samplers count time in unix nanos handed in by the host.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A non-negative duration in whole nanoseconds, parsed from text such as `"500ms"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DurationNanos(pub u64);

impl DurationNanos {
    /// The duration in nanoseconds.
    pub fn as_nanos(self) -> u64 {
        self.0
    }
}

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {reason}")]
pub struct DurationError {
    /// The text as it appeared in the config.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Nanoseconds per unit, longest suffix first so `ms` is not read as `m` + `s`.
const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("h", 3_600 * 1_000_000_000),
];

/// Parses `<int><unit>` repeated (`"1m30s"`), units `ns us µs ms s m h`, or a bare `"0"`.
///
/// Fractions (`"1.5s"`) are refused rather than rounded: `"1500ms"` says the same exactly.
pub fn parse_duration(text: &str) -> Result<DurationNanos, DurationError> {
    let fail = |reason| DurationError {
        text: text.to_owned(),
        reason,
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(fail("empty"));
    }
    if trimmed == "0" {
        return Ok(DurationNanos(0));
    }
    let mut rest = trimmed;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits_len == 0 {
            return Err(fail("expected a number, e.g. \"100ms\" or \"10s\""));
        }
        let (digits, after_digits) = rest.split_at(digits_len);
        let amount: u64 = digits.parse().map_err(|_| fail("number too large"))?;
        let Some((unit, nanos_per_unit)) = UNITS
            .iter()
            .find(|(unit, _)| after_digits.starts_with(unit))
        else {
            return Err(fail("expected a unit: ns, us, ms, s, m or h"));
        };
        let part = amount
            .checked_mul(*nanos_per_unit)
            .ok_or_else(|| fail("too large"))?;
        total = total.checked_add(part).ok_or_else(|| fail("too large"))?;
        rest = &after_digits[unit.len()..];
    }
    Ok(DurationNanos(total))
}

impl fmt::Display for DurationNanos {
    /// Prints the largest unit that divides the value exactly (`10s`, `1500ms`).
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0;
        if nanos == 0 {
            return formatter.write_str("0s");
        }
        let units: [(&str, u64); 6] = [
            ("h", 3_600_000_000_000),
            ("m", 60_000_000_000),
            ("s", 1_000_000_000),
            ("ms", 1_000_000),
            ("us", 1_000),
            ("ns", 1),
        ];
        for (unit, per) in units {
            if nanos.is_multiple_of(per) {
                return write!(formatter, "{}{unit}", nanos / per);
            }
        }
        unreachable!("every value is a multiple of 1ns")
    }
}

impl<'de> Deserialize<'de> for DurationNanos {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit() {
        assert_eq!(parse_duration("250ns").unwrap().0, 250);
        assert_eq!(parse_duration("7us").unwrap().0, 7_000);
        assert_eq!(parse_duration("7µs").unwrap().0, 7_000);
        assert_eq!(parse_duration("100ms").unwrap().0, 100_000_000);
        assert_eq!(parse_duration("10s").unwrap().0, 10_000_000_000);
        assert_eq!(parse_duration("2m").unwrap().0, 120_000_000_000);
        assert_eq!(parse_duration("1h").unwrap().0, 3_600_000_000_000);
        assert_eq!(parse_duration("0").unwrap().0, 0);
        assert_eq!(parse_duration(" 5s ").unwrap().0, 5_000_000_000);
    }

    #[test]
    fn parses_compound() {
        assert_eq!(parse_duration("1m30s").unwrap().0, 90_000_000_000);
        assert_eq!(parse_duration("1s500ms").unwrap().0, 1_500_000_000);
    }

    #[test]
    fn refuses_garbage_and_quotes_it() {
        for bad in [
            "",
            "5",
            "5x",
            "ms",
            "1.5s",
            "-1s",
            "s5",
            "10 s",
            "99999999999999999999s",
        ] {
            let error = parse_duration(bad).unwrap_err();
            assert_eq!(error.text, bad);
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("invalid duration {bad:?}"))
            );
        }
        assert!(parse_duration("18446744073709551615h").is_err());
    }

    #[test]
    fn displays_exactly() {
        assert_eq!(DurationNanos(10_000_000_000).to_string(), "10s");
        assert_eq!(DurationNanos(1_500_000_000).to_string(), "1500ms");
        assert_eq!(DurationNanos(0).to_string(), "0s");
        assert_eq!(DurationNanos(7).to_string(), "7ns");
    }
}
