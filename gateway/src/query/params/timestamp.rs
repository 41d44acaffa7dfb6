//! Timestamps of the metrics endpoints, read as Tempo's `parseTimestamp` reads them:
//! unix seconds (up to 10 digits), unix nanoseconds (more digits), fractional seconds
//! (`1700000000.5`, kept to the millisecond) or RFC 3339 (`2024-01-02T03:04:05.5Z`).

use super::go::{self, NumError};

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// Unix nanoseconds (may be negative, Go's `time.Time` allows it).
pub(super) fn parse_timestamp(text: &str) -> Result<i128, NumError> {
    if text.contains('.')
        && let Some(seconds) = go::parse_float(text).filter(|seconds| seconds.is_finite())
    {
        let whole = seconds.trunc();
        let millis = (seconds.fract() * 1000.0).round();
        // Both in range for any finite f64 that fits i128 nanos; `as` saturates otherwise.
        return Ok((whole as i128)
            .saturating_mul(NANOS_PER_SECOND)
            .saturating_add(millis as i128 * 1_000_000));
    }
    match go::parse_int(text, 64) {
        Ok(value) if text.len() <= 10 => Ok(i128::from(value) * NANOS_PER_SECOND),
        Ok(value) => Ok(i128::from(value)),
        Err(error) => parse_rfc3339(text).ok_or(error),
    }
}

/// `time.Parse(time.RFC3339Nano, text)`: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
pub(super) fn parse_rfc3339(text: &str) -> Option<i128> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let separators_ok = bytes.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !separators_ok {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut fraction_nanos: i128 = 0;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let digits = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let padded = format!("{:0<9}", &after_dot[..digits]);
        fraction_nanos = padded.parse().ok()?;
        rest = &after_dot[digits..];
    }
    let offset_seconds = match rest.as_bytes() {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hours = number(text.len() - 5..text.len() - 3)?;
            let minutes = number(text.len() - 2..text.len())?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(i128::from(seconds) * NANOS_PER_SECOND + fraction_nanos)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_as_tempo() {
        assert_eq!(parse_timestamp("1700000000"), Ok(1_700_000_000_000_000_000));
        assert_eq!(parse_timestamp("17000000001"), Ok(17_000_000_001));
        assert_eq!(
            parse_timestamp("1700000000.1234"),
            Ok(1_700_000_000_123_000_000)
        );
        assert_eq!(
            parse_timestamp("2023-11-14T22:13:20Z"),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(
            parse_timestamp("2023-11-14T23:13:20.25+01:00"),
            Ok(1_700_000_000_250_000_000)
        );
        assert_eq!(
            parse_timestamp("now").unwrap_err().to_string(),
            "strconv.ParseInt: parsing \"now\": invalid syntax"
        );
        assert!(parse_timestamp("2023-02-29T00:00:00Z").is_err());
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00Z"),
            Some(951_782_400 * NANOS_PER_SECOND)
        );
        assert_eq!(
            parse_rfc3339("1969-12-31T23:59:59Z"),
            Some(-NANOS_PER_SECOND)
        );
    }
}
