//! The component glue: the SDK's [`Processor`] over the [`Redactor`].
//!
//! The batch is read column-wise, in place (no span model is built): each attribute table's
//! distinct keys are matched once per batch ([`KeyRules`]), then each row is looked up by its
//! key index. A string under a key that condemns nothing (the bulk of the work) is scanned
//! straight from the string arena, its UTF-8 check folded into the walk that looks for secrets
//! (`Redactor::redact_utf8_counted_in`); a string that is not UTF-8 reads as "" as the SDK
//! reads it, and nothing redacts "". Every redaction becomes an edit the host applies.
//!
//! * `remove` → `remove-*-attribute(row)`; `mask` / `hash` / a redacted string →
//!   `set-*-attribute(row, str)`. A redacted array or map is written back as its JSON text
//!   (the edits can only write scalars), a condemned one as the mask or hash.
//! * names and status messages → `set-name` / `set-status-message` (value patterns only);
//!   event names are not redacted (fixed by instrumentation, see `model::Event`).
//! * resources are shared by spans: each is redacted once per batch, and its count is added to
//!   the count of every span it belongs to, as [`Redactor::redact_span`] counts natively.
//! * the count goes to `count_attribute` (default `redaction.count`): added to a count an
//!   earlier gateway wrote (`set`), or `add-span-attribute` when there is none.

use std::ops::Range;

use spangate_plugin_sdk::abi::column;
use spangate_plugin_sdk::batch::{AttributeKind, AttributeTable, SpanBatch, Value as SdkValue};
use spangate_plugin_sdk::edits::Edits;
use spangate_plugin_sdk::{AttributeSelection, Needs, Processor, SpanFields, ValueKind, needs};

use crate::apply::{AttributeScope, AttributeVerdict, Redactor, ScalarRef};
use crate::config::Action;
use crate::model::Value;

/// The plugin name declared to the host.
pub const PLUGIN_NAME: &str = "redaction";

/// The redaction plugin's state inside the component.
pub struct RedactionPlugin {
    redactor: Redactor,
    /// Per resource index of the current batch: its redaction count once redacted.
    resource_counts: Vec<Option<u32>>,
    /// What each distinct key of the current batch calls for.
    key_rules: KeyRules,
    /// Scratch for the match ranges of a scanned text.
    ranges: Vec<Range<usize>>,
}

impl Processor for RedactionPlugin {
    fn init(config: &str) -> Result<(Self, Needs), String> {
        let redactor = Redactor::from_json(config).map_err(|error| error.to_string())?;
        let needs = needs(&redactor);
        Ok((
            RedactionPlugin {
                redactor,
                resource_counts: Vec::new(),
                key_rules: KeyRules::default(),
                ranges: Vec::new(),
            },
            needs,
        ))
    }

