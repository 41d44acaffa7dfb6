//! The plugin's config, as written under `config:` in the gateway's YAML.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Spans at least this long are tagged, e.g. `250ms`, `1s`.
    #[serde(with = "humantime_serde")]
    pub threshold: Duration,
    /// The attribute set to `true` on slow spans.
    #[serde(default = "default_attribute")]
    pub attribute: String,
    /// Renames, tried in order; the first rule whose prefix a span name starts with
    /// wins.
    #[serde(default)]
    pub rename: Vec<Rename>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub prefix: String,
    pub to: String,
}

fn default_attribute() -> String {
    "slow".to_owned()
}

impl Config {
    /// Parses and checks the config; the message names the bad key.
    pub fn parse(json: &str) -> Result<Config, String> {
        let config: Config = spangate_plugin_sdk::config::parse(json)?;
        if config.attribute.is_empty() {
            return Err("attribute: must not be empty".to_owned());
        }
        if let Some(index) = config.rename.iter().position(|rule| rule.prefix.is_empty()) {
            return Err(format!(
                "rename[{index}].prefix: must not be empty (it would rename every span)"
            ));
        }
        Ok(config)
    }

    /// The new name of a span called `name`, if a rule matches and changes it.
    pub fn renamed(&self, name: &str) -> Option<&str> {
        self.rename
            .iter()
            .find(|rule| name.starts_with(&rule.prefix))
            .map(|rule| rule.to.as_str())
            .filter(|new_name| *new_name != name)
    }
}
