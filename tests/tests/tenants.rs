//! Tenants through the real binary: with `multitenancy.enabled`, both receivers write
//! under the tenant of `X-Scope-OrgID`, and every query endpoint (HTTP and the gRPC
//! `StreamingQuerier`) shows a tenant its own data only, refuses a request without a
//! tenant (401 / UNAUTHENTICATED `no org id`) or with a bad one (400 /
//! INVALID_ARGUMENT), and reads several tenants at once for `a|b`.
//!
//! The data: tenants `team-a` and `team-b` each write one trace through OTLP/gRPC and
//! one through OTLP/HTTP, of service `<tenant>-<receiver>` with a span attribute
//! `owner.<tenant>.<receiver>`, plus one trace id both tenants write (each its own
//! spans). Every endpoint's answer is reduced to the `<tenant>-<receiver>` markers it
//! reveals (services, attribute names, series labels), and the table compares them.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use std::collections::BTreeSet;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValueKind;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::TracesData;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::Value;
use spangate::query::tempopb;
use spangate_integration_tests::clients::{self, grpc_stream_with};
use spangate_integration_tests::fixtures::{self, kv_str};
use spangate_integration_tests::query::url_encode;
use spangate_integration_tests::{GatewayOptions, TestGateway, ids, tempo_json};

const TENANTS: [&str; 2] = ["team-a", "team-b"];
const RECEIVERS: [&str; 2] = ["grpc", "http"];
const ORG_ID: &str = "x-scope-orgid";
const SECOND: u64 = 1_000_000_000;

struct World {
    gw: TestGateway,
    now_secs: u64,
    /// Hex ids of every trace written: one per tenant and receiver, and the shared one.
    trace_ids: Vec<String>,
    shared: String,
}

/// How an endpoint answered one request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// The markers (`<tenant>-<receiver>`) the answer reveals.
    Markers(BTreeSet<String>),
    /// 401 / UNAUTHENTICATED, with the message.
    Unauthenticated(String),
    /// 400 / INVALID_ARGUMENT, with the message.
    Invalid(String),
}

fn markers(tenants: &[&str]) -> BTreeSet<String> {
    tenants
        .iter()
        .flat_map(|tenant| RECEIVERS.iter().map(move |r| format!("{tenant}-{r}")))
        .collect()
}

/// `<tenant>-<receiver>` for a service name or an `owner.<tenant>.<receiver>` key.
fn marker_of(text: &str) -> Option<String> {
    let text = text.strip_prefix("owner.").unwrap_or(text);
    TENANTS.iter().find_map(|tenant| {
        RECEIVERS.iter().find_map(|receiver| {
            [
                format!("{tenant}-{receiver}"),
                format!("{tenant}.{receiver}"),
            ]
            .contains(&text.to_owned())
            .then(|| format!("{tenant}-{receiver}"))
        })
    })
}

fn markers_in<'a>(texts: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    texts.into_iter().filter_map(marker_of).collect()
}

fn string_of(value: &Option<AnyValue>) -> Option<&str> {
    match value.as_ref()?.value.as_ref()? {
        AnyValueKind::StringValue(text) => Some(text),
        _ => None,
    }
}

/// The service names of a trace's resources.
fn services(trace: &TracesData) -> Vec<String> {
    trace
        .resource_spans
        .iter()
        .filter_map(|resource| resource.resource.as_ref())
        .flat_map(|resource| &resource.attributes)
        .filter(|kv| kv.key == "service.name")
        .filter_map(|kv| string_of(&kv.value).map(str::to_owned))
        .collect()
}

fn label_markers(labels: &[KeyValue]) -> BTreeSet<String> {
    markers_in(labels.iter().filter_map(|kv| string_of(&kv.value)))
}

fn headers(org_id: Option<&str>) -> Vec<(&str, &str)> {
    org_id
        .map(|value| vec![(ORG_ID, value)])
        .unwrap_or_default()
}

fn metadata(org_id: Option<&str>) -> Vec<(&'static str, &str)> {
    org_id
        .map(|value| vec![(ORG_ID, value)])
        .unwrap_or_default()
}

/// An HTTP answer: refused, or the markers `reveal` finds in its body.
fn http_seen(
    response: &clients::HttpResponse,
    reveal: impl FnOnce(&[u8]) -> BTreeSet<String>,
) -> Seen {
    match response.status {
        200 => Seen::Markers(reveal(&response.body)),
        401 => Seen::Unauthenticated(response.text()),
        400 => Seen::Invalid(response.text()),
        _ => panic!("unexpected answer: {}", response.describe()),
    }
}

/// A gRPC answer: refused, or the markers `reveal` finds in its messages.
fn grpc_seen<Resp>(
    answer: Result<Vec<Resp>, tonic::Status>,
    reveal: impl FnOnce(&[Resp]) -> BTreeSet<String>,
) -> Seen {
    match answer {
        Ok(messages) => Seen::Markers(reveal(&messages)),
        Err(status) if status.code() == tonic::Code::Unauthenticated => {
            Seen::Unauthenticated(status.message().to_owned())
        }
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            Seen::Invalid(status.message().to_owned())
        }
        Err(status) => panic!("unexpected gRPC status: {status:?}"),
    }
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