    fn process(&mut self, batch: &SpanBatch, edits: &mut Edits) -> Result<(), String> {
        let redactor = &self.redactor;
        let config = redactor.config();
        let apply_to = config.apply_to();
        let scan_names = !config.patterns().is_empty() && apply_to.span_name;
        let scan_messages = !config.patterns().is_empty() && apply_to.status_message;
        let count_key = config.count_attribute();
        let span_scope = redactor.applies_to(AttributeScope::Span);
        let resource_scope = redactor.applies_to(AttributeScope::Resource);
        let event_scope = redactor.applies_to(AttributeScope::Event);
        let link_scope = redactor.applies_to(AttributeScope::Link);
        self.key_rules.compute(redactor, batch);
        let rules = &self.key_rules;
        let span_rows = rules.rows(redactor, batch, AttributeScope::Span);
        let resource_rows = rules.rows(redactor, batch, AttributeScope::Resource);
        let event_rows = rules.rows(redactor, batch, AttributeScope::Event);
        let link_rows = rules.rows(redactor, batch, AttributeScope::Link);
        let ranges = &mut self.ranges;
        self.resource_counts.clear();
        for span in batch.spans() {
            let index = span.index();
            let mut count = 0u32;

            if resource_scope {
                let resource = span.resource_index() as usize;
                if self.resource_counts.len() <= resource {
                    self.resource_counts.resize(resource + 1, None);
                }
                count += *self.resource_counts[resource].get_or_insert_with(|| {
                    resource_rows.redact_owner(resource as u32, ranges, edits)
                });
            }

            // Scanned as bytes: reading them as `&str` would check the whole arena first.
            if scan_names
                && let Ok(Some(redacted)) =
                    redactor.redact_utf8_counted_in(batch.string_bytes(column::NAME, index), ranges)
            {
                count += redacted.redactions;
                edits.set_name(span, redacted.text);
            }
            if scan_messages {
                let message = batch.string_bytes(column::STATUS_MESSAGE, index);
                if let Ok(Some(redacted)) = redactor.redact_utf8_counted_in(message, ranges) {
                    count += redacted.redactions;
                    edits.set_status_message(span, redacted.text);
                }
            }

            // The count row is redacted last: its edit may be replaced by the count itself.
            let mut count_row = None;
            if span_scope {
                for row in span_rows.table.rows_of(index) {
                    let rule = span_rows.rule(row);
                    if rule.is_count {
                        count_row = Some((row, span_rows.value(row)));
                    } else {
                        count += span_rows.redact_row(rule, row, ranges, edits);
                    }
                }
            } else if let Some(key) = count_key {
                count_row = span
                    .attributes()
                    .attribute(key)
                    .map(|attribute| (attribute.row, attribute.value));
            }

            if event_scope {
                for event in span.events() {
                    count += event_rows.redact_owner(event.index, ranges, edits);
                }
            }
            if link_scope {
                for link in span.links() {
                    count += link_rows.redact_owner(link.index, ranges, edits);
                }
            }

            let Some(count_key) = count_key else {
                continue;
            };
            match count_row {
                Some((row, value)) => {
                    let own = if span_scope {
                        span_rows.verdict(span_rows.rule(row), value)
                    } else {
                        AttributeVerdict::Keep
                    };
                    // A redacted count row is overwritten by the count below.
                    count += own.redactions();
                    if count == 0 {
                        continue;
                    }
                    let total = match value {
                        SdkValue::Int(previous) => previous.saturating_add(i64::from(count)),
                        _ => i64::from(count),
                    };
                    edits.set_span_attribute(row, total);
                }
                None if count > 0 => edits.add_span_attribute(span, count_key, count),
                None => {}
            }
        }
        Ok(())
    }
}

/// What a row's key calls for: computed once per distinct key of a batch.
#[derive(Clone, Copy, Debug, Default)]
struct KeyRule {
    /// `check_key` of the key.
    action: Option<Action>,
    /// Whether the key is the count attribute.
    is_count: bool,
}

/// The [`KeyRule`] of every distinct key of each attribute table of a batch: keys are a
/// dictionary per table, so each key is matched once per batch instead of once per row.
#[derive(Default)]
struct KeyRules {
    /// Per key index, per table (span, resource, event, link).
    tables: [Vec<KeyRule>; 4],
    /// The rule of the key the SDK reads for a row whose key index is out of range (`""`).
    fallback: KeyRule,
}

impl KeyRules {
    fn compute(&mut self, redactor: &Redactor, batch: &SpanBatch) {
        let count_key = redactor.config().count_attribute();
        let rule = |key: &str| KeyRule {
            action: redactor.check_key(key),
            is_count: Some(key) == count_key,
        };
        self.fallback = rule("");
        for (rules, kind) in self.tables.iter_mut().zip(AttributeKind::ALL) {
            let table = batch.attribute_table(kind);
            rules.clear();
            // A key that is not UTF-8 reads as "", as the SDK reads it.
            rules.extend(
                (0..table.key_count())
                    .map(|key| rule(std::str::from_utf8(table.key_name_bytes(key)).unwrap_or(""))),
            );
        }
    }

