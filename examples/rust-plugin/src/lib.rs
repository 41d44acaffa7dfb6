//! tag-slow-requests: a custom Spangate processor written with the Rust SDK.
//!
//! - spans lasting at least `threshold` get the attribute `slow = true`;
//! - span names starting with a configured prefix are renamed (say, to fold
//!   `GET /users/1234` into `GET /users/{id}` before it becomes a metric label).
//!
//! It reads only span times, names and its own attribute: the gateway sends it nothing
//! else.

mod config;

use spangate_plugin_sdk::batch::SpanBatch;
use spangate_plugin_sdk::edits::Edits;
use spangate_plugin_sdk::{Needs, Processor, needs};

pub use config::{Config, Rename};

pub struct TagSlowRequests {
    config: Config,
    threshold_nanos: u64,
}

impl Processor for TagSlowRequests {
    fn init(config: &str) -> Result<(Self, Needs), String> {
        let config = Config::parse(config)?;
        let threshold_nanos = u64::try_from(config.threshold.as_nanos()).unwrap_or(u64::MAX);
        // Adding an attribute needs a span-attribute selection; selecting just the key
        // we add keeps the batch small (usually no rows at all).
        let needs = needs!("tag-slow-requests", TIMES | NAME).span_keys([&config.attribute]);
        Ok((
            TagSlowRequests {
                config,
                threshold_nanos,
            },
            needs,
        ))
    }

    fn process(&mut self, batch: &SpanBatch, edits: &mut Edits) -> Result<(), String> {
        for span in batch.spans() {
            if span.duration_nanos() >= self.threshold_nanos {
                edits.add_span_attribute(span, &self.config.attribute, true);
            }
            if let Some(new_name) = self.config.renamed(span.name()) {
                edits.set_name(span, new_name);
            }
        }
        Ok(())
    }
}

spangate_plugin_sdk::export_processor!(TagSlowRequests);

#[cfg(test)]
mod tests;
