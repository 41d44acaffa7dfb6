//! {{name}}: a Spangate processor, made by `spangate plugin new --lang rust`.
//!
//! Every span gets the attribute `plugin.hello = "world"`; spans named exactly like the
//! config key `drop_name` are dropped.

use serde::Deserialize;
use spangate_plugin_sdk::batch::SpanBatch;
use spangate_plugin_sdk::edits::Edits;
use spangate_plugin_sdk::{Needs, Processor, needs};

/// The plugin's config: the `config:` of its pipeline entry, handed to `init` as JSON.
/// Every key is optional; an unknown key refuses the config, naming it.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Spans with exactly this name are dropped ("" drops nothing).
    pub drop_name: String,
}

pub struct Plugin {
    config: Config,
}

impl Processor for Plugin {
    fn init(config: &str) -> Result<(Self, Needs), String> {
        let config: Config = spangate_plugin_sdk::config::parse(config)?;
        // What the plugin reads: span names, and the one attribute it adds (adding an
        // attribute needs a span-attribute selection). The gateway sends nothing else.
        let needs = needs!("{{name}}", NAME).span_keys(["plugin.hello"]);
        Ok((Plugin { config }, needs))
    }

    fn process(&mut self, batch: &SpanBatch, edits: &mut Edits) -> Result<(), String> {
        for span in batch.spans() {
            if !self.config.drop_name.is_empty() && span.name() == self.config.drop_name {
                edits.drop_span(span);
                continue;
            }
            edits.add_span_attribute(span, "plugin.hello", "world");
        }
        Ok(())
    }
}

spangate_plugin_sdk::export_processor!(Plugin);

/// Native tests: no wasm, no gateway (`cargo test`).
#[cfg(test)]
mod tests {
    use spangate_plugin_sdk::testing::{ProcessorHarness, TestSpan, TestValue};

    use super::Plugin;

    #[test]
    fn spans_get_hello_and_the_configured_name_is_dropped() {
        let mut harness =
            ProcessorHarness::<Plugin>::new(r#"{"drop_name": "GET /healthz"}"#).unwrap();
        let out = harness
            .process(&[
                TestSpan::new(1, 1).named("GET /users/42"),
                TestSpan::new(1, 2).named("GET /healthz"),
            ])
            .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].name, "GET /users/42");
        assert_eq!(
            out[0].attributes,
            [("plugin.hello".to_owned(), TestValue::from("world"))]
        );
    }
}
