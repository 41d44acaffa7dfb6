//! The component glue: the SDK's [`Processor`] over the [`Redactor`].
//!
//! The batch is read in place (no span model is built): each attribute row gets
//! [`Redactor::redact_scalar`] (or, for arrays, maps and bytes that arrive as JSON text, the
//! owned-value path), and every redaction becomes an edit the host applies. Keys are matched
//! once per distinct key of the batch; span attribute rows (the bulk of the work) are read
//! straight from the columns, a string's UTF-8 check folded into the walk that looks for
//! secrets (`Redactor::redact_utf8_counted_in`), with the SDK's reading of malformed columns
//! kept exactly (see `SpanRowValues`).
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

use spangate_plugin_sdk::batch::{Attributes, SpanBatch, Value as SdkValue};
use spangate_plugin_sdk::bindings::types::{AttributeColumns, ValueKind};
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
                key_actions: KeyActions::default(),
                ranges: Vec::new(),
            },
            needs,
        ))
    }

    fn process(&mut self, batch: &SpanBatch, edits: &mut Edits) -> Result<(), String> {
        self.key_actions.compute(&self.redactor, batch);
        let columns = &batch.raw().span_attributes;
        // Span attribute strings are read straight from the column (see `SpanRowValues`); in the
        // rare case that shows the column is not UTF-8 after edits were made, the batch is
        // redone reading it as the SDK does (every string "").
        let strings = if edits.is_empty() && is_well_formed(columns, batch.len()) {
            Utf8::Checking
        } else {
            Utf8::of(&columns.strings.bytes)
        };
        match self.process_with(batch, edits, strings) {
            Err(NotUtf8) => {
                edits.clear();
                self.process_with(batch, edits, Utf8::Invalid)
                    .map_err(|NotUtf8| "unreachable: strings read as invalid".to_owned())
            }
            Ok(()) => Ok(()),
        }
    }
}

