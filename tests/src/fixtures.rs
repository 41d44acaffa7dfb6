//! Builders for OTLP requests: small helpers and a "rich" request that sets every field
//! of the trace data model.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span::Event, span::Link, span::SpanKind,
    status::StatusCode,
};

use crate::ids;

pub const NANOS_PER_SEC: u64 = 1_000_000_000;

// ---------------------------------------------------------------------------------------
// AnyValue / KeyValue helpers
// ---------------------------------------------------------------------------------------

pub fn av_str(s: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(s.to_owned())),
    }
}
pub fn av_bool(b: bool) -> AnyValue {
    AnyValue {
        value: Some(Value::BoolValue(b)),
    }
}
pub fn av_int(i: i64) -> AnyValue {
    AnyValue {
        value: Some(Value::IntValue(i)),
    }
}
pub fn av_double(d: f64) -> AnyValue {
    AnyValue {
        value: Some(Value::DoubleValue(d)),
    }
}
pub fn av_bytes(b: &[u8]) -> AnyValue {
    AnyValue {
        value: Some(Value::BytesValue(b.to_vec())),
    }
}
pub fn av_array(values: Vec<AnyValue>) -> AnyValue {
    AnyValue {
        value: Some(Value::ArrayValue(ArrayValue { values })),
    }
}
pub fn av_kvlist(values: Vec<KeyValue>) -> AnyValue {
    AnyValue {
        value: Some(Value::KvlistValue(KeyValueList { values })),
    }
}
pub fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(value),
        ..Default::default()
    }
}
pub fn kv_str(key: &str, value: &str) -> KeyValue {
    kv(key, av_str(value))
}

/// One attribute of every `AnyValue` type, with edge values: empty string, unicode and
/// escapes, false, zero, `i64::MIN`/`MAX`, doubles that need exact round-tripping, all
/// 256 byte values, nested and empty arrays and key-value lists.
pub fn every_value_type_attributes(prefix: &str) -> Vec<KeyValue> {
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let k = |name: &str| format!("{prefix}.{name}");
    vec![
        kv(&k("str"), av_str("hello world")),
        kv(&k("str.empty"), av_str("")),
        kv(
            &k("str.unicode"),
            av_str("žluťoučký kůň 🐴 \"quoted\" back\\slash\nnew line\ttab \u{1} </script>"),
        ),
        kv(&k("bool.true"), av_bool(true)),
        kv(&k("bool.false"), av_bool(false)),
        kv(&k("int.zero"), av_int(0)),
        kv(&k("int.positive"), av_int(42)),
        kv(&k("int.negative"), av_int(-7)),
        kv(&k("int.min"), av_int(i64::MIN)),
        kv(&k("int.max"), av_int(i64::MAX)),
        kv(&k("int.above_2_53"), av_int(9_007_199_254_740_993)),
        kv(&k("double.zero"), av_double(0.0)),
        kv(&k("double.pi"), av_double(std::f64::consts::PI)),
        kv(&k("double.one"), av_double(1.0)),
        kv(&k("double.tenth"), av_double(0.1)),
        kv(&k("double.huge_negative"), av_double(-1.5e300)),
        kv(&k("double.tiny"), av_double(5e-324)),
        kv(&k("bytes.all"), av_bytes(&all_bytes)),
        kv(&k("bytes.b64_specials"), av_bytes(&[0xfb, 0xff, 0xbf])),
        kv(
            &k("array.mixed"),
            av_array(vec![
                av_str("a"),
                av_int(1),
                av_double(2.5),
                av_bool(true),
                av_bytes(b"\x00\x01"),
                av_array(vec![
                    av_str("nested"),
                    av_array(vec![av_int(-1), av_int(i64::MAX)]),
                ]),
                av_kvlist(vec![kv_str("in.array", "yes")]),
            ]),
        ),
        kv(
            &k("array.strings"),
            av_array(vec![av_str("x"), av_str("y"), av_str("")]),
        ),
        kv(&k("array.empty"), av_array(vec![])),
        kv(
            &k("kvlist.nested"),
            av_kvlist(vec![
                kv_str("inner.str", "x"),
                kv("inner.int", av_int(i64::MIN)),
                kv("inner.kv", av_kvlist(vec![kv("deep", av_bool(true))])),
                kv("inner.arr", av_array(vec![av_int(1), av_int(2)])),
            ]),
        ),
        kv(&k("kvlist.empty"), av_kvlist(vec![])),
    ]
}

// ---------------------------------------------------------------------------------------
// Span / request helpers
// ---------------------------------------------------------------------------------------

