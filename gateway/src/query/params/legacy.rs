//! A legacy tag search (`tags=`, `minDuration`, `maxDuration`, or bare `?k=v`
//! parameters) rewritten as one TraceQL spanset filter, the way Grafana migrates its
//! old search form: every tag is an equality condition, and the durations bound the
//! trace's duration, both ends inclusive.
//!
//! Tempo's block search gave some tag keys a fixed column; the same keys map to the
//! matching TraceQL intrinsic or scope here: `name`, `root.name`, `root.service.name`,
//! `service.name` (resource), `status.code` and a numeric `http.status_code`. Any other
//! key is an unscoped attribute (`.key`), compared as a string. (Tempo matched those
//! columns by substring; TraceQL `=` is exact, which is what vulture and Grafana expect.)

use std::collections::BTreeMap;
use std::fmt::Write as _;

pub(crate) fn tags_to_traceql(
    tags: &BTreeMap<String, String>,
    min_duration_ms: u32,
    max_duration_ms: u32,
) -> String {
    let mut conditions: Vec<String> = tags
        .iter()
        .map(|(key, value)| condition(key, value))
        .collect();
    if min_duration_ms > 0 {
        conditions.push(format!("traceDuration >= {min_duration_ms}ms"));
    }
    if max_duration_ms > 0 {
        conditions.push(format!("traceDuration <= {max_duration_ms}ms"));
    }
    if conditions.is_empty() {
        return "{}".to_owned();
    }
    format!("{{ {} }}", conditions.join(" && "))
}

fn condition(key: &str, value: &str) -> String {
    match key {
        "name" => format!("name = {}", string_literal(value)),
        "root.name" => format!("rootName = {}", string_literal(value)),
        "root.service.name" => format!("rootServiceName = {}", string_literal(value)),
        "service.name" => format!("resource.service.name = {}", string_literal(value)),
        "status.code" => format!("status = {}", status_keyword(value)),
        "http.status_code" if value.parse::<i64>().is_ok() => {
            format!(".http.status_code = {value}")
        }
        _ => format!(".{} = {}", attribute_name(key), string_literal(value)),
    }
}

/// Tempo's `StatusCodeMapping`; an unknown text maps to 0, i.e. unset, as in Go.
fn status_keyword(value: &str) -> &'static str {
    match value {
        "error" | "STATUS_CODE_ERROR" => "error",
        "ok" | "STATUS_CODE_OK" => "ok",
        _ => "unset",
    }
}

/// Characters that end an attribute name in TraceQL's lexer; a name holding any of
/// them (or nothing) is written quoted.
fn needs_quotes(name: &str) -> bool {
    name.is_empty()
        || name
            .chars()
            .any(|character| character.is_whitespace() || "{}()=~!<>&|^,\"'\\".contains(character))
}

fn attribute_name(name: &str) -> String {
    if needs_quotes(name) {
        string_literal(name)
    } else {
        name.to_owned()
    }
}

/// A double-quoted TraceQL string with Go escapes.
pub(super) fn string_literal(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('"');
    for character in text.chars() {
        match character {
            '"' => literal.push_str("\\\""),
            '\\' => literal.push_str("\\\\"),
            '\n' => literal.push_str("\\n"),
            '\r' => literal.push_str("\\r"),
            '\t' => literal.push_str("\\t"),
            character if character.is_control() => {
                let _ = write!(literal, "\\u{:04x}", u32::from(character));
            }
            character => literal.push(character),
        }
    }
    literal.push('"');
    literal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tags_become_one_spanset_filter() {
        assert_eq!(tags_to_traceql(&tags(&[]), 0, 0), "{}");
        assert_eq!(
            tags_to_traceql(&tags(&[("service.name", "oracle-grpc-svc")]), 0, 0),
            r#"{ resource.service.name = "oracle-grpc-svc" }"#
        );
        assert_eq!(
            tags_to_traceql(&tags(&[("http.request.method", "GET")]), 1, 10_000),
            r#"{ .http.request.method = "GET" && traceDuration >= 1ms && traceDuration <= 10000ms }"#
        );
        assert_eq!(
            tags_to_traceql(
                &tags(&[
                    ("name", "GET /"),
                    ("status.code", "error"),
                    ("http.status_code", "500"),
                    ("root.service.name", "api"),
                    ("a b", "say \"hi\"\n"),
                ]),
                0,
                0
            ),
            r#"{ ."a b" = "say \"hi\"\n" && .http.status_code = 500 && name = "GET /" && rootServiceName = "api" && status = error }"#
        );
        assert_eq!(
            tags_to_traceql(&tags(&[("http.status_code", "abc")]), 0, 0),
            r#"{ .http.status_code = "abc" }"#
        );
    }
}
