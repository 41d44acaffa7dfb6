//! The component glue: the SDK's [`Processor`] over the [`Redactor`].
//!
//! The batch is read in place (no span model is built): each attribute row gets
//! [`Redactor::redact_scalar`] (or, for arrays, maps and bytes that arrive as JSON text, the
//! owned-value path), and every redaction becomes an edit the host applies:
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

use spangate_plugin_sdk::batch::{Attributes, SpanBatch, Value as SdkValue};
use spangate_plugin_sdk::bindings::types::AttributeColumns;
use spangate_plugin_sdk::edits::Edits;
use spangate_plugin_sdk::{AttributeSelection, AttributeValue, Needs, Processor, SpanFields};

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
    key_actions: KeyActions,
}

impl Processor for RedactionPlugin {
    fn init(config: &str) -> Result<(Self, Needs), String> {
        let redactor = Redactor::from_json(config).map_err(|error| error.to_string())?;
        let needs = needs(&redactor);
        Ok((
            RedactionPlugin {
                redactor,
                resource_counts: Vec::new(),
                key_actions: KeyActions::default(),
            },
            needs,
        ))
    }

    fn process(&mut self, batch: &SpanBatch, edits: &mut Edits) -> Result<(), String> {
        let redactor = &self.redactor;
        let config = redactor.config();
        let apply_to = config.apply_to();
        let scan_texts = !config.patterns().is_empty();
        let count_key = config.count_attribute();
        self.key_actions.compute(redactor, batch);
        let key_actions = &self.key_actions;
        let span_rows = key_actions.rows(redactor, batch, AttributeScope::Span);
        let resource_rows = key_actions.rows(redactor, batch, AttributeScope::Resource);
        let event_rows = key_actions.rows(redactor, batch, AttributeScope::Event);
        let link_rows = key_actions.rows(redactor, batch, AttributeScope::Link);
        self.resource_counts.clear();
        for span in batch.spans() {
            let index = span.index();
            let mut count = 0u32;

            let resource = span.resource_index() as usize;
            if self.resource_counts.len() <= resource {
                self.resource_counts.resize(resource + 1, None);
            }
            count += *self.resource_counts[resource]
                .get_or_insert_with(|| resource_rows.redact(span.resource_attributes(), edits));

            if scan_texts
                && apply_to.span_name
                && let Some(redacted) = redactor.redact_text_counted(span.name())
            {
                count += redacted.redactions;
                edits.set_name(index, redacted.text);
            }
            if scan_texts
                && apply_to.status_message
                && let Some(redacted) = redactor.redact_text_counted(span.status_message())
            {
                count += redacted.redactions;
                edits.set_status_message(index, redacted.text);
            }

            // The count row is redacted last: its edit may be replaced by the count itself.
            let mut count_row = None;
            if redactor.applies_to(AttributeScope::Span) {
                for attribute in span.attributes() {
                    if Some(attribute.key) == count_key {
                        count_row = Some((attribute.row, attribute.value));
                        continue;
                    }
                    let verdict = span_rows.verdict(attribute.row, attribute.key, attribute.value);
                    count += verdict.redactions();
                    apply(verdict, attribute.row, AttributeScope::Span, edits);
                }
            } else if let Some(key) = count_key {
                count_row = span
                    .attributes()
                    .find(|attribute| attribute.key == key)
                    .map(|attribute| (attribute.row, attribute.value));
            }

            if redactor.applies_to(AttributeScope::Event) {
                for event in span.events() {
                    count += event_rows.redact(event.attributes, edits);
                }
            }
            if redactor.applies_to(AttributeScope::Link) {
                for link in span.links() {
                    count += link_rows.redact(link.attributes, edits);
                }
            }

            let Some(count_key) = count_key else {
                continue;
            };
            match count_row {
                Some((row, value)) => {
                    let own = if redactor.applies_to(AttributeScope::Span) {
                        span_rows.verdict(row, count_key, value)
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
                    edits.set_span_attribute(row, AttributeValue::Int(total));
                }
                None if count > 0 => {
                    edits.add_span_attribute(index, count_key, AttributeValue::Int(count.into()));
                }
                None => {}
            }
        }
        Ok(())
    }
}

/// `check_key` of every distinct key of each attribute columns of a batch: keys are a
/// dictionary per columns, so each key is matched once per batch instead of once per row.
#[derive(Default)]
struct KeyActions {
    /// Per key index; `None` for a key the dictionary cannot give (matched per row instead).
    span: Vec<Option<Option<Action>>>,
    resource: Vec<Option<Option<Action>>>,
    event: Vec<Option<Option<Action>>>,
    link: Vec<Option<Option<Action>>>,
}

impl KeyActions {
    fn compute(&mut self, redactor: &Redactor, batch: &SpanBatch) {
        let raw = batch.raw();
        for (actions, columns) in [
            (&mut self.span, &raw.span_attributes),
            (&mut self.resource, &raw.resource_attributes),
            (&mut self.event, &raw.event_attributes),
            (&mut self.link, &raw.link_attributes),
        ] {
            actions.clear();
            for bounds in columns.keys.offsets.windows(2) {
                let key = columns
                    .keys
                    .bytes
                    .get(bounds[0] as usize..bounds[1] as usize)
                    .and_then(|bytes| std::str::from_utf8(bytes).ok());
                actions.push(key.map(|key| redactor.check_key(key)));
            }
        }
    }

