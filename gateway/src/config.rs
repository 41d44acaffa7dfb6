//! Configuration: one YAML file, deserialized into typed structs and validated
//! at start-up. Every field documents its unit and default; `examples/config/spangate.yaml`
//! shows them all. Unknown keys are errors, and every error names the dotted key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::pipeline::builtin::BUILTIN_NAMES;
use crate::pipeline::config::{PluginEntry, PluginsConfig};
use crate::remote_write::{RemoteWriteConfig, RemoteWriteSettings};

/// The configuration embedded in the binary, used when no `--config` is given.
pub const DEFAULT_CONFIG_YAML: &str = include_str!("../../examples/config/spangate.yaml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config at `{key}`: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    fn invalid(key: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub storage: StorageConfig,
    pub receivers: ReceiversConfig,
    pub ingest: IngestConfig,
    pub query: QueryConfig,
    pub log: LogConfig,
    /// Settings shared by every plugin.
    pub plugins: PluginsConfig,
    /// The plugins every batch goes through before it is stored, in order.
    pub pipeline: Vec<PluginEntry>,
    /// What happens to the series of metrics plugins besides `GET /metrics`.
    pub metrics: MetricsConfig,
    /// Directory relative plugin paths are resolved against: the config file's.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file this config was read from, re-read on reload; `None` for the embedded default.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory holding the RocksDB database. Created if missing. Default `./data`.
    pub data_dir: PathBuf,
    /// When the write-ahead log is flushed to stable storage before a request is acknowledged.
    /// `never` (default): the WAL is written to the OS before the ack, so an acknowledged span
    /// survives a crash of spangate but not a power loss. `always`: fsync before every ack
    /// (concurrent requests share one fsync).
    pub fsync: FsyncPolicy,
    /// Block compression of stored spans: `lz4` (default) or `none`.
    pub compression: Compression,
    /// Size of RocksDB's block cache, in MiB, used by trace-by-id reads. Default 256.
    pub block_cache_mib: usize,
    /// Span attributes with search indexes (posting lists per value), besides every
    /// resource attribute, span names and error/ok statuses, which always have them.
    /// Conditions on other span attributes are answered by reading candidate traces.
    /// Default: common low-cardinality semantic-convention keys (HTTP method, status
    /// code and route, db/rpc/messaging system and operation, peer.service, error.type).
    pub indexed_span_attributes: Vec<String>,
}

