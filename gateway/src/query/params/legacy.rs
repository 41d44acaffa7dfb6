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

use spangate_traceql::Literal;
use spangate_traceql::ast::{Attribute, AttributeScope};

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
    if key == "http.status_code"
        && let Ok(code) = value.parse::<i64>()
    {
        // The number as parsed: `+3` is 3 (TraceQL has no unary plus), `007` is 7.
        return format!(".http.status_code = {code}");
    }
    match key {
        "name" => format!("name = {}", string_literal(value)),
        "root.name" => format!("rootName = {}", string_literal(value)),
        "root.service.name" => format!("rootServiceName = {}", string_literal(value)),
        "service.name" => format!("resource.service.name = {}", string_literal(value)),
        "status.code" => format!("status = {}", status_keyword(value)),
        _ => format!("{} = {}", attribute(key), string_literal(value)),
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

/// A double-quoted TraceQL string, as the TraceQL printer writes it (Go escapes).
fn string_literal(text: &str) -> String {
    Literal::Str(text.to_owned()).to_string()
}

/// `.name`, quoted as the TraceQL printer does when the lexer would not read the name
/// back verbatim (whitespace, operators, a leading digit; only `\"` and `\\` escaped).
fn attribute(name: &str) -> String {
    Attribute {
        scope: AttributeScope::Unscoped,
        name: name.to_owned(),
    }
    .to_string()
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

    /// Found by fuzzing (`query_params`): `?http.status_code=+3` was written as
    /// `.http.status_code = +3`, which TraceQL does not parse.
    #[test]
    fn a_status_code_is_written_as_the_number_it_parses_to() {
        for (value, expected) in [("+3", "3"), ("007", "7"), ("-1", "-1")] {
            let traceql = tags_to_traceql(&tags(&[("http.status_code", value)]), 0, 0);
            assert_eq!(traceql, format!("{{ .http.status_code = {expected} }}"));
            spangate_traceql::parse(&traceql).unwrap_or_else(|error| panic!("{traceql}: {error}"));
        }
    }

    /// Found by fuzzing (`query_params`): a tag key (bare `?k=v` or in `tags=`) with a
    /// newline or tab was quoted with Go escapes (`."a\nb"`), which TraceQL's quoted
    /// attribute names do not read ("invalid escape sequence"), and one starting with a
    /// digit was left bare (`.5xx`, read as the number `.5`): the search failed with a
    /// parse error.
    #[test]
    fn every_tag_key_becomes_an_attribute_that_parses_back() {
        for key in [
            "a\nb",
            "tab\there",
            "5xx",
            "quote\"d",
            "back\\slash",
            "nul\0",
            "é ü",
        ] {
            let traceql = tags_to_traceql(&tags(&[(key, "v")]), 0, 0);
            let query = spangate_traceql::parse(&traceql)
                .unwrap_or_else(|error| panic!("{key:?} became {traceql}: {error}"));
            let reprinted = query.to_string();
            assert!(reprinted.contains(&attribute(key)), "{key:?}: {reprinted}");
        }
    }
}
