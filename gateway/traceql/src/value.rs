//! Literal values, the enums TraceQL compares against, Go-compatible durations, and the
//! owned values reported back to callers.

use std::fmt;

use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, any_value};

/// Span status as TraceQL names it (`status = error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Unset,
    Ok,
    Error,
}

impl Status {
    /// Maps an OTLP `Status.code` (0 unset, 1 ok, 2 error); unknown codes read as unset.
    pub fn from_otlp(code: i32) -> Self {
        match code {
            1 => Status::Ok,
            2 => Status::Error,
            _ => Status::Unset,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unset => "unset",
            Status::Ok => "ok",
            Status::Error => "error",
        }
    }
}

/// Span kind as TraceQL names it (`kind = server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl Kind {
    /// Maps an OTLP `Span.kind`; unknown values read as unspecified.
    pub fn from_otlp(kind: i32) -> Self {
        match kind {
            1 => Kind::Internal,
            2 => Kind::Server,
            3 => Kind::Client,
            4 => Kind::Producer,
            5 => Kind::Consumer,
            _ => Kind::Unspecified,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Unspecified => "unspecified",
            Kind::Internal => "internal",
            Kind::Server => "server",
            Kind::Client => "client",
            Kind::Producer => "producer",
            Kind::Consumer => "consumer",
        }
    }
}

/// A literal written in a query (`"GET"`, `200`, `1.5`, `100ms`, `true`, `nil`, `error`, `server`).
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Nanoseconds.
    Duration(i64),
    Status(Status),
    Kind(Kind),
    Nil,
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write_go_string(f, s),
            Literal::Int(n) => write!(f, "{n}"),
            // `{:?}` is the shortest representation that reads back to the same f64 and always
            // carries a `.` or an exponent, so it never re-lexes as an integer.
            Literal::Float(x) => write!(f, "{x:?}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Duration(d) => f.write_str(&format_go_duration(*d)),
            Literal::Status(s) => f.write_str(s.as_str()),
            Literal::Kind(k) => f.write_str(k.as_str()),
            Literal::Nil => f.write_str("nil"),
        }
    }
}

