//! Credentials on a listener: bearer tokens and basic-auth users from files, checked on
//! every request by a tower layer shared by the HTTP (axum) and gRPC (tonic) servers.
//!
//! Presented and accepted credentials are compared as SHA-256 digests, every accepted
//! one in constant time and without stopping at a match, so the time a check takes does
//! not depend on how much of a secret was right. A refusal says only that credentials are
//! missing or wrong (HTTP 401, gRPC UNAUTHENTICATED), never which part.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, Response, StatusCode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::watch::Watched;
use super::{AccessError, AuthConfig};

/// The header a tenant-bound credential sets, replacing what the client sent.
const TENANT_HEADER: &str = "x-scope-orgid";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Basic,
}

struct Accepted {
    digest: [u8; 32],
    tenant: Option<HeaderValue>,
}

/// The credentials a listener accepts.
#[derive(Default)]
pub(crate) struct Credentials {
    accepted: Vec<Accepted>,
}

/// What a request's `Authorization` header proved.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Valid credentials; the tenant they are bound to, if any.
    Allowed(Option<HeaderValue>),
    Refused,
}

fn digest(scheme: Scheme, secret: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(match scheme {
        Scheme::Bearer => b"bearer\0",
        Scheme::Basic => b"basic\0\0",
    });
    hasher.update(secret);
    hasher.finalize().into()
}

impl Credentials {
    /// Parses the lines of a tokens file (`scheme` Bearer) or a users file (Basic).
    fn parse(
        scheme: Scheme,
        text: &str,
        key: &str,
        path: &Path,
    ) -> Result<Vec<Accepted>, AccessError> {
        let mut accepted = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| {
                AccessError::new(key, format!("{} line {}: {why}", path.display(), index + 1))
            };
            let mut words = line.split_whitespace();
            let secret = words.next().unwrap_or_default();
            let tenant = words.next();
            if words.next().is_some() {
                return Err(bad("expected a credential and at most one tenant"));
            }
            if scheme == Scheme::Basic && !secret.contains(':') {
                return Err(bad("expected `<user>:<password>`"));
            }
            let tenant = tenant
                .map(HeaderValue::from_str)
                .transpose()
                .map_err(|_| bad("the tenant is not a valid header value"))?;
            accepted.push(Accepted {
                digest: digest(scheme, secret.as_bytes()),
                tenant,
            });
        }
        Ok(accepted)
    }

    /// Checks an `Authorization` header.
    pub(crate) fn check(&self, authorization: Option<&HeaderValue>) -> Verdict {
        let Some(presented) = authorization.and_then(presented) else {
            return Verdict::Refused;
        };
        let mut matched: Option<&Accepted> = None;
        for accepted in &self.accepted {
            // Every entry is compared; none ends the loop early.
            if bool::from(accepted.digest.ct_eq(&presented)) {
                matched = Some(accepted);
            }
        }
        match matched {
            Some(accepted) => Verdict::Allowed(accepted.tenant.clone()),
            None => Verdict::Refused,
        }
    }
}

/// The digest of the credential an `Authorization` header presents.
fn presented(header: &HeaderValue) -> Option<[u8; 32]> {
    let text = header.to_str().ok()?;
    let (scheme, value) = text.split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(digest(Scheme::Bearer, value.as_bytes()))
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()?;
        Some(digest(Scheme::Basic, &decoded))
    } else {
        None
    }
}

/// The credentials of `auth`, re-read when their files change; `key` names the section.
pub(super) fn watched(
    key: &str,
    auth: &AuthConfig,
    base_dir: &Path,
) -> Result<Watched<Credentials>, AccessError> {
    let files: Vec<(Scheme, String, PathBuf)> = [
        (
            Scheme::Bearer,
            "bearer_tokens_file",
            &auth.bearer_tokens_file,
        ),
        (Scheme::Basic, "basic_auth_file", &auth.basic_auth_file),
    ]
    .into_iter()
    .filter_map(|(scheme, name, path)| {
        path.as_ref()
            .map(|path| (scheme, format!("{key}.{name}"), base_dir.join(path)))
    })
    .collect();
    if files.is_empty() {
        return Err(AccessError::new(
            key,
            "names no credentials: set `bearer_tokens_file` or `basic_auth_file`",
        ));
    }
    let paths = files.iter().map(|(_, _, path)| path.clone()).collect();
    let load = move || -> Result<Credentials, AccessError> {
        let mut credentials = Credentials::default();
        for (scheme, key, path) in &files {
            let text = std::fs::read_to_string(path)
                .map_err(|error| AccessError::new(key, format!("{}: {error}", path.display())))?;
            credentials
                .accepted
                .extend(Credentials::parse(*scheme, &text, key, path)?);
        }
        if credentials.accepted.is_empty() {
            tracing::warn!("the credential files hold no entries: every request is refused");
        }
        Ok(credentials)
    };
    Watched::new(key.to_owned(), paths, auth.reload_interval, Box::new(load))
}