/// Low-cardinality span attributes people search by.
pub const DEFAULT_INDEXED_SPAN_ATTRIBUTES: [&str; 14] = [
    "http.request.method",
    "http.method",
    "http.response.status_code",
    "http.status_code",
    "http.route",
    "db.system",
    "db.operation.name",
    "rpc.system",
    "rpc.service",
    "rpc.method",
    "messaging.system",
    "messaging.destination.name",
    "peer.service",
    "error.type",
];

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./data"),
            fsync: FsyncPolicy::Never,
            compression: Compression::Lz4,
            block_cache_mib: 256,
            indexed_span_attributes: DEFAULT_INDEXED_SPAN_ATTRIBUTES
                .iter()
                .map(|key| (*key).to_owned())
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsyncPolicy {
    Never,
    Always,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    Lz4,
    None,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiversConfig {
    pub otlp_grpc: GrpcReceiverConfig,
    pub otlp_http: HttpReceiverConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcReceiverConfig {
    /// Serve OTLP/gRPC. Default true.
    pub enabled: bool,
    /// Address to listen on. Default `127.0.0.1:4317`; use `0.0.0.0:4317` for all interfaces.
    pub listen: String,
    /// Largest accepted message after decompression, in bytes. Default 4 MiB (gRPC's default).
    pub max_message_bytes: usize,
}

impl Default for GrpcReceiverConfig {
    fn default() -> Self {
        GrpcReceiverConfig {
            enabled: true,
            listen: "127.0.0.1:4317".to_owned(),
            max_message_bytes: 4 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpReceiverConfig {
    /// Serve OTLP/HTTP (`POST /v1/traces`). Default true.
    pub enabled: bool,
    /// Address to listen on. Default `127.0.0.1:4318`; use `0.0.0.0:4318` for all interfaces.
    pub listen: String,
    /// Largest accepted body, in bytes, both as sent and after gzip decompression. Default 4 MiB.
    pub max_body_bytes: usize,
}

impl Default for HttpReceiverConfig {
    fn default() -> Self {
        HttpReceiverConfig {
            enabled: true,
            listen: "127.0.0.1:4318".to_owned(),
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Export requests being committed to the store at once; further requests wait. Default 64.
    pub max_inflight_writes: usize,
    /// How long a request waits for a write slot before it is refused as overloaded
    /// (gRPC UNAVAILABLE / HTTP 503 with Retry-After, both retried by OTLP exporters). Default 2s.
    #[serde(with = "humantime_serde")]
    pub queue_timeout: Duration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_inflight_writes: 64,
            queue_timeout: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryConfig {
    /// Address of the Tempo-compatible query API. Default `127.0.0.1:3200`.
    pub listen: String,
    /// Bounds on the work of search, tag and metrics requests.
    pub search: SearchSettings,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            listen: "127.0.0.1:3200".to_owned(),
            search: SearchSettings::default(),
        }
    }
}

/// Bounds on the work of one search request (`query.search` in the config).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchSettings {
    /// Traces read and evaluated per search or metrics request at most; past it the
    /// response holds what was found (newest first) and is marked incomplete. Default
    /// 100000.
    pub max_traces_inspected: usize,
    /// Recent traces read to list the values of a span attribute that has no index
    /// (or to apply a tag-values `q` filter). Default 5000.
    pub tag_value_scan_traces: usize,
    /// Values returned per tag at most. Default 1000.
    pub max_tag_values: usize,
    /// Tag names returned per scope at most. Default 1000.
    pub max_tag_names: usize,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            max_traces_inspected: 100_000,
            tag_value_scan_traces: 5_000,
            max_tag_values: 1_000,
            max_tag_names: 1_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Log filter in `tracing` syntax (`info`, `spangate=debug,warn`). `RUST_LOG` overrides it. Default `info`.
    pub level: String,
    /// `text` (default) or `json`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Push the metrics plugins' series with Prometheus remote-write. Default: absent (off).
    pub remote_write: Option<RemoteWriteConfig>,
}

/// Listen addresses after validation.
#[derive(Debug, Clone, Copy)]
pub struct ListenAddrs {
    pub otlp_grpc: Option<SocketAddr>,
    pub otlp_http: Option<SocketAddr>,
    pub query: SocketAddr,
}

impl Config {
    /// Parses and validates YAML text.
    pub fn from_yaml(text: &str) -> Result<Config, ConfigError> {
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = err.path().to_string();
            let key = if path == "." {
                "<root>".to_owned()
            } else {
                path
            };
            ConfigError::invalid(&key, err.into_inner().to_string())
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a config file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Config::from_yaml(&text)?;
        config.base_dir = path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_owned);
        config.source = Some(path.to_owned());
        Ok(config)
    }

    /// Where compiled plugin artifacts are cached.
    pub fn plugin_cache_dir(&self) -> PathBuf {
        self.plugins
            .cache_dir
            .clone()
            .unwrap_or_else(|| self.storage.data_dir.join("plugin-cache"))
    }

    /// The embedded default configuration.
    pub fn embedded_default() -> Config {
        let mut config =
            Config::from_yaml(DEFAULT_CONFIG_YAML).expect("the embedded default config is valid");
        config.base_dir = PathBuf::from(".");
        config
    }

    /// Checks what serde cannot: addresses, sizes and conflicts.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addrs()?;
        if self.storage.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                "storage.data_dir",
                "must not be empty",
            ));
        }
        if let Some(position) = self
            .storage
            .indexed_span_attributes
            .iter()
            .position(|key| key.is_empty())
        {
            return Err(ConfigError::invalid(
                &format!("storage.indexed_span_attributes[{position}]"),
                "must not be empty",
            ));
        }
        for (key, value) in [
            (
                "query.search.max_traces_inspected",
                self.query.search.max_traces_inspected,
            ),
            (
                "query.search.tag_value_scan_traces",
                self.query.search.tag_value_scan_traces,
            ),
            (
                "query.search.max_tag_values",
                self.query.search.max_tag_values,
            ),
            (
                "query.search.max_tag_names",
                self.query.search.max_tag_names,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(key, "must be at least 1"));
            }
        }
        if self.receivers.otlp_grpc.max_message_bytes < 1024 {
            return Err(ConfigError::invalid(
                "receivers.otlp_grpc.max_message_bytes",
                "must be at least 1024",
            ));
        }
        if self.receivers.otlp_http.max_body_bytes < 1024 {
            return Err(ConfigError::invalid(
                "receivers.otlp_http.max_body_bytes",
                "must be at least 1024",
            ));
        }
        if self.ingest.max_inflight_writes == 0 {
            return Err(ConfigError::invalid(
                "ingest.max_inflight_writes",
                "must be at least 1",
            ));
        }
        if self.ingest.queue_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "ingest.queue_timeout",
                "must be greater than zero",
            ));
        }
        crate::pipeline::config::validate(&self.pipeline, &BUILTIN_NAMES)
            .map_err(|(key, message)| ConfigError::invalid(&key, message))?;
        self.remote_write_settings()?;
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(ConfigError::invalid(
                "log.level",
                format!("`{}` is not a valid log filter", self.log.level),
            ));
        }
        Ok(())
    }

    /// `metrics.remote_write`, checked; `None` when it is off.
    pub fn remote_write_settings(&self) -> Result<Option<RemoteWriteSettings>, ConfigError> {
        self.metrics
            .remote_write
            .as_ref()
            .map(|remote_write| {
                remote_write
                    .settings()
                    .map_err(|(key, message)| ConfigError::invalid(&key, message))
            })
            .transpose()
    }

    /// The validated listen addresses; a disabled receiver has none.
    pub fn listen_addrs(&self) -> Result<ListenAddrs, ConfigError> {
        let grpc = &self.receivers.otlp_grpc;
        let http = &self.receivers.otlp_http;
        let otlp_grpc = grpc
            .enabled
            .then(|| parse_addr("receivers.otlp_grpc.listen", &grpc.listen))
            .transpose()?;
        let otlp_http = http
            .enabled
            .then(|| parse_addr("receivers.otlp_http.listen", &http.listen))
            .transpose()?;
        let query = parse_addr("query.listen", &self.query.listen)?;
        let mut seen: Vec<(&str, SocketAddr)> = Vec::new();
        for (key, addr) in [
            ("receivers.otlp_grpc.listen", otlp_grpc),
            ("receivers.otlp_http.listen", otlp_http),
            ("query.listen", Some(query)),
        ] {
            let Some(addr) = addr else { continue };
            if addr.port() != 0
                && let Some((other, _)) = seen.iter().find(|(_, a)| *a == addr)
            {
                return Err(ConfigError::invalid(
                    key,
                    format!("{addr} is already used by `{other}`"),
                ));
            }
            seen.push((key, addr));
        }
        Ok(ListenAddrs {
            otlp_grpc,
            otlp_http,
            query,
        })
    }
}

