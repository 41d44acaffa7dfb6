//! gRPC `tempopb.StreamingQuerier` (Grafana's "streaming" search and metrics), served
//! on the HTTP query port as Tempo does with `stream_over_http_enabled`: a request that
//! is HTTP/2 with a `content-type` containing `application/grpc` goes to gRPC, anything
//! else to the HTTP routes. (`axum::serve` accepts HTTP/1.1 and cleartext HTTP/2 on the
//! same listener.)
//!
//! Every RPC is server-streaming in Tempo, which sends diffs while its queriers work.
//! Our answer is complete at once, so each stream carries the final answer and ends;
//! a large search answer is split by traces into messages of about 1 MiB (Grafana
//! appends the traces of each message and keeps the last `metrics`).

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{Version, header};
use prost::Message as _;
use tonic::codegen::{
    Body, BoxFuture, CompressionEncoding, Context, EnabledCompressionEncodings, Poll, Service,
    StdError, http, tokio_stream,
};
use tonic::server::NamedService;
use tonic::{Code, Status};
use tower::ServiceExt as _;

use super::error::QueryError;
use super::limits::QueryLimits;
use super::params;
use super::search::{fetch_tag_names, fetch_tag_values};
use super::tempopb::{self, SearchResponse};
use super::tenants;
use crate::search::SearchApi;
use crate::tenant::Tenancy;

/// The HTTP routes plus the gRPC service, as one service for the query listener.
pub(super) fn with_streaming_querier(
    http: Router,
    api: Arc<dyn SearchApi>,
    tenancy: Tenancy,
    limits: QueryLimits,
) -> Router {
    let grpc = tonic::service::Routes::new(StreamingQuerier {
        api,
        tenancy,
        limits,
    })
    .prepare()
    .into_axum_router();
    Router::new().fallback_service(tower::service_fn(move |request: Request| {
        let target = if is_grpc(&request) {
            grpc.clone()
        } else {
            http.clone()
        };
        target.oneshot(request)
    }))
}

fn is_grpc(request: &Request) -> bool {
    request.version() == Version::HTTP_2
        && request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|content_type| content_type.contains("application/grpc"))
}

/// `tempopb.StreamingQuerier`, written the way `tonic-build` would generate it.
#[derive(Clone)]
pub(super) struct StreamingQuerier {
    api: Arc<dyn SearchApi>,
    tenancy: Tenancy,
    limits: QueryLimits,
}

impl NamedService for StreamingQuerier {
    const NAME: &'static str = "tempopb.StreamingQuerier";
}

impl<B> Service<http::Request<B>> for StreamingQuerier
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let api = Served {
            api: self.api.clone(),
            tenancy: self.tenancy,
            limits: self.limits.clone(),
        };
        let method = request
            .uri()
            .path()
            .strip_prefix("/tempopb.StreamingQuerier/")
            .unwrap_or_default();
        match method {
            "Search" => stream(api, request, search),
            "SearchTags" => stream(api, request, search_tags),
            "SearchTagsV2" => stream(api, request, search_tags_v2),
            "SearchTagValues" => stream(api, request, search_tag_values),
            "SearchTagValuesV2" => stream(api, request, search_tag_values_v2),
            "MetricsQueryRange" => stream(api, request, metrics_query_range),
            "MetricsQueryInstant" => stream(api, request, metrics_query_instant),
            _ => Box::pin(async { Ok(Status::unimplemented("").into_http::<tonic::body::Body>()) }),
        }
    }
}

/// A request message's TraceQL expression, held to the size limit.
trait TraceQlRequest {
    fn traceql(&self) -> &str;
}

/// Every request of the querier carries its TraceQL in `query`.
macro_rules! traceql_in_query_field {
    ($($request:ty),+) => {
        $(impl TraceQlRequest for $request {
            fn traceql(&self) -> &str {
                &self.query
            }
        })+
    };
}

traceql_in_query_field!(
    tempopb::SearchRequest,
    tempopb::SearchTagsRequest,
    tempopb::SearchTagValuesRequest,
    tempopb::QueryRangeRequest,
    tempopb::QueryInstantRequest
);

/// One RPC's work: request message → the messages of the response stream.
type Answer<Req, Resp> = fn(&dyn SearchApi, &[String], Req) -> Result<Vec<Resp>, QueryError>;

/// What an RPC is served with.
#[derive(Clone)]
struct Served {
    api: Arc<dyn SearchApi>,
    tenancy: Tenancy,
    limits: QueryLimits,
}

/// Serves a server-streaming RPC: resolves the tenants from the request's metadata,
/// decodes the request, runs `answer` on the blocking pool, streams its messages, and
/// ends the stream (with the error, if any).
fn stream<Req, Resp, B>(
    served: Served,
    request: http::Request<B>,
    answer: Answer<Req, Resp>,
) -> BoxFuture<http::Response<tonic::body::Body>, Infallible>
where
    Req: prost::Message + Default + TraceQlRequest + Send + 'static,
    Resp: prost::Message + Send + 'static,
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    Box::pin(async move {
        let rpc = tower::service_fn(move |request: tonic::Request<Req>| {
            let Served {
                api,
                tenancy,
                limits,
            } = served.clone();
            async move {
                // Before anything else, as Tempo's streaming handlers check it.
                limits
                    .check_expression(request.get_ref().traceql())
                    .map_err(status)?;
                let tenants = tenants::of_grpc(&tenancy, request.metadata()).map_err(status)?;
                let message = request.into_inner();
                let messages = limits
                    .run(move || answer(api.as_ref(), &tenants, message))
                    .await
                    .map_err(status)?;
                let stream = tokio_stream::iter(messages.into_iter().map(Ok));
                Ok::<_, Status>(tonic::Response::new(stream))
            }
        });
        // Compressed requests are accepted; answers go uncompressed, as Tempo's
        // (gRPC compression is off by default there).
        let mut accept = EnabledCompressionEncodings::default();
        accept.enable(CompressionEncoding::Gzip);
        let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<Resp, Req>::default())
            .apply_compression_config(accept, EnabledCompressionEncodings::default());
        Ok(grpc.server_streaming(rpc, request).await)
    })
}

