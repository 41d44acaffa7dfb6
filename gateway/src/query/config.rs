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
    /// Searches, tag lookups and TraceQL-metrics queries run at once (HTTP and gRPC);
    /// more wait for a slot within their time budget. Default 8.
    pub max_concurrent_queries: usize,
    /// Time budget of one such query, waiting for a slot included; past it the query
    /// stops and answers 504 (gRPC DEADLINE_EXCEEDED). Default 30s.
    #[serde(with = "humantime_serde")]
    pub query_timeout: std::time::Duration,
    /// Largest trace returned by trace-by-id, in encoded bytes: over it, v2 answers the
    /// spans that fit with status PARTIAL, v1 answers 422. `0`: no limit. Default 50MiB.
    #[serde(deserialize_with = "crate::model::size::deserialize_bytes")]
    pub max_bytes_per_trace: u64,
    /// Largest TraceQL expression accepted (`q`/`query` of every endpoint, HTTP and
    /// gRPC), in bytes: a larger one is refused with 400 (gRPC INVALID_ARGUMENT) before
    /// it is parsed. `0`: no limit. Default 128KiB, as Tempo's.
    #[serde(deserialize_with = "crate::model::size::deserialize_bytes")]
    pub max_query_expression_size_bytes: u64,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            listen: "127.0.0.1:3200".to_owned(),
            search: SearchSettings::default(),
            tls: None,
            auth: None,
            max_concurrent_queries: 8,
            query_timeout: std::time::Duration::from_secs(30),
            max_bytes_per_trace: 50 * 1024 * 1024,
            max_query_expression_size_bytes: 128 * 1024,
        }
    }
}

impl QueryConfig {
    /// Checks what serde cannot (the search bounds included); the error names the key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.max_concurrent_queries == 0 {
            return Err((
                "query.max_concurrent_queries".to_owned(),
                "must be at least 1".to_owned(),
            ));
        }
        if self.query_timeout.is_zero() {
            return Err((
                "query.query_timeout".to_owned(),
                "must be greater than zero".to_owned(),
            ));
        }
        self.search.validate()
    }
}
