//! The traces and search responses recorded from a real Tempo (the repository's
//! `tests/fixtures/tempo-responses/`):
//! evaluating the same queries over the same traces must give the same response fields.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use serde_json::{Value as Json, json};
use spangate_traceql::{SearchOptions, TraceResult, parse};

fn fixture(name: &str) -> Json {
    // The run-time value first: a test binary reused from another checkout sharing the
    // target directory must read this checkout's fixtures.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let path = format!("{manifest_dir}/../../tests/fixtures/tempo-responses/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64 digit") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn text<'a>(j: &'a Json, key: &str) -> &'a str {
    j.get(key).and_then(Json::as_str).unwrap_or("")
}

fn number(j: &Json, key: &str) -> u64 {
    text(j, key).parse().unwrap_or(0)
}

fn any_value(j: &Json) -> AnyValue {
    let value = if let Some(s) = j.get("stringValue") {
        any_value::Value::StringValue(s.as_str().unwrap_or("").to_string())
    } else if let Some(n) = j.get("intValue") {
        any_value::Value::IntValue(n.as_str().and_then(|s| s.parse().ok()).unwrap_or(0))
    } else if let Some(x) = j.get("doubleValue") {
        any_value::Value::DoubleValue(x.as_f64().unwrap_or(0.0))
    } else if let Some(b) = j.get("boolValue") {
        any_value::Value::BoolValue(b.as_bool().unwrap_or(false))
    } else if let Some(a) = j.get("arrayValue") {
        any_value::Value::ArrayValue(ArrayValue {
            values: a["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(any_value)
                .collect(),
        })
    } else {
        panic!("unsupported value {j}")
    };
    AnyValue { value: Some(value) }
}

fn attributes(j: &Json) -> Vec<KeyValue> {
    j.get("attributes")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|kv| KeyValue {
            key: text(kv, "key").to_string(),
            value: Some(any_value(&kv["value"])),
            ..Default::default()
        })
        .collect()
}

/// Tempo's trace JSON (proto field names, base64 ids, enum names) as OTLP.
fn load_trace(name: &str) -> Vec<ResourceSpans> {
    let doc = fixture(name);
    doc["trace"]["resourceSpans"]
        .as_array()
        .expect("resourceSpans")
        .iter()
        .map(|rs| ResourceSpans {
            resource: Some(Resource {
                attributes: attributes(&rs["resource"]),
                ..Default::default()
            }),
            scope_spans: rs["scopeSpans"]
                .as_array()
                .expect("scopeSpans")
                .iter()
                .map(|ss| ScopeSpans {
                    scope: ss.get("scope").map(|s| InstrumentationScope {
                        name: text(s, "name").to_string(),
                        version: text(s, "version").to_string(),
                        ..Default::default()
                    }),
                    spans: ss["spans"]
                        .as_array()
                        .expect("spans")
                        .iter()
                        .map(load_span)
                        .collect(),
                    schema_url: String::new(),
                })
                .collect(),
            schema_url: String::new(),
        })
        .collect()
}

fn load_span(s: &Json) -> Span {
    let kind = match text(s, "kind") {
        "SPAN_KIND_INTERNAL" => 1,
        "SPAN_KIND_SERVER" => 2,
        "SPAN_KIND_CLIENT" => 3,
        "SPAN_KIND_PRODUCER" => 4,
        "SPAN_KIND_CONSUMER" => 5,
        _ => 0,
    };
    let status = s.get("status").map(|st| Status {
        code: match text(st, "code") {
            "STATUS_CODE_OK" => 1,
            "STATUS_CODE_ERROR" => 2,
            _ => 0,
        },
        message: text(st, "message").to_string(),
    });
    Span {
        trace_id: base64(text(s, "traceId")),
        span_id: base64(text(s, "spanId")),
        parent_span_id: base64(text(s, "parentSpanId")),
        name: text(s, "name").to_string(),
        kind,
        start_time_unix_nano: number(s, "startTimeUnixNano"),
        end_time_unix_nano: number(s, "endTimeUnixNano"),
        attributes: attributes(s),
        events: s
            .get("events")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .map(|e| span::Event {
                time_unix_nano: number(e, "timeUnixNano"),
                name: text(e, "name").to_string(),
                attributes: attributes(e),
                ..Default::default()
            })
            .collect(),
        links: s
            .get("links")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .map(|l| span::Link {
                trace_id: base64(text(l, "traceId")),
                span_id: base64(text(l, "spanId")),
                attributes: attributes(l),
                ..Default::default()
            })
            .collect(),
        status,
        ..Default::default()
    }
}

fn any_json(v: &AnyValue) -> Json {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => json!({ "stringValue": s }),
        Some(any_value::Value::IntValue(n)) => json!({ "intValue": n.to_string() }),
        Some(any_value::Value::DoubleValue(x)) => json!({ "doubleValue": x }),
        Some(any_value::Value::BoolValue(b)) => json!({ "boolValue": b }),
        other => panic!("unexpected {other:?}"),
    }
}

