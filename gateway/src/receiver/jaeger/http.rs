//! Jaeger's Thrift over HTTP: `POST /api/traces` with one binary-Thrift `Batch` as the
//! body (chunked bodies without `Content-Length` too), answered `202 Accepted` like
//! Jaeger's collector. Errors are plain text naming the problem.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::submit::{Sink, SubmitError};
use super::thrift::{BinaryProtocol, read_batch};
use crate::receiver::body::{BodyError, BodyLimit, read_limited, tenant};
use crate::receiver::stats::{Refusal, Transport};
use crate::receiver::status;
use crate::tenant::Tenancy;

const TRANSPORT: Transport = Transport::JaegerThriftHttp;
const LIMIT_KEY: &str = "receivers.jaeger.thrift_http.max_body_bytes";
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

impl From<BodyError> for Refused {
    fn from(error: BodyError) -> Refused {
        let status = error.status();
        Refused::new(status, status::http_refusal(status), error.to_string())
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = (self.status, format!("{}\n", self.message)).into_response();
        status::set_retry_after(&mut response, self.retry_after_seconds);
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
    let tenant = tenant(&state.tenancy, headers).map_err(|error| {
        Refused::new(
            status::http_tenant_status(&error),
            status::tenant_refusal(&error),
            error.to_string(),
        )
    })?;
    let limit = BodyLimit {
        bytes: state.max_body_bytes,
        key: LIMIT_KEY,
    };
    let body = read_limited(body, limit).await?;
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
            retry_after_seconds: status::retry_after_seconds(&error),
        }),
        Err(SubmitError::AllRejected(message)) => Err(Refused {
            status: StatusCode::BAD_REQUEST,
            message,
            refusal: None,
            retry_after_seconds: None,
        }),
    }
}
