//! The one table translating ingest failures to gRPC codes and HTTP statuses, with
//! the OTLP retry semantics: retryable failures carry a delay (gRPC `RetryInfo`,
//! HTTP `Retry-After`); permanent ones must not be retried by exporters.

use http::StatusCode;
use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};

use super::stats::Refusal;
use crate::ingest::IngestError;

/// gRPC status for an ingest failure.
pub(super) fn grpc_status(error: &IngestError) -> tonic::Status {
    match error {
        // RESOURCE_EXHAUSTED is retried by OTLP exporters only when it carries RetryInfo.
        IngestError::Overloaded(_) => tonic::Status::with_error_details(
            Code::ResourceExhausted,
            error.to_string(),
            ErrorDetails::with_retry_info(Some(error.retry_after())),
        ),
        IngestError::Storage(_) | IngestError::ShuttingDown => {
            tonic::Status::unavailable(error.to_string())
        }
    }
}

/// HTTP status for an ingest failure; all are retryable (503 + Retry-After).
pub(super) fn http_status(error: &IngestError) -> StatusCode {
    match error {
        IngestError::Overloaded(_) | IngestError::Storage(_) | IngestError::ShuttingDown => {
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// The refusal counted for an ingest failure.
pub(super) fn refusal(error: &IngestError) -> Refusal {
    match error {
        IngestError::Overloaded(_) => Refusal::Overloaded,
        IngestError::Storage(_) if error.is_no_space() => Refusal::NoSpace,
        IngestError::Storage(_) | IngestError::ShuttingDown => Refusal::Unavailable,
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