fn parse_addr(key: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        ConfigError::invalid(
            key,
            format!("`{value}` is not a socket address (expected host:port, e.g. 127.0.0.1:4317)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(err: ConfigError) -> String {
        match err {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn embedded_default_matches_documented_defaults() {
        let config = Config::embedded_default();
        let addrs = config.listen_addrs().unwrap();
        assert_eq!(addrs.otlp_grpc.unwrap().to_string(), "127.0.0.1:4317");
        assert_eq!(addrs.otlp_http.unwrap().to_string(), "127.0.0.1:4318");
        assert_eq!(addrs.query.to_string(), "127.0.0.1:3200");
        assert_eq!(config.storage.data_dir, PathBuf::from("./data"));
        assert_eq!(config.storage.fsync, FsyncPolicy::Never);
    }

    #[test]
    fn empty_file_gives_defaults() {
        let config = Config::from_yaml("").unwrap();
        assert_eq!(config.ingest.max_inflight_writes, 64);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::from_yaml("receivers:\n  otlp_http:\n    lisen: 1\n").unwrap_err();
        assert_eq!(key_of(err), "receivers.otlp_http.lisen");
    }

    #[test]
    fn bad_value_is_named() {
        let err = Config::from_yaml("storage:\n  fsync: sometimes\n").unwrap_err();
        assert_eq!(key_of(err), "storage.fsync");
        let err = Config::from_yaml("ingest:\n  queue_timeout: soon\n").unwrap_err();
        assert_eq!(key_of(err), "ingest.queue_timeout");
    }

    #[test]
    fn bad_address_is_named() {
        let err = Config::from_yaml("query:\n  listen: localhost\n").unwrap_err();
        assert_eq!(key_of(err), "query.listen");
    }

    #[test]
    fn clashing_addresses_are_refused() {
        let err = Config::from_yaml("query:\n  listen: 127.0.0.1:4318\n").unwrap_err();
        assert_eq!(key_of(err), "query.listen");
    }

    #[test]
    fn disabled_receiver_has_no_address() {
        let config = Config::from_yaml("receivers:\n  otlp_grpc:\n    enabled: false\n").unwrap();
        assert!(config.listen_addrs().unwrap().otlp_grpc.is_none());
    }
}
