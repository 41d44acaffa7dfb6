//! The redactor: applies a compiled [`RedactionConfig`] to keys, texts, values and spans.
//!
//! Two rules shape this module. Nothing is allocated or copied unless something is redacted:
//! every method answers "unchanged" first (`None`, [`AttributeVerdict::Keep`]) and builds new
//! values only on a match. And redaction is idempotent: the output of a pass contains nothing a
//! second pass would change (the mask is checked at config time, hashes this plugin wrote are
//! recognised, and a text is rescanned until it is stable), so spans may safely pass through two
//! gateways or be replayed.

use std::ops::Range;

use crate::config::{Action, ConfigError, KeyMode, RedactionConfig};
use crate::hash;
use crate::model::{Attributes, Span, Value};

/// Rescans of an already-redacted text before giving up on reaching a fixed point. Built-in
/// patterns never need one; a custom regex might match across a mask it just inserted.
const MAX_RESCANS: usize = 3;

/// What to do with one attribute.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeVerdict {
    /// Leave it as it is.
    Keep,
    /// Drop it (counts as one redaction).
    Remove,
    /// Replace its value.
    Replace {
        /// The redacted value; for arrays and kvlists, the same structure with redacted parts.
        value: Value,
        /// How many redactions the new value holds (masked substrings, elements, entries).
        redactions: u32,
    },
}

impl AttributeVerdict {
    /// How many redactions this verdict stands for.
    pub fn redactions(&self) -> u32 {
        match self {
            AttributeVerdict::Keep => 0,
            AttributeVerdict::Remove => 1,
            AttributeVerdict::Replace { redactions, .. } => *redactions,
        }
    }
}

/// A redacted text and how many secrets were replaced in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedactedText {
    /// The text with every secret replaced.
    pub text: String,
    /// The number of replaced ranges.
    pub redactions: u32,
}

/// Which attributes of a span an attribute list is, for `apply_to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeScope {
    /// The span's own attributes.
    Span,
    /// The resource's attributes.
    Resource,
    /// An event's attributes.
    Event,
    /// A link's attributes.
    Link,
}

/// A borrowed scalar attribute value, as a batch column holds it: what
/// [`Redactor::redact_scalar`] reads without copying.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScalarRef<'a> {
    /// A string.
    Str(&'a str),
    /// A signed 64-bit integer.
    Int(i64),
    /// A double.
    Double(f64),
    /// A boolean.
    Bool(bool),
}

impl ScalarRef<'_> {
    /// The owned value.
    pub fn to_value(self) -> Value {
        match self {
            ScalarRef::Str(text) => Value::Str(text.to_owned()),
            ScalarRef::Int(number) => Value::Int(number),
            ScalarRef::Double(number) => Value::Double(number),
            ScalarRef::Bool(flag) => Value::Bool(flag),
        }
    }
}

/// Redacts according to one config. Build once at `init`; every method takes `&self`.
#[derive(Clone, Debug)]
pub struct Redactor {
    config: RedactionConfig,
}

impl Redactor {
    /// Wraps a parsed config; all compilation already happened in [`RedactionConfig::parse`].
    pub fn new(config: RedactionConfig) -> Self {
        Redactor { config }
    }

    /// Parses the JSON config and builds the redactor.
    pub fn from_json(json_text: &str) -> Result<Self, ConfigError> {
        RedactionConfig::parse(json_text).map(Redactor::new)
    }

    /// The config in force.
    pub fn config(&self) -> &RedactionConfig {
        &self.config
    }

    /// The action for an attribute under `key`, if its key alone condemns it (blocked, or not
    /// allowed in allow-list mode). The count attribute is never condemned: it is ours.
    pub fn check_key(&self, key: &str) -> Option<Action> {
        if self.config.count_attribute.as_deref() == Some(key) {
            return None;
        }
        let matched = self.config.keys.matches(key);
        let condemned = match self.config.key_mode {
            KeyMode::Block => matched,
            KeyMode::Allow => !matched,
        };
        condemned.then_some(self.config.action)
    }

    /// The text with every value-pattern match replaced, or `None` if nothing matched.
    pub fn redact_text(&self, text: &str) -> Option<String> {
        self.redact_text_counted(text).map(|redacted| redacted.text)
    }

    /// Like [`Redactor::redact_text`], also counting the replaced ranges.
    pub fn redact_text_counted(&self, text: &str) -> Option<RedactedText> {
        self.redact_text_counted_in(text, &mut Vec::new())
    }

