//! The current pipeline, swapped whole on reload (`SIGHUP`; `lib.rs` re-reads the
//! config file and hands the new `pipeline:` entries to [`PipelineHandle::reload`]).
//!
//! A batch takes the pipeline current when it starts and finishes with it, so a
//! reload never loses or half-processes a span: the old plugins are dropped once the
//! last batch using them is done. A reload that fails (bad config, a plugin refusing
//! its config) changes nothing and says why.

use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::pipeline::config::PluginEntry;
use crate::pipeline::{Pipeline, PipelineError};
use crate::plugin::PluginRuntime;

pub struct PipelineHandle {
    runtime: Arc<PluginRuntime>,
    current: RwLock<Arc<Pipeline>>,
}

impl PipelineHandle {
    pub fn new(runtime: Arc<PluginRuntime>, pipeline: Pipeline) -> PipelineHandle {
        PipelineHandle {
            runtime,
            current: RwLock::new(Arc::new(pipeline)),
        }
    }

    /// The pipeline new batches use.
    pub fn current(&self) -> Arc<Pipeline> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn runtime(&self) -> &Arc<PluginRuntime> {
        &self.runtime
    }

    /// Builds the pipeline of `entries` (relative paths against `base_dir`) and swaps it
    /// in; returns its number of plugins. On error the running pipeline stays.
    pub fn reload(&self, entries: &[PluginEntry], base_dir: &Path) -> Result<usize, PipelineError> {
        let pipeline = Pipeline::build(&self.runtime, entries, base_dir)?;
        let plugins = pipeline.plugins().len();
        self.replace(pipeline);
        tracing::info!(plugins, "pipeline reloaded");
        Ok(plugins)
    }

    /// Swaps in `pipeline` (built with this handle's runtime): batches that started
    /// with the previous one finish with it. Plugins kept across the swap (same name and
    /// kind) keep counting on the same counters.
    pub fn replace(&self, mut pipeline: Pipeline) {
        let tail_sampler_added = pipeline.tail_sampler().is_some();
        let mut current = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        pipeline.continue_counters_of(&current);
        let previous = std::mem::replace(&mut *current, Arc::new(pipeline));
        drop(current);
        if tail_sampler_added && previous.tail_sampler().is_none() {
            tracing::warn!(
                "the reloaded pipeline tail-samples but the running one did not: tail sampling \
                 starts after a restart"
            );
        }
    }
}
