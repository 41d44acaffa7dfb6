//! The `pipeline:` and `plugins:` sections of the configuration: which plugins run, in
//! which order, with what config, policy and limits. Parsed with the rest of the YAML
//! (unknown keys are errors naming the dotted key); checks that need the compiled
//! plugin (its kind) happen when the pipeline is built (`super::build`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::plugin::{OnError, PluginLimits};

/// Prefix of the plugins embedded in the binary: `builtin:sampling`.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// Settings shared by every plugin.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// Directory of compiled plugin artifacts (keyed by the wasm's hash, the wasmtime
    /// version and the engine settings). Default `<storage.data_dir>/plugin-cache`. Holds
    /// at most 2 GiB: past it the least recently used artifacts are deleted.
    pub cache_dir: Option<PathBuf>,
}

/// One entry of `pipeline:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    /// `builtin:<name>` or the path of a `.wasm` component; a relative path is relative
    /// to the directory of the config file.
    pub plugin: String,
    /// Name in logs and metrics. Default: the builtin's name or the file stem.
    #[serde(default)]
    pub name: Option<String>,
    /// What happens to a batch when the plugin fails on it: `pass` (default: the batch
    /// goes on unchanged) or `drop` (its spans are dropped, and counted).
    #[serde(default = "default_on_error")]
    pub on_error: OnError,
    /// Handed to the plugin's `init` as JSON text. Default `{}`.
    #[serde(default)]
    pub config: serde_yaml_ng::Value,
    #[serde(default)]
    pub limits: LimitsConfig,
}

fn default_on_error() -> OnError {
    OnError::Pass
}

/// `pipeline[i].limits`: the sandbox of one plugin.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Linear memory one instance may grow to, e.g. `64MiB`. Default 64 MiB.
    #[serde(deserialize_with = "deserialize_bytes")]
    pub memory: usize,
    /// Longest a single call may run before it is interrupted. Default 100ms.
    #[serde(with = "humantime_serde")]
    pub call_timeout: Duration,
    /// Instances of a processor plugin run in parallel (samplers and metrics plugins keep
    /// state and always run one). Default: the number of cores, at most 4.
    pub instances: Option<usize>,
    /// Consecutive failures that open the circuit breaker. Default 5.
    pub failure_threshold: u32,
    /// How long an open circuit skips the plugin before trying it again. Default 30s.
    #[serde(with = "humantime_serde")]
    pub circuit_cooldown: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let defaults = PluginLimits::default();
        LimitsConfig {
            memory: defaults.max_memory_bytes,
            call_timeout: defaults.call_timeout,
            instances: None,
            failure_threshold: defaults.failure_threshold,
            circuit_cooldown: defaults.circuit_cooldown,
        }
    }
}

impl LimitsConfig {
    pub fn to_limits(&self) -> PluginLimits {
        let defaults = PluginLimits::default();
        PluginLimits {
            max_memory_bytes: self.memory,
            call_timeout: self.call_timeout,
            instances: self.instances.unwrap_or(defaults.instances),
            failure_threshold: self.failure_threshold,
            circuit_cooldown: self.circuit_cooldown,
        }
    }
}

/// Where a plugin's component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    Builtin(String),
    File(PathBuf),
}

impl PluginEntry {
    /// The source, with a relative path resolved against `base_dir`.
    pub fn source(&self, base_dir: &Path) -> PluginSource {
        match self.plugin.strip_prefix(BUILTIN_PREFIX) {
            Some(name) => PluginSource::Builtin(name.to_owned()),
            None => PluginSource::File(base_dir.join(&self.plugin)),
        }
    }

    /// The configured name, else the builtin's name or the file stem.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        match self.plugin.strip_prefix(BUILTIN_PREFIX) {
            Some(name) => name.to_owned(),
            None => Path::new(&self.plugin)
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.plugin.clone()),
        }
    }

    /// `config` as the JSON text `init` receives (`{}` when absent).
    pub fn config_json(&self) -> Result<String, String> {
        if self.config.is_null() {
            return Ok("{}".to_owned());
        }
        serde_json::to_string(&self.config)
            .map_err(|error| format!("cannot be expressed as JSON: {error}"))
    }
}

