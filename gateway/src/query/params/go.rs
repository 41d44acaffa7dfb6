//! Go's parsers for numbers, booleans and durations, with the same accepted syntax and
//! the same error texts, since Tempo's 400 bodies quote them (`invalid limit:
//! strconv.ParseUint: parsing "x": invalid syntax`). Plus Go's `Duration.String()`.

use std::fmt::Write as _;

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SECOND: u64 = 1_000_000_000;
const NANOS_PER_MINUTE: u64 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: u64 = 60 * NANOS_PER_MINUTE;
const NANOS_PER_DAY: u64 = 24 * NANOS_PER_HOUR;

/// A `strconv` failure, displayed as Go's `*strconv.NumError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("strconv.{function}: parsing {}: {reason}", strconv_quote(.input))]
pub(in crate::query) struct NumError {
    function: &'static str,
    input: String,
    reason: NumErrorReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum NumErrorReason {
    #[error("invalid syntax")]
    Syntax,
    #[error("value out of range")]
    Range,
}

impl NumError {
    fn new(function: &'static str, input: &str, reason: NumErrorReason) -> NumError {
        NumError {
            function,
            input: input.to_owned(),
            reason,
        }
    }
}

/// Digits only (no sign, no `_`), at most `max`: the base-10 core of `strconv.ParseUint`.
/// A value too large is reported as soon as it overflows, as Go does.
fn parse_digits(text: &str, max: u64) -> Result<u64, NumErrorReason> {
    if text.is_empty() {
        return Err(NumErrorReason::Syntax);
    }
    let mut value: u64 = 0;
    for byte in text.bytes() {
        if !byte.is_ascii_digit() {
            return Err(NumErrorReason::Syntax);
        }
        value = value
            .checked_mul(10)
            .and_then(|value| value.checked_add(u64::from(byte - b'0')))
            .filter(|&value| value <= max)
            .ok_or(NumErrorReason::Range)?;
    }
    Ok(value)
}

/// `strconv.ParseUint(text, 10, 32)`.
pub(super) fn parse_uint32(text: &str) -> Result<u32, NumError> {
    parse_digits(text, u64::from(u32::MAX))
        .map(|value| u32::try_from(value).unwrap_or(u32::MAX))
        .map_err(|reason| NumError::new("ParseUint", text, reason))
}

/// `strconv.ParseInt(text, 10, bits)` for `bits` of 32 or 64.
pub(super) fn parse_int(text: &str, bits: u32) -> Result<i64, NumError> {
    signed(text, bits).map_err(|reason| NumError::new("ParseInt", text, reason))
}

fn signed(text: &str, bits: u32) -> Result<i64, NumErrorReason> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let limit = 1u64 << (bits - 1);
    let magnitude = match parse_digits(digits, u64::MAX) {
        Ok(magnitude) => magnitude,
        Err(NumErrorReason::Range) => return Err(NumErrorReason::Range),
        Err(NumErrorReason::Syntax) => return Err(NumErrorReason::Syntax),
    };
    if negative {
        if magnitude > limit {
            return Err(NumErrorReason::Range);
        }
        Ok(0i64.wrapping_sub_unsigned(magnitude))
    } else if magnitude >= limit {
        Err(NumErrorReason::Range)
    } else {
        Ok(i64::try_from(magnitude).unwrap_or(i64::MAX))
    }
}

/// `strconv.Atoi` (Go's 64-bit `int`).
pub(in crate::query) fn atoi(text: &str) -> Result<i64, NumError> {
    signed(text, 64).map_err(|reason| NumError::new("Atoi", text, reason))
}

/// `strconv.ParseBool`.
pub(in crate::query) fn parse_bool(text: &str) -> Result<bool, NumError> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(NumError::new("ParseBool", text, NumErrorReason::Syntax)),
    }
}

/// `strconv.ParseFloat(text, 64)` for decimal syntax (Go also takes hex floats and `_`
/// separators after a base prefix; nobody sends those as a timestamp or a step).
pub(super) fn parse_float(text: &str) -> Option<f64> {
    let looks_numeric = text
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'+' | b'-'));
    if !looks_numeric {
        return None;
    }
    text.parse().ok()
}

/// A `time.ParseDuration` failure, displayed as Go words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum DurationError {
    #[error("time: invalid duration {}", time_quote(.0))]
    Invalid(String),
    #[error("time: missing unit in duration {}", time_quote(.0))]
    MissingUnit(String),
    #[error("time: unknown unit {} in duration {}", time_quote(.unit), time_quote(.input))]
    UnknownUnit { unit: String, input: String },
}