    /// The rows of `scope` in `batch`, with these key rules.
    fn rows<'a>(
        &'a self,
        redactor: &'a Redactor,
        batch: &'a SpanBatch,
        scope: AttributeScope,
    ) -> Rows<'a> {
        let (kind, rules) = match scope {
            AttributeScope::Span => (AttributeKind::Span, &self.tables[0]),
            AttributeScope::Resource => (AttributeKind::Resource, &self.tables[1]),
            AttributeScope::Event => (AttributeKind::Event, &self.tables[2]),
            AttributeScope::Link => (AttributeKind::Link, &self.tables[3]),
        };
        Rows {
            redactor,
            scans: !redactor.config().patterns().is_empty(),
            scope,
            rules,
            fallback: self.fallback,
            table: batch.attribute_table(kind),
        }
    }
}

/// Verdicts and edits for the rows of one attribute table.
struct Rows<'a> {
    redactor: &'a Redactor,
    /// Whether there are value patterns to scan strings for.
    scans: bool,
    scope: AttributeScope,
    rules: &'a [KeyRule],
    fallback: KeyRule,
    table: AttributeTable<'a>,
}

impl<'a> Rows<'a> {
    /// The rule of `row`'s key.
    #[inline]
    fn rule(&self, row: u32) -> KeyRule {
        self.table
            .key_index(row)
            .and_then(|key| self.rules.get(key as usize))
            .copied()
            .unwrap_or(self.fallback)
    }

    /// The value of `row`, each string checked alone (a `&str` from the table would check
    /// the whole arena first).
    #[inline]
    fn value(&self, row: u32) -> SdkValue<'a> {
        let text = || std::str::from_utf8(self.table.value_bytes(row)).unwrap_or("");
        match self.table.value_kind(row) {
            ValueKind::Str => SdkValue::Str(text()),
            ValueKind::Json => SdkValue::Json(text()),
            _ => self.table.value(row),
        }
    }

    /// The verdict for one row: scalars read in place, JSON text (arrays, maps, bytes) through
    /// the owned model so nested strings and kvlist keys are checked as natively.
    fn verdict(&self, rule: KeyRule, value: SdkValue<'_>) -> AttributeVerdict {
        let redactor = self.redactor;
        let scalar = |value| redactor.redact_scalar_with(rule.action, value);
        match value {
            SdkValue::Str(text) => scalar(ScalarRef::Str(text)),
            SdkValue::Int(number) => scalar(ScalarRef::Int(number)),
            SdkValue::Double(number) => scalar(ScalarRef::Double(number)),
            SdkValue::Bool(flag) => scalar(ScalarRef::Bool(flag)),
            SdkValue::Json(text) => {
                redactor.redact_attribute_with(rule.action, &value_from_json(text))
            }
        }
    }

    /// Redacts one row, adding its edit; returns its redaction count. The same as
    /// `apply(self.verdict(..))`, with the common cases short-cut: a scalar under a key that
    /// condemns nothing is kept, and a string is only scanned, from its bytes.
    #[inline]
    fn redact_row(
        &self,
        rule: KeyRule,
        row: u32,
        ranges: &mut Vec<Range<usize>>,
        edits: &mut Edits,
    ) -> u32 {
        if rule.action.is_none() {
            match self.table.value_kind(row) {
                ValueKind::Int | ValueKind::Double | ValueKind::Boolean => return 0,
                ValueKind::Str if !self.scans => return 0,
                ValueKind::Str => {
                    let bytes = self.table.value_bytes(row);
                    return match self.redactor.redact_utf8_counted_in(bytes, ranges) {
                        Ok(Some(redacted)) => {
                            set(self.scope, row, redacted.text, edits);
                            redacted.redactions
                        }
                        // Not UTF-8: read as "", which nothing redacts.
                        Ok(None) | Err(_) => 0,
                    };
                }
                ValueKind::Json => {}
            }
        }
        let verdict = self.verdict(rule, self.value(row));
        let redactions = verdict.redactions();
        apply(verdict, row, self.scope, edits);
        redactions
    }

    /// Redacts one owner's rows (a resource, an event, a link); returns the count.
    fn redact_owner(&self, owner: u32, ranges: &mut Vec<Range<usize>>, edits: &mut Edits) -> u32 {
        self.table
            .rows_of(owner)
            .map(|row| self.redact_row(self.rule(row), row, ranges, edits))
            .sum()
    }
}