fn json_strings<'a>(value: &'a Value, pointer: &str) -> Vec<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The markers of the series labels of a metrics answer (range or instant, JSON).
fn json_series_markers(body: &[u8]) -> BTreeSet<String> {
    let answer = json(body);
    let mut found = BTreeSet::new();
    for series in answer["series"].as_array().into_iter().flatten() {
        for label in series["labels"].as_array().into_iter().flatten() {
            if let Some(text) = label["value"]["stringValue"].as_str() {
                found.extend(marker_of(text));
            }
        }
    }
    found
}

type Observe = fn(&World, Option<&str>) -> Seen;

/// Every query endpoint that reads traces, over HTTP and gRPC (`/ready`, `/api/echo`,
/// `/api/status/buildinfo` and `/metrics` read none and need no tenant).
const ENDPOINTS: [(&str, Observe); 18] = [
    ("GET /api/traces/{id} JSON", |w, org| {
        w.trace_by_id(org, "/api/traces", false)
    }),
    ("GET /api/traces/{id} protobuf", |w, org| {
        w.trace_by_id(org, "/api/traces", true)
    }),
    ("GET /api/v2/traces/{id} JSON", |w, org| {
        w.trace_by_id(org, "/api/v2/traces", false)
    }),
    ("GET /api/v2/traces/{id} protobuf", |w, org| {
        w.trace_by_id(org, "/api/v2/traces", true)
    }),
    ("GET /api/search", |w, org| {
        let path = format!("/api/search?q={}&{}", url_encode("{}"), w.window());
        let response = w.gw.get_with(&path, &headers(org));
        http_seen(&response, |body| {
            let answer = json(body);
            markers_in(
                answer["traces"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|trace| trace["rootServiceName"].as_str()),
            )
        })
    }),
    ("GET /api/search/tags", |w, org| {
        let response = w.gw.get_with("/api/search/tags", &headers(org));
        http_seen(&response, |body| {
            markers_in(json_strings(&json(body), "/tagNames"))
        })
    }),
    ("GET /api/v2/search/tags", |w, org| {
        let response = w.gw.get_with("/api/v2/search/tags", &headers(org));
        http_seen(&response, |body| {
            let answer = json(body);
            let mut found = BTreeSet::new();
            for scope in answer["scopes"].as_array().into_iter().flatten() {
                found.extend(markers_in(json_strings(scope, "/tags")));
            }
            found
        })
    }),
    ("GET /api/search/tag/service.name/values", |w, org| {
        let response =
            w.gw.get_with("/api/search/tag/service.name/values", &headers(org));
        http_seen(&response, |body| {
            markers_in(json_strings(&json(body), "/tagValues"))
        })
    }),
    (
        "GET /api/v2/search/tag/resource.service.name/values",
        |w, org| {
            let response = w.gw.get_with(
                "/api/v2/search/tag/resource.service.name/values",
                &headers(org),
            );
            http_seen(&response, |body| {
                let answer = json(body);
                markers_in(
                    answer["tagValues"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|value| value["value"].as_str()),
                )
            })
        },
    ),
    ("GET /api/metrics/query_range", |w, org| {
        let path = format!(
            "/api/metrics/query_range?q={}&{}&step=60s",
            url_encode("{} | count_over_time() by (resource.service.name)"),
            w.window()
        );
        http_seen(&w.gw.get_with(&path, &headers(org)), json_series_markers)
    }),
    ("GET /api/metrics/query", |w, org| {
        let path = format!(
            "/api/metrics/query?q={}&{}",
            url_encode("{} | count_over_time() by (resource.service.name)"),
            w.window()
        );
        http_seen(&w.gw.get_with(&path, &headers(org)), json_series_markers)
    }),
    ("gRPC Search", |w, org| {
        let request = tempopb::SearchRequest {
            query: "{}".to_owned(),
            limit: 100,
            start: u32::try_from(w.now_secs - 3600).unwrap(),
            end: u32::try_from(w.now_secs + 60).unwrap(),
            ..Default::default()
        };
        let answer: Result<Vec<tempopb::SearchResponse>, _> = grpc_stream_with(
            &w.gw.query_url(),
            "/tempopb.StreamingQuerier/Search",
            request,
            &metadata(org),
        );
        grpc_seen(answer, |messages| {
            markers_in(
                messages
                    .iter()
                    .flat_map(|m| &m.traces)
                    .map(|t| t.root_service_name.as_str()),
            )
        })
    }),
    ("gRPC SearchTags", |w, org| {
        let answer: Result<Vec<tempopb::SearchTagsResponse>, _> = grpc_stream_with(
            &w.gw.query_url(),
            "/tempopb.StreamingQuerier/SearchTags",
            tempopb::SearchTagsRequest::default(),
            &metadata(org),
        );
        grpc_seen(answer, |messages| {
            markers_in(
                messages
                    .iter()
                    .flat_map(|m| &m.tag_names)
                    .map(String::as_str),
            )
        })
    }),
    ("gRPC SearchTagsV2", |w, org| {
        let answer: Result<Vec<tempopb::SearchTagsV2Response>, _> = grpc_stream_with(
            &w.gw.query_url(),
            "/tempopb.StreamingQuerier/SearchTagsV2",
            tempopb::SearchTagsRequest::default(),
            &metadata(org),
        );
        grpc_seen(answer, |messages| {
            markers_in(
                messages
                    .iter()
                    .flat_map(|m| &m.scopes)
                    .flat_map(|scope| &scope.tags)
                    .map(String::as_str),
            )
        })
    }),
    ("gRPC SearchTagValues", |w, org| {
        let answer: Result<Vec<tempopb::SearchTagValuesResponse>, _> = grpc_stream_with(
            &w.gw.query_url(),
            "/tempopb.StreamingQuerier/SearchTagValues",
            tempopb::SearchTagValuesRequest {
                tag_name: "service.name".to_owned(),
                ..Default::default()
            },
            &metadata(org),
        );
        grpc_seen(answer, |messages| {
            markers_in(
                messages
                    .iter()
                    .flat_map(|m| &m.tag_values)
                    .map(String::as_str),
            )
        })
    }),
    ("gRPC SearchTagValuesV2", |w, org| {
        let answer: Result<Vec<tempopb::SearchTagValuesV2Response>, _> = grpc_stream_with(
            &w.gw.query_url(),
            "/tempopb.StreamingQuerier/SearchTagValuesV2",
            tempopb::SearchTagValuesRequest {
                tag_name: "resource.service.name".to_owned(),
                ..Default::default()
            },
            &metadata(org),
        );
        grpc_seen(answer, |messages| {
            markers_in(
                messages
                    .iter()
                    .flat_map(|m| &m.tag_values)
                    .map(|value| value.value.as_str()),
            )
        })
    }),
    ("gRPC MetricsQueryRange", |w, org| {
        let answer: Result<Vec<tempopb::QueryRangeResponse>, _> = grpc_stream_with(
            &w.gw.query_url(),
            "/tempopb.StreamingQuerier/MetricsQueryRange",
            tempopb::QueryRangeRequest {
                query: "{} | count_over_time() by (resource.service.name)".to_owned(),
                start: (w.now_secs - 3600) * SECOND,
                end: (w.now_secs + 60) * SECOND,
                step: 60 * SECOND,
                ..Default::default()
            },
            &metadata(org),
        );
        grpc_seen(answer, |messages| {
            messages
                .iter()
                .flat_map(|m| &m.series)
                .flat_map(|series| label_markers(&series.labels))
                .collect()
        })
    }),
    ("gRPC MetricsQueryInstant", |w, org| {
        let answer: Result<Vec<tempopb::QueryInstantResponse>, _> = grpc_stream_with(
            &w.gw.query_url(),
            "/tempopb.StreamingQuerier/MetricsQueryInstant",
            tempopb::QueryInstantRequest {
                query: "{} | count_over_time() by (resource.service.name)".to_owned(),
                start: (w.now_secs - 3600) * SECOND,
                end: (w.now_secs + 60) * SECOND,
            },
            &metadata(org),
        );
        grpc_seen(answer, |messages| {
            messages
                .iter()
                .flat_map(|m| &m.series)
                .flat_map(|series| label_markers(&series.labels))
                .collect()
        })
    }),
];

