//! Requests of the HTTP receivers (OTLP/HTTP, Zipkin): the tenant (`X-Scope-OrgID`),
//! `Content-Encoding`, the size limit as sent, and gzip decompression under the same
//! limit.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, Limited};

use crate::tenant::{ORG_ID_HEADER, OrgIdError, Tenancy};

/// The tenant a write is for, from its `X-Scope-OrgID` headers.
pub(super) fn tenant(tenancy: &Tenancy, headers: &HeaderMap) -> Result<String, OrgIdError> {
    tenancy.for_write(
        headers
            .get_all(ORG_ID_HEADER)
            .iter()
            .map(|value| value.as_bytes()),
    )
}

/// Why a body could not be read; `status` is the HTTP status each receiver answers with.
#[derive(Debug, thiserror::Error)]
pub(super) enum BodyError {
    #[error("request body exceeds the limit of {limit} bytes ({key})")]
    TooLarge { limit: usize, key: &'static str },
    #[error("cannot read request body: {0}")]
    Unreadable(String),
    #[error("invalid gzip body: {0}")]
    BadGzip(String),
    #[error("unsupported content encoding `{0}`; use gzip or none")]
    UnsupportedEncoding(String),
}

impl BodyError {
    pub(super) fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Unreadable(_) | BodyError::BadGzip(_) => StatusCode::BAD_REQUEST,
            BodyError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }
}

/// The size limit of one receiver: its value and the config key that sets it.
#[derive(Debug, Clone, Copy)]
pub(super) struct BodyLimit {
    pub(super) bytes: usize,
    pub(super) key: &'static str,
}

impl BodyLimit {
    fn exceeded(self) -> BodyError {
        BodyError::TooLarge {
            limit: self.bytes,
            key: self.key,
        }
    }
}

/// Whether the body is gzip-compressed (`Content-Encoding: gzip`); `identity` or none
/// is plain, anything else is refused.
pub(super) fn is_gzip(headers: &HeaderMap) -> Result<bool, BodyError> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(false);
    };
    match value
        .to_str()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "gzip" => Ok(true),
        "" | "identity" => Ok(false),
        other => Err(BodyError::UnsupportedEncoding(other.to_owned())),
    }
}

/// Reads the body as sent, refusing it once it passes the limit.
pub(super) async fn read_limited(body: Body, limit: BodyLimit) -> Result<Bytes, BodyError> {
    match Limited::new(body, limit.bytes).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(limit.exceeded()),
        Err(error) => Err(BodyError::Unreadable(error.to_string())),
    }
}

/// Decompresses at most `limit` bytes, so a small gzip bomb cannot exhaust memory.
pub(super) fn gunzip_limited(compressed: &[u8], limit: BodyLimit) -> Result<Vec<u8>, BodyError> {
    let mut decoder = flate2::read::GzDecoder::new(compressed).take(limit.bytes as u64 + 1);
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(limit.bytes));
    decoder
        .read_to_end(&mut out)
        .map_err(|error| BodyError::BadGzip(error.to_string()))?;
    if out.len() > limit.bytes {
        return Err(limit.exceeded());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: BodyLimit = BodyLimit {
        bytes: 64 * 1024,
        key: "receivers.test.max_body_bytes",
    };

    #[test]
    fn gzip_bomb_is_refused() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = encoder.finish().unwrap();
        let error = gunzip_limited(&bomb, LIMIT).unwrap_err();
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            error.to_string(),
            "request body exceeds the limit of 65536 bytes (receivers.test.max_body_bytes)"
        );
        let error = gunzip_limited(b"not gzip", LIMIT).unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn content_encodings() {
        let mut headers = HeaderMap::new();
        assert!(!is_gzip(&headers).unwrap());
        headers.insert(header::CONTENT_ENCODING, "GZIP".parse().unwrap());
        assert!(is_gzip(&headers).unwrap());
        headers.insert(header::CONTENT_ENCODING, "br".parse().unwrap());
        let error = is_gzip(&headers).unwrap_err();
        assert_eq!(error.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
