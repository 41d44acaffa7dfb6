//! Plugin configuration: JSON text handed to `init`, keys and defaults as
//! Tempo's metrics-generator (`modules/generator/processor/spanmetrics/config.go`,
//! `modules/generator/processor/servicegraphs/config.go`,
//! `modules/generator/registry/config.go`, and the `max_active_series`
//! override), so a Tempo user recognises every knob.
//!
//! Unknown keys are rejected (`deny_unknown_fields`) and every error names the
//! dotted key path, so a typo stops start-up with a message that points at it.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

/// Why a configuration was refused. `path` is the dotted key path
/// (`service_graphs.histogram_buckets[2]`), or `.` for the document itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid span-metrics config at `{path}`: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The processors Tempo's metrics-generator offers that this plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Processor {
    #[serde(rename = "span-metrics")]
    SpanMetrics,
    #[serde(rename = "service-graphs")]
    ServiceGraphs,
}

/// Top-level configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Which processors run. Tempo's `metrics_generator.processors`; unlike
    /// Tempo (where the list starts empty) both are on by default, because
    /// enabling this plugin is the opt-in.
    pub processors: Vec<Processor>,
    /// Series registry: cardinality cap, staleness, label limits, exemplars.
    pub registry: RegistryConfig,
    /// `metrics_generator.processor.span_metrics`.
    pub span_metrics: SpanMetricsConfig,
    /// `metrics_generator.processor.service_graphs`.
    pub service_graphs: ServiceGraphsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            processors: vec![Processor::SpanMetrics, Processor::ServiceGraphs],
            registry: RegistryConfig::default(),
            span_metrics: SpanMetricsConfig::default(),
            service_graphs: ServiceGraphsConfig::default(),
        }
    }
}

/// Registry settings shared by both processors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryConfig {
    /// Maximum number of active series, counted as Prometheus counts them (a
    /// counter is 1, a classic histogram is `buckets + 3`: every `le` incl.
    /// `+Inf`, `_sum`, `_count`). Tempo's `max_active_series` override. At the
    /// cap, new series are not created (existing ones keep updating) and
    /// `spangate_metrics_generator_registry_series_limited_total` counts the
    /// refusals. `0` disables the cap. Default 10000.
    pub max_series: usize,
    /// A series not updated for this long is deleted (and counts again from
    /// zero if it comes back). Tempo's `registry.stale_duration`. Default `15m`.
    pub stale_duration: GoDuration,
    /// Label names longer than this are truncated. Default 1024 (Tempo).
    pub max_label_name_length: usize,
    /// Label values longer than this (bytes) are truncated at a character
    /// boundary. Default 2048 (Tempo).
    pub max_label_value_length: usize,
    /// Exemplar label carrying the trace id. Tempo's `trace_id_label_name`,
    /// default `traceID`; Grafana's exemplar link must use the same name.
    pub trace_id_label_name: String,
    /// Exemplar label carrying the span id; `""` leaves it out. Tempo has no
    /// such label. Default `spanID`.
    pub span_id_label_name: String,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            max_series: 10_000,
            stale_duration: GoDuration::from_secs(15 * 60),
            max_label_name_length: 1024,
            max_label_value_length: 2048,
            trace_id_label_name: "traceID".to_owned(),
            span_id_label_name: "spanID".to_owned(),
        }
    }
}

/// Span metrics (RED) settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpanMetricsConfig {
    /// Upper bounds (seconds) of `traces_spanmetrics_latency`; `+Inf` is
    /// implicit. Default `ExponentialBuckets(0.002, 2, 14)` = 0.002 … 16.384.
    pub histogram_buckets: Vec<f64>,
    /// Which intrinsic labels are added.
    pub intrinsic_dimensions: IntrinsicDimensions,
    /// Extra labels from attributes: each key is looked up in the resource
    /// attributes first, then the span attributes, and becomes a label whose
    /// name is the key sanitized the Prometheus way (`http.method` →
    /// `http_method`; a clash with an intrinsic gets a `__` prefix).
    pub dimensions: Vec<String>,
    /// Labels built by joining several attributes.
    pub dimension_mappings: Vec<DimensionMapping>,
    /// Which of the three metric families are produced.
    pub subprocessors: Subprocessors,
}

impl Default for SpanMetricsConfig {
    fn default() -> Self {
        Self {
            histogram_buckets: exponential_buckets(0.002, 2.0, 14),
            intrinsic_dimensions: IntrinsicDimensions::default(),
            dimensions: Vec::new(),
            dimension_mappings: Vec::new(),
            subprocessors: Subprocessors::default(),
        }
    }
}

