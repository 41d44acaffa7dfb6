//! The reference plugin (see README.md for the specification it implements): drops spans
//! by name, masks string attributes by key, tags slow spans with their duration, and
//! prefixes the names of failed spans with their service.

mod config;

use std::fmt::Write;

use spangate_plugin_sdk::batch::{SpanBatch, SpanView, Value};
use spangate_plugin_sdk::edits::Edits;
use spangate_plugin_sdk::{Needs, Processor, SpanFields, StatusCode};

pub use config::Config;

const NANOS_PER_MILLI: u64 = 1_000_000;

pub struct ReferencePlugin {
    config: Config,
    /// Scratch for the texts written per span (masks, names).
    text: String,
}

impl Processor for ReferencePlugin {
    fn init(config: &str) -> Result<(Self, Needs), String> {
        let config = Config::parse(config)?;
        let needs = Needs::new("reference", "1.0.0")
            .fields(
                SpanFields::NAME
                    | SpanFields::SERVICE_NAME
                    | SpanFields::TIMES
                    | SpanFields::STATUS,
            )
            .span_keys(config.mask_keys.iter().cloned());
        let text = String::new();
        Ok((ReferencePlugin { config, text }, needs))
    }

    fn process(&mut self, batch: &SpanBatch, edits: &mut Edits) -> Result<(), String> {
        for span in batch.spans() {
            let drop_name = self.config.drop_name.as_str();
            if !drop_name.is_empty() && span.name() == drop_name {
                edits.drop_span(span);
                continue;
            }
            self.mask(span, edits);
            self.tag_if_slow(span, edits);
            self.prefix_if_error(span, edits);
        }
        Ok(())
    }
}

impl ReferencePlugin {
    /// Rule 1: string values of the masked keys (the only rows sent) become `<masked:N>`.
    fn mask(&mut self, span: SpanView<'_>, edits: &mut Edits) {
        for attribute in span.attributes() {
            if let Value::Str(value) = attribute.value {
                self.text.clear();
                let _ = write!(self.text, "<masked:{}>", value.len());
                edits.set_span_attribute(attribute.row, self.text.as_str());
            }
        }
    }

    /// Rule 2: `ref.slow` and `ref.duration_ms` on spans lasting at least `slow_ms`.
    fn tag_if_slow(&self, span: SpanView<'_>, edits: &mut Edits) {
        let duration = span.duration_nanos();
        if u128::from(duration) >= self.config.slow_nanos() {
            edits.add_span_attribute(span, "ref.slow", true);
            // At most u64::MAX / 10⁶ ≈ 1.8 × 10¹³: fits an i64.
            let millis = i64::try_from(duration / NANOS_PER_MILLI).unwrap_or(i64::MAX);
            edits.add_span_attribute(span, "ref.duration_ms", millis);
        }
    }

    /// Rule 3: failed spans are renamed `<service>: <name>`.
    fn prefix_if_error(&mut self, span: SpanView<'_>, edits: &mut Edits) {
        if span.status() != StatusCode::Error {
            return;
        }
        let service = match span.service_name() {
            "" => "unknown",
            service => service,
        };
        self.text.clear();
        let _ = write!(self.text, "{service}: {}", span.name());
        edits.set_name(span, self.text.as_str());
    }
}

spangate_plugin_sdk::export_processor!(ReferencePlugin);

#[cfg(test)]
mod tests;
