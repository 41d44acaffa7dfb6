//! `storage:` in the config: where and how spans are kept.

use std::path::PathBuf;

use serde::Deserialize;

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
    /// The columnar cold tier (`storage.blocks.*`).
    pub blocks: super::blocks::BlocksConfig,
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
            blocks: super::blocks::BlocksConfig::default(),
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
        self.blocks.validate()
    }
}
