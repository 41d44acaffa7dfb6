//! The Zipkin HTTP API's write side: `POST /api/v2/spans` (JSON or protobuf) and
//! `POST /api/v1/spans` (JSON), optionally gzip; 202 Accepted on success, plain-text
//! errors otherwise (400 malformed, 413 too large, 415 content type or encoding, 401 /
//! 400 tenant, 429 / 503 with `Retry-After` when ingest refuses).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::error::DecodeError;
use super::model::ZipkinSpan;
use super::{json_v1, json_v2, proto, translate};
use crate::ingest::{Ingest, IngestError};
use crate::model::ExportTraceServiceRequest;
use crate::receiver::body::{BodyError, BodyLimit, gunzip_limited, is_gzip, read_limited, tenant};
use crate::receiver::stats::{ReceiverStats, Refusal, Transport};
use crate::receiver::status;
use crate::tenant::Tenancy;

const JSON: &str = "application/json";
const PROTOBUF: &str = "application/x-protobuf";
const LIMIT_KEY: &str = "receivers.zipkin.max_body_bytes";

#[derive(Clone)]
struct ZipkinState {
    ingest: Ingest,
    tenancy: Tenancy,
    stats: Arc<ReceiverStats>,
    limit: BodyLimit,
}

/// The Zipkin router; unknown paths get 404, other methods on the span paths 405.
pub(crate) fn router(
    ingest: Ingest,
    tenancy: Tenancy,
    stats: Arc<ReceiverStats>,
    max_body_bytes: usize,
) -> Router {
    Router::new()
        .route("/api/v2/spans", post(post_v2))
        .route("/api/v1/spans", post(post_v1))
        .fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found\n") })
        .with_state(ZipkinState {
            ingest,
            tenancy,
            stats,
            limit: BodyLimit {
                bytes: max_body_bytes,
                key: LIMIT_KEY,
            },
        })
}

/// What a body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    V1Json,
    V2Json,
    V2Protobuf,
}

impl Format {
    /// The format of a body posted to `/api/v1/spans` (`v1`) or `/api/v2/spans`. No
    /// `Content-Type` is JSON, as Zipkin's own server reads it.
    fn from_headers(v1: bool, headers: &HeaderMap) -> Result<Format, ZipkinError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        match (v1, media_type.to_ascii_lowercase().as_str()) {
            (true, "" | JSON) => Ok(Format::V1Json),
            (false, "" | JSON) => Ok(Format::V2Json),
            (false, PROTOBUF | "application/protobuf") => Ok(Format::V2Protobuf),
            (true, _) => Err(ZipkinError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "unsupported content type `{content_type}`; /api/v1/spans accepts {JSON} \
                     (Thrift is not supported)"
                ),
            )),
            (false, _) => Err(ZipkinError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "unsupported content type `{content_type}`; /api/v2/spans accepts {JSON} or {PROTOBUF}"
                ),
            )),
        }
    }

    fn decode(self, payload: &[u8]) -> Result<Vec<ZipkinSpan>, DecodeError> {
        match self {
            Format::V1Json => json_v1::decode(payload),
            Format::V2Json => json_v2::decode(payload),
            Format::V2Protobuf => proto::decode(payload),
        }
    }
}

/// A refused request: plain-text message, and what it is counted as.
#[derive(Debug)]
struct ZipkinError {
    status: StatusCode,
    message: String,
    retry_after_seconds: Option<u64>,
    refusal: Refusal,
}

impl ZipkinError {
    fn new(status: StatusCode, message: String) -> ZipkinError {
        ZipkinError {
            status,
            message,
            retry_after_seconds: None,
            refusal: status::http_refusal(status),
        }
    }
}

impl From<BodyError> for ZipkinError {
    fn from(error: BodyError) -> ZipkinError {
        ZipkinError::new(error.status(), error.to_string())
    }
}

impl From<DecodeError> for ZipkinError {
    fn from(error: DecodeError) -> ZipkinError {
        ZipkinError::new(StatusCode::BAD_REQUEST, error.to_string())
    }
}

/// Ingest's refusals as OTLP/HTTP answers them: 503 or 429 with `Retry-After`, 413.
impl From<&IngestError> for ZipkinError {
    fn from(error: &IngestError) -> ZipkinError {
        ZipkinError {
            retry_after_seconds: status::retry_after_seconds(error),
            refusal: status::refusal(error),
            ..ZipkinError::new(status::http_status(error), error.to_string())
        }
    }
}

impl IntoResponse for ZipkinError {
    fn into_response(self) -> Response {
        let mut response = (self.status, format!("{}\n", self.message)).into_response();
        status::set_retry_after(&mut response, self.retry_after_seconds);
        response
    }
}

