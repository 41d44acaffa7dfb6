//! Configuration: one YAML file, deserialized into typed structs and validated
//! at start-up. Every field documents its unit and default; `examples/config/spangate.yaml`
//! shows them all. Unknown keys are errors, and every error names the dotted key.
//!
//! Each section's type lives with the module it configures (`store::StorageConfig`,
//! `search::SearchSettings`, ...) and checks its own values; this module only assembles
//! the sections, checks what spans several of them (listen addresses that clash), and
//! keeps what validation parsed (socket addresses, remote-write settings) so nothing is
//! parsed twice.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::forward::ExporterConfig;
use crate::ingest::{IngestConfig, LimitsConfig};
use crate::logging::LogConfig;
use crate::metrics::MetricsConfig;
use crate::metrics::remote_write::RemoteWriteSettings;
use crate::pipeline::builtin::BUILTIN_NAMES;
use crate::pipeline::config::{PluginEntry, PluginsConfig};
use crate::query::QueryConfig;
use crate::receiver::ReceiversConfig;
use crate::receiver::jaeger::{GRPC_LISTEN_KEY, JaegerListenAddrs, THRIFT_HTTP_LISTEN_KEY};
use crate::store::StorageConfig;
use crate::tenant::{MultitenancyConfig, OverridesConfig};

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

/// A section's own check failed: `(dotted key, message)`.
impl From<(String, String)> for ConfigError {
    fn from((key, message): (String, String)) -> Self {
        ConfigError::Invalid { key, message }
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
    /// Whether requests name their tenant (`X-Scope-OrgID`), as in Tempo.
    pub multitenancy: MultitenancyConfig,
    /// Upstreams every accepted span (after the pipeline) is forwarded to over OTLP.
    pub exporters: Vec<ExporterConfig>,
    /// Per-tenant limits, retention and pipelines.
    pub overrides: OverridesConfig,
    /// Process-wide settings: how long a graceful shutdown may take.
    pub server: ServerConfig,
    /// The global memory budget checked before a request is taken on.
    pub limits: LimitsConfig,
    /// Directory relative plugin paths are resolved against: the config file's.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file this config was read from, re-read on reload; `None` for the embedded default.
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// What validation parsed, kept so it is parsed once.
    #[serde(skip)]
    validated: Option<Validated>,
}

#[derive(Debug, Clone)]
struct Validated {
    listen: ListenAddrs,
    remote_write: Option<RemoteWriteSettings>,
}

/// Listen addresses after validation.
#[derive(Debug, Clone, Copy)]
pub struct ListenAddrs {
    pub otlp_grpc: Option<SocketAddr>,
    pub otlp_http: Option<SocketAddr>,
    pub zipkin: Option<SocketAddr>,
    pub query: SocketAddr,
    /// Jaeger's listeners; all `None` without `receivers.jaeger`.
    pub jaeger: JaegerListenAddrs,
}

/// `server:`: settings of the process as a whole (Tempo's key names).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// After SIGTERM/SIGINT: how long receivers, in-flight requests, the pipeline and the
    /// last pushes may take before the process exits anyway (with status 1; acknowledged
    /// spans are in the write-ahead log and kept). Default 30s.
    #[serde(with = "humantime_serde")]
    pub graceful_shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            graceful_shutdown_timeout: Duration::from_secs(30),
        }
    }
}

