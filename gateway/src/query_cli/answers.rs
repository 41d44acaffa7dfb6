//! Tempo's JSON answers read into plain rows for [`super::render`]. Lenient on purpose:
//! it reads what Spangate and Grafana Tempo (current and older) write: ids in base64
//! (jsonpb) or hex, 64-bit numbers as strings or numbers, enums as names or numbers,
//! `resourceSpans`/`batches` and `scopeSpans`/`instrumentationLibrarySpans`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

/// One span of a trace.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct SpanRow {
    pub(super) span_id: String,
    /// Empty for a root span.
    pub(super) parent_id: String,
    pub(super) service: String,
    pub(super) name: String,
    pub(super) start_nanos: u64,
    pub(super) end_nanos: u64,
    /// `Some` for a span with error status: its message, maybe empty.
    pub(super) error: Option<String>,
}

/// One trace of a search answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct TraceRow {
    pub(super) trace_id: String,
    pub(super) root_service: String,
    pub(super) root_name: String,
    pub(super) start_nanos: u64,
    pub(super) duration_ms: u64,
    pub(super) matched: u64,
}

/// One series of a metrics answer: its labels and `(unix millis, value)` samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct SeriesRow {
    pub(super) labels: Vec<(String, String)>,
    pub(super) samples: Vec<(i64, f64)>,
}

/// The spans of a trace-by-id answer (v2 `{"trace": {...}}` or v1 `{"batches": [...]}`).
pub(super) fn trace_spans(answer: &Value) -> Vec<SpanRow> {
    let trace = answer.get("trace").unwrap_or(answer);
    let mut spans = Vec::new();
    for resource_spans in list(trace, &["resourceSpans", "batches"]) {
        let service = resource_spans
            .get("resource")
            .map(|resource| attribute(resource, "service.name"))
            .unwrap_or_default();
        for scope_spans in list(
            resource_spans,
            &["scopeSpans", "instrumentationLibrarySpans"],
        ) {
            for span in list(scope_spans, &["spans"]) {
                spans.push(span_row(span, &service));
            }
        }
    }
    spans
}

fn span_row(span: &Value, service: &str) -> SpanRow {
    let status = span.get("status");
    let code = status.and_then(|status| status.get("code"));
    let is_error = match code {
        Some(Value::String(name)) => name == "STATUS_CODE_ERROR",
        Some(Value::Number(number)) => number.as_u64() == Some(2),
        _ => false,
    };
    SpanRow {
        span_id: id(span.get("spanId")),
        parent_id: id(span.get("parentSpanId")),
        service: service.to_owned(),
        name: text(span.get("name")),
        start_nanos: number(span.get("startTimeUnixNano")),
        end_nanos: number(span.get("endTimeUnixNano")),
        error: is_error.then(|| text(status.and_then(|status| status.get("message")))),
    }
}

/// The message a v2 answer carries beside a partial trace, with its status.
pub(super) fn trace_note(answer: &Value) -> Option<String> {
    let message = text(answer.get("message"));
    (!message.is_empty()).then(|| match answer.get("status") {
        Some(Value::String(status)) => format!("{status}: {message}"),
        _ => message,
    })
}

/// The traces of a search answer.
pub(super) fn search_traces(answer: &Value) -> Vec<TraceRow> {
    list(answer, &["traces"])
        .map(|trace| {
            let mut matched: u64 = list(trace, &["spanSets"])
                .map(|set| number(set.get("matched")))
                .sum();
            if matched == 0 {
                matched = trace
                    .get("spanSet")
                    .map(|set| number(set.get("matched")))
                    .unwrap_or(0);
            }
            TraceRow {
                trace_id: text(trace.get("traceID")),
                root_service: text(trace.get("rootServiceName")),
                root_name: text(trace.get("rootTraceName")),
                start_nanos: number(trace.get("startTimeUnixNano")),
                duration_ms: number(trace.get("durationMs")),
                matched,
            }
        })
        .collect()
}

/// `(scope, tag)` of a v2 tag-names answer, in the answer's order.
pub(super) fn tag_names(answer: &Value) -> Vec<(String, String)> {
    list(answer, &["scopes"])
        .flat_map(|scope| {
            let name = text(scope.get("name"));
            list(scope, &["tags"]).map(move |tag| (name.clone(), text(Some(tag))))
        })
        .collect()
}

/// `(type, value)` of a v2 tag-values answer.
pub(super) fn tag_values(answer: &Value) -> Vec<(String, String)> {
    list(answer, &["tagValues"])
        .map(|value| (text(value.get("type")), text(value.get("value"))))
        .collect()
}

/// The series of a metrics answer: range (`samples`) or instant (`value`, one sample at
/// time 0).
pub(super) fn metric_series(answer: &Value) -> Vec<SeriesRow> {
    list(answer, &["series"])
        .map(|series| {
            let labels = list(series, &["labels"])
                .map(|label| {
                    let value = label.get("value").map(any_value).unwrap_or_default();
                    (text(label.get("key")), value)
                })
                .collect();
            let mut samples: Vec<(i64, f64)> = list(series, &["samples"])
                .map(|sample| {
                    let millis = number(sample.get("timestampMs"));
                    (
                        i64::try_from(millis).unwrap_or(i64::MAX),
                        float(sample.get("value")),
                    )
                })
                .collect();
            if let Some(value) = series.get("value") {
                samples.push((0, float(Some(value))));
            }
            SeriesRow { labels, samples }
        })
        .collect()
}

/// The first of `keys` that holds an array, as an iterator (empty when none does).
fn list<'a>(value: &'a Value, keys: &[&str]) -> impl Iterator<Item = &'a Value> {
    keys.iter()
        .find_map(|key| value.get(*key).and_then(Value::as_array))
        .map(|items| items.iter())
        .unwrap_or_default()
}