async fn post_v1(
    State(state): State<ZipkinState>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ZipkinError> {
    counted(&state, Format::from_headers(true, &headers), &headers, body).await
}

async fn post_v2(
    State(state): State<ZipkinState>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ZipkinError> {
    counted(
        &state,
        Format::from_headers(false, &headers),
        &headers,
        body,
    )
    .await
}

/// Counts every outcome, then answers.
async fn counted(
    state: &ZipkinState,
    format: Result<Format, ZipkinError>,
    headers: &HeaderMap,
    body: Body,
) -> Result<StatusCode, ZipkinError> {
    let result = match format {
        Ok(format) => accept(state, format, headers, body).await,
        Err(error) => Err(error),
    };
    if let Err(error) = &result {
        tracing::debug!(status = %error.status, message = %error.message, "zipkin request refused");
        state.stats.record_refusal(Transport::Zipkin, error.refusal);
    }
    result
}

async fn accept(
    state: &ZipkinState,
    format: Format,
    headers: &HeaderMap,
    body: Body,
) -> Result<StatusCode, ZipkinError> {
    let tenant = tenant(&state.tenancy, headers).map_err(|error| ZipkinError {
        refusal: status::tenant_refusal(&error),
        ..ZipkinError::new(status::http_tenant_status(&error), error.to_string())
    })?;
    let compressed = is_gzip(headers)?;
    let raw = read_limited(body, state.limit).await?;
    let limit = state.limit;
    // Gunzip, decode and translation off the async workers, as OTLP/HTTP does.
    let request = tokio::task::spawn_blocking(move || decode(&raw, compressed, limit, format))
        .await
        .map_err(|error| {
            ZipkinError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("decoding the request failed: {error}"),
            )
        })??;
    let outcome = state
        .ingest
        .export(&tenant, request)
        .await
        .map_err(|error| {
            crate::receiver::status::log_refusal(&error, "zipkin");
            ZipkinError::from(&error)
        })?;
    if outcome.rejected_spans > 0 {
        // Zipkin has no partial success: the client only sees 202.
        tracing::warn!(
            rejected = outcome.rejected_spans,
            reason = %outcome.rejection_message,
            "zipkin spans rejected"
        );
    }
    state.stats.record_export(
        Transport::Zipkin,
        outcome.accepted_spans,
        outcome.rejected_spans,
    );
    Ok(StatusCode::ACCEPTED)
}

fn decode(
    raw: &Bytes,
    compressed: bool,
    limit: BodyLimit,
    format: Format,
) -> Result<ExportTraceServiceRequest, ZipkinError> {
    let inflated;
    let payload: &[u8] = if compressed {
        inflated = gunzip_limited(raw, limit)?;
        &inflated
    } else {
        raw
    };
    let spans = format.decode(payload)?;
    Ok(translate::to_otlp(spans)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = content_type {
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn content_types() {
        let format = |v1, ct| Format::from_headers(v1, &headers(ct));
        assert_eq!(format(false, None).unwrap(), Format::V2Json);
        assert_eq!(
            format(false, Some("application/json; charset=utf-8")).unwrap(),
            Format::V2Json
        );
        assert_eq!(
            format(false, Some("Application/X-Protobuf")).unwrap(),
            Format::V2Protobuf
        );
        assert_eq!(format(true, Some(JSON)).unwrap(), Format::V1Json);
        let error = format(true, Some("application/x-thrift")).unwrap_err();
        assert_eq!(error.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(error.refusal, Refusal::UnsupportedMedia);
        assert!(
            error.message.contains("Thrift is not supported"),
            "{}",
            error.message
        );
        let error = format(false, Some("text/plain")).unwrap_err();
        assert_eq!(error.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn ingest_refusals_are_answered_as_otlp_http_answers_them() {
        let response = ZipkinError::from(&IngestError::Overloaded(
            std::time::Duration::from_millis(1500),
        ))
        .into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let error = ZipkinError::from(&IngestError::ShuttingDown);
        assert_eq!(
            (error.status, error.refusal),
            (StatusCode::SERVICE_UNAVAILABLE, Refusal::Unavailable)
        );
        let over_burst = IngestError::OverBurst {
            tenant: "a".to_owned(),
            spans: 50,
            limit: crate::tenant::RateLimit {
                spans_per_second: 10,
                burst_spans: 20,
            },
        };
        let error = ZipkinError::from(&over_burst);
        assert_eq!(
            (error.status, error.refusal),
            (StatusCode::PAYLOAD_TOO_LARGE, Refusal::RateLimited)
        );
        assert!(
            error
                .into_response()
                .headers()
                .get(header::RETRY_AFTER)
                .is_none()
        );
    }

    #[test]
    fn gzip_is_inflated_and_errors_are_400() {
        use std::io::Write;
        let body = br#"[{"traceId":"1","id":"2","localEndpoint":{"serviceName":"s"}}]"#;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(body).unwrap();
        let gzipped = Bytes::from(encoder.finish().unwrap());
        let limit = BodyLimit {
            bytes: 1024,
            key: LIMIT_KEY,
        };
        let request = decode(&gzipped, true, limit, Format::V2Json).unwrap();
        assert_eq!(request.resource_spans.len(), 1);
        let error = decode(&Bytes::from_static(b"[{}]"), false, limit, Format::V2Json).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.refusal, Refusal::Malformed);
        let small = BodyLimit {
            bytes: 10,
            key: LIMIT_KEY,
        };
        let error = decode(&gzipped, true, small, Format::V2Json).unwrap_err();
        assert_eq!(error.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(error.message.contains(LIMIT_KEY), "{}", error.message);
    }
}
