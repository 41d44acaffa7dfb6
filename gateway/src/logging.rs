//! `log:` in the config and the process's log subscriber: `tracing` events as text or
//! JSON lines on stderr, filtered by `log.level` unless `RUST_LOG` is set.

use serde::Deserialize;

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

impl LogConfig {
    /// Checks the filter parses; the error names the dotted key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if tracing_subscriber::EnvFilter::try_new(&self.level).is_err() {
            return Err((
                "log.level".to_owned(),
                format!("`{}` is not a valid log filter", self.level),
            ));
        }
        Ok(())
    }
}

/// Installs the process-wide subscriber; `RUST_LOG`, when set, replaces `log.level`.
pub fn init(config: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
