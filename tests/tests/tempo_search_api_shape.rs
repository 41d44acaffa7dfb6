//! The search API's wire shape through the real binary, on answers that do not depend
//! on the search engine: HTTP/1.1 and gRPC (`tempopb.StreamingQuerier` over cleartext
//! HTTP/2) share the query port, parameters are checked with Tempo's 400 texts, and the
//! answers Tempo gives without reading data (intrinsic tag names, status and kind
//! values) match recorded Tempo answers.

use prost::Message;
use serde_json::{Value, json};
use spangate::query::tempopb;
use spangate_integration_tests::TestGateway;
use spangate_integration_tests::clients::grpc_stream;
use tonic::Code;

/// Calls a server-streaming `tempopb.StreamingQuerier` method on the query port.
fn stream<Resp: Message + Default>(
    gw: &TestGateway,
    method: &'static str,
    request: impl Message,
) -> Result<Vec<Resp>, tonic::Status> {
    grpc_stream(&gw.query_url(), method, request)
}

/// Recorded `search_tag_values_v2_status.json`: Tempo answers it without reading data.
fn recorded_status_values() -> Value {
    json!({
        "tagValues": [
            {"type": "keyword", "value": "unset"},
            {"type": "keyword", "value": "ok"},
            {"type": "keyword", "value": "error"}
        ],
        "metrics": {}
    })
}

#[test]
fn http_and_grpc_share_the_query_port() {
    let gw = TestGateway::start();

    // HTTP/1.1.
    let resp = gw.get("/api/v2/search/tag/status/values");
    assert_eq!(resp.status, 200, "{}", resp.describe());
    assert_eq!(resp.content_type.as_deref(), Some("application/json"));
    assert_eq!(resp.json(), recorded_status_values());

    let resp = gw.get("/api/v2/search/tags?scope=intrinsic");
    let body = resp.ok_json("intrinsic tags");
    assert_eq!(body["scopes"][0]["name"], "intrinsic");
    assert_eq!(
        body["scopes"][0]["tags"].as_array().map(Vec::len),
        Some(tempopb::INTRINSIC_TAGS.len())
    );

    // gRPC on the same port.
    let tags: Vec<tempopb::SearchTagsV2Response> = stream(
        &gw,
        "/tempopb.StreamingQuerier/SearchTagsV2",
        tempopb::SearchTagsRequest {
            scope: "intrinsic".into(),
            ..Default::default()
        },
    )
    .expect("SearchTagsV2");
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].scopes[0].name, "intrinsic");

    let kinds: Vec<tempopb::SearchTagValuesV2Response> = stream(
        &gw,
        "/tempopb.StreamingQuerier/SearchTagValuesV2",
        tempopb::SearchTagValuesRequest {
            tag_name: "kind".into(),
            ..Default::default()
        },
    )
    .expect("SearchTagValuesV2");
    let values: Vec<&str> = kinds[0]
        .tag_values
        .iter()
        .map(|value| value.value.as_str())
        .collect();
    assert_eq!(
        values,
        [
            "client",
            "server",
            "producer",
            "consumer",
            "internal",
            "unspecified"
        ]
    );
}

#[test]
fn bad_requests_are_rejected_as_tempo_rejects_them() {
    let gw = TestGateway::start();
    for (path, message) in [
        (
            "/api/search?limit=0",
            "invalid limit: must be a positive number",
        ),
        (
            "/api/search?q=%7B%7D&tags=a%3Db",
            "invalid request: can't specify tags and q in the same query",
        ),
        (
            "/api/search?start=20&end=10",
            "http parameter start must be before end. received start=20 end=10",
        ),
        ("/api/v2/search/tags?scope=trace", "invalid scope: trace"),
        (
            "/api/metrics/query_range?q=%7B%7D&start=20&end=10",
            "end must be greater than start",
        ),
    ] {
        let resp = gw.get(path);
        assert_eq!(resp.status, 400, "GET {path}: {}", resp.describe());
        assert_eq!(
            resp.media_type().as_deref(),
            Some("text/plain"),
            "GET {path}"
        );
        assert_eq!(resp.text(), message, "GET {path}");
    }

    let status = stream::<tempopb::SearchResponse>(
        &gw,
        "/tempopb.StreamingQuerier/Search",
        tempopb::SearchRequest {
            query: "{}".into(),
            start: 10,
            end: 5,
            ..Default::default()
        },
    )
    .expect_err("a window that ends before it starts");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "http parameter start must be before end. received start=10 end=5"
    );
}
