//! Jaeger's Thrift over HTTP: `POST /api/traces` with one binary-Thrift `Batch` as the
//! body (chunked bodies without `Content-Length` too), answered `202 Accepted` like
//! Jaeger's collector. Errors are plain text naming the problem.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http_body_util::{BodyExt, Limited};

use super::submit::{Sink, SubmitError};
use super::thrift::{BinaryProtocol, read_batch};
use crate::receiver::stats::{Refusal, Transport};
use crate::receiver::status;
use crate::tenant::{ORG_ID_HEADER, Tenancy};

const TRANSPORT: Transport = Transport::JaegerThriftHttp;
/// The media types Jaeger's collector accepts for binary Thrift.
const CONTENT_TYPES: [&str; 2] = [
    "application/x-thrift",
    "application/vnd.apache.thrift.binary",
];

#[derive(Clone)]
struct ReceiverState {
    sink: Sink,
    tenancy: Tenancy,
    max_body_bytes: usize,
}

/// The router: `POST /api/traces`; unknown paths get 404, other methods 405.
pub(crate) fn router(sink: Sink, tenancy: Tenancy, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/api/traces", post(post_traces))
        .fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found\n") })
        .with_state(ReceiverState {
            sink,
            tenancy,
            max_body_bytes,
        })
}

/// A refusal: status, message, and what it is counted as.
struct Refused {
    status: StatusCode,
    message: String,
    refusal: Option<Refusal>,
    retry_after_seconds: Option<u64>,
}

impl Refused {
    fn new(status: StatusCode, refusal: Refusal, message: String) -> Refused {
        Refused {
            status,
            message,
            refusal: Some(refusal),
            retry_after_seconds: None,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = (self.status, format!("{}\n", self.message)).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

async fn post_traces(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match accept(&state, &headers, body).await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(refused) => {
            if let Some(refusal) = refused.refusal {
                state.sink.refused(TRANSPORT, refusal);
            }
            refused.into_response()
        }
    }
}

async fn accept(state: &ReceiverState, headers: &HeaderMap, body: Body) -> Result<(), Refused> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !CONTENT_TYPES
        .iter()
        .any(|accepted| media_type.eq_ignore_ascii_case(accepted))
    {
        return Err(Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::UnsupportedMedia,
            format!(
                "unsupported content type `{content_type}`; Jaeger Thrift over HTTP accepts {}",
                CONTENT_TYPES.join(" or ")
            ),
        ));
    }
    let tenant = state
        .tenancy
        .for_write(
            headers
                .get_all(ORG_ID_HEADER)
                .iter()
                .map(|value| value.as_bytes()),
        )
        .map_err(|error| {
            Refused::new(
                status::http_tenant_status(&error),
                status::tenant_refusal(&error),
                error.to_string(),
            )
        })?;
    let body = read_limited(body, state.max_body_bytes).await?;
    let batch = tokio::task::spawn_blocking(move || read_batch(&mut BinaryProtocol::new(&body)))
        .await
        .map_err(|error| Refused {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("decoding the request failed: {error}"),
            refusal: None,
            retry_after_seconds: None,
        })?
        .map_err(|error| {
            Refused::new(
                StatusCode::BAD_REQUEST,
                Refusal::Malformed,
                format!("invalid Thrift batch: {error}"),
            )
        })?;
    match state.sink.submit(TRANSPORT, &tenant, batch).await {
        Ok(_) => Ok(()),
        // Counted by the sink already.
        Err(SubmitError::Ingest(error)) => Err(Refused {
            status: status::http_status(&error),
            message: error.to_string(),
            refusal: None,
            retry_after_seconds: error.retry_after().map(|wait| wait.as_secs().max(1)),
        }),
        Err(SubmitError::AllRejected(message)) => Err(Refused {
            status: StatusCode::BAD_REQUEST,
            message,
            refusal: None,
            retry_after_seconds: None,
        }),
    }
}

async fn read_limited(body: Body, limit: usize) -> Result<Bytes, Refused> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(Refused::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::TooLarge,
            format!(
                "request body exceeds the limit of {limit} bytes \
                 (receivers.jaeger.thrift_http.max_body_bytes)"
            ),
        )),
        Err(error) => Err(Refused::new(
            StatusCode::BAD_REQUEST,
            Refusal::Malformed,
            format!("cannot read request body: {error}"),
        )),
    }
}
