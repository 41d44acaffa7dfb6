//! Search, tags, tag values and TraceQL metrics through the real binary, replaying what
//! Grafana's Tempo datasource sends (search, tags, tag values, metrics), over
//! four traces of three services written through OTLP/gRPC.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::{Span, Status, status::StatusCode};
use serde_json::Value;
use spangate_integration_tests::fixtures::{self, av_int, kv, kv_str};
use spangate_integration_tests::{GatewayOptions, TestGateway, ids, prom};

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000 * MS;

struct World {
    gw: TestGateway,
    /// Unix seconds a little after the newest trace.
    now_secs: u64,
    /// Trace ids (hex as Tempo prints them in search results), newest first.
    t1: String,
    t2: String,
    t3: String,
    t4: String,
}

fn error_status() -> Option<Status> {
    Some(Status {
        code: StatusCode::Error as i32,
        message: "failed".into(),
    })
}

/// Tempo prints trace ids in search results without leading zeros.
fn search_hex(id: &[u8]) -> String {
    let hex = ids::hex_id(id);
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

/// T1 (now-10s): api `GET /users` server 200ms error → db `SELECT` client 50ms.
/// T2 (now-20s): api `GET /users` 50ms ok. T3 (now-30s): api `POST /orders` 300ms
/// error → payments `charge` 250ms error with an `exception` event. T4 (now-40s):
/// payments `refund` 10ms.
fn world() -> World {
    world_with(GatewayOptions::default())
}

/// The same traces, every span moved into columnar blocks before the test queries them.
fn world_in_blocks() -> World {
    let w = world_with(GatewayOptions {
        blocks: "{ enabled: true, build_after: 0s, interval: 100ms }",
        ..GatewayOptions::default()
    });
    // Whole JSON bodies but v2's `metrics.inspectedBytes` (bytes read differ by tier).
    let by_id = |w: &World| -> Vec<(u16, Value)> {
        [&w.t1, &w.t2, &w.t3, &w.t4]
            .iter()
            .flat_map(|id| [format!("/api/v2/traces/{id}"), format!("/api/traces/{id}")])
            .map(|path| {
                let response = w.gw.get(&path);
                let mut body = response.json();
                if let Some(object) = body.as_object_mut() {
                    object.remove("metrics");
                }
                (response.status, body)
            })
            .collect()
    };
    // Read while the spans may be hot, moving or moved: always the same answer.
    let before = by_id(&w);
    w.gw.wait_for_metrics("every span in a block", |samples| {
        let accepted = prom::sum(samples, "spangate_spans_accepted_total", &[]);
        accepted > 0.0 && prom::sum(samples, "spangate_block_spans", &[]) == accepted
    });
    assert_eq!(by_id(&w), before, "trace by id from blocks");
    w
}

fn world_with(options: GatewayOptions) -> World {
    let gw = TestGateway::start_with(options);
    let grpc = gw.grpc();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let base = now - now % SECOND;
    let ids: Vec<Vec<u8>> = (0..4).map(|_| ids::trace_id()).collect();

    let t1_start = base - 10 * SECOND;
    let t1_root_id = ids::span_id();
    let mut t1_root = fixtures::span(
        &ids[0],
        &t1_root_id,
        None,
        "GET /users",
        SpanKind::Server,
        t1_start,
        t1_start + 200 * MS,
    );
    t1_root.status = error_status();
    t1_root.attributes = vec![
        kv_str("http.method", "GET"),
        kv_str("user.id", "42"),
        kv("http.status_code", av_int(500)),
    ];
    let t1_child = fixtures::span(
        &ids[0],
        &ids::span_id(),
        Some(&t1_root_id),
        "SELECT",
        SpanKind::Client,
        t1_start + 10 * MS,
        t1_start + 60 * MS,
    );

    let t2_start = base - 20 * SECOND;
    let mut t2_root = fixtures::span(
        &ids[1],
        &ids::span_id(),
        None,
        "GET /users",
        SpanKind::Server,
        t2_start,
        t2_start + 50 * MS,
    );
    t2_root.attributes = vec![
        kv_str("http.method", "GET"),
        kv_str("user.id", "7"),
        kv("http.status_code", av_int(200)),
    ];

    let t3_start = base - 30 * SECOND;
    let t3_root_id = ids::span_id();
    let mut t3_root = fixtures::span(
        &ids[2],
        &t3_root_id,
        None,
        "POST /orders",
        SpanKind::Server,
        t3_start,
        t3_start + 300 * MS,
    );
    t3_root.status = error_status();
    t3_root.attributes = vec![kv_str("http.method", "POST")];
    let mut t3_charge = fixtures::span(
        &ids[2],
        &ids::span_id(),
        Some(&t3_root_id),
        "charge",
        SpanKind::Client,
        t3_start + 20 * MS,
        t3_start + 270 * MS,
    );
    t3_charge.status = error_status();
    t3_charge.events = vec![Event {
        name: "exception".into(),
        time_unix_nano: t3_start + 100 * MS,
        attributes: vec![kv_str("exception.type", "CardDeclined")],
        dropped_attributes_count: 0,
    }];

    let t4_start = base - 40 * SECOND;
    let t4_root = fixtures::span(
        &ids[3],
        &ids::span_id(),
        None,
        "refund",
        SpanKind::Server,
        t4_start,
        t4_start + 10 * MS,
    );

    let api: Vec<Span> = vec![t1_root, t2_root, t3_root];
    grpc.export_ok(&fixtures::simple_request("api", api));
    grpc.export_ok(&fixtures::simple_request("db", vec![t1_child]));
    grpc.export_ok(&fixtures::simple_request(
        "payments",
        vec![t3_charge, t4_root],
    ));
    World {
        gw,
        now_secs: base / SECOND + 1,
        t1: search_hex(&ids[0]),
        t2: search_hex(&ids[1]),
        t3: search_hex(&ids[2]),
        t4: search_hex(&ids[3]),
    }
}

fn encode(text: &str) -> String {
    spangate_integration_tests::query::url_encode(text)
}

impl World {
    fn get_json(&self, path: &str) -> Value {
        let response = self.gw.get(path);
        assert_eq!(response.status, 200, "GET {path}: {}", response.describe());
        response.json()
    }

    fn search(&self, traceql: &str, extra: &str) -> Value {
        self.get_json(&format!("/api/search?q={}{extra}", encode(traceql)))
    }

    /// The trace ids a search returns, in order.
    fn found(&self, traceql: &str) -> Vec<String> {
        trace_ids(&self.search(traceql, ""))
    }
}

/// Tempo leaves an empty `traces` list out.
fn trace_ids(response: &Value) -> Vec<String> {
    assert!(response.is_object(), "{response}");
    response["traces"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .map(|t| t["traceID"].as_str().unwrap().to_owned())
        .collect()
}

fn attribute<'a>(attributes: &'a Value, key: &str) -> Option<&'a Value> {
    attributes
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

#[test]
fn grafana_builder_queries_find_exactly_the_matching_traces() {
    grafana_builder_queries_find_exactly_the_matching_traces_in(&world());
}

#[test]
fn grafana_builder_queries_find_exactly_the_matching_traces_over_blocks() {
    grafana_builder_queries_find_exactly_the_matching_traces_in(&world_in_blocks());
}

fn grafana_builder_queries_find_exactly_the_matching_traces_in(w: &World) {
    // Exactly what the Search builder emits: no spaces around operators.
    let response = w.search(
        r#"{resource.service.name="api" && name="GET /users" && duration>100ms && status=error}"#,
        "&limit=20&spss=3",
    );
    assert_eq!(trace_ids(&response), [w.t1.as_str()]);
    let trace = &response["traces"][0];
    assert_eq!(trace["rootServiceName"], "api");
    assert_eq!(trace["rootTraceName"], "GET /users");
    assert_eq!(trace["durationMs"], 200);
    assert!(
        trace["startTimeUnixNano"].is_string(),
        "uint64 as a string: {trace}"
    );
    let spanset = &trace["spanSets"][0];
    assert_eq!(spanset["matched"], 1);
    let span = &spanset["spans"][0];
    assert!(span["durationNanos"].is_string());
    assert_eq!(
        attribute(&span["attributes"], "service.name").unwrap()["stringValue"],
        "api"
    );
    assert_eq!(
        attribute(&span["attributes"], "status").unwrap()["stringValue"],
        "error"
    );
    assert_eq!(
        trace["spanSet"], *spanset,
        "Grafana reads the deprecated spanSet first"
    );

    assert_eq!(
        w.found("{}"),
        [w.t1.as_str(), w.t2.as_str(), w.t3.as_str(), w.t4.as_str()],
        "newest first"
    );
    assert_eq!(
        trace_ids(&w.search("{}", "&limit=2")),
        [w.t1.as_str(), w.t2.as_str()]
    );
    assert_eq!(
        w.found(r#"{resource.service.name="payments"}"#),
        [w.t3.as_str(), w.t4.as_str()]
    );
    assert_eq!(
        w.found(r#"{resource.service.name=~"db|payments"}"#),
        [w.t1.as_str(), w.t3.as_str(), w.t4.as_str()]
    );
    assert_eq!(w.found("{traceDuration>200ms}"), [w.t3.as_str()]);
    assert_eq!(w.found("{kind=client && status=error}"), [w.t3.as_str()]);
    assert_eq!(
        w.found(r#"{span.http.method="GET"}"#),
        [w.t1.as_str(), w.t2.as_str()]
    );
    assert_eq!(w.found("{span.http.status_code>=500}"), [w.t1.as_str()]);
    // Not indexed by default: answered by reading the candidates.
    assert_eq!(w.found(r#"{span.user.id="42"}"#), [w.t1.as_str()]);
    assert_eq!(w.found(r#"{.user.id=~"4.*"}"#), [w.t1.as_str()]);
    assert_eq!(w.found(r#"{event:name="exception"}"#), [w.t3.as_str()]);
    assert_eq!(
        w.found(r#"{event.exception.type="CardDeclined"}"#),
        [w.t3.as_str()]
    );
    assert!(w.found(r#"{name="nothing-like-this"}"#).is_empty());
}

#[test]
fn structural_operators_and_pipelines() {
    structural_operators_and_pipelines_in(&world());
}

#[test]
fn structural_operators_and_pipelines_over_blocks() {
    structural_operators_and_pipelines_in(&world_in_blocks());
}

fn structural_operators_and_pipelines_in(w: &World) {
    let response = w.search(r#"{name="GET /users"} >> {name="SELECT"}"#, "");
    assert_eq!(trace_ids(&response), [w.t1.as_str()]);
    let spans = &response["traces"][0]["spanSets"][0]["spans"];
    assert_eq!(
        spans.as_array().unwrap().len(),
        1,
        "the right-hand side: {response}"
    );
    assert_eq!(
        w.found(r#"{resource.service.name="api"} && {resource.service.name="payments"}"#),
        [w.t3.as_str()]
    );
    assert_eq!(w.found("{status=error} | count() > 1"), [w.t3.as_str()]);
    let by = w.search("{} | by(resource.service.name)", "");
    let t3 = by["traces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["traceID"] == w.t3.as_str())
        .unwrap();
    assert_eq!(
        t3["spanSets"].as_array().unwrap().len(),
        2,
        "api and payments: {t3}"
    );
    let select = w.search(r#"{name="GET /users"} | select(span.user.id)"#, "");
    let users: Vec<&str> = select["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| attribute(&t["spanSets"][0]["spans"][0]["attributes"], "user.id").unwrap()["stringValue"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["42", "7"]);
}

#[test]
fn windows_limits_legacy_tags_and_errors() {
    windows_limits_legacy_tags_and_errors_in(&world());
}

#[test]
fn windows_limits_legacy_tags_and_errors_over_blocks() {
    windows_limits_legacy_tags_and_errors_in(&world_in_blocks());
}

fn windows_limits_legacy_tags_and_errors_in(w: &World) {
    let window = format!("&start={}&end={}", w.now_secs - 25, w.now_secs);
    assert_eq!(
        trace_ids(&w.search("{}", &window)),
        [w.t1.as_str(), w.t2.as_str()]
    );

    // The legacy form: logfmt tags and durations (trace durations, summaries only).
    let legacy = w.get_json(&format!(
        "/api/search?tags={}&minDuration=100ms",
        encode("service.name=api")
    ));
    assert_eq!(trace_ids(&legacy), [w.t1.as_str(), w.t3.as_str()]);
    assert!(legacy["traces"][0].get("spanSets").is_none(), "{legacy}");

    let bad = w.gw.get(&format!("/api/search?q={}", encode("{ .foo = }")));
    assert_eq!(bad.status, 400);
    let text = bad.text();
    assert!(
        text.starts_with("invalid TraceQL query: parse error at line 1, col "),
        "{text}"
    );
    let unsupported = w.gw.get(&format!(
        "/api/search?q={}",
        encode("{} | compare({status=error})")
    ));
    assert_eq!(unsupported.status, 400);
    assert!(
        unsupported.text().contains("compare"),
        "{}",
        unsupported.text()
    );
}

#[test]
fn a_span_is_searchable_as_soon_as_its_export_is_acknowledged() {
    let gw = TestGateway::start();
    let grpc = gw.grpc();
    for round in 0..5 {
        let trace = ids::trace_id();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let service = format!("fresh-{round}");
        let span = fixtures::span(
            &trace,
            &ids::span_id(),
            None,
            "op",
            SpanKind::Server,
            now,
            now + MS,
        );
        grpc.export_ok(&fixtures::simple_request(&service, vec![span]));
        // No retry: the acknowledgement means the indexes hold it.
        let query = format!(r#"{{resource.service.name="{service}"}}"#);
        let response = gw.get(&format!("/api/search?q={}", encode(&query)));
        assert_eq!(
            trace_ids(&response.json()),
            [search_hex(&trace)],
            "round {round}"
        );
    }
}

#[test]
fn tag_names_and_values_as_grafana_asks_for_them() {
    tag_names_and_values_as_grafana_asks_for_them_in(&world());
}

#[test]
fn tag_names_and_values_as_grafana_asks_for_them_over_blocks() {
    tag_names_and_values_as_grafana_asks_for_them_in(&world_in_blocks());
}

fn tag_names_and_values_as_grafana_asks_for_them_in(w: &World) {
    assert_eq!(w.gw.get("/api/echo").status, 200);
    assert_eq!(w.gw.get("/api/status/buildinfo").status, 200);

    let tags = w.get_json("/api/v2/search/tags");
    let scope = |name: &str| -> Vec<String> {
        tags["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| {
                s["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(
        scope("resource").contains(&"service.name".to_owned()),
        "{tags}"
    );
    for key in ["http.method", "user.id", "http.status_code"] {
        assert!(scope("span").contains(&key.to_owned()), "{key} in {tags}");
    }
    assert!(
        scope("event").contains(&"exception.type".to_owned()),
        "{tags}"
    );
    assert!(scope("intrinsic").contains(&"name".to_owned()), "{tags}");
    let span_only = w.get_json("/api/v2/search/tags?scope=span");
    assert_eq!(
        span_only["scopes"].as_array().unwrap().len(),
        1,
        "{span_only}"
    );
    let v1 = w.get_json("/api/search/tags");
    let v1_names: Vec<&str> = v1["tagNames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        v1_names.contains(&"service.name") && v1_names.contains(&"http.method"),
        "{v1}"
    );

    let typed = |path: &str| -> Vec<(String, String)> {
        let mut values: Vec<(String, String)> = w.get_json(path)["tagValues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["type"].as_str().unwrap().to_owned(),
                    v["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        values.sort();
        values
    };
    let strings = |values: &[&str]| -> Vec<(String, String)> {
        values
            .iter()
            .map(|v| ("string".to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(
        typed("/api/v2/search/tag/resource.service.name/values"),
        strings(&["api", "db", "payments"])
    );
    assert_eq!(
        typed("/api/v2/search/tag/span.http.method/values"),
        strings(&["GET", "POST"])
    );
    assert_eq!(
        typed("/api/v2/search/tag/span.user.id/values"),
        strings(&["42", "7"])
    );
    assert_eq!(
        typed("/api/v2/search/tag/span.http.status_code/values"),
        [
            ("int".to_owned(), "200".to_owned()),
            ("int".to_owned(), "500".to_owned())
        ]
    );
    let statuses = typed("/api/v2/search/tag/status/values");
    assert!(
        statuses.contains(&("keyword".to_owned(), "error".to_owned())),
        "{statuses:?}"
    );
    // Filtered by the other builder fields, as Grafana sends it; an incomplete query is fine.
    let q = encode(r#"{resource.service.name="payments"}"#);
    assert_eq!(
        typed(&format!("/api/v2/search/tag/name/values?q={q}")),
        strings(&["charge", "refund"])
    );
    let partial = encode(r#"{resource.service.name="payments" && span.http.method="#);
    assert_eq!(
        typed(&format!("/api/v2/search/tag/name/values?q={partial}")),
        strings(&["charge", "refund"])
    );
    // Grafana may double-encode the dots of a tag name.
    assert_eq!(
        typed("/api/v2/search/tag/resource%252Eservice%252Ename/values"),
        strings(&["api", "db", "payments"])
    );
    let v1_values = w.get_json("/api/search/tag/service.name/values");
    let mut names: Vec<&str> = v1_values["tagValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["api", "db", "payments"]);
}

#[test]
fn traceql_metrics_count_every_matching_span() {
    traceql_metrics_count_every_matching_span_in(&world());
}

#[test]
fn traceql_metrics_count_every_matching_span_over_blocks() {
    traceql_metrics_count_every_matching_span_in(&world_in_blocks());
}

fn traceql_metrics_count_every_matching_span_in(w: &World) {
    let start = w.now_secs - 60;
    let end = w.now_secs;
    let query = encode("{} | count_over_time() by (resource.service.name)");
    let response = w.get_json(&format!(
        "/api/metrics/query_range?q={query}&start={start}&end={end}&step=10s"
    ));
    let mut totals: Vec<(String, f64)> = response["series"]
        .as_array()
        .unwrap_or_else(|| panic!("{response}"))
        .iter()
        .map(|series| {
            let service = attribute(&series["labels"], "resource.service.name")
                .map(|v| v["stringValue"].as_str().unwrap().to_owned())
                .unwrap_or_default();
            let total = series["samples"]
                .as_array()
                .unwrap_or_else(|| panic!("{response}"))
                .iter()
                .map(|s| s["value"].as_f64().unwrap_or(0.0)) // jsonpb leaves zeros out
                .sum();
            (service, total)
        })
        .collect();
    totals.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        totals,
        [
            ("api".to_owned(), 3.0),
            ("db".to_owned(), 1.0),
            ("payments".to_owned(), 2.0)
        ],
        "{response}"
    );
    let rate = w.get_json(&format!(
        "/api/metrics/query_range?q={}&start={start}&end={end}&step=10s",
        encode("{status=error} | rate()")
    ));
    let errors_per_second: f64 = rate["series"][0]["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"].as_f64().unwrap_or(0.0)) // jsonpb leaves zeros out
        .sum();
    assert!(
        (errors_per_second * 10.0 - 3.0).abs() < 1e-9,
        "3 error spans: {rate}"
    );
    let instant = w.get_json(&format!(
        "/api/metrics/query?q={}&start={start}&end={end}",
        encode("{} | count_over_time()")
    ));
    assert_eq!(
        instant["series"][0]["value"].as_f64(),
        Some(6.0),
        "6 spans in all: {instant}"
    );
}

/// Grafana's streaming mode: `StreamingQuerier/Search` on the query port, first the
/// "Save & test" probe (`{}`, limit 1), then a search.
#[test]
fn streaming_search_over_grpc_on_the_query_port() {
    use spangate::query::tempopb;
    let w = world();
    let search = |query: &str, limit: u32| -> Vec<String> {
        let messages: Vec<tempopb::SearchResponse> =
            spangate_integration_tests::clients::grpc_stream(
                &w.gw.query_url(),
                "/tempopb.StreamingQuerier/Search",
                tempopb::SearchRequest {
                    query: query.to_owned(),
                    limit,
                    start: u32::try_from(w.now_secs - 900).unwrap(),
                    end: u32::try_from(w.now_secs).unwrap(),
                    ..Default::default()
                },
            )
            .expect("Search");
        messages
            .iter()
            .flat_map(|m| m.traces.iter().map(|t| t.trace_id.clone()))
            .collect()
    };
    assert_eq!(search("{}", 1), [w.t1.as_str()]);
    assert_eq!(
        search(r#"{resource.service.name="payments"}"#, 20),
        [w.t3.as_str(), w.t4.as_str()]
    );
    let error = spangate_integration_tests::clients::grpc_stream::<tempopb::SearchResponse>(
        &w.gw.query_url(),
        "/tempopb.StreamingQuerier/Search",
        tempopb::SearchRequest {
            query: "{ .foo = }".to_owned(),
            limit: 20,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(error.code(), tonic::Code::InvalidArgument, "{error:?}");
}
