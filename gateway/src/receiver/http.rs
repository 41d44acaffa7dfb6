//! OTLP/HTTP: `POST /v1/traces` with a protobuf or JSON body, optionally gzip.
//! The response (success or error) is encoded like the request; errors carry a
//! `google.rpc.Status` as the OTLP specification asks.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use prost::Message;

use super::body::{BodyError, BodyLimit, gunzip_limited, is_gzip, read_limited, tenant};
use super::stats::{ReceiverStats, Refusal, Transport};
use super::{export_response, status};
use crate::ingest::Ingest;
use crate::model::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use crate::tenant::Tenancy;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";
const LIMIT_KEY: &str = "receivers.otlp_http.max_body_bytes";

#[derive(Clone)]
struct ReceiverState {
    ingest: Ingest,
    tenancy: Tenancy,
    stats: Arc<ReceiverStats>,
    max_body_bytes: usize,
}

/// The OTLP/HTTP router; unknown paths get 404, other methods on `/v1/traces` 405.
pub(crate) fn router(
    ingest: Ingest,
    tenancy: Tenancy,
    stats: Arc<ReceiverStats>,
    max_body_bytes: usize,
) -> Router {
    Router::new()
        .route("/v1/traces", post(export_traces))
        .fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found\n") })
        .with_state(ReceiverState {
            ingest,
            tenancy,
            stats,
            max_body_bytes,
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn from_headers(headers: &HeaderMap) -> Result<Encoding, HttpError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        match media_type.to_ascii_lowercase().as_str() {
            PROTOBUF | "application/protobuf" => Ok(Encoding::Protobuf),
            JSON => Ok(Encoding::Json),
            _ => Err(HttpError::plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "unsupported content type `{content_type}`; OTLP/HTTP accepts {PROTOBUF} or {JSON}"
                ),
            )),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => PROTOBUF,
            Encoding::Json => JSON,
        }
    }
}

/// An error response: status, message, and the encoding to write it in
/// (`None`: plain text, used when the request's encoding is unknown).
#[derive(Debug)]
struct HttpError {
    status: StatusCode,
    message: String,
    encoding: Option<Encoding>,
    retry_after_seconds: Option<u64>,
    /// What the refusal is counted as.
    refusal: Refusal,
}

impl HttpError {
    fn plain(status: StatusCode, message: String) -> HttpError {
        HttpError {
            status,
            message,
            encoding: None,
            retry_after_seconds: None,
            refusal: status::http_refusal(status),
        }
    }

    fn encoded(status: StatusCode, message: String, encoding: Encoding) -> HttpError {
        HttpError {
            encoding: Some(encoding),
            ..HttpError::plain(status, message)
        }
    }

    fn body(error: BodyError, encoding: Encoding) -> HttpError {
        HttpError::encoded(error.status(), error.to_string(), encoding)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        // google.rpc.Code numbers matching the HTTP status, for the Status body.
        let rpc_code = match self.status {
            StatusCode::BAD_REQUEST => 3,
            StatusCode::UNAUTHORIZED => 16,
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS => 8,
            StatusCode::SERVICE_UNAVAILABLE => 14,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => 3,
            _ => 2,
        };
        let rpc_status = tonic_types::Status {
            code: rpc_code,
            message: self.message.clone(),
            details: Vec::new(),
        };
        let mut response = match self.encoding {
            Some(Encoding::Protobuf) => (
                self.status,
                [(header::CONTENT_TYPE, PROTOBUF)],
                rpc_status.encode_to_vec(),
            )
                .into_response(),
            Some(Encoding::Json) => (
                self.status,
                [(header::CONTENT_TYPE, JSON)],
                serde_json::json!({ "code": rpc_code, "message": self.message }).to_string(),
            )
                .into_response(),
            None => (self.status, self.message).into_response(),
        };
        status::set_retry_after(&mut response, self.retry_after_seconds);
        response
    }
}

/// Counts every outcome, then answers.
async fn export_traces(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let result = export_counted(&state, &headers, body).await;
    if let Err(error) = &result {
        state.stats.record_refusal(Transport::Http, error.refusal);
    }
    result
}

