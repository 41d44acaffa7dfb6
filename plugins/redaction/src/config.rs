//! The plugin's configuration: JSON handed to `init`, checked and compiled once.
//!
//! [`RedactionConfig::parse`] is the only way to build a config, so checking and compiling
//! cannot drift apart: every regex is compiled, every conflict refused, and every error names
//! the key at fault (`blocked_keys[2]: invalid regex: …`) so `init` can refuse the config with
//! a message the operator can act on. See the crate README for each key and its default.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::hash::{HashKeyError, KeyedHasher};
use crate::keys::{KeyMatcherSet, KeyPatternError};
use crate::patterns::{BuiltinPattern, CustomPattern, PatternSet};

/// The default `mask_text`.
pub const DEFAULT_MASK_TEXT: &str = "***";
/// The default `count_attribute`.
pub const DEFAULT_COUNT_ATTRIBUTE: &str = "redaction.count";

/// What happens to a matched attribute or substring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Drop the attribute. Substrings (and names and status messages) cannot be dropped
    /// without losing the text around them, so they are masked instead.
    Remove,
    /// Replace with `mask_text`.
    #[default]
    Mask,
    /// Replace with a keyed hash (`h:` + 16 hex digits), so equal values stay joinable.
    Hash,
}

/// Whether the key list names the keys to redact or the only keys to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyMode {
    /// `blocked_keys`: matching keys get the action.
    Block,
    /// `allowed_keys`: every key that does not match gets the action.
    Allow,
}

/// Where redaction applies; every field defaults to `true`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApplyTo {
    /// Span attributes.
    pub span_attributes: bool,
    /// Resource attributes.
    pub resource_attributes: bool,
    /// Attributes of span events.
    pub event_attributes: bool,
    /// Attributes of span links.
    pub link_attributes: bool,
    /// The span name (value patterns only).
    pub span_name: bool,
    /// The status message (value patterns only).
    pub status_message: bool,
}

impl Default for ApplyTo {
    fn default() -> Self {
        ApplyTo {
            span_attributes: true,
            resource_attributes: true,
            event_attributes: true,
            link_attributes: true,
            span_name: true,
            status_message: true,
        }
    }
}

/// Why a config was refused. Every variant names the offending key as a dotted path.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not valid JSON, an unknown key, or a value of the wrong type.
    #[error("{key}: {message}")]
    Malformed {
        /// Where the problem is (`value_patterns[1]`, or `config` for the whole text).
        key: String,
        /// What serde found.
        message: String,
    },
    /// A `blocked_keys` / `allowed_keys` entry was refused.
    #[error("{key}: {source}")]
    KeyPattern {
        /// `blocked_keys[i]` or `allowed_keys[i]`.
        key: String,
        /// Why.
        source: KeyPatternError,
    },
    /// A custom value pattern's regex does not compile.
    #[error("{key}: invalid regex: {source}")]
    InvalidRegex {
        /// `value_patterns[i].regex`.
        key: String,
        /// The regex error.
        source: Box<regex::Error>,
    },
    /// `hash_key` is unusable.
    #[error("hash_key: {0}")]
    HashKey(#[from] HashKeyError),
    /// Any other rule broken.
    #[error("{key}: {reason}")]
    Invalid {
        /// The key at fault.
        key: String,
        /// The rule.
        reason: String,
    },
}

impl ConfigError {
    /// The dotted path of the key at fault.
    pub fn key(&self) -> &str {
        match self {
            ConfigError::Malformed { key, .. }
            | ConfigError::KeyPattern { key, .. }
            | ConfigError::InvalidRegex { key, .. }
            | ConfigError::Invalid { key, .. } => key,
            ConfigError::HashKey(_) => "hash_key",
        }
    }

    fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// The config as written; see the README for the meaning of each key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    blocked_keys: Option<Vec<String>>,
    #[serde(default)]
    allowed_keys: Option<Vec<String>>,
    #[serde(default)]
    value_patterns: Vec<RawPattern>,
    #[serde(default)]
    action: Action,
    #[serde(default = "default_mask_text")]
    mask_text: String,
    #[serde(default)]
    hash_key: Option<String>,
    /// `null` turns the count off; absent means the default name.
    #[serde(default = "default_count_attribute")]
    count_attribute: Option<String>,
    #[serde(default)]
    apply_to: ApplyTo,
}

