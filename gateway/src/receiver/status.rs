//! The one table translating ingest failures to gRPC codes and HTTP statuses, with
//! the OTLP retry semantics: retryable failures carry a delay (gRPC `RetryInfo`,
//! HTTP `Retry-After`); permanent ones must not be retried by exporters.

use http::StatusCode;
use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};

use super::stats::Refusal;
use crate::forward::ForwardError;
use crate::ingest::IngestError;
use crate::tenant::OrgIdError;

/// gRPC status for an ingest failure.
pub(super) fn grpc_status(error: &IngestError) -> tonic::Status {
    match error {
        // RESOURCE_EXHAUSTED is retried by OTLP exporters only when it carries RetryInfo.
        IngestError::Overloaded(_)
        | IngestError::RateLimited { .. }
        | IngestError::MemoryLimit { .. }
        | IngestError::Forward(ForwardError::QueueFull { .. }) => {
            tonic::Status::with_error_details(
                Code::ResourceExhausted,
                error.to_string(),
                ErrorDetails::with_retry_info(error.retry_after()),
            )
        }
        // Without RetryInfo: the same request would be refused again.
        IngestError::OverBurst { .. } => {
            tonic::Status::new(Code::ResourceExhausted, error.to_string())
        }
        IngestError::Storage(_)
        | IngestError::TenantUnavailable(_)
        | IngestError::Forward(_)
        | IngestError::ShuttingDown => tonic::Status::unavailable(error.to_string()),
    }
}

/// HTTP status for an ingest failure: 503 or 429 with Retry-After (retryable), 413
/// for a batch over the tenant's burst (not retryable).
pub(super) fn http_status(error: &IngestError) -> StatusCode {
    match error {
        IngestError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        IngestError::OverBurst { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        IngestError::Overloaded(_)
        | IngestError::MemoryLimit { .. }
        | IngestError::Storage(_)
        | IngestError::TenantUnavailable(_)
        | IngestError::Forward(_)
        | IngestError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Logs a refused export: backpressure at debug level (it is counted), the rest as warnings.
pub(crate) fn log_refusal(error: &IngestError, transport: &str) {
    if error.is_backpressure() {
        tracing::debug!(%error, transport, "export refused");
    } else {
        tracing::warn!(%error, transport, "export refused");
    }
}

/// Seconds for `Retry-After`: the failure's wait, at least 1; `None` when not retryable.
pub(super) fn retry_after_seconds(error: &IngestError) -> Option<u64> {
    error.retry_after().map(|wait| wait.as_secs().max(1))
}

/// Sets `Retry-After` on an HTTP refusal that has a wait.
pub(super) fn set_retry_after<B>(response: &mut http::Response<B>, seconds: Option<u64>) {
    if let Some(seconds) = seconds {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
    }
}

/// The refusal counted for an HTTP request refused before ingest, by its status (413
/// too large, 415 unsupported media, the rest malformed).
pub(super) fn http_refusal(status: StatusCode) -> Refusal {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Refusal::TooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Refusal::UnsupportedMedia,
        _ => Refusal::Malformed,
    }
}

/// The refusal counted for an ingest failure.
pub(super) fn refusal(error: &IngestError) -> Refusal {
    match error {
        IngestError::Overloaded(_) => Refusal::Overloaded,
        IngestError::RateLimited { .. } | IngestError::OverBurst { .. } => Refusal::RateLimited,
        IngestError::Storage(_) if error.is_no_space() => Refusal::NoSpace,
        IngestError::Forward(_) => Refusal::QueueFull,
        IngestError::MemoryLimit { .. } => Refusal::MemoryLimit,
        IngestError::Storage(_) | IngestError::TenantUnavailable(_) | IngestError::ShuttingDown => {
            Refusal::Unavailable
        }
    }
}

/// gRPC status for a request whose `X-Scope-OrgID` names no usable tenant: Tempo's
/// `no org id` as UNAUTHENTICATED when it is missing, INVALID_ARGUMENT otherwise.
/// Neither is retried by OTLP exporters.
pub(super) fn grpc_tenant_status(error: &OrgIdError) -> tonic::Status {
    if error.is_missing() {
        tonic::Status::unauthenticated(error.to_string())
    } else {
        tonic::Status::invalid_argument(error.to_string())
    }
}

/// HTTP status for the same: 401 or 400.
pub(super) fn http_tenant_status(error: &OrgIdError) -> StatusCode {
    if error.is_missing() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    }
}

/// The refusal counted for the same.
pub(super) fn tenant_refusal(error: &OrgIdError) -> Refusal {
    if error.is_missing() {
        Refusal::Unauthenticated
    } else {
        Refusal::InvalidTenant
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn overload_is_retryable_with_retry_info() {
        let status = grpc_status(&IngestError::Overloaded(Duration::from_secs(2)));
        assert_eq!(status.code(), Code::ResourceExhausted);
        let details = status.get_error_details();
        assert_eq!(
            details.retry_info().and_then(|info| info.retry_delay),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            http_status(&IngestError::Overloaded(Duration::from_secs(2))),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    fn limit() -> crate::tenant::RateLimit {
        crate::tenant::RateLimit {
            spans_per_second: 10,
            burst_spans: 20,
        }
    }

    #[test]
    fn rate_limited_is_retryable_after_the_wait_and_over_burst_is_not() {
        let limited = IngestError::RateLimited {
            tenant: "a".to_owned(),
            spans: 5,
            limit: limit(),
            retry_after: Duration::from_millis(1500),
        };
        let status = grpc_status(&limited);
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status
                .get_error_details()
                .retry_info()
                .and_then(|info| info.retry_delay),
            Some(Duration::from_secs(2))
        );
        assert_eq!(http_status(&limited), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refusal(&limited), Refusal::RateLimited);
        let never = IngestError::OverBurst {
            tenant: "a".to_owned(),
            spans: 50,
            limit: limit(),
        };
        let status = grpc_status(&never);
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(status.get_error_details().retry_info().is_none());
        assert_eq!(http_status(&never), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn a_missing_tenant_is_unauthenticated_and_a_bad_one_invalid() {
        let missing = grpc_tenant_status(&OrgIdError::Missing);
        assert_eq!(missing.code(), Code::Unauthenticated);
        assert_eq!(missing.message(), "no org id");
        assert_eq!(
            http_tenant_status(&OrgIdError::Missing),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            grpc_tenant_status(&OrgIdError::Multiple).code(),
            Code::InvalidArgument
        );
        assert_eq!(
            http_tenant_status(&OrgIdError::Unsafe),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(tenant_refusal(&OrgIdError::Unsafe), Refusal::InvalidTenant);
    }

    #[test]
    fn a_full_disk_is_unavailable_and_counted_as_no_space() {
        let error = IngestError::Storage(crate::store::StoreError::NoSpace(
            "IO error: No space left on device: While appending to file: /d/000004.log".into(),
        ));
        let status = grpc_status(&error);
        assert_eq!(status.code(), Code::Unavailable);
        assert!(
            status
                .message()
                .starts_with("storage unavailable: no space left on device"),
            "{status:?}"
        );
        assert_eq!(http_status(&error), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refusal(&error), Refusal::NoSpace);
    }

    #[test]
    fn shutdown_is_unavailable() {
        assert_eq!(
            grpc_status(&IngestError::ShuttingDown).code(),
            Code::Unavailable
        );
    }
}
