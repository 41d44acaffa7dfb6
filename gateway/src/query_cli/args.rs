//! What `spangate query` reads from its command line before sending anything: trace
//! ids, durations (`--since 1h`, `--step 30s`, `--timeout 10s`), instants (`--start`,
//! `--end`: RFC 3339 or unix seconds) and the time window they make.

use std::time::Duration;

use crate::model::TraceId;

/// A bad argument, named by its flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgumentError {
    #[error("bad trace id {text:?}: {reason}")]
    TraceId { text: String, reason: String },
    #[error("bad {flag} {text:?}: {reason}")]
    Value {
        flag: &'static str,
        text: String,
        reason: String,
    },
    #[error("--start ({start}) must be before --end ({end})")]
    EmptyWindow { start: u64, end: u64 },
    #[error("--since cannot be combined with --start")]
    SinceAndStart,
    #[error("--end needs --start or --since")]
    EndAlone,
}

/// A trace id as Tempo accepts it (hex, at most 32 digits), as the 32 digits sent.
pub(super) fn trace_id(text: &str) -> Result<String, ArgumentError> {
    let bad = |reason: String| ArgumentError::TraceId {
        text: text.to_owned(),
        reason,
    };
    if text.is_empty() {
        return Err(bad("empty".to_owned()));
    }
    let id = TraceId::parse_hex(text).map_err(|error| bad(error.to_string()))?;
    if id.0 == [0; 16] {
        return Err(bad("all zeros is not a trace id".to_owned()));
    }
    Ok(id.to_hex())
}

const UNITS: [(&str, u64); 7] = [
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
    ("w", 604_800_000_000_000),
    ("us", 1_000),
];

/// A duration such as `90s`, `1h30m`, `2d` or `250ms`: whole numbers, each followed by
/// a unit (`us`, `ms`, `s`, `m`, `h`, `d`, `w`); more than zero.
pub(super) fn duration(flag: &'static str, text: &str) -> Result<Duration, ArgumentError> {
    let bad = |reason: &str| ArgumentError::Value {
        flag,
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad("empty; expected e.g. 30s, 15m, 1h30m, 2d"));
    }
    let mut nanos: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad(
                "expected a number followed by a unit (us, ms, s, m, h, d, w)",
            ));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| bad("number too large"))?;
        rest = &rest[digits..];
        let letters = rest
            .bytes()
            .take_while(|byte| byte.is_ascii_alphabetic())
            .count();
        let unit = &rest[..letters];
        let (_, scale) = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .ok_or_else(|| bad("missing or unknown unit (us, ms, s, m, h, d, w)"))?;
        nanos = number
            .checked_mul(*scale)
            .and_then(|part| nanos.checked_add(part))
            .ok_or_else(|| bad("too large"))?;
        rest = &rest[letters..];
    }
    if nanos == 0 {
        return Err(bad("must be more than zero"));
    }
    Ok(Duration::from_nanos(nanos))
}

/// An instant as unix nanoseconds: RFC 3339 (`2026-12-06T10:00:00Z`,
/// `2026-12-06T11:00:00.5+01:00`) or unix seconds (`1796551200`, `1796551200.25`).
pub(super) fn instant(flag: &'static str, text: &str) -> Result<u64, ArgumentError> {
    let bad = |reason: &str| ArgumentError::Value {
        flag,
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let text = text.trim();
    if !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || byte == b'.')
    {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let seconds: u64 = whole.parse().map_err(|_| bad("not a number"))?;
        return seconds
            .checked_mul(NANOS_PER_SECOND)
            .and_then(|nanos| nanos.checked_add(fraction_nanos(fraction)?))
            .ok_or_else(|| bad("not a number of unix seconds"));
    }
    parse_rfc3339(text)
        .ok_or_else(|| bad("expected RFC 3339 (2026-12-06T10:00:00Z) or unix seconds (1796551200)"))
}

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// Up to nine digits after the decimal point, as nanoseconds.
fn fraction_nanos(digits: &str) -> Option<u64> {
    if digits.len() > 9 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let padded = format!("{digits:0<9}");
    padded.parse().ok()
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (`t`/`z` and a space for `T` allowed) as
/// unix nanoseconds; before 1970 is refused.
fn parse_rfc3339(text: &str) -> Option<u64> {
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut date_parts = date.splitn(3, '-');
    let year = fixed_digits(date_parts.next()?, 4)?;
    let month = fixed_digits(date_parts.next()?, 2)?;
    let day = fixed_digits(date_parts.next()?, 2)?;
    let (clock, offset_seconds) = split_offset(time)?;
    let (clock, fraction) = match clock.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (clock, ""),
    };
    if clock.len() != 8 {
        return None;
    }
    let mut clock_parts = clock.splitn(3, ':');
    let hour = fixed_digits(clock_parts.next()?, 2)?;
    let minute = fixed_digits(clock_parts.next()?, 2)?;
    let second = fixed_digits(clock_parts.next()?, 2)?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    let seconds = u64::try_from(local - offset_seconds).ok()?;
    seconds
        .checked_mul(NANOS_PER_SECOND)?
        .checked_add(fraction_nanos(fraction)?)
}

