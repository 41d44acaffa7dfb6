//! The `tls:` and `auth:` sections a TCP listener may carry.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// How often changed certificate and credential files are noticed, by default.
const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(10);

fn default_reload_interval() -> Duration {
    DEFAULT_RELOAD_INTERVAL
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain served to clients, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key of the leaf certificate (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// PEM CA certificates; when set, clients must present a certificate signed by one.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// How often the files are checked for changes (a changed file is loaded for new
    /// connections; a broken one is logged and the previous certificate kept). Default 10s.
    #[serde(default = "default_reload_interval", with = "humantime_serde")]
    pub reload_interval: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// File of accepted bearer tokens, one per line: `<token>` or `<token> <tenant>`;
    /// `#` starts a comment line.
    #[serde(default)]
    pub bearer_tokens_file: Option<PathBuf>,
    /// File of accepted basic-auth users, one per line: `<user>:<password>` or
    /// `<user>:<password> <tenant>` (the password holds no whitespace).
    #[serde(default)]
    pub basic_auth_file: Option<PathBuf>,
    /// How often the files are checked for changes. Default 10s.
    #[serde(default = "default_reload_interval", with = "humantime_serde")]
    pub reload_interval: Duration,
}