/// Tempo's `intrinsic_dimensions`: all on except `status_message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntrinsicDimensions {
    pub service: bool,
    pub span_name: bool,
    pub span_kind: bool,
    pub status_code: bool,
    pub status_message: bool,
}

impl Default for IntrinsicDimensions {
    fn default() -> Self {
        Self {
            service: true,
            span_name: true,
            span_kind: true,
            status_code: true,
            status_message: false,
        }
    }
}

/// Tempo's `dimension_mappings` entry: label `name` is the non-empty values
/// of `source_labels` (attribute keys) joined by `join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionMapping {
    pub name: String,
    pub source_labels: Vec<String>,
    #[serde(default)]
    pub join: String,
}

/// Tempo's span-metrics subprocessors (`span-metrics-count`, `-latency`, `-size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Subprocessors {
    /// `traces_spanmetrics_calls_total`.
    pub count: bool,
    /// `traces_spanmetrics_latency`.
    pub latency: bool,
    /// `traces_spanmetrics_size_total`.
    pub size: bool,
}

impl Default for Subprocessors {
    fn default() -> Self {
        Self {
            count: true,
            latency: true,
            size: true,
        }
    }
}

/// Service graph settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceGraphsConfig {
    /// How long a half edge waits for its other half. Default `10s`.
    pub wait: GoDuration,
    /// Maximum half edges held; beyond it spans are dropped (and counted).
    /// Default 10000.
    pub max_items: usize,
    /// Upper bounds (seconds) of the client/server histograms. Default
    /// `ExponentialBuckets(0.1, 2, 8)` = 0.1 … 12.8.
    pub histogram_buckets: Vec<f64>,
    /// Extra labels from attributes (resource first, then span).
    pub dimensions: Vec<String>,
    /// Emit each dimension twice, as `client_<dim>` and `server_<dim>`.
    pub enable_client_server_prefix: bool,
    /// Attributes (span only, first present wins) naming an uninstrumented
    /// peer, used for virtual nodes. Default `peer.service`, `db.name`,
    /// `db.system`.
    pub peer_attributes: Vec<String>,
    /// Add a `virtual_node` label (`client` / `server`) to virtual-node edges.
    pub enable_virtual_node_label: bool,
    /// Also emit `traces_service_graph_request_messaging_system_seconds`
    /// (producer end → consumer start).
    pub enable_messaging_system_latency_histogram: bool,
    /// Attributes that mark a CLIENT span as a database call (first present
    /// names the database). Default `db.namespace`, `db.name`, `db.system`.
    pub database_name_attributes: Vec<String>,
}

impl Default for ServiceGraphsConfig {
    fn default() -> Self {
        Self {
            wait: GoDuration::from_secs(10),
            max_items: 10_000,
            histogram_buckets: exponential_buckets(0.1, 2.0, 8),
            dimensions: Vec::new(),
            enable_client_server_prefix: false,
            peer_attributes: vec![
                "peer.service".to_owned(),
                "db.name".to_owned(),
                "db.system".to_owned(),
            ],
            enable_virtual_node_label: false,
            enable_messaging_system_latency_histogram: false,
            database_name_attributes: vec![
                "db.namespace".to_owned(),
                "db.name".to_owned(),
                "db.system".to_owned(),
            ],
        }
    }
}

/// `prometheus.ExponentialBuckets`: computed by repeated multiplication, so
/// the values (and hence the `le` strings) are bit-identical to Tempo's.
pub fn exponential_buckets(start: f64, factor: f64, count: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(count);
    let mut v = start;
    for _ in 0..count {
        out.push(v);
        v *= factor;
    }
    out
}

