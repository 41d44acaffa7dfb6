//! The messages' JSON against real Tempo answers recorded in
//! `tests/fixtures/tempo-responses/` (copies of `shared/reference/tempo-responses/`), and their protobuf field numbers.

use std::collections::BTreeMap;

use prost::Message as _;
use serde_json::{Map, Value, json};

use super::*;
use crate::model::{AnyValue, KeyValue, any_value};
use crate::query::search_api::{
    SearchQuery, TagName, TagNames, TagScope, TagValueKind, TypedTagValue,
};

fn recorded(file: &str) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/tempo-responses/"
    )
    .to_owned()
        + file;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn json_of(message: &impl serde::Serialize) -> Value {
    serde_json::to_value(message).expect("serializable")
}

fn string_value(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

fn int_value(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..KeyValue::default()
    }
}

fn span(id: &str, start: u64, duration: u64, attributes: Vec<KeyValue>) -> Span {
    Span {
        span_id: id.to_owned(),
        start_time_unix_nano: start,
        duration_nanos: duration,
        attributes,
        ..Span::default()
    }
}

#[test]
fn search_with_spanset_attributes_matches_tempo() {
    // search_traceql_count.json: `{ resource.service.name = "oracle-grpc-svc" } | count() > 2`
    let service = || vec![string_value("service.name", "oracle-grpc-svc")];
    let spanset = SpanSet {
        spans: vec![
            span("a8fb7b4e345216c8", 1795461515988100705, 5327921, service()),
            span("3a9f573478b5d3d9", 1795461516007577958, 226495, service()),
            span("9a762468cefa733f", 1795461515977687550, 31692848, service()),
        ],
        matched: 3,
        attributes: vec![int_value("count()", 3)],
    };
    let response = SearchResponse {
        traces: vec![TraceSearchMetadata {
            trace_id: "607ab1aa84091dde6e9261f4e2d5be04".to_owned(),
            root_service_name: "oracle-grpc-svc".to_owned(),
            root_trace_name: "GET /checkout".to_owned(),
            start_time_unix_nano: 1795461515977687550,
            duration_ms: 31,
            span_set: Some(spanset.clone()),
            span_sets: vec![spanset],
            service_stats: BTreeMap::from([(
                "oracle-grpc-svc".to_owned(),
                ServiceStats {
                    span_count: 3,
                    error_count: 1,
                },
            )]),
        }],
        metrics: Some(SearchMetrics {
            inspected_bytes: 16046,
            completed_jobs: 3,
            total_jobs: 3,
            ..SearchMetrics::default()
        }),
    };
    assert_eq!(json_of(&response), recorded("search_traceql_count.json"));
}

#[test]
fn tag_search_summaries_match_tempo() {
    // search_empty_query.json: no spansets, and a 0 ms trace has no `durationMs`.
    let trace =
        |id: &str, service: &str, name: &str, start: u64, duration_ms: u32| TraceSearchMetadata {
            trace_id: id.to_owned(),
            root_service_name: service.to_owned(),
            root_trace_name: name.to_owned(),
            start_time_unix_nano: start,
            duration_ms,
            ..TraceSearchMetadata::default()
        };
    let mut response = SearchResponse {
        traces: vec![
            trace(
                "4b9f66904f83c8a995b86d6e9a0aca03",
                "oracle-http-svc",
                "POST /login",
                1795461516200232070,
                31,
            ),
            trace(
                "3e58c289cc105808da06ff72bf5bd4ed",
                "oracle-grpc-svc",
                "process queue",
                1795461516010689212,
                0,
            ),
            trace(
                "607ab1aa84091dde6e9261f4e2d5be04",
                "oracle-grpc-svc",
                "GET /checkout",
                1795461515977687550,
                31,
            ),
        ],
        metrics: Some(SearchMetrics {
            inspected_traces: 3,
            inspected_bytes: 14745,
            completed_jobs: 3,
            total_jobs: 3,
            ..SearchMetrics::default()
        }),
    };
    // The answer of a tag search drops whatever spansets the engine produced.
    response.traces[0].span_sets = vec![SpanSet::default()];
    response.traces[0].span_set = Some(SpanSet::default());
    let query = SearchQuery {
        traceql: "{}".to_owned(),
        tags_search: true,
        limit: 20,
        spss: 3,
        start_unix_secs: Some(1795457950),
        end_unix_secs: Some(1795461550),
    };
    let answer = search_answer(&query, response);
    assert_eq!(json_of(&answer), recorded("search_empty_query.json"));
}

