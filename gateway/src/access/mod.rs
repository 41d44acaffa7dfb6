//! Who may use a listener: TLS with an optional client-certificate requirement, and
//! credentials (bearer tokens or basic auth) read from files, a credential optionally
//! naming the tenant its requests belong to. Certificates and credential files are
//! re-read when they change, so they rotate without a restart.
//!
//! Each TCP listener with a `tls:` or `auth:` section gets one `ListenerAccess`; the
//! servers take its TLS acceptor (`incoming`) and its request layer (`auth`).

mod auth;
mod config;
mod incoming;
mod tls;
mod watch;

use std::path::Path;
use std::sync::Arc;

pub use auth::AuthLayer;
pub use config::{AuthConfig, TlsConfig};
pub use incoming::TlsIncoming;

use auth::Credentials;
use tokio_util::sync::CancellationToken;
use watch::Watched;

/// A listener's TLS and credentials could not be loaded; names the config key.
#[derive(Debug, thiserror::Error)]
#[error("`{key}`: {message}")]
pub struct AccessError {
    pub key: String,
    pub message: String,
}

impl AccessError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> AccessError {
        AccessError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// One listener's TLS (when configured) and credentials (when configured), each kept
/// current by a file watcher.
#[derive(Clone, Default)]
pub struct ListenerAccess {
    tls: Option<Arc<Watched<rustls::ServerConfig>>>,
    auth: Option<(Arc<Watched<Credentials>>, &'static [&'static str])>,
}

impl ListenerAccess {
    /// Loads the files of `tls` and `auth` (relative paths against `base_dir`); `key` is
    /// the listener's config section (`receivers.otlp_grpc`), used in errors and logs.
    /// `open_paths` are served without credentials (readiness probes).
    pub fn load(
        key: &str,
        tls: Option<&TlsConfig>,
        auth: Option<&AuthConfig>,
        base_dir: &Path,
        open_paths: &'static [&'static str],
    ) -> Result<ListenerAccess, AccessError> {
        let tls = tls
            .map(|tls| tls::watched(&format!("{key}.tls"), tls, base_dir))
            .transpose()?
            .map(Arc::new);
        let auth = auth
            .map(|auth| auth::watched(&format!("{key}.auth"), auth, base_dir))
            .transpose()?
            .map(|credentials| (Arc::new(credentials), open_paths));
        Ok(ListenerAccess { tls, auth })
    }

    /// True when the listener speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Re-reads the files whenever they change, until `shutdown`.
    pub fn watch(&self, shutdown: &CancellationToken) {
        if let Some(tls) = &self.tls {
            tokio::spawn(tls.clone().watch(shutdown.clone()));
        }
        if let Some((credentials, _)) = &self.auth {
            tokio::spawn(credentials.clone().watch(shutdown.clone()));
        }
    }

    /// The layer that refuses requests without valid credentials; `None` without `auth:`.
    pub fn auth_layer(&self) -> Option<AuthLayer> {
        self.auth
            .as_ref()
            .map(|(credentials, open_paths)| AuthLayer::new(credentials.clone(), open_paths))
    }

    /// Accepts TCP connections on `listener` and completes TLS handshakes concurrently
    /// (a slow client never holds up the others); `None` without `tls:`.
    pub fn tls_incoming(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: CancellationToken,
    ) -> Result<TlsIncoming, tokio::net::TcpListener> {
        match &self.tls {
            Some(tls) => Ok(incoming::accept_tls(listener, tls.clone(), shutdown)),
            None => Err(listener),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(cert: &str) -> TlsConfig {
        serde_yaml_ng::from_str(&format!("{{ cert_file: {cert}, key_file: key.pem }}")).unwrap()
    }

    fn load_error(tls: Option<&TlsConfig>, auth: Option<&AuthConfig>, dir: &Path) -> AccessError {
        match ListenerAccess::load("receivers.otlp_grpc", tls, auth, dir, &[]) {
            Err(error) => error,
            Ok(_) => panic!("loaded"),
        }
    }

    #[test]
    fn unreadable_or_empty_files_stop_the_start_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let missing = load_error(Some(&tls("missing.pem")), None, dir.path());
        assert_eq!(missing.key, "receivers.otlp_grpc.tls.cert_file");
        assert!(missing.message.contains("missing.pem"), "{missing}");

        std::fs::write(dir.path().join("empty.pem"), "not pem\n").unwrap();
        let empty = load_error(Some(&tls("empty.pem")), None, dir.path());
        assert!(empty.message.contains("no PEM certificate"), "{empty}");

        let no_files: AuthConfig = serde_yaml_ng::from_str("{}").unwrap();
        let nothing = load_error(None, Some(&no_files), dir.path());
        assert_eq!(nothing.key, "receivers.otlp_grpc.auth");

        let tokens: AuthConfig = serde_yaml_ng::from_str("{ bearer_tokens_file: tokens }").unwrap();
        let absent = load_error(None, Some(&tokens), dir.path());
        assert_eq!(absent.key, "receivers.otlp_grpc.auth.bearer_tokens_file");
    }

    #[test]
    fn relative_paths_resolve_against_the_config_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tokens"), "t\n").unwrap();
        let tokens: AuthConfig = serde_yaml_ng::from_str("{ bearer_tokens_file: tokens }").unwrap();
        let access = ListenerAccess::load("query", None, Some(&tokens), dir.path(), &[]).unwrap();
        assert!(access.auth_layer().is_some());
        assert!(!access.is_tls());
    }
}
