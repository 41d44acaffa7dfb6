//! `exporters:` in the config: where accepted spans are forwarded, over which protocol,
//! and how each exporter's durable queue and retries behave.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// One upstream OTLP endpoint, or a tier of them spans are spread over by trace id.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExporterConfig {
    /// Names the exporter in logs and metrics (`exporter` label); unique.
    pub name: String,
    /// `grpc` (OTLP/gRPC) or `http` (OTLP/HTTP protobuf, `POST <endpoint>/v1/traces`).
    pub protocol: Protocol,
    /// One upstream, e.g. `http://tempo:4317` (`https://` for TLS). For `http`, a URL
    /// without a path gets `/v1/traces` appended, as OTLP SDKs do with
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`. Exactly one of `endpoint` and `routing`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Several upstreams: every span of a trace goes to the same one (consistent hashing
    /// of the trace id), as the OpenTelemetry Collector's `loadbalancing` exporter does.
    #[serde(default)]
    pub routing: Option<RoutingConfig>,
    /// Headers (gRPC metadata) sent with every request, e.g. `authorization` or
    /// `X-Scope-OrgID`. Without an `X-Scope-OrgID` here, a tenant's batches carry the
    /// tenant's own (with multi-tenancy on).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `gzip` (default, as the Collector's OTLP exporters) or `none`.
    #[serde(default)]
    pub compression: ExportCompression,
    /// How long one request may take before it counts as failed (and is retried).
    /// Default 10s.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    #[serde(default)]
    pub tls: TlsConfig,
    #[serde(default)]
    pub queue: QueueConfig,
    #[serde(default)]
    pub retry: RetryConfig,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Grpc,
    Http,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportCompression {
    #[default]
    Gzip,
    None,
}

/// The upstreams of a routing exporter: a fixed list or a DNS name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// Upstream URLs, e.g. `[http://gw-1:4317, http://gw-2:4317]`.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// A DNS name whose addresses are the upstreams, resolved every `interval`.
    #[serde(default)]
    pub dns: Option<DnsConfig>,
    /// An upstream failing without a break for this long is taken out of the ring: its
    /// queued batches and its share of new traces go to the others (those traces are
    /// then split between upstreams) until it answers again. Default `0`: never; its
    /// share waits in its queue, so no trace is split.
    #[serde(default, with = "humantime_serde")]
    pub give_up_after: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    pub hostname: String,
    /// The port of every address. Default 4317 for `grpc`, 4318 for `http`.
    #[serde(default)]
    pub port: Option<u16>,
    /// `http` (default) or `https`.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// How often the name is resolved again. Default 30s.
    #[serde(default = "default_dns_interval", with = "humantime_serde")]
    pub interval: Duration,
}

fn default_scheme() -> String {
    "http".to_owned()
}

fn default_dns_interval() -> Duration {
    Duration::from_secs(30)
}

/// TLS towards `https://` upstreams (rustls; the webpki roots unless `ca_file`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file of the CA certificates that sign the upstream's certificate (instead
    /// of the public roots). Relative paths are relative to the config file.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate and key, for upstreams that require client certificates.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// The name checked against the upstream's certificate, when the URL's host differs.
    pub server_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Bytes the exporter's queue (all of its upstreams) may hold on disk; when full,
    /// new requests are refused with a retryable status. Default 512MiB.
    #[serde(deserialize_with = "crate::model::size::deserialize_bytes")]
    pub max_bytes: u64,
    /// Requests in flight per upstream. Default 4.
    pub concurrency: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            max_bytes: 512 << 20,
            concurrency: 4,
        }
    }
}

/// Exponential backoff with jitter between attempts of a failing upstream; a
/// `RetryInfo` / `Retry-After` from the upstream is waited out when longer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// The first wait. Default 1s.
    #[serde(with = "humantime_serde")]
    pub initial_interval: Duration,
    /// The longest wait. Default 30s.
    #[serde(with = "humantime_serde")]
    pub max_interval: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
        }
    }
}