/// Every recorded search answer survives decoding into our messages and writing back as
/// Tempo's JSON unchanged; protobuf round-trips too.
#[test]
fn every_recorded_search_answer_round_trips() {
    for file in [
        "search_empty_query.json",
        "search_tags_logfmt.json",
        "search_tags_minmax.json",
        "search_traceql_and_kind.json",
        "search_traceql_count.json",
        "search_traceql_error.json",
        "search_traceql_select.json",
        "search_traceql_service.json",
    ] {
        let expected = recorded(file);
        let response = decode::search_response(&expected);
        assert_eq!(json_of(&response), expected, "{file}");
        let bytes = response.encode_to_vec();
        assert_eq!(
            SearchResponse::decode(bytes.as_slice()).expect("decodes"),
            response,
            "{file}"
        );
    }
}

/// The engine's names for the recorded data, unsorted and repeated.
fn recorded_tag_names(inspected_bytes: u64) -> TagNames {
    let owned = |names: &[&str]| names.iter().map(|name| name.to_string()).collect();
    TagNames {
        resource: owned(&[
            "telemetry.sdk.version",
            "service.name",
            "deployment.environment",
            "oracle.tag",
            "service.instance.id",
            "service.name",
            "service.version",
            "telemetry.sdk.language",
            "telemetry.sdk.name",
        ]),
        span: owned(&[
            "url.path",
            "cached",
            "db.statement",
            "db.system",
            "http.request.method",
            "http.response.status_code",
            "messaging.system",
            "oracle.tag",
            "payment.provider",
            "ratio",
            "rows",
            "tags",
        ]),
        event: owned(&[
            "exception.type",
            "attempt",
            "exception.escaped",
            "exception.message",
            "exception.stacktrace",
        ]),
        link: owned(&["link.kind"]),
        instrumentation: Vec::new(),
        inspected_bytes,
    }
}

/// Tempo lists scopes in Go map order (random); compare them sorted by name.
fn scopes_sorted(mut value: Value) -> Value {
    if let Some(scopes) = value.get_mut("scopes").and_then(Value::as_array_mut) {
        scopes.sort_by_key(|scope| scope["name"].as_str().unwrap_or_default().to_owned());
    }
    value
}

#[test]
fn tag_names_match_tempo() {
    let names = recorded_tag_names(15029);
    assert_eq!(
        scopes_sorted(json_of(&tag_names_v2(&names, None, None))),
        scopes_sorted(recorded("search_tags_v2.json"))
    );
    assert_eq!(
        json_of(&tag_names_v1(&names, None, None)),
        recorded("search_tags_v1.json")
    );
    let names = recorded_tag_names(13935);
    assert_eq!(
        json_of(&tag_names_v2(&names, Some(TagScope::Span), None)),
        recorded("search_tags_v2_scope_span.json")
    );
}

#[test]
fn tag_names_follow_scope_and_limit() {
    let names = recorded_tag_names(0);
    let v2 = tag_names_v2(&names, Some(TagScope::Intrinsic), Some(1));
    assert_eq!(v2.scopes.len(), 1);
    assert_eq!(v2.scopes[0].tags.len(), INTRINSIC_TAGS.len());
    let v2 = tag_names_v2(&names, None, Some(2));
    let resource = &v2.scopes[0];
    assert_eq!(
        (resource.name.as_str(), resource.tags.clone()),
        (
            "resource",
            vec!["deployment.environment".to_owned(), "oracle.tag".to_owned()]
        )
    );
    assert_eq!(json_of(&v2)["metrics"], json!({}));
    let v1 = tag_names_v1(&names, Some(TagScope::Intrinsic), None);
    assert_eq!(v1.tag_names, INTRINSIC_TAGS.map(str::to_owned).to_vec());
    let v1 = tag_names_v1(&names, Some(TagScope::Event), Some(1));
    assert_eq!(v1.tag_names, vec!["attempt".to_owned()]);
}

fn typed(kind: TagValueKind, value: &str) -> TypedTagValue {
    TypedTagValue {
        kind,
        value: value.to_owned(),
    }
}

