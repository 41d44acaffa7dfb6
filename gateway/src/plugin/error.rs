//! What loading or starting a plugin can fail with; calls never fail (see `FailureKind`).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("cannot create the plugin runtime: {message}")]
    Runtime { message: String },
    #[error("plugin artifact cache {path}: {source}")]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not a spangate plugin: {reason}")]
    NotAPlugin { reason: String },
    /// The component exports a plugin interface of another version of the contract.
    #[error(
        "the plugin targets {targets}; this gateway speaks {speaks}: rebuild it against \
         the {version} WIT (sdk/ or wit/plugin.wit)"
    )]
    Version {
        /// E.g. `spangate:plugin@0.1.0`.
        targets: String,
        /// E.g. `spangate:plugin@0.2.0`.
        speaks: String,
        version: &'static str,
    },
    #[error("cannot compile the plugin component: {message}")]
    Compile { message: String },
    /// The component imports something the host does not provide (e.g. `wasi:http`).
    #[error(
        "the plugin imports something spangate does not provide (plugins get only \
         spangate:plugin/host and an empty WASI context): {message}"
    )]
    Link { message: String },
    #[error("plugin `{plugin}` could not be instantiated: {message}")]
    Instantiate { plugin: String, message: String },
    #[error("plugin `{plugin}` refused its configuration: {message}")]
    InitRefused { plugin: String, message: String },
    #[error("plugin `{plugin}`: invalid limits: {message}")]
    Limits { plugin: String, message: String },
}
