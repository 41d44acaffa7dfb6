//! The reference plugin's config: every key optional, unknown keys refused.

use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Span attribute keys whose string values are masked.
    pub mask_keys: Vec<String>,
    /// Spans lasting at least this many milliseconds are tagged slow.
    pub slow_ms: u64,
    /// Spans with exactly this name are dropped ("" drops nothing).
    pub drop_name: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mask_keys: Vec::new(),
            slow_ms: 1000,
            drop_name: String::new(),
        }
    }
}

impl Config {
    /// Parses the JSON config; errors name the offending key (`slow_ms: invalid value:
    /// integer `-1`, expected u64`, ``unknown field `x` ``).
    pub fn parse(json: &str) -> Result<Config, String> {
        // serde would also read a struct from a JSON array; the config is an object.
        spangate_plugin_sdk::config::parse::<serde_json::Map<String, serde_json::Value>>(json)?;
        spangate_plugin_sdk::config::parse(json)
    }

    /// The slow threshold in nanoseconds, exact (128 bits: `slow_ms` × 10⁶ may not fit
    /// in 64).
    pub fn slow_nanos(&self) -> u128 {
        u128::from(self.slow_ms) * 1_000_000
    }
}
