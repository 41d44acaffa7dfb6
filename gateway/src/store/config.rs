//! `storage:` in the config: where and how spans are kept.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::retention::RetentionPolicy;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Keep spans for the query API. Default true; `false` makes a pure gateway that
    /// forwards what it receives to its `exporters` and keeps nothing but their send
    /// queues (and tail-sampled spans until their decision) under `data_dir`.
    pub enabled: bool,
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
    /// The columnar cold tier (`storage.blocks.*`).
    pub blocks: super::blocks::BlocksConfig,
    /// How long data is kept, by ingest time: `14d` by default (as Tempo's
    /// `block_retention`), `0` keeps forever. Deletion runs in the background, a whole
    /// ingest-time bucket (1/16 of the retention) at a time.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// Disk the store may use (`50GiB`); over it, the oldest data is deleted first.
    /// Absent: no cap.
    #[serde(deserialize_with = "crate::model::size::deserialize_optional_bytes")]
    pub max_disk_bytes: Option<u64>,
    /// Per-tenant retention overrides, by tenant name (assembled from the tenants'
    /// overrides, not a key of `storage:`); `None` keeps forever.
    #[serde(skip)]
    pub tenant_retention: HashMap<String, Option<Duration>>,
}

/// The smallest `storage.max_disk_bytes`: RocksDB's own files need a few MiB.
const MIN_DISK_BYTES: u64 = 16 << 20;

/// A retention of `0` keeps data forever.
pub(super) fn retention_of(duration: Duration) -> Option<Duration> {
    (!duration.is_zero()).then_some(duration)
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
            enabled: true,
            data_dir: PathBuf::from("./data"),
            fsync: FsyncPolicy::Never,
            compression: Compression::Lz4,
            block_cache_mib: 256,
            indexed_span_attributes: DEFAULT_INDEXED_SPAN_ATTRIBUTES
                .iter()
                .map(|key| (*key).to_owned())
                .collect(),
            blocks: super::blocks::BlocksConfig::default(),
            retention: Duration::from_secs(14 * 24 * 3600),
            max_disk_bytes: None,
            tenant_retention: HashMap::new(),
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

impl StorageConfig {
    /// Retention per tenant, as the store applies it.
    pub fn retention_policy(&self) -> RetentionPolicy {
        RetentionPolicy {
            default: retention_of(self.retention),
            per_tenant: self.tenant_retention.clone(),
        }
    }

    /// Checks what serde cannot; the error names the dotted key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.data_dir.as_os_str().is_empty() {
            return Err((
                "storage.data_dir".to_owned(),
                "must not be empty".to_owned(),
            ));
        }
        if let Some(position) = self
            .indexed_span_attributes
            .iter()
            .position(|key| key.is_empty())
        {
            return Err((
                format!("storage.indexed_span_attributes[{position}]"),
                "must not be empty".to_owned(),
            ));
        }
        if self.retention.subsec_nanos() != 0 {
            return Err((
                "storage.retention".to_owned(),
                "must be whole seconds (e.g. 14d, 36h, 90s) or 0 to keep forever".to_owned(),
            ));
        }
        if let Some(bytes) = self.max_disk_bytes
            && bytes < MIN_DISK_BYTES
        {
            return Err((
                "storage.max_disk_bytes".to_owned(),
                format!("must be at least 16MiB (got {bytes} bytes)"),
            ));
        }
        self.blocks.validate()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn error_of(yaml: &str) -> String {
        match Config::from_yaml(yaml) {
            Ok(_) => panic!("accepted: {yaml}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn retention_and_disk_cap_parse_and_bad_values_name_their_key() {
        let config =
            Config::from_yaml("storage: { retention: 36h, max_disk_bytes: 50GiB }").unwrap();
        assert_eq!(config.storage.retention.as_secs(), 36 * 3600);
        assert_eq!(config.storage.max_disk_bytes, Some(50 << 30));
        let forever = Config::from_yaml("storage: { retention: 0 }").unwrap();
        assert_eq!(forever.storage.retention_policy().default, None);
        let default = Config::from_yaml("{}").unwrap();
        assert_eq!(default.storage.retention.as_secs(), 14 * 24 * 3600);
        assert_eq!(default.storage.max_disk_bytes, None);

        for (yaml, needle) in [
            ("storage: { retention: soon }", "storage.retention"),
            ("storage: { retention: 1500ms }", "storage.retention"),
            (
                "storage: { max_disk_bytes: 50GB }",
                "storage.max_disk_bytes",
            ),
            (
                "storage: { max_disk_bytes: 1MiB }",
                "storage.max_disk_bytes",
            ),
        ] {
            let error = error_of(yaml);
            assert!(error.contains(needle), "{yaml}: {error}");
        }
    }
}
