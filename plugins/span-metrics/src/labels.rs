//! Label names and values: Prometheus sanitization as Tempo applies it, the
//! truncation limits of Tempo's label builder, and a compact series key.
//!
//! The series key is the sequence of label *values* in a fixed per-metric
//! order, each followed by `0xFF`. No valid UTF-8 string contains `0xFF`, so
//! the encoding is unambiguous, and one reusable byte buffer serves every span:
//! a lookup of an existing series allocates nothing.

use crate::model::{AttrRef, SpanKind, SpanSource, StatusCode};

/// Separator after each value in a series key; never part of valid UTF-8.
const SEP: u8 = 0xFF;

/// Starts a value written as a one-byte code ([`KeyBuilder::push_code`]); never part of valid
/// UTF-8 either, so a coded value cannot be confused with a written one.
const CODE: u8 = 0xFE;

/// The label values written as codes (index = code): the span kinds and status codes, the
/// longest and most repeated values of a span-metrics key. A shorter key is cheaper to build,
/// hash and compare on every span (in wasm, `memcmp` goes byte by byte).
const CODED_VALUES: [&str; 9] = [
    SpanKind::Unspecified.as_str(),
    SpanKind::Internal.as_str(),
    SpanKind::Server.as_str(),
    SpanKind::Client.as_str(),
    SpanKind::Producer.as_str(),
    SpanKind::Consumer.as_str(),
    StatusCode::Unset.as_str(),
    StatusCode::Ok.as_str(),
    StatusCode::Error.as_str(),
];

