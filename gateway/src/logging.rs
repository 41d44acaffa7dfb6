//! `log:` in the config and the process's log subscriber: `tracing` events as text or
//! JSON lines on stderr, filtered by `log.level` unless `RUST_LOG` is set. Text is
//! coloured only on a terminal, so logs redirected to a file or a collector carry no
//! ANSI escapes.

use std::io::IsTerminal;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Log filter in `tracing` syntax (`info`, `spangate=debug,warn`). `RUST_LOG` overrides it. Default `info`.
    pub level: String,
    /// `text` (default) or `json`.
    pub format: LogFormat,
    /// ANSI colours in `text` logs: `auto` (default: only when stderr is a terminal and
    /// `NO_COLOR` is unset), `always` or `never`. JSON logs are never coloured.
    pub color: LogColor,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
            format: LogFormat::Text,
            color: LogColor::Auto,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogColor {
    Auto,
    Always,
    Never,
}

impl LogColor {
    /// Whether text logs get ANSI colours, given whether stderr is a terminal and
    /// whether `NO_COLOR` is set (to anything non-empty, as no-color.org asks).
    fn enabled(self, stderr_is_terminal: bool, no_color: bool) -> bool {
        match self {
            LogColor::Always => true,
            LogColor::Never => false,
            LogColor::Auto => stderr_is_terminal && !no_color,
        }
    }
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
        LogFormat::Text => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
            let ansi = config
                .color
                .enabled(std::io::stderr().is_terminal(), no_color);
            builder.with_ansi(ansi).init()
        }
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_only_on_a_terminal_without_no_color_unless_forced() {
        assert!(LogColor::Auto.enabled(true, false));
        assert!(!LogColor::Auto.enabled(false, false), "a file or a pipe");
        assert!(!LogColor::Auto.enabled(true, true), "NO_COLOR");
        assert!(LogColor::Always.enabled(false, true));
        assert!(!LogColor::Never.enabled(true, false));
    }

    #[test]
    fn colour_is_a_known_word() {
        let config: LogConfig = serde_yaml_ng::from_str("color: never").unwrap();
        assert_eq!(config.color, LogColor::Never);
        let error = serde_yaml_ng::from_str::<LogConfig>("color: sometimes").unwrap_err();
        assert!(error.to_string().contains("auto"), "{error}");
    }
}