impl RedactionPlugin {
    fn process_with(
        &mut self,
        batch: &SpanBatch,
        edits: &mut Edits,
        strings: Utf8,
    ) -> Result<(), NotUtf8> {
        let redactor = &self.redactor;
        let config = redactor.config();
        let apply_to = config.apply_to();
        let scan_names = !config.patterns().is_empty() && apply_to.span_name;
        let scan_messages = !config.patterns().is_empty() && apply_to.status_message;
        let count_key = config.count_attribute();
        let span_scope = redactor.applies_to(AttributeScope::Span);
        let event_scope = redactor.applies_to(AttributeScope::Event);
        let link_scope = redactor.applies_to(AttributeScope::Link);
        let key_actions = &self.key_actions;
        let span_rows = key_actions.rows(redactor, batch, AttributeScope::Span);
        let resource_rows = key_actions.rows(redactor, batch, AttributeScope::Resource);
        let event_rows = key_actions.rows(redactor, batch, AttributeScope::Event);
        let link_rows = key_actions.rows(redactor, batch, AttributeScope::Link);
        let mut values = SpanRowValues::new(&batch.raw().span_attributes, strings);
        let ranges = &mut self.ranges;
        self.resource_counts.clear();
        for span in batch.spans() {
            let index = span.index();
            let mut count = 0u32;

            let resource = span.resource_index() as usize;
            if self.resource_counts.len() <= resource {
                self.resource_counts.resize(resource + 1, None);
            }
            count += *self.resource_counts[resource].get_or_insert_with(|| {
                resource_rows.redact(span.resource_attributes(), ranges, edits)
            });

            if scan_names
                && let Some(redacted) = redactor.redact_text_counted_in(span.name(), ranges)
            {
                count += redacted.redactions;
                edits.set_name(index, redacted.text);
            }
            if scan_messages
                && let Some(redacted) =
                    redactor.redact_text_counted_in(span.status_message(), ranges)
            {
                count += redacted.redactions;
                edits.set_status_message(index, redacted.text);
            }

            // The count row is redacted last: its edit may be replaced by the count itself.
            let mut count_row = None;
            if span_scope {
                for row in values.rows_of(index) {
                    let key = span_rows.key(row);
                    if key.action.is_none() && !key.is_count {
                        // The common case, inlined: only strings can change, through patterns.
                        count += values.redact_plain(row, redactor, ranges, edits)?;
                        continue;
                    }
                    let value = values.value(row)?;
                    if key.is_count {
                        count_row = Some((row, value));
                        continue;
                    }
                    count += span_rows.redact_row(key, row, value, ranges, edits);
                }
            } else if let Some(key) = count_key {
                count_row = span
                    .attributes()
                    .find(|attribute| attribute.key == key)
                    .map(|attribute| (attribute.row, attribute.value));
            }

            if event_scope {
                for event in span.events() {
                    count += event_rows.redact(event.attributes, ranges, edits);
                }
            }
            if link_scope {
                for link in span.links() {
                    count += link_rows.redact(link.attributes, ranges, edits);
                }
            }

            let Some(count_key) = count_key else {
                continue;
            };
            match count_row {
                Some((row, value)) => {
                    let own = if span_scope {
                        span_rows.verdict(span_rows.key(row), value)
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
        // Every row was read (the column is well formed): one still `Checking` is UTF-8.
        Ok(())
    }
}

/// The strings column of the span attributes turned out not to be UTF-8 after some of its
/// strings were used.
#[derive(Debug)]
struct NotUtf8;

/// What is known of a strings column's UTF-8 validity (the SDK reads every string of a column
/// that is not UTF-8 as "").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Utf8 {
    Valid,
    Invalid,
    /// Not checked as a whole: the column is well formed (see [`is_well_formed`]), so it is
    /// valid if every row's string is, and each row's string is checked as it is read.
    Checking,
}

impl Utf8 {
    fn of(bytes: &[u8]) -> Self {
        if std::str::from_utf8(bytes).is_ok() {
            Utf8::Valid
        } else {
            Utf8::Invalid
        }
    }
}

/// Whether the span attribute columns are laid out as the host lays them out: the spans' rows
/// are `0..rows` in order, one owner per span, and the strings of the rows tile the strings
/// column. Then every row is read exactly once, and the column is UTF-8 exactly when every
/// row's string is.
fn is_well_formed(columns: &AttributeColumns, spans: usize) -> bool {
    let rows = columns.key.len();
    let tiles = |offsets: &[u32], parts: usize, total: usize| {
        offsets.len() == parts + 1
            && offsets.first() == Some(&0)
            && offsets.last().is_some_and(|&last| last as usize == total)
            && offsets.windows(2).all(|pair| pair[0] <= pair[1])
    };
    tiles(&columns.owner_offsets, spans, rows)
        && tiles(&columns.strings.offsets, rows, columns.strings.bytes.len())
}

/// The span attribute rows, read straight from the columns with the SDK's semantics (a missing
/// kind is a string, missing numbers are 0, a string out of range or not on character boundaries
/// is ""), without decoding keys (the glue works on key indexes).
struct SpanRowValues<'a> {
    columns: &'a AttributeColumns,
    strings: Utf8,
}

impl<'a> SpanRowValues<'a> {
    fn new(columns: &'a AttributeColumns, strings: Utf8) -> Self {
        SpanRowValues { columns, strings }
    }

    /// The rows of span `span`, as the SDK clamps them.
    fn rows_of(&self, span: u32) -> std::ops::Range<u32> {
        let rows = u32::try_from(self.columns.key.len()).unwrap_or(u32::MAX);
        let offsets = &self.columns.owner_offsets;
        match (offsets.get(span as usize), offsets.get(span as usize + 1)) {
            (Some(&start), Some(&end)) if start <= end => start.min(rows)..end.min(rows),
            _ => 0..0,
        }
    }

    #[inline]
    fn value(&mut self, row: u32) -> Result<SdkValue<'a>, NotUtf8> {
        let columns = self.columns;
        let row = row as usize;
        let int = || columns.ints.get(row).copied().unwrap_or(0);
        Ok(match columns.kind.get(row) {
            Some(ValueKind::Int) => {
                self.check_unused(row)?;
                SdkValue::Int(int())
            }
            Some(ValueKind::Boolean) => {
                self.check_unused(row)?;
                SdkValue::Bool(int() != 0)
            }
            Some(ValueKind::Double) => {
                self.check_unused(row)?;
                SdkValue::Double(columns.doubles.get(row).copied().unwrap_or(0.0))
            }
            Some(ValueKind::Json) => SdkValue::Json(self.text(row)?),
            Some(ValueKind::Str) | None => SdkValue::Str(self.text(row)?),
        })
    }

    /// The bytes of `row`'s string, as the column holds them.
    #[inline]
    fn bytes(&self, row: usize) -> &'a [u8] {
        let strings = &self.columns.strings;
        if self.strings == Utf8::Invalid {
            return b"";
        }
        match (strings.offsets.get(row), strings.offsets.get(row + 1)) {
            (Some(&start), Some(&end)) => strings
                .bytes
                .get(start as usize..end as usize)
                .unwrap_or_default(),
            _ => b"",
        }
    }