    /// The rows of `scope` in `batch`, with these key actions.
    fn rows<'a>(
        &'a self,
        redactor: &'a Redactor,
        batch: &'a SpanBatch,
        scope: AttributeScope,
    ) -> Rows<'a> {
        let raw = batch.raw();
        let (actions, columns) = match scope {
            AttributeScope::Span => (&self.span, &raw.span_attributes),
            AttributeScope::Resource => (&self.resource, &raw.resource_attributes),
            AttributeScope::Event => (&self.event, &raw.event_attributes),
            AttributeScope::Link => (&self.link, &raw.link_attributes),
        };
        Rows {
            redactor,
            scope,
            actions,
            columns,
        }
    }
}

/// Verdicts and edits for the rows of one attribute columns.
struct Rows<'a> {
    redactor: &'a Redactor,
    scope: AttributeScope,
    actions: &'a [Option<Option<Action>>],
    columns: &'a AttributeColumns,
}

impl Rows<'_> {
    /// The verdict for one row: scalars read in place, JSON text (arrays, maps, bytes) through
    /// the owned model so nested strings and kvlist keys are checked as natively.
    fn verdict(&self, row: u32, key: &str, value: SdkValue<'_>) -> AttributeVerdict {
        let redactor = self.redactor;
        let key_action = self
            .columns
            .key
            .get(row as usize)
            .and_then(|&index| self.actions.get(index as usize).copied().flatten())
            .unwrap_or_else(|| redactor.check_key(key));
        let scalar = |value| redactor.redact_scalar_with(key_action, value);
        match value {
            SdkValue::Str(text) => scalar(ScalarRef::Str(text)),
            SdkValue::Int(number) => scalar(ScalarRef::Int(number)),
            SdkValue::Double(number) => scalar(ScalarRef::Double(number)),
            SdkValue::Bool(flag) => scalar(ScalarRef::Bool(flag)),
            SdkValue::Json(text) => {
                redactor.redact_attribute_with(key_action, &value_from_json(text))
            }
        }
    }

    /// Redacts one owner's rows (a resource, an event, a link); returns the count.
    fn redact(&self, attributes: Attributes<'_>, edits: &mut Edits) -> u32 {
        let mut count = 0;
        for attribute in attributes {
            let verdict = self.verdict(attribute.row, attribute.key, attribute.value);
            count += verdict.redactions();
            apply(verdict, attribute.row, self.scope, edits);
        }
        count
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
        (false, Some(count_key)) => AttributeSelection::Keys(vec![count_key.to_owned()]),
        (false, None) => AttributeSelection::None,
    };
    Needs {
        name: PLUGIN_NAME.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        fields,
        span_attributes,
        resource_attributes: all_if(AttributeScope::Resource),
        event_attributes: all_if(AttributeScope::Event),
        link_attributes: all_if(AttributeScope::Link),
    }
}

/// Turns a verdict into the edit of `row` of `scope`'s attribute columns.
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
            let value = AttributeValue::Str(match value {
                Value::Str(text) => text,
                structured => json_from_value(&structured).to_string(),
            });
            match scope {
                AttributeScope::Span => edits.set_span_attribute(row, value),
                AttributeScope::Resource => edits.set_resource_attribute(row, value),
                AttributeScope::Event => edits.set_event_attribute(row, value),
                AttributeScope::Link => edits.set_link_attribute(row, value),
            }
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
