//! `metrics.remote_write`: where and how often the metrics plugins' series are pushed.
//! Parsed with the rest of the YAML (unknown keys are errors naming the dotted key);
//! `settings` checks it and builds the typed form in one function, used both by
//! `Config::validate` and by `lib::run`, so the two cannot drift.

use std::collections::BTreeMap;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use crate::model::is_label_name;

/// The dotted key of this section, prefixed to every error.
const KEY: &str = "metrics.remote_write";

/// Shortest accepted `interval`: each push collects every metrics plugin (a guest call).
pub(crate) const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Headers the pusher sets itself (the protocol's), refused in `headers`.
const RESERVED_HEADERS: [&str; 6] = [
    "content-encoding",
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "x-prometheus-remote-write-version",
];

/// `metrics.remote_write` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteConfig {
    /// The receiver's remote-write endpoint, `http://` or `https://` (TLS checked against
    /// the bundled Mozilla roots), e.g. `http://prometheus:9090/api/v1/write` (Prometheus
    /// with `--web.enable-remote-write-receiver`) or Mimir's `/api/v1/push`. Credentials
    /// in the URL (`https://user:pass@host/...`) are sent as basic auth. Required.
    pub url: String,
    /// Push period. At least 1s. Default 15s (Tempo's metrics-generator default).
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// Time limit of one HTTP request (connect to end of response). Default 10s.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Extra HTTP headers on every request, e.g. `Authorization` or `X-Scope-OrgID`
    /// (Mimir/Cortex tenant). The protocol's own headers cannot be overridden. Default none.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Labels added to every pushed series that does not already have them, e.g.
    /// `cluster: prod`. Names as Prometheus allows (`[a-zA-Z_][a-zA-Z0-9_]*`, not `__`
    /// reserved), non-empty values. Default none.
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
}

