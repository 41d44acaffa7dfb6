//! The search, tag and metrics routes through the router, over a fake engine.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use prost::Message as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use spangate_traceql::metrics::Sample;
use spangate_traceql::{AttrValue, Series};

use super::serve_with_search;
use super::tempopb::{self, SearchResponse};
use crate::model::{AnyValue, KeyValue, SINGLE_TENANT, any_value};
use crate::search::{
    MetricsQuery, MetricsResult, SearchApi, SearchError, SearchOutcome, SearchQuery, ServiceCounts,
    SpanMatch, SpanSetMatch, TagName, TagNames, TagNamesQuery, TagScope, TagValueKind,
    TagValuesQuery, TraceMatch, TypedTagValue,
};
use crate::store::StoreError;
use crate::tenant::{MultitenancyConfig, Tenancy};

/// What the fake engine was asked.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Call {
    Search(SearchQuery),
    TagNames(TagNamesQuery),
    TagValues(TagValuesQuery),
    Metrics(MetricsQuery),
}

/// An engine with canned answers that records each call with its tenant. A TraceQL
/// text containing `bad` is a 400, one containing `boom` a 500.
#[derive(Default)]
pub(super) struct FakeSearch {
    calls: Mutex<Vec<(String, Call)>>,
}

impl FakeSearch {
    pub(super) fn calls(&self) -> Vec<(String, Call)> {
        self.calls.lock().expect("lock").clone()
    }

    /// Records a call with its tenants joined by `|`.
    fn record(&self, tenants: &[String], call: Call) {
        self.calls
            .lock()
            .expect("lock")
            .push((tenants.join("|"), call));
    }
}

fn fail_on(text: &str) -> Result<(), SearchError> {
    if text.contains("bad") {
        return Err(SearchError::Invalid(
            "invalid TraceQL query: parse error at line 1, col 3: syntax error: unexpected IDENTIFIER"
                .to_owned(),
        ));
    }
    if text.contains("boom") {
        return Err(SearchError::Store(StoreError::CorruptMarker(
            "disk on fire".to_owned(),
        )));
    }
    Ok(())
}

impl SearchApi for FakeSearch {
    fn search(
        &self,
        tenants: &[String],
        request: &SearchQuery,
    ) -> Result<SearchOutcome, SearchError> {
        self.record(tenants, Call::Search(request.clone()));
        fail_on(&request.traceql)?;
        Ok(sample_outcome())
    }

    fn tag_names(
        &self,
        tenants: &[String],
        request: &TagNamesQuery,
    ) -> Result<TagNames, SearchError> {
        self.record(tenants, Call::TagNames(request.clone()));
        Ok(TagNames {
            resource: vec!["service.name".to_owned()],
            span: vec!["http.method".to_owned(), "db.system".to_owned()],
            event: vec!["exception.message".to_owned()],
            inspected_bytes: 42,
            ..TagNames::default()
        })
    }

    fn tag_values(
        &self,
        tenants: &[String],
        request: &TagValuesQuery,
    ) -> Result<Vec<TypedTagValue>, SearchError> {
        self.record(tenants, Call::TagValues(request.clone()));
        let value = |kind, value: &str| TypedTagValue {
            kind,
            value: value.to_owned(),
        };
        Ok(vec![
            value(TagValueKind::String, "api"),
            value(TagValueKind::Int, "200"),
            value(TagValueKind::String, "api"),
        ])
    }

    fn metrics_query(
        &self,
        tenants: &[String],
        request: &MetricsQuery,
    ) -> Result<MetricsResult, SearchError> {
        self.record(tenants, Call::Metrics(request.clone()));
        fail_on(&request.query)?;
        Ok(MetricsResult {
            series: vec![Series {
                labels: vec![("__name__".to_owned(), AttrValue::Str("rate".to_owned()))],
                samples: vec![
                    Sample {
                        timestamp_ms: 1_700_000_000_000,
                        value: 0.5,
                    },
                    Sample {
                        timestamp_ms: 1_700_000_060_000,
                        value: 2.0,
                    },
                ],
                exemplars: Vec::new(),
            }],
            inspected_traces: 0,
            inspected_bytes: 0,
            inspected_spans: 0,
            jobs: 0,
            complete: true,
        })
    }
}

/// An engine that refuses everything, to show what the query layer answers alone.
struct Unavailable;

fn unavailable<T>() -> Result<T, SearchError> {
    Err(SearchError::Invalid(
        "search is not available yet".to_owned(),
    ))
}

