//! HTTP to a Tempo-compatible query API (Spangate or Grafana Tempo): one GET at a time,
//! `X-Scope-OrgID` when an org id is given, a timeout per request, and errors that say
//! which endpoint failed and how.

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderValue};

use crate::tenant::ORG_ID_HEADER;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("bad --endpoint {endpoint:?}: {reason}")]
    BadEndpoint { endpoint: String, reason: String },
    #[error("bad --org-id {org_id:?}: not a valid header value")]
    BadOrgId { org_id: String },
    #[error("cannot connect to {endpoint}: {reason} (is Spangate or Tempo listening there?)")]
    Unreachable { endpoint: String, reason: String },
    #[error("GET {url}: no answer within {timeout:?} (--timeout)")]
    Timeout { url: String, timeout: Duration },
    #[error("GET {url} failed: {reason}")]
    Transport { url: String, reason: String },
    #[error("GET {url} answered {status}: {body}")]
    Status {
        url: String,
        status: String,
        body: String,
    },
}

/// A whole answer, whatever its status.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) url: String,
    pub(super) body: Vec<u8>,
}

impl Answer {
    pub(super) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The answer as the error of a non-2xx status: the status and the server's body.
    pub(super) fn into_error(self) -> ClientError {
        let status = reqwest::StatusCode::from_u16(self.status)
            .map(|status| status.to_string())
            .unwrap_or_else(|_| self.status.to_string());
        let body = String::from_utf8_lossy(&self.body).trim().to_owned();
        ClientError::Status {
            url: self.url,
            status,
            body: if body.is_empty() {
                "(empty body)".to_owned()
            } else {
                body
            },
        }
    }
}

pub(super) struct TempoClient {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    org_id: Option<HeaderValue>,
    timeout: Duration,
}

impl TempoClient {
    pub(super) fn new(
        endpoint: &str,
        org_id: Option<&str>,
        timeout: Duration,
    ) -> Result<TempoClient, ClientError> {
        let bad_endpoint = |reason: String| ClientError::BadEndpoint {
            endpoint: endpoint.to_owned(),
            reason,
        };
        let url = reqwest::Url::parse(endpoint).map_err(|error| bad_endpoint(error.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(bad_endpoint(
                "expected http://HOST:PORT or https://...".to_owned(),
            ));
        }
        let org_id = org_id
            .filter(|org_id| !org_id.is_empty())
            .map(|org_id| {
                HeaderValue::from_str(org_id).map_err(|_| ClientError::BadOrgId {
                    org_id: org_id.to_owned(),
                })
            })
            .transpose()?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|error| bad_endpoint(error.to_string()))?;
        Ok(TempoClient {
            http,
            endpoint: url,
            org_id,
            timeout,
        })
    }

    /// The endpoint's URL with `segments` appended to its path (each percent-encoded,
    /// so a tag name is one segment) and `query` as its query string.
    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> reqwest::Url {
        let mut url = self.endpoint.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(key, value)| (*key, value.as_str())));
        }
        url
    }

    /// GET a JSON answer; any status is returned.
    pub(super) async fn get(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Answer, ClientError> {
        let url = self.url(segments, query);
        let mut request = self
            .http
            .get(url.clone())
            .header(ACCEPT, "application/json");
        if let Some(org_id) = &self.org_id {
            request = request.header(ORG_ID_HEADER, org_id.clone());
        }
        tracing::debug!(%url, "query");
        let response = request
            .send()
            .await
            .map_err(|error| self.request_error(&url, &error))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|error| self.request_error(&url, &error))?;
        Ok(Answer {
            status,
            url: url.to_string(),
            body: body.to_vec(),
        })
    }

    /// GET a JSON answer; a status other than 2xx is an error.
    pub(super) async fn get_ok(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Answer, ClientError> {
        let answer = self.get(segments, query).await?;
        if answer.is_success() {
            Ok(answer)
        } else {
            Err(answer.into_error())
        }
    }

    fn request_error(&self, url: &reqwest::Url, error: &reqwest::Error) -> ClientError {
        if error.is_timeout() {
            return ClientError::Timeout {
                url: url.to_string(),
                timeout: self.timeout,
            };
        }
        let reason = root_cause(error);
        if error.is_connect() {
            let mut endpoint = self.endpoint.to_string();
            if self.endpoint.path() == "/" {
                endpoint.pop();
            }
            return ClientError::Unreachable { endpoint, reason };
        }
        ClientError::Transport {
            url: url.to_string(),
            reason,
        }
    }
}

/// The innermost error's text (`Connection refused (os error 111)`), which says more
/// than reqwest's own `error sending request`.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(endpoint: &str) -> TempoClient {
        TempoClient::new(endpoint, None, Duration::from_secs(1)).unwrap()
    }

    #[test]
    fn urls_keep_the_endpoint_path_and_encode_segments() {
        let url = client("http://127.0.0.1:3200").url(
            &["api", "v2", "search", "tag", "span.a b/c", "values"],
            &[("q", "{ .x = \"y\" }".to_owned())],
        );
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:3200/api/v2/search/tag/span.a%20b%2Fc/values?q=%7B+.x+%3D+%22y%22+%7D"
        );
        let url = client("https://gw.example/tempo/").url(&["api", "search"], &[]);
        assert_eq!(url.as_str(), "https://gw.example/tempo/api/search");
    }

    #[test]
    fn bad_endpoints_and_org_ids_are_refused() {
        for endpoint in ["127.0.0.1:3200", "ftp://host", "not a url"] {
            let error = TempoClient::new(endpoint, None, Duration::from_secs(1))
                .err()
                .expect("refused");
            assert!(error.to_string().starts_with("bad --endpoint"), "{error}");
        }
        let error = TempoClient::new("http://h", Some("a\nb"), Duration::from_secs(1))
            .err()
            .expect("refused");
        assert!(error.to_string().starts_with("bad --org-id"), "{error}");
    }

    #[test]
    fn error_answers_carry_status_and_body() {
        let answer = Answer {
            status: 400,
            url: "http://h/api/search".to_owned(),
            body: b"invalid limit: must be a positive number\n".to_vec(),
        };
        assert!(!answer.is_success());
        assert_eq!(
            answer.into_error().to_string(),
            "GET http://h/api/search answered 400 Bad Request: invalid limit: must be a positive number"
        );
    }
}