/// The clock and the offset from UTC in seconds (`Z`, `+01:00`, `-05:30`).
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let sign_at = time.rfind(['+', '-'])?;
    let (clock, offset) = time.split_at(sign_at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let (hours, minutes) = offset[1..].split_once(':')?;
    let (hours, minutes) = (fixed_digits(hours, 2)?, fixed_digits(minutes, 2)?);
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((clock, sign * i64::from(hours * 3600 + minutes * 60)))
}

/// Exactly `len` ASCII digits.
fn fixed_digits(text: &str, len: usize) -> Option<u32> {
    (text.len() == len && text.bytes().all(|byte| byte.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day since 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// Unix nanoseconds as `2026-12-06T10:00:00Z` (whole seconds, UTC).
pub(super) fn format_utc(nanos: u64) -> String {
    let seconds = nanos / NANOS_PER_SECOND;
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 2);
    let (year, month, day) = civil_from_days(days);
    let of_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// A query's window in unix nanoseconds; `None` leaves it to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub(super) start_nanos: u64,
    pub(super) end_nanos: u64,
}

impl Window {
    pub(super) fn start_seconds(&self) -> u64 {
        self.start_nanos / NANOS_PER_SECOND
    }

    /// Rounded up, so a window never loses its last partial second.
    pub(super) fn end_seconds(&self) -> u64 {
        self.end_nanos.div_ceil(NANOS_PER_SECOND)
    }
}

/// The window of `--since`, `--start` and `--end`, given `now` (unix nanoseconds):
/// `--since D` is the last D before `--end` (default now); `--start` alone runs to now;
/// `--end` alone starts `default_since` before it (an error without a default); nothing
/// at all is `default_since` before now, or `None` (the server's default).
pub(super) fn window(
    since: Option<&str>,
    start: Option<&str>,
    end: Option<&str>,
    default_since: Option<Duration>,
    now_nanos: u64,
) -> Result<Option<Window>, ArgumentError> {
    if since.is_some() && start.is_some() {
        return Err(ArgumentError::SinceAndStart);
    }
    let since = since.map(|text| duration("--since", text)).transpose()?;
    let end = end.map(|text| instant("--end", text)).transpose()?;
    let start = start.map(|text| instant("--start", text)).transpose()?;
    let span = since.or(default_since);
    let (start, end) = match (start, end, span) {
        (Some(start), end, _) => (start, end.unwrap_or(now_nanos)),
        (None, end, Some(span)) => {
            let end = end.unwrap_or(now_nanos);
            let span = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
            (end.saturating_sub(span), end)
        }
        (None, Some(_), None) => return Err(ArgumentError::EndAlone),
        (None, None, None) => return Ok(None),
    };
    if start >= end {
        return Err(ArgumentError::EmptyWindow {
            start: start / NANOS_PER_SECOND,
            end: end / NANOS_PER_SECOND,
        });
    }
    Ok(Some(Window {
        start_nanos: start,
        end_nanos: end,
    }))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn trace_ids_are_checked_before_sending() {
        assert_eq!(
            trace_id("0AF7651916CD43DD8448EB211C80319C").unwrap(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        // Shorter ids are left-padded, as Tempo pads them.
        assert_eq!(trace_id("abc").unwrap(), format!("{:0>32}", "abc"));
        let message = trace_id("xyz").unwrap_err().to_string();
        assert!(
            message.contains("invalid character 'x' at position 1"),
            "{message}"
        );
        let message = trace_id(&"a".repeat(33)).unwrap_err().to_string();
        assert!(message.contains("larger than 128 bits"), "{message}");
        assert!(trace_id("").is_err());
        assert!(trace_id("0000").is_err());
    }

    #[test]
    fn durations_read_units_and_sums() {
        let secs = |text| duration("--since", text).unwrap().as_secs();
        assert_eq!(secs("90s"), 90);
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("2d"), 172_800);
        assert_eq!(secs("1w"), 604_800);
        assert_eq!(duration("--step", "250ms").unwrap().as_millis(), 250);
        assert_eq!(duration("--step", "5us").unwrap().as_micros(), 5);
        for bad in [
            "",
            "10",
            "h",
            "1x",
            "0s",
            "-1h",
            "1.5h",
            "99999999999999999999w",
        ] {
            let error = duration("--since", bad).unwrap_err().to_string();
            assert!(error.starts_with("bad --since"), "{bad}: {error}");
        }
    }

    #[test]
    fn instants_read_rfc3339_and_unix_seconds() {
        let at = |text| instant("--start", text).unwrap();
        assert_eq!(at("1796551200"), 1_796_551_200 * NANOS_PER_SECOND);
        assert_eq!(at("1796551200.25"), 1_796_551_200_250_000_000);
        assert_eq!(at("1970-01-01T00:00:00Z"), 0);
        assert_eq!(at("2026-12-06T10:00:00Z"), 1_796_551_200 * NANOS_PER_SECOND);
        assert_eq!(at("2026-12-06T11:00:00+01:00"), at("2026-12-06T10:00:00Z"));
        assert_eq!(at("2026-12-06T04:30:00-05:30"), at("2026-12-06T10:00:00Z"));
        assert_eq!(
            at("2026-12-06T10:00:00.123456789Z"),
            1_796_551_200_123_456_789
        );
        assert_eq!(at("2024-02-29T00:00:00Z") / NANOS_PER_SECOND, 1_709_164_800);
        for bad in [
            "",
            "yesterday",
            "2026-12-06",
            "2026-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-12-06T24:00:00Z",
            "2026-12-06T10:00:00",
            "2026-12-06T10:00:00.Z",
            "1969-12-31T23:59:59Z",
            "1.2.3",
        ] {
            assert!(instant("--start", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn windows_follow_the_flags() {
        let now = 1_796_551_200 * NANOS_PER_SECOND;
        let hour = Duration::from_secs(3600);
        let window_of = |since, start, end, default| window(since, start, end, default, now);
        assert_eq!(window_of(None, None, None, None).unwrap(), None);
        let last_hour = Window {
            start_nanos: now - 3600 * NANOS_PER_SECOND,
            end_nanos: now,
        };
        assert_eq!(
            window_of(Some("1h"), None, None, None).unwrap(),
            Some(last_hour)
        );
        assert_eq!(
            window_of(None, None, None, Some(hour)).unwrap(),
            Some(last_hour)
        );
        assert_eq!(
            window_of(None, Some("1796547600"), None, None).unwrap(),
            Some(last_hour)
        );
        assert_eq!(
            window_of(None, None, Some("2026-12-06T10:00:00Z"), Some(hour)).unwrap(),
            Some(last_hour)
        );
        assert_eq!(
            window_of(Some("1h"), Some("1796547600"), None, None).unwrap_err(),
            ArgumentError::SinceAndStart
        );
        assert_eq!(
            window_of(None, None, Some("1796547600"), None).unwrap_err(),
            ArgumentError::EndAlone
        );
        assert!(matches!(
            window_of(None, Some("1796551200"), Some("1796547600"), None).unwrap_err(),
            ArgumentError::EmptyWindow { .. }
        ));
        let odd = Window {
            start_nanos: 1_500_000_000,
            end_nanos: 2_500_000_000,
        };
        assert_eq!((odd.start_seconds(), odd.end_seconds()), (1, 3));
    }

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_utc(1_796_551_200 * NANOS_PER_SECOND + 999),
            "2026-12-06T10:00:00Z"
        );
        assert_eq!(
            format_utc(951_782_400 * NANOS_PER_SECOND),
            "2000-02-29T00:00:00Z"
        );
    }

    proptest! {
        #[test]
        fn formatted_instants_parse_back(seconds in 0u64..18_000_000_000) {
            let text = format_utc(seconds * NANOS_PER_SECOND);
            prop_assert_eq!(instant("--start", &text).unwrap(), seconds * NANOS_PER_SECOND);
            prop_assert_eq!(
                instant("--start", &seconds.to_string()).unwrap(),
                seconds * NANOS_PER_SECOND
            );
        }

        #[test]
        fn durations_add_up(parts in proptest::collection::vec((1u64..10_000, 0usize..7), 1..5)) {
            let text: String = parts
                .iter()
                .map(|(number, unit)| format!("{number}{}", UNITS[*unit].0))
                .collect();
            let expected: u64 = parts.iter().map(|(number, unit)| number * UNITS[*unit].1).sum();
            prop_assert_eq!(duration("--since", &text).unwrap(), Duration::from_nanos(expected));
        }

        #[test]
        fn parsers_never_panic(text in "\\PC{0,40}") {
            let _ = duration("--since", &text);
            let _ = instant("--start", &text);
            let _ = trace_id(&text);
        }

        #[test]
        fn rfc3339_parser_never_panics(text in "[0-9TZ:+.-]{0,32}") {
            let _ = instant("--end", &text);
        }
    }
}