/// The recorded tag-value answers, built from the engine's typed values plus the
/// `inspectedBytes` Tempo reported (our `tag_values` contract carries none).
#[test]
fn tag_values_match_tempo() {
    use TagValueKind as Kind;
    let with_bytes = |mut response: SearchTagValuesV2Response, bytes: u64| {
        response.metrics = Some(MetadataMetrics {
            inspected_bytes: bytes,
            ..MetadataMetrics::default()
        });
        response
    };
    let names = [
        "SELECT orders",
        "charge card",
        "GET /checkout",
        "process queue",
        "bcrypt verify",
        "POST /login",
    ]
    .map(|name| typed(Kind::String, name));
    assert_eq!(
        json_of(&with_bytes(tag_values_v2(&names, None), 13184)),
        recorded("search_tag_values_v2_intrinsic_name.json")
    );
    let services = [
        typed(Kind::String, "oracle-grpc-svc"),
        typed(Kind::String, "oracle-http-svc"),
        typed(Kind::String, "oracle-grpc-svc"),
    ];
    assert_eq!(
        json_of(&with_bytes(tag_values_v2(&services, None), 13417)),
        recorded("search_tag_values_v2_resource_service_name.json")
    );
    let codes = [typed(Kind::Int, "200"), typed(Kind::Int, "401")];
    assert_eq!(
        json_of(&with_bytes(tag_values_v2(&codes, None), 13280)),
        recorded("search_tag_values_v2_status_code.json")
    );
    assert_eq!(
        json_of(&with_bytes(
            tag_values_v2(&[typed(Kind::String, "GET")], None),
            12945
        )),
        recorded("search_tag_values_v2_with_q.json")
    );
    // Tempo answers status values without reading data, hence the empty metrics.
    let statuses = virtual_tag_values(&TagName::Identifier("status".to_owned())).expect("known");
    assert_eq!(
        json_of(&tag_values_v2(&statuses, None)),
        recorded("search_tag_values_v2_status.json")
    );
    let mut v1 = tag_values_v1(&services, None);
    v1.metrics = Some(MetadataMetrics {
        inspected_bytes: 13417,
        ..MetadataMetrics::default()
    });
    assert_eq!(
        json_of(&v1),
        recorded("search_tag_values_v1_service_name.json")
    );
    assert_eq!(tag_values_v2(&statuses, Some(2)).tag_values.len(), 2);
    let kinds = virtual_tag_values(&TagName::Identifier("span:kind".to_owned())).expect("known");
    assert_eq!(kinds.len(), 6);
    assert_eq!(
        virtual_tag_values(&TagName::Identifier("duration".to_owned())),
        Some(Vec::new())
    );
    assert_eq!(
        virtual_tag_values(&TagName::Identifier("name".to_owned())),
        None
    );
    let codes = virtual_tag_values(&TagName::Attribute("status.code".to_owned())).expect("known");
    assert_eq!(
        json_of(&tag_values_v1(&codes, None))["tagValues"],
        json!(["unset", "ok", "error"])
    );
    assert_eq!(
        json_of(&tag_values_v2(&[typed(Kind::String, "")], None))["tagValues"],
        json!([{"type": "string"}])
    );
}

#[test]
fn metrics_range_matches_tempo() {
    // metrics_query_range.json: `{ resource.service.name =~ "oracle-.*" } | rate()`, step 60.
    let samples = (0..60)
        .map(|index| Sample {
            timestamp_ms: 1_795_457_940_000 + index * 60_000,
            value: 0.0,
        })
        .collect();
    let response = QueryRangeResponse {
        series: vec![TimeSeries {
            labels: vec![string_value("__name__", "rate")],
            samples,
            exemplars: Vec::new(),
        }],
        metrics: Some(SearchMetrics {
            completed_jobs: 1,
            total_jobs: 1,
            ..SearchMetrics::default()
        }),
        status: PartialStatus::Complete as i32,
        message: String::new(),
    };
    assert_eq!(json_of(&response), recorded("metrics_query_range.json"));
}