impl Config {
    /// Parse and validate JSON config text. An empty document (`{}`) yields
    /// the defaults.
    pub fn parse(json: &str) -> Result<Self, ConfigError> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            ConfigError::at(path, e.into_inner().to_string())
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks that serde cannot express. Called by [`Config::parse`] and by
    /// [`crate::SpanMetrics::new`], so a config built in code is held to the
    /// same rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = HashSet::new();
        for (i, p) in self.processors.iter().enumerate() {
            if !seen.insert(*p) {
                return Err(ConfigError::at(
                    format!("processors[{i}]"),
                    "processor listed twice",
                ));
            }
        }
        let r = &self.registry;
        if r.max_label_name_length == 0 {
            return Err(ConfigError::at(
                "registry.max_label_name_length",
                "must be at least 1",
            ));
        }
        if r.max_label_value_length == 0 {
            return Err(ConfigError::at(
                "registry.max_label_value_length",
                "must be at least 1",
            ));
        }
        if r.stale_duration.as_nanos() == 0 {
            return Err(ConfigError::at(
                "registry.stale_duration",
                "must be greater than zero",
            ));
        }
        check_label_name(
            "registry.trace_id_label_name",
            &r.trace_id_label_name,
            false,
        )?;
        check_label_name("registry.span_id_label_name", &r.span_id_label_name, true)?;
        if r.trace_id_label_name == r.span_id_label_name {
            return Err(ConfigError::at(
                "registry.span_id_label_name",
                "must differ from trace_id_label_name",
            ));
        }
        // OpenMetrics caps an exemplar's label set at 128 UTF-8 characters.
        let exemplar_len = r.trace_id_label_name.len() + 32 + r.span_id_label_name.len() + 16;
        if exemplar_len > 128 {
            return Err(ConfigError::at(
                "registry.trace_id_label_name",
                "exemplar label names too long: OpenMetrics allows 128 characters per exemplar label set",
            ));
        }
        check_buckets(
            "span_metrics.histogram_buckets",
            &self.span_metrics.histogram_buckets,
        )?;
        check_buckets(
            "service_graphs.histogram_buckets",
            &self.service_graphs.histogram_buckets,
        )?;
        for (i, d) in self.span_metrics.dimensions.iter().enumerate() {
            if d.is_empty() {
                return Err(ConfigError::at(
                    format!("span_metrics.dimensions[{i}]"),
                    "empty attribute key",
                ));
            }
        }
        for (i, m) in self.span_metrics.dimension_mappings.iter().enumerate() {
            if m.name.is_empty() {
                return Err(ConfigError::at(
                    format!("span_metrics.dimension_mappings[{i}].name"),
                    "empty label name",
                ));
            }
        }
        for (i, d) in self.service_graphs.dimensions.iter().enumerate() {
            if d.is_empty() {
                return Err(ConfigError::at(
                    format!("service_graphs.dimensions[{i}]"),
                    "empty attribute key",
                ));
            }
        }
        if self.service_graphs.max_items == 0 {
            return Err(ConfigError::at(
                "service_graphs.max_items",
                "must be at least 1",
            ));
        }
        if self.service_graphs.wait.as_nanos() == 0 {
            return Err(ConfigError::at(
                "service_graphs.wait",
                "must be greater than zero",
            ));
        }
        Ok(())
    }

    pub(crate) fn has(&self, p: Processor) -> bool {
        self.processors.contains(&p)
    }
}

fn check_label_name(path: &str, name: &str, allow_empty: bool) -> Result<(), ConfigError> {
    if name.is_empty() {
        return if allow_empty {
            Ok(())
        } else {
            Err(ConfigError::at(path, "must not be empty"))
        };
    }
    if !crate::labels::is_valid_label_name(name) {
        return Err(ConfigError::at(
            path,
            format!("`{name}` is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
        ));
    }
    Ok(())
}

fn check_buckets(path: &str, buckets: &[f64]) -> Result<(), ConfigError> {
    for (i, b) in buckets.iter().enumerate() {
        if !b.is_finite() {
            return Err(ConfigError::at(
                format!("{path}[{i}]"),
                "bucket bounds must be finite (+Inf is implicit)",
            ));
        }
        if i > 0 && *b <= buckets[i - 1] {
            return Err(ConfigError::at(
                format!("{path}[{i}]"),
                "bucket bounds must be strictly increasing",
            ));
        }
    }
    Ok(())
}

/// A duration written the Go way (`time.ParseDuration`), as in Tempo's YAML:
/// `10s`, `1m30s`, `250ms`, `1.5h`. Units: `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct GoDuration(u64);

impl GoDuration {
    pub const fn from_nanos(n: u64) -> Self {
        Self(n)
    }

    pub const fn from_secs(s: u64) -> Self {
        Self(s * 1_000_000_000)
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Parse Go duration syntax (no sign; `0` alone is allowed).
    pub fn parse(s: &str) -> Result<Self, String> {
        if s == "0" {
            return Ok(Self(0));
        }
        if s.is_empty() {
            return Err("empty duration".to_owned());
        }
        let mut total: f64 = 0.0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| format!("missing unit in duration `{s}`"))?;
            if num_len == 0 {
                return Err(format!("invalid duration `{s}`"));
            }
            let num: f64 = rest[..num_len]
                .parse()
                .map_err(|_| format!("invalid number in duration `{s}`"))?;
            rest = &rest[num_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let scale = match &rest[..unit_len] {
                "ns" => 1.0,
                "us" | "µs" | "μs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                u => return Err(format!("unknown unit `{u}` in duration `{s}`")),
            };
            total += num * scale;
            rest = &rest[unit_len..];
        }
        if total > u64::MAX as f64 {
            return Err(format!("duration `{s}` out of range"));
        }
        Ok(Self(total.round() as u64))
    }
}

impl fmt::Debug for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for GoDuration {
    /// Whole seconds as `Ns`, otherwise `Nns`; round-trips through `parse`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1_000_000_000) {
            write!(f, "{}s", self.0 / 1_000_000_000)
        } else {
            write!(f, "{}ns", self.0)
        }
    }
}

