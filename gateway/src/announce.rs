//! The start-up line an operator reads first: the URLs to open or to point clients at
//! (OTLP endpoints, the trace view, the URL of a Grafana Tempo datasource, metrics),
//! taken from the sockets actually bound, so a `:0` port shows the port it got.

use std::fmt;
use std::net::SocketAddr;

use crate::config::Config;

/// The URLs of a started gateway; `None` where a receiver is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Urls {
    pub otlp_grpc: Option<String>,
    pub otlp_http: Option<String>,
    /// The query port: the Tempo API, the trace view at `/` and `/metrics`.
    pub query: Option<String>,
    /// Whether the query port serves traces (`storage.enabled`).
    pub storage: bool,
}

impl Urls {
    /// From the bound addresses of the OTLP gRPC, OTLP HTTP and query listeners.
    pub(crate) fn of(
        otlp_grpc: Option<SocketAddr>,
        otlp_http: Option<SocketAddr>,
        query: Option<SocketAddr>,
        config: &Config,
    ) -> Urls {
        let receivers = &config.receivers;
        Urls {
            otlp_grpc: otlp_grpc.map(|a| base_url(a, receivers.otlp_grpc.tls.is_some())),
            otlp_http: otlp_http.map(|a| base_url(a, receivers.otlp_http.tls.is_some())),
            query: query.map(|a| base_url(a, config.query.tls.is_some())),
            storage: config.storage.enabled,
        }
    }

    /// Logs the start-up line (info).
    pub(crate) fn log(&self) {
        let off = || "off".to_owned();
        let query = self.query.clone().unwrap_or_else(off);
        let (trace_view, grafana_tempo_url) = if self.storage {
            (format!("{query}/"), query.clone())
        } else {
            ("off (storage.enabled: false)".to_owned(), off())
        };
        tracing::info!(
            otlp_grpc = %self.otlp_grpc.clone().unwrap_or_else(off),
            otlp_http = %self.otlp_http.clone().unwrap_or_else(off),
            %trace_view,
            %grafana_tempo_url,
            metrics = %format!("{query}/metrics"),
            "{self}"
        );
    }
}

/// The message of the start-up line: where to look first.
impl fmt::Display for Urls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.query, self.storage) {
            (Some(query), true) => write!(f, "spangate ready: open {query}/ to see traces"),
            _ => write!(f, "spangate ready"),
        }
    }
}

/// `scheme://host:port` for a bound socket. A wildcard address (`0.0.0.0`, `::`) is
/// reachable as `localhost` on this machine, which is what a URL to open needs.
fn base_url(address: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    if address.ip().is_unspecified() {
        format!("{scheme}://localhost:{}", address.port())
    } else {
        format!("{scheme}://{address}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_bound_address_and_scheme() {
        let v4: SocketAddr = "127.0.0.1:4317".parse().unwrap();
        assert_eq!(base_url(v4, false), "http://127.0.0.1:4317");
        assert_eq!(base_url(v4, true), "https://127.0.0.1:4317");
        let v6: SocketAddr = "[::1]:3200".parse().unwrap();
        assert_eq!(base_url(v6, false), "http://[::1]:3200");
        let any: SocketAddr = "0.0.0.0:3200".parse().unwrap();
        assert_eq!(base_url(any, false), "http://localhost:3200");
        let any6: SocketAddr = "[::]:4318".parse().unwrap();
        assert_eq!(base_url(any6, true), "https://localhost:4318");
    }

    #[test]
    fn the_message_points_at_the_trace_view_only_with_storage() {
        let mut urls = Urls {
            otlp_grpc: Some("http://127.0.0.1:4317".to_owned()),
            otlp_http: None,
            query: Some("http://127.0.0.1:3200".to_owned()),
            storage: true,
        };
        assert_eq!(
            urls.to_string(),
            "spangate ready: open http://127.0.0.1:3200/ to see traces"
        );
        urls.storage = false;
        assert_eq!(urls.to_string(), "spangate ready");
    }
}