/// Checks every exporter; the error names the dotted key (`exporters[1].endpoint`).
pub(crate) fn validate(exporters: &[ExporterConfig]) -> Result<(), (String, String)> {
    for (index, exporter) in exporters.iter().enumerate() {
        let key = |field: &str| format!("exporters[{index}].{field}");
        if exporter.name.is_empty() {
            return Err((key("name"), "must not be empty".to_owned()));
        }
        if exporters[..index].iter().any(|e| e.name == exporter.name) {
            return Err((
                key("name"),
                format!("`{}` names another exporter too", exporter.name),
            ));
        }
        match (&exporter.endpoint, &exporter.routing) {
            (Some(endpoint), None) => check_url(endpoint).map_err(|m| (key("endpoint"), m))?,
            (None, Some(routing)) => check_routing(routing, &key)?,
            (Some(_), Some(_)) => {
                return Err((
                    key("routing"),
                    "give either `endpoint` (one upstream) or `routing` (several), not both"
                        .to_owned(),
                ));
            }
            (None, None) => {
                return Err((
                    key("endpoint"),
                    "missing: give the upstream's URL (or `routing` for several)".to_owned(),
                ));
            }
        }
        for name in exporter.headers.keys() {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err((
                    key("headers"),
                    format!("`{name}` is not a valid header name"),
                ));
            }
        }
        for (name, value) in &exporter.headers {
            if http::HeaderValue::from_str(value).is_err() {
                return Err((
                    key(&format!("headers.{name}")),
                    "is not a valid header value".to_owned(),
                ));
            }
        }
        if exporter.timeout.is_zero() {
            return Err((key("timeout"), "must be greater than zero".to_owned()));
        }
        if exporter.queue.concurrency == 0 {
            return Err((key("queue.concurrency"), "must be at least 1".to_owned()));
        }
        if exporter.queue.max_bytes < 1 << 20 {
            return Err((key("queue.max_bytes"), "must be at least 1MiB".to_owned()));
        }
        if exporter.retry.initial_interval.is_zero()
            || exporter.retry.max_interval < exporter.retry.initial_interval
        {
            return Err((
                key("retry"),
                "initial_interval must be > 0 and at most max_interval".to_owned(),
            ));
        }
        if exporter.tls.cert_file.is_some() != exporter.tls.key_file.is_some() {
            return Err((
                key("tls"),
                "cert_file and key_file go together (a client certificate and its key)".to_owned(),
            ));
        }
    }
    Ok(())
}

fn check_routing(
    routing: &RoutingConfig,
    key: &dyn Fn(&str) -> String,
) -> Result<(), (String, String)> {
    match (&routing.dns, routing.endpoints.is_empty()) {
        (Some(_), false) => Err((
            key("routing"),
            "give either `endpoints` or `dns`, not both".to_owned(),
        )),
        (None, true) => Err((
            key("routing.endpoints"),
            "must list at least one upstream (or use `dns`)".to_owned(),
        )),
        (Some(dns), true) => {
            if dns.hostname.is_empty() {
                return Err((key("routing.dns.hostname"), "must not be empty".to_owned()));
            }
            if dns.scheme != "http" && dns.scheme != "https" {
                return Err((
                    key("routing.dns.scheme"),
                    "must be http or https".to_owned(),
                ));
            }
            if dns.interval < Duration::from_secs(1) {
                return Err((
                    key("routing.dns.interval"),
                    "must be at least 1s".to_owned(),
                ));
            }
            Ok(())
        }
        (None, false) => {
            for (i, endpoint) in routing.endpoints.iter().enumerate() {
                check_url(endpoint).map_err(|m| (key(&format!("routing.endpoints[{i}]")), m))?;
                if routing.endpoints[..i].contains(endpoint) {
                    return Err((
                        key(&format!("routing.endpoints[{i}]")),
                        format!("`{endpoint}` is listed twice"),
                    ));
                }
            }
            Ok(())
        }
    }
}

/// An upstream URL: `http://` or `https://` with a host (and usually a port).
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(format!("`{url}` must start with http:// or https://")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("`{url}` has no host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<(), (String, String)> {
        let exporters: Vec<ExporterConfig> = serde_yaml_ng::from_str(yaml).unwrap();
        validate(&exporters)
    }

    #[test]
    fn bad_settings_are_named_by_their_key() {
        let cases = [
            ("- { name: a, protocol: grpc }", "exporters[0].endpoint"),
            (
                "- { name: a, protocol: grpc, endpoint: 'tempo:4317' }",
                "exporters[0].endpoint",
            ),
            (
                "- { name: a, protocol: grpc, endpoint: 'http://a:1' }\n- { name: a, protocol: http, endpoint: 'http://b:1' }",
                "exporters[1].name",
            ),
            (
                "- { name: a, protocol: grpc, routing: { endpoints: ['http://a:1', 'ftp://b'] } }",
                "exporters[0].routing.endpoints[1]",
            ),
            (
                "- { name: a, protocol: grpc, routing: { endpoints: [] } }",
                "exporters[0].routing.endpoints",
            ),
            (
                "- { name: a, protocol: grpc, endpoint: 'http://a:1', queue: { max_bytes: 10KiB } }",
                "exporters[0].queue.max_bytes",
            ),
            (
                "- { name: a, protocol: grpc, endpoint: 'http://a:1', headers: { 'x-a': \"b\\n\" } }",
                "exporters[0].headers.x-a",
            ),
            (
                "- { name: a, protocol: grpc, endpoint: 'http://a:1', tls: { cert_file: c.pem } }",
                "exporters[0].tls",
            ),
        ];
        for (yaml, key) in cases {
            let (got, message) = parse(yaml).unwrap_err();
            assert_eq!(got, key, "{yaml}: {message}");
        }
        parse("- { name: a, protocol: http, endpoint: 'https://tempo.example:4318', compression: none }")
            .unwrap();
        parse("- { name: a, protocol: grpc, routing: { dns: { hostname: gw.internal } } }")
            .unwrap();
    }
}