impl SearchApi for Unavailable {
    fn search(&self, _: &[String], _: &SearchQuery) -> Result<SearchOutcome, SearchError> {
        unavailable()
    }

    fn tag_names(&self, _: &[String], _: &TagNamesQuery) -> Result<TagNames, SearchError> {
        unavailable()
    }

    fn tag_values(
        &self,
        _: &[String],
        _: &TagValuesQuery,
    ) -> Result<Vec<TypedTagValue>, SearchError> {
        unavailable()
    }

    fn metrics_query(&self, _: &[String], _: &MetricsQuery) -> Result<MetricsResult, SearchError> {
        unavailable()
    }
}

fn string_attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

/// What the fake engine finds: one trace with one spanset (what [`sample_search`]
/// shows in Tempo's message).
fn sample_outcome() -> SearchOutcome {
    SearchOutcome {
        traces: vec![TraceMatch {
            trace_id: "4b9f66904f83c8a995b86d6e9a0aca03".to_owned(),
            root_service_name: "oracle-http-svc".to_owned(),
            root_trace_name: "POST /login".to_owned(),
            start_time_unix_nano: 1_795_461_516_200_232_070,
            duration_ms: 31,
            span_sets: vec![SpanSetMatch {
                spans: vec![SpanMatch {
                    span_id: "331aa79786a79023".to_owned(),
                    name: String::new(),
                    start_time_unix_nano: 1_795_461_516_200_232_070,
                    duration_nanos: 31_136_615,
                    attributes: vec![string_attribute("kind", "server")],
                }],
                matched: 1,
                attributes: Vec::new(),
            }],
            service_stats: BTreeMap::from([(
                "oracle-http-svc".to_owned(),
                ServiceCounts {
                    span_count: 2,
                    error_count: 0,
                },
            )]),
        }],
        inspected_traces: 0,
        inspected_bytes: 0,
        jobs: 0,
        complete: true,
    }
}

/// The fake engine's search as Tempo's message, without `metrics`.
pub(super) fn sample_search() -> SearchResponse {
    let spanset = tempopb::SpanSet {
        spans: vec![tempopb::Span {
            span_id: "331aa79786a79023".to_owned(),
            start_time_unix_nano: 1_795_461_516_200_232_070,
            duration_nanos: 31_136_615,
            attributes: vec![string_attribute("kind", "server")],
            ..tempopb::Span::default()
        }],
        matched: 1,
        attributes: Vec::new(),
    };
    SearchResponse {
        traces: vec![tempopb::TraceSearchMetadata {
            trace_id: "4b9f66904f83c8a995b86d6e9a0aca03".to_owned(),
            root_service_name: "oracle-http-svc".to_owned(),
            root_trace_name: "POST /login".to_owned(),
            start_time_unix_nano: 1_795_461_516_200_232_070,
            duration_ms: 31,
            span_set: Some(spanset.clone()),
            span_sets: vec![spanset],
            service_stats: BTreeMap::from([(
                "oracle-http-svc".to_owned(),
                tempopb::ServiceStats {
                    span_count: 2,
                    error_count: 0,
                },
            )]),
        }],
        metrics: None,
    }
}

/// Limits that never bound the fakes' answers.
fn test_limits() -> super::QueryLimits {
    super::QueryLimits::new(8, std::time::Duration::from_secs(60), 128 * 1024)
}

/// The query port's service over `api` (the trace and status routes aside).
pub(super) fn search_router(api: Arc<dyn SearchApi>) -> Router {
    serve_with_search(Router::new(), api, Tenancy::single(), test_limits())
}

/// `search_router` with multi-tenancy on (`multi`: multi-tenant queries allowed).
pub(super) fn multi_tenant_router(api: Arc<dyn SearchApi>, multi: bool) -> Router {
    let tenancy = Tenancy::new(&MultitenancyConfig {
        enabled: true,
        multi_tenant_queries_enabled: multi,
        ..MultitenancyConfig::default()
    });
    serve_with_search(Router::new(), api, tenancy, test_limits())
}

struct Answer {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        assert_eq!(self.content_type, "application/json", "{}", self.text());
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().expect("ASCII").to_owned())
        .unwrap_or_default();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}

async fn get(router: &Router, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(router, request.body(Body::empty()).expect("request")).await
}

fn fake() -> (Arc<FakeSearch>, Router) {
    let fake = Arc::new(FakeSearch::default());
    let router = search_router(fake.clone());
    (fake, router)
}