async fn export_counted(
    state: &ReceiverState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let encoding = Encoding::from_headers(headers)?;
    let tenant = tenant(&state.tenancy, headers).map_err(|error| HttpError {
        refusal: status::tenant_refusal(&error),
        ..HttpError::encoded(
            status::http_tenant_status(&error),
            error.to_string(),
            encoding,
        )
    })?;
    let compressed = is_gzip(headers).map_err(|error| HttpError::body(error, encoding))?;
    let limit = BodyLimit {
        bytes: state.max_body_bytes,
        key: LIMIT_KEY,
    };
    let raw = read_limited(body, limit)
        .await
        .map_err(|error| HttpError::body(error, encoding))?;
    // Gunzip and decode of up to `max_body_bytes` take milliseconds of CPU: off the
    // async workers, which keep accepting and reading other requests meanwhile.
    let request = tokio::task::spawn_blocking(move || {
        let payload = if compressed {
            Bytes::from(
                gunzip_limited(&raw, limit).map_err(|error| HttpError::body(error, encoding))?,
            )
        } else {
            raw
        };
        decode_request(&payload, encoding)
            .map_err(|message| HttpError::encoded(StatusCode::BAD_REQUEST, message, encoding))
    })
    .await
    .map_err(|error| {
        HttpError::encoded(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("decoding the request failed: {error}"),
            encoding,
        )
    })??;

    let outcome = state
        .ingest
        .export(&tenant, request)
        .await
        .map_err(|error| {
            status::log_refusal(&error, "otlp http");
            HttpError {
                retry_after_seconds: status::retry_after_seconds(&error),
                refusal: status::refusal(&error),
                ..HttpError::encoded(status::http_status(&error), error.to_string(), encoding)
            }
        })?;
    state.stats.record_export(
        Transport::Http,
        outcome.accepted_spans,
        outcome.rejected_spans,
    );
    Ok(encode_response(&export_response(&outcome), encoding))
}

/// Decodes an OTLP request body; the error names what is wrong with it.
pub(super) fn decode_request(
    payload: &[u8],
    encoding: Encoding,
) -> Result<ExportTraceServiceRequest, String> {
    match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(payload)
            .map_err(|error| format!("invalid OTLP protobuf: {error}")),
        Encoding::Json => crate::model::decode_otlp_json(payload),
    }
}

fn encode_response(response: &ExportTraceServiceResponse, encoding: Encoding) -> Response {
    let body = match encoding {
        Encoding::Protobuf => response.encode_to_vec(),
        Encoding::Json => {
            let json = match &response.partial_success {
                Some(partial) => serde_json::json!({
                    "partialSuccess": {
                        "rejectedSpans": partial.rejected_spans.to_string(),
                        "errorMessage": partial.error_message,
                    }
                }),
                None => serde_json::json!({}),
            };
            json.to_string().into_bytes()
        }
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn json_accepts_the_otlp_mapping() {
        let body = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
            "scopeSpans":[{"scope":{"name":"lib"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
            "name":"op","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,
            "attributes":[{"key":"a","value":{"intValue":"9007199254740993"}},{"key":"b","value":{"intValue":7}}],
            "status":{"code":2,"message":"boom"}}]}]}]}"#;
        let request = decode_request(body, Encoding::Json).unwrap();
        let span = &request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(
            hex::encode(&span.trace_id),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(span.kind, 2);
        assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
        assert_eq!(span.end_time_unix_nano, 1_544_712_661_000_000_000);
        assert_eq!(span.status.as_ref().unwrap().code, 2);
        let ints: Vec<_> = span
            .attributes
            .iter()
            .map(|kv| kv.value.clone().unwrap().value.unwrap())
            .collect();
        use crate::model::any_value::Value;
        assert_eq!(
            ints,
            [Value::IntValue(9_007_199_254_740_993), Value::IntValue(7)]
        );
    }

    #[test]
    fn json_errors_name_the_field() {
        let error = decode_request(
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#,
            Encoding::Json,
        )
        .unwrap_err();
        assert!(
            error.contains("resourceSpans[0].scopeSpans[0].spans[0].traceId"),
            "{error}"
        );
    }

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_request(&bytes, Encoding::Protobuf);
            let _ = decode_request(&bytes, Encoding::Json);
        }

        #[test]
        fn json_like_garbage_never_panics(text in r#"\{("[a-zA-Z]{1,12}":(\[|\{|"[0-9a-f]{0,34}"|-?[0-9]{1,20}|null|true),?){0,6}"#) {
            let _ = decode_request(text.as_bytes(), Encoding::Json);
        }
    }
}