    /// The string of `row`.
    #[inline]
    fn text(&mut self, row: usize) -> Result<&'a str, NotUtf8> {
        match std::str::from_utf8(self.bytes(row)) {
            Ok(text) => Ok(text),
            Err(_) => self.not_utf8().map(|()| ""),
        }
    }

    /// A row's string is not UTF-8. In a UTF-8 column, that is a string that does not start or
    /// end on a character boundary: "" for the SDK too. While `Checking`, the column is checked
    /// now: if it is not UTF-8, the strings read so far should have been "".
    #[cold]
    fn not_utf8(&mut self) -> Result<(), NotUtf8> {
        if self.strings == Utf8::Checking {
            self.strings = Utf8::of(&self.columns.strings.bytes);
        }
        match self.strings {
            Utf8::Checking | Utf8::Valid => Ok(()),
            Utf8::Invalid => Err(NotUtf8),
        }
    }

    /// Redacts `row` under a key that condemns nothing: a string is scanned for value patterns
    /// (UTF-8 checked in the same walk), any other value is kept. Returns the redaction count.
    #[inline]
    fn redact_plain(
        &mut self,
        row: u32,
        redactor: &Redactor,
        ranges: &mut Vec<Range<usize>>,
        edits: &mut Edits,
    ) -> Result<u32, NotUtf8> {
        let index = row as usize;
        match self.columns.kind.get(index) {
            Some(ValueKind::Str) | None => {
                match redactor.redact_utf8_counted_in(self.bytes(index), ranges) {
                    Ok(Some(redacted)) => {
                        edits.set_span_attribute(row, AttributeValue::Str(redacted.text));
                        Ok(redacted.redactions)
                    }
                    Ok(None) => Ok(0),
                    // Read as "", which nothing redacts.
                    Err(_) => self.not_utf8().map(|()| 0),
                }
            }
            Some(ValueKind::Int | ValueKind::Boolean | ValueKind::Double) => {
                self.check_unused(index).map(|()| 0)
            }
            Some(ValueKind::Json) => {
                let text = self.text(index)?;
                let verdict = redactor.redact_attribute_with(None, &value_from_json(text));
                let redactions = verdict.redactions();
                apply(verdict, row, AttributeScope::Span, edits);
                Ok(redactions)
            }
        }
    }

    /// A non-string row's string is normally empty; check it too while `Checking`.
    #[inline]
    fn check_unused(&mut self, row: usize) -> Result<(), NotUtf8> {
        if self.strings != Utf8::Checking {
            return Ok(());
        }
        let offsets = &self.columns.strings.offsets;
        if offsets.get(row) != offsets.get(row + 1) {
            self.text(row)?;
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

/// The [`KeyRule`] of every distinct key of each attribute columns of a batch: keys are a
/// dictionary per columns, so each key is matched once per batch instead of once per row.
#[derive(Default)]
struct KeyActions {
    /// Per key index.
    span: Vec<KeyRule>,
    resource: Vec<KeyRule>,
    event: Vec<KeyRule>,
    link: Vec<KeyRule>,
    /// The rule of the key the SDK reads for a row whose key index is out of range (`""`).
    fallback: KeyRule,
}

impl KeyActions {
    fn compute(&mut self, redactor: &Redactor, batch: &SpanBatch) {
        let raw = batch.raw();
        let count_key = redactor.config().count_attribute();
        let rule = |key: &str| KeyRule {
            action: redactor.check_key(key),
            is_count: Some(key) == count_key,
        };
        self.fallback = rule("");
        for (rules, columns) in [
            (&mut self.span, &raw.span_attributes),
            (&mut self.resource, &raw.resource_attributes),
            (&mut self.event, &raw.event_attributes),
            (&mut self.link, &raw.link_attributes),
        ] {
            rules.clear();
            // The key the SDK reads: "" throughout a column that is not UTF-8, and for
            // offsets that are out of range or not on character boundaries.
            let text = std::str::from_utf8(&columns.keys.bytes).unwrap_or("");
            for bounds in columns.keys.offsets.windows(2) {
                let key = text
                    .get(bounds[0] as usize..bounds[1] as usize)
                    .unwrap_or("");
                rules.push(rule(key));
            }
        }
    }

    /// The rows of `scope` in `batch`, with these key rules.
    fn rows<'a>(
        &'a self,
        redactor: &'a Redactor,
        batch: &'a SpanBatch,
        scope: AttributeScope,
    ) -> Rows<'a> {
        let raw = batch.raw();
        let (rules, columns) = match scope {
            AttributeScope::Span => (&self.span, &raw.span_attributes),
            AttributeScope::Resource => (&self.resource, &raw.resource_attributes),
            AttributeScope::Event => (&self.event, &raw.event_attributes),
            AttributeScope::Link => (&self.link, &raw.link_attributes),
        };
        Rows {
            redactor,
            scope,
            rules,
            fallback: self.fallback,
            columns,
        }
    }
}