    /// [`Redactor::redact_text_counted`] with a caller's scratch buffer for the match ranges,
    /// so that a match allocates only the redacted text.
    #[inline]
    pub fn redact_text_counted_in(
        &self,
        text: &str,
        ranges: &mut Vec<Range<usize>>,
    ) -> Option<RedactedText> {
        if self.config.patterns.is_empty() {
            return None;
        }
        ranges.clear();
        self.config.patterns.find(text, ranges);
        self.replace_and_rescan(text, ranges)
    }

    /// [`Redactor::redact_text_counted_in`] on bytes that should be UTF-8 (a batch column's
    /// string), checking that in the same walk that looks for secrets. `Err` if they are not
    /// UTF-8 (nothing is redacted then).
    #[inline]
    pub fn redact_utf8_counted_in(
        &self,
        bytes: &[u8],
        ranges: &mut Vec<Range<usize>>,
    ) -> Result<Option<RedactedText>, std::str::Utf8Error> {
        if self.config.patterns.is_empty() {
            return std::str::from_utf8(bytes).map(|_| None);
        }
        ranges.clear();
        let text = self.config.patterns.find_utf8(bytes, ranges)?;
        Ok(self.replace_and_rescan(text, ranges))
    }

    /// Replaces the `ranges` found in `text` (if any), then rescans until stable.
    #[inline]
    fn replace_and_rescan(
        &self,
        text: &str,
        ranges: &mut Vec<Range<usize>>,
    ) -> Option<RedactedText> {
        if ranges.is_empty() {
            return None;
        }
        let mut redacted = self.replace_ranges(text, ranges)?;
        for _ in 0..MAX_RESCANS {
            let Some(again) = self.redact_text_once(&redacted.text, ranges) else {
                break;
            };
            redacted = RedactedText {
                text: again.text,
                redactions: redacted.redactions + again.redactions,
            };
        }
        Some(redacted)
    }

    fn redact_text_once(&self, text: &str, ranges: &mut Vec<Range<usize>>) -> Option<RedactedText> {
        ranges.clear();
        self.config.patterns.find(text, ranges);
        if ranges.is_empty() {
            return None;
        }
        self.replace_ranges(text, ranges)
    }

    /// `text` with the (non-empty) `ranges` replaced, or `None` if they are all hashes this
    /// plugin wrote.
    fn replace_ranges(&self, text: &str, ranges: &mut Vec<Range<usize>>) -> Option<RedactedText> {
        if self.config.hasher.is_some() {
            // Hashes written by an earlier pass are already redacted; leave them whole.
            let own_hashes: Vec<Range<usize>> = hash::find_hash_tokens(text).collect();
            if !own_hashes.is_empty() {
                ranges.retain(|range| {
                    !own_hashes
                        .iter()
                        .any(|own| own.start < range.end && range.start < own.end)
                });
                if ranges.is_empty() {
                    return None;
                }
            }
        }
        merge_ranges_in_place(ranges);
        let mut output = String::with_capacity(text.len() + ranges.len() * 8);
        let mut copied_until = 0;
        for range in ranges.iter() {
            output.push_str(&text[copied_until..range.start]);
            match (&self.config.hasher, self.config.action) {
                (Some(hasher), Action::Hash) => {
                    output.push_str(&hasher.hash_bytes(text[range.clone()].as_bytes()))
                }
                _ => output.push_str(&self.config.mask_text),
            }
            copied_until = range.end;
        }
        output.push_str(&text[copied_until..]);
        let redactions = u32::try_from(ranges.len()).unwrap_or(u32::MAX);
        Some(RedactedText {
            text: output,
            redactions,
        })
    }

    /// The verdict for one attribute: key rules first, then value patterns inside strings
    /// (and UTF-8 bytes), walking arrays and kvlists. Nested kvlist keys are checked against
    /// `blocked_keys` too; in allow-list mode only top-level keys must be allowed.
    pub fn redact_attribute(&self, key: &str, value: &Value) -> AttributeVerdict {
        self.verdict(self.check_key(key), value)
    }

    /// [`Redactor::redact_attribute`] given what the key alone calls for (`check_key(key)`).
    pub fn redact_attribute_with(
        &self,
        key_action: Option<Action>,
        value: &Value,
    ) -> AttributeVerdict {
        self.verdict(key_action, value)
    }

    /// The verdict for a value given what its key alone calls for.
    fn verdict(&self, key_action: Option<Action>, value: &Value) -> AttributeVerdict {
        match key_action {
            Some(action) => self.condemned_value_verdict(action, value),
            None => match self.redact_value(value) {
                Some((value, redactions)) => AttributeVerdict::Replace { value, redactions },
                None => AttributeVerdict::Keep,
            },
        }
    }