impl World {
    fn window(&self) -> String {
        format!("start={}&end={}", self.now_secs - 3600, self.now_secs + 60)
    }

    /// Every trace id through one trace-by-id form: the services of those found.
    fn trace_by_id(&self, org: Option<&str>, prefix: &str, protobuf: bool) -> Seen {
        let mut found = BTreeSet::new();
        let mut header_list = headers(org);
        if protobuf {
            header_list.push(("accept", "application/protobuf"));
        }
        for id in &self.trace_ids {
            let response = self.gw.get_with(&format!("{prefix}/{id}"), &header_list);
            if response.status == 404 && prefix == "/api/traces" {
                continue; // v1: unknown here
            }
            let seen = http_seen(&response, |body| {
                let trace = match (protobuf, prefix) {
                    (true, "/api/traces") => TracesData::decode(body).unwrap(),
                    (true, _) => {
                        spangate_integration_tests::tempopb::TraceByIdResponse::decode(body)
                            .unwrap()
                            .trace
                            .unwrap_or_default()
                    }
                    (false, "/api/traces") => tempo_json::decode_v1(&json(body)).unwrap(),
                    (false, _) => tempo_json::decode_v2(&json(body)).unwrap().trace,
                };
                markers_in(services(&trace).iter().map(String::as_str))
            });
            match seen {
                Seen::Markers(markers) => found.extend(markers),
                refused => return refused,
            }
        }
        Seen::Markers(found)
    }
}