/// `time.ParseDuration`: a signed sequence of decimal numbers with units (`300ms`,
/// `-1.5h`, `2h45m`); returns nanoseconds.
pub(super) fn parse_duration(input: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(input.to_owned());
    let (negative, mut rest) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let first = rest.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        let digits_end = rest
            .bytes()
            .position(|byte| !byte.is_ascii_digit())
            .unwrap_or(rest.len());
        let whole = leading_int(&rest[..digits_end]).ok_or_else(invalid)?;
        let had_whole = digits_end > 0;
        rest = &rest[digits_end..];
        let (mut fraction, mut scale, mut had_fraction) = (0u64, 1f64, false);
        if let Some(after_dot) = rest.strip_prefix('.') {
            let fraction_end = after_dot
                .bytes()
                .position(|byte| !byte.is_ascii_digit())
                .unwrap_or(after_dot.len());
            (fraction, scale) = leading_fraction(&after_dot[..fraction_end]);
            had_fraction = fraction_end > 0;
            rest = &after_dot[fraction_end..];
        }
        if !had_whole && !had_fraction {
            return Err(invalid());
        }
        let unit_end = rest
            .bytes()
            .position(|byte| byte == b'.' || byte.is_ascii_digit())
            .unwrap_or(rest.len());
        if unit_end == 0 {
            return Err(DurationError::MissingUnit(input.to_owned()));
        }
        let unit_text = &rest[..unit_end];
        rest = &rest[unit_end..];
        let unit = match unit_text {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => NANOS_PER_MICRO,
            "ms" => NANOS_PER_MILLI,
            "s" => NANOS_PER_SECOND,
            "m" => NANOS_PER_MINUTE,
            "h" => NANOS_PER_HOUR,
            _ => {
                return Err(DurationError::UnknownUnit {
                    unit: unit_text.to_owned(),
                    input: input.to_owned(),
                });
            }
        };
        const LIMIT: u64 = 1 << 63;
        if whole > LIMIT / unit {
            return Err(invalid());
        }
        let mut value = whole * unit;
        if fraction > 0 {
            // Go's float arithmetic here, truncated, gives the same nanoseconds.
            value += (fraction as f64 * (unit as f64 / scale)) as u64;
            if value > LIMIT {
                return Err(invalid());
            }
        }
        total = total
            .checked_add(value)
            .filter(|&sum| sum <= LIMIT)
            .ok_or_else(invalid)?;
    }
    if negative {
        return Ok(0i64.wrapping_sub_unsigned(total));
    }
    i64::try_from(total).map_err(|_| invalid())
}

/// Go's `leadingInt`: the digits' value, `None` on overflow of 2^63.
fn leading_int(digits: &str) -> Option<u64> {
    digits.bytes().try_fold(0u64, |value, byte| {
        if value > (1 << 63) / 10 {
            return None;
        }
        let value = value * 10 + u64::from(byte - b'0');
        (value <= 1 << 63).then_some(value)
    })
}

/// Go's `leadingFraction`: the digits as an integer and its scale (10^digits used),
/// ignoring digits that would overflow.
fn leading_fraction(digits: &str) -> (u64, f64) {
    let (mut value, mut scale, mut overflow) = (0u64, 1f64, false);
    for byte in digits.bytes() {
        if overflow {
            continue;
        }
        if value > (1 << 63) / 10 {
            overflow = true;
            continue;
        }
        let next = value * 10 + u64::from(byte - b'0');
        if next > 1 << 63 {
            overflow = true;
            continue;
        }
        value = next;
        scale *= 10.0;
    }
    (value, scale)
}

/// A Prometheus `model.ParseDuration` failure (the `since` parameter).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum PromDurationError {
    #[error("empty duration string")]
    Empty,
    #[error("not a valid duration string: {}", strconv_quote(.0))]
    Invalid(String),
    #[error("unknown unit {} in duration {}", strconv_quote(.unit), strconv_quote(.input))]
    UnknownUnit { unit: String, input: String },
    #[error("duration out of range")]
    OutOfRange,
}

/// Prometheus `model.ParseDuration`: integers with units from largest to smallest,
/// `y w d h m s ms` (`1h30m`, `7d`); returns nanoseconds.
pub(super) fn parse_prometheus_duration(input: &str) -> Result<u64, PromDurationError> {
    match input {
        "0" => return Ok(0),
        "" => return Err(PromDurationError::Empty),
        _ => {}
    }
    let invalid = || PromDurationError::Invalid(input.to_owned());
    let (mut rest, mut total, mut last_rank) = (input, 0u64, 0u8);
    while !rest.is_empty() {
        let digits_end = rest
            .bytes()
            .position(|byte| !byte.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits_end == 0 {
            return Err(invalid());
        }
        let value = parse_digits(&rest[..digits_end], u64::MAX).map_err(|_| invalid())?;
        rest = &rest[digits_end..];
        let unit_end = rest
            .bytes()
            .position(|byte| byte.is_ascii_digit())
            .unwrap_or(rest.len());
        if unit_end == 0 {
            return Err(invalid());
        }
        let unit_text = &rest[..unit_end];
        rest = &rest[unit_end..];
        let (unit, rank) = match unit_text {
            "y" => (365 * NANOS_PER_DAY, 1),
            "w" => (7 * NANOS_PER_DAY, 2),
            "d" => (NANOS_PER_DAY, 3),
            "h" => (NANOS_PER_HOUR, 4),
            "m" => (NANOS_PER_MINUTE, 5),
            "s" => (NANOS_PER_SECOND, 6),
            "ms" => (NANOS_PER_MILLI, 7),
            _ => {
                return Err(PromDurationError::UnknownUnit {
                    unit: unit_text.to_owned(),
                    input: input.to_owned(),
                });
            }
        };
        if rank <= last_rank {
            return Err(invalid());
        }
        last_rank = rank;
        if value > (1 << 63) / unit {
            return Err(PromDurationError::OutOfRange);
        }
        total = total
            .checked_add(value * unit)
            .filter(|&sum| sum < 1 << 63)
            .ok_or(PromDurationError::OutOfRange)?;
    }
    Ok(total)
}

/// The `time` package's `quote`: non-ASCII and control bytes as `\xNN`.
fn time_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        if character.is_ascii() && !character.is_ascii_control() {
            if matches!(character, '"' | '\\') {
                quoted.push('\\');
            }
            quoted.push(character);
        } else {
            let mut buffer = [0u8; 4];
            for byte in character.encode_utf8(&mut buffer).bytes() {
                let _ = write!(quoted, "\\x{byte:02x}");
            }
        }
    }
    quoted.push('"');
    quoted
}

