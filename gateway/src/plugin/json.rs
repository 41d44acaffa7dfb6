//! JSON text of non-scalar OTLP values (arrays, maps, bytes), as a batch carries them
//! in attribute rows of kind `json`: written straight into the batch's string arena.

use std::io::Write;

use base64::Engine;
use opentelemetry_proto::tonic::common::v1::any_value;

/// JSON text of an OTLP value: arrays as arrays, kvlists as objects (later duplicate
/// keys win when parsed), bytes as a base64 string, a missing value as `null`,
/// non-finite doubles as the strings "NaN" / "Infinity" / "-Infinity" (as proto3 JSON).
pub(super) fn write_json(out: &mut Vec<u8>, value: Option<&any_value::Value>) {
    match value {
        None => out.extend_from_slice(b"null"),
        Some(any_value::Value::StringValue(text)) => write_json_string(out, text),
        Some(any_value::Value::BoolValue(boolean)) => {
            out.extend_from_slice(if *boolean { b"true" } else { b"false" })
        }
        Some(any_value::Value::IntValue(int)) => {
            let _ = write!(out, "{int}");
        }
        // An index into a profiles string table; traces do not use it.
        Some(any_value::Value::StringValueStrindex(index)) => {
            let _ = write!(out, "{index}");
        }
        Some(any_value::Value::DoubleValue(double)) => write_json_double(out, *double),
        Some(any_value::Value::BytesValue(bytes)) => {
            out.push(b'"');
            out.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(bytes)
                    .as_bytes(),
            );
            out.push(b'"');
        }
        Some(any_value::Value::ArrayValue(array)) => {
            out.push(b'[');
            for (position, element) in array.values.iter().enumerate() {
                if position > 0 {
                    out.push(b',');
                }
                write_json(out, element.value.as_ref());
            }
            out.push(b']');
        }
        Some(any_value::Value::KvlistValue(list)) => {
            out.push(b'{');
            for (position, entry) in list.values.iter().enumerate() {
                if position > 0 {
                    out.push(b',');
                }
                write_json_string(out, &entry.key);
                out.push(b':');
                write_json(
                    out,
                    entry.value.as_ref().and_then(|value| value.value.as_ref()),
                );
            }
            out.push(b'}');
        }
    }
}

fn write_json_double(out: &mut Vec<u8>, double: f64) {
    if double.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if double.is_infinite() {
        out.extend_from_slice(if double > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        // Debug is the shortest text that round-trips, with an exponent when long
        // ("1e300"), and always valid JSON ("1.0", "-0.0", "1e-7").
        let _ = write!(out, "{double:?}");
    }
}

fn write_json_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let mut plain_from = 0;
    for (position, byte) in text.bytes().enumerate() {
        let escape: Option<&[u8]> = match byte {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&text.as_bytes()[plain_from..position]);
        match escape {
            Some(escaped) => out.extend_from_slice(escaped),
            None => {
                let _ = write!(out, "\\u{byte:04x}");
            }
        }
        plain_from = position + 1;
    }
    out.extend_from_slice(&text.as_bytes()[plain_from..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text() {
        let mut out = Vec::new();
        write_json_string(&mut out, "a\"b\\c\n\u{1}é");
        assert_eq!(String::from_utf8(out).unwrap(), r#""a\"b\\c\n\u0001é""#);
        for (double, text) in [
            (1.0, "1.0"),
            (1e300, "1e300"),
            (f64::NAN, "\"NaN\""),
            (f64::NEG_INFINITY, "\"-Infinity\""),
        ] {
            let mut out = Vec::new();
            write_json_double(&mut out, double);
            assert_eq!(String::from_utf8(out).unwrap(), text);
        }
        let mut out = Vec::new();
        write_json(&mut out, None);
        assert_eq!(out, b"null");
    }
}