/// Attribute lists as key → value maps (Tempo's order comes from Go map iteration).
fn attr_map(list: Option<&Json>) -> BTreeMap<String, Json> {
    list.and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|kv| (text(kv, "key").to_string(), kv["value"].clone()))
        .collect()
}

/// The fields of `TraceSearchMetadata` we produce, in Tempo's JSON shape.
fn as_tempo_json(r: &TraceResult<'_>) -> Json {
    let s = &r.summary;
    let stats: serde_json::Map<String, Json> = s
        .service_stats
        .iter()
        .map(|(name, st)| {
            let mut o = serde_json::Map::new();
            o.insert("spanCount".into(), json!(st.span_count));
            if st.error_count > 0 {
                o.insert("errorCount".into(), json!(st.error_count));
            }
            (name.clone(), Json::Object(o))
        })
        .collect();
    let spansets: Vec<Json> = r
        .spansets
        .iter()
        .map(|set| {
            let spans: Vec<Json> = set
                .spans
                .iter()
                .map(|sp| {
                    let attrs: BTreeMap<String, Json> = sp
                        .attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), any_json(&v.to_any_value())))
                        .collect();
                    json!({
                        "spanID": sp.span_id_hex(),
                        "name": sp.name,
                        "startTimeUnixNano": sp.start_time_unix_nano().to_string(),
                        "durationNanos": sp.duration_nanos().to_string(),
                        "attributes": attrs,
                    })
                })
                .collect();
            let attrs: BTreeMap<String, Json> = set
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), any_json(&v.to_any_value())))
                .collect();
            json!({ "matched": set.matched, "spans": spans, "attributes": attrs })
        })
        .collect();
    json!({
        "traceID": s.trace_id_hex(),
        "rootServiceName": s.root_service_name,
        "rootTraceName": s.root_span_name,
        "startTimeUnixNano": s.start_time_unix_nano.to_string(),
        "durationMs": s.duration_ms(),
        "serviceStats": stats,
        "spanSets": spansets,
    })
}

/// A recorded trace entry normalised like `as_tempo_json` (defaults filled in).
fn normalise_recorded(t: &Json) -> Json {
    let spansets: Vec<Json> = t["spanSets"]
        .as_array()
        .expect("spanSets")
        .iter()
        .map(|set| {
            let spans: Vec<Json> = set["spans"]
                .as_array()
                .expect("spans")
                .iter()
                .map(|sp| {
                    json!({
                        "spanID": sp["spanID"],
                        "name": sp.get("name"),
                        "startTimeUnixNano": sp["startTimeUnixNano"],
                        "durationNanos": sp["durationNanos"],
                        "attributes": attr_map(sp.get("attributes")),
                    })
                })
                .collect();
            json!({
                "matched": set["matched"],
                "spans": spans,
                "attributes": attr_map(set.get("attributes")),
            })
        })
        .collect();
    json!({
        "traceID": t["traceID"],
        "rootServiceName": t["rootServiceName"],
        "rootTraceName": t["rootTraceName"],
        "startTimeUnixNano": t["startTimeUnixNano"],
        "durationMs": t.get("durationMs").cloned().unwrap_or(json!(0)),
        "serviceStats": t["serviceStats"],
        "spanSets": spansets,
    })
}

fn check(query: &str, spss: u32, recorded: &str) {
    let traces = [
        load_trace("trace_v2_grpc_checkout.json"),
        load_trace("trace_v2_grpc_consumer_link.json"),
        load_trace("trace_v2_http_login.json"),
    ];
    let q = parse(query).unwrap();
    let options = SearchOptions {
        spans_per_spanset: spss,
    };
    let mut ours: Vec<Json> = traces
        .iter()
        .filter_map(|t| q.evaluate_with(t, &options))
        .map(|r| as_tempo_json(&r))
        .collect();
    let mut theirs: Vec<Json> = fixture(recorded)["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(normalise_recorded)
        .collect();
    let by_id = |j: &Json| j["traceID"].as_str().unwrap_or("").to_string();
    assert!(!theirs.is_empty(), "{recorded}");
    ours.sort_by_key(by_id);
    theirs.sort_by_key(by_id);
    assert_eq!(ours, theirs, "{query}");
}

#[test]
fn service_filter() {
    check(
        r#"{ resource.service.name = "oracle-grpc-svc" }"#,
        0,
        "search_traceql_service.json",
    );
}

#[test]
fn status_error() {
    check("{ status = error }", 0, "search_traceql_error.json");
}

#[test]
fn attribute_and_kind() {
    check(
        "{ span.http.response.status_code >= 400 && kind = server }",
        0,
        "search_traceql_and_kind.json",
    );
}

#[test]
fn regex_with_select_and_spss() {
    check(
        r#"{ resource.service.name =~ "oracle-.*" } | select(span.http.request.method, duration)"#,
        5,
        "search_traceql_select.json",
    );
}

#[test]
fn count_filter() {
    check(
        r#"{ resource.service.name = "oracle-grpc-svc" } | count() > 2"#,
        0,
        "search_traceql_count.json",
    );
}