fn default_mask_text() -> String {
    DEFAULT_MASK_TEXT.to_owned()
}

fn default_count_attribute() -> Option<String> {
    Some(DEFAULT_COUNT_ATTRIBUTE.to_owned())
}

/// One `value_patterns` entry: a built-in's name, or `{"name": …, "regex": …}`.
enum RawPattern {
    Builtin(BuiltinPattern),
    Custom(RawCustomPattern),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustomPattern {
    name: String,
    regex: String,
}

/// Hand-written so that a misspelt built-in says "unknown variant `emial`, expected one of …"
/// rather than serde's untagged "did not match any variant".
impl<'de> Deserialize<'de> for RawPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PatternVisitor;

        impl<'de> Visitor<'de> for PatternVisitor {
            type Value = RawPattern;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a built-in pattern name or {\"name\": ..., \"regex\": ...}")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<RawPattern, E> {
                BuiltinPattern::deserialize(de::value::StrDeserializer::<E>::new(name))
                    .map(RawPattern::Builtin)
            }

            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<RawPattern, M::Error> {
                RawCustomPattern::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawPattern::Custom)
            }
        }

        deserializer.deserialize_any(PatternVisitor)
    }
}

/// A checked, compiled configuration. Built only by [`RedactionConfig::parse`].
#[derive(Clone, Debug)]
pub struct RedactionConfig {
    pub(crate) key_mode: KeyMode,
    pub(crate) keys: KeyMatcherSet,
    pub(crate) patterns: PatternSet,
    pub(crate) action: Action,
    pub(crate) mask_text: String,
    pub(crate) hasher: Option<KeyedHasher>,
    pub(crate) count_attribute: Option<String>,
    pub(crate) apply_to: ApplyTo,
}

impl RedactionConfig {
    /// Parses, checks and compiles the JSON config text handed to the plugin's `init`.
    pub fn parse(json_text: &str) -> Result<Self, ConfigError> {
        let mut deserializer = serde_json::Deserializer::from_str(json_text);
        let raw: RawConfig =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
                let path = error.path().to_string();
                // serde_path_to_error writes "." for the root and "?" where parsing stopped early.
                let key = if path == "." || path == "?" {
                    "config".to_owned()
                } else {
                    path
                };
                ConfigError::Malformed {
                    key,
                    message: error.into_inner().to_string(),
                }
            })?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawConfig) -> Result<Self, ConfigError> {
        let (key_mode, key_field, key_patterns) = match (raw.blocked_keys, raw.allowed_keys) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::invalid(
                    "allowed_keys",
                    "cannot be combined with blocked_keys: choose block-list or allow-list mode",
                ));
            }
            (None, Some(allowed)) => (KeyMode::Allow, "allowed_keys", allowed),
            (blocked, None) => (KeyMode::Block, "blocked_keys", blocked.unwrap_or_default()),
        };
        let keys = KeyMatcherSet::compile(&key_patterns).map_err(|(index, source)| {
            ConfigError::KeyPattern {
                key: format!("{key_field}[{index}]"),
                source,
            }
        })?;

        let patterns = compile_patterns(raw.value_patterns)?;

        if key_mode == KeyMode::Block && keys.is_empty() && patterns.is_empty() {
            return Err(ConfigError::invalid(
                "config",
                "redacts nothing: set blocked_keys, allowed_keys or value_patterns",
            ));
        }

        let hasher = match (raw.action, raw.hash_key) {
            (Action::Hash, None) => {
                return Err(ConfigError::invalid(
                    "hash_key",
                    "required when action is \"hash\"",
                ));
            }
            (Action::Hash, Some(key)) => Some(KeyedHasher::new(key.as_bytes())?),
            // A key given with another action is ignored, so switching actions is one edit.
            (_, _) => None,
        };

        if raw.mask_text.is_empty() {
            return Err(ConfigError::invalid("mask_text", "must not be empty"));
        }
        // A second pass over redacted text must change nothing; that needs a mask no pattern
        // matches.
        let mut mask_matches = Vec::new();
        patterns.find(&raw.mask_text, &mut mask_matches);
        if !mask_matches.is_empty() {
            return Err(ConfigError::invalid(
                "mask_text",
                "is itself matched by a value pattern",
            ));
        }

        if raw.count_attribute.as_deref() == Some("") {
            return Err(ConfigError::invalid(
                "count_attribute",
                "must not be empty (use null to turn it off)",
            ));
        }

        Ok(RedactionConfig {
            key_mode,
            keys,
            patterns,
            action: raw.action,
            mask_text: raw.mask_text,
            hasher,
            count_attribute: raw.count_attribute,
            apply_to: raw.apply_to,
        })
    }

    /// Block-list or allow-list mode.
    pub fn key_mode(&self) -> KeyMode {
        self.key_mode
    }

    /// The configured action.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The text that replaces masked values and substrings.
    pub fn mask_text(&self) -> &str {
        &self.mask_text
    }

    /// The attribute that records the number of redactions, unless turned off.
    pub fn count_attribute(&self) -> Option<&str> {
        self.count_attribute.as_deref()
    }

    /// Where redaction applies.
    pub fn apply_to(&self) -> ApplyTo {
        self.apply_to
    }

    /// The compiled value patterns.
    pub fn patterns(&self) -> &PatternSet {
        &self.patterns
    }
}