#[tokio::test]
async fn search_answers_tempo_json_and_ignores_the_tenant_header() {
    let (fake, router) = fake();
    let answer = get(
        &router,
        "/api/search?q=%7B+kind+%3D+server+%7D&limit=2&spss=1&start=1795457950&end=1795461550",
        &[("X-Scope-OrgID", "team-a")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let expected_spanset = json!({
        "spans": [{
            "spanID": "331aa79786a79023",
            "startTimeUnixNano": "1795461516200232070",
            "durationNanos": "31136615",
            "attributes": [{"key": "kind", "value": {"stringValue": "server"}}]
        }],
        "matched": 1
    });
    assert_eq!(
        answer.json(),
        json!({
            "traces": [{
                "traceID": "4b9f66904f83c8a995b86d6e9a0aca03",
                "rootServiceName": "oracle-http-svc",
                "rootTraceName": "POST /login",
                "startTimeUnixNano": "1795461516200232070",
                "durationMs": 31,
                "spanSet": expected_spanset,
                "spanSets": [expected_spanset],
                "serviceStats": {"oracle-http-svc": {"spanCount": 2}}
            }],
            "metrics": {}
        })
    );
    assert_eq!(
        fake.calls(),
        vec![(
            crate::model::SINGLE_TENANT.to_owned(),
            Call::Search(SearchQuery {
                traceql: "{ kind = server }".to_owned(),
                tags_search: false,
                limit: 2,
                spss: 1,
                start_unix_secs: Some(1_795_457_950),
                end_unix_secs: Some(1_795_461_550),
            })
        )]
    );
}

#[tokio::test]
async fn search_answers_protobuf_when_asked() {
    let (_, router) = fake();
    let answer = get(
        &router,
        "/api/search?q=%7B%7D",
        &[("Accept", "application/json, application/protobuf")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type, "application/protobuf");
    let mut expected = sample_search();
    expected.metrics = Some(tempopb::SearchMetrics::default());
    assert_eq!(
        SearchResponse::decode(answer.body.as_slice()).expect("protobuf"),
        expected
    );
}

#[tokio::test]
async fn legacy_tag_search_is_traceql_with_summaries_only() {
    let (fake, router) = fake();
    let answer = get(
        &router,
        "/api/search?tags=service.name%3Doracle-grpc-svc&minDuration=1ms",
        &[],
    )
    .await;
    let trace = &answer.json()["traces"][0];
    assert!(trace.get("spanSet").is_none() && trace.get("spanSets").is_none());
    assert!(trace.get("serviceStats").is_none());
    let calls = fake.calls();
    let (tenant, Call::Search(query)) = &calls[0] else {
        panic!("{calls:?}")
    };
    assert_eq!(tenant, SINGLE_TENANT);
    assert!(query.tags_search);
    assert_eq!(
        query.traceql,
        r#"{ resource.service.name = "oracle-grpc-svc" && traceDuration >= 1ms }"#
    );
}

#[tokio::test]
async fn bad_parameters_and_engine_errors_are_plain_text() {
    let (fake, router) = fake();
    let answer = get(&router, "/api/search?limit=0", &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.content_type, "text/plain; charset=utf-8");
    assert_eq!(answer.text(), "invalid limit: must be a positive number");
    assert!(
        fake.calls().is_empty(),
        "a bad request never reaches the engine"
    );

    let answer = get(&router, "/api/search?q=%7B+bad+%7D", &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.content_type, "text/plain; charset=utf-8");
    assert_eq!(
        answer.text(),
        "invalid TraceQL query: parse error at line 1, col 3: syntax error: unexpected IDENTIFIER"
    );

    let answer = get(&router, "/api/metrics/query_range?q=boom", &[]).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);

    let answer = get(&router, "/api/v2/search/tag/nonsense/values", &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer
            .text()
            .starts_with("please provide a valid tagName: "),
        "{}",
        answer.text()
    );
}

#[tokio::test]
async fn tag_names_v2_lists_scopes_and_intrinsics() {
    let (fake, router) = fake();
    let answer = get(&router, "/api/v2/search/tags?limit=5&q=%7B%7D", &[]).await;
    let body = answer.json();
    let scopes: Vec<&str> = body["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .map(|scope| scope["name"].as_str().expect("name"))
        .collect();
    assert_eq!(scopes, ["resource", "span", "event", "intrinsic"]);
    assert_eq!(
        body["scopes"][1]["tags"],
        json!(["db.system", "http.method"])
    );
    assert_eq!(
        body["scopes"][3]["tags"].as_array().map(Vec::len),
        Some(tempopb::INTRINSIC_TAGS.len())
    );
    assert_eq!(body["metrics"], json!({"inspectedBytes": "42"}));
    assert_eq!(
        fake.calls()[0].1,
        Call::TagNames(TagNamesQuery {
            scope: None,
            query: Some("{}".to_owned()),
            start_unix_secs: None,
            end_unix_secs: None,
            limit: Some(5),
        })
    );

    let answer = get(&router, "/api/search/tags", &[]).await;
    assert_eq!(
        answer.json(),
        json!({
            "tagNames": ["db.system", "exception.message", "http.method", "service.name"],
            "metrics": {"inspectedBytes": "42"}
        })
    );
}

#[tokio::test]
async fn intrinsic_tags_do_not_need_the_engine() {
    let router = search_router(Arc::new(Unavailable));
    let answer = get(&router, "/api/v2/search/tags?scope=intrinsic", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["scopes"][0]["name"], "intrinsic");
    let answer = get(&router, "/api/search/tags?scope=span", &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.text(), "search is not available yet");
    let answer = get(&router, "/api/search/tags?scope=spam", &[]).await;
    assert_eq!(answer.text(), "invalid scope: spam");
    // Nor do the values Tempo knows without looking.
    let answer = get(&router, "/api/v2/search/tag/kind/values", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json()["tagValues"][1],
        json!({"type": "keyword", "value": "server"})
    );
}

#[tokio::test]
async fn tag_values_decode_grafanas_double_encoding() {
    let (fake, router) = fake();
    let answer = get(
        &router,
        "/api/v2/search/tag/resource%252Eservice%252Ename/values?q=%7B+resource.cluster+%3D+%7D",
        &[],
    )
    .await;
    assert_eq!(
        answer.json(),
        json!({
            "tagValues": [{"type": "string", "value": "api"}, {"type": "int", "value": "200"}],
            "metrics": {}
        })
    );
    assert_eq!(
        fake.calls()[0].1,
        Call::TagValues(TagValuesQuery {
            tag: TagName::Identifier("resource.service.name".to_owned()),
            query: Some("{ resource.cluster = }".to_owned()),
            start_unix_secs: None,
            end_unix_secs: None,
            limit: None,
        })
    );

    let answer = get(&router, "/api/search/tag/service.name/values?limit=1", &[]).await;
    assert_eq!(answer.json(), json!({"tagValues": ["api"], "metrics": {}}));
    assert_eq!(
        fake.calls()[1].1,
        Call::TagValues(TagValuesQuery {
            tag: TagName::Attribute("service.name".to_owned()),
            query: None,
            start_unix_secs: None,
            end_unix_secs: None,
            limit: Some(1),
        })
    );
}

#[tokio::test]
async fn metrics_answer_range_and_instant() {
    let (fake, router) = fake();
    let answer = get(
        &router,
        "/api/metrics/query_range?q=%7B%7D+%7C+rate()&start=1700000000&end=1700000120&step=60&exemplars=3",
        &[],
    )
    .await;
    assert_eq!(
        answer.json(),
        json!({
            "series": [{
                "labels": [{"key": "__name__", "value": {"stringValue": "rate"}}],
                "samples": [
                    {"timestampMs": "1700000000000", "value": 0.5},
                    {"timestampMs": "1700000060000", "value": 2.0}
                ]
            }],
            "metrics": {}
        })
    );
    assert_eq!(
        fake.calls()[0].1,
        Call::Metrics(MetricsQuery {
            query: "{} | rate()".to_owned(),
            start_nanos: 1_700_000_000_000_000_000,
            end_nanos: 1_700_000_120_000_000_000,
            step_nanos: 60_000_000_000,
            instant: false,
            exemplars: Some(3),
        })
    );

    let answer = get(
        &router,
        "/api/metrics/query?query=%7B%7D+%7C+rate()&start=1700000000&end=1700000120",
        &[],
    )
    .await;
    assert_eq!(
        answer.json(),
        json!({
            "series": [{
                "labels": [{"key": "__name__", "value": {"stringValue": "rate"}}],
                "value": 0.5
            }],
            "metrics": {}
        })
    );
    let Call::Metrics(instant) = &fake.calls()[1].1 else {
        panic!("not a metrics call")
    };
    assert!(instant.instant);
    assert_eq!(instant.step_nanos, 120_000_000_000);
}

#[tokio::test]
async fn routes_take_any_method_and_unknown_paths_are_go_404s() {
    let (_, router) = fake();
    let post = Request::post("/api/search?q=%7B%7D")
        .body(Body::empty())
        .expect("request");
    assert_eq!(send(&router, post).await.status, StatusCode::OK);
    let answer = get(&router, "/api/search/tag/x/nothing", &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.text(), "404 page not found\n");
}

#[tokio::test]
async fn answers_are_gzipped_when_asked() {
    let (_, router) = fake();
    let response = router
        .clone()
        .oneshot(
            Request::get("/api/v2/search/tags")
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
}

#[tokio::test]
async fn scope_filter_reaches_the_engine() {
    let (fake, router) = fake();
    let answer = get(
        &router,
        "/api/v2/search/tags?scope=span&start=5&end=10",
        &[],
    )
    .await;
    assert_eq!(
        answer.json()["scopes"],
        json!([{"name": "span", "tags": ["db.system", "http.method"]}])
    );
    let Call::TagNames(query) = &fake.calls()[0].1 else {
        panic!("not a tag-names call")
    };
    assert_eq!(
        (query.scope, query.start_unix_secs, query.end_unix_secs),
        (Some(TagScope::Span), Some(5), Some(10))
    );
}

/// Every search route, for the tenant tests.
const SEARCH_ROUTES: [&str; 7] = [
    "/api/search?q=%7B%7D",
    "/api/search/tags",
    "/api/v2/search/tags",
    "/api/search/tag/service.name/values",
    "/api/v2/search/tag/resource.service.name/values",
    "/api/metrics/query_range?q=%7B%7D%20%7C%20rate()&start=1700000000&end=1700000600",
    "/api/metrics/query?q=%7B%7D%20%7C%20rate()&start=1700000000&end=1700000600",
];

#[tokio::test]
async fn with_multitenancy_every_route_needs_a_tenant() {
    let fake = Arc::new(FakeSearch::default());
    let router = multi_tenant_router(fake.clone(), true);
    for route in SEARCH_ROUTES {
        let missing = get(&router, route, &[]).await;
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED, "{route}");
        assert_eq!(missing.text(), "no org id\n", "{route}");
        let empty = get(&router, route, &[("X-Scope-OrgID", "")]).await;
        assert_eq!(empty.status, StatusCode::UNAUTHORIZED, "{route}");
        let bad = get(&router, route, &[("X-Scope-OrgID", "a/b")]).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{route}");
        assert_eq!(
            bad.text(),
            "tenant ID 'a/b' contains unsupported character '/'",
            "{route}"
        );
        let unsafe_id = get(&router, route, &[("X-Scope-OrgID", "..")]).await;
        assert_eq!(unsafe_id.status, StatusCode::BAD_REQUEST, "{route}");
    }
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
    for route in SEARCH_ROUTES {
        let answer = get(&router, route, &[("X-Scope-OrgID", "team-b|team-a|team-b")]).await;
        assert_eq!(answer.status, StatusCode::OK, "{route}: {}", answer.text());
    }
    let tenants: Vec<String> = fake
        .calls()
        .into_iter()
        .map(|(tenants, _)| tenants)
        .collect();
    assert_eq!(
        tenants,
        vec!["team-a|team-b".to_owned(); SEARCH_ROUTES.len()]
    );
}

#[tokio::test]
async fn without_multi_tenant_queries_one_tenant_only() {
    let fake = Arc::new(FakeSearch::default());
    let router = multi_tenant_router(fake.clone(), false);
    let answer = get(&router, "/api/search?q=%7B%7D", &[("X-Scope-OrgID", "a|b")]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.text(), "multiple org IDs present");
    let answer = get(&router, "/api/search?q=%7B%7D", &[("X-Scope-OrgID", "a|a")]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(fake.calls()[0].0, "a");
}

#[tokio::test]
async fn without_multitenancy_the_header_is_ignored() {
    let (fake, router) = fake();
    for value in ["team-a", "a/b", ""] {
        let answer = get(&router, "/api/search/tags", &[("X-Scope-OrgID", value)]).await;
        assert_eq!(answer.status, StatusCode::OK, "{value:?}");
    }
    assert!(
        fake.calls()
            .iter()
            .all(|(tenant, _)| tenant == SINGLE_TENANT)
    );
}