/// One trace of `tenant` written through `receiver`, and the shared trace's spans of it.
fn tenant_request(
    tenant: &str,
    receiver: &str,
    trace_id: &[u8],
    shared_id: &[u8],
    start: u64,
) -> ExportTraceServiceRequest {
    let marker = format!("{tenant}-{receiver}");
    let mut spans = vec![
        fixtures::span(
            trace_id,
            &ids::span_id(),
            None,
            "op",
            SpanKind::Server,
            start,
            start + SECOND,
        ),
        fixtures::span(
            shared_id,
            &ids::span_id(),
            None,
            "shared",
            SpanKind::Server,
            start,
            start + SECOND,
        ),
    ];
    for span in &mut spans {
        span.attributes = vec![kv_str(&format!("owner.{tenant}.{receiver}"), "yes")];
    }
    fixtures::simple_request(&marker, spans)
}

fn send(
    gw: &TestGateway,
    receiver: &str,
    org: Option<&str>,
    request: &ExportTraceServiceRequest,
) -> Result<(), (u16, String)> {
    match receiver {
        "grpc" => gw
            .grpc()
            .export_with(request, false, &metadata(org))
            .map(|response| clients::assert_no_rejections(&response, "gRPC export"))
            .map_err(|status| (status.code() as u16, status.message().to_owned())),
        _ => {
            let mut header_list = headers(org);
            header_list.push(("content-type", "application/x-protobuf"));
            let response = clients::http_request(
                "POST",
                &gw.traces_url(),
                &header_list,
                Some(request.encode_to_vec()),
            );
            if response.status == 200 {
                Ok(())
            } else {
                let status = clients::RpcStatus::decode(response.body.as_slice()).unwrap();
                Err((response.status, status.message))
            }
        }
    }
}

fn multi_tenant_options(multi_tenant_queries: bool) -> GatewayOptions {
    GatewayOptions {
        extra_yaml: format!(
            "multitenancy:\n  enabled: true\n  multi_tenant_queries_enabled: {multi_tenant_queries}\n"
        ),
        ..GatewayOptions::default()
    }
}

fn world_with(options: GatewayOptions) -> World {
    let gw = TestGateway::start_with(options);
    let now = ids::now_nanos();
    let shared = ids::trace_id();
    let mut trace_ids = vec![ids::hex_id(&shared)];
    for (index, tenant) in TENANTS.iter().enumerate() {
        for (offset, receiver) in RECEIVERS.iter().enumerate() {
            let trace_id = ids::trace_id();
            trace_ids.push(ids::hex_id(&trace_id));
            let start = now - (30 + 10 * (2 * index + offset) as u64) * SECOND;
            let request = tenant_request(tenant, receiver, &trace_id, &shared, start);
            send(&gw, receiver, Some(tenant), &request).unwrap();
        }
    }
    World {
        gw,
        now_secs: now / SECOND,
        shared: ids::hex_id(&shared),
        trace_ids,
    }
}