fn compile_patterns(entries: Vec<RawPattern>) -> Result<PatternSet, ConfigError> {
    let mut builtins = Vec::new();
    let mut custom: Vec<CustomPattern> = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        match entry {
            RawPattern::Builtin(pattern) => builtins.push(pattern),
            RawPattern::Custom(RawCustomPattern { name, regex }) => {
                let name_is_taken = custom.iter().any(|existing| existing.name == name)
                    || BuiltinPattern::ALL
                        .iter()
                        .any(|builtin| builtin.name() == name);
                if name.is_empty() {
                    return Err(ConfigError::invalid(
                        format!("value_patterns[{index}].name"),
                        "must not be empty",
                    ));
                }
                if name_is_taken {
                    return Err(ConfigError::invalid(
                        format!("value_patterns[{index}].name"),
                        format!("\"{name}\" is already used"),
                    ));
                }
                let regex =
                    regex::Regex::new(&regex).map_err(|source| ConfigError::InvalidRegex {
                        key: format!("value_patterns[{index}].regex"),
                        source: Box::new(source),
                    })?;
                custom.push(CustomPattern { name, regex });
            }
        }
    }
    PatternSet::new(&builtins, custom).map_err(|source| ConfigError::InvalidRegex {
        key: "value_patterns".to_owned(),
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(json: &str) -> String {
        RedactionConfig::parse(json).unwrap_err().to_string()
    }

    #[test]
    fn defaults() {
        let config = RedactionConfig::parse(r#"{"blocked_keys": ["password"]}"#).unwrap();
        assert_eq!(config.key_mode(), KeyMode::Block);
        assert_eq!(config.action(), Action::Mask);
        assert_eq!(config.mask_text(), "***");
        assert_eq!(config.count_attribute(), Some("redaction.count"));
        assert_eq!(config.apply_to(), ApplyTo::default());
        assert!(config.patterns().is_empty());
    }

    #[test]
    fn full_config() {
        let config = RedactionConfig::parse(
            r#"{
                "allowed_keys": ["http.method", "http.route", "/^service\\./"],
                "value_patterns": ["credit_card", "email", {"name": "employee_id", "regex": "EMP-\\d{6}"}],
                "action": "hash",
                "hash_key": "a-very-secret-key-of-32-bytes!!!",
                "count_attribute": null,
                "apply_to": {"resource_attributes": false}
            }"#,
        )
        .unwrap();
        assert_eq!(config.key_mode(), KeyMode::Allow);
        assert_eq!(config.action(), Action::Hash);
        assert_eq!(config.count_attribute(), None);
        assert!(!config.apply_to().resource_attributes);
        assert!(config.apply_to().span_name);
        assert_eq!(
            config.patterns().builtins(),
            [BuiltinPattern::CreditCard, BuiltinPattern::Email]
        );
        assert_eq!(config.patterns().custom()[0].name, "employee_id");
        assert!(
            !format!("{config:?}").contains("a-very-secret"),
            "debug output leaks the hash key"
        );
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(
            error_of(r#"{"blocked_keys": ["a", "*.b", "/(unclosed/"]}"#)
                .split(':')
                .next(),
            Some("blocked_keys[2]")
        );
        assert!(error_of(r#"{"blocked_keys": ["a", "*.b", "/(x/"]}"#).contains("invalid regex"));
        assert!(error_of(r#"{"allowed_keys": ["/x"]}"#).starts_with("allowed_keys[0]: "));
        assert!(
            error_of(r#"{"blocked_keys": ["a"], "allowed_keys": ["b"]}"#)
                .starts_with("allowed_keys: cannot")
        );
        assert!(
            error_of(r#"{"value_patterns": ["emial"]}"#)
                .starts_with("value_patterns[0]: unknown variant")
        );
        assert!(
            error_of(r#"{"value_patterns": ["email", {"name": "x", "regex": "("}]}"#)
                .starts_with("value_patterns[1].regex: invalid regex")
        );
        assert!(
            error_of(r#"{"value_patterns": [{"name": "x", "regex": "a", "flags": "i"}]}"#)
                .starts_with("value_patterns[0].flags: unknown field `flags`")
        );
        assert!(
            error_of(r#"{"value_patterns": [{"name": "email", "regex": "a"}]}"#)
                .starts_with("value_patterns[0].name: \"email\" is already used")
        );
        assert!(
            error_of(r#"{"blocked_keys": ["a"], "colour": 1}"#)
                .starts_with("colour: unknown field `colour`")
        );
        assert!(
            error_of(r#"{"blocked_keys": ["a"], "action": "shred"}"#)
                .starts_with("action: unknown variant")
        );
        assert!(
            error_of(r#"{"blocked_keys": ["a"], "apply_to": {"names": true}}"#)
                .starts_with("apply_to.names: unknown field")
        );
        assert!(error_of(r#"{"blocked_keys": "a"}"#).starts_with("blocked_keys: invalid type"));
        assert!(error_of("{").starts_with("config: "));
        assert!(error_of("{}").starts_with("config: redacts nothing"));
    }

    #[test]
    fn hash_key_rules() {
        assert_eq!(
            error_of(r#"{"blocked_keys": ["a"], "action": "hash"}"#),
            "hash_key: required when action is \"hash\""
        );
        let short = RedactionConfig::parse(
            r#"{"blocked_keys": ["a"], "action": "hash", "hash_key": "short"}"#,
        );
        let error = short.unwrap_err();
        assert_eq!(error.key(), "hash_key");
        assert_eq!(
            error.to_string(),
            "hash_key: must be at least 16 bytes, got 5"
        );
        assert!(RedactionConfig::parse(r#"{"blocked_keys": ["a"], "hash_key": "short"}"#).is_ok());
    }

    #[test]
    fn mask_and_count_rules() {
        assert!(
            error_of(r#"{"blocked_keys": ["a"], "mask_text": ""}"#)
                .starts_with("mask_text: must not be empty")
        );
        assert!(
            error_of(r#"{"value_patterns": ["email"], "mask_text": "x@example.com"}"#)
                .starts_with("mask_text: is itself matched")
        );
        assert!(
            error_of(r#"{"blocked_keys": ["a"], "count_attribute": ""}"#)
                .starts_with("count_attribute: ")
        );
    }

    #[test]
    fn allow_list_may_be_empty() {
        // Keeps no attribute at all: drastic, but explicit.
        let config = RedactionConfig::parse(r#"{"allowed_keys": []}"#).unwrap();
        assert_eq!(config.key_mode(), KeyMode::Allow);
    }
}