/// A minimal valid span.
pub fn span(
    trace_id: &[u8],
    span_id: &[u8],
    parent: Option<&[u8]>,
    name: &str,
    kind: SpanKind,
    start: u64,
    end: u64,
) -> Span {
    Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        parent_span_id: parent.map(<[u8]>::to_vec).unwrap_or_default(),
        name: name.to_owned(),
        kind: kind as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..Default::default()
    }
}

pub fn resource(service_name: &str, extra: Vec<KeyValue>) -> Resource {
    let mut attributes = vec![kv_str("service.name", service_name)];
    attributes.extend(extra);
    Resource {
        attributes,
        ..Default::default()
    }
}

pub fn scope(name: &str, version: &str) -> InstrumentationScope {
    InstrumentationScope {
        name: name.to_owned(),
        version: version.to_owned(),
        ..Default::default()
    }
}

/// One `ResourceSpans` with one `ScopeSpans`.
pub fn resource_spans(
    resource: Resource,
    scope: InstrumentationScope,
    spans: Vec<Span>,
) -> ResourceSpans {
    ResourceSpans {
        resource: Some(resource),
        scope_spans: vec![ScopeSpans {
            scope: Some(scope),
            spans,
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    }
}

pub fn request(resource_spans: Vec<ResourceSpans>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest { resource_spans }
}

/// A request with `spans` under one resource (`service.name` = `service`) and one scope.
pub fn simple_request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    request(vec![resource_spans(
        resource(service, vec![]),
        scope("spangate.tests", "1.0.0"),
        spans,
    )])
}

/// A request of a fresh trace of `service` with one INTERNAL span per name (fresh span
/// ids, start times 1 µs apart in the order of `names`); returns the trace id with it.
pub fn named_spans_request(service: &str, names: &[&str]) -> (Vec<u8>, ExportTraceServiceRequest) {
    let trace_id = ids::trace_id();
    let now = ids::now_nanos();
    let spans = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let start = now + index as u64 * 1_000;
            span(
                &trace_id,
                &ids::span_id(),
                None,
                name,
                SpanKind::Internal,
                start,
                start + 500,
            )
        })
        .collect();
    (trace_id, simple_request(service, spans))
}

/// `n` spans of one trace: a root and `n - 1` children, starting at `start`.
pub fn chain_of_spans(trace_id: &[u8], n: usize, start: u64) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::with_capacity(n);
    for i in 0..n {
        let parent = spans.first().map(|s| s.span_id.clone());
        let begin = start + i as u64 * 1_000_000;
        let mut s = span(
            trace_id,
            &ids::span_id(),
            parent.as_deref(),
            &format!("op-{i}"),
            if i == 0 {
                SpanKind::Server
            } else {
                SpanKind::Internal
            },
            begin,
            begin + 500_000 + i as u64,
        );
        s.attributes = vec![kv("index", av_int(i as i64))];
        spans.push(s);
    }
    spans
}

/// A valid one-span request of trace `trace_id` carrying a `payload_bytes` long string
/// attribute.
pub fn request_with_payload(trace_id: &[u8], payload_bytes: usize) -> ExportTraceServiceRequest {
    let mut spans = chain_of_spans(trace_id, 1, ids::now_nanos());
    spans[0]
        .attributes
        .push(kv("payload", av_str(&"z".repeat(payload_bytes))));
    simple_request("big", spans)
}

/// A valid request of trace `trace_id` whose protobuf encoding is exactly `len` bytes.
pub fn request_of_encoded_size(trace_id: &[u8], len: usize) -> ExportTraceServiceRequest {
    use prost::Message as _;
    let overhead = request_with_payload(trace_id, 0).encoded_len();
    let mut payload = len.saturating_sub(overhead);
    // The length prefixes grow with the payload; a few corrections converge.
    for _ in 0..8 {
        let req = request_with_payload(trace_id, payload);
        let got = req.encoded_len();
        if got == len {
            return req;
        }
        payload = (payload + len)
            .checked_sub(got)
            .expect("request overhead exceeds len");
    }
    panic!("could not build a request of exactly {len} bytes");
}