/// Start-up checks that need no plugin loaded; `Err((key, message))`.
pub fn validate(entries: &[PluginEntry], builtins: &[&str]) -> Result<(), (String, String)> {
    let mut names: Vec<String> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let key = |field: &str| format!("pipeline[{index}].{field}");
        if let Some(builtin) = entry.plugin.strip_prefix(BUILTIN_PREFIX)
            && !builtins.contains(&builtin)
        {
            return Err((
                key("plugin"),
                format!(
                    "unknown built-in plugin `{builtin}` (built-ins: {})",
                    builtins.join(", ")
                ),
            ));
        }
        if entry.plugin.trim().is_empty() {
            return Err((
                key("plugin"),
                "must be `builtin:<name>` or a path to a .wasm component".to_owned(),
            ));
        }
        let name = entry.display_name();
        if name.is_empty() {
            return Err((key("name"), "must not be empty".to_owned()));
        }
        if names.contains(&name) {
            return Err((
                key("name"),
                format!("`{name}` is used by an earlier plugin; give each a distinct `name`"),
            ));
        }
        names.push(name);
        entry
            .config_json()
            .map_err(|message| (key("config"), message))?;
        let limits = &entry.limits;
        if limits.memory < 1 << 20 {
            return Err((key("limits.memory"), "must be at least 1MiB".to_owned()));
        }
        if limits.call_timeout.is_zero() {
            return Err((
                key("limits.call_timeout"),
                "must be greater than zero".to_owned(),
            ));
        }
        if limits.instances == Some(0) {
            return Err((key("limits.instances"), "must be at least 1".to_owned()));
        }
        if limits.failure_threshold == 0 {
            return Err((
                key("limits.failure_threshold"),
                "must be at least 1".to_owned(),
            ));
        }
    }
    Ok(())
}

/// A size in bytes that fits this machine's address space.
fn deserialize_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let bytes = crate::model::size::deserialize_bytes(deserializer)?;
    usize::try_from(bytes).map_err(|_| serde::de::Error::custom("size too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(yaml: &str) -> Vec<PluginEntry> {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn the_example_in_the_default_config_is_valid() {
        let example: String = crate::config::DEFAULT_CONFIG_YAML
            .lines()
            .skip_while(|line| !line.starts_with("# pipeline:"))
            .take_while(|line| line.starts_with('#'))
            .map(|line| format!("{}\n", line.strip_prefix("# ").unwrap_or("")))
            .collect();
        let config = crate::config::Config::from_yaml(&example).unwrap();
        assert_eq!(config.pipeline.len(), 3);
        assert_eq!(config.pipeline[2].display_name(), "sampling");
    }

    #[test]
    fn defaults_and_names() {
        let list =
            entries("- plugin: builtin:sampling\n- plugin: ./x/my_plugin.wasm\n  on_error: drop\n");
        assert_eq!(list[0].display_name(), "sampling");
        assert_eq!(list[0].on_error, OnError::Pass);
        assert_eq!(list[0].config_json().unwrap(), "{}");
        assert_eq!(list[1].display_name(), "my_plugin");
        assert_eq!(
            list[1].source(Path::new("/etc/spangate")),
            PluginSource::File(PathBuf::from("/etc/spangate/./x/my_plugin.wasm"))
        );
        assert_eq!(list[1].limits.memory, 64 << 20);
        assert!(validate(&list, &["sampling"]).is_ok());
    }

    #[test]
    fn config_becomes_json() {
        let list =
            entries("- plugin: builtin:sampling\n  config:\n    head: {probability: 0.25}\n");
        assert_eq!(
            list[0].config_json().unwrap(),
            r#"{"head":{"probability":0.25}}"#
        );
    }

    #[test]
    fn problems_name_their_key() {
        let cases = [
            ("- plugin: builtin:nope\n", "pipeline[0].plugin"),
            (
                "- plugin: builtin:sampling\n- plugin: builtin:sampling\n",
                "pipeline[1].name",
            ),
            (
                "- plugin: builtin:sampling\n  limits: {memory: 1KiB}\n",
                "pipeline[0].limits.memory",
            ),
            (
                "- plugin: builtin:sampling\n  limits: {instances: 0}\n",
                "pipeline[0].limits.instances",
            ),
            (
                "- plugin: builtin:sampling\n  limits: {failure_threshold: 0}\n",
                "pipeline[0].limits.failure_threshold",
            ),
        ];
        for (yaml, key) in cases {
            let error = validate(&entries(yaml), &["sampling"]).unwrap_err();
            assert_eq!(error.0, key, "{yaml}: {}", error.1);
        }
    }
}