/// The code of a span kind's label value.
pub fn span_kind_code(kind: SpanKind) -> u8 {
    match kind {
        SpanKind::Unspecified => 0,
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// The code of a status code's label value.
pub fn status_code_code(status: StatusCode) -> u8 {
    match status {
        StatusCode::Unset => 6,
        StatusCode::Ok => 7,
        StatusCode::Error => 8,
    }
}

/// `strutil.SanitizeLabelName` from Prometheus, which Tempo calls through
/// `validation.SanitizeLabelName` (`modules/generator/validation/sanitize.go`):
/// every character outside `[a-zA-Z0-9_]` becomes `_` (one `_` per character,
/// not per byte). Beyond Tempo, a leading digit also becomes `_` and an empty
/// name becomes `_` (Prometheus' `SanitizeFullLabelName`), because the
/// exposition formats reject such names and Tempo's remote-write path does not
/// need them to be valid.
pub fn sanitize_label_name(name: &str) -> String {
    if name.is_empty() {
        return "_".to_owned();
    }
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if c.is_ascii_alphabetic() || c == '_' || (c.is_ascii_digit() && i > 0) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `validation.SanitizeLabelNameWithCollisions`: a sanitized name equal to
/// one of `reserved` (the intrinsic dimensions) gets a `__` prefix, so a
/// `service` attribute cannot overwrite the `service` label.
pub fn sanitize_with_collisions(name: &str, reserved: &[&str]) -> String {
    let s = sanitize_label_name(name);
    if reserved.contains(&s.as_str()) {
        format!("__{s}")
    } else {
        s
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Truncate to at most `max` bytes without splitting a character (Tempo's
/// builder cuts at the byte, which can leave invalid UTF-8 that it then
/// rejects; cutting at a boundary keeps the series).
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Given label names in key order (after truncation and sanitization), drop
/// earlier duplicates so each name appears once: Tempo's builder keeps the
/// last value added for a name. Returns the kept indexes.
pub fn dedup_last_wins(names: &[String]) -> Vec<usize> {
    (0..names.len())
        .filter(|&i| !names[i + 1..].contains(&names[i]))
        .collect()
}

/// `key` in the resource attributes, then in the span attributes (Tempo's
/// `FindAttributeValue(key, rs.Attributes, span.Attributes)`).
pub fn lookup<'a, S: SpanSource>(span: &'a S, key: &str) -> Option<AttrRef<'a>> {
    span.resource_attribute(key)
        .or_else(|| span.span_attribute(key))
}

/// Builds a series key in a reusable buffer.
#[derive(Default)]
pub struct KeyBuilder {
    buf: Vec<u8>,
    scratch: String,
    max_value_len: usize,
}

impl KeyBuilder {
    pub fn new(max_value_len: usize) -> Self {
        Self {
            buf: Vec::with_capacity(256),
            scratch: String::new(),
            max_value_len,
        }
    }

    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Append one label value.
    pub fn push(&mut self, v: &str) {
        self.buf
            .extend_from_slice(truncate(v, self.max_value_len).as_bytes());
        self.buf.push(SEP);
    }

    /// Append the value of `code` (see [`span_kind_code`], [`status_code_code`]): the same
    /// label value as `push(CODED_VALUES[code])`, in three bytes.
    pub fn push_code(&mut self, code: u8) {
        let value = CODED_VALUES[usize::from(code)];
        if value.len() > self.max_value_len {
            // Truncated: written out, so that decoding needs no limit.
            self.push(value);
            return;
        }
        self.buf.extend_from_slice(&[CODE, code, SEP]);
    }

    /// Append an attribute's value as Tempo stringifies it (`""` if absent).
    pub fn push_attr(&mut self, v: Option<AttrRef<'_>>) {
        match v {
            None => self.push(""),
            Some(AttrRef::Str(s)) => self.push(s),
            Some(other) => {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                other.stringify_into(&mut scratch);
                self.push(&scratch);
                self.scratch = scratch;
            }
        }
    }

    /// Look `key` up in the resource attributes, then the span attributes —
    /// the order of Tempo's `FindAttributeValue(key, rs.Attributes, span.Attributes)`.
    pub fn push_lookup<S: SpanSource>(&mut self, key: &str, span: &S) {
        self.push_attr(lookup(span, key));
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
}

/// Split a key back into its values (used only when a series is created).
pub fn decode_key(key: &[u8]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in key.iter().enumerate() {
        if *b == SEP {
            let segment = &key[start..i];
            out.push(match segment {
                [CODE, code] => CODED_VALUES.get(usize::from(*code)).copied().unwrap_or(""),
                // Each other segment was copied from a `&str`, so it is valid UTF-8.
                _ => std::str::from_utf8(segment).unwrap_or(""),
            });
            start = i + 1;
        }
    }
    out
}

/// The label set of a new series: names paired with decoded values, labels
/// with an empty value left out (Prometheus treats `x=""` as no label, and
/// Tempo's builder deletes them), sorted by name.
pub fn label_pairs(names: &[String], key: &[u8]) -> Vec<(String, String)> {
    let values = decode_key(key);
    let mut out: Vec<(String, String)> = names
        .iter()
        .zip(values)
        .filter(|(_, v)| !v.is_empty())
        .map(|(n, v)| (n.clone(), v.to_owned()))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attribute, Span};

    #[test]
    fn coded_values_decode_to_their_label_values() {
        let mut k = KeyBuilder::new(100);
        k.push("svc");
        k.push_code(span_kind_code(SpanKind::Server));
        k.push_code(status_code_code(StatusCode::Error));
        k.push("");
        assert_eq!(k.as_bytes().len(), 4 + 3 + 3 + 1, "codes take three bytes");
        assert_eq!(
            decode_key(k.as_bytes()),
            vec!["svc", "SPAN_KIND_SERVER", "STATUS_CODE_ERROR", ""]
        );
        // Under a value limit shorter than the value, it is written out truncated.
        let mut short = KeyBuilder::new(9);
        short.push_code(status_code_code(StatusCode::Unset));
        assert_eq!(decode_key(short.as_bytes()), vec!["STATUS_CO"]);
    }

    #[test]
    fn sanitizes_like_prometheus() {
        assert_eq!(sanitize_label_name("http.method"), "http_method");
        assert_eq!(sanitize_label_name("k8s.pod-name"), "k8s_pod_name");
        assert_eq!(sanitize_label_name("héllo"), "h_llo", "one _ per character");
        assert_eq!(sanitize_label_name("1st"), "_st");
        assert_eq!(sanitize_label_name(""), "_");
        assert_eq!(sanitize_label_name("ok_Name9"), "ok_Name9");
    }

    #[test]
    fn collisions_with_intrinsics_get_prefixed() {
        let reserved = ["service", "span_name"];
        assert_eq!(sanitize_with_collisions("service", &reserved), "__service");
        assert_eq!(
            sanitize_with_collisions("span.name", &reserved),
            "__span_name"
        );
        assert_eq!(sanitize_with_collisions("region", &reserved), "region");
    }

    #[test]
    fn truncates_on_char_boundary() {
        assert_eq!(truncate("abcdef", 3), "abc");
        assert_eq!(truncate("aé", 2), "a", "é is two bytes");
        assert_eq!(truncate("ab", 10), "ab");
    }

    #[test]
    fn key_round_trips_and_drops_empty_labels() {
        let mut k = KeyBuilder::new(4);
        k.push("svc");
        k.push("");
        k.push_attr(Some(AttrRef::Int(12345)));
        k.push("toolong");
        let names: Vec<String> = ["service", "empty", "code", "x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(decode_key(k.as_bytes()), vec!["svc", "", "1234", "tool"]);
        assert_eq!(
            label_pairs(&names, k.as_bytes()),
            vec![
                ("code".to_owned(), "1234".to_owned()),
                ("service".to_owned(), "svc".to_owned()),
                ("x".to_owned(), "tool".to_owned()),
            ]
        );
    }

    #[test]
    fn distinct_values_give_distinct_keys() {
        let mut a = KeyBuilder::new(100);
        a.push("a");
        a.push("bc");
        let mut b = KeyBuilder::new(100);
        b.push("ab");
        b.push("c");
        assert_ne!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn dedup_keeps_last() {
        let names: Vec<String> = ["a", "b", "a"].iter().map(|s| s.to_string()).collect();
        assert_eq!(dedup_last_wins(&names), vec![1, 2]);
    }

    #[test]
    fn resource_attributes_win_over_span_attributes() {
        let span = Span {
            resource: vec![Attribute::new("env", "prod")],
            attributes: vec![Attribute::new("env", "dev"), Attribute::new("region", "eu")],
            ..Span::default()
        };
        let mut k = KeyBuilder::new(100);
        k.push_lookup("env", &span);
        k.push_lookup("region", &span);
        k.push_lookup("missing", &span);
        assert_eq!(decode_key(k.as_bytes()), vec!["prod", "eu", ""]);
    }
}