/// A string, or a number or bool written as text; absent is empty.
fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A non-negative integer written as a JSON number or string (jsonpb's 64-bit form).
fn number(value: Option<&Value>) -> u64 {
    match value {
        Some(Value::Number(number)) => number
            .as_u64()
            .or_else(|| number.as_f64().map(|float| float.max(0.0) as u64))
            .unwrap_or(0),
        Some(Value::String(text)) => text.parse().unwrap_or(0),
        _ => 0,
    }
}

/// A double: a JSON number, or jsonpb's `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn float(value: Option<&Value>) -> f64 {
    match value {
        Some(Value::Number(number)) => number.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(text)) => match text.as_str() {
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            other => other.parse().unwrap_or(f64::NAN),
        },
        _ => 0.0,
    }
}

/// A span id in hex: jsonpb writes bytes as base64, OTLP/JSON as hex.
fn id(value: Option<&Value>) -> String {
    let text = text(value);
    let is_hex = text.len() == 16 && text.bytes().all(|byte| byte.is_ascii_hexdigit());
    if is_hex {
        return text.to_ascii_lowercase();
    }
    match BASE64.decode(&text) {
        Ok(bytes) if !bytes.is_empty() => hex::encode(bytes),
        _ => text,
    }
}

/// The value of `key` among `holder`'s OTLP attributes, as text.
fn attribute(holder: &Value, key: &str) -> String {
    list(holder, &["attributes"])
        .find(|attribute| attribute.get("key").and_then(Value::as_str) == Some(key))
        .and_then(|attribute| attribute.get("value"))
        .map(any_value)
        .unwrap_or_default()
}

/// An OTLP `AnyValue` as text (`{"stringValue": "x"}` is `x`).
fn any_value(value: &Value) -> String {
    let Some(object) = value.as_object() else {
        return text(Some(value));
    };
    match object.iter().next() {
        Some((_, Value::String(text))) => text.clone(),
        Some((_, other)) => other.to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn trace_answers_of_both_versions_are_read() {
        let span = json!({
            "spanId": "AAAAAAAAAAI=",
            "parentSpanId": "AAAAAAAAAAE=",
            "name": "charge",
            "startTimeUnixNano": "1000",
            "endTimeUnixNano": 3000,
            "status": {"code": "STATUS_CODE_ERROR", "message": "declined"}
        });
        let v2 = json!({"trace": {"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "pay"}}]},
            "scopeSpans": [{"spans": [span]}]
        }]}});
        let expected = SpanRow {
            span_id: "0000000000000002".to_owned(),
            parent_id: "0000000000000001".to_owned(),
            service: "pay".to_owned(),
            name: "charge".to_owned(),
            start_nanos: 1000,
            end_nanos: 3000,
            error: Some("declined".to_owned()),
        };
        assert_eq!(trace_spans(&v2), std::slice::from_ref(&expected));
        let old = json!({"batches": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "pay"}}]},
            "instrumentationLibrarySpans": [{"spans": [{
                "spanId": "0000000000000002", "parentSpanId": "0000000000000001",
                "name": "charge", "startTimeUnixNano": "1000", "endTimeUnixNano": "3000",
                "status": {"code": 2, "message": "declined"}
            }]}]
        }]});
        assert_eq!(trace_spans(&old), [expected]);
        assert_eq!(trace_spans(&json!({})), []);
        assert_eq!(
            trace_note(&json!({"status": "PARTIAL", "message": "too large"})).as_deref(),
            Some("PARTIAL: too large")
        );
    }

    #[test]
    fn search_tag_and_metric_answers_are_read() {
        let search = json!({"traces": [{
            "traceID": "abc", "rootServiceName": "web", "rootTraceName": "GET /",
            "startTimeUnixNano": "1796551200000000000", "durationMs": 15,
            "spanSets": [{"matched": 2}, {"matched": 1}]
        }, {"traceID": "def", "spanSet": {"matched": 4}}]});
        let traces = search_traces(&search);
        assert_eq!(traces[0].matched, 3);
        assert_eq!(traces[0].start_nanos, 1_796_551_200_000_000_000);
        assert_eq!(traces[1].matched, 4);
        assert_eq!(traces[1].duration_ms, 0);

        let tags = json!({"scopes": [{"name": "span", "tags": ["a", "b"]}, {"name": "intrinsic", "tags": ["name"]}]});
        assert_eq!(tag_names(&tags).len(), 3);
        assert_eq!(
            tag_names(&tags)[2],
            ("intrinsic".to_owned(), "name".to_owned())
        );
        let values = json!({"tagValues": [{"type": "string", "value": "web"}, {"type": "int", "value": "3"}]});
        assert_eq!(tag_values(&values)[1], ("int".to_owned(), "3".to_owned()));

        let range = json!({"series": [{
            "labels": [{"key": "resource.service.name", "value": {"stringValue": "web"}}],
            "samples": [{"timestampMs": "1000", "value": 2}, {"timestampMs": "2000", "value": "NaN"}]
        }]});
        let series = metric_series(&range);
        assert_eq!(
            series[0].labels,
            [("resource.service.name".to_owned(), "web".to_owned())]
        );
        assert_eq!(series[0].samples[0], (1000, 2.0));
        assert!(series[0].samples[1].1.is_nan());
        let instant = json!({"series": [{"labels": [{"key": "k", "value": {"intValue": "7"}}], "value": 0.5}]});
        let series = metric_series(&instant);
        assert_eq!(series[0].labels[0].1, "7");
        assert_eq!(series[0].samples, [(0, 0.5)]);
    }
}