/// What the plugin declares. Attributes: `All` for every kind `apply_to` covers, because blocked
/// keys condemn values of every type and value patterns are searched inside arrays and maps too
/// (`AllStrings` would let a secret inside an array through). Span attributes that are not
/// redacted still deliver the count attribute, to add to it. Names and status messages only
/// when value patterns could change them.
pub fn needs(redactor: &Redactor) -> Needs {
    let config = redactor.config();
    let apply_to = config.apply_to();
    let scan_texts = !config.patterns().is_empty();
    let mut fields = SpanFields::empty();
    if scan_texts && apply_to.span_name {
        fields |= SpanFields::NAME;
    }
    if scan_texts && apply_to.status_message {
        fields |= SpanFields::STATUS_MESSAGE;
    }
    let all_if = |scope| {
        if redactor.applies_to(scope) {
            AttributeSelection::All
        } else {
            AttributeSelection::None
        }
    };
    let span_attributes = match (
        redactor.applies_to(AttributeScope::Span),
        config.count_attribute(),
    ) {
        (true, _) => AttributeSelection::All,
        (false, Some(count_key)) => AttributeSelection::keys([count_key]),
        (false, None) => AttributeSelection::None,
    };
    needs!(PLUGIN_NAME)
        .fields(fields)
        .span_attributes(span_attributes)
        .resource_attributes(all_if(AttributeScope::Resource))
        .event_attributes(all_if(AttributeScope::Event))
        .link_attributes(all_if(AttributeScope::Link))
}

/// The edit that sets `row` of `scope`'s attribute table to `value`.
fn set(scope: AttributeScope, row: u32, value: String, edits: &mut Edits) {
    match scope {
        AttributeScope::Span => edits.set_span_attribute(row, value),
        AttributeScope::Resource => edits.set_resource_attribute(row, value),
        AttributeScope::Event => edits.set_event_attribute(row, value),
        AttributeScope::Link => edits.set_link_attribute(row, value),
    }
}

/// Turns a verdict into the edit of `row` of `scope`'s attribute table.
fn apply(verdict: AttributeVerdict, row: u32, scope: AttributeScope, edits: &mut Edits) {
    match verdict {
        AttributeVerdict::Keep => {}
        AttributeVerdict::Remove => match scope {
            AttributeScope::Span => edits.remove_span_attribute(row),
            AttributeScope::Resource => edits.remove_resource_attribute(row),
            AttributeScope::Event => edits.remove_event_attribute(row),
            AttributeScope::Link => edits.remove_link_attribute(row),
        },
        AttributeVerdict::Replace { value, .. } => {
            let value = match value {
                Value::Str(text) => text,
                structured => json_from_value(&structured).to_string(),
            };
            set(scope, row, value, edits);
        }
    }
}

/// The owned value of an attribute the host sent as JSON text. Text that is not JSON is
/// scanned as a string (so nothing is let through unscanned).
fn value_from_json(text: &str) -> Value {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => value_from_json_value(json),
        Err(_) => Value::Str(text.to_owned()),
    }
}

fn value_from_json_value(json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Str(String::new()),
        serde_json::Value::Bool(flag) => Value::Bool(flag),
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(int) => Value::Int(int),
            None => Value::Double(number.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(text) => Value::Str(text),
        serde_json::Value::Array(items) => {
            Value::Array(items.into_iter().map(value_from_json_value).collect())
        }
        serde_json::Value::Object(entries) => Value::KvList(
            entries
                .into_iter()
                .map(|(key, item)| (key, value_from_json_value(item)))
                .collect(),
        ),
    }
}

/// The JSON form of a redacted array or map, written back as a string.
fn json_from_value(value: &Value) -> serde_json::Value {
    match value {
        Value::Str(text) => serde_json::Value::String(text.clone()),
        Value::Int(number) => (*number).into(),
        Value::Double(number) => serde_json::Number::from_f64(*number)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Bool(flag) => (*flag).into(),
        Value::Bytes(bytes) => {
            serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
        }
        Value::Array(items) => items.iter().map(json_from_value).collect(),
        Value::KvList(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(key, item)| (key.clone(), json_from_value(item)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests;