#[test]
fn metrics_fields_follow_jsonpb() {
    let response = QueryRangeResponse {
        series: vec![TimeSeries {
            labels: vec![string_value("resource.service.name", "api")],
            samples: vec![
                Sample {
                    timestamp_ms: 1_700_000_000_000,
                    value: 1.5,
                },
                Sample {
                    timestamp_ms: 1_700_000_060_000,
                    value: f64::NAN,
                },
            ],
            exemplars: vec![Exemplar {
                labels: vec![string_value("trace:id", "abc")],
                value: 0.12,
                timestamp_ms: 1_700_000_000_000,
            }],
        }],
        metrics: None,
        status: PartialStatus::Partial as i32,
        message: "cut".to_owned(),
    };
    assert_eq!(
        json_of(&response),
        json!({
            "series": [{
                "labels": [{"key": "resource.service.name", "value": {"stringValue": "api"}}],
                "samples": [
                    {"timestampMs": "1700000000000", "value": 1.5},
                    {"timestampMs": "1700000060000", "value": "NaN"}
                ],
                "exemplars": [{
                    "labels": [{"key": "trace:id", "value": {"stringValue": "abc"}}],
                    "value": 0.12,
                    "timestampMs": "1700000000000"
                }]
            }],
            "status": "PARTIAL",
            "message": "cut"
        })
    );
    let instant = instant_from_range(QueryRangeResponse {
        series: vec![
            response.series[0].clone(),
            TimeSeries {
                labels: vec![string_value("x", "empty")],
                ..TimeSeries::default()
            },
        ],
        ..response
    });
    assert_eq!(
        json_of(&instant),
        json!({
            "series": [{
                "labels": [{"key": "resource.service.name", "value": {"stringValue": "api"}}],
                "value": 1.5
            }],
            "metrics": {},
            "status": "PARTIAL",
            "message": "cut"
        })
    );
}

#[test]
fn field_numbers_match_tempo_proto() {
    // Sample: value = 1 (fixed64), timestamp_ms = 2 (varint).
    let bytes = Sample {
        timestamp_ms: 5,
        value: 1.0,
    }
    .encode_to_vec();
    assert_eq!(bytes[0], (1 << 3) | 1);
    assert_eq!(&bytes[9..], &[2 << 3, 5]);
    // SearchRequest: Query = 8, SpansPerSpanSet = 9, start = 5, Tags map = 1.
    let request = SearchRequest::decode(
        &[
            (8 << 3) | 2,
            2,
            b'{',
            b'}',
            9 << 3,
            4,
            5 << 3,
            7,
            (1 << 3) | 2,
            6,
            (1 << 3) | 2,
            1,
            b'k',
            (2 << 3) | 2,
            1,
            b'v',
        ][..],
    )
    .expect("decodes");
    assert_eq!(request.query, "{}");
    assert_eq!(request.spans_per_span_set, 4);
    assert_eq!(request.start, 7);
    assert_eq!(request.tags["k"], "v");
    // SearchTagValuesRequest: start = 4, end = 5 (3 is unused).
    let bytes = SearchTagValuesRequest {
        start: 1,
        end: 2,
        ..SearchTagValuesRequest::default()
    }
    .encode_to_vec();
    assert_eq!(bytes, vec![4 << 3, 1, 5 << 3, 2]);
    // QueryRangeRequest: exemplars = 16, instant = 18 (two-byte keys).
    let bytes = QueryRangeRequest {
        exemplars: 1,
        instant: Some(false),
        ..QueryRangeRequest::default()
    }
    .encode_to_vec();
    assert_eq!(bytes, vec![0x80, 0x01, 1, 0x90, 0x01, 0]);
    // TimeSeries.exemplars = 4 and TraceSearchMetadata.serviceStats = 8.
    let bytes = TimeSeries {
        exemplars: vec![Exemplar::default()],
        ..TimeSeries::default()
    }
    .encode_to_vec();
    assert_eq!(bytes, vec![(4 << 3) | 2, 0]);
}

/// A strict reader of Tempo's search JSON for the round-trip test: every key must be
/// known, and 64-bit numbers must be strings.
mod decode {
    use super::*;

