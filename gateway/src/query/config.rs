//! `query:` in the config: the query port and the bounds on search work.

use serde::Deserialize;

use crate::access::{AuthConfig, TlsConfig};
use crate::search::SearchSettings;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryConfig {
    /// Address of the Tempo-compatible query API. Default `127.0.0.1:3200`.
    pub listen: String,
    /// Bounds on the work of search, tag and metrics requests.
    pub search: SearchSettings,
    /// Serve HTTPS (optionally requiring client certificates). Default off: plain HTTP.
    pub tls: Option<TlsConfig>,
    /// Require credentials (bearer tokens or basic auth) on every path but `/ready`.
    /// Default off.
    pub auth: Option<AuthConfig>,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            listen: "127.0.0.1:3200".to_owned(),
            search: SearchSettings::default(),
            tls: None,
            auth: None,
        }
    }
}
