//! The plugin pipeline: the ordered plugins every accepted batch goes through before
//! it is stored, built from `pipeline:` in the config and swapped whole on reload.
//!
//! Order is the config's, with two rules checked when it is built: a metrics plugin
//! may not follow a sampler (it must see every span), and at most one sampler may
//! tail-sample (one decision per trace). Everything runs before the store write, so a
//! processor that redacts runs before anything is persisted.

pub mod builtin;
pub mod config;
mod reload;
mod tail;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub use reload::PipelineHandle;
pub use tail::CurrentTailSampler;

use crate::model::ExportTraceServiceRequest;
use crate::pipeline::config::{PluginEntry, PluginSource};
use crate::plugin::{Plugin, PluginError, PluginKind, PluginRuntime, PluginSpec};

/// A pipeline that cannot be built; `key` is the config key to fix (`pipeline[2]`).
#[derive(Debug, thiserror::Error)]
#[error("invalid config at `{key}`: {message}")]
pub struct PipelineError {
    pub key: String,
    pub message: String,
}

/// The plugins of one configuration, started and ready.
#[derive(Default)]
pub struct Pipeline {
    stages: Vec<Arc<Plugin>>,
}

impl Pipeline {
    /// Loads (through the artifact cache), checks and starts every plugin of `entries`.
    /// Any failure — unreadable file, not a plugin, refused config, bad order — stops
    /// the build with a message naming the entry.
    pub fn build(
        runtime: &Arc<PluginRuntime>,
        entries: &[PluginEntry],
        base_dir: &Path,
    ) -> Result<Pipeline, PipelineError> {
        let mut stages: Vec<Arc<Plugin>> = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let key = format!("pipeline[{index}]");
            let fail = |message: String| PipelineError {
                key: key.clone(),
                message,
            };
            let wasm = read_component(entry, base_dir).map_err(&fail)?;
            let started = Instant::now();
            let compiled = runtime
                .load(&wasm)
                .map_err(|error| fail(error.to_string()))?;
            let kind = compiled.kind();
            let name = entry.display_name();
            if kind == PluginKind::Metrics
                && let Some(sampler) = stages.iter().find(|s| s.kind() == PluginKind::Sampler)
            {
                return Err(fail(format!(
                    "metrics plugin `{name}` comes after sampler `{}`; move it before every \
                     sampler so it sees every span",
                    sampler.name()
                )));
            }
            let spec = PluginSpec {
                name: name.clone(),
                config_json: entry.config_json().map_err(&fail)?,
                on_error: entry.on_error,
                limits: entry.limits.to_limits(),
            };
            let plugin = runtime
                .start(&compiled, spec)
                .map_err(|error| match error {
                    PluginError::InitRefused { message, .. } => {
                        fail(format!("plugin `{name}` refused its config: {message}"))
                    }
                    other => fail(other.to_string()),
                })?;
            if plugin.tail_settings().is_some()
                && let Some(other) = stages.iter().find(|s| s.tail_settings().is_some())
            {
                return Err(fail(format!(
                    "`{name}` and `{}` both tail-sample; at most one sampler may",
                    other.name()
                )));
            }
            let load = compiled.load_info();
            tracing::info!(
                plugin = %name,
                %kind,
                reported_name = %plugin.info().name,
                version = %plugin.info().version,
                needs = %plugin.info().needs,
                instances = plugin.instances(),
                from_cache = load.from_cache,
                load_ms = started.elapsed().as_secs_f64() * 1e3,
                "plugin started"
            );
            stages.push(Arc::new(plugin));
        }
        Ok(Pipeline { stages })
    }

    /// Continues the counters of `previous`'s plugins in the plugins of the same name
    /// and kind of this pipeline, built to replace it and not yet shared.
    pub fn continue_counters_of(&mut self, previous: &Pipeline) {
        for stage in &mut self.stages {
            let Some(plugin) = Arc::get_mut(stage) else {
                continue;
            };
            if let Some(old) = previous
                .stages
                .iter()
                .find(|old| old.name() == plugin.name())
            {
                plugin.continue_counters_of(old);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.stages
    }

    /// The sampler that tail-samples, if any.
    pub fn tail_sampler(&self) -> Option<&Arc<Plugin>> {
        self.stages.iter().find(|s| s.tail_settings().is_some())
    }

    /// Runs every stage over `request` in order; spans a stage drops are gone for the
    /// next. Failures are handled (and counted) by each plugin's `on_error` policy.
    pub fn run(&self, request: &mut ExportTraceServiceRequest) {
        for plugin in &self.stages {
            if request.resource_spans.is_empty() {
                return;
            }
            match plugin.kind() {
                PluginKind::Processor => {
                    plugin.process(request);
                }
                PluginKind::Sampler => {
                    plugin.sample_head(request);
                }
                PluginKind::Metrics => {
                    plugin.observe(request);
                }
            }
        }
    }
}

fn read_component(entry: &PluginEntry, base_dir: &Path) -> Result<Cow<'static, [u8]>, String> {
    match entry.source(base_dir) {
        PluginSource::Builtin(name) => builtin::component(&name)
            .map(Cow::Borrowed)
            .ok_or_else(|| format!("unknown built-in plugin `{name}`")),
        PluginSource::File(path) => std::fs::read(&path)
            .map(Cow::Owned)
            .map_err(|error| format!("cannot read plugin file {}: {error}", path.display())),
    }
}