/// Verdicts and edits for the rows of one attribute columns.
struct Rows<'a> {
    redactor: &'a Redactor,
    scope: AttributeScope,
    rules: &'a [KeyRule],
    fallback: KeyRule,
    columns: &'a AttributeColumns,
}

impl Rows<'_> {
    /// The rule of `row`'s key.
    #[inline]
    fn key(&self, row: u32) -> KeyRule {
        self.columns
            .key
            .get(row as usize)
            .and_then(|&index| self.rules.get(index as usize))
            .copied()
            .unwrap_or(self.fallback)
    }

    /// The verdict for one row: scalars read in place, JSON text (arrays, maps, bytes) through
    /// the owned model so nested strings and kvlist keys are checked as natively.
    fn verdict(&self, key: KeyRule, value: SdkValue<'_>) -> AttributeVerdict {
        let redactor = self.redactor;
        let scalar = |value| redactor.redact_scalar_with(key.action, value);
        match value {
            SdkValue::Str(text) => scalar(ScalarRef::Str(text)),
            SdkValue::Int(number) => scalar(ScalarRef::Int(number)),
            SdkValue::Double(number) => scalar(ScalarRef::Double(number)),
            SdkValue::Bool(flag) => scalar(ScalarRef::Bool(flag)),
            SdkValue::Json(text) => {
                redactor.redact_attribute_with(key.action, &value_from_json(text))
            }
        }
    }

    /// Redacts one row, adding its edit; returns its redaction count. The same as
    /// `apply(self.verdict(..))`, with the common cases short-cut: a scalar under a key that
    /// condemns nothing is kept, and a string is only scanned.
    #[inline]
    fn redact_row(
        &self,
        key: KeyRule,
        row: u32,
        value: SdkValue<'_>,
        ranges: &mut Vec<Range<usize>>,
        edits: &mut Edits,
    ) -> u32 {
        match (key.action, value) {
            (None, SdkValue::Int(_) | SdkValue::Double(_) | SdkValue::Bool(_)) => 0,
            (None, SdkValue::Str(text)) => match self.redactor.redact_text_counted_in(text, ranges)
            {
                Some(redacted) => {
                    set(self.scope, row, AttributeValue::Str(redacted.text), edits);
                    redacted.redactions
                }
                None => 0,
            },
            _ => {
                let verdict = self.verdict(key, value);
                let redactions = verdict.redactions();
                apply(verdict, row, self.scope, edits);
                redactions
            }
        }
    }

    /// Redacts one owner's rows (a resource, an event, a link); returns the count.
    fn redact(
        &self,
        attributes: Attributes<'_>,
        ranges: &mut Vec<Range<usize>>,
        edits: &mut Edits,
    ) -> u32 {
        let mut count = 0;
        for attribute in attributes {
            let key = self.key(attribute.row);
            count += self.redact_row(key, attribute.row, attribute.value, ranges, edits);
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

/// The edit that sets `row` of `scope`'s attribute columns to `value`.
fn set(scope: AttributeScope, row: u32, value: AttributeValue, edits: &mut Edits) {
    match scope {
        AttributeScope::Span => edits.set_span_attribute(row, value),
        AttributeScope::Resource => edits.set_resource_attribute(row, value),
        AttributeScope::Event => edits.set_event_attribute(row, value),
        AttributeScope::Link => edits.set_link_attribute(row, value),
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