fn default_interval() -> Duration {
    Duration::from_secs(15)
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// `metrics.remote_write`, checked.
#[derive(Debug, Clone)]
pub struct RemoteWriteSettings {
    pub url: reqwest::Url,
    pub interval: Duration,
    pub timeout: Duration,
    /// Sensitive-marked (not logged) when named `Authorization`.
    pub headers: HeaderMap,
    /// Sorted by name.
    pub external_labels: Vec<(String, String)>,
}

impl RemoteWriteConfig {
    /// Checks the section and builds its typed form; an error is `(dotted key, message)`.
    pub fn settings(&self) -> Result<RemoteWriteSettings, (String, String)> {
        let url_key = format!("{KEY}.url");
        let url = reqwest::Url::parse(&self.url).map_err(|error| {
            (
                url_key.clone(),
                format!("`{}` is not a URL: {error}", self.url),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err((
                url_key,
                format!(
                    "`{}` must be an http:// or https:// URL with a host",
                    self.url
                ),
            ));
        }
        if self.interval < MIN_INTERVAL {
            return Err((
                format!("{KEY}.interval"),
                format!("must be at least {MIN_INTERVAL:?}"),
            ));
        }
        if self.timeout.is_zero() {
            return Err((
                format!("{KEY}.timeout"),
                "must be greater than zero".to_owned(),
            ));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let key = format!("{KEY}.headers.{name}");
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| (key.clone(), format!("`{name}` is not an HTTP header name")))?;
            if RESERVED_HEADERS.contains(&header_name.as_str()) {
                return Err((key, format!("`{name}` is set by the remote-write protocol")));
            }
            let mut header_value = HeaderValue::from_str(value).map_err(|_| {
                (
                    key.clone(),
                    "is not a valid HTTP header value (visible ASCII only)".to_owned(),
                )
            })?;
            if header_name == http::header::AUTHORIZATION {
                header_value.set_sensitive(true);
            }
            headers.insert(header_name, header_value);
        }
        let mut external_labels = Vec::with_capacity(self.external_labels.len());
        for (name, value) in &self.external_labels {
            let key = format!("{KEY}.external_labels.{name}");
            if !is_label_name(name) || name.starts_with("__") {
                return Err((
                    key,
                    format!(
                        "`{name}` is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, `__` is reserved)"
                    ),
                ));
            }
            if value.is_empty() {
                return Err((key, "must not be empty".to_owned()));
            }
            external_labels.push((name.clone(), value.clone()));
        }
        Ok(RemoteWriteSettings {
            url,
            interval: self.interval,
            timeout: self.timeout,
            headers,
            external_labels,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};

    const VALID: &str = "metrics:\n  remote_write:\n    url: http://127.0.0.1:9090/api/v1/write\n";

    fn key_of(yaml_tail: &str) -> String {
        let yaml = format!("{VALID}{yaml_tail}");
        match Config::from_yaml(&yaml) {
            Err(ConfigError::Invalid { key, .. }) => key,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("accepted:\n{yaml}"),
        }
    }

    fn invalid_key(yaml: &str) -> String {
        match Config::from_yaml(yaml) {
            Err(ConfigError::Invalid { key, .. }) => key,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("accepted:\n{yaml}"),
        }
    }

    #[test]
    fn absent_is_off_and_defaults_fill_the_rest() {
        assert!(
            Config::from_yaml("")
                .unwrap()
                .metrics
                .remote_write
                .is_none()
        );
        let config = Config::from_yaml(VALID).unwrap();
        let settings = config.remote_write_settings().unwrap().unwrap();
        assert_eq!(settings.interval, std::time::Duration::from_secs(15));
        assert_eq!(settings.timeout, std::time::Duration::from_secs(10));
        assert!(settings.headers.is_empty());
        assert!(settings.external_labels.is_empty());
    }

    #[test]
    fn headers_and_external_labels_are_typed() {
        let config = Config::from_yaml(&format!(
            "{VALID}    headers: {{X-Scope-OrgID: team-a, Authorization: Bearer abc}}\n    \
             external_labels: {{region: eu, cluster: prod}}\n"
        ))
        .unwrap();
        let settings = config.remote_write_settings().unwrap().unwrap();
        assert_eq!(settings.headers["x-scope-orgid"], "team-a");
        assert!(settings.headers["authorization"].is_sensitive());
        assert_eq!(
            settings.external_labels,
            vec![
                ("cluster".to_owned(), "prod".to_owned()),
                ("region".to_owned(), "eu".to_owned())
            ]
        );
    }

    #[test]
    fn missing_url_is_named() {
        assert_eq!(
            invalid_key("metrics:\n  remote_write:\n    interval: 5s\n"),
            "metrics.remote_write"
        );
    }

    #[test]
    fn bad_url_is_named() {
        let key = "metrics.remote_write.url";
        assert_eq!(
            invalid_key("metrics:\n  remote_write:\n    url: prometheus:9090 /write\n"),
            key
        );
        assert_eq!(
            invalid_key("metrics:\n  remote_write:\n    url: ftp://host/write\n"),
            key
        );
    }

    #[test]
    fn short_interval_is_named() {
        assert_eq!(
            key_of("    interval: 500ms\n"),
            "metrics.remote_write.interval"
        );
        assert_eq!(
            key_of("    interval: soon\n"),
            "metrics.remote_write.interval"
        );
    }

    #[test]
    fn zero_timeout_is_named() {
        assert_eq!(key_of("    timeout: 0s\n"), "metrics.remote_write.timeout");
    }

    #[test]
    fn bad_or_reserved_header_is_named() {
        assert_eq!(
            key_of("    headers: {\"Bad Name\": x}\n"),
            "metrics.remote_write.headers.Bad Name"
        );
        assert_eq!(
            key_of("    headers: {Content-Encoding: gzip}\n"),
            "metrics.remote_write.headers.Content-Encoding"
        );
        assert_eq!(
            key_of("    headers: {X-Token: \"a\\nb\"}\n"),
            "metrics.remote_write.headers.X-Token"
        );
    }

    #[test]
    fn bad_external_label_is_named() {
        assert_eq!(
            key_of("    external_labels: {1zone: eu}\n"),
            "metrics.remote_write.external_labels.1zone"
        );
        assert_eq!(
            key_of("    external_labels: {__name__: x}\n"),
            "metrics.remote_write.external_labels.__name__"
        );
        assert_eq!(
            key_of("    external_labels: {cluster: \"\"}\n"),
            "metrics.remote_write.external_labels.cluster"
        );
    }

    #[test]
    fn unknown_key_is_named() {
        assert_eq!(key_of("    urls: []\n"), "metrics.remote_write.urls");
    }

    /// The commented-out example in the embedded default config, uncommented, is valid
    /// and means what it says.
    #[test]
    fn documented_example_parses() {
        let example: String = crate::config::DEFAULT_CONFIG_YAML
            .lines()
            .skip_while(|line| !line.starts_with("# metrics:"))
            .take_while(|line| line.starts_with('#'))
            .filter_map(|line| line.strip_prefix("# "))
            .filter(|line| !line.trim_start().starts_with('#'))
            .map(|line| format!("{line}\n"))
            .collect();
        assert!(example.contains("remote_write:"), "{example}");
        let config = Config::from_yaml(&example).unwrap_or_else(|e| panic!("{e}\n{example}"));
        let settings = config.remote_write_settings().unwrap().unwrap();
        assert_eq!(settings.url.as_str(), "http://prometheus:9090/api/v1/write");
        assert_eq!(settings.interval, std::time::Duration::from_secs(15));
    }
}