fn search(
    api: &dyn SearchApi,
    tenants: &[String],
    request: tempopb::SearchRequest,
) -> Result<Vec<SearchResponse>, QueryError> {
    let query = params::search_from_grpc(&request)?;
    let outcome = api.search(tenants, &query)?;
    Ok(split_by_size(
        tempopb::search_answer(&query, outcome),
        MAX_MESSAGE_BYTES,
    ))
}

fn search_tags(
    api: &dyn SearchApi,
    tenants: &[String],
    request: tempopb::SearchTagsRequest,
) -> Result<Vec<tempopb::SearchTagsResponse>, QueryError> {
    let query = params::tag_names_from_grpc(&request)?;
    let names = fetch_tag_names(api, tenants, &query)?;
    Ok(vec![tempopb::tag_names_v1(
        &names,
        query.scope,
        query.limit,
    )])
}

fn search_tags_v2(
    api: &dyn SearchApi,
    tenants: &[String],
    request: tempopb::SearchTagsRequest,
) -> Result<Vec<tempopb::SearchTagsV2Response>, QueryError> {
    let query = params::tag_names_from_grpc(&request)?;
    let names = fetch_tag_names(api, tenants, &query)?;
    Ok(vec![tempopb::tag_names_v2(
        &names,
        query.scope,
        query.limit,
    )])
}

fn search_tag_values(
    api: &dyn SearchApi,
    tenants: &[String],
    request: tempopb::SearchTagValuesRequest,
) -> Result<Vec<tempopb::SearchTagValuesResponse>, QueryError> {
    let query = params::tag_values_from_grpc(&request, false)?;
    let values = fetch_tag_values(api, tenants, &query)?;
    Ok(vec![tempopb::tag_values_v1(&values, query.limit)])
}

fn search_tag_values_v2(
    api: &dyn SearchApi,
    tenants: &[String],
    request: tempopb::SearchTagValuesRequest,
) -> Result<Vec<tempopb::SearchTagValuesV2Response>, QueryError> {
    let query = params::tag_values_from_grpc(&request, true)?;
    let values = fetch_tag_values(api, tenants, &query)?;
    Ok(vec![tempopb::tag_values_v2(&values, query.limit)])
}

fn metrics_query_range(
    api: &dyn SearchApi,
    tenants: &[String],
    request: tempopb::QueryRangeRequest,
) -> Result<Vec<tempopb::QueryRangeResponse>, QueryError> {
    let query = params::metrics_range_from_grpc(&request)?;
    let result = api.metrics_query(tenants, &query)?;
    Ok(vec![tempopb::range_answer(result)])
}

fn metrics_query_instant(
    api: &dyn SearchApi,
    tenants: &[String],
    request: tempopb::QueryInstantRequest,
) -> Result<Vec<tempopb::QueryInstantResponse>, QueryError> {
    let query = params::metrics_instant_from_grpc(&request)?;
    let result = api.metrics_query(tenants, &query)?;
    Ok(vec![tempopb::instant_from_range(tempopb::range_answer(
        result,
    ))])
}

/// Tempo's default `max_grpc_streaming_packet_size`; also well under gRPC-Go's 4 MiB
/// default receive limit, which Grafana keeps.
const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Splits a search answer by traces into messages of about `max_bytes` (a single
/// larger trace travels alone). Each trace is sent once and whole, since Grafana keeps
/// the first copy of a trace it sees; every message carries the metrics.
fn split_by_size(response: SearchResponse, max_bytes: usize) -> Vec<SearchResponse> {
    let SearchResponse { traces, metrics } = response;
    let mut messages = Vec::new();
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    for trace in traces {
        // The trace's bytes plus its field key and length prefix.
        let trace_bytes = trace.encoded_len() + 11;
        if !batch.is_empty() && batch_bytes + trace_bytes > max_bytes {
            messages.push(SearchResponse {
                traces: std::mem::take(&mut batch),
                metrics,
            });
            batch_bytes = 0;
        }
        batch_bytes += trace_bytes;
        batch.push(trace);
    }
    messages.push(SearchResponse {
        traces: batch,
        metrics,
    });
    messages
}

fn status(error: QueryError) -> Status {
    match error {
        QueryError::BadRequest(message) => Status::new(Code::InvalidArgument, message),
        // Tempo's interceptor returns dskit's plain `no org id` error, which gRPC-Go
        // sends as UNKNOWN; UNAUTHENTICATED says what it is.
        QueryError::Unauthorized(message) => Status::new(Code::Unauthenticated, message),
        QueryError::TooManyRequests(message) => Status::new(Code::ResourceExhausted, message),
        QueryError::Timeout(message) => Status::new(Code::DeadlineExceeded, message),
        QueryError::Internal(message) => {
            tracing::error!(error = %message, "gRPC query failed");
            Status::internal(message)
        }
    }
}

#[cfg(test)]
mod tests;