/// Close to `strconv.Quote`: printable characters as they are, the rest escaped.
pub(super) fn strconv_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            character if character.is_control() => {
                let code = u32::from(character);
                if code < 0x80 {
                    let _ = write!(quoted, "\\x{code:02x}");
                } else {
                    let _ = write!(quoted, "\\u{code:04x}");
                }
            }
            character => quoted.push(character),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_and_fail_as_strconv() {
        assert_eq!(parse_uint32("4294967295"), Ok(u32::MAX));
        assert_eq!(
            parse_uint32("4294967296").unwrap_err().to_string(),
            "strconv.ParseUint: parsing \"4294967296\": value out of range"
        );
        assert_eq!(
            parse_uint32("+5").unwrap_err().to_string(),
            "strconv.ParseUint: parsing \"+5\": invalid syntax"
        );
        assert_eq!(
            parse_uint32("-1").unwrap_err().to_string(),
            "strconv.ParseUint: parsing \"-1\": invalid syntax"
        );
        assert_eq!(parse_int("-20", 64), Ok(-20));
        assert_eq!(parse_int("+20", 64), Ok(20));
        assert_eq!(
            parse_int("abc", 64).unwrap_err().to_string(),
            "strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            parse_int("99999999999999999999", 64)
                .unwrap_err()
                .to_string(),
            "strconv.ParseInt: parsing \"99999999999999999999\": value out of range"
        );
        assert_eq!(parse_int("-2147483648", 32), Ok(-2_147_483_648));
        assert_eq!(
            parse_int("2147483648", 32).unwrap_err().to_string(),
            "strconv.ParseInt: parsing \"2147483648\": value out of range"
        );
        assert_eq!(parse_int("-9223372036854775808", 64), Ok(i64::MIN));
        assert_eq!(parse_bool("True"), Ok(true));
        assert_eq!(
            parse_bool("yes").unwrap_err().to_string(),
            "strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
    }

    #[test]
    fn durations_parse_as_go() {
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("100ms"), Ok(100_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("-1h2m"), Ok(-3_720_000_000_000));
        assert_eq!(parse_duration(".5us"), Ok(500));
        assert_eq!(parse_duration("1µs"), Ok(1_000));
        assert_eq!(parse_duration("2h45m30.5s"), Ok(9_930_500_000_000));
        assert_eq!(
            parse_duration("").unwrap_err().to_string(),
            "time: invalid duration \"\""
        );
        assert_eq!(
            parse_duration("10").unwrap_err().to_string(),
            "time: missing unit in duration \"10\""
        );
        assert_eq!(
            parse_duration("10d").unwrap_err().to_string(),
            "time: unknown unit \"d\" in duration \"10d\""
        );
        assert_eq!(
            parse_duration("1é").unwrap_err().to_string(),
            "time: unknown unit \"\\xc3\\xa9\" in duration \"1\\xc3\\xa9\""
        );
        assert_eq!(
            parse_duration("99999999999h").unwrap_err().to_string(),
            "time: invalid duration \"99999999999h\""
        );
        assert!(parse_duration(".s").is_err());
    }

    #[test]
    fn prometheus_durations_parse_as_prometheus() {
        assert_eq!(
            parse_prometheus_duration("1h30m"),
            Ok(90 * NANOS_PER_MINUTE)
        );
        assert_eq!(parse_prometheus_duration("7d"), Ok(7 * NANOS_PER_DAY));
        assert_eq!(parse_prometheus_duration("0"), Ok(0));
        assert_eq!(
            parse_prometheus_duration("30m1h").unwrap_err().to_string(),
            "not a valid duration string: \"30m1h\""
        );
        assert_eq!(
            parse_prometheus_duration("5x").unwrap_err().to_string(),
            "unknown unit \"x\" in duration \"5x\""
        );
        assert_eq!(
            parse_prometheus_duration("1.5h").unwrap_err().to_string(),
            "unknown unit \".\" in duration \"1.5h\""
        );
        assert_eq!(
            parse_prometheus_duration("h").unwrap_err().to_string(),
            "not a valid duration string: \"h\""
        );
    }
}
