//! `tempopb.StreamingQuerier` and plain HTTP/1.1 on one real listener.

use std::net::SocketAddr;
use std::sync::Arc;

use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};

use super::*;
use crate::model::SINGLE_TENANT;
use crate::query::tempopb::TraceSearchMetadata;
use crate::query::tests::{Call, FakeSearch, multi_tenant_router, sample_search, search_router};
use crate::search::{SearchQuery, TagName, TagValuesQuery};

/// Serves the query router over `api` on an ephemeral port, as `lib.rs` serves it.
async fn serve(api: Arc<dyn SearchApi>) -> SocketAddr {
    serve_router(search_router(api)).await
}

async fn serve_router(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

async fn client(address: SocketAddr) -> tonic::client::Grpc<Channel> {
    let channel = Endpoint::from_shared(format!("http://{address}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    tonic::client::Grpc::new(channel)
}

/// Calls a server-streaming method and collects the stream.
async fn call<Req, Resp>(
    client: &mut tonic::client::Grpc<Channel>,
    method: &'static str,
    request: tonic::Request<Req>,
) -> Result<Vec<Resp>, Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    client
        .ready()
        .await
        .map_err(|error| Status::unavailable(error.to_string()))?;
    let path = PathAndQuery::from_static(method);
    let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
    let mut stream = client
        .server_streaming(request, path, codec)
        .await?
        .into_inner();
    let mut messages = Vec::new();
    while let Some(message) = stream.message().await? {
        messages.push(message);
    }
    Ok(messages)
}

fn with_tenant<T>(message: T, tenant: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-scope-orgid", tenant.parse().expect("ASCII"));
    request
}

#[tokio::test]
async fn streaming_querier_shares_the_http_port() {
    let fake = Arc::new(FakeSearch::default());
    let address = serve(fake.clone()).await;
    let mut grpc = client(address).await;

    // Grafana's streaming "Save & test": `{}`, limit 1, seconds, spss left at 0.
    let search = tempopb::SearchRequest {
        query: "{}".to_owned(),
        limit: 1,
        start: 1_795_457_950,
        end: 1_795_461_550,
        ..tempopb::SearchRequest::default()
    };
    let messages: Vec<SearchResponse> = call(
        &mut grpc,
        "/tempopb.StreamingQuerier/Search",
        with_tenant(search, "team-a"),
    )
    .await
    .expect("search");
    let mut expected = sample_search();
    expected.metrics = Some(tempopb::SearchMetrics::default());
    assert_eq!(messages, vec![expected]);
    assert_eq!(
        fake.calls()[0],
        (
            crate::model::SINGLE_TENANT.to_owned(),
            Call::Search(SearchQuery {
                traceql: "{}".to_owned(),
                tags_search: false,
                limit: 1,
                spss: 3,
                start_unix_secs: Some(1_795_457_950),
                end_unix_secs: Some(1_795_461_550),
            })
        )
    );

    let tags: Vec<tempopb::SearchTagsV2Response> = call(
        &mut grpc,
        "/tempopb.StreamingQuerier/SearchTagsV2",
        tonic::Request::new(tempopb::SearchTagsRequest::default()),
    )
    .await
    .expect("tags");
    let scopes: Vec<&str> = tags[0]
        .scopes
        .iter()
        .map(|scope| scope.name.as_str())
        .collect();
    assert_eq!(scopes, ["resource", "span", "event", "intrinsic"]);
    assert_eq!(fake.calls()[1].0, SINGLE_TENANT);

    let values: Vec<tempopb::SearchTagValuesV2Response> = call(
        &mut grpc,
        "/tempopb.StreamingQuerier/SearchTagValuesV2",
        tonic::Request::new(tempopb::SearchTagValuesRequest {
            tag_name: "resource.service.name".to_owned(),
            query: "{ span.x = }".to_owned(),
            ..tempopb::SearchTagValuesRequest::default()
        }),
    )
    .await
    .expect("tag values");
    let pairs: Vec<(&str, &str)> = values[0]
        .tag_values
        .iter()
        .map(|value| (value.r#type.as_str(), value.value.as_str()))
        .collect();
    assert_eq!(pairs, [("string", "api"), ("int", "200")]);
    assert_eq!(
        fake.calls()[2].1,
        Call::TagValues(TagValuesQuery {
            tag: TagName::Identifier("resource.service.name".to_owned()),
            query: Some("{ span.x = }".to_owned()),
            start_unix_secs: None,
            end_unix_secs: None,
            limit: None,
        })
    );

    let range: Vec<tempopb::QueryRangeResponse> = call(
        &mut grpc,
        "/tempopb.StreamingQuerier/MetricsQueryRange",
        tonic::Request::new(tempopb::QueryRangeRequest {
            query: "{} | rate()".to_owned(),
            start: 1_700_000_000_000_000_000,
            end: 1_700_000_120_000_000_000,
            step: 60_000_000_000,
            ..tempopb::QueryRangeRequest::default()
        }),
    )
    .await
    .expect("metrics");
    assert_eq!(range[0].series[0].samples.len(), 2);
    let instant: Vec<tempopb::QueryInstantResponse> = call(
        &mut grpc,
        "/tempopb.StreamingQuerier/MetricsQueryInstant",
        tonic::Request::new(tempopb::QueryInstantRequest {
            query: "{} | rate()".to_owned(),
            start: 1_700_000_000_000_000_000,
            end: 1_700_000_120_000_000_000,
        }),
    )
    .await
    .expect("instant");
    assert_eq!(instant[0].series[0].value, 0.5);

    // Plain HTTP/1.1 on the same port.
    let body = reqwest::get(format!("http://{address}/api/search?q=%7B%7D&limit=1"))
        .await
        .expect("HTTP/1.1 search")
        .text()
        .await
        .expect("body");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        json["traces"][0]["traceID"],
        "4b9f66904f83c8a995b86d6e9a0aca03"
    );
    // A gRPC content type over HTTP/1.1 is not gRPC (Tempo routes on both).
    let status = reqwest::Client::new()
        .post(format!("http://{address}/tempopb.StreamingQuerier/Search"))
        .header("content-type", "application/grpc")
        .send()
        .await
        .expect("HTTP/1.1 post")
        .status();
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn errors_end_the_stream_with_a_grpc_status() {
    let fake = Arc::new(FakeSearch::default());
    let address = serve(fake.clone()).await;
    let mut grpc = client(address).await;

    let invalid = tempopb::SearchRequest {
        query: "{ bad }".to_owned(),
        ..tempopb::SearchRequest::default()
    };
    let status = call::<_, SearchResponse>(
        &mut grpc,
        "/tempopb.StreamingQuerier/Search",
        tonic::Request::new(invalid),
    )
    .await
    .expect_err("bad TraceQL");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("invalid TraceQL query: "));

    let backwards = tempopb::SearchRequest {
        start: 10,
        end: 5,
        ..tempopb::SearchRequest::default()
    };
    let status = call::<_, SearchResponse>(
        &mut grpc,
        "/tempopb.StreamingQuerier/Search",
        tonic::Request::new(backwards),
    )
    .await
    .expect_err("bad window");
    assert_eq!(
        (status.code(), status.message()),
        (
            Code::InvalidArgument,
            "http parameter start must be before end. received start=10 end=5"
        )
    );
    assert_eq!(
        fake.calls().len(),
        1,
        "a bad request never reaches the engine"
    );

    let status = call::<_, SearchResponse>(
        &mut grpc,
        "/tempopb.StreamingQuerier/Explain",
        tonic::Request::new(tempopb::SearchRequest::default()),
    )
    .await
    .expect_err("unknown method");
    assert_eq!(status.code(), Code::Unimplemented);

    let status = call::<_, tempopb::SearchTagsResponse>(
        &mut grpc,
        "/tempopb.Querier/SearchTags",
        tonic::Request::new(tempopb::SearchTagsRequest::default()),
    )
    .await
    .expect_err("unknown service");
    assert_eq!(status.code(), Code::Unimplemented);
}

#[tokio::test]
async fn with_multitenancy_the_tenant_comes_from_the_metadata() {
    let fake = Arc::new(FakeSearch::default());
    let address = serve_router(multi_tenant_router(fake.clone(), true)).await;
    let mut grpc = client(address).await;
    let status = call::<_, tempopb::SearchTagsResponse>(
        &mut grpc,
        "/tempopb.StreamingQuerier/SearchTags",
        tonic::Request::new(tempopb::SearchTagsRequest::default()),
    )
    .await
    .expect_err("no tenant");
    assert_eq!(
        (status.code(), status.message()),
        (Code::Unauthenticated, "no org id")
    );
    let status = call::<_, tempopb::QueryRangeResponse>(
        &mut grpc,
        "/tempopb.StreamingQuerier/MetricsQueryRange",
        with_tenant(tempopb::QueryRangeRequest::default(), "a b"),
    )
    .await
    .expect_err("bad tenant");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "tenant ID 'a b' contains unsupported character ' '"
    );
    assert!(fake.calls().is_empty());
    let search = tempopb::SearchRequest {
        query: "{}".to_owned(),
        ..tempopb::SearchRequest::default()
    };
    call::<_, SearchResponse>(
        &mut grpc,
        "/tempopb.StreamingQuerier/Search",
        with_tenant(search, "team-b|team-a"),
    )
    .await
    .expect("search");
    assert_eq!(fake.calls()[0].0, "team-a|team-b");
}

#[test]
fn large_search_answers_split_by_whole_traces() {
    let trace = |index: usize| TraceSearchMetadata {
        trace_id: format!("{index:032x}"),
        root_service_name: "x".repeat(400),
        ..TraceSearchMetadata::default()
    };
    let metrics = Some(tempopb::SearchMetrics {
        inspected_traces: 10,
        ..tempopb::SearchMetrics::default()
    });
    let response = SearchResponse {
        traces: (0..10).map(trace).collect(),
        metrics,
    };
    let messages = split_by_size(response.clone(), 1_000);
    assert!(messages.len() > 1);
    for message in &messages {
        assert!(message.encoded_len() <= 1_000 || message.traces.len() == 1);
        assert_eq!(message.metrics, metrics);
    }
    let traces: Vec<_> = messages
        .into_iter()
        .flat_map(|message| message.traces)
        .collect();
    assert_eq!(traces, response.traces);
    assert_eq!(split_by_size(SearchResponse::default(), 1_000).len(), 1);
}
