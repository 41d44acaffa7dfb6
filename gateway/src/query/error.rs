//! Query errors, answered as Tempo answers them: the bare message as a plain-text
//! body (no trailing newline, unlike Go's `http.Error` used for 404 and echo) and a
//! 4xx/5xx status.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::search::SearchError;
use crate::tenant::OrgIdError;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    BadRequest(String),
    /// No tenant while multi-tenancy is on: Tempo's auth middleware answers 401 with
    /// Go's `http.Error` body.
    #[error("{0}")]
    Unauthorized(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// Every query slot stayed busy: Tempo's frontend answers 429 for a full queue.
    #[error("{0}")]
    TooManyRequests(String),
    /// The query ran out of its time budget.
    #[error("{0}")]
    Timeout(String),
}

/// The engine's errors: the client's fault is a 400 with the engine's words, a store
/// failure a 500.
impl From<SearchError> for QueryError {
    fn from(error: SearchError) -> Self {
        match error {
            SearchError::Invalid(message) => QueryError::BadRequest(message),
            SearchError::Store(error) => QueryError::Internal(error.to_string()),
            SearchError::Timeout(_) => QueryError::Timeout(error.to_string()),
        }
    }
}

/// A bad `X-Scope-OrgID`: a missing one is a 401, anything else a 400 with dskit's words.
impl From<OrgIdError> for QueryError {
    fn from(error: OrgIdError) -> Self {
        if error.is_missing() {
            QueryError::Unauthorized(error.to_string())
        } else {
            QueryError::BadRequest(error.to_string())
        }
    }
}

impl IntoResponse for QueryError {
    fn into_response(self) -> Response {
        let status = match &self {
            QueryError::Unauthorized(message) => {
                return go_text(StatusCode::UNAUTHORIZED, message);
            }
            QueryError::BadRequest(_) => StatusCode::BAD_REQUEST,
            QueryError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            QueryError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            QueryError::Internal(message) => {
                tracing::error!(error = %message, "query failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.to_string(),
        )
            .into_response()
    }
}

/// A body written the way Go's `http.Error` writes one.
pub(super) fn go_text(status: StatusCode, message: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        format!("{message}\n"),
    )
        .into_response()
}

/// What every trace-reading route answers with storage off.
pub(super) async fn storage_off() -> Response {
    (
        StatusCode::NOT_IMPLEMENTED,
        "storage is off (storage.enabled: false): this spangate forwards spans to its \
         exporters and keeps none; query the upstream it forwards to\n",
    )
        .into_response()
}

pub(super) async fn not_found() -> Response {
    go_text(StatusCode::NOT_FOUND, "404 page not found")
}