/// Refuses requests without valid credentials; sets the tenant header of tenant-bound
/// ones. Paths in `open_paths` pass without credentials.
#[derive(Clone)]
pub struct AuthLayer {
    credentials: Arc<Watched<Credentials>>,
    open_paths: &'static [&'static str],
}

impl AuthLayer {
    pub(super) fn new(
        credentials: Arc<Watched<Credentials>>,
        open_paths: &'static [&'static str],
    ) -> AuthLayer {
        AuthLayer {
            credentials,
            open_paths,
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Authenticated<S> {
        Authenticated {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Authenticated<S> {
    inner: S,
    layer: AuthLayer,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for Authenticated<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        if self.layer.open_paths.contains(&request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        let verdict = self
            .layer
            .credentials
            .current()
            .check(request.headers().get(AUTHORIZATION));
        match verdict {
            Verdict::Allowed(tenant) => {
                if let Some(tenant) = tenant {
                    request.headers_mut().insert(TENANT_HEADER, tenant);
                }
                Box::pin(self.inner.call(request))
            }
            Verdict::Refused => {
                let grpc = request
                    .headers()
                    .get(CONTENT_TYPE)
                    .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"));
                let response = refusal(grpc);
                Box::pin(async move { Ok(response) })
            }
        }
    }
}

/// HTTP 401 with the schemes to use, or gRPC UNAUTHENTICATED (a trailers-only response).
fn refusal<B: Default>(grpc: bool) -> Response<B> {
    let mut response = Response::new(B::default());
    if !grpc {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
    }
    let headers = response.headers_mut();
    if grpc {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert("grpc-status", HeaderValue::from_static("16"));
        headers.insert(
            "grpc-message",
            HeaderValue::from_static("missing%20or%20invalid%20credentials"),
        );
    } else {
        headers.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"spangate\""),
        );
        headers.append(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"spangate\""),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(tokens: &str, users: &str) -> Credentials {
        let mut credentials = Credentials::default();
        let path = Path::new("f");
        credentials
            .accepted
            .extend(Credentials::parse(Scheme::Bearer, tokens, "k", path).unwrap());
        credentials
            .accepted
            .extend(Credentials::parse(Scheme::Basic, users, "k", path).unwrap());
        credentials
    }

    fn header(text: &str) -> HeaderValue {
        HeaderValue::from_str(text).unwrap()
    }

    fn basic(user_password: &str) -> HeaderValue {
        let encoded = base64::engine::general_purpose::STANDARD.encode(user_password);
        header(&format!("Basic {encoded}"))
    }

    #[test]
    fn tokens_and_users_are_accepted_with_their_tenants() {
        let credentials = credentials(
            "# ops\nsecret-a\nsecret-b team-b\n",
            "grafana:pa55 team-g\nscraper:x\n",
        );
        let allowed = |h: HeaderValue| credentials.check(Some(&h));
        assert_eq!(allowed(header("Bearer secret-a")), Verdict::Allowed(None));
        assert_eq!(
            allowed(header("bearer  secret-b")),
            Verdict::Allowed(Some(header("team-b")))
        );
        assert_eq!(
            allowed(basic("grafana:pa55")),
            Verdict::Allowed(Some(header("team-g")))
        );
        assert_eq!(allowed(basic("scraper:x")), Verdict::Allowed(None));
    }

    #[test]
    fn wrong_missing_or_cross_scheme_credentials_are_refused() {
        let credentials = credentials("secret-a\n", "grafana:pa55\n");
        for refused in [
            header("Bearer secret-"),
            header("Bearer secret-ab"),
            header("Bearer"),
            header("Token secret-a"),
            header("Basic secret-a"),
            basic("grafana:pa5"),
            // A token sent as a basic credential, and the reverse, match nothing.
            header("Bearer grafana:pa55"),
            basic("secret-a"),
        ] {
            assert_eq!(
                credentials.check(Some(&refused)),
                Verdict::Refused,
                "{refused:?}"
            );
        }
        assert_eq!(credentials.check(None), Verdict::Refused);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let error = match Credentials::parse(
            Scheme::Basic,
            "ok:1\nno-colon\n",
            "auth",
            Path::new("users"),
        ) {
            Err(error) => error,
            Ok(_) => panic!("accepted a line without a colon"),
        };
        assert_eq!(error.key, "auth");
        assert!(error.message.contains("users line 2"), "{error}");
        assert!(Credentials::parse(Scheme::Bearer, "a b c\n", "auth", Path::new("t")).is_err());
    }
}