impl Config {
    /// Parses and validates YAML text.
    pub fn from_yaml(text: &str) -> Result<Config, ConfigError> {
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        let mut config: Config = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = err.path().to_string();
            let key = if path == "." {
                "<root>".to_owned()
            } else {
                path
            };
            ConfigError::invalid(&key, err.into_inner().to_string())
        })?;
        config.validated = Some(config.check()?);
        // The tenants' own retention, as the store applies it.
        config.storage.tenant_retention =
            config.overrides.retention_by_tenant().into_iter().collect();
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
        config.resolve_relative_dirs();
        config.source = Some(path.to_owned());
        Ok(config)
    }

    /// Makes `storage.data_dir` and `plugins.cache_dir` relative to the config file, as
    /// plugin, certificate and credential paths already are: the same file must open
    /// the same store whatever directory the gateway is started from.
    fn resolve_relative_dirs(&mut self) {
        let base = &self.base_dir;
        let resolve = |dir: &Path| base.join(dir.strip_prefix(".").unwrap_or(dir));
        self.storage.data_dir = resolve(&self.storage.data_dir);
        if let Some(cache) = &self.plugins.cache_dir {
            self.plugins.cache_dir = Some(resolve(cache));
        }
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
        self.check().map(|_| ())
    }

    fn check(&self) -> Result<Validated, ConfigError> {
        let listen = self.parse_listen_addrs()?;
        self.storage.validate()?;
        self.query.validate()?;
        self.receivers.validate()?;
        if let Some(jaeger) = &self.receivers.jaeger {
            jaeger.validate(self.multitenancy.enabled)?;
        }
        self.ingest.validate()?;
        self.limits
            .validate(self.storage.block_cache_mib as u64 * 1024 * 1024)?;
        crate::pipeline::config::validate(&self.pipeline, &BUILTIN_NAMES)?;
        self.multitenancy.validate()?;
        self.overrides
            .validate(self.multitenancy.enabled, &BUILTIN_NAMES)?;
        let remote_write = self
            .metrics
            .remote_write
            .as_ref()
            .map(|remote_write| remote_write.settings())
            .transpose()?;
        self.log.validate()?;
        crate::forward::config::validate(&self.exporters)?;
        if !self.storage.enabled && self.exporters.is_empty() {
            return Err(ConfigError::invalid(
                "storage.enabled",
                "is false and no `exporters` are configured: accepted spans would be kept \
                 nowhere; add an exporter or enable storage",
            ));
        }
        Ok(Validated {
            listen,
            remote_write,
        })
    }

    /// `metrics.remote_write`, checked; `None` when it is off.
    pub fn remote_write_settings(&self) -> Result<Option<RemoteWriteSettings>, ConfigError> {
        match &self.validated {
            Some(validated) => Ok(validated.remote_write.clone()),
            None => Ok(self.check()?.remote_write),
        }
    }

    /// The validated listen addresses; a disabled receiver has none.
    pub fn listen_addrs(&self) -> Result<ListenAddrs, ConfigError> {
        match &self.validated {
            Some(validated) => Ok(validated.listen),
            None => self.parse_listen_addrs(),
        }
    }

    fn parse_listen_addrs(&self) -> Result<ListenAddrs, ConfigError> {
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
        let zipkin = self
            .receivers
            .zipkin
            .as_ref()
            .map(|zipkin| parse_addr("receivers.zipkin.listen", &zipkin.listen))
            .transpose()?;
        let query = parse_addr("query.listen", &self.query.listen)?;
        let jaeger = match &self.receivers.jaeger {
            Some(jaeger) => jaeger.listen_addrs()?,
            None => JaegerListenAddrs::default(),
        };
        let mut seen: Vec<(&str, SocketAddr)> = Vec::new();
        // TCP listeners only: the Jaeger agent's UDP ports may share a number with them.
        for (key, addr) in [
            ("receivers.otlp_grpc.listen", otlp_grpc),
            ("receivers.otlp_http.listen", otlp_http),
            (GRPC_LISTEN_KEY, jaeger.grpc),
            (THRIFT_HTTP_LISTEN_KEY, jaeger.thrift_http),
            ("receivers.zipkin.listen", zipkin),
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
            zipkin,
            query,
            jaeger,
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
        assert_eq!(config.storage.fsync, crate::store::FsyncPolicy::Never);
    }

    #[test]
    fn relative_dirs_are_relative_to_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("spangate.yaml");
        std::fs::write(
            &file,
            "storage:\n  data_dir: ./data\nplugins:\n  cache_dir: cache/plugins\n",
        )
        .unwrap();
        let config = Config::from_file(&file).unwrap();
        assert_eq!(config.storage.data_dir, dir.path().join("data"));
        assert_eq!(config.plugin_cache_dir(), dir.path().join("cache/plugins"));
        std::fs::write(&file, "storage:\n  data_dir: /var/lib/spangate\n").unwrap();
        let config = Config::from_file(&file).unwrap();
        assert_eq!(config.storage.data_dir, PathBuf::from("/var/lib/spangate"));
        assert_eq!(
            config.plugin_cache_dir(),
            PathBuf::from("/var/lib/spangate/plugin-cache")
        );
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
    fn tenant_overrides_are_checked_with_their_key() {
        let err = Config::from_yaml(
            "multitenancy: { enabled: true }\noverrides:\n  tenants:\n    team-a: { ingestion_rate_spans: many }\n",
        )
        .unwrap_err();
        assert_eq!(key_of(err), "overrides.tenants.team-a.ingestion_rate_spans");
        let err = Config::from_yaml("overrides:\n  tenants:\n    team-a: {}\n").unwrap_err();
        assert_eq!(key_of(err), "overrides.tenants.team-a");
        let config = Config::from_yaml(
            "multitenancy: { enabled: true }\noverrides:\n  tenants:\n    team-a: { retention: 48h }\n",
        )
        .unwrap();
        assert!(config.multitenancy.enabled);
        let policy = config.storage.retention_policy();
        assert_eq!(
            policy.of("team-a"),
            Some(std::time::Duration::from_secs(48 * 3600))
        );
        assert_eq!(policy.of("team-b"), Some(config.storage.retention));
    }

    #[test]
    fn jaeger_receivers_are_off_unless_configured_and_checked_by_key() {
        let addrs = Config::from_yaml("").unwrap().listen_addrs().unwrap();
        assert!(addrs.jaeger.grpc.is_none() && addrs.jaeger.thrift_http.is_none());
        assert!(addrs.jaeger.thrift_compact.is_none() && addrs.jaeger.thrift_binary.is_none());
        let config = Config::from_yaml(
            "receivers:\n  jaeger:\n    grpc: { listen: \"127.0.0.1:14250\" }\n    thrift_compact: { listen: \"127.0.0.1:6831\" }\n",
        )
        .unwrap();
        let addrs = config.listen_addrs().unwrap();
        assert_eq!(addrs.jaeger.grpc.unwrap().to_string(), "127.0.0.1:14250");
        assert_eq!(
            addrs.jaeger.thrift_compact.unwrap().to_string(),
            "127.0.0.1:6831"
        );
        assert!(addrs.jaeger.thrift_http.is_none());
        let err = Config::from_yaml("receivers:\n  jaeger:\n    grpc: { lisen: x }\n").unwrap_err();
        assert_eq!(key_of(err), "receivers.jaeger.grpc.lisen");
        let err =
            Config::from_yaml("receivers:\n  jaeger:\n    thrift_http: { listen: nowhere }\n")
                .unwrap_err();
        assert_eq!(key_of(err), "receivers.jaeger.thrift_http.listen");
        let err = Config::from_yaml(
            "receivers:\n  jaeger:\n    thrift_http: { listen: \"127.0.0.1:4318\" }\n",
        )
        .unwrap_err();
        assert_eq!(key_of(err), "receivers.jaeger.thrift_http.listen");
        let err = Config::from_yaml(
            "multitenancy: { enabled: true }\nreceivers:\n  jaeger:\n    thrift_binary: { listen: \"127.0.0.1:6832\" }\n",
        )
        .unwrap_err();
        assert_eq!(key_of(err), "receivers.jaeger.thrift_binary.listen");
    }

    #[test]
    fn zipkin_is_off_unless_configured() {
        let config = Config::from_yaml("").unwrap();
        assert!(config.listen_addrs().unwrap().zipkin.is_none());
        let config = Config::from_yaml("receivers:\n  zipkin: {}\n").unwrap();
        assert_eq!(
            config.listen_addrs().unwrap().zipkin.unwrap().to_string(),
            "127.0.0.1:9411"
        );
        let err =
            Config::from_yaml("receivers:\n  zipkin: { listen: 127.0.0.1:4318 }\n").unwrap_err();
        assert_eq!(key_of(err), "receivers.zipkin.listen");
        let err = Config::from_yaml("receivers:\n  zipkin: { max_body_bytes: 10 }\n").unwrap_err();
        assert_eq!(key_of(err), "receivers.zipkin.max_body_bytes");
        let err = Config::from_yaml("receivers:\n  zipkin: { lisen: x }\n").unwrap_err();
        assert_eq!(key_of(err), "receivers.zipkin.lisen");
    }

    #[test]
    fn disabled_receiver_has_no_address() {
        let config = Config::from_yaml("receivers:\n  otlp_grpc:\n    enabled: false\n").unwrap();
        assert!(config.listen_addrs().unwrap().otlp_grpc.is_none());
    }
}