    /// The verdict for one scalar attribute, read in place: the same as
    /// [`Redactor::redact_attribute`] on the owned value, but nothing is copied unless the
    /// attribute is redacted.
    pub fn redact_scalar(&self, key: &str, value: ScalarRef<'_>) -> AttributeVerdict {
        self.redact_scalar_with(self.check_key(key), value)
    }

    /// [`Redactor::redact_scalar`] given what the key alone calls for (`check_key(key)`, which
    /// a caller may have computed once per distinct key).
    pub fn redact_scalar_with(
        &self,
        key_action: Option<Action>,
        value: ScalarRef<'_>,
    ) -> AttributeVerdict {
        match key_action {
            Some(action) => {
                let text = match value {
                    ScalarRef::Str(text) => Some(text),
                    _ => None,
                };
                self.condemned_verdict(action, text, |hasher| hasher.hash_value(&value.to_value()))
            }
            None => match value {
                ScalarRef::Str(text) => match self.redact_text_counted(text) {
                    Some(redacted) => AttributeVerdict::Replace {
                        value: Value::Str(redacted.text),
                        redactions: redacted.redactions,
                    },
                    None => AttributeVerdict::Keep,
                },
                ScalarRef::Int(_) | ScalarRef::Double(_) | ScalarRef::Bool(_) => {
                    AttributeVerdict::Keep
                }
            },
        }
    }

    /// Whether `apply_to` turns redaction on for this kind of attributes.
    pub fn applies_to(&self, scope: AttributeScope) -> bool {
        let apply_to = self.config.apply_to;
        match scope {
            AttributeScope::Span => apply_to.span_attributes,
            AttributeScope::Resource => apply_to.resource_attributes,
            AttributeScope::Event => apply_to.event_attributes,
            AttributeScope::Link => apply_to.link_attributes,
        }
    }

    /// Redacts a list of attributes in place; returns the number of redactions (0 when the
    /// scope is turned off in `apply_to`).
    pub fn redact_attributes(&self, scope: AttributeScope, attributes: &mut Attributes) -> u32 {
        if !self.applies_to(scope) {
            return 0;
        }
        self.redact_attribute_list(attributes, |key| self.check_key(key))
    }

    /// Redacts a whole span (its resource included) in place, records the count on it, and
    /// returns the count.
    ///
    /// The count is written only when it is positive, to `count_attribute`, added to a count an
    /// earlier gateway recorded there.
    pub fn redact_span(&self, span: &mut Span) -> u32 {
        let apply_to = self.config.apply_to;
        let mut redactions = 0;
        if apply_to.span_name {
            redactions += self.redact_string_in_place(&mut span.name);
        }
        if apply_to.status_message {
            redactions += self.redact_string_in_place(&mut span.status_message);
        }
        redactions += self.redact_attributes(AttributeScope::Span, &mut span.attributes);
        for event in &mut span.events {
            redactions += self.redact_attributes(AttributeScope::Event, &mut event.attributes);
        }
        for link in &mut span.links {
            redactions += self.redact_attributes(AttributeScope::Link, &mut link.attributes);
        }
        redactions +=
            self.redact_attributes(AttributeScope::Resource, &mut span.resource_attributes);
        self.record_count(&mut span.attributes, redactions);
        redactions
    }

    /// Adds `redactions` to the count attribute in `attributes` (creating it), if counting is
    /// on and the count is positive. For hosts that redact a shared resource once and add its
    /// count to each span.
    pub fn record_count(&self, attributes: &mut Attributes, redactions: u32) {
        let Some(count_key) = self.config.count_attribute.as_deref() else {
            return;
        };
        if redactions == 0 {
            return;
        }
        let added = i64::from(redactions);
        match attributes.iter_mut().find(|(key, _)| key == count_key) {
            Some((_, Value::Int(previous))) => *previous = previous.saturating_add(added),
            Some((_, other)) => *other = Value::Int(added),
            None => attributes.push((count_key.to_owned(), Value::Int(added))),
        }
    }

    fn redact_string_in_place(&self, text: &mut String) -> u32 {
        match self.redact_text_counted(text) {
            Some(redacted) => {
                *text = redacted.text;
                redacted.redactions
            }
            None => 0,
        }
    }

    fn redact_attribute_list(
        &self,
        attributes: &mut Attributes,
        key_rule: impl Fn(&str) -> Option<Action>,
    ) -> u32 {
        let mut redactions = 0;
        attributes.retain_mut(|(key, value)| {
            let verdict = self.verdict(key_rule(key), value);
            redactions += verdict.redactions();
            match verdict {
                AttributeVerdict::Keep => true,
                AttributeVerdict::Remove => false,
                AttributeVerdict::Replace {
                    value: new_value, ..
                } => {
                    *value = new_value;
                    true
                }
            }
        });
        redactions
    }

