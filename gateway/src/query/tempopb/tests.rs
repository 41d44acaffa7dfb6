//! The messages' JSON against real Tempo answers recorded in
//! `tests/fixtures/tempo-responses/`, and their protobuf field numbers.

use std::collections::BTreeMap;

use prost::Message as _;
use serde_json::{Map, Value, json};

use super::*;
use crate::model::{AnyValue, KeyValue, any_value};
use crate::search::{
    SearchOutcome, SearchQuery, SpanSetMatch, TagName, TagNames, TagScope, TagValueKind,
    TraceMatch, TypedTagValue,
};

fn recorded(file: &str) -> Value {
    // The run-time value first: a test binary reused from another checkout sharing the
    // target directory must read this checkout's fixtures.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let path = format!("{manifest_dir}/../tests/fixtures/tempo-responses/{file}");
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
    let trace = |id: &str, service: &str, name: &str, start: u64, duration_ms: u32| TraceMatch {
        trace_id: id.to_owned(),
        root_service_name: service.to_owned(),
        root_trace_name: name.to_owned(),
        start_time_unix_nano: start,
        duration_ms,
        span_sets: Vec::new(),
        service_stats: Default::default(),
    };
    let mut response = SearchOutcome {
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
        inspected_traces: 3,
        inspected_bytes: 14745,
        jobs: 3,
        complete: true,
    };
    // The answer of a tag search drops whatever spansets the engine produced.
    response.traces[0].span_sets = vec![SpanSetMatch {
        spans: Vec::new(),
        matched: 0,
        attributes: Vec::new(),
    }];
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

/// Every message with every field set (and some nested ones set but empty): the values
/// whose protobuf and JSON were recorded from the hand-written messages before the ones
/// generated from `gateway/proto/tempopb.proto` replaced them.
mod full {
    use super::*;
    use crate::model::{ArrayValue, KeyValueList, ResourceSpans, TracesData};

    pub(super) fn labels() -> Vec<KeyValue> {
        let value = |value| AnyValue { value: Some(value) };
        vec![
            string_value("service.name", "api"),
            int_value("count()", -3),
            KeyValue {
                key: "ratio".to_owned(),
                value: Some(value(any_value::Value::DoubleValue(f64::NAN))),
                ..KeyValue::default()
            },
            KeyValue {
                key: "nested".to_owned(),
                value: Some(value(any_value::Value::ArrayValue(ArrayValue {
                    values: vec![
                        value(any_value::Value::BoolValue(false)),
                        value(any_value::Value::KvlistValue(KeyValueList::default())),
                        value(any_value::Value::BytesValue(vec![0xff, 0])),
                    ],
                }))),
                ..KeyValue::default()
            },
        ]
    }

    pub(super) fn trace_by_id() -> TraceByIdResponse {
        TraceByIdResponse {
            trace: Some(TracesData {
                resource_spans: vec![ResourceSpans {
                    schema_url: "s".to_owned(),
                    ..ResourceSpans::default()
                }],
            }),
            metrics: Some(TraceByIdMetrics {
                inspected_bytes: u64::MAX,
            }),
            status: 1,
            message: "partial".to_owned(),
        }
    }

    pub(super) fn search_request() -> SearchRequest {
        SearchRequest {
            tags: BTreeMap::from([
                ("z".to_owned(), "1".to_owned()),
                ("a".to_owned(), String::new()),
            ]),
            min_duration_ms: 1,
            max_duration_ms: u32::MAX,
            limit: 20,
            start: 1_700_000_000,
            end: 1_700_003_600,
            query: "{ span.x = 1 }".to_owned(),
            spans_per_span_set: 3,
        }
    }

    pub(super) fn span_set(matched: u32) -> SpanSet {
        SpanSet {
            spans: vec![Span {
                span_id: "00000000000000ff".to_owned(),
                name: "GET /".to_owned(),
                start_time_unix_nano: u64::MAX,
                duration_nanos: 1,
                attributes: labels(),
            }],
            matched,
            attributes: vec![int_value("count()", 1)],
        }
    }

    pub(super) fn search_metrics() -> SearchMetrics {
        SearchMetrics {
            inspected_traces: 1,
            inspected_bytes: 2,
            total_blocks: 3,
            completed_jobs: 4,
            total_jobs: 5,
            total_block_bytes: 6,
            inspected_spans: u64::MAX,
        }
    }

    pub(super) fn search_response() -> SearchResponse {
        SearchResponse {
            traces: vec![
                TraceSearchMetadata {
                    trace_id: "ab".to_owned(),
                    root_service_name: "api".to_owned(),
                    root_trace_name: "GET /".to_owned(),
                    start_time_unix_nano: 1_795_461_515_977_687_550,
                    duration_ms: 31,
                    span_set: Some(span_set(2)),
                    span_sets: vec![span_set(2), SpanSet::default()],
                    service_stats: BTreeMap::from([
                        (
                            "zeta".to_owned(),
                            ServiceStats {
                                span_count: 2,
                                error_count: 1,
                            },
                        ),
                        ("alpha".to_owned(), ServiceStats::default()),
                    ]),
                },
                TraceSearchMetadata {
                    span_set: Some(SpanSet::default()),
                    ..TraceSearchMetadata::default()
                },
            ],
            metrics: Some(search_metrics()),
        }
    }

    pub(super) fn search_tags_request() -> SearchTagsRequest {
        SearchTagsRequest {
            scope: "span".to_owned(),
            query: "{}".to_owned(),
            start: 1,
            end: 2,
            max_tags_per_scope: 3,
            stale_values_threshold: 4,
        }
    }

    pub(super) fn metadata_metrics() -> MetadataMetrics {
        MetadataMetrics {
            inspected_bytes: u64::MAX,
            total_jobs: 1,
            completed_jobs: 2,
            total_blocks: 3,
            total_block_bytes: 4,
        }
    }

    pub(super) fn search_tags_response() -> SearchTagsResponse {
        SearchTagsResponse {
            tag_names: vec!["b".to_owned(), String::new(), "a".to_owned()],
            metrics: Some(metadata_metrics()),
        }
    }

    pub(super) fn search_tags_v2_response() -> SearchTagsV2Response {
        SearchTagsV2Response {
            scopes: vec![
                SearchTagsV2Scope {
                    name: "span".to_owned(),
                    tags: vec!["http.method".to_owned()],
                },
                SearchTagsV2Scope::default(),
            ],
            metrics: Some(MetadataMetrics::default()),
        }
    }

    pub(super) fn search_tag_values_request() -> SearchTagValuesRequest {
        SearchTagValuesRequest {
            tag_name: "span.x".to_owned(),
            query: "{}".to_owned(),
            start: 1,
            end: 2,
            max_tag_values: 3,
            stale_value_threshold: 4,
        }
    }

    pub(super) fn search_tag_values_response() -> SearchTagValuesResponse {
        SearchTagValuesResponse {
            tag_values: vec!["x".to_owned(), "\"quoted\"\n".to_owned()],
            metrics: Some(metadata_metrics()),
        }
    }

    pub(super) fn search_tag_values_v2_response() -> SearchTagValuesV2Response {
        SearchTagValuesV2Response {
            tag_values: vec![
                TagValue {
                    r#type: "int".to_owned(),
                    value: "200".to_owned(),
                },
                TagValue::default(),
            ],
            metrics: None,
        }
    }

    pub(super) fn query_range_request() -> QueryRangeRequest {
        QueryRangeRequest {
            query: "{} | rate()".to_owned(),
            start: 1,
            end: u64::MAX,
            step: 60_000_000_000,
            query_mode: "recent".to_owned(),
            exemplars: 5,
            max_series: 6,
            instant: Some(true),
        }
    }

    /// Doubles whose text differs between formatters: exponent forms, shortest
    /// round-trip digits, the non-finite values and negative zero.
    pub(super) const DOUBLES: [f64; 12] = [
        1e21,
        1e-7,
        0.1,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        1.5,
        5e-324,
        f64::MAX,
        123_456_789.0,
        1e20,
    ];

    pub(super) fn query_range_response() -> QueryRangeResponse {
        QueryRangeResponse {
            series: vec![
                TimeSeries {
                    labels: labels(),
                    samples: DOUBLES
                        .iter()
                        .zip(-1..)
                        .map(|(&value, timestamp_ms)| Sample {
                            timestamp_ms,
                            value,
                        })
                        .collect(),
                    exemplars: vec![
                        Exemplar {
                            labels: vec![string_value("trace:id", "abc")],
                            value: 1e-7,
                            timestamp_ms: i64::MIN,
                        },
                        Exemplar::default(),
                    ],
                },
                TimeSeries::default(),
            ],
            metrics: Some(SearchMetrics::default()),
            // Not a `PartialStatus`: written as its number.
            status: 7,
            message: "m".to_owned(),
        }
    }

    pub(super) fn query_instant_request() -> QueryInstantRequest {
        QueryInstantRequest {
            query: "{} | count_over_time()".to_owned(),
            start: 1,
            end: 2,
        }
    }

    pub(super) fn query_instant_response() -> QueryInstantResponse {
        QueryInstantResponse {
            series: DOUBLES
                .iter()
                .map(|&value| InstantSeries {
                    labels: vec![string_value("x", "y")],
                    value,
                })
                .collect(),
            metrics: Some(search_metrics()),
            status: PartialStatus::Partial as i32,
            message: String::new(),
        }
    }
}

/// Every message type's protobuf, recorded from the hand-written prost structs that the
/// generated ones replaced (all fields set, see `full`): the generated ones encode the
/// same bytes, and decode them to a message that encodes them again.
#[test]
fn every_message_keeps_its_protobuf_bytes() {
    fn check<M: prost::Message + Default>(name: &str, message: &M, recorded_hex: &str) {
        let bytes = message.encode_to_vec();
        let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(hex, recorded_hex, "{name}");
        let decoded = M::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(decoded.encode_to_vec(), bytes, "{name}");
    }
    check(
        "trace_by_id",
        &full::trace_by_id(),
        r"0a050a031a0173120b08ffffffffffffffffff01180122077061727469616c",
    );
    check(
        "trace_by_id_metrics",
        &full::trace_by_id().metrics.unwrap(),
        r"08ffffffffffffffffff01",
    );
    check(
        "search_request",
        &full::search_request(),
        concat!(
            r"0a030a01610a060a017a120131100118ffffffff0f20142880e2cfaa063090fecfaa06420e7b2073",
            r"70616e2e78203d2031207d4803",
        ),
    );
    check(
        "search_response",
        &full::search_response(),
        concat!(
            r"0aed020a02616212036170691a05474554202f20fe83f0ddc6d7b0f518281f3299010a85010a1030",
            r"3030303030303030303030303066661205474554202f18ffffffffffffffffff0120012a150a0c73",
            r"6572766963652e6e616d6512050a036170692a160a07636f756e742829120b18fdffffffffffffff",
            r"ff012a120a05726174696f120921000000000000f87f2a1a0a066e657374656412102a0e0a021000",
            r"0a0232000a043a02ff0010021a0d0a07636f756e742829120218013a99010a85010a103030303030",
            r"30303030303030303066661205474554202f18ffffffffffffffffff0120012a150a0c7365727669",
            r"63652e6e616d6512050a036170692a160a07636f756e742829120b18fdffffffffffffffff012a12",
            r"0a05726174696f120921000000000000f87f2a1a0a066e657374656412102a0e0a0210000a023200",
            r"0a043a02ff0010021a0d0a07636f756e742829120218013a0042070a05616c706861420c0a047a65",
            r"74611204080210010a023200121708011002180320042805300638ffffffffffffffffff01",
        ),
    );
    check(
        "trace_search_metadata",
        &full::search_response().traces[0].clone(),
        concat!(
            r"0a02616212036170691a05474554202f20fe83f0ddc6d7b0f518281f3299010a85010a1030303030",
            r"3030303030303030303066661205474554202f18ffffffffffffffffff0120012a150a0c73657276",
            r"6963652e6e616d6512050a036170692a160a07636f756e742829120b18fdffffffffffffffff012a",
            r"120a05726174696f120921000000000000f87f2a1a0a066e657374656412102a0e0a0210000a0232",
            r"000a043a02ff0010021a0d0a07636f756e742829120218013a99010a85010a103030303030303030",
            r"30303030303066661205474554202f18ffffffffffffffffff0120012a150a0c736572766963652e",
            r"6e616d6512050a036170692a160a07636f756e742829120b18fdffffffffffffffff012a120a0572",
            r"6174696f120921000000000000f87f2a1a0a066e657374656412102a0e0a0210000a0232000a043a",
            r"02ff0010021a0d0a07636f756e742829120218013a0042070a05616c706861420c0a047a65746112",
            r"0408021001",
        ),
    );
    check(
        "service_stats",
        &full::search_response().traces[0].service_stats["zeta"],
        r"08021001",
    );
    check(
        "span_set",
        &full::span_set(2),
        concat!(
            r"0a85010a10303030303030303030303030303066661205474554202f18ffffffffffffffffff0120",
            r"012a150a0c736572766963652e6e616d6512050a036170692a160a07636f756e742829120b18fdff",
            r"ffffffffffffff012a120a05726174696f120921000000000000f87f2a1a0a066e65737465641210",
            r"2a0e0a0210000a0232000a043a02ff0010021a0d0a07636f756e74282912021801",
        ),
    );
    check(
        "span",
        &full::span_set(2).spans[0].clone(),
        concat!(
            r"0a10303030303030303030303030303066661205474554202f18ffffffffffffffffff0120012a15",
            r"0a0c736572766963652e6e616d6512050a036170692a160a07636f756e742829120b18fdffffffff",
            r"ffffffff012a120a05726174696f120921000000000000f87f2a1a0a066e657374656412102a0e0a",
            r"0210000a0232000a043a02ff00",
        ),
    );
    check(
        "search_metrics",
        &full::search_metrics(),
        r"08011002180320042805300638ffffffffffffffffff01",
    );
    check(
        "search_tags_request",
        &full::search_tags_request(),
        r"0a047370616e12027b7d1801200228033004",
    );
    check(
        "search_tags_response",
        &full::search_tags_response(),
        r"0a01620a000a0161121308ffffffffffffffffff011001180220032804",
    );
    check(
        "search_tags_v2_response",
        &full::search_tags_v2_response(),
        r"0a130a047370616e120b687474702e6d6574686f640a001200",
    );
    check(
        "search_tags_v2_scope",
        &full::search_tags_v2_response().scopes[0].clone(),
        r"0a047370616e120b687474702e6d6574686f64",
    );
    check(
        "search_tag_values_request",
        &full::search_tag_values_request(),
        r"0a067370616e2e7812027b7d2001280230033804",
    );
    check(
        "search_tag_values_response",
        &full::search_tag_values_response(),
        r"0a01780a092271756f746564220a121308ffffffffffffffffff011001180220032804",
    );
    check(
        "search_tag_values_v2_response",
        &full::search_tag_values_v2_response(),
        r"0a0a0a03696e7412033230300a00",
    );
    check(
        "tag_value",
        &full::search_tag_values_v2_response().tag_values[0].clone(),
        r"0a03696e741203323030",
    );
    check(
        "metadata_metrics",
        &full::metadata_metrics(),
        r"08ffffffffffffffffff011001180220032804",
    );
    check(
        "query_range_request",
        &full::query_range_request(),
        concat!(
            r"0a0b7b7d207c20726174652829100118ffffffffffffffffff012080b09dc2df013a06726563656e",
            r"74800105880106900101",
        ),
    );
    check(
        "query_range_response",
        &full::query_range_response(),
        concat!(
            r"0aa4020a150a0c736572766963652e6e616d6512050a036170690a160a07636f756e742829120b18",
            r"fdffffffffffffffff010a120a05726174696f120921000000000000f87f0a1a0a066e6573746564",
            r"12102a0e0a0210000a0232000a043a02ff0012140950efe2d6e41a4b4410ffffffffffffffffff01",
            r"12090948afbc9af2d77a3e120b099a9999999999b93f1001120b09000000000000f87f1002120b09",
            r"000000000000f07f1003120b09000000000000f0ff100412021005120b09000000000000f83f1006",
            r"120b0901000000000000001007120b09ffffffffffffef7f1008120b0900000054346f9d41100912",
            r"0b09408cb5781daf1544100a22270a110a0874726163653a696412050a036162631148afbc9af2d7",
            r"7a3e188080808080808080800122000a001200180722016d",
        ),
    );
    check(
        "time_series",
        &full::query_range_response().series[0].clone(),
        concat!(
            r"0a150a0c736572766963652e6e616d6512050a036170690a160a07636f756e742829120b18fdffff",
            r"ffffffffffff010a120a05726174696f120921000000000000f87f0a1a0a066e657374656412102a",
            r"0e0a0210000a0232000a043a02ff0012140950efe2d6e41a4b4410ffffffffffffffffff01120909",
            r"48afbc9af2d77a3e120b099a9999999999b93f1001120b09000000000000f87f1002120b09000000",
            r"000000f07f1003120b09000000000000f0ff100412021005120b09000000000000f83f1006120b09",
            r"01000000000000001007120b09ffffffffffffef7f1008120b0900000054346f9d411009120b0940",
            r"8cb5781daf1544100a22270a110a0874726163653a696412050a036162631148afbc9af2d77a3e18",
            r"808080808080808080012200",
        ),
    );
    check(
        "sample",
        &full::query_range_response().series[0].samples[0],
        r"0950efe2d6e41a4b4410ffffffffffffffffff01",
    );
    check(
        "exemplar",
        &full::query_range_response().series[0].exemplars[0].clone(),
        r"0a110a0874726163653a696412050a036162631148afbc9af2d77a3e1880808080808080808001",
    );
    check(
        "query_instant_request",
        &full::query_instant_request(),
        r"0a167b7d207c20636f756e745f6f7665725f74696d65282910011802",
    );
    check(
        "query_instant_response",
        &full::query_instant_response(),
        concat!(
            r"0a130a080a017812030a01791150efe2d6e41a4b440a130a080a017812030a01791148afbc9af2d7",
            r"7a3e0a130a080a017812030a0179119a9999999999b93f0a130a080a017812030a01791100000000",
            r"0000f87f0a130a080a017812030a017911000000000000f07f0a130a080a017812030a0179110000",
            r"00000000f0ff0a0a0a080a017812030a01790a130a080a017812030a017911000000000000f83f0a",
            r"130a080a017812030a01791101000000000000000a130a080a017812030a017911ffffffffffffef",
            r"7f0a130a080a017812030a01791100000054346f9d410a130a080a017812030a017911408cb5781d",
            r"af1544121708011002180320042805300638ffffffffffffffffff011801",
        ),
    );
    check(
        "instant_series",
        &full::query_instant_response().series[0].clone(),
        r"0a080a017812030a01791150efe2d6e41a4b44",
    );
}

/// Tempo's JSON of the messages, recorded from the hand-written `Serialize` impls that
/// the derived ones replaced: doubles (exponents, shortest digits, NaN and infinities as
/// strings, negative zero omitted), 64-bit integers as strings, an enum value without a
/// name as its number, set but empty messages, sorted map keys, OTLP attributes.
#[test]
fn json_is_unchanged_byte_for_byte() {
    fn check(name: &str, message: &impl serde::Serialize, recorded: &str) {
        assert_eq!(serde_json::to_string(message).unwrap(), recorded, "{name}");
    }
    check(
        "search_response",
        &full::search_response(),
        concat!(
            r#"{"traces":[{"traceID":"ab","rootServiceName":"api","rootTraceName":"GET /","star"#,
            r#"tTimeUnixNano":"1795461515977687550","durationMs":31,"spanSet":{"spans":[{"spanI"#,
            r#"D":"00000000000000ff","name":"GET /","startTimeUnixNano":"18446744073709551615","#,
            r#""durationNanos":"1","attributes":[{"key":"service.name","value":{"stringValue":""#,
            r#"api"}},{"key":"count()","value":{"intValue":"-3"}},{"key":"ratio","value":{"doub"#,
            r#"leValue":"NaN"}},{"key":"nested","value":{"arrayValue":{"values":[{"boolValue":f"#,
            r#"alse},{"kvlistValue":{}},{"bytesValue":"/wA="}]}}}]}],"matched":2,"attributes":["#,
            r#"{"key":"count()","value":{"intValue":"1"}}]},"spanSets":[{"spans":[{"spanID":"00"#,
            r#"000000000000ff","name":"GET /","startTimeUnixNano":"18446744073709551615","durat"#,
            r#"ionNanos":"1","attributes":[{"key":"service.name","value":{"stringValue":"api"}}"#,
            r#",{"key":"count()","value":{"intValue":"-3"}},{"key":"ratio","value":{"doubleValu"#,
            r#"e":"NaN"}},{"key":"nested","value":{"arrayValue":{"values":[{"boolValue":false},"#,
            r#"{"kvlistValue":{}},{"bytesValue":"/wA="}]}}}]}],"matched":2,"attributes":[{"key""#,
            r#":"count()","value":{"intValue":"1"}}]},{}],"serviceStats":{"alpha":{},"zeta":{"s"#,
            r#"panCount":2,"errorCount":1}}},{"spanSet":{}}],"metrics":{"inspectedTraces":1,"in"#,
            r#"spectedBytes":"2","totalBlocks":3,"completedJobs":4,"totalJobs":5,"totalBlockByt"#,
            r#"es":"6","inspectedSpans":"18446744073709551615"}}"#,
        ),
    );
    check(
        "search_tags_response",
        &full::search_tags_response(),
        concat!(
            r#"{"tagNames":["b","","a"],"metrics":{"inspectedBytes":"18446744073709551615","tot"#,
            r#"alJobs":1,"completedJobs":2,"totalBlocks":3,"totalBlockBytes":"4"}}"#,
        ),
    );
    check(
        "search_tags_v2_response",
        &full::search_tags_v2_response(),
        r#"{"scopes":[{"name":"span","tags":["http.method"]},{}],"metrics":{}}"#,
    );
    check(
        "search_tag_values_response",
        &full::search_tag_values_response(),
        concat!(
            r#"{"tagValues":["x","\"quoted\"\n"],"metrics":{"inspectedBytes":"18446744073709551"#,
            r#"615","totalJobs":1,"completedJobs":2,"totalBlocks":3,"totalBlockBytes":"4"}}"#,
        ),
    );
    check(
        "search_tag_values_v2_response",
        &full::search_tag_values_v2_response(),
        r#"{"tagValues":[{"type":"int","value":"200"},{}]}"#,
    );
    check(
        "query_range_response",
        &full::query_range_response(),
        concat!(
            r#"{"series":[{"labels":[{"key":"service.name","value":{"stringValue":"api"}},{"key"#,
            r#"":"count()","value":{"intValue":"-3"}},{"key":"ratio","value":{"doubleValue":"Na"#,
            r#"N"}},{"key":"nested","value":{"arrayValue":{"values":[{"boolValue":false},{"kvli"#,
            r#"stValue":{}},{"bytesValue":"/wA="}]}}}],"samples":[{"timestampMs":"-1","value":1"#,
            r#"e+21},{"value":1e-7},{"timestampMs":"1","value":0.1},{"timestampMs":"2","value":"#,
            r#""NaN"},{"timestampMs":"3","value":"Infinity"},{"timestampMs":"4","value":"-Infin"#,
            r#"ity"},{"timestampMs":"5"},{"timestampMs":"6","value":1.5},{"timestampMs":"7","va"#,
            r#"lue":5e-324},{"timestampMs":"8","value":1.7976931348623157e+308},{"timestampMs":"#,
            r#""9","value":123456789.0},{"timestampMs":"10","value":1e+20}],"exemplars":[{"labe"#,
            r#"ls":[{"key":"trace:id","value":{"stringValue":"abc"}}],"value":1e-7,"timestampMs"#,
            r#"":"-9223372036854775808"},{}]},{}],"metrics":{},"status":7,"message":"m"}"#,
        ),
    );
    check(
        "query_instant_response",
        &full::query_instant_response(),
        concat!(
            r#"{"series":[{"labels":[{"key":"x","value":{"stringValue":"y"}}],"value":1e+21},{""#,
            r#"labels":[{"key":"x","value":{"stringValue":"y"}}],"value":1e-7},{"labels":[{"key"#,
            r#"":"x","value":{"stringValue":"y"}}],"value":0.1},{"labels":[{"key":"x","value":{"#,
            r#""stringValue":"y"}}],"value":"NaN"},{"labels":[{"key":"x","value":{"stringValue""#,
            r#":"y"}}],"value":"Infinity"},{"labels":[{"key":"x","value":{"stringValue":"y"}}],"#,
            r#""value":"-Infinity"},{"labels":[{"key":"x","value":{"stringValue":"y"}}]},{"labe"#,
            r#"ls":[{"key":"x","value":{"stringValue":"y"}}],"value":1.5},{"labels":[{"key":"x""#,
            r#","value":{"stringValue":"y"}}],"value":5e-324},{"labels":[{"key":"x","value":{"s"#,
            r#"tringValue":"y"}}],"value":1.7976931348623157e+308},{"labels":[{"key":"x","value"#,
            r#"":{"stringValue":"y"}}],"value":123456789.0},{"labels":[{"key":"x","value":{"str"#,
            r#"ingValue":"y"}}],"value":1e+20}],"metrics":{"inspectedTraces":1,"inspectedBytes""#,
            r#":"2","totalBlocks":3,"completedJobs":4,"totalJobs":5,"totalBlockBytes":"6","insp"#,
            r#"ectedSpans":"18446744073709551615"},"status":"PARTIAL"}"#,
        ),
    );
    check("empty_search", &SearchResponse::default(), r"{}");
    check(
        "empty_set_metrics",
        &QueryRangeResponse {
            metrics: Some(SearchMetrics::default()),
            ..QueryRangeResponse::default()
        },
        r#"{"metrics":{}}"#,
    );
    // What `traces.rs` writes for the v2 trace-by-id JSON.
    check(
        "trace_by_id",
        &TraceByIdResponse {
            status: 0,
            message: String::new(),
            ..full::trace_by_id()
        },
        concat!(
            r#"{"trace":{"resourceSpans":[{"schemaUrl":"s"}]},"metrics":{"inspectedBytes":"1844"#,
            r#"6744073709551615"}}"#,
        ),
    );
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

    pub(super) fn search_response(value: &Value) -> SearchResponse {
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