impl Serialize for GoDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        GoDuration::parse(&s).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_document_is_tempo_defaults() {
        let c = Config::parse("{}").unwrap();
        assert_eq!(c, Config::default());
        let b = &c.span_metrics.histogram_buckets;
        assert_eq!(b.len(), 14);
        assert_eq!(b[0], 0.002);
        assert_eq!(b[13], 16.384);
        let g = &c.service_graphs.histogram_buckets;
        assert_eq!(
            g,
            &vec![0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8],
            "ExponentialBuckets(0.1, 2, 8)"
        );
        assert_eq!(c.service_graphs.wait.as_nanos(), 10_000_000_000);
        assert_eq!(c.service_graphs.max_items, 10_000);
        assert_eq!(c.registry.stale_duration.as_nanos(), 900_000_000_000);
        assert!(c.span_metrics.intrinsic_dimensions.service);
        assert!(!c.span_metrics.intrinsic_dimensions.status_message);
    }

    #[test]
    fn unknown_key_names_its_path() {
        let e = Config::parse(r#"{"span_metrics": {"intrinsic_dimensions": {"servce": true}}}"#)
            .unwrap_err();
        assert_eq!(e.path, "span_metrics.intrinsic_dimensions.servce");
        assert!(
            e.message.contains("unknown field `servce`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn wrong_type_names_its_path() {
        let e = Config::parse(r#"{"service_graphs": {"max_items": "many"}}"#).unwrap_err();
        assert_eq!(e.path, "service_graphs.max_items");
        let e = Config::parse(r#"{"service_graphs": {"wait": "10 parsecs"}}"#).unwrap_err();
        assert_eq!(e.path, "service_graphs.wait");
        let e = Config::parse(r#"{"processors": ["span-metrics", "local-blocks"]}"#).unwrap_err();
        assert_eq!(e.path, "processors[1]");
    }

    #[test]
    fn semantic_errors_name_their_path() {
        let e = Config::parse(r#"{"span_metrics": {"histogram_buckets": [0.1, 0.5, 0.3]}}"#)
            .unwrap_err();
        assert_eq!(e.path, "span_metrics.histogram_buckets[2]");
        let e = Config::parse(r#"{"registry": {"trace_id_label_name": "trace-id"}}"#).unwrap_err();
        assert_eq!(e.path, "registry.trace_id_label_name");
        let e = Config::parse(r#"{"processors": ["span-metrics", "span-metrics"]}"#).unwrap_err();
        assert_eq!(e.path, "processors[1]");
        let e = Config::parse("{").unwrap_err();
        assert!(e.to_string().starts_with("invalid span-metrics config at"));
    }

    #[test]
    fn go_durations() {
        assert_eq!(GoDuration::parse("10s").unwrap().as_nanos(), 10_000_000_000);
        assert_eq!(
            GoDuration::parse("1m30s").unwrap().as_nanos(),
            90_000_000_000
        );
        assert_eq!(GoDuration::parse("250ms").unwrap().as_nanos(), 250_000_000);
        assert_eq!(
            GoDuration::parse("1.5h").unwrap().as_nanos(),
            5_400_000_000_000
        );
        assert_eq!(GoDuration::parse("0").unwrap().as_nanos(), 0);
        assert!(GoDuration::parse("10").is_err());
        assert!(GoDuration::parse("s").is_err());
        assert!(GoDuration::parse("5d").is_err());
        let d = GoDuration::from_nanos(1_500);
        assert_eq!(GoDuration::parse(&d.to_string()).unwrap(), d);
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = Config::default();
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(Config::parse(&text).unwrap(), c);
    }
}