    /// The verdict for a value whose key is condemned. A value that already is what the action
    /// would write is kept, so a second pass changes (and counts) nothing.
    fn condemned_value_verdict(&self, action: Action, value: &Value) -> AttributeVerdict {
        self.condemned_verdict(action, value.as_str(), |hasher| hasher.hash_value(value))
    }

    /// [`Redactor::condemned_value_verdict`] given the value's text (for string values) and
    /// how to hash it.
    fn condemned_verdict(
        &self,
        action: Action,
        text: Option<&str>,
        hash_value: impl FnOnce(&hash::KeyedHasher) -> String,
    ) -> AttributeVerdict {
        match (action, &self.config.hasher) {
            (Action::Remove, _) => AttributeVerdict::Remove,
            (Action::Hash, Some(hasher)) => {
                if text.is_some_and(hash::is_hash_token) {
                    AttributeVerdict::Keep
                } else {
                    AttributeVerdict::Replace {
                        value: Value::Str(hash_value(hasher)),
                        redactions: 1,
                    }
                }
            }
            (Action::Mask | Action::Hash, _) => {
                if text == Some(self.config.mask_text.as_str()) {
                    AttributeVerdict::Keep
                } else {
                    AttributeVerdict::Replace {
                        value: Value::Str(self.config.mask_text.clone()),
                        redactions: 1,
                    }
                }
            }
        }
    }

    /// Value patterns inside `value`, recursively; `None` if nothing changed. Containers are
    /// copied only from the first changed element on.
    fn redact_value(&self, value: &Value) -> Option<(Value, u32)> {
        match value {
            Value::Str(text) => self
                .redact_text_counted(text)
                .map(|redacted| (Value::Str(redacted.text), redacted.redactions)),
            Value::Bytes(bytes) => {
                let text = std::str::from_utf8(bytes).ok()?;
                self.redact_text_counted(text).map(|redacted| {
                    (
                        Value::Bytes(redacted.text.into_bytes()),
                        redacted.redactions,
                    )
                })
            }
            Value::Int(_) | Value::Double(_) | Value::Bool(_) => None,
            Value::Array(items) => {
                let mut rebuilt: Option<Vec<Value>> = None;
                let mut redactions = 0;
                for (index, item) in items.iter().enumerate() {
                    match self.redact_value(item) {
                        Some((new_item, count)) => {
                            redactions += count;
                            rebuilt
                                .get_or_insert_with(|| items[..index].to_vec())
                                .push(new_item);
                        }
                        None => {
                            if let Some(rebuilt) = rebuilt.as_mut() {
                                rebuilt.push(item.clone());
                            }
                        }
                    }
                }
                rebuilt.map(|items| (Value::Array(items), redactions))
            }
            Value::KvList(entries) => {
                let nested_key_rule = |key: &str| match self.config.key_mode {
                    KeyMode::Block => self.check_key(key),
                    KeyMode::Allow => None,
                };
                let mut rebuilt: Option<Attributes> = None;
                let mut redactions = 0;
                for (index, (key, item)) in entries.iter().enumerate() {
                    let verdict = self.verdict(nested_key_rule(key), item);
                    redactions += verdict.redactions();
                    match verdict {
                        AttributeVerdict::Keep => {
                            if let Some(rebuilt) = rebuilt.as_mut() {
                                rebuilt.push((key.clone(), item.clone()));
                            }
                        }
                        AttributeVerdict::Remove => {
                            rebuilt.get_or_insert_with(|| entries[..index].to_vec());
                        }
                        AttributeVerdict::Replace {
                            value: new_item, ..
                        } => {
                            rebuilt
                                .get_or_insert_with(|| entries[..index].to_vec())
                                .push((key.clone(), new_item));
                        }
                    }
                }
                rebuilt.map(|entries| (Value::KvList(entries), redactions))
            }
        }
    }
}

/// Sorts ranges and merges the overlapping or touching ones in place, so each secret is
/// replaced once.
fn merge_ranges_in_place(ranges: &mut Vec<Range<usize>>) {
    ranges.sort_unstable_by_key(|range| (range.start, range.end));
    let mut merged: usize = 0;
    for index in 0..ranges.len() {
        let range = ranges[index].clone();
        match merged.checked_sub(1).map(|last| &mut ranges[last]) {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => {
                ranges[merged] = range;
                merged += 1;
            }
        }
    }
    ranges.truncate(merged);
}

#[cfg(test)]
fn merge_ranges(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    merge_ranges_in_place(&mut ranges);
    ranges
}

#[cfg(test)]
mod tests;