/// Number of spans in a request.
pub fn span_count(resource_spans: &[ResourceSpans]) -> usize {
    resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// The part of `resource_spans` that belongs to `trace_id` (empty scopes/resources dropped).
pub fn only_trace(resource_spans: &[ResourceSpans], trace_id: &[u8]) -> Vec<ResourceSpans> {
    resource_spans
        .iter()
        .filter_map(|rs| {
            let scope_spans: Vec<ScopeSpans> = rs
                .scope_spans
                .iter()
                .filter_map(|ss| {
                    let spans: Vec<Span> = ss
                        .spans
                        .iter()
                        .filter(|s| s.trace_id == trace_id)
                        .cloned()
                        .collect();
                    (!spans.is_empty()).then(|| ScopeSpans {
                        spans,
                        ..ss.clone()
                    })
                })
                .collect();
            (!scope_spans.is_empty()).then(|| ResourceSpans {
                scope_spans,
                ..rs.clone()
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The rich request
// ---------------------------------------------------------------------------------------

/// A request that sets every field of the OTLP trace model, for two traces.
pub struct RichRequest {
    pub request: ExportTraceServiceRequest,
    /// The trace with most spans (two resources, three scopes, every span kind).
    pub trace_id: Vec<u8>,
    /// A second trace in the same request (two spans), linked from the first.
    pub other_trace_id: Vec<u8>,
}

impl RichRequest {
    /// The expected content of `trace_id` (or `other_trace_id`) when read back.
    pub fn expected(&self, trace_id: &[u8]) -> Vec<ResourceSpans> {
        only_trace(&self.request.resource_spans, trace_id)
    }
    pub fn trace_hex(&self) -> String {
        ids::hex_id(&self.trace_id)
    }
    pub fn other_trace_hex(&self) -> String {
        ids::hex_id(&self.other_trace_id)
    }
}

/// The rich request with spans starting about a minute ago.
pub fn rich_request() -> RichRequest {
    rich_request_at(ids::now_nanos() - 60 * NANOS_PER_SEC)
}

/// The rich request with all spans within `[base, base + 1s]`.
pub fn rich_request_at(base: u64) -> RichRequest {
    let trace_id = ids::trace_id();
    let other_trace_id = ids::trace_id();
    let (root, internal, client, producer, consumer, unspecified) = (
        ids::span_id(),
        ids::span_id(),
        ids::span_id(),
        ids::span_id(),
        ids::span_id(),
        ids::span_id(),
    );
    let (other_root, other_child) = (ids::span_id(), ids::span_id());
    // Odd nanosecond offsets so that any rounding of times shows.
    let t = |offset_micros: u64, extra_nanos: u64| base + offset_micros * 1_000 + extra_nanos;

    let root_span = Span {
        trace_id: trace_id.clone(),
        span_id: root.clone(),
        trace_state: "vendor=abc,other=x:y".to_owned(),
        parent_span_id: vec![],
        flags: 0x301,
        name: "GET /rich/ünïcödé ✓ \"q\"".to_owned(),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: t(0, 1),
        end_time_unix_nano: t(900_000, 999),
        attributes: every_value_type_attributes("span"),
        dropped_attributes_count: 5,
        events: vec![
            Event {
                time_unix_nano: t(10, 3),
                name: "cache.miss".to_owned(),
                attributes: vec![
                    kv_str("cache.key", "user:42"),
                    kv("cache.ttl", av_int(-1)),
                    kv("cache.tags", av_array(vec![av_str("a"), av_bool(false)])),
                ],
                dropped_attributes_count: 2,
            },
            Event {
                time_unix_nano: t(20, 7),
                name: "bare event".to_owned(),
                attributes: vec![],
                dropped_attributes_count: 0,
            },
        ],
        dropped_events_count: 6,
        links: vec![
            Link {
                trace_id: other_trace_id.clone(),
                span_id: other_root.clone(),
                trace_state: "linkvendor=1".to_owned(),
                attributes: vec![
                    kv_str("link.kind", "follows"),
                    kv("link.weight", av_double(0.25)),
                ],
                dropped_attributes_count: 4,
                flags: 0x101,
            },
            Link {
                trace_id: trace_id.clone(),
                span_id: internal.clone(),
                ..Default::default()
            },
        ],
        dropped_links_count: 7,
        status: Some(Status {
            message: "boom: \"quoted\"\nsecond line".to_owned(),
            code: StatusCode::Error as i32,
        }),
    };
    let internal_span = Span {
        flags: 0x1,
        attributes: vec![kv_str("step", "validate"), kv("retries", av_int(3))],
        status: Some(Status {
            message: String::new(),
            code: StatusCode::Ok as i32,
        }),
        ..span(
            &trace_id,
            &internal,
            Some(&root),
            "validate",
            SpanKind::Internal,
            t(100, 11),
            t(200, 13),
        )
    };
    // Deliberately minimal: no attributes, events, links or status.
    let client_span = span(
        &trace_id,
        &client,
        Some(&root),
        "HTTP POST",
        SpanKind::Client,
        t(300, 17),
        t(400, 19),
    );
    let producer_span = Span {
        attributes: vec![kv_str("messaging.system", "kafka")],
        status: Some(Status {
            message: "ok-ish".to_owned(),
            code: StatusCode::Ok as i32,
        }),
        ..span(
            &trace_id,
            &producer,
            Some(&client),
            "orders publish",
            SpanKind::Producer,
            t(410, 23),
            t(420, 29),
        )
    };
    let consumer_span = Span {
        attributes: every_value_type_attributes("consumer"),
        links: vec![Link {
            trace_id: trace_id.clone(),
            span_id: producer.clone(),
            trace_state: String::new(),
            attributes: vec![],
            dropped_attributes_count: 0,
            flags: 0x1,
        }],
        ..span(
            &trace_id,
            &consumer,
            Some(&producer),
            "orders process",
            SpanKind::Consumer,
            t(500, 31),
            t(600, 37),
        )
    };
    let unspecified_span = Span {
        dropped_attributes_count: 1,
        dropped_events_count: 1,
        dropped_links_count: 1,
        ..span(
            &trace_id,
            &unspecified,
            Some(&consumer),
            "",
            SpanKind::Unspecified,
            t(610, 41),
            t(620, 43),
        )
    };
    let other_root_span = Span {
        attributes: vec![kv_str("http.route", "/other")],
        ..span(
            &other_trace_id,
            &other_root,
            None,
            "other root",
            SpanKind::Server,
            t(700, 47),
            t(800, 53),
        )
    };
    let other_child_span = Span {
        status: Some(Status {
            message: "failed".to_owned(),
            code: StatusCode::Error as i32,
        }),
        ..span(
            &other_trace_id,
            &other_child,
            Some(&other_root),
            "other child",
            SpanKind::Internal,
            t(710, 59),
            t(790, 61),
        )
    };

    let frontend = ResourceSpans {
        resource: Some(Resource {
            attributes: {
                let mut a = vec![kv_str("service.name", "rich-frontend")];
                a.extend(every_value_type_attributes("resource"));
                a
            },
            dropped_attributes_count: 3,
            entity_refs: vec![],
        }),
        scope_spans: vec![
            ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "io.spangate.rich".to_owned(),
                    version: "1.2.3".to_owned(),
                    attributes: vec![
                        kv_str("scope.attr", "value"),
                        kv("scope.n", av_int(-12)),
                        kv("scope.list", av_array(vec![av_double(1.5)])),
                    ],
                    dropped_attributes_count: 1,
                }),
                spans: vec![root_span, internal_span, client_span],
                schema_url: "https://opentelemetry.io/schemas/1.24.0".to_owned(),
            },
            ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "io.spangate.messaging".to_owned(),
                    ..Default::default()
                }),
                spans: vec![producer_span],
                schema_url: String::new(),
            },
        ],
        schema_url: "https://opentelemetry.io/schemas/1.21.0".to_owned(),
    };
    let backend = ResourceSpans {
        resource: Some(resource(
            "rich-backend",
            vec![
                kv("host.cpus", av_int(2)),
                kv("k8s.pod.ready", av_bool(true)),
            ],
        )),
        scope_spans: vec![ScopeSpans {
            scope: Some(scope("io.spangate.backend", "0.0.1")),
            spans: vec![
                consumer_span,
                other_root_span,
                unspecified_span,
                other_child_span,
            ],
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    };
    RichRequest {
        request: request(vec![frontend, backend]),
        trace_id,
        other_trace_id,
    }
}

// ---------------------------------------------------------------------------------------
// A trace equivalent to the recorded Tempo reference `trace_v2_grpc_checkout.json`
// ---------------------------------------------------------------------------------------

/// A request carrying a trace with the same resource, scope, span, attribute, event and
/// status layout as the recorded Tempo trace `trace_v2_grpc_checkout.json` (own ids,
/// times and values), plus the consumer trace of `trace_v2_grpc_consumer_link.json`
/// that links to its root. Returns `(request, checkout trace id, consumer trace id)`.
pub fn checkout_like_request(base: u64) -> (ExportTraceServiceRequest, Vec<u8>, Vec<u8>) {
    let trace_id = ids::trace_id();
    let consumer_trace = ids::trace_id();
    let (root, db, pay, consumer) = (
        ids::span_id(),
        ids::span_id(),
        ids::span_id(),
        ids::span_id(),
    );
    let resource = Resource {
        attributes: vec![
            kv_str("deployment.environment", "shape-test"),
            kv_str("oracle.tag", "spangate"),
            kv_str(
                "service.instance.id",
                "5c7d1e4e-5f6a-4f55-9d43-0d8c6f1f7a10",
            ),
            kv_str("service.version", "9.9.9"),
            kv_str("telemetry.sdk.language", "rust"),
            kv_str("telemetry.sdk.name", "opentelemetry"),
            kv_str("telemetry.sdk.version", "0.33.1"),
            kv_str("service.name", "shape-svc"),
        ],
        ..Default::default()
    };
    let db_span = Span {
        attributes: vec![
            kv_str("db.system", "postgresql"),
            kv_str("db.statement", "SELECT * FROM carts"),
            kv("rows", av_int(7)),
            kv("ratio", av_double(0.75)),
            kv("cached", av_bool(true)),
            kv("tags", av_array(vec![av_str("x"), av_str("y")])),
        ],
        events: vec![Event {
            time_unix_nano: base + 11_000_123,
            name: "query.start".to_owned(),
            attributes: vec![kv("attempt", av_int(2))],
            dropped_attributes_count: 0,
        }],
        status: None,
        ..span(
            &trace_id,
            &db,
            Some(&root),
            "SELECT orders",
            SpanKind::Client,
            base + 10_000_001,
            base + 15_000_002,
        )
    };
    let pay_span = Span {
        attributes: vec![kv_str("payment.provider", "globex")],
        events: vec![Event {
            time_unix_nano: base + 29_000_000,
            name: "exception".to_owned(),
            attributes: vec![
                kv_str("exception.type", "RuntimeError"),
                kv_str("exception.message", "insufficient funds"),
                kv_str("exception.stacktrace", "RuntimeError: insufficient funds\n"),
                kv_str("exception.escaped", "False"),
            ],
            dropped_attributes_count: 0,
        }],
        status: Some(Status {
            message: "insufficient funds".to_owned(),
            code: StatusCode::Error as i32,
        }),
        ..span(
            &trace_id,
            &pay,
            Some(&root),
            "charge card",
            SpanKind::Client,
            base + 28_000_000,
            base + 29_500_000,
        )
    };
    let root_span = Span {
        attributes: vec![
            kv_str("oracle.tag", "spangate"),
            kv_str("http.request.method", "GET"),
            kv("http.response.status_code", av_int(502)),
            kv_str("url.path", "/checkout"),
        ],
        ..span(
            &trace_id,
            &root,
            None,
            "GET /checkout",
            SpanKind::Server,
            base,
            base + 31_000_000,
        )
    };
    let consumer_span = Span {
        attributes: vec![
            kv_str("messaging.system", "rabbitmq"),
            kv_str("oracle.tag", "spangate"),
        ],
        links: vec![Link {
            trace_id: trace_id.clone(),
            span_id: root.clone(),
            attributes: vec![kv_str("link.kind", "follows")],
            ..Default::default()
        }],
        ..span(
            &consumer_trace,
            &consumer,
            None,
            "process queue",
            SpanKind::Consumer,
            base + 40_000_000,
            base + 40_100_000,
        )
    };
    let scope = scope("oracle.smoke", "0.1.0");
    let req = request(vec![
        resource_spans(
            resource.clone(),
            scope.clone(),
            vec![db_span, pay_span, root_span],
        ),
        resource_spans(resource, scope, vec![consumer_span]),
    ]);
    (req, trace_id, consumer_trace)
}

/// Spans for partial-success tests: `(valid, invalid)`, where `valid` are two good spans
/// of `trace_id` and every span of `invalid` has a trace id or span id that must be
/// rejected (all-zero, empty, or of the wrong length).
pub fn spans_with_invalid_ids(trace_id: &[u8], start: u64) -> (Vec<Span>, Vec<Span>) {
    let valid = chain_of_spans(trace_id, 2, start);
    let root = valid[0].span_id.clone();
    let bad = |tid: Vec<u8>, sid: Vec<u8>, name: &str| {
        span(
            &tid,
            &sid,
            Some(&root),
            name,
            SpanKind::Internal,
            start,
            start + 1,
        )
    };
    let invalid = vec![
        bad(vec![0; 16], ids::span_id(), "zero trace id"),
        bad(trace_id[..15].to_vec(), ids::span_id(), "15-byte trace id"),
        bad(vec![], ids::span_id(), "empty trace id"),
        bad(vec![7; 17], ids::span_id(), "17-byte trace id"),
        bad(trace_id.to_vec(), vec![0; 8], "zero span id"),
        bad(
            trace_id.to_vec(),
            ids::span_id()[..7].to_vec(),
            "7-byte span id",
        ),
        bad(trace_id.to_vec(), vec![1; 9], "9-byte span id"),
    ];
    (valid, invalid)
}