/// Writes `s` as a double-quoted Go string literal (the lexer reads Go escapes back).
pub(crate) fn write_go_string(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x20 || c == '\u{7f}' => write!(f, "\\x{:02x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// An owned, typed value reported to callers: span attributes, spanset attributes (`by()`,
/// `count()`), metrics labels. Convert with [`AttrValue::to_any_value`] to get exactly the
/// JSON shape Tempo emits.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Nanoseconds; Tempo reports durations as Go duration strings (`"1.5s"`).
    Duration(i64),
    Status(Status),
    Kind(Kind),
    /// An absent value; Tempo reports it as the string `"nil"`.
    Nil,
    Array(Vec<AttrValue>),
}

impl AttrValue {
    /// The OTLP value Tempo puts in search and metrics responses (`Static.AsAnyValue`):
    /// durations, statuses, kinds and nil become strings.
    pub fn to_any_value(&self) -> AnyValue {
        let value = match self {
            AttrValue::Str(s) => any_value::Value::StringValue(s.clone()),
            AttrValue::Int(n) => any_value::Value::IntValue(*n),
            AttrValue::Float(x) => any_value::Value::DoubleValue(*x),
            AttrValue::Bool(b) => any_value::Value::BoolValue(*b),
            AttrValue::Duration(d) => any_value::Value::StringValue(format_go_duration(*d)),
            AttrValue::Status(s) => any_value::Value::StringValue(s.as_str().to_string()),
            AttrValue::Kind(k) => any_value::Value::StringValue(k.as_str().to_string()),
            AttrValue::Nil => any_value::Value::StringValue("nil".to_string()),
            AttrValue::Array(items) => any_value::Value::ArrayValue(ArrayValue {
                values: items.iter().map(AttrValue::to_any_value).collect(),
            }),
        };
        AnyValue { value: Some(value) }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Str(s) => f.write_str(s),
            AttrValue::Int(n) => write!(f, "{n}"),
            AttrValue::Float(x) => write!(f, "{x}"),
            AttrValue::Bool(b) => write!(f, "{b}"),
            AttrValue::Duration(d) => f.write_str(&format_go_duration(*d)),
            AttrValue::Status(s) => f.write_str(s.as_str()),
            AttrValue::Kind(k) => f.write_str(k.as_str()),
            AttrValue::Nil => f.write_str("nil"),
            AttrValue::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Lower-case hex of an id, every byte two digits (span ids in search results).
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Hex with leading zeros stripped, the way Tempo prints trace ids in search results
/// (`util.TraceIDToHexString`); an all-zero id prints as `"0"`.
pub fn trace_id_hex(bytes: &[u8]) -> String {
    let full = hex_lower(bytes);
    let trimmed = full.trim_start_matches('0');
    if trimmed.is_empty() && !full.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Formats nanoseconds like Go's `time.Duration.String()` (`1h30m0s`, `1.5s`, `226.495µs`).
pub fn format_go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let negative = nanos < 0;
    let mut u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Sub-second: a single unit with a fraction.
        let (unit, scale) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&format_fraction(u, scale));
        out.push_str(unit);
    } else {
        let hours = u / 3_600_000_000_000;
        u %= 3_600_000_000_000;
        let minutes = u / 60_000_000_000;
        u %= 60_000_000_000;
        if hours > 0 {
            out.push_str(&format!("{hours}h"));
        }
        if hours > 0 || minutes > 0 {
            out.push_str(&format!("{minutes}m"));
        }
        out.push_str(&format_fraction(u, 1_000_000_000));
        out.push('s');
    }
    if negative {
        out.insert(0, '-');
    }
    out
}

/// `value / scale` with the fraction's trailing zeros removed (`1500, 1000` → `1.5`).
fn format_fraction(value: u64, scale: u64) -> String {
    let whole = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let width = scale.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Parses a TraceQL duration the way Tempo's lexer does: Prometheus syntax first
/// (`1d`, `2w`, `1h30m`), then Go's `time.ParseDuration` (`1.5s`, `100µs`). Unsigned:
/// the parser applies a leading `-`.
pub(crate) fn parse_duration(text: &str) -> Option<i64> {
    parse_prometheus_duration(text).or_else(|| parse_go_duration(text))
}

/// `^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$`, non-empty.
fn parse_prometheus_duration(text: &str) -> Option<i64> {
    if text == "0" {
        return Some(0);
    }
    const UNITS: [(&str, i128); 7] = [
        ("y", 365 * 24 * 3_600_000_000_000),
        ("w", 7 * 24 * 3_600_000_000_000),
        ("d", 24 * 3_600_000_000_000),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
    ];
    let mut rest = text;
    let mut next_unit = 0;
    let mut total: i128 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let number: i128 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        // Units must appear in order; the longest match keeps `ms` from reading as `m`.
        let (index, len, scale) = UNITS
            .iter()
            .enumerate()
            .skip(next_unit)
            .filter(|(_, (name, _))| rest.starts_with(name))
            .map(|(i, (name, scale))| (i, name.len(), *scale))
            .max_by_key(|(_, len, _)| *len)?;
        total = total.checked_add(number.checked_mul(scale)?)?;
        rest = &rest[len..];
        next_unit = index + 1;
    }
    i64::try_from(total).ok()
}

/// Go's `time.ParseDuration` without the sign: `([0-9]*(\.[0-9]*)?unit)+` or `0`.
fn parse_go_duration(text: &str) -> Option<i64> {
    if text == "0" {
        return Some(0);
    }
    let mut rest = text;
    let mut total: i128 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(after_dot) = rest.strip_prefix('.') {
            let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &after_dot[..frac_len];
            rest = &after_dot[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let scale: i128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        total = total.checked_add(whole.checked_mul(scale)?)?;
        if !frac_part.is_empty() {
            // Only as many fraction digits as can matter at nanosecond precision.
            let digits = &frac_part[..frac_part.len().min(18)];
            let numerator: i128 = digits.parse().ok()?;
            let denominator = 10i128.checked_pow(u32::try_from(digits.len()).ok()?)?;
            total = total.checked_add(numerator.checked_mul(scale)? / denominator)?;
        }
        if total > i128::from(i64::MAX) {
            return None;
        }
    }
    i64::try_from(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_duration_strings() {
        assert_eq!(format_go_duration(0), "0s");
        assert_eq!(format_go_duration(1), "1ns");
        assert_eq!(format_go_duration(1_500), "1.5µs");
        assert_eq!(format_go_duration(226_495), "226.495µs");
        assert_eq!(format_go_duration(100_000_000), "100ms");
        assert_eq!(format_go_duration(1_500_000_000), "1.5s");
        assert_eq!(format_go_duration(5_400_000_000_000), "1h30m0s");
        assert_eq!(format_go_duration(61_000_000_000), "1m1s");
        assert_eq!(format_go_duration(-2_000_000), "-2ms");
    }

    #[test]
    fn duration_parsing_matches_tempo() {
        assert_eq!(parse_duration("100ms"), Some(100_000_000));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("1h30m0s"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("2d"), Some(2 * 24 * 3_600_000_000_000));
        assert_eq!(parse_duration("1w"), Some(7 * 24 * 3_600_000_000_000));
        assert_eq!(parse_duration("10us"), Some(10_000));
        assert_eq!(parse_duration("10µs"), Some(10_000));
        assert_eq!(parse_duration("7ns"), Some(7));
        assert_eq!(parse_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_duration(".5s"), Some(500_000_000));
        assert_eq!(parse_duration("1.5d"), None);
        assert_eq!(parse_duration("1h1d"), None);
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("1x"), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
    }

    #[test]
    fn duration_round_trips_through_go_format() {
        for nanos in [
            1,
            999,
            1_000,
            1_234_567,
            1_000_000_000,
            86_400_000_000_000,
            123_456_789_012,
        ] {
            assert_eq!(
                parse_duration(&format_go_duration(nanos)),
                Some(nanos),
                "{nanos}"
            );
        }
    }

    #[test]
    fn trace_ids_strip_leading_zeros() {
        assert_eq!(trace_id_hex(&[0, 0x0a, 0xbc]), "abc");
        assert_eq!(trace_id_hex(&[0, 0]), "0");
        assert_eq!(hex_lower(&[0, 0x0a]), "000a");
    }
}