#[test]
fn every_query_endpoint_shows_a_tenant_its_own_data_only() {
    let w = world_with(multi_tenant_options(true));
    let cases: [(Option<&str>, Seen); 7] = [
        (Some("team-a"), Seen::Markers(markers(&["team-a"]))),
        (Some("team-b"), Seen::Markers(markers(&["team-b"]))),
        (Some("team-c"), Seen::Markers(BTreeSet::new())),
        (Some("team-b|team-a"), Seen::Markers(markers(&TENANTS))),
        (None, Seen::Unauthenticated("no org id".to_owned())),
        (
            Some("team a"),
            Seen::Invalid("tenant ID 'team a' contains unsupported character ' '".to_owned()),
        ),
        (
            Some(".."),
            Seen::Invalid("tenant ID is '.' or '..'".to_owned()),
        ),
    ];
    let mut failures = Vec::new();
    for (endpoint, observe) in ENDPOINTS {
        for (org, expected) in &cases {
            let mut seen = observe(&w, *org);
            // Go's http.Error ends its body with a newline; gRPC messages have none.
            if let Seen::Unauthenticated(message) = &mut seen {
                *message = message.trim_end().to_owned();
            }
            if &seen != expected {
                failures.push(format!(
                    "{endpoint} as {org:?}: expected {expected:?}, got {seen:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        w.gw.logs()
    );
}

#[test]
fn a_trace_id_in_two_tenants_is_read_apart_and_together() {
    let w = world_with(multi_tenant_options(true));
    let path = format!("/api/v2/traces/{}", w.shared);
    let services_as = |org: &str| -> BTreeSet<String> {
        let response = w.gw.get_with(&path, &[(ORG_ID, org)]);
        assert_eq!(response.status, 200, "{}", response.describe());
        let trace = tempo_json::decode_v2(&response.json()).unwrap().trace;
        services(&trace).into_iter().collect()
    };
    assert_eq!(services_as("team-a"), markers(&["team-a"]));
    assert_eq!(services_as("team-b"), markers(&["team-b"]));
    let both = services_as("team-a|team-b");
    assert_eq!(both, markers(&TENANTS));
    // A search across both names the shared trace once.
    let search = w.gw.get_with(
        &format!(
            "/api/search?q={}&{}",
            url_encode("{ name = \"shared\" }"),
            w.window()
        ),
        &[(ORG_ID, "team-a|team-b")],
    );
    let answer = search.ok_json("search");
    let found: Vec<&str> = answer["traces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|trace| trace["traceID"].as_str())
        .collect();
    assert_eq!(found.len(), 1, "{answer}");
    // Metrics across both count the spans of both tenants.
    let count = w.gw.get_with(
        &format!(
            "/api/metrics/query?q={}&{}",
            url_encode("{ name = \"shared\" } | count_over_time()"),
            w.window()
        ),
        &[(ORG_ID, "team-a|team-b")],
    );
    let answer = count.ok_json("metrics");
    assert_eq!(answer["series"][0]["value"].as_f64(), Some(4.0), "{answer}");
}

#[test]
fn both_receivers_refuse_a_missing_or_bad_tenant_and_store_nothing() {
    let w = world_with(multi_tenant_options(true));
    let cases: [(Option<&str>, u16, u16, &str); 5] = [
        (None, 401, tonic::Code::Unauthenticated as u16, "no org id"),
        (
            Some(""),
            401,
            tonic::Code::Unauthenticated as u16,
            "no org id",
        ),
        (
            Some("team a"),
            400,
            tonic::Code::InvalidArgument as u16,
            "tenant ID 'team a' contains unsupported character ' '",
        ),
        (
            Some("team-a|team-b"),
            400,
            tonic::Code::InvalidArgument as u16,
            "multiple org IDs present",
        ),
        (
            Some("."),
            400,
            tonic::Code::InvalidArgument as u16,
            "tenant ID is '.' or '..'",
        ),
    ];
    let mut refused_ids = Vec::new();
    for (org, http_status, grpc_code, message) in cases {
        for receiver in RECEIVERS {
            let trace_id = ids::trace_id();
            refused_ids.push(ids::hex_id(&trace_id));
            let request =
                tenant_request("team-a", receiver, &trace_id, &trace_id, ids::now_nanos());
            let expected = if receiver == "grpc" {
                grpc_code
            } else {
                http_status
            };
            assert_eq!(
                send(&w.gw, receiver, org, &request),
                Err((expected, message.to_owned())),
                "{receiver} with {org:?}"
            );
        }
    }
    for id in refused_ids {
        let response =
            w.gw.get_with(&format!("/api/traces/{id}"), &[(ORG_ID, "team-a|team-b")]);
        assert_eq!(response.status, 404, "{id}: {}", response.describe());
    }
    let samples = w.gw.metrics();
    for (transport, reason, count) in [
        ("grpc", "unauthenticated", 2.0),
        ("http", "unauthenticated", 2.0),
        ("grpc", "invalid_tenant", 3.0),
        ("http", "invalid_tenant", 3.0),
    ] {
        assert_eq!(
            spangate_integration_tests::prom::sum(
                &samples,
                "spangate_requests_refused_total",
                &[("transport", transport), ("reason", reason)]
            ),
            count,
            "{transport} {reason}"
        );
    }
}

#[test]
fn without_multi_tenant_queries_a_query_reads_one_tenant() {
    let w = world_with(multi_tenant_options(false));
    let expected = Seen::Invalid("multiple org IDs present".to_owned());
    for (endpoint, observe) in ENDPOINTS {
        assert_eq!(observe(&w, Some("team-a|team-b")), expected, "{endpoint}");
        assert_eq!(
            observe(&w, Some("team-a|team-a")),
            Seen::Markers(markers(&["team-a"])),
            "{endpoint}"
        );
    }
}

#[test]
fn with_multitenancy_off_the_header_is_ignored() {
    let w = world_with(GatewayOptions::default());
    // Everything was written as `single-tenant`, whatever the header said.
    for (endpoint, observe) in ENDPOINTS {
        for org in [None, Some("team-a"), Some("not valid")] {
            assert_eq!(
                observe(&w, org),
                Seen::Markers(markers(&TENANTS)),
                "{endpoint} as {org:?}"
            );
        }
    }
    // A header no tenant could have is accepted too.
    let request = tenant_request(
        "team-a",
        "grpc",
        &ids::trace_id(),
        &ids::trace_id(),
        ids::now_nanos(),
    );
    for receiver in RECEIVERS {
        assert_eq!(
            send(&w.gw, receiver, Some("a|b"), &request),
            Ok(()),
            "{receiver}"
        );
    }
}

// --- overrides: limits and per-tenant pipelines ------------------------------------------

/// `google.rpc.Status` with its details, and the `RetryInfo` among them (declared here,
/// independently of the gateway).
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatusWithDetails {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types_any::Any>,
}

mod prost_types_any {
    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct Any {
        #[prost(string, tag = "1")]
        pub(super) type_url: String,
        #[prost(bytes = "vec", tag = "2")]
        pub(super) value: Vec<u8>,
    }
}

#[derive(Clone, PartialEq, prost::Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<ProtoDuration>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProtoDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// The RetryInfo delay of a gRPC status, in seconds, if it has one.
fn retry_delay_secs(status: &tonic::Status) -> Option<f64> {
    let details = RpcStatusWithDetails::decode(status.details()).ok()?;
    details
        .details
        .iter()
        .find(|any| any.type_url.ends_with("google.rpc.RetryInfo"))
        .and_then(|any| RetryInfo::decode(any.value.as_slice()).ok())
        .and_then(|info| info.retry_delay)
        .map(|delay| delay.seconds as f64 + f64::from(delay.nanos) / 1e9)
}

/// A request of `traces.len()` one-span traces of service `service`; a trace id given
/// with a payload size gets an attribute of that many bytes.
fn traces_request(service: &str, traces: &[(&[u8], usize)]) -> ExportTraceServiceRequest {
    let now = ids::now_nanos();
    let spans = traces
        .iter()
        .map(|(trace_id, payload)| {
            let mut span = fixtures::span(
                trace_id,
                &ids::span_id(),
                None,
                "op",
                SpanKind::Server,
                now,
                now + SECOND,
            );
            if *payload > 0 {
                span.attributes = vec![kv_str("payload", &"z".repeat(*payload))];
            }
            span
        })
        .collect();
    fixtures::simple_request(service, spans)
}

fn three_spans(service: &str) -> ExportTraceServiceRequest {
    let ids = [ids::trace_id(), ids::trace_id(), ids::trace_id()];
    traces_request(service, &[(&ids[0], 0), (&ids[1], 0), (&ids[2], 0)])
}

fn post(gw: &TestGateway, org: &str, request: &ExportTraceServiceRequest) -> clients::HttpResponse {
    clients::http_request(
        "POST",
        &gw.traces_url(),
        &[(ORG_ID, org), ("content-type", "application/x-protobuf")],
        Some(request.encode_to_vec()),
    )
}

#[test]
fn tenant_limits_refuse_as_tempo_does_and_count_by_tenant_and_reason() {
    let gw = TestGateway::start_with(GatewayOptions {
        extra_yaml: "multitenancy: { enabled: true }\n\
                     overrides:\n  live_trace_idle: 1h\n  defaults: { max_bytes_per_trace: 2000 }\n  tenants:\n    \
                     team-a: { ingestion_rate_spans: 1, ingestion_burst_spans: 3 }\n    \
                     team-b: { max_live_traces: 1 }\n"
            .to_owned(),
        ..GatewayOptions::default()
    });
    let grpc = gw.grpc();
    let team_a = metadata(Some("team-a"));
    // The bucket holds 3 spans and refills one a second: 3-span requests pass at most
    // once every 3 s, so one of a few sent back to back is refused.
    let refused = (0..10)
        .find_map(|_| grpc.export_with(&three_spans("a"), false, &team_a).err())
        .expect("a 3-span request beyond the rate is refused");
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert!(
        refused.message().starts_with("RATE_LIMITED: "),
        "{refused:?}"
    );
    let delay = retry_delay_secs(&refused).expect("RetryInfo");
    assert!((1.0..=3.0).contains(&delay), "retry after {delay} s");
    let limited = (0..10)
        .map(|_| post(&gw, "team-a", &three_spans("a")))
        .find(|response| response.status != 200)
        .expect("an HTTP request beyond the rate is refused");
    assert_eq!(limited.status, 429, "{}", limited.describe());
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3).contains(&retry_after), "Retry-After: {retry_after}");
    // More spans than the bucket holds: refused, and not retryable.
    let four = {
        let ids = [
            ids::trace_id(),
            ids::trace_id(),
            ids::trace_id(),
            ids::trace_id(),
        ];
        traces_request(
            "a",
            &[(&ids[0], 0), (&ids[1], 0), (&ids[2], 0), (&ids[3], 0)],
        )
    };
    let never = grpc.export_with(&four, false, &team_a).unwrap_err();
    assert_eq!(never.code(), tonic::Code::ResourceExhausted);
    assert_eq!(retry_delay_secs(&never), None, "{never:?}");
    assert_eq!(post(&gw, "team-a", &four).status, 413);
    // team-b is not rate limited, but holds one live trace at most.
    let first = ids::trace_id();
    grpc.export_with(
        &traces_request("b", &[(&first, 0)]),
        false,
        &metadata(Some("team-b")),
    )
    .map(|response| clients::assert_no_rejections(&response, "first trace"))
    .unwrap();
    let second = ids::trace_id();
    let response = grpc
        .export_with(
            &traces_request("b", &[(&first, 0), (&second, 0)]),
            false,
            &metadata(Some("team-b")),
        )
        .unwrap();
    let partial = response.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.starts_with("LIVE_TRACES_EXCEEDED: "),
        "{partial:?}"
    );
    let stored = |org: &str, id: &[u8]| {
        gw.get_with(
            &format!("/api/traces/{}", ids::hex_id(id)),
            &[(ORG_ID, org)],
        )
        .status
            == 200
    };
    assert!(stored("team-b", &first));
    assert!(!stored("team-b", &second));
    // Every tenant has max_bytes_per_trace 2000 from the defaults.
    let (small, large) = (ids::trace_id(), ids::trace_id());
    let response = post(
        &gw,
        "team-c",
        &traces_request("c", &[(&small, 10), (&large, 3000)]),
    );
    let decoded = clients::decode_http_export_response(&response, false);
    let partial = decoded.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.starts_with("TRACE_TOO_LARGE: "),
        "{partial:?}"
    );
    assert!(stored("team-c", &small));
    assert!(!stored("team-c", &large));

    let samples = gw.metrics();
    let discarded = |tenant: &str, reason: &str| {
        spangate_integration_tests::prom::sum(
            &samples,
            "spangate_discarded_spans_total",
            &[("tenant", tenant), ("reason", reason)],
        )
    };
    assert!(discarded("team-a", "rate_limited") >= 3.0 + 3.0 + 4.0 + 4.0);
    assert_eq!(discarded("team-b", "live_traces_exceeded"), 1.0);
    assert_eq!(discarded("team-c", "trace_too_large"), 1.0);
    assert_eq!(discarded("team-b", "rate_limited"), 0.0);
    for transport in RECEIVERS {
        assert!(
            spangate_integration_tests::prom::sum(
                &samples,
                "spangate_requests_refused_total",
                &[("transport", transport), ("reason", "rate_limited")],
            ) >= 2.0,
            "{transport}"
        );
    }
}

#[test]
fn each_tenant_runs_its_own_pipeline_and_span_metrics_carry_the_tenant() {
    let gw = TestGateway::start_with(GatewayOptions {
        extra_yaml: "multitenancy: { enabled: true }\n\
                     pipeline:\n  - plugin: builtin:span-metrics\n\
                     overrides:\n  tenants:\n    team-b:\n      pipeline:\n        \
                     - plugin: builtin:span-metrics\n        \
                     - plugin: builtin:sampling\n          config: { head: { probability: 0 } }\n"
            .to_owned(),
        ..GatewayOptions::default()
    });
    let (a_trace, b_trace) = (ids::trace_id(), ids::trace_id());
    for (org, service, trace) in [("team-a", "svc-a", &a_trace), ("team-b", "svc-b", &b_trace)] {
        gw.grpc()
            .export_with(
                &traces_request(service, &[(trace, 0)]),
                false,
                &metadata(Some(org)),
            )
            .map(|response| clients::assert_no_rejections(&response, org))
            .unwrap();
    }
    let status = |org: &str, id: &[u8]| {
        gw.get_with(
            &format!("/api/traces/{}", ids::hex_id(id)),
            &[(ORG_ID, org)],
        )
        .status
    };
    assert_eq!(status("team-a", &a_trace), 200);
    // team-b's own pipeline samples everything out: accepted, not stored.
    assert_eq!(status("team-b", &b_trace), 404);

    let samples = gw.metrics();
    let calls = |tenant: &str, service: &str| {
        spangate_integration_tests::prom::sum(
            &samples,
            "traces_spanmetrics_calls_total",
            &[("tenant", tenant), ("service", service)],
        )
    };
    assert_eq!(calls("team-a", "svc-a"), 1.0);
    assert_eq!(
        calls("team-b", "svc-b"),
        1.0,
        "metrics plugins see spans before samplers"
    );
    assert_eq!(calls("team-a", "svc-b"), 0.0);
    assert_eq!(calls("team-b", "svc-a"), 0.0);
    let every_series_has_a_tenant = samples
        .iter()
        .filter(|sample| sample.name.starts_with("traces_spanmetrics_"))
        .all(|sample| sample.labels.contains_key("tenant"));
    assert!(every_series_has_a_tenant);
    let sampler_calls = |tenant: &str| {
        spangate_integration_tests::prom::sum(
            &samples,
            "spangate_plugin_calls_total",
            &[("tenant", tenant), ("plugin", "sampling")],
        )
    };
    assert_eq!(sampler_calls("team-a"), 0.0);
    assert_eq!(sampler_calls("team-b"), 1.0);
}

/// A `builtin:sampling` tail sampler deciding after `wait`, keeping every trace or none.
fn tail_sampler(keep: bool, wait: &str) -> String {
    let probability = if keep { 1 } else { 0 };
    format!(
        "      pipeline:\n        - plugin: builtin:sampling\n          config:\n            \
         tail: {{ decision_wait: {wait}, always_keep_errors: false, policies: [{{ name: p{probability}, \
         probabilistic: {{ probability: {probability} }} }}] }}\n"
    )
}

#[test]
fn tail_sampling_decides_each_tenant_apart_and_each_recovers_after_a_crash() {
    let mut gw = TestGateway::start_with(GatewayOptions {
        extra_yaml: format!(
            "multitenancy: {{ enabled: true }}\noverrides:\n  tenants:\n    team-a:\n{}    team-b:\n{}",
            tail_sampler(false, "4s"),
            tail_sampler(true, "4s")
        ),
        ..GatewayOptions::default()
    });
    // The same trace id in both tenants: one decision each, by each tenant's sampler.
    let trace_id = ids::trace_id();
    for tenant in TENANTS {
        gw.grpc()
            .export_with(
                &traces_request(tenant, &[(&trace_id, 0)]),
                false,
                &metadata(Some(tenant)),
            )
            .map(|response| clients::assert_no_rejections(&response, tenant))
            .unwrap();
    }
    let path = format!("/api/v2/traces/{}", ids::hex_id(&trace_id));
    let spans_of = |gw: &TestGateway, tenant: &str| -> usize {
        let response = gw.get_with(&path, &[(ORG_ID, tenant)]);
        assert_eq!(response.status, 200, "{}", response.describe());
        let trace = tempo_json::decode_v2(&response.json()).unwrap().trace;
        fixtures::span_count(&trace.resource_spans)
    };
    // Pending: stored and readable before the decision.
    assert_eq!((spans_of(&gw, "team-a"), spans_of(&gw, "team-b")), (1, 1));
    // A crash before the decision: each tenant's pending trace is recovered and decided
    // by its own sampler after the restart.
    gw.kill();
    gw.restart();
    // Each tenant logged it once when its first write started it, and once more now:
    // nothing writes after the restart, so the start-up itself must start both.
    gw.wait_for_log("tail sampling: pending traces recovered", 4);
    let decided = (0..300).find(|_| {
        let dropped = spans_of(&gw, "team-a") == 0;
        if !dropped {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        dropped
    });
    assert!(
        decided.is_some(),
        "team-a's trace was never dropped\n{}",
        gw.logs()
    );
    assert_eq!(
        spans_of(&gw, "team-b"),
        1,
        "team-b keeps its copy of the trace"
    );
    let decisions = |tenant: &str, verdict: &str| {
        spangate_integration_tests::prom::sum(
            &gw.metrics(),
            "spangate_tail_traces_decided_total",
            &[("tenant", tenant), ("verdict", verdict)],
        )
    };
    for _ in 0..300 {
        if decisions("team-b", "keep") == 1.0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(decisions("team-a", "drop"), 1.0);
    assert_eq!(decisions("team-b", "keep"), 1.0);
    assert_eq!(
        decisions("team-a", "keep") + decisions("team-b", "drop"),
        0.0
    );
}

#[test]
fn a_reload_swaps_the_pipeline_of_every_started_tenant() {
    let mut gw = TestGateway::start_with(multi_tenant_options(true));
    let write = |gw: &TestGateway, tenant: &str| -> Vec<u8> {
        let trace_id = ids::trace_id();
        gw.grpc()
            .export_with(
                &traces_request(tenant, &[(&trace_id, 0)]),
                false,
                &metadata(Some(tenant)),
            )
            .map(|response| clients::assert_no_rejections(&response, tenant))
            .unwrap();
        trace_id
    };
    let stored = |gw: &TestGateway, tenant: &str, id: &[u8]| {
        gw.get_with(
            &format!("/api/traces/{}", ids::hex_id(id)),
            &[(ORG_ID, tenant)],
        )
        .status
            == 200
    };
    let before = write(&gw, "team-a");
    assert!(stored(&gw, "team-a", &before));
    // team-a (started) gets a pipeline that samples everything out; team-b (not started
    // yet) keeps the top-level one, empty.
    gw.reload_with(
        "multitenancy:\n  enabled: true\noverrides:\n  tenants:\n    team-a:\n      pipeline:\n        \
         - plugin: builtin:sampling\n          config: { head: { probability: 0 } }\n"
            .to_owned(),
    );
    gw.wait_for_log("pipeline reloaded", 1);
    let after = write(&gw, "team-a");
    assert!(
        !stored(&gw, "team-a", &after),
        "team-a's new pipeline drops its spans"
    );
    let other = write(&gw, "team-b");
    assert!(stored(&gw, "team-b", &other));
}

#[test]
fn a_tenant_keeps_its_traces_for_its_own_retention() {
    let gw = TestGateway::start_with(GatewayOptions {
        extra_yaml: "multitenancy: { enabled: true }\noverrides:\n  tenants:\n    team-a: { retention: 4s }\n"
            .to_owned(),
        ..GatewayOptions::default()
    });
    let (a_trace, b_trace) = (ids::trace_id(), ids::trace_id());
    for (org, trace) in [("team-a", &a_trace), ("team-b", &b_trace)] {
        gw.grpc()
            .export_with(
                &traces_request(org, &[(trace, 0)]),
                false,
                &metadata(Some(org)),
            )
            .map(|response| clients::assert_no_rejections(&response, org))
            .unwrap();
    }
    let written = std::time::Instant::now();
    let status = |org: &str, id: &[u8]| {
        gw.get_with(
            &format!("/api/traces/{}", ids::hex_id(id)),
            &[(ORG_ID, org)],
        )
        .status
    };
    assert_eq!(status("team-a", &a_trace), 200);
    // Bounded: retention plus a busy machine's sweeps.
    let expired = (0..360).find(|_| {
        let gone = status("team-a", &a_trace) == 404;
        if !gone {
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        gone
    });
    assert!(
        expired.is_some(),
        "team-a's trace outlived its retention\n{}",
        gw.logs()
    );
    assert!(
        written.elapsed() >= std::time::Duration::from_secs(4),
        "gone before its retention: {:?}",
        written.elapsed()
    );
    assert_eq!(
        status("team-b", &b_trace),
        200,
        "team-b has storage.retention (14d)"
    );
}