    fn object<'a>(value: &'a Value, keys: &[&str]) -> &'a Map<String, Value> {
        let map = value.as_object().expect("an object");
        for key in map.keys() {
            assert!(keys.contains(&key.as_str()), "unexpected key {key}");
        }
        map
    }

    fn text(map: &Map<String, Value>, key: &str) -> String {
        map.get(key)
            .map(|value| value.as_str().expect("a string").to_owned())
            .unwrap_or_default()
    }

    fn uint64(map: &Map<String, Value>, key: &str) -> u64 {
        map.get(key)
            .map(|value| value.as_str().expect("a string").parse().expect("a number"))
            .unwrap_or(0)
    }

    fn uint32(map: &Map<String, Value>, key: &str) -> u32 {
        map.get(key)
            .map(|value| u32::try_from(value.as_u64().expect("a number")).expect("32-bit"))
            .unwrap_or(0)
    }

    fn list<'a>(map: &'a Map<String, Value>, key: &str) -> &'a [Value] {
        map.get(key)
            .map(|value| value.as_array().expect("an array").as_slice())
            .unwrap_or_default()
    }

    fn attributes(map: &Map<String, Value>, key: &str) -> Vec<KeyValue> {
        list(map, key)
            .iter()
            .map(|attribute| {
                let attribute = object(attribute, &["key", "value"]);
                let value = object(
                    &attribute["value"],
                    &["stringValue", "intValue", "boolValue", "doubleValue"],
                );
                let value = match value.iter().next().expect("one member") {
                    (kind, value) if kind == "stringValue" => {
                        any_value::Value::StringValue(value.as_str().expect("a string").to_owned())
                    }
                    (kind, value) if kind == "intValue" => any_value::Value::IntValue(
                        value.as_str().expect("a string").parse().expect("an int"),
                    ),
                    (kind, value) if kind == "boolValue" => {
                        any_value::Value::BoolValue(value.as_bool().expect("a bool"))
                    }
                    (_, value) => any_value::Value::DoubleValue(value.as_f64().expect("a double")),
                };
                KeyValue {
                    key: text(attribute, "key"),
                    value: Some(AnyValue { value: Some(value) }),
                    ..KeyValue::default()
                }
            })
            .collect()
    }

    fn span_set(value: &Value) -> SpanSet {
        let map = object(value, &["spans", "matched", "attributes"]);
        SpanSet {
            spans: list(map, "spans")
                .iter()
                .map(|span| {
                    let span = object(
                        span,
                        &[
                            "spanID",
                            "name",
                            "startTimeUnixNano",
                            "durationNanos",
                            "attributes",
                        ],
                    );
                    Span {
                        span_id: text(span, "spanID"),
                        name: text(span, "name"),
                        start_time_unix_nano: uint64(span, "startTimeUnixNano"),
                        duration_nanos: uint64(span, "durationNanos"),
                        attributes: attributes(span, "attributes"),
                    }
                })
                .collect(),
            matched: uint32(map, "matched"),
            attributes: attributes(map, "attributes"),
        }
    }

    pub fn search_response(value: &Value) -> SearchResponse {
        let map = object(value, &["traces", "metrics"]);
        let traces = list(map, "traces")
            .iter()
            .map(|trace| {
                let trace = object(
                    trace,
                    &[
                        "traceID",
                        "rootServiceName",
                        "rootTraceName",
                        "startTimeUnixNano",
                        "durationMs",
                        "spanSet",
                        "spanSets",
                        "serviceStats",
                    ],
                );
                let service_stats = trace
                    .get("serviceStats")
                    .map(|stats| {
                        stats
                            .as_object()
                            .expect("an object")
                            .iter()
                            .map(|(service, stats)| {
                                let stats = object(stats, &["spanCount", "errorCount"]);
                                let stats = ServiceStats {
                                    span_count: uint32(stats, "spanCount"),
                                    error_count: uint32(stats, "errorCount"),
                                };
                                (service.clone(), stats)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                TraceSearchMetadata {
                    trace_id: text(trace, "traceID"),
                    root_service_name: text(trace, "rootServiceName"),
                    root_trace_name: text(trace, "rootTraceName"),
                    start_time_unix_nano: uint64(trace, "startTimeUnixNano"),
                    duration_ms: uint32(trace, "durationMs"),
                    span_set: trace.get("spanSet").map(span_set),
                    span_sets: list(trace, "spanSets").iter().map(span_set).collect(),
                    service_stats,
                }
            })
            .collect();
        let metrics = map.get("metrics").map(|metrics| {
            let metrics = object(
                metrics,
                &[
                    "inspectedTraces",
                    "inspectedBytes",
                    "totalBlocks",
                    "completedJobs",
                    "totalJobs",
                    "totalBlockBytes",
                    "inspectedSpans",
                ],
            );
            SearchMetrics {
                inspected_traces: uint32(metrics, "inspectedTraces"),
                inspected_bytes: uint64(metrics, "inspectedBytes"),
                total_blocks: uint32(metrics, "totalBlocks"),
                completed_jobs: uint32(metrics, "completedJobs"),
                total_jobs: uint32(metrics, "totalJobs"),
                total_block_bytes: uint64(metrics, "totalBlockBytes"),
                inspected_spans: uint64(metrics, "inspectedSpans"),
            }
        });
        SearchResponse { traces, metrics }
    }
}
